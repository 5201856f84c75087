/*
 * jlog.h: the jail's log line, its fatal end and its clock (jlog.c).
 *
 * Floor: the jail's lowest (with root.h and filter.h); it calls nothing of
 * pyexec.  Included by any file of sandbox/jail/ (the launcher, its
 * spawner and keeper, the zygote's library); never by the host side.
 */
#ifndef PYEXEC_JLOG_H
#define PYEXEC_JLOG_H

#include <stdbool.h>
#include <stdint.h>

/* One JSON object per line on stderr (the slot's log), as the service's. */
void		 launcher_log(const char *level, const char *msg);
/* err(3) and errx(3), with the message as a JSON log line ("fatal"). */
void		 launcher_die(int status, bool with_errno, const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 3, 4)));
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t	 launcher_now_ns(void);

#endif /* PYEXEC_JLOG_H */
