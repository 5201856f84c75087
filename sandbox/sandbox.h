/*
 * sandbox.h: slots, their cgroups, and running code in them.
 *
 * Theory of operation (the processes and what each may do):
 *
 *   master (root)      makes each slot once at start-up: three cgroups
 *                      (sb_cgroup_*: slot-N, slot-N/launcher, slot-N/run),
 *                      then the launcher, cloned straight into new user,
 *                      pid, mount, network, ipc and uts namespaces and
 *                      attached to slot-N/launcher before it execs.  It
 *                      hands one end of a socketpair to the launcher and
 *                      the other to the slot's worker, and the launcher the
 *                      run/ cgroup's cgroup.procs files, opened.
 *   worker (user)      one per slot.  For each run it makes the run's pipes,
 *                      sets the limits and resets the counters in the run/
 *                      cgroup files it owns (and reclaims, after answering,
 *                      what the run left there),
 *                      sends PROTO_RUN with the pipes, pumps code and stdin
 *                      in and stdout, stderr and the report out with caps,
 *                      and classifies the outcome from PROTO_DONE and the
 *                      cgroup counters (run_*).
 *   launcher (pid 1)   sandbox/launcher.c, in slot-N/launcher: out of reach
 *                      of a run's memory limit, OOM killer and CPU quota.
 *                      Hands each run to its keeper, enforces the wall
 *                      clock, kills the run's init, answers PROTO_DONE once
 *                      the run's pid namespace is empty.
 *   keeper             sandbox/keeper.c, the launcher's child, moved once
 *                      into slot-N/run: clones each cold run's init there,
 *                      into fresh pid, mount and IPC namespaces, and reaps
 *                      it.
 *   zygotes            sandbox/zygote.c (pyexec-zygote.so) in python on
 *                      the runner, the launcher's children in
 *                      slot-N/launcher: a bare one and one with
 *                      PYEXEC_PRELOAD imported.  Each keeps a spare (an
 *                      init in fresh namespaces and a forked, warmed-up
 *                      run under it); a warm run is the spare run joining
 *                      slot-N/run and taking the cold run's steps
 *                      (runstep.c) without an exec.
 *   run's init         pid 1 of the run's namespaces: mounts the run's own
 *                      /tmp, /dev/shm (tmpfs) and /proc, forks the run,
 *                      reports its status.  Its end ends the run.
 *   run                rlimits, setsid, dropped to the slot's run uid,
 *                      empty environment, no fd but its pipes, seccomp,
 *                      execs python on sandbox/runner.py.
 *
 * A cold run costs two forks and one exec, and namespaces that are cheap
 * to make; no cgroup is made per request.  A warm run's forks are made
 * before it is asked for: it costs one join of run/ (~1 ms on cgroup v1)
 * and whatever pages it touches (see docs/performance.md).
 */
#ifndef PYEXEC_SANDBOX_H
#define PYEXEC_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/* cgroup.c ------------------------------------------------------------ */

enum sb_cgversion {
	SB_CGROUP_V1 = 1,
	SB_CGROUP_V2 = 2,
};

/* The files of a slot's cgroup the worker reads or writes.  Each maps to a
 * file of v1 or of v2 (see the table in cgroup.c). */
enum sb_knob {
	SB_KNOB_MEM_LIMIT,	/* v1 memory.limit_in_bytes   v2 memory.max */
	SB_KNOB_SWAP_LIMIT,	/* v1 memory.memsw.limit...   v2 memory.swap.max */
	SB_KNOB_MEM_PEAK,	/* v1 memory.max_usage_in...  v2 memory.peak */
	SB_KNOB_OOM,		/* v1 memory.oom_control      v2 memory.events */
	SB_KNOB_CPU_QUOTA,	/* v1 cpu.cfs_quota_us        v2 cpu.max */
	SB_KNOB_CPU_BURST,	/* v1 cpu.cfs_burst_us        v2 cpu.max.burst */
	SB_KNOB_CPU_USAGE,	/* v1 cpuacct.usage (ns)      v2 cpu.stat usage_usec */
	SB_KNOB_PIDS_MAX,	/* pids.max */
	SB_KNOB_RECLAIM,	/* v1 memory.force_empty      v2 memory.reclaim */
	SB_KNOB_MEM_USAGE,	/* v1 memory.usage_in_bytes   v2 memory.current */
	SB_KNOB_MAX,
};

struct sb_knob_desc {
	const char	*controller;	/* v1 hierarchy; NULL on v2 */
	const char	*file;
	bool		 worker_writes;	/* chowned to the worker's user */
};

const struct sb_knob_desc *sb_knob_describe(enum sb_cgversion, enum sb_knob);

/* The children of a slot's cgroup (see cgroup.c). */
#define SB_CG_LAUNCHER	"launcher"
#define SB_CG_RUN	"run"

/* Usage of run/ below which no reclaim is done before a run. */
#define SB_RECLAIM_FLOOR	(1ULL << 20)

/* One slot's cgroups.  Made by the master; the worker only opens the knobs
 * (all of them in run/). */
struct cgroup;			/* libcgroup's handle */

struct sb_cgroup {
	enum sb_cgversion version;
	struct cgroup	*lcg;			/* master side: libcgroup handles, */
	struct cgroup	*lcg_launcher;		/*   owned: slot-N, its launcher/ */
	struct cgroup	*lcg_run;		/*   and run/ children */
	uint64_t	 mem_set;		/* worker side: limits last written */
	double		 cpu_set;
	uint64_t	 cpu_base;		/* v2: usage at the last reset */
	char		 name[512];		/* e.g. "pyexec/default/slot-0",
						 * under the v2 base */
	char		*dir[SB_KNOB_MAX];	/* owned: the knob's directory */
	int		 fd[SB_KNOB_MAX];	/* worker side: open knobs, or -1 */
	char		 rt_why[384];		/* master side: why the RT budget
						 * was not given, or "" */
};

/* Master side. */
int		 sb_cgroup_init(enum sb_cgversion *, char *base, size_t,
		    char *, size_t);
int		 sb_cgroup_v2_self(const char *text, char *out, size_t);
int		 sb_cgroup_delegate(const char *mnt, const char *self,
		    char *base, size_t, char *, size_t);
int		 sb_cgroup_sweep(enum sb_cgversion, const char *name,
		    int wait_ms);
int		 sb_cgroup_create(struct sb_cgroup *, const char *name,
		    unsigned max_pids, uid_t owner, gid_t group, char *, size_t);
int		 sb_cgroup_attach(struct sb_cgroup *, pid_t, char *, size_t);
void		 sb_cgroup_rt_budget(struct sb_cgroup *);
int		 sb_cgroup_procs_fds(struct sb_cgroup *, int *, int, char *,
		    size_t);
int		 sb_cgroup_destroy(struct sb_cgroup *);
bool		 sb_cgroup_intact(const struct sb_cgroup *);
void		 sb_cgroup_free(struct sb_cgroup *);
void		 sb_cgroup_remove(enum sb_cgversion, const char *name);

/* Worker side. */
int		 sb_cgroup_open(struct sb_cgroup *);
void		 sb_cgroup_close(struct sb_cgroup *);
int		 sb_cgroup_set_memory(struct sb_cgroup *, uint64_t bytes);
int		 sb_cgroup_set_cpu(struct sb_cgroup *, double cores);
int		 sb_cgroup_reset(struct sb_cgroup *);
int		 sb_cgroup_reclaim(struct sb_cgroup *);
int		 sb_cgroup_lift_cpu(struct sb_cgroup *);

struct sb_counters {
	uint64_t	cpu_ns;		/* CPU time used (delta on v2) */
	uint64_t	mem_peak;	/* bytes */
	uint64_t	oom_kills;	/* cumulative: take deltas */
};
int		 sb_cgroup_read(struct sb_cgroup *, struct sb_counters *);
int		 sb_cgroup_oom_kills(struct sb_cgroup *, uint64_t *);

/* Pure helpers, unit-tested for both versions. */
int		 sb_cgroup_format_cpu(enum sb_cgversion, double cores,
		    char *, size_t);
int		 sb_cgroup_parse_oom(enum sb_cgversion, const char *, uint64_t *);
int		 sb_cgroup_parse_cpu_usage(enum sb_cgversion, const char *,
		    uint64_t *);

/*
 * The CFS period.  The launcher shares its slot's quota with the run, so a
 * throttled run delays the launcher's timer by up to one period: 10 ms
 * keeps the wall-clock limit exact within that.
 */
#define SB_CPU_PERIOD_US	10000

/* slot.c: master side --------------------------------------------------- */

/* What a slot is made with: filled by the master from its configuration
 * (sandbox/ knows nothing of the service's configuration). */
struct slot_opts {
	const char	*cgroup_base;	/* "" or the v2 delegated "path/" */
	const char	*instance;	/* cgroup pyexec/<instance>/slot-N */
	uid_t		 uid_base;	/* slot i: launcher base+2i, runs +1 */
	unsigned	 max_pids;	/* pids.max and RLIMIT_NPROC */
	size_t		 tmp_size;	/* bytes of a run's /tmp, /dev/shm */
	size_t		 max_file_size;	/* RLIMIT_FSIZE */
	unsigned	 max_open_files; /* RLIMIT_NOFILE */
	const char	*launcher_path;	/* pyexec-launcher */
	const char	*runner_path;	/* runner.py */
	const char	*python_path;	/* the runs' python */
	bool		 warm;		/* start the zygotes */
	const char	*zygote_path;	/* pyexec-zygote.so */
	const char	*preload;	/* the data zygote's modules */
	unsigned	 warm_max_runs;	/* a zygote is replaced after these */
	unsigned	 warm_max_age;	/* ... or seconds ready */
};

struct slot {
	unsigned	 id;
	uid_t		 launcher_uid;	/* host uid of the launcher (0 inside) */
	uid_t		 run_uid;	/* host uid of the runs (1000 inside) */
	struct sb_cgroup cg;
	pid_t		 launcher_pid;	/* host pid, or 0 */
	int		 ctl_fd;	/* worker's end of the socketpair, or -1 */
	bool		 fifo;		/* the launcher runs SCHED_FIFO (else
					 * nice -10: the master says so once) */
};

int		 slot_create(struct slot *, unsigned id, const struct slot_opts *,
		    uid_t, gid_t, char *, size_t);
int		 slot_start_launcher(struct slot *, const struct slot_opts *,
		    char *, size_t);
void		 slot_stop_launcher(struct slot *);
int		 slot_destroy(struct slot *);

/* run.c: worker side ---------------------------------------------------- */

enum run_outcome {
	RUN_COMPLETED,
	RUN_ERROR,
	RUN_TIMEOUT,
	RUN_MEMORY_LIMIT,
	RUN_OUTPUT_LIMIT,
	RUN_SIGNAL,
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

#endif /* PYEXEC_SANDBOX_H */
