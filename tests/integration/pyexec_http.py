"""Small HTTP helper for the pyexec integration tests (stdlib only).

Every call opens a fresh connection (nginx -> FastCGI, one request per
connection), has a socket timeout, and returns a Response holding the status,
the headers, the raw body and the parsed JSON (or None).

The assert_* helpers check the envelopes of SPEC.md ("HTTP (through nginx)").
"""

import http
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse

# scripts/pyexec_fcgi.py: the one FastCGI client (scripts/dev's too)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
import pyexec_fcgi  # noqa: E402

UUID4_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

OUTCOMES = ("completed", "error", "timeout", "memory_limit", "output_limit",
            "signal", "cancelled")
LIMITS = (None, "timeout", "memory", "output", "file_size")

ENV_URL = "PYEXEC_URL"
ENV_KEY = "PYEXEC_TEST_KEY"
ENV_KEY2 = "PYEXEC_TEST_KEY2"
ENV_RUN_DIR = "PYEXEC_RUN_DIR"
ENV_MASTER_PID = "PYEXEC_MASTER_PID"

DEFAULT_TIMEOUT = 30.0

def base_url():
    url = os.environ.get(ENV_URL, "")
    if not url:
        raise RuntimeError(
            ENV_URL + " is not set: the integration tests need a live stack "
            "(run them with `tests/run`, or export PYEXEC_URL, "
            "PYEXEC_TEST_KEY and PYEXEC_TEST_KEY2)")
    return url


def host_port():
    """(host, port) of PYEXEC_URL."""
    parts = urllib.parse.urlsplit(base_url())
    if parts.scheme != "http":
        raise RuntimeError(ENV_URL + " must be an http:// URL, got "
                           + repr(base_url()))
    return parts.hostname, parts.port or 80


def app_path():
    """The pyexec-fcgi binary the stack runs: PYEXEC_FCGI, else the build's."""
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    return os.environ.get("PYEXEC_FCGI") or os.path.join(
        top, "build", "fcgi-app", "pyexec-fcgi")


def app_table(option="--routes"):
    """What the binary prints for option (--routes: the route table of
    fcgi-app/serve/routes.c; --fields: its field tables), parsed; under the
    default configuration."""
    out = subprocess.run([app_path(), option], capture_output=True, text=True,
                         check=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    return json.loads(out.stdout)


def routes():
    """The route table: [{path, methods, metric_label, keyless, front,
    dialect, field_tables}]."""
    return app_table("--routes")["routes"]


def key():
    return os.environ[ENV_KEY]


def key2():
    return os.environ[ENV_KEY2]


class Response:
    def __init__(self, status, reason, header_list, body):
        self.status = status
        self.reason = reason
        self.header_list = header_list          # [(name, value), ...]
        self.headers = {}                       # lower-cased name -> value
        for name, value in header_list:
            self.headers[name.lower()] = value
        self.body = body                        # bytes
        self.json = None
        self.json_error = None
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.json_error = exc

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self):
        body = self.text
        if len(body) > 600:
            body = body[:600] + "...[%d bytes]" % len(self.body)
        return "<Response %d %s headers=%r body=%s>" % (
            self.status, self.reason, self.headers, body)


def _auth_headers(auth, api_key):
    """auth: "integrations" (Integrations-API-Key), "bearer", or None."""
    if auth is None or api_key is None:
        return {}
    if auth == "integrations":
        return {"Integrations-API-Key": api_key}
    if auth == "bearer":
        return {"Authorization": "Bearer " + api_key}
    raise ValueError("unknown auth style " + repr(auth))


def raw_request(method, path, body=None, headers=None, timeout=DEFAULT_TIMEOUT):
    """One HTTP request on a new connection. body: bytes, str, or a JSON-able
    object (serialised with json.dumps). Raises on a transport failure
    (no HTTP response at all)."""
    host, port = host_port()
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, bytearray)):
        if isinstance(body, str):
            body = body.encode("utf-8")
        else:
            body = json.dumps(body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # nginx may answer (e.g. 413) and stop reading before the whole
            # body is sent; its answer is still readable.
            pass
        resp = conn.getresponse()
        data = resp.read()
        # Every answer's status line has its status's own reason phrase
        # (the names nginx and Python's http.HTTPStatus use).
        assert resp.reason == http.HTTPStatus(resp.status).phrase, (
            "status line %d %r" % (resp.status, resp.reason))
        return Response(resp.status, resp.reason, resp.getheaders(), data)
    finally:
        conn.close()


def request(method, path, body=None, headers=None, auth="integrations",
            api_key=None, timeout=DEFAULT_TIMEOUT, retry_429=True):
    """Request with an API key (PYEXEC_TEST_KEY unless api_key is given;
    auth=None sends no key). A 429 is not what most tests are about: unless
    retry_429 is False it is waited out (Retry-After) and the request is
    sent again, a few times at most."""
    if api_key is None and auth is not None:
        api_key = key()
    hdrs = _auth_headers(auth, api_key)
    hdrs.update(headers or {})
    for _ in range(8):
        resp = raw_request(method, path, body=body, headers=hdrs,
                           timeout=timeout)
        if resp.status != 429 or not retry_429:
            return resp
        try:
            wait = float(resp.header("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        time.sleep(min(max(wait, 0.5), 3.0) + 0.1)
    return resp


def health(timeout=10.0, auth="integrations"):
    """GET /health; with the test key (its detailed view: pids, run counts,
    the self-test's checks) unless auth=None (the public view)."""
    return request("GET", "/health", auth=auth, timeout=timeout)


def execute(payload, timeout=DEFAULT_TIMEOUT, **kw):
    """POST /v1/execute with payload (dict, bytes or str)."""
    return request("POST", "/v1/execute", body=payload, timeout=timeout, **kw)


def wait_for_health(predicate, within=10.0, interval=0.2):
    """Poll /health until predicate(response) is true or `within` seconds
    have passed. Returns the last response (or None if none came)."""
    deadline = time.monotonic() + within
    last = None
    while True:
        try:
            last = health(timeout=5.0)
            if predicate(last):
                return last
        except (OSError, http.client.HTTPException, socket.timeout):
            pass
        if time.monotonic() >= deadline:
            return last
        time.sleep(interval)


def healthy_and_ready(resp):
    """Predicate: 200, healthy, all workers alive, every slot ready and
    none of its zygotes still starting (a remade slot serves cold before
    they are up)."""
    if resp is None or resp.status != 200 or not isinstance(resp.json, dict):
        return False
    j = resp.json
    workers = j.get("workers") or {}
    slots = j.get("slots") or []
    return (j.get("status") == "healthy"
            and workers.get("alive") == workers.get("configured")
            and len(slots) == workers.get("configured")
            and all(s.get("state") == "ready" for s in slots)
            and not any("starting" in (s.get("warm") or {}).get(k, "")
                        for s in slots for k in ("bare", "data")))


# ---------------------------------------------------------------- asserts

def show(obj, limit=4000):
    """A string for an assertion message (pytest shortens non-strings)."""
    if isinstance(obj, Response):
        text = obj.text
        if len(text) > limit:
            text = text[:limit] + "...[%d bytes]" % len(obj.body)
        return "HTTP %d %s\nheaders: %r\nbody: %s" % (
            obj.status, obj.reason, obj.headers, text)
    try:
        text = json.dumps(obj, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(obj)
    if len(text) > limit:
        text = text[:limit] + "...[%d chars]" % len(text)
    return text


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def assert_json_content_type(resp):
    ctype = resp.header("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", show(resp)


def assert_error(resp, status, code):
    """Check resp is the JSON error envelope with this HTTP status and code;
    return its message."""
    assert resp.status == status, show(resp)
    assert_json_content_type(resp)
    j = resp.json
    assert isinstance(j, dict), "body is not a JSON object (%s): %s" % (
        resp.json_error, show(resp))
    assert j.get("status") == "error", show(resp)
    inv = j.get("invocationId")
    assert isinstance(inv, str) and UUID4_RE.match(inv), show(resp)
    items = j.get("response")
    assert isinstance(items, list) and len(items) >= 1, show(resp)
    err = items[0]
    assert isinstance(err, dict), show(resp)
    assert err.get("type") == "error", show(resp)
    assert err.get("code") == code, show(resp)
    msg = err.get("message")
    assert isinstance(msg, str) and msg.strip(), show(resp)
    return msg


def assert_invalid(resp, *prefixes):
    """400 invalid_request whose message starts with one of the prefixes."""
    msg = assert_error(resp, 400, "invalid_request")
    assert any(msg.startswith(p) for p in prefixes), (
        "message %r does not start with any of %r" % (msg, prefixes))
    return msg


def assert_success(resp, shown=False):
    """Check the 200 success envelope; return the execution item.  shown:
    what a notebook cell showed ("display" and "table" items) may follow
    it, and only that."""
    assert resp.status == 200, show(resp)
    assert_json_content_type(resp)
    j = resp.json
    assert isinstance(j, dict), "body is not a JSON object (%s): %s" % (
        resp.json_error, show(resp))
    assert j.get("status") == "success", show(resp)
    inv = j.get("invocationId")
    assert isinstance(inv, str) and UUID4_RE.match(inv), show(resp)
    items = j.get("response")
    assert isinstance(items, list) and len(items) >= 2, show(resp)
    assert len(items) == 2 or shown, show(resp)
    assert all(it.get("type") in ("display", "table") for it in items[2:]), \
        show(resp)
    text, ex = items[:2]
    assert text.get("type") == "text", show(resp)
    assert isinstance(text.get("message"), str) and text["message"], show(resp)
    assert ex.get("type") == "execution", show(resp)

    assert ex.get("outcome") in OUTCOMES, show(ex)
    assert ex.get("exit_code") is None or _is_int(ex["exit_code"]), show(ex)
    assert ex.get("signal") is None or (
        isinstance(ex["signal"], str) and ex["signal"].startswith("SIG")), ex
    assert isinstance(ex.get("stdout"), str), show(ex)
    assert isinstance(ex.get("stderr"), str), show(ex)
    assert isinstance(ex.get("truncated"), bool), show(ex)
    for f in ("stdout_bytes", "stderr_bytes", "memory_peak_bytes"):
        assert _is_int(ex.get(f)) and ex[f] >= 0, f + ": " + show(ex)
    for f in ("duration_ms", "cpu_ms"):
        assert _is_num(ex.get(f)) and ex[f] >= 0, f + ": " + show(ex)
    assert "limit" in ex and ex["limit"] in LIMITS, show(ex)
    assert "exception" in ex, show(ex)
    if ex["exception"] is not None:
        e = ex["exception"]
        assert isinstance(e, dict), show(ex)
        assert isinstance(e.get("type"), str) and e["type"], show(ex)
        assert isinstance(e.get("message"), str), show(ex)
        assert e.get("line") is None or _is_int(e["line"]), show(ex)
    limits = ex.get("limits")
    assert isinstance(limits, dict), show(ex)
    assert set(limits) >= {"timeout", "memory_limit_bytes", "cpu_limit"}, show(ex)
    assert _is_num(limits["timeout"]), show(ex)
    assert _is_int(limits["memory_limit_bytes"]), show(ex)
    assert _is_num(limits["cpu_limit"]), show(ex)
    # the outcome and the fields agree
    if ex["outcome"] == "completed":
        assert ex["exit_code"] == 0 and ex["signal"] is None, show(ex)
        assert ex["limit"] is None and ex["exception"] is None, show(ex)
    if ex["exit_code"] is not None:
        assert ex["signal"] is None, show(ex)
    return ex


def run(code, **fields):
    """Execute code with optional fields (timeout, memory_limit, cpu_limit,
    stdin); assert the success envelope; return the execution item."""
    http_timeout = fields.pop("http_timeout", DEFAULT_TIMEOUT)
    payload = {"code": code}
    payload.update(fields)
    return assert_success(execute(payload, timeout=http_timeout))


def invocation_id(resp):
    return resp.json["invocationId"]


def read_log_lines():
    """Lines of PYEXEC_RUN_DIR/pyexec.log (complete lines only)."""
    path = os.path.join(os.environ[ENV_RUN_DIR], "pyexec.log")
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    # the last element is b"" when the file ends in a newline; otherwise it
    # is a line still being written: drop it either way
    return [ln.decode("utf-8", errors="replace") for ln in lines[:-1]]


def read_log_bytes():
    path = os.path.join(os.environ[ENV_RUN_DIR], "pyexec.log")
    with open(path, "rb") as f:
        return f.read()


# ------------------------------------------- FastCGI, straight to a backend

def backend_secret(run_dir=None):
    """The stack's backend secret, the one nginx sends (bytes, 64 hex
    digits): PYEXEC_BACKEND_SECRET_FILE if set, else <run dir>/backend-secret
    (scripts/dev's default).  Root only: the file is root's, 0600."""
    path = os.environ.get("PYEXEC_BACKEND_SECRET_FILE") if run_dir is None else None
    if not path:
        path = os.path.join(run_dir or os.environ[ENV_RUN_DIR], "backend-secret")
    return pyexec_fcgi.read_secret(path)


def fcgi_request_bytes(method, path, params=(), body=b"", secret=None,
                       query=""):
    """One FastCGI request (BEGIN, PARAMS, STDIN) as nginx would send it:
    the CGI params of method and path, then params (extra (name, value)
    pairs), then PYEXEC_BACKEND_SECRET when secret is given."""
    base = [("REQUEST_METHOD", method), ("DOCUMENT_URI", path),
            ("SCRIPT_NAME", path), ("REQUEST_URI", path),
            ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("CONTENT_TYPE", "application/json" if body else ""),
            ("CONTENT_LENGTH", str(len(body)) if body else "")]
    base += list(params)
    if secret is not None:
        base.append(("PYEXEC_BACKEND_SECRET", secret))
    return pyexec_fcgi.request(base, body)


def fcgi_raw(addr, data, timeout=DEFAULT_TIMEOUT):
    """Sends data (FastCGI records) to the backend at addr ("unix:PATH"
    or "HOST:PORT"); returns every byte it answered until it closed."""
    return pyexec_fcgi.exchange(addr, data, timeout)


def fcgi_response(out):
    """The Response of a backend's FastCGI records (their STDOUT; status 0
    when none came)."""
    status, reason, headers, body = pyexec_fcgi.split_http(pyexec_fcgi.stdout_of(out))
    return Response(status or 0, reason, headers, body)


def fcgi(addr, method, path, params=(), body=b"", secret=None, query="",
         timeout=DEFAULT_TIMEOUT):
    """One request straight to the backend at addr (nginx's part played
    by the caller: with secret=backend_secret(), as nginx does)."""
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    return fcgi_response(fcgi_raw(addr, fcgi_request_bytes(
        method, path, params, body or b"", secret, query), timeout))
