/*
 * drop.c: the privilege drop the front and the workers share, their
 * signals, and the exit of a process that went through it (the
 * master's too).  The master
 * forks them as root; each drops to PYEXEC_USER at once, before it
 * touches a socket or a request: no capability survives, no_new_privs is
 * set, and the process is not dumpable (a worker holds the LLM key).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "proc.h"

/* setgroups, setresgid, setresuid, then check that it held. */
void
drop_privileges(const struct pyexec_config *c)
{
	struct passwd	*pw;

	if ((pw = getpwnam(c->user)) == NULL || pw->pw_uid == 0)
		log_die(1, "worker", "user %s missing or root", c->user);
	if (setgroups(0, NULL) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		log_die(1, "worker", "dropping privileges: %s", strerror(errno));
	if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
	    getegid() != pw->pw_gid || setuid(0) == 0)
		log_die(1, "worker", "privileges did not drop");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		log_die(1, "worker", "no_new_privs: %s", strerror(errno));
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		log_die(1, "worker", "pdeathsig: %s", strerror(errno));
	/* Not dumpable whatever fs.suid_dumpable says: no core file, no
	 * ptrace, no /proc/PID/mem of the worker (it holds the LLM key). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_die(1, "worker", "dumpable: %s", strerror(errno));
}

/*
 * The master forks the front and the workers with SIGTERM, SIGINT, SIGHUP
 * and SIGCHLD blocked.  The handlers first, then the unblocking: a
 * drain's SIGTERM sent right after the fork waits for on_term instead of
 * ending the process before it took what is queued.  No SA_RESTART: a
 * blocking call (accept(), epoll_wait()) returns to look at the flag.
 */
void
drop_signals(void (*on_term)(int), const int *ignore)
{
	struct sigaction sa;
	sigset_t	 none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	for (; *ignore != 0; ignore++)
		sigaction(*ignore, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DROP_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(DROP_LSAN)
#define DROP_LSAN 1
#endif

/*
 * exit() for a process that went through drop_privileges(), and for the master
 * (not dumpable either).  In a build with AddressSanitizer only: dumpable
 * again, so that LeakSanitizer's check at exit may stop this process's
 * threads (ptrace) and report leaks; the service as shipped stays not
 * dumpable to its end.
 */
void
drop_exit(int status)
{
#ifdef DROP_LSAN
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	exit(status);
}
