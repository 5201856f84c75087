/*
 * worker.c: a FastCGI worker.  One request at a time, one slot for life.
 *
 * The master forks the worker as root and the worker drops to PYEXEC_USER
 * at once (drop.c), before it touches the listening socket or any
 * request: no capability survives, and no_new_privs is set.  It then opens
 * its slot's cgroup knobs (chowned to it by the master), proves its slot's
 * walls stand (selftest.c), marks itself ready in the shared table and
 * loops on FCGX_Accept_r.  Each request is one struct exchange
 * (exchange.c): its id is nginx's invocationId, its deadline the request's
 * time budget from when nginx took it in; the routes fill it, the loop
 * sends, logs and frees it.  SIGTERM lets the request in hand finish, then
 * the loop ends.  If its slot fails, the worker answers 500 and exits; the
 * master then makes the slot and the worker again.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include <curl/curl.h>

#include "proc.h"
#include "sandbox.h"

#define WORKER_SEND_S	30	/* a write to the client waits at most */

static volatile sig_atomic_t worker_stop;

static void
worker_on_term(int sig)
{
	worker_stop = 1;
	FCGX_ShutdownPending();
}

/* SIGURG: another worker cancelled this one's MCP call (mcp.c); the
 * handler does nothing, its delivery ends the run's poll (EINTR). */
static void
worker_on_urg(int sig)
{
	(void)sig;
}

static void
worker_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = worker_on_urg;
	sigaction(SIGURG, &sa, NULL);
	/* No SA_RESTART (drop.c): accept() returns. */
	drop_signals(worker_on_term, (const int[]){ SIGPIPE, SIGHUP, 0 });
}

/* Reads the body, at most max bytes.  0, 1 if too large, -1 on error. */
static int
worker_read_body(FCGX_Request *req, size_t max, char **body, size_t *len)
{
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	size_t		 want = cl != NULL ? strtoull(cl, NULL, 10) : 0;
	char		*buf;
	int		 n;

	*body = NULL;
	*len = 0;
	if (want > max)
		return 1;
	if ((buf = malloc(want + 1)) == NULL)
		return -1;
	while (*len < want &&
	    (n = FCGX_GetStr(buf + *len, (int)(want - *len), req->in)) > 0)
		*len += (size_t)n;
	buf[*len] = '\0';
	*body = buf;
	return 0;
}

static void
worker_send(FCGX_Request *req, const struct exchange *x)
{
	FCGX_FPrintF(req->out, "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n", x->status, envelope_reason(x->status),
	    x->content_type != NULL ? x->content_type : "application/json");
	if (x->allow != NULL)
		FCGX_FPrintF(req->out, "Allow: %s\r\n", x->allow);
	if (x->retry_after > 0)
		FCGX_FPrintF(req->out, "Retry-After: %u\r\n", x->retry_after);
	if (x->req.timeout_clamped)
		FCGX_FPrintF(req->out, "X-Pyexec-Timeout-Clamped: requested=%g; "
		    "applied=%g\r\n", x->req.timeout_asked, x->req.timeout);
	FCGX_FPrintF(req->out, "Content-Length: %lu\r\n\r\n",
	    (unsigned long)strlen(x->answer));
	FCGX_PutStr(x->answer, (int)strlen(x->answer), req->out);
}

/* exchange.out_write: what goes to the client before the answer (a
 * stream), sent at once.  0, or -1: the client is gone. */
static int
worker_out(void *arg, const char *p, size_t n)
{
	FCGX_Request	*req = arg;

	if (FCGX_PutStr(p, (int)n, req->out) != (int)n ||
	    FCGX_FFlush(req->out) != 0)
		return -1;
	return FCGX_GetError(req->out) != 0 ? -1 : 0;
}

/* The request log line: never the body, never a header. */
static void
worker_log(struct worker *w, const struct exchange *x, double ms)
{
	struct json_object	*o = json_object_new_object();
	char			 buf[32];

	json_object_object_add(o, "invocationId", json_object_new_string(x->id));
	json_object_object_add(o, "method", json_object_new_string(x->method));
	json_object_object_add(o, "route", json_object_new_string(x->route));
	if (strcmp(x->route, "-") == 0)		/* no route: which path */
		json_object_object_add(o, "path", item_bytes(x->path,
		    strnlen(x->path, 200)));
	if (x->dialect != NULL)
		json_object_object_add(o, "dialect",
		    json_object_new_string(x->dialect));
	json_object_object_add(o, "status", json_object_new_int(x->status));
	if (x->streamed)			/* an event stream (200) */
		json_object_object_add(o, "stream", json_object_new_boolean(1));
	if (x->why[0] != '\0')			/* a 4xx: what was refused */
		json_object_object_add(o, "why", item_bytes(x->why,
		    strlen(x->why)));
	json_object_object_add(o, "outcome", x->outcome != NULL ?
	    json_object_new_string(x->outcome) : NULL);
	snprintf(buf, sizeof(buf), "%.1f", ms);
	json_object_object_add(o, "ms", json_object_new_double_s(ms, buf));
	json_object_object_add(o, "slot", json_object_new_int((int)w->env.id));
	json_object_object_add(o, "client", x->anonymous ?
	    json_object_new_string("anonymous") : x->key_valid ?
	    json_object_new_string("key") : NULL);
	json_object_object_add(o, "workspace",
	    json_object_new_boolean(x->task.session[0] != '\0'));
	if (x->session_id[0] != '\0')		/* a live session's */
		json_object_object_add(o, "session",
		    json_object_new_string(x->session_id));
	log_json(x->status >= 500 ? "error" : "info", "request", o);
	json_object_put(o);
}

/* nginx's invocationId (PYEXEC_REQUEST_ID, a UUIDv4 made from its
 * $request_id and in its access log) when it sent one, else our own. */
static void
worker_request_id(FCGX_Request *req, char id[UUID_STR_LEN])
{
	const char	*v = FCGX_GetParam("PYEXEC_REQUEST_ID", req->envp);
	size_t		 i;

	for (i = 0; v != NULL && i < UUID_STR_LEN - 1; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? v[i] != '-' :
		    !((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			break;
	if (v != NULL && i == UUID_STR_LEN - 1 && v[i] == '\0' && v[14] == '4')
		memcpy(id, v, UUID_STR_LEN);
	else
		envelope_uuid4(id);
}

/*
 * When the request's time budget ends (monotonic ms): config_budget()
 * from when nginx took it in (PYEXEC_REQUEST_START, its $msec, wall
 * clock), so the time it waited for a free worker counts, as it does for
 * nginx's fastcgi_read_timeout.  A stamp from the future (clocks of two
 * hosts) counts as now.
 */
static int64_t
worker_deadline(const struct worker *w, FCGX_Request *req, int64_t now,
    int64_t *waited)
{
	const char	*v = FCGX_GetParam("PYEXEC_REQUEST_START", req->envp);
	int64_t		 b = config_budget(w->env.cfg);
	char		*end;
	double		 start;

	*waited = -1;
	if (v == NULL || (start = strtod(v, &end)) <= 0 || end == v ||
	    *end != '\0')
		return now + b;
	*waited = clock_real_ms() - (int64_t)(start * 1000);
	if (*waited < 0)
		*waited = 0;
	metrics_observe(&w->env.met->queue, (double)*waited / 1000);
	return now + b - (*waited < b ? *waited : b);
}

/* Whether the request's Origin, if it has one, is this service's own or
 * one of PYEXEC_ALLOWED_ORIGINS (the MCP server's check). */
static bool
worker_origin_ok(struct worker *w, FCGX_Request *req)
{
	struct web_request r = {
		.scheme = FCGX_GetParam("REQUEST_SCHEME", req->envp),
		.host = FCGX_GetParam("HTTP_HOST", req->envp),
		.origin = FCGX_GetParam("HTTP_ORIGIN", req->envp),
	};

	return r.origin == NULL || webguard_origin_allowed(&w->env.cfg->web, &r);
}

/*
 * A keyless request: whether a web page of another site could have sent
 * it (webguard.c); WEB_OK, or the rule it breaks, counted and logged
 * (the rule only: never a header's value).
 */
static enum web_verdict
worker_web(struct worker *w, FCGX_Request *req, const char *method)
{
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	struct web_request r = {
		.scheme = FCGX_GetParam("REQUEST_SCHEME", req->envp),
		.host = FCGX_GetParam("HTTP_HOST", req->envp),
		.origin = FCGX_GetParam("HTTP_ORIGIN", req->envp),
		.fetch_site = FCGX_GetParam("HTTP_SEC_FETCH_SITE", req->envp),
		.content_type = FCGX_GetParam("CONTENT_TYPE", req->envp),
		.has_body = (cl != NULL && strtoull(cl, NULL, 10) > 0) ||
		    strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
		    strcmp(method, "PATCH") == 0,
	};
	enum web_verdict v = webguard_check(&w->env.cfg->web, &r);

	if (v != WEB_OK) {
		metrics_add(&w->env.met->keyless_refusals[v], 1);
		log_msg("info", "keyless", "a request without a key refused: "
		    "its %s is a web page's of another site (webguard)",
		    webguard_label(v));
	}
	return v;
}

/*
 * Whether the request carries nginx's secret (trust.c).  The front checked
 * it in its own reading of the params (fcgiparse.c); this is libfcgi's
 * reading, the one every param below comes from: were the two parsers
 * ever to disagree, no forged param would be believed all the same.
 */
static bool
worker_trusted(const struct worker *w, FCGX_Request *req, bool *sent)
{
	const char	*v = FCGX_GetParam(TRUST_PARAM, req->envp);

	*sent = v != NULL;
	return trust_check(&w->env.cfg->backend_secret, v, v != NULL ?
	    strlen(v) : 0);
}

/* 403, with an id of ours: none of the request's params is believed.
 * Logged as the front logs its own (front.c): once a second at most. */
static void
worker_untrusted(struct worker *w, FCGX_Request *req, bool sent)
{
	static int64_t	last_ms;
	static unsigned	since;
	struct exchange	x = { .env = &w->env, .sh = w->sh, .route = "-" };
	int64_t		now = clock_mono_ms();
	char		peer[96];

	metrics_add(&w->env.met->untrusted_requests, 1);
	since++;
	if (last_ms == 0 || now - last_ms >= 1000) {
		trust_peer(req->ipcFd, peer, sizeof(peer));
		log_msg("warning", "untrusted", "slot %u: 403 to %u request(s): "
		    "not from nginx (the last from %s: " TRUST_PARAM " %s)",
		    w->env.id, since, peer, sent ? "wrong" : "missing");
		last_ms = now;
		since = 0;
	}
	envelope_uuid4(x.id);
	x.status = 403;
	x.answer = envelope_error(x.id, TRUST_CODE, trust_refusal(sent));
	if (x.answer != NULL)
		worker_send(req, &x);
	metrics_request(w->env.met, route_series(x.route, x.dialect), x.status);
	exchange_free(&x);
}

static void
worker_handle(struct worker *w, FCGX_Request *req)
{
	struct exchange	 x = { .env = &w->env, .sh = w->sh, .route = "-" };
	const char	*kv, *cl;
	int64_t		 t0 = clock_mono_ms();
	int		 rc;
	bool		 anon_ok, sent;
	enum web_verdict web = WEB_OK;

	if (!worker_trusted(w, req, &sent)) {
		worker_untrusted(w, req, sent);
		return;
	}
	kv = FCGX_GetParam("PYEXEC_KEY_VALID", req->envp);
	worker_request_id(req, x.id);
	x.task.req = &x.req;
	x.task.deadline_ms = worker_deadline(w, req, t0, &x.task.queue_ms);
	x.key_valid = kv != NULL && strcmp(kv, "1") == 0;
	x.remote_addr = FCGX_GetParam("REMOTE_ADDR", req->envp);
	cl = FCGX_GetParam("PYEXEC_CLIENT", req->envp);
	x.req_type = FCGX_GetParam("CONTENT_TYPE", req->envp);
	x.anonymous = cl != NULL && strcmp(cl, "anonymous") == 0;
	anon_ok = workspace_client(w->env.cfg, cl, x.key_valid, x.remote_addr,
	    x.client, sizeof(x.client)) == 0;
	x.task.client = x.client;
	x.task.session_hdr = FCGX_GetParam("HTTP_PYEXEC_SESSION_ID", req->envp);
	if ((x.method = FCGX_GetParam("REQUEST_METHOD", req->envp)) == NULL)
		x.method = "GET";
	x.query = FCGX_GetParam("QUERY_STRING", req->envp);
	if ((x.path = FCGX_GetParam("DOCUMENT_URI", req->envp)) == NULL &&
	    (x.path = FCGX_GetParam("SCRIPT_NAME", req->envp)) == NULL)
		x.path = "/";
	if (x.anonymous && anon_ok)
		web = worker_web(w, req, x.method);
	/* The client's connection: a hang-up cancels the request's run; a
	 * client that stops reading holds the worker WORKER_SEND_S at most. */
	x.task.watch = true;
	x.task.conn_fd = req->ipcFd;
	(void)setsockopt(req->ipcFd, SOL_SOCKET, SO_SNDTIMEO,
	    &(struct timeval){ WORKER_SEND_S, 0 }, sizeof(struct timeval));
	x.out_write = worker_out;
	x.out_arg = req;
	x.stream = stream_wanted(FCGX_GetParam("HTTP_ACCEPT", req->envp));
	x.origin_ok = worker_origin_ok(w, req);
	x.mcp_version = FCGX_GetParam("HTTP_MCP_PROTOCOL_VERSION", req->envp);
	rc = worker_read_body(req, w->env.cfg->max_body, &x.body, &x.len);
	if (!anon_ok) {
		log_msg("error", "request", "nginx treats %s as keyless "
		    "(its PYEXEC_ANONYMOUS_FROM) but pyexec's "
		    "PYEXEC_ANONYMOUS_FROM does not list it: refused",
		    x.remote_addr != NULL ? x.remote_addr : "-");
		exchange_error(&x, 403, "this address may not send requests "
		    "without a key");
	} else if (web != WEB_OK)
		exchange_error(&x, 403, "%s", webguard_why(web));
	else if (rc == 1)
		exchange_error(&x, 413, "body: larger than %zu bytes",
		    w->env.cfg->max_body);
	else if (rc != 0)
		exchange_error(&x, 500, "out of memory reading the body");
	else
		route_dispatch(&x);
	if (x.answer == NULL)
		exchange_error(&x, 500, "internal error");
	/* A workspace goes back before the answer, so the client's next
	 * request finds it free: every process of its last run is dead by now
	 * (PROTO_DONE: killed; a killed process writes no further page), and
	 * what is left of the run's namespaces holds a clone no one uses. */
	if (w->env.ws_leased && !w->env.broken)
		workspace_release(&w->env);
	if (x.answer != NULL && !(x.stream && stream_finish(&x)))
		worker_send(req, &x);
	metrics_request(w->env.met, route_series(x.route, x.dialect), x.status);
	worker_log(w, &x, (double)(clock_mono_ms() - t0));
	exchange_free(&x);
}

/*
 * Before the self-test: until the zygotes are ready or given up (so the
 * self-test proves the warm path too), at most WARM_WAIT_MS.  A zygote
 * still starting then is tested by a later self-test.
 */
#define WARM_WAIT_MS	45000

static void
worker_warm_wait(struct worker *w)
{
	struct run_warm	wm;
	int64_t		until = clock_mono_ms() + WARM_WAIT_MS;

	while (run_ping(w->env.rs, 2000, &wm) == 0) {
		status_warm_store(w->env.slot, w->env.met, &w->env.zyg, &wm);
		if ((wm.bare != PROTO_WARM_STARTING &&
		    wm.data != PROTO_WARM_STARTING) || clock_mono_ms() > until)
			return;
		usleep(50000);
	}
}

/*
 * A remade slot (the master's restart after a worker, launcher or
 * self-test died) serves as soon as its cold path is proved, without
 * waiting the seconds its zygotes take to import their modules: its runs
 * start cold (task.c: from no zygote that is not proven) until its
 * zygotes are up and a self-test here has proved them; so does a slot
 * whose zygote was retired (launcher.c) while its replacement imports,
 * but for the runs the other zygote takes.  0, or -1 when that self-test
 * failed (the worker is then broken: the master makes the slot again).
 */
#define WARM_POLL_MS	200

/*
 * Asks the launcher how its zygotes are (also for /health, which shows
 * what the workers last heard).  A zygote started since the last proof,
 * or still starting, takes no run until worker_prove_warm() proves it.
 * Every run names the generations proved (task.c) and the launcher
 * takes no other (launcher.c, zygote_usable()), so the run itself does
 * not ask first: the worker asks here between requests, after the
 * answer, and while it waits for one.  0, or -1 (the launcher does not
 * answer: the worker is broken).
 */
static int
worker_warm_refresh(struct worker *w)
{
	struct run_warm	wm;

	if (run_ping(w->env.rs, 2000, &wm) != 0) {
		log_msg("error", "sandbox", "slot %u: the launcher does not "
		    "answer", w->env.id);
		w->env.broken = true;
		return -1;
	}
	status_warm_store(w->env.slot, w->env.met, &w->env.zyg, &wm);
	if (wm.bare != PROTO_WARM_READY || wm.bare_gen != w->env.proven_gen[0])
		w->env.proven[0] = false;
	if (wm.data != PROTO_WARM_READY || wm.data_gen != w->env.proven_gen[1])
		w->env.proven[1] = false;
	return 0;
}

/* A zygote is ready and not proved yet: a self-test is due. */
static bool
worker_warm_unproven(const struct worker *w)
{
	return (w->env.zyg.last.bare == PROTO_WARM_READY && !w->env.proven[0]) ||
	    (w->env.zyg.last.data == PROTO_WARM_READY && !w->env.proven[1]);
}

/* ... or one is still starting: the worker asks often, to prove it as
 * soon as it is up. */
static bool
worker_warm_pending(const struct worker *w)
{
	return worker_warm_unproven(w) || w->env.zyg.last.bare == PROTO_WARM_STARTING ||
	    w->env.zyg.last.data == PROTO_WARM_STARTING;
}

static int
worker_prove_warm(struct worker *w)
{
	if (w->env.broken || worker_warm_refresh(w) != 0)
		return -1;
	if (!worker_warm_unproven(w))
		return 0;
	if (selftest_check(&w->env) != 0) {
		log_msg("error", "selftest", "slot %u: %s", w->env.id, w->env.st.reason);
		w->env.broken = true;
		return -1;
	}
	log_msg("info", "worker", "slot %u: its zygotes are proved (bare %s, "
	    "data %s): runs may start warm", w->env.id, w->env.proven[0] ? "yes" : "no",
	    w->env.proven[1] ? "yes" : "no");
	return 0;
}

/* Until a connection is there to take: wakes every WARM_POLL_MS while
 * the zygotes are not proved (to prove them once they are up), else every
 * WARM_IDLE_MS (to notice one that died, and say so in /health).  0, or
 * -1. */
#define WARM_IDLE_MS	1000

static int
worker_wait_chan(struct worker *w)
{
	struct pollfd	pfd = { .fd = w->chan, .events = POLLIN };

	while (!worker_stop) {
		if (poll(&pfd, 1, worker_warm_pending(w) ? WARM_POLL_MS :
		    WARM_IDLE_MS) != 0)
			return 0;	/* readable, or EINTR: recvmsg decides */
		if (worker_prove_warm(w) != 0)
			return -1;
	}
	return 0;
}

/*
 * The next request: say "idle" to the front, wait for the connection it
 * hands over (SCM_RIGHTS on the channel) and let libfcgi read it as if it
 * had accepted it: ipcFd set, keepConnection so that FCGX_Accept_r's
 * opening FCGX_Finish_r does not close it (the request's own flags then
 * decide, and FCGX_Finish_r closes it after the answer).  0, or -1 when
 * the worker should end: SIGTERM, the channel is gone, or the master's
 * "S" (its drain: it comes after every connection the front handed over).
 */
static int
worker_next(struct worker *w, FCGX_Request *req)
{
	char		 b;
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct iovec	 iov = { &b, 1 };
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	ssize_t		 n;
	int		 fd;

	for (;;) {
		/* The zygotes as the launcher has them now (a run may have
		 * retired one), proving any new one before the next request:
		 * after the answer, not in a request's time. */
		if (worker_prove_warm(w) != 0)
			return -1;
		if (send(w->chan, "I", 1, MSG_NOSIGNAL) != 1 && errno != EINTR)
			return -1;
		if (worker_wait_chan(w) != 0)
			return -1;
		do {
			memset(&mh, 0, sizeof(mh));
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			n = recvmsg(w->chan, &mh, MSG_CMSG_CLOEXEC);
		} while (n < 0 && errno == EINTR && !worker_stop);
		if (n <= 0)
			return -1;
		cm = CMSG_FIRSTHDR(&mh);
		if ((cm == NULL || cm->cmsg_type != SCM_RIGHTS) && b == 'S')
			return -1;		/* the master: drained, stop */
		if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
			continue;		/* the front said hello */
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		req->ipcFd = fd;
		req->keepConnection = 1;
		if (FCGX_Accept_r(req) == 0)
			return 0;
		req->ipcFd = -1;		/* not a request: the next */
	}
}

void
worker_main(struct worker *w)
{
	FCGX_Request	req;

	drop_privileges(w->env.cfg);
	/* libcurl (the LLM client) starts here, unprivileged: nothing of it
	 * ever runs as root. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		log_die(1, "worker", "slot %u: libcurl could not be initialised",
		    w->env.id);
	worker_signals();
	if (sb_cgroup_open(w->env.rs->cg) != 0)
		log_die(1, "worker", "slot %u: opening the cgroup knobs of %s: %s", w->env.id,
		    w->env.rs->cg->name, strerror(errno));
	/* The first start waits for the zygotes, so that the service starts
	 * with every path proved; a restart serves cold at once (see
	 * worker_prove_warm()). */
	w->env.zyg.last.bare = w->env.zyg.last.data = PROTO_WARM_STARTING; /* until heard */
	if (w->env.slot->restarts == 0)
		worker_warm_wait(w);
	else
		(void)worker_warm_refresh(w);	/* no answer: the self-test
						 * below fails */
	/* A lease an earlier worker of this slot held goes: its launcher and
	 * runs are gone (the master stops them before it starts this one). */
	workspace_release(&w->env);
	session_hello(&w->env);		/* likewise its live sessions' leases */
	if (selftest_check(&w->env) != 0) {
		w->env.slot->state = SLOT_FAILED;
		log_msg("error", "selftest", "slot %u: %s", w->env.id, w->env.st.reason);
		drop_exit(2);
	}
	w->env.slot->state = SLOT_READY;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, -1,
	    FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		log_die(1, "worker", "slot %u: FCGX_Init failed", w->env.id);
	while (!worker_stop && !w->env.broken && worker_next(w, &req) == 0) {
		worker_handle(w, &req);
		FCGX_Finish_r(&req);
		/* Answered: now wait until the run's namespaces are gone. */
		if (!w->env.broken && run_settle(w->env.rs, 10000) != 0) {
			log_msg("error", "sandbox", "slot %u: the last run did "
			    "not end cleanly", w->env.id);
			w->env.broken = true;
		}
	}
	if (w->env.broken) {
		w->env.slot->state = SLOT_FAILED;
		drop_exit(3);
	}
	drop_exit(0);
}
