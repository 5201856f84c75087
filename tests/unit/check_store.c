/*
 * Unit tests: the workspace store's accounting and creation rate
 * (store.c, included here for its static functions): which files are
 * images, what the images may still take of the disk (sparse files in a
 * directory made here stand for them), and the per-client token bucket
 * (time passes by moving a bucket's clock back).
 */
#include "store.c"

#include <check.h>

#include "check_main.h"

static char			dir[64];
static struct ws_stats		stats;
static struct store_opts	opts;
static struct store		s;

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&stats, 0, sizeof(stats));
	opts = (struct store_opts){ .nslots = 2, .create_rate = 6,
	    .create_burst = 3, .min_free = 0, .stats = &stats };
	memset(&s, 0, sizeof(s));
	s.o = &opts;
	ck_assert_int_ge(s.dirfd = open(dir, O_RDONLY | O_DIRECTORY), 0);
	ck_assert_ptr_nonnull(s.buckets = calloc(STORE_BUCKETS,
	    sizeof(*s.buckets)));
	ck_assert_ptr_nonnull(s.jobs = calloc(opts.nslots, sizeof(*s.jobs)));
	for (unsigned k = 0; k < STORE_BLANKS; k++)
		s.blank[k].img = s.blank[k].mnt = -1;
	s.blankfd = s.blank_pidfd = s.blank_k = -1;
}

static void
teardown(void)
{
	char	cmd[128];

	close(s.dirfd);
	free(s.buckets);
	free(s.jobs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A file rel of full size bytes of which has bytes are written. */
static void
image(const char *rel, off_t size, size_t has)
{
	static char	zero[1 << 16];
	int		fd;
	size_t		n;

	ck_assert_int_ge(fd = openat(s.dirfd, rel, O_RDWR | O_CREAT, 0600), 0);
	for (n = 0; n < has; n += sizeof(zero))
		ck_assert_int_eq(write(fd, zero, sizeof(zero)), sizeof(zero));
	ck_assert_int_eq(ftruncate(fd, size), 0);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
}

START_TEST(test_file_kinds)
{
	ck_assert_int_eq(store_file_kind("w-61.img"), 'i');
	ck_assert_int_eq(store_file_kind("w-6162.img.new"), 'n');
	ck_assert_int_eq(store_file_kind("w-6162.img.del"), 'd');
	ck_assert_int_eq(store_file_kind("w-61.img.tmp"), 0);
	ck_assert_int_eq(store_file_kind("x-61.img"), 0);
	ck_assert_int_eq(store_file_kind("w-.img"), 0);
	ck_assert_int_eq(store_file_kind("w-61.new"), 0);
	ck_assert_int_eq(store_file_kind("lost+found"), 0);
}
END_TEST

START_TEST(test_sat_add)
{
	ck_assert_uint_eq(sat_add(1, 2), 3);
	ck_assert_uint_eq(sat_add(UINT64_MAX - 1, 5), UINT64_MAX);
}
END_TEST

/* Every image and every one being made counts at its full size less what
 * it has; one being removed, other files and a link to a directory do
 * not count. */
START_TEST(test_growth_counts_full_sizes)
{
	uint64_t	 g;

	ck_assert_int_eq(mkdirat(s.dirfd, "c-61", 0700), 0);
	ck_assert_int_eq(mkdirat(s.dirfd, "c-62", 0700), 0);
	image("c-61/w-61.img", 10 << 20, 1 << 20);
	image("c-61/w-62.img", 10 << 20, 0);
	image("c-62/w-61.img.new", 5 << 20, 0);
	image("c-62/w-62.img.del", 50 << 20, 0);
	image("c-62/notes", 50 << 20, 0);
	ck_assert_int_eq(symlinkat("c-61", s.dirfd, "c-63"), 0);
	g = store_growth(&s);
	/* 9 + 10 + 5 MiB, less the few blocks of the file systems' own */
	ck_assert_uint_le(g, 24ULL << 20);
	ck_assert_uint_ge(g, (24ULL << 20) - (256 << 10));
	ck_assert_uint_eq(stats.growth, g);
}
END_TEST

/* The blanks made ahead count as images do, whether made or being made
 * (the floor holds once a create takes one). */
START_TEST(test_growth_counts_blanks)
{
	uint64_t	 g;

	ck_assert_int_eq(mkdirat(s.dirfd, "c-61", 0700), 0);
	image("c-61/w-61.img", 10 << 20, 0);
	ck_assert_int_eq(mkdirat(s.dirfd, STORE_BLANK_DIR, 0700), 0);
	image(STORE_BLANK_DIR "/b-0.img", 8 << 20, 0);
	image(STORE_BLANK_DIR "/b-1.img.new", 6 << 20, 0);
	g = store_growth(&s);
	ck_assert_uint_le(g, 10ULL << 20);	/* not walked: not yet held */
	ck_assert_int_ge(s.blank[0].img = openat(s.dirfd,
	    STORE_BLANK_DIR "/b-0.img", O_RDONLY), 0);
	ck_assert_int_ge(s.blank[1].img = openat(s.dirfd,
	    STORE_BLANK_DIR "/b-1.img.new", O_RDONLY), 0);
	g = store_growth(&s);
	ck_assert_uint_le(g, 24ULL << 20);
	ck_assert_uint_ge(g, (24ULL << 20) - (256 << 10));
	close(s.blank[0].img);
	close(s.blank[1].img);
	s.blank[0].img = s.blank[1].img = -1;
}
END_TEST

/* A new image fits only with every image counted at its full size: the
 * free space less their growth less its size keeps the floor. */
START_TEST(test_room_counts_every_image)
{
	uint64_t	 free;

	ck_assert_int_eq(mkdirat(s.dirfd, "c-61", 0700), 0);
	image("c-61/w-61.img", 64 << 20, 0);
	s.image_size = 64 << 20;
	free = store_free(&s);
	ck_assert_uint_gt(free, 256ULL << 20);
	opts.min_free = free - (160ULL << 20);	/* room for 160 MiB */
	ck_assert(store_room(&s, s.image_size));	/* 64 + 64 */
	image("c-61/w-62.img.new", 64 << 20, 0);	/* being made */
	ck_assert(store_room(&s, 0));			/* 64 + 64 */
	ck_assert(!store_room(&s, s.image_size));	/* 64 + 64 + 64 */
	unlinkat(s.dirfd, "c-61/w-62.img.new", 0);
	ck_assert(store_room(&s, s.image_size));
	opts.min_free = UINT64_MAX;
	ck_assert(!store_room(&s, 0));			/* no overflow */
}
END_TEST

/* At attach: this image and the leased and making ones, not the others. */
START_TEST(test_attach_room_counts_leased_ones)
{
	struct ws_entry	 e[3];
	uint64_t	 free;
	int		 i;

	ck_assert_int_eq(mkdirat(s.dirfd, "c-61", 0700), 0);
	image("c-61/w-61.img", 64 << 20, 0);
	image("c-61/w-62.img", 64 << 20, 0);
	image("c-61/w-63.img", 64 << 20, 0);
	memset(e, 0, sizeof(e));
	for (i = 0; i < 3; i++) {
		char rel[32];

		snprintf(rel, sizeof(rel), "c-61/w-6%d.img", i + 1);
		snprintf(e[i].rel, sizeof(e[i].rel), "%s", rel);
		e[i].img = openat(s.dirfd, rel, O_RDONLY);
		e[i].lease = -1;
	}
	s.e = e;
	s.ncap = 3;
	s.jobs[0].img = s.jobs[1].img = -1;
	free = store_free(&s);
	opts.min_free = free - (100ULL << 20);	/* room for 100 MiB */
	ck_assert(store_attach_room(&s, &e[0], 0));	/* 64 */
	e[1].lease = 1;					/* another slot's */
	ck_assert(!store_attach_room(&s, &e[0], 0));	/* 64 + 64 */
	ck_assert(store_attach_room(&s, &e[1], 1));	/* its own: 64 */
	e[1].lease = 0;					/* this slot's */
	ck_assert(store_attach_room(&s, &e[0], 0));
	s.jobs[1].kind = JOB_MAKE;			/* being made */
	s.jobs[1].img = e[2].img;
	ck_assert(!store_attach_room(&s, &e[0], 0));
	for (i = 0; i < 3; i++)
		close(e[i].img);
}
END_TEST

/* Moves the client's bucket's clock ms back: ms pass for it. */
static void
later(const char *client, int64_t ms)
{
	struct ws_bucket *b = store_bucket(&s, client, false);

	if (b != NULL)
		b->at_ms -= ms;
}

START_TEST(test_rate_burst_then_per_minute)
{
	int	 i;

	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(store_rate_wait(&s, "k:a"), 0);
		store_rate_take(&s, "k:a");
	}
	/* 6 a minute: one in 10 s */
	ck_assert_uint_eq(store_rate_wait(&s, "k:a"), 10);
	ck_assert_uint_eq(store_rate_wait(&s, "k:b"), 0);
	later("k:a", 5000);
	ck_assert_uint_eq(store_rate_wait(&s, "k:a"), 5);
	later("k:a", 5000);
	ck_assert_uint_eq(store_rate_wait(&s, "k:a"), 0);
	store_rate_take(&s, "k:a");
	ck_assert_uint_gt(store_rate_wait(&s, "k:a"), 0);
	/* a minute: full again (3, never more) */
	later("k:a", 600000);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(store_rate_wait(&s, "k:a"), 0);
		store_rate_take(&s, "k:a");
	}
	ck_assert_uint_gt(store_rate_wait(&s, "k:a"), 0);
}
END_TEST

/* A creation that did not happen gives its token back, never past the
 * burst. */
START_TEST(test_rate_give_back)
{
	store_rate_take(&s, "k:a");
	store_rate_take(&s, "k:a");
	store_rate_take(&s, "k:a");
	ck_assert_uint_gt(store_rate_wait(&s, "k:a"), 0);
	store_rate_give(&s, "k:a");
	ck_assert_uint_eq(store_rate_wait(&s, "k:a"), 0);
	store_rate_give(&s, "k:a");
	store_rate_give(&s, "k:a");
	store_rate_give(&s, "k:a");
	ck_assert(store_bucket(&s, "k:a", false)->tokens <= 3.0);
}
END_TEST

START_TEST(test_rate_zero_is_no_limit)
{
	int	 i;

	opts.create_rate = 0;
	for (i = 0; i < 100; i++) {
		ck_assert_uint_eq(store_rate_wait(&s, "k:a"), 0);
		store_rate_take(&s, "k:a");
	}
}
END_TEST

/* More clients than buckets: a new one takes the fullest bucket's place,
 * those held back stay held back. */
START_TEST(test_rate_more_clients_than_buckets)
{
	char	 name[32];
	int	 i;

	for (i = 0; i < STORE_BUCKETS; i++) {
		snprintf(name, sizeof(name), "k:%d", i);
		store_rate_take(&s, name);
		store_rate_take(&s, name);
		store_rate_take(&s, name);
	}
	later("k:7", 5000);			/* the fullest */
	store_rate_take(&s, "k:new");
	ck_assert_uint_eq(store_rate_wait(&s, "k:new"), 0);
	ck_assert_uint_eq(store_rate_wait(&s, "k:7"), 0);	/* evicted */
	ck_assert_uint_gt(store_rate_wait(&s, "k:8"), 0);
	ck_assert_uint_gt(store_rate_wait(&s, "k:1000"), 0);
}
END_TEST

static Suite *
store_suite(void)
{
	TCase	*tc;
	Suite	*su = check_suite("store", "accounting and rate", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file_kinds);
	tcase_add_test(tc, test_sat_add);
	tcase_add_test(tc, test_growth_counts_full_sizes);
	tcase_add_test(tc, test_growth_counts_blanks);
	tcase_add_test(tc, test_room_counts_every_image);
	tcase_add_test(tc, test_attach_room_counts_leased_ones);
	tcase_add_test(tc, test_rate_burst_then_per_minute);
	tcase_add_test(tc, test_rate_give_back);
	tcase_add_test(tc, test_rate_zero_is_no_limit);
	tcase_add_test(tc, test_rate_more_clients_than_buckets);
	return su;
}

CHECK_MAIN(store_suite(), CK_FORK_GETENV)
