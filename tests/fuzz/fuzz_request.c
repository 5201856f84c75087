/*
 * libFuzzer target: the request parsers and the UTF-8 sanitizer, the code
 * that reads untrusted bytes.  Built and run by tests/fuzz/run under
 * AddressSanitizer and UndefinedBehaviorSanitizer.  The body is given as
 * the worker gives it (worker_read_body: a heap buffer of the body's
 * length plus a NUL) to every parser a route calls: every route's field
 * table (the native and the seeds') and request_json().  The
 * strict check and json-c must agree: a text the check accepts, json-c
 * parses.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyexec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every route's table: what it accepts is within its bounds, and what it
 * refuses says which kind of failure. */
static void
fuzz_tables(const char *body, size_t size, const struct pyexec_config *cfg)
{
	static const struct field_table *const tables[] = {
		&request_execute, &request_generate, &request_seed004,
		&request_seed002, &request_seed003, &request_seed001_execute,
		&request_seed001_generate,
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pyexec_config cfg = {
		.default_timeout = 5, .max_timeout = 30,
		.default_memory_mb = 100, .max_memory_mb = 500, .max_cpu = 2,
		.max_query_chars = 4000, .max_input_length = 8000,
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
	free(body);
	if ((clean = envelope_utf8_sanitize((const char *)data, size, &n)) != NULL) {
		if (!envelope_utf8_valid(clean, n))
			abort();
		free(clean);
	}
	return 0;
}
