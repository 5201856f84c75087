/*
 * trust.c: the backend secret, by which nginx proves itself to the
 * backend (docs/security.md, "Who is believed").
 *
 * Anyone who can connect to the backend's socket can send FastCGI params:
 * on one host the socket is www-data's (every web application of a Debian
 * host), over TCP any local user's or any routed host's.  So no param
 * (PYEXEC_KEY_VALID, PYEXEC_CLIENT, REMOTE_ADDR, ...) is believed unless
 * the request also carries TRUST_PARAM, the secret that only root (the
 * master, nginx's master) can read.  The master reads it once at start;
 * the front and the workers inherit it in memory (never the environment)
 * and check every request with trust_check().
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"

#define TRUST_MAKE	"make it as root: umask 077; od -An -tx1 -N32 " \
			"/dev/urandom | tr -d ' \\n' >%s; and give nginx the " \
			"same secret (docs/operations.md, \"The backend secret\")"

/* The file's identity: a regular file of ours, no one else's to read. */
static int
trust_stat(int fd, const char *path, char *err, size_t errlen)
{
	struct stat	st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by uid %u that "
		    "reads it (chown root:root %s)", path, (unsigned)st.st_uid,
		    (unsigned)geteuid(), path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets group or others at the "
		    "secret (chmod 0600 %s)", path, (unsigned)(st.st_mode & 07777),
		    path);
		return -1;
	}
	return 0;
}

/* Whether buf (n bytes) is TRUST_HEX_LEN lowercase hex digits and at
 * most a newline. */
static bool
trust_wellformed(const char *buf, size_t n)
{
	size_t	i;

	if (n != TRUST_HEX_LEN &&
	    !(n == TRUST_HEX_LEN + 1 && buf[TRUST_HEX_LEN] == '\n'))
		return false;
	for (i = 0; i < TRUST_HEX_LEN; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') ||
		    (buf[i] >= 'a' && buf[i] <= 'f')))
			return false;
	return true;
}

int
trust_load(struct trust_secret *s, const char *path, char *err, size_t errlen)
{
	char	buf[TRUST_HEX_LEN + 2];	/* one more than a valid file */
	size_t	n = 0;
	ssize_t	r = 0;
	int	fd, rc = -1;

	memset(s, 0, sizeof(*s));
	/* O_NONBLOCK: a FIFO put there does not hang the start. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "%s: %s; " TRUST_MAKE, path,
		    strerror(errno), path);
		return -1;
	}
	if (trust_stat(fd, path, err, errlen) != 0)
		goto out;
	while (n < sizeof(buf) &&
	    ((r = read(fd, buf + n, sizeof(buf) - n)) > 0 ||
	    (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!trust_wellformed(buf, n)) {
		snprintf(err, errlen, "%s: not a backend secret (%d lowercase hex "
		    "digits and at most a newline); " TRUST_MAKE, path,
		    TRUST_HEX_LEN, path);
		goto out;
	}
	memcpy(s->hex, buf, TRUST_HEX_LEN);
	s->set = true;
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

/*
 * Every byte is compared, whatever the first difference: the time says
 * nothing of where got and the secret differ.  A value of another length
 * (nginx's is always TRUST_HEX_LEN) is compared as the secret against
 * itself, so that its length shows in the time no more than in the answer.
 */
bool
trust_check(const struct trust_secret *s, const char *got, size_t len)
{
	const unsigned char	*a = (const unsigned char *)s->hex;
	const unsigned char	*b = len == TRUST_HEX_LEN ?
				    (const unsigned char *)got : a;
	volatile unsigned char	 d = len != TRUST_HEX_LEN;
	size_t			 i;

	for (i = 0; i < TRUST_HEX_LEN; i++)
		d |= a[i] ^ b[i];
	return s->set && d == 0;
}

void
trust_forget(struct trust_secret *s)
{
	explicit_bzero(s, sizeof(*s));
}

const char *
trust_refusal(bool sent)
{
	return sent ? "untrusted peer: the FastCGI param " TRUST_PARAM " is not "
	    "this backend's secret; only nginx, with the deployment's backend "
	    "secret, may send requests to the backend (docs/security.md, \"Who "
	    "is believed\")" :
	    "untrusted peer: the FastCGI param " TRUST_PARAM " is missing; only "
	    "nginx, with the deployment's backend secret, may send requests to "
	    "the backend (docs/security.md, \"Who is believed\")";
}

void
trust_peer(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*in6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len = sizeof(ss);
	struct ucred		 uc;
	socklen_t		 uclen = sizeof(uc);
	char			 a[INET6_ADDRSTRLEN];

	snprintf(out, outlen, "unknown");
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_UNIX &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uclen) == 0)
		snprintf(out, outlen, "uid %u pid %d", (unsigned)uc.uid,
		    (int)uc.pid);
	else if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &in4->sin_addr, a, sizeof(a)) != NULL)
		snprintf(out, outlen, "%s port %u", a, ntohs(in4->sin_port));
	else if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a)) != NULL)
		snprintf(out, outlen, "%s port %u", a, ntohs(in6->sin6_port));
}
