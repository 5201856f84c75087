/* Unit tests: /v1/execute validation and size/limit parsing. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core.h"

static struct pyexec_config cfg;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.default_timeout = 5;
	cfg.max_timeout = 30;
	cfg.default_memory_mb = 100;
	cfg.max_memory_mb = 500;
	cfg.max_cpu = 2;
}

/* Parses body; returns the error message ("" on success) in a static buffer. */
static const char *
parse(const char *body, size_t len, struct exec_request *r)
{
	static char	msg[512];

	msg[0] = '\0';
	if (request_parse_execute(body, len, &cfg, r, msg, sizeof(msg)) == PYEXEC_OK)
		msg[0] = '\0';
	else if (msg[0] == '\0')
		strcpy(msg, "(no message)");
	return msg;
}

static const char *
parse_s(const char *body)
{
	struct exec_request	r;
	const char		*m = parse(body, strlen(body), &r);

	request_free(&r);
	return m;
}

START_TEST(test_defaults)
{
	struct exec_request	r;
	const char		*m = parse("{\"code\": \"print(1)\"}", 20, &r);

	ck_assert_str_eq(m, "");
	ck_assert_str_eq(r.code, "print(1)");
	ck_assert_uint_eq(r.code_len, 8);
	ck_assert(r.timeout == 5);
	ck_assert_uint_eq(r.memory_bytes, 100ULL << 20);
	ck_assert(r.cpu_limit == 1);
	ck_assert_ptr_null(r.stdin_data);
	request_free(&r);
}
END_TEST

START_TEST(test_all_fields)
{
	struct exec_request	r;
	const char *b = "{\"code\":\"x=1\",\"timeout\":2.5,\"memory_limit\":\"200m\","
	    "\"cpu_limit\":0.5,\"stdin\":\"abc\"}";

	ck_assert_str_eq(parse(b, strlen(b), &r), "");
	ck_assert(r.timeout == 2.5);
	ck_assert_uint_eq(r.memory_bytes, 200ULL << 20);
	ck_assert(r.cpu_limit == 0.5);
	ck_assert_str_eq(r.stdin_data, "abc");
	request_free(&r);
}
END_TEST

START_TEST(test_code_errors)
{
	ck_assert_str_eq(parse_s("{}"), "code: is required");
	ck_assert_str_eq(parse_s("{\"code\": 5}"), "code: must be a string");
	ck_assert_str_eq(parse_s("{\"code\": \"\"}"), "code: must not be empty");
	ck_assert_str_eq(parse_s("{\"code\": \"a\\u0000b\"}"),
	    "code: must not contain NUL bytes");
	ck_assert_str_eq(parse_s("{\"code\": null}"), "code: must be a string");
}
END_TEST

START_TEST(test_duplicate_field)
{
	ck_assert_str_eq(parse_s("{\"code\": \"print(1)\", \"code\": \"print(2)\"}"),
	    "code: duplicate field (given more than once)");
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":1,\"timeout\":2}"),
	    "timeout: duplicate field (given more than once)");
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"\\u0063ode\":\"2\"}"),
	    "code: duplicate field (given more than once)");
	ck_assert_str_eq(parse_s("{ \"stdin\" : {\"a\": [1, \"}\", {\"b\":2}]} ,"
	    " \"code\":\"x\", \"stdin\": null }"),
	    "stdin: duplicate field (given more than once)");
	/* Same names nested deeper are not duplicates of the top level. */
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"stdin\":\"code\"}"), "");
	ck_assert_str_eq(parse_s("{\"timeout\": 2, \"code\": \"1\", \"cpu_limit\": 1,"
	    " \"memory_limit\": \"64m\", \"stdin\": \"\\\"x\"}"), "");
}
END_TEST

START_TEST(test_unknown_field)
{
	ck_assert_str_eq(parse_s("{\"code\": \"1\", \"foo\": 1}"),
	    "unknown field: foo");
}
END_TEST

START_TEST(test_timeout)
{
	const char *msg = "timeout: must be a number between 0.1 and 30";

	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":0}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":-1}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":31}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":\"5\"}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":true}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":30}"), "");
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":0.1}"), "");
}
END_TEST

START_TEST(test_timeout_huge)
{
	const char *m = parse_s("{\"code\":\"1\",\"timeout\":1e999}");

	ck_assert_msg(strncmp(m, "timeout: ", 9) == 0 ||
	    strncmp(m, "body: ", 6) == 0, "got %s", m);
	ck_assert_str_ne(m, "");
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"timeout\":99999999999999999999999}"),
	    "timeout: must be a number between 0.1 and 30");
}
END_TEST

START_TEST(test_memory)
{
	struct json_object	*v;
	uint64_t		 b;
	const char *msg = "memory_limit: must be between 16 MB and 500 MB, as an "
	    "integer of MB or a string like \"100m\" or \"1g\"";

	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":\"1g\"}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":\"abc\"}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":0}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":-5}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":15}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":1.5}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":"
	    "1000000000000000000000000000000}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"memory_limit\":500}"), "");

	v = json_object_new_string("1G");
	ck_assert_int_eq(request_parse_memory(v, &b), PYEXEC_OK);
	ck_assert_uint_eq(b, 1ULL << 30);
	json_object_put(v);
	v = json_object_new_string("65536k");
	ck_assert_int_eq(request_parse_memory(v, &b), PYEXEC_OK);
	ck_assert_uint_eq(b, 64ULL << 20);
	json_object_put(v);
	v = json_object_new_string("150");
	ck_assert_int_eq(request_parse_memory(v, &b), PYEXEC_OK);
	ck_assert_uint_eq(b, 150ULL << 20);
	json_object_put(v);
	v = json_object_new_int(150);
	ck_assert_int_eq(request_parse_memory(v, &b), PYEXEC_OK);
	ck_assert_uint_eq(b, 150ULL << 20);
	json_object_put(v);
	v = json_object_new_string("100x");
	ck_assert_int_eq(request_parse_memory(v, &b), PYEXEC_ERR_INVALID);
	json_object_put(v);
}
END_TEST

START_TEST(test_cpu_stdin)
{
	const char *msg = "cpu_limit: must be a number between 0.1 and 2";

	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"cpu_limit\":0}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"cpu_limit\":-1}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"cpu_limit\":\"x\"}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"cpu_limit\":3}"), msg);
	ck_assert_str_eq(parse_s("{\"code\":\"1\",\"stdin\":5}"),
	    "stdin: must be a string");
}
END_TEST

START_TEST(test_body_errors)
{
	struct exec_request	r;
	char			deep[20001];
	const char		bad[] = "{\"code\": \"print(1)\xff\"}";
	const char		nul[] = "{\"code\": \"1\"}\0";
	int			i;

	ck_assert_str_eq(parse_s("[1,2]"), "body: must be a JSON object");
	ck_assert_str_eq(parse_s("\"x\""), "body: must be a JSON object");
	ck_assert_str_eq(parse_s("42"), "body: must be a JSON object");
	ck_assert_str_eq(parse_s("null"), "body: must be a JSON object");
	ck_assert_str_eq(parse_s(" 4.5 "), "body: must be a JSON object");
	ck_assert(strncmp(parse_s("42 43"), "body: invalid JSON", 18) == 0);
	ck_assert(strncmp(parse_s("{\"code\": "), "body: invalid JSON", 18) == 0);
	ck_assert(strncmp(parse_s("not json"), "body: invalid JSON", 18) == 0);
	ck_assert(strncmp(parse_s("{\"code\":\"1\"} x"), "body: invalid JSON", 18) == 0);
	ck_assert(strncmp(parse_s(""), "body: invalid JSON", 18) == 0);
	ck_assert_str_eq(parse(bad, sizeof(bad) - 1, &r), "body: invalid UTF-8");
	request_free(&r);
	ck_assert_str_eq(parse(nul, sizeof(nul) - 1, &r),
	    "body: must not contain NUL bytes");
	request_free(&r);
	for (i = 0; i < 10000; i++)
		deep[i] = '[';
	deep[10000] = '\0';
	ck_assert_str_eq(parse_s(deep),
	    "body: invalid JSON (nested deeper than 32 levels)");
}
END_TEST

START_TEST(test_parse_size)
{
	uint64_t	v;

	ck_assert_int_eq(config_parse_size("1048576", &v), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(config_parse_size("1m", &v), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(config_parse_size("2K", &v), 0);
	ck_assert_uint_eq(v, 2048);
	ck_assert_int_eq(config_parse_size("1gb", &v), 0);
	ck_assert_uint_eq(v, 1ULL << 30);
	ck_assert_int_eq(config_parse_size("", &v), -1);
	ck_assert_int_eq(config_parse_size("-1", &v), -1);
	ck_assert_int_eq(config_parse_size("1t", &v), -1);
	ck_assert_int_eq(config_parse_size("99999999999999999999", &v), -1);
	ck_assert_int_eq(config_parse_size("18446744073709551615g", &v), -1);
}
END_TEST

START_TEST(test_config_env)
{
	struct pyexec_config	c;
	char			err[256];

	setenv("PYEXEC_WORKERS", "3", 1);
	setenv("PYTHON_EXECUTOR_DEFAULT_TIMEOUT", "7", 1);
	setenv("PYEXEC_MAX_BODY", "2m", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_OK);
	ck_assert_uint_eq(c.workers, 3);
	ck_assert(c.default_timeout == 7);
	ck_assert(c.max_timeout == 30);
	ck_assert_uint_eq(c.max_body, 2u << 20);
	ck_assert_uint_eq(c.default_memory_mb, 100);
	ck_assert_uint_eq(c.uid_base, 61000);
	setenv("PYTHON_EXECUTOR_DEFAULT_TIMEOUT", "31", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert_str_eq(err, "PYTHON_EXECUTOR_DEFAULT_TIMEOUT: must be a number "
	    "between 0.1 and 30");
	unsetenv("PYTHON_EXECUTOR_DEFAULT_TIMEOUT");
	setenv("PYEXEC_MAX_OUTPUT_BYTES", "lots", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert(strncmp(err, "PYEXEC_MAX_OUTPUT_BYTES: ", 25) == 0);
	unsetenv("PYEXEC_MAX_OUTPUT_BYTES");
	setenv("PYEXEC_INSTANCE", "../etc", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	unsetenv("PYEXEC_INSTANCE");
}
END_TEST


/* The one JSON gate (jsonstrict.c) keeps the words of the passes it
 * replaced: NUL outranks UTF-8, which outranks the grammar; duplicates
 * at the top level answer first, files[i] next, deeper ones are the
 * field's business. */
START_TEST(test_gate_words)
{
	static const struct { const char *body; size_t len; const char *msg; } c[] = {
		/* NUL outranks UTF-8, which outranks the grammar. */
		{ "{\"code\":\"1\"} x\0", 16, "body: must not contain NUL bytes" },
		{ "{\"code\":NaN,\"x\":\"\xff\"}", 0, "body: invalid UTF-8" },
		{ "{\"code\":\"\xff\",\"x\":\"\0\"}", 21, "body: must not contain NUL bytes" },
		{ "\xef\xbb\xbf{\"code\":\"1\"}", 0, "body: invalid JSON "
		    "(unexpected character at byte 0)" },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\xff", 0, "body: invalid UTF-8" },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 0,
		    "body: invalid JSON (nested deeper than 32 levels)" },
		{ "{\"code\":\"1\",\"x\":1e}", 0, "body: invalid JSON (invalid "
		    "number at byte 18)" },
		/* A top-level duplicate answers before one in files[]. */
		{ "{\"files\":[{\"n\":1,\"n\":2}],\"code\":\"1\",\"code\":\"2\"}", 0,
		    "code: duplicate field (given more than once)" },
		{ "{\"code\":\"1\",\"files\":[{\"name\":\"a\",\"content\":\"\"},"
		    "{\"name\":\"b\",\"content\":\"\",\"content\":\"x\"}]}", 0,
		    "files[1]: duplicate field content (given more than once)" },
		/* Deeper duplicates are the field's business, as before. */
		{ "{\"code\":\"1\",\"stdin\":{\"a\":1,\"a\":2}}", 0,
		    "stdin: must be a string" },
		{ "{\"code\":\"1\",\"code\\u0000\":\"2\"}", 0,
		    "code: duplicate field (given more than once)" },
		{ "{\"code\":\"\\ud800\"}", 0, "" },
		/* Found by the fuzzer: a duplicate three arrays/objects deep
		 * under no key at all. */
		{ "[[{\"n\":1,\"n\":2}]]", 0, "body: must be a JSON object" },
		{ "{\"x\":[{\"n\":1,\"n\":2}],\"code\":\"1\"}", 0,
		    "unknown field: x" },
	};
	struct exec_request	r;
	size_t			i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ck_assert_str_eq(parse(c[i].body, c[i].len ? c[i].len :
		    strlen(c[i].body), &r), c[i].msg);
		request_free(&r);
	}
}
END_TEST


/* Issue 8, finding 6: what json-c's strict mode still took. */
START_TEST(test_strict_json)
{
	char	m[128];

	ck_assert_str_eq(parse_s("{'code': \"print(1)\", 'code': \"import os\"}"),
	    "body: invalid JSON (single-quoted string (JSON strings use \") at byte 1)");
	ck_assert(strstr(parse_s("{\"code\": \"print(1)\", 'code': 1}"),
	    "single-quoted") != NULL);
	ck_assert(strstr(parse_s("{\"code\": \"a\tb\"}"), "raw control "
	    "character") != NULL);
	ck_assert(strstr(parse_s("{\"code\": \"x\", \"timeout\": NaN}"),
	    "NaN or Infinity") != NULL);
	ck_assert(strstr(parse_s("{\"code\": \"x\", \"timeout\": -Infinity}"),
	    "NaN or Infinity") != NULL);
	/* 1e999 is JSON: the field names it (it is not a finite number). */
	ck_assert(strncmp(parse_s("{\"code\": \"x\", \"timeout\": 1e999}"),
	    "timeout: must be a number", 25) == 0);
	ck_assert_int_eq(json_strict_check("[1e999]", 7, 8, true, m, sizeof(m)), -1);
	ck_assert(strstr(m, "number out of range") != NULL);
	ck_assert_int_eq(json_strict_check("[1e999]", 7, 8, false, m, sizeof(m)), 0);
	ck_assert(strstr(parse_s("{\"code\": \"x\",}"), "expected a key") != NULL);
	ck_assert(strstr(parse_s("[1,]"), "invalid JSON") != NULL);
	ck_assert(strstr(parse_s("{\"code\": \"\\x\"}"), "bad escape") != NULL);
	ck_assert(strstr(parse_s("{\"code\": \"\\u12\"}"), "bad \\u escape") != NULL);
	ck_assert_str_eq(parse_s("{\"code\": \"print(1)\", \"timeout\": 2.5e0}"), "");
	/* The checker itself: every scanner stays within the length. */
	ck_assert_int_eq(json_strict_check("{\"a\":[1,2,{}],\"b\":null}", 23, 8, true, m, sizeof(m)), 0);
	ck_assert_int_eq(json_strict_check("{'", 2, 8, true, m, sizeof(m)), -1);
	ck_assert_int_eq(json_strict_check("\"abc", 4, 8, true, m, sizeof(m)), -1);
	ck_assert_int_eq(json_strict_check("\"a\\", 3, 8, true, m, sizeof(m)), -1);
	ck_assert_int_eq(json_strict_check("[[[", 3, 2, true, m, sizeof(m)), -1);
	ck_assert(strstr(m, "nested too deeply") != NULL);
	ck_assert_int_eq(json_strict_check("1 2", 3, 8, true, m, sizeof(m)), -1);
	ck_assert_int_eq(json_strict_check("-0.5e-3", 7, 8, true, m, sizeof(m)), 0);
	ck_assert_int_eq(json_strict_check("01", 2, 8, true, m, sizeof(m)), -1);
}
END_TEST

START_TEST(test_strict_json_bounds)
{
	/* Malformed single-quote input at the very end of a heap buffer of
	 * exactly its length (ASan catches a read past it). */
	static const char *const in[] = { "{'", "{\"code\":'", "{\"a\":1,'",
	    "{\"code\":\"x\", '", "'", "{\"a\":\"\\", "{\"a\":\"\\u00" };
	struct exec_request	r;
	size_t			i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		size_t	n = strlen(in[i]);
		char	*b = malloc(n);

		memcpy(b, in[i], n);
		ck_assert_str_ne(parse(b, n, &r), "");
		request_free(&r);
		free(b);
	}
}
END_TEST

START_TEST(test_cleartext_llm_url)
{
	ck_assert(config_llm_cleartext("http://llm.example/v1"));
	ck_assert(config_llm_cleartext("http://10.0.0.5:8000/v1"));
	ck_assert(config_llm_cleartext("http://127.0.0.1.example/v1"));
	ck_assert(config_llm_cleartext("http://localhost.example/v1"));
	ck_assert(!config_llm_cleartext("https://llm.example/v1"));
	ck_assert(!config_llm_cleartext("http://127.0.0.1:18099/v1"));
	ck_assert(!config_llm_cleartext("http://localhost:8000/v1"));
	ck_assert(!config_llm_cleartext("http://[::1]:8000/v1"));
	ck_assert(config_llm_cleartext("http://[::2]:8000/v1"));
}
END_TEST

/* PYEXEC_WARM and PYEXEC_PRELOAD: their checks, and which code names a
 * preloaded package (the data zygote's). */
START_TEST(test_config_warm)
{
	struct pyexec_config	c;
	char			err[256];

	unsetenv("PYEXEC_WARM");
	unsetenv("PYEXEC_PRELOAD");
	unsetenv("PYEXEC_WARM_MAX_RUNS");
	unsetenv("PYEXEC_WARM_MAX_AGE");
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_OK);
	ck_assert(c.warm);
	ck_assert_str_eq(c.preload, "numpy,pandas,matplotlib");
	/* A zygote's retirement: 100 runs, 600 s; at least 1 each. */
	ck_assert_uint_eq(c.warm_max_runs, 100);
	ck_assert_uint_eq(c.warm_max_age, 600);
	setenv("PYEXEC_WARM_MAX_RUNS", "0", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert(strncmp(err, "PYEXEC_WARM_MAX_RUNS: ", 22) == 0);
	setenv("PYEXEC_WARM_MAX_RUNS", "3", 1);
	setenv("PYEXEC_WARM_MAX_AGE", "2592001", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert(strncmp(err, "PYEXEC_WARM_MAX_AGE: ", 21) == 0);
	setenv("PYEXEC_WARM_MAX_AGE", "5", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_OK);
	ck_assert_uint_eq(c.warm_max_runs, 3);
	ck_assert_uint_eq(c.warm_max_age, 5);
	unsetenv("PYEXEC_WARM_MAX_RUNS");
	unsetenv("PYEXEC_WARM_MAX_AGE");
	setenv("PYEXEC_WARM", "yes", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert_str_eq(err, "PYEXEC_WARM: must be 0 or 1");
	setenv("PYEXEC_WARM", "0", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_OK);
	ck_assert(!c.warm);
	unsetenv("PYEXEC_WARM");
	setenv("PYEXEC_PRELOAD", "numpy,,pandas", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	setenv("PYEXEC_PRELOAD", "os; import x", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	setenv("PYEXEC_PRELOAD", "1numpy", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	setenv("PYEXEC_PRELOAD", "numpy.", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	setenv("PYEXEC_PRELOAD", "numpy,matplotlib.pyplot,_x2", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_OK);
#define NAMES(code) config_names_preloaded(&c, (code), strlen(code))
	ck_assert(NAMES("import numpy as np"));
	ck_assert(NAMES("import matplotlib\n"));		/* the first part */
	ck_assert(NAMES("x = numpy.random.rand()"));
	ck_assert(NAMES("numpy"));
	ck_assert(NAMES("from _x2 import y"));
	ck_assert(!NAMES("import numpyx"));
	ck_assert(!NAMES("import mynumpy"));
	ck_assert(!NAMES("import pyplot"));
	ck_assert(!NAMES("print(1)"));
	ck_assert(!NAMES(""));
	setenv("PYEXEC_PRELOAD", "", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_OK);
	ck_assert(!NAMES("import numpy"));
#undef NAMES
	unsetenv("PYEXEC_PRELOAD");
}
END_TEST

/* Every seed's table: its defaults, and what failed, as a struct the
 * dialects word (field, kind, bounds, value). */
static enum pyexec_err
tparse(const struct field_table *t, const char *body, struct exec_request *r,
    struct field_error *e)
{
	return request_parse(t, body, strlen(body), &cfg, r, e);
}

START_TEST(test_seed_tables_defaults)
{
	struct exec_request	r;
	struct field_error	e;

	cfg.max_input_length = 100;
	ck_assert_int_eq(tparse(&request_seed004, "{\"code\": \"1\"}", &r, &e), PYEXEC_OK);
	ck_assert(r.timeout == 5 && r.mode == RUN_MODE_SCRIPT && !r.show);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed002, "{\"script\": \"x\"}", &r, &e), PYEXEC_OK);
	ck_assert(r.timeout == 30 && r.mode == RUN_MODE_MAIN);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed003, "{\"generated_code\": \"x\", "
	    "\"timeout\": null, \"language\": \"PYTHON\", \"other\": 1}", &r, &e),
	    PYEXEC_OK);
	ck_assert(r.timeout == 10 && r.unwrap);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed001_execute, "{\"code\": \"x\"}", &r, &e),
	    PYEXEC_OK);
	ck_assert(r.timeout == 5 && r.policy && r.show);
	request_free(&r);
	/* Every default is capped by the configured maximum. */
	cfg.max_timeout = 3;
	ck_assert_int_eq(tparse(&request_seed004, "{\"code\": \"1\"}", &r, &e), PYEXEC_OK);
	ck_assert(r.timeout == 3);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed002, "{\"script\": \"x\"}", &r, &e), PYEXEC_OK);
	ck_assert(r.timeout == 3);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed003, "{\"generated_code\": \"x\"}", &r, &e),
	    PYEXEC_OK);
	ck_assert(r.timeout == 3);
	request_free(&r);
}
END_TEST

START_TEST(test_seed_tables_errors)
{
	struct exec_request	r;
	struct field_error	e;

	cfg.max_input_length = 4;
	ck_assert_int_eq(tparse(&request_seed004, "{\"timeout\": 2}", &r, &e),
	    PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_MISSING && strcmp(e.name, "code") == 0);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed004, "{\"code\": \"1\", \"timeout\": 31}",
	    &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_RANGE && e.lo == 1 && e.hi == 30);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed004, "{\"code\": 5}", &r, &e),
	    PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_TYPE && e.f->type == FT_STRING);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed004, "[1]", &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_NOT_OBJECT && e.f == NULL);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed003, "{\"generated_code\": \"x\", "
	    "\"language\": \"ruby\"}", &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_WORD && strcmp(e.value, "ruby") == 0);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed003, "{\"generated_code\": \"a\\u0000b\"}",
	    &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_NUL);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed001_execute, "{\"code\": \"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}",
	    &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_TOO_LONG && e.hi == 4);	/* characters, not bytes */
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed001_execute, "{\"code\": \"\\u00e9\\u00e9\"}",
	    &r, &e), PYEXEC_OK);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed001_generate, "{\"query\": \"a\\u0001\"}",
	    &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_CONTROL);
	request_free(&r);
	/* The native tables are strict, the seeds' are not. */
	ck_assert_int_eq(tparse(&request_execute, "{\"code\": \"x\", \"x\": 1}", &r, &e),
	    PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_UNKNOWN && strcmp(e.name, "x") == 0);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed004, "{\"code\": \"x\", \"x\": 1}", &r, &e),
	    PYEXEC_OK);
	request_free(&r);
}
END_TEST

/* The native routes' input files: names, base64, the caps, the path of
 * what failed ("files[2].name"); the seeds' tables never take them. */
static const char *
files_msg(const char *files, struct exec_request *r)
{
	static char	body[4 << 20];

	snprintf(body, sizeof(body), "{\"code\": \"x\", \"files\": %s}", files);
	return parse(body, strlen(body), r);
}

/* "artifacts": false turns the collection off on the native routes; it
 * cannot turn it on where the table has it off (the seeds). */
START_TEST(test_artifacts_field)
{
	struct exec_request	r;
	struct field_error	e;
	const char		*on = "{\"code\": \"x\", \"artifacts\": true}";
	const char		*off = "{\"code\": \"x\", \"artifacts\": false}";

	ck_assert_str_eq(parse("{\"code\": \"x\"}", 13, &r), "");
	ck_assert(r.artifacts);
	request_free(&r);
	ck_assert_str_eq(parse(on, strlen(on), &r), "");
	ck_assert(r.artifacts);
	request_free(&r);
	ck_assert_str_eq(parse(off, strlen(off), &r), "");
	ck_assert(!r.artifacts && !r.validate_code);
	request_free(&r);
	ck_assert_str_eq(parse_s("{\"code\": \"x\", \"artifacts\": 0}"),
	    "artifacts: must be true or false");
	ck_assert_int_eq(request_parse(&request_generate, "{\"query\": \"q\", "
	    "\"artifacts\": false}", 34, &cfg, &r, &e), PYEXEC_OK);
	ck_assert(!r.artifacts);
	request_free(&r);
	ck_assert_int_eq(request_parse(&request_seed004, on, strlen(on), &cfg,
	    &r, &e), PYEXEC_OK);
	ck_assert(!r.artifacts);
	request_free(&r);
	ck_assert_int_eq(request_parse(&request_seed000_execute, on, strlen(on),
	    &cfg, &r, &e), PYEXEC_ERR_INVALID);
	ck_assert_int_eq(e.kind, FK_UNKNOWN);
	request_free(&r);
}
END_TEST

/* "session_id": the native and seed 003 tables take it (a workspace's
 * name), checked; the other seeds' tables never name one (seed 000 is
 * strict: refused; 002, 004 ignore it); the policy is the table's. */
START_TEST(test_session_field)
{
	struct exec_request	r;
	struct field_error	e;
	const char		*ok = "{\"code\": \"x\", \"session_id\": \"a-B_9.z\"}";
	const char		*s3 = "{\"generated_code\": \"x\", \"session_id\": \"s\"}";
	char			 b[200];
	size_t			 i;
	static const char *const bad[] = { "\"\"", "\".\"", "\"..\"",
	    "\"a/b\"", "\"a b\"", "\"caf\\u00e9\"", "5", "null",
	    "\"x\\u0000\"",
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"" };

	ck_assert_str_eq(parse(ok, strlen(ok), &r), "");
	ck_assert_str_eq(r.session, "a-B_9.z");
	ck_assert_int_eq(r.ws, WS_OPT_IN);
	request_free(&r);
	ck_assert_str_eq(parse("{\"code\": \"x\"}", 13, &r), "");
	ck_assert_str_eq(r.session, "");
	request_free(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(b, sizeof(b), "{\"code\": \"x\", \"session_id\": %s}",
		    bad[i]);
		ck_assert_msg(strncmp(parse_s(b), "session_id: ", 12) == 0,
		    "%s: %s", b, parse_s(b));
	}
	ck_assert_int_eq(request_parse(&request_seed003, s3, strlen(s3), &cfg,
	    &r, &e), PYEXEC_OK);
	ck_assert_str_eq(r.session, "s");
	ck_assert_int_eq(r.ws, WS_ALWAYS);
	request_free(&r);
	ck_assert_int_eq(request_parse(&request_seed004, ok, strlen(ok), &cfg,
	    &r, &e), PYEXEC_OK);
	ck_assert_str_eq(r.session, "");
	ck_assert_int_eq(r.ws, WS_NEVER);
	request_free(&r);
	ck_assert_int_eq(request_parse(&request_seed000_execute, ok, strlen(ok),
	    &cfg, &r, &e), PYEXEC_ERR_INVALID);
	ck_assert_int_eq(e.kind, FK_UNKNOWN);
	request_free(&r);
}
END_TEST

/* The workspace scope from nginx's PYEXEC_CLIENT: a valid key's name, or
 * "a:<address>" for a keyless request from PYEXEC_ANONYMOUS_FROM. */
START_TEST(test_workspace_client)
{
	struct pyexec_config	c = cfg;
	char			scope[WS_NAME_MAX + 1];

	c.anonymous_from = "127.0.0.1,10.0.0.0/8,::1";
	ck_assert_int_eq(workspace_client(&c, "k:0123456789ab", true, "1.2.3.4",
	    scope, sizeof(scope)), 0);
	ck_assert_str_eq(scope, "k:0123456789ab");
	ck_assert_int_eq(workspace_client(&c, "k:0123456789ab", false, "1.2.3.4",
	    scope, sizeof(scope)), 0);
	ck_assert_str_eq(scope, "");		/* nginx said: not valid */
	ck_assert_int_eq(workspace_client(&c, NULL, false, "1.2.3.4", scope,
	    sizeof(scope)), 0);
	ck_assert_str_eq(scope, "");
	ck_assert_int_eq(workspace_client(&c, "anonymous", false, "10.1.2.3",
	    scope, sizeof(scope)), 0);
	ck_assert_str_eq(scope, "a:10.1.2.3");
	ck_assert_int_eq(workspace_client(&c, "anonymous", false,
	    "::ffff:127.0.0.1", scope, sizeof(scope)), 0);
	ck_assert_str_eq(scope, "a:127.0.0.1");
	ck_assert_int_eq(workspace_client(&c, "anonymous", false, "::1", scope,
	    sizeof(scope)), 0);
	ck_assert_str_eq(scope, "a:::1");
	ck_assert_int_eq(workspace_client(&c, "anonymous", false, "11.0.0.1",
	    scope, sizeof(scope)), -1);		/* not listed here */
	ck_assert_int_eq(workspace_client(&c, "anonymous", true, "127.0.0.1",
	    scope, sizeof(scope)), -1);		/* anonymous and a key? no */
	c.anonymous_from = "";
	ck_assert_int_eq(workspace_client(&c, "anonymous", false, "127.0.0.1",
	    scope, sizeof(scope)), -1);
	ck_assert(ws_client_ok("k:abc") && ws_client_ok("a:2001:db8::1"));
	ck_assert(!ws_client_ok("") && !ws_client_ok("a/b") && !ws_client_ok("a b"));
	ck_assert(ws_session_ok("default") && !ws_session_ok("..") &&
	    !ws_session_ok(".") && !ws_session_ok("a:b"));
}
END_TEST

START_TEST(test_files_field)
{
	struct exec_request	 r;
	struct field_error	 e;
	char			*big, *m;
	size_t			 i, n;

	cfg.max_input_files = 3;
	cfg.max_input_file = 4;
	cfg.max_input_bytes = 6;
	ck_assert_str_eq(files_msg("[{\"name\": \"a.bin\", \"content\": "
	    "\"AAEC/w==\"}, {\"name\": \"\\u00e9 b\", \"content\": \"\"}]", &r), "");
	ck_assert_uint_eq(r.nfiles, 2);
	ck_assert_str_eq(r.files[0].name, "a.bin");
	ck_assert(r.files[0].len == 4 && memcmp(r.files[0].data,
	    "\x00\x01\x02\xff", 4) == 0);
	ck_assert(r.files[1].len == 0 && r.files_bytes == 4);
	ck_assert_str_eq(r.files[1].name, "\xc3\xa9 b");
	request_free(&r);
	ck_assert(r.files == NULL && r.nfiles == 0);
	ck_assert_str_eq(files_msg("[]", &r), "");
	ck_assert(r.nfiles == 0);
	request_free(&r);
#define BAD(files, want) do {						\
	ck_assert_str_eq(files_msg(files, &r), want);			\
	request_free(&r);						\
} while (0)
	BAD("{}", "files: must be an array of {\"name\", \"content\"} objects");
	BAD("[1]", "files[0]: must be an object with \"name\" and \"content\"");
	BAD("[{\"name\": \"a\"}]", "files[0].content: is required");
	BAD("[{\"content\": \"\"}]", "files[0].name: is required");
	BAD("[{\"name\": \"a\", \"content\": \"\", \"mode\": 1}]",
	    "files[0]: unknown field mode (only \"name\" and \"content\")");
	BAD("[{\"name\": 1, \"content\": \"\"}]", "files[0].name: must be a string");
	BAD("[{\"name\": \"a\", \"content\": 1}]",
	    "files[0].content: must be a string (base64)");
	BAD("[{\"name\": \"a\", \"content\": \"\"}, {\"name\": \"b\", \"content\": "
	    "\"\"}, {\"name\": \"../x\", \"content\": \"\"}]",
	    "files[2].name: must not contain '/' (a name in the working "
	    "directory, not a path)");
	BAD("[{\"name\": \"/etc/x\", \"content\": \"\"}]",
	    "files[0].name: must not contain '/' (a name in the working "
	    "directory, not a path)");
	BAD("[{\"name\": \".\", \"content\": \"\"}]",
	    "files[0].name: must not be \".\" or \"..\"");
	BAD("[{\"name\": \"..\", \"content\": \"\"}]",
	    "files[0].name: must not be \".\" or \"..\"");
	BAD("[{\"name\": \"\", \"content\": \"\"}]", "files[0].name: must not be empty");
	BAD("[{\"name\": \"a\\u0000b\", \"content\": \"\"}]",
	    "files[0].name: must not contain NUL bytes");
	BAD("[{\"name\": \"a\\nb\", \"content\": \"\"}]",
	    "files[0].name: must not contain control characters");
	BAD("[{\"name\": \"a\\u0085\", \"content\": \"\"}]",
	    "files[0].name: must not contain control characters");
	/* format characters (Cf) and line separators: invisible to a reader */
	BAD("[{\"name\": \"invoice\\u202etxt.exe\", \"content\": \"\"}]",
	    "files[0].name: must not contain invisible format characters "
	    "(found U+202E)");
	BAD("[{\"name\": \"a\\u200bb\", \"content\": \"\"}]",
	    "files[0].name: must not contain invisible format characters "
	    "(found U+200B)");
	BAD("[{\"name\": \"\\ufeffx\", \"content\": \"\"}]",
	    "files[0].name: must not contain invisible format characters "
	    "(found U+FEFF)");
	BAD("[{\"name\": \"x\\u2028y\", \"content\": \"\"}]",
	    "files[0].name: must not contain invisible format characters "
	    "(found U+2028)");
	BAD("[{\"name\": \"x\\udb40\\udc01\", \"content\": \"\"}]",
	    "files[0].name: must not contain invisible format characters "
	    "(found U+E0001)");
	BAD("[{\"name\": \"ok\", \"content\": \"\"}, {\"name\": \"soft\\u00adhyphen\", "
	    "\"content\": \"\"}]", "files[1].name: must not contain invisible "
	    "format characters (found U+00AD)");
	BAD("[{\"name\": \"a\", \"content\": \"\"}, {\"name\": \"a\", \"content\": "
	    "\"\"}]", "files[1].name: the same name as files[0] (names must be "
	    "distinct)");
	/* a key given twice inside a file object: json-c would keep the last */
	BAD("[{\"name\": \"a\", \"content\": \"\"}, {\"name\": \"b\", "
	    "\"name\": \"c\", \"content\": \"\"}]",
	    "files[1]: duplicate field name (given more than once)");
	BAD("[{\"name\": \"a\", \"content\": \"QQ==\", \"cont\\u0065nt\": "
	    "\"\"}]", "files[0]: duplicate field content (given more than once)");
	ck_assert_str_eq(parse_s("{\"files\": [], \"code\": \"x\", \"other\": "
	    "[{\"name\": 1, \"name\": 2}]}"), "unknown field: other");
#define B64ERR(i) "files[" #i "].content: must be base64 (RFC 4648: A-Z a-z " \
	"0-9 + /, padded with =, no whitespace or line breaks)"
	BAD("[{\"name\": \"a\", \"content\": \"AAE\"}]", B64ERR(0));
	BAD("[{\"name\": \"a\", \"content\": \"AA E\"}]", B64ERR(0));
	BAD("[{\"name\": \"a\", \"content\": \"AA\\nE=\"}]", B64ERR(0));
	BAD("[{\"name\": \"a\", \"content\": \"A===\"}]", B64ERR(0));
	BAD("[{\"name\": \"a\", \"content\": \"QR==\"}]", B64ERR(0));
	BAD("[{\"name\": \"a\", \"content\": \"AA-_\"}]", B64ERR(0));
	BAD("[{\"name\": \"a\", \"content\": \"=AAA\"}]", B64ERR(0));
	/* the caps */
	BAD("[{\"name\": \"a\", \"content\": \"AAAAAAA=\"}]",
	    "files[0].content: at most 4 bytes once decoded "
	    "(PYEXEC_MAX_INPUT_FILE_BYTES), got 5");
	BAD("[{\"name\": \"a\", \"content\": \"AAAAAAAAAAAA\"}]",
	    "files[0].content: at most 4 bytes once decoded "
	    "(PYEXEC_MAX_INPUT_FILE_BYTES), got about 9");
	BAD("[{\"name\": \"a\", \"content\": \"AAAAAA==\"}, {\"name\": \"b\", "
	    "\"content\": \"AAAAAA==\"}]", "files: at most 6 bytes in all once "
	    "decoded (PYEXEC_MAX_INPUT_BYTES), got 8 with files[0] to files[1]");
	BAD("[{\"name\": \"a\", \"content\": \"\"}, {\"name\": \"b\", \"content\": "
	    "\"\"}, {\"name\": \"c\", \"content\": \"\"}, {\"name\": \"d\", "
	    "\"content\": \"\"}]", "files: at most 3 files (PYEXEC_MAX_INPUT_FILES), "
	    "got 4");
	/* 1 MiB + 1 with the default caps */
	cfg.max_input_files = 20;
	cfg.max_input_file = 1 << 20;
	cfg.max_input_bytes = 5 << 20;
	n = ((1 << 20) + 1 + 2) / 3 * 4;
	big = malloc(n + 64);
	ck_assert_ptr_nonnull(big);
	m = big + sprintf(big, "[{\"name\": \"a\", \"content\": \"");
	for (i = 0; i < n; i++)
		m[i] = 'A';
	m[n - 1] = '=';			/* 1048577 = 3k + 2 */
	strcpy(m + n, "\"}]");
	BAD(big, "files[0].content: at most 1048576 bytes once decoded "
	    "(PYEXEC_MAX_INPUT_FILE_BYTES), got 1048577");
	m[n - 5] = '=';			/* not the size that matters: base64 */
	BAD(big, B64ERR(0));
	free(big);
#undef BAD
#undef B64ERR
	/* a long name: 255 bytes fit, 256 do not */
	big = malloc(600);
	ck_assert_ptr_nonnull(big);
	m = big + sprintf(big, "[{\"name\": \"");
	memset(m, 'n', 256);
	strcpy(m + 256, "\", \"content\": \"\"}]");
	ck_assert_str_eq(files_msg(big, &r), "files[0].name: must be at most "
	    "255 bytes");
	request_free(&r);
	memmove(m + 255, m + 256, strlen(m + 256) + 1);
	ck_assert_str_eq(files_msg(big, &r), "");
	request_free(&r);
	free(big);
	/* generate-and-execute takes them; the seeds' tables ignore them */
	ck_assert_int_eq(tparse(&request_generate, "{\"query\": \"q\", \"files\": "
	    "[{\"name\": \"a\", \"content\": \"YQ==\"}]}", &r, &e), PYEXEC_OK);
	ck_assert(r.nfiles == 1 && r.files[0].len == 1);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed004, "{\"code\": \"x\", \"files\": "
	    "[{\"name\": \"a\", \"content\": \"YQ==\"}]}", &r, &e), PYEXEC_OK);
	ck_assert(r.nfiles == 0 && r.files == NULL);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed003, "{\"generated_code\": \"x\", "
	    "\"files\": 7}", &r, &e), PYEXEC_OK);
	ck_assert(r.nfiles == 0);
	request_free(&r);
	/* seed 000 (Together): strict, as before: an unknown field */
	ck_assert_int_eq(tparse(&request_seed000_execute, "{\"code\": \"x\", "
	    "\"files\": []}", &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_UNKNOWN && strcmp(e.name, "files") == 0);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed000_generate, "{\"query\": \"q\", "
	    "\"files\": []}", &r, &e), PYEXEC_ERR_INVALID);
	ck_assert(e.kind == FK_UNKNOWN && !r.artifacts);
	request_free(&r);
	ck_assert_int_eq(tparse(&request_seed000_execute, "{\"code\": \"x\", "
	    "\"validate_code\": false, \"mode\": \"main\"}", &r, &e), PYEXEC_OK);
	ck_assert(!r.artifacts && r.mode == RUN_MODE_MAIN);
	request_free(&r);
}
END_TEST

static Suite *
request_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("request", "execute", &tc);

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_all_fields);
	tcase_add_test(tc, test_code_errors);
	tcase_add_test(tc, test_unknown_field);
	tcase_add_test(tc, test_duplicate_field);
	tcase_add_test(tc, test_gate_words);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_huge);
	tcase_add_test(tc, test_memory);
	tcase_add_test(tc, test_cpu_stdin);
	tcase_add_test(tc, test_body_errors);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_config_env);
	tcase_add_test(tc, test_strict_json);
	tcase_add_test(tc, test_strict_json_bounds);
	tcase_add_test(tc, test_cleartext_llm_url);
	tcase_add_test(tc, test_config_warm);
	tcase_add_test(tc, test_seed_tables_defaults);
	tcase_add_test(tc, test_seed_tables_errors);
	tcase_add_test(tc, test_files_field);
	tcase_add_test(tc, test_artifacts_field);
	tcase_add_test(tc, test_session_field);
	tcase_add_test(tc, test_workspace_client);
	return s;
}

CHECK_MAIN(request_suite(), CK_FORK_GETENV)
