/*
 * routes.c: the routes the worker serves, as one table (path, method,
 * handler, field tables, ...), and the native handlers: each validates its body by its
 * table (request.c), runs the task (task.c) and shapes it (item.c).  The
 * seeds' handlers are in seeds.c.
 *
 * nginx has already checked the API key, the rate and the body size; the
 * worker still caps the body and validates every field itself.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "sandbox.h"

/* A field table a route validates its body by, named as in request.c. */
struct route_body {
	const char		*name;
	const struct field_table *t;
};
#define ROUTE_BODY(t)	{ #t, &t }
#define ROUTE_BODIES	3		/* at most, per route */
#define ROUTE_LABELS	4		/* dialect labels, at most, per route */

/*
 * One row per path, and the only place a route is spelled: the worker's
 * dispatch, the 405's Allow header, the metrics' route labels (the path),
 * which GETs the front answers without a worker, and `pyexec-fcgi
 * --routes` / `--fields` (from which the tests check docs/openapi.json,
 * nginx's keyless locations and the metrics' labels) all come from here.
 */
struct route {
	const char	*path;		/* also its metrics label */
	const char	*method;	/* "GET" or a list "GET, POST": also
					 * the Allow header for 405; a GET
					 * route takes HEAD too */
	route_fn	 fn;
	bool		 keyless;	/* nginx passes it without a key (its
					 * own location = path) */
	enum route_front front;		/* the front answers it (front.c) */
	const char	*dialect;	/* whose API it speaks */
	struct route_body body[ROUTE_BODIES];	/* its field tables: one, or
					 * one per shape the body's keys pick */
	const char	*labels[ROUTE_LABELS];	/* its metrics' dialect labels:
					 * the first is the route's, the others
					 * a handler may choose (x->dialect) */
};

static void	route_execute(struct exchange *);
static void	route_generate(struct exchange *);
static void	route_health(struct exchange *);
static void	route_health_any(struct exchange *);
static void	route_metrics(struct exchange *);
static void	route_root(struct exchange *);
static void	route_tools(struct exchange *);
static void	route_mcp(struct exchange *);

static const struct route routes[] = {
	{ "/v1/execute", "POST", route_execute, false, ROUTE_FRONT_NEVER,
	    "native", { ROUTE_BODY(request_execute) }, { "native" } },
	{ "/v1/generate-and-execute", "POST", route_generate, false,
	    ROUTE_FRONT_NEVER, "native", { ROUTE_BODY(request_generate) },
	    { "native" } },
	{ "/v1/workspace", "DELETE", route_workspace, false, ROUTE_FRONT_NEVER,
	    "native", { ROUTE_BODY(request_workspace) }, { "native" } },
	/* live sessions: {session_id} is one path segment of a session
	 * name's characters (route_match) */
	{ "/v1/sessions", "GET, POST", route_sessions, false, ROUTE_FRONT_NEVER,
	    "native", { ROUTE_BODY(request_session_create) }, { "native" } },
	{ "/v1/sessions/{session_id}", "GET, DELETE", route_session, false,
	    ROUTE_FRONT_NEVER, "native", { { NULL, NULL } }, { "native" } },
	{ "/v1/sessions/{session_id}/execute", "POST", route_session_execute,
	    false, ROUTE_FRONT_NEVER, "native", { ROUTE_BODY(request_execute) },
	    { "native" } },
	{ "/v1/sessions/{session_id}/fork", "POST", route_session_fork,
	    false, ROUTE_FRONT_NEVER, "native",
	    { ROUTE_BODY(request_session_fork) }, { "native" } },
	/* the agents' protocols: MCP (mcp.c) and the tools' definitions */
	{ "/mcp", "POST", route_mcp, false, ROUTE_FRONT_NEVER, "native",
	    { { NULL, NULL } }, { "mcp" } },
	{ "/v1/tools", "GET", route_tools, false, ROUTE_FRONT_NEVER, "native",
	    { { NULL, NULL } }, { "native" } },
	{ "/api/v1/execute", "POST", seed004_execute, false, ROUTE_FRONT_NEVER,
	    "seed 004 (FastAPI)", { ROUTE_BODY(request_seed004) },
	    { "fastapi" } },
	/* the body's keys pick the seed: "script", "generated_code", "code";
	 * a body that picks none is counted as "-" */
	{ "/execute", "POST", seed_execute, false, ROUTE_FRONT_NEVER,
	    "seeds 002 (Flask), 003 (NVIDIA), 000 (Together)",
	    { ROUTE_BODY(request_seed002), ROUTE_BODY(request_seed003),
	    ROUTE_BODY(request_seed000_execute) },
	    { "-", SEED_FLASK, SEED_NVIDIA, SEED_TOGETHER } },
	{ "/generate-and-execute", "POST", seed000_generate, false,
	    ROUTE_FRONT_NEVER, "seed 000 (Together)",
	    { ROUTE_BODY(request_seed000_generate) }, { SEED_TOGETHER } },
	{ "/system/python_executor/execute_code/invoke", "POST",
	    seed001_execute, false, ROUTE_FRONT_NEVER, "seed 001 (IBM)",
	    { ROUTE_BODY(request_seed001_execute) }, { "ibm" } },
	{ "/experience/python_executor/generate_and_execute/invoke", "POST",
	    seed001_generate, false, ROUTE_FRONT_NEVER, "seed 001 (IBM)",
	    { ROUTE_BODY(request_seed001_generate) }, { "ibm" } },
	/* seed 001 (IBM) answered "OK" to any of its methods but GET */
	{ "/health", "GET, POST, PUT, DELETE", route_health_any, true,
	    ROUTE_FRONT_PUBLIC, "native", { { NULL, NULL } },
	    { "native", "ibm" } },
	{ "/metrics", "GET", route_metrics, true, ROUTE_FRONT_ALWAYS, "native",
	    { { NULL, NULL } }, { "native" } },
	/* NVIDIA's client checks its sandbox is up with GET / */
	{ "/", "GET", route_root, true, ROUTE_FRONT_ALWAYS, "seed 003 (NVIDIA)",
	    { { NULL, NULL } }, { SEED_NVIDIA } },
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))
#define ROUTE_NONE	"-"		/* the label of a request of no route */

/*
 * The metrics' request series: one per route and dialect label, in the
 * table's order, then ("-", "-") for a request of no route.  Made once,
 * from the table; MET_ROUTES must hold them (route_series_make() says so
 * at the first use, and check_routes tests it).
 */
static const char	*series_route[MET_ROUTES], *series_dialect[MET_ROUTES];
static unsigned		 series_first[NROUTES], nseries;

static void
route_series_make(void)
{
	unsigned	i, j;

	if (nseries > 0)
		return;
	for (i = 0; i < NROUTES; i++) {
		series_first[i] = nseries;
		for (j = 0; j < ROUTE_LABELS && routes[i].labels[j] != NULL &&
		    nseries < MET_ROUTES - 1; j++) {
			series_route[nseries] = routes[i].path;
			series_dialect[nseries++] = routes[i].labels[j];
		}
	}
	series_route[nseries] = series_dialect[nseries] = ROUTE_NONE;
	nseries++;
}

/* The series' route labels (the paths, "-"), by route_series(). */
const char *const *
route_names(void)
{
	route_series_make();
	return series_route;
}

/* The series' dialect labels, by route_series(). */
const char *const *
route_dialects(void)
{
	route_series_make();
	return series_dialect;
}

/* How many series there are, "-" included. */
unsigned
route_count(void)
{
	route_series_make();
	return nseries;
}

/* The row of path, or NROUTES. */
static unsigned
route_row(const char *path)
{
	unsigned	i;

	for (i = 0; i < NROUTES; i++)
		if (strcmp(routes[i].path, path) == 0)
			return i;
	return NROUTES;
}

/* The series of a request of path in dialect (NULL: the route's own
 * label, its first), for metrics_request(); the last for no route. */
unsigned
route_series(const char *path, const char *dialect)
{
	unsigned	i = route_row(path), j;

	route_series_make();
	if (i == NROUTES)
		return nseries - 1;
	for (j = 0; dialect != NULL && j < ROUTE_LABELS &&
	    routes[i].labels[j] != NULL; j++)
		if (strcmp(routes[i].labels[j], dialect) == 0)
			return series_first[i] + j;
	return series_first[i];
}

/* Whether (and when) the front answers a GET of path itself. */
enum route_front
route_front(const char *path)
{
	unsigned	i = route_row(path);

	return i < NROUTES ? routes[i].front : ROUTE_FRONT_NEVER;
}

static const char *
route_front_name(enum route_front f)
{
	switch (f) {
	case ROUTE_FRONT_ALWAYS:	return "always";
	case ROUTE_FRONT_PUBLIC:	return "public";
	default:			return "never";
	}
}

/* One row as `--routes` prints it. */
static struct json_object *
route_row_json(const struct route *r)
{
	struct json_object	*o = json_object_new_object(), *a;
	const char		*m;
	size_t			 n;
	unsigned		 i;

	json_object_object_add(o, "path", json_object_new_string(r->path));
	a = json_object_new_array();
	for (m = r->method; *m != '\0'; m += n + strspn(m + n, ", ")) {
		n = strcspn(m, ", ");
		json_object_array_add(a, json_object_new_string_len(m, (int)n));
	}
	json_object_object_add(o, "methods", a);
	json_object_object_add(o, "metric_label",
	    json_object_new_string(r->path));
	json_object_object_add(o, "keyless", json_object_new_boolean(r->keyless));
	json_object_object_add(o, "front",
	    json_object_new_string(route_front_name(r->front)));
	json_object_object_add(o, "dialect", json_object_new_string(r->dialect));
	a = json_object_new_array();
	for (i = 0; i < ROUTE_LABELS && r->labels[i] != NULL; i++)
		json_object_array_add(a, json_object_new_string(r->labels[i]));
	json_object_object_add(o, "metric_dialects", a);
	a = json_object_new_array();
	for (i = 0; i < ROUTE_BODIES && r->body[i].t != NULL; i++)
		json_object_array_add(a, json_object_new_string(r->body[i].name));
	json_object_object_add(o, "field_tables", a);
	return o;
}

/*
 * `pyexec-fcgi --routes`: the table as JSON (the caller puts it), or with
 * fields set (`--fields`) each route's field tables by name, their bounds
 * as configuration c makes them.
 */
struct json_object *
route_table_json(const struct pyexec_config *c, bool fields)
{
	struct json_object	*o = json_object_new_object(), *a;
	const struct route_body	*b;
	unsigned		 i, j;

	if (fields) {
		for (i = 0; i < NROUTES; i++)
			for (j = 0; j < ROUTE_BODIES; j++) {
				b = &routes[i].body[j];
				if (b->t != NULL && !json_object_object_get_ex(o,
				    b->name, NULL))
					json_object_object_add(o, b->name,
					    request_table_json(b->t, c));
			}
		return o;
	}
	a = json_object_new_array();
	for (i = 0; i < NROUTES; i++)
		json_object_array_add(a, route_row_json(&routes[i]));
	json_object_object_add(o, "routes", a);
	json_object_object_add(o, "no_route_label",
	    json_object_new_string(ROUTE_NONE));
	return o;
}

/* GET /metrics: the Prometheus text, to an address in
 * PYEXEC_METRICS_ALLOW or a request with a valid key; else 403. */
static void
route_metrics(struct exchange *x)
{
	if (!x->key_valid && (x->remote_addr == NULL ||
	    !metrics_allowed(x->env->cfg->metrics_allow, x->remote_addr))) {
		exchange_error(x, 403, "/metrics: only for the addresses in "
		    "PYEXEC_METRICS_ALLOW, or with an API key");
		return;
	}
	if (!x->env->cfg->metrics) {
		exchange_error(x, 404, "/metrics: off (PYEXEC_METRICS=0)");
		return;
	}
	if ((x->answer = metrics_render(x->sh, x->env->cfg, route_names(),
	    route_dialects(), route_count())) == NULL) {
		exchange_error(x, 500, "out of memory");
		return;
	}
	x->status = 200;
	x->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* GET /: that the service is up, and nothing else (NVIDIA's client checks
 * its sandbox so before it runs anything).  The front answers it too. */
static void
route_root(struct exchange *x)
{
	x->status = 200;
	x->answer = strdup(ROUTE_ROOT_ANSWER);
}

/* POST /mcp: the MCP server (mcp.c), whose tools are native requests
 * this table routes. */
static void
route_mcp(struct exchange *x)
{
	mcp_serve(x, route_dispatch);
}

/* GET /v1/tools[?format=openai|anthropic|mcp]: the tools of the MCP
 * server as function-calling definitions (tools.c), plain JSON: one
 * shape's array, or all three by name. */
static void
route_tools(struct exchange *x)
{
	static const struct { const char *q, *name; enum tool_shape s; } f[] = {
		{ "format=openai", "openai", TOOLS_OPENAI },
		{ "format=anthropic", "anthropic", TOOLS_ANTHROPIC },
		{ "format=mcp", "mcp", TOOLS_MCP },
	};
	struct json_object	*o;
	size_t			 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (x->query != NULL && strcmp(x->query, f[i].q) == 0) {
			exchange_json(x, 200, tools_json(f[i].s));
			return;
		}
	if (x->query != NULL && *x->query != '\0') {
		exchange_error(x, 400, "format: openai, anthropic or mcp");
		return;
	}
	o = json_object_new_object();
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_object_add(o, f[i].name, tools_json(f[i].s));
	exchange_json(x, 200, o);
}

/* Whether method is one of list ("GET" or "GET, POST"). */
static bool
route_method_ok(const char *list, const char *method)
{
	size_t	n, len = strlen(method);

	for (; *list != '\0'; list += n + strspn(list + n, ", ")) {
		n = strcspn(list, ", ");
		if (n == len && strncmp(list, method, n) == 0)
			return true;
	}
	return false;
}

#define ROUTE_ID	"{session_id}"

/* Whether path is route pattern p: equal, or equal but for one segment
 * at ROUTE_ID, a valid session name (copied into id). */
static bool
route_match(const char *p, const char *path, char *id, size_t idlen)
{
	const char	*at = strstr(p, ROUTE_ID);
	size_t		 pre, n;

	if (at == NULL)
		return strcmp(p, path) == 0;
	pre = (size_t)(at - p);
	if (strncmp(p, path, pre) != 0)
		return false;
	n = strcspn(path + pre, "/");
	if (n == 0 || n >= idlen || strcmp(at + strlen(ROUTE_ID),
	    path + pre + n) != 0)
		return false;
	memcpy(id, path + pre, n);
	id[n] = '\0';
	return session_name_ok(id);
}

void
route_dispatch(struct exchange *x)
{
	size_t	i;

	for (i = 0; i < NROUTES; i++) {
		if (!route_match(routes[i].path, x->path, x->session_id,
		    sizeof(x->session_id)))
			continue;
		x->route = routes[i].path;
		if (!route_method_ok(routes[i].method, x->method) &&
		    !(strcmp(x->method, "HEAD") == 0 &&
		    route_method_ok(routes[i].method, "GET"))) {
			x->allow = routes[i].method;
			exchange_error(x, 405, "method %.16s not allowed on %s; "
			    "use %s", x->method, routes[i].path, routes[i].method);
			return;
		}
		routes[i].fn(x);
		return;
	}
	x->route = ROUTE_NONE;
	exchange_error(x, 404, "no route %.200s", x->path);
}

/* A native route's body, validated by its table into x->req; false
 * (and the 400 answered) if it is not valid. */
static bool
route_parse(struct exchange *x, const struct field_table *t)
{
	struct field_error	e;
	char			msg[512];

	if (request_parse(t, x->body, x->len, x->env->cfg, &x->req, &e) ==
	    PYEXEC_OK)
		return true;
	request_native_text(&e, msg, sizeof(msg));
	exchange_error(x, e.kind == FK_NOMEM ? 500 : 400, "%s", msg);
	return false;
}

/* Validates x's body by table t, runs its task by fn: the items, begun
 * with the summary, or NULL when it is answered already (an error). */
static struct json_object *
route_task(struct exchange *x, const struct field_table *t,
    void (*fn)(struct core_env *, struct task *))
{
	struct json_object	*items;
	char			 msg[1024];

	if (!route_parse(x, t))
		return NULL;
	fn(x->env, &x->task);
	if (x->task.fail != TASK_OK) {
		exchange_task_error(x);
		return NULL;
	}
	item_summary(&x->task, msg, sizeof(msg));
	items = json_object_new_array();
	json_object_array_add(items, item_text(msg));
	return items;
}

/* POST /v1/execute: text, [validation], execution, [artifacts]. */
static void
route_execute(struct exchange *x)
{
	struct task		*t = &x->task;
	struct json_object	*items;

	stream_follow(x);
	if ((items = route_task(x, &request_execute, task_execute)) == NULL)
		return;
	if (t->review != TASK_REVIEW_NONE)
		json_object_array_add(items, item_validation(x->env->cfg, t));
	json_object_array_add(items, t->rejected_by != NULL ?
	    item_rejected(t, &t->at[0], 0) : item_execution(t, &t->at[0], 0));
	item_displays(items, &t->at[0], 0);
	item_artifacts(items, &t->at[0], 0);
	exchange_answer(x, items);
}

/* POST /v1/generate-and-execute: text, then code, execution and its
 * artifacts per attempt, then usage. */
static void
route_generate(struct exchange *x)
{
	struct task		*t = &x->task;
	struct json_object	*items;
	unsigned		 i;

	stream_follow(x);
	if ((items = route_task(x, &request_generate, task_generate)) == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		json_object_array_add(items, item_code(x->env->cfg, &t->at[i], i + 1));
		json_object_array_add(items, t->at[i].ran ?
		    item_execution(t, &t->at[i], i + 1) :
		    item_rejected(t, &t->at[i], i + 1));
		item_displays(items, &t->at[i], i + 1);
		item_artifacts(items, &t->at[i], i + 1);
	}
	json_object_array_add(items, item_usage(x->env->cfg, t));
	exchange_answer(x, items);
}

/* /health by any method but GET: "OK", as seed 001's (IBM's) server
 * answered, with or without a key; the body is not read for anything. */
static void
route_health_any(struct exchange *x)
{
	if (strcmp(x->method, "GET") == 0 || strcmp(x->method, "HEAD") == 0) {
		route_health(x);
		return;
	}
	x->dialect = "ibm";
	x->status = 200;
	x->answer = strdup("\"OK\"");
}

/*
 * GET /health as a worker answers it: with a key, or with deep=1 (the
 * public view is the front's, status.c).  Without a valid key (nginx
 * says, PYEXEC_KEY_VALID) it shows the status, the workers and the
 * slots' states only, and reruns
 * the self-test at most every SELFTEST_PUBLIC_AGE_MS: it cannot be used to
 * make the service work.  With a key it adds pids, run counts, the
 * self-test's checks and the python, and reruns the self-test when its
 * last result is older than 10 s.
 */
static void
route_health(struct exchange *x)
{
	struct core_env		*env = x->env;
	const struct shared	*sh = x->sh;
	struct json_object	*o = json_object_new_object(), *slots, *wk, *st;
	unsigned		 i, alive = 0;
	struct run_warm		 wm;
	bool			 ok = run_ping(env->rs, 2000, &wm) == 0;
	bool			 detail = x->key_valid;
	const char		*str;

	if (ok)
		status_warm_store(env->slot, env->met, &env->zyg, &wm);
	if (ok && selftest_cached(env, detail) != 0)
		ok = false;

	slots = json_object_new_array();
	for (i = 0; i < sh->nslots; i++) {
		const struct shared_slot *ss = &sh->slot[i];

		if (ss->worker_pid > 0 && (ss->state == SLOT_READY ||
		    ss->state == SLOT_BUSY))
			alive++;
		json_object_array_add(slots, status_slot(ss, i, detail));
	}
	json_object_object_add(o, "status",
	    json_object_new_string(ok ? "healthy" : "unhealthy"));
	if (!ok)
		json_object_object_add(o, "reason", json_object_new_string(
		    env->st.ok ? "this worker's sandbox slot does not answer" :
		    detail ? env->st.reason : "the sandbox self-test failed"));
	st = selftest_json(env);
	if (!detail) {
		json_object_object_del(st, "checks");
		json_object_object_del(st, "reason");
	}
	json_object_object_add(o, "selftest", st);
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	if (detail && env->cfg->sessions && env->cfg->workspaces) {
		struct json_object *se = json_object_new_object();
		uint64_t idle = __atomic_load_n(&sh->ss.idle, __ATOMIC_RELAXED);
		uint64_t run = __atomic_load_n(&sh->ss.running, __ATOMIC_RELAXED);
		uint64_t start = __atomic_load_n(&sh->ss.starting,
		    __ATOMIC_RELAXED);

		json_object_object_add(se, "live",
		    json_object_new_int64((int64_t)(idle + run + start)));
		json_object_object_add(se, "idle", json_object_new_int64((int64_t)idle));
		json_object_object_add(se, "running",
		    json_object_new_int64((int64_t)run));
		json_object_object_add(se, "max",
		    json_object_new_int((int)env->cfg->ss_max));
		json_object_object_add(o, "sessions", se);
	}
	if (detail) {
		json_object_object_add(o, "cgroup", json_object_new_string(
		    sh->cgversion == 2 ? "v2" : "v1"));
		json_object_object_add(o, "python",
		    json_object_new_string(env->cfg->python_path));
	}
	wk = json_object_new_object();
	json_object_object_add(wk, "configured", json_object_new_int((int)sh->nslots));
	json_object_object_add(wk, "alive", json_object_new_int((int)alive));
	json_object_object_add(o, "workers", wk);
	json_object_object_add(o, "slots", slots);
	str = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	x->status = ok ? 200 : 503;
	x->answer = strdup(str);
	if (!ok)
		env->broken = true;
	json_object_put(o);
}
