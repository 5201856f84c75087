"""Runs last among the security tests (marked last, tests/integration/
suite.py): after every hostile program the host is clean with no baseline
at all, and the service runs code in every slot."""

import pytest

import sec_helpers as sh

pytestmark = pytest.mark.last


def test_every_slot_still_serves():
    exs = sh.probe_every_slot(sh.slot_probe_code())
    sh.assert_slots_pristine(exs)
    sh.assert_host_clean()


def test_host_clean_after_hostile_programs():
    sh.assert_host_clean(baseline=False)
