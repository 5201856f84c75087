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

struct ws_req		 fake_store_seen[FAKE_MAX];
static struct fake_store fake_store_q[FAKE_MAX];
struct fake_queue	 fake_stores = FAKE_QUEUE("a store call", fake_store_q);

int	__wrap_ws_call(int, struct ws_req *, struct ws_reply *, int *, int);

int
__wrap_ws_call(int fd, struct ws_req *q, struct ws_reply *r, int *mntfd,
    int timeout_ms)
{
	const struct fake_store	*f;

	(void)fd;
	(void)timeout_ms;
	f = fake_queue_take(&fake_stores);
	fake_store_seen[fake_stores.calls - 1] = *q;
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
	fake_queue_reset(&fake_stores);
	memset(fake_store_seen, 0, sizeof(fake_store_seen));
}
