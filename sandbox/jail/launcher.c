/*
 * pyexec-launcher: pid 1 of a slot.
 *
 * The master clones this process straight into new user, pid, mount,
 * network, ipc and uts namespaces, maps uid/gid 0 to the slot's launcher
 * uid and 1000 to its run uid, attaches it to the slot's launcher/ cgroup,
 * and lets it switch to its mapped ids and exec this program with fd 0 =
 * /dev/null, fds 1-2 = the log, fd 3 = its end of the worker's control
 * socket (see proto.h), fd 4 = the runner's source, fd 5 =
 * pyexec-zygote.so and fds 6.. = the run/ cgroup's cgroup.procs of each
 * hierarchy.  It has every capability,
 * but only over its own namespaces.  Once (launcher_setup):
 *
 *   read the runner and compile it once -> build the slot's root (root.c:
 *   read-only binds, /proc, pivot_root) -> cgroup namespace -> hostname ->
 *   namespace and inotify limits of the slot's user namespace ->
 *   compile the run's seccomp policy and its own (filter.c) -> signalfd
 *   for SIGCHLD -> fork the spawner (spawner.c), which clones every
 *   keeper and zygote for us, so that they carry no policy and each run
 *   exactly one, its own -> the keeper (keeper.c), which stays beside us
 *   in slot-N/launcher -> no_new_privs and our own seccomp policy -> with --warm 1,
 *   start the zygotes (zygote.c), which import while the slot already
 *   serves cold runs
 *
 * then, per PROTO_RUN (launcher_run): hand the run's fds to a ready
 * zygote (the data one if the worker asked for it and it is ready, else
 * the bare one), whose spare becomes the run, or else to the keeper,
 * which clones the run's init into fresh pid, mount and IPC namespaces;
 * wait for the runner's end, the deadline or PROTO_KILL; SIGKILL the
 * run's init (which ends every process of the run at once, a fork bomb
 * included); wait until the keeper has reaped it (the namespace is then
 * empty, its tmpfs gone); answer PROTO_DONE.  The launcher never runs code
 * it was sent and never parses more than the fixed-size messages of
 * proto.h, keep.h and spawner.h.  Any protocol error or failed set-up step ends
 * it; the master then makes the slot again.  A keeper that dies is made
 * again after the run (pyexec_keeper_restarts_total); the launcher and
 * the keeper are out of the run's cgroups, which each run joins itself
 * (runstep_join_cgroups), so no run can make either the OOM killer's
 * choice.  A zygote that
 * dies is made again; one that dies ZYG_MAX_FAILURES times in a row
 * before it was ready is given up (the slot's runs start cold, /health
 * says so).  A zygote that has served --warm-max-runs runs, or been ready
 * --warm-max-age seconds, is retired between runs and made again (see
 * zygote_retire_at); a run goes to a zygote only of the generation the
 * worker's self-test proved (PROTO_RUN_*_PROVEN).
 */
#include "config.h"

#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "jlog.h"
#include "keep.h"
#include "launcher.h"
#include "proto.h"
#include "root.h"
#include "spawner.h"

#define CTL_FD		3	/* the control socket to the worker */
#define RUNNER_FD	4	/* the runner's source, read once then closed */
#define RUNNER_MAX	(256 * 1024)
#define ZYGLIB_FD	5	/* pyexec-zygote.so, read once then closed */
#define ZYGLIB_MAX	(4 * 1024 * 1024)
#define CG_FD_FIRST	6	/* run/cgroup.procs, --cgroup-fds of them */
#define REAP_WAIT_NS	(5ULL * 1000000000ULL)	/* a killed run must be gone by then */
#define RUN_DIRTY	0x80000000u	/* not gone by then: we exit, no CLEAN */

#define err(st, ...)	launcher_die((st), true, __VA_ARGS__)
#define errx(st, ...)	launcher_die((st), false, __VA_ARGS__)

/* Writes s to path.  0, or -1 with errno set. */
static int
write_text(const char *path, const char *s)
{
	int	fd = open(path, O_WRONLY | O_CLOEXEC), rc = -1, e;

	if (fd < 0)
		return -1;
	if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
		rc = 0;
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/*
 * Reads all of fd (a file the master opened for us) into a buffer of at
 * most max - 1 bytes, NUL-terminated, and closes it.  Ends us if it is
 * unreadable, empty or too large.  The caller owns the buffer.
 */
static char *
read_all(int fd, size_t max, const char *what, size_t *lenp)
{
	char	*buf;
	ssize_t	 n;
	size_t	 len = 0;

	if ((buf = malloc(max)) == NULL)
		err(1, "malloc");
	while ((n = read(fd, buf + len, max - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len == max - 1 || len == 0)
		errx(1, "%s: unreadable, empty or too large", what);
	buf[len] = '\0';
	close(fd);
	*lenp = len;
	return buf;
}

/*
 * Compiles the runner once with the python the runs use, so a run executes
 * bytecode instead of compiling ~150 lines first (0.25 ms a run).  Our own
 * code, run before the root and the policy exist: it only reads stdin.
 */
static const char compile_runner_py[] =
    "import sys, importlib._bootstrap_external as e\n"
    "code = compile(sys.stdin.buffer.read(), '<runner>', 'exec')\n"
    "sys.stdout.buffer.write(e._code_to_hash_pyc(code, bytes(8), False))\n";

static void
compile_runner(struct launcher *l)
{
	char	*argv[] = { "python3", "-I", "-S", "-B", "-c",
		    (char *)compile_runner_py, NULL };
	char	*envp[] = { NULL };
	int	 in[2], out[2], st;
	size_t	 cap = 1 << 20, len = strlen(l->runner_src), off = 0;
	ssize_t	 n;
	pid_t	 pid;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		err(1, "pipe2");
	if ((pid = fork()) < 0)
		err(1, "fork");
	if (pid == 0) {
		if (dup2(in[0], 0) != 0 || dup2(out[1], 1) != 1)
			_exit(126);
		execve(l->jail.python, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (write(in[1], l->runner_src, len) != (ssize_t)len)
		err(1, "compiling the runner: write");
	close(in[1]);
	if ((l->runner_pyc = malloc(cap)) == NULL)
		err(1, "malloc");
	while ((n = read(out[0], l->runner_pyc + off, cap - off)) > 0)
		off += (size_t)n;
	close(out[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0 || off < 16 || off == cap)
		errx(1, "compiling the runner with %s failed (status %d)",
		    l->jail.python, st);
	l->runner_pyc_len = off;
}

/*
 * Limits of the slot's user namespace (ucounts), a second wall behind
 * seccomp: no user or time namespace can be made in the slot at all,
 * network and UTS ones only for live sessions (one each), and cgroup,
 * pid, mount and IPC namespaces only as many as the keepers and the runs'
 * inits need; no inotify or fanotify instance.
 * Namespaces other than user ones need CAP_SYS_ADMIN, which a run never
 * has, so the user limit is the wall.
 */
#define LAUNCHER_SESSION_NS	"4096"	/* above any PYEXEC_SESSIONS_MAX */

static const struct {
	const char	*name;
	const char	*value;
	bool		 since_5_13;	/* older kernels lack it: skipped */
} slot_limits[] = {
	{ "max_user_namespaces",	"0",	false },
	/* A live session's interpreter gets a network and a UTS namespace
	 * of its own (zygote.c), made by its spare while it is still the
	 * slot's root; a run (uid 1000, no capability, no user namespace
	 * of its own: 0 above) can make neither. */
	{ "max_net_namespaces",		LAUNCHER_SESSION_NS,	false },
	{ "max_uts_namespaces",		LAUNCHER_SESSION_NS,	false },
	{ "max_time_namespaces",	"0",	true },
	{ "max_cgroup_namespaces",	"64",	false },
	{ "max_pid_namespaces",		"64",	false },
	{ "max_mnt_namespaces",		"64",	false },
	{ "max_ipc_namespaces",		"64",	false },
	{ "max_inotify_instances",	"0",	false },
	{ "max_inotify_watches",	"0",	false },
	{ "max_fanotify_groups",	"0",	true },
	{ "max_fanotify_marks",		"0",	true },
};

static void
launcher_limits(void)
{
	char	path[96];
	size_t	i;

	for (i = 0; i < sizeof(slot_limits) / sizeof(slot_limits[0]); i++) {
		snprintf(path, sizeof(path), "/proc/sys/user/%s",
		    slot_limits[i].name);
		if (write_text(path, slot_limits[i].value) == 0)
			continue;
		if (errno == ENOENT && slot_limits[i].since_5_13)
			continue;
		err(1, "%s", path);
	}
}

/*
 * Starts a keeper through the spawner (spawner.c: so that it carries no
 * seccomp policy, and each cold run only its own).  Returns the keeper's
 * pid, a child of ours (l->keeper_fd is our end of its socket), or -1.
 */
static pid_t
keeper_start(struct launcher *l)
{
	int	sv[2];
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = spawner_spawn(&l->spawner, SPAWN_KEEPER, &sv[1]);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	l->keeper_fd = sv[0];
	l->keeper = pid;
	return pid;
}

/* Starts a keeper and waits for its word that it is ready. */
static void
launcher_keeper(struct launcher *l)
{
	struct pollfd	pfd;
	struct keep_msg	m;
	int		none[1], nfds;

	if (l->keeper_started)
		l->keeper_restarts++;
	l->keeper_started = true;
	if (keeper_start(l) < 0)
		err(1, "starting the keeper");
	pfd = (struct pollfd){ l->keeper_fd, POLLIN, 0 };
	while (poll(&pfd, 1, 10000) < 0 && errno == EINTR)
		;
	if (!(pfd.revents & POLLIN) ||
	    proto_recv(l->keeper_fd, &m, sizeof(m), none, 0, &nfds) !=
	    (ssize_t)sizeof(m) || m.op != KEEP_READY)
		errx(1, "the keeper did not start (see its message above)");
}


/*
 * The zygotes.  Each is python on the runner with --zygote, cloned for us
 * by the spawner (so a child of ours in slot-N/launcher, never charged
 * for a run, and with no seccomp policy that its runs would carry under
 * theirs): spawner.c says what it starts with.
 */
static void
zygote_conf(const struct launcher *l, int fd)
{
	struct zyg_conf	c = {
		.magic = ZYG_CONF_MAGIC,
		.run_uid = l->jail.step.run_uid,
		.run_gid = l->jail.step.run_gid,
		.ncg = (uint32_t)l->jail.ncg,
		.fsize = l->jail.step.fsize,
		.nofile = l->jail.step.nofile,
		.nproc = l->jail.step.nproc,
		.tmp_size = l->jail.root.tmp_size,
		.filter_len = l->jail.step.filter.len,
	};
	size_t	flen = l->jail.step.filter.len * sizeof(struct sock_filter);

	/* Both fit in the pipe's buffer; a zygote that died early just
	 * makes these writes fail, and its SIGCHLD tells. */
	(void)!write(fd, &c, sizeof(c));
	(void)!write(fd, l->jail.step.filter.filter, flen);
}

static void
zygote_start(struct launcher *l, enum zyg_kind k)
{
	struct zygote	*z = &l->zyg[k];
	int		 sv[2], cf[2], theirs[2];
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		err(1, "socketpair");
	if (pipe2(cf, O_CLOEXEC) != 0)
		err(1, "pipe2");
	theirs[0] = sv[1];
	theirs[1] = cf[0];
	if ((pid = spawner_spawn(&l->spawner, k == ZYG_DATA ? SPAWN_ZYGOTE_DATA :
	    SPAWN_ZYGOTE_BARE, theirs)) < 0)
		err(1, "starting a zygote");
	close(sv[1]);
	close(cf[0]);
	zygote_conf(l, cf[1]);
	close(cf[1]);
	z->pid = pid;
	z->fd = sv[0];
	z->gen++;		/* a new zygote: the worker proves it anew */
	z->state = PROTO_WARM_STARTING;
	z->runs = 0;
	z->ready_ns = 0;
	z->modules[0] = '\0';
}

static const char *const zyg_name[ZYG_NKINDS] = { "bare", "data" };

/* A zygote ended (we reaped it): make it again, or give up on it. */
static void
zygote_ended(struct launcher *l, enum zyg_kind k, int status)
{
	struct zygote	*z = &l->zyg[k];
	char		 msg[160];
	bool		 was_ready = z->state == PROTO_WARM_READY;

	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	z->pid = 0;
	l->zygote_restarts++;
	z->failures = was_ready ? 0 : z->failures + 1;
	if (z->failures >= ZYG_MAX_FAILURES) {
		z->state = PROTO_WARM_FAILED;
		snprintf(msg, sizeof(msg), "the %s zygote failed %u times "
		    "before it was ready (status %d): its runs start cold",
		    zyg_name[k], z->failures, status);
		launcher_log("error", msg);
		return;
	}
	snprintf(msg, sizeof(msg), "the %s zygote ended (status %d): "
	    "starting it again; cold runs meanwhile", zyg_name[k], status);
	launcher_log(was_ready ? "error" : "warning", msg);
	zygote_start(l, k);
}

/* Kills a zygote that broke the protocol; its reaping makes it again. */
static void
zygote_kill(struct launcher *l, enum zyg_kind k)
{
	if (l->zyg[k].pid > 0)
		(void)kill(l->zyg[k].pid, SIGKILL);
	if (l->zyg[k].fd >= 0)
		close(l->zyg[k].fd);
	l->zyg[k].fd = -1;
	if (l->zyg[k].state == PROTO_WARM_READY)
		l->zyg[k].state = PROTO_WARM_STARTING;
}

/*
 * Retirement.  Every run forked from a zygote shares its address layout,
 * stack canary, pointer guard and str hash secret (docs/security.md), so
 * a zygote serves at most max_runs runs (the self-test's are ours and not
 * counted) and max_age seconds once ready.  Then, between runs, it is
 * killed with its spares (made ahead, they die with it: none serves after
 * the limit) and a new one starts, importing in the background: the other
 * zygote or the keeper takes the runs meanwhile, and the new one serves
 * once its worker's self-test has proved it (a new generation), as after
 * any restart.
 */
static uint64_t
zygote_retire_at(const struct launcher *l, enum zyg_kind k)
{
	const struct zygote *z = &l->zyg[k];

	if (z->state != PROTO_WARM_READY || z->pid <= 0)
		return UINT64_MAX;
	if (z->runs >= l->max_runs)
		return 0;
	return z->ready_ns + (uint64_t)l->max_age * 1000000000ULL;
}

static void
zygote_retire(struct launcher *l, enum zyg_kind k)
{
	struct zygote	*z = &l->zyg[k];
	char		 msg[200];

	snprintf(msg, sizeof(msg), "the %s zygote is retired after %u runs "
	    "in %llu s: a new one starts", zyg_name[k], z->runs,
	    (unsigned long long)((launcher_now_ns() - z->ready_ns) /
	    1000000000ULL));
	launcher_log("info", msg);
	(void)kill(z->pid, SIGKILL);	/* its reaping is no one's now */
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	z->retired++;
	z->failures = 0;
	zygote_start(l, k);
}

/* Retires every zygote at its limit; returns the ms until the next one
 * reaches its age (at most a minute: poll wakes up and asks again), or
 * -1 (for poll). */
static int
zygote_retire_due(struct launcher *l)
{
	uint64_t	now = launcher_now_ns(), at, next = UINT64_MAX;
	int		k;

	for (k = 0; k < ZYG_NKINDS; k++) {
		if ((at = zygote_retire_at(l, (enum zyg_kind)k)) <= now) {
			zygote_retire(l, (enum zyg_kind)k);
			continue;
		}
		if (at < next)
			next = at;
	}
	if (next == UINT64_MAX)
		return -1;
	if (next - now > 60000ULL * 1000000ULL)
		return 60000;
	return (int)((next - now) / 1000000ULL) + 1;
}

static void
launcher_setup(struct launcher *l)
{
	sigset_t	set;
	char		msg[512];
	size_t		len;

	if (getpid() != 1)
		errx(1, "must be pid 1 of a new pid namespace");
	l->runner_src = read_all(RUNNER_FD, RUNNER_MAX, "runner", &len);
	compile_runner(l);
	l->jail.root.runner = l->runner_pyc;
	l->jail.root.runner_len = l->runner_pyc_len;
	if (l->warm) {
		l->jail.root.zygote = read_all(ZYGLIB_FD, ZYGLIB_MAX,
		    "pyexec-zygote.so", &l->jail.root.zygote_len);
		if (l->jail.root.zygote_len < 64 ||
		    memcmp(l->jail.root.zygote, "\177ELF", 4) != 0)
			errx(1, "pyexec-zygote.so: not an ELF file");
	} else
		close(ZYGLIB_FD);
	if (root_build(&l->jail.root, msg, sizeof(msg)) != 0)
		errx(1, "building the root: %s", msg);
	/* Attached to the slot's cgroup before exec: make it our root. */
	if (unshare(CLONE_NEWCGROUP) != 0)
		err(1, "cgroup namespace");
	if (sethostname("pyexec", 6) != 0)
		err(1, "sethostname");
	if (filter_build(&l->jail.step.filter, FILTER_RUN, msg, sizeof(msg)) != 0 ||
	    filter_build(&l->own_filter, FILTER_LAUNCHER, msg, sizeof(msg)) != 0)
		errx(1, "%s", msg);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		err(1, "sigprocmask");
	sigdelset(&set, SIGPIPE);
	if ((l->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		err(1, "signalfd");
	launcher_limits();
	/* Before our own policy: it starts every keeper and zygote, which
	 * so carry none (spawner.c). */
	if (spawner_start(&l->jail, &l->spawner) != 0)
		err(1, "starting the spawner");
	launcher_keeper(l);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		err(1, "no_new_privs");
	if (filter_load(&l->own_filter) != 0)
		err(1, "seccomp (the launcher's own policy)");
	if (l->warm) {
		zygote_start(l, ZYG_BARE);
		if (l->jail.preload[0] != '\0')	/* else it would be a second bare one */
			zygote_start(l, ZYG_DATA);
	}
}

static void
ctl_send(const void *buf, size_t len)
{
	if (send(CTL_FD, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		exit(0);	/* the worker is gone: the master remakes us */
}

static void
ctl_pong(const struct launcher *l)
{
	struct proto_pong	pong;

	memset(&pong, 0, sizeof(pong));
	pong.hdr = (struct proto_hdr){ PROTO_MAGIC, PROTO_PONG };
	pong.bare_state = (uint8_t)l->zyg[ZYG_BARE].state;
	pong.data_state = (uint8_t)l->zyg[ZYG_DATA].state;
	pong.bare_gen = l->zyg[ZYG_BARE].gen;
	pong.data_gen = l->zyg[ZYG_DATA].gen;
	pong.bare_retired = l->zyg[ZYG_BARE].retired;
	pong.data_retired = l->zyg[ZYG_DATA].retired;
	pong.zygote_restarts = l->zygote_restarts;
	pong.keeper_restarts = l->keeper_restarts;
	memcpy(pong.modules, l->zyg[ZYG_DATA].modules, sizeof(pong.modules));
	pong.modules[sizeof(pong.modules) - 1] = '\0';
	ctl_send(&pong, sizeof(pong));
}

/* A protocol error from the worker: end the run, then us. */
static void __attribute__((noreturn))
ctl_fail(pid_t init, bool closed)
{
	if (init > 0)
		(void)kill(init, SIGKILL);
	if (closed)
		exit(0);
	errx(2, "protocol error from the worker");
}

struct run_state {
	pid_t		init;		/* the run's init, slot pid; 0: none */
	int		via;		/* enum zyg_kind, or -1: the keeper */
	int		st;		/* our end of the run's status socket */
	int		status;		/* the runner's wait status */
	bool		have_status;	/* 'S' came */
	bool		have_stamp;	/* 'T' came: the runner started */
	bool		reaped;		/* the init is gone */
	int		init_status;
	bool		session;	/* PROTO_RUN_SESSION */
	uint32_t	flags;
	uint64_t	t0, deadline, end, kill_at, setup_ns, kill_deadline;
};

/* Reaps our own children: the keeper, or a run's init it left behind. */
static void
launcher_reap(struct launcher *l, struct run_state *rs)
{
	struct signalfd_siginfo	si;
	pid_t			p;
	int			st;

	while (read(l->sigfd, &si, sizeof(si)) > 0)
		;
	while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
		if (rs != NULL && p == rs->init) {
			/* Its zygote died: the init came to us. */
			rs->reaped = true;
			rs->init_status = st;
		} else if (p == l->zyg[ZYG_BARE].pid ||
		    p == l->zyg[ZYG_DATA].pid) {
			enum zyg_kind k = p == l->zyg[ZYG_BARE].pid ?
			    ZYG_BARE : ZYG_DATA;

			/* The run it forked dies with it (its init's
			 * parent-death signal): say so, unless the
			 * runner's own status is already known. */
			if (rs != NULL && rs->via == (int)k && !rs->have_status)
				rs->flags |= PROTO_DONE_LOST;
			zygote_ended(l, k, st);
		} else if (p == l->spawner.pid) {
			errx(1, "the spawner ended (status %d): remaking the "
			    "slot", st);
		} else if (p == l->keeper) {
			l->keeper = 0;
			if (l->keeper_fd >= 0)
				close(l->keeper_fd);
			l->keeper_fd = -1;
		}
	}
}

/* One message from the keeper. */
static void
keeper_read(struct launcher *l, struct run_state *rs)
{
	struct keep_msg	m;
	int		fds[1], nfds;
	ssize_t		n = proto_recv(l->keeper_fd, &m, sizeof(m), fds, 0, &nfds);

	if (n <= 0) {
		/* The keeper died: its SIGCHLD follows; its orphans are ours. */
		close(l->keeper_fd);
		l->keeper_fd = -1;
		return;
	}
	if (n != (ssize_t)sizeof(m))
		errx(2, "protocol error from the keeper");
	if (m.op == KEEP_REAPED && rs != NULL && rs->via < 0 &&
	    m.pid == rs->init) {
		rs->reaped = true;
		rs->init_status = m.value;
	}
}

/* One message from a zygote: KEEP_READY once, KEEP_REAPED after its runs.
 * Anything else, or a second READY, is a protocol error: it is killed. */
static void
zygote_read(struct launcher *l, enum zyg_kind k, struct run_state *rs)
{
	struct zygote		*z = &l->zyg[k];
	struct keep_ready	 r;
	int			 fds[1], nfds;
	ssize_t			 n;
	char			 msg[300];

	if (z->fd < 0)
		return;
	n = proto_recv(z->fd, &r, sizeof(r), fds, 0, &nfds);
	if (n <= 0) {
		/* It is ending: its SIGCHLD follows. */
		close(z->fd);
		z->fd = -1;
		return;
	}
	if (n == (ssize_t)sizeof(r) && r.m.op == KEEP_READY &&
	    z->state == PROTO_WARM_STARTING) {
		memcpy(z->modules, r.modules, sizeof(z->modules));
		z->modules[sizeof(z->modules) - 1] = '\0';
		z->state = PROTO_WARM_READY;
		z->ready_ns = launcher_now_ns();
		z->failures = 0;
		snprintf(msg, sizeof(msg), "the %s zygote is ready (%s)",
		    zyg_name[k], z->modules[0] != '\0' ? z->modules :
		    "the runner's own modules");
		launcher_log("info", msg);
		return;
	}
	if (n == (ssize_t)sizeof(r.m) && r.m.op == KEEP_REAPED) {
		if (rs != NULL && rs->via == (int)k && r.m.pid == rs->init) {
			rs->reaped = true;
			rs->init_status = r.m.value;
		}
		return;
	}
	launcher_log("error", "protocol error from a zygote: killed");
	zygote_kill(l, k);
}

/* Whether zygote k may take run req: ready, and the one the worker
 * proved (a self-test's run: any ready one, which it is proving). */
static bool
zygote_usable(const struct launcher *l, enum zyg_kind k,
    const struct proto_run *req)
{
	const struct zygote *z = &l->zyg[k];
	uint32_t	proven = k == ZYG_BARE ? PROTO_RUN_BARE_PROVEN :
			    PROTO_RUN_DATA_PROVEN;
	uint8_t		gen = k == ZYG_BARE ? req->bare_gen :
			    req->data_gen;

	if (z->state != PROTO_WARM_READY || z->fd < 0)
		return false;
	return (req->flags & PROTO_RUN_PROBE) ||
	    ((req->flags & proven) && gen == z->gen);
}

/* Where a run goes: a usable zygote (the data one if asked for), else the
 * keeper (-1). */
static int
run_target(const struct launcher *l, const struct proto_run *req)
{
	if (req->flags & PROTO_RUN_COLD)
		return -1;
	if ((req->flags & PROTO_RUN_DATA) && zygote_usable(l, ZYG_DATA, req))
		return ZYG_DATA;
	if (zygote_usable(l, ZYG_BARE, req))
		return ZYG_BARE;
	if (zygote_usable(l, ZYG_DATA, req))
		return ZYG_DATA;
	return -1;
}

/* One message of the run's status socket: 'T', '!' or 'S'.  Returns the
 * size read, 0 or -1 when there was none. */
static ssize_t
status_read(struct run_state *rs)
{
	char	msg[256];
	ssize_t	n = recv(rs->st, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	uint64_t t;
	int32_t	 ws;

	if (n <= 0)
		return n;
	msg[n] = '\0';
	if (msg[0] == 'T' && n == 1 + (ssize_t)sizeof(t)) {
		memcpy(&t, msg + 1, sizeof(t));
		rs->setup_ns = t - rs->t0;
		rs->have_stamp = true;
	} else if (msg[0] == 'S' && n == 1 + (ssize_t)sizeof(ws)) {
		memcpy(&ws, msg + 1, sizeof(ws));
		rs->status = ws;
		rs->have_status = true;
	} else if (msg[0] == '!') {
		char	line[300];

		snprintf(line, sizeof(line), "run did not start: %s", msg + 1);
		launcher_log("error", line);
		rs->flags |= PROTO_DONE_NOEXEC;
	} else if (msg[0] == 'W') {
		char	line[300];

		snprintf(line, sizeof(line), "run did not start: its workspace "
		    "could not be entered: %.200s", msg + 1);
		launcher_log("warning", line);
		rs->flags |= PROTO_DONE_WORKSPACE;
	}
	return n;
}

/* Sends KEEP_RUN with all and the run's PROTO_RUN_KEEP flags (and a
 * session's uid and cgroup fds) to fd and waits for KEEP_STARTED: the
 * init's pid, or -1. */
static pid_t
run_hand(int fd, int all[KEEP_MAX_FDS], const struct proto_run *req)
{
	struct keep_msg	 m = { KEEP_RUN, 0,
			    (int32_t)(req->flags & PROTO_RUN_KEEP), 0, 0 };
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	int		 none[1], nfds;

	if (req->flags & PROTO_RUN_SESSION) {
		m.uid = req->session_uid;
		m.ncg = req->session_ncg;
	}
	if (fd < 0 || proto_send(fd, &m, sizeof(m), all,
	    keep_nfds(m.value, m.ncg)) != 0)
		return -1;
	while (poll(&pfd, 1, 5000) < 0 && errno == EINTR)
		;
	if (pfd.revents & POLLIN &&
	    proto_recv(fd, &m, sizeof(m), none, 0, &nfds) ==
	    (ssize_t)sizeof(m) && m.op == KEEP_STARTED && m.pid > 1)
		return m.pid;
	return -1;
}

/* Hands the run to a zygote or the keeper (run_target); a zygote that
 * cannot start it leaves it to the keeper.  A session goes to a zygote
 * only (it is a warm interpreter that lives on).  0 once its init runs,
 * -1 if not. */
static int
run_start(struct launcher *l, struct run_state *rs, int fds[PROTO_MAX_FDS],
    const struct proto_run *req)
{
	int		 sv[2], all[KEEP_MAX_FDS], i, j, nall;
	uint32_t	 flags = req->flags;
	bool		 session = (flags & PROTO_RUN_SESSION) != 0;
	pid_t		 init = -1;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		err(1, "socketpair");
	rs->st = sv[0];
	memcpy(all, fds, sizeof(int) * PROTO_NFDS);
	all[PROTO_NFDS] = sv[1];
	all[KEEP_FD_WORKSPACE] = (flags & PROTO_RUN_WORKSPACE) ?
	    fds[PROTO_NFDS] : -1;
	j = PROTO_NFDS + ((flags & PROTO_RUN_WORKSPACE) ? 1 : 0);
	for (i = 0; session && i < req->session_ncg; i++)
		all[keep_cg_first((int32_t)flags) + i] = fds[j + i];
	nall = keep_nfds((int32_t)(flags & PROTO_RUN_KEEP),
	    session ? req->session_ncg : 0);
	rs->t0 = launcher_now_ns();
	(void)zygote_retire_due(l);	/* past its age: it takes no more */
	rs->via = run_target(l, req);
	if (rs->via >= 0 &&
	    (init = run_hand(l->zyg[rs->via].fd, all, req)) < 0) {
		launcher_log("error", "a zygote did not start a run: "
		    "starting it cold");
		zygote_kill(l, (enum zyg_kind)rs->via);
		rs->via = -1;
	}
	if (rs->via < 0 && !session)
		init = run_hand(l->keeper_fd, all, req);
	for (i = 0; i < nall; i++)
		close(all[i]);
	if (init < 0) {
		launcher_log("error", session ? "no ready zygote started the "
		    "session" : "the keeper did not start the run");
		rs->flags |= PROTO_DONE_NOEXEC;
		return -1;
	}
	rs->init = init;
	if (rs->via >= 0) {
		rs->flags |= PROTO_DONE_WARM |
		    (rs->via == ZYG_DATA ? PROTO_DONE_DATA : 0);
		if (!(flags & (PROTO_RUN_PROBE | PROTO_RUN_SESSION)))
			l->zyg[rs->via].runs++;
	}
	return 0;
}

static void
run_kill(struct run_state *rs, uint32_t why)
{
	uint64_t now = launcher_now_ns();

	if (rs->kill_at == 0) {
		rs->kill_at = now;
		rs->kill_deadline = now + REAP_WAIT_NS;
		rs->flags |= why;
		(void)kill(rs->init, SIGKILL);
	}
}

/*
 * Waits for the runner's end (its status), the deadline or PROTO_KILL,
 * and kills the run's init; with until_reaped, then waits until the
 * keeper has reaped it.  Answers PROTO_PING meanwhile.  A protocol error
 * or a closed socket ends us; a run that is not gone REAP_WAIT_NS after
 * its kill leaves the slot dirty.
 */
static void
run_wait(struct launcher *l, struct run_state *rs, bool until_reaped)
{
	struct pollfd	 pfd[6];
	uint64_t	 now, until;
	union proto_msg	 m;
	int		 fds[1], nfds;
	ssize_t		 n;

	while (!rs->reaped && (until_reaped || rs->kill_at == 0)) {
		now = launcher_now_ns();
		if (rs->session && rs->have_stamp && !rs->have_status &&
		    rs->kill_at == 0)
			return;		/* set up: it lives on, not ours */
		if (rs->kill_at == 0 && (rs->have_status || now >= rs->deadline)) {
			run_kill(rs, rs->have_status ? 0 : PROTO_DONE_TIMEOUT);
			continue;
		}
		if (rs->kill_at != 0 && now >= rs->kill_deadline) {
			rs->flags |= RUN_DIRTY;
			return;
		}
		until = rs->kill_at != 0 ? rs->kill_deadline : rs->deadline;
		pfd[0] = (struct pollfd){ CTL_FD, POLLIN, 0 };
		pfd[1] = (struct pollfd){ l->sigfd, POLLIN, 0 };
		pfd[2] = (struct pollfd){ l->keeper_fd, POLLIN, 0 };
		pfd[3] = (struct pollfd){ rs->st, POLLIN, 0 };
		pfd[4] = (struct pollfd){ l->zyg[ZYG_BARE].fd, POLLIN, 0 };
		pfd[5] = (struct pollfd){ l->zyg[ZYG_DATA].fd, POLLIN, 0 };
		if (poll(pfd, 6, (int)((until - now + 999999) / 1000000)) < 0) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfd[3].revents)
			status_read(rs);
		if (pfd[2].revents)
			keeper_read(l, rs);
		if (pfd[4].revents)
			zygote_read(l, ZYG_BARE, rs);
		if (pfd[5].revents)
			zygote_read(l, ZYG_DATA, rs);
		if (pfd[1].revents)
			launcher_reap(l, rs);
		if (!pfd[0].revents)
			continue;
		n = proto_recv(CTL_FD, &m, sizeof(m), fds, 0, &nfds);
		if (n != (ssize_t)sizeof(struct proto_hdr) ||
		    m.hdr.magic != PROTO_MAGIC)
			ctl_fail(rs->init, n == 0);
		if (m.hdr.op == PROTO_KILL)
			run_kill(rs, PROTO_DONE_KILLED);
		else if (m.hdr.op == PROTO_PING)
			ctl_pong(l);
		else
			ctl_fail(rs->init, false);
	}
}

/* The runner's wait status: its own ('S'), else its init's if that died
 * first (the OOM killer), else SIGKILL (we killed them). */
static int
run_status(struct run_state *rs)
{
	while (!rs->have_status && status_read(rs) > 0)
		;
	if (rs->have_status && !rs->have_stamp &&
	    !(rs->flags & (PROTO_DONE_NOEXEC | PROTO_DONE_WORKSPACE))) {
		/* No 'T': the runner never started (a spare that broke). */
		char	line[96];

		snprintf(line, sizeof(line), "a run ended before it started "
		    "(wait status %d)", rs->status);
		launcher_log("error", line);
		rs->flags |= PROTO_DONE_NOEXEC;
	}
	if (rs->have_status)
		return rs->status;
	return rs->reaped ? rs->init_status : SIGKILL;
}

/*
 * One run.  PROTO_DONE goes back as soon as the runner's status is known
 * and its init killed (every process of the run is then dead or dying,
 * and the worker can answer), PROTO_CLEAN once the keeper has reaped the
 * init, so the run's pid namespace is empty and its mount namespace gone
 * (the teardown of namespaces can wait for the kernel's RCU: the worker
 * waits for CLEAN after its answer, before the next run).
 */
static void
launcher_run(struct launcher *l, const struct proto_run *req,
    int fds[PROTO_MAX_FDS])
{
	static const struct proto_hdr clean = { PROTO_MAGIC, PROTO_CLEAN };
	struct run_state	rs = { .st = -1, .via = -1,
				    .session = (req->flags & PROTO_RUN_SESSION) != 0 };
	struct proto_done	done = { { PROTO_MAGIC, PROTO_DONE }, 0, 0, 0, 0, 0 };
	bool			started = run_start(l, &rs, fds, req) == 0;

	if (started) {
		rs.deadline = rs.t0 + (uint64_t)req->timeout_ms * 1000000ULL;
		run_wait(l, &rs, false);
	}
	if (started && rs.session && rs.have_stamp && !rs.have_status &&
	    rs.kill_at == 0) {
		/* A session, set up: it is the session keeper's from here
		 * (its init's parent-death signal is off, so a retired
		 * zygote leaves it to us, and launcher_reap() reaps it). */
		done.flags = rs.flags | PROTO_DONE_SESSION;
		done.wall_ns = launcher_now_ns() - rs.t0;
		done.setup_ns = rs.setup_ns;
		ctl_send(&done, sizeof(done));
		close(rs.st);
		launcher_reap(l, NULL);
		ctl_send(&clean, sizeof(clean));
		return;
	}
	rs.end = rs.kill_at != 0 ? rs.kill_at : launcher_now_ns();
	done.wstatus = started ? run_status(&rs) : 0;
	done.flags = rs.flags & ~RUN_DIRTY;
	done.wall_ns = rs.end - rs.t0;
	done.overshoot_ns = (rs.flags & PROTO_DONE_TIMEOUT) &&
	    rs.kill_at > rs.deadline ? rs.kill_at - rs.deadline : 0;
	done.setup_ns = rs.setup_ns;
	ctl_send(&done, sizeof(done));
	if (started)
		run_wait(l, &rs, true);
	if (rs.st >= 0)
		close(rs.st);
	launcher_reap(l, NULL);
	if (rs.flags & RUN_DIRTY)
		errx(3, "a run outlived its kill by %llu s: remaking the slot",
		    REAP_WAIT_NS / 1000000000ULL);
	if (l->keeper == 0 || l->keeper_fd < 0) {
		/* The keeper died (the OOM killer may choose it): a new one. */
		if (l->keeper > 0)
			(void)kill(l->keeper, SIGKILL);
		launcher_reap(l, NULL);
		launcher_keeper(l);
	}
	(void)zygote_retire_due(l);	/* before CLEAN: the worker's next
					 * ping sees the new zygote */
	ctl_send(&clean, sizeof(clean));
}

/* Between runs: a run request, a ping, or the end. */
static void
launcher_loop(struct launcher *l)
{
	struct pollfd	 pfd[4];
	union proto_msg	 m;
	int		 fds[PROTO_MAX_FDS], nfds, i;
	ssize_t		 n;

	for (;;) {
		pfd[0] = (struct pollfd){ CTL_FD, POLLIN, 0 };
		pfd[1] = (struct pollfd){ l->sigfd, POLLIN, 0 };
		pfd[2] = (struct pollfd){ l->zyg[ZYG_BARE].fd, POLLIN, 0 };
		pfd[3] = (struct pollfd){ l->zyg[ZYG_DATA].fd, POLLIN, 0 };
		if (poll(pfd, 4, zygote_retire_due(l)) < 0) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfd[2].revents)
			zygote_read(l, ZYG_BARE, NULL);
		if (pfd[3].revents)
			zygote_read(l, ZYG_DATA, NULL);
		if (pfd[1].revents) {
			launcher_reap(l, NULL);
			if (l->keeper == 0)
				launcher_keeper(l);
		}
		if (!pfd[0].revents)
			continue;
		n = proto_recv(CTL_FD, &m, sizeof(m), fds, PROTO_MAX_FDS, &nfds);
		if (n == 0 || (n < 0 && errno != EPROTO))
			exit(0);
		if (proto_run_valid(&m, (long)n, nfds)) {
			launcher_run(l, &m.run, fds);
			continue;
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (n > 0 && m.hdr.magic == PROTO_MAGIC &&
		    m.hdr.op == PROTO_PING && n == (ssize_t)sizeof(m.hdr) &&
		    nfds == 0) {
			ctl_pong(l);
			continue;
		}
		if (n > 0 && m.hdr.op == PROTO_KILL &&
		    n == (ssize_t)sizeof(m.hdr) && nfds == 0)
			continue;	/* a late kill for a run already over */
		errx(2, "protocol error from the worker");
	}
}

static unsigned long
num_arg(const char *s, const char *name)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *s == '\0')
		errx(1, "--%s: not a number", name);
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "uid", required_argument, NULL, 'u' },
		{ "python", required_argument, NULL, 'p' },
		{ "tmp-size", required_argument, NULL, 't' },
		{ "fsize", required_argument, NULL, 'f' },
		{ "nofile", required_argument, NULL, 'n' },
		{ "nproc", required_argument, NULL, 'P' },
		{ "cgroup-fds", required_argument, NULL, 'c' },
		{ "warm", required_argument, NULL, 'w' },
		{ "preload", required_argument, NULL, 'L' },
		{ "warm-max-runs", required_argument, NULL, 'R' },
		{ "warm-max-age", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct launcher	 l = { .max_runs = 100, .max_age = 600 };
	int		 c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			l.jail.step.run_uid = l.jail.step.run_gid =
			    (uid_t)num_arg(optarg, "uid");
			break;
		case 'p': l.jail.python = optarg; break;
		case 't': l.jail.root.tmp_size = num_arg(optarg, "tmp-size"); break;
		case 'f': l.jail.step.fsize = num_arg(optarg, "fsize"); break;
		case 'n': l.jail.step.nofile = num_arg(optarg, "nofile"); break;
		case 'P': l.jail.step.nproc = num_arg(optarg, "nproc"); break;
		case 'c': l.jail.ncg = (int)num_arg(optarg, "cgroup-fds"); break;
		case 'w': l.warm = num_arg(optarg, "warm") != 0; break;
		case 'L': l.jail.preload = optarg; break;
		case 'R': l.max_runs = num_arg(optarg, "warm-max-runs"); break;
		case 'A': l.max_age = num_arg(optarg, "warm-max-age"); break;
		default:
			errx(1, "usage: pyexec-launcher --uid N --python PATH "
			    "--tmp-size N --fsize N --nofile N --nproc N --cgroup-fds N "
			    "[--warm 0|1] [--preload MODULES] "
			    "[--warm-max-runs N] [--warm-max-age S]");
		}
	}
	if (l.jail.step.run_uid == 0 || l.jail.python == NULL ||
	    l.jail.root.tmp_size == 0 || l.jail.step.fsize == 0 ||
	    l.jail.step.nofile == 0 || l.jail.step.nproc == 0)
		errx(1, "missing or zero argument (the run uid must not be 0)");
	if (fcntl(CTL_FD, F_GETFD) < 0 || fcntl(RUNNER_FD, F_GETFD) < 0 ||
	    fcntl(ZYGLIB_FD, F_GETFD) < 0)
		errx(1, "fd 3 must be the control socket, fd 4 the runner and "
		    "fd 5 pyexec-zygote.so");
	if (l.jail.preload == NULL)
		l.jail.preload = "";
	if (l.max_runs == 0 || l.max_age == 0 || l.max_age > 30 * 86400)
		errx(1, "--warm-max-runs and --warm-max-age: at least 1 "
		    "(and at most 30 days)");
	if (l.jail.ncg < 1 || l.jail.ncg > LAUNCHER_MAX_CG)
		errx(1, "--cgroup-fds: between 1 and %d", LAUNCHER_MAX_CG);
	for (c = 0; c < l.jail.ncg; c++) {
		l.jail.cg_fds[c] = CG_FD_FIRST + c;
		if (fcntl(l.jail.cg_fds[c], F_SETFD, FD_CLOEXEC) != 0)
			errx(1, "fd %d must be a cgroup.procs file", l.jail.cg_fds[c]);
	}
	l.keeper_fd = -1;
	l.spawner.fd = -1;
	l.zyg[ZYG_BARE].fd = l.zyg[ZYG_DATA].fd = -1;
	l.jail.root.run_uid = l.jail.step.run_uid;
	l.jail.root.run_gid = l.jail.step.run_gid;
	launcher_setup(&l);
	launcher_loop(&l);
	return 0;
}
