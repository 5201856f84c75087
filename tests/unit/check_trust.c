/* Unit tests: the backend secret (trust.c): the file the master reads,
 * and the compare the front and the workers make on every request. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "trust.h"

#define HEX	"0123456789abcdef0123456789abcdef" \
		"fedcba9876543210fedcba9876543210"

static char	dir[] = "/tmp/check_trust.XXXXXX";
static char	path[64];

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
	strcpy(dir, "/tmp/check_trust.XXXXXX");
}

/* Writes content (n bytes) to path with mode. */
static void
put(const char *content, size_t n, mode_t mode)
{
	int	fd;

	unlink(path);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	ck_assert_int_eq(write(fd, content, n), (ssize_t)n);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static int
load(struct trust_secret *s, char *err, size_t errlen)
{
	err[0] = '\0';
	return trust_load(s, path, err, errlen);
}

START_TEST(test_load_wellformed)
{
	struct trust_secret	s;
	char			err[512];

	put(HEX "\n", 65, 0600);
	ck_assert_int_eq(load(&s, err, sizeof(err)), 0);
	ck_assert(s.set);
	ck_assert_int_eq(memcmp(s.hex, HEX, TRUST_HEX_LEN), 0);
	put(HEX, 64, 0400);
	ck_assert_int_eq(load(&s, err, sizeof(err)), 0);
	ck_assert(trust_check(&s, HEX, 64));
	trust_forget(&s);
	ck_assert(!s.set);
	ck_assert(!trust_check(&s, HEX, 64));
}
END_TEST

/* Every malformed file is refused, and the message never holds what the
 * file holds. */
START_TEST(test_load_malformed)
{
	static const struct { const char *c; size_t n; } bad[] = {
		{ "", 0 },
		{ HEX, 63 },				/* short */
		{ HEX "0", 65 },			/* long */
		{ HEX "\n\n", 66 },
		{ HEX "\r\n", 66 },
		{ " " HEX, 65 },
		{ "0123456789ABCDEF0123456789abcdef"	/* upper case */
		  "fedcba9876543210fedcba9876543210", 64 },
		{ "0123456789abcdef0123456789abcdeg"	/* not hex */
		  "fedcba9876543210fedcba9876543210", 64 },
		{ "0123456789abcdef0123456789abcdef"	/* a NUL */
		  "fedcba9876543210\0edcba9876543210", 64 },
	};
	struct trust_secret	s;
	char			err[512];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(bad[i].c, bad[i].n, 0600);
		ck_assert_msg(load(&s, err, sizeof(err)) == -1, "case %zu", i);
		ck_assert(!s.set);
		ck_assert_ptr_nonnull(strstr(err, "not a backend secret"));
		ck_assert_ptr_nonnull(strstr(err, path));
		ck_assert_ptr_null(strstr(err, "0123456789"));
		ck_assert_ptr_null(strstr(err, "fedcba"));
	}
}
END_TEST

START_TEST(test_load_missing_names_the_way_to_make_it)
{
	struct trust_secret	s;
	char			err[512];

	unlink(path);
	ck_assert_int_eq(load(&s, err, sizeof(err)), -1);
	ck_assert(!s.set);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
	ck_assert_ptr_nonnull(strstr(err, "/dev/urandom"));
}
END_TEST

/* Readable or writable by group or others: refused, whatever it holds. */
START_TEST(test_load_mode)
{
	static const mode_t	modes[] = { 0644, 0640, 0604, 0620, 0602, 0660 };
	struct trust_secret	s;
	char			err[512], want[32];
	size_t			i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		put(HEX "\n", 65, modes[i]);
		ck_assert_int_eq(load(&s, err, sizeof(err)), -1);
		ck_assert(!s.set);
		snprintf(want, sizeof(want), "mode %04o", (unsigned)modes[i]);
		ck_assert_msg(strstr(err, want) != NULL, "%s", err);
		ck_assert_ptr_null(strstr(err, "0123456789"));
	}
}
END_TEST

START_TEST(test_load_not_a_file_or_not_ours)
{
	struct trust_secret	s;
	char			err[512];

	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);	/* no hang */
	ck_assert_int_eq(load(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(load(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	rmdir(path);
	if (geteuid() == 0) {
		put(HEX "\n", 65, 0600);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(load(&s, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "owned by uid 65534"));
	}
}
END_TEST

START_TEST(test_check)
{
	struct trust_secret	s = { .set = true };
	char			got[TRUST_HEX_LEN + 1];
	size_t			i;

	memcpy(s.hex, HEX, TRUST_HEX_LEN);
	ck_assert(trust_check(&s, HEX, TRUST_HEX_LEN));
	/* One byte off anywhere: refused. */
	for (i = 0; i < TRUST_HEX_LEN; i++) {
		memcpy(got, HEX, TRUST_HEX_LEN);
		got[i] ^= 1;
		ck_assert_msg(!trust_check(&s, got, TRUST_HEX_LEN), "byte %zu", i);
	}
	/* A prefix, the secret and more, nothing. */
	ck_assert(!trust_check(&s, HEX, TRUST_HEX_LEN - 1));
	memcpy(got, HEX, TRUST_HEX_LEN);
	got[TRUST_HEX_LEN] = '0';
	ck_assert(!trust_check(&s, got, TRUST_HEX_LEN + 1));
	ck_assert(!trust_check(&s, NULL, 0));
	ck_assert(!trust_check(&s, "", 0));
}
END_TEST

/* A secret never loaded believes no one, not even its own zero bytes. */
START_TEST(test_check_unset)
{
	struct trust_secret	s;
	char			zero[TRUST_HEX_LEN];

	memset(&s, 0, sizeof(s));
	memset(zero, 0, sizeof(zero));
	ck_assert(!trust_check(&s, zero, TRUST_HEX_LEN));
	ck_assert(!trust_check(&s, NULL, 0));
}
END_TEST

static Suite *
trust_suite(void)
{
	Suite	*su = suite_create("trust");
	TCase	*tl = tcase_create("load"), *tc = tcase_create("check");

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_load_wellformed);
	tcase_add_test(tl, test_load_malformed);
	tcase_add_test(tl, test_load_missing_names_the_way_to_make_it);
	tcase_add_test(tl, test_load_mode);
	tcase_add_test(tl, test_load_not_a_file_or_not_ours);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_check_unset);
	suite_add_tcase(su, tl);
	suite_add_tcase(su, tc);
	return su;
}

CHECK_MAIN(trust_suite(), CK_FORK_GETENV)
