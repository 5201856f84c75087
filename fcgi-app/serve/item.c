/*
 * item.c: the items of the native envelope, shaped from a struct task
 * (task.c).  Below the routes: routes.c calls these, never the other way.
 *
 *   text        the summary in one sentence
 *   validation  the review of validate_code
 *   code        what the model wrote, one per attempt
 *   execution   one run, or code that did not run (outcome "rejected")
 *   usage       the model's tokens and time
 *   image, plotly, file, omitted
 *               a run's artifacts (artifact.c checked them)
 *
 * Every string that came from a run or the model goes through
 * item_bytes(): valid UTF-8 whatever the bytes were.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"
#include "sandbox.h"

/* A number as JSON: integral values as integers, others with 1 decimal. */
static struct json_object *
item_num(double d, bool one_decimal)
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
item_bytes(const char *p, size_t len)
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

/*
 * A JSON text that json_strict_check() has accepted, put into a document
 * as it is: json-c prints a double made with a string as that string.
 * So the runner's json.dumps text reaches the client digit for digit
 * (json-c would clamp 2**70 to 2**64 - 1 if it parsed it).
 */
struct json_object *
item_raw_json(const char *text)
{
	return json_object_new_double_s(0, text);
}

const char *
item_signal_name(int sig, char *buf, size_t len)
{
	const char	*abbr = sigabbrev_np(sig);

	if (abbr == NULL)
		snprintf(buf, len, "SIG%d", sig);
	else
		snprintf(buf, len, "SIG%s", abbr);
	return buf;
}

struct json_object *
item_text(const char *msg)
{
	struct json_object	*t = json_object_new_object();

	json_object_object_add(t, "type", json_object_new_string("text"));
	json_object_object_add(t, "message", item_bytes(msg, strlen(msg)));
	return t;
}

/* One sentence for a run: how it ended.  The seeds' stderr ends with it
 * when a limit or a signal stopped the run (seeds.c). */
void
item_run_summary(const struct task_attempt *a, char *buf, size_t len)
{
	const struct run_result	*rr = &a->rr;
	struct json_object	*t = NULL, *m = NULL, *l = NULL;
	const char		*ms;
	char			 sig[32], where[32] = "";
	int			 line;

	switch (rr->outcome) {
	case RUN_COMPLETED:
		snprintf(buf, len, "Completed in %.1f ms.", rr->duration_ms);
		break;
	case RUN_ERROR:
		if (a->exc == NULL ||
		    !json_object_object_get_ex(a->exc, "type", &t)) {
			snprintf(buf, len, "Exited with status %d.", rr->exit_code);
			break;
		}
		json_object_object_get_ex(a->exc, "message", &m);
		json_object_object_get_ex(a->exc, "line", &l);
		ms = m != NULL ? json_object_get_string(m) : "";
		line = l != NULL ? json_object_get_int(l) : 0;
		if (line > 0)
			snprintf(where, sizeof(where), " on line %d", line);
		snprintf(buf, len, "Raised %.100s%s%.300s%s.",
		    json_object_get_string(t), *ms ? ": " : "", ms, where);
		break;
	case RUN_TIMEOUT:
		snprintf(buf, len, "Stopped: the %g s time limit was reached.",
		    a->p.timeout);
		break;
	case RUN_MEMORY_LIMIT:
		snprintf(buf, len, "Stopped: the %llu MB memory limit was exceeded.",
		    (unsigned long long)(a->p.memory_bytes >> 20));
		break;
	case RUN_OUTPUT_LIMIT:
		snprintf(buf, len, "Stopped: the output passed the %zu-byte limit.",
		    a->p.max_output);
		break;
	case RUN_SIGNAL:
		snprintf(buf, len, "Killed by signal %s.",
		    item_signal_name(rr->signal, sig, sizeof(sig)));
		break;
	case RUN_CANCELLED:
		snprintf(buf, len, "Cancelled: the client hung up.");
		break;
	}
}

/* The text item's sentence for the whole task. */
void
item_summary(const struct task *t, char *buf, size_t len)
{
	const struct task_attempt *a = task_last(t);
	char			 line[800], run[600] = "";

	if (t->rejected_by != NULL) {
		task_concerns_line(t->concerns, line, sizeof(line));
		snprintf(buf, len, "Rejected: %s%s%s.", t->rejected_by,
		    *line ? ": " : "", line);
		return;
	}
	if (a != NULL && a->ran)
		item_run_summary(a, run, sizeof(run));
	if (t->fix_failed > 0)
		snprintf(buf, len, "The fix of attempt %u failed (%s); the last "
		    "attempt stands.", t->fix_failed, t->why);
	else
		snprintf(buf, len, "%s", run);
}

static struct json_object *
item_limits(const struct run_params *p)
{
	struct json_object	*lim = json_object_new_object();

	json_object_object_add(lim, "timeout", item_num(p->timeout, false));
	json_object_object_add(lim, "memory_limit_bytes",
	    json_object_new_int64((int64_t)p->memory_bytes));
	json_object_object_add(lim, "cpu_limit", item_num(p->cpu_limit, false));
	return lim;
}

/* The run's numbers: what the sandbox measured. */
static void
item_measures(struct json_object *it, const struct run_result *rr)
{
	char	buf[32];

	json_object_object_add(it, "stdout_bytes",
	    json_object_new_int64((int64_t)rr->out_total));
	json_object_object_add(it, "stderr_bytes",
	    json_object_new_int64((int64_t)rr->err_total));
	json_object_object_add(it, "duration_ms", item_num(rr->duration_ms, true));
	json_object_object_add(it, "cpu_ms", item_num(rr->cpu_ms, true));
	snprintf(buf, sizeof(buf), "%.3f", rr->setup_ms);
	json_object_object_add(it, "setup_ms",
	    json_object_new_double_s(rr->setup_ms, buf));
	json_object_object_add(it, "memory_peak_bytes",
	    json_object_new_int64((int64_t)rr->memory_peak));
	json_object_object_add(it, "warm", json_object_new_boolean(rr->warm));
}

/* The cell's Out[n]: the repr of its last expression's value (the last
 * display "from" "out"), or null. */
static struct json_object *
item_value(const struct task_attempt *a)
{
	struct json_object	*d, *f, *v = NULL;
	size_t			 i, n;

	n = a->displays != NULL ? json_object_array_length(a->displays) : 0;
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(a->displays, i);
		if (json_object_object_get_ex(d, "from", &f) &&
		    strcmp(json_object_get_string(f), "out") == 0)
			json_object_object_get_ex(d, "value", &v);
	}
	return json_object_get(v);
}

/*
 * What the cell showed, as items after its execution item, in the order
 * it showed them: a DataFrame or Series as a "table" item (its value's
 * or display()'s), anything else display() showed as a "display" item
 * with its repr.  The value of the last expression is the execution
 * item's "value"; it is an item only when it is a table.
 */
void
item_displays(struct json_object *items, const struct task_attempt *a,
    unsigned attempt)
{
	struct json_object	*d, *it, *t, *f, *v;
	size_t			 i, n;
	bool			 out;

	if (!a->ran || a->displays == NULL)
		return;
	n = json_object_array_length(a->displays);
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(a->displays, i);
		json_object_object_get_ex(d, "from", &f);
		out = strcmp(json_object_get_string(f), "out") == 0;
		if (json_object_object_get_ex(d, "table", &t)) {
			it = json_object_new_object();
			json_object_object_add(it, "type",
			    json_object_new_string("table"));
			json_object_object_add(it, "from", json_object_get(f));
			json_object_object_foreach(t, k, tv)
				json_object_object_add(it, k, json_object_get(tv));
		} else if (!out) {
			it = json_object_new_object();
			json_object_object_get_ex(d, "value", &v);
			json_object_object_add(it, "type",
			    json_object_new_string("display"));
			json_object_object_add(it, "value", json_object_get(v));
			json_object_object_get_ex(d, "cut", &v);
			json_object_object_add(it, "cut", json_object_get(v));
		} else
			continue;
		if (attempt > 0)
			json_object_object_add(it, "attempt",
			    json_object_new_int((int)attempt));
		json_object_array_add(items, it);
	}
}

/* The execution item of attempt a (attempt 0: no "attempt" member). */
struct json_object *
item_execution(const struct task *t, const struct task_attempt *a,
    unsigned attempt)
{
	const struct run_result	*rr = &a->rr;
	struct json_object	*it = json_object_new_object();
	char			 sig[32];

	json_object_object_add(it, "type", json_object_new_string("execution"));
	json_object_object_add(it, "outcome",
	    json_object_new_string(run_outcome_name(rr->outcome)));
	json_object_object_add(it, "exit_code", rr->exit_code >= 0 ?
	    json_object_new_int(rr->exit_code) : NULL);
	json_object_object_add(it, "signal", rr->signal ? json_object_new_string(
	    item_signal_name(rr->signal, sig, sizeof(sig))) : NULL);
	json_object_object_add(it, "stdout", item_bytes(rr->out, rr->out_len));
	json_object_object_add(it, "stderr", item_bytes(rr->err, rr->err_len));
	json_object_object_add(it, "truncated",
	    json_object_new_boolean(rr->truncated));
	item_measures(it, rr);
	json_object_object_add(it, "queue_ms", t->queue_ms >= 0 ?
	    json_object_new_int64(t->queue_ms) : NULL);
	json_object_object_add(it, "limit", rr->limit ?
	    json_object_new_string(rr->limit) : NULL);
	json_object_object_add(it, "overshoot_ms", rr->limit ?
	    item_num(rr->overshoot_ms, true) : NULL);
	json_object_object_add(it, "exception", json_object_get(a->exc));
	json_object_object_add(it, "result", a->result_json != NULL ?
	    item_raw_json(a->result_json) : NULL);
	json_object_object_add(it, "value", item_value(a));
	json_object_object_add(it, "limits", item_limits(&a->p));
	json_object_object_add(it, "workspace", item_workspace(t, a));
	if (attempt > 0)
		json_object_object_add(it, "attempt",
		    json_object_new_int((int)attempt));
	return it;
}

/* The artifacts of attempt a after its execution item, in the order the
 * run made them; each carries "attempt" as the execution item does. */
void
item_artifacts(struct json_object *items, const struct task_attempt *a,
    unsigned attempt)
{
	size_t			 i, n;
	struct json_object	*it;

	if (!a->ran || a->artifacts == NULL)
		return;
	n = json_object_array_length(a->artifacts);
	for (i = 0; i < n; i++) {
		it = json_object_get(json_object_array_get_idx(a->artifacts, i));
		if (attempt > 0)
			json_object_object_add(it, "attempt",
			    json_object_new_int((int)attempt));
		json_object_array_add(items, it);
	}
}

/* The execution item of code that did not run. */
struct json_object *
item_rejected(const struct task *t, const struct task_attempt *a,
    unsigned attempt)
{
	struct task_attempt	 none = { .p = a->p };
	struct json_object	*it, *rej;

	none.rr.exit_code = -1;
	it = item_execution(t, &none, attempt);
	json_object_object_add(it, "outcome", json_object_new_string("rejected"));
	rej = json_object_new_object();
	json_object_object_add(rej, "reason",
	    json_object_new_string(t->rejected_by));
	json_object_object_add(rej, "concerns", t->concerns != NULL ?
	    json_object_get(t->concerns) : json_object_new_array());
	json_object_object_add(it, "rejection", rej);
	return it;
}

/* The review of validate_code: passed, rejected or skipped (and why). */
struct json_object *
item_validation(const struct pyexec_config *c, const struct task *t)
{
	static const char *const status[] = {
		[TASK_REVIEW_PASSED] = "passed",
		[TASK_REVIEW_REJECTED] = "rejected",
		[TASK_REVIEW_SKIPPED] = "skipped",
	};
	struct json_object	*it = json_object_new_object();
	bool			 skipped = t->review == TASK_REVIEW_SKIPPED;

	json_object_object_add(it, "type", json_object_new_string("validation"));
	json_object_object_add(it, "status",
	    json_object_new_string(status[t->review]));
	json_object_object_add(it, "concerns", !skipped && t->concerns != NULL ?
	    json_object_get(t->concerns) : json_object_new_array());
	json_object_object_add(it, "reason", skipped ?
	    json_object_new_string(t->why) : NULL);
	json_object_object_add(it, "model",
	    json_object_new_string(c->llm_model));
	return it;
}

struct json_object *
item_code(const struct pyexec_config *cfg, const struct task_attempt *a,
    unsigned attempt)
{
	struct json_object	*it = json_object_new_object();
	const struct llm_code	*c = &a->gen;

	json_object_object_add(it, "type", json_object_new_string("code"));
	json_object_object_add(it, "language", json_object_new_string("python"));
	json_object_object_add(it, "code", item_bytes(c->code, strlen(c->code)));
	json_object_object_add(it, "explanation", c->explanation ?
	    item_bytes(c->explanation, strlen(c->explanation)) : NULL);
	json_object_object_add(it, "model", json_object_new_string(cfg->llm_model));
	json_object_object_add(it, "attempt", json_object_new_int((int)attempt));
	return it;
}

struct json_object *
item_usage(const struct pyexec_config *c, const struct task *t)
{
	struct json_object	*it = json_object_new_object();
	char			 ms[32];

	snprintf(ms, sizeof(ms), "%.3f", t->usage.ms);
	json_object_object_add(it, "type", json_object_new_string("usage"));
	json_object_object_add(it, "model", json_object_new_string(c->llm_model));
	json_object_object_add(it, "llm_ms",
	    json_object_new_double_s(t->usage.ms, ms));
	json_object_object_add(it, "prompt_tokens",
	    json_object_new_int64(t->usage.prompt_tokens));
	json_object_object_add(it, "completion_tokens",
	    json_object_new_int64(t->usage.completion_tokens));
	json_object_object_add(it, "llm_calls",
	    json_object_new_int((int)t->usage.calls));
	return it;
}

/* {"status": "success", "invocationId", "response": items (taken)}. */
char *
item_envelope(const char *id, struct json_object *items)
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

static struct json_object *
item_time(int64_t t)
{
	struct tm	tm;
	time_t		s = (time_t)t;
	char		buf[32];

	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

/* The execution item's "workspace": null, or its session and usage. */
struct json_object *
item_workspace(const struct task *t, const struct task_attempt *a)
{
	struct json_object	*o;
	const struct ws_usage	*u = &a->ws_usage;

	if (!a->ws)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "session_id", json_object_new_string(t->session));
	json_object_object_add(o, "path", json_object_new_string("/workspace"));
	json_object_object_add(o, "created", json_object_new_boolean(a->ws_created));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)u->bytes));
	json_object_object_add(o, "files", json_object_new_int64((int64_t)u->files));
	json_object_object_add(o, "max_bytes",
	    json_object_new_int64((int64_t)u->max_bytes));
	json_object_object_add(o, "max_files",
	    json_object_new_int64((int64_t)u->max_files));
	json_object_object_add(o, "full", json_object_new_boolean(u->full != 0));
	json_object_object_add(o, "expires_at", item_time(u->expires));
	return o;
}
