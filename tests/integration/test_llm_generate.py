"""POST /v1/generate-and-execute against the fake LLM (tests/fake-llm).

The stack's model is the fake that `tests/run` starts (PYEXEC_LLM_URL,
key PYEXEC_TEST_LLM_KEY, PYEXEC_LLM_TIMEOUT=5); each test picks the fake's
behaviour with a "[mode:NAME]" marker in its query and finds its own requests
in the fake's log by a unique token.  Two private stacks cover the settings
the shared one cannot have: no key at all, and a model that refuses
connections.
"""

import json
import os
import socket
import subprocess
import time

import pytest

import llm_helpers as lh
import pyexec_http as ph


@pytest.fixture(autouse=True, scope="module")
def _llm_env():
    lh.require_env()


def _single(mode, **fields):
    """One generate request in `mode`; returns (response, token, query)."""
    tok = lh.token()
    q = lh.query(mode, tok)
    payload = {"query": q}
    payload.update(fields)
    return lh.generate(payload), tok, q


# ------------------------------------------------------------ code extraction

EXTRACTION = [
    # mode, stdout, a line the code has, a text the code must not have
    ("json", "fake-llm-ok\n", "print('fake-llm-ok')", None),
    ("fenced", "fake-llm-ok fenced\n", "print('fake-llm-ok fenced')", "```"),
    ("several", "fake-llm-ok first\n", "print('fake-llm-ok first')", "WRONG-second-block"),
    ("bare", "fake-llm-ok bare\n", "print('fake-llm-ok bare')", "```"),
]


@pytest.mark.parametrize("mode,stdout,line,absent", EXTRACTION,
                         ids=[e[0] for e in EXTRACTION])
def test_generate_extracts_and_runs(mode, stdout, line, absent):
    resp, tok, q = _single(mode)
    (pairs, usage) = lh.assert_generated(resp, attempts=1)
    code, ex = pairs[0]
    assert line in code["code"].splitlines(), ph.show(code)
    if absent is not None:
        assert absent not in code["code"], ph.show(code)
    if mode == "json":
        assert code["explanation"] == "Prints the marker fake-llm-ok.", ph.show(code)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == stdout and ex["stderr"] == "", ph.show(ex)

    recs = lh.fake_records(tok)
    assert len(recs) == 1, ph.show(recs)
    lh.assert_chat_request(recs[0], last_user=q)
    assert usage["llm_calls"] == 1, ph.show(usage)
    lh.assert_usage_matches(usage, recs)
    lh.assert_no_secret(resp.body, "the response")


def test_request_sent_to_the_model():
    """Path, bearer key, model, parameters, a system prompt, and the query
    verbatim as the last user message (unicode, quotes, backslashes, tabs,
    newlines, carriage returns)."""
    tok = lh.token()
    q = ('Compute "primes" \\ backslash\ttab\r\nnew line — ünïcödé ✓ 🐍 '
         "{\"code\": \"not this\"} ```python\nprint('nor this')\n``` "
         "[mode:json] " + tok)
    resp = lh.generate({"query": q, "max_attempts": 1})
    (pairs, usage) = lh.assert_generated(resp)
    assert pairs[0][1]["stdout"] == "fake-llm-ok\n", ph.show(resp)
    recs = lh.fake_records(tok)
    assert len(recs) == 1, ph.show(recs)
    body = lh.assert_chat_request(recs[0], last_user=q)
    msgs = body["messages"]
    assert [m["role"] for m in msgs] == ["system", "user"], ph.show(body)
    # the system prompt asks for the JSON object with the four fields
    for f in ("code", "explanation", "safe", "concerns"):
        assert f in msgs[0]["content"], ph.show(msgs[0])
    assert lh.llm_key() not in json.dumps(body), "the key is in the prompt"


def test_unsafe_code_is_rejected_and_not_run():
    resp, tok, q = _single("unsafe")
    (pairs, usage) = lh.assert_generated(resp)
    code, ex = pairs[0]
    assert "UNSAFE-CODE-RAN" in code["code"], ph.show(code)
    lh.check_rejected(ex, lh.UNSAFE_CONCERNS)
    assert "UNSAFE-CODE-RAN" not in json.dumps(ex), ph.show(ex)
    assert usage["llm_calls"] == 1, ph.show(usage)
    assert len(lh.fake_records(tok)) == 1


# ------------------------------------------------------------- model failures

@pytest.mark.parametrize("mode", ["nocode", "notjson", "huge", "choicesobj",
                                  "wrongtypes"])
def test_unusable_answer_is_bad_response(mode):
    resp, tok, q = _single(mode)
    msg = ph.assert_error(resp, 502, "llm_bad_response")
    lh.assert_no_secret(resp.body, "the error")
    assert len(resp.body) < 65536, "the model's answer is passed on: %d bytes" % len(resp.body)
    recs = lh.fake_records(tok)
    # not worth a retry: the model answered, uselessly
    assert len(recs) == 1, ph.show(recs)
    assert msg.strip(), ph.show(resp)


def test_http_500_is_unavailable_after_retries():
    t0 = time.monotonic()
    resp, tok, q = _single("error500")
    elapsed = time.monotonic() - t0
    ph.assert_error(resp, 502, "llm_unavailable")
    lh.assert_no_secret(resp.body, "the error")
    recs = lh.fake_records(tok)
    assert len(recs) == 1 + lh.DEFAULT_RETRIES, ph.show(recs)
    # backoff 250 ms then 500 ms between the three tries
    gaps = [b["t"] - a["t"] for a, b in zip(recs, recs[1:])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps
    assert elapsed < lh.llm_timeout() + 3, elapsed


def test_429_is_retried_after_retry_after():
    resp, tok, q = _single("flaky429")
    (pairs, usage) = lh.assert_generated(resp)
    code, ex = pairs[0]
    assert ex["outcome"] == "completed" and ex["stdout"] == "fake-llm-ok\n", ph.show(ex)
    recs = lh.fake_records(tok)
    assert [r["status"] for r in recs] == [429, 200], ph.show(recs)
    gap = recs[1]["t"] - recs[0]["t"]
    assert gap >= 0.9, "Retry-After: 1 not honoured (retried after %.3f s)" % gap
    assert usage["llm_calls"] in (1, 2), ph.show(usage)
    lh.assert_usage_matches(usage, recs)


@pytest.mark.slow
def test_slow_model_is_llm_timeout():
    t0 = time.monotonic()
    resp, tok, q = _single("slow")
    elapsed = time.monotonic() - t0
    ph.assert_error(resp, 504, "llm_timeout")
    lh.assert_no_secret(resp.body, "the error")
    assert elapsed < lh.llm_timeout() + 3, "took %.1f s" % elapsed
    assert elapsed >= lh.llm_timeout() - 0.5, "gave up after %.1f s" % elapsed
    assert len(lh.fake_records(tok)) >= 1


def test_connection_reset_is_unavailable():
    t0 = time.monotonic()
    resp, tok, q = _single("reset")
    elapsed = time.monotonic() - t0
    ph.assert_error(resp, 502, "llm_unavailable")
    lh.assert_no_secret(resp.body, "the error")
    recs = lh.fake_records(tok)
    # 3 tries; libcurl itself may send a request again once when a reused
    # connection dies before any answer
    assert 1 + lh.DEFAULT_RETRIES <= len(recs) <= 2 * (1 + lh.DEFAULT_RETRIES), ph.show(recs)
    assert elapsed < lh.llm_timeout() + 3, elapsed


# -------------------------------------------------------------------- repairs

def test_failed_attempt_is_repaired():
    resp, tok, q = _single("fixme", max_attempts=2)
    (pairs, usage) = lh.assert_generated(resp, attempts=2)
    (code1, ex1), (code2, ex2) = pairs
    assert "raise ValueError('fake-llm-fixme')" in code1["code"], ph.show(code1)
    assert ex1["outcome"] == "error", ph.show(ex1)
    assert ex1["exception"]["type"] == "ValueError", ph.show(ex1)
    assert ex1["exception"]["message"] == "fake-llm-fixme", ph.show(ex1)
    assert ex1["stdout"] == "attempting\n", ph.show(ex1)
    assert code2["code"].strip() == "print('fixed')", ph.show(code2)
    assert ex2["outcome"] == "completed" and ex2["stdout"] == "fixed\n", ph.show(ex2)
    assert usage["llm_calls"] == 2, ph.show(usage)

    recs = lh.fake_records(tok)
    assert len(recs) == 2, ph.show(recs)
    lh.assert_chat_request(recs[0], last_user=q)
    body2 = lh.assert_chat_request(recs[1])
    msgs = body2["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"], ph.show(body2)
    assert msgs[1]["content"] == q, ph.show(body2)
    # the previous answer, then the failure report with the exception
    assert "fake-llm-fixme" in msgs[2]["content"], ph.show(msgs[2])
    report = msgs[3]["content"]
    assert "ValueError" in report and "fake-llm-fixme" in report, ph.show(report)
    lh.assert_usage_matches(usage, recs)


def test_one_attempt_is_not_repaired():
    resp, tok, q = _single("fixme", max_attempts=1)
    (pairs, usage) = lh.assert_generated(resp, attempts=1)
    ex = pairs[0][1]
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exception"]["type"] == "ValueError", ph.show(ex)
    assert usage["llm_calls"] == 1, ph.show(usage)
    assert len(lh.fake_records(tok)) == 1


def test_a_successful_attempt_is_not_repeated():
    resp, tok, q = _single("json", max_attempts=3)
    (pairs, usage) = lh.assert_generated(resp, attempts=1)
    assert pairs[0][1]["stdout"] == "fake-llm-ok\n", ph.show(resp)
    assert usage["llm_calls"] == 1, ph.show(usage)
    assert len(lh.fake_records(tok)) == 1


@pytest.mark.parametrize("value", [0, 4, "2", 1.5, True, -1, [2]],
                         ids=["0", "4", "string", "float", "bool", "neg", "list"])
def test_max_attempts_invalid(value):
    tok = lh.token()
    resp = lh.generate({"query": lh.query("json", tok), "max_attempts": value})
    ph.assert_invalid(resp, "max_attempts:")
    assert lh.fake_records(tok) == [], "the model was asked anyway"


# -------------------------------------------------------- query validation

BAD_QUERIES = [
    ("missing", {}, "query:"),
    ("empty", {"query": ""}, "query:"),
    ("too long", {"query": "[mode:json] " + "x" * (lh.MAX_QUERY_CHARS + 1 - 12)}, "query:"),
    ("bell", {"query": "print a bell \x07 [mode:json]"}, "query:"),
    ("escape", {"query": "colours \x1b[31m [mode:json]"}, "query:"),
    ("nul", {"query": "nul \x00 [mode:json]"}, "query:"),
    ("number", {"query": 42}, "query:"),
    ("list", {"query": ["print 1"]}, "query:"),
    ("null", {"query": None}, "query:"),
    ("unknown field", {"query": "[mode:json] hi", "code": "print(1)"}, "unknown field: code"),
    ("unknown field 2", {"query": "[mode:json] hi", "temperature": 1}, "unknown field: temperature"),
    ("timeout", {"query": "[mode:json] hi", "timeout": 99}, "timeout:"),
    ("memory", {"query": "[mode:json] hi", "memory_limit": "1t"}, "memory_limit:"),
]


@pytest.mark.parametrize("payload,prefix", [(p, x) for _, p, x in BAD_QUERIES],
                         ids=[n for n, _, _ in BAD_QUERIES])
def test_bad_request_is_400(payload, prefix):
    before = len(lh.fake_records())
    resp = lh.generate(payload)
    ph.assert_invalid(resp, prefix)
    assert len(lh.fake_records()) == before, "the model was asked anyway"


def test_body_not_an_object_is_400():
    ph.assert_invalid(lh.generate("[1, 2]"), "body:")
    ph.assert_invalid(lh.generate("{not json"), "body:")


def test_longest_query_in_characters_is_accepted():
    """4000 characters (8000+ bytes of UTF-8), newlines, tabs and CRs."""
    tok = lh.token()
    head = "[mode:json] %s\r\n\t" % tok
    q = head + "é" * (lh.MAX_QUERY_CHARS - len(head))
    assert len(q) == lh.MAX_QUERY_CHARS
    resp = lh.generate({"query": q})
    (pairs, usage) = lh.assert_generated(resp)
    assert pairs[0][1]["stdout"] == "fake-llm-ok\n", ph.show(resp)
    recs = lh.fake_records(tok)
    assert len(recs) == 1
    lh.assert_chat_request(recs[0], last_user=q)


def test_limits_apply_to_generated_code():
    tok = lh.token()
    resp = lh.generate({"query": lh.query("json", tok), "timeout": 2,
                        "memory_limit": "64m", "cpu_limit": 0.5})
    (pairs, usage) = lh.assert_generated(resp)
    limits = pairs[0][1]["limits"]
    assert limits == {"timeout": 2, "memory_limit_bytes": 64 * 1024 * 1024,
                      "cpu_limit": 0.5}, ph.show(limits)


def test_wrong_method_is_405():
    resp = ph.request("GET", "/v1/generate-and-execute")
    ph.assert_error(resp, 405, "method_not_allowed")
    assert "POST" in resp.header("Allow", ""), ph.show(resp)


def test_needs_an_api_key():
    resp = ph.request("POST", "/v1/generate-and-execute", auth=None,
                      body={"query": "[mode:json] hi"})
    ph.assert_error(resp, 401, "unauthorized")


# ---------------------------------------------------- secrets and injection

def test_hostile_generated_code_is_contained():
    resp, tok, q = _single("hostile", timeout=20)
    (pairs, usage) = lh.assert_generated(resp)
    ex = pairs[0][1]
    assert ex["outcome"] in ("completed", "error"), ph.show(ex)
    out = ex["stdout"] + ex["stderr"]
    lh.assert_no_secret(resp.body, "the response to hostile code")
    assert "PYEXEC_" not in out and "PYTHON_EXECUTOR_" not in out, ph.show(ex)
    assert "TOGETHER_API_KEY" not in out, ph.show(ex)
    if ex["outcome"] == "completed":
        lines = [l for l in ex["stdout"].splitlines() if l.startswith("HOSTILE-REPORT ")]
        assert len(lines) == 1, ph.show(ex)
        report = json.loads(lines[0][len("HOSTILE-REPORT "):])
        assert not [k for k in report["environ"]
                    if k.startswith(("PYEXEC", "PYTHON_EXECUTOR", "TOGETHER"))], ph.show(report)
        for where, value in report["net"].items():
            assert value.startswith("ERR "), "%s: %s" % (where, value)
    # it did not reach the fake (no request of its own)
    assert len(lh.fake_records(tok)) == 1


def test_echoed_key_is_redacted():
    resp, tok, q = _single("echokey")
    recs = lh.fake_records(tok)
    assert len(recs) == 1 and lh.header(recs[0], "Authorization") == "Bearer " + lh.llm_key()
    (pairs, usage) = lh.assert_generated(resp)
    code, ex = pairs[0]
    assert lh.llm_key().encode() not in resp.body, "the LLM key is in the response"
    assert "[REDACTED]" in code["code"], ph.show(code)
    assert "[REDACTED]" in (code.get("explanation") or ""), ph.show(code)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "echo: [REDACTED]\n", ph.show(ex)
    assert lh.wait_log_line(resp.json["invocationId"]), "no log line for the request"
    assert lh.llm_key().encode() not in ph.read_log_bytes(), "the LLM key is in pyexec.log"


# ------------------------------------------------------------ private stacks

@pytest.fixture(scope="module")
def stack_without_key():
    """No key at all (its model URL is the fake, which must not be asked)."""
    yield from lh.private_stack("llmnokey", "127.0.0.1:18092", 62700,
                                {"PYEXEC_LLM_URL": lh.llm_url()})


@pytest.fixture(scope="module")
def stack_refused():
    """A key, and a model address where nothing listens."""
    yield from lh.private_stack("llmrefused", "127.0.0.1:18093", 62800,
                                {"PYEXEC_LLM_URL": "http://127.0.0.1:1/v1",
                                 "PYEXEC_LLM_API_KEY": "refused-llm-key-5b1e0d42",
                                 "PYEXEC_LLM_TIMEOUT": "5"})


def test_no_key_is_llm_not_configured(stack_without_key):
    st = stack_without_key
    tok = lh.token()
    resp = st.request("POST", "/v1/generate-and-execute",
                      {"query": lh.query("json", tok)})
    msg = ph.assert_error(resp, 503, "llm_not_configured")
    assert "PYEXEC_LLM_API_KEY" in msg, msg
    assert lh.fake_records(tok) == [], "the model was asked without a key"
    # validate_code without a key: skipped, and the code does not run
    # (PYEXEC_VALIDATE_WITHOUT_MODEL=refuse, the default)
    marker = "nokey-ran-" + tok
    resp = st.request("POST", "/v1/execute",
                      {"code": "print(%r + %r)" % (marker[:5], marker[5:]),
                       "validate_code": True})
    val, ex = lh.assert_validated(resp)
    assert val["status"] == "skipped", ph.show(val)
    assert (val["reason"] or "").startswith("llm_not_configured"), ph.show(val)
    lh.check_rejected(ex, [])
    assert marker not in resp.text, "the code ran: " + ph.show(resp)
    assert lh.fake_records(tok) == [], "the model was asked without a key"


@pytest.mark.slow
def test_connection_refused_is_llm_unavailable(stack_refused):
    st = stack_refused
    t0 = time.monotonic()
    resp = st.request("POST", "/v1/generate-and-execute",
                      {"query": lh.query("json", lh.token())})
    elapsed = time.monotonic() - t0
    msg = ph.assert_error(resp, 502, "llm_unavailable")
    assert "refused-llm-key-5b1e0d42" not in resp.text, msg
    assert elapsed < 5 + 3, elapsed
    marker = "refused-ran-" + lh.token()
    resp = st.request("POST", "/v1/execute",
                      {"code": "print(%r + %r)" % (marker[:5], marker[5:]),
                       "validate_code": True})
    val, ex = lh.assert_validated(resp)
    assert val["status"] == "skipped", ph.show(val)
    assert (val["reason"] or "").startswith("llm_unavailable"), ph.show(val)
    lh.check_rejected(ex, [])               # validate_code fails closed
    assert marker not in resp.text, "the code ran: " + ph.show(resp)
    assert b"refused-llm-key-5b1e0d42" not in st.log_bytes(), "the LLM key is in pyexec.log"


# ---------------------------------------------------------------------- last

def test_zz_llm_key_never_logged():
    """After everything above: the LLM key is in none of the stack's logs."""
    for name, data in lh.run_dir_logs():
        assert lh.llm_key().encode() not in data, "the LLM key is in " + name


# ------------------------------------------------------------ TLS is verified

@pytest.fixture(scope="module")
def tls_fake(tmp_path_factory):
    """The fake LLM over HTTPS with a self-signed certificate."""
    d = tmp_path_factory.mktemp("tls-fake")
    cert, key, log = d / "cert.pem", d / "key.pem", d / "requests.log"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server = os.path.join(os.path.dirname(__file__), "..", "fake-llm", "server.py")
    proc = subprocess.Popen(["/usr/bin/python3", server, "--port", "18097",
                             "--log", str(log), "--tls-cert", str(cert),
                             "--tls-key", str(key)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", 18097), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def stack_tls(tls_fake):
    yield from lh.private_stack("llmtls", "127.0.0.1:18094", 62900,
                                {"PYEXEC_LLM_URL": "https://127.0.0.1:18097/v1",
                                 "PYEXEC_LLM_API_KEY": "tls-llm-key-8d2c41aa",
                                 "PYEXEC_LLM_TIMEOUT": "5"})


@pytest.mark.slow
def test_tls_certificate_is_verified(stack_tls, tls_fake):
    """A model behind a certificate nobody vouches for is not talked to:
    the handshake fails before any HTTP, so the key never leaves."""
    resp = stack_tls.request("POST", "/v1/generate-and-execute",
                             {"query": lh.query("json", lh.token())})
    msg = ph.assert_error(resp, 502, "llm_unavailable")
    assert "certificate" in msg.lower() or "ssl" in msg.lower(), msg
    assert "tls-llm-key-8d2c41aa" not in resp.text, msg
    assert tls_fake.read_text() == "", "the fake received a request over unverified TLS"
