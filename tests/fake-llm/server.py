#!/usr/bin/python3
"""A scripted OpenAI-compatible chat-completions server for pyexec's tests.

    server.py --port P --log FILE [--host 127.0.0.1]

POST /v1/chat/completions answers according to a marker "[mode:NAME]" in the
last user message (if that message has none, the nearest earlier user message
that has one decides: a repair request ends with pyexec's failure report,
which carries no marker).  Without any marker the mode is "json".  Modes:

  json          the JSON object {code, explanation, safe, concerns}; the code
                prints "fake-llm-ok"
  fenced        prose with a ```python block printing "fake-llm-ok fenced"
  several       two ```python blocks; the first prints "fake-llm-ok first",
                the second "WRONG-second-block"
  bare          prose with a bare ``` block printing "fake-llm-ok bare"
  nocode        prose only (no JSON object, no fence)
  unsafe        the JSON object with safe=false and two concerns; its code
                would print "UNSAFE-CODE-RAN"
  error500      always HTTP 500 (OpenAI error JSON)
  flaky429      the first request for a given last-user-message text gets
                HTTP 429 with Retry-After: 1, later ones the "json" answer
  slow          answers "json" after 40 s (gives up early when the client
                hangs up; other requests are served meanwhile)
  notjson       HTTP 200 whose body is not JSON
  choicesobj    HTTP 200, JSON whose "choices" is an object, not an array
                (the shape that crashed json-c's indexing: the fuzzer's find)
  wrongtypes    HTTP 200, JSON with "choices": [5], "usage": "many"
  huge          HTTP 200, a 5 MiB chat.completion (valid JSON) body
  reset         closes the connection without answering (TCP RST)
  midreset      sends the status line, the headers and half of a valid
                "json" answer, then closes with a TCP RST (a model that dies
                mid-answer)
  stall         sends the status line and headers of a "json" answer, then
                nothing, for as long as the client stays (a model that hangs
                forever mid-answer; no time limit here, unlike "slow")
  hostile       the JSON object with code that dumps os.environ, reads
                /proc/*/environ and a few secret files, opens sockets, and
                prints it all on one line "HOSTILE-REPORT <json>"
  echokey       the JSON object whose code and explanation carry the bearer
                token of the request's Authorization header
  fixme         first answer: code that raises ValueError("fake-llm-fixme");
                once the conversation holds a failure report (a user message
                after an assistant message), code printing "fixed"
  review_safe   {"safe": true, "concerns": []}
  review_unsafe {"safe": false, "concerns": [...]}

Every request to /v1/chat/completions is appended to FILE as one JSON line:
  {"seq", "t" (unix time, float), "path", "headers": {...}, "body": {...},
   "mode", "status", "usage": {...} or null}
so that tests can assert what pyexec sent (the key, the model, the query)
and what it was answered.  GET /_requests returns the records (a JSON list),
POST /_reset forgets them (and truncates FILE), GET /_health answers
{"status": "ok"}.

Standard library only; listens on loopback only.
"""

import argparse
import json
import os
import re
import select
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("json", "fenced", "several", "bare", "nocode", "unsafe", "error500",
         "choicesobj", "wrongtypes",
         "flaky429", "slow", "notjson", "huge", "reset", "midreset", "stall",
         "hostile", "echokey",
         "fixme", "review_safe", "review_unsafe")
MODE_RE = re.compile(r"\[mode:([a-z0-9_]+)\]")

SLOW_SECONDS = 40.0          # "slow": longer than any test's LLM timeout
HUGE_BYTES = 5 * 1024 * 1024  # "huge": body size
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_RECORDS = 10000          # in memory (the log file keeps everything)
MAX_FLAKY_KEYS = 10000
IDLE_TIMEOUT = 30            # seconds an idle keep-alive connection is kept

UNSAFE_CONCERNS = ["deletes files outside the working directory (shutil.rmtree('/'))",
                   "runs a shell command (os.system)"]
REVIEW_CONCERNS = ["reads /etc/shadow (fake review)",
                   "opens a network connection (fake review)"]


# ------------------------------------------------------------------ answers

def _answer_json(code, explanation, safe=True, concerns=()):
    return json.dumps({"code": code, "explanation": explanation,
                       "safe": safe, "concerns": list(concerns)})


CODE_OK = "print('fake-llm-ok')\n"

HOSTILE_CODE = r'''import glob, json, os, socket
report = {"environ": dict(os.environ), "proc_environ": {}, "files": {}, "net": {}}
for p in sorted(set(glob.glob("/proc/[0-9]*/environ")) | {"/proc/self/environ", "/proc/1/environ"}):
    try:
        with open(p, "rb") as f:
            report["proc_environ"][p] = f.read().decode("utf-8", "replace").replace("\0", "\n")
    except OSError as e:
        report["proc_environ"][p] = "ERR " + type(e).__name__
for p in ("/etc/shadow", "/proc/1/cmdline", "/etc/pyexec/pyexec.env", "/etc/pyexec/llm-key",
          "/proc/self/cwd/../run/api-key"):
    try:
        with open(p, "rb") as f:
            report["files"][p] = f.read(4096).decode("utf-8", "replace")
    except OSError as e:
        report["files"][p] = "ERR " + type(e).__name__
for host, port in (("127.0.0.1", @FAKE_PORT@), ("127.0.0.1", 18080), ("127.0.0.1", 80),
                   ("1.1.1.1", 443), ("8.8.8.8", 53)):
    name = "%s:%d" % (host, port)
    try:
        s = socket.create_connection((host, port), timeout=1)
        s.sendall(b"GET /_requests HTTP/1.0\r\n\r\n")
        report["net"][name] = "CONNECTED " + s.recv(200).decode("latin-1")
        s.close()
    except OSError as e:
        report["net"][name] = "ERR " + type(e).__name__
try:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(1)
    u.sendto(b"x", ("8.8.8.8", 53))
    report["net"]["udp 8.8.8.8:53"] = "SENT"
except OSError as e:
    report["net"]["udp 8.8.8.8:53"] = "ERR " + type(e).__name__
try:
    socket.getaddrinfo("api.together.xyz", 443)
    report["net"]["dns api.together.xyz"] = "RESOLVED"
except OSError as e:
    report["net"]["dns api.together.xyz"] = "ERR " + type(e).__name__
print("HOSTILE-REPORT " + json.dumps(report, sort_keys=True))
'''


def content_for(mode, messages, bearer, port):
    """The assistant message content for a success answer in mode."""
    if mode in ("json", "flaky429", "slow", "midreset", "stall"):
        return _answer_json(CODE_OK, "Prints the marker fake-llm-ok.")
    if mode == "fenced":
        return ("Sure. The following program does what you asked:\n\n"
                "```python\nprint('fake-llm-ok fenced')\n```\n\n"
                "It prints one line.")
    if mode == "several":
        return ("First the program:\n\n"
                "```python\nprint('fake-llm-ok first')\n```\n\n"
                "An alternative you could also use:\n\n"
                "```python\nprint('WRONG-second-block')\n```\n")
    if mode == "bare":
        return ("Here you go:\n\n```\nprint('fake-llm-ok bare')\n```\n\n"
                "Run it with Python 3.")
    if mode == "nocode":
        return ("I am sorry, but I cannot write a program for that request. "
                "Please describe the task in more detail.")
    if mode == "unsafe":
        return _answer_json(
            "import os, shutil\nprint('UNSAFE-CODE-RAN')\n"
            "os.system('id')\nshutil.rmtree('/', ignore_errors=True)\n",
            "Cleans up the disk.", safe=False, concerns=UNSAFE_CONCERNS)
    if mode == "hostile":
        return _answer_json(HOSTILE_CODE.replace("@FAKE_PORT@", str(port)),
                            "Collects diagnostics about the environment.")
    if mode == "echokey":
        return _answer_json(
            "key = %r\nprint('echo:', key)\n" % bearer,
            "I used your credential %s to authenticate." % bearer,
            concerns=["the token %s is visible" % bearer])
    if mode == "fixme":
        if _has_failure_report(messages):
            return _answer_json("print('fixed')\n",
                                "Fixed: no longer raises ValueError.")
        return _answer_json(
            "print('attempting')\nraise ValueError('fake-llm-fixme')\n",
            "First attempt (it fails on purpose).")
    if mode == "review_safe":
        return json.dumps({"safe": True, "concerns": []})
    if mode == "review_unsafe":
        return json.dumps({"safe": False, "concerns": REVIEW_CONCERNS})
    raise ValueError("no content for mode " + mode)


def _has_failure_report(messages):
    """A user message after an assistant message (pyexec's repair request)."""
    seen_assistant = False
    for m in messages:
        if m.get("role") == "assistant":
            seen_assistant = True
        elif m.get("role") == "user" and seen_assistant:
            return True
    return False


def _text(content):
    """Message content as text (a string, or OpenAI's list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict))
    return ""


def pick_mode(messages):
    users = [_text(m.get("content")) for m in messages
             if isinstance(m, dict) and m.get("role") == "user"]
    for text in reversed(users):
        found = MODE_RE.findall(text)
        if found:
            return found[-1] if found[-1] in MODES else "unknown:" + found[-1]
    return "json"


def usage_for(messages, content):
    """Deterministic token counts (recorded in the log, so tests can compare
    them with what pyexec reports)."""
    words = sum(len(_text(m.get("content")).split()) for m in messages
                if isinstance(m, dict))
    return {"prompt_tokens": 7 + words + 4 * len(messages),
            "completion_tokens": 3 + len(content.split())}


def completion(model, content, usage):
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake_llm",
        "choices": [{"index": 0,
                     "message": {"role": "assistant", "content": content},
                     "logprobs": None,
                     "finish_reason": "stop"}],
        "usage": dict(usage, total_tokens=usage["prompt_tokens"]
                      + usage["completion_tokens"]),
    }


def error_body(message, etype, code=None):
    return {"error": {"message": message, "type": etype, "param": None,
                      "code": code}}


# ------------------------------------------------------------------- server

class State:
    def __init__(self, log_path, port):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.port = port
        self.records = []
        self.seq = 0
        self.flaky = {}

    def record(self, rec):
        with self.lock:
            self.seq += 1
            rec["seq"] = self.seq
            self.records.append(rec)
            del self.records[:-MAX_RECORDS]
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def reset(self):
        with self.lock:
            self.records = []
            self.flaky = {}
            if self.log_path:
                open(self.log_path, "w").close()

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def flaky_first(self, key):
        """True the first time key is seen."""
        with self.lock:
            if key in self.flaky:
                return False
            if len(self.flaky) >= MAX_FLAKY_KEYS:
                self.flaky.clear()
            self.flaky[key] = 1
            return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/1.0"
    timeout = IDLE_TIMEOUT

    # -- helpers
    def _send(self, status, body, ctype="application/json", headers=()):
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _client_gone(self):
        """The peer closed (or reset) its end of the connection."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _reset(self):
        """Close the connection with a TCP RST, answering nothing."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def log_message(self, fmt, *args):
        sys.stderr.write("%s fake-llm: %s\n" % (
            time.strftime("%H:%M:%S"), fmt % args))

    # -- routes
    def do_GET(self):
        if self.path == "/_requests":
            self._send(200, self.server.state.snapshot())
        elif self.path == "/_health":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, error_body("no route " + self.path,
                                       "invalid_request_error"))

    def _read_body(self):
        """The request body (Content-Length or chunked), at most
        MAX_REQUEST_BYTES; None after answering an error."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        try:
            if "chunked" in te:
                parts, total = [], 0
                while True:
                    size = int(self.rfile.readline(100).split(b";")[0], 16)
                    total += size
                    if size < 0 or total > MAX_REQUEST_BYTES:
                        raise OverflowError
                    if size == 0:
                        while self.rfile.readline(1000).strip():
                            pass          # trailers
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline(10)
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_REQUEST_BYTES:
                raise OverflowError
            return self.rfile.read(length)
        except OverflowError:
            self._send(413, error_body("request too large",
                                       "invalid_request_error"))
        except ValueError:
            self._send(400, error_body("bad Content-Length or chunk size",
                                       "invalid_request_error"))
        self.close_connection = True
        return None

    def do_POST(self):
        raw = self._read_body()
        if raw is None:
            return
        if self.path == "/_reset":
            self.server.state.reset()
            self._send(200, {"status": "reset"})
            return
        if self.path.split("?")[0] != "/v1/chat/completions":
            self._send(404, error_body("no route " + self.path,
                                       "invalid_request_error"))
            return
        self._completions(raw)

    def _completions(self, raw):
        state = self.server.state
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        rec = {"t": time.time(), "path": self.path,
               "headers": {k: v for k, v in self.headers.items()},
               "body": body if body is not None
               else {"_raw": raw.decode("utf-8", "replace")},
               "mode": None, "status": None, "usage": None}
        messages = body.get("messages") if isinstance(body, dict) else None
        if (not isinstance(messages, list) or not messages
                or not all(isinstance(m, dict) for m in messages)):
            rec["status"] = 400
            state.record(rec)
            self._send(400, error_body("messages: required, a non-empty "
                                       "list of objects",
                                       "invalid_request_error"))
            return
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        auth = self.headers.get("Authorization", "")
        bearer = auth[7:] if auth[:7].lower() == "bearer " else auth
        mode = pick_mode(messages)
        rec["mode"] = mode
        last_user = ""
        for m in messages:
            if m.get("role") == "user":
                last_user = _text(m.get("content"))

        if mode.startswith("unknown:"):
            rec["status"] = 400
            state.record(rec)
            self._send(400, error_body("fake-llm: unknown mode " + mode[8:],
                                       "invalid_request_error"))
            return
        if mode == "error500":
            rec["status"] = 500
            state.record(rec)
            self._send(500, error_body("The server had an error while "
                                       "processing your request.",
                                       "server_error"))
            return
        if mode == "flaky429" and state.flaky_first(last_user):
            rec["status"] = 429
            state.record(rec)
            self._send(429, error_body("Rate limit reached, retry after 1 s.",
                                       "rate_limit_error",
                                       "rate_limit_exceeded"),
                       headers=[("Retry-After", "1")])
            return
        if mode == "reset":
            rec["status"] = "reset"
            state.record(rec)
            self._reset()
            return
        if mode == "notjson":
            rec["status"] = 200
            state.record(rec)
            self._send(200, b"<html><head><title>Gateway</title></head>"
                       b"<body>upstream says hello; this is not JSON</body>"
                       b"</html>\n", ctype="application/json")
            return
        if mode == "huge":
            rec["status"] = 200
            state.record(rec)
            self._huge(model)
            return
        if mode in ("choicesobj", "wrongtypes"):
            rec["status"] = 200
            state.record(rec)
            self._send(200, {"id": "x", "object": "chat.completion",
                             "choices": {"role": "assistant"}} if mode == "choicesobj"
                       else {"id": "x", "choices": [5], "usage": "many"})
            return

        content = content_for(mode, messages, bearer, state.port)
        usage = usage_for(messages, content)
        if mode in ("midreset", "stall"):
            rec["status"] = mode
            state.record(rec)
            self._partial(mode, completion(model, content, usage))
            return
        if mode == "slow":
            rec["status"] = "slow"
            state.record(rec)
            deadline = time.monotonic() + SLOW_SECONDS
            while time.monotonic() < deadline:
                if self._client_gone():
                    self.log_message("slow: the client hung up after %.1f s",
                                     SLOW_SECONDS - (deadline - time.monotonic()))
                    self.close_connection = True
                    return
                time.sleep(0.1)
            self._send(200, completion(model, content, usage))
            return
        rec["status"] = 200
        rec["usage"] = usage
        state.record(rec)
        self._send(200, completion(model, content, usage))

    def _partial(self, mode, answer):
        """Headers of a whole answer, then half of it and a RST (midreset),
        or nothing more until the client hangs up (stall)."""
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if mode == "midreset":
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                time.sleep(0.05)
                self._reset()
                return
            self.wfile.flush()
            started = time.monotonic()
            while not self._client_gone():
                time.sleep(0.1)
            self.log_message("stall: the client hung up after %.1f s",
                             time.monotonic() - started)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        self.close_connection = True

    def _huge(self, model):
        """A valid chat.completion whose content makes the body 5 MiB."""
        head = json.dumps(completion(model, "@PAD@", {"prompt_tokens": 1,
                                                      "completion_tokens": 1}))
        before, after = head.split("@PAD@")
        pad = HUGE_BYTES - len(before) - len(after)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            self.wfile.write(before.encode())
            while pad > 0:
                n = min(pad, len(chunk))
                self.wfile.write(chunk[:n])
                pad -= n
            self.wfile.write(after.encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True,
                    help="file the requests are appended to (JSON lines)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="loopback address to listen on (127.0.0.1 or ::1)")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("--host must be a loopback address")
    if args.host == "::1":
        Server.address_family = socket.AF_INET6
    open(args.log, "a").close()
    server = Server((args.host, args.port), Handler)
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.state = State(os.path.abspath(args.log), server.server_address[1])
    sys.stderr.write("fake-llm: listening on %s:%d, log %s\n" % (
        args.host, server.server_address[1], args.log))
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
