/*
 * artifact.c: the artifacts a run sent (figures and files, native routes
 * only), checked again and shaped as envelope items.
 *
 * The runner sends them after its report on the report pipe, as one JSON
 * array (sandbox/runner.py, _Artifacts); run.c caps what it reads, and
 * task_report() hands the text here.  It comes from inside the user's
 * process, so nothing in it is trusted: every name is checked (1-255
 * bytes of UTF-8, no '/', no "..", no control or invisible format
 * character: unicode.c), the mime type
 * comes from our own table by the name's extension, base64 is decoded
 * strictly and its length must be the size said, a PNG must have its
 * header (width and height are the IHDR's, not the runner's), a plotly
 * spec must be one strict JSON object, and the caps (count, bytes each,
 * bytes in all) are applied again.  What passes a cap here is listed
 * truncated, never dropped; an item that is not one of ours at all is
 * counted in an {"type": "omitted", "reason": "invalid"} item.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "sandbox.h"

#define ART_LIST_MAX	101	/* items on the wire: 100 and an omitted */
#define ART_SPEC_DEPTH	64	/* a plotly spec's nesting */

static const struct art_mime {
	const char	*ext;
	const char	*mime;
} art_mimes[] = {
	{ "png",	"image/png" },
	{ "jpg",	"image/jpeg" },
	{ "jpeg",	"image/jpeg" },
	{ "gif",	"image/gif" },
	{ "webp",	"image/webp" },
	{ "svg",	"image/svg+xml" },
	{ "pdf",	"application/pdf" },
	{ "csv",	"text/csv" },
	{ "tsv",	"text/tab-separated-values" },
	{ "txt",	"text/plain" },
	{ "log",	"text/plain" },
	{ "md",		"text/markdown" },
	{ "html",	"text/html" },
	{ "json",	"application/json" },
	{ "xml",	"application/xml" },
	{ "zip",	"application/zip" },
	{ "gz",		"application/gzip" },
	{ "parquet",	"application/vnd.apache.parquet" },
	{ "xlsx",	"application/vnd.openxmlformats-officedocument."
			"spreadsheetml.sheet" },
};

static const char *const art_reasons[] = { "count", "size", "total",
	"pixels", "name", "error", NULL };

/* The mime type of a file item, by its name's extension (ours). */
const char *
artifact_mime(const char *name)
{
	const char	*dot = strrchr(name, '.');
	size_t		 i;

	if (dot != NULL)
		for (i = 0; i < sizeof(art_mimes) / sizeof(art_mimes[0]); i++)
			if (strcasecmp(dot + 1, art_mimes[i].ext) == 0)
				return art_mimes[i].mime;
	return "application/octet-stream";
}

/* Whether name may name an artifact: what the runner checked (1-255
 * bytes of UTF-8, no '/', no "..", no control, format or line separator
 * character: unicode.c). */
bool
artifact_name_ok(const char *name, size_t len)
{
	uint32_t	cp;

	if (len == 0 || len > 255 || strlen(name) != len ||
	    !envelope_utf8_valid(name, len) || strstr(name, "..") != NULL ||
	    memchr(name, '/', len) != NULL)
		return false;
	return unicode_name_hidden(name, len, &cp) == UNICODE_SHOWN;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict base64 (RFC 4648, padded, no whitespace): the bytes, malloc'd
 * (the caller frees them), their length in *outlen; NULL if s is not.
 */
unsigned char *
artifact_b64_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char	*out;
	size_t		 i, o = 0, pad = 0;
	int		 v[4], k;

	if (len % 4 != 0)
		return NULL;
	if (len > 0 && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	if ((out = malloc(len / 4 * 3 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + (size_t)k >= len - pad) {
				v[k] = 0;
				continue;
			}
			if ((v[k] = b64_value((unsigned char)s[i + k])) < 0)
				goto err;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	*outlen = o - pad;
	return out;
err:
	free(out);
	return NULL;
}

/* p as base64, a new JSON string (json-c owns the text). */
static struct json_object *
b64_string(const unsigned char *p, size_t len)
{
	static const char	 t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				    "opqrstuvwxyz0123456789+/";
	char			*s;
	size_t			 i, o = 0;
	uint32_t		 v;
	struct json_object	*j;

	if ((s = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 :
		    0) | (i + 2 < len ? p[i + 2] : 0);
		s[o++] = t[v >> 18 & 63];
		s[o++] = t[v >> 12 & 63];
		s[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
		s[o++] = i + 2 < len ? t[v & 63] : '=';
	}
	j = json_object_new_string_len(s, (int)o);
	free(s);
	return j;
}

/* What the caps allow so far (the worker's own count). */
struct art_caps {
	const struct run_params	*p;		/* borrowed */
	size_t			 total;		/* bytes kept */
	unsigned		 kept;		/* items with data */
	unsigned		 invalid;	/* items refused outright */
};

/* An integer member >= 0, or -1 (absent, null or not one). */
static int64_t
art_int(struct json_object *o, const char *key)
{
	struct json_object	*v;
	int64_t			 n;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	n = json_object_get_int64(v);
	return n < 0 ? -1 : n;
}

/* A string member with no NUL inside ("a\u0000b" would be "a" in C), or
 * NULL. */
static const char *
art_string(struct json_object *o, const char *key)
{
	struct json_object	*v;
	const char		*s;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

static bool
art_reason_ok(const char *r)
{
	size_t	i;

	for (i = 0; r != NULL && art_reasons[i] != NULL; i++)
		if (strcmp(r, art_reasons[i]) == 0)
			return true;
	return false;
}

/* The item's start: type, name, mime, size. */
static struct json_object *
art_head(const char *type, const char *name, const char *mime, int64_t size)
{
	struct json_object	*it = json_object_new_object();

	json_object_object_add(it, "type", json_object_new_string(type));
	json_object_object_add(it, "name", name != NULL ?
	    json_object_new_string(name) : NULL);
	json_object_object_add(it, "mime", json_object_new_string(mime));
	json_object_object_add(it, "size", size >= 0 ?
	    json_object_new_int64(size) : NULL);
	return it;
}

static void
art_truncate(struct json_object *it, const char *reason)
{
	json_object_object_add(it, "truncated", json_object_new_boolean(true));
	json_object_object_add(it, "reason", json_object_new_string(reason));
}

/* The cap that bytes of n would pass, or NULL (then they are counted). */
static const char *
art_cap(struct art_caps *c, size_t n)
{
	if (c->kept >= c->p->art_count)
		return "count";
	if (n > c->p->art_item)
		return "size";
	if (c->total + n > c->p->art_total)
		return "total";
	c->kept++;
	c->total += n;
	return NULL;
}

/* A PNG's width and height from its IHDR; false if it is not a PNG. */
static bool
art_png_size(const unsigned char *b, size_t len, int64_t *w, int64_t *h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1a, '\n' };

	if (len < 24 || memcmp(b, sig, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0)
		return false;
	*w = (int64_t)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
	*h = (int64_t)b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
	return *w > 0 && *h > 0;
}

/* A plotly spec: one strict JSON object, parsed (owned), or NULL. */
static struct json_object *
art_spec(const unsigned char *b, size_t len)
{
	return json_strict_parse((const char *)b, len, ART_SPEC_DEPTH,
	    json_type_object);
}

/* The data of an item that is not truncated, into it; a reason if it
 * cannot be kept, NULL when it was. */
static const char *
art_data(struct art_caps *c, struct json_object *it, const char *type,
    const char *b64, int64_t size)
{
	unsigned char		*b;
	size_t			 n;
	int64_t			 w, h;
	const char		*cap, *why = NULL;
	struct json_object	*data = NULL;

	if ((b = artifact_b64_decode(b64, strlen(b64), &n)) == NULL ||
	    (int64_t)n != size) {
		free(b);
		return "invalid";
	}
	if (strcmp(type, "image") == 0) {
		if (!art_png_size(b, n, &w, &h))
			why = "invalid";
		else {
			json_object_object_add(it, "width", json_object_new_int64(w));
			json_object_object_add(it, "height", json_object_new_int64(h));
		}
	} else if (strcmp(type, "plotly") == 0 && (data = art_spec(b, n)) == NULL)
		why = "invalid";
	if (why == NULL && (cap = art_cap(c, n)) != NULL)
		why = cap;
	if (why == NULL) {
		json_object_object_add(it, "truncated",
		    json_object_new_boolean(false));
		json_object_object_add(it, "data", data != NULL ? data :
		    b64_string(b, n));
		data = NULL;
	}
	json_object_put(data);
	free(b);
	return why;
}

/* One wire item as an envelope item (owned), or NULL if it is invalid. */
static struct json_object *
art_item(struct art_caps *c, struct json_object *o)
{
	const char		*type = art_string(o, "type"), *name, *reason, *b64;
	const char		*mime, *why;
	struct json_object	*it, *v;
	int64_t			 size = art_int(o, "size");
	bool			 trunc;

	if (type == NULL || (strcmp(type, "image") != 0 &&
	    strcmp(type, "plotly") != 0 && strcmp(type, "file") != 0))
		return NULL;
	name = art_string(o, "name");
	trunc = json_object_object_get_ex(o, "truncated", &v) &&
	    json_object_get_boolean(v);
	reason = art_string(o, "reason");
	b64 = art_string(o, "data");
	if (name != NULL ? !artifact_name_ok(name, strlen(name)) :
	    !(trunc && reason != NULL && strcmp(reason, "name") == 0))
		return NULL;
	mime = strcmp(type, "image") == 0 ? "image/png" :
	    strcmp(type, "plotly") == 0 ? "application/vnd.plotly.v1+json" :
	    artifact_mime(name != NULL ? name : "");
	if (trunc ? !art_reason_ok(reason) || b64 != NULL : b64 == NULL ||
	    size < 0)
		return NULL;
	it = art_head(type, name, mime, size);
	if (trunc) {
		if (strcmp(type, "image") == 0 && art_int(o, "width") > 0 &&
		    art_int(o, "height") > 0) {
			json_object_object_add(it, "width",
			    json_object_new_int64(art_int(o, "width")));
			json_object_object_add(it, "height",
			    json_object_new_int64(art_int(o, "height")));
		}
		art_truncate(it, reason);
	} else if ((why = art_data(c, it, type, b64, size)) != NULL)
		art_truncate(it, why);
	return it;
}

static struct json_object *
art_omitted(const char *reason, int64_t count, int64_t size)
{
	struct json_object	*it = json_object_new_object();

	json_object_object_add(it, "type", json_object_new_string("omitted"));
	json_object_object_add(it, "reason", json_object_new_string(reason));
	json_object_object_add(it, "count", json_object_new_int64(count));
	json_object_object_add(it, "size", size >= 0 ?
	    json_object_new_int64(size) : NULL);
	return it;
}

/* The wire text as one strict JSON array (owned), or NULL. */
static struct json_object *
art_parse(const char *wire, size_t len)
{
	return json_strict_parse(wire, len, 4, json_type_array);
}

/*
 * The artifacts of the wire text (len bytes, not NUL-terminated), run
 * with p's caps: a new array of envelope items that the caller owns, or
 * NULL when there is none or the text is not an array of ours.
 */
struct json_object *
artifact_items(const char *wire, size_t len, const struct run_params *p)
{
	struct art_caps		 c = { p, 0, 0, 0 };
	struct json_object	*in, *out, *o, *it;
	size_t			 i, n;
	const char		*type;

	if ((in = art_parse(wire, len)) == NULL)
		return NULL;
	out = json_object_new_array();
	n = json_object_array_length(in);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(in, i);
		type = json_object_is_type(o, json_type_object) ?
		    art_string(o, "type") : NULL;
		if (i + 1 == n && type != NULL && strcmp(type, "omitted") == 0 &&
		    art_int(o, "count") > 0)
			it = art_omitted("count", art_int(o, "count"),
			    art_int(o, "size"));
		else if (i >= ART_LIST_MAX || type == NULL ||
		    (it = art_item(&c, o)) == NULL) {
			c.invalid++;
			continue;
		}
		json_object_array_add(out, it);
	}
	if (c.invalid > 0)
		json_object_array_add(out, art_omitted("invalid", c.invalid, -1));
	json_object_put(in);
	if (json_object_array_length(out) == 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}
