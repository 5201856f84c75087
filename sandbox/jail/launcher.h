/*
 * launcher.h: what the launcher (launcher.c), its keeper (keeper.c) and
 * its zygotes (zygote.c) share.  The launcher, its spawner (spawner.c)
 * and the keeper are one program, pyexec-launcher: the spawner is a fork
 * of the launcher, the keeper a clone of the spawner, and neither execs.
 * A zygote is python on the runner, cloned by the spawner, with
 * pyexec-zygote.so (zygote.c, runstep.c, root.c, proto.c) loaded into it.
 */
#ifndef PYEXEC_LAUNCHER_H
#define PYEXEC_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "proto.h"
#include "root.h"

#define LAUNCHER_MAX_CG	4	/* cgroup.procs fds: one per v1 hierarchy */

/* What makes a process a run (runstep.c): its ids, rlimits and policy. */
struct runstep {
	uid_t		 run_uid;
	gid_t		 run_gid;
	unsigned long	 fsize;		/* RLIMIT_FSIZE */
	unsigned long	 nofile;	/* RLIMIT_NOFILE */
	unsigned long	 nproc;		/* RLIMIT_NPROC */
	struct sock_fprog filter;	/* the run's seccomp policy (owned by
					 * the launcher; the zygote's copy is
					 * read from its config) */
};

/*
 * The zygotes of a slot: warm interpreters the runs are forked from.
 * ZYG_BARE has only what the runner itself uses; ZYG_DATA has
 * PYEXEC_PRELOAD (numpy, pandas, matplotlib...).  The worker says which a
 * run wants (PROTO_RUN_DATA); either one runs any code.
 */
enum zyg_kind {
	ZYG_BARE = 0,
	ZYG_DATA,
	ZYG_NKINDS,
};

#define ZYG_MAX_FAILURES 3	/* deaths before ready, in a row */
#define ZYG_TEXT	 200	/* the modules a zygote reports, "a,b,c" */

struct zygote {
	pid_t		 pid;		/* 0: none */
	int		 fd;		/* our end of its socket, or -1 */
	enum proto_warm	 state;
	unsigned	 failures;
	uint8_t		 gen;		/* its starts, mod 256 (PROTO_PONG) */
	uint32_t	 runs;		/* runs it served (not self-tests') */
	uint64_t	 ready_ns;	/* when it said KEEP_READY */
	uint16_t	 retired;	/* of this kind retired, mod 65536 */
	char		 modules[ZYG_TEXT];	/* what it imported */
};

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

struct launcher {
	struct runstep	 step;		/* run_uid, limits, the run's policy */
	const char	*python;
	char		*runner_src;	/* owned: the runner's source text */
	char		*runner_pyc;	/* owned: the runner compiled by python */
	size_t		 runner_pyc_len;
	struct root_opts root;		/* the run's file system */
	struct sock_fprog own_filter;	/* owned: the launcher's own policy */
	int		 sigfd;
	int		 cg_fds[LAUNCHER_MAX_CG];	/* run/cgroup.procs, per hierarchy */
	int		 ncg;
	pid_t		 keeper;	/* 0: none */
	int		 keeper_fd;	/* our end of the keeper's socket, or -1 */
	pid_t		 spawner;	/* starts keepers and zygotes (spawner.c) */
	int		 spawner_fd;	/* our end of its socket, or -1 */
	bool		 warm;		/* --warm 1: start the zygotes */
	bool		 keeper_started; /* the first keeper was made */
	uint8_t		 keeper_restarts; /* keepers made again (PROTO_PONG) */
	uint8_t		 zygote_restarts; /* zygotes that ended (PROTO_PONG) */
	const char	*preload;	/* --preload: the data zygote's modules */
	unsigned long	 max_runs;	/* --warm-max-runs: a zygote's runs */
	unsigned long	 max_age;	/* --warm-max-age: seconds, once ready */
	struct zygote	 zyg[ZYG_NKINDS];
};

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
};

#define KEEP_NFDS	6		/* PROTO_NFDS + the status socket */
#define KEEP_FD_WORKSPACE KEEP_NFDS	/* then, with PROTO_RUN_WORKSPACE,
					 * the workspace's mount */
#define KEEP_MAX_FDS	(KEEP_NFDS + 1)

/* How many fds come with a KEEP_RUN of these flags. */
static inline int
keep_nfds(int32_t flags)
{
	return KEEP_NFDS + ((flags & (int32_t)PROTO_RUN_WORKSPACE) ? 1 : 0);
}

/* Whether n bytes and nfds fds received are a whole KEEP_RUN. */
static inline int
keep_run_valid(const struct keep_msg *m, long n, int nfds)
{
	return n == (long)sizeof(*m) && m->op == KEEP_RUN &&
	    nfds == keep_nfds(m->value);
}

struct keep_ready {
	struct keep_msg	m;
	char		modules[ZYG_TEXT];	/* NUL-terminated */
};

/*
 * The spawner's messages (SOCK_SEQPACKET, spawner.c): launcher -> spawner
 * SPAWN_KEEPER + SCM_RIGHTS its socket, SPAWN_ZYGOTE_* + its socket and
 * config pipe; spawner -> launcher SPAWN_PID {the new process's pid, a
 * child of the launcher's, or -errno}.
 */
enum spawn_op {
	SPAWN_KEEPER = 1,
	SPAWN_ZYGOTE_BARE,
	SPAWN_ZYGOTE_DATA,
	SPAWN_PID,
};

struct spawn_msg {
	uint32_t	op;
	int32_t		value;		/* SPAWN_PID: pid or -errno */
};

/* runstep.c */
extern char *const runstep_envp[];
uint64_t	 launcher_now_ns(void);
void		 launcher_log(const char *level, const char *msg);
void		 runstep_fail(int st, const char *step) __attribute__((noreturn));
void		 runstep_fail_mounts(int st, int rc, const char *err)
		    __attribute__((noreturn));
void		 runstep_join_cgroups(int st, const int *cg_fds, int ncg);
int		 runstep_become(const struct runstep *, int *fds, int st,
		    bool workspace);
void		 runstep_stamp(int st);
void		 runstep_status(int st, int status);

/* launcher.c */
void		 launcher_die(int status, bool with_errno, const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 3, 4)));

/* keeper.c */
pid_t		 keeper_start(struct launcher *);
void		 keeper_main(const struct launcher *, int sock)
		    __attribute__((noreturn));

/* spawner.c */
int		 spawner_start(struct launcher *);
pid_t		 spawner_spawn(struct launcher *, uint32_t op, const int *fds);

#endif /* PYEXEC_LAUNCHER_H */
