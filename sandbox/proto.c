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
#include <string.h>
#include <sys/socket.h>
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
