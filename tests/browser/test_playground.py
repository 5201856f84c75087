"""The playground (GET /playground) in a real headless Chromium.

Needs a live stack whose model is tests/fake-llm (`tests/run` runs
this file as its browser step; docs/playground.md says how to run it alone):
  PYEXEC_URL       e.g. http://127.0.0.1:18080
  PYEXEC_TEST_KEY  a valid API key
  PYEXEC_RUN_DIR   where the screenshot goes (playground.png)
Debian's chromium, chromium-driver and python3-selenium; no network but
loopback.  Without PYEXEC_URL or the key the run fails (never skips).
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ.get("PYEXEC_URL", "").rstrip("/")
KEY = os.environ.get("PYEXEC_TEST_KEY", "")
RUN_DIR = os.environ.get("PYEXEC_RUN_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "run", "browser")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

if not URL or not KEY:
    pytest.exit("tests/browser: PYEXEC_URL and PYEXEC_TEST_KEY must be set "
                "(a live stack; see docs/playground.md)", returncode=1)

PLOT_CODE = (
    "import matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(4, 3), dpi=100)\n"
    "ax.plot([1, 2, 3], [3, 1, 2])\n"
    "print('plotted')\n"
)


def api(path, body, key=KEY):
    req = urllib.request.Request(
        URL + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Integrations-API-Key": key})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=60) as res:
        return json.load(res)


@pytest.fixture(scope="module")
def driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1280,1000", "--no-proxy-server",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--disable-extensions"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(60)
    try:
        yield d
    finally:
        d.quit()


def load(d, key=None):
    d.get_log("browser")  # drop what earlier tests logged (their 401s, 400s)
    d.get(URL + "/playground")
    WebDriverWait(d, 30).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1")
    d.execute_script("sessionStorage.clear(); localStorage.clear();")
    if key is not None:
        k = d.find_element(By.ID, "api-key")
        k.clear()
        k.send_keys(key)


def set_code(d, code):
    d.execute_script("document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0]);", code)


def run_and_wait(d, button="run", out="run-output", timeout=60):
    d.find_element(By.ID, button).click()

    def done(d):
        o = d.find_element(By.ID, out)
        return not o.find_elements(By.CLASS_NAME, "pending") and o.text.strip()
    WebDriverWait(d, timeout).until(done)
    return d.find_element(By.ID, out)


def severe_console(d):
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def host_of(u):
    p = urllib.parse.urlsplit(u)
    return p.hostname if p.scheme in ("http", "https", "ws", "wss") else None


def test_page_headers_and_no_key_in_page():
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(URL + "/playground", timeout=10) as res:
        body = res.read().decode()
        assert res.headers["Content-Type"].startswith("text/html")
        csp = res.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "img-src 'self' data:" in csp
    assert "unsafe-eval" not in csp and "script-src" not in csp  # default-src: files only
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert [k for k, v in directives.items() if "unsafe-inline" in v] == ["style-src"]
    assert KEY not in body
    assert "<script>" not in body.replace(" ", "")  # scripts are files only
    for path, ctype in (("/playground/playground.js", "application/javascript"),
                        ("/playground/playground.css", "text/css"),
                        ("/playground/vendor/codemirror/lib/codemirror.js", "application/javascript"),
                        ("/playground/vendor/plotly.js", "application/javascript")):
        with opener.open(URL + path, timeout=30) as res:
            assert res.headers["Content-Type"].startswith(ctype), path
            assert res.headers["X-Content-Type-Options"] == "nosniff"


def test_page_loads_clean(driver):
    load(driver)
    assert driver.execute_script("return typeof CodeMirror") == "function"
    assert driver.execute_script("return typeof Plotly") == "object"
    # the editor highlights Python
    assert driver.execute_script(
        "return document.querySelector('.CodeMirror').CodeMirror.getMode().name") == "python"
    assert severe_console(driver) == []
    names = driver.execute_script(
        "return performance.getEntries().map(function (e) { return e.name; })")
    hosts = {host_of(n) for n in names} - {None}
    assert hosts and hosts <= LOOPBACK, names


def test_no_key_is_said_in_words(driver):
    load(driver)
    out = run_and_wait(driver)
    assert "No API key" in out.text


def test_print_and_key_storage(driver):
    load(driver, KEY)
    set_code(driver, "print('hello-from-the-browser', 6 * 7)")
    out = run_and_wait(driver)
    assert "hello-from-the-browser 42" in out.find_element(By.CLASS_NAME, "stdout").text
    assert out.find_element(By.CLASS_NAME, "outcome").text == "completed"
    dur = out.find_element(By.CSS_SELECTOR, "dd[data-field=duration]").text
    assert dur.endswith(" ms")
    # the key: in this tab's sessionStorage only
    assert driver.execute_script("return sessionStorage.getItem('pyexec.apiKey')") == KEY
    assert driver.execute_script("return localStorage.length") == 0
    assert driver.get_cookies() == []
    assert KEY not in driver.current_url
    assert severe_console(driver) == []


def test_wrong_key_401_in_words(driver):
    load(driver, "not-a-valid-key")
    set_code(driver, "print(1)")
    out = run_and_wait(driver)
    err = out.find_element(By.CLASS_NAME, "error-message").text
    assert "401" in err and "refused" in err
    assert "{" not in err


def test_error_example(driver):
    load(driver, KEY)
    Select(driver.find_element(By.ID, "example")).select_by_visible_text("an error")
    out = run_and_wait(driver)
    assert out.find_element(By.CLASS_NAME, "outcome").text == "error"
    exc = out.find_element(By.CLASS_NAME, "exception").text
    assert "ZeroDivisionError" in exc and "line 2" in exc
    assert "before" in out.find_element(By.CLASS_NAME, "stdout").text


def test_timeout_example(driver):
    load(driver, KEY)
    Select(driver.find_element(By.ID, "example")).select_by_visible_text("a timeout")
    assert driver.find_element(By.ID, "timeout").get_attribute("value") == "1"
    out = run_and_wait(driver)
    assert out.find_element(By.CLASS_NAME, "outcome").text == "timed out"


def test_bad_limit_400_in_words(driver):
    load(driver, KEY)
    t = driver.find_element(By.ID, "timeout")
    t.clear()
    t.send_keys("999")
    set_code(driver, "print(1)")
    out = run_and_wait(driver)
    err = out.find_element(By.CLASS_NAME, "error-message").text
    assert "400" in err and "timeout" in err


def test_matplotlib_image_has_the_reported_size(driver):
    env = api("/v1/execute", {"code": PLOT_CODE})
    images = [i for i in env["response"] if i.get("type") == "image"]
    assert len(images) == 1, env
    load(driver, KEY)
    set_code(driver, PLOT_CODE)
    out = run_and_wait(driver)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "var i = document.querySelector('#run-output figure.image img');"
        "return i && i.complete && i.naturalWidth > 0"))
    img = out.find_element(By.CSS_SELECTOR, "figure.image img")
    nw, nh = driver.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img)
    assert (nw, nh) == (int(img.get_attribute("data-width")), int(img.get_attribute("data-height")))
    assert (nw, nh) == (images[0]["width"], images[0]["height"])
    assert (int(img.get_attribute("width")), int(img.get_attribute("height"))) == (nw, nh)
    os.makedirs(RUN_DIR, exist_ok=True)
    driver.save_screenshot(os.path.join(RUN_DIR, "playground-plot.png"))


def test_generate_tab(driver):
    load(driver, KEY)
    driver.find_element(By.ID, "tab-generate").click()
    q = driver.find_element(By.ID, "query")
    q.send_keys("print a greeting")
    out = run_and_wait(driver, "generate", "generate-output")
    code = out.find_element(By.CSS_SELECTOR, ".gen-code pre.generated-code").text
    assert "print('fake-llm-ok')" in code
    run = out.find_element(By.CLASS_NAME, "gen-run")
    assert "fake-llm-ok" in run.find_element(By.CLASS_NAME, "stdout").text
    assert run.find_element(By.CLASS_NAME, "outcome").text == "completed"
    assert severe_console(driver) == []


def test_generate_model_failure_in_words(driver):
    load(driver, KEY)
    driver.find_element(By.ID, "tab-generate").click()
    driver.find_element(By.ID, "query").send_keys("fail please [mode:error500]")
    out = run_and_wait(driver, "generate", "generate-output", timeout=90)
    err = out.find_element(By.CLASS_NAME, "error-message").text
    assert "Server error (502)" in err and "model" in err
    assert "{" not in err


def test_screenshot(driver):
    load(driver, KEY)
    Select(driver.find_element(By.ID, "example")).select_by_visible_text("a matplotlib plot")
    run_and_wait(driver)
    try:
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#run-output .stdout"))
    except TimeoutException:
        pass
    os.makedirs(RUN_DIR, exist_ok=True)
    path = os.path.join(RUN_DIR, "playground.png")
    driver.execute_script("document.body.style.zoom = '1'")
    assert driver.save_screenshot(path)
    assert os.path.getsize(path) > 10000
    # nothing left the machine during the whole session of this page
    names = driver.execute_script(
        "return performance.getEntries().map(function (e) { return e.name; })")
    assert {host_of(n) for n in names} - {None} <= LOOPBACK


def test_plotly_figure_and_file_link(driver):
    code = ("import plotly.graph_objects as go\n"
            "go.Figure(go.Bar(x=['a', 'b'], y=[2, 1])).show()\n"
            "import os\nos.makedirs('/tmp/outputs', exist_ok=True)\n"
            "open('/tmp/outputs/squares.csv', 'w').write('n,sq\\n3,9\\n')\n"
            "open('/tmp/outputs/page.html', 'w').write("
            "'<script>parent.postMessage(sessionStorage.length, \"*\")</script>')\n")
    env = api("/v1/execute", {"code": code})
    types = [i.get("type") for i in env["response"]]
    assert types.count("plotly") == 1 and types.count("file") == 2, types
    load(driver, KEY)
    set_code(driver, code)
    out = run_and_wait(driver)
    WebDriverWait(driver, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#run-output figure.plotly .plot-container svg.main-svg"))
    page, link = out.find_elements(By.CSS_SELECTOR, ".artifact.file a")  # by name
    assert link.text == "squares.csv"
    assert link.get_attribute("download") == "squares.csv"
    assert link.get_attribute("href").startswith("data:text/csv;base64,")
    assert "9 B" in out.find_elements(By.CSS_SELECTOR, ".artifact.file")[1].text
    # the run's HTML is saved, never opened as a document of this origin:
    # the envelope says text/html, the link's own type is octet-stream
    assert page.text == "page.html"
    assert [i["mime"] for i in env["response"] if i.get("name") == "page.html"] == ["text/html"]
    assert page.get_attribute("href").startswith("data:application/octet-stream;base64,")
    assert severe_console(driver) == []


def test_file_names_cannot_masquerade(driver):
    """A name is shown as a reader can check it (docs/playground.md): in a
    left-to-right isolate (<bdi dir="ltr">), what the service lets through
    but a reader cannot see (a Hangul filler, a no-break space) escaped as
    \\u{...}, a backslash too; a name the service refused (U+202E, the
    right-to-left override) is said, never shown."""
    names = ["\u05d0\u05d1.txt", "a\u3164b.txt", "sp\u00a0ace.txt",
             "back\\slash.txt", "invoice\u202etxt.exe"]
    code = ("import os\nos.makedirs('/tmp/outputs', exist_ok=True)\n"
            "for n in %r:\n"
            "    open('/tmp/outputs/' + n, 'w').write('x')\n" % names)
    load(driver, KEY)
    set_code(driver, code)
    out = run_and_wait(driver)
    WebDriverWait(driver, 20).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#run-output .artifact.file")) == 5)
    links = out.find_elements(By.CSS_SELECTOR, ".artifact.file a")
    shown = {"a\u3164b.txt": "a\\u{3164}b.txt",
             "back\\slash.txt": "back\\u{5C}slash.txt",
             "sp\u00a0ace.txt": "sp\\u{A0}ace.txt",
             "\u05d0\u05d1.txt": "\u05d0\u05d1.txt"}
    assert sorted(a.text for a in links) == sorted(shown.values()), [a.text for a in links]
    for a in links:
        assert a.get_attribute("download") == a.text
        bdi = a.find_element(By.CSS_SELECTOR, "bdi.name")
        assert bdi.get_attribute("dir") == "ltr"
        assert driver.execute_script(
            "return getComputedStyle(arguments[0]).unicodeBidi", bdi) == "isolate"
    refused = [r.text for r in out.find_elements(By.CSS_SELECTOR, ".artifact.file")
               if not r.find_elements(By.TAG_NAME, "a")]
    assert len(refused) == 1 and "its name was refused" in refused[0], refused
    assert "\u202e" not in out.text and "invoice" not in out.text
    assert severe_console(driver) == []


def test_value_and_table_are_shown(driver):
    load(driver, KEY)
    set_code(driver, "import pandas as pd\n"
                     "display('<b>not html</b>')\n"
                     "pd.DataFrame({'a': [1.5, None], 'b': ['x', '<i>y</i>']})")
    out = run_and_wait(driver)
    assert out.find_element(By.CLASS_NAME, "outcome").text == "completed"
    assert out.find_element(By.CLASS_NAME, "value").text.split()[:2] == ["a", "b"]
    assert out.find_element(By.CLASS_NAME, "display").text == "'<b>not html</b>'"
    table = out.find_element(By.CSS_SELECTOR, ".table-item table")
    heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert heads == ["", "a", "b"], heads
    cells = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
             for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert cells == [["1.5", "x"], ["NaN", "<i>y</i>"]], cells
    # text, never markup: no element came from the data
    assert not out.find_elements(By.TAG_NAME, "b") and not out.find_elements(By.TAG_NAME, "i")
    assert not severe_console(driver)
