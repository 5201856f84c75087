// The official MCP TypeScript SDK's Client and StreamableHTTPClientTransport
// against pyexec's /mcp, as an agent would use them.  Prints one JSON line
// per check ({"check", "ok", "detail"}); tests/integration/test_mcp.py runs
// it and asserts each.  Env: PYEXEC_URL, PYEXEC_TEST_KEY.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.env.PYEXEC_URL + "/mcp");
const key = process.env.PYEXEC_TEST_KEY;
const tag = Math.random().toString(16).slice(2, 10);

function say(check, ok, detail) {
  process.stdout.write(JSON.stringify({ check, ok: !!ok, detail }) + "\n");
}

async function connect(headers) {
  const client = new Client({ name: "pyexec-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers },
  });
  await client.connect(transport);
  return client;
}

function text(r) {
  return (r.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

async function check(name, fn) {
  try {
    const [ok, detail] = await fn();
    say(name, ok, detail);
  } catch (e) {
    say(name, false, String(e && e.stack ? e.stack : e));
  }
}

const auth = { Authorization: "Bearer " + key };
let c;
await check("connect", async () => {
  c = await connect(auth);
  const v = c.getServerVersion();
  const caps = c.getServerCapabilities();
  return [v.name === "pyexec" && caps.tools !== undefined, { v, caps }];
});
if (!c) process.exit(0);

await check("list_tools", async () => {
  const { tools } = await c.listTools();
  const names = tools.map((t) => t.name).sort();
  const want = ["create_session", "delete_session", "fork_session", "list_files",
    "read_file", "run_in_session", "run_python", "write_file"];
  const ok = JSON.stringify(names) === JSON.stringify(want) &&
    tools.every((t) => t.description.length > 20 && t.inputSchema.type === "object");
  return [ok, names];
});

await check("run_print", async () => {
  const r = await c.callTool({ name: "run_python", arguments: { code: "print(6 * 7)\n6 * 7 + 1" } });
  const s = r.structuredContent;
  return [!r.isError && s.stdout === "42\n" && s.value === "43" && text(r).includes("42"), r];
});

await check("run_figure", async () => {
  const r = await c.callTool({ name: "run_python", arguments: { code:
    "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()" } });
  const img = (r.content || []).filter((x) => x.type === "image");
  return [!r.isError && img.length === 1 && img[0].mimeType === "image/png" &&
    img[0].data.startsWith("iVBOR"), r.content.map((x) => x.type)];
});

await check("run_error", async () => {
  const r = await c.callTool({ name: "run_python", arguments: { code: "raise ValueError('boom')" } });
  return [r.isError === true && r.structuredContent.outcome === "error" &&
    text(r).includes("ValueError: boom"), r];
});

await check("run_timeout", async () => {
  const r = await c.callTool({ name: "run_python", arguments: { code: "while True:\n    pass", timeout: 1 } });
  return [r.isError === true && r.structuredContent.outcome === "timeout", r.structuredContent];
});

const s = "mcp-" + tag;
await check("sessions_and_files", async () => {
  const steps = [];
  const call = async (name, args) => {
    const r = await c.callTool({ name, arguments: args });
    steps.push([name, r.isError, r.structuredContent]);
    return r;
  };
  const made = await call("create_session", { session_id: s });
  await call("run_in_session", { session_id: s, code: "x = 41\nimport os" });
  const v = await call("run_in_session", { session_id: s, code: "x + 1" });
  const w = await call("write_file", { session_id: s, path: "data/a.txt", content: "hello" });
  const l = await call("list_files", { session_id: s });
  const rd = await call("read_file", { session_id: s, path: "data/a.txt" });
  const rb = await call("read_file", { session_id: s, path: "data/a.txt", encoding: "base64" });
  const seen = await call("run_in_session", { session_id: s, code: "open('data/a.txt').read()" });
  const f = await call("fork_session", { session_id: s, new_session_id: s + "-f" });
  const fx = await call("run_in_session", { session_id: s + "-f", code: "x" });
  const bad = await call("read_file", { session_id: s, path: "../etc/passwd" });
  const d1 = await call("delete_session", { session_id: s + "-f" });
  const d2 = await call("delete_session", { session_id: s });
  const gone = await call("run_in_session", { session_id: s, code: "x" });
  const ok = !made.isError && made.structuredContent.session_id === s &&
    v.structuredContent.value === "42" &&
    !w.isError && w.structuredContent.size === 5 &&
    l.structuredContent.files.some((e) => e.path === "data/a.txt" && e.size === 5) &&
    rd.structuredContent.content === "hello" &&
    rb.structuredContent.content === Buffer.from("hello").toString("base64") &&
    seen.structuredContent.value === "'hello'" &&
    !f.isError && f.structuredContent.session_id === s + "-f" &&
    fx.structuredContent.value === "41" &&
    bad.isError === true &&
    !d1.isError && !d2.isError &&
    gone.isError === true && text(gone).includes("404");
  return [ok, steps];
});

await check("cancel", async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  const p = c.callTool({ name: "run_python", arguments: {
    code: "import time\nfor i in range(300):\n    time.sleep(0.1)", timeout: 30 } },
    undefined, { signal: ac.signal });
  setTimeout(() => ac.abort("the user pressed stop"), 1500);
  let rejected = false;
  try { await p; } catch (e) { rejected = true; }
  const after = await c.callTool({ name: "run_python", arguments: { code: "print('next')" } });
  return [rejected && Date.now() - t0 < 10000 && after.structuredContent.stdout === "next\n",
    { rejected, ms: Date.now() - t0 }];
});

await check("wrong_key", async () => {
  try {
    await connect({ Authorization: "Bearer not-a-key-of-this-service" });
    return [false, "connected"];
  } catch (e) {
    return [e.code === 401 && String(e).includes("unauthorized"), { code: e.code, e: String(e) }];
  }
});

await check("foreign_origin", async () => {
  try {
    await connect({ ...auth, Origin: "http://evil.example" });
    return [false, "connected"];
  } catch (e) {
    return [e.code === 403 && String(e).includes("Origin"), { code: e.code, e: String(e) }];
  }
});

await c.close();
