/*
 * root.h: the file system a run sees.  Built once by the launcher, inside
 * its user and mount namespaces, before it serves any run.
 */
#ifndef PYEXEC_ROOT_H
#define PYEXEC_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct root_opts {
	uid_t		run_uid;	/* owner of /tmp and /dev/shm (inside ids) */
	gid_t		run_gid;
	unsigned long	tmp_size;	/* bytes of each tmpfs */
	const void	*runner;	/* borrowed: compiled runner, put at */
	size_t		 runner_len;	/*   ROOT_RUNNER_PATH, read-only */
	const void	*zygote;	/* borrowed: pyexec-zygote.so, put at */
	size_t		 zygote_len;	/*   ROOT_ZYGOTE_PATH; NULL: none */
};

#define ROOT_RUNNER_PATH	"/.pyexec/runner.pyc"
#define ROOT_ZYGOTE_PATH	"/.pyexec/zygote.so"

int	root_build(const struct root_opts *, char *err, size_t errlen);
#define ROOT_OUTPUTS_PATH	"/tmp/outputs"	/* runner.py's _ART_DIR */
#define ROOT_WORKSPACE_PATH	"/workspace"	/* a workspace's mount point */

/* 0, -1 (err says why), or ROOT_ERR_WORKSPACE: the workspace's mount
 * could not be moved onto ROOT_WORKSPACE_PATH (the run's, not the
 * slot's: the run does not start, the slot goes on). */
#define ROOT_ERR_WORKSPACE	(-2)
int	root_run_mounts(const struct root_opts *, bool outputs, int wsfd,
	    char *err, size_t errlen);

#endif /* PYEXEC_ROOT_H */
