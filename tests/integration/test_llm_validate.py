"""validate_code on POST /v1/execute: one review call to the model (the fake
LLM of tests/fake-llm) before the code runs.

For a review the user message is the code itself, so the fake's mode marker
is a comment in the code ("# [mode:review_unsafe] <token>").
"""

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
# code runs.
SKIPPED = [
    ("error500", "llm_unavailable"),
    ("slow", "llm_timeout"),
    ("nocode", "llm_bad_response"),   # prose, no verdict
    ("notjson", "llm_bad_response"),
    ("choicesobj", "llm_bad_response"),  # the fuzzer's find: no crash
]


@pytest.mark.parametrize("mode,reason", SKIPPED, ids=[m for m, _ in SKIPPED])
def test_review_unavailable_is_skipped_and_code_runs(mode, reason):
    resp, tok, code, marker, elapsed = _validated(mode)
    val, ex = lh.assert_validated(resp)
    assert val["status"] == "skipped", ph.show(val)
    assert isinstance(val["reason"], str) and val["reason"].startswith(reason), ph.show(val)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == marker + "\n", ph.show(ex)
    lh.assert_no_secret(resp.body, "the response")
    recs = lh.fake_records(tok)
    assert recs, "the model was not asked"
    lh.assert_chat_request(recs[0], last_user=code)
    assert elapsed < lh.llm_timeout() + 3 + 2, "took %.1f s" % elapsed
    if mode == "slow":
        assert elapsed >= lh.llm_timeout() - 0.5, "gave up after %.1f s" % elapsed


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
