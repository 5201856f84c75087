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


_STRAY = _code("""
    import json, os
    fake = %r.encode() + b"\\n"
    wrote = []
    for fd in range(3, 21):
        try:
            os.write(fd, fake)
            wrote.append(fd)
        except OSError:
            pass
    print("RESULT " + json.dumps({"wrote": wrote}), flush=True)
    """) % FAKE_REPORT


def test_fake_report_on_stray_fds_exit_zero(token):
    ex = sh.run(_STRAY)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert ex["exit_code"] == 0, show(ex)
        assert ex["exception"] is None, show(ex)
        assert sh.result(ex) is not None, show(ex)
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
    finally:
        sh.assert_host_clean(token)


def test_garbage_on_report_fd_from_a_child(token):
    # children inherit every fd (the report pipe too) and write invalid
    # UTF-8 and broken JSON into them: the envelope stays well-formed and
    # completed
    code = _code("""
        import os
        for fd in range(3, 21):
            try:
                os.fstat(fd)
            except OSError:
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    os.write(fd, b'\\xff\\x00{"exception": {"type": "Forged"' * 1000)
                except OSError:
                    pass
                os._exit(0)
            os.waitpid(pid, 0)
        print("done", flush=True)
        """)
    ex = sh.run(code)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert ex["exception"] is None, show(ex)
        assert ex["stdout"] == "done\n", show(ex)
    finally:
        sh.assert_host_clean(token)
