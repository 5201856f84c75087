"""pytest set-up for the pyexec integration tests.

The tests drive a live stack (nginx -> spawn-fcgi -> pyexec-fcgi) started by
`tests/run`, which exports:
  PYEXEC_URL         e.g. http://127.0.0.1:18080
  PYEXEC_TEST_KEY    a valid API key
  PYEXEC_TEST_KEY2   a second valid API key (used up by the rate-limit test)
  PYEXEC_RUN_DIR     the run dir (holds pyexec.log, the service's JSON log)
  PYEXEC_MASTER_PID  pid of the pyexec-fcgi master
Without PYEXEC_URL (or the keys) the whole run fails: it must never pass by
skipping everything.
"""

import http.client
import os
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyexec_http as ph  # noqa: E402
import suite  # noqa: E402

REQUIRED = (ph.ENV_URL, ph.ENV_KEY, ph.ENV_KEY2)


def pytest_configure(config):
    suite.configure(config)


def pytest_collection_modifyitems(items):
    suite.order(items)


def pytest_sessionstart(session):
    missing = [v for v in REQUIRED if not os.environ.get(v)]
    if missing:
        pytest.exit(
            "pyexec integration tests: %s not set. These tests need a live "
            "stack: run them through `tests/run`, or start the stack "
            "and export PYEXEC_URL, PYEXEC_TEST_KEY, PYEXEC_TEST_KEY2, "
            "PYEXEC_RUN_DIR and PYEXEC_MASTER_PID." % ", ".join(missing),
            returncode=1)
    try:
        ph.host_port()
    except (RuntimeError, ValueError) as exc:
        pytest.exit("pyexec integration tests: %s" % exc, returncode=1)
    # The stack must answer HTTP at all (any status): otherwise every test
    # would fail with the same connection error.
    deadline = time.monotonic() + 10
    last_exc = None
    while time.monotonic() < deadline:
        try:
            ph.health(timeout=3)
            return
        except (OSError, http.client.HTTPException, socket.timeout) as exc:
            last_exc = exc
            time.sleep(0.3)
    pytest.exit("pyexec integration tests: no HTTP answer from %s/health "
                "within 10 s (%r): is the stack up?"
                % (os.environ[ph.ENV_URL], last_exc), returncode=1)


@pytest.fixture(scope="session")
def health_json():
    """The /health document once every slot is ready (waits up to 15 s)."""
    resp = ph.wait_for_health(ph.healthy_and_ready, within=15)
    assert resp is not None, "no answer from /health"
    assert ph.healthy_and_ready(resp), resp
    return resp.json


@pytest.fixture(scope="session")
def workers(health_json):
    """Number of configured workers."""
    return health_json["workers"]["configured"]


@pytest.fixture(scope="session")
def run_dir():
    d = os.environ.get(ph.ENV_RUN_DIR)
    if not d:
        pytest.fail(ph.ENV_RUN_DIR + " is not set: the log tests need the "
                    "run dir (tests/run exports it)")
    path = os.path.join(d, "pyexec.log")
    if not os.path.isfile(path):
        pytest.fail("no service log at " + path)
    return d


@pytest.fixture(scope="session")
def master_pid():
    v = os.environ.get(ph.ENV_MASTER_PID)
    if not v:
        pytest.fail(ph.ENV_MASTER_PID + " is not set (tests/run "
                    "exports it)")
    pid = int(v)
    assert os.path.exists("/proc/%d" % pid), (
        "PYEXEC_MASTER_PID %d is not a running process" % pid)
    return pid


@pytest.fixture
def nginx_port():
    return ph.host_port()[1]
