/*
 * Unit tests: what a notebook cell showed, checked again (display.c): the
 * runner's items as it makes them pass whole; each forged or oversized
 * part drops its item, never the others; the caps are the runner's.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "check_main.h"

/* display_items() of text, as JSON text ("" for NULL). */
static char *
shown(const char *text)
{
	struct json_object	*in = json_tokener_parse(text), *out;
	char			*s;

	ck_assert_ptr_nonnull(in);
	out = display_items(in);
	s = strdup(out != NULL ? json_object_to_json_string_ext(out,
	    JSON_C_TO_STRING_PLAIN) : "");
	json_object_put(out);
	json_object_put(in);
	return s;
}

#define TABLE	"{\"columns\":[\"a\",\"b\"],\"dtypes\":[\"float64\",\"object\"]," \
		"\"shape\":[3,2],\"index\":[\"0\",\"1\"],\"rows\":[[1.5,\"x\"]," \
		"[null,\"y\"]],\"cut\":true}"

START_TEST(test_as_the_runner_makes_them)
{
	char	*s = shown("[{\"value\":\"42\",\"from\":\"out\"},"
		    "{\"value\":\"'a'\",\"from\":\"display\",\"cut\":false},"
		    "{\"value\":\"df\",\"from\":\"out\",\"table\":" TABLE "}]");

	ck_assert_str_eq(s, "[{\"value\":\"42\",\"from\":\"out\",\"cut\":false},"
	    "{\"value\":\"'a'\",\"from\":\"display\",\"cut\":false},"
	    "{\"value\":\"df\",\"from\":\"out\",\"cut\":false,\"table\":"
	    "{\"columns\":[\"a\",\"b\"],\"dtypes\":[\"float64\",\"object\"],"
	    "\"shape\":[3,2],\"index\":[\"0\",\"1\"],\"rows\":[[1.5,\"x\"],"
	    "[null,\"y\"]],\"cut\":true}}]");
	free(s);
}
END_TEST

/* Each bad item is dropped; the good one between them stays. */
static const char *const forged[] = {
	"{\"value\":5,\"from\":\"out\"}",
	"{\"value\":\"x\",\"from\":\"elsewhere\"}",
	"{\"value\":\"x\",\"from\":\"out\",\"cut\":\"yes\"}",
	"{\"value\":\"x\",\"from\":\"out\",\"table\":{\"columns\":[\"a\"],"
	    "\"dtypes\":[\"i\"],\"shape\":[1,1],\"index\":[\"0\"],"
	    "\"rows\":[[1,2]]}}",			/* a row too long */
	"{\"value\":\"x\",\"from\":\"out\",\"table\":{\"columns\":[\"a\"],"
	    "\"dtypes\":[],\"shape\":[1,1],\"index\":[],\"rows\":[]}}",
	"{\"value\":\"x\",\"from\":\"out\",\"table\":{\"columns\":[\"a\"],"
	    "\"dtypes\":[\"i\"],\"shape\":[-1,1],\"index\":[],\"rows\":[]}}",
	"{\"value\":\"x\",\"from\":\"out\",\"table\":{\"columns\":[\"a\"],"
	    "\"dtypes\":[\"i\"],\"shape\":[1,1],\"index\":[\"0\",\"1\"],"
	    "\"rows\":[[1]]}}",			/* index and rows differ */
	"{\"value\":\"x\",\"from\":\"out\",\"table\":[]}",
	"[\"not an item\"]",
};

START_TEST(test_forged)
{
	char	 text[1024], *s;

	snprintf(text, sizeof(text), "[%s,{\"value\":\"kept\",\"from\":"
	    "\"display\"}]", forged[_i]);
	s = shown(text);
	ck_assert_str_eq(s, "[{\"value\":\"kept\",\"from\":\"display\","
	    "\"cut\":false}]");
	free(s);
}
END_TEST

START_TEST(test_caps)
{
	struct json_object	*a = json_object_new_array(), *it, *out, *t;
	char			*big;
	unsigned		 i;

	/* 60 items: the first 50 are kept. */
	for (i = 0; i < 60; i++) {
		it = json_object_new_object();
		json_object_object_add(it, "value", json_object_new_string("v"));
		json_object_object_add(it, "from", json_object_new_string("display"));
		json_object_array_add(a, it);
	}
	out = display_items(a);
	ck_assert_uint_eq(json_object_array_length(out), 50);
	json_object_put(out);
	json_object_put(a);
	/* A value past 10000 characters of UTF-8, a table past 20 rows. */
	big = malloc(40002);
	memset(big, 'x', 40001);
	big[40001] = '\0';
	a = json_object_new_array();
	it = json_object_new_object();
	json_object_object_add(it, "value", json_object_new_string(big));
	json_object_object_add(it, "from", json_object_new_string("out"));
	json_object_array_add(a, it);
	ck_assert_ptr_null(display_items(a));
	json_object_put(a);
	/* A text cell past 1000 characters of UTF-8 drops its table's item. */
	a = json_object_new_array();
	it = json_object_new_object();
	json_object_object_add(it, "value", json_object_new_string("t"));
	json_object_object_add(it, "from", json_object_new_string("out"));
	t = json_tokener_parse("{\"columns\":[\"a\"],\"dtypes\":[\"o\"],"
	    "\"shape\":[1,1],\"index\":[\"0\"],\"rows\":[[null]]}");
	big[4001] = '\0';
	json_object_array_put_idx(json_object_array_get_idx(
	    json_object_object_get(t, "rows"), 0), 0, json_object_new_string(big));
	json_object_object_add(it, "table", t);
	json_object_array_add(a, it);
	ck_assert_ptr_null(display_items(a));
	big[4000] = '\0';		/* 4000 bytes: the most a cell may have */
	json_object_array_put_idx(json_object_array_get_idx(
	    json_object_object_get(t, "rows"), 0), 0, json_object_new_string(big));
	out = display_items(a);
	ck_assert_ptr_nonnull(out);
	json_object_put(out);
	json_object_put(a);
	free(big);
	t = json_tokener_parse("{\"columns\":[\"a\"],\"dtypes\":[\"i\"],"
	    "\"shape\":[21,1],\"index\":[],\"rows\":[]}");
	a = json_object_new_array();
	it = json_object_new_object();
	json_object_object_add(it, "value", json_object_new_string("t"));
	json_object_object_add(it, "from", json_object_new_string("out"));
	json_object_object_add(it, "table", t);
	json_object_array_add(a, it);
	for (i = 0; i < 21; i++) {
		json_object_array_add(json_object_object_get(t, "index"),
		    json_object_new_string("i"));
		json_object_array_add(json_object_object_get(t, "rows"),
		    json_tokener_parse("[1]"));
	}
	ck_assert_ptr_null(display_items(a));
	json_object_put(a);
}
END_TEST

static Suite *
display_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("display", "core", &tc);

	tcase_add_test(tc, test_as_the_runner_makes_them);
	tcase_add_loop_test(tc, test_forged, 0,
	    (int)(sizeof(forged) / sizeof(forged[0])));
	tcase_add_test(tc, test_caps);
	return s;
}

CHECK_MAIN(display_suite(), CK_FORK_GETENV)
