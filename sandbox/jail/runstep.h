/*
 * runstep.h: what makes a process a run (runstep.c), one function a step,
 * the same cold (keeper.c: then exec python) and warm (zygote.c: then
 * back into the waiting interpreter).
 *
 * Floor: above jlog.h, root.h and filter.h, whose functions runstep.c
 * calls.  Included by runstep.c and the floors above it (keeper.c,
 * zygote.c, spawner.c, launcher.c); never by the host side.
 */
#ifndef PYEXEC_RUNSTEP_H
#define PYEXEC_RUNSTEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

/* What makes a process a run: its ids, rlimits and policy. */
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

/* The fixed environment of every run and of the zygotes. */
extern char *const runstep_envp[];

/* In the run's processes, st their status socket (keep.h says what goes
 * on it): each step that fails reports and ends the process. */
void		 runstep_fail(int st, const char *step) __attribute__((noreturn));
void		 runstep_fail_mounts(int st, int rc, const char *err)
		    __attribute__((noreturn));
void		 runstep_join_cgroups(int st, const int *cg_fds, int ncg);
int		 runstep_become(const struct runstep *, int *fds, int st,
		    bool workspace);
void		 runstep_stamp(int st);
void		 runstep_status(int st, int status);

#endif /* PYEXEC_RUNSTEP_H */
