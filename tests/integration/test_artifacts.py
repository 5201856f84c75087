"""Artifacts (issue 13): figures and files come back from a run on the
native routes as items after the execution item: matplotlib figures as
PNG `image` items (width and height from the PNG's own header), plotly
figures shown with fig.show() as `plotly` items holding the spec, and
what the code writes to /tmp/outputs/ as `file` items.  The seed routes
answer as before."""

import base64
import struct

import pyexec_http as ph

ARTIFACT_TYPES = {"image", "plotly", "file", "omitted"}


def _items(payload):
    resp = ph.execute(payload, timeout=60)
    assert resp.status == 200, ph.show(resp)
    items = resp.json["response"]
    assert items[0]["type"] == "text" and items[1]["type"] == "execution", \
        ph.show(resp)
    for it in items[2:]:
        assert it["type"] in ARTIFACT_TYPES, ph.show(it)
    return items[1], items[2:]


def _run(code, **fields):
    payload = {"code": code, "timeout": 30, "memory_limit": "300m"}
    payload.update(fields)
    return _items(payload)


def _png_size(data):
    png = base64.b64decode(data, validate=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", png[:32]
    return struct.unpack(">II", png[16:24]), len(png)


def test_an_open_matplotlib_figure_comes_back_as_a_png():
    ex, arts = _run("import matplotlib.pyplot as plt\n"
                    "plt.figure(figsize=(8, 6), dpi=100)\n"
                    "plt.plot([1, 3, 2])\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert len(arts) == 1, ph.show(arts)
    im = arts[0]
    assert im["type"] == "image" and im["mime"] == "image/png", ph.show(im)
    assert im["name"] == "figure-1.png" and im["truncated"] is False, im
    (w, h), n = _png_size(im["data"])
    assert (w, h) == (im["width"], im["height"]) == (800, 600), ph.show(im)
    assert n == im["size"], ph.show(im)


def test_show_twice_gives_two_images_in_order():
    ex, arts = _run("import matplotlib.pyplot as plt\n"
                    "plt.figure(figsize=(2, 2), dpi=50); plt.plot([1, 2])\n"
                    "plt.show()\n"
                    "plt.figure(figsize=(4, 3), dpi=50); plt.plot([2, 1])\n"
                    "plt.show()\n"
                    "print(plt.get_fignums())\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    # show() closes what it shows, as a notebook does
    assert ex["stdout"] == "[]\n", ph.show(ex)
    assert [a["name"] for a in arts] == ["figure-1.png", "figure-2.png"], arts
    assert [_png_size(a["data"])[0] for a in arts] == [(100, 100), (200, 150)]


def test_plotly_show_gives_the_spec():
    ex, arts = _run("import plotly.graph_objects as go\n"
                    "fig = go.Figure(go.Bar(x=['a', 'b'], y=[3, 5]))\n"
                    "fig.show()\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert len(arts) == 1, ph.show(arts)
    p = arts[0]
    assert p["type"] == "plotly", ph.show(p)
    assert p["mime"] == "application/vnd.plotly.v1+json", ph.show(p)
    assert p["name"] == "figure-1.json", ph.show(p)
    spec = p["data"]
    assert isinstance(spec, dict), ph.show(p)
    assert spec["data"][0]["type"] == "bar", ph.show(spec)
    assert spec["data"][0]["y"] == [3, 5], ph.show(spec)
    assert p["size"] > 0 and "truncated" in p and not p["truncated"], p


def test_figures_in_the_order_made_then_files_by_name():
    ex, arts = _run(
        "import matplotlib.pyplot as plt, plotly.graph_objects as go\n"
        "plt.plot([1]); plt.show()\n"
        "go.Figure(go.Scatter(y=[1, 2])).show()\n"
        "plt.figure(); plt.plot([2])\n"
        "open('/tmp/outputs/b.csv', 'w').write('x,y\\n1,2\\n')\n"
        "open('/tmp/outputs/a.txt', 'w').write('hello')\n"
        "open('/tmp/outputs/c.bin', 'wb').write(bytes(range(256)))\n"
        "open('/tmp/outputs/d.JSON', 'w').write('{}')\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    got = [(a["type"], a["name"], a["mime"]) for a in arts]
    assert got == [
        ("image", "figure-1.png", "image/png"),
        ("plotly", "figure-2.json", "application/vnd.plotly.v1+json"),
        ("image", "figure-3.png", "image/png"),
        ("file", "a.txt", "text/plain"),
        ("file", "b.csv", "text/csv"),
        ("file", "c.bin", "application/octet-stream"),
        ("file", "d.JSON", "application/json"),
    ], got
    files = {a["name"]: a for a in arts if a["type"] == "file"}
    assert base64.b64decode(files["a.txt"]["data"]) == b"hello"
    assert base64.b64decode(files["c.bin"]["data"]) == bytes(range(256))
    assert files["c.bin"]["size"] == 256 and not files["c.bin"]["truncated"]


def test_artifacts_come_with_an_error_too():
    ex, arts = _run("open('/tmp/outputs/partial.txt', 'w').write('so far')\n"
                    "raise ValueError('late')\n")
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exception"]["type"] == "ValueError", ph.show(ex)
    assert [a["name"] for a in arts] == ["partial.txt"], arts


def test_a_file_past_the_cap_is_listed_truncated_with_its_size():
    # 6 MiB > the 5 MiB per artifact default
    ex, arts = _run("open('/tmp/outputs/big.bin', 'wb').write(b'x' * (6 << 20))\n"
                    "open('/tmp/outputs/small.txt', 'w').write('ok')\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    big, small = arts
    assert big["name"] == "big.bin" and big["truncated"] is True, big
    assert big["reason"] == "size" and big["size"] == 6 << 20, big
    assert "data" not in big, big
    assert small["truncated"] is False and small["size"] == 2, small


def test_the_total_and_count_caps():
    # 2 x 4.5 MiB: the second passes the 8 MiB total; 25 files: 20 kept
    ex, arts = _run(
        "for i in range(2):\n"
        "    open('/tmp/outputs/big%d.bin' % i, 'wb').write(b'y' * (9 << 19))\n"
        "for i in range(25):\n"
        "    open('/tmp/outputs/s%02d.txt' % i, 'w').write(str(i))\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert len(arts) == 27, ph.show(arts)
    by = {a["name"]: a for a in arts}
    assert by["big0.bin"]["truncated"] is False
    assert by["big1.bin"]["truncated"] is True
    assert by["big1.bin"]["reason"] == "total", by["big1.bin"]
    assert by["big1.bin"]["size"] == 9 << 19
    kept = [a for a in arts if not a["truncated"]]
    assert len(kept) == 20, ph.show(arts)
    assert all(a["reason"] == "count" for a in arts
               if a["truncated"] and a["name"] != "big1.bin"), ph.show(arts)


def test_no_figure_no_items_and_the_report_unchanged():
    # matplotlib imported but no figure, a result, an error: two items
    for code in ("import matplotlib.pyplot as plt\nresult = [1, 2]\n",
                 "print('plain')\n",
                 "import os\nos.makedirs('/tmp/outputs/sub')\n"
                 "raise KeyError('k')\n"):
        ex = ph.assert_success(ph.execute({"code": code, "timeout": 30}))
        assert ex["outcome"] in ("completed", "error"), ph.show(ex)
    ex = ph.run("result = {'a': 1}")
    assert ex["result"] == {"a": 1}, ph.show(ex)


def test_artifacts_false_turns_the_collection_off():
    code = ("import matplotlib.pyplot as plt, os\n"
            "print(os.path.exists('/tmp/outputs'), plt.show.__module__,\n"
            "      hasattr(plt.show, '__wrapped__'))\n"
            "plt.figure(); plt.plot([1, 2]); plt.show()\n"
            "plt.figure(); plt.plot([2])\n"
            "os.makedirs('/tmp/outputs', exist_ok=True)\n"
            "open('/tmp/outputs/x.txt', 'w').write('x')\n")
    # off: no /tmp/outputs, matplotlib's own show(), nothing comes back
    ex, arts = _run(code, artifacts=False)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "False matplotlib.pyplot False\n", ph.show(ex)
    assert arts == [], ph.show(arts)
    # on (the default, or true): the directory is there, show() is ours
    for fields in ({}, {"artifacts": True}):
        ex, arts = _run(code, **fields)
        assert ex["stdout"] == "True matplotlib.pyplot True\n", ph.show(ex)
        assert [(a["type"], a["name"]) for a in arts] == [
            ("image", "figure-1.png"), ("image", "figure-2.png"),
            ("file", "x.txt")], ph.show(arts)
    r = ph.execute({"code": "print(1)", "artifacts": "no"})
    assert r.status == 400, ph.show(r)
    assert "artifacts: must be true or false" in r.text, ph.show(r)
    r = ph.request("POST", "/v1/generate-and-execute",
                   {"query": "print the numbers 1 to 3", "artifacts": False},
                   timeout=60)
    assert r.status != 400, ph.show(r)
    # seed 000 (Together) never had the field: refused as unknown (422)
    r = ph.request("POST", "/execute", {"code": "print(1)", "artifacts": False})
    assert r.status == 422 and "artifacts" in r.text, ph.show(r)


def test_the_seed_routes_answer_as_before_for_code_that_plots():
    # (the seed routes make no /tmp/outputs: the code makes it)
    code = ("import matplotlib.pyplot as plt, os\nplt.plot([1, 2])\n"
            "os.makedirs('/tmp/outputs', exist_ok=True)\n"
            "open('/tmp/outputs/x.txt', 'w').write('x')\nprint('drawn')\n")
    # seed 004 (FastAPI)
    r = ph.request("POST", "/api/v1/execute", {"code": code, "timeout": 20})
    assert r.status == 200 and "drawn" in r.text, ph.show(r)
    assert "figure-" not in r.text and "image/png" not in r.text, ph.show(r)
    # seed 000 (Together)
    r = ph.request("POST", "/execute", {"code": code, "timeout": 20,
                                        "validate_code": False})
    assert r.status == 200, ph.show(r)
    assert "figure-" not in r.text and "image/png" not in r.text, ph.show(r)
    # seed 001 (IBM)
    r = ph.request("POST", "/system/python_executor/execute_code/invoke",
                   {"code": "import matplotlib.pyplot as plt\n"
                            "plt.plot([1]); result = 1"})
    assert r.status == 200, ph.show(r)
    assert "figure-" not in r.text and "image/png" not in r.text, ph.show(r)



# Input files: `files: [{"name", "content" (base64)}]` on the native
# routes, written into the run's working directory before the code runs.

def _b64(b):
    return base64.b64encode(b).decode("ascii")


def test_input_files_are_in_the_working_directory_byte_for_byte():
    blob = bytes(range(256)) * 3 + b"\x00\r\n\xff"
    ex, arts = _run(
        "import hashlib, os\n"
        "names = sorted(os.listdir('.'))\n"
        "blob = open('data.bin', 'rb').read()\n"
        "text = open('caf\\u00e9 notes.txt', encoding='utf-8').read()\n"
        "empty = open('empty', 'rb').read()\n"
        "mode = oct(os.stat('data.bin').st_mode & 0o777)\n"
        "result = [os.getcwd(), names, hashlib.sha256(blob).hexdigest(),\n"
        "          len(blob), text, empty.hex(), mode]\n"
        "open('/tmp/outputs/copy.bin', 'wb').write(blob[::-1])\n",
        files=[{"name": "data.bin", "content": _b64(blob)},
               {"name": "caf\u00e9 notes.txt",
                "content": _b64("h\u00e9llo\n".encode())},
               {"name": "empty", "content": ""}])
    assert ex["outcome"] == "completed", ph.show(ex)
    import hashlib
    cwd, names, digest, n, text, empty, mode = ex["result"]
    assert cwd == "/tmp", ex["result"]
    assert set(names) >= {"data.bin", "caf\u00e9 notes.txt", "empty"}, names
    assert digest == hashlib.sha256(blob).hexdigest() and n == len(blob)
    assert text == "h\u00e9llo\n" and empty == "" and mode == "0o600", \
        ex["result"]
    # and what the code writes to /tmp/outputs comes back
    assert [a["name"] for a in arts] == ["copy.bin"], ph.show(arts)
    assert base64.b64decode(arts[0]["data"]) == blob[::-1]


def test_input_files_reach_the_generated_code_too():
    # (the fake model's answer is its own; the field is taken and the
    # run goes on: generate-and-execute answers 200 or a model error,
    # never a 400 for the field)
    r = ph.request("POST", "/v1/generate-and-execute",
                   {"query": "print the numbers 1 to 3",
                    "files": [{"name": "in.txt", "content": _b64(b"x")}]},
                   timeout=60)
    assert r.status != 400, ph.show(r)


def test_input_file_errors_name_the_field():
    def bad(files, *prefixes):
        return ph.assert_invalid(ph.execute({"code": "pass", "files": files}),
                                 *prefixes)
    bad("x", "files: must be an array")
    bad([{"name": "a"}], "files[0].content: is required")
    bad([{"name": "ok", "content": ""}, {"name": "a/b", "content": ""}],
        "files[1].name: must not contain '/'")
    bad([{"name": "a", "content": "not base64!"}],
        "files[0].content: must be base64")
    bad([{"name": "a", "content": "YWJj\n"}], "files[0].content: must be base64")
    bad([{"name": "a", "content": "YWJj", "x": 1}], "files[0]: unknown field x")
    # the count cap, named
    msg = bad([{"name": "f%d" % i, "content": ""} for i in range(21)],
              "files: at most 20 files")
    assert "PYEXEC_MAX_INPUT_FILES" in msg, msg


def test_an_input_file_past_the_per_file_cap():
    # 1 MiB + 1 bytes: past PYEXEC_MAX_INPUT_FILE_BYTES; with the default
    # 1 MiB body cap nginx refuses the body first (413).
    resp = ph.execute({"code": "pass", "files": [
        {"name": "big", "content": _b64(b"z" * ((1 << 20) + 1))}]})
    if resp.status == 413:
        ph.assert_error(resp, 413, "payload_too_large")
    else:
        msg = ph.assert_invalid(resp, "files[0].content: at most 1048576 "
                                      "bytes once decoded")
        assert "PYEXEC_MAX_INPUT_FILE_BYTES" in msg, msg


def test_the_seed_routes_ignore_files_as_before():
    files = [{"name": "in.txt", "content": _b64(b"seed")}]
    code = "import os\nprint(sorted(os.listdir('.')))\n"
    r = ph.request("POST", "/api/v1/execute",
                   {"code": code, "timeout": 20, "files": files})
    assert r.status == 200 and "in.txt" not in r.text, ph.show(r)
    # seed 000 (Together) refused unknown fields, and still does
    r = ph.request("POST", "/execute", {"code": code, "timeout": 20,
                                        "validate_code": False,
                                        "files": files})
    assert r.status == 422 and "files" in r.text, ph.show(r)
    # and makes no /tmp/outputs (no artifacts on the seed routes)
    r = ph.request("POST", "/execute", {"code": code, "timeout": 20,
                                        "validate_code": False})
    assert r.status == 200 and "outputs" not in r.text, ph.show(r)
