// pyexec playground: talks to the native API (docs/api.md) of the same origin.
// No key in this file; the key a person enters stays in sessionStorage.
(function () {
  "use strict";

  var KEY_STORE = "pyexec.apiKey";

  var EXAMPLES = [
    {
      name: "pandas summary",
      code: [
        "import pandas as pd",
        "",
        "df = pd.DataFrame({",
        "    \"city\": [\"Oslo\", \"Lima\", \"Pune\", \"Oslo\", \"Lima\", \"Pune\"],",
        "    \"temp\": [3.5, 19.0, 31.2, 5.1, 18.4, 29.8],",
        "})",
        "print(df.describe())",
        "print()",
        "print(df.groupby(\"city\")[\"temp\"].agg([\"mean\", \"min\", \"max\"]))",
        "result = df.groupby(\"city\")[\"temp\"].mean().round(2).to_dict()",
      ].join("\n"),
    },
    {
      name: "a matplotlib plot",
      code: [
        "import numpy as np",
        "import matplotlib.pyplot as plt",
        "",
        "x = np.linspace(0, 2 * np.pi, 200)",
        "fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)",
        "ax.plot(x, np.sin(x), label=\"sin\")",
        "ax.plot(x, np.cos(x), label=\"cos\")",
        "ax.legend()",
        "ax.set_title(\"sin and cos\")",
        "print(\"plotted\", len(x), \"points\")",
      ].join("\n"),
    },
    {
      name: "a plotly figure",
      code: [
        "import plotly.graph_objects as go",
        "",
        "fig = go.Figure(go.Bar(x=[\"a\", \"b\", \"c\"], y=[3, 1, 2]))",
        "fig.update_layout(title=\"three bars\")",
        "fig.show()",
        "print(\"shown\")",
      ].join("\n"),
    },
    {
      name: "an error",
      code: [
        "def ratio(a, b):",
        "    return a / b",
        "",
        "print(\"before\")",
        "print(ratio(1, 0))",
      ].join("\n"),
    },
    {
      name: "a timeout",
      code: [
        "import time",
        "",
        "print(\"sleeping past the limit\")",
        "time.sleep(60)",
      ].join("\n"),
      timeout: 1,
    },
    {
      name: "a file to download",
      code: [
        "import os",
        "",
        "os.makedirs(\"/tmp/outputs\", exist_ok=True)",
        "with open(\"/tmp/outputs/squares.csv\", \"w\") as f:",
        "    f.write(\"n,square\\n\")",
        "    for n in range(10):",
        "        f.write(f\"{n},{n * n}\\n\")",
        "print(\"wrote squares.csv\")",
      ].join("\n"),
    },
  ];

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "className") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  // ---------------------------------------------------------------- key ---
  var keyInput = $("api-key");

  function getKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return keyInput.value.trim(); }
  }

  function setKey(v) {
    try {
      if (v) sessionStorage.setItem(KEY_STORE, v); else sessionStorage.removeItem(KEY_STORE);
    } catch (e) { /* storage disabled: the field alone holds it */ }
  }

  keyInput.value = getKey();
  keyInput.addEventListener("input", function () { setKey(keyInput.value.trim()); });
  $("forget-key").addEventListener("click", function () { keyInput.value = ""; setKey(""); });

  // --------------------------------------------------------------- tabs ---
  var tabs = document.querySelectorAll(".tab");
  Array.prototype.forEach.call(tabs, function (t) {
    t.addEventListener("click", function () {
      Array.prototype.forEach.call(tabs, function (u) {
        var on = u === t;
        u.classList.toggle("active", on);
        u.setAttribute("aria-selected", on ? "true" : "false");
        $(u.getAttribute("data-panel")).hidden = !on;
      });
      if (t.id === "tab-run" && editor) editor.refresh();
    });
  });

  // ------------------------------------------------------------- editor ---
  var editor = null;
  if (window.CodeMirror) {
    editor = CodeMirror.fromTextArea($("code"), {
      mode: "python",
      lineNumbers: true,
      indentUnit: 4,
      matchBrackets: true,
      viewportMargin: Infinity,
      extraKeys: {
        "Ctrl-Enter": function () { runCode(); },
        "Cmd-Enter": function () { runCode(); },
        Tab: function (cm) { cm.execCommand(cm.somethingSelected() ? "indentMore" : "insertSoftTab"); },
      },
    });
  }
  function getCode() { return editor ? editor.getValue() : $("code").value; }
  function setCode(s) { if (editor) editor.setValue(s); else $("code").value = s; }

  var sel = $("example");
  EXAMPLES.forEach(function (ex, i) { sel.appendChild(el("option", { value: String(i), text: ex.name })); });
  sel.addEventListener("change", function () {
    var ex = EXAMPLES[Number(sel.value)];
    if (!ex || sel.value === "") return;
    setCode(ex.code);
    $("timeout").value = String(ex.timeout || 5);
  });

  // ------------------------------------------------------------ request ---
  function limits() {
    var body = {};
    var t = parseFloat($("timeout").value);
    var m = parseInt($("memory").value, 10);
    var c = parseFloat($("cpu").value);
    if (!isNaN(t)) body.timeout = t;
    if (!isNaN(m)) body.memory_limit = m;
    if (!isNaN(c)) body.cpu_limit = c;
    return body;
  }

  function envelopeError(json) {
    if (!json || !Array.isArray(json.response)) return null;
    for (var i = 0; i < json.response.length; i++) {
      var it = json.response[i];
      if (it && it.type === "error") return it;
    }
    return null;
  }

  // The words shown for a failed request (never the raw JSON).
  function describeFailure(status, json, headers) {
    var err = envelopeError(json) || {};
    var msg = err.message ? String(err.message) : "";
    var code = err.code ? String(err.code) : "";
    if (status === 401)
      return "The API key was refused (401 Unauthorized): check that you pasted a valid key.";
    if (status === 429) {
      var ra = headers.get("Retry-After");
      return "Too many requests (429 rate limited): wait " + (ra ? ra + " second" + (ra === "1" ? "" : "s") : "a moment") +
        " and try again." + (code === "overloaded" ? " The service is busy (no free worker)." : "");
    }
    if (status === 400) return "The request was refused (400): " + (msg || "invalid request") + ".";
    if (status === 413) return "The request is too large (413): " + (msg || "body too large") + ".";
    if (status >= 500) {
      var what = {
        internal_error: "the sandbox failed to run the code",
        bad_gateway: "the execution service is unavailable",
        service_unavailable: "the execution service is unavailable",
        gateway_timeout: "the execution service did not answer in time",
        overloaded: "the service is busy (no free worker)",
        llm_unavailable: "the model is unreachable or failing",
        llm_bad_response: "the model gave no usable code",
        llm_not_configured: "no model is configured on this service",
        llm_timeout: "the model took too long",
        time_budget: "the request would pass its time budget",
      }[code] || "the service failed";
      return "Server error (" + status + "): " + what + (msg ? " \u2014 " + msg : "") + "." +
        (json && json.invocationId ? " Invocation id: " + json.invocationId + "." : "");
    }
    return "Unexpected answer (HTTP " + status + ")" + (msg ? ": " + msg : "") + ".";
  }

  function showError(out, text) {
    out.textContent = "";
    out.appendChild(el("div", { className: "error-message", role: "alert", text: text }));
  }

  function call(path, body, out, button, onSuccess) {
    var key = getKey() || keyInput.value.trim();
    if (!key) {
      showError(out, "No API key: paste your key in the field at the top first.");
      keyInput.focus();
      return;
    }
    button.disabled = true;
    out.textContent = "";
    out.appendChild(el("div", { className: "pending", text: "Running\u2026" }));
    var t0 = performance.now();
    fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Integrations-API-Key": key },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    }).then(function (res) {
      return res.text().then(function (txt) {
        var json = null;
        try { json = JSON.parse(txt); } catch (e) { json = null; }
        var rtt = performance.now() - t0;
        if (res.ok && json && json.status === "success") {
          onSuccess(json, rtt);
        } else if (res.ok && json) {
          showError(out, "The service reported an error: " + ((envelopeError(json) || {}).message || "no details") + ".");
        } else if (!json && res.ok) {
          showError(out, "The service answered (HTTP " + res.status + ") with something that is not JSON.");
        } else {
          showError(out, describeFailure(res.status, json, res.headers));
        }
      });
    }, function (e) {
      showError(out, "Network error: could not reach the service (" + (e && e.message ? e.message : "request failed") + ").");
    }).catch(function (e) {
      showError(out, "The answer could not be shown: " + (e && e.message ? e.message : String(e)) + ".");
    }).then(function () { button.disabled = false; });
  }

  // ----------------------------------------------------------- renderer ---
  function fmtMs(v) { return v === null || v === undefined ? "\u2013" : (Math.round(v * 10) / 10) + " ms"; }
  function fmtBytes(n) {
    if (n === null || n === undefined) return "\u2013";
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }

  var OUTCOME_WORDS = {
    completed: "completed",
    error: "error",
    timeout: "timed out",
    memory_limit: "memory limit reached",
    output_limit: "output limit reached",
    signal: "killed by a signal",
    rejected: "rejected (not run)",
  };

  var PASSIVE_TYPES = /^(text\/(csv|plain|tab-separated-values|markdown)|application\/(json|pdf|zip|gzip|octet-stream|vnd\.apache\.parquet|vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet)|image\/(png|jpeg|gif|webp))$/;

  function safeMime(m, prefix) {
    m = String(m || "");
    if (!/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/i.test(m)) return "application/octet-stream";
    if (prefix && m.indexOf(prefix) !== 0) return null;
    return m;
  }

  function renderExecution(item) {
    var box = el("div", { className: "execution" });
    var outcome = String(item.outcome || "unknown");
    box.setAttribute("data-outcome", outcome);
    var head = el("div", { className: "outcome-line" }, [
      el("span", { className: "outcome outcome-" + outcome.replace(/[^a-z_]/g, ""), text: OUTCOME_WORDS[outcome] || outcome }),
    ]);
    if (item.exit_code !== null && item.exit_code !== undefined) head.appendChild(el("span", { className: "meta", text: "exit code " + item.exit_code }));
    if (item.signal) head.appendChild(el("span", { className: "meta", text: "signal " + item.signal }));
    if (item.limit) head.appendChild(el("span", { className: "meta", text: "limit: " + item.limit + (item.overshoot_ms !== null && item.overshoot_ms !== undefined ? " (killed " + fmtMs(item.overshoot_ms) + " after)" : "") }));
    if (item.attempt) head.appendChild(el("span", { className: "meta", text: "attempt " + item.attempt }));
    box.appendChild(head);

    if (item.exception) {
      var ex = item.exception;
      box.appendChild(el("div", { className: "exception", role: "alert",
        text: (ex.type || "Exception") + (ex.message ? ": " + ex.message : "") + (ex.line ? " (line " + ex.line + ")" : "") }));
    }
    if (item.rejection) {
      box.appendChild(el("div", { className: "exception", text: "Not run: " + (item.rejection.reason || "judged unsafe") }));
      var concerns = item.rejection.concerns || [];
      if (concerns.length) box.appendChild(el("ul", { className: "concerns" }, concerns.map(function (c) { return el("li", { text: String(c) }); })));
    }

    var timings = [
      ["duration", fmtMs(item.duration_ms)], ["CPU", fmtMs(item.cpu_ms)], ["setup", fmtMs(item.setup_ms)],
      ["queue", fmtMs(item.queue_ms)], ["memory peak", fmtBytes(item.memory_peak_bytes)],
      ["warm", item.warm === undefined ? "\u2013" : (item.warm ? "yes" : "no")],
    ];
    box.appendChild(el("dl", { className: "timings" }, timings.reduce(function (acc, kv) {
      acc.push(el("dt", { text: kv[0] })); acc.push(el("dd", { "data-field": kv[0].replace(/ /g, "_"), text: kv[1] })); return acc;
    }, [])));

    box.appendChild(el("h3", { text: "stdout" + (item.stdout_bytes ? " (" + fmtBytes(item.stdout_bytes) + ")" : "") }));
    box.appendChild(el("pre", { className: "stdout", text: item.stdout || "" }));
    if (item.stderr) {
      box.appendChild(el("h3", { text: "stderr" }));
      box.appendChild(el("pre", { className: "stderr", text: item.stderr }));
    }
    if (item.truncated) box.appendChild(el("p", { className: "note", text: "The output was cut at the service's output cap." }));
    if (item.result !== null && item.result !== undefined) {
      box.appendChild(el("h3", { text: "result" }));
      box.appendChild(el("pre", { className: "result", text: JSON.stringify(item.result, null, 2) }));
    }
    if (typeof item.value === "string") {
      box.appendChild(el("h3", { text: "Out" }));
      box.appendChild(el("pre", { className: "value", text: item.value }));
    }
    return box;
  }

  // A table item (a pandas DataFrame or Series the code showed): its first
  // rows as an HTML table, every cell as text.
  function renderTable(item) {
    var fig = el("figure", { className: "table-item" });
    var cols = Array.isArray(item.columns) ? item.columns : [];
    var head = el("tr", {}, [el("th", { text: "" })].concat(cols.map(function (c, i) {
      var t = Array.isArray(item.dtypes) ? item.dtypes[i] : "";
      return el("th", { text: String(c), title: String(t || "") });
    })));
    var rows = (Array.isArray(item.rows) ? item.rows : []).map(function (r, i) {
      var idx = Array.isArray(item.index) ? item.index[i] : i;
      return el("tr", {}, [el("th", { text: String(idx) })].concat((Array.isArray(r) ? r : []).map(function (c) {
        return el("td", { text: c === null ? "NaN" : (typeof c === "object" ? JSON.stringify(c) : String(c)) });
      })));
    });
    fig.appendChild(el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)]));
    var shape = Array.isArray(item.shape) ? item.shape : [];
    fig.appendChild(el("figcaption", { text: shape.join(" rows × ") + " columns" + (item.cut ? " (first rows shown)" : "") }));
    return fig;
  }

  // A name as a person may read it: the service refuses names with control,
  // format (bidi overrides, zero-width characters, ...) and line separator
  // characters; what it lets through and a reader still cannot see (other
  // default-ignorable characters such as U+3164, unassigned or private
  // code points, spaces other than U+0020) is shown as \u{...}, and so is
  // a backslash, so that an escape cannot be faked.  The name goes in a
  // left-to-right isolate (<bdi dir="ltr">, unicode-bidi: isolate): right-
  // to-left letters in it reorder neither it nor the text around it.
  var HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}\p{Default_Ignorable_Code_Point}\\]|[^\S ]/gu;
  function shownName(name) {
    return String(name).replace(HIDDEN, function (c) {
      return "\\u{" + c.codePointAt(0).toString(16).toUpperCase() + "}";
    });
  }
  function nameEl(name) {
    return el("bdi", { className: "name", dir: "ltr", text: shownName(name) });
  }

  function renderImage(item) {
    var mime = safeMime(item.mime, "image/");
    var fig = el("figure", { className: "artifact image" });
    if (!mime || typeof item.data !== "string") {
      fig.appendChild(el("figcaption", { text: "An image that cannot be shown (" + String(item.mime) + ")." }));
      return fig;
    }
    var img = el("img", { src: "data:" + mime + ";base64," + item.data, alt: shownName(item.name || "figure") });
    if (item.width) img.setAttribute("width", String(item.width));
    if (item.height) img.setAttribute("height", String(item.height));
    img.setAttribute("data-width", String(item.width || ""));
    img.setAttribute("data-height", String(item.height || ""));
    fig.appendChild(img);
    fig.appendChild(el("figcaption", {}, [nameEl(item.name || "figure"), (item.width ? " \u2014 " + item.width + "\u00d7" + item.height : "") + (item.truncated ? " (truncated)" : "")]));
    return fig;
  }

  function renderPlotly(item, pending) {
    var fig = el("figure", { className: "artifact plotly" });
    var div = el("div", { className: "plotly-target" });
    fig.appendChild(div);
    fig.appendChild(el("figcaption", {}, [nameEl(item.name || "plotly figure")]));
    var spec = item.data;
    if (typeof spec === "string") { try { spec = JSON.parse(spec); } catch (e) { spec = null; } }
    if (!spec || typeof spec !== "object" || item.truncated) {
      div.textContent = "This plotly figure cannot be shown" + (item.truncated ? " (truncated by the service's cap)." : ".");
    } else if (!window.Plotly) {
      div.textContent = "plotly.js is not available on this server.";
    } else {
      pending.push(function () {
        Plotly.newPlot(div, spec.data || [], spec.layout || {}, { responsive: true, displaylogo: false, topojsonURL: "/playground/vendor/topojson/" });
      });
    }
    return fig;
  }

  function renderFile(item) {
    var name = shownName(item.name || "file");
    var row = el("div", { className: "artifact file" });
    var size = fmtBytes(item.size);
    if (item.truncated || typeof item.data !== "string") {
      row.appendChild(el("span", {}, [nameEl(item.name || "file"), " (" + size + ") \u2014 " +
        (item.reason === "name" ? "its name was refused, not returned" : "too large, not returned")]));
    } else {
      // The link's own type: a passive one, else octet-stream (an HTML or
      // SVG file is the run's: it is saved, never opened as a document).
      var mime = safeMime(item.mime);
      if (!PASSIVE_TYPES.test(mime)) mime = "application/octet-stream";
      var a = el("a", { href: "data:" + mime + ";base64," + item.data, download: name.replace(/^.*\//, "") }, [nameEl(item.name)]);
      row.appendChild(a);
      row.appendChild(el("span", { className: "meta", text: " " + size + ", " + String(item.mime || "") }));
    }
    return row;
  }

  function highlighted(code) {
    var pre = el("pre", { className: "cm-s-default generated-code" });
    if (window.CodeMirror && CodeMirror.runMode) CodeMirror.runMode(code, "python", pre);
    else pre.textContent = code;
    return pre;
  }

  // Render every item of a success envelope into `out`; "code" items go to
  // `codeOut` when given (the generate tab's left column).
  function renderEnvelope(json, rtt, out, codeOut) {
    out.textContent = "";
    if (codeOut) codeOut.textContent = "";
    var pending = [];
    var artifacts = null;
    function artifactBox() {
      if (!artifacts) { artifacts = el("div", { className: "artifacts" }); }
      return artifacts;
    }
    json.response.forEach(function (item) {
      if (!item || typeof item !== "object") return;
      switch (item.type) {
        case "text":
          out.appendChild(el("p", { className: "summary", text: String(item.message || "") }));
          break;
        case "execution":
          if (artifacts) { out.appendChild(artifacts); artifacts = null; }
          out.appendChild(renderExecution(item));
          break;
        case "code":
          var target = codeOut || out;
          target.appendChild(el("h3", { text: "Generated code" + (item.attempt ? " (attempt " + item.attempt + ")" : "") }));
          target.appendChild(highlighted(String(item.code || "")));
          if (item.explanation) target.appendChild(el("p", { className: "explanation", text: String(item.explanation) }));
          if (item.model) target.appendChild(el("p", { className: "meta", text: "model: " + item.model }));
          break;
        case "image":
          artifactBox().appendChild(renderImage(item));
          break;
        case "plotly":
          artifactBox().appendChild(renderPlotly(item, pending));
          break;
        case "file":
          artifactBox().appendChild(renderFile(item));
          break;
        case "table":
          out.appendChild(renderTable(item));
          break;
        case "display":
          out.appendChild(el("pre", { className: "display", text: String(item.value || "") }));
          break;
        case "validation":
          out.appendChild(el("p", { className: "meta", text: "review: " + item.status + (item.reason ? " (" + item.reason + ")" : "") }));
          break;
        case "usage":
          out.appendChild(el("p", { className: "meta usage", text: "model " + (item.model || "") + ": " + fmtMs(item.llm_ms) + ", " +
            (item.llm_calls || 0) + " call(s), " + (item.prompt_tokens || 0) + " prompt + " + (item.completion_tokens || 0) + " completion tokens" }));
          break;
        case "error":
          out.appendChild(el("div", { className: "error-message", text: String(item.message || "error") }));
          break;
        default:
          out.appendChild(el("p", { className: "meta", text: "(an item of type \u201c" + String(item.type) + "\u201d this page does not show)" }));
      }
    });
    if (artifacts) out.appendChild(artifacts);
    out.appendChild(el("p", { className: "meta rtt", text: "round trip " + fmtMs(rtt) + " \u00b7 invocation " + (json.invocationId || "") }));
    // Plotly needs its target in the document to measure it.
    pending.forEach(function (f) {
      try { f(); } catch (e) { out.appendChild(el("div", { className: "error-message", text: "A plotly figure could not be drawn: " + e.message })); }
    });
  }

  // ---------------------------------------------------------------- run ---
  function runCode() {
    var body = limits();
    body.code = getCode();
    if (!body.code.trim()) { showError($("run-output"), "There is no code to run."); return; }
    call("/v1/execute", body, $("run-output"), $("run"), function (json, rtt) {
      renderEnvelope(json, rtt, $("run-output"), null);
    });
  }
  $("run").addEventListener("click", runCode);

  function generate() {
    var body = limits();
    body.query = $("query").value;
    var att = parseInt($("attempts").value, 10);
    if (!isNaN(att)) body.max_attempts = att;
    var out = $("generate-output");
    if (!body.query.trim()) { showError(out, "Write a task first."); return; }
    call("/v1/generate-and-execute", body, out, $("generate"), function (json, rtt) {
      out.textContent = "";
      var left = el("div", { className: "gen-code" });
      var right = el("div", { className: "gen-run" });
      out.appendChild(el("div", { className: "side-by-side" }, [left, right]));
      renderEnvelope(json, rtt, right, left);
    });
  }
  $("generate").addEventListener("click", generate);
  $("query").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate();
  });

  document.body.setAttribute("data-ready", "1");
})();
