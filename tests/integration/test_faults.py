"""Faults under steady load (tests/integration/faults.py is the harness):
a SIGKILLed worker, launcher, zygote pair and store, a launcher SIGSTOPped
for longer than a run's timeout, a slot's run cgroup removed from outside,
the model resetting mid-answer and stalling forever, the run directory's
file system full.  For each: only requests in flight on the victim fail,
each as documented (a JSON 5xx, or the run's own outcome); no request sent
later than a second after the fault fails; the victim comes back on its
own; nothing is left or grows (descriptors of the master, front, store and
guard; cgroups; mounts; processes of runs).  A SIGKILLed master is
test_scaleout's test_zz_sigkill_of_one_master_fails_only_its_requests
(another backend takes over; systemd restarts it: tests/systemd).  The
figures (how long the victim took to come back) are bench/faults'."""

import os

import pytest

import faults

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    s = faults.Stack()
    yield s
    s.down()


def _common(rep):
    why = "\n".join("%s: %s" % (k, v) for k, v in rep.items())
    assert rep["undocumented"] == [], why
    assert rep["failed_not_in_flight"] == [], why
    assert rep["failed"] <= rep["allowed"], why
    assert rep["service_s"] <= 1.0, why
    assert rep["after_fault"] >= 10, why
    assert rep["leaks"] == [], why
    return why


@pytest.mark.parametrize("name", ["worker", "launcher", "cgroup"])
def test_a_dead_part_of_a_slot_is_remade(stack, name):
    rep = faults.run(stack, name)
    why = _common(rep)
    assert rep["restarts"][0] >= 1 and rep["restarts"][1] == 0, why
    assert rep["slot_s"] is not None and 0 < rep["slot_s"] < 20, why
    if name == "cgroup":
        assert "was removed from outside: making it again" in stack.log_text(), why


def test_killed_zygotes_are_remade_while_runs_go_cold(stack):
    rep = faults.run(stack, "zygote")
    why = _common(rep)
    # the slot is not remade; a run in flight from a killed zygote dies
    # with it and is answered 500 (not an outcome of the code's own)
    assert rep["restarts"] == {0: 0, 1: 0}, why
    assert rep["failed"] <= 1, why
    assert "the data zygote ended (status 9)" in stack.log_text(), why


def test_a_launcher_stopped_past_a_runs_timeout_resumes(stack):
    rep = faults.run(stack, "stop")
    why = _common(rep)
    # shorter than the worker's backstop (timeout + 10 s): the slot
    # resumes as it was, its answers late by the stop
    assert rep["restarts"] == {0: 0, 1: 0}, why
    assert rep["slowest_s"] >= faults.STOP_SECONDS - 1.5, why


def test_a_killed_store_is_made_again_and_workspaces_go_on(stack):
    rep = faults.run(stack, "store")
    why = _common(rep)
    assert rep["restarts"] == {0: 0, 1: 0}, why
    store = [p for p in faults.children(stack.master)
             if faults.comm(p) == "pyexec-store"]
    assert len(store) == 1 and store[0] != rep["state"]["store"], why
    assert "the store %d ended" % rep["state"]["store"] in stack.log_text(), why


@pytest.mark.parametrize("mode,status,codes", [
    ("midreset", 502, {"llm_unavailable", "llm_bad_response"}),
    ("stall", 504, {"llm_timeout"})])
def test_a_misbehaving_model_gets_its_documented_error(stack, mode, status, codes):
    rep = faults.run(stack, "llm_" + mode)
    why = _common(rep)
    assert rep["failed"] == 0, why           # the other requests: untouched
    assert rep["bad_model_json"] and len(rep["bad_model"]) >= 2, why
    assert all(st == status and code in codes for st, code in rep["bad_model"]), why
    assert rep["restarts"] == {0: 0, 1: 0}, why


def test_a_full_run_directory_stops_no_run(stack):
    rep = faults.run(stack, "disk")
    why = _common(rep)
    assert rep["failed"] == 0 and rep["restarts"] == {0: 0, 1: 0}, why
    # a body nginx must buffer on disk: a JSON 500 from nginx, or served
    st, ctype = rep["state"]["big"]
    assert st in (200, 500) and ctype.startswith("application/json"), why
    assert rep["state"]["log_grew"], why


def test_a_run_whose_zygote_is_killed_is_answered_500_not_as_its_own_outcome(stack):
    """Deterministic: a pandas run (the data zygote) in flight when every
    data zygote is killed gets a JSON 500 internal_error, not an outcome
    ("signal") that would blame the code; the slot is not remade."""
    import threading
    import time
    view = faults.wait_steady()
    got = {}

    def long_run():
        got["r"] = faults.request("POST", "/v1/execute", {
            "code": "import pandas, time\ntime.sleep(3)\nprint(42)", "timeout": 10})

    t = threading.Thread(target=long_run)
    t.start()
    time.sleep(1.0)
    for s in view["slots"]:
        z = faults.zygotes(s["launcher_pid"])
        if "data" in z:
            faults.os.kill(z["data"], faults.signal.SIGKILL)
    t.join(30)
    st, ctype, body = got["r"]
    res = {"status": st, "ctype": ctype, "body": body}
    assert faults.json_error(res, (500,)), faults.show(dict(res, kind="long", sent=0, done=0))
    assert faults.error_code(res) == "internal_error", body
    after = faults.wait_steady()
    assert [s["restarts"] for s in after["slots"]] == [s["restarts"] for s in view["slots"]]
    assert "the run's zygote died under it" in stack.log_text()


def test_a_run_cannot_fake_its_zygotes_death(stack):
    """The attacker's side of PROTO_DONE_LOST: a warm run that signals
    every process it can name (its init, its parent, -1, the zygote's and
    launcher's pids guessed in its namespace) and then dies of SIGKILL
    itself gets its own outcome, not the 500 of a lost run; the slot's
    zygotes and launcher are the same afterwards."""
    view = faults.wait_steady()
    before = {s["id"]: faults.zygotes(s["launcher_pid"]) for s in view["slots"]}
    lost = stack.log_text().count("the run's zygote died under it")
    code = ("import os, signal, pandas\n"
            "me = os.getpid()\n"
            "for p in [1, os.getppid(), -1] + [q for q in range(2, 64) if q != me]:\n"
            "    for s in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):\n"
            "        try:\n"
            "            os.kill(p, s)\n"
            "        except OSError:\n"
            "            pass\n"
            "print('still here', flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    # both slots' zygotes proved (a zygote remade by an earlier test is
    # proved after the run that found it new, which runs cold)
    import time
    deadline, streak = time.monotonic() + 30, 0
    while streak < 4 and time.monotonic() < deadline:
        ex = faults.execution(dict(zip(("status", "ctype", "body"), faults.request(
            "POST", "/v1/execute", faults.DATA))))
        streak = streak + 1 if ex.get("warm") else 0
    assert streak >= 4, "the runs did not start warm again"
    warm = 0
    for _ in range(6):
        st, ctype, body = faults.request("POST", "/v1/execute", {"code": code, "timeout": 10})
        res = {"status": st, "ctype": ctype, "body": body}
        ex = faults.execution(res)
        assert st == 200, body
        assert ex["outcome"] == "signal" and ex["signal"] == "SIGKILL", body
        assert ex["stdout"] == "still here\n", body
        warm += ex.get("warm") is True
    assert warm >= 4, "the attack must run from the zygotes: %d of 6 warm" % warm
    after = faults.wait_steady()
    assert [s["restarts"] for s in after["slots"]] == [s["restarts"] for s in view["slots"]]
    assert [s["launcher_pid"] for s in after["slots"]] == [s["launcher_pid"] for s in view["slots"]]
    assert {s["id"]: faults.zygotes(s["launcher_pid"]) for s in after["slots"]} == before
    assert stack.log_text().count("the run's zygote died under it") == lost


def test_a_worker_killed_mid_session_call_ends_the_session(stack):
    """The worker of a live session's call dies under it (the master makes
    its slot again): the session it held is ended, never lent again with
    the cut call's answer still on its channel; the service goes on."""
    import signal
    import threading
    import time
    import private_stack as ps
    L, K = faults.LISTEN, faults.KEY
    st, j, _ = ps.request(L, "POST", "/v1/sessions", {"session_id": "cut"}, key=K)
    assert st == 201, (st, j)
    st, j, _ = ps.request(L, "POST", "/v1/sessions/cut/execute",
                          {"code": "v = 1"}, key=K)
    assert st == 200, (st, j)
    out = {}

    def slow():
        try:
            out["r"] = ps.request(L, "POST", "/v1/sessions/cut/execute",
                                  {"code": "import time\ntime.sleep(20)",
                                   "timeout": 25}, key=K)
        except OSError as e:            # the connection may just close
            out["e"] = e

    th = threading.Thread(target=slow)
    th.start()
    victim, deadline = None, time.monotonic() + 10
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.2)
        busy = [s for s in (faults.health(K)[1] or {}).get("slots", [])
                if s.get("state") == "busy"]
        if busy:
            victim = busy[0]["worker_pid"]
    assert victim, "no busy worker seen"
    os.kill(victim, signal.SIGKILL)
    th.join(30)
    assert "r" not in out or out["r"][0] >= 500, out
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st, j, _ = ps.request(L, "POST", "/v1/sessions/cut/execute",
                              {"code": "v"}, key=K)
        if st != 503:
            break
        time.sleep(0.5)
    assert st == 404, (st, j)
    ex = ps.execute(L, K, "print(2)")
    assert ex["stdout"] == "2\n", ex
