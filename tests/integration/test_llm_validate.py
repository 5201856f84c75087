"""validate_code on POST /v1/execute: one review call to the model (the fake
LLM of tests/fake-llm) before the code runs.

For a review the user message is the code itself, so the fake's mode marker
is a comment in the code ("# [mode:review_unsafe] <token>").
"""

import os
import subprocess
import time

import pytest

import llm_helpers as lh
import pyexec_http as ph


@pytest.fixture(autouse=True, scope="module")
def _llm_env():
    lh.require_env()


def _code(mode, tok, marker):
    """Code carrying the mode marker that prints marker (assembled at run
    time, so the marker's text is not in the code itself)."""
    head, tail = marker[:5], marker[5:]
    return ("# [mode:%s] %s\nprint(%r + %r)\n" % (mode, tok, head, tail))


def _validated(mode, **fields):
    tok = lh.token()
    marker = "validated-ran-" + tok
    code = _code(mode, tok, marker)
    payload = {"code": code, "validate_code": True}
    payload.update(fields)
    t0 = time.monotonic()
    resp = ph.execute(payload)
    return resp, tok, code, marker, time.monotonic() - t0


def test_review_safe_passes_and_runs():
    resp, tok, code, marker, _ = _validated("review_safe")
    val, ex = lh.assert_validated(resp)
    assert val["status"] == "passed", ph.show(val)
    assert val["concerns"] == [], ph.show(val)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == marker + "\n", ph.show(ex)
    recs = lh.fake_records(tok)
    assert len(recs) == 1, ph.show(recs)
    body = lh.assert_chat_request(recs[0], last_user=code)
    assert [m["role"] for m in body["messages"]] == ["system", "user"], ph.show(body)
    sysmsg = body["messages"][0]["content"]
    assert "safe" in sysmsg and "concerns" in sysmsg, sysmsg
    lh.assert_no_secret(resp.body, "the response")


def test_review_unsafe_rejects_and_nothing_runs():
    resp, tok, code, marker, _ = _validated("review_unsafe")
    val, ex = lh.assert_validated(resp)
    assert val["status"] == "rejected", ph.show(val)
    assert val["concerns"] == lh.REVIEW_CONCERNS, ph.show(val)
    lh.check_rejected(ex, lh.REVIEW_CONCERNS)
    assert marker not in resp.text, "the code ran: " + ph.show(resp)
    assert len(lh.fake_records(tok)) == 1


def test_no_validation_by_default():
    for fields in ({}, {"validate_code": False}):
        tok = lh.token()
        marker = "unvalidated-ran-" + tok
        resp = ph.execute(dict({"code": _code("review_unsafe", tok, marker)}, **fields))
        ex = ph.assert_success(resp)     # exactly text + execution
        assert ex["stdout"] == marker + "\n", ph.show(ex)
        assert lh.fake_records(tok) == [], "the model was asked"


@pytest.mark.parametrize("value", ["true", 1, [True]],
                         ids=["string", "int", "list"])
def test_validate_code_must_be_a_bool(value):
    tok = lh.token()
    resp = ph.execute({"code": _code("review_safe", tok, "x" * 10),
                       "validate_code": value})
    ph.assert_invalid(resp, "validate_code:")
    assert lh.fake_records(tok) == []


# The model cannot give a verdict: validation is skipped, says why, and the
# code does not run (PYEXEC_VALIDATE_WITHOUT_MODEL=refuse, the default:
# validate_code fails closed).
SKIPPED = [
    ("error500", "llm_unavailable"),
    ("slow", "llm_timeout"),
    ("nocode", "llm_bad_response"),   # prose, no verdict
    ("notjson", "llm_bad_response"),
    ("choicesobj", "llm_bad_response"),  # the fuzzer's find: no crash
]


def assert_refused_unreviewed(resp, marker, reason):
    """/v1/execute's answer to validate_code without a verdict: the review
    skipped and why, the code rejected and not run."""
    val, ex = lh.assert_validated(resp)
    assert val["status"] == "skipped", ph.show(val)
    assert isinstance(val["reason"], str) and val["reason"].startswith(reason), ph.show(val)
    lh.check_rejected(ex, [])
    assert "no model could give one" in ex["rejection"]["reason"], ph.show(ex)
    assert resp.json["response"][0]["message"].startswith("Rejected: "), ph.show(resp)
    assert marker not in resp.text, "the code ran: " + ph.show(resp)


@pytest.mark.slow
@pytest.mark.parametrize("mode,reason", SKIPPED, ids=[m for m, _ in SKIPPED])
def test_review_unavailable_is_skipped_and_nothing_runs(mode, reason):
    resp, tok, code, marker, elapsed = _validated(mode)
    assert_refused_unreviewed(resp, marker, reason)
    lh.assert_no_secret(resp.body, "the response")
    recs = lh.fake_records(tok)
    assert recs, "the model was not asked"
    lh.assert_chat_request(recs[0], last_user=code)
    assert elapsed < lh.llm_timeout() + 3 + 2, "took %.1f s" % elapsed
    if mode == "slow":
        assert elapsed >= lh.llm_timeout() - 0.5, "gave up after %.1f s" % elapsed


def test_seed000_review_unavailable_is_not_executed():
    """Together's route says so in its own shape, as for unsafe code."""
    tok = lh.token()
    marker = "seed000-unreviewed-ran-" + tok
    code = _code("error500", tok, marker)
    resp = ph.request("POST", "/execute", body={"code": code, "validate_code": True})
    # the original's answer for code its validation did not pass
    assert resp.status == 400, ph.show(resp)
    assert list(resp.json) == ["detail"], ph.show(resp)
    d = resp.json["detail"]
    assert d.startswith("Code validation failed: Validation unavailable: "
                        "llm_unavailable"), ph.show(resp)
    assert d.endswith("The code was not executed."), ph.show(resp)
    assert marker not in resp.text, "the code ran: " + ph.show(resp)


def test_echoed_key_in_review_is_redacted():
    """A review whose concerns echo the key: they come back redacted."""
    tok = lh.token()
    code = "# [mode:echokey] %s\nprint('echo-review')\n" % tok
    resp = ph.execute({"code": code, "validate_code": True})
    assert lh.llm_key().encode() not in resp.body, "the LLM key is in the response"
    val, ex = lh.assert_validated(resp)
    # echokey answers {code, explanation, safe: true, concerns: [token]}
    assert val["status"] == "passed", ph.show(val)
    assert ex["stdout"] == "echo-review\n", ph.show(ex)
    assert all(lh.llm_key() not in c for c in val["concerns"]), ph.show(val)


def test_zz_llm_key_never_logged():
    for name, data in lh.run_dir_logs():
        assert lh.llm_key().encode() not in data, "the LLM key is in " + name


# ------------------------------------------------- no model configured at all

UNSAFE = "import os\nprint(os.listdir('/'))\nprint(%r + %r)\n"


@pytest.fixture(scope="module")
def stack_without_model():
    """No LLM key (no model), the default PYEXEC_VALIDATE_WITHOUT_MODEL."""
    yield from lh.private_stack("novalidate", "127.0.0.1:18382", 63800,
                                {"PYEXEC_LLM_URL": lh.llm_url()})


@pytest.fixture(scope="module")
def stack_without_model_run():
    """No model, and an operator who chose the old behaviour."""
    yield from lh.private_stack("novalidaterun", "127.0.0.1:18383", 63900,
                                {"PYEXEC_LLM_URL": lh.llm_url(),
                                 "PYEXEC_VALIDATE_WITHOUT_MODEL": "run"})


def test_no_model_refuses_by_default(stack_without_model):
    st = stack_without_model
    tok = lh.token()
    marker = "nomodel-ran-" + tok
    code = UNSAFE % (marker[:5], marker[5:])
    resp = st.request("POST", "/v1/execute", {"code": code, "validate_code": True})
    assert_refused_unreviewed(resp, marker, "llm_not_configured")
    resp = st.request("POST", "/execute", {"code": code, "validate_code": True})
    assert resp.status == 400, ph.show(resp)
    assert resp.json["detail"].startswith(
        "Code validation failed: Validation unavailable: llm_not_configured"), \
        ph.show(resp)
    assert marker not in resp.text, "the code ran: " + ph.show(resp)
    # without validate_code the code runs: nothing else changed
    resp = st.request("POST", "/v1/execute", {"code": code})
    ex = ph.assert_success(resp)
    assert ex["stdout"].endswith(marker + "\n"), ph.show(ex)
    assert lh.fake_records(tok) == [], "the model was asked without a key"


def test_no_model_runs_when_the_operator_says(stack_without_model_run):
    st = stack_without_model_run
    tok = lh.token()
    marker = "nomodel-run-" + tok
    code = UNSAFE % (marker[:5], marker[5:])
    resp = st.request("POST", "/v1/execute", {"code": code, "validate_code": True})
    val, ex = lh.assert_validated(resp)
    assert val["status"] == "skipped", ph.show(val)
    assert (val["reason"] or "").startswith("llm_not_configured"), ph.show(val)
    assert ex["outcome"] == "completed" and ex["stdout"].endswith(marker + "\n"), ph.show(ex)
    resp = st.request("POST", "/execute", {"code": code, "validate_code": True})
    assert resp.status == 200 and resp.json["exit_code"] == 0, ph.show(resp)
    assert resp.json["validation_result"].startswith(
        "Validation skipped: llm_not_configured"), ph.show(resp)
    assert lh.fake_records(tok) == [], "the model was asked without a key"


@pytest.mark.slow
def test_a_bad_setting_refuses_to_start():
    app = os.environ.get("PYEXEC_FCGI") or os.path.join(
        lh.TOP, "build", "fcgi-app", "pyexec-fcgi")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYEXEC_", "PYTHON_EXECUTOR_"))}
    env["PYEXEC_VALIDATE_WITHOUT_MODEL"] = "yes"
    out = subprocess.run([app, "--budget"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode != 0, out.stdout
    assert "PYEXEC_VALIDATE_WITHOUT_MODEL: must be refuse or run" in out.stderr, out.stderr
