/*
 * jsonstrict.c: the one gate of every JSON text from outside (request
 * bodies, a run's report and artifacts): is a buffer one JSON text exactly
 * as RFC 8259 defines it?
 *
 * json-c's strict mode still accepts single-quoted strings, raw control
 * characters inside strings and NaN/Infinity, a number such as 1e999
 * becomes an infinity that no JSON can carry, and of a key given twice it
 * keeps the last without a word.  So one walk over the bytes checks, at
 * once: NUL bytes and UTF-8 (JS_TEXT), the grammar and the depth, finite
 * numbers (JS_FINITE), and duplicate keys in every object at every depth
 * (told to the caller, who decides).  json-c then only builds the tree of
 * a text already known good: its numbers (int64, double and the text a
 * double keeps) and strings are what the field checks and the answers
 * read, so the gate does not build a second, different tree.
 *
 * The fault named is the one the old separate passes named: a NUL byte
 * anywhere, else the first bytes that are not UTF-8, else the first
 * grammar fault.  When the walk stops at a grammar fault, the rest is
 * only looked at for NUL and UTF-8 (each byte is still read once).
 * The scanner reads only within [0, len), keeps its own stack (no
 * recursion) and names the first problem with its byte offset.
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

/* The keys met so far, each as (object, decoded key): one open-addressed
 * table for the whole text, keys kept in one arena. */
struct js_key {
	uint32_t	 obj;		/* which object (1, 2, ... in order) */
	uint32_t	 hash;
	size_t		 off, len;	/* in the arena; len + 1, 0: empty */
};

/* An open container: its kind, and for the duplicate-key path the
 * object's number and current key, or the array's current index. */
struct js_level {
	char		 kind;		/* '{' or '[' */
	uint32_t	 obj;
	size_t		 key_off;	/* SIZE_MAX: no key yet */
	size_t		 index;
};

struct js {
	const unsigned char	*b;	/* borrowed */
	size_t			 len, i;
	unsigned		 flags;	/* JS_* */
	struct json_scan	*out;	/* borrowed: the fault */
	json_dup_fn		 dup_fn;	/* NULL: keys not compared */
	void			*dup_arg;
	struct js_level		*lv;	/* owned: max_depth levels */
	int			 depth;
	uint32_t		 nobj;
	struct js_key		*tab;	/* owned */
	size_t			 tabcap, tabn;
	char			*arena;	/* owned */
	size_t			 arcap, arlen;
	struct json_step	*path;	/* owned: for dup_fn */
};

static int
js_fault(struct js *s, enum json_fault f, size_t at, const char *what)
{
	s->out->fault = f;
	s->out->at = at;
	snprintf(s->out->why, sizeof(s->out->why), "%s at byte %zu", what, at);
	return -1;
}

static int
js_fail(struct js *s, const char *what)
{
	return js_fault(s, JSON_SYNTAX, s->i, what);
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

/* A byte that is not UTF-8's at b[i] (JS_TEXT), else 0: the string
 * goes on after it. */
static int
js_utf8(struct js *s)
{
	size_t	n;

	if (!(s->flags & JS_TEXT)) {
		s->i++;
		return 0;
	}
	if ((n = envelope_utf8_seq(s->b + s->i, s->len - s->i)) == 0)
		return js_fault(s, JSON_UTF8, s->i, "invalid UTF-8");
	s->i += n;
	return 0;
}

/* b[i] is '"': to just past the closing quote. */
static int
js_string(struct js *s)
{
	const unsigned char	*b = s->b;
	unsigned char		 c;
	int			 k;

	for (s->i++; s->i < s->len;) {
		c = b[s->i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			s->i++;
			continue;
		}
		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c >= 0x80) {
			if (js_utf8(s) != 0)
				return -1;
			continue;
		}
		if (c < 0x20)
			return js_fail(s, "raw control character in a string "
			    "(escape it)");
		if (++s->i >= s->len)
			break;
		c = b[s->i];
		if (c == 'u') {
			for (k = 0; k < 4; k++)
				if (++s->i >= s->len || !js_hex(b[s->i]))
					return js_fail(s, "bad \\u escape");
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return js_fail(s, "bad escape in a string");
		s->i++;
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

/* A number, which with JS_FINITE must also be finite as a double. */
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
	if (!(s->flags & JS_FINITE))
		return 0;
	if (s->i - start >= sizeof(buf)) {
		if (memchr(s->b + start, 'e', s->i - start) != NULL ||
		    memchr(s->b + start, 'E', s->i - start) != NULL)
			goto range;	/* long and scaled: check no further */
		return 0;		/* a long plain number is finite */
	}
	memcpy(buf, s->b + start, s->i - start);
	buf[s->i - start] = '\0';
	errno = 0;
	d = strtod(buf, &end);
	if (isfinite(d))
		return 0;
range:
	return js_fault(s, JSON_RANGE, start,
	    "number out of range (not a finite double)");
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

/* ---- duplicate keys ---------------------------------------------------- */

static int
js_nomem(struct js *s)
{
	return js_fault(s, JSON_NOMEM, s->i, "out of memory");
}

/* Room for n more bytes in the arena. */
static int
js_arena(struct js *s, size_t n)
{
	size_t	 cap = s->arcap ? s->arcap : 256;
	char	*p;

	while (cap - s->arlen < n) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	if (cap == s->arcap)
		return 0;
	if ((p = realloc(s->arena, cap)) == NULL)
		return -1;
	s->arena = p;
	s->arcap = cap;
	return 0;
}

/* Code point cp as UTF-8 at p; its length. */
static size_t
js_put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t
js_hex4(const unsigned char *p)
{
	uint32_t	v = 0;
	int		k;

	for (k = 0; k < 4; k++)
		v = v << 4 | (uint32_t)(p[k] <= '9' ? p[k] - '0' :
		    (p[k] | 0x20) - 'a' + 10);
	return v;
}

/*
 * The key b[from, to) (a string the walk passed, without its quotes)
 * decoded as json-c decodes it (a lone surrogate is U+FFFD) and cut at
 * its first NUL, as json-c cuts keys: into the arena, NUL-terminated.
 * Its length, or SIZE_MAX if out of memory.
 */
static size_t
js_key_decode(struct js *s, size_t from, size_t to)
{
	const unsigned char	*b = s->b;
	char			*o;
	size_t			 n = 0, i;
	uint32_t		 cp, lo;

	/* Escapes only shrink a key; UTF-8 for \uXXXX is at most 4 of 6. */
	if (js_arena(s, to - from + 1) != 0)
		return SIZE_MAX;
	o = s->arena + s->arlen;
	for (i = from; i < to; i++) {
		if (b[i] != '\\') {
			o[n++] = (char)b[i];
			continue;
		}
		switch (b[++i]) {
		case 'b': o[n++] = '\b'; continue;
		case 'f': o[n++] = '\f'; continue;
		case 'n': o[n++] = '\n'; continue;
		case 'r': o[n++] = '\r'; continue;
		case 't': o[n++] = '\t'; continue;
		case 'u': break;
		default: o[n++] = (char)b[i]; continue;
		}
		cp = js_hex4(b + i + 1);
		i += 4;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < to &&
		    b[i + 1] == '\\' && b[i + 2] == 'u' &&
		    (lo = js_hex4(b + i + 3)) >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		} else if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;
		n += js_put_utf8(o + n, cp);
	}
	o[n] = '\0';
	return strlen(o);
}

static uint32_t
js_hash(const char *k, size_t n, uint32_t obj)
{
	uint32_t	h = 2166136261u ^ obj;	/* FNV-1a */

	while (n-- > 0)
		h = (h ^ (unsigned char)*k++) * 16777619u;
	return h;
}

static int
js_tab_grow(struct js *s)
{
	struct js_key	*old = s->tab, *e;
	size_t		 oldcap = s->tabcap, cap = oldcap ? oldcap * 2 : 64, k;

	if (cap > SIZE_MAX / sizeof(*e) ||
	    (s->tab = calloc(cap, sizeof(*e))) == NULL) {
		s->tab = old;
		return -1;
	}
	s->tabcap = cap;
	for (k = 0; k < oldcap; k++) {
		if (old[k].len == 0)
			continue;
		for (e = s->tab + (old[k].hash & (cap - 1)); e->len != 0;)
			e = e + 1 < s->tab + cap ? e + 1 : s->tab;
		*e = old[k];
	}
	free(old);
	return 0;
}

/* Tells dup_fn of a key given twice; it may stop the telling. */
static void
js_dup_tell(struct js *s, const char *key)
{
	struct json_dup	d = { s->depth, s->path, key };
	int		k;

	for (k = 0; k < s->depth - 1; k++) {
		s->path[k].key = s->lv[k].kind == '{' ?
		    s->arena + s->lv[k].key_off : NULL;
		s->path[k].index = s->lv[k].index;
	}
	if (!s->dup_fn(s->dup_arg, &d))
		s->dup_fn = NULL;
}

/* The key b[from, to) of the innermost object: in the table, or told. */
static int
js_key_seen(struct js *s, size_t from, size_t to)
{
	struct js_level	*l = &s->lv[s->depth - 1];
	struct js_key	*e;
	size_t		 n, off = s->arlen;
	uint32_t	 h;

	if ((s->tabn + 1) * 2 > s->tabcap && js_tab_grow(s) != 0)
		return js_nomem(s);
	if ((n = js_key_decode(s, from, to)) == SIZE_MAX)
		return js_nomem(s);
	h = js_hash(s->arena + off, n, l->obj);
	for (e = s->tab + (h & (s->tabcap - 1)); e->len != 0;
	    e = e + 1 < s->tab + s->tabcap ? e + 1 : s->tab)
		if (e->hash == h && e->obj == l->obj && e->len == n + 1 &&
		    memcmp(s->arena + e->off, s->arena + off, n) == 0) {
			l->key_off = e->off;	/* the first one's copy */
			js_dup_tell(s, s->arena + off);
			return 0;
		}
	e->obj = l->obj;
	e->hash = h;
	e->off = off;
	e->len = n + 1;
	s->tabn++;
	s->arlen += n + 1;
	l->key_off = off;
	return 0;
}

/* ---- the walk ---------------------------------------------------------- */

/* At an object's key (after '{' or ','): the key and its ':'. */
static int
js_key(struct js *s)
{
	size_t	from;

	js_ws(s);
	if (s->i >= s->len || s->b[s->i] != '"')
		return js_fail(s, s->i < s->len && s->b[s->i] == '\'' ?
		    "single-quoted string (JSON strings use \")" :
		    "expected a key");
	from = s->i + 1;
	if (js_string(s) != 0)
		return -1;
	if (s->dup_fn != NULL && js_key_seen(s, from, s->i - 1) != 0)
		return -1;
	js_ws(s);
	if (s->i >= s->len || s->b[s->i] != ':')
		return js_fail(s, "expected ':'");
	s->i++;
	return 0;
}

/* '{' or '[' at b[i], max_depth not reached; *empty: it may close at
 * once (an array, or an object whose '}' is next). */
static int
js_open(struct js *s, bool *empty)
{
	struct js_level	*l = &s->lv[s->depth++];

	l->kind = (char)s->b[s->i++];
	l->index = 0;
	l->key_off = SIZE_MAX;
	*empty = true;
	if (l->kind != '{')
		return 0;
	l->obj = ++s->nobj;
	js_ws(s);
	if (s->i < s->len && s->b[s->i] == '}')
		return 0;	/* {}: the walk closes it */
	*empty = false;
	return js_key(s);
}

/* After a value: ',' and the next member, or a closing bracket. */
static int
js_after(struct js *s, bool *want_value)
{
	struct js_level	*l = &s->lv[s->depth - 1];
	unsigned char	 c = s->b[s->i];

	if (c == ',') {
		s->i++;
		l->index++;
		if (l->kind == '{' && js_key(s) != 0)
			return -1;
		*want_value = true;
		return 0;
	}
	if ((c == '}' && l->kind == '{') || (c == ']' && l->kind == '[')) {
		s->i++;
		s->depth--;
		return 0;
	}
	return js_fail(s, "expected ',' or a closing bracket");
}

/* One JSON text (whitespace around it allowed), or -1 at the first
 * grammar fault (or a UTF-8 one inside a string). */
static int
js_walk(struct js *s, int max_depth)
{
	bool	want_value = true, first = false;
	char	c;

	for (;;) {
		js_ws(s);
		if (s->i >= s->len)
			return s->depth > 0 || want_value ?
			    js_fail(s, "unexpected end") : 0;
		if (!want_value) {
			if (s->depth == 0)
				return js_fail(s, "trailing data");
			if (js_after(s, &want_value) != 0)
				return -1;
			first = false;
			continue;
		}
		/* A value is wanted: or the end of an empty container. */
		c = (char)s->b[s->i];
		if (first && ((c == '}' && s->lv[s->depth - 1].kind == '{') ||
		    (c == ']' && s->lv[s->depth - 1].kind == '['))) {
			s->i++;
			s->depth--;
			want_value = first = false;
			continue;
		}
		first = false;
		if (c == '{' || c == '[') {
			if (s->depth >= max_depth)
				return js_fault(s, JSON_DEPTH, s->i,
				    "nested too deeply");
			if (js_open(s, &first) != 0)
				return -1;
			continue;
		}
		if (js_scalar(s) != 0)
			return -1;
		want_value = false;
	}
}

/*
 * After a fault at out->at, the rest of the text only for what outranks
 * it (JS_TEXT): a NUL byte anywhere, then bytes that are not UTF-8 (if
 * the fault was the grammar's).  out->at is where a character starts.
 */
static void
js_tail(struct js *s)
{
	const unsigned char	*b = s->b, *z;
	size_t			 i = s->out->at, n;

	if (!(s->flags & JS_TEXT) || s->out->fault == JSON_NOMEM)
		return;
	for (; s->out->fault != JSON_UTF8 && i < s->len; i += n) {
		if (b[i] == '\0') {
			js_fault(s, JSON_NUL, i, "NUL byte");
			return;
		}
		if ((n = envelope_utf8_seq(b + i, s->len - i)) == 0)
			js_fault(s, JSON_UTF8, i, "invalid UTF-8");
	}
	if (i < s->len && (z = memchr(b + i, '\0', s->len - i)) != NULL)
		js_fault(s, JSON_NUL, (size_t)(z - b), "NUL byte");
}

/*
 * The gate: b[0..len) checked in one walk as the header says, nested at
 * most max_depth (capped at JS_MAX_DEPTH) deep.  dup_fn (or NULL) is told
 * of each key given twice in one object while it returns true.  JSON_OK,
 * or the fault, also in *out.
 */
enum json_fault
json_strict_scan(const char *b, size_t len, int max_depth, unsigned flags,
    json_dup_fn dup_fn, void *arg, struct json_scan *out)
{
	struct js	s;

	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	s.b = (const unsigned char *)b;
	s.len = len;
	s.flags = flags;
	s.out = out;
	s.dup_fn = dup_fn;
	s.dup_arg = arg;
	if (max_depth > JS_MAX_DEPTH)
		max_depth = JS_MAX_DEPTH;
	if (max_depth < 0)
		max_depth = 0;
	if ((s.lv = calloc((size_t)max_depth + 1, sizeof(*s.lv))) == NULL ||
	    (dup_fn != NULL && (s.path = calloc((size_t)max_depth + 1,
	    sizeof(*s.path))) == NULL))
		js_nomem(&s);
	else if (js_walk(&s, max_depth) != 0)
		js_tail(&s);
	free(s.lv);
	free(s.path);
	free(s.tab);
	free(s.arena);
	return out->fault;
}

int
json_strict_check(const char *b, size_t len, int max_depth, bool finite,
    char *msg, size_t msglen)
{
	struct json_scan	scan;

	if (json_strict_scan(b, len, max_depth, finite ? JS_FINITE : 0, NULL,
	    NULL, &scan) == JSON_OK)
		return 0;
	snprintf(msg, msglen, "%s", scan.why);
	return -1;
}

/* A text json_strict_scan() passed, as json-c's tree; NULL if json-c
 * still refuses it (deeper than its own limit), or with *end SIZE_MAX if
 * it could not start (out of memory, len past INT32_MAX). */
struct json_object *
json_strict_build(const char *text, size_t len, int max_depth,
    enum json_tokener_error *err, size_t *end)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	*err = json_tokener_error_size;
	*end = SIZE_MAX;
	if (len > INT32_MAX || (tok = json_tokener_new_ex(max_depth)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	*err = json_tokener_get_error(tok);
	*end = json_tokener_get_parse_end(tok);
	if (o == NULL && *err == json_tokener_continue && len > 0) {
		/* A bare number is complete only at the end of input. */
		o = json_tokener_parse_ex(tok, "", 1);
		*err = json_tokener_get_error(tok);
		*end = len;
	}
	json_tokener_free(tok);
	return o;
}

struct json_object *
json_strict_parse(const char *text, size_t len, int max_depth,
    enum json_type want)
{
	struct json_object	*o;
	struct json_scan	 scan;
	enum json_tokener_error	 err;
	size_t			 end;

	if (text == NULL || len == 0 || len > INT32_MAX ||
	    json_strict_scan(text, len, max_depth, JS_TEXT | JS_FINITE, NULL,
	    NULL, &scan) != JSON_OK)
		return NULL;
	o = json_strict_build(text, len, max_depth, &err, &end);
	if (o != NULL && (end != len || !json_object_is_type(o, want))) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}
