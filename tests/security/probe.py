"""Seccomp probe: a program run INSIDE the sandbox (the security tests send
this file's text as the code of a run).

It attempts every syscall that SANDBOX-TARGET.md says the filter refuses
with EPERM (or ENOSYS for clone3) through ctypes (libc.syscall with the
x86_64 numbers; clone and unshare with each CLONE_NEW* flag; socket with
each address family; ioctl TIOCSTI / TIOCLINUX on fd 0), plus a few
positive controls that must keep working, and prints ONE JSON line:

    PROBE {"<name>": <errno> | "ok" | "killed:SIG..." | "hung", ...,
           "_status": {"Seccomp": "2", "NoNewPrivs": "1", ...}}

Each attempt runs in a forked child, so that an attempt that succeeds
(a new namespace, a traced process) or is killed changes nothing for the
next one; the child reports through a pipe.

Arguments are chosen so that, where the kernel allows it, an unfiltered
call gives an errno other than EPERM (ESRCH, EBADF, EFAULT, ENOTTY, "ok"):
the probe then tells a missing filter rule from a missing capability.

Imported on the host (by tests/security/test_sec_seccomp.py) it only
provides the tables: __name__ is "__main__" only inside the sandbox.

The syscalls that the filter must KILL (SIGSYS) are in KILL_SYSCALLS; each
needs a run of its own (see kill_program()).
"""

EPERM = 1
ENOSYS = 38

# name -> (x86_64 number, arguments, expected).  Arguments: ints, bytes
# (passed as char *), "PID" (the caller's pid) or "BUF" (a zeroed 512-byte
# buffer).
SYSCALLS = {
    # PTRACE_PEEKDATA on itself: ESRCH when allowed (not traced)
    "ptrace": (101, (2, "PID", 0, 0), EPERM),
    "process_vm_readv": (310, ("PID", 0, 0, 0, 0, 0), EPERM),
    "process_vm_writev": (311, ("PID", 0, 0, 0, 0, 0), EPERM),
    "mount": (165, (b"none", b"/tmp", b"tmpfs", 0, 0), EPERM),
    "umount2": (166, (b"/tmp", 2), EPERM),
    "pivot_root": (155, (b"/tmp", b"/tmp"), EPERM),
    "chroot": (161, (b"/nonexistent-pyexec-probe",), EPERM),
    "unshare": (272, (0x10000000,), EPERM),
    "setns": (308, (-1, 0), EPERM),
    "keyctl": (250, (0, -3, 0), EPERM),
    "add_key": (248, (b"user", b"pyexec-probe", b"x", 1, -2), EPERM),
    "request_key": (249, (b"user", b"pyexec-probe-none", 0, 0), EPERM),
    "personality": (135, (0xffffffff,), EPERM),
    "syslog": (103, (10, 0, 0), EPERM),
    "kcmp": (312, ("PID", "PID", 0, 0, 0), EPERM),
    "pidfd_getfd": (438, (-1, 0, 0), EPERM),
    "name_to_handle_at": (303, (-100, b"/", 0, 0, 0), EPERM),
    "io_uring_setup": (425, (1, 0), EPERM),
    "io_uring_enter": (426, (-1, 0, 0, 0, 0, 0), EPERM),
    "io_uring_register": (427, (-1, 0, 0, 0), EPERM),
    "open_tree": (428, (-100, b"/", 0), EPERM),
    "move_mount": (429, (-1, b"", -1, b"", 0), EPERM),
    "fsopen": (430, (b"tmpfs", 0), EPERM),
    "fsconfig": (431, (-1, 0, 0, 0, 0), EPERM),
    "fsmount": (432, (-1, 0, 0), EPERM),
    "fspick": (433, (-100, b"/", 0), EPERM),
    "mount_setattr": (442, (-1, b"", 0, 0, 0), EPERM),
    "sethostname": (170, (b"x", 1), EPERM),
    "settimeofday": (164, (0, 0), EPERM),
    "clock_settime": (227, (0, 0), EPERM),
    "adjtimex": (159, ("BUF",), EPERM),
    "ioctl_TIOCSTI": (16, (0, 0x5412, "BUF"), EPERM),
    "ioctl_TIOCLINUX": (16, (0, 0x541C, "BUF"), EPERM),
    "clone3": (435, (0, 0), ENOSYS),
    # positive controls: the filter must not break ordinary programs
    "control_getpid": (39, (), "ok"),
    # (no unshare control: SANDBOX-TARGET refuses unshare whatever the flags)
    "unshare_CLONE_FILES": (272, (0x00000400,), EPERM),
}

CLONE_NEW = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
    "CLONE_NEWUSER|CLONE_NEWNS": 0x10020000,
    "CLONE_NEWUSER|CLONE_NEWPID": 0x30000000,
}
# CLONE_NEWTIME (0x80) exists for unshare and clone3 only: in clone()'s
# flags the low byte is the exit signal.
UNSHARE_NEW = dict(CLONE_NEW, CLONE_NEWTIME=0x00000080)

AF_NAMES = {
    0: "AF_UNSPEC", 2: "AF_INET", 3: "AF_AX25", 4: "AF_IPX",
    5: "AF_APPLETALK", 6: "AF_NETROM", 7: "AF_BRIDGE", 8: "AF_ATMPVC",
    9: "AF_X25", 10: "AF_INET6", 11: "AF_ROSE", 12: "AF_DECnet",
    13: "AF_NETBEUI", 14: "AF_SECURITY", 15: "AF_KEY", 16: "AF_NETLINK",
    17: "AF_PACKET", 18: "AF_ASH", 19: "AF_ECONET", 20: "AF_ATMSVC",
    21: "AF_RDS", 22: "AF_SNA", 23: "AF_IRDA", 24: "AF_PPPOX",
    25: "AF_WANPIPE", 26: "AF_LLC", 27: "AF_IB", 28: "AF_MPLS", 29: "AF_CAN",
    30: "AF_TIPC", 31: "AF_BLUETOOTH", 32: "AF_IUCV", 33: "AF_RXRPC",
    34: "AF_ISDN", 35: "AF_PHONET", 36: "AF_IEEE802154", 37: "AF_CAIF",
    38: "AF_ALG", 39: "AF_NFC", 40: "AF_VSOCK", 41: "AF_KCM",
    42: "AF_QIPCRTR", 43: "AF_SMC", 44: "AF_XDP", 45: "AF_MCTP",
}
SOCK_TYPES = {"STREAM": 1, "DGRAM": 2, "RAW": 3, "SEQPACKET": 5}


def socket_probes():
    """name -> (family, type, protocol, expected)"""
    out = {}
    for fam, fname in sorted(AF_NAMES.items()):
        kinds = ["DGRAM"]
        if fname in ("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"):
            kinds = ["STREAM", "DGRAM", "RAW"]
        for k in kinds:
            out["socket_%s_%s" % (fname, k)] = (fam, SOCK_TYPES[k], 0, EPERM)
    # flags in the type argument do not get around the filter
    out["socket_AF_INET_STREAM_NONBLOCK_CLOEXEC"] = (2, 1 | 0o4000 | 0o2000000,
                                                     0, EPERM)
    out["socket_AF_INET6_DGRAM_CLOEXEC"] = (10, 2 | 0o2000000, 0, EPERM)
    # a family number past AF_MAX is refused by the filter too
    out["socket_af_99_DGRAM"] = (99, 2, 0, EPERM)
    # positive controls: AF_UNIX stays allowed
    out["control_socket_AF_UNIX_STREAM"] = (1, 1, 0, "ok")
    out["control_socket_AF_UNIX_DGRAM"] = (1, 2, 0, "ok")
    return out


def expected():
    """name -> expected result, for every attempt the probe makes."""
    exp = {name: spec[2] for name, spec in SYSCALLS.items()}
    for name in CLONE_NEW:
        exp["clone_" + name] = EPERM
    exp["control_clone_plain"] = "ok"
    for name in UNSHARE_NEW:
        exp["unshare_" + name] = EPERM
    for name, spec in socket_probes().items():
        exp[name] = spec[3]
    return exp


# Syscalls the filter must answer with SIGSYS (the run dies): one run each.
# Arguments are harmless if the syscall were allowed.
KILL_SYSCALLS = {
    "bpf": (321, (0x7fffffff, 0, 0)),
    "perf_event_open": (298, (0, 0, -1, -1, 0)),
    "userfaultfd": (323, (0,)),
    "kexec_load": (246, (0, 0, 0, 0)),
    "kexec_file_load": (320, (-1, -1, 0, 0, 0)),
    "init_module": (175, (0, 0, 0)),
    "finit_module": (313, (-1, 0, 0)),
    "delete_module": (176, (0, 0)),
    "open_by_handle_at": (304, (-1, 0, 0)),
    "modify_ldt": (154, (0, 0, 0)),
    "iopl": (172, (0,)),
    "ioperm": (173, (0, 0, 0)),
    "acct": (163, (0,)),
    "swapon": (167, (0, 0)),
    "swapoff": (168, (0,)),
    "reboot": (169, (0, 0, 0, 0)),
    "lookup_dcookie": (212, (0, 0, 0)),
    "uselib": (134, (0,)),
    # the x32 ABI: getpid with the x32 bit
    "x32_getpid": (0x40000000 | 39, ()),
}


def kill_program(name):
    """Source of a run that makes the one KILL syscall `name` and prints
    SURVIVED if it comes back."""
    nr, args = KILL_SYSCALLS[name]
    return (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.syscall.restype = ctypes.c_long\n"
        "L = ctypes.c_long\n"
        "r = libc.syscall(L(%d), *[L(a) for a in %r])\n"
        "print('SURVIVED', %r, r, ctypes.get_errno(), flush=True)\n"
        % (nr, tuple(args), name))


# The i386 ABI: `mov eax, 20 (getpid); int 0x80; ret` on an executable page.
I386_PROGRAM = (
    "import ctypes, mmap\n"
    "code = bytes([0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80, 0xc3])\n"
    "m = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE"
    " | mmap.PROT_EXEC)\n"
    "m.write(code)\n"
    "addr = ctypes.addressof(ctypes.c_char.from_buffer(m))\n"
    "f = ctypes.CFUNCTYPE(ctypes.c_int)(addr)\n"
    "print('SURVIVED', 'int80', f(), flush=True)\n")


# ------------------------------------------------------------- the probe

def _main():
    import ctypes
    import json
    import os
    import signal
    import time

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    L = ctypes.c_long

    def arg(a):
        if isinstance(a, bytes):
            return ctypes.c_char_p(a)
        if a == "PID":
            return L(os.getpid())
        if a == "BUF":
            return ctypes.create_string_buffer(512)
        return L(a)

    def in_child(fn):
        """Runs fn() in a child; its JSON result, or what killed it."""
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(rd)
                res = fn()
                os.write(wr, json.dumps(res).encode())
            finally:
                os._exit(0)
        os.close(wr)
        deadline = time.monotonic() + 3
        st = None
        while time.monotonic() < deadline:
            got, st = os.waitpid(pid, os.WNOHANG)
            if got:
                break
            time.sleep(0.002)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(rd)
            return "hung"
        data = os.read(rd, 4096)
        os.close(rd)
        if os.WIFSIGNALED(st):
            return "killed:" + signal.Signals(os.WTERMSIG(st)).name
        try:
            return json.loads(data)
        except ValueError:
            return "no result (status %d)" % st

    def syscall_attempt(nr, args):
        def fn():
            ctypes.set_errno(0)
            r = libc.syscall(L(nr), *[arg(a) for a in args])
            if r == -1:
                return ctypes.get_errno()
            return "ok"
        return fn

    def clone_attempt(flags):
        def fn():
            ctypes.set_errno(0)
            r = libc.syscall(L(56), L(flags | signal.SIGCHLD), L(0), L(0),
                             L(0), L(0))
            if r == 0:
                os._exit(0)                     # the new process
            if r == -1:
                return ctypes.get_errno()
            os.waitpid(r, 0)
            return "ok"
        return fn

    def socket_attempt(fam, typ, proto):
        def fn():
            ctypes.set_errno(0)
            r = libc.syscall(L(41), L(fam), L(typ), L(proto))
            if r == -1:
                return ctypes.get_errno()
            os.close(r)
            return "ok"
        return fn

    out = {}
    for name, (nr, args, _) in SYSCALLS.items():
        out[name] = in_child(syscall_attempt(nr, args))
    for name, flags in CLONE_NEW.items():
        out["clone_" + name] = in_child(clone_attempt(flags))
    out["control_clone_plain"] = in_child(clone_attempt(0))
    for name, flags in UNSHARE_NEW.items():
        out["unshare_" + name] = in_child(syscall_attempt(272, (flags,)))
    for name, (fam, typ, proto, _) in socket_probes().items():
        out[name] = in_child(socket_attempt(fam, typ, proto))

    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Seccomp", "Seccomp_filters", "NoNewPrivs", "CapEff",
                     "Uid"):
                status[k] = v.strip()
    out["_status"] = status
    print("PROBE " + json.dumps(out, sort_keys=True), flush=True)


if __name__ == "__main__":
    _main()
