/*
 * core.h: the core floor (fcgi-app/core/): one request's task, from a
 * validated request (request.h) to its runs and the model's calls
 * (task.c), its workspace (workspace.c: the client of the store), a
 * run's artifacts (artifact.c) and the slot's self-test (selftest.c).
 * It takes a struct core_env, never the process that runs it.  Included
 * by the core and the floors above it (serve, proc); it includes only
 * the base (base.h) and the sandbox.
 */
#ifndef PYEXEC_CORE_H
#define PYEXEC_CORE_H

#include "base.h"
#include "request.h"
#include "sandbox.h"
#include "session.h"

/* The last self-test of a worker's slot (selftest.c). */
struct selftest {
	bool			 ok;
	int64_t			 at_ms;		/* monotonic; 0: never run */
	char			 reason[256];	/* why not ok */
	struct json_object	*checks;	/* owned: name -> bool */
};

/*
 * The core's environment: what task, workspace and selftest may touch of
 * the process that runs them (a worker embeds one), and nothing else.
 */
struct core_env {
	const struct pyexec_config *cfg;	/* borrowed (master's copy) */
	struct run_slot	*rs;			/* borrowed: the slot's channel */
	struct metrics	*met;			/* borrowed, shared mapping */
	struct shared_slot *slot;		/* borrowed: this slot's record */
	unsigned	 id;			/* the slot */
	int		 store;			/* the channel to the workspace
						 * store, or -1 (none) */
	bool		 ws_leased;		/* this request holds a lease */
	bool		 broken;		/* the slot failed: exit after reply */
	struct selftest	 st;
	struct status_warm zyg;			/* the zygotes, as last heard */
	bool		 proven[2];		/* bare, data: a self-test of
						 * this worker proved that
						 * zygote, of proven_gen; runs
						 * name it and the launcher
						 * takes no other generation */
	uint8_t		 proven_gen[2];		/* bare, data (run_warm) */
};

/* selftest.c */
int		 selftest_check(struct core_env *);
int		 selftest_cached(struct core_env *, bool keyed);
struct json_object *selftest_json(const struct core_env *);

/*
 * task.c: the core.  One call runs a request's task and fills a struct
 * task; every route (native or seed) only shapes it.
 *   task_execute: the optional review by the LLM, then the run.
 *   task_generate: the model writes (and judges) the code, it runs, and
 *   on an error the failure goes back for a fix, up to max_attempts.
 * The time budget (config_budget()) is checked before each LLM call and
 * each run: a step that could pass it is not taken (TASK_FAIL_BUDGET,
 * 504), so nginx, whose timeout is longer, never cuts a request off.
 */
#define TASK_MAX_ATTEMPTS	3

enum task_fail {
	TASK_OK = 0,
	TASK_FAIL_LLM,		/* the first model call failed: t->llm */
	TASK_FAIL_SANDBOX,	/* the slot failed (logged): 500 */
	TASK_FAIL_BUDGET,	/* the next step could pass the budget: 504 */
	TASK_FAIL_WORKSPACE,	/* no workspace: t->ws_status (400, 409,
				 * 429, 500, 507) and t->ws_code, the
				 * reason in t->why */
};

enum task_review {
	TASK_REVIEW_NONE = 0,	/* not asked for */
	TASK_REVIEW_PASSED,
	TASK_REVIEW_REJECTED,
	TASK_REVIEW_SKIPPED,	/* no verdict: not run (rejected_by), or
				 * run (PYEXEC_VALIDATE_WITHOUT_MODEL=run) */
};

/* One attempt: its code, and the run (or why it did not run). */
struct task_attempt {
	struct llm_code		 gen;		/* owned: what the model wrote */
	struct run_params	 p;		/* p.code borrowed (gen or request) */
	bool			 ran;
	struct run_result	 rr;		/* owned when ran */
	struct json_object	*exc;		/* owned: the program's exception */
	char			*result_json;	/* owned: json.dumps(result) */
	char			*result_str;	/* owned: str(result), if shown */
	struct json_object	*displays;	/* owned: what the cell showed
						 * (display.c), or NULL */
	struct json_object	*artifacts;	/* owned: envelope items of the
						 * run's figures and files, or NULL */
	bool			 ws;		/* ran in the task's workspace: */
	bool			 ws_created;	/* made for this run */
	struct ws_usage		 ws_usage;	/* measured after the run */
};

struct task {
	const struct exec_request *req;		/* borrowed */
	int64_t			 deadline_ms;	/* monotonic: the budget's end */
	int64_t			 queue_ms;	/* waited for a worker; -1: unknown */
	enum task_fail		 fail;
	enum llm_err		 llm;		/* TASK_FAIL_LLM: which */
	char			 why[512];	/* a failure, a skipped review, a
						 * fix that failed: the reason */
	enum task_review	 review;
	const char		*rejected_by;	/* static: "the review judged the
						 * code unsafe", ...; NULL: ran */
	struct json_object	*concerns;	/* owned array: the review's or
						 * the model's, or NULL */
	unsigned		 fix_failed;	/* the attempt whose fix failed */
	unsigned		 n;		/* attempts made */
	struct task_attempt	 at[TASK_MAX_ATTEMPTS];
	struct llm_reply	 usage;		/* owned: the model's, summed */
	/* The workspace (workspace.c): who, which, and what became of it. */
	const char		*client;	/* borrowed: the scope ("k:<name>",
						 * "a:<address>"), or NULL */
	const char		*session_hdr;	/* borrowed: Pyexec-Session-Id */
	char			 session[WS_NAME_MAX + 1]; /* "": none */
	int			 ws_status;	/* TASK_FAIL_WORKSPACE: HTTP */
	unsigned		 ws_retry_after; /* ... its Retry-After, s, or 0 */
	const char		*ws_code;	/* static: its error code, or
						 * NULL: the status's own */
	/* A live session's call (session.c): its runs go there. */
	struct run_session	*live;		/* borrowed, or NULL */
	unsigned		 cell;		/* the call's number (1, 2, ...) */
	bool			 session_lost;	/* its interpreter is gone */
	/* The client (set by the serving floor): a hang-up of its
	 * connection cancels the run; output as it comes, and each step of
	 * a generate's attempt, for a streamed answer. */
	bool			 watch;		/* conn_fd is watched: */
	int			 conn_fd;	/* borrowed */
	run_tap_fn		 tap;		/* or NULL */
	const volatile int32_t	*cancel;	/* borrowed: run_params.cancel */
	void			(*on_step)(void *arg, const struct task *,
				    unsigned attempt, const char *step);
	void			*client_arg;	/* borrowed: tap's, on_step's */
};

/* workspace.c: the request side of workspaces (sandbox/host/store.c). */
#define WS_DEFAULT_SESSION	"default"
#define WORKSPACE_CALL_MS	10000	/* the store's answer (an mkfs and a
					 * mount, behind at most the other
					 * slots' jobs) */
int		 workspace_client(const struct pyexec_config *, const char *param,
		    bool key_valid, const char *addr, char *scope, size_t);
bool		 workspace_wanted(struct core_env *, struct task *);
int		 workspace_attach(struct core_env *, struct task *,
		    struct task_attempt *);
void		 workspace_after_run(struct core_env *, struct task_attempt *);
void		 workspace_release(struct core_env *);
void		 workspace_unusable(struct core_env *, struct task *,
		    const char *err);
void		 workspace_refused(struct core_env *, struct task *,
		    const struct ws_reply *);
void		 ws_req_fill(struct ws_req *, enum ws_op, const char *client,
		    const char *session, bool create);

void		 task_execute(struct core_env *, struct task *);
void		 task_generate(struct core_env *, struct task *);
const struct task_attempt *task_last(const struct task *);
void		 task_free(struct task *);
void		 task_report(const struct run_result *, struct task_attempt *);

/* session.c: the request side of live sessions (sandbox/host/session.c
 * keeps them).  Each returns the HTTP status of a failure (and says why),
 * or 0. */
#define SESSION_CALL_MS	10000	/* the keeper's answer */
struct session_lease {
	char		 name[WS_NAME_MAX + 1];
	struct ss_info	 info;		/* as the keeper said at the attach */
	int		 chan;		/* owned: the channel's host end */
	struct sb_cgroup cg;		/* owned: its knobs, open */
	struct run_session rs;
	struct core_env	*env;		/* borrowed */
	const char	*client;	/* borrowed */
};
int		 session_create(struct core_env *, const char *client,
		    const struct exec_request *, bool fork, struct ss_info *,
		    char *, size_t);
int		 session_attach(struct core_env *, const char *client,
		    const char *name, int64_t deadline_ms,
		    struct session_lease *, char *, size_t);
void		 session_release(struct session_lease *, bool lost, bool call);
int		 session_list(struct core_env *, const char *client,
		    struct ss_reply *, char *, size_t);
struct session_fork {
	struct ss_info	 info;		/* the copy's */
	char		*rep_from;	/* owned: the reports (JSON objects) */
	char		*rep_to;
};
int		 session_fork(struct core_env *, const char *client,
		    const char *from, const char *to, int64_t deadline_ms,
		    struct session_fork *, char *, size_t);
int		 session_delete(struct core_env *, const char *client,
		    const char *name, bool keep_files, char *, size_t);
bool		 session_name_ok(const char *);
void		 session_hello(struct core_env *);

/* display.c: what a notebook cell showed, checked again (the caller
 * owns the array returned). */
struct json_object *display_items(struct json_object *);

/* artifact.c: a run's figures and files, checked again, as items. */
struct json_object *artifact_items(const char *, size_t,
		    const struct run_params *);
const char	*artifact_mime(const char *);
bool		 artifact_name_ok(const char *, size_t);
unsigned char	*artifact_b64_decode(const char *, size_t, size_t *);
void		 task_concerns_line(struct json_object *, char *, size_t);
char		*task_tail(const char *, size_t, size_t max);

#endif /* PYEXEC_CORE_H */
