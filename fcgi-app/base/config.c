/*
 * config.c: the service's configuration, read once from the environment.
 *
 * config_vars[] below is the one list of settings: each row names a
 * variable (and the older name a seed used, if any), its type, default,
 * bounds, the field of struct pyexec_config it fills and its
 * documentation.  config_load() is a loop over it; what a type cannot say
 * (a path's shape, a list's syntax, a default derived from another
 * setting, the LLM key's three sources) is a small check hook in its row.
 * `pyexec-fcgi --env-example` prints systemd/pyexec.env.example from the
 * same rows, `--nginx-defaults` the defaults of the settings nginx's
 * site is rendered with (scripts/dev, debian/render-nginx-site), and
 * `--nginx-geo` the keyless addresses of its geo block, from the row that
 * gives the worker its own list.
 *
 * Seed names are kept where a seed named one (PYTHON_EXECUTOR_*); the rest
 * are PYEXEC_*.  Every value is range-checked here, so the rest of the
 * program can trust the struct.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base.h"

#ifndef PYEXEC_LIBEXECDIR
#define PYEXEC_LIBEXECDIR "/usr/local/libexec/pyexec"
#endif
#ifndef PYEXEC_DATADIR
#define PYEXEC_DATADIR "/usr/local/share/pyexec"
#endif

/*
 * Parse "123", "64k", "1m", "2g" (case-insensitive, powers of 1024).
 * Returns 0 and sets *out, or -1.
 */
int
config_parse_size(const char *s, uint64_t *out)
{
	char		*end;
	unsigned long long v;
	uint64_t	 mult = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		mult = 1024;
		end++;
		break;
	case 'm':
		mult = 1024 * 1024;
		end++;
		break;
	case 'g':
		mult = 1024ULL * 1024 * 1024;
		end++;
		break;
	default:
		return -1;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static const char *
env_first(const char *a, const char *b)
{
	const char	*v = getenv(a);

	if ((v == NULL || *v == '\0') && b != NULL)
		v = getenv(b);
	return (v != NULL && *v != '\0') ? v : NULL;
}

/* ------------------------------------------------------------ the table -- */

enum config_type {
	CONFIG_SECTION,		/* no variable: a heading of --env-example */
	CONFIG_NGINX,		/* read by nginx's site, not by pyexec-fcgi */
	CONFIG_BOOL,		/* 0 or 1 (bool field) */
	CONFIG_SWITCH,		/* anything but 0 is on (bool field) */
	CONFIG_SIZE,		/* bytes or a count, k/m/g suffix allowed
				 * (unsigned, uid_t, size_t or uint64_t) */
	CONFIG_INT,		/* a whole number, no suffix (unsigned) */
	CONFIG_NUMBER,		/* a real number: seconds, cores (double; an
				 * unsigned field takes its whole part) */
	CONFIG_STRING,		/* text its check hook judges (const char *) */
	CONFIG_WORD,		/* one of words[]: its index (bool field) */
	CONFIG_KEY,		/* a source of the LLM key: the hook of the
				 * first such row reads them all */
};

/* The row was read only by nginx too: --nginx-defaults prints it. */
#define CONFIG_F_NGINX		0x1
/* Set and empty is a value ("" is not the default). */
#define CONFIG_F_EMPTY		0x2

struct config_var;

/*
 * A row's check, run once its value v (the environment's, or the default)
 * is stored: judges what the type cannot, derives what follows from it.
 * PYEXEC_OK, or PYEXEC_ERR_CONFIG with the message in err.
 */
typedef enum pyexec_err (*config_check)(struct pyexec_config *,
    const struct config_var *, const char *v, char *err, size_t errlen);

/* A default computed at start (the host's cores), as text, into buf. */
typedef void (*config_derive)(char *buf, size_t len);

struct config_var {
	enum config_type type;
	const char	*name;
	const char	*alias;		/* read when name is unset or empty */
	const char	*def;		/* as an operator writes it; NULL: none,
					 * or derive() */
	const char	*shown;		/* --env-example's value, where it is
					 * not def; NULL: def (or empty) */
	double		 lo, hi;	/* bounds, inclusive */
	size_t		 offset;	/* into struct pyexec_config */
	size_t		 width;		/* sizeof the field; 0: none */
	size_t		 hi_of;		/* 0, or hi is this double field */
	unsigned	 flags;		/* CONFIG_F_* */
	const char *const *words;	/* CONFIG_WORD's words, NULL-ended;
					 * a CONFIG_STRING's aux word */
	bool		(*valid)(const char *);	/* a string's shape */
	const char	*invalid;	/* the message when !valid(value) */
	config_check	 check;
	config_derive	 derive;
	const char	*doc;		/* comment lines before it */
};

#define FIELD(f)	.offset = offsetof(struct pyexec_config, f), \
			.width = sizeof(((struct pyexec_config *)0)->f)

static enum pyexec_err config_preload(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static enum pyexec_err config_memory(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static enum pyexec_err config_mounts(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static enum pyexec_err config_web(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static enum pyexec_err config_llm_key(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static enum pyexec_err config_retry_after(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static enum pyexec_err config_policy(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static bool config_instance_ok(const char *);
static bool config_absolute(const char *);
static bool config_workspace_dir_ok(const char *);
static enum pyexec_err config_anonymous(struct pyexec_config *,
    const struct config_var *, const char *, char *, size_t);
static bool config_absolute_or_none(const char *);
static bool config_llm_url_ok(const char *);
static bool config_addresses_ok(const char *);
static bool config_names_ok(const char *);
static void config_two_per_core(char *, size_t);
static void config_sessions_for_host(char *, size_t);
static void config_one_per_core(char *, size_t);

static const char *const config_validate_words[] = { "refuse", "run", NULL };
static const char *const config_word_modules[] = { "deny_modules", NULL };
static const char *const config_word_calls[] = { "deny_calls", NULL };
static const char *const config_word_attrs[] = { "deny_attrs", NULL };

#define PRELOAD_MAX	190	/* fits the launcher's report of it */
#define CONFIG_EXEC_PATHS	"PYEXEC_LAUNCHER, PYEXEC_RUNNER and " \
	"PYEXEC_ZYGOTE must be absolute paths"
#define NAMES_MSG(w)	"PYEXEC_SEED001_DENY_" w ": a comma-separated list of names"

/*
 * Every setting, in the order of systemd/pyexec.env.example (and of
 * reading: a row may use the rows above it).  SECTION rows are its
 * headings.
 */
static const struct config_var config_vars[] = {
	{ .type = CONFIG_SECTION, .doc =
	    "--- nginx side ---------------------------------------------------------------\n"
	    "In production these are substituted into nginx/pyexec.conf.in when the site is\n"
	    "installed (see nginx/README.md); scripts/dev reads them on `up`.\n\n"
	    "" },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_LISTEN", .def = "127.0.0.1:8080",
	    .flags = CONFIG_F_NGINX,
	    .doc = "Address nginx listens on ([host:]port)." },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_API_KEYS", .doc =
	    "Comma-separated API keys (8-256 chars of [A-Za-z0-9._~+/=-]); clients send\n"
	    "`Integrations-API-Key: <key>` or `Authorization: Bearer <key>`.\n"
	    "Dev default: a generated key kept in run/api-key (mode 0600) and printed." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_BODY", .def = "1m", .lo = 1024,
	    .hi = 64 << 20, FIELD(max_body), .flags = CONFIG_F_NGINX, .doc =
	    "Largest request body (nginx size syntax: bytes, or k/m suffix). nginx answers\n"
	    "413 above it; the worker enforces the same limit, keep both equal." },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_KEY_RATE", .def = "20", .flags = CONFIG_F_NGINX,
	    .doc = "Requests per second and burst per API key (nginx limit_req, 429 + Retry-After: 1)." },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_KEY_BURST", .def = "40", .flags = CONFIG_F_NGINX },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_ADDR_RATE", .def = "50", .flags = CONFIG_F_NGINX,
	    .doc = "Requests per second and burst per client address." },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_ADDR_BURST", .def = "100", .flags = CONFIG_F_NGINX },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_ANON_RATE", .doc =
	    "Requests per second and burst per keyless address (PYEXEC_ANONYMOUS_FROM).\n"
	    "Default: PYEXEC_KEY_RATE and PYEXEC_KEY_BURST." },
	{ .type = CONFIG_NGINX, .name = "PYEXEC_ANON_BURST" },

	{ .type = CONFIG_SECTION, .doc =
	    "--- master -------------------------------------------------------------------" },
	{ .type = CONFIG_STRING, .name = "PYEXEC_BACKEND_SECRET_FILE",
	    .def = "/etc/pyexec/backend-secret", FIELD(backend_secret_file),
	    .valid = config_absolute,
	    .invalid = "PYEXEC_BACKEND_SECRET_FILE: an absolute path", .doc =
	    "The backend secret nginx proves itself with on every request: 64 lowercase\n"
	    "hex digits (32 random bytes), root's, mode 0600; the master reads it at\n"
	    "start and refuses to start without it. nginx sends the same secret from\n"
	    "/etc/pyexec/nginx-backend-secret.conf. Made by the Debian package; else\n"
	    "docs/operations.md, \"The backend secret\". Dev default: <run>/backend-secret." },
	{ .type = CONFIG_NUMBER, .name = "PYEXEC_WORKERS", .lo = 1, .hi = 256, FIELD(workers),
	    .derive = config_two_per_core, .doc =
	    "Number of workers (= sandbox slots). Default: 2 x the number of cores." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_USER", .def = "pyexec", FIELD(user), .doc =
	    "System user the workers run as (created by scripts/dev setup; in production:\n"
	    "useradd --system --no-create-home --shell /usr/sbin/nologin pyexec)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_UID_BASE", .def = "61000", .lo = 1000,
	    .hi = 4000000000.0, FIELD(uid_base), .doc =
	    "Slot i uses host uids PYEXEC_UID_BASE+2i (its launcher, root only inside the\n"
	    "slot's user namespace) and PYEXEC_UID_BASE+2i+1 (its runs). No account may own\n"
	    "them (pyexec-fcgi refuses to start otherwise); they need no passwd entry." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_LAUNCHER",
	    .def = PYEXEC_LIBEXECDIR "/pyexec-launcher", FIELD(launcher_path),
	    .valid = config_absolute, .invalid = CONFIG_EXEC_PATHS, .doc =
	    "Slot launcher (pid 1 of a slot) and the Python runner. Defaults: the installed\n"
	    "paths, $(libexecdir)/pyexec/pyexec-launcher and $(pkgdatadir)/runner.py." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_RUNNER", .def = PYEXEC_DATADIR "/runner.py",
	    FIELD(runner_path), .valid = config_absolute, .invalid = CONFIG_EXEC_PATHS },
	{ .type = CONFIG_STRING, .name = "PYEXEC_ZYGOTE",
	    .def = PYEXEC_LIBEXECDIR "/pyexec-zygote.so", FIELD(zygote_path),
	    .valid = config_absolute, .invalid = CONFIG_EXEC_PATHS, .doc =
	    "The warm interpreters' library (absolute path). Default: next to the launcher,\n"
	    "$(libexecdir)/pyexec/pyexec-zygote.so." },
	{ .type = CONFIG_BOOL, .name = "PYEXEC_WARM", .def = "1", FIELD(warm), .doc =
	    "Warm interpreters (\"zygotes\"): 1 forks each run from a warm python (a bare one\n"
	    "and a data one with PYEXEC_PRELOAD imported; ~95 MB more memory per worker);\n"
	    "0 starts every run cold." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_PRELOAD", .def = "numpy,pandas,matplotlib",
	    FIELD(preload), .flags = CONFIG_F_EMPTY, .check = config_preload,
	    .doc =
	    "The data zygote's modules: comma-separated, dotted names allowed, at most 190\n"
	    "characters; empty for none. Code that names one (its first part, as a whole\n"
	    "word) runs in the data zygote; other code in the bare one." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WARM_MAX_RUNS", .def = "100", .lo = 1,
	    .hi = 1000000, FIELD(warm_max_runs), .doc =
	    "Every run of a zygote shares its address layout, stack canary, pointer guard\n"
	    "and str hash secret: a zygote is replaced (in the background; the other one\n"
	    "or the cold path serves meanwhile) after this many runs (1-1000000) or this\n"
	    "many seconds after it was ready (1-2592000), whichever comes first." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WARM_MAX_AGE", .def = "600", .lo = 1,
	    .hi = 30 * 86400, FIELD(warm_max_age) },

	{ .type = CONFIG_SECTION, .doc =
	    "--- worker -------------------------------------------------------------------" },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_OUTPUT_BYTES", .def = "1048576", .lo = 1024,
	    .hi = 64 << 20, FIELD(max_output), .doc =
	    "Cap on stdout+stderr of one run, in bytes; past it the run is killed\n"
	    "(outcome output_limit, truncated true)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_ARTIFACT_BYTES", .def = "8388608", .lo = 0,
	    .hi = 64 << 20, FIELD(max_artifact_bytes), .doc =
	    "Artifacts of the native routes (figures, files of /tmp/outputs): bytes in\n"
	    "all per run (0..64 MiB), bytes of one (0..64 MiB), how many come with their\n"
	    "data (0..100). What passes a cap is listed with truncated true and its size." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_ARTIFACT_ITEM_BYTES", .def = "5242880",
	    .lo = 0, .hi = 64 << 20, FIELD(max_artifact_item) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_ARTIFACTS", .def = "20", .lo = 0, .hi = 100,
	    FIELD(max_artifacts) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_INPUT_FILES", .def = "20", .lo = 0, .hi = 1000,
	    FIELD(max_input_files), .doc =
	    "Input files of the native routes (\"files\" in the request, written into the\n"
	    "run's working directory /tmp before the code starts): how many (0..1000),\n"
	    "decoded bytes of one (0..64 MiB), decoded bytes in all (0..64 MiB).  Past a\n"
	    "cap the request is refused (400).  The body cap PYEXEC_MAX_BODY (base64 is\n"
	    "4/3 of the bytes) comes first: raise it to use these in full." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_INPUT_FILE_BYTES", .def = "1048576", .lo = 0,
	    .hi = 64 << 20, FIELD(max_input_file) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_INPUT_BYTES", .def = "5242880", .lo = 0,
	    .hi = 64 << 20, FIELD(max_input_bytes) },
	{ .type = CONFIG_NUMBER, .name = "PYTHON_EXECUTOR_MAX_TIMEOUT", .def = "30", .lo = 0.1,
	    .hi = 3600, FIELD(max_timeout), .doc =
	    "Run time limit in seconds: the largest value a request may ask for, and the\n"
	    "default when the request has no \"timeout\" (at most the largest)." },
	{ .type = CONFIG_NUMBER, .name = "PYTHON_EXECUTOR_DEFAULT_TIMEOUT", .def = "5",
	    .lo = 0.1, .hi_of = offsetof(struct pyexec_config, max_timeout),
	    FIELD(default_timeout) },
	{ .type = CONFIG_SIZE, .name = "PYTHON_EXECUTOR_DEFAULT_MAX_MEMORY", .def = "100",
	    .lo = PYEXEC_MIN_MEMORY_MB, .hi = 1 << 20, FIELD(default_memory_mb),
	    .doc =
	    "Memory limit in MB: default when the request has no \"memory_limit\", and the\n"
	    "largest value a request may ask for (requests may go down to 16 MB)." },
	{ .type = CONFIG_SIZE, .name = "PYTHON_EXECUTOR_MAX_MEMORY", .def = "500",
	    .lo = PYEXEC_MIN_MEMORY_MB, .hi = 1 << 20, FIELD(max_memory_mb),
	    .check = config_memory },

	{ .type = CONFIG_SECTION, .doc =
	    "--- further settings read by pyexec-fcgi (fcgi-app/base/config.c) ------------" },
	{ .type = CONFIG_STRING, .name = "PYEXEC_INSTANCE", .def = "default", FIELD(instance),
	    .valid = config_instance_ok,
	    .invalid = "PYEXEC_INSTANCE: at most 32 of [a-z0-9_-]", .doc =
	    "Name of this instance: slot cgroups are pyexec/<instance>/slot-N. Give every\n"
	    "master on one host its own instance (and its own PYEXEC_UID_BASE range)." },
	{ .type = CONFIG_NUMBER, .name = "PYEXEC_MAX_CPU", .lo = 0.1, .hi = 1024, FIELD(max_cpu),
	    .derive = config_one_per_core, .doc =
	    "Largest cpu_limit a request may ask for. Default: the number of cores." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_PIDS", .def = "64", .lo = 8, .hi = 4096,
	    FIELD(max_pids), .doc =
	    "Per-run resource caps: processes, /tmp size, file size, open files." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_TMP_SIZE", .def = "64m", .lo = 1 << 20,
	    .hi = 1ULL << 32, FIELD(tmp_size) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_FILE_SIZE", .def = "32m", .lo = 4096,
	    .hi = 1ULL << 32, FIELD(max_file_size) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_OPEN_FILES", .def = "256", .lo = 32,
	    .hi = 65536, FIELD(max_open_files) },

	{ .type = CONFIG_SECTION, .doc =
	    "--- workspaces (docs/api.md \"Workspaces\", docs/operations.md) ----------------" },
	{ .type = CONFIG_BOOL, .name = "PYEXEC_WORKSPACES", .def = "1", FIELD(workspaces), .doc =
	    "Directories that outlive a run: seed 003's working directory, and native\n"
	    "requests that name a session_id. 0 turns them off." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_WORKSPACE_DIR", .alias = "OUTPUT_DATA_PATH",
	    .def = "/var/lib/pyexec/workspaces", FIELD(workspace_dir),
	    .valid = config_workspace_dir_ok,
	    .invalid = "PYEXEC_WORKSPACE_DIR: an absolute path of at most 200 "
	    "characters", .doc =
	    "Where the images are (root's, 0700); OUTPUT_DATA_PATH is the same setting." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_MAX_BYTES", .def = "64m", .lo = 1 << 20,
	    .hi = 1ULL << 40, FIELD(ws_max_bytes), .doc =
	    "The quota of one workspace (the kernel holds it while a run writes)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_MAX_FILES", .def = "4096", .lo = 16,
	    .hi = 1 << 20, FIELD(ws_max_files) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACES_PER_CLIENT", .def = "16", .lo = 1,
	    .hi = 100000, FIELD(ws_per_client), .doc =
	    "How many per client (API key or keyless address), and in all (then 507)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACES_MAX", .def = "1024", .lo = 1,
	    .hi = 1000000, FIELD(ws_max_total) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_IDLE", .def = "3600", .lo = 1,
	    .hi = 365 * 86400, FIELD(ws_idle), .doc =
	    "Deleted when unused this long, or this old (s); looked for every SWEEP s." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_MAX_AGE", .def = "86400", .lo = 1,
	    .hi = 10 * 365 * 86400, FIELD(ws_max_age) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_SWEEP", .def = "60", .lo = 1,
	    .hi = 86400, FIELD(ws_sweep) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_WAIT", .def = "10", .lo = 0, .hi = 600,
	    FIELD(ws_wait), .doc =
	    "A request waits this long (s) for a workspace another one holds (then 409)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_MOUNTS", .def = "0", .shown = "",
	    .lo = 0, .hi = 4096, FIELD(ws_mounts), .check = config_mounts, .doc =
	    "Unused workspaces kept mounted (default: twice the workers)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_MIN_FREE", .def = "1g", .lo = 0,
	    .hi = 1ULL << 50, FIELD(ws_min_free), .doc =
	    "The floor of the store's disk: every workspace counts at its full size\n"
	    "(though sparse) at creation, and again at attach (then 507)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_CREATE_RATE", .def = "60", .lo = 0,
	    .hi = 100000, FIELD(ws_create_rate), .doc =
	    "New workspaces per client: a minute after a burst of BURST at once (then\n"
	    "429 with Retry-After); 0: no limit." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_WORKSPACE_CREATE_BURST", .def = "20", .lo = 1,
	    .hi = 100000, FIELD(ws_create_burst) },

	{ .type = CONFIG_SECTION, .doc =
	    "--- live sessions (docs/api.md \"Live sessions\") ----------------------------" },
	{ .type = CONFIG_BOOL, .name = "PYEXEC_SESSIONS", .def = "1", FIELD(sessions), .doc =
	    "Interpreters that keep their names between calls (/v1/sessions); they need\n"
	    "workspaces (PYEXEC_WORKSPACES=1). 0 turns them off." },
	{ .type = CONFIG_NUMBER, .name = "PYEXEC_SESSIONS_MAX", .lo = 1, .hi = 1024,
	    .derive = config_sessions_for_host, FIELD(ss_max), .doc =
	    "Live sessions on this host (then 507). Default: one per 256 MiB of memory,\n"
	    "at least 4, at most 1024 (the master prints it at start). Session k runs as\n"
	    "host uid PYEXEC_UID_BASE + 2 x PYEXEC_WORKERS + k." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_SESSIONS_PER_CLIENT", .def = "4", .lo = 1,
	    .hi = 1024, FIELD(ss_per_client), .doc =
	    "Live sessions per client (API key or keyless address) at once (then 429)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_SESSION_IDLE", .def = "600", .lo = 1,
	    .hi = 86400, FIELD(ss_idle), .doc =
	    "A session unused this long (s) is ended; a create may ask for less." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_SESSION_MAX_AGE", .def = "3600", .lo = 1,
	    .hi = 7 * 86400, FIELD(ss_max_age), .doc =
	    "A session this old (s) is ended, even in a call." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_SESSION_GRACE_MS", .def = "500", .lo = 10,
	    .hi = 10000, FIELD(ss_grace_ms), .doc =
	    "After a call's timeout its code gets KeyboardInterrupt; a session that has\n"
	    "not answered this many ms later is killed (its state is lost)." },

	{ .type = CONFIG_SECTION, .doc =
	    "--- keyless clients (docs/operations.md \"Keyless clients\") ------------------" },
	{ .type = CONFIG_STRING, .name = "PYEXEC_ANONYMOUS_FROM", .def = "", FIELD(anonymous_from),
	    .flags = CONFIG_F_EMPTY, .check = config_anonymous, .doc =
	    "Addresses or networks whose requests need no key (sidecars on the same host\n"
	    "or a private network), separated by commas: 127.0.0.1,10.1.2.0/24. Empty:\n"
	    "no address is admitted without a key (the keyless paths, such as / and\n"
	    "/health, stay keyless). Written here only: nginx's geo block gets it\n"
	    "from `pyexec-fcgi --nginx-geo` (the file below, or scripts/dev's site)." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_NGINX_ANONYMOUS_CONF",
	    .def = "/etc/pyexec/nginx-anonymous.conf", FIELD(nginx_anonymous_conf),
	    .flags = CONFIG_F_EMPTY, .valid = config_absolute_or_none,
	    .invalid = "PYEXEC_NGINX_ANONYMOUS_CONF: an absolute path, or empty",
	    .doc =
	    "The file the nginx site's geo block includes: PYEXEC_ANONYMOUS_FROM's entries,\n"
	    "written by `pyexec-fcgi --nginx-geo-update` (the unit, before each start; then\n"
	    "reload nginx). The master warns at start when it is not the list. Set and\n"
	    "empty: none (the site holds the list itself, as scripts/dev's)." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_SERVER_NAMES", .def = "", FIELD(web.server_names),
	    .flags = CONFIG_F_EMPTY, .check = config_web, .doc =
	    "Keyless requests must name the service in their Host header: localhost,\n"
	    "127.0.0.1, [::1], or one of these names/addresses (no port; IPv6 in\n"
	    "brackets), e.g. pyexec.internal,10.1.2.3. Any other Host is refused (403):\n"
	    "it may be a web page's DNS rebinding." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_ALLOWED_ORIGINS", .def = "",
	    FIELD(web.allowed_origins), .flags = CONFIG_F_EMPTY,
	    .check = config_web, .doc =
	    "Origins (https://app.example.com; no path) of web pages that may send\n"
	    "keyless requests besides the service's own. Default none: a keyless request\n"
	    "with another Origin, or a body that is not application/json, gets 403\n"
	    "(docs/security.md \"Keyless requests and web pages\")." },

	{ .type = CONFIG_SECTION, .doc =
	    "--- LLM (POST /v1/generate-and-execute, validate_code); see docs/llm.md ---" },
	{ .type = CONFIG_STRING, .name = "PYEXEC_LLM_URL", .def = "https://api.together.xyz/v1",
	    FIELD(llm_url), .valid = config_llm_url_ok,
	    .invalid = "PYEXEC_LLM_URL: must start with https:// or http://",
	    .doc =
	    "OpenAI-compatible base URL; pyexec POSTs to {URL}/chat/completions." },
	{ .type = CONFIG_STRING, .name = "PYEXEC_LLM_MODEL",
	    .def = "meta-llama/Llama-3.3-70B-Instruct-Turbo", FIELD(llm_model) },
	{ .type = CONFIG_KEY, .name = "PYEXEC_LLM_API_KEY_FILE", .shown = "/etc/pyexec/llm-key",
	    .check = config_llm_key, .doc =
	    "The key: prefer a root-only file (first line) over putting it here." },
	{ .type = CONFIG_KEY, .name = "PYEXEC_LLM_API_KEY" },
	{ .type = CONFIG_KEY, .name = "TOGETHER_API_KEY" },
	{ .type = CONFIG_NUMBER, .name = "PYEXEC_LLM_TIMEOUT", .alias = "API_TIMEOUT", .def = "30",
	    .lo = 1, .hi = 600, FIELD(llm_timeout), .doc =
	    "Seconds for the whole exchange with the model, retries included (alias API_TIMEOUT)." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_LLM_RETRIES", .def = "2", .lo = 0, .hi = 5,
	    FIELD(llm_retries) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_LLM_MAX_RESPONSE_BYTES", .def = "1048576",
	    .lo = 4096, .hi = 64 << 20, FIELD(llm_max_response) },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_MAX_QUERY_CHARS", .def = "4000", .lo = 1,
	    .hi = 100000, FIELD(max_query_chars) },
	{ .type = CONFIG_WORD, .name = "PYEXEC_VALIDATE_WITHOUT_MODEL", .def = "refuse",
	    FIELD(validate_run), .words = config_validate_words, .doc =
	    "validate_code when no verdict comes (no model, or none it could give):\n"
	    "refuse (the code does not run) or run (it runs unreviewed, the old way)." },

	{ .type = CONFIG_SECTION, .doc =
	    "--- overload: the front's queue (docs/operations.md) ---" },
	{ .type = CONFIG_NUMBER, .name = "PYEXEC_QUEUE_TIMEOUT", .def = "10", .lo = 0.1,
	    .hi = 3600, FIELD(queue_timeout), .check = config_retry_after, .doc =
	    "Seconds a request may wait for a free worker before a 503 with Retry-After." },
	{ .type = CONFIG_INT, .name = "PYEXEC_QUEUE_MAX", .def = "512", .lo = 1, .hi = 900,
	    FIELD(queue_max), .doc =
	    "Requests that wait for a worker at most (1-900); past it, 503 at once." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_HEADER_TIMEOUT", .def = "5", .lo = 1, .hi = 60,
	    FIELD(header_timeout), .doc =
	    "Seconds a connection has to send its whole FastCGI header (1-60); then\n"
	    "the front closes it.  nginx sends it at once." },
	{ .type = CONFIG_SIZE, .name = "PYEXEC_HEADER_MAX", .def = "256", .lo = 16, .hi = 4096,
	    FIELD(header_max), .doc =
	    "Connections the front reads at once, apart from the queue (16-4096);\n"
	    "past it, the oldest of them is closed." },

	{ .type = CONFIG_SECTION, .doc =
	    "--- GET /metrics (Prometheus): who may read it without an API key ---" },
	{ .type = CONFIG_STRING, .name = "PYEXEC_METRICS_ALLOW", .def = "127.0.0.1,::1",
	    FIELD(metrics_allow), .flags = CONFIG_F_EMPTY,
	    .valid = config_addresses_ok, .invalid = "PYEXEC_METRICS_ALLOW: "
	    "addresses or networks separated by commas, like "
	    "127.0.0.1,::1,10.0.0.0/8", .doc =
	    "Addresses or networks, separated by commas; set and empty: nobody." },
	{ .type = CONFIG_SWITCH, .name = "PYEXEC_METRICS", .def = "1", FIELD(metrics), .doc =
	    "0: count nothing, /metrics answers 404." },

	{ .type = CONFIG_SECTION, .doc =
	    "--- the IBM executor's routes (/system/..., /experience/...) ---" },
	{ .type = CONFIG_SIZE, .name = "PYTHON_EXECUTOR_MAX_INPUT_LENGTH", .def = "1000", .lo = 1,
	    .hi = 1 << 20, FIELD(max_input_length) },
	{ .type = CONFIG_STRING, .name = "PYEXEC_SEED001_DENY_MODULES",
	    .def = "os,sys,subprocess,shutil,socket", .flags = CONFIG_F_EMPTY,
	    .words = config_word_modules, .valid = config_names_ok,
	    .invalid = NAMES_MSG("MODULES"), .check = config_policy },
	{ .type = CONFIG_STRING, .name = "PYEXEC_SEED001_DENY_CALLS",
	    .def = "eval,exec,compile,__import__", .flags = CONFIG_F_EMPTY,
	    .words = config_word_calls, .valid = config_names_ok,
	    .invalid = NAMES_MSG("CALLS"), .check = config_policy },
	{ .type = CONFIG_STRING, .name = "PYEXEC_SEED001_DENY_ATTRIBUTES",
	    .def = "__globals__,__getattribute__,__class__",
	    .flags = CONFIG_F_EMPTY, .words = config_word_attrs,
	    .valid = config_names_ok, .invalid = NAMES_MSG("ATTRIBUTES"),
	    .check = config_policy },
};

#define CONFIG_NVARS	(sizeof(config_vars) / sizeof(config_vars[0]))

/* ------------------------------------------------------------ the types -- */

/* The field of row r in c. */
static void *
config_field(struct pyexec_config *c, const struct config_var *r)
{
	return (char *)c + r->offset;
}

/* An unsigned value into a field of 4 or 8 bytes. */
static void
config_store_u(struct pyexec_config *c, const struct config_var *r,
    uint64_t v)
{
	void	*p = config_field(c, r);

	if (r->width == sizeof(uint64_t))
		*(uint64_t *)p = v;
	else
		*(uint32_t *)p = (uint32_t)v;
}

static enum pyexec_err
config_read_size(struct pyexec_config *c, const struct config_var *r,
    const char *name, const char *v, bool given, char *err, size_t errlen)
{
	uint64_t	 n, lo = (uint64_t)r->lo, hi = (uint64_t)r->hi;

	if (config_parse_size(v, &n) != 0 || (given && (n < lo || n > hi))) {
		snprintf(err, errlen, "%s: must be a size between %llu and %llu "
		    "(k, m or g suffix allowed)", name,
		    (unsigned long long)lo, (unsigned long long)hi);
		return PYEXEC_ERR_CONFIG;
	}
	config_store_u(c, r, n);
	return PYEXEC_OK;
}

static enum pyexec_err
config_read_int(struct pyexec_config *c, const struct config_var *r,
    const char *name, const char *v, bool given, char *err, size_t errlen)
{
	char		*end;
	unsigned long	 n = strtoul(v, &end, 10);

	if (*end != '\0' || (given && (n < r->lo || n > r->hi))) {
		snprintf(err, errlen, "%s: an integer from %g to %g", name, r->lo,
		    r->hi);
		return PYEXEC_ERR_CONFIG;
	}
	config_store_u(c, r, n);
	return PYEXEC_OK;
}

static enum pyexec_err
config_read_number(struct pyexec_config *c, const struct config_var *r,
    const char *name, const char *v, bool given, char *err, size_t errlen)
{
	double		 hi = r->hi, d;
	char		*end;

	if (r->hi_of != 0)
		hi = *(const double *)(const void *)((const char *)c + r->hi_of);
	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) ||
	    (given && (d < r->lo || d > hi))) {
		snprintf(err, errlen, "%s: must be a number between %g and %g",
		    name, r->lo, hi);
		return PYEXEC_ERR_CONFIG;
	}
	if (r->width == sizeof(double))
		*(double *)config_field(c, r) = d;
	else
		*(unsigned *)config_field(c, r) = (unsigned)d;
	return PYEXEC_OK;
}

static enum pyexec_err
config_read_bool(struct pyexec_config *c, const struct config_var *r,
    const char *name, const char *v, char *err, size_t errlen)
{
	if (r->type == CONFIG_SWITCH) {
		*(bool *)config_field(c, r) = strcmp(v, "0") != 0;
		return PYEXEC_OK;
	}
	if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
		snprintf(err, errlen, "%s: must be 0 or 1", name);
		return PYEXEC_ERR_CONFIG;
	}
	*(bool *)config_field(c, r) = v[0] == '1';
	return PYEXEC_OK;
}

/* "a or b", "a, b or c": a row's words, for its message. */
static void
config_words(const struct config_var *r, char *buf, size_t len)
{
	size_t	i, o = 0;

	buf[0] = '\0';
	for (i = 0; r->words[i] != NULL && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
		    i == 0 ? "" : r->words[i + 1] == NULL ? " or " : ", ",
		    r->words[i]);
}

static enum pyexec_err
config_read_word(struct pyexec_config *c, const struct config_var *r,
    const char *name, const char *v, char *err, size_t errlen)
{
	char	words[128];
	size_t	i;

	for (i = 0; r->words[i] != NULL; i++)
		if (strcmp(v, r->words[i]) == 0) {
			*(bool *)config_field(c, r) = i != 0;
			return PYEXEC_OK;
		}
	config_words(r, words, sizeof(words));
	snprintf(err, errlen, "%s: must be %s", name, words);
	return PYEXEC_ERR_CONFIG;
}

/*
 * What the environment gives row r: NULL when it gives nothing (unset,
 * or empty unless the row takes ""); *name is the variable read.
 */
static const char *
config_env(const struct config_var *r, const char **name)
{
	const char	*v;

	*name = r->name;
	if (r->flags & CONFIG_F_EMPTY)
		return getenv(r->name);
	if ((v = env_first(r->name, NULL)) == NULL && r->alias != NULL &&
	    (v = env_first(r->alias, NULL)) != NULL)
		*name = r->alias;
	return v;
}

/* Row r: its value read, typed and stored, then its check. */
static enum pyexec_err
config_read(struct pyexec_config *c, const struct config_var *r, char *err,
    size_t errlen)
{
	const char	*name, *v;
	char		 derived[32];
	bool		 given;
	enum pyexec_err	 rc = PYEXEC_OK;

	if (r->type == CONFIG_SECTION || r->type == CONFIG_NGINX)
		return PYEXEC_OK;
	v = config_env(r, &name);
	given = v != NULL;
	if (v == NULL && r->derive != NULL) {
		r->derive(derived, sizeof(derived));
		v = derived;
	} else if (v == NULL)
		v = r->def != NULL ? r->def : "";
	switch (r->type) {
	case CONFIG_SECTION:
	case CONFIG_NGINX:
	case CONFIG_KEY:
		break;
	case CONFIG_BOOL:
	case CONFIG_SWITCH:
		rc = config_read_bool(c, r, name, v, err, errlen);
		break;
	case CONFIG_SIZE:
		rc = config_read_size(c, r, name, v, given, err, errlen);
		break;
	case CONFIG_INT:
		rc = config_read_int(c, r, name, v, given, err, errlen);
		break;
	case CONFIG_NUMBER:
		rc = config_read_number(c, r, name, v, given, err, errlen);
		break;
	case CONFIG_WORD:
		rc = config_read_word(c, r, name, v, err, errlen);
		break;
	case CONFIG_STRING:
		if (r->width != 0)
			*(const char **)config_field(c, r) = v;
		break;
	}
	if (rc == PYEXEC_OK && r->valid != NULL && !r->valid(v)) {
		snprintf(err, errlen, "%s", r->invalid);
		rc = PYEXEC_ERR_CONFIG;
	}
	if (rc == PYEXEC_OK && r->check != NULL)
		rc = r->check(c, r, v, err, errlen);
	return rc;
}

/* ------------------------------------------------------------ the hooks -- */

static void
config_one_per_core(char *buf, size_t len)
{
	long	ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(buf, len, "%ld", ncpu < 1 ? 1 : ncpu);
}

static void
config_two_per_core(char *buf, size_t len)
{
	long	ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(buf, len, "%ld", 2 * (ncpu < 1 ? 1 : ncpu));
}

/* PYEXEC_SESSIONS_MAX: one live session per 256 MiB of memory, 4-1024. */
static void
config_sessions_for_host(char *buf, size_t len)
{
	long	pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	long	n = pages > 0 && size > 0 ?
		    (long)((double)pages * (double)size / (256.0 * 1048576.0)) : 4;

	snprintf(buf, len, "%ld", n < 4 ? 4 : n > 1024 ? 1024 : n);
}

/* PYEXEC_INSTANCE names cgroups: at most 32 of [a-z0-9_-]. */
static bool
config_instance_ok(const char *v)
{
	return strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_") ==
	    strlen(v) && strlen(v) <= 32;
}

/*
 * The launcher, the runner, the zygote library, and the file of the
 * secret nginx proves itself with (trust.c): absolute paths.  The secret
 * itself is read by master_preflight(), as root, not here: --budget and
 * --cleanup load the configuration without it.
 */
static bool
config_absolute(const char *v)
{
	return v[0] == '/';
}

/* PYEXEC_PRELOAD: name(.name)*(,name(.name)*)*, each name a Python
 * identifier, at most PRELOAD_MAX characters; "" for none. */
static enum pyexec_err
config_preload(struct pyexec_config *c, const struct config_var *r,
    const char *v, char *err, size_t errlen)
{
	const char	*q;

	(void)c;
	(void)r;
	if (strlen(v) > PRELOAD_MAX) {
		snprintf(err, errlen, "PYEXEC_PRELOAD: at most %d characters",
		    PRELOAD_MAX);
		return PYEXEC_ERR_CONFIG;
	}
	for (q = v; *q != '\0'; q++) {
		bool start = q == v || q[-1] == ',' || q[-1] == '.';

		if ((*q == ',' || *q == '.') && !start && q[1] != '\0')
			continue;
		if (isalpha((unsigned char)*q) || *q == '_' ||
		    (!start && isdigit((unsigned char)*q)))
			continue;
		snprintf(err, errlen, "PYEXEC_PRELOAD: module names separated "
		    "by commas, like numpy,pandas,matplotlib");
		return PYEXEC_ERR_CONFIG;
	}
	return PYEXEC_OK;
}

/* A request's default memory may not pass the largest it may ask for. */
static enum pyexec_err
config_memory(struct pyexec_config *c, const struct config_var *r,
    const char *v, char *err, size_t errlen)
{
	(void)r;
	(void)v;
	if (c->default_memory_mb > c->max_memory_mb) {
		snprintf(err, errlen, "PYTHON_EXECUTOR_DEFAULT_MAX_MEMORY: "
		    "must not exceed PYTHON_EXECUTOR_MAX_MEMORY (%u)",
		    c->max_memory_mb);
		return PYEXEC_ERR_CONFIG;
	}
	return PYEXEC_OK;
}

/* PYEXEC_WORKSPACE_DIR (OUTPUT_DATA_PATH, seed 003's name): absolute. */
static bool
config_workspace_dir_ok(const char *v)
{
	return v[0] == '/' && strlen(v) <= 200 && strstr(v, "/../") == NULL;
}

/* PYEXEC_WORKSPACE_MOUNTS: 0 (the default) is twice the workers. */
static enum pyexec_err
config_mounts(struct pyexec_config *c, const struct config_var *r,
    const char *v, char *err, size_t errlen)
{
	(void)r;
	(void)v;
	(void)err;
	(void)errlen;
	if (c->ws_mounts == 0)
		c->ws_mounts = 2 * c->workers;
	return PYEXEC_OK;
}

/*
 * PYEXEC_ANONYMOUS_FROM: addresses or networks whose requests need no
 * key (nginx decides, the worker checks it agrees); never everyone.  The
 * message names the first entry refused.
 */
static enum pyexec_err
config_anonymous(struct pyexec_config *c, const struct config_var *r,
    const char *v, char *err, size_t errlen)
{
	const char	*e;
	size_t		 n;

	(void)c;
	(void)r;
	if ((e = metrics_list_bad(v, false, &n)) != NULL)
		snprintf(err, errlen, "PYEXEC_ANONYMOUS_FROM: '%.*s' is not an "
		    "address or network (addresses or networks separated by "
		    "commas, like 127.0.0.1,10.1.2.0/24)", (int)(n > 64 ? 64 : n),
		    e);
	else if ((e = metrics_list_bad(v, true, &n)) != NULL)
		snprintf(err, errlen, "PYEXEC_ANONYMOUS_FROM: '%.*s' is everyone "
		    "(every IPv4 address, or every address): never that",
		    (int)n, e);
	return e == NULL ? PYEXEC_OK : PYEXEC_ERR_CONFIG;
}

static bool
config_absolute_or_none(const char *v)
{
	return v[0] == '\0' || v[0] == '/';
}

/*
 * What keyless requests may name (webguard.c): PYEXEC_SERVER_NAMES, the
 * service's names besides localhost, 127.0.0.1 and [::1], and
 * PYEXEC_ALLOWED_ORIGINS, the origins of other sites' pages that may
 * send them.  An entry that is not one refuses the start.
 */
static enum pyexec_err
config_web(struct pyexec_config *c, const struct config_var *r,
    const char *v, char *err, size_t errlen)
{
	bool	ok;

	(void)c;
	if (r->offset == offsetof(struct pyexec_config, web.server_names))
		ok = webguard_names_valid(v, err, errlen);
	else
		ok = webguard_origins_valid(v, err, errlen);
	return ok ? PYEXEC_OK : PYEXEC_ERR_CONFIG;
}

static bool
config_llm_url_ok(const char *v)
{
	return strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0;
}

/*
 * The 503's Retry-After when the front's queue is full (front.c): half
 * PYEXEC_QUEUE_TIMEOUT, 1 to 30 s.
 */
static enum pyexec_err
config_retry_after(struct pyexec_config *c, const struct config_var *r,
    const char *v, char *err, size_t errlen)
{
	(void)r;
	(void)v;
	(void)err;
	(void)errlen;
	c->queue_retry_after = (unsigned)(c->queue_timeout / 2 + 0.5);
	if (c->queue_retry_after < 1)
		c->queue_retry_after = 1;
	if (c->queue_retry_after > 30)
		c->queue_retry_after = 30;
	return PYEXEC_OK;
}

/* PYEXEC_METRICS_ALLOW: set and empty, nobody reads /metrics without a
 * key. */
static bool
config_addresses_ok(const char *v)
{
	return metrics_allowed(v, NULL);
}

/*
 * The AST policy of the IBM executor's routes, as the runner's header
 * words: comma lists of modules, called names and attributes refused,
 * appended to c->seed001_policy in the table's order.
 */
static bool
config_names_ok(const char *v)
{
	return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.,") == strlen(v) && strlen(v) <= 300;
}

static enum pyexec_err
config_policy(struct pyexec_config *c, const struct config_var *r,
    const char *v, char *err, size_t errlen)
{
	size_t	o = strlen(c->seed001_policy);

	(void)err;
	(void)errlen;
	snprintf(c->seed001_policy + o, sizeof(c->seed001_policy) - o,
	    "%s%s=%s", o ? " " : "", r->words[0], v);
	return PYEXEC_OK;
}

static const char *const config_key_vars[] = {
	"PYEXEC_LLM_API_KEY", "TOGETHER_API_KEY",
};

/* The first line of the key file into buf (NUL-terminated, cut at the
 * first CR or LF), read with read(2): no stdio buffer keeps a copy on the
 * heap.  0, or -1 with errno set. */
static int
config_read_key_file(const char *file, char *buf, size_t len)
{
	ssize_t	n;
	size_t	got = 0;
	int	fd, e;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/*
 * The LLM key: PYEXEC_LLM_API_KEY, else the first line of
 * PYEXEC_LLM_API_KEY_FILE (read by the master, as root), else
 * TOGETHER_API_KEY.  None is not an error: the LLM routes then answer 503.
 * The error messages name the variable, never the value.  c->llm_key is
 * the one copy left once the master has called config_wipe_key_env().
 */
static enum pyexec_err
config_llm_key(struct pyexec_config *c, const struct config_var *r,
    const char *unused, char *err, size_t errlen)
{
	const char	*v = env_first(config_key_vars[0], NULL), *file;
	char		 buf[1024];
	enum pyexec_err	 rc = PYEXEC_OK;
	size_t		 n;

	(void)r;
	(void)unused;
	buf[0] = '\0';
	if (v == NULL && (file = env_first("PYEXEC_LLM_API_KEY_FILE", NULL)) != NULL) {
		if (config_read_key_file(file, buf, sizeof(buf)) != 0) {
			snprintf(err, errlen, "PYEXEC_LLM_API_KEY_FILE: %s: %s",
			    file, strerror(errno));
			return PYEXEC_ERR_CONFIG;
		}
		v = buf;
	}
	if (v == NULL)
		v = env_first(config_key_vars[1], NULL);
	if (v == NULL || *v == '\0')
		goto out;
	for (n = 0; v[n] != '\0'; n++)
		if ((unsigned char)v[n] <= ' ' || (unsigned char)v[n] >= 0x7f) {
			snprintf(err, errlen, "the LLM key must be printable "
			    "ASCII without spaces");
			rc = PYEXEC_ERR_CONFIG;
			goto out;
		}
	if ((c->llm_key = strdup(v)) == NULL)
		rc = PYEXEC_ERR_NOMEM;
out:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/*
 * Wipes the values of the key's variables where they are and removes them
 * from the environment: /proc/PID/environ shows the block the process was
 * started with, which unsetenv() leaves as it was, and every child forked
 * later would inherit it.  The master calls this right after
 * config_load(), before it forks anything.
 */
void
config_wipe_key_env(void)
{
	extern char	**environ;
	char		**e;
	size_t		  i, n;

	for (i = 0; i < sizeof(config_key_vars) / sizeof(config_key_vars[0]);
	    i++) {
		n = strlen(config_key_vars[i]);
		for (e = environ; e != NULL && *e != NULL; e++)
			if (strncmp(*e, config_key_vars[i], n) == 0 &&
			    (*e)[n] == '=')
				explicit_bzero(*e + n + 1, strlen(*e + n + 1));
		(void)unsetenv(config_key_vars[i]);
	}
}

/*
 * Whether code names a preloaded package (the first part of a name in
 * PYEXEC_PRELOAD) as a whole word: then the data zygote serves it.  A
 * word in a comment or a string picks it too; a wrong pick only costs
 * speed (either zygote runs any code).
 */
bool
config_names_preloaded(const struct pyexec_config *c, const char *code,
    size_t len)
{
	const char	*p = c->preload, *e, *hit;
	size_t		 n, at;

	while (*p != '\0') {
		e = p + strcspn(p, ",");
		n = strcspn(p, ".,");
		for (at = 0; n > 0 && at + n <= len; at = (size_t)(hit - code) + 1) {
			hit = memmem(code + at, len - at, p, n);
			if (hit == NULL)
				break;
			if ((hit == code || !(isalnum((unsigned char)hit[-1]) ||
			    hit[-1] == '_')) && (hit + n == code + len ||
			    !(isalnum((unsigned char)hit[n]) || hit[n] == '_')))
				return true;
		}
		p = *e == ',' ? e + 1 : e;
	}
	return false;
}

/* The LLM key, wiped and freed: what a process that never calls the
 * model (the front) does with its copy. */
void
config_forget_llm_key(struct pyexec_config *c)
{
	if (c->llm_key != NULL) {
		explicit_bzero(c->llm_key, strlen(c->llm_key));
		free(c->llm_key);
	}
	c->llm_key = NULL;
}

/* What config_load() allocated: the LLM key, wiped first; and the
 * backend secret. */
void
config_free(struct pyexec_config *c)
{
	trust_forget(&c->backend_secret);
	config_forget_llm_key(c);
}

/* ----------------------------------------------------------- the loop -- */

enum pyexec_err
config_load(struct pyexec_config *c, char *err, size_t errlen)
{
	size_t	i;

	memset(c, 0, sizeof(*c));
	c->python_path = PYEXEC_PYTHON;
	for (i = 0; i < CONFIG_NVARS; i++)
		if (config_read(c, &config_vars[i], err, errlen) != PYEXEC_OK)
			return PYEXEC_ERR_CONFIG;
	return PYEXEC_OK;
}

/* ----------------------------------------------------- what it prints -- */

/* Each line of text as a comment: "# line", or "#" for an empty one. */
static void
config_comment(FILE *f, const char *text)
{
	const char	*e;

	for (; text != NULL && *text != '\0'; text = *e ? e + 1 : e) {
		e = text + strcspn(text, "\n");
		if (e == text)
			fputs("#\n", f);
		else
			fprintf(f, "# %.*s\n", (int)(e - text), text);
	}
}

/*
 * systemd/pyexec.env.example: every setting commented out with the value
 * it has when unset, under its documentation (pyexec-fcgi --env-example).
 */
void
config_env_example(FILE *f)
{
	const struct config_var	*r;
	size_t			 i;

	config_comment(f,
	    "/etc/pyexec/pyexec.env: environment of pyexec-fcgi (EnvironmentFile= of\n"
	    "pyexec.service). Mode 0600, owner root. Every line is commented out: the\n"
	    "value shown is the default. Uncomment to change.\n"
	    "\n"
	    "For scripts/dev the same variables are read from the caller's environment;\n"
	    "every PYEXEC_* and PYTHON_EXECUTOR_* variable reaches pyexec-fcgi.\n"
	    "Made by `pyexec-fcgi --env-example` (fcgi-app/base/config.c): edit it there.");
	for (i = 0; i < CONFIG_NVARS; i++) {
		r = &config_vars[i];
		if (r->type == CONFIG_SECTION) {
			fputc('\n', f);
			config_comment(f, r->doc);
			continue;
		}
		config_comment(f, r->doc);
		fprintf(f, "#%s=%s\n", r->name, r->shown != NULL ? r->shown :
		    r->def != NULL ? r->def : "");
	}
}

/*
 * The defaults nginx's site is rendered with, as NAME=value lines named
 * like the template's placeholders (PYEXEC_KEY_RATE: KEY_RATE):
 * scripts/dev and debian/render-nginx-site read them
 * (pyexec-fcgi --nginx-defaults).
 */
void
config_nginx_defaults(FILE *f)
{
	const struct config_var	*r;
	size_t			 i;

	for (i = 0; i < CONFIG_NVARS; i++) {
		r = &config_vars[i];
		if ((r->flags & CONFIG_F_NGINX) && r->def != NULL)
			fprintf(f, "%s=%s\n", r->name + strlen("PYEXEC_"),
			    r->def);
	}
}

/* The row of the variable name; NULL if there is none. */
static const struct config_var *
config_row(const char *name)
{
	size_t	i;

	for (i = 0; i < CONFIG_NVARS; i++)
		if (config_vars[i].name != NULL &&
		    strcmp(config_vars[i].name, name) == 0)
			return &config_vars[i];
	return NULL;
}

/*
 * Only the row of the variable name, read into c as config_load() reads
 * it (its default when unset, its type, its checks): what a printing
 * option needs of the configuration, without the rest.  PYEXEC_OK, or
 * PYEXEC_ERR_CONFIG with the message in err.
 */
enum pyexec_err
config_load_var(struct pyexec_config *c, const char *name, char *err,
    size_t errlen)
{
	const struct config_var	*r = config_row(name);

	if (r == NULL) {
		snprintf(err, errlen, "%s: no such setting", name);
		return PYEXEC_ERR_CONFIG;
	}
	return config_read(c, r, err, errlen);
}

/*
 * The entries of nginx's geo block of keyless addresses (the site's
 * $pyexec_anon_from): "<address or network> 1;" a line for each entry of
 * c->anonymous_from, in its order; nothing when it is empty
 * (pyexec-fcgi --nginx-geo).  The list was judged when it was read.
 */
void
config_nginx_geo(FILE *f, const struct pyexec_config *c)
{
	const char	*list = c->anonymous_from, *e;
	size_t		 n;

	while ((n = metrics_list_next(&list, &e)) != 0)
		fprintf(f, "%.*s 1;\n", (int)n, e);
}

/* The CPU limit of a run that asks for none: one core, or less where the
 * operator set PYEXEC_MAX_CPU lower.  Every route uses it. */
double
config_default_cpu(const struct pyexec_config *c)
{
	return c->max_cpu < 1 ? c->max_cpu : 1;
}

/*
 * True when url is http:// to a host other than loopback (127.0.0.0/8,
 * localhost, [::1]): an API key sent there travels in clear text.
 */
bool
config_llm_cleartext(const char *url)
{
	const char	*h, *end;
	size_t		 n;

	if (url == NULL || strncasecmp(url, "http://", 7) != 0)
		return false;
	h = url + 7;
	if ((end = strpbrk(h, "/?#")) == NULL)
		end = h + strlen(h);
	if (memchr(h, '@', (size_t)(end - h)) != NULL)
		h = (const char *)memchr(h, '@', (size_t)(end - h)) + 1;
	if (*h == '[') {
		return !(strncmp(h, "[::1]", 5) == 0 &&
		    (h[5] == ':' || h + 5 == end));
	}
	for (n = 0; h + n < end && h[n] != ':'; n++)
		;
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return false;
	if (n >= 4 && strncmp(h, "127.", 4) == 0 &&
	    strspn(h, "0123456789.") >= n)
		return false;
	return true;
}

/*
 * The most one legal request can take, in ms: max_attempts (3) times a
 * model call and a run at their limits, each with its slack.  The request
 * side never starts a step that could end past it (task.c); nginx's
 * fastcgi_read_timeout and the master's drain on SIGTERM are this plus
 * CONFIG_BUDGET_MARGIN_MS, so neither cuts off a request pyexec accepted.
 */
int64_t
config_budget(const struct pyexec_config *c)
{
	return 3 * (config_llm_ms(c) + config_run_ms(c->max_timeout));
}

/* The longest a model call may take, its slack included (ms). */
int64_t
config_llm_ms(const struct pyexec_config *c)
{
	return (int64_t)(c->llm_timeout * 1000) + CONFIG_LLM_SLACK_MS;
}

/* The longest a run with this timeout (s) may take, its slack included. */
int64_t
config_run_ms(double timeout)
{
	return (int64_t)(timeout * 1000) + CONFIG_RUN_SLACK_MS;
}
