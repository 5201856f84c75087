"""Each outcome of a run, with the fields that go with it."""

import json
import os

import pyexec_http as ph

MB = 1024 * 1024
MAX_OUTPUT = int(os.environ.get("PYEXEC_MAX_OUTPUT_BYTES") or 1048576)


def test_completed():
    ex = ph.run('print("hello")')
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "hello\n", ph.show(ex)
    assert ex["stderr"] == "", ph.show(ex)
    assert ex["exit_code"] == 0, ph.show(ex)
    assert ex["signal"] is None, ph.show(ex)
    assert ex["limit"] is None, ph.show(ex)
    assert ex["exception"] is None, ph.show(ex)
    assert ex["truncated"] is False, ph.show(ex)
    assert ex["stdout_bytes"] == 6, ph.show(ex)
    assert ex["stderr_bytes"] == 0, ph.show(ex)
    assert ex["duration_ms"] > 0, ph.show(ex)
    assert ex["cpu_ms"] >= 0, ph.show(ex)
    # what the run added: a cold python is ~8 MB, a warm fork ~0.5 MB
    assert 64 * 1024 < ex["memory_peak_bytes"] < 64 * MB, ph.show(ex)


def test_text_summary_present():
    resp = ph.execute({"code": 'print("summary")'})
    ph.assert_success(resp)
    msg = resp.json["response"][0]["message"]
    assert isinstance(msg, str) and msg.strip(), ph.show(resp)


def test_multiline_code_and_unicode_output():
    code = "s = 'h\u00e9llo \u4e16\u754c'\nfor i in range(3):\n    print(i, s)\n"
    ex = ph.run(code)
    assert ex["outcome"] == "completed", ph.show(ex)
    expected = "".join("%d h\u00e9llo \u4e16\u754c\n" % i for i in range(3))
    assert ex["stdout"] == expected, ph.show(ex)
    assert ex["stdout_bytes"] == len(expected.encode("utf-8")), ph.show(ex)


def test_stdin_passed_through():
    code = "import sys\ndata = sys.stdin.read()\nprint(repr(data))\n"
    ex = ph.run(code, stdin="line one\nline two \u00e9\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == repr("line one\nline two \u00e9\n") + "\n", ph.show(ex)


def test_stdin_absent_reads_empty():
    code = "import sys\nprint(repr(sys.stdin.read()))\n"
    ex = ph.run(code, timeout=3)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "''\n", ph.show(ex)


def test_stderr_captured_separately():
    code = ("import sys\nprint('to-out')\nsys.stdout.flush()\n"
            "print('to-err', file=sys.stderr)\n")
    ex = ph.run(code)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "to-out\n", ph.show(ex)
    assert ex["stderr"] == "to-err\n", ph.show(ex)
    assert ex["stdout_bytes"] == 7 and ex["stderr_bytes"] == 7, ph.show(ex)


def test_error_exception():
    ex = ph.run("1/0")
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exit_code"] == 1, ph.show(ex)
    assert ex["signal"] is None, ph.show(ex)
    assert ex["limit"] is None, ph.show(ex)
    assert ex["exception"] is not None, ph.show(ex)
    assert ex["exception"]["type"] == "ZeroDivisionError", ph.show(ex)
    assert ex["exception"]["line"] == 1, ph.show(ex)
    assert "division by zero" in ex["exception"]["message"], ph.show(ex)
    assert "ZeroDivisionError" in ex["stderr"], ph.show(ex)


def test_error_exception_line_number():
    code = "x = 1\ny = 2\n\ndef f():\n    raise ValueError('bad value 42')\nf()\n"
    ex = ph.run(code)
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exception"]["type"] == "ValueError", ph.show(ex)
    assert ex["exception"]["message"] == "bad value 42", ph.show(ex)
    assert ex["exception"]["line"] in (5, 6), ph.show(ex)
    assert "ValueError" in ex["stderr"], ph.show(ex)


def test_exception_report_cannot_be_forged_by_stdout():
    # user code printing something that looks like a report changes nothing
    fake = json.dumps({"exception": {"type": "Forged", "line": 99}})
    ex = ph.run("print(%r)\n" % fake)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["exception"] is None, ph.show(ex)
    assert ex["stdout"] == fake + "\n", ph.show(ex)


def test_error_sys_exit():
    ex = ph.run("import sys\nprint('before exit')\nsys.exit(3)\n")
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exit_code"] == 3, ph.show(ex)
    assert ex["signal"] is None, ph.show(ex)
    assert ex["exception"] is None, ph.show(ex)
    assert ex["limit"] is None, ph.show(ex)
    assert ex["stdout"] == "before exit\n", ph.show(ex)


def test_sys_exit_zero_is_completed():
    ex = ph.run("import sys\nprint('bye')\nsys.exit(0)\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["exit_code"] == 0, ph.show(ex)
    assert ex["stdout"] == "bye\n", ph.show(ex)


def test_syntax_error():
    ex = ph.run("print('never')\ndef f(:\n    pass\n")
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exception"] is not None, ph.show(ex)
    assert ex["exception"]["type"] == "SyntaxError", ph.show(ex)
    assert isinstance(ex["exit_code"], int) and ex["exit_code"] != 0, ph.show(ex)
    assert "never" not in ex["stdout"], ph.show(ex)
    assert "SyntaxError" in ex["stderr"], ph.show(ex)


def test_timeout_busy_loop():
    ex = ph.run("print('start', flush=True)\nwhile True:\n    pass\n",
                timeout=1)
    assert ex["outcome"] == "timeout", ph.show(ex)
    assert ex["limit"] == "timeout", ph.show(ex)
    assert ex["signal"] == "SIGKILL", ph.show(ex)
    assert ex["exit_code"] is None, ph.show(ex)
    assert ex["exception"] is None, ph.show(ex)
    assert 1000 <= ex["duration_ms"] < 1600, ph.show(ex)
    assert ex["limits"]["timeout"] == 1, ph.show(ex)
    assert ex["stdout"] == "start\n", ph.show(ex)


def test_timeout_sleeping():
    ex = ph.run("import time\ntime.sleep(100)\nprint('woke')\n", timeout=1)
    assert ex["outcome"] == "timeout", ph.show(ex)
    assert ex["limit"] == "timeout", ph.show(ex)
    assert ex["exit_code"] is None, ph.show(ex)
    assert 1000 <= ex["duration_ms"] < 1600, ph.show(ex)
    assert "woke" not in ex["stdout"], ph.show(ex)
    # a sleeping process used (almost) no CPU, unlike the busy loop
    assert ex["cpu_ms"] < ex["duration_ms"], ph.show(ex)


def test_fractional_timeout():
    ex = ph.run("import time\ntime.sleep(10)\n", timeout=0.5)
    assert ex["outcome"] == "timeout", ph.show(ex)
    assert ex["limit"] == "timeout", ph.show(ex)
    assert 500 <= ex["duration_ms"] < 1100, ph.show(ex)


def test_memory_limit():
    code = ("b = bytearray(300 * 1024 * 1024)\n"
            "print('allocated', len(b))\n")
    ex = ph.run(code, memory_limit=100)
    assert ex["outcome"] == "memory_limit", ph.show(ex)
    assert ex["limit"] == "memory", ph.show(ex)
    assert ex["exit_code"] is None, ph.show(ex)
    assert "allocated" not in ex["stdout"], ph.show(ex)
    assert ex["limits"]["memory_limit_bytes"] == 100 * MB, ph.show(ex)


def test_memory_limit_gradual():
    # many small allocations rather than one big one
    code = ("chunks = []\n"
            "for i in range(400):\n"
            "    chunks.append(b'x' * (1024 * 1024))\n"
            "print('allocated', len(chunks))\n")
    ex = ph.run(code, memory_limit=64)
    assert ex["outcome"] == "memory_limit", ph.show(ex)
    assert ex["limit"] == "memory", ph.show(ex)
    assert "allocated" not in ex["stdout"], ph.show(ex)


def test_memory_error_raised_in_python_is_error():
    ex = ph.run("raise MemoryError()\n")
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["limit"] is None, ph.show(ex)
    assert ex["exit_code"] == 1, ph.show(ex)
    assert ex["exception"]["type"] == "MemoryError", ph.show(ex)


def test_memory_within_limit_completes():
    code = ("b = bytearray(50 * 1024 * 1024)\n"
            "print('allocated', len(b))\n")
    ex = ph.run(code, memory_limit=200)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "allocated %d\n" % (50 * MB), ph.show(ex)
    assert ex["memory_peak_bytes"] >= 50 * MB, ph.show(ex)


def test_output_limit_stdout():
    ex = ph.run("print('x' * (2 * 1024 * 1024))\n")
    assert ex["outcome"] == "output_limit", ph.show(ex)
    assert ex["limit"] == "output", ph.show(ex)
    assert ex["truncated"] is True, ph.show(ex)
    out = ex["stdout"].encode("utf-8")
    assert len(out) <= MAX_OUTPUT, len(out)
    assert len(out) + len(ex["stderr"].encode("utf-8")) <= MAX_OUTPUT
    assert len(out) > 0 and out.strip(b"x") == b"", out[:100]


def test_output_limit_counts_stdout_and_stderr_together():
    code = ("import sys\n"
            "sys.stdout.write('o' * (600 * 1024)); sys.stdout.flush()\n"
            "sys.stderr.write('e' * (600 * 1024)); sys.stderr.flush()\n"
            "print('END', flush=True)\n")
    ex = ph.run(code)
    assert ex["outcome"] == "output_limit", ph.show(ex)
    assert ex["limit"] == "output", ph.show(ex)
    assert ex["truncated"] is True, ph.show(ex)
    total = len(ex["stdout"].encode()) + len(ex["stderr"].encode())
    assert total <= MAX_OUTPUT, total
    assert "END" not in ex["stdout"], ex["stdout"][-100:]


def test_output_under_cap_is_complete():
    ex = ph.run("import sys\nsys.stdout.write('z' * 500000)\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["truncated"] is False, ph.show(ex)
    assert ex["stdout"] == "z" * 500000
    assert ex["stdout_bytes"] == 500000, ex["stdout_bytes"]


def test_signal_sigsegv():
    code = ("import os, signal, sys\nprint('pre', flush=True)\n"
            "os.kill(os.getpid(), signal.SIGSEGV)\n")
    ex = ph.run(code)
    assert ex["outcome"] == "signal", ph.show(ex)
    assert ex["signal"] == "SIGSEGV", ph.show(ex)
    assert ex["exit_code"] is None, ph.show(ex)
    assert ex["limit"] is None, ph.show(ex)
    assert ex["stdout"] == "pre\n", ph.show(ex)


def test_invalid_utf8_output():
    code = ("import sys\nsys.stdout.buffer.write(b'ok\\xff\\xfe\\n')\n"
            "sys.stdout.flush()\n"
            "sys.stderr.buffer.write(b'err\\xc3\\n')\n")
    resp = ph.execute({"code": code})
    # the raw body is strict UTF-8 and valid JSON
    resp.body.decode("utf-8")
    ex = ph.assert_success(resp)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"].startswith("ok"), ph.show(ex)
    assert "\ufffd" in ex["stdout"], ph.show(ex)
    assert ex["stdout"].endswith("\n"), ph.show(ex)
    assert ex["stderr"].startswith("err") and "\ufffd" in ex["stderr"], ph.show(ex)
    assert ex["stdout_bytes"] == 5, ph.show(ex)
