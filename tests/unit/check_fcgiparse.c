/*
 * Unit tests: the front's reading of a FastCGI header (fcgiparse.c):
 * records split at every byte, padded, in many PARAMS records, oversized,
 * multiplexed, truncated, of another version or an unknown type, empty,
 * and BEGIN_REQUEST out of place; the first of a param counts, as in
 * libfcgi; front_skip() to the end of STDIN.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fcgiparse.h"

#define BUF	(3 * FRONT_PEEK)

struct wire {
	unsigned char	 b[BUF];
	size_t		 n;
};

static unsigned char	params[BUF];

/* One record: version, type, id, content (clen bytes), pad bytes. */
static void
rec(struct wire *w, int version, int type, unsigned id, const void *p,
    size_t clen, size_t pad)
{
	unsigned char	h[8] = { (unsigned char)version, (unsigned char)type,
			    (unsigned char)(id >> 8), (unsigned char)id,
			    (unsigned char)(clen >> 8), (unsigned char)clen,
			    (unsigned char)pad, 0 };

	ck_assert_uint_le(w->n + 8 + clen + pad, BUF);
	memcpy(w->b + w->n, h, 8);
	if (clen > 0)
		memcpy(w->b + w->n + 8, p, clen);
	memset(w->b + w->n + 8 + clen, 0xee, pad);
	w->n += 8 + clen + pad;
}

static void
begin(struct wire *w, unsigned id, unsigned role, unsigned flags)
{
	unsigned char	b[8] = { (unsigned char)(role >> 8), (unsigned char)role,
			    (unsigned char)flags, 0, 0, 0, 0, 0 };

	rec(w, 1, FCGI_BEGIN, id, b, 8, 0);
}

/* A name-value pair, lengths of 1 or 4 bytes. */
static size_t
nv(unsigned char *o, const char *name, const char *val)
{
	size_t	nl = strlen(name), vl = strlen(val), i = 0, k;
	size_t	len[2] = { nl, vl };

	for (k = 0; k < 2; k++) {
		if (len[k] < 128)
			o[i++] = (unsigned char)len[k];
		else {
			o[i++] = (unsigned char)(0x80 | len[k] >> 24);
			o[i++] = (unsigned char)(len[k] >> 16);
			o[i++] = (unsigned char)(len[k] >> 8);
			o[i++] = (unsigned char)len[k];
		}
	}
	memcpy(o + i, name, nl);
	memcpy(o + i + nl, val, vl);
	return i + nl + vl;
}

/* nginx's params (nginx/pyexec.conf.in), a few of them. */
static size_t
nginx_params(unsigned char *o)
{
	size_t	n = 0;

	n += nv(o + n, "GATEWAY_INTERFACE", "CGI/1.1");
	n += nv(o + n, "REQUEST_METHOD", "GET");
	n += nv(o + n, "REQUEST_URI", "/metrics?x=1");
	n += nv(o + n, "DOCUMENT_URI", "/metrics");
	n += nv(o + n, "QUERY_STRING", "x=1");
	n += nv(o + n, "REMOTE_ADDR", "127.0.0.1");
	n += nv(o + n, "PYEXEC_REQUEST_ID",
	    "0b7c0d5e-6a0e-4d7b-9d3a-2f1e8b6c4a11");
	n += nv(o + n, "PYEXEC_KEY_VALID", "1");
	n += nv(o + n, "HTTP_USER_AGENT", "check");
	return n;
}

/* A whole nginx header: BEGIN, PARAMS split in records of at most step
 * bytes (each padded by pad), the empty PARAMS, then STDIN. */
static void
nginx_wire(struct wire *w, size_t step, size_t pad)
{
	unsigned char	p[4096];
	size_t		n = nginx_params(p), off, k;

	w->n = 0;
	begin(w, 1, FCGI_RESPONDER, 0);
	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		rec(w, 1, FCGI_PARAMS, 1, p + off, k, pad);
	}
	rec(w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	rec(w, 1, FCGI_STDIN, 1, NULL, 0, 0);
}

static void
check_nginx_req(const struct front_req *r)
{
	ck_assert_uint_eq(r->id, 1);
	ck_assert_str_eq(r->method, "GET");
	ck_assert_str_eq(r->path, "/metrics");
	ck_assert_str_eq(r->query, "x=1");
	ck_assert_str_eq(r->addr, "127.0.0.1");
	ck_assert_str_eq(r->inv, "0b7c0d5e-6a0e-4d7b-9d3a-2f1e8b6c4a11");
	ck_assert(r->key_valid);
}

/* The byte where the PARAMS stream ends (after the empty record). */
static size_t
params_end(const struct wire *w)
{
	return w->n - 8;	/* the STDIN record follows */
}

static enum front_parse
walk(struct front_req *r, const struct wire *w, size_t n)
{
	return front_walk(r, w->b, n, FRONT_PEEK, params);
}

START_TEST(test_whole)
{
	struct wire	 w;
	struct front_req r;

	nginx_wire(&w, 65535, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_DONE);
	check_nginx_req(&r);
}
END_TEST

/* Split at every byte: a right start until the stream's end, then done. */
START_TEST(test_split_every_byte)
{
	static const size_t steps[] = { 65535, 1, 3, 7, 64 };
	static const size_t pads[] = { 0, 7, 1, 255, 0 };
	struct wire	 w;
	struct front_req r;
	size_t		 i, k, end;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		nginx_wire(&w, steps[i], pads[i]);
		end = params_end(&w);
		for (k = 0; k < end; k++)
			ck_assert_msg(walk(&r, &w, k) == FRONT_MORE,
			    "step %zu pad %zu: %zu of %zu bytes", steps[i],
			    pads[i], k, end);
		for (k = end; k <= w.n; k++) {
			ck_assert_int_eq(walk(&r, &w, k), FRONT_DONE);
			check_nginx_req(&r);
		}
	}
}
END_TEST

/* A pair longer than a record, with 4-byte lengths, across records. */
START_TEST(test_long_param_across_records)
{
	static unsigned char p[70000];
	static char	 val[60000];
	struct wire	 w = { .n = 0 };
	struct front_req r;
	size_t		 n;

	memset(val, 'a', sizeof(val) - 1);
	n = nv(p, "HTTP_X_LONG", val);
	n += nv(p + n, "DOCUMENT_URI", "/health");
	begin(&w, 7, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 7, p, 40000, 0);
	rec(&w, 1, FCGI_PARAMS, 7, p + 40000, n - 40000, 3);
	rec(&w, 1, FCGI_PARAMS, 7, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_DONE);
	ck_assert_uint_eq(r.id, 7);
	ck_assert_str_eq(r.path, "/health");
	/* A value too long for its field leaves it empty. */
	w.n = 0;
	n = nv(p, "DOCUMENT_URI", val);
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p, n, 0);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_DONE);
	ck_assert_str_eq(r.path, "");
}
END_TEST

/* A header that does not end within the cap is refused (the front's 64
 * KiB peek), as soon as the cap is reached. */
START_TEST(test_oversized)
{
	static unsigned char p[2 * FRONT_PEEK];
	struct wire	 w = { .n = 0 };
	struct front_req r;
	size_t		 n = 0;

	while (n < FRONT_PEEK + 1000)
		n += nv(p + n, "HTTP_X_FILL", "0123456789012345678901234567890");
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p, 60000, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p + 60000, n - 60000, 0);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_uint_gt(w.n, FRONT_PEEK);
	ck_assert_int_eq(walk(&r, &w, FRONT_PEEK - 1), FRONT_MORE);
	ck_assert_int_eq(walk(&r, &w, FRONT_PEEK), FRONT_BAD);
	/* More than the cap is looked at as the cap. */
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	/* A small cap: a whole header longer than it is refused. */
	nginx_wire(&w, 65535, 0);
	ck_assert_int_eq(front_walk(&r, w.b, 100, 100, params), FRONT_BAD);
	ck_assert_int_eq(front_walk(&r, w.b, 99, 100, params), FRONT_MORE);
}
END_TEST

/* One request per connection, one id: records of another id, a second
 * BEGIN_REQUEST, management records (id 0) are refused. */
START_TEST(test_multiplexed)
{
	unsigned char	 p[256];
	struct wire	 w = { .n = 0 };
	struct front_req r;
	size_t		 n = nv(p, "DOCUMENT_URI", "/health");

	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 2, p, n, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	/* Seen from the id's bytes on, before the record's end. */
	ck_assert_int_eq(walk(&r, &w, 16 + 4), FRONT_BAD);
	ck_assert_int_eq(walk(&r, &w, 16 + 3), FRONT_MORE);

	w.n = 0;
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p, n, 0);
	begin(&w, 2, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 2, NULL, 0, 0);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);

	/* A second BEGIN_REQUEST of the same id. */
	w.n = 0;
	begin(&w, 1, FCGI_RESPONDER, 0);
	begin(&w, 1, FCGI_RESPONDER, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);

	/* FCGI_GET_VALUES (9) on id 0, first or later; a BEGIN of id 0. */
	w.n = 0;
	rec(&w, 1, 9, 0, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	w.n = 0;
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, 9, 0, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	w.n = 0;
	begin(&w, 0, FCGI_RESPONDER, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
}
END_TEST

/* Truncated: a header or a content that stops is a right start; a
 * name-value length running past the stream's end is refused. */
START_TEST(test_truncated)
{
	unsigned char	 p[256];
	struct wire	 w = { .n = 0 };
	struct front_req r;
	size_t		 n = nv(p, "DOCUMENT_URI", "/health");

	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p, n, 5);
	ck_assert_int_eq(walk(&r, &w, 5), FRONT_MORE);		/* a header */
	ck_assert_int_eq(walk(&r, &w, 12), FRONT_MORE);		/* a content */
	ck_assert_int_eq(walk(&r, &w, 16 + 5), FRONT_MORE);
	ck_assert_int_eq(walk(&r, &w, 16 + 8 + 3), FRONT_MORE);
	ck_assert_int_eq(walk(&r, &w, w.n - 2), FRONT_MORE);	/* padding */
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_MORE);	/* no end */

	/* The value's length says 100, the stream has 7. */
	w.n = 0;
	p[0] = 12;
	p[1] = 100;
	memcpy(p + 2, "DOCUMENT_URI/health", 19);
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p, 21, 0);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	/* A 4-byte length cut short by the stream's end. */
	w.n = 0;
	p[0] = 0x80;
	p[1] = 0;
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p, 2, 0);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
}
END_TEST

/* Version 1 only, from the first byte on; not even HTTP. */
START_TEST(test_version)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct wire	 w = { .n = 0 };
	struct front_req r;

	ck_assert_int_eq(front_walk(&r, (const unsigned char *)http, 1,
	    FRONT_PEEK, params), FRONT_BAD);
	rec(&w, 2, FCGI_BEGIN, 1, "\0\1\0\0\0\0\0\0", 8, 0);
	ck_assert_int_eq(walk(&r, &w, 1), FRONT_BAD);
	w.n = 0;
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 0, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	ck_assert_int_eq(walk(&r, &w, 17), FRONT_BAD);
	ck_assert_int_eq(walk(&r, &w, 16), FRONT_MORE);
}
END_TEST

/* Before the PARAMS stream's end only PARAMS: STDIN, STDOUT, END,
 * unknown types are refused. */
START_TEST(test_types)
{
	static const int types[] = { FCGI_STDIN, FCGI_STDOUT, FCGI_END, 2, 7,
	    8, 11, 12, 200, 255 };
	struct wire	 w;
	struct front_req r;
	size_t		 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		w.n = 0;
		begin(&w, 1, FCGI_RESPONDER, 0);
		rec(&w, 1, types[i], 1, "abc", 3, 5);
		ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
		ck_assert_int_eq(walk(&r, &w, 18), FRONT_BAD);
	}
}
END_TEST

/* Empty records: an empty PARAMS stream is a whole one (the worker
 * decides); a BEGIN_REQUEST without its 8 bytes is refused. */
START_TEST(test_empty)
{
	struct wire	 w = { .n = 0 };
	struct front_req r;

	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_DONE);
	ck_assert_str_eq(r.path, "");
	ck_assert(!r.key_valid);
	w.n = 0;
	rec(&w, 1, FCGI_BEGIN, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	ck_assert_int_eq(walk(&r, &w, 6), FRONT_BAD);
	ck_assert_int_eq(walk(&r, &w, 5), FRONT_MORE);
}
END_TEST

/* BEGIN_REQUEST first, as a responder, without KEEP_CONN. */
START_TEST(test_begin)
{
	unsigned char	 p[64];
	struct wire	 w = { .n = 0 };
	struct front_req r;
	size_t		 n = nv(p, "DOCUMENT_URI", "/health");

	rec(&w, 1, FCGI_PARAMS, 1, p, n, 0);
	begin(&w, 1, FCGI_RESPONDER, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	ck_assert_int_eq(walk(&r, &w, 2), FRONT_BAD);
	w.n = 0;
	begin(&w, 1, 2, 0);				/* AUTHORIZER */
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	w.n = 0;
	begin(&w, 1, FCGI_RESPONDER, FCGI_KEEP_CONN);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_BAD);
	ck_assert_int_eq(walk(&r, &w, 15), FRONT_MORE);	/* not yet seen */
}
END_TEST

/* The first of a name counts (libfcgi's FCGX_GetParam finds the first). */
START_TEST(test_first_param_counts)
{
	unsigned char	 p[512];
	struct wire	 w = { .n = 0 };
	struct front_req r;
	size_t		 n = 0;

	n += nv(p + n, "DOCUMENT_URI", "/v1/execute");
	n += nv(p + n, "PYEXEC_KEY_VALID", "0");
	n += nv(p + n, "DOCUMENT_URI", "/metrics");
	n += nv(p + n, "PYEXEC_KEY_VALID", "1");
	n += nv(p + n, "REQUEST_METHOD", "");
	n += nv(p + n, "REQUEST_METHOD", "GET");
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, 1, FCGI_PARAMS, 1, p, n, 0);
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_DONE);
	ck_assert_str_eq(r.path, "/v1/execute");
	ck_assert(!r.key_valid);
	ck_assert_str_eq(r.method, "");
	/* The walk starts afresh each time: nothing of a former one stays. */
	nginx_wire(&w, 65535, 0);
	ck_assert_int_eq(walk(&r, &w, w.n), FRONT_DONE);
	check_nginx_req(&r);
}
END_TEST

START_TEST(test_len)
{
	static const unsigned char four[] = { 0x80, 0x01, 0x02, 0x03, 0x7f };
	size_t	i = 0;

	ck_assert_uint_eq(front_len(four, 4, &i), 0x010203);
	ck_assert_uint_eq(i, 4);
	ck_assert_uint_eq(front_len(four, 5, &i), 0x7f);
	ck_assert_uint_eq(front_len(four, 5, &i), (size_t)-1);
	i = 1;
	ck_assert_uint_eq(front_len(four, 3, &i), 1);	/* a 1-byte one */
	i = 0;
	ck_assert_uint_eq(front_len(four, 3, &i), (size_t)-1);
}
END_TEST

/* front_skip(): to the empty STDIN record, whatever the pieces. */
START_TEST(test_skip)
{
	struct wire	 w;
	struct front_skip s;
	size_t		 cut, k, step;
	enum front_parse rc = FRONT_MORE;

	nginx_wire(&w, 5, 3);
	w.n -= 8;
	rec(&w, 1, FCGI_STDIN, 1, "{\"code\":1}", 10, 6);
	rec(&w, 1, FCGI_STDIN, 1, NULL, 0, 0);
	for (step = 1; step <= 9; step++) {
		memset(&s, 0, sizeof(s));
		for (cut = 0; cut < w.n; cut += k) {
			k = w.n - cut < step ? w.n - cut : step;
			rc = front_skip(&s, w.b + cut, k);
			if (cut + k < w.n)
				ck_assert_int_eq(rc, FRONT_MORE);
		}
		ck_assert_int_eq(rc, FRONT_DONE);
	}
	/* An empty STDOUT or PARAMS record is not the end. */
	w.n = 0;
	rec(&w, 1, FCGI_PARAMS, 1, NULL, 0, 0);
	rec(&w, 1, FCGI_STDOUT, 1, NULL, 0, 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(front_skip(&s, w.b, w.n), FRONT_MORE);
	rec(&w, 2, FCGI_STDIN, 1, NULL, 0, 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(front_skip(&s, w.b, w.n), FRONT_BAD);
}
END_TEST

static Suite *
fcgiparse_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("fcgiparse", "walk", &tc);

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_whole);
	tcase_add_test(tc, test_split_every_byte);
	tcase_add_test(tc, test_long_param_across_records);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_multiplexed);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_begin);
	tcase_add_test(tc, test_first_param_counts);
	tcase_add_test(tc, test_len);
	tcase_add_test(tc, test_skip);
	return s;
}

CHECK_MAIN(fcgiparse_suite(), CK_FORK_GETENV)
