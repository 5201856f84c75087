"""Defaults and accepted limit values, as reported in execution.limits."""

import pytest

import pyexec_http as ph

MB = 1024 * 1024


def test_defaults_reported():
    ex = ph.run("print('defaults')")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "defaults\n", ph.show(ex)
    assert ex["limits"] == {"timeout": 5, "memory_limit_bytes": 100 * MB,
                            "cpu_limit": 1}, ex


@pytest.mark.parametrize("value,expected", [
    ("200m", 200 * MB),
    ("200M", 200 * MB),
    ("100m", 100 * MB),
    (150, 150 * MB),
    (16, 16 * MB),
    (500, 500 * MB),
    ("500m", 500 * MB),
    ("65536k", 64 * MB),
])
def test_memory_limit_accepted(value, expected):
    ex = ph.run("print('mem-ok')", memory_limit=value)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "mem-ok\n", ph.show(ex)
    assert ex["limits"]["memory_limit_bytes"] == expected, ph.show(ex)
    assert ex["limits"]["timeout"] == 5 and ex["limits"]["cpu_limit"] == 1, ph.show(ex)


@pytest.mark.parametrize("value", [30, 2.5])
def test_timeout_accepted(value):
    ex = ph.run("print('t-ok')", timeout=value)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "t-ok\n", ph.show(ex)
    assert ex["limits"]["timeout"] == value, ph.show(ex)


def test_cpu_limit_accepted():
    ex = ph.run("print('cpu-ok')", cpu_limit=0.5)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "cpu-ok\n", ph.show(ex)
    assert ex["limits"]["cpu_limit"] == 0.5, ph.show(ex)
