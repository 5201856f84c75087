/*
 * keeper.c: the keeper, the run's init and the run, all forks of the
 * launcher (pid 1 of the slot), the keeper through its spawner.
 *
 *   launcher (pid 1)   cgroup slot-N/launcher: never charged for a run,
 *    |                 never throttled by one, never the OOM killer's pick
 *    keeper            (cloned for the launcher by its spawner: no seccomp
 *     |                policy) cgroup slot-N/launcher too, for the same
 *     |                reasons (in run/ the OOM killer chose it whenever
 *     |                every process of a run was smaller).  Forks every
 *     |                cold run's init and reaps it.
 *     run init         pid 1 of a pid, mount and IPC namespace of its own,
 *      |               made for this run: fresh tmpfs on /tmp and /dev/shm
 *      |               (noexec), a /proc of this namespace only
 *      |               (subset=pid, hidepid=2).  Forks the run, reports its
 *      |               wait status, exits: the kernel then kills whatever
 *      |               the run left, at once, and the namespaces, their
 *      |               tmpfs and their pid counter are gone with it.
 *      run             run_child(), the runstep steps: joins run/ through
 *                      cgroup.procs fds the master opened and a cgroup
 *                      namespace of its own (as a warm run does), rlimits,
 *                      uid 1000, no_new_privs, seccomp, exec python on the
 *                      runner.
 *
 * Nothing a run does survives it: every file system it can write, every
 * pid it can see and every IPC object is its own namespace's.  The
 * launcher kills a run by killing its init (SIGKILL to pid 1 of a pid
 * namespace ends every process in it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jlog.h"
#include "keep.h"
#include "keeper.h"
#include "proto.h"
#include "root.h"
#include "runstep.h"

#define RUN_NS_FLAGS	(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC)

/* The cold run: the runstep steps, then exec python on the runner. */
static void __attribute__((noreturn))
run_child(const struct jail *j, int fds[PROTO_NFDS], int st,
    bool workspace)
{
	char	*argv[] = { "python3", "-I", "-S", "-B", "-u",
		    ROOT_RUNNER_PATH, NULL };

	runstep_join_cgroups(st, j->cg_fds, j->ncg);
	st = runstep_become(&j->step, fds, st, workspace);
	runstep_stamp(st);
	execve(j->python, argv, runstep_envp);
	runstep_fail(st, "exec python");
}

/*
 * pid 1 of the run's namespaces: mounts the run's file systems, forks the
 * run, reaps everything, and once the runner itself has ended sends its
 * wait status and exits (which ends every process left in the namespace).
 */
static void __attribute__((noreturn))
run_init(const struct jail *j, int fds[KEEP_MAX_FDS], int32_t flags)
{
	int	 st = fds[PROTO_NFDS], status, i, rc;
	int	 wsfd = (flags & PROTO_RUN_WORKSPACE) ? fds[KEEP_FD_WORKSPACE] : -1;
	char	 err[256];
	pid_t	 child, p;

	if ((rc = root_run_mounts(&j->root, (flags & PROTO_RUN_OUTPUTS) != 0,
	    wsfd, err, sizeof(err))) != 0)
		runstep_fail_mounts(st, rc, err);
	if ((child = fork()) < 0)
		runstep_fail(st, "fork");
	if (child == 0)
		run_child(j, fds, st, wsfd >= 0);
	for (i = 0; i < PROTO_NFDS; i++)
		close(fds[i]);
	for (;;) {
		p = waitpid(-1, &status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			_exit(1);
		if (p == child)
			break;
	}
	runstep_status(st, status);
	_exit(0);
}

static void
keeper_send(int fd, uint32_t op, pid_t pid, int value)
{
	struct keep_msg	m = { op, pid, value, 0, 0 };

	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		_exit(0);	/* the launcher is gone */
}

/* Clones the run's init for the fds of one KEEP_RUN (flags: its value). */
static void
keeper_spawn(const struct jail *j, int sock, int fds[KEEP_MAX_FDS],
    int32_t flags)
{
	pid_t	pid;
	int	i;

	pid = (pid_t)syscall(SYS_clone, RUN_NS_FLAGS | SIGCHLD, NULL, NULL,
	    NULL, NULL);
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
			_exit(127);
		close(sock);
		run_init(j, fds, flags);
	}
	for (i = 0; i < keep_nfds(flags, 0); i++)
		close(fds[i]);
	if (pid < 0)
		keeper_send(sock, KEEP_FAILED, 0, errno);
	else
		keeper_send(sock, KEEP_STARTED, pid, 0);
}

/* The keeper's loop: runs to start, inits to reap. */
static void __attribute__((noreturn))
keeper_loop(const struct jail *j, int sock, int sigfd)
{
	struct pollfd		 pfd[2] = { { sock, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
	struct signalfd_siginfo	 si;
	struct keep_msg		 m;
	int			 fds[KEEP_MAX_FDS], nfds, status, i;
	ssize_t			 n;
	pid_t			 p;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pfd[1].revents) {
			while (read(sigfd, &si, sizeof(si)) > 0)
				;
			while ((p = waitpid(-1, &status, WNOHANG | __WALL)) > 0)
				keeper_send(sock, KEEP_REAPED, p, status);
		}
		if (!pfd[0].revents)
			continue;
		n = proto_recv(sock, &m, sizeof(m), fds, KEEP_MAX_FDS, &nfds);
		if (n == 0 || (n < 0 && errno != EPROTO))
			_exit(0);
		if (!keep_run_valid(&m, (long)n, nfds) ||
		    (m.value & (int32_t)PROTO_RUN_SESSION)) {
			/* (a session comes from a zygote, never cold) */
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			_exit(2);	/* only our launcher talks to us */
		}
		keeper_spawn(j, sock, fds, m.value);
	}
}

/* In the keeper: every fd above its socket (fd 3) closed but the run/
 * cgroup.procs ones (contiguous: launcher.c), which its runs join by. */
static void
keeper_close_fds(const struct jail *j)
{
	unsigned	first = (unsigned)j->cg_fds[0];
	unsigned	last = (unsigned)j->cg_fds[j->ncg - 1];

	if ((first > 4 && close_range(4, first - 1, 0) != 0) ||
	    close_range(last + 1, ~0U, 0) != 0)
		launcher_die(1, true, "keeper: close_range");
}

/*
 * The keeper, in the spawner's clone.  It stays in slot-N/launcher with
 * the launcher (out of the run's memory limit: never its OOM killer's
 * choice); each cold run joins run/ itself, as a warm one does
 * (runstep_join_cgroups).  Every fd but its socket (sock, made fd 3) and
 * the run/ cgroup.procs ones closed; then its loop.
 */
void
keeper_main(const struct jail *j, int sock)
{
	int		sigfd;
	sigset_t	set;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		launcher_die(1, true, "keeper: pdeathsig");
	if (dup2(sock, 3) != 3)
		launcher_die(1, true, "keeper: dup2");
	keeper_close_fds(j);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		launcher_die(1, true, "keeper: signalfd");
	keeper_send(3, KEEP_READY, getpid(), 0);
	keeper_loop(j, 3, sigfd);
}
