/*
 * store.h: workspaces, the directories that outlive a run (store.c).
 *
 * The store is a root process of its own (forked by the master, like the
 * guard).  It is the only thing that ever touches a workspace on the host:
 * each workspace is one ext4 image file under PYEXEC_WORKSPACE_DIR, sized
 * to its byte quota and made with as many inodes as its file quota, so the
 * kernel enforces both while a run writes.  The store mounts an image as a
 * detached mount (attached nowhere on the host) and hands a worker, per
 * run, a clone of it idmapped to the worker's slot; the launcher's side
 * moves that clone onto /workspace in the run's own mount namespace.
 *
 * The channel is a SOCK_SEQPACKET socketpair per slot made by the master,
 * one fixed-size message per packet, size-checked on both sides.  The
 * store takes the slot from which channel a message came on, never from
 * the message.  A slot asks one thing at a time and waits for the answer;
 * an answer that needs a slow step (making an image: mkfs; removing one:
 * its unmount) comes when a child process of the store has done it, and
 * the store serves the other slots meanwhile.
 *
 *   worker -> store   WS_ATTACH  (client, session, create): the lease of
 *                                the workspace for this slot and a clone
 *                                of its mount (SCM_RIGHTS); again for the
 *                                next run of the same request
 *                     WS_USAGE   the leased workspace's usage
 *                     WS_RELEASE the request's runs are over (every
 *                                process killed): the next request of the
 *                                workspace may have it
 *                     WS_DELETE  (client, session)
 *   store -> worker   struct ws_reply (+ the clone for WS_ATTACH)
 */
#ifndef PYEXEC_STORE_H
#define PYEXEC_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define WS_MAGIC	0x70777331u	/* "pws1" */
#define WS_NAME_MAX	64		/* client and session, bytes */

enum ws_op {
	WS_ATTACH = 1,
	WS_USAGE,
	WS_RELEASE,
	WS_DELETE,
};

enum ws_status {
	WS_OK = 0,
	WS_CREATED,		/* WS_ATTACH made it */
	WS_BUSY,		/* another slot holds its lease */
	WS_NOT_FOUND,
	WS_CLIENT_LIMIT,	/* PYEXEC_WORKSPACES_PER_CLIENT reached */
	WS_TOTAL_LIMIT,		/* PYEXEC_WORKSPACES_MAX reached */
	WS_NO_SPACE,		/* the store's disk could not hold it at its
				 * full size above its floor */
	WS_FAILED,		/* the store could not (it logged why) */
	WS_BAD,			/* a malformed message */
	WS_RATE,		/* the client's creations are past
				 * PYEXEC_WORKSPACE_CREATE_RATE (retry_s) */
	WS_NSTATUS,
};

struct ws_req {
	uint32_t	magic;
	uint32_t	op;		/* enum ws_op */
	uint32_t	seq;		/* echoed in the reply */
	uint32_t	create;		/* WS_ATTACH: make it if missing */
	char		client[WS_NAME_MAX + 8];	/* NUL-terminated */
	char		session[WS_NAME_MAX + 8];
	uint32_t	uid;		/* WS_ATTACH for a live session: the
					 * clone is idmapped to this host uid
					 * (of the sessions' range), not to
					 * the slot's runs; 0: the slot's */
	uint32_t	pad;
};

struct ws_usage {
	uint64_t	bytes, files;		/* used by the run's files */
	uint64_t	max_bytes, max_files;	/* the quota (what an empty
						 * one has free: the setting
						 * and less than 1 MiB more) */
	int64_t		created, used;		/* unix seconds */
	int64_t		expires;		/* min(used + idle, created + age) */
	uint32_t	full;			/* < 1 MiB or no inode left */
	uint32_t	pad;
};

struct ws_reply {
	uint32_t	magic;
	uint32_t	seq;
	int32_t		status;		/* enum ws_status */
	uint32_t	retry_s;	/* WS_RATE: seconds until one may be
					 * made again */
	struct ws_usage	u;
};

/* Counters the store keeps in the shared mapping for /metrics. */
enum ws_delete_reason { WS_DEL_REQUEST, WS_DEL_IDLE, WS_DEL_AGE, WS_NDEL };

struct ws_stats {
	uint64_t	attach[WS_NSTATUS];	/* by status */
	uint64_t	deleted[WS_NDEL];	/* by reason */
	uint64_t	workspaces;		/* gauge: on disk */
	uint64_t	mounts;			/* gauge: mounted */
	uint64_t	full_runs;		/* runs that ended with it full */
	uint64_t	jobs;			/* gauge: creations and removals
						 * running or queued */
	uint64_t	growth;			/* gauge: bytes the images may
						 * still take (last counted) */
};

struct store_opts {
	const char	*dir;		/* PYEXEC_WORKSPACE_DIR */
	const char	*instance;	/* a subdirectory per instance */
	unsigned	 nslots;
	uid_t		 uid_base;	/* slot i's runs: base + 2i + 1 */
	uint64_t	 max_bytes;	/* usable bytes per workspace */
	unsigned	 max_files;	/* inodes per workspace */
	unsigned	 per_client, max_total;
	unsigned	 idle_s, max_age_s, sweep_s;
	unsigned	 mounts;	/* mounted, unleased, kept at most */
	uint64_t	 min_free;	/* the store's disk floor, bytes */
	unsigned	 create_rate;	/* creations a minute per client, 0: any */
	unsigned	 create_burst;	/* ... and at once */
	struct ws_stats	*stats;		/* borrowed: shared mapping */
	void		(*log)(const char *level, const char *msg);
	const struct ss_opts *sessions;	/* borrowed: live sessions (session.h),
					 * kept by the store's process, or
					 * NULL: none */
};

struct ss_opts;

/* The store's process: set-up (reported on ready_fd: "ok" or the reason),
 * then serves chans[0..nslots-1].  Never returns. */
void	 store_main(const struct store_opts *, const int *chans, int ready_fd)
	    __attribute__((noreturn));

/* Names: a client 1-64 of [A-Za-z0-9:._@-]; a session 1-64 of
 * [A-Za-z0-9._-], not "." or "..". */
bool	 ws_req_valid(struct ws_req *, long n);
bool	 ws_client_ok(const char *);
bool	 ws_session_ok(const char *);
const char *ws_status_name(enum ws_status);

/* Worker side: one request and its reply within timeout_ms.  0 and the
 * reply (*mntfd: the clone, owned by the caller, or -1), or -1 (the store
 * did not answer: errno). */
int	 ws_call(int fd, struct ws_req *, struct ws_reply *, int *mntfd,
	    int timeout_ms);

#endif /* PYEXEC_STORE_H */
