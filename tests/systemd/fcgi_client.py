#!/usr/bin/python3
"""Tiny FastCGI client for tests/systemd/run (runs inside the container).

usage: fcgi_client.py SOCKET|HOST:PORT execute|workspace|ctypes|health|health-deep|untrusted
Sends what nginx would (nginx/pyexec.conf.in's params, PYEXEC_KEY_VALID=1:
nginx checked the key; PYEXEC_BACKEND_SECRET from /etc/pyexec/backend-secret,
or $PYEXEC_BACKEND_SECRET_FILE, as nginx's include does; none when that
variable is empty) and checks the answer.  Prints one line,
"ok <detail>" (exit 0) or "bad <detail>" (exit 1).  health-deep prints the
JSON body of GET /health?deep=1; untrusted sends POST /v1/execute without
the secret and expects 403 untrusted_peer.
"""
import json
import os
import sys

# The one FastCGI client, scripts/pyexec_fcgi.py: installed next to this
# file in the container, two folders up in a checkout.
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[1:1] = [os.path.join(HERE, "..", "..", "scripts")]
import pyexec_fcgi as fcgi  # noqa: E402


def request(path, method="GET", body=b"", query="", secret=True):
    params = fcgi.nginx_params(method, path, body, query) + [
        ("PYEXEC_KEY_VALID", "1"), ("PYEXEC_CLIENT", "k:systemdtest0")]
    secret_file = os.environ.get("PYEXEC_BACKEND_SECRET_FILE", "/etc/pyexec/backend-secret")
    if secret_file and secret:
        params.append(("PYEXEC_BACKEND_SECRET", fcgi.read_secret(secret_file)))
    s = fcgi.connect(SOCK, 60)  # the socket's path, or HOST:PORT (a backend on TCP)
    try:
        s.sendall(fcgi.request(params, body, pad=True))
        out, ended = fcgi.read_answer(s)
    finally:
        s.close()
    if not ended:
        raise RuntimeError("connection closed before END_REQUEST (%d bytes)" % len(out))
    status, _, _, resp = fcgi.split_http(out)
    return status or 200, resp


def main():
    what = sys.argv[2]
    try:
        if what == "execute":
            st, body = request("/v1/execute", "POST",
                               json.dumps({"code": "import numpy; print(6*7)"}).encode())
            j = json.loads(body)
            ex = [r for r in j.get("response", []) if r.get("type") == "execution"]
            if st == 200 and j.get("status") == "success" and ex and ex[0].get("stdout") == "42\n":
                print("ok 200 stdout=%r outcome=%s duration_ms=%s" %
                      (ex[0]["stdout"], ex[0].get("outcome"), ex[0].get("duration_ms")))
                return 0
            print("bad status=%d body=%s" % (st, body[:300].decode(errors="replace")))
            return 1
        if what == "workspace":  # a file of one request, read by the next
            outs = []
            for code in ("open('w.txt', 'w').write('kept')\nprint('made')",
                         "import os\nprint(open('w.txt').read(), os.getcwd())"):
                st, body = request("/v1/execute", "POST", json.dumps(
                    {"code": code, "session_id": "unit"}).encode())
                j = json.loads(body)
                ex = [r for r in j.get("response", []) if r.get("type") == "execution"]
                outs.append((st, ex[0]["stdout"] if ex else body[:200]))
            request("/v1/workspace", "DELETE", json.dumps({"session_id": "unit"}).encode())
            if outs == [(200, "made\n"), (200, "kept /workspace\n")]:
                print("ok workspace: a file of one request read by the next in /workspace")
                return 0
            print("bad workspace: %r" % (outs,))
            return 1
        if what == "ctypes":   # a libffi closure: what MemoryDenyWriteExecute= would break
            code = ("import ctypes\nCB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)\n"
                    "f = CB(lambda x: x * 2)\nprint(f(21))\n")
            st, body = request("/v1/execute", "POST", json.dumps({"code": code}).encode())
            j = json.loads(body)
            ex = [r for r in j.get("response", []) if r.get("type") == "execution"]
            if st == 200 and ex and ex[0].get("stdout") == "42\n":
                print("ok ctypes callback")
                return 0
            print("bad ctypes callback: %s" % (json.dumps(ex[0])[:300] if ex else body[:300]))
            return 1
        if what == "untrusted":     # a forger on the socket: nginx's params, no secret
            st, body = request("/v1/execute", "POST", json.dumps(
                {"code": "print(6*7)"}).encode(), secret=False)
            j = json.loads(body)
            code = (j.get("response") or [{}])[0].get("code")
            if st == 403 and code == "untrusted_peer":
                print("ok 403 untrusted_peer")
                return 0
            print("bad status=%d body=%s" % (st, body[:300].decode(errors="replace")))
            return 1
        if what in ("health", "health-deep"):
            st, body = request("/health", query="deep=1" if what == "health-deep" else "")
            if what == "health-deep":
                print(body.decode(errors="replace"))
                return 0
            j = json.loads(body)
            if st == 200 and j.get("status") == "healthy":
                print("ok 200 healthy workers=%s" % json.dumps(j.get("workers")))
                return 0
            print("bad status=%d body=%s" % (st, body[:300].decode(errors="replace")))
            return 1
    except Exception as e:  # noqa: BLE001 - one line for the test's report
        print("bad %s: %s" % (type(e).__name__, e))
        return 1
    print("bad unknown request %s" % what)
    return 2


SOCK = sys.argv[1]
sys.exit(main())
