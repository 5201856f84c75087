"""pytest set-up for the pyexec security tests (tests/security).

Hostile programs are sent through the live stack (nginx -> spawn-fcgi ->
pyexec-fcgi -> slot launcher -> python) that `tests/run` starts; the
environment is the one described in tests/integration/conftest.py
(PYEXEC_URL, PYEXEC_TEST_KEY, PYEXEC_TEST_KEY2, PYEXEC_RUN_DIR,
PYEXEC_MASTER_PID) plus PYEXEC_UID_BASE (default 62000) and PYEXEC_INSTANCE
(default "test"), which tests/run exports as well.

The HTTP helper is tests/integration/pyexec_http.py, imported by module
name: tests/integration goes on sys.path here.  The security test modules
are named test_sec_*.py and the helpers sec_helpers.py so that nothing
clashes with tests/integration's modules.
"""

import http.client
import os
import socket
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
for _d in (HERE, INTEGRATION):
    if _d not in sys.path:
        sys.path.insert(0, _d)

import pyexec_http as ph  # noqa: E402
import sec_helpers as sh  # noqa: E402
import suite  # noqa: E402


def pytest_configure(config):
    suite.configure(config)


def pytest_collection_modifyitems(items):
    suite.order(items)


def pytest_sessionstart(session):
    # Same rule as tests/integration: never pass by skipping everything.
    missing = [v for v in (ph.ENV_URL, ph.ENV_KEY, ph.ENV_KEY2)
               if not os.environ.get(v)]
    if missing:
        pytest.exit(
            "pyexec security tests: %s not set. These tests need a live "
            "stack: run them through `tests/run`, or start the stack "
            "and export PYEXEC_URL, PYEXEC_TEST_KEY, PYEXEC_TEST_KEY2, "
            "PYEXEC_RUN_DIR, PYEXEC_MASTER_PID, PYEXEC_UID_BASE and "
            "PYEXEC_INSTANCE." % ", ".join(missing), returncode=1)
    if os.geteuid() != 0:
        pytest.exit("pyexec security tests: must run as root (they inspect "
                    "every process, cgroup and mount of the host)",
                    returncode=1)
    deadline = time.monotonic() + 10
    last_exc = None
    while time.monotonic() < deadline:
        try:
            ph.health(timeout=3)
            break
        except (OSError, http.client.HTTPException, socket.timeout) as exc:
            last_exc = exc
            time.sleep(0.3)
    else:
        pytest.exit("pyexec security tests: no HTTP answer from %s/health "
                    "within 10 s (%r): is the stack up?"
                    % (os.environ[ph.ENV_URL], last_exc), returncode=1)
    # Mount points of the host before any hostile program ran.
    sh.record_session_baseline()


@pytest.fixture(autouse=True)
def _host_baseline():
    """Before each test: wait (without asserting) until the service is ready,
    and record what is already there (processes in the sandbox uid range,
    cgroup dirs, mounts) so that assert_host_clean() blames a test only for
    what its own program left.  test_sec_00_* and test_sec_zz_* check the
    host with no baseline at all."""
    sh.settle()
    sh.record_test_baseline()
    yield
    sh.clear_test_baseline()


@pytest.fixture(scope="session")
def workers():
    resp = ph.wait_for_health(ph.healthy_and_ready, within=15)
    assert ph.healthy_and_ready(resp), ph.show(resp)
    return resp.json["workers"]["configured"]


@pytest.fixture
def nginx_port():
    return ph.host_port()[1]


@pytest.fixture
def token():
    return sh.new_token()
