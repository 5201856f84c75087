/*
 * libFuzzer target: the messages of the service's own channels, which a
 * compromised peer could fill with anything: the worker's PROTO_RUN to
 * its launcher, the launcher's KEEP_RUN to its keeper and zygotes, a
 * worker's request to the workspace store.  The bytes go through a real
 * SOCK_SEQPACKET socketpair with 0 to 9 descriptors attached (the first
 * byte says how many), are read with proto_recv() as each receiver reads
 * them, and must pass or fail its check whole; every descriptor received
 * is closed (no fd may leak).  Built and run by tests/fuzz/run under ASan
 * and UBSan.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "keep.h"
#include "store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	sv[2] = { -1, -1 }, nul = -1;

/* Sends the bytes with k descriptors, receives them as a receiver with
 * room for max fds and a buffer of len: the message and the fds got. */
static ssize_t
fuzz_pass(const uint8_t *data, size_t size, int k, void *buf, size_t len,
    int max, int *fds, int *nfds)
{
	int	 out[9], i;
	ssize_t	 n;

	for (i = 0; i < k; i++)
		out[i] = nul;
	*nfds = 0;
	if (proto_send(sv[0], data, size, out, k) != 0)
		return -2;			/* too big for a packet: fine */
	n = proto_recv(sv[1], buf, len, fds, max, nfds);
	if (n >= 0 && (*nfds < 0 || *nfds > max))
		abort();
	if (n < 0 && *nfds != 0)
		abort();			/* refused: nothing kept */
	return n;
}

static void
fuzz_close(int *fds, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (fds[i] < 0 || close(fds[i]) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union proto_msg	 m;
	struct keep_msg	 km;
	struct ws_req	 q;
	int		 fds[16], nfds, k;
	ssize_t		 n;

	if (sv[0] < 0 && (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0 ||
	    (nul = open("/dev/null", O_RDONLY)) < 0))
		abort();
	if (size < 1)
		return 0;
	k = data[0] % 10;
	data++;
	size--;
	/* the launcher, from its worker */
	memset(&m, 0, sizeof(m));
	if ((n = fuzz_pass(data, size, k, &m, sizeof(m), PROTO_MAX_FDS, fds,
	    &nfds)) >= 0) {
		if (proto_run_valid(&m, (long)n, nfds) &&
		    (nfds != proto_run_nfds(m.run.flags, m.run.session_ncg) ||
		    m.run.timeout_ms == 0 || nfds > PROTO_MAX_FDS ||
		    ((m.run.flags & PROTO_RUN_SESSION) &&
		    (m.run.session_ncg < 1 || m.run.session_uid == 0))))
			abort();
		fuzz_close(fds, nfds);
	}
	/* a keeper or a zygote, from its launcher */
	memset(&km, 0, sizeof(km));
	if ((n = fuzz_pass(data, size, k, &km, sizeof(km), KEEP_MAX_FDS, fds,
	    &nfds)) >= 0) {
		if (keep_run_valid(&km, (long)n, nfds) && (nfds < KEEP_NFDS ||
		    nfds > KEEP_MAX_FDS))
			abort();
		fuzz_close(fds, nfds);
	}
	/* the workspace store, from a worker (no descriptor may come) */
	memset(&q, 0, sizeof(q));
	if ((n = fuzz_pass(data, size, k, &q, sizeof(q), 0, fds, &nfds)) >= 0) {
		if (nfds != 0)
			abort();
		if (ws_req_valid(&q, (long)n)) {
			if (q.client[sizeof(q.client) - 1] != '\0' ||
			    q.session[sizeof(q.session) - 1] != '\0')
				abort();
			(void)ws_client_ok(q.client);
			(void)ws_session_ok(q.session);
		}
	}
	return 0;
}
