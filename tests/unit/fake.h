/*
 * fake.h: link-time fakes of what the core calls below it, for the unit
 * tests of the core (task.c, workspace.c) and the serving floor (item.c,
 * seeds.c, exchange.c).  The tests link the real floor libraries with
 * -Wl,--wrap=<name> (Makefile.am, FAKE_WRAP): every call the core makes
 * to run_execute, run_ping, run_settle, ws_call or llm_chat reaches
 * __wrap_<name> here instead (fake_run.c, fake_store.c, fake_llm.c),
 * while everything else (run_result_free, llm_err_code, ...) stays the
 * real code.
 *
 * Each fake answers from a queue the test fills (fake_*_push; one
 * struct fake_queue each, whose calls counts the calls) and records what
 * it was called with; a call with an empty queue fails the test.
 * fake_world_init() (fake_env.c) makes the configuration from its
 * defaults and a struct core_env around it; fake_reset() empties the
 * queues and the records (each test starts with it).
 */
#ifndef PYEXEC_FAKE_H
#define PYEXEC_FAKE_H

#include "serve.h"
#include "sandbox.h"
#include "store.h"

#define FAKE_MAX	8	/* calls a test may script, each fake */

/* fake_env.c: one fake's script, the answers a test pushed, taken in
 * order; what (a run, a model call, ...) names it in a failure. */
struct fake_queue {
	const char	*what;
	void		*items;		/* FAKE_MAX answers of size bytes */
	size_t		 size;
	unsigned	 n;		/* answers pushed */
	unsigned	 calls;		/* answers taken: the calls made */
};

#define FAKE_QUEUE(what, items) { (what), (items), sizeof((items)[0]), 0, 0 }

/* Appends a copy of item (the test fails past FAKE_MAX). */
void	 fake_queue_push(struct fake_queue *, const void *item);
/* The next answer; a call with none left fails the test. */
const void *fake_queue_take(struct fake_queue *);
void	 fake_queue_reset(struct fake_queue *);

/* fake_run.c: one run_execute(). */
struct fake_run {
	int		 rc;		/* returned: 0, -1, 1, RUN_NO_WORKSPACE */
	const char	*why;		/* rc != 0: the error text */
	enum run_outcome outcome;
	int		 exit_code;
	int		 signal;
	const char	*out, *err;	/* copied into the result */
	const char	*report;	/* the runner's report, or NULL */
	const char	*limit;		/* static: "timeout", "memory", ... */
	double		 duration_ms, overshoot_ms, cpu_ms;
	uint64_t	 memory_peak;
	bool		 warm;
};

/* What run_execute() was called with (code copied: the caller's may be
 * freed before the test looks). */
struct fake_run_call {
	struct run_params p;
	char		 code[4096];
	bool		 had_workspace_fd;
};

extern struct fake_queue		 fake_runs;
static inline void fake_run_push(const struct fake_run *f)
{ fake_queue_push(&fake_runs, f); }
extern struct fake_run_call	 fake_run_seen[FAKE_MAX];

/* fake_llm.c: one llm_chat().  On LLM_OK the reply's content becomes
 * text and the usage is added as the real client does. */
struct fake_llm {
	enum llm_err	 e;
	const char	*text;		/* LLM_OK: the model's answer */
	const char	*why;		/* otherwise: the error text */
	int64_t		 prompt_tokens, completion_tokens;
	double		 ms;
};

struct fake_llm_call {
	size_t		 n;		/* messages */
	char		 role[2 + 2 * (TASK_MAX_ATTEMPTS - 1)][16];
	char		*content[2 + 2 * (TASK_MAX_ATTEMPTS - 1)]; /* owned */
};

extern struct fake_queue		 fake_llms;
static inline void fake_llm_push(const struct fake_llm *f)
{ fake_queue_push(&fake_llms, f); }
extern struct fake_llm_call	 fake_llm_seen[FAKE_MAX];

/* fake_store.c: one ws_call() to the workspace store. */
struct fake_store {
	int		 rc;		/* ws_call's return: 0 or -1 */
	struct ws_reply	 r;		/* the store's answer */
	bool		 fd;		/* hand back a descriptor (/dev/null) */
};

extern struct fake_queue		 fake_stores;
static inline void fake_store_push(const struct fake_store *f)
{ fake_queue_push(&fake_stores, f); }
extern struct ws_req		 fake_store_seen[FAKE_MAX];

/* fake_env.c: a configuration from its defaults (the environment
 * cleared, then the PYEXEC_* settings in set, "NAME=value", NULL-ended,
 * put in), and a core environment around it: a slot record, metrics, no
 * store. */
struct fake_world {
	struct pyexec_config	 cfg;
	struct metrics		 met;
	struct shared_slot	 slot;
	struct run_slot		 rs;
	struct core_env		 env;
};

void	 fake_world_init(struct fake_world *, const char *const *set);
void	 fake_reset(void);
void	 fake_run_reset(void);
void	 fake_llm_reset(void);
void	 fake_store_reset(void);
/* req from body by table (the test fails if it is refused), and t a
 * task on it with the configured budget ahead. */
void	 fake_task(struct fake_world *, const struct field_table *,
	    const char *body, struct exec_request *, struct task *);

/* x as the worker makes it for body (a copy), on w's environment, with
 * the budget ahead; what x held before is the caller's to free. */
void	 fake_exchange(struct fake_world *, struct exchange *x,
	    const char *body);
/* The fixture of the tests that answer exchanges (check_exchange.c,
 * check_seeds.c): fake_w from the defaults, fake_x an exchange on it with
 * an empty body, fake_ans its answer once fake_answer() parsed it (freed
 * by the teardown, as is fake_x). */
extern struct fake_world	 fake_w;
extern struct exchange		 fake_x;
extern struct json_object	*fake_ans;
void	 fake_x_setup(void);
void	 fake_x_teardown(void);
/* fake_x's answer, parsed (the test fails if it is not JSON). */
struct json_object *fake_answer(void);

/* o's member key (the test fails without it), and as a string. */
struct json_object *fake_get(struct json_object *o, const char *key);
const char *fake_str(struct json_object *o, const char *key);

#endif /* PYEXEC_FAKE_H */
