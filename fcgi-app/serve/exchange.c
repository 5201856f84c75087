/*
 * exchange.c: one object per exchange (a FastCGI request and its answer),
 * made by the worker for each request and freed in one place,
 * exchange_free(), as slowcgi's cleanup_request(); and the ways a route
 * answers through it.  Below the routes: routes.c and seeds.c answer
 * through it, the worker's loop frees it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

void
exchange_free(struct exchange *x)
{
	free(x->body);
	free(x->answer);
	request_free(&x->req);
	task_free(&x->task);
	x->body = x->answer = NULL;
}

/* Answers o (taken) with status, as plain JSON. */
void
exchange_json(struct exchange *x, int status, struct json_object *o)
{
	free(x->answer);
	x->status = status;
	x->answer = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* What a 4xx refused, for the request's log line (never a value of the
 * body: a field's name and pyexec's own words). */
void
exchange_why(struct exchange *x, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
}

/* Answers the native error envelope with status and the message. */
void
exchange_error(struct exchange *x, int status, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status >= 400 && status < 500 && x->why[0] == '\0')
		exchange_why(x, "%s", msg);
	free(x->answer);
	x->status = status;
	x->answer = envelope_error(x->id, x->code != NULL ? x->code :
	    envelope_error_code(status), msg);
}

/* A task that failed, in the native error envelope: the model's failure
 * (502, 503, 504 by llm_err_status()), the sandbox's (500), the budget's
 * (504).  Every route, native or seed, answers these the same way. */
void
exchange_task_error(struct exchange *x)
{
	const struct task	*t = &x->task;

	free(x->answer);
	switch (t->fail) {
	case TASK_FAIL_LLM:
		x->status = llm_err_status(t->llm);
		x->answer = envelope_error(x->id, llm_err_code(t->llm), t->why);
		return;
	case TASK_FAIL_BUDGET:
		x->status = 504;
		x->answer = envelope_error(x->id, "time_budget", t->why);
		return;
	case TASK_FAIL_WORKSPACE:
		x->status = t->ws_status;
		x->answer = envelope_error(x->id, t->ws_code != NULL ?
		    t->ws_code : envelope_error_code(t->ws_status), t->why);
		x->retry_after = t->ws_retry_after;
		return;
	default:
		x->status = 500;
		x->answer = envelope_error(x->id, envelope_error_code(500),
		    t->why);
		return;
	}
}

/* The envelope of a task that did not fail: items (taken). */
void
exchange_answer(struct exchange *x, struct json_object *items)
{
	const struct task_attempt *a = task_last(&x->task);

	x->status = 200;
	x->outcome = x->task.rejected_by != NULL ? "rejected" :
	    a != NULL && a->ran ? run_outcome_name(a->rr.outcome) : NULL;
	x->answer = item_envelope(x->id, items);
}
