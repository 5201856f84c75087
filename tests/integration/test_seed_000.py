"""Seed 000 (Together AI service): POST /execute with {"code", ...}; the
README's examples (validate_code goes to the test stack's fake LLM)."""

import pyexec_http as ph


def _post(body):
    resp = ph.request("POST", "/execute", body=body, timeout=30)
    assert resp.header("Content-Type", "").startswith("application/json"), ph.show(resp)
    return resp


def _ok(body):
    resp = _post(body)
    assert resp.status == 200, ph.show(resp)
    j = resp.json
    assert set(j) == {"stdout", "stderr", "exit_code", "execution_time",
                      "original_code", "executed_code", "validation_result"}, j
    assert j["original_code"] == body["code"] == j["executed_code"], j
    assert isinstance(j["execution_time"], float), j
    return j


def test_readme_execute_with_validation():
    j = _ok({"code": "print('Hello, world!')", "timeout": 10,
             "memory_limit": "100m", "cpu_limit": 0.5, "validate_code": True})
    assert j["stdout"] == "Hello, world!\n" and j["exit_code"] == 0, j
    assert j["validation_result"].startswith("Code is safe to execute."), j


def test_readme_curl_without_validation():
    j = _ok({"code": "print(\"Hello, World!\")", "timeout": 5,
             "memory_limit": "100m", "cpu_limit": 0.5, "validate_code": False})
    assert j["stdout"] == "Hello, World!\n" and j["exit_code"] == 0, j
    assert j["validation_result"] is None, j


def test_exit_code_is_the_real_one():
    assert _ok({"code": "import sys; sys.exit(7)"})["exit_code"] == 7
    j = _ok({"code": "1/0"})
    assert j["exit_code"] == 1 and "ZeroDivisionError" in j["stderr"], j
    # killed: docker's 128 + SIGKILL, and why in stderr
    j = _ok({"code": "while True: pass", "timeout": 1})
    assert j["exit_code"] == 137, j
    assert j["stderr"].endswith("Stopped: the 1 s time limit was reached.\n"), j
    j = _ok({"code": "x = bytearray(400 * 2**20)", "memory_limit": "100m"})
    assert j["exit_code"] == 137 or "MemoryError" in j["stderr"], j
    assert "memory limit" in j["stderr"] or "MemoryError" in j["stderr"], j


def test_unsafe_code_is_not_executed():
    # the service's own answer: FastAPI's 400 {"detail": "Code validation
    # failed: ..."} (its test_api.py prints "API Error" for it)
    resp = _post({"code": "# [mode:review_unsafe]\nprint('must not run')",
                  "validate_code": True})
    assert resp.status == 400, ph.show(resp)
    assert resp.json["detail"].startswith("Code validation failed: Code is unsafe"), \
        ph.show(resp)
    assert "must not run" not in resp.body.decode(), ph.show(resp)


def test_invalid_bodies_are_422():
    for body, loc in (({"code": "1", "timeout": "ten"}, ["body", "timeout"]),
                      ({"code": "1", "memory_limit": "1t"}, ["body", "memory_limit"]),
                      ({"code": ""}, ["body", "code"])):
        resp = _post(body)
        assert resp.status == 422, ph.show(resp)
        d = resp.json["detail"]
        assert d[0]["loc"] == loc and d[0]["msg"], ph.show(resp)


def test_a_timeout_past_the_bounds_is_clamped_and_said():
    # the seed's timeout had no cap: one past the bounds runs at the bound
    resp = _post({"code": "print('ran')", "timeout": 600, "validate_code": False})
    assert resp.status == 200 and resp.json["stdout"] == "ran\n", ph.show(resp)
    assert resp.header("X-Pyexec-Timeout-Clamped") == "requested=600; applied=30", \
        ph.show(resp)
    resp = _post({"code": "print('ran')", "timeout": 0, "validate_code": False})
    assert resp.status == 200, ph.show(resp)
    assert resp.header("X-Pyexec-Timeout-Clamped") == "requested=0; applied=0.1", \
        ph.show(resp)


def test_a_body_for_no_seed_is_a_clear_400():
    resp = _post({"program": "print(1)"})
    assert resp.status == 400, ph.show(resp)
    assert "code" in resp.json["error"] and "script" in resp.json["error"], ph.show(resp)


# ---- POST /generate-and-execute (the model is the test stack's fake LLM)

def _gen(body):
    resp = ph.request("POST", "/generate-and-execute", body=body, timeout=30)
    assert resp.header("Content-Type", "").startswith("application/json"), ph.show(resp)
    return resp


def test_readme_generate_and_execute():
    body = {"query": "Calculate the first 10 prime numbers", "timeout": 15,
            "memory_limit": "200m", "cpu_limit": 0.5}
    resp = _gen(body)
    assert resp.status == 200, ph.show(resp)
    j = resp.json
    assert set(j) == {"query", "generated_code", "stdout", "stderr", "exit_code",
                      "execution_time", "validation_result"}, j
    assert j["query"] == body["query"], j
    assert "print(" in j["generated_code"], j
    assert j["stdout"] == "fake-llm-ok\n" and j["exit_code"] == 0, j
    assert j["validation_result"] == "Code is safe to execute.", j


def test_readme_curl_generate():
    resp = _gen({"query": "Calculate the first 10 prime numbers", "timeout": 10,
                 "memory_limit": "100m", "cpu_limit": 0.5})
    assert resp.status == 200 and resp.json["exit_code"] == 0, ph.show(resp)


def test_generate_unsafe_is_not_run():
    resp = _gen({"query": "wipe the disk [mode:unsafe]"})
    assert resp.status == 400, ph.show(resp)
    assert resp.json["detail"].startswith(
        "Generated code validation failed: Code is unsafe: "), ph.show(resp)


def test_generation_failure_is_400_detail():
    resp = _gen({"query": "anything [mode:error500]"})
    assert resp.status == 400, ph.show(resp)
    assert resp.json["detail"].startswith("Code generation failed: "), ph.show(resp)
    assert "test-llm-key" not in resp.text, ph.show(resp)


def test_generate_invalid_body_is_422():
    resp = _gen({"timeout": 5})
    assert resp.status == 422, ph.show(resp)
    assert resp.json["detail"][0]["loc"] == ["body", "query"], ph.show(resp)
