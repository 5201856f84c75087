/*
 * trust.h: who the backend believes (base layer; includes nothing of
 * fcgi-app/).
 *
 * nginx proves itself on every request with the deployment's backend
 * secret, the FastCGI param TRUST_PARAM; the front and the worker each
 * check it with trust_check() before they believe any other param.
 * trust_load() is the master's, as root, before it forks.
 */
#ifndef PYEXEC_TRUST_H
#define PYEXEC_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#define TRUST_PARAM	"PYEXEC_BACKEND_SECRET"
#define TRUST_HEX_LEN	64	/* 32 random bytes as lowercase hex */

/* The secret, as the file and nginx hold it.  Never logged, never in a
 * response, never in the environment. */
struct trust_secret {
	char	hex[TRUST_HEX_LEN];
	bool	set;		/* loaded: without it nothing is believed */
};

/* Reads the secret from path: a regular file of this process's user (root
 * for the master), neither group nor others may read or write it, holding
 * TRUST_HEX_LEN lowercase hex digits and at most a newline.  0, or -1 with
 * the problem in err (the path and what to do, never the content). */
int	trust_load(struct trust_secret *, const char *path, char *err,
	    size_t errlen);
/* Whether got (len bytes, not NUL-terminated) is the secret.  Its time
 * does not depend on where got and the secret differ; a value of another
 * length is compared like one of the right length, then refused.  False
 * when s is not set. */
bool	trust_check(const struct trust_secret *, const char *got, size_t len);
/* Wipes the secret: a process that does not serve requests. */
void	trust_forget(struct trust_secret *);
/* The message of the 403 (code TRUST_CODE) to a request that did not
 * carry the secret (sent: it carried a wrong one); static. */
#define TRUST_CODE	"untrusted_peer"
const char *trust_refusal(bool sent);
/* Who is at the other end of the connection fd, for the log: "uid U pid
 * P" (a unix socket), "ADDR port N" (TCP), or "unknown". */
void	trust_peer(int fd, char *out, size_t outlen);

#endif /* PYEXEC_TRUST_H */
