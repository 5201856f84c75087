/*
 * pyexec.h: the private interface of the FastCGI application (fcgi-app/).
 *
 * Names carry their layer: config_*, log_*, envelope_*, request_*,
 * worker_*, route_*.  The sandbox layer (sb_*, slot_*, run_*) is declared
 * in sandbox/sandbox.h.
 */
#ifndef PYEXEC_H
#define PYEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "sandbox.h"

/* The one error enum of the application.  Request-path functions return
 * it; start-up code may die with a message instead. */
enum pyexec_err {
	PYEXEC_OK = 0,
	PYEXEC_ERR_INVALID,	/* the client's request is invalid (400) */
	PYEXEC_ERR_NOMEM,	/* an allocation failed (500) */
	PYEXEC_ERR_CONFIG,	/* bad configuration (start-up only) */
};

/* Configuration, read once from the environment by the master before it
 * forks; workers inherit a copy.  Strings point into the environment or
 * into static storage: never freed. */
struct pyexec_config {
	unsigned	 workers;		/* PYEXEC_WORKERS */
	const char	*user;			/* PYEXEC_USER: the workers' user */
	uid_t		 uid_base;		/* PYEXEC_UID_BASE: slot i: base+2i, +1 */
	const char	*instance;		/* PYEXEC_INSTANCE: cgroup namespace */
	const char	*launcher_path;		/* PYEXEC_LAUNCHER */
	const char	*runner_path;		/* PYEXEC_RUNNER */
	const char	*python_path;		/* --with-python at configure time */
	const char	*zygote_path;		/* PYEXEC_ZYGOTE: pyexec-zygote.so */
	bool		 warm;			/* PYEXEC_WARM: zygotes (default 1) */
	const char	*preload;		/* PYEXEC_PRELOAD: the data zygote's
						 * modules, "a,b.c,d" (may be "") */
	size_t		 max_body;		/* PYEXEC_MAX_BODY, bytes */
	size_t		 max_output;		/* PYEXEC_MAX_OUTPUT_BYTES */
	double		 default_timeout;	/* PYTHON_EXECUTOR_DEFAULT_TIMEOUT, s */
	double		 max_timeout;		/* PYTHON_EXECUTOR_MAX_TIMEOUT, s */
	unsigned	 default_memory_mb;	/* PYTHON_EXECUTOR_DEFAULT_MAX_MEMORY */
	unsigned	 max_memory_mb;		/* PYTHON_EXECUTOR_MAX_MEMORY */
	double		 max_cpu;		/* PYEXEC_MAX_CPU, cores */
	unsigned	 max_pids;		/* PYEXEC_MAX_PIDS, per slot */
	size_t		 tmp_size;		/* PYEXEC_TMP_SIZE, bytes of /tmp */
	size_t		 max_file_size;		/* PYEXEC_MAX_FILE_SIZE, RLIMIT_FSIZE */
	unsigned	 max_open_files;	/* PYEXEC_MAX_OPEN_FILES, RLIMIT_NOFILE */
	/* The LLM (llm.c).  llm_key is a secret: never logged or returned. */
	const char	*llm_url;		/* PYEXEC_LLM_URL */
	const char	*llm_model;		/* PYEXEC_LLM_MODEL */
	char		*llm_key;		/* owned; NULL: not configured */
	double		 llm_timeout;		/* PYEXEC_LLM_TIMEOUT / API_TIMEOUT, s */
	unsigned	 llm_retries;		/* PYEXEC_LLM_RETRIES */
	size_t		 llm_max_response;	/* PYEXEC_LLM_MAX_RESPONSE_BYTES */
	unsigned	 max_query_chars;	/* PYEXEC_MAX_QUERY_CHARS */
	/* The IBM executor's routes (seeds.c). */
	unsigned	 max_input_length;	/* PYTHON_EXECUTOR_MAX_INPUT_LENGTH */
	char		 seed001_policy[1024];	/* runner header words */
};

#define PYEXEC_MIN_MEMORY_MB	16

/* config.c */
enum pyexec_err	 config_load(struct pyexec_config *, char *, size_t);
int		 config_parse_size(const char *, uint64_t *);
double		 config_default_cpu(const struct pyexec_config *);
bool		 config_names_preloaded(const struct pyexec_config *,
		    const char *code, size_t len);
bool		 config_llm_cleartext(const char *url);

/* log.c: one JSON object per line on stderr.  The caller owns the object
 * and must not put code or secrets in it. */
void		 log_json(const char *level, const char *event, struct json_object *);
void		 log_msg(const char *level, const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
int64_t		 log_mono_ms(void);
void		 log_die(int, const char *event, const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 3, 4)));

/* envelope.c */
#define UUID_STR_LEN	37
void		 envelope_uuid4(char out[UUID_STR_LEN]);
char		*envelope_utf8_sanitize(const char *, size_t, size_t *);
const char	*envelope_error_code(int http_status);
char		*envelope_error(const char *id, const char *code, const char *msg);
bool		 envelope_utf8_valid(const char *, size_t);

/* jsonstrict.c: 0 if the buffer is one RFC 8259 JSON text (and its
 * numbers finite), else -1 with the problem and its offset in msg. */
int		 json_strict_check(const char *, size_t, int max_depth,
		    bool finite, char *msg, size_t msglen);

/* request.c: a validated request body.  Owns its strings. */
struct exec_request {
	char		*code;		/* owned, NUL-terminated, valid UTF-8 */
	size_t		 code_len;
	char		*stdin_data;	/* owned, may be NULL */
	size_t		 stdin_len;
	double		 timeout;	/* seconds */
	uint64_t	 memory_bytes;
	double		 cpu_limit;	/* cores */
	bool		 validate_code;	/* /v1/execute: review by the LLM first */
	bool		 main_mode;	/* /v1/execute: mode "main" */
	char		*query;		/* owned: /v1/generate-and-execute */
	size_t		 query_len;
	unsigned	 max_attempts;	/* /v1/generate-and-execute, 1..3 */
};

enum pyexec_err	 request_parse_execute(const char *, size_t,
		    const struct pyexec_config *, struct exec_request *,
		    char *, size_t);
enum pyexec_err	 request_parse_generate(const char *, size_t,
		    const struct pyexec_config *, struct exec_request *,
		    char *, size_t);
void		 request_free(struct exec_request *);
enum pyexec_err	 request_parse_memory(struct json_object *, uint64_t *);
struct json_object *request_json(const char *, size_t, char *, size_t);


/* llm.c: the OpenAI-compatible chat client. */
enum llm_err {
	LLM_OK = 0,
	LLM_NOT_CONFIGURED,	/* no key (503) */
	LLM_UNAVAILABLE,	/* unreachable or failing after retries (502) */
	LLM_TIMEOUT,		/* slower than PYEXEC_LLM_TIMEOUT (504) */
	LLM_BAD_RESPONSE,	/* not the answer we asked for (502) */
};

struct llm_msg {
	const char	*role;		/* borrowed */
	const char	*content;	/* borrowed */
};

/* What the model said, and its cost, summed over calls. */
struct llm_reply {
	char		*content;	/* owned: the last answer's text */
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	double		 ms;
	unsigned	 calls;
};

enum llm_err	 llm_chat(const struct pyexec_config *, const struct llm_msg *,
		    size_t, struct llm_reply *, char *, size_t);
void		 llm_reply_free(struct llm_reply *);
const char	*llm_err_code(enum llm_err);
#define LLM_RETRY_AFTER_MAX	3600L	/* seconds */
long		 llm_parse_retry_after(const char *, size_t);
int64_t		 llm_retry_wait_ms(long retry_after, unsigned try);
int64_t		 llm_remaining_ms(int64_t deadline, int64_t now);
int		 llm_err_status(enum llm_err);

/* extract.c: code out of a model's text.  The struct owns its members. */
struct llm_code {
	char			*code;
	char			*explanation;	/* may be NULL */
	bool			 safe;		/* true when the model did not say */
	struct json_object	*concerns;	/* array */
};

enum pyexec_err	 extract_code(const char *, struct llm_code *);
enum pyexec_err	 extract_review(const char *, bool *, struct json_object **);
void		 extract_free(struct llm_code *);
char		*extract_redact(const char *, const char *secret);

/*
 * The status table the master shares with its workers (MAP_SHARED, made
 * before the first fork).  The master writes pids and restarts; each worker
 * writes only its own slot's state and run count.  It is only displayed
 * (/health) and read once at start-up for readiness: the master never
 * trusts it for anything else.
 */
enum slot_state {
	SLOT_STARTING = 0,
	SLOT_READY,
	SLOT_BUSY,
	SLOT_FAILED,
	SLOT_DOWN,
};

struct shared_slot {
	volatile int32_t	worker_pid;
	volatile int32_t	launcher_pid;
	volatile int32_t	state;		/* enum slot_state */
	volatile uint32_t	restarts;
	volatile uint64_t	runs;
	volatile int32_t	warm_bare;	/* enum proto_warm */
	volatile int32_t	warm_data;
	volatile char		modules[200];	/* the data zygote's imports */
};

struct shared {
	unsigned		nslots;
	int			cgversion;	/* 1 or 2 */
	struct shared_slot	slot[];
};

const char	*slot_state_name(int);

/* What a route answers.  body is owned (malloc). */
struct reply {
	int		 status;
	char		*body;
	const char	*allow;		/* Allow header for 405, static */
	const char	*route;		/* static, for the log */
	const char	*outcome;	/* static, for the log, or NULL */
};

struct slot;
struct run_slot;

/* The last self-test of a worker's slot (selftest.c). */
struct selftest {
	bool			 ok;
	int64_t			 at_ms;		/* monotonic; 0: never run */
	char			 reason[256];	/* why not ok */
	struct json_object	*checks;	/* owned: name -> bool */
};

/* worker.c: one per slot, unprivileged. */
struct worker {
	const struct pyexec_config *cfg;	/* borrowed (master's copy) */
	struct run_slot	*rs;			/* owned */
	struct shared	*sh;			/* borrowed, shared mapping */
	unsigned	 id;
	bool		 broken;		/* the slot failed: exit after reply */
	bool		 key_valid;		/* this request came with a valid
						 * API key (nginx's PYEXEC_KEY_VALID) */
	struct selftest	 st;
	struct run_warm	 warm;			/* the zygotes, as last heard */
};

void		 worker_main(struct worker *) __attribute__((noreturn));
void		 worker_warm_store(struct worker *, const struct run_warm *);

/* selftest.c */
int		 selftest_check(struct worker *);
int		 selftest_cached(struct worker *, bool keyed);
struct json_object *selftest_json(const struct worker *);

/* routes.c: the table of routes and their handlers. */
void		 route_dispatch(struct worker *, const char *method,
		    const char *path, const char *body, size_t len,
		    const char *id, struct reply *);
void		 reply_error(struct reply *, int status, const char *id,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* routes.c: shaping a run into the envelope (callers own the results). */
struct run_result;
struct run_params;
struct json_object *json_bytes(const char *, size_t);
void		 report_parse(const struct run_result *, struct json_object **,
		    struct json_object **);
struct json_object *execution_item(const struct run_result *,
		    const struct run_params *, struct json_object *exc);
void		 summary(const struct run_result *, struct json_object *exc,
		    const struct run_params *, char *, size_t);
char		*success_envelope(const char *id, struct json_object *items);

int		 worker_run(struct worker *, const struct run_params *,
		    struct run_result *);

/* seeds.c: the seed services' routes, one small adapter each. */
void		 seed004_execute(struct worker *, const char *, size_t,
		    const char *, struct reply *);
void		 seed_execute(struct worker *, const char *, size_t,
		    const char *, struct reply *);
void		 seed000_generate(struct worker *, const char *, size_t,
		    const char *, struct reply *);
void		 seed001_execute(struct worker *, const char *, size_t,
		    const char *, struct reply *);
void		 seed001_generate(struct worker *, const char *, size_t,
		    const char *, struct reply *);

/* generate.c: the LLM routes. */
void		 route_generate(struct worker *, const char *, size_t,
		    const char *, struct reply *);
struct json_object *generate_review(struct worker *, const char *code,
		    bool *rejected, struct json_object **concerns);
void		 concerns_line(struct json_object *, char *, size_t);
char		*generate_tail(const char *, size_t, size_t max);
struct json_object *rejected_item(const struct run_params *,
		    const char *reason, struct json_object *concerns);

#endif /* PYEXEC_H */
