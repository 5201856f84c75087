"""The real clients of seed 001 (IBM's "Python Code Executor", Mihai
Criveti), replayed against pyexec.

Upstream: the GitHub repository P12345689/ica_integrations_host-main (a
copy of IBM's ica_integrations_host), files
- app/routes/python_executor/README.md: the four curl examples of
  "Usage Examples";
- tests/python_executor_router_test.py: its six pytest cases (each sends
  Content-Type and Integrations-API-Key and asserts only status 200);
- app/routes/health/health_router.py and app/server.py: `/health` is
  `api_route("/health", methods=["GET", "POST", "PUT", "DELETE"])`
  returning the string "OK" (FastAPI: 200, `application/json`, body
  `"OK"`), and the auth middleware lets every path starting with /health
  through without a key.

Every call carries the test key (PYEXEC_TEST_KEY) where the client sends
`Integrations-API-Key: dev-only-token`: an operator admits a token by
listing it.  The model is the test stack's fake LLM (tests/fake-llm),
whose program prints `fake-llm-ok` for any query: the generate examples
are checked for the README's message shape, not for 120 or the primes.
"""

import json

import pytest

import pyexec_http as ph

EXEC = "/system/python_executor/execute_code/invoke"
GEN = "/experience/python_executor/generate_and_execute/invoke"


def _invoke(path, payload):
    """POST as the curl examples and the httpx client send it."""
    return ph.request("POST", path, body=json.dumps(payload).encode(),
                      headers={"Content-Type": "application/json"},
                      timeout=60)


def _message(resp):
    """The one text item of the always-200 envelope (OutputModel)."""
    assert resp.status == 200, ph.show(resp)
    j = resp.json
    assert isinstance(j, dict), ph.show(resp)
    assert j.get("status") == "success", ph.show(resp)
    assert isinstance(j.get("invocationId"), str) and \
        ph.UUID4_RE.match(j["invocationId"]), ph.show(resp)
    items = j.get("response")
    assert isinstance(items, list) and len(items) == 1, ph.show(resp)
    assert items[0].get("type") == "text", ph.show(resp)
    assert isinstance(items[0].get("message"), str), ph.show(resp)
    return items[0]["message"]


def _executed(code, result):
    return ("The Python code executed was:\n\n" + code +
            "\n\nThe result of the execution is:\n\n" + result)


# -------------------------------------- README.md, "Usage Examples" (curl)

CUSTOM_SUM = ("def custom_sum(numbers):\n    return sum(numbers)\n"
              "numbers = [1, 2, 3, 4, 5]\nresult = custom_sum(numbers)\n"
              "print(result)")
FIBONACCI = ("def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
             "        a, b = b, a + b\n    return a\n\n"
             "result = [fibonacci(i) for i in range(10)]")


def test_readme_1_executing_python_code():
    """The README shows this answer's code as two other lines
    (`numbers = [1, 2, 3, 4, 5]\\nresult = sum(numbers)`): the README's
    own slip; the code echoed is the code sent, the result 15."""
    m = _message(_invoke(EXEC, {"code": CUSTOM_SUM}))
    assert m == _executed(CUSTOM_SUM, "15"), m


@pytest.mark.parametrize("query", ["Calculate the factorial of 5",
                                   "Generate a list of prime numbers up to 50"],
                         ids=["2_factorial", "4_primes"])
def test_readme_generating_and_executing(query):
    """Examples 2 and 4: the message's shape (the fake model's program)."""
    m = _message(_invoke(GEN, {"query": query}))
    assert m.startswith("The Python code executed was:\n\n"), m
    assert m.endswith("\n\nThe result of the execution is:\n\nfake-llm-ok"), m


def test_readme_3_fibonacci():
    m = _message(_invoke(EXEC, {"code": FIBONACCI}))
    assert m == _executed(FIBONACCI, "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]"), m


# --------------------------- tests/python_executor_router_test.py (6 cases)

PYTEST_CASES = [
    ("execute", EXEC, {"code": CUSTOM_SUM}),
    ("empty_code", EXEC, {"code": ""}),
    ("wrong_code", EXEC, {"code": "def custom_sum(numbers):\n    return WRONG "
                          "VARIABLE NAME\nnumbers = [1, 2, 3, 4, 5]\n"
                          "result = custom_sum(numbers)\nprint(result)"}),
    ("generate", GEN, {"query": "Calculate the factorial of 5"}),
    ("generate_no_query", GEN, {"query": ""}),
    ("generate_wrong_query", GEN, {"query": "aaa"}),
]


@pytest.mark.parametrize("path,payload", [c[1:] for c in PYTEST_CASES],
                         ids=[c[0] for c in PYTEST_CASES])
def test_pytest_case(path, payload):
    """The client asserts status 200 only; the envelope is the original's
    OutputModel, whatever the message."""
    resp = _invoke(path, payload)
    assert resp.status == 200, ph.show(resp)
    _message(resp)


# ------------------------------------------------------------- POST /health

@pytest.mark.parametrize("keyed", [False, True], ids=["keyless", "keyed"])
def test_post_health_answers_ok(keyed):
    """The original answers any POST /health (key or none, body or none)
    200 with the JSON string "OK"."""
    resp = ph.request("POST", "/health", auth="integrations" if keyed else None,
                      timeout=10)
    assert resp.status == 200, ph.show(resp)
    ph.assert_json_content_type(resp)
    assert resp.json == "OK", ph.show(resp)
    assert resp.body.strip() == b'"OK"', ph.show(resp)
