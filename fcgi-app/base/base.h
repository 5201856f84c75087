/*
 * base.h: the base floor of the FastCGI application (fcgi-app/base/):
 * what knows nothing of workers, tasks or requests in flight.  Its names
 * carry their file: clock_*, config_* (conf.h), log_*, envelope_*,
 * unicode_*, json_strict_*, llm_* and extract_* (llm.h), metrics_* and
 * status_* (metrics.h: the table the master shares with its workers),
 * trust_* (trust.h), webguard_* (webguard.h), nginxgeo_* (nginx's copy
 * of the keyless list), fcgi_* (fcgiparse.h, the front's parser,
 * included by the front alone).
 *
 * The floors, from the bottom: base, core (core/core.h), serve
 * (serve/serve.h), proc (proc/proc.h).  A floor's header is included by
 * its own floor and the floors above, never below: each floor is its own
 * library (Makefile.am) whose include path holds only its own folder and
 * those below, so an upward #include or call does not compile.  Below
 * every floor, the sandbox (sandbox/host/sandbox.h: sb_*, slot_*, run_*)
 * knows nothing of this one.  tests/static/check-layers keeps it so.
 */
#ifndef PYEXEC_BASE_H
#define PYEXEC_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "sandbox.h"
#include "store.h"

/* The one error enum of the application.  Request-path functions return
 * it; start-up code may die with a message instead. */
enum pyexec_err {
	PYEXEC_OK = 0,
	PYEXEC_ERR_INVALID,	/* the client's request is invalid (400) */
	PYEXEC_ERR_NOMEM,	/* an allocation failed (500) */
	PYEXEC_ERR_CONFIG,	/* bad configuration (start-up only) */
};


#include "conf.h"
#include "llm.h"
#include "metrics.h"

/* clock.c: monotonic and wall clocks, in ms. */
int64_t		 clock_mono_ms(void);
int64_t		 clock_real_ms(void);

/* log.c: one JSON object per line on stderr.  The caller owns the object
 * and must not put code or secrets in it. */
void		 log_json(const char *level, const char *event, struct json_object *);
void		 log_msg(const char *level, const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
void		 log_die(int, const char *event, const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 3, 4)));

/* nginxgeo.c: the file nginx's geo block includes
 * (PYEXEC_NGINX_ANONYMOUS_CONF): made current (--nginx-geo-update; 0, or
 * 1 said on stderr), compared at the master's start (a warning). */
int		 nginxgeo_update(const struct pyexec_config *);
void		 nginxgeo_check(const struct pyexec_config *);

/* envelope.c */
#define UUID_STR_LEN	37
void		 envelope_uuid4(char out[UUID_STR_LEN]);
char		*envelope_utf8_sanitize(const char *, size_t, size_t *);
const char	*envelope_error_code(int http_status);
const char	*envelope_reason(int http_status);
char		*envelope_error(const char *id, const char *code, const char *msg);
bool		 envelope_utf8_valid(const char *, size_t);
size_t		 envelope_utf8_seq(const unsigned char *, size_t);

/* unicode.c: what a file name must not hold besides '/' and NUL. */
enum unicode_hidden {
	UNICODE_SHOWN,		/* none */
	UNICODE_CONTROL,	/* Cc: C0, DEL, C1 */
	UNICODE_FORMAT,		/* Cf, Zl, Zp (unicode-format.h) */
};
extern const char	 unicode_table_version[];
bool		 unicode_is_format(uint32_t);
enum unicode_hidden unicode_name_hidden(const char *, size_t, uint32_t *);

/*
 * jsonstrict.c: the one gate of every JSON text from outside.  One walk
 * over the bytes checks NUL bytes and UTF-8 (JS_TEXT), RFC 8259's grammar
 * and a depth limit, finite numbers (JS_FINITE), and tells dup_fn of each
 * key given twice in one object, at every depth.  The fault reported is
 * the one the old gates' order named: NUL, then UTF-8, then the first
 * grammar fault.  json-c then only builds the tree of a text passed.
 */
enum json_fault {
	JSON_OK = 0,
	JSON_NUL,	/* a NUL byte (JS_TEXT) */
	JSON_UTF8,	/* bytes that are not UTF-8 (JS_TEXT) */
	JSON_SYNTAX,	/* not one RFC 8259 text */
	JSON_DEPTH,	/* nested deeper than max_depth */
	JSON_RANGE,	/* a number that is no finite double (JS_FINITE) */
	JSON_NOMEM,	/* the duplicate-key table could not grow */
};
#define JS_TEXT		0x1	/* refuse NUL bytes and invalid UTF-8 */
#define JS_FINITE	0x2	/* refuse numbers past a double's range */
struct json_scan {
	enum json_fault	 fault;
	size_t		 at;		/* its byte offset */
	char		 why[128];	/* "<what> at byte <at>" */
};
/* One member on the way from the top to an object: a key (decoded,
 * cut at a NUL as json-c cuts keys) or, in an array, the index. */
struct json_step {
	const char	*key;		/* NULL: an array element */
	size_t		 index;
};
/* A key given twice: the object's depth (1: the top-level value), its
 * path (depth - 1 steps) and the key; all borrowed for the call. */
struct json_dup {
	int			 depth;
	const struct json_step	*path;
	const char		*key;
};
typedef bool	(*json_dup_fn)(void *arg, const struct json_dup *);
enum json_fault	 json_strict_scan(const char *, size_t, int max_depth,
		    unsigned flags, json_dup_fn, void *arg, struct json_scan *);
/* The grammar alone (json_strict_scan without JS_TEXT): 0 if the buffer
 * is one RFC 8259 JSON text (and its numbers finite), else -1 with the
 * problem and its offset in msg. */
int		 json_strict_check(const char *, size_t, int max_depth,
		    bool finite, char *msg, size_t msglen);
/* A text json_strict_scan() passed, as json-c's (strict) tree, or NULL
 * with json-c's error; *end: where json-c stopped, SIZE_MAX if it could
 * not start (out of memory).  The caller owns the tree. */
struct json_object *json_strict_build(const char *, size_t, int max_depth,
		    enum json_tokener_error *, size_t *end);
/* Untrusted text (a run's report, its artifacts): one strict JSON value
 * of type want, UTF-8 without NUL, numbers finite, at most max_depth
 * deep; parsed (the caller owns it), or NULL. */
struct json_object *json_strict_parse(const char *, size_t, int max_depth,
		    enum json_type want);

#endif /* PYEXEC_BASE_H */
