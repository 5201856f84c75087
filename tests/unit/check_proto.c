/* Unit tests: the bounded receive of the slot's protocols (proto.c). */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "proto.h"

static int
open_fds(void)
{
	DIR	*d = opendir("/proc/self/fd");
	int	 n = 0;

	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Sends one packet with n fds (copies of fd 0). */
static void
send_fds(int s, int n)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr	align;
	} cbuf;
	struct proto_hdr h = { PROTO_MAGIC, PROTO_PING };
	struct iovec	 iov = { &h, sizeof(h) };
	struct msghdr	 msg = { 0 };
	struct cmsghdr	*c;
	int		 fds[16], i;

	for (i = 0; i < n; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (n > 0) {
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	}
	ck_assert_int_eq(sendmsg(s, &msg, 0), sizeof(h));
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Issue 8, finding 5: six fds (or sixteen) for a receiver of five. */
START_TEST(test_too_many_fds)
{
	int		sv[2], fds[PROTO_NFDS + 4], nfds, before, i;
	struct proto_hdr h;
	static const int counts[] = { 6, 7, 16 };

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	before = open_fds();
	for (i = 0; i < 3; i++) {
		memset(fds, 0x5a, sizeof(fds));
		send_fds(sv[0], counts[i]);
		ck_assert_int_eq(proto_recv(sv[1], &h, sizeof(h), fds, PROTO_NFDS,
		    &nfds), -1);
		ck_assert_int_eq(nfds, 0);
		/* Nothing written past the caller's five, nothing left open. */
		ck_assert_int_eq(fds[PROTO_NFDS], 0x5a5a5a5a);
		ck_assert_int_eq(open_fds(), before);
	}
	send_fds(sv[0], PROTO_NFDS);
	ck_assert_int_eq(proto_recv(sv[1], &h, sizeof(h), fds, PROTO_NFDS,
	    &nfds), sizeof(h));
	ck_assert_int_eq(nfds, PROTO_NFDS);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	send_fds(sv[0], 1);
	ck_assert_int_eq(proto_recv(sv[1], &h, sizeof(h), fds, 0, &nfds), -1);
	ck_assert_int_eq(open_fds(), before);
	close(sv[0]);
	ck_assert_int_eq(proto_recv(sv[1], &h, sizeof(h), fds, 0, &nfds), 0);
	close(sv[1]);
}
END_TEST

static Suite *
proto_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("proto", "recv", &tc);

	tcase_add_test(tc, test_too_many_fds);
	return s;
}

CHECK_MAIN(proto_suite(), CK_FORK_GETENV)
