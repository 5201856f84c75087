/*
 * run.h: a run, from the worker's side (run.c): its pipes, its limits in
 * the slot's run/ cgroup, PROTO_RUN to the launcher, the output caps, and
 * the outcome from PROTO_DONE and the cgroup's counters.
 *
 * Floor: above cgroup.h and proto.h, whose functions run.c calls; below
 * slot.c.  Included by run.c, slot.c and fcgi-app/ (through sandbox.h);
 * never by the jail.
 */
#ifndef PYEXEC_RUN_H
#define PYEXEC_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

struct sb_cgroup;		/* cgroup.h */

enum run_outcome {
	RUN_COMPLETED,
	RUN_ERROR,
	RUN_TIMEOUT,
	RUN_MEMORY_LIMIT,
	RUN_OUTPUT_LIMIT,
	RUN_SIGNAL,
	RUN_CANCELLED,		/* its client hung up (run_params.watch_fd) */
};

/* The outcome's name in answers, logs and metrics (a header function, so
 * that code without the run side, such as the metrics, has it too). */
static inline const char *
run_outcome_name(enum run_outcome o)
{
	static const char *const names[] = {
		[RUN_COMPLETED] = "completed",
		[RUN_ERROR] = "error",
		[RUN_TIMEOUT] = "timeout",
		[RUN_MEMORY_LIMIT] = "memory_limit",
		[RUN_OUTPUT_LIMIT] = "output_limit",
		[RUN_SIGNAL] = "signal",
		[RUN_CANCELLED] = "cancelled",
	};

	return names[o];
}

enum run_mode {
	RUN_MODE_SCRIPT = 0,	/* the code is the program */
	RUN_MODE_MAIN,		/* the code defines main(); its value is the result */
};

/* An input file: written by the runner into the run's working directory
 * (/tmp) before the code starts. */
struct run_file {
	char		*name;		/* 1-255 bytes, checked (request.c) */
	size_t		 name_len;
	unsigned char	*data;
	size_t		 len;
};

/* Output as it comes: each piece of stdout (fd 1) or stderr (fd 2) that
 * the cap keeps, in order, while the run goes on.  0, or -1: the client
 * is gone (the run is cancelled as at a hang-up). */
typedef int	(*run_tap_fn)(void *arg, int fd, const char *p, size_t n);

struct run_params {
	const char	*code;		/* borrowed */
	size_t		 code_len;
	const char	*stdin_data;	/* borrowed, may be NULL */
	size_t		 stdin_len;
	double		 timeout;	/* seconds */
	uint64_t	 memory_bytes;
	double		 cpu_limit;
	size_t		 max_output;	/* stdout + stderr */
	enum run_mode	 mode;
	bool		 unwrap;	/* the runner unwraps dict/fenced input */
	const char	*policy;	/* borrowed: header words of the AST
					 * policy ("deny_modules=..."), or NULL */
	bool		 show;		/* the runner reports str(result) too */
	bool		 display;	/* a notebook cell: the last expression's
					 * value, tables, display() reported */
	unsigned	 cell;		/* its number (<cell N>), or 0: 1 */
	bool		 cold;		/* start python afresh, not warm */
	bool		 artifacts;	/* the runner sends figures and files */
	size_t		 art_total;	/* their caps: bytes in all, */
	size_t		 art_item;	/* ... bytes each, */
	unsigned	 art_count;	/* ... how many with data */
	bool		 data;		/* the code names a preloaded module */
	bool		 proven[2];	/* bare, data: the zygotes the worker's
					 * self-test proved, of generation */
	uint8_t		 gen[2];	/* gen: a warm run comes from no other */
	bool		 probe;		/* a self-test's run: any ready zygote,
					 * not counted toward its retirement */
	const struct run_file *files;	/* borrowed: input files, or NULL */
	unsigned	 nfiles;
	bool		 workspace;	/* the run's cwd is its workspace: */
	int		 workspace_fd;	/* borrowed: its mount (store.c) */
	run_tap_fn	 tap;		/* or NULL */
	void		*tap_arg;	/* borrowed */
	bool		 watch;		/* a hang-up of watch_fd cancels it: */
	int		 watch_fd;	/* borrowed: the client's connection */
	const volatile int32_t *cancel;	/* borrowed: set (by another process,
					 * which then signals ours) cancels
					 * it too; or NULL */
};

struct run_result {
	enum run_outcome outcome;
	int		 exit_code;	/* -1 when ended by a signal */
	int		 signal;	/* 0 when none */
	char		*out;		/* owned; captured stdout */
	size_t		 out_len;
	char		*err;		/* owned; captured stderr */
	size_t		 err_len;
	size_t		 out_total;	/* bytes the run wrote to stdout */
	size_t		 err_total;
	bool		 truncated;
	const char	*limit;		/* static: "timeout", "memory", "output" or NULL */
	double		 duration_ms;
	double		 overshoot_ms;
	double		 setup_ms;
	double		 cpu_ms;
	uint64_t	 memory_peak;
	char		*report;	/* owned; the runner's JSON report or NULL */
	size_t		 report_len;
	bool		 report_dropped; /* it passed its cap: pipe closed */
	/* report holds "<report JSON>\n<artifacts JSON>" when the run sent
	 * artifacts (run_params.artifacts); task_report() splits it. */
	bool		 warm;		/* forked from a zygote */
	bool		 warm_data;	/* ... from the data zygote */
};

/* The slot's zygotes, as the launcher reports them (PROTO_PONG). */
struct run_warm {
	enum proto_warm	 bare;
	enum proto_warm	 data;
	uint8_t		 bare_gen;	/* each zygote's (re)starts, mod 256 */
	uint8_t		 data_gen;
	uint16_t	 bare_retired;	/* retired at PYEXEC_WARM_MAX_*, */
	uint16_t	 data_retired;	/* mod 65536, since the launcher began */
	uint8_t		 zygote_restarts; /* the launcher's counts, mod 256 */
	uint8_t		 keeper_restarts;
	char		 modules[200];	/* what the data zygote imported */
};

const char	*run_warm_name(enum proto_warm);

struct run_slot {
	int		 ctl_fd;	/* borrowed: socketpair end to the launcher */
	struct sb_cgroup *cg;		/* borrowed */
	bool		 clean_pending;	/* PROTO_CLEAN of the last run not read */
};

/* run_execute(): 0 (ran), -1 (the slot failed), 1 (lost with its zygote)
 * or RUN_NO_WORKSPACE (its workspace could not be entered: not started,
 * the client's error; the slot is sound). */
#define RUN_NO_WORKSPACE	2
int		 run_execute(struct run_slot *, const struct run_params *,
		    struct run_result *, char *, size_t);
int		 run_ping(struct run_slot *, int timeout_ms, struct run_warm *);
int		 run_settle(struct run_slot *, int timeout_ms);
int		 run_ping_fd(int ctl_fd, int timeout_ms, struct run_warm *);
void		 run_result_free(struct run_result *);

/* A live session's call (session.h), made by a worker that holds its
 * lease: the channel's host end, the session's cgroup (opened), and how
 * to have the keeper signal its interpreter. */
struct run_session {
	int		 chan;		/* borrowed */
	struct sb_cgroup *cg;		/* borrowed, knobs open */
	int		(*signal)(void *arg, int sig);
	void		*arg;
	int		 grace_ms;	/* after SIGINT, before SIGKILL */
};

int		 run_session_start(struct run_slot *, const struct run_params *,
		    const int *cg_fds, int ncg, uint32_t uid, int inner,
		    int host, double *setup_ms, char *, size_t);
int		 run_session_call(struct run_session *, const struct run_params *,
		    struct run_result *, bool *lost, char *, size_t);
int		 run_session_fork(struct run_session *from, struct run_session *to,
		    int timeout_ms, char **rep_from, char **rep_to, int status[2],
		    char *, size_t);

#endif /* PYEXEC_RUN_H */
