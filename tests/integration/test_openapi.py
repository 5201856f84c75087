"""The API reference: /openapi.json and /docs, served without a key."""

import json

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
    for name in ("ExecuteRequest", "GenerateRequest", "Seed003Request"):
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
