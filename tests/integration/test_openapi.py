"""The API reference: /openapi.json and /docs, served without a key."""

import json
import re

import pytest

import pyexec_http as ph

# The route table (pyexec-fcgi --routes); tests/unit/check_api_table.py
# holds the source document's request schemas to its field tables.
ROUTES = {(r["path"], m.lower()) for r in ph.routes() for m in r["methods"]}
KEYLESS = {r["path"] for r in ph.routes() if r["keyless"]}


def test_openapi_document_describes_every_route():
    resp = ph.request("GET", "/openapi.json", auth=None)
    assert resp.status == 200, ph.show(resp)
    assert resp.header("Content-Type", "").startswith("application/json"), ph.show(resp)
    doc = json.loads(resp.body)
    assert doc["openapi"].startswith("3.1"), doc["openapi"]
    have = {(p, m) for p, ops in doc["paths"].items() for m in ops
            if m in ("get", "post", "put", "delete", "patch")}
    assert ROUTES == have, (sorted(ROUTES - have), sorted(have - ROUTES))
    for path, method in ROUTES:
        op = doc["paths"][path][method]
        assert op.get("responses"), (path, method)
        assert (op.get("security") == []) == (path in KEYLESS), (path, method)
        if method in ("post", "delete"):
            text = json.dumps(op)
            assert "example" in text, (path, "has no example")
    # the workspace: the session on the routes that take one, its usage
    schemas = doc["components"]["schemas"]
    for name in ("ExecuteRequest", "GenerateRequest", "NvidiaExecuteRequest"):
        assert "session_id" in schemas[name]["properties"], name
    assert schemas["ExecutionItem"]["properties"]["workspace"] == {
        "$ref": "#/components/schemas/WorkspaceUsage"}
    for path in ("/v1/execute", "/v1/generate-and-execute"):
        op = doc["paths"][path]["post"]
        assert {"409", "507"} <= set(op["responses"]), path
        assert any(p["name"] == "Pyexec-Session-Id" for p in op["parameters"]), path
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("in") == "header" and s.get("name") == "Integrations-API-Key"
               for s in schemes.values()), schemes


def test_docs_page_works_offline():
    resp = ph.request("GET", "/docs", auth=None)
    assert resp.status == 200, ph.show(resp)
    assert resp.header("Content-Type", "").startswith("text/html"), ph.show(resp)
    page = resp.body.decode()
    assert "/openapi.json" in page, "the page does not load the document"
    for attr in ('src="http', "src='http", 'href="http', "href='http", "@import"):
        assert attr not in page, "the page needs an outside resource: " + attr


def test_reference_needs_no_key_but_the_api_does():
    assert ph.request("GET", "/openapi.json", auth=None).status == 200
    ph.assert_error(ph.request("POST", "/v1/execute", body={"code": "1"}, auth=None),
                    401, "unauthorized")


def test_the_same_document_as_yaml():
    j = ph.request("GET", "/openapi.json", auth=None)
    y = ph.request("GET", "/openapi.yaml", auth=None)
    assert y.status == 200, ph.show(y)
    assert y.header("Content-Type", "").startswith("application/yaml"), ph.show(y)
    assert y.body == j.body      # JSON is valid YAML 1.2



def _doc():
    resp = ph.request("GET", "/openapi.json", auth=None)
    assert resp.status == 200, ph.show(resp)
    return json.loads(resp.body)


# ------------------------------------------------ memory_limit's pattern
# The document's pattern for memory_limit as a string is held to the
# service: a string the pattern allows is taken, one it refuses is refused
# (all in range, so only the form decides).  tests/unit/check_api_table.py
# holds the same pattern to a longer list without a stack.
MEMORY_STRINGS = [("100", True), ("0100", True), ("100m", True),
                  ("100M", True), ("100mb", True), ("100MB", True),
                  ("100mB", True), ("102400k", True), ("102400KB", True),
                  ("", False), ("m", False), ("MB", False), ("100b", False),
                  ("100B", False), ("100 m", False), (" 100m", False),
                  ("100m ", False), ("-100m", False), ("+100m", False),
                  ("0.1g", False), ("100x", False), ("100mbb", False),
                  ("100kib", False), ("100MiB", False)]


@pytest.mark.parametrize("value,taken", MEMORY_STRINGS)
def test_memory_limit_pattern_is_what_the_service_takes(value, taken):
    schemas = _doc()["components"]["schemas"]
    for name in ("ExecuteRequest", "GenerateRequest", "TogetherExecuteRequest",
                 "TogetherGenerateRequest"):
        alts = schemas[name]["properties"]["memory_limit"]["oneOf"]
        pattern = [a for a in alts if a.get("type") == "string"][0]["pattern"]
        assert bool(re.fullmatch(pattern, value)) == taken, (name, pattern, value)
    resp = ph.execute({"code": "print(1)", "memory_limit": value})
    if taken:
        ex = ph.assert_success(resp)
        assert ex["limits"]["memory_limit_bytes"] == 100 << 20, ph.show(ex)
    else:
        ph.assert_invalid(resp, "memory_limit:")


# ------------------------------------------- the examples are the answers
# Each request example below is sent as it is, and the document's answer
# example must have the live answer's shape: the same keys, the items of
# the same types with the same keys, the values of the same JSON types.

def _shape(v):
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_shape(x) for x in v]
    if isinstance(v, bool) or v is None:
        return type(v).__name__
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def _same_shape(doc_value, live_value, where):
    d, l = _shape(doc_value), _shape(live_value)
    if isinstance(d, dict) and isinstance(l, dict):
        assert set(d) == set(l), (where, "keys only in the document:",
                                  sorted(set(d) - set(l)), "only live:",
                                  sorted(set(l) - set(d)))
        for k in d:
            # a value the example leaves null may be anything live (and
            # stdout's text, results and the like differ by nature)
            if doc_value[k] is not None and live_value[k] is not None:
                _same_shape(doc_value[k], live_value[k], where + "." + k)
    elif isinstance(d, list) and isinstance(l, list):
        if d and isinstance(doc_value[0], dict) and "type" in doc_value[0]:
            assert [i.get("type") for i in doc_value] == \
                [i.get("type") for i in live_value], (where, live_value)
            for i, (a, b) in enumerate(zip(doc_value, live_value)):
                _same_shape(a, b, "%s[%d]" % (where, i))
    else:
        assert d == l, (where, doc_value, live_value)


EXAMPLES = [
    # path, request example, answer example (status), request changes
    ("/v1/execute", "hello", "200", "completed", {}),
    ("/execute", "script", "200", "script", {}),
    ("/execute", "generated_code", "200", "generated_code", {}),
    # no review: the shape is the same, no model is asked
    ("/execute", "code", "200", "code", {"validate_code": False}),
    ("/api/v1/execute", "hello", "200", "success", {}),
    ("/system/python_executor/execute_code/invoke", "sum", "200", "ok", {}),
]


@pytest.mark.parametrize("path,req,status,ans,change", EXAMPLES,
                         ids=["%s:%s" % (e[0], e[1]) for e in EXAMPLES])
def test_the_examples_are_what_the_service_answers(path, req, status, ans,
                                                   change):
    op = _doc()["paths"][path]["post"]
    body = dict(op["requestBody"]["content"]["application/json"]["examples"]
                [req]["value"], **change)
    want = op["responses"][status]["content"]["application/json"]
    want = want["examples"][ans]["value"] if "examples" in want else want["example"]
    resp = ph.request("POST", path, body=body)
    assert resp.status == int(status), ph.show(resp)
    _same_shape(want, resp.json, path)


def test_the_root_example_is_what_the_service_answers():
    want = _doc()["paths"]["/"]["get"]["responses"]["200"]["content"][
        "application/json"]["example"]
    resp = ph.request("GET", "/", auth=None)
    assert resp.status == 200, ph.show(resp)
    assert resp.json == want == {"status": "ok"}, ph.show(resp)


def _error_examples(doc, status):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            r = op.get("responses", {}) if isinstance(op, dict) else {}
            ex = r.get(status, {}).get("content", {}).get(
                "application/json", {}).get("example")
            if ex is not None:
                yield "%s %s" % (method.upper(), path), ex


def test_nginx_error_examples_are_its_words():
    doc = _doc()
    no_key = ph.request("POST", "/v1/execute", body={"code": "1"}, auth=None)
    too_big = ph.request("POST", "/v1/execute",
                         body={"code": "#" * (2 << 20)})
    for status, live in (("401", no_key), ("413", too_big)):
        assert live.status == int(status), ph.show(live)
        seen = 0
        for where, ex in _error_examples(doc, status):
            assert ex["response"][0]["code"] == live.json["response"][0]["code"], where
            assert ex["response"][0]["message"] == \
                live.json["response"][0]["message"], (where, ph.show(live))
            seen += 1
        assert seen, status
