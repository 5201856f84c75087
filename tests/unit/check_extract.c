/* Unit tests: code extraction from model answers, reviews, redaction. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "core.h"

static struct llm_code c;

static void
teardown(void)
{
	extract_free(&c);
}

START_TEST(test_whole_json)
{
	ck_assert_int_eq(extract_code("{\"code\": \"print(1)\", \"explanation\": "
	    "\"prints\", \"safe\": true, \"concerns\": []}", &c), PYEXEC_OK);
	ck_assert_str_eq(c.code, "print(1)");
	ck_assert_str_eq(c.explanation, "prints");
	ck_assert(c.safe);
	ck_assert_int_eq(json_object_array_length(c.concerns), 0);
}
END_TEST

START_TEST(test_json_in_prose)
{
	ck_assert_int_eq(extract_code("Sure! Here it is:\n{\"code\": \"x = {1: 2}\\n"
	    "print(x)\", \"safe\": false, \"concerns\": [\"reads /etc\"]}\nBye.",
	    &c), PYEXEC_OK);
	ck_assert_str_eq(c.code, "x = {1: 2}\nprint(x)");
	ck_assert(!c.safe);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    c.concerns, 0)), "reads /etc");
}
END_TEST

START_TEST(test_json_without_code_then_fence)
{
	/* An object without "code" is skipped; the fence is used. */
	ck_assert_int_eq(extract_code("{\"note\": 1}\n```python\nprint(2)\n```\n",
	    &c), PYEXEC_OK);
	ck_assert_str_eq(c.code, "print(2)\n");
	ck_assert(c.safe);
	ck_assert_ptr_null(c.explanation);
}
END_TEST

START_TEST(test_python_fence_first_of_several)
{
	ck_assert_int_eq(extract_code("text\n```bash\nls\n```\n```Python \n"
	    "print('a')\n```\nand\n```python\nprint('b')\n```", &c), PYEXEC_OK);
	ck_assert_str_eq(c.code, "print('a')\n");
}
END_TEST

START_TEST(test_bare_fence)
{
	ck_assert_int_eq(extract_code("```\nprint(3)\n```", &c), PYEXEC_OK);
	ck_assert_str_eq(c.code, "print(3)\n");
}
END_TEST

START_TEST(test_no_code)
{
	ck_assert_int_eq(extract_code("I cannot help with that.", &c),
	    PYEXEC_ERR_INVALID);
	extract_free(&c);
	ck_assert_int_eq(extract_code("```bash\nls\n```", &c), PYEXEC_ERR_INVALID);
	extract_free(&c);
	ck_assert_int_eq(extract_code("{\"code\": \"  \\n\"}", &c),
	    PYEXEC_ERR_INVALID);
	extract_free(&c);
	ck_assert_int_eq(extract_code("```python\nprint(1)", &c),
	    PYEXEC_ERR_INVALID);
}
END_TEST

START_TEST(test_review)
{
	bool			 safe = true;
	struct json_object	*con;

	ck_assert_int_eq(extract_review("Verdict: {\"safe\": false, \"concerns\": "
	    "[\"opens sockets\"]}", &safe, &con), PYEXEC_OK);
	ck_assert(!safe);
	ck_assert_int_eq(json_object_array_length(con), 1);
	json_object_put(con);
	ck_assert_int_eq(extract_review("{\"safe\": \"no\"}", &safe, &con),
	    PYEXEC_ERR_INVALID);
	ck_assert_ptr_null(con);
}
END_TEST

START_TEST(test_redact)
{
	char	*s = extract_redact("k=sk-123; again sk-123!", "sk-123");

	ck_assert_str_eq(s, "k=[REDACTED]; again [REDACTED]!");
	free(s);
	s = extract_redact("nothing here", "sk-123");
	ck_assert_str_eq(s, "nothing here");
	free(s);
	s = extract_redact("no secret configured", NULL);
	ck_assert_str_eq(s, "no secret configured");
	free(s);
}
END_TEST

#define GEN(b)	request_parse_generate((b), strlen(b), &cfg, &r, msg, sizeof(msg))
#define EXE(b)	request_parse_execute((b), strlen(b), &cfg, &r, msg, sizeof(msg))

START_TEST(test_generate_validation)
{
	struct pyexec_config	cfg = { .default_timeout = 5, .max_timeout = 30,
				    .default_memory_mb = 100, .max_memory_mb = 500,
				    .max_cpu = 2, .max_query_chars = 10 };
	struct exec_request	r;
	char			msg[256];

	ck_assert_int_eq(GEN("{\"query\": \"héllo wörld\"}"),
	    PYEXEC_ERR_INVALID);	/* 11 characters > 10 */
	ck_assert_str_eq(msg, "query: must be at most 10 characters (got 11)");
	request_free(&r);
	ck_assert_int_eq(GEN("{\"query\": \"héllo wör\", "
	    "\"max_attempts\": 3}"), PYEXEC_OK);
	ck_assert_uint_eq(r.max_attempts, 3);
	request_free(&r);
	ck_assert_int_eq(GEN("{\"query\": \"a\\u0007\"}"), PYEXEC_ERR_INVALID);
	ck_assert_str_eq(msg, "query: must not contain control characters "
	    "(found 0x07)");
	request_free(&r);
	ck_assert_int_eq(GEN("{\"query\": \"a\", "
	    "\"max_attempts\": 4}"),
	    PYEXEC_ERR_INVALID);
	ck_assert_str_eq(msg, "max_attempts: must be an integer from 1 to 3");
	request_free(&r);
	ck_assert_int_eq(GEN("{\"query\": \"a\", \"code\": \"x\"}"), PYEXEC_ERR_INVALID);
	ck_assert_str_eq(msg, "unknown field: code");
	request_free(&r);
	ck_assert_int_eq(EXE("{\"code\": \"1\", "
	    "\"validate_code\": 1}"),
	    PYEXEC_ERR_INVALID);
	ck_assert_str_eq(msg, "validate_code: must be true or false");
	request_free(&r);
}
END_TEST


/* Issue 8, finding 8: never a call without a bound, Retry-After clamped. */
START_TEST(test_llm_budget)
{
	ck_assert_int_eq(llm_remaining_ms(1000, 1000), 0);
	ck_assert_int_eq(llm_remaining_ms(1000, 2000), 0);
	ck_assert_int_eq(llm_remaining_ms(1500, 1000), 500);
	ck_assert_int_eq(llm_parse_retry_after(" 2\r\n", 4), 2);
	ck_assert_int_eq(llm_parse_retry_after(" 99999999999999999999999\r\n", 26),
	    LLM_RETRY_AFTER_MAX);
	ck_assert_int_eq(llm_parse_retry_after(" -5\r\n", 5), -1);
	ck_assert_int_eq(llm_parse_retry_after(" Wed, 21 Oct 2015 07:28:00 GMT", 30), -1);
	ck_assert_int_eq(llm_parse_retry_after(" 7", 1), -1);	/* bounded */
	ck_assert_int_eq(llm_retry_wait_ms(-1, 0), 250);
	ck_assert_int_eq(llm_retry_wait_ms(-1, 3), 2000);
	ck_assert(llm_retry_wait_ms(-1, 1000) > 0);
	ck_assert_int_eq(llm_retry_wait_ms(LLM_RETRY_AFTER_MAX, 0),
	    LLM_RETRY_AFTER_MAX * 1000);
}
END_TEST

/* Issue 8, finding 9: the stderr sent back is valid UTF-8, cut on a
 * character boundary. */
START_TEST(test_repair_tail)
{
	char	in[64], *t;

	/* "é" is c3 a9: cutting 3 bytes from "aéé" must not start on a9. */
	t = task_tail("a\xc3\xa9\xc3\xa9", 5, 3);
	ck_assert_str_eq(t, "\xc3\xa9");
	free(t);
	t = task_tail("ok \xff\xfe end", 9, 100);
	ck_assert(envelope_utf8_valid(t, strlen(t)));
	ck_assert_str_eq(t, "ok \xef\xbf\xbd\xef\xbf\xbd end");
	free(t);
	memset(in, 'x', sizeof(in));
	in[10] = '\0';
	t = task_tail(in, sizeof(in), 100);
	ck_assert_uint_eq(strlen(t), sizeof(in));	/* NUL kept out */
	free(t);
	t = task_tail("\xe2\x82\xac\xe2\x82\xac", 6, 4);
	ck_assert_str_eq(t, "\xe2\x82\xac");
	free(t);
}
END_TEST

static Suite *
extract_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("extract", "core", &tc);

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_whole_json);
	tcase_add_test(tc, test_json_in_prose);
	tcase_add_test(tc, test_json_without_code_then_fence);
	tcase_add_test(tc, test_python_fence_first_of_several);
	tcase_add_test(tc, test_bare_fence);
	tcase_add_test(tc, test_no_code);
	tcase_add_test(tc, test_review);
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_generate_validation);
	tcase_add_test(tc, test_llm_budget);
	tcase_add_test(tc, test_repair_tail);
	return s;
}

CHECK_MAIN(extract_suite(), CK_FORK_GETENV)
