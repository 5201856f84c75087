/*
 * unicode.c: the characters a file name must not hold because a reader
 * cannot see them (docs/api.md, "File names").
 *
 * A name goes to a person through a client or the playground, and a name
 * such as "invoice<U+202E>txt.exe" shows as "invoiceexe.txt": the right-to-
 * left override turns what follows around.  Besides the controls (category
 * Cc: C0, DEL, C1), a name may therefore hold no format character
 * (category Cf: bidi embeddings, overrides, isolates and marks, the zero
 * width characters, the byte order mark, invisible operators, interlinear
 * annotations, tags, the soft hyphen) and no line or paragraph separator
 * (Zl, Zp: they break a line as LF does).  The table is generated from
 * Python's unicodedata (scripts/gen-unicode-table, unicode-format.h), so
 * the runner's first check (sandbox/runner.py, unicodedata.category) and
 * this one agree.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct unicode_range {
	uint32_t	lo, hi;
};

#include "unicode-format.h"

const char unicode_table_version[] = UNICODE_TABLE_VERSION;

/* Whether cp is a control character (Cc). */
static bool
unicode_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Whether cp is in the table (Cf, Zl, Zp): a binary search. */
bool
unicode_is_format(uint32_t cp)
{
	size_t	lo = 0, hi = sizeof(unicode_format) / sizeof(unicode_format[0]);
	size_t	mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp < unicode_format[mid].lo)
			hi = mid;
		else if (cp > unicode_format[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* The code point at s[*i] (s is valid UTF-8: envelope_utf8_valid()), and
 * *i past it. */
static uint32_t
unicode_next(const unsigned char *s, size_t len, size_t *i)
{
	uint32_t	cp = s[*i];
	size_t		n = 0, k;

	if (cp >= 0xf0) {
		cp &= 0x07;
		n = 3;
	} else if (cp >= 0xe0) {
		cp &= 0x0f;
		n = 2;
	} else if (cp >= 0xc0) {
		cp &= 0x1f;
		n = 1;
	}
	for (k = 1; k <= n && *i + k < len; k++)
		cp = cp << 6 | (s[*i + k] & 0x3f);
	*i += k;
	return cp;
}

/*
 * The first character of s (len bytes of valid UTF-8) that a name must not
 * hold: UNICODE_CONTROL or UNICODE_FORMAT, its code point in *cp; or
 * UNICODE_SHOWN when there is none.
 */
enum unicode_hidden
unicode_name_hidden(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0;
	uint32_t		 c;

	while (i < len) {
		c = unicode_next(u, len, &i);
		if (unicode_is_control(c) || unicode_is_format(c)) {
			*cp = c;
			return unicode_is_control(c) ? UNICODE_CONTROL :
			    UNICODE_FORMAT;
		}
	}
	return UNICODE_SHOWN;
}
