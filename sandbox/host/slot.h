/*
 * slot.h: a slot, made by the master (slot.c): its uids, its cgroups and
 * its launcher, cloned into the slot's namespaces.
 *
 * Floor: the host side's top; slot.c calls cgroup.c and run.c (the
 * launcher's first answer).  Included by slot.c and fcgi-app/ (through
 * sandbox.h); never by the jail.
 */
#ifndef PYEXEC_SLOT_H
#define PYEXEC_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"

/* What a slot is made with: filled by the master from its configuration
 * (sandbox/ knows nothing of the service's configuration). */
struct slot_opts {
	const char	*cgroup_base;	/* "" or the v2 delegated "path/" */
	const char	*instance;	/* cgroup pyexec/<instance>/slot-N */
	uid_t		 uid_base;	/* slot i: launcher base+2i, runs +1 */
	unsigned	 max_pids;	/* pids.max and RLIMIT_NPROC */
	size_t		 tmp_size;	/* bytes of a run's /tmp, /dev/shm */
	size_t		 max_file_size;	/* RLIMIT_FSIZE */
	unsigned	 max_open_files; /* RLIMIT_NOFILE */
	const char	*launcher_path;	/* pyexec-launcher */
	const char	*runner_path;	/* runner.py */
	const char	*python_path;	/* the runs' python */
	bool		 warm;		/* start the zygotes */
	const char	*zygote_path;	/* pyexec-zygote.so */
	const char	*preload;	/* the data zygote's modules */
	unsigned	 warm_max_runs;	/* a zygote is replaced after these */
	unsigned	 warm_max_age;	/* ... or seconds ready */
	uid_t		 session_uid_base; /* live session k: this + k, */
	unsigned	 sessions;	/* ... mapped as 2000 + k in every slot
					 * (session.h); 0: none */
};

struct slot {
	unsigned	 id;
	uid_t		 launcher_uid;	/* host uid of the launcher (0 inside) */
	uid_t		 run_uid;	/* host uid of the runs (1000 inside) */
	struct sb_cgroup cg;
	pid_t		 launcher_pid;	/* host pid, or 0 */
	int		 ctl_fd;	/* worker's end of the socketpair, or -1 */
	bool		 fifo;		/* the launcher runs SCHED_FIFO (else
					 * nice -10: the master says so once) */
};

int		 slot_create(struct slot *, unsigned id, const struct slot_opts *,
		    uid_t, gid_t, char *, size_t);
int		 slot_start_launcher(struct slot *, const struct slot_opts *,
		    char *, size_t);
void		 slot_stop_launcher(struct slot *);
int		 slot_destroy(struct slot *);

#endif /* PYEXEC_SLOT_H */
