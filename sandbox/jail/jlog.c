/*
 * jlog.c: the jail's log line, its fatal end and its clock, which the
 * launcher, its keeper and the zygotes (pyexec-zygote.so) share.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jlog.h"

/*
 * Logging: like the service, one JSON object per line on stderr.  The
 * launcher's messages are its own (paths, strerror), escaped anyway.
 */
void
launcher_log(const char *level, const char *msg)
{
	char		 out[1024];
	size_t		 o = 0;
	const char	*p;

	o = (size_t)snprintf(out, sizeof(out), "{\"level\":\"%s\",\"event\":"
	    "\"launcher\",\"pid_in_slot\":%d,\"message\":\"", level, (int)getpid());
	for (p = msg; *p != '\0' && o < sizeof(out) - 8; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	memcpy(out + o, "\"}\n", 3);
	(void)!write(STDERR_FILENO, out, o + 3);
}

uint64_t
launcher_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* err(3) and errx(3), with the message as a JSON log line. */
void
launcher_die(int status, bool with_errno, const char *fmt, ...)
{
	char	msg[512];
	int	e = errno, n;
	va_list	ap;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(e));
	launcher_log("fatal", msg);
	exit(status);
}
