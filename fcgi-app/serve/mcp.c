/*
 * mcp.c: the Model Context Protocol server at POST /mcp.
 *
 * Theory of operation.  The Streamable HTTP transport of MCP (2025-11-25;
 * clients of 2025-06-18, 2025-03-26 and 2024-11-05 too): one JSON-RPC 2.0
 * message per POST.  A request (it has an id) gets its response as
 * application/json, a notification or a client's response gets 202 and
 * no body.  pyexec keeps no MCP session (no Mcp-Session-Id): every call
 * stands alone, so GET /mcp (a stream the server would open) and DELETE
 * /mcp (the end of a session) are 405, as the specification allows.
 *
 * Before any message is read: a browser's Origin must be this service's
 * own or one of PYEXEC_ALLOWED_ORIGINS (else 403: a page of another site,
 * or a DNS rebinding, must not drive the tools), and an
 * MCP-Protocol-Version the server does not speak is a 400.  The key is
 * nginx's to check, as on every route (Authorization: Bearer is one of
 * its headers; 401 with WWW-Authenticate: Bearer).  The body passes the
 * strict JSON gate of the native routes (one RFC 8259 text, no key twice)
 * and the body cap.  Bad input gets the specification's codes: -32700
 * (not JSON), -32600 (not a JSON-RPC request, a batch), -32601 (no such
 * method), -32602 (params; an unknown tool); never a 500.
 *
 * Each tool (tools.c) is a native request made on the caller's behalf
 * (mcp_sub): the same route, checks, limits and walls, the same client
 * (so its workspaces and live sessions are the caller's own).  Its answer
 * is shaped into the tool's result: text for a model to read, images for
 * figures, structuredContent for a program; a run that did not complete,
 * or a request the route refused, is a result with isError (the tool ran;
 * the model should see why), never a protocol error.
 *
 * Cancellation (notifications/cancelled) comes in a request of its own,
 * to whichever worker is free: the worker that runs a tools/call writes
 * the call's client and JSON-RPC id in its slot's record of the shared
 * mapping; the cancel finds the slot whose both are its own, raises its
 * flag and wakes its worker (SIGURG, whose no-op handler interrupts the
 * run's poll), and the run is stopped as at a hang-up (outcome
 * cancelled; a session's call is interrupted).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define MCP_LATEST	"2025-11-25"
#define MCP_DEPTH	64
#define MCP_FILE_MAX	(1024 * 1024)	/* read_file, write_file: bytes */

/* The routes' dispatcher (routes.c hands it in: mcp.c is below the
 * table that names it). */
static route_fn	mcp_dispatch;

static const char *const mcp_versions[] = { MCP_LATEST, "2025-06-18",
    "2025-03-26", "2024-11-05" };

enum {
	RPC_PARSE = -32700,
	RPC_INVALID = -32600,
	RPC_METHOD = -32601,
	RPC_PARAMS = -32602,
};

static bool
mcp_version_ok(const char *v)
{
	size_t	i;

	for (i = 0; i < sizeof(mcp_versions) / sizeof(mcp_versions[0]); i++)
		if (strcmp(v, mcp_versions[i]) == 0)
			return true;
	return false;
}

/* Answers a JSON-RPC message o (taken) with the HTTP status. */
static void
mcp_answer(struct exchange *x, int status, struct json_object *o)
{
	exchange_json(x, status, o);
}

/* A JSON-RPC error: id (borrowed; NULL: null), code, message. */
static void
mcp_error(struct exchange *x, int status, struct json_object *id, int code,
    const char *msg)
{
	struct json_object	*o = json_object_new_object(), *e;

	e = json_object_new_object();
	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", json_object_get(id));
	json_object_object_add(o, "error", e);
	if (status >= 400)
		exchange_why(x, "mcp: %.150s", msg);
	mcp_answer(x, status, o);
}

static void
mcp_result(struct exchange *x, struct json_object *id, struct json_object *r)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", json_object_get(id));
	json_object_object_add(o, "result", r);
	mcp_answer(x, 200, o);
}

static const char *
mcp_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* ------------------------------------------------- native requests --- */

/*
 * The native request method path (query) with body (taken, or NULL) made
 * as x's client: its answer's JSON (the caller's), *status its status.
 */
static struct json_object *
mcp_sub(struct exchange *x, const char *method, const char *path,
    const char *query, struct json_object *body, int *status)
{
	struct exchange		 s = { .env = x->env, .sh = x->sh, .route = "-",
				    .method = method, .path = path, .query = query,
				    .remote_addr = x->remote_addr,
				    .key_valid = x->key_valid,
				    .anonymous = x->anonymous,
				    .req_type = "application/json",
				    .out_write = x->out_write,
				    .out_arg = x->out_arg };
	struct json_object	*a = NULL;

	memcpy(s.id, x->id, sizeof(s.id));
	memcpy(s.client, x->client, sizeof(s.client));
	s.task.req = &s.req;
	s.task.deadline_ms = x->task.deadline_ms;
	s.task.queue_ms = x->task.queue_ms;
	s.task.client = s.client;
	s.task.watch = x->task.watch;
	s.task.conn_fd = x->task.conn_fd;
	s.task.cancel = x->task.cancel;
	if (body != NULL) {
		s.body = strdup(json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		s.len = s.body != NULL ? strlen(s.body) : 0;
		json_object_put(body);
	}
	mcp_dispatch(&s);
	if (s.answer == NULL)
		exchange_error(&s, 500, "internal error");
	*status = s.status;
	a = json_tokener_parse(s.answer);
	x->outcome = s.outcome;
	if (s.session_id[0] != '\0')
		snprintf(x->session_id, sizeof(x->session_id), "%s",
		    s.session_id);
	if (x->env->ws_leased && !x->env->broken)
		workspace_release(x->env);
	exchange_free(&s);
	return a;
}

/* The items of a native answer (borrowed from a), or NULL. */
static struct json_object *
mcp_items(struct json_object *a)
{
	struct json_object	*items;

	if (a == NULL || !json_object_object_get_ex(a, "response", &items) ||
	    !json_object_is_type(items, json_type_array))
		return NULL;
	return items;
}

/* The first item of a type (borrowed), or NULL. */
static struct json_object *
mcp_item(struct json_object *a, const char *type)
{
	struct json_object	*items = mcp_items(a), *it;
	const char		*t;
	size_t			 i;

	for (i = 0; items != NULL && i < json_object_array_length(items); i++) {
		it = json_object_array_get_idx(items, i);
		if ((t = mcp_str(it, "type")) != NULL && strcmp(t, type) == 0)
			return it;
	}
	return NULL;
}

static void
mcp_text(struct json_object *content, const char *text)
{
	struct json_object	*t = json_object_new_object();

	json_object_object_add(t, "type", json_object_new_string("text"));
	json_object_object_add(t, "text", json_object_new_string(text));
	json_object_array_add(content, t);
}

/* A tool's result: content (taken), structured (taken, or NULL). */
static struct json_object *
mcp_tool_result(struct json_object *content, struct json_object *structured,
    bool error)
{
	struct json_object	*r = json_object_new_object();

	json_object_object_add(r, "content", content);
	if (structured != NULL)
		json_object_object_add(r, "structuredContent", structured);
	json_object_object_add(r, "isError", json_object_new_boolean(error));
	return r;
}

/* A refused native request as a tool's error result: its message. */
static struct json_object *
mcp_refused(struct json_object *a, int status)
{
	struct json_object	*content = json_object_new_array();
	struct json_object	*err = mcp_item(a, "error");
	const char		*msg = err != NULL ? mcp_str(err, "message") : NULL;
	char			 buf[1200];

	snprintf(buf, sizeof(buf), "Refused (HTTP %d): %s", status,
	    msg != NULL ? msg : "the request failed");
	mcp_text(content, buf);
	return mcp_tool_result(content, NULL, true);
}

/* The execution item of a native answer as a tool's result. */
static struct json_object *
mcp_execution(struct json_object *a)
{
	struct json_object	*content = json_object_new_array(), *ex, *items;
	struct json_object	*it, *img;
	const char		*outcome, *s, *t;
	char			*buf;
	size_t			 i;
	bool			 error;

	if ((ex = mcp_item(a, "execution")) == NULL)
		ex = mcp_item(a, "rejected");
	outcome = ex != NULL ? mcp_str(ex, "outcome") : NULL;
	if (outcome == NULL)
		outcome = "rejected";
	error = strcmp(outcome, "completed") != 0;
	if ((it = mcp_item(a, "text")) != NULL && (s = mcp_str(it,
	    "message")) != NULL)
		mcp_text(content, s);
	if (ex != NULL && (s = mcp_str(ex, "stdout")) != NULL && *s != '\0' &&
	    asprintf(&buf, "stdout:\n%s", s) >= 0) {
		mcp_text(content, buf);
		free(buf);
	}
	if (ex != NULL && (s = mcp_str(ex, "stderr")) != NULL && *s != '\0' &&
	    asprintf(&buf, "stderr:\n%s", s) >= 0) {
		mcp_text(content, buf);
		free(buf);
	}
	if (ex != NULL && (s = mcp_str(ex, "value")) != NULL &&
	    asprintf(&buf, "value: %s", s) >= 0) {
		mcp_text(content, buf);
		free(buf);
	}
	items = mcp_items(a);
	for (i = 0; items != NULL && i < json_object_array_length(items); i++) {
		it = json_object_array_get_idx(items, i);
		if ((t = mcp_str(it, "type")) == NULL || strcmp(t, "image") != 0 ||
		    (s = mcp_str(it, "data")) == NULL)
			continue;
		img = json_object_new_object();
		json_object_object_add(img, "type", json_object_new_string("image"));
		json_object_object_add(img, "data", json_object_new_string(s));
		json_object_object_add(img, "mimeType", json_object_new_string(
		    mcp_str(it, "mime") != NULL ? mcp_str(it, "mime") : "image/png"));
		json_object_array_add(content, img);
	}
	return mcp_tool_result(content, ex != NULL ? json_object_get(ex) : NULL,
	    error);
}

/* The session item of a native answer as a tool's result. */
static struct json_object *
mcp_session(struct json_object *a)
{
	struct json_object	*content = json_object_new_array();
	struct json_object	*it = mcp_item(a, "session");

	mcp_text(content, json_object_to_json_string_ext(it,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return mcp_tool_result(content, it != NULL ? json_object_get(it) :
	    NULL, it == NULL);
}

/* ----------------------------------------------------------- tools --- */

/* A tool's arguments: the checks a schema cannot say.  NULL, or why. */
static const char *
mcp_args_bad(const struct tool *t, struct json_object *args)
{
	struct json_object	*schema, *props, *req;
	const char		*k;
	size_t			 i;

	schema = json_tokener_parse(t->input_schema);
	json_object_object_get_ex(schema, "properties", &props);
	json_object_object_foreach(args, key, val) {
		(void)val;
		if (!json_object_object_get_ex(props, key, NULL)) {
			json_object_put(schema);
			return "an argument the tool does not take";
		}
	}
	if (json_object_object_get_ex(schema, "required", &req))
		for (i = 0; i < json_object_array_length(req); i++) {
			k = json_object_get_string(json_object_array_get_idx(req, i));
			if (!json_object_object_get_ex(args, k, NULL)) {
				json_object_put(schema);
				return "a required argument is missing";
			}
		}
	json_object_put(schema);
	if (mcp_str(args, "session_id") == NULL &&
	    json_object_object_get_ex(args, "session_id", NULL))
		return "session_id: not a string";
	if (mcp_str(args, "session_id") != NULL &&
	    !session_name_ok(mcp_str(args, "session_id")))
		return "session_id: 1 to 64 of A-Z a-z 0-9 . _ -";
	return NULL;
}

/* Copies args[key] into o when it is there. */
static void
mcp_copy(struct json_object *o, struct json_object *args, const char *key,
    const char *as)
{
	struct json_object	*v;

	if (json_object_object_get_ex(args, key, &v))
		json_object_object_add(o, as != NULL ? as : key,
		    json_object_get(v));
}

static struct json_object *
tool_run(struct exchange *x, struct json_object *args, int *st)
{
	struct json_object	*b = json_object_new_object();
	const char		*sid = mcp_str(args, "session_id");
	char			 path[128];

	mcp_copy(b, args, "code", NULL);
	mcp_copy(b, args, "timeout", NULL);
	json_object_object_add(b, "artifacts", json_object_new_boolean(1));
	if (sid == NULL)
		return mcp_sub(x, "POST", "/v1/execute", NULL, b, st);
	snprintf(path, sizeof(path), "/v1/sessions/%s/execute", sid);
	return mcp_sub(x, "POST", path, NULL, b, st);
}

/* Python that does a file tool's work in the session's workspace (a
 * one-shot run there: the walls of a run), printing one JSON line. */
static const char mcp_files_py[] =
    "import base64, json, os\n"
    "a = json.loads(%s)\n"
    "def ok(p):\n"
    "    parts = p.split('/')\n"
    "    if p.startswith('/') or '..' in parts or '' in parts or '\\0' in p:\n"
    "        raise ValueError('path: relative, without .. or empty parts')\n"
    "    return p\n"
    "if a['op'] == 'list':\n"
    "    out = []\n"
    "    for d, ds, fs in os.walk('.'):\n"
    "        ds[:] = sorted(x for x in ds if not (d == '.' and x == 'outputs'))\n"
    "        for f in sorted(fs):\n"
    "            p = os.path.join(d, f)[2:]\n"
    "            if os.path.isfile(p) and not os.path.islink(p):\n"
    "                out.append({'path': p, 'size': os.path.getsize(p)})\n"
    "            if len(out) >= 1000: break\n"
    "    print(json.dumps({'files': out}))\n"
    "elif a['op'] == 'read':\n"
    "    p = ok(a['path'])\n"
    "    if os.path.islink(p): raise ValueError('path: a link')\n"
    "    if os.path.getsize(p) > %d: raise ValueError('the file is over 1 MiB')\n"
    "    b = open(p, 'rb').read()\n"
    "    if a['encoding'] == 'text':\n"
    "        c = b.decode('utf-8')\n"
    "    else:\n"
    "        c = base64.b64encode(b).decode()\n"
    "    print(json.dumps({'path': p, 'encoding': a['encoding'],"
    " 'content': c, 'size': len(b)}))\n"
    "else:\n"
    "    p = ok(a['path'])\n"
    "    b = a['content'].encode() if a['encoding'] == 'text' else"
    " base64.b64decode(a['content'], validate=True)\n"
    "    if os.path.dirname(p): os.makedirs(os.path.dirname(p), exist_ok=True)\n"
    "    if os.path.islink(p): raise ValueError('path: a link')\n"
    "    open(p, 'wb').write(b)\n"
    "    print(json.dumps({'path': p, 'size': len(b)}))\n";

/* A file tool: op "list", "read" or "write" with args, as a one-shot run
 * in the session's workspace; its JSON line as the tool's result. */
static struct json_object *
tool_files(struct exchange *x, const char *op, struct json_object *args,
    int *st)
{
	struct json_object	*spec = json_object_new_object(), *b, *a, *ex;
	struct json_object	*res, *content;
	const char		*enc = mcp_str(args, "encoding"), *out;
	char			*code;
	const char		*spec_text;
	int			 n;

	json_object_object_add(spec, "op", json_object_new_string(op));
	mcp_copy(spec, args, "path", NULL);
	mcp_copy(spec, args, "content", NULL);
	json_object_object_add(spec, "encoding", json_object_new_string(
	    enc != NULL ? enc : "text"));
	/* the arguments go in as a JSON text inside a Python string
	 * literal: json.dumps of it, which Python reads as a str */
	spec_text = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	a = json_object_new_string(spec_text);
	/* (no "\/": Python would keep that backslash) */
	n = asprintf(&code, mcp_files_py, json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    MCP_FILE_MAX);
	json_object_put(a);
	json_object_put(spec);
	if (n < 0)
		return NULL;
	b = json_object_new_object();
	json_object_object_add(b, "code", json_object_new_string(code));
	mcp_copy(b, args, "session_id", NULL);
	json_object_object_add(b, "artifacts", json_object_new_boolean(0));
	free(code);
	a = mcp_sub(x, "POST", "/v1/execute", NULL, b, st);
	if (*st != 200)
		return a;
	ex = mcp_item(a, "execution");
	out = ex != NULL ? mcp_str(ex, "stdout") : NULL;
	content = json_object_new_array();
	if (ex == NULL || strcmp(mcp_str(ex, "outcome") != NULL ?
	    mcp_str(ex, "outcome") : "", "completed") != 0 || out == NULL ||
	    (res = json_tokener_parse(out)) == NULL) {
		const char *err = ex != NULL ? mcp_str(ex, "stderr") : NULL;

		mcp_text(content, err != NULL && *err != '\0' ? err :
		    "the file operation failed");
		res = mcp_tool_result(content, NULL, true);
	} else {
		mcp_text(content, out);
		res = mcp_tool_result(content, res, false);
	}
	json_object_put(a);
	*st = -1;		/* shaped already */
	return res;
}

/* One tool call: its result (the caller's). */
static struct json_object *
mcp_call_tool(struct exchange *x, const struct tool *t, struct json_object *args)
{
	struct json_object	*b, *a = NULL, *r;
	const char		*sid = mcp_str(args, "session_id"), *why;
	char			 path[128];
	int			 st = 0;

	if ((why = mcp_args_bad(t, args)) != NULL) {
		r = json_object_new_array();
		mcp_text(r, why);
		return mcp_tool_result(r, NULL, true);
	}
	if (strcmp(t->name, "run_python") == 0 ||
	    strcmp(t->name, "run_in_session") == 0)
		a = tool_run(x, args, &st);
	else if (strcmp(t->name, "create_session") == 0) {
		b = json_object_new_object();
		mcp_copy(b, args, "session_id", NULL);
		mcp_copy(b, args, "memory_limit", NULL);
		mcp_copy(b, args, "cpu_limit", NULL);
		mcp_copy(b, args, "idle_timeout", NULL);
		a = mcp_sub(x, "POST", "/v1/sessions", NULL, b, &st);
	} else if (strcmp(t->name, "fork_session") == 0) {
		b = json_object_new_object();
		mcp_copy(b, args, "new_session_id", "session_id");
		snprintf(path, sizeof(path), "/v1/sessions/%s/fork", sid);
		a = mcp_sub(x, "POST", path, NULL, b, &st);
	} else if (strcmp(t->name, "delete_session") == 0) {
		struct json_object *k;

		snprintf(path, sizeof(path), "/v1/sessions/%s", sid);
		a = mcp_sub(x, "DELETE", path, json_object_object_get_ex(args,
		    "keep_files", &k) && json_object_get_boolean(k) ?
		    "keep_files=1" : NULL, NULL, &st);
	} else if (strcmp(t->name, "list_files") == 0)
		a = tool_files(x, "list", args, &st);
	else if (strcmp(t->name, "read_file") == 0)
		a = tool_files(x, "read", args, &st);
	else if (strcmp(t->name, "write_file") == 0)
		a = tool_files(x, "write", args, &st);
	if (st == -1)
		return a;			/* a file tool's, shaped */
	if (st < 200 || st > 299)
		r = mcp_refused(a, st);
	else if (strcmp(t->name, "run_python") == 0 ||
	    strcmp(t->name, "run_in_session") == 0)
		r = mcp_execution(a);
	else if (strcmp(t->name, "delete_session") == 0) {
		b = json_object_new_array();
		mcp_text(b, "The session is ended.");
		r = mcp_tool_result(b, NULL, false);
	} else
		r = mcp_session(a);
	json_object_put(a);
	return r;
}

/* ---------------------------------------------------- cancellation --- */

/* A call's id as text (its JSON), into id; false if it does not fit. */
static bool
mcp_id_text(struct json_object *id, char out[MCP_ID_MAX])
{
	const char	*s = json_object_to_json_string_ext(id,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (strlen(s) >= MCP_ID_MAX)
		return false;
	memcpy(out, s, strlen(s) + 1);
	return true;
}

static void
mcp_copy_in(volatile char *dst, const char *src, size_t cap)
{
	size_t	i;

	for (i = 0; i + 1 < cap && src[i] != '\0'; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static void
mcp_copy_out(char *dst, const volatile char *src, size_t cap)
{
	size_t	i;

	for (i = 0; i + 1 < cap && src[i] != '\0'; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* This worker's slot runs the call id of x's client from now (published
 * for mcp_cancel), or no call (id NULL).  Only this worker writes its
 * record: mcp_gen is odd while it does. */
static void
mcp_publish(struct exchange *x, struct json_object *id)
{
	struct shared_slot	*sl = x->env->slot;
	char			 text[MCP_ID_MAX] = "";

	if (id != NULL && !mcp_id_text(id, text))
		text[0] = '\0';	/* too long to publish: not cancellable */
	__atomic_add_fetch(&sl->mcp_gen, 1, __ATOMIC_SEQ_CST);
	mcp_copy_in(sl->mcp_client, x->client, sizeof(sl->mcp_client));
	mcp_copy_in(sl->mcp_id, text, sizeof(sl->mcp_id));
	sl->mcp_cancel = 0;
	__atomic_add_fetch(&sl->mcp_gen, 1, __ATOMIC_SEQ_CST);
}

/*
 * notifications/cancelled: the slot that runs that call of this client
 * (the same client and id, compared whole: no client can name another's
 * call) is flagged and its worker woken.
 */
static void
mcp_cancel(struct exchange *x, struct json_object *params)
{
	struct json_object	*id;
	struct shared_slot	*sl;
	char			 want[MCP_ID_MAX], client[WS_NAME_MAX + 1];
	char			 got[MCP_ID_MAX];
	uint32_t		 g;
	unsigned		 i;

	if (!json_object_object_get_ex(params, "requestId", &id) ||
	    !mcp_id_text(id, want))
		return;
	for (i = 0; i < x->sh->nslots; i++) {
		/* the shared mapping is every worker's to write; a record is
		 * read under its generation (a seqlock) */
		sl = (struct shared_slot *)&x->sh->slot[i];
		g = __atomic_load_n(&sl->mcp_gen, __ATOMIC_SEQ_CST);
		if ((g & 1) != 0)
			continue;
		mcp_copy_out(client, sl->mcp_client, sizeof(client));
		mcp_copy_out(got, sl->mcp_id, sizeof(got));
		if (__atomic_load_n(&sl->mcp_gen, __ATOMIC_SEQ_CST) != g ||
		    got[0] == '\0' || strcmp(client, x->client) != 0 ||
		    strcmp(got, want) != 0)
			continue;
		sl->mcp_cancel = 1;
		if (sl->worker_pid > 0)
			(void)kill(sl->worker_pid, SIGURG);
	}
}

/* --------------------------------------------------------- methods --- */

static struct json_object *
mcp_initialize(struct json_object *params)
{
	struct json_object	*r = json_object_new_object(), *caps, *info, *t;
	const char		*v = mcp_str(params, "protocolVersion");

	caps = json_object_new_object();
	t = json_object_new_object();
	json_object_object_add(t, "listChanged", json_object_new_boolean(0));
	json_object_object_add(caps, "tools", t);
	json_object_object_add(caps, "logging", json_object_new_object());
	info = json_object_new_object();
	json_object_object_add(info, "name", json_object_new_string("pyexec"));
	json_object_object_add(info, "title", json_object_new_string(
	    "pyexec: sandboxed Python"));
	json_object_object_add(info, "version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(r, "protocolVersion", json_object_new_string(
	    v != NULL && mcp_version_ok(v) ? v : MCP_LATEST));
	json_object_object_add(r, "capabilities", caps);
	json_object_object_add(r, "serverInfo", info);
	json_object_object_add(r, "instructions", json_object_new_string(
	    "Run Python in a sandbox with run_python. For work that builds "
	    "on earlier steps, create_session once and run_in_session each "
	    "step: variables stay between calls. Files of a session: "
	    "list_files, read_file, write_file."));
	return r;
}

/* tools/call: the tool's result, or a protocol error answered (NULL). */
static struct json_object *
mcp_tools_call(struct exchange *x, struct json_object *id,
    struct json_object *params)
{
	struct json_object	*args = NULL, *r;
	const struct tool	*t;
	const char		*name = mcp_str(params, "name");

	if (name == NULL) {
		mcp_error(x, 200, id, RPC_PARAMS, "params.name: the tool's name "
		    "(a string) is required");
		return NULL;
	}
	if ((t = tool_find(name)) == NULL) {
		mcp_error(x, 200, id, RPC_PARAMS, "Unknown tool: see tools/list");
		return NULL;
	}
	if (json_object_object_get_ex(params, "arguments", &args) &&
	    !json_object_is_type(args, json_type_object)) {
		mcp_error(x, 200, id, RPC_PARAMS, "params.arguments: an object");
		return NULL;
	}
	args = args != NULL ? json_object_get(args) : json_object_new_object();
	mcp_publish(x, id);
	x->task.cancel = &x->env->slot->mcp_cancel;
	r = mcp_call_tool(x, t, args);
	mcp_publish(x, NULL);
	x->task.cancel = NULL;
	json_object_put(args);
	return r;
}

static void
mcp_request(struct exchange *x, const char *method, struct json_object *id,
    struct json_object *params)
{
	struct json_object	*r, *tl;

	if (params != NULL && !json_object_is_type(params, json_type_object)) {
		mcp_error(x, 200, id, RPC_PARAMS, "params: an object");
		return;
	}
	if (strcmp(method, "initialize") == 0)
		mcp_result(x, id, mcp_initialize(params));
	else if (strcmp(method, "ping") == 0 ||
	    strcmp(method, "logging/setLevel") == 0)
		mcp_result(x, id, json_object_new_object());
	else if (strcmp(method, "tools/list") == 0) {
		r = json_object_new_object();
		tl = tools_json(TOOLS_MCP);
		json_object_object_add(r, "tools", tl);
		mcp_result(x, id, r);
	} else if (strcmp(method, "tools/call") == 0) {
		if ((r = mcp_tools_call(x, id, params)) != NULL)
			mcp_result(x, id, r);
	} else
		mcp_error(x, 200, id, RPC_METHOD, "Method not found");
}

/* json_strict_scan's dup_fn: a key given twice makes the text no JSON
 * text pyexec takes (whichever value json-c kept, it would be a guess). */
static bool
mcp_dup(void *arg, const struct json_dup *d)
{
	(void)d;
	*(bool *)arg = true;
	return false;
}

/* POST /mcp: one JSON-RPC message; a tool's native request goes through
 * dispatch (route_dispatch). */
void
mcp_serve(struct exchange *x, route_fn dispatch)
{
	struct json_object	*m, *id = NULL, *params = NULL, *v;
	const char		*method, *jv;
	struct json_scan	 scan;
	bool			 dup = false;

	x->dialect = "mcp";
	mcp_dispatch = dispatch;
	if (!x->origin_ok) {
		mcp_error(x, 403, NULL, RPC_INVALID, "Forbidden: this Origin may "
		    "not use the MCP server (this service's own origin and "
		    "PYEXEC_ALLOWED_ORIGINS may)");
		return;
	}
	if (x->mcp_version != NULL && !mcp_version_ok(x->mcp_version)) {
		mcp_error(x, 400, NULL, RPC_INVALID, "Bad Request: unsupported "
		    "MCP-Protocol-Version (this server speaks " MCP_LATEST
		    ", 2025-06-18, 2025-03-26 and 2024-11-05)");
		return;
	}
	if (json_strict_scan(x->body != NULL ? x->body : "", x->len,
	    MCP_DEPTH, JS_TEXT | JS_FINITE, mcp_dup, &dup, &scan) != JSON_OK ||
	    dup || (m = json_tokener_parse(x->body)) == NULL) {
		mcp_error(x, 400, NULL, RPC_PARSE, "Parse error: the body is "
		    "not one JSON text");
		return;
	}
	if (json_object_is_type(m, json_type_array)) {
		mcp_error(x, 400, NULL, RPC_INVALID, "Invalid Request: batches "
		    "are not supported (one message per POST)");
		goto out;
	}
	if (!json_object_is_type(m, json_type_object) ||
	    (jv = mcp_str(m, "jsonrpc")) == NULL || strcmp(jv, "2.0") != 0) {
		mcp_error(x, 400, NULL, RPC_INVALID, "Invalid Request: not a "
		    "JSON-RPC 2.0 message (\"jsonrpc\": \"2.0\")");
		goto out;
	}
	json_object_object_get_ex(m, "id", &id);
	json_object_object_get_ex(m, "params", &params);
	if ((method = mcp_str(m, "method")) == NULL) {
		if (json_object_object_get_ex(m, "method", &v) || id == NULL ||
		    (!json_object_object_get_ex(m, "result", NULL) &&
		    !json_object_object_get_ex(m, "error", NULL))) {
			mcp_error(x, 400, id, RPC_INVALID, "Invalid Request: "
			    "no method");
			goto out;
		}
		exchange_json(x, 202, json_object_new_object());
		goto accepted;		/* a client's response: nothing asked */
	}
	if (!json_object_object_get_ex(m, "id", NULL)) {
		if (strcmp(method, "notifications/cancelled") == 0 &&
		    params != NULL)
			mcp_cancel(x, params);
		exchange_json(x, 202, json_object_new_object());
		goto accepted;
	}
	if (!(json_object_is_type(id, json_type_string) ||
	    json_object_is_type(id, json_type_int))) {
		mcp_error(x, 400, NULL, RPC_INVALID, "Invalid Request: id must "
		    "be a string or an integer");
		goto out;
	}
	mcp_request(x, method, id, params);
	goto out;
accepted:
	free(x->answer);
	x->answer = strdup("");
out:
	json_object_put(m);
}
