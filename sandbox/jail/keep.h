/*
 * keep.h: the messages inside the jail, between the launcher and the
 * processes it has started to make runs: its keeper (keeper.c) and its
 * zygotes (zygote.c, pyexec-zygote.so), and what a run's processes say on
 * their status socket.  Data and size checks only: no function of a file.
 *
 * Floor: the jail's protocol, beside proto.h (the worker's protocol, which
 * it extends).  Included by keeper.c, zygote.c, spawner.c and launcher.c
 * (and tests/fuzz/fuzz_proto.c); never by the host side.
 */
#ifndef PYEXEC_KEEP_H
#define PYEXEC_KEEP_H

#include <stdint.h>

#include "proto.h"

#define LAUNCHER_MAX_CG	4	/* cgroup.procs fds: one per v1 hierarchy */
#define ZYG_TEXT	 200	/* the modules a zygote reports, "a,b,c" */
#define ZYG_MAX_FAILURES 3	/* a zygote's deaths before ready, and its
				 * spares' deaths, in a row */

/* What the launcher writes on the zygote's fd 4: this, then filter_len
 * struct sock_filter of the run's policy. */
struct zyg_conf {
	uint32_t	magic;
	uint32_t	run_uid, run_gid;
	uint32_t	ncg;		/* cgroup.procs fds at ZYG_FD_CG.. */
	uint64_t	fsize, nofile, nproc, tmp_size;
	uint32_t	filter_len;
	uint32_t	reserved;
};

#define ZYG_CONF_MAGIC	0x7a79676fu	/* "zygo" */
#define ZYG_FD_SOCK	3	/* the zygote's end of its launcher socket */
#define ZYG_FD_CONF	4
#define ZYG_FD_CG	5

/*
 * The keeper's and the zygotes' messages (SOCK_SEQPACKET, one per packet).
 *
 *   launcher -> keeper   KEEP_RUN + SCM_RIGHTS: the run's five fds (proto.h
 *   or zygote            order) and the run's status socket, last
 *   keeper -> launcher   KEEP_READY once it is set up (a zygote: once
 *   or zygote            it has imported, with what: struct keep_ready);
 *                        KEEP_STARTED {pid of the run's init, in the
 *                        slot's pid namespace} or KEEP_FAILED {errno};
 *                        KEEP_REAPED {pid, wait status} once the run's
 *                        init, and so its whole pid namespace, is gone
 *
 * And on the run's status socket (run's init and child -> launcher):
 *   'T' + uint64 exec time (ns)    the child is about to exec python
 *   '!' + text                     a set-up step failed
 *   'W' + text                     the run's workspace could not be
 *                                  entered (moved onto /workspace, or
 *                                  made the cwd): the run does not start,
 *                                  PROTO_DONE_WORKSPACE, the slot goes on
 *   'S' + int32 wait status        the runner (python) has ended
 */
enum keep_op {
	KEEP_RUN = 1,
	KEEP_STARTED,
	KEEP_FAILED,
	KEEP_REAPED,
	KEEP_READY,
};

struct keep_msg {
	uint32_t	op;
	int32_t		pid;
	int32_t		value;		/* errno or wait status; in KEEP_RUN
					 * the run's PROTO_RUN_KEEP flags */
	uint32_t	uid;		/* KEEP_RUN of a session: its uid */
	uint32_t	ncg;		/* ... and its cgroup.procs fds */
};

#define KEEP_NFDS	6		/* PROTO_NFDS + the status socket */
#define KEEP_FD_WORKSPACE KEEP_NFDS	/* then, with PROTO_RUN_WORKSPACE,
					 * the workspace's mount */
#define KEEP_MAX_FDS	(KEEP_NFDS + 1 + PROTO_SESSION_MAX_CG)
				/* then, with PROTO_RUN_SESSION, the session's
				 * ncg cgroup.procs fds */

/* Where a KEEP_RUN's session cgroup fds begin. */
static inline int
keep_cg_first(int32_t flags)
{
	return KEEP_NFDS + ((flags & (int32_t)PROTO_RUN_WORKSPACE) ? 1 : 0);
}

/* How many fds come with a KEEP_RUN of these flags. */
static inline int
keep_nfds(int32_t flags, uint32_t ncg)
{
	return keep_cg_first(flags) +
	    ((flags & (int32_t)PROTO_RUN_SESSION) ? (int)ncg : 0);
}

/* Whether n bytes and nfds fds received are a whole KEEP_RUN. */
static inline int
keep_run_valid(const struct keep_msg *m, long n, int nfds)
{
	return n == (long)sizeof(*m) && m->op == KEEP_RUN &&
	    (!(m->value & (int32_t)PROTO_RUN_SESSION) || (m->ncg >= 1 &&
	    m->ncg <= PROTO_SESSION_MAX_CG && m->uid > 0)) &&
	    nfds == keep_nfds(m->value, m->ncg);
}

struct keep_ready {
	struct keep_msg	m;
	char		modules[ZYG_TEXT];	/* NUL-terminated */
};

#endif /* PYEXEC_KEEP_H */
