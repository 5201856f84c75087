/*
 * seeds.c: the routes of the services pyexec replaces, so that their
 * clients keep working unchanged (../seeds/ READMEs).  Each adapter
 * validates its body by its seed's table (request.c), runs the task
 * (task.c) and shapes the struct task into its seed's answer; what failed
 * validation it words in its seed's dialect.  A failure of pyexec itself
 * (the sandbox, the time budget) is the native 5xx envelope everywhere.
 *
 *   seed 004  POST /api/v1/execute {code, timeout}      FastAPI agent
 *   seed 002  POST /execute {script}                    Flask + nsjail, main()
 *   seed 003  POST /execute {generated_code, timeout, language}   NVIDIA
 *   seed 000  POST /execute {code, timeout, memory_limit, cpu_limit,
 *             validate_code}                         Together AI service
 *   seed 000  POST /generate-and-execute {query, timeout, memory_limit,
 *             cpu_limit}
 *   seed 001  POST /system/python_executor/execute_code/invoke {code} and
 *             POST /experience/python_executor/generate_and_execute/invoke
 *             {query}: always 200, one text item; an AST policy enforced
 *             by the runner inside the sandbox
 *
 * POST /execute is shared by seeds 000, 002 and 003; the body's keys pick
 * the seed ("script": 002, "generated_code": 003, "code": 000).  Answers
 * are plain JSON in the seed's shape; the invocationId is in the log line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve.h"
#include "sandbox.h"

/* Validates x's body by table t into x->req.  On failure: false, and the
 * error is in e (FK_NOMEM already answered 500). */
static bool
seed_parse(struct exchange *x, const struct field_table *t,
    struct field_error *e)
{
	if (request_parse(t, x->body, x->len, x->env->cfg, &x->req, e) ==
	    PYEXEC_OK)
		return true;
	exchange_why(x, "%s: %s", e->f != NULL || e->kind == FK_UNKNOWN ?
	    e->name : "body", e->text);
	if (e->kind == FK_NOMEM)
		exchange_error(x, 500, "out of memory");
	return false;
}

/* The task failed: pyexec's own failure, the native envelope. */
static bool
seed_failed(struct exchange *x)
{
	if (x->task.fail == TASK_OK)
		return false;
	exchange_task_error(x);
	return true;
}

static struct json_object *
seed_seconds(double ms)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%.3f", ms / 1000.0);
	return json_object_new_double_s(ms / 1000.0, buf);
}

/* The return code a subprocess would have had (negative: the signal). */
static int
seed_return_code(const struct run_result *rr)
{
	return rr->signal != 0 ? -rr->signal : rr->exit_code;
}

/* Whether a limit or a signal stopped the run, not the code itself. */
static bool
seed_stopped(const struct run_result *rr)
{
	return rr->outcome == RUN_TIMEOUT || rr->outcome == RUN_MEMORY_LIMIT ||
	    rr->outcome == RUN_OUTPUT_LIMIT || rr->outcome == RUN_SIGNAL;
}

/*
 * The run's stderr for a seed's answer, which has no field that says why a
 * run was stopped: when a limit or a signal stopped it, stderr ends with
 * one more line saying which (item_run_summary's "Stopped: the 100 MB
 * memory limit was exceeded.", or the seed's own words in line).  A
 * memory kill would otherwise answer an empty stderr.
 */
static struct json_object *
seed_stderr(const struct task_attempt *a, const char *line)
{
	const struct run_result	*rr = &a->rr;
	struct json_object	*o;
	char			 why[600], *s;
	size_t			 n = rr->err_len;

	if (!seed_stopped(rr))
		return item_bytes(rr->err, rr->err_len);
	if (line == NULL) {
		item_run_summary(a, why, sizeof(why));
		line = why;
	}
	if ((s = malloc(n + strlen(line) + 3)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, rr->err, n);
	if (n > 0 && s[n - 1] != '\n')
		s[n++] = '\n';
	n += (size_t)sprintf(s + n, "%s\n", line);
	o = item_bytes(s, n);
	free(s);
	return o;
}

/* The log's outcome of the task. */
static void
seed_outcome(struct exchange *x)
{
	const struct task_attempt *a = task_last(&x->task);

	x->outcome = x->task.rejected_by != NULL ? "rejected" :
	    a != NULL && a->ran ? run_outcome_name(a->rr.outcome) : NULL;
}

/* FastAPI's 422: {"detail": [{"loc": ["body", field], "msg", "type"}]}. */
static void
seed_fastapi_422(struct exchange *x, const char *field, const char *msg,
    const char *type)
{
	struct json_object	*o = json_object_new_object(), *d, *e, *loc;

	d = json_object_new_array();
	e = json_object_new_object();
	loc = json_object_new_array();
	json_object_array_add(loc, json_object_new_string("body"));
	if (field != NULL)
		json_object_array_add(loc, json_object_new_string(field));
	json_object_object_add(e, "loc", loc);
	json_object_object_add(e, "msg", item_bytes(msg, strlen(msg)));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_array_add(d, e);
	json_object_object_add(o, "detail", d);
	exchange_json(x, 422, o);
}

/* ---- seed 004: FastAPI execution agent ------------------------------- */

/* e in pydantic's words. */
static void
seed004_invalid(struct exchange *x, const struct field_error *e)
{
	char	msg[128];

	if (e->f == NULL)
		seed_fastapi_422(x, NULL, "value is not a valid JSON object",
		    "value_error.jsondecode");
	else if (e->kind == FK_MISSING)
		seed_fastapi_422(x, e->name, "field required", "value_error.missing");
	else if (e->f->type == FT_STRING)
		seed_fastapi_422(x, e->name, "str type expected", "type_error.str");
	else {
		snprintf(msg, sizeof(msg), "ensure this value is between %g and "
		    "%g", e->lo, e->hi);
		seed_fastapi_422(x, e->name, msg, "value_error.number");
	}
}

/* success | error | timeout | failed */
static const char *
seed004_status(const struct run_result *rr)
{
	switch (rr->outcome) {
	case RUN_COMPLETED:	return "success";
	case RUN_ERROR:		return "error";
	case RUN_TIMEOUT:	return "timeout";
	default:		return "failed";
	}
}

void
seed004_execute(struct exchange *x)
{
	struct field_error	 e;
	const struct task_attempt *a = &x->task.at[0];
	const struct run_result	*rr = &a->rr;
	struct json_object	*ans;

	if (!seed_parse(x, &request_seed004, &e)) {
		if (e.kind != FK_NOMEM)
			seed004_invalid(x, &e);
		return;
	}
	task_execute(x->env, &x->task);
	if (seed_failed(x))
		return;
	ans = json_object_new_object();
	json_object_object_add(ans, "status",
	    json_object_new_string(seed004_status(rr)));
	json_object_object_add(ans, "stdout", item_bytes(rr->out, rr->out_len));
	json_object_object_add(ans, "stderr", seed_stderr(a, NULL));
	json_object_object_add(ans, "execution_time", seed_seconds(rr->duration_ms));
	json_object_object_add(ans, "return_code",
	    json_object_new_int(seed_return_code(rr)));
	seed_outcome(x);
	exchange_json(x, 200, ans);
}

/* ---- seed 002: Flask + nsjail, main() -------------------------------- */

/* {"error": prefix + text} */
static void
seed002_error(struct exchange *x, int status, const char *prefix,
    const char *text)
{
	struct json_object	*o = json_object_new_object();
	char			 msg[1024];

	snprintf(msg, sizeof(msg), "%s%s", prefix, text);
	json_object_object_add(o, "error", item_bytes(msg, strlen(msg)));
	exchange_json(x, status, o);
}

/* The seed's error for a run that did not return a result. */
static void
seed002_failed(struct exchange *x, const struct task_attempt *a)
{
	const struct run_result	*rr = &a->rr;
	struct json_object	*t = NULL, *m = NULL;

	if (rr->outcome == RUN_TIMEOUT)
		seed002_error(x, 408, "", "Script execution timed out");
	else if (a->exc != NULL && json_object_object_get_ex(a->exc, "type", &t) &&
	    strcmp(json_object_get_string(t), "MissingMain") == 0)
		seed002_error(x, 400, "", "Script must contain a main() function");
	else if (a->exc != NULL && json_object_object_get_ex(a->exc, "message", &m))
		seed002_error(x, 400, "Script execution error: ",
		    json_object_get_string(m));
	else
		seed002_error(x, 400, "Script execution error: ",
		    rr->outcome == RUN_MEMORY_LIMIT ? "memory limit exceeded" :
		    rr->outcome == RUN_OUTPUT_LIMIT ? "output limit exceeded" :
		    rr->signal ? "killed by a signal" : "the script exited early");
}

static void
seed002_execute(struct exchange *x)
{
	struct field_error	 e;
	const struct task_attempt *a = &x->task.at[0];
	struct json_object	*ans;

	x->dialect = SEED_FLASK;
	if (!seed_parse(x, &request_seed002, &e)) {
		if (e.kind != FK_NOMEM)
			seed002_error(x, 400, "", "script must be a non-empty string");
		return;
	}
	task_execute(x->env, &x->task);
	if (seed_failed(x))
		return;
	seed_outcome(x);
	if (a->rr.outcome != RUN_COMPLETED) {
		seed002_failed(x, a);
		return;
	}
	ans = json_object_new_object();
	json_object_object_add(ans, "result", a->result_json != NULL ?
	    item_raw_json(a->result_json) : NULL);
	json_object_object_add(ans, "stdout", item_bytes(a->rr.out, a->rr.out_len));
	exchange_json(x, 200, ans);
}

/* ---- seed 003: NVIDIA code-execution sandbox ------------------------- */

static void
seed003_answer(struct exchange *x, int status, const char *ps,
    const char *out, size_t outlen, const char *err, size_t errlen)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "process_status", json_object_new_string(ps));
	json_object_object_add(o, "stdout", item_bytes(out, outlen));
	json_object_object_add(o, "stderr", item_bytes(err, errlen));
	exchange_json(x, status, o);
}

/* e in the NVIDIA sandbox's words and status. */
static void
seed003_invalid(struct exchange *x, const struct field_error *e)
{
	char	why[256];
	int	status = 400;

	if (e->f != NULL && e->f->type == FT_WORD)
		snprintf(why, sizeof(why), "Only python execution is supported");
	else if (e->f != NULL && e->f->type == FT_NUMBER)
		snprintf(why, sizeof(why), "timeout must be a number between "
		    "%g and %g", e->lo, e->hi);
	else if (e->f != NULL && e->f->slot == FS_SESSION)
		snprintf(why, sizeof(why), "session_id must be 1 to %d of A-Z "
		    "a-z 0-9 . _ - (not . or ..)", WS_NAME_MAX);
	else if (e->kind == FK_NUL)
		snprintf(why, sizeof(why), "generated_code must not contain NUL "
		    "bytes");
	else
		snprintf(why, sizeof(why), "generated_code must be a non-empty "
		    "string");
	seed003_answer(x, status, "error", "", 0, why, strlen(why));
}

/* Raw code, a {'generated_code': ...} literal or a fenced block: the
 * runner unwraps it inside the sandbox. */
static void
seed003_execute(struct exchange *x)
{
	struct field_error	 e;
	const struct task_attempt *a = &x->task.at[0];
	const struct run_result	*rr = &a->rr;
	struct json_object	*o;

	x->dialect = SEED_NVIDIA;
	if (!seed_parse(x, &request_seed003, &e)) {
		if (e.kind != FK_NOMEM)
			seed003_invalid(x, &e);
		return;
	}
	task_execute(x->env, &x->task);
	/* A workspace refused (busy, limits, a bad session): in its words. */
	if (x->task.fail == TASK_FAIL_WORKSPACE && x->task.ws_status < 500) {
		seed003_answer(x, x->task.ws_status, "error", "", 0,
		    x->task.why, strlen(x->task.why));
		x->retry_after = x->task.ws_retry_after;
		return;
	}
	if (seed_failed(x))
		return;
	seed_outcome(x);
	/* A timeout is the sandbox's own answer, exactly: no output, stderr
	 * "Timed out\n" (its clients compare it, and write the same when
	 * their own read times out first). */
	if (rr->outcome == RUN_TIMEOUT) {
		seed003_answer(x, 200, "timeout", "", 0, "Timed out\n", 10);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "process_status", json_object_new_string(
	    rr->outcome == RUN_COMPLETED ? "completed" : "error"));
	json_object_object_add(o, "stdout", item_bytes(rr->out, rr->out_len));
	json_object_object_add(o, "stderr", seed_stderr(a, NULL));
	exchange_json(x, 200, o);
}

/* ---- seed 000: Together AI service ------------------------------------ */

/* e as FastAPI's 422 with pyexec's own words (the service's own). */
static void
seed000_invalid(struct exchange *x, const struct field_error *e)
{
	if (e->kind == FK_UNKNOWN)
		seed_fastapi_422(x, NULL, e->text, "value_error");
	else
		seed_fastapi_422(x, e->name, e->text, "value_error");
}

/* validation_result: the review in one sentence, or null. */
static struct json_object *
seed000_verdict(const struct task *t)
{
	char	buf[1024], line[800];

	task_concerns_line(t->concerns, line, sizeof(line));
	switch (t->review) {
	case TASK_REVIEW_PASSED:
		snprintf(buf, sizeof(buf), "Code is safe to execute.%s%s",
		    *line ? " Notes: " : "", line);
		break;
	case TASK_REVIEW_REJECTED:
		snprintf(buf, sizeof(buf), "Code is unsafe: %s", *line ? line :
		    "the review judged it unsafe");
		break;
	case TASK_REVIEW_SKIPPED:	/* not run, unless the operator said */
		snprintf(buf, sizeof(buf), t->rejected_by != NULL ?
		    "Validation unavailable: %s. The code was not executed." :
		    "Validation skipped: %s", t->why);
		break;
	default:
		return NULL;
	}
	return item_bytes(buf, strlen(buf));
}

/* The exit code docker's container would have had: 128 + the signal
 * (137 for the OOM killer's and the timeout's SIGKILL). */
static int
seed000_exit_code(const struct run_result *rr)
{
	return rr->signal != 0 ? 128 + rr->signal : rr->exit_code;
}

/* stdout, stderr, exit_code and execution_time of attempt a (a review
 * that did not pass never gets here: seed000_refused()). */
static void
seed000_run(struct json_object *ans, const struct task_attempt *a)
{
	const struct run_result	*rr = &a->rr;

	json_object_object_add(ans, "stdout", item_bytes(rr->out, rr->out_len));
	json_object_object_add(ans, "stderr", seed_stderr(a, NULL));
	json_object_object_add(ans, "exit_code", json_object_new_int(a->ran ?
	    seed000_exit_code(rr) : -1));
	json_object_object_add(ans, "execution_time",
	    seed_seconds(a->ran ? rr->duration_ms : 0));
}

/* Code the review did not pass (unsafe, or no model could review it and
 * the operator refuses unreviewed code): the service's 400, FastAPI's
 * {"detail"}, prefix and the verdict (as validation_result words it). */
static void
seed000_refused(struct exchange *x, const char *prefix, const char *verdict)
{
	struct json_object	*o = json_object_new_object();
	char			 buf[1200];

	snprintf(buf, sizeof(buf), "%s%s", prefix, verdict);
	json_object_object_add(o, "detail", item_bytes(buf, strlen(buf)));
	seed_outcome(x);
	exchange_json(x, 400, o);
}

static void
seed000_execute(struct exchange *x)
{
	struct field_error	 e;
	struct task		*t = &x->task;
	struct json_object	*ans;

	x->dialect = SEED_TOGETHER;
	if (!seed_parse(x, &request_seed000_execute, &e)) {
		if (e.kind != FK_NOMEM)
			seed000_invalid(x, &e);
		return;
	}
	task_execute(x->env, t);
	if (seed_failed(x))
		return;
	if (t->rejected_by != NULL) {
		ans = seed000_verdict(t);
		seed000_refused(x, "Code validation failed: ", ans != NULL ?
		    json_object_get_string(ans) : t->rejected_by);
		json_object_put(ans);
		return;
	}
	ans = json_object_new_object();
	seed000_run(ans, &t->at[0]);
	json_object_object_add(ans, "original_code",
	    item_bytes(x->req.code, x->req.code_len));
	json_object_object_add(ans, "executed_code",
	    item_bytes(x->req.code, x->req.code_len));
	json_object_object_add(ans, "validation_result", seed000_verdict(t));
	seed_outcome(x);
	exchange_json(x, 200, ans);
}

/* {query, generated_code, stdout, stderr, exit_code, execution_time,
 * validation_result} */
void
seed000_generate(struct exchange *x)
{
	struct field_error	 e;
	struct task		*t = &x->task;
	const struct task_attempt *a;
	struct json_object	*ans;
	char			 buf[1024], line[800];

	if (!seed_parse(x, &request_seed000_generate, &e)) {
		if (e.kind != FK_NOMEM)
			seed000_invalid(x, &e);
		return;
	}
	task_generate(x->env, t);
	if (t->fail == TASK_FAIL_LLM) {
		snprintf(buf, sizeof(buf), "Code generation failed: %s", t->why);
		ans = json_object_new_object();
		json_object_object_add(ans, "detail", item_bytes(buf, strlen(buf)));
		exchange_json(x, 400, ans);
		return;
	}
	if (seed_failed(x))
		return;
	if (t->rejected_by != NULL) {
		task_concerns_line(t->concerns, line, sizeof(line));
		snprintf(buf, sizeof(buf), "Code is unsafe: %s", *line ? line :
		    "the model judged the task unsafe");
		seed000_refused(x, "Generated code validation failed: ", buf);
		return;
	}
	a = task_last(t);
	ans = json_object_new_object();
	json_object_object_add(ans, "query",
	    item_bytes(x->req.query, x->req.query_len));
	json_object_object_add(ans, "generated_code",
	    item_bytes(a->gen.code, strlen(a->gen.code)));
	seed000_run(ans, a);
	json_object_object_add(ans, "validation_result",
	    json_object_new_string("Code is safe to execute."));
	seed_outcome(x);
	exchange_json(x, 200, ans);
}

/* Whether the request says its body is JSON, as Flask's is_json does:
 * application/json or application/<anything>+json, parameters aside. */
static bool
seed_json_type(const char *type)
{
	size_t	n;

	if (type == NULL)
		return false;
	n = strcspn(type, "; \t");
	if (n == 16 && strncasecmp(type, "application/json", n) == 0)
		return true;
	return n > 17 && strncasecmp(type, "application/", 12) == 0 &&
	    strncasecmp(type + n - 5, "+json", 5) == 0;
}

/*
 * POST /execute whose body names no seed: 400 in the shapes of both seeds
 * whose clients could have sent it, 002's {"error"} and 003's
 * {process_status, stdout, stderr}, with the NVIDIA sandbox's own words
 * in stderr.  (000 is FastAPI's; its bodies always carry "code".)
 */
static void
seed_execute_unknown(struct exchange *x, const char *nvidia, const char *why)
{
	struct json_object	*o = json_object_new_object();

	exchange_why(x, "body: %s", why);
	json_object_object_add(o, "error", json_object_new_string(why));
	json_object_object_add(o, "process_status",
	    json_object_new_string("error"));
	json_object_object_add(o, "stdout", json_object_new_string(""));
	json_object_object_add(o, "stderr", json_object_new_string(nvidia));
	exchange_json(x, 400, o);
}

/*
 * POST /execute: the body's keys choose the seed.  "script": seed 002,
 * "generated_code": seed 003, "code": seed 000.  A body that is not JSON
 * is worded as the NVIDIA sandbox words it ("Request must be JSON" when
 * its Content-Type is not JSON, else "Invalid JSON data"); a JSON body of
 * the NVIDIA sandbox's keys without "generated_code" gets its 400.
 */
void
seed_execute(struct exchange *x)
{
	struct json_object	*o;
	char			 msg[256];
	const char		*no_seed = "Missing required field: generated_code";

	o = request_json(x->body, x->len, msg, sizeof(msg));
	if (o == NULL && !seed_json_type(x->req_type))
		seed_execute_unknown(x, "Request must be JSON",
		    "Request must be JSON");
	else if (o == NULL)
		seed_execute_unknown(x, "Invalid JSON data", "Invalid JSON data");
	else if (!json_object_is_type(o, json_type_object))
		seed_execute_unknown(x, no_seed, "Request must be a JSON object");
	else if (json_object_object_get_ex(o, "script", NULL))
		seed002_execute(x);
	else if (json_object_object_get_ex(o, "generated_code", NULL))
		seed003_execute(x);
	else if (json_object_object_get_ex(o, "code", NULL))
		seed000_execute(x);
	else if (json_object_object_get_ex(o, "timeout", NULL) ||
	    json_object_object_get_ex(o, "language", NULL)) {
		x->dialect = SEED_NVIDIA;
		exchange_why(x, "generated_code: missing");
		seed003_answer(x, 400, "error", "", 0, no_seed, strlen(no_seed));
	}
	else
		seed_execute_unknown(x, no_seed, "POST /execute needs one of "
		    "\"code\" (run the code), \"script\" (a program with "
		    "main()) or \"generated_code\" (raw, dict or fenced code)");
	json_object_put(o);
}

/* ---- seed 001: IBM Python Code Executor ------------------------------- */

/* {"status": "success", "invocationId", "response": [{"message", "type"}]} */
static void
seed001_reply(struct exchange *x, const char *msg)
{
	struct json_object	*o = json_object_new_object(), *arr, *it;

	arr = json_object_new_array();
	it = json_object_new_object();
	json_object_object_add(it, "message", item_bytes(msg, strlen(msg)));
	json_object_object_add(it, "type", json_object_new_string("text"));
	json_object_array_add(arr, it);
	json_object_object_add(o, "status", json_object_new_string("success"));
	json_object_object_add(o, "invocationId", json_object_new_string(x->id));
	json_object_object_add(o, "response", arr);
	exchange_json(x, 200, o);
}

/* e in the IBM executor's words: "Invalid input: ...". */
static void
seed001_invalid(struct exchange *x, const struct field_table *t,
    const struct field_error *e)
{
	char	msg[512];

	if (e->kind == FK_TOO_LONG)
		snprintf(msg, sizeof(msg), "Invalid input: Input exceeds the "
		    "maximum length of %g characters", e->hi);
	else if (e->kind == FK_NUL)
		snprintf(msg, sizeof(msg), "Invalid input: NUL character in the "
		    "%s", e->name);
	else if (e->kind == FK_CONTROL || e->kind == FK_UTF8)
		snprintf(msg, sizeof(msg), "Invalid input: %s: %s", e->name,
		    e->text);
	else
		snprintf(msg, sizeof(msg), "Invalid input: a non-empty \"%s\" "
		    "string is required", t->fields[0].name);
	seed001_reply(x, msg);
}

/* What the run shows: Python's own str() of `result`, else its stdout
 * without the trailing blank. */
static char *
seed001_shown(const struct task_attempt *a)
{
	size_t	n = a->rr.out_len;

	if (a->result_str != NULL)
		return strdup(a->result_str);
	while (n > 0 && (a->rr.out[n - 1] == '\n' || a->rr.out[n - 1] == ' '))
		n--;
	return strndup(a->rr.out != NULL ? a->rr.out : "", n);
}

/* The message for the task (malloc'd), as the IBM executor words it. */
static char *
seed001_message(const struct task *t)
{
	const struct task_attempt *a = task_last(t);
	const struct run_result	*rr = &a->rr;
	struct json_object	*ty = NULL, *m = NULL;
	const char		*why;
	char			*msg = NULL, *shown, sig[32];

	if (a->exc != NULL)
		json_object_object_get_ex(a->exc, "type", &ty);
	if (t->rejected_by != NULL || (ty != NULL && strcmp(
	    json_object_get_string(ty), "PolicyViolation") == 0))
		return strdup("Invalid input: Potentially unsafe code detected");
	if (rr->outcome == RUN_TIMEOUT)
		return asprintf(&msg, "Execution timed out after %g seconds",
		    a->p.timeout) < 0 ? NULL : msg;
	if (rr->outcome == RUN_MEMORY_LIMIT)
		return asprintf(&msg, "Memory limit exceeded: %lluMB",
		    (unsigned long long)(a->p.memory_bytes >> 20)) < 0 ? NULL : msg;
	if (rr->outcome != RUN_COMPLETED) {
		if (a->exc != NULL && json_object_object_get_ex(a->exc, "message", &m))
			why = json_object_get_string(m);
		else
			why = rr->outcome == RUN_OUTPUT_LIMIT ? "output limit "
			    "exceeded" : rr->signal ? item_signal_name(rr->signal,
			    sig, sizeof(sig)) : "the code exited with an error";
		return asprintf(&msg, "Execution error: %s", why) < 0 ? NULL : msg;
	}
	if ((shown = seed001_shown(a)) == NULL)
		return NULL;
	if (asprintf(&msg, "The Python code executed was:\n\n%s\n\nThe result "
	    "of the execution is:\n\n%s", a->p.code, shown) < 0)
		msg = NULL;
	free(shown);
	return msg;
}

/* The task's answer, or pyexec's own failure. */
static void
seed001_answer(struct exchange *x)
{
	char	*msg;

	if (seed_failed(x))
		return;
	seed_outcome(x);
	if ((msg = seed001_message(&x->task)) == NULL) {
		exchange_error(x, 500, "out of memory");
		return;
	}
	seed001_reply(x, msg);
	free(msg);
}

void
seed001_execute(struct exchange *x)
{
	struct field_error	e;

	if (!seed_parse(x, &request_seed001_execute, &e)) {
		if (e.kind != FK_NOMEM)
			seed001_invalid(x, &request_seed001_execute, &e);
		return;
	}
	task_execute(x->env, &x->task);
	seed001_answer(x);
}

void
seed001_generate(struct exchange *x)
{
	struct field_error	e;
	char			msg[700];

	if (!seed_parse(x, &request_seed001_generate, &e)) {
		if (e.kind != FK_NOMEM)
			seed001_invalid(x, &request_seed001_generate, &e);
		return;
	}
	task_generate(x->env, &x->task);
	if (x->task.fail == TASK_FAIL_LLM) {
		snprintf(msg, sizeof(msg), "Code generation failed: %s",
		    x->task.why);
		seed001_reply(x, msg);
		return;
	}
	seed001_answer(x);
}
