/*
 * workspace.c: the request side of workspaces (the mechanism is the
 * store's, sandbox/host/store.c).
 *
 *   Who:    the client, from nginx: the API key's name (PYEXEC_CLIENT,
 *           "k:<fingerprint>"), or "anonymous" for a keyless request from
 *           an address in PYEXEC_ANONYMOUS_FROM, whose scope is then
 *           "a:<the address>".  A client's workspaces are never another's.
 *   Which:  the session, from the body's "session_id" or the header
 *           Pyexec-Session-Id (both: they must agree).
 *   When:   the route's table says (enum ws_policy): seed 003 always (its
 *           session, or "default"), the native routes when a session is
 *           named, the other seeds never.
 *
 * Per run: WS_ATTACH (waiting while another request holds the workspace,
 * within PYEXEC_WORKSPACE_WAIT and the request's budget), the clone goes
 * with the run, then WS_USAGE for the execution item.  The lease goes
 * back (WS_RELEASE) once the request's last run is over (every process of
 * it killed), before the answer (worker.c).  Nothing here ever opens a
 * path in a workspace.  The route that deletes one and the execution's
 * workspace item are the serving floor's (serve/wsroute.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "sandbox.h"
#include "store.h"

#define WS_POLL_MIN_MS	5	/* a busy workspace: asked again after */
#define WS_POLL_MAX_MS	50

/*
 * The workspace scope of a request, into scope ("" when it has none):
 * nginx's PYEXEC_CLIENT (param) when it is a valid key's name, or
 * "a:<addr>" for "anonymous".  -1 when nginx says anonymous but
 * PYEXEC_ANONYMOUS_FROM does not list the address (the site and the
 * environment disagree: refuse).
 */
int
workspace_client(const struct pyexec_config *c, const char *param,
    bool key_valid, const char *addr, char *scope, size_t len)
{
	unsigned char	 a[16];
	char		 text[INET6_ADDRSTRLEN];

	scope[0] = '\0';
	if (param == NULL || *param == '\0')
		return 0;
	if (strcmp(param, "anonymous") != 0) {
		if (key_valid && ws_client_ok(param))
			snprintf(scope, len, "%s", param);
		return 0;
	}
	if (key_valid || addr == NULL || *c->anonymous_from == '\0' ||
	    !metrics_allowed(c->anonymous_from, addr))
		return -1;
	if (inet_pton(AF_INET, addr, a) == 1)
		inet_ntop(AF_INET, a, text, sizeof(text));
	else if (inet_pton(AF_INET6, addr, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, 12) == 0)
			inet_ntop(AF_INET, a + 12, text, sizeof(text));
		else
			inet_ntop(AF_INET6, a, text, sizeof(text));
	} else
		return -1;
	snprintf(scope, len, "a:%s", text);
	return ws_client_ok(scope) ? 0 : -1;
}

static void
ws_fail(struct task *t, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ws_fail(struct task *t, int status, const char *fmt, ...)
{
	va_list	ap;

	t->fail = TASK_FAIL_WORKSPACE;
	t->ws_status = status;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

/*
 * Whether the task runs in a workspace: t->session set (true), or not
 * (false; t->fail set when the request cannot run as asked).
 */
bool
workspace_wanted(struct core_env *env, struct task *t)
{
	const struct exec_request *r = t->req;
	const char	*h = t->session_hdr;

	if (t->session[0] != '\0')
		return true;
	if (r->ws == WS_NEVER)
		return false;
	if (h != NULL && *h != '\0' && !ws_session_ok(h)) {
		ws_fail(t, 400, "Pyexec-Session-Id header: 1 to %d of A-Z a-z "
		    "0-9 . _ - (not . or ..)", WS_NAME_MAX);
		return false;
	}
	if (h != NULL && *h != '\0' && r->session[0] != '\0' &&
	    strcmp(h, r->session) != 0) {
		ws_fail(t, 400, "session_id: differs from the Pyexec-Session-Id "
		    "header");
		return false;
	}
	snprintf(t->session, sizeof(t->session), "%s", r->session[0] ?
	    r->session : h != NULL ? h : "");
	if (t->session[0] == '\0' && r->ws == WS_ALWAYS)
		snprintf(t->session, sizeof(t->session), WS_DEFAULT_SESSION);
	if (t->session[0] == '\0')
		return false;
	if (!env->cfg->workspaces || env->store < 0) {
		if (r->ws == WS_ALWAYS) {
			t->session[0] = '\0';	/* seed 003 as before */
			return false;
		}
		ws_fail(t, 400, "session_id: workspaces are off on this service "
		    "(PYEXEC_WORKSPACES=0)");
		t->session[0] = '\0';
		return false;
	}
	if (t->client == NULL || *t->client == '\0') {
		log_msg("error", "workspace", "nginx sent no PYEXEC_CLIENT for a "
		    "request with a workspace; see nginx/README.md");
		ws_fail(t, 500, "the service cannot tell whose workspace this "
		    "is (its nginx site sends no PYEXEC_CLIENT)");
		t->session[0] = '\0';
		return false;
	}
	return true;
}

/* The store's answer r in words, as the task's failure. */
void
workspace_refused(struct core_env *env, struct task *t, const struct ws_reply *r)
{
	const struct pyexec_config *c = env->cfg;
	enum ws_status	 st = (enum ws_status)r->status;

	switch (st) {
	case WS_BUSY:
		ws_fail(t, 409, "workspace '%s' is in use by another request "
		    "(the requests of one workspace run one at a time); retry, "
		    "or use another session_id", t->session);
		t->ws_retry_after = 1;
		break;
	case WS_RATE:
		ws_fail(t, 429, "this client makes workspaces faster than the "
		    "service allows (PYEXEC_WORKSPACE_CREATE_RATE: %u a minute, "
		    "%u at once); retry in %u s, or reuse a session_id",
		    c->ws_create_rate, c->ws_create_burst, r->retry_s);
		t->ws_retry_after = r->retry_s > 0 ? r->retry_s : 1;
		break;
	case WS_CLIENT_LIMIT:
		ws_fail(t, 507, "this client has %u workspaces "
		    "(PYEXEC_WORKSPACES_PER_CLIENT): delete one with DELETE "
		    "/v1/workspace or let one expire", c->ws_per_client);
		break;
	case WS_TOTAL_LIMIT:
		ws_fail(t, 507, "the service holds its %u workspaces "
		    "(PYEXEC_WORKSPACES_MAX); retry once some expire",
		    c->ws_max_total);
		break;
	case WS_NO_SPACE:
		ws_fail(t, 507, "the workspace store's disk has too little free "
		    "space for this workspace to grow to its full size "
		    "(PYEXEC_WORKSPACE_MAX_BYTES) and keep its floor "
		    "(PYEXEC_WORKSPACE_MIN_FREE); retry later");
		break;
	default:
		log_msg("error", "workspace", "slot %u: the store answered %s",
		    env->id, ws_status_name(st));
		ws_fail(t, 500, "the workspace store failed; the request was not "
		    "run");
		break;
	}
}

/* A request to the store (also the self-test's). */
void
ws_req_fill(struct ws_req *q, enum ws_op op, const char *client,
    const char *session, bool create)
{
	memset(q, 0, sizeof(*q));
	q->op = op;
	q->create = create;
	snprintf(q->client, sizeof(q->client), "%s", client);
	snprintf(q->session, sizeof(q->session), "%s", session);
}

/*
 * Before attempt a runs: the workspace leased to this slot and a clone of
 * it in a->p (a->p.workspace_fd is ours until workspace_after_run()).
 * 0 (with or without a workspace), -1 (t->fail set).
 */
int
workspace_attach(struct core_env *env, struct task *t, struct task_attempt *a)
{
	struct ws_req	 q;
	struct ws_reply	 r;
	int		 fd, wait = WS_POLL_MIN_MS;
	int64_t		 until;

	if (!workspace_wanted(env, t))
		return t->fail == TASK_OK ? 0 : -1;
	until = clock_mono_ms() + (int64_t)env->cfg->ws_wait * 1000;
	if (until > t->deadline_ms - config_run_ms(a->p.timeout))
		until = t->deadline_ms - config_run_ms(a->p.timeout);
	ws_req_fill(&q, WS_ATTACH, t->client, t->session, true);
	for (;;) {
		if (ws_call(env->store, &q, &r, &fd, WORKSPACE_CALL_MS) != 0) {
			log_msg("error", "workspace", "slot %u: the store did not "
			    "answer: %s", env->id, strerror(errno));
			ws_fail(t, 500, "the workspace store did not answer; the "
			    "request was not run");
			return -1;
		}
		if ((r.status == WS_OK || r.status == WS_CREATED) && fd >= 0)
			break;
		if (fd >= 0)
			close(fd);
		if (r.status != WS_BUSY || clock_mono_ms() + wait > until) {
			workspace_refused(env, t, &r);
			return -1;
		}
		usleep((useconds_t)wait * 1000);
		wait = wait * 2 > WS_POLL_MAX_MS ? WS_POLL_MAX_MS : wait * 2;
	}
	env->ws_leased = true;
	a->ws = true;
	a->ws_created = r.status == WS_CREATED;
	a->ws_usage = r.u;
	a->p.workspace = true;
	a->p.workspace_fd = fd;
	return 0;
}

/* After attempt a ran: our copy of the clone goes, the usage comes. */
void
workspace_after_run(struct core_env *env, struct task_attempt *a)
{
	struct ws_req	 q;
	struct ws_reply	 r;
	int		 fd;

	if (!a->ws)
		return;
	if (a->p.workspace_fd >= 0)
		close(a->p.workspace_fd);
	a->p.workspace_fd = -1;
	ws_req_fill(&q, WS_USAGE, "", "", false);
	if (ws_call(env->store, &q, &r, &fd, WORKSPACE_CALL_MS) == 0 &&
	    r.status == WS_OK)
		a->ws_usage = r.u;
	if (fd >= 0)
		close(fd);
}

/*
 * The run did not start: its workspace could not be entered (run.c,
 * RUN_NO_WORKSPACE).  The client's error, never the slot's: 409
 * workspace_unusable, without Retry-After (the same request would meet
 * the same workspace).  The store resets the workspace's root at every
 * attach, so no earlier run's chmod or ACL gets here.
 */
void
workspace_unusable(struct core_env *env, struct task *t, const char *err)
{
	log_msg("warning", "workspace", "slot %u: %s", env->id, err);
	ws_fail(t, 409, "workspace '%s' could not be entered, so the code did "
	    "not run; delete it with DELETE /v1/workspace, or use another "
	    "session_id", t->session);
	t->ws_code = "workspace_unusable";
}

/* Once the request's runs are over: the next request may have it. */
void
workspace_release(struct core_env *env)
{
	struct ws_req	 q;
	struct ws_reply	 r;
	int		 fd;

	if (env->store < 0)
		return;
	ws_req_fill(&q, WS_RELEASE, "", "", false);
	if (ws_call(env->store, &q, &r, &fd, WORKSPACE_CALL_MS) == 0 && fd >= 0)
		close(fd);
	env->ws_leased = false;
}
