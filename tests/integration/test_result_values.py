"""The `result` of a run is what Python's own json.dumps makes of it, and the
IBM routes show what Python's own str() makes of it (issue 10).

Every expression below is evaluated twice: by a run in the sandbox (mode
"main" on /v1/execute and seed 002's /execute, a `result` on seed 001's
route) and here by /usr/bin/python3 itself, whose json.dumps and str() are
the reference.  Two additions are the contract and are checked too: numpy
values are their Python values (.item(), .tolist()), and NaN and the
infinities, which no JSON text can hold, become null (as keys, json's own
"NaN", "Infinity", "-Infinity")."""

import json
import subprocess

import pytest

import pyexec_http as ph

PYTHON = "/usr/bin/python3"

# (expression, imports it needs)
VALUES = [
    ("{'a': [1, 2.5, None, True], 'b': {'c': {'d': 'e'}}}", ""),
    ("{1: 'int', 2.5: 'float', True: 'bool', None: 'none', 'k': 'str'}", ""),
    ("(1, (2, 3), [4, (5,)])", ""),
    ("2 ** 70", ""),
    ("[-(2 ** 100), 10 ** 30 + 1]", ""),
    ("1e16", ""),
    ("[1e300, 5e-324, -0.0, 0.1 + 0.2]", ""),
    ("\"it's a \\\"quote\\\", a\\ttab, a\\nnewline, \\u00e9 \\u20ac \\U0001f600\"", ""),
    ("{'x': float('nan'), 'y': [float('inf'), -float('inf')], 'z': 1.5}", ""),
    ("{float('nan'): 1, float('inf'): 2}", ""),
    ("float('nan')", ""),
    ("[" * 30 + "1" + "]" * 30, ""),
    ("functools.reduce(lambda a, _: [a], range(500), 1)", "import functools"),
    ("{'big': list(range(50)), 'empty': {}, 'nil': []}", ""),
    ("np.int64(5)", "import numpy as np"),
    ("{'a': np.arange(3), 'm': np.eye(2), 'f': np.float32(0.5), 'b': np.bool_(False)}",
     "import numpy as np"),
    ("np.array([1.0, np.nan])", "import numpy as np"),
    ("pd.DataFrame({'a': [1, 2], 'b': [0.5, None]}).to_dict()", "import pandas as pd"),
    ("pd.Series([3, 4], index=['x', 'y']).to_dict()", "import pandas as pd"),
    ("pd.DataFrame({'a': [1, 2]}).to_dict(orient='records')", "import pandas as pd"),
]

REFUSED = [
    ("{1, 2}", ""),
    ("object()", ""),
    ("{(1, 2): 'tuple key'}", ""),
    ("b'bytes'", ""),
    ("pd.DataFrame({'a': [1]})", "import pandas as pd"),
    ("pd.Timestamp('2024-01-01')", "import pandas as pd"),
]

_REFERENCE = r'''
import functools, json, sys
import numpy as np
import pandas as pd

def plain(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)

out = []
for expr in json.load(sys.stdin):
    v = eval(expr)
    r = {"str": str(v)}
    try:
        r["json"] = json.dumps(v, default=plain)
    except Exception as e:
        r["error"] = [type(e).__name__, str(e)]
    out.append(r)
print(json.dumps(out))
'''


def _reference(exprs):
    """What /usr/bin/python3 itself says of each expression."""
    p = subprocess.run([PYTHON, "-I", "-c", _REFERENCE], input=json.dumps(exprs),
                       capture_output=True, text=True, timeout=120, check=True)
    return json.loads(p.stdout)


def _null_for_nan(text):
    """json.dumps's text read back, NaN and the infinities as None."""
    return json.loads(text, parse_constant=lambda _: None)


@pytest.fixture(scope="module")
def ref():
    exprs = [e for e, _ in VALUES + REFUSED]
    return dict(zip(exprs, _reference(exprs)))


def _main_code(expr, imports):
    return "%s\ndef main():\n    return %s\n" % (imports, expr)


@pytest.mark.parametrize("expr,imports", VALUES, ids=[e[:40] for e, _ in VALUES])
def test_native_main_result_is_json_dumps(expr, imports, ref):
    ex = ph.assert_success(ph.execute({"code": _main_code(expr, imports),
                                       "mode": "main", "timeout": 20}))
    assert ex["outcome"] == "completed", ph.show(ex)
    want = _null_for_nan(ref[expr]["json"])
    assert ex["result"] == want, ph.show(ex)
    assert json.dumps(ex["result"]) == json.dumps(want), ph.show(ex)   # key order too


@pytest.mark.parametrize("expr,imports", VALUES[:6], ids=[e[:40] for e, _ in VALUES[:6]])
def test_script_result_variable_is_json_dumps(expr, imports, ref):
    ex = ph.assert_success(ph.execute({"code": "%s\nresult = %s\n" % (imports, expr),
                                       "timeout": 20}))
    assert ex["result"] == _null_for_nan(ref[expr]["json"]), ph.show(ex)


def test_big_integers_keep_every_digit_in_the_raw_answer():
    resp = ph.execute({"code": "def main():\n    return [2 ** 70, -(2 ** 100)]",
                       "mode": "main"})
    assert resp.status == 200, ph.show(resp)
    assert b"[1180591620717411303424,-1267650600228229401496703205376]" in \
        resp.body.replace(b" ", b""), resp.body[:2000]
    assert b"18446744073709551615" not in resp.body


def test_nan_and_infinity_become_null_and_the_answer_is_valid_json():
    resp = ph.execute({"code": "def main():\n    return [float('nan'), float('inf'), "
                               "-float('inf'), {float('nan'): 1}]", "mode": "main"})
    assert resp.status == 200, ph.show(resp)
    # strict: Python's json would take NaN; refuse it as any RFC 8259 parser
    doc = json.loads(resp.body, parse_constant=lambda c: pytest.fail("non-JSON " + c))
    assert doc["response"][-1]["result"] == [None, None, None, {"NaN": 1}], doc


@pytest.mark.parametrize("expr,imports", REFUSED, ids=[e[:40] for e, _ in REFUSED])
def test_main_refuses_only_what_json_dumps_refuses_in_its_words(expr, imports, ref):
    want = ref[expr]["error"]
    ex = ph.assert_success(ph.execute({"code": _main_code(expr, imports),
                                       "mode": "main", "timeout": 20}))
    assert ex["outcome"] == "error" and ex["exit_code"] == 1, ph.show(ex)
    assert ex["result"] is None, ph.show(ex)
    assert [ex["exception"]["type"], ex["exception"]["message"]] == want, ph.show(ex)
    assert "%s: %s" % tuple(want) in ex["stderr"], ph.show(ex)


@pytest.mark.parametrize("expr,imports", VALUES, ids=[e[:40] for e, _ in VALUES])
def test_seed002_result_is_json_dumps(expr, imports, ref):
    resp = ph.request("POST", "/execute", body={"script": _main_code(expr, imports)},
                      timeout=60)
    assert resp.status == 200, ph.show(resp)
    assert resp.json["result"] == _null_for_nan(ref[expr]["json"]), ph.show(resp)


def test_seed002_refusal_is_json_dumps_message(ref):
    resp = ph.request("POST", "/execute", body={"script": _main_code("{1, 2}", "")})
    assert resp.status == 400, ph.show(resp)
    assert resp.json == {"error": "Script execution error: Object of type set is not "
                                  "JSON serializable"}, ph.show(resp)


# The IBM executor's policy refuses imports of its deny list; these need none.
IBM_VALUES = [e for e, imports in VALUES + REFUSED[:1] if not imports] + [
    "'plain string'", "\"it's\"", "{'k': \"it's\\t\"}", "1e16", "None", "'x' * 3"]


@pytest.fixture(scope="module")
def ibm_ref():
    return dict(zip(IBM_VALUES, _reference(IBM_VALUES)))


@pytest.mark.parametrize("expr", IBM_VALUES, ids=[e[:40] for e in IBM_VALUES])
def test_seed001_shows_python_str_of_the_result(expr, ibm_ref):
    code = "result = %s" % expr
    resp = ph.request("POST", "/system/python_executor/execute_code/invoke",
                      body={"code": code}, timeout=30)
    assert resp.status == 200, ph.show(resp)
    msg = resp.json["response"][0]["message"]
    assert msg == ("The Python code executed was:\n\n%s\n\nThe result of the "
                   "execution is:\n\n%s" % (code, ibm_ref[expr]["str"])), ph.show(resp)
