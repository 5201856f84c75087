"""Workspaces and keyless clients on a private stack (instance "wsstack",
127.0.0.1:18981, two workers) with short limits: keyless requests from
PYEXEC_ANONYMOUS_FROM (127.0.0.1 and 127.0.0.3, not 127.0.0.2), expiry
(idle 3 s, max age 8 s, a sweep every second), 3 workspaces per client, a
1 s wait for a busy workspace, and the store's death."""

import http.client
import json
import os
import re
import signal
import socket
import tempfile
import threading
import time

import pytest

import private_stack as private

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow

LISTEN = "127.0.0.1:18981"
KEY = "wsstack-key-1"
UID_BASE = 70600
SETTINGS = {
    "PYEXEC_LISTEN": LISTEN, "PYEXEC_API_KEYS": KEY + ",wsstack-key-2",
    "PYEXEC_INSTANCE": "wsstack", "PYEXEC_UID_BASE": str(UID_BASE),
    "PYEXEC_WORKERS": "2", "PYEXEC_ANONYMOUS_FROM": "127.0.0.1,127.0.0.3",
    "PYEXEC_ANON_RATE": "5", "PYEXEC_ANON_BURST": "5",
    "PYEXEC_WORKSPACE_IDLE": "3", "PYEXEC_WORKSPACE_MAX_AGE": "8",
    "PYEXEC_WORKSPACE_SWEEP": "1", "PYEXEC_WORKSPACES_PER_CLIENT": "3",
    "PYEXEC_WORKSPACE_WAIT": "1", "PYEXEC_WORKSPACE_MAX_BYTES": "8m",
    "PYEXEC_WORKSPACE_MAX_FILES": "200",
}


@pytest.fixture(scope="module")
def stack():
    env, run_dir, pid = private.up(SETTINGS, "pyexec-wsstack-")
    try:
        yield {"env": env, "run_dir": run_dir, "pid": pid}
    finally:
        private.down(env, run_dir)


def _req(method, path, body=None, key=None, source="127.0.0.1", headers=None,
         timeout=40):
    return private.request(LISTEN, method, path, body, key=key, timeout=timeout,
                           source=source, headers=headers)


def _seed003(code, **kw):
    body = {"generated_code": code, "timeout": 30}
    for k in ("session_id",):
        if k in kw:
            body[k] = kw.pop(k)
    return _req("POST", "/execute", body, **kw)


def _native(code, session, **kw):
    st, j, h = _req("POST", "/v1/execute", {"code": code, "session_id": session},
                    **kw)
    ex = None
    if st == 200:
        ex = [i for i in j["response"] if i["type"] == "execution"][0]
    return st, j, ex


def _log(stack):
    with open(os.path.join(stack["run_dir"], "pyexec.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def _access_log(stack):
    with open(os.path.join(stack["run_dir"], "nginx", "access.log")) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


# ---------------------------------------------------------------- keyless ---

def _nginx_geo(from_list):
    """pyexec-fcgi --nginx-geo for this list: (exit status, stdout, stderr)."""
    import subprocess
    app = os.environ.get("PYEXEC_FCGI") or os.path.join(
        private.TOP, "build", "fcgi-app", "pyexec-fcgi")
    r = subprocess.run([app, "--nginx-geo"], env={"PYEXEC_ANONYMOUS_FROM": from_list},
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout, r.stderr


def test_the_site_geo_is_what_pyexec_fcgi_prints(stack):
    # the list is written once (PYEXEC_ANONYMOUS_FROM): scripts/dev's site
    # has pyexec-fcgi --nginx-geo's entries, in its order, and no other
    with open(os.path.join(stack["run_dir"], "nginx", "pyexec.conf")) as f:
        site = f.read()
    body = re.search(r"^geo \$pyexec_anon_from \{\n(.*?)^\}", site, re.M | re.S).group(1)
    entries = [e.strip() + ";" for e in body.split(";") if e.strip()]
    assert entries[0] == "default 0;", entries
    rc, out, err = _nginx_geo(SETTINGS["PYEXEC_ANONYMOUS_FROM"])
    assert rc == 0, err
    assert out == "127.0.0.1 1;\n127.0.0.3 1;\n", out
    assert entries[1:] == out.splitlines(), (entries, out)


def test_scripts_dev_refuses_what_the_worker_refuses():
    # a list pyexec-fcgi refuses (everyone, as /00 too) stops `up` before
    # anything starts, with pyexec-fcgi's message
    for bad in ("127.0.0.1,0.0.0.0/00", "127.0.0.1 sidecar"):
        run_dir = tempfile.mkdtemp(prefix="pyexec-wsgeo-", dir="/tmp")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYEXEC_", "PYTHON_EXECUTOR_", "TOGETHER_"))
               or k == "PYEXEC_FCGI"}
        env.update(SETTINGS, PYEXEC_LISTEN="127.0.0.1:18983", PYEXEC_INSTANCE="wsgeo",
                   PYEXEC_ANONYMOUS_FROM=bad, PYEXEC_RUN_DIR=run_dir)
        os.chmod(run_dir, 0o755)
        try:
            r = private.dev("up", "--detach", "--no-setup", env=env)
            out = r.stdout.decode()
            assert r.returncode != 0, out[-2000:]
            assert "PYEXEC_ANONYMOUS_FROM: '" in out and "--nginx-geo refused" in out, out[-2000:]
            assert not os.path.exists(os.path.join(run_dir, "pyexec-fcgi.pid"))
            assert not os.path.exists(os.path.join(run_dir, "nginx", "pyexec.conf"))
        finally:
            private.down(env, run_dir)


def test_keyless_from_a_listed_address_runs_in_its_own_workspace(stack):
    st, j, _ = _seed003("open('anon.txt', 'w').write('from .1')\nprint('ok')")
    assert st == 200 and j["stdout"] == "ok\n", j
    st, j, _ = _seed003("print(open('anon.txt').read())")
    assert st == 200 and j == {"process_status": "completed",
                               "stdout": "from .1\n", "stderr": ""}, j
    # another listed address is another client
    st, j, _ = _seed003("import os\nprint(os.listdir('.'))", source="127.0.0.3")
    assert st == 200 and j["stdout"] == "[]\n", j
    # and so is a key from the same address
    st, j, _ = _seed003("import os\nprint(os.listdir('.'))", key=KEY)
    assert st == 200 and j["stdout"] == "[]\n", j


def test_keyless_from_an_unlisted_address_is_401(stack):
    st, j, h = _seed003("print(1)", source="127.0.0.2")
    assert st == 401, j
    assert j["response"][0]["code"] == "unauthorized", j
    assert "bearer" in h.get("www-authenticate", "").lower()


def test_a_key_sent_from_a_listed_address_is_still_checked(stack):
    st, j, _ = _seed003("print(1)", key="not-a-key-at-all")
    assert st == 401, j
    st, j, _ = _seed003("print(1)", headers={"Authorization": "Bearer wrong-key-1"})
    assert st == 401, j
    st, j, _ = _seed003("print(1)", headers={"Authorization": "Bearer "})
    assert st == 401, j
    st, j, _ = _seed003("print(1)", key=KEY)
    assert st == 200 and j["stdout"] == "1\n", j


def test_keyless_requests_are_logged_as_anonymous(stack):
    st, j, _ = _seed003("print('log me')")
    assert st == 200
    time.sleep(0.2)
    lines = [ln for ln in _access_log(stack) if ln["path"] == "/execute"]
    assert lines[-1]["client"] == "anonymous" and lines[-1]["api_key"] == "", lines[-1]
    reqs = [json.loads(ln) for ln in _log(stack).splitlines()
            if '"event":"request"' in ln]
    assert reqs[-1]["client"] == "anonymous", reqs[-1]
    st, j, _ = _seed003("print('keyed')", key=KEY)
    time.sleep(0.2)
    lines = [ln for ln in _access_log(stack) if ln["path"] == "/execute"]
    assert lines[-1]["client"].startswith("k:") and lines[-1]["client"] == \
        lines[-1]["api_key"], lines[-1]


def test_keyless_requests_have_their_own_rate_limit_per_address(stack):
    time.sleep(1.5)
    statuses = []
    for _ in range(14):
        st, _, h = _req("GET", "/v1/nothing-here")
        statuses.append(st)
    assert 429 in statuses, statuses
    # a keyed client from the same address is not limited by it
    st, _, _ = _seed003("print(2)", key=KEY)
    assert st == 200
    time.sleep(1.5)


# ------------------------------------------------------------ the limits ---

def test_per_client_limit_is_507_until_one_is_deleted(stack):
    key = "wsstack-key-2"
    for i in range(3):
        st, j, ex = _native("print(%d)" % i, "lim-%d" % i, key=key)
        assert st == 200 and ex["workspace"]["created"], j
    st, j, _ = _native("print(3)", "lim-3", key=key)
    assert st == 507, j
    assert j["response"][0]["code"] == "insufficient_storage", j
    assert "PYEXEC_WORKSPACES_PER_CLIENT" in j["response"][0]["message"], j
    # an existing one still works
    st, j, ex = _native("print('again')", "lim-1", key=key)
    assert st == 200 and ex["stdout"] == "again\n", j
    st, j, _ = _req("DELETE", "/v1/workspace", {"session_id": "lim-0"}, key=key)
    assert st == 200, j
    st, j, ex = _native("print(4)", "lim-3", key=key)
    assert st == 200 and ex["workspace"]["created"], j
    for s in ("lim-1", "lim-2", "lim-3"):
        assert _req("DELETE", "/v1/workspace", {"session_id": s}, key=key)[0] == 200


def test_busy_past_the_wait_is_409_in_each_dialect(stack):
    out = {}

    def hold():
        out["r"] = _native("import time\ntime.sleep(3)", "busy", key=KEY)
    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.8)
    t0 = time.monotonic()
    st, j, _ = _native("print(1)", "busy", key=KEY)
    waited = time.monotonic() - t0
    assert st == 409 and j["response"][0]["code"] == "workspace_busy", j
    assert 0.9 <= waited < 2.5, waited          # PYEXEC_WORKSPACE_WAIT 1 s
    st, j, h = _seed003("print(1)", session_id="busy", key=KEY)
    assert st == 409 and j["process_status"] == "error", j
    assert "in use by another request" in j["stderr"] and h["retry-after"] == "1", j
    t.join()
    assert out["r"][0] == 200
    _req("DELETE", "/v1/workspace", {"session_id": "busy"}, key=KEY)


def test_a_million_empty_files_stop_at_the_quota_in_time(stack):
    code = ("n = 0\ntry:\n    for i in range(1000000):\n"
            "        open('e%d' % i, 'w').close(); n += 1\n"
            "except OSError as e:\n    print(e.errno, n)\n")
    t0 = time.monotonic()
    st, j, ex = _native(code, "million", key=KEY)
    assert st == 200, j
    assert time.monotonic() - t0 < 10
    errno_, n = map(int, ex["stdout"].split())
    ws = ex["workspace"]
    # ENOSPC at the file quota (200, as ext4 rounds it up): every inode
    # but the one of outputs/ is one of these files
    assert errno_ == 28 and 200 <= ws["max_files"] < 260, ex
    assert n == ws["max_files"] - 1 == ws["files"] - 1, ex
    assert ex["workspace"]["full"] is True, ex
    _req("DELETE", "/v1/workspace", {"session_id": "million"}, key=KEY)


# ----------------------------------------------------------------- expiry ---

def _images(stack):
    """The workspaces' images (the clients' directories; not the blanks
    the store makes ahead, which a create takes and the store makes again
    in the background)."""
    top = os.path.join(stack["run_dir"], "workspaces", "wsstack")
    out = []
    for d, _, files in os.walk(top):
        if os.path.basename(d).startswith("c-"):
            out += [os.path.join(d, f) for f in files if f.endswith(".img")]
    return out


def _metrics_text():
    host, port = LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/metrics", headers={"Integrations-API-Key": KEY})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    return text


def _counter(text, line):
    for ln in text.splitlines():
        if ln.startswith(line + " "):
            return int(ln.split()[-1])
    raise AssertionError(line + " not in the metrics")


def test_an_idle_workspace_expires_and_is_counted(stack):
    before = _counter(_metrics_text(), 'pyexec_workspaces_deleted_total{reason="idle"}')
    st, j, ex = _native("open('x', 'w').write('1')", "idle", key=KEY)
    assert st == 200 and ex["workspace"]["created"], j
    n_img = len(_images(stack))
    time.sleep(5)                               # idle 3 s, a sweep each second
    assert len(_images(stack)) < n_img
    st, j, ex = _native("import os\nprint(os.path.exists('x'))", "idle", key=KEY)
    assert ex["stdout"] == "False\n" and ex["workspace"]["created"], j
    after = _counter(_metrics_text(), 'pyexec_workspaces_deleted_total{reason="idle"}')
    assert after >= before + 1
    assert "expired (idle" in _log(stack)
    _req("DELETE", "/v1/workspace", {"session_id": "idle"}, key=KEY)


def test_max_age_expires_a_workspace_in_use(stack):
    st, j, ex = _native("open('x', 'w').write('1')", "aging", key=KEY)
    assert ex["workspace"]["created"], j
    deadline = time.monotonic() + 14
    created_again = False
    while time.monotonic() < deadline:          # used every second: never idle
        st, j, ex = _native("import os\nprint(os.path.exists('x'))", "aging", key=KEY)
        if ex["stdout"] == "False\n":
            created_again = ex["workspace"]["created"]
            break
        time.sleep(1)
    assert created_again, "a workspace used all the time outlived PYEXEC_WORKSPACE_MAX_AGE"
    assert "expired (max_age" in _log(stack)
    _req("DELETE", "/v1/workspace", {"session_id": "aging"}, key=KEY)


def test_a_killed_store_is_made_again_and_the_workspaces_survive(stack):
    st, j, ex = _native("open('keep', 'w').write('kept')", "store", key=KEY)
    assert st == 200
    out = subprocess_out(["ps", "-o", "pid=,comm=", "--ppid", str(stack["pid"])])
    kids = [int(ln.split()[0]) for ln in out.splitlines() if ln.strip()]
    store = [p for p in kids if _is_store(p)]
    assert len(store) == 1, out
    os.kill(store[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st, j, ex = _native("print(open('keep').read())", "store", key=KEY)
        if st == 200:
            break
        time.sleep(0.2)
    assert st == 200 and ex["stdout"] == "kept\n", j
    assert "the store %d ended" % store[0] in _log(stack)
    _req("DELETE", "/v1/workspace", {"session_id": "store"}, key=KEY)


def subprocess_out(argv):
    import subprocess
    return subprocess.run(argv, stdout=subprocess.PIPE, text=True).stdout


def _is_store(pid):
    """The store is the master's child named pyexec-store."""
    return private.comm(pid) == "pyexec-store"


def test_the_site_and_the_environment_disagreeing_fails_closed(stack):
    # nginx lists 127.0.0.3 too; make pyexec's own list narrower on a
    # second private stack: keyless from .3 must then be refused (403)
    env, run_dir, _ = private.up(dict(SETTINGS, **{
        "PYEXEC_LISTEN": "127.0.0.1:18982", "PYEXEC_INSTANCE": "wsstack2",
        "PYEXEC_UID_BASE": str(UID_BASE + 200)}), "pyexec-wsstack2-")
    try:
        # rewrite the rendered environment's list for the app only: the
        # master reads it at start, so restart with a narrower one
        private.dev("down", env=env)
        env2 = dict(env, PYEXEC_ANONYMOUS_FROM="127.0.0.1")
        conf = os.path.join(run_dir, "nginx", "pyexec.conf")
        r = private.dev("up", "--detach", "--no-setup", env=env2)
        assert r.returncode == 0, r.stdout.decode()[-2000:]
        with open(conf) as f:
            site = f.read()
        site = site.replace("127.0.0.1 1; ", "127.0.0.1 1; 127.0.0.3 1; ")
        with open(conf, "w") as f:
            f.write(site)
        with open(os.path.join(run_dir, "nginx", "nginx.pid")) as f:
            os.kill(int(f.read()), signal.SIGHUP)
        time.sleep(1)
        host, port = "127.0.0.1", 18982
        conn = http.client.HTTPConnection(host, port, timeout=20,
                                          source_address=("127.0.0.3", 0))
        conn.request("POST", "/execute", body=json.dumps(
            {"generated_code": "print(1)"}), headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        body = json.loads(r.read())
        conn.close()
        assert r.status == 403, body
        assert body["response"][0]["code"] == "forbidden", body
        with open(os.path.join(run_dir, "pyexec.log")) as f:
            assert "PYEXEC_ANONYMOUS_FROM does not list it" in f.read()
    finally:
        private.down(env, run_dir)
