/*
 * Unit tests: webguard.c, what a keyless request may name (Host, Origin,
 * Sec-Fetch-Site, Content-Type) so that no web page of another site can
 * send one: hosts with and without ports, IPv6, bad Host values; origins
 * with default ports, case, a trailing slash, "null"; the lists' checks
 * at start; content types with parameters.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "webguard.h"

static const struct web_policy none = { "", "" };

/* A same-origin JSON POST from a page of http://<host>. */
static struct web_request
post(const char *host, const char *origin)
{
	return (struct web_request){ .scheme = "http", .host = host,
	    .origin = origin, .content_type = "application/json",
	    .has_body = true };
}

static int
host_of(const char *s, char *h, unsigned *port)
{
	return webguard_host(s, strlen(s), h, port);
}

static const char *
origin_of(const char *s)
{
	static char	out[WEB_ORIGIN_MAX];

	return webguard_origin(s, strlen(s), out) == 0 ? out : NULL;
}

START_TEST(test_host)
{
	char		h[WEB_HOST_MAX];
	unsigned	port;

	ck_assert_int_eq(host_of("LocalHost:8080", h, &port), 0);
	ck_assert_str_eq(h, "localhost");
	ck_assert_uint_eq(port, 8080);
	ck_assert_int_eq(host_of("127.0.0.1", h, &port), 0);
	ck_assert_str_eq(h, "127.0.0.1");
	ck_assert_uint_eq(port, 0);
	ck_assert_int_eq(host_of("[::1]:18380", h, &port), 0);
	ck_assert_str_eq(h, "[::1]");
	ck_assert_uint_eq(port, 18380);
	ck_assert_int_eq(host_of("[0:0:0:0:0:0:0:1]", h, &port), 0);
	ck_assert_str_eq(h, "[::1]");
	ck_assert_int_eq(host_of("[FD00::AB]:1", h, &port), 0);
	ck_assert_str_eq(h, "[fd00::ab]");
	ck_assert_int_eq(host_of("a-b.example.com:65535", h, &port), 0);
	ck_assert_str_eq(h, "a-b.example.com");
}
END_TEST

START_TEST(test_host_bad)
{
	static const char *const bad[] = {
		"", ":80", "localhost:", "localhost:0", "localhost:65536",
		"localhost:8o", "localhost:123456", "localhost:80:80",
		"::1", "[::1", "[]", "[::1]80", "[::1]:", "[127.0.0.1]",
		"[fe80::1%25eth0]", "local host", "evil.example/x",
		"user@localhost", "localhost.", ".localhost", "a..b",
		"local_host", "localhost\t", "h\xc3\xa9", "localhost:+80",
		"localhost: 80",
	};
	char		h[WEB_HOST_MAX];
	unsigned	port;
	size_t		i;
	char		longname[400];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(host_of(bad[i], h, &port) != 0, "%s", bad[i]);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_ne(host_of(longname, h, &port), 0);
}
END_TEST

START_TEST(test_origin)
{
	ck_assert_str_eq(origin_of("http://localhost:8080"),
	    "http://localhost:8080");
	/* the default port is no port; another scheme's is */
	ck_assert_str_eq(origin_of("http://h:80"), "http://h");
	ck_assert_str_eq(origin_of("https://h:443"), "https://h");
	ck_assert_str_eq(origin_of("http://h:443"), "http://h:443");
	ck_assert_str_eq(origin_of("https://h:80"), "https://h:80");
	ck_assert_str_eq(origin_of("HTTPS://App.Example.COM"),
	    "https://app.example.com");
	ck_assert_str_eq(origin_of("http://[0::1]:18380"), "http://[::1]:18380");
	ck_assert_str_eq(origin_of("chrome-extension://abcdef"),
	    "chrome-extension://abcdef");
	ck_assert_ptr_null(origin_of("null"));
	ck_assert_ptr_null(origin_of(""));
	ck_assert_ptr_null(origin_of("http://h/"));
	ck_assert_ptr_null(origin_of("http://h:8080/"));
	ck_assert_ptr_null(origin_of("http://h/path"));
	ck_assert_ptr_null(origin_of("http://h?q"));
	ck_assert_ptr_null(origin_of("http://u@h"));
	ck_assert_ptr_null(origin_of("http://"));
	ck_assert_ptr_null(origin_of("://h"));
	ck_assert_ptr_null(origin_of("1http://h"));
	ck_assert_ptr_null(origin_of("http:/h"));
	ck_assert_ptr_null(origin_of("h"));
	ck_assert_ptr_null(origin_of("*"));
}
END_TEST

START_TEST(test_json_type)
{
	ck_assert(webguard_json_type("application/json"));
	ck_assert(webguard_json_type("Application/JSON"));
	ck_assert(webguard_json_type("application/json; charset=utf-8"));
	ck_assert(webguard_json_type("application/json;charset=UTF-8"));
	ck_assert(webguard_json_type(" application/json ; x=y"));
	ck_assert(!webguard_json_type(NULL));
	ck_assert(!webguard_json_type(""));
	ck_assert(!webguard_json_type("text/plain"));
	ck_assert(!webguard_json_type("text/plain; charset=utf-8"));
	ck_assert(!webguard_json_type("application/x-www-form-urlencoded"));
	ck_assert(!webguard_json_type("multipart/form-data; boundary=x"));
	ck_assert(!webguard_json_type("application/jsonx"));
	ck_assert(!webguard_json_type("application/json-seq"));
	ck_assert(!webguard_json_type("application/json, text/plain"));
	ck_assert(!webguard_json_type("text/plain; a=application/json"));
	ck_assert(!webguard_json_type("application/*"));
}
END_TEST

/* Host: the loopback names always, PYEXEC_SERVER_NAMES besides; a
 * rebinding page's name never. */
START_TEST(test_check_host)
{
	struct web_policy	p = { "pyexec.internal, 10.1.2.3 [FD00::5]", "" };
	struct web_request	r;

	r = post("localhost:18380", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("127.0.0.1", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("[::1]:8080", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("LOCALHOST:1", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("evil.example:18380", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
	r = post("pyexec.internal:8080", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_OK);
	r = post("Pyexec.Internal", NULL);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_OK);
	r = post("10.1.2.3:80", NULL);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_OK);
	r = post("[fd00:0::5]:80", NULL);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_OK);
	r = post("10.1.2.4", NULL);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_HOST);
	r = post("pyexec.internal.evil.example", NULL);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_HOST);
	r = post("localhost.", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
	r = post(NULL, NULL);			/* no Host: refused */
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
	r = post("", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
	r = post("localhost:8080, evil.example", NULL);
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
}
END_TEST

/* Origin: the service's own (scheme and Host), the allowed ones, no
 * other; a rebinding page's own origin is stopped by its Host. */
START_TEST(test_check_origin)
{
	struct web_policy	p = { "", "https://app.example.com, "
				    "http://localhost:3000" };
	struct web_request	r;

	r = post("localhost:18380", "http://localhost:18380");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("LocalHost:18380", "http://localhost:18380");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("localhost", "http://localhost:80");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("localhost:80", "http://localhost");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r = post("[::1]:18380", "http://[0::1]:18380");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	/* another port, another host, another scheme: another origin */
	r = post("localhost:18380", "http://localhost:3000");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_OK);
	r = post("localhost:18380", "http://127.0.0.1:18380");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	r = post("localhost:18380", "https://localhost:18380");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	r = post("localhost:18380", "http://evil.example");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_ORIGIN);
	r = post("localhost:18380", "https://app.example.com");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	ck_assert_int_eq(webguard_check(&p, &r), WEB_OK);
	r = post("localhost:18380", "https://APP.example.com:443");
	ck_assert_int_eq(webguard_check(&p, &r), WEB_OK);
	r = post("localhost:18380", "http://app.example.com");
	ck_assert_int_eq(webguard_check(&p, &r), WEB_ORIGIN);
	r = post("localhost:18380", "https://app.example.com/");
	ck_assert_int_eq(webguard_check(&p, &r), WEB_ORIGIN);
	r = post("localhost:18380", "null");	/* sandboxed frames, files */
	ck_assert_int_eq(webguard_check(&p, &r), WEB_ORIGIN);
	r = post("localhost:18380", "");
	ck_assert_int_eq(webguard_check(&p, &r), WEB_ORIGIN);
	r = post("localhost:18380", "http://localhost:18380/");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	/* DNS rebinding: the page's origin is "its own", its Host is not */
	r = post("evil.example:18380", "http://evil.example:18380");
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
	/* no scheme from nginx: no own origin, the list still holds */
	r = post("localhost:18380", "http://localhost:18380");
	r.scheme = NULL;
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
}
END_TEST

/* Without an Origin: a browser's Sec-Fetch-Site decides; curl sends
 * neither. */
START_TEST(test_check_fetch_site)
{
	struct web_request	r = post("localhost:18380", NULL);

	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r.fetch_site = "same-origin";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r.fetch_site = "none";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r.fetch_site = "cross-site";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	r.fetch_site = "same-site";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	r.fetch_site = "";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	/* an Origin decides over it (an allowed origin is cross-site) */
	r.origin = "http://localhost:18380";
	r.fetch_site = "cross-site";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
}
END_TEST

/* Content-Type: a body must be JSON; a request without one need not. */
START_TEST(test_check_content_type)
{
	static const char *const simple[] = { NULL, "text/plain",
	    "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
	    "multipart/form-data; boundary=----x" };
	struct web_request	r = post("localhost:18380",
				    "http://localhost:18380");
	size_t			i;

	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		r.content_type = simple[i];
		ck_assert_msg(webguard_check(&none, &r) == WEB_CONTENT_TYPE,
		    "%s", simple[i] ? simple[i] : "(none)");
	}
	r.content_type = "Application/Json; charset=utf-8";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r.content_type = NULL;
	r.has_body = false;			/* a GET, a DELETE without */
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	r.content_type = "text/plain";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_OK);
	/* the rules in order: Host, then Origin, then the type */
	r.has_body = true;
	r.origin = "http://evil.example";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_ORIGIN);
	r.host = "evil.example";
	ck_assert_int_eq(webguard_check(&none, &r), WEB_HOST);
}
END_TEST

START_TEST(test_lists_valid)
{
	char	err[512];

	ck_assert(webguard_names_valid("", err, sizeof(err)));
	ck_assert(webguard_names_valid("pyexec.internal,10.1.2.3 [fd00::5]",
	    err, sizeof(err)));
	ck_assert(webguard_names_valid(" , a ,, b ", err, sizeof(err)));
	ck_assert(!webguard_names_valid("pyexec.internal:8080", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "'pyexec.internal:8080'"));
	ck_assert_ptr_nonnull(strstr(err, "PYEXEC_SERVER_NAMES"));
	ck_assert(!webguard_names_valid("ok fd00::5", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "'fd00::5'"));
	ck_assert(!webguard_names_valid("*.example.com", err, sizeof(err)));
	ck_assert(!webguard_names_valid("http://h", err, sizeof(err)));

	ck_assert(webguard_origins_valid("", err, sizeof(err)));
	ck_assert(webguard_origins_valid("https://app.example.com "
	    "http://localhost:3000,http://[::1]:8080", err, sizeof(err)));
	ck_assert(!webguard_origins_valid("https://app.example.com/", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "PYEXEC_ALLOWED_ORIGINS"));
	ck_assert_ptr_nonnull(strstr(err, "'https://app.example.com/'"));
	ck_assert(!webguard_origins_valid("https://a.example/path", err,
	    sizeof(err)));
	ck_assert(!webguard_origins_valid("app.example.com", err, sizeof(err)));
	ck_assert(!webguard_origins_valid("null", err, sizeof(err)));
	ck_assert(!webguard_origins_valid("*", err, sizeof(err)));
	ck_assert(!webguard_origins_valid("https://ok.example https://x:0",
	    err, sizeof(err)));
}
END_TEST

START_TEST(test_words)
{
	ck_assert_str_eq(webguard_label(WEB_HOST), "host");
	ck_assert_str_eq(webguard_label(WEB_ORIGIN), "origin");
	ck_assert_str_eq(webguard_label(WEB_CONTENT_TYPE), "content_type");
	ck_assert_ptr_nonnull(strstr(webguard_why(WEB_HOST), "Host"));
	ck_assert_ptr_nonnull(strstr(webguard_why(WEB_ORIGIN), "Origin"));
	ck_assert_ptr_nonnull(strstr(webguard_why(WEB_CONTENT_TYPE),
	    "application/json"));
}
END_TEST

static Suite *
webguard_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("webguard", "core", &tc);

	tcase_add_test(tc, test_host);
	tcase_add_test(tc, test_host_bad);
	tcase_add_test(tc, test_origin);
	tcase_add_test(tc, test_json_type);
	tcase_add_test(tc, test_check_host);
	tcase_add_test(tc, test_check_origin);
	tcase_add_test(tc, test_check_fetch_site);
	tcase_add_test(tc, test_check_content_type);
	tcase_add_test(tc, test_lists_valid);
	tcase_add_test(tc, test_words);
	return s;
}

CHECK_MAIN(webguard_suite(), CK_FORK_GETENV)
