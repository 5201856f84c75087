"""GET /metrics (issue 11): the Prometheus text format checked by Debian's
promtool and scraped by a real Prometheus server; counters exact under
concurrency and kept across a worker's restart; readable without a key
only from PYEXEC_METRICS_ALLOW (the test stack: 127.0.0.1 only)."""

import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

import pyexec_http as ph

PROMETHEUS_PORT = 19090


def _metrics(source=None, headers=None):
    host, port = ph.host_port()
    conn = http.client.HTTPConnection(host, port, timeout=30,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", "/metrics", headers=headers or {})
        r = conn.getresponse()
        return ph.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def _samples(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def _read():
    r = _metrics()
    assert r.status == 200, ph.show(r)
    return _samples(r.text)


def test_promtool_accepts_the_exposition():
    ph.assert_success(ph.execute({"code": "print('for the metrics')"}))
    r = _metrics()
    assert r.status == 200, ph.show(r)
    assert r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    p = subprocess.run(["promtool", "check", "metrics"], input=r.body,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()
    s = _samples(r.text)
    assert s['pyexec_build_info{version="0.1.0",cgroup="v1",python="/usr/bin/python3"}'] == 1, s
    for name in ("pyexec_run_duration_seconds", "pyexec_sandbox_setup_seconds",
                 "pyexec_queue_wait_seconds", "pyexec_llm_call_duration_seconds"):
        assert "# TYPE %s histogram" % name in r.text, name
        assert '%s_bucket{le="0.001"}' % name in s, name      # resolves 1 ms
    for state in ("starting", "ready", "busy", "failed", "down"):
        assert 'pyexec_slots{state="%s"}' % state in s
    for name in ("pyexec_worker_restarts_total", "pyexec_launcher_restarts_total",
                 "pyexec_slot_restarts_total", "pyexec_selftest_failures_total"):
        assert name in s, name


def test_counters_are_exact_under_concurrency():
    key = 'pyexec_requests_total{route="/v1/execute",dialect="native",status="200"}'
    runs = 'pyexec_runs_total{outcome="completed"}'
    before = _read()
    n = 40
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: ph.execute({"code": "print(%d)" % i}),
                                range(n)))
    assert all(a.status == 200 for a in answers), [a.status for a in answers]
    after = _read()
    assert after[key] - before.get(key, 0) == n, (before.get(key), after[key])
    assert after[runs] - before.get(runs, 0) == n
    assert after["pyexec_run_duration_seconds_count"] - \
        before.get("pyexec_run_duration_seconds_count", 0) == n
    assert after["pyexec_queue_wait_seconds_count"] - \
        before.get("pyexec_queue_wait_seconds_count", 0) >= n


def test_no_key_code_or_user_text_in_any_label():
    marker = "metrics-marker-%d" % os.getpid()
    ph.execute({"code": "print(%r)" % marker})
    ph.request("POST", "/v1/nonexistent-%s" % marker, body={})
    text = _metrics().text
    assert marker not in text
    assert ph.key() not in text and ph.key2() not in text
    routes = set(re.findall(r'route="([^"]*)"', text))
    # The route table's labels (pyexec-fcgi --routes) and no route's ("-").
    table = ph.app_table("--routes")
    labels = {r["metric_label"] for r in table["routes"]}
    assert routes <= labels | {table["no_route_label"]}, routes
    assert "/v1/execute" in routes and table["no_route_label"] in routes, routes
    # every series' dialect is one of its route's (pyexec-fcgi --routes)
    dialects = {r["path"]: set(r["metric_dialects"]) for r in table["routes"]}
    dialects[table["no_route_label"]] = {"-"}
    for route, dialect in re.findall(r'pyexec_requests_total\{route="([^"]*)",'
                                     r'dialect="([^"]*)"', text):
        assert dialect in dialects[route], (route, dialect)


def test_the_three_execute_dialects_are_told_apart():
    def count(dialect):
        m = re.search(r'pyexec_requests_total\{route="/execute",dialect="%s",'
                      r'status="200"\} (\d+)' % dialect, _metrics().text)
        return int(m.group(1)) if m else 0
    before = {d: count(d) for d in ("flask", "nvidia", "together")}
    for body in ({"script": "def main():\n    return 1"},
                 {"generated_code": "print(1)"},
                 {"code": "print(1)", "validate_code": False}):
        r = ph.request("POST", "/execute", body=body)
        assert r.status == 200, ph.show(r)
    after = {d: count(d) for d in ("flask", "nvidia", "together")}
    assert after == {d: before[d] + 1 for d in before}, (before, after)


def test_only_allowed_addresses_without_a_key():
    r = _metrics(source="127.0.0.2")
    assert r.status == 403, ph.show(r)
    ph.assert_error(r, 403, "forbidden")
    assert "PYEXEC_METRICS_ALLOW" in r.json["response"][0]["message"]
    # with a valid key, from anywhere
    r = _metrics(source="127.0.0.2", headers={"Integrations-API-Key": ph.key()})
    assert r.status == 200 and "pyexec_runs_total" in r.text, ph.show(r)
    r = _metrics(source="127.0.0.2", headers={"Integrations-API-Key": "wrong"})
    assert r.status == 403, ph.show(r)
    assert _metrics(source="127.0.0.1").status == 200


@pytest.mark.slow
def test_counters_survive_a_worker_restart():
    key = 'pyexec_requests_total{route="/v1/execute",dialect="native",status="200"}'
    ph.assert_success(ph.execute({"code": "print(1)"}))
    before = _read()
    h = ph.health().json
    victim = h["slots"][0]["worker_pid"]
    os.kill(victim, signal.SIGKILL)
    r = ph.wait_for_health(lambda r: ph.healthy_and_ready(r) and
                           r.json["slots"][0]["worker_pid"] != victim, within=90)
    assert ph.healthy_and_ready(r) and r.json["slots"][0]["worker_pid"] != victim, ph.show(r)
    after = _read()
    assert after[key] >= before[key], (before[key], after[key])
    assert after["pyexec_worker_restarts_total"] == before["pyexec_worker_restarts_total"] + 1
    assert after["pyexec_slot_restarts_total"] >= before["pyexec_slot_restarts_total"] + 1


@pytest.fixture()
def prometheus():
    host, port = ph.host_port()
    d = tempfile.mkdtemp(prefix="pyexec-prom-")
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: pyexec\n    metrics_path: /metrics\n"
                "    static_configs:\n      - targets: ['%s:%d']\n" % (host, port))
    log = open(os.path.join(d, "prometheus.log"), "w")
    p = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(d, "prometheus.yml"),
                          "--storage.tsdb.path=" + os.path.join(d, "data"),
                          "--web.listen-address=127.0.0.1:%d" % PROMETHEUS_PORT],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        yield d
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def _query(expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (
        PROMETHEUS_PORT, urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=5) as r:
        j = json.load(r)
    assert j["status"] == "success", j
    return j["data"]["result"]


@pytest.mark.slow
def test_a_real_prometheus_scrapes_the_run_counter(prometheus):
    expr = 'pyexec_runs_total{job="pyexec",outcome="completed"}'
    deadline = time.monotonic() + 60
    first = None
    while time.monotonic() < deadline and first is None:
        try:
            res = _query(expr)
            first = float(res[0]["value"][1]) if res else None
        except OSError:
            pass
        time.sleep(0.5)
    assert first is not None, "Prometheus never scraped the stack"
    for i in range(5):
        ph.assert_success(ph.execute({"code": "print(%d)" % i}))
    want = first + 5
    got = first
    while time.monotonic() < deadline and got < want:
        time.sleep(0.5)
        got = float(_query(expr)[0]["value"][1])
    assert got >= want, (first, got)
    up = _query('up{job="pyexec"}')
    assert up and up[0]["value"][1] == "1", up
