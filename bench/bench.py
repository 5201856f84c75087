"""pyexec benchmark: sandboxed execution latency and throughput.

Run it through bench/run, which brings up a private stack and tears it down.
Direct use (Debian's interpreter, stdlib only):

    /usr/bin/python3 bench/bench.py --url http://127.0.0.1:18180 --key KEY

Phases:
  1. latency: one interleaved loop over every variant (warm-up rounds first),
     each answer checked; a wrong answer aborts the bench (exit status 3).
  2. data script: a pandas describe() of a 1 000-row DataFrame through
     pyexec (the warm data zygote) vs the same script run by a bare
     /usr/bin/python3 spawn, interleaved.
  3. throughput: T threads x --duration seconds for T = 1 .. 2 x nproc,
     each level against a bare-spawn loop (T threads each spawning
     python3 -I -S -c 'print(1)') measured right before it.
  4. the zygotes' memory per slot (when the stack runs on this host).
  5. one machine-readable line "BENCH_JSON {...}" on stdout.
"""

import argparse
import http.client
import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.parse

PYTHON = "/usr/bin/python3"
BWRAP = "/usr/bin/bwrap"
CODE = "print(1)"
EXPECTED = "1\n"
BODY = json.dumps({"code": CODE}).encode()
HTTP_TIMEOUT = 30.0

PANDAS_CODE = ("import pandas as pd\n"
               "df = pd.DataFrame({'a': range(1000), 'b': [i * 0.5 for i in range(1000)]})\n"
               "print(df.describe())\n")
PANDAS_BODY = json.dumps({"code": PANDAS_CODE}).encode()

SPAWN_IS = [PYTHON, "-I", "-S", "-c", CODE]
SPAWN_PANDAS = [PYTHON, "-I", "-c", PANDAS_CODE]  # -I keeps site: dist-packages
SPAWN_I = [PYTHON, "-I", "-c", CODE]
BWRAP_CMD = [BWRAP, "--ro-bind", "/usr", "/usr",
             "--symlink", "usr/lib", "/lib",
             "--symlink", "usr/lib64", "/lib64",
             "--symlink", "usr/bin", "/bin",
             "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--unshare-all", "--die-with-parent",
             PYTHON, "-I", "-S", "-c", CODE]


class WrongAnswer(Exception):
    """A variant produced something other than the expected result."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def percentile(values, p):
    """Linear-interpolated percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    if not s:
        return None
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def r2(x):
    return None if x is None else round(x, 2)


# ------------------------------------------------------------------ spawns ---
def run_spawn(argv, expected=EXPECTED):
    """Run argv, return wall ms; raise WrongAnswer unless it printed
    expected."""
    t0 = time.perf_counter_ns()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    ms = (time.perf_counter_ns() - t0) / 1e6
    if p.returncode != 0 or p.stdout != expected.encode():
        raise WrongAnswer("%s: exit %s, stdout %r, stderr %r"
                          % (" ".join(argv[:3]), p.returncode, p.stdout[:200],
                             p.stderr[-300:]))
    return ms


def probe_bwrap():
    """None if bubblewrap runs here, else a one-line reason."""
    if not os.path.exists(BWRAP):
        return "%s not installed (apt-get install bubblewrap)" % BWRAP
    try:
        p = subprocess.run(BWRAP_CMD, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return "cannot run %s: %s" % (BWRAP, exc)
    if p.returncode != 0 or p.stdout != EXPECTED.encode():
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        return "exit %s: %s" % (p.returncode, err[-1] if err else "no output")
    return None


# -------------------------------------------------------------------- HTTP ---
class Client:
    """POST /v1/execute over http.client, one connection kept or not."""

    def __init__(self, host, port, key, keepalive):
        self.host, self.port, self.key = host, port, key
        self.keepalive = keepalive
        self.conn = None

    def _connection(self):
        if self.conn is None or not self.keepalive:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port,
                                                   timeout=HTTP_TIMEOUT)
        return self.conn

    def post(self, body=BODY):
        """Return (status, body bytes, wall ms). Raises OSError/HTTPException."""
        headers = {"Integrations-API-Key": self.key,
                   "Content-Type": "application/json"}
        if not self.keepalive:
            headers["Connection"] = "close"
        t0 = time.perf_counter_ns()
        conn = self._connection()
        try:
            conn.request("POST", "/v1/execute", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            self.close()
            raise
        ms = (time.perf_counter_ns() - t0) / 1e6
        if not self.keepalive:
            self.close()
        return resp.status, data, ms

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def check_envelope(status, data, expected=EXPECTED):
    """Return the execution item; raise WrongAnswer unless it completed and
    printed expected."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise WrongAnswer("HTTP %s, body is not JSON (%s): %r"
                          % (status, exc, data[:300]))
    if status != 200 or not isinstance(doc, dict) or doc.get("status") != "success":
        raise WrongAnswer("HTTP %s: %s" % (status, data[:500].decode("utf-8", "replace")))
    items = [i for i in doc.get("response") or []
             if isinstance(i, dict) and i.get("type") == "execution"]
    if len(items) != 1:
        raise WrongAnswer("no execution item in %r" % data[:500])
    ex = items[0]
    if ex.get("outcome") != "completed" or ex.get("stdout") != expected:
        raise WrongAnswer("outcome %r, stdout %r, stderr %r"
                          % (ex.get("outcome"), ex.get("stdout"),
                             (ex.get("stderr") or "")[-300:]))
    return ex


def get_health(host, port, key=None):
    """GET /health, with the key (its detailed view) when one is given."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/health",
                     headers={"Integrations-API-Key": key} if key else {})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    return resp.status, doc


# ----------------------------------------------------------------- latency ---
SETUP_MS = []   # the envelope's setup_ms: fork to exec inside the slot


def latency_phase(args, host, port):
    variants = []  # (name, label, callable returning (ms, sandbox_ms or None))

    def spawn_variant(argv):
        return lambda: (run_spawn(argv), None)

    def http_variant(client):
        def f():
            status, data, ms = client.post()
            ex = check_envelope(status, data)
            d = ex.get("duration_ms")
            if isinstance(ex.get("setup_ms"), (int, float)):
                SETUP_MS.append(float(ex["setup_ms"]))
            return ms, (float(d) if isinstance(d, (int, float)) else None)
        return f

    new_conn = Client(host, port, args.key, keepalive=False)
    keep_conn = Client(host, port, args.key, keepalive=True)
    variants.append(("spawn_I_S", "bare spawn python3 -I -S", spawn_variant(SPAWN_IS)))
    variants.append(("pyexec_new_conn", "pyexec POST, new connection", http_variant(new_conn)))
    variants.append(("pyexec_keepalive", "pyexec POST, keep-alive", http_variant(keep_conn)))
    variants.append(("spawn_I", "plain subprocess python3 -I", spawn_variant(SPAWN_I)))

    bwrap_reason = None
    if args.no_bwrap:
        bwrap_reason = "disabled by --no-bwrap"
    else:
        bwrap_reason = probe_bwrap()
    if bwrap_reason is None:
        variants.append(("bwrap", "bubblewrap python3 -I -S", spawn_variant(BWRAP_CMD)))

    wall = {v[0]: [] for v in variants}
    sandbox = {v[0]: [] for v in variants}
    total = args.warmup + args.iterations
    log("latency: %d warm-up + %d measured rounds of %d variants"
        % (args.warmup, args.iterations, len(variants)))
    t_start = time.monotonic()
    for i in range(total):
        # Rotate the order each round so no variant always runs right after
        # the same neighbour (cache / scheduler effects spread evenly).
        k = i % len(variants)
        for name, _label, fn in variants[k:] + variants[:k]:
            try:
                ms, sb = fn()
            except WrongAnswer as exc:
                raise WrongAnswer("%s (round %d): %s" % (name, i, exc))
            except (OSError, http.client.HTTPException, subprocess.SubprocessError) as exc:
                raise WrongAnswer("%s (round %d): request failed: %r" % (name, i, exc))
            if i >= args.warmup:
                wall[name].append(ms)
                if sb is not None:
                    sandbox[name].append(sb)
    keep_conn.close()
    elapsed = time.monotonic() - t_start

    base = percentile(wall["spawn_I_S"], 50)
    rows = []
    for name, label, _fn in variants:
        med = percentile(wall[name], 50)
        row = {"name": name, "label": label, "n": len(wall[name]),
               "median_ms": r2(med), "p90_ms": r2(percentile(wall[name], 90)),
               "min_ms": r2(min(wall[name])), "max_ms": r2(max(wall[name])),
               "ratio": round(med / base, 2) if base else None}
        if sandbox[name]:
            row["sandbox_duration_median_ms"] = r2(percentile(sandbox[name], 50))
            row["sandbox_duration_p90_ms"] = r2(percentile(sandbox[name], 90))
        rows.append(row)
    setup = None
    if SETUP_MS:
        setup = {"median_ms": round(percentile(SETUP_MS, 50), 3),
                 "p90_ms": round(percentile(SETUP_MS, 90), 3),
                 "max_ms": round(max(SETUP_MS), 3), "n": len(SETUP_MS)}
    return {"setup": setup, "iterations": args.iterations, "warmup": args.warmup,
            "elapsed_s": round(elapsed, 2), "variants": rows,
            "bwrap": {"available": bwrap_reason is None, "reason": bwrap_reason}}


def metrics_phase(args, host, port, url_off):
    """The cost of the metrics: print(1) over keep-alive on this stack and
    on a twin started with PYEXEC_METRICS=0, in interleaved rounds."""
    u = urllib.parse.urlsplit(url_off)
    on = Client(host, port, args.key, keepalive=True)
    off = Client(u.hostname, u.port or 80, args.key, keepalive=True)
    ms = {"on": [], "off": []}
    total = args.warmup + args.iterations
    log("metrics: %d warm-up + %d measured rounds, with and without" %
        (args.warmup, args.iterations))
    for i in range(total):
        pair = [("on", on), ("off", off)] if i % 2 == 0 else [("off", off), ("on", on)]
        for name, client in pair:
            status, data, t = client.post()
            check_envelope(status, data)
            if i >= args.warmup:
                ms[name].append(t)
    on.close()
    off.close()
    med_on, med_off = percentile(ms["on"], 50), percentile(ms["off"], 50)
    return {"iterations": args.iterations, "url_off": url_off,
            "median_ms_on": r2(med_on), "median_ms_off": r2(med_off),
            "p90_ms_on": r2(percentile(ms["on"], 90)),
            "p90_ms_off": r2(percentile(ms["off"], 90)),
            "ratio": round(med_on / med_off, 3) if med_off else None}


def print_metrics_cost(m):
    print()
    print("Metrics cost: print(1) over keep-alive, PYEXEC_METRICS=1 vs a twin stack with 0,"
          " %d interleaved rounds" % m["iterations"])
    print("  with metrics    median %.2f ms  p90 %.2f ms" % (m["median_ms_on"], m["p90_ms_on"]))
    print("  without         median %.2f ms  p90 %.2f ms" % (m["median_ms_off"], m["p90_ms_off"]))
    print("  ratio (with / without)  %.3f" % m["ratio"])


def print_latency(lat):
    print()
    print("Latency: %d interleaved rounds after %d warm-up rounds, one print(1) each"
          % (lat["iterations"], lat["warmup"]))
    print("%-32s %10s %10s %8s" % ("variant", "median ms", "p90 ms", "ratio"))
    print("-" * 63)
    for r in lat["variants"]:
        print("%-32s %10.2f %10.2f %8.2f" % (r["label"], r["median_ms"], r["p90_ms"], r["ratio"]))
    if not lat["bwrap"]["available"]:
        print("bubblewrap: unavailable (%s)" % lat["bwrap"]["reason"])
    if lat.get("setup"):
        print("pyexec sandbox set-up per run (fork to exec, setup_ms): median %.3f ms, "
              "p90 %.3f ms, max %.3f ms (%d runs)" % (
                  lat["setup"]["median_ms"], lat["setup"]["p90_ms"],
                  lat["setup"]["max_ms"], lat["setup"]["n"]))
    for r in lat["variants"]:
        if "sandbox_duration_median_ms" in r:
            print("%s: median envelope duration_ms (time inside the sandbox) %.2f ms, p90 %.2f ms"
                  % (r["label"], r["sandbox_duration_median_ms"], r["sandbox_duration_p90_ms"]))


# ------------------------------------------------------------- data script ---
def data_phase(args, host, port):
    """pandas describe() through pyexec vs a bare python3 spawn."""
    p = subprocess.run(SPAWN_PANDAS, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise WrongAnswer("bare pandas script: exit %s: %s"
                          % (p.returncode, p.stderr[-300:]))
    expected = p.stdout
    keep = Client(host, port, args.key, keepalive=True)
    new = Client(host, port, args.key, keepalive=False)
    n = max(5, args.iterations // 4)
    wall = {"spawn": [], "keep": [], "new": []}
    sandbox, warm = [], 0
    log("data script: %d warm-up + %d measured rounds" % (args.warmup, n))
    for i in range(args.warmup + n):
        for name in ("spawn", "keep", "new"):
            if name == "spawn":
                ms = run_spawn(SPAWN_PANDAS, expected)
            else:
                status, data, ms = (keep if name == "keep" else new).post(PANDAS_BODY)
                ex = check_envelope(status, data, expected)
                if i >= args.warmup:
                    sandbox.append(float(ex["duration_ms"]))
                    warm += bool(ex.get("warm"))
            if i >= args.warmup:
                wall[name].append(ms)
    keep.close()
    base = percentile(wall["spawn"], 50)
    rows = []
    for name, label in (("spawn", "bare python3 -I (pandas script)"),
                        ("keep", "pyexec POST, keep-alive"),
                        ("new", "pyexec POST, new connection")):
        med = percentile(wall[name], 50)
        rows.append({"name": name, "label": label, "median_ms": r2(med),
                     "p90_ms": r2(percentile(wall[name], 90)),
                     "ratio": round(med / base, 3) if base else None})
    return {"iterations": n, "variants": rows, "warm_runs": warm,
            "runs": 2 * n,
            "sandbox_duration_median_ms": r2(percentile(sandbox, 50))}


def print_data(d):
    print()
    print("Data script: import pandas; a 1 000-row DataFrame; print(df.describe()); "
          "%d interleaved rounds" % d["iterations"])
    print("%-32s %10s %10s %8s" % ("variant", "median ms", "p90 ms", "ratio"))
    print("-" * 63)
    for r in d["variants"]:
        print("%-32s %10.2f %10.2f %8.3f" % (r["label"], r["median_ms"], r["p90_ms"], r["ratio"]))
    print("pyexec: %d of %d runs warm; median envelope duration_ms %.2f ms"
          % (d["warm_runs"], d["runs"], d["sandbox_duration_median_ms"]))


# ------------------------------------------------------------------ memory ---
def _kb(pid, field):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_phase(health):
    """The zygotes' RSS and PSS per slot, from /proc (only when the stack
    runs on this host and we may read its processes)."""
    out = []
    for s in (health or {}).get("slots", []):
        lp = s.get("launcher_pid")
        if not isinstance(lp, int):
            continue
        try:
            with open("/proc/%d/task/%d/children" % (lp, lp)) as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        row = {"slot": s.get("id")}
        for k in kids:
            try:
                with open("/proc/%d/cmdline" % k, "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            if b"--zygote" not in cmd:
                continue
            kind = "data" if cmd[cmd.index(b"--zygote") + 1] else "bare"
            row[kind] = {"rss_kb": _kb(k, "Rss"), "pss_kb": _kb(k, "Pss"),
                         "anon_kb": _kb(k, "Anonymous")}
        if len(row) > 1:
            out.append(row)
    return out


def print_memory(mem):
    print()
    if not mem:
        print("Zygote memory: not visible from here (the stack is elsewhere, "
              "or warm mode is off)")
        return
    print("Zygote memory per slot (RSS / PSS / private anonymous, MB)")
    for r in mem:
        parts = []
        for kind in ("bare", "data"):
            z = r.get(kind)
            if z and None not in z.values():
                parts.append("%s %.1f / %.1f / %.1f" % (
                    kind, z["rss_kb"] / 1024, z["pss_kb"] / 1024, z["anon_kb"] / 1024))
        print("  slot %s: %s" % (r["slot"], ", ".join(parts)))


# -------------------------------------------------------------- throughput ---
def spawn_level(args, threads):
    """req/s of T threads each spawning python3 -I -S -c 'print(1)'."""
    stop_at = time.monotonic() + args.duration
    counts = [0] * threads

    def worker(idx):
        while time.monotonic() < stop_at:
            run_spawn(SPAWN_IS)
            counts[idx] += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(args.duration + 35)
    return round(sum(counts) / (time.monotonic() - t0), 1)


def throughput_level(args, host, port, threads):
    start = threading.Barrier(threads + 1)
    results = [None] * threads
    stop_at = [0.0]

    def worker(idx):
        client = Client(host, port, args.key, keepalive=True)
        lat, errors, wrong, first_error = [], 0, 0, None
        start.wait()
        deadline = stop_at[0]
        while time.monotonic() < deadline:
            try:
                status, data, ms = client.post()
            except (OSError, http.client.HTTPException) as exc:
                errors += 1
                first_error = first_error or repr(exc)
                time.sleep(0.01)  # do not spin on a dead server
                continue
            if status != 200:
                errors += 1
                first_error = first_error or "HTTP %d: %s" % (
                    status, data[:200].decode("utf-8", "replace").strip())
                continue
            try:
                check_envelope(status, data)
            except WrongAnswer as exc:
                wrong += 1
                first_error = first_error or str(exc)
                continue
            lat.append(ms)
        client.close()
        results[idx] = (lat, errors, wrong, first_error, time.monotonic())

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    t0 = time.monotonic()
    stop_at[0] = t0 + args.duration
    start.wait()
    for t in ts:
        t.join(args.duration + HTTP_TIMEOUT + 5)
    if any(t.is_alive() for t in ts) or any(r is None for r in results):
        raise RuntimeError("throughput: a client thread did not finish")
    elapsed = max(r[4] for r in results) - t0
    lat = [x for r in results for x in r[0]]
    errors = sum(r[1] for r in results)
    wrong = sum(r[2] for r in results)
    first_error = next((r[3] for r in results if r[3]), None)
    return {"concurrency": threads, "elapsed_s": round(elapsed, 3),
            "ok": len(lat), "errors": errors, "wrong": wrong,
            "rps": round(len(lat) / elapsed, 1) if elapsed > 0 else None,
            "median_ms": r2(percentile(lat, 50)), "p99_ms": r2(percentile(lat, 99)),
            "first_error": first_error}


def throughput_phase(args, host, port):
    levels = args.concurrency or list(range(1, 2 * (os.cpu_count() or 1) + 1))
    out = []
    for t in levels:
        log("throughput: bare-spawn loop, %d thread(s) for %gs" % (t, args.duration))
        base = spawn_level(args, t)
        log("throughput: %d client thread(s) for %gs" % (t, args.duration))
        r = throughput_level(args, host, port, t)
        r["spawn_rps"] = base
        r["ratio"] = round(r["rps"] / base, 2) if base and r["rps"] else None
        out.append(r)
        if r["wrong"]:
            raise WrongAnswer("throughput at concurrency %d: %d wrong answer(s), first: %s"
                              % (t, r["wrong"], r["first_error"]))
    return {"duration_s": args.duration, "levels": out}


def print_throughput(tp):
    print()
    print("Throughput: T threads, each with one keep-alive connection, posting print(1) for %gs"
          % tp["duration_s"])
    print("(spawn req/s: the same number of threads each spawning python3 -I -S -c 'print(1)',"
          " measured just before; ratio = req/s / spawn req/s)")
    print("%8s %10s %10s %8s %10s %10s %10s %8s" % ("threads", "req/s", "spawn/s", "ratio",
                                                   "median ms", "p99 ms", "ok", "errors"))
    print("-" * 80)
    for r in tp["levels"]:
        print("%8d %10s %10s %8s %10s %10s %10d %8d" % (
            r["concurrency"], r["rps"], r["spawn_rps"], r["ratio"], r["median_ms"],
            r["p99_ms"], r["ok"], r["errors"]))
    for r in tp["levels"]:
        if r["errors"]:
            print("concurrency %d: %d error(s), first: %s; req/s and latencies count "
                  "only the 200 answers" % (r["concurrency"], r["errors"], r["first_error"]))


# -------------------------------------------------------------------- main ---
def positive_int(s):
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def non_negative_int(s):
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def positive_float(s):
    v = float(s)
    if not v > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return v


def concurrency_list(s):
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("comma-separated positive integers")
    if not v or any(x < 1 for x in v):
        raise argparse.ArgumentTypeError("comma-separated positive integers")
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("PYEXEC_URL"),
                    help="base URL of the stack (default $PYEXEC_URL)")
    ap.add_argument("--key", default=os.environ.get("PYEXEC_BENCH_KEY"),
                    help="API key (default $PYEXEC_BENCH_KEY)")
    ap.add_argument("--iterations", type=positive_int, default=200)
    ap.add_argument("--warmup", type=non_negative_int, default=10)
    ap.add_argument("--duration", type=positive_float, default=5.0)
    ap.add_argument("--concurrency", type=concurrency_list, default=None,
                    help="comma-separated thread counts (default 1..2*nproc)")
    ap.add_argument("--no-bwrap", action="store_true")
    ap.add_argument("--url-nometrics", default=None,
                    help="a twin stack with PYEXEC_METRICS=0: measure the metrics' cost")
    args = ap.parse_args(argv)
    if not args.url or not args.key:
        ap.error("--url and --key (or PYEXEC_URL and PYEXEC_BENCH_KEY) are required")
    u = urllib.parse.urlsplit(args.url)
    if u.scheme != "http" or not u.hostname:
        ap.error("--url must be http://host:port, got %r" % args.url)
    host, port = u.hostname, u.port or 80

    status, health = get_health(host, port, args.key)
    if status != 200:
        log("bench: %s/health answered HTTP %s: %r" % (args.url, status, health))
        return 2
    workers = (health or {}).get("workers", {})

    info = {"url": args.url, "nproc": os.cpu_count(),
            "python": PYTHON, "python_version": subprocess.run(
                [PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                capture_output=True, text=True).stdout.strip(),
            "kernel": platform.release(),
            "server_version": (health or {}).get("version"),
            "cgroup": (health or {}).get("cgroup"),
            "workers": workers.get("configured"),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    print("pyexec bench: %s, %s workers (cgroup %s), nproc %s, python %s, kernel %s"
          % (info["url"], info["workers"], info["cgroup"], info["nproc"],
             info["python_version"], info["kernel"]), flush=True)

    result = {"info": info}
    try:
        lat = latency_phase(args, host, port)
        result["latency"] = lat
        print_latency(lat)
        sys.stdout.flush()
        data = data_phase(args, host, port)
        result["data_script"] = data
        print_data(data)
        sys.stdout.flush()
        tp = throughput_phase(args, host, port)
        result["throughput"] = tp
        print_throughput(tp)
        mem = memory_phase(health)
        result["zygote_memory"] = mem
        print_memory(mem)
        if args.url_nometrics:
            mc = metrics_phase(args, host, port, args.url_nometrics)
            result["metrics_cost"] = mc
            print_metrics_cost(mc)
    except WrongAnswer as exc:
        log("bench: WRONG ANSWER, aborting: %s" % exc)
        result["error"] = "wrong answer: %s" % exc
        print("BENCH_JSON " + json.dumps(result, sort_keys=True), flush=True)
        return 3
    print()
    print("BENCH_JSON " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("bench: interrupted")
        sys.exit(130)
