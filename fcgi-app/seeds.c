/*
 * seeds.c: the routes of the services pyexec replaces, so that their
 * clients keep working unchanged (../seeds/ READMEs).  Each adapter only
 * parses its seed's request and shapes its seed's answer; validation of
 * limits, the sandbox and the run are the common core (worker_run).
 *
 *   seed 004  POST /api/v1/execute {code, timeout}      FastAPI agent
 *   seed 002  POST /execute {script}                    Flask + nsjail, main()
 *   seed 003  POST /execute {generated_code, timeout, language}   NVIDIA
 *   seed 000  POST /execute {code, timeout, memory_limit, cpu_limit,
 *             validate_code}                         Together AI service
 *   seed 000  POST /generate-and-execute {query, timeout, memory_limit,
 *             cpu_limit}: the native route, its envelope reshaped
 *   seed 001  POST /system/python_executor/execute_code/invoke {code} and
 *             POST /experience/python_executor/generate_and_execute/invoke
 *             {query}: always 200, one text item; an AST policy enforced
 *             by the runner inside the sandbox
 *
 * POST /execute is shared by seeds 000, 002 and 003; the body's keys pick
 * the seed ("script": 002, "generated_code": 003, "code": 000).  Answers are plain JSON in the seed's shape,
 * not the native envelope; the invocationId is in the log line.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pyexec.h"
#include "sandbox.h"

/* Sets the reply to a JSON object (taken) with status. */
static void
seed_reply(struct reply *r, int status, struct json_object *o)
{
	free(r->body);
	r->status = status;
	r->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static struct json_object *
seed_seconds(double ms)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%.3f", ms / 1000.0);
	return json_object_new_double_s(ms / 1000.0, buf);
}

/* ---- seed 004: FastAPI execution agent ------------------------------- */

/* FastAPI's 422: {"detail": [{"loc": ["body", field], "msg", "type"}]}. */
static void
seed004_invalid(struct reply *r, const char *field, const char *msg,
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
	json_object_object_add(e, "msg", json_object_new_string(msg));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_array_add(d, e);
	json_object_object_add(o, "detail", d);
	seed_reply(r, 422, o);
}

/* success | error | timeout | failed, and the return code a subprocess
 * would have had (negative: killed by that signal). */
static const char *
seed004_status(const struct run_result *rr, int *rc)
{
	*rc = rr->signal != 0 ? -rr->signal : rr->exit_code;
	switch (rr->outcome) {
	case RUN_COMPLETED:	return "success";
	case RUN_ERROR:		return "error";
	case RUN_TIMEOUT:	return "timeout";
	default:		return "failed";
	}
}

void
seed004_execute(struct worker *w, const char *body, size_t len,
    const char *id, struct reply *r)
{
	struct json_object	*o, *code, *t, *ans;
	struct run_params	 p;
	struct run_result	 rr;
	char			 msg[256];
	double			 max = w->cfg->max_timeout < 30 ?
				    w->cfg->max_timeout : 30;
	double			 timeout = 5 < max ? 5 : max;
	int			 rc;

	if ((o = request_json(body, len, msg, sizeof(msg))) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		seed004_invalid(r, NULL, "value is not a valid JSON object",
		    "value_error.jsondecode");
		return;
	}
	if (!json_object_object_get_ex(o, "code", &code)) {
		seed004_invalid(r, "code", "field required", "value_error.missing");
		goto out;
	}
	if (!json_object_is_type(code, json_type_string)) {
		seed004_invalid(r, "code", "str type expected", "type_error.str");
		goto out;
	}
	if (json_object_object_get_ex(o, "timeout", &t) && t != NULL) {
		timeout = json_object_get_double(t);
		if ((!json_object_is_type(t, json_type_int) &&
		    !json_object_is_type(t, json_type_double)) ||
		    !isfinite(timeout) || timeout < 1 || timeout > max) {
			snprintf(msg, sizeof(msg), "ensure this value is between "
			    "1 and %g", max);
			seed004_invalid(r, "timeout", msg, "value_error.number");
			goto out;
		}
	}
	p = (struct run_params){ .code = json_object_get_string(code),
	    .code_len = (size_t)json_object_get_string_len(code),
	    .stdin_data = NULL, .stdin_len = 0, .timeout = timeout,
	    .memory_bytes = (uint64_t)w->cfg->default_memory_mb << 20,
	    .cpu_limit = config_default_cpu(w->cfg), .max_output = w->cfg->max_output,
	    .mode = RUN_MODE_SCRIPT, .unwrap = false };
	if (worker_run(w, &p, &rr) != 0) {
		reply_error(r, 500, id, "the sandbox failed");
		goto out;
	}
	ans = json_object_new_object();
	json_object_object_add(ans, "status",
	    json_object_new_string(seed004_status(&rr, &rc)));
	json_object_object_add(ans, "stdout", json_bytes(rr.out, rr.out_len));
	json_object_object_add(ans, "stderr", json_bytes(rr.err, rr.err_len));
	json_object_object_add(ans, "execution_time", seed_seconds(rr.duration_ms));
	json_object_object_add(ans, "return_code", json_object_new_int(rc));
	r->outcome = run_outcome_name(rr.outcome);
	seed_reply(r, 200, ans);
	run_result_free(&rr);
out:
	json_object_put(o);
}

/* ---- seed 002: Flask + nsjail, main() -------------------------------- */

/* {"error": prefix + text} */
static void
seed002_error(struct reply *r, int status, const char *prefix,
    const char *text)
{
	struct json_object	*o = json_object_new_object();
	char			 msg[1024];

	snprintf(msg, sizeof(msg), "%s%s", prefix, text);
	json_object_object_add(o, "error", json_bytes(msg, strlen(msg)));
	seed_reply(r, status, o);
}

/* The seed's error for a run that did not return a result. */
static void
seed002_failed(struct reply *r, const struct run_result *rr,
    struct json_object *exc)
{
	struct json_object	*t = NULL, *m = NULL;

	if (rr->outcome == RUN_TIMEOUT) {
		seed002_error(r, 408, "", "Script execution timed out");
		return;
	}
	if (exc != NULL && json_object_object_get_ex(exc, "type", &t) &&
	    strcmp(json_object_get_string(t), "MissingMain") == 0) {
		seed002_error(r, 400, "", "Script must contain a main() function");
		return;
	}
	if (exc != NULL && json_object_object_get_ex(exc, "message", &m))
		seed002_error(r, 400, "Script execution error: ",
		    json_object_get_string(m));
	else if (rr->outcome == RUN_MEMORY_LIMIT)
		seed002_error(r, 400, "Script execution error: ",
		    "memory limit exceeded");
	else if (rr->outcome == RUN_OUTPUT_LIMIT)
		seed002_error(r, 400, "Script execution error: ",
		    "output limit exceeded");
	else
		seed002_error(r, 400, "Script execution error: ",
		    rr->signal ? "killed by a signal" : "the script exited early");
}

static void
seed002_execute(struct worker *w, struct json_object *script, const char *id,
    struct reply *r)
{
	struct run_params	 p;
	struct run_result	 rr;
	struct json_object	*exc, *result, *ans;
	double			 timeout = w->cfg->max_timeout < 30 ?
				    w->cfg->max_timeout : 30;

	if (!json_object_is_type(script, json_type_string) ||
	    json_object_get_string_len(script) == 0 ||
	    memchr(json_object_get_string(script), '\0',
	    (size_t)json_object_get_string_len(script)) != NULL) {
		seed002_error(r, 400, "", "script must be a non-empty string");
		return;
	}
	p = (struct run_params){ .code = json_object_get_string(script),
	    .code_len = (size_t)json_object_get_string_len(script),
	    .stdin_data = NULL, .stdin_len = 0, .timeout = timeout,
	    .memory_bytes = (uint64_t)w->cfg->default_memory_mb << 20,
	    .cpu_limit = config_default_cpu(w->cfg), .max_output = w->cfg->max_output,
	    .mode = RUN_MODE_MAIN, .unwrap = false };
	if (worker_run(w, &p, &rr) != 0) {
		reply_error(r, 500, id, "the sandbox failed");
		return;
	}
	report_parse(&rr, &exc, &result);
	r->outcome = run_outcome_name(rr.outcome);
	if (rr.outcome != RUN_COMPLETED)
		seed002_failed(r, &rr, exc);
	else {
		ans = json_object_new_object();
		json_object_object_add(ans, "result", result);
		result = NULL;
		json_object_object_add(ans, "stdout", json_bytes(rr.out, rr.out_len));
		seed_reply(r, 200, ans);
	}
	json_object_put(exc);
	json_object_put(result);
	run_result_free(&rr);
}

/* ---- seed 003: NVIDIA code-execution sandbox ------------------------- */

static void
seed003_answer(struct reply *r, int status, const char *ps, const char *out,
    size_t outlen, const char *err, size_t errlen)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "process_status", json_object_new_string(ps));
	json_object_object_add(o, "stdout", json_bytes(out, outlen));
	json_object_object_add(o, "stderr", json_bytes(err, errlen));
	seed_reply(r, status, o);
}

static void
seed003_refuse(struct reply *r, int status, const char *why)
{
	seed003_answer(r, status, "error", "", 0, why, strlen(why));
}

/* Raw code, a {'generated_code': ...} literal or a fenced block: the
 * runner unwraps it inside the sandbox.  Default timeout 10 s. */
static void
seed003_execute(struct worker *w, struct json_object *o, struct json_object *gc,
    const char *id, struct reply *r)
{
	struct json_object	*t, *lang;
	struct run_params	 p;
	struct run_result	 rr;
	double			 timeout = 10 < w->cfg->max_timeout ? 10 :
				    w->cfg->max_timeout;
	char			 why[256];

	if (!json_object_is_type(gc, json_type_string) ||
	    json_object_get_string_len(gc) == 0) {
		seed003_refuse(r, 400, "generated_code must be a non-empty string");
		return;
	}
	if (json_object_object_get_ex(o, "language", &lang) && lang != NULL &&
	    (!json_object_is_type(lang, json_type_string) ||
	    strcasecmp(json_object_get_string(lang), "python") != 0)) {
		snprintf(why, sizeof(why), "Unsupported language: %.64s (only "
		    "python is supported)", json_object_get_string(lang));
		seed003_refuse(r, 200, why);
		return;
	}
	if (json_object_object_get_ex(o, "timeout", &t) && t != NULL) {
		timeout = json_object_get_double(t);
		if ((!json_object_is_type(t, json_type_int) &&
		    !json_object_is_type(t, json_type_double)) ||
		    !isfinite(timeout) || timeout < 0.1 ||
		    timeout > w->cfg->max_timeout) {
			snprintf(why, sizeof(why), "timeout must be a number "
			    "between 0.1 and %g", w->cfg->max_timeout);
			seed003_refuse(r, 400, why);
			return;
		}
	}
	p = (struct run_params){ .code = json_object_get_string(gc),
	    .code_len = (size_t)json_object_get_string_len(gc),
	    .stdin_data = NULL, .stdin_len = 0, .timeout = timeout,
	    .memory_bytes = (uint64_t)w->cfg->default_memory_mb << 20,
	    .cpu_limit = config_default_cpu(w->cfg), .max_output = w->cfg->max_output,
	    .mode = RUN_MODE_SCRIPT, .unwrap = true };
	if (memchr(p.code, '\0', p.code_len) != NULL) {
		seed003_refuse(r, 400, "generated_code must not contain NUL bytes");
		return;
	}
	if (worker_run(w, &p, &rr) != 0) {
		reply_error(r, 500, id, "the sandbox failed");
		return;
	}
	r->outcome = run_outcome_name(rr.outcome);
	seed003_answer(r, 200, rr.outcome == RUN_COMPLETED ? "completed" :
	    rr.outcome == RUN_TIMEOUT ? "timeout" : "error", rr.out, rr.out_len,
	    rr.err, rr.err_len);
	run_result_free(&rr);
}

/* ---- seed 000: Together AI service ------------------------------------ */

/* A validation error as FastAPI's 422; the field is the message's prefix. */
static void
seed000_invalid(struct reply *r, const char *msg)
{
	char		 field[64];
	size_t		 n = strcspn(msg, ":");

	if (n == 0 || n >= sizeof(field) || msg[n] != ':' ||
	    memchr(msg, ' ', n) != NULL)
		seed004_invalid(r, NULL, msg, "value_error");
	else {
		memcpy(field, msg, n);
		field[n] = '\0';
		seed004_invalid(r, field, msg + n + 2, "value_error");
	}
}

/* validation_result: the review in one sentence, or null. */
static struct json_object *
seed000_verdict(struct json_object *validation)
{
	struct json_object	*st, *c, *reason;
	char			 buf[1024], line[800];

	if (validation == NULL)
		return NULL;
	json_object_object_get_ex(validation, "status", &st);
	json_object_object_get_ex(validation, "concerns", &c);
	json_object_object_get_ex(validation, "reason", &reason);
	concerns_line(c, line, sizeof(line));
	if (strcmp(json_object_get_string(st), "passed") == 0)
		snprintf(buf, sizeof(buf), "Code is safe to execute.%s%s",
		    *line ? " Notes: " : "", line);
	else if (strcmp(json_object_get_string(st), "rejected") == 0)
		snprintf(buf, sizeof(buf), "Code is unsafe: %s", *line ? line :
		    "the review judged it unsafe");
	else
		snprintf(buf, sizeof(buf), "Validation skipped: %s",
		    json_object_get_string(reason));
	return json_bytes(buf, strlen(buf));
}

static void
seed000_execute(struct worker *w, const char *body, size_t len,
    const char *id, struct reply *r)
{
	struct exec_request	 req;
	struct run_params	 p;
	struct run_result	 rr;
	struct json_object	*ans, *validation = NULL, *concerns = NULL;
	char			 msg[512];
	bool			 rejected = false;
	int			 rc;

	if (request_parse_execute(body, len, w->cfg, &req, msg,
	    sizeof(msg)) != PYEXEC_OK) {
		seed000_invalid(r, msg);
		goto out;
	}
	p = (struct run_params){ .code = req.code, .code_len = req.code_len,
	    .stdin_data = req.stdin_data, .stdin_len = req.stdin_len,
	    .timeout = req.timeout, .memory_bytes = req.memory_bytes,
	    .cpu_limit = req.cpu_limit, .max_output = w->cfg->max_output,
	    .mode = RUN_MODE_SCRIPT, .unwrap = false };
	if (req.validate_code)
		validation = generate_review(w, req.code, &rejected, &concerns);
	ans = json_object_new_object();
	if (rejected) {
		json_object_object_add(ans, "stdout", json_object_new_string(""));
		json_object_object_add(ans, "stderr", json_object_new_string(
		    "Code rejected by validation; it was not executed."));
		json_object_object_add(ans, "exit_code", json_object_new_int(-1));
		json_object_object_add(ans, "execution_time", seed_seconds(0));
		r->outcome = "rejected";
	} else {
		if (worker_run(w, &p, &rr) != 0) {
			json_object_put(ans);
			reply_error(r, 500, id, "the sandbox failed");
			goto out;
		}
		json_object_object_add(ans, "stdout", json_bytes(rr.out, rr.out_len));
		json_object_object_add(ans, "stderr", json_bytes(rr.err, rr.err_len));
		seed004_status(&rr, &rc);
		json_object_object_add(ans, "exit_code", json_object_new_int(rc));
		json_object_object_add(ans, "execution_time",
		    seed_seconds(rr.duration_ms));
		r->outcome = run_outcome_name(rr.outcome);
		run_result_free(&rr);
	}
	json_object_object_add(ans, "original_code", json_bytes(req.code, req.code_len));
	json_object_object_add(ans, "executed_code", json_bytes(req.code, req.code_len));
	json_object_object_add(ans, "validation_result", seed000_verdict(validation));
	seed_reply(r, 200, ans);
out:
	json_object_put(validation);
	json_object_put(concerns);
	request_free(&req);
}

/* The last item of type t in the native envelope's response (borrowed). */
static struct json_object *
envelope_last(struct json_object *env, const char *t)
{
	struct json_object	*items, *it, *ty, *found = NULL;
	size_t			 i;

	if (!json_object_object_get_ex(env, "response", &items))
		return NULL;
	for (i = 0; i < json_object_array_length(items); i++) {
		it = json_object_array_get_idx(items, i);
		if (json_object_object_get_ex(it, "type", &ty) &&
		    strcmp(json_object_get_string(ty), t) == 0)
			found = it;
	}
	return found;
}

static struct json_object *
field(struct json_object *o, const char *k)
{
	struct json_object	*v = NULL;

	if (o != NULL)
		json_object_object_get_ex(o, k, &v);
	return v;
}

/* {query, generated_code, stdout, stderr, exit_code, execution_time,
 * validation_result} from the native answer of the same request. */
static void
seed000_shape(struct reply *r, struct json_object *env, struct json_object *query)
{
	struct json_object	*code = envelope_last(env, "code");
	struct json_object	*ex = envelope_last(env, "execution");
	struct json_object	*ans = json_object_new_object(), *v;
	char			 buf[1024], line[800];
	const char		*sig;
	bool			 rejected;

	rejected = strcmp(json_object_get_string(field(ex, "outcome")), "rejected") == 0;
	json_object_object_add(ans, "query", json_object_get(query));
	json_object_object_add(ans, "generated_code", json_object_get(field(code, "code")));
	json_object_object_add(ans, "stdout", json_object_get(field(ex, "stdout")));
	json_object_object_add(ans, "stderr", json_object_get(field(ex, "stderr")));
	v = field(ex, "exit_code");
	sig = json_object_get_string(field(ex, "signal"));
	json_object_object_add(ans, "exit_code", json_object_new_int(rejected ? -1 :
	    v != NULL ? json_object_get_int(v) :
	    sig != NULL && strcmp(sig, "SIGKILL") == 0 ? -9 : -1));
	json_object_object_add(ans, "execution_time",
	    seed_seconds(json_object_get_double(field(ex, "duration_ms"))));
	concerns_line(field(field(ex, "rejection"), "concerns"), line, sizeof(line));
	if (rejected)
		snprintf(buf, sizeof(buf), "Code is unsafe: %s", *line ? line :
		    "the model judged the task unsafe");
	else
		snprintf(buf, sizeof(buf), "Code is safe to execute.");
	json_object_object_add(ans, "validation_result", json_bytes(buf, strlen(buf)));
	seed_reply(r, 200, ans);
}

void
seed000_generate(struct worker *w, const char *body, size_t len,
    const char *id, struct reply *r)
{
	struct reply		 nr = { 0, NULL, NULL, "-", NULL };
	struct json_object	*env = NULL, *req, *err, *msg, *code, *o;
	char			 m[256];

	route_generate(w, body, len, id, &nr);
	r->outcome = nr.outcome;
	if (nr.body == NULL || (env = json_tokener_parse(nr.body)) == NULL) {
		reply_error(r, 500, id, "internal error");
		goto out;
	}
	err = envelope_last(env, "error");
	code = field(err, "code");
	msg = field(err, "message");
	if (nr.status == 400)
		seed000_invalid(r, json_object_get_string(msg));
	else if (nr.status != 200 && code != NULL &&
	    strncmp(json_object_get_string(code), "llm_", 4) == 0) {
		o = json_object_new_object();
		snprintf(m, sizeof(m), "Code generation failed: %s",
		    json_object_get_string(msg));
		json_object_object_add(o, "detail", json_bytes(m, strlen(m)));
		seed_reply(r, 400, o);
	} else if (nr.status != 200) {
		r->status = nr.status;	/* our own failure: the native 5xx */
		free(r->body);
		r->body = nr.body;
		nr.body = NULL;
	} else {
		req = json_tokener_parse(body);
		seed000_shape(r, env, field(req, "query"));
		json_object_put(req);
	}
out:
	json_object_put(env);
	free(nr.body);
}

/*
 * POST /execute: the body's keys choose the seed.  "script": seed 002.
 * Seeds 000 ("code") and 003 ("generated_code") are not served yet.
 */
void
seed_execute(struct worker *w, const char *body, size_t len, const char *id,
    struct reply *r)
{
	struct json_object	*o, *v;
	char			 msg[256];

	if ((o = request_json(body, len, msg, sizeof(msg))) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		seed002_error(r, 400, "", "Request must be JSON");
		return;
	}
	if (json_object_object_get_ex(o, "script", &v))
		seed002_execute(w, v, id, r);
	else if (json_object_object_get_ex(o, "generated_code", &v))
		seed003_execute(w, o, v, id, r);
	else if (json_object_object_get_ex(o, "code", &v))
		seed000_execute(w, body, len, id, r);
	else
		seed002_error(r, 400, "", "POST /execute needs one of \"code\" "
		    "(run the code), \"script\" (a program with main()) or "
		    "\"generated_code\" (raw, dict or fenced code)");
	json_object_put(o);
}

/* ---- seed 001: IBM Python Code Executor ------------------------------- */

/* value as Python's str() would print it (strings quoted as repr). */
static void
pyfmt(struct json_object *v, char *buf, size_t len, size_t *o)
{
	const char	*s;
	size_t		 i, n;

#define PUT(...) do { if (*o < len) *o += (size_t)snprintf(buf + *o, len - *o, __VA_ARGS__); } while (0)
	switch (json_object_get_type(v)) {
	case json_type_null:	PUT("None"); break;
	case json_type_boolean:	PUT("%s", json_object_get_boolean(v) ? "True" : "False"); break;
	case json_type_string:
		PUT("'");
		for (s = json_object_get_string(v); *s != '\0'; s++)
			if (*s == '\'' || *s == '\\')
				PUT("\\%c", *s);
			else if (*s == '\n')
				PUT("\\n");
			else
				PUT("%c", *s);
		PUT("'");
		break;
	case json_type_array:
		PUT("[");
		for (i = 0, n = json_object_array_length(v); i < n; i++) {
			if (i)
				PUT(", ");
			pyfmt(json_object_array_get_idx(v, i), buf, len, o);
		}
		PUT("]");
		break;
	case json_type_object: {
		bool first = true;

		PUT("{");
		json_object_object_foreach(v, k, x) {
			struct json_object *ks = json_object_new_string(k);

			if (!first)
				PUT(", ");
			first = false;
			pyfmt(ks, buf, len, o);
			json_object_put(ks);
			PUT(": ");
			pyfmt(x, buf, len, o);
		}
		PUT("}");
		break;
	}
	default:		PUT("%s", json_object_get_string(v)); break;
	}
#undef PUT
}

/* {"status": "success", "invocationId", "response": [{"message", "type"}]} */
static void
seed001_reply(struct reply *r, const char *id, const char *msg)
{
	struct json_object	*o = json_object_new_object(), *arr, *it;

	arr = json_object_new_array();
	it = json_object_new_object();
	json_object_object_add(it, "message", json_bytes(msg, strlen(msg)));
	json_object_object_add(it, "type", json_object_new_string("text"));
	json_object_array_add(arr, it);
	json_object_object_add(o, "status", json_object_new_string("success"));
	json_object_object_add(o, "invocationId", json_object_new_string(id));
	json_object_object_add(o, "response", arr);
	seed_reply(r, 200, o);
}

/* The message for a run, from its native execution item. */
static void
seed001_message(const struct pyexec_config *c, const char *code,
    struct json_object *ex, char *buf, size_t len)
{
	const char	*outcome = json_object_get_string(field(ex, "outcome"));
	struct json_object *exc = field(ex, "exception"), *res = field(ex, "result");
	char		 shown[8192];
	size_t		 o = 0, n;
	const char	*out;

	if (strcmp(outcome, "rejected") == 0 || (exc != NULL && strcmp(
	    json_object_get_string(field(exc, "type")), "PolicyViolation") == 0))
		snprintf(buf, len, "Invalid input: Potentially unsafe code detected");
	else if (strcmp(outcome, "timeout") == 0)
		snprintf(buf, len, "Execution timed out after %g seconds",
		    json_object_get_double(field(field(ex, "limits"), "timeout")));
	else if (strcmp(outcome, "memory_limit") == 0)
		snprintf(buf, len, "Memory limit exceeded: %lldMB",
		    (long long)(json_object_get_int64(field(field(ex, "limits"),
		    "memory_limit_bytes")) >> 20));
	else if (strcmp(outcome, "completed") != 0)
		snprintf(buf, len, "Execution error: %s", exc != NULL ?
		    json_object_get_string(field(exc, "message")) :
		    strcmp(outcome, "output_limit") == 0 ? "output limit exceeded" :
		    field(ex, "signal") != NULL ? json_object_get_string(field(ex, "signal")) :
		    "the code exited with an error");
	else {
		if (res != NULL)
			pyfmt(res, shown, sizeof(shown), &o);
		else {
			out = json_object_get_string(field(ex, "stdout"));
			for (n = strlen(out); n > 0 && (out[n - 1] == '\n' ||
			    out[n - 1] == ' '); n--)
				;
			snprintf(shown, sizeof(shown), "%.*s", (int)n, out);
		}
		snprintf(buf, len, "The Python code executed was:\n\n%s\n\n"
		    "The result of the execution is:\n\n%s", code, shown);
	}
	(void)c;
}

/* The input field (code or query), checked as the seed did. */
static struct json_object *
seed001_input(struct worker *w, const char *body, size_t len, const char *key,
    struct json_object **o, char *msg, size_t msglen)
{
	struct json_object	*v;
	size_t			 chars = 0;
	const char		*s;

	if ((*o = request_json(body, len, msg, msglen)) == NULL ||
	    !json_object_is_type(*o, json_type_object) ||
	    !json_object_object_get_ex(*o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0) {
		snprintf(msg, msglen, "Invalid input: a non-empty \"%s\" string "
		    "is required", key);
		return NULL;
	}
	for (s = json_object_get_string(v); *s != '\0'; s++)
		chars += ((unsigned char)*s & 0xc0) != 0x80;
	if (chars > w->cfg->max_input_length) {
		snprintf(msg, msglen, "Invalid input: Input exceeds the maximum "
		    "length of %u characters", w->cfg->max_input_length);
		return NULL;
	}
	return v;
}

void
seed001_execute(struct worker *w, const char *body, size_t len,
    const char *id, struct reply *r)
{
	struct json_object	*o = NULL, *code, *exc, *result, *ex;
	struct run_params	 p;
	struct run_result	 rr;
	char			 msg[16384];

	if ((code = seed001_input(w, body, len, "code", &o, msg,
	    sizeof(msg))) == NULL) {
		seed001_reply(r, id, msg);
		goto out;
	}
	p = (struct run_params){ .code = json_object_get_string(code),
	    .code_len = (size_t)json_object_get_string_len(code),
	    .timeout = w->cfg->default_timeout,
	    .memory_bytes = (uint64_t)w->cfg->default_memory_mb << 20,
	    .cpu_limit = config_default_cpu(w->cfg), .max_output = w->cfg->max_output,
	    .mode = RUN_MODE_SCRIPT, .policy = w->cfg->seed001_policy };
	if (memchr(p.code, '\0', p.code_len) != NULL) {
		seed001_reply(r, id, "Invalid input: NUL character in the code");
		goto out;
	}
	if (worker_run(w, &p, &rr) != 0) {
		reply_error(r, 500, id, "the sandbox failed");
		goto out;
	}
	report_parse(&rr, &exc, &result);
	ex = execution_item(&rr, &p, exc);
	json_object_object_add(ex, "result", result);
	seed001_message(w->cfg, p.code, ex, msg, sizeof(msg));
	r->outcome = run_outcome_name(rr.outcome);
	seed001_reply(r, id, msg);
	json_object_put(ex);
	json_object_put(exc);
	run_result_free(&rr);
out:
	json_object_put(o);
}

void
seed001_generate(struct worker *w, const char *body, size_t len,
    const char *id, struct reply *r)
{
	struct reply		 nr = { 0, NULL, NULL, "-", NULL };
	struct json_object	*o = NULL, *q, *nb, *env = NULL, *err, *code;
	char			 msg[16384];
	const char		*nbs;

	if ((q = seed001_input(w, body, len, "query", &o, msg,
	    sizeof(msg))) == NULL) {
		seed001_reply(r, id, msg);
		goto out;
	}
	nb = json_object_new_object();
	json_object_object_add(nb, "query", json_object_get(q));
	nbs = json_object_to_json_string_ext(nb, JSON_C_TO_STRING_PLAIN);
	route_generate(w, nbs, strlen(nbs), id, &nr);
	json_object_put(nb);
	r->outcome = nr.outcome;
	if (nr.body == NULL || (env = json_tokener_parse(nr.body)) == NULL) {
		reply_error(r, 500, id, "internal error");
		goto out;
	}
	if (nr.status >= 500 && (err = envelope_last(env, "error")) != NULL &&
	    strncmp(json_object_get_string(field(err, "code")), "llm_", 4) != 0) {
		r->status = nr.status;		/* our own failure */
		free(r->body);
		r->body = nr.body;
		nr.body = NULL;
		goto out;
	}
	if ((err = envelope_last(env, "error")) != NULL)
		snprintf(msg, sizeof(msg), "Code generation failed: %s",
		    json_object_get_string(field(err, "message")));
	else {
		code = field(envelope_last(env, "code"), "code");
		seed001_message(w->cfg, json_object_get_string(code),
		    envelope_last(env, "execution"), msg, sizeof(msg));
	}
	seed001_reply(r, id, msg);
out:
	json_object_put(env);
	json_object_put(o);
	free(nr.body);
}
