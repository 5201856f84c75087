"""Scale-out: two independent backends behind the one nginx upstream
(`PYEXEC_BACKENDS=2 scripts/dev up`), as two hosts would be, under steady
load from several client threads:

  * reloading nginx loses no request;
  * a SIGTERM drain of one backend loses no request (its socket stops
    taking connections first, nginx passes new requests to the other
    backend, the queued and running ones finish);
  * a rolling restart (one backend, then the other) loses no request;
  * a SIGKILLed master takes its front, workers, launchers, runs and
    cgroups with it; only requests in flight on it fail, each with a JSON
    5xx, every request sent a second later succeeds, and the backend,
    started again, takes traffic again.

Each client thread opens a new connection per request (so a reload never
races a keep-alive connection on the client's side) and records when it
sent each request, the answer's status, type and body.
"""

import http.client
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import private_stack as private
from private_stack import comm, running
from private_stack import instance_cgroups as cgroups_of

# slow: not in tests/run --quick (tests/integration/suite.py)
pytestmark = pytest.mark.slow

KEY = "scaleout-key-3f9d"
# Several clients: nginx sends each client's requests to one backend
# (`hash $pyexec_affinity consistent`, for its workspaces); each thread
# sends as the next of these eight keys in turn, whose names hash to both
# backends (fixed names and addresses: always the same mapping).
KEYS = [KEY] + ["scaleout-key-%02d" % i for i in range(7)]
# nginx on PORT, backend i on 127.0.0.1:PORT+1+i; another stack on the same
# host (a second checkout's tests) sets its own PYEXEC_TEST_SCALE_* values.
_PORT = int(os.environ.get("PYEXEC_TEST_SCALE_PORT", "18189"))
LISTEN = "127.0.0.1:%d" % _PORT
PORT0 = _PORT + 1              # backend i: 127.0.0.1:PORT0+i
INSTANCE = os.environ.get("PYEXEC_TEST_SCALE_INSTANCE", "scale")
#                                backend i: instance <INSTANCE>-b<i>
UID_BASE = int(os.environ.get("PYEXEC_TEST_SCALE_UID_BASE", "63500"))
#                                backend i: uids UID_BASE + 1000*i
THREADS = 4
CODE = "import time\ntime.sleep(0.15)\nprint(6 * 7)\n"
FAST = "print(6 * 7)\n"          # many connections a second: drains race them


@pytest.fixture(scope="module")
def stack():
    env, run_dir = private.up_backends(
        {"PYEXEC_BACKENDS": "2", "PYEXEC_BACKEND_PORT": str(PORT0),
         "PYEXEC_LISTEN": LISTEN, "PYEXEC_API_KEYS": ",".join(KEYS),
         "PYEXEC_INSTANCE": INSTANCE, "PYEXEC_UID_BASE": str(UID_BASE),
         "PYEXEC_WORKERS": "2", "PYEXEC_KEY_RATE": "1000",
         "PYEXEC_KEY_BURST": "1000", "PYEXEC_ADDR_RATE": "1000",
         "PYEXEC_ADDR_BURST": "1000"}, "pyexec-scale-")
    yield {"env": env, "run_dir": run_dir}
    private.down(env, run_dir)
    for i in range(2):
        private.rm_cgroups("%s-b%d" % (INSTANCE, i))


def master(stack, i):
    with open(os.path.join(stack["run_dir"], "pyexec-fcgi.b%d.pid" % i)) as f:
        return int(f.read())


@pytest.fixture
def backends_back(stack):
    """After a test that stops or kills a backend: each backend runs again,
    whether the test got to its own `backend start` or failed before (one
    failure must not leave the next tests without backend 0)."""
    yield
    for i in range(2):
        try:
            if running(master(stack, i)):
                continue
        except (OSError, ValueError):
            pass
        dev(stack, "backend", str(i), "start")


def log_tail(stack, i, lines=40):
    """The end of backend i's log, for an assertion's message."""
    with open(os.path.join(stack["run_dir"], "pyexec.b%d.log" % i)) as f:
        return "".join(f.readlines()[-lines:])


def log_since(stack, i, offset):
    with open(os.path.join(stack["run_dir"], "pyexec.b%d.log" % i)) as f:
        f.seek(offset)
        return f.read()


def log_size(stack, i):
    return os.path.getsize(os.path.join(stack["run_dir"], "pyexec.b%d.log" % i))


def dev(stack, *args):
    r = private.dev(*args, env=stack["env"])
    assert r.returncode == 0, r.stdout.decode()[-3000:]
    return r.stdout.decode()


class Load:
    """THREADS clients sending CODE in a loop until stopped."""

    def __init__(self, threads=THREADS, code=CODE):
        self.code = code
        self.results = []          # (sent, done, status, ctype, body)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                        for i in range(threads)]

    def one(self, key=KEY):
        host, port = LISTEN.rsplit(":", 1)
        body = json.dumps({"code": self.code}).encode()
        sent = time.monotonic()
        status, ctype, data = 0, "", b""
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request("POST", "/v1/execute", body=body, headers={
                "Integrations-API-Key": key,
                "Content-Type": "application/json", "Connection": "close"})
            r = conn.getresponse()
            status, ctype, data = r.status, r.getheader("Content-Type", ""), r.read()
        except (OSError, http.client.HTTPException) as e:
            data = repr(e).encode()
        finally:
            conn.close()
        with self.lock:
            self.results.append((sent, time.monotonic(), status, ctype, data))

    def client(self, i):
        n = 0
        while not self.stop.is_set():
            self.one(KEYS[(i + n) % len(KEYS)])
            n += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(90)

    def wait_for(self, n, within=30):
        deadline = time.monotonic() + within
        while len(self.results) < n and time.monotonic() < deadline:
            time.sleep(0.05)


def ok(res):
    """The answer is the successful run of CODE."""
    _, _, status, ctype, data = res
    if status != 200 or not ctype.startswith("application/json"):
        return False
    j = json.loads(data)
    return j["status"] == "success" and any(
        i.get("stdout") == "42\n" for i in j["response"])


def json_5xx(res):
    """A failure as the service promises it: a JSON error envelope."""
    _, _, status, ctype, data = res
    if not 500 <= status < 600 or not ctype.startswith("application/json"):
        return False
    j = json.loads(data)
    return j["status"] == "error" and j["response"][0]["type"] == "error"


def show(results):
    return "\n".join("%.3f %.3f %d %s %r" % (s, d, st, ct, b[:200])
                     for s, d, st, ct, b in results)


def assert_all_ok(load, at_least):
    bad = [r for r in load.results if not ok(r)]
    assert not bad, "%d of %d requests failed:\n%s" % (
        len(bad), len(load.results), show(bad[:10]))
    assert len(load.results) >= at_least, len(load.results)


def served_by(stack, i):
    """How many requests backend i's log has."""
    with open(os.path.join(stack["run_dir"], "pyexec.b%d.log" % i)) as f:
        return sum('"event":"request"' in l and '"/v1/execute"' in l for l in f)


def tree(pid):
    """pid and every process below it (by parent links)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def test_status_shows_each_backend(stack):
    out = dev(stack, "status")
    for i in range(2):
        assert "backend %d (127.0.0.1:%d, instance %s-b%d): running (master " \
            "pid %d), health: HTTP 200" % (i, PORT0 + i, INSTANCE, i,
                                           master(stack, i)) in out, out
    assert "health: HTTP 200" in out.splitlines()[-1], out


def assert_both_serve(stack):
    """40 requests all succeed, and each backend served at least 5."""
    before = [served_by(stack, i) for i in range(2)]
    with Load() as load:
        load.wait_for(40)
    assert_all_ok(load, 40)
    after = [served_by(stack, i) for i in range(2)]
    assert all(a - b >= 5 for a, b in zip(after, before)), (before, after)


def test_every_backends_launchers_are_realtime(stack):
    """Each backend's launchers get SCHED_FIFO (the timer that ends a run
    wins against a busy host), the second instance's too: the real-time
    budget of "pyexec" is shared by the instances (sandbox/host/cgroup.c)."""
    for i in range(2):
        m = master(stack, i)
        with open("/proc/%d/task/%d/children" % (m, m)) as f:
            launchers = [int(p) for p in f.read().split()
                         if comm(int(p)) == "pyexec-launcher"]
        assert len(launchers) == 2, launchers
        for p in launchers:
            policy = os.sched_getscheduler(p) & ~os.SCHED_RESET_ON_FORK
            assert policy == os.SCHED_FIFO, (i, p, policy)


def test_both_backends_take_traffic(stack):
    assert_both_serve(stack)


def test_nginx_reload_under_load_loses_nothing(stack):
    ngx = os.path.join(stack["run_dir"], "nginx")
    with Load() as load:
        load.wait_for(10)
        for _ in range(3):
            r = subprocess.run(["nginx", "-p", ngx + "/", "-c",
                                os.path.join(ngx, "nginx.conf"), "-e",
                                os.path.join(ngx, "error.log"), "-s", "reload"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert r.returncode == 0, r.stdout
            time.sleep(1)
        n = len(load.results)
        load.wait_for(n + 10)
    assert_all_ok(load, 30)


def test_sigterm_drain_of_one_backend_loses_nothing(stack, backends_back):
    m0 = master(stack, 0)
    procs = tree(m0)
    off = log_size(stack, 0)
    with Load(threads=8, code=FAST) as load:
        load.wait_for(10)
        dev(stack, "backend", "0", "stop")
        n = len(load.results)
        load.wait_for(n + 20)
    assert_all_ok(load, 30)
    assert not [p for p in procs if running(p)]
    assert not cgroups_of(INSTANCE + "-b0")
    log = log_since(stack, 0, off)
    assert "draining: taking what is queued" in log and '"stopped"' in log, \
        "backend 0's log, its end:\n" + log_tail(stack, 0)
    dev(stack, "backend", "0", "start")


def _kill_front_then_drain(stack):
    """Under load, SIGKILLs backend 0's front and SIGTERMs its master as
    soon as the front has died; returns (killed front, backend 0's log since, load, t_kill)."""
    m0 = master(stack, 0)
    fronts = [p for p in tree(m0)[1:] if comm(p) == "pyexec-fcgi"
              and os.readlink("/proc/%d/fd/0" % p).startswith("socket:")]
    assert len(fronts) == 1, fronts
    off = log_size(stack, 0)
    with Load(threads=8, code=FAST) as load:
        load.wait_for(10)
        t_kill = time.monotonic()
        os.kill(fronts[0], signal.SIGKILL)
        # The SIGTERM once the front has died (a zombie or reaped), not
        # while the kernel still takes it down: under AddressSanitizer
        # that takes long enough (its shadow memory) for the drain to
        # start first every time.  Then the master has not made it again.
        deadline = time.monotonic() + 10
        while running(fronts[0]) and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(m0, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while running(m0) and time.monotonic() < deadline:
            time.sleep(0.05)
        n = len(load.results)
        load.wait_for(n + 20)
    assert not running(m0)
    return fronts[0], log_since(stack, 0, off), load, t_kill


def test_drain_right_after_the_front_died_takes_what_is_queued(stack,
                                                               backends_back):
    # The front dies (here SIGKILL) and the SIGTERM comes before the master
    # made it again, or just after: the drain makes a front all the same,
    # which takes what the kernel queued (without one the queue was reset
    # at close) and logs it; a SIGTERM sent right after a front's fork
    # waits for its handler.  Under load, so that the queue is not empty.
    # When the master took the SIGTERM before the killed front had even
    # ended, the front ends during the drain (logged as such): not this
    # case, so that attempt does not count.
    for _ in range(3):
        front, log, load, t_kill = _kill_front_then_drain(stack)
        if "the front %d ended during the drain" % front not in log:
            break
        dev(stack, "backend", "0", "start")
    else:
        pytest.fail("the SIGTERM came before the killed front ended, three "
                    "times: " + log_tail(stack, 0))
    assert "draining: taking what is queued" in log and '"stopped"' in log, \
        "backend 0's log, its end:\n" + log_tail(stack, 0)
    assert "during the drain" not in log, log_tail(stack, 0)
    # What the killed front held when it died may fail (a JSON 5xx from
    # nginx); nothing sent a second later does.
    failed = [r for r in load.results if not ok(r)]
    assert all(json_5xx(r) and r[0] < t_kill + 1.0 for r in failed), \
        show(failed)
    assert len([r for r in load.results if r[0] >= t_kill + 1.0]) >= 10, \
        len(load.results)
    dev(stack, "backend", "0", "start")


def test_drain_turns_new_connections_away_at_once(stack, backends_back):
    # Long runs, one per client key (the keys hash to both backends);
    # then backend 0
    # drains: its port takes no new connection from the first moment (the
    # SYN is dropped, then the port is closed), its runs finish.
    import socket
    long_code = "import time\ntime.sleep(2)\nprint(6 * 7)\n"
    load = Load(threads=0, code=long_code)
    ts = [threading.Thread(target=load.one, args=(k,)) for k in KEYS]
    for t in ts:
        t.start()
    # Connections keep coming to backend 0's port directly, as they do from
    # nginx under load: the drain must not wait for a quiet moment.
    stop = threading.Event()

    def knock():
        while not stop.is_set():
            try:
                socket.create_connection(("127.0.0.1", PORT0), timeout=0.2).close()
            except OSError:
                pass
            time.sleep(0.02)

    knocker = threading.Thread(target=knock)
    knocker.start()
    try:
        time.sleep(0.7)
        m0 = master(stack, 0)
        os.kill(m0, signal.SIGTERM)
        time.sleep(0.3)
        assert running(m0), "backend 0 had no run in flight to drain"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", PORT0), timeout=0.7).close()
    finally:
        stop.set()
        knocker.join()
    for t in ts:
        t.join(30)
    assert len(load.results) == len(KEYS) and all(ok(r) for r in load.results), \
        show(load.results)
    deadline = time.monotonic() + 10
    while running(m0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(m0)
    dev(stack, "backend", "0", "start")


def test_rolling_restart_loses_nothing(stack, backends_back):
    old = [master(stack, i) for i in range(2)]
    with Load() as load:
        load.wait_for(10)
        for i in range(2):
            dev(stack, "backend", str(i), "restart")
            n = len(load.results)
            load.wait_for(n + 10)
    assert_all_ok(load, 30)
    new = [master(stack, i) for i in range(2)]
    assert all(a != b for a, b in zip(old, new)) and not any(
        running(p) for p in old), (old, new)
    # both serve again, after nginx's fail_timeout (2 s) at the latest
    time.sleep(2.5)
    assert_both_serve(stack)


def test_zz_sigkill_of_one_master_fails_only_its_requests(stack,
                                                          backends_back):
    m0 = master(stack, 0)
    procs = tree(m0)
    assert len(procs) >= 6, procs      # master, guard, front, 2 workers, launchers
    assert cgroups_of(INSTANCE + "-b0")
    with Load() as load:
        load.wait_for(20)
        t_kill = time.monotonic()
        os.kill(m0, signal.SIGKILL)
        # everything of it goes, within a second or two
        deadline = time.monotonic() + 10
        while (any(running(p) for p in procs) or cgroups_of(INSTANCE + "-b0")) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        t_gone = time.monotonic()
        n = len(load.results)
        load.wait_for(n + 30)
    left = [p for p in procs if running(p)]
    assert not left, "processes of the killed backend left: %s" % left
    assert not cgroups_of(INSTANCE + "-b0"), cgroups_of(INSTANCE + "-b0")
    failed = [r for r in load.results if not ok(r)]
    # only requests in flight on the victim fail, each with a JSON 5xx
    assert all(json_5xx(r) for r in failed), show(failed)
    assert all(r[0] < t_kill + 1.0 for r in failed), show(failed)
    # In flight on the victim: sent before the last of its processes was
    # gone.  (Not one per client: a client whose run failed fast with 500,
    # the guard having killed its launcher, can send again to the dying
    # front before it ends, and get 502.)
    assert all(r[0] <= t_gone for r in failed), (t_gone, show(failed))
    late = [r for r in load.results if r[0] >= t_kill + 1.0]
    assert len(late) >= 20 and all(ok(r) for r in late)
    # started again, it takes traffic again
    dev(stack, "backend", "0", "start")
    time.sleep(2.5)                    # nginx's fail_timeout
    before = served_by(stack, 0)
    with Load() as load:
        load.wait_for(40)
    assert_all_ok(load, 40)
    assert served_by(stack, 0) - before >= 5


def test_docs_firewall_keeps_all_but_nginx_off_the_fastcgi_port():
    """The nft commands of docs/operations.md ("Firewall the FastCGI port"),
    run as written in a network namespace of this test's own, with loopback
    addresses standing in for the hosts (10.0.0.5, the nginx host, becomes
    127.0.0.5; a FastCGI listener on 127.0.0.1:9000)."""
    doc = os.path.join(private.TOP, "docs", "operations.md")
    with open(doc) as f:
        text = f.read()
    block = text.split("e.g. with nftables on each backend:\n\n```sh\n", 1)[1]
    cmds = block.split("```", 1)[0].strip().splitlines()
    assert len(cmds) == 3 and all(c.startswith("nft ") for c in cmds), cmds
    script = "set -e\nip link set lo up\n" + "\n".join(
        c.replace("10.0.0.5", "127.0.0.5") for c in cmds) + "\n" + r'''
exec /usr/bin/python3 - <<'PY'
import socket
srv = socket.socket()
srv.bind(("127.0.0.1", 9000))
srv.listen(8)
def reach(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", 9000))
        return "open"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()
print("nginx-host", reach("127.0.0.5"))
print("other-host", reach("127.0.0.6"))
PY
'''
    r = subprocess.run(["unshare", "--net", "bash", "-c", script],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode()
    assert r.returncode == 0, out
    assert "nginx-host open" in out and "other-host TimeoutError" in out, out
