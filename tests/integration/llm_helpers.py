"""Helpers for the LLM tests (test_llm_*.py): the fake LLM's record of what
it received, the envelopes of /v1/generate-and-execute and of /v1/execute
with validate_code, and private stacks with other LLM settings.

`tests/run` starts tests/fake-llm/server.py and exports:
  PYEXEC_LLM_URL        http://127.0.0.1:<port>/v1 (the stack's model)
  PYEXEC_LLM_API_KEY    the stack's LLM key (also as PYEXEC_TEST_LLM_KEY)
  PYEXEC_TEST_LLM_KEY   the same key, for the tests
  PYEXEC_LLM_TIMEOUT    5 (seconds)
  PYEXEC_TEST_LLM_LOG   the fake's request log (one JSON object a line)
and leaves PYEXEC_LLM_MODEL, PYEXEC_LLM_RETRIES and PYEXEC_MAX_QUERY_CHARS
at their defaults.
"""

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

import pyexec_http as ph

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

DEFAULT_MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
DEFAULT_RETRIES = 2
MAX_QUERY_CHARS = 4000

ENV_LLM_KEY = "PYEXEC_TEST_LLM_KEY"
ENV_LLM_LOG = "PYEXEC_TEST_LLM_LOG"
ENV_LLM_URL = "PYEXEC_LLM_URL"
ENV_LLM_TIMEOUT = "PYEXEC_LLM_TIMEOUT"

# What the fake's modes answer (tests/fake-llm/server.py).
UNSAFE_CONCERNS = ["deletes files outside the working directory (shutil.rmtree('/'))",
                   "runs a shell command (os.system)"]
REVIEW_CONCERNS = ["reads /etc/shadow (fake review)",
                   "opens a network connection (fake review)"]


def require_env():
    """Fail (never skip) when tests/run did not set the LLM up."""
    missing = [v for v in (ENV_LLM_KEY, ENV_LLM_LOG, ENV_LLM_URL,
                           ENV_LLM_TIMEOUT) if not os.environ.get(v)]
    if missing:
        pytest.fail("the LLM tests need the fake LLM that `tests/run` "
                    "starts: %s not set" % ", ".join(missing))
    if not os.path.isfile(os.environ[ENV_LLM_LOG]):
        pytest.fail("no fake LLM log at " + os.environ[ENV_LLM_LOG])


def llm_key():
    return os.environ[ENV_LLM_KEY]


def llm_url():
    return os.environ[ENV_LLM_URL]


def llm_timeout():
    return float(os.environ[ENV_LLM_TIMEOUT])


def model():
    return os.environ.get("PYEXEC_LLM_MODEL") or DEFAULT_MODEL


def token():
    """A unique marker that finds this test's requests in the fake's log."""
    return "tok" + uuid.uuid4().hex


def query(mode, tok, text="Print a greeting."):
    return "%s [mode:%s] (%s)" % (text, mode, tok)


# ----------------------------------------------------------- the fake's log

def _msg_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def fake_records(tok=None):
    """The fake's records (parsed JSON lines), those whose messages mention
    tok if given, in arrival order."""
    with open(os.environ[ENV_LLM_LOG], "rb") as f:
        data = f.read()
    out = []
    for line in data.split(b"\n")[:-1]:
        try:
            rec = json.loads(line.decode("utf-8"))
        except ValueError:
            continue
        if tok is not None:
            body = rec.get("body") if isinstance(rec.get("body"), dict) else {}
            msgs = body.get("messages") if isinstance(body.get("messages"), list) else []
            texts = [_msg_text(m.get("content")) for m in msgs if isinstance(m, dict)]
            if not any(tok in t for t in texts) and tok not in json.dumps(body):
                continue
        out.append(rec)
    return out


def header(rec, name):
    for k, v in rec.get("headers", {}).items():
        if k.lower() == name.lower():
            return v
    return None


def messages(rec):
    return rec["body"]["messages"]


def assert_chat_request(rec, last_user=None):
    """rec is a well-formed chat.completions request of pyexec's; the last
    user message is last_user verbatim (if given)."""
    assert rec["path"] == "/v1/chat/completions", ph.show(rec)
    assert header(rec, "Authorization") == "Bearer " + llm_key(), \
        "the LLM key was not sent as a bearer token: %r" % header(rec, "Authorization")
    ctype = header(rec, "Content-Type") or ""
    assert ctype.split(";")[0].strip().lower() == "application/json", ph.show(rec)
    body = rec["body"]
    assert body.get("model") == model(), ph.show(body)
    assert body.get("temperature") == 0.2, ph.show(body)
    assert body.get("max_tokens") == 2048, ph.show(body)
    msgs = body.get("messages")
    assert isinstance(msgs, list) and len(msgs) >= 2, ph.show(body)
    assert msgs[0].get("role") == "system", ph.show(body)
    assert isinstance(msgs[0].get("content"), str) and msgs[0]["content"].strip(), ph.show(body)
    assert msgs[-1].get("role") == "user", ph.show(body)
    if last_user is not None:
        assert msgs[-1].get("content") == last_user, (
            "the last user message is not verbatim:\n%r\n%r"
            % (msgs[-1].get("content"), last_user))
    return body


# ------------------------------------------------------------------ envelopes

def generate(payload, timeout=ph.DEFAULT_TIMEOUT, **kw):
    return ph.request("POST", "/v1/generate-and-execute", body=payload,
                      timeout=timeout, **kw)


def check_execution(ex, inv):
    """ex is an execution item as /v1/execute answers it (all its fields,
    agreeing with each other): checked with ph.assert_success on a
    synthetic two-item envelope."""
    synthetic = ph.Response(200, "OK", [("Content-Type", "application/json")],
                            json.dumps({"status": "success", "invocationId": inv,
                                        "response": [{"type": "text", "message": "-"},
                                                     ex]}).encode())
    return ph.assert_success(synthetic)


def check_rejected(ex, concerns):
    """ex is an execution item with outcome rejected, these concerns, and
    nothing run."""
    assert ex.get("type") == "execution", ph.show(ex)
    assert ex.get("outcome") == "rejected", ph.show(ex)
    assert ex.get("exit_code") is None and ex.get("signal") is None, ph.show(ex)
    assert ex.get("stdout") == "" and ex.get("stderr") == "", ph.show(ex)
    rej = ex.get("rejection")
    assert isinstance(rej, dict), ph.show(ex)
    assert isinstance(rej.get("reason"), str) and rej["reason"].strip(), ph.show(ex)
    assert rej.get("concerns") == concerns, ph.show(ex)


def assert_envelope(resp):
    assert resp.status == 200, ph.show(resp)
    ph.assert_json_content_type(resp)
    j = resp.json
    assert isinstance(j, dict), ph.show(resp)
    assert j.get("status") == "success", ph.show(resp)
    inv = j.get("invocationId")
    assert isinstance(inv, str) and ph.UUID4_RE.match(inv), ph.show(resp)
    items = j.get("response")
    assert isinstance(items, list) and items, ph.show(resp)
    text = items[0]
    assert text.get("type") == "text", ph.show(resp)
    assert isinstance(text.get("message"), str) and text["message"].strip(), ph.show(resp)
    return inv, items


def assert_generated(resp, attempts=1):
    """The 200 answer of /v1/generate-and-execute with `attempts` attempts:
    returns ([(code item, execution item), ...], usage item)."""
    inv, items = assert_envelope(resp)
    assert len(items) == 2 + 2 * attempts, (
        "want text, %d x (code, execution), usage: %s" % (attempts, ph.show(resp)))
    pairs = []
    for n in range(1, attempts + 1):
        code, ex = items[2 * n - 1], items[2 * n]
        assert code.get("type") == "code", ph.show(resp)
        assert code.get("language") == "python", ph.show(code)
        assert isinstance(code.get("code"), str) and code["code"].strip(), ph.show(code)
        assert code.get("explanation") is None or isinstance(code["explanation"], str), ph.show(code)
        assert code.get("model") == model(), ph.show(code)
        assert code.get("attempt") == n, ph.show(code)
        assert ex.get("type") == "execution", ph.show(resp)
        assert ex.get("attempt") == n, ph.show(ex)
        if ex.get("outcome") != "rejected":
            check_execution(ex, inv)
        pairs.append((code, ex))
    usage = items[-1]
    assert usage.get("type") == "usage", ph.show(resp)
    assert usage.get("model") == model(), ph.show(usage)
    assert ph._is_num(usage.get("llm_ms")) and usage["llm_ms"] > 0, ph.show(usage)
    for f in ("prompt_tokens", "completion_tokens", "llm_calls"):
        assert ph._is_int(usage.get(f)) and usage[f] >= 0, f + ": " + ph.show(usage)
    return pairs, usage


def assert_usage_matches(usage, recs):
    """The usage item adds up the token counts the fake answered with."""
    answered = [r for r in recs if r.get("status") == 200 and r.get("usage")]
    assert usage["prompt_tokens"] == sum(r["usage"]["prompt_tokens"] for r in answered), (
        ph.show(usage), [r["usage"] for r in answered])
    assert usage["completion_tokens"] == sum(r["usage"]["completion_tokens"] for r in answered), (
        ph.show(usage), [r["usage"] for r in answered])


def assert_validated(resp):
    """The 200 answer of /v1/execute with validate_code: returns
    (validation item, execution item)."""
    inv, items = assert_envelope(resp)
    assert len(items) == 3, "want text, validation, execution: " + ph.show(resp)
    val, ex = items[1], items[2]
    assert val.get("type") == "validation", ph.show(resp)
    assert val.get("status") in ("passed", "rejected", "skipped"), ph.show(val)
    assert isinstance(val.get("concerns"), list), ph.show(val)
    assert all(isinstance(c, str) for c in val["concerns"]), ph.show(val)
    assert "reason" in val and (val["reason"] is None or isinstance(val["reason"], str)), ph.show(val)
    assert ex.get("type") == "execution", ph.show(resp)
    if ex.get("outcome") != "rejected":
        check_execution(ex, inv)
    return val, ex


def assert_no_secret(data, what):
    """None of the secrets (the LLM key, the API keys) is in data."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    for name, secret in (("the LLM key", llm_key()), ("API key 1", ph.key()),
                         ("API key 2", ph.key2())):
        assert secret.encode() not in data, "%s appears in %s" % (name, what)


def wait_log_line(inv, within=3.0):
    """Wait until pyexec.log has a line for this invocation id."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if inv.encode() in ph.read_log_bytes():
            return True
        time.sleep(0.1)
    return False


def run_dir_logs():
    """(name, bytes) of the service's and nginx's logs in the test run dir
    (not the fake LLM's own log, which records the key on purpose)."""
    d = os.environ[ph.ENV_RUN_DIR]
    out = []
    for rel in ("pyexec.log", "nginx/access.log", "nginx/error.log",
                "nginx/nginx.out"):
        p = os.path.join(d, rel)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out.append((rel, f.read()))
    return out


# ------------------------------------------------------------ private stacks

class PrivateStack:
    """A second stack (scripts/dev up --detach --no-setup) with its own run
    dir, listen address, instance, uids and LLM settings."""

    def __init__(self, name, listen, uid_base, llm_env):
        self.name = name
        self.listen = listen
        self.api_key = "llm-private-" + uuid.uuid4().hex[:16]
        self.run_dir = tempfile.mkdtemp(prefix="pyexec-%s-" % name, dir="/tmp")
        os.chmod(self.run_dir, 0o755)
        env = {k: v for k, v in os.environ.items()
               if (not k.startswith(("PYEXEC_", "PYTHON_EXECUTOR_")) or k == "PYEXEC_FCGI")
               and k not in ("TOGETHER_API_KEY", "API_TIMEOUT")}
        env.update({"PYEXEC_RUN_DIR": self.run_dir, "PYEXEC_LISTEN": listen,
                    "PYEXEC_API_KEYS": self.api_key, "PYEXEC_INSTANCE": name,
                    "PYEXEC_UID_BASE": str(uid_base), "PYEXEC_WORKERS": "1"})
        env.update(llm_env)
        self.env = env
        self.up_output = ""

    def _dev(self, *args):
        return subprocess.run([os.path.join(TOP, "scripts", "dev")] + list(args),
                              env=self.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=120)

    def up(self):
        r = self._dev("up", "--detach", "--no-setup")
        self.up_output = r.stdout.decode("utf-8", "replace")
        assert r.returncode == 0, self.up_output[-3000:]

    def down(self):
        try:
            self._dev("down")
        finally:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def request(self, method, path, body=None, timeout=30):
        host, port = self.listen.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            hdrs = {"Integrations-API-Key": self.api_key,
                    "Content-Type": "application/json"}
            conn.request(method, path,
                         body=None if body is None else json.dumps(body).encode(),
                         headers=hdrs)
            r = conn.getresponse()
            return ph.Response(r.status, r.reason, r.getheaders(), r.read())
        finally:
            conn.close()

    def log_bytes(self):
        with open(os.path.join(self.run_dir, "pyexec.log"), "rb") as f:
            return f.read()


def private_stack(name, listen, uid_base, llm_env):
    """Generator for a module-scoped fixture: yields a running PrivateStack,
    tears it down afterwards."""
    st = PrivateStack(name, listen, uid_base, llm_env)
    try:
        st.up()
        yield st
    finally:
        st.down()
