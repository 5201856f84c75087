/*
 * fake_store.c: the workspace store's channel, faked at link time
 * (fake.h): ws_call() answers what the test pushed (with a descriptor of
 * /dev/null for a mount when asked) and records the request.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fake.h"

unsigned		 fake_store_calls;
struct ws_req		 fake_store_seen[FAKE_MAX];
static struct fake_store fake_store_q[FAKE_MAX];
static unsigned		 fake_store_n;

void
fake_store_push(const struct fake_store *f)
{
	ck_assert_uint_lt(fake_store_n, FAKE_MAX);
	fake_store_q[fake_store_n++] = *f;
}

int	__wrap_ws_call(int, struct ws_req *, struct ws_reply *, int *, int);

int
__wrap_ws_call(int fd, struct ws_req *q, struct ws_reply *r, int *mntfd,
    int timeout_ms)
{
	const struct fake_store	*f;

	(void)fd;
	(void)timeout_ms;
	ck_assert_msg(fake_store_calls < fake_store_n, "a store call nobody "
	    "scripted (call %u)", fake_store_calls + 1);
	fake_store_seen[fake_store_calls] = *q;
	f = &fake_store_q[fake_store_calls++];
	*mntfd = -1;
	if (f->rc != 0) {
		errno = ETIMEDOUT;
		return f->rc;
	}
	*r = f->r;
	if (f->fd)
		*mntfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

void
fake_store_reset(void)
{
	fake_store_calls = fake_store_n = 0;
	memset(fake_store_seen, 0, sizeof(fake_store_seen));
}
