/*
 * Unit tests: the core (task.c) against link-time fakes of the sandbox's
 * run and the model (fake.h): what task_execute() and task_generate() do
 * with each answer they get, and the run they ask for.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake.h"

static struct fake_world	w;
static struct exec_request	req;
static struct task		t;

static void
setup(void)
{
	fake_world_init(&w, NULL);
}

static void
teardown(void)
{
	task_free(&t);
	request_free(&req);
	fake_reset();
}

/* A completed run printing out. */
static void
push_ok(const char *out)
{
	fake_run_push(&(struct fake_run){ .outcome = RUN_COMPLETED,
	    .out = out, .err = "", .duration_ms = 12.5 });
}

/* A run that failed with exit status 1 and a traceback. */
static void
push_error(const char *err)
{
	fake_run_push(&(struct fake_run){ .outcome = RUN_ERROR, .exit_code = 1,
	    .out = "", .err = err, .duration_ms = 3 });
}

static void
push_llm(const char *text, int64_t prompt, int64_t completion)
{
	fake_llm_push(&(struct fake_llm){ .text = text, .prompt_tokens = prompt,
	    .completion_tokens = completion, .ms = 100 });
}

/* ---- task_execute ---------------------------------------------------- */

START_TEST(test_execute_runs_without_review)
{
	push_ok("hi\n");
	fake_task(&w, &request_execute, "{\"code\": \"print('hi')\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_int_eq(t.review, TASK_REVIEW_NONE);
	ck_assert_ptr_null(t.rejected_by);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(fake_llms.calls, 0);
	ck_assert_uint_eq(fake_runs.calls, 1);
	ck_assert_str_eq(fake_run_seen[0].code, "print('hi')");
	ck_assert(t.at[0].ran);
	ck_assert_int_eq(t.at[0].rr.outcome, RUN_COMPLETED);
	ck_assert_str_eq(t.at[0].rr.out, "hi\n");
	ck_assert_ptr_eq(task_last(&t), &t.at[0]);
	/* The bookkeeping: the slot's count and state, the metrics. */
	ck_assert_uint_eq(w.slot.runs, 1);
	ck_assert_int_eq(w.slot.state, SLOT_READY);
	ck_assert_uint_eq(w.met.runs[RUN_COMPLETED], 1);
	ck_assert(!w.env.broken);
}
END_TEST

START_TEST(test_execute_params_from_request)
{
	push_ok("");
	fake_task(&w, &request_execute, "{\"code\": \"import numpy\", "
	    "\"timeout\": 2.5, \"memory_limit\": 200, \"cpu_limit\": 0.5, "
	    "\"stdin\": \"abc\"}", &req, &t);
	w.env.proven[0] = true;
	w.env.proven_gen[0] = 7;
	task_execute(&w.env, &t);
	ck_assert_uint_eq(fake_runs.calls, 1);
	ck_assert(fake_run_seen[0].p.timeout == 2.5);
	ck_assert_uint_eq(fake_run_seen[0].p.memory_bytes, 200ull << 20);
	ck_assert(fake_run_seen[0].p.cpu_limit == 0.5);
	ck_assert_uint_eq(fake_run_seen[0].p.stdin_len, 3);
	ck_assert_uint_eq(fake_run_seen[0].p.max_output, w.cfg.max_output);
	ck_assert_int_eq(fake_run_seen[0].p.mode, RUN_MODE_SCRIPT);
	ck_assert(fake_run_seen[0].p.artifacts);	/* a native route */
	ck_assert_ptr_null(fake_run_seen[0].p.policy);
	/* numpy is preloaded by default: the data zygote. */
	ck_assert(fake_run_seen[0].p.data);
	/* The proven generations go with the run; warm, not cold. */
	ck_assert(fake_run_seen[0].p.proven[0]);
	ck_assert(!fake_run_seen[0].p.proven[1]);
	ck_assert_uint_eq(fake_run_seen[0].p.gen[0], 7);
	ck_assert(!fake_run_seen[0].p.cold);
	ck_assert(!fake_run_seen[0].p.workspace);
}
END_TEST

START_TEST(test_execute_cold_when_nothing_proven)
{
	push_ok("");
	fake_task(&w, &request_execute, "{\"code\": \"x = 1\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert(fake_run_seen[0].p.cold);
	ck_assert(!fake_run_seen[0].p.data);
	ck_assert(fake_run_seen[0].p.timeout == w.cfg.default_timeout);
	ck_assert_uint_eq(fake_run_seen[0].p.memory_bytes,
	    (uint64_t)w.cfg.default_memory_mb << 20);
}
END_TEST

START_TEST(test_execute_review_passed)
{
	push_llm("{\"safe\": true, \"concerns\": [\"prints\"]}", 10, 2);
	push_ok("1\n");
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\", "
	    "\"validate_code\": true}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.review, TASK_REVIEW_PASSED);
	ck_assert_ptr_null(t.rejected_by);
	ck_assert_uint_eq(fake_llms.calls, 1);
	ck_assert_uint_eq(fake_llm_seen[0].n, 2);
	ck_assert_str_eq(fake_llm_seen[0].role[0], "system");
	ck_assert_str_eq(fake_llm_seen[0].content[1], "print(1)");
	ck_assert_uint_eq(fake_runs.calls, 1);
	ck_assert(t.at[0].ran);
	ck_assert_int_eq(json_object_array_length(t.concerns), 1);
	ck_assert_int_eq(t.usage.prompt_tokens, 10);
	ck_assert_uint_eq(w.met.llm_calls[LLM_OK], 1);
}
END_TEST

START_TEST(test_execute_review_rejected)
{
	push_llm("{\"safe\": false, \"concerns\": [\"reads /etc/shadow\"]}", 1, 1);
	fake_task(&w, &request_execute, "{\"code\": \"open('/etc/shadow')\", "
	    "\"validate_code\": true}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_int_eq(t.review, TASK_REVIEW_REJECTED);
	ck_assert_str_eq(t.rejected_by, "the review judged the code unsafe");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    t.concerns, 0)), "reads /etc/shadow");
	ck_assert_uint_eq(fake_runs.calls, 0);
	ck_assert(!t.at[0].ran);
	ck_assert_uint_eq(w.met.runs[MET_REJECTED], 1);
}
END_TEST

/* No verdict: fail closed by default (the code does not run). */
START_TEST(test_execute_review_unavailable_refuses)
{
	fake_llm_push(&(struct fake_llm){ .e = LLM_UNAVAILABLE,
	    .why = "HTTP 503" });
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\", "
	    "\"validate_code\": true}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_int_eq(t.review, TASK_REVIEW_SKIPPED);
	ck_assert_str_eq(t.rejected_by, "validate_code asked for a review and "
	    "no model could give one");
	ck_assert_str_eq(t.why, "llm_unavailable: HTTP 503");
	ck_assert_uint_eq(fake_runs.calls, 0);
	ck_assert_uint_eq(w.met.runs[MET_REJECTED], 1);
}
END_TEST

/* An answer without a verdict is no verdict either. */
START_TEST(test_execute_review_unreadable_refuses)
{
	push_llm("looks fine to me", 1, 1);
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\", "
	    "\"validate_code\": true}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.review, TASK_REVIEW_SKIPPED);
	ck_assert_ptr_nonnull(t.rejected_by);
	ck_assert_ptr_nonnull(strstr(t.why, "llm_bad_response: "));
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

/* PYEXEC_VALIDATE_WITHOUT_MODEL=run: skipped, and it runs. */
START_TEST(test_execute_review_unavailable_runs)
{
	fake_world_init(&w, (const char *const[]){
	    "PYEXEC_VALIDATE_WITHOUT_MODEL=run", NULL });
	fake_llm_push(&(struct fake_llm){ .e = LLM_TIMEOUT, .why = "slow" });
	push_ok("1\n");
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\", "
	    "\"validate_code\": true}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.review, TASK_REVIEW_SKIPPED);
	ck_assert_ptr_null(t.rejected_by);
	ck_assert_str_eq(t.why, "llm_timeout: slow");
	ck_assert_uint_eq(fake_runs.calls, 1);
	ck_assert(t.at[0].ran);
	ck_assert_uint_eq(w.met.llm_calls[LLM_TIMEOUT], 1);
}
END_TEST

START_TEST(test_execute_budget_exhausted)
{
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\"}", &req, &t);
	t.deadline_ms = clock_mono_ms() + 100;	/* less than the run's */
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_FAIL_BUDGET);
	ck_assert_ptr_nonnull(strstr(t.why, "time budget"));
	ck_assert_ptr_nonnull(strstr(t.why, "the run may take"));
	ck_assert_uint_eq(fake_runs.calls, 0);
	ck_assert(!t.at[0].ran);
}
END_TEST

/* The review is a step too: not taken when it could pass the budget. */
START_TEST(test_execute_budget_before_review)
{
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\", "
	    "\"validate_code\": true}", &req, &t);
	t.deadline_ms = clock_mono_ms() + 100;
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_FAIL_BUDGET);
	ck_assert_ptr_nonnull(strstr(t.why, "a model call may take"));
	ck_assert_uint_eq(fake_llms.calls, 0);
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

START_TEST(test_execute_sandbox_failed)
{
	fake_run_push(&(struct fake_run){ .rc = -1, .why = "launcher gone" });
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_FAIL_SANDBOX);
	ck_assert_str_eq(t.why, "the sandbox failed; the request was not run "
	    "to completion");
	ck_assert(w.env.broken);
	ck_assert(!t.at[0].ran);
	ck_assert_uint_eq(w.slot.runs, 0);
	ck_assert_int_eq(w.slot.state, SLOT_READY);
}
END_TEST

/* Lost with its zygote only (1): a failure, the slot sound. */
START_TEST(test_execute_zygote_lost)
{
	fake_run_push(&(struct fake_run){ .rc = 1, .why = "zygote died" });
	fake_task(&w, &request_execute, "{\"code\": \"print(1)\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_FAIL_SANDBOX);
	ck_assert(!w.env.broken);
}
END_TEST

/* The runner's report: taken when the kernel agrees, else ignored. */
START_TEST(test_execute_report)
{
	fake_run_push(&(struct fake_run){ .outcome = RUN_ERROR, .exit_code = 1,
	    .err = "Traceback", .report = "{\"exception\": {\"type\": "
	    "\"ZeroDivisionError\", \"message\": \"division by zero\"}}" });
	fake_task(&w, &request_execute, "{\"code\": \"1/0\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_ptr_nonnull(t.at[0].exc);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	    t.at[0].exc, "type")), "ZeroDivisionError");
	task_free(&t);
	request_free(&req);
	/* The same report with exit status 2: not the runner's; ignored. */
	fake_run_push(&(struct fake_run){ .outcome = RUN_ERROR, .exit_code = 2,
	    .report = "{\"exception\": {\"type\": \"X\"}}" });
	fake_task(&w, &request_execute, "{\"code\": \"1/0\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_ptr_null(t.at[0].exc);
	task_free(&t);
	request_free(&req);
	/* A result, kept as its text; one that is not strict JSON, dropped. */
	fake_run_push(&(struct fake_run){ .outcome = RUN_COMPLETED,
	    .report = "{\"result_json\": \"1180591620717411303424\", "
	    "\"result_str\": \"2**70\"}" });
	fake_run_push(&(struct fake_run){ .outcome = RUN_COMPLETED,
	    .report = "{\"result_json\": \"NaN\"}" });
	fake_task(&w, &request_execute, "{\"code\": \"x\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_str_eq(t.at[0].result_json, "1180591620717411303424");
	ck_assert_str_eq(t.at[0].result_str, "2**70");
	task_free(&t);
	request_free(&req);
	fake_task(&w, &request_execute, "{\"code\": \"x\"}", &req, &t);
	task_execute(&w.env, &t);
	ck_assert_ptr_null(t.at[0].result_json);
}
END_TEST

/* A session: the store attaches its workspace, the run gets the mount,
 * and its usage is asked for after the run. */
START_TEST(test_execute_workspace)
{
	fake_store_push(&(struct fake_store){ .r = { .status = WS_CREATED },
	    .fd = true });
	fake_store_push(&(struct fake_store){ .r = { .status = WS_OK,
	    .u = { .bytes = 4096, .files = 2 } } });
	push_ok("");
	fake_task(&w, &request_execute, "{\"code\": \"x = 1\", "
	    "\"session_id\": \"s1\"}", &req, &t);
	t.client = "k:test";
	w.env.store = 99;	/* a channel: the fake does not read it */
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_str_eq(t.session, "s1");
	ck_assert_uint_eq(fake_stores.calls, 2);
	ck_assert_int_eq(fake_store_seen[0].op, WS_ATTACH);
	ck_assert_str_eq(fake_store_seen[0].session, "s1");
	ck_assert_int_eq(fake_store_seen[1].op, WS_USAGE);
	ck_assert(fake_run_seen[0].had_workspace_fd);
	ck_assert(t.at[0].ws);
	ck_assert(t.at[0].ws_created);
	ck_assert_uint_eq(t.at[0].ws_usage.bytes, 4096);
	ck_assert_uint_eq(t.at[0].ws_usage.files, 2);
}
END_TEST

/* No store: a session asked for is refused (400), nothing runs. */
START_TEST(test_execute_workspace_off)
{
	fake_task(&w, &request_execute, "{\"code\": \"x = 1\", "
	    "\"session_id\": \"s1\"}", &req, &t);
	t.client = "k:test";
	task_execute(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_FAIL_WORKSPACE);
	ck_assert_int_eq(t.ws_status, 400);
	ck_assert_ptr_nonnull(strstr(t.why, "workspaces are off"));
	ck_assert_uint_eq(fake_stores.calls, 0);
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

/* ---- task_generate --------------------------------------------------- */

START_TEST(test_generate_code_from_answer)
{
	push_llm("{\"code\": \"print(6 * 7)\", \"explanation\": \"multiplies\", "
	    "\"safe\": true, \"concerns\": []}", 30, 12);
	push_ok("42\n");
	fake_task(&w, &request_generate, "{\"query\": \"six times seven\"}",
	    &req, &t);
	task_generate(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_str_eq(t.at[0].gen.code, "print(6 * 7)");
	ck_assert_str_eq(t.at[0].gen.explanation, "multiplies");
	ck_assert_str_eq(fake_run_seen[0].code, "print(6 * 7)");
	ck_assert_uint_eq(fake_llm_seen[0].n, 2);
	ck_assert_str_eq(fake_llm_seen[0].content[1], "six times seven");
	ck_assert_int_eq(t.usage.prompt_tokens, 30);
	ck_assert_int_eq(t.usage.completion_tokens, 12);
	ck_assert_uint_eq(t.usage.calls, 1);
	ck_assert_str_eq(t.at[0].rr.out, "42\n");
}
END_TEST

/* A fenced block is code too. */
START_TEST(test_generate_fenced)
{
	push_llm("Here it is:\n```python\nprint('fenced')\n```\n", 1, 1);
	push_ok("fenced\n");
	fake_task(&w, &request_generate, "{\"query\": \"q\"}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_ptr_nonnull(strstr(fake_run_seen[0].code, "print('fenced')"));
	ck_assert_ptr_null(strstr(fake_run_seen[0].code, "```"));
}
END_TEST

/* An error goes back to the model with its stderr; the fix runs. */
START_TEST(test_generate_fix)
{
	push_llm("{\"code\": \"print(x)\"}", 10, 5);
	push_error("NameError: name 'x' is not defined\n");
	push_llm("{\"code\": \"x = 1\\nprint(x)\"}", 20, 6);
	push_ok("1\n");
	fake_task(&w, &request_generate, "{\"query\": \"print x\", "
	    "\"max_attempts\": 3}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(fake_runs.calls, 2);
	ck_assert_uint_eq(fake_llms.calls, 2);
	ck_assert_str_eq(fake_run_seen[1].code, "x = 1\nprint(x)");
	/* The second call: system, query, the first answer, the failure. */
	ck_assert_uint_eq(fake_llm_seen[1].n, 4);
	ck_assert_str_eq(fake_llm_seen[1].role[2], "assistant");
	ck_assert_str_eq(fake_llm_seen[1].content[2], "{\"code\": \"print(x)\"}");
	ck_assert_str_eq(fake_llm_seen[1].role[3], "user");
	ck_assert_ptr_nonnull(strstr(fake_llm_seen[1].content[3],
	    "exit status 1"));
	ck_assert_ptr_nonnull(strstr(fake_llm_seen[1].content[3],
	    "NameError: name 'x' is not defined"));
	/* The usage is summed over both calls. */
	ck_assert_int_eq(t.usage.prompt_tokens, 30);
	ck_assert_int_eq(t.usage.completion_tokens, 11);
	ck_assert_uint_eq(t.usage.calls, 2);
	ck_assert_int_eq(task_last(&t)->rr.outcome, RUN_COMPLETED);
	ck_assert_uint_eq(t.fix_failed, 0);
}
END_TEST

/* Never more attempts than max_attempts, and by default one. */
START_TEST(test_generate_max_attempts)
{
	unsigned	i;

	for (i = 0; i < 2; i++) {
		push_llm("{\"code\": \"raise SystemExit(1)\"}", 1, 1);
		push_error("boom\n");
	}
	fake_task(&w, &request_generate, "{\"query\": \"q\", "
	    "\"max_attempts\": 2}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(fake_llms.calls, 2);
	ck_assert_uint_eq(fake_runs.calls, 2);
	ck_assert_int_eq(task_last(&t)->rr.outcome, RUN_ERROR);
	task_free(&t);
	request_free(&req);
	fake_reset();
	push_llm("{\"code\": \"raise SystemExit(1)\"}", 1, 1);
	push_error("boom\n");
	fake_task(&w, &request_generate, "{\"query\": \"q\"}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(fake_llms.calls, 1);
}
END_TEST

/* The fix's model call fails: recorded; the last attempt stands. */
START_TEST(test_generate_fix_failed)
{
	push_llm("{\"code\": \"1/0\"}", 1, 1);
	push_error("ZeroDivisionError\n");
	fake_llm_push(&(struct fake_llm){ .e = LLM_TIMEOUT, .why = "slow" });
	fake_task(&w, &request_generate, "{\"query\": \"q\", "
	    "\"max_attempts\": 3}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(t.fix_failed, 2);
	ck_assert_str_eq(t.why, "llm_timeout: slow");
	ck_assert(t.at[0].ran);
	ck_assert_uint_eq(t.usage.calls, 2);
}
END_TEST

START_TEST(test_generate_llm_failed)
{
	fake_llm_push(&(struct fake_llm){ .e = LLM_NOT_CONFIGURED,
	    .why = "no key" });
	fake_task(&w, &request_generate, "{\"query\": \"q\"}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_FAIL_LLM);
	ck_assert_int_eq(t.llm, LLM_NOT_CONFIGURED);
	ck_assert_str_eq(t.why, "no key");
	ck_assert_uint_eq(t.n, 0);
	ck_assert_ptr_null(task_last(&t));
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

START_TEST(test_generate_no_code)
{
	push_llm("I cannot help with that.", 1, 1);
	fake_task(&w, &request_generate, "{\"query\": \"q\"}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_FAIL_LLM);
	ck_assert_int_eq(t.llm, LLM_BAD_RESPONSE);
	ck_assert_ptr_nonnull(strstr(t.why, "holds no code"));
	ck_assert_uint_eq(fake_runs.calls, 0);
}
END_TEST

START_TEST(test_generate_unsafe)
{
	push_llm("{\"code\": \"import os\", \"safe\": false, \"concerns\": "
	    "[\"reads secrets\"]}", 1, 1);
	fake_task(&w, &request_generate, "{\"query\": \"steal keys\"}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_int_eq(t.fail, TASK_OK);
	ck_assert_str_eq(t.rejected_by, "the model judged the task unsafe");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    t.concerns, 0)), "reads secrets");
	ck_assert_uint_eq(t.n, 1);
	ck_assert(!t.at[0].ran);
	ck_assert_uint_eq(fake_runs.calls, 0);
	ck_assert_uint_eq(w.met.runs[MET_REJECTED], 1);
}
END_TEST

/* The model's answer never carries the key into a run. */
START_TEST(test_generate_redacts_key)
{
	fake_world_init(&w, (const char *const[]){
	    "PYEXEC_LLM_API_KEY=sk-unit-secret-1234", NULL });
	push_llm("{\"code\": \"print('sk-unit-secret-1234')\"}", 1, 1);
	push_ok("");
	fake_task(&w, &request_generate, "{\"query\": \"q\"}", &req, &t);
	task_generate(&w.env, &t);
	ck_assert_uint_eq(fake_runs.calls, 1);
	ck_assert_ptr_null(strstr(fake_run_seen[0].code, "sk-unit-secret"));
	ck_assert_ptr_null(strstr(t.at[0].gen.code, "sk-unit-secret"));
}
END_TEST

static Suite *
task_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("task", "execute and generate", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_execute_runs_without_review);
	tcase_add_test(tc, test_execute_params_from_request);
	tcase_add_test(tc, test_execute_cold_when_nothing_proven);
	tcase_add_test(tc, test_execute_review_passed);
	tcase_add_test(tc, test_execute_review_rejected);
	tcase_add_test(tc, test_execute_review_unavailable_refuses);
	tcase_add_test(tc, test_execute_review_unreadable_refuses);
	tcase_add_test(tc, test_execute_review_unavailable_runs);
	tcase_add_test(tc, test_execute_budget_exhausted);
	tcase_add_test(tc, test_execute_budget_before_review);
	tcase_add_test(tc, test_execute_sandbox_failed);
	tcase_add_test(tc, test_execute_zygote_lost);
	tcase_add_test(tc, test_execute_report);
	tcase_add_test(tc, test_execute_workspace);
	tcase_add_test(tc, test_execute_workspace_off);
	tcase_add_test(tc, test_generate_code_from_answer);
	tcase_add_test(tc, test_generate_fenced);
	tcase_add_test(tc, test_generate_fix);
	tcase_add_test(tc, test_generate_max_attempts);
	tcase_add_test(tc, test_generate_fix_failed);
	tcase_add_test(tc, test_generate_llm_failed);
	tcase_add_test(tc, test_generate_no_code);
	tcase_add_test(tc, test_generate_unsafe);
	tcase_add_test(tc, test_generate_redacts_key);
	return s;
}

CHECK_MAIN(task_suite(), CK_FORK_GETENV)
