/*
 * fake_run.c: the sandbox's run, faked at link time (fake.h): the slot's
 * run_execute() answers what the test pushed and records its params;
 * run_ping() and run_settle() answer 0 (a slot that is there).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

struct fake_run_call	 fake_run_seen[FAKE_MAX];
static struct fake_run	 fake_run_q[FAKE_MAX];
struct fake_queue	 fake_runs = FAKE_QUEUE("a run", fake_run_q);

/* s (may be NULL) as an owned copy and its length. */
static char *
fake_copy(const char *s, size_t *len)
{
	*len = s != NULL ? strlen(s) : 0;
	return s != NULL ? strdup(s) : NULL;
}

static void
fake_result(const struct fake_run *f, struct run_result *rr)
{
	*rr = (struct run_result){ .outcome = f->outcome,
	    .exit_code = f->exit_code, .signal = f->signal, .limit = f->limit,
	    .duration_ms = f->duration_ms, .overshoot_ms = f->overshoot_ms,
	    .cpu_ms = f->cpu_ms, .memory_peak = f->memory_peak,
	    .warm = f->warm };
	rr->out = fake_copy(f->out, &rr->out_len);
	rr->err = fake_copy(f->err, &rr->err_len);
	rr->report = fake_copy(f->report, &rr->report_len);
	rr->out_total = rr->out_len;
	rr->err_total = rr->err_len;
}

int	__wrap_run_execute(struct run_slot *, const struct run_params *,
	    struct run_result *, char *, size_t);
int	__wrap_run_ping(struct run_slot *, int, struct run_warm *);
int	__wrap_run_settle(struct run_slot *, int);

int
__wrap_run_execute(struct run_slot *rs, const struct run_params *p,
    struct run_result *rr, char *err, size_t errlen)
{
	struct fake_run_call	*c;
	const struct fake_run	*f;

	(void)rs;
	f = fake_queue_take(&fake_runs);
	c = &fake_run_seen[fake_runs.calls - 1];
	c->p = *p;
	snprintf(c->code, sizeof(c->code), "%.*s", (int)p->code_len, p->code);
	c->had_workspace_fd = p->workspace && p->workspace_fd >= 0;
	if (f->rc != 0) {
		snprintf(err, errlen, "%s", f->why != NULL ? f->why : "fake");
		return f->rc;
	}
	fake_result(f, rr);
	return 0;
}

int
__wrap_run_ping(struct run_slot *rs, int timeout_ms, struct run_warm *w)
{
	(void)rs;
	(void)timeout_ms;
	if (w != NULL)
		memset(w, 0, sizeof(*w));
	return 0;
}

int
__wrap_run_settle(struct run_slot *rs, int timeout_ms)
{
	(void)rs;
	(void)timeout_ms;
	return 0;
}

void
fake_run_reset(void)
{
	fake_queue_reset(&fake_runs);
	memset(fake_run_seen, 0, sizeof(fake_run_seen));
}
