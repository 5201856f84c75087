/*
 * stream.c: an answer as Server-Sent Events (a request that sent
 * `Accept: text/event-stream` to a route that streams: the native execute,
 * a live session's execute, generate-and-execute).
 *
 * The stream begins at the first event (stdout or stderr as the run writes
 * it, or a step of a generate's attempt) with its own header: 200,
 * text/event-stream, no caching, and X-Accel-Buffering: no, which turns
 * nginx's buffering off for this answer alone.  A request refused before
 * any event (a 4xx of its body, a 429, a 503) is answered as without the
 * header: plain JSON, its own status.  At the end come the answer's items
 * (images, plotly figures, files, tables, displays) as `item` events and last an
 * `envelope` event holding exactly the JSON the plain answer would have
 * been; its "status" says whether the request succeeded (the HTTP status
 * was already 200).  Each event is one `event:` line and one `data:` line
 * of JSON (a JSON text has no raw newline), flushed as written.
 *
 * Output goes out as the sink's pieces come (run.c's tap): a piece is
 * UTF-8 up to its last whole character, the rest waits for the next one,
 * so no event splits a character.  A write that fails (the client went
 * away; the worker's socket has a send timeout, so a client that stops
 * reading cannot hold the worker) makes the tap say so, and the run is
 * cancelled as at a hang-up.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve.h"

/* Whether an Accept header asks for an event stream: it names
 * text/event-stream and not application/json (a client that takes either,
 * as MCP clients say they do, gets the plain answer). */
bool
stream_wanted(const char *accept)
{
	return accept != NULL && strcasestr(accept, "text/event-stream") != NULL &&
	    strcasestr(accept, "application/json") == NULL;
}

static int
stream_write(struct exchange *x, const char *p, size_t n)
{
	if (x->stream_failed || x->out_write(x->out_arg, p, n) != 0) {
		x->stream_failed = true;
		return -1;
	}
	return 0;
}

/* The stream's header, once. */
static int
stream_begin(struct exchange *x)
{
	char	head[512];
	int	n;

	if (x->streamed)
		return x->stream_failed ? -1 : 0;
	x->streamed = true;
	n = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
	    "Content-Type: text/event-stream; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Accel-Buffering: no\r\n");
	if (x->req.timeout_clamped)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "X-Pyexec-Timeout-Clamped: requested=%g; applied=%g\r\n",
		    x->req.timeout_asked, x->req.timeout);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	return stream_write(x, head, (size_t)n);
}

/* One event: its name and its data (a JSON text, no newline). */
int
stream_event(struct exchange *x, const char *event, const char *json)
{
	char	*ev;
	int	 n, rc;

	if (stream_begin(x) != 0)
		return -1;
	if ((n = asprintf(&ev, "event: %s\ndata: %s\n\n", event, json)) < 0)
		return -1;
	rc = stream_write(x, ev, (size_t)n);
	free(ev);
	return rc;
}

/* event with o (taken) as its data. */
static int
stream_object(struct exchange *x, const char *event, struct json_object *o)
{
	int	rc = stream_event(x, event, json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return rc;
}

/* How many of the n bytes end on a whole UTF-8 character: a character
 * cut at the end waits for the next piece (bytes that are no UTF-8 at all
 * go now, to be replaced). */
static size_t
stream_whole(const unsigned char *p, size_t n)
{
	size_t		back, need;
	unsigned char	c;

	for (back = 1; back <= 3 && back <= n; back++) {
		if (((c = p[n - back]) & 0xC0) == 0x80)
			continue;		/* a continuation byte */
		if (c < 0xC0)
			return n;		/* ASCII */
		need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		return back < need ? n - back : n;
	}
	return n;
}

/* A piece of output as an event, o's "text" (taken). */
static int
stream_text(struct exchange *x, int fd, const char *p, size_t n)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "text", item_bytes(p, n));
	return stream_object(x, fd == 1 ? "stdout" : "stderr", o);
}

/* run.c's tap (run_tap_fn): a piece of stdout (1) or stderr (2). */
int
stream_tap(void *arg, int fd, const char *p, size_t n)
{
	struct exchange		*x = arg;
	struct stream_carry	*c = &x->carry[fd == 1 ? 0 : 1];
	char			*buf;
	size_t			 len = c->len + n, whole;
	int			 rc = 0;

	if ((buf = malloc(len)) == NULL)
		return -1;
	memcpy(buf, c->b, c->len);
	memcpy(buf + c->len, p, n);
	whole = stream_whole((const unsigned char *)buf, len);
	c->len = len - whole;
	memcpy(c->b, buf + whole, c->len);
	if (whole > 0)
		rc = stream_text(x, fd, buf, whole);
	free(buf);
	return rc;
}

/* The core's on_step: a step of a generate's attempt ("code", "run"). */
void
stream_step(void *arg, const struct task *t, unsigned attempt,
    const char *step)
{
	struct exchange			*x = arg;
	const struct task_attempt	*a = &t->at[attempt - 1];
	struct json_object		*o;

	if (strcmp(step, "code") == 0) {
		o = item_code(x->env->cfg, a, attempt);
		stream_object(x, "code", o);
	} else if (strcmp(step, "run") == 0 && a->ran) {
		o = item_execution(t, a, attempt);
		stream_object(x, "run", o);
	}
}

/* What a run made that a page draws: its figures, files and tables. */
static bool
stream_is_item(const char *type)
{
	static const char *const kinds[] = { "image", "plotly", "file",
	    "omitted", "table", "display" };
	size_t	i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(type, kinds[i]) == 0)
			return true;
	return false;
}

/*
 * The end of an answer to a request that asked for a stream: a stream
 * begun (or a success of a streaming route that wrote nothing yet) gets
 * the answer's items and its envelope as events; anything else is
 * answered plain.  true if it answered.
 */
bool
stream_finish(struct exchange *x)
{
	struct json_object	*env, *items, *it;
	const char		*type;
	size_t			 i;

	if (!x->streamed && (!x->stream_route || x->status != 200))
		return false;
	for (i = 0; i < 2; i++)		/* a character the run left cut */
		if (x->carry[i].len > 0)
			(void)stream_text(x, (int)i + 1, x->carry[i].b,
			    x->carry[i].len);
	if ((env = json_tokener_parse(x->answer)) != NULL &&
	    json_object_object_get_ex(env, "response", &items) &&
	    json_object_is_type(items, json_type_array))
		for (i = 0; i < json_object_array_length(items); i++) {
			it = json_object_array_get_idx(items, i);
			type = json_object_get_string(
			    json_object_object_get(it, "type"));
			if (type != NULL && stream_is_item(type))
				(void)stream_object(x, "item",
				    json_object_get(it));
		}
	json_object_put(env);
	(void)stream_event(x, "envelope", x->answer);
	return true;
}

/* A streaming route's request: if it asked for a stream, the run's output
 * and the generate's steps go to it as they come. */
void
stream_follow(struct exchange *x)
{
	if (!x->stream)
		return;
	x->stream_route = true;
	x->task.tap = stream_tap;
	x->task.on_step = stream_step;
	x->task.client_arg = x;
}
