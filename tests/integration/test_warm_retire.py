"""Warm interpreters are retired (issue 24, item 11): every run forked from
a zygote shares its address layout, stack canary, pointer guard and str
hash secret, so a zygote serves at most PYEXEC_WARM_MAX_RUNS runs and
PYEXEC_WARM_MAX_AGE seconds, then a new one replaces it in the background
while the other zygote or the cold path serves.

Each run reports its zygote's fingerprint: the address of sys.modules
(made at python's start, on its heap), of libc's printf (the libraries'
mmap base), and hash('x') (the str hash secret; PYTHONHASHSEED is not
set).  (Not id(None): Debian's python3 is not a PIE, so its own image
lies at the same address in every process, warm or cold.)  Forks of one zygote share all three; a new zygote, or a cold run,
has others.

Private stacks with one worker: 127.0.0.1:18783 (PYEXEC_WARM_MAX_RUNS=3)
and 127.0.0.1:18784 (PYEXEC_WARM_MAX_AGE=3, no data zygote)."""

import os
import re
import time

import pytest

import private_stack as private

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow

KEY = "retire-key-1"
RUNS = {"listen": "127.0.0.1:18783", "instance": "wretire", "uid": 67540}
AGE = {"listen": "127.0.0.1:18784", "instance": "wretireage", "uid": 67560}
MAX_RUNS = 3
MAX_AGE = 3

# Not a whole word of PYEXEC_PRELOAD: the bare zygote's, when it is ready.
# Whether pandas is there is asked before any import of the code.
FINGERPRINT = (
    "import sys\n"
    "preloaded = 'pan' + 'das' in sys.modules\n"
    "%s"
    "import ctypes\n"
    "libc = ctypes.CDLL(None)\n"
    "print(id(sys.modules), ctypes.cast(libc.printf, ctypes.c_void_p).value,"
    " hash('x'), preloaded%s)\n")
BARE_FINGERPRINT = FINGERPRINT % ("", "")
# The same, naming pandas: the data zygote's.
DATA_FINGERPRINT = FINGERPRINT % ("import pandas\n", "")
# ... and what a run must find fresh though the zygote made it.
SECRETS = FINGERPRINT % (
    "import pandas, random, multiprocessing\n",
    ", multiprocessing.current_process().authkey.hex(), random.random()")


def _req(listen, method, path, body=None, timeout=60):
    return private.request(listen, method, path, body, key=KEY, timeout=timeout,
                           text=True)[:2]


def _run(s, code):
    """(where, fingerprint, seconds the request took): where is "cold",
    "bare" or "data"; every run must complete."""
    t0 = time.monotonic()
    status, j = _req(s["listen"], "POST", "/v1/execute", {"code": code})
    took = time.monotonic() - t0
    assert status == 200, (status, j)
    ex = [i for i in j["response"] if i["type"] == "execution"][0]
    assert ex["outcome"] == "completed", ex
    ida, libc, h, data, *extra = ex["stdout"].split()
    where = "cold" if not ex["warm"] else ("data" if data == "True" else "bare")
    return where, (int(ida), int(libc), int(h)), took, extra


def _slot(s):
    status, j = _req(s["listen"], "GET", "/health")
    assert status == 200, j
    return j["slots"][0]


def _zygote_pids(s):
    """{"bare": host pid, "data": host pid} of the stack's one slot."""
    return private.zygotes(_slot(s)["launcher_pid"])


def _retirements(s):
    """pyexec_zygote_retirements_total by zygote, from /metrics."""
    status, text = _req(s["listen"], "GET", "/metrics")
    assert status == 200, text
    out = {}
    for m in re.finditer(r'^pyexec_zygote_retirements_total\{zygote="(\w+)"\} '
                         r'(\d+)$', text, re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def _log(run_dir):
    with open(os.path.join(run_dir, "pyexec.log"), errors="replace") as f:
        return f.read()


def _up(s, settings):
    env = {"PYEXEC_LISTEN": s["listen"], "PYEXEC_API_KEYS": KEY,
           "PYEXEC_INSTANCE": s["instance"], "PYEXEC_UID_BASE": str(s["uid"]),
           "PYEXEC_WORKERS": "1"}
    env.update(settings)
    return private.up(env, "pyexec-%s-" % s["instance"])


def _until(s, code, where, within=90):
    """Runs code until it runs in `where` (the zygote is up and proved);
    returns the runs made, the last one from there."""
    seen = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen.append(_run(s, code))
        if seen[-1][0] == where:
            return seen
        time.sleep(0.2)
    pytest.fail("no run from the %s zygote in %d s: %r" % (where, within, seen))


@pytest.fixture(scope="module")
def by_runs():
    env, run_dir, _ = _up(RUNS, {
        "PYEXEC_WARM_MAX_RUNS": str(MAX_RUNS), "PYEXEC_WARM_MAX_AGE": "3600",
        "PYEXEC_PRELOAD": "numpy,pandas,matplotlib,multiprocessing"})
    yield {"run_dir": run_dir}
    private.down(env, run_dir)
    private.rm_cgroups(RUNS["instance"])


def _per_zygote(runs):
    """{fingerprint: [where, how many runs]} of the warm runs."""
    out = {}
    for where, fp, _, _ in runs:
        if where != "cold":
            out.setdefault(fp, [where, 0])[1] += 1
    return out


def test_a_zygote_serves_max_runs_then_a_new_one_does(by_runs):
    runs = _until(RUNS, BARE_FINGERPRINT, "bare")
    first, pid = runs[-1][1], _zygote_pids(RUNS)["bare"]
    # The first bare zygote has served one of ours (the self-test's runs
    # are not counted); two more, and it is retired.
    for _ in range(MAX_RUNS - 1):
        runs.append(_run(RUNS, BARE_FINGERPRINT))
        assert runs[-1][:2] == ("bare", first), runs
    # The next run cannot come from it: it comes from the data zygote
    # (proved, and any code runs there) or cold while its successor
    # imports (or from that one, were it proved by now).
    runs.append(_run(RUNS, BARE_FINGERPRINT))
    assert runs[-1][1] != first, runs
    runs += _until(RUNS, BARE_FINGERPRINT, "bare")
    second = runs[-1][1]
    assert _zygote_pids(RUNS)["bare"] != pid and not os.path.exists(
        "/proc/%d" % pid), pid
    # A new interpreter: another address layout for python and libc,
    # another str hash secret.
    for a, b, what in zip(first, second, ("id(sys.modules)", "printf",
                                           "hash('x')")):
        assert a != b, (what, first, second)
    # No zygote served more than its runs, and the first one none after.
    for fp, (where, n) in _per_zygote(runs).items():
        assert n <= MAX_RUNS, (fp, where, n, runs)
    assert sum(1 for r in runs if r[1] == first) == MAX_RUNS, runs
    slot = _slot(RUNS)
    assert slot["zygote_retirements"] >= 1, slot
    assert _retirements(RUNS).get("bare", 0) >= 1, _retirements(RUNS)
    assert "the bare zygote is retired after %d runs" % MAX_RUNS in \
        _log(by_runs["run_dir"])


def test_a_retired_data_zygote_keeps_no_request_waiting(by_runs):
    # The data zygote imports numpy, pandas and matplotlib: seconds.  The
    # run after its last one is served at once, by the bare zygote or
    # cold, while its successor still imports.
    runs = _until(RUNS, DATA_FINGERPRINT, "data")
    first = runs[-1][1]
    while True:
        runs.append(_run(RUNS, DATA_FINGERPRINT))
        if runs[-1][1] != first:
            break
        assert len(runs) < 20, runs
    # Answered, and the new data zygote is still importing: the request
    # did not wait for it, the bare zygote (or the cold path) took it.
    state = _slot(RUNS)["warm"]["data"]
    assert sum(1 for r in runs if r[1] == first) <= MAX_RUNS, runs
    assert runs[-1][0] in ("bare", "cold"), runs
    assert state == "starting", (state, runs)
    runs += _until(RUNS, DATA_FINGERPRINT, "data")
    assert runs[-1][1] != first
    for fp, (w, n) in _per_zygote(runs).items():
        assert n <= MAX_RUNS, (fp, w, n, runs)
    assert _retirements(RUNS).get("data", 0) >= 1, _retirements(RUNS)
    assert "the data zygote is retired after %d runs" % MAX_RUNS in \
        _log(by_runs["run_dir"])


def test_two_runs_of_one_zygote_share_no_secret_it_made(by_runs):
    # multiprocessing makes its connections' key at import (preloaded
    # here), random seeds itself: a run gets both fresh, as a cold one.
    runs = _until(RUNS, SECRETS, "data")
    runs.append(_run(RUNS, SECRETS))
    while len(runs) < 30 and not (runs[-1][0] == runs[-2][0] == "data" and
                                  runs[-1][1] == runs[-2][1]):
        runs.append(_run(RUNS, SECRETS))
    a, b = runs[-2], runs[-1]
    assert a[1] == b[1] and a[0] == "data", runs
    assert a[3][0] != b[3][0], (a, b)          # the authkey
    assert a[3][1] != b[3][1], (a, b)          # random.random()


def test_a_zygote_is_retired_at_its_age():
    env, run_dir, _ = _up(AGE, {"PYEXEC_WARM_MAX_AGE": str(MAX_AGE),
                                "PYEXEC_PRELOAD": ""})
    try:
        runs = _until(AGE, BARE_FINGERPRINT, "bare")
        first, seen_at = runs[-1][1], time.monotonic()
        # Ready before we saw it: retired MAX_AGE s after that, at the
        # latest.  No run that starts later may come from it.
        time.sleep(MAX_AGE + 0.5)
        later = [_run(AGE, BARE_FINGERPRINT)]
        later += _until(AGE, BARE_FINGERPRINT, "bare")
        assert time.monotonic() - seen_at > MAX_AGE
        assert all(r[1] != first for r in later), (first, later)
        assert later[-1][1] != first
        assert "the bare zygote is retired after" in _log(run_dir)
        assert _retirements(AGE).get("bare", 0) >= 1
    finally:
        private.down(env, run_dir)
        private.rm_cgroups(AGE["instance"])
