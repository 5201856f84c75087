/*
 * jail.h: what the launcher learns once, at its set-up, and every process
 * it starts is made with: the run's steps, the run's file system, python,
 * the run/ cgroup.procs fds and the data zygote's modules.  The spawner
 * and the keeper are forks of the launcher and read it from their copy of
 * its memory; they are given this, not the launcher's whole state.
 *
 * Floor: data only, beside keep.h.  Included by keeper.c, spawner.c and
 * launcher.c; never by the host side.
 */
#ifndef PYEXEC_JAIL_H
#define PYEXEC_JAIL_H

#include "keep.h"
#include "root.h"
#include "runstep.h"

struct jail {
	struct runstep	 step;		/* run_uid, limits, the run's policy */
	struct root_opts root;		/* the run's file system */
	const char	*python;
	int		 cg_fds[LAUNCHER_MAX_CG];	/* run/cgroup.procs, per
							 * hierarchy, in a row */
	int		 ncg;
	const char	*preload;	/* --preload: the data zygote's modules */
};

#endif /* PYEXEC_JAIL_H */
