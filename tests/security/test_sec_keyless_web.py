"""Keyless requests cannot come from a web page (docs/security.md, "Keyless
requests and web pages").

A browser on an address of PYEXEC_ANONYMOUS_FROM is a way in for every page
it opens: a "simple" request (a form, or fetch with text/plain) needs no CORS
preflight, so a page of another site runs code and plants files in the
keyless workspace; a DNS-rebinding page (its own name resolving to the
service) even reads the answers.  For requests authenticated by their address
alone, the worker refuses a Host that is not one of the service's names, an
Origin other than its own or PYEXEC_ALLOWED_ORIGINS (a browser's
Sec-Fetch-Site without an Origin too), and a body that is not
application/json.  Keyed requests are unaffected.

On a private stack (instance "keylessweb", 127.0.0.1:18381, uids from 63700,
one worker): keyless from 127.0.0.1, one allowed origin, one extra server
name.  The requests are made here as a browser would make them: the headers
a page can cause, on a real connection.
"""

import http.client
import json
import os
import subprocess
import uuid

import pytest

import private_stack as private
import pyexec_http as ph

LISTEN = "127.0.0.1:18381"
HOST, PORT = LISTEN.rsplit(":", 1)
KEY = "keylessweb-key-1"
INSTANCE = "keylessweb"
ALLOWED = "https://app.example.com"
SETTINGS = {
    "PYEXEC_LISTEN": LISTEN, "PYEXEC_API_KEYS": KEY,
    "PYEXEC_INSTANCE": INSTANCE, "PYEXEC_UID_BASE": "63700",
    "PYEXEC_WORKERS": "1", "PYEXEC_ANONYMOUS_FROM": "127.0.0.1",
    "PYEXEC_ANON_RATE": "1000", "PYEXEC_ANON_BURST": "1000",
    "PYEXEC_ADDR_RATE": "1000", "PYEXEC_ADDR_BURST": "1000",
    "PYEXEC_ALLOWED_ORIGINS": ALLOWED + ",http://localhost:3000",
    "PYEXEC_SERVER_NAMES": "pyexec.test",
}
EVIL = "http://evil.example"
OWN = "http://%s" % LISTEN


@pytest.fixture(scope="module")
def stack():
    env, run_dir, _ = private.up(SETTINGS, "pyexec-keylessweb-")
    try:
        yield {"env": env, "run_dir": run_dir}
    finally:
        private.down(env, run_dir)
        private.rm_cgroups(INSTANCE)


def _send(method, path, body, headers, key=None):
    """One request; body is sent as it is (bytes or str), headers exactly as
    given (Host too, when given)."""
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=40)
    hdrs = dict(headers)
    if key is not None:
        hdrs["Integrations-API-Key"] = key
    if isinstance(body, str):
        body = body.encode()
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return ph.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def _plant(name):
    """A seed 003 body (its keyless workspace "default") that writes name."""
    return json.dumps({"generated_code": "open(%r, 'w').write('planted')\n"
                       "print('planted')" % name})


def _listing():
    """The keyless workspace's files, asked as a well-behaved client."""
    r = _send("POST", "/execute", json.dumps({
        "generated_code": "import os\nprint(sorted(os.listdir('.')))"}),
        {"Content-Type": "application/json"})
    assert r.status == 200 and r.json["process_status"] == "completed", ph.show(r)
    return r.json["stdout"]


def _metrics():
    r = _send("GET", "/metrics", None, {}, key=KEY)
    assert r.status == 200, ph.show(r)
    out = {}
    for ln in r.text.splitlines():
        if ln.startswith(("pyexec_keyless_refusals_total{", "pyexec_runs_total{")):
            name, value = ln.rsplit(" ", 1)
            out[name] = int(value)
    return out


def _runs(m):
    return sum(v for k, v in m.items() if k.startswith("pyexec_runs_total{"))


def _refused(r, word):
    """A 403 in the native error envelope whose message names the rule."""
    msg = ph.assert_error(r, 403, "forbidden")
    assert word in msg, ph.show(r)
    assert "without a key" in msg, ph.show(r)


# (what a page sends, the headers, the word the refusal says)
SIMPLE = [
    ("text/plain from another origin",
     {"Content-Type": "text/plain;charset=UTF-8", "Origin": EVIL}, "Origin"),
    ("a form from another origin",
     {"Content-Type": "application/x-www-form-urlencoded", "Origin": EVIL},
     "Origin"),
    ("multipart from another origin",
     {"Content-Type": "multipart/form-data; boundary=x", "Origin": EVIL},
     "Origin"),
    ("JSON from a sandboxed frame (Origin: null)",
     {"Content-Type": "application/json", "Origin": "null"}, "Origin"),
    ("JSON from the same host on another port",
     {"Content-Type": "application/json", "Origin": "http://127.0.0.1:3000"},
     "Origin"),
    ("a form without an Origin",
     {"Content-Type": "application/x-www-form-urlencoded"}, "application/json"),
    ("text/plain from this origin",
     {"Content-Type": "text/plain", "Origin": OWN}, "application/json"),
    ("no Content-Type at all", {}, "application/json"),
    ("a browser's cross-site request without an Origin",
     {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
     "Origin"),
    ("DNS rebinding: another name for this address",
     {"Content-Type": "application/json", "Host": "evil.example:%s" % PORT},
     "Host"),
    ("DNS rebinding, as the page sends it (its Origin is its own)",
     {"Content-Type": "application/json", "Host": "evil.example:%s" % PORT,
      "Origin": "http://evil.example:%s" % PORT}, "Host"),
]


@pytest.mark.parametrize("what,headers,word", SIMPLE, ids=[s[0] for s in SIMPLE])
def test_a_web_pages_keyless_request_runs_nothing(stack, what, headers, word):
    name = "planted-" + uuid.uuid4().hex[:12]
    before = _metrics()
    r = _send("POST", "/execute", _plant(name), headers)
    _refused(r, word)
    after = _metrics()
    assert _runs(after) == _runs(before), "the code ran: %r -> %r" % (before, after)
    assert name not in _listing(), "a file was planted in the keyless workspace"


def test_the_native_route_and_the_refusals_are_counted(stack):
    before = _metrics()
    r = _send("POST", "/v1/execute", json.dumps({"code": "print(1)"}),
              {"Content-Type": "text/plain"})
    _refused(r, "application/json")
    r = _send("POST", "/v1/execute", json.dumps({"code": "print(1)"}),
              {"Content-Type": "application/json", "Origin": EVIL})
    _refused(r, "Origin")
    r = _send("POST", "/v1/execute", json.dumps({"code": "print(1)"}),
              {"Content-Type": "application/json", "Host": "evil.example"})
    _refused(r, "Host")
    after = _metrics()
    for rule in ("host", "origin", "content_type"):
        name = 'pyexec_keyless_refusals_total{rule="%s"}' % rule
        assert after[name] == before[name] + 1, (rule, before, after)


def test_a_refusal_is_logged_without_the_headers(stack):
    marker = "evil-%s.example" % uuid.uuid4().hex[:8]
    r = _send("POST", "/execute", _plant("x"),
              {"Content-Type": "text/plain", "Origin": "http://" + marker})
    _refused(r, "Origin")
    with open(os.path.join(stack["run_dir"], "pyexec.log"), "rb") as f:
        log = f.read().decode("utf-8", "replace")
    assert "a request without a key refused: its origin" in log, log[-2000:]
    assert marker not in log, "a header's value is in the log"


# What must keep working keyless.
WELCOME = [
    ("no Origin (curl, agents)", {"Content-Type": "application/json"}),
    ("this origin (the playground)",
     {"Content-Type": "application/json; charset=utf-8", "Origin": OWN,
      "Sec-Fetch-Site": "same-origin"}),
    ("this origin by another of its names",
     {"Content-Type": "application/json", "Host": "localhost:%s" % PORT,
      "Origin": "http://LocalHost:%s" % PORT}),
    ("this origin over IPv6's loopback name",
     {"Content-Type": "Application/JSON", "Host": "[::1]:%s" % PORT,
      "Origin": "http://[0:0::1]:%s" % PORT}),
    ("an origin of PYEXEC_ALLOWED_ORIGINS",
     {"Content-Type": "application/json", "Origin": ALLOWED,
      "Sec-Fetch-Site": "cross-site"}),
    ("a name of PYEXEC_SERVER_NAMES",
     {"Content-Type": "application/json", "Host": "PyExec.Test:%s" % PORT}),
    ("a typed address (Sec-Fetch-Site: none)",
     {"Content-Type": "application/json", "Sec-Fetch-Site": "none"}),
]


@pytest.mark.parametrize("what,headers", WELCOME, ids=[w[0] for w in WELCOME])
def test_a_well_behaved_keyless_request_runs(stack, what, headers):
    name = "kept-" + uuid.uuid4().hex[:12]
    r = _send("POST", "/execute", _plant(name), headers)
    assert r.status == 200, ph.show(r)
    assert r.json == {"process_status": "completed", "stdout": "planted\n",
                      "stderr": ""}, ph.show(r)
    assert name in _listing()


def test_keyless_get_and_delete_without_a_body_need_no_type(stack):
    r = _send("DELETE", "/v1/workspace", None, {"Origin": OWN})
    assert r.status in (200, 404), ph.show(r)
    r = _send("GET", "/health?deep=1", None, {})
    assert r.status == 200, ph.show(r)
    r = _send("GET", "/health?deep=1", None, {"Host": "evil.example"})
    _refused(r, "Host")


def test_a_keyed_request_is_unaffected(stack):
    """A page cannot know the key, and the key's header forces a preflight:
    none of the rules applies to a request with a key."""
    r = _send("POST", "/execute", json.dumps({"generated_code": "print('keyed')"}),
              {"Content-Type": "text/plain", "Origin": EVIL,
               "Host": "evil.example", "Sec-Fetch-Site": "cross-site"}, key=KEY)
    assert r.status == 200 and r.json["stdout"] == "keyed\n", ph.show(r)


@pytest.mark.parametrize("name,value,word", [
    ("PYEXEC_ALLOWED_ORIGINS", "https://app.example.com/", "is not an origin"),
    ("PYEXEC_ALLOWED_ORIGINS", "https://ok.example *", "is not an origin"),
    ("PYEXEC_ALLOWED_ORIGINS", "null", "is not an origin"),
    ("PYEXEC_SERVER_NAMES", "pyexec.test:8080", "is not a host name"),
    ("PYEXEC_SERVER_NAMES", "fd00::5", "is not a host name"),
])
@pytest.mark.slow
def test_a_bad_list_refuses_to_start(name, value, word):
    app = os.environ.get("PYEXEC_FCGI") or os.path.join(
        private.TOP, "build", "fcgi-app", "pyexec-fcgi")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYEXEC_", "PYTHON_EXECUTOR_"))}
    env[name] = value
    out = subprocess.run([app, "--budget"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode != 0, out.stdout
    assert name in out.stderr and word in out.stderr, out.stderr
