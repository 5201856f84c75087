/*
 * request.c: strict validation of request bodies.
 *
 * The fields are a table per route (struct field_table, request.h), as
 * kcgi validates its form fields: adding a field is adding a row.  The
 * native routes refuse anything not in their table; the seeds' routes
 * ignore it, as their frameworks did.  What failed comes back as a struct
 * field_error that each dialect words its own way.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

#define REQUEST_MAX_DEPTH	32

/*
 * The routes' fields.  Timeouts of the seeds' own defaults and caps are
 * here, as data, and nowhere else: seed 004 (FastAPI) 5 s, at most 30;
 * seed 002 (Flask) always 30; seed 003 (NVIDIA) 10 s.  Every one is also
 * capped by PYTHON_EXECUTOR_MAX_TIMEOUT: refused past it where the seed
 * had a cap of its own (native, 004), clamped to it where the seed had
 * none (000, 003: FF_CLAMP), so that a client's own timeout of 60 runs.
 */
#define F_END	{ NULL, 0, 0, FS_NONE, 0, 0, FB_NONE, NULL }

/* The native routes' fields; seed 000 (Together) takes the same but never
 * input files (its clients never sent them, and an unknown field is
 * refused there as it was) and its answers carry no artifacts. */
#define F_EXECUTE_ROWS(tflags)						\
	{ "code", FT_STRING, FF_REQUIRED | FF_NONEMPTY | FF_NONUL, FS_CODE,	\
	    0, 0, FB_NONE, NULL },						\
	{ "timeout", FT_NUMBER, tflags, FS_TIMEOUT, 0.1, 1e9, FB_MAX_TIMEOUT,	\
	    NULL },								\
	{ "memory_limit", FT_MEMORY, 0, FS_MEMORY, 0, 0, FB_MAX_MEMORY, NULL }, \
	{ "cpu_limit", FT_NUMBER, 0, FS_CPU, 0.1, 1e9, FB_MAX_CPU, NULL },	\
	{ "stdin", FT_STRING, 0, FS_STDIN, 0, 0, FB_NONE, NULL },		\
	{ "validate_code", FT_BOOL, 0, FS_VALIDATE, 0, 0, FB_NONE, NULL },	\
	{ "mode", FT_WORD, 0, FS_MODE, 0, 0, FB_NONE, "script|main" }
#define F_GENERATE_ROWS(tflags)						\
	{ "query", FT_STRING, FF_REQUIRED | FF_NONEMPTY | FF_NONUL | FF_NOCTRL, \
	    FS_QUERY, 0, 1e9, FB_MAX_QUERY, NULL },				\
	{ "timeout", FT_NUMBER, tflags, FS_TIMEOUT, 0.1, 1e9, FB_MAX_TIMEOUT,	\
	    NULL },								\
	{ "memory_limit", FT_MEMORY, 0, FS_MEMORY, 0, 0, FB_MAX_MEMORY, NULL }, \
	{ "cpu_limit", FT_NUMBER, 0, FS_CPU, 0.1, 1e9, FB_MAX_CPU, NULL },	\
	{ "max_attempts", FT_INT, 0, FS_ATTEMPTS, 1, TASK_MAX_ATTEMPTS, FB_NONE, \
	    NULL }
#define F_SESSION_ROW							\
	{ "session_id", FT_STRING, FF_NONEMPTY | FF_NONUL, FS_SESSION, 0, 0,	\
	    FB_NONE, NULL }
#define F_NATIVE_ROWS							\
	{ "files", FT_FILES, 0, FS_FILES, 0, 0, FB_NONE, NULL },		\
	{ "artifacts", FT_BOOL, 0, FS_ARTIFACTS, 0, 0, FB_NONE, NULL },	\
	F_SESSION_ROW

static const struct field execute_fields[] = {
	F_EXECUTE_ROWS(0), F_NATIVE_ROWS, F_END,
};

static const struct field generate_fields[] = {
	F_GENERATE_ROWS(0), F_NATIVE_ROWS, F_END,
};

/* Seed 000's timeout had no cap: one past the bounds is clamped. */
static const struct field seed000_execute_fields[] = {
	F_EXECUTE_ROWS(FF_CLAMP), F_END,
};

static const struct field seed000_generate_fields[] = {
	F_GENERATE_ROWS(FF_CLAMP), F_END,
};

static const struct field seed004_fields[] = {
	{ "code", FT_STRING, FF_REQUIRED, FS_CODE, 0, 0, FB_NONE, NULL },
	{ "timeout", FT_NUMBER, FF_NULL_ABSENT, FS_TIMEOUT, 1, 30,
	    FB_MAX_TIMEOUT, NULL },
	F_END,
};

static const struct field seed002_fields[] = {
	{ "script", FT_STRING, FF_REQUIRED | FF_NONEMPTY | FF_NONUL, FS_CODE,
	    0, 0, FB_NONE, NULL },
	F_END,
};

static const struct field seed003_fields[] = {
	{ "generated_code", FT_STRING, FF_REQUIRED | FF_NONEMPTY | FF_NONUL,
	    FS_CODE, 0, 0, FB_NONE, NULL },
	{ "timeout", FT_NUMBER, FF_NULL_ABSENT | FF_CLAMP, FS_TIMEOUT, 0.1,
	    1e9, FB_MAX_TIMEOUT, NULL },	/* no cap in the seed: clamped */
	{ "language", FT_WORD, FF_NULL_ABSENT | FF_WORD_CI, FS_NONE, 0, 0,
	    FB_NONE, "python" },
	F_SESSION_ROW,
	F_END,
};

/* DELETE /v1/workspace: which one (else the header's, else "default"). */
static const struct field workspace_fields[] = {
	F_SESSION_ROW,
	F_END,
};

/* POST /v1/sessions: a live session's name and limits (every one may be
 * left out: the service picks a name, the limits are the defaults). */
static const struct field session_create_fields[] = {
	F_SESSION_ROW,
	{ "memory_limit", FT_MEMORY, 0, FS_MEMORY, 0, 0, FB_MAX_MEMORY, NULL },
	{ "cpu_limit", FT_NUMBER, 0, FS_CPU, 0.1, 1e9, FB_MAX_CPU, NULL },
	{ "idle_timeout", FT_NUMBER, 0, FS_IDLE, 1, 1e9, FB_MAX_IDLE, NULL },
	F_END,
};

static const struct field seed001_execute_fields[] = {
	{ "code", FT_STRING, FF_REQUIRED | FF_NONEMPTY | FF_NONUL, FS_CODE,
	    0, 1e9, FB_MAX_INPUT, NULL },
	F_END,
};

static const struct field seed001_generate_fields[] = {
	{ "query", FT_STRING, FF_REQUIRED | FF_NONEMPTY | FF_NONUL | FF_NOCTRL,
	    FS_QUERY, 0, 1e9, FB_MAX_INPUT, NULL },
	F_END,
};

/* The tables (designated: what is not named is false, 0, RUN_MODE_SCRIPT,
 * WS_NEVER).  Which route takes which table is the route table's
 * (serve/routes.c) to say. */
const struct field_table request_execute = { .fields = execute_fields,
	.strict = true, .artifacts = true, .display = true, .ws = WS_OPT_IN };
const struct field_table request_generate = { .fields = generate_fields,
	.strict = true, .artifacts = true, .display = true, .ws = WS_OPT_IN };
const struct field_table request_session_fork = {
	.fields = workspace_fields, .strict = true, .ws = WS_NEVER };
const struct field_table request_session_create = {
	.fields = session_create_fields, .strict = true, .ws = WS_NEVER };
const struct field_table request_workspace = { .fields = workspace_fields,
	.strict = true };
const struct field_table request_seed000_execute = {
	.fields = seed000_execute_fields, .strict = true };
const struct field_table request_seed000_generate = {
	.fields = seed000_generate_fields, .strict = true };
const struct field_table request_seed004 = { .fields = seed004_fields,
	.timeout = 5 };
const struct field_table request_seed002 = { .fields = seed002_fields,
	.timeout = 30, .mode = RUN_MODE_MAIN };
const struct field_table request_seed003 = { .fields = seed003_fields,
	.timeout = 10, .unwrap = true, .ws = WS_ALWAYS };
const struct field_table request_seed001_execute = {
	.fields = seed001_execute_fields, .policy = true, .show = true };
const struct field_table request_seed001_generate = {
	.fields = seed001_generate_fields, .show = true };

/* Sets e to kind with pyexec's own words for it; returns INVALID. */
static enum pyexec_err __attribute__((format(printf, 4, 5)))
field_fail(struct field_error *e, const struct field *f, enum field_kind kind,
    const char *fmt, ...)
{
	va_list	ap;

	e->kind = kind;
	e->f = f;
	if (f != NULL)
		snprintf(e->name, sizeof(e->name), "%s", f->name);
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return kind == FK_NOMEM ? PYEXEC_ERR_NOMEM : PYEXEC_ERR_INVALID;
}

/* The field's upper bound: its own, capped by the configuration's. */
static double
field_hi(const struct field *f, const struct pyexec_config *c)
{
	double	cap;

	switch (f->bound) {
	case FB_MAX_TIMEOUT:	cap = c->max_timeout; break;
	case FB_MAX_CPU:	cap = c->max_cpu; break;
	case FB_MAX_MEMORY:	cap = c->max_memory_mb; break;
	case FB_MAX_QUERY:	cap = c->max_query_chars; break;
	case FB_MAX_INPUT:	cap = c->max_input_length; break;
	case FB_MAX_IDLE:	cap = c->ss_idle; break;
	default:		return f->hi;
	}
	/* A query goes into the prompt: PYEXEC_MAX_QUERY_CHARS caps it on
	 * every route. */
	if (f->slot == FS_QUERY && c->max_query_chars < cap)
		cap = c->max_query_chars;
	return f->hi > 0 && f->hi < cap ? f->hi : cap;
}

static char **
field_string_slot(struct exec_request *r, enum field_slot s, size_t **len)
{
	switch (s) {
	case FS_CODE:	*len = &r->code_len; return &r->code;
	case FS_STDIN:	*len = &r->stdin_len; return &r->stdin_data;
	case FS_QUERY:	*len = &r->query_len; return &r->query;
	default:	return NULL;
	}
}

/* A string: its checks by flag, then a copy into its slot. */
static enum pyexec_err
field_string(const struct field *f, struct json_object *v,
    const struct pyexec_config *c, struct exec_request *r,
    struct field_error *e)
{
	const char	*s = json_object_get_string(v);
	size_t		 len, i, chars = 0, *lenp;
	char		**out;
	unsigned char	 ch;

	if (!json_object_is_type(v, json_type_string))
		return field_fail(e, f, FK_TYPE, "must be a string");
	len = (size_t)json_object_get_string_len(v);
	if ((f->flags & FF_NONEMPTY) && len == 0)
		return field_fail(e, f, FK_EMPTY, "must not be empty");
	if ((f->flags & FF_NONUL) && memchr(s, '\0', len) != NULL)
		return field_fail(e, f, FK_NUL, "must not contain NUL bytes");
	if (!envelope_utf8_valid(s, len))
		return field_fail(e, f, FK_UTF8, "must be valid UTF-8");
	for (i = 0; i < len; i++) {
		ch = (unsigned char)s[i];
		if ((f->flags & FF_NOCTRL) && ((ch < 0x20 && ch != '\t' &&
		    ch != '\n' && ch != '\r') || ch == 0x7f))
			return field_fail(e, f, FK_CONTROL, "must not contain "
			    "control characters (found 0x%02x)", ch);
		chars += (ch & 0xc0) != 0x80;
	}
	e->hi = field_hi(f, c);
	if (e->hi > 0 && (double)chars > e->hi)
		return field_fail(e, f, FK_TOO_LONG, "must be at most %g "
		    "characters (got %zu)", e->hi, chars);
	if (f->slot == FS_SESSION) {
		if (len > WS_NAME_MAX || !ws_session_ok(s))
			return field_fail(e, f, FK_TYPE, "1 to %d of A-Z a-z "
			    "0-9 . _ - (not . or ..)", WS_NAME_MAX);
		memcpy(r->session, s, len + 1);
		return PYEXEC_OK;
	}
	if ((out = field_string_slot(r, f->slot, &lenp)) == NULL)
		return PYEXEC_OK;
	if ((*out = malloc(len + 1)) == NULL)
		return field_fail(e, f, FK_NOMEM, "out of memory");
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	*lenp = len;
	return PYEXEC_OK;
}

/* A number (FT_NUMBER, FT_INT) within [lo, field_hi]. */
static enum pyexec_err
field_number(const struct field *f, struct json_object *v,
    const struct pyexec_config *c, struct exec_request *r,
    struct field_error *e)
{
	double	d = json_object_get_double(v);

	e->lo = f->lo;
	e->hi = field_hi(f, c);
	if (f->type == FT_INT ? !json_object_is_type(v, json_type_int) :
	    !json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		goto bad;
	if (!isfinite(d))
		goto bad;
	if ((d < e->lo || d > e->hi) && !(f->flags & FF_CLAMP))
		goto bad;
	if (d < e->lo || d > e->hi) {
		if (f->slot == FS_TIMEOUT) {
			r->timeout_clamped = true;
			r->timeout_asked = d;
		}
		d = d < e->lo ? e->lo : e->hi;
	}
	if (f->slot == FS_TIMEOUT)
		r->timeout = d;
	else if (f->slot == FS_CPU)
		r->cpu_limit = d;
	else if (f->slot == FS_ATTEMPTS)
		r->max_attempts = (unsigned)d;
	else if (f->slot == FS_IDLE)
		r->idle_s = (unsigned)d;
	return PYEXEC_OK;
bad:
	if (f->type == FT_INT)
		return field_fail(e, f, json_object_is_type(v, json_type_int) ?
		    FK_RANGE : FK_TYPE, "must be an integer from %g to %g",
		    e->lo, e->hi);
	return field_fail(e, f, json_object_is_type(v, json_type_double) ||
	    json_object_is_type(v, json_type_int) ? FK_RANGE : FK_TYPE,
	    "must be a number between %g and %g", e->lo, e->hi);
}

/*
 * A memory size: an integer of MB, or a string "100m", "1g", "65536k"
 * (a bare number in a string is MB too).  Range is checked by the caller.
 */
enum pyexec_err
request_parse_memory(struct json_object *v, uint64_t *bytes)
{
	const char	*s;
	int64_t		 i;

	if (json_object_is_type(v, json_type_int)) {
		i = json_object_get_int64(v);
		if (i <= 0 || i > (int64_t)(UINT64_MAX >> 21))
			return PYEXEC_ERR_INVALID;
		*bytes = (uint64_t)i << 20;
		return PYEXEC_OK;
	}
	if (!json_object_is_type(v, json_type_string))
		return PYEXEC_ERR_INVALID;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s) || *s == '\0')
		return PYEXEC_ERR_INVALID;
	if (isdigit((unsigned char)s[strlen(s) - 1])) {
		if (config_parse_size(s, bytes) != 0 || *bytes > (UINT64_MAX >> 20))
			return PYEXEC_ERR_INVALID;
		*bytes <<= 20;
		return PYEXEC_OK;
	}
	return config_parse_size(s, bytes) == 0 ? PYEXEC_OK : PYEXEC_ERR_INVALID;
}

static enum pyexec_err
field_memory(const struct field *f, struct json_object *v,
    const struct pyexec_config *c, struct exec_request *r,
    struct field_error *e)
{
	uint64_t	b;

	e->lo = PYEXEC_MIN_MEMORY_MB;
	e->hi = field_hi(f, c);
	if (request_parse_memory(v, &b) != PYEXEC_OK ||
	    b < ((uint64_t)PYEXEC_MIN_MEMORY_MB << 20) ||
	    b > ((uint64_t)e->hi * 1048576))
		return field_fail(e, f, FK_RANGE, "must be between %u MB and "
		    "%g MB, as an integer of MB or a string like \"100m\" or "
		    "\"1g\"", PYEXEC_MIN_MEMORY_MB, e->hi);
	r->memory_bytes = b;
	return PYEXEC_OK;
}

/* FT_WORD: one of f->words ("a|b"); FS_MODE takes "main" as main(). */
static enum pyexec_err
field_word(const struct field *f, struct json_object *v,
    struct exec_request *r, struct field_error *e)
{
	const char	*s = json_object_get_string(v), *w = f->words, *bar;
	size_t		 n, len = (size_t)json_object_get_string_len(v);
	char		 list[128] = "";

	for (; json_object_is_type(v, json_type_string) && w != NULL;
	    w = bar != NULL ? bar + 1 : NULL) {
		bar = strchr(w, '|');
		n = bar != NULL ? (size_t)(bar - w) : strlen(w);
		if (len == n && ((f->flags & FF_WORD_CI) ? strncasecmp(s, w, n) :
		    strncmp(s, w, n)) == 0) {
			if (f->slot == FS_MODE)
				r->mode = strcmp(s, "main") == 0 ?
				    RUN_MODE_MAIN : RUN_MODE_SCRIPT;
			return PYEXEC_OK;
		}
	}
	snprintf(e->value, sizeof(e->value), "%.64s", s != NULL ? s : "null");
	/* "a|b" as "\"a\" or \"b\"" */
	for (n = 0, w = f->words; *w != '\0' && n + 8 < sizeof(list); w++)
		n += (size_t)(*w == '|' ? snprintf(list + n, sizeof(list) - n,
		    "\" or \"") : snprintf(list + n, sizeof(list) - n, "%c", *w));
	return field_fail(e, f, FK_WORD, "must be \"%s\"", list);
}
/*
 * What request_parse() asks of the gate when its table refuses duplicate
 * fields (json-c keeps the last of them silently): the first key given
 * twice in the top-level object, and the first object of the top-level
 * array "files" with a key given twice (its index and key).  Keys are
 * compared decoded ("\u0063ode" is "code").
 */
struct request_dups {
	bool	 top;		/* a top-level key given twice: */
	char	 top_key[65];
	long	 file;		/* -1, or files[file] has one: */
	char	 file_key[65];
};

static bool
request_dup_seen(void *arg, const struct json_dup *d)
{
	struct request_dups	*q = arg;

	if (d->depth == 1 && !q->top) {
		q->top = true;
		snprintf(q->top_key, sizeof(q->top_key), "%.64s", d->key);
	} else if (d->depth == 3 && q->file < 0 && d->path[0].key != NULL &&
	    d->path[1].key == NULL && strcmp(d->path[0].key, "files") == 0) {
		q->file = (long)d->path[1].index;
		snprintf(q->file_key, sizeof(q->file_key), "%.64s", d->key);
	}
	return !q->top;		/* a top-level one answers first */
}

/*
 * Parses len bytes of body as a JSON document with at most
 * REQUEST_MAX_DEPTH levels: json_strict_scan() is the one look at the
 * bytes (NUL, UTF-8, grammar, depth and, when dups is not NULL, duplicate
 * keys into *dups), then json-c builds the tree.  Returns the object
 * (caller puts it) or NULL with msg set.
 */
static struct json_object *
request_gate(const char *body, size_t len, struct request_dups *dups,
    char *msg, size_t msglen)
{
	struct json_object	*obj;
	struct json_scan	 scan;
	enum json_tokener_error	 jerr;
	size_t			 off;

	switch (json_strict_scan(body, len, REQUEST_MAX_DEPTH, JS_TEXT,
	    dups != NULL ? request_dup_seen : NULL, dups, &scan)) {
	case JSON_OK:
		break;
	case JSON_NUL:
		snprintf(msg, msglen, "body: must not contain NUL bytes");
		return NULL;
	case JSON_UTF8:
		snprintf(msg, msglen, "body: invalid UTF-8");
		return NULL;
	case JSON_DEPTH:
		snprintf(msg, msglen, "body: invalid JSON (nested deeper than "
		    "%d levels)", REQUEST_MAX_DEPTH);
		return NULL;
	case JSON_NOMEM:
		snprintf(msg, msglen, "body: out of memory");
		return NULL;
	default:
		snprintf(msg, msglen, "body: invalid JSON (%s)", scan.why);
		return NULL;
	}
	obj = json_strict_build(body, len, REQUEST_MAX_DEPTH, &jerr, &off);
	if (obj == NULL && jerr == json_tokener_success)
		snprintf(msg, msglen, "body: must be a JSON object");
	else if (obj == NULL && off == SIZE_MAX)
		snprintf(msg, msglen, "body: out of memory");
	else if (obj == NULL && jerr == json_tokener_continue)
		snprintf(msg, msglen, "body: invalid JSON (unexpected end)");
	else if (obj == NULL && jerr == json_tokener_error_depth)
		snprintf(msg, msglen, "body: invalid JSON (nested deeper than "
		    "%d levels)", REQUEST_MAX_DEPTH);
	else if (obj == NULL)
		snprintf(msg, msglen, "body: invalid JSON (%s at byte %zu)",
		    json_tokener_error_desc(jerr), off);
	else {
		while (off < len && isspace((unsigned char)body[off]))
			off++;
		if (off != len) {
			snprintf(msg, msglen, "body: invalid JSON (trailing "
			    "data at byte %zu)", off);
			json_object_put(obj);
			obj = NULL;
		}
	}
	return obj;
}

struct json_object *
request_json(const char *body, size_t len, char *msg, size_t msglen)
{
	return request_gate(body, len, NULL, msg, msglen);
}

/*
 * An input file's name: 1-255 bytes of UTF-8, no '/', no NUL, no control
 * character (C0, DEL, C1), no format character or line separator that a
 * reader cannot see (unicode.c), not "." or "..".  NULL, or what is wrong
 * (a static string, or buf).
 */
const char *
request_file_name_bad(const char *s, size_t len, char *buf, size_t buflen)
{
	uint32_t	cp;

	if (len == 0)
		return "must not be empty";
	if (len > 255)
		return "must be at most 255 bytes";
	if (memchr(s, '\0', len) != NULL)
		return "must not contain NUL bytes";
	if (!envelope_utf8_valid(s, len))
		return "must be valid UTF-8";
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return "must not be \".\" or \"..\"";
	if (memchr(s, '/', len) != NULL)
		return "must not contain '/' (a name in the working "
		    "directory, not a path)";
	switch (unicode_name_hidden(s, len, &cp)) {
	case UNICODE_CONTROL:
		return "must not contain control characters";
	case UNICODE_FORMAT:
		snprintf(buf, buflen, "must not contain invisible format "
		    "characters (found U+%04X)", (unsigned)cp);
		return buf;
	case UNICODE_SHOWN:
		break;
	}
	return NULL;
}

/* Strict base64 also wants the bits past the last byte zero ("QR==" is
 * not "QQ=="): one spelling per content. */
static bool
b64_canonical(const char *s, size_t len)
{
	static const char	t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				    "opqrstuvwxyz0123456789+/";
	const char		*p;

	if (len < 4 || s[len - 1] != '=')
		return true;
	if (s[len - 2] == '=')
		return (p = strchr(t, s[len - 3])) != NULL && ((p - t) & 15) == 0;
	return (p = strchr(t, s[len - 2])) != NULL && ((p - t) & 3) == 0;
}

static enum pyexec_err
file_fail(struct field_error *e, const struct field *f, enum field_kind kind,
    size_t i, const char *member, const char *text)
{
	field_fail(e, f, kind, "%s", text);
	snprintf(e->name, sizeof(e->name), "%s[%zu]%s%s", f->name, i,
	    *member ? "." : "", member);
	return kind == FK_NOMEM ? PYEXEC_ERR_NOMEM : PYEXEC_ERR_INVALID;
}

/*
 * FT_FILES: an array of at most max_input_files objects with exactly
 * "name" and "content" (strict base64), decoded into r->files; each at
 * most max_input_file bytes, all at most max_input_bytes, names distinct.
 */
static enum pyexec_err
field_files(const struct field *f, struct json_object *v,
    const struct pyexec_config *c, struct exec_request *r,
    struct field_error *e)
{
	struct json_object	*o, *name, *content;
	struct run_file		*rf;
	const char		*why, *s;
	char			 text[160];
	size_t			 i, j, n, len, dlen;

	if (!json_object_is_type(v, json_type_array))
		return field_fail(e, f, FK_TYPE, "must be an array of "
		    "{\"name\", \"content\"} objects");
	n = json_object_array_length(v);
	e->hi = c->max_input_files;
	if (n > c->max_input_files)
		return field_fail(e, f, FK_CAP, "at most %u files "
		    "(PYEXEC_MAX_INPUT_FILES), got %zu", c->max_input_files, n);
	if (n == 0)
		return PYEXEC_OK;
	if ((r->files = calloc(n, sizeof(*r->files))) == NULL)
		return field_fail(e, f, FK_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(v, i);
		if (!json_object_is_type(o, json_type_object))
			return file_fail(e, f, FK_TYPE, i, "", "must be an object "
			    "with \"name\" and \"content\"");
		json_object_object_foreach(o, key, val) {
			(void)val;
			if (strcmp(key, "name") != 0 && strcmp(key, "content") != 0) {
				snprintf(text, sizeof(text), "unknown field %.64s "
				    "(only \"name\" and \"content\")", key);
				return file_fail(e, f, FK_TYPE, i, "", text);
			}
		}
		if (!json_object_object_get_ex(o, "name", &name))
			return file_fail(e, f, FK_MISSING, i, "name", "is required");
		if (!json_object_object_get_ex(o, "content", &content))
			return file_fail(e, f, FK_MISSING, i, "content",
			    "is required");
		if (!json_object_is_type(name, json_type_string))
			return file_fail(e, f, FK_TYPE, i, "name",
			    "must be a string");
		s = json_object_get_string(name);
		len = (size_t)json_object_get_string_len(name);
		if ((why = request_file_name_bad(s, len, text,
		    sizeof(text))) != NULL)
			return file_fail(e, f, FK_NAME, i, "name", why);
		for (j = 0; j < i; j++)
			if (r->files[j].name_len == len &&
			    memcmp(r->files[j].name, s, len) == 0) {
				snprintf(text, sizeof(text), "the same name as "
				    "files[%zu] (names must be distinct)", j);
				return file_fail(e, f, FK_NAME, i, "name", text);
			}
		if (!json_object_is_type(content, json_type_string))
			return file_fail(e, f, FK_TYPE, i, "content",
			    "must be a string (base64)");
		rf = &r->files[r->nfiles];
		if ((rf->name = malloc(len + 1)) == NULL)
			return field_fail(e, f, FK_NOMEM, "out of memory");
		memcpy(rf->name, s, len);
		rf->name[len] = '\0';
		rf->name_len = len;
		r->nfiles++;
		s = json_object_get_string(content);
		len = (size_t)json_object_get_string_len(content);
		/* The cap before the decoding: what the text would make. */
		dlen = len / 4 * 3;
		if (dlen > c->max_input_file + 2) {
			snprintf(text, sizeof(text), "at most %zu bytes once "
			    "decoded (PYEXEC_MAX_INPUT_FILE_BYTES), got about %zu",
			    c->max_input_file, dlen);
			e->hi = (double)c->max_input_file;
			return file_fail(e, f, FK_CAP, i, "content", text);
		}
		if ((rf->data = artifact_b64_decode(s, len, &rf->len)) == NULL ||
		    !b64_canonical(s, len))
			return file_fail(e, f, FK_BASE64, i, "content", "must be "
			    "base64 (RFC 4648: A-Z a-z 0-9 + /, padded with =, no "
			    "whitespace or line breaks)");
		if (rf->len > c->max_input_file) {
			snprintf(text, sizeof(text), "at most %zu bytes once "
			    "decoded (PYEXEC_MAX_INPUT_FILE_BYTES), got %zu",
			    c->max_input_file, rf->len);
			e->hi = (double)c->max_input_file;
			return file_fail(e, f, FK_CAP, i, "content", text);
		}
		r->files_bytes += rf->len;
		if (r->files_bytes > c->max_input_bytes) {
			e->hi = (double)c->max_input_bytes;
			return field_fail(e, f, FK_CAP, "at most %zu bytes in all "
			    "once decoded (PYEXEC_MAX_INPUT_BYTES), got %zu with "
			    "files[0] to files[%zu]", c->max_input_bytes,
			    r->files_bytes, i);
		}
	}
	return PYEXEC_OK;
}

static const struct field *
field_find(const struct field *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

static enum pyexec_err
field_check(const struct field *f, struct json_object *v,
    const struct pyexec_config *c, struct exec_request *r,
    struct field_error *e)
{
	switch (f->type) {
	case FT_STRING:
		return field_string(f, v, c, r, e);
	case FT_NUMBER:
	case FT_INT:
		return field_number(f, v, c, r, e);
	case FT_MEMORY:
		return field_memory(f, v, c, r, e);
	case FT_WORD:
		return field_word(f, v, r, e);
	case FT_FILES:
		return field_files(f, v, c, r, e);
	case FT_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return field_fail(e, f, FK_TYPE, "must be true or false");
		if (f->slot == FS_ARTIFACTS)
			r->artifacts = r->artifacts &&
			    json_object_get_boolean(v);
		else
			r->validate_code = json_object_get_boolean(v);
		return PYEXEC_OK;
	}
	return field_fail(e, f, FK_TYPE, "unknown field type");
}

/* The run's defaults, all in one place: the configured ones, and the
 * table's own timeout capped by the table's and the configured maximum. */
static void
request_defaults(const struct field_table *t, const struct pyexec_config *c,
    struct exec_request *r)
{
	const struct field	*f = field_find(t->fields, "timeout");
	double			 cap = c->max_timeout;

	memset(r, 0, sizeof(*r));
	if (f != NULL)
		cap = field_hi(f, c);
	r->timeout = t->timeout > 0 ? (t->timeout < cap ? t->timeout : cap) :
	    c->default_timeout;
	r->memory_bytes = (uint64_t)c->default_memory_mb << 20;
	r->cpu_limit = config_default_cpu(c);
	r->max_attempts = 1;
	r->mode = t->mode;
	r->unwrap = t->unwrap;
	r->policy = t->policy;
	r->show = t->show;
	r->display = t->display;
	r->artifacts = t->artifacts;
	r->ws = t->ws;
}

/*
 * Validates body against table t into r (which the caller then owns and
 * frees with request_free(), also on error).  On PYEXEC_ERR_INVALID e says
 * what failed; e->text is in pyexec's own words.
 */
enum pyexec_err
request_parse(const struct field_table *t, const char *body, size_t len,
    const struct pyexec_config *c, struct exec_request *r,
    struct field_error *e)
{
	struct json_object	*obj;
	enum pyexec_err		 rc = PYEXEC_OK;
	const struct field	*f;
	struct request_dups	 dups = { .file = -1 };
	char			 msg[256];

	request_defaults(t, c, r);
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "body");
	if ((obj = request_gate(body, len, t->strict ? &dups : NULL, msg,
	    sizeof(msg))) == NULL)
		return field_fail(e, NULL, FK_BODY, "%s", strncmp(msg, "body: ",
		    6) == 0 ? msg + 6 : msg);
	if (!json_object_is_type(obj, json_type_object)) {
		rc = field_fail(e, NULL, FK_NOT_OBJECT, "must be a JSON object");
		goto out;
	}
	if (dups.top) {
		snprintf(e->name, sizeof(e->name), "%s", dups.top_key);
		rc = field_fail(e, NULL, FK_DUPLICATE, "duplicate field (given "
		    "more than once)");
		goto out;
	}
	if (dups.file >= 0 && field_find(t->fields, "files") != NULL) {
		rc = field_fail(e, NULL, FK_DUPLICATE, "duplicate field %s "
		    "(given more than once)", dups.file_key);
		snprintf(e->name, sizeof(e->name), "files[%ld]", dups.file);
		goto out;
	}
	json_object_object_foreach(obj, key, val) {
		if ((f = field_find(t->fields, key)) == NULL) {
			if (!t->strict)
				continue;
			snprintf(e->name, sizeof(e->name), "%.64s", key);
			rc = field_fail(e, NULL, FK_UNKNOWN, "unknown field: %.64s",
			    key);
			goto out;
		}
		if (val == NULL && (f->flags & FF_NULL_ABSENT))
			continue;
		if ((rc = field_check(f, val, c, r, e)) != PYEXEC_OK)
			goto out;
	}
	for (f = t->fields; f->name != NULL; f++)
		if ((f->flags & FF_REQUIRED) &&
		    !json_object_object_get_ex(obj, f->name, NULL)) {
			rc = field_fail(e, f, FK_MISSING, "is required");
			goto out;
		}
out:
	json_object_put(obj);
	return rc;
}

/* e in pyexec's own words: "field: what is wrong" (the native dialect;
 * an unknown field's text names it already). */
void
request_native_text(const struct field_error *e, char *buf, size_t len)
{
	if (e->kind == FK_UNKNOWN)
		snprintf(buf, len, "%s", e->text);
	else
		snprintf(buf, len, "%s: %s", e->name, e->text);
}

static const char *
field_type_name(enum field_type t)
{
	switch (t) {
	case FT_STRING:	return "string";
	case FT_NUMBER:	return "number";
	case FT_INT:	return "integer";
	case FT_BOOL:	return "boolean";
	case FT_MEMORY:	return "memory";
	case FT_WORD:	return "word";
	case FT_FILES:	return "files";
	}
	return "?";
}

/* "a|b" as ["a", "b"] */
static struct json_object *
field_words_json(const char *w)
{
	struct json_object	*a = json_object_new_array();
	const char		*bar;

	for (; w != NULL; w = bar != NULL ? bar + 1 : NULL) {
		bar = strchr(w, '|');
		json_object_array_add(a, json_object_new_string_len(w,
		    bar != NULL ? (int)(bar - w) : (int)strlen(w)));
	}
	return a;
}

/* d as a JSON number in its shortest spelling (16, 0.1). */
static struct json_object *
field_num_json(double d)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%.15g", d);
	return json_object_new_double_s(d, buf);
}

/* The bounds a field's values must keep under c, as request_parse checks
 * them: "minimum"/"maximum" (numbers, MB of memory), "min_length"/
 * "max_length" (characters), "max_items" (files); "configurable" when a
 * setting caps the maximum (c's value is printed). */
static void
field_bounds_json(const struct field *f, const struct pyexec_config *c,
    struct json_object *o)
{
	double	hi = field_hi(f, c);

#define ADD(k, v)	json_object_object_add(o, k, v)
	ADD("configurable", json_object_new_boolean(f->bound != FB_NONE ||
	    f->type == FT_FILES));
	switch (f->type) {
	case FT_STRING:
		if (f->slot == FS_SESSION)
			hi = WS_NAME_MAX;
		if (f->flags & FF_NONEMPTY)
			ADD("min_length", json_object_new_int(1));
		if (hi > 0 && hi < 1e9)
			ADD("max_length", field_num_json(hi));
		break;
	case FT_NUMBER:
	case FT_INT:
	case FT_MEMORY:
		ADD("minimum", field_num_json(f->type == FT_MEMORY ?
		    PYEXEC_MIN_MEMORY_MB : f->lo));
		if (hi > 0 && hi < 1e9)
			ADD("maximum", field_num_json(hi));
		break;
	case FT_FILES:
		ADD("max_items", json_object_new_int((int)c->max_input_files));
		break;
	case FT_WORD:
		ADD("words", field_words_json(f->words));
		ADD("words_ignore_case",
		    json_object_new_boolean(f->flags & FF_WORD_CI));
		break;
	case FT_BOOL:
		break;
	}
#undef ADD
}

static struct json_object *
field_json(const struct field *f, const struct pyexec_config *c)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(f->name));
	json_object_object_add(o, "type",
	    json_object_new_string(field_type_name(f->type)));
	json_object_object_add(o, "session",
	    json_object_new_boolean(f->slot == FS_SESSION));
	json_object_object_add(o, "required",
	    json_object_new_boolean(f->flags & FF_REQUIRED));
	json_object_object_add(o, "null_is_absent",
	    json_object_new_boolean(f->flags & FF_NULL_ABSENT));
	json_object_object_add(o, "no_nul",
	    json_object_new_boolean(f->flags & FF_NONUL));
	json_object_object_add(o, "no_control",
	    json_object_new_boolean(f->flags & FF_NOCTRL));
	json_object_object_add(o, "clamped",
	    json_object_new_boolean(f->flags & FF_CLAMP));
	field_bounds_json(f, c, o);
	return o;
}

/* Table t as `pyexec-fcgi --fields` prints it, its bounds as c makes
 * them (the caller puts it): whether unknown and duplicate fields are
 * refused, and each field in order. */
struct json_object *
request_table_json(const struct field_table *t, const struct pyexec_config *c)
{
	struct json_object	*o = json_object_new_object(), *a;
	const struct field	*f;

	json_object_object_add(o, "strict", json_object_new_boolean(t->strict));
	a = json_object_new_array();
	for (f = t->fields; f->name != NULL; f++)
		json_object_array_add(a, field_json(f, c));
	json_object_object_add(o, "fields", a);
	return o;
}

static enum pyexec_err
request_parse_native(const struct field_table *t, const char *body,
    size_t len, const struct pyexec_config *c, struct exec_request *r,
    char *msg, size_t msglen)
{
	struct field_error	e;
	enum pyexec_err		rc = request_parse(t, body, len, c, r, &e);

	if (rc != PYEXEC_OK)
		request_native_text(&e, msg, msglen);
	return rc;
}

enum pyexec_err
request_parse_execute(const char *body, size_t len,
    const struct pyexec_config *c, struct exec_request *r, char *msg,
    size_t msglen)
{
	return request_parse_native(&request_execute, body, len, c, r, msg,
	    msglen);
}

enum pyexec_err
request_parse_generate(const char *body, size_t len,
    const struct pyexec_config *c, struct exec_request *r, char *msg,
    size_t msglen)
{
	return request_parse_native(&request_generate, body, len, c, r, msg,
	    msglen);
}

/* Frees what r owns; r itself is the caller's. */
void
request_free(struct exec_request *r)
{
	free(r->code);
	free(r->stdin_data);
	free(r->query);
	r->code = r->stdin_data = r->query = NULL;
	while (r->files != NULL && r->nfiles > 0) {
		r->nfiles--;
		free(r->files[r->nfiles].name);
		free(r->files[r->nfiles].data);
	}
	free(r->files);
	r->files = NULL;
	r->files_bytes = 0;
}
