/*
 * metrics.c: the service's counters and their Prometheus text.
 *
 * They live in the mapping the master shares with its workers (struct
 * shared, made before the first fork): a worker that dies takes nothing
 * with it, and every add is an atomic add, so N requests from any number
 * of clients are exactly N more.  The master adds the restarts; the
 * workers add requests, runs, model calls and the self-test's failures.
 * Labels come from fixed sets (routes of the table, statuses, outcomes,
 * LLM results): never a key, code or a user's text.
 *
 * Histograms keep one count per bucket and make them cumulative when
 * rendered; sums are kept in microseconds (an integer: exact under
 * concurrent adds) and rendered in seconds.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "sandbox.h"

/* Seconds: from 250 us (a sandbox set-up) to 300 s (a long request). */
static const double met_le[MET_BUCKETS] = {
	0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
	0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
};

/* Every status pyexec or its nginx location can send through a worker. */
static const int met_status[MET_STATUSES - 1] = {
	200, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 501,
	502, 503, 504, 507,
};


static const char *const met_llm[MET_LLM] = {
	[LLM_OK] = "ok", [LLM_NOT_CONFIGURED] = "llm_not_configured",
	[LLM_UNAVAILABLE] = "llm_unavailable", [LLM_TIMEOUT] = "llm_timeout",
	[LLM_BAD_RESPONSE] = "llm_bad_response",
};

static const char *const met_drops[MET_DROPS] = {
	[MET_DROP_HEADER_TIMEOUT] = "header_timeout",
	[MET_DROP_EVICTED] = "evicted", [MET_DROP_HANGUP] = "hangup",
	[MET_DROP_MALFORMED] = "malformed",
};
static const char *const met_zygotes[2] = { "bare", "data" };

static bool met_on = true;

/* PYEXEC_METRICS=0: nothing is counted (the bench's baseline), and
 * /metrics answers 404.  Set before the first fork. */
void
metrics_enable(bool on)
{
	met_on = on;
}

_Static_assert(RUN_CANCELLED + 1 == MET_REJECTED && MET_REJECTED + 1 == MET_OUTCOMES,
    "runs[]: one per run outcome, then rejected");

void
metrics_add(uint64_t *c, uint64_t n)
{
	if (met_on)
		__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t
met_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void
metrics_observe(struct met_hist *h, double seconds)
{
	unsigned	i;

	if (!met_on)
		return;
	if (!(seconds >= 0))
		seconds = 0;
	for (i = 0; i < MET_BUCKETS && seconds > met_le[i]; i++)
		;
	if (i < MET_BUCKETS)
		metrics_add(&h->bucket[i], 1);
	metrics_add(&h->count, 1);
	metrics_add(&h->sum_us, (uint64_t)(seconds * 1e6 + 0.5));
}

void
metrics_request(struct metrics *m, unsigned route, int status)
{
	unsigned	i;

	for (i = 0; i < MET_STATUSES - 1 && met_status[i] != status; i++)
		;
	if (route < MET_ROUTES)
		metrics_add(&m->requests[route][i], 1);
}

/* A run, or code that did not run (rr NULL: outcome "rejected"). */
void
metrics_run(struct metrics *m, const struct run_result *rr)
{
	metrics_add(&m->runs[rr != NULL ? (unsigned)rr->outcome : MET_REJECTED], 1);
	if (rr == NULL)
		return;
	metrics_observe(&m->run, rr->duration_ms / 1000);
	metrics_observe(&m->setup, rr->setup_ms / 1000);
}

void
metrics_llm(struct metrics *m, int llm_err, double ms)
{
	if (llm_err >= 0 && llm_err < MET_LLM)
		metrics_add(&m->llm_calls[llm_err], 1);
	metrics_observe(&m->llm, ms / 1000);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void
met_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++)
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
}

static void
met_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
met_hist(FILE *f, const char *name, const char *help, const struct met_hist *h)
{
	uint64_t	cum = 0;
	unsigned	i;

	met_head(f, name, "histogram", help);
	for (i = 0; i < MET_BUCKETS; i++) {
		cum += met_get(&h->bucket[i]);
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, met_le[i],
		    (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
	    name, (unsigned long long)met_get(&h->count), name,
	    (double)met_get(&h->sum_us) / 1e6, name,
	    (unsigned long long)met_get(&h->count));
}

static void
met_counter(FILE *f, const char *name, const char *help, const uint64_t *c)
{
	met_head(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)met_get(c));
}

static void
met_requests(FILE *f, const struct metrics *m, const char *const *routes,
    const char *const *dialects, unsigned nroutes)
{
	unsigned	r, s;
	uint64_t	n;

	met_head(f, "pyexec_requests_total", "counter",
	    "Requests answered, by route, dialect (which service's API: "
	    "native, fastapi, flask, nvidia, together, ibm) and HTTP status.");
	for (r = 0; r < nroutes && r < MET_ROUTES; r++)
		for (s = 0; s < MET_STATUSES; s++) {
			if ((n = met_get(&m->requests[r][s])) == 0)
				continue;
			fputs("pyexec_requests_total{route=\"", f);
			met_label(f, routes[r]);
			fputs("\",dialect=\"", f);
			met_label(f, dialects[r]);
			if (s < MET_STATUSES - 1)
				fprintf(f, "\",status=\"%d\"} %llu\n",
				    met_status[s], (unsigned long long)n);
			else
				fprintf(f, "\",status=\"other\"} %llu\n",
				    (unsigned long long)n);
		}
}

static void
met_labelled(FILE *f, const char *name, const char *type, const char *help,
    const char *label, const char *const *values, const uint64_t *c,
    unsigned n)
{
	unsigned	i;

	met_head(f, name, type, help);
	for (i = 0; i < n; i++)
		fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
		    (unsigned long long)met_get(&c[i]));
}

/* Runs by outcome: the sandbox's names (run_outcome_name), "rejected". */
static void
met_runs(FILE *f, const struct metrics *m)
{
	unsigned	i;

	met_head(f, "pyexec_runs_total", "counter", "Runs of code by outcome "
	    "(rejected: judged unsafe, not run).");
	for (i = 0; i < MET_OUTCOMES; i++)
		fprintf(f, "pyexec_runs_total{outcome=\"%s\"} %llu\n",
		    i == MET_REJECTED ? "rejected" :
		    run_outcome_name((enum run_outcome)i),
		    (unsigned long long)met_get(&m->runs[i]));
}

/* Slots by state, from the status table: a gauge. */
static void
met_slots(FILE *f, const struct shared *sh)
{
	static const char *const names[] = { "starting", "ready", "busy",
	    "failed", "down" };
	uint64_t	n[5] = { 0 };
	unsigned	i, alive = 0;

	for (i = 0; i < sh->nslots; i++) {
		if (sh->slot[i].state >= 0 && sh->slot[i].state <= SLOT_DOWN)
			n[sh->slot[i].state]++;
		alive += sh->slot[i].worker_pid > 0;
	}
	met_labelled(f, "pyexec_slots", "gauge", "Sandbox slots (one worker "
	    "each) by state.", "state", names, n, 5);
	met_head(f, "pyexec_workers", "gauge", "Workers configured and alive.");
	fprintf(f, "pyexec_workers{state=\"configured\"} %u\n"
	    "pyexec_workers{state=\"alive\"} %u\n", sh->nslots, alive);
}

/* The workspace store's (sandbox/host/store.c): by fixed labels, never a
 * client's or a session's name. */
static void
met_workspaces(FILE *f, const struct ws_stats *ws)
{
	static const char *const results[WS_NSTATUS] = { "ok", "created",
	    "busy", "not_found", "client_limit", "total_limit", "no_space",
	    "error", "bad", "rate_limited" };
	static const char *const reasons[WS_NDEL] = { "request", "idle",
	    "max_age" };

	met_labelled(f, "pyexec_workspace_attach_total", "counter", "Requests "
	    "of a workspace for a run, by the store's answer.", "result",
	    results, ws->attach, WS_NSTATUS);
	met_labelled(f, "pyexec_workspaces_deleted_total", "counter",
	    "Workspaces removed, by reason (request: DELETE /v1/workspace; "
	    "idle, max_age: expired).", "reason", reasons, ws->deleted, WS_NDEL);
	met_head(f, "pyexec_workspaces", "gauge", "Workspaces on disk.");
	fprintf(f, "pyexec_workspaces %llu\n",
	    (unsigned long long)met_get(&ws->workspaces));
	met_head(f, "pyexec_workspace_mounts", "gauge", "Workspaces mounted "
	    "(leased or cached).");
	fprintf(f, "pyexec_workspace_mounts %llu\n",
	    (unsigned long long)met_get(&ws->mounts));
	met_counter(f, "pyexec_workspace_full_runs_total", "Runs that ended "
	    "with their workspace full (bytes or files).", &ws->full_runs);
	met_head(f, "pyexec_workspace_jobs", "gauge", "Workspace creations "
	    "and removals running or waiting their turn.");
	fprintf(f, "pyexec_workspace_jobs %llu\n",
	    (unsigned long long)met_get(&ws->jobs));
	met_head(f, "pyexec_workspace_growth_bytes", "gauge", "Bytes the "
	    "workspace images may still take of the store's disk (their "
	    "full size less what they have), as last counted.");
	fprintf(f, "pyexec_workspace_growth_bytes %llu\n",
	    (unsigned long long)met_get(&ws->growth));
}

/* Live sessions (sandbox/host/session.c): by fixed labels, never a name. */
static void
met_sessions(FILE *f, const struct ss_stats *ss)
{
	static const char *const states[3] = { "starting", "idle", "running" };
	static const char *const reasons[SS_NEND] = { "deleted", "idle",
	    "max_age", "killed", "lost", "failed" };
	static const char *const results[SS_NSTATUS] = { "ok", "not_found",
	    "exists", "busy", "client_limit", "total_limit", "error", "bad" };
	uint64_t	n[3];

	n[0] = met_get(&ss->starting);
	n[1] = met_get(&ss->idle);
	n[2] = met_get(&ss->running);
	met_labelled(f, "pyexec_sessions", "gauge", "Live sessions by state "
	    "(idle: frozen between calls; running: in a call).", "state",
	    states, n, 3);
	met_counter(f, "pyexec_sessions_created_total", "Live sessions "
	    "started (POST /v1/sessions).", &ss->created);
	met_counter(f, "pyexec_session_forks_total", "Live sessions started "
	    "as the copy of another (POST /v1/sessions/{id}/fork).",
	    &ss->forked);
	met_counter(f, "pyexec_session_calls_total", "Calls run in live "
	    "sessions.", &ss->calls);
	met_labelled(f, "pyexec_sessions_ended_total", "counter", "Live "
	    "sessions ended, by reason (deleted: DELETE; idle, max_age: "
	    "expired; killed: past a call's timeout and its grace; lost: its "
	    "interpreter died, e.g. at its memory limit; failed: it did not "
	    "start).", "reason", reasons, ss->ended, SS_NEND);
	met_labelled(f, "pyexec_session_creates_total", "counter", "Requests "
	    "to create a live session, by the keeper's answer.", "result",
	    results, ss->refused, SS_NSTATUS);
}

/* Keyless requests refused as a web page's (webguard.c), by the rule. */
static void
met_keyless(FILE *f, const struct metrics *m)
{
	static const char *const rules[WEB_NVERDICTS - 1] = { "host", "origin",
	    "content_type" };

	_Static_assert(WEB_HOST == 1 && WEB_ORIGIN == 2 &&
	    WEB_CONTENT_TYPE == 3, "rules[] follows enum web_verdict");
	met_labelled(f, "pyexec_keyless_refusals_total", "counter", "Requests "
	    "without a key refused as a web page of another site could send "
	    "them (webguard: host, origin, content_type).", "rule", rules,
	    &m->keyless_refusals[WEB_HOST], WEB_NVERDICTS - 1);
}

/*
 * The text exposition of every metric (malloc'd), or NULL.  routes and
 * dialects are the request series' label values, by the index
 * metrics_request() was given.
 */
char *
metrics_render(const struct shared *sh, const struct pyexec_config *c,
    const char *const *routes, const char *const *dialects, unsigned nroutes)
{
	const struct metrics	*m = &sh->met;
	char			*buf = NULL;
	size_t			 len = 0;
	FILE			*f;

	if (!met_on)
		return NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	met_head(f, "pyexec_build_info", "gauge", "The build and sandbox of "
	    "this service (always 1).");
	fprintf(f, "pyexec_build_info{version=\"%s\",cgroup=\"v%d\",python=\"",
	    PACKAGE_VERSION, sh->cgversion);
	met_label(f, c->python_path);
	fputs("\"} 1\n", f);
	met_requests(f, m, routes, dialects, nroutes);
	met_runs(f, m);
	met_hist(f, "pyexec_run_duration_seconds", "Wall time of a run in "
	    "the sandbox.", &m->run);
	met_hist(f, "pyexec_sandbox_setup_seconds", "Time to make a run's "
	    "sandbox, from the request to the code's first instruction.",
	    &m->setup);
	met_hist(f, "pyexec_queue_wait_seconds", "Time a request waited for a "
	    "free worker after nginx took it in.", &m->queue);
	met_labelled(f, "pyexec_llm_calls_total", "counter", "Calls to the "
	    "model (retries included) by result.", "result", met_llm,
	    m->llm_calls, MET_LLM);
	met_hist(f, "pyexec_llm_call_duration_seconds", "Time of a call to "
	    "the model, its retries included.", &m->llm);
	met_slots(f, sh);
	met_counter(f, "pyexec_worker_restarts_total", "Workers that ended "
	    "and were made again.", &m->worker_restarts);
	met_counter(f, "pyexec_launcher_restarts_total", "Slot launchers that "
	    "died and were made again.", &m->launcher_restarts);
	met_counter(f, "pyexec_slot_restarts_total", "Slots (launcher and "
	    "worker) made again.", &m->slot_restarts);
	met_counter(f, "pyexec_zygote_restarts_total", "Zygotes (warm "
	    "interpreters) that ended and were made again or given up.",
	    &m->zygote_restarts);
	met_counter(f, "pyexec_keeper_restarts_total", "Slot keepers (the "
	    "cold path's forker) made again.", &m->keeper_restarts);
	met_counter(f, "pyexec_front_restarts_total", "Fronts that ended and "
	    "were made again.", &m->front_restarts);
	met_counter(f, "pyexec_store_restarts_total", "Workspace stores that "
	    "ended and were made again.", &m->store_restarts);
	met_counter(f, "pyexec_selftest_failures_total", "Sandbox self-tests "
	    "that failed.", &m->selftest_failures);
	met_counter(f, "pyexec_queue_rejections_total", "Requests answered 503 "
	    "because no worker was free within the queue's bounds.",
	    &m->queue_rejections);
	met_counter(f, "pyexec_untrusted_requests_total", "Requests refused "
	    "(403 untrusted_peer) because they did not carry nginx's backend "
	    "secret: something other than nginx reached the backend.",
	    &m->untrusted_requests);
	met_keyless(f, m);
	met_labelled(f, "pyexec_front_dropped_total", "counter", "Connections "
	    "the front closed without an answer, by reason (header_timeout: "
	    "the FastCGI header did not all come within PYEXEC_HEADER_TIMEOUT; "
	    "evicted: the oldest of PYEXEC_HEADER_MAX being read; hangup: the "
	    "peer went before a worker took it; malformed: not FastCGI as "
	    "nginx sends it).", "reason", met_drops, m->front_drops, MET_DROPS);
	met_labelled(f, "pyexec_zygote_retirements_total", "counter", "Warm "
	    "interpreters replaced at PYEXEC_WARM_MAX_RUNS or "
	    "PYEXEC_WARM_MAX_AGE, by zygote.", "zygote", met_zygotes,
	    m->zygote_retirements, 2);
	if (c->workspaces)
		met_workspaces(f, &sh->ws);
	if (c->workspaces && c->sessions)
		met_sessions(f, &sh->ss);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* One entry of an allow list, "ADDR" or "ADDR/BITS", as 16 bytes (v4 as
 * v4-mapped v6) and a prefix length; -1 if it is not one. */
static int
met_net(const char *s, size_t n, unsigned char a[16], int *bits)
{
	char		buf[64], *slash;
	struct in_addr	v4;
	long		b;
	size_t		digits;
	bool		is4;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(a, 0, 16);
	if ((is4 = inet_pton(AF_INET, buf, &v4) == 1)) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &v4, 4);
	} else if (inet_pton(AF_INET6, buf, a) != 1)
		return -1;
	*bits = 128;
	if (slash != NULL) {
		/* 1-3 digits, as nginx reads them: no sign, no space. */
		digits = strspn(slash, "0123456789");
		if (digits == 0 || digits > 3 || slash[digits] != '\0')
			return -1;
		b = strtol(slash, NULL, 10);
		if (b > (is4 ? 32 : 128))
			return -1;
		*bits = (int)b + (is4 ? 96 : 0);
	}
	return 0;
}

static bool
met_in(const unsigned char a[16], const unsigned char net[16], int bits)
{
	int	i;

	for (i = 0; i < bits / 8; i++)
		if (a[i] != net[i])
			return false;
	return bits % 8 == 0 ||
	    ((a[i] ^ net[i]) & (0xff << (8 - bits % 8)) & 0xff) == 0;
}

/*
 * The next entry of an address list (separated by commas or spaces) from
 * *list: its length, *entry its start; *list moves past it.  0 at the
 * end.  Both pointers are into the caller's string.
 */
size_t
metrics_list_next(const char **list, const char **entry)
{
	size_t	n;

	*list += strspn(*list, ", ");
	n = strcspn(*list, ", ");
	*entry = *list;
	*list += n;
	return n;
}

/*
 * The first entry of list that is not an address or network, or, with
 * someone, one that holds every IPv4 address or every address (a /0 however
 * it is written, v4 or v6, or ::ffff:0:0/96 or a network that holds it):
 * NULL if there is none, else a pointer into list and its length in *len.
 */
const char *
metrics_list_bad(const char *list, bool someone, size_t *len)
{
	static const unsigned char v4[16] = { [10] = 0xff, [11] = 0xff };
	unsigned char	 net[16];
	const char	*e;
	int		 bits;

	while ((*len = metrics_list_next(&list, &e)) != 0) {
		if (met_net(e, *len, net, &bits) != 0)
			return e;
		if (someone && bits <= 96 && met_in(v4, net, bits))
			return e;
	}
	return NULL;
}

/*
 * Whether addr (nginx's REMOTE_ADDR) is in allow, a list of addresses
 * and networks separated by commas or spaces ("127.0.0.1 ::1 10.0.0.0/8").
 * With addr NULL: whether allow is a valid list.
 */
bool
metrics_allowed(const char *allow, const char *addr)
{
	unsigned char	 a[16], net[16];
	const char	*e;
	int		 bits, abits;
	size_t		 n;

	if (addr == NULL)
		return metrics_list_bad(allow, false, &n) == NULL;
	if (met_net(addr, strlen(addr), a, &abits) != 0)
		return false;
	while ((n = metrics_list_next(&allow, &e)) != 0) {
		if (met_net(e, n, net, &bits) != 0)
			return false;
		if (met_in(a, net, bits))
			return true;
	}
	return false;
}
