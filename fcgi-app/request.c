/*
 * request.c: strict validation of request bodies.
 *
 * The fields are a table of (name, required, validator) per route, as kcgi
 * validates its form fields: adding a field is adding a row.  Anything not in the
 * table is refused, and every message starts with the field at fault.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyexec.h"

#define REQUEST_MAX_DEPTH	32

typedef enum pyexec_err (*field_fn)(struct json_object *,
    const struct pyexec_config *, struct exec_request *, char *, size_t);

struct field {
	const char	*name;
	bool		 required;
	field_fn	 check;
};

static enum pyexec_err
field_string(struct json_object *v, const char *name, bool nonempty,
    bool nonul, char **out, size_t *outlen, char *msg, size_t msglen)
{
	const char	*s;
	size_t		 len;

	if (!json_object_is_type(v, json_type_string)) {
		snprintf(msg, msglen, "%s: must be a string", name);
		return PYEXEC_ERR_INVALID;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (nonempty && len == 0) {
		snprintf(msg, msglen, "%s: must not be empty", name);
		return PYEXEC_ERR_INVALID;
	}
	if (nonul && memchr(s, '\0', len) != NULL) {
		snprintf(msg, msglen, "%s: must not contain NUL bytes", name);
		return PYEXEC_ERR_INVALID;
	}
	if (!envelope_utf8_valid(s, len)) {
		snprintf(msg, msglen, "%s: must be valid UTF-8", name);
		return PYEXEC_ERR_INVALID;
	}
	if ((*out = malloc(len + 1)) == NULL)
		return PYEXEC_ERR_NOMEM;
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	*outlen = len;
	return PYEXEC_OK;
}

/* A JSON number (not a boolean, not a string) within [lo, hi]. */
static enum pyexec_err
field_number(struct json_object *v, const char *name, double lo, double hi,
    double *out, char *msg, size_t msglen)
{
	double	d;

	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		goto bad;
	d = json_object_get_double(v);
	if (!isfinite(d) || d < lo || d > hi)
		goto bad;
	*out = d;
	return PYEXEC_OK;
bad:
	snprintf(msg, msglen, "%s: must be a number between %g and %g",
	    name, lo, hi);
	return PYEXEC_ERR_INVALID;
}

static enum pyexec_err
check_code(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	return field_string(v, "code", true, true, &r->code, &r->code_len,
	    msg, msglen);
}

static enum pyexec_err
check_stdin(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	return field_string(v, "stdin", false, false, &r->stdin_data,
	    &r->stdin_len, msg, msglen);
}

static enum pyexec_err
check_timeout(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	return field_number(v, "timeout", 0.1, c->max_timeout, &r->timeout,
	    msg, msglen);
}

static enum pyexec_err
check_cpu(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	return field_number(v, "cpu_limit", 0.1, c->max_cpu, &r->cpu_limit,
	    msg, msglen);
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
check_memory(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	uint64_t	b;

	if (request_parse_memory(v, &b) != PYEXEC_OK ||
	    b < ((uint64_t)PYEXEC_MIN_MEMORY_MB << 20) ||
	    b > ((uint64_t)c->max_memory_mb << 20)) {
		snprintf(msg, msglen, "memory_limit: must be between %u MB and "
		    "%u MB, as an integer of MB or a string like \"100m\" or "
		    "\"1g\"", PYEXEC_MIN_MEMORY_MB, c->max_memory_mb);
		return PYEXEC_ERR_INVALID;
	}
	r->memory_bytes = b;
	return PYEXEC_OK;
}

static enum pyexec_err
check_validate(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(msg, msglen, "validate_code: must be true or false");
		return PYEXEC_ERR_INVALID;
	}
	r->validate_code = json_object_get_boolean(v);
	return PYEXEC_OK;
}

static enum pyexec_err
check_attempts(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	int64_t	n;

	if (!json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) < 1 || n > 3) {
		snprintf(msg, msglen, "max_attempts: must be an integer from 1 to 3");
		return PYEXEC_ERR_INVALID;
	}
	r->max_attempts = (unsigned)n;
	return PYEXEC_OK;
}

/* A task in plain words: 1..max characters, no control characters but
 * tab and newlines. */
static enum pyexec_err
check_query(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	enum pyexec_err	 rc;
	size_t		 i, chars = 0;
	unsigned char	 ch;

	if ((rc = field_string(v, "query", true, true, &r->query, &r->query_len,
	    msg, msglen)) != PYEXEC_OK)
		return rc;
	for (i = 0; i < r->query_len; i++) {
		ch = (unsigned char)r->query[i];
		if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') ||
		    ch == 0x7f) {
			snprintf(msg, msglen, "query: must not contain control "
			    "characters (found 0x%02x)", ch);
			return PYEXEC_ERR_INVALID;
		}
		if ((ch & 0xc0) != 0x80)
			chars++;
	}
	if (chars > c->max_query_chars) {
		snprintf(msg, msglen, "query: must be at most %u characters "
		    "(got %zu)", c->max_query_chars, chars);
		return PYEXEC_ERR_INVALID;
	}
	return PYEXEC_OK;
}

static enum pyexec_err
check_mode(struct json_object *v, const struct pyexec_config *c,
    struct exec_request *r, char *msg, size_t msglen)
{
	const char	*s = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "";

	if (strcmp(s, "script") != 0 && strcmp(s, "main") != 0) {
		snprintf(msg, msglen, "mode: must be \"script\" or \"main\"");
		return PYEXEC_ERR_INVALID;
	}
	r->main_mode = strcmp(s, "main") == 0;
	return PYEXEC_OK;
}

static const struct field execute_fields[] = {
	{ "code",		true,	check_code },
	{ "timeout",		false,	check_timeout },
	{ "memory_limit",	false,	check_memory },
	{ "cpu_limit",		false,	check_cpu },
	{ "stdin",		false,	check_stdin },
	{ "validate_code",	false,	check_validate },
	{ "mode",		false,	check_mode },
	{ NULL,			false,	NULL },
};

static const struct field generate_fields[] = {
	{ "query",		true,	check_query },
	{ "timeout",		false,	check_timeout },
	{ "memory_limit",	false,	check_memory },
	{ "cpu_limit",		false,	check_cpu },
	{ "max_attempts",	false,	check_attempts },
	{ NULL,			false,	NULL },
};

/*
 * Parses len bytes of body as a JSON document with at most
 * REQUEST_MAX_DEPTH levels.  Returns the object (caller puts it) or NULL
 * with msg set.
 */
struct json_object *
request_json(const char *body, size_t len, char *msg, size_t msglen)
{
	struct json_tokener	*tok;
	struct json_object	*obj = NULL;
	enum json_tokener_error	 jerr;
	size_t			 off;
	char			 why[128];

	if (memchr(body, '\0', len) != NULL) {
		snprintf(msg, msglen, "body: must not contain NUL bytes");
		return NULL;
	}
	if (!envelope_utf8_valid(body, len)) {
		snprintf(msg, msglen, "body: invalid UTF-8");
		return NULL;
	}
	/* RFC 8259 first: json-c alone takes 'single quotes', NaN,
	 * Infinity and raw control characters. */
	if (json_strict_check(body, len, REQUEST_MAX_DEPTH, false, why,
	    sizeof(why)) != 0) {
		if (strncmp(why, "nested too deeply", 17) == 0)
			snprintf(msg, msglen, "body: invalid JSON (nested deeper "
			    "than %d levels)", REQUEST_MAX_DEPTH);
		else
			snprintf(msg, msglen, "body: invalid JSON (%s)", why);
		return NULL;
	}
	if ((tok = json_tokener_new_ex(REQUEST_MAX_DEPTH)) == NULL) {
		snprintf(msg, msglen, "body: out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (obj == NULL && jerr == json_tokener_continue && len > 0) {
		/* A bare number is complete only at the end of input. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		off = len;
	}
	if (obj == NULL && jerr == json_tokener_success) {
		snprintf(msg, msglen, "body: must be a JSON object");
		json_tokener_free(tok);
		return NULL;
	}
	if (obj == NULL && jerr == json_tokener_continue)
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
	json_tokener_free(tok);
	return obj;
}

/* The scanner below only ever sees text json_strict_check() and json-c
 * have accepted, and never reads past len anyway. */
static size_t
skip_ws(const char *b, size_t len, size_t i)
{
	while (i < len && isspace((unsigned char)b[i]))
		i++;
	return i;
}

/* b[i] is '"': the index just past the closing quote. */
static size_t
skip_string(const char *b, size_t len, size_t i)
{
	for (i++; i < len && b[i] != '"'; i++)
		if (b[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* b[i] starts a value: the index just past it. */
static size_t
skip_value(const char *b, size_t len, size_t i)
{
	int	depth = 0;

	for (; i < len; i++) {
		if (b[i] == '"') {
			i = skip_string(b, len, i) - 1;
			if (depth == 0)
				return i + 1;
		} else if (b[i] == '{' || b[i] == '[')
			depth++;
		else if (b[i] == '}' || b[i] == ']') {
			if (depth == 0)
				return i;		/* end of a scalar */
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (b[i] == ',' || isspace((unsigned char)b[i])))
			return i;
	}
	return i;
}

/*
 * json-c keeps the last of duplicate keys silently.  Walks the top-level
 * keys of the (already valid) object body and names the first key given
 * twice in dup, compared after decoding ("\u0063ode" is "code").
 * true if there is one.
 */
static bool
request_dup_key(const char *b, size_t len, char *dup, size_t duplen)
{
	struct json_object	*seen = json_object_new_object(), *k;
	char			*raw;
	size_t			 i = skip_ws(b, len, 0) + 1, end;
	bool			 found = false;

	while (!found && (i = skip_ws(b, len, i)) < len && b[i] == '"') {
		end = skip_string(b, len, i);
		if ((raw = strndup(b + i, end - i)) == NULL)
			break;
		k = json_tokener_parse(raw);
		free(raw);
		if (k == NULL || !json_object_is_type(k, json_type_string)) {
			json_object_put(k);
			break;
		}
		if (json_object_object_get_ex(seen, json_object_get_string(k), NULL)) {
			snprintf(dup, duplen, "%.64s", json_object_get_string(k));
			found = true;
		} else
			json_object_object_add(seen, json_object_get_string(k), NULL);
		json_object_put(k);
		i = skip_ws(b, len, end) + 1;			/* the ':' */
		i = skip_value(b, len, skip_ws(b, len, i));
		i = skip_ws(b, len, i) + 1;			/* ',' or '}' */
	}
	json_object_put(seen);
	return found;
}

static const struct field *
field_find(const struct field *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/*
 * Validates body against table into r (which the caller then owns and
 * frees with request_free(), also on error).  On PYEXEC_ERR_INVALID msg
 * names the field at fault.
 */
static enum pyexec_err
request_parse(const char *body, size_t len, const struct pyexec_config *c,
    const struct field *table, struct exec_request *r, char *msg,
    size_t msglen)
{
	struct json_object	*obj;
	enum pyexec_err		 rc = PYEXEC_OK;
	const struct field	*f;
	char			 dup[72];

	memset(r, 0, sizeof(*r));
	r->timeout = c->default_timeout;
	r->memory_bytes = (uint64_t)c->default_memory_mb << 20;
	r->cpu_limit = config_default_cpu(c);
	r->max_attempts = 1;

	if ((obj = request_json(body, len, msg, msglen)) == NULL)
		return PYEXEC_ERR_INVALID;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(msg, msglen, "body: must be a JSON object");
		rc = PYEXEC_ERR_INVALID;
		goto out;
	}
	if (request_dup_key(body, len, dup, sizeof(dup))) {
		snprintf(msg, msglen, "%s: duplicate field (given more than once)",
		    dup);
		rc = PYEXEC_ERR_INVALID;
		goto out;
	}
	json_object_object_foreach(obj, key, val) {
		if ((f = field_find(table, key)) == NULL) {
			snprintf(msg, msglen, "unknown field: %.64s", key);
			rc = PYEXEC_ERR_INVALID;
			goto out;
		}
		if ((rc = f->check(val, c, r, msg, msglen)) != PYEXEC_OK)
			goto out;
	}
	for (f = table; f->name != NULL; f++)
		if (f->required && !json_object_object_get_ex(obj, f->name, NULL)) {
			snprintf(msg, msglen, "%s: is required", f->name);
			rc = PYEXEC_ERR_INVALID;
			goto out;
		}
out:
	json_object_put(obj);
	return rc;
}

enum pyexec_err
request_parse_execute(const char *body, size_t len,
    const struct pyexec_config *c, struct exec_request *r, char *msg,
    size_t msglen)
{
	return request_parse(body, len, c, execute_fields, r, msg, msglen);
}

enum pyexec_err
request_parse_generate(const char *body, size_t len,
    const struct pyexec_config *c, struct exec_request *r, char *msg,
    size_t msglen)
{
	return request_parse(body, len, c, generate_fields, r, msg, msglen);
}

/* Frees what r owns; r itself is the caller's. */
void
request_free(struct exec_request *r)
{
	free(r->code);
	free(r->stdin_data);
	free(r->query);
	r->code = r->stdin_data = r->query = NULL;
}
