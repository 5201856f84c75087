"""Live sessions (/v1/sessions): an interpreter that keeps its names between
calls, in its own cgroup, uid and namespaces, frozen between calls, one call
at a time, interrupted at a call's timeout and killed past its grace, ended
when idle, deleted or dead; another client's session is not found."""

import glob
import json
import os
import threading
import time
import uuid

import pytest

import pyexec_http as ph


def _new(name=None, api_key=None, **fields):
    body = dict(fields)
    if name is not None:
        body["session_id"] = name
    return ph.request("POST", "/v1/sessions", body=body, api_key=api_key)


def _call(name, code, api_key=None, **fields):
    body = {"code": code}
    body.update(fields)
    return ph.request("POST", "/v1/sessions/%s/execute" % name, body=body,
                      api_key=api_key, timeout=60)


def _ok(resp):
    """The execution item of a call that answered 200."""
    assert resp.status == 200, ph.show(resp)
    items = resp.json["response"]
    ex = [it for it in items if it["type"] == "execution"]
    assert len(ex) == 1, ph.show(resp)
    assert items[-1]["type"] == "session", ph.show(resp)
    return ex[0]


def _delete(name, api_key=None, query=""):
    return ph.request("DELETE", "/v1/sessions/%s%s" % (name, query),
                      api_key=api_key)


@pytest.fixture
def session():
    """A fresh session of the test key's client, deleted afterwards."""
    name = "t-" + uuid.uuid4().hex[:12]
    resp = _new(name)
    assert resp.status == 201, ph.show(resp)
    yield name
    _delete(name)
    _forget(name)


def _forget(name, api_key=None):
    """Its workspace, which a lost session leaves (DELETE of an ended
    session is a 404): the tests' workspaces do not pile up."""
    ph.request("DELETE", "/v1/workspace", body={"session_id": name},
               api_key=api_key)


def test_create_answers_201_with_the_session_item(session):
    resp = ph.request("GET", "/v1/sessions/" + session)
    assert resp.status == 200, ph.show(resp)
    it = resp.json["response"][0]
    assert it["type"] == "session" and it["session_id"] == session, it
    assert it["state"] == "idle" and it["calls"] == 0, it
    assert it["limits"]["idle_timeout"] == 600, it
    assert it["limits"]["memory_bytes"] > 0 and it["memory_bytes"] > 0, it
    for k in ("created", "last_used", "expires_at"):
        assert it[k].endswith("Z") and it[k][4] == "-", it


def test_a_name_that_exists_is_409_and_no_name_gets_one(session):
    resp = _new(session)
    msg = ph.assert_error(resp, 409, "session_exists")
    assert "exists" in msg, msg
    resp = _new()
    assert resp.status == 201, ph.show(resp)
    name = resp.json["response"][0]["session_id"]
    assert name.startswith("s-") and len(name) == 18, name
    assert _delete(name).status == 200


def test_names_live_between_calls(session):
    ex = _ok(_call(session, "x = 41\ndef f(v):\n    return v * 2\nimport json"))
    assert ex["outcome"] == "completed" and ex["session"] == "live", ex
    ex = _ok(_call(session, "x += 1\nprint(f(x), json.dumps([x]))\nx"))
    assert ex["stdout"] == "84 [42]\n" and ex["value"] == "42", ex
    ex = _ok(_call(session, "import pandas as pd\n"
                            "df = pd.DataFrame({'a': range(1000)})"))
    ex = _ok(_call(session, "int(df.a.sum())"))
    assert ex["value"] == "499500", ex
    resp = ph.request("GET", "/v1/sessions/" + session)
    assert resp.json["response"][0]["calls"] == 4, ph.show(resp)


def test_tracebacks_name_the_call_that_defined_the_line(session):
    _ok(_call(session, "def g():\n    return 1 / 0"))
    ex = _ok(_call(session, "y = 1\ng()"))
    assert ex["outcome"] == "error", ex
    assert ex["exception"]["type"] == "ZeroDivisionError", ex
    assert 'File "<cell 2>", line 2' in ex["stderr"], ex["stderr"]
    assert 'File "<cell 1>", line 2, in g' in ex["stderr"], ex["stderr"]
    assert "return 1 / 0" in ex["stderr"], ex["stderr"]
    # the session is still there, its names too
    assert _ok(_call(session, "y"))["value"] == "1"


def test_sys_exit_ends_the_call_not_the_session(session):
    ex = _ok(_call(session, "z = 5\nimport sys\nsys.exit(3)"))
    assert ex["outcome"] == "error" and ex["exit_code"] == 3, ex
    assert ex["session"] == "live", ex
    assert _ok(_call(session, "z"))["value"] == "5"


def test_another_client_gets_404_never_403(session):
    k2 = ph.key2()
    for method, path, body in (
            ("GET", "/v1/sessions/" + session, None),
            ("POST", "/v1/sessions/%s/execute" % session, {"code": "1"}),
            ("DELETE", "/v1/sessions/" + session, None)):
        resp = ph.request(method, path, body=body, api_key=k2)
        msg = ph.assert_error(resp, 404, "not_found")
        assert session in msg, msg
    resp = ph.request("GET", "/v1/sessions", api_key=k2)
    assert resp.status == 200, ph.show(resp)
    assert session not in [it["session_id"] for it in resp.json["response"]]
    # and it is still there for its own client
    assert _ok(_call(session, "1"))["value"] == "1"


def test_list_shows_the_clients_sessions(session):
    resp = ph.request("GET", "/v1/sessions")
    assert resp.status == 200, ph.show(resp)
    names = [it["session_id"] for it in resp.json["response"]]
    assert session in names, names


def test_a_timeout_interrupts_and_keeps_the_state(session):
    _ok(_call(session, "kept = 'yes'"))
    ex = _ok(_call(session, "n = 0\nwhile True:\n    n += 1", timeout=1))
    assert ex["outcome"] == "timeout" and ex["limit"] == "timeout", ex
    assert ex["session"] == "live", ex
    assert "KeyboardInterrupt" in ex["stderr"], ex
    ex = _ok(_call(session, "print(kept, n > 0)"))
    assert ex["stdout"] == "yes True\n", ex


def test_code_that_ignores_the_interrupt_is_killed_and_lost(session):
    ex = _ok(_call(session, "import signal\n"
                            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                            "while True:\n    pass", timeout=1))
    assert ex["outcome"] == "timeout" and ex["session"] == "lost", ex
    resp = _call(session, "1")
    ph.assert_error(resp, 404, "not_found")


def test_a_catching_loop_cannot_escape_either(session):
    # KeyboardInterrupt caught and the loop resumed: killed after the grace
    ex = _ok(_call(session, "while True:\n"
                            "    try:\n"
                            "        while True:\n            pass\n"
                            "    except KeyboardInterrupt:\n"
                            "        pass", timeout=1))
    assert ex["outcome"] == "timeout" and ex["session"] == "lost", ex


def test_the_memory_limit_covers_the_interpreter():
    name = "m-" + uuid.uuid4().hex[:10]
    resp = _new(name, memory_limit="150MB")
    assert resp.status == 201, ph.show(resp)
    try:
        _ok(_call(name, "keep = bytearray(60 << 20)"))
        ex = _ok(_call(name, "more = bytearray(120 << 20)"))
        assert ex["outcome"] == "memory_limit", ex
        assert ex["session"] == "lost", ex
        ph.assert_error(_call(name, "1"), 404, "not_found")
    finally:
        _delete(name)
        _forget(name)


def test_the_cpu_limit_holds_over_a_call():
    """cpu_limit is the session cgroup's quota: a call that spins for 1.5 s
    of wall time at 0.5 of a core gets about 750 ms of CPU, never the
    1 500 ms it would get alone."""
    name = "c-" + uuid.uuid4().hex[:10]
    resp = _new(name, cpu_limit=0.5)
    assert resp.status == 201, ph.show(resp)
    assert resp.json["response"][0]["limits"]["cpu"] == 0.5, ph.show(resp)
    try:
        ex = _ok(_call(name, "import time\nt = time.monotonic()\n"
                             "while time.monotonic() - t < 1.5:\n    pass\n"
                             "print('spun')", timeout=10))
        assert ex["outcome"] == "completed" and ex["stdout"] == "spun\n", ex
        # the security corpus's bound for a quota (test_sec_resources)
        assert 300 <= ex["cpu_ms"] <= 1500 * 0.5 * 1.3 + 150, ex
    finally:
        _delete(name)
        _forget(name)


def test_mode_main_calls_main_and_keeps_what_it_defines(session):
    """mode "main" in a session: main() is called and its value is the
    result, and what the cell defines (main too) stays for the next call."""
    ex = _ok(_call(session, "k = 20\ndef main():\n    return {'v': k + 1}",
                   mode="main"))
    assert ex["outcome"] == "completed" and ex["result"] == {"v": 21}, ex
    ex = _ok(_call(session, "k = 30\nmain()"))
    assert ex["value"] == "{'v': 31}", ex
    # a cell without main() of its own calls the one the session holds
    ex = _ok(_call(session, "print('no main here')", mode="main"))
    assert ex["stdout"] == "no main here\n" and ex["result"] == {"v": 31}, ex


def test_os_exit_loses_the_session(session):
    ex = _ok(_call(session, "import os\nos._exit(0)"))
    assert ex["session"] == "lost", ex
    ph.assert_error(_call(session, "1"), 404, "not_found")


def test_calls_of_one_session_run_one_at_a_time(session):
    _ok(_call(session, "order = []"))
    out = {}

    def slow():
        out["slow"] = _call(session, "import time\norder.append('a')\n"
                                     "time.sleep(1)\norder.append('b')")

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.3)
    ex = _ok(_call(session, "order.append('c')\norder"))
    th.join()
    assert _ok(out["slow"])["outcome"] == "completed"
    assert ex["value"] == "['a', 'b', 'c']", ex


def test_between_calls_the_session_is_frozen(session):
    _ok(_call(session, "import threading, time\n"
                       "ticks = [0]\n"
                       "def tick():\n"
                       "    while True:\n"
                       "        ticks[0] += 1\n"
                       "        time.sleep(0.01)\n"
                       "threading.Thread(target=tick, daemon=True).start()\n"
                       "time.sleep(0.2)"))
    before = int(_ok(_call(session, "ticks[0]"))["value"])
    time.sleep(1.5)
    after = int(_ok(_call(session, "ticks[0]"))["value"])
    # 1.5 s unfrozen would be ~150 ticks; frozen it is the calls' own ms
    assert after - before < 60, (before, after)


def test_a_child_process_does_not_run_while_frozen(session):
    _ok(_call(session, "import subprocess, sys\n"
                       "p = subprocess.Popen([sys.executable, '-c', "
                       "'import time\\nn = 0\\nwhile True:\\n"
                       "    n += 1\\n    open(\"/tmp/n\", \"w\").write(str(n))\\n"
                       "    time.sleep(0.01)'])\n"
                       "import time\ntime.sleep(0.3)"))
    before = int(_ok(_call(session, "int(open('/tmp/n').read())"))["value"])
    time.sleep(1.5)
    after = int(_ok(_call(session, "int(open('/tmp/n').read())"))["value"])
    assert after - before < 60, (before, after)


def test_idle_sessions_expire():
    name = "i-" + uuid.uuid4().hex[:10]
    resp = _new(name, idle_timeout=1)
    assert resp.status == 201, ph.show(resp)
    assert resp.json["response"][0]["limits"]["idle_timeout"] == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if ph.request("GET", "/v1/sessions/" + name).status == 404:
            break
        time.sleep(0.3)
    ph.assert_error(ph.request("GET", "/v1/sessions/" + name), 404,
                    "not_found")
    _forget(name)
    metrics = ph.raw_request("GET", "/metrics").text
    line = [l for l in metrics.splitlines()
            if l.startswith('pyexec_sessions_ended_total{reason="idle"}')]
    assert line and int(line[0].split()[-1]) >= 1, line


def test_an_idle_timeout_past_the_setting_is_refused():
    ph.assert_invalid(_new("x-1", idle_timeout=100000), "idle_timeout")


def test_a_client_holds_at_most_its_sessions():
    # the second key's client: the first one's workspaces (a session's
    # cwd) are many by now, and PYEXEC_WORKSPACES_PER_CLIENT would answer
    k2 = ph.key2()
    names = ["c%d-%s" % (i, uuid.uuid4().hex[:8]) for i in range(5)]
    made = []
    for it in ph.request("GET", "/v1/sessions", api_key=k2).json["response"]:
        _delete(it["session_id"], api_key=k2)
    try:
        for n in names[:4]:
            resp = _new(n, api_key=k2)
            assert resp.status == 201, ph.show(resp)
            made.append(n)
        msg = ph.assert_error(_new(names[4], api_key=k2), 429, "rate_limited")
        assert "PYEXEC_SESSIONS_PER_CLIENT" in msg, msg
        # the first key's client is not counted with them
        resp = _new(names[4])
        assert resp.status == 201, ph.show(resp)
        _delete(names[4])
    finally:
        for n in made:
            _delete(n, api_key=k2)


def test_files_and_names_live_side_by_side(session):
    _ok(_call(session, "open('data.txt', 'w').write('hello')\nimport os\n"
                       "cwd = os.getcwd()"))
    assert _ok(_call(session, "cwd"))["value"] == "'/workspace'"
    # the one-shot route sees the same workspace
    ex = ph.assert_success(ph.execute({"code": "print(open('data.txt').read())",
                                       "session_id": session}))
    assert ex["stdout"] == "hello\n", ex
    assert _delete(session).status == 200
    # the workspace went with it
    resp = ph.request("DELETE", "/v1/workspace", body={"session_id": session})
    ph.assert_error(resp, 404, "not_found")


def test_delete_keep_files_keeps_the_workspace():
    name = "k-" + uuid.uuid4().hex[:10]
    assert _new(name).status == 201
    _ok(_call(name, "open('kept.txt', 'w').write('k')"))
    resp = _delete(name, query="?keep_files=1")
    assert resp.status == 200, ph.show(resp)
    assert resp.json["response"][0]["files_kept"] is True
    ph.assert_error(_call(name, "1"), 404, "not_found")
    ex = ph.assert_success(ph.execute({"code": "print(open('kept.txt').read())",
                                       "session_id": name}))
    assert ex["stdout"] == "k\n", ex
    resp = ph.request("DELETE", "/v1/workspace", body={"session_id": name})
    assert resp.status == 200, ph.show(resp)


def _host_view(session):
    """(host uid, net ns, pid ns) of the session's interpreter, from the
    host: the one process of its cgroup's run/ whose parent is its init."""
    ex = _ok(_call(session, "import os\nopen('/tmp/mark', 'w').write('m')\n"
                            "os.getpid()"))
    for path in glob.glob("/sys/fs/cgroup/memory/pyexec/*/sessions/s-*/run/"
                          "cgroup.procs"):
        for pid in open(path).read().split():
            try:
                uid = int([l for l in open("/proc/%s/status" % pid)
                           if l.startswith("Uid:")][0].split()[1])
                net = os.readlink("/proc/%s/ns/net" % pid)
                pidns = os.readlink("/proc/%s/ns/pid" % pid)
                tmp = os.path.exists("/proc/%s/root/tmp/mark" % pid)
            except (OSError, IndexError):
                continue
            if tmp:
                return uid, net, pidns, path
    pytest.fail("the session's interpreter was not found from the host")


def test_walls_its_own_uid_cgroup_and_namespaces(session, health_json):
    uid, net, pidns, cg = _host_view(session)
    ex = _ok(_call(session, "import os\n"
                            "st = open('/proc/self/status').read()\n"
                            "print(os.getuid(), os.getpid(), "
                            "st.split('CapEff:')[1].split()[0], "
                            "st.split('Seccomp:')[1].split()[0], "
                            "st.split('NoNewPrivs:')[1].split()[0], "
                            "os.uname().nodename)"))
    inside_uid, pid, caps, seccomp, nnp, host = ex["stdout"].split()
    assert caps == "0000000000000000" and seccomp == "2" and nnp == "1", ex
    assert host == "pyexec" and int(pid) == 2, ex
    assert int(inside_uid) >= 2000, ex
    # a one-shot run: another uid, another network namespace
    run = ph.assert_success(ph.execute({"code": "import os\nprint(os.getuid())"}))
    assert run["stdout"] == "1000\n", run
    # its host uid is of the sessions' range, which no slot's uids reach
    line = [json.loads(l)["message"] for l in ph.read_log_lines()
            if '"event":"session"' in l and "host uids" in l]
    assert line, "the master did not log the sessions' uid range"
    lo, hi = map(int, line[-1].rsplit("host uids ", 1)[1].split("-"))
    assert lo <= uid <= hi, (uid, lo, hi)
    assert hi - lo + 1 >= health_json["workers"]["configured"], (lo, hi)
    my_net = os.readlink("/proc/self/ns/net")
    assert net != my_net, net
    assert "/sessions/s-" in cg, cg


def test_sessions_do_not_see_each_other():
    a, b = "wa-" + uuid.uuid4().hex[:8], "wb-" + uuid.uuid4().hex[:8]
    assert _new(a).status == 201
    try:
        assert _new(b, api_key=ph.key2()).status == 201
        try:
            # a binds an abstract unix socket and keeps it
            _ok(_call(a, "import socket\ns = socket.socket(socket.AF_UNIX)\n"
                         "s.bind('\\0pyexec-wall')\ns.listen(1)"))
            probe = ("import socket, os\n"
                     "c = socket.socket(socket.AF_UNIX)\n"
                     "try:\n    c.connect('\\0pyexec-wall')\n    print('reached')\n"
                     "except OSError as e:\n    print('refused', e.errno)\n"
                     "print(sorted(int(p) for p in os.listdir('/proc') "
                     "if p.isdigit()))")
            ex = _ok(_call(b, probe, api_key=ph.key2()))
            assert ex["stdout"].startswith("refused"), ex
            # its own processes only: its init and itself
            assert set(json.loads(ex["stdout"].splitlines()[1])) <= {1, 2}, ex
            run = ph.assert_success(ph.execute({"code": probe}))
            assert run["stdout"].startswith("refused"), run
        finally:
            _delete(b, api_key=ph.key2())
    finally:
        _delete(a)


def test_metrics_and_health_count_sessions(session):
    _ok(_call(session, "1"))
    text = ph.raw_request("GET", "/metrics").text
    for name in ("pyexec_sessions{state=\"idle\"}",
                 "pyexec_sessions_created_total",
                 "pyexec_session_calls_total",
                 "pyexec_sessions_ended_total{reason=\"deleted\"}"):
        assert name in text, name
    idle = [l for l in text.splitlines()
            if l.startswith('pyexec_sessions{state="idle"}')]
    assert int(idle[0].split()[-1]) >= 1, idle
    h = ph.health().json
    assert h["sessions"]["live"] >= 1 and h["sessions"]["max"] >= 4, h


def test_the_log_names_the_session(session, run_dir):
    _ok(_call(session, "1"))
    lines = [json.loads(l) for l in ph.read_log_lines() if session in l]
    lines = [l for l in lines
             if l.get("event") == "request" and l.get("session") == session]
    assert any(l["route"] == "/v1/sessions/{session_id}/execute"
               for l in lines), lines[-3:]


def test_bad_paths_and_bodies():
    ph.assert_error(ph.request("POST", "/v1/sessions/a~b/execute",
                               body={"code": "1"}), 404, "not_found")
    ph.assert_error(ph.request("PUT", "/v1/sessions"), 405,
                    "method_not_allowed")
    ph.assert_invalid(_new("bad name"), "session_id")
    ph.assert_invalid(ph.request("POST", "/v1/sessions", body={"x": 1}),
                      "unknown field: x")
    ph.assert_error(_call("nope-" + uuid.uuid4().hex[:6], "1"), 404,
                    "not_found")


def test_fork_copies_names_files_and_reseeds(session):
    _ok(_call(session, "import random\nimport numpy as np\n"
                       "import pandas as pd\n"
                       "df = pd.DataFrame({'a': range(100000)})\n"
                       "class Box:\n"
                       "    def __init__(self, v):\n        self.v = v\n"
                       "    def twice(self):\n        return self.v * 2\n"
                       "b = Box(21)\n"
                       "def f(x):\n    return x + len(df)\n"
                       "shared = [1, 2]\nalias = shared\n"
                       "open('w.txt', 'w').write('ws')\n"
                       "fh = open('w.txt')\n"
                       "rng = np.random.default_rng(7)"))
    copy = "f-" + uuid.uuid4().hex[:10]
    resp = ph.request("POST", "/v1/sessions/%s/fork" % session,
                      body={"session_id": copy})
    assert resp.status == 201, ph.show(resp)
    try:
        sess, fork = resp.json["response"]
        assert sess["type"] == "session" and sess["session_id"] == copy, sess
        assert fork["type"] == "fork" and fork["from"] == session, fork
        assert fork["files"] == 1 and fork["not_copied"] == ["fh"], fork
        assert sess["calls"] == 0, sess         # a copy has run no call
        text = ph.raw_request("GET", "/metrics").text
        forks = [l for l in text.splitlines()
                 if l.startswith("pyexec_session_forks_total ")]
        assert forks and int(forks[0].split()[-1]) >= 1, forks
        probe = ("print(b.twice(), f(1), int(df.a.sum()), "
                 "open('w.txt').read(), alias is shared, "
                 "isinstance(b, Box), rng.integers(1000))\n"
                 "import random, numpy\n"
                 "print(random.random(), numpy.random.random())")
        ex = _ok(_call(copy, probe))
        mine = _ok(_call(session, probe))
        first, second = ex["stdout"].splitlines(), mine["stdout"].splitlines()
        assert first[0].split()[:6] == ["42", "100001", "4999950000", "ws",
                                        "True", "True"], ex
        # a generator object is copied with its state, as a fork copies it
        assert first[0].split()[6] == second[0].split()[6], (ex, mine)
        # the global generators are reseeded in the copy
        assert first[1] != second[1], (ex, mine)
        # and the two go their own ways
        _ok(_call(copy, "shared.append(3)\nopen('w.txt', 'w').write('copy')"))
        assert _ok(_call(session, "shared"))["value"] == "[1, 2]"
        ex = _ok(_call(session, "open('w.txt').read()"))
        assert ex["value"] == "'ws'", ex
    finally:
        _delete(copy)


def test_fork_of_another_clients_session_is_404(session):
    resp = ph.request("POST", "/v1/sessions/%s/fork" % session, body={},
                      api_key=ph.key2())
    ph.assert_error(resp, 404, "not_found")


def test_a_fork_has_its_own_uid_and_namespaces(session):
    resp = ph.request("POST", "/v1/sessions/%s/fork" % session, body={})
    assert resp.status == 201, ph.show(resp)
    copy = resp.json["response"][0]["session_id"]
    try:
        probe = ("import os\nprint(os.getuid(), os.readlink('/proc/self/ns/net'), "
                 "os.readlink('/proc/self/ns/pid'))")
        a = _ok(_call(session, probe))["stdout"].split()
        b = _ok(_call(copy, probe))["stdout"].split()
        assert a[0] != b[0] and a[1] != b[1] and a[2] != b[2], (a, b)
    finally:
        _delete(copy)
        _forget(copy)


def test_input_files_and_figures_in_a_call(session):
    import base64
    resp = _call(session, "import matplotlib.pyplot as plt\n"
                          "print(open('in.txt').read())\n"
                          "plt.plot([1, 2, 3])\nplt.show()\n"
                          "open('outputs/r.csv', 'w').write('a,b\\n1,2\\n')",
                 files=[{"name": "in.txt",
                         "content": base64.b64encode(b"hello").decode()}])
    ex = _ok(resp)
    assert ex["outcome"] == "completed" and ex["stdout"] == "hello\n", ex
    kinds = [it["type"] for it in resp.json["response"]]
    assert "image" in kinds, kinds
    files = [it for it in resp.json["response"] if it["type"] == "file"]
    assert [f["name"] for f in files] == ["r.csv"], files
    # the input file stays in the workspace, for the next call
    assert _ok(_call(session, "open('in.txt').read()"))["value"] == "'hello'"
    # and only what a call made is its artifact
    resp = _call(session, "print(1)")
    assert [it["type"] for it in resp.json["response"]
            if it["type"] in ("file", "image")] == [], ph.show(resp)



@pytest.mark.slow
def test_age_the_hosts_limit_and_the_wait_on_a_private_stack():
    """On a stack of its own (small limits): a session older than
    PYEXEC_SESSION_MAX_AGE is ended even while it is used; the host's
    PYEXEC_SESSIONS_MAX answers 507; a call that finds its session in
    another call waits PYEXEC_WORKSPACE_WAIT, then 409 session_busy."""
    import private_stack as private
    listen, key, instance = "127.0.0.1:18193", "sessions-private-key", "sessage"
    env, run_dir, _ = private.up({
        "PYEXEC_LISTEN": listen, "PYEXEC_API_KEYS": key,
        "PYEXEC_INSTANCE": instance, "PYEXEC_UID_BASE": "63300",
        "PYEXEC_WORKERS": "2", "PYEXEC_SESSIONS_MAX": "2",
        "PYEXEC_SESSION_MAX_AGE": "4", "PYEXEC_WORKSPACE_WAIT": "1",
        "PYEXEC_KEY_RATE": "1000", "PYEXEC_KEY_BURST": "1000",
        "PYEXEC_ADDR_RATE": "1000", "PYEXEC_ADDR_BURST": "1000"},
        "pyexec-sessions-")

    def req(method, path, body=None, timeout=60):
        return private.request(listen, method, path, body, key=key,
                               timeout=timeout)

    try:
        deadline = time.monotonic() + 60
        while True:                     # the data zygotes import first
            st, j, _ = req("POST", "/v1/sessions", {"session_id": "a1"})
            if st == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert st == 201, (st, j)
        st, j, _ = req("POST", "/v1/sessions", {"session_id": "a2"})
        assert st == 201, (st, j)
        st, j, _ = req("POST", "/v1/sessions", {"session_id": "a3"})
        assert st == 507, (st, j)
        assert "PYEXEC_SESSIONS_MAX" in j["response"][0]["message"], j
        # the wait, then 409
        out = {}
        th = threading.Thread(target=lambda: out.update(r=req(
            "POST", "/v1/sessions/a1/execute",
            {"code": "import time\ntime.sleep(2.5)", "timeout": 5})))
        th.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        st, j, h = req("POST", "/v1/sessions/a1/execute", {"code": "1"})
        waited = time.monotonic() - t0
        th.join()
        assert st == 409 and j["response"][0]["code"] == "session_busy", (st, j)
        assert h.get("retry-after") == "1", h
        assert waited >= 0.9, waited       # it waited before it said so
        assert out["r"][0] == 200, out
        # a double-forked daemon of a2's: it beats while a2's calls run
        st, j, _ = req("POST", "/v1/sessions/a2/execute", {"code":
            "import os, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        while True:\n"
            "            open('/workspace/hb', 'w').write(repr(time.time()))\n"
            "            time.sleep(0.05)\n"
            "    os._exit(0)\n"
            "time.sleep(0.3)\n"
            "a = open('/workspace/hb').read(); time.sleep(0.3)\n"
            "print(a != open('/workspace/hb').read())"})
        assert st == 200, (st, j)
        assert [i for i in j["response"] if i["type"] == "execution"][0][
            "stdout"] == "True\n", j
        # the age: used every half second, ended at 4 s all the same
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st, j, _ = req("POST", "/v1/sessions/a2/execute", {"code": "1"})
            if st == 404:
                break
            assert st == 200, (st, j)
            time.sleep(0.5)
        assert st == 404, (st, j)
        st, text, _ = private.request(listen, "GET", "/metrics", key=key,
                                      text=True)
        line = [l for l in text.splitlines()
                if l.startswith('pyexec_sessions_ended_total{reason="max_age"}')]
        assert line and int(line[0].split()[-1]) >= 1, line
        # the daemon did not outlive a2's expiry, frozen or not: no
        # session's cgroup holds a process, and its heartbeat is still
        top = "/sys/fs/cgroup/pids/pyexec/%s/sessions" % instance
        left = []
        for d, _, files in os.walk(top):
            if "cgroup.procs" in files:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    left += [(d, p) for p in f.read().split()]
        deadline = time.monotonic() + 5     # a1 ends at its age too
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = [(d, p) for d, p in left if os.path.exists("/proc/" + p)]
        assert not left, left
        beat = "print(open('hb').read())"
        st, j, _ = req("POST", "/v1/execute", {"code": beat, "session_id": "a2"})
        assert st == 200, (st, j)
        first = [i for i in j["response"] if i["type"] == "execution"][0]["stdout"]
        time.sleep(0.5)
        st, j, _ = req("POST", "/v1/execute", {"code": beat, "session_id": "a2"})
        assert [i for i in j["response"] if i["type"] == "execution"][0][
            "stdout"] == first, (first, j)
    finally:
        private.down(env, run_dir)
        private.rm_cgroups(instance)
