"""Seed 004 (FastAPI execution agent): POST /api/v1/execute, every example
of its README, and its 422s."""

import pytest

import pyexec_http as ph


def _post(body):
    resp = ph.request("POST", "/api/v1/execute", body=body)
    assert resp.header("Content-Type", "").startswith("application/json"), ph.show(resp)
    return resp


def _ok(body):
    resp = _post(body)
    assert resp.status == 200, ph.show(resp)
    j = resp.json
    assert set(j) == {"status", "stdout", "stderr", "execution_time",
                      "return_code"}, ph.show(resp)
    assert isinstance(j["execution_time"], float) and 0 < j["execution_time"] < 30, j
    return j


def test_readme_request_body_example():
    j = _ok({"code": "print('Hello, World!')\nresult = 2 + 2\nprint(f'Result: {result}')",
             "timeout": 5})
    assert j["status"] == "success" and j["return_code"] == 0, j
    assert j["stdout"] == "Hello, World!\nResult: 4\n" and j["stderr"] == "", j


def test_readme_simple_calculation():
    j = _ok({"code": "x = 10\ny = 20\nprint(f\"Sum: {x + y}\")", "timeout": 5})
    assert j["status"] == "success" and j["stdout"] == "Sum: 30\n", j


def test_readme_error_handling():
    j = _ok({"code": "print(undefined_variable)", "timeout": 5})
    assert j["status"] == "error" and j["return_code"] == 1, j
    assert "NameError: name 'undefined_variable' is not defined" in j["stderr"], j


@pytest.mark.slow
def test_readme_timeout_test():
    j = _ok({"code": "import time\ntime.sleep(10)", "timeout": 2})
    assert j["status"] == "timeout" and j["return_code"] == -9, j
    assert j["stderr"].endswith("time limit was reached.\n"), j
    assert 2.0 <= j["execution_time"] < 2.5, j


def test_default_timeout_is_5_and_other_failures_are_failed():
    j = _ok({"code": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"})
    assert j["status"] == "failed" and j["return_code"] == -11, j
    j = _ok({"code": "import sys; sys.exit(4)", "extra": "ignored like FastAPI"})
    assert j["status"] == "error" and j["return_code"] == 4, j


def test_invalid_bodies_are_422_in_fastapi_shape():
    for body, loc, typ in (
            ({"timeout": 5}, ["body", "code"], "value_error.missing"),
            ({"code": 5}, ["body", "code"], "type_error.str"),
            ({"code": "1", "timeout": 31}, ["body", "timeout"], "value_error.number"),
            ({"code": "1", "timeout": 0}, ["body", "timeout"], "value_error.number"),
            ({"code": "1", "timeout": "5"}, ["body", "timeout"], "value_error.number"),
            ("not json", ["body"], "value_error.jsondecode")):
        resp = _post(body)
        assert resp.status == 422, ph.show(resp)
        d = resp.json["detail"]
        assert isinstance(d, list) and len(d) == 1, ph.show(resp)
        assert d[0]["loc"] == loc and d[0]["type"] == typ and d[0]["msg"], ph.show(resp)
