/*
 * log.c: structured logging.  One JSON object per line on stderr, written
 * with a single write(2) so lines from several workers never interleave.
 * Callers never pass code, request bodies or secrets.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

static void
log_timestamp(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;
	char		base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

/* Adds ts, level, event and pid to obj (borrowed) and writes it. */
void
log_json(const char *level, const char *event, struct json_object *obj)
{
	char		 ts[48];
	const char	*s;
	size_t		 len;
	char		 line[8192];

	log_timestamp(ts, sizeof(ts));
	json_object_object_add(obj, "ts", json_object_new_string(ts));
	json_object_object_add(obj, "level", json_object_new_string(level));
	json_object_object_add(obj, "event", json_object_new_string(event));
	json_object_object_add(obj, "pid", json_object_new_int(getpid()));
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	memcpy(line, s, len);
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void
log_msg(const char *level, const char *event, const char *fmt, ...)
{
	struct json_object	*obj = json_object_new_object();
	char			 msg[2048];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(obj, "message", json_object_new_string(msg));
	log_json(level, event, obj);
	json_object_put(obj);
}

/* err(3) for the worker and master: a fatal JSON line, then exit. */
void
log_die(int status, const char *event, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg("fatal", event, "%s", msg);
	exit(status);
}
