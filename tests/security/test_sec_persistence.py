"""Hostile programs that try to outlive their request or leave something
for the next one: daemons, siblings, files, SysV IPC; and programs that
attack the slot's pid 1 (the launcher).

"Next request" checks go to every slot: sec_helpers.probe_every_slot sends
rounds of concurrent probes (more requests than workers) until /health
shows a new run in every slot."""

import time
import textwrap

import pytest

import sec_helpers as sh

show = sh.show


def _code(s):
    return textwrap.dedent(s).lstrip("\n")


# A loop that a daemon runs: heartbeat files in /tmp and /dev/shm every
# 0.1 s, marker files on every host path it can reach, and connection
# attempts to the service's port.
_DAEMON_LOOP = r'''
def _daemon_loop(tok, port):
    import os, signal, socket, time
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(s, signal.SIG_IGN)
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, b"hb-" + tok[:8].encode(), 0, 0, 0)
    except Exception:
        pass
    while True:
        for p in ("/tmp/hb-" + tok, "/dev/shm/hb-" + tok):
            try:
                with open(p, "w") as f:
                    f.write(repr(time.time()))
            except OSError:
                pass
        try:
            _pyexec_try_markers()
        except Exception:
            pass
        for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                c = socket.socket(fam, socket.SOCK_STREAM)
                c.settimeout(0.05)
                c.connect((host, port))
                with open("/tmp/pyexec-escape-%s-net" % tok, "w") as f:
                    f.write("connected")
                c.close()
            except OSError:
                pass
        time.sleep(0.1)
'''

_HB_PROBE = """
report["hb_tmp"] = _os.path.exists("/tmp/hb-%(tok)s")
report["hb_shm"] = _os.path.exists("/dev/shm/hb-%(tok)s")
"""


def _assert_no_daemon_in_any_slot(token):
    exs = sh.probe_every_slot(sh.slot_probe_code(_HB_PROBE % {"tok": token}))
    sh.assert_slots_pristine(exs, names=("hb_tmp", "hb_shm"))


def test_double_fork_setsid_daemon(token, nginx_port):
    code = sh.marker_writer_source(token) + _DAEMON_LOOP + _code("""
        import json, os, time
        TOK, PORT = %r, %d
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            # the daemon keeps stdout and stderr open on purpose
            os.close(r)
            os.write(w, b"%%d" %% os.getpid())
            os.close(w)
            _daemon_loop(TOK, PORT)
        os.close(w)
        dpid = int(os.read(r, 32) or b"0")
        os.waitpid(pid, 0)
        time.sleep(0.5)
        print("RESULT " + json.dumps({
            "daemon": dpid,
            "beating": os.path.exists("/tmp/hb-" + TOK),
        }), flush=True)
        """) % (token, nginx_port)
    start = time.monotonic()
    ex = sh.run(code, timeout=5)
    elapsed = time.monotonic() - start
    try:
        assert ex["outcome"] == "completed", show(ex)
        r = sh.result(ex)
        assert r is not None and r["daemon"] > 0, show(ex)
        assert r["beating"] is True, (
            "the daemon did not even run during the request: " + show(ex))
        assert elapsed < 4.5, (
            "the request took %.1f s: the daemon held it (timeout 5)" % elapsed)
        time.sleep(0.5)
        _assert_no_daemon_in_any_slot(token)
    finally:
        sh.assert_host_clean(token)


@pytest.mark.slow
def test_clone_parent_sibling_daemon(token, nginx_port):
    # clone(CLONE_PARENT) makes the daemon a child of pid 1 (a sibling of
    # the run) instead of the run's child.
    code = sh.marker_writer_source(token) + _DAEMON_LOOP + _code("""
        import ctypes, json, os, time
        TOK, PORT = %r, %d
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        CLONE_PARENT, SIGCHLD = 0x00008000, 17
        L = ctypes.c_long
        pid = libc.syscall(L(56), L(CLONE_PARENT | SIGCHLD), L(0), L(0), L(0),
                           L(0))
        if pid == 0:
            try:
                os.setsid()
            except OSError:
                pass
            _daemon_loop(TOK, PORT)
        err = ctypes.get_errno() if pid < 0 else 0
        time.sleep(0.5)
        print("RESULT " + json.dumps({"pid": pid, "errno": err}), flush=True)
        """) % (token, nginx_port)
    ex = sh.run(code, timeout=5)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert sh.result(ex) is not None, show(ex)
        time.sleep(0.5)
        _assert_no_daemon_in_any_slot(token)
    finally:
        sh.assert_host_clean(token)


def test_files_left_for_next_request(token):
    code = _code("""
        import json, os, socket
        TOK = %r
        made = []
        def mark(p):
            made.append(p)
        for d in ("/tmp", "/dev/shm"):
            for name in ("left-" + TOK, ".hidden-" + TOK):
                with open(os.path.join(d, name), "w") as f:
                    f.write("for the next user")
                mark(os.path.join(d, name))
            sub = os.path.join(d, "tree-" + TOK)
            p = sub
            for i in range(60):
                p = os.path.join(p, "d%%d" %% i)
            os.makedirs(p)
            with open(os.path.join(p, "deep"), "w") as f:
                f.write("x")
            mark(p)
            locked = os.path.join(d, "locked-" + TOK)
            os.mkdir(locked)
            with open(os.path.join(locked, "inside"), "w") as f:
                f.write("x")
            os.chmod(os.path.join(locked, "inside"), 0)
            os.chmod(locked, 0)
            mark(locked)
            try:        # refused since workspaces (mknod of a FIFO)
                os.mkfifo(os.path.join(d, "fifo-" + TOK))
                mark(os.path.join(d, "fifo-" + TOK))
            except PermissionError:
                pass
            os.symlink("/proc/self/root", os.path.join(d, "link-" + TOK))
            mark(os.path.join(d, "link-" + TOK))
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(os.path.join(d, "sock-" + TOK))
                s.listen(1)
                mark(os.path.join(d, "sock-" + TOK))
            except OSError:
                pass
        with open("left-in-cwd-" + TOK, "w") as f:
            f.write("x")
        mark(os.path.abspath("left-in-cwd-" + TOK))
        print("RESULT " + json.dumps({"made": made}), flush=True)
        """) % token
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "completed", show(ex)
        r = sh.result(ex)
        assert r is not None and len(r["made"]) >= 10, show(ex)
        exs = sh.probe_every_slot(sh.slot_probe_code())
        sh.assert_slots_pristine(exs)
    finally:
        sh.assert_host_clean(token)


_IPC_PROBE = """
for _k in ("shm", "msg", "sem"):
    try:
        with open("/proc/sysvipc/" + _k) as _f:
            report["sysv_" + _k] = [_l.split() for _l in _f.read().splitlines()[1:]]
    except OSError as _e:
        report["sysv_" + _k] = []
"""


def test_sysv_ipc_left_for_next_request(token):
    # SysV IPC objects outlive their creator: a run must not be able to hand
    # one to the next run of its slot.
    code = _code("""
        import ctypes, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        KEY, IPC_CREAT = 0x50595845, 0o1000
        out = {}
        shmid = libc.shmget(KEY, 1 << 20, IPC_CREAT | 0o666)
        out["shmget"] = shmid if shmid >= 0 else -ctypes.get_errno()
        if shmid >= 0:
            libc.shmat.restype = ctypes.c_void_p
            addr = libc.shmat(shmid, None, 0)
            if addr not in (None, ctypes.c_void_p(-1).value):
                ctypes.memmove(addr, b"secret for the next run", 23)
        msqid = libc.msgget(KEY, IPC_CREAT | 0o666)
        out["msgget"] = msqid if msqid >= 0 else -ctypes.get_errno()
        semid = libc.semget(KEY, 4, IPC_CREAT | 0o666)
        out["semget"] = semid if semid >= 0 else -ctypes.get_errno()
        print("RESULT " + json.dumps(out), flush=True)
        """)
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert sh.result(ex) is not None, show(ex)
        exs = sh.probe_every_slot(sh.slot_probe_code(_IPC_PROBE))
        for r in sh.probe_results(exs):
            for k in ("sysv_shm", "sysv_msg", "sysv_sem"):
                assert r[k] == [], (
                    "a later run sees SysV IPC objects (%s): %s" % (k, show(r)))
    finally:
        sh.assert_host_clean(token)


# -------------------------------------------------- attacks on pid 1

def _assert_launchers_survived_or_remade(before):
    after = sh.slot_marks()
    assert set(after) == set(before), (before, after)
    for i, (lpid, _, _, restarts) in before.items():
        alpid, _, _, arestarts = after[i]
        assert alpid == lpid or arestarts != restarts, (
            "slot %d: launcher %s replaced by %s without a restart count"
            % (i, lpid, alpid))
    # and every slot still runs code
    exs = sh.probe_every_slot(sh.slot_probe_code())
    sh.assert_slots_pristine(exs)


def test_kill_parent(token):
    before = sh.slot_marks()
    code = _code("""
        import json, os, signal
        out = {"ppid": os.getppid()}
        for name, pid, sig in (("ppid_kill", os.getppid(), signal.SIGKILL),
                               ("pid1_kill", 1, signal.SIGKILL),
                               ("pid1_term", 1, signal.SIGTERM),
                               ("pid1_stop", 1, signal.SIGSTOP)):
            try:
                os.kill(pid, sig)
                out[name] = "ok"
            except OSError as e:
                out[name] = type(e).__name__
        print("RESULT " + json.dumps(out), flush=True)
        """)
    resp = sh.ph.execute({"code": code, "timeout": 5}, timeout=30)
    try:
        ex = sh.ph.assert_success(resp)
        r = sh.result(ex)
        if r is not None:
            for k in ("ppid_kill", "pid1_kill", "pid1_term", "pid1_stop"):
                assert r[k] == "PermissionError", (
                    "the run could signal its pid 1 (%s): %s" % (k, show(ex)))
        _assert_launchers_survived_or_remade(before)
    finally:
        sh.assert_host_clean(token)


def test_kill_minus_one(token):
    before = sh.slot_marks()
    code = _code("""
        import json, os, signal, time
        kids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            kids.append(pid)
        try:
            os.kill(-1, signal.SIGKILL)
            res = "ok"
        except OSError as e:
            res = type(e).__name__
        killed = 0
        for pid in kids:
            _, st = os.waitpid(pid, 0)
            if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL:
                killed += 1
        print("RESULT " + json.dumps({"kill": res, "killed": killed}),
              flush=True)
        """)
    resp = sh.ph.execute({"code": code, "timeout": 5}, timeout=30)
    try:
        ex = sh.ph.assert_success(resp)
        assert ex["outcome"] in ("completed", "signal"), show(ex)
        _assert_launchers_survived_or_remade(before)
    finally:
        sh.assert_host_clean(token)


def test_killpg_own_group(token):
    code = "import os, signal\nos.killpg(0, signal.SIGKILL)\nprint('alive')\n"
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "signal", show(ex)
        assert ex["signal"] == "SIGKILL", show(ex)
        assert ex["limit"] is None, show(ex)
        assert "alive" not in ex["stdout"], show(ex)
    finally:
        sh.assert_host_clean(token)


def test_kill_every_pid(token):
    before = sh.slot_marks()
    code = _code("""
        import json, os, signal
        me, hit = os.getpid(), []
        for pid in range(1, 65536):
            if pid == me:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                hit.append(pid)
            except OSError:
                pass
        print("RESULT " + json.dumps({"killed": hit}), flush=True)
        """)
    resp = sh.ph.execute({"code": code, "timeout": 10}, timeout=40)
    try:
        ex = sh.ph.assert_success(resp)
        assert ex["outcome"] == "completed", show(ex)
        r = sh.result(ex)
        assert r is not None and r["killed"] == [], (
            "the run could signal other processes: " + show(ex))
        _assert_launchers_survived_or_remade(before)
    finally:
        sh.assert_host_clean(token)
