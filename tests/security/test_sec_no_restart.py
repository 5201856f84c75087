"""No request can restart a slot (issue 24, items 5 and 6).

Whatever a request sends and whatever its run does, no worker, slot,
launcher, zygote, keeper, front or store is made again: a failure the run
caused is the client's (an outcome, or a 4xx envelope), never the
service's.  Each
poison below is one program the security corpus knows (the tmpfs and the
workspace root made unusable, both tmpfs and the workspace filled, every
fd closed or overwritten, signals to everything in sight, rlimit games,
bombs, floods, timeouts, odd exits, umask, a deleted cwd, unshare), sent
through the plain route and, where it matters, through a workspace (the
same workspace's next request must still run), then requests to every
slot.  The restart counters of /metrics and the worker and launcher pids
of /health (with a key) must not move, and a normal request answers 200.
The whole file runs warm and again cold (PYEXEC_WARM=0: scripts/dev
test's cold pass)."""

import concurrent.futures
import http.client
import signal
import textwrap
import time
import uuid

import pytest

import pyexec_http as ph
import sec_helpers as sh
from test_sec_hardening import TINY_WRITER

show = sh.show

# Every restart the service counts: a poison moves none of them.
RESTART_COUNTERS = ("pyexec_worker_restarts_total",
                    "pyexec_launcher_restarts_total",
                    "pyexec_slot_restarts_total",
                    "pyexec_zygote_restarts_total",
                    "pyexec_keeper_restarts_total",
                    "pyexec_front_restarts_total",
                    "pyexec_store_restarts_total")


def _code(s):
    return textwrap.dedent(s).lstrip("\n")


# ------------------------------------------------------------ the marks

def _metrics():
    host, port = ph.host_port()
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode()
        assert r.status == 200, body[:500]
    finally:
        conn.close()
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def _marks():
    """The restart counters and, per slot, its worker's and launcher's
    pids and its restart count, once the service is ready."""
    j, resp = sh.health_json(within=20)
    assert j is not None and ph.healthy_and_ready(resp), show(resp)
    m = _metrics()
    missing = [c for c in RESTART_COUNTERS if c not in m]
    assert not missing, "no such counter in /metrics: %s" % missing
    return ({c: m[c] for c in RESTART_COUNTERS},
            {s["id"]: (s["worker_pid"], s["launcher_pid"], s["restarts"])
             for s in j["slots"]})


def _assert_unmoved(before, what):
    # A worker that exits does so after its answer: give the master the
    # moment it takes to notice and count it.
    time.sleep(0.5)
    after = _marks()
    assert after == before, (
        "%s restarted something:\n  before %s\n  after  %s"
        % (what, show(before), show(after)))


# ------------------------------------------------------------ requests

def _session():
    return "norestart-" + uuid.uuid4().hex[:10]


def _post(code, session=None, timeout=5, **fields):
    payload = {"code": code, "timeout": timeout}
    if session is not None:
        payload["session_id"] = session
    payload.update(fields)
    return ph.execute(payload, timeout=float(timeout) + 40)


def _assert_answered(resp, what):
    """A poison's own answer: the success envelope (the run's outcome is
    the poison's business), never a 5xx."""
    assert resp.status == 200, "%s: %s" % (what, show(resp))
    return ph.assert_success(resp)


def _every_slot(workers):
    """A normal request for each worker at once: each answers 200 with
    its output."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futs = [pool.submit(_post, "print('alive', %d)" % i)
                for i in range(workers)]
        for i, f in enumerate(futs):
            ex = _assert_answered(f.result(), "a normal request")
            assert ex["outcome"] == "completed", show(ex)
            assert ex["stdout"] == "alive %d\n" % i, show(ex)


def _assert_workspace_usable(session):
    """The poisoned workspace's next request runs there and finds its root
    as creation left it: uid 1000's, 0755, no ACL, no extended attribute,
    none of the inode flags an owner may set (sync, dirsync, noatime,
    nodump, topdir), and a file it makes is its to read."""
    resp = _post(_code("""
        import array, fcntl, os, stat
        st = os.stat('/workspace')
        fd = os.open('/workspace', os.O_RDONLY | os.O_DIRECTORY)
        flags = array.array('l', [0])
        fcntl.ioctl(fd, 0x80086601, flags)          # FS_IOC_GETFLAGS
        print(os.getcwd(), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid,
              sorted(os.listxattr('/workspace')), hex(flags[0] & 0x300c8))
        open('after.txt', 'w').write('ok')
        print(open('after.txt').read())
        """), session)
    ex = _assert_answered(resp, "the workspace's next request")
    assert ex["outcome"] == "completed", show(ex)
    assert ex["stdout"] == "/workspace 0o755 1000 1000 [] 0x0\nok\n", show(ex)


def _delete(session):
    for _ in range(20):
        r = ph.request("DELETE", "/v1/workspace", body={"session_id": session})
        if r.status != 409:             # the lease of a slot being remade
            break
        time.sleep(0.5)
    assert r.status in (200, 404), show(r)


# ------------------------------------------------------------ poisons

_ACL = r'''
import struct
def _acl(entries):
    # the kernel's posix_acl xattr: version 2, then (tag, perm, id)
    return struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i)
                                           for t, p, i in entries)
_NONE = _acl([(0x01, 0, 0xffffffff), (0x04, 0, 0xffffffff),
              (0x20, 0, 0xffffffff)])
'''

# name -> (code, extra fields, where: "both" | "plain" | "ws")
POISONS = {
    # -- item 5: the workspace root (and the run's cwd) made unusable
    "chmod_workspace_0": ("import os\nos.chmod('/workspace', 0)\n"
                          "print('poisoned')\n", {}, "ws"),
    "chmod_workspace_0600": ("import os\nos.chmod('/workspace', 0o600)\n"
                             "print('poisoned')\n", {}, "ws"),
    "chmod_cwd_0": ("import os\nos.chmod('.', 0)\nprint('poisoned')\n", {},
                    "ws"),
    "chmod_workspace_0_sticky_setgid": (
        "import os\nos.chmod('/workspace', 0o7000)\n"
        "os.chown('/workspace', os.getuid(), os.getgid())\n"
        "print('poisoned')\n", {}, "ws"),
    "workspace_acl_xattr_flags": (_ACL + _code("""
        import fcntl, os, struct
        fd = os.open('/workspace', os.O_RDONLY | os.O_DIRECTORY)
        # FS_IOC_SETFLAGS: sync, dirsync, noatime, nodump, topdir
        fcntl.ioctl(fd, 0x40086602, struct.pack('l', 0x8 | 0x10000 |
                                               0x80 | 0x40 | 0x20000))
        os.utime(fd, (0, 0))
        # user.* needs write access: before the ACLs that take it away
        for name, value in (('user.poison', b'x' * 1000),
                            ('system.posix_acl_default', _NONE),
                            ('system.posix_acl_access', _NONE)):
            os.setxattr(fd, name, value)
        assert os.stat(fd).st_mode & 0o777 == 0
        print('poisoned')
        """), {}, "ws"),
    "workspace_outputs_unusable": (_code("""
        import os, socket
        os.makedirs('outputs', exist_ok=True)
        open('outputs/x.txt', 'w').write('x')
        os.chmod('outputs/x.txt', 0)
        os.mkdir('outputs/sub', 0)
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind('outputs/sock')
        except OSError as e:
            print('bind', e)
        os.chmod('outputs', 0)
        """), {"artifacts": True}, "ws"),
    "workspace_outputs_not_a_directory": (_code("""
        import os, shutil, socket
        shutil.rmtree('outputs', ignore_errors=True)
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind('outputs')
        except OSError as e:
            open('outputs', 'w').write('not a directory')
        """), {"artifacts": True}, "ws"),
    "workspace_cannot_be_removed": (_code("""
        import os
        for f in (lambda: os.rmdir('/workspace'),
                  lambda: os.rename('/workspace', '/tmp/w'),
                  lambda: os.chdir('/') or os.rmdir('/workspace')):
            try:
                f()
            except OSError as e:
                print(e.errno)
        """), {}, "ws"),
    "sync_storm": (_code("""
        import os
        chunk = os.urandom(1 << 20)
        for k in range(6):
            if os.fork() == 0:
                while True:
                    try:
                        with open('f%d' % k, 'wb') as f:
                            for i in range(8):
                                f.write(chunk)
                                os.fsync(f.fileno())
                    except OSError:
                        pass
                    os.sync()
        while True:
            os.sync()
        """), {"timeout": 3, "memory_limit": 300}, "ws"),
    "fill_workspace": (_code("""
        import os
        chunk = b'w' * (1 << 20)
        try:
            with open('big', 'wb') as f:
                while True:
                    f.write(chunk)
        except OSError as e:
            print('bytes', e.errno)
        try:
            for i in range(100000):
                os.close(os.open('i%d' % i, os.O_CREAT | os.O_WRONLY, 0))
        except OSError as e:
            print('inodes', e.errno)
        """), {"timeout": 20, "memory_limit": 300}, "ws"),
    # -- the run's own file systems
    "chmod_tmpfs_0": (_code("""
        import os
        for d in ('/tmp', '/dev/shm', '/tmp/outputs'):
            try:
                os.chmod(d, 0)
            except OSError as e:
                print(d, e.errno)
        """), {"artifacts": True}, "both"),
    "chmod_tmpfs_0600": (_code("""
        import os
        for d in ('/tmp', '/dev/shm'):
            os.chown(d, os.getuid(), os.getgid())
            os.chmod(d, 0o600)
        """), {"artifacts": True}, "both"),
    "fill_tmpfs": (_code("""
        import os
        chunk = b't' * (1 << 20)
        for d in ('/tmp', '/dev/shm'):
            try:
                with open(d + '/fill', 'wb') as f:
                    while True:
                        f.write(chunk)
            except OSError as e:
                print(d, e.errno)
            try:
                for i in range(100000):
                    os.close(os.open('%s/i%d' % (d, i), os.O_CREAT | os.O_WRONLY, 0))
            except OSError as e:
                print(d, 'inodes', e.errno)
        """), {"timeout": 20, "memory_limit": 400, "artifacts": True}, "both"),
    "umask_0777": ("import os\nos.umask(0o777)\nopen('u', 'w').write('u')\n",
                   {"artifacts": True}, "both"),
    "delete_cwd": (_code("""
        import os
        os.mkdir('/tmp/gone')
        os.chdir('/tmp/gone')
        os.rmdir('/tmp/gone')
        os.chdir('/')
        """), {}, "both"),
    # -- file descriptors
    "close_every_fd": ("import os\nos.closerange(0, 1024)\n", {}, "both"),
    "close_every_fd_then_exit": ("import os\nos.closerange(0, 1024)\n"
                                 "os._exit(0)\n", {}, "both"),
    "dup2_over_every_fd": (_code("""
        import os
        r, w = os.pipe()
        for fd in range(1024):
            if fd not in (r, w):
                try:
                    os.dup2(w if fd % 2 else r, fd)
                except OSError:
                    pass
        """), {}, "both"),
    "fds_left_open_in_a_child": (_code("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            for fd in range(3, 1024):
                try:
                    os.dup(fd)
                except OSError:
                    pass
            time.sleep(60)
        print('parent ends')
        """), {}, "both"),
    "report_pipe_garbage_then_closed": (_code("""
        import os
        rep = os.sysconf('SC_OPEN_MAX') - 1
        os.write(rep, b'\\xff{"exception": ' * 1000)
        os.close(rep)
        """), {}, "both"),
    # -- signals
    "kill_minus_one": ("import os, signal\nos.kill(-1, signal.SIGKILL)\n",
                       {}, "both"),
    "signal_everything_in_sight": (_code("""
        import os, signal
        for pid in [1, os.getppid()] + list(range(2, 400)):
            for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP,
                        signal.SIGSEGV, signal.SIGCHLD, signal.SIGPIPE):
                if pid == os.getpid():
                    continue
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        os.killpg(0, signal.SIGCONT)
        """), {}, "both"),
    "sigstop_itself": ("import os, signal\nos.kill(os.getpid(), "
                       "signal.SIGSTOP)\n", {"timeout": 2}, "both"),
    "block_every_signal": (_code("""
        import signal, time
        for s in signal.valid_signals():
            try:
                signal.signal(s, signal.SIG_IGN)
            except (OSError, ValueError, RuntimeError):
                pass
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        while True:
            time.sleep(1)
        """), {"timeout": 2}, "both"),
    # -- limits
    "rlimits_down_to_zero": (_code("""
        import resource
        for r in ('RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_FSIZE',
                  'RLIMIT_CORE', 'RLIMIT_STACK', 'RLIMIT_DATA', 'RLIMIT_AS'):
            try:
                resource.setrlimit(getattr(resource, r), (0, 0))
            except (ValueError, OSError) as e:
                pass
        """), {}, "both"),
    "rlimits_up": (_code("""
        import resource
        for r in ('RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_FSIZE',
                  'RLIMIT_CORE', 'RLIMIT_AS', 'RLIMIT_MEMLOCK'):
            try:
                resource.setrlimit(getattr(resource, r), (
                    resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            except (ValueError, OSError):
                pass
        print('done')
        """), {}, "both"),
    "rlimit_as_small": (_code("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 20, 1 << 20))
        x = 'y' * (10 << 20)
        """), {}, "both"),
    "fork_bomb": ("import os\nwhile True:\n    os.fork()\n",
                  {"timeout": 5, "memory_limit": 300}, "both"),
    "fork_bomb_retrying": (_code("""
        import os, time
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.001)
        """), {"timeout": 2}, "both"),
    "memory_bomb": ("x = []\nwhile True:\n    x.append(' ' * (1 << 20))\n",
                    {"memory_limit": 64}, "both"),
    "memory_bomb_in_tmpfs": (_code("""
        chunk = b'm' * (1 << 20)
        with open('/dev/shm/m', 'wb') as f:
            while True:
                f.write(chunk)
        """), {"memory_limit": 32}, "both"),
    # memory held outside any process, then only a program of a few
    # pages: every process of the run is smaller than any of the slot's
    # (the keeper was the OOM killer's choice while it shared run/)
    "oom_with_tiny_processes": (_code("""
        import base64, os
        chunk = b'x' * (1 << 20)
        with open('/dev/shm/a', 'wb') as f:
            for _ in range(50):
                f.write(chunk)
        del chunk
        fd = os.memfd_create('tiny', 0)
        os.write(fd, base64.b64decode(%r))
        os.execv('/proc/self/fd/' + str(fd), ['tiny'])
        """) % TINY_WRITER, {"timeout": 10, "memory_limit": 64}, "both"),
    "output_flood": ("import sys\nb = 'o' * 65536\nwhile True:\n"
                     "    sys.stdout.write(b)\n", {"timeout": 3}, "both"),
    "timeout": ("while True:\n    pass\n", {"timeout": 1}, "both"),
    "deep_recursion": (_code("""
        import sys
        sys.setrecursionlimit(10**6)
        def f(n):
            return f.__call__(n + 1)
        f(0)
        """), {}, "both"),
    "unshare_and_mount": (_code("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        for flags in (0x10000000, 0x20000000, 0x00020000, 0x40000000,
                      0x08000000, 0x04000000, 0x02000000):
            libc.unshare(flags)
        libc.mount(b'none', b'/workspace', b'tmpfs', 0, None)
        libc.umount2(b'/workspace', 2)
        """), {}, "both"),
}

# os._exit with odd codes, and the run killing itself with each signal.
EXIT_CODES = (1, 2, 126, 127, 128, 137, 255, -1, 256, (1 << 31) - 1)
SIGNALS = [int(s) for s in sorted(signal.valid_signals())
           if int(s) not in (signal.SIGSTOP,)]


def _cases():
    for name, (_, _, where) in sorted(POISONS.items()):
        for w in (("plain", "ws") if where == "both" else (where,)):
            yield pytest.param(name, w, id="%s-%s" % (name, w))


# ------------------------------------------------------------ the tests

@pytest.mark.slow
@pytest.mark.parametrize("name,where", list(_cases()))
def test_no_poison_restarts_anything(name, where, workers, token):
    code, fields, _ = POISONS[name]
    session = _session() if where == "ws" else None
    before = _marks()
    try:
        ex = _assert_answered(_post(code, session, **dict({"timeout": 5},
                                                           **fields)), name)
        if "print('poisoned')" in code:     # it took: the test is real
            assert ex["stdout"].endswith("poisoned\n"), show(ex)
        if session is not None:
            _assert_workspace_usable(session)
            # twice: a poison that only bites at the next attach bites here
            _assert_workspace_usable(session)
        _every_slot(workers)
        _assert_unmoved(before, name)
    finally:
        if session is not None:
            _delete(session)
    sh.assert_host_clean(token)


@pytest.mark.slow
def test_odd_exit_codes_and_every_signal_restart_nothing(workers, token):
    before = _marks()
    for code in EXIT_CODES:
        ex = _assert_answered(_post("import os\nos._exit(%d)\n" % code),
                              "os._exit(%d)" % code)
        assert ex["exit_code"] == code & 0xff, show(ex)
    for sig in SIGNALS:
        ex = _assert_answered(_post(
            "import os, signal\ntry:\n    signal.signal(%d, signal.SIG_DFL)\n"
            "except OSError:\n    pass\nos.kill(os.getpid(), %d)\n"
            "import time\ntime.sleep(3)\n" % (sig, sig), timeout=1),
            "kill(getpid(), %d)" % sig)
        assert ex["outcome"] in ("signal", "completed", "timeout"), show(ex)
    _every_slot(workers)
    _assert_unmoved(before, "odd exits and signals")
    sh.assert_host_clean(token)


def test_the_default_workspace_of_the_nvidia_route(workers, token):
    # POST /execute (seed 003) always runs in the client's workspace,
    # "default" without a session: chmod('.') there made every later
    # request of the client fail and its slot be made again.
    before = _marks()
    try:
        for code in ("import os\nos.chmod('.', 0)\nprint('poisoned')\n",
                     "import os\nos.chmod('.', 0o600)\nprint('poisoned')\n"):
            r = ph.request("POST", "/execute", body={
                "generated_code": code, "timeout": 10, "language": "python"})
            assert r.status == 200, show(r)
            assert r.json["process_status"] == "completed", show(r)
            for _ in range(2):
                r = ph.request("POST", "/execute", body={
                    "generated_code": "import os\nprint(os.getcwd())\n",
                    "timeout": 10, "language": "python"})
                assert r.status == 200, show(r)
                assert r.json["process_status"] == "completed", show(r)
                assert r.json["stdout"] == "/workspace\n", show(r)
        _every_slot(workers)
        _assert_unmoved(before, "chmod('.') in the default workspace")
    finally:
        _delete("default")
    sh.assert_host_clean(token)
