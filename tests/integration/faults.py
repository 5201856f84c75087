"""Fault injection under steady load: the harness of test_faults.py and
bench/faults.

A private stack (scripts/dev up --detach: listen 127.0.0.1:18750, instance
"faults", uids from 73000, two workers) whose run directory is a small
tmpfs of its own (so that it can be filled), with the fake model of
tests/fake-llm on 127.0.0.1:18751.  Each scenario:

  1. waits until every slot is ready with its zygotes, and notes what the
     service holds (its processes' descriptors, its cgroups, the host's
     mounts);
  2. starts LOAD_THREADS clients sending requests in a loop (each its own
     connection) and a watcher polling the public /health every 20 ms;
  3. injects the fault (fault_<name>), lets the load go on, ends it;
  4. reports: the requests that failed, whether each was in flight when
     the fault hit and failed as documented, "service_s" (every request
     sent later than this after the fault succeeded), "slot_s" (when the
     victim slot was ready again, from /health) and what was left.

A failure is "as documented" when it is a JSON error envelope with a 5xx
(or, for a fault that documents another outcome, that outcome).
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from private_stack import children, comm, running as alive, zygotes  # noqa: F401 (used by tests)

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LISTEN = "127.0.0.1:18750"
LLM_PORT = 18751
KEY = "faults-key-7c1e"
INSTANCE = "faults"
UID_BASE = 73000
WORKERS = 2
LOAD_THREADS = 4
RUN_TIMEOUT = 2            # the load's plain runs' timeout (s)
DATA_TIMEOUT = 10          # its pandas runs' (a remade slot runs them cold
                           # until its zygotes are up: ~1-3 s under load)
STOP_SECONDS = 3.5         # SIGSTOP: longer than a run's timeout
RUN_DIR_MB = 48            # the run directory's tmpfs
LLM_TIMEOUT = 3

BARE = {"code": "print(6 * 7)", "timeout": RUN_TIMEOUT}
DATA = {"code": "import pandas as pd\nprint(int(pd.Series([40, 2]).sum()))",
        "timeout": DATA_TIMEOUT}


def _dev(env, *args):
    return subprocess.run([os.path.join(TOP, "scripts", "dev")] + list(args),
                          env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=180)


class Stack:
    """The private stack and its fake model.  The run directory is a tmpfs
    of RUN_DIR_MB; the workspaces live outside it (as in production, where
    they are under /var/lib/pyexec and the run directory is /run/pyexec)."""

    def __init__(self, setup=False):
        self.base = tempfile.mkdtemp(prefix="pyexec-faults-", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.run_dir = os.path.join(self.base, "run")
        os.mkdir(self.run_dir)
        subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=%dm,mode=0755" % RUN_DIR_MB, "pyexec-faults",
                        self.run_dir], check=True)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PYEXEC_", "PYTHON_EXECUTOR_", "TOGETHER_"))
                    or k == "PYEXEC_FCGI"}  # the binary under test
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            self.env.pop(k, None)
        self.env.update({
            "PYEXEC_LISTEN": LISTEN, "PYEXEC_API_KEYS": KEY,
            "PYEXEC_INSTANCE": INSTANCE, "PYEXEC_UID_BASE": str(UID_BASE),
            "PYEXEC_WORKERS": str(WORKERS), "PYEXEC_RUN_DIR": self.run_dir,
            "PYEXEC_WORKSPACE_DIR": os.path.join(self.base, "workspaces"),
            "PYEXEC_WORKSPACE_MAX_BYTES": "8m", "PYEXEC_WORKSPACE_MIN_FREE": "64m",
            "PYEXEC_LLM_URL": "http://127.0.0.1:%d/v1" % LLM_PORT,
            "PYEXEC_LLM_API_KEY": "faults-llm-key",
            "PYEXEC_LLM_TIMEOUT": str(LLM_TIMEOUT), "PYEXEC_LLM_RETRIES": "1",
            "PYEXEC_KEY_RATE": "100000", "PYEXEC_KEY_BURST": "100000",
            "PYEXEC_ADDR_RATE": "100000", "PYEXEC_ADDR_BURST": "100000"})
        self.llm = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(TOP, "tests", "fake-llm", "server.py"),
             "--port", str(LLM_PORT), "--log", os.path.join(self.base, "fake-llm.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = _dev(self.env, "up", "--detach", *([] if setup else ["--no-setup"]))
        if r.returncode != 0:
            self.down()
            raise RuntimeError("the faults stack did not start:\n" +
                               r.stdout.decode(errors="replace")[-3000:])
        self.master = self.pid_file()

    def pid_file(self):
        with open(os.path.join(self.run_dir, "pyexec-fcgi.pid")) as f:
            return int(f.read())

    def down(self):
        _dev(self.env, "down")
        if self.llm.poll() is None:
            self.llm.terminate()
            self.llm.wait(10)
        subprocess.run(["umount", self.run_dir])
        shutil.rmtree(self.base, ignore_errors=True)

    def log_text(self):
        try:
            with open(os.path.join(self.run_dir, "pyexec.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def request(method, path, body=None, key=KEY, timeout=60):
    """(status, content type, body bytes); status 0 when no answer came."""
    host, port = LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    hdrs = {"Content-Type": "application/json", "Connection": "close"}
    if key:
        hdrs["Integrations-API-Key"] = key
    try:
        conn.request(method, path, body=json.dumps(body).encode()
                     if body is not None else None, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    except (OSError, http.client.HTTPException) as e:
        return 0, "", repr(e).encode()
    finally:
        conn.close()


def health(key=None):
    st, _, data = request("GET", "/health", key=key, timeout=10)
    try:
        return st, json.loads(data)
    except ValueError:
        return st, None


def wait_steady(within=90):
    """Every slot ready, its zygotes ready; the keyed /health's view."""
    deadline = time.monotonic() + within
    j = None
    while time.monotonic() < deadline:
        # the keyed view: its worker asks its launcher (the public one
        # shows what the workers last heard)
        st, j = health(KEY)
        if st == 200 and j and j["status"] == "healthy" and all(
                s["state"] == "ready" and s["warm"]["bare"] == "ready"
                and s["warm"]["data"] == "ready" for s in j["slots"]):
            return j
        time.sleep(0.2)
    raise AssertionError("the faults stack is not steady: %s" % j)


def envelope(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


def json_error(res, statuses=range(500, 600)):
    """The answer is a JSON error envelope with one of statuses."""
    j = envelope(res["body"])
    return (res["status"] in statuses and res["ctype"].startswith("application/json")
            and j is not None and j.get("status") == "error"
            and j["response"][0]["type"] == "error")


def error_code(res):
    j = envelope(res["body"]) or {}
    try:
        return j["response"][0]["code"]
    except (KeyError, IndexError, TypeError):
        return None


def execution(res):
    j = envelope(res["body"]) or {}
    ex = [i for i in j.get("response", []) if i.get("type") == "execution"]
    return ex[-1] if ex else {}


class Load:
    """LOAD_THREADS clients; each sends kinds[i % len(kinds)] in turn."""

    def __init__(self, kinds=("bare", "data")):
        self.kinds = kinds
        self.results = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                        for i in range(LOAD_THREADS)]

    def one(self, kind, i):
        if kind in ("bare", "data"):
            path, body = "/v1/execute", BARE if kind == "bare" else DATA
        elif kind == "sleep":                  # a run that is in flight a while
            path, body = "/v1/execute", {"code": "import time\ntime.sleep(0.5)\nprint(42)",
                                         "timeout": RUN_TIMEOUT}
        elif kind == "ws":                     # the thread's own workspace
            path, body = "/v1/execute", dict(BARE, session_id="faults-%d" % i)
        else:                                  # llm:<mode>
            path = "/v1/generate-and-execute"
            body = {"query": "print the marker [mode:%s] %f" % (kind[4:], time.time()),
                    "max_attempts": 1}
        sent = time.monotonic()
        st, ctype, data = request("POST", path, body)
        res = {"kind": kind, "sent": sent, "done": time.monotonic(),
               "status": st, "ctype": ctype, "body": data}
        with self.lock:
            self.results.append(res)

    def client(self, i):
        n = i
        while not self.stop.is_set():
            self.one(self.kinds[n % len(self.kinds)], i)
            n += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(90)

    def count(self):
        with self.lock:
            return len(self.results)

    def wait_for(self, n, within=30):
        deadline = time.monotonic() + within
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.02)


def ok(res):
    """A request of the load answered as it must be with no fault."""
    if res["status"] != 200 or not res["ctype"].startswith("application/json"):
        return False
    ex = execution(res)
    if res["kind"] in ("bare", "data", "ws", "sleep"):
        return ex.get("outcome") == "completed" and ex.get("stdout") == "42\n"
    return ex.get("outcome") == "completed" and ex.get("stdout") == "fake-llm-ok\n"


class Watch:
    """Polls the public /health (the front answers it) every 20 ms."""

    def __init__(self):
        self.samples = []             # (t, [slot states])
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            st, j = health()
            if j and "slots" in j:
                self.samples.append((time.monotonic(), [s["state"] for s in j["slots"]]))
            time.sleep(0.02)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join(10)

    def slot_back(self, slot, t_fault):
        """When slot was ready again after it went down past t_fault, or
        None (it never went down: 0.0)."""
        down = None
        for t, states in self.samples:
            if t < t_fault:
                continue
            s = states[slot]
            if s not in ("ready", "busy") and down is None:
                down = t
            elif s in ("ready", "busy") and down is not None:
                return t - t_fault
        return None if down is not None else 0.0


# ------------------------------------------------------------- what is held

def fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


# The store's workspace cache: an image's descriptor and its mount's root
# for each cached workspace, PYEXEC_WORKSPACE_MOUNTS (2 x workers) unleased
# ones and one leased per slot at most (sandbox/host/store.c, cache_slot).  How
# many it holds depends on which requests overlapped, not on a leak.
STORE_CACHE_MAX = 2 * WORKERS + WORKERS


def store_fds(pid):
    """(descriptors outside the workspace cache, cached workspaces)."""
    d = "/proc/%d/fd" % pid
    other = cached = roots = blanks = 0
    try:
        for x in os.listdir(d):
            try:
                t = os.readlink(os.path.join(d, x))
            except OSError:
                continue
            if "/blank/b-" in t:
                # the empty images the store makes ahead (at most 2),
                # each with its mount
                blanks += 1
            elif t.endswith(".img"):
                cached += 1
            elif t == "/":
                roots += 1
            else:
                other += 1
    except OSError:
        return -1, 0
    # a mount's root without its image is not the cache's
    return other + max(0, roots - cached - min(blanks, 2)), cached


def held(stack, view):
    """What the service holds that must not grow: the descriptors of the
    master, the front, the store and the guard, its cgroups and the host's
    mounts."""
    procs = {"master": fds(stack.master)}
    workers = {s["worker_pid"] for s in view["slots"]}
    for p in children(stack.master):
        c = comm(p)
        if c == "pyexec-store":
            procs[c], procs["store cache"] = store_fds(p)
        elif c == "pyexec-guard":
            procs[c] = fds(p)
        elif c == "pyexec-fcgi" and p not in workers:
            procs["front"] = fds(p)
    cgs = set()
    for ctl in ("memory", "cpu", "cpuacct", "pids"):
        top = "/sys/fs/cgroup/%s/pyexec/%s" % (ctl, INSTANCE)
        for d, _, _ in os.walk(top):
            rel = os.path.relpath(d, top).split(os.sep)
            # the live sessions' keeper makes a few cgroups ahead (and
            # again after a restart of the store, a second apart): those
            # hold no process; one that does is counted
            if rel[0] == "sessions" and (len(rel) < 3 or not _procs(d)):
                continue
            cgs.add(os.path.relpath(d, "/sys/fs/cgroup"))
    with open("/proc/self/mountinfo") as f:
        mounts = sorted(" ".join(l.split()[3:5]) for l in f)
    return {"fds": procs, "cgroups": sorted(cgs), "mounts": mounts}


def _procs(d):
    try:
        with open(os.path.join(d, "cgroup.procs")) as f:
            return f.read().strip()
    except OSError:
        return ""


def runs_left():
    """Processes in the runs' uid range that are not zygotes or spares."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/status" % p) as f:
                st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
            uid = int(st["Uid"].split()[1])
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read(300).replace(b"\0", b" ").decode(errors="replace")
        except (OSError, KeyError, ValueError):
            continue
        if (UID_BASE < uid < UID_BASE + 2 * WORKERS and (uid - UID_BASE) % 2 == 1
                and "--zygote" not in cmd and st.get("State", "").split()[0] != "Z"):
            out.append("%s uid %d: %s" % (p, uid, cmd))
    return out


def leaks(before, after):
    """What grew between two held() views, as sentences."""
    out = []
    for k, n in before["fds"].items():
        m = after["fds"].get(k)
        if k == "store cache":
            if m is None or m > STORE_CACHE_MAX:
                out.append("store cache: %s workspaces, at most %d" % (m, STORE_CACHE_MAX))
        elif m is None or m > n:
            out.append("%s: %s descriptors, %s before" % (k, m, n))
    if after["cgroups"] != before["cgroups"]:
        out.append("cgroups: %s" % sorted(set(after["cgroups"]) ^ set(before["cgroups"])))
    if after["mounts"] != before["mounts"]:
        out.append("mounts: %s" % sorted(set(after["mounts"]) ^ set(before["mounts"])))
    return out


# ------------------------------------------------------------------- faults

def _rm_run_cgroup(launcher, slot):
    """Removes slot's run/ cgroup in every hierarchy, as a cleanup tool
    would: its launcher held still (so that it cannot put a new spare in
    it meanwhile), the processes in it killed, the directories removed."""
    os.kill(launcher, signal.SIGSTOP)
    try:
        for _ in range(100):
            left = False
            for ctl in ("memory", "cpu", "cpuacct", "pids"):
                d = "/sys/fs/cgroup/%s/pyexec/%s/slot-%d/run" % (ctl, INSTANCE, slot)
                if not os.path.isdir(d):
                    continue
                with open(d + "/cgroup.procs") as f:
                    for p in f.read().split():
                        try:
                            os.kill(int(p), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                try:
                    os.rmdir(d)
                except OSError:
                    left = True
            if not left:
                return
            time.sleep(0.01)
        raise AssertionError("slot-%d/run could not be removed" % slot)
    finally:
        os.kill(launcher, signal.SIGCONT)


def _fill(path):
    """Fills the file system of path; returns the filler's name."""
    name = os.path.join(path, "filler")
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):     # unbuffered: nothing left to
            chunk = b"\0" * size           # flush when it is closed
            try:
                while True:
                    os.write(fd, chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return name


def run(stack, name, before=1.5):
    """Runs scenario name; returns its report (a dict)."""
    view = wait_steady()
    s0 = view["slots"][0]
    state = {}
    kinds = ("bare", "data")
    allowed, after = LOAD_THREADS, 4.0
    documented = json_error

    def inject():
        if name == "worker":
            os.kill(s0["worker_pid"], signal.SIGKILL)
        elif name == "launcher":
            os.kill(s0["launcher_pid"], signal.SIGKILL)
        elif name == "zygote":
            z = zygotes(s0["launcher_pid"])
            assert set(z) == {"bare", "data"}, z
            state["zygotes"] = z
            os.kill(z["data"], signal.SIGKILL)
            os.kill(z["bare"], signal.SIGKILL)
        elif name == "stop":
            os.kill(s0["launcher_pid"], signal.SIGSTOP)
            state["stopped"] = s0["launcher_pid"]
        elif name == "cgroup":
            _rm_run_cgroup(s0["launcher_pid"], 0)
        elif name == "store":
            store = [p for p in children(stack.master) if comm(p) == "pyexec-store"]
            assert len(store) == 1, store
            state["store"] = store[0]
            os.kill(store[0], signal.SIGKILL)
        elif name == "disk":
            state["filler"] = _fill(stack.run_dir)
            # a body past nginx's client_body_buffer_size (128k) needs a
            # temporary file in the full run directory
            big = dict(BARE, code="# " + "x" * (200 << 10) + "\nprint(6 * 7)")
            state["big"] = request("POST", "/v1/execute", big)[:2]
            state["log_size"] = os.path.getsize(os.path.join(stack.run_dir, "pyexec.log"))
        elif name in ("llm_midreset", "llm_stall"):
            state["mode"] = name[4:]
        else:
            raise ValueError(name)

    if name == "stop":
        kinds = ("bare", "sleep")         # a run in flight in the stopped slot
        after = STOP_SECONDS + 3
        # the run in flight meets its timeout (the launcher could not kill
        # it while stopped): the outcome "timeout", as documented
        documented = (lambda r: json_error(r) or (
            r["status"] == 200 and execution(r).get("outcome") == "timeout"))
    if name == "store":
        kinds = ("bare", "ws")
    if name.startswith("llm_"):
        kinds = ("bare", "llm:json")
        after = LLM_TIMEOUT + 3.0
    if name == "disk":
        after = 3.0

    # one of each request first (the workspaces of the threads exist, the
    # store holds them): what the load itself keeps is not a leak
    warm = Load(kinds)
    for i in range(LOAD_THREADS):
        warm.one(kinds[i % len(kinds)], i)
    held_before = held(stack, view)
    restarts_before = {s["id"]: s["restarts"] for s in view["slots"]}
    try:
        with Watch() as watch, Load(kinds) as load:
            load.wait_for(8)
            time.sleep(before)
            t_fault = time.monotonic()
            inject()
            if name.startswith("llm_"):
                # the model misbehaves for every request sent to it now
                bad = Load(("llm:" + state["mode"],))
                with bad:
                    time.sleep(LLM_TIMEOUT + 1.5)
                state["bad"] = bad.results
            elif name == "stop":
                time.sleep(STOP_SECONDS)
                if alive(state["stopped"]):
                    os.kill(state["stopped"], signal.SIGCONT)
            time.sleep(after)
            if name == "disk":
                os.unlink(state["filler"])
                # and after the disk has room again: the log is written again
                time.sleep(1.5)
                state["log_grew"] = (os.path.getsize(os.path.join(
                    stack.run_dir, "pyexec.log")) > state["log_size"])
    finally:
        # a full disk must not outlive its scenario (the next ones log)
        if "filler" in state and os.path.exists(state["filler"]):
            os.unlink(state["filler"])
    t_end = time.monotonic()

    failed = [r for r in load.results if not ok(r)]
    undocumented = [r for r in failed if not documented(r)]
    in_flight = [r for r in failed if r["sent"] <= t_fault + 0.05]
    service_s = max([r["sent"] - t_fault for r in failed] + [0.0])
    rep = {"fault": name, "requests": len(load.results), "failed": len(failed),
           "undocumented": [show(r) for r in undocumented],
           "failed_not_in_flight": [show(r) for r in failed if r not in in_flight],
           "failures": [show(r) for r in failed][:8],
           "service_s": round(service_s, 3), "allowed": allowed,
           "slowest_s": round(max([r["done"] - r["sent"] for r in load.results]
                                  + [0.0]), 3),
           "after_fault": sum(1 for r in load.results if r["sent"] > t_fault),
           "load_s": round(t_end - t_fault, 1)}
    if name in ("worker", "launcher", "stop", "cgroup"):
        rep["slot_s"] = watch.slot_back(0, t_fault)
    if "bad" in state:
        rep["bad_model"] = [(r["status"], error_code(r)) for r in state["bad"]]
        rep["bad_model_json"] = all(json_error(r, (502, 504)) for r in state["bad"])
    # afterwards: steady again, nothing left, nothing grown
    view2 = wait_steady()
    rep["restarts"] = {s["id"]: s["restarts"] - restarts_before[s["id"]]
                       for s in view2["slots"]}
    deadline = time.monotonic() + 10
    while True:
        left = runs_left()
        rep["leaks"] = leaks(held_before, held(stack, view2)) + ["run left: " + x for x in left]
        if not rep["leaks"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    rep["state"] = {k: v for k, v in state.items() if k != "bad"}
    return rep


def show(r):
    return "%s sent %.3f took %.3f: %d %s %s" % (
        r["kind"], r["sent"], r["done"] - r["sent"], r["status"], r["ctype"],
        r["body"][:240].decode(errors="replace"))


FAULTS = ("worker", "launcher", "zygote", "stop", "cgroup", "store",
          "llm_midreset", "llm_stall", "disk")
