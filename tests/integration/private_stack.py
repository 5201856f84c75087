"""A second, private stack for tests that must not disturb the shared one
(fail-closed starts, draining, killing the master, other limits): brought
up with `scripts/dev up --detach` in its own run dir, with its own listen
address, key, cgroup instance and run uids."""

import http.client
import json
import os
import shutil
import subprocess
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def dev(*args, env):
    return subprocess.run([os.path.join(TOP, "scripts", "dev")] + list(args),
                          env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=120)


def up_backends(settings, prefix):
    """Starts a stack with these PYEXEC_* / PYTHON_EXECUTOR_* settings and
    nothing else of the caller's; returns (env, run_dir).  With
    PYEXEC_BACKENDS > 1 the masters' pids are in
    run_dir/pyexec-fcgi.b<i>.pid."""
    run_dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(run_dir, 0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYEXEC_", "PYTHON_EXECUTOR_", "TOGETHER_"))
           or k == "PYEXEC_FCGI"}     # the binary under test (a sanitizer build)
    env.update(settings)
    env["PYEXEC_RUN_DIR"] = run_dir
    r = dev("up", "--detach", "--no-setup", env=env)
    if r.returncode != 0:
        dev("down", env=env)
        shutil.rmtree(run_dir, ignore_errors=True)
    assert r.returncode == 0, r.stdout.decode()[-3000:]
    return env, run_dir


def up(settings, prefix):
    """up_backends() of one backend; returns (env, run_dir, master pid)."""
    env, run_dir = up_backends(settings, prefix)
    with open(os.path.join(run_dir, "pyexec-fcgi.pid")) as f:
        return env, run_dir, int(f.read())


def down(env, run_dir):
    dev("down", env=env)
    shutil.rmtree(run_dir, ignore_errors=True)


def request(listen, method, path, body=None, key=None, timeout=60,
            source=None, headers=None, text=False):
    """One HTTP request to the stack at listen ("HOST:PORT") with API key
    key (none: keyless), from address source; (status, JSON body,
    {lower-case header: value}).  The JSON is None when the body is empty
    or not JSON (text=True: then the body as text)."""
    host, port = listen.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout,
                                      source_address=(source, 0) if source else None)
    hdrs = {"Content-Type": "application/json"}
    if key is not None:
        hdrs["Integrations-API-Key"] = key
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=json.dumps(body).encode()
                     if body is not None else None, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        try:
            j = json.loads(raw) if raw else None
        except ValueError:
            j = raw.decode(errors="replace") if text else None
        return r.status, j, dict((k.lower(), v) for k, v in r.getheaders())
    finally:
        conn.close()


def execute(listen, key, code, **fields):
    """POST /v1/execute of code (and fields) to the stack at listen; its
    execution item (the answer must be 200)."""
    body = {"code": code}
    body.update(fields)
    status, j, _ = request(listen, "POST", "/v1/execute", body, key=key)
    assert status == 200, (status, j)
    return [i for i in j["response"] if i["type"] == "execution"][0]


def children(pid):
    """The pids of pid's children ([] when it is gone)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def zygotes(launcher):
    """{"bare": host pid, "data": host pid}: the zygotes of the slot whose
    launcher is launcher (its children on the runner with --zygote; an
    empty preload is the bare one's)."""
    out = {}
    for p in children(launcher):
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "--zygote" in cmd:
            out["data" if cmd[cmd.index("--zygote") + 1] else "bare"] = p
    return out


def rm_cgroups(instance):
    """Removes what is left of pyexec/<instance> in every hierarchy (the
    master removes it on a clean stop; a killed one leaves it)."""
    for ctl in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", ctl, "pyexec", instance)
        if not os.path.isdir(top) or os.path.islink(os.path.join("/sys/fs/cgroup", ctl)):
            continue
        for d, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
            try:
                os.rmdir(d)
            except OSError:
                pass


def running(pid):
    """pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def comm(pid):
    """pid's command name, or "" once it is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def instance_cgroups(instance):
    """The v1 hierarchies in which pyexec/<instance> still exists."""
    return [c for c in ("memory", "cpu", "cpuacct", "pids")
            if os.path.isdir("/sys/fs/cgroup/%s/pyexec/%s" % (c, instance))]
