# pyexec runner: runs inside the sandbox, as the run's uid.  Each slot's
# launcher compiles it once at start (with the python the runs use) and
# puts the bytecode in the run's read-only root, and each run is
# `python3 -I -S -B -u /.pyexec/runner.pyc`.
#
# fd 3: one header line of key=value words written by the worker
#       ("mode=script" or "mode=main", "unwrap=1" to take the code out of a
#       {'generated_code': ...} literal or a ``` fence first, and
#       "deny_modules=a,b deny_calls=c,d deny_attrs=e,f" for the AST policy
#       of the IBM executor's routes, "show=1" for str(result) too), then
#       with "files=K" K input files, each "<name bytes> <data bytes>\n"
#       then the name (UTF-8) and the data, then the code (UTF-8), read to
#       EOF then closed.  The input files are written into the working
#       directory (the run's own /tmp) before the code runs, O_EXCL and
#       O_NOFOLLOW; one that cannot be written ends the run as an error
#       (exception InputFileError) before the code starts.
#       "display=1" (the native routes): the code runs as a notebook cell
#       named "<cell N>" ("cell=N", default 1): tracebacks show its source
#       lines, the value of its last expression statement is reported
#       (its repr, as a notebook's Out[n]; None is not), a pandas
#       DataFrame or Series as a table too, and display(obj) reports the
#       same mid-run (see _Display).
#       "ws=1": the run's working directory is its workspace (/workspace,
#       store.c), whose files outlive the run: an input file replaces a
#       regular file of its name there (never a link or a directory), and
#       the artifacts' files are those of /workspace/outputs this run
#       changed (see _ART_DIR).
# fd 4: the report, one JSON object written once at the end:
#       {"exception": {"type": ..., "message": ..., "line": ...}},
#       {"result_json": <the value as json.dumps writes it, a string>,
#       "result_str": <str(value), when the header says show=1>} or {};
#       with display=1 either may also hold "displays": [item, ...] (an
#       error's report too: what was displayed before it).
#       mode "script": the code runs as __main__; a global `result` set by
#       it is reported when json.dumps takes it (see _to_json).  mode
#       "main": the code runs as a module named __pyexec__ (a __main__
#       guard does not fire), then main() is called once and its return
#       value reported; no main(), or a value json.dumps refuses, is an
#       error (exit 1) with json's own message.
#       With "artifacts=1 art_total=N art_item=N art_count=N" in the
#       header (the native routes only) the report is followed by one
#       "\n" and a JSON array of artifacts (see _Artifacts); without
#       any artifact nothing follows, and the report is as before.
#       Before the code runs it moves to the highest fd the run may have,
#       close-on-exec, so children never inherit it and fd sprays miss it.
#       The report describes the program's own exception: the worker takes
#       it only when it agrees with the exit status the kernel gave.
# fds 0-2 are the user's stdin, stdout and stderr; nothing is parsed from
# stdout.  The exit status is the program's (an uncaught exception: 1).
#
# -S skips `site`: it costs ~4 ms a run and would execute the host's .pth
# hooks and sitecustomize.  The runner adds what site adds that user code
# needs: Debian's dist-packages directories (numpy, pandas, ...) and the
# exit/quit/help builtins.  .pth files are not executed.
#
# The hot path uses only builtin modules (posix, sys): importing `os` alone
# costs ~0.7 ms, which a program that needs it pays itself.
#
# Warm mode: `runner.pyc --zygote MODULES` is a zygote (sandbox/jail/zygote.c):
# it imports MODULES (and what the runner uses), never any user's code,
# and calls pyexec_zygote_serve() of /.pyexec/zygote.so, which returns
# only in a run: a fork of this process that has become a run exactly as
# a cold one (ids, rlimits, no_new_privs, seccomp, fds 0-4, cwd /tmp).
# The run then reseeds what a fork would share (_reseed) and goes on as
# cold (_main), and ends with _warm_exit: what a cold exit does that a
# program can see (threads joined, atexit, flushes), without tearing down
# the zygote's modules, which would write to every page they own.
import posix
import sys

_REPORT_FD = 4


def _site():
    import builtins
    import _sitebuiltins
    v = "%d.%d" % sys.version_info[:2]
    for d in ("/usr/local/lib/python%s/dist-packages" % v,
              "/usr/lib/python3/dist-packages",
              "/usr/lib/python%s/dist-packages" % v):
        try:
            posix.stat(d)
        except OSError:
            continue
        sys.path.append(d)
    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.help = _sitebuiltins._Helper()


def _hide_report_fd():
    """Moves the report pipe to the highest allowed fd, close-on-exec."""
    global _REPORT_FD
    top = posix.sysconf("SC_OPEN_MAX") - 1          # RLIMIT_NOFILE - 1
    _REPORT_FD = posix.dup2(4, max(top, 5), False)
    posix.close(4)


def _read_code():
    """(header dict, source) from fd 3."""
    chunks = []
    while True:
        b = posix.read(3, 1 << 20)
        if not b:
            break
        chunks.append(b)
    posix.close(3)
    head, _, src = b"".join(chunks).partition(b"\n")
    header = dict(w.split("=", 1) for w in head.decode("ascii").split()
                  if "=" in w)
    files = []
    if "files" in header:
        pos = 0
        for _ in range(int(header["files"])):
            nl = src.index(b"\n", pos)
            nlen, dlen = map(int, src[pos:nl].split(b" "))
            pos = nl + 1
            files.append((src[pos:pos + nlen].decode("utf-8"),
                          src[pos + nlen:pos + nlen + dlen]))
            pos += nlen + dlen
        src = src[pos:]
    return header, src.decode("utf-8"), files


def _write_files(files, ws=False):
    """The input files, into the working directory (the run's own /tmp),
    before the code: created, never replaced, never through a link (in a
    workspace a regular file of the name is replaced: unlinked first, by
    the run itself).  None, or the exception report of the first that
    could not be written."""
    import _signal
    flags = (posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL |
             posix.O_NOFOLLOW | posix.O_CLOEXEC)
    # Past RLIMIT_FSIZE: EFBIG, an error in words, not the signal.
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
    try:
        for i, (name, data) in enumerate(files):
            try:
                if "/" in name or name in ("", ".", ".."):
                    raise OSError(22, "not a file name")
                if ws:
                    try:
                        st = posix.stat(name, follow_symlinks=False)
                    except FileNotFoundError:
                        st = None
                    if st is not None and st.st_mode & _S_IFMT != _S_IFREG:
                        raise OSError(17, "exists in the workspace and is "
                                      "not a regular file")
                    if st is not None:
                        posix.unlink(name)
                fd = posix.open(name, flags, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[posix.write(fd, view):]
                finally:
                    posix.close(fd)
            except OSError as e:
                msg = "input file files[%d] (%r) could not be written: %s" % (
                    i, name, e.strerror or e)
                sys.stderr.write(msg + "\n")
                return {"type": "InputFileError", "message": msg,
                        "line": None}
    finally:
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    return None


def _unwrap(src, depth=0):
    """The code inside a markdown fence or a {'generated_code': ...} dict
    literal (as the NVIDIA sandbox accepted); other text is the code."""
    s = src.strip()
    if s.startswith("```"):
        first, _, rest = s.partition("\n")
        end = rest.find("```")
        if first[3:].strip().lower() in ("", "python", "py") and end >= 0:
            return rest[:end]
    if depth < 3 and s.startswith("{") and "generated_code" in s:
        import ast
        try:
            d = ast.literal_eval(s)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            d = None
        if isinstance(d, dict) and isinstance(d.get("generated_code"), str):
            return _unwrap(d["generated_code"], depth + 1)
    return src


def _policy(source, header):
    """The AST policy: (line, what) of the first construct refused, or
    None.  It runs here, inside the sandbox, never in the service."""
    mods = set(filter(None, header.get("deny_modules", "").split(",")))
    calls = set(filter(None, header.get("deny_calls", "").split(",")))
    attrs = set(filter(None, header.get("deny_attrs", "").split(",")))
    if not (mods or calls or attrs):
        return None
    import ast
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None                     # compile() reports it as usual
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for n in names:
            if n.split(".")[0] in mods:
                return node.lineno, "import of %s" % n
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in calls):
            return node.lineno, "call of %s()" % node.func.id
        if isinstance(node, ast.Attribute) and node.attr in attrs:
            return node.lineno, "attribute %s" % node.attr
        if isinstance(node, ast.Name) and node.id in attrs:
            return node.lineno, "name %s" % node.id
    return None


def _json_default(o):
    """json.dumps's default=: numpy scalars and arrays are their Python
    values; anything else is refused in json's own words."""
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
    raise TypeError("Object of type %s is not JSON serializable"
                    % o.__class__.__name__)


def _finite(v, depth=0):
    """v with NaN and the infinities made None (as values) or json's own
    "NaN", "Infinity", "-Infinity" (as keys).  Only when json said so."""
    if depth > 1000:
        raise RecursionError("maximum recursion depth exceeded")
    np = sys.modules.get("numpy")
    if np is not None and isinstance(v, (np.ndarray, np.generic)):
        v = v.tolist() if isinstance(v, np.ndarray) else v.item()
    if isinstance(v, float):
        return v if v - v == 0 else None
    if isinstance(v, (list, tuple)):
        return [_finite(x, depth + 1) for x in v]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if isinstance(k, float) and k - k != 0:
                k = "NaN" if k != k else ("Infinity" if k > 0 else "-Infinity")
            out[k] = _finite(x, depth + 1)
        return out
    return v


def _to_json(v):
    """v as the text json.dumps(v) makes: what the seeds' users wrote
    against (str, int, float, bool and None keys become strings, tuples
    arrays, integers keep every digit).  Two additions: numpy values are
    their Python values, and NaN and the infinities, which no JSON text
    can hold, become null.  What json.dumps refuses raises its own error
    and message ("Object of type set is not JSON serializable")."""
    import json
    try:
        return json.dumps(v, default=_json_default, allow_nan=False)
    except ValueError as e:
        if not str(e).startswith("Out of range float"):
            raise
    return json.dumps(_finite(v), default=_json_default, allow_nan=False)


_SHOWN_MAX = 10000      # characters of str(result) for the IBM routes


def _result(value, mode, show):
    """The report's result members, or an exception for mode main."""
    rep = {}
    if show:
        try:
            rep["result_str"] = str(value)[:_SHOWN_MAX]
        except BaseException:
            pass
    try:
        rep["result_json"] = _to_json(value)
    except (TypeError, ValueError, RecursionError) as e:
        if mode == "main":
            sys.stderr.write("%s: %s\n" % (type(e).__name__, e))
            return 1, {"type": type(e).__name__, "message": str(e),
                       "line": None}, None
    return 0, None, rep


def _user_line(tb, name="<string>"):
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# Notebook display (header display=1, the native routes).  Each item is
# {"value": repr(obj) (cut at _VALUE_MAX characters, then "cut": true),
# "from": "display" | "out", and for a pandas DataFrame or Series
# "table": {"columns", "dtypes", "shape", "index", "rows" (the first
# _TABLE_ROWS rows, at most _TABLE_COLS columns, as JSON values),
# "cut": bool}}.  At most _DISPLAY_ITEMS items are kept; the worker checks
# every one again and trusts none of it (the user's code could forge
# them, which only changes its own answer).
_VALUE_MAX = 10000
_TABLE_ROWS = 20
_TABLE_COLS = 50
_TABLE_BYTES = 65536
_TABLE_TEXT = 1000              # characters of a name, dtype or text cell
_DISPLAY_ITEMS = 50
_DISPLAY_BYTES = 192 << 10      # the report's room for them (run.c)


class _Display:
    def __init__(self):
        self.items = []
        self.size = 0           # their JSON's bytes, about

    def add(self, obj, source):
        if len(self.items) >= _DISPLAY_ITEMS:
            return
        try:
            r = repr(obj)
        except BaseException as e:   # the object's own repr failed
            r = "<%s object: repr() raised %s>" % (
                type(obj).__name__, type(e).__name__)
        if not isinstance(r, str):
            r = "<%s object>" % type(obj).__name__
        item = {"value": r[:_VALUE_MAX], "from": source}
        if len(r) > _VALUE_MAX:
            item["cut"] = True
        import _json
        size = len(_json.encode_basestring_ascii(item["value"])) + 64
        if self.size + size > _DISPLAY_BYTES:
            return
        t, tbytes = _table(obj)
        if t is not None and self.size + size + tbytes <= _DISPLAY_BYTES:
            item["table"] = t
            size += tbytes
        self.size += size
        self.items.append(item)

    def display(self, *objs, **_kw):
        """display(obj, ...) as in a notebook: each shown now, in order."""
        for o in objs:
            self.add(o, "display")


def _table_cell(c, json):
    """A cell as the worker takes it: a scalar, a string of at most
    _TABLE_TEXT characters; a list or an object as its JSON text."""
    if isinstance(c, (list, dict)):
        c = json.dumps(c)
    return c[:_TABLE_TEXT] if isinstance(c, str) else c


def _table(obj):
    """A pandas DataFrame or Series as a table item and its JSON's bytes,
    or (None, 0)."""
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(obj, (pd.DataFrame, pd.Series)):
        return None, 0
    try:
        import json
        df = obj.to_frame() if isinstance(obj, pd.Series) else obj
        rows, cols = df.shape
        part = df.iloc[:_TABLE_ROWS, :_TABLE_COLS]
        while True:
            t = {"columns": [str(c)[:_TABLE_TEXT] for c in part.columns],
                 "dtypes": [str(d)[:_TABLE_TEXT] for d in part.dtypes],
                 "shape": [int(rows), int(cols)],
                 "index": [str(i)[:_TABLE_TEXT] for i in part.index],
                 "rows": [[_table_cell(c, json) for c in r] for r in
                          json.loads(part.to_json(orient="values",
                                                  date_format="iso",
                                                  default_handler=str))],
                 "cut": part.shape != df.shape}
            n = len(json.dumps(t))
            if n <= _TABLE_BYTES or len(part) <= 1:
                return t, n
            part = part.iloc[:len(part) // 2]
    except BaseException:
        return None, 0


_cells = {}                     # name: source, for tracebacks (_cell_lines)


def _cell(source, name):
    """source compiled as a notebook cell: (its statements, its last
    expression statement or None).  _ast is builtin: the `ast` and
    `linecache` modules cost milliseconds to import, so the source is
    only put into linecache when a traceback is printed (_cell_lines)."""
    import _ast
    _cells[name] = source
    tree = compile(source, name, "exec", _ast.PyCF_ONLY_AST)
    last = None
    if tree.body and isinstance(tree.body[-1], _ast.Expr):
        last = _ast.Expression(tree.body.pop().value)
    return (compile(tree, name, "exec"),
            compile(last, name, "eval") if last is not None else None)


def _cell_lines():
    """The cells' sources into linecache, so a traceback shows their
    lines as it shows a file's."""
    if _cells:
        import linecache
        for name, source in _cells.items():
            linecache.cache[name] = (len(source), None,
                                     source.splitlines(True), name)


def _dumps(o):
    """o (dicts of str keys, lists, str, int, float, bool, None: the
    report's own values) as ASCII JSON text.  `import json` costs a cold
    run ~10 ms (it imports re); _json's C string encoder is all it needs.
    A float that is not finite is null, as strict JSON wants."""
    import _json
    if o is None or o is True or o is False:
        return "null" if o is None else ("true" if o else "false")
    if isinstance(o, str):
        return _json.encode_basestring_ascii(o)
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return float.__repr__(o) if o - o == 0 else "null"
    if isinstance(o, dict):
        return "{" + ", ".join(_json.encode_basestring_ascii(str(k)) + ": " +
                               _dumps(v) for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ", ".join(_dumps(v) for v in o) + "]"
    return _json.encode_basestring_ascii(str(o))


def _report(obj, artifacts=None):
    data = b"{}"
    if obj:
        data = _dumps(obj).encode("ascii")
    if artifacts:
        data += b"\n" + artifacts
    try:
        while data:
            n = posix.write(_REPORT_FD, data)
            data = data[n:]
    except OSError:
        pass


# Artifacts: figures and files that come back from a run (native routes).
# Collected here, with the run's own privileges, after the code ends and
# sent after the report on the report pipe.  The worker checks every item
# again (names, sizes, base64, PNG header) and trusts none of it: the
# user's code shares this process and could forge any of it, which only
# changes its own answer.  On the wire each item is
#   {"type": "image"|"plotly"|"file", "name", "size", "data": base64,
#    "width", "height" (images)} or, past a cap, the same with
#   "truncated": true, "reason": "count"|"size"|"total"|"pixels"|"name"|
#   "error" and no data; past _ART_LIST items, one {"type": "omitted",
#   "count", "size"}.
# Cost when the code makes no artifact: a test per import, one rmdir of
# the empty outputs directory at the end.  That is all, on purpose: in a
# fork of the zygote every page a run writes first is a copy-on-write
# fault (tens of microseconds on a virtual machine), so nothing is
# allocated until there is an artifact (_art_state), the warm finder is
# made and placed in sys.meta_path by the zygote, and the directory is
# made by the launcher with the run's /tmp (root.c, PROTO_RUN_OUTPUTS).
_ART_DIR = "/tmp/outputs"       # with a workspace: _ART_WS_DIR
_ART_WS_DIR = "/workspace/outputs"
_art_since = None               # with a workspace: only files changed since
_ART_LIST = 100                 # items listed, with data or not
_ART_PIXELS = 16 << 20          # a figure larger is not drawn
_art_header = None              # the run's header, while it collects
_art = None                     # its _Artifacts, made at the first one


def _art_state():
    global _art
    if _art is None:
        _art = _Artifacts(_art_header)
    return _art


class _Artifacts:
    def __init__(self, header):
        self.total_max = int(header.get("art_total", "0"))
        self.item_max = int(header.get("art_item", "0"))
        self.count_max = int(header.get("art_count", "0"))
        self.items = []
        self.kept = self.total = self.figures = 0
        self.omitted = self.omitted_size = 0

    def room(self):
        return self.kept < self.count_max and len(self.items) < _ART_LIST

    def add(self, typ, name, size, data=None, reason=None, **extra):
        if len(self.items) >= _ART_LIST:
            self.omitted += 1
            self.omitted_size += size or 0
            return
        it = {"type": typ, "name": name, "size": size}
        it.update(extra)
        if reason is None:
            if self.kept >= self.count_max:
                reason = "count"
            elif size > self.item_max:
                reason = "size"
            elif self.total + size > self.total_max:
                reason = "total"
        if reason is None and data is not None:
            import binascii
            it["data"] = binascii.b2a_base64(data, newline=False).decode()
            self.kept += 1
            self.total += size
        else:
            it["truncated"] = True
            it["reason"] = reason or "error"
        self.items.append(it)

    def figure_name(self, ext):
        self.figures += 1
        return "figure-%d.%s" % (self.figures, ext)

    def wire(self):
        items = list(self.items)
        if self.omitted:
            items.append({"type": "omitted", "count": self.omitted,
                          "size": self.omitted_size})
        return items


def _png_size(png):
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None, None
    return (int.from_bytes(png[16:20], "big"),
            int.from_bytes(png[20:24], "big"))


def _mpl_capture(plt):
    """Every open figure, in the order made, as a PNG; then closed (as a
    notebook's inline backend does after show)."""
    nums = plt.get_fignums()
    if not nums:
        return
    import io
    from matplotlib import _pylab_helpers
    for num in nums:
        mgr = _pylab_helpers.Gcf.get_fig_manager(num)
        if mgr is None:
            continue
        fig = mgr.canvas.figure
        _art = _art_state()
        name = _art.figure_name("png")
        try:
            w, h = fig.get_size_inches() * fig.dpi
            if not _art.room():
                _art.add("image", name, None, reason="count")
            elif not (0 < w * h <= _ART_PIXELS):
                _art.add("image", name, None, reason="pixels",
                         width=int(w), height=int(h))
            else:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=fig.dpi)
                png = buf.getvalue()
                w, h = _png_size(png)
                _art.add("image", name, len(png), png, width=w, height=h)
        except Exception:
            _art.add("image", name, None, reason="error")
        plt.close(fig)


def _wrap_pyplot(plt):
    import functools
    orig = plt.show

    def show(*args, **kwargs):
        """pyexec: the open figures become image items of the answer."""
        if _art_header is not None:
            _mpl_capture(plt)
        else:
            return orig(*args, **kwargs)
    return functools.update_wrapper(show, orig)


def _wrap_plotly(pio):
    import functools
    orig = pio.show

    def show(fig, *args, **kwargs):
        """pyexec: the figure's JSON spec becomes a plotly item."""
        if _art_header is None:
            return orig(fig, *args, **kwargs)
        _art = _art_state()
        name = _art.figure_name("json")
        try:
            if not _art.room():
                _art.add("plotly", name, None, reason="count")
                return
            import json
            spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
            text = json.dumps(spec, default=_plotly_default,
                              allow_nan=False).encode()
            _art.add("plotly", name, len(text), text)
        except Exception:
            _art.add("plotly", name, None, reason="error")
    return functools.update_wrapper(show, orig)


def _plotly_default(o):
    try:
        return _json_default(o)
    except TypeError:
        import plotly.utils
        return plotly.utils.PlotlyJSONEncoder().default(o)


_ART_WRAP = {"matplotlib.pyplot": _wrap_pyplot, "plotly.io": _wrap_plotly}


class _ArtFinder:
    """In sys.meta_path: patches matplotlib.pyplot and plotly.io right
    after the code imports them; any other import is one dict look-up."""

    def find_spec(self, name, path=None, target=None):
        if _art_header is None:
            return None
        wrap = _ART_WRAP.get(name)
        if wrap is None:
            return None
        for f in sys.meta_path:
            find = getattr(f, "find_spec", None)
            if f is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module):
            run(module)
            try:
                show = wrap(module)
                _art_wrapped[name] = (module, show)
                module.show = show
            except Exception:
                pass
        loader.exec_module = exec_module
        return spec


_ART_FINDER = _ArtFinder()


_art_wrapped = {}               # module name: (module, our show())


def _art_prepare():
    """Our show() for what is imported already, not yet in place (the
    zygote makes them for what it preloads: a run that does not collect
    keeps the module's own show(), warnings and all)."""
    for name in _ART_WRAP:
        if name not in _art_wrapped and name in sys.modules:
            m = sys.modules[name]
            _art_wrapped[name] = (m, _ART_WRAP[name](m))


def _art_boundary(time):
    """The time from which a workspace's outputs are this run's: the coarse
    clock, the one the kernel stamps files with, never ahead of them.  A
    file an earlier run changed within the current tick of that clock (runs
    back to back) would pass for this run's, so then wait for the next tick
    (4 ms at HZ=250; 20 ms at most).  Only ctime counts here: a run can set
    a file's mtime, never its ctime."""
    since = time.clock_gettime_ns(5)    # CLOCK_REALTIME_COARSE
    newest = -1
    try:
        d = posix.open(_ART_WS_DIR, posix.O_RDONLY | posix.O_DIRECTORY |
                       posix.O_NOFOLLOW)
    except OSError:
        return since                    # no outputs yet
    try:
        for name in posix.listdir(d):
            try:
                st = posix.stat(name, dir_fd=d, follow_symlinks=False)
            except OSError:
                continue
            if st.st_ctime_ns > newest:
                newest = st.st_ctime_ns
    finally:
        posix.close(d)
    give_up = since + 20000000
    while since <= newest and since < give_up:
        time.sleep(0.0005)
        since = time.clock_gettime_ns(5)
    return since


def _art_start(warm, ws=False):
    """A run that collects, before its code: our show() in place, and the
    finder for what the code imports (both made by the zygote when warm;
    the launcher made _ART_DIR with the run's /tmp).  In a workspace the
    directory is /workspace/outputs, made here if missing (by the run: the
    launcher's side never writes into a workspace), and only the files
    changed from now on are the run's."""
    global _ART_DIR, _art_since
    if ws:
        import time
        _ART_DIR = _ART_WS_DIR
        _art_since = _art_boundary(time)
        try:
            posix.mkdir(_ART_DIR, 0o700)
        except OSError:
            pass
    if not warm:
        _art_prepare()
        sys.meta_path.insert(0, _ART_FINDER)
    for m, show in _art_wrapped.values():
        m.show = show


def _art_pending():
    """After the code: whether anything may have to be sent.  rmdir of
    an empty _ART_DIR is the whole cost when nothing was made (the run is
    over; a directory that is not empty, or a link, stays for the list)."""
    if _art_since is not None:
        files = True                    # a workspace's outputs stay
    else:
        try:
            posix.rmdir(_ART_DIR)
            files = False
        except OSError:
            files = True
    helpers = sys.modules.get("matplotlib._pylab_helpers")
    return files or _art is not None or (helpers is not None and
                                         bool(helpers.Gcf.figs))


# What a name must not hold besides '/': controls (Cc: C0, DEL, C1),
# format characters (Cf: bidi overrides, zero-width characters, the BOM,
# tags, the soft hyphen, ...) and line or paragraph separators (Zl, Zp);
# the worker checks again with the same table (fcgi-app/base/unicode.c).
_NAME_HIDDEN = ("Cc", "Cf", "Zl", "Zp")


def _name_ok(name):
    try:
        name.encode("utf-8", "strict")
    except UnicodeError:
        return False
    if not (0 < len(name.encode()) <= 255 and name not in (".", "..")
            and "/" not in name and ".." not in name):
        return False
    if name.isascii():
        return all(" " <= c < "\x7f" for c in name)
    import unicodedata                  # past the user's code: no cost to it
    return not any(unicodedata.category(c) in _NAME_HIDDEN for c in name)


def _art_files():
    """The regular files at the top of _ART_DIR, sorted by name, read
    without following a link and without blocking on a FIFO."""
    try:
        d = posix.open(_ART_DIR, posix.O_RDONLY | posix.O_DIRECTORY |
                       posix.O_NOFOLLOW)
    except OSError:
        return
    try:
        names = posix.listdir(d)
        if names:
            names.sort()
            for name in names:
                _art_file(d, name)
    finally:
        posix.close(d)


_S_IFMT, _S_IFREG = 0o170000, 0o100000     # stat.S_ISREG, without the import


def _art_file(d, name):
    _art = _art_state()
    try:
        st = posix.stat(name, dir_fd=d, follow_symlinks=False)
    except OSError:
        return
    if st.st_mode & _S_IFMT != _S_IFREG:
        return                          # links, FIFOs, directories
    if _art_since is not None and st.st_ctime_ns < _art_since:
        return                          # an earlier run's, in a workspace:
                                        # ctime, which a run cannot set
    if not _name_ok(name):
        _art.add("file", None, st.st_size, reason="name")
        return
    if not _art.room() or st.st_size > _art.item_max or \
            _art.total + st.st_size > _art.total_max:
        _art.add("file", name, st.st_size)       # add() says which cap
        return
    try:
        fd = posix.open(name, posix.O_RDONLY | posix.O_NOFOLLOW |
                        posix.O_NONBLOCK, dir_fd=d)
    except OSError:
        return
    try:
        if posix.fstat(fd).st_mode & _S_IFMT != _S_IFREG:
            return
        chunks, left = [], _art.item_max + 1
        while left > 0:
            b = posix.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        _art.add("file", name, len(data), data)
    except OSError:
        _art.add("file", name, st.st_size, reason="error")
    finally:
        posix.close(fd)


def _art_finish():
    """After the code: the figures still open, then the files.  The
    wire text, or None when there is no artifact."""
    global _art, _art_header
    try:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            _mpl_capture(plt)
    except BaseException:
        pass
    try:
        _art_files()
    except BaseException:
        pass
    items = _art.wire() if _art is not None else None
    _art = _art_header = None
    if not items:
        return None
    import json
    return json.dumps(items).encode("ascii")


def _exit_code(e):
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _run(source, mode, show=False, exec_style=False, disp=None,
         name="<string>", mod=None):
    """Runs source; returns (exit status, exception info, report of the
    result: {"result_json": text, "result_str": str(value)}, either may
    be missing).  exec_style: a syntax error is reported as a program
    that exec()s the code reports it, under "Traceback (most recent call
    last):" (the NVIDIA sandbox's clients look for that line).  disp (a
    _Display): the code is a notebook cell named name (_cell), its last
    expression's value is displayed and display() is a builtin.  mod: a
    live session's __main__, whose names outlive the call."""
    last = None
    try:
        if disp is not None:
            code, last = _cell(source, name)
        else:
            code = compile(source, name, "exec")
    except (SyntaxError, ValueError) as e:
        import traceback
        if exec_style:
            sys.stderr.write("Traceback (most recent call last):\n")
        sys.stderr.write("".join(traceback.format_exception_only(type(e), e)))
        return 1, {"type": type(e).__name__,
                   "message": str(getattr(e, "msg", e)),
                   "line": getattr(e, "lineno", None)}, None
    if mod is None:
        mod = type(sys)("__main__" if mode == "script" else "__pyexec__")
        mod.__dict__["__builtins__"] = __builtins__
    if disp is not None:
        mod.__dict__["display"] = disp.display
    sys.modules["__main__"] = mod
    try:
        exec(code, mod.__dict__)
        if last is not None:            # run; shown as Out[n] in a script
            value = eval(last, mod.__dict__)
            if value is not None and mode == "script":
                disp.add(value, "out")
        if mode == "main":
            fn = mod.__dict__.get("main")
            if not callable(fn):
                sys.stderr.write("the code defines no main() function\n")
                return 1, {"type": "MissingMain", "message":
                           "the code defines no main() function",
                           "line": None}, None
            value = fn()
        elif "result" in mod.__dict__:
            value = mod.__dict__["result"]
        else:
            return 0, None, _NO_RESULT
    except SystemExit as e:
        return _exit_code(e), None, _NO_RESULT
    except BaseException as e:  # everything the program raised
        import traceback
        tb = e.__traceback__.tb_next if e.__traceback__ else None
        _cell_lines()
        traceback.print_exception(type(e), e, tb)
        return 1, {"type": type(e).__name__, "message": str(e),
                   "line": _user_line(e.__traceback__, name)}, None
    return _result(value, mode, show)


_NO_RESULT = object()


def _main(warm=False):
    import _signal
    # CPython ignores SIGXFSZ; a run past RLIMIT_FSIZE ends by the signal,
    # as the outcome "signal" with limit "file_size", like any program.
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    sys.argv[:] = ["-c"]        # as `python3 -c`: no script path to show
    _hide_report_fd()
    if not warm:
        _site()
    status = _call(warm)
    if warm:
        _warm_exit(status)
    sys.exit(status)


def _call(warm, mod=None):
    """One run's (or a session call's) code, from fd 3, with its report
    on _REPORT_FD (closed at the end); its exit status."""
    global _art_header
    header, source, files = _read_code()
    if header.get("unwrap") == "1":
        source = _unwrap(source)
    refused = _policy(source, header)
    ws = header.get("ws") == "1"
    if header.get("artifacts") == "1" and not refused:
        _art_header = header
        if _art_wrapped or not warm or ws:
            _art_start(warm, ws)
    bad_file = _write_files(files, ws) if files and not refused else None
    disp = None
    if bad_file:
        status, exc_info, result = 1, bad_file, None
    elif refused:
        sys.stderr.write("refused by policy: %s (line %d)\n" % (refused[1], refused[0]))
        status, exc_info, result = 1, {"type": "PolicyViolation", "message":
                                       "refused by policy: " + refused[1],
                                       "line": refused[0]}, None
    else:
        disp = _Display() if header.get("display") == "1" else None
        cell = header.get("cell", "1")
        status, exc_info, result = _run(
            source, header.get("mode", "script"), header.get("show") == "1",
            header.get("unwrap") == "1", disp,
            "<cell %s>" % (cell if cell.isdigit() else "1")
            if disp is not None else "<string>", mod)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    arts = None
    if _art_header is not None:
        arts = _art_finish() if _art_pending() else None
        _art_header = None
    shown = {"displays": disp.items} if disp is not None and disp.items \
        else {}
    if exc_info:
        _report(dict({"exception": exc_info}, **shown), arts)
    elif result and result is not _NO_RESULT and status == 0:
        _report(dict(result, **shown), arts)
    else:
        _report(shown or None, arts)
    posix.close(_REPORT_FD)
    return status


def _session():
    """A live session (a spare that became one, zygote.c): fd 3 is its
    channel to the worker of each call (a SOCK_SEQPACKET socket held by
    the session keeper, sandbox/host/session.c).  It says "R" once set
    up; then each call is one packet "C" with the call's five fds (run.c:
    stdin, stdout, stderr, code, report), which become fds 0-4 for the
    call, and its answer one packet "D" + the call's exit status (4
    bytes, little-endian) once its report is written and fds 0-4 point
    at /dev/null again.  The names the code defines live on in one
    __main__.  SIGINT (the keeper's, at the call's timeout) interrupts a
    call as a notebook's interrupt does; between calls it is ignored.
    The end of the channel ends the session."""
    global _REPORT_FD
    import _signal
    import socket
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    sys.argv[:] = ["-c"]
    top = posix.sysconf("SC_OPEN_MAX") - 1
    chan = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, 0,
                         posix.dup2(3, top - 1, False))
    null = posix.open("/dev/null", posix.O_RDWR | posix.O_CLOEXEC)
    for fd in (0, 1, 2, 3, 4):
        posix.dup2(null, fd, fd <= 2)
    posix.close(3)
    posix.close(4)
    mod = type(sys)("__main__")
    mod.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = mod
    _fork_module()
    chan.send(b"R")
    while True:
        try:
            msg, fds, _f, _a = socket.recv_fds(chan, 16, 5)
        except KeyboardInterrupt:
            continue
        except OSError:
            posix._exit(0)
        if not msg:
            posix._exit(0)              # the keeper ended the session
        if msg in (b"F", b"L") and len(fds) == 2:
            status = _fork_half(msg, mod, fds[0], fds[1])
            chan.send(b"D" + (status & 0xFFFFFFFF).to_bytes(4, "little"))
            continue
        if msg != b"C" or len(fds) != 5:
            for fd in fds:
                posix.close(fd)
            posix._exit(2)              # only run.c speaks here
        for i, fd in enumerate(fds):
            posix.dup2(fd, i)
            posix.close(fd)
        _REPORT_FD = posix.dup2(4, top, False)
        posix.close(4)
        try:
            _signal.signal(_signal.SIGINT, _signal.default_int_handler)
            status = _call(True, mod)
        except KeyboardInterrupt:       # between the code and its report
            status = 1
        finally:
            _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except BaseException:
                pass
        for fd in (0, 1, 2):
            posix.dup2(null, fd)
        try:
            posix.close(_REPORT_FD)
        except OSError:
            pass
        chan.send(b"D" + (status & 0xFFFFFFFF).to_bytes(4, "little"))


def _warm_exit(status):
    th = sys.modules.get("threading")
    if th is not None:
        try:
            th._shutdown()              # non-daemon threads, as at exit
        except BaseException:
            pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except BaseException:
            if status == 0:
                status = 120            # as python when stdout fails
    posix._exit(status)


# ---------------------------------------------------------------- fork ---
# A session's fork is a new session (its own uid, cgroup and namespaces: no
# process can give its fork those) into which this one's names are copied:
# "F" writes them, and the workspace's files, on a pipe that the copy reads
# ("L").  Names are pickled (protocol 5); functions and classes defined in
# the session go by value (their code), modules by name; what cannot be
# copied (an open file, a socket, a thread, a generator) is left out and
# named in the report.  The copy is reseeded as a warm run is.

_FORK_FILES = 64 << 20          # bytes of workspace files copied, at most


def _fork_make_fn(code, name, defaults, kwdefaults, closure, qual, doc, d):
    """A session's function, rebuilt in the copy from its code."""
    import marshal
    import types
    fn = types.FunctionType(marshal.loads(code),
                            sys.modules["__main__"].__dict__, name, defaults,
                            closure)
    fn.__kwdefaults__, fn.__qualname__, fn.__doc__ = kwdefaults, qual, doc
    fn.__dict__.update(d)
    return fn


def _fork_module():
    """The module the copy's pickle names _fork_make_fn by (the runner is
    no module a pickle can name: __main__ is the session's)."""
    m = sys.modules.get("_pyexec_fork")
    if m is None:
        m = type(sys)("_pyexec_fork")
        _fork_make_fn.__module__ = "_pyexec_fork"
        _fork_make_fn.__qualname__ = "make_fn"
        m.make_fn = _fork_make_fn
        sys.modules["_pyexec_fork"] = m
    return m


def _fork_pickler(f, mod):
    import pickle
    import marshal
    import types

    make_fn = _fork_module().make_fn

    class P(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, types.FunctionType) and \
                    obj.__module__ == "__main__":
                cl = None
                if obj.__closure__:
                    cl = tuple(types.CellType(c.cell_contents)
                               for c in obj.__closure__)
                return (make_fn, (marshal.dumps(obj.__code__), obj.__name__,
                                  obj.__defaults__, obj.__kwdefaults__, cl,
                                  obj.__qualname__, obj.__doc__,
                                  dict(obj.__dict__)))
            if isinstance(obj, type) and obj.__module__ == "__main__":
                body = {k: v for k, v in obj.__dict__.items()
                        if k not in ("__dict__", "__weakref__")}
                return (type, (obj.__name__, obj.__bases__, body))
            if isinstance(obj, types.ModuleType):
                return (__import__, (obj.__name__, None, None, ["__name__"]))
            return NotImplemented
    return P(f, protocol=5)


def _fork_dump(mod, out):
    """Writes the session's names (one pickle: what they share stays
    shared) and its workspace's files on out; returns the names left out."""
    import io
    import os
    import pickle

    def dumps(d):
        b = io.BytesIO()
        _fork_pickler(b, mod).dump(d)
        return b.getvalue()

    items = {k: v for k, v in mod.__dict__.items()
             if k not in ("__builtins__", "display") and
             not (k.startswith("__") and k.endswith("__"))}
    skipped = []
    try:
        blob = dumps(items)
    except Exception:                   # find what cannot go, once
        for k in list(items):
            try:
                dumps({k: items[k]})
            except Exception:
                skipped.append(k)
                del items[k]
        blob = dumps(items)
    files, left = [], _FORK_FILES
    for root, dirs, fnames in os.walk(".", followlinks=False):
        for n in fnames:
            p = os.path.join(root, n)
            try:
                if os.path.islink(p) or os.path.getsize(p) > left:
                    skipped.append(p[2:])
                    continue
                with open(p, "rb") as fh:
                    data = fh.read(left + 1)
                left -= len(data)
                files.append((p[2:], data))
            except OSError:
                skipped.append(p[2:])
    pickle.dump(files, out, protocol=5)
    out.write(len(blob).to_bytes(8, "little"))
    out.write(blob)                     # as it is: no second copy
    return sorted(skipped)


def _fork_load(mod, inp):
    import os
    import pickle
    files = pickle.load(inp)
    size = int.from_bytes(inp.read(8), "little")
    blob = inp.read(size)
    if len(blob) != size:
        raise EOFError("the copy's names were cut")
    for path, data in files:
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    names = pickle.loads(blob)
    mod.__dict__.update(names)
    _reseed()
    return len(names), len(files), []


def _fork_half(op, mod, stream, report):
    """One half of a fork: "F" dumps on stream, "L" loads from it; the
    report (a JSON object) on report.  The exit status."""
    status, rep = 0, {}
    try:
        with open(stream, "wb" if op == b"F" else "rb", closefd=True) as f:
            if op == b"F":
                rep = {"skipped": _fork_dump(mod, f)}
            else:
                n, files, failed = _fork_load(mod, f)
                rep = {"names": n, "files": files, "skipped": failed}
    except BaseException as e:          # its own, never the session's end
        status, rep = 1, {"error": "%s: %s" % (type(e).__name__, e)}
    try:
        posix.write(report, _dumps(rep).encode("utf-8"))
    except OSError:
        status = 1
    posix.close(report)
    return status


def _reseed():
    """What the zygote seeded and a fork would share, made fresh."""
    import random
    random.seed()                       # os.urandom
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed()                # the legacy global generator
    tf = sys.modules.get("tempfile")
    if tf is not None:
        tf._name_sequence = None        # names of tempfile.mk*()
    mp = sys.modules.get("multiprocessing.process")
    if mp is not None:                  # its connections' shared secret
        mp.current_process().authkey = posix.urandom(32)


def _log(level, msg):
    import json
    line = json.dumps({"level": level, "event": "zygote", "message": msg})
    posix.write(2, (line + "\n").encode("utf-8", "replace"))


class _LogLines:
    """The zygote's sys.stdout and sys.stderr while it imports: what a
    module prints (a warning, a progress note) becomes JSON log lines."""

    def __init__(self, level):
        self.level, self.buf = level, ""

    def write(self, s):
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            if line.strip():
                _log(self.level, line[:1000])
        return len(s)

    def flush(self):
        pass


def _zygote(modules):
    try:
        _zygote_start(modules)
    except BaseException as e:          # e.g. not our library: say why
        import traceback
        _log("error", "zygote: " + "".join(
            traceback.format_exception_only(type(e), e)).strip())
        posix._exit(1)


class _NoTimer:
    """threading.Timer while a zygote imports.  matplotlib starts one
    (a warning after 5 s) while it builds its font cache, and cancels it:
    that one thread makes glibc install its thread signal handler
    (SIGSETXID, SigCgt bit 33) in the zygote, which every warm run would
    then carry and a cold one has not (tests/security/
    test_sec_warm_cold.py).  A timer here never fires: one that fired
    during the imports would have run in a thread the zygote must not
    have."""

    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        pass

    def cancel(self):
        pass


def _signals_caught():
    with open("/proc/self/status") as f:
        return [l for l in f.read().splitlines() if l.startswith("SigCgt:")]


def _zygote_start(modules):
    import gc
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _LogLines("info"), _LogLines("warning")
    _site()
    loaded = []
    caught = _signals_caught()
    if modules:                         # the data zygote's: see _NoTimer
        import threading
        timer, threading.Timer = threading.Timer, _NoTimer
    for name in filter(None, modules.split(",")):
        try:
            __import__(name)
            if name == "matplotlib":
                import matplotlib
                matplotlib.use("Agg")
                import matplotlib.pyplot
            loaded.append(name)
        except BaseException as e:       # a module that fails is left out
            _log("warning", "preload of %s failed: %s: %s"
                 % (name, type(e).__name__, e))
    # What the runner and common scripts use, so that no run imports it.
    import ast, json, traceback, random, tempfile, os, ctypes  # noqa: F401
    import socket  # noqa: F401     a live session's channel (_session)
    if modules:
        threading.Timer = timer
    if _signals_caught() != caught:
        _log("warning", "a preloaded module installed a signal handler or "
             "started a thread: warm runs carry its handler, cold ones "
             "only once they import it (%s)" % _signals_caught())
    sys.meta_path.insert(0, _ART_FINDER)    # idle until a run collects
    _art_prepare()
    gc.collect()
    gc.freeze()         # no run's collection writes to the zygote's objects
    sys.stdout, sys.stderr = saved      # fds 1 and 2: the run's, in a run
    lib = ctypes.PyDLL("/.pyexec/zygote.so")
    lib.pyexec_zygote_serve.restype = ctypes.c_int
    lib.pyexec_zygote_serve.argtypes = [ctypes.c_char_p]
    rc = lib.pyexec_zygote_serve(",".join(loaded).encode("ascii"))
    if rc != 0:
        posix._exit(rc)
    # A spare run: still the slot's root, no user's code yet.  The data
    # zygote's spares warm up (a first describe() in a fresh fork touches
    # thousands of pages); the bare one's do not: what a trivial run would
    # save is less than the warm-up costs (docs/performance.md).  Then wait
    # for the run and become it.
    if loaded:
        _warm_up()
    lib.pyexec_zygote_run.restype = ctypes.c_int
    session = lib.pyexec_zygote_run() == 1
    del lib
    _reseed()
    if session:
        _session()
    _main(warm=True)


_WARM_UP = """
x = [i * i for i in range(200)]
d = {str(k): v for k, v in enumerate(x)}
print(sum(x), len(d), 'ok', 1.5, repr('s'), f'{3:>4}')
"""


def _warm_up():
    """In a data zygote's spare run, before its run: the paths a data run
    takes (compile, exec, print, json, a traceback, small numpy and pandas
    work).  A fork's first touch of a page
    is a page fault (and a copy, if it writes); taken here, they are paid
    before the request and charged to the zygote's cgroup, not the run's.
    Our own code only; its output is discarded and it leaves no name."""
    import io
    import json
    import traceback
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        exec(compile(_WARM_UP, "<warm-up>", "exec"),
             {"__builtins__": __builtins__, "__name__": "__warm__"})
        json.dumps({"result": [1, 2.5, "x", None, {"a": True}]})
        try:
            raise ValueError("warm-up")
        except ValueError as e:
            traceback.print_exception(type(e), e, e.__traceback__)
        np = sys.modules.get("numpy")
        if np is not None:
            a = np.arange(1000, dtype=float)
            print(a.sum(), a.mean(), a.std(), np.random.rand(4))
        pd = sys.modules.get("pandas")
        if pd is not None:
            df = pd.DataFrame({"a": range(100), "b": [i * 0.5 for i in range(100)]})
            print(df.describe())
    except BaseException:
        pass
    finally:
        sys.stdout, sys.stderr = saved


if sys.argv[1:2] == ["--zygote"] and len(sys.argv) == 3:
    _zygote(sys.argv[2])
else:
    _main()
