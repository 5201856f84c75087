/*
 * filter.h: the seccomp policy of a run.  Built with libseccomp once per
 * slot (filter_build) and loaded by each run just before exec
 * (filter_load), so a run costs no filter compilation.
 */
#ifndef PYEXEC_FILTER_H
#define PYEXEC_FILTER_H

#include <stddef.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* Compiles the policy.  On 0, prog->filter is malloc'd and owned by the
 * caller (filter_free()); on -1 err says why. */
#define FILTER_RUN	0x1u	/* the run's policy */
#define FILTER_LAUNCHER	0x2u	/* the launcher's own (and so its keeper's) */

int	filter_build(struct sock_fprog *prog, unsigned which, char *err,
	    size_t errlen);
void	filter_free(struct sock_fprog *prog);
/* Loads prog into the calling thread; no_new_privs must be set.  0 or -1.
 * One system call, no libseccomp: the zygote's library and so every warm
 * run need not map it. */
static inline int
filter_load(const struct sock_fprog *prog)
{
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog);
}

#endif /* PYEXEC_FILTER_H */
