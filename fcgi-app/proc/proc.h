/*
 * proc.h: the processes' floor (fcgi-app/proc/): the master (root:
 * slots, supervision), the front (the listening socket), the workers
 * (FastCGI, one slot each), the guard, and the privilege drop they share
 * (drop.c).  The top floor: nothing includes it but its own files; it
 * includes every floor below.
 */
#ifndef PYEXEC_PROC_H
#define PYEXEC_PROC_H

#include "serve.h"

/* worker.c: one per slot, unprivileged. */
struct worker {
	struct core_env	 env;			/* rs: owned by the worker */
	struct shared	*sh;			/* borrowed, shared mapping */
	int		 chan;			/* the channel to the front */
};

void		 worker_main(struct worker *) __attribute__((noreturn));

/* drop.c: the front's and the workers' privilege drop, and their exit. */
void		 drop_privileges(const struct pyexec_config *);
void		 drop_exit(int) __attribute__((noreturn));
/* on_term for SIGTERM and SIGINT, the 0-ended ignore ignored, then the
 * mask the master blocked cleared: the handlers first, so that a SIGTERM
 * sent right after the fork waits for its handler. */
void		 drop_signals(void (*on_term)(int), const int *ignore);

/* front.c: owns the listening socket; hands connections to idle workers
 * over their channels (chan[i], slot i), answers /health and /metrics,
 * and 503 past the queue's bounds; closes connections whose header does
 * not come (fcgiparse.h reads it). */
void		 front_main(const struct pyexec_config *, struct shared *,
		    const int *chan) __attribute__((noreturn));

/* guard.c: removes the slots' cgroups (and what is in them) when the
 * master dies without doing it; returns the pipe's write end. */
int		 guard_start(enum sb_cgversion, const char *name,
		    struct pyexec_config *);
void		 guard_done(int);

#endif /* PYEXEC_PROC_H */
