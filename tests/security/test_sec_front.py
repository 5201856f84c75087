"""The front and connections that are not nginx's requests (issue 24, item 2).

Whoever reaches the backend's socket (PYEXEC_RUN_DIR/pyexec.sock; with
PYEXEC_BACKENDS > 1, backend 0's 127.0.0.1:PYEXEC_BACKEND_PORT) can open
connections and send part of a FastCGI header, or a whole header and
then its body a byte at a time, or go away while queued.  None of that
may pin the front (fcgi-app/proc/front.c):

  * 600 connections that each sent part of a header: requests through
    nginx still get 200 at once, the front does not spin (its CPU time
    grows by well under a fifth of the wall time; re-peeking every 2 ms
    cost about 60% of a core), and the front closes every one of them
    within PYEXEC_HEADER_TIMEOUT (or earlier, as the oldest past
    PYEXEC_HEADER_MAX), counted in pyexec_front_dropped_total;
  * a complete header whose body trickles in does not stall the front
    (it reads it as it comes, 2 s at most, between other work);
  * a request whose client hung up while it waited for a worker is dropped
    and never reaches a worker (its invocationId is in no request log
    line);
  * a BEGIN_REQUEST with FCGI_KEEP_CONN (nginx: fastcgi_keep_conn off;
    libfcgi would keep the descriptor in the worker) is closed unanswered.

Every complete FastCGI request these tests send straight to the socket is
made by fcgi_request() alone (what nginx sends: nginx/pyexec.conf.in's
params), so a param every request must carry is added there once.
"""

import concurrent.futures
import json
import os
import selectors
import threading
import time
import uuid

import pytest

import pyexec_fcgi as fcgi
import pyexec_http as ph
import sec_helpers as sh
from private_stack import children as _children

show = ph.show

RUN_DIR = os.environ.get(ph.ENV_RUN_DIR) or ""
HEADER_TIMEOUT = int(os.environ.get("PYEXEC_HEADER_TIMEOUT") or 5)
PARTIAL = 600                   # connections that send part of a header


# ------------------------------------------------------------ the socket

def _connect(timeout=10):
    """A new connection to the backend, as nginx makes one."""
    path = os.path.join(RUN_DIR, "pyexec.sock")
    if os.path.exists(path):
        return fcgi.connect("unix:" + path, timeout)
    return fcgi.connect("127.0.0.1:%d" % int(os.environ.get("PYEXEC_BACKEND_PORT") or 9000),
                        timeout)


def fcgi_request(method, path, body=b"", request_id=None, flags=0,
                 stdin=True, keyed=True):
    """The bytes of one complete FastCGI request as nginx sends it (the
    params of nginx/pyexec.conf.in, its backend secret among them; keyed:
    nginx found a valid key, PYEXEC_KEY_VALID=1).  stdin=False leaves out
    the STDIN stream (the caller sends it)."""
    params = fcgi.nginx_params(method, path, body) + [
        ("PYEXEC_REQUEST_ID", request_id or str(uuid.uuid4())),
        ("PYEXEC_REQUEST_START", "%.3f" % time.time()),
        ("PYEXEC_KEY_VALID", "1" if keyed else "0"),
        ("PYEXEC_CLIENT", "k:secfronttest0" if keyed else ""),
        ("PYEXEC_BACKEND_SECRET", ph.backend_secret().decode())]
    return fcgi.request(params, body, flags, pad=True, stdin=stdin)


# What a partial header looks like: a few bytes of the first record, a
# whole BEGIN_REQUEST and half a PARAMS record, the params without their
# empty end record, a PARAMS header without its content, one byte.
_P = fcgi.params([("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/v1/execute")])
PARTIALS = [
    fcgi.begin()[:5],
    fcgi.begin() + fcgi.record(fcgi.PARAMS, _P, pad=True)[:8 + len(_P) // 2],
    fcgi.begin() + fcgi.record(fcgi.PARAMS, _P, pad=True),
    fcgi.begin() + fcgi.record(fcgi.PARAMS, _P, pad=True)[:8],
    b"\x01",
]


# ------------------------------------------------------------ the front

def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def _front_pid():
    """The front: the master's pyexec-fcgi child that is no slot's worker."""
    master = int(os.environ["PYEXEC_MASTER_PID"])
    r = ph.health()
    assert r.status == 200, show(r)
    workers = {s["worker_pid"] for s in r.json["slots"]}
    fronts = [p for p in _children(master)
              if _comm(p) == "pyexec-fcgi" and p not in workers]
    assert len(fronts) == 1, (fronts, workers)
    return fronts[0]


def _cpu_s(pid):
    """utime + stime of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drops():
    """pyexec_front_dropped_total by reason (0 where absent)."""
    r = ph.request("GET", "/metrics")
    assert r.status == 200, show(r)
    out = {k: 0.0 for k in ("header_timeout", "evicted", "hangup", "malformed")}
    for line in r.text.splitlines():
        if line.startswith("pyexec_front_dropped_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            out[reason] = float(line.rsplit(" ", 1)[1])
    return out


def _closed_by_peer(s):
    """True when the other side closed s (EOF or reset), False while it is
    open; nothing of an answer may have come."""
    try:
        data = s.recv(4096)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    assert data == b"", "a partial header got an answer: %r" % data[:200]
    return True


def _wait_closed(socks, until):
    """The sockets of socks still open at until (monotonic)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    left = set(socks)
    while left and time.monotonic() < until:
        for key, _ in sel.select(timeout=max(0.0, until - time.monotonic())):
            if _closed_by_peer(key.fileobj):
                sel.unregister(key.fileobj)
                left.discard(key.fileobj)
    sel.close()
    return left


def _execute(code, timeout=15):
    """POST /v1/execute through nginx; the response, or the exception."""
    try:
        return ph.execute({"code": code}, timeout=timeout)
    except OSError as e:
        return e


# ------------------------------------------------------------ the tests

@pytest.mark.slow
def test_partial_headers_do_not_pin_the_front():
    front = _front_pid()
    before = _drops()
    socks = []
    t_open = time.monotonic()
    try:
        for i in range(PARTIAL):
            s = _connect()
            s.sendall(PARTIALS[i % len(PARTIALS)])
            socks.append(s)
        time.sleep(0.3)
        # While they are held: nginx's requests are served, and the front
        # sleeps (3 s, shorter than the header timeout).
        cpu0, t0 = _cpu_s(front), time.monotonic()
        answers = []
        while time.monotonic() - t0 < 3.0:
            answers.append(_execute("print(%d * 7)" % len(answers)))
            r = ph.request("GET", "/health", auth=None, timeout=10)
            assert r.status == 200, show(r)
        cpu, wall = _cpu_s(front) - cpu0, time.monotonic() - t0
        for i, r in enumerate(answers):
            assert isinstance(r, ph.Response), "request %d: %r" % (i, r)
            assert r.status == 200, show(r)
            assert r.json["response"][-1]["stdout"] == "%d\n" % (i * 7), show(r)
        assert len(answers) >= 3, answers
        assert cpu < 0.1 * wall, ("the front used %.2f s of CPU in %.2f s "
                                  "with %d partial headers open"
                                  % (cpu, wall, PARTIAL))
        # The front closes every one, within the header timeout.
        left = _wait_closed(socks, t_open + HEADER_TIMEOUT + 3)
        assert not left, ("%d of %d partial headers still open %.1f s after "
                          "they were sent" % (len(left), PARTIAL,
                                              time.monotonic() - t_open))
    finally:
        for s in socks:
            s.close()
    after = _drops()
    closed = (after["header_timeout"] - before["header_timeout"] +
              after["evicted"] - before["evicted"])
    assert closed >= PARTIAL, (before, after)
    assert after["header_timeout"] > before["header_timeout"], (before, after)
    # and nothing else of the service noticed
    ph.assert_success(ph.execute({"code": "print('after')"}))


@pytest.mark.slow
def test_a_trickled_body_does_not_stall_the_front():
    # Four complete headers of the public GET /health (the front answers
    # it), then a STDIN record of 200 bytes sent a byte every 50 ms.
    socks, stop = [], threading.Event()
    for _ in range(4):
        s = _connect()
        s.sendall(fcgi_request("GET", "/health", stdin=False, keyed=False) +
                  fcgi.HEADER.pack(1, fcgi.STDIN, 1, 200, 0))
        socks.append(s)

    def trickle():
        while not stop.is_set():
            for s in socks:
                try:
                    s.send(b"x")
                except OSError:
                    pass
            time.sleep(0.05)

    t = threading.Thread(target=trickle)
    t.start()
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        r = ph.request("GET", "/health", auth=None, timeout=30)
        took = time.monotonic() - t0
        assert r.status == 200, show(r)
        assert took < 1.5, "the public /health took %.1f s" % took
        # Each trickler gets its answer once the front stops reading (2 s).
        for s in socks:
            out, ended = fcgi.read_answer(s, 6)
            assert ended and out.startswith(b"Status: 200"), out[:300]
    finally:
        stop.set()
        t.join(10)
        for s in socks:
            s.close()


def _all_busy(n, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        r = ph.request("GET", "/health", auth=None, timeout=5)
        if r.status == 200 and sum(s["state"] == "busy"
                                   for s in r.json["slots"]) == n:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_a_queued_request_whose_client_hung_up_takes_no_worker(workers):
    before = _drops()
    inv = str(uuid.uuid4())
    busy = "import time\ntime.sleep(3)\nprint('busy')"
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        runs = [pool.submit(_execute, busy, 30) for _ in range(workers)]
        assert _all_busy(workers, 10), "the workers did not all get a run"
        # A request that waits for a worker, and its client goes away.
        s = _connect()
        s.sendall(fcgi_request("POST", "/v1/execute", request_id=inv,
                               body=json.dumps({"code": "print('queued')"}).encode()))
        time.sleep(0.5)
        s.close()
        for f in runs:
            r = f.result()
            assert isinstance(r, ph.Response) and r.status == 200, show(r)
    # The workers are free: one request after, then the log.
    ph.assert_success(ph.execute({"code": "print('after')"}))
    time.sleep(0.5)
    served = [l for l in ph.read_log_lines() if inv in l]
    assert not served, "a worker served the request of a client gone: %s" % served
    after = _drops()
    assert after["hangup"] > before["hangup"], (before, after)


def test_keep_conn_is_closed_unanswered():
    before = _drops()
    inv = str(uuid.uuid4())
    s = _connect()
    try:
        s.sendall(fcgi_request("POST", "/v1/execute", request_id=inv,
                               flags=fcgi.KEEP_CONN,
                               body=json.dumps({"code": "print(1)"}).encode()))
        out, ended = fcgi.read_answer(s, 10)
        assert not ended and out == b"", out[:300]
    finally:
        s.close()
    assert not [l for l in ph.read_log_lines() if inv in l]
    after = _drops()
    assert after["malformed"] > before["malformed"], (before, after)


def test_the_service_is_whole_after(token):
    ph.assert_success(ph.execute({"code": "print('whole')"}))
    sh.assert_host_clean(token)
