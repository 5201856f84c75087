/*
 * worker.c: a FastCGI worker.  One request at a time, one slot for life.
 *
 * The master forks the worker as root and the worker drops to PYEXEC_USER
 * at once (worker_drop), before it touches the listening socket or any
 * request: no capability survives, and no_new_privs is set.  It then opens
 * its slot's cgroup knobs (chowned to it by the master), proves its slot's
 * walls stand (selftest.c), marks itself ready in the shared table and
 * loops on FCGX_Accept_r.  SIGTERM lets the request in hand finish, then
 * the loop ends.  If its slot fails, the worker answers 500 and exits; the
 * master then makes the slot and the worker again.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include <curl/curl.h>

#include "pyexec.h"
#include "sandbox.h"

static volatile sig_atomic_t worker_stop;

static void
worker_on_term(int sig)
{
	worker_stop = 1;
	FCGX_ShutdownPending();
}

static void
worker_signals(void)
{
	struct sigaction sa;
	sigset_t	 none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_term;	/* no SA_RESTART: accept() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* setgroups, setresgid, setresuid, then check that it held. */
static void
worker_drop(const struct pyexec_config *c)
{
	struct passwd	*pw;

	if ((pw = getpwnam(c->user)) == NULL || pw->pw_uid == 0)
		log_die(1, "worker", "user %s missing or root", c->user);
	if (setgroups(0, NULL) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		log_die(1, "worker", "dropping privileges: %s", strerror(errno));
	if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
	    getegid() != pw->pw_gid || setuid(0) == 0)
		log_die(1, "worker", "privileges did not drop");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		log_die(1, "worker", "no_new_privs: %s", strerror(errno));
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		log_die(1, "worker", "pdeathsig: %s", strerror(errno));
	/* Not dumpable whatever fs.suid_dumpable says: no core file, no
	 * ptrace, no /proc/PID/mem of the worker (it holds the LLM key). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_die(1, "worker", "dumpable: %s", strerror(errno));
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

/* The reason phrase of every status pyexec sends: nginx passes it on as
 * it is, and the names are nginx's own (and Python's http.HTTPStatus). */
static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Internal Server Error";
	}
}

static void
worker_send(FCGX_Request *req, const struct reply *r)
{
	FCGX_FPrintF(req->out, "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n", r->status, status_text(r->status));
	if (r->allow != NULL)
		FCGX_FPrintF(req->out, "Allow: %s\r\n", r->allow);
	FCGX_FPrintF(req->out, "Content-Length: %lu\r\n\r\n", (unsigned long)strlen(r->body));
	FCGX_PutStr(r->body, (int)strlen(r->body), req->out);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The request log line: never the body, never a header. */
static void
worker_log(struct worker *w, FCGX_Request *req, const char *id,
    const char *method, const struct reply *r, double ms)
{
	struct json_object	*o = json_object_new_object();
	const char		*nginx_id = FCGX_GetParam("PYEXEC_REQUEST_ID", req->envp);

	json_object_object_add(o, "invocationId", json_object_new_string(id));
	if (nginx_id != NULL && strlen(nginx_id) < 64)
		json_object_object_add(o, "requestId",
		    json_object_new_string(nginx_id));
	json_object_object_add(o, "method", json_object_new_string(method));
	json_object_object_add(o, "route", json_object_new_string(r->route));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	json_object_object_add(o, "outcome", r->outcome != NULL ?
	    json_object_new_string(r->outcome) : NULL);
	{
		char buf[32];

		snprintf(buf, sizeof(buf), "%.1f", ms);
		json_object_object_add(o, "ms", json_object_new_double_s(ms, buf));
	}
	json_object_object_add(o, "slot", json_object_new_int((int)w->id));
	log_json(r->status >= 500 ? "error" : "info", "request", o);
	json_object_put(o);
}

static void
worker_handle(struct worker *w, FCGX_Request *req)
{
	struct timespec	 t0;
	struct reply	 r = { 0, NULL, NULL, "-", NULL };
	char		 id[UUID_STR_LEN];
	const char	*method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	const char	*path = FCGX_GetParam("DOCUMENT_URI", req->envp);
	const char	*kv = FCGX_GetParam("PYEXEC_KEY_VALID", req->envp);
	char		*body = NULL;
	size_t		 len = 0;
	int		 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	envelope_uuid4(id);
	w->key_valid = kv != NULL && strcmp(kv, "1") == 0;
	if (method == NULL)
		method = "GET";
	if (path == NULL)
		path = FCGX_GetParam("SCRIPT_NAME", req->envp);
	if (path == NULL)
		path = "/";
	rc = worker_read_body(req, w->cfg->max_body, &body, &len);
	if (rc == 1) {
		r.route = "-";
		reply_error(&r, 413, id, "body: larger than %zu bytes",
		    w->cfg->max_body);
	} else if (rc != 0)
		reply_error(&r, 500, id, "out of memory reading the body");
	else
		route_dispatch(w, method, path, body, len, id, &r);
	if (r.body == NULL)
		reply_error(&r, 500, id, "internal error");
	if (r.body != NULL)
		worker_send(req, &r);
	worker_log(w, req, id, method, &r, ms_since(&t0));
	free(body);
	free(r.body);
}

/* The slot's zygotes as the launcher last said, for /health. */
void
worker_warm_store(struct worker *w, const struct run_warm *wm)
{
	struct shared_slot	*ss = &w->sh->slot[w->id];
	size_t			 i;

	w->warm = *wm;
	ss->warm_bare = (int32_t)wm->bare;
	ss->warm_data = (int32_t)wm->data;
	for (i = 0; i < sizeof(ss->modules); i++)
		ss->modules[i] = wm->modules[i];
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
	int64_t		until = log_mono_ms() + WARM_WAIT_MS;

	while (run_ping(w->rs, 2000, &wm) == 0) {
		worker_warm_store(w, &wm);
		if ((wm.bare != PROTO_WARM_STARTING &&
		    wm.data != PROTO_WARM_STARTING) || log_mono_ms() > until)
			return;
		usleep(50000);
	}
}

void
worker_main(struct worker *w)
{
	FCGX_Request	req;

	worker_drop(w->cfg);
	/* libcurl (the LLM client) starts here, unprivileged: nothing of it
	 * ever runs as root. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		log_die(1, "worker", "slot %u: libcurl could not be initialised",
		    w->id);
	worker_signals();
	if (sb_cgroup_open(w->rs->cg) != 0)
		log_die(1, "worker", "slot %u: opening the cgroup knobs of %s: %s", w->id,
		    w->rs->cg->name, strerror(errno));
	worker_warm_wait(w);
	if (selftest_check(w) != 0) {
		w->sh->slot[w->id].state = SLOT_FAILED;
		log_msg("error", "selftest", "slot %u: %s", w->id, w->st.reason);
		exit(2);
	}
	w->sh->slot[w->id].state = SLOT_READY;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0,
	    FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		log_die(1, "worker", "slot %u: FCGX_Init failed", w->id);
	while (!worker_stop && !w->broken && FCGX_Accept_r(&req) >= 0) {
		worker_handle(w, &req);
		FCGX_Finish_r(&req);
		/* Answered: now wait until the run's namespaces are gone. */
		if (!w->broken && run_settle(w->rs, 10000) != 0) {
			log_msg("error", "sandbox", "slot %u: the last run did "
			    "not end cleanly", w->id);
			w->broken = true;
		}
	}
	if (w->broken) {
		w->sh->slot[w->id].state = SLOT_FAILED;
		exit(3);
	}
	exit(0);
}
