/* test_him_names.c — names, tile ids, paths and FTS query sanitising. */
#include "support/test.h"
#include "him/him_int.h"
#include "him/blake3.h"
#include "core/alloc.h"

#include <stdlib.h>

static bool name_ok(const char *s)
{
	char *why = NULL;
	enum kith_status rc = him_check_name("stream", s, &why);

	if (rc)
		CHECK(why != NULL);
	free(why);
	return rc == KITH_OK;
}

static void test_valid_names(void)
{
	char max[HIM_NAME_MAX + 1];

	memset(max, 'a', HIM_NAME_MAX);
	max[HIM_NAME_MAX] = '\0';
	CHECK(name_ok("kv_cache"));
	CHECK(name_ok("snp_01HZX-abc.v2"));
	CHECK(name_ok("a"));
	CHECK(name_ok("A9"));
	CHECK(name_ok(max));
	CHECK(name_ok("x.y"));
}

static void test_rejected_names(void)
{
	char long_name[HIM_NAME_MAX + 2];

	memset(long_name, 'a', HIM_NAME_MAX + 1);
	long_name[HIM_NAME_MAX + 1] = '\0';
	CHECK(!name_ok(NULL));
	CHECK(!name_ok(""));
	CHECK(!name_ok(".."));
	CHECK(!name_ok("."));
	CHECK(!name_ok("a..b"));
	CHECK(!name_ok("../etc"));
	CHECK(!name_ok("a/b"));
	CHECK(!name_ok("/abs"));
	CHECK(!name_ok("a\\b"));
	CHECK(!name_ok("a|b"));
	CHECK(!name_ok(".hidden"));
	CHECK(!name_ok(long_name));
	CHECK(!name_ok("sp ace"));
	CHECK(!name_ok("new\nline"));
	CHECK(!name_ok("caf\xc3\xa9"));
	CHECK(!name_ok("a%2fb"));
}

static void test_why_names_the_field(void)
{
	char *why = NULL;

	CHECK_EQ(him_check_name("snapshot_id", "a/b", &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "snapshot_id");
	free(why);
}

static void test_is_tile_id(void)
{
	CHECK(him_is_tile_id("180dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d4"));
	CHECK(!him_is_tile_id("180DFF56394E6F9E81150BA5D64245A9B3FC755D1834133A181860DE472766D4"));
	CHECK(!him_is_tile_id("180dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d"));
	CHECK(!him_is_tile_id("180dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d44"));
	CHECK(!him_is_tile_id("g80dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d4"));
	CHECK(!him_is_tile_id(""));
	CHECK(!him_is_tile_id(NULL));
}

static void test_golden_ids(void)
{
	char id[HIM_ID_HEX + 1], sum[HIM_ID_HEX + 1];
	char *rel;

	him_tile_id("kv_cache", "snp_test", 0, 0, 0, "tile-bytes", 10, id);
	CHECK_STR(id, "180dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d4");
	blake3_hex("tile-bytes", 10, sum);
	CHECK_STR(sum, "8abed9499c216fa4134eccbfcee024a8c073d83d787eb5cc1a2bf2c239acdca7");
	rel = him_tile_relpath("kv_cache", "snp_test", 0, 0, 0, id);
	CHECK_STR(rel, "kv_cache/snp_test/0/0/0/180dff56394e");
	free(rel);

	/* the id is blake3 of exactly this preimage */
	blake3_hex("kv_cache|snp_test|0|0|0|tile-bytes", 34, sum);
	CHECK_STR(sum, id);
	him_tile_id("kv_cache", "snp_tiles", 1, 2, 3, "bytes", 5, id);
	blake3_hex("kv_cache|snp_tiles|1|2|3|bytes", 30, sum);
	CHECK_STR(id, sum);
}

static void test_distinct_coordinates(void)
{
	char a[HIM_ID_HEX + 1], b[HIM_ID_HEX + 1];

	/* the reference code's concatenation made these collide */
	him_tile_id("ab", "c", 0, 0, 0, "p", 1, a);
	him_tile_id("a", "bc", 0, 0, 0, "p", 1, b);
	CHECK(strcmp(a, b) != 0);
	him_tile_id("s", "snap", 1, 12, 3, "p", 1, a);
	him_tile_id("s", "snap", 11, 2, 3, "p", 1, b);
	CHECK(strcmp(a, b) != 0);
	him_tile_id("s", "snap", 1, 1, 23, "p", 1, a);
	him_tile_id("s", "snap", 1, 12, 3, "p", 1, b);
	CHECK(strcmp(a, b) != 0);
	/* payload bytes may contain '|' without ambiguity: fields come first */
	him_tile_id("s", "snap", 0, 0, 1, "|p", 2, a);
	him_tile_id("s", "snap", 0, 0, 1, "p", 1, b);
	CHECK(strcmp(a, b) != 0);
	/* empty payload is allowed */
	him_tile_id("s", "snap", 0, 0, 0, NULL, 0, a);
	CHECK(him_is_tile_id(a));
}

static char *fts(const char *goal, int *ntok)
{
	struct buf q = BUF_INIT(0);

	*ntok = him_fts_query(goal, &q);
	return buf_detach(&q);
}

static void test_fts_query_sanitised(void)
{
	int n;
	char *q;

	q = fts("find the Submit button", &n);
	CHECK_EQ(n, 4);
	CHECK_STR(q, "\"find\" OR \"the\" OR \"Submit\" OR \"button\"");
	free(q);
	q = fts("\"quoted\" AND NOT x* OR col:val NEAR(a b) ^start", &n);
	CHECK_STR(q, "\"quoted\" OR \"AND\" OR \"NOT\" OR \"x\" OR \"OR\" OR \"col\" OR \"val\""
		     " OR \"NEAR\" OR \"a\" OR \"b\" OR \"start\"");
	free(q);
	q = fts("\"\"\" ** () :: --", &n);
	CHECK_EQ(n, 0);
	free(q);
	q = fts("caf\xc3\xa9 \xff\xfe bad", &n);
	CHECK_EQ(n, 2);
	CHECK_STR(q, "\"caf\xc3\xa9\" OR \"bad\"");
	free(q);
}

int main(void)
{
	RUN(test_valid_names);
	RUN(test_rejected_names);
	RUN(test_why_names_the_field);
	RUN(test_is_tile_id);
	RUN(test_golden_ids);
	RUN(test_distinct_coordinates);
	RUN(test_fts_query_sanitised);
	return test_summary();
}
