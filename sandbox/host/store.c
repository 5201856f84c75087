/*
 * store.c: the workspace store (see store.h for the protocol).
 *
 * Theory of operation.  A workspace is the ext4 file system in one image
 * file, <dir>/<instance>/c-<hex of the client>/w-<hex of the session>.img,
 * made by mkfs.ext4 with the byte quota as its free space and the file
 * quota as its inode count: a run that writes past either gets ENOSPC from
 * the kernel while it writes, and its files never touch the host's disk
 * outside the image.  The names are the hex of the client and the session
 * (injective: two scopes never share a file, and no text of a request ever
 * becomes a path); the tree is root's, 0700, and no run ever sees it.
 *
 * The store attaches an image to a loop device and mounts it with the new
 * mount API as a detached mount: it is in no mount namespace of the host,
 * so nothing on the host can walk it, and the host side never resolves a
 * path inside a workspace (measuring is fstatfs(), deleting is unlink() of
 * the image).  For a run it clones that mount (open_tree) and idmaps the
 * clone to the slot's user namespace: on disk every file is uid 1000, in
 * the run it is the run's uid 1000 whatever the slot, so a workspace
 * written in one slot is the same in any other.  The clone goes to the
 * worker, which passes it with PROTO_RUN; the run's init moves it onto
 * /workspace (root.c).  A clone attaches once, in one run's mount namespace,
 * and goes with it.
 *
 * Leases: a workspace is leased to one slot at a time, from WS_ATTACH to
 * WS_RELEASE (sent once the request's last run is over, every process of
 * it killed), so the runs of one workspace never overlap; a slot holds one lease, and its next WS_ATTACH
 * drops it (a new worker of a slot starts after its old launcher and runs
 * are gone).  The mounts of unleased workspaces are kept, least recently
 * used first out, up to opts.mounts.
 *
 * Expiry: every sweep_s the store lists the images and removes those idle
 * past idle_s or older than max_age_s (their times are a trusted.* extended
 * attribute of the image, written by the store only), unless leased.
 *
 * The disk floor.  Images are sparse: an empty one takes a few hundred KiB
 * and grows as its runs write, up to its full size (st_size).  So the
 * store counts every image at its full size: it makes one only if the
 * disk's free space, less what every image may still take (its full size
 * less the blocks it has), less the new image's full size, stays at least
 * min_free.  And since something else may fill the disk meanwhile, an
 * attach is refused (WS_NO_SPACE) unless the free space, less what this
 * image, the other leased ones and those being made may still take, stays
 * at least min_free: nothing the runs write takes the disk below its floor.
 *
 * Jobs.  The slow steps run in child processes, never on the loop: the
 * making of a new image (the store opens "<rel>.new" and sets its size; a
 * child counts every image against the floor, then runs mkfs.ext4 on it)
 * and the removal of one (the store renames it to
 * "<rel>.del"; a child holds the last reference of its mount, so that the
 * unmount and the unlink happen there).  The loop polls the children's
 * pidfds with the slots' channels: the slot that asked waits for its
 * answer (its channel is not read meanwhile: a slot asks one thing at a
 * time), the other slots are served.  STORE_JOBS run at once, the others
 * wait their turn.  When mkfs is done the store renames the image, mounts
 * it (a few ms) and answers as an attach of an existing workspace would.
 *
 * Blanks.  mkfs.ext4 and the mount cost a new workspace some ms (a live
 * session's create makes one), so the store keeps STORE_BLANKS empty
 * images made ahead in <dir>/<instance>/blank, mounted and with their
 * lost+found gone: a create takes one (a rename into the client's
 * directory, its times written) and a job makes the next when no slot's
 * job waits.  A blank was never leased, so it is as new as an image made
 * at the request.  Blanks count against the floor as images do (a blank
 * that would cross it is not made, until the next sweep), never against
 * the counts; the store's start removes any left.
 *
 * Creation rate: a token bucket per client (create_rate a minute,
 * create_burst at once) besides the per-client and total counts, so that a
 * client's create/delete loop costs the host at most create_rate mkfs a
 * minute; past it the answer is WS_RATE with the seconds to wait.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "store.h"
#include "session.h"

#define STORE_XATTR	"trusted.pyexec.workspace"
#define STORE_REL_MAX	(2 + 2 * WS_NAME_MAX + 1 + 2 + 2 * WS_NAME_MAX + 5)
#define STORE_LOOP_TRIES 8
#define STORE_SIZE_SLACK (1ULL << 20)	/* usable bytes: the quota + < this */
#define STORE_FULL	(1ULL << 20)	/* less free than this: full */
#define STORE_JOBS	2		/* mkfs and removals at once */
#define STORE_NO_ROOM	75		/* a make job's exit: below the floor */
#define STORE_BUCKETS	1024		/* clients whose rate is tracked */
#define WS_PENDING	WS_NSTATUS	/* (never sent) a job answers later */
#define STORE_BLANKS	2		/* empty images made ahead */
#define STORE_BLANK_DIR	"blank"

struct ws_entry {
	char		 rel[STORE_REL_MAX + 1];	/* "c-…/w-….img", "" free */
	int		 mnt;		/* owned: the detached mount */
	int		 img;		/* owned: the image file */
	int		 lease;		/* slot, or -1 */
	int64_t		 last;		/* monotonic ms of its last use */
	int64_t		 created, used;	/* unix seconds (the attribute) */
};

enum job_kind { JOB_NONE, JOB_MAKE, JOB_REMOVE };

/* A slot's request that waits for a child of the store: one per slot at
 * most.  Queued while pid is 0, running while it is not. */
struct ws_job {
	enum job_kind	 kind;
	struct ws_req	 q;		/* the request, answered at the end */
	char		 dir[STORE_REL_MAX + 1], rel[STORE_REL_MAX + 1];
	char		 tmp[STORE_REL_MAX + 8];	/* "<rel>.new" or ".del" */
	int		 img;		/* owned: the image, or -1 */
	int		 mnt;		/* owned: JOB_REMOVE's mount, or -1 */
	pid_t		 pid;		/* the child, 0 while queued */
	int		 pidfd;		/* owned: the child's, or -1 */
	uint64_t	 ticket;	/* order of arrival */
	int64_t		 queued_ms, started_ms;	/* monotonic */
	int64_t		 now;		/* JOB_MAKE: its creation time (unix) */
	unsigned	 served;	/* requests of other slots served
					 * while it waited */
};

/* An empty image made ahead: being made while img >= 0 and mnt < 0, ready
 * when both are.  Its file is <blank>/b-<index>.img(.new). */
struct ws_blank {
	int		 img;		/* owned: the image, or -1 */
	int		 mnt;		/* owned: its mount, or -1 */
};

/* A client's creations (token bucket); key 0: free. */
struct ws_bucket {
	uint64_t	 key;		/* FNV-1a of the client's name */
	double		 tokens;
	int64_t		 at_ms;		/* monotonic: tokens as of then */
};

struct store {
	const struct store_opts	*o;
	const int		*chans;
	int			 dirfd;		/* owned: <dir>/<instance> */
	int			*idmap;		/* owned: a user ns per slot */
	int			*ss_idmap;	/* owned: one per live session's
						 * uid, made at its first use */
	struct ws_entry		*e;		/* owned: cache, ncap of them */
	unsigned		 ncap;
	struct ws_job		*jobs;		/* owned: one per slot */
	unsigned		 running;	/* jobs with a child */
	uint64_t		 tickets;
	struct ws_bucket	*buckets;	/* owned: STORE_BUCKETS */
	uint64_t		 image_size;	/* bytes of an image */
	uint64_t		 usable;	/* free bytes of an empty one */
	uint64_t		 base_blocks, base_inodes; /* an empty one's use */
	uint64_t		 max_files;	/* inodes a run can make */
	uint64_t		 count;		/* images on disk */
	int			 blankfd;	/* owned: <dir>/<instance>/blank */
	struct ws_blank		 blank[STORE_BLANKS];
	int			 blank_k;	/* the one being made, or -1 */
	pid_t			 blank_pid;	/* its mkfs child, or 0 */
	int			 blank_pidfd;	/* owned: the child's, or -1 */
	bool			 blank_stop;	/* none until the next sweep */
	struct sessions		*sessions;	/* owned: live sessions
						 * (session.c), or NULL: off */
};

/* ----------------------------------------------------------- helpers --- */

static void __attribute__((format(printf, 3, 4)))
store_log(const struct store *s, const char *level, const char *fmt, ...)
{
	char	msg[600];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->o->log != NULL)
		s->o->log(level, msg);
}

static int64_t
store_now(void)
{
	return (int64_t)time(NULL);
}

static void
stat_add(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static void
stat_set(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

static bool
name_ok(const char *s, const char *extra)
{
	size_t	n = strnlen(s, WS_NAME_MAX + 1), i;

	if (n == 0 || n > WS_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(extra, c) != NULL) || c == 0)
			return false;
	}
	return true;
}

/*
 * Whether n bytes received are a whole request (the names are then made
 * NUL-terminated in place; an op's own checks of them follow).
 */
bool
ws_req_valid(struct ws_req *q, long n)
{
	if (n != (long)sizeof(*q) || q->magic != WS_MAGIC || q->op < WS_ATTACH ||
	    q->op > WS_DELETE)
		return false;
	q->client[sizeof(q->client) - 1] = q->session[sizeof(q->session) - 1] = '\0';
	return true;
}

bool
ws_client_ok(const char *s)
{
	return name_ok(s, ":._@-");
}

bool
ws_session_ok(const char *s)
{
	return name_ok(s, "._-") && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

const char *
ws_status_name(enum ws_status st)
{
	static const char *const names[WS_NSTATUS] = {
		[WS_OK] = "ok", [WS_CREATED] = "created", [WS_BUSY] = "busy",
		[WS_NOT_FOUND] = "not_found", [WS_CLIENT_LIMIT] = "client_limit",
		[WS_TOTAL_LIMIT] = "total_limit", [WS_NO_SPACE] = "no_space",
		[WS_FAILED] = "error", [WS_BAD] = "bad",
		[WS_RATE] = "rate_limited",
	};

	return (unsigned)st < WS_NSTATUS ? names[st] : "bad";
}

static void
hex(char *out, const char *s)
{
	static const char digits[] = "0123456789abcdef";

	for (; *s != '\0'; s++) {
		*out++ = digits[(unsigned char)*s >> 4];
		*out++ = digits[(unsigned char)*s & 15];
	}
	*out = '\0';
}

/* "c-<hex client>" and "c-<hex client>/w-<hex session>.img". */
static void
store_rel(const struct ws_req *q, char dir[STORE_REL_MAX + 1],
    char rel[STORE_REL_MAX + 1])
{
	char	hc[2 * WS_NAME_MAX + 1], hs[2 * WS_NAME_MAX + 1];

	hex(hc, q->client);
	hex(hs, q->session);
	snprintf(dir, STORE_REL_MAX + 1, "c-%s", hc);
	snprintf(rel, STORE_REL_MAX + 1, "c-%s/w-%s.img", hc, hs);
}

/* A short id of a workspace for log lines (FNV-1a of its path): never the
 * client's or the session's text. */
static void
store_logid(const char *rel, char out[13])
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *rel != '\0'; rel++)
		h = (h ^ (unsigned char)*rel) * 0x100000001b3ULL;
	snprintf(out, 13, "%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

static int
store_write_file(const char *path, const char *text)
{
	int	fd = open(path, O_WRONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) == (ssize_t)strlen(text))
		rc = 0;
	close(fd);
	return rc;
}

/*
 * Opens rel ("name" or "dir/name", hex names the store made) beneath the
 * store's directory, never through a link: openat2() with RESOLVE_BENEATH
 * and RESOLVE_NO_SYMLINKS; where a seccomp policy does not know openat2
 * (ENOSYS: systemd-nspawn's, older container runtimes), one openat() per
 * component with O_NOFOLLOW.
 */
static int
store_open(const struct store *s, const char *rel, int flags, mode_t mode)
{
	static bool	 no_openat2;
	struct open_how	 how = { .flags = (uint64_t)flags | O_NOFOLLOW | O_CLOEXEC,
			    .mode = (flags & O_CREAT) ? mode : 0,
			    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	const char	*slash = strchr(rel, '/');
	char		 dir[STORE_REL_MAX + 1];
	int		 fd, dfd, e;

	if (!no_openat2) {
		fd = (int)syscall(SYS_openat2, s->dirfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		no_openat2 = true;
	}
	if (slash == NULL)
		return openat(s->dirfd, rel, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if ((size_t)(slash - rel) >= sizeof(dir) || strchr(slash + 1, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = '\0';
	if ((dfd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	fd = openat(dfd, slash + 1, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

static int
store_meta_write(int img, int64_t created, int64_t used)
{
	char	buf[64];
	int	n = snprintf(buf, sizeof(buf), "v1 %lld %lld",
		    (long long)created, (long long)used);

	return fsetxattr(img, STORE_XATTR, buf, (size_t)n, 0);
}

/* 0 and the times, or -1 (missing or not ours: the image's mtime then). */
static int
store_meta_read(int img, int64_t *created, int64_t *used)
{
	char		 buf[64];
	ssize_t		 n = fgetxattr(img, STORE_XATTR, buf, sizeof(buf) - 1);
	long long	 c, u;
	int		 end = 0;
	struct stat	 st;

	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "v1 %lld %lld%n", &c, &u, &end) == 2 &&
		    end == n && c > 0 && u >= c) {
			*created = c;
			*used = u;
			return 0;
		}
	}
	if (fstat(img, &st) == 0)
		*created = *used = (int64_t)st.st_mtime;
	return -1;
}

/* --------------------------------------------------- images and mounts --- */

/* In a child of the store: mkfs.ext4 on the file fd (of size bytes),
 * fixed argv, no environment.  Never returns. */
static void __attribute__((noreturn))
store_mkfs_exec(const struct store *s, int fd, uint64_t size)
{
	static const char *const mkfs[] = { "/sbin/mkfs.ext4",
	    "/usr/sbin/mkfs.ext4" };
	char	inodes[32], kib[32], owner[80], path[32];
	char	*argv[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0",
		    "-N", inodes, "-O", "^resize_inode", "-E", owner,
		    "-L", "pyexec-ws", path, kib, NULL };
	char	*envp[] = { NULL };
	sigset_t all;
	int	 nul;
	size_t	 i;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(inodes, sizeof(inodes), "%u", s->o->max_files + 16);
	snprintf(kib, sizeof(kib), "%lluk", (unsigned long long)(size / 1024));
	snprintf(owner, sizeof(owner), "lazy_itable_init=1,lazy_journal_init=1,"
	    "root_owner=1000:1000");
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);	/* the master's mask */
	if ((nul = open("/dev/null", O_RDWR)) >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	if (fcntl(fd, F_SETFD, 0) != 0)	/* the image, for mkfs */
		_exit(126);
	for (i = 0; i < sizeof(mkfs) / sizeof(mkfs[0]); i++)
		execve(mkfs[i], argv, envp);
	_exit(127);
}

/* Whether a child's wait status is a clean exit (else errno EIO). */
static int
store_exit_ok(int st)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	errno = EIO;
	return -1;
}

/* mkfs.ext4 on the file fd, waited for (the probe image, at set-up). */
static int
store_mkfs(const struct store *s, int fd, uint64_t size)
{
	pid_t	pid;
	int	st;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0)
		store_mkfs_exec(s, fd, size);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return store_exit_ok(st);
}

/*
 * Loop device n, opened.  Where /dev has no node for it (a container's or
 * a unit's private /dev shows only the devices that existed when it was
 * made), the store makes one in its own root-only directory from what
 * sysfs says the device is, opens it and removes the node.
 */
static int
store_loop_open(const struct store *s, int n)
{
	char		 dev[32], sys[64], text[32];
	unsigned	 maj, min;
	int		 fd, sfd;
	ssize_t		 len;

	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	if ((fd = open(dev, O_RDWR | O_CLOEXEC)) >= 0 || errno != ENOENT)
		return fd;
	snprintf(sys, sizeof(sys), "/sys/block/loop%d/dev", n);
	if ((sfd = open(sys, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	len = read(sfd, text, sizeof(text) - 1);
	close(sfd);
	if (len <= 0)
		return -1;
	text[len] = '\0';
	if (sscanf(text, "%u:%u", &maj, &min) != 2) {
		errno = EINVAL;
		return -1;
	}
	(void)unlinkat(s->dirfd, "loop.node", 0);
	if (mknodat(s->dirfd, "loop.node", S_IFBLK | 0600, makedev(maj, min)) != 0)
		return -1;
	fd = store_open(s, "loop.node", O_RDWR, 0);
	(void)unlinkat(s->dirfd, "loop.node", 0);
	return fd;
}

/* The image attached to a free loop device (released when the last mount
 * of it goes: LO_FLAGS_AUTOCLEAR).  The loop device's fd, or -1. */
static int
store_loop(const struct store *s, int img)
{
	struct loop_config	cfg;
	int			ctl, n, fd, tries;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	for (tries = 0; tries < STORE_LOOP_TRIES; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
			break;
		if ((fd = store_loop_open(s, n)) < 0)
			break;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)img;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			close(ctl);
			return fd;
		}
		close(fd);
		if (errno != EBUSY)	/* another process took it: again */
			break;
	}
	close(ctl);
	return -1;
}

/* A detached mount of the image's ext4 (nosuid, nodev, noexec, noatime).
 * Its fd, or -1. */
static int
store_mount(const struct store *s, int img)
{
	char	 dev[64];
	int	 loop, fs = -1, mnt = -1, e;

	if ((loop = store_loop(s, img)) < 0)
		return -1;
	snprintf(dev, sizeof(dev), "/proc/self/fd/%d", loop);
	if ((fs = fsopen("ext4", FSOPEN_CLOEXEC)) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "source", dev, 0) != 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "errors", "remount-ro", 0) != 0 ||
	    fsconfig(fs, FSCONFIG_SET_FLAG, "noinit_itable", NULL, 0) != 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
		goto out;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
	    MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME);
out:
	e = errno;
	if (fs >= 0)
		close(fs);
	close(loop);
	errno = e;
	return mnt;
}

/* Slot i's run uid 1000 as a user namespace (for idmapped clones): a child
 * made in one, its maps written, its namespace kept open.  fd or -1. */
static int
store_userns(uid_t host)
{
	char	 path[64], map[64], b = 0;
	int	 p[2], q[2], fd = -1;
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(q, O_CLOEXEC) != 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if ((pid = fork()) == 0) {
		close(p[1]);
		/* Dumpable (the master and the store are not), so that the store
		 * may open its /proc/PID/ns/user without CAP_SYS_PTRACE, which
		 * the unit's bounding set leaves out.  It holds no secret. */
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		if (unshare(CLONE_NEWUSER) != 0)
			_exit(1);
		(void)!write(q[1], "u", 1);
		(void)!read(p[0], &b, 1);
		_exit(0);
	}
	close(q[1]);
	close(p[0]);
	if (pid > 0 && read(q[0], &b, 1) == 1) {
		snprintf(map, sizeof(map), "1000 %u 1\n", (unsigned)host);
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		if (store_write_file(path, map) == 0) {
			snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
			(void)store_write_file(path, "deny");
			snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
			if (store_write_file(path, map) == 0) {
				snprintf(path, sizeof(path), "/proc/%d/ns/user",
				    (int)pid);
				fd = open(path, O_RDONLY | O_CLOEXEC);
			}
		}
	}
	close(p[1]);
	close(q[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	return fd;
}

/* The user namespace that maps 1000 to a live session's host uid (of the
 * sessions' range: store_attach checks), made at its first use and kept
 * (the uid is session k's, whichever session k is).  Borrowed fd, or -1. */
static int
store_ss_userns(struct store *s, uid_t uid)
{
	unsigned	k = (unsigned)(uid - s->o->sessions->uid_base);

	if (s->ss_idmap == NULL) {
		unsigned i;

		if ((s->ss_idmap = calloc(s->o->sessions->max,
		    sizeof(int))) == NULL)
			return -1;
		for (i = 0; i < s->o->sessions->max; i++)
			s->ss_idmap[i] = -1;
	}
	if (s->ss_idmap[k] < 0)
		s->ss_idmap[k] = store_userns(uid);
	return s->ss_idmap[k];
}

/* An idmapped clone of mount mnt for slot i (or, with uid, for the live
 * session of that host uid): fd, or -1. */
static int
store_clone(struct store *s, int mnt, unsigned slot, uid_t uid)
{
	int	ns = -1;

	struct mount_attr	a;
	int			fd, e;

	if ((fd = open_tree(mnt, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
	    AT_EMPTY_PATH)) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	/* (noatime stays from the mount: changing it needs attr_clr) */
	a.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
	    MOUNT_ATTR_NOEXEC;
	if (uid != 0 && (ns = store_ss_userns(s, uid)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	a.userns_fd = (uint64_t)(uid != 0 ? ns : s->idmap[slot]);
	a.propagation = MS_PRIVATE;
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Usage of a mounted workspace. */
static void
store_usage(const struct store *s, const struct ws_entry *w, struct ws_usage *u)
{
	struct statfs	f;
	uint64_t	blocks, inodes;

	memset(u, 0, sizeof(*u));
	u->max_bytes = s->usable;
	u->max_files = s->max_files;
	u->created = w->created;
	u->used = w->used;
	u->expires = w->used + s->o->idle_s;
	if (w->created + (int64_t)s->o->max_age_s < u->expires)
		u->expires = w->created + (int64_t)s->o->max_age_s;
	if (w->mnt < 0 || fstatfs(w->mnt, &f) != 0)
		return;
	blocks = (uint64_t)(f.f_blocks - f.f_bfree);
	inodes = (uint64_t)(f.f_files - f.f_ffree);
	u->bytes = blocks > s->base_blocks ?
	    (blocks - s->base_blocks) * (uint64_t)f.f_bsize : 0;
	u->files = inodes > s->base_inodes ? inodes - s->base_inodes : 0;
	/* this image's own quota (one made under other limits keeps them) */
	u->max_bytes = u->bytes + (uint64_t)f.f_bavail * (uint64_t)f.f_bsize;
	u->max_files = u->files + (uint64_t)f.f_ffree;
	u->full = (uint64_t)f.f_bavail * (uint64_t)f.f_bsize < STORE_FULL ||
	    f.f_ffree == 0;
}

/*
 * The image size whose empty file system has max_bytes free (ext4 puts its
 * journal and tables on top), and what an empty one uses: found with a
 * probe image, which is also the proof, before the store serves, that this
 * host can make, loop-mount and idmap a workspace.  0, or -1 (err).
 */
static int
store_size(struct store *s, char *err, size_t errlen)
{
	static const char probe[] = "probe.img";
	uint64_t	size = s->o->max_bytes + (s->o->max_bytes / 16) +
			    (8ULL << 20) + (uint64_t)s->o->max_files * 256;
	struct statfs	f;
	int		tries, img = -1, mnt = -1, clone = -1;
	const char	*step = "create";
	uint64_t	free;

	for (tries = 0; tries < 8; tries++) {
		(void)unlinkat(s->dirfd, probe, 0);
		size = (size + 4095) & ~4095ULL;
		step = "create";
		if ((img = store_open(s, probe, O_RDWR | O_CREAT | O_EXCL,
		    0600)) < 0)
			goto fail;
		step = "mkfs.ext4";
		if (ftruncate(img, (off_t)size) != 0 ||
		    store_mkfs(s, img, size) != 0)
			goto fail;
		step = "loop device and mount";
		if ((mnt = store_mount(s, img)) < 0)
			goto fail;
		step = "lost+found";
		if (unlinkat(mnt, "lost+found", AT_REMOVEDIR) != 0 &&
		    errno != ENOENT)
			goto fail;
		step = "statfs";
		if (fstatfs(mnt, &f) != 0)
			goto fail;
		step = "idmapped clone";
		if ((clone = store_clone(s, mnt, 0, 0)) < 0)
			goto fail;
		close(clone);
		clone = -1;
		close(mnt);
		close(img);
		mnt = img = -1;
		free = (uint64_t)f.f_bavail * (uint64_t)f.f_bsize;
		if (free >= s->o->max_bytes && free < s->o->max_bytes +
		    STORE_SIZE_SLACK) {
			s->image_size = size;
			s->usable = free;
			s->base_blocks = (uint64_t)(f.f_blocks - f.f_bfree);
			s->base_inodes = (uint64_t)(f.f_files - f.f_ffree);
			s->max_files = (uint64_t)f.f_ffree;
			(void)unlinkat(s->dirfd, probe, 0);
			return 0;
		}
		/* ext4's overhead grows with the size: close in on it */
		size = size + s->o->max_bytes - free + STORE_SIZE_SLACK / 2;
	}
	step = "sizing";
	errno = ERANGE;
fail:
	snprintf(err, errlen, "a workspace image (ext4 on a loop device, "
	    "idmapped mount) cannot be made here: %s: %s", step,
	    strerror(errno));
	if (clone >= 0)
		close(clone);
	if (mnt >= 0)
		close(mnt);
	if (img >= 0)
		close(img);
	(void)unlinkat(s->dirfd, probe, 0);
	return -1;
}

/* ------------------------------------------------------------- cache --- */

static struct ws_entry *
cache_find(struct store *s, const char *rel)
{
	unsigned	i;

	for (i = 0; i < s->ncap; i++)
		if (s->e[i].rel[0] != '\0' && strcmp(s->e[i].rel, rel) == 0)
			return &s->e[i];
	return NULL;
}

static void
cache_drop(struct store *s, struct ws_entry *w)
{
	if (w->mnt >= 0)
		close(w->mnt);
	if (w->img >= 0)
		close(w->img);
	memset(w, 0, sizeof(*w));
	w->mnt = w->img = w->lease = -1;
}

static unsigned
cache_mounted(const struct store *s)
{
	unsigned	i, n = 0;

	for (i = 0; i < s->ncap; i++)
		n += s->e[i].rel[0] != '\0';
	return n;
}

/* A free entry: past opts.mounts unleased ones, the least recently used
 * goes.  There is always one: the cache holds mounts + nslots. */
static struct ws_entry *
cache_slot(struct store *s)
{
	struct ws_entry	*lru = NULL, *free = NULL;
	unsigned	 i, unleased = 0;

	for (i = 0; i < s->ncap; i++) {
		struct ws_entry *w = &s->e[i];

		if (w->rel[0] == '\0') {
			if (free == NULL)
				free = w;
			continue;
		}
		if (w->lease >= 0)
			continue;
		unleased++;
		if (lru == NULL || w->last < lru->last)
			lru = w;
	}
	if (lru != NULL && (free == NULL || unleased >= s->o->mounts)) {
		cache_drop(s, lru);
		return lru;
	}
	return free;
}

/* The number of images of a client (its directory). */
static unsigned
store_client_count(const struct store *s, const char *dir)
{
	int		 fd;
	DIR		*d;
	struct dirent	*de;
	unsigned	 n = 0;

	if ((fd = store_open(s, dir, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		n += strncmp(de->d_name, "w-", 2) == 0 && l > 6 &&
		    strcmp(de->d_name + l - 4, ".img") == 0;
	}
	closedir(d);
	return n;
}

/* --------------------------------------------------- the disk floor --- */

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* What an image may still take of the disk: its full size less the
 * blocks it has (0 for anything but a regular file). */
static uint64_t
store_growth_of(const struct stat *st)
{
	uint64_t	has = (uint64_t)st->st_blocks * 512;

	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size <= has)
		return 0;
	return (uint64_t)st->st_size - has;
}

static uint64_t
store_growth_fd(int fd)
{
	struct stat	st;

	return fd >= 0 && fstat(fd, &st) == 0 ? store_growth_of(&st) : 0;
}

/* The free bytes of the store's disk (as an unprivileged writer has them:
 * ext4's reserve for root is never counted). */
static uint64_t
store_free(const struct store *s)
{
	struct statvfs	v;

	if (fstatvfs(s->dirfd, &v) != 0)
		return 0;
	return (uint64_t)v.f_bavail * v.f_frsize;
}

/* Which of the store's files name is: 'i' an image, 'n' one being made
 * ("<image>.new"), 'd' one being removed ("<image>.del"), or 0. */
static char
store_file_kind(const char *name)
{
	size_t	l = strlen(name);

	if (strncmp(name, "w-", 2) != 0 || l < 8)
		return 0;
	if (strcmp(name + l - 4, ".img") == 0)
		return 'i';
	if (l >= 12 && strcmp(name + l - 8, ".img.new") == 0)
		return 'n';
	if (l >= 12 && strcmp(name + l - 8, ".img.del") == 0)
		return 'd';
	return 0;
}

/* One file of store_each(): its client directory (fd, name), its own name
 * and its path from the store's directory. */
typedef void (*store_visit)(struct store *, int cfd, const char *dir,
    const char *name, const char *rel, void *arg);

/*
 * Calls fn for each of the store's files (store_file_kind()) in each c-*
 * directory, never through a link: each directory is checked to be what
 * it must be.  With prune, an emptied c-* directory goes.
 */
static void
store_each(struct store *s, store_visit fn, void *arg, bool prune)
{
	DIR		*top, *cd;
	struct dirent	*de, *we;
	struct stat	 st;
	int		 fd, cfd;
	char		 rel[STORE_REL_MAX + 1];

	/* its own open file (not a dup: a child of the store walks too, and
	 * a shared directory offset would mix their listings) */
	if ((fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((top = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(top);
	while ((de = readdir(top)) != NULL) {
		if (strncmp(de->d_name, "c-", 2) != 0 ||
		    strlen(de->d_name) > STORE_REL_MAX / 2 ||
		    fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != 0)
			continue;
		if ((cfd = store_open(s, de->d_name, O_RDONLY | O_DIRECTORY, 0)) < 0)
			continue;
		if ((cd = fdopendir(cfd)) == NULL) {
			close(cfd);
			continue;
		}
		while ((we = readdir(cd)) != NULL)
			if (store_file_kind(we->d_name) != 0 &&
			    (size_t)snprintf(rel, sizeof(rel), "%s/%s",
			    de->d_name, we->d_name) < sizeof(rel))
				fn(s, cfd, de->d_name, we->d_name, rel, arg);
		closedir(cd);
		if (prune)
			(void)unlinkat(s->dirfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(top);
}

/* store_each(): adds what an image (or one being made) may still take. */
static void
store_growth_one(struct store *s, int cfd, const char *dir, const char *name,
    const char *rel, void *arg)
{
	uint64_t	*sum = arg;
	struct stat	 st;

	(void)s;
	(void)dir;
	(void)rel;
	if (store_file_kind(name) != 'd' &&
	    fstatat(cfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		*sum = sat_add(*sum, store_growth_of(&st));
}

/* What every image, every one being made and every blank may still take
 * (a gauge). */
static uint64_t
store_growth(struct store *s)
{
	uint64_t	sum = 0;
	unsigned	k;

	store_each(s, store_growth_one, &sum, false);
	for (k = 0; k < STORE_BLANKS; k++)
		sum = sat_add(sum, store_growth_fd(s->blank[k].img));
	stat_set(&s->o->stats->growth, sum);
	return sum;
}

/* Whether the free space, less what every image and every one being made
 * may still take, less extra, stays at least the floor.  (A new image's
 * ".new" is one of those being made: extra 0 then.) */
static bool
store_room(struct store *s, uint64_t extra)
{
	return store_free(s) >= sat_add(sat_add(s->o->min_free,
	    store_growth(s)), extra);
}

/*
 * At attach (something else may have filled the disk since the images were
 * made): whether the free space, less what w, the other slots' leased
 * images and those being made may still take, stays at least the floor.
 */
static bool
store_attach_room(const struct store *s, const struct ws_entry *w,
    unsigned slot)
{
	uint64_t	need = store_growth_fd(w->img);
	unsigned	i;

	for (i = 0; i < s->ncap; i++)
		if (&s->e[i] != w && s->e[i].rel[0] != '\0' &&
		    s->e[i].lease >= 0 && s->e[i].lease != (int)slot)
			need = sat_add(need, store_growth_fd(s->e[i].img));
	for (i = 0; i < s->o->nslots; i++)
		if (s->jobs[i].kind == JOB_MAKE)
			need = sat_add(need, store_growth_fd(s->jobs[i].img));
	return store_free(s) >= sat_add(s->o->min_free, need);
}

/* ---------------------------------------------------- creation rate --- */

static uint64_t
store_key(const char *client)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *client != '\0'; client++)
		h = (h ^ (unsigned char)*client) * 0x100000001b3ULL;
	return h | 1;		/* never 0, a free entry */
}

/* The bucket's tokens as of now. */
static void
bucket_fill(const struct store *s, struct ws_bucket *b, int64_t now)
{
	b->tokens += (double)(now - b->at_ms) * s->o->create_rate / 60000.0;
	if (b->tokens > (double)s->o->create_burst)
		b->tokens = (double)s->o->create_burst;
	b->at_ms = now;
}

/*
 * The client's bucket, filled to now, or NULL when it has none (a full
 * bucket is as good as none: its entry is free again).  With make, a
 * missing one takes a free entry, else the fullest one's (whose client
 * then starts again with a full bucket: STORE_BUCKETS clients are held
 * back at once at most).
 */
static struct ws_bucket *
store_bucket(struct store *s, const char *client, bool make)
{
	uint64_t	 key = store_key(client);
	int64_t		 now = proto_mono_ms();
	struct ws_bucket *b, *spare = NULL;
	unsigned	 i;

	for (i = 0; i < STORE_BUCKETS; i++) {
		b = &s->buckets[i];
		if (b->key != 0) {
			bucket_fill(s, b, now);
			if (b->key == key)
				return b;
			if (b->tokens >= (double)s->o->create_burst)
				b->key = 0;
		}
		if (spare == NULL || (spare->key != 0 && (b->key == 0 ||
		    b->tokens > spare->tokens)))
			spare = b;
	}
	if (!make)
		return NULL;
	spare->key = key;
	spare->tokens = (double)s->o->create_burst;
	spare->at_ms = now;
	return spare;
}

/* Seconds until the client may make a workspace (rounded up): 0, now. */
static unsigned
store_rate_wait(struct store *s, const char *client)
{
	struct ws_bucket *b;
	double		 wait;
	unsigned	 n;

	if (s->o->create_rate == 0 ||
	    (b = store_bucket(s, client, false)) == NULL || b->tokens >= 1.0)
		return 0;
	wait = (1.0 - b->tokens) * 60.0 / s->o->create_rate;
	n = (unsigned)wait;
	return n < wait || n == 0 ? n + 1 : n;
}

static void
store_rate_take(struct store *s, const char *client)
{
	if (s->o->create_rate != 0)
		store_bucket(s, client, true)->tokens -= 1.0;
}

/* The token of a creation that did not happen, back. */
static void
store_rate_give(struct store *s, const char *client)
{
	struct ws_bucket *b;

	if (s->o->create_rate != 0 &&
	    (b = store_bucket(s, client, false)) != NULL && (b->tokens += 1.0) >
	    (double)s->o->create_burst)
		b->tokens = (double)s->o->create_burst;
}

/* ----------------------------------------------------------- blanks --- */

static void
blank_name(char *out, size_t len, unsigned k, bool made)
{
	snprintf(out, len, "b-%u.img%s", k, made ? "" : ".new");
}

static void
blank_drop(struct store *s, unsigned k)
{
	char	name[32];

	if (s->blank[k].mnt >= 0)
		close(s->blank[k].mnt);
	if (s->blank[k].img >= 0)
		close(s->blank[k].img);
	s->blank[k].img = s->blank[k].mnt = -1;
	blank_name(name, sizeof(name), k, false);
	(void)unlinkat(s->blankfd, name, 0);
	blank_name(name, sizeof(name), k, true);
	(void)unlinkat(s->blankfd, name, 0);
}

/*
 * Starts making a missing blank, unless one is being made, the jobs are
 * all running, a slot's job waits (they come first), or the last one
 * found the disk at its floor.  The child checks the floor (the new file,
 * at its full size, is one of the blanks it counts) and runs mkfs.
 */
static void
blank_next(struct store *s)
{
	unsigned	k, i;
	char		name[32];
	int		fd;
	pid_t		pid;

	if (s->blank_pid != 0 || s->blank_stop || s->running >= STORE_JOBS)
		return;
	for (i = 0; i < s->o->nslots; i++)
		if (s->jobs[i].kind != JOB_NONE && s->jobs[i].pid == 0)
			return;
	for (k = 0; k < STORE_BLANKS && s->blank[k].img >= 0; k++)
		;
	if (k == STORE_BLANKS)
		return;
	blank_drop(s, k);
	blank_name(name, sizeof(name), k, false);
	if ((fd = openat(s->blankfd, name, O_RDWR | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    ftruncate(fd, (off_t)s->image_size) != 0) {
		store_log(s, "error", "a blank workspace: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		(void)unlinkat(s->blankfd, name, 0);
		s->blank_stop = true;
		return;
	}
	s->blank[k].img = fd;
	if ((pid = fork()) == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (!store_room(s, 0))
			_exit(STORE_NO_ROOM);
		store_mkfs_exec(s, fd, s->image_size);
	}
	if (pid < 0) {
		store_log(s, "error", "a blank workspace: fork: %s",
		    strerror(errno));
		blank_drop(s, k);
		s->blank_stop = true;
		return;
	}
	s->blank_k = (int)k;
	s->blank_pid = pid;
	s->running++;
	s->blank_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The blank's mkfs child has exited (or, without a pidfd, is waited for
 * here): mounted, or dropped. */
static void
blank_made(struct store *s)
{
	unsigned	 k = (unsigned)s->blank_k;
	struct ws_blank	*b = &s->blank[k];
	char		 from[32], to[32];
	int		 st = 1 << 8;
	const char	*step = "mkfs.ext4";

	while (waitpid(s->blank_pid, &st, 0) < 0 && errno == EINTR)
		;
	if (s->blank_pidfd >= 0)
		close(s->blank_pidfd);
	s->blank_pidfd = -1;
	s->blank_pid = 0;
	s->blank_k = -1;
	s->running--;
	blank_name(from, sizeof(from), k, false);
	blank_name(to, sizeof(to), k, true);
	if (WIFEXITED(st) && WEXITSTATUS(st) == STORE_NO_ROOM) {
		blank_drop(s, k);	/* the floor: again after a sweep */
		s->blank_stop = true;
		return;
	}
	if (store_exit_ok(st) == 0) {
		step = "rename";
		if (renameat(s->blankfd, from, s->blankfd, to) == 0) {
			step = "mount";
			if ((b->mnt = store_mount(s, b->img)) >= 0 &&
			    unlinkat(b->mnt, "lost+found", AT_REMOVEDIR) == 0)
				return;
		}
	}
	store_log(s, "error", "a blank workspace: %s: %s", step,
	    strerror(errno));
	blank_drop(s, k);
	s->blank_stop = true;
}

/*
 * Image rel (of client directory dir, which exists) from a ready blank:
 * renamed into place, its times now; WS_OK and *out, WS_NOT_FOUND (none
 * ready) or WS_FAILED.
 */
static enum ws_status
blank_take(struct store *s, const char *rel, struct ws_entry **out)
{
	struct ws_entry	*w;
	char		 name[32], id[13];
	unsigned	 k;
	int64_t		 now = store_now();

	for (k = 0; k < STORE_BLANKS; k++)
		if (s->blank[k].img >= 0 && s->blank[k].mnt >= 0)
			break;
	if (k == STORE_BLANKS)
		return WS_NOT_FOUND;
	blank_name(name, sizeof(name), k, true);
	if (store_meta_write(s->blank[k].img, now, now) != 0 ||
	    renameat2(s->blankfd, name, s->dirfd, rel, RENAME_NOREPLACE) != 0) {
		store_logid(rel, id);
		store_log(s, "error", "workspace %s: from a blank: %s", id,
		    strerror(errno));
		blank_drop(s, k);
		return WS_FAILED;
	}
	w = cache_slot(s);	/* (there is always one) */
	snprintf(w->rel, sizeof(w->rel), "%s", rel);
	w->img = s->blank[k].img;
	w->mnt = s->blank[k].mnt;
	w->lease = -1;
	w->created = w->used = now;
	s->blank[k].img = s->blank[k].mnt = -1;
	s->count++;
	stat_set(&s->o->stats->workspaces, s->count);
	*out = w;
	return WS_OK;
}

/* <dir>/<instance>/blank, root's, 0700, emptied (a blank of an earlier
 * store may be half made). */
static int
blank_setup(struct store *s)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	int		 fd;
	unsigned	 k;

	for (k = 0; k < STORE_BLANKS; k++)
		s->blank[k].img = s->blank[k].mnt = -1;
	s->blank_k = -1;
	s->blank_pidfd = -1;
	(void)mkdirat(s->dirfd, STORE_BLANK_DIR, 0700);
	if ((s->blankfd = store_open(s, STORE_BLANK_DIR, O_RDONLY | O_DIRECTORY,
	    0)) < 0 || fstat(s->blankfd, &st) != 0 || st.st_uid != 0 ||
	    fchmod(s->blankfd, 0700) != 0)
		return -1;
	if ((fd = openat(s->blankfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "b-", 2) == 0)
			(void)unlinkat(s->blankfd, de->d_name, 0);
	closedir(d);
	return 0;
}

/* ----------------------------------------------------------- the ops --- */

static void
store_release(struct store *s, unsigned slot, const struct ws_entry *keep)
{
	unsigned	i;

	for (i = 0; i < s->ncap; i++) {
		struct ws_entry *w = &s->e[i];

		if (w->rel[0] == '\0' || w->lease != (int)slot || w == keep)
			continue;
		w->lease = -1;
		w->used = store_now();
		w->last = proto_mono_ms();
		(void)store_meta_write(w->img, w->created, w->used);
	}
}

/*
 * Mounts image rel into a cache entry (*out).  img is its fd: the entry
 * owns it, or it is closed.  made: a fresh one, whose lost+found goes (a
 * file system no run has seen).
 */
static enum ws_status
store_cache_add(struct store *s, const char *rel, int img, bool made,
    struct ws_entry **out)
{
	struct ws_entry	*w;
	int		 mnt;
	char		 id[13];

	if ((mnt = store_mount(s, img)) < 0 || (made &&
	    unlinkat(mnt, "lost+found", AT_REMOVEDIR) != 0) ||
	    (w = cache_slot(s)) == NULL) {	/* (there is always one) */
		store_logid(rel, id);
		store_log(s, "error", "workspace %s: mount: %s", id,
		    strerror(errno));
		if (mnt >= 0)
			close(mnt);
		close(img);
		return WS_FAILED;
	}
	snprintf(w->rel, sizeof(w->rel), "%s", rel);
	w->img = img;
	w->mnt = mnt;
	w->lease = -1;
	(void)store_meta_read(img, &w->created, &w->used);
	*out = w;
	return WS_OK;
}

/* The job (queued or running) on image rel, or NULL. */
static struct ws_job *
store_job_on(struct store *s, const char *rel)
{
	unsigned	i;

	for (i = 0; i < s->o->nslots; i++)
		if (s->jobs[i].kind != JOB_NONE &&
		    strcmp(s->jobs[i].rel, rel) == 0)
			return &s->jobs[i];
	return NULL;
}

/* The images being made, of client directory dir (NULL: of any). */
static unsigned
store_making(const struct store *s, const char *dir)
{
	unsigned	i, n = 0;

	for (i = 0; i < s->o->nslots; i++)
		n += s->jobs[i].kind == JOB_MAKE &&
		    (dir == NULL || strcmp(s->jobs[i].dir, dir) == 0);
	return n;
}

static void
store_job_gauge(struct store *s)
{
	unsigned	i, n = 0;

	for (i = 0; i < s->o->nslots; i++)
		n += s->jobs[i].kind != JOB_NONE;
	stat_set(&s->o->stats->jobs, n);
}

/* Queues the slot's job, its fields set: the answer comes at its end. */
static enum ws_status
store_job_queue(struct store *s, unsigned slot, enum job_kind kind,
    const struct ws_req *q, const char *dir, const char *rel)
{
	struct ws_job	*j = &s->jobs[slot];

	j->kind = kind;
	j->q = *q;
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	snprintf(j->rel, sizeof(j->rel), "%s", rel);
	j->pid = 0;
	j->pidfd = -1;
	j->ticket = ++s->tickets;
	j->queued_ms = j->started_ms = proto_mono_ms();
	j->served = 0;
	store_job_gauge(s);
	return WS_PENDING;
}

/*
 * Starts making image rel for the slot's request q: WS_PENDING (the answer
 * comes once its job is done: store_made(); the job's child checks the
 * disk's floor first, walking every image), or why not: another
 * request's job on it, the counts, the client's rate.
 */
static enum ws_status
store_create(struct store *s, unsigned slot, const struct ws_req *q,
    const char *dir, const char *rel, struct ws_entry **out)
{
	struct ws_job	*j = &s->jobs[slot];
	char		 id[13];
	int		 fd = -1, e;
	enum ws_status	 st;

	if (store_job_on(s, rel) != NULL)
		return WS_BUSY;
	if (s->count + store_making(s, NULL) >= s->o->max_total)
		return WS_TOTAL_LIMIT;
	if (store_client_count(s, dir) + store_making(s, dir) >= s->o->per_client)
		return WS_CLIENT_LIMIT;
	if (store_rate_wait(s, q->client) > 0)
		return WS_RATE;
	store_logid(rel, id);
	if (mkdirat(s->dirfd, dir, 0700) != 0 && errno != EEXIST) {
		store_log(s, "error", "workspace %s: its client's directory: "
		    "%s", id, strerror(errno));
		return WS_FAILED;
	}
	if ((st = blank_take(s, rel, out)) != WS_NOT_FOUND) {
		if (st == WS_OK) {
			store_rate_take(s, q->client);
			store_log(s, "info", "workspace %s: created (a blank "
			    "made ahead)", id);
		}
		return st == WS_OK ? WS_CREATED : st;
	}
	snprintf(j->tmp, sizeof(j->tmp), "%s.new", rel);
	(void)unlinkat(s->dirfd, j->tmp, 0);
	if ((fd = store_open(s, j->tmp, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0 ||
	    ftruncate(fd, (off_t)s->image_size) != 0) {
		e = errno;
		if (fd >= 0) {
			close(fd);
			(void)unlinkat(s->dirfd, j->tmp, 0);
		}
		store_log(s, "error", "workspace %s: making it: %s", id,
		    strerror(e));
		return WS_FAILED;
	}
	store_rate_take(s, q->client);
	j->img = fd;
	j->mnt = -1;
	j->now = store_now();
	return store_job_queue(s, slot, JOB_MAKE, q, dir, rel);
}

/* Opens and mounts rel into a cache entry, or starts making it. */
static enum ws_status
store_load(struct store *s, unsigned slot, const struct ws_req *q,
    const char *dir, const char *rel, struct ws_entry **out)
{
	int	img;
	char	id[13];

	if ((img = store_open(s, rel, O_RDWR, 0)) >= 0)
		return store_cache_add(s, rel, img, false, out);
	if (errno != ENOENT) {
		store_logid(rel, id);
		store_log(s, "error", "workspace %s: open: %s", id,
		    strerror(errno));
		return WS_FAILED;
	}
	if (!q->create)
		return WS_NOT_FOUND;
	return store_create(s, slot, q, dir, rel, out);
}

/*
 * The root of a workspace as mkfs made it (root_owner=1000:1000, 0755, no
 * extended attribute, no behaviour flag).  A run owns that directory: it
 * may chmod it (to 0, and every later run failed to enter it), chown it
 * to itself, give it ACLs (a default ACL of no rights masks every file a
 * later run makes) and user.* attributes, and set the inode flags an owner
 * may (sync, dirsync, noatime, nodump, topdir...).  At every attach the
 * store puts it back, writing only what differs.  A run cannot set the
 * flags that need CAP_LINUX_IMMUTABLE; the store clears them too.  Its
 * times are the run's to set and stay.  0, or -1 (errno): the caller logs
 * it and goes on (a run that then cannot enter is the client's error).
 */
#define STORE_ROOT_MODE	0755
#define STORE_ROOT_ID	1000
#define STORE_ROOT_FLAGS (FS_SECRM_FL | FS_UNRM_FL | FS_COMPR_FL | \
	FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | \
	FS_NOATIME_FL | FS_JOURNAL_DATA_FL | FS_NOTAIL_FL | FS_DIRSYNC_FL | \
	FS_TOPDIR_FL | FS_NOCOMP_FL | FS_DAX_FL | FS_PROJINHERIT_FL)

/* The behaviour flags off (an immutable directory refuses the rest, so
 * first).  0 or -1. */
static int
store_root_flags(int fd)
{
	long	flags = 0;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0)
		return -1;
	if ((flags & STORE_ROOT_FLAGS) == 0)
		return 0;
	flags &= ~(long)STORE_ROOT_FLAGS;
	return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

/* The attributes a run can set go: ACLs and user.* (security.* and
 * trusted.* need capabilities it lacks; an LSM's label stays).  0 or -1. */
static int
store_root_xattrs(int fd)
{
	static char	 names[65536];	/* XATTR_LIST_MAX */
	ssize_t		 len;
	char		*n;

	if ((len = flistxattr(fd, names, sizeof(names))) < 0)
		return -1;
	for (n = names; n < names + len; n += strlen(n) + 1)
		if ((strncmp(n, "user.", 5) == 0 ||
		    strncmp(n, "system.posix_acl_", 17) == 0) &&
		    fremovexattr(fd, n) != 0 && errno != ENODATA)
			return -1;
	return 0;
}

static int
store_reset_root(int mnt)
{
	struct stat	 st;
	int		 fd, rc = -1, e;

	if ((fd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (store_root_flags(fd) != 0 || fstat(fd, &st) != 0)
		goto out;
	if ((st.st_uid != STORE_ROOT_ID || st.st_gid != STORE_ROOT_ID) &&
	    fchown(fd, STORE_ROOT_ID, STORE_ROOT_ID) != 0)
		goto out;
	/* After the chown, which drops set-id bits. */
	if ((st.st_mode & 07777) != STORE_ROOT_MODE &&
	    fchmod(fd, STORE_ROOT_MODE) != 0)
		goto out;
	rc = store_root_xattrs(fd);
out:
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

static enum ws_status
store_attach(struct store *s, unsigned slot, const struct ws_req *q,
    struct ws_reply *r, int *clone)
{
	char		 dir[STORE_REL_MAX + 1], rel[STORE_REL_MAX + 1];
	struct ws_entry	*w;
	enum ws_status	 st = WS_OK;

	store_rel(q, dir, rel);
	w = cache_find(s, rel);
	store_release(s, slot, w);
	if (w != NULL && w->lease >= 0 && w->lease != (int)slot)
		return WS_BUSY;
	if (w == NULL && (st = store_load(s, slot, q, dir, rel, &w)) != WS_OK &&
	    st != WS_CREATED)
		return st;
	if (!store_attach_room(s, w, slot))
		return WS_NO_SPACE;
	if (store_reset_root(w->mnt) != 0) {
		char id[13];

		store_logid(rel, id);
		store_log(s, "warning", "workspace %s: resetting its root: %s",
		    id, strerror(errno));
	}
	if (q->uid != 0 && (s->o->sessions == NULL ||
	    q->uid < s->o->sessions->uid_base ||
	    q->uid >= s->o->sessions->uid_base + s->o->sessions->max))
		return WS_BAD;		/* only a session's uid */
	if ((*clone = store_clone(s, w->mnt, slot, q->uid)) < 0) {
		store_log(s, "error", "workspace clone for slot %u: %s", slot,
		    strerror(errno));
		return WS_FAILED;
	}
	w->lease = (int)slot;
	w->last = proto_mono_ms();
	w->used = store_now();
	store_usage(s, w, &r->u);
	return st;
}

static struct ws_entry *
store_leased(struct store *s, unsigned slot)
{
	unsigned	i;

	for (i = 0; i < s->ncap; i++)
		if (s->e[i].rel[0] != '\0' && s->e[i].lease == (int)slot)
			return &s->e[i];
	return NULL;
}

/* Removes image rel (not leased): its mount, its file, an empty client
 * directory.  0 or -1 (ENOENT: none). */
static int
store_remove(struct store *s, const char *dir, const char *rel)
{
	struct ws_entry	*w = cache_find(s, rel);

	if (w != NULL)
		cache_drop(s, w);
	if (unlinkat(s->dirfd, rel, 0) != 0)
		return -1;
	(void)unlinkat(s->dirfd, dir, AT_REMOVEDIR);	/* if empty */
	if (s->count > 0)
		s->count--;
	stat_set(&s->o->stats->workspaces, s->count);
	return 0;
}

/*
 * Removes the workspace q names (unless another slot leases it): renamed
 * out of the way at once, its mount and file dropped by a job
 * (WS_PENDING: the answer comes at its end, store_removed()).
 */
static enum ws_status
store_delete(struct store *s, unsigned slot, const struct ws_req *q)
{
	char		 dir[STORE_REL_MAX + 1], rel[STORE_REL_MAX + 1];
	struct ws_job	*j = &s->jobs[slot];
	struct ws_entry	*w;

	store_rel(q, dir, rel);
	if (store_job_on(s, rel) != NULL)
		return WS_BUSY;
	w = cache_find(s, rel);
	if (w != NULL && w->lease >= 0 && w->lease != (int)slot)
		return WS_BUSY;
	snprintf(j->tmp, sizeof(j->tmp), "%s.del", rel);
	if (renameat(s->dirfd, rel, s->dirfd, j->tmp) != 0)
		return errno == ENOENT ? WS_NOT_FOUND : WS_FAILED;
	if (s->count > 0)
		s->count--;
	stat_set(&s->o->stats->workspaces, s->count);
	j->mnt = j->img = -1;
	if (w != NULL) {		/* the job takes its references */
		j->mnt = w->mnt;
		j->img = w->img;
		w->mnt = w->img = -1;
		cache_drop(s, w);
	}
	return store_job_queue(s, slot, JOB_REMOVE, q, dir, rel);
}

/* ------------------------------------------------------------- jobs --- */

/*
 * A child that checks the disk's floor (walking every image: this one's
 * ".new", made at its full size, is one of them) and runs mkfs on the
 * image: its pid, or -1.  Below the floor it exits STORE_NO_ROOM.
 */
static pid_t
store_make_start(struct store *s, struct ws_job *j)
{
	pid_t	pid;

	if ((pid = fork()) != 0)
		return pid;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (!store_room(s, 0))
		_exit(STORE_NO_ROOM);
	store_mkfs_exec(s, j->img, s->image_size);
}

/*
 * A child that holds the last references of a removed image's mount and
 * file, drops them (the unmount happens in it) and unlinks the file.  The
 * store's own references are gone on return.  Its pid, or -1.
 */
static pid_t
store_drop_start(struct store *s, struct ws_job *j)
{
	int	 p[2];
	pid_t	 pid;
	char	 b;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(p[1]);
		/* until the store has closed its own references */
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		if (j->mnt >= 0)
			close(j->mnt);
		if (j->img >= 0)
			close(j->img);
		_exit(unlinkat(s->dirfd, j->tmp, 0) == 0 ? 0 : 1);
	}
	close(p[0]);
	if (j->mnt >= 0)
		close(j->mnt);
	if (j->img >= 0)
		close(j->img);
	j->mnt = j->img = -1;
	close(p[1]);
	return pid;
}

/*
 * j's make job ended (wait status st): below the floor, the image goes;
 * else it takes its name, is mounted, and the slot's attach goes on as
 * for an existing one.
 */
static enum ws_status
store_made(struct store *s, unsigned slot, struct ws_job *j, int st,
    struct ws_reply *r, int *clone)
{
	struct ws_entry	*w;
	enum ws_status	 res;
	char		 id[13];
	int64_t		 end = proto_mono_ms();

	store_logid(j->rel, id);
	if (WIFEXITED(st) && WEXITSTATUS(st) == STORE_NO_ROOM) {
		close(j->img);
		j->img = -1;
		(void)unlinkat(s->dirfd, j->tmp, 0);
		store_rate_give(s, j->q.client);
		return WS_NO_SPACE;
	}
	if (store_exit_ok(st) != 0 || store_meta_write(j->img, j->now,
	    j->now) != 0 || renameat(s->dirfd, j->tmp, s->dirfd, j->rel) != 0) {
		store_log(s, "error", "workspace %s: making it: %s", id,
		    strerror(errno));
		close(j->img);
		j->img = -1;
		(void)unlinkat(s->dirfd, j->tmp, 0);
		return WS_FAILED;
	}
	s->count++;
	stat_set(&s->o->stats->workspaces, s->count);
	res = store_cache_add(s, j->rel, j->img, true, &w);
	j->img = -1;
	if (res != WS_OK)
		return res;
	store_log(s, "info", "workspace %s: created (mkfs %lld ms, queued "
	    "%lld ms; %u requests of other slots served meanwhile)", id,
	    (long long)(end - j->started_ms),
	    (long long)(j->started_ms - j->queued_ms), j->served);
	res = store_attach(s, slot, &j->q, r, clone);
	return res == WS_OK ? WS_CREATED : res;
}

/* The removal of j's image ended (wait status st).  The workspace is gone
 * whatever became of it: a file left is removed at the store's next
 * start. */
static enum ws_status
store_removed(struct store *s, struct ws_job *j, int st)
{
	char	id[13];

	store_logid(j->rel, id);
	if (store_exit_ok(st) != 0 && unlinkat(s->dirfd, j->tmp, 0) != 0 &&
	    errno != ENOENT)
		store_log(s, "error", "workspace %s: removing its image: %s",
		    id, strerror(errno));
	(void)unlinkat(s->dirfd, j->dir, AT_REMOVEDIR);	/* if empty */
	store_log(s, "info", "workspace %s: deleted on request", id);
	stat_add(&s->o->stats->deleted[WS_DEL_REQUEST], 1);
	return WS_OK;
}

/* The answer r with status st (and the clone, which goes) to the slot. */
static void
store_send(struct store *s, unsigned slot, struct ws_reply *r,
    enum ws_status st, int clone)
{
	r->status = st;
	(void)proto_send(s->chans[slot], r, sizeof(*r), &clone,
	    clone >= 0 ? 1 : 0);
	if (clone >= 0)
		close(clone);
	stat_set(&s->o->stats->mounts, cache_mounted(s));
}

/* The slot's job is over (its child's wait status st): the answer. */
static void
store_job_end(struct store *s, unsigned slot, int st)
{
	struct ws_job	*j = &s->jobs[slot];
	struct ws_reply	 r;
	enum ws_status	 res;
	int		 clone = -1;

	memset(&r, 0, sizeof(r));
	r.magic = WS_MAGIC;
	r.seq = j->q.seq;
	if (j->kind == JOB_MAKE) {
		res = store_made(s, slot, j, st, &r, &clone);
		stat_add(&s->o->stats->attach[res], 1);
	} else
		res = store_removed(s, j, st);
	store_send(s, slot, &r, res, clone);
	if (j->img >= 0)
		close(j->img);
	if (j->mnt >= 0)
		close(j->mnt);
	memset(j, 0, sizeof(*j));
	j->img = j->mnt = j->pidfd = -1;
	store_job_gauge(s);
}

/* Starts the job's child; where no pidfd can be had (a seccomp policy that
 * does not know pidfd_open), waits for it here. */
static void
store_job_start(struct store *s, struct ws_job *j)
{
	unsigned	slot = (unsigned)(j - s->jobs);
	int		st = 1 << 8;	/* exit 1 */

	j->started_ms = proto_mono_ms();
	j->pid = j->kind == JOB_MAKE ? store_make_start(s, j) :
	    store_drop_start(s, j);
	if (j->pid < 0) {
		store_log(s, "error", "workspace job: fork: %s", strerror(errno));
		store_job_end(s, slot, st);
		return;
	}
	if ((j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0)) >= 0) {
		s->running++;
		return;
	}
	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	store_job_end(s, slot, st);
}

/* Starts the oldest queued jobs while fewer than STORE_JOBS run. */
static void
store_job_next(struct store *s)
{
	struct ws_job	*next;
	unsigned	 i;

	while (s->running < STORE_JOBS) {
		next = NULL;
		for (i = 0; i < s->o->nslots; i++)
			if (s->jobs[i].kind != JOB_NONE && s->jobs[i].pid == 0 &&
			    (next == NULL || s->jobs[i].ticket < next->ticket))
				next = &s->jobs[i];
		if (next == NULL)
			return;
		store_job_start(s, next);
	}
}

/* The slot's job's child has exited (its pidfd said so). */
static void
store_job_reap(struct store *s, unsigned slot)
{
	struct ws_job	*j = &s->jobs[slot];
	int		 st = 1 << 8;

	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	close(j->pidfd);
	j->pidfd = -1;
	s->running--;
	store_job_end(s, slot, st);
}

/* ----------------------------------------------------------- expiry --- */

/* Whether image rel (unleased) is past its idle time or its age: removes
 * it, logs and counts it. */
static void
store_expire_one(struct store *s, const char *dir, const char *rel,
    int64_t now)
{
	struct ws_entry	*w = cache_find(s, rel);
	int64_t		 created, used;
	int		 img;
	char		 id[13];
	enum ws_delete_reason why;
	struct stat	 st;

	if (w != NULL && w->lease >= 0)
		return;
	if ((img = store_open(s, rel, O_RDONLY, 0)) < 0)
		return;
	if (fstat(img, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0) {
		close(img);
		return;
	}
	if (w != NULL) {
		created = w->created;
		used = w->used;
	} else
		(void)store_meta_read(img, &created, &used);
	close(img);
	if (now - created > (int64_t)s->o->max_age_s)
		why = WS_DEL_AGE;
	else if (now - used > (int64_t)s->o->idle_s)
		why = WS_DEL_IDLE;
	else
		return;
	if (store_remove(s, dir, rel) != 0)
		return;
	store_logid(rel, id);
	store_log(s, "info", "workspace %s: expired (%s: created %lld s ago, "
	    "last used %lld s ago)", id, why == WS_DEL_AGE ? "max_age" : "idle",
	    (long long)(now - created), (long long)(now - used));
	stat_add(&s->o->stats->deleted[why], 1);
}

struct store_walk {
	int64_t		 now;
	bool		 start;		/* the store's start: no expiry */
	uint64_t	 n;		/* images counted */
};

/* store_each(): counts an image, and after the start expires it if due. */
static void
store_walk_one(struct store *s, int cfd, const char *dir, const char *name,
    const char *rel, void *arg)
{
	struct store_walk *k = arg;
	uint64_t	 before = s->count;

	if (store_file_kind(name) != 'i') {
		/* Half made or half removed when a store died: never served.
		 * (Later they are the jobs'.) */
		if (k->start)
			(void)unlinkat(cfd, name, 0);
		return;
	}
	k->n++;
	if (!k->start) {
		store_expire_one(s, dir, rel, k->now);
		if (s->count < before)
			k->n--;
	}
}

/* The images on disk, counted; after the start, those past their time
 * removed first. */
static uint64_t
store_walk(struct store *s, int64_t now, bool start)
{
	struct store_walk k = { .now = now, .start = start, .n = 0 };

	store_each(s, store_walk_one, &k, !start);
	return k.n;
}

static void
store_sweep(struct store *s)
{
	s->blank_stop = false;
	s->count = store_walk(s, store_now(), false);
	stat_set(&s->o->stats->workspaces, s->count);
	stat_set(&s->o->stats->mounts, cache_mounted(s));
	(void)store_growth(s);
}

/* ---------------------------------------------------------- the loop --- */

/* One request of the slot; answered now, or when its job ends. */
static void
store_serve(struct store *s, unsigned slot)
{
	union {
		struct ws_req	 ws;
		struct ss_req	 ss;
	}		 u;
	struct ws_req	 q;
	struct ws_reply	 r;
	int		 fds[1], nfds, clone = -1;
	ssize_t		 n;
	enum ws_status	 st = WS_BAD;
	struct ws_entry	*w;
	unsigned	 i;

	n = proto_recv(s->chans[slot], &u, sizeof(u), fds, 0, &nfds);
	if (n <= 0)
		return;
	if (n >= 4 && u.ss.magic == SS_MAGIC) {
		/* The names are the workspaces' rules (a session's name is
		 * its workspace's), checked here, where they are kept. */
		u.ss.client[sizeof(u.ss.client) - 1] = '\0';
		u.ss.name[sizeof(u.ss.name) - 1] = '\0';
		if (s->sessions != NULL)
			sessions_serve(s->sessions, s->chans[slot], slot, &u.ss,
			    (long)n, u.ss.op == SS_HELLO ||
			    (ws_client_ok(u.ss.client) &&
			    (u.ss.op == SS_LIST || ws_session_ok(u.ss.name))),
			    s->o->log);
		return;
	}
	memset(&q, 0, sizeof(q));
	memcpy(&q, &u, (size_t)n < sizeof(q) ? (size_t)n : sizeof(q));
	if (n > (ssize_t)sizeof(q))
		n = 0;		/* too long: not valid below */
	for (i = 0; i < s->o->nslots; i++)
		s->jobs[i].served += s->jobs[i].kind != JOB_NONE;
	memset(&r, 0, sizeof(r));
	r.magic = WS_MAGIC;
	r.seq = q.seq;
	if (!ws_req_valid(&q, (long)n))
		goto reply;
	switch (q.op) {
	case WS_ATTACH:
		if (ws_client_ok(q.client) && ws_session_ok(q.session))
			st = store_attach(s, slot, &q, &r, &clone);
		if (st == WS_PENDING)
			return;
		if (st == WS_RATE)
			r.retry_s = store_rate_wait(s, q.client);
		stat_add(&s->o->stats->attach[st], 1);
		break;
	case WS_USAGE:
		st = WS_NOT_FOUND;
		if ((w = store_leased(s, slot)) != NULL) {
			store_usage(s, w, &r.u);
			if (r.u.full)
				stat_add(&s->o->stats->full_runs, 1);
			st = WS_OK;
		}
		break;
	case WS_RELEASE:
		store_release(s, slot, NULL);
		st = WS_OK;
		break;
	case WS_DELETE:
		if (ws_client_ok(q.client) && ws_session_ok(q.session))
			st = store_delete(s, slot, &q);
		if (st == WS_PENDING)
			return;
		break;
	default:
		break;
	}
reply:
	store_send(s, slot, &r, st, clone);
}

/*
 * Serves the slots' channels and the jobs' children's pidfds, sweeping
 * every sweep_s.  A slot whose job waits or runs is not read.
 */
static void __attribute__((noreturn))
store_run(struct store *s)
{
	const unsigned	 ns = s->o->nslots;
	struct pollfd	*pfd;
	unsigned	*who, i, k, n;
	int64_t		 next, wait;
	int		 got;

	if ((pfd = calloc(2 * ns + 1, sizeof(*pfd))) == NULL ||
	    (who = calloc(2 * ns + 1, sizeof(*who))) == NULL)
		_exit(1);
	next = proto_mono_ms() + (int64_t)s->o->sweep_s * 1000;
	blank_next(s);
	for (;;) {
		for (i = 0; i < ns; i++) {
			who[i] = i;
			pfd[i] = (struct pollfd){ s->jobs[i].kind == JOB_NONE ?
			    s->chans[i] : -1, POLLIN, 0 };
		}
		for (i = 0, n = ns; i < ns; i++)
			if (s->jobs[i].pidfd >= 0) {
				who[n] = i;
				pfd[n++] = (struct pollfd){ s->jobs[i].pidfd,
				    POLLIN, 0 };
			}
		if (s->blank_pidfd >= 0) {
			who[n] = ns;		/* the blank's */
			pfd[n++] = (struct pollfd){ s->blank_pidfd, POLLIN, 0 };
		}
		wait = next - proto_mono_ms();
		if (s->sessions != NULL && wait > sessions_next_ms(s->sessions))
			wait = sessions_next_ms(s->sessions);
		got = poll(pfd, n, wait > 0 ? (int)wait : 0);
		if (got < 0 && errno != EINTR)
			_exit(1);
		for (k = 0; got > 0 && k < n; k++) {
			if (k < ns && (pfd[k].revents & POLLIN))
				store_serve(s, who[k]);
			else if (k >= ns && pfd[k].revents != 0 && who[k] == ns)
				blank_made(s);
			else if (k >= ns && pfd[k].revents != 0)
				store_job_reap(s, who[k]);
		}
		/* a blank's child without a pidfd is waited for here */
		if (s->blank_pid != 0 && s->blank_pidfd < 0)
			blank_made(s);
		store_job_next(s);
		blank_next(s);
		if (s->sessions != NULL)
			sessions_sweep(s->sessions, s->o->log);
		if (proto_mono_ms() >= next) {
			store_sweep(s);
			next = proto_mono_ms() + (int64_t)s->o->sweep_s * 1000;
		}
	}
}

/* <dir> (made 0700 if missing) and <dir>/<instance>, root's, 0700. */
static int
store_dirs(struct store *s, char *err, size_t errlen)
{
	char		 path[600], *p;
	struct stat	 st;
	int		 fd;

	snprintf(path, sizeof(path), "%s/%s", s->o->dir, s->o->instance);
	if (path[0] != '/') {
		snprintf(err, errlen, "PYEXEC_WORKSPACE_DIR must be an absolute "
		    "path");
		return -1;
	}
	for (p = path + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(path, 0700);
			*p = '/';
		}
	(void)mkdir(path, 0700);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0 || st.st_uid != 0 || fchmod(fd, 0700) != 0) {
		snprintf(err, errlen, "%.300s: %s", path, fd < 0 ? strerror(errno) :
		    "not a directory of root's");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	s->dirfd = fd;
	return 0;
}

static int
store_setup(struct store *s, char *err, size_t errlen)
{
	unsigned	i;

	if (store_dirs(s, err, errlen) != 0)
		return -1;
	s->ncap = s->o->mounts + s->o->nslots;
	if ((s->idmap = calloc(s->o->nslots, sizeof(int))) == NULL ||
	    (s->e = calloc(s->ncap, sizeof(*s->e))) == NULL ||
	    (s->jobs = calloc(s->o->nslots, sizeof(*s->jobs))) == NULL ||
	    (s->buckets = calloc(STORE_BUCKETS, sizeof(*s->buckets))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < s->ncap; i++)
		s->e[i].mnt = s->e[i].img = s->e[i].lease = -1;
	for (i = 0; i < s->o->nslots; i++)
		s->jobs[i].img = s->jobs[i].mnt = s->jobs[i].pidfd = -1;
	for (i = 0; i < s->o->nslots; i++)
		if ((s->idmap[i] = store_userns(s->o->uid_base + 2 * i + 1)) < 0) {
			snprintf(err, errlen, "a user namespace for slot %u's "
			    "idmapped workspaces: %s", i, strerror(errno));
			return -1;
		}
	if (store_size(s, err, errlen) != 0)
		return -1;
	if (blank_setup(s) != 0) {
		snprintf(err, errlen, "%.300s/%.100s/" STORE_BLANK_DIR ": %s",
		    s->o->dir, s->o->instance, strerror(errno));
		return -1;
	}
	if (s->o->sessions != NULL &&
	    (s->sessions = sessions_new(s->o->sessions, err, errlen)) == NULL)
		return -1;
	s->count = store_walk(s, store_now(), true);
	stat_set(&s->o->stats->workspaces, s->count);
	(void)store_growth(s);
	return 0;
}

void
store_main(const struct store_opts *o, const int *chans, int ready_fd)
{
	struct store	 s = { .o = o, .chans = chans, .dirfd = -1,
			    .blankfd = -1, .blank_k = -1, .blank_pidfd = -1 };
	char		 err[512];

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		_exit(1);
	(void)prctl(PR_SET_NAME, "pyexec-store", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (store_setup(&s, err, sizeof(err)) != 0) {
		(void)!write(ready_fd, err, strlen(err));
		_exit(1);
	}
	(void)!write(ready_fd, "ok", 2);
	close(ready_fd);
	store_log(&s, "info", "workspaces: %llu on disk, images of %llu bytes "
	    "(%llu usable, %llu inodes); %llu bytes they may still take, "
	    "%llu free above the floor", (unsigned long long)s.count,
	    (unsigned long long)s.image_size,
	    (unsigned long long)s.usable, (unsigned long long)s.max_files,
	    (unsigned long long)o->stats->growth,
	    (unsigned long long)(store_free(&s) > o->min_free ?
	    store_free(&s) - o->min_free : 0));
	store_run(&s);
}

/* ------------------------------------------------------- worker side --- */

/* Whether r (n bytes) is the store's answer to q. */
static bool
ws_ours(const void *r, ssize_t n, const void *q)
{
	const struct ws_reply	*a = r;

	return n == (ssize_t)sizeof(*a) && a->magic == WS_MAGIC &&
	    a->seq == ((const struct ws_req *)q)->seq;
}

int
ws_call(int fd, struct ws_req *q, struct ws_reply *r, int *mntfd,
    int timeout_ms)
{
	static uint32_t	 seq;
	int		 fds[1], nfds;

	*mntfd = -1;
	q->magic = WS_MAGIC;
	q->seq = ++seq;
	if (proto_ask(fd, q, sizeof(*q), r, sizeof(*r), fds, 1, &nfds,
	    timeout_ms, ws_ours) < 0)
		return -1;
	*mntfd = nfds == 1 ? fds[0] : -1;
	return 0;
}
