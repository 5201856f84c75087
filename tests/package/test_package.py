"""The Debian package of pyexec: lintian, contents, install, the service
started as its unit says, purge.

Run by `scripts/package test JUNIT_XML` after `scripts/package build`,
through tests/package/run: inside a throwaway Debian root under
systemd-nspawn (Debian's /usr/bin/python3, as root there), never on the
host; the package is taken from PYEXEC_PACKAGE_DIR (default
<checkout>/run/package).  The tests that install the package refuse to run
outside that root unless PYEXEC_PACKAGE_TEST_ON_HOST=1 says to install it
system-wide on this machine.

The tests leave the root as they found it, also when they fail: every
process is stopped by the pid the test started, the package is purged, what
the test created (log files, directories, the user if the package made it,
dependencies apt had to install) is removed.

The service runs as instance `pkgtest` with run uids from 64000 (added to the
environment file's variables), so that it collides neither with a
development stack (instance `default`, uids 61000+) nor with the integration
test stack (instance `test`, uids 62000+).  nginx listens on 127.0.0.1:18310.
"""

import contextlib
import functools
import glob
import grp
import gzip
import hashlib
import http.client
import json
import os
import pathlib
import pwd
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest

# scripts/pyexec_fcgi.py: the one FastCGI client
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
import pyexec_fcgi as fcgi  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG_DIR = os.environ.get("PYEXEC_PACKAGE_DIR") or os.path.join(TOP, "run", "package")
ARCH = subprocess.run(["dpkg", "--print-architecture"], check=True,
                      capture_output=True, text=True).stdout.strip()

PACKAGE = "pyexec"
USER = "pyexec"
UNIT = "/lib/systemd/system/pyexec.service"
SITE = "/etc/nginx/sites-available/pyexec"
ENV_FILE = "/etc/pyexec/pyexec.env"
KEYS_MAP = "/etc/pyexec/api-keys.map"
SECRET = "/etc/pyexec/backend-secret"
SECRET_CONF = "/etc/pyexec/nginx-backend-secret.conf"
ANON_CONF = "/etc/pyexec/nginx-anonymous.conf"
STATE_DIR = "/var/lib/pyexec"
RUN_DIR = "/run/pyexec"
SOCK = "/run/pyexec/pyexec.sock"
SBIN = "/usr/sbin/pyexec-fcgi"
LAUNCHER = "/usr/libexec/pyexec/pyexec-launcher"
ZYGOTE = "/usr/libexec/pyexec/pyexec-zygote.so"
RUNNER = "/usr/share/pyexec/runner.py"
ACCESS_LOG = "/var/log/nginx/pyexec.access.log"
PLAYGROUND = "/usr/share/pyexec/playground"
PLAYGROUND_FILES = [PLAYGROUND + "/" + f for f in ("index.html", "playground.css", "playground.js")]
# What the page loads from Debian's packages through the site's
# /playground/vendor/ aliases (nginx/pyexec.conf.in).
VENDOR_FILES = {
    "/playground/vendor/codemirror/": "/usr/share/javascript/codemirror/",
    "/playground/vendor/plotly.js": "/usr/share/python3-plotly/plotly.js",
}

NGINX_LISTEN = "127.0.0.1:18310"
INSTANCE = "pkgtest"
TEST_ENV = {"PYEXEC_UID_BASE": "64000", "PYEXEC_INSTANCE": INSTANCE}

EXPECTED_FILES = [
    SBIN, LAUNCHER, ZYGOTE, RUNNER,
    "/usr/share/pyexec/openapi.json",
    "/usr/share/pyexec/reference.html",
    "/usr/share/man/man8/pyexec-fcgi.8.gz",
    "/usr/share/man/man8/pyexec-launcher.8.gz",
    UNIT,
    "/usr/lib/tmpfiles.d/pyexec.conf",
    ENV_FILE,
    SITE,
    "/usr/share/doc/pyexec/copyright",
    "/usr/share/doc/pyexec/changelog.Debian.gz",
] + PLAYGROUND_FILES
EXPECTED_DEPENDS = ["nginx", "spawn-fcgi", "python3", "python3-numpy",
                    "python3-pandas", "python3-matplotlib", "adduser",
                    # the playground's plotly.js and editor (VENDOR_FILES)
                    "python3-plotly", "libjs-codemirror"]
PACKAGE_BINARIES = (SBIN, LAUNCHER)

# tests/package/run's root (it sets PYEXEC_PACKAGE_TEST_IN_ROOT; nspawn sets
# container=systemd-nspawn), or this host by explicit choice.
IN_ROOT = bool(os.environ.get("PYEXEC_PACKAGE_TEST_IN_ROOT")) and (
    os.environ.get("container") == "systemd-nspawn")
ON_HOST = os.environ.get("PYEXEC_PACKAGE_TEST_ON_HOST") == "1"

APT = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-y"]
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


# ------------------------------------------------------------- helpers ---
def run(cmd, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: status %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(str, cmd)), p.returncode, p.stdout, p.stderr))
    return p


def the_one(pattern):
    found = sorted(glob.glob(os.path.join(PKG_DIR, pattern)))
    assert len(found) == 1, (
        "expected exactly one %s in %s (run scripts/package build), found %r"
        % (pattern, PKG_DIR, found))
    return found[0]


def deb_path():
    return the_one("pyexec_*_%s.deb" % ARCH)


def changes_path():
    return the_one("pyexec_*_%s.changes" % ARCH)


def dpkg_status(pkg):
    p = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def installed_packages():
    out = run(["dpkg-query", "-W", "-f=${Package}:${Architecture}\t${Status}\n"]).stdout
    return {line.split("\t")[0] for line in out.splitlines()
            if line.endswith("\tinstall ok installed")}


def getpw(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def getgr(name):
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def parse_unit(path):
    """{section: {key: [values]}} of a systemd unit file (continuations,
    comments)."""
    sections, cur, pending = {}, None, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if pending:
                line = pending + line
                pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("[") and s.endswith("]"):
                cur = sections.setdefault(s[1:-1], {})
                continue
            k, _, v = s.partition("=")
            cur.setdefault(k.strip(), []).append(v.strip())
    return sections


def parse_env_file(path):
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them."""
    env = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            s = raw.strip()
            if not s or s[0] in "#;":
                continue
            k, sep, v = s.partition("=")
            if not sep:
                continue
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            env[k.strip()] = v
    return env


def exec_start_argv(unit):
    lines = unit["Service"]["ExecStart"]
    assert len(lines) == 1, "one ExecStart= expected, got %r" % lines
    cmd = lines[0]
    while cmd and cmd[0] in "-@:+!":
        assert cmd[0] != "@", "ExecStart with @ (argv[0] override) is not handled"
        cmd = cmd[1:]
    return shlex.split(cmd)


def proc_exe(pid):
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None
    return exe[:-len(" (deleted)")] if exe.endswith(" (deleted)") else exe


def proc_sid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat_line = f.read()
    except OSError:
        return None
    fields = stat_line.rsplit(")", 1)[1].split()
    # state ppid pgrp session ...
    return int(fields[3]) if fields[0] != "Z" else None


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def binary_inodes():
    """(st_dev, st_ino) of the installed package's binaries."""
    ids = set()
    for path in PACKAGE_BINARIES:
        st = os.stat(path)
        ids.add((st.st_dev, st.st_ino))
    return ids


def package_processes(inodes=None):
    """pid -> binary, for every live process running one of the package's
    binaries: with `inodes` (binary_inodes() of the install), the very files
    the package installed (also once purged); without, the paths, in this
    mount namespace.  A container on this machine (tests/systemd) may run
    its own /usr/sbin/pyexec-fcgi: that is not ours."""
    found = {}
    mine = os.readlink("/proc/self/ns/mnt")
    for pid in all_pids():
        exe = proc_exe(pid)
        if exe not in PACKAGE_BINARIES:
            continue
        try:
            if inodes is not None:
                st = os.stat("/proc/%d/exe" % pid)
                if (st.st_dev, st.st_ino) not in inodes:
                    continue
            elif os.readlink("/proc/%d/ns/mnt" % pid) != mine:
                continue
        except OSError:
            continue
        found[pid] = exe
    return found


def cgroup_dirs(instance):
    return sorted(glob.glob("/sys/fs/cgroup/*/pyexec/%s" % instance))


def cgroup_tree_pids(instance):
    pids = set()
    for top in cgroup_dirs(instance):
        for dirpath, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError):
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        pids.update(int(x) for x in f.read().split())
    return pids


def kill9(pid):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def remove_cgroup_tree(instance):
    for top in cgroup_dirs(instance):
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)


def http_request(method, path, body=None, headers=None, timeout=30):
    host, port = NGINX_LISTEN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        return r.status, dict(r.getheaders()), data, doc
    finally:
        conn.close()


def port_busy(hostport):
    host, port = hostport.rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


@contextlib.contextmanager
def no_service_starts():
    """A policy-rc.d that forbids starting services, for apt runs that may
    install dependencies (nginx's postinst would start a system nginx);
    only when none is there already, removed afterwards."""
    path = "/usr/sbin/policy-rc.d"
    mine = "#!/bin/sh\n# temporary, tests/package\nexit 101\n"
    made = False
    if not os.path.lexists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
        with os.fdopen(fd, "w") as f:
            f.write(mine)
        made = True
    try:
        yield
    finally:
        if made:
            with contextlib.suppress(OSError):
                with open(path) as f:
                    if f.read() == mine:
                        os.unlink(path)


def purge_package():
    with no_service_starts():
        return run(APT + ["purge", PACKAGE], check=False, env=APT_ENV)


# ---------------------------------------------------------- build output ---
@functools.lru_cache(maxsize=None)
def lintian_tags():
    p = run(["lintian", "-I", "--show-overrides", changes_path()], check=False)
    tags = []
    for line in p.stdout.splitlines():
        m = re.match(r"^([EWIPXCO]): (\S+?)(?: \S+)?: (\S+)(.*)$", line)
        if m:
            tags.append((m.group(1), m.group(3), line))
    assert p.returncode in (0, 1) and (p.returncode == 0 or tags), (
        "lintian failed (status %d): %s" % (p.returncode, p.stderr))
    return tags


def test_lintian_no_errors():
    tags = lintian_tags()
    errors = [line for kind, _tag, line in tags if kind == "E"]
    assert not errors, "lintian errors:\n" + "\n".join(errors)


def test_lintian_every_warning_fixed_or_overridden_with_a_reason():
    tags = lintian_tags()
    left = [line for kind, _tag, line in tags if kind in ("W", "I")]
    assert not left, "lintian tags neither fixed nor overridden:\n" + "\n".join(left)
    # Every override in debian/pyexec.lintian-overrides has a comment above it.
    path = os.path.join(TOP, "debian", "pyexec.lintian-overrides")
    with open(path) as f:
        lines = [ln.rstrip("\n") for ln in f]
    for i, ln in enumerate(lines):
        if ln.strip() and not ln.startswith("#"):
            block = []
            j = i - 1
            while j >= 0 and lines[j].strip():
                block.append(lines[j])
                j -= 1
            assert any(b.startswith("#") for b in block), (
                "override without a reason (comment) above it: " + ln)
    overridden = {tag for kind, tag, _line in tags if kind == "O"}
    assert overridden, "lintian shows no overridden tag (--show-overrides)"


def test_deb_contents_and_modes():
    out = run(["dpkg-deb", "-c", deb_path()]).stdout
    entries = {}
    for line in out.splitlines():
        f = line.split(None, 5)
        name = f[5].split(" -> ")[0]
        entries[name[1:].rstrip("/") or "/"] = (f[0], f[1])
    for path in EXPECTED_FILES:
        assert path in entries, path + " is not in the package"
        assert entries[path][0].startswith("-"), path + " is not a regular file"
    for path in (SBIN, LAUNCHER, ZYGOTE):
        assert entries[path][0] == "-rwxr-xr-x", (path, entries[path])
    for path in PLAYGROUND_FILES:
        assert entries[path] == ("-rw-r--r--", "root/root"), (path, entries[path])
    assert entries[ENV_FILE] == ("-rw-------", "root/root")
    assert entries["/etc/pyexec"] == ("drwxr-x---", "root/root")
    assert entries[SITE] == ("-rw-r--r--", "root/root")
    # the site is only available, never enabled by the package
    assert not any(p.startswith("/etc/nginx/sites-enabled") for p in entries)
    assert not any("/etc/systemd/system" in p for p in entries)
    # the keys map is made by postinst (kept on upgrade), not shipped
    assert KEYS_MAP not in entries


def test_control_fields_and_conffiles():
    deb = deb_path()
    fields = {}
    for name in ("Package", "Version", "Depends", "Recommends", "Suggests"):
        fields[name] = run(["dpkg-deb", "-f", deb, name]).stdout.strip()
    assert fields["Package"] == PACKAGE
    with open(os.path.join(TOP, "configure.ac")) as f:
        upstream = re.search(r"AC_INIT\(\[pyexec\],\s*\[([^]]+)\]", f.read()).group(1)
    assert fields["Version"].startswith(upstream + "-"), fields["Version"]
    depends = {re.split(r"[ (]", alt.strip())[0]
               for dep in fields["Depends"].split(",") for alt in dep.split("|")}
    for dep in EXPECTED_DEPENDS:
        assert dep in depends, "Depends lacks " + dep + ": " + fields["Depends"]
    # ${shlibs:Depends} was filled in
    for lib in ("libc6", "libfcgi0ldbl", "libjson-c5", "libseccomp2", "libcgroup2", "libcurl4"):
        assert lib in depends, "Depends lacks " + lib + ": " + fields["Depends"]
    assert "python3-scipy" in fields["Recommends"]
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    assert ENV_FILE in conffiles and SITE in conffiles, conffiles
    assert KEYS_MAP not in conffiles


@pytest.fixture(scope="module")
def extracted():
    d = tempfile.mkdtemp(prefix="pyexec-pkgdeb.")
    try:
        run(["dpkg-deb", "-x", deb_path(), d])
        run(["dpkg-deb", "-e", deb_path(), d + "/DEBIAN"])
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_unit_execstart_is_the_packaged_binary(extracted):
    unit = parse_unit(extracted + UNIT)
    argv = exec_start_argv(unit)
    assert argv[0] == "/usr/bin/spawn-fcgi" and "-n" in argv, argv
    assert argv[-1] == SBIN, argv
    assert os.path.isfile(extracted + SBIN)
    assert "/etc/pyexec/pyexec.env" in unit["Service"]["EnvironmentFile"][0]
    assert unit["Service"]["RuntimeDirectory"] == ["pyexec"]
    # not enabled: no wants/ symlink shipped (checked after install too)
    assert not glob.glob(extracted + "/etc/systemd/system/*.wants/pyexec.service")


def test_unit_waits_for_the_drain_and_cleans_up(extracted):
    """TimeoutStopSec covers the master's drain with the default limits
    (`pyexec-fcgi --budget`), or systemd would SIGKILL requests in flight;
    ExecStopPost removes what a killed master's guard could not."""
    unit = parse_unit(extracted + UNIT)
    budget = run([extracted + SBIN, "--budget"], env={"PATH": "/usr/bin:/bin"}).stdout
    drain = int(re.search(r"^drain=(\d+)$", budget, re.M).group(1))
    stop = unit["Service"]["TimeoutStopSec"][0]
    assert stop.isdigit() and int(stop) > drain, (stop, drain)
    assert unit["Service"]["KillMode"] == ["mixed"]
    assert unit["Service"]["ExecStopPost"] == [SBIN + " --cleanup"]
    # nginx's copy of the keyless list, made current before each start
    assert unit["Service"]["ExecStartPre"] == ["+" + SBIN + " --nginx-geo-update"]
    assert unit["Service"]["Delegate"] == ["yes"]
    assert "RestrictRealtime" not in unit["Service"]


# What the master and its root helpers use (docs/security.md, "Capabilities");
# the processes of a slot get a full set in the slot's own user namespace,
# which the unit's bounding set does not reach.
UNIT_CAPABILITIES = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL",
                     "CAP_MKNOD", "CAP_NET_ADMIN", "CAP_SETGID", "CAP_SETUID",
                     "CAP_SYS_ADMIN", "CAP_SYS_NICE"}


def test_unit_bounds_capabilities_and_core_dumps(extracted):
    """The unit drops every capability the master never uses, and no
    process of the unit dumps core (the master holds the LLM key):
    LimitCORE=1, the value that also aborts a core_pattern pipe."""
    svc = parse_unit(extracted + UNIT)["Service"]
    bset = svc.get("CapabilityBoundingSet", [])
    assert len(bset) == 1, bset
    assert set(bset[0].split()) == UNIT_CAPABILITIES, bset
    for cap in ("CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
                "CAP_NET_RAW", "CAP_BPF", "CAP_SYS_TIME", "CAP_SETPCAP",
                "CAP_SETFCAP", "CAP_SYS_RESOURCE"):
        assert cap not in bset[0], cap
    assert "AmbientCapabilities" not in svc
    assert svc.get("LimitCORE") == ["1"], svc.get("LimitCORE")


def test_compiled_in_paths_are_the_packaged_files(extracted):
    strings = run(["strings", "-a", extracted + SBIN]).stdout.splitlines()
    for path in (LAUNCHER, ZYGOTE, RUNNER):
        assert path in strings, path + " is not pyexec-fcgi's default"
        assert os.path.isfile(extracted + path), path + " is not in the package"
    assert "/usr/bin/python3" in strings
    assert not [s for s in strings if "/usr/local/" in s], "a /usr/local default is left"


def test_env_file_shows_the_package_paths(extracted):
    env_example = os.path.join(TOP, "systemd", "pyexec.env.example")
    with open(env_example) as f:
        example = f.read()
    with open(extracted + ENV_FILE) as f:
        env = f.read()
    assert "/usr/local" not in env
    shown = dict(re.findall(r"^#(PYEXEC_(?:LAUNCHER|RUNNER|ZYGOTE))=(\S+)$", env, re.M))
    assert shown == {"PYEXEC_LAUNCHER": LAUNCHER, "PYEXEC_RUNNER": RUNNER,
                     "PYEXEC_ZYGOTE": ZYGOTE}, shown
    # otherwise the example as it is: every variable commented out
    assert len(env.splitlines()) == len(example.splitlines())
    assert not [ln for ln in env.splitlines() if ln.strip() and not ln.startswith("#")]


def test_nginx_site_rendered_with_the_package_defaults(extracted):
    with open(extracted + SITE, encoding="utf-8") as f:
        site = f.read()
    assert not re.search(r"@[A-Z][A-Z0-9_]*@", site), "placeholder left in the site"
    budget = run(["env", "-i", "PATH=/usr/bin:/bin", extracted + SBIN, "--budget"]).stdout
    rt = re.search(r"^fastcgi_read_timeout=(\d+)$", budget, re.M).group(1)
    # The production values of nginx/README.md, the limits of scripts/dev's
    # load_config, the read timeout of the packaged binary's --budget.
    values = {
        "LISTEN": "127.0.0.1:8080",
        "UPSTREAM_SERVERS": "server unix:/run/pyexec/pyexec.sock;",
        "KEYS_MAP": KEYS_MAP,
        "MAX_BODY": "1m",
        "KEY_RATE": "20", "KEY_BURST": "40",
        "ANONYMOUS_GEO": "include %s;" % ANON_CONF, "ANON_RATE": "20", "ANON_BURST": "40",
        "ADDR_RATE": "50", "ADDR_BURST": "100",
        "ACCESS_LOG": ACCESS_LOG,
        "DOCS_DIR": "/usr/share/pyexec",
        "PLAYGROUND_DIR": "/usr/share/pyexec/playground",
        "BACKEND_SECRET_CONF": SECRET_CONF,
        "READ_TIMEOUT": rt,
    }
    with open(os.path.join(TOP, "nginx", "pyexec.conf.in"), encoding="utf-8") as f:
        template = f.read()
    names = set(re.findall(r"@([A-Z][A-Z0-9_]*)@", template))
    assert names, "the template has no placeholders?"
    assert not names - set(values), "placeholders the test does not know: %r" % (names - set(values))
    expected = re.sub(r"@([A-Z][A-Z0-9_]*)@", lambda m: values[m.group(1)], template)
    # the site is the template filled in, after a header of comments
    assert site.endswith(expected), "the site is not the template with the package's values"
    header = site[:len(site) - len(expected)]
    assert all(ln.startswith("#") for ln in header.splitlines()), header
    assert re.search(r"^\s*fastcgi_read_timeout\s+%ss;$" % rt, site, re.M)
    assert re.search(r"^\s*listen 127\.0\.0\.1:8080;$", site, re.M)


def test_nginx_site_geo_includes_the_list_pyexec_fcgi_writes(extracted):
    """The keyless list is written once (PYEXEC_ANONYMOUS_FROM): the packaged
    pyexec-fcgi writes the file the site's geo block includes, and nginx
    takes the site's geo block with it (empty, and with entries)."""
    with open(extracted + SITE, encoding="utf-8") as f:
        site = f.read()
    geo = re.search(r"^geo \$pyexec_anon_from \{\n(.*?)^\}", site, re.M | re.S).group(1)
    assert geo.split() == ["default", "0;", "include", ANON_CONF + ";"], geo
    d = tempfile.mkdtemp(prefix="pyexec-pkggeo.")
    try:
        conf = os.path.join(d, "nginx-anonymous.conf")
        for listed, want in (("", ""), ("127.0.0.1,10.1.2.0/24 2001:db8::/32",
                                        "127.0.0.1 1;\n10.1.2.0/24 1;\n2001:db8::/32 1;\n")):
            run([extracted + SBIN, "--nginx-geo-update"],
                env={"PYEXEC_ANONYMOUS_FROM": listed, "PYEXEC_NGINX_ANONYMOUS_CONF": conf})
            with open(conf) as f:
                assert f.read() == want
            assert stat.S_IMODE(os.stat(conf).st_mode) == 0o644
            with open(os.path.join(d, "nginx.conf"), "w") as f:
                f.write("pid %s/nginx.pid;\nevents {}\nhttp {\n%s}\n" % (
                    d, geo_block(site).replace(ANON_CONF, conf)))
            t = run(["nginx", "-p", d + "/", "-c", d + "/nginx.conf", "-e", d + "/error.log",
                     "-t", "-q"], check=False)
            assert t.returncode == 0, "nginx -t: " + t.stdout + t.stderr
        bad = run([extracted + SBIN, "--nginx-geo-update"], check=False,
                  env={"PYEXEC_ANONYMOUS_FROM": "0.0.0.0/0", "PYEXEC_NGINX_ANONYMOUS_CONF": conf})
        assert bad.returncode != 0 and "is everyone" in bad.stderr, bad.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def geo_block(site):
    return re.search(r"^geo \$pyexec_anon_from \{\n.*?^\}\n", site, re.M | re.S).group(0)


# ------------------------------------------------- maintainer scripts ---
NS_SCRIPT = r'''
set -eu
T=$1 CTRL=$2 PRE=$3
mount -t tmpfs tmpfs "$T"
for d in /etc /var/lib /run; do
    n=$(echo "$d" | tr / _)
    mkdir -p "$T/u$n" "$T/w$n"
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/u$n,workdir=$T/w$n" "$d"
done
# The world before the install, inside the namespace only.
sed -i '/^pyexec:/d' /etc/passwd /etc/group /etc/shadow /etc/gshadow
rm -rf /etc/pyexec /var/lib/pyexec /run/pyexec
if [ "$PRE" = 1 ]; then
    useradd --system --no-create-home --shell /usr/sbin/nologin pyexec
fi
report() { printf '%s=%s\n' "$1" "$2"; }
group_of() { getent group pyexec >/dev/null && echo pyexec || echo none; }
report pre_uid "$(id -u pyexec 2>/dev/null || echo none)"
"$CTRL/postinst" configure "" >/dev/null
report uid "$(id -u pyexec 2>/dev/null || echo none)"
report passwd "$(getent passwd pyexec || echo none)"
report group "$(group_of)"
report marker "$(cat /var/lib/pyexec/created-user 2>/dev/null || echo none)"
report map "$(stat -c '%a %U %G' /etc/pyexec/api-keys.map)"
report etc "$(stat -c '%a %U %G' /etc/pyexec)"
report map_keys "$(grep -vc '^#' /etc/pyexec/api-keys.map || true)"
report secret "$(stat -c '%a %U %G %s' /etc/pyexec/backend-secret)"
report secret_hex "$(grep -cxE '[0-9a-f]{64}' /etc/pyexec/backend-secret || true)"
report secret_conf "$(stat -c '%a %U %G' /etc/pyexec/nginx-backend-secret.conf)"
report anon_conf "$(stat -c '%a %U %G %s' /etc/pyexec/nginx-anonymous.conf)"
report secret_agree "$(grep -c "^fastcgi_param  PYEXEC_BACKEND_SECRET  \"$(cat /etc/pyexec/backend-secret)\";$" /etc/pyexec/nginx-backend-secret.conf || true)"
secret1=$(cat /etc/pyexec/backend-secret)
echo '"~^k1234567$" "k:0123456789ab";' >>/etc/pyexec/api-keys.map
# an upgrade: configure again
"$CTRL/postinst" configure 0.1.0-1 >/dev/null
report uid2 "$(id -u pyexec 2>/dev/null || echo none)"
report map_kept "$(grep -c 'k1234567' /etc/pyexec/api-keys.map)"
report secret_kept "$([ "$secret1" = "$(cat /etc/pyexec/backend-secret)" ] && echo yes || echo no)"
"$CTRL/postrm" remove >/dev/null
report uid_after_remove "$(id -u pyexec 2>/dev/null || echo none)"
"$CTRL/postrm" purge >/dev/null
report uid_after_purge "$(id -u pyexec 2>/dev/null || echo none)"
report group_after_purge "$(group_of)"
report etc_after_purge "$(test -e /etc/pyexec && echo present || echo gone)"
report state_after_purge "$(test -e /var/lib/pyexec && echo present || echo gone)"
'''


def run_maintscripts_in_namespace(extracted, preexisting):
    """postinst configure (twice), postrm remove and purge of the built
    package in a private mount namespace whose /etc, /var/lib and /run are
    overlays on a tmpfs: the host's files are never touched."""
    tmp = tempfile.mkdtemp(prefix="pyexec-pkgns.")
    try:
        p = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", NS_SCRIPT,
                 "ns", tmp, extracted + "/DEBIAN", "1" if preexisting else "0"],
                check=False)
        assert p.returncode == 0, "maintainer scripts failed:\n" + p.stdout + p.stderr
        return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(tmp)


def test_maintscripts_make_and_purge_the_user_they_made(extracted):
    r = run_maintscripts_in_namespace(extracted, preexisting=False)
    assert r["pre_uid"] == "none"
    assert r["uid"] != "none" and int(r["uid"]) < 1000, r
    name, _x, _uid, _gid, _gecos, home, shell = r["passwd"].split(":")
    assert (name, home, shell) == ("pyexec", "/nonexistent", "/usr/sbin/nologin"), r
    assert r["group"] == "pyexec"
    assert r["marker"] == "pyexec"
    assert r["map"] == "600 root root" and r["map_keys"] == "0", r
    # the backend secret: root's, 0600, 64 hex digits and a newline; nginx's
    # include holds the same; an upgrade (configure again) keeps it
    assert r["secret"] == "600 root root 65" and r["secret_hex"] == "1", r
    assert r["secret_conf"] == "600 root root" and r["secret_agree"] == "1", r
    # nginx's keyless list: no pyexec.env, no address; 0644, never writable
    # by others (made empty if pyexec-fcgi is not at its place yet)
    assert r["anon_conf"] == "644 root root 0", r
    assert r["secret_kept"] == "yes", r
    assert r["uid2"] == r["uid"] and r["map_kept"] == "1", r
    assert r["uid_after_remove"] == r["uid"], "remove (not purge) must keep the user"
    assert r["uid_after_purge"] == "none" and r["group_after_purge"] == "none", r
    assert r["etc_after_purge"] == "gone" and r["state_after_purge"] == "gone", r


def test_maintscripts_keep_a_user_that_was_there_before(extracted):
    r = run_maintscripts_in_namespace(extracted, preexisting=True)
    assert r["pre_uid"] != "none"
    assert r["uid"] == r["pre_uid"], "postinst changed an existing user"
    assert r["marker"] == "none", "postinst claimed a user it did not make"
    assert r["uid_after_purge"] == r["pre_uid"], "purge removed a user the package did not make"
    assert r["group_after_purge"] == "pyexec", r
    assert r["etc_after_purge"] == "gone" and r["state_after_purge"] == "gone", r


# The state directory's mode, and purge with a custom PYEXEC_WORKSPACE_DIR:
# the images the store made there go (remembered at remove, since dpkg
# deletes the environment file, a conffile, before postrm purge), nothing
# else does, and nothing is followed through a link.
NS_WS_SCRIPT = r'''
set -eu
T=$1 CTRL=$2
mount -t tmpfs tmpfs "$T"
for d in /etc /var/lib /run; do
    n=$(echo "$d" | tr / _)
    mkdir -p "$T/u$n" "$T/w$n"
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/u$n,workdir=$T/w$n" "$d"
done
sed -i '/^pyexec:/d' /etc/passwd /etc/group /etc/shadow /etc/gshadow
rm -rf /etc/pyexec /var/lib/pyexec /run/pyexec
report() { printf '%s=%s\n' "$1" "$2"; }
"$CTRL/postinst" configure "" >/dev/null
report state "$(stat -c '%a %U %G' /var/lib/pyexec)"
chmod 0755 /var/lib/pyexec          # an older version's mode
"$CTRL/postinst" configure 0.1.0-1 >/dev/null
report state_upgraded "$(stat -c '%a %U %G' /var/lib/pyexec)"
# What the store makes under PYEXEC_WORKSPACE_DIR=$W (instance "a", and
# "b" with an operator's file in a client directory), and what it does not.
W=$T/srv/ws
mk() { mkdir -p "$1"; chmod 0700 "$1"; }
mk "$W/a"; mk "$W/a/c-6162"; mk "$W/b"; mk "$W/b/c-00"; mk "$T/victim"; mk "$T/victim/c-00"
: >"$W/a/c-6162/w-6364.img"; : >"$W/a/c-6162/w-6365.img.new"
: >"$W/a/probe.img"; mknod "$W/a/loop.node" b 7 0
mk "$W/a/blank"; : >"$W/a/blank/b-0.img"; : >"$W/a/blank/b-1.img.new"
mk "$W/b/blank"; : >"$W/b/blank/b-0.img"; : >"$W/b/blank/mine.txt" # not ours
: >"$W/b/c-00/w-01.img"; : >"$W/b/c-00/notes.txt"
mkdir -p "$W/other/c-00"; : >"$W/other/c-00/w-02.img"    # 0755: not ours
: >"$W/keep.txt"; : >"$W/w-03.img"
: >"$T/victim/c-00/w-04.img"; ln -s "$T/victim" "$W/link"
ln -s "$T/victim/c-00" "$W/b/c-05"
printf '# set by the operator\nPYEXEC_WORKSPACE_DIR="%s"\n' "$W" >/etc/pyexec/pyexec.env
"$CTRL/postrm" remove >/dev/null
report remembered "$(cat /var/lib/pyexec/workspace-dir)"
rm -f /etc/pyexec/pyexec.env        # dpkg: conffiles go before postrm purge
"$CTRL/postrm" purge 2>"$T/purge.err" >/dev/null
report left "$(cd "$W" && find . | sort | tr '\n' ' ')"
report victim "$(cd "$T/victim" && find . | sort | tr '\n' ' ')"
report said "$(tr '\n' ' ' <"$T/purge.err")"
report state_after_purge "$(test -e /var/lib/pyexec && echo present || echo gone)"
'''


def test_maintscripts_state_dir_0700_and_purge_of_a_custom_workspace_dir(extracted):
    tmp = tempfile.mkdtemp(prefix="pyexec-pkgns.")
    try:
        p = run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 NS_WS_SCRIPT, "ns", tmp, extracted + "/DEBIAN"], check=False)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(tmp)
    assert p.returncode == 0, "maintainer scripts failed:\n" + p.stdout + p.stderr
    r = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    # the unit says StateDirectoryMode=0700: postinst agrees, and mends 0755
    assert r["state"] == "700 root root", r
    assert r["state_upgraded"] == "700 root root", r
    assert r["remembered"].endswith("/srv/ws"), r
    # a's images, blanks, probe, loop node and its directories are gone; b
    # keeps the operator's files (so their directories), the link it holds
    # and nothing else; what is not in the store's layout stays
    assert r["left"].split() == [
        ".", "./b", "./b/blank", "./b/blank/mine.txt", "./b/c-00",
        "./b/c-00/notes.txt", "./b/c-05", "./keep.txt",
        "./link", "./other", "./other/c-00", "./other/c-00/w-02.img",
        "./w-03.img"], r
    assert r["victim"].split() == [".", "./c-00", "./c-00/w-04.img"], r
    assert "removed the workspace images under" in r["said"], r
    assert r["state_after_purge"] == "gone", r


# --------------------------------------------- install, run, purge here ---
@pytest.fixture(scope="module")
def installed():
    """The package installed in tests/package/run's root (or, with
    PYEXEC_PACKAGE_TEST_ON_HOST=1, on this machine) with apt (dependencies
    from the archive); restored afterwards whatever happened."""
    assert IN_ROOT or ON_HOST, (
        "the install tests run in tests/package/run's throwaway root "
        "(scripts/package test); PYEXEC_PACKAGE_TEST_ON_HOST=1 installs the "
        "package on this machine instead")
    deb = deb_path()
    assert dpkg_status(PACKAGE) in ("", "unknown ok not-installed"), (
        "pyexec is installed already (%s): purge it first (apt-get purge pyexec)"
        % dpkg_status(PACKAGE))
    before = {
        "user": getpw(USER),
        "group": getgr(USER),
        "packages": installed_packages(),
        "paths": {p: os.path.lexists(p) for p in (
            "/etc/pyexec", STATE_DIR, RUN_DIR, "/var/log/nginx", ACCESS_LOG)},
        "cgroup_parent": {d: os.path.isdir(d + "/pyexec")
                          for d in glob.glob("/sys/fs/cgroup/*")},
    }
    assert not cgroup_dirs(INSTANCE), "leftover pyexec/%s cgroups before the test" % INSTANCE
    assert not package_processes(), "a process of the package runs before the install"

    info = {"before": before, "procs": []}
    try:
        sim = run(APT + ["install", "-s", deb], env=APT_ENV)
        new = [ln.split()[1] for ln in sim.stdout.splitlines()
               if ln.startswith("Inst ") and ln.split()[1] != PACKAGE]
        guard = no_service_starts() if new else contextlib.nullcontext()
        with guard:
            p = run(APT + ["install", deb], check=False, env=APT_ENV)
        info["install"] = p
        assert p.returncode == 0, "apt-get install failed:\n" + p.stdout + p.stderr
        info["inodes"] = binary_inodes()
        yield info
    finally:
        restore(info)


def restore(info):
    before = info["before"]
    # processes the tests started (normally stopped already)
    for proc in info["procs"]:
        if proc.poll() is None:
            kill9(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
    for pid in cgroup_tree_pids(INSTANCE):
        kill9(pid)
    time.sleep(0.2)
    remove_cgroup_tree(INSTANCE)
    for ctl, had in before["cgroup_parent"].items():
        if not had:
            with contextlib.suppress(OSError):
                os.rmdir(ctl + "/pyexec")
    if dpkg_status(PACKAGE) not in ("", "unknown ok not-installed"):
        purge_package()
    new = sorted(installed_packages() - before["packages"])
    if new:
        with no_service_starts():
            run(APT + ["purge"] + [n.split(":")[0] for n in new], check=False, env=APT_ENV)
    if before["user"] is None and getpw(USER) is not None:
        run(["userdel", USER], check=False)
    if before["group"] is None and getgr(USER) is not None:
        run(["groupdel", USER], check=False)
    for path, existed in before["paths"].items():
        if not existed and os.path.lexists(path):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def test_install_creates_the_user_and_starts_nothing(installed):
    assert dpkg_status(PACKAGE) == "install ok installed"
    pw = getpw(USER)
    assert pw is not None, "no user pyexec after the install"
    if installed["before"]["user"] is not None:
        assert pw.pw_uid == installed["before"]["user"].pw_uid, "the existing user was changed"
        assert not os.path.exists(STATE_DIR + "/created-user")
    else:
        assert pw.pw_dir == "/nonexistent" and pw.pw_uid < 1000
        with open(STATE_DIR + "/created-user") as f:
            assert f.read().strip() == USER
    # nothing started, nothing enabled
    assert not package_processes(installed["inodes"])
    assert not os.path.lexists("/etc/nginx/sites-enabled/pyexec")
    assert not [f for f in os.listdir("/etc/nginx/sites-enabled")
                if os.path.realpath(os.path.join("/etc/nginx/sites-enabled", f)) == SITE]
    assert not glob.glob("/etc/systemd/system/*.wants/pyexec.service")
    # the keys map: made by postinst, root only, no key in it
    st = os.stat(KEYS_MAP)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0 and st.st_gid == 0
    with open(KEYS_MAP) as f:
        assert not [ln for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    st = os.stat(ENV_FILE)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    assert stat.S_IMODE(os.stat("/etc/pyexec").st_mode) == 0o750
    # the backend secret and nginx's include of it: root only, the same
    for path in (SECRET, SECRET_CONF):
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0 and st.st_gid == 0, path
    with open(SECRET) as f:
        secret = f.read()
    assert re.fullmatch(r"[0-9a-f]{64}\n", secret), "not a backend secret"
    with open(SECRET_CONF) as f:
        assert 'fastcgi_param  PYEXEC_BACKEND_SECRET  "%s";' % secret.strip() in f.read()
    # nginx's keyless list, which the site's geo block includes: root's,
    # 0644, empty (the packaged pyexec.env lists no address)
    st = os.stat(ANON_CONF)
    assert stat.S_IMODE(st.st_mode) == 0o644 and st.st_uid == 0 and st.st_gid == 0
    assert st.st_size == 0, ANON_CONF
    # dpkg knows both conffiles
    conf = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE]).stdout
    assert ENV_FILE in conf and SITE in conf, conf


def test_docs_installed(installed):
    """Every document debian/pyexec.docs names (docs/reliability.md among
    them) is installed in /usr/share/doc/pyexec, as it is in the source
    (dh_compress gzips the larger ones)."""
    with open(os.path.join(TOP, "debian", "pyexec.docs")) as f:
        docs = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    assert "docs/reliability.md" in docs, docs
    listed = set(run(["dpkg-query", "-L", PACKAGE]).stdout.split("\n"))
    for doc in docs:
        with open(os.path.join(TOP, doc), "rb") as f:
            want = f.read()
        path = "/usr/share/doc/pyexec/" + os.path.basename(doc)
        if os.path.isfile(path + ".gz"):
            path += ".gz"
            with gzip.open(path) as f:
                got = f.read()
        else:
            with open(path, "rb") as f:
                got = f.read()
        assert path in listed, path + " is not the package's"
        assert got == want, path + " is not " + doc


@pytest.fixture
def scratch():
    """A temporary directory, removed afterwards (pytest's own tmp_path
    would keep the last runs' in /tmp)."""
    d = tempfile.mkdtemp(prefix="pyexec-pkgtest.")
    try:
        yield pathlib.Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def master(installed, scratch):
    """pyexec-fcgi started exactly as the installed unit's ExecStart says,
    by hand (no systemd here): RuntimeDirectory, EnvironmentFile, own
    session.  Yields (Popen, log path); stopped by its pid afterwards."""
    unit = parse_unit(UNIT)
    svc = unit["Service"]
    argv = exec_start_argv(unit)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    for ef in svc.get("EnvironmentFile", []):
        optional = ef.startswith("-")
        path = ef.lstrip("-")
        if os.path.exists(path) or not optional:
            env.update(parse_env_file(path))
    env.update(TEST_ENV)
    for name in svc.get("RuntimeDirectory", []):
        for d in name.split():
            rd = os.path.join("/run", d)
            os.makedirs(rd, exist_ok=True)
            os.chmod(rd, int(svc.get("RuntimeDirectoryMode", ["0755"])[0], 8))
            env["RUNTIME_DIRECTORY"] = rd
    assert not os.path.exists(SOCK), SOCK + " exists before the start"
    # The unit's capability bounding set (setpriv, which execs in place) and
    # its LimitCORE=, as systemd would apply them.
    caps = svc.get("CapabilityBoundingSet", [""])[0].split()
    if caps:
        argv = ["setpriv", "--bounding-set=-all," + ",".join(
            "+" + c[len("CAP_"):].lower() for c in caps), "--"] + argv
    core = int(svc.get("LimitCORE", ["-1"])[0])
    log = scratch / "pyexec.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd="/", stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True,
                                preexec_fn=None if core < 0 else lambda: resource.setrlimit(
                                    resource.RLIMIT_CORE, (core, core)))
    installed["procs"].append(proc)
    yield proc, log, argv
    stop_session(proc, signal.SIGTERM, 30)
    for pid in cgroup_tree_pids(INSTANCE):
        kill9(pid)
    # systemd removes the RuntimeDirectory when the service stops
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def stop_session(proc, sig, wait):
    """Stops proc (a session leader this test started) with sig, SIGKILL
    after wait seconds, then whatever is left of its session."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            kill9(proc.pid)
            proc.wait(timeout=10)
    for pid in all_pids():
        if proc_sid(pid) == proc.pid:
            kill9(pid)


# docs/operations.md, "Configure": how an operator adds a key (hex keys
# need no escaping in the map's regex).
ADD_KEY = ('printf \'"~^%s$" "k:%s";\\n\' "$key" '
           '"$(printf %s "$key" | sha256sum | cut -c1-12)" >>/etc/pyexec/api-keys.map')


@pytest.fixture
def api_key(installed):
    key = secrets.token_hex(24)
    run(["bash", "-c", ADD_KEY], env={"key": key, "PATH": os.environ["PATH"]})
    fp = hashlib.sha256(key.encode()).hexdigest()[:12]
    with open(KEYS_MAP) as f:
        assert '"~^%s$" "k:%s";\n' % (key, fp) in f.read()
    return key


@pytest.fixture
def private_nginx(installed, api_key, scratch):
    """nginx with a private top-level configuration (like nginx/nginx-dev.conf.in)
    including the installed site, its listen line moved to 127.0.0.1:18310."""
    assert not port_busy(NGINX_LISTEN), "something listens on " + NGINX_LISTEN + " already"
    d = scratch / "nginx"
    (d / "tmp").mkdir(parents=True)
    for p in (scratch, d, d / "tmp"):
        os.chmod(p, 0o755)      # www-data reaches the temp paths
    with open(SITE, "rb") as f:
        original = f.read().split(b"\n")
    listen = [i for i, ln in enumerate(original)
              if re.match(rb"^\s*listen\s+\S+;\s*$", ln)]
    assert len(listen) == 1, "the site must have one listen line"
    i = listen[0]
    assert original[i].strip() == b"listen 127.0.0.1:8080;", original[i]
    site = list(original)
    site[i] = re.sub(rb"listen\s+\S+;", b"listen " + NGINX_LISTEN.encode() + b";", site[i])
    assert site[:i] == original[:i] and site[i + 1:] == original[i + 1:]
    assert site[i] != original[i]
    (d / "pyexec-site.conf").write_bytes(b"\n".join(site))
    conf = """user www-data;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    client_body_temp_path {d}/tmp/client_body;
    fastcgi_temp_path     {d}/tmp/fastcgi;
    proxy_temp_path       {d}/tmp/proxy;
    uwsgi_temp_path       {d}/tmp/uwsgi;
    scgi_temp_path        {d}/tmp/scgi;
    access_log {d}/access.log;
    server_tokens off;
    include {d}/pyexec-site.conf;
}}
""".format(d=d)
    (d / "nginx.conf").write_text(conf)
    os.makedirs(os.path.dirname(ACCESS_LOG), exist_ok=True)   # restore() removes it if new
    base = ["nginx", "-p", str(d) + "/", "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]
    t = run(base + ["-t", "-q"], check=False)
    assert t.returncode == 0, "nginx -t: " + t.stdout + t.stderr
    with open(d / "nginx.out", "wb") as out:
        proc = subprocess.Popen(base + ["-g", "daemon off;"], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    installed["procs"].append(proc)
    yield proc, d
    stop_session(proc, signal.SIGQUIT, 10)   # graceful stop of nginx's master


def tail(path, n=40):
    with contextlib.suppress(OSError):
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    return ""


def test_service_started_as_the_unit_says_answers_through_nginx(
        installed, master, api_key, private_nginx):
    proc, log, argv = master
    ngx, ngx_dir = private_nginx
    # the socket spawn-fcgi makes for www-data
    deadline = time.monotonic() + 30
    while not os.path.exists(SOCK) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "pyexec-fcgi exited (%s):\n%s" % (proc.returncode, tail(log))
    assert stat.S_ISSOCK(os.stat(SOCK).st_mode), SOCK
    st = os.stat(SOCK)
    assert pwd.getpwuid(st.st_uid).pw_name == "www-data"
    assert stat.S_IMODE(os.stat(RUN_DIR).st_mode) == 0o755
    # spawn-fcgi -n exec'd the packaged master in place: the pid we started
    assert proc_exe(proc.pid) == SBIN == argv[-1]
    # with the unit's capabilities, and no core file
    with open("/proc/%d/status" % proc.pid) as f:
        bnd = int(re.search(r"^CapBnd:\s*([0-9a-f]+)$", f.read(), re.M).group(1), 16)
    with open("/usr/include/linux/capability.h") as f:
        numbers = dict(re.findall(r"^#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$", f.read(), re.M))
    assert bnd == sum(1 << int(numbers[c]) for c in UNIT_CAPABILITIES), hex(bnd)
    assert resource.prlimit(proc.pid, resource.RLIMIT_CORE) == (1, 1)

    # /health answers 200 once every slot is ready, and each slot's warm
    # interpreters (the zygote library, the preloaded numpy/pandas) get ready
    def warm_ready(d):
        return all(sl["warm"]["bare"] == "ready" and sl["warm"]["data"] == "ready"
                   for sl in d.get("slots", []))
    deadline = time.monotonic() + 90
    status = doc = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, "pyexec-fcgi exited (%s):\n%s" % (proc.returncode, tail(log))
        assert ngx.poll() is None, "nginx exited:\n" + tail(ngx_dir / "error.log")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _h, _b, doc = http_request("GET", "/health", timeout=5)
            if status == 200 and doc and warm_ready(doc):
                break
        time.sleep(0.5)
    assert status == 200, "no healthy /health (last %s %r):\n%s" % (status, doc, tail(log))
    assert doc["status"] == "healthy" and doc["slots"], doc
    assert warm_ready(doc), "warm interpreters not ready: %r\n%s" % (doc, tail(log))

    # the slots' processes are the packaged launcher and zygote library, in
    # the cgroups of this instance
    # (the launcher copies the zygote library, read from PYEXEC_ZYGOTE's
    # default, into the slot's root as /.pyexec/zygote.so)
    assert cgroup_dirs(INSTANCE), "no pyexec/%s cgroups" % INSTANCE
    ours = cgroup_tree_pids(INSTANCE)
    launchers = [p for p in ours if proc_exe(p) == LAUNCHER]
    assert launchers, "no %s in the pyexec/%s cgroups" % (LAUNCHER, INSTANCE)
    zygotes = []
    for p in ours:
        with contextlib.suppress(OSError):
            with open("/proc/%d/maps" % p) as f:
                if "/.pyexec/zygote.so" in f.read():
                    zygotes.append(p)
    assert zygotes, "no warm interpreter with the zygote library in pyexec/" + INSTANCE

    # a run, through the key check
    body = json.dumps({"code": "import pandas; print(1+1)"})
    status, headers, raw, doc = http_request(
        "POST", "/v1/execute", body=body,
        headers={"Integrations-API-Key": api_key, "Content-Type": "application/json"})
    assert status == 200, (status, raw, tail(log))
    assert doc["status"] == "success", doc
    runs = [it for it in doc["response"] if it.get("type") == "execution"]
    assert len(runs) == 1, doc
    assert runs[0]["outcome"] == "completed" and runs[0]["stdout"] == "2\n", runs[0]
    assert runs[0]["warm"] is True, runs[0]

    # a process of www-data (every web application of the host) on the
    # socket, with nginx's params but not its secret: refused
    forged = forge_as_www_data(SOCK, "/v1/execute", body)
    assert forged[:2] == (403, "untrusted_peer"), forged

    # a wrong key: nginx's 401 JSON envelope
    status, headers, raw, doc = http_request(
        "POST", "/v1/execute", body=body,
        headers={"Integrations-API-Key": api_key[::-1], "Content-Type": "application/json"})
    assert status == 401, (status, raw)
    assert doc["status"] == "error" and doc["response"][0]["code"] == "unauthorized", doc
    assert headers.get("Content-Type", "").startswith("application/json")

    # the API reference from the package's DOCS_DIR, no key
    status, _h, raw, doc = http_request("GET", "/openapi.json")
    assert status == 200 and doc and "openapi" in doc, (status, raw[:200])
    status, _h, raw, _d = http_request("GET", "/docs")
    assert status == 200 and b"<html" in raw.lower(), (status, raw[:200])

    check_playground_served()

    # the site's access log, where the installed site says
    with open(ACCESS_LOG) as f:
        lines = f.read().splitlines()
    assert any('"path":"/v1/execute"' in ln and '"status":401' in ln for ln in lines)
    assert not any(api_key in ln for ln in lines), "the key is in the access log"

    # SIGTERM to the master (as systemctl stop does): it drains and exits,
    # and takes its slots, processes and cgroups with it
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("pyexec-fcgi did not exit within 30 s of SIGTERM:\n" + tail(log))
    assert rc == 0, "pyexec-fcgi exited with %d:\n%s" % (rc, tail(log))
    deadline = time.monotonic() + 5
    inodes = installed["inodes"]
    while (package_processes(inodes) or cgroup_dirs(INSTANCE)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not package_processes(inodes), "left running: %r" % package_processes(inodes)
    assert not cgroup_dirs(INSTANCE), "cgroups left: %r" % cgroup_dirs(INSTANCE)
    assert not [p for p in all_pids() if proc_sid(p) == proc.pid]
    # systemd removes the RuntimeDirectory on stop; so do we
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    assert not os.path.exists(RUN_DIR)


def forge_as_www_data(sock, path, body):
    """POST path to the FastCGI socket from a child running as www-data,
    with what nginx sends but PYEXEC_BACKEND_SECRET; (status, error code)."""
    body = body.encode()
    data = fcgi.request((
        ("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", path),
        ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", str(len(body))),
        ("PYEXEC_KEY_VALID", "1"), ("PYEXEC_CLIENT", "k:000000000000"),
        ("REMOTE_ADDR", "127.0.0.1")), body)
    www = pwd.getpwnam("www-data")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                            # the child: www-data
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(www.pw_gid)
            os.setuid(www.pw_uid)
            os.write(w, fcgi.exchange(sock, data))
        finally:
            os._exit(0)
    os.close(w)
    out = b""
    while True:
        d = os.read(r, 65536)
        if not d:
            break
        out += d
    os.close(r)
    os.waitpid(pid, 0)
    status, _, _, raw = fcgi.split_http(fcgi.stdout_of(out))
    try:
        code = json.loads(raw)["response"][0]["code"]
    except (ValueError, KeyError, IndexError):
        code = None
    return status or 0, code, raw[:300]


def check_playground_served():
    """GET /playground through the installed site: the installed page, as
    HTML, with its CSP; then every script and style the page names, from
    the package's playground directory or, under /playground/vendor/, from
    the files of libjs-codemirror and python3-plotly (Depends), byte for
    byte, with a JavaScript or CSS type."""
    status, h, raw, _d = http_request("GET", "/playground")
    assert status == 200, (status, raw[:200])
    assert h.get("Content-Type", "").startswith("text/html"), h
    csp = h.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, h
    assert "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1], csp
    assert h.get("X-Content-Type-Options") == "nosniff", h
    with open(PLAYGROUND + "/index.html", "rb") as f:
        assert raw == f.read(), "/playground is not the installed index.html"
    refs = re.findall(rb'<(?:script[^>]*\ssrc|link[^>]*\shref)="(/playground/[^"]+)"', raw)
    assert refs, "the page names no script or style"
    vendor = [r.decode() for r in refs if r.startswith(b"/playground/vendor/")]
    assert any("codemirror" in v for v in vendor) and "/playground/vendor/plotly.js" in vendor, refs
    for ref in (r.decode() for r in refs):
        status, h, body, _d = http_request("GET", ref)
        assert status == 200, (ref, status, body[:200])
        ctype = h.get("Content-Type", "")
        want = "text/css" if ref.endswith(".css") else "application/javascript"
        assert ctype.startswith(want), (ref, ctype)
        assert "default-src 'self'" in h.get("Content-Security-Policy", ""), (ref, h)
        path = None
        for prefix, target in VENDOR_FILES.items():
            if ref == prefix or (prefix.endswith("/") and ref.startswith(prefix)):
                path = target + ref[len(prefix):]
        if path is None:
            path = PLAYGROUND + ref[len("/playground"):]
        with open(path, "rb") as f:
            assert body == f.read(), (ref, path)
    status, _h, _b, _d = http_request("GET", "/playground/nothing-here.js")
    assert status == 404, status


def test_purge_leaves_nothing(installed):
    paths = run(["dpkg-query", "-L", PACKAGE]).stdout.split("\n")
    paths = [p for p in paths if p.startswith("/") and p != "/."]
    assert SBIN in paths and ENV_FILE in paths and SITE in paths
    user_before = installed["before"]["user"]
    p = purge_package()
    assert p.returncode == 0, "apt-get purge failed:\n" + p.stdout + p.stderr
    assert dpkg_status(PACKAGE) in ("", "unknown ok not-installed"), dpkg_status(PACKAGE)

    left = []
    for path in paths:
        if not os.path.lexists(path):
            continue
        if os.path.isdir(path):
            # a directory (or usrmerge's /lib -> usr/lib) dpkg keeps: another package's, or one with files
            # that are not ours (all of ours are checked one by one)
            if run(["dpkg-query", "-S", path], check=False).returncode == 0 or os.listdir(path):
                continue
        left.append(path)
    assert not left, "left after purge: %r" % left
    for path in ("/etc/pyexec", STATE_DIR, RUN_DIR, "/usr/libexec/pyexec", "/usr/share/pyexec",
                 "/usr/share/doc/pyexec"):
        assert not os.path.lexists(path), path + " left after purge"

    pw = getpw(USER)
    if user_before is None:
        assert pw is None, "purge left the user pyexec the package made"
        assert getgr(USER) is None, "purge left the group pyexec the package made"
    else:
        assert pw is not None and pw.pw_uid == user_before.pw_uid, (
            "purge removed (or changed) the user pyexec that existed before the install")

    assert not cgroup_dirs(INSTANCE), cgroup_dirs(INSTANCE)
    assert not package_processes(installed["inodes"]), package_processes(installed["inodes"])
