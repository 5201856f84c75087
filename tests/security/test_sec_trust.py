"""Who the backend believes: nginx only, by the deployment's backend secret
(issue 24, item 1; docs/security.md, "Who is believed").

The single-host socket is www-data's (0660): every web application of a
Debian host runs as www-data.  With PYEXEC_BACKENDS=N the backends listen
on TCP, where any local user can connect.  A FastCGI client that forges
nginx's params (PYEXEC_KEY_VALID=1, PYEXEC_CLIENT=<a key's name>,
REMOTE_ADDR) gets a 403 untrusted_peer and nothing else: no run, no
/metrics, no keyed /health, no other client's workspace.  Each refusal is
counted (pyexec_untrusted_requests_total) and logged, without the secret;
the secret is in no environment, no response and no log; a master without
a good secret file does not start.

The worker checks the secret again in libfcgi's reading of the params;
the front's reading (fcgiparse.c: one request id, the first of a name)
agrees with libfcgi's, so no request reaches a worker that the front did
not check: that second check is not reachable from here.
"""

import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

import private_stack as private
import pyexec_http as ph
import sec_helpers as sh

show = ph.show
TOP = sh.TOP
SOCK = "unix:" + os.path.join(sh.RUN_DIR, "pyexec.sock")


def _client_name(key):
    """The client nginx names a key by (scripts/dev's keys map)."""
    return "k:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _forged(key=None):
    """nginx's params, as a forger would write them: a valid key, the key's
    client, an address of PYEXEC_METRICS_ALLOW."""
    return [("PYEXEC_KEY_VALID", "1"),
            ("PYEXEC_CLIENT", _client_name(key or ph.key())),
            ("REMOTE_ADDR", "127.0.0.1"),
            ("PYEXEC_REQUEST_ID", "00000000-0000-4000-a000-00000000f0f0")]


def _as_user(user, addr, data, timeout=30):
    """Sends data to the backend at addr from a child running as user (its
    uid and gid, no other group); returns the answer as a Response."""
    pw = pwd.getpwnam(user)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                # pragma: no cover (child)
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            out = ph.fcgi_raw(addr, data, timeout)
            while out:
                out = out[os.write(w, out):]
            code = 0
        except BaseException as e:              # noqa: BLE001
            os.write(w, ("CHILD-ERROR " + repr(e)).encode())
        finally:
            os._exit(code)
    os.close(w)
    out = b""
    while True:
        d = os.read(r, 65536)
        if not d:
            break
        out += d
    os.close(r)
    _, st = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(st) == 0, out[:500]
    return ph.fcgi_response(out)


def _forge(method, path, body=b"", params=None, secret=None, user="www-data",
           addr=SOCK, query=""):
    if body and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return _as_user(user, addr, ph.fcgi_request_bytes(
        method, path, _forged() if params is None else params, body, secret,
        query))


def _metrics():
    """name{labels} -> value of the stack's /metrics, through nginx."""
    r = ph.request("GET", "/metrics")
    assert r.status == 200, show(r)
    out = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _runs(m):
    return sum(v for k, v in m.items() if k.startswith("pyexec_runs_total"))


def _assert_untrusted(r, sent=False):
    msg = ph.assert_error(r, 403, "untrusted_peer")
    assert "PYEXEC_BACKEND_SECRET" in msg, msg
    assert ("is not this backend's secret" if sent else "is missing") in msg, msg
    # an id of the backend's own: the forged PYEXEC_REQUEST_ID is not believed
    assert r.json["invocationId"] != "00000000-0000-4000-a000-00000000f0f0", show(r)
    assert ph.backend_secret() not in r.body
    return msg


# --------------------------------------------- the unix socket, as www-data

def test_the_socket_is_www_datas():
    """The premise: www-data (every web application) can connect."""
    st = os.stat(SOCK[5:])
    assert pwd.getpwuid(st.st_uid).pw_name == "www-data", st
    assert st.st_mode & 0o777 == 0o660, oct(st.st_mode)


def test_forged_execute_runs_nothing(token):
    before = _runs(_metrics())
    r = _forge("POST", "/v1/execute", {"code": "print('forged run %s')" % token})
    _assert_untrusted(r)
    assert token.encode() not in r.body
    time.sleep(0.3)
    assert _runs(_metrics()) == before, "a forged request ran code"
    sh.assert_host_clean(token)


def test_forged_metrics_refused():
    r = _forge("GET", "/metrics")
    _assert_untrusted(r)
    assert b"pyexec_requests_total" not in r.body


def test_forged_deep_health_is_not_the_keyed_view():
    r = _forge("GET", "/health", query="deep=1")
    _assert_untrusted(r)
    assert b"pid" not in r.body and b"checks" not in r.body, show(r)
    # without deep=1 too: the public view is nginx's to ask for
    _assert_untrusted(_forge("GET", "/health"))


def test_forged_client_cannot_attach_a_workspace(token):
    ws = "trust-" + token[:12]
    ex = ph.run("open('secret.txt', 'w').write('%s')" % token, session_id=ws)
    assert ex["outcome"] == "completed", show(ex)
    try:
        r = _forge("POST", "/v1/execute", {
            "code": "print(open('secret.txt').read())", "session_id": ws})
        _assert_untrusted(r)
        assert token.encode() not in r.body, show(r)
        # the NVIDIA route: always a workspace
        r = _forge("POST", "/execute", {
            "generated_code": "print(open('secret.txt').read())"},
            params=_forged() + [("HTTP_PYEXEC_SESSION_ID", ws)])
        _assert_untrusted(r)
        assert token.encode() not in r.body, show(r)
    finally:
        d = ph.request("DELETE", "/v1/workspace", body={"session_id": ws})
        assert d.status == 200, show(d)


def test_wrong_secret_of_the_right_length_refused():
    wrong = secrets.token_hex(32).encode()
    assert wrong != ph.backend_secret()
    _assert_untrusted(_forge("GET", "/metrics", secret=wrong), sent=True)
    # one digit off, a prefix, the secret twice, empty: the same
    good = ph.backend_secret()
    off = good[:-1] + (b"0" if good[-1:] != b"0" else b"1")
    for bad in (off, good[:-1], good + good, b""):
        _assert_untrusted(_forge("GET", "/metrics", secret=bad), sent=True)


def test_with_the_secret_a_direct_request_is_served():
    """The refusals above are the secret's doing: the same request with it
    is nginx's and is answered (as root: only root reads the secret)."""
    r = ph.fcgi(SOCK, "GET", "/metrics", _forged(), secret=ph.backend_secret())
    assert r.status == 200 and b"pyexec_untrusted_requests_total" in r.body, show(r)


def test_refusals_are_counted_and_logged_without_the_secret():
    before = _metrics()["pyexec_untrusted_requests_total"]
    time.sleep(1.1)                             # past the log's rate limit
    start = len(ph.read_log_lines())
    wrong = secrets.token_hex(32)
    _forge("GET", "/metrics", secret=wrong)
    _forge("GET", "/metrics")
    assert _metrics()["pyexec_untrusted_requests_total"] == before + 2
    lines = [json.loads(l) for l in ph.read_log_lines()[start:]]
    untrusted = [l for l in lines if l.get("event") == "untrusted"]
    uid = pwd.getpwnam("www-data").pw_uid
    assert untrusted and untrusted[0]["level"] == "warning", lines
    assert re.search(r"403 to \d+ connection\(s\): not from nginx \(the last "
                     r"from uid %d pid \d+: PYEXEC_BACKEND_SECRET wrong\)" % uid,
                     untrusted[0]["message"]), untrusted
    secret = ph.backend_secret()
    for f in ("pyexec.log", "nginx/error.log", "nginx/access.log"):
        path = os.path.join(sh.RUN_DIR, f)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                data = fh.read()
            assert secret not in data, f + " holds the backend secret"
            assert wrong.encode() not in data, f + " holds a forger's guess"


def test_no_client_header_becomes_the_secret_param():
    """Through nginx, a request header reaches the backend as HTTP_<NAME>:
    a client's Pyexec-Backend-Secret takes nothing from nginx's."""
    r = ph.request("POST", "/v1/execute", body={"code": "print(6 * 7)"},
                   headers={"Pyexec-Backend-Secret": "0" * 64,
                            "Pyexec-Key-Valid": "1"})
    assert ph.assert_success(r)["stdout"] == "42\n", show(r)


def test_every_fastcgi_location_gets_the_secret():
    """nginx hands a location the server's fastcgi_params only when it sets
    none itself: one that does must include the secret's file too."""
    with open(os.path.join(TOP, "nginx", "pyexec.conf.in")) as f:
        site = f.read()
    server = site[site.index("\nserver {"):]
    assert re.search(r"^    include\s+@BACKEND_SECRET_CONF@;$", server, re.M)
    for m in re.finditer(r"^    location [^{]*\{(.*?)^    \}", server, re.M | re.S):
        body = m.group(1)
        if "fastcgi_pass" in body and "fastcgi_param" in body:
            assert "@BACKEND_SECRET_CONF@" in body, m.group(0)
    with open(os.path.join(sh.RUN_DIR, "nginx", "backend-secret.conf"), "rb") as f:
        conf = f.read()
    assert re.search(rb'^fastcgi_param\s+PYEXEC_BACKEND_SECRET\s+"%s";$'
                     % ph.backend_secret(), conf, re.M)
    for p in ("backend-secret", "nginx/backend-secret.conf"):
        st = os.stat(os.path.join(sh.RUN_DIR, p))
        assert st.st_uid == 0 and st.st_mode & 0o777 == 0o600, (p, oct(st.st_mode))


def test_the_secret_is_in_no_environment_and_no_answer(token):
    secret = ph.backend_secret()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for f in ("environ", "cmdline"):
            try:
                with open("/proc/%s/%s" % (pid, f), "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            assert secret not in data, "/proc/%s/%s holds the secret" % (pid, f)
    ex = ph.run(
        "import os\n"
        "print(sorted(os.environ))\n"
        "try:\n"
        "    print(open(%r).read())\n"
        "except OSError as e:\n"
        "    print('unreadable', type(e).__name__)\n"
        % os.path.join(sh.RUN_DIR, "backend-secret"))
    assert "unreadable" in ex["stdout"], show(ex)
    for r in (ph.request("GET", "/health"), ph.request("GET", "/metrics"),
              ph.request("GET", "/health", auth=None),
              ph.execute({"code": "print(1)"})):
        assert r.status == 200 and secret not in r.body, show(r)
    assert secret.decode() not in json.dumps(ex)
    sh.assert_host_clean(token)


def test_master_warns_where_nginx_memory_is_readable():
    """nginx makes its workers dumpable: without Yama's ptrace_scope >= 1 a
    process of their user reads the secret in their memory.  A master on a
    unix socket (nginx on this host) says so at start, only then."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = int(f.read())
    except OSError:
        scope = 0
    lines = [json.loads(l) for l in ph.read_log_lines()]
    starts = [i for i, l in enumerate(lines) if l.get("event") == "startup"
              and l.get("message", "").startswith("serving with")]
    assert starts, "no start in the log"
    warned = [l for l in lines[:starts[-1]] if l.get("event") == "startup"
              and "kernel.yama.ptrace_scope" in l.get("message", "")]
    if scope == 0:
        assert warned and warned[-1]["level"] == "warning", lines[:20]
        assert "docs/security.md" in warned[-1]["message"]
    else:
        assert not warned, warned


# ------------------------------------------------------------ TCP backends

LISTEN = "127.0.0.1:18170"
PORT0 = 18171                  # backend i: 127.0.0.1:PORT0+i
INSTANCE = "trust"
UID_BASE = 61400               # backend i: UID_BASE + 1000*i
KEY = "trust-key-5c1e"


@pytest.fixture(scope="module")
def tcp_stack():
    env, run_dir = private.up_backends(
        {"PYEXEC_BACKENDS": "2", "PYEXEC_BACKEND_PORT": str(PORT0),
         "PYEXEC_LISTEN": LISTEN, "PYEXEC_API_KEYS": KEY,
         "PYEXEC_INSTANCE": INSTANCE, "PYEXEC_UID_BASE": str(UID_BASE),
         "PYEXEC_WORKERS": "1", "PYEXEC_WARM": "0",
         "PYEXEC_METRICS_ALLOW": "127.0.0.1"}, "pyexec-trust-")
    yield {"env": env, "run_dir": run_dir}
    private.down(env, run_dir)
    for i in range(2):
        private.rm_cgroups("%s-b%d" % (INSTANCE, i))


def test_tcp_backends_believe_only_nginx(tcp_stack):
    secret = ph.backend_secret(tcp_stack["run_dir"])
    forged = _forged(KEY)
    for i in range(2):
        addr = "127.0.0.1:%d" % (PORT0 + i)
        # any local user, not only www-data
        r = _forge("POST", "/v1/execute", {"code": "print(6 * 7)"},
                   params=forged, user="nobody", addr=addr)
        _assert_untrusted_tcp(r, secret)
        _assert_untrusted_tcp(_forge("GET", "/metrics", params=forged,
                                     user="nobody", addr=addr), secret)
        _assert_untrusted_tcp(_forge("GET", "/metrics", params=forged,
                                     secret=secrets.token_hex(32),
                                     user="nobody", addr=addr), secret)
        # with the secret (root: nginx's part), the same backend answers
        m = ph.fcgi(addr, "GET", "/metrics", forged, secret=secret)
        assert m.status == 200, show(m)
        assert re.search(rb"^pyexec_untrusted_requests_total 3$", m.body, re.M), m.text
        assert re.search(rb'^pyexec_runs_total\{outcome="completed"\} 0$',
                         m.body, re.M), m.text
    # over TCP nginx may be on another host: no warning about this one's
    for i in range(2):
        with open(os.path.join(tcp_stack["run_dir"], "pyexec.b%d.log" % i)) as f:
            assert "kernel.yama.ptrace_scope" not in f.read()
    # and nginx, which has the secret, is served by them
    host, port = LISTEN.rsplit(":", 1)
    import http.client
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/v1/execute", body=json.dumps({"code": "print(6 * 7)"}),
                 headers={"Integrations-API-Key": KEY,
                          "Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 200 and b'"stdout":"42\\n"' in body, body


def _assert_untrusted_tcp(r, secret):
    msg = ph.assert_error(r, 403, "untrusted_peer")
    assert "PYEXEC_BACKEND_SECRET" in msg and secret not in r.body, show(r)


# ------------------------------------------------- no secret, no service

APP = os.path.join(TOP, "build", "fcgi-app", "pyexec-fcgi")


def _start_bare(secret_file):
    """pyexec-fcgi under spawn-fcgi -n with this PYEXEC_BACKEND_SECRET_FILE;
    (exit status, stderr lines parsed)."""
    tmp = tempfile.mkdtemp(prefix="pyexec-trust-")
    os.chmod(tmp, 0o755)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "PYEXEC_INSTANCE": "trustfail", "PYEXEC_WORKERS": "1",
           "PYEXEC_UID_BASE": "61480",
           "PYEXEC_LAUNCHER": os.path.join(TOP, "build", "sandbox", "pyexec-launcher"),
           "PYEXEC_RUNNER": os.path.join(TOP, "sandbox", "runner.py"),
           "PYEXEC_ZYGOTE": os.path.join(TOP, "build", "sandbox", "pyexec-zygote.so"),
           "PYEXEC_BACKEND_SECRET_FILE": secret_file}
    try:
        proc = subprocess.run(
            ["spawn-fcgi", "-n", "-s", os.path.join(tmp, "s.sock"), "--", APP],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return proc.returncode, [json.loads(l) for l in proc.stderr.decode().splitlines() if l]


@pytest.fixture
def secret_dir():
    d = tempfile.mkdtemp(prefix="pyexec-trust-secret-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _write(path, content, mode, owner=0):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, content)
    os.fchmod(fd, mode)
    os.fchown(fd, owner, owner)
    os.close(fd)


GOOD = secrets.token_hex(32).encode() + b"\n"
BAD_FILES = [
    ("missing", None, 0o600, 0, "No such file or directory"),
    ("mode-0644", GOOD, 0o644, 0, "mode 0644 lets group or others at the secret"),
    ("mode-0640", GOOD, 0o640, 0, "mode 0640"),
    ("not-roots", GOOD, 0o600, 65534, "owned by uid 65534"),
    ("short", GOOD[:40], 0o600, 0, "not a backend secret"),
    ("upper", GOOD.upper(), 0o600, 0, "not a backend secret"),
]


@pytest.mark.parametrize("name,content,mode,owner,reason", BAD_FILES,
                         ids=[c[0] for c in BAD_FILES])
def test_master_refuses_to_start_without_a_good_secret(secret_dir, name, content,
                                                       mode, owner, reason):
    path = os.path.join(secret_dir, "backend-secret")
    if content is not None:
        _write(path, content, mode, owner)
    status, lines = _start_bare(path)
    assert status == 1, lines
    fatal = [l for l in lines if l.get("level") == "fatal"]
    assert len(fatal) == 1 and fatal[0]["event"] == "startup", lines
    msg = fatal[0]["message"]
    assert msg.startswith("refusing to serve: PYEXEC_BACKEND_SECRET_FILE " + path), msg
    assert reason in msg, msg
    if name == "missing":
        assert "od -An -tx1 -N32 /dev/urandom" in msg, msg
    assert GOOD.strip().decode() not in json.dumps(lines)
    assert GOOD.strip().upper().decode() not in json.dumps(lines)
    assert not os.path.exists("/sys/fs/cgroup/memory/pyexec/trustfail"), "cgroup left"


@pytest.mark.slow
def test_scripts_dev_up_fails_closed_on_an_open_secret(secret_dir):
    path = os.path.join(secret_dir, "backend-secret")
    _write(path, GOOD, 0o644)
    run_dir = tempfile.mkdtemp(prefix="pyexec-trust-up-", dir="/tmp")
    os.chmod(run_dir, 0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYEXEC_", "PYTHON_EXECUTOR_", "TOGETHER_"))
           or k == "PYEXEC_FCGI"}
    env.update({"PYEXEC_RUN_DIR": run_dir, "PYEXEC_LISTEN": "127.0.0.1:18177",
                "PYEXEC_API_KEYS": KEY, "PYEXEC_INSTANCE": "trustup",
                "PYEXEC_UID_BASE": "61490", "PYEXEC_WORKERS": "1",
                "PYEXEC_BACKEND_SECRET_FILE": path})
    try:
        r = private.dev("up", "--detach", "--no-setup", env=env)
        out = r.stdout.decode()
        assert r.returncode != 0, out[-3000:]
        assert "mode 0644 lets group or others at the secret" in out, out[-3000:]
        assert GOOD.strip().decode() not in out
    finally:
        private.down(env, run_dir)
