/*
 * config.c: the service's configuration, read once from the environment.
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

static enum pyexec_err
env_double(const char *name, double def, double lo, double hi, double *out,
    char *err, size_t errlen)
{
	const char	*v = env_first(name, NULL);
	char		*end;
	double		 d;

	if (v == NULL) {
		*out = def;
		return PYEXEC_OK;
	}
	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d < lo || d > hi) {
		snprintf(err, errlen, "%s: must be a number between %g and %g",
		    name, lo, hi);
		return PYEXEC_ERR_CONFIG;
	}
	*out = d;
	return PYEXEC_OK;
}

static enum pyexec_err
env_size(const char *name, uint64_t def, uint64_t lo, uint64_t hi,
    uint64_t *out, char *err, size_t errlen)
{
	const char	*v = env_first(name, NULL);

	if (v == NULL) {
		*out = def;
		return PYEXEC_OK;
	}
	if (config_parse_size(v, out) != 0 || *out < lo || *out > hi) {
		snprintf(err, errlen, "%s: must be a size between %llu and %llu "
		    "(k, m or g suffix allowed)", name,
		    (unsigned long long)lo, (unsigned long long)hi);
		return PYEXEC_ERR_CONFIG;
	}
	return PYEXEC_OK;
}

/* One row per numeric setting: the table is the list of options. */
struct config_size {
	const char	*name;
	uint64_t	 def, lo, hi;
	size_t		 offset;	/* into struct pyexec_config */
	int		 width;		/* sizeof the field */
};

#define CFG(f)	offsetof(struct pyexec_config, f), (int)sizeof(((struct pyexec_config *)0)->f)

static const struct config_size config_sizes[] = {
	{ "PYEXEC_MAX_BODY", 1 << 20, 1024, 64 << 20, CFG(max_body) },
	{ "PYEXEC_MAX_OUTPUT_BYTES", 1 << 20, 1024, 64 << 20, CFG(max_output) },
	{ "PYEXEC_MAX_ARTIFACT_BYTES", 8 << 20, 0, 64 << 20, CFG(max_artifact_bytes) },
	{ "PYEXEC_MAX_ARTIFACT_ITEM_BYTES", 5 << 20, 0, 64 << 20, CFG(max_artifact_item) },
	{ "PYEXEC_MAX_ARTIFACTS", 20, 0, 100, CFG(max_artifacts) },
	{ "PYEXEC_MAX_INPUT_FILES", 20, 0, 1000, CFG(max_input_files) },
	{ "PYEXEC_MAX_INPUT_FILE_BYTES", 1 << 20, 0, 64 << 20, CFG(max_input_file) },
	{ "PYEXEC_MAX_INPUT_BYTES", 5 << 20, 0, 64 << 20, CFG(max_input_bytes) },
	{ "PYTHON_EXECUTOR_DEFAULT_MAX_MEMORY", 100, PYEXEC_MIN_MEMORY_MB, 1 << 20, CFG(default_memory_mb) },
	{ "PYTHON_EXECUTOR_MAX_MEMORY", 500, PYEXEC_MIN_MEMORY_MB, 1 << 20, CFG(max_memory_mb) },
	{ "PYEXEC_MAX_PIDS", 64, 8, 4096, CFG(max_pids) },
	{ "PYEXEC_TMP_SIZE", 64 << 20, 1 << 20, 1ULL << 32, CFG(tmp_size) },
	{ "PYEXEC_MAX_FILE_SIZE", 32 << 20, 4096, 1ULL << 32, CFG(max_file_size) },
	{ "PYEXEC_MAX_OPEN_FILES", 256, 32, 65536, CFG(max_open_files) },
	{ "PYEXEC_UID_BASE", 61000, 1000, 4000000000ULL, CFG(uid_base) },
	{ "PYEXEC_LLM_RETRIES", 2, 0, 5, CFG(llm_retries) },
	{ "PYEXEC_LLM_MAX_RESPONSE_BYTES", 1 << 20, 4096, 64 << 20, CFG(llm_max_response) },
	{ "PYEXEC_MAX_QUERY_CHARS", 4000, 1, 100000, CFG(max_query_chars) },
	{ "PYTHON_EXECUTOR_MAX_INPUT_LENGTH", 1000, 1, 1 << 20, CFG(max_input_length) },
	{ "PYEXEC_WORKSPACE_MAX_BYTES", 64 << 20, 1 << 20, 1ULL << 40, CFG(ws_max_bytes) },
	{ "PYEXEC_WORKSPACE_MAX_FILES", 4096, 16, 1 << 20, CFG(ws_max_files) },
	{ "PYEXEC_WORKSPACES_PER_CLIENT", 16, 1, 100000, CFG(ws_per_client) },
	{ "PYEXEC_WORKSPACES_MAX", 1024, 1, 1000000, CFG(ws_max_total) },
	{ "PYEXEC_WORKSPACE_IDLE", 3600, 1, 365 * 86400, CFG(ws_idle) },
	{ "PYEXEC_WORKSPACE_MAX_AGE", 86400, 1, 10 * 365 * 86400, CFG(ws_max_age) },
	{ "PYEXEC_WORKSPACE_SWEEP", 60, 1, 86400, CFG(ws_sweep) },
	{ "PYEXEC_WORKSPACE_WAIT", 10, 0, 600, CFG(ws_wait) },
	{ "PYEXEC_WORKSPACE_MOUNTS", 0, 0, 4096, CFG(ws_mounts) },
	{ "PYEXEC_WORKSPACE_MIN_FREE", 1ULL << 30, 0, 1ULL << 50, CFG(ws_min_free) },
	/* The front (front.c): seconds a connection has to send its whole
	 * FastCGI header (nginx sends it at once), and how many connections
	 * it reads at once, apart from PYEXEC_QUEUE_MAX's queue. */
	{ "PYEXEC_HEADER_TIMEOUT", 5, 1, 60, CFG(header_timeout) },
	{ "PYEXEC_HEADER_MAX", 256, 16, 4096, CFG(header_max) },
	{ "PYEXEC_WORKSPACE_CREATE_RATE", 60, 0, 100000, CFG(ws_create_rate) },
	{ "PYEXEC_WORKSPACE_CREATE_BURST", 20, 1, 100000, CFG(ws_create_burst) },
	/* A zygote is replaced after this many runs, or seconds ready. */
	{ "PYEXEC_WARM_MAX_RUNS", 100, 1, 1000000, CFG(warm_max_runs) },
	{ "PYEXEC_WARM_MAX_AGE", 600, 1, 30 * 86400, CFG(warm_max_age) },
};

static void
config_store(struct pyexec_config *c, const struct config_size *row, uint64_t v)
{
	char	*p = (char *)c + row->offset;

	if (row->width == sizeof(uint64_t))
		*(uint64_t *)(void *)p = v;
	else
		*(uint32_t *)(void *)p = (uint32_t)v;
}

static enum pyexec_err
config_load_sizes(struct pyexec_config *c, char *err, size_t errlen)
{
	size_t		 i;
	uint64_t	 v;

	for (i = 0; i < sizeof(config_sizes) / sizeof(config_sizes[0]); i++) {
		const struct config_size *row = &config_sizes[i];

		if (env_size(row->name, row->def, row->lo, row->hi, &v, err,
		    errlen) != PYEXEC_OK)
			return PYEXEC_ERR_CONFIG;
		config_store(c, row, v);
	}
	return PYEXEC_OK;
}

/* The variables that may hold the LLM key, in the order they are read. */
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
config_llm_key(struct pyexec_config *c, char *err, size_t errlen)
{
	const char	*v = env_first(config_key_vars[0], NULL), *file;
	char		 buf[1024];
	enum pyexec_err	 rc = PYEXEC_OK;
	size_t		 n;

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
 * The AST policy of the IBM executor's routes, as the runner's header
 * words: comma lists of modules, called names and attributes refused.
 */
static enum pyexec_err
config_policy(struct pyexec_config *c, char *err, size_t errlen)
{
	static const struct { const char *env, *word, *def; } lists[] = {
		{ "PYEXEC_SEED001_DENY_MODULES", "deny_modules",
		    "os,sys,subprocess,shutil,socket" },
		{ "PYEXEC_SEED001_DENY_CALLS", "deny_calls",
		    "eval,exec,compile,__import__" },
		{ "PYEXEC_SEED001_DENY_ATTRIBUTES", "deny_attrs",
		    "__globals__,__getattribute__,__class__" },
	};
	const char	*v;
	size_t		 i, o = 0;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if ((v = getenv(lists[i].env)) == NULL)
			v = lists[i].def;
		if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_.,") != strlen(v) || strlen(v) > 300) {
			snprintf(err, errlen, "%s: a comma-separated list of names",
			    lists[i].env);
			return PYEXEC_ERR_CONFIG;
		}
		o += (size_t)snprintf(c->seed001_policy + o,
		    sizeof(c->seed001_policy) - o, "%s%s=%s", i ? " " : "",
		    lists[i].word, v);
	}
	return PYEXEC_OK;
}

/*
 * The front's queue (front.c): PYEXEC_QUEUE_TIMEOUT, how long a request
 * may wait for a free worker (default 10 s: a burst of ordinary runs
 * drains within it, and a client still has time to retry another host
 * before its own timeout), and PYEXEC_QUEUE_MAX, how many may wait at
 * once (default 512).  The connections whose header has not all come
 * have their own bound and deadline (PYEXEC_HEADER_MAX and
 * PYEXEC_HEADER_TIMEOUT, rows of config_sizes[]).  The 503's Retry-After
 * is half the timeout, 1 to 30 s.
 */
static enum pyexec_err
config_queue(struct pyexec_config *c, char *err, size_t errlen)
{
	const char	*q = getenv("PYEXEC_QUEUE_MAX");
	char		*end;
	unsigned long	 n = 512;

	if (env_double("PYEXEC_QUEUE_TIMEOUT", 10, 0.1, 3600, &c->queue_timeout,
	    err, errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;
	if (q != NULL && *q != '\0') {
		n = strtoul(q, &end, 10);
		if (*end != '\0' || n < 1 || n > 900) {
			snprintf(err, errlen, "PYEXEC_QUEUE_MAX: an integer from "
			    "1 to 900");
			return PYEXEC_ERR_CONFIG;
		}
	}
	c->queue_max = (unsigned)n;
	c->queue_retry_after = (unsigned)(c->queue_timeout / 2 + 0.5);
	if (c->queue_retry_after < 1)
		c->queue_retry_after = 1;
	if (c->queue_retry_after > 30)
		c->queue_retry_after = 30;
	return PYEXEC_OK;
}

/* Whether a list of networks has a /0 (everyone) in it. */
static bool
config_everyone(const char *list)
{
	const char	*p;

	for (p = strstr(list, "/0"); p != NULL; p = strstr(p + 1, "/0"))
		if (p[2] == '\0' || p[2] == ',' || p[2] == ' ')
			return true;
	return false;
}

/*
 * PYEXEC_WORKSPACES (0 or 1, default 1), PYEXEC_WORKSPACE_DIR (absolute;
 * OUTPUT_DATA_PATH, seed 003's name, is the same), PYEXEC_ANONYMOUS_FROM
 * (addresses or networks whose requests need no key; nginx decides, the
 * worker checks it agrees).  The numbers are rows of config_sizes[].
 */
static enum pyexec_err
config_workspaces(struct pyexec_config *c, char *err, size_t errlen)
{
	const char	*w = getenv("PYEXEC_WORKSPACES");

	c->workspaces = true;
	if (w != NULL && *w != '\0') {
		if (strcmp(w, "0") != 0 && strcmp(w, "1") != 0) {
			snprintf(err, errlen, "PYEXEC_WORKSPACES: must be 0 or 1");
			return PYEXEC_ERR_CONFIG;
		}
		c->workspaces = w[0] == '1';
	}
	c->workspace_dir = env_first("PYEXEC_WORKSPACE_DIR", "OUTPUT_DATA_PATH");
	if (c->workspace_dir == NULL)
		c->workspace_dir = "/var/lib/pyexec/workspaces";
	if (c->workspace_dir[0] != '/' || strlen(c->workspace_dir) > 200 ||
	    strstr(c->workspace_dir, "/../") != NULL) {
		snprintf(err, errlen, "PYEXEC_WORKSPACE_DIR: an absolute path "
		    "of at most 200 characters");
		return PYEXEC_ERR_CONFIG;
	}
	if ((c->anonymous_from = getenv("PYEXEC_ANONYMOUS_FROM")) == NULL)
		c->anonymous_from = "";
	if (!metrics_allowed(c->anonymous_from, NULL) ||
	    config_everyone(c->anonymous_from)) {
		snprintf(err, errlen, "PYEXEC_ANONYMOUS_FROM: addresses or "
		    "networks separated by commas, like 127.0.0.1,10.1.2.0/24 "
		    "(never everyone)");
		return PYEXEC_ERR_CONFIG;
	}
	return PYEXEC_OK;
}

/*
 * What keyless requests may name (webguard.c): PYEXEC_SERVER_NAMES, the
 * service's names besides localhost, 127.0.0.1 and [::1], and
 * PYEXEC_ALLOWED_ORIGINS, the origins of other sites' pages that may
 * send them (default: none).  An entry that is not one refuses the start.
 */
static enum pyexec_err
config_web(struct pyexec_config *c, char *err, size_t errlen)
{
	if ((c->web.server_names = getenv("PYEXEC_SERVER_NAMES")) == NULL)
		c->web.server_names = "";
	if ((c->web.allowed_origins = getenv("PYEXEC_ALLOWED_ORIGINS")) == NULL)
		c->web.allowed_origins = "";
	if (!webguard_names_valid(c->web.server_names, err, errlen) ||
	    !webguard_origins_valid(c->web.allowed_origins, err, errlen))
		return PYEXEC_ERR_CONFIG;
	return PYEXEC_OK;
}

/*
 * PYEXEC_VALIDATE_WITHOUT_MODEL: what validate_code does when no verdict
 * comes (no model configured, or it could not give one): "refuse" (the
 * default: the code does not run) or "run" (it runs unreviewed).
 */
static enum pyexec_err
config_validate(struct pyexec_config *c, char *err, size_t errlen)
{
	const char	*v = env_first("PYEXEC_VALIDATE_WITHOUT_MODEL", NULL);

	c->validate_run = v != NULL && strcmp(v, "run") == 0;
	if (v != NULL && !c->validate_run && strcmp(v, "refuse") != 0) {
		snprintf(err, errlen, "PYEXEC_VALIDATE_WITHOUT_MODEL: must be "
		    "refuse or run");
		return PYEXEC_ERR_CONFIG;
	}
	return PYEXEC_OK;
}

#define PRELOAD_MAX	190	/* fits the launcher's report of it */
#define PRELOAD_DEFAULT	"numpy,pandas,matplotlib"

/*
 * PYEXEC_WARM (0 or 1, default 1), PYEXEC_PRELOAD (module names, dotted,
 * separated by commas; "" for none), PYEXEC_ZYGOTE (the library).
 */
static enum pyexec_err
config_warm(struct pyexec_config *c, char *err, size_t errlen)
{
	const char	*w = getenv("PYEXEC_WARM");
	const char	*p = getenv("PYEXEC_PRELOAD");
	const char	*q;

	c->warm = true;
	if (w != NULL && *w != '\0') {
		if (strcmp(w, "0") != 0 && strcmp(w, "1") != 0) {
			snprintf(err, errlen, "PYEXEC_WARM: must be 0 or 1");
			return PYEXEC_ERR_CONFIG;
		}
		c->warm = w[0] == '1';
	}
	c->preload = p != NULL ? p : PRELOAD_DEFAULT;
	if (strlen(c->preload) > PRELOAD_MAX) {
		snprintf(err, errlen, "PYEXEC_PRELOAD: at most %d characters",
		    PRELOAD_MAX);
		return PYEXEC_ERR_CONFIG;
	}
	/* name(.name)*(,name(.name)*)*: each name a Python identifier. */
	for (q = c->preload; *q != '\0'; q++) {
		bool start = q == c->preload || q[-1] == ',' || q[-1] == '.';

		if ((*q == ',' || *q == '.') && !start && q[1] != '\0')
			continue;
		if (isalpha((unsigned char)*q) || *q == '_' ||
		    (!start && isdigit((unsigned char)*q)))
			continue;
		snprintf(err, errlen, "PYEXEC_PRELOAD: module names separated "
		    "by commas, like numpy,pandas,matplotlib");
		return PYEXEC_ERR_CONFIG;
	}
	c->zygote_path = env_first("PYEXEC_ZYGOTE", NULL);
	if (c->zygote_path == NULL)
		c->zygote_path = PYEXEC_LIBEXECDIR "/pyexec-zygote.so";
	return PYEXEC_OK;
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

/*
 * PYEXEC_BACKEND_SECRET_FILE: where the master reads the secret nginx
 * proves itself with (trust.c); an absolute path.  The secret itself is
 * read by master_preflight(), as root, not here: --budget and --cleanup
 * load the configuration without it.
 */
static enum pyexec_err
config_backend_secret(struct pyexec_config *c, char *err, size_t errlen)
{
	c->backend_secret_file = env_first("PYEXEC_BACKEND_SECRET_FILE", NULL);
	if (c->backend_secret_file == NULL)
		c->backend_secret_file = "/etc/pyexec/backend-secret";
	if (c->backend_secret_file[0] != '/') {
		snprintf(err, errlen, "PYEXEC_BACKEND_SECRET_FILE: an absolute "
		    "path");
		return PYEXEC_ERR_CONFIG;
	}
	return PYEXEC_OK;
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

enum pyexec_err
config_load(struct pyexec_config *c, char *err, size_t errlen)
{
	long		 ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double		 d;

	memset(c, 0, sizeof(*c));
	if (ncpu < 1)
		ncpu = 1;
	c->user = env_first("PYEXEC_USER", NULL);
	if (c->user == NULL)
		c->user = "pyexec";
	c->instance = env_first("PYEXEC_INSTANCE", NULL);
	if (c->instance == NULL)
		c->instance = "default";
	if (strspn(c->instance, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(c->instance) || strlen(c->instance) > 32) {
		snprintf(err, errlen, "PYEXEC_INSTANCE: at most 32 of [a-z0-9_-]");
		return PYEXEC_ERR_CONFIG;
	}
	c->launcher_path = env_first("PYEXEC_LAUNCHER", NULL);
	if (c->launcher_path == NULL)
		c->launcher_path = PYEXEC_LIBEXECDIR "/pyexec-launcher";
	c->runner_path = env_first("PYEXEC_RUNNER", NULL);
	if (c->runner_path == NULL)
		c->runner_path = PYEXEC_DATADIR "/runner.py";
	c->python_path = PYEXEC_PYTHON;
	c->metrics = getenv("PYEXEC_METRICS") == NULL ||
	    strcmp(getenv("PYEXEC_METRICS"), "0") != 0;
	/* Set and empty: nobody reads /metrics without a key. */
	if ((c->metrics_allow = getenv("PYEXEC_METRICS_ALLOW")) == NULL)
		c->metrics_allow = "127.0.0.1,::1";
	if (!metrics_allowed(c->metrics_allow, NULL)) {
		snprintf(err, errlen, "PYEXEC_METRICS_ALLOW: addresses or networks "
		    "separated by commas, like 127.0.0.1,::1,10.0.0.0/8");
		return PYEXEC_ERR_CONFIG;
	}
	if (config_queue(c, err, errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;
	if (config_warm(c, err, errlen) != PYEXEC_OK ||
	    config_workspaces(c, err, errlen) != PYEXEC_OK ||
	    config_web(c, err, errlen) != PYEXEC_OK ||
	    config_validate(c, err, errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;

	if (config_load_sizes(c, err, errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;
	if (env_double("PYEXEC_WORKERS", (double)(2 * ncpu), 1, 256, &d, err,
	    errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;
	c->workers = (unsigned)d;
	if (c->ws_mounts == 0)
		c->ws_mounts = 2 * c->workers;
	if (env_double("PYTHON_EXECUTOR_MAX_TIMEOUT", 30, 0.1, 3600,
	    &c->max_timeout, err, errlen) != PYEXEC_OK ||
	    env_double("PYTHON_EXECUTOR_DEFAULT_TIMEOUT", 5, 0.1, c->max_timeout,
	    &c->default_timeout, err, errlen) != PYEXEC_OK ||
	    env_double("PYEXEC_MAX_CPU", (double)ncpu, 0.1, 1024, &c->max_cpu,
	    err, errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;
	if (c->default_memory_mb > c->max_memory_mb) {
		snprintf(err, errlen, "PYTHON_EXECUTOR_DEFAULT_MAX_MEMORY: "
		    "must not exceed PYTHON_EXECUTOR_MAX_MEMORY (%u)",
		    c->max_memory_mb);
		return PYEXEC_ERR_CONFIG;
	}
	c->llm_url = env_first("PYEXEC_LLM_URL", NULL);
	if (c->llm_url == NULL)
		c->llm_url = "https://api.together.xyz/v1";
	c->llm_model = env_first("PYEXEC_LLM_MODEL", NULL);
	if (c->llm_model == NULL)
		c->llm_model = "meta-llama/Llama-3.3-70B-Instruct-Turbo";
	if (strncmp(c->llm_url, "https://", 8) != 0 &&
	    strncmp(c->llm_url, "http://", 7) != 0) {
		snprintf(err, errlen, "PYEXEC_LLM_URL: must start with https:// "
		    "or http://");
		return PYEXEC_ERR_CONFIG;
	}
	if (env_first("PYEXEC_LLM_TIMEOUT", NULL) == NULL &&
	    env_first("API_TIMEOUT", NULL) != NULL) {
		if (env_double("API_TIMEOUT", 30, 1, 600, &c->llm_timeout, err,
		    errlen) != PYEXEC_OK)
			return PYEXEC_ERR_CONFIG;
	} else if (env_double("PYEXEC_LLM_TIMEOUT", 30, 1, 600,
	    &c->llm_timeout, err, errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;
	if (config_llm_key(c, err, errlen) != PYEXEC_OK ||
	    config_policy(c, err, errlen) != PYEXEC_OK ||
	    config_backend_secret(c, err, errlen) != PYEXEC_OK)
		return PYEXEC_ERR_CONFIG;
	if (c->launcher_path[0] != '/' || c->runner_path[0] != '/' ||
	    c->zygote_path[0] != '/') {
		snprintf(err, errlen, "PYEXEC_LAUNCHER, PYEXEC_RUNNER and "
		    "PYEXEC_ZYGOTE must be absolute paths");
		return PYEXEC_ERR_CONFIG;
	}
	return PYEXEC_OK;
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
