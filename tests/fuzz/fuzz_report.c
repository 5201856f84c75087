/*
 * libFuzzer target: a run's report as the worker reads it (task.c's
 * task_report, artifact.c), the bytes a run writes on its report pipe:
 * "<report JSON>" or "<report JSON>\n<artifacts JSON>", taken only when
 * strict and when the kernel's exit status agrees.  Every exit status the
 * launcher can report is tried with the same bytes.  Built and run by
 * tests/fuzz/run under ASan and UBSan.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_one(char *report, size_t len, enum run_outcome outcome, int exit_code,
    bool artifacts)
{
	struct run_result	rr;
	struct task_attempt	a;

	memset(&rr, 0, sizeof(rr));
	memset(&a, 0, sizeof(a));
	rr.outcome = outcome;
	rr.exit_code = exit_code;
	rr.report = report;
	rr.report_len = len;
	a.p.artifacts = artifacts;
	a.p.art_total = 4096;
	a.p.art_item = 2048;
	a.p.art_count = 4;
	task_report(&rr, &a);
	/* a completed run has no exception; what is taken is well formed */
	if (outcome == RUN_COMPLETED && a.exc != NULL)
		abort();
	if (a.exc != NULL && !json_object_is_type(a.exc, json_type_object))
		abort();
	if (a.result_json != NULL && (outcome != RUN_COMPLETED ||
	    json_strict_check(a.result_json, strlen(a.result_json), 1100, true,
	    NULL, 0) != 0))
		abort();
	if (a.artifacts != NULL && (!artifacts ||
	    !json_object_is_type(a.artifacts, json_type_array)))
		abort();
	json_object_put(a.exc);
	free(a.result_json);
	free(a.result_str);
	json_object_put(a.artifacts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*report = malloc(size + 1);

	if (report == NULL)
		return 0;
	memcpy(report, data, size);
	report[size] = '\0';
	fuzz_one(report, size, RUN_COMPLETED, 0, true);
	fuzz_one(report, size, RUN_COMPLETED, 0, false);
	fuzz_one(report, size, RUN_ERROR, 1, true);
	fuzz_one(report, size, RUN_ERROR, 2, false);
	fuzz_one(report, size, RUN_SIGNAL, -1, false);
	free(report);
	return 0;
}
