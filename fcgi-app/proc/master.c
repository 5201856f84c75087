/*
 * pyexec-fcgi: the master of the worker pool.
 *
 * Theory of operation.  spawn-fcgi execs this program as root with the
 * listening FastCGI socket on fd 0.  The processes, and what each may do:
 *
 *   master (root)     reads the configuration, checks it may serve (root,
 *                     its backend secret good (trust.c), fd 0 listening,
 *                     the workers' user exists, the slots' uids are
 *                     free), makes one slot per worker (sandbox/host/slot.c:
 *                     a cgroup and a launcher that is pid 1 of fresh
 *                     namespaces), forks the workers and waits until every
 *                     one has proved its slot with a self-test.  If any
 *                     step fails it removes what it made and exits non-zero
 *                     with the reason: no sandbox, no service.  Then it only
 *                     supervises: a dead worker or launcher gets its slot's
 *                     launcher and worker made again, with a backoff when
 *                     they die young.  SIGTERM drains without losing a
 *                     request (master_drain()).  The master never reads a
 *                     request.
 *   front (user)      fcgi-app/proc/front.c: drops to PYEXEC_USER, owns fd 0
 *                     (the listening socket), hands each connection to an
 *                     idle worker over its channel, 503 past the queue's
 *                     bounds, answers the public /health and /metrics.
 *   worker (user)     fcgi-app/proc/worker.c: drops to PYEXEC_USER, takes
 *                     connections from its channel, one request at a
 *                     time, runs code in its slot.
 *   launcher (pid 1)  sandbox/jail/launcher.c: forks and reaps the runs.
 *   guard (root)      fcgi-app/proc/guard.c: sleeps until the master ends; if
 *                     it died without removing its slots, kills what is
 *                     left in their cgroups and removes them.
 *   store (root)      sandbox/host/store.c: the workspaces (PYEXEC_WORKSPACES):
 *                     makes, mounts, leases and expires them; answers the
 *                     workers over a channel per slot (made and kept here
 *                     like the front's); made again if it dies.  It proves
 *                     it can make a workspace before the slots start.
 *
 * The master, the front and the workers share one table (struct shared)
 * for /health and the metrics; pids and restarts are the master's, states
 * the workers'.  The channels (one socketpair per slot) are made once and
 * kept here, so that they outlive the restarts of either end.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/filter.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libcgroup.h>

#include "proc.h"
#include "sandbox.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	10000
#define YOUNG_MS	2000	/* a worker that dies younger backs off */
#define READY_WAIT_MS	60000

struct master_slot {
	struct slot	 slot;
	pid_t		 worker_pid;
	int64_t		 started_ms;	/* when the worker was forked */
	int64_t		 restart_at_ms;	/* 0: not scheduled */
	int		 backoff_ms;
};

struct master {
	struct pyexec_config	 cfg;
	struct slot_opts	 opts;		/* the slots' share of cfg */
	bool			 warned_fifo;
	uid_t			 worker_uid;
	gid_t			 worker_gid;
	enum sb_cgversion	 cgv;
	struct shared		*sh;		/* owned: shared mapping */
	size_t			 sh_len;
	struct master_slot	*ms;		/* owned: cfg.workers of them */
	int			*chan;		/* owned: the front's ends of the
						 * channels, one per slot */
	int			*wchan;		/* owned: the workers' ends */
	pid_t			 front_pid;
	int64_t			 front_started_ms, front_restart_at_ms;
	bool			 draining;
	char			 cg_base[400];	/* "" or the v2 "path/" */
	int			 guard_fd;	/* the guard's pipe, or -1 */
	int			*ws_store;	/* owned: the store's ends of the
						 * workspace channels, or NULL */
	int			*ws_worker;	/* owned: the workers' ends */
	struct store_opts	 store;		/* the store's share of cfg */
	struct ss_opts		 sessions;	/* its live sessions' share */
	pid_t			 store_pid;
	int64_t			 store_started_ms, store_restart_at_ms;
	struct master_listen {			/* fd 0, as found at start */
		bool	 inet;		/* TCP: drained with a filter */
		char	 path[108];	/* unix: its path ("": abstract) */
		dev_t	 dev;		/* and the file's identity */
		ino_t	 ino;
	} lsn;
};

/* What the slots are made with, from the configuration. */
static void
master_slot_opts(struct master *m)
{
	const struct pyexec_config *c = &m->cfg;

	m->opts = (struct slot_opts){
		.cgroup_base = m->cg_base,
		.instance = c->instance, .uid_base = c->uid_base,
		.max_pids = c->max_pids, .tmp_size = c->tmp_size,
		.max_file_size = c->max_file_size,
		.max_open_files = c->max_open_files,
		.launcher_path = c->launcher_path, .runner_path = c->runner_path,
		.python_path = c->python_path, .warm = c->warm,
		.zygote_path = c->zygote_path, .preload = c->preload,
		.warm_max_runs = c->warm_max_runs,
		.warm_max_age = c->warm_max_age,
		.session_uid_base = c->uid_base + 2 * c->workers,
		.sessions = c->workspaces && c->sessions ? c->ss_max : 0,
	};
}

static void __attribute__((noreturn, format(printf, 1, 2)))
master_die(const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg("fatal", "startup", "refusing to serve: %s", msg);
	drop_exit(1);		/* exit(), LeakSanitizer-ready (not dumpable) */
}

/*
 * Crashing runs must not start a helper on the host.  With a file
 * core_pattern RLIMIT_CORE stops the dump; with a pipe (systemd-coredump,
 * apport) the kernel ignores the limit except for the value 1, which the
 * runs get and cannot change (the seccomp policy).  A socket core_pattern
 * ("@", Linux 6.16) honours neither: refuse it.
 */
static void
master_core_pattern(void)
{
	char	buf[256] = "";
	FILE	*f = fopen("/proc/sys/kernel/core_pattern", "re");

	if (f == NULL)
		master_die("/proc/sys/kernel/core_pattern: %s", strerror(errno));
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	if (buf[0] == '@')
		master_die("kernel.core_pattern sends core dumps to a socket "
		    "(%.*s): a crashing run would reach its daemon whatever its "
		    "limits; set a file or pipe core_pattern", (int)strcspn(buf,
		    "\n"), buf);
	if (buf[0] == '|')
		log_msg("info", "startup", "kernel.core_pattern is a pipe: runs "
		    "get RLIMIT_CORE 1, which keeps the kernel from starting "
		    "its helper for them");
}

/*
 * Before anything else: the master holds the LLM key for as long as it
 * runs (it forks the workers again), so it is not dumpable (no core file
 * whatever fs.suid_dumpable says, no ptrace or /proc/PID/mem but with
 * CAP_SYS_PTRACE) and every process it starts inherits RLIMIT_CORE 1
 * (soft and hard), the value that also stops a core_pattern pipe, under
 * systemd (LimitCORE=1) or spawn-fcgi from a shell alike.  Not 0: a hard
 * limit of 0 could not be raised to the runs' 1 (runstep.c).
 */
static void
master_no_core(void)
{
	struct rlimit	rl;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		master_die("PR_SET_DUMPABLE: %s", strerror(errno));
	if (getrlimit(RLIMIT_CORE, &rl) != 0)
		master_die("RLIMIT_CORE: %s", strerror(errno));
	if (rl.rlim_max < 1)
		master_die("the hard RLIMIT_CORE is 0: the runs need 1, the "
		    "value that aborts a core_pattern pipe (LimitCORE=1, "
		    "ulimit -Hc 1)");
	rl.rlim_cur = rl.rlim_max = 1;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		master_die("RLIMIT_CORE: %s", strerror(errno));
}

/* What fd 0 is, for the drain: TCP, or a unix socket's path and file. */
static void
master_listener(struct master_listen *l)
{
	struct sockaddr_un	 su;
	socklen_t		 len = sizeof(su);
	struct stat		 st;

	memset(l, 0, sizeof(*l));
	memset(&su, 0, sizeof(su));
	if (getsockname(0, (struct sockaddr *)&su, &len) != 0)
		return;
	l->inet = su.sun_family == AF_INET || su.sun_family == AF_INET6;
	if (su.sun_family != AF_UNIX || su.sun_path[0] == '\0' ||
	    len <= offsetof(struct sockaddr_un, sun_path))
		return;
	memcpy(l->path, su.sun_path, len - offsetof(struct sockaddr_un,
	    sun_path));
	l->path[sizeof(l->path) - 1] = '\0';
	if (stat(l->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	} else
		l->path[0] = '\0';
}

/*
 * The first step of a drain: no new connection reaches this backend, while
 * those the kernel already queued stay (closing the socket would reset
 * them after nginx sent their request, which it must not retry).  A unix
 * socket's path goes (if it is still ours): connect() fails, and nginx
 * passes the request to another backend.  A TCP listener gets a socket
 * filter that drops every packet: new SYNs go unanswered (the client's
 * retransmission, a second later, finds the port closed and is refused),
 * the established connections in the accept queue are unaffected.
 */
static void
master_stop_intake(const struct master_listen *l)
{
	static struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog	prog = { 1, drop };
	struct stat		st;

	if (l->path[0] != '\0' && stat(l->path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino && unlink(l->path) != 0)
		log_msg("warning", "shutdown", "%s: %s", l->path, strerror(errno));
	if (l->inet && setsockopt(0, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) != 0)
		log_msg("warning", "shutdown", "the listening socket's filter: "
		    "%s", strerror(errno));
}

/*
 * The backend secret nginx proves itself with (trust.c), read as root
 * before anything is made or forked: without it nothing could tell nginx
 * from anyone else who reaches the socket, so the master does not serve.
 * The front and the workers inherit it in memory, never the environment.
 */
static void
master_trust(struct master *m)
{
	char	err[1024];

	if (trust_load(&m->cfg.backend_secret, m->cfg.backend_secret_file,
	    err, sizeof(err)) != 0)
		master_die("PYEXEC_BACKEND_SECRET_FILE %s", err);
}

/*
 * nginx makes its workers dumpable: where Yama is off or ptrace_scope is
 * 0, any process of their user (www-data on Debian: every web application
 * of the host) may read their memory, and the secret in it.  With a unix
 * socket nginx is on this host: say so.
 */
static void
master_trust_ptrace(const struct master *m)
{
	FILE	*f;
	int	 scope = 0;

	if (m->lsn.inet)
		return;
	if ((f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re")) != NULL) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = 0;
		fclose(f);
	}
	if (scope == 0)
		log_msg("warning", "startup", "kernel.yama.ptrace_scope is 0 or "
		    "Yama is off: any process of nginx's worker user (www-data: "
		    "every web application of the host) can read nginx's memory, "
		    "the backend secret in it, and act as nginx; set "
		    "kernel.yama.ptrace_scope=1, or give nginx's workers a user "
		    "of their own (docs/security.md, \"Who is believed\")");
}

/* Checks that may refuse the start, before anything is made. */
static void
master_preflight(struct master *m)
{
	char		 err[512];
	struct passwd	*pw;
	int		 on = 0;
	socklen_t	 len = sizeof(on);
	unsigned	 i;

	if (config_load(&m->cfg, err, sizeof(err)) != PYEXEC_OK)
		master_die("configuration: %s", err);
	config_wipe_key_env();	/* m->cfg.llm_key is the one copy left */
	if (geteuid() != 0)
		master_die("pyexec-fcgi must start as root (it makes cgroups "
		    "and namespaces, then drops privileges)");
	master_trust(m);
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 || !on)
		master_die("fd 0 is not a listening socket: start pyexec-fcgi "
		    "through spawn-fcgi");
	if ((pw = getpwnam(m->cfg.user)) == NULL)
		master_die("PYEXEC_USER %s does not exist", m->cfg.user);
	if (pw->pw_uid == 0)
		master_die("PYEXEC_USER must not be root");
	m->worker_uid = pw->pw_uid;
	m->worker_gid = pw->pw_gid;
	for (i = 0; i < 2 * m->cfg.workers + (m->cfg.sessions ?
	    m->cfg.ss_max : 0); i++) {
		uid_t u = m->cfg.uid_base + i;

		if ((pw = getpwuid(u)) != NULL || u == m->worker_uid)
			master_die("PYEXEC_UID_BASE: run uid %u belongs to user "
			    "%s; choose a range no account uses", (unsigned)u,
			    pw != NULL ? pw->pw_name : m->cfg.user);
	}
	if (access(m->cfg.launcher_path, X_OK) != 0)
		master_die("launcher %s: %s", m->cfg.launcher_path,
		    strerror(errno));
	if (access(m->cfg.python_path, X_OK) != 0)
		master_die("python %s: %s", m->cfg.python_path, strerror(errno));
	if (sb_cgroup_init(&m->cgv, m->cg_base, sizeof(m->cg_base), err,
	    sizeof(err)) != 0)
		master_die("cgroups: %s", err);
	master_listener(&m->lsn);
	master_trust_ptrace(m);
	master_core_pattern();
	master_slot_opts(m);
	nginxgeo_check(&m->cfg);
	if (m->cfg.llm_key != NULL && config_llm_cleartext(m->cfg.llm_url))
		log_msg("warning", "startup", "PYEXEC_LLM_URL is http:// to a "
		    "host that is not this machine: the LLM key would travel "
		    "in clear text; use https://");
}

/*
 * One channel per slot between the front and the slot's worker, made once
 * and kept open here, so that it outlives the restarts of either side (a
 * connection handed to a worker that died waits for the next one).
 */
static void
master_channels(struct master *m)
{
	unsigned	i;
	int		sv[2];

	for (i = 0; i < m->cfg.workers; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			master_die("socketpair: %s", strerror(errno));
		m->chan[i] = sv[0];
		m->wchan[i] = sv[1];
	}
}

/* Closes the workspace channels in a child, but for slot keep's worker end. */
static void
master_close_ws(struct master *m, int keep)
{
	unsigned	i;

	for (i = 0; m->ws_store != NULL && i < m->cfg.workers; i++) {
		close(m->ws_store[i]);
		if ((int)i != keep)
			close(m->ws_worker[i]);
	}
}

/* The store's log lines: {"event": "workspace", "message": ...}. */
static void
master_store_log(const char *level, const char *msg)
{
	log_msg(level, "workspace", "%s", msg);
}

/*
 * Forks the store (sandbox/host/store.c) and waits for its word: "ok" once it
 * has made, mounted and idmapped a probe workspace, else why not.  0, or
 * -1 with the reason in err.
 */
static int
master_fork_store(struct master *m, char *err, size_t errlen)
{
	int		 p[2], nul;
	unsigned	 i;
	pid_t		 pid;
	char		 word[512];
	ssize_t		 n;
	struct pollfd	 pfd;

	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		for (i = 0; i < m->cfg.workers; i++) {
			close(m->wchan[i]);
			close(m->chan[i]);
			close(m->ws_worker[i]);
			if (m->ms[i].slot.ctl_fd >= 0)
				close(m->ms[i].slot.ctl_fd);
		}
		if (m->guard_fd >= 0)
			close(m->guard_fd);
		if ((nul = open("/dev/null", O_RDONLY)) >= 0 && nul != 0) {
			dup2(nul, 0);	/* never the listening socket */
			close(nul);
		}
		config_free(&m->cfg);	/* the LLM key and the backend secret:
					 * wiped, neither is the store's */
		store_main(&m->store, m->ws_store, p[1]);
	}
	close(p[1]);
	m->store_pid = pid;
	m->store_started_ms = clock_mono_ms();
	pfd = (struct pollfd){ p[0], POLLIN, 0 };
	while ((n = poll(&pfd, 1, READY_WAIT_MS)) < 0 && errno == EINTR)
		;
	n = n > 0 ? read(p[0], word, sizeof(word) - 1) : -1;
	close(p[0]);
	if (n == 2 && memcmp(word, "ok", 2) == 0)
		return 0;
	if (n > 0) {
		word[n] = '\0';
		snprintf(err, errlen, "%s", word);
	} else
		snprintf(err, errlen, "the store did not start");
	kill(pid, SIGKILL);
	return -1;
}

/* The store at start: its channels, its options, its proof (fail closed:
 * PYEXEC_WORKSPACES=0 is the way to serve without workspaces). */
static void
master_store(struct master *m)
{
	const struct pyexec_config *c = &m->cfg;
	char		err[512];
	unsigned	i;
	int		sv[2];

	if (!c->workspaces)
		return;
	if ((m->ws_store = calloc(c->workers, sizeof(int))) == NULL ||
	    (m->ws_worker = calloc(c->workers, sizeof(int))) == NULL)
		master_die("out of memory");
	for (i = 0; i < c->workers; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			master_die("socketpair: %s", strerror(errno));
		m->ws_store[i] = sv[0];
		m->ws_worker[i] = sv[1];
	}
	m->store = (struct store_opts){ .dir = c->workspace_dir,
	    .instance = c->instance, .nslots = c->workers,
	    .uid_base = c->uid_base, .max_bytes = c->ws_max_bytes,
	    .max_files = c->ws_max_files, .per_client = c->ws_per_client,
	    .max_total = c->ws_max_total, .idle_s = c->ws_idle,
	    .max_age_s = c->ws_max_age, .sweep_s = c->ws_sweep,
	    .mounts = c->ws_mounts, .min_free = c->ws_min_free,
	    .create_rate = c->ws_create_rate,
	    .create_burst = c->ws_create_burst,
	    .stats = &m->sh->ws, .log = master_store_log };
	if (c->sessions) {
		m->sessions = (struct ss_opts){ .instance = c->instance,
		    .cgroup_base = m->cg_base, .version = m->cgv,
		    .uid_base = m->opts.session_uid_base,
		    .owner = m->worker_uid, .group = m->worker_gid,
		    .max = c->ss_max, .per_client = c->ss_per_client,
		    .idle_s = c->ss_idle, .max_age_s = c->ss_max_age,
		    .max_pids = c->max_pids, .stats = &m->sh->ss };
		m->store.sessions = &m->sessions;
		log_msg("info", "session", "live sessions: at most %u on this "
		    "host (PYEXEC_SESSIONS_MAX), %u per client, idle %u s, "
		    "age %u s; host uids %u-%u", c->ss_max, c->ss_per_client,
		    c->ss_idle, c->ss_max_age,
		    (unsigned)m->opts.session_uid_base,
		    (unsigned)(m->opts.session_uid_base + c->ss_max - 1));
	}
	if (master_fork_store(m, err, sizeof(err)) != 0)
		master_die("workspaces (PYEXEC_WORKSPACES=0 turns them off): %s",
		    err);
}

/* Forks the front (front.c): it owns fd 0, the listening socket. */
static int
master_fork_front(struct master *m)
{
	unsigned	i;
	pid_t		pid;

	if ((pid = fork()) < 0) {
		log_msg("error", "front", "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		m->front_pid = pid;
		m->front_started_ms = clock_mono_ms();
		return 0;
	}
	for (i = 0; i < m->cfg.workers; i++) {
		close(m->wchan[i]);
		if (m->ms[i].slot.ctl_fd >= 0)
			close(m->ms[i].slot.ctl_fd);
	}
	master_close_ws(m, -1);
	if (m->guard_fd >= 0)
		close(m->guard_fd);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		_exit(1);
	config_forget_llm_key(&m->cfg);	/* not the front's (the backend
					 * secret is: it checks it) */
	front_main(&m->cfg, m->sh, m->chan);
}

static void
master_shared(struct master *m)
{
	m->sh_len = sizeof(struct shared) +
	    m->cfg.workers * sizeof(struct shared_slot);
	m->sh = mmap(NULL, m->sh_len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->sh == MAP_FAILED)
		master_die("mmap: %s", strerror(errno));
	m->sh->nslots = m->cfg.workers;
	m->sh->cgversion = m->cgv;
	if ((m->ms = calloc(m->cfg.workers, sizeof(*m->ms))) == NULL ||
	    (m->chan = calloc(m->cfg.workers, sizeof(int))) == NULL ||
	    (m->wchan = calloc(m->cfg.workers, sizeof(int))) == NULL)
		master_die("out of memory");
	master_channels(m);
}

/* Forks slot i's worker.  The child never returns. */
static int
master_fork_worker(struct master *m, unsigned i)
{
	struct master_slot	*s = &m->ms[i];
	struct run_slot		 rs;
	struct worker		 w;
	unsigned		 j;
	pid_t			 pid;
	int			 nul;

	m->sh->slot[i].state = SLOT_STARTING;
	if ((pid = fork()) < 0) {
		log_msg("error", "worker", "slot %u: fork: %s", i, strerror(errno));
		return -1;
	}
	if (pid > 0) {
		s->worker_pid = pid;
		s->started_ms = clock_mono_ms();
		m->sh->slot[i].worker_pid = pid;
		return 0;
	}
	/* Worker: keep only this slot's control socket and channel; the
	 * listening socket is the front's alone. */
	for (j = 0; j < m->cfg.workers; j++) {
		if (j != i && m->ms[j].slot.ctl_fd >= 0)
			close(m->ms[j].slot.ctl_fd);
		if (j != i)
			close(m->wchan[j]);
		close(m->chan[j]);
	}
	master_close_ws(m, (int)i);
	if (m->guard_fd >= 0)
		close(m->guard_fd);
	if ((nul = open("/dev/null", O_RDONLY)) < 0 || dup2(nul, 0) != 0)
		_exit(1);
	if (nul != 0)
		close(nul);
	memset(&rs, 0, sizeof(rs));
	rs.ctl_fd = s->slot.ctl_fd;
	rs.cg = &s->slot.cg;
	w = (struct worker){ .env = { .cfg = &m->cfg, .rs = &rs,
	    .met = &m->sh->met, .slot = &m->sh->slot[i], .id = i,
	    .store = m->ws_worker != NULL ? m->ws_worker[i] : -1 },
	    .sh = m->sh, .chan = m->wchan[i] };
	worker_main(&w);
}

/* A slot whose cgroup something outside removed (an administrator, a
 * cleanup tool) gets a new one before its launcher is made again. */
static int
master_slot_cgroup(struct master *m, unsigned i, char *err, size_t errlen)
{
	struct master_slot	*s = &m->ms[i];

	if (sb_cgroup_intact(&s->slot.cg))
		return 0;
	log_msg("warning", "slot", "slot %u: its cgroup %s was removed from "
	    "outside: making it again", i, s->slot.cg.name);
	(void)slot_destroy(&s->slot);	/* what is left of it, if anything */
	s->slot.cg.version = m->cgv;
	return slot_create(&s->slot, i, &m->opts, m->worker_uid,
	    m->worker_gid, err, errlen);
}

/* (Re)starts slot i's launcher and worker. */
static int
master_start_slot(struct master *m, unsigned i)
{
	struct master_slot	*s = &m->ms[i];
	char			 err[512];

	slot_stop_launcher(&s->slot);
	if (master_slot_cgroup(m, i, err, sizeof(err)) != 0) {
		log_msg("error", "slot", "%s", err);
		m->sh->slot[i].state = SLOT_DOWN;
		return -1;
	}
	if (slot_start_launcher(&s->slot, &m->opts, err, sizeof(err)) != 0) {
		log_msg("error", "slot", "%s", err);
		m->sh->slot[i].state = SLOT_DOWN;
		return -1;
	}
	if (!s->slot.fifo && !m->warned_fifo) {
		log_msg("warning", "slot", "the launcher cannot run SCHED_FIFO "
		    "(%s): using nice -10; a run at its CPU quota may delay its "
		    "kill", s->slot.cg.rt_why);
		m->warned_fifo = true;
	}
	m->sh->slot[i].launcher_pid = s->slot.launcher_pid;
	if (master_fork_worker(m, i) != 0) {
		slot_stop_launcher(&s->slot);
		return -1;
	}
	/* The worker has its copy of the control socket; ours goes. */
	close(s->slot.ctl_fd);
	s->slot.ctl_fd = -1;
	return 0;
}

/* Stops the workers, removes the slots and the instance's cgroups. */
static void
master_teardown(struct master *m)
{
	char		 name[512];
	unsigned	 i;

	if (m->front_pid > 0) {
		kill(m->front_pid, SIGKILL);
		waitpid(m->front_pid, NULL, 0);
		m->front_pid = 0;
	}
	if (m->store_pid > 0) {
		kill(m->store_pid, SIGKILL);
		waitpid(m->store_pid, NULL, 0);
		m->store_pid = 0;
	}
	for (i = 0; m->ms != NULL && i < m->cfg.workers; i++) {
		if (m->ms[i].worker_pid > 0) {
			kill(m->ms[i].worker_pid, SIGKILL);
			waitpid(m->ms[i].worker_pid, NULL, 0);
			m->ms[i].worker_pid = 0;
		}
		if (m->ms[i].slot.cg.lcg != NULL &&
		    slot_destroy(&m->ms[i].slot) != 0)
			log_msg("warning", "slot", "slot %u: its cgroup could not "
			    "be removed", i);
	}
	/* The live sessions' cgroups (their interpreters ended with the
	 * slots' launchers, pid 1 of their namespaces), and the freezer's. */
	snprintf(name, sizeof(name), "%spyexec/%s/sessions", m->cg_base,
	    m->cfg.instance);
	if (sb_cgroup_sweep(m->cgv, name, 2000) != 0)
		log_msg("warning", "session", "cgroup %s could not be removed",
		    name);
	sb_cgroup_freezer_drop(m->cgv, m->cfg.instance);
	snprintf(name, sizeof(name), "%spyexec/%s", m->cg_base,
	    m->cfg.instance);
	sb_cgroup_remove(m->cgv, name);
	snprintf(name, sizeof(name), "%spyexec", m->cg_base);
	sb_cgroup_remove(m->cgv, name);	/* fails while others use it */
	guard_done(m->guard_fd);	/* nothing left for it to remove */
	m->guard_fd = -1;
}

/* The guard (guard.c), before any slot is made. */
static void
master_guard(struct master *m)
{
	char	name[512];

	snprintf(name, sizeof(name), "%spyexec/%s", m->cg_base,
	    m->cfg.instance);
	if ((m->guard_fd = guard_start(m->cgv, name, &m->cfg)) < 0)
		master_die("the guard: %s", strerror(errno));
}

/* Makes every slot and worker and waits for all to pass the self-test. */
static void
master_start(struct master *m)
{
	char		err[512];
	unsigned	i, ready;
	int64_t		until;

	for (i = 0; i < m->cfg.workers; i++) {
		m->ms[i].slot.cg.version = m->cgv;
		m->ms[i].slot.ctl_fd = -1;
		if (slot_create(&m->ms[i].slot, i, &m->opts, m->worker_uid,
		    m->worker_gid, err, sizeof(err)) != 0) {
			master_teardown(m);
			master_die("%s", err);
		}
	}
	for (i = 0; i < m->cfg.workers; i++)
		if (master_start_slot(m, i) != 0) {
			master_teardown(m);
			master_die("slot %u could not be started (see above)", i);
		}
	until = clock_mono_ms() + READY_WAIT_MS;
	do {
		for (ready = 0, i = 0; i < m->cfg.workers; i++) {
			int st = m->sh->slot[i].state;
			int wst;

			if (st == SLOT_READY || st == SLOT_BUSY)
				ready++;
			else if (st == SLOT_FAILED ||
			    waitpid(m->ms[i].worker_pid, &wst, WNOHANG) != 0) {
				m->ms[i].worker_pid = 0;
				master_teardown(m);
				master_die("slot %u failed its self-test (see above)", i);
			}
		}
		if (ready < m->cfg.workers)
			usleep(5000);
	} while (ready < m->cfg.workers && clock_mono_ms() < until);
	if (ready < m->cfg.workers) {
		master_teardown(m);
		master_die("the slots did not become ready in %d s",
		    READY_WAIT_MS / 1000);
	}
	if (master_fork_front(m) != 0) {
		master_teardown(m);
		master_die("the front could not be started");
	}
}

static int
slot_of_pid(struct master *m, pid_t pid, bool *is_worker)
{
	unsigned	i;

	for (i = 0; i < m->cfg.workers; i++) {
		if (m->ms[i].worker_pid == pid) {
			*is_worker = true;
			return (int)i;
		}
		if (m->ms[i].slot.launcher_pid == pid) {
			*is_worker = false;
			return (int)i;
		}
	}
	return -1;
}

static void
master_schedule(struct master *m, unsigned i)
{
	struct master_slot	*s = &m->ms[i];
	int64_t			 now = clock_mono_ms();

	if (now - s->started_ms < YOUNG_MS)
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	else
		s->backoff_ms = 0;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->restart_at_ms = now + s->backoff_ms;
	m->sh->slot[i].state = SLOT_DOWN;
}

/* A child died: find whose, and arrange for its slot to come back. */
static void
master_reap(struct master *m)
{
	pid_t	pid;
	int	st, i;
	bool	is_worker;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == m->front_pid) {
			m->front_pid = 0;
			if (m->draining && !(WIFEXITED(st) &&
			    WEXITSTATUS(st) == 0))
				log_msg("error", "shutdown", "the front %d ended "
				    "during the drain (%s %d)", (int)pid,
				    WIFEXITED(st) ? "exit" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) :
				    WTERMSIG(st));
			if (!m->draining) {
				metrics_add(&m->sh->met.front_restarts, 1);
				log_msg("error", "front", "the front %d ended (%s "
				    "%d); making it again", (int)pid,
				    WIFEXITED(st) ? "exit" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				m->front_restart_at_ms = clock_mono_ms() +
				    (clock_mono_ms() - m->front_started_ms <
				    YOUNG_MS ? BACKOFF_MAX_MS / 10 : 0);
			}
			continue;
		}
		if (pid == m->store_pid) {
			m->store_pid = 0;
			if (!m->draining) {
				metrics_add(&m->sh->met.store_restarts, 1);
				log_msg("error", "workspace", "the store %d ended "
				    "(%s %d); making it again", (int)pid,
				    WIFEXITED(st) ? "exit" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				m->store_restart_at_ms = clock_mono_ms() +
				    (clock_mono_ms() - m->store_started_ms <
				    YOUNG_MS ? BACKOFF_MAX_MS / 10 : 0);
			}
			continue;
		}
		if ((i = slot_of_pid(m, pid, &is_worker)) < 0)
			continue;
		if (is_worker) {
			if (!m->draining)
				metrics_add(&m->sh->met.worker_restarts, 1);
			m->ms[i].worker_pid = 0;
			m->sh->slot[i].worker_pid = 0;
			if (!m->draining)
				log_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 ?
				    "info" : "error", "worker", "slot %d: worker "
				    "%d ended (%s %d); making the slot again", i,
				    (int)pid, WIFEXITED(st) ? "exit" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		} else {
			m->ms[i].slot.launcher_pid = 0;
			m->sh->slot[i].launcher_pid = 0;
			if (!m->draining) {
				metrics_add(&m->sh->met.launcher_restarts, 1);
				log_msg("error", "slot", "slot %d: launcher %d died",
				    i, (int)pid);
				if (m->ms[i].worker_pid > 0)
					kill(m->ms[i].worker_pid, SIGTERM);
			}
		}
		if (!m->draining && m->ms[i].worker_pid == 0 &&
		    m->ms[i].restart_at_ms == 0)
			master_schedule(m, (unsigned)i);
	}
}

static void
master_restart_due(struct master *m)
{
	unsigned	i;
	int64_t		now = clock_mono_ms();

	if (m->front_pid == 0 && m->front_restart_at_ms != 0 &&
	    now >= m->front_restart_at_ms) {
		m->front_restart_at_ms = 0;
		if (master_fork_front(m) != 0)
			m->front_restart_at_ms = now + BACKOFF_MAX_MS / 10;
	}
	if (m->store_pid == 0 && m->store_restart_at_ms != 0 &&
	    now >= m->store_restart_at_ms) {
		char err[512];

		m->store_restart_at_ms = 0;
		if (master_fork_store(m, err, sizeof(err)) != 0) {
			log_msg("error", "workspace", "the store: %s", err);
			m->store_restart_at_ms = now + BACKOFF_MAX_MS / 10;
		}
	}

	for (i = 0; i < m->cfg.workers; i++) {
		struct master_slot *s = &m->ms[i];

		if (s->restart_at_ms == 0 || now < s->restart_at_ms)
			continue;
		s->restart_at_ms = 0;
		m->sh->slot[i].restarts++;
		metrics_add(&m->sh->met.slot_restarts, 1);
		if (master_start_slot(m, i) != 0) {
			s->started_ms = now;	/* a failed start backs off */
			master_schedule(m, i);
		}
	}
}

/*
 * --budget: the time budget of one request from this environment's
 * configuration, and what derives from it, as NAME=seconds lines: the
 * nginx template's fastcgi_read_timeout is filled from it (scripts/dev),
 * and the master's drain waits as long.
 */
/* The environment's configuration into c for a printing option; false
 * (said on stderr) if it is not valid.  c is freed by the caller. */
static bool
master_print_config(struct pyexec_config *c)
{
	char	err[512];

	if (config_load(c, err, sizeof(err)) == PYEXEC_OK)
		return true;
	fprintf(stderr, "pyexec-fcgi: configuration: %s\n", err);
	return false;
}

static int
master_print_budget(void)
{
	struct pyexec_config	c;
	int64_t			b;

	if (!master_print_config(&c)) {
		config_free(&c);
		return 1;
	}
	b = config_budget(&c);
	printf("request_budget=%lld\nfastcgi_read_timeout=%lld\ndrain=%lld\n",
	    (long long)((b + 999) / 1000),
	    (long long)((b + CONFIG_BUDGET_MARGIN_MS + 999) / 1000),
	    (long long)((b + CONFIG_BUDGET_MARGIN_MS + 999) / 1000));
	config_free(&c);
	return 0;
}

/*
 * --nginx-geo: the entries of nginx's geo block of keyless addresses
 * from this environment's PYEXEC_ANONYMOUS_FROM, read and judged by its
 * row as the worker's list is (config_nginx_geo); --nginx-geo-update:
 * the file of them the site includes, made current (nginxgeo.c).  Only
 * the rows they need are read: not the LLM key.
 */
static int
master_print_geo(bool update)
{
	struct pyexec_config	c;
	char			err[512];

	memset(&c, 0, sizeof(c));
	if (config_load_var(&c, "PYEXEC_ANONYMOUS_FROM", err,
	    sizeof(err)) != PYEXEC_OK || (update &&
	    config_load_var(&c, "PYEXEC_NGINX_ANONYMOUS_CONF", err,
	    sizeof(err)) != PYEXEC_OK)) {
		fprintf(stderr, "pyexec-fcgi: configuration: %s\n", err);
		return 1;
	}
	if (update)
		return nginxgeo_update(&c);
	config_nginx_geo(stdout, &c);
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * --routes, --fields: the route table (routes.c), or its field tables
 * with the bounds of this environment's configuration, as JSON: the tests
 * check docs/openapi.json, nginx's locations and the metrics against it.
 */
static int
master_print_routes(bool fields)
{
	struct pyexec_config	 c;
	struct json_object	*o;

	if (!master_print_config(&c)) {
		config_free(&c);
		return 1;
	}
	o = route_table_json(&c, fields);
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	config_free(&c);
	return 0;
}

/* Waits (reaping) until pred(m) is false or the deadline passes. */
static void
master_wait(struct master *m, bool (*pred)(const struct master *),
    int64_t until)
{
	while (pred(m) && clock_mono_ms() < until) {
		usleep(20000);
		master_reap(m);
	}
}

static bool
master_front_alive(const struct master *m)
{
	return m->front_pid > 0;
}

static bool
master_workers_alive(const struct master *m)
{
	unsigned	i;

	for (i = 0; i < m->cfg.workers; i++)
		if (m->ms[i].worker_pid > 0)
			return true;
	return false;
}

/* After the teardown: what the master owns (the channels' fds go with the
 * process). */
static void
master_free(struct master *m)
{
	free(m->ms);
	free(m->chan);
	free(m->wchan);
	free(m->ws_store);
	free(m->ws_worker);
	m->ms = NULL;
	m->chan = m->wchan = m->ws_store = m->ws_worker = NULL;
	if (m->sh != NULL)
		(void)munmap(m->sh, m->sh_len);
	m->sh = NULL;
	config_free(&m->cfg);
}

/*
 * SIGTERM: stop without losing a request.  (1) No new connection reaches
 * this backend (master_stop_intake()); (2) the front takes what the kernel
 * had queued, hands it all to the workers and ends; (3) then each worker
 * reads "S" on its channel after what the front handed it, answers the
 * request in hand and ends; (4) the slots go.  All of it within the request
 * budget plus its margin (pyexec-fcgi --budget: "drain").
 */
static void
master_drain(struct master *m)
{
	int64_t		until = clock_mono_ms() + config_budget(&m->cfg) +
			    CONFIG_BUDGET_MARGIN_MS;
	unsigned	i;

	master_reap(m);		/* a front that just ended is seen */
	m->draining = true;
	log_msg("info", "shutdown", "draining %u workers", m->cfg.workers);
	master_stop_intake(&m->lsn);
	/* A front that ended just before (killed, or waiting for its restart)
	 * is made again: only a front takes what the kernel queued.  The
	 * SIGTERM waits, blocked, until its handler is in place (front.c). */
	if (m->front_pid == 0 && master_fork_front(m) != 0)
		log_msg("error", "shutdown", "no front to take what is queued");
	if (m->front_pid > 0)
		kill(m->front_pid, SIGTERM);
	close(0);		/* the front's copy keeps the queue alive */
	master_wait(m, master_front_alive, until);
	for (i = 0; i < m->cfg.workers; i++)
		(void)send(m->chan[i], "S", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	master_wait(m, master_workers_alive, until);
	master_teardown(m);
	master_free(m);
	log_msg("info", "shutdown", "stopped");
}

/*
 * --cleanup (systemd's ExecStopPost): removes what a master of this
 * configuration left in the cgroups (cgroup v1; on v2 the slots live in
 * the unit's own delegated cgroup, which systemd removes).
 */
static int
master_cleanup(void)
{
	struct pyexec_config	c;
	enum sb_cgversion	v;
	char			err[512], name[200];
	int			rc = 0;

	memset(&c, 0, sizeof(c));
	if (config_load(&c, err, sizeof(err)) != PYEXEC_OK ||
	    sb_cgroup_init(&v, NULL, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "pyexec-fcgi: %s\n", err);
		rc = 1;
		goto out;
	}
	if (v == SB_CGROUP_V2)
		goto out;
	snprintf(name, sizeof(name), "pyexec/%s", c.instance);
	if (sb_cgroup_sweep(v, name, 5000) != 0) {
		fprintf(stderr, "pyexec-fcgi: cgroup %s could not be removed\n",
		    name);
		rc = 1;
		goto out;
	}
	sb_cgroup_remove(v, "pyexec");
out:
	config_free(&c);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct master	 m;
	sigset_t	 set;
	siginfo_t	 si;
	struct timespec	 tick = { 0, 100 * 1000 * 1000 };
	int		 sig;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("pyexec-fcgi %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--budget") == 0)
		return master_print_budget();
	if (argc > 1 && strcmp(argv[1], "--env-example") == 0) {
		config_env_example(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc > 1 && strcmp(argv[1], "--nginx-defaults") == 0) {
		config_nginx_defaults(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc > 1 && (strcmp(argv[1], "--nginx-geo") == 0 ||
	    strcmp(argv[1], "--nginx-geo-update") == 0))
		return master_print_geo(strcmp(argv[1], "--nginx-geo") != 0);
	if (argc > 1 && (strcmp(argv[1], "--routes") == 0 ||
	    strcmp(argv[1], "--fields") == 0))
		return master_print_routes(strcmp(argv[1], "--fields") == 0);
	if (argc > 1 && strcmp(argv[1], "--cleanup") == 0)
		return master_cleanup();
	/* What the master makes (cgroups, the knob files the workers open)
	 * must not depend on the umask it was started with (systemd's UMask=,
	 * a shell's). */
	umask(022);
	master_no_core();
	memset(&m, 0, sizeof(m));
	m.guard_fd = -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	master_preflight(&m);
	master_guard(&m);
	metrics_enable(m.cfg.metrics);
	master_shared(&m);
	master_store(&m);
	master_start(&m);
	log_msg("info", "startup", "serving with %u workers, cgroup v%d, "
	    "python %s", m.cfg.workers, (int)m.cgv, m.cfg.python_path);
	for (;;) {
		sig = sigtimedwait(&set, &si, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		master_reap(&m);
		master_restart_due(&m);
	}
	master_drain(&m);
	drop_exit(0);		/* exit(), LeakSanitizer-ready (not dumpable) */
}
