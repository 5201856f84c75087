/*
 * status.c: the status table the master shares with its workers (struct
 * shared, pyexec.h): the names of slot states, and a worker's record of
 * its slot's zygotes.  Only displayed (/health); nothing trusts it.
 */
#include "config.h"

#include "pyexec.h"
#include "sandbox.h"

static const char *const state_names[] = {
	[SLOT_STARTING] = "starting",
	[SLOT_READY] = "ready",
	[SLOT_BUSY] = "busy",
	[SLOT_FAILED] = "failed",
	[SLOT_DOWN] = "down",
};

const char *
status_state_name(int s)
{
	if (s < 0 || s > SLOT_DOWN)
		return "unknown";
	return state_names[s];
}

/* The slot's zygotes as the launcher last said, for /health. */
void
status_warm_store(struct worker *w, const struct run_warm *wm)
{
	struct shared_slot	*ss = &w->sh->slot[w->id];
	size_t			 i;

	w->warm = *wm;
	ss->warm_bare = (int32_t)wm->bare;
	ss->warm_data = (int32_t)wm->data;
	for (i = 0; i < sizeof(ss->modules); i++)
		ss->modules[i] = wm->modules[i];
}

