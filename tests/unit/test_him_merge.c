/* test_him_merge.c — snapshot merges: LWW per coordinate, untouched
 * coordinates carried, manual conflicts, the merged snapshot's parents,
 * tags and provenance, and tiles that read back with valid checksums. */
#include "support/test.h"
#include "support/himstore.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "him/blake3.h"
#include "him/him_int.h"

#include <stdlib.h>
#include <string.h>

static void snapshot(struct him *h, const char *id, const char *model)
{
	struct him_snapshot in = { 0 }, out = { 0 };
	char *why = NULL;

	in.snapshot_id = (char *)id;
	in.provenance = json_pack("{s:s, s:s}", "model", model, "code_sha", "c0ffee");
	if (him_snapshot_create(h, &in, &out, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "snapshot %s: %s", id, why ? why : "?");
	json_decref(in.provenance);
	him_snapshot_release(&out);
	free(why);
}

static void put(struct him *h, const char *snap, long x, long y, const char *payload,
		const char *tags, bool critical)
{
	struct him_tile_in t = { .stream = "notes", .snapshot_id = snap, .level = 0, .x = x, .y = y,
				 .shape = { 1, 1, 1 }, .dtype = "text/plain", .halo = -1,
				 .payload = (const unsigned char *)payload,
				 .payload_len = strlen(payload), .tags = tags, .critical = critical };
	char *why = NULL;

	if (him_put_tiles(h, &t, 1, NULL, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "put: %s", why ? why : "?");
	free(why);
}

/* The payload at (x, y) of a snapshot, checksum verified by the read. */
static char *read_at(struct him *h, const char *snap, long x, long y, struct him_tile_meta *m)
{
	struct buf b = BUF_INIT(0);
	char *why = NULL, sum[2 * BLAKE3_OUT_LEN + 1];

	if (him_get_tile(h, "notes", snap, 0, x, y, m, &b, &why) != KITH_OK) {
		free(why);
		buf_release(&b);
		return NULL;
	}
	blake3_hex(buf_str(&b), b.len, sum);
	if (strcmp(sum, m->checksum) != 0)
		test_fail_(__FILE__, __LINE__, "checksum of %s (%ld,%ld)", snap, x, y);
	return buf_detach(&b);
}

static void check_at(struct him *h, const char *snap, long x, long y, const char *want)
{
	struct him_tile_meta m;
	char *got = read_at(h, snap, x, y, &m);

	if (!got || strcmp(got, want) != 0)
		test_fail_(__FILE__, __LINE__, "%s (%ld,%ld): \"%s\", want \"%s\"", snap, x, y,
			   got ? got : "(none)", want);
	free(got);
	him_tile_meta_release(&m);
}

static void count_problem(const char *line, void *ud)
{
	(void)line;
	(*(size_t *)ud)++;
}

static void test_lww(void)
{
	struct him *h = him_test_open("lww");
	const char *with[] = { "b" };
	struct him_merge_result r;
	struct him_snapshot s;
	struct him_tile_meta m;
	struct him_row src, dst;
	size_t problems = 0, reported = 0;
	sqlite3 *db;
	char *why = NULL, *p;

	REQUIRE(h);
	snapshot(h, "a", "model-a");
	snapshot(h, "b", "model-b");
	put(h, "a", 0, 0, "a: first", NULL, false);
	put(h, "a", 0, 1, "a only", "orchard", true);
	put(h, "b", 0, 0, "b: later", NULL, false);      /* newer Lamport time */
	put(h, "b", 1, 1, "b only", NULL, false);
	REQUIRE(him_merge(h, "a", with, 1, NULL, NULL, &r, &why) == KITH_OK);
	CHECK(strncmp(r.snapshot_id, "snp_merge_", 10) == 0 && strlen(r.snapshot_id) == 26);
	CHECK_EQ(r.tiles, 3);
	CHECK_EQ(r.resolved, 1);
	CHECK(r.conflicts == NULL);
	check_at(h, r.snapshot_id, 0, 0, "b: later");
	check_at(h, r.snapshot_id, 0, 1, "a only");
	check_at(h, r.snapshot_id, 1, 1, "b only");
	/* parents, tags, provenance */
	REQUIRE(him_snapshot_get(h, r.snapshot_id, &s, &why) == KITH_OK);
	REQUIRE(s.nparents == 2);
	CHECK_STR(s.parents[0], "a");
	CHECK_STR(s.parents[1], "b");
	CHECK_STR(json_string_value(json_object_get(s.tags, "merged_from")), "a,b");
	CHECK_STR(json_string_value(json_object_get(s.provenance, "model")), "model-a");
	CHECK_STR(s.merge_policy, "lww");
	him_snapshot_release(&s);
	/* a merged tile is a child of its source, with its Lamport time and flags */
	p = read_at(h, r.snapshot_id, 0, 1, &m);
	db = him_db_acquire(h);
	REQUIRE(him_row_at(db, "notes", "a", 0, 0, 1, &src, &why) == KITH_OK);
	REQUIRE(him_row_at(db, "notes", r.snapshot_id, 0, 0, 1, &dst, &why) == KITH_OK);
	CHECK_STR(m.parent_tile_id, src.meta.tile_id);
	CHECK_EQ(dst.lamport, src.lamport);
	CHECK(dst.critical);
	CHECK_STR(dst.meta.checksum, src.meta.checksum);
	him_row_release(&src);
	him_row_release(&dst);
	him_db_release(h, db);
	him_tile_meta_release(&m);
	free(p);
	/* the same merge again (in any order) names the same snapshot */
	him_merge_result_release(&r);
	CHECK_EQ(him_merge(h, "b", (const char *[]){ "a" }, 1, NULL, NULL, &r, &why), KITH_EEXIST);
	free(why);
	why = NULL;
	/* a later write to a wins in the next merge; tags survive the merge */
	put(h, "a", 0, 0, "a: newest", NULL, false);
	REQUIRE(him_merge(h, "a", with, 1, "m2", "lww", &r, &why) == KITH_OK);
	CHECK_STR(r.snapshot_id, "m2");
	check_at(h, "m2", 0, 0, "a: newest");
	p = NULL;
	{
		struct him_query q = { .goal = "orchard", .snapshot_id = "m2", .stream = "notes",
				       .budget_ms = 100, .max_tiles = 8 };

		REQUIRE(him_query(h, &q, &p, &why) == KITH_OK);
		CHECK_CONTAINS(p, "\"x\":0,\"y\":1}]");
		CHECK_CONTAINS(p, "\"acceptance\":1.0");
		free(p);
	}
	him_merge_result_release(&r);
	CHECK_EQ(him_fsck(h, count_problem, &reported, &problems, &why), KITH_OK);
	CHECK_EQ(problems, 0);
	CHECK_EQ(reported, 0);
	him_close(h);
}

static void test_manual(void)
{
	struct him *h = him_test_open("manual");
	const char *with[] = { "b" };
	struct him_merge_result r;
	struct him_snapshot s;
	json_t *c;
	char *why = NULL;

	REQUIRE(h);
	snapshot(h, "a", "m");
	snapshot(h, "b", "m");
	snapshot(h, "c", "m");
	put(h, "a", 0, 0, "same", NULL, false);
	put(h, "b", 0, 0, "same", NULL, false);           /* equal payloads: no conflict */
	put(h, "a", 2, 3, "mine", NULL, false);
	put(h, "b", 2, 3, "theirs", NULL, false);
	put(h, "c", 5, 5, "elsewhere", NULL, false);
	CHECK_EQ(him_merge(h, "a", with, 1, "mm", "manual", &r, &why), KITH_ECONFLICT);
	CHECK_CONTAINS(why, "conflict");
	REQUIRE(r.conflicts != NULL);
	REQUIRE(json_array_size(r.conflicts) == 1);
	c = json_array_get(r.conflicts, 0);
	CHECK_STR(json_string_value(json_object_get(c, "stream")), "notes");
	CHECK_EQ(json_integer_value(json_object_get(c, "x")), 2);
	CHECK_EQ(json_integer_value(json_object_get(c, "y")), 3);
	CHECK_EQ(json_array_size(json_object_get(c, "tiles")), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(c, "tiles"), 1),
						    "snapshot_id")), "b");
	free(why);
	why = NULL;
	him_merge_result_release(&r);
	CHECK_EQ(him_snapshot_get(h, "mm", &s, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	/* no differing coordinates: a manual merge goes through */
	CHECK_EQ(him_merge(h, "a", (const char *[]){ "c" }, 1, "ac", "manual", &r, &why), KITH_OK);
	CHECK_EQ(r.tiles, 3);
	CHECK_EQ(r.resolved, 0);
	check_at(h, "ac", 5, 5, "elsewhere");
	him_merge_result_release(&r);
	him_close(h);
}

static void test_errors(void)
{
	struct him *h = him_test_open("errors");
	struct him_merge_result r;
	char *why = NULL;

	REQUIRE(h);
	snapshot(h, "a", "m");
	snapshot(h, "b", "m");
	snapshot(h, "taken", "m");
	CHECK_EQ(him_merge(h, "a", (const char *[]){ "zz" }, 1, NULL, NULL, &r, &why),
		 KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(him_merge(h, "zz", (const char *[]){ "a" }, 1, NULL, NULL, &r, &why),
		 KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(him_merge(h, "a", (const char *[]){ "a" }, 1, NULL, NULL, &r, &why), KITH_EINVAL);
	free(why);
	why = NULL;
	CHECK_EQ(him_merge(h, "a", NULL, 0, NULL, NULL, &r, &why), KITH_EINVAL);
	free(why);
	why = NULL;
	CHECK_EQ(him_merge(h, "a", (const char *[]){ "b" }, 1, "taken", NULL, &r, &why),
		 KITH_EEXIST);
	free(why);
	why = NULL;
	CHECK_EQ(him_merge(h, "a", (const char *[]){ "b" }, 1, NULL, "crdt", &r, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "merge_policy");
	free(why);
	him_close(h);
}

int main(void)
{
	RUN(test_lww);
	RUN(test_manual);
	RUN(test_errors);
	return test_summary();
}
