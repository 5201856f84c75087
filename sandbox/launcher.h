/*
 * launcher.h: what the launcher (launcher.c) and its keeper (keeper.c)
 * share.  Both are one program, pyexec-launcher: the keeper is a fork of
 * the launcher and never execs.
 */
#ifndef PYEXEC_LAUNCHER_H
#define PYEXEC_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "root.h"

#define LAUNCHER_MAX_CG	4	/* cgroup.procs fds: one per v1 hierarchy */

struct launcher {
	uid_t		 run_uid;
	gid_t		 run_gid;
	const char	*python;
	char		*runner_src;	/* owned: the runner's source text */
	char		*runner_pyc;	/* owned: the runner compiled by python */
	size_t		 runner_pyc_len;
	struct root_opts root;		/* the run's file system */
	struct sock_fprog filter;	/* owned: the run's seccomp policy */
	struct sock_fprog own_filter;	/* owned: the launcher's own policy */
	unsigned long	 fsize;		/* RLIMIT_FSIZE */
	unsigned long	 nofile;	/* RLIMIT_NOFILE */
	unsigned long	 nproc;		/* RLIMIT_NPROC */
	int		 sigfd;
	int		 cg_fds[LAUNCHER_MAX_CG];	/* run/cgroup.procs, per hierarchy */
	int		 ncg;
	pid_t		 keeper;	/* 0: none */
	int		 keeper_fd;	/* our end of the keeper's socket, or -1 */
};

/*
 * The keeper's messages (SOCK_SEQPACKET, one per packet).
 *
 *   launcher -> keeper   KEEP_RUN + SCM_RIGHTS: the run's five fds (proto.h
 *                        order) and the run's status socket, last
 *   keeper -> launcher   KEEP_READY once it lives in run/;
 *                        KEEP_STARTED {pid of the run's init, in the
 *                        slot's pid namespace} or KEEP_FAILED {errno};
 *                        KEEP_REAPED {pid, wait status} once the run's
 *                        init, and so its whole pid namespace, is gone
 *
 * And on the run's status socket (run's init and child -> launcher):
 *   'T' + uint64 exec time (ns)    the child is about to exec python
 *   '!' + text                     a set-up step failed
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
	int32_t		value;		/* errno or wait status */
};

#define KEEP_NFDS	6		/* PROTO_NFDS + the status socket */

uint64_t	 launcher_now_ns(void);
void		 launcher_log(const char *level, const char *msg);
void		 launcher_die(int status, bool with_errno, const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 3, 4)));

/* keeper.c */
pid_t		 keeper_start(struct launcher *);

#endif /* PYEXEC_LAUNCHER_H */
