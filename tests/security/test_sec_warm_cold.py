"""A warm run ends in the cold run's state (issue 24, item 12).

The same probe (state_probe.py: ids, groups, every capability set,
no_new_privs, seccomp mode and filters, dumpable, rlimits, fds, cwd, umask,
the signal mask and every disposition, personality, securebits, the
parent-death signal, what /proc shows, the environment, mounts, host name,
cgroup, python's own flags and paths, the policy's answers) runs on two
private stacks that differ only in PYEXEC_WARM: once cold, and warm from
each zygote (bare, data).  Every field must be equal, but for those listed
in LEGITIMATE with the reason they differ.

The stacks are private (one worker each, 127.0.0.1:18781 warm and
127.0.0.1:18782 cold, their own uids and cgroup instances), so that the
comparison does not depend on the shared stack's mode, and the warm one
is known to be warm."""

import json
import os
import re
import signal
import time

import pytest

import private_stack as private

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "warm-cold-key-1"
WARM = {"listen": "127.0.0.1:18781", "instance": "wcwarm", "uid": 67500}
COLD = {"listen": "127.0.0.1:18782", "instance": "wccold", "uid": 67520}

# Fields that may differ, and why.  Nothing else may.
LEGITIMATE = {
    # The zygote's command line (its python was started with --zygote
    # and the modules it preloads): what sys.modules shows the run anyway,
    # and /health says to anyone.  The host's tools find zygotes by it.
    "proc_self_cmdline": "the zygote's argv: --zygote MODULES",
    # The kernel's "forked but did not exec" flag of the process: a warm
    # run is a fork that returns into python instead of an exec of it.
    "stat_flags_forknoexec": "a fork, not an exec",
}


def _req(listen, method, path, body=None, timeout=60):
    return private.request(listen, method, path, body, key=KEY, timeout=timeout)[:2]


def _exec(listen, code):
    return private.execute(listen, KEY, code, timeout=20)


def _up(s, warm):
    return private.up({
        "PYEXEC_LISTEN": s["listen"], "PYEXEC_API_KEYS": KEY,
        "PYEXEC_INSTANCE": s["instance"], "PYEXEC_UID_BASE": str(s["uid"]),
        "PYEXEC_WORKERS": "1", "PYEXEC_WARM": "1" if warm else "0"},
        "pyexec-%s-" % s["instance"])


@pytest.fixture(scope="module")
def stacks():
    up = []
    try:
        for s, warm in ((WARM, True), (COLD, False)):
            env, run_dir, _ = _up(s, warm)
            up.append((env, run_dir, s["instance"]))
        yield
    finally:
        for env, run_dir, instance in up:
            private.down(env, run_dir)
            private.rm_cgroups(instance)


def _relative_ids(state, base):
    """Host uids and gids in mount options, as offsets from the stack's
    PYEXEC_UID_BASE (the two stacks have their own)."""
    def rel(m):
        return "%s=base+%d" % (m.group(1), int(m.group(2)) - base)
    state["mounts"] = [m[:5] + [re.sub(r"\b(uid|gid)=(\d+)", rel, m[5])]
                       for m in state["mounts"]]
    return state


def _probe(s, data=False):
    with open(os.path.join(HERE, "state_probe.py")) as f:
        code = f.read()
    if data:
        code = "import numpy  # the data zygote's\n" + code
    ex = _exec(s["listen"], code)
    assert ex["outcome"] == "completed", ex
    lines = [l for l in ex["stdout"].splitlines() if l.startswith("STATE ")]
    assert len(lines) == 1, ex
    return ex, _relative_ids(json.loads(lines[0][6:]), s["uid"])


def _diff(warm, cold):
    keys = sorted(set(warm) | set(cold))
    return {k: {"warm": warm.get(k), "cold": cold.get(k)} for k in keys
            if k not in LEGITIMATE and not k.startswith("_") and
            warm.get(k) != cold.get(k)}


@pytest.mark.slow
@pytest.mark.parametrize("zygote", ["bare", "data"])
def test_a_warm_run_starts_in_the_cold_runs_state(stacks, zygote):
    exc, cold = _probe(COLD, data=zygote == "data")
    assert exc["warm"] is False, exc
    exw, warm = _probe(WARM, data=zygote == "data")
    assert exw["warm"] is True, exw
    assert warm["_pandas_there"] == (zygote == "data"), exw
    d = _diff(warm, cold)
    assert d == {}, "\n".join("%s:\n warm %s\n cold %s" % (
        k, json.dumps(v["warm"]), json.dumps(v["cold"])) for k, v in d.items())


def test_the_fields_that_matter_most_hold_their_cold_values(stacks):
    # Not only equal: what the review found different, with its value.
    _, cold = _probe(COLD)
    _, warm = _probe(WARM)
    for s in (cold, warm):
        assert s["dumpable"] == 1, s["dumpable"]
        assert s["status_Seccomp"] == "2", s
        assert s["status_Seccomp_filters"] == "1", s["status_Seccomp_filters"]
        assert s["no_new_privs"] == 1
        assert s["status_CapEff"] == "0000000000000000"
        assert isinstance(s["proc_self_environ"], list), s["proc_self_environ"]
        assert s["child"][1:] == [True, True, True, True], s["child"]


def _keeper(s):
    """The host pid of the stack's keeper: the launcher's child that runs
    the launcher's program and waits on a signalfd (the spawner, its other
    such child, has none).  It lives beside the launcher in the slot's
    launcher/ memory cgroup, out of the runs' (issue 24: in run/ the OOM
    killer chose it when every process of a run was smaller)."""
    status, j = _req(s["listen"], "GET", "/health")
    assert status == 200, j
    launcher = j["slots"][0]["launcher_pid"]
    with open("/proc/%d/task/%d/children" % (launcher, launcher)) as f:
        kids = [int(k) for k in f.read().split()]
    for k in kids:
        try:
            with open("/proc/%d/comm" % k) as f:
                if f.read().strip() != "pyexec-launcher":
                    continue
            fds = [os.readlink("/proc/%d/fd/%s" % (k, fd))
                   for fd in os.listdir("/proc/%d/fd" % k)]
            with open("/proc/%d/cgroup" % k) as f:
                mem = [l for l in f.read().splitlines() if ":memory:" in l]
        except OSError:
            continue                    # gone meanwhile
        if "anon_inode:[signalfd]" in fds:
            assert mem and mem[0].endswith("/launcher"), (k, mem)
            return k
    return None


@pytest.mark.slow
def test_a_keeper_made_again_starts_cold_runs_with_one_filter(stacks):
    # The first keeper was forked before the launcher's own policy, a
    # keeper made again (the OOM killer may pick it) after it: its runs
    # carried two filters.  Now every keeper comes from the spawner.
    first = _keeper(COLD)
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.time() + 20
    while time.time() < deadline:
        again = _keeper(COLD)
        if again not in (None, first):
            break
        time.sleep(0.2)
    else:
        pytest.fail("no keeper came back")
    ex, cold = _probe(COLD)
    assert ex["warm"] is False, ex
    assert cold["status_Seccomp_filters"] == "1", cold["status_Seccomp_filters"]
    assert _keeper(COLD) == again
