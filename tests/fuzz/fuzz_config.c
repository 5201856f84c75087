/*
 * libFuzzer target: the configuration table (config.c) read by
 * config_load() from a made-up environment.  Built and run by
 * tests/fuzz/run under AddressSanitizer and UndefinedBehaviorSanitizer.
 * The input is lines; a line's first byte picks a variable (the settings
 * --env-example lists, and the older names API_TIMEOUT and
 * OUTPUT_DATA_PATH), the rest is its value.  PYEXEC_LLM_API_KEY_FILE is
 * left out: it names a file to read.  Whatever the values:
 *
 *   - config_load() answers OK or a message that names a variable;
 *   - what it accepts holds the table's promises: absolute paths, the
 *     queue and its Retry-After within their bounds, mounts for every
 *     worker, the default memory under the largest, a key of printable
 *     ASCII, a positive budget;
 *   - config_free() leaves nothing behind (LeakSanitizer).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAMES_MAX	128

static char	*names[NAMES_MAX];
static size_t	 nnames;

/* The variables, from --env-example's "#NAME=" lines (once). */
static void
fuzz_names(void)
{
	char	*buf = NULL, *line, *save, *eq;
	size_t	 len = 0;
	FILE	*f;

	if (nnames != 0)
		return;
	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	config_env_example(f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line != NULL &&
	    nnames < NAMES_MAX - 2; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != '#' || line[1] < 'A' || line[1] > 'Z' ||
		    (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcmp(line + 1, "PYEXEC_LLM_API_KEY_FILE") != 0)
			names[nnames++] = strdup(line + 1);
	}
	names[nnames++] = strdup("API_TIMEOUT");
	names[nnames++] = strdup("OUTPUT_DATA_PATH");
	free(buf);
}

/* Each line: a variable, its value (cut at a NUL). */
static void
fuzz_environment(const uint8_t *data, size_t size)
{
	char		 value[8192];
	const uint8_t	*p = data, *end = data + size, *nl;
	size_t		 n;

	clearenv();
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p) {
			n = (size_t)(nl - p - 1);
			memcpy(value, p + 1, n);
			value[n] = '\0';
			setenv(names[*p % nnames], value, 1);
		}
		p = nl + 1;
	}
}

static void
fuzz_check(const struct pyexec_config *c)
{
	const char	*k;

	if (c->launcher_path[0] != '/' || c->runner_path[0] != '/' ||
	    c->zygote_path[0] != '/' || c->workspace_dir[0] != '/' ||
	    c->backend_secret_file[0] != '/')
		abort();
	if (c->queue_max < 1 || c->queue_max > 900 ||
	    c->queue_retry_after < 1 || c->queue_retry_after > 30)
		abort();
	if (c->workers < 1 || c->ws_mounts < 1 ||
	    c->default_memory_mb > c->max_memory_mb ||
	    strlen(c->instance) > 32 || strlen(c->preload) > 190)
		abort();
	if (memchr(c->seed001_policy, '\0', sizeof(c->seed001_policy)) == NULL)
		abort();
	for (k = c->llm_key; k != NULL && *k != '\0'; k++)
		if ((unsigned char)*k <= ' ' || (unsigned char)*k >= 0x7f)
			abort();
	if (config_budget(c) <= 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyexec_config	c;
	char			err[512];
	size_t			i;
	bool			named = false;

	fuzz_names();
	fuzz_environment(data, size);
	err[0] = '\0';
	if (config_load(&c, err, sizeof(err)) == PYEXEC_OK)
		fuzz_check(&c);
	else {
		/* The message names a variable (or is the key's own). */
		for (i = 0; i < nnames && !named; i++)
			named = strstr(err, names[i]) != NULL;
		if (!named && strcmp(err, "the LLM key must be printable "
		    "ASCII without spaces") != 0)
			abort();
	}
	config_free(&c);
	return 0;
}
