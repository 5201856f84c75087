#!/usr/bin/python3
"""The route table (fcgi-app/serve/routes.c) against what spells it elsewhere.

`pyexec-fcgi --routes` and `--fields` print the route table and its field
tables (the bounds of the default configuration); this checks, with no
live stack:
  - docs/openapi.json: the same paths and methods, both ways; a keyless
    route (and only one) has "security": []; each route's request schema
    (one per field table; /execute has one per shape) has the table's
    properties, required fields, additionalProperties, types, enums and
    bounds (a clamped number, x-pyexec-clamp, has no minimum/maximum:
    out of range is not invalid); memory's string pattern takes what
    the service's size parser takes and no more;
  - nginx/pyexec.conf.in: an exact location that passes to the backend
    without the key check for each keyless route and no other; every
    other route reaches the backend only through `location /`, which
    checks the key.

A bound a setting can change (timeout, memory, cpu, query length, files)
may be left out of the document (its description names the setting); if
it is given it must be the default configuration's.  A bound no setting
changes must be given.

Run by `make check` (Makefile.am TESTS) with PYEXEC_FCGI and top_srcdir
set; by hand: PYEXEC_FCGI=build/fcgi-app/pyexec-fcgi tests/unit/check_api_table.py
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.join(HERE, "..", "..")
APP = os.environ.get("PYEXEC_FCGI") or os.path.join(TOP, "build", "fcgi-app",
                                                    "pyexec-fcgi")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PRIMITIVE = {"string": "string", "word": "string", "number": "number",
             "integer": "integer", "boolean": "boolean", "files": "array"}

problems = []


def bad(where, what):
    problems.append("%s: %s" % (where, what))


def table(option):
    """The binary's JSON for option, under the default configuration."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.run([APP, option], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def resolve(doc, schema):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def type_set(schema):
    t = schema.get("type")
    return set(t) if isinstance(t, list) else {t}


def check_bound(where, field, key, schema, skey):
    """field[key] (the table's, None: unbounded) against schema[skey]."""
    want, have = field.get(key), schema.get(skey)
    settable = field["configurable"] and key.startswith("max")
    if have is None and (want is None or settable):
        return
    if want is None or have is None or float(have) != float(want):
        bad(where, "%s is %r in the document, %r in the field table%s" % (
            skey, have, want, " (the default configuration's)"
            if settable else ""))


def check_session(where, field, prop):
    pattern = prop.get("pattern")
    if pattern is None:
        bad(where, "a session name without its pattern")
        return
    n = field["max_length"]
    for name, ok in (("a" * n, True), ("a" * (n + 1), False), ("", False),
                     (".", False), ("..", False), ("a/b", False),
                     ("x.y_z-1", True)):
        if bool(re.fullmatch(pattern, name)) != ok:
            bad(where, "pattern %r %s %r" % (pattern, "refuses" if ok else
                                             "takes", name))


# What request_parse_memory() (fcgi-app/core/request.c) takes as a string,
# through config_parse_size() (fcgi-app/base/config.c): digits, then k, m
# or g in any case and an optional b or B after it; digits alone are MB.
# tests/integration/test_openapi.py asks the service the same of its pattern.
MEMORY_TAKEN = ("100", "0100", "100m", "100M", "100mb", "100MB", "100mB",
                "102400k", "102400KB", "1g", "1G", "1gb", "1GB")
MEMORY_REFUSED = ("", "m", "MB", "100b", "100B", "100 m", " 100m", "100m ",
                  "-5m", "+5m", "1.5g", "100x", "100mbb", "100kib", "0x10",
                  "100t", "100\n")


def check_memory_pattern(where, pattern):
    if pattern is None:
        bad(where, "memory's string without its pattern")
        return
    for s, ok in [(s, True) for s in MEMORY_TAKEN] + \
            [(s, False) for s in MEMORY_REFUSED]:
        if bool(re.fullmatch(pattern, s)) != ok:
            bad(where, "pattern %r %s %r, which the service %s" % (
                pattern, "refuses" if ok else "takes", s,
                "takes" if ok else "refuses"))


def check_field(doc, where, field, prop):
    prop = resolve(doc, prop)
    kind = field["type"]
    nullable = {"null"} if field["null_is_absent"] else set()
    if kind == "memory":
        alts = [resolve(doc, a) for a in prop.get("oneOf", [])]
        by_type = {a.get("type"): a for a in alts}
        if set(by_type) != {"integer", "string"} | nullable:
            bad(where, "memory must be oneOf integer (MB) and string, "
                "got %r" % sorted(map(str, by_type)))
            return
        check_bound(where, field, "minimum", by_type["integer"], "minimum")
        check_bound(where, field, "maximum", by_type["integer"], "maximum")
        check_memory_pattern(where, by_type["string"].get("pattern"))
        return
    want = {PRIMITIVE[kind]} | nullable
    if type_set(prop) != want:
        bad(where, "type %r in the document, %r in the field table" % (
            prop.get("type"), sorted(want)))
    if kind == "string" and field["session"]:
        check_session(where, field, prop)
    elif kind == "string":
        check_bound(where, field, "min_length", prop, "minLength")
        check_bound(where, field, "max_length", prop, "maxLength")
    elif kind in ("number", "integer") and "x-pyexec-clamp" in prop:
        # clamped, not refused (the seeds' timeouts): no JSON Schema bound
        # may say a value out of range is invalid; the clamp's bounds are
        # the table's
        for skey in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if skey in prop:
                bad(where, "%s, but the value is clamped (x-pyexec-clamp), "
                    "not refused" % skey)
        if field.get("clamped") is False:
            bad(where, "x-pyexec-clamp, but the field table refuses "
                "out-of-range values")
        check_bound(where, field, "minimum", prop["x-pyexec-clamp"], "minimum")
        check_bound(where, field, "maximum", prop["x-pyexec-clamp"], "maximum")
    elif kind in ("number", "integer"):
        if field.get("clamped"):
            bad(where, "the field table clamps it: the document needs "
                "x-pyexec-clamp, not minimum/maximum")
        check_bound(where, field, "minimum", prop, "minimum")
        check_bound(where, field, "maximum", prop, "maximum")
    elif kind == "files":
        check_bound(where, field, "max_items", prop, "maxItems")
        if prop.get("items", {}).get("$ref", "").rsplit("/", 1)[-1] != "InputFile":
            bad(where, "files' items are not InputFile")
    elif kind == "word" and not field["words_ignore_case"]:
        if prop.get("enum") != field["words"]:
            bad(where, "enum %r in the document, %r in the field table" % (
                prop.get("enum"), field["words"]))
    elif kind == "word":
        # compared ignoring case: no enum can say it; the words are named
        if "enum" in prop:
            bad(where, "an enum, but the words are compared ignoring case")
        for w in field["words"]:
            if w not in prop.get("description", ""):
                bad(where, "the description does not name %r" % w)


def check_schema(doc, where, name, fields, schema):
    """Field table `name` against its request schema."""
    where = "%s (%s)" % (where, name)
    props = schema.get("properties", {})
    names = [f["name"] for f in fields["fields"]]
    if set(props) != set(names):
        bad(where, "properties %s in the document, %s in the field table" % (
            sorted(props), sorted(names)))
    required = {f["name"] for f in fields["fields"] if f["required"]}
    if set(schema.get("required", [])) != required:
        bad(where, "required %s in the document, %s in the field table" % (
            sorted(schema.get("required", [])), sorted(required)))
    if (schema.get("additionalProperties") is False) != fields["strict"]:
        bad(where, "additionalProperties %r, but the table %s unknown fields"
            % (schema.get("additionalProperties"),
               "refuses" if fields["strict"] else "ignores"))
    for f in fields["fields"]:
        if f["name"] in props:
            check_field(doc, "%s.%s" % (where, f["name"]), f, props[f["name"]])


def request_schemas(doc, op):
    """The request body's schemas: one, or the alternatives of a oneOf."""
    body = op.get("requestBody")
    if body is None:
        return None
    schema = body["content"]["application/json"]["schema"]
    return [resolve(doc, s) for s in schema.get("oneOf", [schema])]


def check_openapi(routes, fields, doc):
    have = {(p, m) for p, ops in doc["paths"].items() for m in ops
            if m in HTTP_METHODS}
    want = {(r["path"], m.lower()) for r in routes for m in r["methods"]}
    for p, m in sorted(want - have):
        bad("docs/openapi.json", "no %s %s (a route of the table)" % (m.upper(), p))
    for p, m in sorted(have - want):
        bad("docs/openapi.json", "%s %s is not a route of the table" % (m.upper(), p))
    for r in routes:
        for m in r["methods"]:
            op = doc["paths"].get(r["path"], {}).get(m.lower())
            if op is None:
                continue
            where = "%s %s" % (m, r["path"])
            if (op.get("security") == []) != r["keyless"]:
                bad(where, "security %r, but the route %s a key" % (
                    op.get("security"), "needs no" if r["keyless"] else "needs"))
            if m == "GET" and "requestBody" not in op:
                continue    # a GET takes no body (GET, POST /v1/sessions)
            if r["path"] in PROTOCOL_BODIES:
                if "requestBody" not in op:
                    bad(where, "no request body in the document (%s)"
                        % PROTOCOL_BODIES[r["path"]])
                continue
            check_bodies(doc, where, r, fields, request_schemas(doc, op))


# Routes whose body is a protocol's message, not a field table's object:
# the document describes it, its route's code checks it.
PROTOCOL_BODIES = {"/mcp": "a JSON-RPC 2.0 message, checked by mcp.c"}


def check_bodies(doc, where, route, fields, schemas):
    tables = route["field_tables"]
    if schemas is None or not tables:
        if schemas or tables:
            bad(where, "request body in the document: %s; field tables: %s"
                % ("yes" if schemas else "none", tables or "none"))
        return
    if len(schemas) != len(tables):
        bad(where, "%d request schemas, %d field tables" % (len(schemas), len(tables)))
    # the body's required fields pick the shape (POST /execute)
    for name in tables:
        req = {f["name"] for f in fields[name]["fields"] if f["required"]}
        match = [s for s in schemas if set(s.get("required", [])) == req]
        if len(match) != 1:
            bad(where, "no single request schema requires %s (field table %s)"
                % (sorted(req), name))
            continue
        check_schema(doc, where, name, fields[name], match[0])


def nginx_locations(text):
    """{exact path: block text} of nginx's `location = path { ... }`, and
    the text of `location / { ... }`."""
    exact, root = {}, None
    for m in re.finditer(r"^\s*location\s+(=\s*)?(\S+)\s*\{(.*?)^\s*\}", text,
                         re.M | re.S):
        if m.group(1):
            exact[m.group(2)] = m.group(3)
        elif m.group(2) == "/":
            root = m.group(3)
    return exact, root


def check_nginx(routes, text):
    exact, root = nginx_locations(text)
    passed = {p for p, b in exact.items() if re.search(r"^\s*fastcgi_pass\b", b, re.M)}
    keyless = {r["path"] for r in routes if r["keyless"]}
    for p in sorted(passed):
        if re.search(r"^\s*auth_request\b", exact[p], re.M):
            continue
        if p not in keyless:
            bad("nginx/pyexec.conf.in", "location = %s passes to the backend "
                "without a key, but the route needs one" % p)
    for p in sorted(keyless - passed):
        bad("nginx/pyexec.conf.in", "no location = %s for the keyless route" % p)
    if root is None or not re.search(r"^\s*auth_request\b", root, re.M) or \
            not re.search(r"^\s*fastcgi_pass\b", root, re.M):
        bad("nginx/pyexec.conf.in", "location / must check the key and "
            "pass to the backend (the routes that need a key)")


def main():
    routes = table("--routes")["routes"]
    fields = table("--fields")
    with open(os.path.join(TOP, "docs", "openapi.json")) as f:
        doc = json.load(f)
    with open(os.path.join(TOP, "nginx", "pyexec.conf.in")) as f:
        conf = f.read()
    check_openapi(routes, fields, doc)
    check_nginx(routes, conf)
    for p in problems:
        print("FAIL " + p)
    print("%d routes, %d field tables: %s" % (
        len(routes), len(fields), "%d problems" % len(problems)
        if problems else "docs/openapi.json and nginx agree with the table"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
