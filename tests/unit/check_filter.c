/*
 * Unit tests of the seccomp policy (sandbox/jail/filter.c): each test forks, the
 * child loads the compiled filter and tries a call; the exit status or the
 * signal tells what happened.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check_main.h"
#include "filter.h"

#define EXIT_ALLOWED	100	/* the call worked */
#define EXIT_OTHER	101	/* it failed with an errno >= 100 */

static struct sock_fprog prog;

static void
setup(void)
{
	char	err[256];

	ck_assert_msg(filter_build(&prog, FILTER_RUN, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_gt(prog.len, 10);
}

static void
teardown(void)
{
	filter_free(&prog);
}

typedef long (*probe_fn)(void);

/* Runs fn under the filter; returns its wait status.  The child exits with
 * the errno of a failing call, EXIT_ALLOWED if it succeeded. */
static int
under_filter(probe_fn fn)
{
	pid_t	pid = fork();
	int	st;
	long	rc;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    filter_load(&prog) != 0)
			_exit(EXIT_OTHER);
		errno = 0;
		rc = fn();
		_exit(rc >= 0 ? EXIT_ALLOWED :
		    errno > 0 && errno < EXIT_ALLOWED ? errno : EXIT_OTHER);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void
assert_errno(probe_fn fn, int want)
{
	int	st = under_filter(fn);

	ck_assert_msg(WIFEXITED(st), "killed by signal %d", WTERMSIG(st));
	ck_assert_int_eq(WEXITSTATUS(st), want);
}

static void
assert_killed(probe_fn fn)
{
	int	st = under_filter(fn);

	ck_assert_msg(WIFSIGNALED(st), "exited %d", WEXITSTATUS(st));
	ck_assert_int_eq(WTERMSIG(st), SIGSYS);
}

static long p_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static long p_mount(void) { return mount("none", "/mnt", "tmpfs", 0, NULL); }
static long p_unshare(void) { return unshare(CLONE_NEWUSER); }
static long p_unshare0(void) { return unshare(0); }
static long p_inet(void) { return socket(AF_INET, SOCK_STREAM, 0); }
static long p_inet6(void) { return socket(AF_INET6, SOCK_DGRAM, 0); }
static long p_netlink(void) { return socket(AF_NETLINK, SOCK_RAW, 0); }
static long p_packet(void) { return socket(17 /* AF_PACKET */, SOCK_RAW, 0); }
static long p_unix(void) { return socket(AF_UNIX, SOCK_STREAM, 0); }
static long p_pair(void)
{
	int	sv[2];

	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}
static long p_clone_userns(void)
{
	long	rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);

	if (rc == 0)
		_exit(0);
	return rc;
}
static long p_clone_netns(void)
{
	long	rc = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);

	if (rc == 0)
		_exit(0);
	return rc;
}
static long p_fork(void)
{
	pid_t	pid = fork();

	if (pid == 0)
		_exit(0);
	return pid > 0 ? waitpid(pid, NULL, 0) : -1;
}
static long p_clone3(void) { return syscall(435 /* clone3 */, NULL, 0); }
static long p_tiocsti(void) { char c = 'x'; return ioctl(0, TIOCSTI, &c); }
static long p_bpf(void) { return syscall(SYS_bpf, 0, NULL, 0); }
static long p_perf(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long p_kexec(void) { return syscall(SYS_kexec_load, 0, 0, NULL, 0); }
static long p_x32(void) { return syscall(0x40000000 | SYS_getpid); }
static long p_getpid(void) { return getpid(); }
/* Issue 8: host-wide pools, watches on /usr, the core limit. */
static long p_io_setup(void) { unsigned long c = 0; return syscall(SYS_io_setup, 8, &c); }
static long p_inotify(void) { return syscall(SYS_inotify_init1, 0); }
static long p_fanotify(void) { return syscall(SYS_fanotify_init, 0, 0); }
static long p_core0(void)
{
	struct rlimit rl = { 0, 0 };

	return setrlimit(RLIMIT_CORE, &rl);
}
static long p_prlimit_core(void)
{
	struct rlimit rl = { 0, 0 };

	return syscall(SYS_prlimit64, 0, RLIMIT_CORE, &rl, NULL);
}
static long p_prlimit_read(void)
{
	struct rlimit rl;

	return syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, &rl);
}
/* Issue 14: nothing but regular files through mknod; move_mount is the
 * launcher side's (a workspace's mount onto /workspace), never a run's. */
static char node_path[64];
static long p_mkfifo(void) { return mknod(node_path, S_IFIFO | 0600, 0); }
static long p_mkfifoat(void) { return mknodat(AT_FDCWD, node_path, S_IFIFO | 0600, 0); }
static long p_mkchr(void) { return mknod(node_path, S_IFCHR | 0600, makedev(1, 3)); }
static long p_mkblk(void) { return mknod(node_path, S_IFBLK | 0600, makedev(7, 0)); }
static long p_mksock(void) { return mknod(node_path, S_IFSOCK | 0600, 0); }
static long p_mkreg(void)
{
	long	rc = mknod(node_path, S_IFREG | 0600, 0);

	if (rc == 0)
		unlink(node_path);
	return rc;
}
static long p_move_mount(void)
{
	return syscall(SYS_move_mount, -1, "", AT_FDCWD, "/mnt",
	    0x4 /* MOVE_MOUNT_F_EMPTY_PATH */);
}

static long p_nofile(void)
{
	struct rlimit rl = { 64, 64 };

	return setrlimit(RLIMIT_NOFILE, &rl);
}

START_TEST(test_nodes_and_move_mount)
{
	char		 err[256];
	struct sock_fprog run = prog;

	snprintf(node_path, sizeof(node_path), "/tmp/check-filter-node-%d",
	    (int)getpid());
	assert_errno(p_mkfifo, EPERM);
	assert_errno(p_mkfifoat, EPERM);
	assert_errno(p_mkchr, EPERM);
	assert_errno(p_mkblk, EPERM);
	assert_errno(p_mksock, EPERM);
	assert_errno(p_mkreg, EXIT_ALLOWED);
	assert_errno(p_move_mount, EPERM);
	/* the launcher's side reaches the kernel (which says: no such fd) */
	ck_assert_msg(filter_build(&prog, FILTER_LAUNCHER, err, sizeof(err)) == 0,
	    "%s", err);
	assert_errno(p_move_mount, EBADF);
	assert_errno(p_mkreg, EXIT_ALLOWED);
	filter_free(&prog);
	prog = run;
}
END_TEST

START_TEST(test_pools_watches_and_core_limit)
{
	assert_errno(p_io_setup, EPERM);
	assert_errno(p_inotify, EPERM);
	assert_errno(p_fanotify, EPERM);
	assert_errno(p_core0, EPERM);
	assert_errno(p_prlimit_core, EPERM);
	assert_errno(p_prlimit_read, EXIT_ALLOWED);	/* reading it is fine */
	assert_errno(p_nofile, EXIT_ALLOWED);		/* other limits too */
}
END_TEST

/* The launcher's own policy: what its side needs still works. */
START_TEST(test_launcher_policy)
{
	char		 err[256];
	struct sock_fprog run = prog;

	ck_assert_msg(filter_build(&prog, FILTER_LAUNCHER, err, sizeof(err)) == 0,
	    "%s", err);
	assert_errno(p_core0, EXIT_ALLOWED);
	assert_errno(p_unshare0, EXIT_ALLOWED);
	assert_errno(p_ptrace, EPERM);
	assert_errno(p_io_setup, EPERM);
	assert_errno(p_inet, EPERM);
	assert_killed(p_bpf);
	filter_free(&prog);
	prog = run;
}
END_TEST

START_TEST(test_refused_with_eperm)
{
	assert_errno(p_ptrace, EPERM);
	assert_errno(p_mount, EPERM);
	assert_errno(p_unshare, EPERM);
	assert_errno(p_unshare0, EPERM);
	assert_errno(p_clone_userns, EPERM);
	assert_errno(p_clone_netns, EPERM);
	assert_errno(p_tiocsti, EPERM);
}
END_TEST

START_TEST(test_sockets)
{
	assert_errno(p_inet, EPERM);
	assert_errno(p_inet6, EPERM);
	assert_errno(p_netlink, EPERM);
	assert_errno(p_packet, EPERM);
	assert_errno(p_unix, EXIT_ALLOWED);
	assert_errno(p_pair, EXIT_ALLOWED);
}
END_TEST

START_TEST(test_clone3_is_enosys_and_fork_works)
{
	assert_errno(p_clone3, ENOSYS);
	assert_errno(p_fork, EXIT_ALLOWED);
	assert_errno(p_getpid, EXIT_ALLOWED);
}
END_TEST

START_TEST(test_killed)
{
	assert_killed(p_bpf);
	assert_killed(p_perf);
	assert_killed(p_kexec);
}
END_TEST

START_TEST(test_x32_killed)
{
	assert_killed(p_x32);
}
END_TEST

static Suite *
filter_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("filter", "policy", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_refused_with_eperm);
	tcase_add_test(tc, test_sockets);
	tcase_add_test(tc, test_clone3_is_enosys_and_fork_works);
	tcase_add_test(tc, test_killed);
	tcase_add_test(tc, test_x32_killed);
	tcase_add_test(tc, test_pools_watches_and_core_limit);
	tcase_add_test(tc, test_launcher_policy);
	tcase_add_test(tc, test_nodes_and_move_mount);
	return s;
}

CHECK_MAIN(filter_suite(), CK_NOFORK)
