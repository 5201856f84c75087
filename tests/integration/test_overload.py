"""Overload (issue 11): a bounded queue that answers 503 fast, and /health
and /metrics that answer while every worker is busy.

A private stack (instance "overload", 127.0.0.1:18097, 4 workers,
PYEXEC_QUEUE_TIMEOUT=3) gets 64 concurrent 2-second runs.  Every answer
is the run's 200 or a 503 JSON envelope with Retry-After, sent by the
front when no worker was free within 3 s; none takes longer than the
queue timeout plus the run; /health answers throughout; /metrics counts
the rejections."""

import concurrent.futures
import http.client
import json
import threading
import time

import pytest

import private_stack as private
import pyexec_http as ph

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow

LISTEN = "127.0.0.1:18097"
KEY = "overload-key-1"
INSTANCE = "overload"
QUEUE_TIMEOUT = 3
RUN_S = 2


@pytest.fixture(scope="module")
def stack():
    env, run_dir, _ = private.up({
        "PYEXEC_LISTEN": LISTEN, "PYEXEC_API_KEYS": KEY, "PYEXEC_INSTANCE": INSTANCE,
        "PYEXEC_UID_BASE": "62860", "PYEXEC_WORKERS": "4",
        "PYEXEC_QUEUE_TIMEOUT": str(QUEUE_TIMEOUT),
        "PYEXEC_KEY_RATE": "1000", "PYEXEC_KEY_BURST": "1000",
        "PYEXEC_ADDR_RATE": "1000", "PYEXEC_ADDR_BURST": "1000"}, "pyexec-overload-")
    yield run_dir
    private.down(env, run_dir)
    private.rm_cgroups(INSTANCE)


def _req(method, path, body=None, timeout=60, key=True):
    host, port = LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Integrations-API-Key": KEY} if key else {})
        r = conn.getresponse()
        return ph.Response(r.status, r.reason, r.getheaders(), r.read()), \
            time.monotonic() - t0
    finally:
        conn.close()


def _metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_flood_gets_runs_or_fast_503s_and_health_answers(stack):
    before = _metric(_req("GET", "/metrics", key=False)[0].text,
                     "pyexec_queue_rejections_total")
    body = {"code": "import time\ntime.sleep(%d)\nprint('ran')" % RUN_S, "timeout": 10}
    health, stop = [], threading.Event()

    def poll_health():
        while not stop.is_set():
            r, t = _req("GET", "/health", key=False, timeout=10)
            health.append((r.status, t))
            time.sleep(0.2)

    poller = threading.Thread(target=poll_health)
    poller.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            answers = list(pool.map(lambda _: _req("POST", "/v1/execute", body), range(64)))
    finally:
        stop.set()
        poller.join(30)
    ran = [(r, t) for r, t in answers if r.status == 200]
    refused = [(r, t) for r, t in answers if r.status == 503]
    assert len(ran) + len(refused) == 64, [ph.show(r) for r, _ in answers
                                           if r.status not in (200, 503)][:3]
    assert len(ran) >= 4 and refused, (len(ran), len(refused))
    for r, t in ran:
        ex = r.json["response"][-1]
        assert ex["outcome"] == "completed" and ex["stdout"] == "ran\n", ph.show(r)
        assert ex["queue_ms"] is not None and ex["queue_ms"] <= QUEUE_TIMEOUT * 1000 + 500, ex
        assert t < QUEUE_TIMEOUT + RUN_S + 2, t
    for r, t in refused:
        ph.assert_json_content_type(r)
        err = r.json["response"][0]
        assert err["code"] == "overloaded", ph.show(r)
        assert "PYEXEC_QUEUE_TIMEOUT" in err["message"], ph.show(r)
        assert r.header("retry-after") is not None and int(r.header("retry-after")) >= 1
        assert t < QUEUE_TIMEOUT + 1.5, t          # fast: the queue's bound
    # /health kept answering, quickly, while every worker was busy
    assert len(health) >= 10, health
    assert all(s == 200 and t < 1.0 for s, t in health), health
    after = _metric(_req("GET", "/metrics", key=False)[0].text,
                    "pyexec_queue_rejections_total")
    assert after - before == len(refused), (before, after, len(refused))


def test_deep_health_reruns_the_self_test_on_a_worker(stack):
    r, _ = _req("GET", "/health?deep=1")
    assert r.status == 200, ph.show(r)
    assert "checks" in r.json["selftest"], ph.show(r)       # a worker's answer
    r, _ = _req("GET", "/health", key=False)          # the front's answer
    assert r.status == 200 and "checks" not in r.json["selftest"], ph.show(r)
    assert all(s["state"] in ("ready", "busy") for s in r.json["slots"]), ph.show(r)
