"""One time budget per request, and one id (issue 10).

A private stack (instance "budget", 127.0.0.1:18096, one worker) with small
limits: PYTHON_EXECUTOR_MAX_TIMEOUT=1 and PYEXEC_LLM_TIMEOUT=1 make the
request budget 3 x (1 + 1 + 1 + 2) = 15 s, and nginx's
fastcgi_read_timeout 25 s.  Twenty requests at once queue behind the one
worker: those whose wait leaves too little of the budget for their run get
pyexec's own JSON 504 ("time_budget") at once, never nginx's, and every
one is answered well before nginx's timeout.  The answer's invocationId
is the one nginx logged.  A second stack, whose budget is mostly the
model's time, shows the master's drain on SIGTERM waiting for a legal
request longer than the drain used to."""

import concurrent.futures
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import private_stack as private
import pyexec_http as ph

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow

LISTEN = "127.0.0.1:18096"
KEY = "budget-key-1"
INSTANCE = "budget"
SETTINGS = {
    "PYEXEC_LISTEN": LISTEN, "PYEXEC_API_KEYS": KEY, "PYEXEC_INSTANCE": INSTANCE,
    "PYEXEC_UID_BASE": "62900", "PYEXEC_WORKERS": "1",
    "PYEXEC_KEY_RATE": "1000", "PYEXEC_KEY_BURST": "1000",
    "PYEXEC_ADDR_RATE": "1000", "PYEXEC_ADDR_BURST": "1000",
    "PYTHON_EXECUTOR_MAX_TIMEOUT": "1", "PYTHON_EXECUTOR_DEFAULT_TIMEOUT": "1",
    "PYEXEC_LLM_TIMEOUT": "1",
    # the front's queue would refuse them first (503 at 10 s)
    "PYEXEC_QUEUE_TIMEOUT": "60",
}
BUDGET_S, READ_TIMEOUT_S = 15, 25


@pytest.fixture(scope="module")
def stack():
    env, run_dir, _ = private.up(SETTINGS, "pyexec-budget-")
    yield {"env": env, "run_dir": run_dir}
    private.down(env, run_dir)
    private.rm_cgroups(INSTANCE)


def _req(body, timeout=60):
    host, port = LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request("POST", "/v1/execute", body=json.dumps(body),
                     headers={"Integrations-API-Key": KEY})
        r = conn.getresponse()
        return ph.Response(r.status, r.reason, r.getheaders(), r.read()), \
            time.monotonic() - t0
    finally:
        conn.close()


def test_budget_is_derived_from_the_limits_and_fills_nginx(stack):
    app = os.path.join(private.TOP, "build", "fcgi-app", "pyexec-fcgi")
    out = subprocess.run([app, "--budget"], env=stack["env"], capture_output=True,
                         text=True, check=True).stdout
    got = dict(line.split("=") for line in out.split())
    assert got == {"request_budget": str(BUDGET_S),
                   "fastcgi_read_timeout": str(READ_TIMEOUT_S),
                   "drain": str(READ_TIMEOUT_S)}, out
    with open(os.path.join(stack["run_dir"], "nginx", "pyexec.conf")) as f:
        conf = f.read()
    assert re.search(r"^\s*fastcgi_read_timeout\s+%ds;" % READ_TIMEOUT_S, conf, re.M), \
        "nginx's read timeout is not the budget's"
    # the defaults: 3 x (30 + 1 + 30 + 2) s
    env = {k: v for k, v in stack["env"].items()
           if not k.startswith(("PYTHON_EXECUTOR_", "PYEXEC_LLM_", "API_TIMEOUT"))}
    out = subprocess.run([app, "--budget"], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert "request_budget=189\n" in out and "fastcgi_read_timeout=199\n" in out, out


def test_queued_requests_past_the_budget_get_pyexecs_own_504(stack):
    body = {"code": "import time\ntime.sleep(0.9)\nprint('ran')", "timeout": 1}
    _req({"code": "print(1)"})                  # the worker is up and warm
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: _req(body), range(20)))
    ran = [r for r, _ in answers if r.status == 200]
    late = [r for r, _ in answers if r.status == 504]
    assert len(ran) + len(late) == 20, [ph.show(r) for r, _ in answers]
    assert ran and late, [r.status for r, _ in answers]
    for r in ran:
        ex = r.json["response"][-1]
        assert ex["outcome"] == "completed" and ex["stdout"] == "ran\n", ph.show(r)
    for r in late:
        ph.assert_json_content_type(r)
        err = r.json["response"][0]
        assert err["code"] == "time_budget", ph.show(r)      # not nginx's gateway_timeout
        assert ("the request's time budget (%d s) would be passed" % BUDGET_S) \
            in err["message"], ph.show(r)
        assert r.reason == "Gateway Timeout"
    assert max(t for _, t in answers) < READ_TIMEOUT_S - 3, [t for _, t in answers]


def test_one_id_per_request_in_the_answer_and_both_logs(stack):
    r, _ = _req({"code": "print('id')"})
    assert r.status == 200, ph.show(r)
    inv = r.json["invocationId"]
    deadline = time.monotonic() + 10
    nginx_ids, app_ids = set(), set()
    while time.monotonic() < deadline and not (inv in nginx_ids and inv in app_ids):
        with open(os.path.join(stack["run_dir"], "nginx", "access.log")) as f:
            for line in f:
                # a line nginx is still writing is read whole next time
                try:
                    nginx_ids.add(json.loads(line).get("invocation_id"))
                except ValueError:
                    continue
        with open(os.path.join(stack["run_dir"], "pyexec.log"), errors="replace") as f:
            for line in f:
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                if o.get("event") == "request":
                    assert "requestId" not in o, o      # one id, not two
                    app_ids.add(o.get("invocationId"))
        time.sleep(0.2)
    assert inv in nginx_ids, "nginx's access log has not the invocationId " + inv
    assert inv in app_ids, "pyexec's log has not the invocationId " + inv


# ---------------------------------------------------------------- drain ---
# A stack whose budget is mostly the model's time (PYEXEC_LLM_TIMEOUT=20,
# PYTHON_EXECUTOR_MAX_TIMEOUT=1): a legal request may take 20 s and more,
# longer than the drain used to wait (the run's limit + 15 s = 16 s).
DRAIN_LISTEN = "127.0.0.1:18098"
DRAIN_KEY = "budget-drain-key"


@pytest.fixture(scope="module")
def drain_stack():
    env, run_dir, master = private.up({
        "PYEXEC_LISTEN": DRAIN_LISTEN, "PYEXEC_API_KEYS": DRAIN_KEY,
        "PYEXEC_INSTANCE": "budgetdrain", "PYEXEC_UID_BASE": "62950",
        "PYEXEC_WORKERS": "1", "PYTHON_EXECUTOR_MAX_TIMEOUT": "1",
        "PYTHON_EXECUTOR_DEFAULT_TIMEOUT": "1", "PYEXEC_LLM_TIMEOUT": "20",
        "PYEXEC_LLM_URL": os.environ["PYEXEC_LLM_URL"],
        "PYEXEC_LLM_API_KEY": os.environ["PYEXEC_LLM_API_KEY"],
        # The review times out (the model is slow) and the code must still
        # run: the drain has to wait for the whole request, model and run.
        # (By default a review without a verdict refuses the code.)
        "PYEXEC_VALIDATE_WITHOUT_MODEL": "run"}, "pyexec-drain-")
    yield {"master": master, "run_dir": run_dir}
    private.down(env, run_dir)
    private.rm_cgroups("budgetdrain")


def test_sigterm_drain_waits_for_a_legal_request_past_the_old_drain(drain_stack):
    result = {}

    def slow_review():
        host, port = DRAIN_LISTEN.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=90)
        t0 = time.monotonic()
        conn.request("POST", "/v1/execute", body=json.dumps(
            {"code": "# [mode:slow]\nprint('ran')", "validate_code": True}),
            headers={"Integrations-API-Key": DRAIN_KEY})
        r = conn.getresponse()
        result["r"] = ph.Response(r.status, r.reason, r.getheaders(), r.read())
        result["s"] = time.monotonic() - t0
        conn.close()

    t = threading.Thread(target=slow_review)
    t.start()
    time.sleep(1.0)                     # the model call is in flight
    os.kill(drain_stack["master"], signal.SIGTERM)
    t.join(90)
    r = result.get("r")
    assert r is not None and r.status == 200, ph.show(r)
    val, ex = r.json["response"][1], r.json["response"][2]
    assert val["status"] == "skipped" and val["reason"].startswith("llm_timeout"), ph.show(r)
    assert ex["outcome"] == "completed" and ex["stdout"] == "ran\n", ph.show(r)
    assert result["s"] > 17, result["s"]    # past where the old drain killed it
