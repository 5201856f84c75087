/*
 * guard.c: what is left of a master that died.
 *
 * Theory of operation.  The master forks the guard before it makes any
 * slot.  The guard keeps only the read end of a pipe whose write end is
 * the master's alone (every other child of the master closes it), and
 * sleeps in read().  When the master ends cleanly it has removed its slots
 * and writes 'D' first: the guard ends.  End of file without 'D' means the
 * master died (SIGKILL, a crash): its front ends when its channels hang
 * up, its workers by their parent-death signal, each launcher by its own
 * (SIGKILL) and with it every process of the slot's pid namespace.  The
 * guard then removes pyexec/<instance> in every hierarchy, killing what is
 * still listed in a cgroup.procs below it (sb_cgroup_sweep(): only the
 * slots' processes are ever there), for up to GUARD_WAIT_MS, logs what it
 * did and ends.  So a killed backend leaves no process and no cgroup, with
 * or without a service manager; under systemd, ExecStopPost runs
 * `pyexec-fcgi --cleanup` for the case that the guard was killed too.
 *
 * The guard stays root (removing cgroups needs it) and holds nothing but
 * the pipe and stderr: not the listening socket, the channels, the slots'
 * control sockets, the shared table or a secret (wiped at the fork).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "proc.h"
#include "sandbox.h"

#define GUARD_WAIT_MS	5000
#define GUARD_FD	3		/* the pipe's read end in the guard */

static void __attribute__((noreturn))
guard_main(int rfd, enum sb_cgversion v, char *name, pid_t master)
{
	char	b = 0, *slash;
	ssize_t	n;
	int	nul;

	(void)prctl(PR_SET_NAME, "pyexec-guard", 0, 0, 0);
	signal(SIGTERM, SIG_IGN);	/* a process-group SIGTERM is for the
					 * master; the guard ends with it */
	signal(SIGINT, SIG_IGN);
	if (dup2(rfd, GUARD_FD) != GUARD_FD ||
	    (nul = open("/dev/null", O_RDWR)) < 0 ||
	    dup2(nul, 0) != 0 || dup2(nul, 1) != 1)
		_exit(1);
	closefrom(GUARD_FD + 1);
	do
		n = read(GUARD_FD, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && b == 'D')
		_exit(0);
	if (sb_cgroup_sweep(v, name, GUARD_WAIT_MS) == 0) {
		log_msg("error", "guard", "the master %d died: its slots' "
		    "processes are killed and cgroup %s removed", (int)master,
		    name);
		if ((slash = strrchr(name, '/')) != NULL) {
			*slash = '\0';		/* "pyexec", if no other uses it */
			sb_cgroup_remove(v, name);
		}
	}
	else
		log_msg("error", "guard", "the master %d died: cgroup %s could "
		    "not be removed in %d s", (int)master, name,
		    GUARD_WAIT_MS / 1000);
	_exit(0);
}

/*
 * Forks the guard of the cgroup name (e.g. "pyexec/default").  The guard
 * first wipes the secrets cfg holds (config_free(): the LLM key, the
 * backend secret): it uses neither.  Returns the pipe's write end
 * (close-on-exec; the caller's children that are not exec'd must close
 * it), or -1 with errno set.
 */
int
guard_start(enum sb_cgversion v, const char *name, struct pyexec_config *cfg)
{
	int	p[2];
	pid_t	pid, master = getpid();

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char	own[512];

		close(p[1]);
		config_free(cfg);
		snprintf(own, sizeof(own), "%s", name);
		guard_main(p[0], v, own, master);
	}
	close(p[0]);
	return p[1];
}

/* The master removed its slots: the guard may end. */
void
guard_done(int wfd)
{
	if (wfd < 0)
		return;
	if (write(wfd, "D", 1) != 1)
		log_msg("warning", "guard", "telling the guard: %s",
		    strerror(errno));
	close(wfd);
}
