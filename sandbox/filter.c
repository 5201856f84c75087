/*
 * filter.c: the seccomp policy of a run, built with libseccomp (no
 * hand-written BPF).
 *
 * The default is to allow: Python and its C extensions use a wide and
 * changing set of system calls, and the other walls (user, pid, mount and
 * network namespaces, cgroup, rlimits) do the confining.  The filter takes
 * away the kernel interfaces a sandboxed program has no business with and
 * that widen the kernel's attack surface.  A refusal is an errno where a
 * legitimate library may probe the call and must keep working (EPERM, or
 * ENOSYS for clone3 so that glibc falls back to clone, whose flags the
 * filter can see); it kills the process (SIGSYS) where nothing legitimate
 * calls it.  Any architecture but the native one (i386 via int 0x80, x32)
 * kills the process.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "filter.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif

#define REFUSE	SCMP_ACT_ERRNO(EPERM)
#define KILL	SCMP_ACT_KILL_PROCESS

struct filter_rule {
	const char	*syscall;
	uint32_t	 action;
};

/* Refused outright, whatever the arguments. */
static const struct filter_rule filter_rules[] = {
	/* Debugging and other processes' memory. */
	{ "ptrace",		REFUSE },
	{ "process_vm_readv",	REFUSE },
	{ "process_vm_writev",	REFUSE },
	{ "kcmp",		REFUSE },
	{ "pidfd_getfd",	REFUSE },
	/* Mounts and namespaces. */
	{ "mount",		REFUSE },
	{ "umount2",		REFUSE },
	{ "pivot_root",		REFUSE },
	{ "chroot",		REFUSE },
	{ "unshare",		REFUSE },
	{ "setns",		REFUSE },
	{ "mount_setattr",	REFUSE },
	{ "move_mount",		REFUSE },
	{ "open_tree",		REFUSE },
	{ "fsopen",		REFUSE },
	{ "fsconfig",		REFUSE },
	{ "fsmount",		REFUSE },
	{ "fspick",		REFUSE },
	/* Keyrings, personality, clocks, host identity, logs. */
	{ "keyctl",		REFUSE },
	{ "add_key",		REFUSE },
	{ "request_key",	REFUSE },
	{ "personality",	REFUSE },
	{ "syslog",		REFUSE },
	{ "sethostname",	REFUSE },
	{ "setdomainname",	REFUSE },
	{ "settimeofday",	REFUSE },
	{ "clock_settime",	REFUSE },
	{ "clock_adjtime",	REFUSE },
	{ "adjtimex",		REFUSE },
	{ "name_to_handle_at",	REFUSE },
	{ "io_uring_setup",	REFUSE },
	{ "io_uring_enter",	REFUSE },
	{ "io_uring_register",	REFUSE },
	{ "vhangup",		REFUSE },
	{ "quotactl",		REFUSE },
	/* Nothing legitimate calls these in a sandboxed run: end it. */
	{ "bpf",		KILL },
	{ "perf_event_open",	KILL },
	{ "userfaultfd",	KILL },
	{ "kexec_load",		KILL },
	{ "kexec_file_load",	KILL },
	{ "init_module",	KILL },
	{ "finit_module",	KILL },
	{ "delete_module",	KILL },
	{ "open_by_handle_at",	KILL },
	{ "modify_ldt",		KILL },
	{ "iopl",		KILL },
	{ "ioperm",		KILL },
	{ "acct",		KILL },
	{ "swapon",		KILL },
	{ "swapoff",		KILL },
	{ "reboot",		KILL },
	{ "lookup_dcookie",	KILL },
	{ "uselib",		KILL },
};

static const unsigned long clone_ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
	CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static int
filter_add(scmp_filter_ctx ctx, uint32_t action, const char *name,
    unsigned n, const struct scmp_arg_cmp *args, char *err, size_t errlen)
{
	int	nr = seccomp_syscall_resolve_name(name);
	int	rc;

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not a syscall of this architecture */
	if ((rc = seccomp_rule_add_array(ctx, action, nr, n, args)) != 0) {
		snprintf(err, errlen, "seccomp rule for %s: %s", name, strerror(-rc));
		return -1;
	}
	return 0;
}

/* clone with a namespace flag, clone3, non-AF_UNIX sockets, TIOCSTI. */
static int
filter_add_arg_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	struct scmp_arg_cmp	a;
	size_t			i;

	for (i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
		a = SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);
		if (filter_add(ctx, REFUSE, "clone", 1, &a, err, errlen) != 0)
			return -1;
	}
	if (filter_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err,
	    errlen) != 0)
		return -1;
	a = SCMP_A0(SCMP_CMP_NE, AF_UNIX);
	if (filter_add(ctx, REFUSE, "socket", 1, &a, err, errlen) != 0 ||
	    filter_add(ctx, REFUSE, "socketpair", 1, &a, err, errlen) != 0)
		return -1;
	a = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI);
	if (filter_add(ctx, REFUSE, "ioctl", 1, &a, err, errlen) != 0)
		return -1;
	a = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX);
	return filter_add(ctx, REFUSE, "ioctl", 1, &a, err, errlen);
}

/* Exports the compiled filter through a memfd into a malloc'd program. */
static int
filter_export(scmp_filter_ctx ctx, struct sock_fprog *prog, char *err,
    size_t errlen)
{
	int	 fd = memfd_create("pyexec-seccomp", MFD_CLOEXEC), rc = -1;
	off_t	 len;
	void	*buf = NULL;

	if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0 ||
	    (len = lseek(fd, 0, SEEK_END)) <= 0 ||
	    len % (off_t)sizeof(struct sock_filter) != 0 ||
	    (buf = malloc((size_t)len)) == NULL ||
	    pread(fd, buf, (size_t)len, 0) != len) {
		snprintf(err, errlen, "exporting the seccomp filter: %s",
		    strerror(errno));
		free(buf);
		goto out;
	}
	prog->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	prog->filter = buf;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
filter_build(struct sock_fprog *prog, char *err, size_t errlen)
{
	scmp_filter_ctx	ctx;
	size_t		i;
	int		rc = -1;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* Foreign architectures (i386, x32) end the process. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, KILL) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0) {
		snprintf(err, errlen, "seccomp attributes");
		goto out;
	}
	for (i = 0; i < sizeof(filter_rules) / sizeof(filter_rules[0]); i++)
		if (filter_add(ctx, filter_rules[i].action,
		    filter_rules[i].syscall, 0, NULL, err, errlen) != 0)
			goto out;
	if (filter_add_arg_rules(ctx, err, errlen) != 0 ||
	    filter_export(ctx, prog, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

void
filter_free(struct sock_fprog *prog)
{
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}

int
filter_load(const struct sock_fprog *prog)
{
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog);
}
