/* test_him_planner.c — query planning: the goal matters, hints and budgets
 * are honoured, K and acceptance are right, the descent goes coarse to
 * fine, and replay is byte-identical after the store moved on. */
#include "support/test.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "him/him.h"
#include "him/him_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static struct him *open_store(const char *name)
{
	char *dir = test_path(name);
	struct him_options o = { .dir = dir };
	struct him *h = NULL;
	char *why = NULL;

	if (him_open(&o, &h, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "him_open: %s", why ? why : "?");
	free(why);
	free(dir);
	return h;
}

static void snapshot(struct him *h, const char *id)
{
	struct him_snapshot in = { 0 }, out = { 0 };
	char *why = NULL;

	in.snapshot_id = (char *)id;
	in.provenance = json_pack("{s:s, s:s}", "model", "m", "code_sha", "c");
	if (him_snapshot_create(h, &in, &out, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "snapshot %s: %s", id, why ? why : "?");
	json_decref(in.provenance);
	him_snapshot_release(&out);
	free(why);
}

/* One text tile in stream "notes"; tags may be NULL. */
static void put(struct him *h, const char *snap, int level, long x, long y, const char *tags)
{
	char payload[160];
	struct him_tile_in t = { .stream = "notes", .snapshot_id = snap, .level = level, .x = x,
				 .y = y, .shape = { 1, 1, 1 }, .dtype = "text/plain", .halo = -1,
				 .tags = tags };
	char *why = NULL;

	snprintf(payload, sizeof(payload), "tile L%d (%ld,%ld) %s", level, x, y, tags ? tags : "");
	t.payload = (const unsigned char *)payload;
	t.payload_len = strlen(payload);
	if (him_put_tiles(h, &t, 1, NULL, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "put: %s", why ? why : "?");
	free(why);
}

static void grid(struct him *h, const char *snap, int level, long side)
{
	for (long x = 0; x < side; x++)
		for (long y = 0; y < side; y++)
			put(h, snap, level, x, y, NULL);
}

static char *query(struct him *h, const char *snap, const char *goal, int k, int lmax, int lmin,
		   int budget)
{
	struct him_query q = { .goal = goal, .snapshot_id = snap, .stream = "notes",
			       .budget_ms = budget, .max_tiles = k, .level_max = lmax,
			       .level_min = lmin };
	char *plan = NULL, *why = NULL;

	if (him_query(h, &q, &plan, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "query: %s", why ? why : "?");
	free(why);
	return plan;
}

static json_t *tiles_of(const char *plan, json_t **root)
{
	*root = json_loads(plan ? plan : "{}", 0, NULL);
	return json_object_get(*root, "tile_ids");
}

static double acceptance_of(const char *plan)
{
	json_t *root = json_loads(plan ? plan : "{}", 0, NULL);
	double a = json_number_value(json_object_get(root, "acceptance"));

	json_decref(root);
	return a;
}

static char *trace_of(const char *plan)
{
	json_t *root = json_loads(plan ? plan : "{}", 0, NULL);
	char *t = xstrdup(json_string_value(json_object_get(root, "trace_id")));

	json_decref(root);
	return t;
}

static long tile_int(json_t *tiles, size_t i, const char *key)
{
	return (long)json_integer_value(json_object_get(json_array_get(tiles, i), key));
}

static void test_goal_selects_matching_tiles(void)
{
	struct him *h = open_store("goal");
	json_t *root, *tiles;
	char *plan;

	REQUIRE(h);
	snapshot(h, "s");
	for (long x = 0; x < 4; x++)
		for (long y = 0; y < 4; y++)
			put(h, "s", 0, x, y, (x == 1 && y == 2) || (x == 3 && y == 0) ? "red apple" : "pear");
	plan = query(h, "s", "apple", 8, 0, 0, 1000);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) == 2);   /* K = tiles needed */
	CHECK_EQ(tile_int(tiles, 0, "x") * 10 + tile_int(tiles, 0, "y"), 12);
	CHECK_EQ(tile_int(tiles, 1, "x") * 10 + tile_int(tiles, 1, "y"), 30);
	CHECK(acceptance_of(plan) == 1.0);
	CHECK_CONTAINS(plan, "\"budget_ms\":1000");
	CHECK_CONTAINS(plan, "\"stream\":\"notes\"");
	json_decref(root);
	free(plan);
	/* nothing matches: the best tiles by the other terms, no confidence */
	plan = query(h, "s", "banana", 8, 0, 0, 1000);
	tiles = tiles_of(plan, &root);
	CHECK_EQ(json_array_size(tiles), 8);
	CHECK(acceptance_of(plan) == 0.0);
	CHECK_CONTAINS(plan, "\"acceptance\":0.0,");
	json_decref(root);
	free(plan);
	him_close(h);
}

static void test_hints_raise_hinted_regions(void)
{
	struct him *h = open_store("hints");
	static const long box[1][4] = { { 2, 1, 1, 1 } };
	struct him_hint hint = { .query_id = "q1", .snapshot_id = "s", .stream = "notes",
				 .level_max = 0, .level_min = 0, .bboxes = box, .nbboxes = 1,
				 .confidence = 0.9 };
	json_t *root, *tiles;
	char *plan, *why = NULL;

	REQUIRE(h);
	snapshot(h, "s");
	grid(h, "s", 0, 4);
	plan = query(h, "s", "", 2, 0, 0, 1000);
	tiles = tiles_of(plan, &root);
	CHECK_EQ(json_array_size(tiles), 2);
	CHECK(!(tile_int(tiles, 0, "x") == 2 && tile_int(tiles, 0, "y") == 1));
	json_decref(root);
	free(plan);
	REQUIRE(him_prefetch(h, &hint, 1, &why) == KITH_OK);
	CHECK(him_prefetch_drain(h, 10000));
	plan = query(h, "s", "", 2, 0, 0, 1000);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) == 1);   /* the hinted tile is the one needed */
	CHECK_EQ(tile_int(tiles, 0, "x"), 2);
	CHECK_EQ(tile_int(tiles, 0, "y"), 1);
	json_decref(root);
	free(plan);
	him_close(h);
}

static void test_k_and_acceptance(void)
{
	struct him *h = open_store("k");
	json_t *root, *tiles;
	char *plan;
	double a;

	REQUIRE(h);
	snapshot(h, "s");
	snapshot(h, "empty");
	for (long x = 0; x < 4; x++)
		for (long y = 0; y < 4; y++)
			put(h, "s", 0, x, y, "apple");
	for (int k = 1; k <= 32; k *= 2) {
		plan = query(h, "s", "apple", k, 0, 0, 1000);
		tiles = tiles_of(plan, &root);
		CHECK_EQ(json_array_size(tiles), k < 16 ? k : 16);
		a = acceptance_of(plan);
		CHECK(a >= 0.0 && a <= 1.0);
		if (k == 4)
			CHECK(a == 0.25);     /* 4 of 16 equally relevant tiles */
		if (k >= 16)
			CHECK(a == 1.0);
		json_decref(root);
		free(plan);
	}
	plan = query(h, "empty", "apple", 8, 2, 0, 1000);
	CHECK_CONTAINS(plan, "\"acceptance\":0.0,\"budget_ms\":1000,\"tile_ids\":[],");
	free(plan);
	him_close(h);
}

/* The descent: only the best coarse tile's children are refined. */
static void test_coarse_to_fine(void)
{
	struct him *h = open_store("descent");
	json_t *root, *tiles;
	char *plan;
	size_t children = 0;

	REQUIRE(h);
	snapshot(h, "s");
	for (long x = 0; x < 4; x++)
		for (long y = 0; y < 4; y++)
			put(h, "s", 1, x, y, x == 2 && y == 1 ? "harbor boats" : "fields");
	grid(h, "s", 0, 8);
	plan = query(h, "s", "harbor", 4, 1, 0, 1000);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) == 4);
	for (size_t i = 0; i < 4; i++) {
		long lv = tile_int(tiles, i, "level"), x = tile_int(tiles, i, "x"),
		     y = tile_int(tiles, i, "y");

		if (lv == 1) {
			CHECK(x == 2 && y == 1);
		} else {
			CHECK(x >= 4 && x <= 5 && y >= 2 && y <= 3);
			children++;
		}
	}
	CHECK_EQ(children, 3);
	CHECK(acceptance_of(plan) > 0.5 && acceptance_of(plan) < 1.0);
	json_decref(root);
	free(plan);
	plan = query(h, "s", "harbor", 8, 1, 0, 1000);
	CHECK(acceptance_of(plan) == 1.0);     /* the region and all its children */
	free(plan);
	him_close(h);
}

/* A slow semantic index: every call costs 40 ms. */
static int index_calls;

static enum kith_status slow_score(void *ctx, const char *goal, const char *snapshot_id,
				   const char *stream, const char *const *ids, size_t n,
				   double *scores, char **why)
{
	int64_t until = clock_mono_ms() + 40;

	(void)ctx, (void)goal, (void)snapshot_id, (void)stream, (void)why;
	__atomic_add_fetch(&index_calls, 1, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < n; i++)
		scores[i] = ids[i][0] < '8' ? 0.9 : 0.1;
	while (clock_mono_ms() < until)
		;
	return KITH_OK;
}

static void test_budget_and_index(void)
{
	struct him *h = open_store("budget");
	struct him_index_ops ops = { .score = slow_score, .version = "slow/1" };
	json_t *root, *tiles;
	char *plan, *again = NULL, *trace, *why = NULL;
	int64_t t0;
	int calls;

	REQUIRE(h);
	snapshot(h, "s");
	grid(h, "s", 2, 2);
	grid(h, "s", 1, 4);
	grid(h, "s", 0, 8);
	him_set_index(h, &ops);
	t0 = clock_mono_ms();
	plan = query(h, "s", "anything", 8, 2, 0, 10);
	CHECK(clock_mono_ms() - t0 < 40 + 1000);   /* one index call, then stop */
	CHECK_EQ(index_calls, 1);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) > 0);
	for (size_t i = 0; i < json_array_size(tiles); i++)
		CHECK_EQ(tile_int(tiles, i, "level"), 2);
	CHECK(acceptance_of(plan) < 0.95);
	json_decref(root);
	/* replay needs neither the index nor the clock */
	trace = trace_of(plan);
	calls = index_calls;
	CHECK_EQ(him_replay(h, "s", trace, &again, &why), KITH_OK);
	CHECK_STR(again, plan);
	CHECK_EQ(index_calls, calls);
	free(again);
	free(trace);
	free(plan);
	/* with time to spare the descent reaches level 0 */
	plan = query(h, "s", "anything", 8, 2, 0, 100000);
	tiles = tiles_of(plan, &root);
	CHECK_EQ(tile_int(tiles, 0, "level"), 0);
	CHECK(index_calls >= calls + 3);
	json_decref(root);
	free(plan);
	him_set_index(h, NULL);
	him_close(h);
}

static void test_replay_is_byte_identical(void)
{
	struct him *h = open_store("replay");
	static const long box[1][4] = { { 0, 0, 2, 2 } };
	struct him_hint hint = { .query_id = "q", .snapshot_id = "s", .stream = "notes",
				 .level_max = 1, .level_min = 0, .bboxes = box, .nbboxes = 1,
				 .confidence = 1 };
	struct buf payload = BUF_INIT(0);
	char *a, *b, *again = NULL, *ta, *why = NULL;

	REQUIRE(h);
	snapshot(h, "s");
	grid(h, "s", 1, 2);
	for (long x = 0; x < 4; x++)
		for (long y = 0; y < 4; y++)
			put(h, "s", 0, x, y, x == 3 ? "kiwi" : NULL);
	a = query(h, "s", "kiwi", 3, 1, 0, 1000);
	ta = trace_of(a);
	CHECK(strncmp(ta, "tr_", 3) == 0 && strlen(ta) == 27);
	/* the same question at the same Lamport time is the same trace */
	b = query(h, "s", "kiwi", 3, 1, 0, 1000);
	CHECK_STR(b, a);
	free(b);
	/* the store moves on: new matching tiles, reads, hints */
	put(h, "s", 0, 0, 0, "kiwi kiwi");
	put(h, "s", 0, 1, 3, "kiwi");
	for (int i = 0; i < 5; i++)
		CHECK_EQ(him_get_tile(h, "notes", "s", 0, 2, 2, NULL, &payload, &why), KITH_OK);
	CHECK_EQ(him_prefetch(h, &hint, 1, &why), KITH_OK);
	CHECK(him_prefetch_drain(h, 10000));
	b = query(h, "s", "kiwi", 3, 1, 0, 1000);
	CHECK(strcmp(a, b) != 0);
	CHECK_EQ(him_replay(h, "s", ta, &again, &why), KITH_OK);
	CHECK_STR(again, a);
	free(again);
	again = NULL;
	free(ta);
	ta = trace_of(b);
	CHECK_EQ(him_replay(h, "s", ta, &again, &why), KITH_OK);
	CHECK_STR(again, b);
	free(again);
	again = NULL;
	/* traces outlive the process */
	him_close(h);
	h = open_store("replay");
	REQUIRE(h);
	CHECK_EQ(him_replay(h, "s", ta, &again, &why), KITH_OK);
	CHECK_STR(again, b);
	free(again);
	free(ta);
	free(a);
	free(b);
	buf_release(&payload);
	him_close(h);
}

/* With no goal match and no hint, use decides: the often and recently read
 * tile comes first. */
static void test_hot_tiles_first(void)
{
	struct him *h = open_store("hot");
	struct buf payload = BUF_INIT(0);
	json_t *root, *tiles;
	char *plan, *why = NULL;

	REQUIRE(h);
	snapshot(h, "s");
	grid(h, "s", 0, 4);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(him_get_tile(h, "notes", "s", 0, 3, 2, NULL, &payload, &why), KITH_OK);
	plan = query(h, "s", "", 2, 0, 0, 1000);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) == 2);
	CHECK_EQ(tile_int(tiles, 0, "x"), 3);
	CHECK_EQ(tile_int(tiles, 0, "y"), 2);
	CHECK(acceptance_of(plan) == 0.0);
	json_decref(root);
	free(plan);
	buf_release(&payload);
	him_close(h);
}

static void test_replay_errors(void)
{
	struct him *h = open_store("replay_err");
	char *plan, *trace, *out = NULL, *why = NULL;

	REQUIRE(h);
	snapshot(h, "s");
	snapshot(h, "t");
	put(h, "s", 0, 0, 0, "x");
	CHECK_EQ(him_replay(h, "s", "tr_000000000000000000000000", &out, &why), KITH_ENOTFOUND);
	CHECK(out == NULL);
	free(why);
	why = NULL;
	plan = query(h, "s", "x", 8, 0, 0, 100);
	trace = trace_of(plan);
	CHECK_EQ(him_replay(h, "t", trace, &out, &why), KITH_ECONFLICT);
	free(why);
	why = NULL;
	CHECK_EQ(him_replay(h, "nope", trace, &out, &why), KITH_ENOTFOUND);
	free(why);
	free(trace);
	free(plan);
	him_close(h);
}

static void test_query_errors(void)
{
	struct him *h = open_store("qerr");
	struct him_query q = { .goal = "g", .snapshot_id = "missing", .budget_ms = 10 };
	char *plan = NULL, *why = NULL;

	REQUIRE(h);
	CHECK_EQ(him_query(h, &q, &plan, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	q.budget_ms = 0;
	CHECK_EQ(him_query(h, &q, &plan, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "budget_ms");
	free(why);
	why = NULL;
	q.budget_ms = 5;
	q.max_tiles = 33;
	CHECK_EQ(him_query(h, &q, &plan, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "max_tiles");
	free(why);
	why = NULL;
	q.max_tiles = 8;
	q.level_min = 3;
	CHECK_EQ(him_query(h, &q, &plan, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "level_range");
	free(why);
	CHECK(plan == NULL);
	him_close(h);
}


/* ---- candidates from indexes over a large flat store ------------------------ */

#define FLAT_SIDE 200           /* 200 × 100 = 20k tiles at level 0 */
#define FLAT_ROWS 100
#define FLAT_BATCH 2000

/* `count` tiles (a multiple of FLAT_BATCH); tile i: "hay NNNNN" text; tags "needle" on every
 * 1000th tile (20 of them), "straw" elsewhere — equal lengths, so every
 * needle scores the same. */
static void flat_store(struct him *h, const char *snap, int count)
{
	struct him_tile_in *in = xcalloc(FLAT_BATCH, sizeof(*in));
	char (*text)[16] = xcalloc(FLAT_BATCH, sizeof(*text));
	char *why = NULL;

	for (int i = 0; i < count; i += FLAT_BATCH) {
		for (int k = 0; k < FLAT_BATCH; k++) {
			int t = i + k;

			snprintf(text[k], sizeof(text[k]), "hay %05d", t);
			in[k] = (struct him_tile_in){ .stream = "notes", .snapshot_id = snap,
						      .level = 0, .x = t % FLAT_SIDE,
						      .y = t / FLAT_SIDE, .shape = { 1, 1, 1 },
						      .dtype = "text/plain", .halo = -1,
						      .payload = (const unsigned char *)text[k],
						      .payload_len = strlen(text[k]),
						      .tags = t % 1000 == 0 ? "needle" : "straw" };
		}
		if (him_put_tiles(h, in, FLAT_BATCH, NULL, &why) != KITH_OK)
			test_fail_(__FILE__, __LINE__, "put: %s", why ? why : "?");
	}
	free(text);
	free(in);
	free(why);
}

/* How many candidates the trace of `plan` recorded. */
static size_t traced_candidates(struct him *h, const char *plan)
{
	char *trace = trace_of(plan), *why = NULL;
	struct him_trace t = { 0 };
	sqlite3 *db = him_db_acquire(h);
	json_t *in = NULL;
	size_t n = 0;

	if (db && him_trace_get(db, trace, &t, &why) == KITH_OK &&
	    (in = json_loads(t.inputs, 0, NULL)))
		n = json_array_size(json_object_get(in, "tiles"));
	json_decref(in);
	him_trace_release(&t);
	him_db_release(h, db);
	free(trace);
	free(why);
	return n;
}

static bool all_needles(json_t *tiles)
{
	for (size_t i = 0; i < json_array_size(tiles); i++) {
		long t = tile_int(tiles, i, "y") * FLAT_SIDE + tile_int(tiles, i, "x");

		if (t % 1000 != 0 && t < FLAT_SIDE * FLAT_ROWS)
			return false;
	}
	return true;
}

/* 20k tiles on one flat level: the keyword window finds the matches, the
 * plan's cost and trace stay bounded, acceptance counts the matches it did
 * not retrieve, and a replay is the same after new matches arrive. */
static void test_flat_store_keyword_candidates(void)
{
	struct him *h = open_store("flat");
	json_t *root, *tiles;
	char *a, *b, *again = NULL, *ta, *tb, *why = NULL;

	REQUIRE(h);
	snapshot(h, "s");
	flat_store(h, "s", FLAT_SIDE * FLAT_ROWS);
	/* K = 8 of 20 equally relevant needles; the window (16) holds 16 of
	 * them, the estimate counts the other 4: 8 / 20 */
	a = query(h, "s", "needle", 8, 0, 0, 1000);
	tiles = tiles_of(a, &root);
	CHECK_EQ(json_array_size(tiles), 8);
	CHECK(all_needles(tiles));
	CHECK(acceptance_of(a) == 0.4);
	CHECK(traced_candidates(h, a) <= 64);   /* not 20k */
	json_decref(root);
	/* a word in every tile carries no weight (IDF ~ 0): same tiles */
	b = query(h, "s", "hay NEEDLE", 8, 0, 0, 1000);
	tiles = tiles_of(b, &root);
	CHECK_EQ(json_array_size(tiles), 8);
	CHECK(all_needles(tiles));
	json_decref(root);
	free(b);
	/* a window bigger than the matches: all of them, exactly */
	b = query(h, "s", "needle", 32, 0, 0, 1000);
	tiles = tiles_of(b, &root);
	CHECK_EQ(json_array_size(tiles), 20);
	CHECK(all_needles(tiles));
	CHECK(acceptance_of(b) == 1.0);
	json_decref(root);
	free(b);
	/* nothing matches: the newest tiles, no confidence */
	b = query(h, "s", "zebra", 8, 0, 0, 1000);
	tiles = tiles_of(b, &root);
	CHECK_EQ(json_array_size(tiles), 8);
	CHECK(acceptance_of(b) == 0.0);
	json_decref(root);
	free(b);

	/* new needles, one replacing an old needle's tile at its coordinate */
	ta = trace_of(a);
	put(h, "s", 0, 0, 0, "needle needle");
	for (long x = 0; x < 10; x++)
		put(h, "s", 0, 1000 + x, 7, "needle");
	b = query(h, "s", "needle", 8, 0, 0, 1000);
	tiles = tiles_of(b, &root);
	CHECK(strcmp(a, b) != 0);
	CHECK_EQ(json_array_size(tiles), 8);
	CHECK_EQ(tile_int(tiles, 0, "x") * 1000 + tile_int(tiles, 0, "y"), 0);  /* twice: best */
	json_decref(root);
	CHECK_EQ(him_replay(h, "s", ta, &again, &why), KITH_OK);
	CHECK_STR(again, a);
	free(again);
	again = NULL;
	tb = trace_of(b);
	CHECK_EQ(him_replay(h, "s", tb, &again, &why), KITH_OK);
	CHECK_STR(again, b);
	free(again);
	free(ta);
	free(tb);
	free(a);
	free(b);
	him_close(h);
}

/* Hint regions reach tiles of a flat level through range reads. */
static void test_flat_store_hints(void)
{
	struct him *h = open_store("flat_hints");
	static const long box[1][4] = { { 57, 11, 1, 1 } };
	struct him_hint hint = { .query_id = "q", .snapshot_id = "s", .stream = "notes",
				 .level_max = 0, .level_min = 0, .bboxes = box, .nbboxes = 1,
				 .confidence = 0.9 };
	json_t *root, *tiles;
	char *plan, *why = NULL;

	REQUIRE(h);
	snapshot(h, "s");
	flat_store(h, "s", 2 * FLAT_BATCH);    /* 4000: no level is read whole */
	REQUIRE(him_prefetch(h, &hint, 1, &why) == KITH_OK);
	CHECK(him_prefetch_drain(h, 10000));
	plan = query(h, "s", "", 4, 0, 0, 1000);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) == 1);   /* the hinted tile is the one needed */
	CHECK_EQ(tile_int(tiles, 0, "x"), 57);
	CHECK_EQ(tile_int(tiles, 0, "y"), 11);
	json_decref(root);
	free(plan);
	him_close(h);
}

/* A pyramid whose levels are too big to read whole: the descent reaches
 * the children of the matched coarse tile through range reads, and
 * acceptance measures the match on them. */
static void test_flat_pyramid_descent(void)
{
	struct him *h = open_store("flat_pyramid");
	struct him_tile_in in[400];
	char text[400][48], *why = NULL, *plan;
	json_t *root, *tiles;
	size_t n = 0, children = 0;

	REQUIRE(h);
	snapshot(h, "s");
	for (int level = 1; level >= 0; level--) {
		long side = level ? 10 : 20;         /* 100 and 400 tiles: both "flat" */

		n = 0;
		for (long x = 0; x < side; x++)
			for (long y = 0; y < side; y++, n++) {
				snprintf(text[n], sizeof(text[n]), "L%d %ld %ld", level, x, y);
				in[n] = (struct him_tile_in){ .stream = "notes", .snapshot_id = "s",
							      .level = level, .x = x, .y = y,
							      .shape = { 1, 1, 1 },
							      .dtype = "text/plain", .halo = -1,
							      .payload = (const unsigned char *)text[n],
							      .payload_len = strlen(text[n]),
							      .tags = level == 1 && x == 3 && y == 4
								      ? "harbor boats" : "fields" };
			}
		REQUIRE(him_put_tiles(h, in, n, NULL, &why) == KITH_OK);
	}
	plan = query(h, "s", "harbor", 4, 1, 0, 1000);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) == 4);
	for (size_t i = 0; i < 4; i++) {
		long lv = tile_int(tiles, i, "level"), x = tile_int(tiles, i, "x"),
		     y = tile_int(tiles, i, "y");

		if (lv == 1) {
			CHECK(x == 3 && y == 4);
		} else {
			CHECK(x >= 6 && x <= 7 && y >= 8 && y <= 9);
			children++;
		}
	}
	CHECK_EQ(children, 3);
	CHECK(acceptance_of(plan) == 0.875);   /* 3 children, 1 at half resolution */
	json_decref(root);
	free(plan);
	him_close(h);
}

/* Matches of other snapshots and streams, newer than this one's, are
 * passed over; the window still finds all of this snapshot's. */
static void test_keyword_scope(void)
{
	struct him *h = open_store("scope");
	struct him_tile_in t = { .stream = "other", .snapshot_id = "a", .level = 0,
				 .shape = { 1, 1, 1 }, .dtype = "text/plain", .halo = -1,
				 .payload = (const unsigned char *)"kiwi", .payload_len = 4,
				 .tags = "kiwi" };
	json_t *root, *tiles;
	char *plan, *again = NULL, *why = NULL;

	REQUIRE(h);
	snapshot(h, "a");
	snapshot(h, "b");
	for (long x = 0; x < 3; x++)
		put(h, "a", 0, x, 0, "kiwi");
	for (long x = 0; x < 40; x++) {
		put(h, "b", 0, x, 0, "kiwi");
		t.x = x;
		REQUIRE(him_put_tiles(h, &t, 1, NULL, &why) == KITH_OK);
	}
	/* a word nobody had written yet is found as soon as it is */
	plan = query(h, "b", "durian", 8, 0, 0, 1000);
	CHECK(acceptance_of(plan) == 0.0);
	free(plan);
	put(h, "b", 0, 99, 9, "durian");
	plan = query(h, "b", "durian", 8, 0, 0, 1000);
	tiles = tiles_of(plan, &root);
	REQUIRE(json_array_size(tiles) == 1);
	CHECK_EQ(tile_int(tiles, 0, "x"), 99);
	CHECK(acceptance_of(plan) == 1.0);
	json_decref(root);
	free(plan);
	for (int i = 0; i < 2; i++) {          /* the second time from the memo */
		plan = query(h, "a", "kiwi", 8, 0, 0, 1000);
		tiles = tiles_of(plan, &root);
		CHECK_EQ(json_array_size(tiles), 3);
		CHECK(acceptance_of(plan) == 1.0);
		json_decref(root);
		if (i == 0)
			again = plan;
		else
			CHECK_STR(plan, again);
		if (i)
			free(plan);
	}
	free(again);
	him_close(h);
}

/* Queries racing ingest (for ThreadSanitizer: the planner's connection pool
 * and term statistics are shared), then every plan replays to its bytes. */
#define RACE_THREADS 4
#define RACE_QUERIES 12

struct racer {
	struct him *h;
	int id;
	char *plans[RACE_QUERIES];
};

static void *race_query(void *arg)
{
	static const char *const goals[] = { "apple", "pear", "apple pear", "" };
	struct racer *r = arg;

	for (int i = 0; i < RACE_QUERIES; i++)
		r->plans[i] = query(r->h, "s", goals[(r->id + i) % 4], 1 + (r->id + i) % 8, 0, 0,
				    1000);
	return NULL;
}

static void *race_ingest(void *arg)
{
	struct racer *r = arg;

	for (long i = 0; i < 2 * RACE_QUERIES; i++)
		put(r->h, "s", 0, 100 + i, i % 3, i % 2 ? "apple" : "pear apple");
	return NULL;
}

static void test_concurrent_queries_replay(void)
{
	struct him *h = open_store("race");
	struct racer r[RACE_THREADS + 1];
	pthread_t t[RACE_THREADS + 1];
	char *why = NULL;

	REQUIRE(h);
	snapshot(h, "s");
	for (long x = 0; x < 4; x++)
		for (long y = 0; y < 4; y++)
			put(h, "s", 0, x, y, (x + y) % 2 ? "apple" : "pear");
	for (int i = 0; i <= RACE_THREADS; i++) {
		r[i] = (struct racer){ .h = h, .id = i };
		pthread_create(&t[i], NULL, i < RACE_THREADS ? race_query : race_ingest, &r[i]);
	}
	for (int i = 0; i <= RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < RACE_THREADS; i++)
		for (int k = 0; k < RACE_QUERIES; k++) {
			char *trace = trace_of(r[i].plans[k]), *again = NULL;

			CHECK_EQ(him_replay(h, "s", trace, &again, &why), KITH_OK);
			CHECK_STR(again, r[i].plans[k]);
			free(again);
			free(trace);
			free(r[i].plans[k]);
		}
	free(why);
	him_close(h);
}

int main(void)
{
	RUN(test_goal_selects_matching_tiles);
	RUN(test_hints_raise_hinted_regions);
	RUN(test_k_and_acceptance);
	RUN(test_coarse_to_fine);
	RUN(test_budget_and_index);
	RUN(test_replay_is_byte_identical);
	RUN(test_hot_tiles_first);
	RUN(test_replay_errors);
	RUN(test_query_errors);
	RUN(test_flat_store_keyword_candidates);
	RUN(test_flat_store_hints);
	RUN(test_flat_pyramid_descent);
	RUN(test_keyword_scope);
	RUN(test_concurrent_queries_replay);
	return test_summary();
}
