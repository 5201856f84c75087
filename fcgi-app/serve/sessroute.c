/*
 * sessroute.c: the serving half of live sessions: /v1/sessions (create,
 * list), /v1/sessions/{session_id} (state, delete) and
 * /v1/sessions/{session_id}/execute (a call: the native envelope).  The
 * request side is the core's (core/session.c); the mechanism is the
 * keeper's (sandbox/host/session.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "serve.h"
#include "sandbox.h"
#include "session.h"

/* Unix seconds as RFC 3339 UTC. */
static struct json_object *
sess_time(int64_t t)
{
	char		buf[32];
	struct tm	tm;
	time_t		tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

/* The session item: what GET answers, and what create and a call add. */
static struct json_object *
sess_item(const struct pyexec_config *c, const struct ss_info *i,
    const char *state)
{
	struct json_object *it = json_object_new_object(), *lim;

	json_object_object_add(it, "type", json_object_new_string("session"));
	json_object_object_add(it, "session_id", json_object_new_string(i->name));
	json_object_object_add(it, "state", json_object_new_string(state != NULL ?
	    state : i->state == SS_STATE_RUNNING ? "busy" : "idle"));
	json_object_object_add(it, "created", sess_time(i->created));
	json_object_object_add(it, "last_used", sess_time(i->used));
	json_object_object_add(it, "expires_at", sess_time(i->expires));
	json_object_object_add(it, "memory_bytes",
	    json_object_new_int64((int64_t)i->memory_usage));
	json_object_object_add(it, "calls", json_object_new_int((int)i->calls));
	lim = json_object_new_object();
	json_object_object_add(lim, "memory_bytes",
	    json_object_new_int64((int64_t)i->memory_bytes));
	json_object_object_add(lim, "cpu", json_object_new_double(i->cpu));
	json_object_object_add(lim, "idle_timeout",
	    json_object_new_int((int)i->idle_s));
	json_object_object_add(lim, "max_age", json_object_new_int((int)c->ss_max_age));
	json_object_object_add(lim, "max_timeout",
	    json_object_new_double(c->max_timeout));
	json_object_object_add(it, "limits", lim);
	return it;
}

/* Sessions on, and whose: false (answered) if the request cannot have one. */
static bool
sess_ready(struct exchange *x)
{
	const struct pyexec_config *c = x->env->cfg;

	if (!c->sessions || !c->workspaces || !c->warm || x->env->store < 0) {
		exchange_error(x, 400, "live sessions are off on this service "
		    "(they need PYEXEC_SESSIONS=1, PYEXEC_WORKSPACES=1 and "
		    "PYEXEC_WARM=1: a session is a warm interpreter)");
		return false;
	}
	if (x->client[0] == '\0') {
		log_msg("error", "session", "nginx sent no PYEXEC_CLIENT for a "
		    "session request; see nginx/README.md");
		exchange_error(x, 500, "the service cannot tell whose session "
		    "this is (its nginx site sends no PYEXEC_CLIENT)");
		return false;
	}
	return true;
}

static void
sess_fail(struct exchange *x, int status, const char *why)
{
	if (status == 409)
		x->code = strstr(why, "exists") != NULL ? "session_exists" :
		    "session_busy";
	exchange_error(x, status, "%s", why);
	if (status == 409 && strcmp(x->code, "session_busy") == 0)
		x->retry_after = 1;
}

/* POST /v1/sessions: 201 and the session item. */
static void
sess_create(struct exchange *x)
{
	struct field_error	 e;
	struct ss_info		 i;
	struct json_object	*items;
	char			 msg[512];
	int			 st;

	if (request_parse(&request_session_create, x->len > 0 ? x->body : "{}",
	    x->len > 0 ? x->len : 2, x->env->cfg, &x->req, &e) != PYEXEC_OK) {
		request_native_text(&e, msg, sizeof(msg));
		exchange_error(x, e.kind == FK_NOMEM ? 500 : 400, "%s", msg);
		return;
	}
	if ((st = session_create(x->env, x->client, &x->req, false, &i, msg,
	    sizeof(msg))) != 0) {
		sess_fail(x, st, msg);
		return;
	}
	snprintf(x->session_id, sizeof(x->session_id), "%.64s", i.name);
	items = json_object_new_array();
	json_object_array_add(items, sess_item(x->env->cfg, &i, "idle"));
	exchange_answer(x, items);
	x->status = 201;
}

/* The client's sessions (the caller frees them), or NULL (answered). */
static struct ss_reply *
sess_fetch(struct exchange *x)
{
	struct ss_reply	*r = calloc(1, sizeof(*r));
	char		 msg[300];
	int		 st;

	if (r == NULL) {
		exchange_error(x, 500, "out of memory");
		return NULL;
	}
	if ((st = session_list(x->env, x->client, r, msg, sizeof(msg))) != 0) {
		exchange_error(x, st, "%s", msg);
		free(r);
		return NULL;
	}
	return r;
}

/* GET /v1/sessions: the client's sessions. */
static void
sess_list(struct exchange *x)
{
	struct ss_reply		*r;
	struct json_object	*items;
	unsigned		 k;

	if ((r = sess_fetch(x)) == NULL)
		return;
	items = json_object_new_array();
	for (k = 0; k < r->count; k++)
		json_object_array_add(items, sess_item(x->env->cfg, &r->s[k],
		    NULL));
	free(r);
	exchange_answer(x, items);
}

/* /v1/sessions: GET lists, POST creates. */
void
route_sessions(struct exchange *x)
{
	if (!sess_ready(x))
		return;
	if (strcmp(x->method, "POST") == 0)
		sess_create(x);
	else
		sess_list(x);
}

/* /v1/sessions/{id}: GET its state, DELETE it (?keep_files=1 keeps its
 * workspace). */
void
route_session(struct exchange *x)
{
	struct ss_reply		*r;
	struct json_object	*items, *it;
	char			 msg[300];
	unsigned		 k;
	int			 st;
	bool			 keep = x->query != NULL &&
				    strstr(x->query, "keep_files=1") != NULL;

	if (!sess_ready(x))
		return;
	if (strcmp(x->method, "DELETE") == 0) {
		if ((st = session_delete(x->env, x->client, x->session_id, keep,
		    msg, sizeof(msg))) != 0) {
			sess_fail(x, st, msg);
			return;
		}
		items = json_object_new_array();
		it = json_object_new_object();
		json_object_object_add(it, "type", json_object_new_string("session"));
		json_object_object_add(it, "session_id",
		    json_object_new_string(x->session_id));
		json_object_object_add(it, "state", json_object_new_string("ended"));
		json_object_object_add(it, "files_kept",
		    json_object_new_boolean(keep));
		json_object_array_add(items, it);
		exchange_answer(x, items);
		return;
	}
	if ((r = sess_fetch(x)) == NULL)
		return;
	for (k = 0; k < r->count; k++)
		if (strcmp(r->s[k].name, x->session_id) == 0)
			break;
	if (k == r->count) {
		free(r);
		exchange_error(x, 404, "no live session '%s' for this client (it "
		    "may have expired or ended: create it again)", x->session_id);
		return;
	}
	items = json_object_new_array();
	json_object_array_add(items, sess_item(x->env->cfg, &r->s[k], NULL));
	free(r);
	exchange_answer(x, items);
}

/* POST /v1/sessions/{id}/execute: the body of POST /v1/execute, run in
 * the session: text, [validation], execution (with "session": "live" or
 * "lost"), its displays and artifacts, and the session item. */
void
route_session_execute(struct exchange *x)
{
	struct task		*t = &x->task;
	struct session_lease	 l;
	struct field_error	 e;
	struct json_object	*items, *ex;
	char			 msg[1024];
	int			 st;

	if (!sess_ready(x))
		return;
	if (request_parse(&request_execute, x->body, x->len, x->env->cfg,
	    &x->req, &e) != PYEXEC_OK) {
		request_native_text(&e, msg, sizeof(msg));
		exchange_error(x, e.kind == FK_NOMEM ? 500 : 400, "%s", msg);
		return;
	}
	if (x->req.session[0] != '\0' && strcmp(x->req.session,
	    x->session_id) != 0) {
		exchange_error(x, 400, "session_id: differs from the path's");
		return;
	}
	x->req.session[0] = '\0';	/* the session's workspace is mounted */
	if ((st = session_attach(x->env, x->client, x->session_id,
	    t->deadline_ms, &l, msg, sizeof(msg))) != 0) {
		sess_fail(x, st, msg);
		return;
	}
	t->live = &l.rs;
	t->cell = l.info.calls + 1;
	stream_follow(x);
	task_execute(x->env, t);
	session_release(&l, t->session_lost, true);
	t->live = NULL;
	if (t->fail != TASK_OK) {
		exchange_task_error(x);
		return;
	}
	item_summary(t, msg, sizeof(msg));
	items = json_object_new_array();
	json_object_array_add(items, item_text(msg));
	if (t->review != TASK_REVIEW_NONE)
		json_object_array_add(items, item_validation(x->env->cfg, t));
	ex = t->rejected_by != NULL ? item_rejected(t, &t->at[0], 0) :
	    item_execution(t, &t->at[0], 0);
	json_object_object_add(ex, "session", json_object_new_string(
	    t->session_lost ? "lost" : "live"));
	json_object_array_add(items, ex);
	item_displays(items, &t->at[0], 0);
	item_artifacts(items, &t->at[0], 0);
	json_object_array_add(items, sess_item(x->env->cfg, &l.info,
	    t->session_lost ? "ended" : "idle"));
	exchange_answer(x, items);
}

/* POST /v1/sessions/{id}/fork: 201, the copy's session item and a fork
 * item (what was copied, what was left out). */
void
route_session_fork(struct exchange *x)
{
	struct field_error	 e;
	struct session_fork	 f;
	struct json_object	*items, *it, *rf, *rt, *v;
	char			 msg[512];
	int			 st;

	if (!sess_ready(x))
		return;
	if (request_parse(&request_session_fork, x->len > 0 ? x->body : "{}",
	    x->len > 0 ? x->len : 2, x->env->cfg, &x->req, &e) != PYEXEC_OK) {
		request_native_text(&e, msg, sizeof(msg));
		exchange_error(x, e.kind == FK_NOMEM ? 500 : 400, "%s", msg);
		return;
	}
	if ((st = session_fork(x->env, x->client, x->session_id, x->req.session,
	    x->task.deadline_ms, &f, msg, sizeof(msg))) != 0) {
		sess_fail(x, st, msg);
		return;
	}
	rf = json_tokener_parse(f.rep_from);
	rt = json_tokener_parse(f.rep_to);
	free(f.rep_from);
	free(f.rep_to);
	items = json_object_new_array();
	json_object_array_add(items, sess_item(x->env->cfg, &f.info, "idle"));
	it = json_object_new_object();
	json_object_object_add(it, "type", json_object_new_string("fork"));
	json_object_object_add(it, "from", json_object_new_string(x->session_id));
	json_object_object_add(it, "session_id", json_object_new_string(
	    f.info.name));
	json_object_object_add(it, "names", json_object_new_int(
	    rt != NULL && json_object_object_get_ex(rt, "names", &v) ?
	    json_object_get_int(v) : 0));
	json_object_object_add(it, "files", json_object_new_int(
	    rt != NULL && json_object_object_get_ex(rt, "files", &v) ?
	    json_object_get_int(v) : 0));
	json_object_object_add(it, "not_copied",
	    rf != NULL && json_object_object_get_ex(rf, "skipped", &v) &&
	    json_object_is_type(v, json_type_array) ? json_object_get(v) :
	    json_object_new_array());
	json_object_array_add(items, it);
	json_object_put(rf);
	json_object_put(rt);
	exchange_answer(x, items);
	x->status = 201;
}
