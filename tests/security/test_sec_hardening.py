"""The hardening round (issue 8): each test is the program that broke a wall
at the time of the review, and now must not.

Runs that poison what the next run finds (modes, times, inodes, pid
counters, page cache) are followed by probes sent to every slot
(sec_helpers.probe_every_slot)."""

import errno
import os
import signal
import stat
import subprocess
import textwrap
import time

import pytest

import pyexec_http as ph
import sec_helpers as sh

show = sh.show

# The report pipe: the runner moves it to the highest fd the run may have.
REPORT_FD = "os.sysconf('SC_OPEN_MAX') - 1"


def _code(s):
    return textwrap.dedent(s).lstrip("\n")


# ---------------------------------------------------------- 1: OOM killer

# A 392-byte static x86-64 program (no libc, so almost no RSS): open
# /tmp/x, then write 4 KiB to it forever.  Made from
#   lea path(%rip),%rdi; mov $0x241,%esi; mov $0x1a4,%edx; mov $2,%eax;
#   syscall; mov %rax,%r12; 1: mov %r12,%rdi; lea _start(%rip),%rsi;
#   mov $4096,%edx; mov $1,%eax; syscall; jmp 1b; path: .asciz "/tmp/x"
# with gcc -nostdlib -static -Wl,-n and strip.
TINY_WRITER = "f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAeABAAAAAAABAAAAAAAAAAMgAAAAAAAAAAAAAAEAAOAABAEAAAwACAAEAAAAFAAAAeAAAAAAAAAB4AEAAAAAAAHgAQAAAAAAAOgAAAAAAAAA6AAAAAAAAAAEAAAAAAAAASI09LAAAAL5BAgAAuqQBAAC4AgAAAA8FSYnETInnSI012////7oAEAAAuAEAAAAPBevoL3RtcC94AAAuc2hzdHJ0YWIALnRleHQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACwAAAAEAAAAGAAAAAAAAAHgAQAAAAAAAeAAAAAAAAAA6AAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAEAAAADAAAAAAAAAAAAAAAAAAAAAAAAALIAAAAAAAAAEQAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAA="


def test_oom_from_tmpfs_never_takes_the_launcher(token):
    # Memory held outside any process (50 MB of tmpfs), then the run
    # becomes a program of a few pages that grows /tmp/x past the limit:
    # every process of the run is smaller than the launcher, which the OOM
    # killer therefore chose while it shared the run's cgroup (the request
    # answered 500 and the slot was remade).  Now it lives in
    # slot-N/launcher: the answer is memory_limit and no slot is remade.
    before = sh.slot_marks()
    code = _code("""
        import base64, os
        chunk = b'x' * (1 << 20)
        for name in ('a', 'b'):
            with open('/dev/shm/' + name, 'wb') as f:
                for _ in range(25):
                    f.write(chunk)
        del chunk
        fd = os.memfd_create('tiny', 0)
        os.write(fd, base64.b64decode(%r))
        os.execv('/proc/self/fd/' + str(fd), ['tiny'])
        """ % TINY_WRITER)
    for _ in range(5):
        ex = sh.run(code, timeout=10, memory_limit=64)
        assert ex["outcome"] == "memory_limit", show(ex)
        assert ex["limit"] == "memory" and ex["signal"] == "SIGKILL", show(ex)
    after = sh.slot_marks()
    for i, (lpid, wpid, _, restarts) in after.items():
        assert (lpid, wpid, restarts) == (before[i][0], before[i][1], before[i][3]), (
            "a slot was remade: %s -> %s" % (before, after))
    sh.assert_host_clean(token)


# ------------------------------------------------------- 2: report pipe cap

def test_report_pipe_flood_is_cut_off(token):
    # Writing to the report pipe at full speed: past the report's cap the
    # worker closes it, so the run's writes fail with EPIPE within about
    # the cap plus a pipe buffer, instead of being read for its whole time.
    code = _code("""
        import errno, os, time
        fd = %s
        assert os.path.stat.S_ISFIFO(os.fstat(fd).st_mode)
        chunk = b'x' * 65536
        sent, t0 = 0, time.time()
        try:
            while time.time() - t0 < 4:
                sent += os.write(fd, chunk)
        except BrokenPipeError:
            pass
        print('SENT', sent, flush=True)
        """ % REPORT_FD)
    ex = sh.run(code, timeout=8)
    assert ex["outcome"] == "completed", show(ex)
    sent = int(ex["stdout"].split()[1])
    # The cap on a native route: the report (64 KiB), the artifacts as
    # base64 (PYEXEC_MAX_ARTIFACT_BYTES, 8 MiB by default) and 128 KiB of
    # framing (sandbox/host/run.c), then at most a pipe buffer and a chunk more.
    cap = (64 << 10) + (8 << 20) // 3 * 4 + 4 + (128 << 10) + 1
    assert sent < cap + (1 << 20), "the worker read %d bytes of report" % sent
    assert ex["result"] is None and ex["exception"] is None, show(ex)
    sh.assert_host_clean(token)


# ------------------------------------------------------- 3: core dumps

def test_core_limit_is_one_and_cannot_change(token):
    code = _code("""
        import json, resource
        out = {'core': resource.getrlimit(resource.RLIMIT_CORE)}
        for lim in ((0, 0), (0, 1), (1024, 1024)):
            try:
                resource.setrlimit(resource.RLIMIT_CORE, lim)
                out[str(lim)] = 'changed'
            except (OSError, ValueError) as e:
                out[str(lim)] = type(e).__name__
        try:
            resource.prlimit(0, resource.RLIMIT_CORE, (0, 0))
            out['prlimit'] = 'changed'
        except OSError as e:
            out['prlimit'] = type(e).__name__
        out['after'] = resource.getrlimit(resource.RLIMIT_CORE)
        print('RESULT ' + json.dumps(out))
        """)
    ex = sh.run(code)
    r = sh.result(ex)
    assert r["core"] == [1, 1] and r["after"] == [1, 1], show(ex)
    assert "changed" not in r.values(), show(ex)
    sh.assert_host_clean(token)


def test_crashing_runs_start_no_host_core_helper(token, tmp_path):
    # With a pipe core_pattern the kernel runs the helper as root on the
    # host for every crash whatever RLIMIT_CORE says, except when it is 1.
    # Positive control first: a host process with RLIMIT_CORE 0 does start
    # it; then crashing runs must not.
    pattern_file = "/proc/sys/kernel/core_pattern"
    with open(pattern_file) as f:
        saved = f.read()
    marks = tmp_path / "helper"
    marks.mkdir()
    os.chmod(str(marks), 0o777)
    helper = tmp_path / "helper.sh"
    helper.write_text("#!/bin/sh\ncat >/dev/null\ntouch %s/ran-$1\n" % marks)
    os.chmod(str(helper), 0o755)
    try:
        try:
            with open(pattern_file, "w") as f:
                f.write("|%s %%p" % helper)
        except OSError as e:
            assert False, "cannot set kernel.core_pattern for the test: %s" % e
        subprocess.run(["sh", "-c", "ulimit -c 0; kill -SEGV $$"])
        deadline = time.time() + 5
        while not os.listdir(str(marks)) and time.time() < deadline:
            time.sleep(0.1)
        assert os.listdir(str(marks)), "positive control: the helper never ran"
        for f in os.listdir(str(marks)):
            os.unlink(os.path.join(str(marks), f))
        code = "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"
        for _ in range(3):
            ex = sh.run(code)
            assert ex["outcome"] == "signal" and ex["signal"] == "SIGSEGV", show(ex)
        code = ("import subprocess\n"
                "subprocess.run(['sh', '-c', 'ulimit -c 0 2>/dev/null; "
                "kill -ABRT $$'])\n")
        sh.run(code)
        time.sleep(1.0)
        assert os.listdir(str(marks)) == [], "a crashing run started the helper"
    finally:
        with open(pattern_file, "w") as f:
            f.write(saved)
    sh.assert_host_clean(token)


# ----------------------------------------- 10: nothing survives the run

_POISON = _code("""
    import os, subprocess
    for i in range(200):
        open('/tmp/f%d' % i, 'w').close()
        os.unlink('/tmp/f%d' % i)
    for i in range(30):
        subprocess.run(['true'])
    os.utime('/tmp', (1, 1))
    os.utime('/dev/shm', (1, 1))
    os.chmod('/dev/shm', 0)
    os.chmod('/tmp', 0)
    print('poisoned')
    """)

_FRESH = r'''
import os as _o, time as _t, subprocess as _s
_st = _o.stat("/tmp")
_sh = _o.stat("/dev/shm")
_vf = _o.statvfs("/tmp")
report["tmp"] = [oct(_st.st_mode & 0o7777), _st.st_uid, _st.st_ino,
                 int(_t.time() - _st.st_mtime) < 30, _vf.f_files - _vf.f_ffree]
report["shm"] = [oct(_sh.st_mode & 0o7777), _sh.st_uid,
                 int(_t.time() - _sh.st_mtime) < 30]
report["pid"] = _o.getpid()
report["child_pid"] = int(_s.run(["sh", "-c", "echo $$"], capture_output=True).stdout)
'''


@pytest.mark.slow
def test_poisoned_tmp_shm_and_pid_counter_do_not_reach_the_next_run(token):
    # Poison every slot (more requests than workers), then probe every
    # slot: /tmp and /dev/shm are as a fresh slot gives them (mode 0700,
    # owner 1000, new times, root inode 1, one inode in use), and the pid
    # numbers start where a fresh run's do.
    for _ in range(2):
        exs = sh.probe_every_slot(_POISON, hold=0.2)
        for ex in exs:
            assert ex["outcome"] == "completed", show(ex)
    exs = sh.probe_every_slot(sh.slot_probe_code(_FRESH))
    rs = sh.probe_results(exs)
    for r in rs:
        # inodes in use: the tmpfs's root and /tmp/outputs, which the runner
        # makes for the artifacts of a native route's run
        assert r["tmp"] == ["0o700", 1000, 1, True, 2], show(r)
        assert r["shm"] == ["0o700", 1000, True], show(r)
    assert len({(r["pid"], r["child_pid"]) for r in rs}) == 1, show(rs)
    sh.assert_slots_pristine(exs)
    sh.assert_host_clean(token)


def test_tmp_and_shm_are_noexec(token):
    code = _code("""
        import os, shutil, subprocess
        for d in ('/tmp', '/dev/shm'):
            shutil.copy('/bin/true', d + '/t')
            os.chmod(d + '/t', 0o755)
            try:
                subprocess.run([d + '/t'])
                print(d, 'ran')
            except PermissionError:
                print(d, 'refused')
        """)
    ex = sh.run(code)
    assert ex["stdout"] == "/tmp refused\n/dev/shm refused\n", show(ex)
    sh.assert_host_clean(token)


# ----------------------------------------------- 11: memory of earlier runs

def test_memory_peak_is_the_runs_own(token):
    # Runs that leave page cache charged (reading big files of /usr), then
    # print(1) in every slot: its peak is its own (an interpreter, ~10 MB),
    # not the cache of earlier runs.
    reader = _code("""
        import os
        n = 0
        for d, _, fs in os.walk('/usr/lib/x86_64-linux-gnu'):
            for f in fs:
                p = os.path.join(d, f)
                try:
                    if os.path.isfile(p) and not os.path.islink(p):
                        with open(p, 'rb') as fh:
                            while fh.read(1 << 20):
                                pass
                        n += os.path.getsize(p)
                except OSError:
                    pass
                if n > (150 << 20):
                    break
            if n > (150 << 20):
                break
        print(n)
        """)
    sh.probe_every_slot(reader, hold=0.1, timeout=20, memory_limit=300)
    exs = sh.probe_every_slot("print(1)\n", hold=0.0)
    for ex in exs:
        assert ex["outcome"] == "completed", show(ex)
        assert ex["memory_peak_bytes"] < 20 << 20, show(ex)
    sh.assert_host_clean(token)


# ---------------------------------------------- 12, 14: host-wide pools

def test_io_setup_inotify_fanotify_refused(token):
    code = _code("""
        import ctypes, json
        libc = ctypes.CDLL(None, use_errno=True)
        out = {}
        ctx = ctypes.c_ulong(0)
        out['io_setup'] = (libc.syscall(206, 65536, ctypes.byref(ctx)),
                           ctypes.get_errno())
        out['inotify_init1'] = (libc.inotify_init1(0), ctypes.get_errno())
        out['inotify_init'] = (libc.syscall(253), ctypes.get_errno())
        out['fanotify_init'] = (libc.syscall(300, 0, 0), ctypes.get_errno())
        print('RESULT ' + json.dumps(out))
        """)
    ex = sh.run(code)
    r = sh.result(ex)
    for name, (rc, err) in r.items():
        assert rc == -1 and err == errno.EPERM, (name, show(ex))
    sh.assert_host_clean(token)


def test_no_user_namespace_even_past_seccomp(token):
    # The slot's user namespace allows no nested one (user.max_user_
    # namespaces = 0 there): a second wall behind the seccomp rule.  Read
    # from the host, inside each slot's user namespace.  Network and UTS
    # namespaces are allowed (4096) for the live sessions' spares, which
    # make theirs while root there (docs/security.md "Live sessions"); a
    # run, uid 1000 without capabilities and without a user namespace of
    # its own, can make neither (the unshare test above, and below).
    want = {"max_user_namespaces": "0", "max_net_namespaces": "4096",
            "max_uts_namespaces": "4096", "max_inotify_instances": "0",
            "max_inotify_watches": "0"}
    for lpid in sh.launcher_pids():
        for name, value in want.items():
            r = subprocess.run(["nsenter", "-t", str(lpid), "-U", "--",
                                "cat", "/proc/sys/user/" + name],
                               capture_output=True, text=True, timeout=10)
            assert r.returncode == 0, r.stderr
            assert r.stdout.strip() == value, (lpid, name, r.stdout)
    # And a run sees no /proc/sys to read or change them.
    ex = sh.run("import os\nprint(os.path.exists('/proc/sys'))\n")
    assert ex["stdout"] == "False\n", show(ex)
    # Past seccomp, unshare(CLONE_NEWNET) needs CAP_SYS_ADMIN, which a run
    # has nowhere: its capability sets are empty (checked from the host in
    # the capability tests); the filter refuses it first.
    ex = sh.run("import ctypes, os\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "print(libc.unshare(0x40000000), ctypes.get_errno())\n")
    assert ex["stdout"] == "-1 1\n", show(ex)
    sh.assert_host_clean(token)


# ------------------------------------------------------- 13: device nodes

def test_device_nodes_are_read_only_binds(token):
    host = {p: os.stat(p) for p in ("/dev/null", "/dev/zero", "/dev/urandom")}
    code = _code("""
        import json, os
        out = {}
        for p in ('/dev/null', '/dev/zero', '/dev/urandom'):
            try:
                os.utime(p, (1, 1))
                out[p] = 'changed'
            except OSError as e:
                out[p] = e.errno
        with open('/dev/null', 'w') as f:
            out['write'] = f.write('x' * 1000)
        out['read'] = len(open('/dev/zero', 'rb').read(10))
        print('RESULT ' + json.dumps(out))
        """)
    ex = sh.run(code)
    r = sh.result(ex)
    for p in host:
        assert r[p] == errno.EROFS, show(ex)
        assert os.stat(p).st_mtime == host[p].st_mtime, p
    assert r["write"] == 1000 and r["read"] == 10, show(ex)
    sh.assert_host_clean(token)


# ------------------------------------------------------- /proc subset=pid

def test_proc_shows_processes_only(token):
    code = _code("""
        import json, os
        names = sorted(n for n in os.listdir('/proc') if not n.isdigit())
        out = {'names': names, 'me': os.path.exists('/proc/self/status'),
               'net': os.path.exists('/proc/self/net/route')}
        print('RESULT ' + json.dumps(out))
        """)
    ex = sh.run(code)
    r = sh.result(ex)
    assert r["names"] == ["self", "thread-self"], show(ex)
    assert r["me"] and r["net"], show(ex)
    sh.assert_host_clean(token)


# -------------------------------------------------- 15: the report itself

# The report is {"result_json": "<json.dumps text>"}: the text goes into the
# answer as it is, so it must be one strict JSON text.  The last payload is
# a well-formed one, the control that the path is live.
BAD_REPORTS = ('{"result": NaN}', '{"result": Infinity}', '{"result": 1e999}',
               "{'result': 1}", '{"result": "a\tb"}',
               '{"result_json": NaN}', '{"result_json": "NaN"}',
               '{"result_json": "Infinity"}', '{"result_json": "1e999"}',
               "{'result_json': '1'}", r'{"result_json": "\"a\tb\""}',
               '{"result_json": "1, \\"forged\\": 2"}',
               '{"result_json": "1}, {\\"forged\\": 2"}',
               '{"result_json": "[1, 2] [3]"}', '{"result_json": "\\"\\\\ud800"}')


def test_non_json_numbers_on_the_report_fd(token):
    resp = ph.execute({"code": _code("""
        import os
        os.write(%s, b'{"result_json": "[1, 2]"}')
        os._exit(0)
        """ % REPORT_FD)})
    assert ph.assert_success(resp)["result"] == [1, 2], ph.show(resp)
    for payload in BAD_REPORTS:
        code = _code("""
            import os
            fd = %s
            assert os.path.stat.S_ISFIFO(os.fstat(fd).st_mode)
            os.write(fd, %r.encode())
            os.close(fd)
            os._exit(0)
            """ % (REPORT_FD, payload))
        resp = ph.execute({"code": code})
        ex = ph.assert_success(resp)            # valid JSON, parsed
        assert ex["outcome"] == "completed", show(ex)
        assert ex["result"] is None, (payload, show(ex))
        assert b"forged" not in resp.body, (payload, resp.body[:2000])
        for route, body in (("/execute", {"script": code.replace(
                "os._exit(0)", "def main():\n    return 1\nos._exit(0)")}),):
            r = ph.request("POST", route, body=body)
            assert r.json is not None, (payload, ph.show(r))
    sh.assert_host_clean(token)


# -------------------------------------- 16: pipes kept alive in flight

def test_pipes_kept_in_flight_do_not_hold_the_answer(token):
    # An SCM_RIGHTS cycle between the two ends of a socketpair keeps the
    # write ends of stdout, stderr and the report alive after every
    # process is dead, until the kernel's unix garbage collector runs.
    code = _code("""
        import array, os, socket
        a, b = socket.socketpair()
        fds = [1, 2, %s, a.fileno(), b.fileno()]
        a.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           array.array('i', [b.fileno()] + fds[:3]))])
        b.sendmsg([b'y'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           array.array('i', [a.fileno()]))])
        print('sent', flush=True)
        os._exit(0)
        """ % REPORT_FD)
    for _ in range(6):
        t0 = time.monotonic()
        ex = sh.run(code, timeout=5, http_timeout=8)
        assert ex["outcome"] == "completed", show(ex)
        assert ex["stdout"] == "sent\n", show(ex)
        assert time.monotonic() - t0 < 5, "the answer waited for the pipes"
    sh.assert_host_clean(token)


# ---------------------------------------------------------- the launcher

def test_run_cannot_reach_its_init_or_the_keeper(token):
    # The run's init is pid 1 of the run's pid namespace (root there, so
    # hidden and unsignallable for uid 1000); the keeper and the launcher
    # are in the slot's namespace, out of sight.  kill(-1) reaches only the
    # run's own processes, and the slot carries on.
    before = sh.slot_marks()
    code = _code("""
        import ctypes, errno, json, os, signal
        libc = ctypes.CDLL(None, use_errno=True)
        out = {"me": os.getpid(), "proc": sorted(int(p) for p in os.listdir("/proc")
                                                 if p.isdigit())}
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
            try:
                os.kill(1, sig)
                out[str(int(sig))] = "sent"
            except OSError as e:
                out[str(int(sig))] = e.errno
        out["ptrace"] = (libc.ptrace(16, 1, 0, 0), ctypes.get_errno())  # ATTACH
        out["oom_adj"] = os.path.exists("/proc/1/oom_score_adj")
        kid = os.fork()
        if kid == 0:
            signal.pause()
        os.kill(-1, signal.SIGKILL)         # everything this uid can reach
        out["kid"] = os.waitpid(kid, 0)[1]
        print("RESULT " + json.dumps(out))
        """)
    ex = sh.run(code)
    r = sh.result(ex)
    assert ex["outcome"] == "completed", show(ex)
    assert 1 not in r["proc"] and r["proc"] == [r["me"]], show(ex)
    for sig in ("9", "15", "19"):
        assert r[sig] == errno.EPERM, show(ex)
    assert r["ptrace"] == [-1, errno.EPERM], show(ex)
    assert r["oom_adj"] is False, show(ex)
    assert r["kid"] == signal.SIGKILL, show(ex)
    after = sh.slot_marks()
    for i in after:
        assert after[i][0] == before[i][0] and after[i][3] == before[i][3], (before, after)
    sh.assert_host_clean(token)


def test_launcher_has_no_new_privs_and_its_own_filter(token):
    for lpid in sh.launcher_pids():
        st = dict(l.split(":", 1) for l in open("/proc/%d/status" % lpid))
        assert st["NoNewPrivs"].strip() == "1", st
        assert st["Seccomp"].strip() == "2", st
    sh.assert_host_clean(token)


def test_workers_are_not_dumpable(token):
    j = ph.health().json
    for s in j["slots"]:
        # A non-dumpable process's /proc files belong to root.
        for name in ("mem", "environ", "status"):
            st = os.stat("/proc/%d/%s" % (s["worker_pid"], name))
            assert st.st_uid == 0, (s, name)
    sh.assert_host_clean(token)
