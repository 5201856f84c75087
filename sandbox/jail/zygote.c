/*
 * zygote.c: pyexec-zygote.so, the C half of a warm interpreter.
 *
 * Theory of operation.  The launcher has its spawner (spawner.c) start
 * python on the runner with --zygote (runner.py, _zygote), with no
 * seccomp policy, so that its runs carry only theirs: it imports its
 * modules, freezes the garbage collector's objects (so that no run's
 * collection writes to the zygote's pages), loads this library with
 * ctypes.PyDLL (the GIL stays held) and calls pyexec_zygote_serve(),
 * which never returns in the zygote.  It returns 0 only in a run, a fork of the zygote that has
 * become exactly what a cold run is (runstep.c), and the runner then runs
 * the code as it would cold.
 *
 *   launcher (pid 1)      slot-N/launcher
 *    zygote               python, the slot's root uid; its own mount
 *     |                   namespace with a private /tmp; never runs user
 *     |                   code, never leaves this loop; killed and made
 *     |                   again by the launcher at its limits (retired)
 *     spare init          cloned ahead of the run into fresh pid, mount
 *      |                  and IPC namespaces; forks the spare run, waits.
 *      |                  Stays in slot-N/launcher (it only waits), so a
 *      |                  run's OOM killer never sees it
 *      spare run          pid 2 there; warms up (data zygote), waits for
 *                         KEEP_RUN's fds.  Then: mounts the run's /tmp,
 *                         /dev/shm and /proc (root_run_mounts: fresh, with
 *                         the run's times), joins run/ (through the master's
 *                         cgroup.procs fds), its own cgroup namespace,
 *                         the runstep steps, 'T', and returns into python
 *
 * A run is so a fork made before it was asked for: the fork of a big
 * interpreter (page tables, hundreds of mappings) is off the request's
 * path, and the request pays three mounts and one cgroup move.  The
 * zygote's memory is never written by a run (copy-on-write); the pages a
 * run copies and allocates are charged to run/, the zygote's own to
 * slot-N/launcher, so memory_peak_bytes and the memory limit count what
 * the run adds.
 *
 * The zygote keeps ZYG_SPARES spares, so that one is ready while the one
 * taken last is made again; a spare warms up in its own process, and the
 * zygote only waits for its word.  A request that finds none ready takes
 * the oldest one still warming up (its run starts once warm).  The run's
 * end is as cold: the launcher kills the spare init, pid 1 of the run's
 * pid namespace, which ends every process in it at once; the zygote reaps
 * the init, says KEEP_REAPED (the launcher's PROTO_CLEAN to the worker
 * follows) and makes a new spare in its place.  Spares are made and warmed
 * in slot-N/launcher, so nothing of it is charged to any run.
 *
 * Messages: launcher <-> zygote as launcher <-> keeper (keep.h).
 * Zygote -> spare init: one packet with the run's status socket; zygote
 * -> spare run: one packet, KEEP_RUN, with the run's five fds and the
 * status socket.  The init gets its packet first, so once the run has
 * ended the init finds the socket it reports on.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jlog.h"
#include "keep.h"
#include "proto.h"
#include "root.h"
#include "runstep.h"

/* CPython's own fork protocol (os.fork does the same around fork()). */
void	PyOS_BeforeFork(void);
void	PyOS_AfterFork_Parent(void);
void	PyOS_AfterFork_Child(void);

int	pyexec_zygote_serve(const char *modules);
int	pyexec_zygote_run(void);

#define ZYG_NS_FLAGS	(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC)
#define ZYG_IN_RUN	1	/* returned in the run: back to python */

enum zyg_err {
	ZYG_OK = 0,
	ZYG_ERR_CONF,
	ZYG_ERR_THREADS,
	ZYG_ERR_SYS,
	ZYG_ERR_LAUNCHER,
};

/* A spare: an init in fresh namespaces and the run forked under it. */
struct spare {
	pid_t		 init;		/* 0: this place is empty */
	int		 init_fd;	/* our socket to the init */
	int		 run_fd;	/* our socket to the spare run */
	bool		 ready;		/* it said it has warmed up */
	uint64_t	 made_ns;
};

#define ZYG_SPARES	2	/* one to take while the other is being made */

struct zyg {
	struct runstep	 step;
	struct root_opts root;
	int		 cg_fds[LAUNCHER_MAX_CG];
	int		 ncg;
	int		 sigfd;
	struct spare	 sp[ZYG_SPARES];
	pid_t		 running;	/* the init of the run under way, or 0 */
	unsigned	 failures;	/* spares that died idle, in a row */
	int		 run_sock;	/* in a spare run: its socket */
	bool		 session;	/* in a run: it is a live session's */
};

#define SPARE_READY_NS	(30ULL * 1000000000ULL)	/* warm-up must end by then */

static struct zyg	zyg = { .run_sock = -1 };

static void
zyg_log(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
zyg_log(const char *level, const char *fmt, ...)
{
	char	msg[400];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 40, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	launcher_log(level, msg);
}

static int
read_full(int fd, void *buf, size_t len)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < len) {
		n = read(fd, (char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* The launcher's config on ZYG_FD_CONF: ids, limits, the run's policy. */
static enum zyg_err
zyg_config(struct zyg *z)
{
	struct zyg_conf	 c;
	struct sock_filter *prog = NULL;
	int		 i;

	if (read_full(ZYG_FD_CONF, &c, sizeof(c)) != 0 ||
	    c.magic != ZYG_CONF_MAGIC || c.ncg < 1 ||
	    c.ncg > LAUNCHER_MAX_CG || c.filter_len == 0 ||
	    c.filter_len > 4096 ||
	    (prog = calloc(c.filter_len, sizeof(*prog))) == NULL ||
	    read_full(ZYG_FD_CONF, prog, c.filter_len * sizeof(*prog)) != 0) {
		free(prog);
		return ZYG_ERR_CONF;
	}
	close(ZYG_FD_CONF);
	z->step.run_uid = c.run_uid;
	z->step.run_gid = c.run_gid;
	z->step.fsize = c.fsize;
	z->step.nofile = c.nofile;
	z->step.nproc = c.nproc;
	z->step.filter.len = (unsigned short)c.filter_len;
	z->step.filter.filter = prog;	/* owned, for the zygote's life */
	z->root.run_uid = c.run_uid;
	z->root.run_gid = c.run_gid;
	z->root.tmp_size = c.tmp_size;
	z->ncg = (int)c.ncg;
	for (i = 0; i < z->ncg; i++) {
		z->cg_fds[i] = ZYG_FD_CG + i;
		if (fcntl(z->cg_fds[i], F_SETFD, FD_CLOEXEC) != 0)
			return ZYG_ERR_CONF;
	}
	return ZYG_OK;
}

/* A fork of a threaded process keeps only the forking thread: refuse. */
static bool
zyg_single_threaded(void)
{
	char	 line[128];
	FILE	*f = fopen("/proc/self/status", "re");
	bool	 one = false;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Threads:", 8) == 0)
			one = strtol(line + 8, NULL, 10) == 1;
	fclose(f);
	return one;
}

/* In the spare run, once its KEEP_RUN came: join run/ (a session: its own
 * cgroup, network and UTS namespaces, and uid) and become the run. */
static void
spare_become_run(struct zyg *z, int fds[KEEP_MAX_FDS], const struct keep_msg *m)
{
	int32_t	flags = m->value;
	bool	session = (flags & (int32_t)PROTO_RUN_SESSION) != 0;
	int	st = fds[PROTO_NFDS], rc;
	int	wsfd = (flags & PROTO_RUN_WORKSPACE) ? fds[KEEP_FD_WORKSPACE] : -1;
	struct runstep step = z->step;
	struct root_opts root = z->root;
	char	err[256];

	if (session) {		/* its /tmp and /dev/shm are its uid's */
		root.run_uid = (uid_t)m->uid;
		root.run_gid = (gid_t)m->uid;
	}

	/* The zygote's own /tmp (its imports' caches) goes first, so that
	 * the run's mount table is a cold run's, with nothing beneath. */
	if (umount2("/tmp", MNT_DETACH) != 0)
		runstep_fail(st, "unmounting the zygote's /tmp");
	/* The run's file systems now, not when the spare was made: their
	 * times must not tell when that was (when the last run ended). */
	if ((rc = root_run_mounts(&root, (flags & PROTO_RUN_OUTPUTS) != 0,
	    wsfd, err, sizeof(err))) != 0)
		runstep_fail_mounts(st, rc, err);
	if (session) {
		/* A session outlives every run of the slot: nothing of the
		 * slot's network namespace (abstract unix sockets) or host
		 * name may be shared with them; its uid is its own. */
		runstep_join_cgroups(st, &fds[keep_cg_first(flags)],
		    (int)m->ncg);
		if (unshare(CLONE_NEWNET | CLONE_NEWUTS) != 0)
			runstep_fail(st, "the session's namespaces");
		if (sethostname("pyexec", 6) != 0)
			runstep_fail(st, "the session's host name");
		step.run_uid = (uid_t)m->uid;
		step.run_gid = (gid_t)m->uid;
	} else
		runstep_join_cgroups(st, z->cg_fds, z->ncg);
	st = runstep_become(&step, fds, st, wsfd >= 0);
	runstep_stamp(st);
	close(st);
	z->session = session;
}

/* The spare run, warmed up: says so, waits for its fds; returns only as
 * the run. */
static void
spare_run(struct zyg *z, int sock)
{
	struct keep_msg	m;
	int		fds[KEEP_MAX_FDS], nfds, i;
	ssize_t		n;

	/* The zygote may have sent our run and closed its end while we
	 * warmed up: the word then fails, or lands unread in its closing
	 * end, which makes our next receive fail once with ECONNRESET; the
	 * run is still queued behind that. */
	(void)!send(sock, "w", 1, MSG_NOSIGNAL);
	do
		n = proto_recv(sock, &m, sizeof(m), fds, KEEP_MAX_FDS, &nfds);
	while (n < 0 && (errno == EINTR || errno == ECONNRESET));
	if (!keep_run_valid(&m, (long)n, nfds)) {
		if (n != 0)
			zyg_log("error", "spare run: no run (%zd bytes, %d fds: "
			    "%s)", n, nfds, n < 0 ? strerror(errno) : "bad");
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		_exit(126);	/* the zygote is gone, or spoke nonsense */
	}
	close(sock);
	spare_become_run(z, fds, &m);
}

/*
 * The spare's init, pid 1 of fresh namespaces: mounts the run's file
 * systems, forks the spare run, then waits for the run's status socket
 * and the run's end.  Returns only in the spare run, as the run.
 */
static void
spare_init(struct zyg *z, int init_sock, int run_sock)
{
	struct pollfd	 pfd[2];
	sigset_t	 set;
	char		 b;
	int		 st = -1, fds[1], nfds, status, sigfd;
	pid_t		 run, p;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		_exit(1);
	close(ZYG_FD_SOCK);
	close(z->sigfd);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if ((sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		_exit(1);
	if ((run = fork()) < 0)
		_exit(1);
	if (run == 0) {
		PyOS_AfterFork_Child();
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
			_exit(1);
		close(init_sock);
		close(sigfd);
		z->run_sock = run_sock;
		return;		/* to python, which warms up and calls
				 * pyexec_zygote_run() */
	}
	close(run_sock);
	for (;;) {
		/* Once st came, the zygote's end is closed: not polled. */
		pfd[0] = (struct pollfd){ st < 0 ? init_sock : -1, POLLIN, 0 };
		pfd[1] = (struct pollfd){ sigfd, POLLIN, 0 };
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (pfd[0].revents) {
			if (proto_recv(init_sock, &b, 1, fds, 1, &nfds) != 1 ||
			    nfds != 1) {
				_exit(1);	/* the zygote is gone */
			}
			st = fds[0];
			/* A session's init outlives a retired zygote (the
			 * launcher reaps it then); it ends with the launcher
			 * (pid 1 of the slot) or its interpreter. */
			if (b == 's' && prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) != 0)
				_exit(1);
		}
		if (!pfd[1].revents)
			continue;
		{
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) > 0)
				;
		}
		while ((p = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
			if (p != run)
				continue;	/* an orphan of the run */
			if (st < 0 && (proto_recv(init_sock, &b, 1, fds, 1,
			    &nfds) != 1 || nfds != 1)) {
				zyg_log("error", "zygote: a spare run died "
				    "idle (status %d)", status);
				_exit(1);	/* died idle: a broken spare */
			}
			if (st < 0)
				st = fds[0];
			runstep_status(st, status);
			_exit(0);
		}
	}
}

/*
 * Makes a spare in the empty place s: clones its init, which forks the
 * spare run, which warms up in python and says so ('w' on its socket, read
 * by zyg_on_ready).  ZYG_IN_RUN in the spare run, 0 in the zygote, -1 if
 * it could not.
 */
static int
spare_make(struct zyg *z, struct spare *s)
{
	int	ia[2], ra[2];
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ia) != 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ra) != 0) {
		close(ia[0]);
		close(ia[1]);
		return -1;
	}
	PyOS_BeforeFork();
	pid = (pid_t)syscall(SYS_clone, ZYG_NS_FLAGS | SIGCHLD, NULL, NULL,
	    NULL, NULL);
	if (pid == 0) {
		int i;

		close(ia[0]);
		close(ra[0]);
		for (i = 0; i < ZYG_SPARES; i++) {	/* the other spares' */
			if (z->sp[i].init_fd >= 0)
				close(z->sp[i].init_fd);
			if (z->sp[i].run_fd >= 0)
				close(z->sp[i].run_fd);
		}
		spare_init(z, ia[1], ra[1]);
		return ZYG_IN_RUN;
	}
	PyOS_AfterFork_Parent();
	close(ia[1]);
	close(ra[1]);
	if (pid < 0) {
		close(ia[0]);
		close(ra[0]);
		return -1;
	}
	*s = (struct spare){ pid, ia[0], ra[0], false, launcher_now_ns() };
	return 0;
}

static void
spare_drop(struct spare *s)
{
	if (s->init_fd >= 0)
		close(s->init_fd);
	if (s->run_fd >= 0)
		close(s->run_fd);
	*s = (struct spare){ 0, -1, -1, false, 0 };
}

/* Fills every empty place.  ZYG_IN_RUN in a spare run, 0, or -1. */
static int
spare_fill(struct zyg *z)
{
	int	i, rc;

	for (i = 0; i < ZYG_SPARES; i++)
		if (z->sp[i].init == 0 &&
		    (rc = spare_make(z, &z->sp[i])) != 0)
			return rc;
	return 0;
}

/* The spare to take: a ready one, else the oldest still warming up (its
 * run picks the fds up once warm), else none. */
static struct spare *
spare_pick(struct zyg *z)
{
	struct spare	*best = NULL;
	int		 i;

	for (i = 0; i < ZYG_SPARES; i++) {
		struct spare *s = &z->sp[i];

		if (s->init == 0)
			continue;
		if (s->ready)
			return s;
		if (best == NULL || s->made_ns < best->made_ns)
			best = s;
	}
	return best;
}

static enum zyg_err
zyg_send(uint32_t op, pid_t pid, int value)
{
	struct keep_msg	m = { op, pid, value, 0, 0 };

	if (send(ZYG_FD_SOCK, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return ZYG_ERR_LAUNCHER;
	return ZYG_OK;
}

/* Hands the run's fds to spare s: the status socket to its init, all to
 * its run.  A session is not z->running: the zygote takes the next run
 * meanwhile, and reaps the session's init without a word when it ends.
 * The init's pid, or -1 (the spare is then killed; its reaping drops it). */
static pid_t
zyg_start(struct zyg *z, struct spare *s, int fds[KEEP_MAX_FDS],
    const struct keep_msg *req)
{
	struct keep_msg	m = { KEEP_RUN, 0, req->value & (int32_t)PROTO_RUN_KEEP,
			    req->uid, req->ncg };
	bool		session = (m.value & (int32_t)PROTO_RUN_SESSION) != 0;
	char		b = session ? 's' : 'r';
	pid_t		init = s->init;

	if (proto_send(s->init_fd, &b, 1, &fds[PROTO_NFDS], 1) != 0 ||
	    proto_send(s->run_fd, &m, sizeof(m), fds,
	    keep_nfds(m.value, m.ncg)) != 0) {
		(void)kill(s->init, SIGKILL);
		return -1;
	}
	if (!session)
		z->running = s->init;
	spare_drop(s);
	return init;
}

/* One KEEP_RUN from the launcher.  ZYG_IN_RUN, 0, or -1 (fatal). */
static int
zyg_on_run(struct zyg *z)
{
	struct keep_msg	 m;
	struct spare	*s;
	int		 fds[KEEP_MAX_FDS], nfds, i, rc = 0;
	pid_t		 init;
	ssize_t		 n;

	n = proto_recv(ZYG_FD_SOCK, &m, sizeof(m), fds, KEEP_MAX_FDS, &nfds);
	if (n == 0 || (n < 0 && errno != EPROTO && errno != EINTR))
		return -1;	/* the launcher is gone */
	if (n < 0 && errno == EINTR)
		return 0;
	if (!keep_run_valid(&m, (long)n, nfds) || z->running != 0) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return -1;	/* only our launcher talks to us */
	}
	if (spare_pick(z) == NULL && (rc = spare_fill(z)) == ZYG_IN_RUN)
		return ZYG_IN_RUN;
	if ((s = spare_pick(z)) != NULL && (init = zyg_start(z, s, fds, &m)) > 0)
		rc = zyg_send(KEEP_STARTED, init, 0) == ZYG_OK ? 0 : -1;
	else
		rc = zyg_send(KEEP_FAILED, 0, EAGAIN) == ZYG_OK ? 0 : -1;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return rc;
}

/* SIGCHLD: the run's init (KEEP_REAPED, then a new spare in its place) or
 * a spare that died idle.  ZYG_IN_RUN, 0, or -1 (fatal). */
static int
zyg_on_child(struct zyg *z)
{
	struct signalfd_siginfo	si;
	pid_t			p;
	int			status, i;

	while (read(z->sigfd, &si, sizeof(si)) > 0)
		;
	while ((p = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
		if (p == z->running) {
			z->running = 0;
			if (zyg_send(KEEP_REAPED, p, status) != ZYG_OK)
				return -1;
			continue;
		}
		for (i = 0; i < ZYG_SPARES; i++) {
			if (p != z->sp[i].init)
				continue;
			spare_drop(&z->sp[i]);
			zyg_log("error", "zygote: a spare run died before its "
			    "run (status %d)", status);
			if (++z->failures >= ZYG_MAX_FAILURES)
				return -1;
		}
	}
	/* A new spare in each empty place: they warm up while we wait. */
	return spare_fill(z);
}

/* A spare's word: warmed up. */
static void
zyg_on_ready(struct spare *s)
{
	char	b;

	if (recv(s->run_fd, &b, 1, MSG_DONTWAIT) == 1 && b == 'w')
		s->ready = true;
	else
		(void)kill(s->init, SIGKILL);	/* died or spoke nonsense */
}

/* Spares that did not warm up in time are killed (reaping drops them). */
static void
zyg_check_slow(struct zyg *z)
{
	uint64_t	now = launcher_now_ns();
	int		i;

	for (i = 0; i < ZYG_SPARES; i++)
		if (z->sp[i].init != 0 && !z->sp[i].ready &&
		    now - z->sp[i].made_ns > SPARE_READY_NS) {
			zyg_log("error", "zygote: a spare run did not warm up");
			(void)kill(z->sp[i].init, SIGKILL);
		}
}

/*
 * In a spare run, after python's warm-up: waits for the run, becomes it
 * (runstep_become) and returns 0, or 1 when it became a live session
 * (the runner's session loop).  Exits on any failure.
 */
int
pyexec_zygote_run(void)
{
	if (zyg.run_sock < 0)
		_exit(126);	/* not a spare run */
	spare_run(&zyg, zyg.run_sock);
	return zyg.session ? 1 : 0;
}

/*
 * Called once by the zygote's python (runner.py) after its imports, with
 * the GIL held.  In the zygote it returns only on a fatal error (non-zero:
 * python exits, the launcher cold-starts the slot's runs and makes a new
 * zygote); it returns 0 in a spare run, which warms up and calls
 * pyexec_zygote_run().
 */
int
pyexec_zygote_serve(const char *modules)
{
	struct keep_ready	r;
	struct pollfd		pfd[2 + ZYG_SPARES];
	sigset_t		set;
	int			rc, i;

	for (i = 0; i < ZYG_SPARES; i++)
		spare_drop(&zyg.sp[i]);
	if (zyg_config(&zyg) != ZYG_OK) {
		launcher_log("fatal", "zygote: bad config from the launcher");
		return 2;
	}
	if (!zyg_single_threaded()) {
		launcher_log("fatal", "zygote: an imported module started a "
		    "thread; a fork would lose it");
		return 3;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (zyg.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return 4;
	if ((rc = spare_fill(&zyg)) == ZYG_IN_RUN)
		return 0;
	if (rc != 0) {
		zyg_log("fatal", "zygote: no spare run: %s", strerror(errno));
		return 4;
	}
	memset(&r, 0, sizeof(r));
	r.m = (struct keep_msg){ KEEP_READY, getpid(), 0, 0, 0 };
	snprintf(r.modules, sizeof(r.modules), "%s", modules);
	if (send(ZYG_FD_SOCK, &r, sizeof(r), MSG_NOSIGNAL) != (ssize_t)sizeof(r))
		return 5;
	for (;;) {
		pfd[0] = (struct pollfd){ ZYG_FD_SOCK, POLLIN, 0 };
		pfd[1] = (struct pollfd){ zyg.sigfd, POLLIN, 0 };
		for (i = 0; i < ZYG_SPARES; i++)
			pfd[2 + i] = (struct pollfd){ zyg.sp[i].init != 0 &&
			    !zyg.sp[i].ready ? zyg.sp[i].run_fd : -1, POLLIN, 0 };
		if (poll(pfd, 2 + ZYG_SPARES, 1000) < 0) {
			if (errno == EINTR)
				continue;
			return 6;
		}
		for (i = 0; i < ZYG_SPARES; i++)
			if (pfd[2 + i].revents)
				zyg_on_ready(&zyg.sp[i]);
		zyg_check_slow(&zyg);
		rc = 0;
		if (pfd[1].revents)
			rc = zyg_on_child(&zyg);
		if (rc == 0 && pfd[0].revents)
			rc = zyg_on_run(&zyg);
		if (rc == ZYG_IN_RUN)
			return 0;
		if (rc < 0)
			return 7;
	}
}
