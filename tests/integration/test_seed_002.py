"""Seed 002 (Flask + nsjail): POST /execute with {"script"} whose main() is
called; every example of its README and its error responses."""

import pytest

import pyexec_http as ph


def _post(body):
    # Seed 002 runs for up to 30 s (its fixed timeout): wait longer.
    resp = ph.request("POST", "/execute", body=body, timeout=60)
    assert resp.header("Content-Type", "").startswith("application/json"), ph.show(resp)
    return resp


def _ok(script):
    resp = _post({"script": script})
    assert resp.status == 200, ph.show(resp)
    assert set(resp.json) == {"result", "stdout"}, ph.show(resp)
    return resp.json


def _err(body, status):
    resp = _post(body)
    assert resp.status == status, ph.show(resp)
    assert set(resp.json) == {"error"}, ph.show(resp)
    return resp.json["error"]


def test_readme_request_example():
    j = _ok("def main():\n    return {'message': 'Hello, World!'}")
    assert j == {"result": {"message": "Hello, World!"}, "stdout": ""}, j


def test_readme_simple_return():
    j = _ok('def main():\n    return {"result": "success", "value": 42}')
    assert j["result"] == {"result": "success", "value": 42}, j


def test_readme_with_output():
    script = ('def main():\n    result = {"processed": True, "items": 10}\n'
              '    print(f"Processed {result[\'items\']} items")\n    return result')
    j = _ok(script)
    assert j == {"result": {"processed": True, "items": 10},
                 "stdout": "Processed 10 items\n"}, j


def test_readme_curl_examples():
    j = _ok("def main():\n    return {\"message\": \"Hello from local Docker!\"}")
    assert j["result"] == {"message": "Hello from local Docker!"}, j
    j = _ok("def main():\n    return {\"result\": \"Hello, World!\", \"timestamp\": \"2024-01-01\"}")
    assert j["result"] == {"result": "Hello, World!", "timestamp": "2024-01-01"}, j


def test_readme_numpy_pandas_example():
    j = _ok("import pandas as pd\nimport numpy as np\n\ndef main():\n"
            "    data = pd.DataFrame({\"values\": [1, 2, 3, 4, 5]})\n"
            "    return {\"mean\": float(np.mean(data[\"values\"])), \"sum\": int(data[\"values\"].sum())}")
    assert j["result"] == {"mean": 3.0, "sum": 15}, j


def test_numpy_values_become_json():
    j = _ok("import numpy as np\ndef main():\n    return {'a': np.arange(3), 'm': np.float64(2.5)}")
    assert j["result"] == {"a": [0, 1, 2], "m": 2.5}, j


def test_readme_error_handling_example():
    e = _err({"script": "def main():\n    raise ValueError(\"This is a test error\")"}, 400)
    assert e == "Script execution error: This is a test error", e


@pytest.mark.slow
def test_readme_error_responses():
    assert _err({"script": "print('no main')"}, 400) == "Script must contain a main() function"
    # a body no seed can be told from: 002's "error" and 003's (NVIDIA's)
    # keys both, since POST /execute is both of theirs
    resp = _post("this is not json")
    assert resp.status == 400, ph.show(resp)
    assert resp.json == {"error": "Request must be JSON", "process_status": "error",
                         "stdout": "", "stderr": "Request must be JSON"}, ph.show(resp)
    assert _err({"script": "def main():\n    return 1/0"}, 400) == \
        "Script execution error: division by zero"
    assert _err({"script": "import time\ndef main():\n    time.sleep(60)"}, 408) == \
        "Script execution timed out"


def test_other_refusals():
    e = _err({"script": "def main():\n    return {1, 2}"}, 400)
    # json.dumps's own words, as the original's jsonify would have failed
    assert e == "Script execution error: Object of type set is not JSON serializable", e
    e = _err({"script": "def main(:\n    pass"}, 400)
    assert e.startswith("Script execution error: "), e
    assert _err({"script": ""}, 400) == "script must be a non-empty string"
    assert _err({"script": 5}, 400) == "script must be a non-empty string"
