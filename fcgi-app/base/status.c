/*
 * status.c: the status table the master shares with its workers (struct
 * shared, metrics.h): the names of slot states, and a worker's record of
 * its slot's zygotes.  Only displayed (/health); nothing trusts it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base.h"
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

/* The slot's zygotes as the launcher last said, for /health; the
 * retirements it counted since the last word, and the zygotes and keepers
 * it made again, go to /metrics (its counts start at 0 with the launcher,
 * and so do the worker's). */
void
status_warm_store(struct shared_slot *ss, struct metrics *met,
    struct status_warm *sw, const struct run_warm *wm)
{
	uint16_t		 bare = (uint16_t)(wm->bare_retired -
				    sw->last.bare_retired);
	uint16_t		 data = (uint16_t)(wm->data_retired -
				    sw->last.data_retired);
	size_t			 i;

	metrics_add(&met->zygote_retirements[0], bare);
	metrics_add(&met->zygote_retirements[1], data);
	ss->retirements += (uint64_t)bare + data;
	metrics_add(&met->zygote_restarts,
	    (uint8_t)(wm->zygote_restarts - sw->restarts[0]));
	metrics_add(&met->keeper_restarts,
	    (uint8_t)(wm->keeper_restarts - sw->restarts[1]));
	sw->restarts[0] = wm->zygote_restarts;
	sw->restarts[1] = wm->keeper_restarts;
	sw->last = *wm;
	ss->warm_bare = (int32_t)wm->bare;
	ss->warm_data = (int32_t)wm->data;
	for (i = 0; i < sizeof(ss->modules); i++)
		ss->modules[i] = wm->modules[i];
}


/* A slot's zygotes for /health: {"bare": state, "data": state,
 * "preloaded": [modules]}, as its worker last heard from the launcher. */
static struct json_object *
status_warm(const struct shared_slot *ss)
{
	struct json_object	*o = json_object_new_object();
	struct json_object	*mods = json_object_new_array();
	char			 buf[sizeof(ss->modules)], *tok, *save;

	json_object_object_add(o, "bare", json_object_new_string(
	    run_warm_name((enum proto_warm)ss->warm_bare)));
	json_object_object_add(o, "data", json_object_new_string(
	    run_warm_name((enum proto_warm)ss->warm_data)));
	memcpy(buf, (const char *)ss->modules, sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		json_object_array_add(mods, json_object_new_string(tok));
	json_object_object_add(o, "preloaded", mods);
	return o;
}

/* One slot for /health: its state; with detail also its pids and counts. */
struct json_object *
status_slot(const struct shared_slot *ss, unsigned i, bool detail)
{
	struct json_object	*s = json_object_new_object();

	json_object_object_add(s, "id", json_object_new_int((int)i));
	json_object_object_add(s, "state",
	    json_object_new_string(status_state_name(ss->state)));
	json_object_object_add(s, "warm", status_warm(ss));
	if (!detail)
		return s;
	json_object_object_add(s, "worker_pid", json_object_new_int(ss->worker_pid));
	json_object_object_add(s, "launcher_pid",
	    json_object_new_int(ss->launcher_pid));
	json_object_object_add(s, "runs", json_object_new_int64((int64_t)ss->runs));
	json_object_object_add(s, "restarts", json_object_new_int64(ss->restarts));
	json_object_object_add(s, "zygote_retirements",
	    json_object_new_int64((int64_t)ss->retirements));
	return s;
}

/*
 * The public GET /health as the front answers it, from the status table
 * alone (no worker, no slot is asked: it answers while every worker is
 * busy).  Healthy (200) when every slot's worker is ready or busy and its
 * last self-test passed; else 503 with the first reason.  With a key, or
 * with deep=1, /health is a worker's (routes.c): it pings its slot and
 * reruns the self-test when it is old.
 */
char *
status_health(const struct shared *sh, int *http_status)
{
	struct json_object	*o = json_object_new_object(), *slots, *wk, *st;
	const struct shared_slot *ss;
	int64_t			 now = clock_mono_ms(), age = 0;
	unsigned		 i, alive = 0;
	char			 reason[128] = "", *out;
	bool			 tested = true, passed = true;

	slots = json_object_new_array();
	for (i = 0; i < sh->nslots; i++) {
		ss = &sh->slot[i];
		if (ss->worker_pid > 0 && (ss->state == SLOT_READY ||
		    ss->state == SLOT_BUSY))
			alive++;
		else if (reason[0] == '\0')
			snprintf(reason, sizeof(reason), "slot %u is %s", i,
			    status_state_name(ss->state));
		if (ss->selftest_at_ms == 0)
			tested = false;
		else if (now - ss->selftest_at_ms > age)
			age = now - ss->selftest_at_ms;
		if (ss->selftest_at_ms != 0 && !ss->selftest_ok) {
			passed = false;
			if (reason[0] == '\0')
				snprintf(reason, sizeof(reason), "slot %u: the "
				    "sandbox self-test failed", i);
		}
		json_object_array_add(slots, status_slot(ss, i, false));
	}
	*http_status = reason[0] == '\0' ? 200 : 503;
	json_object_object_add(o, "status", json_object_new_string(
	    *http_status == 200 ? "healthy" : "unhealthy"));
	if (*http_status != 200)
		json_object_object_add(o, "reason", json_object_new_string(reason));
	st = json_object_new_object();
	json_object_object_add(st, "ok", json_object_new_boolean(tested && passed));
	json_object_object_add(st, "age_ms", json_object_new_int64(age));
	json_object_object_add(o, "selftest", st);
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	wk = json_object_new_object();
	json_object_object_add(wk, "configured", json_object_new_int((int)sh->nslots));
	json_object_object_add(wk, "alive", json_object_new_int((int)alive));
	json_object_object_add(o, "workers", wk);
	json_object_object_add(o, "slots", slots);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}
