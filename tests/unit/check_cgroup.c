/*
 * Unit tests (cgroup.c): the v1 real-time budget and the reason given when
 * it is refused; and where the slots' cgroups go on cgroup v2:
 * under the service's own delegated cgroup, read from /proc/self/cgroup,
 * never at the root of the unified tree.  sb_cgroup_delegate() runs on a
 * directory made here that stands for the unified mount: its files are
 * plain files, so what it wrote (the processes moved, the controllers
 * enabled) can be read back.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "sandbox.h"

static char	mnt[64];

static void
mk(const char *rel)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void
put(const char *rel, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* The file's content, or "<missing>". */
static const char *
get(const char *rel)
{
	static char	 buf[256];
	char		 path[256];
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	if ((f = fopen(path, "r")) == NULL)
		return "<missing>";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
setup(void)
{
	snprintf(mnt, sizeof(mnt), "/tmp/check_cgroup.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(mnt));
}

static void
teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", mnt);
	(void)system(cmd);
}

START_TEST(test_self_path)
{
	char	out[128];

	ck_assert_int_eq(sb_cgroup_v2_self("0::/\n", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(sb_cgroup_v2_self("0::/system.slice/pyexec.service\n",
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "system.slice/pyexec.service");
	/* a hybrid host: v1 lines first, the unified one last, no newline */
	ck_assert_int_eq(sb_cgroup_v2_self("12:pids:/system.slice/x\n"
	    "1:name=systemd:/system.slice/x\n0::/system.slice/x", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "system.slice/x");
	ck_assert_int_eq(sb_cgroup_v2_self("4:memory:/\n", out, sizeof(out)), -1);
	ck_assert_int_eq(sb_cgroup_v2_self("0::/a/very/long/path\n", out, 8), -1);
}
END_TEST

/* Under systemd (Delegate=yes): the master's own cgroup becomes the base,
 * its processes move to supervisor/, the controllers go to the children. */
START_TEST(test_delegate_under_service)
{
	char	base[256], err[256];

	mk("system.slice");
	mk("system.slice/pyexec.service");
	put("system.slice/pyexec.service/cgroup.procs", "4242\n4343\n");
	ck_assert_int_eq(sb_cgroup_delegate(mnt, "system.slice/pyexec.service",
	    base, sizeof(base), err, sizeof(err)), 0);
	ck_assert_str_eq(base, "system.slice/pyexec.service/");
	ck_assert_str_eq(get("system.slice/pyexec.service/supervisor/cgroup.procs"),
	    "4242\n4343\n");
	ck_assert_str_eq(get("system.slice/pyexec.service/cgroup.subtree_control"),
	    "+memory+cpu+pids");
	/* nothing written at the root of the tree or in the slice */
	ck_assert_str_eq(get("cgroup.subtree_control"), "<missing>");
	ck_assert_str_eq(get("system.slice/cgroup.subtree_control"), "<missing>");
}
END_TEST

/* At the root of the unified tree (no service manager): the old place,
 * pyexec/<instance>, and nothing written. */
START_TEST(test_delegate_at_root)
{
	char	base[256] = "x", err[256];

	ck_assert_int_eq(sb_cgroup_delegate(mnt, "", base, sizeof(base), err,
	    sizeof(err)), 0);
	ck_assert_str_eq(base, "");
	ck_assert_str_eq(get("supervisor/cgroup.procs"), "<missing>");
	ck_assert_str_eq(get("cgroup.subtree_control"), "<missing>");
}
END_TEST

/* A cgroup that is not ours to write (no delegation): refuse, say why. */
START_TEST(test_delegate_fails_closed)
{
	char	base[256], err[256];

	ck_assert_int_eq(sb_cgroup_delegate(mnt, "system.slice/absent.service",
	    base, sizeof(base), err, sizeof(err)), -1);
	ck_assert_str_eq(base, "");
	ck_assert_ptr_nonnull(strstr(err, "system.slice/absent.service"));
	ck_assert_ptr_nonnull(strstr(err, "Delegate=yes"));
}
END_TEST

/* The slots' names carry the base (slot.c builds them the same way). */
START_TEST(test_slot_name_under_base)
{
	char	base[256], err[256], name[512];

	mk("system.slice");
	mk("system.slice/pyexec.service");
	put("system.slice/pyexec.service/cgroup.procs", "1\n");
	ck_assert_int_eq(sb_cgroup_delegate(mnt, "system.slice/pyexec.service",
	    base, sizeof(base), err, sizeof(err)), 0);
	snprintf(name, sizeof(name), "%spyexec/%s/slot-%u", base, "default", 3u);
	ck_assert_str_eq(name, "system.slice/pyexec.service/pyexec/default/slot-3");
}
END_TEST

/*
 * The v1 real-time budget (sb_cgroup_rt_budget) on a tree of plain files
 * standing for cpu/pyexec/default/slot-0/{launcher,run}: cpu/ has
 * 200000 us/s, everything below 0.
 */
static void
rt_tree(struct sb_cgroup *cg, char *run, size_t len)
{
	static const char *const dirs[] = { "cpu", "cpu/pyexec",
	    "cpu/pyexec/default", "cpu/pyexec/default/slot-0",
	    "cpu/pyexec/default/slot-0/launcher",
	    "cpu/pyexec/default/slot-0/run" };
	char	f[256];
	size_t	i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		mk(dirs[i]);
		snprintf(f, sizeof(f), "%s/cpu.rt_runtime_us", dirs[i]);
		put(f, i == 0 ? "200000\n" : "0\n");
		snprintf(f, sizeof(f), "%s/cpu.rt_period_us", dirs[i]);
		put(f, "");	/* a plain file: what is written is read */
	}
	memset(cg, 0, sizeof(*cg));
	cg->version = SB_CGROUP_V1;
	snprintf(run, len, "%s/cpu/pyexec/default/slot-0/run", mnt);
	cg->dir[SB_KNOB_CPU_QUOTA] = run;
}

/* Given: one share (50000 of 1 s) for the instance, 500 of 10 ms for the
 * slot and its launcher, and no reason to give. */
START_TEST(test_rt_budget_given)
{
	struct sb_cgroup	cg;
	char			run[256];

	rt_tree(&cg, run, sizeof(run));
	sb_cgroup_rt_budget(&cg);
	ck_assert_str_eq(cg.rt_why, "");
	ck_assert_str_eq(get("cpu/pyexec/default/cpu.rt_runtime_us"), "50000");
	ck_assert_str_eq(get("cpu/pyexec/default/slot-0/cpu.rt_runtime_us"),
	    "500");
	ck_assert_str_eq(get("cpu/pyexec/default/slot-0/cpu.rt_period_us"),
	    "10000");
	ck_assert_str_eq(get(
	    "cpu/pyexec/default/slot-0/launcher/cpu.rt_runtime_us"), "500");
}
END_TEST

/* Refused (the instance's file takes no write, as the kernel refuses one
 * that does not fit): the reason names the file, the value, the error,
 * what pyexec/ has and what its parent has and its children hold; the
 * slot gets no share. */
START_TEST(test_rt_budget_refused_is_said)
{
	struct sb_cgroup	cg;
	char			run[256], f[256], want[512];

	rt_tree(&cg, run, sizeof(run));
	snprintf(f, sizeof(f), "%s/cpu/pyexec/default/cpu.rt_runtime_us", mnt);
	ck_assert_int_eq(unlink(f), 0);
	ck_assert_int_eq(symlink("/dev/full", f), 0);
	sb_cgroup_rt_budget(&cg);
	snprintf(want, sizeof(want), "%s/cpu/pyexec/default/cpu.rt_runtime_us "
	    "50000: No space left on device (pyexec/ has 50000; its parent "
	    "200000, of which its children hold 50000)", mnt);
	ck_assert_str_eq(cg.rt_why, want);
	ck_assert_str_eq(get("cpu/pyexec/default/slot-0/cpu.rt_runtime_us"),
	    "0\n");
}
END_TEST

static Suite *
cgroup_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("cgroup", "v2 delegation", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_self_path);
	tcase_add_test(tc, test_delegate_under_service);
	tcase_add_test(tc, test_delegate_at_root);
	tcase_add_test(tc, test_delegate_fails_closed);
	tcase_add_test(tc, test_slot_name_under_base);
	tcase_add_test(tc, test_rt_budget_given);
	tcase_add_test(tc, test_rt_budget_refused_is_said);
	return s;
}

CHECK_MAIN(cgroup_suite(), CK_FORK_GETENV)
