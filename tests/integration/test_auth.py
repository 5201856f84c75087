"""API-key checks done by nginx: Integrations-API-Key or Authorization:
Bearer; a missing or wrong key is a 401 JSON envelope; keys never leak."""

import os
import time

import pytest

import pyexec_http as ph

WRONG_KEY = "wrong-key-4c1e2d9b7a6f40f3a8e5"


def _print_run(auth, api_key, token):
    resp = ph.execute({"code": "print(%r)" % token}, auth=auth,
                      api_key=api_key)
    ex = ph.assert_success(resp)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == token + "\n", ph.show(ex)
    return resp


def test_no_key_is_401():
    resp = ph.execute({"code": "print(1)"}, auth=None)
    ph.assert_error(resp, 401, "unauthorized")


def test_no_key_on_unknown_path_is_401_not_404():
    resp = ph.request("GET", "/v1/no-such-route", auth=None)
    ph.assert_error(resp, 401, "unauthorized")


@pytest.mark.parametrize("auth", ["integrations", "bearer"])
def test_wrong_key_is_401(auth):
    resp = ph.execute({"code": "print(1)"}, auth=auth, api_key=WRONG_KEY)
    ph.assert_error(resp, 401, "unauthorized")
    assert WRONG_KEY.encode() not in resp.body


def test_empty_key_is_401():
    resp = ph.execute({"code": "print(1)"}, auth=None,
                      headers={"Integrations-API-Key": ""})
    ph.assert_error(resp, 401, "unauthorized")


def test_bearer_without_token_is_401():
    resp = ph.execute({"code": "print(1)"}, auth=None,
                      headers={"Authorization": "Bearer "})
    ph.assert_error(resp, 401, "unauthorized")


def test_integrations_api_key_header_works():
    resp = _print_run("integrations", ph.key(), "auth-integrations-ok")
    assert ph.key().encode() not in resp.body


def test_bearer_header_works():
    resp = _print_run("bearer", ph.key(), "auth-bearer-ok")
    assert ph.key().encode() not in resp.body


@pytest.mark.parametrize("auth", ["integrations", "bearer"])
def test_second_key_works(auth):
    resp = _print_run(auth, ph.key2(), "auth-key2-ok-" + auth)
    assert ph.key2().encode() not in resp.body


def test_keys_never_in_log(run_dir):
    # make sure requests with every key (and a wrong one) went through
    _print_run("integrations", ph.key(), "auth-log-1")
    _print_run("bearer", ph.key2(), "auth-log-2")
    ph.assert_error(ph.execute({"code": "print(1)"}, api_key=WRONG_KEY),
                    401, "unauthorized")
    ph.assert_error(ph.request("GET", "/v1/nope"), 404, "not_found")
    time.sleep(0.3)  # let the log lines of those requests be written
    log = ph.read_log_bytes()
    assert log, "the service log is empty"
    for secret in (ph.key(), ph.key2(), WRONG_KEY):
        assert secret.encode() not in log, "an API key appears in pyexec.log"


def test_keys_not_in_service_environment():
    """The API keys are nginx's: neither the master nor any worker has them."""
    master = int(os.environ["PYEXEC_MASTER_PID"])
    health = ph.health()
    pids = [master] + [s["worker_pid"] for s in health.json["slots"]]
    keys = [os.environ["PYEXEC_TEST_KEY"], os.environ["PYEXEC_TEST_KEY2"]]
    for pid in pids:
        with open("/proc/%d/environ" % pid, "rb") as f:
            environ = f.read()
        assert b"PYEXEC_LISTEN" in environ or pid != master, "wrong pid %d" % pid
        for key in keys:
            assert key.encode() not in environ, "key in environ of pid %d" % pid
