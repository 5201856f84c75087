/*
 * runstep.c: the steps that make a process a run, shared by the cold path
 * (keeper.c: the run execs python afterwards) and the warm one (zygote.c:
 * the run is a fork of a waiting interpreter and returns into it).  Both
 * end in the same state: a new session, fds 0-4 the run's and no other,
 * the rlimits, uid 1000 with no groups and no capability, dumpable,
 * no_new_privs, a parent-death signal, cwd /tmp, every signal unblocked,
 * and the run's seccomp policy loaded last, as the only filter (the
 * keeper and the zygotes carry none: spawner.c).  tests/security/
 * test_sec_warm_cold.py compares the two field by field.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "jlog.h"
#include "proto.h"
#include "root.h"
#include "runstep.h"

/* The fixed environment of every run (and of the zygotes, whose
 * os.environ the warm runs inherit). */
char *const runstep_envp[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"HOME=/tmp",
	"TMPDIR=/tmp",
	"LANG=C.UTF-8",
	"LC_ALL=C.UTF-8",
	"PYTHONIOENCODING=utf-8",
	"OPENBLAS_NUM_THREADS=1",
	"OMP_NUM_THREADS=1",
	"MKL_NUM_THREADS=1",
	"NUMEXPR_NUM_THREADS=1",
	"MPLBACKEND=Agg",
	NULL
};

/* In the run's processes: say why the run does not start and end.  kind
 * '!': a step of the sandbox failed (ours); 'W': the run's workspace could
 * not be entered (the run's, not the slot's: keep.h). */
static void __attribute__((noreturn))
runstep_end(int st, char kind, const char *why)
{
	char	msg[256];	/* what the launcher reads at most */
	int	n = snprintf(msg, sizeof(msg), "%c%s", kind, why);

	if (n >= (int)sizeof(msg))
		n = (int)sizeof(msg) - 1;
	(void)!send(st, msg, (size_t)n, MSG_NOSIGNAL);
	_exit(127);
}

/* A set-up step failed ("!step: error") and end. */
void
runstep_fail(int st, const char *step)
{
	char	why[200];

	snprintf(why, sizeof(why), "%s: %s", step, strerror(errno));
	runstep_end(st, '!', why);
}

/* root_run_mounts() failed with rc, err saying why: report and end. */
void
runstep_fail_mounts(int st, int rc, const char *err)
{
	runstep_end(st, rc == ROOT_ERR_WORKSPACE ? 'W' : '!', err);
}

static void
runstep_rlimit(int st, int res, rlim_t soft, rlim_t hard)
{
	struct rlimit	rl = { soft, hard };

	if (setrlimit(res, &rl) != 0)
		runstep_fail(st, "setrlimit");
}

/*
 * Into the run's cgroups (cg_fds: run/cgroup.procs of each hierarchy,
 * opened by the master; "0" moves the writer) and a cgroup namespace
 * rooted there, warm and cold alike.  The run is the first process of the
 * slot in run/: the OOM killer of its memory limit chooses among its own
 * processes only (a keeper that lived there was its choice when every
 * process of the run was tiny), and its pids limit is the run's alone.
 */
void
runstep_join_cgroups(int st, const int *cg_fds, int ncg)
{
	int	i;

	for (i = 0; i < ncg; i++)
		if (write(cg_fds[i], "0", 1) != 1)
			runstep_fail(st, "joining the run's cgroup");
	if (unshare(CLONE_NEWCGROUP) != 0)
		runstep_fail(st, "cgroup namespace");
}

/*
 * From a process of the slot's root to a run, one checked step a line.
 * fds are the run's five fds (proto.h order), st the status socket;
 * workspace: /workspace is mounted (root_run_mounts) and is the cwd.
 * Returns st's new number (above the run's fds, close-on-exec); every
 * other fd is closed.
 */
int
runstep_become(const struct runstep *r, int *fds, int st, bool workspace)
{
	sigset_t	 none;
	int		 i, fd;

	if (setsid() < 0)
		runstep_fail(st, "setsid");
	/* SCHED_RESET_ON_FORK made us SCHED_OTHER; drop a fallback nice too. */
	if (setpriority(PRIO_PROCESS, 0, 0) != 0)
		runstep_fail(st, "setpriority");
	/* Move st above the run's fds, then place the run's fds. */
	if ((fd = fcntl(st, F_DUPFD_CLOEXEC, PROTO_NFDS + 8)) < 0)
		runstep_fail(st, "dup");
	st = fd;
	for (i = 0; i < PROTO_NFDS; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD, PROTO_NFDS + 16)) < 0)
			runstep_fail(st, "dup");
	for (i = 0; i < PROTO_NFDS; i++)
		if (dup2(fds[i], i) != i)
			runstep_fail(st, "dup2");
	if (close_range(PROTO_NFDS, (unsigned)st - 1, 0) != 0 ||
	    close_range((unsigned)st + 1, ~0U, 0) != 0)
		runstep_fail(st, "close_range");
	/* RLIMIT_CORE 1, not 0: the kernel ignores the limit when
	 * core_pattern is a pipe, except that 1 aborts the dump; the filter
	 * keeps a run from changing it (docs/security.md). */
	runstep_rlimit(st, RLIMIT_CORE, 1, 1);
	runstep_rlimit(st, RLIMIT_FSIZE, r->fsize, r->fsize);
	runstep_rlimit(st, RLIMIT_NOFILE, r->nofile, r->nofile);
	runstep_rlimit(st, RLIMIT_NPROC, r->nproc, r->nproc);
	runstep_rlimit(st, RLIMIT_RTPRIO, 0, 0);
	runstep_rlimit(st, RLIMIT_NICE, 0, 0);
	if (setgroups(0, NULL) != 0)
		runstep_fail(st, "setgroups");
	if (setresgid(r->run_gid, r->run_gid, r->run_gid) != 0)
		runstep_fail(st, "setresgid");
	if (setresuid(r->run_uid, r->run_uid, r->run_uid) != 0)
		runstep_fail(st, "setresuid");
	if (getuid() != r->run_uid || geteuid() != r->run_uid ||
	    getgid() != r->run_gid || getegid() != r->run_gid ||
	    setuid(0) == 0)
		runstep_fail(st, "credentials did not drop");
	/* Dumpable, as an exec of python makes a cold run: the uid change
	 * above made a warm run non-dumpable, so that its own /proc
	 * (environ, ns, its children under hidepid=2) was closed to it.
	 * Set only now, with the run's final uid and nothing but what the
	 * run may see in this process's memory. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		runstep_fail(st, "dumpable");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		runstep_fail(st, "no_new_privs");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		runstep_fail(st, "pdeathsig");
	/* The working directory: the workspace when the run has one (its
	 * files outlive the run), else the run's own /tmp.  A workspace
	 * that cannot be entered (the store resets its root at every
	 * attach, so this is no chmod of an earlier run's) is the run's
	 * failure, not the slot's. */
	if (workspace && chdir(ROOT_WORKSPACE_PATH) != 0) {
		char why[160];

		snprintf(why, sizeof(why), "chdir %s: %s", ROOT_WORKSPACE_PATH,
		    strerror(errno));
		runstep_end(st, 'W', why);
	}
	if (!workspace && chdir("/tmp") != 0)
		runstep_fail(st, "chdir /tmp");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Last: from here on only what the policy allows. */
	if (filter_load(&r->filter) != 0)
		runstep_fail(st, "seccomp");
	return st;
}

/* 'T' + now: the run is set up (about to exec, or to return into python). */
void
runstep_stamp(int st)
{
	char		stamp[1 + sizeof(uint64_t)];
	uint64_t	t = launcher_now_ns();

	stamp[0] = 'T';
	memcpy(stamp + 1, &t, sizeof(t));
	(void)!send(st, stamp, sizeof(stamp), MSG_NOSIGNAL);
}

/* 'S' + the runner's wait status, from its init. */
void
runstep_status(int st, int status)
{
	char	msg[1 + sizeof(int32_t)];
	int32_t	ws = status;

	msg[0] = 'S';
	memcpy(msg + 1, &ws, sizeof(ws));
	(void)!send(st, msg, sizeof(msg), MSG_NOSIGNAL);
}
