/*
 * bench/jsongate/gate.c: the JSON gate of a request body, timed and
 * compared.  Linked by bench/jsongate/run twice: against the tree's
 * jsonstrict.c, request.c and envelope.c, and against those of an older
 * revision, with the rest of libpyexec.a the same.
 *
 *   gate time [ROUNDS]   medians of request_json() and of the whole
 *                        request_parse() on large bodies (ms)
 *   gate msgs FILE...    for each body file and each route's table: what
 *                        request_parse() answers (kind, field, words), and
 *                        what json_strict_parse/json_strict_check say;
 *                        two builds' outputs must be identical
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The old revision declares everything in fcgi-app/pyexec.h; the layered
 * tree declares the field tables in the core's header. */
#if __has_include("core.h")
#include "core.h"
#else
#include "pyexec.h"
#endif

static const struct field_table *const tables[] = {
	&request_execute, &request_generate, &request_seed004,
	&request_seed002, &request_seed003, &request_seed001_execute,
	&request_seed001_generate, &request_seed000_execute,
	&request_seed000_generate, &request_workspace,
};
#define NTABLES	(sizeof(tables) / sizeof(tables[0]))

static struct pyexec_config	cfg;

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A heap buffer the worker's way: len bytes and a NUL.  Owned by caller. */
static char *
body_new(size_t cap)
{
	char	*b = malloc(cap + 1);

	if (b == NULL) {
		perror("malloc");
		exit(1);
	}
	return b;
}

/* {"code": "# xxxx...\n"} of about n bytes. */
static char *
body_code(size_t n, size_t *len)
{
	char	*b = body_new(n + 32);
	size_t	 i = 0, k;

	i += (size_t)sprintf(b, "{\"code\": \"#");
	for (k = 0; k < n; k++)
		b[i++] = k % 64 == 63 ? ' ' : "abcdefgh"[k % 8];
	i += (size_t)sprintf(b + i, "\\n\"}");
	*len = i;
	return b;
}

/* {"code":"1","stdin":{"a":{"a":...31 deep...}}} wide: each level with
 * `width` members. */
static char *
body_wide(size_t width, size_t *len)
{
	size_t	 cap = width * 24 + 64, i = 0, k;
	char	*b = body_new(cap);

	i += (size_t)sprintf(b, "{\"code\":\"1\",\"stdin\":{");
	for (k = 0; k < width; k++)
		i += (size_t)sprintf(b + i, "%s\"k%zu\":[%zu,\"v\"]",
		    k ? "," : "", k, k);
	i += (size_t)sprintf(b + i, "}}");
	*len = i;
	return b;
}

static char *
body_deep(int depth, size_t *len)
{
	char	*b = body_new(64 + (size_t)depth * 8);
	size_t	 i = 0;
	int	 d;

	i += (size_t)sprintf(b, "{\"code\":\"1\",\"stdin\":");
	for (d = 0; d < depth; d++)
		i += (size_t)sprintf(b + i, "{\"a\":");
	b[i++] = '1';
	for (d = 0; d < depth; d++)
		b[i++] = '}';
	b[i++] = '}';
	*len = i;
	return b;
}

static void
bench_one(const char *name, char *b, size_t len, int rounds)
{
	double			*tj = calloc((size_t)rounds, sizeof(double));
	double			*tp = calloc((size_t)rounds, sizeof(double));
	struct json_object	*o;
	struct exec_request	 r;
	struct field_error	 e;
	char			 msg[256];
	double			 t0;
	int			 k;

	b[len] = '\0';
	for (k = 0; k < rounds; k++) {
		t0 = now_ms();
		o = request_json(b, len, msg, sizeof(msg));
		tj[k] = now_ms() - t0;
		json_object_put(o);
		t0 = now_ms();
		request_parse(&request_execute, b, len, &cfg, &r, &e);
		tp[k] = now_ms() - t0;
		request_free(&r);
	}
	qsort(tj, (size_t)rounds, sizeof(double), cmp_double);
	qsort(tp, (size_t)rounds, sizeof(double), cmp_double);
	printf("%-28s %9zu bytes  request_json %8.3f ms  request_parse "
	    "%8.3f ms  (%s)\n", name, len, tj[rounds / 2], tp[rounds / 2],
	    e.kind == FK_NONE ? "ok" : e.text);
	free(tj);
	free(tp);
	free(b);
}

static void
bench(int rounds)
{
	size_t	 len;
	char	*b;

	b = body_code(1 << 20, &len);
	bench_one("code string 1 MiB", b, len, rounds);
	b = body_code(1 << 16, &len);
	bench_one("code string 64 KiB", b, len, rounds);
	b = body_wide(40000, &len);
	bench_one("object 40000 members", b, len, rounds);
	b = body_deep(30, &len);
	bench_one("object 31 deep (30 + top)", b, len, rounds);
	b = body_code(1 << 20, &len);
	b[len - 5] = '\xff';	/* not UTF-8, just before the end */
	bench_one("bad byte at 1 MiB", b, len, rounds);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*b;
	long	 n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(path);
		exit(1);
	}
	rewind(f);
	b = body_new((size_t)n);
	if (fread(b, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	b[n] = '\0';
	*len = (size_t)n;
	return b;
}

static void
msgs(const char *path)
{
	struct exec_request	 r;
	struct field_error	 e;
	struct json_object	*o;
	char			 m[256], *b;
	size_t			 len, t;
	int			 d;

	b = slurp(path, &len);
	for (t = 0; t < NTABLES; t++) {
		request_parse(tables[t], b, len, &cfg, &r, &e);
		printf("%s\t%s\t%d\t%s\t%s\n", path, tables[t]->route,
		    (int)e.kind, e.kind == FK_NONE ? "" : e.name, e.text);
		request_free(&r);
	}
	o = request_json(b, len, m, sizeof(m));
	printf("%s\trequest_json\t%s\n", path, o != NULL ? "parsed" : m);
	json_object_put(o);
	for (d = 2; d <= 1200; d *= 20) {
		o = json_strict_parse(b, len, d, json_type_object);
		printf("%s\tstrict_parse %d object\t%s\n", path, d,
		    o == NULL ? "NULL" : json_object_to_json_string(o));
		json_object_put(o);
		o = json_strict_parse(b, len, d, json_type_array);
		printf("%s\tstrict_parse %d array\t%s\n", path, d,
		    o == NULL ? "NULL" : json_object_to_json_string(o));
		json_object_put(o);
		m[0] = '\0';
		printf("%s\tstrict_check %d finite\t%d %s\n", path, d,
		    json_strict_check(b, len, d, true, m, sizeof(m)), m);
		m[0] = '\0';
		printf("%s\tstrict_check %d\t%d %s\n", path, d,
		    json_strict_check(b, len, d, false, m, sizeof(m)), m);
	}
	free(b);
}

int
main(int argc, char **argv)
{
	int	i;

	cfg.default_timeout = 5;
	cfg.max_timeout = 30;
	cfg.default_memory_mb = 100;
	cfg.max_memory_mb = 500;
	cfg.max_cpu = 2;
	cfg.max_body = 10 << 20;
	if (argc >= 2 && strcmp(argv[1], "time") == 0) {
		bench(argc > 2 ? atoi(argv[2]) : 21);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "msgs") == 0) {
		for (i = 2; i < argc; i++)
			msgs(argv[i]);
		return 0;
	}
	fprintf(stderr, "usage: gate time [ROUNDS] | gate msgs FILE...\n");
	return 2;
}
