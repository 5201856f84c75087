#!/usr/bin/python3
"""pyexec's one FastCGI client: what nginx sends a backend and what the
backend answers, for whoever talks to a backend without nginx:
scripts/dev (status, backend: each backend's own /health), the tests that
speak to the socket (tests/integration/pyexec_http.py, tests/security,
tests/package) and tests/systemd's fcgi_client.py (this file is installed
next to it in the container).

    scripts/pyexec_fcgi.py health ADDR SECRET_FILE
        the HTTP status of GET /health asked of the backend at ADDR
        ("unix:PATH", "/PATH" or "HOST:PORT") with the backend secret in
        SECRET_FILE, as nginx asks it; 000 when no answer comes.

Records are padded to a multiple of 8 bytes only when a caller asks
(pad=True, as nginx does); the backend reads both.
"""

import socket
import struct
import sys

BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1
KEEP_CONN = 1                   # BEGIN_REQUEST's flag nginx never sets
HEADER = struct.Struct(">BBHHBx")  # version, type, request id, length, padding


# ------------------------------------------------------------ what is sent

def record(rtype, content=b"", rid=1, pad=False):
    """One record of up to 65535 bytes of content."""
    n = (8 - len(content) % 8) % 8 if pad else 0
    return HEADER.pack(1, rtype, rid, len(content), n) + content + b"\0" * n


def stream(rtype, data, rid=1, pad=False):
    """data as records of rtype, then the empty record that ends it."""
    out = b""
    for i in range(0, len(data), 65535):
        out += record(rtype, data[i:i + 65535], rid, pad)
    return out + record(rtype, b"", rid, pad)


def begin(flags=0, rid=1):
    """BEGIN_REQUEST of a responder."""
    return record(BEGIN, struct.pack(">HB5x", RESPONDER, flags), rid)


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pair(name, value):
    """One name-value pair of PARAMS (str or bytes)."""
    name = name.encode() if isinstance(name, str) else name
    value = value.encode() if isinstance(value, str) else value
    return _length(len(name)) + _length(len(value)) + name + value


def params(pairs):
    """The PARAMS stream's content of (name, value) pairs, in order (a
    repeated name is sent as often as it is listed)."""
    return b"".join(pair(k, v) for k, v in pairs)


def nginx_params(method, path, body=b"", query=""):
    """The CGI params nginx/pyexec.conf.in sends for a request (without
    pyexec's own: key, client, request id, backend secret)."""
    return [("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx"),
            ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"),
            ("REQUEST_METHOD", method),
            ("REQUEST_URI", path + ("?" + query if query else "")),
            ("DOCUMENT_URI", path), ("SCRIPT_NAME", path),
            ("QUERY_STRING", query),
            ("CONTENT_TYPE", "application/json" if body else ""),
            ("CONTENT_LENGTH", str(len(body)) if body else ""),
            ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "40000"),
            ("SERVER_ADDR", "127.0.0.1"), ("SERVER_PORT", "80"),
            ("SERVER_NAME", "localhost")]


def request(pairs, body=b"", flags=0, pad=False, stdin=True):
    """A whole request: BEGIN, PARAMS, and (stdin) STDIN with body."""
    out = begin(flags) + stream(PARAMS, params(pairs), pad=pad)
    return out + stream(STDIN, body, pad=pad) if stdin else out


def read_secret(path):
    """A backend secret file's secret (bytes, without its newline)."""
    with open(path, "rb") as f:
        return f.read().strip()


# ------------------------------------------------------------- the socket

def connect(addr, timeout=30):
    """A connection to a backend: "unix:PATH", "/PATH" or "HOST:PORT"."""
    if addr.startswith(("unix:", "/")):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(addr[5:] if addr.startswith("unix:") else addr)
        except OSError:
            s.close()
            raise
        return s
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_all(s):
    """Every byte s gives until the backend closes it."""
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            return out
        out += d


def read_answer(s, within=None):
    """The STDOUT of the answer on s up to END_REQUEST: (stdout, True), or
    (what came, False) when s closed, was reset or was silent for
    within seconds first."""
    if within is not None:
        s.settimeout(within)
    buf, out = b"", b""
    while True:
        while len(buf) >= 8:
            _, rtype, _, clen, pad = HEADER.unpack(buf[:8])
            if len(buf) < 8 + clen + pad:
                break
            content, buf = buf[8:8 + clen], buf[8 + clen + pad:]
            if rtype == STDOUT:
                out += content
            elif rtype == END:
                return out, True
        try:
            data = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            data = b""
        if not data:
            return out, False
        buf += data


def exchange(addr, data, timeout=30):
    """Sends data to the backend at addr; every byte it answered until
    it closed."""
    s = connect(addr, timeout)
    try:
        s.sendall(data)
        return read_all(s)
    finally:
        s.close()


# --------------------------------------------------------- what came back

def stdout_of(data):
    """The STDOUT content of the records in data."""
    out, i = b"", 0
    while i + 8 <= len(data):
        _, rtype, _, n, pad = HEADER.unpack(data[i:i + 8])
        if rtype == STDOUT:
            out += data[i + 8:i + 8 + n]
        i += 8 + n + pad
    return out


def split_http(stdout):
    """(status, reason, [(name, value)], body) of a CGI answer; status
    None when it has no Status header."""
    head, _, body = stdout.partition(b"\r\n\r\n")
    status, reason, headers = None, "", []
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            code, _, reason = value.strip().partition(" ")
            status = int(code)
        elif name:
            headers.append((name, value.strip()))
    return status, reason, headers, body


def health(addr, secret, timeout=3):
    """The status of GET /health asked of the backend at addr with the
    backend secret (bytes), or 0."""
    pairs = [("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/health"),
             ("REQUEST_URI", "/health"), ("QUERY_STRING", ""),
             ("REMOTE_ADDR", "127.0.0.1"), ("SERVER_PROTOCOL", "HTTP/1.1"),
             ("PYEXEC_BACKEND_SECRET", secret)]
    status = split_http(stdout_of(exchange(addr, request(pairs), timeout)))[0]
    return status or 0


def main(argv):
    if len(argv) != 4 or argv[1] != "health":
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        print("%03d" % health(argv[2], read_secret(argv[3])))
    except (OSError, ValueError, struct.error):
        print("000")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
