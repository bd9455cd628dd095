/* test_him_planner.c — query planning: the goal matters, hints and budgets
 * are honoured, K and acceptance are right, the descent goes coarse to
 * fine, and replay is byte-identical after the store moved on. */
#include "support/test.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "him/him.h"

#include <jansson.h>
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
	return test_summary();
}
