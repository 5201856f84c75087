"""Workspaces (docs/api.md, "Workspaces"): a directory that outlives a run.

On the shared stack (two keys, two workers): the native routes opt in with
a session (body "session_id" or the Pyexec-Session-Id header), seed 003
always has one, the other seeds never; usage in the execution item;
DELETE /v1/workspace; one request at a time per workspace; any slot; the
quota while writing; artifacts and input files in a workspace; metrics
and log lines without a session's text.
"""

import base64
import json
import os
import threading
import time
import uuid

import pytest

import pyexec_http as ph


def _sess(tag):
    return "t-%s-%s" % (tag, uuid.uuid4().hex[:10])


def _exec(body, **kw):
    """(response, its execution item); artifacts may follow the item."""
    resp = ph.execute(body, **kw)
    assert resp.status == 200 and resp.json["status"] == "success", ph.show(resp)
    ex = [i for i in resp.json["response"] if i["type"] == "execution"]
    assert len(ex) == 1, ph.show(resp)
    return resp, ex[0]


def _delete(session=None, headers=None, api_key=None):
    body = {"session_id": session} if session is not None else None
    return ph.request("DELETE", "/v1/workspace", body=body, headers=headers,
                      api_key=api_key)


def test_native_without_a_session_has_no_workspace():
    ex = ph.run("import os\nopen('x', 'w').write('1')\nprint(os.getcwd())")
    assert ex["stdout"] == "/tmp\n", ph.show(ex)
    assert ex["workspace"] is None, ph.show(ex)
    ex = ph.run("import os\nprint(os.path.exists('x'), os.path.ismount('/workspace'),"
                " os.listdir('/workspace'))")
    assert ex["stdout"] == "False False []\n", ph.show(ex)


def test_a_session_persists_and_reports_its_usage():
    s = _sess("persist")
    _, ex = _exec({"session_id": s, "code":
                   "import os\nprint(os.getcwd())\n"
                   "open('data.bin', 'wb').write(b'x' * 100000)"})
    ws = ex["workspace"]
    assert ex["stdout"] == "/workspace\n", ph.show(ex)
    assert ws["session_id"] == s and ws["path"] == "/workspace", ph.show(ws)
    assert ws["created"] is True and ws["full"] is False, ph.show(ws)
    assert 100000 <= ws["bytes"] <= 200000, ph.show(ws)
    assert ws["files"] >= 1, ph.show(ws)
    # PYEXEC_WORKSPACE_MAX_BYTES (64 MiB) and _MAX_FILES (4096) at least,
    # what the file system makes of them at most a little more
    assert 64 << 20 <= ws["max_bytes"] < 65 << 20, ph.show(ws)
    assert 4096 <= ws["max_files"] < 4200, ph.show(ws)
    t = time.strptime(ws["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    left = time.mktime(t) - time.mktime(time.gmtime())
    assert 3000 < left <= 3601, ph.show(ws)     # PYEXEC_WORKSPACE_IDLE 3600
    _, ex = _exec({"session_id": s, "code":
                   "import os\nst = os.stat('data.bin')\n"
                   "print(st.st_size, st.st_uid, os.getuid())"})
    assert ex["stdout"] == "100000 1000 1000\n", ph.show(ex)
    assert ex["workspace"]["created"] is False, ph.show(ex)
    assert _delete(s).status == 200


def test_the_header_names_the_session_too_and_must_agree_with_the_body():
    s = _sess("hdr")
    resp = ph.execute({"code": "open('h.txt', 'w').write('via header')"},
                      headers={"Pyexec-Session-Id": s})
    assert ph.assert_success(resp)["workspace"]["session_id"] == s
    _, ex = _exec({"session_id": s, "code": "print(open('h.txt').read())"})
    assert ex["stdout"] == "via header\n", ph.show(ex)
    resp = ph.execute({"session_id": s, "code": "print(1)"},
                      headers={"Pyexec-Session-Id": s + "-other"})
    ph.assert_error(resp, 400, "invalid_request")
    assert "differs from the Pyexec-Session-Id header" in resp.json["response"][0]["message"]
    for bad in ("..", ".", "a/b", "x" * 65, "", "caf\u00e9", "a b"):
        resp = ph.execute({"session_id": bad, "code": "print(1)"})
        ph.assert_error(resp, 400, "invalid_request")
        assert resp.json["response"][0]["message"].startswith("session_id: "), ph.show(resp)
    resp = ph.execute({"session_id": 5, "code": "print(1)"})
    ph.assert_error(resp, 400, "invalid_request")
    resp = ph.execute({"code": "print(1)"}, headers={"Pyexec-Session-Id": "../x"})
    ph.assert_error(resp, 400, "invalid_request")
    assert "Pyexec-Session-Id header" in resp.json["response"][0]["message"]
    assert _delete(s).status == 200


def test_two_keys_never_share_a_workspace_even_by_the_same_session():
    s = _sess("keys")
    _exec({"session_id": s, "code": "open('who', 'w').write('key one')"})
    resp = ph.execute({"session_id": s, "code":
                       "import os\nprint(os.listdir('.'))"}, api_key=ph.key2())
    ex = ph.assert_success(resp)
    # (outputs/ is made in every workspace of a native run: its artifacts)
    assert ex["stdout"] == "['outputs']\n", ph.show(ex)
    assert ex["workspace"]["created"] is True, ph.show(ex)
    assert _delete(s, api_key=ph.key2()).status == 200
    assert _delete(s).status == 200


def _seed_cwd_and_file(path, body, key_of_stdout):
    """(cwd the run had, whether a file from the previous run was there)"""
    hdr = {"Pyexec-Session-Id": "never-here"}
    ph.request("POST", path, body=body(
        "open('seed-left', 'w').write('x')\nimport os\nprint(os.getcwd())"),
        headers=hdr)
    resp = ph.request("POST", path, body=body(
        "import os\nprint(os.getcwd(), os.path.exists('seed-left'),"
        " os.listdir('/workspace'))"), headers=hdr)
    assert resp.status == 200, ph.show(resp)
    return key_of_stdout(resp.json)


def test_the_other_seeds_never_get_a_workspace():
    cases = [
        ("/execute", lambda c: {"code": c}, lambda j: j["stdout"]),            # 000
        ("/execute", lambda c: {"script": "def main():\n    " +
                                c.replace("\n", "\n    ")},
         lambda j: j["stdout"]),                                               # 002
        ("/api/v1/execute", lambda c: {"code": c}, lambda j: j["stdout"]),     # 004
    ]
    for path, body, out in cases:
        got = _seed_cwd_and_file(path, body, out)
        assert "/tmp False []" in got, (path, got)
    # seed 001 (its policy refuses os): the file of one run is gone at the next
    hdr = {"Pyexec-Session-Id": "never-here"}
    path = "/system/python_executor/execute_code/invoke"
    ph.request("POST", path, body={"code": "open('seed-left', 'w').write('x')"},
               headers=hdr)
    resp = ph.request("POST", path, headers=hdr, body={"code":
                      "try:\n    open('seed-left')\n    print('there')\n"
                      "except OSError:\n    print('gone')"})
    assert resp.json["response"][0]["message"].endswith("execution is:\n\ngone"), ph.show(resp)


def test_delete_then_not_found_then_a_fresh_one():
    s = _sess("del")
    _exec({"session_id": s, "code": "open('f', 'w').write('x')"})
    resp = _delete(s)
    assert resp.status == 200, ph.show(resp)
    assert resp.json["status"] == "success", ph.show(resp)
    assert resp.json["response"] == [{"type": "workspace", "session_id": s,
                                      "deleted": True}], ph.show(resp)
    resp = _delete(s)
    ph.assert_error(resp, 404, "not_found")
    _, ex = _exec({"session_id": s, "code": "import os\nprint(os.listdir('.'))"})
    assert ex["stdout"] == "['outputs']\n", ph.show(ex)
    assert ex["workspace"]["created"] is True, ph.show(ex)
    # the header names it too; an unknown field is refused
    assert _delete(headers={"Pyexec-Session-Id": s}).status == 200
    resp = ph.request("DELETE", "/v1/workspace", body={"session": s})
    ph.assert_error(resp, 400, "invalid_request")
    resp = ph.request("POST", "/v1/workspace", body={"session_id": s})
    ph.assert_error(resp, 405, "method_not_allowed")


def _blanks():
    """The files of the store's blank directory (the shared stack's)."""
    d = os.path.join(os.environ.get("PYEXEC_WORKSPACE_DIR") or
                     os.path.join(os.environ[ph.ENV_RUN_DIR], "workspaces"),
                     os.environ.get("PYEXEC_INSTANCE") or "test", "blank")
    return sorted(os.listdir(d))


def test_new_workspaces_come_from_blanks_made_ahead_and_are_as_new():
    """The store keeps two empty images made and mounted ahead
    (sandbox/host/store.c, "Blanks"): each create takes one and the store
    makes the next before the following create; what a create gets is
    exactly what mkfs made (empty but for the run's outputs/, root 0755 of
    uid 1000, nothing used), and no blank is ever a run's."""
    def settled():
        deadline = time.monotonic() + 10
        while _blanks() != ["b-0.img", "b-1.img"] and time.monotonic() < deadline:
            time.sleep(0.05)
        return _blanks()
    assert settled() == ["b-0.img", "b-1.img"]
    text = lambda: ph.read_log_bytes().decode("utf-8", "replace")
    before = text().count("created (a blank made ahead)")
    made = []
    try:
        for i in range(4):
            s = _sess("blank%d" % i)
            made.append(s)
            _, ex = _exec({"session_id": s, "code":
                           "import os\nst = os.stat('.')\n"
                           "print(sorted(os.listdir('.')), oct(st.st_mode & 0o7777),"
                           " st.st_uid, st.st_gid)\n"
                           "open('mine', 'w').write('%d')" % i})
            assert ex["stdout"] == "['outputs'] 0o755 1000 1000\n", ph.show(ex)
            ws = ex["workspace"]
            assert ws["created"] is True and ws["files"] <= 3, ph.show(ws)
            assert ws["bytes"] < 64 << 10, ph.show(ws)
            # the next blank is made in the background, not on a request
            assert settled() == ["b-0.img", "b-1.img"]
        assert text().count("created (a blank made ahead)") - before == 4
        # each kept its own file: no two creates shared an image
        for i, s in enumerate(made):
            _, ex = _exec({"session_id": s, "code":
                           "import os\nprint(sorted(os.listdir('.')), "
                           "open('mine').read())"})
            assert ex["stdout"] == "['mine', 'outputs'] %d\n" % i, ph.show(ex)
            assert ex["workspace"]["created"] is False, ph.show(ex)
    finally:
        for s in made:
            assert _delete(s).status == 200


def _background(fn):
    out = {}

    def go():
        out["resp"] = fn()
    t = threading.Thread(target=go)
    t.start()
    return t, out


@pytest.mark.slow
def test_delete_while_in_use_is_409_and_the_workspace_survives():
    s = _sess("busydel")
    _exec({"session_id": s, "code": "open('keep', 'w').write('x')"})
    t, out = _background(lambda: ph.execute(
        {"session_id": s, "code": "import time\ntime.sleep(2)"}, timeout=30))
    time.sleep(0.8)
    resp = _delete(s)
    t.join()
    ph.assert_error(resp, 409, "workspace_busy")
    assert resp.header("Retry-After") == "1", ph.show(resp)
    assert ph.assert_success(out["resp"])["outcome"] == "completed"
    _, ex = _exec({"session_id": s, "code": "import os\nprint(os.listdir('.'))"})
    assert "keep" in ex["stdout"], ph.show(ex)
    assert _delete(s).status == 200


def test_runs_of_one_workspace_never_overlap():
    s = _sess("serial")
    code = ("import time\nt0 = time.time()\ntime.sleep(0.6)\n"
            "open('spans', 'a').write('%f %f\\n' % (t0, time.time()))")
    threads = [_background(lambda: ph.execute({"session_id": s, "code": code},
                                              timeout=30)) for _ in range(3)]
    for t, out in threads:
        t.join()
        assert ph.assert_success(out["resp"])["outcome"] == "completed"
    _, ex = _exec({"session_id": s, "code": "print(open('spans').read())"})
    spans = sorted(tuple(map(float, ln.split())) for ln in ex["stdout"].split("\n") if ln.strip())
    assert len(spans) == 3, ph.show(ex)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 <= b0, spans
    assert _delete(s).status == 200


def test_a_workspace_written_in_one_slot_is_read_in_another():
    s = _sess("slots")
    slots = set()
    lines = 0
    for i in range(12):
        # a concurrent run without a workspace takes one worker, so the
        # next request of the session often lands on the other slot
        blocker, _ = _background(lambda: ph.execute(
            {"code": "import time\ntime.sleep(0.4)"}, timeout=30))
        time.sleep(0.1 if i % 2 else 0)
        resp = ph.execute({"session_id": s, "code":
                           "open('log', 'a').write('line\\n')\n"
                           "print(len(open('log').read().split()))"})
        ex = ph.assert_success(resp)
        blocker.join()
        lines += 1
        assert ex["stdout"] == "%d\n" % lines, ph.show(ex)
        rid = resp.json["invocationId"]
        for ln in ph.read_log_lines():
            if rid in ln:
                slots.add(json.loads(ln)["slot"])
        if len(slots) >= 2 and i >= 3:
            break
    assert len(slots) >= 2, slots
    assert _delete(s).status == 200


def test_the_quota_holds_while_writing():
    s = _sess("quota")
    code = ("import errno\nn = 0\n"
            "try:\n"
            "    for k in range(4):\n"
            "        with open('big%d' % k, 'wb') as f:\n"
            "            for i in range(30):\n"
            "                f.write(b'x' * (1 << 20)); n += 1\n"
            "except OSError as e:\n"
            "    print(errno.errorcode[e.errno], n)\n"
            "    raise\n")
    resp, ex = _exec({"session_id": s, "code": code, "timeout": 30})
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["stdout"].startswith("ENOSPC "), ph.show(ex)
    assert 63 <= int(ex["stdout"].split()[1]) <= 64, ph.show(ex)
    ws = ex["workspace"]
    assert ws["full"] is True and ws["bytes"] >= 60 << 20, ph.show(ws)
    assert ws["bytes"] <= ws["max_bytes"] + (1 << 20), ph.show(ws)
    assert _delete(s).status == 200


def test_artifacts_are_the_files_of_workspace_outputs_this_run_changed():
    s = _sess("arts")
    resp, ex = _exec({"session_id": s, "code":
                      "import os\nopen('outputs/a.csv', 'w').write('a,b\\n')\n"
                      "print(os.path.realpath('outputs'))"})
    assert ex["stdout"] == "/workspace/outputs\n", ph.show(ex)
    files = [i for i in resp.json["response"] if i["type"] == "file"]
    assert [f["name"] for f in files] == ["a.csv"], ph.show(resp.json)
    assert base64.b64decode(files[0]["data"]) == b"a,b\n"
    # the next run changes another file: only that one comes back
    resp, ex = _exec({"session_id": s, "code":
                      "open('outputs/b.txt', 'w').write('b')\n"
                      "print(sorted(__import__('os').listdir('outputs')))"})
    assert ex["stdout"] == "['a.csv', 'b.txt']\n", ph.show(ex)
    files = [i for i in resp.json["response"] if i["type"] == "file"]
    assert [f["name"] for f in files] == ["b.txt"], ph.show(resp.json)
    assert _delete(s).status == 200


def test_artifacts_of_runs_back_to_back_are_each_runs_own():
    # The kernel stamps files with a coarse clock (4 ms ticks here): a run
    # that starts in the tick of the last run's write must neither report
    # that file as its own nor miss a file it rewrites itself.
    s = _sess("b2b")
    for k in range(12):
        name = "f%d.txt" % (k - k % 2)      # odd rounds rewrite the last one
        resp, ex = _exec({"session_id": s, "code":
                          "open('outputs/%s', 'w').write('%d')\n" % (name, k)})
        assert ex["outcome"] == "completed", ph.show(ex)
        files = [i for i in resp.json["response"] if i["type"] == "file"]
        assert [f["name"] for f in files] == [name], (k, ph.show(resp.json))
        assert base64.b64decode(files[0]["data"]) == str(k).encode()
    assert _delete(s).status == 200


def test_input_files_replace_a_regular_file_and_never_a_link():
    s = _sess("inputs")
    enc = base64.b64encode(b"new").decode()
    _exec({"session_id": s, "code": "import os\nopen('in.txt', 'w').write('old')\n"
           "os.symlink('/etc/passwd', 'ln.txt')"})
    _, ex = _exec({"session_id": s, "files": [{"name": "in.txt", "content": enc}],
                   "code": "print(open('in.txt').read())"})
    assert ex["stdout"] == "new\n", ph.show(ex)
    _, ex = _exec({"session_id": s, "files": [{"name": "ln.txt", "content": enc}],
                   "code": "print('ran')"})
    assert ex["outcome"] == "error" and ex["stdout"] == "", ph.show(ex)
    assert ex["exception"]["type"] == "InputFileError", ph.show(ex)
    assert "not a regular file" in ex["exception"]["message"], ph.show(ex)
    assert _delete(s).status == 200


def test_metrics_count_workspaces_and_the_log_never_names_a_session():
    s = _sess("secret-session-name")
    _exec({"session_id": s, "code": "print(1)"})
    assert _delete(s).status == 200
    resp = ph.request("GET", "/metrics")
    assert resp.status == 200
    text = resp.body.decode()
    for line in ('pyexec_workspace_attach_total{result="created"} ',
                 'pyexec_workspaces_deleted_total{reason="request"} ',
                 "pyexec_workspaces ", "pyexec_workspace_mounts "):
        assert any(ln.startswith(line) and int(ln.split()[-1]) >= 0
                   for ln in text.splitlines()), line
    created = [ln for ln in text.splitlines()
               if ln.startswith('pyexec_workspace_attach_total{result="created"}')]
    assert int(created[0].split()[-1]) >= 1, created
    log = ph.read_log_bytes().decode("utf-8", "replace")
    assert s not in log and s.encode().hex() not in log
    assert '"event":"workspace"' in log and "deleted on request" in log
