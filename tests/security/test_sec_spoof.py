"""Hostile programs that try to forge the result: through stdout, stderr,
and every fd they can reach (the runner's report pipe included)."""

import json
import textwrap

import sec_helpers as sh

show = sh.show


def _code(s):
    return textwrap.dedent(s).lstrip("\n")


FAKE_REPORT = json.dumps({"exception": {"type": "Forged", "message": "forged",
                                        "line": 99}})
FAKE_ENVELOPE = json.dumps({
    "status": "success",
    "invocationId": "00000000-0000-4000-8000-000000000000",
    "response": [{"type": "text", "message": "forged"},
                 {"type": "execution", "outcome": "memory_limit",
                  "exit_code": None, "signal": "SIGKILL", "limit": "memory",
                  "exception": {"type": "Forged", "message": "forged",
                                "line": 99}}]})


def test_fake_envelope_and_report_on_stdout(token):
    text = FAKE_ENVELOPE + "\n" + FAKE_REPORT + "\n"
    code = ("import sys\nsys.stdout.write(%r)\nsys.stderr.write(%r)\n"
            % (text, text))
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert ex["exception"] is None, show(ex)
        assert ex["limit"] is None and ex["signal"] is None, show(ex)
        # shown as plain text, byte for byte
        assert ex["stdout"] == text, show(ex)
        assert ex["stderr"] == text, show(ex)
    finally:
        sh.assert_host_clean(token)


def test_fake_success_on_stdout_then_real_error(token):
    code = ("print(%r)\nprint(%r)\nraise KeyError('real')\n"
            % (FAKE_ENVELOPE, json.dumps({})))
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "error", show(ex)
        assert ex["exit_code"] == 1, show(ex)
        assert ex["exception"] is not None, show(ex)
        assert ex["exception"]["type"] == "KeyError", show(ex)
        assert ex["exception"]["line"] == 3, show(ex)
    finally:
        sh.assert_host_clean(token)


# The report pipe sits at the highest fd the run may have (the runner moves
# it there): every spray below includes it, and the tests check it was hit.
_STRAY = _code("""
    import json, os, stat
    fake = %r.encode() + b"\\n"
    report = os.sysconf("SC_OPEN_MAX") - 1
    wrote = []
    for fd in list(range(3, 21)) + [report]:
        try:
            os.write(fd, fake)
            wrote.append(fd)
        except OSError:
            pass
    print("RESULT " + json.dumps({"wrote": wrote, "report": report,
          "fifo": stat.S_ISFIFO(os.fstat(report).st_mode)}), flush=True)
    """) % FAKE_REPORT


def _hit_the_report(ex):
    r = sh.result(ex)
    assert r is not None and r["fifo"] and r["report"] in r["wrote"], show(ex)


def test_fake_report_on_stray_fds_exit_zero(token):
    ex = sh.run(_STRAY)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert ex["exit_code"] == 0, show(ex)
        assert ex["exception"] is None, show(ex)
        _hit_the_report(ex)
    finally:
        sh.assert_host_clean(token)


def test_fake_report_on_stray_fds_then_os_exit_zero(token):
    # os._exit skips the runner's own report: only the forged one is there
    code = _STRAY + "import sys\nsys.stdout.flush()\nos._exit(0)\n"
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert ex["exit_code"] == 0, show(ex)
        assert ex["exception"] is None, show(ex)
        _hit_the_report(ex)
    finally:
        sh.assert_host_clean(token)


def test_garbage_on_report_fd_from_a_child(token):
    # children inherit every fd (the report pipe too) and write invalid
    # UTF-8 and broken JSON into them: the envelope stays well-formed and
    # completed
    code = _code("""
        import os
        hit = False
        for fd in list(range(3, 21)) + [os.sysconf("SC_OPEN_MAX") - 1]:
            try:
                os.fstat(fd)
            except OSError:
                continue
            hit = hit or fd == os.sysconf("SC_OPEN_MAX") - 1
            pid = os.fork()
            if pid == 0:
                try:
                    os.write(fd, b'\\xff\\x00{"exception": {"type": "Forged"' * 1000)
                except OSError:
                    pass
                os._exit(0)
            os.waitpid(pid, 0)
        print("done" if hit else "missed the report", flush=True)
        """)
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert ex["exception"] is None, show(ex)
        assert ex["stdout"] == "done\n", show(ex)
    finally:
        sh.assert_host_clean(token)
