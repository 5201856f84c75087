/*
 * keeper.h: the keeper (keeper.c), which clones each cold run's init.
 *
 * Floor: above runstep.h, root.h, jlog.h and proto.h, whose functions
 * keeper.c calls; below the spawner, which starts it.  Included by
 * keeper.c and spawner.c only.
 */
#ifndef PYEXEC_KEEPER_H
#define PYEXEC_KEEPER_H

#include "jail.h"

/* In the spawner's clone: becomes the keeper, sock its socket to the
 * launcher; never returns. */
void		 keeper_main(const struct jail *, int sock)
		    __attribute__((noreturn));

#endif /* PYEXEC_KEEPER_H */
