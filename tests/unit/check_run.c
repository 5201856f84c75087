/*
 * Unit tests: how run_execute() (sandbox/host/run.c) reads the launcher's
 * PROTO_DONE.  A fake launcher (a thread on the other end of the control
 * socket) answers each PROTO_RUN with a DONE of chosen flags, then CLEAN;
 * the cgroup is a link-time fake.  Issue 24, item 5: a run whose
 * workspace could not be entered is the client's error (RUN_NO_WORKSPACE),
 * never a failed slot (-1, which makes the worker exit and the master
 * remake the slot).
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "sandbox.h"
#include "proto.h"

/* The cgroup, faked: every knob works, every counter reads 0. */
int sb_cgroup_set_memory(struct sb_cgroup *c, uint64_t b) { (void)c; (void)b; return 0; }
int sb_cgroup_set_cpu(struct sb_cgroup *c, double n) { (void)c; (void)n; return 0; }
int sb_cgroup_reset(struct sb_cgroup *c) { (void)c; return 0; }
int sb_cgroup_reclaim(struct sb_cgroup *c) { (void)c; return 0; }
int sb_cgroup_lift_cpu(struct sb_cgroup *c) { (void)c; return 0; }

int
sb_cgroup_read(struct sb_cgroup *c, struct sb_counters *k)
{
	(void)c;
	memset(k, 0, sizeof(*k));
	return 0;
}

int
sb_cgroup_oom_kills(struct sb_cgroup *c, uint64_t *n)
{
	(void)c;
	*n = 0;
	return 0;
}

struct fake {
	int		 fd;
	uint32_t	 flags;		/* of the DONE it sends */
	int32_t		 wstatus;
	int		 nfds;		/* fds that came with the RUN */
};

/* One PROTO_RUN in, its fds closed, DONE and CLEAN out. */
static void *
fake_launcher(void *arg)
{
	struct fake		*f = arg;
	union proto_msg		 m;
	struct proto_done	 d = { { PROTO_MAGIC, PROTO_DONE }, 0, 0, 0, 0, 0 };
	struct proto_hdr	 clean = { PROTO_MAGIC, PROTO_CLEAN };
	int			 fds[PROTO_NFDS + 1], i;

	if (proto_recv(f->fd, &m, sizeof(m), fds, PROTO_NFDS + 1, &f->nfds) !=
	    (ssize_t)sizeof(m.run))
		return NULL;
	for (i = 0; i < f->nfds; i++)
		close(fds[i]);
	d.wstatus = f->wstatus;
	d.flags = f->flags;
	(void)!send(f->fd, &d, sizeof(d), MSG_NOSIGNAL);
	(void)!send(f->fd, &clean, sizeof(clean), MSG_NOSIGNAL);
	return NULL;
}

/* run_execute() of "print(1)" against a launcher that answers flags. */
static int
run_with(uint32_t flags, int32_t wstatus, struct run_result *r,
    bool *settled)
{
	struct fake	 f = { .flags = flags, .wstatus = wstatus };
	struct run_slot	 rs = { .ctl_fd = -1 };
	struct run_params p = { .code = "print(1)", .code_len = 8,
			    .timeout = 5, .max_output = 4096,
			    .workspace_fd = -1 };
	pthread_t	 t;
	char		 err[256];
	int		 sv[2], rc;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	rs.ctl_fd = sv[0];
	f.fd = sv[1];
	ck_assert_int_eq(pthread_create(&t, NULL, fake_launcher, &f), 0);
	rc = run_execute(&rs, &p, r, err, sizeof(err));
	pthread_join(t, NULL);
	ck_assert_int_eq(f.nfds, PROTO_NFDS);
	*settled = run_settle(&rs, 1000) == 0 && !rs.clean_pending;
	close(sv[0]);
	close(sv[1]);
	return rc;
}

START_TEST(test_workspace_not_entered_is_not_a_failed_slot)
{
	struct run_result	r;
	bool			settled;

	ck_assert_int_eq(run_with(PROTO_DONE_WORKSPACE, 127 << 8, &r,
	    &settled), RUN_NO_WORKSPACE);
	/* and the slot takes its next run: CLEAN was waited for */
	ck_assert(settled);
}
END_TEST

START_TEST(test_the_other_answers_as_before)
{
	struct run_result	r;
	bool			settled;

	ck_assert_int_eq(run_with(0, 0, &r, &settled), 0);
	ck_assert_int_eq(r.outcome, RUN_COMPLETED);
	run_result_free(&r);
	ck_assert_int_eq(run_with(PROTO_DONE_NOEXEC, 0, &r, &settled), -1);
	ck_assert_int_eq(run_with(PROTO_DONE_LOST, 9, &r, &settled), 1);
}
END_TEST

static Suite *
run_suite(void)
{
	TCase	*tc;
	Suite	*s = check_suite("run", "done", &tc);

	signal(SIGPIPE, SIG_IGN);	/* as in the worker */
	tcase_add_test(tc, test_workspace_not_entered_is_not_a_failed_slot);
	tcase_add_test(tc, test_the_other_answers_as_before);
	return s;
}

CHECK_MAIN(run_suite(), CK_FORK_GETENV)
