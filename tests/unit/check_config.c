/*
 * Unit tests: the configuration table (config.c) through config_load()
 * with a made-up environment: every default, each type's parsing and
 * bounds, the aliases, the messages that name the bad variable, the
 * hooks (derived defaults, paths, lists, the LLM key), the budget, and
 * that --env-example's values are the defaults.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "check_main.h"

static struct pyexec_config	c;
static char			err[512];

/* Every test starts from an empty environment (Check forks each test). */
static void
setup(void)
{
	clearenv();
	err[0] = '\0';
}

/* setenv() each NAME, VALUE pair, up to a NULL name. */
static void
env_set(const char *name, ...)
{
	va_list	ap;

	va_start(ap, name);
	for (; name != NULL; name = va_arg(ap, const char *))
		setenv(name, va_arg(ap, const char *), 1);
	va_end(ap);
}

static void
load_ok(void)
{
	enum pyexec_err	rc = config_load(&c, err, sizeof(err));

	ck_assert_msg(rc == PYEXEC_OK, "config_load: %s", err);
}

/* config_load() refuses, with exactly this message. */
static void
load_err(const char *msg)
{
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert_str_eq(err, msg);
	config_free(&c);
}

static long
ncpu(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n;
}

START_TEST(test_defaults)
{
	load_ok();
	ck_assert_uint_eq(c.workers, 2 * ncpu());
	ck_assert(c.max_cpu == (double)ncpu());
	ck_assert_str_eq(c.user, "pyexec");
	ck_assert_uint_eq(c.uid_base, 61000);
	ck_assert_str_eq(c.instance, "default");
	ck_assert(c.launcher_path[0] == '/' && c.runner_path[0] == '/' &&
	    c.zygote_path[0] == '/');
	ck_assert(c.warm && c.workspaces && c.metrics && !c.validate_run);
	ck_assert_str_eq(c.preload, "numpy,pandas,matplotlib");
	ck_assert_uint_eq(c.warm_max_runs, 100);
	ck_assert_uint_eq(c.warm_max_age, 600);
	ck_assert_uint_eq(c.max_body, 1 << 20);
	ck_assert_uint_eq(c.max_output, 1 << 20);
	ck_assert_uint_eq(c.max_artifact_bytes, 8 << 20);
	ck_assert_uint_eq(c.max_artifact_item, 5 << 20);
	ck_assert_uint_eq(c.max_artifacts, 20);
	ck_assert_uint_eq(c.max_input_files, 20);
	ck_assert_uint_eq(c.max_input_file, 1 << 20);
	ck_assert_uint_eq(c.max_input_bytes, 5 << 20);
	ck_assert(c.default_timeout == 5 && c.max_timeout == 30);
	ck_assert_uint_eq(c.default_memory_mb, 100);
	ck_assert_uint_eq(c.max_memory_mb, 500);
	ck_assert_uint_eq(c.max_pids, 64);
	ck_assert_uint_eq(c.tmp_size, 64 << 20);
	ck_assert_uint_eq(c.max_file_size, 32 << 20);
	ck_assert_uint_eq(c.max_open_files, 256);
	ck_assert_str_eq(c.llm_url, "https://api.together.xyz/v1");
	ck_assert_str_eq(c.llm_model, "meta-llama/Llama-3.3-70B-Instruct-Turbo");
	ck_assert_ptr_null(c.llm_key);
	ck_assert(c.llm_timeout == 30);
	ck_assert_uint_eq(c.llm_retries, 2);
	ck_assert_uint_eq(c.llm_max_response, 1 << 20);
	ck_assert_uint_eq(c.max_query_chars, 4000);
	ck_assert_uint_eq(c.max_input_length, 1000);
	ck_assert_str_eq(c.metrics_allow, "127.0.0.1,::1");
	ck_assert(c.queue_timeout == 10);
	ck_assert_uint_eq(c.queue_max, 512);
	ck_assert_uint_eq(c.queue_retry_after, 5);
	ck_assert_uint_eq(c.header_timeout, 5);
	ck_assert_uint_eq(c.header_max, 256);
	ck_assert_str_eq(c.seed001_policy,
	    "deny_modules=os,sys,subprocess,shutil,socket "
	    "deny_calls=eval,exec,compile,__import__ "
	    "deny_attrs=__globals__,__getattribute__,__class__");
	ck_assert_str_eq(c.workspace_dir, "/var/lib/pyexec/workspaces");
	ck_assert_uint_eq(c.ws_max_bytes, 64 << 20);
	ck_assert_uint_eq(c.ws_max_files, 4096);
	ck_assert_uint_eq(c.ws_per_client, 16);
	ck_assert_uint_eq(c.ws_max_total, 1024);
	ck_assert_uint_eq(c.ws_idle, 3600);
	ck_assert_uint_eq(c.ws_max_age, 86400);
	ck_assert_uint_eq(c.ws_sweep, 60);
	ck_assert_uint_eq(c.ws_wait, 10);
	ck_assert_uint_eq(c.ws_mounts, 2 * c.workers);
	ck_assert_uint_eq(c.ws_min_free, 1ULL << 30);
	ck_assert_uint_eq(c.ws_create_rate, 60);
	ck_assert_uint_eq(c.ws_create_burst, 20);
	ck_assert_str_eq(c.anonymous_from, "");
	ck_assert_str_eq(c.web.server_names, "");
	ck_assert_str_eq(c.web.allowed_origins, "");
	ck_assert_str_eq(c.backend_secret_file, "/etc/pyexec/backend-secret");
	config_free(&c);
}
END_TEST

/* Sizes: k/m/g (any case, an optional b), bounds inclusive, the message
 * names the variable and the bounds. */
START_TEST(test_size)
{
	env_set("PYEXEC_MAX_PIDS", "8", "PYEXEC_TMP_SIZE", "2M",
	    "PYEXEC_WORKSPACE_MIN_FREE", "3gb", "PYEXEC_MAX_ARTIFACTS", "0",
	    "PYEXEC_UID_BASE", "4000000000", NULL);
	load_ok();
	ck_assert_uint_eq(c.max_pids, 8);
	ck_assert_uint_eq(c.tmp_size, 2 << 20);
	ck_assert_uint_eq(c.ws_min_free, 3ULL << 30);
	ck_assert_uint_eq(c.max_artifacts, 0);
	ck_assert_uint_eq(c.uid_base, 4000000000U);
	config_free(&c);
	/* Empty is unset: the default. */
	setenv("PYEXEC_WORKSPACE_MIN_FREE", "", 1);
	load_ok();
	ck_assert_uint_eq(c.ws_min_free, 1ULL << 30);
	config_free(&c);
}
END_TEST

/* Real numbers; an unsigned field takes the whole part; a bound may be
 * another setting (the default timeout's is the largest). */
START_TEST(test_number)
{
	env_set("PYEXEC_MAX_CPU", "0.5", "PYEXEC_WORKERS", "3.9",
	    "PYTHON_EXECUTOR_MAX_TIMEOUT", "3",
	    "PYTHON_EXECUTOR_DEFAULT_TIMEOUT", "2.5", NULL);
	load_ok();
	ck_assert(c.max_cpu == 0.5);
	ck_assert_uint_eq(c.workers, 3);
	ck_assert_uint_eq(c.ws_mounts, 6);
	ck_assert(c.default_timeout == 2.5);
	config_free(&c);
	env_set("PYEXEC_WORKERS", "2", "PYEXEC_QUEUE_TIMEOUT", "100", NULL);
	load_ok();
	ck_assert_uint_eq(c.queue_retry_after, 30);
	config_free(&c);
	setenv("PYEXEC_QUEUE_TIMEOUT", "0.5", 1);
	load_ok();
	ck_assert_uint_eq(c.queue_retry_after, 1);
	config_free(&c);
}
END_TEST

START_TEST(test_int_bool_word)
{
	env_set("PYEXEC_QUEUE_MAX", "900", "PYEXEC_WARM", "0",
	    "PYEXEC_WORKSPACES", "0", "PYEXEC_METRICS", "no",
	    "PYEXEC_VALIDATE_WITHOUT_MODEL", "run", NULL);
	load_ok();
	ck_assert_uint_eq(c.queue_max, 900);
	ck_assert(!c.warm && !c.workspaces && c.metrics && c.validate_run);
	config_free(&c);
	env_set("PYEXEC_METRICS", "0", "PYEXEC_WARM", "", NULL);
	load_ok();
	ck_assert(!c.metrics && c.warm);
	config_free(&c);
	setenv("PYEXEC_VALIDATE_WITHOUT_MODEL", "refuse", 1);
	load_ok();
	ck_assert(!c.validate_run);
	config_free(&c);
}
END_TEST

/* The older names: read when the new one is unset or empty; the message
 * names the one read. */
START_TEST(test_aliases)
{
	env_set("API_TIMEOUT", "9", "OUTPUT_DATA_PATH", "/srv/ws", NULL);
	load_ok();
	ck_assert(c.llm_timeout == 9);
	ck_assert_str_eq(c.workspace_dir, "/srv/ws");
	config_free(&c);
	env_set("PYEXEC_LLM_TIMEOUT", "12",
	    "PYEXEC_WORKSPACE_DIR", "/srv/other", NULL);
	load_ok();
	ck_assert(c.llm_timeout == 12);
	ck_assert_str_eq(c.workspace_dir, "/srv/other");
	config_free(&c);
}
END_TEST

/* A check hook's own message: webguard's names the variable. */
START_TEST(test_web)
{
	env_set("PYEXEC_SERVER_NAMES", "pyexec.internal,10.1.2.3",
	    "PYEXEC_ALLOWED_ORIGINS", "https://app.example.com", NULL);
	load_ok();
	ck_assert_str_eq(c.web.server_names, "pyexec.internal,10.1.2.3");
	config_free(&c);
	setenv("PYEXEC_SERVER_NAMES", "a b/c", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert_msg(strstr(err, "PYEXEC_SERVER_NAMES") != NULL, "%s", err);
	config_free(&c);
}
END_TEST

/*
 * What config_load() refuses, and the exact message: the variable named
 * (the one read, for an alias), its bounds.  before: set first (NULL:
 * nothing).  Each case starts from an empty environment.
 */
static const struct refused {
	const char	*before, *before_value;
	const char	*name, *value, *msg;
} refused[] = {
#define SIZE_MSG(lo, hi) ": must be a size between " lo " and " hi \
	" (k, m or g suffix allowed)"
	{ NULL, NULL, "PYEXEC_MAX_PIDS", "7", "PYEXEC_MAX_PIDS" SIZE_MSG("8", "4096") },
	{ NULL, NULL, "PYEXEC_MAX_PIDS", "4097", "PYEXEC_MAX_PIDS" SIZE_MSG("8", "4096") },
	{ NULL, NULL, "PYEXEC_MAX_PIDS", "-1", "PYEXEC_MAX_PIDS" SIZE_MSG("8", "4096") },
	{ NULL, NULL, "PYEXEC_MAX_PIDS", "64x", "PYEXEC_MAX_PIDS" SIZE_MSG("8", "4096") },
	{ NULL, NULL, "PYEXEC_UID_BASE", "4000000001",
	    "PYEXEC_UID_BASE" SIZE_MSG("1000", "4000000000") },
	{ NULL, NULL, "PYEXEC_WORKSPACE_MIN_FREE", "1t",
	    "PYEXEC_WORKSPACE_MIN_FREE" SIZE_MSG("0", "1125899906842624") },
	{ NULL, NULL, "PYEXEC_MAX_OUTPUT_BYTES", "lots",
	    "PYEXEC_MAX_OUTPUT_BYTES" SIZE_MSG("1024", "67108864") },
	{ "PYTHON_EXECUTOR_MAX_TIMEOUT", "3", "PYTHON_EXECUTOR_DEFAULT_TIMEOUT",
	    "5000", "PYTHON_EXECUTOR_DEFAULT_TIMEOUT: must be a number between "
	    "0.1 and 3" },
	{ NULL, NULL, "PYTHON_EXECUTOR_DEFAULT_TIMEOUT", "31",
	    "PYTHON_EXECUTOR_DEFAULT_TIMEOUT: must be a number between 0.1 and 30" },
	{ NULL, NULL, "PYEXEC_MAX_CPU", "0.05",
	    "PYEXEC_MAX_CPU: must be a number between 0.1 and 1024" },
	{ NULL, NULL, "PYEXEC_MAX_CPU", "nan",
	    "PYEXEC_MAX_CPU: must be a number between 0.1 and 1024" },
	{ NULL, NULL, "PYEXEC_MAX_CPU", "1e999",
	    "PYEXEC_MAX_CPU: must be a number between 0.1 and 1024" },
	{ NULL, NULL, "PYEXEC_MAX_CPU", "2 cores",
	    "PYEXEC_MAX_CPU: must be a number between 0.1 and 1024" },
	{ NULL, NULL, "PYEXEC_WORKERS", "0",
	    "PYEXEC_WORKERS: must be a number between 1 and 256" },
	{ NULL, NULL, "PYEXEC_QUEUE_MAX", "901",
	    "PYEXEC_QUEUE_MAX: an integer from 1 to 900" },
	{ NULL, NULL, "PYEXEC_QUEUE_MAX", "5x",
	    "PYEXEC_QUEUE_MAX: an integer from 1 to 900" },
	{ NULL, NULL, "PYEXEC_QUEUE_MAX", "0",
	    "PYEXEC_QUEUE_MAX: an integer from 1 to 900" },
	{ NULL, NULL, "PYEXEC_WORKSPACES", "yes", "PYEXEC_WORKSPACES: must be 0 or 1" },
	{ NULL, NULL, "PYEXEC_WARM", "2", "PYEXEC_WARM: must be 0 or 1" },
	{ NULL, NULL, "PYEXEC_VALIDATE_WITHOUT_MODEL", "maybe",
	    "PYEXEC_VALIDATE_WITHOUT_MODEL: must be refuse or run" },
	{ "PYEXEC_LLM_TIMEOUT", "", "API_TIMEOUT", "900",
	    "API_TIMEOUT: must be a number between 1 and 600" },
	{ NULL, NULL, "PYEXEC_LLM_TIMEOUT", "0.5",
	    "PYEXEC_LLM_TIMEOUT: must be a number between 1 and 600" },
	{ NULL, NULL, "OUTPUT_DATA_PATH", "relative",
	    "PYEXEC_WORKSPACE_DIR: an absolute path of at most 200 characters" },
	{ NULL, NULL, "PYEXEC_WORKSPACE_DIR", "/a/../b",
	    "PYEXEC_WORKSPACE_DIR: an absolute path of at most 200 characters" },
	{ NULL, NULL, "PYEXEC_INSTANCE", "../etc",
	    "PYEXEC_INSTANCE: at most 32 of [a-z0-9_-]" },
	{ NULL, NULL, "PYEXEC_RUNNER", "runner.py", "PYEXEC_LAUNCHER, "
	    "PYEXEC_RUNNER and PYEXEC_ZYGOTE must be absolute paths" },
	{ NULL, NULL, "PYEXEC_BACKEND_SECRET_FILE", "secret",
	    "PYEXEC_BACKEND_SECRET_FILE: an absolute path" },
	{ NULL, NULL, "PYEXEC_LLM_URL", "ftp://x",
	    "PYEXEC_LLM_URL: must start with https:// or http://" },
#define EVERYONE_MSG(e) "PYEXEC_ANONYMOUS_FROM: '" e "' is everyone " \
	"(every IPv4 address, or every address): never that"
#define NOT_NET_MSG(e) "PYEXEC_ANONYMOUS_FROM: '" e "' is not an address " \
	"or network (addresses or networks separated by commas, like " \
	"127.0.0.1,10.1.2.0/24)"
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "10.0.0.0/8,0.0.0.0/0",
	    EVERYONE_MSG("0.0.0.0/0") },
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "0.0.0.0/00",
	    EVERYONE_MSG("0.0.0.0/00") },
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "::1 ::/0", EVERYONE_MSG("::/0") },
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "::ffff:0.0.0.0/96",
	    EVERYONE_MSG("::ffff:0.0.0.0/96") },
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "127.0.0.1,sidecar",
	    NOT_NET_MSG("sidecar") },
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "10.0.0.0/+8",
	    NOT_NET_MSG("10.0.0.0/+8") },
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "10.0.0.0/33",
	    NOT_NET_MSG("10.0.0.0/33") },
	{ NULL, NULL, "PYEXEC_ANONYMOUS_FROM", "10.0.0.0/8;",
	    NOT_NET_MSG("10.0.0.0/8;") },
	{ NULL, NULL, "PYEXEC_NGINX_ANONYMOUS_CONF", "nginx-anonymous.conf",
	    "PYEXEC_NGINX_ANONYMOUS_CONF: an absolute path, or empty" },
#undef EVERYONE_MSG
#undef NOT_NET_MSG
	{ NULL, NULL, "PYEXEC_METRICS_ALLOW", "everyone",
	    "PYEXEC_METRICS_ALLOW: addresses or networks separated by commas, "
	    "like 127.0.0.1,::1,10.0.0.0/8" },
	{ NULL, NULL, "PYEXEC_PRELOAD", "numpy,,pandas", "PYEXEC_PRELOAD: "
	    "module names separated by commas, like numpy,pandas,matplotlib" },
	{ NULL, NULL, "PYEXEC_SEED001_DENY_CALLS", "eval;exec",
	    "PYEXEC_SEED001_DENY_CALLS: a comma-separated list of names" },
	{ NULL, NULL, "PYTHON_EXECUTOR_MAX_MEMORY", "50",
	    "PYTHON_EXECUTOR_DEFAULT_MAX_MEMORY: must not exceed "
	    "PYTHON_EXECUTOR_MAX_MEMORY (50)" },
	{ NULL, NULL, "PYEXEC_LLM_API_KEY", "two words",
	    "the LLM key must be printable ASCII without spaces" },
#undef SIZE_MSG
};

START_TEST(test_refused)
{
	const struct refused	*r = &refused[_i];

	if (r->before != NULL)
		setenv(r->before, r->before_value, 1);
	setenv(r->name, r->value, 1);
	load_err(r->msg);
}
END_TEST

/* Set and empty is a value for the lists (not the default). */
START_TEST(test_empty_values)
{
	env_set("PYEXEC_PRELOAD", "", "PYEXEC_METRICS_ALLOW", "",
	    "PYEXEC_SEED001_DENY_MODULES", "",
	    "PYEXEC_SEED001_DENY_ATTRIBUTES", "a.b,_c",
	    "PYEXEC_WORKSPACE_MOUNTS", "7", NULL);
	load_ok();
	ck_assert_str_eq(c.preload, "");
	ck_assert_str_eq(c.metrics_allow, "");
	ck_assert_str_eq(c.seed001_policy, "deny_modules= "
	    "deny_calls=eval,exec,compile,__import__ deny_attrs=a.b,_c");
	ck_assert_uint_eq(c.ws_mounts, 7);
	config_free(&c);
}
END_TEST

/* The LLM key: PYEXEC_LLM_API_KEY, else the file's first line, else
 * TOGETHER_API_KEY; the message names the variable, never the value. */
START_TEST(test_llm_key)
{
	char	path[] = "/tmp/check_config_key.XXXXXX";
	int	fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "from-file\r\nsecond\n", 18), 18);
	close(fd);
	setenv("TOGETHER_API_KEY", "together", 1);
	load_ok();
	ck_assert_str_eq(c.llm_key, "together");
	config_free(&c);
	setenv("PYEXEC_LLM_API_KEY_FILE", path, 1);
	load_ok();
	ck_assert_str_eq(c.llm_key, "from-file");
	config_free(&c);
	setenv("PYEXEC_LLM_API_KEY", "direct", 1);
	load_ok();
	ck_assert_str_eq(c.llm_key, "direct");
	config_free(&c);
	ck_assert_ptr_null(c.llm_key);
	unsetenv("PYEXEC_LLM_API_KEY");
	unlink(path);
	ck_assert_int_eq(config_load(&c, err, sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert_msg(strncmp(err, "PYEXEC_LLM_API_KEY_FILE: /tmp/check_config_key.",
	    47) == 0, "%s", err);
	ck_assert(strstr(err, "No such file") != NULL);
	config_free(&c);
}
END_TEST

START_TEST(test_budget)
{
	load_ok();
	ck_assert_int_eq(config_budget(&c), 3 * (31000 + 32000));
	config_free(&c);
	env_set("PYEXEC_LLM_TIMEOUT", "10", "PYTHON_EXECUTOR_MAX_TIMEOUT", "3",
	    "PYTHON_EXECUTOR_DEFAULT_TIMEOUT", "1", NULL);
	load_ok();
	ck_assert_int_eq(config_budget(&c), 3 * (11000 + 5000));
	config_free(&c);
}
END_TEST

/* What a FILE * got, as a string the caller frees. */
static char *
capture(void (*print)(FILE *))
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	print(f);
	fclose(f);
	return buf;
}

/* The struct's values as text (pointers by what they point at). */
static void
describe(const struct pyexec_config *p, char *out, size_t len)
{
	snprintf(out, len, "%u %s %u %s %s %s %s %d %s %u %u %zu %zu %zu %zu "
	    "%u %u %zu %zu %g %g %u %u %g %u %zu %zu %u %s %s %g %u %zu %u %u "
	    "%s %d %g %u %u %u %u %s %d %s %llu %u %u %u %u %u %u %u %u "
	    "%llu %u %u %s %s %s %d %s %s",
	    p->workers, p->user, (unsigned)p->uid_base, p->instance,
	    p->launcher_path, p->runner_path, p->zygote_path, p->warm,
	    p->preload, p->warm_max_runs, p->warm_max_age, p->max_body,
	    p->max_output, p->max_artifact_bytes, p->max_artifact_item,
	    p->max_artifacts, p->max_input_files, p->max_input_file,
	    p->max_input_bytes, p->default_timeout, p->max_timeout,
	    p->default_memory_mb, p->max_memory_mb, p->max_cpu, p->max_pids,
	    p->tmp_size, p->max_file_size, p->max_open_files, p->llm_url,
	    p->llm_model, p->llm_timeout, p->llm_retries, p->llm_max_response,
	    p->max_query_chars, p->max_input_length, p->metrics_allow,
	    p->metrics, p->queue_timeout, p->queue_max, p->queue_retry_after,
	    p->header_timeout, p->header_max, p->seed001_policy, p->workspaces,
	    p->workspace_dir, (unsigned long long)p->ws_max_bytes,
	    p->ws_max_files, p->ws_per_client, p->ws_max_total, p->ws_idle,
	    p->ws_max_age, p->ws_sweep, p->ws_wait, p->ws_mounts,
	    (unsigned long long)p->ws_min_free, p->ws_create_rate,
	    p->ws_create_burst, p->anonymous_from, p->web.server_names,
	    p->web.allowed_origins, p->validate_run, p->backend_secret_file,
	    p->nginx_anonymous_conf);
}

/*
 * --env-example: each setting once, commented out; uncommenting every
 * line that shows a value (but the key file's, an example) gives the
 * defaults exactly.
 */
START_TEST(test_env_example)
{
	char		*text = capture(config_env_example), *line, *save, *eq;
	char		 want[4096], got[4096];
	unsigned	 n = 0;

	load_ok();
	describe(&c, want, sizeof(want));
	config_free(&c);
	ck_assert(strncmp(text, "# /etc/pyexec/pyexec.env:", 25) == 0);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(line[0] == '#', "not a comment: %s", line);
		if (line[1] == ' ' || line[1] == '\0' ||
		    (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		ck_assert_msg(getenv(line + 1) == NULL, "%s twice", line + 1);
		n++;
		if (eq[1] != '\0' &&
		    strcmp(line + 1, "PYEXEC_LLM_API_KEY_FILE") != 0)
			setenv(line + 1, eq + 1, 1);
		else
			setenv(line + 1, "", 1);
	}
	ck_assert_uint_ge(n, 70);
	unsetenv("PYEXEC_LLM_API_KEY_FILE");
	ck_assert_str_eq(getenv("PYTHON_EXECUTOR_MAX_TIMEOUT"), "30");
	load_ok();
	describe(&c, got, sizeof(got));
	ck_assert_str_eq(got, want);
	config_free(&c);
	free(text);
}
END_TEST

/* --nginx-defaults: the nginx site's placeholders with their defaults. */
START_TEST(test_nginx_defaults)
{
	char	*text = capture(config_nginx_defaults);

	ck_assert_str_eq(text, "LISTEN=127.0.0.1:8080\nMAX_BODY=1m\n"
	    "KEY_RATE=20\nKEY_BURST=40\nADDR_RATE=50\nADDR_BURST=100\n");
	free(text);
}
END_TEST

/* --nginx-geo: the geo block's entries of the list the worker reads,
 * one a line in its order; nothing for the empty list; one row read. */
START_TEST(test_nginx_geo)
{
	static const struct {
		const char	*from, *want;
	} cases[] = {
		{ "", "" },
		{ ", ", "" },
		{ "127.0.0.1", "127.0.0.1 1;\n" },
		{ "10.1.2.0/24, 2001:db8::/32 ::1",
		    "10.1.2.0/24 1;\n2001:db8::/32 1;\n::1 1;\n" },
	};
	char	*buf;
	size_t	 len, i;
	FILE	*f;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("PYEXEC_ANONYMOUS_FROM", cases[i].from, 1);
		load_ok();
		ck_assert_ptr_nonnull(f = open_memstream(&buf, &len));
		config_nginx_geo(f, &c);
		fclose(f);
		ck_assert_str_eq(buf, cases[i].want);
		free(buf);
		config_free(&c);
	}
	/* one row alone, its default when unset, its checks */
	memset(&c, 0, sizeof(c));
	unsetenv("PYEXEC_ANONYMOUS_FROM");
	setenv("PYEXEC_WORKERS", "0", 1);	/* another row: not read */
	ck_assert_int_eq(config_load_var(&c, "PYEXEC_ANONYMOUS_FROM", err,
	    sizeof(err)), PYEXEC_OK);
	ck_assert_str_eq(c.anonymous_from, "");
	ck_assert_int_eq(config_load_var(&c, "PYEXEC_NGINX_ANONYMOUS_CONF", err,
	    sizeof(err)), PYEXEC_OK);
	ck_assert_str_eq(c.nginx_anonymous_conf,
	    "/etc/pyexec/nginx-anonymous.conf");
	setenv("PYEXEC_ANONYMOUS_FROM", "::/0", 1);
	ck_assert_int_eq(config_load_var(&c, "PYEXEC_ANONYMOUS_FROM", err,
	    sizeof(err)), PYEXEC_ERR_CONFIG);
	ck_assert(strstr(err, "'::/0' is everyone") != NULL);
}
END_TEST

/* The master's check at start (nginxgeo.c): silent when the file holds
 * the list or there is none; a warning naming it when it holds another
 * one.  What it says goes to stderr, here a file. */
static char *
geo_check_says(const struct pyexec_config *p, const char *dir)
{
	char	path[512], *buf;
	size_t	len;
	FILE	*f;
	int	fd, saved = dup(2);

	snprintf(path, sizeof(path), "%s/stderr", dir);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	dup2(fd, 2);
	close(fd);
	nginxgeo_check(p);
	dup2(saved, 2);
	close(saved);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	buf = calloc(1, 4096);
	len = fread(buf, 1, 4095, f);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_nginx_geo_check)
{
	char	dir[] = "/tmp/pyexec-geo.XXXXXX", path[512], *said;
	FILE	*f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nginx-anonymous.conf", dir);
	env_set("PYEXEC_ANONYMOUS_FROM", "127.0.0.1,10.0.0.0/8",
	    "PYEXEC_NGINX_ANONYMOUS_CONF", path, NULL);
	load_ok();
	said = geo_check_says(&c, dir);		/* no file: the site's own */
	ck_assert_str_eq(said, "");
	free(said);
	ck_assert_int_eq(nginxgeo_update(&c), 0);
	said = geo_check_says(&c, dir);		/* the list */
	ck_assert_str_eq(said, "");
	free(said);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));	/* an older list */
	fputs("127.0.0.1 1;\n", f);
	fclose(f);
	said = geo_check_says(&c, dir);
	ck_assert_msg(strstr(said, "\"level\":\"warning\"") != NULL &&
	    strstr(said, "does not hold PYEXEC_ANONYMOUS_FROM's addresses") !=
	    NULL && strstr(said, "nginx-anonymous.conf") != NULL, "%s", said);
	free(said);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stderr", dir);
	unlink(path);
	rmdir(dir);
	config_free(&c);
}
END_TEST

static Suite *
config_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("config", "table", &tc);

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_number);
	tcase_add_test(tc, test_int_bool_word);
	tcase_add_test(tc, test_aliases);
	tcase_add_test(tc, test_web);
	CHECK_LOOP(tc, test_refused, refused);
	tcase_add_test(tc, test_empty_values);
	tcase_add_test(tc, test_llm_key);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_env_example);
	tcase_add_test(tc, test_nginx_defaults);
	tcase_add_test(tc, test_nginx_geo);
	tcase_add_test(tc, test_nginx_geo_check);
	return s;
}

CHECK_MAIN(config_suite(), CK_FORK_GETENV)
