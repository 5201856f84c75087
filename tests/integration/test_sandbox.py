"""What the sandbox gives and withholds: libraries, network, identity,
environment, isolation between runs, concurrency."""

import builtins
import concurrent.futures
import json
import socket
import time
import uuid

import pytest

import pyexec_http as ph


def test_numpy():
    ex = ph.run("import numpy\nprint(numpy.arange(10).sum())\n", timeout=20)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "45\n", ph.show(ex)


def test_pandas():
    code = ("import pandas as pd\n"
            "df = pd.DataFrame({'a': [1, 2, 3], 'b': [10, 20, 30]})\n"
            "s = df.sum()\n"
            "print(int(s['a']), int(s['b']), int(df.values.sum()))\n")
    ex = ph.run(code, timeout=20, memory_limit="250m")
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "6 60 66\n", ph.show(ex)


def test_no_network_to_loopback(nginx_port):
    # only loopback addresses are ever tried
    code = """
import socket
for host, port in (("127.0.0.1", %d), ("127.0.0.1", 80), ("::1", %d)):
    try:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect((host, port))
        print("CONNECTED", host, port)
    except OSError as e:
        print("ERR", type(e).__name__, e.errno)
""" % (nginx_port, nginx_port)
    ex = ph.run(code, timeout=15)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert "CONNECTED" not in ex["stdout"], ph.show(ex)
    lines = ex["stdout"].splitlines()
    assert len(lines) == 3, ph.show(ex)
    for line in lines:
        tag, name, errno_ = line.split(" ", 2)
        assert tag == "ERR", line
        cls = getattr(builtins, name, None)
        assert cls is not None and issubclass(cls, OSError), line
        assert errno_ != "None" or name == "TimeoutError", line


def test_no_http_to_service_from_sandbox(nginx_port):
    code = """
import urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%d/health", timeout=2)
    print("REACHED")
except Exception as e:
    print("FAILED", type(e).__name__)
""" % nginx_port
    ex = ph.run(code, timeout=15)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"].startswith("FAILED "), ph.show(ex)


def test_runs_as_non_root():
    code = ("import os\n"
            "print(os.getuid(), os.geteuid(), os.getgid(), os.getegid())\n")
    ex = ph.run(code)
    assert ex["outcome"] == "completed", ph.show(ex)
    ids = [int(x) for x in ex["stdout"].split()]
    assert len(ids) == 4, ph.show(ex)
    assert ids[0] != 0 and ids[1] != 0, ph.show(ex)
    assert ids[2] != 0 and ids[3] != 0, ph.show(ex)


# The run's whole environment, as documented in docs/api.md: nothing of the
# service's environment is inherited.
RUN_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
    "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1", "MPLBACKEND": "Agg",
}


def test_environment_is_the_fixed_one():
    ex = ph.run("import os, json\nprint(json.dumps(dict(os.environ)))\n")
    assert ex["outcome"] == "completed", ph.show(ex)
    env = json.loads(ex["stdout"])
    assert not [k for k in env if k.startswith(("PYEXEC", "PYTHON_EXECUTOR"))], ph.show(env)
    assert env == RUN_ENVIRONMENT, ph.show(env)
    for secret in (ph.key(), ph.key2()):
        assert secret not in ex["stdout"], "an API key is in the sandbox env"


def test_nothing_persists_between_runs(workers):
    token = uuid.uuid4().hex
    write = """
import os
done = []
for path in ("marker_%s", "/tmp/marker_%s", "/dev/shm/marker_%s"):
    try:
        with open(path, "w") as f:
            f.write("x")
        done.append(os.path.abspath(path))
    except OSError:
        pass
print("\\n".join(done))
""" % (token, token, token)
    ex = ph.run(write)
    assert ex["outcome"] == "completed", ph.show(ex)
    written = ex["stdout"].split()
    assert written, (
        "the run could write nowhere (cwd, /tmp, /dev/shm): " + ph.show(ex))

    check = "import os\nfor p in %r:\n    print(p, os.path.exists(p))\n" % (
        written,)
    # several checks, concurrently, so that they reach several workers
    n = 2 * workers
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda _: ph.run(check), range(n)))
    for ex in results:
        assert ex["outcome"] == "completed", ph.show(ex)
        assert ex["stdout"] == "".join("%s False\n" % p for p in written), ph.show(ex)


def test_forked_child_does_not_hold_the_request():
    code = """
import os, time
pid = os.fork()
if pid == 0:
    time.sleep(60)
    os._exit(0)
print("child", pid, flush=True)
"""
    start = time.monotonic()
    try:
        ex = ph.run(code, timeout=10, http_timeout=20)
    except socket.timeout:
        pytest.fail("no answer within 20 s: the request waits for the "
                    "forked child (timeout was 10 s)")
    elapsed = time.monotonic() - start
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"].startswith("child "), ph.show(ex)
    assert elapsed < 9, (
        "request held by the child for %.1f s: %s" % (elapsed, ph.show(ex)))


def test_concurrent_runs():
    tokens = [uuid.uuid4().hex for _ in range(8)]

    def one(token):
        resp = ph.execute({"code": "print(%r)" % token})
        return token, resp

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, tokens))
    ids = set()
    for token, resp in results:
        ex = ph.assert_success(resp)
        assert ex["outcome"] == "completed", ph.show(ex)
        assert ex["stdout"] == token + "\n", token + ": " + ph.show(ex)
        ids.add(resp.json["invocationId"])
    assert len(ids) == 8, ids
