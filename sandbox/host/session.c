/*
 * session.c: the session keeper, in the store's process (store.c calls
 * it for the messages whose magic is SS_MAGIC, and sweeps it).  What a
 * session is and the messages: session.h.
 *
 * Theory of operation.  Session k (an index of the table) is host uid
 * uid_base + k (2000 + k inside every slot's user namespace, which maps
 * the range: slot.c) and cgroup <base>pyexec/<instance>/sessions/s-k,
 * made like a slot's (launcher/ stays empty; the interpreter joins run/
 * and, on v1, the freezer's s-k/run).  Neither is reused while anything
 * of the last session k is left: an index is free again only once its
 * cgroup is gone, which needs every process of it dead.
 *
 *   SS_CREATE   checks the limits, makes the cgroup and the channel (a
 *               SOCK_SEQPACKET socketpair); answers with both ends and
 *               the cgroup.procs fds; the slot holds the session's lease
 *   SS_STARTED  the interpreter's pid (the one process of run/, now) is
 *               kept as a pidfd; frozen; idle
 *   SS_ATTACH   thawed, leased to the slot; the host end goes with the
 *               answer (the keeper keeps its own)
 *   SS_RELEASE  frozen, idle, a call more; or ended if lost
 *   SS_SIGNAL   pidfd_send_signal() to the interpreter (the lease's
 *               holder only)
 *   end         SIGKILL to the interpreter (its init, pid 1 of its
 *               namespace, then ends every process of it), thawed, the
 *               channel closed; the entry waits, ENDING, until its
 *               cgroup could be removed
 *
 * The sweep (every second) ends what is idle past its idle timeout, or
 * older than PYEXEC_SESSION_MAX_AGE (even in a call), or whose
 * interpreter died, and removes the cgroups of the ended ones.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "proto.h"
#include "session.h"

#define SS_SWEEP_MS	1000
#define SS_POOL		2	/* cgroups made ahead of the creates */
#define SS_ENDING	4	/* enum ss_state's hidden last: ended, its
				 * cgroup not yet removed */

struct sess {
	bool		 used;		/* this index is taken */
	bool		 pooled;	/* not taken, its cgroup made ahead */
	bool		 forked;	/* the copy of a fork (the metrics) */
	enum ss_state	 state;		/* or SS_ENDING */
	char		 client[WS_NAME_MAX + 8];
	char		 name[WS_NAME_MAX + 8];
	int		 chan;		/* owned: the channel's host end */
	int		 pidfd;		/* owned: the interpreter's, or -1 */
	int		 lease;		/* slot, or -1 */
	int64_t		 created, used_at;	/* unix seconds */
	uint64_t	 memory_bytes;
	double		 cpu;
	uint32_t	 idle_s;
	uint32_t	 calls;
	struct sb_cgroup cg;		/* owned */
};

struct sessions {
	const struct ss_opts	*o;
	struct sess		*e;	/* owned: o->max of them */
	int64_t			 next_sweep;
};

static int64_t
ss_now(void)
{
	return (int64_t)time(NULL);
}

const char *
ss_status_name(enum ss_status st)
{
	static const char *const names[] = { "ok", "not_found", "exists",
	    "busy", "client_limit", "total_limit", "failed", "bad" };

	return (unsigned)st < SS_NSTATUS ? names[st] : "unknown";
}

const char *
ss_end_name(enum ss_end e)
{
	static const char *const names[] = { "deleted", "idle", "age",
	    "killed", "lost", "failed" };

	return (unsigned)e < SS_NEND ? names[e] : "unknown";
}

const char *
ss_state_name(enum ss_state s)
{
	switch (s) {
	case SS_STATE_STARTING:
		return "starting";
	case SS_STATE_IDLE:
		return "idle";
	case SS_STATE_RUNNING:
		return "running";
	}
	return "ended";
}

static void
ss_gauges(struct sessions *ss)
{
	uint64_t	n[SS_ENDING + 1] = { 0 };
	unsigned	i;

	for (i = 0; i < ss->o->max; i++)
		if (ss->e[i].used && ss->e[i].state <= SS_ENDING)
			n[ss->e[i].state]++;
	__atomic_store_n(&ss->o->stats->starting, n[SS_STATE_STARTING],
	    __ATOMIC_RELAXED);
	__atomic_store_n(&ss->o->stats->idle, n[SS_STATE_IDLE], __ATOMIC_RELAXED);
	__atomic_store_n(&ss->o->stats->running, n[SS_STATE_RUNNING],
	    __ATOMIC_RELAXED);
}

static void
ss_count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static struct sess *
ss_find(struct sessions *ss, const char *client, const char *name)
{
	unsigned	i;

	for (i = 0; i < ss->o->max; i++) {
		struct sess *s = &ss->e[i];

		if (s->used && s->state != SS_ENDING &&
		    strcmp(s->client, client) == 0 && strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

static unsigned
ss_client_count(const struct sessions *ss, const char *client)
{
	unsigned	i, n = 0;

	for (i = 0; i < ss->o->max; i++)
		n += ss->e[i].used && ss->e[i].state != SS_ENDING &&
		    strcmp(ss->e[i].client, client) == 0;
	return n;
}

static unsigned
ss_live_count(const struct sessions *ss)
{
	unsigned	i, n = 0;

	for (i = 0; i < ss->o->max; i++)
		n += ss->e[i].used && ss->e[i].state != SS_ENDING;
	return n;
}

static int64_t
ss_expires(const struct sessions *ss, const struct sess *s)
{
	int64_t	idle = s->used_at + s->idle_s;
	int64_t	age = s->created + ss->o->max_age_s;

	return idle < age ? idle : age;
}

static void
ss_info(const struct sessions *ss, const struct sess *s, struct ss_info *i)
{
	uint64_t	usage = 0;
	char		path[640], line[32];
	FILE		*f;

	memset(i, 0, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%s", s->name);
	snprintf(i->cgroup, sizeof(i->cgroup), "%.191s", s->cg.name);
	i->created = s->created;
	i->used = s->used_at;
	i->expires = ss_expires(ss, s);
	i->memory_bytes = s->memory_bytes;
	i->cpu = s->cpu;
	i->idle_s = s->idle_s;
	i->calls = s->calls;
	i->state = s->state;
	i->uid = SS_UID_INSIDE + (uint32_t)(s - ss->e);
	snprintf(path, sizeof(path), "%s/%s", s->cg.dir[SB_KNOB_MEM_USAGE],
	    sb_knob_describe(s->cg.version, SB_KNOB_MEM_USAGE)->file);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(line, sizeof(line), f) != NULL)
			usage = strtoull(line, NULL, 10);
		fclose(f);
	}
	i->memory_usage = usage;
}

/* Index s, empty: no session, no cgroup, no fd. */
static void
ss_clear(struct sess *s)
{
	memset(s, 0, sizeof(*s));
	s->chan = s->pidfd = s->lease = -1;
}

/* Removes index s's cgroup (and freezer), made and empty, then clears it. */
static void
ss_cgroup_drop(struct sess *s)
{
	(void)sb_cgroup_destroy(&s->cg);
	(void)sb_cgroup_freezer_remove(&s->cg);
	sb_cgroup_free(&s->cg);
	ss_clear(s);
}

/* Ends session s (why): its interpreter killed, thawed, its channel
 * closed; its cgroup goes in the sweep (ss_reap). */
static void
ss_end(struct sessions *ss, struct sess *s, enum ss_end why,
    void (*log)(const char *, const char *))
{
	char	msg[300];

	if (!s->used || s->state == SS_ENDING)
		return;
	if (s->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
	(void)sb_cgroup_freeze(&s->cg, false);
	if (s->chan >= 0)
		close(s->chan);
	s->chan = -1;
	s->state = SS_ENDING;
	s->lease = -1;
	ss_count(&ss->o->stats->ended[why]);
	snprintf(msg, sizeof(msg), "session s-%u ended (%s) after %u calls",
	    (unsigned)(s - ss->e), ss_end_name(why), s->calls);
	log("info", msg);
	ss_gauges(ss);
}

/* An ended session's cgroup: removed once empty, then its index is
 * free.  Its processes were killed; any left are killed again. */
static void
ss_reap(struct sessions *ss, struct sess *s)
{
	if (s->pidfd >= 0) {
		struct pollfd pfd = { s->pidfd, POLLIN, 0 };

		if (poll(&pfd, 1, 0) != 1)
			return;		/* the interpreter is not gone yet */
		close(s->pidfd);
		s->pidfd = -1;
	}
	if (sb_cgroup_sweep(s->cg.version, s->cg.name, 0) != 0)
		return;
	(void)sb_cgroup_freezer_remove(&s->cg);
	sb_cgroup_free(&s->cg);
	ss_clear(s);
	(void)ss;
}

/* Makes index s's cgroup (and its freezer), fresh.  0, or -1 (logged,
 * nothing left behind). */
static int
ss_cgroup_make(struct sessions *ss, struct sess *s,
    void (*log)(const char *, const char *))
{
	char	name[160], err[400];

	snprintf(name, sizeof(name), "%spyexec/%s/sessions/s-%u",
	    ss->o->cgroup_base, ss->o->instance, (unsigned)(s - ss->e));
	ss_clear(s);
	s->cg.version = ss->o->version;
	if (sb_cgroup_create(&s->cg, name, ss->o->max_pids, ss->o->owner,
	    ss->o->group, err, sizeof(err)) != 0) {
		log("error", err);
		return -1;
	}
	if (sb_cgroup_freezer_make(&s->cg) != 0) {
		snprintf(err, sizeof(err), "session %s: freezer: %s", name,
		    strerror(errno));
		log("error", err);
		ss_cgroup_drop(s);
		return -1;
	}
	return 0;
}

/*
 * Keeps SS_POOL cgroups made ahead (at most as many as free indexes), so
 * that a create takes one instead of making twelve directories on its
 * path.  In the sweep, one at a time.
 */
static void
ss_pool(struct sessions *ss, void (*log)(const char *, const char *))
{
	unsigned	i, ready = 0;
	struct sess	*free_one = NULL;

	for (i = 0; i < ss->o->max; i++) {
		if (ss->e[i].used)
			continue;
		if (ss->e[i].pooled)
			ready++;
		else if (free_one == NULL)
			free_one = &ss->e[i];
	}
	if (ready < SS_POOL && free_one != NULL &&
	    ss_cgroup_make(ss, free_one, log) == 0)
		free_one->pooled = true;
}

/* SS_CREATE: the checks, the cgroup, the channel.  fds: both ends of
 * the channel, then the cgroup.procs fds (*nfds). */
static enum ss_status
ss_create(struct sessions *ss, unsigned slot, const struct ss_req *q,
    struct ss_reply *r, int *fds, int *nfds,
    void (*log)(const char *, const char *))
{
	struct sess	*s = NULL;
	char		 name[160], err[400];
	int		 sv[2], n, fz;
	unsigned	 i;

	if (ss_find(ss, q->client, q->name) != NULL)
		return SS_EXISTS;
	if (ss_client_count(ss, q->client) >= ss->o->per_client)
		return SS_CLIENT_LIMIT;
	if (ss_live_count(ss) >= ss->o->max)
		return SS_TOTAL_LIMIT;
	/* A cgroup made ahead (ss_pool), else a free index made now. */
	for (i = 0; i < ss->o->max && s == NULL; i++)
		if (!ss->e[i].used && ss->e[i].pooled)
			s = &ss->e[i];
	for (i = 0; i < ss->o->max && s == NULL; i++)
		if (!ss->e[i].used)
			s = &ss->e[i];
	if (s == NULL)
		return SS_TOTAL_LIMIT;	/* ended ones not yet removed */
	snprintf(name, sizeof(name), "s-%u", (unsigned)(s - ss->e));
	if (!s->pooled && ss_cgroup_make(ss, s, log) != 0)
		return SS_FAILED;
	s->pooled = false;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, sizeof(err), "session %s: channel: %s",
		    name, strerror(errno));
		log("error", err);
		goto fail;
	}
	n = sb_cgroup_procs_fds(&s->cg, fds + 2, PROTO_SESSION_MAX_CG - 1,
	    err, sizeof(err));
	if (n < 0) {
		log("error", err);
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if ((fz = sb_cgroup_freezer_fd(&s->cg)) >= 0)
		fds[2 + n++] = fz;
	else if (errno != 0) {
		snprintf(err, sizeof(err), "session %s: freezer: %s", name,
		    strerror(errno));
		log("error", err);
		while (n > 0)
			close(fds[2 + --n]);
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	s->chan = sv[0];
	fds[0] = dup(sv[0]);	/* the worker's copy, for the "R" */
	fds[1] = sv[1];		/* the interpreter's */
	*nfds = 2 + n;
	if (fds[0] < 0) {
		while (n > 0)
			close(fds[2 + --n]);
		close(sv[0]);
		close(sv[1]);
		s->chan = -1;
		goto fail;
	}
	s->used = true;
	s->state = SS_STATE_STARTING;
	s->lease = (int)slot;
	snprintf(s->client, sizeof(s->client), "%s", q->client);
	snprintf(s->name, sizeof(s->name), "%s", q->name);
	s->created = s->used_at = ss_now();
	s->memory_bytes = q->memory_bytes;
	s->cpu = q->cpu;
	s->idle_s = q->idle_s;
	s->forked = q->fork != 0;
	ss_info(ss, s, &r->s[0]);
	r->count = 1;
	ss_gauges(ss);
	return SS_OK;
fail:
	ss_cgroup_drop(s);
	return SS_FAILED;
}

/* SS_STARTED: the interpreter's pidfd, frozen, idle; or ended. */
static enum ss_status
ss_started(struct sessions *ss, struct sess *s, const struct ss_req *q,
    void (*log)(const char *, const char *))
{
	pid_t	pid;

	if (s->state != SS_STATE_STARTING)
		return SS_BAD;
	if (q->ok && (pid = sb_cgroup_first_pid(&s->cg)) > 1)
		s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (!q->ok || s->pidfd < 0 || sb_cgroup_freeze(&s->cg, true) != 0) {
		ss_end(ss, s, SS_END_FAILED, log);
		return q->ok ? SS_FAILED : SS_OK;
	}
	s->state = SS_STATE_IDLE;
	s->lease = -1;
	s->used_at = ss_now();
	ss_count(s->forked ? &ss->o->stats->forked : &ss->o->stats->created);
	ss_gauges(ss);
	return SS_OK;
}

/* Whether the interpreter of s has ended. */
static bool
ss_dead(const struct sess *s)
{
	struct pollfd	pfd = { s->pidfd, POLLIN, 0 };

	return s->pidfd < 0 || poll(&pfd, 1, 0) == 1;
}

static enum ss_status
ss_attach(struct sessions *ss, unsigned slot, struct sess *s,
    struct ss_reply *r, int *fds, int *nfds,
    void (*log)(const char *, const char *))
{
	if (s->state == SS_STATE_STARTING ||
	    (s->lease >= 0 && s->lease != (int)slot))
		return SS_BUSY;
	if (ss_dead(s)) {
		ss_end(ss, s, SS_END_LOST, log);
		return SS_NOT_FOUND;
	}
	if (sb_cgroup_freeze(&s->cg, false) != 0 ||
	    (fds[0] = dup(s->chan)) < 0) {
		ss_end(ss, s, SS_END_LOST, log);
		return SS_FAILED;
	}
	*nfds = 1;
	s->lease = (int)slot;
	s->state = SS_STATE_RUNNING;
	ss_info(ss, s, &r->s[0]);
	r->count = 1;
	ss_gauges(ss);
	return SS_OK;
}

static enum ss_status
ss_release(struct sessions *ss, unsigned slot, struct sess *s,
    const struct ss_req *q, struct ss_reply *r,
    void (*log)(const char *, const char *))
{
	if (s->lease != (int)slot)
		return SS_BUSY;
	s->used_at = ss_now();
	if (!q->nocall) {
		s->calls++;
		ss_count(&ss->o->stats->calls);
	}
	if (!q->ok || ss_dead(s) || sb_cgroup_freeze(&s->cg, true) != 0) {
		ss_end(ss, s, q->ok || q->why >= SS_NEND ? SS_END_LOST :
		    (enum ss_end)q->why, log);
		return SS_OK;
	}
	s->lease = -1;
	s->state = SS_STATE_IDLE;
	ss_info(ss, s, &r->s[0]);
	r->count = 1;
	ss_gauges(ss);
	return SS_OK;
}

/* One message of slot's worker (its names checked by the caller:
 * names_ok); the answer goes back on chan. */
void
sessions_serve(struct sessions *ss, int chan, unsigned slot,
    const struct ss_req *q, long n, bool names_ok,
    void (*log)(const char *, const char *))
{
	struct ss_reply	*r;
	struct sess	*s = NULL;
	enum ss_status	 st = SS_BAD;
	int		 fds[2 + PROTO_SESSION_MAX_CG], nfds = 0, i;
	unsigned	 k;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->magic = SS_MAGIC;
	r->seq = q->seq;
	if (n != (long)sizeof(*q) || !names_ok)
		goto reply;
	if (q->op == SS_HELLO) {
		for (k = 0; k < ss->o->max; k++)
			if (ss->e[k].used && ss->e[k].state != SS_ENDING &&
			    ss->e[k].lease == (int)slot)
				ss_end(ss, &ss->e[k], SS_END_LOST, log);
		st = SS_OK;
		goto reply;
	}
	if (q->op != SS_LIST && q->op != SS_CREATE) {
		if ((s = ss_find(ss, q->client, q->name)) == NULL) {
			st = SS_NOT_FOUND;
			goto reply;
		}
	}
	switch (q->op) {
	case SS_CREATE:
		st = ss_create(ss, slot, q, r, fds, &nfds, log);
		ss_count(&ss->o->stats->refused[st]);
		break;
	case SS_STARTED:
		st = s->lease == (int)slot ? ss_started(ss, s, q, log) : SS_BUSY;
		break;
	case SS_ATTACH:
		st = ss_attach(ss, slot, s, r, fds, &nfds, log);
		break;
	case SS_RELEASE:
		st = ss_release(ss, slot, s, q, r, log);
		break;
	case SS_SIGNAL:
		st = SS_BUSY;
		if (s->lease == (int)slot && (q->sig == SIGINT ||
		    q->sig == SIGKILL)) {
			(void)syscall(SYS_pidfd_send_signal, s->pidfd, q->sig,
			    NULL, 0);
			st = SS_OK;
		}
		break;
	case SS_DELETE:
		ss_end(ss, s, SS_END_DELETED, log);
		st = SS_OK;
		break;
	case SS_LIST:
		for (k = 0; k < ss->o->max && r->count < SS_LIST_MAX; k++)
			if (ss->e[k].used && ss->e[k].state != SS_ENDING &&
			    strcmp(ss->e[k].client, q->client) == 0)
				ss_info(ss, &ss->e[k], &r->s[r->count++]);
		st = SS_OK;
		break;
	default:
		break;
	}
reply:
	r->status = st;
	(void)proto_send(chan, r, offsetof(struct ss_reply, s) +
	    r->count * sizeof(struct ss_info), fds, nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	free(r);
}

/* Expiry and removal; every SS_SWEEP_MS. */
void
sessions_sweep(struct sessions *ss, void (*log)(const char *, const char *))
{
	int64_t		now = ss_now();
	unsigned	i;

	if (proto_mono_ms() < ss->next_sweep)
		return;
	ss->next_sweep = proto_mono_ms() + SS_SWEEP_MS;
	for (i = 0; i < ss->o->max; i++) {
		struct sess *s = &ss->e[i];

		if (!s->used)
			continue;
		if (s->state == SS_ENDING) {
			ss_reap(ss, s);
			continue;
		}
		if (now >= s->created + (int64_t)ss->o->max_age_s)
			ss_end(ss, s, SS_END_AGE, log);
		else if (s->state == SS_STATE_IDLE &&
		    now >= s->used_at + (int64_t)s->idle_s)
			ss_end(ss, s, SS_END_IDLE, log);
		else if (s->state == SS_STATE_IDLE && ss_dead(s))
			ss_end(ss, s, SS_END_LOST, log);
		if (s->state == SS_ENDING)
			ss_reap(ss, s);
	}
	ss_pool(ss, log);
}

/* Milliseconds until the next sweep is due. */
int
sessions_next_ms(const struct sessions *ss)
{
	int64_t	left = ss->next_sweep - proto_mono_ms();

	return left < 0 ? 0 : left > SS_SWEEP_MS ? SS_SWEEP_MS : (int)left;
}

struct sessions *
sessions_new(const struct ss_opts *o, char *err, size_t errlen)
{
	struct sessions	*ss;
	char		 name[160];
	unsigned	 i;

	if ((ss = calloc(1, sizeof(*ss))) == NULL ||
	    (ss->e = calloc(o->max ? o->max : 1, sizeof(*ss->e))) == NULL) {
		free(ss);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ss->o = o;
	for (i = 0; i < o->max; i++)
		ss_clear(&ss->e[i]);
	/* What an earlier store left (it was killed): gone first. */
	snprintf(name, sizeof(name), "%spyexec/%s/sessions", o->cgroup_base,
	    o->instance);
	if (sb_cgroup_sweep(o->version, name, 5000) != 0) {
		snprintf(err, errlen, "cgroup %s: an earlier store's sessions "
		    "could not be removed", name);
		free(ss->e);
		free(ss);
		return NULL;
	}
	return ss;
}

/* ------------------------------------------------------- worker side --- */

/* Whether r (n bytes) is the keeper's answer to q. */
static bool
ss_ours(const void *r, ssize_t n, const void *q)
{
	const struct ss_reply	*a = r;

	return n >= (ssize_t)offsetof(struct ss_reply, s) &&
	    a->magic == SS_MAGIC && a->seq == ((const struct ss_req *)q)->seq &&
	    a->count <= SS_LIST_MAX && n == (ssize_t)(offsetof(struct
	    ss_reply, s) + a->count * sizeof(struct ss_info));
}

int
ss_call(int fd, struct ss_req *q, struct ss_reply *r, int *fds, int maxfds,
    int *nfds, int timeout_ms)
{
	static uint32_t	 seq;
	int		 got[2 + PROTO_SESSION_MAX_CG], ng, i;

	*nfds = 0;
	q->magic = SS_MAGIC;
	q->seq = ++seq;
	if (proto_ask(fd, q, sizeof(*q), r, sizeof(*r), got,
	    2 + PROTO_SESSION_MAX_CG, &ng, timeout_ms, ss_ours) < 0)
		return -1;
	if (ng > maxfds) {	/* more than the caller takes: not kept */
		for (i = 0; i < ng; i++)
			close(got[i]);
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < ng; i++)
		fds[i] = got[i];
	*nfds = ng;
	return 0;
}
