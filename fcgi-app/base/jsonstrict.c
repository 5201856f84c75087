/*
 * jsonstrict.c: is a buffer one JSON text exactly as RFC 8259 defines it?
 *
 * json-c's strict mode still accepts single-quoted strings, raw control
 * characters inside strings and NaN/Infinity, and a number such as 1e999
 * becomes an infinity that no JSON can carry.  Every text from outside
 * (request bodies, a run's report) passes this check before json-c sees
 * it.  The scanner reads only within [0, len), keeps its own stack depth
 * (no recursion) and names the first problem with its byte offset.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

#define JS_MAX_DEPTH	1100	/* a result json.dumps made may be ~1000 deep */

struct js {
	const unsigned char	*b;	/* borrowed */
	size_t			 len, i;
	bool			 finite;	/* numbers must be finite doubles */
	char			*msg;	/* borrowed: where the problem is named */
	size_t			 msglen;
};

static int
js_fail(struct js *s, const char *what)
{
	snprintf(s->msg, s->msglen, "%s at byte %zu", what, s->i);
	return -1;
}

static void
js_ws(struct js *s)
{
	while (s->i < s->len && (s->b[s->i] == ' ' || s->b[s->i] == '\t' ||
	    s->b[s->i] == '\n' || s->b[s->i] == '\r'))
		s->i++;
}

static int
js_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* b[i] is '"'. */
static int
js_string(struct js *s)
{
	unsigned char	c;
	int		k;

	for (s->i++; s->i < s->len; s->i++) {
		c = s->b[s->i];
		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c < 0x20)
			return js_fail(s, "raw control character in a string "
			    "(escape it)");
		if (c != '\\')
			continue;
		if (++s->i >= s->len)
			break;
		c = s->b[s->i];
		if (c == 'u') {
			for (k = 0; k < 4; k++)
				if (++s->i >= s->len || !js_hex(s->b[s->i]))
					return js_fail(s, "bad \\u escape");
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return js_fail(s, "bad escape in a string");
	}
	return js_fail(s, "unterminated string");
}

static int
js_digits(struct js *s)
{
	size_t	start = s->i;

	while (s->i < s->len && s->b[s->i] >= '0' && s->b[s->i] <= '9')
		s->i++;
	return s->i > start ? 0 : -1;
}

/* A number, which must also be finite as a double. */
static int
js_number(struct js *s)
{
	size_t	start = s->i;
	char	buf[64], *end;
	double	d;

	if (s->i < s->len && s->b[s->i] == '-')
		s->i++;
	if (s->i < s->len && s->b[s->i] == '0')
		s->i++;
	else if (js_digits(s) != 0)
		return js_fail(s, "invalid number");
	if (s->i < s->len && s->b[s->i] == '.') {
		s->i++;
		if (js_digits(s) != 0)
			return js_fail(s, "invalid number");
	}
	if (s->i < s->len && (s->b[s->i] == 'e' || s->b[s->i] == 'E')) {
		s->i++;
		if (s->i < s->len && (s->b[s->i] == '+' || s->b[s->i] == '-'))
			s->i++;
		if (js_digits(s) != 0)
			return js_fail(s, "invalid number");
	}
	if (s->finite && s->i - start >= sizeof(buf)) {
		if (memchr(s->b + start, 'e', s->i - start) != NULL ||
		    memchr(s->b + start, 'E', s->i - start) != NULL)
			goto range;	/* long and scaled: check no further */
		return 0;		/* a long plain number is finite */
	}
	if (!s->finite)
		return 0;
	memcpy(buf, s->b + start, s->i - start);
	buf[s->i - start] = '\0';
	errno = 0;
	d = strtod(buf, &end);
	if (isfinite(d))
		return 0;
range:
	s->i = start;
	return js_fail(s, "number out of range (not a finite double)");
}

static int
js_literal(struct js *s)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t	k, n;

	for (k = 0; k < 3; k++) {
		n = strlen(words[k]);
		if (s->len - s->i >= n && memcmp(s->b + s->i, words[k], n) == 0) {
			s->i += n;
			return 0;
		}
	}
	if (s->b[s->i] == '\'')
		return js_fail(s, "single-quoted string (JSON strings use \")");
	if (s->b[s->i] == 'N' || s->b[s->i] == 'I' ||
	    (s->b[s->i] == '-' && s->i + 1 < s->len && s->b[s->i + 1] == 'I'))
		return js_fail(s, "NaN or Infinity (not JSON)");
	return js_fail(s, "unexpected character");
}

/* A scalar value at b[i]. */
static int
js_scalar(struct js *s)
{
	unsigned char	c = s->b[s->i];

	if (c == '"')
		return js_string(s);
	if (c == '-' || (c >= '0' && c <= '9')) {
		if (c == '-' && s->i + 1 < s->len && s->b[s->i + 1] == 'I')
			return js_literal(s);
		return js_number(s);
	}
	return js_literal(s);
}

/* At an object's key (after '{' or ','): the key and its ':'. */
static int
js_key(struct js *s)
{
	js_ws(s);
	if (s->i >= s->len || s->b[s->i] != '"')
		return js_fail(s, s->i < s->len && s->b[s->i] == '\'' ?
		    "single-quoted string (JSON strings use \")" :
		    "expected a key");
	if (js_string(s) != 0)
		return -1;
	js_ws(s);
	if (s->i >= s->len || s->b[s->i] != ':')
		return js_fail(s, "expected ':'");
	s->i++;
	return 0;
}

/*
 * 0 if b[0..len) is exactly one JSON text (whitespace around it allowed),
 * nested at most max_depth deep and, if finite, with every number a finite
 * double (request fields check their own ranges and name the field; a
 * run's report has no such check); -1 with msg naming the first problem.
 */
int
json_strict_check(const char *b, size_t len, int max_depth, bool finite,
    char *msg, size_t msglen)
{
	struct js	s = { (const unsigned char *)b, len, 0, finite, msg, msglen };
	char		stack[JS_MAX_DEPTH];	/* '{' or '[' */
	int		depth = 0;
	bool		want_value = true, first = false;

	if (max_depth > JS_MAX_DEPTH)
		max_depth = JS_MAX_DEPTH;
	for (;;) {
		js_ws(&s);
		if (s.i >= s.len)
			return depth > 0 || want_value ?
			    js_fail(&s, "unexpected end") : 0;
		if (!want_value) {
			unsigned char c = s.b[s.i];

			if (depth == 0)
				return js_fail(&s, "trailing data");
			if (c == ',') {
				s.i++;
				if (stack[depth - 1] == '{' && js_key(&s) != 0)
					return -1;
				want_value = true;
				first = false;
				continue;
			}
			if ((c == '}' && stack[depth - 1] == '{') ||
			    (c == ']' && stack[depth - 1] == '[')) {
				s.i++;
				depth--;
				continue;
			}
			return js_fail(&s, "expected ',' or a closing bracket");
		}
		/* A value is wanted. */
		if (first && ((s.b[s.i] == '}' && stack[depth - 1] == '{') ||
		    (s.b[s.i] == ']' && stack[depth - 1] == '['))) {
			s.i++;
			depth--;
			want_value = false;
			first = false;
			continue;
		}
		first = false;
		if (s.b[s.i] == '{' || s.b[s.i] == '[') {
			if (depth >= max_depth)
				return js_fail(&s, "nested too deeply");
			stack[depth++] = (char)s.b[s.i];
			s.i++;
			first = true;
			if (stack[depth - 1] == '{') {
				js_ws(&s);
				if (s.i < s.len && s.b[s.i] == '}')
					continue;	/* {} */
				if (js_key(&s) != 0)
					return -1;
				first = false;
			}
			continue;
		}
		if (js_scalar(&s) != 0)
			return -1;
		want_value = false;
	}
}

struct json_object *
json_strict_parse(const char *text, size_t len, int max_depth,
    enum json_type want)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	char			 why[128];

	if (text == NULL || len == 0 || len > INT32_MAX ||
	    memchr(text, '\0', len) != NULL || !envelope_utf8_valid(text, len) ||
	    json_strict_check(text, len, max_depth, true, why,
	    sizeof(why)) != 0 || (tok = json_tokener_new_ex(max_depth)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o != NULL && (json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, want))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}
