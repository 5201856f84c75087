"""The seccomp filter, probed from inside the sandbox.

probe.py (sent as the code of one run) attempts every syscall that
SANDBOX-TARGET.md refuses with EPERM (ENOSYS for clone3), clone/unshare with
each CLONE_NEW* flag, socket() with each address family, ioctl TIOCSTI and
TIOCLINUX, plus positive controls; one test id per attempt.  The syscalls
that must KILL the run (SIGSYS), the x32 ABI and the i386 ABI (int 0x80)
get one run each."""

import os

import pytest

import probe
import sec_helpers as sh

show = sh.show

PROBE_SOURCE = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "probe.py")).read()
EXPECTED = probe.expected()


@pytest.fixture(scope="module")
def probe_result():
    token = sh.new_token()
    ex = sh.run(PROBE_SOURCE, timeout=20, http_timeout=60)
    assert ex["outcome"] == "completed", (
        "the seccomp probe itself did not complete: " + show(ex))
    r = sh.result(ex, "PROBE")
    assert isinstance(r, dict), show(ex)
    sh.assert_host_clean(token)
    return r


def test_seccomp_filter_active(probe_result):
    st = probe_result["_status"]
    assert st.get("Seccomp") == "2", "seccomp mode: %s" % show(st)
    assert st.get("NoNewPrivs") == "1", show(st)


def _errname(v):
    if isinstance(v, int):
        return "%d (%s)" % (v, os.strerror(v))
    return repr(v)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_refused_syscall(name, probe_result):
    want = EXPECTED[name]
    got = probe_result.get(name, "<not probed>")
    assert got == want, "%s: got %s, want %s" % (
        name, _errname(got), _errname(want))


def _assert_sigsys(ex):
    assert "SURVIVED" not in ex["stdout"], show(ex)
    assert ex["outcome"] == "signal", show(ex)
    assert ex["signal"] == "SIGSYS", show(ex)
    assert ex["exit_code"] is None, show(ex)


@pytest.mark.parametrize("name", sorted(probe.KILL_SYSCALLS))
def test_killed_syscall(name, token):
    ex = sh.run(probe.kill_program(name), timeout=5)
    try:
        _assert_sigsys(ex)
    finally:
        sh.assert_host_clean(token)


def _host_has_ia32():
    """Does this kernel run i386 system calls at all?  (Kernels built or
    booted without IA32 emulation answer int 0x80 with SIGSEGV before any
    filter sees it.)  Asked of the host, outside the sandbox."""
    import subprocess
    r = subprocess.run(["/usr/bin/python3", "-c", probe.I386_PROGRAM],
                       capture_output=True, timeout=30)
    return r.returncode == 0 and b"SURVIVED" in r.stdout


def test_i386_int80_killed(token):
    ex = sh.run(probe.I386_PROGRAM, timeout=5)
    try:
        if _host_has_ia32():
            _assert_sigsys(ex)
        else:
            # No i386 system call exists on this kernel: the wall is the
            # kernel's own, the call never ran.
            assert ex["outcome"] == "signal" and ex["signal"] == "SIGSEGV", show(ex)
            assert "SURVIVED" not in ex["stdout"], show(ex)
    finally:
        sh.assert_host_clean(token)
