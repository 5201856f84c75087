"""A stack with tight operator limits (PYTHON_EXECUTOR_MAX_TIMEOUT=3,
PYEXEC_MAX_CPU=0.5): every route obeys them, the seed routes included; the
start-up warns about an LLM key sent over cleartext http; and a master
killed with SIGKILL takes its launchers and its front with it (their
parent-death signals hold across their change of credentials).

The stack is private (scripts/dev up in its own run dir, instance "limits",
its own uids) and is ended by killing its master, so it runs last in this
module."""

import http.client
import json
import os
import signal
import time

import pytest

import private_stack as private
import pyexec_http as ph

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow

LISTEN = "127.0.0.1:18092"
KEY = "limits-key-1"
INSTANCE = "limits"
UID_BASE = 62700
CPU_QUOTA = "/sys/fs/cgroup/cpu/pyexec/%s/slot-0/run/cpu.cfs_quota_us" % INSTANCE


@pytest.fixture(scope="module")
def stack():
    env, run_dir, master = private.up({
                "PYEXEC_LISTEN": LISTEN,
                "PYEXEC_API_KEYS": KEY, "PYEXEC_INSTANCE": INSTANCE,
                "PYEXEC_UID_BASE": str(UID_BASE), "PYEXEC_WORKERS": "1",
                "PYTHON_EXECUTOR_MAX_TIMEOUT": "3",
                "PYTHON_EXECUTOR_DEFAULT_TIMEOUT": "2",
                "PYEXEC_MAX_CPU": "0.5",
                # Never contacted: only its scheme and host matter here.
                "PYEXEC_LLM_URL": "http://llm.invalid/v1",
                "PYEXEC_LLM_API_KEY": "limits-llm-key"}, "pyexec-limits-")
    yield {"master": master, "run_dir": run_dir}
    private.down(env, run_dir)
    private.rm_cgroups(INSTANCE)


def _req(method, path, body=None, timeout=30):
    host, port = LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body else None,
                     headers={"Integrations-API-Key": KEY})
        r = conn.getresponse()
        return ph.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def _quota():
    with open(CPU_QUOTA) as f:
        return int(f.read())


SPIN = "import time\nt = time.time()\nwhile time.time() - t < 8: pass\nprint('done')\n"


def test_native_route_refuses_past_the_limits(stack):
    r = _req("POST", "/v1/execute", {"code": "print(1)", "timeout": 5})
    assert r.status == 400 and "timeout: must be a number between 0.1 and 3" in r.text, ph.show(r)
    r = _req("POST", "/v1/execute", {"code": "print(1)", "cpu_limit": 1})
    assert r.status == 400 and "cpu_limit" in r.text, ph.show(r)
    r = _req("POST", "/v1/execute", {"code": "print(1)"})
    ex = r.json["response"][1]
    assert ex["limits"]["cpu_limit"] == 0.5 and ex["limits"]["timeout"] == 2, ph.show(r)


def test_seed004_obeys_the_limits(stack):
    r = _req("POST", "/api/v1/execute", {"code": "print(1)", "timeout": 30})
    assert r.status == 422, ph.show(r)
    assert "between 1 and 3" in r.text, ph.show(r)
    t0 = time.monotonic()
    r = _req("POST", "/api/v1/execute", {"code": SPIN})
    assert r.status == 200, ph.show(r)
    assert time.monotonic() - t0 < 6, "the default 5 s was not cut to the 3 s maximum"
    assert _quota() == 5000, _quota()


@pytest.mark.parametrize("route,body", [
    ("/execute", {"script": "def main():\n    " + SPIN.replace("\n", "\n    ") + "return 1\n"}),
    ("/execute", {"generated_code": SPIN}),
    ("/execute", {"code": SPIN}),
    ("/system/python_executor/execute_code/invoke", {"code": "x = 1\nwhile x: x = 1"}),
])
def test_seed_routes_obey_the_limits(stack, route, body):
    _req("POST", "/v1/execute", {"code": "print(1)", "cpu_limit": 0.25})
    assert _quota() == 2500
    t0 = time.monotonic()
    r = _req("POST", route, body)
    assert r.status in (200, 408), ph.show(r)
    assert time.monotonic() - t0 < 6, (route, "ran past the 3 s maximum")
    assert _quota() == 5000, (route, _quota())


def test_cleartext_llm_url_warns_at_start(stack):
    with open(os.path.join(stack["run_dir"], "pyexec.log")) as f:
        events = [json.loads(l) for l in f if l.strip()]
    warn = [e for e in events if e.get("level") == "warning"
            and "clear text" in e.get("message", "")]
    assert warn, events[:10]
    assert "limits-llm-key" not in json.dumps(events)


OOM_CONTROL = "/sys/fs/cgroup/memory/pyexec/%s/slot-0/run/memory.oom_control" % INSTANCE


def _oom_kills():
    with open(OOM_CONTROL) as f:
        return int(dict(l.split() for l in f)["oom_kill"])


def _health(key):
    host, port = LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/health",
                     headers={"Integrations-API-Key": KEY} if key else {})
        r = conn.getresponse()
        return ph.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def test_health_without_key_cannot_make_the_self_test_run(stack):
    # Each self-test ends one probe per path (cold, bare zygote, data
    # zygote) by the cgroup's OOM killer, so the slot's oom_kill counter
    # counts self-tests, three a time.  The only worker's result
    # is made older than the keyed 10 s threshold; unkeyed requests then
    # must not rerun it (their threshold is a minute), a keyed one must.
    assert _health(True).status == 200
    before = _oom_kills()
    time.sleep(11)
    for _ in range(10):
        r = _health(False)
        assert r.status == 200 and r.json["selftest"]["age_ms"] > 10000, ph.show(r)
    assert _oom_kills() == before, "an unkeyed /health ran the self-test"
    r = _health(True)
    assert r.status == 200 and r.json["selftest"]["age_ms"] < 10000, ph.show(r)
    assert _oom_kills() == before + 3, "the keyed /health did not rerun it"


def test_zz_sigkill_of_the_master_ends_its_launchers(stack):
    j = _req("GET", "/health").json
    launchers = [s["launcher_pid"] for s in j["slots"]]
    workers = [s["worker_pid"] for s in j["slots"]]
    assert launchers and all(os.path.exists("/proc/%d" % p) for p in launchers)
    m = stack["master"]
    with open("/proc/%d/task/%d/children" % (m, m)) as f:
        others = [int(k) for k in f.read().split()
                  if int(k) not in workers + launchers]
    guards = [p for p in others if private.comm(p) == "pyexec-guard"]
    stores = [p for p in others if private.comm(p) == "pyexec-store"]
    fronts = [p for p in others if p not in guards + stores]
    assert len(fronts) == 1, others        # the front, the master's other child
    assert len(guards) == 1, others        # and the guard (fcgi-app/proc/guard.c)
    assert len(stores) == 1, others        # and the workspace store (sandbox/host/store.c)
    cgroups = private.instance_cgroups(INSTANCE)
    assert cgroups, "no cgroup pyexec/%s before the kill" % INSTANCE
    # Stopped workers keep the launchers' control sockets open: only the
    # launchers' own parent-death signal can end them now.
    for p in workers:
        os.kill(p, signal.SIGSTOP)
    try:
        os.kill(stack["master"], signal.SIGKILL)
        _assert_launchers_end(launchers)
        # the front too: its parent-death signal, after its own drop
        deadline = time.monotonic() + 5
        while private.running(fronts[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not private.running(fronts[0]), "the front outlived its master"
        # the store by its parent-death signal
        assert not private.running(stores[0]), "the store outlived its master"
        # the guard removes the slots' cgroups, then ends
        deadline = time.monotonic() + 10
        while (private.instance_cgroups(INSTANCE) or private.running(guards[0])) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        assert not private.instance_cgroups(INSTANCE), "cgroups left: %s" % private.instance_cgroups(INSTANCE)
        assert not private.running(guards[0]), "the guard outlived its work"
    finally:
        for p in workers:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def _assert_launchers_end(launchers):
    deadline = time.monotonic() + 5
    alive = launchers
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in launchers if private.running(p)]
    assert not alive, "launchers outlived their master: %s" % alive
    # And with them their keepers and anything in the slots' uid range.
    left = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/status" % d) as f:
                    uid = int([l for l in f if l.startswith("Uid:")][0].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if UID_BASE <= uid < UID_BASE + 2 and private.running(int(d)):
                left.append(int(d))
    assert not left, left


