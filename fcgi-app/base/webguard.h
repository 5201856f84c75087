/*
 * webguard.h: whether a keyless request may come from a web page of
 * another site (webguard.c).  Pure functions of a request's headers and
 * two configured lists: nothing here knows FastCGI, the configuration
 * struct or the answer.  Included by conf.h (the configuration holds a
 * struct web_policy) and by the unit tests.
 */
#ifndef WEBGUARD_H
#define WEBGUARD_H

#include <stdbool.h>
#include <stddef.h>

/* What the check found; the refusals are the labels of
 * pyexec_keyless_refusals_total. */
enum web_verdict {
	WEB_OK = 0,
	WEB_HOST,		/* Host missing, malformed or not a server name */
	WEB_ORIGIN,		/* Origin (or Sec-Fetch-Site) of another origin */
	WEB_CONTENT_TYPE,	/* a body that is not application/json */
};
#define WEB_NVERDICTS	4

/* The lists, as configured (never NULL; "" for none): entries separated
 * by commas or spaces, checked at start by webguard_*_valid(). */
struct web_policy {
	const char	*server_names;	  /* PYEXEC_SERVER_NAMES: hosts besides
					   * localhost, 127.0.0.1 and [::1] */
	const char	*allowed_origins; /* PYEXEC_ALLOWED_ORIGINS */
};

/* A request's headers, borrowed; NULL: the header was not sent. */
struct web_request {
	const char	*scheme;	/* REQUEST_SCHEME: http or https */
	const char	*host;		/* Host */
	const char	*origin;	/* Origin */
	const char	*fetch_site;	/* Sec-Fetch-Site */
	const char	*content_type;	/* Content-Type */
	bool		 has_body;	/* POST, PUT, PATCH, or a body */
};

#define WEB_HOST_MAX	256	/* a host as webguard_host() writes it */
#define WEB_ORIGIN_MAX	(32 + WEB_HOST_MAX + 16)

enum web_verdict webguard_check(const struct web_policy *,
		    const struct web_request *);
const char	*webguard_label(enum web_verdict);
const char	*webguard_why(enum web_verdict);
bool		 webguard_names_valid(const char *list, char *err, size_t);
bool		 webguard_origins_valid(const char *list, char *err, size_t);
int		 webguard_host(const char *, size_t, char host[WEB_HOST_MAX],
		    unsigned *port);
int		 webguard_origin(const char *, size_t,
		    char out[WEB_ORIGIN_MAX]);
bool		 webguard_json_type(const char *content_type);
bool		 webguard_origin_allowed(const struct web_policy *,
		    const struct web_request *);

#endif /* WEBGUARD_H */
