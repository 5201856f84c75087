/*
 * conf.h (base): the configuration, read once from the environment by
 * the master (config.c), and what follows from it.  Included through base.h (its enum pyexec_err).
 */
#ifndef PYEXEC_CONF_H
#define PYEXEC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "trust.h"
#include "webguard.h"

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
	/* Workspaces (sandbox/host/store.c, fcgi-app/core/workspace.c). */
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
	bool		 sessions;		/* PYEXEC_SESSIONS (default 1) */
	unsigned	 ss_max;		/* PYEXEC_SESSIONS_MAX */
	unsigned	 ss_per_client;		/* PYEXEC_SESSIONS_PER_CLIENT */
	unsigned	 ss_idle;		/* PYEXEC_SESSION_IDLE, s */
	unsigned	 ss_max_age;		/* PYEXEC_SESSION_MAX_AGE, s */
	unsigned	 ss_grace_ms;		/* PYEXEC_SESSION_GRACE_MS */
	const char	*anonymous_from;	/* PYEXEC_ANONYMOUS_FROM: whose
						 * requests need no key ("") */
	const char	*nginx_anonymous_conf;	/* PYEXEC_NGINX_ANONYMOUS_CONF:
						 * nginx's copy of it ("": none) */
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
/* --env-example: systemd/pyexec.env.example; --nginx-defaults: NAME=value
 * lines, the nginx site's defaults; --nginx-geo: its geo block's keyless
 * addresses (all from config.c's table). */
void		 config_env_example(FILE *);
void		 config_nginx_defaults(FILE *);
void		 config_nginx_geo(FILE *, const struct pyexec_config *);
/* One setting's row alone, into c (the printing options'). */
enum pyexec_err	 config_load_var(struct pyexec_config *, const char *name,
		    char *, size_t);

#endif /* PYEXEC_CONF_H */
