/*
 * metrics.h (base): the table the master shares with its workers, the
 * counters in it (metrics.c) and the slots' status (status.c).  Included
 * by base.h.
 */
#ifndef PYEXEC_METRICS_H
#define PYEXEC_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sandbox.h"
#include "store.h"
#include "session.h"
#include "webguard.h"

struct pyexec_config;

/*
 * The status table the master shares with its workers (MAP_SHARED, made
 * before the first fork).  The master writes pids and restarts; each worker
 * writes only its own slot's state and run count.  It is only displayed
 * (/health) and read once at start-up for readiness: the master never
 * trusts it for anything else.
 */
enum slot_state {
	SLOT_STARTING = 0,
	SLOT_READY,
	SLOT_BUSY,
	SLOT_FAILED,
	SLOT_DOWN,
};

#define MCP_ID_MAX	80		/* a JSON-RPC id's text, with its NUL */

struct shared_slot {
	volatile int32_t	worker_pid;
	volatile int32_t	launcher_pid;
	volatile int32_t	state;		/* enum slot_state */
	volatile uint32_t	restarts;
	volatile uint64_t	runs;
	volatile int32_t	warm_bare;	/* enum proto_warm */
	volatile int32_t	warm_data;
	volatile char		modules[200];	/* the data zygote's imports */
	volatile int32_t	selftest_ok;	/* the worker's last self-test */
	volatile int64_t	selftest_at_ms;	/* monotonic; 0: never */
	volatile uint64_t	retirements;	/* zygotes replaced at their
						 * PYEXEC_WARM_MAX_* limits */
	/* The MCP tools/call its worker runs (mcp.c): its client and its
	 * JSON-RPC id ("": none), written under mcp_gen (odd while its
	 * worker writes); mcp_cancel, set by another worker, cancels it. */
	volatile uint32_t	mcp_gen;
	volatile int32_t	mcp_cancel;
	volatile char		mcp_client[WS_NAME_MAX + 1];
	volatile char		mcp_id[MCP_ID_MAX];
};

/*
 * metrics.c: the service's counters, kept in the shared mapping so they
 * survive a worker's restart, and added to with atomic adds so they are
 * exact under concurrency.  Only labels from fixed sets: never a key, a
 * code or a user's text.  GET /metrics renders them (Prometheus text
 * format 0.0.4).
 */
#define MET_BUCKETS	19		/* latency buckets, metrics.c */
#define MET_ROUTES	24		/* request series: at least routes.c's
					 * routes x dialect labels, + "-" */
#define MET_STATUSES	19		/* metrics.c's status list + "other" */
#define MET_OUTCOMES	8		/* enum run_outcome + "rejected" */
#define MET_REJECTED	7		/* the runs[] index of "rejected" */
#define MET_LLM		5		/* "ok" + the llm_err failures */
#define MET_DROPS	4		/* enum met_drop */

/* Why the front closed a connection without an answer (front.c);
 * metrics.c's met_drops[] has their labels. */
enum met_drop {
	MET_DROP_HEADER_TIMEOUT,	/* its header: not within the timeout */
	MET_DROP_EVICTED,		/* the oldest, past PYEXEC_HEADER_MAX */
	MET_DROP_HANGUP,		/* the peer went before a worker took it */
	MET_DROP_MALFORMED,		/* not FastCGI as nginx sends it */
};

struct met_hist {
	uint64_t	bucket[MET_BUCKETS];	/* not cumulative: one per le */
	uint64_t	count;
	uint64_t	sum_us;
};

struct metrics {
	uint64_t	requests[MET_ROUTES][MET_STATUSES];
	uint64_t	runs[MET_OUTCOMES];
	uint64_t	llm_calls[MET_LLM];
	struct met_hist	run, setup, queue, llm;
	uint64_t	worker_restarts, launcher_restarts, slot_restarts;
	uint64_t	zygote_restarts, keeper_restarts;	/* workers add
					 * what their launcher's PONG says */
	uint64_t	front_restarts, store_restarts;
	uint64_t	selftest_failures;
	uint64_t	queue_rejections;
	uint64_t	keyless_refusals[WEB_NVERDICTS];	/* webguard.c */
	uint64_t	front_drops[MET_DROPS];
	uint64_t	zygote_retirements[2];	/* bare, data */
	uint64_t	untrusted_requests;	/* without nginx's secret */
};

struct shared {
	unsigned		nslots;
	int			cgversion;	/* 1 or 2 */
	struct metrics		met;
	struct ws_stats		ws;		/* the workspace store's */
	struct ss_stats		ss;		/* its live sessions' */
	struct shared_slot	slot[];
};

void		 metrics_enable(bool);
void		 metrics_add(uint64_t *, uint64_t);
void		 metrics_observe(struct met_hist *, double seconds);
void		 metrics_request(struct metrics *, unsigned route, int status);
void		 metrics_run(struct metrics *, const struct run_result *);
void		 metrics_llm(struct metrics *, int llm_err, double ms);
char		*metrics_render(const struct shared *, const struct pyexec_config *,
		    const char *const *routes, const char *const *dialects,
		    unsigned nseries);
bool		 metrics_allowed(const char *allow, const char *addr);
/* An address list (PYEXEC_METRICS_ALLOW, PYEXEC_ANONYMOUS_FROM): its
 * entries one by one; the first bad one (someone: or everyone). */
size_t		 metrics_list_next(const char **list, const char **entry);
const char	*metrics_list_bad(const char *list, bool someone, size_t *len);

/* status.c.  What a worker last heard of its slot's zygotes: the word
 * itself, and the restart counts it has added to /metrics so far. */
struct status_warm {
	struct run_warm	 last;			/* the zygotes, as last heard */
	uint8_t		 restarts[2];		/* zygote, keeper restarts
						 * its launcher said so far */
};
const char	*status_state_name(int);
struct json_object *status_slot(const struct shared_slot *, unsigned, bool detail);
char		*status_health(const struct shared *, int *http_status);
void		 status_warm_store(struct shared_slot *, struct metrics *,
		    struct status_warm *, const struct run_warm *);

struct slot;
struct run_slot;

#endif /* PYEXEC_METRICS_H */
