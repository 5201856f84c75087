/*
 * generate.c: the routes that ask the LLM.
 *
 *   POST /v1/generate-and-execute   the model writes and reviews the code
 *                                    in one call; unsafe -> "rejected";
 *                                    otherwise it runs in the sandbox like
 *                                    any code, and on an error the failure
 *                                    goes back for a fix (max_attempts).
 *   validate_code on /v1/execute     one review call before the run.
 *
 * Generated code is untrusted code: it runs in the same sandbox as any
 * other.  Everything the model says is passed through extract_redact()
 * first, so the LLM key can never run, be returned or be logged.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyexec.h"
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

/* The execution item of code that did not run. */
struct json_object *
rejected_item(const struct run_params *p, const char *reason,
    struct json_object *concerns)
{
	struct run_result	 none;
	struct json_object	*it, *rej;

	memset(&none, 0, sizeof(none));
	none.exit_code = -1;
	it = execution_item(&none, p, NULL);
	json_object_object_add(it, "outcome", json_object_new_string("rejected"));
	rej = json_object_new_object();
	json_object_object_add(rej, "reason", json_object_new_string(reason));
	json_object_object_add(rej, "concerns", concerns != NULL ?
	    json_object_get(concerns) : json_object_new_array());
	json_object_object_add(it, "rejection", rej);
	return it;
}

/* The concerns (a JSON array, may be NULL) as one line "a; b", in buf. */
void
concerns_line(struct json_object *concerns, char *buf, size_t len)
{
	size_t	i, n = concerns ? json_object_array_length(concerns) : 0;
	size_t	o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%.200s", i ? "; " : "",
		    json_object_get_string(json_object_array_get_idx(concerns, i)));
}

/*
 * The review of validate_code.  Returns the validation item (caller owns
 * it); *rejected and *concerns (caller puts) say whether the code may run.
 * A model that cannot answer does not block the run: status "skipped".
 */
struct json_object *
generate_review(struct worker *w, const char *code, bool *rejected,
    struct json_object **concerns)
{
	struct llm_msg		 msgs[2] = { { "system", review_system },
				    { "user", code } };
	struct llm_reply	 rep = { 0 };
	struct json_object	*it = json_object_new_object();
	char			 err[512], reason[600], *text = NULL;
	enum llm_err		 e;
	bool			 safe = true;

	*rejected = false;
	*concerns = NULL;
	e = llm_chat(w->cfg, msgs, 2, &rep, err, sizeof(err));
	if (e == LLM_OK && ((text = extract_redact(rep.content,
	    w->cfg->llm_key)) == NULL ||
	    extract_review(text, &safe, concerns) != PYEXEC_OK)) {
		e = LLM_BAD_RESPONSE;
		snprintf(err, sizeof(err), "the review has no {\"safe\": ...} object");
	}
	json_object_object_add(it, "type", json_object_new_string("validation"));
	if (e != LLM_OK) {
		snprintf(reason, sizeof(reason), "%s: %s", llm_err_code(e), err);
		json_object_object_add(it, "status", json_object_new_string("skipped"));
		json_object_object_add(it, "concerns", json_object_new_array());
		json_object_object_add(it, "reason", json_object_new_string(reason));
	} else {
		*rejected = !safe;
		json_object_object_add(it, "status",
		    json_object_new_string(safe ? "passed" : "rejected"));
		json_object_object_add(it, "concerns", json_object_get(*concerns));
		json_object_object_add(it, "reason", NULL);
	}
	json_object_object_add(it, "model", json_object_new_string(w->cfg->llm_model));
	free(text);
	llm_reply_free(&rep);
	return it;
}

/* One attempt's model call and extraction; the text is redacted. */
static enum llm_err
generate_ask(struct worker *w, const struct llm_msg *msgs, size_t n,
    struct llm_reply *rep, char **text, struct llm_code *code, char *err,
    size_t errlen)
{
	enum llm_err	e;

	*text = NULL;
	memset(code, 0, sizeof(*code));
	if ((e = llm_chat(w->cfg, msgs, n, rep, err, errlen)) != LLM_OK)
		return e;
	if ((*text = extract_redact(rep->content, w->cfg->llm_key)) == NULL ||
	    extract_code(*text, code) != PYEXEC_OK) {
		snprintf(err, errlen, "the model's answer holds no code (neither "
		    "a JSON object with \"code\" nor a fenced block)");
		return LLM_BAD_RESPONSE;
	}
	return LLM_OK;
}

static struct json_object *
code_item(const struct worker *w, const struct llm_code *c, unsigned attempt)
{
	struct json_object	*it = json_object_new_object();

	json_object_object_add(it, "type", json_object_new_string("code"));
	json_object_object_add(it, "language", json_object_new_string("python"));
	json_object_object_add(it, "code", json_bytes(c->code, strlen(c->code)));
	json_object_object_add(it, "explanation", c->explanation ?
	    json_bytes(c->explanation, strlen(c->explanation)) : NULL);
	json_object_object_add(it, "model", json_object_new_string(w->cfg->llm_model));
	json_object_object_add(it, "attempt", json_object_new_int((int)attempt));
	return it;
}

/*
 * The last at most max bytes of p, cut on a character boundary and made
 * valid UTF-8 (invalid bytes become U+FFFD), NUL-free: what may go into a
 * prompt.  Returned malloc'd (the caller frees it), or NULL.
 */
char *
generate_tail(const char *p, size_t len, size_t max)
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

/* The message that sends a failure back to the model for a fix. */
static char *
repair_message(const struct run_result *rr, struct json_object *exc)
{
	char	*msg, *tail;

	if ((tail = generate_tail(rr->err != NULL ? rr->err : "", rr->err_len,
	    REPAIR_TAIL)) == NULL)
		return NULL;
	if (asprintf(&msg, "The program failed (exit status %d).\n%s%s\n"
	    "stderr (last %d bytes):\n%s\nAnswer with the same JSON object, "
	    "with the fixed program.", rr->exit_code,
	    exc ? "Exception: " : "", exc ?
	    json_object_to_json_string_ext(exc, JSON_C_TO_STRING_PLAIN) : "",
	    REPAIR_TAIL, tail) < 0)
		msg = NULL;
	free(tail);
	return msg;
}

static struct json_object *
usage_item(const struct worker *w, const struct llm_reply *rep)
{
	struct json_object	*it = json_object_new_object();
	char			 ms[32];

	snprintf(ms, sizeof(ms), "%.3f", rep->ms);
	json_object_object_add(it, "type", json_object_new_string("usage"));
	json_object_object_add(it, "model", json_object_new_string(w->cfg->llm_model));
	json_object_object_add(it, "llm_ms", json_object_new_double_s(rep->ms, ms));
	json_object_object_add(it, "prompt_tokens",
	    json_object_new_int64(rep->prompt_tokens));
	json_object_object_add(it, "completion_tokens",
	    json_object_new_int64(rep->completion_tokens));
	json_object_object_add(it, "llm_calls", json_object_new_int((int)rep->calls));
	return it;
}

/* The conversation of one request: system, query, then repairs. */
struct convo {
	struct llm_msg	 msg[2 + 2 * 3];
	char		*owned[2 * 3];	/* texts we allocated */
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

/* Runs one attempt's code.  -1: the slot failed (logged). */
static int
generate_run(struct worker *w, const struct exec_request *req,
    const char *code, struct run_result *rr, struct json_object **exc,
    struct json_object **result, struct run_params *p)
{
	*p = (struct run_params){ .code = code, .code_len = strlen(code),
	    .stdin_data = NULL, .stdin_len = 0, .timeout = req->timeout,
	    .memory_bytes = req->memory_bytes, .cpu_limit = req->cpu_limit,
	    .max_output = w->cfg->max_output, .mode = RUN_MODE_SCRIPT,
	    .unwrap = false };
	*exc = *result = NULL;
	if (worker_run(w, p, rr) != 0)
		return -1;
	report_parse(rr, exc, result);
	return 0;
}

void
route_generate(struct worker *w, const char *body, size_t len, const char *id,
    struct reply *r)
{
	struct exec_request	 req;
	struct convo		 cv = { .n = 0 };
	struct llm_reply	 rep = { 0 };
	struct llm_code		 code;
	struct run_result	 rr;
	struct run_params	 p;
	struct json_object	*items = json_object_new_array(), *exc, *text;
	struct json_object	*result;
	char			 msg[1024] = "", err[512] = "", *answer = NULL;
	unsigned		 attempt;
	enum llm_err		 e;

	if (request_parse_generate(body, len, w->cfg, &req, msg,
	    sizeof(msg)) != PYEXEC_OK) {
		reply_error(r, 400, id, "%s", msg);
		goto out;
	}
	/* The summary comes first; its message is set at the end. */
	text = json_object_new_object();
	json_object_object_add(text, "type", json_object_new_string("text"));
	json_object_array_add(items, text);
	cv.msg[cv.n++] = (struct llm_msg){ "system", generate_system };
	cv.msg[cv.n++] = (struct llm_msg){ "user", req.query };
	for (attempt = 1; attempt <= req.max_attempts; attempt++) {
		e = generate_ask(w, cv.msg, cv.n, &rep, &answer, &code, err,
		    sizeof(err));
		if (e != LLM_OK) {
			extract_free(&code);
			free(answer);
			answer = NULL;
			if (attempt == 1) {
				r->status = llm_err_status(e);
				free(r->body);
				r->body = envelope_error(id, llm_err_code(e), err);
				goto out;
			}
			snprintf(msg, sizeof(msg), "The fix of attempt %u failed "
			    "(%s: %s); the last attempt stands.", attempt,
			    llm_err_code(e), err);
			break;
		}
		json_object_array_add(items, code_item(w, &code, attempt));
		if (!code.safe) {
			struct json_object *it;
			char line[800];

			p = (struct run_params){ .code = code.code,
			    .code_len = strlen(code.code), .stdin_data = NULL,
			    .stdin_len = 0, .timeout = req.timeout,
			    .memory_bytes = req.memory_bytes,
			    .cpu_limit = req.cpu_limit,
			    .max_output = w->cfg->max_output,
			    .mode = RUN_MODE_SCRIPT, .unwrap = false };
			it = rejected_item(&p, "the model judged the task unsafe",
			    code.concerns);
			json_object_object_add(it, "attempt", json_object_new_int((int)attempt));
			json_object_array_add(items, it);
			concerns_line(code.concerns, line, sizeof(line));
			snprintf(msg, sizeof(msg), "Rejected: the model judged the "
			    "task unsafe%s%s.", *line ? ": " : "", line);
			r->outcome = "rejected";
			extract_free(&code);
			break;
		}
		if (generate_run(w, &req, code.code, &rr, &exc, &result, &p) != 0) {
			reply_error(r, 500, id, "the sandbox failed; the request "
			    "was not run to completion");
			extract_free(&code);
			goto out;
		}
		{
			struct json_object *it = execution_item(&rr, &p, exc);

			json_object_object_add(it, "attempt",
			    json_object_new_int((int)attempt));
			json_object_object_add(it, "result", result);
			json_object_array_add(items, it);
		}
		summary(&rr, exc, &p, msg, sizeof(msg));
		r->outcome = run_outcome_name(rr.outcome);
		if (rr.outcome == RUN_ERROR && attempt < req.max_attempts &&
		    cv.nowned + 2 <= sizeof(cv.owned) / sizeof(cv.owned[0])) {
			char *fix = repair_message(&rr, exc);

			convo_add(&cv, "assistant", answer);
			answer = NULL;
			if (fix != NULL)
				convo_add(&cv, "user", fix);
		} else
			attempt = req.max_attempts;	/* done */
		json_object_put(exc);
		run_result_free(&rr);
		extract_free(&code);
		free(answer);
		answer = NULL;
	}
	json_object_object_add(text, "message", json_bytes(msg, strlen(msg)));
	json_object_array_add(items, usage_item(w, &rep));
	r->status = 200;
	free(r->body);
	r->body = success_envelope(id, items);
	items = NULL;
out:
	json_object_put(items);
	free(answer);
	convo_free(&cv);
	llm_reply_free(&rep);
	request_free(&req);
}
