/*
 * serve.h: the serving floor (fcgi-app/serve/): one exchange (a FastCGI
 * request and its answer, exchange.c), the table of routes and the
 * native handlers (routes.c, wsroute.c), the seed services' adapters
 * (seeds.c) and the native envelope's items (item.c).  It shapes what
 * the core did into answers; it names no process.  Included by the
 * serving floor and the processes (proc); it includes the core and the
 * base.
 */
#ifndef PYEXEC_SERVE_H
#define PYEXEC_SERVE_H

#include "core.h"

/*
 * exchange.c: one object per exchange (a FastCGI request and its answer),
 * made by worker_handle() and freed in one place, exchange_free(), as
 * slowcgi's cleanup_request().  Routes borrow it and put what they
 * allocate in it.
 */
struct exchange {
	struct core_env		*env;		/* borrowed: the worker's */
	const struct shared	*sh;		/* borrowed: the shared mapping */
	const char		*method, *path;	/* borrowed (FastCGI params) */
	const char		*query;		/* borrowed: QUERY_STRING, or NULL */
	char			 session_id[WS_NAME_MAX + 1]; /* a live session's:
						 * the path's {session_id}, or
						 * the name made; "" */
	char			*body;		/* owned */
	size_t			 len;
	char			 id[UUID_STR_LEN];	/* the invocationId */
	struct exec_request	 req;		/* owned members */
	struct task		 task;		/* owned members */
	/* The answer.  body is owned (malloc). */
	int			 status;
	char			*answer;
	const char		*allow;		/* Allow header for 405, static */
	const char		*code;		/* static: the error's code, or NULL:
						 * the status's own */
	unsigned		 retry_after;	/* s: a Retry-After header, or 0 */
	const char		*route;		/* static, for the log */
	const char		*dialect;	/* static: a label of the route's
						 * (routes.c), or NULL: its first */
	const char		*req_type;	/* borrowed: the Content-Type */
	char			 why[200];	/* what a 4xx refused, for the log */
	const char		*outcome;	/* static, for the log, or NULL */
	const char		*content_type;	/* static; NULL: JSON */
	const char		*remote_addr;	/* borrowed: nginx's REMOTE_ADDR */
	bool			 key_valid;	/* nginx says: a valid API key */
	char			 client[WS_NAME_MAX + 1]; /* the workspace scope,
						 * "" (workspace_client) */
	bool			 anonymous;	/* keyless (PYEXEC_ANONYMOUS_FROM) */
	/* Writing to the client before the answer (stream.c), the worker's:
	 * 0, or -1 when the client is gone. */
	int			(*out_write)(void *arg, const char *, size_t);
	void			*out_arg;	/* borrowed */
	bool			 stream;	/* Accept: text/event-stream */
	bool			 stream_route;	/* the route streams */
	bool			 streamed;	/* its header is sent */
	bool			 stream_failed;	/* a write failed */
	bool			 origin_ok;	/* no Origin, or an allowed one */
	const char		*mcp_version;	/* borrowed: MCP-Protocol-Version */
	struct stream_carry {			/* a UTF-8 character cut */
		char		 b[4];
		size_t		 len;
	}			 carry[2];	/* stdout, stderr */
};

void		 exchange_free(struct exchange *);
void		 exchange_json(struct exchange *, int status, struct json_object *);
void		 exchange_error(struct exchange *, int status, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
void		 exchange_task_error(struct exchange *);
void		 exchange_why(struct exchange *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 exchange_answer(struct exchange *, struct json_object *items);

/* stream.c: answers as Server-Sent Events. */
bool		 stream_wanted(const char *accept);
int		 stream_event(struct exchange *, const char *event, const char *json);
int		 stream_tap(void *arg, int fd, const char *, size_t);
void		 stream_step(void *arg, const struct task *, unsigned attempt,
		    const char *step);
bool		 stream_finish(struct exchange *);
void		 stream_follow(struct exchange *);

/* tools.c: pyexec's tools, one table for MCP and function calling. */
struct tool {
	const char	*name;
	const char	*description;	/* what a model reads */
	const char	*input_schema;	/* JSON Schema text */
	const char	*output_schema;	/* JSON Schema text, or NULL */
};
enum tool_shape { TOOLS_MCP, TOOLS_OPENAI, TOOLS_ANTHROPIC };
const struct tool *tool_find(const char *name);
struct json_object *tools_json(enum tool_shape);
/* routes.c: the table of routes and the native handlers. */
typedef void	(*route_fn)(struct exchange *);
/* mcp.c: the MCP server (POST /mcp). */
void		 mcp_serve(struct exchange *, route_fn dispatch);
void		 route_dispatch(struct exchange *);
void		 route_workspace(struct exchange *);
/* sessroute.c: live sessions (core/session.c). */
void		 route_sessions(struct exchange *);
void		 route_session(struct exchange *);
void		 route_session_execute(struct exchange *);
void		 route_session_fork(struct exchange *);
unsigned	 route_series(const char *path, const char *dialect);
const char *const *route_names(void);
const char *const *route_dialects(void);
unsigned	 route_count(void);
#define ROUTE_ROOT_ANSWER	"{\"status\":\"ok\"}"	/* GET / */
/* The seeds' dialect labels (x->dialect, the metrics' "dialect"). */
#define SEED_FLASK	"flask"		/* 002 */
#define SEED_NVIDIA	"nvidia"	/* 003 */
#define SEED_TOGETHER	"together"	/* 000 */
/* Whether the front answers a GET of a route without a worker. */
enum route_front {
	ROUTE_FRONT_NEVER = 0,
	ROUTE_FRONT_ALWAYS,	/* /metrics */
	ROUTE_FRONT_PUBLIC,	/* /health's public view: no key, no deep=1 */
};
enum route_front route_front(const char *path);
struct json_object *route_table_json(const struct pyexec_config *, bool fields);

/* item.c: the native envelope's items, shaped from a task (callers own
 * what is returned). */
struct json_object *item_bytes(const char *, size_t);
struct json_object *item_text(const char *);
struct json_object *item_raw_json(const char *);
struct json_object *item_execution(const struct task *,
		    const struct task_attempt *, unsigned attempt);
void		 item_artifacts(struct json_object *, const struct task_attempt *,
		    unsigned attempt);
void		 item_displays(struct json_object *, const struct task_attempt *,
		    unsigned attempt);
struct json_object *item_rejected(const struct task *, const struct task_attempt *,
		    unsigned attempt);
struct json_object *item_validation(const struct pyexec_config *, const struct task *);
struct json_object *item_code(const struct pyexec_config *, const struct task_attempt *,
		    unsigned attempt);
struct json_object *item_usage(const struct pyexec_config *, const struct task *);
void		 item_summary(const struct task *, char *, size_t);
void		 item_run_summary(const struct task_attempt *, char *, size_t);
char		*item_envelope(const char *id, struct json_object *items);
const char	*item_signal_name(int, char *, size_t);
struct json_object *item_workspace(const struct task *,
		    const struct task_attempt *);

/* seeds.c: the seed services' routes, one small adapter each. */
void		 seed004_execute(struct exchange *);
void		 seed_execute(struct exchange *);
void		 seed000_generate(struct exchange *);
void		 seed001_execute(struct exchange *);
void		 seed001_generate(struct exchange *);

#endif /* PYEXEC_SERVE_H */
