/*
 * session.h: live sessions, the session keeper's table (session.c) and
 * its messages.
 *
 * A live session is an interpreter that keeps its names between calls: a
 * spare of a slot's zygote that became one (PROTO_RUN_SESSION: its own
 * pid, mount, IPC, network and UTS namespaces, its own cgroup and host
 * uid, the run's seccomp policy, rlimits and no_new_privs) and does not
 * end with the call.  The keeper is part of the store's process (root,
 * the slots' channels, a sweep): it makes each session's cgroup and
 * channel, holds the channel's host end between calls, freezes the
 * session between calls, lends it to one slot at a time, signals it at a
 * call's timeout, and ends it at its idle or age limit, on DELETE or when
 * its interpreter dies.  No session holds a slot or a worker while idle.
 *
 *   worker -> keeper  SS_CREATE  (client, name, limits): the session's
 *                                cgroup is made; the answer brings the
 *                                channel's two ends and the cgroup.procs
 *                                fds, and the slot holds its lease
 *                     SS_STARTED (ok or not): the interpreter said "R";
 *                                it is frozen and idle (or, not ok, gone)
 *                     SS_ATTACH  the lease for a call: thawed; the
 *                                channel's host end comes with the answer
 *                     SS_RELEASE (lost or not): frozen again (or ended)
 *                     SS_SIGNAL  (sig) to the interpreter of the session
 *                                the slot holds: SIGINT interrupts its
 *                                call; SIGKILL ends it
 *                     SS_LIST, SS_DELETE
 *                     SS_HELLO   a new worker of the slot: what the last
 *                                one held leased is ended
 *   keeper -> worker  struct ss_reply (+ fds, as above)
 *
 * Names are the workspace's rules (store.h): a client scope and a
 * session name; the keeper looks a session up by both, so another
 * client's name is not found (404, never 403).
 */
#ifndef PYEXEC_SESSION_H
#define PYEXEC_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "store.h"

#define SS_MAGIC	0x70737331u	/* "pss1" */
#define SS_LIST_MAX	32		/* sessions in one answer */
#define SS_UID_INSIDE	2000		/* session k: uid 2000+k in a slot */
#define SS_MAX		1024		/* PYEXEC_SESSIONS_MAX's ceiling */

enum ss_op {
	SS_CREATE = 1,
	SS_STARTED,
	SS_ATTACH,
	SS_RELEASE,
	SS_SIGNAL,
	SS_LIST,
	SS_DELETE,
	SS_HELLO,		/* a new worker of the slot: the sessions the
				 * last one held are ended (a call cut off
				 * may still answer on their channels) */
};

enum ss_status {
	SS_OK = 0,
	SS_NOT_FOUND,
	SS_EXISTS,
	SS_BUSY,		/* another slot holds its lease */
	SS_CLIENT_LIMIT,	/* PYEXEC_SESSIONS_PER_CLIENT */
	SS_TOTAL_LIMIT,		/* PYEXEC_SESSIONS_MAX */
	SS_FAILED,		/* the keeper could not (it logged why) */
	SS_BAD,
	SS_NSTATUS,
};

enum ss_state {
	SS_STATE_STARTING = 1,
	SS_STATE_IDLE,		/* frozen, between calls */
	SS_STATE_RUNNING,	/* a call holds it */
};

/* Why a session ended (the metrics' "reason"). */
enum ss_end {
	SS_END_DELETED = 0,
	SS_END_IDLE,
	SS_END_AGE,
	SS_END_KILLED,		/* a call past its timeout's grace */
	SS_END_LOST,		/* it died (memory limit, os._exit, ...) */
	SS_END_FAILED,		/* it did not start */
	SS_NEND,
};

struct ss_req {
	uint32_t	magic;
	uint32_t	op;
	uint32_t	seq;
	int32_t		sig;		/* SS_SIGNAL */
	char		client[WS_NAME_MAX + 8];
	char		name[WS_NAME_MAX + 8];
	uint64_t	memory_bytes;	/* SS_CREATE */
	double		cpu;
	uint32_t	idle_s;
	uint32_t	ok;		/* SS_STARTED: it said "R"; SS_RELEASE:
					 * it still answers (0: lost) */
	uint32_t	why;		/* SS_RELEASE, not ok: enum ss_end */
	uint32_t	nocall;		/* SS_RELEASE: the lease ran no call
					 * (a fork's): not counted */
	uint32_t	fork;		/* SS_CREATE: the copy of a fork */
	uint32_t	pad;
};

struct ss_info {
	char		name[WS_NAME_MAX + 8];
	char		cgroup[192];	/* its cgroup's name (sb_cgroup) */
	int64_t		created, used;	/* unix seconds */
	int64_t		expires;	/* min(used + idle, created + age) */
	uint64_t	memory_bytes;	/* its limit */
	uint64_t	memory_usage;	/* what it holds now */
	double		cpu;
	uint32_t	idle_s;
	uint32_t	calls;
	uint32_t	state;		/* enum ss_state */
	uint32_t	uid;		/* inside the slot (PROTO_RUN_SESSION) */
};

struct ss_reply {
	uint32_t	magic;
	uint32_t	seq;
	int32_t		status;		/* enum ss_status */
	uint32_t	count;		/* infos that follow (SS_LIST: up to
					 * SS_LIST_MAX; else 0 or 1) */
	struct ss_info	 s[SS_LIST_MAX];
};

/* Counters the keeper keeps in the shared mapping for /metrics. */
struct ss_stats {
	uint64_t	created, forked;	/* started: new, or copies */
	uint64_t	calls;
	uint64_t	ended[SS_NEND];
	uint64_t	refused[SS_NSTATUS];	/* SS_CREATE answers by status */
	uint64_t	starting, idle, running;	/* gauges */
};

struct ss_opts {
	const char	*instance;
	const char	*cgroup_base;	/* "" or the v2 delegated "path/" */
	enum sb_cgversion version;
	uid_t		 uid_base;	/* session k: host uid base + k */
	uid_t		 owner;		/* the workers' user: their knobs */
	gid_t		 group;
	unsigned	 max, per_client;
	unsigned	 idle_s, max_age_s;
	unsigned	 max_pids;
	struct ss_stats	*stats;		/* borrowed: shared mapping */
};

struct sessions;

/* Keeper side (the store's process). */
struct sessions	*sessions_new(const struct ss_opts *, char *, size_t);
void		 sessions_serve(struct sessions *, int chan, unsigned slot,
		    const struct ss_req *, long n, bool names_ok,
		    void (*log)(const char *, const char *));
void		 sessions_sweep(struct sessions *,
		    void (*log)(const char *, const char *));
int		 sessions_next_ms(const struct sessions *);
const char	*ss_status_name(enum ss_status);
const char	*ss_end_name(enum ss_end);
const char	*ss_state_name(enum ss_state);

/* Worker side: one request and its answer within timeout_ms; fds that
 * came with it into fds (at most maxfds; the caller owns them).  0, or
 * -1 (errno). */
int		 ss_call(int fd, struct ss_req *, struct ss_reply *, int *fds,
		    int maxfds, int *nfds, int timeout_ms);

#endif /* PYEXEC_SESSION_H */
