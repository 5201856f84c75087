/*
 * check_main.h: what every unit test program (tests/unit/check_*.c)
 * shares: a suite of one test case, and main() running it.
 *
 *	static Suite *
 *	foo_suite(void)
 *	{
 *		TCase	*tc;
 *		Suite	*s = check_suite("foo", "core", &tc);
 *
 *		tcase_add_test(tc, test_bar);
 *		return s;
 *	}
 *	CHECK_MAIN(foo_suite(), CK_FORK_GETENV)
 *
 * The fork mode: CK_FORK_GETENV (Check's default: each test in its own
 * process unless CK_FORK=no), or CK_NOFORK for tests that must run in
 * the test program's own process.
 */
#ifndef PYEXEC_CHECK_MAIN_H
#define PYEXEC_CHECK_MAIN_H

#include <check.h>

/* A suite named name holding one test case, tcname, in *tc (the suite
 * owns it; tests added after this call run). */
static inline Suite *
check_suite(const char *name, const char *tcname, TCase **tc)
{
	Suite	*s = suite_create(name);

	*tc = tcase_create(tcname);
	suite_add_tcase(s, *tc);
	return s;
}

/* Runs s (taken) and returns the program's exit status: 0 when every
 * test passed, 1 otherwise. */
static inline int
check_run(Suite *s, enum fork_status fork)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_set_fork_status(sr, fork);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

/* fn as a loop test over each of the array cases (fn reads cases[_i]). */
#define CHECK_LOOP(tc, fn, cases)				\
	tcase_add_loop_test((tc), (fn), 0,			\
	    (int)(sizeof(cases) / sizeof((cases)[0])))

#define CHECK_MAIN(suite, fork)					\
int								\
main(void)							\
{								\
	return check_run((suite), (fork));			\
}

#endif /* PYEXEC_CHECK_MAIN_H */
