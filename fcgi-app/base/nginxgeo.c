/*
 * nginxgeo.c: nginx's copy of the keyless list.
 *
 * PYEXEC_ANONYMOUS_FROM is written once, in pyexec's environment.  nginx
 * decides who may skip the key with its site's geo block, whose entries
 * are config_nginx_geo()'s text of the same list: inline in scripts/dev's
 * site, or, where the site includes PYEXEC_NGINX_ANONYMOUS_CONF (the
 * Debian package's), in that file, which nginxgeo_update() writes (the
 * unit's ExecStartPre, the package's postinst) and nginxgeo_check()
 * compares at the master's start.
 *
 * Either way a copy that is out of date fails closed: an address nginx
 * has not heard of yet needs a key there (401), and one nginx still lets
 * through that pyexec no longer lists is refused by the worker (403,
 * logged).  What no process here can see is whether nginx was reloaded
 * after the file changed: nginxgeo_update() says that it must be, at the
 * one moment the change is known.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

#define NGINXGEO_MAX	(256 * 1024)	/* a file larger is not ours */

/* The text nginx's file should hold for c: a string the caller frees, or
 * NULL (out of memory). */
static char *
nginxgeo_text(const struct pyexec_config *c)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	config_nginx_geo(f, c);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Whether the file at path holds exactly want: 1 it does, 0 it does not,
 * -1 it could not be read (errno set; ENOENT: there is none).
 */
static int
nginxgeo_same(const char *path, const char *want)
{
	char	*buf;
	ssize_t	 n;
	size_t	 got = 0, wlen = strlen(want);
	int	 fd, rc = -1, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if ((buf = malloc(NGINXGEO_MAX + 1)) == NULL)
		goto out;
	while (got <= NGINXGEO_MAX &&
	    (n = read(fd, buf + got, NGINXGEO_MAX + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		got += (size_t)n;
	}
	rc = got == wlen && memcmp(buf, want, wlen) == 0;
out:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return rc;
}

/* text into path.new, 0644 whatever the umask, synced, then renamed over
 * path.  0, or -1 with errno set (path.new removed). */
static int
nginxgeo_write(const char *path, const char *text)
{
	char	tmp[4096];
	size_t	len = strlen(text), off = 0;
	ssize_t	n;
	int	fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0644) != 0)
		goto err;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto err;
	e = close(fd);
	fd = -1;
	if (e != 0 || rename(tmp, path) != 0)
		goto err;
	return 0;
err:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

/* Whether the directory of path exists (the file's place). */
static bool
nginxgeo_dir_exists(const char *path)
{
	char		 copy[4096];
	struct stat	 st;

	if ((size_t)snprintf(copy, sizeof(copy), "%s", path) >= sizeof(copy))
		return false;
	return stat(dirname(copy), &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * pyexec-fcgi --nginx-geo-update: makes c->nginx_anonymous_conf hold the
 * keyless list of c (mode 0644, the caller's: root's from the unit and
 * postinst), and says on stderr when it changed it: nginx must then be
 * reloaded.  An unchanged file is left as it is (its time says when the
 * list last changed).  Nothing to do when the setting is empty, or its
 * directory does not exist (no site includes it there).  0, or 1 with
 * the reason on stderr.
 */
int
nginxgeo_update(const struct pyexec_config *c)
{
	const char	*path = c->nginx_anonymous_conf;
	char		*text;
	int		 rc = 1;

	if (path[0] == '\0' || !nginxgeo_dir_exists(path)) {
		fprintf(stderr, "pyexec-fcgi: PYEXEC_NGINX_ANONYMOUS_CONF %s%s: "
		    "nothing written\n", path[0] == '\0' ? "is empty" : path,
		    path[0] == '\0' ? "" : ": no such directory");
		return 0;
	}
	if ((text = nginxgeo_text(c)) == NULL) {
		fprintf(stderr, "pyexec-fcgi: out of memory\n");
		return 1;
	}
	if (nginxgeo_same(path, text) == 1)
		rc = 0;
	else if (nginxgeo_write(path, text) != 0)
		fprintf(stderr, "pyexec-fcgi: %s: %s\n", path, strerror(errno));
	else {
		fprintf(stderr, "pyexec-fcgi: %s: the keyless addresses "
		    "(PYEXEC_ANONYMOUS_FROM) changed; reload nginx: "
		    "nginx -t && systemctl reload nginx\n", path);
		rc = 0;
	}
	free(text);
	return rc;
}

/*
 * At the master's start: a warning when c->nginx_anonymous_conf exists
 * but does not hold c's keyless list (nothing made it current: the
 * unit's ExecStartPre does); none when the setting is empty or there is
 * no file (the site holds the list itself).
 */
void
nginxgeo_check(const struct pyexec_config *c)
{
	const char	*path = c->nginx_anonymous_conf;
	char		*text;
	int		 same;

	if (path[0] == '\0' || (text = nginxgeo_text(c)) == NULL)
		return;
	same = nginxgeo_same(path, text);
	if (same == 0)
		log_msg("warning", "startup", "%s does not hold "
		    "PYEXEC_ANONYMOUS_FROM's addresses: nginx lets keyless "
		    "requests through by another list than pyexec's (the worker "
		    "refuses those it does not list); run pyexec-fcgi "
		    "--nginx-geo-update, then reload nginx", path);
	else if (same < 0 && errno != ENOENT)
		log_msg("warning", "startup", "%s: %s: cannot compare it with "
		    "PYEXEC_ANONYMOUS_FROM", path, strerror(errno));
	free(text);
}
