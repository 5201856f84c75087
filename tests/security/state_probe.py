"""State probe: a program run INSIDE the sandbox (test_sec_warm_cold.py
sends this file's text as the code of a run, once warm and once cold).

It reports the process state a run starts in, as the kernel and python
show it to the run itself, and prints ONE line:

    STATE {"<field>": <value>, ...}

Values are normalised where a number is only an identity of this run
(pipe inodes, namespace inodes, the pid of a child it forked): the test
compares the two runs field by field.  Only the standard library, and no
module the cold runner does not import either is needed before the
fields are read (each import happens before the first reading).
"""

import sys
# only the data zygote has it (not named whole: that would choose it)
_PANDAS_THERE = "pan" + "das" in sys.modules

import ctypes
import json
import os
import re
import resource
import signal
import socket
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
S = {"_pandas_there": _PANDAS_THERE}     # tells the zygote: not compared

PR_GET_PDEATHSIG = 2
PR_GET_DUMPABLE = 3
PR_GET_KEEPCAPS = 7
PR_GET_TIMERSLACK = 30
PR_GET_SECUREBITS = 27
PR_GET_NO_NEW_PRIVS = 39
PR_GET_THP_DISABLE = 42
PR_GET_CHILD_SUBREAPER = 37
PR_GET_SPECULATION_CTRL = 52
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_IS_SET = 1


def prctl(op, *args):
    r = libc.prctl(op, *[ctypes.c_ulong(a) for a in args] +
                   [ctypes.c_ulong(0)] * (4 - len(args)))
    return r if r >= 0 else "errno %d" % ctypes.get_errno()


def prctl_out(op):
    v = ctypes.c_int(-1)
    r = libc.prctl(op, ctypes.byref(v), 0, 0, 0)
    return v.value if r == 0 else "errno %d" % ctypes.get_errno()


def status():
    with open("/proc/self/status") as f:
        return dict(l.split(":\t", 1) for l in f.read().splitlines()
                    if ":\t" in l)


def try_read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return "%s errno %d" % (type(e).__name__, e.errno)


def text(path):
    v = try_read(path)
    return v.decode("utf-8", "replace").strip() if isinstance(v, bytes) else v


# ---- identity, privileges, limits
st = status()
S["resuid"] = os.getresuid()
S["resgid"] = os.getresgid()
S["status_uid"] = st["Uid"].split()         # real, effective, saved, fs
S["status_gid"] = st["Gid"].split()
S["groups"] = os.getgroups()
for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
          "Seccomp", "Seccomp_filters", "SigBlk", "SigIgn", "SigCgt",
          "SigPnd", "ShdPnd", "Umask", "TracerPid", "CoreDumping",
          "THP_enabled", "Speculation_Store_Bypass",
          "SpeculationIndirectBranch", "Cpus_allowed_list",
          "Mems_allowed_list", "NSpid", "NSpgid", "NSsid", "PPid", "Pid",
          "Tgid", "Threads", "Kthread", "untag_mask"):
    S["status_" + k] = st.get(k, "").strip()
S["dumpable"] = prctl(PR_GET_DUMPABLE)
S["no_new_privs"] = prctl(PR_GET_NO_NEW_PRIVS)
S["securebits"] = prctl(PR_GET_SECUREBITS)
S["keepcaps"] = prctl(PR_GET_KEEPCAPS)
S["pdeathsig"] = prctl_out(PR_GET_PDEATHSIG)
S["child_subreaper"] = prctl_out(PR_GET_CHILD_SUBREAPER)
S["timerslack"] = prctl(PR_GET_TIMERSLACK)
S["thp_disable"] = prctl(PR_GET_THP_DISABLE)
S["speculation_ssb"] = prctl(PR_GET_SPECULATION_CTRL, 0)
S["ambient_sys_admin"] = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 21)
libc.personality.restype = ctypes.c_int
p = libc.personality(ctypes.c_ulong(0xffffffff))
S["personality_call"] = p if p >= 0 else "errno %d" % ctypes.get_errno()
S["personality_proc"] = text("/proc/self/personality")
S["rlimits"] = {n: resource.getrlimit(getattr(resource, n))
                for n in sorted(dir(resource)) if n.startswith("RLIMIT_")}
S["sched"] = [os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0),
              sorted(os.sched_getaffinity(0))]
S["oom_score_adj"] = text("/proc/self/oom_score_adj")
S["loginuid"] = text("/proc/self/loginuid")
S["sessionid"] = text("/proc/self/sessionid")

# ---- signals: the mask and every disposition, as python and the kernel see
mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
S["sigmask"] = sorted(int(s) for s in mask)


def handler_name(h):
    if h is signal.SIG_DFL:
        return "SIG_DFL"
    if h is signal.SIG_IGN:
        return "SIG_IGN"
    if h is None:
        return "None (not set from python)"
    return getattr(h, "__qualname__", repr(h))


S["py_handlers"] = {signal.Signals(s).name if s in signal.Signals._value2member_map_
                    else str(int(s)): handler_name(signal.getsignal(s))
                    for s in sorted(signal.valid_signals(), key=int)}

# ---- files, directories, mask
fds = {}
for fd in sorted(os.listdir("/proc/self/fd"), key=int):
    fd = int(fd)
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
        fdflags = __import__("fcntl").fcntl(fd, 1)       # F_GETFD
        flflags = __import__("fcntl").fcntl(fd, 3)       # F_GETFL
    except OSError:
        continue                    # listdir's own fd, closed by now
    target = re.sub(r"\[\d+\]", "[N]", target)
    info = text("/proc/self/fdinfo/%d" % fd)
    if not info.startswith(("PermissionError", "FileNotFoundError")):
        info = dict(l.split(":", 1) for l in info.splitlines() if ":" in l)
        info = info.get("pos", "").strip()
    fds[fd] = [target, fdflags, oct(flflags), info]
S["fds"] = fds
S["cwd"] = os.getcwd()
um = os.umask(0o022)
os.umask(um)
S["umask"] = oct(um)

# ---- ids of processes and sessions, namespaces, what /proc shows
S["pid_ppid_sid_pgid"] = [os.getpid(), os.getppid(), os.getsid(0), os.getpgid(0)]
S["proc_pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
S["proc_self_environ"] = try_read("/proc/self/environ")
if isinstance(S["proc_self_environ"], bytes):
    S["proc_self_environ"] = sorted(
        S["proc_self_environ"].decode("utf-8", "replace").split("\0"))
S["proc_self_cmdline"] = try_read("/proc/self/cmdline")
if isinstance(S["proc_self_cmdline"], bytes):
    S["proc_self_cmdline"] = S["proc_self_cmdline"].decode("utf-8", "replace").split("\0")
S["proc_1"] = [os.path.exists("/proc/1"), text("/proc/1/status")[:20]]
with open("/proc/self/stat") as f:
    fl = f.read().rsplit(")", 1)[1].split()
# state, ppid, pgrp, session, tty_nr, tpgid; priority, nice, num_threads;
# exit_signal, processor excluded (the cpu it runs on now); rt_priority,
# policy.  (flags, the times and the start time: see the test.)
S["proc_self_stat_fields"] = [fl[0], fl[1], fl[2], fl[3], fl[4], fl[5],
                              fl[15], fl[16], fl[17], fl[35], fl[37], fl[38]]
PF_FORKNOEXEC = 0x40
S["stat_flags"] = hex(int(fl[6]) & ~PF_FORKNOEXEC)
S["stat_flags_forknoexec"] = bool(int(fl[6]) & PF_FORKNOEXEC)


def ns_view():
    names = sorted(os.listdir("/proc/self/ns"))
    same = {n: os.readlink("/proc/self/ns/%s_for_children" % n) ==
            os.readlink("/proc/self/ns/" + n) for n in ("pid", "time")
            if n + "_for_children" in names}
    return [names, same]


try:
    S["ns"] = ns_view()
except OSError as e:
    S["ns"] = "%s errno %d" % (type(e).__name__, e.errno)

# A child of the run: is it there in /proc, and readable?
r, w = os.pipe()
child = os.fork()
if child == 0:
    os.close(r)
    os.write(w, b"x")
    time.sleep(30)
    os._exit(0)
os.close(w)
os.read(r, 1)
S["child"] = [child - os.getpid(),
              os.path.exists("/proc/%d" % child),
              isinstance(try_read("/proc/%d/environ" % child), bytes),
              isinstance(try_read("/proc/%d/status" % child), bytes),
              sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
              == sorted(S["proc_pids"] + [child])]
os.kill(child, signal.SIGKILL)
os.waitpid(child, 0)

# ---- the file system, host name, cgroup
mounts = []
with open("/proc/self/mountinfo") as f:
    for line in f:
        a = line.split()
        sep = a.index("-")
        # mount point, its options, optional fields' names; the file
        # system type, source and super options (mount and device ids
        # and peer group numbers are identities of this run)
        mounts.append([a[4], a[5], [re.sub(r":\d+", "", x) for x in a[6:sep]],
                       a[sep + 1], a[sep + 2], a[sep + 3]])
S["mounts"] = mounts
S["hostname"] = [socket.gethostname(), os.uname().nodename,
                 os.uname().domainname if hasattr(os.uname(), "domainname")
                 else None]
S["cgroup"] = text("/proc/self/cgroup").splitlines()

# ---- python's own view
S["environ"] = dict(os.environ)
S["sys_flags"] = list(sys.flags)
S["sys_argv"] = sys.argv
S["sys_path"] = sys.path
S["sys_executable"] = [sys.executable, sys.prefix, sys.base_prefix]
S["stdio"] = [[f.fileno(), f.encoding, f.errors, f.line_buffering,
               getattr(f, "write_through", None)]
              for f in (sys.stdin, sys.stdout, sys.stderr)]
S["recursion_limit"] = sys.getrecursionlimit()
S["switch_interval"] = sys.getswitchinterval()
S["float_repr"] = sys.float_repr_style
S["filesystem_encoding"] = [sys.getfilesystemencoding(),
                            sys.getfilesystemencodeerrors()]
S["hash_info"] = list(sys.hash_info)
S["excepthook"] = [sys.excepthook is sys.__excepthook__,
                   sys.displayhook is sys.__displayhook__]
S["builtins_name"] = __name__


# ---- the seccomp policy's answer to a few calls
def errno_of(fn):
    ctypes.set_errno(0)
    r = fn()
    return "ok" if r >= 0 else ctypes.get_errno()


S["seccomp_behaviour"] = {
    "socket_inet": errno_of(lambda: libc.socket(2, 1, 0)),
    "socket_unix": "ok" if errno_of(lambda: libc.socket(1, 1, 0)) == "ok"
    else "refused",
    "mount": errno_of(lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
    "unshare_user": errno_of(lambda: libc.unshare(0x10000000)),
    "unshare_ns": errno_of(lambda: libc.unshare(0x00020000)),
    "clone3": errno_of(lambda: libc.syscall(435, None, 0)),
    "setrlimit_core": errno_of(lambda: libc.setrlimit(4, (ctypes.c_ulong * 2)(0, 0))),
    "ptrace_self": errno_of(lambda: libc.ptrace(2, os.getpid(), 0, 0)),
    "keyctl": errno_of(lambda: libc.syscall(250, 0, -3, 0)),
}

print("STATE " + json.dumps(S, sort_keys=True, default=repr))
