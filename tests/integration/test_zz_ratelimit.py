"""Rate limiting by nginx (per key, per address).  The flood uses up
PYEXEC_TEST_KEY2's budget and the address's, then waits it out: the module
runs after the other integration tests (marked last, tests/integration/
suite.py), and its tests share the one flood (a module fixture), so either
may run alone."""

import concurrent.futures
import time

import pytest

import pyexec_http as ph

pytestmark = pytest.mark.last


@pytest.fixture(scope="module")
def flood():
    """300 fast requests with the second key, 16 at a time; their answers."""
    def one(_):
        # `{}` is cheap: the worker answers 400 without running anything
        return ph.execute({}, api_key=ph.key2(), retry_429=False, timeout=20)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(one, range(300)))
    finally:
        time.sleep(3)     # let the buckets refill for anything that follows


def test_rate_limit_429(flood):
    results = flood
    statuses = sorted({r.status for r in results})
    limited = [r for r in results if r.status == 429]
    passed = [r for r in results if r.status == 400]
    assert set(statuses) <= {400, 429}, statuses
    assert limited, "no 429 in 300 fast requests: %r" % statuses
    assert passed, "every request was limited: %r" % statuses

    for r in limited:
        ph.assert_error(r, 429, "rate_limited")
        retry = r.header("Retry-After")
        assert retry is not None, ph.show(r)
        assert retry.strip().isdigit() and int(retry) >= 1, retry
    for r in passed:
        msg = ph.assert_invalid(r, "code:")
        assert "required" in msg, msg
    for r in results:
        assert ph.key2().encode() not in r.body


def test_after_rate_limit_service_answers(flood):
    ex = ph.run("print('after-429')")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "after-429\n", ph.show(ex)
