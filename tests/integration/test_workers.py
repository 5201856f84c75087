"""A worker killed in the middle of a request is replaced by the master."""

import concurrent.futures
import os
import signal
import time

import pytest

import pyexec_http as ph

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow

SERVER_ERRORS = {500: "internal_error", 502: "bad_gateway",
                 503: "service_unavailable", 504: "gateway_timeout"}


def _ppid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    return None


def test_killed_workers_are_replaced(health_json, master_pid):
    before = ph.wait_for_health(ph.healthy_and_ready, within=15)
    assert ph.healthy_and_ready(before), ph.show(before)
    configured = before.json["workers"]["configured"]
    old = {s["id"]: s for s in before.json["slots"]}

    # only processes of this stack: children of PYEXEC_MASTER_PID
    for s in old.values():
        assert _ppid(s["worker_pid"]) == master_pid, (
            "worker pid %d is not a child of the master %d"
            % (s["worker_pid"], master_pid))

    # The in-flight request must not meet a 429 (it is not retried): let
    # the per-key (20/s, burst 40) and per-address buckets refill after the
    # tests before this one.
    time.sleep(2.5)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        inflight = pool.submit(
            ph.execute,
            {"code": "import time\ntime.sleep(5)\nprint('survived')\n",
             "timeout": 10},
            timeout=20, retry_429=False)
        time.sleep(1.0)                 # let the run start in its slot
        assert not inflight.done(), ph.show(inflight.result())

        for s in old.values():
            try:
                os.kill(s["worker_pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass

        # the in-flight request ends (an error envelope, or a result) and
        # does not hang
        resp = inflight.result(timeout=25)
    finally:
        pool.shutdown(wait=False)

    if resp.status == 200:
        ex = ph.assert_success(resp)
        assert ex["outcome"] == "completed", ph.show(ex)
        assert ex["stdout"] == "survived\n", ph.show(ex)
    else:
        assert resp.status in SERVER_ERRORS, ph.show(resp)
        ph.assert_error(resp, resp.status, SERVER_ERRORS[resp.status])

    def replaced(r):
        if not ph.healthy_and_ready(r):
            return False
        return all(s["worker_pid"] != old[s["id"]]["worker_pid"]
                   and s["restarts"] >= old[s["id"]]["restarts"] + 1
                   for s in r.json["slots"])

    # four slots remade at once, zygotes and self-tests included: ~10 s here
    after = ph.wait_for_health(replaced, within=30)
    assert after is not None, "no answer from /health after the kill"
    assert after.status == 200, ph.show(after)
    j = after.json
    assert j["status"] == "healthy", ph.show(j)
    assert j["workers"]["configured"] == configured, ph.show(j)
    assert j["workers"]["alive"] == configured, ph.show(j)
    for s in j["slots"]:
        o = old[s["id"]]
        assert s["worker_pid"] != o["worker_pid"], ph.show([s, o])
        assert s["restarts"] >= 1 and s["restarts"] >= o["restarts"] + 1, ph.show([s, o])
        assert s["state"] == "ready", ph.show(s)
        assert _ppid(s["worker_pid"]) == master_pid, ph.show(s)

    # the service works again
    ex = ph.run("print('after-restart')")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "after-restart\n", ph.show(ex)
