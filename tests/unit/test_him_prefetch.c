/* test_him_prefetch.c — hints stage the tiles they cover into the warm
 * cache in the background: the cache shows them warm, a later read is a
 * prefetched hit, drain waits for the worker, bad hints are refused. */
#include "support/test.h"
#include "support/himstore.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "him/him_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void put(struct him *h, const char *snap, int level, long x, long y, const char *text,
		char id[HIM_ID_HEX + 1])
{
	char payload[128];
	struct him_tile_in t = { .stream = "notes", .snapshot_id = snap, .level = level, .x = x,
				 .y = y, .shape = { 1, 1, 1 }, .dtype = "text/plain", .halo = -1 };
	struct him_tile_meta m;
	char *why = NULL;

	snprintf(payload, sizeof(payload), "L%d (%ld,%ld) %s", level, x, y, text);
	t.payload = (const unsigned char *)payload;
	t.payload_len = strlen(payload);
	if (him_put_tiles(h, &t, 1, &m, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "put: %s", why ? why : "?");
	if (id)
		memcpy(id, m.tile_id, HIM_ID_HEX + 1);
	him_tile_meta_release(&m);
	free(why);
}

static struct him_cache_stats stats(struct him *h)
{
	struct him_cache_stats s;

	him_cache_stats(h->cache, &s);
	return s;
}

static void test_stages_covered_tiles(void)
{
	struct him *h = him_test_open("stage");
	static const long box[1][4] = { { 1, 1, 2, 2 } };
	struct him_hint hint = { .query_id = "q1", .snapshot_id = "s", .stream = "notes",
				 .level_max = 0, .level_min = 0, .bboxes = box, .nbboxes = 1,
				 .confidence = 0.8 };
	struct buf payload = BUF_INIT(0), text = BUF_INIT(0);
	struct him_cache_stats s;
	char newest[HIM_ID_HEX + 1], *why = NULL;

	REQUIRE(h);
	him_test_snapshot(h, "s");
	for (long x = 0; x < 4; x++)
		for (long y = 0; y < 4; y++)
			put(h, "s", 0, x, y, "v1", NULL);
	put(h, "s", 1, 1, 1, "coarse", NULL);          /* level outside the hint */
	put(h, "s", 0, 2, 2, "v2", newest);            /* a newer tile at (2, 2) */
	CHECK(him_prefetch_drain(h, 0));               /* nothing queued yet */
	CHECK_EQ(stats(h).entries, 0);
	REQUIRE(him_prefetch(h, &hint, 1, &why) == KITH_OK);
	CHECK(him_prefetch_drain(h, 10000));
	s = stats(h);
	CHECK_EQ(s.entries, 4);
	CHECK_EQ(s.hits + s.misses, 0);                /* staging is not use */
	CHECK(him_cache_contains(h->cache, newest));
	/* a read of a staged tile is a (prefetched) hit, another is a miss */
	CHECK_EQ(him_get_tile(h, "notes", "s", 0, 1, 2, NULL, &payload, &why), KITH_OK);
	CHECK_EQ(him_get_tile(h, "notes", "s", 0, 0, 0, NULL, &payload, &why), KITH_OK);
	s = stats(h);
	CHECK_EQ(s.hits, 1);
	CHECK_EQ(s.prefetched_hits, 1);
	CHECK_EQ(s.misses, 1);
	him_metrics_text(h, &text);
	CHECK_CONTAINS(buf_str(&text), "him_cache_prefetched_hits_total 1\n");
	CHECK_CONTAINS(buf_str(&text), "him_prefetch_requested_total 4\n");
	CHECK_CONTAINS(buf_str(&text), "him_prefetch_coverage 1.0000\n");
	CHECK_CONTAINS(buf_str(&text), "# TYPE him_prefetch_coverage gauge\n");
	buf_release(&text);
	buf_release(&payload);
	him_close(h);
}

static void test_bad_hints(void)
{
	struct him *h = him_test_open("bad");
	static const long box[1][4] = { { 0, 0, 1, 1 } };
	static const long empty[1][4] = { { 0, 0, 0, 1 } };
	struct him_hint hint = { .query_id = "q", .snapshot_id = "s", .stream = "notes",
				 .level_max = 0, .level_min = 0, .bboxes = box, .nbboxes = 1,
				 .confidence = 2 };
	char *why = NULL;

	REQUIRE(h);
	him_test_snapshot(h, "s");
	CHECK_EQ(him_prefetch(h, &hint, 0, &why), KITH_EINVAL);
	free(why);
	why = NULL;
	CHECK_EQ(him_prefetch(h, &hint, 1, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "hints[0].confidence");
	free(why);
	why = NULL;
	hint.confidence = 0.5;
	hint.bboxes = empty;
	CHECK_EQ(him_prefetch(h, &hint, 1, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "hints[0].bboxes[0]");
	free(why);
	why = NULL;
	hint.bboxes = box;
	hint.level_min = 1;
	CHECK_EQ(him_prefetch(h, &hint, 1, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "hints[0].level_range");
	free(why);
	why = NULL;
	hint.level_min = 0;
	hint.snapshot_id = "nope";
	CHECK_EQ(him_prefetch(h, &hint, 1, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	hint.snapshot_id = "../s";
	CHECK_EQ(him_prefetch(h, &hint, 1, &why), KITH_EINVAL);
	free(why);
	him_close(h);
}

struct worker_arg {
	struct him *h;
	int id;
};

static void *client(void *p)
{
	struct worker_arg *a = p;
	long box[1][4] = { { a->id, 0, 1, 4 } };
	struct him_hint hint = { .query_id = "c", .snapshot_id = "s", .stream = "notes",
				 .level_max = 0, .level_min = 0,
				 .bboxes = (const long (*)[4])box, .nbboxes = 1, .confidence = 1 };
	struct him_query q = { .goal = "v1", .snapshot_id = "s", .stream = "notes",
			       .budget_ms = 1000, .max_tiles = 4, .level_max = 0 };

	for (int i = 0; i < 5; i++) {
		char *why = NULL, *plan = NULL;

		if (him_prefetch(a->h, &hint, 1, &why) != KITH_OK ||
		    him_query(a->h, &q, &plan, &why) != KITH_OK)
			test_fail_(__FILE__, __LINE__, "client %d: %s", a->id, why ? why : "?");
		free(plan);
		free(why);
	}
	return NULL;
}

/* Concurrent hints and queries (for ThreadSanitizer), then a close while
 * jobs may still be queued. */
static void test_concurrent_and_close(void)
{
	struct him *h = him_test_open("conc");
	pthread_t t[4];
	struct worker_arg args[4];

	REQUIRE(h);
	him_test_snapshot(h, "s");
	for (long x = 0; x < 4; x++)
		for (long y = 0; y < 4; y++)
			put(h, "s", 0, x, y, "v1", NULL);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){ h, i };
		pthread_create(&t[i], NULL, client, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(him_prefetch_drain(h, -1));
	CHECK_EQ(stats(h).entries, 16);
	client(&args[0]);                 /* queue more and close at once */
	him_close(h);
}

int main(void)
{
	RUN(test_stages_covered_tiles);
	RUN(test_bad_hints);
	RUN(test_concurrent_and_close);
	return test_summary();
}
