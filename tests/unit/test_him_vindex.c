/* test_him_vindex.c — the semantic pyramid (him/vindex*.c).
 *
 * Ground truth is the index's own exact scan (the same int8 kernel), so
 * "the same top 10" is checked hit for hit.  Data are deterministic
 * gaussian clusters.  Crashes are simulated by opening a second store
 * handle on the same directory while the first still holds its delta in
 * RAM (nothing closed, nothing merged): what the second sees is what a
 * restarted process would.  Waiting on the merger polls with a deadline. */
#include "support/test.h"
#include "support/himstore.h"
#include "him/vindex.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DIM 48

static uint64_t rng;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static float gauss(void)
{
	return (float)(sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand()));
}

/* n vectors around nc cluster centres (seeded), plus the centres. */
static float *clustered(size_t n, int nc, uint64_t seed, float **centres)
{
	float *c = xmalloc((size_t)nc * DIM * sizeof(float)), *v = xmalloc(n * DIM * sizeof(float));

	rng = seed;
	for (int i = 0; i < nc * DIM; i++)
		c[i] = gauss();
	for (size_t i = 0; i < n; i++) {
		int k = (int)(urand() * nc);

		for (int d = 0; d < DIM; d++)
			v[i * DIM + d] = c[k * DIM + d] + 0.35f * gauss();
	}
	if (centres)
		*centres = c;
	else
		free(c);
	return v;
}

static struct him_vindex_options opts(const char *model, int dim, bool merger)
{
	struct him_vindex_options o = {
		.stream = "emb", .snapshot_id = "vs", .model = model, .dim = dim,
		.leaf_max = 64, .no_merger = !merger, .merge_interval_ms = 60000,
	};
	return o;
}

static struct him_vindex *vopen(struct him *h, const struct him_vindex_options *o)
{
	struct him_vindex *vi = NULL;
	char *why = NULL;

	if (him_vindex_open(h, o, &vi, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "vindex open: %s", why ? why : "?");
	free(why);
	return vi;
}

static void add_all(struct him_vindex *vi, const float *v, size_t n, int64_t first_id)
{
	int64_t *ids = xmalloc(n * sizeof(*ids));
	char *why = NULL;

	for (size_t i = 0; i < n; i++)
		ids[i] = first_id + (int64_t)i;
	if (him_vindex_add(vi, ids, v, n, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "add: %s", why ? why : "?");
	free(why);
	free(ids);
}

static void flush(struct him_vindex *vi)
{
	char *why = NULL;

	if (him_vindex_flush(vi, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "flush: %s", why ? why : "?");
	free(why);
}

static size_t search(struct him_vindex *vi, const float *q, int k, int max_tiles, double accept,
		     bool exact, struct him_vindex_hit *hits)
{
	struct him_vindex_search s = { .k = k, .max_tiles = max_tiles, .accept = accept,
				       .exact = exact };
	size_t n = 0;
	char *why = NULL;

	if (him_vindex_search(vi, q, &s, hits, &n, NULL, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "search: %s", why ? why : "?");
	free(why);
	return n;
}

static bool has_id(const struct him_vindex_hit *h, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].id == id)
			return true;
	return false;
}

static double recall(const struct him_vindex_hit *truth, size_t nt,
		     const struct him_vindex_hit *got, size_t ng)
{
	size_t found = 0;

	for (size_t i = 0; i < nt; i++)
		found += has_id(got, ng, truth[i].id);
	return nt ? (double)found / (double)nt : 1;
}

/* ---- options ---------------------------------------------------------------- */

static void test_invalid_options(void)
{
	struct him *h = him_test_open("invalid");
	struct him_vindex_options o;
	struct him_vindex *vi = NULL;
	struct him_vindex_hit hits[4];
	struct him_vindex_search s = { .k = 0 };
	float q[8] = { 1 };
	size_t n = 9;
	char *why = NULL;

	REQUIRE(h);
	o = opts("m", 0, false);
	CHECK_EQ(him_vindex_open(h, &o, &vi, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "dimension 0");
	CHECK(!vi);
	free(why), why = NULL;
	o.dim = HIM_VINDEX_MAX_DIM + 1;
	CHECK_EQ(him_vindex_open(h, &o, &vi, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "1..4096");
	free(why), why = NULL;
	o = opts("", 8, false);
	CHECK_EQ(him_vindex_open(h, &o, &vi, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "model");
	free(why), why = NULL;
	o = opts("m", 8, false);
	o.stream = "../etc";
	CHECK_EQ(him_vindex_open(h, &o, &vi, &why), KITH_EINVAL);
	free(why), why = NULL;
	o = opts("m", 8, false);
	o.leaf_max = 100000;
	CHECK_EQ(him_vindex_open(h, &o, &vi, &why), KITH_EINVAL);
	free(why), why = NULL;

	o = opts("m", 8, false);
	vi = vopen(h, &o);
	REQUIRE(vi);
	CHECK_EQ(him_vindex_search(vi, q, &s, hits, &n, NULL, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "k must be");
	CHECK_EQ(n, 0);
	free(why), why = NULL;
	s.k = HIM_VINDEX_MAX_K + 1;
	CHECK_EQ(him_vindex_search(vi, q, &s, hits, &n, NULL, NULL), KITH_EINVAL);
	s.k = 4;
	q[0] = 0;
	CHECK_EQ(him_vindex_search(vi, q, &s, hits, &n, NULL, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "zero");
	free(why), why = NULL;
	q[0] = NAN;
	CHECK_EQ(him_vindex_add(vi, (int64_t[]){ 1 }, q, 1, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "non-finite");
	free(why), why = NULL;
	q[0] = 1;
	/* an empty index answers with nothing */
	CHECK_EQ(him_vindex_search(vi, q, &s, hits, &n, NULL, NULL), KITH_OK);
	CHECK_EQ(n, 0);
	him_vindex_close(vi);
	him_close(h);
}

/* ---- recall ------------------------------------------------------------------- */

static void test_same_top10_as_exact(void)
{
	struct him *h = him_test_open("recall");
	struct him_vindex_options o = opts("m", DIM, false);
	struct him_vindex *vi;
	struct him_vindex_info info;
	float *centres, *v = clustered(2000, 25, 7, &centres), q[DIM];
	double r8 = 0;
	int nq = 60, mismatches = 0;

	REQUIRE(h);
	vi = vopen(h, &o);
	REQUIRE(vi);
	add_all(vi, v, 2000, 1);
	flush(vi);
	him_vindex_info(vi, &info);
	CHECK_EQ(info.vectors, 2000);
	CHECK_EQ(info.delta, 0);
	CHECK(info.leaves >= 2000 / 64);
	CHECK(info.depth >= 2);
	CHECK(info.ram_bytes > 0);
	CHECK_EQ(info.merges, 1);
	for (int i = 0; i < nq; i++) {
		struct him_vindex_hit truth[10], all[10], k8[10];
		size_t nt, na, n8;

		for (int d = 0; d < DIM; d++)
			q[d] = centres[(i % 25) * DIM + d] + 0.35f * gauss();
		nt = search(vi, q, 10, 0, 0, true, truth);
		na = search(vi, q, 10, 100000, 1.0, false, all);
		n8 = search(vi, q, 10, 8, 0, false, k8);
		CHECK_EQ(nt, 10);
		CHECK_EQ(na, 10);
		for (size_t j = 0; j < 10 && na == nt; j++)
			mismatches += truth[j].id != all[j].id || truth[j].score != all[j].score;
		r8 += recall(truth, nt, k8, n8);
	}
	CHECK_EQ(mismatches, 0);
	r8 /= nq;
	if (r8 < 0.9)
		test_fail_(__FILE__, __LINE__, "recall@10 with K=8 is %.3f", r8);
	him_vindex_close(vi);
	him_close(h);
	free(v);
	free(centres);
}

/* The search's statistics, and replaying its leaves with score_tiles. */
static void test_stats_and_score_tiles(void)
{
	struct him *h = him_test_open("stats");
	struct him_vindex_options o = opts("m", DIM, false);
	struct him_vindex *vi;
	float *v = clustered(1500, 10, 11, NULL);
	struct him_vindex_search s = { .k = 10, .max_tiles = 3, .accept = 1 };
	struct him_vindex_stats st;
	struct him_vindex_hit hits[10], again[10];
	size_t n = 0, n2 = 0;
	char bogus[1][HIM_ID_HEX + 1];

	REQUIRE(h);
	vi = vopen(h, &o);
	REQUIRE(vi);
	add_all(vi, v, 1500, 1);
	flush(vi);
	REQUIRE(him_vindex_search(vi, v + 5 * DIM, &s, hits, &n, &st, NULL) == KITH_OK);
	CHECK_EQ(n, 10);
	CHECK_EQ(hits[0].id, 6);                 /* the vector itself */
	CHECK(hits[0].score > 0.99f);
	CHECK_EQ(st.leaf_tiles, 3);
	CHECK(st.budget_hit);
	CHECK(st.top_tiles >= 1);
	CHECK(st.est_recall >= 0 && st.est_recall <= 1);
	CHECK(st.vectors > 0);
	CHECK(st.tile_ids && st.tile_xy);
	REQUIRE(him_vindex_score_tiles(vi, v + 5 * DIM, (const char (*)[HIM_ID_HEX + 1])st.tile_ids,
				       (size_t)st.leaf_tiles, 10, again, &n2, NULL) == KITH_OK);
	CHECK_EQ(n2, n);
	for (size_t i = 0; i < n && i < n2; i++)
		CHECK(again[i].id == hits[i].id && again[i].score == hits[i].score);
	him_vindex_stats_release(&st);
	memset(bogus[0], 'a', HIM_ID_HEX);
	bogus[0][HIM_ID_HEX] = '\0';
	CHECK_EQ(him_vindex_score_tiles(vi, v, (const char (*)[HIM_ID_HEX + 1])bogus, 1, 10,
					again, &n2, NULL),
		 KITH_ENOTFOUND);
	/* a region hint favours the leaves inside it */
	{
		struct him_vindex_search sb = { .k = 10, .max_tiles = 1, .accept = 1 };
		struct him_vindex_stats s1, s2;
		long box[1][4];

		REQUIRE(him_vindex_search(vi, v, &sb, hits, &n, &s1, NULL) == KITH_OK);
		REQUIRE(s1.leaf_tiles == 1);
		/* hint a far-away leaf: the one chosen for another cluster's query */
		REQUIRE(him_vindex_search(vi, v + 700 * DIM, &sb, hits, &n, &s2, NULL) == KITH_OK);
		box[0][0] = s2.tile_xy[0][0];
		box[0][1] = s2.tile_xy[0][1];
		box[0][2] = box[0][3] = 1;
		him_vindex_stats_release(&s2);
		sb.bbox = (const long (*)[4])box;
		sb.nbbox = 1;
		sb.max_tiles = 2;
		REQUIRE(him_vindex_search(vi, v, &sb, hits, &n, &s2, NULL) == KITH_OK);
		CHECK(s2.leaf_tiles >= 1);
		CHECK(s2.leaf_tiles >= 1 && (s2.tile_xy[0][0] == box[0][0] ||
					     s2.tile_xy[s2.leaf_tiles - 1][0] == box[0][0]));
		him_vindex_stats_release(&s1);
		him_vindex_stats_release(&s2);
	}
	him_vindex_close(vi);
	him_close(h);
	free(v);
}

/* A 1536-dimensional index (text-embedding-3-small): tiles, segments and
 * queries follow HIM_VINDEX_MAX_DIM, and the index's top 10 is the exact
 * top 10, across a reopen. */
#define WIDE 1536

static void test_wide_vectors(void)
{
	struct him *h = him_test_open("wide");
	struct him_vindex_options o = opts("text-embedding-3-small", WIDE, false);
	struct him_vindex *vi;
	struct him_vindex_info info;
	size_t n = 400, nc = 8;
	float *c = xmalloc(nc * WIDE * sizeof(float)), *v = xmalloc(n * WIDE * sizeof(float));
	float *q = xmalloc(WIDE * sizeof(float));
	int mismatches = 0;

	REQUIRE(h);
	rng = 0x5151;
	for (size_t i = 0; i < nc * WIDE; i++)
		c[i] = gauss();
	for (size_t i = 0; i < n; i++)
		for (size_t d = 0; d < WIDE; d++)
			v[i * WIDE + d] = c[(i % nc) * WIDE + d] + 0.6f * gauss();
	vi = vopen(h, &o);
	REQUIRE(vi);
	CHECK_EQ(him_vindex_dim(vi), WIDE);
	add_all(vi, v, n / 2, 1);
	flush(vi);
	add_all(vi, v + n / 2 * WIDE, n - n / 2, 1 + (int64_t)(n / 2));   /* an incremental merge */
	flush(vi);
	him_vindex_info(vi, &info);
	CHECK_EQ(info.vectors, n);
	CHECK(info.leaves >= n / 64);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 16; i++) {
			struct him_vindex_hit truth[10], got[10];
			size_t nt, ng;

			for (size_t d = 0; d < WIDE; d++)
				q[d] = c[(i % nc) * WIDE + d] + 0.6f * gauss();
			nt = search(vi, q, 10, 0, 0, true, truth);
			ng = search(vi, q, 10, 100000, 1.0, false, got);
			CHECK_EQ(nt, 10);
			CHECK_EQ(ng, nt);
			for (size_t j = 0; j < 10 && ng == nt; j++)
				mismatches += truth[j].id != got[j].id || truth[j].score != got[j].score;
		}
		/* reopen: the tree comes back from its 1536-d node tiles */
		him_vindex_close(vi);
		vi = vopen(h, &o);
		REQUIRE(vi);
	}
	CHECK_EQ(mismatches, 0);
	him_vindex_close(vi);
	him_close(h);
	free(q);
	free(v);
	free(c);
}

/* ---- freshness, merges ----------------------------------------------------------- */

static void test_fresh_then_merged(void)
{
	struct him *h = him_test_open("fresh");
	struct him_vindex_options o = opts("m", DIM, true);
	struct him_vindex *vi;
	struct him_vindex_info info;
	struct him_vindex_hit hits[5];
	float *v = clustered(600, 6, 3, NULL);
	int64_t deadline;
	size_t n;

	REQUIRE(h);
	o.merge_interval_ms = 50;
	vi = vopen(h, &o);
	REQUIRE(vi);
	add_all(vi, v, 600, 1000);
	/* found at once, whether or not a merge has run */
	n = search(vi, v + 17 * DIM, 5, 0, 0, false, hits);
	CHECK(n == 5 && hits[0].id == 1017);
	deadline = clock_mono_ms() + 10000;
	do
		him_vindex_info(vi, &info);
	while ((info.delta || !info.merges) && clock_mono_ms() < deadline);
	CHECK_EQ(info.delta, 0);
	CHECK(info.merges >= 1);
	CHECK_EQ(info.vectors, 600);
	n = search(vi, v + 17 * DIM, 5, 0, 0, false, hits);
	CHECK(n == 5 && hits[0].id == 1017);
	him_vindex_close(vi);
	him_close(h);
	free(v);
}

static void test_incremental_merge_splits(void)
{
	struct him *h = him_test_open("incr");
	struct him_vindex_options o = opts("m", DIM, false);
	struct him_vindex *vi;
	struct him_vindex_info before, after;
	float *centres, *v = clustered(1000, 8, 5, &centres), *more;
	struct him_vindex_hit hits[10], truth[10];
	size_t n, nt;

	REQUIRE(h);
	vi = vopen(h, &o);
	REQUIRE(vi);
	add_all(vi, v, 1000, 1);
	flush(vi);
	him_vindex_info(vi, &before);
	/* 300 more, all near one centre: its leaves must split */
	more = xmalloc(300 * DIM * sizeof(float));
	for (int i = 0; i < 300; i++)
		for (int d = 0; d < DIM; d++)
			more[i * DIM + d] = centres[d] + 0.35f * gauss();
	add_all(vi, more, 300, 5000);
	flush(vi);
	him_vindex_info(vi, &after);
	CHECK_EQ(after.vectors, 1300);
	CHECK_EQ(after.delta, 0);
	CHECK_EQ(after.merges, 2);
	CHECK(after.leaves > before.leaves);
	for (int i = 0; i < 300; i += 37) {
		nt = search(vi, more + i * DIM, 10, 0, 0, true, truth);
		n = search(vi, more + i * DIM, 10, 100000, 1.0, false, hits);
		CHECK(n == nt && hits[0].id == 5000 + i);
		CHECK(recall(truth, nt, hits, n) == 1.0);
	}
	him_vindex_close(vi);
	him_close(h);
	free(more);
	free(v);
	free(centres);
}

/* ---- restart and crash ------------------------------------------------------------- */

static void test_restart_reloads(void)
{
	struct him *h = him_test_open("restart");
	struct him_vindex_options o = opts("m", DIM, false);
	struct him_vindex *vi;
	struct him_vindex_info a, b;
	float *v = clustered(1200, 12, 9, NULL);
	struct him_vindex_hit h1[10], h2[10];
	size_t n1, n2;

	REQUIRE(h);
	vi = vopen(h, &o);
	REQUIRE(vi);
	add_all(vi, v, 1200, 1);
	flush(vi);
	add_all(vi, v, 10, 9000);                 /* pending at close: merged by close */
	n1 = search(vi, v + 3 * DIM, 10, 8, 0, false, h1);
	him_vindex_info(vi, &a);
	him_vindex_close(vi);
	him_close(h);

	h = him_test_open("restart");
	REQUIRE(h);
	vi = vopen(h, &o);
	REQUIRE(vi);
	him_vindex_info(vi, &b);
	CHECK_EQ(b.vectors, a.vectors);
	CHECK_EQ(b.vectors, 1210);
	CHECK_EQ(b.delta, 0);
	CHECK_EQ(b.merges, 0);                    /* nothing re-added or re-merged */
	n2 = search(vi, v + 3 * DIM, 10, 8, 0, false, h2);
	CHECK_EQ(n1, n2);
	for (size_t i = 0; i < n1 && i < n2; i++)
		CHECK(h1[i].id == h2[i].id && h1[i].score == h2[i].score);
	him_vindex_close(vi);
	him_close(h);
	free(v);
}

static void test_delta_survives_crash(void)
{
	struct him *h = him_test_open("crash"), *h2;
	struct him_vindex_options o = opts("m", DIM, false);
	struct him_vindex *vi, *vi2;
	struct him_vindex_info info;
	float *v = clustered(400, 4, 13, NULL);
	struct him_vindex_hit hits[3];
	int64_t gone = 7;
	size_t n;

	REQUIRE(h);
	vi = vopen(h, &o);
	REQUIRE(vi);
	add_all(vi, v, 300, 1);
	flush(vi);
	add_all(vi, v + 300 * DIM, 100, 301);     /* only in the delta and its segments */
	REQUIRE(him_vindex_remove(vi, &gone, 1, NULL) == KITH_OK);
	/* "restart" while vi still holds everything in RAM, unmerged */
	h2 = him_test_open("crash");
	REQUIRE(h2);
	vi2 = vopen(h2, &o);
	REQUIRE(vi2);
	him_vindex_info(vi2, &info);
	CHECK_EQ(info.delta, 101);
	CHECK_EQ(info.vectors, 399);
	n = search(vi2, v + 350 * DIM, 3, 0, 0, false, hits);
	CHECK(n == 3 && hits[0].id == 351);
	n = search(vi2, v + 6 * DIM, 3, 0, 0, true, hits);
	CHECK(n == 3 && !has_id(hits, n, gone));
	him_vindex_close(vi2);                    /* merges what it found */
	him_close(h2);
	him_vindex_close(vi);
	him_close(h);
	free(v);
}

/* ---- models, removes, replaces ------------------------------------------------------- */

static void test_models_stay_separate(void)
{
	struct him *h = him_test_open("models");
	struct him_vindex_options oa = opts("model-a", DIM, false), ob = opts("model-b", DIM, false),
				  oc = opts("model-a", 16, false);
	struct him_vindex *a, *b, *c;
	struct him_vindex_info ia, ib, ic;
	float *v = clustered(200, 3, 17, NULL);
	struct him_vindex_hit hits[3];

	REQUIRE(h);
	a = vopen(h, &oa);
	b = vopen(h, &ob);
	REQUIRE(a && b);
	CHECK(strcmp(him_vindex_stream(a), him_vindex_stream(b)) != 0);
	CHECK(strncmp(him_vindex_stream(a), "emb.", 4) == 0);
	CHECK_EQ(strlen(him_vindex_stream(a)), 12);
	CHECK_STR(him_vindex_model(b), "model-b");
	CHECK_EQ(him_vindex_dim(a), DIM);
	add_all(a, v, 100, 1);
	add_all(b, v + 100 * DIM, 100, 1001);
	flush(a);
	flush(b);
	CHECK_EQ(search(b, v, 3, 0, 0, true, hits), 3);
	CHECK(hits[0].id > 1000);
	CHECK_EQ(search(a, v + 150 * DIM, 3, 0, 0, true, hits), 3);
	CHECK(hits[0].id <= 100);
	/* the same model at another dimension is another index, empty */
	c = vopen(h, &oc);
	REQUIRE(c);
	CHECK(strcmp(him_vindex_stream(a), him_vindex_stream(c)) != 0);
	him_vindex_info(a, &ia);
	him_vindex_info(b, &ib);
	him_vindex_info(c, &ic);
	CHECK_EQ(ia.vectors, 100);
	CHECK_EQ(ib.vectors, 100);
	CHECK_EQ(ic.vectors, 0);
	him_vindex_close(a);
	him_vindex_close(b);
	him_vindex_close(c);
	him_close(h);
	free(v);
}

static void test_remove_and_replace(void)
{
	struct him *h = him_test_open("remove");
	struct him_vindex_options o = opts("m", DIM, false);
	struct him_vindex *vi;
	struct him_vindex_info info;
	float *v = clustered(800, 8, 19, NULL);
	struct him_vindex_hit hits[5];
	int64_t ids[] = { 10, 20, 30, 9999 }, pending = 801;
	size_t n;

	REQUIRE(h);
	vi = vopen(h, &o);
	REQUIRE(vi);
	add_all(vi, v, 800, 1);
	flush(vi);
	add_all(vi, v + 5 * DIM, 1, pending);     /* a copy of id 6, only in the delta */
	REQUIRE(him_vindex_remove(vi, ids, 4, NULL) == KITH_OK);
	REQUIRE(him_vindex_remove(vi, &pending, 1, NULL) == KITH_OK);
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < 3; i++) {
			n = search(vi, v + (ids[i] - 1) * DIM, 5, 0, 0, false, hits);
			CHECK(n == 5 && !has_id(hits, n, ids[i]));
			n = search(vi, v + (ids[i] - 1) * DIM, 5, 0, 0, true, hits);
			CHECK(n == 5 && !has_id(hits, n, ids[i]));
		}
		n = search(vi, v + 5 * DIM, 5, 0, 0, false, hits);
		CHECK(!has_id(hits, n, pending));
		him_vindex_info(vi, &info);
		CHECK_EQ(info.vectors, 797);
		if (pass == 0) {
			flush(vi);
		} else if (pass == 1) {
			him_vindex_close(vi);
			vi = vopen(h, &o);
			REQUIRE(vi);
		}
	}
	/* re-adding an id replaces its vector, before and after a merge */
	add_all(vi, v + 700 * DIM, 1, 40);
	n = search(vi, v + 700 * DIM, 2, 0, 0, true, hits);
	CHECK(n == 2 && (hits[0].id == 40 || hits[0].id == 701) && hits[0].score > 0.99f);
	n = search(vi, v + 39 * DIM, 5, 0, 0, true, hits);
	CHECK(!has_id(hits, n, 40) || hits[0].id != 40);
	flush(vi);
	him_vindex_info(vi, &info);
	CHECK_EQ(info.vectors, 797);
	n = search(vi, v + 700 * DIM, 2, 0, 0, true, hits);
	CHECK(n == 2 && has_id(hits, n, 40) && has_id(hits, n, 701));
	/* remove everything: an empty index */
	{
		int64_t *all = xmalloc(900 * sizeof(*all));

		for (int i = 0; i < 900; i++)
			all[i] = i;
		REQUIRE(him_vindex_remove(vi, all, 900, NULL) == KITH_OK);
		flush(vi);
		him_vindex_info(vi, &info);
		CHECK_EQ(info.vectors, 0);
		CHECK_EQ(info.leaves, 0);
		CHECK_EQ(search(vi, v, 5, 0, 0, false, hits), 0);
		free(all);
	}
	him_vindex_close(vi);
	him_close(h);
	free(v);
}

/* ---- concurrency --------------------------------------------------------------------- */

struct adder {
	struct him_vindex *vi;
	const float *v;
	int64_t first;
	int batches;
};

static void *adder_main(void *arg)
{
	struct adder *a = arg;

	for (int b = 0; b < a->batches; b++)
		add_all(a->vi, a->v + (size_t)b * 50 * DIM, 50, a->first + b * 50);
	return NULL;
}

static void test_concurrent_adds_searches_merges(void)
{
	struct him *h = him_test_open("conc");
	struct him_vindex_options o = opts("m", DIM, true);
	struct him_vindex *vi;
	struct him_vindex_info info;
	float *v = clustered(2000, 10, 23, NULL);
	struct adder ad[2];
	pthread_t th[2];
	struct him_vindex_hit hits[10];
	int64_t deadline;

	REQUIRE(h);
	o.merge_interval_ms = 20;
	o.delta_max = 200;
	vi = vopen(h, &o);
	REQUIRE(vi);
	for (int i = 0; i < 2; i++) {
		ad[i] = (struct adder){ vi, v + (size_t)i * 1000 * DIM, 1 + i * 1000, 20 };
		pthread_create(&th[i], NULL, adder_main, &ad[i]);
	}
	for (int i = 0; i < 200; i++)
		(void)search(vi, v + (size_t)(i * 7 % 2000) * DIM, 10, 4, 0, false, hits);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	deadline = clock_mono_ms() + 20000;
	do
		him_vindex_info(vi, &info);
	while (info.delta && clock_mono_ms() < deadline);
	CHECK_EQ(info.delta, 0);
	CHECK_EQ(info.vectors, 2000);
	for (int i = 0; i < 2000; i += 111) {
		size_t n = search(vi, v + (size_t)i * DIM, 10, 0, 0, true, hits);

		CHECK(n == 10 && hits[0].id == i + 1);
	}
	him_vindex_close(vi);
	him_close(h);
	free(v);
}

int main(void)
{
	RUN(test_invalid_options);
	RUN(test_same_top10_as_exact);
	RUN(test_stats_and_score_tiles);
	RUN(test_wide_vectors);
	RUN(test_fresh_then_merged);
	RUN(test_incremental_merge_splits);
	RUN(test_restart_reloads);
	RUN(test_delta_survives_crash);
	RUN(test_models_stay_separate);
	RUN(test_remove_and_replace);
	RUN(test_concurrent_adds_searches_merges);
	return test_summary();
}
