/*
 * Unit tests: the one JSON gate (jsonstrict.c's json_strict_scan): each
 * kind of bad text with the fault and offset it is named by, the order in
 * which faults outrank one another, duplicate keys at every depth with
 * their path and json-c's decoding of keys (the words a request is
 * answered with are check_request.c's test_gate_words).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "check_main.h"

struct gate_case {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	int		 depth;
	unsigned	 flags;
	enum json_fault	 fault;
	size_t		 at;
	const char	*why;		/* NULL: not compared */
};

#define T	JS_TEXT
#define TF	(JS_TEXT | JS_FINITE)

static const struct gate_case gate_cases[] = {
	/* NUL bytes: raw in a string, before the text, after a fault. */
	{ "{\"a\":\"x\0y\"}", 11, 32, T, JSON_NUL, 7, "NUL byte at byte 7" },
	{ "\0{}", 3, 32, T, JSON_NUL, 0, NULL },
	{ "{\"a\":1} \0", 9, 32, T, JSON_NUL, 8, NULL },
	{ "{\"a\":\"\xff\",\"b\":\"\0\"}", 17, 32, T, JSON_NUL, 14, NULL },
	{ "[[[\0", 4, 2, T, JSON_NUL, 3, NULL },
	/* UTF-8: overlong, encoded surrogate, past U+10FFFF, cut short,
	 * outside a string, and after a grammar fault. */
	{ "{\"a\":\"\xc0\xaf\"}", 0, 32, T, JSON_UTF8, 6, "invalid UTF-8 at byte 6" },
	{ "{\"a\":\"\xe0\x80\xaf\"}", 0, 32, T, JSON_UTF8, 6, NULL },
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, 32, T, JSON_UTF8, 6, NULL },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, 32, T, JSON_UTF8, 6, NULL },
	{ "{\"a\":\"\xe2\x82\"}", 0, 32, T, JSON_UTF8, 6, NULL },
	{ "{\"a\":\xff}", 0, 32, T, JSON_UTF8, 5, NULL },
	{ "{\"a\":NaN,\"b\":\"\xff\"}", 0, 32, T, JSON_UTF8, 14, NULL },
	{ "[[[\xff", 0, 2, T, JSON_UTF8, 3, NULL },
	{ "{\"a\":\"\xf0\x9f\x98\x80\xc3\xa9\"}", 0, 32, T, JSON_OK, 0, NULL },
	/* Without JS_TEXT the grammar alone (json_strict_check). */
	{ "\"\xff\"", 0, 32, 0, JSON_OK, 0, NULL },
	{ "\"a\0\"", 4, 32, 0, JSON_SYNTAX, 2, "raw control character in a "
	    "string (escape it) at byte 2" },
	/* A byte-order mark is no JSON (RFC 8259 8.1: not to be added). */
	{ "\xef\xbb\xbf{}", 0, 32, T, JSON_SYNTAX, 0, "unexpected character at byte 0" },
	/* Escapes: a lone surrogate is taken (json-c makes it U+FFFD). */
	{ "{\"a\":\"\\ud800\"}", 0, 32, T, JSON_OK, 0, NULL },
	{ "{\"a\":\"\\udc00\\ud800\"}", 0, 32, T, JSON_OK, 0, NULL },
	{ "{\"a\":\"\\u0000\"}", 0, 32, T, JSON_OK, 0, NULL },
	{ "{\"a\":\"\\x\"}", 0, 32, T, JSON_SYNTAX, 7, "bad escape in a string at byte 7" },
	{ "{\"a\":\"\\u12\"}", 0, 32, T, JSON_SYNTAX, 10, "bad \\u escape at byte 10" },
	{ "\"a\\", 0, 32, T, JSON_SYNTAX, 3, "unterminated string at byte 3" },
	{ "\"a\tb\"", 0, 32, T, JSON_SYNTAX, 2, NULL },
	/* The grammar. */
	{ "", 0, 32, T, JSON_SYNTAX, 0, "unexpected end at byte 0" },
	{ " \n", 0, 32, T, JSON_SYNTAX, 2, "unexpected end at byte 2" },
	{ "{\"a\":1} x", 0, 32, T, JSON_SYNTAX, 8, "trailing data at byte 8" },
	{ "{\"a\":1}{\"b\":2}", 0, 32, T, JSON_SYNTAX, 7, "trailing data at byte 7" },
	{ "{\"a\":1,}", 0, 32, T, JSON_SYNTAX, 7, "expected a key at byte 7" },
	{ "{\"a\" 1}", 0, 32, T, JSON_SYNTAX, 5, "expected ':' at byte 5" },
	{ "{\"a\":}", 0, 32, T, JSON_SYNTAX, 5, "unexpected character at byte 5" },
	{ "[1,]", 0, 32, T, JSON_SYNTAX, 3, "unexpected character at byte 3" },
	{ "[1 2]", 0, 32, T, JSON_SYNTAX, 3, "expected ',' or a closing bracket at byte 3" },
	{ "[1}", 0, 32, T, JSON_SYNTAX, 2, NULL },
	{ "{'a':1}", 0, 32, T, JSON_SYNTAX, 1, "single-quoted string (JSON "
	    "strings use \") at byte 1" },
	{ "{\"a\":NaN}", 0, 32, T, JSON_SYNTAX, 5, "NaN or Infinity (not JSON) at byte 5" },
	{ "[-Infinity]", 0, 32, T, JSON_SYNTAX, 1, NULL },
	{ "01", 0, 32, T, JSON_SYNTAX, 1, "trailing data at byte 1" },
	{ "[-]", 0, 32, T, JSON_SYNTAX, 2, "invalid number at byte 2" },
	{ "[1.]", 0, 32, T, JSON_SYNTAX, 3, NULL },
	{ "[1e+]", 0, 32, T, JSON_SYNTAX, 4, NULL },
	{ "tru", 0, 32, T, JSON_SYNTAX, 0, NULL },
	{ " {\"a\":[1,2,{\"c\":{}}],\"b\":[]} ", 0, 32, T, JSON_OK, 0, NULL },
	{ "-0.5e-3", 0, 32, T, JSON_OK, 0, NULL },
	/* Depth: max_depth containers, not one more. */
	{ "[[]]", 0, 2, T, JSON_OK, 0, NULL },
	{ "[[[]]]", 0, 2, T, JSON_DEPTH, 2, "nested too deeply at byte 2" },
	{ "{\"a\":{\"b\":{}}}", 0, 2, T, JSON_DEPTH, 10, NULL },
	/* Numbers: finite only when asked. */
	{ "[1e999]", 0, 32, TF, JSON_RANGE, 1, "number out of range (not a "
	    "finite double) at byte 1" },
	{ "[1e999]", 0, 32, T, JSON_OK, 0, NULL },
	{ "[-1e400, 1]", 0, 32, TF, JSON_RANGE, 1, NULL },
	{ "[1.5e308]", 0, 32, TF, JSON_OK, 0, NULL },
	/* A range fault is still outranked by a later NUL. */
	{ "[1e999,\"\0\"]", 11, 32, TF, JSON_NUL, 8, NULL },
};

START_TEST(test_gate_table)
{
	const struct gate_case	*c = &gate_cases[_i];
	struct json_scan	 scan;
	size_t			 len = c->len ? c->len : strlen(c->text);
	enum json_fault		 f;

	f = json_strict_scan(c->text, len, c->depth, c->flags, NULL, NULL,
	    &scan);
	ck_assert_msg(f == c->fault && scan.fault == c->fault,
	    "case %d: fault %d, want %d (%s)", _i, f, c->fault, scan.why);
	if (f != JSON_OK)
		ck_assert_msg(scan.at == c->at, "case %d: at %zu, want %zu (%s)",
		    _i, scan.at, c->at, scan.why);
	if (c->why != NULL)
		ck_assert_str_eq(scan.why, c->why);
}
END_TEST

/* ---- duplicate keys ---------------------------------------------------- */

struct seen {
	int	n, stop_after;
	int	depth;
	char	key[64];
	char	path[128];	/* "files/1/x" */
};

static bool
seen_dup(void *arg, const struct json_dup *d)
{
	struct seen	*s = arg;
	size_t		 o = 0;
	int		 k;

	if (s->n++ == 0) {
		s->depth = d->depth;
		snprintf(s->key, sizeof(s->key), "%s", d->key);
		for (k = 0; k < d->depth - 1; k++) {
			if (d->path[k].key != NULL)
				o += (size_t)snprintf(s->path + o, sizeof(s->path) - o,
				    "%s%s", k ? "/" : "", d->path[k].key);
			else
				o += (size_t)snprintf(s->path + o, sizeof(s->path) - o,
				    "%s%zu", k ? "/" : "", d->path[k].index);
		}
	}
	return s->stop_after == 0 || s->n < s->stop_after;
}

static struct seen
dups(const char *text, int stop_after)
{
	struct seen		s;
	struct json_scan	scan;

	memset(&s, 0, sizeof(s));
	s.stop_after = stop_after;
	ck_assert_int_eq(json_strict_scan(text, strlen(text), 32, JS_TEXT,
	    seen_dup, &s, &scan), JSON_OK);
	return s;
}

START_TEST(test_dup_depths)
{
	struct seen	s;

	s = dups("{\"a\":1,\"b\":2,\"a\":3}", 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.depth, 1);
	ck_assert_str_eq(s.key, "a");
	ck_assert_str_eq(s.path, "");
	s = dups("{\"x\":{\"a\":1,\"a\":2}}", 0);
	ck_assert_int_eq(s.depth, 2);
	ck_assert_str_eq(s.path, "x");
	s = dups("{\"code\":\"1\",\"files\":[{},{\"n\":1,\"c\":\"\",\"n\":2}]}", 0);
	ck_assert_int_eq(s.depth, 3);
	ck_assert_str_eq(s.key, "n");
	ck_assert_str_eq(s.path, "files/1");
	/* Same keys in sibling or nested objects are not duplicates. */
	s = dups("[[{\"a\":1,\"b\":{\"a\":3},\"c\":[{\"a\":4},{\"a\":5}]}]]", 0);
	ck_assert_int_eq(s.n, 0);
	s = dups("[0,[1,{\"q\":{\"r\":[{\"z\":1,\"z\":2}]}}]]", 0);
	ck_assert_int_eq(s.depth, 6);
	ck_assert_str_eq(s.path, "1/1/q/r/0");
	/* Each one, in text order, until the callback stops. */
	s = dups("{\"a\":1,\"a\":2,\"b\":{\"c\":1,\"c\":2},\"b\":3}", 0);
	ck_assert_int_eq(s.n, 3);
	s = dups("{\"a\":1,\"a\":2,\"b\":{\"c\":1,\"c\":2},\"b\":3}", 1);
	ck_assert_int_eq(s.n, 1);
	s = dups("{\"\":1,\"\":2}", 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.key, "");
}
END_TEST

/* Keys are compared as json-c decodes them: escapes, surrogate pairs, a
 * lone surrogate as U+FFFD, and cut at a NUL (json-c's keys are C
 * strings).  Each pair is checked against json-c's own decoding too. */
START_TEST(test_dup_decoding)
{
	static const struct { const char *a, *b; bool same; } k[] = {
		{ "\\u0063ode", "code", true },
		{ "a\\u0000b", "a", true },
		{ "co\\u0000de", "code", false },
		{ "\\ud800", "\\udc00", true },
		{ "\\ud800", "\xef\xbf\xbd", true },
		{ "\\ud83d\\ude00", "\xf0\x9f\x98\x80", true },
		{ "\\ud800\\u0041", "\\ufffdA", true },
		{ "\\ud800\\ud800\\udc00", "\xef\xbf\xbd\xf0\x90\x80\x80", true },
		{ "\\ud800\\udc00", "\\ud800", false },
		{ "\\/", "/", true },
		{ "\\\"", "\\u0022", true },
		{ "\\\\u0041", "A", false },
		{ "\\b\\f\\n\\r\\t", "\\u0008\\u000c\\u000a\\u000d\\u0009", true },
		{ "\\u00e9", "\xc3\xa9", true },
		{ "a", "A", false },
	};
	char			 text[256];
	struct seen		 s;
	struct json_object	*ja, *jb;
	size_t			 i;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		snprintf(text, sizeof(text), "{\"%s\":1,\"%s\":2}", k[i].a, k[i].b);
		s = dups(text, 0);
		ck_assert_msg((s.n == 1) == k[i].same, "%s: %d", text, s.n);
		snprintf(text, sizeof(text), "\"%s\"", k[i].a);
		ja = json_tokener_parse(text);
		snprintf(text, sizeof(text), "\"%s\"", k[i].b);
		jb = json_tokener_parse(text);
		ck_assert(ja != NULL && jb != NULL);
		ck_assert_msg((strcmp(json_object_get_string(ja),
		    json_object_get_string(jb)) == 0) == k[i].same,
		    "json-c decodes %s and %s otherwise", k[i].a, k[i].b);
		json_object_put(ja);
		json_object_put(jb);
	}
}
END_TEST

/* Many keys (the table grows), one given twice at the very end. */
START_TEST(test_dup_wide)
{
	size_t		 cap = 20000 * 16, o = 0;
	char		*b = malloc(cap);
	struct seen	 s;
	int		 k;

	ck_assert_ptr_nonnull(b);
	o += (size_t)snprintf(b + o, cap - o, "{");
	for (k = 0; k < 20000; k++)
		o += (size_t)snprintf(b + o, cap - o, "\"k%d\":%d,", k, k);
	o += (size_t)snprintf(b + o, cap - o, "\"x\":0}");
	s = dups(b, 0);
	ck_assert_int_eq(s.n, 0);
	snprintf(b + o - 6, cap - o + 6, "\"k7\":0}");
	s = dups(b, 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.key, "k7");
	free(b);
}
END_TEST

/* json_strict_parse (a run's report, its artifacts): all or nothing. */
START_TEST(test_strict_parse)
{
	struct json_object	*o;

	o = json_strict_parse("{\"a\":[1,2]}", 11, 8, json_type_object);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	ck_assert_ptr_null(json_strict_parse("{\"a\":\"\0\"}", 9, 8,
	    json_type_object));
	ck_assert_ptr_null(json_strict_parse("{\"a\":\"\xff\"}", 9, 8,
	    json_type_object));
	ck_assert_ptr_null(json_strict_parse("{\"a\":1e999}", 11, 8,
	    json_type_object));
	ck_assert_ptr_null(json_strict_parse("[1]", 3, 8, json_type_object));
	ck_assert_ptr_null(json_strict_parse("[[1]]", 5, 1, json_type_array));
	/* Duplicate keys in a report are json-c's business, as before. */
	o = json_strict_parse("{\"a\":1,\"a\":2}", 13, 8, json_type_object);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
}
END_TEST

static Suite *
jsonstrict_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("jsonstrict", "gate", &tc);

	CHECK_LOOP(tc, test_gate_table, gate_cases);
	tcase_add_test(tc, test_dup_depths);
	tcase_add_test(tc, test_dup_decoding);
	tcase_add_test(tc, test_dup_wide);
	tcase_add_test(tc, test_strict_parse);
	return s;
}

CHECK_MAIN(jsonstrict_suite(), CK_FORK_GETENV)
