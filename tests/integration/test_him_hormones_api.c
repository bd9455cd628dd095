/* test_him_hormones_api.c — the hormone routes of the HIM API end to end
 * against `kith him serve`: PUT then GET the latest levels, history by
 * bucket with ranges and limits, 400s for bad ids, bodies and query
 * parameters (with nothing written), 404s for unknown channels, hostile and
 * non-ASCII ids, the bearer token, and a store fsck finds clean. */
#include "support/test.h"
#include "support/himtest.h"
#include "core/alloc.h"
#include "core/json.h"

#include <math.h>

/* 2025-01-01T00:00:00Z */
#define T0 1735689600000LL
#define MIN5 300000LL
#define HOUR 3600000LL

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

static double level_of(const json_t *j, const char *name)
{
	double v = NAN;

	if (!kjson_num(kjson_obj(j, "levels"), name, &v))
		return NAN;
	return v;
}

static long put_at(const char *channel_path, const char *levels, long long at)
{
	char *path = xasprintf("/v1/hormones/%s", channel_path);
	char *req = xasprintf("{\"levels\":%s,\"at_ms\":%lld}", levels, at);
	long st = call("PUT", path, req);

	free(path);
	free(req);
	return st;
}

static void test_put_and_get(void)
{
	long long at = 0;
	json_t *j;

	CHECK_EQ(call("GET", "/v1/hormones/1234567890", NULL), 404);
	CHECK_CONTAINS(buf_str(&body), "no hormone levels");
	CHECK_EQ(put_at("1234567890", "{\"dopamine\":0.1,\"cortisol\":0.3}", T0), 200);
	j = body_json();
	CHECK_STR(kjson_str(j, "channel_id"), "1234567890");
	CHECK(kjson_int(j, "at_ms", &at) && at == T0);
	CHECK(level_of(j, "dopamine") == 0.1);
	json_decref(j);
	/* Numbers go out short: 0.1, not 0.10000000000000001. */
	CHECK_CONTAINS(buf_str(&body), "\"dopamine\":0.1,");
	CHECK_EQ(put_at("1234567890", "{\"dopamine\":0.5,\"oxytocin\":1}", T0 + 60000), 200);
	CHECK_EQ(call("GET", "/v1/hormones/1234567890", NULL), 200);
	j = body_json();
	CHECK(kjson_int(j, "at_ms", &at) && at == T0 + 60000);
	CHECK(level_of(j, "dopamine") == 0.5);
	CHECK(level_of(j, "oxytocin") == 1.0);
	CHECK(isnan(level_of(j, "cortisol")));   /* a sample is the whole state */
	json_decref(j);
	/* Without at_ms the server's clock stamps it. */
	CHECK_EQ(call("PUT", "/v1/hormones/now", "{\"levels\":{\"melatonin\":0.25}}"), 200);
	j = body_json();
	CHECK(kjson_int(j, "at_ms", &at) && at > T0);
	json_decref(j);
	CHECK_EQ(call("GET", "/v1/hormones/now", NULL), 200);
	j = body_json();
	CHECK(level_of(j, "melatonin") == 0.25);
	json_decref(j);
	CHECK_EQ(call("DELETE", "/v1/hormones/now", NULL), 405);
	CHECK_EQ(call("POST", "/v1/hormones/now", "{\"levels\":{\"melatonin\":0.25}}"), 405);
}

static void test_history(void)
{
	long long v = 0;
	bool truncated = true;
	json_t *j, *pts, *p;

	for (int i = 0; i < 6; i++) {
		char levels[64];

		snprintf(levels, sizeof(levels), "{\"curiosity\":%.1f}", i / 10.0);
		CHECK_EQ(put_at("hist", levels, T0 + i * MIN5), 200);
	}
	CHECK_EQ(put_at("hist", "{\"curiosity\":0.5}", T0 + 1), 200);
	CHECK_EQ(call("GET", "/v1/hormones/hist/history", NULL), 200);
	j = body_json();
	CHECK_STR(kjson_str(j, "channel_id"), "hist");
	CHECK_STR(kjson_str(j, "bucket"), "5m");
	CHECK(kjson_bool(j, "truncated", &truncated) && !truncated);
	pts = kjson_arr(j, "points");
	REQUIRE(json_array_size(pts) == 6);
	p = json_array_get(pts, 0);
	CHECK(kjson_int(p, "bucket_start_ms", &v) && v == T0);
	CHECK(kjson_int(p, "samples", &v) && v == 2);
	CHECK(level_of(p, "curiosity") == 0.25);
	CHECK(kjson_num(kjson_obj(p, "min"), "curiosity", &(double){ 0 }));
	CHECK(kjson_int(json_array_get(pts, 5), "bucket_start_ms", &v) && v == T0 + 5 * MIN5);
	json_decref(j);

	CHECK_EQ(call("GET", "/v1/hormones/hist/history?bucket=1h", NULL), 200);
	j = body_json();
	pts = kjson_arr(j, "points");
	REQUIRE(json_array_size(pts) == 1);
	CHECK(kjson_int(json_array_get(pts, 0), "samples", &v) && v == 7);
	CHECK_STR(kjson_str(j, "bucket"), "1h");
	json_decref(j);
	for (const char *const *b = (const char *const[]){ "1d", "1w", NULL }; *b; b++) {
		char *path = xasprintf("/v1/hormones/hist/history?bucket=%s", *b);

		CHECK_EQ(call("GET", path, NULL), 200);
		j = body_json();
		CHECK_EQ(json_array_size(kjson_arr(j, "points")), 1);
		json_decref(j);
		free(path);
	}

	/* A range and a limit: the newest of the range, oldest first. */
	{
		char *path = xasprintf("/v1/hormones/hist/history?from=%lld&to=%lld&limit=2",
				       T0 + MIN5, T0 + 4 * MIN5);

		CHECK_EQ(call("GET", path, NULL), 200);
		free(path);
	}
	j = body_json();
	pts = kjson_arr(j, "points");
	REQUIRE(json_array_size(pts) == 2);
	CHECK(kjson_int(json_array_get(pts, 0), "bucket_start_ms", &v) && v == T0 + 3 * MIN5);
	CHECK(kjson_int(json_array_get(pts, 1), "bucket_start_ms", &v) && v == T0 + 4 * MIN5);
	CHECK(kjson_bool(j, "truncated", &truncated) && truncated);
	json_decref(j);
	CHECK_EQ(call("GET", "/v1/hormones/hist/history?to=1000&from=", NULL), 200);
	j = body_json();
	CHECK_EQ(json_array_size(kjson_arr(j, "points")), 0);
	json_decref(j);
	CHECK_EQ(call("GET", "/v1/hormones/nobody/history", NULL), 404);
}

static void test_bad_requests(void)
{
	static const char *const bodies[] = {
		"", "not json", "[]", "{}", "{\"levels\":{}}", "{\"levels\":[]}",
		"{\"levels\":{\"adrenaline\":0.5}}", "{\"levels\":{\"dopamine\":1.5}}",
		"{\"levels\":{\"dopamine\":-1}}", "{\"levels\":{\"dopamine\":\"high\"}}",
		"{\"levels\":{\"dopamine\":0.5,\"dopamine\":0.6}}",
		"{\"levels\":{\"dopamine\":0.5},\"at_ms\":\"now\"}",
		"{\"levels\":{\"dopamine\":0.5},\"at_ms\":-5}",
	};
	static const char *const queries[] = {
		"bucket=2h", "bucket=5M", "from=abc", "from=-1", "to=1e3", "limit=0",
		"limit=10001", "limit=+5", "from=2000&to=1000", "from=99999999999999999999",
	};
	char *long_id = xmalloc(300), *path;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if (call("PUT", "/v1/hormones/badbody", bodies[i]) != 400)
			test_fail_(__FILE__, __LINE__, "body %s: not 400", bodies[i]);
		CHECK_CONTAINS(buf_str(&body), "detail");
	}
	CHECK_EQ(call("PUT", "/v1/hormones/badbody", "{\"levels\":{\"adrenaline\":0.5}}"), 400);
	CHECK_CONTAINS(buf_str(&body), "levels.adrenaline: not a hormone");
	CHECK_EQ(call("PUT", "/v1/hormones/badbody", "{\"levels\":{\"dopamine\":1.5}}"), 400);
	CHECK_CONTAINS(buf_str(&body), "between 0 and 1");
	/* Nothing was written by any of them. */
	CHECK_EQ(call("GET", "/v1/hormones/badbody", NULL), 404);
	CHECK_EQ(call("GET", "/v1/hormones/badbody/history", NULL), 404);

	REQUIRE(put_at("q", "{\"dopamine\":0.5}", T0) == 200);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		path = xasprintf("/v1/hormones/q/history?%s", queries[i]);
		if (call("GET", path, NULL) != 400)
			test_fail_(__FILE__, __LINE__, "%s: not 400", path);
		free(path);
	}

	/* Bad channel ids: control characters, invalid UTF-8, too long, and
	 * path tricks (refused by the router before the handler). */
	CHECK_EQ(call("GET", "/v1/hormones/a%01b", NULL), 400);
	CHECK_CONTAINS(buf_str(&body), "control characters");
	CHECK_EQ(put_at("a%01b", "{\"dopamine\":0.5}", T0), 400);
	CHECK_EQ(call("GET", "/v1/hormones/%FF%FE", NULL), 400);
	CHECK_CONTAINS(buf_str(&body), "UTF-8");
	CHECK_EQ(call("GET", "/v1/hormones/%FF/history", NULL), 400);
	memset(long_id, 'x', 299);
	long_id[299] = '\0';
	path = xasprintf("/v1/hormones/%s", long_id);
	CHECK_EQ(call("GET", path, NULL), 400);
	free(path);
	CHECK_EQ(put_at(long_id, "{\"dopamine\":0.5}", T0), 400);
	CHECK_EQ(call("GET", "/v1/hormones/..%2F..%2Fetc", NULL), 400);
	CHECK_EQ(call("GET", "/v1/hormones/%2E%2E", NULL), 400);
	CHECK_EQ(call("GET", "/v1/hormones/", NULL), 404);
	free(long_id);
}

/* Ids that are not names are stored apart and read back as given. */
static void test_hostile_and_unicode_ids(void)
{
	static const struct {
		const char *path;
		const char *id;
	} ids[] = {
		{ "a%20b", "a b" }, { "a_b", "a_b" }, { "a.b", "a.b" }, { "..a", "..a" },
		{ "%F0%9F%8E%89", "🎉" }, { "a%22%3Cx%3E", "a\"<x>" },
	};
	json_t *j;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char levels[64];

		snprintf(levels, sizeof(levels), "{\"novelty\":0.%zu}", i + 1);
		CHECK_EQ(put_at(ids[i].path, levels, T0 + (long long)i), 200);
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *path = xasprintf("/v1/hormones/%s", ids[i].path);

		CHECK_EQ(call("GET", path, NULL), 200);
		j = body_json();
		CHECK_STR(kjson_str(j, "channel_id"), ids[i].id);
		CHECK(fabs(level_of(j, "novelty") - (double)(i + 1) / 10.0) < 1e-12);
		json_decref(j);
		free(path);
	}
}

static void test_token_required(void)
{
	struct him_server guarded;
	char *dir = test_path("him-hormones-guarded");
	const char *put = "{\"levels\":{\"serotonin\":0.5},\"at_ms\":1735689600000}";

	if (him_server_start_guarded(&guarded, &env, dir, "t0k3n-for-hormones") != 0) {
		free(dir);
		return;
	}
	CHECK_EQ(him_http(&guarded, "PUT", "/v1/hormones/c1", put, NULL, &body), 401);
	CHECK_EQ(him_http(&guarded, "GET", "/v1/hormones/c1", NULL, NULL, &body), 401);
	CHECK_EQ(him_http(&guarded, "GET", "/v1/hormones/c1/history", NULL, NULL, &body), 401);
	guarded.token = "wrong";
	CHECK_EQ(him_http(&guarded, "PUT", "/v1/hormones/c1", put, NULL, &body), 401);
	guarded.token = "t0k3n-for-hormones";
	CHECK_EQ(him_http(&guarded, "GET", "/v1/hormones/c1", NULL, NULL, &body), 404);
	CHECK_EQ(him_http(&guarded, "PUT", "/v1/hormones/c1", put, NULL, &body), 200);
	CHECK_EQ(him_http(&guarded, "GET", "/v1/hormones/c1", NULL, NULL, &body), 200);
	CHECK_EQ(him_http(&guarded, "GET", "/v1/hormones/c1/history", NULL, NULL, &body), 200);
	him_server_stop_clean(&guarded);
	kith_env_set(&env, "HIM_API_TOKEN", "");
	free(dir);
}

static void test_fsck_clean(void)
{
	him_check_fsck_clean(&env, store_dir);
}

int main(void)
{
	struct proc_result r;

	if (him_test_start(&env, &srv, &store_dir, "him-hormones") != 0)
		return 1;
	RUN(test_put_and_get);
	RUN(test_history);
	RUN(test_bad_requests);
	RUN(test_hostile_and_unicode_ids);
	him_server_stop(&srv, &r);
	proc_result_release(&r);
	RUN(test_fsck_clean);
	RUN(test_token_required);
	buf_release(&body);
	kith_env_release(&env);
	free(store_dir);
	return test_summary();
}
