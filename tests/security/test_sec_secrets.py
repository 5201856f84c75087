"""The LLM key is held only where it is used (docs/security.md, "Secrets").

The stack's LLM key ($PYEXEC_TEST_LLM_KEY, given to the master as
PYEXEC_LLM_API_KEY) must be in the memory of the master (it forks the
workers again when they die) and of the workers (they call the model), and
nowhere else: not in any process's /proc/PID/environ, not in the memory of
the front, the guard, the store, the launchers, keepers, zygotes and runs,
nor of nginx; a run never sees it.  The master and the root helpers are not
dumpable (no core file; a root process without CAP_SYS_PTRACE cannot read
them) and dump no core (RLIMIT_CORE 1: the one value that also stops a
core_pattern pipe).

The processes are found by walking the tree from PYEXEC_MASTER_PID (every
descendant, in any namespace: the host's /proc shows them all) plus nginx
($PYEXEC_RUN_DIR/nginx/nginx.pid and its workers).  Memory is read as root
through /proc/PID/mem, writable mappings only (heap, stack, data, anonymous
and shared mappings: a key read at run time can be nowhere else).
"""

import base64
import concurrent.futures
import json
import os
import signal
import subprocess
import time

import pytest

import llm_helpers as lh
import pyexec_http as ph
import sec_helpers as sh

CHUNK = 1 << 20


def _key():
    key = os.environ.get("PYEXEC_TEST_LLM_KEY") or ""
    if not key:
        pytest.fail("PYEXEC_TEST_LLM_KEY is not set: the stack's LLM key "
                    "(tests/run exports it)")
    return key.encode()


def _master():
    return int(os.environ[ph.ENV_MASTER_PID])


def _children():
    """{ppid: [pid, ...]} of every process of the host."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree(root):
    kids, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _nginx():
    path = os.path.join(os.environ.get(ph.ENV_RUN_DIR) or "", "nginx",
                        "nginx.pid")
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return _tree(pid)


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def _environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _mem_holds(pid, needle):
    """True when a writable mapping of pid holds needle; None when the
    process is gone."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            maps = f.read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
    except (FileNotFoundError, ProcessLookupError):
        return None
    with mem:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if fields[1][:2] != "rw" or (len(fields) > 5 and
                                          fields[5].startswith("[v")):
                continue
            tail = b""
            for at in range(lo, hi, CHUNK):
                try:
                    mem.seek(at)
                    data = mem.read(min(CHUNK, hi - at))
                except OSError:
                    break
                if needle in tail + data:
                    return True
                tail = data[-(len(needle) - 1):]
    return False


def _roles():
    """{pid: role} of the stack's processes (master, worker, launcher,
    guard, store, front, and what the launchers fork), runs included."""
    master = _master()
    j, resp = sh.health_json()
    assert j is not None, sh.show(resp)
    workers = {s["worker_pid"] for s in j["slots"]}
    launchers = {s["launcher_pid"] for s in j["slots"]}
    kids = _children()
    roles = {master: "master"}
    for pid in kids.get(master, []):
        if pid in workers:
            roles[pid] = "worker"
        elif pid in launchers:
            roles[pid] = "launcher"
        elif _comm(pid) in ("pyexec-guard", "pyexec-store"):
            roles[pid] = _comm(pid)[len("pyexec-"):]
        else:
            roles[pid] = "front"
    for pid in [p for p in roles if p != master]:
        for sub in _tree(pid)[1:]:
            roles.setdefault(sub, "%s's %s" % (roles[pid], _comm(sub)))
    for pid in _nginx():
        roles[pid] = "nginx"
    assert {"front", "guard", "worker", "launcher"} <= set(roles.values()), roles
    return roles


def _with_a_run(fn):
    """fn() while a run sleeps in a slot (so a run's process is walked too)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(ph.execute, {"code": "import time\ntime.sleep(3)\n"
                                       "print('slept')"}, timeout=30)
        time.sleep(1.0)
        try:
            return fn()
        finally:
            ph.assert_success(fut.result())


@pytest.mark.slow
def test_no_process_of_the_stack_shows_the_key_in_its_environment():
    key = _key()

    def scan():
        roles = _roles()
        found = {"%d (%s)" % (p, r) for p, r in roles.items()
                 if key in _environ(p)}
        return roles, found
    roles, found = _with_a_run(scan)
    assert any(" run" in r or "python" in r or "zygote" in r
               for r in roles.values()) or len(roles) > 10, roles
    assert not found, "the LLM key is in /proc/PID/environ of " + ", ".join(
        sorted(found))


@pytest.mark.slow
def test_only_the_master_and_the_workers_hold_the_key_in_memory():
    key = _key()

    def scan():
        roles = _roles()
        held = {}
        for pid, role in roles.items():
            if _mem_holds(pid, key):
                held[pid] = role
        return roles, held
    roles, held = _with_a_run(scan)
    # Positive control: the reading works (the master keeps the key to
    # fork workers again; every worker calls the model).
    assert held.get(_master()) == "master", \
        "the master's memory does not show the key: the scan is blind"
    workers = [p for p, r in roles.items() if r == "worker"]
    assert all(held.get(p) == "worker" for p in workers), (workers, held)
    others = {"%d (%s)" % (p, r) for p, r in held.items()
              if r not in ("master", "worker")}
    assert not others, "the LLM key is in the memory of " + ", ".join(
        sorted(others))


def test_a_run_never_sees_the_key():
    key = _key()
    ex = sh.run(
        "import os, json, base64\n"
        "seen = {'os.environ': json.dumps(dict(os.environ)).encode()}\n"
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit() or p == 'self':\n"
        "        try:\n"
        "            seen[p] = open('/proc/%s/environ' % p, 'rb').read()\n"
        "        except OSError as e:\n"
        "            seen[p] = type(e).__name__.encode()\n"
        "print('RESULT', json.dumps({k: base64.b64encode(v).decode()\n"
        "                            for k, v in seen.items()}))\n")
    seen = sh.result(ex)
    assert seen is not None and "self" in seen, sh.show(ex)
    for name, val in seen.items():
        assert key not in base64.b64decode(val), \
            "a run sees the LLM key in " + name


def _limits_core(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                soft, hard = line.split()[4:6]
                return soft, hard
    return None


def test_no_process_of_the_stack_may_dump_core():
    """RLIMIT_CORE 1 for the master and all it forks, whatever started it
    (the unit's LimitCORE=1, or spawn-fcgi from a shell): 1, not 0, since
    with a core_pattern pipe the kernel ignores the limit but for 1."""
    roles = _roles()
    bad = {}
    for pid, role in roles.items():
        if role == "nginx":
            continue
        try:
            lim = _limits_core(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if lim is not None and lim not in (("0", "0"), ("0", "1"), ("1", "1")):
            bad["%d (%s)" % (pid, role)] = lim
    assert not bad, "RLIMIT_CORE (soft, hard) above 1: %r" % bad


CAP_SYS_PTRACE = 19


def _bounding_set(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    raise AssertionError("no CapBnd in /proc/%d/status" % pid)


def _setpriv(bset):
    """setpriv's prefix that runs a root process with bounding set bset
    (and so, as root, with exactly those capabilities)."""
    caps = ",".join("+cap_%d" % i for i in range(64) if bset >> i & 1)
    return ["setpriv", "--bounding-set=-all" + ("," + caps if caps else ""),
            "--"]


def _opens_mem(prefix, pid):
    """Whether a root process run with prefix may open /proc/PID/mem (the
    ptrace access check of a reader)."""
    p = subprocess.run(prefix + ["head", "-c", "0", "/proc/%d/mem" % pid],
                       capture_output=True, timeout=10)
    return p.returncode == 0, p.stderr.decode(errors="replace")


def test_the_master_and_the_root_helpers_are_not_dumpable():
    """Run with the unit's bounding set (no CAP_SYS_PTRACE: scripts/dev
    starts the backend under it too), the master, the guard and the store
    are not dumpable: a root process with the same capabilities may not
    read their memory, while it reads a dumpable one's."""
    roles = _roles()
    master = _master()
    bset = _bounding_set(master)
    assert not bset >> CAP_SYS_PTRACE & 1, (
        "the master runs with CAP_SYS_PTRACE in its bounding set (%x): not "
        "the unit's CapabilityBoundingSet=" % bset)
    prefix = _setpriv(bset)
    # Positive control: the same reader opens a dumpable root process's
    # memory when it has the same capabilities.
    other = subprocess.Popen(prefix + ["sleep", "30"])
    try:
        time.sleep(0.2)
        ok, why = _opens_mem(prefix, other.pid)
        assert ok, "the reader cannot read a dumpable peer: " + why
    finally:
        other.kill()
        other.wait()
    readable = []
    for pid, role in roles.items():
        if role not in ("master", "guard", "store"):
            continue
        assert _bounding_set(pid) == bset, (pid, role)
        ok, why = _opens_mem(prefix, pid)
        if ok:
            readable.append("%d (%s)" % (pid, role))
        else:
            assert "ermission denied" in why or "not permitted" in why, why
    assert not readable, ("a root process with the master's capabilities "
                          "reads the memory of " + ", ".join(readable) +
                          ": not PR_SET_DUMPABLE 0")


def test_a_worker_forked_again_still_has_the_key():
    """The master keeps the key for the workers it forks after a death
    (and only for them): a new worker calls the model with it."""
    lh.require_env()
    j, resp = sh.health_json()
    assert j is not None, sh.show(resp)
    before = {s["id"]: s["worker_pid"] for s in j["slots"]}
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        j, resp = sh.health_json(within=1)
        if j and ph.healthy_and_ready(resp) and \
                j["slots"][0]["worker_pid"] not in (victim, None):
            break
        time.sleep(0.2)
    else:
        pytest.fail("slot 0's worker was not forked again: " + sh.show(j))
    # Its memory holds the key again, and the model is called with it.
    assert _mem_holds(j["slots"][0]["worker_pid"], _key()), \
        "the worker forked again has no LLM key"
    tok = lh.token()
    resp = lh.generate({"query": lh.query("json", tok)}, timeout=60)
    assert resp.status == 200, ph.show(resp)
    recs = lh.fake_records(tok)
    assert recs, "the model got no call"
    lh.assert_chat_request(recs[-1])


def _backend_secret():
    path = os.environ.get("PYEXEC_BACKEND_SECRET_FILE") or os.path.join(
        os.environ.get(ph.ENV_RUN_DIR) or "", "backend-secret")
    try:
        with open(path) as f:
            hexa = f.readline().strip()
    except OSError as e:
        pytest.fail("no backend secret at %s (%s): scripts/dev up makes it"
                    % (path, e))
    assert len(hexa) == 64, "not a backend secret: " + path
    return hexa.encode()


def test_the_backend_secret_is_only_where_it_is_checked():
    """The other secret of the stack (nginx's proof, trust.c): the front
    and the workers check it, so they and the master hold it; the guard
    and the store drop their copy at the fork, and no environment holds
    it."""
    secret = _backend_secret()
    roles = _roles()
    held, env = {}, []
    for pid, role in roles.items():
        if role == "nginx":
            continue                      # nginx sends it: its own config
        if _mem_holds(pid, secret):
            held[pid] = role
        if secret in _environ(pid):
            env.append("%d (%s)" % (pid, role))
    assert not env, "the backend secret is in the environment of %r" % env
    for role in ("master", "front", "worker"):
        pids = [p for p, r in roles.items() if r == role]
        assert pids and all(p in held for p in pids), (role, pids, held)
    others = {"%d (%s)" % (p, r) for p, r in held.items()
              if r not in ("master", "front", "worker")}
    assert not others, "the backend secret is in the memory of " + ", ".join(
        sorted(others))
