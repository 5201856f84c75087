/*
 * slot.c: making and unmaking a slot (master side, root).
 *
 * A slot is a cgroup and a launcher.  The launcher is cloned straight into
 * its new namespaces (user ones included), so it is pid 1 of its pid
 * namespace from its first instruction.  While it waits on a pipe the
 * master writes its uid and gid maps (0 -> the slot's launcher uid, 1000 ->
 * its run uid, two host uids no account owns) and attaches it to the
 * slot's launcher/ cgroup by its host pid; then the child drops the
 * master's groups, switches to its mapped ids (so it holds no host uid 0
 * for file access), sets its parent-death signal (after the switch, which
 * clears it) and checks that the master is still there, and execs
 * pyexec-launcher.  Nothing of the master crosses the exec but fd 0
 * (/dev/null), fds 1-2 (the log), fd 3 (the control socket), fd 4 (the
 * runner's source, read-only), fd 5 (pyexec-zygote.so, read-only, or
 * /dev/null with PYEXEC_WARM=0) and fds 6.. (run/cgroup.procs of each
 * hierarchy, for the keeper to move itself once and the warm runs to join
 * by): the environment is empty and every other fd closed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "run.h"
#include "slot.h"

#define SLOT_NS_FLAGS	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | \
			 CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
#define SLOT_RUN_ID	1000	/* the run's uid and gid inside the slot */
#define SLOT_SESSION_ID	2000	/* live session k: 2000 + k (session.h) */
#define SLOT_LAUNCHER_NICE (-10)

/* Makes the slot's cgroup; the launcher comes with slot_start_launcher(). */
int
slot_create(struct slot *s, unsigned id, const struct slot_opts *c,
    uid_t worker_uid, gid_t worker_gid, char *err, size_t errlen)
{
	char			name[512];
	enum sb_cgversion	v = s->cg.version;

	memset(s, 0, sizeof(*s));
	s->cg.version = v;
	s->id = id;
	s->launcher_uid = c->uid_base + 2 * id;
	s->run_uid = c->uid_base + 2 * id + 1;
	s->ctl_fd = -1;
	snprintf(name, sizeof(name), "%spyexec/%s/slot-%u",
	    c->cgroup_base != NULL ? c->cgroup_base : "", c->instance, id);
	return sb_cgroup_create(&s->cg, name, c->max_pids, worker_uid,
	    worker_gid, err, errlen);
}

#define SLOT_FD_ZYGLIB		5	/* pyexec-zygote.so */
#define SLOT_FD_FIRST_CG	6	/* the launcher's first cgroup.procs fd */
#define SLOT_MAX_CG		4

/* The go byte: the master wrote our maps (or died: 126). */
static int
child_wait_go(int gate)
{
	char	go;

	return read(gate, &go, 1) == 1 ? 0 : -1;
}

/* Become the namespace's root, which is the slot's launcher uid on the
 * host, with no supplementary group. */
static int
child_become_root(void)
{
	return setgroups(0, NULL) == 0 && setresgid(0, 0, 0) == 0 &&
	    setresuid(0, 0, 0) == 0 ? 0 : -1;
}

/* After the switch (a change of credentials clears it).  The master keeps
 * the gate open until we answered: a hang-up now means it died before the
 * signal could be armed. */
static int
child_arm_deathsig(int gate)
{
	struct pollfd	pfd = { gate, POLLIN, 0 };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    poll(&pfd, 1, 0) < 0 || (pfd.revents & (POLLHUP | POLLERR)))
		return -1;
	return 0;
}

/* The launcher's fds: 0 /dev/null, 1 and 2 the log, 3 ctl, 4 runner,
 * 5 zygote library, 6.. the cgroup.procs fds; nothing else. */
static int
child_fds(int ctl, int runner, int zyglib, int *cgfds, int ncg)
{
	int	i;

	/* Above every target first, so no dup2 below overwrites a source. */
	if ((ctl = fcntl(ctl, F_DUPFD, 32)) < 0 ||
	    (runner = fcntl(runner, F_DUPFD, 32)) < 0 ||
	    (zyglib = fcntl(zyglib, F_DUPFD, 32)) < 0)
		return -1;
	for (i = 0; i < ncg; i++)
		if ((cgfds[i] = fcntl(cgfds[i], F_DUPFD, 32)) < 0)
			return -1;
	if (dup2(ctl, 3) != 3 || dup2(runner, 4) != 4 ||
	    dup2(zyglib, SLOT_FD_ZYGLIB) != SLOT_FD_ZYGLIB)
		return -1;
	for (i = 0; i < ncg; i++)
		if (dup2(cgfds[i], SLOT_FD_FIRST_CG + i) != SLOT_FD_FIRST_CG + i)
			return -1;
	if (close_range(SLOT_FD_FIRST_CG + ncg, ~0U, 0) != 0 || close(0) != 0 ||
	    open("/dev/null", O_RDONLY) != 0 || dup2(2, 1) != 1)
		return -1;
	return 0;
}

/* exec the launcher with the slot's options, in an empty environment. */
static void
child_exec(const struct slot_opts *c, int ncg)
{
	char	 uid[16], tmp[32], fsize[32], nofile[16], nproc[16], cgn[16];
	char	 wruns[16], wage[16];
	char	*argv[] = { "pyexec-launcher", "--uid", uid, "--python",
		    (char *)c->python_path, "--tmp-size", tmp, "--fsize", fsize,
		    "--nofile", nofile, "--nproc", nproc, "--cgroup-fds", cgn,
		    "--warm", c->warm ? "1" : "0", "--preload",
		    (char *)c->preload, "--warm-max-runs", wruns,
		    "--warm-max-age", wage, NULL };
	char	*envp[] = { NULL };

	snprintf(uid, sizeof(uid), "%u", SLOT_RUN_ID);
	snprintf(tmp, sizeof(tmp), "%zu", c->tmp_size);
	snprintf(fsize, sizeof(fsize), "%zu", c->max_file_size);
	snprintf(nofile, sizeof(nofile), "%u", c->max_open_files);
	snprintf(nproc, sizeof(nproc), "%u", c->max_pids);
	snprintf(cgn, sizeof(cgn), "%d", ncg);
	snprintf(wruns, sizeof(wruns), "%u", c->warm_max_runs);
	snprintf(wage, sizeof(wage), "%u", c->warm_max_age);
	execve(c->launcher_path, argv, envp);
}

/* In the cloned child: the steps to the launcher.  Exit 126 (or 125 for
 * the credentials, 127 for the exec) if one fails. */
static void __attribute__((noreturn))
slot_child(const struct slot_opts *c, int ctl, int runner, int zyglib,
    int gate, int *cgfds, int ncg)
{
	if (child_wait_go(gate) != 0)
		_exit(126);
	if (child_become_root() != 0)
		_exit(125);
	if (child_arm_deathsig(gate) != 0 ||
	    child_fds(ctl, runner, zyglib, cgfds, ncg) != 0)
		_exit(126);
	child_exec(c, ncg);
	_exit(127);
}

/* Writes the child's uid and gid maps: 0 -> launcher uid, 1000 -> run
 * uid, and 2000 + k -> live session k's uid (session.h), whose spares the
 * slot's zygotes make. */
static int
slot_map(const struct slot *s, const struct slot_opts *o, pid_t pid,
    char *err, size_t errlen)
{
	static const char *const files[] = { "uid_map", "gid_map" };
	char	 path[64], map[160];
	int	 fd, n, i;

	n = snprintf(map, sizeof(map), "0 %u 1\n%u %u 1\n",
	    (unsigned)s->launcher_uid, SLOT_RUN_ID, (unsigned)s->run_uid);
	if (o->sessions > 0)
		n += snprintf(map + n, sizeof(map) - (size_t)n, "%u %u %u\n",
		    SLOT_SESSION_ID, (unsigned)o->session_uid_base,
		    o->sessions);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[i]);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 ||
		    write(fd, map, (size_t)n) != n) {
			snprintf(err, errlen, "slot %u: %s: %s", s->id, path,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/*
 * The launcher lives in its own cgroup (launcher/), outside the run's CPU
 * quota, so a run spinning at its quota cannot throttle the timer that
 * ends it.  To be woken at once on a busy host as well, the master
 * (CAP_SYS_NICE) makes it SCHED_FIFO with SCHED_RESET_ON_FORK, so that its
 * keeper and every run start as SCHED_OTHER, nice 0, and cannot get it
 * back.  Where the kernel refuses (no RT budget for the cgroup), nice -10
 * is the fallback (docs/security.md gives the figures of both).
 */
static int
slot_prioritise(struct slot *s, pid_t pid, char *err, size_t errlen)
{
	struct sched_param	sp = { .sched_priority = 1 };

	s->fifo = sched_setscheduler(pid, SCHED_FIFO | SCHED_RESET_ON_FORK,
	    &sp) == 0;
	if (!s->fifo && errno == EPERM) {
		/* No budget when the slot was made: it may be there now. */
		sb_cgroup_rt_budget(&s->cg);
		s->fifo = sched_setscheduler(pid, SCHED_FIFO |
		    SCHED_RESET_ON_FORK, &sp) == 0;
	}
	if (s->fifo)
		return 0;
	if (s->cg.rt_why[0] == '\0')
		snprintf(s->cg.rt_why, sizeof(s->cg.rt_why),
		    "sched_setscheduler: %s", strerror(errno));
	if (setpriority(PRIO_PROCESS, (id_t)pid, SLOT_LAUNCHER_NICE) != 0) {
		snprintf(err, errlen, "slot %u: setpriority: %s", s->id,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The launcher did not answer its first ping: how it ended, if it did
 * (a seccomp filter of the service manager kills it without a word).
 * Reaps it if it ended. */
static void
slot_why(struct slot *s, pid_t pid, char *err, size_t errlen)
{
	int	st;
	bool	ended = waitpid(pid, &st, WNOHANG) == pid;

	if (ended)
		s->launcher_pid = 0;	/* reaped: nothing left to kill */
	if (ended && WIFSIGNALED(st))
		snprintf(err, errlen, "slot %u: the launcher did not start: "
		    "killed by signal %d (%s)", s->id, WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else if (ended && WIFEXITED(st))
		snprintf(err, errlen, "slot %u: the launcher did not start: "
		    "exit status %d (see its message above)", s->id,
		    WEXITSTATUS(st));
	else
		snprintf(err, errlen, "slot %u: the launcher did not start "
		    "(see its message above)", s->id);
}

/*
 * Clones the launcher into new namespaces, attaches it to the slot's
 * cgroup, lets it exec and waits for its first pong.  On success
 * s->launcher_pid and s->ctl_fd (the worker's end) are set.
 */
int
slot_start_launcher(struct slot *s, const struct slot_opts *c,
    char *err, size_t errlen)
{
	int	sv[2] = { -1, -1 }, gate[2] = { -1, -1 }, runner = -1, i;
	int	zyglib = -1;
	int	cgfds[SLOT_MAX_CG], ncg = 0;
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(gate, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "slot %u: %s", s->id, strerror(errno));
		goto fail;
	}
	if ((runner = open(c->runner_path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "runner %s: %s", c->runner_path,
		    strerror(errno));
		goto fail;
	}
	if ((zyglib = open(c->warm ? c->zygote_path : "/dev/null",
	    O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "zygote library %s: %s", c->zygote_path,
		    strerror(errno));
		goto fail;
	}
	if ((ncg = sb_cgroup_procs_fds(&s->cg, cgfds, SLOT_MAX_CG, err,
	    errlen)) < 0) {
		ncg = 0;
		goto fail;
	}
	pid = (pid_t)syscall(SYS_clone, SLOT_NS_FLAGS | SIGCHLD, NULL, NULL,
	    NULL, NULL);
	if (pid < 0) {
		snprintf(err, errlen, "slot %u: clone into new namespaces: %s",
		    s->id, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		close(gate[1]);
		close(sv[0]);
		slot_child(c, sv[1], runner, zyglib, gate[0], cgfds, ncg);
	}
	s->launcher_pid = pid;
	close(gate[0]);
	close(sv[1]);
	close(runner);
	close(zyglib);
	gate[0] = sv[1] = runner = zyglib = -1;
	for (i = 0; i < ncg; i++)
		close(cgfds[i]);
	ncg = 0;
	if (slot_map(s, c, pid, err, errlen) != 0 ||
	    sb_cgroup_attach(&s->cg, pid, err, errlen) != 0 ||
	    slot_prioritise(s, pid, err, errlen) != 0)
		goto fail;
	if (write(gate[1], "g", 1) != 1) {
		snprintf(err, errlen, "slot %u: launcher gone", s->id);
		goto fail;
	}
	s->ctl_fd = sv[0];
	sv[0] = -1;
	/* The gate stays open until the launcher answers (see slot_child). */
	if (run_ping_fd(s->ctl_fd, 10000, NULL) != 0) {
		slot_why(s, pid, err, errlen);
		goto fail;
	}
	close(gate[1]);
	return 0;
fail:
	if (gate[0] >= 0) close(gate[0]);
	if (gate[1] >= 0) close(gate[1]);
	if (sv[0] >= 0) close(sv[0]);
	if (sv[1] >= 0) close(sv[1]);
	if (runner >= 0) close(runner);
	if (zyglib >= 0) close(zyglib);
	for (i = 0; i < ncg; i++)
		close(cgfds[i]);
	slot_stop_launcher(s);
	return -1;
}

/* Kills the launcher (and with it its whole pid namespace) and reaps it. */
void
slot_stop_launcher(struct slot *s)
{
	if (s->launcher_pid > 0) {
		(void)kill(s->launcher_pid, SIGKILL);
		while (waitpid(s->launcher_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	s->launcher_pid = 0;
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	s->ctl_fd = -1;
}

/* Stops the launcher, removes the cgroup, frees what s owns.  0, or -1
 * when the cgroup could not be removed (the caller says so). */
int
slot_destroy(struct slot *s)
{
	int	rc;

	slot_stop_launcher(s);
	rc = sb_cgroup_destroy(&s->cg) == 0 ? 0 : -1;
	sb_cgroup_free(&s->cg);
	return rc;
}
