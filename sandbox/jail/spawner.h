/*
 * spawner.h: the launcher's filter-free hands (spawner.c), which clone
 * every keeper and zygote for it.
 *
 * Floor: above keeper.h (the spawner's clone becomes the keeper), below
 * the launcher.  Included by spawner.c and launcher.c only.
 */
#ifndef PYEXEC_SPAWNER_H
#define PYEXEC_SPAWNER_H

#include <stdint.h>
#include <sys/types.h>

#include "jail.h"

/*
 * The spawner's messages (SOCK_SEQPACKET): launcher -> spawner
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

/* The launcher's handle on its spawner. */
struct spawner {
	pid_t		 pid;		/* 0: none */
	int		 fd;		/* our end of its socket, or -1 */
};

int		 spawner_start(const struct jail *, struct spawner *);
pid_t		 spawner_spawn(struct spawner *, uint32_t op, const int *fds);

#endif /* PYEXEC_SPAWNER_H */
