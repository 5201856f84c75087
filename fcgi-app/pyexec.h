/*
 * pyexec.h: the private interface of the FastCGI application (fcgi-app/).
 *
 * The layers, from the bottom; names carry theirs: clock_*, webguard_*
 * (webguard.h: keyless requests from web pages), trust_* (trust.h: the
 * backend secret, by which only nginx is believed), config_*,
 * log_*, envelope_*, json_strict_*, request_* (field tables), llm_* and
 * extract_* (the model), task_* (the core), item_* (the native envelope),
 * exchange_* (one request and its answer), route_* and seed*_ (the
 * handlers), status_*, selftest_*, worker_*, front_*, guard_*.  A file calls only into the
 * layers below it.  The sandbox layer (sb_*, slot_*, run_*) is declared in
 * sandbox/sandbox.h and knows nothing of this one.
 */
#ifndef PYEXEC_H
#define PYEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "sandbox.h"
#include "store.h"
#include "webguard.h"
#include "trust.h"

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
	unsigned	 warm_max_runs;		/* PYEXEC_WARM_MAX_RUNS: a zygote's */
	unsigned	 warm_max_age;		/* PYEXEC_WARM_MAX_AGE: s, ready */
	size_t		 max_body;		/* PYEXEC_MAX_BODY, bytes */
	size_t		 max_output;		/* PYEXEC_MAX_OUTPUT_BYTES */
	size_t		 max_artifact_bytes;	/* PYEXEC_MAX_ARTIFACT_BYTES: all */
	size_t		 max_artifact_item;	/* PYEXEC_MAX_ARTIFACT_ITEM_BYTES */
	unsigned	 max_artifacts;		/* PYEXEC_MAX_ARTIFACTS */
	unsigned	 max_input_files;	/* PYEXEC_MAX_INPUT_FILES */
	size_t		 max_input_file;	/* PYEXEC_MAX_INPUT_FILE_BYTES */
	size_t		 max_input_bytes;	/* PYEXEC_MAX_INPUT_BYTES: all */
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
	const char	*metrics_allow;		/* PYEXEC_METRICS_ALLOW: who may
						 * read /metrics without a key */
	bool		 metrics;		/* PYEXEC_METRICS (default 1) */
	double		 queue_timeout;		/* PYEXEC_QUEUE_TIMEOUT, s */
	unsigned	 queue_max;		/* PYEXEC_QUEUE_MAX, connections */
	unsigned	 queue_retry_after;	/* the 503's Retry-After, s */
	unsigned	 header_timeout;	/* PYEXEC_HEADER_TIMEOUT, s: a
						 * connection's FastCGI header */
	unsigned	 header_max;		/* PYEXEC_HEADER_MAX: connections
						 * the front reads at once */
	char		 seed001_policy[1024];	/* runner header words */
	/* Workspaces (sandbox/store.c, fcgi-app/core/workspace.c). */
	bool		 workspaces;		/* PYEXEC_WORKSPACES (default 1) */
	const char	*workspace_dir;		/* PYEXEC_WORKSPACE_DIR
						 * (OUTPUT_DATA_PATH) */
	uint64_t	 ws_max_bytes;		/* PYEXEC_WORKSPACE_MAX_BYTES */
	unsigned	 ws_max_files;		/* PYEXEC_WORKSPACE_MAX_FILES */
	unsigned	 ws_per_client;		/* PYEXEC_WORKSPACES_PER_CLIENT */
	unsigned	 ws_max_total;		/* PYEXEC_WORKSPACES_MAX */
	unsigned	 ws_idle;		/* PYEXEC_WORKSPACE_IDLE, s */
	unsigned	 ws_max_age;		/* PYEXEC_WORKSPACE_MAX_AGE, s */
	unsigned	 ws_sweep;		/* PYEXEC_WORKSPACE_SWEEP, s */
	unsigned	 ws_wait;		/* PYEXEC_WORKSPACE_WAIT, s */
	unsigned	 ws_mounts;		/* PYEXEC_WORKSPACE_MOUNTS */
	uint64_t	 ws_min_free;		/* PYEXEC_WORKSPACE_MIN_FREE */
	unsigned	 ws_create_rate;	/* PYEXEC_WORKSPACE_CREATE_RATE,
						 * a minute per client; 0: any */
	unsigned	 ws_create_burst;	/* PYEXEC_WORKSPACE_CREATE_BURST */
	const char	*anonymous_from;	/* PYEXEC_ANONYMOUS_FROM: whose
						 * requests need no key ("") */
	struct web_policy web;			/* PYEXEC_SERVER_NAMES and
						 * PYEXEC_ALLOWED_ORIGINS: what
						 * keyless requests may name */
	bool		 validate_run;		/* PYEXEC_VALIDATE_WITHOUT_MODEL=run:
						 * validate_code without a
						 * verdict runs the code */
	/* Who is believed (trust.c): nginx, by the secret it sends. */
	const char	*backend_secret_file;	/* PYEXEC_BACKEND_SECRET_FILE */
	struct trust_secret backend_secret;	/* the master reads it at
						 * start (master_preflight) */
};

#define PYEXEC_MIN_MEMORY_MB	16

/* clock.c: monotonic and wall clocks, in ms. */
int64_t		 clock_mono_ms(void);
int64_t		 clock_real_ms(void);

/* config.c.  config_budget: the time one request may take (ms) at most,
 * from the limits; nginx's fastcgi_read_timeout and the master's drain
 * are this plus CONFIG_BUDGET_MARGIN_MS. */
#define CONFIG_LLM_SLACK_MS	1000	/* a model call past its timeout */
#define CONFIG_RUN_SLACK_MS	2000	/* a run past its limit: set-up, the
					 * kill, collecting its output */
#define CONFIG_BUDGET_MARGIN_MS	10000
int64_t		 config_budget(const struct pyexec_config *);
int64_t		 config_llm_ms(const struct pyexec_config *);
int64_t		 config_run_ms(double timeout);
enum pyexec_err	 config_load(struct pyexec_config *, char *, size_t);
void		 config_free(struct pyexec_config *);
void		 config_forget_llm_key(struct pyexec_config *);
void		 config_wipe_key_env(void);
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
void		 log_die(int, const char *event, const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 3, 4)));

/* envelope.c */
#define UUID_STR_LEN	37
void		 envelope_uuid4(char out[UUID_STR_LEN]);
char		*envelope_utf8_sanitize(const char *, size_t, size_t *);
const char	*envelope_error_code(int http_status);
const char	*envelope_reason(int http_status);
char		*envelope_error(const char *id, const char *code, const char *msg);
bool		 envelope_utf8_valid(const char *, size_t);

/* unicode.c: what a file name must not hold besides '/' and NUL. */
enum unicode_hidden {
	UNICODE_SHOWN,		/* none */
	UNICODE_CONTROL,	/* Cc: C0, DEL, C1 */
	UNICODE_FORMAT,		/* Cf, Zl, Zp (unicode-format.h) */
};
extern const char	 unicode_table_version[];
bool		 unicode_is_format(uint32_t);
enum unicode_hidden unicode_name_hidden(const char *, size_t, uint32_t *);

/* jsonstrict.c: 0 if the buffer is one RFC 8259 JSON text (and its
 * numbers finite), else -1 with the problem and its offset in msg. */
int		 json_strict_check(const char *, size_t, int max_depth,
		    bool finite, char *msg, size_t msglen);
/* Untrusted text (a run's report, its artifacts): one strict JSON value
 * of type want, UTF-8 without NUL, numbers finite, at most max_depth
 * deep; parsed (the caller owns it), or NULL. */
struct json_object *json_strict_parse(const char *, size_t, int max_depth,
		    enum json_type want);

/*
 * request.c: validation of request bodies by table, as kcgi validates its
 * form fields.  Every route has a table (struct field_table): its fields,
 * whether unknown ones are refused, and the run it asks for.  The parser
 * fills a struct exec_request, or says what failed in a struct
 * field_error that each dialect (native, FastAPI, Flask, NVIDIA, IBM)
 * words its own way.
 */
enum field_type {
	FT_STRING,		/* a JSON string, valid UTF-8 */
	FT_NUMBER,		/* a JSON number (not a boolean) in [lo, hi] */
	FT_INT,			/* a JSON integer in [lo, hi] */
	FT_BOOL,
	FT_MEMORY,		/* MB as an integer, or "100m", "1g" */
	FT_WORD,		/* a string, one of the words in `words` */
	FT_FILES,		/* [{"name", "content" (base64)}], capped */
};

enum field_slot {		/* which member of struct exec_request */
	FS_CODE, FS_STDIN, FS_QUERY, FS_TIMEOUT, FS_MEMORY, FS_CPU,
	FS_VALIDATE, FS_MODE, FS_ATTEMPTS, FS_FILES, FS_ARTIFACTS, FS_SESSION,
	FS_NONE,
};

/* Which requests of a route run in a workspace (workspace.c). */
enum ws_policy {
	WS_NEVER = 0,		/* seeds 000, 001, 002, 004: never */
	WS_OPT_IN,		/* native: when the request names a session */
	WS_ALWAYS,		/* seed 003: its session, or "default" */
};

enum field_bound {		/* the configured bound hi is capped at */
	FB_NONE, FB_MAX_TIMEOUT, FB_MAX_CPU, FB_MAX_MEMORY, FB_MAX_QUERY,
	FB_MAX_INPUT,
};

#define FF_REQUIRED	0x01
#define FF_NONEMPTY	0x02
#define FF_NONUL	0x04	/* no NUL character */
#define FF_NOCTRL	0x08	/* no control character but \t \n \r */
#define FF_NULL_ABSENT	0x10	/* null counts as not given */
#define FF_WORD_CI	0x20	/* FT_WORD: compared ignoring case */

struct field {
	const char	*name;
	enum field_type	 type;
	unsigned	 flags;		/* FF_* */
	enum field_slot	 slot;
	double		 lo, hi;	/* numbers; strings: hi characters */
	enum field_bound bound;		/* hi is also capped by this */
	const char	*words;		/* FT_WORD: "a|b" */
};

struct field_table {
	const char		*route;		/* for the log */
	const struct field	*fields;	/* ends with a NULL name */
	bool			 strict;	/* unknown, duplicate fields refused */
	double			 timeout;	/* the run's default, s, capped by
						 * the table's own bound; 0: the
						 * configured default */
	enum run_mode		 mode;
	bool			 unwrap;	/* runner unwraps dict/fenced code */
	bool			 policy;	/* the IBM AST policy */
	bool			 show;		/* runner reports str(result) */
	bool			 artifacts;	/* figures and files come back */
	enum ws_policy		 ws;		/* whether it runs in a workspace */
};

enum field_kind {
	FK_NONE = 0,
	FK_BODY,	/* not one JSON document (NUL, UTF-8, syntax, depth) */
	FK_NOT_OBJECT,	/* JSON, but not an object */
	FK_DUPLICATE,
	FK_UNKNOWN,
	FK_MISSING,
	FK_TYPE,
	FK_EMPTY,
	FK_NUL,
	FK_UTF8,
	FK_CONTROL,
	FK_TOO_LONG,
	FK_RANGE,
	FK_WORD,	/* not one of the words */
	FK_NAME,	/* files[i].name: not a file name */
	FK_BASE64,	/* files[i].content: not strict base64 */
	FK_CAP,		/* files: past a cap (count, bytes each, in all) */
	FK_NOMEM,
};

/* What failed: the field (NULL: the body), the bounds that applied, the
 * value given (FK_WORD, as JSON text, cut) and pyexec's own words. */
struct field_error {
	enum field_kind		 kind;
	const struct field	*f;
	char			 name[72];	/* the field, also unknown ones */
	double			 lo, hi;
	char			 value[72];
	char			 text[400];	/* "must be ..." (no field name) */
};

/* A validated request.  Owns its strings. */
struct exec_request {
	char		*code;		/* owned, NUL-terminated */
	size_t		 code_len;
	char		*stdin_data;	/* owned, may be NULL */
	size_t		 stdin_len;
	char		*query;		/* owned: a task in plain words */
	size_t		 query_len;
	double		 timeout;	/* seconds */
	uint64_t	 memory_bytes;
	double		 cpu_limit;	/* cores */
	bool		 validate_code;	/* review by the LLM first */
	unsigned	 max_attempts;	/* generate: 1..3 */
	enum run_mode	 mode;		/* the table's, or the "mode" field */
	bool		 unwrap, policy, show;	/* the table's */
	bool		 artifacts;		/* the table's: native routes */
	struct run_file	*files;		/* owned: the input files, or NULL */
	unsigned	 nfiles;
	size_t		 files_bytes;	/* their decoded bytes in all */
	enum ws_policy	 ws;		/* the table's */
	char		 session[WS_NAME_MAX + 1];	/* "session_id", or "" */
};

extern const struct field_table request_execute, request_generate,
		    request_seed004, request_seed002, request_seed003,
		    request_seed001_execute, request_seed001_generate,
		    request_seed000_execute, request_seed000_generate,
		    request_workspace;

enum pyexec_err	 request_parse(const struct field_table *, const char *,
		    size_t, const struct pyexec_config *, struct exec_request *,
		    struct field_error *);
void		 request_native_text(const struct field_error *, char *, size_t);
enum pyexec_err	 request_parse_execute(const char *, size_t,
		    const struct pyexec_config *, struct exec_request *,
		    char *, size_t);
enum pyexec_err	 request_parse_generate(const char *, size_t,
		    const struct pyexec_config *, struct exec_request *,
		    char *, size_t);
void		 request_free(struct exec_request *);
enum pyexec_err	 request_parse_memory(struct json_object *, uint64_t *);
struct json_object *request_json(const char *, size_t, char *, size_t);
const char	*request_file_name_bad(const char *, size_t, char *buf,
		    size_t buflen);


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
enum llm_err	 llm_parse_answer(const char *, size_t, struct llm_reply *,
		    char *, size_t);
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
	volatile int32_t	selftest_ok;	/* the worker's last self-test */
	volatile int64_t	selftest_at_ms;	/* monotonic; 0: never */
	volatile uint64_t	retirements;	/* zygotes replaced at their
						 * PYEXEC_WARM_MAX_* limits */
};

/*
 * metrics.c: the service's counters, kept in the shared mapping so they
 * survive a worker's restart, and added to with atomic adds so they are
 * exact under concurrency.  Only labels from fixed sets: never a key, a
 * code or a user's text.  GET /metrics renders them (Prometheus text
 * format 0.0.4).
 */
#define MET_BUCKETS	19		/* latency buckets, metrics.c */
#define MET_ROUTES	12		/* at least routes.c's table + "-" */
#define MET_STATUSES	19		/* metrics.c's status list + "other" */
#define MET_OUTCOMES	7		/* enum run_outcome + "rejected" */
#define MET_REJECTED	6		/* the runs[] index of "rejected" */
#define MET_LLM		5		/* "ok" + the llm_err failures */
#define MET_DROPS	4		/* enum met_drop */

/* Why the front closed a connection without an answer (front.c);
 * metrics.c's met_drops[] has their labels. */
enum met_drop {
	MET_DROP_HEADER_TIMEOUT,	/* its header: not within the timeout */
	MET_DROP_EVICTED,		/* the oldest, past PYEXEC_HEADER_MAX */
	MET_DROP_HANGUP,		/* the peer went before a worker took it */
	MET_DROP_MALFORMED,		/* not FastCGI as nginx sends it */
};

struct met_hist {
	uint64_t	bucket[MET_BUCKETS];	/* not cumulative: one per le */
	uint64_t	count;
	uint64_t	sum_us;
};

struct metrics {
	uint64_t	requests[MET_ROUTES][MET_STATUSES];
	uint64_t	runs[MET_OUTCOMES];
	uint64_t	llm_calls[MET_LLM];
	struct met_hist	run, setup, queue, llm;
	uint64_t	worker_restarts, launcher_restarts, slot_restarts;
	uint64_t	zygote_restarts, keeper_restarts;	/* workers add
					 * what their launcher's PONG says */
	uint64_t	front_restarts, store_restarts;
	uint64_t	selftest_failures;
	uint64_t	queue_rejections;
	uint64_t	keyless_refusals[WEB_NVERDICTS];	/* webguard.c */
	uint64_t	front_drops[MET_DROPS];
	uint64_t	zygote_retirements[2];	/* bare, data */
	uint64_t	untrusted_requests;	/* without nginx's secret */
};

struct shared {
	unsigned		nslots;
	int			cgversion;	/* 1 or 2 */
	struct metrics		met;
	struct ws_stats		ws;		/* the workspace store's */
	struct shared_slot	slot[];
};

void		 metrics_enable(bool);
void		 metrics_add(uint64_t *, uint64_t);
void		 metrics_observe(struct met_hist *, double seconds);
void		 metrics_request(struct metrics *, unsigned route, int status);
void		 metrics_run(struct metrics *, const struct run_result *);
void		 metrics_llm(struct metrics *, int llm_err, double ms);
char		*metrics_render(const struct shared *, const struct pyexec_config *,
		    const char *const *routes, unsigned nroutes);
bool		 metrics_allowed(const char *allow, const char *addr);

/* status.c.  What a worker last heard of its slot's zygotes: the word
 * itself, and the restart counts it has added to /metrics so far. */
struct status_warm {
	struct run_warm	 last;			/* the zygotes, as last heard */
	uint8_t		 restarts[2];		/* zygote, keeper restarts
						 * its launcher said so far */
};
const char	*status_state_name(int);
struct json_object *status_slot(const struct shared_slot *, unsigned, bool detail);
char		*status_health(const struct shared *, int *http_status);
void		 status_warm_store(struct shared_slot *, struct metrics *,
		    struct status_warm *, const struct run_warm *);

struct slot;
struct run_slot;

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

/* worker.c: one per slot, unprivileged. */
struct worker {
	struct core_env	 env;			/* rs: owned by the worker */
	struct shared	*sh;			/* borrowed, shared mapping */
	int		 chan;			/* the channel to the front */
};

void		 worker_main(struct worker *) __attribute__((noreturn));
void		 worker_drop(const struct pyexec_config *);
void		 worker_exit(int) __attribute__((noreturn));

/* front.c: owns the listening socket; hands connections to idle workers
 * over their channels (chan[i], slot i), answers /health and /metrics,
 * and 503 past the queue's bounds; closes connections whose header does
 * not come (fcgiparse.h reads it). */
void		 front_main(const struct pyexec_config *, struct shared *,
		    const int *chan) __attribute__((noreturn));

/* guard.c: removes the slots' cgroups (and what is in them) when the
 * master dies without doing it; returns the pipe's write end. */
int		 guard_start(enum sb_cgversion, const char *name,
		    struct pyexec_config *);
void		 guard_done(int);

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
};

/* workspace.c: the request side of workspaces (sandbox/store.c). */
#define WS_DEFAULT_SESSION	"default"
int		 workspace_client(const struct pyexec_config *, const char *param,
		    bool key_valid, const char *addr, char *scope, size_t);
bool		 workspace_wanted(struct core_env *, struct task *);
int		 workspace_attach(struct core_env *, struct task *,
		    struct task_attempt *);
void		 workspace_after_run(struct core_env *, struct task_attempt *);
void		 workspace_release(struct core_env *);
void		 workspace_unusable(struct core_env *, struct task *,
		    const char *err);
void		 ws_req_fill(struct ws_req *, enum ws_op, const char *client,
		    const char *session, bool create);
struct json_object *item_workspace(const struct task *,
		    const struct task_attempt *);

void		 task_execute(struct core_env *, struct task *);
void		 task_generate(struct core_env *, struct task *);
const struct task_attempt *task_last(const struct task *);
void		 task_free(struct task *);
void		 task_report(const struct run_result *, struct task_attempt *);

/* artifact.c: a run's figures and files, checked again, as items. */
struct json_object *artifact_items(const char *, size_t,
		    const struct run_params *);
const char	*artifact_mime(const char *);
bool		 artifact_name_ok(const char *, size_t);
unsigned char	*artifact_b64_decode(const char *, size_t, size_t *);
void		 task_concerns_line(struct json_object *, char *, size_t);
char		*task_tail(const char *, size_t, size_t max);

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
	char			*body;		/* owned */
	size_t			 len;
	char			 id[UUID_STR_LEN];	/* the invocationId */
	struct exec_request	 req;		/* owned members */
	struct task		 task;		/* owned members */
	/* The answer.  body is owned (malloc). */
	int			 status;
	char			*answer;
	const char		*allow;		/* Allow header for 405, static */
	unsigned		 retry_after;	/* s: a Retry-After header, or 0 */
	const char		*route;		/* static, for the log */
	const char		*outcome;	/* static, for the log, or NULL */
	const char		*content_type;	/* static; NULL: JSON */
	const char		*remote_addr;	/* borrowed: nginx's REMOTE_ADDR */
	bool			 key_valid;	/* nginx says: a valid API key */
	char			 client[WS_NAME_MAX + 1]; /* the workspace scope,
						 * "" (workspace_client) */
	bool			 anonymous;	/* keyless (PYEXEC_ANONYMOUS_FROM) */
};

void		 exchange_free(struct exchange *);
void		 exchange_json(struct exchange *, int status, struct json_object *);
void		 exchange_error(struct exchange *, int status, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
void		 exchange_task_error(struct exchange *);

/* routes.c: the table of routes and the native handlers. */
typedef void	(*route_fn)(struct exchange *);
void		 route_dispatch(struct exchange *);
void		 route_answer(struct exchange *, struct json_object *items);
void		 route_workspace(struct exchange *);
unsigned	 route_index(const char *path);
const char *const *route_names(void);
unsigned	 route_count(void);

/* item.c: the native envelope's items, shaped from a task (callers own
 * what is returned). */
struct json_object *item_bytes(const char *, size_t);
struct json_object *item_text(const char *);
struct json_object *item_raw_json(const char *);
struct json_object *item_execution(const struct task *,
		    const struct task_attempt *, unsigned attempt);
void		 item_artifacts(struct json_object *, const struct task_attempt *,
		    unsigned attempt);
struct json_object *item_rejected(const struct task *, const struct task_attempt *,
		    unsigned attempt);
struct json_object *item_validation(const struct pyexec_config *, const struct task *);
struct json_object *item_code(const struct pyexec_config *, const struct task_attempt *,
		    unsigned attempt);
struct json_object *item_usage(const struct pyexec_config *, const struct task *);
void		 item_summary(const struct task *, char *, size_t);
char		*item_envelope(const char *id, struct json_object *items);
const char	*item_signal_name(int, char *, size_t);

/* seeds.c: the seed services' routes, one small adapter each. */
void		 seed004_execute(struct exchange *);
void		 seed_execute(struct exchange *);
void		 seed000_generate(struct exchange *);
void		 seed001_execute(struct exchange *);
void		 seed001_generate(struct exchange *);

#endif /* PYEXEC_H */
