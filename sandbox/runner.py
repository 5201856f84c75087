# pyexec runner: runs inside the sandbox, as the run's uid.  Each slot's
# launcher compiles it once at start (with the python the runs use) and
# puts the bytecode in the run's read-only root, and each run is
# `python3 -I -S -B -u /.pyexec/runner.pyc`.
#
# fd 3: the code (UTF-8), read to EOF then closed.
# fd 4: the report, one JSON object written once at the end:
#       {"exception": {"type": ..., "message": ..., "line": ...}} or {}.
#       Before the code runs it moves to the highest fd the run may have,
#       close-on-exec, so children never inherit it and fd sprays miss it.
#       The report describes the program's own exception: the worker takes
#       it only when it agrees with the exit status the kernel gave.
# fds 0-2 are the user's stdin, stdout and stderr; nothing is parsed from
# stdout.  The exit status is the program's (an uncaught exception: 1).
#
# -S skips `site`: it costs ~4 ms a run and would execute the host's .pth
# hooks and sitecustomize.  The runner adds what site adds that user code
# needs: Debian's dist-packages directories (numpy, pandas, ...) and the
# exit/quit/help builtins.  .pth files are not executed.
#
# The hot path uses only builtin modules (posix, sys): importing `os` alone
# costs ~0.7 ms, which a program that needs it pays itself.
import posix
import sys

_REPORT_FD = 4


def _site():
    import builtins
    import _sitebuiltins
    v = "%d.%d" % sys.version_info[:2]
    for d in ("/usr/local/lib/python%s/dist-packages" % v,
              "/usr/lib/python3/dist-packages",
              "/usr/lib/python%s/dist-packages" % v):
        try:
            posix.stat(d)
        except OSError:
            continue
        sys.path.append(d)
    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.help = _sitebuiltins._Helper()


def _hide_report_fd():
    """Moves the report pipe to the highest allowed fd, close-on-exec."""
    global _REPORT_FD
    top = posix.sysconf("SC_OPEN_MAX") - 1          # RLIMIT_NOFILE - 1
    _REPORT_FD = posix.dup2(4, max(top, 5), False)
    posix.close(4)


def _read_code():
    chunks = []
    while True:
        b = posix.read(3, 1 << 20)
        if not b:
            break
        chunks.append(b)
    posix.close(3)
    return b"".join(chunks).decode("utf-8")


def _user_line(tb):
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<string>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _report(obj):
    data = b"{}"
    if obj:
        import json
        data = json.dumps(obj, default=str).encode("utf-8", "replace")
    try:
        while data:
            n = posix.write(_REPORT_FD, data)
            data = data[n:]
    except OSError:
        pass


def _exit_code(e):
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _run(source):
    """Runs source as __main__; returns (exit status, exception info)."""
    try:
        code = compile(source, "<string>", "exec")
    except (SyntaxError, ValueError) as e:
        import traceback
        sys.stderr.write("".join(traceback.format_exception_only(type(e), e)))
        return 1, {"type": type(e).__name__,
                   "message": str(getattr(e, "msg", e)),
                   "line": getattr(e, "lineno", None)}
    main = type(sys)("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    except SystemExit as e:
        return _exit_code(e), None
    except BaseException as e:  # everything the program raised
        import traceback
        tb = e.__traceback__.tb_next if e.__traceback__ else None
        traceback.print_exception(type(e), e, tb)
        return 1, {"type": type(e).__name__, "message": str(e),
                   "line": _user_line(e.__traceback__)}
    return 0, None


def _main():
    import _signal
    # CPython ignores SIGXFSZ; a run past RLIMIT_FSIZE ends by the signal,
    # as the outcome "signal" with limit "file_size", like any program.
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    sys.argv[:] = ["-c"]        # as `python3 -c`: no script path to show
    _hide_report_fd()
    _site()
    status, exc_info = _run(_read_code())
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    _report({"exception": exc_info} if exc_info else None)
    posix.close(_REPORT_FD)
    sys.exit(status)


_main()
