"""Runs first among the security tests (marked first, tests/integration/
suite.py): the host is clean before any hostile program ran (no baseline:
whatever the integration tests may have left counts), and the sandbox
answers at all."""

import pytest

import sec_helpers as sh

pytestmark = pytest.mark.first


def test_host_clean_before_hostile_programs():
    sh.assert_host_clean(baseline=False)


def test_sandbox_runs_code():
    ex = sh.run("print('alive')")
    assert ex["outcome"] == "completed", sh.show(ex)
    assert ex["stdout"] == "alive\n", sh.show(ex)
    sh.assert_host_clean()


def _ns(pid, kind):
    import os
    return os.readlink("/proc/%d/ns/%s" % (pid, kind))


def test_launchers_unprivileged_and_namespaced():
    # SANDBOX-TARGET: each slot's pid 1 is uid 0 only inside its user
    # namespace; on the host it is PYEXEC_UID_BASE + 2 * slot, in its own
    # user, pid, mount, network, ipc and uts namespaces.
    import os
    j, resp = sh.health_json()
    assert j is not None, sh.show(resp)
    problems = []
    for s in j["slots"]:
        pid = s["launcher_pid"]
        want = sh.UID_BASE + 2 * s["id"]
        with open("/proc/%d/status" % pid) as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        if uids != [str(want)] * 4:
            problems.append("slot %d: launcher %d has host uids %s, want %d"
                            % (s["id"], pid, uids, want))
        for kind in ("user", "pid", "mnt", "net", "ipc", "uts"):
            if _ns(pid, kind) == _ns(os.getpid(), kind):
                problems.append("slot %d: launcher %d shares the host's %s "
                                "namespace" % (s["id"], pid, kind))
    assert not problems, "\n".join(problems)
