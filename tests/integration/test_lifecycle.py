"""Start-up, health and shutdown of pyexec-fcgi itself.

- The master refuses to serve, with the reason, when its sandbox cannot be
  made (fail closed), and leaves no cgroup behind.
- /health answers 503 when the worker's slot does not answer, and the slot
  is made again.
- SIGTERM drains: the run in flight finishes, then nginx answers 502 JSON
  because no worker is left, and the instance's cgroups are gone.

These tests start their own processes (a bare pyexec-fcgi under spawn-fcgi,
and a private second stack through scripts/dev), so the shared stack of the
other tests is never disturbed.
"""

import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

import private_stack as private
import pyexec_http as ph

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, "build")
APP = os.path.join(BUILD, "fcgi-app", "pyexec-fcgi")
LAUNCHER = os.path.join(BUILD, "sandbox", "pyexec-launcher")
RUNNER = os.path.join(TOP, "sandbox", "runner.py")
ZYGOTE = os.path.join(BUILD, "sandbox", "pyexec-zygote.so")
MEMCG = "/sys/fs/cgroup/memory/pyexec"


def _start_bare(env_extra, instance, use_spawn_fcgi=True):
    """Runs pyexec-fcgi (through spawn-fcgi -n) with env_extra; returns
    (exit status, stderr lines as parsed JSON)."""
    tmp = tempfile.mkdtemp(prefix="pyexec-failclosed-")
    # A good backend secret: the start fails for the reason under test.
    secret = os.path.join(tmp, "backend-secret")
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_hex(32).encode() + b"\n")
    os.close(fd)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "PYEXEC_INSTANCE": instance, "PYEXEC_WORKERS": "1",
           "PYEXEC_UID_BASE": "62500", "PYEXEC_LAUNCHER": LAUNCHER,
           "PYEXEC_RUNNER": RUNNER, "PYEXEC_ZYGOTE": ZYGOTE,
           "PYEXEC_BACKEND_SECRET_FILE": secret}
    env.update(env_extra)
    if use_spawn_fcgi:
        cmd = ["spawn-fcgi", "-n", "-s", os.path.join(tmp, "s.sock"), "--", APP]
    else:
        cmd = [APP]
    try:
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [json.loads(l) for l in proc.stderr.decode().splitlines() if l]
    return proc.returncode, lines


def _fatal(lines):
    fatal = [l for l in lines if l.get("level") == "fatal"]
    assert len(fatal) == 1, lines
    assert fatal[0]["event"] == "startup", lines
    assert fatal[0]["message"].startswith("refusing to serve: "), lines
    return fatal[0]["message"]


@pytest.fixture
def bad_runner():
    """A runner that runs but answers the self-test wrongly."""
    fd, path = tempfile.mkstemp(suffix=".py")
    os.write(fd, b"import os\nos.close(3)\nprint('not the self-test answer')\n")
    os.close(fd)
    os.chmod(path, 0o644)
    yield path
    os.unlink(path)


FAIL_CASES = [
    ({"PYEXEC_USER": "no-such-user-pyexec"}, "PYEXEC_USER no-such-user-pyexec does not exist"),
    ({"PYEXEC_LAUNCHER": "/bin/false"}, "slot 0 could not be started"),
    ({"PYEXEC_LAUNCHER": "/nonexistent/launcher"}, "launcher /nonexistent/launcher"),
    ({"PYEXEC_UID_BASE": "65534"}, "run uid 65534 belongs to user nobody"),
    ({"PYEXEC_WORKERS": "0"}, "PYEXEC_WORKERS: must be a number between 1 and 256"),
    ({"PYTHON_EXECUTOR_DEFAULT_TIMEOUT": "99"},
     "PYTHON_EXECUTOR_DEFAULT_TIMEOUT: must be a number between 0.1 and 30"),
]


@pytest.mark.parametrize("env,reason", FAIL_CASES,
                         ids=[r.split(":")[0][:30] for _, r in FAIL_CASES])
def test_refuses_to_serve_without_its_sandbox(env, reason):
    status, lines = _start_bare(env, "failclosed")
    assert status == 1, lines
    assert reason in _fatal(lines), lines
    assert not os.path.exists(MEMCG + "/failclosed"), "cgroup left behind"


def test_refuses_when_the_self_test_fails(bad_runner):
    status, lines = _start_bare({"PYEXEC_RUNNER": bad_runner}, "failclosed")
    assert status == 1, lines
    assert "slot 0 failed its self-test" in _fatal(lines), lines
    selftest = [l for l in lines if l.get("event") == "selftest"]
    assert selftest, lines
    assert ("the probe's answer is not its JSON report: not the self-test answer"
            in selftest[0]["message"]), lines
    assert not os.path.exists(MEMCG + "/failclosed"), "cgroup left behind"


def test_refuses_without_a_listening_socket():
    status, lines = _start_bare({}, "failclosed", use_spawn_fcgi=False)
    assert status == 1, lines
    assert "fd 0 is not a listening socket" in _fatal(lines), lines


# ---------------------------------------------------------------------------
# A private stack for the tests that break things on purpose.

PRIV_LISTEN = "127.0.0.1:18091"
PRIV_KEY = "lifecycle-key"


@pytest.fixture(scope="module")
def private_stack():
    env, run_dir, master = private.up(
        {"PYEXEC_LISTEN": PRIV_LISTEN, "PYEXEC_API_KEYS": PRIV_KEY,
         "PYEXEC_INSTANCE": "lifecycle", "PYEXEC_UID_BASE": "62600",
         "PYEXEC_WORKERS": "2"}, "pyexec-lifecycle-")
    yield {"master": master, "run_dir": run_dir}
    private.down(env, run_dir)


def _req(method, path, body=None, timeout=30):
    host, port = PRIV_LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        hdrs = {"Integrations-API-Key": PRIV_KEY}
        conn.request(method, path, body=json.dumps(body) if body else None,
                     headers=hdrs)
        r = conn.getresponse()
        return ph.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def _wait_healthy(n, within=20):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        r = _req("GET", "/health")
        if (r.status == 200 and r.json["workers"]["alive"] == n
                and all(s["state"] == "ready" for s in r.json["slots"])):
            return r.json
        time.sleep(0.2)
    raise AssertionError("not healthy within %ds: %s" % (within, ph.show(r)))


@pytest.mark.slow
def test_health_503_when_slots_do_not_answer(private_stack):
    before = _wait_healthy(2)
    launchers = [s["launcher_pid"] for s in before["slots"]]
    for pid in launchers:
        os.kill(pid, signal.SIGSTOP)
    try:
        r = _req("GET", "/health")
        assert r.status == 503, ph.show(r)
        assert r.json["status"] == "unhealthy", ph.show(r)
        assert "slot does not answer" in r.json["reason"], ph.show(r)
    finally:
        for pid in launchers:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    # The worker that failed its check has its slot made again; the others
    # answer again now that their launchers run.
    after = _wait_healthy(2)
    assert sum(s["restarts"] for s in after["slots"]) >= 1, after
    ok = _req("POST", "/v1/execute", {"code": "print(6*7)"})
    assert ok.status == 200 and ok.json["response"][1]["stdout"] == "42\n", ph.show(ok)


def test_launcher_death_remakes_the_slot(private_stack):
    before = _wait_healthy(2)
    victim = before["slots"][0]
    os.kill(victim["launcher_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = _wait_healthy(2)
        s0 = now["slots"][0]
        if s0["launcher_pid"] != victim["launcher_pid"] and s0["restarts"] > victim["restarts"]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("slot 0 was not made again: %s" % now)
    for _ in range(4):
        ok = _req("POST", "/v1/execute", {"code": "print('alive')"})
        assert ok.status == 200 and ok.json["response"][1]["stdout"] == "alive\n", ph.show(ok)


@pytest.mark.slow
def test_sigterm_drains_then_nginx_answers_502(private_stack):
    _wait_healthy(2)
    result = {}

    def long_run():
        result["r"] = _req("POST", "/v1/execute",
                           {"code": "import time; time.sleep(1.5); print('finished')",
                            "timeout": 10})

    t = threading.Thread(target=long_run)
    t.start()
    time.sleep(0.5)                       # the run is in flight
    sock = os.path.join(private_stack["run_dir"], "pyexec.sock")
    assert os.path.exists(sock)
    os.kill(private_stack["master"], signal.SIGTERM)
    # New connections are kept away at once (the socket's path goes: nginx
    # could pass them to another backend), while the run still goes on.
    time.sleep(0.3)
    assert not os.path.exists(sock), "the drain left the socket's path"
    assert t.is_alive() and os.path.exists("/proc/%d" % private_stack["master"])
    t.join(30)
    r = result.get("r")
    assert r is not None and r.status == 200, ph.show(r)
    ex = r.json["response"][1]
    assert ex["outcome"] == "completed" and ex["stdout"] == "finished\n", ph.show(ex)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and os.path.exists("/proc/%d" % private_stack["master"]):
        time.sleep(0.1)
    assert not os.path.exists("/proc/%d" % private_stack["master"]), "master still running"
    assert not os.path.exists(MEMCG + "/lifecycle"), "cgroups left behind"

    gone = _req("POST", "/v1/execute", {"code": "print(1)"})
    ph.assert_error(gone, 502, "bad_gateway")
    with open(os.path.join(private_stack["run_dir"], "pyexec.log")) as f:
        events = [json.loads(l) for l in f if l.strip()]
    assert any(e.get("event") == "shutdown" and e.get("message") == "stopped"
               for e in events), events[-5:]
