/*
 * launcher.h: the launcher's own state (launcher.c).  The launcher, its
 * spawner (spawner.c) and its keeper (keeper.c) are one program,
 * pyexec-launcher: the spawner is a fork of the launcher, the keeper a
 * clone of the spawner, and neither execs.  A zygote is python on the
 * runner, cloned by the spawner, with pyexec-zygote.so (zygote.c,
 * runstep.c, root.c, jlog.c, proto.c) loaded into it.
 *
 * Floor: the jail's top.  Included by launcher.c only: the spawner and
 * the keeper are given a struct jail (jail.h), never this.
 */
#ifndef PYEXEC_LAUNCHER_H
#define PYEXEC_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "jail.h"
#include "keep.h"
#include "proto.h"
#include "spawner.h"

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

struct launcher {
	struct jail	 jail;		/* what the processes we start are
					 * made with (jail.h) */
	char		*runner_src;	/* owned: the runner's source text */
	char		*runner_pyc;	/* owned: the runner compiled by python */
	size_t		 runner_pyc_len;
	struct sock_fprog own_filter;	/* owned: the launcher's own policy */
	int		 sigfd;
	pid_t		 keeper;	/* 0: none */
	int		 keeper_fd;	/* our end of the keeper's socket, or -1 */
	struct spawner	 spawner;	/* starts keepers and zygotes (spawner.c) */
	bool		 warm;		/* --warm 1: start the zygotes */
	bool		 keeper_started; /* the first keeper was made */
	uint8_t		 keeper_restarts; /* keepers made again (PROTO_PONG) */
	uint8_t		 zygote_restarts; /* zygotes that ended (PROTO_PONG) */
	unsigned long	 max_runs;	/* --warm-max-runs: a zygote's runs */
	unsigned long	 max_age;	/* --warm-max-age: seconds, once ready */
	struct zygote	 zyg[ZYG_NKINDS];
};

#endif /* PYEXEC_LAUNCHER_H */
