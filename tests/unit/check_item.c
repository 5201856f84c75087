/*
 * Unit tests: the native envelope's items (item.c), shaped from tasks the
 * core ran against the fakes (fake.h): the execution item for each
 * outcome, a rejection, the code, usage and validation items, the
 * summary sentence and the envelope.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake.h"

static struct fake_world	w;
static struct exec_request	req;
static struct task		t;
static struct json_object	*it;
static char			line[1024];

static void
setup(void)
{
	fake_world_init(&w, NULL);
	it = NULL;
}

static void
teardown(void)
{
	json_object_put(it);
	task_free(&t);
	request_free(&req);
	fake_reset();
}

/* Runs body's code against run f, keeps the item of attempt 0 in it. */
static void
execute(const char *body, const struct fake_run *f)
{
	fake_run_push(f);
	fake_task(&w, &request_execute, body, &req, &t);
	t.queue_ms = 4;
	task_execute(&w.env, &t);
	ck_assert(t.at[0].ran);
	it = item_execution(&t, &t.at[0], 0);
	item_summary(&t, line, sizeof(line));
}


/* A notebook cell's displays: the last expression's repr is "value",
 * display()'s come after the execution item in order, a table as a
 * table item; a forged one is dropped and the rest kept. */
START_TEST(test_displays)
{
	struct json_object	*items = json_object_new_array(), *x;

	execute("{\"code\": \"x\"}", &(struct fake_run){ .outcome =
	    RUN_COMPLETED, .out = "", .err = "", .report = "{\"displays\": ["
	    "{\"value\": \"'a'\", \"from\": \"display\"},"
	    "{\"value\": 7, \"from\": \"display\"},"
	    "{\"value\": \"df\", \"from\": \"display\", \"table\": "
	    "{\"columns\": [\"c\"], \"dtypes\": [\"int64\"], \"shape\": [1, 1],"
	    " \"index\": [\"0\"], \"rows\": [[7]], \"cut\": false}},"
	    "{\"value\": \"42\", \"from\": \"out\"}]}" });
	ck_assert(t.at[0].p.display);
	ck_assert_str_eq(fake_str(it, "value"), "42");
	item_displays(items, &t.at[0], 0);
	ck_assert_uint_eq(json_object_array_length(items), 2);
	x = json_object_array_get_idx(items, 0);
	ck_assert_str_eq(fake_str(x, "type"), "display");
	ck_assert_str_eq(fake_str(x, "value"), "'a'");
	x = json_object_array_get_idx(items, 1);
	ck_assert_str_eq(fake_str(x, "type"), "table");
	ck_assert_str_eq(fake_str(x, "from"), "display");
	ck_assert_str_eq(json_object_to_json_string_ext(fake_get(x, "rows"),
	    JSON_C_TO_STRING_PLAIN), "[[7]]");
	json_object_put(items);
	json_object_put(it);
	task_free(&t);
	request_free(&req);
	/* An error's report: the exception stands, and what was shown. */
	execute("{\"code\": \"x\"}", &(struct fake_run){ .outcome = RUN_ERROR,
	    .exit_code = 1, .out = "", .err = "", .report = "{\"exception\": "
	    "{\"type\": \"ValueError\", \"message\": \"v\", \"line\": 2}, "
	    "\"displays\": [{\"value\": \"'b'\", \"from\": \"display\"}]}" });
	ck_assert_str_eq(fake_str(fake_get(it, "exception"), "type"), "ValueError");
	ck_assert_ptr_null(fake_get(it, "value"));
	ck_assert_uint_eq(json_object_array_length(t.at[0].displays), 1);
}
END_TEST

START_TEST(test_execution_completed)
{
	static const char *const keys[] = { "type", "outcome", "exit_code",
	    "signal", "stdout", "stderr", "truncated", "stdout_bytes",
	    "stderr_bytes", "duration_ms", "cpu_ms", "setup_ms",
	    "memory_peak_bytes", "warm", "queue_ms", "limit", "overshoot_ms",
	    "exception", "result", "value", "limits", "workspace" };
	struct json_object	*lim;
	size_t			 i;

	execute("{\"code\": \"print(42)\", \"timeout\": 3, \"memory_limit\": "
	    "128, \"cpu_limit\": 1}", &(struct fake_run){ .outcome =
	    RUN_COMPLETED, .out = "42\n", .err = "", .duration_ms = 12.5,
	    .cpu_ms = 10, .memory_peak = 1 << 20, .warm = true,
	    .report = "{\"result_json\": \"[1, 2.5]\"}" });
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fake_get(it, keys[i]);
	ck_assert_int_eq(json_object_object_length(it), (int)i);
	ck_assert_str_eq(fake_str(it, "type"), "execution");
	ck_assert_str_eq(fake_str(it, "outcome"), "completed");
	ck_assert_int_eq(json_object_get_int(fake_get(it, "exit_code")), 0);
	ck_assert_ptr_null(fake_get(it, "signal"));
	ck_assert_str_eq(fake_str(it, "stdout"), "42\n");
	ck_assert_int_eq(json_object_get_int(fake_get(it, "stdout_bytes")), 3);
	ck_assert_str_eq(json_object_to_json_string(fake_get(it, "duration_ms")),
	    "12.5");
	ck_assert_int_eq(json_object_get_int(fake_get(it, "queue_ms")), 4);
	ck_assert(json_object_get_boolean(fake_get(it, "warm")));
	ck_assert_ptr_null(fake_get(it, "limit"));
	ck_assert_ptr_null(fake_get(it, "exception"));
	ck_assert_ptr_null(fake_get(it, "workspace"));
	/* The result as the runner's text, digit for digit. */
	ck_assert_str_eq(json_object_to_json_string(fake_get(it, "result")),
	    "[1, 2.5]");
	lim = fake_get(it, "limits");
	ck_assert_int_eq(json_object_get_int(fake_get(lim, "timeout")), 3);
	ck_assert_int_eq(json_object_get_int64(fake_get(lim, "memory_limit_bytes")),
	    128 << 20);
	ck_assert_int_eq(json_object_get_int(fake_get(lim, "cpu_limit")), 1);
	ck_assert_str_eq(line, "Completed in 12.5 ms.");
	/* A later attempt says which. */
	json_object_put(it);
	it = item_execution(&t, &t.at[0], 2);
	ck_assert_int_eq(json_object_get_int(fake_get(it, "attempt")), 2);
}
END_TEST

START_TEST(test_execution_exception)
{
	struct json_object	*exc;

	execute("{\"code\": \"1/0\"}", &(struct fake_run){ .outcome =
	    RUN_ERROR, .exit_code = 1, .err = "Traceback\n", .report =
	    "{\"exception\": {\"type\": \"ZeroDivisionError\", \"message\": "
	    "\"division by zero\", \"line\": 3}}" });
	ck_assert_str_eq(fake_str(it, "outcome"), "error");
	ck_assert_int_eq(json_object_get_int(fake_get(it, "exit_code")), 1);
	exc = fake_get(it, "exception");
	ck_assert_str_eq(fake_str(exc, "type"), "ZeroDivisionError");
	ck_assert_str_eq(fake_str(exc, "message"), "division by zero");
	ck_assert_ptr_null(fake_get(it, "result"));
	ck_assert_str_eq(line, "Raised ZeroDivisionError: division by zero on "
	    "line 3.");
}
END_TEST

START_TEST(test_execution_exit_status)
{
	execute("{\"code\": \"exit(4)\"}", &(struct fake_run){ .outcome =
	    RUN_ERROR, .exit_code = 4 });
	ck_assert_ptr_null(fake_get(it, "exception"));
	ck_assert_str_eq(line, "Exited with status 4.");
}
END_TEST

START_TEST(test_execution_timeout)
{
	execute("{\"code\": \"while 1: pass\", \"timeout\": 2}",
	    &(struct fake_run){ .outcome = RUN_TIMEOUT, .exit_code = -1,
	    .signal = 9, .limit = "timeout", .overshoot_ms = 7.25 });
	ck_assert_str_eq(fake_str(it, "outcome"), "timeout");
	ck_assert_ptr_null(fake_get(it, "exit_code"));
	ck_assert_str_eq(fake_str(it, "signal"), "SIGKILL");
	ck_assert_str_eq(fake_str(it, "limit"), "timeout");
	ck_assert_str_eq(json_object_to_json_string(fake_get(it, "overshoot_ms")),
	    "7.2");
	ck_assert_str_eq(line, "Stopped: the 2 s time limit was reached.");
}
END_TEST

START_TEST(test_execution_memory)
{
	execute("{\"code\": \"b = b'x' * 10**9\", \"memory_limit\": 100}",
	    &(struct fake_run){ .outcome = RUN_MEMORY_LIMIT, .exit_code = -1,
	    .signal = 9, .limit = "memory" });
	ck_assert_str_eq(fake_str(it, "outcome"), "memory_limit");
	ck_assert_str_eq(fake_str(it, "limit"), "memory");
	ck_assert_str_eq(line, "Stopped: the 100 MB memory limit was exceeded.");
}
END_TEST

START_TEST(test_execution_signal)
{
	execute("{\"code\": \"import os; os.abort()\"}", &(struct fake_run){
	    .outcome = RUN_SIGNAL, .exit_code = -1, .signal = 11,
	    .out = "bad \xff byte" });
	ck_assert_str_eq(fake_str(it, "outcome"), "signal");
	ck_assert_ptr_null(fake_get(it, "exit_code"));
	ck_assert_str_eq(fake_str(it, "signal"), "SIGSEGV");
	ck_assert_ptr_null(fake_get(it, "limit"));
	/* Bytes that are not UTF-8 reach the client as U+FFFD. */
	ck_assert_str_eq(fake_str(it, "stdout"), "bad \xef\xbf\xbd byte");
	ck_assert_str_eq(line, "Killed by signal SIGSEGV.");
}
END_TEST

START_TEST(test_rejected)
{
	struct json_object	*rej, *v;

	fake_llm_push(&(struct fake_llm){ .text = "{\"safe\": false, "
	    "\"concerns\": [\"a\", \"b\"]}" });
	fake_task(&w, &request_execute, "{\"code\": \"x\", \"validate_code\": "
	    "true, \"timeout\": 2}", &req, &t);
	task_execute(&w.env, &t);
	it = item_rejected(&t, &t.at[0], 0);
	ck_assert_str_eq(fake_str(it, "outcome"), "rejected");
	ck_assert_ptr_null(fake_get(it, "exit_code"));
	ck_assert_str_eq(fake_str(it, "stdout"), "");
	ck_assert_int_eq(json_object_get_int(fake_get(fake_get(it, "limits"), "timeout")),
	    2);
	rej = fake_get(it, "rejection");
	ck_assert_str_eq(fake_str(rej, "reason"), "the review judged the code unsafe");
	ck_assert_uint_eq(json_object_array_length(fake_get(rej, "concerns")), 2);
	item_summary(&t, line, sizeof(line));
	ck_assert_str_eq(line, "Rejected: the review judged the code unsafe: "
	    "a; b.");
	v = item_validation(&w.cfg, &t);
	ck_assert_str_eq(fake_str(v, "type"), "validation");
	ck_assert_str_eq(fake_str(v, "status"), "rejected");
	ck_assert_uint_eq(json_object_array_length(fake_get(v, "concerns")), 2);
	ck_assert_ptr_null(fake_get(v, "reason"));
	ck_assert_str_eq(fake_str(v, "model"), w.cfg.llm_model);
	json_object_put(v);
}
END_TEST

START_TEST(test_validation_skipped)
{
	fake_llm_push(&(struct fake_llm){ .e = LLM_UNAVAILABLE, .why = "down" });
	fake_task(&w, &request_execute, "{\"code\": \"x\", \"validate_code\": "
	    "true}", &req, &t);
	task_execute(&w.env, &t);
	it = item_validation(&w.cfg, &t);
	ck_assert_str_eq(fake_str(it, "status"), "skipped");
	ck_assert_str_eq(fake_str(it, "reason"), "llm_unavailable: down");
	ck_assert_uint_eq(json_object_array_length(fake_get(it, "concerns")), 0);
}
END_TEST

/* Code and usage items of a task that needed a fix; the fix's failure. */
START_TEST(test_code_usage_fix)
{
	struct json_object	*u;

	fake_llm_push(&(struct fake_llm){ .text = "{\"code\": \"1/0\", "
	    "\"explanation\": \"divides\"}", .prompt_tokens = 7,
	    .completion_tokens = 3, .ms = 250 });
	fake_run_push(&(struct fake_run){ .outcome = RUN_ERROR, .exit_code = 1 });
	fake_llm_push(&(struct fake_llm){ .e = LLM_BAD_RESPONSE, .why = "junk",
	    .ms = 0.5 });
	fake_task(&w, &request_generate, "{\"query\": \"q\", \"max_attempts\": "
	    "2}", &req, &t);
	task_generate(&w.env, &t);
	it = item_code(&w.cfg, &t.at[0], 1);
	ck_assert_str_eq(fake_str(it, "type"), "code");
	ck_assert_str_eq(fake_str(it, "language"), "python");
	ck_assert_str_eq(fake_str(it, "code"), "1/0");
	ck_assert_str_eq(fake_str(it, "explanation"), "divides");
	ck_assert_int_eq(json_object_get_int(fake_get(it, "attempt")), 1);
	u = item_usage(&w.cfg, &t);
	ck_assert_str_eq(fake_str(u, "type"), "usage");
	ck_assert_str_eq(fake_str(u, "model"), w.cfg.llm_model);
	ck_assert_int_eq(json_object_get_int(fake_get(u, "prompt_tokens")), 7);
	ck_assert_int_eq(json_object_get_int(fake_get(u, "completion_tokens")), 3);
	ck_assert_int_eq(json_object_get_int(fake_get(u, "llm_calls")), 2);
	ck_assert_str_eq(json_object_to_json_string(fake_get(u, "llm_ms")),
	    "250.500");
	json_object_put(u);
	item_summary(&t, line, sizeof(line));
	ck_assert_str_eq(line, "The fix of attempt 2 failed (llm_bad_response: "
	    "junk); the last attempt stands.");
}
END_TEST

START_TEST(test_code_without_explanation)
{
	fake_llm_push(&(struct fake_llm){ .text = "```python\nprint(1)\n```" });
	fake_run_push(&(struct fake_run){ .outcome = RUN_COMPLETED });
	fake_task(&w, &request_generate, "{\"query\": \"q\"}", &req, &t);
	task_generate(&w.env, &t);
	it = item_code(&w.cfg, &t.at[0], 1);
	ck_assert_ptr_null(fake_get(it, "explanation"));
}
END_TEST

START_TEST(test_workspace_item)
{
	struct json_object	*ws;

	fake_store_push(&(struct fake_store){ .r = { .status = WS_OK },
	    .fd = true });
	fake_store_push(&(struct fake_store){ .r = { .status = WS_OK,
	    .u = { .bytes = 10, .files = 1, .max_bytes = 64 << 20,
	    .max_files = 4096, .expires = 86400, .full = 1 } } });
	w.env.store = 99;
	fake_run_push(&(struct fake_run){ .outcome = RUN_COMPLETED });
	fake_task(&w, &request_execute, "{\"code\": \"x\", \"session_id\": "
	    "\"s2\"}", &req, &t);
	t.client = "k:test";
	task_execute(&w.env, &t);
	it = item_execution(&t, &t.at[0], 0);
	ws = fake_get(it, "workspace");
	ck_assert_str_eq(fake_str(ws, "session_id"), "s2");
	ck_assert_str_eq(fake_str(ws, "path"), "/workspace");
	ck_assert(!json_object_get_boolean(fake_get(ws, "created")));
	ck_assert_int_eq(json_object_get_int(fake_get(ws, "bytes")), 10);
	ck_assert_int_eq(json_object_get_int(fake_get(ws, "max_files")), 4096);
	ck_assert(json_object_get_boolean(fake_get(ws, "full")));
	ck_assert_str_eq(fake_str(ws, "expires_at"), "1970-01-02T00:00:00Z");
}
END_TEST

START_TEST(test_envelope)
{
	struct json_object	*items = json_object_new_array(), *o, *r;
	char			*s;

	json_object_array_add(items, item_text("done: a/b"));
	s = item_envelope("abc", items);
	ck_assert_ptr_nonnull(strstr(s, "done: a/b"));	/* no \/ */
	o = json_tokener_parse(s);
	ck_assert_int_eq(json_object_object_length(o), 3);
	ck_assert_str_eq(fake_str(o, "status"), "success");
	ck_assert_str_eq(fake_str(o, "invocationId"), "abc");
	r = fake_get(o, "response");
	ck_assert_uint_eq(json_object_array_length(r), 1);
	ck_assert_str_eq(fake_str(json_object_array_get_idx(r, 0), "type"), "text");
	json_object_put(o);
	free(s);
}
END_TEST

static Suite *
item_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("item", "shapes", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_execution_completed);
	tcase_add_test(tc, test_displays);
	tcase_add_test(tc, test_execution_exception);
	tcase_add_test(tc, test_execution_exit_status);
	tcase_add_test(tc, test_execution_timeout);
	tcase_add_test(tc, test_execution_memory);
	tcase_add_test(tc, test_execution_signal);
	tcase_add_test(tc, test_rejected);
	tcase_add_test(tc, test_validation_skipped);
	tcase_add_test(tc, test_code_usage_fix);
	tcase_add_test(tc, test_code_without_explanation);
	tcase_add_test(tc, test_workspace_item);
	tcase_add_test(tc, test_envelope);
	return s;
}

CHECK_MAIN(item_suite(), CK_FORK_GETENV)
