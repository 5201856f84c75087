/*
 * libFuzzer target: the request parsers, the artifacts' second look and
 * the UTF-8 sanitizer, the code that reads untrusted bytes.  Built and run by tests/fuzz/run under
 * AddressSanitizer and UndefinedBehaviorSanitizer.  The body is given as
 * the worker gives it (worker_read_body: a heap buffer of the body's
 * length plus a NUL) to every parser a route calls: every route's field
 * table (the native and the seeds') and request_json().  The
 * strict check and json-c must agree: a text the check accepts, json-c
 * parses.  The same bytes are also a run's artifacts text
 * (artifact_items): every item it lets through is one of ours, within the
 * caps.  The one gate (json_strict_scan) names the fault that a NUL
 * pass, a UTF-8 pass and the grammar alone name, in that order.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The one gate names the fault the separate passes named: a NUL byte,
 * else bytes that are not UTF-8, else the grammar's first fault. */
static void
fuzz_gate(const char *body, size_t size)
{
	struct json_scan	scan;
	enum json_fault		want;
	char			msg[128];

	if (memchr(body, '\0', size) != NULL)
		want = JSON_NUL;
	else if (!envelope_utf8_valid(body, size))
		want = JSON_UTF8;
	else if (json_strict_check(body, size, 32, true, msg,
	    sizeof(msg)) != 0)
		want = strncmp(msg, "nested", 6) == 0 ? JSON_DEPTH :
		    strncmp(msg, "number out", 10) == 0 ? JSON_RANGE :
		    JSON_SYNTAX;
	else
		want = JSON_OK;
	if (json_strict_scan(body, size, 32, JS_TEXT | JS_FINITE, NULL, NULL,
	    &scan) != want || scan.at > size)
		abort();
}

/* Every route's table: what it accepts is within its bounds, and what it
 * refuses says which kind of failure. */
static void
fuzz_tables(const char *body, size_t size, const struct pyexec_config *cfg)
{
	static const struct field_table *const tables[] = {
		&request_execute, &request_generate, &request_seed004,
		&request_seed002, &request_seed003, &request_seed001_execute,
		&request_seed001_generate, &request_seed000_execute,
		&request_seed000_generate, &request_workspace,
	};
	struct exec_request	r;
	struct field_error	e;
	size_t			i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (request_parse(tables[i], body, size, cfg, &r, &e) == PYEXEC_OK) {
			if ((r.code != NULL && strlen(r.code) > r.code_len) ||
			    r.timeout <= 0 || r.timeout > cfg->max_timeout ||
			    r.max_attempts < 1 || r.max_attempts > TASK_MAX_ATTEMPTS)
				abort();
		} else if (e.kind == FK_NONE || e.text[0] == '\0')
			abort();
		request_free(&r);
	}
}

/* The bytes as what follows a run's report: each item an image, plotly,
 * file or omitted one; the data kept within the caps. */
static void
fuzz_artifacts(const char *wire, size_t size)
{
	static const struct run_params p = { .artifacts = true,
	    .art_total = 4096, .art_item = 2048, .art_count = 4 };
	struct json_object	*a = artifact_items(wire, size, &p), *it, *v;
	const char		*type;
	size_t			 i, n, kept = 0;

	if (a == NULL)
		return;
	n = json_object_array_length(a);
	if (n == 0 || n > 102)
		abort();
	for (i = 0; i < n; i++) {
		it = json_object_array_get_idx(a, i);
		if (!json_object_object_get_ex(it, "type", &v))
			abort();
		type = json_object_get_string(v);
		if (strcmp(type, "omitted") == 0)
			continue;
		if (strcmp(type, "image") != 0 && strcmp(type, "plotly") != 0 &&
		    strcmp(type, "file") != 0)
			abort();
		if (json_object_object_get_ex(it, "name", &v) && v != NULL &&
		    !artifact_name_ok(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v)))
			abort();
		if (json_object_object_get_ex(it, "data", &v))
			kept++;
	}
	if (kept > p.art_count)
		abort();
	json_object_put(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pyexec_config cfg = {
		.default_timeout = 5, .max_timeout = 30,
		.default_memory_mb = 100, .max_memory_mb = 500, .max_cpu = 2,
		.max_query_chars = 4000, .max_input_length = 8000,
		.max_input_files = 4, .max_input_file = 64, .max_input_bytes = 128,
	};
	struct exec_request	 r;
	struct json_object	*o = NULL;
	char			 msg[512], *clean, *body;
	size_t			 n;

	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	if (json_strict_check(body, size, 31, false, msg, sizeof(msg)) == 0 &&
	    memchr(body, '\0', size) == NULL &&
	    envelope_utf8_valid(body, size) &&
	    (o = request_json(body, size, msg, sizeof(msg))) == NULL &&
	    strstr(msg, "invalid JSON") != NULL)
		abort();	/* the check took what json-c refuses */
	json_object_put(o);
	fuzz_gate(body, size);
	o = request_json(body, size, msg, sizeof(msg));
	json_object_put(o);
	if (request_parse_generate(body, size, &cfg, &r, msg, sizeof(msg)) ==
	    PYEXEC_OK && (r.query == NULL || !envelope_utf8_valid(r.query,
	    r.query_len)))
		abort();
	request_free(&r);
	if (request_parse_execute(body, size, &cfg, &r, msg,
	    sizeof(msg)) == PYEXEC_OK) {
		/* A valid request is valid UTF-8 without NUL in the code. */
		if (!envelope_utf8_valid(r.code, r.code_len) ||
		    strlen(r.code) != r.code_len || r.timeout < 0.1 ||
		    r.timeout > 30 || r.memory_bytes > (500ULL << 20))
			abort();
	}
	request_free(&r);
	fuzz_tables(body, size, &cfg);
	fuzz_artifacts(body, size);
	free(body);
	if ((clean = envelope_utf8_sanitize((const char *)data, size, &n)) != NULL) {
		if (!envelope_utf8_valid(clean, n))
			abort();
		free(clean);
	}
	return 0;
}
