"""mode "script" / "main" and the `result` of a run (issue 5, shared core)."""

import pytest

import pyexec_http as ph


def _run(payload):
    return ph.assert_success(ph.execute(payload))


def test_main_mode_returns_the_value_as_result():
    ex = _run({"code": "def main():\n    return {'message': 'Hello, World!'}",
               "mode": "main"})
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["result"] == {"message": "Hello, World!"}, ph.show(ex)
    assert ex["stdout"] == "", ph.show(ex)


def test_main_mode_numpy_and_pandas_values_become_exact_json():
    code = ("import pandas as pd\nimport numpy as np\n\ndef main():\n"
            "    data = pd.DataFrame({'values': [1, 2, 3, 4, 5]})\n"
            "    print('rows', len(data))\n"
            "    return {'mean': np.mean(data['values']), 'sum': data['values'].sum(),\n"
            "            'arr': np.arange(3), 'm': np.eye(2, dtype=int), 'b': np.bool_(True)}")
    ex = _run({"code": code, "mode": "main", "timeout": 20})
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["result"] == {"mean": 3.0, "sum": 15, "arr": [0, 1, 2],
                            "m": [[1, 0], [0, 1]], "b": True}, ph.show(ex)
    assert ex["stdout"] == "rows 5\n", ph.show(ex)


# What json.dumps refuses, refused in its words (tests/integration/
# test_result_values.py checks the whole table against /usr/bin/python3).
@pytest.mark.parametrize("ret,what", [
    ("{1, 2}", "Object of type set is not JSON serializable"),
    ("object()", "Object of type object is not JSON serializable"),
    ("{(1,): 'a'}", "keys must be str, int, float, bool or None, not tuple"),
])
def test_main_mode_refuses_what_is_not_json(ret, what):
    ex = _run({"code": "def main():\n    return %s" % ret, "mode": "main"})
    assert ex["outcome"] == "error" and ex["exit_code"] == 1, ph.show(ex)
    assert ex["result"] is None, ph.show(ex)
    assert ex["exception"]["type"] == "TypeError", ph.show(ex)
    assert ex["exception"]["message"] == what, ph.show(ex)
    assert "TypeError: " + what in ex["stderr"], ph.show(ex)


def test_main_mode_without_main_is_an_error():
    ex = _run({"code": "print('no main here')", "mode": "main"})
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exception"] == {"type": "MissingMain", "message":
                               "the code defines no main() function",
                               "line": None}, ph.show(ex)
    assert ex["stdout"] == "no main here\n", ph.show(ex)


def test_main_mode_exception_is_reported_with_its_line():
    ex = _run({"code": "def main():\n    raise ValueError('This is a test error')",
               "mode": "main"})
    assert ex["outcome"] == "error", ph.show(ex)
    assert ex["exception"] == {"type": "ValueError", "message":
                               "This is a test error", "line": 2}, ph.show(ex)


def test_main_guard_does_not_fire_in_main_mode():
    code = ("def main():\n    return 7\n\nif __name__ == '__main__':\n"
            "    print('guard ran')\n")
    ex = _run({"code": code, "mode": "main"})
    assert ex["result"] == 7 and ex["stdout"] == "", ph.show(ex)
    ex = _run({"code": code})                       # script mode: it does
    assert ex["stdout"] == "guard ran\n" and ex["result"] is None, ph.show(ex)


def test_script_mode_reports_a_result_variable():
    ex = _run({"code": "result = {'squares': [i * i for i in range(4)]}\nprint('done')"})
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["result"] == {"squares": [0, 1, 4, 9]}, ph.show(ex)
    assert ex["stdout"] == "done\n", ph.show(ex)


def test_script_mode_without_result_or_with_non_data():
    assert _run({"code": "print(2)"})["result"] is None
    ex = _run({"code": "result = object()"})
    assert ex["outcome"] == "completed" and ex["result"] is None, ph.show(ex)


def test_a_result_is_not_taken_from_a_failed_run():
    ex = _run({"code": "result = 5\nraise SystemExit(3)"})
    assert ex["outcome"] == "error" and ex["result"] is None, ph.show(ex)


def test_mode_is_validated():
    resp = ph.execute({"code": "print(1)", "mode": "module"})
    msg = ph.assert_error(resp, 400, "invalid_request")
    assert msg == 'mode: must be "script" or "main"', msg


def test_the_seed_packages_are_importable():
    code = ("import numpy, pandas, scipy, scipy.stats, plotly, matplotlib\n"
            "import matplotlib.pyplot as plt\n"
            "fig = plt.figure(); plt.plot([1, 2]); fig.savefig('p.png')\n"
            "plt.close(fig)\n"     # an open figure would come back as an item
            "import os\nprint(matplotlib.get_backend(), os.path.getsize('p.png') > 1000,"
            " round(scipy.stats.norm.cdf(0), 2))\n")
    ex = _run({"code": code, "timeout": 30, "memory_limit": "300m"})
    assert ex["outcome"] == "completed", ph.show(ex)
    assert ex["stdout"] == "agg True 0.5\n", ph.show(ex)
