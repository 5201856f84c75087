/*
 * Unit tests: how an exchange answers (exchange.c): its plain JSON, the
 * native error envelope, a failed task's status and code by cause, and a
 * task's envelope.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake.h"

/* The native error envelope: its one item's code and message. */
static void
assert_error(int status, const char *code, const char *message)
{
	struct json_object	*o = fake_answer(), *resp, *it;

	ck_assert_int_eq(fake_x.status, status);
	ck_assert_str_eq(fake_str(o, "status"), "error");
	ck_assert_str_eq(fake_str(o, "invocationId"), fake_x.id);
	resp = fake_get(o, "response");
	ck_assert_uint_eq(json_object_array_length(resp), 1);
	it = json_object_array_get_idx(resp, 0);
	ck_assert_str_eq(fake_str(it, "type"), "error");
	ck_assert_str_eq(fake_str(it, "code"), code);
	ck_assert_str_eq(fake_str(it, "message"), message);
}

START_TEST(test_json)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string("a/b"));
	exchange_json(&fake_x, 422, o);
	ck_assert_int_eq(fake_x.status, 422);
	/* Plain, and no escaped slash. */
	ck_assert_str_eq(fake_x.answer, "{\"path\":\"a/b\"}");
}
END_TEST

START_TEST(test_error)
{
	exchange_error(&fake_x, 400, "field %s: %d", "timeout", 7);
	assert_error(400, "invalid_request", "field timeout: 7");
	exchange_error(&fake_x, 413, "too big");
	assert_error(413, "payload_too_large", "too big");
	exchange_error(&fake_x, 500, "out of memory");
	assert_error(500, "internal_error", "out of memory");
}
END_TEST

START_TEST(test_task_error_llm)
{
	static const struct { enum llm_err e; int status; const char *code; }
	    cases[] = {
		{ LLM_NOT_CONFIGURED, 503, "llm_not_configured" },
		{ LLM_UNAVAILABLE, 502, "llm_unavailable" },
		{ LLM_TIMEOUT, 504, "llm_timeout" },
		{ LLM_BAD_RESPONSE, 502, "llm_bad_response" },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_x.task.fail = TASK_FAIL_LLM;
		fake_x.task.llm = cases[i].e;
		snprintf(fake_x.task.why, sizeof(fake_x.task.why), "why %zu", i);
		exchange_task_error(&fake_x);
		assert_error(cases[i].status, cases[i].code, fake_x.task.why);
	}
}
END_TEST

START_TEST(test_task_error_budget_sandbox)
{
	fake_x.task.fail = TASK_FAIL_BUDGET;
	snprintf(fake_x.task.why, sizeof(fake_x.task.why), "the budget");
	exchange_task_error(&fake_x);
	assert_error(504, "time_budget", "the budget");
	fake_x.task.fail = TASK_FAIL_SANDBOX;
	snprintf(fake_x.task.why, sizeof(fake_x.task.why), "the sandbox failed");
	exchange_task_error(&fake_x);
	assert_error(500, "internal_error", "the sandbox failed");
	ck_assert_uint_eq(fake_x.retry_after, 0);
}
END_TEST

START_TEST(test_task_error_workspace)
{
	fake_x.task.fail = TASK_FAIL_WORKSPACE;
	fake_x.task.ws_status = 429;
	fake_x.task.ws_retry_after = 30;
	snprintf(fake_x.task.why, sizeof(fake_x.task.why), "too many");
	exchange_task_error(&fake_x);
	assert_error(429, "rate_limited", "too many");
	ck_assert_uint_eq(fake_x.retry_after, 30);
	fake_x.task.ws_status = 409;
	fake_x.task.ws_code = "workspace_busy";
	exchange_task_error(&fake_x);
	assert_error(409, "workspace_busy", "too many");
}
END_TEST

/* A task's envelope, and the log's outcome, from a real (faked) run. */
START_TEST(test_answer)
{
	struct json_object	*items = json_object_new_array(), *resp;

	fake_run_push(&(struct fake_run){ .outcome = RUN_TIMEOUT,
	    .exit_code = -1, .signal = 9, .limit = "timeout" });
	fake_task(&fake_w, &request_execute, "{\"code\": \"while 1: pass\"}",
	    &fake_x.req, &fake_x.task);
	task_execute(&fake_w.env, &fake_x.task);
	json_object_array_add(items, item_text("hello"));
	exchange_answer(&fake_x, items);
	ck_assert_int_eq(fake_x.status, 200);
	ck_assert_str_eq(fake_x.outcome, "timeout");
	ck_assert_str_eq(fake_str(fake_answer(), "status"), "success");
	ck_assert_str_eq(fake_str(fake_ans, "invocationId"), fake_x.id);
	resp = fake_get(fake_ans, "response");
	ck_assert_str_eq(fake_str(json_object_array_get_idx(resp, 0), "message"),
	    "hello");
}
END_TEST

/* Every route's dialect labels have a metrics series, "-" last; a
 * request picks its route's series by dialect, its first by default. */
START_TEST(test_metric_series)
{
	struct json_object	*t = route_table_json(&fake_w.cfg, false), *rs, *d;
	const char *const	*names = route_names(), *const *dialects =
				    route_dialects();
	unsigned		 i, want = 1;

	ck_assert(json_object_object_get_ex(t, "routes", &rs));
	for (i = 0; i < json_object_array_length(rs); i++) {
		ck_assert(json_object_object_get_ex(json_object_array_get_idx(rs,
		    i), "metric_dialects", &d));
		want += (unsigned)json_object_array_length(d);
	}
	json_object_put(t);
	ck_assert_uint_eq(route_count(), want);
	ck_assert_uint_le(route_count(), MET_ROUTES);
	i = route_series("/execute", "nvidia");
	ck_assert_str_eq(names[i], "/execute");
	ck_assert_str_eq(dialects[i], "nvidia");
	ck_assert_str_eq(dialects[route_series("/execute", NULL)], "-");
	ck_assert_str_eq(dialects[route_series("/v1/execute", "nvidia")], "native");
	ck_assert_str_eq(names[route_series("/nowhere", NULL)], "-");
	ck_assert_uint_eq(route_series("/nowhere", NULL), route_count() - 1);
}
END_TEST

START_TEST(test_answer_rejected)
{
	fake_llm_push(&(struct fake_llm){ .text = "{\"safe\": false}" });
	fake_task(&fake_w, &request_execute, "{\"code\": \"x\", \"validate_code\": "
	    "true}", &fake_x.req, &fake_x.task);
	task_execute(&fake_w.env, &fake_x.task);
	exchange_answer(&fake_x, json_object_new_array());
	ck_assert_int_eq(fake_x.status, 200);
	ck_assert_str_eq(fake_x.outcome, "rejected");
}
END_TEST

static Suite *
exchange_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("exchange", "answers", &tc);

	tcase_add_checked_fixture(tc, fake_x_setup, fake_x_teardown);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_metric_series);
	tcase_add_test(tc, test_error);
	tcase_add_test(tc, test_task_error_llm);
	tcase_add_test(tc, test_task_error_budget_sandbox);
	tcase_add_test(tc, test_task_error_workspace);
	tcase_add_test(tc, test_answer);
	tcase_add_test(tc, test_answer_rejected);
	return s;
}

CHECK_MAIN(exchange_suite(), CK_FORK_GETENV)
