"""The real clients of seed 000 (the Together AI "Secure Python Code
Execution Service"), replayed against pyexec.

Upstream: the GitHub repository vivek711chaudhary/python-code-generator,
files scripts/test_api.py (a `requests` client with `--test-type
code|query|all` and `--query`) and scripts/run_api_tests.sh (curl calls),
with app/main.py for what the original answered.

Each test is one call the client makes, with the client's payload (its
own `timeout`, `memory_limit`, `cpu_limit`, `validate_code`), and asserts
what the client treats as success:

- test_api.py: `raise_for_status()` passes, then it prints
  `result['exit_code']`, `result['execution_time']` formatted `:.4f`,
  `result.get('validation_result')`, `result['stdout']`,
  `result['stderr']` (and `result['generated_code']` for a query): so a
  2xx JSON object with those keys, `execution_time` a number.  Before
  anything it needs `GET /health` to answer 200.
- run_api_tests.sh: `curl -s $API_URL/health` must connect (any status),
  then each call passes when its status is 2xx.

Beyond what the client checks, each test also asserts what the original
would have printed for the program (its stdout, exit code 0), and that no
`X-Pyexec-Timeout-Clamped` header came: none of these clients asks for a
timeout above 30 s (theirs are 5 and 10).

Differences from the client, on purpose:
- the clients send no API key; the test stack admits none without one, so
  each POST carries the test key (PYEXEC_TEST_KEY) in
  Integrations-API-Key (a deployment serving these clients unchanged lists
  their address in PYEXEC_ANONYMOUS_FROM instead).  The GETs of /health go
  keyless, as the clients send them.
- the model is the test stack's fake LLM (tests/fake-llm): it reviews any
  code as safe and answers every query with a program printing
  `fake-llm-ok`.  So the query cases are checked for the shape the client
  prints, not for primes or factorials; and the "unsafe" programs
  (test_api.py's UNSAFE_CODE, run_api_tests.sh's execute_unsafe), which
  the real Together model refused (the original then answered 400
  `Code validation failed: ...` and the client printed an API error), are
  run here, in the sandbox: their tests check that they ran confined.
"""

import json

import pytest

import pyexec_http as ph

CLAMP_HEADER = "X-Pyexec-Timeout-Clamped"


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _client_call(path, payload):
    """POST the client's JSON body (as `requests.post(json=...)` and
    `curl -H 'Content-Type: application/json' -d` send it)."""
    resp = ph.request("POST", path, body=json.dumps(payload).encode(),
                      headers={"Content-Type": "application/json"},
                      timeout=60)
    return resp


def _client_ok(resp, query=False):
    """What test_api.py needs to print its result without an API error;
    returns the JSON object."""
    assert 200 <= resp.status < 300, ph.show(resp)
    j = resp.json
    assert isinstance(j, dict), ph.show(resp)
    for k in ("exit_code", "execution_time", "stdout", "stderr"):
        assert k in j, "the client reads result[%r]: %s" % (k, ph.show(resp))
    assert _is_number(j["execution_time"]), ph.show(resp)   # "{:.4f}"
    if query:
        assert "generated_code" in j, ph.show(resp)
    assert resp.header(CLAMP_HEADER) is None, ph.show(resp)
    return j


# ------------------------------------------------- scripts/test_api.py

# test_api.py's two programs, as its triple-quoted strings hold them
# (a newline first and last).
FIB20 = ("\ndef fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
         "        a, b = b, a + b\n    return a\n\n"
         "result = fibonacci(20)\nprint(f\"Fibonacci(20) = {result}\")\n")
PROBE = ("\nimport os\nimport socket\n\n# Try to access files\ntry:\n"
         "    print(\"Files in root:\", os.listdir(\"/\"))\n"
         "except Exception as e:\n    print(f\"File access error: {e}\")\n\n"
         "# Try to make a network connection\ntry:\n"
         "    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
         "    s.connect((\"www.google.com\", 80))\n"
         "    print(\"Network connection successful\")\n    s.close()\n"
         "except Exception as e:\n    print(f\"Network connection error: {e}\")\n")

# its code-case body: timeout 5, 100m, half a core, validated
def _code_body(code):
    return {"code": code, "timeout": 5, "memory_limit": "100m",
            "cpu_limit": 0.5, "validate_code": True}


# its query-case body: timeout 10, 200m, half a core
def _query_body(query):
    return {"query": query, "timeout": 10, "memory_limit": "200m",
            "cpu_limit": 0.5}


def test_test_api_health_precheck():
    """test_api.py exits unless a keyless GET /health answers 200."""
    resp = ph.request("GET", "/health", auth=None, timeout=10)
    assert resp.status == 200, ph.show(resp)


def test_test_api_code_safe():
    """--test-type code, first case: the Fibonacci program."""
    j = _client_ok(_client_call("/execute", _code_body(FIB20)))
    assert j["exit_code"] == 0 and j["stdout"] == "Fibonacci(20) = 6765\n", j
    assert j["stderr"] == "", j
    assert j["validation_result"] == "Code is safe to execute.", j


def test_test_api_code_unsafe():
    """--test-type code, second case: the file and network probe (which
    the fake model passes; see the module docstring)."""
    j = _client_ok(_client_call("/execute", _code_body(PROBE)))
    assert j["exit_code"] == 0, j
    assert "Network connection error: " in j["stdout"], j
    assert "Network connection successful" not in j["stdout"], j


TEST_QUERIES = [
    "Calculate the first 10 prime numbers and display them",
    "Create a simple text-based game where I guess a random number between 1 and 100",
    "Analyze the Collatz conjecture for starting values from 1 to 20 and show "
    "which number takes the most steps to reach 1",
    # the README's `--test-type query --query "Calculate factorial of 10"`
    "Calculate factorial of 10",
]


@pytest.mark.parametrize("query", TEST_QUERIES,
                         ids=["primes", "guessing_game", "collatz", "custom_factorial"])
def test_test_api_query(query):
    """--test-type query: the three sample queries and a --query one."""
    j = _client_ok(_client_call("/generate-and-execute", _query_body(query)),
                   query=True)
    assert j["query"] == query, j
    assert j["exit_code"] == 0 and j["stdout"] == "fake-llm-ok\n", j
    assert j["validation_result"] == "Code is safe to execute.", j


# -------------------------------------------- scripts/run_api_tests.sh

def test_run_api_tests_precheck():
    """`curl -s $API_URL/health > /dev/null`: any HTTP answer will do."""
    resp = ph.raw_request("GET", "/health", timeout=10)
    assert 100 <= resp.status < 600, ph.show(resp)


def test_run_api_tests_health_check():
    """1. health_check: GET /health, keyless; 2xx passes."""
    resp = ph.raw_request("GET", "/health", timeout=10)
    assert 200 <= resp.status < 300, ph.show(resp)
    assert resp.json.get("status") == "healthy", ph.show(resp)


RUN_API_TESTS_EXECUTE = {
    "execute_fibonacci": (
        {"code": "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
                 "        a, b = b, a + b\n    return a\n\n"
                 "result = fibonacci(10)\nprint(f\"Fibonacci(10) = {result}\")",
         "timeout": 5, "memory_limit": "100m", "cpu_limit": 0.5,
         "validate_code": True},
        "Fibonacci(10) = 55\n"),
    "execute_hello_world": (
        {"code": "print(\"Hello, World!\")", "timeout": 5,
         "memory_limit": "100m", "cpu_limit": 0.5, "validate_code": False},
        "Hello, World!\n"),
    # "Should Fail Validation" says the script; the fake model passes it
    "execute_unsafe": (
        {"code": "import os\nprint(\"Files in root directory:\", os.listdir(\"/\"))",
         "timeout": 5, "memory_limit": "100m", "cpu_limit": 0.5,
         "validate_code": True},
        None),
}


@pytest.mark.parametrize("name", sorted(RUN_API_TESTS_EXECUTE))
def test_run_api_tests_execute(name):
    """2-4: POST /execute; 2xx passes."""
    body, stdout = RUN_API_TESTS_EXECUTE[name]
    j = _client_ok(_client_call("/execute", body))
    assert j["original_code"] == body["code"], j
    if stdout is not None:
        assert j["exit_code"] == 0 and j["stdout"] == stdout, j
    else:
        # run, confined: the sandbox's root, not the host's
        assert j["exit_code"] == 0, j
        assert j["stdout"].startswith("Files in root directory: ["), j
    if body["validate_code"]:
        assert j["validation_result"] == "Code is safe to execute.", j
    else:
        assert j["validation_result"] is None, j


RUN_API_TESTS_GENERATE = {
    "generate_prime_numbers": {"query": "Calculate the first 10 prime numbers",
                               "timeout": 10, "memory_limit": "100m",
                               "cpu_limit": 0.5},
    "generate_factorial": {"query": "Calculate the factorial of 10",
                           "timeout": 5, "memory_limit": "100m",
                           "cpu_limit": 0.5},
}


@pytest.mark.parametrize("name", sorted(RUN_API_TESTS_GENERATE))
def test_run_api_tests_generate(name):
    """5-6: POST /generate-and-execute; 2xx passes."""
    body = RUN_API_TESTS_GENERATE[name]
    j = _client_ok(_client_call("/generate-and-execute", body), query=True)
    assert j["query"] == body["query"], j
    assert j["exit_code"] == 0 and j["stdout"] == "fake-llm-ok\n", j
