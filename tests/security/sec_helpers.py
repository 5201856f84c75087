"""Shared helpers of the pyexec security tests (stdlib only).

The centre piece is assert_host_clean(): after a hostile program ran, the
HOST (where pytest runs, as root) must show no trace of it:

  * no process runs with a uid of the sandbox range
    [PYEXEC_UID_BASE, PYEXEC_UID_BASE + 2 * workers), except the slot
    launchers themselves (pid listed by /health, uid = base + 2 * slot);
    a short grace period covers the launcher's kill-and-reap sweep;
  * no cgroup directory other than slot-N (N < workers) under
    /sys/fs/cgroup/<controller>/pyexec/<PYEXEC_INSTANCE> (cgroup v1; the
    memory controller's directory must exist) or /sys/fs/cgroup/pyexec/<inst>
    (v2);
  * no mount point in the host's /proc/self/mountinfo that mentions pyexec,
    lies in the checkout or the run dir, or is new;
  * no file whose name holds the test's token in the host directories the
    programs aim at (/tmp, /var/tmp, /dev/shm, /, /root, /etc, /usr/..., the
    checkout, the run dir, ...);
  * GET /health is healthy, every worker alive and every slot ready.

Each test gets a baseline (conftest.py records it before the test) so that a
leftover of an earlier test is blamed on that test only; the first and the
last security tests check the host without any baseline.
"""

import concurrent.futures
import glob
import json
import os
import re
import time
import uuid

import pyexec_http as ph

show = ph.show

KiB = 1024
MiB = 1024 * 1024

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))          # the checkout


def _size(name, default):
    """A size from the environment, in bytes (k, m, g suffixes as the
    service's config accepts them)."""
    v = (os.environ.get(name) or "").strip()
    if not v:
        return default
    m = re.match(r"^([0-9]+)\s*([kKmMgG]?)[bB]?$", v)
    if not m:
        return default
    mult = {"": 1, "k": KiB, "m": MiB, "g": 1024 * MiB}[m.group(2).lower()]
    return int(m.group(1)) * mult


def _int(name, default):
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        return default


UID_BASE = _int("PYEXEC_UID_BASE", 62000)
INSTANCE = os.environ.get("PYEXEC_INSTANCE") or "test"
MAX_OUTPUT = _size("PYEXEC_MAX_OUTPUT_BYTES", 1 * MiB)
MAX_BODY = _size("PYEXEC_MAX_BODY", 1 * MiB)
TMP_SIZE = _size("PYEXEC_TMP_SIZE", 64 * MiB)           # SANDBOX-TARGET
TMP_INODES = 4096                                       # SANDBOX-TARGET
MAX_FILE_SIZE = _size("PYEXEC_MAX_FILE_SIZE", 32 * MiB)
MAX_OPEN_FILES = _int("PYEXEC_MAX_OPEN_FILES", 256)
MAX_PIDS = _int("PYEXEC_MAX_PIDS", 64)
RUN_DIR = os.environ.get(ph.ENV_RUN_DIR) or ""

# The sandbox's own identity (SANDBOX-TARGET: uid/gid 1000 inside).
SANDBOX_UID = 1000

# Grace for the launcher's sweep (kill(-1), reap) after a response: how
# long a check polls for the sandbox's uid range to empty (it ends as soon
# as it is).  A process still there after it is a leak; on a loaded host
# (2 cores shared with a full suite) the sweep alone can take seconds.
GRACE = 10.0
# How long assert_host_clean() waits for /health healthy and every slot
# ready with no zygote starting: a slot or zygote made again after a test
# imports numpy, pandas and matplotlib, 2-3 s idle and over 10 s under
# load.  A stack that does not recover still fails (and after two such
# waits the next ones are short: _PATIENCE).
READY_WITHIN = 30.0


def new_token():
    return uuid.uuid4().hex[:16]


def marker_name(token):
    return "pyexec-escape-" + token


# Host directories a hostile program aims its marker files at (inside the
# sandbox, these paths are the sandbox's own: only /tmp and /dev/shm may be
# writable there).  The host must never show a file named after the token.
def host_marker_dirs():
    dirs = ["/tmp", "/var/tmp", "/dev/shm", "/run/shm", "/", "/root", "/home",
            "/etc", "/usr", "/usr/local", "/usr/local/bin", "/usr/lib",
            "/usr/lib/python3/dist-packages", "/opt", "/srv", "/mnt", "/run",
            "/var", "/work", TOP, os.path.join(TOP, "tests"), os.getcwd()]
    if RUN_DIR:
        dirs.append(RUN_DIR)
    out = []
    for d in dirs:
        if d and d not in out:
            out.append(d)
    return out


# Python source (sent inside programs) that tries to drop marker files in
# every one of those directories and returns {path: "ok" | error name}.
def marker_writer_source(token):
    return (
        "def _pyexec_try_markers():\n"
        "    import os as _os\n"
        "    _res = {}\n"
        "    for _d in %r:\n"
        "        _p = _os.path.join(_d, %r)\n"
        "        try:\n"
        "            with open(_p, 'w') as _f:\n"
        "                _f.write('escaped')\n"
        "            _res[_p] = 'ok'\n"
        "        except Exception as _e:\n"
        "            _res[_p] = type(_e).__name__\n"
        "    return _res\n" % (host_marker_dirs(), marker_name(token)))


# ------------------------------------------------------------- running code

def run(code, http_timeout=None, **fields):
    """Runs code; asserts the 200 success envelope (a hostile program must
    never turn into a service error); returns the execution item."""
    payload = {"code": code}
    payload.update(fields)
    if http_timeout is None:
        http_timeout = float(fields.get("timeout", 5)) + 25
    resp = ph.execute(payload, timeout=http_timeout)
    return ph.assert_success(resp)


def result(ex, tag="RESULT"):
    """The JSON object the program printed on its last `<tag> {...}` line of
    stdout, or None."""
    found = None
    for line in ex.get("stdout", "").splitlines():
        if line.startswith(tag + " "):
            try:
                found = json.loads(line[len(tag) + 1:])
            except ValueError:
                pass
    return found


def assert_killed_at_timeout(ex, timeout):
    """Outcome timeout, SIGKILL, limit timeout, and it did run the full
    wall-clock time without overshooting it by much."""
    assert ex["outcome"] == "timeout", show(ex)
    assert ex["limit"] == "timeout", show(ex)
    assert ex["signal"] == "SIGKILL", show(ex)
    assert ex["exit_code"] is None, show(ex)
    assert ex["duration_ms"] >= timeout * 1000 * 0.95, show(ex)
    over = ex.get("overshoot_ms")
    if over is not None:
        assert over < 50, "overshoot_ms %r >= 50: %s" % (over, show(ex))
    else:
        assert ex["duration_ms"] < timeout * 1000 + 250, show(ex)


# ------------------------------------------------------------------ health

# After the service failed to become ready once, later waits are short: a
# broken stack must fail the remaining tests quickly, not 10 s each.
_PATIENCE = {"unready": 0}


def health_json(within=10.0):
    if within > 1.0 and _PATIENCE["unready"] >= 2:
        within = 1.0
    resp = ph.wait_for_health(ph.healthy_and_ready, within=within)
    if within > 0:
        if ph.healthy_and_ready(resp):
            _PATIENCE["unready"] = 0
        else:
            _PATIENCE["unready"] += 1
    if resp is None or not isinstance(resp.json, dict):
        return None, resp
    return resp.json, resp


def slot_marks():
    """{slot id: (launcher_pid, worker_pid, runs, restarts)} from /health."""
    j, resp = health_json()
    assert j is not None and ph.healthy_and_ready(resp), show(resp)
    return {s["id"]: (s.get("launcher_pid"), s.get("worker_pid"),
                      s.get("runs"), s.get("restarts"))
            for s in j["slots"]}


def launcher_pids():
    j, _ = health_json(within=0)
    if not j:
        return {}
    return {s["launcher_pid"]: s["id"] for s in j.get("slots", [])
            if isinstance(s.get("launcher_pid"), int)}


# ------------------------------------------------------- host inspection

def _read(path, limit=1 << 16):
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", "replace")


def _status_fields(pid):
    fields = {}
    for line in _read("/proc/%s/status" % pid).splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return fields


def _workers_configured():
    j, _ = health_json(within=0)
    try:
        return int(j["workers"]["configured"])
    except (TypeError, KeyError, ValueError):
        return None


_SESSIONS_MAX = []


def _sessions_max():
    """How many live sessions the stack may hold (the keyed /health's
    sessions.max, asked once): their uids follow the slots'.  0 when it
    has none."""
    if not _SESSIONS_MAX:
        j, _ = health_json(within=0)
        try:
            _SESSIONS_MAX.append(int(j["sessions"]["max"]))
        except (TypeError, KeyError, ValueError):
            return 0
    return _SESSIONS_MAX[0]


def _has_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return bool(f.read().split())
    except OSError:
        return False


def _zygote_tree(pid, st, uids, launchers):
    """Whether pid is a zygote, or a zygote's spare init or spare run,
    of a slot whose launcher /health lists."""
    try:
        cmd = _read("/proc/%d/cmdline" % pid, 300).split("\0")
    except OSError:
        return False
    if "--zygote" not in cmd or not any(c.endswith("runner.pyc") for c in cmd):
        return False
    p = pid
    for _ in range(3):                  # run -> init -> zygote -> launcher
        try:
            p = int(_status_fields(p).get("PPid", "0"))
        except (OSError, ValueError):
            return False
        slot = launchers.get(p)
        if slot is not None:
            return all(u == UID_BASE + 2 * slot for u in uids)
    return False


def zygote_pids():
    """{slot id: {"bare": pid, "data": pid}} of the zygotes, seen from the
    host: the launchers' python children, told apart by their preload
    argument (empty for the bare one)."""
    out = {}
    for lpid, slot in launcher_pids().items():
        try:
            kids = _read("/proc/%d/task/%d/children" % (lpid, lpid)).split()
        except OSError:
            continue
        for k in kids:
            try:
                cmd = _read("/proc/%s/cmdline" % k, 500).split("\0")
            except OSError:
                continue
            if "--zygote" in cmd:
                arg = cmd[cmd.index("--zygote") + 1]
                out.setdefault(slot, {})["data" if arg else "bare"] = int(k)
    return out


def sandbox_processes(workers=None):
    """Host processes whose real, effective, saved or fs uid is in the
    sandbox range, except the launchers that /health lists (running as
    their slot's launcher uid).  [(pid, description), ...]"""
    if workers is None:
        workers = _workers_configured() or 64
    # the slots' uids, then the live sessions' (PYEXEC_SESSIONS_MAX of them)
    lo, hi = UID_BASE, UID_BASE + 2 * workers + _sessions_max()
    launchers = launcher_pids()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = _status_fields(d)
            uids = [int(x) for x in st.get("Uid", "").split()]
        except (OSError, ValueError):
            continue                    # gone meanwhile
        if not any(lo <= u < hi for u in uids):
            continue
        pid = int(d)
        slot = launchers.get(pid)
        if slot is not None and all(u == UID_BASE + 2 * slot for u in uids):
            continue
        # The launcher's keeper or spawner: its child, same uid, same
        # program, no child of its own (the spawner's clones are the
        # launcher's: CLONE_PARENT).
        try:
            ppid = int(st.get("PPid", "0"))
        except ValueError:
            ppid = 0
        slot = launchers.get(ppid)
        if (slot is not None and all(u == UID_BASE + 2 * slot for u in uids)
                and st.get("Name") == "pyexec-launcher"
                and not _has_children(pid)):
            continue
        # A zygote (the launcher's child), its spare init and spare run
        # (a run not yet begun): python on the runner with --zygote, all
        # under the slot's launcher uid.  A run (the run uid) never is.
        if _zygote_tree(pid, st, uids, launchers):
            continue
        try:
            cmd = _read("/proc/%d/cmdline" % pid, 300).replace("\0", " ")
        except OSError:
            cmd = "?"
        found.append((pid, "pid %d name=%s state=%s ppid=%s uids=%s cmd=%r"
                      % (pid, st.get("Name"), st.get("State"),
                         st.get("PPid"), uids, cmd.strip())))
    return found


def cgroup_roots():
    base = "/sys/fs/cgroup"
    roots = []
    v1 = os.path.isdir(os.path.join(base, "memory"))
    if v1:
        for ctl in sorted(os.listdir(base)):
            d = os.path.join(base, ctl, "pyexec", INSTANCE)
            if os.path.isdir(d) and not os.path.islink(os.path.join(base, ctl)):
                roots.append(d)
    d = os.path.join(base, "pyexec", INSTANCE)
    if os.path.isdir(d):
        roots.append(d)
    d = os.path.join(base, "unified", "pyexec", INSTANCE)
    if os.path.isdir(d):
        roots.append(d)
    return v1, roots


def cgroup_problems(workers=None):
    """[(key, description)] for every cgroup dir that is not slot-N, or
    sessions/ with a session's s-N that still holds a process in it (the
    tests end every session they make)."""
    if workers is None:
        workers = _workers_configured() or 0
    allowed = {"slot-%d" % i for i in range(workers)} | {"sessions"}
    v1, roots = cgroup_roots()
    out = []
    mem = os.path.join("/sys/fs/cgroup/memory/pyexec", INSTANCE)
    if v1 and not os.path.isdir(mem):
        out.append(("missing:" + mem, "cgroup dir %s does not exist (is "
                    "PYEXEC_INSTANCE=%r right?)" % (mem, INSTANCE)))
    for root in roots:
        try:
            entries = os.listdir(root)
        except OSError:
            continue
        for e in entries:
            p = os.path.join(root, e)
            if os.path.isdir(p) and e not in allowed:
                out.append((p, "unexpected cgroup dir " + p))
        p = os.path.join(root, "sessions")
        if os.path.isdir(p):
            # the keeper makes a few ahead (empty); one with a process is
            # a session still alive
            for e in os.listdir(p):
                d = os.path.join(p, e)
                if os.path.isdir(d) and any(_read(os.path.join(d, c,
                        "cgroup.procs")).strip() for c in ("run", "launcher")
                        if os.path.exists(os.path.join(d, c, "cgroup.procs"))):
                    out.append((d, "a live session's cgroup with processes "
                                "left: " + d))
    return out


def _unescape_mount(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def host_mounts():
    """[(mount point, root, fstype, source)] of the host (pytest's own mount
    namespace)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            try:
                sep = parts.index("-")
            except ValueError:
                continue
            out.append((_unescape_mount(parts[4]), _unescape_mount(parts[3]),
                        parts[sep + 1], _unescape_mount(parts[sep + 2])))
    return out


def mount_problems(known):
    """[(key, description)] for mounts that mention pyexec, sit in the
    checkout or the run dir, or are not in `known`."""
    out = []
    roots = [TOP] + ([RUN_DIR] if RUN_DIR else [])
    for m in host_mounts():
        mp, root, fstype, source = m
        text = " ".join(m).lower()
        why = None
        if "pyexec" in text:
            why = "mentions pyexec"
        elif any(mp == r or mp.startswith(r.rstrip("/") + "/") for r in roots):
            why = "inside the checkout or the run dir"
        elif known is not None and m not in known:
            why = "new since the baseline"
        if why:
            out.append((m, "host mount %s (root %s, %s from %s): %s"
                        % (mp, root, fstype, source, why)))
    return out


def marker_problems(token, extra_paths=()):
    """Files on the host whose name holds the token (they are removed once
    reported)."""
    out = []
    if not token:
        return out
    paths = set(extra_paths)
    for d in host_marker_dirs():
        paths.update(glob.glob(os.path.join(glob.escape(d), "*%s*" % token)))
        paths.update(glob.glob(os.path.join(glob.escape(d), ".*%s*" % token)))
    for p in sorted(paths):
        if os.path.lexists(p):
            out.append((p, "file left on the HOST: " + p))
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    import shutil
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
            except OSError:
                pass
    return out


# --------------------------------------------------------------- baselines

_SESSION = {"mounts": None}
_TEST = {}


def record_session_baseline():
    _SESSION["mounts"] = set(host_mounts())


def record_test_baseline():
    _TEST.clear()
    _TEST["procs"] = {pid for pid, _ in sandbox_processes()}
    _TEST["cgroups"] = {k for k, _ in cgroup_problems()}
    _TEST["mounts"] = set(host_mounts())


def clear_test_baseline():
    _TEST.clear()


def settle(within=10.0):
    """Wait (no assertion) for a ready service and for the sandbox uid range
    to empty, so that one test's aftermath does not spill into the next."""
    health_json(within=within)
    deadline = time.monotonic() + GRACE
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)


def host_problems(token=None, extra_paths=(), grace=GRACE, baseline=True):
    """Everything assert_host_clean() checks, as a list of strings."""
    use = _TEST if (baseline and _TEST) else {}
    problems = []

    j, resp = health_json(within=READY_WITHIN)
    healthy = j is not None and ph.healthy_and_ready(resp)
    if not healthy:
        problems.append("/health is not healthy with every worker alive and "
                        "every slot ready: " + show(resp, 1500))
    workers = None
    if j is not None:
        try:
            workers = int(j["workers"]["configured"])
        except (KeyError, TypeError, ValueError):
            pass

    skip = use.get("procs", set())
    deadline = time.monotonic() + grace
    while True:
        procs = [(p, d) for p, d in sandbox_processes(workers) if p not in skip]
        if not procs or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    for _, d in procs:
        problems.append("process in the sandbox uid range [%d, %d) on the "
                        "host after %.1f s: %s"
                        % (UID_BASE, UID_BASE + 2 * (workers or 0), grace, d))

    skip = use.get("cgroups", set())
    while True:     # an ended session's cgroup goes at the keeper's sweep
        cg = [d for k, d in cgroup_problems(workers) if k not in skip]
        if not cg or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    problems += cg

    known = use.get("mounts")
    if known is None:
        known = _SESSION["mounts"]
    problems += [d for _, d in mount_problems(known)]

    problems += [d for _, d in marker_problems(token, extra_paths)]
    return problems


def assert_host_clean(token=None, extra_paths=(), grace=GRACE, baseline=True):
    problems = host_problems(token, extra_paths, grace, baseline)
    assert not problems, "the host is not clean:\n  " + "\n  ".join(problems)


# ------------------------------------------------------ every slot probes

# A program that reports what a run finds in its slot: the contents of /tmp
# and /dev/shm and every other process it can see.  `extra` (Python source)
# may add keys to `report` before it is printed on a `PROBE {...}` line.
SLOT_PROBE = r'''
import json as _json, os as _os
report = {}
_me = _os.getpid()
for _d in ("/tmp", "/dev/shm", "/tmp/outputs"):
    try:
        report[_d] = sorted(_os.listdir(_d))
    except OSError as _e:
        report[_d] = "error: %s" % type(_e).__name__
report["cwd"] = _os.getcwd()
_procs = []
for _p in _os.listdir("/proc"):
    if _p.isdigit() and int(_p) not in (_me, 1):
        try:
            with open("/proc/%s/cmdline" % _p, "rb") as _f:
                _c = _f.read(200).replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            _c = "?"
        _procs.append([int(_p), _c])
report["procs"] = _procs
#EXTRA#
print("PROBE " + _json.dumps(report), flush=True)
'''


def slot_probe_code(extra=""):
    return SLOT_PROBE.replace("#EXTRA#", extra)


def probe_every_slot(code, hold=0.3, min_rounds=2, max_rounds=5, **fields):
    """Sends code to every slot: rounds of `workers` concurrent requests
    (each holds its worker for `hold` s after its work) until /health shows a
    new run in every slot, and at least `min_rounds` rounds (more requests
    than workers).  Returns the execution items."""
    before = slot_marks()
    n = len(before)
    assert n >= 1, before
    code = code + ("\n\nimport time as _pyexec_hold_t\n"
                   "_pyexec_hold_t.sleep(%r)\n" % hold)
    payload = {"code": code}
    payload.update(fields)
    http_timeout = float(fields.get("timeout", 5)) + 25
    results = []
    covered = set()
    for rnd in range(max_rounds):
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            futs = [pool.submit(ph.execute, payload, timeout=http_timeout)
                    for _ in range(n)]
            resps = [f.result() for f in futs]
        for r in resps:
            results.append(ph.assert_success(r))
        now = slot_marks()
        covered = {i for i, m in now.items() if m != before.get(i)}
        if rnd + 1 >= min_rounds and covered >= set(now):
            break
    assert covered >= set(slot_marks()), (
        "the probes did not reach every slot (covered %s of %d): %s"
        % (sorted(covered), n, show(slot_marks())))
    assert len(results) > n, (len(results), n)
    return results


def probe_results(exs, tag="PROBE"):
    out = []
    for ex in exs:
        assert ex["outcome"] == "completed", show(ex)
        r = result(ex, tag)
        assert isinstance(r, dict), show(ex)
        out.append(r)
    return out


def assert_slots_pristine(exs, names=()):
    """Every probe saw an empty /tmp and /dev/shm, no other process, and none
    of `names` (files it was told to look for)."""
    for r in probe_results(exs):
        # the runner makes an empty /tmp/outputs before the code runs
        assert r["/tmp"] == ["outputs"], (
            "a later run found files in /tmp: %s" % show(r))
        assert r["/tmp/outputs"] == [], (
            "a later run found files in /tmp/outputs: %s" % show(r))
        assert r["/dev/shm"] == [], (
            "a later run found files in /dev/shm: %s" % show(r))
        assert r["procs"] == [], (
            "a later run sees other processes: %s" % show(r))
        for name in names:
            assert r.get(name) in (None, False), show(r)
