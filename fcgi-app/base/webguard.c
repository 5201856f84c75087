/*
 * webguard.c: keyless requests a web page of another site could send.
 *
 * A request authenticated by its address alone (PYEXEC_ANONYMOUS_FROM)
 * holds nothing a web page cannot send, so a browser on a listed host is
 * a way in for any page it opens:
 *   - a "simple" request (a form; fetch with text/plain, a form's or
 *     multipart type) needs no CORS preflight: the browser sends it, and
 *     the code runs whether or not the page may read the answer;
 *   - DNS rebinding: the page's own name, made to resolve to this
 *     service, sends it same-origin requests (JSON too) and reads the
 *     answers; only the Host header still names the page's site.
 * So a keyless request passes only when, in this order,
 *   1. its Host is one of the service's names (localhost, 127.0.0.1,
 *      [::1] and PYEXEC_SERVER_NAMES): no rebinding;
 *   2. its Origin, when it has one, is the service's own (REQUEST_SCHEME
 *      and that Host) or in PYEXEC_ALLOWED_ORIGINS; without an Origin, a
 *      Sec-Fetch-Site (only browsers send it) says same-origin or none;
 *   3. a body is Content-Type: application/json, which no page may send
 *      to another origin without a preflight (this service grants none).
 * Requests with a key are not looked at: a page cannot know the key, and
 * the key's header itself forces a preflight.
 *
 * Pure functions of their arguments; the worker calls webguard_check(),
 * config.c the two *_valid() at start.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "webguard.h"

/* Always the service's names, whatever PYEXEC_SERVER_NAMES says: a page
 * cannot make a browser send them to another host. */
static const char web_loopback[] = "localhost 127.0.0.1 [::1]";

static const struct {
	const char	*label;		/* the metric's */
	const char	*why;		/* the 403's */
} web_refusal[WEB_NVERDICTS] = {
	[WEB_OK] = { "ok", "" },
	[WEB_HOST] = { "host", "a request without a key must name this "
	    "service in its Host header (localhost, 127.0.0.1, [::1] or a "
	    "name of PYEXEC_SERVER_NAMES): another name may be a web page's "
	    "DNS rebinding; send an API key, or use one of those names" },
	[WEB_ORIGIN] = { "origin", "a request without a key may not come "
	    "from a web page of another origin (its Origin or Sec-Fetch-Site "
	    "header): only this service's own origin and those of "
	    "PYEXEC_ALLOWED_ORIGINS may send one; send an API key" },
	[WEB_CONTENT_TYPE] = { "content_type", "a request without a key "
	    "must send its body as Content-Type: application/json (a web "
	    "page of another site may send other types without asking the "
	    "browser first); set that type, or send an API key" },
};

const char *
webguard_label(enum web_verdict v)
{
	return v < WEB_NVERDICTS ? web_refusal[v].label : "?";
}

const char *
webguard_why(enum web_verdict v)
{
	return v < WEB_NVERDICTS ? web_refusal[v].why : "refused";
}

/* The port after a host: none (0), or ":1" to ":65535".  0, or -1. */
static int
web_port(const char *s, size_t n, unsigned *port)
{
	unsigned long	v = 0;
	size_t		i;

	*port = 0;
	if (n == 0)
		return 0;
	if (s[0] != ':' || n < 2 || n > 6)
		return -1;
	for (i = 1; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/* A name's n bytes: letters, digits, '-' and dots between labels. */
static bool
web_name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    (s[i] == '.' && s[i + 1] != '.')))
			return false;
	return true;
}

/*
 * A Host header's n bytes (or an origin's host and port): its host into
 * host, in lower case (an IPv6 address in brackets, as inet_ntop writes
 * it, so [0::1] is [::1]), and its port (0: none).  0, or -1 when it is
 * not "name[:port]", "a.b.c.d[:port]" or "[v6][:port]".
 */
int
webguard_host(const char *s, size_t n, char host[WEB_HOST_MAX],
    unsigned *port)
{
	char		 buf[INET6_ADDRSTRLEN];
	unsigned char	 a6[16];
	const char	*end;
	size_t		 h;

	if (n == 0)
		return -1;
	if (s[0] == '[') {
		if ((end = memchr(s, ']', n)) == NULL ||
		    (h = (size_t)(end - s) - 1) == 0 || h >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, h);
		buf[h] = '\0';
		if (inet_pton(AF_INET6, buf, a6) != 1 ||
		    inet_ntop(AF_INET6, a6, buf, sizeof(buf)) == NULL)
			return -1;
		snprintf(host, WEB_HOST_MAX, "[%s]", buf);
		return web_port(end + 1, n - (size_t)(end + 1 - s), port);
	}
	for (h = 0; h < n && s[h] != ':'; h++)
		;
	if (h >= WEB_HOST_MAX || !web_name_ok(s, h))
		return -1;
	for (n -= h, end = s + h; s < end; s++)
		*host++ = (char)tolower((unsigned char)*s);
	*host = '\0';
	return web_port(end, n, port);
}

/*
 * An origin's n bytes (RFC 6454: scheme "://" host [":" port], nothing
 * after) as one string to compare into out: scheme and host in lower
 * case, the scheme's default port left out (http 80, https 443).  0, or
 * -1: "null", a path (even "/"), user info, a query are not origins.
 */
int
webguard_origin(const char *s, size_t n, char out[WEB_ORIGIN_MAX])
{
	char		 host[WEB_HOST_MAX], scheme[32];
	const char	*sep;
	size_t		 sl, i;
	unsigned	 port;

	if ((sep = memmem(s, n, "://", 3)) == NULL)
		return -1;
	if ((sl = (size_t)(sep - s)) == 0 || sl >= sizeof(scheme) ||
	    !isalpha((unsigned char)s[0]))
		return -1;
	for (i = 0; i < sl; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '-' && s[i] != '.')
			return -1;
		scheme[i] = (char)tolower((unsigned char)s[i]);
	}
	scheme[sl] = '\0';
	if (webguard_host(sep + 3, n - sl - 3, host, &port) != 0)
		return -1;
	if ((strcmp(scheme, "http") == 0 && port == 80) ||
	    (strcmp(scheme, "https") == 0 && port == 443))
		port = 0;
	if (port != 0)
		snprintf(out, WEB_ORIGIN_MAX, "%s://%s:%u", scheme, host, port);
	else
		snprintf(out, WEB_ORIGIN_MAX, "%s://%s", scheme, host);
	return 0;
}

/* Whether content_type's media type is application/json, in any case,
 * with or without parameters ("; charset=utf-8"). */
bool
webguard_json_type(const char *ct)
{
	static const char	json[] = "application/json";

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
		return false;
	ct += sizeof(json) - 1;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

/* The first entry of list (commas or spaces between) for which
 * fn(entry, its length, arg) is true, its length in *len; or NULL. */
static const char *
web_find(const char *list, bool (*fn)(const char *, size_t, const char *),
    const char *arg, size_t *len)
{
	size_t	n;

	for (; *list != '\0'; list += n) {
		list += strspn(list, ", \t");
		if ((n = strcspn(list, ", \t")) == 0)
			break;
		if (fn(list, n, arg)) {
			*len = n;
			return list;
		}
	}
	return NULL;
}

/* An entry of a names list that is host (a name without a port). */
static bool
web_name_is(const char *e, size_t n, const char *host)
{
	char		h[WEB_HOST_MAX];
	unsigned	port;

	return webguard_host(e, n, h, &port) == 0 && port == 0 &&
	    strcmp(h, host) == 0;
}

/* An entry of an origins list that is origin (as webguard_origin()). */
static bool
web_origin_is(const char *e, size_t n, const char *origin)
{
	char	o[WEB_ORIGIN_MAX];

	return webguard_origin(e, n, o) == 0 && strcmp(o, origin) == 0;
}

/* The service's own origin, as this request names it: its scheme and
 * its Host.  0, or -1. */
static int
web_own(const struct web_request *r, char out[WEB_ORIGIN_MAX])
{
	char	buf[WEB_ORIGIN_MAX + 16];
	int	len;

	if (r->scheme == NULL || r->host == NULL)
		return -1;
	len = snprintf(buf, sizeof(buf), "%s://%s", r->scheme, r->host);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return -1;
	return webguard_origin(buf, (size_t)len, out);
}

static bool
web_host_ok(const struct web_policy *p, const struct web_request *r)
{
	char		host[WEB_HOST_MAX];
	unsigned	port;
	size_t		n;

	if (r->host == NULL ||
	    webguard_host(r->host, strlen(r->host), host, &port) != 0)
		return false;
	return web_find(web_loopback, web_name_is, host, &n) != NULL ||
	    web_find(p->server_names, web_name_is, host, &n) != NULL;
}

/*
 * Without an Origin, a browser's Sec-Fetch-Site decides (a GET of an
 * image or a link from another site has none): same-origin, or none (a
 * typed address, a bookmark).  "same-site" is another origin too (the
 * same host on another port is same-site).
 */
static bool
web_origin_ok(const struct web_policy *p, const struct web_request *r)
{
	char	o[WEB_ORIGIN_MAX], own[WEB_ORIGIN_MAX];
	size_t	n;

	if (r->origin == NULL)
		return r->fetch_site == NULL ||
		    strcmp(r->fetch_site, "same-origin") == 0 ||
		    strcmp(r->fetch_site, "none") == 0;
	if (webguard_origin(r->origin, strlen(r->origin), o) != 0)
		return false;
	if (web_own(r, own) == 0 && strcmp(o, own) == 0)
		return true;
	return web_find(p->allowed_origins, web_origin_is, o, &n) != NULL;
}

/* Whether r's Origin (it has one) is the service's own or one of
 * PYEXEC_ALLOWED_ORIGINS: rule 2 for a request with an Origin. */
bool
webguard_origin_allowed(const struct web_policy *p, const struct web_request *r)
{
	return r->origin != NULL && web_origin_ok(p, r);
}

/* Whether the keyless request r may be served: WEB_OK, or the first
 * rule it breaks (the order of the comment at the top). */
enum web_verdict
webguard_check(const struct web_policy *p, const struct web_request *r)
{
	if (!web_host_ok(p, r))
		return WEB_HOST;
	if (!web_origin_ok(p, r))
		return WEB_ORIGIN;
	if (r->has_body && !webguard_json_type(r->content_type))
		return WEB_CONTENT_TYPE;
	return WEB_OK;
}

static bool
web_name_bad(const char *e, size_t n, const char *unused)
{
	char		h[WEB_HOST_MAX];
	unsigned	port;

	(void)unused;
	return webguard_host(e, n, h, &port) != 0 || port != 0;
}

static bool
web_origin_bad(const char *e, size_t n, const char *unused)
{
	char	o[WEB_ORIGIN_MAX];

	(void)unused;
	return webguard_origin(e, n, o) != 0;
}

/* PYEXEC_SERVER_NAMES: true, or false and why in err. */
bool
webguard_names_valid(const char *list, char *err, size_t len)
{
	const char	*bad;
	size_t		 n;

	if ((bad = web_find(list, web_name_bad, NULL, &n)) == NULL)
		return true;
	snprintf(err, len, "PYEXEC_SERVER_NAMES: '%.*s' is not a host name "
	    "or address: names or addresses without a port, separated by "
	    "commas or spaces, an IPv6 address in brackets, like "
	    "pyexec.internal,10.1.2.3,[fd00::5]", (int)(n > 100 ? 100 : n), bad);
	return false;
}

/* PYEXEC_ALLOWED_ORIGINS: true, or false and why in err. */
bool
webguard_origins_valid(const char *list, char *err, size_t len)
{
	const char	*bad;
	size_t		 n;

	if ((bad = web_find(list, web_origin_bad, NULL, &n)) == NULL)
		return true;
	snprintf(err, len, "PYEXEC_ALLOWED_ORIGINS: '%.*s' is not an origin: "
	    "scheme://host[:port] and nothing after (no path, not even a "
	    "slash), separated by commas or spaces, like "
	    "https://app.example.com", (int)(n > 100 ? 100 : n), bad);
	return false;
}
