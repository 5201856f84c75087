/*
 * slot.c: making and unmaking a slot (master side, root).
 *
 * A slot is a cgroup and a launcher.  The launcher is cloned straight into
 * its new namespaces, so it is pid 1 of its pid namespace from its first
 * instruction; the master attaches it to the slot's cgroup by its host pid
 * while it waits on a pipe, and only then lets it exec pyexec-launcher.
 * Nothing of the master crosses the exec but fd 3 (the control socket) and
 * stderr (the log): the environment is empty and every other fd is closed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pyexec.h"
#include "sandbox.h"
#include "proto.h"

#define SLOT_NS_FLAGS	(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | \
			 CLONE_NEWIPC | CLONE_NEWUTS)

/* Makes the slot's cgroup; the launcher comes with slot_start_launcher(). */
int
slot_create(struct slot *s, unsigned id, const struct pyexec_config *c,
    uid_t worker_uid, gid_t worker_gid, char *err, size_t errlen)
{
	char			name[96];
	enum sb_cgversion	v = s->cg.version;

	memset(s, 0, sizeof(*s));
	s->cg.version = v;
	s->id = id;
	s->run_uid = c->uid_base + id;
	s->ctl_fd = -1;
	snprintf(name, sizeof(name), "pyexec/%s/slot-%u", c->instance, id);
	return sb_cgroup_create(&s->cg, name, c->max_pids, worker_uid,
	    worker_gid, err, errlen);
}

/* In the cloned child: wait for the go byte, then exec the launcher. */
static void __attribute__((noreturn))
slot_child(const struct pyexec_config *c, const struct slot *s, int ctl,
    int gate)
{
	char	 uid[16], tmp[32], fsize[32], nofile[16], nproc[16], go;
	char	*argv[] = { "pyexec-launcher", "--uid", uid, "--python",
		    (char *)c->python_path, "--runner", (char *)c->runner_path,
		    "--tmp-size", tmp, "--fsize", fsize, "--nofile", nofile,
		    "--nproc", nproc, NULL };
	char	*envp[] = { NULL };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		_exit(126);
	if (read(gate, &go, 1) != 1)
		_exit(126);	/* the master died or gave up */
	snprintf(uid, sizeof(uid), "%u", (unsigned)s->run_uid);
	snprintf(tmp, sizeof(tmp), "%zu", c->tmp_size);
	snprintf(fsize, sizeof(fsize), "%zu", c->max_file_size);
	snprintf(nofile, sizeof(nofile), "%u", c->max_open_files);
	snprintf(nproc, sizeof(nproc), "%u", c->max_pids);
	if (dup2(ctl, 3) != 3)
		_exit(126);
	if (close_range(4, ~0U, 0) != 0 || close(0) != 0)
		_exit(126);
	if (open("/dev/null", O_RDONLY) != 0 || dup2(2, 1) != 1)
		_exit(126);
	execve(c->launcher_path, argv, envp);
	_exit(127);
}

/*
 * Clones the launcher into new namespaces, attaches it to the slot's
 * cgroup, lets it exec and waits for its first pong.  On success
 * s->launcher_pid and s->ctl_fd (the worker's end) are set.
 */
int
slot_start_launcher(struct slot *s, const struct pyexec_config *c,
    char *err, size_t errlen)
{
	int	sv[2] = { -1, -1 }, gate[2] = { -1, -1 };
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(gate, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "slot %u: %s", s->id, strerror(errno));
		goto fail;
	}
	pid = (pid_t)syscall(SYS_clone, SLOT_NS_FLAGS | SIGCHLD, NULL, NULL,
	    NULL, NULL);
	if (pid < 0) {
		snprintf(err, errlen, "slot %u: clone into new namespaces: %s",
		    s->id, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		close(gate[1]);
		close(sv[0]);
		slot_child(c, s, sv[1], gate[0]);
	}
	s->launcher_pid = pid;
	close(gate[0]);
	close(sv[1]);
	gate[0] = sv[1] = -1;
	if (sb_cgroup_attach(&s->cg, pid, err, errlen) != 0)
		goto fail;
	if (write(gate[1], "g", 1) != 1) {
		snprintf(err, errlen, "slot %u: launcher gone", s->id);
		goto fail;
	}
	close(gate[1]);
	gate[1] = -1;
	s->ctl_fd = sv[0];
	if (run_ping_fd(s->ctl_fd, 5000) != 0) {
		snprintf(err, errlen, "slot %u: the launcher did not start "
		    "(see its message above)", s->id);
		s->ctl_fd = -1;
		goto fail;
	}
	return 0;
fail:
	if (gate[0] >= 0) close(gate[0]);
	if (gate[1] >= 0) close(gate[1]);
	if (sv[0] >= 0) close(sv[0]);
	if (sv[1] >= 0) close(sv[1]);
	slot_stop_launcher(s);
	return -1;
}

/* Kills the launcher (and with it its whole pid namespace) and reaps it. */
void
slot_stop_launcher(struct slot *s)
{
	if (s->launcher_pid > 0) {
		(void)kill(s->launcher_pid, SIGKILL);
		while (waitpid(s->launcher_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	s->launcher_pid = 0;
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	s->ctl_fd = -1;
}

/* Stops the launcher, removes the cgroup, frees what s owns. */
void
slot_destroy(struct slot *s)
{
	slot_stop_launcher(s);
	if (sb_cgroup_destroy(&s->cg) != 0)
		log_msg("warning", "slot", "slot %u: cgroup %s could not be "
		    "removed", s->id, s->cg.name);
	sb_cgroup_free(&s->cg);
}
