/*
 * fcgiparse.h: the front's reading of a FastCGI request (front.c), as pure
 * functions on buffers: no socket, no allocation, no global state, so that
 * tests/unit/check_fcgiparse.c and tests/fuzz/fuzz_front.c drive them
 * with any bytes.
 *
 * The front looks at a connection's first bytes without consuming them
 * (MSG_PEEK: the worker reads the same bytes again with libfcgi), and
 * front_walk() says whether they hold a whole request header: a
 * BEGIN_REQUEST, then the PARAMS stream to its empty record.  It accepts
 * only what nginx sends (fastcgi_keep_conn off: one request, one id, the
 * responder role); anything else is FRONT_BAD and the front closes the
 * connection.  front_skip() walks the records the front reads and drops
 * (the rest of a request it answers itself) to the end of STDIN.
 */
#ifndef PYEXEC_FCGIPARSE_H
#define PYEXEC_FCGIPARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "trust.h"

#define FCGI_VERSION_1	1
#define FCGI_BEGIN	1	/* FCGI_BEGIN_REQUEST */
#define FCGI_END	3	/* FCGI_END_REQUEST */
#define FCGI_PARAMS	4
#define FCGI_STDIN	5
#define FCGI_STDOUT	6
#define FCGI_RESPONDER	1	/* the role nginx asks for */
#define FCGI_KEEP_CONN	1	/* a BEGIN_REQUEST flag; nginx: off */

#define FRONT_PEEK	65536	/* bytes of header the front looks at, at most */

/* What the front learns of a request from its params (front_param()'s
 * table).  inv holds a UUID's 36 characters and a NUL. */
struct front_req {
	unsigned	 id;		/* the FastCGI request id */
	char		 path[256], query[256], method[16];
	char		 inv[37];	/* PYEXEC_REQUEST_ID */
	char		 addr[64];	/* REMOTE_ADDR */
	bool		 key_valid;	/* PYEXEC_KEY_VALID is "1" */
	unsigned	 seen;		/* the params met, bit i: want[i] of
					 * front_param(), the last bit
					 * PYEXEC_KEY_VALID */
	/* PYEXEC_BACKEND_SECRET as sent (the first of the name, its first
	 * TRUST_HEX_LEN bytes): front.c checks it (trust_check()) before it
	 * believes anything above, then wipes it. */
	char		 secret[TRUST_HEX_LEN];
	size_t		 secret_len;	/* as sent, whatever it is */
	bool		 secret_sent;
};

enum front_parse {
	FRONT_BAD = -1,		/* not a request we serve: close it */
	FRONT_MORE = 0,		/* not all of it came yet */
	FRONT_DONE = 1,		/* all of it: front_walk() filled the req */
};

/* front_skip()'s place in a stream of records; all zero to start. */
struct front_skip {
	unsigned char	 hdr[8];	/* the header being read */
	size_t		 nhdr;		/* bytes of it so far */
	size_t		 left;		/* content and padding still to pass */
};

size_t		 front_len(const unsigned char *p, size_t n, size_t *i);
void		 front_param(struct front_req *, const char *name, size_t nl,
		    const char *val, size_t vl);
int		 front_params(struct front_req *, const unsigned char *p,
		    size_t n);
enum front_parse front_walk(struct front_req *, const unsigned char *buf,
		    size_t n, size_t cap, unsigned char *params);
enum front_parse front_skip(struct front_skip *, const unsigned char *p,
		    size_t n);

#endif
