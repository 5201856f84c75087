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
 *
 * The launcher loads a policy of its own after its set-up (FILTER_LAUNCHER):
 * the same table but for the rows the launcher's side needs (mount and
 * umount2 for a run's file systems, move_mount for a run's workspace,
 * unshare for a new keeper's, zygote's
 * or warm run's namespaces, clone with namespace flags for a run's init,
 * setrlimit for a run's limits).  Only the launcher carries it: its
 * keepers and zygotes are cloned by its spawner, forked before the policy
 * (spawner.c), so that a run, cold or warm, carries one filter, the run's.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

#define RUN	FILTER_RUN
#define BOTH	(FILTER_RUN | FILTER_LAUNCHER)

struct filter_rule {
	const char	*syscall;
	uint32_t	 action;
	unsigned	 which;		/* FILTER_RUN, FILTER_LAUNCHER */
};

/* Refused outright, whatever the arguments. */
static const struct filter_rule filter_rules[] = {
	/* Debugging and other processes' memory. */
	{ "ptrace", REFUSE, BOTH },
	{ "process_vm_readv", REFUSE, BOTH },
	{ "process_vm_writev", REFUSE, BOTH },
	{ "kcmp", REFUSE, BOTH },
	{ "pidfd_getfd", REFUSE, BOTH },
	/* Mounts and namespaces. */
	{ "mount", REFUSE, RUN },
	{ "umount2", REFUSE, RUN },
	{ "pivot_root", REFUSE, BOTH },
	{ "chroot", REFUSE, BOTH },
	{ "unshare", REFUSE, RUN },
	{ "setns", REFUSE, BOTH },
	{ "mount_setattr", REFUSE, BOTH },
	/* The launcher's side moves a workspace's mount (made and idmapped
	 * by the store) onto /workspace; runs may not. */
	{ "move_mount", REFUSE, RUN },
	{ "open_tree", REFUSE, BOTH },
	{ "fsopen", REFUSE, BOTH },
	{ "fsconfig", REFUSE, BOTH },
	{ "fsmount", REFUSE, BOTH },
	{ "fspick", REFUSE, BOTH },
	/* Keyrings, personality, clocks, host identity, logs. */
	{ "keyctl", REFUSE, BOTH },
	{ "add_key", REFUSE, BOTH },
	{ "request_key", REFUSE, BOTH },
	{ "personality", REFUSE, BOTH },
	{ "syslog", REFUSE, BOTH },
	{ "sethostname", REFUSE, BOTH },
	{ "setdomainname", REFUSE, BOTH },
	{ "settimeofday", REFUSE, BOTH },
	{ "clock_settime", REFUSE, BOTH },
	{ "clock_adjtime", REFUSE, BOTH },
	{ "adjtimex", REFUSE, BOTH },
	{ "name_to_handle_at", REFUSE, BOTH },
	{ "io_uring_setup", REFUSE, BOTH },
	{ "io_uring_enter", REFUSE, BOTH },
	{ "io_uring_register", REFUSE, BOTH },
	{ "vhangup", REFUSE, BOTH },
	{ "quotactl", REFUSE, BOTH },
	/* Host-wide pools a run could drain (fs.aio-max-nr), and watching
	 * the shared read-only /usr for what other slots' runs open. */
	{ "io_setup", REFUSE, BOTH },
	{ "inotify_init", REFUSE, BOTH },
	{ "inotify_init1", REFUSE, BOTH },
	{ "fanotify_init", REFUSE, BOTH },
	/* Nothing legitimate calls these in a sandboxed run: end it. */
	{ "bpf", KILL, BOTH },
	{ "perf_event_open", KILL, BOTH },
	{ "userfaultfd", KILL, BOTH },
	{ "kexec_load", KILL, BOTH },
	{ "kexec_file_load", KILL, BOTH },
	{ "init_module", KILL, BOTH },
	{ "finit_module", KILL, BOTH },
	{ "delete_module", KILL, BOTH },
	{ "open_by_handle_at", KILL, BOTH },
	{ "modify_ldt", KILL, BOTH },
	{ "iopl", KILL, BOTH },
	{ "ioperm", KILL, BOTH },
	{ "acct", KILL, BOTH },
	{ "swapon", KILL, BOTH },
	{ "swapoff", KILL, BOTH },
	{ "reboot", KILL, BOTH },
	{ "lookup_dcookie", KILL, BOTH },
	{ "uselib", KILL, BOTH },
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

/*
 * RLIMIT_CORE stays at the 1 the launcher set: with a core_pattern pipe
 * (systemd-coredump, apport) only that value keeps the kernel from running
 * a helper on the host for a crashing run.  Reading it stays allowed.
 */
static int
filter_add_core_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	struct scmp_arg_cmp	a[2];

	a[0] = SCMP_A0(SCMP_CMP_EQ, RLIMIT_CORE);
	if (filter_add(ctx, REFUSE, "setrlimit", 1, a, err, errlen) != 0)
		return -1;
	a[0] = SCMP_A1(SCMP_CMP_EQ, RLIMIT_CORE);
	a[1] = SCMP_A2(SCMP_CMP_NE, 0);
	return filter_add(ctx, REFUSE, "prlimit64", 2, a, err, errlen);
}

/*
 * mknod of anything but a regular file: devices (the kernel refuses them
 * to a user namespace anyway), FIFOs and socket inodes, which a run could
 * leave in its workspace for whatever opens it next.
 */
static int
filter_add_mknod_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const unsigned long types[] = { S_IFIFO, S_IFCHR, S_IFBLK,
	    S_IFSOCK };
	struct scmp_arg_cmp	a;
	size_t			i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		a = SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, types[i]);
		if (filter_add(ctx, REFUSE, "mknod", 1, &a, err, errlen) != 0)
			return -1;
		a = SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, types[i]);
		if (filter_add(ctx, REFUSE, "mknodat", 1, &a, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* clone with a namespace flag, clone3, mknod of a non-file, non-AF_UNIX
 * sockets, TIOCSTI. */
static int
filter_add_arg_rules(scmp_filter_ctx ctx, unsigned which, char *err,
    size_t errlen)
{
	struct scmp_arg_cmp	a;
	size_t			i;

	if (which == FILTER_LAUNCHER)
		goto sockets;
	if (filter_add_core_rules(ctx, err, errlen) != 0 ||
	    filter_add_mknod_rules(ctx, err, errlen) != 0)
		return -1;
	for (i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
		a = SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);
		if (filter_add(ctx, REFUSE, "clone", 1, &a, err, errlen) != 0)
			return -1;
	}
	if (filter_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err,
	    errlen) != 0)
		return -1;
sockets:
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
filter_build(struct sock_fprog *prog, unsigned which, char *err, size_t errlen)
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
		if ((filter_rules[i].which & which) && filter_add(ctx,
		    filter_rules[i].action, filter_rules[i].syscall, 0, NULL,
		    err, errlen) != 0)
			goto out;
	if (filter_add_arg_rules(ctx, which, err, errlen) != 0 ||
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
