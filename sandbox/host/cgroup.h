/*
 * cgroup.h: a slot's cgroups, v1 and v2 (cgroup.c, over libcgroup).
 *
 * Floor: the host side's lowest; cgroup.c calls nothing of pyexec.
 * Included by cgroup.c, and above it by run.c, slot.c and fcgi-app/
 * (through sandbox.h); never by the jail (sandbox/jail/).
 */
#ifndef PYEXEC_CGROUP_H
#define PYEXEC_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* Sessions (session.c: root's side; sb_cgroup_locate: the worker's). */
int		 sb_cgroup_freezer_make(struct sb_cgroup *);
int		 sb_cgroup_freeze(struct sb_cgroup *, bool frozen);
int		 sb_cgroup_freezer_fd(struct sb_cgroup *);
int		 sb_cgroup_freezer_remove(struct sb_cgroup *);
void		 sb_cgroup_freezer_drop(enum sb_cgversion, const char *instance);
pid_t		 sb_cgroup_first_pid(const struct sb_cgroup *);
int		 sb_cgroup_locate(struct sb_cgroup *, enum sb_cgversion,
		    const char *name);

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

#endif /* PYEXEC_CGROUP_H */
