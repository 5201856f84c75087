/*
 * spawner.c: the launcher's filter-free hands.
 *
 * A seccomp filter is inherited by every fork and can never be taken
 * off.  The launcher loads a policy of its own once set up; had it forked
 * the keepers and the zygotes itself after that, every run would carry
 * that policy under the run's own: two filters, and a different number
 * cold (the first keeper was forked before the launcher's policy) and
 * warm.  So the launcher forks, before it loads its policy, this small
 * process, which starts every keeper and every zygote on its word:
 *
 *   launcher (pid 1)    its own policy loaded; sends SPAWN_* with the
 *    |                  new process's fds, reads back its pid
 *    spawner            no policy, the launcher's ids and cgroup; never
 *                       execs, runs no code it was sent, reads nothing but
 *                       fixed-size SPAWN_* messages from the launcher;
 *                       dies with it (parent-death signal)
 *    keeper, zygotes    cloned by the spawner with CLONE_PARENT: the
 *                       launcher's children (it reaps them, as before),
 *                       with no policy, so each run loads exactly one:
 *                       the run's (runstep.c)
 *
 * The keeper and the zygotes never run user code (docs/security.md says
 * what each may do); the runs under them carry the run's policy alone,
 * cold and warm alike.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jlog.h"
#include "keep.h"
#include "keeper.h"
#include "proto.h"
#include "root.h"
#include "runstep.h"
#include "spawner.h"

#define SPAWNER_FD	3	/* the spawner's socket, in the spawner */
#define SPAWN_WAIT_MS	5000

/* How many fds come with a request of op; 0 for no request at all. */
static int
spawn_nfds(uint32_t op)
{
	switch (op) {
	case SPAWN_KEEPER:
		return 1;		/* its socket */
	case SPAWN_ZYGOTE_BARE:
	case SPAWN_ZYGOTE_DATA:
		return 2;		/* its socket, its config pipe */
	default:
		return 0;
	}
}

/*
 * A zygote: python on the runner with --zygote, in a mount namespace of
 * its own with a private /tmp (matplotlib writes its caches at import),
 * with fd 3 its socket, fd 4 its config (zyg_conf and the run's policy,
 * written by the launcher) and fds 5.. the run/ cgroup.procs fds its runs
 * join by; fd 1 /dev/null, fd 2 the log.
 */
static void __attribute__((noreturn))
spawner_zygote(const struct jail *j, const char *modules, int sock, int conf)
{
	char	*argv[] = { "python3", "-I", "-S", "-B", "-u",
		    ROOT_RUNNER_PATH, "--zygote",
		    (char *)modules, NULL };
	sigset_t none;
	int	 i, fds[2 + LAUNCHER_MAX_CG];

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    setpriority(PRIO_PROCESS, 0, 0) != 0)
		_exit(126);
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    "size=16m,nr_inodes=1024,mode=0700") != 0) {
		launcher_log("error", "zygote: its own /tmp could not be made");
		_exit(126);
	}
	fds[0] = sock;
	fds[1] = conf;
	for (i = 0; i < j->ncg; i++)
		fds[2 + i] = j->cg_fds[i];
	for (i = 0; i < 2 + j->ncg; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD, 32)) < 0)
			_exit(126);
	for (i = 0; i < 2 + j->ncg; i++)
		if (dup2(fds[i], ZYG_FD_SOCK + i) != ZYG_FD_SOCK + i)
			_exit(126);
	if (close_range(ZYG_FD_SOCK + 2 + (unsigned)j->ncg, ~0U, 0) != 0)
		_exit(126);
	/* Its stdout is nobody's (a C library's chatter); python's own
	 * output goes to fd 2, the log, as JSON lines (runner.py). */
	if ((i = open("/dev/null", O_WRONLY)) < 0 || dup2(i, 1) != 1)
		_exit(126);
	if (i != 1)
		close(i);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(j->python, argv, runstep_envp);
	_exit(127);
}

/* In the spawner: one request, one clone.  The child never returns. */
static pid_t
spawner_clone(const struct jail *j, uint32_t op, int fds[2])
{
	pid_t	pid;

	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL,
	    NULL, NULL);
	if (pid != 0)
		return pid;
	close(SPAWNER_FD);
	if (op == SPAWN_KEEPER)
		keeper_main(j, fds[0]);
	spawner_zygote(j, op == SPAWN_ZYGOTE_DATA ? j->preload : "", fds[0],
	    fds[1]);
}

/* The spawner's loop: a request, a clone, its pid back; the launcher's
 * end closed (it died, or broke the protocol): the end. */
static void __attribute__((noreturn))
spawner_loop(const struct jail *j)
{
	struct spawn_msg m;
	int		 fds[2], nfds, i;
	ssize_t		 n;
	pid_t		 pid;

	for (;;) {
		n = proto_recv(SPAWNER_FD, &m, sizeof(m), fds, 2, &nfds);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m) || spawn_nfds(m.op) == 0 ||
		    nfds != spawn_nfds(m.op)) {
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			_exit(n == 0 ? 0 : 2);
		}
		pid = spawner_clone(j, m.op, fds);
		m = (struct spawn_msg){ SPAWN_PID, pid > 0 ? pid : -errno };
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (send(SPAWNER_FD, &m, sizeof(m), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(m))
			_exit(0);
	}
}

/*
 * Forks the spawner, before the launcher loads its own policy.  In the
 * child: its socket on fd 3 (the worker's control socket is closed by
 * that), the run/ cgroup.procs fds kept, every other fd closed.  Sets
 * sp->pid and sp->fd; -1 if it could not.
 */
int
spawner_start(const struct jail *j, struct spawner *sp)
{
	int	sv[2];
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid > 0) {
		close(sv[1]);
		sp->pid = pid;
		sp->fd = sv[0];
		return 0;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    dup2(sv[1], SPAWNER_FD) != SPAWNER_FD)
		_exit(1);
	/* 0-2 (/dev/null, the log), 3, and the cgroup.procs fds, which are
	 * j->cg_fds[0].. in a row (launcher.c, main). */
	if (close_range(SPAWNER_FD + 1, (unsigned)j->cg_fds[0] - 1, 0) != 0 ||
	    close_range((unsigned)(j->cg_fds[0] + j->ncg), ~0U, 0) != 0)
		_exit(1);
	spawner_loop(j);
}

/*
 * In the launcher: has the spawner start a keeper (SPAWN_KEEPER, fds its
 * socket) or a zygote (SPAWN_ZYGOTE_*, fds its socket and config pipe)
 * and returns its pid, a child of ours; -1 with errno set if it could
 * not.  The fds stay ours to close.
 */
pid_t
spawner_spawn(struct spawner *sp, uint32_t op, const int *fds)
{
	struct spawn_msg m = { op, 0 };
	struct pollfd	 pfd = { sp->fd, POLLIN, 0 };
	int		 none[1], nfds;

	if (sp->fd < 0 ||
	    proto_send(sp->fd, &m, sizeof(m), fds, spawn_nfds(op)) != 0)
		return -1;
	while (poll(&pfd, 1, SPAWN_WAIT_MS) < 0 && errno == EINTR)
		;
	if (!(pfd.revents & POLLIN) ||
	    proto_recv(sp->fd, &m, sizeof(m), none, 0, &nfds) !=
	    (ssize_t)sizeof(m) || m.op != SPAWN_PID) {
		errno = EPROTO;
		return -1;
	}
	if (m.value <= 1) {
		errno = m.value < 0 ? -m.value : EPROTO;
		return -1;
	}
	return m.value;
}
