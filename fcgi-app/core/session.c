/*
 * session.c: the request side of live sessions (the keeper is
 * sandbox/host/session.c, in the store's process; what a session is:
 * sandbox/host/session.h).
 *
 *   create   SS_CREATE (the keeper makes its cgroup and channel), the
 *            workspace of the same name (WS_ATTACH, idmapped to the
 *            session's uid), its limits written to its cgroup, then
 *            PROTO_RUN_SESSION to this worker's launcher: a spare of the
 *            slot's data zygote becomes the interpreter, says "R";
 *            SS_STARTED; the workspace's lease goes back.  The slot is
 *            free again as soon as the launcher has answered.
 *   call     SS_ATTACH (waiting while another request holds the session,
 *            as a workspace's requests wait), the call (task.c:
 *            run_session_call), SS_RELEASE.
 *   delete   SS_DELETE, then the workspace (WS_DELETE) unless kept.
 *
 * Whose: the client scope of workspaces (workspace.c): a name is looked
 * up with the client, so another client's session is not found (404).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "sandbox.h"
#include "session.h"
#include "store.h"

#define SS_POLL_MS	10	/* a busy session: asked again after */

bool
session_name_ok(const char *name)
{
	return ws_session_ok(name);
}

/* The keeper's refusal st in words; its HTTP status. */
static int
session_refused(const struct pyexec_config *c, enum ss_status st,
    const char *name, char *why, size_t len)
{
	switch (st) {
	case SS_NOT_FOUND:
		snprintf(why, len, "no live session '%s' for this client (it "
		    "may have expired or ended: create it again)", name);
		return 404;
	case SS_EXISTS:
		snprintf(why, len, "a live session '%s' exists already for this "
		    "client", name);
		return 409;
	case SS_BUSY:
		snprintf(why, len, "live session '%s' is running another "
		    "call (a session's calls run one at a time); retry", name);
		return 409;
	case SS_CLIENT_LIMIT:
		snprintf(why, len, "this client has %u live sessions "
		    "(PYEXEC_SESSIONS_PER_CLIENT): delete one with DELETE "
		    "/v1/sessions/{id} or let one expire", c->ss_per_client);
		return 429;
	case SS_TOTAL_LIMIT:
		snprintf(why, len, "the service holds its %u live sessions "
		    "(PYEXEC_SESSIONS_MAX); retry once some end", c->ss_max);
		return 507;
	default:
		snprintf(why, len, "the session keeper failed (%s)",
		    ss_status_name(st));
		return 500;
	}
}

static void
ss_req_fill(struct ss_req *q, enum ss_op op, const char *client,
    const char *name)
{
	memset(q, 0, sizeof(*q));
	q->op = op;
	snprintf(q->client, sizeof(q->client), "%s", client);
	snprintf(q->name, sizeof(q->name), "%s", name);
}

/* One message to the keeper; -1 (logged) if it did not answer. */
static int
session_ask(struct core_env *env, struct ss_req *q, struct ss_reply *r,
    int *fds, int maxfds, int *nfds)
{
	if (ss_call(env->store, q, r, fds, maxfds, nfds, SESSION_CALL_MS) == 0)
		return 0;
	log_msg("error", "session", "slot %u: the session keeper did not "
	    "answer: %s", env->id, strerror(errno));
	return -1;
}

/* The session's cgroup knobs (made by the keeper, the workers' user's). */
static int
session_cgroup(struct core_env *env, const struct ss_info *i,
    struct sb_cgroup *cg)
{
	if (sb_cgroup_locate(cg, env->rs->cg->version, i->cgroup) != 0)
		return -1;
	if (sb_cgroup_open(cg) != 0) {
		sb_cgroup_free(cg);
		return -1;
	}
	return 0;
}

/* The workspace of the session, idmapped to its uid: its clone (or -1
 * and why). */
static int
session_workspace(struct core_env *env, const char *client, const char *name,
    uint32_t uid, int *status, char *why, size_t len)
{
	struct ws_req	q;
	struct ws_reply	r;
	int		fd = -1;

	ws_req_fill(&q, WS_ATTACH, client, name, true);
	q.uid = (uint32_t)(env->cfg->uid_base + 2 * env->cfg->workers) +
	    (uid - SS_UID_INSIDE);
	if (ws_call(env->store, &q, &r, &fd, WORKSPACE_CALL_MS) != 0) {
		*status = 500;
		snprintf(why, len, "the workspace store did not answer");
		return -1;
	}
	if (r.status == WS_OK || r.status == WS_CREATED)
		return fd;
	if (fd >= 0)
		close(fd);
	*status = r.status == WS_BUSY ? 409 : r.status == WS_CLIENT_LIMIT ||
	    r.status == WS_TOTAL_LIMIT || r.status == WS_NO_SPACE ? 507 :
	    r.status == WS_RATE ? 429 : 500;
	snprintf(why, len, "the session's workspace '%s': %s", name,
	    r.status == WS_BUSY ? "in use by another request; retry" :
	    ws_status_name((enum ws_status)r.status));
	return -1;
}

static void
session_ws_release(struct core_env *env)
{
	struct ws_req	q;
	struct ws_reply	r;
	int		fd;

	ws_req_fill(&q, WS_RELEASE, "", "", false);
	if (ws_call(env->store, &q, &r, &fd, WORKSPACE_CALL_MS) == 0 && fd >= 0)
		close(fd);
}

/*
 * POST /v1/sessions: a new live session of client, named req->session
 * (else one the service picks), with req's limits (fork: the copy of a
 * fork, counted so).  0 (info filled), or
 * the HTTP status of the failure (why says it).
 */
int
session_create(struct core_env *env, const char *client,
    const struct exec_request *req, bool fork, struct ss_info *info,
    char *why, size_t len)
{
	const struct pyexec_config *c = env->cfg;
	struct ss_req	 q;
	struct ss_reply	*r = NULL;
	struct sb_cgroup cg;
	struct run_params p;
	int		 fds[2 + PROTO_SESSION_MAX_CG], nfds = 0, i, ws = -1;
	int		 status = 500, rc;
	double		 setup_ms;
	char		 name[WS_NAME_MAX + 1], err[400];

	if (req->session[0] != '\0')
		snprintf(name, sizeof(name), "%s", req->session);
	else {
		unsigned char	b[8];
		FILE		*f = fopen("/dev/urandom", "re");

		if (f == NULL || fread(b, 1, sizeof(b), f) != sizeof(b)) {
			if (f != NULL)
				fclose(f);
			snprintf(why, len, "no random name could be made");
			return 500;
		}
		fclose(f);
		snprintf(name, sizeof(name), "s-%02x%02x%02x%02x%02x%02x%02x%02x",
		    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(why, len, "out of memory");
		return 500;
	}
	ss_req_fill(&q, SS_CREATE, client, name);
	q.memory_bytes = req->memory_bytes;
	q.cpu = req->cpu_limit;
	q.idle_s = req->idle_s > 0 ? req->idle_s : c->ss_idle;
	q.fork = fork;
	if (session_ask(env, &q, r, fds, 2 + PROTO_SESSION_MAX_CG, &nfds) != 0) {
		snprintf(why, len, "the session keeper did not answer");
		goto out;
	}
	if (r->status != SS_OK || r->count != 1 || nfds < 3) {
		status = r->status != SS_OK ? session_refused(c,
		    (enum ss_status)r->status, name, why, len) : 500;
		if (r->status == SS_OK)
			snprintf(why, len, "the session keeper answered badly");
		goto out;
	}
	*info = r->s[0];
	if ((ws = session_workspace(env, client, name, info->uid, &status, why,
	    len)) < 0)
		goto abort;
	if (session_cgroup(env, info, &cg) != 0 ||
	    sb_cgroup_set_memory(&cg, req->memory_bytes) != 0 ||
	    sb_cgroup_set_cpu(&cg, req->cpu_limit) != 0) {
		log_msg("error", "session", "slot %u: the session's cgroup %s: "
		    "%s", env->id, info->cgroup, strerror(errno));
		sb_cgroup_free(&cg);
		snprintf(why, len, "the session's cgroup could not be set up");
		status = 500;
		goto abort;
	}
	sb_cgroup_free(&cg);
	memset(&p, 0, sizeof(p));
	p.workspace = true;
	p.workspace_fd = ws;
	p.proven[0] = env->proven[0];
	p.proven[1] = env->proven[1];
	p.gen[0] = env->proven_gen[0];
	p.gen[1] = env->proven_gen[1];
	env->slot->state = SLOT_BUSY;
	rc = run_session_start(env->rs, &p, fds + 2, nfds - 2, info->uid,
	    fds[1], fds[0], &setup_ms, err, sizeof(err));
	env->slot->state = SLOT_READY;
	if (rc != 0) {
		log_msg("error", "session", "slot %u: %s", env->id, err);
		env->broken = rc < 0;
		status = rc == RUN_NO_WORKSPACE ? 409 : 503;
		snprintf(why, len, "the session could not be started: %s", err);
		goto abort;
	}
	ss_req_fill(&q, SS_STARTED, client, name);
	q.ok = 1;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	nfds = 0;
	if (session_ask(env, &q, r, NULL, 0, &nfds) != 0 || r->status != SS_OK) {
		snprintf(why, len, "the session keeper could not keep the "
		    "session");
		goto out;
	}
	log_msg("info", "session", "slot %u: session %s started (%.1f ms to "
	    "set up)", env->id, name, setup_ms);
	status = 0;
	goto out;
abort:
	ss_req_fill(&q, SS_STARTED, client, name);
	q.ok = 0;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	nfds = 0;
	(void)session_ask(env, &q, r, NULL, 0, &nfds);
out:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ws >= 0) {
		close(ws);
		session_ws_release(env);
	}
	free(r);
	return status;
}

/* The keeper signals the interpreter of the session the lease is for. */
static int
session_signal(void *arg, int sig)
{
	struct session_lease	*l = arg;
	struct ss_req		 q;
	struct ss_reply		*r = calloc(1, sizeof(*r));
	int			 nfds, rc = -1;

	if (r == NULL)
		return -1;
	ss_req_fill(&q, SS_SIGNAL, l->client, l->name);
	q.sig = sig;
	if (session_ask(l->env, &q, r, NULL, 0, &nfds) == 0 &&
	    r->status == SS_OK)
		rc = 0;
	free(r);
	return rc;
}

/*
 * The lease of session name for a call, waiting while another request
 * holds it (up to PYEXEC_WORKSPACE_WAIT and deadline_ms).  0 (l filled:
 * session_release() gives it back), or the HTTP status (why).
 */
int
session_attach(struct core_env *env, const char *client, const char *name,
    int64_t deadline_ms, struct session_lease *l, char *why, size_t len)
{
	struct ss_req	 q;
	struct ss_reply	*r;
	int64_t		 until = clock_mono_ms() + (int64_t)env->cfg->ws_wait * 1000;
	int		 fds[1], nfds = 0, status = 500;
	struct timespec	 ts = { 0, SS_POLL_MS * 1000000L };

	if (until > deadline_ms)
		until = deadline_ms;
	memset(l, 0, sizeof(*l));
	l->chan = -1;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(why, len, "out of memory");
		return 500;
	}
	for (;;) {
		ss_req_fill(&q, SS_ATTACH, client, name);
		if (session_ask(env, &q, r, fds, 1, &nfds) != 0) {
			snprintf(why, len, "the session keeper did not answer");
			goto out;
		}
		if (r->status != SS_BUSY || clock_mono_ms() >= until)
			break;
		nanosleep(&ts, NULL);
	}
	if (r->status != SS_OK || r->count != 1 || nfds != 1) {
		status = session_refused(env->cfg, (enum ss_status)r->status,
		    name, why, len);
		goto out;
	}
	l->chan = fds[0];
	nfds = 0;
	l->info = r->s[0];
	l->env = env;
	l->client = client;
	snprintf(l->name, sizeof(l->name), "%s", name);
	if (session_cgroup(env, &l->info, &l->cg) != 0) {
		log_msg("error", "session", "slot %u: the session's cgroup %s: "
		    "%s", env->id, l->info.cgroup, strerror(errno));
		snprintf(why, len, "the session's cgroup could not be opened");
		session_release(l, false, false);
		goto out;
	}
	l->rs = (struct run_session){ .chan = l->chan, .cg = &l->cg,
	    .signal = session_signal, .arg = l,
	    .grace_ms = (int)env->cfg->ss_grace_ms };
	status = 0;
out:
	if (nfds == 1)
		close(fds[0]);
	free(r);
	return status;
}

/* The lease goes back: the session is frozen again, or, lost, ended. */
void
session_release(struct session_lease *l, bool lost, bool call)
{
	struct ss_req	 q;
	struct ss_reply	*r = calloc(1, sizeof(*r));
	int		 nfds;

	if (l->chan >= 0)
		close(l->chan);
	l->chan = -1;
	sb_cgroup_free(&l->cg);
	if (r == NULL || l->env == NULL)
		goto out;
	ss_req_fill(&q, SS_RELEASE, l->client, l->name);
	q.ok = !lost;
	q.why = SS_END_LOST;
	q.nocall = !call;
	if (session_ask(l->env, &q, r, NULL, 0, &nfds) == 0 && r->count == 1)
		l->info = r->s[0];
	if (lost)
		l->info.state = 0;
out:
	free(r);
}

/*
 * POST /v1/sessions/{from}/fork: a new session (named to, or one the
 * service picks) with from's limits, into which from's names and
 * workspace files are copied (run_session_fork).  Both leases are held
 * while it copies.  0 (f filled; the caller frees its reports) or the
 * HTTP status (why).
 */
int
session_fork(struct core_env *env, const char *client, const char *from,
    const char *to, int64_t deadline_ms, struct session_fork *f, char *why,
    size_t len)
{
	struct session_lease	 a, b;
	struct exec_request	 req;
	char			 err[400];
	int			 st, left, status[2];

	memset(f, 0, sizeof(*f));
	if ((st = session_attach(env, client, from, deadline_ms, &a, why,
	    len)) != 0)
		return st;
	memset(&req, 0, sizeof(req));
	snprintf(req.session, sizeof(req.session), "%s", to);
	req.memory_bytes = a.info.memory_bytes;
	req.cpu_limit = a.info.cpu;
	req.idle_s = a.info.idle_s;
	if ((st = session_create(env, client, &req, true, &f->info, why,
	    len)) != 0) {
		session_release(&a, false, false);
		return st;
	}
	if ((st = session_attach(env, client, f->info.name, deadline_ms, &b,
	    why, len)) != 0) {
		session_release(&a, false, false);
		return st;
	}
	left = (int)(deadline_ms - clock_mono_ms());
	st = run_session_fork(&a.rs, &b.rs, left > 60000 ? 60000 : left,
	    &f->rep_from, &f->rep_to, status, err, sizeof(err));
	session_release(&a, false, false);
	session_release(&b, st != 0 || status[1] != 0, false);
	if (st != 0 || status[0] != 0 || status[1] != 0) {
		log_msg("error", "session", "slot %u: fork of %s: %s", env->id,
		    from, st != 0 ? err : status[0] != 0 ? f->rep_from :
		    f->rep_to);
		(void)session_delete(env, client, f->info.name, false, err,
		    sizeof(err));
		snprintf(why, len, "the session could not be copied: %s",
		    st != 0 ? err : "its names could not be written or read "
		    "(the service's log says which)");
		free(f->rep_from);
		free(f->rep_to);
		f->rep_from = f->rep_to = NULL;
		return 500;
	}
	f->info = b.info;
	return 0;
}

/* At a worker's start: the sessions an earlier worker of this slot held
 * are ended (a call it was making may still answer on their channel). */
void
session_hello(struct core_env *env)
{
	struct ss_req	 q;
	struct ss_reply	*r;
	int		 nfds;

	if (env->store < 0 || !env->cfg->sessions ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return;
	ss_req_fill(&q, SS_HELLO, "", "");
	(void)session_ask(env, &q, r, NULL, 0, &nfds);
	free(r);
}

/* GET /v1/sessions: the client's sessions into r.  0 or the status. */
int
session_list(struct core_env *env, const char *client, struct ss_reply *r,
    char *why, size_t len)
{
	struct ss_req	q;
	int		nfds;

	ss_req_fill(&q, SS_LIST, client, "");
	if (session_ask(env, &q, r, NULL, 0, &nfds) != 0 || r->status != SS_OK) {
		snprintf(why, len, "the session keeper did not answer");
		return 500;
	}
	return 0;
}

/* DELETE /v1/sessions/{name}: ended, and its workspace deleted unless
 * keep_files.  0 or the status. */
int
session_delete(struct core_env *env, const char *client, const char *name,
    bool keep_files, char *why, size_t len)
{
	struct ss_req	 q;
	struct ss_reply	*r = calloc(1, sizeof(*r));
	struct ws_req	 wq;
	struct ws_reply	 wr;
	int		 nfds, fd, status = 500;
	struct timespec	 ts = { 0, SS_POLL_MS * 1000000L };
	int		 i;

	if (r == NULL) {
		snprintf(why, len, "out of memory");
		return 500;
	}
	ss_req_fill(&q, SS_DELETE, client, name);
	if (session_ask(env, &q, r, NULL, 0, &nfds) != 0) {
		snprintf(why, len, "the session keeper did not answer");
		goto out;
	}
	if (r->status != SS_OK) {
		status = session_refused(env->cfg, (enum ss_status)r->status,
		    name, why, len);
		goto out;
	}
	status = 0;
	if (keep_files)
		goto out;
	/* The workspace: its lease may still be the ended call's a moment. */
	for (i = 0; i < 100; i++) {
		ws_req_fill(&wq, WS_DELETE, client, name, false);
		if (ws_call(env->store, &wq, &wr, &fd, WORKSPACE_CALL_MS) != 0)
			break;
		if (fd >= 0)
			close(fd);
		if (wr.status != WS_BUSY)
			break;
		nanosleep(&ts, NULL);
	}
out:
	free(r);
	return status;
}
