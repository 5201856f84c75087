/*
 * proto.h: the messages between a worker and its slot's launcher.
 *
 * The channel is a SOCK_SEQPACKET socketpair made by the master: one
 * message per packet, so a short or long packet is a protocol error, never
 * a partial read.  Both sides check the size of every message before they
 * look at it (as httpd's IMSG_SIZE_CHECK does); a bad message from the
 * worker makes the launcher end the run and exit, and the master makes the
 * slot again.
 *
 *   worker -> launcher   PROTO_RUN   + SCM_RIGHTS: the run's five fds
 *                                     and, with PROTO_RUN_WORKSPACE, the
 *                                     workspace's mount (flags: PROTO_RUN_*)
 *                        PROTO_KILL  (output cap reached: stop the run)
 *                        PROTO_PING
 *   launcher -> worker   PROTO_DONE  (the runner's status is known and
 *                                     every process of the run killed)
 *                        PROTO_CLEAN (the run's namespaces are gone: the
 *                                     slot takes the next run)
 *                        PROTO_PONG  (struct proto_pong: the state
 *                                     of the slot's zygotes, and how
 *                                     often they and the keeper were
 *                                     made again)
 */
#ifndef PYEXEC_PROTO_H
#define PYEXEC_PROTO_H

#include <stdint.h>

#define PROTO_MAGIC	0x70657831u	/* "pex1" */

enum proto_op {
	PROTO_RUN = 1,
	PROTO_KILL,
	PROTO_PING,
	PROTO_DONE,
	PROTO_PONG,
	PROTO_CLEAN,
};

/* The fds that come with PROTO_RUN, in this order; in the run they are
 * dup2()ed to the same numbers. */
enum proto_fd {
	PROTO_FD_STDIN = 0,	/* the run reads its stdin */
	PROTO_FD_STDOUT,	/* the run writes stdout */
	PROTO_FD_STDERR,	/* the run writes stderr */
	PROTO_FD_CODE,		/* the runner reads the code, then closes it */
	PROTO_FD_REPORT,	/* the runner writes its JSON report */
	PROTO_NFDS,
};

struct proto_hdr {
	uint32_t	magic;
	uint32_t	op;
};

struct proto_run {
	struct proto_hdr hdr;
	uint32_t	timeout_ms;	/* wall-clock limit of the run */
	uint32_t	flags;		/* PROTO_RUN_* */
	uint8_t		bare_gen;	/* with PROTO_RUN_BARE_PROVEN: the bare */
	uint8_t		data_gen;	/* and data zygotes the worker proved */
	uint8_t		session_ncg;	/* with PROTO_RUN_SESSION: how many
					 * cgroup.procs fds follow */
	uint8_t		reserved;
	uint32_t	session_uid;	/* ... and the uid it runs as, inside
					 * the slot's user namespace */
};

#define PROTO_RUN_COLD	0x1u	/* start python afresh, not from a zygote */
#define PROTO_RUN_DATA	0x2u	/* the code names a preloaded module: the
				 * data zygote if it is ready */
#define PROTO_RUN_OUTPUTS 0x4u	/* the run's /tmp starts with outputs/
				 * (artifacts: made with the mounts, in C,
				 * so a run that collects pays no mkdir) */
#define PROTO_RUN_WORKSPACE 0x8u /* a sixth fd follows the five: a detached
				 * mount (store.c) the run's init moves
				 * onto /workspace, its working directory */
#define PROTO_RUN_BARE_PROVEN 0x10u /* a self-test of the worker proved the
				 * bare zygote of bare_gen: a run may come
				 * from it (from no other generation) */
#define PROTO_RUN_DATA_PROVEN 0x20u /* ... the data zygote of data_gen */
#define PROTO_RUN_PROBE	0x40u	/* a self-test's run: from any ready zygote
				 * (it is what is proved), and not counted
				 * toward the zygote's PYEXEC_WARM_MAX_RUNS */
#define PROTO_RUN_SESSION 0x80u	/* a live session, not a run: a zygote's
				 * spare becomes an interpreter that does
				 * not end with the call (the runner's
				 * session loop, fed over the code fd, a
				 * socket), in the session's own cgroup
				 * (session_ncg cgroup.procs fds follow the
				 * workspace's) and uid (session_uid); the
				 * launcher answers PROTO_DONE with
				 * PROTO_DONE_SESSION once it is set up, and
				 * forgets it (sandbox/host/session.c) */
#define PROTO_RUN_KEEP	(PROTO_RUN_OUTPUTS | PROTO_RUN_WORKSPACE | \
			    PROTO_RUN_SESSION)
				/* what the launcher passes on (KEEP_RUN) */
#define PROTO_SESSION_MAX_CG 5	/* memory, cpu, cpuacct, pids, freezer (v1) */
#define PROTO_MAX_FDS	(PROTO_NFDS + 1 + PROTO_SESSION_MAX_CG)

/* How many fds come with a PROTO_RUN of these flags (and session_ncg). */
static inline int
proto_run_nfds(uint32_t flags, unsigned ncg)
{
	return PROTO_NFDS + ((flags & PROTO_RUN_WORKSPACE) ? 1 : 0) +
	    ((flags & PROTO_RUN_SESSION) ? (int)ncg : 0);
}

/* What the launcher receives: a header, or a whole run request. */
union proto_msg {
	struct proto_hdr hdr;
	struct proto_run run;
};

/* Whether n bytes and nfds fds received are a whole, sane PROTO_RUN. */
static inline int
proto_run_valid(const union proto_msg *m, long n, int nfds)
{
	return n == (long)sizeof(m->run) && m->hdr.magic == PROTO_MAGIC &&
	    m->hdr.op == PROTO_RUN && m->run.timeout_ms > 0 &&
	    (!(m->run.flags & PROTO_RUN_SESSION) || (m->run.session_ncg >= 1 &&
	    m->run.session_ncg <= PROTO_SESSION_MAX_CG &&
	    m->run.session_uid > 0)) &&
	    nfds == proto_run_nfds(m->run.flags, m->run.session_ncg);
}

/* Sent once the runner's status is known and the run killed; PROTO_CLEAN
 * (a bare header) follows once nothing of the run is left. */
struct proto_done {
	struct proto_hdr hdr;
	int32_t		wstatus;	/* waitpid() status of the runner */
	uint32_t	flags;		/* PROTO_DONE_* */
	uint64_t	wall_ns;	/* fork to reap of the runner */
	uint64_t	overshoot_ns;	/* kill time minus the deadline */
	uint64_t	setup_ns;	/* fork to exec, measured in the child */
};

#define PROTO_DONE_TIMEOUT	0x1u	/* the wall clock fired */
#define PROTO_DONE_KILLED	0x2u	/* killed on PROTO_KILL */
#define PROTO_DONE_NOEXEC	0x8u	/* the run could not be started */
#define PROTO_DONE_WARM		0x10u	/* forked from a zygote */
#define PROTO_DONE_DATA		0x20u	/* ... the data zygote */
#define PROTO_DONE_LOST		0x40u	/* its zygote died before the runner's
					 * status was known, and the run with
					 * it: not the code's doing */
#define PROTO_DONE_SESSION	0x100u	/* PROTO_RUN_SESSION: the session's
					 * interpreter is set up and lives on
					 * (no wait status: it has not ended) */
#define PROTO_DONE_WORKSPACE	0x80u	/* the run did not start: its
					 * workspace could not be entered
					 * (the client's error; the slot is
					 * sound) */

/* A zygote's state, as the launcher keeps it and PROTO_PONG says it. */
enum proto_warm {
	PROTO_WARM_OFF = 0,	/* PYEXEC_WARM=0 (or no PYEXEC_PRELOAD) */
	PROTO_WARM_STARTING,	/* started, not yet ready */
	PROTO_WARM_READY,
	PROTO_WARM_FAILED,	/* given up: its runs start cold */
};

/* The answer to PROTO_PING: the zygotes' states (enum proto_warm) and
 * what the data zygote imported ("numpy,pandas,...", NUL-terminated). */
struct proto_pong {
	struct proto_hdr hdr;
	uint8_t		bare_state;
	uint8_t		data_state;
	uint8_t		bare_gen;	/* counts the zygote's (re)starts */
	uint8_t		data_gen;
	uint16_t	bare_retired;	/* zygotes replaced at their limits */
	uint16_t	data_retired;	/* (PYEXEC_WARM_MAX_*), mod 65536 */
	uint8_t		zygote_restarts; /* zygotes that ended and were
					 * made again (or given up), mod 256;
					 * not the retired ones */
	uint8_t		keeper_restarts; /* keepers made again, mod 256 */
	uint8_t		reserved[2];
	char		modules[200];
};

/*
 * proto.c: receives one packet of at most len bytes on fd, and with it at
 * most maxfds descriptors (SCM_RIGHTS, close-on-exec) into fds.  A packet
 * that was cut, or that carried more descriptors than maxfds or anything
 * else in its control data, is a protocol error: every descriptor that
 * came with it is closed, *nfds is 0 and the result -1 (errno EPROTO).
 * Returns the packet's size, 0 at end of file, or -1.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

ssize_t	proto_recv(int fd, void *buf, size_t len, int *fds, int maxfds,
	    int *nfds);
int	proto_send(int fd, const void *buf, size_t len, const int *fds,
	    int nfds);
int64_t	proto_mono_ms(void);
ssize_t	proto_ask(int fd, const void *q, size_t qlen, void *r, size_t rlen,
	    int *fds, int maxfds, int *nfds, int timeout_ms,
	    bool (*ours)(const void *r, ssize_t n, const void *q));

#endif /* PYEXEC_PROTO_H */
