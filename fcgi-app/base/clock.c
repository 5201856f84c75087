/*
 * clock.c: the clocks of the request side, in milliseconds.  Deadlines
 * (the request's budget, the LLM's timeout, the warm-up wait) are
 * monotonic; only the time nginx stamped a request with is wall clock.
 */
#include "config.h"

#include <time.h>

#include "base.h"

static int64_t
clock_ms(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
clock_real_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}
