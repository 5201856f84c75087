"""The service's JSON log (stderr of pyexec-fcgi, kept as run/pyexec.log)."""

import json
import time
import uuid

import pyexec_http as ph


def _find_line(inv, within=3.0):
    deadline = time.monotonic() + within
    while True:
        for line in ph.read_log_lines():
            if inv in line:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict) and obj.get("invocationId") == inv:
                    return obj
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def test_request_logged_without_code(run_dir):
    marker = "LOGMARKER_" + uuid.uuid4().hex
    resp = ph.execute({"code": "x = %r\nprint(len(x))\n" % marker})
    ex = ph.assert_success(resp)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "%d\n" % len(marker), ph.show(ex)
    inv = resp.json["invocationId"]

    obj = _find_line(inv)
    assert obj is not None, "no log line with invocationId " + inv
    assert obj.get("route") == "/v1/execute", ph.show(obj)
    assert obj.get("status") == 200, ph.show(obj)
    assert obj.get("outcome") == "completed", ph.show(obj)
    assert isinstance(obj.get("ms"), (int, float)) and obj["ms"] >= 0, ph.show(obj)

    assert marker.encode() not in ph.read_log_bytes(), \
        "the code text appears in pyexec.log"


def test_error_request_logged(run_dir):
    resp = ph.execute({"code": "print(1)", "timeout": 99})
    ph.assert_invalid(resp, "timeout:")
    inv = resp.json["invocationId"]
    obj = _find_line(inv)
    assert obj is not None, "no log line with invocationId " + inv
    assert obj.get("status") == 400, ph.show(obj)


def test_every_log_line_is_json(run_dir):
    lines = [ln for ln in ph.read_log_lines() if ln.strip()]
    assert lines, "the service log is empty"
    bad = []
    for ln in lines:
        try:
            if not isinstance(json.loads(ln), dict):
                bad.append(ln)
        except ValueError:
            bad.append(ln)
    assert not bad, "non-JSON lines in pyexec.log: %r" % bad[:5]


def test_one_request_in_both_logs_with_the_key_named_not_shown(run_dir):
    """nginx's access line and pyexec's request event carry the same
    invocationId; nginx's names the key by its fingerprint, never the key."""
    import hashlib
    import os
    resp = ph.execute({"code": "print('both logs')"})
    assert resp.status == 200, ph.show(resp)
    inv = resp.json["invocationId"]
    app = _find_line(inv)
    assert app is not None and app["status"] == 200, app
    want = "k:" + hashlib.sha256(ph.key().encode()).hexdigest()[:12]
    line = None
    deadline = time.monotonic() + 5
    while line is None and time.monotonic() < deadline:
        with open(os.path.join(run_dir, "nginx", "access.log"), "rb") as f:
            data = f.read()
        assert ph.key().encode() not in data and ph.key2().encode() not in data
        for raw in data.decode().splitlines():
            obj = json.loads(raw)
            if obj.get("invocation_id") == inv:
                line = obj
        time.sleep(0.1)
    assert line is not None, "no access log line for " + inv
    assert line["api_key"] == want, line
    assert line["status"] == 200 and line["upstream_status"] == "200", line
    assert float(line["upstream_response_time"]) >= 0, line
    assert line["path"] == "/v1/execute", line


def _find_marked(marker, within=3.0):
    """The JSON log line holding marker (not code: a field name or path)."""
    deadline = time.monotonic() + within
    while True:
        for line in ph.read_log_lines():
            if marker in line:
                return json.loads(line)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def test_a_refusal_says_which_field_and_why(run_dir):
    resp = ph.execute({"code": "print(1)", "timeout": 99})
    ph.assert_invalid(resp, "timeout:")
    obj = _find_line(resp.json["invocationId"])
    assert obj is not None and obj["status"] == 400, obj
    assert obj["why"].startswith("timeout: must be a number between 0.1 and "), obj
    # a seed's own refusal (FastAPI's 422 of seed 000) names its field too
    field = "unknown_" + uuid.uuid4().hex
    resp = ph.request("POST", "/execute", body={"code": "print(1)", field: 1})
    assert resp.status == 422, ph.show(resp)
    obj = _find_marked(field)
    assert obj is not None and obj["status"] == 422, obj
    assert obj["why"].startswith(field + ": "), obj
    assert obj["route"] == "/execute" and obj["dialect"] == "together", obj


def test_an_unknown_path_is_logged_by_its_path(run_dir):
    path = "/no-such-route-" + uuid.uuid4().hex
    resp = ph.request("GET", path)
    assert resp.status == 404, ph.show(resp)
    obj = _find_line(resp.json["invocationId"])
    assert obj is not None, "no log line for " + path
    assert obj["route"] == "-" and obj["path"] == path, obj
