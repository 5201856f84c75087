/*
 * run.c: one run, seen from the worker.
 *
 * The worker makes the run's five pipes, keeps its ends and sends the
 * others to the launcher with PROTO_RUN.  Then a single poll loop feeds the
 * code and stdin in, reads stdout, stderr and the runner's report out (the
 * output capped in total: past it the run is stopped; the report, and the
 * artifacts that may follow it, capped on their own: past it the report
 * pipe is closed and the report dropped) and
 * waits for PROTO_DONE, which the launcher sends once the runner's status
 * is known and every process of the run killed.  Then what is in the pipes
 * is read without waiting: a run can keep a write end alive after its
 * death (in flight in a unix socket), so end-of-file is never waited for.
 * PROTO_CLEAN follows once the run's namespaces are gone; the worker waits
 * for it after its answer (run_settle), and before any next message to the
 * launcher.  A backstop deadline past
 * the run's own limit catches a launcher that stopped answering: that is
 * our failure (a 5xx), never an outcome.  The same loop watches the run's
 * OOM kills and lifts its CPU quota for a moment after one (the OOM grace,
 * below), so that a throttled victim can exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "proto.h"
#include "run.h"

#define REPORT_MAX	(64 * 1024)
#define DISPLAY_MAX	(256 * 1024)	/* more with display=1: the runner keeps
					 * its displays under 192 KiB */
#define ART_FRAMING	(128 * 1024)	/* names, sizes, keys of <= 101 items */
#define BACKSTOP_MS	10000	/* past the run's own timeout */
#define OOM_TICK_MS	20	/* the run's OOM kill count is read this often */
#define OOM_GRACE_MS	100	/* its quota stays lifted this long after a kill */
#define OOM_GRACE_MAX	1000	/* and this long in all, per run (ms) */

/* A growing capture buffer. */
struct sink {
	char	*buf;		/* owned */
	size_t	 len, cap;
	size_t	 total;		/* bytes seen, kept or not */
	int	 fd;		/* our read end (non-blocking), -1 at EOF */
	bool	 over;		/* the report passed REPORT_MAX: dropped */
};

static int
sink_append(struct sink *k, const char *p, size_t n)
{
	char	*nb;
	size_t	 ncap;

	if (k->len + n + 1 > k->cap) {
		ncap = k->cap ? k->cap : 4096;
		while (ncap < k->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(k->buf, ncap)) == NULL)
			return -1;
		k->buf = nb;
		k->cap = ncap;
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = '\0';
	return 0;
}

/* A buffer we feed into a pipe. */
struct feed {
	const char	*p;	/* borrowed */
	size_t		 left;
	int		 fd;	/* our write end, -1 once done */
};

/*
 * The OOM grace.  The memory cgroup's OOM killer kills one process and
 * kills no other until that one has exited; meanwhile every process of the
 * run that needs memory goes on retrying reclaim inside the kernel.  Since
 * the CFS quota's task-based throttling (Linux 6.18) a process is throttled
 * only on its way back to user space, so the victim, stopped there with its
 * SIGKILL pending, waits for quota that the reclaimers spend in the kernel:
 * the run sat at its memory limit, a core busy, until its timeout (seen
 * live: 16 processes over a 100 MiB limit at cpu_limit 1, 3 runs in 5).
 * So while a run goes on the worker reads its OOM kill count every
 * OOM_TICK_MS; at a new kill it lifts the run's CPU quota, until
 * OOM_GRACE_MS after the last kill and for OOM_GRACE_MAX in all per run (a
 * run cannot buy unlimited CPU with OOM kills), then sets it back.
 */
struct oom_grace {
	struct sb_cgroup *cg;		/* borrowed */
	double		 cpu;		/* the run's quota, in cores */
	uint64_t	 kills;		/* the count last read */
	int64_t		 next_read;	/* mono ms */
	int64_t		 since, until;	/* lifted over [since, until), or 0 */
	int64_t		 spent;		/* ms lifted in earlier graces */
};

struct pump {
	struct oom_grace oom;
	struct sink	 out, err, rep;
	struct feed	 code, in;
	size_t		 max_output;
	size_t		 rep_max;	/* the report, and artifacts if any */
	bool		 truncated, kill_sent, done;
	struct proto_done done_msg;
	int		 ctl;
	bool		 session;	/* a live session's call: the output cap
					 * interrupts it (run_session_call) */
	run_tap_fn	 tap;		/* output as it comes, or NULL */
	void		*tap_arg;
	int		 watch_fd;	/* the client's connection, or -1 */
	const volatile int32_t *cancel;	/* set: cancelled (run_params) */
	bool		 cancelled;	/* it hung up: the run is stopped */
};

static void
fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Makes the pipes; ours go into p, the run's into theirs. */
static int
run_pipes(struct pump *p, int theirs[PROTO_NFDS])
{
	int	pp[PROTO_NFDS][2], i, j;

	for (i = 0; i < PROTO_NFDS; i++)
		if (pipe2(pp[i], O_CLOEXEC) != 0) {
			for (j = 0; j < i; j++) {
				close(pp[j][0]);
				close(pp[j][1]);
			}
			return -1;
		}
	/* The run reads stdin and code, writes the rest. */
	theirs[PROTO_FD_STDIN] = pp[PROTO_FD_STDIN][0];
	p->in.fd = pp[PROTO_FD_STDIN][1];
	theirs[PROTO_FD_CODE] = pp[PROTO_FD_CODE][0];
	p->code.fd = pp[PROTO_FD_CODE][1];
	theirs[PROTO_FD_STDOUT] = pp[PROTO_FD_STDOUT][1];
	p->out.fd = pp[PROTO_FD_STDOUT][0];
	theirs[PROTO_FD_STDERR] = pp[PROTO_FD_STDERR][1];
	p->err.fd = pp[PROTO_FD_STDERR][0];
	theirs[PROTO_FD_REPORT] = pp[PROTO_FD_REPORT][1];
	p->rep.fd = pp[PROTO_FD_REPORT][0];
	fcntl(p->in.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->code.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err.fd, F_SETFL, O_NONBLOCK);
	fcntl(p->rep.fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static void
feed_write(struct feed *f)
{
	ssize_t	n;

	if (f->left == 0) {
		fd_close(&f->fd);
		return;
	}
	n = write(f->fd, f->p, f->left);
	if (n > 0) {
		f->p += n;
		f->left -= (size_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR)
		f->left = 0;	/* EPIPE: the run stopped reading */
	if (f->left == 0)
		fd_close(&f->fd);
}

/* The report passed its cap: close the pipe (the run's next write fails
 * with EPIPE, so it cannot make us read at its pace) and drop it. */
static void
report_overflow(struct sink *k)
{
	fd_close(&k->fd);
	k->over = true;
	free(k->buf);
	k->buf = NULL;
	k->len = k->cap = 0;
}

/* Asks the launcher to stop the run, once (a session's call is stopped by
 * its caller).  0 or -1. */
static int
pump_send_kill(struct pump *p)
{
	struct proto_hdr kill = { PROTO_MAGIC, PROTO_KILL };

	if (p->session || p->kill_sent)
		return 0;
	if (send(p->ctl, &kill, sizeof(kill), MSG_NOSIGNAL) != sizeof(kill))
		return -1;
	p->kill_sent = true;
	return 0;
}

/* The output passed its cap: the run is stopped. */
static int
pump_kill(struct pump *p)
{
	p->truncated = true;
	return pump_send_kill(p);
}

/* The client hung up (or its stream failed): the run is stopped as at the
 * output cap. */
static int
pump_cancel(struct pump *p)
{
	p->cancelled = true;
	p->watch_fd = -1;
	p->tap = NULL;
	return pump_send_kill(p);
}

/* Whether another process cancelled the run (its flag; it woke us). */
static bool
pump_cancel_asked(const struct pump *p)
{
	return p->cancel != NULL && *p->cancel != 0 && !p->cancelled;
}

/* The client's connection in the poll set (a hang-up only: nginx sends
 * nothing more once the request is in), or -1. */
static struct pollfd
pump_watch_pfd(const struct pump *p)
{
	return (struct pollfd){ p->watch_fd, POLLRDHUP, 0 };
}

/*
 * Reads what is there; output past the cap is counted, not kept.
 * 1 if it read something or reached EOF, 0 if there was nothing, -1 on
 * error.
 */
static int
pump_read(struct pump *p, struct sink *k, bool is_output)
{
	char	buf[65536];
	ssize_t	n;
	size_t	room, keep;

	n = read(k->fd, buf, sizeof(buf));
	if (n < 0)
		return (errno == EINTR || errno == EAGAIN) ? 0 : -1;
	if (n == 0) {
		fd_close(&k->fd);
		return 1;
	}
	k->total += (size_t)n;
	if (!is_output) {
		if (k->len + (size_t)n > p->rep_max) {
			report_overflow(k);
			return 1;
		}
		return sink_append(k, buf, (size_t)n) == 0 ? 1 : -1;
	}
	room = p->max_output - (p->out.len + p->err.len);
	keep = (size_t)n < room ? (size_t)n : room;
	if (keep > 0 && sink_append(k, buf, keep) != 0)
		return -1;
	if (keep > 0 && p->tap != NULL &&
	    p->tap(p->tap_arg, k == &p->out ? 1 : 2, buf, keep) != 0 &&
	    pump_cancel(p) != 0)
		return -1;
	if (keep < (size_t)n && pump_kill(p) != 0)
		return -1;
	return 1;
}

/*
 * After PROTO_DONE every process of the run is dead, so all it wrote is in
 * the pipes: read it without waiting, then close.  (A write end the run
 * left in flight in a unix socket would keep EOF away for as long as the
 * kernel's garbage collector takes.)
 */
static int
pump_drain(struct pump *p)
{
	struct sink	*sinks[3] = { &p->out, &p->err, &p->rep };
	int		 i, rc = 0;

	for (i = 0; i < 3; i++) {
		while (sinks[i]->fd >= 0 &&
		    (rc = pump_read(p, sinks[i], i < 2)) > 0)
			;
		if (sinks[i]->fd >= 0 && rc < 0)
			return -1;
		fd_close(&sinks[i]->fd);
	}
	return 0;
}

static int
pump_ctl(struct pump *p)
{
	struct proto_done	m;
	ssize_t			n = recv(p->ctl, &m, sizeof(m), 0);

	if (n == (ssize_t)sizeof(m) && m.hdr.magic == PROTO_MAGIC &&
	    m.hdr.op == PROTO_DONE) {
		p->done_msg = m;
		p->done = true;
		return 0;
	}
	return -1;	/* closed, short, or not a DONE: the slot is broken */
}

/* Ends a grace, if one is on: the run's own quota again.  0 or -1. */
static int
oom_grace_end(struct oom_grace *g, int64_t now)
{
	if (g->until == 0)
		return 0;
	g->spent += now - g->since;
	g->until = 0;
	return sb_cgroup_set_cpu(g->cg, g->cpu);
}

/* Reads the OOM kill count if it is time; starts, extends or ends the
 * grace.  0, or -1 if a knob failed (the slot is broken). */
static int
oom_grace_tick(struct oom_grace *g, int64_t now)
{
	uint64_t	kills;
	int64_t		used = g->spent + (g->until != 0 ? now - g->since : 0);

	if (now < g->next_read)
		return 0;
	g->next_read = now + OOM_TICK_MS;
	if (sb_cgroup_oom_kills(g->cg, &kills) != 0)
		return -1;
	if (kills != g->kills && used < OOM_GRACE_MAX) {
		if (g->until == 0) {
			if (sb_cgroup_lift_cpu(g->cg) != 0)
				return -1;
			g->since = now;
		}
		g->until = now + OOM_GRACE_MS;
	}
	g->kills = kills;
	if (g->until != 0 && (now >= g->until || used >= OOM_GRACE_MAX))
		return oom_grace_end(g, now);
	return 0;
}

/* The poll loop; 0 once DONE came and every read end hit EOF. */
static int
pump_run(struct pump *p, int64_t backstop, char *err, size_t errlen)
{
	struct pollfd	pfd[7];
	struct sink	*sinks[3] = { &p->out, &p->err, &p->rep };
	int		n, i, rc;
	int64_t		left, now;

	while (!p->done) {
		now = proto_mono_ms();
		if (oom_grace_tick(&p->oom, now) != 0) {
			snprintf(err, errlen, "the run's OOM grace: %s",
			    strerror(errno));
			return -1;
		}
		if (pump_cancel_asked(p) && pump_cancel(p) != 0) {
			snprintf(err, errlen, "stopping a cancelled run: %s",
			    strerror(errno));
			return -1;
		}
		n = 0;
		for (i = 0; i < 3; i++)
			pfd[n++] = (struct pollfd){ sinks[i]->fd, POLLIN, 0 };
		pfd[n++] = (struct pollfd){ p->code.fd, POLLOUT, 0 };
		pfd[n++] = (struct pollfd){ p->in.fd, POLLOUT, 0 };
		pfd[n++] = (struct pollfd){ p->done ? -1 : p->ctl, POLLIN, 0 };
		pfd[n++] = pump_watch_pfd(p);
		if ((left = backstop - now) <= 0) {
			snprintf(err, errlen, "the slot's launcher stopped answering");
			return -1;
		}
		if (left > p->oom.next_read - now)
			left = p->oom.next_read - now;
		if (poll(pfd, (nfds_t)n, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < 3; i++)
			if (pfd[i].revents && pump_read(p, sinks[i], i < 2) < 0) {
				snprintf(err, errlen, "reading the run's output: %s",
				    strerror(errno));
				return -1;
			}
		if (pfd[3].revents)
			feed_write(&p->code);
		if (pfd[4].revents)
			feed_write(&p->in);
		if (pfd[5].revents && (rc = pump_ctl(p)) != 0) {
			snprintf(err, errlen, "the slot's launcher closed the "
			    "control channel");
			return -1;
		}
		if (pfd[6].revents && !p->done && pump_cancel(p) != 0) {
			snprintf(err, errlen, "stopping a cancelled run: %s",
			    strerror(errno));
			return -1;
		}
	}
	if (pump_drain(p) != 0) {
		snprintf(err, errlen, "reading the run's output: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The client's side of pa: its tap and its connection. */
static void
pump_client(struct pump *p, const struct run_params *pa)
{
	p->tap = pa->tap;
	p->tap_arg = pa->tap_arg;
	p->watch_fd = pa->watch ? pa->watch_fd : -1;
	p->cancel = pa->cancel;
}


static void
pump_free(struct pump *p)
{
	fd_close(&p->out.fd);
	fd_close(&p->err.fd);
	fd_close(&p->rep.fd);
	fd_close(&p->code.fd);
	fd_close(&p->in.fd);
	free(p->out.buf);
	free(p->err.buf);
	free(p->rep.buf);
}

/* What the runner reads on fd 3: a header line of key=value words, then,
 * with "files=K", K input files, each "<name bytes> <data bytes>\n" then
 * the name and the data, then the code.  Returned malloc'd; the caller
 * frees it. */
static char *
run_payload(const struct run_params *pa, size_t *len)
{
	char	 head[2048], art[128] = "", files[32] = "", fh[48], cell[24] = "";
	int	 hl, n;
	size_t	 total, i, off;
	char	*buf;

	if (pa->artifacts)
		snprintf(art, sizeof(art), " artifacts=1 art_total=%zu "
		    "art_item=%zu art_count=%u", pa->art_total, pa->art_item,
		    pa->art_count);
	if (pa->nfiles > 0)
		snprintf(files, sizeof(files), " files=%u", pa->nfiles);
	if (pa->display && pa->cell > 0)
		snprintf(cell, sizeof(cell), " cell=%u", pa->cell);
	hl = snprintf(head, sizeof(head), "mode=%s%s%s%s%s%s%s%s%s%s\n",
	    pa->mode == RUN_MODE_MAIN ? "main" : "script",
	    pa->unwrap ? " unwrap=1" : "", pa->show ? " show=1" : "",
	    pa->display ? " display=1" : "", cell, art,
	    files, pa->workspace ? " ws=1" : "", pa->policy ? " " : "",
	    pa->policy ? pa->policy : "");
	if (hl < 0 || (size_t)hl >= sizeof(head) || strchr(head, '\n') !=
	    head + hl - 1)
		return NULL;
	total = (size_t)hl + pa->code_len;
	for (i = 0; i < pa->nfiles; i++)
		total += sizeof(fh) + pa->files[i].name_len + pa->files[i].len;
	if ((buf = malloc(total)) == NULL)
		return NULL;
	memcpy(buf, head, (size_t)hl);
	off = (size_t)hl;
	for (i = 0; i < pa->nfiles; i++) {
		n = snprintf(fh, sizeof(fh), "%zu %zu\n", pa->files[i].name_len,
		    pa->files[i].len);
		memcpy(buf + off, fh, (size_t)n);
		off += (size_t)n;
		memcpy(buf + off, pa->files[i].name, pa->files[i].name_len);
		off += pa->files[i].name_len;
		if (pa->files[i].len > 0)
			memcpy(buf + off, pa->files[i].data, pa->files[i].len);
		off += pa->files[i].len;
	}
	memcpy(buf + off, pa->code, pa->code_len);
	*len = off + pa->code_len;
	return buf;
}

/* Which outcome; exactly one. */
static void
run_classify(struct run_result *r, const struct proto_done *d,
    uint64_t oom_delta, bool truncated, bool cancelled)
{
	int	st = d->wstatus;

	r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	r->limit = NULL;
	if (cancelled)
		r->outcome = RUN_CANCELLED;
	else if (truncated || (d->flags & PROTO_DONE_KILLED)) {
		r->outcome = RUN_OUTPUT_LIMIT;
		r->limit = "output";
	} else if (d->flags & PROTO_DONE_TIMEOUT) {
		r->outcome = RUN_TIMEOUT;
		r->limit = "timeout";
	} else if (r->signal == SIGKILL && oom_delta > 0) {
		r->outcome = RUN_MEMORY_LIMIT;
		r->limit = "memory";
	} else if (r->signal != 0) {
		r->outcome = RUN_SIGNAL;
		if (r->signal == SIGXFSZ)
			r->limit = "file_size";
	}
	else
		r->outcome = r->exit_code == 0 ? RUN_COMPLETED : RUN_ERROR;
}

/* Limits and counters before the run. */
static int
run_prepare(struct run_slot *rs, const struct run_params *pa,
    struct sb_counters *before, char *err, size_t errlen)
{
	if (sb_cgroup_set_memory(rs->cg, pa->memory_bytes) != 0) {
		snprintf(err, errlen, "setting the memory limit: %s",
		    strerror(errno));
		return -1;
	}
	if (sb_cgroup_set_cpu(rs->cg, pa->cpu_limit) != 0) {
		snprintf(err, errlen, "setting the cpu limit: %s", strerror(errno));
		return -1;
	}
	if (sb_cgroup_reset(rs->cg) != 0 || sb_cgroup_read(rs->cg, before) != 0) {
		snprintf(err, errlen, "resetting the cgroup counters: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Waits for the PROTO_CLEAN of the last run, if it has not come yet, then
 * reclaims what the run left charged to its cgroup: the slot takes no run
 * before.  The worker calls it once it has answered, so neither wait is on
 * a request's path.  0, or -1 if the launcher said anything else, closed
 * the socket or was silent for timeout_ms, or the reclaim failed (the slot
 * is broken).
 */
int
run_settle(struct run_slot *rs, int timeout_ms)
{
	struct proto_hdr	h;
	struct pollfd		pfd = { rs->ctl_fd, POLLIN, 0 };
	int			n;

	if (!rs->clean_pending)
		return 0;
	while ((n = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (n != 1 || recv(rs->ctl_fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    h.magic != PROTO_MAGIC || h.op != PROTO_CLEAN)
		return -1;
	rs->clean_pending = false;
	return sb_cgroup_reclaim(rs->cg);
}

/*
 * Runs pa in the slot.  On 0, r holds the result (the caller frees it with
 * run_result_free()); on -1 the slot failed (err says how) and the caller
 * answers 5xx and should not use the slot again; on 1 the run was lost
 * with its zygote (killed from outside: err says so), the slot is sound,
 * and the caller answers 5xx; on 2 the run did not start because its
 * workspace could not be entered (RUN_NO_WORKSPACE): the slot is sound and
 * the failure the client's (4xx).
 */
int
run_execute(struct run_slot *rs, const struct run_params *pa,
    struct run_result *r, char *err, size_t errlen)
{
	struct pump		 p;
	struct sb_counters	 before, after;
	struct proto_run	 m = { { PROTO_MAGIC, PROTO_RUN }, 0, 0, 0, 0,
				    0, 0, 0 };
	int			 theirs[PROTO_NFDS + 1], i, rc = -1;
	double			 ms = pa->timeout * 1000.0;
	bool			 sent;
	char			*payload;
	size_t			 payload_len;

	err[0] = '\0';
	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	p.out.fd = p.err.fd = p.rep.fd = p.code.fd = p.in.fd = -1;
	p.ctl = rs->ctl_fd;
	pump_client(&p, pa);
	p.max_output = pa->max_output;
	/* Artifacts travel base64 (4 bytes for 3) after the report. */
	p.rep_max = REPORT_MAX + (pa->display ? DISPLAY_MAX : 0) +
	    (pa->artifacts ? 1 + (pa->art_total + 2) / 3 * 4 + ART_FRAMING : 0);
	if ((payload = run_payload(pa, &payload_len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p.code = (struct feed){ payload, payload_len, -1 };
	p.in = (struct feed){ pa->stdin_data, pa->stdin_data ? pa->stdin_len : 0, -1 };
	m.timeout_ms = ms < 1 ? 1 : (uint32_t)ms;
	m.flags = (pa->cold ? PROTO_RUN_COLD : 0) |
	    (pa->data ? PROTO_RUN_DATA : 0) |
	    (pa->artifacts ? PROTO_RUN_OUTPUTS : 0) |
	    (pa->workspace ? PROTO_RUN_WORKSPACE : 0) |
	    (pa->proven[0] ? PROTO_RUN_BARE_PROVEN : 0) |
	    (pa->proven[1] ? PROTO_RUN_DATA_PROVEN : 0) |
	    (pa->probe ? PROTO_RUN_PROBE : 0);
	m.bare_gen = pa->gen[0];
	m.data_gen = pa->gen[1];

	if (run_settle(rs, BACKSTOP_MS) != 0) {
		snprintf(err, errlen, "the slot did not come back clean after "
		    "the last run");
		goto out;
	}
	if (run_prepare(rs, pa, &before, err, errlen) != 0)
		goto out;
	p.oom = (struct oom_grace){ .cg = rs->cg, .cpu = pa->cpu_limit,
	    .kills = before.oom_kills, .next_read = proto_mono_ms() + OOM_TICK_MS };
	if (run_pipes(&p, theirs) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	/* The workspace's mount is the caller's: it goes along, not closed. */
	theirs[PROTO_NFDS] = pa->workspace ? pa->workspace_fd : -1;
	sent = proto_send(rs->ctl_fd, &m, sizeof(m), theirs,
	    proto_run_nfds(m.flags, 0)) == 0;
	if (!sent)
		snprintf(err, errlen, "sending the run to the launcher: %s",
		    strerror(errno));
	for (i = 0; i < PROTO_NFDS; i++)
		close(theirs[i]);
	if (!sent)
		goto out;
	if (pump_run(&p, proto_mono_ms() + m.timeout_ms + BACKSTOP_MS, err, errlen) != 0)
		goto out;
	if (oom_grace_end(&p.oom, proto_mono_ms()) != 0) {
		snprintf(err, errlen, "setting the cpu limit back after the "
		    "run's OOM grace: %s", strerror(errno));
		goto out;
	}
	rs->clean_pending = true;
	if (p.done_msg.flags & PROTO_DONE_WORKSPACE) {
		snprintf(err, errlen, "the run could not enter its workspace "
		    "(the launcher's log says why)");
		rc = RUN_NO_WORKSPACE;	/* the run's; the slot is sound */
		goto out;
	}
	if (p.done_msg.flags & PROTO_DONE_NOEXEC) {
		snprintf(err, errlen, "the run could not be started");
		goto out;
	}
	if (p.done_msg.flags & PROTO_DONE_LOST) {
		snprintf(err, errlen, "the run's zygote died under it");
		rc = 1;			/* the slot itself is sound */
		goto out;
	}
	if (sb_cgroup_read(rs->cg, &after) != 0) {
		snprintf(err, errlen, "reading the cgroup counters: %s",
		    strerror(errno));
		goto out;
	}
	run_classify(r, &p.done_msg, after.oom_kills - before.oom_kills,
	    p.truncated, p.cancelled);
	r->truncated = p.truncated;
	r->out = p.out.buf; r->out_len = p.out.len; r->out_total = p.out.total;
	r->err = p.err.buf; r->err_len = p.err.len; r->err_total = p.err.total;
	r->report = p.rep.buf; r->report_len = p.rep.len;	/* NULL if over */
	r->report_dropped = p.rep.over;
	p.out.buf = p.err.buf = p.rep.buf = NULL;
	r->duration_ms = (double)p.done_msg.wall_ns / 1e6;
	r->overshoot_ms = (double)p.done_msg.overshoot_ns / 1e6;
	r->setup_ms = (double)p.done_msg.setup_ns / 1e6;
	r->cpu_ms = (double)after.cpu_ns / 1e6;
	r->memory_peak = after.mem_peak;
	r->warm = (p.done_msg.flags & PROTO_DONE_WARM) != 0;
	r->warm_data = (p.done_msg.flags & PROTO_DONE_DATA) != 0;
	rc = 0;
out:
	if (p.oom.until != 0)		/* the slot is failed: best effort */
		(void)oom_grace_end(&p.oom, proto_mono_ms());
	pump_free(&p);
	free(payload);
	return rc;
}

/*
 * Between runs: is the launcher at the other end of ctl_fd alive and
 * answering within timeout_ms?  0 or -1.  Used by the master at slot
 * start and by the worker for /health.
 */
int
run_ping_fd(int ctl_fd, int timeout_ms, struct run_warm *w)
{
	struct proto_hdr	h = { PROTO_MAGIC, PROTO_PING };
	struct proto_pong	a;
	struct pollfd		pfd = { ctl_fd, POLLIN, 0 };

	if (send(ctl_fd, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h))
		return -1;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	if (recv(ctl_fd, &a, sizeof(a), 0) != (ssize_t)sizeof(a) ||
	    a.hdr.magic != PROTO_MAGIC || a.hdr.op != PROTO_PONG ||
	    a.bare_state > PROTO_WARM_FAILED || a.data_state > PROTO_WARM_FAILED)
		return -1;
	if (w != NULL) {
		w->bare = (enum proto_warm)a.bare_state;
		w->data = (enum proto_warm)a.data_state;
		w->bare_gen = a.bare_gen;
		w->data_gen = a.data_gen;
		w->bare_retired = a.bare_retired;
		w->data_retired = a.data_retired;
		w->zygote_restarts = a.zygote_restarts;
		w->keeper_restarts = a.keeper_restarts;
		memcpy(w->modules, a.modules, sizeof(w->modules));
		w->modules[sizeof(w->modules) - 1] = '\0';
	}
	return 0;
}

int
run_ping(struct run_slot *rs, int timeout_ms, struct run_warm *w)
{
	if (run_settle(rs, timeout_ms) != 0)
		return -1;
	return run_ping_fd(rs->ctl_fd, timeout_ms, w);
}

const char *
run_warm_name(enum proto_warm s)
{
	static const char *const names[] = { "off", "starting", "ready",
	    "failed" };

	return (unsigned)s < 4 ? names[s] : "unknown";
}

void
run_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	free(r->report);
	r->out = r->err = r->report = NULL;
}

/* ------------------------------------------------------ live sessions --- */

#define SESSION_READY_MS	10000	/* its "R", once the launcher said so */

/* Waits up to ms for one packet on fd into buf; its size, or -1. */
static ssize_t
chan_recv(int fd, void *buf, size_t len, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	int		n;

	while ((n = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
		;
	if (n != 1)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/*
 * Starts a live session in the slot (PROTO_RUN_SESSION): the launcher
 * has a zygote's spare become the interpreter, in the session's cgroup
 * (cg_fds, ncg) as uid (inside the slot), with the channel's end inner as
 * its fd 3 and the workspace (pa->workspace_fd) on /workspace; the
 * interpreter says "R" on host once it serves.  0, -1 (the slot failed),
 * 1 (it did not start: no zygote ready, or it died: err says), or
 * RUN_NO_WORKSPACE.
 */
int
run_session_start(struct run_slot *rs, const struct run_params *pa,
    const int *cg_fds, int ncg, uint32_t uid, int inner, int host,
    double *setup_ms, char *err, size_t errlen)
{
	struct proto_run	m = { { PROTO_MAGIC, PROTO_RUN }, 0, 0, 0, 0,
				    0, 0, 0 };
	struct proto_done	d;
	int			pp[3][2], fds[PROTO_MAX_FDS], n = 0, i, rc = -1;
	char			b;

	err[0] = '\0';
	if (run_settle(rs, BACKSTOP_MS) != 0) {
		snprintf(err, errlen, "the slot did not come back clean after "
		    "the last run");
		return -1;
	}
	for (i = 0; i < 3; i++)
		if (pipe2(pp[i], O_CLOEXEC) != 0) {
			while (i-- > 0) {
				close(pp[i][0]);
				close(pp[i][1]);
			}
			snprintf(err, errlen, "pipe: %s", strerror(errno));
			return -1;
		}
	/* Its set-up's fds: what it writes before "R" is not kept (its
	 * runner puts /dev/null on fds 0-4 first). */
	fds[n++] = pp[0][0];
	fds[n++] = pp[1][1];
	fds[n++] = pp[1][1];
	fds[n++] = inner;
	fds[n++] = pp[2][1];
	if (pa->workspace)
		fds[n++] = pa->workspace_fd;
	for (i = 0; i < ncg; i++)
		fds[n++] = cg_fds[i];
	m.timeout_ms = SESSION_READY_MS;
	m.flags = PROTO_RUN_SESSION | PROTO_RUN_DATA |
	    (pa->workspace ? PROTO_RUN_WORKSPACE : 0) |
	    (pa->proven[0] ? PROTO_RUN_BARE_PROVEN : 0) |
	    (pa->proven[1] ? PROTO_RUN_DATA_PROVEN : 0);
	m.bare_gen = pa->gen[0];
	m.data_gen = pa->gen[1];
	m.session_ncg = (uint8_t)ncg;
	m.session_uid = uid;
	if (proto_send(rs->ctl_fd, &m, sizeof(m), fds, n) != 0) {
		snprintf(err, errlen, "sending the session to the launcher: %s",
		    strerror(errno));
		goto out;
	}
	if (chan_recv(rs->ctl_fd, &d, sizeof(d), SESSION_READY_MS +
	    BACKSTOP_MS) != (ssize_t)sizeof(d) || d.hdr.magic != PROTO_MAGIC ||
	    d.hdr.op != PROTO_DONE) {
		snprintf(err, errlen, "the slot's launcher did not answer");
		goto out;
	}
	rs->clean_pending = true;
	*setup_ms = (double)d.setup_ns / 1e6;
	if (d.flags & PROTO_DONE_WORKSPACE) {
		snprintf(err, errlen, "the session could not enter its "
		    "workspace");
		rc = RUN_NO_WORKSPACE;
		goto out;
	}
	if (!(d.flags & PROTO_DONE_SESSION)) {
		snprintf(err, errlen, "no warm interpreter could become the "
		    "session (the launcher's log says why)");
		rc = 1;
		goto out;
	}
	if (chan_recv(host, &b, 1, SESSION_READY_MS) != 1 || b != 'R') {
		snprintf(err, errlen, "the session's interpreter did not "
		    "start");
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < 3; i++) {
		close(pp[i][0]);
		close(pp[i][1]);
	}
	return rc;
}

/* The session call's end: "D" + status, or the channel's end. */
static int
session_chan(struct pump *p, int chan, bool *dead)
{
	unsigned char	msg[8];
	ssize_t		n = recv(chan, msg, sizeof(msg), MSG_DONTWAIT);
	uint32_t	st;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 5 && msg[0] == 'D') {
		memcpy(&st, msg + 1, sizeof(st));
		p->done_msg.wstatus = (int32_t)((st & 0xFF) << 8);
		p->done = true;
		return 0;
	}
	*dead = true;		/* it ended, or spoke nonsense */
	return 0;
}

/* Which outcome a session call had; exactly one. */
static void
session_classify(struct run_result *r, const struct pump *p, bool dead,
    int phase, uint64_t oom_delta)
{
	r->limit = NULL;
	r->exit_code = dead ? -1 : WEXITSTATUS(p->done_msg.wstatus);
	r->signal = 0;
	if (p->cancelled) {
		r->outcome = RUN_CANCELLED;
		r->signal = dead ? SIGKILL : 0;
	} else if (p->truncated) {
		r->outcome = RUN_OUTPUT_LIMIT;
		r->limit = "output";
	} else if (dead && oom_delta > 0) {
		r->outcome = RUN_MEMORY_LIMIT;
		r->limit = "memory";
		r->signal = SIGKILL;
	} else if (phase > 0) {
		r->outcome = RUN_TIMEOUT;
		r->limit = "timeout";
		r->signal = dead ? SIGKILL : 0;
	} else if (dead)
		r->outcome = RUN_ERROR;	/* it ended itself (os._exit...) */
	else
		r->outcome = r->exit_code == 0 ? RUN_COMPLETED : RUN_ERROR;
}

/*
 * One call of a live session whose lease the worker holds: pa's code (and
 * stdin and files) go to the interpreter with the call's five fds, its
 * output comes back with run_execute's caps.  Past the timeout (or the
 * output cap) the keeper interrupts it (SIGINT: KeyboardInterrupt in the
 * code); if it has not answered grace_ms later it is killed.  *lost: the
 * interpreter is gone (killed, out of memory, or it ended itself).  0,
 * or -1 (err: ours, a 5xx).
 */
int
run_session_call(struct run_session *ss, const struct run_params *pa,
    struct run_result *r, bool *lost, char *err, size_t errlen)
{
	struct pump		 p;
	struct sb_counters	 before, after;
	int			 theirs[PROTO_NFDS], i, rc = -1, phase = 0;
	int64_t			 t0 = proto_mono_ms(), deadline, now;
	bool			 dead = false;
	char			*payload, c = 'C';
	size_t			 payload_len;
	struct pollfd		 pfd[7];
	struct sink		*sinks[3];

	err[0] = '\0';
	*lost = false;
	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	p.out.fd = p.err.fd = p.rep.fd = p.code.fd = p.in.fd = -1;
	p.ctl = -1;
	p.session = true;
	pump_client(&p, pa);
	p.max_output = pa->max_output;
	p.rep_max = REPORT_MAX + (pa->display ? DISPLAY_MAX : 0) +
	    (pa->artifacts ? 1 + (pa->art_total + 2) / 3 * 4 + ART_FRAMING : 0);
	sinks[0] = &p.out;
	sinks[1] = &p.err;
	sinks[2] = &p.rep;
	if ((payload = run_payload(pa, &payload_len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p.code = (struct feed){ payload, payload_len, -1 };
	p.in = (struct feed){ pa->stdin_data, pa->stdin_data ? pa->stdin_len : 0, -1 };
	if (sb_cgroup_reset(ss->cg) != 0 || sb_cgroup_read(ss->cg, &before) != 0) {
		snprintf(err, errlen, "the session's cgroup counters: %s",
		    strerror(errno));
		goto out;
	}
	p.oom = (struct oom_grace){ .cg = ss->cg, .cpu = pa->cpu_limit,
	    .kills = before.oom_kills, .next_read = proto_mono_ms() + OOM_TICK_MS };
	if (run_pipes(&p, theirs) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if (proto_send(ss->chan, &c, 1, theirs, PROTO_NFDS) != 0)
		dead = true;		/* it is gone already */
	for (i = 0; i < PROTO_NFDS; i++)
		close(theirs[i]);
	deadline = t0 + (int64_t)(pa->timeout * 1000.0);
	while (!p.done && !dead) {
		now = proto_mono_ms();
		if (pump_cancel_asked(&p))
			(void)pump_cancel(&p);	/* interrupted below */
		if (oom_grace_tick(&p.oom, now) != 0) {
			snprintf(err, errlen, "the session's OOM grace: %s",
			    strerror(errno));
			goto out;
		}
		if (now >= deadline || ((p.truncated || p.cancelled) &&
		    phase == 0)) {
			if (phase == 2) {
				snprintf(err, errlen, "the session did not end "
				    "after its kill");
				goto out;
			}
			(void)ss->signal(ss->arg, phase == 0 ? SIGINT : SIGKILL);
			deadline = now + (phase == 0 ? ss->grace_ms : BACKSTOP_MS);
			phase++;
			continue;
		}
		for (i = 0; i < 3; i++)
			pfd[i] = (struct pollfd){ sinks[i]->fd, POLLIN, 0 };
		pfd[3] = (struct pollfd){ p.code.fd, POLLOUT, 0 };
		pfd[4] = (struct pollfd){ p.in.fd, POLLOUT, 0 };
		pfd[5] = (struct pollfd){ ss->chan, POLLIN, 0 };
		pfd[6] = pump_watch_pfd(&p);
		i = (int)(deadline - now);
		if (i > p.oom.next_read - now)
			i = (int)(p.oom.next_read - now);
		if (poll(pfd, 7, i < 0 ? 0 : i) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < 3; i++)
			if (pfd[i].revents && pump_read(&p, sinks[i], i < 2) < 0) {
				snprintf(err, errlen, "reading the call's "
				    "output: %s", strerror(errno));
				goto out;
			}
		if (pfd[3].revents)
			feed_write(&p.code);
		if (pfd[4].revents)
			feed_write(&p.in);
		if (pfd[5].revents)
			(void)session_chan(&p, ss->chan, &dead);
		if (pfd[6].revents)
			(void)pump_cancel(&p);	/* interrupted above */
	}
	if (pump_drain(&p) != 0 || oom_grace_end(&p.oom, proto_mono_ms()) != 0 ||
	    sb_cgroup_read(ss->cg, &after) != 0) {
		snprintf(err, errlen, "after the call: %s", strerror(errno));
		goto out;
	}
	session_classify(r, &p, dead, phase, after.oom_kills - before.oom_kills);
	*lost = dead;
	r->truncated = p.truncated;
	r->out = p.out.buf; r->out_len = p.out.len; r->out_total = p.out.total;
	r->err = p.err.buf; r->err_len = p.err.len; r->err_total = p.err.total;
	r->report = p.rep.buf; r->report_len = p.rep.len;
	r->report_dropped = p.rep.over;
	p.out.buf = p.err.buf = p.rep.buf = NULL;
	r->duration_ms = (double)(proto_mono_ms() - t0);
	r->cpu_ms = (double)after.cpu_ns / 1e6;
	r->memory_peak = after.mem_peak;
	r->warm = r->warm_data = true;
	rc = 0;
out:
	if (p.oom.until != 0)
		(void)oom_grace_end(&p.oom, proto_mono_ms());
	pump_free(&p);
	free(payload);
	return rc;
}

/* A fork's half: its "D", and its report read to the end. */
struct fork_half {
	int		 chan;		/* borrowed */
	int		 rep;		/* our read end of its report, or -1 */
	struct sink	 out;		/* the report */
	bool		 done, dead;
	int		 status;
};

static void
fork_half_read(struct fork_half *h, bool chan_ready, bool rep_ready)
{
	unsigned char	msg[8];
	char		buf[4096];
	ssize_t		n;
	uint32_t	st;

	if (chan_ready) {
		n = recv(h->chan, msg, sizeof(msg), MSG_DONTWAIT);
		if (n == 5 && msg[0] == 'D') {
			memcpy(&st, msg + 1, sizeof(st));
			h->status = (int)st;
			h->done = true;
		} else if (!(n < 0 && (errno == EAGAIN || errno == EINTR)))
			h->dead = true;
	}
	if (rep_ready) {
		n = read(h->rep, buf, sizeof(buf));
		if (n > 0 && h->out.len + (size_t)n <= REPORT_MAX)
			(void)sink_append(&h->out, buf, (size_t)n);
		else if (!(n < 0 && (errno == EAGAIN || errno == EINTR)))
			fd_close(&h->rep);
	}
}

/*
 * A live session's fork: from (its lease held) writes its names and its
 * workspace's files on a pipe ("F"), to (a new session, its lease held)
 * reads them ("L"); each says "D" + status and writes a JSON report.
 * 0 with both reports (owned by the caller, NUL-terminated) and statuses
 * (non-zero: that half failed), or -1 (err: the pipe, a session gone or
 * silent past timeout_ms).
 */
int
run_session_fork(struct run_session *from, struct run_session *to,
    int timeout_ms, char **rep_from, char **rep_to, int status[2],
    char *err, size_t errlen)
{
	struct fork_half h[2];
	int		 stream[2], rf[2], rt[2], i, rc = -1;
	int		 sf[2], st[2];
	char		 f = 'F', l = 'L';
	int64_t		 until = proto_mono_ms() + timeout_ms;
	struct pollfd	 pfd[4];

	*rep_from = *rep_to = NULL;
	memset(h, 0, sizeof(h));
	h[0].chan = from->chan;
	h[1].chan = to->chan;
	h[0].rep = h[1].rep = -1;
	if (pipe2(stream, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(rf, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(stream[0]);
		close(stream[1]);
		return -1;
	}
	if (pipe2(rt, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(stream[0]);
		close(stream[1]);
		close(rf[0]);
		close(rf[1]);
		return -1;
	}
	/* Fewer round trips for a large copy; best effort (pipe-max-size). */
	(void)fcntl(stream[1], F_SETPIPE_SZ, 1 << 20);
	h[0].rep = rf[0];
	h[1].rep = rt[0];
	fcntl(rf[0], F_SETFL, O_NONBLOCK);
	fcntl(rt[0], F_SETFL, O_NONBLOCK);
	sf[0] = stream[1];
	sf[1] = rf[1];
	st[0] = stream[0];
	st[1] = rt[1];
	if (proto_send(from->chan, &f, 1, sf, 2) != 0 ||
	    proto_send(to->chan, &l, 1, st, 2) != 0) {
		snprintf(err, errlen, "a session went before its fork");
		close(stream[0]);
		close(stream[1]);
		close(rf[1]);
		close(rt[1]);
		goto out;
	}
	close(stream[0]);
	close(stream[1]);
	close(rf[1]);
	close(rt[1]);
	while (!(h[0].done && h[1].done && h[0].rep < 0 && h[1].rep < 0)) {
		int	left = (int)(until - proto_mono_ms());

		if (left <= 0 || h[0].dead || h[1].dead) {
			snprintf(err, errlen, "%s", left <= 0 ? "the fork did "
			    "not end in time" : "a session ended in its fork");
			goto out;
		}
		for (i = 0; i < 2; i++) {
			pfd[2 * i] = (struct pollfd){ h[i].done ? -1 : h[i].chan,
			    POLLIN, 0 };
			pfd[2 * i + 1] = (struct pollfd){ h[i].rep, POLLIN, 0 };
		}
		if (poll(pfd, 4, left) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < 2; i++)
			fork_half_read(&h[i], pfd[2 * i].revents != 0,
			    pfd[2 * i + 1].revents != 0);
	}
	status[0] = h[0].status;
	status[1] = h[1].status;
	*rep_from = h[0].out.buf != NULL ? h[0].out.buf : strdup("{}");
	*rep_to = h[1].out.buf != NULL ? h[1].out.buf : strdup("{}");
	h[0].out.buf = h[1].out.buf = NULL;
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		fd_close(&h[i].rep);
		free(h[i].out.buf);
	}
	return rc;
}
