"""Hostile programs against the workspaces (issue 14): a workspace is an
ext4 image of its own, mounted detached by the store and moved onto
/workspace in the run's mount namespace.  A run tries to reach the host,
the store or another client's workspace through it (links, hard links,
'..', FIFOs, device nodes, suid and exec bits, its file descriptors), to
fill the host's disk or memory through it, and two clients race on the
same file name.  Every test ends with the host clean: no process, cgroup,
mount or marker file left, and the host's own files untouched."""

import glob
import hashlib
import json
import os
import textwrap
import threading
import uuid

import pyexec_http as ph
import sec_helpers as sh

show = sh.show
STORE = os.path.join(os.environ.get("PYEXEC_RUN_DIR", "/nonexistent"),
                     "workspaces")


def _code(s):
    return textwrap.dedent(s).lstrip("\n")


def _sess(tag):
    return "sec-%s-%s" % (tag, uuid.uuid4().hex[:8])


def _run(code, session, api_key=None, **fields):
    payload = {"code": code, "session_id": session, "timeout": 20,
               "memory_limit": "300m"}
    payload.update(fields)
    resp = ph.execute(payload, timeout=60, api_key=api_key)
    assert resp.status == 200, show(resp)
    ex = [i for i in resp.json["response"] if i["type"] == "execution"]
    assert len(ex) == 1, show(resp)
    return ex[0]


def _delete(session, api_key=None):
    return ph.request("DELETE", "/v1/workspace", body={"session_id": session},
                      api_key=api_key)


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _loops():
    """{loop device: backing file} of the host's attached loop devices."""
    out = {}
    for p in glob.glob("/sys/block/loop*/loop/backing_file"):
        with open(p) as f:
            out[p.split("/")[3]] = f.read().strip()
    return out


def _assert_loops_are_the_stores():
    for dev, backing in _loops().items():
        if "pyexec" in backing or backing.startswith(STORE):
            assert backing.startswith(os.path.realpath(STORE)) or \
                backing.startswith(STORE), (dev, backing)


def test_links_to_host_files_are_never_followed_by_the_host(token):
    s = _sess("links")
    before = {p: _sha(p) for p in ("/etc/passwd", "/etc/hostname")}
    ex = _run(_code("""
        import os
        os.symlink('/etc/passwd', 'pw')
        os.symlink('/', 'root')
        os.symlink('/etc/hostname', 'outputs/host.txt')
        os.makedirs('d/e')
        os.symlink('../../../../../../etc/passwd', 'd/e/deep')
        print(open('pw').read().count('\\n'), sorted(os.listdir('root'))[:3])
        """), s)
    assert ex["outcome"] == "completed", show(ex)
    # inside the run, /etc/passwd is the sandbox's own three lines
    assert ex["stdout"].startswith("3 "), show(ex)
    # a run of the workspace returns no artifact through the link
    resp = ph.execute({"code": "print(1)", "session_id": s})
    assert [i["type"] for i in resp.json["response"]] == ["text", "execution"], show(resp)
    assert _delete(s).status == 200
    after = {p: _sha(p) for p in before}
    assert before == after
    _assert_loops_are_the_stores()
    sh.assert_host_clean(token)


def test_the_store_and_other_workspaces_are_out_of_reach(token):
    a, b = _sess("mine"), _sess("theirs")
    _run("open('secret-%s', 'w').write('b')" % token, b)
    ex = _run(_code("""
        import os, json, glob
        found = {}
        guesses = [%r, %r, '/var/lib/pyexec', '/proc/1/root/workspace',
                   '/proc/self/root/../', '/workspace/../workspace/..']
        for g in guesses:
            try:
                found[g] = sorted(os.listdir(g))[:5]
            except OSError as e:
                found[g] = e.__class__.__name__
        mounts = [l.split()[4] for l in open('/proc/self/mountinfo')]
        st = os.statvfs('/workspace')
        hits = [h for top in ('/workspace', '/tmp', '/dev/shm')
                for h in glob.glob(top + '/**/secret-*', recursive=True)]
        hits += glob.glob('/*/secret-*')
        print('RESULT ' + json.dumps({'found': found, 'mounts': mounts,
              'size': st.f_blocks * st.f_frsize, 'hits': hits}))
        """) % (STORE, os.path.join(STORE, "x")), a)
    r = sh.result(ex)
    assert r is not None, show(ex)
    assert r["found"][STORE] == "FileNotFoundError", show(r)
    assert r["found"]["/var/lib/pyexec"] == "FileNotFoundError", show(r)
    assert r["mounts"].count("/workspace") == 1, show(r)
    assert r["size"] < 80 << 20, show(r)        # its own image, not the host's disk
    assert r["hits"] == [], show(r)
    for s in (a, b):
        assert _delete(s).status == 200
    sh.assert_host_clean(token)


def test_hard_links_cannot_reach_anything_outside(token):
    s = _sess("hard")
    ex = _run(_code("""
        import os, errno
        open('/tmp/x', 'w').write('x')
        out = []
        for src in ('/etc/passwd', '/usr/bin/python3', '/tmp/x', '/dev/null',
                    '/.pyexec/runner.pyc'):
            try:
                os.link(src, 'l' + str(len(out)))
                out.append('LINKED ' + src)
            except OSError as e:
                out.append(errno.errorcode[e.errno])
        open('inside', 'w').write('y')
        try:
            os.link('inside', '/tmp/out-link')
            out.append('LINKED out')
        except OSError as e:
            out.append(errno.errorcode[e.errno])
        print(' '.join(out))
        """), s)
    assert "LINKED" not in ex["stdout"], show(ex)
    assert set(ex["stdout"].split()) <= {"EXDEV", "EPERM", "EACCES"}, show(ex)
    assert _delete(s).status == 200
    sh.assert_host_clean(token)


def test_dotdot_leads_to_the_read_only_sandbox_root(token):
    s = _sess("dotdot")
    ex = _run(_code("""
        import os, errno
        out = []
        for p in ('../../etc/shadow', '../escape', '/workspace/../x'):
            try:
                open(p, 'w').write('x')
                out.append('WROTE ' + p)
            except OSError as e:
                out.append(errno.errorcode[e.errno])
        os.chdir('..')
        out.append(os.getcwd())
        print(' '.join(out))
        """), s)
    assert "WROTE" not in ex["stdout"], show(ex)
    assert ex["stdout"].split()[-1] == "/", show(ex)
    for bad in ("..", "../x", "a/b", "%2e%2e", ".", "x\u0000y"):
        resp = ph.execute({"code": "print(1)", "session_id": bad})
        assert resp.status == 400, show(resp)
    assert _delete(s).status == 200
    sh.assert_host_clean(token)


def test_fifos_device_nodes_and_socket_nodes_cannot_be_made(token):
    s = _sess("nodes")
    ex = _run(_code("""
        import os, errno, stat, socket
        out = []
        for name, mode, dev in (('fifo', stat.S_IFIFO | 0o600, 0),
                                ('chr', stat.S_IFCHR | 0o600, os.makedev(1, 3)),
                                ('blk', stat.S_IFBLK | 0o600, os.makedev(7, 0)),
                                ('sock', stat.S_IFSOCK | 0o600, 0)):
            try:
                os.mknod(name, mode, dev)
                out.append('MADE ' + name)
            except OSError as e:
                out.append(errno.errorcode[e.errno])
        try:
            os.mkfifo('fifo2')
            out.append('MADE fifo2')
        except OSError as e:
            out.append(errno.errorcode[e.errno])
        s = socket.socket(socket.AF_UNIX)
        s.bind('bound.sock')          # a socket inode: counts, useless later
        s.listen(1)
        print(' '.join(out))
        """), s)
    assert ex["stdout"].split() == ["EPERM"] * 5, show(ex)
    ex = _run(_code("""
        import os, socket, stat
        st = os.lstat('bound.sock')
        c = socket.socket(socket.AF_UNIX)
        try:
            c.connect('bound.sock')
            print('CONNECTED')
        except OSError as e:
            print(stat.S_ISSOCK(st.st_mode), e.__class__.__name__)
        """), s)
    assert ex["stdout"] == "True ConnectionRefusedError\n", show(ex)
    assert _delete(s).status == 200
    sh.assert_host_clean(token)


def test_nosuid_and_noexec(token):
    s = _sess("exec")
    ex = _run(_code("""
        import os, shutil, subprocess, errno
        shutil.copy('/usr/bin/true', 'mytrue')
        os.chmod('mytrue', 0o4755)
        st = os.stat('mytrue')
        try:
            subprocess.run(['./mytrue'])
            print('EXECUTED')
        except PermissionError:
            print('EACCES', oct(st.st_mode & 0o7777))
        """), s)
    assert ex["stdout"].startswith("EACCES"), show(ex)
    ex = _run("import os\nprint([l for l in open('/proc/self/mountinfo') "
              "if ' /workspace ' in l][0])", s)
    opts = ex["stdout"].split()[5].split(",")
    assert {"nosuid", "nodev", "noexec"} <= set(opts), show(ex)
    assert _delete(s).status == 200
    sh.assert_host_clean(token)


def test_no_descriptor_of_the_mount_reaches_the_code(token):
    s = _sess("fds")
    code = _code("""
        import os
        fds = {}
        for fd in os.listdir('/proc/self/fd'):
            try:
                fds[int(fd)] = os.readlink('/proc/self/fd/' + fd)
            except OSError:
                pass
        print(sorted(fds), sorted(set(v.split(':')[0] for v in fds.values())))
        """)
    with_ws = _run(code, s)["stdout"]
    without = ph.run(code)["stdout"]
    assert with_ws == without, (with_ws, without)
    assert _delete(s).status == 200
    sh.assert_host_clean(token)


def test_filling_the_workspace_stays_within_the_image_and_the_memory_limit(token):
    s = _sess("fill")
    st0 = os.statvfs(STORE)
    free0 = st0.f_bavail * st0.f_frsize
    ex = _run(_code("""
        import os
        n = 0
        try:
            for k in range(3):
                with open('f%d' % k, 'wb') as f:
                    for i in range(30):
                        f.write(os.urandom(1 << 20)); n += 1
        except OSError as e:
            print(e.errno, n)
        """), s, memory_limit="100m", timeout=30)
    assert ex["outcome"] == "completed", show(ex)
    assert ex["stdout"].split()[0] == "28", show(ex)
    st1 = os.statvfs(STORE)
    used = free0 - st1.f_bavail * st1.f_frsize
    assert used < 80 << 20, used                # at most one image's size
    # the next run of that slot starts with its own memory, not the pages
    # the workspace's writes left
    nxt = ph.run("x = 1")
    assert nxt["memory_peak_bytes"] < 40 << 20, show(nxt)
    assert _delete(s).status == 200
    sh.assert_host_clean(token)


def test_two_clients_and_two_sessions_race_on_one_file_name(token):
    rounds = 12
    scopes = [(None, _sess("race-a")), (None, _sess("race-b")),
              (ph.key2(), _sess("race-a")), (ph.key2(), _sess("race-c"))]
    errors = []

    def client(key, sess, tag):
        for i in range(rounds):
            ex = _run(_code("""
                import os
                prev = open('same.txt').read() if os.path.exists('same.txt') else ''
                open('same.txt', 'w').write(%r)
                print(prev)
                """) % ("%s-%d" % (tag, i)), sess, api_key=key)
            want = "%s-%d\n" % (tag, i - 1) if i else "\n"
            if ex["stdout"] != want:
                errors.append((tag, i, ex["stdout"]))

    threads = [threading.Thread(target=client, args=(k, s, "t%d" % n))
               for n, (k, s) in enumerate(scopes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors
    for key, sess in scopes:
        assert _delete(sess, api_key=key).status == 200
    sh.assert_host_clean(token)


def test_a_run_cannot_plant_outputs_in_the_next_runs_artifacts(token):
    # What a run leaves in outputs/ for the next: a file dated in 2100
    # (mtime is the run's to set, ctime is not), a link to a host file,
    # a directory.  The next run reports only what it wrote itself.
    s = _sess("plant")
    try:
        ex = _run(_code("""
            import os
            open('outputs/future.txt', 'w').write('old')
            os.utime('outputs/future.txt', (4102444800, 4102444800))
            os.symlink('/etc/passwd', 'outputs/link')
            os.mkdir('outputs/dir')
            print('planted')
            """), s)
        assert ex["stdout"] == "planted\n", show(ex)
        resp = ph.execute({"code": "open('outputs/mine.txt', 'w').write('m')\n",
                           "session_id": s}, timeout=60)
        assert resp.status == 200, show(resp)
        items = resp.json["response"]
        ex = [i for i in items if i["type"] == "execution"][0]
        assert ex["outcome"] == "completed", show(ex)
        files = [i["name"] for i in items if i["type"] == "file"]
        assert files == ["mine.txt"], show(resp)
    finally:
        assert _delete(s).status == 200
        sh.assert_host_clean(token)


def test_a_run_without_a_workspace_sees_none_in_any_slot(token):
    s = _sess("left")
    _run("open('left-%s', 'w').write('x')" % token, s)
    exs = sh.probe_every_slot(sh.slot_probe_code(
        "report['ws'] = sorted(_os.listdir('/workspace'))"))
    for r in sh.probe_results(exs):
        assert r["ws"] == [] and r["cwd"] == "/tmp", show(r)
    assert _delete(s).status == 200
    sh.assert_host_clean(token)
