/* Unit tests: the envelope, UUIDs, UTF-8 handling, cgroup v1/v2 helpers. */
#include "config.h"

#include <check.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "base.h"
#include "sandbox.h"

START_TEST(test_uuid4)
{
	char	a[UUID_STR_LEN], b[UUID_STR_LEN];
	regex_t	re;

	ck_assert_int_eq(regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
	    "[89ab][0-9a-f]{3}-[0-9a-f]{12}$", REG_EXTENDED | REG_NOSUB), 0);
	envelope_uuid4(a);
	envelope_uuid4(b);
	ck_assert_int_eq(regexec(&re, a, 0, NULL, 0), 0);
	ck_assert_int_eq(regexec(&re, b, 0, NULL, 0), 0);
	ck_assert_str_ne(a, b);
	regfree(&re);
}
END_TEST

START_TEST(test_utf8_valid)
{
	ck_assert(envelope_utf8_valid("hello", 5));
	ck_assert(envelope_utf8_valid("h\xc3\xa9llo", 6));
	ck_assert(envelope_utf8_valid("\xf0\x9f\x98\x80", 4));
	ck_assert(!envelope_utf8_valid("\xff", 1));
	ck_assert(!envelope_utf8_valid("\xc0\xaf", 2));		/* overlong */
	ck_assert(!envelope_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	ck_assert(!envelope_utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	ck_assert(!envelope_utf8_valid("\xe2\x82", 2));		/* truncated */
}
END_TEST

START_TEST(test_utf8_sanitize)
{
	size_t	 n;
	char	*s = envelope_utf8_sanitize("ok\xff\xfe\n", 5, &n);

	ck_assert_str_eq(s, "ok\xef\xbf\xbd\xef\xbf\xbd\n");
	ck_assert_uint_eq(n, 9);
	ck_assert(envelope_utf8_valid(s, n));
	free(s);
	s = envelope_utf8_sanitize("a\0b", 3, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(s, "a\0b", 3) == 0);
	free(s);
	s = envelope_utf8_sanitize("\xe2\x82", 2, &n);	/* cut mid-character */
	ck_assert_str_eq(s, "\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}
END_TEST

START_TEST(test_error_envelope)
{
	char			*s = envelope_error("11111111-1111-4111-8111-111111111111",
				    "invalid_request", "timeout: bad \xff");
	struct json_object	*o = json_tokener_parse(s), *v, *arr, *it;

	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "error");
	ck_assert(json_object_object_get_ex(o, "invocationId", &v));
	ck_assert_str_eq(json_object_get_string(v),
	    "11111111-1111-4111-8111-111111111111");
	ck_assert(json_object_object_get_ex(o, "response", &arr));
	ck_assert_int_eq(json_object_array_length(arr), 1);
	it = json_object_array_get_idx(arr, 0);
	ck_assert(json_object_object_get_ex(it, "type", &v));
	ck_assert_str_eq(json_object_get_string(v), "error");
	ck_assert(json_object_object_get_ex(it, "code", &v));
	ck_assert_str_eq(json_object_get_string(v), "invalid_request");
	ck_assert(json_object_object_get_ex(it, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), "timeout: bad \xef\xbf\xbd");
	json_object_put(o);
	free(s);
}
END_TEST

START_TEST(test_error_codes)
{
	ck_assert_str_eq(envelope_error_code(400), "invalid_request");
	ck_assert_str_eq(envelope_error_code(401), "unauthorized");
	ck_assert_str_eq(envelope_error_code(404), "not_found");
	ck_assert_str_eq(envelope_error_code(405), "method_not_allowed");
	ck_assert_str_eq(envelope_error_code(413), "payload_too_large");
	ck_assert_str_eq(envelope_error_code(429), "rate_limited");
	ck_assert_str_eq(envelope_error_code(500), "internal_error");
	ck_assert_str_eq(envelope_error_code(503), "service_unavailable");
}
END_TEST

START_TEST(test_cgroup_knobs)
{
	ck_assert_str_eq(sb_knob_describe(SB_CGROUP_V1, SB_KNOB_MEM_LIMIT)->file,
	    "memory.limit_in_bytes");
	ck_assert_str_eq(sb_knob_describe(SB_CGROUP_V1, SB_KNOB_CPU_USAGE)->controller,
	    "cpuacct");
	ck_assert_str_eq(sb_knob_describe(SB_CGROUP_V2, SB_KNOB_MEM_LIMIT)->file,
	    "memory.max");
	ck_assert_str_eq(sb_knob_describe(SB_CGROUP_V2, SB_KNOB_SWAP_LIMIT)->file,
	    "memory.swap.max");
	ck_assert_str_eq(sb_knob_describe(SB_CGROUP_V2, SB_KNOB_MEM_PEAK)->file,
	    "memory.peak");
	ck_assert_str_eq(sb_knob_describe(SB_CGROUP_V2, SB_KNOB_OOM)->file,
	    "memory.events");
	ck_assert_str_eq(sb_knob_describe(SB_CGROUP_V2, SB_KNOB_CPU_QUOTA)->file,
	    "cpu.max");
	ck_assert_ptr_null(sb_knob_describe(SB_CGROUP_V2, SB_KNOB_PIDS_MAX)->controller);
	ck_assert(!sb_knob_describe(SB_CGROUP_V1, SB_KNOB_PIDS_MAX)->worker_writes);
	ck_assert_ptr_null(sb_knob_describe(SB_CGROUP_V1, SB_KNOB_MAX));
}
END_TEST

START_TEST(test_cgroup_cpu_format)
{
	char	buf[64];

	ck_assert_int_eq(sb_cgroup_format_cpu(SB_CGROUP_V1, 1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "10000");
	ck_assert_int_eq(sb_cgroup_format_cpu(SB_CGROUP_V1, 0.5, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "5000");
	ck_assert_int_eq(sb_cgroup_format_cpu(SB_CGROUP_V2, 2, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "20000 10000");
	ck_assert_int_eq(sb_cgroup_format_cpu(SB_CGROUP_V2, 0.001, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1000 10000");
	/* no limit: the OOM grace of run.c */
	ck_assert_int_eq(sb_cgroup_format_cpu(SB_CGROUP_V1, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "-1");
	ck_assert_int_eq(sb_cgroup_format_cpu(SB_CGROUP_V2, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "max 10000");
}
END_TEST

START_TEST(test_cgroup_parse)
{
	uint64_t	v;

	ck_assert_int_eq(sb_cgroup_parse_oom(SB_CGROUP_V1,
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(sb_cgroup_parse_oom(SB_CGROUP_V2,
	    "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n", &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(sb_cgroup_parse_oom(SB_CGROUP_V1, "under_oom 0\n", &v), -1);
	ck_assert_int_eq(sb_cgroup_parse_cpu_usage(SB_CGROUP_V1, "123456789\n", &v), 0);
	ck_assert_uint_eq(v, 123456789);
	ck_assert_int_eq(sb_cgroup_parse_cpu_usage(SB_CGROUP_V2,
	    "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n", &v), 0);
	ck_assert_uint_eq(v, 1500000);
	ck_assert_int_eq(sb_cgroup_parse_cpu_usage(SB_CGROUP_V2, "user_usec 1\n", &v), -1);
}
END_TEST

static Suite *
envelope_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("envelope", "core", &tc);

	tcase_add_test(tc, test_uuid4);
	tcase_add_test(tc, test_utf8_valid);
	tcase_add_test(tc, test_utf8_sanitize);
	tcase_add_test(tc, test_error_envelope);
	tcase_add_test(tc, test_error_codes);
	tcase_add_test(tc, test_cgroup_knobs);
	tcase_add_test(tc, test_cgroup_cpu_format);
	tcase_add_test(tc, test_cgroup_parse);
	return s;
}

CHECK_MAIN(envelope_suite(), CK_FORK_GETENV)
