"""Notebook display on the native routes: the value of a cell's last
expression (the execution item's "value", its repr, as a notebook's
Out[n]), a pandas DataFrame or Series as a "table" item, display(obj)
mid-run, and tracebacks that show the cell's own lines (File "<cell 1>").
The seed routes answer as before: none of it reaches them."""

import pyexec_http as ph


def _items(code, **fields):
    payload = {"code": code}
    payload.update(fields)
    resp = ph.execute(payload)
    ex = ph.assert_success(resp, shown=True)
    return ex, resp.json["response"]


def _typed(items, kind):
    return [it for it in items if it.get("type") == kind]


def test_the_last_expression_is_the_value():
    ex, _ = _items("x = 41\nx + 1")
    assert ex["outcome"] == "completed" and ex["value"] == "42", ex
    assert ex["stdout"] == "", ex          # shown, not printed
    ex, _ = _items("s = 'a'\ns * 3")
    assert ex["value"] == "'aaa'", ex      # a repr, as Out[n]
    for code in ("x = 1", "print('p')", "None", "def f():\n    return 1"):
        ex, _ = _items(code)
        assert ex["value"] is None, (code, ex)
    # a statement before the last expression still runs first
    ex, _ = _items("print('first')\n[i * i for i in range(4)]")
    assert ex["stdout"] == "first\n" and ex["value"] == "[0, 1, 4, 9]", ex


def test_a_dataframe_is_a_table_item_too():
    ex, items = _items("import pandas as pd\n"
                       "pd.DataFrame({'a': [1.5, None, 3.0], 'b': ['x', 'y', 'z']})")
    assert ex["value"].splitlines()[0].split() == ["a", "b"], ex
    tables = _typed(items, "table")
    assert len(tables) == 1, items
    t = tables[0]
    assert t["from"] == "out" and t["columns"] == ["a", "b"], t
    assert t["dtypes"] == ["float64", "object"] and t["shape"] == [3, 2], t
    assert t["index"] == ["0", "1", "2"], t
    assert t["rows"] == [[1.5, "x"], [None, "y"], [3.0, "z"]], t
    assert t["cut"] is False, t


def test_a_long_series_is_cut_to_its_first_rows():
    _, items = _items("import pandas as pd\npd.Series(range(1000), name='n')")
    t = _typed(items, "table")[0]
    assert t["shape"] == [1000, 1] and t["columns"] == ["n"], t
    assert len(t["rows"]) == 20 and t["rows"][19] == [19] and t["cut"] is True, t


def test_display_shows_mid_run_in_order():
    ex, items = _items("import pandas as pd\n"
                       "display(1, 'two')\n"
                       "display(pd.DataFrame({'c': [7]}))\n"
                       "print('after')\n"
                       "3")
    shown = [it for it in items if it.get("type") in ("display", "table")]
    assert [it["type"] for it in shown] == ["display", "display", "table"], items
    assert shown[0]["value"] == "1" and shown[1]["value"] == "'two'", shown
    assert shown[2]["from"] == "display" and shown[2]["rows"] == [[7]], shown
    assert ex["value"] == "3" and ex["stdout"] == "after\n", ex


def test_what_was_shown_before_an_error_comes_back():
    resp = ph.execute({"code": "display('before')\nraise ValueError('boom')"})
    ex = ph.assert_success(resp, shown=True)
    assert ex["outcome"] == "error" and ex["value"] is None, ex
    shown = _typed(resp.json["response"], "display")
    assert [it["value"] for it in shown] == ["'before'"], resp.json


def test_a_traceback_shows_the_cells_lines():
    ex = ph.run("def f():\n    return 1 / 0\n\nf()")
    assert ex["outcome"] == "error", ex
    assert 'File "<cell 1>", line 4, in <module>\n    f()' in ex["stderr"], ex
    assert 'File "<cell 1>", line 2, in f\n    return 1 / 0' in ex["stderr"], ex
    assert ex["exception"]["type"] == "ZeroDivisionError", ex
    assert ex["exception"]["line"] == 2, ex
    ex = ph.run("x = (1,\n")
    assert 'File "<cell 1>", line 1' in ex["stderr"], ex
    assert ex["exception"]["type"] == "SyntaxError", ex


def test_a_long_repr_is_cut():
    ex, _ = _items("'x' * 50000")
    assert len(ex["value"]) == 10000 and ex["value"].startswith("'xxx"), len(ex["value"])


def test_a_forged_display_is_dropped_and_the_rest_kept():
    # the user's code shares the runner's process: it can forge items,
    # which the worker checks again and drops when they are not ours
    code = ("d = display.__self__\n"
            "d.items.append({'value': 5, 'from': 'out'})\n"
            "d.items.append({'value': 'x', 'from': 'out', 'table': "
            "{'columns': ['a'], 'dtypes': ['i'], 'shape': [1, 1], "
            "'index': ['0'], 'rows': [[1, 2]]}})\n"
            "display('kept')")
    ex, items = _items(code)
    assert ex["outcome"] == "completed" and ex["value"] is None, ex
    assert [it["value"] for it in _typed(items, "display")] == ["'kept'"], items
    assert _typed(items, "table") == [], items


def test_mode_main_has_no_out_value():
    ex = ph.run("def main():\n    return 5\n7", mode="main")
    assert ex["result"] == 5 and ex["value"] is None, ex


def test_the_seed_routes_are_untouched():
    resp = ph.request("POST", "/api/v1/execute", body={"code": "x = 1\nx"})
    assert resp.status == 200 and "value" not in resp.json, ph.show(resp)
    resp = ph.request("POST", "/api/v1/execute", body={"code": "1/0"})
    assert 'File "<string>"' in resp.json["stderr"], ph.show(resp)
    assert "<cell" not in resp.json["stderr"], ph.show(resp)


def test_a_report_forged_past_its_room_or_unwritable_costs_only_its_own_answer():
    # past the report's room (256 KiB for displays): run.c drops the whole
    # report, the run's own answer has no value; the worker serves on
    ex, items = _items("display.__self__.items.append("
                       "{'value': 'x' * (4 << 20), 'from': 'out'})\nprint('ran')")
    assert ex["outcome"] == "completed" and ex["stdout"] == "ran\n", ex
    assert ex["value"] is None and items[2:] == [], items
    # an item the runner cannot write (it holds itself): the report is
    # lost and the run's own answer says why; nothing else is
    resp = ph.execute({"code": "l = []\nl.append(l)\n"
                               "display.__self__.items.append(l)\nprint('ran')"})
    ex = ph.assert_success(resp)
    assert ex["stdout"] == "ran\n" and ex["value"] is None, ex
    assert "RecursionError" in ex["stderr"], ex
    ex = ph.run("1 + 1")
    assert ex["value"] == "2", ex      # the slot serves the next run as ever
