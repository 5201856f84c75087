"""Routing (done by the worker) and body size (nginx)."""

import pytest

import pyexec_http as ph


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/unknown"),
    ("POST", "/v1/unknown"),
    ("GET", "/index.html"),
    ("POST", "/v1/execute/extra"),
])
def test_unknown_route_is_404(method, path):
    body = {"code": "print(1)"} if method == "POST" else None
    resp = ph.request(method, path, body=body)
    msg = ph.assert_error(resp, 404, "not_found")
    assert ph.key().encode() not in resp.body, msg


@pytest.mark.parametrize("auth", [None, "integrations"])
def test_root_says_ok_and_nothing_else(auth):
    # NVIDIA's sandbox client checks GET / for a 2xx before anything else
    resp = ph.request("GET", "/", auth=auth)
    assert resp.status == 200, ph.show(resp)
    assert resp.header("Content-Type", "").startswith("application/json"), ph.show(resp)
    assert resp.json == {"status": "ok"}, ph.show(resp)
    resp = ph.request("POST", "/", body={}, auth=auth)
    ph.assert_error(resp, 405, "method_not_allowed")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_on_execute_is_405(method):
    body = {"code": "print(1)"} if method == "PUT" else None
    resp = ph.request(method, "/v1/execute", body=body)
    ph.assert_error(resp, 405, "method_not_allowed")
    allow = resp.header("Allow")
    assert allow is not None, "no Allow header: " + ph.show(resp)
    assert "POST" in [m.strip().upper() for m in allow.split(",")], allow


def test_body_over_1mib_is_413():
    code = "# " + "x" * (1536 * 1024) + "\nprint(1)\n"   # ~1.5 MiB
    resp = ph.execute({"code": code})
    ph.assert_error(resp, 413, "payload_too_large")


def test_body_just_under_limit_is_accepted_by_nginx():
    # ~900 KiB of code: not a 413; the code is a comment plus a print
    code = "# " + "y" * (900 * 1024) + "\nprint('big-ok')\n"
    ex = ph.run(code)
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "big-ok\n", ph.show(ex)


# The route table (pyexec-fcgi --routes): every route, whatever spells it.
TABLE = ph.routes()


@pytest.mark.parametrize("route", TABLE, ids=[r["path"] for r in TABLE])
def test_wrong_method_on_each_route_is_405_with_its_allow(route):
    wrong = "PUT" if "PUT" not in route["methods"] else "PATCH"
    # a path's {session_id} is any session name
    resp = ph.request(wrong, route["path"].replace("{session_id}", "s-1"),
                      body={})
    ph.assert_error(resp, 405, "method_not_allowed")
    allow = [m.strip() for m in resp.header("Allow", "").split(",")]
    assert allow == route["methods"], ph.show(resp)


@pytest.mark.parametrize("route", TABLE, ids=[r["path"] for r in TABLE])
def test_only_the_keyless_routes_answer_without_a_key(route):
    method = route["methods"][0]
    resp = ph.request(method, route["path"], body={} if method != "GET" else None,
                      auth=None)
    if route["keyless"]:
        assert resp.status != 401, ph.show(resp)
    else:
        ph.assert_error(resp, 401, "unauthorized")
