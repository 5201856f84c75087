/*
 * Unit tests: the seed services' answers (seeds.c) for runs and model
 * calls faked at link time (fake.h): each route's shape, as its clients
 * read it (the live tests tests/integration/test_seed_00*.py assert the
 * same shapes end to end), for a run that succeeds and one that fails.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake.h"

/* Calls route on body as the worker would, parses the answer. */
static struct json_object *
call(void (*route)(struct exchange *), const char *body)
{
	exchange_free(&fake_x);
	fake_exchange(&fake_w, &fake_x, body);
	route(&fake_x);
	return fake_answer();
}

static int
num(struct json_object *o, const char *key)
{
	return json_object_get_int(fake_get(o, key));
}

/* o has exactly the keys in the NULL-ended list. */
static void
assert_keys(struct json_object *o, const char *const *keys)
{
	int	n = 0;

	for (; *keys != NULL; keys++, n++)
		fake_get(o, *keys);
	ck_assert_int_eq(json_object_object_length(o), n);
}

static void
push_run(enum run_outcome o, int exit_code, int sig, const char *out,
    const char *err, const char *report)
{
	fake_run_push(&(struct fake_run){ .outcome = o, .exit_code = exit_code,
	    .signal = sig, .out = out, .err = err, .report = report,
	    .duration_ms = 1500 });
}

/* The native 500 envelope: pyexec's own failure, on every seed route. */
static void
assert_sandbox_failed(void (*route)(struct exchange *), const char *body)
{
	fake_run_push(&(struct fake_run){ .rc = -1, .why = "gone" });
	call(route, body);
	ck_assert_int_eq(fake_x.status, 500);
	ck_assert_str_eq(fake_str(fake_ans, "status"), "error");
	ck_assert_str_eq(fake_str(json_object_array_get_idx(fake_get(fake_ans, "response"), 0),
	    "code"), "internal_error");
}

/* ---- seed 004: POST /api/v1/execute ------------------------------------ */

static const char *const keys004[] = { "status", "stdout", "stderr",
    "execution_time", "return_code", NULL };

START_TEST(test_seed004_success)
{
	push_run(RUN_COMPLETED, 0, 0, "Sum: 30\n", "", NULL);
	call(seed004_execute, "{\"code\": \"print('Sum:', 10 + 20)\"}");
	ck_assert_int_eq(fake_x.status, 200);
	assert_keys(fake_ans, keys004);
	ck_assert_str_eq(fake_str(fake_ans, "status"), "success");
	ck_assert_str_eq(fake_str(fake_ans, "stdout"), "Sum: 30\n");
	ck_assert_str_eq(fake_str(fake_ans, "stderr"), "");
	ck_assert_int_eq(num(fake_ans, "return_code"), 0);
	ck_assert(json_object_is_type(fake_get(fake_ans, "execution_time"),
	    json_type_double));
	ck_assert(json_object_get_double(fake_get(fake_ans, "execution_time")) == 1.5);
	ck_assert_str_eq(fake_x.outcome, "completed");
}
END_TEST

START_TEST(test_seed004_failures)
{
	push_run(RUN_ERROR, 1, 0, "", "NameError: name 'u' is not defined\n",
	    NULL);
	call(seed004_execute, "{\"code\": \"u\"}");
	ck_assert_int_eq(fake_x.status, 200);
	assert_keys(fake_ans, keys004);
	ck_assert_str_eq(fake_str(fake_ans, "status"), "error");
	ck_assert_int_eq(num(fake_ans, "return_code"), 1);
	ck_assert_str_eq(fake_str(fake_ans, "stderr"), "NameError: name 'u' is not "
	    "defined\n");
	push_run(RUN_TIMEOUT, -1, 9, "", "", NULL);
	call(seed004_execute, "{\"code\": \"while 1: pass\", \"timeout\": 2}");
	ck_assert_str_eq(fake_str(fake_ans, "status"), "timeout");
	ck_assert_int_eq(num(fake_ans, "return_code"), -9);
	ck_assert(fake_run_seen[1].p.timeout == 2);
	push_run(RUN_SIGNAL, -1, 11, "", "", NULL);
	call(seed004_execute, "{\"code\": \"import ctypes\"}");
	ck_assert_str_eq(fake_str(fake_ans, "status"), "failed");
	ck_assert_int_eq(num(fake_ans, "return_code"), -11);
	ck_assert_str_eq(fake_str(fake_ans, "stderr"), "Killed by signal SIGSEGV.\n");
	/* A memory kill: "failed", and why in stderr (not an empty one). */
	push_run(RUN_MEMORY_LIMIT, -1, 9, "", "", NULL);
	call(seed004_execute, "{\"code\": \"x = bytearray(2**30)\"}");
	ck_assert_str_eq(fake_str(fake_ans, "status"), "failed");
	ck_assert_ptr_nonnull(strstr(fake_str(fake_ans, "stderr"),
	    " MB memory limit was exceeded.\n"));
	/* Its own cap (1 to 30 s) stands: refused, not clamped. */
	call(seed004_execute, "{\"code\": \"x\", \"timeout\": 60}");
	ck_assert_int_eq(fake_x.status, 422);
	assert_sandbox_failed(seed004_execute, "{\"code\": \"x\"}");
}
END_TEST

START_TEST(test_seed004_invalid)
{
	struct json_object	*d, *e;

	call(seed004_execute, "{\"timeout\": 1}");
	ck_assert_int_eq(fake_x.status, 422);
	d = fake_get(fake_ans, "detail");
	ck_assert_uint_eq(json_object_array_length(d), 1);
	e = json_object_array_get_idx(d, 0);
	ck_assert_str_eq(json_object_to_json_string_ext(fake_get(e, "loc"),
	    JSON_C_TO_STRING_PLAIN), "[\"body\",\"code\"]");
	ck_assert_str_eq(fake_str(e, "type"), "value_error.missing");
	ck_assert_str_eq(fake_str(e, "msg"), "field required");
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

/* ---- seed 002: POST /execute {script}, main() ------------------------- */

START_TEST(test_seed002_result)
{
	static const char *const keys[] = { "result", "stdout", NULL };

	push_run(RUN_COMPLETED, 0, 0, "", "", "{\"result_json\": "
	    "\"{\\\"message\\\": \\\"Hello, World!\\\"}\"}");
	call(seed_execute, "{\"script\": \"def main():\\n    return "
	    "{'message': 'Hello, World!'}\"}");
	ck_assert_int_eq(fake_x.status, 200);
	assert_keys(fake_ans, keys);
	ck_assert_str_eq(fake_str(fake_get(fake_ans, "result"), "message"), "Hello, World!");
	ck_assert_str_eq(fake_str(fake_ans, "stdout"), "");
	ck_assert_int_eq(fake_run_seen[0].p.mode, RUN_MODE_MAIN);
}
END_TEST

START_TEST(test_seed002_errors)
{
	static const char *const keys[] = { "error", NULL };

	push_run(RUN_ERROR, 1, 0, "", "", "{\"exception\": {\"type\": "
	    "\"Exception\", \"message\": \"This is a test error\"}}");
	call(seed_execute, "{\"script\": \"def main():\\n    raise "
	    "Exception('This is a test error')\"}");
	ck_assert_int_eq(fake_x.status, 400);
	assert_keys(fake_ans, keys);
	ck_assert_str_eq(fake_str(fake_ans, "error"), "Script execution error: "
	    "This is a test error");
	push_run(RUN_ERROR, 1, 0, "", "", "{\"exception\": {\"type\": "
	    "\"MissingMain\", \"message\": \"no main\"}}");
	call(seed_execute, "{\"script\": \"print('no main')\"}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "error"), "Script must contain a main() "
	    "function");
	push_run(RUN_TIMEOUT, -1, 9, "", "", NULL);
	call(seed_execute, "{\"script\": \"def main():\\n    while 1: pass\"}");
	ck_assert_int_eq(fake_x.status, 408);
	ck_assert_str_eq(fake_str(fake_ans, "error"), "Script execution timed out");
	push_run(RUN_MEMORY_LIMIT, -1, 9, "", "", NULL);
	call(seed_execute, "{\"script\": \"def main():\\n    return 1\"}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "error"), "Script execution error: memory "
	    "limit exceeded");
	call(seed_execute, "this is not json");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "error"), "Request must be JSON");
	call(seed_execute, "{\"script\": \"\"}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "error"), "script must be a non-empty string");
	call(seed_execute, "{\"other\": 1}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_ptr_nonnull(strstr(fake_str(fake_ans, "error"), "\"script\""));
	ck_assert_uint_eq(fake_runs.calls, 4);
	assert_sandbox_failed(seed_execute, "{\"script\": \"def main(): pass\"}");
}
END_TEST

/* ---- seed 003: POST /execute {generated_code} ------------------------- */

static const char *const keys003[] = { "process_status", "stdout", "stderr",
    NULL };

START_TEST(test_seed003)
{
	push_run(RUN_COMPLETED, 0, 0, "Hello, World!\n", "", NULL);
	call(seed_execute, "{\"generated_code\": \"print('Hello, World!')\"}");
	ck_assert_int_eq(fake_x.status, 200);
	assert_keys(fake_ans, keys003);
	ck_assert_str_eq(fake_str(fake_ans, "process_status"), "completed");
	ck_assert_str_eq(fake_str(fake_ans, "stdout"), "Hello, World!\n");
	ck_assert(fake_run_seen[0].p.unwrap);
	push_run(RUN_ERROR, 1, 0, "", "RuntimeError: boom\n", NULL);
	call(seed_execute, "{\"generated_code\": \"raise RuntimeError('boom')\"}");
	assert_keys(fake_ans, keys003);
	ck_assert_str_eq(fake_str(fake_ans, "process_status"), "error");
	ck_assert_str_eq(fake_str(fake_ans, "stderr"), "RuntimeError: boom\n");
	/* A timeout: exactly the sandbox's own answer, output dropped. */
	push_run(RUN_TIMEOUT, -1, 9, "tick\n", "warn\n", NULL);
	call(seed_execute, "{\"generated_code\": \"while 1: pass\"}");
	ck_assert_str_eq(fake_str(fake_ans, "process_status"), "timeout");
	ck_assert_str_eq(fake_str(fake_ans, "stdout"), "");
	ck_assert_str_eq(fake_str(fake_ans, "stderr"), "Timed out\n");
	/* A memory kill says so in stderr, after what the run wrote. */
	push_run(RUN_MEMORY_LIMIT, -1, 9, "", "partial", NULL);
	call(seed_execute, "{\"generated_code\": \"x = bytearray(2**30)\"}");
	ck_assert_int_eq(fake_x.status, 200);
	ck_assert_str_eq(fake_str(fake_ans, "process_status"), "error");
	ck_assert_ptr_nonnull(strstr(fake_str(fake_ans, "stderr"),
	    "partial\nStopped: the "));
	ck_assert_ptr_nonnull(strstr(fake_str(fake_ans, "stderr"),
	    " MB memory limit was exceeded.\n"));
	/* A language it does not speak: its 400, in its words. */
	call(seed_execute, "{\"generated_code\": \"x\", \"language\": \"ruby\"}");
	ck_assert_int_eq(fake_x.status, 400);
	assert_keys(fake_ans, keys003);
	ck_assert_str_eq(fake_str(fake_ans, "process_status"), "error");
	ck_assert_str_eq(fake_str(fake_ans, "stderr"),
	    "Only python execution is supported");
	ck_assert_str_eq(fake_x.why, "language: must be \"python\"");
	ck_assert_uint_eq(fake_runs.calls, 4);
}
END_TEST

/* The seed had no cap: a timeout past the bounds is clamped, and said. */
START_TEST(test_seed003_timeout_clamped)
{
	push_run(RUN_COMPLETED, 0, 0, "", "", NULL);
	call(seed_execute, "{\"generated_code\": \"x\", \"timeout\": 60}");
	ck_assert_int_eq(fake_x.status, 200);
	ck_assert(fake_x.req.timeout_clamped);
	ck_assert(fake_x.req.timeout_asked == 60);
	ck_assert(fake_run_seen[0].p.timeout == fake_w.cfg.max_timeout);
	push_run(RUN_COMPLETED, 0, 0, "", "", NULL);
	call(seed_execute, "{\"generated_code\": \"x\", \"timeout\": 0}");
	ck_assert(fake_x.req.timeout_clamped);
	ck_assert(fake_run_seen[1].p.timeout == 0.1);
	push_run(RUN_COMPLETED, 0, 0, "", "", NULL);
	call(seed_execute, "{\"generated_code\": \"x\", \"timeout\": 2}");
	ck_assert(!fake_x.req.timeout_clamped);
	ck_assert(fake_run_seen[2].p.timeout == 2);
	/* Not a number is still refused, in its words. */
	call(seed_execute, "{\"generated_code\": \"x\", \"timeout\": \"60\"}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_uint_eq(fake_runs.calls, 3);
}
END_TEST

/* A body that names no seed: NVIDIA's words and status, and seed 002's
 * "error" too when the body cannot say which seed it is for. */
START_TEST(test_execute_no_seed)
{
	static const char *const both[] = { "error", "process_status",
	    "stdout", "stderr", NULL };

	call(seed_execute, "not json");
	ck_assert_int_eq(fake_x.status, 400);
	assert_keys(fake_ans, both);
	ck_assert_str_eq(fake_str(fake_ans, "stderr"), "Request must be JSON");
	exchange_free(&fake_x);
	fake_exchange(&fake_w, &fake_x, "{\"generated_code\": ");
	fake_x.req_type = "application/json; charset=utf-8";
	seed_execute(&fake_x);
	fake_answer();
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "stderr"), "Invalid JSON data");
	ck_assert_str_eq(fake_str(fake_ans, "process_status"), "error");
	call(seed_execute, "{\"timeout\": 10, \"language\": \"python\"}");
	ck_assert_int_eq(fake_x.status, 400);
	assert_keys(fake_ans, keys003);
	ck_assert_str_eq(fake_str(fake_ans, "stderr"),
	    "Missing required field: generated_code");
	call(seed_execute, "{}");
	ck_assert_int_eq(fake_x.status, 400);
	assert_keys(fake_ans, both);
	ck_assert_ptr_nonnull(strstr(fake_str(fake_ans, "error"), "\"script\""));
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

/* Its workspace refused (busy): in its shape, with the store's status. */
START_TEST(test_seed003_workspace_busy)
{
	fake_world_init(&fake_w, (const char *const[]){ "PYEXEC_WORKSPACE_WAIT=0",
	    NULL });
	fake_w.env.store = 99;
	fake_store_push(&(struct fake_store){ .r = { .status = WS_BUSY } });
	call(seed_execute, "{\"generated_code\": \"x\"}");
	ck_assert_int_eq(fake_x.status, 409);
	assert_keys(fake_ans, keys003);
	ck_assert_str_eq(fake_str(fake_ans, "process_status"), "error");
	ck_assert_str_eq(fake_store_seen[0].session, "default");
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

/* ---- seed 000: POST /execute {code} and /generate-and-execute --------- */

static const char *const keys000[] = { "stdout", "stderr", "exit_code",
    "execution_time", "original_code", "executed_code", "validation_result",
    NULL };

START_TEST(test_seed000_execute)
{
	push_run(RUN_COMPLETED, 0, 0, "Hello, world!\n", "", NULL);
	call(seed_execute, "{\"code\": \"print('Hello, world!')\"}");
	ck_assert_int_eq(fake_x.status, 200);
	assert_keys(fake_ans, keys000);
	ck_assert_str_eq(fake_str(fake_ans, "stdout"), "Hello, world!\n");
	ck_assert_int_eq(num(fake_ans, "exit_code"), 0);
	ck_assert_str_eq(fake_str(fake_ans, "original_code"),
	    "print('Hello, world!')");
	ck_assert_str_eq(fake_str(fake_ans, "executed_code"),
	    "print('Hello, world!')");
	ck_assert_ptr_null(fake_get(fake_ans, "validation_result"));
	ck_assert(json_object_is_type(fake_get(fake_ans, "execution_time"),
	    json_type_double));
	push_run(RUN_ERROR, 7, 0, "", "", NULL);
	call(seed_execute, "{\"code\": \"import sys; sys.exit(7)\"}");
	ck_assert_int_eq(num(fake_ans, "exit_code"), 7);
	/* Killed: docker's 128 + the signal, and the reason in stderr. */
	push_run(RUN_TIMEOUT, -1, 9, "", "", NULL);
	call(seed_execute, "{\"code\": \"while True: pass\", \"timeout\": 1}");
	ck_assert_int_eq(num(fake_ans, "exit_code"), 137);
	ck_assert_str_eq(fake_str(fake_ans, "stderr"),
	    "Stopped: the 1 s time limit was reached.\n");
	push_run(RUN_MEMORY_LIMIT, -1, 9, "", "", NULL);
	call(seed_execute, "{\"code\": \"x = bytearray(2**30)\", "
	    "\"memory_limit\": \"100m\"}");
	ck_assert_int_eq(num(fake_ans, "exit_code"), 137);
	ck_assert_str_eq(fake_str(fake_ans, "stderr"),
	    "Stopped: the 100 MB memory limit was exceeded.\n");
	/* No cap in the seed: clamped. */
	push_run(RUN_COMPLETED, 0, 0, "", "", NULL);
	call(seed_execute, "{\"code\": \"x\", \"timeout\": 600}");
	ck_assert_int_eq(fake_x.status, 200);
	ck_assert(fake_x.req.timeout_clamped);
	assert_sandbox_failed(seed_execute, "{\"code\": \"x\"}");
}
END_TEST

START_TEST(test_seed000_validated)
{
	fake_llm_push(&(struct fake_llm){ .text = "{\"safe\": true}" });
	push_run(RUN_COMPLETED, 0, 0, "ok\n", "", NULL);
	call(seed_execute, "{\"code\": \"print('ok')\", \"validate_code\": true}");
	assert_keys(fake_ans, keys000);
	ck_assert_str_eq(fake_str(fake_ans, "validation_result"), "Code is safe to "
	    "execute.");
	fake_llm_push(&(struct fake_llm){ .text = "{\"safe\": false, "
	    "\"concerns\": [\"deletes files\"]}" });
	/* Unsafe: the service's own 400, FastAPI's {"detail"}, not run. */
	call(seed_execute, "{\"code\": \"import shutil\", \"validate_code\": "
	    "true}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "detail"), "Code validation failed: "
	    "Code is unsafe: deletes files");
	ck_assert(!json_object_object_get_ex(fake_ans, "stdout", NULL));
	ck_assert_str_eq(fake_x.outcome, "rejected");
	/* No model to review it, and the operator refuses unreviewed code. */
	fake_llm_push(&(struct fake_llm){ .e = LLM_UNAVAILABLE, .why = "down" });
	call(seed_execute, "{\"code\": \"x\", \"validate_code\": true}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "detail"), "Code validation failed: "
	    "Validation unavailable: llm_unavailable: down. The code was not "
	    "executed.");
	ck_assert_uint_eq(fake_runs.calls, 1);
}
END_TEST

START_TEST(test_seed000_generate)
{
	static const char *const keys[] = { "query", "generated_code",
	    "stdout", "stderr", "exit_code", "execution_time",
	    "validation_result", NULL };

	fake_llm_push(&(struct fake_llm){ .text = "{\"code\": "
	    "\"print('fake-llm-ok')\"}" });
	push_run(RUN_COMPLETED, 0, 0, "fake-llm-ok\n", "", NULL);
	call(seed000_generate, "{\"query\": \"say ok\"}");
	ck_assert_int_eq(fake_x.status, 200);
	assert_keys(fake_ans, keys);
	ck_assert_str_eq(fake_str(fake_ans, "query"), "say ok");
	ck_assert_str_eq(fake_str(fake_ans, "generated_code"), "print('fake-llm-ok')");
	ck_assert_str_eq(fake_str(fake_ans, "stdout"), "fake-llm-ok\n");
	ck_assert_int_eq(num(fake_ans, "exit_code"), 0);
	ck_assert_str_eq(fake_str(fake_ans, "validation_result"), "Code is safe to "
	    "execute.");
	fake_llm_push(&(struct fake_llm){ .text = "{\"code\": \"x\", \"safe\": "
	    "false, \"concerns\": [\"harm\"]}" });
	call(seed000_generate, "{\"query\": \"do harm\"}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "detail"), "Generated code validation "
	    "failed: Code is unsafe: harm");
	fake_llm_push(&(struct fake_llm){ .e = LLM_UNAVAILABLE, .why = "HTTP "
	    "500" });
	call(seed000_generate, "{\"query\": \"q\"}");
	ck_assert_int_eq(fake_x.status, 400);
	ck_assert_str_eq(fake_str(fake_ans, "detail"), "Code generation failed: HTTP 500");
	call(seed000_generate, "{\"timeout\": 1}");
	ck_assert_int_eq(fake_x.status, 422);
	ck_assert_str_eq(json_object_to_json_string_ext(fake_get(
	    json_object_array_get_idx(fake_get(fake_ans, "detail"), 0), "loc"),
	    JSON_C_TO_STRING_PLAIN), "[\"body\",\"query\"]");
}
END_TEST

/* ---- seed 001: always 200, one text item ------------------------------ */

/* The one message of a seed 001 answer. */
static const char *
message001(void)
{
	struct json_object	*r = fake_get(fake_ans, "response"), *it;
	static const char *const keys[] = { "status", "invocationId",
	    "response", NULL };

	ck_assert_int_eq(fake_x.status, 200);
	assert_keys(fake_ans, keys);
	ck_assert_str_eq(fake_str(fake_ans, "status"), "success");
	ck_assert_str_eq(fake_str(fake_ans, "invocationId"), fake_x.id);
	ck_assert_uint_eq(json_object_array_length(r), 1);
	it = json_object_array_get_idx(r, 0);
	ck_assert_str_eq(fake_str(it, "type"), "text");
	return fake_str(it, "message");
}

START_TEST(test_seed001_execute)
{
	push_run(RUN_COMPLETED, 0, 0, "15\n", "", "{\"result_str\": \"15\"}");
	call(seed001_execute, "{\"code\": \"result = sum([1, 2, 3, 4, 5])\"}");
	ck_assert_str_eq(message001(), "The Python code executed was:\n\n"
	    "result = sum([1, 2, 3, 4, 5])\n\nThe result of the execution "
	    "is:\n\n15");
	ck_assert(fake_run_seen[0].p.show);
	ck_assert_ptr_nonnull(fake_run_seen[0].p.policy);
	/* No result: stdout without its trailing blank. */
	push_run(RUN_COMPLETED, 0, 0, "fake-llm-ok\n \n", "", NULL);
	call(seed001_execute, "{\"code\": \"print('fake-llm-ok')\"}");
	ck_assert_str_eq(message001(), "The Python code executed was:\n\n"
	    "print('fake-llm-ok')\n\nThe result of the execution is:\n\n"
	    "fake-llm-ok");
}
END_TEST

START_TEST(test_seed001_failures)
{
	push_run(RUN_TIMEOUT, -1, 9, "", "", NULL);
	call(seed001_execute, "{\"code\": \"while True: pass\"}");
	ck_assert_str_eq(message001(), "Execution timed out after 5 seconds");
	push_run(RUN_MEMORY_LIMIT, -1, 9, "", "", NULL);
	call(seed001_execute, "{\"code\": \"b = b'x' * (300 << 20)\"}");
	ck_assert_str_eq(message001(), "Memory limit exceeded: 100MB");
	push_run(RUN_ERROR, 1, 0, "", "", "{\"exception\": {\"type\": "
	    "\"ZeroDivisionError\", \"message\": \"division by zero\"}}");
	call(seed001_execute, "{\"code\": \"x = 1 / 0\"}");
	ck_assert_str_eq(message001(), "Execution error: division by zero");
	push_run(RUN_ERROR, 1, 0, "", "", "{\"exception\": {\"type\": "
	    "\"PolicyViolation\", \"message\": \"import os\"}}");
	call(seed001_execute, "{\"code\": \"import os\"}");
	ck_assert_str_eq(message001(), "Invalid input: Potentially unsafe code "
	    "detected");
	push_run(RUN_SIGNAL, -1, 11, "", "", NULL);
	call(seed001_execute, "{\"code\": \"x\"}");
	ck_assert_str_eq(message001(), "Execution error: SIGSEGV");
	call(seed001_execute, "{}");
	ck_assert(strncmp(message001(), "Invalid input: ", 15) == 0);
	ck_assert_uint_eq(fake_runs.calls, 5);
	assert_sandbox_failed(seed001_execute, "{\"code\": \"x\"}");
}
END_TEST

START_TEST(test_seed001_generate)
{
	fake_llm_push(&(struct fake_llm){ .text = "{\"code\": "
	    "\"print('fake-llm-ok')\"}" });
	push_run(RUN_COMPLETED, 0, 0, "fake-llm-ok\n", "", NULL);
	call(seed001_generate, "{\"query\": \"say ok\"}");
	ck_assert_str_eq(message001(), "The Python code executed was:\n\n"
	    "print('fake-llm-ok')\n\nThe result of the execution is:\n\n"
	    "fake-llm-ok");
	fake_llm_push(&(struct fake_llm){ .e = LLM_NOT_CONFIGURED,
	    .why = "no key" });
	call(seed001_generate, "{\"query\": \"q\"}");
	ck_assert_str_eq(message001(), "Code generation failed: no key");
}
END_TEST

static Suite *
seeds_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("seeds", "answers", &tc);

	tcase_add_checked_fixture(tc, fake_x_setup, fake_x_teardown);
	tcase_add_test(tc, test_seed004_success);
	tcase_add_test(tc, test_seed004_failures);
	tcase_add_test(tc, test_seed004_invalid);
	tcase_add_test(tc, test_seed002_result);
	tcase_add_test(tc, test_seed002_errors);
	tcase_add_test(tc, test_seed003);
	tcase_add_test(tc, test_seed003_workspace_busy);
	tcase_add_test(tc, test_seed003_timeout_clamped);
	tcase_add_test(tc, test_execute_no_seed);
	tcase_add_test(tc, test_seed000_execute);
	tcase_add_test(tc, test_seed000_validated);
	tcase_add_test(tc, test_seed000_generate);
	tcase_add_test(tc, test_seed001_execute);
	tcase_add_test(tc, test_seed001_failures);
	tcase_add_test(tc, test_seed001_generate);
	return s;
}

CHECK_MAIN(seeds_suite(), CK_FORK_GETENV)
