/*
 * root.c: the run's root file system, as one straight list of steps.
 *
 *   every mount private -> a small tmpfs as the new root -> read-only binds
 *   of /usr and the few /etc entries Python needs -> generated /etc files
 *   (passwd, group, hosts, nsswitch.conf) and the compiled runner ->
 *   /bin, /lib... as symlinks into
 *   /usr -> /dev with null, zero, random, urandom bound from the host,
 *   read-only (the nodes still work; their times cannot be changed) ->
 *   /proc of the slot's pid namespace (the launcher's only) -> pivot_root,
 *   the old root detached -> the new root read-only.
 *
 * Per run, in the run's own mount namespace (root_run_mounts): capped,
 * noexec tmpfs on /tmp and /dev/shm, and /proc of the run's own pid
 * namespace with subset=pid and hidepid=2.  They vanish with the run.
 * A run that collects artifacts finds /tmp/outputs (0700, the run's)
 * there from its start.  A run with a workspace (sandbox/host/store.c) has it
 * on /workspace (empty, read-only, in every other run): an ext4 of its
 * own, nosuid, nodev, noexec, idmapped so its files are the run's.
 *
 * No /home, /root, /run, /var, /sys, and not /etc as a whole.  Runs inside
 * the slot's user namespace: the binds keep the flags the kernel locks
 * (nosuid, nodev, noexec, atime) and add read-only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "root.h"

#define NEWROOT	"/tmp"		/* staging mount point, in our mount ns only */

struct root_bind {
	const char	*path;
	bool		 required;
};

static const struct root_bind root_binds[] = {
	{ "/usr",		true },
	{ "/etc/alternatives",	false },	/* libblas.so.3 and friends */
	{ "/etc/ld.so.cache",	false },
	{ "/etc/localtime",	false },
	{ "/etc/matplotlibrc",	false },
	{ "/etc/fonts",		false },
};

struct root_file {
	const char	*path;
	const char	*text;
};

static const struct root_file root_files[] = {
	{ "/etc/passwd", "root:x:0:0:root:/:/usr/sbin/nologin\n"
	    "sandbox:x:1000:1000:pyexec sandbox:/tmp:/usr/sbin/nologin\n"
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" },
	{ "/etc/group", "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n" },
	{ "/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n" },
	{ "/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n" },
	{ "/etc/hostname", "pyexec\n" },
};

struct root_link {
	const char	*target;
	const char	*path;
};

static const struct root_link root_links[] = {
	{ "usr/bin",		"/bin" },
	{ "usr/sbin",		"/sbin" },
	{ "usr/lib",		"/lib" },
	{ "usr/lib64",		"/lib64" },
	{ "/proc/self/fd",	"/dev/fd" },
	{ "/proc/self/fd/0",	"/dev/stdin" },
	{ "/proc/self/fd/1",	"/dev/stdout" },
	{ "/proc/self/fd/2",	"/dev/stderr" },
};

static const char *const root_devices[] = {
	"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom",
};

static const char *const root_dirs[] = {
	"/usr", "/etc", "/tmp", "/dev", "/dev/shm", "/proc", "/oldroot",
	"/.pyexec", ROOT_WORKSPACE_PATH,
};

/* NEWROOT + path, into buf. */
static const char *
in_root(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, NEWROOT "%s", path);
	return buf;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* The mount flags of path that a user namespace may not drop. */
static unsigned long
locked_flags(const char *path)
{
	struct statvfs	sv;
	unsigned long	fl = 0;

	if (statvfs(path, &sv) != 0)
		return 0;
	if (sv.f_flag & ST_NOSUID) fl |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) fl |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) fl |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) fl |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) fl |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) fl |= MS_RELATIME;
	return fl;
}

/* Binds host path at the same place in the new root, read-only. */
static int
root_bind_ro(const char *path, bool required, unsigned long extra, char *err,
    size_t errlen)
{
	char		dst[512];
	struct stat	st;
	int		fd;

	if (stat(path, &st) != 0) {
		if (!required && errno == ENOENT)
			return 0;
		FAIL("%s: %s", path, strerror(errno));
	}
	in_root(dst, sizeof(dst), path);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) != 0 && errno != EEXIST)
			FAIL("mkdir %s: %s", dst, strerror(errno));
	} else {
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
			FAIL("create %s: %s", dst, strerror(errno));
		close(fd);
	}
	if (mount(path, dst, NULL, MS_BIND, NULL) != 0)
		FAIL("bind %s: %s", path, strerror(errno));
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
	    extra | locked_flags(path), NULL) != 0)
		FAIL("remount %s read-only: %s", path, strerror(errno));
	return 0;
}

static int
root_write(const char *path, const void *data, size_t len, char *err,
    size_t errlen)
{
	char	dst[512];
	int	fd;

	in_root(dst, sizeof(dst), path);
	if ((fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		FAIL("create %s: %s", dst, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		FAIL("write %s: %s", dst, strerror(errno));
	}
	close(fd);
	return 0;
}

static int
tmpfs_mount(const struct root_opts *o, const char *path)
{
	char	opts[128];

	snprintf(opts, sizeof(opts), "size=%lu,nr_inodes=4096,mode=0700,"
	    "uid=%u,gid=%u", o->tmp_size, (unsigned)o->run_uid,
	    (unsigned)o->run_gid);
	return mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    opts);
}

static int
root_skeleton(char *err, size_t errlen)
{
	char	p[512];
	size_t	i;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		FAIL("make mounts private: %s", strerror(errno));
	if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=1m,nr_inodes=256,mode=0755") != 0)
		FAIL("mount the new root: %s", strerror(errno));
	for (i = 0; i < sizeof(root_dirs) / sizeof(root_dirs[0]); i++)
		if (mkdir(in_root(p, sizeof(p), root_dirs[i]), 0755) != 0)
			FAIL("mkdir %s: %s", p, strerror(errno));
	return 0;
}

static int
root_populate(const struct root_opts *o, char *err, size_t errlen)
{
	char		p[512];
	struct stat	st;
	size_t		i;

	for (i = 0; i < sizeof(root_binds) / sizeof(root_binds[0]); i++)
		if (root_bind_ro(root_binds[i].path, root_binds[i].required,
		    MS_NODEV, err, errlen) != 0)
			return -1;
	for (i = 0; i < sizeof(root_files) / sizeof(root_files[0]); i++)
		if (root_write(root_files[i].path, root_files[i].text,
		    strlen(root_files[i].text), err, errlen) != 0)
			return -1;
	if (root_write(ROOT_RUNNER_PATH, o->runner, o->runner_len, err,
	    errlen) != 0)
		return -1;
	if (o->zygote != NULL && root_write(ROOT_ZYGOTE_PATH, o->zygote,
	    o->zygote_len, err, errlen) != 0)
		return -1;
	for (i = 0; i < sizeof(root_links) / sizeof(root_links[0]); i++) {
		/* /lib64 only where the host has /usr/lib64. */
		if (strncmp(root_links[i].target, "usr/", 4) == 0) {
			snprintf(p, sizeof(p), "/%s", root_links[i].target);
			if (stat(p, &st) != 0)
				continue;
		}
		if (symlink(root_links[i].target,
		    in_root(p, sizeof(p), root_links[i].path)) != 0)
			FAIL("symlink %s: %s", p, strerror(errno));
	}
	for (i = 0; i < sizeof(root_devices) / sizeof(root_devices[0]); i++)
		if (root_bind_ro(root_devices[i], true, 0, err, errlen) != 0)
			return -1;
	/* Read-only binds of device nodes: reads and writes of the devices
	 * work, a change of their inode (times, modes) fails with EROFS. */
	if (mount("proc", in_root(p, sizeof(p), "/proc"), "proc",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0)
		FAIL("mount /proc: %s", strerror(errno));
	return 0;
}

static int
root_pivot(char *err, size_t errlen)
{
	if (syscall(SYS_pivot_root, NEWROOT, NEWROOT "/oldroot") != 0)
		FAIL("pivot_root: %s", strerror(errno));
	if (chdir("/") != 0)
		FAIL("chdir /: %s", strerror(errno));
	if (umount2("/oldroot", MNT_DETACH) != 0)
		FAIL("detach the old root: %s", strerror(errno));
	if (rmdir("/oldroot") != 0)
		FAIL("rmdir /oldroot: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
	    MS_NODEV, NULL) != 0)
		FAIL("remount / read-only: %s", strerror(errno));
	return 0;
}

int
root_build(const struct root_opts *o, char *err, size_t errlen)
{
	if (root_skeleton(err, errlen) != 0 ||
	    root_populate(o, err, errlen) != 0 ||
	    root_pivot(err, errlen) != 0)
		return -1;
	return 0;
}

/*
 * In the run's init, just made pid 1 of fresh pid, mount and IPC
 * namespaces: the run's own /tmp, /dev/shm and /proc.  A fresh tmpfs is a
 * fresh superblock (mode, owner, times, inode numbers and counters as new)
 * and a fresh /proc shows only the run's pid namespace, and of it only
 * the processes (subset=pid: no /proc/sys, /proc/cmdline, kallsyms...).
 */
int
root_run_mounts(const struct root_opts *o, bool outputs, int wsfd, char *err,
    size_t errlen)
{
	if (tmpfs_mount(o, "/tmp") != 0)
		FAIL("mount tmpfs on /tmp: %s", strerror(errno));
	/* The workspace: a detached mount the store made (idmapped to this
	 * slot's run uid), moved onto its mount point and nothing else done
	 * with it: this side never touches what earlier runs left there. */
	if (wsfd >= 0) {
		int rc = move_mount(wsfd, "", AT_FDCWD, ROOT_WORKSPACE_PATH,
		    MOVE_MOUNT_F_EMPTY_PATH);

		close(wsfd);
		if (rc != 0) {
			snprintf(err, errlen, "mount the workspace on %s: %s",
			    ROOT_WORKSPACE_PATH, strerror(errno));
			return ROOT_ERR_WORKSPACE;
		}
	}
	if (outputs && wsfd < 0 && (mkdir(ROOT_OUTPUTS_PATH, 0700) != 0 ||
	    chown(ROOT_OUTPUTS_PATH, o->run_uid, o->run_gid) != 0))
		FAIL("make %s: %s", ROOT_OUTPUTS_PATH, strerror(errno));
	if (tmpfs_mount(o, "/dev/shm") != 0)
		FAIL("mount tmpfs on /dev/shm: %s", strerror(errno));
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    "hidepid=2,subset=pid") != 0)
		FAIL("mount /proc (subset=pid): %s", strerror(errno));
	return 0;
}
