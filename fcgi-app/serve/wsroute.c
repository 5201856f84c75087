/*
 * wsroute.c: the serving half of workspaces: DELETE /v1/workspace (the
 * execution's workspace item is item.c's).  The request side (whose, which
 * session, the lease) is the core's (core/workspace.c); the mechanism is
 * the store's (sandbox/host/store.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "sandbox.h"
#include "store.h"

/*
 * DELETE /v1/workspace: the client's workspace of the session named by
 * the body's "session_id" or the Pyexec-Session-Id header (else
 * "default").  200, 404 (none), 409 (in use), 400 (workspaces off).
 */
void
route_workspace(struct exchange *x)
{
	struct core_env	*env = x->env;
	struct task	*t = &x->task;
	struct field_error e;
	struct ws_req	 q;
	struct ws_reply	 r;
	struct json_object *items, *it;
	char		 msg[400];
	int		 fd;

	if (x->len > 0 && request_parse(&request_workspace, x->body, x->len,
	    env->cfg, &x->req, &e) != PYEXEC_OK) {
		request_native_text(&e, msg, sizeof(msg));
		exchange_error(x, e.kind == FK_NOMEM ? 500 : 400, "%s", msg);
		return;
	}
	x->req.ws = WS_ALWAYS;
	if (!env->cfg->workspaces || env->store < 0) {
		exchange_error(x, 400, "workspaces are off on this service "
		    "(PYEXEC_WORKSPACES=0)");
		return;
	}
	if (!workspace_wanted(env, t)) {
		exchange_task_error(x);
		return;
	}
	ws_req_fill(&q, WS_DELETE, t->client, t->session, false);
	if (ws_call(env->store, &q, &r, &fd, WORKSPACE_CALL_MS) != 0) {
		log_msg("error", "workspace", "slot %u: the store did not answer: "
		    "%s", env->id, strerror(errno));
		exchange_error(x, 500, "the workspace store did not answer");
		return;
	}
	if (fd >= 0)
		close(fd);
	if (r.status == WS_NOT_FOUND) {
		exchange_error(x, 404, "no workspace '%s' for this client",
		    t->session);
		return;
	}
	if (r.status != WS_OK) {
		workspace_refused(env, t, &r);
		exchange_task_error(x);
		return;
	}
	items = json_object_new_array();
	it = json_object_new_object();
	json_object_object_add(it, "type", json_object_new_string("workspace"));
	json_object_object_add(it, "session_id", json_object_new_string(t->session));
	json_object_object_add(it, "deleted", json_object_new_boolean(1));
	json_object_array_add(items, it);
	exchange_answer(x, items);
}
