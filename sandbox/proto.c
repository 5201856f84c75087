/*
 * proto.c: the send and the bounded receive of the slot's protocols.
 *
 * proto_send() sends one packet with descriptors; proto_recv() takes one.
 * The control buffer holds one descriptor more than the caller takes, so
 * a sender that passes too many is seen (the count, or MSG_CTRUNC) and
 * refused instead of overflowing the caller's array: every descriptor
 * received is then closed.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stdbool.h>

#include "proto.h"

#define PROTO_RECV_FDS	16	/* the most any message of ours carries */

ssize_t
proto_recv(int fd, void *buf, size_t len, int *fds, int maxfds, int *nfds)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * (PROTO_RECV_FDS + 1))];
		struct cmsghdr	align;
	} cbuf;
	int		 got[PROTO_RECV_FDS + 1];
	struct iovec	 iov = { buf, len };
	struct msghdr	 msg = { 0 };
	struct cmsghdr	*c;
	ssize_t		 n;
	size_t		 k, i, ngot = 0;
	bool		 bad = false;

	*nfds = 0;
	if (maxfds < 0 || maxfds > PROTO_RECV_FDS) {
		errno = EINVAL;
		return -1;
	}
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * ((size_t)maxfds + 1));
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			bad = true;
			continue;
		}
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ngot < PROTO_RECV_FDS + 1)
				got[ngot++] = one;
			else {
				close(one);
				bad = true;
			}
		}
	}
	if (bad || ngot > (size_t)maxfds ||
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (i = 0; i < ngot; i++)
			close(got[i]);
		errno = EPROTO;
		return -1;
	}
	memcpy(fds, got, ngot * sizeof(int));
	*nfds = (int)ngot;
	return n;
}

/* Sends len bytes of buf as one packet with nfds descriptors (SCM_RIGHTS;
 * the caller keeps its copies).  0, or -1 with errno set. */
int
proto_send(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * PROTO_RECV_FDS)];
		struct cmsghdr	align;
	} cbuf;
	struct iovec	 iov = { (void *)buf, len };
	struct msghdr	 msg = { 0 };
	struct cmsghdr	*c;

	if (nfds < 0 || nfds > PROTO_RECV_FDS) {
		errno = EINVAL;
		return -1;
	}
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Monotonic milliseconds: the host side's one clock (run.c, store.c,
 * session.c and proto_ask below). */
int64_t
proto_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A worker's request to a root helper (the store, the session keeper):
 * sends q (qlen bytes) on fd, then waits up to timeout_ms for the packet
 * that ours(r, n, q) accepts, into r (rlen bytes at most) with at most
 * maxfds descriptors into fds (*nfds; the caller's).  A late answer to an
 * earlier request that timed out is not ours: dropped, its descriptors
 * closed.  The answer's size, or -1 (errno: ETIMEDOUT, ECONNRESET, ...).
 */
ssize_t
proto_ask(int fd, const void *q, size_t qlen, void *r, size_t rlen,
    int *fds, int maxfds, int *nfds, int timeout_ms,
    bool (*ours)(const void *, ssize_t, const void *))
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	int64_t		 until = proto_mono_ms() + timeout_ms;
	int		 left, i;
	ssize_t		 n;

	*nfds = 0;
	if (proto_send(fd, q, qlen, NULL, 0) != 0)
		return -1;
	for (;;) {
		left = (int)(until - proto_mono_ms());
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&pfd, 1, left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = proto_recv(fd, r, rlen, fds, maxfds, nfds);
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n < 0 && errno != EPROTO)
			return -1;
		if (n > 0 && ours(r, n, q))
			return n;
		for (i = 0; n > 0 && i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
}
