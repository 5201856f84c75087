"""Answers as Server-Sent Events (docs/api.md, "Streaming"), through nginx:
`Accept: text/event-stream` on POST /v1/execute, a live session's execute
and generate-and-execute gets stdout and stderr as the run writes them,
then the answer's items and an `envelope` event holding exactly the plain
answer's JSON; without the header nothing changes; a request refused before
its run is plain JSON; a client that hangs up cancels its run (outcome
`cancelled`, counted), on every route, and a session's call is interrupted,
not killed."""

import http.client
import json
import socket
import time
import uuid

import pytest

import pyexec_http as ph


def _send(path, body, accept="text/event-stream", api_key=None):
    """The request sent on a connection of its own, returned."""
    host, port = ph.host_port()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    headers = {"Content-Type": "application/json",
               "Integrations-API-Key": api_key or ph.key()}
    if accept:
        headers["Accept"] = accept
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    return conn


def _open(path, body, **kw):
    """The request sent; (connection, response) with its headers read."""
    conn = _send(path, body, **kw)
    return conn, conn.getresponse()


def _events(resp, stop_after=None):
    """[(name, data, seconds since the call)] until the stream ends (or
    stop_after events)."""
    out, name, t0 = [], None, time.monotonic()
    while True:
        line = resp.readline()
        if not line:
            return out
        line = line.decode("utf-8").rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            out.append((name, json.loads(line[6:]), time.monotonic() - t0))
            if stop_after is not None and len(out) >= stop_after:
                return out


def _runs(evs):
    """The event names, each run of stdout (or stderr) events as one
    (print() writes its text and its end apart)."""
    out = []
    for e in evs:
        if not (out and e[0] in ("stdout", "stderr") and out[-1] == e[0]):
            out.append(e[0])
    return out


def _stream(path, body, **kw):
    conn, resp = _open(path, body, **kw)
    try:
        assert resp.status == 200, (resp.status, resp.read())
        assert resp.getheader("Content-Type").startswith("text/event-stream")
        return resp, _events(resp)
    finally:
        conn.close()


def _execution(envelope):
    ex = [i for i in envelope["response"] if i["type"] == "execution"]
    assert len(ex) == 1, envelope
    return ex[0]


def test_output_comes_as_it_is_written_then_the_envelope():
    code = ("import sys, time\nprint('first')\nsys.stderr.write('warn\\n')\n"
            "time.sleep(2)\nprint('second')")
    resp, evs = _stream("/v1/execute", {"code": code})
    assert resp.getheader("X-Accel-Buffering") is None     # nginx's, not passed
    names = [e[0] for e in evs]
    assert names[-1] == "envelope", names
    out = [e for e in evs if e[0] == "stdout"]
    err = [e for e in evs if e[0] == "stderr"]
    assert "".join(e[1]["text"] for e in out) == "first\nsecond\n", evs
    assert "".join(e[1]["text"] for e in err) == "warn\n", evs
    # "first" came while the run slept: well before the stream's end
    first = [e for e in out if "first" in e[1]["text"]][0]
    assert evs[-1][2] - first[2] >= 1.0, evs
    env = evs[-1][1]
    assert env["status"] == "success" and ph.UUID4_RE.match(env["invocationId"])
    ex = _execution(env)
    assert ex["outcome"] == "completed" and ex["stdout"] == "first\nsecond\n", ex
    assert ex["stderr"] == "warn\n", ex


def test_the_envelope_is_the_plain_answer():
    """Same code, plain and streamed: the same items (ids and timings
    aside)."""
    body = {"code": "print(6 * 7)\n{'a': 1}"}
    plain = ph.execute(body)
    assert plain.status == 200, ph.show(plain)
    _, evs = _stream("/v1/execute", body)
    env = evs[-1][1]

    def shape(e):
        items = []
        for it in e["response"]:        # the summary gives the time too
            items.append({k: v for k, v in it.items()
                          if not k.endswith("_ms") and k != "memory_peak_bytes"
                          and not (it["type"] == "text" and k == "message")})
        return e["status"], items
    assert shape(env) == shape(plain.json), (env, plain.json)
    assert set(env) == set(plain.json), (env, plain.json)


@pytest.mark.parametrize("accept", [None, "application/json",
                                    "application/json, text/event-stream"])
def test_without_asking_for_a_stream_alone_nothing_changes(accept):
    """No Accept, JSON, or either (as MCP clients send it): the plain
    answer; streaming is only for who asks for it alone."""
    conn, resp = _open("/v1/execute", {"code": "print(1)"}, accept=accept)
    try:
        assert resp.status == 200
        assert resp.getheader("Content-Type") == "application/json"
        assert json.loads(resp.read())["status"] == "success"
    finally:
        conn.close()


def test_a_refused_request_is_plain_json_with_its_status():
    conn, resp = _open("/v1/execute", {"code": 5})
    try:
        assert resp.status == 400, resp.status
        assert resp.getheader("Content-Type") == "application/json"
        j = json.loads(resp.read())
        assert j["status"] == "error" and "code" in j["response"][0]["message"], j
    finally:
        conn.close()


def test_figures_and_tables_come_as_item_events():
    code = ("import pandas as pd\nimport matplotlib.pyplot as plt\n"
            "plt.plot([1, 2, 3])\nplt.show()\n"
            "display(pd.DataFrame({'a': [1, 2]}))")
    _, evs = _stream("/v1/execute", {"code": code, "artifacts": True})
    items = [e[1]["type"] for e in evs if e[0] == "item"]
    assert "table" in items and any(t in items for t in ("figure", "image")), evs
    env_items = [i["type"] for i in evs[-1][1]["response"]]
    for t in items:
        assert t in env_items, (items, env_items)


def _metric(name):
    resp = ph.request("GET", "/metrics")
    for line in resp.body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def _beats(session):
    """The heartbeat a run left in the workspace (its last count)."""
    ex = ph.run("import os\nprint(open('beat').read() if os.path.exists('beat') "
                "else '-')", session_id=session)
    return ex["stdout"]


BEAT = ("import time, os\n"
        "for i in range(400):\n"
        "    open('beat', 'w').write(str(i))\n"
        "    print(i, flush=True)\n"
        "    time.sleep(0.05)\n")


@pytest.mark.parametrize("accept", ["text/event-stream", None])
def test_a_client_that_hangs_up_cancels_its_run(accept):
    """Streamed or not: the run that beats into its workspace stops when
    the client closes its connection, and is counted as cancelled."""
    s = "t-hup-" + uuid.uuid4().hex[:10]
    before = _metric('pyexec_runs_total{outcome="cancelled"}')
    conn = _send("/v1/execute", {"code": BEAT, "session_id": s,
                                 "timeout": 20}, accept=accept)
    if accept:
        resp = conn.getresponse()
        assert resp.status == 200
        assert _events(resp, stop_after=2)
    else:
        time.sleep(1.0)             # it runs; no answer before its end
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    try:
        # the workspace is free again once the run is over, long before
        # its 20 s: the next request in it reads a beat that stays put
        t0 = time.monotonic()
        a = _beats(s)
        assert time.monotonic() - t0 < 10, "the run held its workspace"
        time.sleep(0.5)
        assert a != "-" and _beats(s) == a, a
        deadline = time.monotonic() + 5
        while (_metric('pyexec_runs_total{outcome="cancelled"}') < before + 1
               and time.monotonic() < deadline):
            time.sleep(0.1)
        assert _metric('pyexec_runs_total{outcome="cancelled"}') >= before + 1
        lines = [json.loads(l) for l in ph.read_log_bytes().decode(
            "utf-8", "replace").splitlines() if l.startswith("{")]
        assert any(l.get("event") == "request" and l.get("outcome") == "cancelled"
                   for l in lines[-50:]), lines[-5:]
    finally:
        ph.request("DELETE", "/v1/workspace", body={"session_id": s})


@pytest.fixture
def live():
    """A live session of the test key's client, and its workspace, gone
    afterwards."""
    name = "t-st-" + uuid.uuid4().hex[:10]
    resp = ph.request("POST", "/v1/sessions", body={"session_id": name})
    assert resp.status == 201, ph.show(resp)
    yield name
    ph.request("DELETE", "/v1/sessions/" + name)
    ph.request("DELETE", "/v1/workspace", body={"session_id": name})


def test_a_session_call_whose_client_hangs_up_is_interrupted_not_killed(live):
    r = ph.request("POST", "/v1/sessions/%s/execute" % live,
                   body={"code": "kept = 'yes'"})
    assert r.status == 200, ph.show(r)
    conn, resp = _open("/v1/sessions/%s/execute" % live,
                       {"code": BEAT, "timeout": 20})
    assert resp.status == 200
    evs = _events(resp, stop_after=2)
    assert [e[0] for e in evs] == ["stdout", "stdout"], evs
    assert evs[0][1]["text"].startswith("0"), evs
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    # the interrupt (KeyboardInterrupt) ends the call; the names stay
    r = ph.request("POST", "/v1/sessions/%s/execute" % live,
                   body={"code": "print(kept, int(open('beat').read()) < 399)"},
                   timeout=30)
    assert r.status == 200, ph.show(r)
    ex = _execution(r.json)
    assert ex["stdout"] == "yes True\n" and ex["session"] == "live", ex


def test_a_session_call_streams_too(live):
    _, evs = _stream("/v1/sessions/%s/execute" % live,
                     {"code": "x = 5\nprint(x)\nx * 2"})
    assert _runs(evs) == ["stdout", "envelope"], evs
    assert "".join(e[1]["text"] for e in evs[:-1]) == "5\n", evs
    env = evs[-1][1]
    ex = _execution(env)
    assert ex["stdout"] == "5\n" and ex["value"] == "10", ex
    assert env["response"][-1]["type"] == "session", env


def test_a_character_cut_between_two_writes_is_never_split():
    code = ("import sys, time\nb = 'é€😀'.encode()\n"
            "for i in range(len(b)):\n"
            "    sys.stdout.buffer.write(b[i:i + 1]); sys.stdout.flush()\n"
            "    time.sleep(0.02)\n")
    _, evs = _stream("/v1/execute", {"code": code})
    texts = [e[1]["text"] for e in evs if e[0] == "stdout"]
    assert "".join(texts) == "é€😀", texts
    assert all("\ufffd" not in t for t in texts), texts


def test_generate_streams_each_attempts_code_and_run():
    """mode fixme: the first code fails, the model's fix runs: the events
    are code 1, its output, run 1, code 2, its output, run 2, envelope."""
    import llm_helpers as lh
    lh.require_env()
    q = lh.query("fixme", lh.token())
    _, evs = _stream("/v1/generate-and-execute", {"query": q, "max_attempts": 2})
    names = _runs(e for e in evs if e[0] != "stderr")
    assert names == ["code", "stdout", "run", "code", "stdout", "run",
                     "envelope"], names
    runs = [e[1] for e in evs if e[0] == "run"]
    assert [r["outcome"] for r in runs] == ["error", "completed"], runs
    assert [r["attempt"] for r in runs] == [1, 2], runs
    codes = [e[1] for e in evs if e[0] == "code"]
    assert "fake-llm-fixme" in codes[0]["code"] and "fixed" in codes[1]["code"]
    env = evs[-1][1]
    ex = [i for i in env["response"] if i["type"] == "execution"]
    assert [e["stdout"] for e in ex] == ["attempting\n", "fixed\n"], env


def test_a_run_cannot_forge_events():
    """What a run prints is JSON text in a data line: its newlines and an
    `event:` line of its own stay text, and the one envelope is pyexec's."""
    forged = '\n\nevent: envelope\ndata: {"status": "forged"}\n\nid: 9\r\n'
    _, evs = _stream("/v1/execute", {"code": "import sys\nsys.stdout.write(%r)"
                                     % forged})
    names = [e[0] for e in evs]
    assert names.count("envelope") == 1 and names[-1] == "envelope", evs
    assert evs[-1][1]["status"] == "success", evs[-1]
    text = "".join(e[1]["text"] for e in evs if e[0] == "stdout")
    assert text == forged, text

