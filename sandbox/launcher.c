/*
 * pyexec-launcher: pid 1 of a slot.
 *
 * The master clones this process straight into new user, pid, mount,
 * network, ipc and uts namespaces, maps uid/gid 0 to the slot's launcher
 * uid and 1000 to its run uid, attaches it to the slot's cgroup, and lets
 * it switch to its mapped ids and exec this program with fd 3 = its end of
 * the worker's control socket (see proto.h) and fd 4 = the runner's
 * source.  It has every capability, but only over its own namespaces.
 * Once (launcher_setup):
 *
 *   read the runner and compile it once -> build the run's root (root.c: read-only binds,
 *   tmpfs /tmp and /dev/shm, /proc, pivot_root) -> cgroup namespace ->
 *   hostname -> oom_score_adj -1000 for itself where the host allows ->
 *   compile the seccomp policy (filter.c) -> signalfd for SIGCHLD
 *
 * then, per PROTO_RUN, one straight line (launcher_child):
 *
 *   setsid -> its own IPC namespace (SysV IPC and message queues end with
 *   the run) -> oom_score_adj and nice 0 -> the run's pipes on fds 0-4,
 *   every other
 *   fd closed -> rlimits -> setgroups/setresgid/setresuid to uid 1000
 *   (checked) -> no_new_privs -> parent-death signal -> cwd /tmp ->
 *   seccomp -> exec python, with a fixed environment, on the compiled
 *   runner
 *
 * and after it: kill(-1, SIGKILL) ends everything left in the namespace at
 * once (a fork bomb cannot outrun it), every child is reaped, a used /tmp
 * or /dev/shm is replaced by a fresh tmpfs, and PROTO_DONE goes back.  The
 * launcher never runs code it was sent and never parses more than the
 * fixed-size messages of proto.h.  Any protocol error or failed set-up step
 * ends it; the master then makes the slot again.
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
#include "proto.h"
#include "root.h"

#define CTL_FD		3	/* the control socket to the worker */
#define RUNNER_FD	4	/* the runner's source, read once then closed */
#define RUNNER_MAX	(256 * 1024)

struct launcher {
	uid_t		 run_uid;
	gid_t		 run_gid;
	const char	*python;
	char		*runner_src;	/* owned: the runner's source text */
	char		*runner_pyc;	/* owned: the runner compiled by python */
	size_t		 runner_pyc_len;
	struct root_opts root;		/* the run's file system */
	struct sock_fprog filter;	/* owned: the compiled seccomp policy */
	unsigned long	 fsize;		/* RLIMIT_FSIZE */
	unsigned long	 nofile;	/* RLIMIT_NOFILE */
	unsigned long	 nproc;		/* RLIMIT_NPROC */
	int		 sigfd;
};

/*
 * Logging: like the service, one JSON object per line on stderr.  The
 * launcher's messages are its own (paths, strerror), escaped anyway.
 */
static void
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

/* err(3) and errx(3), with the message as a JSON log line. */
static void __attribute__((noreturn, format(printf, 3, 4)))
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

#define err(st, ...)	launcher_die((st), true, __VA_ARGS__)
#define errx(st, ...)	launcher_die((st), false, __VA_ARGS__)

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

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

/* Reads the runner's source from RUNNER_FD (opened by the master). */
static char *
read_runner(void)
{
	char	*buf;
	ssize_t	 n;
	size_t	 len = 0;

	if ((buf = malloc(RUNNER_MAX)) == NULL)
		err(1, "malloc");
	while ((n = read(RUNNER_FD, buf + len, RUNNER_MAX - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len == RUNNER_MAX - 1 || len == 0)
		errx(1, "runner: unreadable, empty or too large");
	buf[len] = '\0';
	close(RUNNER_FD);
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
		execve(l->python, argv, envp);
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
		    l->python, st);
	l->runner_pyc_len = off;
}

static void
launcher_setup(struct launcher *l)
{
	sigset_t	set;
	char		msg[512];

	if (getpid() != 1)
		errx(1, "must be pid 1 of a new pid namespace");
	l->runner_src = read_runner();
	compile_runner(l);
	l->root.runner = l->runner_pyc;
	l->root.runner_len = l->runner_pyc_len;
	if (root_build(&l->root, msg, sizeof(msg)) != 0)
		errx(1, "building the root: %s", msg);
	/* Attached to the slot's cgroup before exec: make it our root. */
	if (unshare(CLONE_NEWCGROUP) != 0)
		err(1, "cgroup namespace");
	if (sethostname("pyexec", 6) != 0)
		err(1, "sethostname");
	/* Let the OOM killer pick the run, not us.  Needs CAP_SYS_RESOURCE
	 * over the host, which some hosts withhold even from root: then a
	 * slot whose launcher is chosen dies and the master makes it again. */
	if (write_text("/proc/self/oom_score_adj", "-1000") != 0 &&
	    errno != EACCES && errno != EPERM)
		err(1, "oom_score_adj");
	if (filter_build(&l->filter, msg, sizeof(msg)) != 0)
		errx(1, "%s", msg);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		err(1, "sigprocmask");
	sigdelset(&set, SIGPIPE);
	if ((l->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		err(1, "signalfd");
}

/* In the run's child: report the failed step on the exec pipe ("!msg"). */
static void
child_fail(int pipefd, const char *step)
{
	int	e = errno;
	char	msg[128];
	int	n = snprintf(msg, sizeof(msg), "!%s: %s", step, strerror(e));

	(void)!write(pipefd, msg, (size_t)n);
	_exit(127);
}

static void
child_rlimit(int pipefd, int res, rlim_t v)
{
	struct rlimit	rl = { v, v };

	if (setrlimit(res, &rl) != 0)
		child_fail(pipefd, "setrlimit");
}

/*
 * The run, from fork to exec.  Every step is checked; a failure is written
 * to errpipe (close-on-exec, so a successful exec closes it silently).
 */
static void __attribute__((noreturn))
launcher_child(const struct launcher *l, int fds[PROTO_NFDS], int errpipe)
{
	static char *const envp[] = {
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
	char		*argv[] = { "python3", "-I", "-S", "-B", "-u",
			    ROOT_RUNNER_PATH, NULL };
	sigset_t	 none;
	int		 i, fd;
	char		 stamp[1 + sizeof(uint64_t)];
	uint64_t	 t;

	if (setsid() < 0)
		child_fail(errpipe, "setsid");
	/* SysV IPC and POSIX message queues die with the run. */
	if (unshare(CLONE_NEWIPC) != 0)
		child_fail(errpipe, "ipc namespace");
	if (write_text("/proc/self/oom_score_adj", "0") != 0)
		child_fail(errpipe, "oom_score_adj");
	/* SCHED_RESET_ON_FORK made us SCHED_OTHER; drop a fallback nice too. */
	if (setpriority(PRIO_PROCESS, 0, 0) != 0)
		child_fail(errpipe, "setpriority");
	/* Move errpipe above the run's fds, then place the run's fds. */
	if ((fd = fcntl(errpipe, F_DUPFD_CLOEXEC, PROTO_NFDS + 8)) < 0)
		child_fail(errpipe, "dup");
	errpipe = fd;
	for (i = 0; i < PROTO_NFDS; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD, PROTO_NFDS + 16)) < 0)
			child_fail(errpipe, "dup");
	for (i = 0; i < PROTO_NFDS; i++)
		if (dup2(fds[i], i) != i)
			child_fail(errpipe, "dup2");
	if (close_range(PROTO_NFDS, (unsigned)errpipe - 1, 0) != 0 ||
	    close_range((unsigned)errpipe + 1, ~0U, 0) != 0)
		child_fail(errpipe, "close_range");
	child_rlimit(errpipe, RLIMIT_CORE, 0);
	child_rlimit(errpipe, RLIMIT_FSIZE, l->fsize);
	child_rlimit(errpipe, RLIMIT_NOFILE, l->nofile);
	child_rlimit(errpipe, RLIMIT_NPROC, l->nproc);
	child_rlimit(errpipe, RLIMIT_RTPRIO, 0);
	child_rlimit(errpipe, RLIMIT_NICE, 0);
	if (setgroups(0, NULL) != 0)
		child_fail(errpipe, "setgroups");
	if (setresgid(l->run_gid, l->run_gid, l->run_gid) != 0)
		child_fail(errpipe, "setresgid");
	if (setresuid(l->run_uid, l->run_uid, l->run_uid) != 0)
		child_fail(errpipe, "setresuid");
	if (getuid() != l->run_uid || geteuid() != l->run_uid ||
	    getgid() != l->run_gid || getegid() != l->run_gid ||
	    setuid(0) == 0)
		child_fail(errpipe, "credentials did not drop");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail(errpipe, "no_new_privs");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		child_fail(errpipe, "pdeathsig");
	if (chdir("/tmp") != 0)
		child_fail(errpipe, "chdir /tmp");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Last: from here on only what the policy allows, execve included. */
	if (filter_load(&l->filter) != 0)
		child_fail(errpipe, "seccomp");
	/* "T" + the time of the exec, for the set-up time; a good exec then
	 * closes the pipe, a failed one adds "!why". */
	stamp[0] = 'T';
	t = now_ns();
	memcpy(stamp + 1, &t, sizeof(t));
	(void)!write(errpipe, stamp, sizeof(stamp));
	execve(l->python, argv, envp);
	child_fail(errpipe, "exec python");
	_exit(127);
}

/* Receives one message; fds (if any) go to fds.  Returns its size or -1. */
static ssize_t
ctl_recv(void *buf, size_t len, int fds[PROTO_NFDS], int *nfds)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * PROTO_NFDS)];
		struct cmsghdr	align;
	} cbuf;
	struct iovec	 iov = { buf, len };
	struct msghdr	 msg = { 0 };
	struct cmsghdr	*c;
	ssize_t		 n;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	*nfds = 0;
	n = recvmsg(CTL_FD, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		*nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)*nfds);
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -1;
	return n;
}

static void
ctl_send(const void *buf, size_t len)
{
	if (send(CTL_FD, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		exit(0);	/* the worker is gone: the master remakes us */
}

static void
ctl_pong(void)
{
	static const struct proto_hdr pong = { PROTO_MAGIC, PROTO_PONG };

	ctl_send(&pong, sizeof(pong));
}

/* Kills everything in the namespace but us and reaps it all. */
static void
launcher_sweep(pid_t runner, int *runner_status, bool *runner_done)
{
	int	st;
	pid_t	p;

	(void)kill(-1, SIGKILL);
	while ((p = waitpid(-1, &st, __WALL)) > 0 || (p < 0 && errno == EINTR))
		if (p == runner && !*runner_done) {
			*runner_status = st;
			*runner_done = true;
		}
}

/* After a sweep: is the launcher the only process of the namespace? */
static bool
only_pid1_left(void)
{
	DIR		*d = opendir("/proc");
	struct dirent	*e;
	bool		 clean = d != NULL;

	while (clean && (e = readdir(d)) != NULL)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
		    strcmp(e->d_name, "1") != 0)
			clean = false;
	if (d != NULL)
		closedir(d);
	return clean;
}

/* Reaps what has exited without blocking; true once the runner has. */
static bool
launcher_reap(const struct launcher *l, pid_t runner, int *status)
{
	struct signalfd_siginfo	si;
	bool			done = false;
	pid_t			p;
	int			st;

	while (read(l->sigfd, &si, sizeof(si)) > 0)
		;
	while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
		if (p == runner) {
			*status = st;
			done = true;
		}
	return done;
}

struct run_state {
	pid_t		pid;
	int		status;
	bool		done;
	uint32_t	flags;
	uint64_t	t0, deadline, end, kill_at, setup_ns;
};

/* Starts the run; returns once python is exec'd (or could not be). */
static void
run_start(struct launcher *l, struct run_state *rs, int fds[PROTO_NFDS])
{
	int	 errp[2], i;
	char	 msg[192], *why;
	size_t	 len = 0;
	ssize_t	 n;
	uint64_t t_exec;

	if (pipe2(errp, O_CLOEXEC) != 0)
		err(1, "pipe2");
	rs->t0 = now_ns();
	if ((rs->pid = fork()) < 0)
		err(1, "fork");
	if (rs->pid == 0) {
		close(errp[0]);
		launcher_child(l, fds, errp[1]);
	}
	for (i = 0; i < PROTO_NFDS; i++)
		close(fds[i]);
	close(errp[1]);
	while (len < sizeof(msg) - 1 &&
	    ((n = read(errp[0], msg + len, sizeof(msg) - 1 - len)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	close(errp[0]);
	msg[len] = '\0';
	if (len == 1 + sizeof(t_exec) && msg[0] == 'T') {
		memcpy(&t_exec, msg + 1, sizeof(t_exec));
		rs->setup_ns = t_exec - rs->t0;
	} else {
		char	line[256];

		why = memchr(msg, '!', len);
		snprintf(line, sizeof(line), "run did not start: %s",
		    why != NULL ? why + 1 : "the child died");
		launcher_log("error", line);
		rs->flags |= PROTO_DONE_NOEXEC;
	}
}

/*
 * Waits for the runner to exit, the deadline, or a PROTO_KILL, answering
 * PROTO_PING meanwhile.  A protocol error or a closed socket ends us.
 */
static void
run_wait(struct launcher *l, struct run_state *rs)
{
	struct pollfd	 pfd[2] = { { CTL_FD, POLLIN, 0 }, { l->sigfd, POLLIN, 0 } };
	uint64_t	 now;
	union proto_msg	 m;
	int		 fds[PROTO_NFDS], nfds, i;
	ssize_t		 n;

	while (!rs->done) {
		now = now_ns();
		if (now >= rs->deadline) {
			rs->kill_at = now;
			rs->flags |= PROTO_DONE_TIMEOUT;
			return;
		}
		if (poll(pfd, 2, (int)((rs->deadline - now + 999999) / 1000000)) < 0) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfd[1].revents && launcher_reap(l, rs->pid, &rs->status)) {
			rs->done = true;
			rs->end = now_ns();
			return;
		}
		if (!pfd[0].revents)
			continue;
		n = ctl_recv(&m, sizeof(m), fds, &nfds);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (n != (ssize_t)sizeof(struct proto_hdr) || nfds != 0 ||
		    m.hdr.magic != PROTO_MAGIC) {
			kill(-1, SIGKILL);
			exit(n <= 0 ? 0 : 2);
		}
		if (m.hdr.op == PROTO_KILL) {
			rs->kill_at = now_ns();
			rs->flags |= PROTO_DONE_KILLED;
			return;
		}
		if (m.hdr.op != PROTO_PING) {
			kill(-1, SIGKILL);
			exit(2);
		}
		ctl_pong();
	}
}

static void
launcher_run(struct launcher *l, const struct proto_run *req,
    int fds[PROTO_NFDS])
{
	struct run_state	rs = { 0 };
	struct proto_done	done = { { PROTO_MAGIC, PROTO_DONE }, 0, 0, 0, 0, 0 };

	run_start(l, &rs, fds);
	rs.deadline = rs.t0 + (uint64_t)req->timeout_ms * 1000000ULL;
	if (!(rs.flags & PROTO_DONE_NOEXEC))
		run_wait(l, &rs);
	launcher_sweep(rs.pid, &rs.status, &rs.done);
	if (rs.end == 0)
		rs.end = now_ns();
	if (!only_pid1_left())
		rs.flags |= PROTO_DONE_DIRTY;
	if (root_tmpfs_wipe(&l->root, "/tmp") != 0 ||
	    root_tmpfs_wipe(&l->root, "/dev/shm") != 0)
		rs.flags |= PROTO_DONE_DIRTY;
	done.wstatus = rs.status;
	done.flags = rs.flags;
	done.wall_ns = rs.end - rs.t0;
	done.overshoot_ns = rs.kill_at > rs.deadline && rs.deadline != 0 ?
	    rs.kill_at - rs.deadline : 0;
	done.setup_ns = rs.setup_ns;
	ctl_send(&done, sizeof(done));
}

/* Between runs: a run request, a ping, or the end. */
static void
launcher_loop(struct launcher *l)
{
	union proto_msg	 m;
	int		 fds[PROTO_NFDS], nfds, i;
	ssize_t		 n;
	int		 st;
	bool		 dummy = false;

	for (;;) {
		n = ctl_recv(&m, sizeof(m), fds, &nfds);
		if (n <= 0)
			exit(0);
		if (m.hdr.magic == PROTO_MAGIC && m.hdr.op == PROTO_RUN &&
		    n == (ssize_t)sizeof(m.run) && nfds == PROTO_NFDS &&
		    m.run.timeout_ms > 0) {
			launcher_run(l, &m.run, fds);
			continue;
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (m.hdr.magic == PROTO_MAGIC && m.hdr.op == PROTO_PING &&
		    n == (ssize_t)sizeof(m.hdr) && nfds == 0) {
			/* Reap anything that outlived a sweep (there should be none). */
			launcher_sweep(-1, &st, &dummy);
			ctl_pong();
			continue;
		}
		if (m.hdr.op == PROTO_KILL && n == (ssize_t)sizeof(m.hdr))
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
		{ NULL, 0, NULL, 0 },
	};
	struct launcher	 l = { 0 };
	int		 c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			l.run_uid = l.run_gid = (uid_t)num_arg(optarg, "uid");
			break;
		case 'p': l.python = optarg; break;
		case 't': l.root.tmp_size = num_arg(optarg, "tmp-size"); break;
		case 'f': l.fsize = num_arg(optarg, "fsize"); break;
		case 'n': l.nofile = num_arg(optarg, "nofile"); break;
		case 'P': l.nproc = num_arg(optarg, "nproc"); break;
		default:
			errx(1, "usage: pyexec-launcher --uid N --python PATH "
			    "--tmp-size N --fsize N --nofile N --nproc N");
		}
	}
	if (l.run_uid == 0 || l.python == NULL || l.root.tmp_size == 0 ||
	    l.fsize == 0 || l.nofile == 0 || l.nproc == 0)
		errx(1, "missing or zero argument (the run uid must not be 0)");
	if (fcntl(CTL_FD, F_GETFD) < 0 || fcntl(RUNNER_FD, F_GETFD) < 0)
		errx(1, "fd 3 must be the control socket and fd 4 the runner");
	l.root.run_uid = l.run_uid;
	l.root.run_gid = l.run_gid;
	launcher_setup(&l);
	launcher_loop(&l);
	return 0;
}
