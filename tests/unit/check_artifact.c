/*
 * Unit tests: artifact.c, the worker's second look at what a run sent
 * after its report (names, mime types, strict base64, PNG headers, plotly
 * specs, the caps, forged and malformed items).
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "core.h"
#include "sandbox.h"

/* A 1x1 PNG's first 33 bytes (signature, IHDR), with width w, height h. */
static size_t
png_head(unsigned char *b, unsigned w, unsigned h)
{
	static const unsigned char head[] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };

	memcpy(b, head, sizeof(head));
	b[16] = w >> 24; b[17] = w >> 16; b[18] = w >> 8; b[19] = w;
	b[20] = h >> 24; b[21] = h >> 16; b[22] = h >> 8; b[23] = h;
	memset(b + 24, 0, 9);
	b[24] = 8; b[25] = 6;
	return 33;
}

static char *
b64(const unsigned char *p, size_t len)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	char	*s = malloc((len + 2) / 3 * 4 + 1), *o = s;
	size_t	 i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < len; i += 3) {
		unsigned v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) |
		    (i + 2 < len ? p[i + 2] : 0);
		*o++ = t[v >> 18 & 63];
		*o++ = t[v >> 12 & 63];
		*o++ = i + 1 < len ? t[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? t[v & 63] : '=';
	}
	*o = '\0';
	return s;
}

static struct run_params caps = { .art_total = 100, .art_item = 60,
	.art_count = 3 };

/* artifact_items() of wire as one compact JSON text ("" for NULL). */
static char *
items(const char *wire)
{
	struct json_object	*a = artifact_items(wire, strlen(wire), &caps);
	char			*s = strdup(a == NULL ? "" : json_object_to_json_string_ext(a,
				    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(a);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Whether the items of wire contain needle. */
static bool
items_have(const char *wire, const char *needle)
{
	char	*got = items(wire);
	bool	 yes = strstr(got, needle) != NULL;

	free(got);
	return yes;
}

#define ITEMS_EQ(wire, want) do {					\
	char *got_ = items(wire);					\
	ck_assert_str_eq(got_, want);					\
	free(got_);							\
} while (0)

START_TEST(test_mime)
{
	ck_assert_str_eq(artifact_mime("a.png"), "image/png");
	ck_assert_str_eq(artifact_mime("A.PNG"), "image/png");
	ck_assert_str_eq(artifact_mime("t.csv"), "text/csv");
	ck_assert_str_eq(artifact_mime("x.tar.gz"), "application/gzip");
	ck_assert_str_eq(artifact_mime("page.html"), "text/html");
	ck_assert_str_eq(artifact_mime("noext"), "application/octet-stream");
	ck_assert_str_eq(artifact_mime("trailing."), "application/octet-stream");
	ck_assert_str_eq(artifact_mime(".png.exe"), "application/octet-stream");
	ck_assert_str_eq(artifact_mime(""), "application/octet-stream");
}
END_TEST

START_TEST(test_names)
{
	char	long_name[300];

	ck_assert(artifact_name_ok("a.csv", 5));
	ck_assert(artifact_name_ok("\xc3\xa9t\xc3\xa9 1.png", 11));
	ck_assert(artifact_name_ok(".hidden", 7));
	ck_assert(!artifact_name_ok("", 0));
	ck_assert(!artifact_name_ok("..", 2));
	ck_assert(!artifact_name_ok("a..b", 4));	/* refused, documented */
	ck_assert(!artifact_name_ok("a/b", 3));
	ck_assert(!artifact_name_ok("/etc", 4));
	ck_assert(!artifact_name_ok("a\nb", 3));
	ck_assert(!artifact_name_ok("a\tb", 3));
	ck_assert(!artifact_name_ok("a\x7f", 2));
	ck_assert(!artifact_name_ok("\xff\xfe", 2));	/* not UTF-8 */
	ck_assert(!artifact_name_ok("a\0b", 3));	/* a NUL inside */
	ck_assert(!artifact_name_ok("a\xc2\x85", 3));	/* C1: NEL */
	/* "invoice<U+202E>txt.exe" shows as "invoiceexe.txt" */
	ck_assert(!artifact_name_ok("invoice\xe2\x80\xaetxt.exe", 17));
	ck_assert(!artifact_name_ok("a\xe2\x80\x8b", 4));	/* U+200B */
	ck_assert(!artifact_name_ok("\xef\xbb\xbf" "a", 4));	/* U+FEFF */
	ck_assert(!artifact_name_ok("a\xc2\xad", 3));	/* U+00AD */
	ck_assert(!artifact_name_ok("a\xe2\x80\xa8", 4));	/* U+2028 */
	ck_assert(!artifact_name_ok("a\xf3\xa0\x80\x81", 5));	/* U+E0001 */
	ck_assert(!artifact_name_ok("a\xf3\xa0\x81\xbf", 5));	/* U+E007F */
	/* neighbours that are shown: U+2065 (unassigned), U+00AE, U+FEFE */
	ck_assert(artifact_name_ok("a\xe2\x81\xa5", 4));
	ck_assert(artifact_name_ok("a\xc2\xae", 3));
	ck_assert(artifact_name_ok("\xef\xbb\xbe" "a", 4));
	memset(long_name, 'x', sizeof(long_name));
	long_name[255] = '\0';
	ck_assert(artifact_name_ok(long_name, 255));
	long_name[255] = 'x';
	long_name[256] = '\0';
	ck_assert(!artifact_name_ok(long_name, 256));
}
END_TEST

/* The table is Python's (scripts/gen-unicode-table): its bounds, and
 * every code point of the categories it names, spot-checked. */
START_TEST(test_unicode_table)
{
	static const uint32_t in[] = { 0xad, 0x600, 0x605, 0x61c, 0x6dd, 0x70f,
	    0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029,
	    0x202a, 0x202e, 0x2060, 0x2064, 0x2066, 0x2069, 0x206f, 0xfeff,
	    0xfff9, 0xfffb, 0x110bd, 0x13430, 0x1d173, 0xe0001, 0xe0020,
	    0xe007f };
	static const uint32_t out[] = { 0, 'a', 0x20, 0xac, 0xae, 0x5ff, 0x606,
	    0x180d, 0x180f, 0x200a, 0x2010, 0x2027, 0x202f, 0x205f, 0x2065,
	    0x2070, 0xfefe, 0xff00, 0xfff8, 0xfffc, 0xe0000, 0xe0002, 0xe001f,
	    0xe0080, 0x10ffff };
	uint32_t	cp = 0;
	size_t		i;

	ck_assert_str_eq(unicode_table_version, "14.0.0");
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_msg(unicode_is_format(in[i]), "U+%04X", in[i]);
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		ck_assert_msg(!unicode_is_format(out[i]), "U+%04X", out[i]);
	ck_assert_int_eq(unicode_name_hidden("abc", 3, &cp), UNICODE_SHOWN);
	ck_assert_int_eq(unicode_name_hidden("a\x7f", 2, &cp), UNICODE_CONTROL);
	ck_assert_uint_eq(cp, 0x7f);
	ck_assert_int_eq(unicode_name_hidden("\xc3\xa9\xe2\x81\xa6", 5, &cp),
	    UNICODE_FORMAT);
	ck_assert_uint_eq(cp, 0x2066);
}
END_TEST

START_TEST(test_b64)
{
	static const struct { const char *in, *out; size_t n; } ok[] = {
		{ "", "", 0 }, { "QQ==", "A", 1 }, { "QUI=", "AB", 2 },
		{ "QUJD", "ABC", 3 }, { "AAEC/w==", "\x00\x01\x02\xff", 4 },
		{ "+/+/", "\xfb\xff\xbf", 3 },
	};
	static const char *const bad[] = { "Q", "QQ=", "QQ", "Q===", "====",
	    "QQ=A", "=QQQ", "QU I", "QU\nI", "QU-_", "QUJD\n", "QQ==QQ==",
	    "Zm9v YmFy", "QUJ\0", };
	unsigned char	*p;
	size_t		 i, n;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		p = artifact_b64_decode(ok[i].in, strlen(ok[i].in), &n);
		ck_assert_msg(p != NULL, "%s refused", ok[i].in);
		ck_assert_uint_eq(n, ok[i].n);
		ck_assert(memcmp(p, ok[i].out, n) == 0);
		free(p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = artifact_b64_decode(bad[i], i + 1 == sizeof(bad) /
		    sizeof(bad[0]) ? 4 : strlen(bad[i]), &n);
		ck_assert_msg(p == NULL, "%s taken", bad[i]);
	}
}
END_TEST

/* A good PNG: its width and height are the IHDR's, not the runner's. */
START_TEST(test_image)
{
	unsigned char	 png[64];
	size_t		 n = png_head(png, 800, 600);
	char		*d = b64(png, n), wire[512], want[512];

	snprintf(wire, sizeof(wire), "[{\"type\": \"image\", \"name\": "
	    "\"figure-1.png\", \"size\": %zu, \"data\": \"%s\", \"width\": 1, "
	    "\"height\": 2}]", n, d);
	snprintf(want, sizeof(want), "[{\"type\":\"image\",\"name\":"
	    "\"figure-1.png\",\"mime\":\"image/png\",\"size\":%zu,\"width\":800,"
	    "\"height\":600,\"truncated\":false,\"data\":\"%s\"}]", n, d);
	ITEMS_EQ(wire, want);
	/* not a PNG, a zero width, the size lied about: truncated "invalid" */
	snprintf(wire, sizeof(wire), "[{\"type\": \"image\", \"name\": \"f.png\", "
	    "\"size\": 3, \"data\": \"QUJD\"}]");
	ITEMS_EQ(wire, "[{\"type\":\"image\",\"name\":\"f.png\",\"mime\":"
	    "\"image/png\",\"size\":3,\"truncated\":true,\"reason\":\"invalid\"}]");
	free(d);
	n = png_head(png, 0, 600);
	d = b64(png, n);
	snprintf(wire, sizeof(wire), "[{\"type\": \"image\", \"name\": \"f.png\", "
	    "\"size\": %zu, \"data\": \"%s\"}]", n, d);
	ck_assert(items_have(wire, "\"reason\":\"invalid\""));
	snprintf(wire, sizeof(wire), "[{\"type\": \"image\", \"name\": \"f.png\", "
	    "\"size\": %zu, \"data\": \"%s\"}]", n + 1, d);
	ck_assert(items_have(wire, "\"reason\":\"invalid\""));
	free(d);
}
END_TEST

START_TEST(test_plotly_and_file)
{
	ITEMS_EQ("[{\"type\": \"plotly\", \"name\": \"figure-1.json\", \"size\": 11, "
	    "\"data\": \"eyJkYXRhIjpbXX0=\"}]",
	    "[{\"type\":\"plotly\",\"name\":\"figure-1.json\",\"mime\":"
	    "\"application/vnd.plotly.v1+json\",\"size\":11,\"truncated\":false,"
	    "\"data\":{\"data\":[]}}]");
	/* a spec that is not one JSON object: "[1]", "{} {}", "{'a': 1}" */
	ck_assert(items_have("[{\"type\": \"plotly\", \"name\": \"p.json\", "
	    "\"size\": 3, \"data\": \"WzFd\"}]", "\"reason\":\"invalid\""));
	ck_assert(items_have("[{\"type\": \"plotly\", \"name\": \"p.json\", "
	    "\"size\": 5, \"data\": \"e30ge30=\"}]", "\"reason\":\"invalid\""));
	ck_assert(items_have("[{\"type\": \"plotly\", \"name\": \"p.json\", "
	    "\"size\": 8, \"data\": \"eydhJzogMX0=\"}]", "\"reason\":\"invalid\""));
	/* a file: the mime is ours, from the extension */
	ITEMS_EQ("[{\"type\": \"file\", \"name\": \"t.csv\", \"size\": 3, \"data\": "
	    "\"QUJD\", \"mime\": \"text/html\"}]",
	    "[{\"type\":\"file\",\"name\":\"t.csv\",\"mime\":\"text/csv\",\"size\":3,"
	    "\"truncated\":false,\"data\":\"QUJD\"}]");
	/* truncated by the runner: kept as it said, with no data */
	ITEMS_EQ("[{\"type\": \"file\", \"name\": \"big.bin\", \"size\": 9999, "
	    "\"truncated\": true, \"reason\": \"size\"}]",
	    "[{\"type\":\"file\",\"name\":\"big.bin\",\"mime\":"
	    "\"application/octet-stream\",\"size\":9999,\"truncated\":true,"
	    "\"reason\":\"size\"}]");
	ITEMS_EQ("[{\"type\": \"file\", \"name\": null, \"size\": 1, "
	    "\"truncated\": true, \"reason\": \"name\"}]",
	    "[{\"type\":\"file\",\"name\":null,\"mime\":"
	    "\"application/octet-stream\",\"size\":1,\"truncated\":true,"
	    "\"reason\":\"name\"}]");
}
END_TEST

/* The worker's own caps (3 items with data, 60 bytes each, 100 in all),
 * whatever the runner claims. */
START_TEST(test_caps)
{
	char	*a = malloc(81), *d, *p, wire[1024];

	ck_assert_ptr_nonnull(a);
	memset(a, 'a', 80);
	d = b64((unsigned char *)a, 50);
	snprintf(wire, sizeof(wire), "[{\"type\": \"file\", \"name\": \"1\", "
	    "\"size\": 50, \"data\": \"%s\"}, {\"type\": \"file\", \"name\": "
	    "\"2\", \"size\": 50, \"data\": \"%s\"}, {\"type\": \"file\", "
	    "\"name\": \"3\", \"size\": 50, \"data\": \"%s\"}]", d, d, d);
	free(d);
	d = items(wire);
	/* 50 + 50 = 100 fits; the third passes the total */
	ck_assert_ptr_nonnull(strstr(d, "\"name\":\"3\",\"mime\":"
	    "\"application/octet-stream\",\"size\":50,\"truncated\":true,"
	    "\"reason\":\"total\""));
	ck_assert_ptr_nonnull(p = strstr(d, "\"truncated\":false"));
	ck_assert_ptr_nonnull(p = strstr(p + 1, "\"truncated\":false"));
	ck_assert_ptr_null(strstr(p + 1, "\"truncated\":false"));
	free(d);
	d = b64((unsigned char *)a, 61);
	snprintf(wire, sizeof(wire), "[{\"type\": \"file\", \"name\": \"1\", "
	    "\"size\": 61, \"data\": \"%s\"}]", d);
	free(d);
	ck_assert(items_have(wire, "\"reason\":\"size\""));
	ITEMS_EQ("[{\"type\": \"file\", \"name\": \"1\", \"size\": 1, \"data\": "
	    "\"YQ==\"}, {\"type\": \"file\", \"name\": \"2\", \"size\": 1, \"data\": "
	    "\"YQ==\"}, {\"type\": \"file\", \"name\": \"3\", \"size\": 1, \"data\": "
	    "\"YQ==\"}, {\"type\": \"file\", \"name\": \"4\", \"size\": 1, \"data\": "
	    "\"YQ==\"}]",
	    "[{\"type\":\"file\",\"name\":\"1\",\"mime\":\"application/octet-stream\","
	    "\"size\":1,\"truncated\":false,\"data\":\"YQ==\"},{\"type\":\"file\","
	    "\"name\":\"2\",\"mime\":\"application/octet-stream\",\"size\":1,"
	    "\"truncated\":false,\"data\":\"YQ==\"},{\"type\":\"file\",\"name\":"
	    "\"3\",\"mime\":\"application/octet-stream\",\"size\":1,\"truncated\":"
	    "false,\"data\":\"YQ==\"},{\"type\":\"file\",\"name\":\"4\",\"mime\":"
	    "\"application/octet-stream\",\"size\":1,\"truncated\":true,"
	    "\"reason\":\"count\"}]");
	free(a);
}
END_TEST

/* What is not one of ours is counted, never shown; what is not an array
 * of ours at all gives no items. */
START_TEST(test_forged)
{
	ITEMS_EQ("", "");
	ITEMS_EQ("{}", "");
	ITEMS_EQ("[]", "");
	ITEMS_EQ("[1] x", "");
	ITEMS_EQ("[[[[[1]]]]]", "");			/* deeper than 4 */
	ITEMS_EQ("[{\"type\": \"file\", \"name\": \"a\", \"size\": NaN}]", "");
	ITEMS_EQ("[1, \"x\", {\"type\": \"exe\"}, {\"type\": \"file\", \"name\": "
	    "\"../x\", \"size\": 1, \"data\": \"YQ==\"}, {\"type\": \"file\", "
	    "\"name\": \"a\", \"size\": 1, \"data\": \"YQ==\", \"truncated\": true, "
	    "\"reason\": \"size\"}, {\"type\": \"file\", \"name\": \"a\", "
	    "\"truncated\": true, \"reason\": \"because\"}, {\"type\": \"file\", "
	    "\"name\": \"a\", \"size\": -1, \"data\": \"\"}, {\"type\": \"file\", "
	    "\"name\": \"a\\u0000b\", \"size\": 0, \"data\": \"\"}]",
	    "[{\"type\":\"omitted\",\"reason\":\"invalid\",\"count\":8,\"size\":null}]");
	/* the runner's own omitted counter, last only */
	ITEMS_EQ("[{\"type\": \"omitted\", \"count\": 5, \"size\": 10}]",
	    "[{\"type\":\"omitted\",\"reason\":\"count\",\"count\":5,\"size\":10}]");
	ITEMS_EQ("[{\"type\": \"omitted\", \"count\": 5, \"size\": 10}, "
	    "{\"type\": \"file\", \"name\": \"a\", \"size\": 0, \"data\": \"\"}]",
	    "[{\"type\":\"file\",\"name\":\"a\",\"mime\":\"application/octet-stream\","
	    "\"size\":0,\"truncated\":false,\"data\":\"\"},{\"type\":\"omitted\","
	    "\"reason\":\"invalid\",\"count\":1,\"size\":null}]");
}
END_TEST

/* More than 100 items and the omitted one: the rest are invalid. */
START_TEST(test_list_cap)
{
	char	*wire = malloc(200 * 64), *p = wire, *got;
	int	 i;

	ck_assert_ptr_nonnull(wire);
	*p++ = '[';
	for (i = 0; i < 150; i++)
		p += sprintf(p, "%s{\"type\": \"file\", \"name\": \"f%d\", "
		    "\"size\": 9, \"truncated\": true, \"reason\": \"count\"}",
		    i ? ", " : "", i);
	strcpy(p, "]");
	got = items(wire);
	ck_assert_ptr_nonnull(strstr(got, "\"name\":\"f100\""));
	ck_assert_ptr_null(strstr(got, "\"name\":\"f101\""));
	ck_assert_ptr_nonnull(strstr(got, "{\"type\":\"omitted\",\"reason\":"
	    "\"invalid\",\"count\":49,\"size\":null}]"));
	free(got);
	free(wire);
}
END_TEST

static Suite *
artifact_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("artifact", "core", &tc);

	tcase_add_test(tc, test_mime);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_unicode_table);
	tcase_add_test(tc, test_b64);
	tcase_add_test(tc, test_image);
	tcase_add_test(tc, test_plotly_and_file);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_forged);
	tcase_add_test(tc, test_list_cap);
	return s;
}

CHECK_MAIN(artifact_suite(), CK_FORK_GETENV)
