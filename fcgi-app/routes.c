/*
 * routes.c: the routes the worker serves, as a table of (path, method,
 * handler), and the shaping of a run into the native envelope.
 *
 * nginx has already checked the API key, the rate and the body size; the
 * worker still caps the body and validates every field itself.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyexec.h"
#include "sandbox.h"

typedef void (*route_fn)(struct worker *, const char *, size_t, const char *,
    struct reply *);

struct route {
	const char	*path;
	const char	*method;	/* also the Allow header for 405 */
	route_fn	 fn;
};

static void	route_execute(struct worker *, const char *, size_t,
		    const char *, struct reply *);
static void	route_health(struct worker *, const char *, size_t,
		    const char *, struct reply *);

static const struct route routes[] = {
	{ "/v1/execute",		"POST",	route_execute },
	{ "/v1/generate-and-execute",	"POST",	route_generate },
	{ "/api/v1/execute",		"POST",	seed004_execute },	/* seed 004 */
	{ "/execute",			"POST",	seed_execute },		/* seeds 000, 002, 003 */
	{ "/generate-and-execute",	"POST",	seed000_generate },	/* seed 000 */
	{ "/system/python_executor/execute_code/invoke", "POST",
	    seed001_execute },						/* seed 001 */
	{ "/experience/python_executor/generate_and_execute/invoke", "POST",
	    seed001_generate },						/* seed 001 */
	{ "/health",			"GET",	route_health },
};

static const char *const state_names[] = {
	[SLOT_STARTING] = "starting",
	[SLOT_READY] = "ready",
	[SLOT_BUSY] = "busy",
	[SLOT_FAILED] = "failed",
	[SLOT_DOWN] = "down",
};

const char *
slot_state_name(int s)
{
	if (s < 0 || s > SLOT_DOWN)
		return "unknown";
	return state_names[s];
}

void
reply_error(struct reply *r, int status, const char *id, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(r->body);
	r->status = status;
	r->body = envelope_error(id, envelope_error_code(status), msg);
}

void
route_dispatch(struct worker *w, const char *method, const char *path,
    const char *body, size_t len, const char *id, struct reply *r)
{
	size_t	i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		r->route = routes[i].path;
		if (strcmp(routes[i].method, method) != 0 &&
		    !(strcmp(method, "HEAD") == 0 &&
		    strcmp(routes[i].method, "GET") == 0)) {
			r->allow = routes[i].method;
			reply_error(r, 405, id, "method %.16s not allowed on %s; "
			    "use %s", method, routes[i].path, routes[i].method);
			return;
		}
		routes[i].fn(w, body, len, id, r);
		return;
	}
	r->route = "-";
	reply_error(r, 404, id, "no route %.200s", path);
}

/* A number as JSON: integral values as integers, others with 1 decimal. */
static struct json_object *
json_num(double d, bool one_decimal)
{
	char	buf[64];

	if (d == floor(d) && fabs(d) < 1e15)
		return json_object_new_int64((int64_t)d);
	if (one_decimal)
		snprintf(buf, sizeof(buf), "%.1f", d);
	else
		snprintf(buf, sizeof(buf), "%g", d);
	return json_object_new_double_s(d, buf);
}

struct json_object *
json_bytes(const char *p, size_t len)
{
	size_t		 clean_len;
	char		*clean = envelope_utf8_sanitize(p != NULL ? p : "", len,
			    &clean_len);
	struct json_object *o;

	if (clean == NULL)
		return json_object_new_string("");
	o = json_object_new_string_len(clean, (int)clean_len);
	free(clean);
	return o;
}

static const char *
signal_name(int sig, char *buf, size_t len)
{
	const char	*abbr = sigabbrev_np(sig);

	if (abbr == NULL)
		snprintf(buf, len, "SIG%d", sig);
	else
		snprintf(buf, len, "SIG%s", abbr);
	return buf;
}

/*
 * The runner's report: {"exception": {...}}, {"result": <value>} or {}.
 * It comes from inside the user's process, so it is taken only when it is
 * one well-formed object that agrees with what the kernel says: an
 * uncaught exception means exit status 1 and no signal; a result means
 * the run completed.  It must be strict RFC 8259 JSON (no NaN, Infinity
 * or 1e999, which no envelope could carry).  Anything else is ignored
 * (the outcome never depends on it).  Sets *exc and *result (caller puts them), either may be NULL.
 */
void
report_parse(const struct run_result *rr, struct json_object **exc,
    struct json_object **result)
{
	struct json_object	*rep, *v, *t;
	struct json_tokener	*tok;
	bool			 whole;
	char			 why[128];

	*exc = *result = NULL;
	if (rr->report == NULL || rr->report_len == 0 ||
	    !envelope_utf8_valid(rr->report, rr->report_len) ||
	    memchr(rr->report, '\0', rr->report_len) != NULL ||
	    json_strict_check(rr->report, rr->report_len, 128, true, why,
	    sizeof(why)) != 0 ||
	    (tok = json_tokener_new_ex(128)) == NULL)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	rep = json_tokener_parse_ex(tok, rr->report, (int)rr->report_len);
	whole = json_tokener_get_parse_end(tok) == rr->report_len;
	json_tokener_free(tok);
	if (rep == NULL)
		return;
	if (whole && json_object_is_type(rep, json_type_object) &&
	    json_object_object_length(rep) == 1) {
		if (rr->outcome == RUN_ERROR && rr->exit_code == 1 &&
		    rr->signal == 0 &&
		    json_object_object_get_ex(rep, "exception", &v) &&
		    json_object_is_type(v, json_type_object) &&
		    json_object_object_get_ex(v, "type", &t) &&
		    json_object_is_type(t, json_type_string))
			*exc = json_object_get(v);
		else if (rr->outcome == RUN_COMPLETED &&
		    json_object_object_get_ex(rep, "result", &v))
			*result = json_object_get(v);	/* NULL: JSON null */
	}
	json_object_put(rep);
}

void
summary(const struct run_result *rr, struct json_object *exc,
    const struct run_params *p, char *buf, size_t len)
{
	struct json_object	*t = NULL, *m = NULL, *l = NULL;
	char			 sig[32];

	switch (rr->outcome) {
	case RUN_COMPLETED:
		snprintf(buf, len, "Completed in %.1f ms.", rr->duration_ms);
		break;
	case RUN_ERROR:
		if (exc != NULL && json_object_object_get_ex(exc, "type", &t)) {
			json_object_object_get_ex(exc, "message", &m);
			json_object_object_get_ex(exc, "line", &l);
			const char *ms = m ? json_object_get_string(m) : "";
			int line = l ? json_object_get_int(l) : 0;
			char where[32] = "";

			if (line > 0)
				snprintf(where, sizeof(where), " on line %d", line);
			snprintf(buf, len, "Raised %.100s%s%.300s%s.",
			    json_object_get_string(t), *ms ? ": " : "", ms, where);
		} else
			snprintf(buf, len, "Exited with status %d.", rr->exit_code);
		break;
	case RUN_TIMEOUT:
		snprintf(buf, len, "Stopped: the %g s time limit was reached.",
		    p->timeout);
		break;
	case RUN_MEMORY_LIMIT:
		snprintf(buf, len, "Stopped: the %llu MB memory limit was exceeded.",
		    (unsigned long long)(p->memory_bytes >> 20));
		break;
	case RUN_OUTPUT_LIMIT:
		snprintf(buf, len, "Stopped: the output passed the %zu-byte limit.",
		    p->max_output);
		break;
	case RUN_SIGNAL:
		snprintf(buf, len, "Killed by signal %s.",
		    signal_name(rr->signal, sig, sizeof(sig)));
		break;
	}
}

struct json_object *
execution_item(const struct run_result *rr, const struct run_params *p,
    struct json_object *exc)
{
	struct json_object	*it = json_object_new_object(), *lim;
	char			 sig[32];

	json_object_object_add(it, "type", json_object_new_string("execution"));
	json_object_object_add(it, "outcome",
	    json_object_new_string(run_outcome_name(rr->outcome)));
	json_object_object_add(it, "exit_code", rr->exit_code >= 0 ?
	    json_object_new_int(rr->exit_code) : NULL);
	json_object_object_add(it, "signal", rr->signal ? json_object_new_string(
	    signal_name(rr->signal, sig, sizeof(sig))) : NULL);
	json_object_object_add(it, "stdout", json_bytes(rr->out, rr->out_len));
	json_object_object_add(it, "stderr", json_bytes(rr->err, rr->err_len));
	json_object_object_add(it, "truncated",
	    json_object_new_boolean(rr->truncated));
	json_object_object_add(it, "stdout_bytes",
	    json_object_new_int64((int64_t)rr->out_total));
	json_object_object_add(it, "stderr_bytes",
	    json_object_new_int64((int64_t)rr->err_total));
	json_object_object_add(it, "duration_ms", json_num(rr->duration_ms, true));
	json_object_object_add(it, "cpu_ms", json_num(rr->cpu_ms, true));
	{
		char	buf[32];

		snprintf(buf, sizeof(buf), "%.3f", rr->setup_ms);
		json_object_object_add(it, "setup_ms",
		    json_object_new_double_s(rr->setup_ms, buf));
	}
	json_object_object_add(it, "memory_peak_bytes",
	    json_object_new_int64((int64_t)rr->memory_peak));
	json_object_object_add(it, "warm", json_object_new_boolean(rr->warm));
	json_object_object_add(it, "limit", rr->limit ?
	    json_object_new_string(rr->limit) : NULL);
	json_object_object_add(it, "overshoot_ms", rr->limit ?
	    json_num(rr->overshoot_ms, true) : NULL);
	json_object_object_add(it, "exception", exc ? json_object_get(exc) : NULL);
	json_object_object_add(it, "result", NULL);
	lim = json_object_new_object();
	json_object_object_add(lim, "timeout", json_num(p->timeout, false));
	json_object_object_add(lim, "memory_limit_bytes",
	    json_object_new_int64((int64_t)p->memory_bytes));
	json_object_object_add(lim, "cpu_limit", json_num(p->cpu_limit, false));
	json_object_object_add(it, "limits", lim);
	return it;
}

char *
success_envelope(const char *id, struct json_object *items)
{
	struct json_object	*env = json_object_new_object();
	char			*s;

	json_object_object_add(env, "status", json_object_new_string("success"));
	json_object_object_add(env, "invocationId", json_object_new_string(id));
	json_object_object_add(env, "response", items);
	s = strdup(json_object_to_json_string_ext(env, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(env);
	return s;
}

/*
 * Runs p in this worker's slot with the bookkeeping every route needs: the
 * slot's state for /health, its run count, and a slot that failed marks
 * the worker broken (one that does not come back clean after the answer
 * is caught by run_settle() in the worker's loop) (it answers, then exits, and the
 * master makes the slot again).  0, or -1 after logging: answer 500.
 */
int
worker_run(struct worker *w, const struct run_params *p, struct run_result *rr)
{
	struct run_params	 q = *p;
	char			 err[512];
	int			 rc;

	/* Which zygote: the data one when the code names a preloaded
	 * package (a wrong guess costs speed, never correctness). */
	q.data = config_names_preloaded(w->cfg, p->code, p->code_len);
	w->sh->slot[w->id].state = SLOT_BUSY;	/* busy: running code */
	rc = run_execute(w->rs, &q, rr, err, sizeof(err));
	w->sh->slot[w->id].state = SLOT_READY;
	if (rc != 0) {
		log_msg("error", "sandbox", "slot %u: %s", w->id, err);
		w->broken = true;
		return -1;
	}
	w->sh->slot[w->id].runs++;
	return 0;
}

/* A summary text item. */
static struct json_object *
text_item(const char *msg)
{
	struct json_object	*t = json_object_new_object();

	json_object_object_add(t, "type", json_object_new_string("text"));
	json_object_object_add(t, "message", json_bytes(msg, strlen(msg)));
	return t;
}

/* validate_code said no: the answer, and nothing runs. */
static void
execute_rejected(struct reply *r, const char *id, const struct run_params *p,
    struct json_object *validation, struct json_object *concerns)
{
	struct json_object	*items = json_object_new_array();
	char			 msg[1024], line[800];

	concerns_line(concerns, line, sizeof(line));
	snprintf(msg, sizeof(msg), "Rejected: the review judged the code "
	    "unsafe%s%s.", *line ? ": " : "", line);
	json_object_array_add(items, text_item(msg));
	json_object_array_add(items, validation);
	json_object_array_add(items, rejected_item(p, "the review judged the "
	    "code unsafe", concerns));
	r->status = 200;
	r->outcome = "rejected";
	r->body = success_envelope(id, items);
}

static void
route_execute(struct worker *w, const char *body, size_t len, const char *id,
    struct reply *r)
{
	struct exec_request	 req;
	struct run_params	 p;
	struct run_result	 rr;
	struct json_object	*items, *exc, *validation = NULL, *concerns = NULL;
	struct json_object	*result, *it;
	char			 msg[512];
	bool			 rejected = false;

	if (request_parse_execute(body, len, w->cfg, &req, msg,
	    sizeof(msg)) != PYEXEC_OK) {
		reply_error(r, 400, id, "%s", msg);
		goto out;
	}
	p = (struct run_params){ .code = req.code, .code_len = req.code_len,
	    .stdin_data = req.stdin_data, .stdin_len = req.stdin_len,
	    .timeout = req.timeout, .memory_bytes = req.memory_bytes,
	    .cpu_limit = req.cpu_limit, .max_output = w->cfg->max_output,
	    .mode = req.main_mode ? RUN_MODE_MAIN : RUN_MODE_SCRIPT,
	    .unwrap = false };
	if (req.validate_code)
		validation = generate_review(w, req.code, &rejected, &concerns);
	if (rejected) {
		execute_rejected(r, id, &p, validation, concerns);
		validation = NULL;
		goto out;
	}
	if (worker_run(w, &p, &rr) != 0) {
		reply_error(r, 500, id, "the sandbox failed; the request was "
		    "not run to completion");
		goto out;
	}
	report_parse(&rr, &exc, &result);
	summary(&rr, exc, &p, msg, sizeof(msg));
	items = json_object_new_array();
	json_object_array_add(items, text_item(msg));
	if (validation != NULL)
		json_object_array_add(items, validation);
	validation = NULL;
	it = execution_item(&rr, &p, exc);
	json_object_object_add(it, "result", result);
	json_object_array_add(items, it);
	r->status = 200;
	r->outcome = run_outcome_name(rr.outcome);
	r->body = success_envelope(id, items);
	json_object_put(exc);
	run_result_free(&rr);
out:
	json_object_put(validation);
	json_object_put(concerns);
	request_free(&req);
}

/* A slot's zygotes for /health: {"bare": state, "data": state,
 * "preloaded": [modules]}, as its worker last heard from the launcher. */
static struct json_object *
health_warm(const struct shared_slot *ss)
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
static struct json_object *
health_slot(const struct shared_slot *ss, unsigned i, bool detail)
{
	struct json_object	*s = json_object_new_object();

	json_object_object_add(s, "id", json_object_new_int((int)i));
	json_object_object_add(s, "state",
	    json_object_new_string(slot_state_name(ss->state)));
	json_object_object_add(s, "warm", health_warm(ss));
	if (!detail)
		return s;
	json_object_object_add(s, "worker_pid", json_object_new_int(ss->worker_pid));
	json_object_object_add(s, "launcher_pid",
	    json_object_new_int(ss->launcher_pid));
	json_object_object_add(s, "runs", json_object_new_int64((int64_t)ss->runs));
	json_object_object_add(s, "restarts", json_object_new_int64(ss->restarts));
	return s;
}

/*
 * GET /health.  Without a valid key (nginx says, PYEXEC_KEY_VALID) it
 * shows the status, the workers and the slots' states only, and reruns
 * the self-test at most every SELFTEST_PUBLIC_AGE_MS: it cannot be used to
 * make the service work.  With a key it adds pids, run counts, the
 * self-test's checks and the python, and reruns the self-test when its
 * last result is older than 10 s.
 */
static void
route_health(struct worker *w, const char *body, size_t len, const char *id,
    struct reply *r)
{
	struct json_object	*o = json_object_new_object(), *slots, *wk, *st;
	unsigned		 i, alive = 0;
	struct run_warm		 wm;
	bool			 ok = run_ping(w->rs, 2000, &wm) == 0;
	bool			 detail = w->key_valid;
	const char		*str;

	if (ok)
		worker_warm_store(w, &wm);
	if (ok && selftest_cached(w, detail) != 0)
		ok = false;

	slots = json_object_new_array();
	for (i = 0; i < w->sh->nslots; i++) {
		const struct shared_slot *ss = &w->sh->slot[i];

		if (ss->worker_pid > 0 && (ss->state == SLOT_READY ||
		    ss->state == SLOT_BUSY))
			alive++;
		json_object_array_add(slots, health_slot(ss, i, detail));
	}
	json_object_object_add(o, "status",
	    json_object_new_string(ok ? "healthy" : "unhealthy"));
	if (!ok)
		json_object_object_add(o, "reason", json_object_new_string(
		    w->st.ok ? "this worker's sandbox slot does not answer" :
		    detail ? w->st.reason : "the sandbox self-test failed"));
	st = selftest_json(w);
	if (!detail) {
		json_object_object_del(st, "checks");
		json_object_object_del(st, "reason");
	}
	json_object_object_add(o, "selftest", st);
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	if (detail) {
		json_object_object_add(o, "cgroup", json_object_new_string(
		    w->sh->cgversion == 2 ? "v2" : "v1"));
		json_object_object_add(o, "python",
		    json_object_new_string(w->cfg->python_path));
	}
	wk = json_object_new_object();
	json_object_object_add(wk, "configured", json_object_new_int((int)w->sh->nslots));
	json_object_object_add(wk, "alive", json_object_new_int((int)alive));
	json_object_object_add(o, "workers", wk);
	json_object_object_add(o, "slots", slots);
	str = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	r->status = ok ? 200 : 503;
	r->body = strdup(str);
	if (!ok)
		w->broken = true;
	json_object_put(o);
}
