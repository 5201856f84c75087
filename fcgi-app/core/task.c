/*
 * task.c: the core of the request side.  A route validates its body into
 * a struct exec_request (request.c), calls task_execute() or
 * task_generate() and shapes the struct task that comes back: the native
 * envelope (item.c, routes.c) or a seed's answer (seeds.c).  Nothing here
 * knows any route's JSON.
 *
 *   task_execute   review (validate_code) -> run
 *   task_generate  ask -> (unsafe: stop) -> run -> on an error, send the
 *                  failure back and ask again, up to max_attempts
 *
 * Generated code is untrusted code: it runs in the same sandbox as any
 * other.  Everything the model says passes extract_redact() first, so
 * the LLM key can never run, be returned or be logged.
 *
 * The time budget: t->deadline_ms is when the request's budget ends
 * (config_budget() after nginx took it in, so time waiting for a worker
 * counts).  Before each model call and each run the step's longest time
 * must fit; if not, the step is not taken: the task fails with
 * TASK_FAIL_BUDGET (504), or, for a fix after a first attempt ran, the
 * last attempt stands.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "sandbox.h"

static const char generate_system[] =
    "You write Python 3 programs that run in a sandbox: no network, no files "
    "outside the working directory, numpy and pandas available, a few "
    "seconds of time. Answer with exactly one JSON object and nothing else:\n"
    "{\"code\": \"<the complete program; it prints its results>\", "
    "\"explanation\": \"<one or two sentences>\", \"safe\": true or false, "
    "\"concerns\": [\"...\"]}\n"
    "Set safe to false, and list your concerns, if the task asks for "
    "anything harmful: reading secrets or credentials, attacking or "
    "scanning systems, escaping the sandbox, or destroying data.";

static const char review_system[] =
    "You review Python code before it runs in a sandbox. Answer with "
    "exactly one JSON object and nothing else: {\"safe\": true or false, "
    "\"concerns\": [\"...\"]}. Unsafe means it tries to read secrets or "
    "credentials, attack or scan systems, escape the sandbox or do harm; "
    "ordinary computation, files in the working directory and heavy but "
    "bounded work are safe.";

#define REPAIR_TAIL	2000	/* bytes of stderr sent back for a fix */
#define REPORT_DEPTH	1100	/* a result's JSON, as jsonstrict allows */

/* The concerns (a JSON array, may be NULL) as one line "a; b", in buf. */
void
task_concerns_line(struct json_object *concerns, char *buf, size_t len)
{
	size_t	i, n = concerns ? json_object_array_length(concerns) : 0;
	size_t	o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%.200s", i ? "; " : "",
		    json_object_get_string(json_object_array_get_idx(concerns, i)));
}

/*
 * The last at most max bytes of p, cut on a character boundary and made
 * valid UTF-8 (invalid bytes become U+FFFD), NUL-free: what may go into a
 * prompt.  Returned malloc'd (the caller frees it), or NULL.
 */
char *
task_tail(const char *p, size_t len, size_t max)
{
	char	*clean, *out;
	size_t	 start = len > max ? len - max : 0, clen, i;

	/* Step past continuation bytes: start on the next character. */
	while (start > 0 && start < len && ((unsigned char)p[start] & 0xc0) == 0x80)
		start++;
	if ((clean = envelope_utf8_sanitize(p + start, len - start, &clen)) == NULL)
		return NULL;
	for (i = 0; i < clen; i++)
		if (clean[i] == '\0')
			clean[i] = ' ';
	out = strndup(clean, clen);
	free(clean);
	return out;
}

/* A string member of the report, if it is one (copied), else NULL. */
static char *
report_string(struct json_object *rep, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(rep, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return strndup(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
}

/* The report (len bytes of text) as one strict JSON object, or NULL. */
static struct json_object *
report_object(const char *text, size_t len)
{
	return json_strict_parse(text, len, 128, json_type_object);
}

/*
 * The runner's report: {"exception": {...}}, or {"result_json": text,
 * "result_str": text}, or {}.  It comes from inside the user's process,
 * so it is taken only when it agrees with what the kernel says: an
 * exception means exit status 1 and no signal; a result means the run
 * completed.  result_json must itself be one strict JSON text (it goes
 * into the answer as it is).  Anything else is ignored: the outcome never
 * depends on it.  Fills a->exc, a->result_json, a->result_str (owned),
 * and with p.display a->displays: what the cell showed (display.c), on a
 * completed run or an error.
 * When the run was asked for artifacts, what follows the report's first
 * "\n" is their list: checked and shaped by artifact_items() into
 * a->artifacts (owned), whatever the outcome (a figure made before an
 * error is still shown).  The report's own JSON never holds a "\n".
 */
void
task_report(const struct run_result *rr, struct task_attempt *a)
{
	struct json_object	*rep, *v, *t;
	char			 why[128];
	const char		*nl = NULL;
	size_t			 len = rr->report_len;

	if (a->p.artifacts && rr->report != NULL &&
	    (nl = memchr(rr->report, '\n', rr->report_len)) != NULL) {
		len = (size_t)(nl - rr->report);
		a->artifacts = artifact_items(nl + 1, rr->report_len - len - 1,
		    &a->p);
	}
	if ((rep = report_object(rr->report, len)) == NULL)
		return;
	if (a->p.display && (rr->outcome == RUN_COMPLETED ||
	    rr->outcome == RUN_ERROR) && json_object_object_get_ex(rep,
	    "displays", &v)) {
		a->displays = display_items(v);
		json_object_object_del(rep, "displays");
	}
	if (rr->outcome == RUN_ERROR && rr->exit_code == 1 && rr->signal == 0 &&
	    json_object_object_length(rep) == 1 &&
	    json_object_object_get_ex(rep, "exception", &v) &&
	    json_object_is_type(v, json_type_object) &&
	    json_object_object_get_ex(v, "type", &t) &&
	    json_object_is_type(t, json_type_string))
		a->exc = json_object_get(v);
	else if (rr->outcome == RUN_COMPLETED) {
		a->result_json = report_string(rep, "result_json");
		a->result_str = report_string(rep, "result_str");
		if (a->result_json != NULL && json_strict_check(a->result_json,
		    strlen(a->result_json), REPORT_DEPTH, true, why,
		    sizeof(why)) != 0) {
			free(a->result_json);
			a->result_json = NULL;
		}
	}
	json_object_put(rep);
}

/* Whether a step of up to need_ms fits the budget; if not, the task
 * fails with TASK_FAIL_BUDGET and says so. */
static bool
task_fits(struct task *t, const struct pyexec_config *c, int64_t need_ms,
    const char *step)
{
	int64_t	left = t->deadline_ms - clock_mono_ms();

	if (need_ms <= left)
		return true;
	t->fail = TASK_FAIL_BUDGET;
	snprintf(t->why, sizeof(t->why), "the request's time budget (%lld s) "
	    "would be passed: %s may take %.1f s and %.1f s are left (the "
	    "request waited for a free worker, or its earlier steps took "
	    "long)", (long long)(config_budget(c) / 1000), step,
	    (double)need_ms / 1000, left > 0 ? (double)left / 1000 : 0.0);
	return false;
}

static bool
task_fits_llm(struct task *t, const struct pyexec_config *c)
{
	return task_fits(t, c, config_llm_ms(c), "a model call");
}

/*
 * A live session's call: a->p goes to the session whose lease the request
 * holds (run_session_call), as a notebook cell (its number, display on);
 * no slot, no zygote, no workspace attach (the session's is mounted).  A
 * failure here is ours (5xx); the session's death is an outcome.
 */
static bool
task_session_run(struct core_env *env, struct task *t, struct task_attempt *a)
{
	char	err[512];
	int	rc;

	a->p.display = true;
	a->p.cell = t->cell;
	a->p.workspace = true;		/* its cwd: input files and outputs/
					 * there (the mount is the session's) */
	a->p.workspace_fd = -1;
	env->slot->state = SLOT_BUSY;	/* its worker is (its slot idles) */
	rc = run_session_call(t->live, &a->p, &a->rr, &t->session_lost, err,
	    sizeof(err));
	env->slot->state = SLOT_READY;
	if (rc != 0) {
		log_msg("error", "session", "slot %u: %s", env->id, err);
		t->fail = TASK_FAIL_SANDBOX;
		t->session_lost = true;
		snprintf(t->why, sizeof(t->why), "the session failed; the call "
		    "was not run to completion");
		return false;
	}
	metrics_run(env->met, &a->rr);
	a->ran = true;
	task_report(&a->rr, a);
	return true;
}

/*
 * Runs a->p in this worker's slot, with the bookkeeping every route needs:
 * the slot's state for /health, its run count; a slot that failed marks
 * the worker broken (it answers 500, then exits, and the master makes the
 * slot again).  false (the task failed) or true.
 */
static bool
task_run(struct core_env *env, struct task *t, struct task_attempt *a)
{
	char	err[512];
	int	rc;

	if (!task_fits(t, env->cfg, config_run_ms(a->p.timeout), "the run"))
		return false;
	a->p.tap = t->tap;
	a->p.tap_arg = t->client_arg;
	a->p.watch = t->watch;
	a->p.watch_fd = t->conn_fd;
	a->p.cancel = t->cancel;
	if (t->live != NULL)
		return task_session_run(env, t, a);
	/* Which zygote: the data one when the code names a preloaded
	 * package (a wrong guess costs speed, never correctness). */
	a->p.data = config_names_preloaded(env->cfg, a->p.code, a->p.code_len);
	/* From a zygote a self-test of this worker has proved, of the
	 * generation it proved, else cold: the launcher takes no other
	 * (launcher.c, zygote_usable()), so the core need not ask how the
	 * zygotes are (worker.c learns that between requests and proves a
	 * zygote started again or retired and replaced, while the other one
	 * or the cold path serves). */
	a->p.proven[0] = env->proven[0];
	a->p.proven[1] = env->proven[1];
	a->p.gen[0] = env->proven_gen[0];
	a->p.gen[1] = env->proven_gen[1];
	a->p.cold = !env->proven[0] && !env->proven[1];
	/* Its workspace, if the request has one (leased until the answer). */
	if (workspace_attach(env, t, a) != 0)
		return false;
	env->slot->state = SLOT_BUSY;
	rc = run_execute(env->rs, &a->p, &a->rr, err, sizeof(err));
	env->slot->state = SLOT_READY;
	workspace_after_run(env, a);
	if (rc == RUN_NO_WORKSPACE) {
		workspace_unusable(env, t, err);
		return false;
	}
	if (rc != 0) {
		log_msg("error", "sandbox", "slot %u: %s", env->id, err);
		env->broken = rc < 0;	/* 1: lost with its zygote only */
		t->fail = TASK_FAIL_SANDBOX;
		snprintf(t->why, sizeof(t->why), "the sandbox failed; the "
		    "request was not run to completion");
		return false;
	}
	env->slot->runs++;
	metrics_run(env->met, &a->rr);
	a->ran = true;
	task_report(&a->rr, a);
	return true;
}

/* The run's parameters for code, from the request: the one place. */
static void
task_params(const struct core_env *env, const struct exec_request *req,
    const char *code, size_t len, struct run_params *p)
{
	*p = (struct run_params){ .code = code, .code_len = len,
	    .stdin_data = req->stdin_data, .stdin_len = req->stdin_len,
	    .timeout = req->timeout, .memory_bytes = req->memory_bytes,
	    .cpu_limit = req->cpu_limit, .max_output = env->cfg->max_output,
	    .mode = req->mode, .unwrap = req->unwrap,
	    .policy = req->policy ? env->cfg->seed001_policy : NULL,
	    .show = req->show, .display = req->display,
	    .artifacts = req->artifacts,
	    .art_total = env->cfg->max_artifact_bytes,
	    .art_item = env->cfg->max_artifact_item,
	    .art_count = env->cfg->max_artifacts,
	    .files = req->files, .nfiles = req->nfiles, .workspace_fd = -1 };
}

/* A call to the model, counted in the metrics by its result and time. */
static enum llm_err
task_llm(struct core_env *env, struct task *t, const struct llm_msg *msgs,
    size_t n, char *err, size_t errlen)
{
	double		before = t->usage.ms;
	enum llm_err	e = llm_chat(env->cfg, msgs, n, &t->usage, err, errlen);

	metrics_llm(env->met, (int)e, t->usage.ms - before);
	return e;
}

/*
 * validate_code: one review call.  No verdict (no model configured, or
 * it could not give one: TASK_REVIEW_SKIPPED, the reason in t->why)
 * fails closed: the code does not run, unless the operator chose
 * PYEXEC_VALIDATE_WITHOUT_MODEL=run.  A client that asked for a review
 * never gets a run without one it did not allow for.
 */
static void
task_review(struct core_env *env, struct task *t, const char *code)
{
	struct llm_msg	 msgs[2] = { { "system", review_system },
			    { "user", code } };
	char		 err[400], *text = NULL;
	enum llm_err	 e;
	bool		 safe = true;

	e = task_llm(env, t, msgs, 2, err, sizeof(err));
	if (e == LLM_OK && ((text = extract_redact(t->usage.content,
	    env->cfg->llm_key)) == NULL ||
	    extract_review(text, &safe, &t->concerns) != PYEXEC_OK)) {
		e = LLM_BAD_RESPONSE;
		snprintf(err, sizeof(err), "the review has no {\"safe\": ...} object");
	}
	free(text);
	if (e != LLM_OK) {
		t->review = TASK_REVIEW_SKIPPED;
		snprintf(t->why, sizeof(t->why), "%s: %s", llm_err_code(e), err);
		if (!env->cfg->validate_run) {
			t->rejected_by = "validate_code asked for a review and "
			    "no model could give one";
			metrics_run(env->met, NULL);
		}
		return;
	}
	t->review = safe ? TASK_REVIEW_PASSED : TASK_REVIEW_REJECTED;
	if (!safe) {
		t->rejected_by = "the review judged the code unsafe";
		metrics_run(env->met, NULL);
	}
}

void
task_execute(struct core_env *env, struct task *t)
{
	const struct exec_request *req = t->req;
	struct task_attempt	*a = &t->at[0];

	t->n = 1;
	task_params(env, req, req->code, req->code_len, &a->p);
	if (req->validate_code) {
		if (!task_fits_llm(t, env->cfg))
			return;
		task_review(env, t, req->code);
		if (t->rejected_by != NULL)
			return;
	}
	task_run(env, t, a);
}

/* The message that sends a failure back to the model for a fix. */
static char *
task_repair_message(const struct task_attempt *a)
{
	const struct run_result	*rr = &a->rr;
	char			*msg, *tail;

	if ((tail = task_tail(rr->err != NULL ? rr->err : "", rr->err_len,
	    REPAIR_TAIL)) == NULL)
		return NULL;
	if (asprintf(&msg, "The program failed (exit status %d).\n%s%s\n"
	    "stderr (last %d bytes):\n%s\nAnswer with the same JSON object, "
	    "with the fixed program.", rr->exit_code,
	    a->exc ? "Exception: " : "", a->exc ?
	    json_object_to_json_string_ext(a->exc, JSON_C_TO_STRING_PLAIN) : "",
	    REPAIR_TAIL, tail) < 0)
		msg = NULL;
	free(tail);
	return msg;
}

/* The conversation of one request: system, query, then repairs. */
struct convo {
	struct llm_msg	 msg[2 + 2 * (TASK_MAX_ATTEMPTS - 1)];
	char		*owned[2 * (TASK_MAX_ATTEMPTS - 1)];	/* ours */
	size_t		 n, nowned;
};

static void
convo_add(struct convo *c, const char *role, char *text)
{
	c->msg[c->n++] = (struct llm_msg){ role, text };
	c->owned[c->nowned++] = text;
}

static void
convo_free(struct convo *c)
{
	while (c->nowned > 0)
		free(c->owned[--c->nowned]);
}

/* One attempt's model call: a->gen, and the redacted answer in *text
 * (the caller's).  LLM_OK or why not, in err. */
static enum llm_err
task_ask(struct core_env *env, struct task *t, const struct convo *cv,
    struct task_attempt *a, char **text, char *err, size_t errlen)
{
	enum llm_err	e;

	*text = NULL;
	if ((e = task_llm(env, t, cv->msg, cv->n, err, errlen)) != LLM_OK)
		return e;
	if ((*text = extract_redact(t->usage.content, env->cfg->llm_key)) == NULL ||
	    extract_code(*text, &a->gen) != PYEXEC_OK) {
		snprintf(err, errlen, "the model's answer holds no code (neither "
		    "a JSON object with \"code\" nor a fenced block)");
		return LLM_BAD_RESPONSE;
	}
	return LLM_OK;
}

/* Whether to ask for a fix of attempt a: it failed with an error, there
 * are attempts left, and a fix (a model call and a run) fits. */
static bool
task_wants_fix(struct core_env *env, struct task *t, const struct task_attempt *a)
{
	int64_t	need = config_llm_ms(env->cfg) + config_run_ms(t->req->timeout);

	if (a->rr.outcome != RUN_ERROR || t->n >= t->req->max_attempts)
		return false;
	if (need <= t->deadline_ms - clock_mono_ms())
		return true;
	t->fix_failed = t->n + 1;
	snprintf(t->why, sizeof(t->why), "no time was left for it within the "
	    "request's budget of %lld s", (long long)(config_budget(env->cfg) / 1000));
	return false;
}

/* A step of the last attempt, to a client that follows them. */
static void
task_step(struct task *t, const char *step)
{
	if (t->on_step != NULL)
		t->on_step(t->client_arg, t, t->n, step);
}

/* One attempt: ask, judge, run.  false when the task ends here. */
static bool
task_attempt(struct core_env *env, struct task *t, struct convo *cv,
    char **answer)
{
	struct task_attempt	*a = &t->at[t->n];
	char			 err[400];
	enum llm_err		 e;

	if (t->n == 0 && !task_fits_llm(t, env->cfg))
		return false;
	if ((e = task_ask(env, t, cv, a, answer, err, sizeof(err))) != LLM_OK) {
		extract_free(&a->gen);
		if (t->n == 0) {
			t->fail = TASK_FAIL_LLM;
			t->llm = e;
			snprintf(t->why, sizeof(t->why), "%s", err);
		} else {
			t->fix_failed = t->n + 1;
			snprintf(t->why, sizeof(t->why), "%s: %s",
			    llm_err_code(e), err);
		}
		return false;
	}
	t->n++;
	task_params(env, t->req, a->gen.code, strlen(a->gen.code), &a->p);
	task_step(t, "code");
	if (!a->gen.safe) {
		t->rejected_by = "the model judged the task unsafe";
		metrics_run(env->met, NULL);
		json_object_put(t->concerns);
		t->concerns = json_object_get(a->gen.concerns);
		return false;
	}
	if (!task_run(env, t, a))
		return false;
	task_step(t, "run");
	return task_wants_fix(env, t, a);
}

void
task_generate(struct core_env *env, struct task *t)
{
	struct convo	 cv = { .n = 0 };
	char		*answer = NULL, *fix;

	cv.msg[cv.n++] = (struct llm_msg){ "system", generate_system };
	cv.msg[cv.n++] = (struct llm_msg){ "user", t->req->query };
	while (task_attempt(env, t, &cv, &answer)) {
		fix = task_repair_message(&t->at[t->n - 1]);
		convo_add(&cv, "assistant", answer);
		answer = NULL;
		if (fix != NULL)
			convo_add(&cv, "user", fix);
	}
	free(answer);
	convo_free(&cv);
}

/* The last attempt made, or NULL. */
const struct task_attempt *
task_last(const struct task *t)
{
	return t->n > 0 ? &t->at[t->n - 1] : NULL;
}

/* Frees what t owns; t itself is the caller's. */
void
task_free(struct task *t)
{
	unsigned	i;

	for (i = 0; i < TASK_MAX_ATTEMPTS; i++) {
		extract_free(&t->at[i].gen);
		if (t->at[i].ran)
			run_result_free(&t->at[i].rr);
		json_object_put(t->at[i].exc);
		free(t->at[i].result_json);
		free(t->at[i].result_str);
		json_object_put(t->at[i].artifacts);
		json_object_put(t->at[i].displays);
		if (t->at[i].ws && t->at[i].p.workspace_fd >= 0)
			close(t->at[i].p.workspace_fd);
	}
	json_object_put(t->concerns);
	llm_reply_free(&t->usage);
	memset(t, 0, sizeof(*t));
}
