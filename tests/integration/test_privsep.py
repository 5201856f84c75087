"""Privilege separation (issue 3, item 1), checked on the live stack from
the host: who each process runs as, and who owns the slot's cgroup files."""

import os
import pwd
import re

import pyexec_http as ph

UID_BASE = int(os.environ.get("PYEXEC_UID_BASE", "62000"))
INSTANCE = os.environ.get("PYEXEC_INSTANCE", "test")
MEMCG = "/sys/fs/cgroup/memory/pyexec/" + INSTANCE


def _status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def _uids(pid):
    return [int(x) for x in _status(pid)["Uid"].split()]


def _slots():
    resp = ph.health()
    assert resp.status == 200, ph.show(resp)
    return resp.json["slots"]


def test_workers_are_unprivileged():
    pyexec = pwd.getpwnam("pyexec")
    for s in _slots():
        st = _status(s["worker_pid"])
        assert _uids(s["worker_pid"]) == [pyexec.pw_uid] * 4, st["Uid"]
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, st
        assert st["NoNewPrivs"].strip() == "1", st
        assert st["Groups"].strip() == "", st


def test_launchers_have_their_own_uid_per_slot():
    seen = set()
    for s in _slots():
        uid = UID_BASE + 2 * s["id"]
        assert _uids(s["launcher_pid"]) == [uid] * 4, (s, _uids(s["launcher_pid"]))
        st = _status(s["launcher_pid"])
        # Full capabilities, but only inside its own user namespace.
        assert os.readlink("/proc/%d/ns/user" % s["launcher_pid"]) != \
            os.readlink("/proc/self/ns/user")
        assert st["Groups"].strip() == "", st
        seen.add(uid)
    assert len(seen) == len(_slots())


def test_runs_have_a_uid_of_their_own_slot():
    # Every slot, several times: each run maps 1000 to base + 2*slot + 1.
    found = set()
    for _ in range(4 * len(_slots())):
        ex = ph.assert_success(ph.execute({"code": "print(open('/proc/self/uid_map').read())"}))
        rows = [r.split() for r in ex["stdout"].strip().splitlines()]
        inside = {int(r[0]): int(r[1]) for r in rows}
        # 0 the launcher, 1000 the runs, 2000.. the live sessions (their
        # range, above every slot's: docs/security.md "Live sessions")
        assert set(inside) == {0, 1000, 2000}, rows
        launcher, run = inside[0], inside[1000]
        assert run == launcher + 1 and (launcher - UID_BASE) % 2 == 0, rows
        workers = len(_slots())
        assert inside[2000] == UID_BASE + 2 * workers, rows
        assert [int(r[2]) for r in rows if r[0] == "1000"] == [1], rows
        assert run not in (0, pwd.getpwnam("pyexec").pw_uid), rows
        found.add(run)
    assert len(found) >= 2, found


def _root_owned_tree(d):
    for dirpath, dirs, files in os.walk(d):
        for name in files:
            assert os.stat(os.path.join(dirpath, name)).st_uid == 0, (dirpath, name)


def test_only_the_needed_cgroup_files_are_the_workers():
    # slot-N/launcher (the launcher) and slot-N itself are root's; of
    # slot-N/run (the runs) only the limits, the counters the worker resets
    # and the reclaim knob are the worker's.
    pyexec = pwd.getpwnam("pyexec").pw_uid
    owned = {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
             "memory.max_usage_in_bytes", "memory.force_empty"}
    slots = [d for d in os.listdir(MEMCG) if re.fullmatch(r"slot-\d+", d)]
    assert len(slots) == len(_slots()), slots
    for d in slots:
        top = os.path.join(MEMCG, d)
        assert sorted(e for e in os.listdir(top)
                      if os.path.isdir(os.path.join(top, e))) == ["launcher", "run"]
        for name in os.listdir(top):
            if os.path.isfile(os.path.join(top, name)):
                assert os.stat(os.path.join(top, name)).st_uid == 0, (d, name)
        _root_owned_tree(os.path.join(top, "launcher"))
        run = os.path.join(top, "run")
        for name in os.listdir(run):
            uid = os.stat(os.path.join(run, name)).st_uid
            if name in owned:
                assert uid == pyexec, (d, name, uid)
            else:
                assert uid == 0, (d, name, uid)
    for ctl, name in (("cpu", "cpu.cfs_quota_us"), ("cpuacct", "cpuacct.usage")):
        base = "/sys/fs/cgroup/%s/pyexec/%s/slot-0/run/" % (ctl, INSTANCE)
        assert os.stat(base + name).st_uid == pyexec, name
        assert os.stat(base + "cgroup.procs").st_uid == 0
        assert os.stat(base + "tasks").st_uid == 0


def test_launchers_live_outside_the_runs_cgroups():
    # The run's memory limit, OOM killer and CPU quota apply to run/ only:
    # each launcher is in its slot's launcher/ group, in every hierarchy.
    for s in _slots():
        pid = s["launcher_pid"]
        with open("/proc/%d/cgroup" % pid) as f:
            groups = dict(l.strip().split(":", 2)[1:] for l in f)
        for ctl in ("memory", "cpu", "pids"):
            key = next(k for k in groups if ctl in k.split(","))
            assert groups[key] == "/pyexec/%s/slot-%d/launcher" % (INSTANCE, s["id"]), groups
