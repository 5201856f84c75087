/*
 * envelope.c: the JSON envelope every answer is wrapped in, the
 * invocationId, and UTF-8 handling of bytes the sandbox produced.
 *
 *   {"status": "success"|"error", "invocationId": "<uuid4>", "response": [...]}
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base.h"

/* A random (version 4) UUID from getrandom(2). */
void
envelope_uuid4(char out[UUID_STR_LEN])
{
	unsigned char	b[16];
	size_t		got = 0;
	ssize_t		n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, UUID_STR_LEN,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * Length of the valid UTF-8 sequence at s (at most len bytes, len > 0), or
 * 0 if the bytes there are not one.  Rejects overlongs, surrogates and
 * > U+10FFFF.  The JSON gate (jsonstrict.c) reads strings with it.
 */
size_t
envelope_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned	c = s[0];
	size_t		n, i;
	uint32_t	cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
envelope_utf8_valid(const char *s, size_t len)
{
	size_t	i = 0, n;

	while (i < len) {
		n = envelope_utf8_seq((const unsigned char *)s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/*
 * Returns a newly allocated, NUL-terminated copy of the len bytes at s in
 * which every byte that does not start a valid UTF-8 sequence is replaced
 * by U+FFFD.  The caller owns the result (free()); NULL if out of memory.
 * *outlen gets its length (it may hold NUL bytes the program wrote).
 */
char *
envelope_utf8_sanitize(const char *s, size_t len, size_t *outlen)
{
	char	*out;
	size_t	 i = 0, o = 0, n;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		n = envelope_utf8_seq((const unsigned char *)s + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* The reason phrase of every status pyexec sends: nginx passes it on as
 * it is, and the names are nginx's own (and Python's http.HTTPStatus). */
const char *
envelope_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 507: return "Insufficient Storage";
	default:  return "Internal Server Error";
	}
}

/* The error code that goes with an HTTP status. */
const char *
envelope_error_code(int status)
{
	switch (status) {
	case 400: return "invalid_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "workspace_busy";
	case 413: return "payload_too_large";
	case 429: return "rate_limited";
	case 502: return "bad_gateway";
	case 503: return "service_unavailable";
	case 504: return "gateway_timeout";
	case 507: return "insufficient_storage";
	default:  return "internal_error";
	}
}

/*
 * The error envelope, as a newly allocated string the caller frees.
 * msg is borrowed and may be any bytes: it is sanitized.
 */
char *
envelope_error(const char *id, const char *code, const char *msg)
{
	struct json_object	*env, *arr, *item;
	char			*clean, *out;
	size_t			 cleanlen;

	clean = envelope_utf8_sanitize(msg, strlen(msg), &cleanlen);
	env = json_object_new_object();
	arr = json_object_new_array();
	item = json_object_new_object();
	json_object_object_add(env, "status", json_object_new_string("error"));
	json_object_object_add(env, "invocationId", json_object_new_string(id));
	json_object_object_add(item, "type", json_object_new_string("error"));
	json_object_object_add(item, "code", json_object_new_string(code));
	json_object_object_add(item, "message",
	    json_object_new_string(clean != NULL ? clean : "error"));
	json_object_array_add(arr, item);
	json_object_object_add(env, "response", arr);
	out = strdup(json_object_to_json_string_ext(env,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(env);
	free(clean);
	return out;
}
