"""Hostile request bodies (FastCGI/JSON abuse through nginx): each is
refused with the JSON error envelope naming the problem, and the service
stays healthy (assert_host_clean checks /health, workers, the host)."""

import pytest

import pyexec_http as ph
import sec_helpers as sh

DEEP = 50000


def _key_string(n):
    return "k" * n


def _cases():
    big = sh.MAX_BODY - 256            # a single string that still fits
    c = []

    def add(name, body, status, code, prefixes, contains=None):
        c.append(pytest.param(body, status, code, prefixes, contains, id=name))

    add("deep-nesting-array-value",
        b'{"code":"print(1)","stdin":' + b"[" * DEEP + b"]" * DEEP + b"}",
        400, "invalid_request", ("body:", "stdin:"))
    add("deep-nesting-object-value",
        b'{"code":"print(1)","x":' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}",
        400, "invalid_request", ("body:", "unknown field"))
    add("deep-nesting-top-level",
        b"[" * DEEP + b"]" * DEEP,
        400, "invalid_request", ("body:",))
    add("nul-escape-in-code",
        b'{"code":"print(1)\\u0000print(2)"}',
        400, "invalid_request", ("code:",), "NUL")
    add("nul-escape-in-key",
        b'{"code":"print(1)","co\\u0000de":"x"}',
        400, "invalid_request", ("body:", "unknown field"))
    add("raw-invalid-utf8-in-code",
        b'{"code":"print(\'\xff\xfe\xc3\x28\')"}',
        400, "invalid_request", ("body:", "code:"))
    add("raw-surrogate-utf8-in-code",
        b'{"code":"print(\'\xed\xa0\x80\')"}',
        400, "invalid_request", ("body:", "code:"))
    add("invalid-utf8-in-key",
        b'{"code":"print(1)","\xff\xfe":1}',
        400, "invalid_request", ("body:", "unknown field"))
    for field in ("timeout", "memory_limit", "cpu_limit"):
        add("%s-1e999" % field,
            ('{"code":"print(1)","%s":1e999}' % field).encode(),
            400, "invalid_request", (field + ":",))
        add("%s-10e400-integer" % field,
            ('{"code":"print(1)","%s":%s}' % (field, "1" + "0" * 400)).encode(),
            400, "invalid_request", (field + ":",))
        add("%s-negative" % field,
            ('{"code":"print(1)","%s":-1}' % field).encode(),
            400, "invalid_request", (field + ":",))
        add("%s-nan" % field,
            ('{"code":"print(1)","%s":NaN}' % field).encode(),
            400, "invalid_request", ("body:", field + ":"))
        add("%s-infinity" % field,
            ('{"code":"print(1)","%s":Infinity}' % field).encode(),
            400, "invalid_request", ("body:", field + ":"))
    add("memory_limit-negative-string",
        b'{"code":"print(1)","memory_limit":"-5m"}',
        400, "invalid_request", ("memory_limit:",))
    add("memory_limit-huge-string",
        b'{"code":"print(1)","memory_limit":"99999999999999999999999999999g"}',
        400, "invalid_request", ("memory_limit:",))
    add("duplicate-code-key",
        b'{"code":"print(1)","code":"print(2)"}',
        400, "invalid_request", ("body:", "code:"), "duplicate")
    add("duplicate-timeout-key",
        b'{"code":"print(1)","timeout":1,"timeout":1000}',
        400, "invalid_request", ("body:", "timeout:"), "duplicate")
    add("string-1mib-as-key",
        ('{"code":"print(1)","%s":1}' % _key_string(big - 40)).encode(),
        400, "invalid_request", ("unknown field",))
    add("string-1mib-as-memory_limit",
        ('{"code":"print(1)","memory_limit":"%s"}' % ("9" * (big - 40))).encode(),
        400, "invalid_request", ("memory_limit:",))
    add("string-1mib-over-body-limit",
        ('{"code":"#%s"}' % ("x" * sh.MAX_BODY)).encode(),
        413, "payload_too_large", None)
    add("array-of-100000-elements",
        b"[" + b",".join([b"0"] * 100000) + b"]",
        400, "invalid_request", ("body:",), "object")
    add("trailing-garbage",
        b'{"code":"print(1)"} trailing',
        400, "invalid_request", ("body:",))
    add("two-objects",
        b'{"code":"print(1)"}{"code":"print(2)"}',
        400, "invalid_request", ("body:",))
    return c


@pytest.mark.parametrize("body,status,code,prefixes,contains", _cases())
def test_hostile_body(body, status, code, prefixes, contains):
    try:
        resp = ph.execute(body, timeout=30)
        msg = ph.assert_error(resp, status, code)
        if prefixes:
            assert msg.startswith(prefixes), (
                "message %r does not name the problem (want a prefix in %r)"
                % (msg[:300], prefixes))
        if contains:
            assert contains.lower() in msg.lower(), (
                "message %r does not mention %r" % (msg[:300], contains))
        assert len(resp.body) < 64 * 1024, (
            "a %d-byte error envelope echoes the input" % len(resp.body))
    finally:
        sh.assert_host_clean()


def test_service_still_runs_code_after_abuse():
    ex = sh.run("print(6 * 7)")
    assert ex["outcome"] == "completed", sh.show(ex)
    assert ex["stdout"] == "42\n", sh.show(ex)
    sh.assert_host_clean()
