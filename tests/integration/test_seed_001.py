"""Seed 001 (IBM Python Code Executor): its two routes, always HTTP 200 with
one text item, the README's examples and messages, the AST policy (run
inside the sandbox) and the input length limit."""

import re

import pytest

import pyexec_http as ph

EXEC = "/system/python_executor/execute_code/invoke"
GEN = "/experience/python_executor/generate_and_execute/invoke"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _msg(path, body):
    resp = ph.request("POST", path, body=body, timeout=30)
    assert resp.status == 200, ph.show(resp)
    j = resp.json
    assert j["status"] == "success" and UUID4.match(j["invocationId"]), j
    assert len(j["response"]) == 1 and j["response"][0]["type"] == "text", j
    return j["response"][0]["message"]


def _executed(code, result):
    return ("The Python code executed was:\n\n%s\n\nThe result of the execution "
            "is:\n\n%s" % (code, result))


def test_readme_executing_python_code():
    code = ("def custom_sum(numbers):\n    return sum(numbers)\n"
            "numbers = [1, 2, 3, 4, 5]\nresult = custom_sum(numbers)\nprint(result)")
    assert _msg(EXEC, {"code": code}) == _executed(code, "15")


def test_readme_fibonacci():
    code = ("def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
            "        a, b = b, a + b\n    return a\n\n"
            "result = [fibonacci(i) for i in range(10)]")
    assert _msg(EXEC, {"code": code}) == _executed(code, "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]")


def test_readme_generating_and_executing():
    for query in ("Calculate the factorial of 5", "Generate a list of prime numbers up to 50"):
        m = _msg(GEN, {"query": query})
        assert m.startswith("The Python code executed was:\n\nprint('fake-llm-ok')"), m
        assert m.endswith("The result of the execution is:\n\nfake-llm-ok"), m


@pytest.mark.slow
def test_readme_error_messages():
    assert _msg(EXEC, {"code": "import os\nprint(os.getcwd())"}) == \
        "Invalid input: Potentially unsafe code detected"
    assert _msg(EXEC, {"code": "while True: pass"}) == "Execution timed out after 5 seconds"
    assert _msg(EXEC, {"code": "b = b'x' * (300 << 20)"}) == "Memory limit exceeded: 100MB"
    assert _msg(EXEC, {"code": "x = 1 / 0"}) == "Execution error: division by zero"


def test_the_policy_lists():
    for code in ("import subprocess", "from shutil import rmtree", "import socket as s",
                 "import sys", "eval('1')", "exec('x = 1')", "compile('1', 'f', 'eval')",
                 "__import__('os')", "f = lambda: 0\nf.__globals__",
                 "x = ().__class__", "object.__getattribute__(1, 'real')"):
        assert _msg(EXEC, {"code": code}) == \
            "Invalid input: Potentially unsafe code detected", code


def test_what_the_original_refused_now_works():
    code = ("import math, json\ndef area(r):\n    return math.pi * r * r\n"
            "a, b = 1, 2\ntotal = 0\nfor x in (a, b):\n    total += x\n"
            "result = {'total': total, 'area': round(area(1), 2), 'j': json.dumps([1])}")
    assert _msg(EXEC, {"code": code}) == _executed(
        code, "{'total': 3, 'area': 3.14, 'j': '[1]'}")


def test_input_length_is_limited():
    assert _msg(EXEC, {"code": "x = 1\n" + "#" * 1000}) == \
        "Invalid input: Input exceeds the maximum length of 1000 characters"
    assert _msg(GEN, {"query": "q" * 1001}) == \
        "Invalid input: Input exceeds the maximum length of 1000 characters"
    assert _msg(EXEC, {"code": 5}).startswith("Invalid input: ")
    assert _msg(EXEC, {}).startswith("Invalid input: ")


def test_generation_failure_is_a_message():
    m = _msg(GEN, {"query": "anything [mode:error500]"})
    assert m.startswith("Code generation failed: "), m
    assert "test-llm-key" not in m, m


def test_missing_or_wrong_key_is_401():
    for path in (EXEC, GEN):
        resp = ph.request("POST", path, body={"code": "print(1)"}, auth=None)
        ph.assert_error(resp, 401, "unauthorized")
