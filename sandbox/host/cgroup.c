/*
 * cgroup.c: a slot's cgroups, on cgroup v1 or v2.
 *
 * A slot is three cgroups, the same on both versions:
 *
 *   pyexec/<instance>/slot-N            no process of its own
 *   pyexec/<instance>/slot-N/launcher   the launcher (pid 1 of the slot),
 *                                       its spawner, keeper and zygotes,
 *                                       the runs' inits
 *   pyexec/<instance>/slot-N/run        every run, which joins it itself:
 *                                       all the limits and counters of a run
 *
 * The slot's own processes live outside the run's cgroup, so a run's
 * memory limit, OOM kill and CPU quota never reach them (v2 also forbids processes in a
 * cgroup whose children have controllers, hence the empty slot-N).  The
 * master makes, fills and removes them with libcgroup; the worker only
 * opens the knob files of run/ it owns (limits, the counters it resets,
 * the reclaim knob) and reads the rest.  The knob table below is the whole
 * difference between v1 and v2.
 *
 * Per-run accounting in a long-lived cgroup: after a run the worker
 * reclaims what it left charged (page cache); before a run it resets the
 * peak and the CPU counter (v1: write 0; v2: memory.peak takes a per-fd reset,
 * cpu.stat is read as a delta), and reads the cumulative OOM kill count
 * before and after.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include <libcgroup.h>

#include "cgroup.h"

static const struct sb_knob_desc knobs_v1[SB_KNOB_MAX] = {
	[SB_KNOB_MEM_LIMIT]  = { "memory",  "memory.limit_in_bytes",       true },
	[SB_KNOB_SWAP_LIMIT] = { "memory",  "memory.memsw.limit_in_bytes", true },
	[SB_KNOB_MEM_PEAK]   = { "memory",  "memory.max_usage_in_bytes",   true },
	[SB_KNOB_OOM]        = { "memory",  "memory.oom_control",          false },
	[SB_KNOB_CPU_QUOTA]  = { "cpu",     "cpu.cfs_quota_us",            true },
	[SB_KNOB_CPU_BURST]  = { "cpu",     "cpu.cfs_burst_us",            true },
	[SB_KNOB_CPU_USAGE]  = { "cpuacct", "cpuacct.usage",               true },
	[SB_KNOB_PIDS_MAX]   = { "pids",    "pids.max",                    false },
	[SB_KNOB_RECLAIM]    = { "memory",  "memory.force_empty",          true },
	[SB_KNOB_MEM_USAGE]  = { "memory",  "memory.usage_in_bytes",       false },
};

static const struct sb_knob_desc knobs_v2[SB_KNOB_MAX] = {
	[SB_KNOB_MEM_LIMIT]  = { NULL, "memory.max",      true },
	[SB_KNOB_SWAP_LIMIT] = { NULL, "memory.swap.max", true },
	[SB_KNOB_MEM_PEAK]   = { NULL, "memory.peak",     true },
	[SB_KNOB_OOM]        = { NULL, "memory.events",   false },
	[SB_KNOB_CPU_QUOTA]  = { NULL, "cpu.max",         true },
	[SB_KNOB_CPU_BURST]  = { NULL, "cpu.max.burst",   true },
	[SB_KNOB_CPU_USAGE]  = { NULL, "cpu.stat",        false },
	[SB_KNOB_PIDS_MAX]   = { NULL, "pids.max",        false },
	[SB_KNOB_RECLAIM]    = { NULL, "memory.reclaim",  true },
	[SB_KNOB_MEM_USAGE]  = { NULL, "memory.current",  false },
};

/* Knobs a slot can live without (older kernels, no swap accounting). */
static bool
knob_optional(enum sb_knob k)
{
	return k == SB_KNOB_CPU_BURST || k == SB_KNOB_SWAP_LIMIT;
}

const struct sb_knob_desc *
sb_knob_describe(enum sb_cgversion v, enum sb_knob k)
{
	if (k >= SB_KNOB_MAX)
		return NULL;
	return v == SB_CGROUP_V2 ? &knobs_v2[k] : &knobs_v1[k];
}

/* v1 controllers the slot joins; v2 enables the same through libcgroup. */
static const char *const controllers[] = { "memory", "cpu", "cpuacct", "pids" };
static const char *const controllers_v2[] = { "memory", "cpu", "pids" };

/*
 * The cgroup v2 path of this process from the text of /proc/self/cgroup
 * (its "0::/path" line), without the leading '/': "" at the root.  Into
 * out (len bytes).  0, or -1 when there is no such line or it is too long.
 */
int
sb_cgroup_v2_self(const char *text, char *out, size_t len)
{
	const char	*p = text, *e;
	size_t		 n;

	while (p != NULL && *p != '\0') {
		e = strchr(p, '\n');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n >= 4 && strncmp(p, "0::/", 4) == 0) {
			if (n - 4 >= len)
				return -1;
			memcpy(out, p + 4, n - 4);
			out[n - 4] = '\0';
			return 0;
		}
		p = e != NULL ? e + 1 : NULL;
	}
	return -1;
}

/* Appends s to dir/file (one write: one pid or one "+controller"). */
static int
dir_append(const char *dir, const char *file, const char *s)
{
	char	path[600];
	int	fd, rc = 0, e;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		rc = -1;
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/*
 * cgroup v2 under a service manager: the slots go under this process's
 * own cgroup self (relative to the unified mount mnt; systemd's
 * Delegate=yes hands it to us), not at the root of the tree.  v2 lets a
 * cgroup with controllers for its children hold no process, so every
 * process of self moves to self/supervisor first (systemd's own advice),
 * then memory, cpu and pids are enabled for self's children.  At the root
 * (self ""), nothing to do.  The prefix of every slot's name goes to base
 * ("" or "self/").  0, or -1 with err set: without delegation, no service.
 */
int
sb_cgroup_delegate(const char *mnt, const char *self, char *base,
    size_t blen, char *err, size_t errlen)
{
	char	 dir[512], sup[560], line[32];
	FILE	*f;
	size_t	 i;

	base[0] = '\0';
	if (self[0] == '\0')
		return 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", mnt, self) >= sizeof(dir) ||
	    (size_t)snprintf(base, blen, "%s/", self) >= blen) {
		snprintf(err, errlen, "cgroup %s: path too long", self);
		return -1;
	}
	snprintf(sup, sizeof(sup), "%s/supervisor", dir);
	if (mkdir(sup, 0755) != 0 && errno != EEXIST)
		goto fail;
	snprintf(sup, sizeof(sup), "%s/cgroup.procs", dir);
	if ((f = fopen(sup, "re")) == NULL)
		goto fail;
	snprintf(sup, sizeof(sup), "%s/supervisor", dir);
	while (fgets(line, sizeof(line), f) != NULL)
		if (dir_append(sup, "cgroup.procs", line) != 0 && errno != ESRCH) {
			fclose(f);
			goto fail;
		}
	fclose(f);
	for (i = 0; i < sizeof(controllers_v2) / sizeof(controllers_v2[0]); i++) {
		snprintf(line, sizeof(line), "+%s", controllers_v2[i]);
		if (dir_append(dir, "cgroup.subtree_control", line) != 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cgroup v2 delegation of /%s (Delegate=yes?): %s",
	    self, strerror(errno));
	base[0] = '\0';
	return -1;
}

/*
 * Initialises libcgroup and tells which version this host runs, and where
 * the slots' cgroups go: base is their names' prefix, "" (v1, or v2 at the
 * root of the tree) or the delegated cgroup of this service (v2, see
 * sb_cgroup_delegate(); base NULL: only tell the version).  Must run
 * before any mount namespace is changed and before any child is forked.
 * Returns 0 or -1 with err set.
 */
int
sb_cgroup_init(enum sb_cgversion *v, char *base, size_t blen, char *err,
    size_t errlen)
{
	struct statfs	 sf;
	char		 text[4096], self[400];
	int		 rc, fd;
	ssize_t		 n;

	if (base != NULL)
		base[0] = '\0';
	if (statfs("/sys/fs/cgroup", &sf) != 0) {
		snprintf(err, errlen, "/sys/fs/cgroup: %s", strerror(errno));
		return -1;
	}
	*v = sf.f_type == CGROUP2_SUPER_MAGIC ? SB_CGROUP_V2 : SB_CGROUP_V1;
	if ((rc = cgroup_init()) != 0) {
		snprintf(err, errlen, "libcgroup: %s", cgroup_strerror(rc));
		return -1;
	}
	if (*v == SB_CGROUP_V1 || base == NULL)
		return 0;
	if ((fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC)) < 0 ||
	    (n = read(fd, text, sizeof(text) - 1)) < 0) {
		snprintf(err, errlen, "/proc/self/cgroup: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	text[n] = '\0';
	if (sb_cgroup_v2_self(text, self, sizeof(self)) != 0) {
		snprintf(err, errlen, "/proc/self/cgroup: no cgroup v2 path");
		return -1;
	}
	return sb_cgroup_delegate("/sys/fs/cgroup", self, base, blen, err,
	    errlen);
}

static int
knob_dirs(struct sb_cgroup *cg, char *err, size_t errlen)
{
	enum sb_knob	 k;
	char		*mnt = NULL;

	for (k = 0; k < SB_KNOB_MAX; k++) {
		const struct sb_knob_desc *d = sb_knob_describe(cg->version, k);
		const char *ctl = d->controller != NULL ? d->controller : "memory";

		if (cgroup_get_subsys_mount_point(ctl, &mnt) != 0 || mnt == NULL) {
			snprintf(err, errlen, "cgroup controller %s is not mounted",
			    ctl);
			return -1;
		}
		if (asprintf(&cg->dir[k], "%s/%s/" SB_CG_RUN, mnt, cg->name) < 0)
			cg->dir[k] = NULL;
		free(mnt);
		mnt = NULL;
		if (cg->dir[k] == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int
knob_path(const struct sb_cgroup *cg, enum sb_knob k, char *buf, size_t len)
{
	const struct sb_knob_desc *d = sb_knob_describe(cg->version, k);
	int n = snprintf(buf, len, "%s/%s", cg->dir[k], d->file);

	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* Writes s to dir/file (master side, at creation).  0 or -1 (errno). */
static int
dir_write(const char *dir, const char *file, const char *s)
{
	char	 path[512];
	int	 fd, rc = -1;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -1;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
		rc = 0;
	close(fd);
	return rc;
}

/*
 * Real-time budget (v1 with RT group scheduling only).  The launcher runs
 * SCHED_FIFO where it can (slot.c); with RT group scheduling a cgroup may
 * hold an RT task only with a budget, and the shares of a parent's
 * children must fit in its own.  slot-N and slot-N/launcher each get
 * SB_RT_SLOT_US every SB_RT_PERIOD_US (5%), far more than a launcher uses;
 * slot-N/run gets none, so no run can be real-time.  The instance gets the
 * sum of its slots' shares, "pyexec" as much as its instances need.
 * Best effort: without a budget the launcher falls back to a nice value.
 * It no longer shares the run's CPU quota either way.
 */
#define SB_RT_PERIOD_US		10000
#define SB_RT_SLOT_US		500
#define SB_RT_FILE		"cpu.rt_runtime_us"

static long
dir_read_long(const char *dir, const char *file)
{
	char	path[512], buf[32];
	int	fd;
	ssize_t	n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* dir with its last n components removed, into out. */
static int
dir_up(const char *dir, int n, char *out, size_t len)
{
	char	*p;

	if (snprintf(out, len, "%s", dir) >= (int)len)
		return -1;
	while (n-- > 0) {
		if ((p = strrchr(out, '/')) == NULL)
			return -1;
		*p = '\0';
	}
	return 0;
}

/* How many slot-N cgroups the instance directory inst holds. */
static long
rt_slots(const char *inst)
{
	DIR		*d;
	struct dirent	*e;
	long		 n = 0;

	if ((d = opendir(inst)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_type == DT_DIR && strncmp(e->d_name, "slot-", 5) == 0;
	closedir(d);
	return n;
}

/* The sum of cpu.rt_runtime_us of dir's children (what they hold of its
 * budget, at their own periods), or -1. */
static long
rt_children(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	char		 sub[768];
	long		 v, sum = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if ((v = dir_read_long(sub, SB_RT_FILE)) > 0)
			sum += v;
	}
	closedir(d);
	return sum;
}

/* Says in cg->rt_why which write of the budget the kernel refused, with
 * what the parent of "pyexec" has and what its children hold: another
 * service's or a leftover cgroup's share is the usual cause. */
static void
rt_refused(struct sb_cgroup *cg, const char *dir, long value,
    const char *top)
{
	char	up[512];
	int	e = errno;

	if (dir_up(top, 1, up, sizeof(up)) != 0)
		up[0] = '\0';
	snprintf(cg->rt_why, sizeof(cg->rt_why), "%s/" SB_RT_FILE " %ld: %s "
	    "(pyexec/ has %ld; its parent %ld, of which its children hold "
	    "%ld)", dir, value, strerror(e), dir_read_long(top, SB_RT_FILE),
	    dir_read_long(up, SB_RT_FILE), rt_children(up));
	errno = e;
}

/*
 * The instance's budget: one share per slot it has now (a slot made again
 * takes the share of the one it replaces).  "pyexec" grows by what its
 * instance is missing, as far as its parent allows: it holds no more of
 * the host's real-time time than its instances have needed.  0, or the
 * errno of a refusal with cg->rt_why said and *lack what the instance
 * still misses.
 */
static int
rt_instance(struct sb_cgroup *cg, const char *inst, const char *top,
    long share, long *lack)
{
	char	num[32], tnum[32];
	long	cur, t, need, want;

	*lack = 0;
	if ((cur = dir_read_long(inst, SB_RT_FILE)) < 0)
		return EIO;
	want = rt_slots(inst) * share;
	snprintf(num, sizeof(num), "%ld", want);
	if (want <= cur || dir_write(inst, SB_RT_FILE, num) == 0)
		return 0;
	*lack = want - cur;
	/* "pyexec" must hold what its instances hold with this one's want
	 * (not more: a retry asks for no more than the first try). */
	if ((t = dir_read_long(top, SB_RT_FILE)) < 0 ||
	    (need = rt_children(top)) < 0)
		return EIO;
	need += want - cur;
	snprintf(tnum, sizeof(tnum), "%ld", need);
	if (need > t && dir_write(top, SB_RT_FILE, tnum) != 0) {
		rt_refused(cg, top, need, top);
		return errno;
	}
	if (dir_write(inst, SB_RT_FILE, num) != 0) {
		rt_refused(cg, inst, want, top);
		return errno;
	}
	return 0;
}

/* Whether the parent of "pyexec" shows room for lack more: a refusal
 * the numbers do not explain is passing (the cgroups of a master that
 * just stopped leave the kernel's accounting after their last task is
 * reaped), one they explain is not. */
static bool
rt_room(const char *top, long lack)
{
	char	up[512];
	long	have, held;

	if (lack <= 0 || dir_up(top, 1, up, sizeof(up)) != 0 ||
	    (have = dir_read_long(up, SB_RT_FILE)) < 0 ||
	    (held = rt_children(up)) < 0)
		return false;
	return have - held >= lack;
}

#define SB_RT_TRIES	10		/* a passing refusal: 100 ms apart */

/*
 * Gives the slot's cgroups their RT budget (see above); on a refusal
 * cg->rt_why says which.  Called when the slot is made, and again when
 * its launcher could not be made SCHED_FIFO (slot.c): the budget may have
 * been freed meanwhile.  A refusal the parent's numbers do not explain
 * is tried again for up to a second; one they explain is final at once.
 */
void
sb_cgroup_rt_budget(struct sb_cgroup *cg)
{
	char	 launcher[560], slot[512], inst[512], top[512], num[32];
	long	 lack, share = 1000000L / SB_RT_PERIOD_US * SB_RT_SLOT_US;
	int	 i, e;

	cg->rt_why[0] = '\0';
	/* dir[] is .../pyexec/<instance>/slot-N/run */
	if (cg->version != SB_CGROUP_V1 ||
	    dir_up(cg->dir[SB_KNOB_CPU_QUOTA], 1, slot, sizeof(slot)) != 0 ||
	    dir_up(slot, 1, inst, sizeof(inst)) != 0 ||
	    dir_up(inst, 1, top, sizeof(top)) != 0 ||
	    dir_read_long(slot, SB_RT_FILE) < 0)
		return;
	snprintf(launcher, sizeof(launcher), "%s/" SB_CG_LAUNCHER, slot);
	for (i = 0; (e = rt_instance(cg, inst, top, share, &lack)) != 0;
	    i++) {
		/* The kernel's word for "does not fit" is EINVAL (EBUSY
		 * for a group with RT tasks and no runtime). */
		if ((e != EINVAL && e != EBUSY) || i + 1 >= SB_RT_TRIES ||
		    !rt_room(top, lack))
			return;
		usleep(100 * 1000);
	}
	cg->rt_why[0] = '\0';
	snprintf(num, sizeof(num), "%d", SB_RT_PERIOD_US);
	(void)dir_write(slot, "cpu.rt_period_us", num);
	(void)dir_write(launcher, "cpu.rt_period_us", num);
	snprintf(num, sizeof(num), "%d", SB_RT_SLOT_US);
	if (dir_write(slot, SB_RT_FILE, num) != 0)
		rt_refused(cg, slot, SB_RT_SLOT_US, top);
	else if (dir_write(launcher, SB_RT_FILE, num) != 0)
		rt_refused(cg, launcher, SB_RT_SLOT_US, top);
}

static int
cgroup_fill(struct sb_cgroup *cg, unsigned max_pids, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
	char		 buf[64], path[512];
	enum sb_knob	 k;

	snprintf(buf, sizeof(buf), "%d", SB_CPU_PERIOD_US);
	if (cg->version == SB_CGROUP_V1 && dir_write(cg->dir[SB_KNOB_CPU_QUOTA],
	    "cpu.cfs_period_us", buf) != 0) {
		snprintf(err, errlen, "%s: cannot set cpu.cfs_period_us: %s",
		    cg->name, strerror(errno));
		return -1;
	}
	sb_cgroup_rt_budget(cg);
	/* The run's processes alone: the keeper and the runs' inits live
	 * in launcher/. */
	snprintf(buf, sizeof(buf), "%u", max_pids);
	if (dir_write(cg->dir[SB_KNOB_PIDS_MAX], sb_knob_describe(cg->version,
	    SB_KNOB_PIDS_MAX)->file, buf) != 0) {
		snprintf(err, errlen, "%s: cannot set pids.max: %s", cg->name,
		    strerror(errno));
		return -1;
	}
	for (k = 0; k < SB_KNOB_MAX; k++) {
		if (!sb_knob_describe(cg->version, k)->worker_writes)
			continue;
		if (knob_path(cg, k, path, sizeof(path)) != 0)
			return -1;
		if (chown(path, uid, gid) == 0)
			continue;
		if (errno == ENOENT && knob_optional(k))
			continue;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A libcgroup handle for name with the slot's controllers, or NULL. */
static struct cgroup *
cgroup_handle(enum sb_cgversion v, const char *name)
{
	const char *const *ctl = controllers;
	size_t		 i, n = sizeof(controllers) / sizeof(controllers[0]);
	struct cgroup	*c;

	if (v == SB_CGROUP_V2) {
		ctl = controllers_v2;
		n = sizeof(controllers_v2) / sizeof(controllers_v2[0]);
	}
	if ((c = cgroup_new_cgroup(name)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (cgroup_add_controller(c, ctl[i]) == NULL) {
			cgroup_free(&c);
			return NULL;
		}
	return c;
}

/*
 * Makes the slot's cgroups (name, e.g. "pyexec/default/slot-0", with its
 * launcher/ and run/ children) in every controller a slot needs, sets
 * run/'s pids.max and hands the worker's knobs to uid:gid.  Leftover
 * groups of the same name (from a crash) are removed first.  Returns 0,
 * or -1 with err set and nothing left behind.
 */
int
sb_cgroup_create(struct sb_cgroup *cg, const char *name, unsigned max_pids,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char		 child[600];
	int		 rc, i;
	enum sb_cgversion v = cg->version;

	memset(cg, 0, sizeof(*cg));
	cg->version = v;
	for (i = 0; i < SB_KNOB_MAX; i++)
		cg->fd[i] = -1;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	cg->lcg = cgroup_handle(v, name);
	snprintf(child, sizeof(child), "%s/" SB_CG_LAUNCHER, name);
	cg->lcg_launcher = cgroup_handle(v, child);
	snprintf(child, sizeof(child), "%s/" SB_CG_RUN, name);
	cg->lcg_run = cgroup_handle(v, child);
	if (cg->lcg == NULL || cg->lcg_launcher == NULL || cg->lcg_run == NULL) {
		snprintf(err, errlen, "cgroup %s: out of memory", name);
		goto fail;
	}
	(void)cgroup_delete_cgroup(cg->lcg_run, 1);
	(void)cgroup_delete_cgroup(cg->lcg_launcher, 1);
	(void)cgroup_delete_cgroup(cg->lcg, 1);
	if ((rc = cgroup_create_cgroup(cg->lcg, 0)) != 0 ||
	    (rc = cgroup_create_cgroup(cg->lcg_launcher, 0)) != 0 ||
	    (rc = cgroup_create_cgroup(cg->lcg_run, 0)) != 0) {
		snprintf(err, errlen, "cgroup %s: %s", name, cgroup_strerror(rc));
		(void)sb_cgroup_destroy(cg);
		goto fail;
	}
	if (knob_dirs(cg, err, errlen) != 0 ||
	    cgroup_fill(cg, max_pids, uid, gid, err, errlen) != 0) {
		(void)sb_cgroup_destroy(cg);
		goto fail;
	}
	return 0;
fail:
	sb_cgroup_free(cg);
	return -1;
}

/* Puts pid (the launcher) into slot-N/launcher. */
int
sb_cgroup_attach(struct sb_cgroup *cg, pid_t pid, char *err, size_t errlen)
{
	int	rc;

	if ((rc = cgroup_attach_task_pid(cg->lcg_launcher, pid)) != 0) {
		snprintf(err, errlen, "cgroup %s: attach: %s", cg->name,
		    cgroup_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Opens run/cgroup.procs of every hierarchy for writing, into fds (at most
 * max).  Each run writes "0" to each to move itself into the run's cgroup
 * (runstep_join_cgroups): the kernel checks the opener's credentials
 * (root, here), so the fds are the only grant, and a run closes them
 * before its privilege drop.
 * Returns how many, or -1 with err set (and nothing left open).
 */
int
sb_cgroup_procs_fds(struct sb_cgroup *cg, int *fds, int max, char *err,
    size_t errlen)
{
	static const enum sb_knob by_ctl[] = { SB_KNOB_MEM_LIMIT,
	    SB_KNOB_CPU_QUOTA, SB_KNOB_CPU_USAGE, SB_KNOB_PIDS_MAX };
	char	path[600];
	int	n = 0, i, want = cg->version == SB_CGROUP_V2 ? 1 : 4;

	for (i = 0; i < want && n < max; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs",
		    cg->dir[by_ctl[i]]);
		if ((fds[n] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			while (n > 0)
				close(fds[--n]);
			return -1;
		}
		n++;
	}
	if (n != want) {
		snprintf(err, errlen, "%s: too many hierarchies", cg->name);
		while (n > 0)
			close(fds[--n]);
		return -1;
	}
	return n;
}

/*
 * Removes the cgroups, children first.  Their processes must be gone;
 * exiting tasks can hold one busy for a moment, so this retries for up to
 * a second.
 */
int
sb_cgroup_destroy(struct sb_cgroup *cg)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	struct cgroup	*order[3] = { cg->lcg_run, cg->lcg_launcher, cg->lcg };
	int		 i, j, rc = 0, one;

	for (j = 0; j < 3; j++) {
		if (order[j] == NULL)
			continue;
		one = -1;
		for (i = 0; i < 100; i++) {
			if ((one = cgroup_delete_cgroup(order[j], 0)) == 0)
				break;
			nanosleep(&ts, NULL);
		}
		if (one != 0)
			rc = -1;
	}
	return rc;
}

/*
 * Whether every directory of the slot is still there (its run/ cgroup and
 * the launcher/ one beside it, in each hierarchy): something outside
 * pyexec may have removed them.  Master side.
 */
bool
sb_cgroup_intact(const struct sb_cgroup *cg)
{
	char	path[600];
	size_t	k;

	for (k = 0; k < SB_KNOB_MAX; k++) {
		if (cg->dir[k] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/../" SB_CG_LAUNCHER,
		    cg->dir[k]);
		if (access(cg->dir[k], F_OK) != 0 || access(path, F_OK) != 0)
			return false;
	}
	return true;
}

/* Frees what cg owns (not the cgroups themselves: see sb_cgroup_destroy()). */
void
sb_cgroup_free(struct sb_cgroup *cg)
{
	size_t	i;

	sb_cgroup_close(cg);
	for (i = 0; i < SB_KNOB_MAX; i++) {
		free(cg->dir[i]);
		cg->dir[i] = NULL;
	}
	if (cg->lcg != NULL)
		cgroup_free(&cg->lcg);
	if (cg->lcg_launcher != NULL)
		cgroup_free(&cg->lcg_launcher);
	if (cg->lcg_run != NULL)
		cgroup_free(&cg->lcg_run);
	cg->lcg = cg->lcg_launcher = cg->lcg_run = NULL;
}

/*
 * Removes the (empty) cgroup name from every controller a slot uses: the
 * master's pyexec/<instance> and pyexec once their slots are gone.  Best
 * effort (fails while something else uses them).
 */
void
sb_cgroup_remove(enum sb_cgversion v, const char *name)
{
	static const char *const v1[] = { "memory", "cpu", "cpuacct", "pids" };
	static const char *const v2[] = { "memory", "cpu", "pids" };
	const char *const *ctl = v == SB_CGROUP_V2 ? v2 : v1;
	size_t		 i, n = v == SB_CGROUP_V2 ? 3 : 4;
	struct cgroup	*cg;

	if ((cg = cgroup_new_cgroup(name)) == NULL)
		return;
	for (i = 0; i < n; i++)
		cgroup_add_controller(cg, ctl[i]);
	(void)cgroup_delete_cgroup(cg, 1);
	cgroup_free(&cg);
}

/* SIGKILLs what dir/cgroup.procs lists; rmdir()s dir.  0 once it is gone. */
static int
sweep_one(const char *dir)
{
	char	 path[600], line[32];
	FILE	*f;
	long	 pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if ((pid = strtol(line, NULL, 10)) > 1)
				(void)kill((pid_t)pid, SIGKILL);
		fclose(f);
	}
	/* A frozen session's processes die only once thawed. */
	(void)dir_write(dir, "freezer.state", "THAWED");
	(void)dir_write(dir, "cgroup.freeze", "0");
	return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

/* The directories below dir, deepest first, then dir.  0 when all went. */
static int
sweep_tree(const char *dir, int depth)
{
	char		 sub[600];
	DIR		*d;
	struct dirent	*e;
	int		 rc = 0;

	if (depth > 8 || (d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		rc |= sweep_tree(sub, depth + 1);
	}
	closedir(d);
	return rc | sweep_one(dir);
}

/*
 * Removes the cgroup name (e.g. "pyexec/default") and everything below it
 * in every hierarchy a slot uses, killing what is still in it: only the
 * slots' launchers, keepers, zygotes and runs are ever there.  For a
 * master that died without removing its slots (fcgi-app/proc/guard.c, and
 * pyexec-fcgi --cleanup).  Retries for up to wait_ms while dying tasks
 * hold a cgroup busy.  0 when nothing is left, else -1.
 */
int
sb_cgroup_sweep(enum sb_cgversion v, const char *name, int wait_ms)
{
	static const char *const v1[] = { "freezer", "memory", "cpu",
	    "cpuacct", "pids" };
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	const char	*ctl;
	char		*mnt, dir[600];
	size_t		 i, n = v == SB_CGROUP_V2 ? 1 : 5;
	int		 left, t;

	for (t = 0; t <= wait_ms; t += 20) {
		for (left = 0, i = 0; i < n; i++) {
			ctl = v == SB_CGROUP_V2 ? "memory" : v1[i];
			mnt = NULL;
			if (cgroup_get_subsys_mount_point(ctl, &mnt) != 0 ||
			    mnt == NULL)
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", mnt, name);
			free(mnt);
			left |= sweep_tree(dir, 0) != 0;
		}
		if (!left)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* ---- sessions (sandbox/host/session.c) -------------------------------- */

/*
 * The freezer of cgroup cg (a session's, made like a slot's): v1 has a
 * freezer hierarchy of its own, where dir is made (mkdir) as <name>/run;
 * v2 freezes run/ itself (cgroup.freeze).  0, or -1 with errno.
 */
static int
freezer_dir(const struct sb_cgroup *cg, char *dir, size_t len)
{
	char	*mnt = NULL;
	int	 n;

	if (cgroup_get_subsys_mount_point(cg->version == SB_CGROUP_V2 ?
	    "memory" : "freezer", &mnt) != 0 || mnt == NULL) {
		errno = ENOENT;
		return -1;
	}
	n = snprintf(dir, len, "%s/%s/" SB_CG_RUN, mnt, cg->name);
	free(mnt);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Makes cg's freezer (v1: the directory, and its parents).  0 or -1. */
int
sb_cgroup_freezer_make(struct sb_cgroup *cg)
{
	char	 dir[600], *p;

	if (cg->version == SB_CGROUP_V2)
		return 0;
	if (freezer_dir(cg, dir, sizeof(dir)) != 0)
		return -1;
	for (p = strstr(dir, "/pyexec"); p != NULL && *p != '\0'; p++)
		if (*p == '/' && p != dir) {
			*p = '\0';
			(void)mkdir(dir, 0755);
			*p = '/';
		}
	return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Freezes (or thaws) every process of cg's run/.  0 or -1 (errno). */
int
sb_cgroup_freeze(struct sb_cgroup *cg, bool frozen)
{
	char	dir[600];

	if (freezer_dir(cg, dir, sizeof(dir)) != 0)
		return -1;
	if (cg->version == SB_CGROUP_V2)
		return dir_write(dir, "cgroup.freeze", frozen ? "1" : "0");
	return dir_write(dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
}

/* The cgroup.procs of cg's freezer, opened for writing (v1; v2: -1 and
 * errno 0, run/'s own fd is the one).  Master side, like
 * sb_cgroup_procs_fds(). */
int
sb_cgroup_freezer_fd(struct sb_cgroup *cg)
{
	char	dir[600], path[640];

	errno = 0;
	if (cg->version == SB_CGROUP_V2)
		return -1;
	if (freezer_dir(cg, dir, sizeof(dir)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	return open(path, O_WRONLY | O_CLOEXEC);
}

/* Removes cg's freezer (v1), once empty.  0 or -1. */
int
sb_cgroup_freezer_remove(struct sb_cgroup *cg)
{
	char	dir[600];

	if (cg->version == SB_CGROUP_V2)
		return 0;
	if (freezer_dir(cg, dir, sizeof(dir)) != 0)
		return -1;
	if (rmdir(dir) != 0 && errno != ENOENT)
		return -1;
	*strrchr(dir, '/') = '\0';
	if (rmdir(dir) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* v1: the freezer hierarchy's pyexec/<instance> and pyexec, once empty
 * (best effort: another instance may use pyexec). */
void
sb_cgroup_freezer_drop(enum sb_cgversion v, const char *instance)
{
	char	*mnt = NULL, dir[600];

	if (v == SB_CGROUP_V2 || cgroup_get_subsys_mount_point("freezer",
	    &mnt) != 0 || mnt == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s/pyexec/%s", mnt, instance);
	(void)rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/pyexec", mnt);
	(void)rmdir(dir);
	free(mnt);
}

/* The first process listed in cg's run/ (memory hierarchy), or 0. */
pid_t
sb_cgroup_first_pid(const struct sb_cgroup *cg)
{
	char	 path[640], line[32];
	FILE	*f;
	pid_t	 pid = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[SB_KNOB_MEM_LIMIT]);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL)
		pid = (pid_t)strtol(line, NULL, 10);
	fclose(f);
	return pid;
}

/* Worker side: the knob directories of an existing cgroup name (a
 * session's, which the worker does not make), for sb_cgroup_open(). */
int
sb_cgroup_locate(struct sb_cgroup *cg, enum sb_cgversion v, const char *name)
{
	char	err[200];
	int	i;

	memset(cg, 0, sizeof(*cg));
	cg->version = v;
	for (i = 0; i < SB_KNOB_MAX; i++)
		cg->fd[i] = -1;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	if (knob_dirs(cg, err, sizeof(err)) != 0) {
		sb_cgroup_free(cg);
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* ---- worker side ---------------------------------------------------- */

/* Opens every knob; an optional one may be missing.  0 or -1 (errno). */
int
sb_cgroup_open(struct sb_cgroup *cg)
{
	char		 path[512];
	enum sb_knob	 k;

	for (k = 0; k < SB_KNOB_MAX; k++) {
		const struct sb_knob_desc *d = sb_knob_describe(cg->version, k);

		if (knob_path(cg, k, path, sizeof(path)) != 0)
			return -1;
		/* The reclaim knob is write-only (mode 0200 on v1). */
		cg->fd[k] = open(path, (k == SB_KNOB_RECLAIM ? O_WRONLY :
		    d->worker_writes ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (cg->fd[k] < 0 && !(errno == ENOENT && knob_optional(k)))
			return -1;
	}
	cg->mem_set = 0;
	cg->cpu_set = 0;
	return 0;
}

void
sb_cgroup_close(struct sb_cgroup *cg)
{
	size_t	i;

	for (i = 0; i < SB_KNOB_MAX; i++) {
		if (cg->fd[i] >= 0)
			close(cg->fd[i]);
		cg->fd[i] = -1;
	}
}

static int
knob_write(struct sb_cgroup *cg, enum sb_knob k, const char *s)
{
	size_t	len = strlen(s);

	if (cg->fd[k] < 0)
		return knob_optional(k) ? 0 : -1;
	return pwrite(cg->fd[k], s, len, 0) == (ssize_t)len ? 0 : -1;
}

static int
knob_read(struct sb_cgroup *cg, enum sb_knob k, char *buf, size_t len)
{
	ssize_t	n;

	if (cg->fd[k] < 0)
		return -1;
	if ((n = pread(cg->fd[k], buf, len - 1, 0)) < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * Sets the memory limit, swap off.  v1 requires memory <= memory+swap at
 * every step, so the order of the two writes depends on the direction.
 */
int
sb_cgroup_set_memory(struct sb_cgroup *cg, uint64_t bytes)
{
	char	 buf[32];
	int	 rc;

	if (cg->mem_set == bytes)
		return 0;
	snprintf(buf, sizeof(buf), "%" PRIu64, bytes);
	if (cg->version == SB_CGROUP_V2) {
		rc = knob_write(cg, SB_KNOB_MEM_LIMIT, buf);
		if (rc == 0)
			rc = knob_write(cg, SB_KNOB_SWAP_LIMIT, "0");
	} else if (bytes > cg->mem_set) {
		rc = knob_write(cg, SB_KNOB_SWAP_LIMIT, buf);
		if (rc == 0)
			rc = knob_write(cg, SB_KNOB_MEM_LIMIT, buf);
		if (rc != 0 && cg->mem_set == 0) {
			/* Unknown previous value: try the other order. */
			rc = knob_write(cg, SB_KNOB_MEM_LIMIT, buf);
			if (rc == 0)
				rc = knob_write(cg, SB_KNOB_SWAP_LIMIT, buf);
		}
	} else {
		rc = knob_write(cg, SB_KNOB_MEM_LIMIT, buf);
		if (rc == 0)
			rc = knob_write(cg, SB_KNOB_SWAP_LIMIT, buf);
	}
	cg->mem_set = rc == 0 ? bytes : 0;
	return rc;
}

/* The text to write to the quota knob for a limit of cores; cores <= 0
 * is no limit. */
int
sb_cgroup_format_cpu(enum sb_cgversion v, double cores, char *buf, size_t len)
{
	long long	quota = (long long)(cores * SB_CPU_PERIOD_US + 0.5);
	int		n;

	if (quota < 1000)
		quota = 1000;
	if (cores <= 0)
		n = v == SB_CGROUP_V2 ? snprintf(buf, len, "max %d",
		    SB_CPU_PERIOD_US) : snprintf(buf, len, "-1");
	else if (v == SB_CGROUP_V2)
		n = snprintf(buf, len, "%lld %d", quota, SB_CPU_PERIOD_US);
	else
		n = snprintf(buf, len, "%lld", quota);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/*
 * Sets the CPU quota to cores per period, with a burst of one quota so the
 * start-up of python is not throttled.  The kernel refuses a burst larger
 * than the quota, so the burst goes to 0 first.
 */
int
sb_cgroup_set_cpu(struct sb_cgroup *cg, double cores)
{
	char	 quota[48], burst[32];

	if (cg->cpu_set == cores)
		return 0;
	if (sb_cgroup_format_cpu(cg->version, cores, quota, sizeof(quota)) != 0)
		return -1;
	snprintf(burst, sizeof(burst), "%lld", atoll(quota));
	if (knob_write(cg, SB_KNOB_CPU_BURST, "0") != 0 ||
	    knob_write(cg, SB_KNOB_CPU_QUOTA, quota) != 0 ||
	    knob_write(cg, SB_KNOB_CPU_BURST, burst) != 0) {
		cg->cpu_set = 0;
		return -1;
	}
	cg->cpu_set = cores;
	return 0;
}

/*
 * Lifts the run's CPU quota (v1 -1, v2 "max"): the OOM grace of run.c.
 * The next sb_cgroup_set_cpu() writes the quota again, whatever it was.
 */
int
sb_cgroup_lift_cpu(struct sb_cgroup *cg)
{
	char	 quota[32];

	cg->cpu_set = -1;		/* no limit a caller can ask for */
	if (sb_cgroup_format_cpu(cg->version, 0, quota, sizeof(quota)) != 0)
		return -1;
	return knob_write(cg, SB_KNOB_CPU_QUOTA, quota);
}

/* Finds "key N" in a flat-keyed cgroup file. */
static int
parse_keyed(const char *text, const char *key, uint64_t *out)
{
	size_t		 klen = strlen(key);
	const char	*p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			*out = strtoull(p + klen + 1, NULL, 10);
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

int
sb_cgroup_parse_oom(enum sb_cgversion v, const char *text, uint64_t *out)
{
	return parse_keyed(text, "oom_kill", out);
}

/* CPU usage in ns: v1 cpuacct.usage is ns; v2 cpu.stat has usage_usec. */
int
sb_cgroup_parse_cpu_usage(enum sb_cgversion v, const char *text, uint64_t *out)
{
	uint64_t	us;

	if (v == SB_CGROUP_V1) {
		if (*text < '0' || *text > '9')
			return -1;
		*out = strtoull(text, NULL, 10);
		return 0;
	}
	if (parse_keyed(text, "usage_usec", &us) != 0)
		return -1;
	*out = us * 1000;
	return 0;
}

static int
cgroup_cpu_now(struct sb_cgroup *cg, uint64_t *ns)
{
	char	buf[1024];

	if (knob_read(cg, SB_KNOB_CPU_USAGE, buf, sizeof(buf)) != 0)
		return -1;
	return sb_cgroup_parse_cpu_usage(cg->version, buf, ns);
}

/*
 * After a run (its namespaces gone): give back what it left charged to
 * run/, page cache of the files it read, which would count in the next
 * run's peak and limit.  No process lives there between runs; below
 * SB_RECLAIM_FLOOR nothing is done.
 */
int
sb_cgroup_reclaim(struct sb_cgroup *cg)
{
	char		buf[64];
	uint64_t	usage;

	if (knob_read(cg, SB_KNOB_MEM_USAGE, buf, sizeof(buf)) != 0)
		return -1;
	usage = strtoull(buf, NULL, 10);
	if (usage > SB_RECLAIM_FLOOR) {
		if (cg->version == SB_CGROUP_V2)
			snprintf(buf, sizeof(buf), "%" PRIu64, usage);
		else
			snprintf(buf, sizeof(buf), "0");
		/* v2 answers EAGAIN when it reclaimed less than asked: what
		 * cannot be reclaimed stays, which is fine. */
		if (knob_write(cg, SB_KNOB_RECLAIM, buf) != 0 && errno != EAGAIN)
			return -1;
	}
	return 0;
}

/* Before a run: zero the peak and the CPU counter. */
int
sb_cgroup_reset(struct sb_cgroup *cg)
{
	if (cg->version == SB_CGROUP_V2) {
		if (knob_write(cg, SB_KNOB_MEM_PEAK, "reset") != 0)
			return -1;
		return cgroup_cpu_now(cg, &cg->cpu_base);
	}
	cg->cpu_base = 0;
	if (knob_write(cg, SB_KNOB_MEM_PEAK, "0") != 0 ||
	    knob_write(cg, SB_KNOB_CPU_USAGE, "0") != 0)
		return -1;
	return 0;
}

/* The cumulative count of the run cgroup's OOM kills, alone: cheap
 * enough to poll while a run goes on. */
int
sb_cgroup_oom_kills(struct sb_cgroup *cg, uint64_t *out)
{
	char	buf[1024];

	if (knob_read(cg, SB_KNOB_OOM, buf, sizeof(buf)) != 0)
		return -1;
	return sb_cgroup_parse_oom(cg->version, buf, out);
}

int
sb_cgroup_read(struct sb_cgroup *cg, struct sb_counters *c)
{
	char	buf[1024];

	memset(c, 0, sizeof(*c));
	if (cgroup_cpu_now(cg, &c->cpu_ns) != 0)
		return -1;
	c->cpu_ns = c->cpu_ns > cg->cpu_base ? c->cpu_ns - cg->cpu_base : 0;
	if (knob_read(cg, SB_KNOB_MEM_PEAK, buf, sizeof(buf)) != 0)
		return -1;
	c->mem_peak = strtoull(buf, NULL, 10);
	return sb_cgroup_oom_kills(cg, &c->oom_kills);
}
