"""Request validation: 400 invalid_request, the message starting with the
field at fault ("timeout: ...") or "body:" for the body as a whole."""

import json

import pytest

import pyexec_http as ph

OK_CODE = "print(1)"


def _post_raw(data, content_type="application/json"):
    return ph.execute(data if isinstance(data, bytes) else data.encode(),
                      headers={"Content-Type": content_type})


# ------------------------------------------------------------------ code

def test_missing_code():
    msg = ph.assert_invalid(ph.execute({"timeout": 2}), "code:")
    assert "required" in msg, msg


def test_empty_object_is_missing_code():
    msg = ph.assert_invalid(ph.execute({}), "code:")
    assert "required" in msg, msg


@pytest.mark.parametrize("value", [123, None, ["print(1)"], {"a": 1}, True])
def test_code_not_a_string(value):
    ph.assert_invalid(ph.execute({"code": value}), "code:")


def test_empty_code():
    ph.assert_invalid(ph.execute({"code": ""}), "code:")


def test_code_with_nul():
    # json.dumps writes the NUL as \u0000
    body = json.dumps({"code": "print(1)\x00print(2)"})
    assert "\\u0000" in body
    msg = ph.assert_invalid(_post_raw(body), "code:")
    assert "NUL" in msg, msg


# ----------------------------------------------------------------- body

def test_unknown_field():
    msg = ph.assert_invalid(ph.execute({"code": OK_CODE, "foo": 1}),
                            "unknown field")
    assert "foo" in msg, msg


def test_body_not_json():
    ph.assert_invalid(_post_raw("print(1)"), "body:")


def test_body_truncated_json():
    ph.assert_invalid(_post_raw('{"code": "print(1)"'), "body:")


def test_empty_body():
    ph.assert_invalid(_post_raw(b""), "body:", "code:")


@pytest.mark.parametrize("text", ['["print(1)"]', '"print(1)"', "42", "null"])
def test_body_not_an_object(text):
    msg = ph.assert_invalid(_post_raw(text), "body:")
    assert "object" in msg, msg


def test_body_invalid_utf8():
    msg = ph.assert_invalid(_post_raw(b'{"code": "print(1)\xff"}'),
                            "body:", "code:")
    assert "utf-8" in msg.lower(), msg


def test_body_invalid_utf8_in_key():
    ph.assert_invalid(_post_raw(b'{"co\xc3de": "print(1)"}'), "body:",
                      "unknown field")


def test_deeply_nested_array_body():
    depth = 10000
    ph.assert_invalid(_post_raw("[" * depth + "]" * depth), "body:")


def test_deeply_nested_value_in_field():
    depth = 10000
    body = '{"code": "print(1)", "stdin": ' + "[" * depth + "]" * depth + "}"
    ph.assert_invalid(_post_raw(body), "body:", "stdin:")


def test_service_survives_bad_bodies():
    ex = ph.run("print('still-alive')")
    assert ex["stdout"] == "still-alive\n", ph.show(ex)


def test_content_type_not_enforced():
    resp = ph.execute(json.dumps({"code": "print('ct-ok')"}).encode(),
                      headers={"Content-Type": "text/plain"})
    ex = ph.assert_success(resp)
    assert ex["stdout"] == "ct-ok\n", ph.show(ex)


# -------------------------------------------------------------- timeout

@pytest.mark.parametrize("value", [0, -1, 31, 30.5, 0.05, "5", [5], True])
def test_bad_timeout(value):
    msg = ph.assert_invalid(ph.execute({"code": OK_CODE, "timeout": value}),
                            "timeout:")
    assert "timeout" in msg


def test_huge_timeout_number():
    # 1e999 does not fit a double: either the parser rejects the body or
    # the value is out of range; never a run.
    ph.assert_invalid(_post_raw('{"code": "print(1)", "timeout": 1e999}'),
                      "timeout:", "body:")


# --------------------------------------------------------- memory_limit

@pytest.mark.parametrize("value", [
    "1g",          # 1024 MB > max 500 MB
    "501m",
    "512k",        # below 16 MB
    "15m",
    "abc",
    "100x",
    "m",
    "",
    "-5m",
    0,
    -5,
    15,
    501,
    10 ** 30,
    [100],
    True,
])
def test_bad_memory_limit(value):
    ph.assert_invalid(ph.execute({"code": OK_CODE, "memory_limit": value}),
                      "memory_limit:", *(("body:",) if value == 10 ** 30
                                         else ()))


# ------------------------------------------------------------ cpu_limit

@pytest.mark.parametrize("value", [0, -1, "x", "1", 0.05, 1000, True])
def test_bad_cpu_limit(value):
    ph.assert_invalid(ph.execute({"code": OK_CODE, "cpu_limit": value}),
                      "cpu_limit:")


# ---------------------------------------------------------------- stdin

@pytest.mark.parametrize("value", [5, 1.5, ["a"], {"a": "b"}, True])
def test_stdin_not_a_string(value):
    ph.assert_invalid(ph.execute({"code": OK_CODE, "stdin": value}),
                      "stdin:")
