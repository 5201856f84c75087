/*
 * libFuzzer target: the front's reading of a connection's first bytes
 * (fcgiparse.c), the code that looks at what anyone who reaches the
 * backend's socket sends.  Built and run by tests/fuzz/run under
 * AddressSanitizer and UndefinedBehaviorSanitizer.  The bytes are given
 * as the front peeks them, whole and cut short, and with a small cap:
 *
 *   - a request the walk accepts has a non-zero id and NUL-terminated
 *     fields within their sizes;
 *   - what more bytes bring never undoes a verdict: a start it refused
 *     stays refused, and a request it read whole reads the same;
 *   - front_skip() gives the same verdict however the bytes are cut;
 *   - front_params() on the bytes as a PARAMS stream never reads past
 *     them.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgiparse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned char	params[FRONT_PEEK];

static void
fuzz_fields(const struct front_req *r)
{
	if (r->id == 0 || memchr(r->path, '\0', sizeof(r->path)) == NULL ||
	    memchr(r->query, '\0', sizeof(r->query)) == NULL ||
	    memchr(r->method, '\0', sizeof(r->method)) == NULL ||
	    memchr(r->inv, '\0', sizeof(r->inv)) == NULL ||
	    memchr(r->addr, '\0', sizeof(r->addr)) == NULL)
		abort();
}

/* The verdict on a prefix of n bytes against the verdict on all of them. */
static void
fuzz_prefix(const uint8_t *data, size_t size, size_t n, size_t cap,
    enum front_parse all, const struct front_req *rall)
{
	struct front_req	r;
	enum front_parse	part;

	part = front_walk(&r, data, n, cap, params);
	if (part == FRONT_BAD && all != FRONT_BAD)
		abort();
	if (part == FRONT_DONE && (all != FRONT_DONE ||
	    memcmp(&r, rall, sizeof(r)) != 0))
		abort();
	(void)size;
}

/* front_skip() whole, and a byte at a time to its first verdict. */
static void
fuzz_skip(const uint8_t *data, size_t size)
{
	struct front_skip	s = { .nhdr = 0 };
	enum front_parse	whole, bytes = FRONT_MORE;
	size_t			i;

	whole = front_skip(&s, data, size);
	memset(&s, 0, sizeof(s));
	for (i = 0; i < size && bytes == FRONT_MORE; i++)
		bytes = front_skip(&s, data + i, 1);
	if (whole != bytes)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct front_req	r, small;
	enum front_parse	all;
	unsigned char		*copy;

	if (size > FRONT_PEEK)
		return 0;
	all = front_walk(&r, data, size, FRONT_PEEK, params);
	if (all == FRONT_DONE)
		fuzz_fields(&r);
	fuzz_prefix(data, size, size / 2, FRONT_PEEK, all, &r);
	if (size > 0)
		fuzz_prefix(data, size, size - 1, FRONT_PEEK, all, &r);
	/* A cap of half the bytes: refused, or whole within the half. */
	if (size >= 2 && front_walk(&small, data, size, size / 2, params) ==
	    FRONT_MORE)
		abort();
	fuzz_skip(data, size);
	/* The bytes as a PARAMS stream, in a buffer of exactly their size. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	memset(&r, 0, sizeof(r));
	(void)front_params(&r, copy, size);
	free(copy);
	return 0;
}
