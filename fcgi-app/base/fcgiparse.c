/*
 * fcgiparse.c: the front's reading of a FastCGI request, on buffers
 * (fcgiparse.h says what it accepts and why).
 *
 * A record is an 8-byte header (version, type, request id, content
 * length, padding length, reserved), its content and its padding.  The
 * front accepts, as nginx sends them with fastcgi_keep_conn off:
 *
 *   BEGIN_REQUEST  first, content 8 bytes: role RESPONDER, flags without
 *                  KEEP_CONN (a worker serves one request per
 *                  connection), a request id other than 0;
 *   PARAMS ...     of that id, the stream split anywhere (a name-value
 *                  pair may span records), any padding;
 *   PARAMS, empty  the end of the stream: FRONT_DONE.
 *
 * Any other record before the end (another BEGIN_REQUEST, another id,
 * management records of id 0, STDIN, an unknown type, a version other
 * than 1) is FRONT_BAD, as soon as the bytes that show it are there; so
 * is a header that does not end within the cap the front looks at.
 * Whatever follows the PARAMS stream (STDIN) is the worker's to read.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "fcgiparse.h"

#define FRONT_SEEN_KEY	(1u << 31)	/* front_req.seen: PYEXEC_KEY_VALID */

/* One name-value length: 1 byte, or 4 with the top bit set; (size_t)-1
 * when p ends first. */
size_t
front_len(const unsigned char *p, size_t n, size_t *i)
{
	size_t	v;

	if (*i >= n)
		return (size_t)-1;
	if (p[*i] < 0x80)
		return p[(*i)++];
	if (n - *i < 4)
		return (size_t)-1;
	v = ((size_t)(p[*i] & 0x7f) << 24) | ((size_t)p[*i + 1] << 16) |
	    ((size_t)p[*i + 2] << 8) | p[*i + 3];
	*i += 4;
	return v;
}

/*
 * One param: the front keeps the few it decides by.  The first of a name
 * counts, as libfcgi's FCGX_GetParam() finds it in the worker, so that
 * the front and the worker never read two different requests out of one;
 * a value too long for its field leaves it empty (the front then serves
 * nothing itself: the worker decides).
 */
void
front_param(struct front_req *r, const char *name, size_t nl,
    const char *val, size_t vl)
{
	static const struct { const char *n; size_t off, size; } want[] = {
#define W(n, m)	{ n, offsetof(struct front_req, m), \
	sizeof(((struct front_req *)0)->m) }
		W("DOCUMENT_URI", path), W("QUERY_STRING", query),
		W("REQUEST_METHOD", method), W("PYEXEC_REQUEST_ID", inv),
		W("REMOTE_ADDR", addr),
#undef W
	};
	size_t	i;

	_Static_assert(sizeof(want) / sizeof(want[0]) < 31, "front_req.seen");
	if (nl == 16 && memcmp(name, "PYEXEC_KEY_VALID", 16) == 0 &&
	    !(r->seen & FRONT_SEEN_KEY)) {
		r->seen |= FRONT_SEEN_KEY;
		r->key_valid = vl == 1 && val[0] == '1';
	}
	if (nl == sizeof(TRUST_PARAM) - 1 && memcmp(name, TRUST_PARAM, nl) == 0 &&
	    !r->secret_sent) {
		r->secret_sent = true;
		r->secret_len = vl;
		memcpy(r->secret, val, vl < sizeof(r->secret) ? vl :
		    sizeof(r->secret));
	}
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strlen(want[i].n) != nl || memcmp(want[i].n, name, nl) != 0 ||
		    (r->seen & (1u << i)))
			continue;
		r->seen |= 1u << i;
		if (vl < want[i].size) {
			memcpy((char *)r + want[i].off, val, vl);
			((char *)r + want[i].off)[vl] = '\0';
		}
	}
}

/* The name-value pairs of a whole PARAMS stream p: 0, or -1 when a length
 * runs past its end. */
int
front_params(struct front_req *r, const unsigned char *p, size_t n)
{
	size_t	i = 0, nl, vl;

	while (i < n) {
		if ((nl = front_len(p, n, &i)) == (size_t)-1 ||
		    (vl = front_len(p, n, &i)) == (size_t)-1 ||
		    nl > n - i || vl > n - i - nl)
			return -1;
		front_param(r, (const char *)p + i, nl, (const char *)p + i + nl,
		    vl);
		i += nl + vl;
	}
	return 0;
}

/*
 * Whether the first avail bytes of the record header h (avail may be
 * less than 8: a header that came in part) can be the next record of the
 * request r: BEGIN_REQUEST first (first), then PARAMS of its id.
 */
static bool
front_head_ok(const struct front_req *r, const unsigned char *h,
    size_t avail, bool first)
{
	unsigned	id;

	if (avail >= 1 && h[0] != FCGI_VERSION_1)
		return false;
	if (avail >= 2 && h[1] != (first ? FCGI_BEGIN : FCGI_PARAMS))
		return false;
	if (avail < 4)
		return true;
	id = ((unsigned)h[2] << 8) | h[3];
	if (first ? id == 0 : id != r->id)
		return false;
	/* A BEGIN_REQUEST's content is 8 bytes. */
	return !first || avail < 6 || (h[4] == 0 && h[5] == 8);
}

/* The body of a BEGIN_REQUEST (8 bytes): the responder role, no
 * KEEP_CONN. */
static bool
front_begin_ok(const unsigned char *b)
{
	return b[0] == 0 && b[1] == FCGI_RESPONDER && !(b[2] & FCGI_KEEP_CONN);
}

/*
 * Walks the n bytes at buf, the start of a connection: FRONT_DONE when
 * they hold a BEGIN_REQUEST and the whole PARAMS stream (r filled from
 * the params), FRONT_MORE when what came is a right start, FRONT_BAD when
 * it is not a request we serve, or when n reached cap (the most the
 * caller looks at) without the stream's end (bytes past cap are not
 * looked at).  params: the caller's scratch of cap bytes, where the
 * stream is put together.  r is cleared first.
 */
enum front_parse
front_walk(struct front_req *r, const unsigned char *buf, size_t n,
    size_t cap, unsigned char *params)
{
	const unsigned char	*h;
	size_t			 i = 0, np = 0, clen, rec;

	memset(r, 0, sizeof(*r));
	if (n > cap)
		n = cap;
	while (i < n) {
		h = buf + i;
		if (!front_head_ok(r, h, n - i < 8 ? n - i : 8, i == 0))
			return FRONT_BAD;
		if (n - i < 8)
			break;
		clen = ((size_t)h[4] << 8) | h[5];
		rec = 8 + clen + h[6];
		if (rec > n - i)
			break;
		if (i == 0) {
			if (!front_begin_ok(h + 8))
				return FRONT_BAD;
			r->id = ((unsigned)h[2] << 8) | h[3];
		} else if (clen == 0)
			return front_params(r, params, np) == 0 ? FRONT_DONE :
			    FRONT_BAD;
		else {
			memcpy(params + np, h + 8, clen);
			np += clen;
		}
		i += rec;
	}
	return n >= cap ? FRONT_BAD : FRONT_MORE;
}

/*
 * Passes the next n bytes of a stream of records (read and dropped):
 * FRONT_DONE once the header of an empty STDIN record went by (the bytes
 * after it are not looked at), FRONT_MORE until then, FRONT_BAD on a
 * record of a version other than 1.
 */
enum front_parse
front_skip(struct front_skip *s, const unsigned char *p, size_t n)
{
	size_t	k;

	while (n > 0) {
		if (s->left > 0) {
			k = s->left < n ? s->left : n;
			s->left -= k;
			p += k;
			n -= k;
			continue;
		}
		k = 8 - s->nhdr < n ? 8 - s->nhdr : n;
		memcpy(s->hdr + s->nhdr, p, k);
		s->nhdr += k;
		p += k;
		n -= k;
		if (s->nhdr < 8)
			break;
		s->nhdr = 0;
		if (s->hdr[0] != FCGI_VERSION_1)
			return FRONT_BAD;
		if (s->hdr[1] == FCGI_STDIN && s->hdr[4] == 0 && s->hdr[5] == 0)
			return FRONT_DONE;
		s->left = (((size_t)s->hdr[4] << 8) | s->hdr[5]) + s->hdr[6];
	}
	return FRONT_MORE;
}
