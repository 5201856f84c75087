"""Hostile programs against the artifacts (issue 13): links and FIFOs in
/tmp/outputs, a huge file, thousands of files, names that are not names,
a figure bomb, and artifacts forged on the report pipe.  The collector
runs with the run's own privileges and the worker checks every item
again: none of these may read outside the run, block it, pass a cap
unlisted, or put an unchecked name or byte in the answer."""

import base64
import json
import textwrap
import time
import unicodedata

import pyexec_http as ph
import sec_helpers as sh

show = sh.show
TYPES = {"image", "plotly", "file", "omitted"}


def _hidden(c):
    """A character no name may hold: a control (Cc), a format character
    (Cf: bidi overrides, zero-width characters, the BOM, tags, the soft
    hyphen, ...) or a line or paragraph separator (Zl, Zp)."""
    return unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")


def _code(s):
    return textwrap.dedent(s).lstrip("\n")


def _run(code, **fields):
    """The execution item and the artifact items of one native run."""
    payload = {"code": code, "timeout": 20, "memory_limit": "300m"}
    payload.update(fields)
    resp = ph.execute(payload, timeout=60)
    assert resp.status == 200, show(resp)
    items = resp.json["response"]
    assert [i["type"] for i in items[:2]] == ["text", "execution"], show(resp)
    arts = items[2:]
    for a in arts:
        assert a["type"] in TYPES, show(a)
        name = a.get("name")
        assert name is None or ("/" not in name and ".." not in name and
                                not any(_hidden(c) for c in name)
                                and 0 < len(name.encode()) <= 255), show(a)
    return items[1], arts, resp.text


def test_a_link_in_outputs_is_not_followed(token):
    ex, arts, text = _run(_code("""
        import os
        os.symlink('/etc/passwd', '/tmp/outputs/passwd.txt')
        os.symlink('/etc', '/tmp/outputs/etc')
        os.link('/tmp/outputs/passwd.txt', '/tmp/outputs/hard.txt',
                follow_symlinks=False) if hasattr(os, 'link') else None
        """))
    try:
        assert ex["outcome"] in ("completed", "error"), show(ex)
        assert arts == [], show(arts)
        assert "root:x:0" not in text and "cm9vdDp4OjA6" not in text
    finally:
        sh.assert_host_clean(token)


def test_outputs_itself_a_link_is_not_followed(token):
    ex, arts, text = _run(_code("""
        import os
        os.rmdir('/tmp/outputs')
        os.symlink('/etc', '/tmp/outputs')
        """))
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert arts == [], show(arts)
    finally:
        sh.assert_host_clean(token)


def test_a_fifo_in_outputs_does_not_block(token):
    # FIFOs cannot be made any more (the filter refuses mknod of one); a
    # socket inode is the special file a run can still leave there.
    t0 = time.monotonic()
    ex, arts, _ = _run(_code("""
        import os, socket
        try:
            os.mkfifo('/tmp/outputs/pipe.txt')
            raise SystemExit('a FIFO was made')
        except PermissionError:
            pass
        s = socket.socket(socket.AF_UNIX)
        s.bind('/tmp/outputs/sock.txt')
        os.mkdir('/tmp/outputs/dir')
        open('/tmp/outputs/dir/inner.txt', 'w').write('not top level')
        open('/tmp/outputs/real.txt', 'w').write('real')
        """), timeout=5)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert time.monotonic() - t0 < 5, "the FIFO blocked the run"
        assert [a["name"] for a in arts] == ["real.txt"], show(arts)
    finally:
        sh.assert_host_clean(token)


def test_a_huge_file_meets_the_sandbox_caps(token):
    # 2 GB asked: RLIMIT_FSIZE (SIGXFSZ) or the tmpfs (ENOSPC) stops it
    ex, arts, _ = _run(_code("""
        f = open('/tmp/outputs/huge.bin', 'wb')
        block = b'z' * (1 << 20)
        for _ in range(2048):
            f.write(block)
        """))
    try:
        assert ex["outcome"] in ("signal", "error", "memory_limit"), show(ex)
        for a in arts:
            assert a["truncated"] is True and "data" not in a, show(a)
    finally:
        sh.assert_host_clean(token)


def test_thousands_of_files_are_capped_and_counted(token):
    # the run's tmpfs has a few thousand inodes (10000 files end in
    # ENOSPC near 4094): 3000 is what a run can make
    ex, arts, _ = _run(_code("""
        for i in range(3000):
            open('/tmp/outputs/f%05d.txt' % i, 'w').write('x')
        """), timeout=30)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert len(arts) == 101, show(arts[-3:])
        kept = [a for a in arts[:100] if not a["truncated"]]
        assert len(kept) == 20, show(arts[:25])
        assert all(a["reason"] == "count" for a in arts[20:100]), show(arts)
        last = arts[-1]
        assert last == {"type": "omitted", "reason": "count", "count": 2900,
                        "size": 2900}, show(last)
    finally:
        sh.assert_host_clean(token)


def test_names_that_are_not_names(token):
    ex, arts, text = _run(_code("""
        import os
        for n in ['new\\nline.txt', 'a..b.txt', 'tab\\t.txt',
                  '\\udcff-not-utf8.txt', 'x' * 255, 'ok.txt']:
            try:
                fd = os.open(os.path.join('/tmp/outputs', n),
                             os.O_CREAT | os.O_WRONLY, 0o600)
                os.write(fd, b'data')
                os.close(fd)
            except OSError as e:
                print(n[:10], e)
        """))
    try:
        assert ex["outcome"] == "completed", show(ex)
        names = [a["name"] for a in arts]
        assert names.count(None) == 4, show(arts)
        assert "ok.txt" in names and "x" * 255 in names, show(arts)
        for a in arts:
            if a["name"] is None:
                assert a["truncated"] is True and a["reason"] == "name", a
                assert a["size"] == 4 and "data" not in a, show(a)
    finally:
        sh.assert_host_clean(token)


# Names that show as something else: "invoice<U+202E>txt.exe" reads
# "invoiceexe.txt"; zero-width characters, the BOM, tags and the soft
# hyphen hide in a name; a C1 control and a line separator break it.
HIDING = ["invoice\u202etxt.exe", "invoice\u202eexe.txt", "zero\u200bwidth.txt",
          "\ufeffbom.txt", "tag\U000e0041.txt", "soft\u00adhyphen.txt",
          "iso\u2066late.txt", "nel\u0085.txt", "line\u2028sep.txt",
          "mongolian\u180e.txt", "alm\u061c.txt"]


def test_names_that_hide_what_they_are(token):
    ex, arts, text = _run(_code("""
        import os
        for n in %r + ['caf\u00e9-ok.txt']:
            with open(os.path.join('/tmp/outputs', n), 'w') as f:
                f.write('data')
        """ % HIDING))
    try:
        assert ex["outcome"] == "completed", show(ex)
        names = [a["name"] for a in arts]
        assert names.count(None) == len(HIDING), show(arts)
        assert "caf\u00e9-ok.txt" in names, show(arts)
        for a in arts:
            if a["name"] is None:
                assert a["truncated"] is True and a["reason"] == "name", a
                assert a["size"] == 4 and "data" not in a, show(a)
        for n in HIDING:
            hidden = [c for c in n if _hidden(c)]
            assert hidden and not any(c in text for c in hidden), n
            assert not any(json.dumps(c)[1:-1].lower() in text.lower()
                           for c in hidden), n
    finally:
        sh.assert_host_clean(token)


def test_forged_names_that_hide_what_they_are_are_dropped(token):
    # past the runner (forged on its pipe): the worker's check refuses them
    items = [{"type": "file", "name": n, "size": 3, "data": "YWJj"}
             for n in HIDING] + [{"type": "file", "name": "fine.txt",
                                  "size": 3, "data": "YWJj"}]
    ex, arts, text = _run(_forge(items))
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert [a.get("name") for a in arts] == ["fine.txt", None], show(arts)
        assert arts[-1] == {"type": "omitted", "reason": "invalid",
                            "count": len(HIDING), "size": None}, show(arts)
        assert "invoice" not in text, show(arts)
    finally:
        sh.assert_host_clean(token)


def test_a_figure_bomb_is_not_drawn(token):
    t0 = time.monotonic()
    ex, arts, _ = _run(_code("""
        import matplotlib.pyplot as plt
        plt.figure(figsize=(200, 200), dpi=1000)
        plt.plot([1, 2])
        plt.figure(figsize=(2, 2), dpi=50)
        """))
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert time.monotonic() - t0 < 20
        bomb, small = arts
        assert bomb["truncated"] is True and bomb["reason"] == "pixels", bomb
        assert bomb["width"] == 200000 and "data" not in bomb, bomb
        assert small["truncated"] is False and small["width"] == 100, small
    finally:
        sh.assert_host_clean(token)


# The report pipe is reachable by the code (test_sec_spoof.py): what it
# writes there is checked like anything else and can only change the
# answer of its own run.
_FORGE = _code("""
    import base64, os, sys
    fd = os.sysconf("SC_OPEN_MAX") - 1
    wire = %r.replace('"BIG"', '"%%s"' %% base64.b64encode(
        b'q' * (6 << 20)).decode()).encode()
    while wire:
        wire = wire[os.write(fd, wire):]
    sys.stdout.flush()
    os._exit(0)
    """)


def _forge(items):
    return _FORGE % ("{}\n" + json.dumps(items))


def test_forged_artifacts_are_checked_like_any_other(token):
    png_lie = base64.b64encode(b"not a png at all").decode()
    items = [
        {"type": "file", "name": "../../etc/passwd", "size": 3,
         "data": "YWJj"},
        {"type": "file", "name": "/etc/shadow", "size": 3, "data": "YWJj"},
        {"type": "file", "name": "ok.txt", "size": 99, "data": "YWJj"},
        {"type": "file", "name": "b64.txt", "size": 3, "data": "YW Jj"},
        {"type": "image", "name": "figure-1.png", "size": 16,
         "data": png_lie, "width": 1, "height": 1},
        {"type": "plotly", "name": "figure-2.json", "size": 3,
         "data": base64.b64encode(b"[1]").decode()},
        {"type": "script", "name": "x.js", "size": 1, "data": "eA=="},
        {"type": "file", "name": "big.bin", "size": 6 << 20, "data": "BIG"},
        {"type": "file", "name": "fine.txt", "size": 3, "data": "YWJj"},
    ]
    ex, arts, text = _run(_forge(items))
    try:
        assert ex["outcome"] == "completed", show(ex)
        by = {a.get("name"): a for a in arts}
        assert "../../etc/passwd" not in text and "/etc/shadow" not in text
        assert by["fine.txt"]["truncated"] is False, show(arts)
        assert by["fine.txt"]["mime"] == "text/plain", show(arts)
        for n in ("ok.txt", "b64.txt", "figure-1.png", "figure-2.json"):
            assert by[n]["truncated"] is True, show(by[n])
            assert by[n]["reason"] == "invalid" and "data" not in by[n], by[n]
        assert by["big.bin"]["reason"] == "size", show(by["big.bin"])
        assert arts[-1] == {"type": "omitted", "reason": "invalid",
                            "count": 3, "size": None}, show(arts[-1])
    finally:
        sh.assert_host_clean(token)


def test_a_flood_on_the_report_pipe_is_dropped(token):
    # far past the artifact cap: the worker stops reading, no item
    code = _code("""
        import os
        fd = os.sysconf("SC_OPEN_MAX") - 1
        os.write(fd, b'{}\\n[')
        chunk = b'{"type":"file","name":"a.txt","size":1,"data":"eA=="},' * 1000
        try:
            for _ in range(1000):
                os.write(fd, chunk)
        except OSError as e:
            print("stopped", e.errno)
        """)
    ex, arts, _ = _run(code)
    try:
        assert ex["outcome"] == "completed", show(ex)
        assert arts == [], show(arts)
        assert ex["stdout"].startswith("stopped"), show(ex)
    finally:
        sh.assert_host_clean(token)


def test_forged_artifacts_never_reach_a_seed_route(token):
    code = _forge([{"type": "file", "name": "x.txt", "size": 3,
                    "data": "YWJj"}])
    r = ph.request("POST", "/api/v1/execute", {"code": code, "timeout": 10})
    try:
        assert r.status == 200, show(r)
        assert "x.txt" not in r.text and "YWJj" not in r.text, show(r)
    finally:
        sh.assert_host_clean(token)


# The runner shares its process with the code: a run can reach its
# globals (the frame that exec'd it) and turn the collection on where it
# is off, or raise its own caps.  That may only spoil its own report.
_FORCE = _code("""
    import sys, os
    g = sys._getframe().f_back.f_globals       # the runner's own globals
    g['_art_header'] = {'art_total': str(1 << 30), 'art_item': str(1 << 30),
                        'art_count': '1000'}
    os.makedirs('/tmp/outputs', exist_ok=True)
    for i in range(30):
        open('/tmp/outputs/stolen-%02d.txt' % i, 'w').write('forced')
    import matplotlib.pyplot as plt
    plt.figure(figsize=(2, 2), dpi=50); plt.plot([1, 2])
    print('reached', len(os.listdir('/tmp/outputs')))
    """)


def test_a_run_that_turns_the_collection_on_gets_nothing_from_it(token):
    try:
        # off on the native route: the forced list spoils only the report
        ex, arts, text = _run(_FORCE, artifacts=False)
        assert ex["outcome"] == "completed", show(ex)
        assert ex["stdout"] == "reached 30\n", show(ex)
        assert arts == [] and "stolen" not in text, show(text)
        # a seed route never takes what follows the report either
        r = ph.request("POST", "/api/v1/execute", {"code": _FORCE, "timeout": 20})
        assert r.status == 200 and "reached 30" in r.text, show(r)
        assert "stolen" not in r.text and "image/png" not in r.text, show(r)
        # on: the caps it wrote for itself are not the worker's
        ex, arts, text = _run(_FORCE)
        assert ex["stdout"] == "reached 30\n", show(ex)
        kept = [a for a in arts if a.get("truncated") is False]
        assert len(kept) == 20, show(arts)
        assert [a["reason"] for a in arts if a.get("truncated")] == \
            ["count"] * (len(arts) - 20), show(arts)
        assert len(arts) == 31, show(arts)       # the figure and 30 files
    finally:
        sh.assert_host_clean(token)


# Input files (`files` on the native routes): names that try to leave
# the working directory, duplicates, the caps, a name the runner already
# uses, and what a later run sees.

def _b64(b):
    return base64.b64encode(b).decode("ascii")


def _files_refused(files, *prefixes):
    resp = ph.execute({"code": "import os\nprint(os.listdir('/tmp'))",
                       "files": files})
    return ph.assert_invalid(resp, *prefixes)


def test_input_file_names_cannot_leave_the_working_directory(token):
    try:
        for name, want in (("../x", "must not contain '/'"),
                           ("/etc/x", "must not contain '/'"),
                           ("a/b", "must not contain '/'"),
                           ("./x", "must not contain '/'"),
                           (".", "must not be \".\" or \"..\""),
                           ("..", "must not be \".\" or \"..\""),
                           ("a\x00b", "must not contain NUL bytes"),
                           ("", "must not be empty"),
                           ("x\n", "must not contain control characters"),
                           ("\x1b[31m", "must not contain control characters"),
                           ("x\u0085", "must not contain control characters"),
                           ("invoice\u202etxt.exe", "must not contain invisible "
                            "format characters (found U+202E)"),
                           ("a\u200bb", "must not contain invisible format "
                            "characters (found U+200B)"),
                           ("\ufeffx", "must not contain invisible format "
                            "characters (found U+FEFF)"),
                           ("x\U000e0001", "must not contain invisible format "
                            "characters (found U+E0001)"),
                           ("n" * 256, "must be at most 255 bytes")):
            _files_refused([{"name": "fine", "content": ""},
                            {"name": name, "content": _b64(b"evil")}],
                           "files[1].name: " + want)
    finally:
        sh.assert_host_clean(token)


def test_two_input_files_with_one_name_are_refused():
    _files_refused([{"name": "same", "content": _b64(b"1")},
                    {"name": "same", "content": _b64(b"2")}],
                   "files[1].name: the same name as files[0]")


def test_input_files_past_the_caps_are_refused():
    big = _b64(b"q" * ((1 << 20) + 1))
    for files, prefix in (
            ([{"name": "big", "content": big}], "files[0].content: at most"),
            ([{"name": "f%d" % i, "content": _b64(b"w" * (900 << 10))}
              for i in range(6)], "files: at most")):
        resp = ph.execute({"code": "pass", "files": files})
        if resp.status == 413:          # the body cap came first
            ph.assert_error(resp, 413, "payload_too_large")
        else:
            ph.assert_invalid(resp, prefix, "files[")


def test_an_input_file_on_a_name_the_runner_made_is_a_clean_error(token):
    # /tmp/outputs exists before the files are written: O_EXCL refuses
    # to reuse it, and the run ends as an error before the code starts.
    ex, arts, text = _run("print('the code ran')",
                          files=[{"name": "outputs",
                                  "content": _b64(b"x")}])
    try:
        assert ex["outcome"] == "error", show(ex)
        assert ex["exception"]["type"] == "InputFileError", show(ex)
        assert "files[0]" in ex["exception"]["message"], show(ex)
        assert "the code ran" not in ex["stdout"], show(ex)
    finally:
        sh.assert_host_clean(token)


def test_input_files_land_in_the_run_only_and_not_in_the_next(token):
    name = "input-%s.txt" % token
    code = _code("""
        import os
        here = [n for n in os.listdir('/tmp') if n.startswith('input-')]
        st = os.lstat('/tmp/%s') if os.path.lexists('/tmp/%s') else None
        result = [here, st is not None and oct(st.st_mode)]
        """ % (name, name))
    ex, _, _ = _run(code, files=[{"name": name, "content": _b64(b"1")}])
    assert ex["outcome"] == "completed", show(ex)
    assert ex["result"] == [[name], "0o100600"], show(ex)
    try:
        for _ in range(2 * (sh._workers_configured() or 4) + 2):
            ex, _, _ = _run(code)
            assert ex["result"] == [[], False], show(ex)
    finally:
        sh.assert_host_clean(token)
