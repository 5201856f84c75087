"""GET /health: no key needed for the status; with a key, the details."""

import pyexec_http as ph


def test_health_without_key_shows_no_pids_and_no_checks():
    ph.wait_for_health(ph.healthy_and_ready, within=15)
    resp = ph.health(auth=None)
    assert resp.status == 200, ph.show(resp)
    j = resp.json
    assert j["status"] == "healthy", ph.show(j)
    assert j["workers"]["alive"] == j["workers"]["configured"], ph.show(j)
    for s in j["slots"]:
        assert set(s) == {"id", "state", "warm"}, ph.show(s)
        assert set(s["warm"]) == {"bare", "data", "preloaded"}, ph.show(s)
    assert set(j["selftest"]) == {"ok", "age_ms"}, ph.show(j)
    assert "python" not in j and "cgroup" not in j, ph.show(j)
    # No number that could be a host pid anywhere in the answer.
    assert "pid" not in resp.text, ph.show(resp)


def test_health_with_key_is_detailed():
    resp = ph.wait_for_health(ph.healthy_and_ready, within=15)
    assert resp is not None, "no answer from /health"
    assert resp.status == 200, ph.show(resp)
    ph.assert_json_content_type(resp)
    j = resp.json
    assert isinstance(j, dict), ph.show(resp)
    assert j["status"] == "healthy", ph.show(j)
    assert isinstance(j.get("version"), str) and j["version"], ph.show(j)
    assert "reason" not in j or not j["reason"], ph.show(j)

    workers = j["workers"]
    assert isinstance(workers["configured"], int), ph.show(j)
    assert workers["configured"] >= 1, ph.show(j)
    assert workers["alive"] == workers["configured"], ph.show(j)

    slots = j["slots"]
    assert isinstance(slots, list), ph.show(j)
    assert len(slots) == workers["configured"], ph.show(j)
    assert sorted(s["id"] for s in slots) == list(range(len(slots))), ph.show(j)
    pids = set()
    for s in slots:
        assert isinstance(s["worker_pid"], int) and s["worker_pid"] > 1, ph.show(s)
        assert isinstance(s["launcher_pid"], int) and s["launcher_pid"] > 1, ph.show(s)
        assert s["state"] == "ready", ph.show(s)
        assert isinstance(s["runs"], int) and s["runs"] >= 0, ph.show(s)
        assert isinstance(s["restarts"], int) and s["restarts"] >= 0, ph.show(s)
        pids.add(s["worker_pid"])
    assert len(pids) == len(slots), "worker pids not distinct: " + ph.show(j)


def test_health_with_key_also_works():
    resp = ph.request("GET", "/health")
    assert resp.status == 200, ph.show(resp)
    ph.assert_json_content_type(resp)
    assert resp.json["status"] == "healthy", ph.show(resp)


def test_health_does_not_reveal_key():
    resp = ph.health()
    assert ph.key().encode() not in resp.body
    assert ph.key2().encode() not in resp.body


SELFTEST_CHECKS = {"uid_not_root", "no_capabilities", "no_new_privs",
                   "seccomp_active", "no_network", "no_route", "root_read_only",
                   "tmp_writable", "host_hidden", "memory_limit_enforced",
                   "launcher_outside_run_cgroup",
                   # a run in the slot's own workspace, on each path
                   "workspace_mounted",
                   # the probes pass cold and on each zygote (warm mode)
                   "cold_walls", "warm_bare_walls", "warm_data_walls"}


def test_health_reports_the_sandbox_self_test():
    resp = ph.health()
    assert resp.status == 200, ph.show(resp)
    st = resp.json["selftest"]
    assert st["ok"] is True, ph.show(st)
    assert set(st["checks"]) == SELFTEST_CHECKS, ph.show(st)
    assert all(v is True for v in st["checks"].values()), ph.show(st)
    assert isinstance(st["age_ms"], int) and 0 <= st["age_ms"] <= 11000, ph.show(st)
