/* test_him_hormones.c — hormone history in HIM (him/hormones.c): bucket
 * math at the boundaries (pinned against the reference's coordinates),
 * running means across puts, coarse levels built from the samples, history
 * ranges and limits, hostile channel ids, invalid levels rejected with
 * nothing written, deltas against the previous version, no lost update
 * under concurrent puts, a foreign tile refused, and the PUT body parser. */
#include "support/test.h"
#include "support/himstore.h"
#include "core/alloc.h"
#include "him/him_int.h"
#include "him/hormones.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* 2025-01-01T00:00:00Z: a whole 5 min, hour and day; inside week 2869. */
#define T0 1735689600000LL
#define MIN5 300000LL
#define HOUR 3600000LL
#define DAY 86400000LL
#define WEEK 604800000LL

enum { DA, SE, OX, CO, ME, NO, CU, PA };

static struct him_hormone_levels one(int i, double v)
{
	struct him_hormone_levels lv = { .present = 1u << i };

	lv.v[i] = v;
	return lv;
}

static void put(struct him *h, const char *ch, struct him_hormone_levels lv, long long at)
{
	char *why = NULL;

	if (him_hormones_put(h, ch, &lv, at, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "put %s at %lld: %s", ch, at, why ? why : "?");
	free(why);
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-12;
}

/* History of one level over everything. */
static size_t history(struct him *h, const char *ch, int level, long long from, long long to,
		      size_t limit, struct him_hormone_point **p, bool *truncated)
{
	size_t n = 0;
	char *why = NULL;

	if (him_hormones_history(h, ch, level, from, to, limit, p, &n, truncated, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "history %s: %s", ch, why ? why : "?");
	free(why);
	return n;
}

static void test_names_and_buckets(void)
{
	for (int i = 0; i < HIM_HORMONES; i++)
		CHECK_EQ(him_hormone_index(him_hormone_name(i)), i);
	CHECK_STR(him_hormone_name(DA), "dopamine");
	CHECK_STR(him_hormone_name(PA), "patience");
	CHECK(him_hormone_name(8) == NULL && him_hormone_name(-1) == NULL);
	CHECK_EQ(him_hormone_index("adrenaline"), -1);
	CHECK_EQ(him_hormone_index("Dopamine"), -1);
	CHECK_EQ(him_hormone_bucket_ms(0), MIN5);
	CHECK_EQ(him_hormone_bucket_ms(1), HOUR);
	CHECK_EQ(him_hormone_bucket_ms(2), DAY);
	CHECK_EQ(him_hormone_bucket_ms(3), WEEK);
	CHECK_EQ(him_hormone_bucket_ms(4), 0);
	CHECK_EQ(him_hormone_bucket_level("1w"), 3);
	CHECK_EQ(him_hormone_bucket_level("5min"), -1);
	CHECK_STR(him_hormone_bucket_label(1), "1h");
}

static void check_snap(const char *channel, const char *want)
{
	char out[HIM_NAME_MAX + 1], *why = NULL;

	if (him_hormones_snapshot_id(channel, out, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "snapshot id of %s: %s", channel, why ? why : "?");
	} else {
		CHECK_EQ(him_check_name("snapshot_id", out, NULL), KITH_OK);
		if (want)
			CHECK_STR(out, want);
	}
	free(why);
}

static void test_hostile_channel_ids(void)
{
	static const char *const bad[] = { "", "tab\there", "nl\n", "del\x7f", "\xff\xfe",
					   "\xc3" };
	static const char *const distinct[] = { "a_b", "a b", "a.b", "a/b", "../a_b", "A_B",
						"hormones.a_b", "🎉", "🎊" };
	char names[9][HIM_NAME_MAX + 1];
	char *longest = xmalloc(HIM_HORMONE_CHANNEL_MAX + 2), *why = NULL;
	char out[HIM_NAME_MAX + 1];

	check_snap("123456789012345678", "hormones_123456789012345678");
	check_snap("general-chat_2", "hormones_general-chat_2");
	check_snap("../../etc/passwd", NULL);
	check_snap("..", NULL);
	check_snap(".hidden", NULL);
	check_snap("0123456789012345678901234567890123456789012345678901234", NULL);   /* 55 */
	check_snap("01234567890123456789012345678901234567890123456789012345", NULL);  /* 56 */
	CHECK_EQ(strlen("hormones_0123456789012345678901234567890123456789012345678901234"), 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(him_hormones_snapshot_id(bad[i], out, &why), KITH_EINVAL);
		CHECK(why && strstr(why, "channel_id"));
		free(why);
		why = NULL;
	}
	CHECK_EQ(him_hormones_snapshot_id(NULL, out, NULL), KITH_EINVAL);
	memset(longest, 'a', HIM_HORMONE_CHANNEL_MAX);
	longest[HIM_HORMONE_CHANNEL_MAX] = '\0';
	check_snap(longest, NULL);
	longest[HIM_HORMONE_CHANNEL_MAX] = 'a';
	longest[HIM_HORMONE_CHANNEL_MAX + 1] = '\0';
	CHECK_EQ(him_hormones_snapshot_id(longest, out, NULL), KITH_EINVAL);
	free(longest);
	/* Ids that sanitise alike still get different snapshots. */
	for (size_t i = 0; i < 9; i++) {
		REQUIRE(him_hormones_snapshot_id(distinct[i], names[i], NULL) == KITH_OK);
		CHECK_EQ(him_check_name("snapshot_id", names[i], NULL), KITH_OK);
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				test_fail_(__FILE__, __LINE__, "'%s' and '%s' share %s", distinct[i],
					   distinct[j], names[i]);
	}
}

static void test_bucket_boundaries(void)
{
	static const long want_x[4] = { 5785632, 482136, 20089, 2869 };   /* the reference's */
	struct him *h = him_test_open("horm-bounds");
	struct him_hormone_point *p = NULL;
	struct him_tile_meta m;
	struct buf b = BUF_INIT(0);
	char snap[HIM_NAME_MAX + 1];
	size_t n;

	REQUIRE(h);
	REQUIRE(him_hormones_snapshot_id("bounds", snap, NULL) == KITH_OK);
	put(h, "bounds", one(DA, 0.25), T0);
	for (int level = 0; level < 4; level++) {
		char *why = NULL;

		if (him_get_tile(h, HIM_HORMONES_STREAM, snap, level, want_x[level], 0, &m, &b,
				 &why) != KITH_OK) {
			test_fail_(__FILE__, __LINE__, "level %d x %ld: %s", level, want_x[level], why);
			free(why);
			continue;
		}
		CHECK_STR(m.dtype, HIM_HORMONES_DTYPE);
		CHECK(m.parent_tile_id == NULL);
		CHECK_CONTAINS(buf_str(&b), "\"channel_id\":\"bounds\"");
		CHECK_CONTAINS(buf_str(&b), "\"samples\":1");
		him_tile_meta_release(&m);
	}
	/* The last millisecond of a bucket and the first of the next. */
	put(h, "bounds", one(DA, 0.5), T0 + MIN5 - 1);
	put(h, "bounds", one(DA, 1.0), T0 + MIN5);
	put(h, "bounds", one(DA, 0.0), T0 + HOUR - 1);
	put(h, "bounds", one(DA, 0.75), T0 + HOUR);
	n = history(h, "bounds", 0, 0, T0 + 10 * DAY, 100, &p, NULL);
	REQUIRE(n == 4);
	CHECK_EQ(p[0].bucket_start_ms, T0);
	CHECK_EQ(p[0].samples, 2);
	CHECK(near(p[0].mean.v[DA], 0.375));
	CHECK_EQ(p[1].bucket_start_ms, T0 + MIN5);
	CHECK_EQ(p[2].bucket_start_ms, T0 + HOUR - MIN5);
	CHECK_EQ(p[3].bucket_start_ms, T0 + HOUR);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(p[i].bucket_ms, MIN5);
	free(p);
	n = history(h, "bounds", 1, 0, T0 + 10 * DAY, 100, &p, NULL);
	REQUIRE(n == 2);
	CHECK_EQ(p[0].bucket_start_ms, T0);
	CHECK_EQ(p[0].samples, 4);
	CHECK_EQ(p[1].bucket_start_ms, T0 + HOUR);
	CHECK_EQ(p[1].samples, 1);
	free(p);
	/* from / to are inclusive milliseconds: a bucket overlapping them counts. */
	n = history(h, "bounds", 0, T0 + MIN5 - 1, T0 + MIN5, 100, &p, NULL);
	CHECK_EQ(n, 2);
	free(p);
	n = history(h, "bounds", 0, T0 + MIN5, T0 + HOUR - MIN5 - 1, 100, &p, NULL);
	REQUIRE(n == 1);
	CHECK_EQ(p[0].bucket_start_ms, T0 + MIN5);
	free(p);
	/* Epoch 0 and the last representable millisecond. */
	put(h, "edges", one(CO, 0.5), 0);
	put(h, "edges", one(CO, 0.5), HIM_HORMONE_AT_MAX);
	n = history(h, "edges", 0, 0, HIM_HORMONE_AT_MAX, 10, &p, NULL);
	REQUIRE(n == 2);
	CHECK_EQ(p[0].bucket_start_ms, 0);
	CHECK_EQ(p[1].bucket_start_ms, HIM_HORMONE_AT_MAX - MIN5 + 1);
	free(p);
	buf_release(&b);
	him_close(h);
}

static void test_running_means_and_latest(void)
{
	struct him *h = him_test_open("horm-means");
	struct him_hormone_levels lv = { .present = (1u << DA) | (1u << SE), .v = { 0.2, 0.6 } };
	struct him_hormone_state st;
	struct him_hormone_point *p = NULL;
	char *why = NULL;
	size_t n;

	REQUIRE(h);
	CHECK_EQ(him_hormones_get(h, "means", &st, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	put(h, "means", lv, T0 + 1000);
	lv.v[DA] = 0.4;
	lv.v[SE] = 0.0;
	put(h, "means", lv, T0 + 2000);
	lv.v[DA] = 0.9;
	lv.v[SE] = 0.3;
	put(h, "means", lv, T0 + 3000);
	/* Out of order: counted, but not the latest. */
	put(h, "means", one(DA, 0.1), T0 + 500);
	n = history(h, "means", 0, 0, HIM_HORMONE_AT_MAX, 10, &p, NULL);
	REQUIRE(n == 1);
	CHECK_EQ(p[0].samples, 4);
	CHECK_EQ(p[0].counts[DA], 4);
	CHECK_EQ(p[0].counts[SE], 3);
	CHECK(near(p[0].mean.v[DA], 0.4));
	CHECK(near(p[0].mean.v[SE], 0.3));
	CHECK(near(p[0].min.v[DA], 0.1) && near(p[0].max.v[DA], 0.9));
	CHECK(near(p[0].min.v[SE], 0.0) && near(p[0].max.v[SE], 0.6));
	CHECK_EQ(p[0].mean.present, (1u << DA) | (1u << SE));
	CHECK_EQ(p[0].last_at_ms, T0 + 3000);
	free(p);
	REQUIRE(him_hormones_get(h, "means", &st, &why) == KITH_OK);
	CHECK_EQ(st.at_ms, T0 + 3000);
	CHECK(near(st.levels.v[DA], 0.9) && near(st.levels.v[SE], 0.3));
	/* A later sample naming one hormone is the whole latest state. */
	put(h, "means", one(CO, 0.7), T0 + 4 * DAY);
	REQUIRE(him_hormones_get(h, "means", &st, &why) == KITH_OK);
	CHECK_EQ(st.at_ms, T0 + 4 * DAY);
	CHECK_EQ(st.levels.present, 1u << CO);
	CHECK(near(st.levels.v[CO], 0.7));
	/* Equal times: the later put wins. */
	put(h, "means", one(CO, 0.2), T0 + 4 * DAY);
	REQUIRE(him_hormones_get(h, "means", &st, &why) == KITH_OK);
	CHECK(near(st.levels.v[CO], 0.2));
	/* Many samples: the mean stays exact enough and inside [min, max]. */
	for (int i = 0; i < 60; i++)
		put(h, "many", one(PA, (i % 3) / 2.0), T0 + i);
	n = history(h, "many", 0, 0, HIM_HORMONE_AT_MAX, 10, &p, NULL);
	REQUIRE(n == 1);
	CHECK_EQ(p[0].samples, 60);
	CHECK(fabs(p[0].mean.v[PA] - 0.5) < 1e-12);
	free(p);
	him_close(h);
}

/* Coarse buckets average the samples, not the finer buckets' means. */
static void test_coarse_levels(void)
{
	struct him *h = him_test_open("horm-coarse");
	struct him_hormone_point *p = NULL;
	size_t n;

	REQUIRE(h);
	put(h, "coarse", one(OX, 0.0), T0);
	put(h, "coarse", one(OX, 0.0), T0 + 1);
	put(h, "coarse", one(OX, 0.0), T0 + 2);
	put(h, "coarse", one(OX, 0.8), T0 + 20 * 60000);
	/* Another day of the same week (weeks start on Thursdays: T0 is the
	 * Wednesday that ends week 2869). */
	put(h, "coarse", one(OX, 1.0), T0 - 3 * DAY);
	n = history(h, "coarse", 1, 0, HIM_HORMONE_AT_MAX, 10, &p, NULL);
	REQUIRE(n == 2);
	CHECK_EQ(p[1].bucket_start_ms, T0);
	CHECK_EQ(p[1].samples, 4);
	CHECK(near(p[1].mean.v[OX], 0.2));      /* means of means would say 0.4 */
	CHECK(near(p[1].max.v[OX], 0.8));
	free(p);
	n = history(h, "coarse", 2, 0, HIM_HORMONE_AT_MAX, 10, &p, NULL);
	REQUIRE(n == 2);
	CHECK_EQ(p[0].bucket_start_ms, T0 - 3 * DAY);
	CHECK_EQ(p[1].bucket_start_ms, T0);
	free(p);
	put(h, "coarse", one(OX, 0.5), T0 + DAY);          /* the next week */
	n = history(h, "coarse", 3, 0, HIM_HORMONE_AT_MAX, 10, &p, NULL);
	REQUIRE(n == 2);
	CHECK_EQ(p[0].bucket_start_ms, 2869 * WEEK);
	CHECK_EQ(p[0].bucket_ms, WEEK);
	CHECK_EQ(p[0].samples, 5);
	CHECK(near(p[0].mean.v[OX], 0.36));
	CHECK(near(p[0].min.v[OX], 0.0) && near(p[0].max.v[OX], 1.0));
	CHECK_EQ(p[0].last_at_ms, T0 + 20 * 60000);
	CHECK_EQ(p[1].bucket_start_ms, T0 + DAY);
	CHECK_EQ(p[1].samples, 1);
	free(p);
	him_close(h);
}

static void test_history_ranges_and_limits(void)
{
	struct him *h = him_test_open("horm-range");
	struct him_hormone_point *p = NULL;
	bool truncated = true;
	char *why = NULL;
	size_t n = 7;

	REQUIRE(h);
	for (int i = 0; i < 10; i++)
		put(h, "range", one(NO, i / 10.0), T0 + i * MIN5 + 7);
	n = history(h, "range", 0, 0, HIM_HORMONE_AT_MAX, 288, &p, &truncated);
	CHECK_EQ(n, 10);
	CHECK(!truncated);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(p[i].bucket_start_ms, T0 + (long long)i * MIN5);
		CHECK(near(p[i].mean.v[NO], (double)i / 10.0));
	}
	free(p);
	/* The newest `limit`, oldest first, and the flag. */
	n = history(h, "range", 0, 0, HIM_HORMONE_AT_MAX, 3, &p, &truncated);
	REQUIRE(n == 3);
	CHECK(truncated);
	CHECK_EQ(p[0].bucket_start_ms, T0 + 7 * MIN5);
	CHECK_EQ(p[2].bucket_start_ms, T0 + 9 * MIN5);
	free(p);
	n = history(h, "range", 0, T0 + 2 * MIN5, T0 + 4 * MIN5, 3, &p, &truncated);
	REQUIRE(n == 3);
	CHECK(!truncated);
	CHECK_EQ(p[0].bucket_start_ms, T0 + 2 * MIN5);
	free(p);
	/* Nothing in range is an empty answer; an unknown channel is not found. */
	n = history(h, "range", 0, 0, T0 - 1, 10, &p, &truncated);
	CHECK_EQ(n, 0);
	CHECK(p == NULL);
	CHECK_EQ(him_hormones_history(h, "nobody", 0, 0, T0, 10, &p, &n, NULL, &why),
		 KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(him_hormones_history(h, "range", 4, 0, T0, 10, &p, &n, NULL, NULL), KITH_EINVAL);
	CHECK_EQ(him_hormones_history(h, "range", 0, T0, T0 - 1, 10, &p, &n, NULL, NULL),
		 KITH_EINVAL);
	CHECK_EQ(him_hormones_history(h, "range", 0, -1, T0, 10, &p, &n, NULL, NULL), KITH_EINVAL);
	CHECK_EQ(him_hormones_history(h, "range", 0, 0, T0, 0, &p, &n, NULL, NULL), KITH_EINVAL);
	CHECK_EQ(him_hormones_history(h, "range", 0, 0, T0, HIM_HORMONE_HISTORY_MAX + 1, &p, &n,
				      NULL, NULL), KITH_EINVAL);
	CHECK_EQ(him_hormones_history(h, "../range", 0, 0, T0, 10, &p, &n, NULL, NULL),
		 KITH_ENOTFOUND);
	him_close(h);
}

static void test_invalid_levels_write_nothing(void)
{
	struct him *h = him_test_open("horm-invalid");
	struct him_hormone_levels lv = one(DA, 0.5);
	struct him_hormone_state st;
	struct him_snapshot s;
	char snap[HIM_NAME_MAX + 1], *why = NULL;
	struct {
		unsigned present;
		double v;
		long long at;
	} cases[] = {
		{ 0, 0.5, T0 },                   /* no hormone */
		{ 1u << DA, 1.5, T0 },
		{ 1u << DA, -0.1, T0 },
		{ 1u << DA, NAN, T0 },
		{ 1u << DA, INFINITY, T0 },
		{ (1u << DA) | (1u << 8), 0.5, T0 },   /* a ninth hormone */
		{ 1u << DA, 0.5, -1 },
		{ 1u << DA, 0.5, HIM_HORMONE_AT_MAX + 1 },
	};

	REQUIRE(h);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lv.present = cases[i].present;
		lv.v[DA] = cases[i].v;
		CHECK_EQ(him_hormones_put(h, "invalid", &lv, cases[i].at, &why), KITH_EINVAL);
		CHECK(why != NULL);
		free(why);
		why = NULL;
	}
	CHECK_EQ(him_hormones_put(h, "", &lv, T0, NULL), KITH_EINVAL);
	CHECK_EQ(him_hormones_put(h, "invalid", NULL, T0, NULL), KITH_EINVAL);
	REQUIRE(him_hormones_snapshot_id("invalid", snap, NULL) == KITH_OK);
	CHECK_EQ(him_snapshot_get(h, snap, &s, NULL), KITH_ENOTFOUND);
	CHECK_EQ(him_hormones_get(h, "invalid", &st, NULL), KITH_ENOTFOUND);
	him_close(h);
}

static void test_versions_are_deltas(void)
{
	struct him *h = him_test_open("horm-delta");
	struct him_hormone_levels lv = { .present = 0xff,
					 .v = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 } };
	struct him_tile_meta first, second;
	struct him_snapshot s;
	struct him_row row;
	char snap[HIM_NAME_MAX + 1], *why = NULL;
	size_t problems = 99;
	sqlite3 *db;

	REQUIRE(h);
	REQUIRE(him_hormones_snapshot_id("delta", snap, NULL) == KITH_OK);
	put(h, "delta", lv, T0);
	REQUIRE(him_get_tile(h, HIM_HORMONES_STREAM, snap, 3, 2869, 0, &first, NULL, &why) ==
		KITH_OK);
	/* A steady mood (the same levels an hour later): only the counts and
	 * times move, and the new week version is a small delta of the last.
	 * (When every level moves, most of the payload changes and HIM's 30%
	 * rule stores the version full; either way it names its parent.) */
	put(h, "delta", lv, T0 + HOUR);
	REQUIRE(him_get_tile(h, HIM_HORMONES_STREAM, snap, 3, 2869, 0, &second, NULL, &why) ==
		KITH_OK);
	CHECK_STR(second.parent_tile_id, first.tile_id);
	db = him_db_acquire(h);
	REQUIRE(db);
	REQUIRE(him_row_by_id(db, second.tile_id, &row, &why) == KITH_OK);
	CHECK_EQ(row.encoding, HIM_ENC_DELTA);
	him_row_release(&row);
	him_db_release(h, db);
	him_tile_meta_release(&first);
	him_tile_meta_release(&second);
	/* The snapshot was made for the channel, with a provenance. */
	REQUIRE(him_snapshot_get(h, snap, &s, &why) == KITH_OK);
	CHECK_STR(json_string_value(json_object_get(s.provenance, "model")), "kith-hormones");
	CHECK_STR(json_string_value(json_object_get(s.tags, "channel_id")), "delta");
	him_snapshot_release(&s);
	REQUIRE(him_fsck(h, NULL, NULL, &problems, &why) == KITH_OK);
	CHECK_EQ(problems, 0);
	him_close(h);
}

/* Hostile ids are stored under their own snapshot and read back intact. */
static void test_hostile_ids_round_trip(void)
{
	static const char *const ids[] = { "../../x", "a b", "a_b", "🎉 party", "a.b" };
	struct him *h = him_test_open("horm-hostile");
	struct him_hormone_state st;

	REQUIRE(h);
	for (size_t i = 0; i < 5; i++)
		put(h, ids[i], one(ME, (double)(i + 1) / 10.0), T0 + (long long)i);
	for (size_t i = 0; i < 5; i++) {
		char *why = NULL;

		if (him_hormones_get(h, ids[i], &st, &why) != KITH_OK) {
			test_fail_(__FILE__, __LINE__, "get %s: %s", ids[i], why ? why : "?");
		} else {
			CHECK(near(st.levels.v[ME], (double)(i + 1) / 10.0));
			CHECK_EQ(st.at_ms, T0 + (long long)i);
		}
		free(why);
	}
	him_close(h);
}

struct racer {
	struct him *h;
	int id;
	int failures;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 20; i++) {
		struct him_hormone_levels lv = one(r->id, 0.5);

		if (him_hormones_put(r->h, "race", &lv, T0 + r->id * 100 + i, NULL) != KITH_OK)
			r->failures++;
	}
	return NULL;
}

static void test_concurrent_puts_lose_nothing(void)
{
	struct him *h = him_test_open("horm-race");
	struct racer r[4];
	pthread_t t[4];
	struct him_hormone_point *p = NULL;
	size_t n;

	REQUIRE(h);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){ .h = h, .id = i };
		REQUIRE(pthread_create(&t[i], NULL, race, &r[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(r[i].failures, 0);
	}
	for (int level = 0; level < 4; level++) {
		n = history(h, "race", level, 0, HIM_HORMONE_AT_MAX, 10, &p, NULL);
		REQUIRE(n == 1);
		CHECK_EQ(p[0].samples, 80);
		for (int i = 0; i < 4; i++)
			CHECK_EQ(p[0].counts[i], 20);
		free(p);
	}
	him_close(h);
}

/* A tile at our coordinate that is not a bucket is refused, never served. */
static void test_foreign_tile_refused(void)
{
	struct him *h = him_test_open("horm-foreign");
	struct him_hormone_state st;
	char snap[HIM_NAME_MAX + 1], *why = NULL;
	const char *junk = "{\"levels\":{\"dopamine\":7}}";
	struct him_tile_in t = { .stream = HIM_HORMONES_STREAM, .level = 0, .x = 5785632,
				 .shape = { 1, 1, 1 }, .dtype = "text/plain", .halo = -1,
				 .payload = (const unsigned char *)junk,
				 .payload_len = strlen(junk) };
	struct him_hormone_levels lv = one(DA, 0.5);

	REQUIRE(h);
	REQUIRE(him_hormones_snapshot_id("foreign", snap, NULL) == KITH_OK);
	him_test_snapshot(h, snap);
	t.snapshot_id = snap;
	REQUIRE(him_put_tiles(h, &t, 1, NULL, &why) == KITH_OK);
	CHECK_EQ(him_hormones_get(h, "foreign", &st, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "not a hormone bucket");
	free(why);
	why = NULL;
	CHECK_EQ(him_hormones_put(h, "foreign", &lv, T0, &why), KITH_EPROTO);
	free(why);
	him_close(h);
}

static void check_put_body(const char *body, enum kith_status want, const char *why_has)
{
	struct him_hormones_put_body b;
	char *why = NULL;
	enum kith_status rc = him_hormones_parse_put(body, strlen(body), &b, &why);

	if (rc != want)
		test_fail_(__FILE__, __LINE__, "%s: status %d, want %d (%s)", body, rc, want,
			   why ? why : "");
	else if (why_has)
		CHECK_CONTAINS(why, why_has);
	free(why);
}

static void test_put_body(void)
{
	struct him_hormones_put_body b;
	const char *ok = "{\"levels\":{\"dopamine\":0.25,\"patience\":1,\"cortisol\":0},"
			 "\"at_ms\":1735689600000,\"extra\":true}";

	REQUIRE(him_hormones_parse_put(ok, strlen(ok), &b, NULL) == KITH_OK);
	CHECK_EQ(b.levels.present, (1u << DA) | (1u << PA) | (1u << CO));
	CHECK(near(b.levels.v[DA], 0.25) && near(b.levels.v[PA], 1.0) && b.levels.v[CO] == 0.0);
	CHECK(b.has_at);
	CHECK_EQ(b.at_ms, T0);
	check_put_body("{\"levels\":{\"novelty\":0.5}}", KITH_OK, NULL);
	check_put_body("{\"levels\":{\"novelty\":0.5},\"at_ms\":null}", KITH_OK, NULL);
	check_put_body("", KITH_EINVAL, "body:");
	check_put_body("not json", KITH_EINVAL, "invalid JSON");
	check_put_body("[1]", KITH_EINVAL, "body: expected an object");
	check_put_body("{}", KITH_EINVAL, "levels: is required");
	check_put_body("{\"levels\":{}}", KITH_EINVAL, "levels: names no hormone");
	check_put_body("{\"levels\":[0.5]}", KITH_EINVAL, "levels: expected an object");
	check_put_body("{\"levels\":{\"adrenaline\":0.5}}", KITH_EINVAL,
		       "levels.adrenaline: not a hormone");
	check_put_body("{\"levels\":{\"dopamine\":1.5}}", KITH_EINVAL,
		       "levels.dopamine: expected a number between 0 and 1");
	check_put_body("{\"levels\":{\"dopamine\":-0.0001}}", KITH_EINVAL, "levels.dopamine");
	check_put_body("{\"levels\":{\"dopamine\":\"0.5\"}}", KITH_EINVAL, "levels.dopamine");
	check_put_body("{\"levels\":{\"dopamine\":true}}", KITH_EINVAL, "levels.dopamine");
	check_put_body("{\"levels\":{\"dopamine\":1e999}}", KITH_EINVAL, NULL);
	check_put_body("{\"levels\":{\"dopamine\":0.1,\"dopamine\":0.2}}", KITH_EINVAL, "body:");
	check_put_body("{\"levels\":{\"dopamine\":0.5},\"at_ms\":1.5}", KITH_EINVAL, "at_ms:");
	check_put_body("{\"levels\":{\"dopamine\":0.5},\"at_ms\":-1}", KITH_EINVAL, "at_ms:");
	check_put_body("{\"levels\":{\"dopamine\":0.5},\"at_ms\":644245094400000}", KITH_EINVAL,
		       "at_ms:");
	/* A strange key is not echoed back. */
	check_put_body("{\"levels\":{\"\\u00e9\\\"}<script>\":0.5}}", KITH_EINVAL,
		       "levels: an unknown hormone name");
	check_put_body("{\"levels\":{\"\":0.5}}", KITH_EINVAL, "levels: an unknown hormone name");
}

int main(void)
{
	RUN(test_names_and_buckets);
	RUN(test_hostile_channel_ids);
	RUN(test_bucket_boundaries);
	RUN(test_running_means_and_latest);
	RUN(test_coarse_levels);
	RUN(test_history_ranges_and_limits);
	RUN(test_invalid_levels_write_nothing);
	RUN(test_versions_are_deltas);
	RUN(test_hostile_ids_round_trip);
	RUN(test_concurrent_puts_lose_nothing);
	RUN(test_foreign_tile_refused);
	RUN(test_put_body);
	return test_summary();
}
