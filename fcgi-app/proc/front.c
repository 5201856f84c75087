/*
 * front.c: the front of the worker pool.
 *
 * Theory of operation.  One unprivileged process (PYEXEC_USER, forked and
 * supervised by the master) owns the FastCGI listening socket that
 * spawn-fcgi hands the master on fd 0; the workers never accept.  Each
 * worker has a channel to the front: a SOCK_SEQPACKET socketpair the
 * master made once per slot and keeps open, so it outlives restarts of the
 * worker and of the front.  The front accepts every connection at once and
 * reads its FastCGI header with MSG_PEEK (it consumes nothing it passes
 * on: the worker reads the same bytes with libfcgi); fcgiparse.c walks
 * the records and refuses anything nginx would not send.  A connection is
 * in one of four states, each with its bound and its deadline:
 *
 *   unparsed  its header (BEGIN_REQUEST and the whole PARAMS stream) has
 *             not all come.  Watched edge-triggered (EPOLLIN|EPOLLRDHUP|
 *             EPOLLET): the bytes stay in the socket, so the front wakes
 *             only when more arrive, and peeks again then; it never polls
 *             in a loop.  It must come within PYEXEC_HEADER_TIMEOUT of the
 *             accept (nginx sends it whole, at once); at most
 *             PYEXEC_HEADER_MAX connections are being read (this state and
 *             the two answering ones below), apart from the queue, so slow
 *             or partial connections never take a queued request's place;
 *             past that bound the oldest of them is closed to make room
 *             for the new one (a new connection that is a real request
 *             completes at once and leaves the bound, while a client that
 *             holds connections open only has its own oldest closed);
 *   queued    parsed, waiting for a worker, oldest first; at most
 *             PYEXEC_QUEUE_MAX, for PYEXEC_QUEUE_TIMEOUT at most: past
 *             either, the front answers 503 with Retry-After.  Watched for
 *             a hang-up only (EPOLLRDHUP): a client that went away (nginx
 *             closes when its client does) is dropped and takes no worker.
 *             An idle worker (it said so on its channel, and the status
 *             table has it ready) gets the oldest by SCM_RIGHTS and serves
 *             it with libfcgi as if it had accepted it; it says "idle"
 *             again when it has answered;
 *   draining  a request the front answers itself: GET /health (the public
 *             view: no key, no deep=1) and GET /metrics, from the status
 *             table the master shares, so they answer while every worker
 *             is busy; its 503s; and the 403 to a request without nginx's
 *             backend secret (trust.c), which the front checks as soon as
 *             the header came, before it believes any param of it.  The front reads and drops the rest
 *             of the request (to the end of STDIN, so that closing never
 *             resets nginx's side), as it comes, for 2 s at most;
 *   writing   then writes the answer, as the socket takes it, for 2 s at
 *             most, and closes.
 *
 * A peer that hangs up (EPOLLRDHUP, or a peek that reads 0 bytes) is
 * dropped at once in any state.  Every connection closed without an
 * answer is counted in /metrics (pyexec_front_dropped_total, by reason)
 * and logged, once a second at most.
 *
 * The front never runs code and never parses a body.  On SIGTERM (the
 * master's drain, which has already kept new connections away:
 * fcgi-app/proc/master.c) it accepts what the kernel still holds until the
 * socket has been quiet for FRONT_QUIET_MS, closes it, hands every queued
 * connection to a worker as usual and ends when none is left: a drain
 * loses no request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc.h"
#include "fcgiparse.h"

#define FRONT_QUIET_MS	100	/* draining: no connection for this long */
#define FRONT_ANSWER_MS	2000	/* reading the rest of a request, then
				 * writing its answer: each at most */
#define FRONT_ACCEPTS	64	/* connections accepted per turn */
#define FRONT_PAUSE_MS	100	/* no descriptor left: the listener rests */
#define FRONT_DRAIN	65536	/* bytes read and dropped per wake-up */
#define FRONT_EVENTS	64	/* epoll events per turn */

/* epoll_event.data.u64 of what is not a connection (a connection's is
 * its index in f->conn). */
#define FRONT_EV_LISTEN	(1ULL << 40)
#define FRONT_EV_CHAN	(1ULL << 41)	/* + the slot */

enum front_state {
	FRONT_FREE = 0,
	FRONT_UNPARSED,		/* its header has not all come */
	FRONT_QUEUED,		/* waits for a worker */
	FRONT_DRAINING,		/* answered by the front: the rest is read */
	FRONT_WRITING,		/* then the answer is written */
	FRONT_NSTATES
};

struct front_conn {
	int		 fd;
	enum front_state state;
	bool		 watched;	/* in the epoll set */
	uint64_t	 seq;		/* the accept order: oldest first */
	int64_t		 since_ms;	/* accepted */
	int64_t		 until_ms;	/* draining, writing: the deadline */
	struct front_req req;
	struct front_skip skip;		/* draining: where the records are */
	char		*out;		/* owned: the answer's records */
	size_t		 nout, off;	/* its length, and what went */
	int		 status;	/* the answer's, for the metrics */
};

struct front {
	const struct pyexec_config *cfg;	/* borrowed */
	struct shared	*sh;			/* borrowed */
	const int	*chan;			/* borrowed: the channels */
	bool		*idle;			/* owned: said "idle" */
	int		 ep;			/* owned: the epoll set */
	int		 lfd;			/* the listening socket; -1:
						 * closed (draining) */
	int64_t		 rest_until;		/* the listener rests until */
	struct front_conn *conn;		/* owned: cap of them */
	size_t		*free;			/* owned: free indexes */
	size_t		 cap, nfree;
	size_t		 n[FRONT_NSTATES];	/* connections by state */
	uint64_t	 seq;
};

static volatile sig_atomic_t front_stop;

static void
front_on_term(int sig)
{
	(void)sig;
	front_stop = 1;
}

/* Connections the front is reading or writing (unparsed, draining,
 * writing): PYEXEC_HEADER_MAX of them at most. */
static size_t
front_reading(const struct front *f)
{
	return f->n[FRONT_UNPARSED] + f->n[FRONT_DRAINING] +
	    f->n[FRONT_WRITING];
}

static void
front_set_state(struct front *f, struct front_conn *c, enum front_state s)
{
	f->n[c->state]--;
	f->n[s]++;
	c->state = s;
}

/* Watches c's socket for events (0: for nothing but errors). */
static void
front_watch(struct front *f, struct front_conn *c, uint32_t events)
{
	struct epoll_event	ev = { .events = events,
				    .data.u64 = (uint64_t)(c - f->conn) };

	if (epoll_ctl(f->ep, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
	    &ev) != 0)
		log_die(1, "front", "epoll_ctl: %s", strerror(errno));
	c->watched = true;
}

/* Closes c and frees its place.  The descriptor leaves the epoll set
 * first: a connection handed to a worker is still open there, and epoll
 * forgets a file only when its last descriptor closes. */
static void
front_close(struct front *f, struct front_conn *c)
{
	if (c->watched)
		epoll_ctl(f->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	f->n[c->state]--;
	f->n[FRONT_FREE]++;
	*c = (struct front_conn){ .fd = -1 };
	f->free[f->nfree++] = (size_t)(c - f->conn);
}

/* One log line a second at most per kind, with how many since.  kind:
 * the row of a static table of the caller's. */
static void
front_log_limited(int64_t *last_ms, unsigned *since, const char *level,
    const char *event, const char *what, const char *why)
{
	int64_t	now = clock_mono_ms();

	(*since)++;
	if (*last_ms != 0 && now - *last_ms < 1000)
		return;
	log_msg(level, event, "%s %u connection(s): %s", what, *since, why);
	*last_ms = now;
	*since = 0;
}

/* Closes c without an answer: counted by reason, logged (rate-limited). */
static void
front_drop(struct front *f, struct front_conn *c, enum met_drop why)
{
	static const struct {
		const char	*level, *text;
	} drops[MET_DROPS] = {
		[MET_DROP_HEADER_TIMEOUT] = { "warning", "its FastCGI header "
		    "did not all come within PYEXEC_HEADER_TIMEOUT" },
		[MET_DROP_EVICTED] = { "warning", "the oldest of "
		    "PYEXEC_HEADER_MAX connections being read, closed for a "
		    "new one" },
		[MET_DROP_HANGUP] = { "info", "the peer hung up before a "
		    "worker took it" },
		[MET_DROP_MALFORMED] = { "warning", "not a FastCGI request as "
		    "nginx sends them" },
	};
	static int64_t	last_ms[MET_DROPS];
	static unsigned	since[MET_DROPS];

	metrics_add(&f->sh->met.front_drops[why], 1);
	front_log_limited(&last_ms[why], &since[why], drops[why].level,
	    "connection", "closed", drops[why].text);
	front_close(f, c);
}

/* Appends one record to c's answer (front_records() made room). */
static void
front_record(struct front_conn *c, size_t *len, int type, const char *p,
    size_t n)
{
	unsigned char	h[8] = { FCGI_VERSION_1, (unsigned char)type,
			    (unsigned char)(c->req.id >> 8),
			    (unsigned char)c->req.id, (unsigned char)(n >> 8),
			    (unsigned char)n, 0, 0 };

	memcpy(c->out + *len, h, 8);
	if (n > 0)
		memcpy(c->out + *len + 8, p, n);
	*len += 8 + n;
}

/* c's answer as records: the head and the body on STDOUT, in chunks of
 * 32 KiB, the empty STDOUT record and END_REQUEST.  -1: no memory. */
static int
front_records(struct front_conn *c, const char *head, const char *body)
{
	static const char end[8] = { 0 };	/* status 0, complete */
	size_t		hn = strlen(head), bn = strlen(body), off, chunk;
	size_t		len = 0;

	if ((c->out = malloc(hn + bn + 8 * (bn / 32768 + 5) + 8)) == NULL)
		return -1;
	front_record(c, &len, FCGI_STDOUT, head, hn);
	for (off = 0; off < bn; off += chunk) {
		chunk = bn - off > 32768 ? 32768 : bn - off;
		front_record(c, &len, FCGI_STDOUT, body + off, chunk);
	}
	front_record(c, &len, FCGI_STDOUT, NULL, 0);
	front_record(c, &len, FCGI_END, end, 8);
	c->nout = len;
	return 0;
}

/* Writes what the socket takes of the answer; closes c once it all went
 * (counted in the requests), or when the peer is gone. */
static void
front_flush(struct front *f, struct front_conn *c)
{
	ssize_t	w;

	while (c->off < c->nout) {
		w = send(c->fd, c->out + c->off, c->nout - c->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0)
			c->off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN) {
			front_watch(f, c, EPOLLOUT);
			return;
		} else {
			front_close(f, c);
			return;
		}
	}
	metrics_request(&f->sh->met, route_series(c->req.path, NULL), c->status);
	front_close(f, c);
}

static void
front_start_writing(struct front *f, struct front_conn *c)
{
	front_set_state(f, c, FRONT_WRITING);
	c->until_ms = clock_mono_ms() + FRONT_ANSWER_MS;
	front_flush(f, c);
}

/* Reads and drops what came of the request, to the end of STDIN; then
 * writes the answer.  At most FRONT_DRAIN bytes a call (the socket stays
 * readable: the next turn goes on). */
static void
front_drain(struct front *f, struct front_conn *c)
{
	static unsigned char	 buf[16384];
	size_t			 got = 0;
	ssize_t			 r;

	while (got < FRONT_DRAIN) {
		r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			front_watch(f, c, EPOLLIN | EPOLLRDHUP);
			return;
		}
		if (r < 0) {
			front_close(f, c);
			return;
		}
		/* The end of STDIN, a record we cannot follow, or the peer
		 * sends no more: answer. */
		if (r == 0 || front_skip(&c->skip, buf, (size_t)r) != FRONT_MORE) {
			front_start_writing(f, c);
			return;
		}
		got += (size_t)r;
	}
}

/* Answers c with status, headers and body (copied): reads the rest of the
 * request first, as it comes, then writes, and closes. */
static void
front_answer(struct front *f, struct front_conn *c, int status,
    const char *headers, const char *body)
{
	char	*head = NULL;

	if (asprintf(&head, "Status: %d %s\r\n%sCache-Control: no-store\r\n"
	    "Content-Length: %zu\r\n\r\n", status, envelope_reason(status),
	    headers, strlen(body)) < 0 || front_records(c, head, body) != 0) {
		free(head);
		front_close(f, c);
		return;
	}
	free(head);
	c->status = status;
	c->skip = (struct front_skip){ .nhdr = 0 };
	front_set_state(f, c, FRONT_DRAINING);
	c->until_ms = clock_mono_ms() + FRONT_ANSWER_MS;
	front_drain(f, c);
}

/* An error envelope with nginx's invocationId (or ours); extra: more
 * header lines, or "". */
static void
front_error(struct front *f, struct front_conn *c, int status,
    const char *code, const char *msg, const char *extra)
{
	char	id[UUID_STR_LEN], *body, hdr[128];

	if (c->req.inv[0] != '\0')
		snprintf(id, sizeof(id), "%s", c->req.inv);
	else
		envelope_uuid4(id);
	body = envelope_error(id, code, msg);
	snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\n%s",
	    extra);
	front_answer(f, c, status, hdr, body != NULL ? body : "{}");
	free(body);
}

/* 503: no worker within the queue's bounds. */
static void
front_refuse(struct front *f, struct front_conn *c, const char *why)
{
	static int64_t	last_ms;
	static unsigned	since;
	char		retry[48];

	metrics_add(&f->sh->met.queue_rejections, 1);
	front_log_limited(&last_ms, &since, "warning", "overload", "503 to",
	    why);
	snprintf(retry, sizeof(retry), "Retry-After: %u\r\n",
	    f->cfg->queue_retry_after);
	front_error(f, c, 503, "overloaded", why, retry);
}

/* /health, /metrics and / without a worker. */
static void
front_status(struct front *f, struct front_conn *c)
{
	char	*body;
	int	 status = 200;

	if (strcmp(c->req.path, "/metrics") == 0) {
		if (!c->req.key_valid && !metrics_allowed(f->cfg->metrics_allow,
		    c->req.addr)) {
			front_error(f, c, 403, "forbidden", "/metrics: only for "
			    "the addresses in PYEXEC_METRICS_ALLOW, or with an "
			    "API key", "");
			return;
		}
		if (!f->cfg->metrics) {
			front_error(f, c, 404, "not_found", "/metrics: off "
			    "(PYEXEC_METRICS=0)", "");
			return;
		}
		body = metrics_render(f->sh, f->cfg, route_names(),
		    route_dialects(), route_count());
		front_answer(f, c, body != NULL ? 200 : 500, "Content-Type: "
		    "text/plain; version=0.0.4; charset=utf-8\r\n",
		    body != NULL ? body : "");
	} else if (strcmp(c->req.path, "/") == 0) {
		front_answer(f, c, 200, "Content-Type: application/json\r\n",
		    ROUTE_ROOT_ANSWER);
		return;
	} else {
		body = status_health(f->sh, &status);
		front_answer(f, c, body != NULL ? status : 500,
		    "Content-Type: application/json\r\n", body != NULL ? body : "{}");
	}
	free(body);
}

/* Whether the front answers c itself. */
static bool
front_serves(const struct front_req *r)
{
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return false;
	switch (route_front(r->path)) {
	case ROUTE_FRONT_ALWAYS:
		return true;
	case ROUTE_FRONT_PUBLIC:
		/* The public /health; with a key (pids, checks, a self-test
		 * at most 10 s old) or deep=1 it is a worker's. */
		return !r->key_valid && strstr(r->query, "deep=1") == NULL;
	default:
		return false;
	}
}

/* Whether c carries nginx's secret (trust.c); what it sent is wiped. */
static bool
front_trusted(const struct front *f, struct front_conn *c)
{
	bool	ok = trust_check(&f->cfg->backend_secret, c->req.secret,
		    c->req.secret_len);

	explicit_bzero(c->req.secret, sizeof(c->req.secret));
	return ok;
}

/* 403 to a request without nginx's secret.  None of its params is
 * believed: it is answered with an id of ours, counted under no route,
 * and logged (rate-limited) with its peer, never what it sent. */
static void
front_untrusted(struct front *f, struct front_conn *c)
{
	static int64_t	last_ms;
	static unsigned	since;
	char		peer[96], why[160];

	metrics_add(&f->sh->met.untrusted_requests, 1);
	trust_peer(c->fd, peer, sizeof(peer));
	snprintf(why, sizeof(why), "not from nginx (the last from %s: "
	    TRUST_PARAM " %s)", peer, c->req.secret_sent ? "wrong" : "missing");
	front_log_limited(&last_ms, &since, "warning", "untrusted", "403 to",
	    why);
	c->req.path[0] = c->req.inv[0] = '\0';
	front_error(f, c, 403, TRUST_CODE, trust_refusal(c->req.secret_sent),
	    "");
}

/* c's header came whole: the front answers it, or it joins the queue
 * (503 when PYEXEC_QUEUE_MAX are there).  First of all: whether it is
 * nginx's. */
static void
front_parsed(struct front *f, struct front_conn *c)
{
	if (!front_trusted(f, c)) {
		front_untrusted(f, c);
		return;
	}
	if (front_serves(&c->req)) {
		front_status(f, c);
		return;
	}
	if (f->n[FRONT_QUEUED] >= f->cfg->queue_max) {
		front_refuse(f, c, "the queue for a worker is full");
		return;
	}
	front_set_state(f, c, FRONT_QUEUED);
	front_watch(f, c, EPOLLRDHUP);
}

/* Looks again at what came of c's header (an unparsed connection). */
static void
front_look(struct front *f, struct front_conn *c)
{
	static unsigned char	buf[FRONT_PEEK], params[FRONT_PEEK];
	ssize_t			n;

	do
		n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		n = 0;			/* nothing yet */
	else if (n <= 0) {
		front_drop(f, c, MET_DROP_HANGUP);
		return;
	}
	switch (front_walk(&c->req, buf, (size_t)n, sizeof(buf), params)) {
	case FRONT_BAD:
		front_drop(f, c, MET_DROP_MALFORMED);
		break;
	case FRONT_MORE:
		/* Edge-triggered: the next wake-up is the next bytes. */
		if (!c->watched)
			front_watch(f, c, EPOLLIN | EPOLLRDHUP | EPOLLET);
		break;
	case FRONT_DONE:
		front_parsed(f, c);
		break;
	}
}

/* An event on connection c. */
static void
front_event(struct front *f, struct front_conn *c, uint32_t ev)
{
	bool	gone = ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);

	switch (c->state) {
	case FRONT_UNPARSED:
	case FRONT_QUEUED:
		if (gone)
			front_drop(f, c, MET_DROP_HANGUP);
		else if (c->state == FRONT_UNPARSED && (ev & EPOLLIN))
			front_look(f, c);
		break;
	case FRONT_DRAINING:
		front_drain(f, c);
		break;
	case FRONT_WRITING:
		front_flush(f, c);
		break;
	default:
		break;
	}
}

/* The oldest connection being read (unparsed, draining or writing). */
static struct front_conn *
front_oldest_reading(struct front *f)
{
	struct front_conn	*o = NULL, *c;
	size_t			 i;

	for (i = 0; i < f->cap; i++) {
		c = &f->conn[i];
		if ((c->state == FRONT_UNPARSED || c->state == FRONT_DRAINING ||
		    c->state == FRONT_WRITING) && (o == NULL || c->seq < o->seq))
			o = c;
	}
	return o;
}

/* The oldest queued connection, or NULL. */
static struct front_conn *
front_oldest_queued(struct front *f)
{
	struct front_conn	*o = NULL, *c;
	size_t			 i;

	if (f->n[FRONT_QUEUED] == 0)
		return NULL;
	for (i = 0; i < f->cap; i++) {
		c = &f->conn[i];
		if (c->state == FRONT_QUEUED && (o == NULL || c->seq < o->seq))
			o = c;
	}
	return o;
}

/* Stops (rest_until in the future) or starts watching the listener. */
static void
front_watch_listener(struct front *f, bool on)
{
	struct epoll_event	ev = { .events = on ? EPOLLIN : 0,
				    .data.u64 = FRONT_EV_LISTEN };

	if (f->lfd >= 0)
		epoll_ctl(f->ep, EPOLL_CTL_MOD, f->lfd, &ev);
}

/* One connection from the listener, or -1 when none is waiting.  With no
 * descriptor left, the listener rests FRONT_PAUSE_MS (it would wake the
 * front at once, again and again). */
static int
front_accept_one(struct front *f)
{
	static int64_t	last_ms;
	static unsigned	since;
	int		fd;

	while ((fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 &&
	    errno == EINTR)
		;
	if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
	    errno == ENOBUFS || errno == ENOMEM)) {
		front_log_limited(&last_ms, &since, "error", "front",
		    "could not accept", strerror(errno));
		f->rest_until = clock_mono_ms() + FRONT_PAUSE_MS;
		front_watch_listener(f, false);
	}
	return fd;
}

/* Accepts what is waiting, FRONT_ACCEPTS at most a turn, and looks at
 * each one's header at once: nginx's has come whole.  A new connection
 * counts as being read: past PYEXEC_HEADER_MAX of those, the oldest goes.
 * The connections stay blocking (the front itself reads and writes them
 * with MSG_DONTWAIT): the worker's libfcgi reads and writes them as its
 * own.  Returns how many it accepted. */
static int
front_accept(struct front *f)
{
	struct front_conn	*c;
	int			 fd, n;

	for (n = 0; n < FRONT_ACCEPTS && f->lfd >= 0; n++) {
		if ((fd = front_accept_one(f)) < 0)
			break;
		if (front_reading(f) >= f->cfg->header_max)
			front_drop(f, front_oldest_reading(f), MET_DROP_EVICTED);
		c = &f->conn[f->free[--f->nfree]];
		*c = (struct front_conn){ .fd = fd, .state = FRONT_UNPARSED,
		    .seq = f->seq++, .since_ms = clock_mono_ms() };
		f->n[FRONT_FREE]--;
		f->n[FRONT_UNPARSED]++;
		front_look(f, c);
	}
	return n;
}

/* Deadlines: a header that did not come, a request that waited too long
 * for a worker, an answer that could not be read or written. */
static void
front_expire(struct front *f)
{
	int64_t		 now = clock_mono_ms();
	int64_t		 ht = (int64_t)f->cfg->header_timeout * 1000;
	int64_t		 qt = (int64_t)(f->cfg->queue_timeout * 1000);
	struct front_conn *c;
	size_t		 i;
	char		 why[160];

	for (i = 0; i < f->cap; i++) {
		c = &f->conn[i];
		if (c->state == FRONT_UNPARSED && now - c->since_ms >= ht)
			front_drop(f, c, MET_DROP_HEADER_TIMEOUT);
		else if (c->state == FRONT_QUEUED && now - c->since_ms >= qt) {
			snprintf(why, sizeof(why), "every worker is busy: the "
			    "request waited %g s (PYEXEC_QUEUE_TIMEOUT) for one; "
			    "retry later", f->cfg->queue_timeout);
			front_refuse(f, c, why);
		} else if (c->state == FRONT_DRAINING && now >= c->until_ms)
			front_start_writing(f, c);
		else if (c->state == FRONT_WRITING && now >= c->until_ms)
			front_close(f, c);
	}
}

/* The epoll timeout: the next deadline, 1 s at most. */
static int
front_wait_ms(const struct front *f)
{
	int64_t	now = clock_mono_ms(), t = 1000, d;
	int64_t	ht = (int64_t)f->cfg->header_timeout * 1000;
	int64_t	qt = (int64_t)(f->cfg->queue_timeout * 1000);
	const struct front_conn *c;
	size_t	i;

	if (f->rest_until > 0 && f->rest_until - now < t)
		t = f->rest_until - now;
	if (f->n[FRONT_FREE] == f->cap)
		return t < 0 ? 0 : (int)t;
	for (i = 0; i < f->cap; i++) {
		c = &f->conn[i];
		if (c->state == FRONT_UNPARSED)
			d = c->since_ms + ht - now;
		else if (c->state == FRONT_QUEUED)
			d = c->since_ms + qt - now;
		else if (c->state != FRONT_FREE)
			d = c->until_ms - now;
		else
			continue;
		if (d < t)
			t = d;
	}
	return t < 0 ? 0 : (int)t;
}

/* Hands the oldest queued connections to idle workers. */
static void
front_dispatch(struct front *f)
{
	char		 b = 'C';
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct iovec	 iov = { &b, 1 };
	struct msghdr	 mh = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr	*cm;
	struct front_conn *c;
	size_t		 k;

	while ((c = front_oldest_queued(f)) != NULL) {
		for (k = 0; k < f->sh->nslots; k++)
			if (f->idle[k] && f->sh->slot[k].worker_pid > 0 &&
			    f->sh->slot[k].state == SLOT_READY)
				break;
		if (k == f->sh->nslots)
			return;
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &c->fd, sizeof(int));
		f->idle[k] = false;		/* handed one, or try another */
		if (sendmsg(f->chan[k], &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
			front_close(f, c);
	}
}

/* What the workers said: 'I', idle. */
static void
front_listen_worker(struct front *f, size_t k, uint32_t ev)
{
	char	b[16];
	ssize_t	n;

	/* The master keeps the other end of every channel: a hang-up means
	 * it is gone, and so is the service. */
	if (ev & (EPOLLHUP | EPOLLERR))
		log_die(1, "front", "slot %zu: the channel hung up (the "
		    "master is gone)", k);
	while ((n = recv(f->chan[k], b, sizeof(b), MSG_DONTWAIT)) > 0)
		if (b[n - 1] == 'I')
			f->idle[k] = true;
}

/*
 * Draining: closes the listening socket once nothing came for
 * FRONT_QUIET_MS (the master stopped new connections first).
 */
static void
front_drain_intake(struct front *f, int64_t *last_ms)
{
	int64_t	now = clock_mono_ms();

	if (f->lfd < 0)
		return;
	if (*last_ms == 0) {
		*last_ms = now;
		log_msg("info", "front", "draining: taking what is queued");
	}
	if (now - *last_ms < FRONT_QUIET_MS)
		return;
	epoll_ctl(f->ep, EPOLL_CTL_DEL, f->lfd, NULL);
	close(f->lfd);
	f->lfd = -1;
}

/* One turn: wait, take the events (connections first, so that none of
 * this turn's events is for a place the accept reused), accept, expire,
 * hand over. */
static void
front_turn(struct front *f, int64_t *last_ms)
{
	struct epoll_event	 ev[FRONT_EVENTS];
	bool			 incoming = false;
	int			 i, n, t;

	t = front_wait_ms(f);
	if (front_stop && f->lfd >= 0 && t > FRONT_QUIET_MS / 4)
		t = FRONT_QUIET_MS / 4;
	if ((n = epoll_wait(f->ep, ev, FRONT_EVENTS, t)) < 0) {
		if (errno != EINTR)
			log_die(1, "front", "epoll_wait: %s", strerror(errno));
		n = 0;
	}
	for (i = 0; i < n; i++) {
		if (ev[i].data.u64 == FRONT_EV_LISTEN)
			incoming = true;
		else if (ev[i].data.u64 >= FRONT_EV_CHAN)
			front_listen_worker(f, ev[i].data.u64 - FRONT_EV_CHAN,
			    ev[i].events);
		else
			front_event(f, &f->conn[ev[i].data.u64], ev[i].events);
	}
	if (f->rest_until > 0 && clock_mono_ms() >= f->rest_until) {
		f->rest_until = 0;
		front_watch_listener(f, true);
	}
	if (incoming && f->lfd >= 0 && f->rest_until == 0 && front_accept(f) &&
	    front_stop)
		*last_ms = clock_mono_ms();
	front_expire(f);
	front_dispatch(f);
}

static void
front_loop(struct front *f)
{
	struct epoll_event	ev = { .events = EPOLLIN };
	size_t			k;
	int64_t			last_ms = 0;	/* draining: the last accept */

	for (k = 0; k < f->sh->nslots; k++) {
		ev.data.u64 = FRONT_EV_CHAN + k;
		if (epoll_ctl(f->ep, EPOLL_CTL_ADD, f->chan[k], &ev) != 0)
			log_die(1, "front", "epoll_ctl: %s", strerror(errno));
		send(f->chan[k], "H", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	ev.data.u64 = FRONT_EV_LISTEN;
	if (epoll_ctl(f->ep, EPOLL_CTL_ADD, f->lfd, &ev) != 0)
		log_die(1, "front", "epoll_ctl: %s", strerror(errno));
	while (f->lfd >= 0 || f->n[FRONT_FREE] < f->cap) {
		if (front_stop)
			front_drain_intake(f, &last_ms);
		front_turn(f, &last_ms);
	}
}

/* Raises the soft descriptor limit to what the bounds need (the hard
 * limit permitting): every connection held, the channels, a few more. */
static void
front_fd_limit(const struct front *f)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)(f->cap + f->sh->nslots + 32);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ?
	    rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
		log_msg("warning", "front", "%llu descriptors at most, for "
		    "PYEXEC_QUEUE_MAX + PYEXEC_HEADER_MAX + the workers (%llu): "
		    "lower them, or raise LimitNOFILE", (unsigned long long)
		    rl.rlim_cur, (unsigned long long)need);
}

void
front_main(const struct pyexec_config *c, struct shared *sh, const int *chan)
{
	struct front	 f = { .cfg = c, .sh = sh, .chan = chan, .lfd = 0,
			    .cap = (size_t)c->queue_max + c->header_max };
	size_t		 i;

	drop_privileges(c);
	/* The handlers first, then unblock what the master blocks (drop.c). */
	drop_signals(front_on_term, (const int[]){ SIGPIPE, 0 });
	if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) != 0)
		log_die(1, "front", "the listening socket: %s", strerror(errno));
	if ((f.idle = calloc(sh->nslots, sizeof(*f.idle))) == NULL ||
	    (f.conn = calloc(f.cap, sizeof(*f.conn))) == NULL ||
	    (f.free = calloc(f.cap, sizeof(*f.free))) == NULL)
		log_die(1, "front", "out of memory");
	if ((f.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_die(1, "front", "epoll_create1: %s", strerror(errno));
	for (i = 0; i < f.cap; i++) {
		f.conn[i].fd = -1;
		f.free[i] = f.cap - 1 - i;	/* the first places first */
	}
	f.nfree = f.cap;
	f.n[FRONT_FREE] = f.cap;
	front_fd_limit(&f);
	front_loop(&f);
	drop_exit(0);
}
