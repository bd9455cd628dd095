/* test_him_wire.c — HIM request bodies: good bodies parse with defaults, and
 * every validation error names its field (and index). */
#include "support/test.h"
#include "core/alloc.h"
#include "him/wire.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

#define TILE_OK "\"stream\":\"notes\",\"snapshot_id\":\"snp_a\",\"level\":1,\"x\":2,\"y\":3," \
	"\"shape\":[1,1,1],\"dtype\":\"text/plain\""

struct bad_case {
	const char *body;
	const char *why;   /* substring of the error */
};

static void test_tiles_good(void)
{
	const char *body =
		"[{" TILE_OK ",\"payload\":{\"bytes_b64\":\"aGVsbG8=\"},\"halo\":16,"
		"\"tags\":\"red apple\",\"critical\":true},"
		"{\"stream\":\"emb\",\"snapshot_id\":\"snp_b\",\"level\":0,\"x\":0,\"y\":0,"
		"\"shape\":[2,2,1],\"dtype\":\"fp16\",\"payload\":\"AAEC\",\"halo\":null,"
		"\"parent_tile_id\":\"" "0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef" "\",\"unknown\":1}]";
	struct him_wire_tiles t;
	char *why = NULL;

	REQUIRE(him_wire_parse_tiles(body, strlen(body), &t, &why) == KITH_OK);
	REQUIRE(t.n == 2);
	CHECK_STR(t.recs[0].stream, "notes");
	CHECK_EQ(t.recs[0].level, 1);
	CHECK_EQ(t.recs[0].x, 2);
	CHECK_EQ(t.recs[0].y, 3);
	CHECK_EQ(t.recs[0].payload_len, 5);
	CHECK(memcmp(t.recs[0].payload, "hello", 5) == 0);
	CHECK_EQ(t.recs[0].halo, 16);
	CHECK_STR(t.recs[0].tags, "red apple");
	CHECK(t.recs[0].critical);
	CHECK(t.recs[0].parent_tile_id == NULL);
	CHECK(t.recs[0].signature == NULL);
	CHECK_EQ(t.recs[1].payload_len, 3);
	CHECK_EQ(t.recs[1].halo, -1);
	CHECK_EQ(t.recs[1].shape[1], 2);
	CHECK(t.recs[1].parent_tile_id != NULL);
	CHECK(!t.recs[1].critical);
	him_wire_tiles_release(&t);
}

static void test_tiles_signature(void)
{
	char sig[89], body[512];
	unsigned char raw[64];
	struct him_wire_tiles t;
	char *why = NULL;

	memset(raw, 7, sizeof(raw));
	sodium_bin2base64(sig, sizeof(sig), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	snprintf(body, sizeof(body), "[{" TILE_OK ",\"payload\":\"\",\"signature\":\"%s\"}]", sig);
	REQUIRE(him_wire_parse_tiles(body, strlen(body), &t, &why) == KITH_OK);
	REQUIRE(t.recs[0].signature != NULL);
	CHECK(memcmp(t.recs[0].signature, raw, 64) == 0);
	CHECK_EQ(t.recs[0].payload_len, 0);
	him_wire_tiles_release(&t);
}

static const struct bad_case tile_cases[] = {
	{ "", "body: invalid JSON" },
	{ "[{", "body: invalid JSON" },
	{ "{}", "records: expected a JSON array" },
	{ "[]", "records: must not be empty" },
	{ "[1]", "records[0]: expected an object" },
	{ "[{" TILE_OK ",\"level\":1,\"payload\":\"\"}]", "body: invalid JSON" },  /* dup key */
	{ "[{\"snapshot_id\":\"a\"}]", "records[0].stream: is required" },
	{ "[{\"stream\":\"../x\",\"snapshot_id\":\"a\"}]", "records[0].stream" },
	{ "[{\"stream\":\"s\"}]", "records[0].snapshot_id: is required" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":32}]",
	  "records[0].level: expected an integer between 0 and 31" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":2.0}]",
	  "records[0].level: expected an integer between 0 and 31" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":\"2\"}]", "records[0].level" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":0,\"x\":-1}]", "records[0].x" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":0,\"x\":0}]",
	  "records[0].y: is required" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":0,\"x\":0,\"y\":0,\"shape\":[1,1]}]",
	  "records[0].shape: expected an array of 3 integers" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":0,\"x\":0,\"y\":0,"
	  "\"shape\":[1,1,-1]}]", "records[0].shape[2]" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":0,\"x\":0,\"y\":0,"
	  "\"shape\":[1,1,1]}]", "records[0].dtype: is required" },
	{ "[{" TILE_OK "}]", "records[0].payload: is required" },
	{ "[{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":0,\"x\":0,\"y\":0,"
	  "\"shape\":[1,1,1],\"dtype\":\"fp 16\"}]", "records[0].dtype: expected printable" },
	{ "[{" TILE_OK ",\"payload\":5}]", "records[0].payload: expected" },
	{ "[{" TILE_OK ",\"payload\":{\"bytes_b64\":\"!!!\"}}]",
	  "records[0].payload.bytes_b64: invalid base64" },
	{ "[{" TILE_OK ",\"payload\":{}}]", "records[0].payload.bytes_b64: is required" },
	{ "[{" TILE_OK ",\"payload\":\"\",\"halo\":8}]", "records[0].halo" },
	{ "[{" TILE_OK ",\"payload\":\"\",\"parent_tile_id\":\"abc\"}]",
	  "records[0].parent_tile_id" },
	{ "[{" TILE_OK ",\"payload\":\"\",\"signature\":\"AAAA\"}]", "records[0].signature" },
	{ "[{" TILE_OK ",\"payload\":\"\",\"critical\":\"yes\"}]", "records[0].critical" },
	{ "[{" TILE_OK ",\"payload\":\"\",\"tags\":7}]", "records[0].tags: expected a string" },
	{ "[{" TILE_OK ",\"payload\":\"\"},{" TILE_OK ",\"payload\":\"\",\"level\":-1}]",
	  "body: invalid JSON" },
	{ "[{" TILE_OK ",\"payload\":\"\"},{\"stream\":\"s\",\"snapshot_id\":\"a\",\"level\":99}]",
	  "records[1].level: expected an integer between 0 and 31" },
};

static void run_bad(const char *kind, const struct bad_case *cases, size_t n,
		    enum kith_status (*parse)(const char *, size_t, char **))
{
	for (size_t i = 0; i < n; i++) {
		char *why = NULL;
		enum kith_status st = parse(cases[i].body, strlen(cases[i].body), &why);

		if (st != KITH_EINVAL || !why || !strstr(why, cases[i].why))
			test_fail_(__FILE__, __LINE__, "%s case %zu (%s): status %d, why \"%s\", "
				   "want \"%s\"", kind, i, cases[i].body, st, why ? why : "(null)",
				   cases[i].why);
		free(why);
	}
}

static enum kith_status parse_tiles(const char *b, size_t n, char **why)
{
	struct him_wire_tiles t;
	enum kith_status st = him_wire_parse_tiles(b, n, &t, why);

	him_wire_tiles_release(&t);
	return st;
}

static void test_tiles_bad(void)
{
	run_bad("tiles", tile_cases, sizeof(tile_cases) / sizeof(tile_cases[0]), parse_tiles);
}

static void test_query(void)
{
	const char *min = "{\"goal\":\"find submit\",\"snapshot_id\":\"snp_a\",\"budget_ms\":150}";
	const char *full = "{\"goal\":\"g\",\"snapshot_id\":\"s\",\"stream\":\"emb\",\"budget_ms\":5,"
			   "\"max_tiles\":32,\"level_range\":[4,1]}";
	struct him_wire_query q;
	char *why = NULL;

	REQUIRE(him_wire_parse_query(min, strlen(min), &q, &why) == KITH_OK);
	CHECK_STR(q.q.goal, "find submit");
	CHECK_STR(q.q.snapshot_id, "snp_a");
	CHECK_STR(q.q.stream, "kv_cache");
	CHECK_EQ(q.q.budget_ms, 150);
	CHECK_EQ(q.q.max_tiles, 8);
	CHECK_EQ(q.q.level_max, 2);
	CHECK_EQ(q.q.level_min, 0);
	him_wire_query_release(&q);
	REQUIRE(him_wire_parse_query(full, strlen(full), &q, &why) == KITH_OK);
	CHECK_STR(q.q.stream, "emb");
	CHECK_EQ(q.q.max_tiles, 32);
	CHECK_EQ(q.q.level_max, 4);
	CHECK_EQ(q.q.level_min, 1);
	him_wire_query_release(&q);
}

#define Q "\"goal\":\"g\",\"snapshot_id\":\"s\""
static const struct bad_case query_cases[] = {
	{ "[]", "body: expected an object" },
	{ "{\"snapshot_id\":\"s\",\"budget_ms\":1}", "goal: is required" },
	{ "{\"goal\":3,\"snapshot_id\":\"s\",\"budget_ms\":1}", "goal: expected a string" },
	{ "{\"goal\":\"g\",\"budget_ms\":1}", "snapshot_id: is required" },
	{ "{\"goal\":\"g\",\"snapshot_id\":\"a/b\",\"budget_ms\":1}", "snapshot_id" },
	{ "{" Q "}", "budget_ms: is required" },
	{ "{" Q ",\"budget_ms\":0}", "budget_ms: expected an integer between 1" },
	{ "{" Q ",\"budget_ms\":-5}", "budget_ms" },
	{ "{" Q ",\"budget_ms\":1,\"max_tiles\":0}", "max_tiles: expected an integer between 1 and 32" },
	{ "{" Q ",\"budget_ms\":1,\"max_tiles\":33}", "max_tiles" },
	{ "{" Q ",\"budget_ms\":1,\"level_range\":[0,2]}", "level_range: max_level must be >= min" },
	{ "{" Q ",\"budget_ms\":1,\"level_range\":[2]}", "level_range: expected [max_level" },
	{ "{" Q ",\"budget_ms\":1,\"level_range\":[40,0]}", "level_range: expected two integers" },
	{ "{" Q ",\"budget_ms\":1,\"stream\":\"..\"}", "stream" },
};

static enum kith_status parse_query(const char *b, size_t n, char **why)
{
	struct him_wire_query q;
	enum kith_status st = him_wire_parse_query(b, n, &q, why);

	him_wire_query_release(&q);
	return st;
}

static void test_query_bad(void)
{
	run_bad("query", query_cases, sizeof(query_cases) / sizeof(query_cases[0]), parse_query);
}

static void test_hints(void)
{
	const char *body = "[{\"query_id\":\"q1\",\"snapshot_id\":\"s\",\"stream\":\"kv_cache\","
			   "\"level_range\":[2,0],\"bboxes\":[[1,2,3,4],[5,6,1,1]],\"confidence\":0.8},"
			   "{\"query_id\":\"q2\",\"snapshot_id\":\"t\",\"bboxes\":[[0,0,1,1]],"
			   "\"confidence\":1}]";
	struct him_wire_hints h;
	char *why = NULL;

	REQUIRE(him_wire_parse_hints(body, strlen(body), &h, &why) == KITH_OK);
	REQUIRE(h.n == 2);
	CHECK_STR(h.hints[0].query_id, "q1");
	CHECK_EQ(h.hints[0].nbboxes, 2);
	CHECK_EQ(h.hints[0].bboxes[1][0], 5);
	CHECK_EQ(h.hints[0].bboxes[0][3], 4);
	CHECK(h.hints[0].confidence > 0.79 && h.hints[0].confidence < 0.81);
	CHECK_STR(h.hints[1].stream, "kv_cache");
	CHECK_EQ(h.hints[1].level_max, 2);
	CHECK_EQ(h.hints[1].nbboxes, 1);
	CHECK_EQ(h.hints[1].bboxes[0][2], 1);
	him_wire_hints_release(&h);
}

#define H "\"query_id\":\"q\",\"snapshot_id\":\"s\""
static const struct bad_case hint_cases[] = {
	{ "[]", "hints: must not be empty" },
	{ "{}", "hints: expected a JSON array" },
	{ "[{\"snapshot_id\":\"s\"}]", "hints[0].query_id: is required" },
	{ "[{" H ",\"bboxes\":[[0,0,1,1]],\"confidence\":1},{\"query_id\":\"\"}]",
	  "hints[1].query_id: must not be empty" },
	{ "[{" H ",\"confidence\":1}]", "hints[0].bboxes: expected a non-empty array" },
	{ "[{" H ",\"bboxes\":[],\"confidence\":1}]", "hints[0].bboxes" },
	{ "[{" H ",\"bboxes\":[[0,0,1]],\"confidence\":1}]", "hints[0].bboxes[0]: expected [x, y, w, h]" },
	{ "[{" H ",\"bboxes\":[[0,0,1,1],[0,0,0,1]],\"confidence\":1}]", "hints[0].bboxes[1][2]" },
	{ "[{" H ",\"bboxes\":[[0,0,1,1]]}]", "hints[0].confidence: is required" },
	{ "[{" H ",\"bboxes\":[[0,0,1,1]],\"confidence\":1.5}]",
	  "hints[0].confidence: expected a number between 0 and 1" },
	{ "[{" H ",\"bboxes\":[[0,0,1,1]],\"confidence\":\"high\"}]", "hints[0].confidence" },
	{ "[{" H ",\"level_range\":[1,3],\"bboxes\":[[0,0,1,1]],\"confidence\":1}]",
	  "hints[0].level_range" },
	{ "[{\"query_id\":\"q\",\"snapshot_id\":\"\"}]", "hints[0].snapshot_id" },
};

static enum kith_status parse_hints(const char *b, size_t n, char **why)
{
	struct him_wire_hints h;
	enum kith_status st = him_wire_parse_hints(b, n, &h, why);

	him_wire_hints_release(&h);
	return st;
}

static void test_hints_bad(void)
{
	run_bad("hints", hint_cases, sizeof(hint_cases) / sizeof(hint_cases[0]), parse_hints);
}

static void test_snapshot(void)
{
	const char *body = "{\"snapshot_id\":\"snp_2\",\"parents\":[\"snp_1\"],"
			   "\"tags\":{\"task_id\":\"TX-423\"},\"provenance\":{\"model\":\"m\","
			   "\"code_sha\":\"f2ab\",\"cuda\":null,\"seed\":133742}}";
	struct him_snapshot s;
	char *why = NULL;

	REQUIRE(him_wire_parse_snapshot(body, strlen(body), &s, &why) == KITH_OK);
	CHECK_STR(s.snapshot_id, "snp_2");
	REQUIRE(s.nparents == 1);
	CHECK_STR(s.parents[0], "snp_1");
	CHECK_STR(json_string_value(json_object_get(s.tags, "task_id")), "TX-423");
	CHECK_STR(json_string_value(json_object_get(s.provenance, "code_sha")), "f2ab");
	CHECK(json_object_get(s.provenance, "cuda") == NULL);
	CHECK_EQ(json_integer_value(json_object_get(s.provenance, "seed")), 133742);
	CHECK_STR(s.merge_policy, "lww");
	him_snapshot_release(&s);
}

#define P "\"provenance\":{\"model\":\"m\",\"code_sha\":\"c\"}"
static const struct bad_case snap_cases[] = {
	{ "{" P "}", "snapshot_id: is required" },
	{ "{\"snapshot_id\":\"a\"}", "provenance: is required" },
	{ "{\"snapshot_id\":\"a\",\"provenance\":[]}", "provenance: expected an object" },
	{ "{\"snapshot_id\":\"a\",\"provenance\":{\"code_sha\":\"c\"}}", "provenance.model: is required" },
	{ "{\"snapshot_id\":\"a\",\"provenance\":{\"model\":\"\",\"code_sha\":\"c\"}}",
	  "provenance.model: must not be empty" },
	{ "{\"snapshot_id\":\"a\",\"provenance\":{\"model\":\"m\",\"code_sha\":\"c\",\"seed\":\"1\"}}",
	  "provenance.seed" },
	{ "{\"snapshot_id\":\"a\"," P ",\"tags\":{\"task\":1}}", "tags.task: expected a string" },
	{ "{\"snapshot_id\":\"a\"," P ",\"tags\":[]}", "tags: expected an object" },
	{ "{\"snapshot_id\":\"a\"," P ",\"parents\":[\"b\",\"b\"]}", "parents[1]: duplicate" },
	{ "{\"snapshot_id\":\"a\"," P ",\"parents\":[\"b\",3]}", "parents[1]: expected a name" },
	{ "{\"snapshot_id\":\"a\"," P ",\"parents\":[\"a\"]}", "parents: a snapshot cannot be its own" },
	{ "{\"snapshot_id\":\"a\"," P ",\"merge_policy\":\"crdt\"}", "merge_policy: expected" },
};

static enum kith_status parse_snapshot(const char *b, size_t n, char **why)
{
	struct him_snapshot s;
	enum kith_status st = him_wire_parse_snapshot(b, n, &s, why);

	if (!st)
		him_snapshot_release(&s);
	return st;
}

static void test_snapshot_bad(void)
{
	run_bad("snapshot", snap_cases, sizeof(snap_cases) / sizeof(snap_cases[0]), parse_snapshot);
}

static void test_merge_and_replay(void)
{
	const char *m1 = "{\"with\":[\"b\",\"c\"],\"snapshot_id\":\"m\",\"merge_policy\":\"manual\"}";
	const char *r1 = "{\"snapshot_id\":\"s\",\"trace_id\":\"tr_0123456789abcdef01234567\"}";
	struct him_wire_merge m;
	struct him_wire_replay r;
	char *why = NULL;

	REQUIRE(him_wire_parse_merge(m1, strlen(m1), &m, &why) == KITH_OK);
	REQUIRE(m.nwith == 2);
	CHECK_STR(m.with[1], "c");
	CHECK_STR(m.snapshot_id, "m");
	CHECK_STR(m.merge_policy, "manual");
	him_wire_merge_release(&m);
	REQUIRE(him_wire_parse_merge("{\"with\":[\"b\"]}", 14, &m, &why) == KITH_OK);
	CHECK(m.snapshot_id == NULL && m.merge_policy == NULL);
	him_wire_merge_release(&m);
	REQUIRE(him_wire_parse_replay(r1, strlen(r1), &r, &why) == KITH_OK);
	CHECK_STR(r.trace_id, "tr_0123456789abcdef01234567");
	him_wire_replay_release(&r);
	CHECK(him_is_trace_id("tr_0123456789abcdef01234567"));
	CHECK(!him_is_trace_id("tr_0123456789ABCDEF01234567"));
	CHECK(!him_is_trace_id("tr_0123"));
}

static const struct bad_case merge_cases[] = {
	{ "{}", "with: is required" },
	{ "{\"with\":[]}", "with: expected an array of 1 to" },
	{ "{\"with\":\"b\"}", "with: expected an array" },
	{ "{\"with\":[7]}", "with[0]: expected a name" },
	{ "{\"with\":[\"b\"],\"snapshot_id\":\"/etc\"}", "snapshot_id" },
	{ "{\"with\":[\"b\"],\"merge_policy\":\"theirs\"}", "merge_policy" },
};

static const struct bad_case replay_cases[] = {
	{ "{\"trace_id\":\"tr_0123456789abcdef01234567\"}", "snapshot_id: is required" },
	{ "{\"snapshot_id\":\"s\"}", "trace_id: is required" },
	{ "{\"snapshot_id\":\"s\",\"trace_id\":\"tr_x\"}", "trace_id: expected \"tr_\"" },
	{ "{\"snapshot_id\":\"s\",\"trace_id\":5}", "trace_id: expected a string" },
};

static enum kith_status parse_merge(const char *b, size_t n, char **why)
{
	struct him_wire_merge m;
	enum kith_status st = him_wire_parse_merge(b, n, &m, why);

	him_wire_merge_release(&m);
	return st;
}

static enum kith_status parse_replay(const char *b, size_t n, char **why)
{
	struct him_wire_replay r;
	enum kith_status st = him_wire_parse_replay(b, n, &r, why);

	him_wire_replay_release(&r);
	return st;
}

static void test_merge_replay_bad(void)
{
	run_bad("merge", merge_cases, sizeof(merge_cases) / sizeof(merge_cases[0]), parse_merge);
	run_bad("replay", replay_cases, sizeof(replay_cases) / sizeof(replay_cases[0]), parse_replay);
}

static void test_responses(void)
{
	struct him_tile_meta m;
	struct him_merge_result r = { .snapshot_id = "snp_m", .tiles = 3, .resolved = 1 };
	json_t *j;
	char *s;

	memset(&m, 0, sizeof(m));
	memset(m.tile_id, 'a', HIM_ID_HEX);
	memset(m.checksum, 'b', HIM_ID_HEX);
	m.stream = "notes";
	m.snapshot_id = "snp_a";
	m.dtype = "text/plain";
	m.halo = -1;
	m.size_bytes = 5;
	j = him_wire_tile_json(&m, "hello", 5);
	CHECK_STR(json_string_value(json_object_get(j, "payload")), "aGVsbG8=");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "metadata"), "stream")),
		  "notes");
	json_decref(j);
	j = him_wire_merge_json(&r);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(s, "{\"resolved\":1,\"snapshot_id\":\"snp_m\",\"tiles\":3}");
	free(s);
	json_decref(j);
}

int main(void)
{
	RUN(test_tiles_good);
	RUN(test_tiles_signature);
	RUN(test_tiles_bad);
	RUN(test_query);
	RUN(test_query_bad);
	RUN(test_hints);
	RUN(test_hints_bad);
	RUN(test_snapshot);
	RUN(test_snapshot_bad);
	RUN(test_merge_and_replay);
	RUN(test_merge_replay_bad);
	RUN(test_responses);
	return test_summary();
}
