"""The MCP server at /mcp (docs/mcp.md) and GET /v1/tools.

The official MCP TypeScript SDK (@modelcontextprotocol/sdk, installed by
`scripts/dev setup --tests` into tests/mcp) drives pyexec through its
Client and StreamableHTTPClientTransport, through nginx, as an agent
would: tests/mcp/client.mjs prints a line per check and this file asserts
each.  The protocol's edges (bad JSON, a batch, an unknown method, a
notification, a foreign Origin, an unknown protocol version, GET and
DELETE, no key) are asserted here on the wire; the tool definitions of
tools/list, GET /v1/tools and docs/tools.*.json are one table's."""

import json
import os
import subprocess
import time

import pytest

import pyexec_http as ph

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKS = ["connect", "list_tools", "run_print", "run_figure", "run_error",
          "run_timeout", "sessions_and_files", "cancel", "wrong_key",
          "foreign_origin"]


def _rpc(body, headers=None, raw=False):
    h = {"Accept": "application/json, text/event-stream"}
    h.update(headers or {})
    return ph.request("POST", "/mcp", body=body if not raw else body.encode(),
                      headers=h, auth="bearer", api_key=ph.key())


def _log_lines():
    return [json.loads(l) for l in ph.read_log_bytes().decode(
        "utf-8", "replace").splitlines() if l.startswith("{")]


def test_the_official_sdk_client_uses_every_tool():
    node = subprocess.run(["node", os.path.join(TOP, "tests", "mcp", "client.mjs")],
                          capture_output=True, text=True, timeout=240,
                          cwd=os.path.join(TOP, "tests", "mcp"),
                          env=dict(os.environ, PYEXEC_URL=ph.base_url(),
                                   PYEXEC_TEST_KEY=ph.key()))
    assert node.returncode == 0, node.stderr[-3000:]
    got = {}
    for line in node.stdout.splitlines():
        d = json.loads(line)
        got[d["check"]] = d
    assert list(got) == CHECKS, (list(got), node.stderr[-2000:])
    bad = {k: v["detail"] for k, v in got.items() if not v["ok"]}
    assert not bad, json.dumps(bad, indent=1)[:6000]
    # the client's cancel stopped the run on the server (another worker
    # took the notification): its request's log line says so
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        mcp = [l for l in _log_lines() if l.get("route") == "/mcp"]
        if any(l.get("outcome") == "cancelled" for l in mcp[-20:]):
            break
        time.sleep(0.2)
    assert any(l.get("outcome") == "cancelled" for l in mcp[-20:]), mcp[-5:]
    assert got["cancel"]["detail"]["ms"] < 10000


def test_initialize_ping_and_a_notification():
    r = _rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}})
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    res = r.json["result"]
    assert r.json["id"] == 1 and res["protocolVersion"] == "2025-06-18", r.json
    assert res["serverInfo"]["name"] == "pyexec" and "tools" in res["capabilities"]
    r = _rpc({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {
        "protocolVersion": "2099-01-01", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}})
    assert r.json["result"]["protocolVersion"] == "2025-11-25", r.json
    r = _rpc({"jsonrpc": "2.0", "id": "p", "method": "ping"},
             headers={"MCP-Protocol-Version": "2025-11-25"})
    assert r.status == 200 and r.json == {"jsonrpc": "2.0", "id": "p", "result": {}}
    r = _rpc({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert r.status == 202 and r.body == b"", r


@pytest.mark.parametrize("body,status,code", [
    ("{not json", 400, -32700),
    ('{"jsonrpc": "2.0", "id": 1, "id": 2, "method": "ping"}', 400, -32700),
    ('[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', 400, -32600),
    ('{"id": 1, "method": "ping"}', 400, -32600),
    ('{"jsonrpc": "2.0", "id": null, "method": "ping"}', 400, -32600),
    ('{"jsonrpc": "2.0", "id": 1}', 400, -32600),
    ('{"jsonrpc": "2.0", "id": 3, "method": "resources/list"}', 200, -32601),
    ('{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": 5}', 200, -32602),
    ('{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {}}', 200, -32602),
    ('{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": '
     '{"name": "rm_rf"}}', 200, -32602),
    ('{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": '
     '{"name": "run_python", "arguments": [1]}}', 200, -32602),
], ids=["parse", "duplicate-key", "batch", "no-jsonrpc", "null-id", "no-method",
        "unknown-method", "params-not-object", "no-tool-name", "unknown-tool",
        "arguments-not-object"])
def test_bad_messages_get_the_specifications_codes(body, status, code):
    r = _rpc(body, raw=True)
    assert r.status == status, r
    assert r.json["jsonrpc"] == "2.0" and r.json["error"]["code"] == code, r.json


def test_a_tools_bad_arguments_are_a_tool_error_the_model_can_read():
    for args in ({}, {"code": "1", "shell": True}, {"code": "1", "session_id": "a/b"},
                 {"code": 5}):
        r = _rpc({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                  "params": {"name": "run_python", "arguments": args}})
        assert r.status == 200, r
        res = r.json["result"]
        assert res["isError"] is True and res["content"][0]["type"] == "text", res
        assert res["content"][0]["text"], res


def test_origin_and_protocol_version_are_checked_before_anything():
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    r = _rpc(ping, headers={"Origin": "http://evil.example"})
    assert r.status == 403 and r.json["error"]["code"] == -32600, r
    # this service's own origin passes (Host is nginx's listen address)
    host, port = ph.host_port()
    r = _rpc(ping, headers={"Origin": "http://%s:%d" % (host, port)})
    assert r.status == 200, r
    r = _rpc(ping, headers={"MCP-Protocol-Version": "2024-01-01"})
    assert r.status == 400 and "MCP-Protocol-Version" in r.json["error"]["message"], r


def test_get_and_delete_are_405_and_no_key_is_401_with_bearer():
    for m in ("GET", "DELETE"):
        r = ph.request(m, "/mcp", auth="bearer", api_key=ph.key())
        assert r.status == 405 and r.header("Allow") == "POST", r
    r = ph.request("POST", "/mcp", body={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                   auth=None)
    assert r.status == 401 and r.header("WWW-Authenticate").startswith("Bearer"), r


def test_tool_definitions_are_one_table_in_three_shapes():
    r = _rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    mcp = r.json["result"]["tools"]
    allr = ph.request("GET", "/v1/tools")
    assert allr.status == 200, allr
    assert allr.json["mcp"] == mcp
    openai, anthropic = allr.json["openai"], allr.json["anthropic"]
    assert [t["function"]["name"] for t in openai] == [t["name"] for t in mcp]
    assert [t["name"] for t in anthropic] == [t["name"] for t in mcp]
    for m, o, a in zip(mcp, openai, anthropic):
        assert o["type"] == "function"
        assert o["function"]["parameters"] == a["input_schema"] == m["inputSchema"]
        assert o["function"]["description"] == a["description"] == m["description"]
    for shape in ("openai", "anthropic", "mcp"):
        one = ph.request("GET", "/v1/tools?format=" + shape)
        assert one.json == allr.json[shape], shape
    assert ph.request("GET", "/v1/tools?format=xml").status == 400
    # the published files are the service's own answer
    for shape in ("openai", "anthropic"):
        with open(os.path.join(TOP, "docs", "tools.%s.json" % shape)) as f:
            assert json.load(f) == allr.json[shape], shape


def test_only_the_calls_own_client_can_cancel_it():
    """notifications/cancelled names a call by its JSON-RPC id, which any
    client can send: another key's cancel of the same id does nothing, the
    owner's stops the run (outcome cancelled, the call answered)."""
    import threading
    import uuid

    def call(rid, out):
        out["r"] = _rpc({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                         "params": {"name": "run_python", "arguments": {
                             "code": "import time\ntime.sleep(2.5)\nprint('done')",
                             "timeout": 10}}})

    def cancel(rid, key):
        return ph.request("POST", "/mcp", body={
            "jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": rid, "reason": "test"}},
            auth="bearer", api_key=key)

    for who, want in ((ph.key2(), "completed"), (ph.key(), "cancelled")):
        rid, out = "c-" + uuid.uuid4().hex[:8], {}
        th = threading.Thread(target=call, args=(rid, out))
        th.start()
        time.sleep(1.0)
        assert cancel(rid, who).status == 202
        th.join(30)
        res = out["r"].json["result"]
        assert res["structuredContent"]["outcome"] == want, (who == ph.key(), res)
        if want == "completed":
            assert res["structuredContent"]["stdout"] == "done\n", res
