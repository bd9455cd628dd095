/* test_him_api.c — the HIM HTTP API end to end against `kith him serve`:
 * every endpoint and status code, golden ids, idempotent ingest, deltas,
 * merge, replay, prefetch warming the cache, hostile ids, 401 and 413. */
#include "support/test.h"
#include "support/himtest.h"
#include "core/alloc.h"
#include "core/json.h"

#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>

#define GOLDEN_ID "180dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d4"
#define GOLDEN_SUM "8abed9499c216fa4134eccbfcee024a8c073d83d787eb5cc1a2bf2c239acdca7"

static struct kith_env env;
static struct him_server srv;
static char *store_dir;
static struct buf body = BUF_INIT(0);

static json_t *body_json(void)
{
	return kjson_parse(buf_str(&body), body.len, NULL);
}

static long call(const char *method, const char *path, const char *json)
{
	return him_http(&srv, method, path, json, NULL, &body);
}

static const char *const SNAP =
	"{\"snapshot_id\":\"snp_test\",\"tags\":{\"task_id\":\"TX-1\"},"
	"\"provenance\":{\"model\":\"m\",\"code_sha\":\"abc123\"},\"merge_policy\":\"lww\"}";

/* One record of a TileIngestRequest. */
static char *record(const char *snap, int level, int x, int y, const char *b64,
		    const char *extra)
{
	return xasprintf("{\"stream\":\"kv_cache\",\"snapshot_id\":\"%s\",\"level\":%d,\"x\":%d,"
			 "\"y\":%d,\"shape\":[1,1,1],\"dtype\":\"bytes\",\"payload\":{\"bytes_b64\":"
			 "\"%s\"}%s%s}", snap, level, x, y, b64, extra ? "," : "", extra ? extra : "");
}

static void test_health_and_snapshots(void)
{
	json_t *j;

	CHECK_EQ(call("GET", "/healthz", NULL), 200);
	CHECK_EQ(call("POST", "/v1/snapshots", SNAP), 201);
	j = body_json();
	CHECK_STR(kjson_str(j, "snapshot_id"), "snp_test");
	CHECK_STR(kjson_str(j, "merge_policy"), "lww");
	CHECK(kjson_str(j, "created_at") && strchr(kjson_str(j, "created_at"), 'T'));
	json_decref(j);
	CHECK_EQ(call("POST", "/v1/snapshots", SNAP), 409);
	CHECK_EQ(call("POST", "/v1/snapshots", "{\"snapshot_id\":\"x\"}"), 422);
	CHECK_EQ(call("POST", "/v1/snapshots", "not json"), 422);
	CHECK_EQ(call("GET", "/v1/snapshots/snp_test", NULL), 200);
	CHECK_EQ(call("GET", "/v1/snapshots/nope", NULL), 404);
	CHECK_EQ(call("POST", "/v1/snapshots",
		      "{\"snapshot_id\":\"snp_b\",\"parents\":[\"snp_test\"],"
		      "\"provenance\":{\"model\":\"m\",\"code_sha\":\"abc123\"}}"), 201);
	CHECK_EQ(call("GET", "/v1/snapshots?limit=1", NULL), 200);
	j = body_json();
	CHECK(json_is_array(j) && json_array_size(j) == 1);
	CHECK_STR(kjson_str(json_array_get(j, 0), "snapshot_id"), "snp_b");
	json_decref(j);
	CHECK_EQ(call("POST", "/v1/snapshots",
		      "{\"snapshot_id\":\"snp_orphan\",\"parents\":[\"ghost\"],"
		      "\"provenance\":{\"model\":\"m\",\"code_sha\":\"abc\"}}"), 400);
}

static void test_ingest_golden_and_idempotent(void)
{
	char *rec = record("snp_test", 0, 0, 0, "dGlsZS1ieXRlcw==", NULL);
	char *req = xasprintf("[%s]", rec);
	char *path = xasprintf("%s/kv_cache/snp_test/0/0/0/180dff56394e", store_dir);
	struct stat st1, st2;
	json_t *j;

	CHECK_EQ(call("POST", "/v1/tiles", req), 201);
	j = body_json();
	CHECK_STR(kjson_str(json_array_get(j, 0), "tile_id"), GOLDEN_ID);
	CHECK_STR(kjson_str(json_array_get(j, 0), "checksum"), GOLDEN_SUM);
	json_decref(j);
	REQUIRE(stat(path, &st1) == 0);
	CHECK_EQ(call("POST", "/v1/tiles", req), 201);
	REQUIRE(stat(path, &st2) == 0);
	CHECK(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);

	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_test/0/0/0", NULL), 200);
	j = body_json();
	CHECK_STR(kjson_str(kjson_obj(j, "metadata"), "tile_id"), GOLDEN_ID);
	CHECK_STR(kjson_str(j, "payload"), "dGlsZS1ieXRlcw==");
	json_decref(j);
	{
		char *sum = NULL;
		const char *h[] = { "Accept: application/octet-stream", NULL };

		CHECK_EQ(him_http_ex(&srv, "GET", "/v1/tiles/kv_cache/snp_test/0/0/0", NULL, 0, h,
				     "X-HIM-Checksum", &sum, &body), 200);
		CHECK_STR(buf_str(&body), "tile-bytes");
		CHECK_STR(sum, GOLDEN_SUM);
		free(sum);
	}
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_test/0/9/9", NULL), 404);
	free(req);
	free(rec);
	free(path);
}

static void test_ingest_errors(void)
{
	char *rec = record("ghost_snap", 0, 1, 1, "eA==", NULL);
	char *req = xasprintf("[%s]", rec);

	CHECK_EQ(call("POST", "/v1/tiles", req), 400);
	CHECK_CONTAINS(buf_str(&body), "ghost_snap");
	CHECK_EQ(call("POST", "/v1/tiles", "[]"), 422);
	CHECK_EQ(call("POST", "/v1/tiles", "{\"stream\":1}"), 422);
	CHECK_EQ(call("POST", "/v1/tiles",
		      "[{\"stream\":\"../etc\",\"snapshot_id\":\"snp_test\",\"level\":0,\"x\":0,"
		      "\"y\":0,\"shape\":[1,1,1],\"dtype\":\"bytes\",\"payload\":{\"bytes_b64\":\"eA==\"}}]"),
		 422);
	free(req);
	free(rec);
}

static void test_hostile_paths(void)
{
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/..%2F..%2Fetc/0/0/0", NULL), 400);
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_test/0/0/-1", NULL), 400);
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_test/zero/0/0", NULL), 400);
	CHECK_EQ(call("GET", "/v1/tiles/kv%7Ccache/snp_test/0/0/0", NULL), 400);
	CHECK_EQ(call("GET", "/v1/snapshots/%2E%2E", NULL), 400);
	CHECK_EQ(call("GET", "/v1/nothing", NULL), 404);
}

static void test_delta_round_trip(void)
{
	/* A 4 KiB parent and a child differing in a few bytes. */
	unsigned char parent[4096], child[4096];
	char b64p[8192], b64c[8192];
	char *rp, *rc, *req, *pid, *extra, *stored = NULL;
	json_t *j;

	for (size_t i = 0; i < sizeof(parent); i++)
		parent[i] = (unsigned char)((i * 2654435761u) >> 13);
	memcpy(child, parent, sizeof(child));
	child[100] ^= 0xff;
	child[2000] ^= 0x0f;
	sodium_bin2base64(b64p, sizeof(b64p), parent, sizeof(parent), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b64c, sizeof(b64c), child, sizeof(child), sodium_base64_VARIANT_ORIGINAL);
	rp = record("snp_test", 0, 5, 5, b64p, NULL);
	req = xasprintf("[%s]", rp);
	REQUIRE(call("POST", "/v1/tiles", req) == 201);
	j = body_json();
	pid = xstrdup(kjson_str(json_array_get(j, 0), "tile_id"));
	json_decref(j);
	free(req);

	extra = xasprintf("\"parent_tile_id\":\"%s\"", pid);
	rc = record("snp_test", 0, 5, 6, b64c, extra);
	req = xasprintf("[%s]", rc);
	CHECK_EQ(call("POST", "/v1/tiles", req), 201);
	{
		const char *h[] = { "Accept: application/octet-stream", NULL };

		CHECK_EQ(him_http_ex(&srv, "GET", "/v1/tiles/kv_cache/snp_test/0/5/6", NULL, 0, h,
				     "X-HIM-Stored-As", &stored, &body), 200);
		CHECK(body.len == sizeof(child) && memcmp(body.data, child, sizeof(child)) == 0);
		CHECK_STR(stored, "delta");
		free(stored);
	}
	free(req);
	free(rc);
	free(extra);

	/* An unrelated child is promoted to a full tile. */
	for (size_t i = 0; i < sizeof(child); i++)
		child[i] = (unsigned char)(i * 7 + 3) ^ (unsigned char)(i >> 3);
	randombytes_buf(child, sizeof(child));
	sodium_bin2base64(b64c, sizeof(b64c), child, sizeof(child), sodium_base64_VARIANT_ORIGINAL);
	extra = xasprintf("\"parent_tile_id\":\"%s\"", pid);
	rc = record("snp_test", 0, 5, 7, b64c, extra);
	req = xasprintf("[%s]", rc);
	CHECK_EQ(call("POST", "/v1/tiles", req), 201);
	{
		const char *h[] = { "Accept: application/octet-stream", NULL };

		CHECK_EQ(him_http_ex(&srv, "GET", "/v1/tiles/kv_cache/snp_test/0/5/7", NULL, 0, h,
				     "X-HIM-Stored-As", &stored, &body), 200);
		CHECK_STR(stored, "full");
		free(stored);
	}
	free(req);
	free(rc);
	free(extra);
	free(rp);
	free(pid);
}

static void test_query_and_replay(void)
{
	json_t *j;
	char *first, *replay_req;
	const char *q = "{\"goal\":\"find the submit button\",\"snapshot_id\":\"snp_test\","
			"\"stream\":\"kv_cache\",\"budget_ms\":150,\"max_tiles\":2,\"level_range\":[2,0]}";

	CHECK_EQ(call("POST", "/v1/query", q), 200);
	first = xstrdup(buf_str(&body));
	j = body_json();
	CHECK(json_is_array(kjson_arr(j, "tile_ids")));
	CHECK(json_array_size(kjson_arr(j, "tile_ids")) <= 2);
	CHECK(json_is_number(json_object_get(j, "acceptance")));
	CHECK_EQ(json_integer_value(json_object_get(j, "budget_ms")), 150);
	REQUIRE(kjson_str(j, "trace_id"));
	replay_req = xasprintf("{\"snapshot_id\":\"snp_test\",\"trace_id\":\"%s\"}",
			       kjson_str(j, "trace_id"));
	json_decref(j);

	/* Change the store, then replay: the same bytes come back. */
	{
		char *rec = record("snp_test", 1, 0, 0, "c3VibWl0IGJ1dHRvbg==", "\"tags\":\"submit button\"");
		char *req = xasprintf("[%s]", rec);

		CHECK_EQ(call("POST", "/v1/tiles", req), 201);
		free(req);
		free(rec);
	}
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_test/0/0/0", NULL), 200);
	CHECK_EQ(call("POST", "/v1/replay", replay_req), 200);
	CHECK_STR(buf_str(&body), first);

	CHECK_EQ(call("POST", "/v1/replay", "{\"snapshot_id\":\"snp_test\",\"trace_id\":\"tr_000000000000000000000000\"}"),
		 404);
	CHECK_EQ(call("POST", "/v1/replay", "{\"snapshot_id\":\"snp_test\",\"trace_id\":\"nope\"}"), 422);
	CHECK_EQ(call("POST", "/v1/query", "{\"goal\":\"x\",\"snapshot_id\":\"snp_test\",\"budget_ms\":0}"),
		 422);
	CHECK_EQ(call("POST", "/v1/query",
		      "{\"goal\":\"x\",\"snapshot_id\":\"snp_test\",\"budget_ms\":5,\"max_tiles\":33}"),
		 422);
	CHECK_EQ(call("POST", "/v1/query", "{\"goal\":\"x\",\"snapshot_id\":\"ghost\",\"budget_ms\":5}"),
		 400);
	free(first);
	free(replay_req);
}

static void test_merge(void)
{
	char *r1 = record("snp_b", 0, 0, 0, "bmV3ZXI=", NULL);
	char *req = xasprintf("[%s]", r1);
	json_t *j;

	REQUIRE(call("POST", "/v1/tiles", req) == 201);
	CHECK_EQ(call("POST", "/v1/snapshots/snp_test/merge",
		      "{\"with\":[\"snp_b\"],\"snapshot_id\":\"snp_merged\"}"), 201);
	j = body_json();
	CHECK_STR(kjson_str(j, "snapshot_id"), "snp_merged");
	json_decref(j);
	/* LWW: snp_b's tile at (0,0,0) is newer than snp_test's. */
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_merged/0/0/0", NULL), 200);
	j = body_json();
	CHECK_STR(kjson_str(j, "payload"), "bmV3ZXI=");
	json_decref(j);
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_merged/0/5/5", NULL), 200);
	CHECK_EQ(call("GET", "/v1/snapshots/snp_merged", NULL), 200);
	j = body_json();
	CHECK_EQ(json_array_size(kjson_arr(j, "parents")), 2);
	json_decref(j);

	CHECK_EQ(call("POST", "/v1/snapshots/snp_test/merge",
		      "{\"with\":[\"snp_b\"],\"snapshot_id\":\"snp_manual\",\"merge_policy\":\"manual\"}"),
		 409);
	CHECK_CONTAINS(buf_str(&body), "conflicts");
	CHECK_EQ(call("GET", "/v1/snapshots/snp_manual", NULL), 404);
	CHECK_EQ(call("POST", "/v1/snapshots/ghost/merge", "{\"with\":[\"snp_b\"]}"), 404);
	free(req);
	free(r1);
}

/* The value of a metric line ("\nNAME VALUE"), or -1. */
static double metric(const char *name)
{
	char *needle = xasprintf("\n%s ", name);
	const char *line;
	double v = -1;

	if (call("GET", "/metrics", NULL) == 200 && (line = strstr(buf_str(&body), needle)))
		v = strtod(line + strlen(needle), NULL);
	free(needle);
	return v;
}

static void test_prefetch_warms_cache(void)
{
	const char *hints = "[{\"query_id\":\"q1\",\"snapshot_id\":\"snp_test\",\"stream\":\"kv_cache\","
			    "\"level_range\":[0,0],\"bboxes\":[[5,5,1,3]],\"confidence\":0.9}]";
	double before, after, staged = 0;

	/* A fresh server process: nothing is warm yet. */
	before = metric("him_cache_prefetched_hits_total");
	CHECK_EQ(call("POST", "/v1/prefetch", hints), 202);
	CHECK_EQ(call("POST", "/v1/prefetch", "[]"), 422);
	/* Staging runs in the background: poll until the three covered
	 * tiles (5,5) (5,6) (5,7) are staged, then read one. */
	for (int i = 0; i < 2000 && staged < 3; i++)
		staged = metric("him_prefetch_staged_total");
	CHECK(staged >= 3);
	CHECK_EQ(call("GET", "/v1/tiles/kv_cache/snp_test/0/5/6", NULL), 200);
	after = metric("him_cache_prefetched_hits_total");
	CHECK(after == before + 1);
	CHECK(metric("him_prefetch_coverage") > 0);
	CHECK_CONTAINS(buf_str(&body), "him_query_latency_ms");
	CHECK_CONTAINS(buf_str(&body), "him_cache_hits_total");
	CHECK_CONTAINS(buf_str(&body), "him_stream_bytes{stream=\"kv_cache\"}");
}

struct worker {
	pthread_t t;
	int index;
	int failures;
};

/* Count a failed request and say which one and why (a rare one under load
 * must be diagnosable from the CI log). */
static void concurrent_failure(struct worker *w, const char *what, int status, struct buf *b)
{
	w->failures++;
	fprintf(stderr, "worker %d: %s answered %d: %.300s\n", w->index, what, status, buf_str(b));
}

/* Each worker ingests into its own column, queries and reads, at once. */
static void *concurrent_client(void *arg)
{
	struct worker *w = arg;
	struct buf b = BUF_INIT(0);

	for (int round = 0; round < 20; round++) {
		char *rec = record("snp_test", 0, 100 + w->index, round, "Y29uY3VycmVudA==",
				   "\"tags\":\"concurrent worker\"");
		char *req = xasprintf("[%s]", rec);
		char path[96];

		int status;

		if ((status = him_http(&srv, "POST", "/v1/tiles", req, NULL, &b)) != 201)
			concurrent_failure(w, "POST /v1/tiles", status, &b);
		if ((status = him_http(&srv, "POST", "/v1/query",
				       "{\"goal\":\"concurrent worker\",\"snapshot_id\":\"snp_test\","
				       "\"budget_ms\":50,\"level_range\":[0,0]}", NULL, &b)) != 200)
			concurrent_failure(w, "POST /v1/query", status, &b);
		snprintf(path, sizeof(path), "/v1/tiles/kv_cache/snp_test/0/%d/%d", 100 + w->index,
			 round);
		if ((status = him_http(&srv, "GET", path, NULL, NULL, &b)) != 200)
			concurrent_failure(w, path, status, &b);
		free(req);
		free(rec);
	}
	buf_release(&b);
	return NULL;
}

static void test_concurrent_ingest_and_queries(void)
{
	struct worker w[6];

	for (int i = 0; i < 6; i++) {
		w[i].index = i;
		w[i].failures = 0;
		pthread_create(&w[i].t, NULL, concurrent_client, &w[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(w[i].t, NULL);
		CHECK_EQ(w[i].failures, 0);
	}
}

static void test_oversized_body(void)
{
	size_t n = 70u << 20;
	char *big = xmalloc(n + 1);
	/* 100-continue: the server answers 413 from the Content-Length alone,
	 * before any of the body is sent, so the client always reads it. */
	const char *h[] = { "Content-Type: application/json", "Expect: 100-continue", NULL };

	memset(big, ' ', n);
	big[0] = '[';
	big[n - 1] = ']';
	big[n] = '\0';
	CHECK_EQ(him_http_ex(&srv, "POST", "/v1/tiles", big, n, h, NULL, NULL, &body), 413);
	free(big);
}

static void test_token_and_loopback_rules(void)
{
	struct him_server guarded;
	struct proc_result r;
	char *dir = test_path("him-guarded");

	if (him_server_start_guarded(&guarded, &env, dir, "t0k3n-for-tests") != 0) {
		free(dir);
		return;
	}
	CHECK_EQ(him_http(&guarded, "GET", "/v1/snapshots", NULL, NULL, &body), 401);
	CHECK_EQ(him_http(&guarded, "GET", "/healthz", NULL, NULL, &body), 200);
	guarded.token = "wrong-token";
	CHECK_EQ(him_http(&guarded, "GET", "/v1/snapshots", NULL, NULL, &body), 401);
	guarded.token = "t0k3n-for-tests";
	CHECK_EQ(him_http(&guarded, "GET", "/v1/snapshots", NULL, NULL, &body), 200);
	him_server_stop_clean(&guarded);

	/* Beyond loopback without a token: refuses to start. */
	kith_env_set(&env, "HIM_API_TOKEN", "");
	REQUIRE(kith_run(&env, NULL, &r, "him", "serve", "--port", "0", "--host", "0.0.0.0",
			 "--data-dir", dir, NULL) == 0);
	CHECK(r.exit_code != 0);
	CHECK_CONTAINS(r.err, "token");
	proc_result_release(&r);
	free(dir);
}

static void test_profile(void)
{
	struct proc_result r;

	kith_env_set(&env, "HIM_CACHE_MB", "64");
	REQUIRE(kith_run(&env, NULL, &r, "him", "profile", "--data-dir", store_dir, NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.out, "CPU");
	CHECK_CONTAINS(r.out, "logical cores");
	CHECK_CONTAINS(r.out, "memory");
	CHECK_CONTAINS(r.out, "GPU");
	CHECK_CONTAINS(r.out, "disk");
	CHECK_CONTAINS(r.out, "warm cache: 64 MiB");
	proc_result_release(&r);
	REQUIRE(kith_run(&env, NULL, &r, "him", "serve", "--port", "http", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "--port");
	proc_result_release(&r);
}

static void test_fsck_clean_after_use(void)
{
	him_check_fsck_clean(&env, store_dir);
}

int main(void)
{
	const char *failure = NULL;
	struct proc_result r;

	if (him_test_start(&env, &srv, &store_dir, "him") != 0)
		return 1;
	RUN(test_health_and_snapshots);
	RUN(test_ingest_golden_and_idempotent);
	RUN(test_ingest_errors);
	RUN(test_hostile_paths);
	RUN(test_delta_round_trip);
	RUN(test_query_and_replay);
	RUN(test_merge);
	/* Restart so the cache starts cold, then check prefetch. */
	him_server_stop(&srv, &r);
	proc_result_release(&r);
	if (him_server_start(&srv, &env, store_dir, &failure, NULL) != 0) {
		fprintf(stderr, "%s\n", failure);
		return 1;
	}
	RUN(test_prefetch_warms_cache);
	RUN(test_concurrent_ingest_and_queries);
	RUN(test_oversized_body);
	him_server_stop(&srv, &r);
	proc_result_release(&r);
	RUN(test_fsck_clean_after_use);
	RUN(test_profile);
	RUN(test_token_and_loopback_rules);
	buf_release(&body);
	kith_env_release(&env);
	free(store_dir);
	return test_summary();
}
