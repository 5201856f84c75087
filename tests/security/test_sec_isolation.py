"""Hostile programs against isolation: identity and privileges, the file
system view, /proc, /dev, cgroups, secrets, inherited fds, the network."""

import errno
import json
import textwrap

import pytest

import sec_helpers as sh

show = sh.show


def _code(s):
    return textwrap.dedent(s).lstrip("\n")


def _run_result(code, token, **fields):
    """Runs code that ends by printing RESULT {...}; the run must complete."""
    ex = sh.run(code, **fields)
    assert ex["outcome"] == "completed", show(ex)
    r = sh.result(ex)
    assert r is not None, show(ex)
    return ex, r


# ------------------------------------------------- identity, privileges

def test_identity_and_no_privileges(token):
    code = _code("""
        import json, os
        st = {}
        for line in open("/proc/self/status"):
            k, _, v = line.partition(":")
            st[k] = v.strip()
        print("RESULT " + json.dumps({
            "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
            "groups": os.getgroups(),
            "caps": [st.get(k) for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")],
            "nnp": st.get("NoNewPrivs"),
        }), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        assert r["ids"] == [sh.SANDBOX_UID] * 4, show(r)
        assert set(r["groups"]) <= {sh.SANDBOX_UID}, show(r)
        assert r["caps"] == ["0000000000000000"] * 4, show(r)
        assert r["nnp"] == "1", show(r)
    finally:
        sh.assert_host_clean(token)


def test_setuid_root(token):
    code = _code("""
        import ctypes, json, os
        out = {}
        for name, fn in (("setuid", lambda: os.setuid(0)),
                         ("seteuid", lambda: os.seteuid(0)),
                         ("setreuid", lambda: os.setreuid(0, 0)),
                         ("setresuid", lambda: os.setresuid(0, 0, 0)),
                         ("setgid", lambda: os.setgid(0)),
                         ("setresgid", lambda: os.setresgid(0, 0, 0)),
                         ("setgroups", lambda: os.setgroups([0]))):
            try:
                fn()
                out[name] = "ok"
            except OSError as e:
                out[name] = type(e).__name__
        libc = ctypes.CDLL(None)
        libc.setfsuid(0)
        fsuid = [l.split()[4] for l in open("/proc/self/status")
                 if l.startswith("Uid:")][0]
        out["fsuid"] = int(fsuid)
        out["uid_after"] = [os.getuid(), os.geteuid()]
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        for k in ("setuid", "seteuid", "setreuid", "setresuid", "setgid",
                  "setresgid", "setgroups"):
            assert r[k] == "PermissionError", "%s: %s" % (k, show(r))
        assert r["fsuid"] != 0 and 0 not in r["uid_after"], show(r)
    finally:
        sh.assert_host_clean(token)


def test_ptrace(token):
    code = _code("""
        import ctypes, json, os, time
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.restype = ctypes.c_long
        L = ctypes.c_long
        def pt(req, pid):
            ctypes.set_errno(0)
            r = libc.ptrace(L(req), L(pid), None, None)
            return [r, ctypes.get_errno()]
        out = {}
        # PTRACE_TRACEME in a child (so that success changes nothing here)
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(wr, json.dumps(pt(0, 0)).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        out["traceme"] = json.loads(os.read(rd, 100))
        out["attach_pid1"] = pt(16, 1)
        out["seize_pid1"] = pt(0x4206, 1)
        kid = os.fork()
        if kid == 0:
            time.sleep(30)
            os._exit(0)
        out["attach_child"] = pt(16, kid)
        out["seize_child"] = pt(0x4206, kid)
        os.kill(kid, 9)
        os.waitpid(kid, 0)
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        for k in ("traceme", "attach_pid1", "seize_pid1", "attach_child",
                  "seize_child"):
            assert r[k] == [-1, errno.EPERM], "%s: %s" % (k, show(r))
    finally:
        sh.assert_host_clean(token)


def test_mount(token):
    code = _code("""
        import ctypes, json
        libc = ctypes.CDLL(None, use_errno=True)
        out = {}
        def call(name, fn, *args):
            ctypes.set_errno(0)
            r = fn(*args)
            out[name] = [r, ctypes.get_errno()]
        call("mount_tmpfs", libc.mount, b"none", b"/tmp", b"tmpfs", 0, None)
        call("mount_bind_root", libc.mount, b"/", b"/tmp", None, 4096, None)
        call("mount_proc", libc.mount, b"proc", b"/tmp", b"proc", 0, None)
        call("remount_root_rw", libc.mount, None, b"/", None, 32, None)
        call("umount_tmp", libc.umount2, b"/tmp", 2)
        call("umount_proc", libc.umount2, b"/proc", 2)
        call("chroot", libc.chroot, b"/tmp")
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        for k, v in r.items():
            assert v == [-1, errno.EPERM], "%s: %s" % (k, show(r))
    finally:
        sh.assert_host_clean(token)


UNSHARE_FLAGS = {
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000, "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080,
    "CLONE_NEWUSER|CLONE_NEWNS": 0x10020000,
    "CLONE_NEWUSER|CLONE_NEWNET": 0x50000000,
}


def test_unshare(token):
    # each attempt in a child: a success must not change the parent
    code = _code("""
        import ctypes, json, os
        FLAGS = %r
        libc = ctypes.CDLL(None, use_errno=True)
        def attempt(flag):
            if hasattr(os, "unshare"):
                try:
                    os.unshare(flag)
                    return "ok"
                except OSError as e:
                    return e.errno
            if libc.unshare(flag) == 0:
                return "ok"
            return ctypes.get_errno()
        out = {}
        for name, flag in FLAGS.items():
            rd, wr = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.write(wr, json.dumps(attempt(flag)).encode())
                os._exit(0)
            os.close(wr)
            data = os.read(rd, 100)
            os.close(rd)
            _, st = os.waitpid(pid, 0)
            out[name] = json.loads(data) if data else "died %%d" %% st
        print("RESULT " + json.dumps(out), flush=True)
        """) % UNSHARE_FLAGS
    try:
        ex, r = _run_result(code, token)
        for name in UNSHARE_FLAGS:
            assert r[name] == errno.EPERM, "unshare(%s): %s" % (name, show(r))
    finally:
        sh.assert_host_clean(token)


def test_oom_score_adj_cannot_be_lowered(token):
    code = _code("""
        import json
        P = "/proc/self/oom_score_adj"
        out = {"before": int(open(P).read())}
        for v in ("-1000", "-1"):
            try:
                with open(P, "w") as f:
                    f.write(v)
                out[v] = "ok"
            except OSError as e:
                out[v] = type(e).__name__
        out["after"] = int(open(P).read())
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        assert r["-1000"] == "PermissionError", show(r)
        assert r["-1"] == "PermissionError", show(r)
        assert r["after"] >= 0, show(r)
    finally:
        sh.assert_host_clean(token)


# ------------------------------------------------------ file system view

def test_etc_shadow_not_present(token):
    code = _code("""
        import json
        out = {}
        for p in ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/sudoers",
                  "/etc/ssh/ssh_host_ed25519_key"):
            try:
                open(p, "rb").read()
                out[p] = "read"
            except OSError as e:
                out[p] = type(e).__name__
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        for p, v in r.items():
            assert v == "FileNotFoundError", "%s: %s" % (p, show(r))
    finally:
        sh.assert_host_clean(token)


def test_root_and_home_not_present(token):
    code = _code("""
        import json, os
        out = {}
        for p in ("/root", "/home"):
            try:
                out[p] = os.listdir(p)
            except OSError as e:
                out[p] = type(e).__name__
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        assert r == {"/root": "FileNotFoundError",
                     "/home": "FileNotFoundError"}, show(r)
    finally:
        sh.assert_host_clean(token)


# The documented root (docs/api.md "What a run sees", sandbox/jail/root.c):
# /.pyexec holds the compiled runner; the optional /etc binds appear only
# where the host has them (localtime, fonts, matplotlibrc).
ROOT_DIRS = {"usr", "etc", "tmp", "dev", "proc", ".pyexec",
             "workspace"}     # a run's workspace's mount point: empty without one
ROOT_LINKS = {"bin", "sbin", "lib", "lib64", "lib32", "libx32"}
ETC_ENTRIES = {"alternatives", "ld.so.cache", "passwd", "group", "hosts",
               "nsswitch.conf", "hostname", "localtime", "fonts",
               "matplotlibrc"}


def test_minimal_root_file_system(token):
    code = _code("""
        import json, os
        out = {"root": {}, "etc": sorted(os.listdir("/etc"))}
        for e in os.listdir("/"):
            p = "/" + e
            out["root"][e] = ("link:" + os.readlink(p)) if os.path.islink(p) \\
                else ("dir" if os.path.isdir(p) else "other")
        out["passwd"] = open("/etc/passwd").read()
        out["pyexec"] = sorted(os.listdir("/.pyexec"))
        out["workspace"] = sorted(os.listdir("/workspace"))
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        problems = []
        for e, kind in sorted(r["root"].items()):
            if e in ROOT_LINKS:
                if not (kind.startswith("link:") and "usr/" in kind):
                    problems.append("/%s is %s, want a symlink into /usr"
                                    % (e, kind))
            elif e not in ROOT_DIRS:
                problems.append("unexpected /%s (%s)" % (e, kind))
        if r["workspace"] != []:
            problems.append("/workspace holds %s without a workspace" % r["workspace"])
        for e in sorted(set(r["etc"]) - ETC_ENTRIES):
            problems.append("unexpected /etc/%s" % e)
        if r["pyexec"] not in (["runner.pyc"], ["runner.pyc", "zygote.so"]):
            problems.append("/.pyexec holds %s" % r["pyexec"])
        users = [l.split(":")[0] for l in r["passwd"].splitlines() if l]
        if not set(users) <= {"root", "sandbox", "nobody"}:
            problems.append("/etc/passwd users: %s" % users)
        assert not problems, "\n".join(problems)
    finally:
        sh.assert_host_clean(token)


def test_write_outside_tmp(token):
    code = sh.marker_writer_source(token) + _code("""
        import json, os
        TOK = %r
        out = {"markers": _pyexec_try_markers()}
        attempts = {}
        def attempt(name, fn):
            try:
                fn()
                attempts[name] = "ok"
            except OSError as e:
                attempts[name] = [type(e).__name__, e.errno]
        attempt("append /etc/passwd", lambda: open("/etc/passwd", "a").write("x:0:0::/:/bin/sh\\n"))
        attempt("dist-packages module", lambda: open(
            "/usr/lib/python3/dist-packages/pyexec_escape_%%s.py" %% TOK, "w").write("x = 1"))
        attempt("mkdir /usr/local", lambda: os.mkdir("/usr/local/pyexec-escape-" + TOK))
        attempt("mkdir /", lambda: os.mkdir("/pyexec-escape-dir-" + TOK))
        attempt("symlink /etc", lambda: os.symlink("/tmp", "/etc/pyexec-escape-ln-" + TOK))
        attempt("chmod /usr/bin/python3", lambda: os.chmod("/usr/bin/python3", 0o777))
        attempt("utime /etc/passwd", lambda: os.utime("/etc/passwd", (0, 0)))
        attempt("mknod /tmp", lambda: os.mknod("/tmp/null-" + TOK, 0o20666, os.makedev(1, 3)))
        out["attempts"] = attempts
        print("RESULT " + json.dumps(out), flush=True)
        """) % token
    extra = ["/usr/lib/python3/dist-packages/pyexec_escape_%s.py" % token,
             "/etc/pyexec-escape-ln-" + token]
    try:
        ex, r = _run_result(code, token)
        for p, v in r["markers"].items():
            inside_tmpfs = p.startswith(("/tmp/", "/dev/shm/"))
            if not inside_tmpfs:
                assert v != "ok", "the sandbox could write %s: %s" % (p, show(r))
        for name, v in r["attempts"].items():
            assert v != "ok", "%s succeeded: %s" % (name, show(r))
    finally:
        sh.assert_host_clean(token, extra_paths=extra)


def test_proc_of_pid1_not_visible(token):
    code = _code("""
        import json, os
        out = {"exists": os.path.exists("/proc/1")}
        for name in ("environ", "cmdline", "maps", "status", "mountinfo", "stat"):
            try:
                out[name] = ["read", len(open("/proc/1/" + name, "rb").read())]
            except OSError as e:
                out[name] = [type(e).__name__, e.errno]
        for name in ("root", "cwd", "fd"):
            try:
                out[name] = ["listed", len(os.listdir("/proc/1/" + name))]
            except OSError as e:
                out[name] = [type(e).__name__, e.errno]
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        assert r.pop("exists") is False, show(r)
        for name, v in r.items():
            assert v == ["FileNotFoundError", errno.ENOENT], (
                "/proc/1/%s: %s" % (name, show(r)))
    finally:
        sh.assert_host_clean(token)


def test_no_other_process_visible(token):
    code = _code("""
        import json, os
        me = os.getpid()
        others = []
        for p in os.listdir("/proc"):
            if p.isdigit() and int(p) != me:
                try:
                    c = open("/proc/%s/cmdline" % p, "rb").read(200)
                except OSError:
                    c = b"?"
                others.append([int(p), c.replace(b"\\0", b" ").decode("utf-8", "replace")])
        alive = []
        for pid in range(1, 65536):
            if pid == me:
                continue
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except PermissionError:
                alive.append(pid)
            except OSError:
                pass
        print("RESULT " + json.dumps({"proc": others, "kill0": alive}), flush=True)
        """)
    try:
        ex, r = _run_result(code, token, timeout=10)
        assert r["proc"] == [], "visible in /proc: %s" % show(r["proc"])
        # signals reach only this pid namespace: its pid 1 at most
        assert set(r["kill0"]) <= {1}, "addressable pids: %s" % r["kill0"][:50]
    finally:
        sh.assert_host_clean(token)


DEV_ENTRIES = {"null", "zero", "random", "urandom", "fd", "stdin", "stdout",
               "stderr", "shm"}


def test_dev_minimal(token):
    code = _code("""
        import json, os
        out = {"dev": sorted(os.listdir("/dev")), "open": {}}
        for p in ("/dev/vda", "/dev/sda", "/dev/mem", "/dev/kmsg", "/dev/tty",
                  "/dev/ptmx", "/dev/kvm", "/dev/fuse", "/dev/userfaultfd",
                  "/dev/console", "/dev/loop0"):
            try:
                os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK))
                out["open"][p] = "opened"
            except OSError as e:
                out["open"][p] = type(e).__name__
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        extra = set(r["dev"]) - DEV_ENTRIES
        assert not extra, "unexpected /dev entries: %s" % sorted(extra)
        for p, v in r["open"].items():
            assert v == "FileNotFoundError", "%s: %s" % (p, show(r["open"]))
    finally:
        sh.assert_host_clean(token)


def test_proc_and_sys_writes(token):
    code = _code("""
        import json, os
        out = {}
        for p, v in (("/proc/sysrq-trigger", "s"),
                     ("/proc/sys/kernel/hostname", "pwned"),
                     ("/proc/sys/kernel/core_pattern", "|/tmp/x"),
                     ("/proc/sys/vm/drop_caches", "3"),
                     ("/proc/sys/kernel/modprobe", "/tmp/x"),
                     ("/sys/kernel/uevent_helper", "/tmp/x"),
                     ("/proc/self/setgroups", "allow"),
                     ("/proc/self/uid_map", "0 0 1")):
            try:
                with open(p, "w") as f:
                    f.write(v)
                out[p] = "written"
            except OSError as e:
                out[p] = type(e).__name__
        for p in ("/proc/kcore", "/proc/kmsg"):
            try:
                with open(p, "rb") as f:
                    f.read(16)
                out[p] = "read"
            except OSError as e:
                out[p] = type(e).__name__
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        for p, v in r.items():
            assert v not in ("written", "read"), "%s: %s" % (p, show(r))
    finally:
        sh.assert_host_clean(token)


def test_cgroup_files_not_present(token):
    code = _code("""
        import json, os
        out = {"sys_exists": os.path.exists("/sys"),
               "cgroup_exists": os.path.exists("/sys/fs/cgroup"), "write": {}}
        paths = ["/sys/fs/cgroup/pids/pids.max",
                 "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                 "/sys/fs/cgroup/memory/release_agent",
                 "/sys/fs/cgroup/cgroup.procs",
                 "/sys/fs/cgroup/memory.max"]
        try:
            for line in open("/proc/self/cgroup"):
                _, ctl, path = line.strip().split(":", 2)
                for c in (ctl.split(",") if ctl else [""]):
                    d = os.path.join("/sys/fs/cgroup", c.replace("name=", ""),
                                     path.lstrip("/"))
                    for f in ("memory.limit_in_bytes", "memory.max", "pids.max",
                              "cpu.cfs_quota_us", "cgroup.procs", "tasks",
                              "notify_on_release"):
                        paths.append(os.path.join(d, f))
        except OSError:
            pass
        for p in paths:
            try:
                with open(p, "w") as f:
                    f.write("max")
                out["write"][p] = "written"
            except OSError as e:
                out["write"][p] = type(e).__name__
        try:
            os.mkdir("/sys/fs/cgroup/memory/escape")
            out["mkdir"] = "made"
        except OSError as e:
            out["mkdir"] = type(e).__name__
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        assert r["sys_exists"] is False, show(r)
        assert r["cgroup_exists"] is False, show(r)
        for p, v in r["write"].items():
            assert v == "FileNotFoundError", "%s: %s" % (p, show(r["write"]))
        assert r["mkdir"] == "FileNotFoundError", show(r)
    finally:
        sh.assert_host_clean(token)


# ---------------------------------------------------------------- secrets

@pytest.mark.slow
def test_disk_search_for_api_keys(token):
    # The program never receives a key: it looks for the test keys' common
    # prefix anywhere it can read (regular files < 1 MiB), /proc first
    # (every visible process's environ and cmdline), then the file system,
    # /usr last; the whole walk is bounded by a deadline.
    code = _code("""
        import json, os, stat, time
        needle = ("test" + "-key-").encode()
        deadline = time.monotonic() + 4.0
        found, scanned, partial = [], 0, False
        seen = set()
        def scan(p):
            global scanned
            try:
                st = os.lstat(p)
                if not stat.S_ISREG(st.st_mode) or st.st_size >= (1 << 20):
                    return
                fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
                try:
                    data = os.read(fd, 1 << 20)
                finally:
                    os.close(fd)
            except OSError:
                return
            scanned += 1
            if needle in data:
                found.append(p)
        def skip_dir(d):
            return d in ("/dev", "/sys", "/proc/sys", "/usr/share/doc") or \\
                d.endswith(("/fd", "/fdinfo", "/map_files", "/task", "/net"))
        roots = ["/proc", "/etc", "/tmp", "/dev/shm", "/run", "/var", "/home",
                 "/root", "/work", "/srv", "/opt", "/mnt", "/media", "/boot",
                 "/", "/usr"]
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):
                if time.monotonic() > deadline:
                    partial = True
                    break
                if dirpath in seen or skip_dir(dirpath):
                    dirnames[:] = []
                    continue
                seen.add(dirpath)
                if dirpath == "/":
                    dirnames[:] = [d for d in dirnames if "/" + d not in roots]
                dirnames[:] = [d for d in dirnames
                               if not skip_dir(os.path.join(dirpath, d))]
                for name in filenames:
                    scan(os.path.join(dirpath, name))
            if partial:
                break
        print("RESULT " + json.dumps({"found": found, "scanned": scanned,
                                      "partial": partial}), flush=True)
        """)
    try:
        ex, r = _run_result(code, token, timeout=8)
        assert r["scanned"] > 0, show(r)
        assert r["found"] == [], (
            "files readable in the sandbox hold an API key: %s" % r["found"])
        for k in (sh.ph.key(), sh.ph.key2()):
            assert k not in ex["stdout"] and k not in ex["stderr"]
    finally:
        sh.assert_host_clean(token)


def test_inherited_fds(token):
    code = _code("""
        import fcntl, json, os, subprocess, sys
        def fds():
            out = {}
            for name in os.listdir("/proc/self/fd"):
                try:
                    target = os.readlink("/proc/self/fd/" + name)
                except OSError:
                    continue            # the fd os.listdir used, now closed
                try:
                    cloexec = bool(fcntl.fcntl(int(name), fcntl.F_GETFD)
                                   & fcntl.FD_CLOEXEC)
                except OSError:
                    continue
                out[name] = [target, cloexec]
            return out
        mine = fds()
        child = subprocess.run(
            [sys.executable, "-c",
             "import json, os\\n"
             "r = {}\\n"
             "for n in os.listdir('/proc/self/fd'):\\n"
             "    try:\\n"
             "        r[n] = os.readlink('/proc/self/fd/' + n)\\n"
             "    except OSError:\\n"
             "        pass\\n"
             "print(json.dumps(r))\\n"],
            stdout=subprocess.PIPE, close_fds=False)
        print("RESULT " + json.dumps({"mine": mine,
                                      "child": json.loads(child.stdout)}),
              flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        mine = {int(k): v for k, v in r["mine"].items()}
        for fd, (target, _) in mine.items():
            assert not target.startswith("socket:"), (
                "fd %d is a socket (%s): %s" % (fd, target, show(r)))
        assert {0, 1, 2} <= set(mine), show(r)
        extra = sorted(set(mine) - {0, 1, 2})
        assert len(extra) <= 1, "inherited fds %s: %s" % (extra, show(r))
        for fd in extra:                  # the runner's report pipe
            target, cloexec = mine[fd]
            assert target.startswith("pipe:"), show(r)
            assert cloexec, "fd %d is not close-on-exec: %s" % (fd, show(r))
        child = {int(k): v for k, v in r["child"].items()}
        assert set(child) <= {0, 1, 2}, "an exec'd child got %s" % show(child)
        for fd, target in child.items():
            assert not target.startswith("socket:"), show(child)
    finally:
        sh.assert_host_clean(token)


# ---------------------------------------------------------------- network

NET_CASES = [
    ("tcp", "ipv4"), ("tcp", "ipv6"), ("udp", "ipv4"), ("udp", "ipv6"),
]


@pytest.mark.parametrize("proto,family", NET_CASES,
                         ids=["%s-%s" % c for c in NET_CASES])
def test_network_to_service_port(proto, family, token, nginx_port):
    code = _code("""
        import json, socket
        FAM = socket.AF_INET6 if %(family)r == "ipv6" else socket.AF_INET
        HOST = "::1" if %(family)r == "ipv6" else "127.0.0.1"
        TYPE = socket.SOCK_STREAM if %(proto)r == "tcp" else socket.SOCK_DGRAM
        try:
            s = socket.socket(FAM, TYPE)
        except OSError as e:
            res = {"stage": "socket", "type": type(e).__name__, "errno": e.errno}
        else:
            try:
                s.settimeout(2)
                if TYPE == socket.SOCK_STREAM:
                    s.connect((HOST, %(port)d))
                    s.sendall(b"GET /health HTTP/1.0\\r\\n\\r\\n")
                    res = {"stage": "connected", "data": s.recv(64).decode("latin-1")}
                else:
                    s.sendto(b"x", (HOST, %(port)d))
                    res = {"stage": "sent"}
            except OSError as e:
                res = {"stage": "connect", "type": type(e).__name__, "errno": e.errno}
        print("RESULT " + json.dumps(res), flush=True)
        """) % {"proto": proto, "family": family, "port": nginx_port}
    try:
        ex, r = _run_result(code, token)
        assert r == {"stage": "socket", "type": "PermissionError",
                     "errno": errno.EPERM}, show(r)
    finally:
        sh.assert_host_clean(token)


RAW_SOCKETS = {
    "netlink_route": (16, 3, 0),            # AF_NETLINK, SOCK_RAW, NETLINK_ROUTE
    "netlink_dgram": (16, 2, 0),
    "packet_raw": (17, 3, 0x0300),          # AF_PACKET, SOCK_RAW, ETH_P_ALL
    "packet_dgram": (17, 2, 0x0300),
}


@pytest.mark.parametrize("name", sorted(RAW_SOCKETS))
def test_netlink_and_packet_sockets(name, token):
    fam, typ, proto = RAW_SOCKETS[name]
    code = _code("""
        import json, socket
        try:
            s = socket.socket(%d, %d, socket.htons(%d) if %d == 17 else %d)
            res = {"stage": "created"}
        except OSError as e:
            res = {"stage": "socket", "type": type(e).__name__, "errno": e.errno}
        print("RESULT " + json.dumps(res), flush=True)
        """) % (fam, typ, proto, fam, proto)
    try:
        ex, r = _run_result(code, token)
        assert r == {"stage": "socket", "type": "PermissionError",
                     "errno": errno.EPERM}, show(r)
    finally:
        sh.assert_host_clean(token)


def test_network_namespace_is_empty(token):
    code = _code("""
        import fcntl, json, socket, struct
        out = {}
        with open("/proc/self/net/dev") as f:
            out["ifaces"] = sorted(l.split(":")[0].strip()
                                   for l in f.read().splitlines()[2:])
        with open("/proc/self/net/route") as f:
            out["routes"] = f.read().splitlines()[1:]
        try:
            with open("/proc/self/net/ipv6_route") as f:
                out["routes6"] = [l for l in f.read().splitlines()
                                  if not l.rstrip().endswith("lo")]
        except OSError:
            out["routes6"] = []
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            r = fcntl.ioctl(s, 0x8913, struct.pack("16sh14x", b"lo", 0))
            out["lo_flags"] = struct.unpack("16sh14x", r)[1]
        except OSError as e:
            out["lo_flags"] = type(e).__name__
        print("RESULT " + json.dumps(out), flush=True)
        """)
    try:
        ex, r = _run_result(code, token)
        assert r["ifaces"] == ["lo"], show(r)
        assert r["routes"] == [], show(r)
        assert r["routes6"] == [], show(r)
        if isinstance(r["lo_flags"], int):
            assert not (r["lo_flags"] & 1), "lo is up: %s" % show(r)
    finally:
        sh.assert_host_clean(token)
