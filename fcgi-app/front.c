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
 * on), then:
 *
 *   - GET /health (the public view: no key, no deep=1) and GET /metrics
 *     it answers itself, from the status table the master shares: they
 *     answer while every worker is busy;
 *   - anything else joins a FIFO.  A worker that is idle (it said so on
 *     its channel, and the status table has it ready) gets the oldest
 *     connection by SCM_RIGHTS and serves it with libfcgi as if it had
 *     accepted it; it says "idle" again when it has answered;
 *   - a connection that waited PYEXEC_QUEUE_TIMEOUT for a worker, or that
 *     finds PYEXEC_QUEUE_MAX ahead of it, gets a 503 JSON envelope with
 *     Retry-After from the front itself.  Nothing waits in the kernel's
 *     backlog or until nginx's own timeout.
 *
 * The front never runs code and never reads a body; the bodies of the
 * requests it answers itself (a GET's, or a refused one's) it reads and
 * drops.  On SIGTERM (the master's drain, which has already kept new
 * connections away: fcgi-app/master.c) it accepts what the kernel still
 * holds until the socket has been quiet for FRONT_QUIET_MS, closes it,
 * hands every queued connection to a worker as usual and ends when none
 * is left: a drain loses no request.
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
#include <sys/time.h>
#include <unistd.h>

#include "pyexec.h"

#define FCGI_BEGIN	1
#define FCGI_END	3
#define FCGI_PARAMS	4
#define FCGI_STDIN	5
#define FCGI_STDOUT	6

#define FRONT_PEEK	65536	/* bytes of header we look at, at most */
#define FRONT_PARSE_MS	5000	/* a connection that sends no header */
#define FRONT_RETRY_MS	2	/* a header that came in part: look again */
#define FRONT_QUIET_MS	100	/* draining: no connection for this long */

struct front_req {
	unsigned	 id;		/* the FastCGI request id */
	char		 path[256], query[256], method[16];
	char		 inv[UUID_STR_LEN];	/* PYEXEC_REQUEST_ID */
	char		 addr[64];		/* REMOTE_ADDR */
	bool		 key_valid;
};

struct front_conn {
	int		 fd;
	int64_t		 since_ms;	/* accepted */
	int64_t		 retry_ms;	/* not before: a partial header */
	bool		 parsed;
	struct front_req req;
};

struct front {
	const struct pyexec_config *cfg;	/* borrowed */
	struct shared	*sh;			/* borrowed */
	const int	*chan;			/* borrowed: the channels */
	bool		*idle;			/* owned: said "idle" */
	struct front_conn *conn;		/* owned: pending, then queue */
	size_t		 nconn, cap;
};

static volatile sig_atomic_t front_stop;

static void
front_on_term(int sig)
{
	(void)sig;
	front_stop = 1;
}

/* One name-value length: 1 byte, or 4 with the top bit set. */
static size_t
front_len(const unsigned char *p, size_t n, size_t *i)
{
	size_t	v;

	if (*i >= n)
		return (size_t)-1;
	if (p[*i] < 0x80)
		return p[(*i)++];
	if (*i + 4 > n)
		return (size_t)-1;
	v = ((size_t)(p[*i] & 0x7f) << 24) | ((size_t)p[*i + 1] << 16) |
	    ((size_t)p[*i + 2] << 8) | p[*i + 3];
	*i += 4;
	return v;
}

static void
front_param(struct front_req *r, const char *name, size_t nl,
    const char *val, size_t vl)
{
	static const struct { const char *n; size_t off, size; } want[] = {
#define W(n, m)	{ n, offsetof(struct front_req, m), \
	sizeof(((struct front_req *)0)->m) }
		W("DOCUMENT_URI", path), W("QUERY_STRING", query),
		W("REQUEST_METHOD", method), W("PYEXEC_REQUEST_ID", inv),
		W("REMOTE_ADDR", addr),
#undef W
	};
	size_t	i;

	if (nl == 16 && memcmp(name, "PYEXEC_KEY_VALID", 16) == 0)
		r->key_valid = vl == 1 && val[0] == '1';
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strlen(want[i].n) == nl && memcmp(want[i].n, name, nl) == 0 &&
		    vl < want[i].size) {
			memcpy((char *)r + want[i].off, val, vl);
			((char *)r + want[i].off)[vl] = '\0';
		}
}

/* The params of the PARAMS stream in p (all of it). */
static int
front_params(struct front_req *r, const unsigned char *p, size_t n)
{
	size_t	i = 0, nl, vl;

	while (i < n) {
		if ((nl = front_len(p, n, &i)) == (size_t)-1 ||
		    (vl = front_len(p, n, &i)) == (size_t)-1 ||
		    nl > n - i || vl > n - i - nl)
			return -1;
		front_param(r, (const char *)p + i, nl, (const char *)p + i + nl, vl);
		i += nl + vl;
	}
	return 0;
}

/*
 * Looks at the header of c without consuming it: 1 when the PARAMS
 * stream is complete (c->req filled), 0 when nothing came yet, 2 when
 * part of it came, -1 when it is not FastCGI we serve.
 */
static int
front_peek(struct front_conn *c)
{
	static unsigned char	 buf[FRONT_PEEK], params[FRONT_PEEK];
	size_t			 i = 0, np = 0, clen, rec;
	ssize_t			 n;

	if ((n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT)) <= 0)
		return n == 0 || (errno != EAGAIN && errno != EINTR) ? -1 : 0;
	while (i + 8 <= (size_t)n) {
		clen = ((size_t)buf[i + 4] << 8) | buf[i + 5];
		rec = 8 + clen + buf[i + 6];
		if (buf[i] != 1)
			return -1;
		if (i + rec > (size_t)n)
			break;
		if (buf[i + 1] == FCGI_BEGIN)
			c->req.id = ((unsigned)buf[i + 2] << 8) | buf[i + 3];
		else if (buf[i + 1] == FCGI_PARAMS && clen == 0)
			return front_params(&c->req, params, np) == 0 ? 1 : -1;
		else if (buf[i + 1] == FCGI_PARAMS) {
			memcpy(params + np, buf + i + 8, clen);
			np += clen;
		}
		i += rec;
	}
	return (size_t)n == sizeof(buf) ? -1 : 2;
}

/* Writes all of p, waiting for the socket at most 2 s. */
static int
front_write(int fd, const void *p, size_t n)
{
	struct pollfd	pfd = { fd, POLLOUT, 0 };
	ssize_t		w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0) {
			p = (const char *)p + w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN && poll(&pfd, 1, 2000) == 1)
			continue;
		else if (w < 0 && errno == EINTR)
			continue;
		else
			return -1;
	}
	return 0;
}

static int
front_record(int fd, int type, unsigned id, const char *p, size_t n)
{
	unsigned char	h[8] = { 1, (unsigned char)type, (unsigned char)(id >> 8),
			    (unsigned char)id, (unsigned char)(n >> 8),
			    (unsigned char)n, 0, 0 };

	return front_write(fd, h, 8) != 0 || (n > 0 && front_write(fd, p, n) != 0) ?
	    -1 : 0;
}

/* Reads and drops the request (to the end of STDIN, at most 2 s), so
 * that closing never resets nginx's side, then answers status with
 * headers and body, and closes. */
static void
front_answer(struct front *f, struct front_conn *c, int status,
    const char *headers, const char *body)
{
	unsigned char	 h[8], drop[4096];
	char		*head = NULL;
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };
	int64_t		 until = clock_mono_ms() + 2000;
	struct timeval	 tv = { 0, 500000 };
	size_t		 len, off, n, chunk;
	bool		 done = false;
	ssize_t		 r;

	/* Blocking reads, each at most 0.5 s: a body still on its way (nginx
	 * sends it whole, at once) is read to its end. */
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		goto out;
	while (!done && clock_mono_ms() < until &&
	    poll(&pfd, 1, 200) == 1 && recv(c->fd, h, 8, MSG_WAITALL) == 8) {
		len = (((size_t)h[4] << 8) | h[5]) + h[6];
		done = h[1] == FCGI_STDIN && h[4] == 0 && h[5] == 0;
		if (h[1] == FCGI_BEGIN)
			c->req.id = ((unsigned)h[2] << 8) | h[3];
		for (n = 0; n < len; n += (size_t)r)
			if ((r = recv(c->fd, drop, len - n < sizeof(drop) ?
			    len - n : sizeof(drop), MSG_WAITALL)) <= 0)
				goto out;
	}
	if (asprintf(&head, "Status: %d %s\r\n%sCache-Control: no-store\r\n"
	    "Content-Length: %zu\r\n\r\n", status, envelope_reason(status),
	    headers, strlen(body)) < 0)
		goto out;
	len = strlen(head);
	if (front_record(c->fd, FCGI_STDOUT, c->req.id, head, len) != 0)
		goto out;
	for (off = 0, n = strlen(body); off < n; off += chunk) {
		chunk = n - off > 32768 ? 32768 : n - off;
		if (front_record(c->fd, FCGI_STDOUT, c->req.id, body + off,
		    chunk) != 0)
			goto out;
	}
	if (front_record(c->fd, FCGI_STDOUT, c->req.id, NULL, 0) == 0) {
		static const char end[8] = { 0 };	/* status 0, complete */

		front_record(c->fd, FCGI_END, c->req.id, end, 8);
	}
	metrics_request(&f->sh->met, route_index(c->req.path), status);
out:
	free(head);
	close(c->fd);
	c->fd = -1;
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

/* One log line a second at most, with how many were refused since. */
static void
front_log_refusal(struct front *f, const char *why)
{
	static int64_t	last_ms;
	static unsigned	since;
	int64_t		now = clock_mono_ms();

	(void)f;
	since++;
	if (last_ms != 0 && now - last_ms < 1000)
		return;
	log_msg("warning", "overload", "503 to %u request(s): %s", since, why);
	last_ms = now;
	since = 0;
}

/* 503: no worker within the queue's bounds. */
static void
front_refuse(struct front *f, struct front_conn *c, const char *why)
{
	char	retry[48];

	metrics_add(&f->sh->met.queue_rejections, 1);
	front_log_refusal(f, why);
	snprintf(retry, sizeof(retry), "Retry-After: %u\r\n",
	    f->cfg->queue_retry_after);
	front_error(f, c, 503, "overloaded", why, retry);
}

/* /health and /metrics without a worker. */
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
		body = metrics_render(f->sh, f->cfg, route_names(), route_count());
		front_answer(f, c, body != NULL ? 200 : 500, "Content-Type: "
		    "text/plain; version=0.0.4; charset=utf-8\r\n",
		    body != NULL ? body : "");
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
	if (strcmp(r->path, "/metrics") == 0)
		return true;
	/* The public /health; with a key (pids, checks, a self-test at most
	 * 10 s old) or deep=1 it is a worker's. */
	return strcmp(r->path, "/health") == 0 && !r->key_valid &&
	    strstr(r->query, "deep=1") == NULL;
}

/* Hands the oldest queued connection to idle workers. */
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
	size_t		 i, k;

	for (i = 0; i < f->nconn; i++) {
		if (!f->conn[i].parsed)
			continue;
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
		memcpy(CMSG_DATA(cm), &f->conn[i].fd, sizeof(int));
		if (sendmsg(f->chan[k], &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) {
			f->idle[k] = false;	/* try another */
			i--;
			continue;
		}
		f->idle[k] = false;
		close(f->conn[i].fd);
		f->conn[i].fd = -1;
	}
}

/* Drops the closed connections, keeping the order. */
static void
front_compact(struct front *f)
{
	size_t	i, j;

	for (i = j = 0; i < f->nconn; i++)
		if (f->conn[i].fd >= 0)
			f->conn[j++] = f->conn[i];
	f->nconn = j;
}

/* Accepts what is waiting; past the queue's bound, refuses at once.  The
 * connections stay blocking (the front itself only peeks and writes with
 * MSG_DONTWAIT): the worker's libfcgi reads and writes them as its own.
 * Returns how many it accepted. */
static int
front_accept(struct front *f, int lfd)
{
	int	fd, n = 0;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		n++;
		if (f->nconn == f->cap) {
			struct front_conn over = { .fd = fd };

			over.since_ms = clock_mono_ms();
			front_refuse(f, &over, "the queue for a worker is full");
			continue;
		}
		f->conn[f->nconn++] = (struct front_conn){ .fd = fd,
		    .since_ms = clock_mono_ms() };
	}
	return n;
}

/* Looks at the headers that came; times the queue out. */
static void
front_tick(struct front *f)
{
	int64_t		 now = clock_mono_ms();
	int64_t		 qt = (int64_t)(f->cfg->queue_timeout * 1000);
	struct front_conn *c;
	size_t		 i;
	char		 why[160];
	int		 rc;

	for (i = 0; i < f->nconn; i++) {
		c = &f->conn[i];
		if (!c->parsed && now >= c->retry_ms) {
			if ((rc = front_peek(c)) < 0 ||
			    (rc == 0 && now - c->since_ms > FRONT_PARSE_MS)) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->parsed = rc == 1;
			/* Part of a header: look again soon, not at every wake-up. */
			c->retry_ms = rc == 2 ? now + FRONT_RETRY_MS : 0;
			if (c->parsed && front_serves(&c->req)) {
				front_status(f, c);
				continue;
			}
		}
		if (c->parsed && now - c->since_ms >= qt) {
			snprintf(why, sizeof(why), "every worker is busy: the "
			    "request waited %g s (PYEXEC_QUEUE_TIMEOUT) for one; "
			    "retry later", f->cfg->queue_timeout);
			front_refuse(f, c, why);
		}
	}
}

/* What the workers said: 'I', idle. */
static void
front_listen_workers(struct front *f, const struct pollfd *p)
{
	size_t	k;
	char	b[16];
	ssize_t	n;

	for (k = 0; k < f->sh->nslots; k++) {
		/* The master keeps the other end of every channel: a hang-up
		 * means it is gone, and so is the service. */
		if (p[k].revents & (POLLHUP | POLLERR))
			log_die(1, "front", "slot %zu: the channel hung up (the "
			    "master is gone)", k);
		if (!(p[k].revents & POLLIN))
			continue;
		while ((n = recv(f->chan[k], b, sizeof(b), MSG_DONTWAIT)) > 0)
			if (b[n - 1] == 'I')
				f->idle[k] = true;
	}
}

/* The poll timeout: the next deadline of a queued or partial connection. */
static int
front_wait_ms(const struct front *f)
{
	int64_t	now = clock_mono_ms(), qt = (int64_t)(f->cfg->queue_timeout * 1000);
	int64_t	t = 1000, d;
	size_t	i;

	for (i = 0; i < f->nconn; i++) {
		if (f->conn[i].parsed)
			d = f->conn[i].since_ms + qt - now;
		else if (f->conn[i].retry_ms > 0)
			d = f->conn[i].retry_ms - now;
		else
			d = f->conn[i].since_ms + FRONT_PARSE_MS - now;
		if (d < t)
			t = d;
	}
	return t < 0 ? 0 : (int)t;
}

/*
 * Draining: closes the listening socket once nothing came for
 * FRONT_QUIET_MS (the master stopped new connections first).  Returns
 * the socket, or -1 once closed.
 */
static int
front_drain_intake(int lfd, int64_t *last_ms)
{
	int64_t	now = clock_mono_ms();

	if (lfd < 0)
		return -1;
	if (*last_ms == 0) {
		*last_ms = now;
		log_msg("info", "front", "draining: taking what is queued");
	}
	if (now - *last_ms < FRONT_QUIET_MS)
		return lfd;
	close(lfd);
	return -1;
}

static void
front_loop(struct front *f, int lfd)
{
	struct pollfd	*p;
	size_t		 k, i, m, n = f->sh->nslots;
	int64_t		 last_ms = 0;	/* draining: the last accept */
	int		 t;

	if ((p = calloc(n + 1 + f->cap, sizeof(*p))) == NULL)
		log_die(1, "front", "out of memory");
	for (k = 0; k < n; k++)
		send(f->chan[k], "H", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (lfd >= 0 || f->nconn > 0) {
		if (front_stop)
			lfd = front_drain_intake(lfd, &last_ms);
		for (k = 0; k < n; k++)
			p[k] = (struct pollfd){ f->chan[k], POLLIN, 0 };
		p[n] = (struct pollfd){ lfd, f->nconn < f->cap ? POLLIN : 0, 0 };
		/* Connections whose header has not come: wake when it does. */
		for (m = n + 1, i = 0; i < f->nconn; i++)
			if (!f->conn[i].parsed && f->conn[i].retry_ms == 0)
				p[m++] = (struct pollfd){ f->conn[i].fd, POLLIN, 0 };
		t = front_wait_ms(f);
		if (front_stop && lfd >= 0 && t > FRONT_QUIET_MS / 4)
			t = FRONT_QUIET_MS / 4;
		if (poll(p, m, t) < 0 && errno != EINTR)
			log_die(1, "front", "poll: %s", strerror(errno));
		front_listen_workers(f, p);
		if (lfd >= 0 && (p[n].revents & POLLIN) && front_accept(f, lfd) &&
		    front_stop)
			last_ms = clock_mono_ms();
		front_tick(f);
		front_compact(f);
		front_dispatch(f);
		front_compact(f);
	}
	free(p);
}

void
front_main(const struct pyexec_config *c, struct shared *sh, const int *chan)
{
	struct front	 f = { .cfg = c, .sh = sh, .chan = chan,
			    .cap = c->queue_max };
	struct sigaction sa;
	sigset_t	 none;

	worker_drop(c);
	sigemptyset(&none);			/* the master blocks them */
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) != 0)
		log_die(1, "front", "the listening socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = front_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if ((f.idle = calloc(sh->nslots, sizeof(*f.idle))) == NULL ||
	    (f.conn = calloc(f.cap, sizeof(*f.conn))) == NULL)
		log_die(1, "front", "out of memory");
	front_loop(&f, 0);
	worker_exit(0);
}
