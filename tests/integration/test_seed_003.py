"""Seed 003 (NVIDIA code-execution sandbox): POST /execute with
{"generated_code", "timeout", "language"}; every README example, its three
input formats, and the refusals."""

import pyexec_http as ph


def _post(body):
    resp = ph.request("POST", "/execute", body=body)
    assert resp.header("Content-Type", "").startswith("application/json"), ph.show(resp)
    assert set(resp.json) == {"process_status", "stdout", "stderr"}, ph.show(resp)
    return resp


def _run(code, **kw):
    body = {"generated_code": code, "timeout": 30, "language": "python"}
    body.update(kw)
    resp = _post(body)
    assert resp.status == 200, ph.show(resp)
    return resp.json


def test_readme_basic_usage():
    j = _run('print("Hello, World!")')
    assert j == {"process_status": "completed", "stdout": "Hello, World!\n",
                 "stderr": ""}, j


def test_readme_raw_python_code():
    j = _run("import numpy as np\nprint(np.array([1, 2, 3]))")
    assert j["process_status"] == "completed" and j["stdout"] == "[1 2 3]\n", j


def test_readme_dictionary_format():
    j = _run("{'generated_code': 'print(\"Hello from dict format\")'}")
    assert j["process_status"] == "completed", j
    assert j["stdout"] == "Hello from dict format\n", j


def test_readme_markdown_code_blocks():
    j = _run("```python\nprint('Hello from markdown')\n```")
    assert j["process_status"] == "completed", j
    assert j["stdout"] == "Hello from markdown\n", j


def test_bare_fence_and_nested_formats():
    assert _run("```\nprint('bare')\n```")["stdout"] == "bare\n"
    j = _run("{'generated_code': '```python\\nprint(41 + 1)\\n```'}")
    assert j["stdout"] == "42\n", j
    # a dict that is the program itself is not unwrapped
    j = _run("{'other': 1}")
    assert j["process_status"] == "completed" and j["stdout"] == "", j


def test_readme_helper_default_timeout_and_libraries():
    j = _run("import scipy, plotly, pandas\nprint('libs ok')", timeout=30)
    assert j["stdout"] == "libs ok\n", j
    j = _post({"generated_code": "print('default timeout')"}).json
    assert j["process_status"] == "completed", j


def test_error_and_timeout():
    j = _run("raise RuntimeError('boom')")
    assert j["process_status"] == "error" and "RuntimeError: boom" in j["stderr"], j
    j = _run("import time\ntime.sleep(5)", timeout=1)
    assert j["process_status"] == "timeout", j


def test_the_working_directory_is_the_clients_workspace():
    # As the NVIDIA sandbox's mounted working directory: files written by
    # one request are there at the next one of the same client (and
    # session), the cwd is /workspace.
    sess = {"session_id": "seed003-wd"}
    code = ("import os\nopen('data.csv', 'w').write('a,b\\n1,2\\n')\n"
            "import pandas as pd\nprint(pd.read_csv('data.csv').sum().tolist(), os.getcwd())")
    j = _post(dict({"generated_code": code, "timeout": 10}, **sess)).json
    assert j["process_status"] == "completed", j
    assert j["stdout"] == "[1, 2] /workspace\n", j
    j = _post(dict({"generated_code": "import os\nprint(os.path.exists('data.csv'),"
                    " open('data.csv').read().split())", "timeout": 10}, **sess)).json
    assert j["stdout"] == "True ['a,b', '1,2']\n", j
    # another session of the same client does not see it
    j = _post({"generated_code": "import os\nprint(os.path.exists('data.csv'))",
               "timeout": 10, "session_id": "seed003-other"}).json
    assert j["stdout"] == "False\n", j
    # the answer's shape is the seed's own, workspace or not
    assert sorted(j) == ["process_status", "stderr", "stdout"], j


def test_other_languages_are_an_error():
    # the NVIDIA sandbox's own status and words
    resp = _post({"generated_code": "console.log(1)", "language": "javascript"})
    assert resp.status == 400, ph.show(resp)
    assert resp.json == {"process_status": "error", "stdout": "",
                         "stderr": "Only python execution is supported"}, ph.show(resp)


def test_a_timeout_past_the_maximum_is_clamped_and_said():
    # the seed had no cap: a client's own 60 runs, at the operator's maximum
    resp = _post({"generated_code": "print('clamped')", "timeout": 60})
    assert resp.status == 200 and resp.json["stdout"] == "clamped\n", ph.show(resp)
    assert resp.header("X-Pyexec-Timeout-Clamped") == "requested=60; applied=30", \
        ph.show(resp)
    resp = _post({"generated_code": "print(1)", "timeout": 5})
    assert resp.status == 200 and resp.header("X-Pyexec-Timeout-Clamped") is None, \
        ph.show(resp)


def test_a_memory_kill_says_so_in_stderr():
    resp = _post({"generated_code": "x = bytearray(400 * 2**20)\nprint(len(x))",
                  "timeout": 20})
    j = resp.json
    assert resp.status == 200 and j["process_status"] == "error", ph.show(resp)
    assert "memory limit" in j["stderr"] or "MemoryError" in j["stderr"], j


def test_bad_bodies():
    for body, status in (({"generated_code": ""}, 400),
                         ({"generated_code": 5}, 400),
                         ({"generated_code": "print(1)", "timeout": "x"}, 400)):
        resp = _post(body)
        assert resp.status == status, ph.show(resp)
        assert resp.json["process_status"] == "error" and resp.json["stderr"], ph.show(resp)


def test_a_timeout_is_exactly_the_sandboxs_answer():
    # its clients compare stderr with "Timed out" and stdout with ""
    j = _run("print('before', flush=True)\nimport time\ntime.sleep(5)", timeout=1)
    assert j == {"process_status": "timeout", "stdout": "", "stderr": "Timed out\n"}, j


def test_a_syntax_error_reads_as_a_traceback():
    # the sandbox exec()s the code: a syntax error comes under "Traceback"
    j = _run("124ijfmpoeqfmpew')")
    assert j["process_status"] == "error" and j["stdout"] == "", j
    assert j["stderr"].startswith("Traceback (most recent call last):\n"), j
    assert "SyntaxError" in j["stderr"], j
