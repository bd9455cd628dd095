/* test_him_semantic.c — HIM's semantic extensions end to end against
 * `kith him serve`: records by text and by vector, goal queries answered
 * from the semantic index (the matching record first, with a score), replay
 * byte-identical, hostile bodies, keyword streams unchanged, a restart; and
 * the embedding model reached through the fake LLM (/api/embed), including
 * its failure. */
#include "support/test.h"
#include "support/himtest.h"
#include "fakes/fake_llm.h"
#include "core/alloc.h"
#include "core/json.h"

#include <pthread.h>

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
	"{\"snapshot_id\":\"snp_sem\",\"provenance\":{\"model\":\"m\",\"code_sha\":\"abc123\"}}";

static const char *const FACTS[] = {
	"the quarterly tax filing deadline is the fifteenth of april",
	"my cat likes to sleep on the warm windowsill in the afternoon",
	"remember to buy milk, eggs and bread on the way home",
	"the dentist appointment moved to next tuesday at nine",
	"our wifi password is written on the back of the router",
	"grandma's birthday party is at the lake house in june",
	"the car needs new winter tyres before november",
	"the recipe for lemon cake uses three eggs and a cup of sugar",
};
#define NFACTS (sizeof(FACTS) / sizeof(FACTS[0]))

/* {"snapshot_id", "records": [{"id": base + i, "text": FACTS[i]}…]} */
static char *facts_body(const char *snap, int base)
{
	struct buf b = BUF_INIT(0);
	char *s;

	buf_printf(&b, "{\"snapshot_id\":\"%s\",\"records\":[", snap);
	for (size_t i = 0; i < NFACTS; i++)
		buf_printf(&b, "%s{\"id\":%d,\"text\":\"%s\"}", i ? "," : "", base + (int)i,
			   FACTS[i]);
	buf_puts(&b, "]}");
	s = xstrdup(buf_str(&b));
	buf_release(&b);
	return s;
}

static char *goal_query(const char *snap, const char *stream, const char *goal, int k)
{
	return xasprintf("{\"goal\":\"%s\",\"snapshot_id\":\"%s\",\"stream\":\"%s\","
			 "\"budget_ms\":500,\"max_tiles\":8,\"k\":%d}", goal, snap, stream, k);
}

static long long first_id(json_t *plan)
{
	return json_integer_value(json_object_get(json_array_get(kjson_arr(plan, "records"), 0),
						  "id"));
}

static char *index_stream;

static void test_records_and_semantic_query(void)
{
	char *req = facts_body("snp_sem", 100), *q, *first, *replay;
	json_t *j, *recs;

	CHECK_EQ(call("POST", "/v1/snapshots", SNAP), 201);
	CHECK_EQ(call("POST", "/v1/records", req), 201);
	j = body_json();
	CHECK_EQ(json_integer_value(json_object_get(j, "added")), NFACTS);
	REQUIRE(kjson_str(j, "stream"));
	index_stream = xstrdup(kjson_str(j, "stream"));
	json_decref(j);

	q = goal_query("snp_sem", "emb", "when is the tax filing deadline", 3);
	CHECK_EQ(call("POST", "/v1/query", q), 200);
	first = xstrdup(buf_str(&body));
	j = body_json();
	REQUIRE(j);
	recs = kjson_arr(j, "records");
	REQUIRE(recs);
	CHECK(json_array_size(recs) >= 1 && json_array_size(recs) <= 3);
	CHECK_EQ(first_id(j), 100);
	CHECK(json_is_number(json_object_get(json_array_get(recs, 0), "score")));
	if (json_array_size(recs) > 1)
		CHECK(json_number_value(json_object_get(json_array_get(recs, 0), "score")) >=
		      json_number_value(json_object_get(json_array_get(recs, 1), "score")));
	CHECK(json_is_array(kjson_arr(j, "tile_ids")));
	CHECK(json_is_number(json_object_get(j, "acceptance")));
	CHECK_EQ(json_integer_value(json_object_get(j, "budget_ms")), 500);
	REQUIRE(kjson_str(j, "trace_id"));
	replay = xasprintf("{\"snapshot_id\":\"snp_sem\",\"trace_id\":\"%s\"}",
			   kjson_str(j, "trace_id"));
	json_decref(j);

	/* Another goal finds another record. */
	free(q);
	q = goal_query("snp_sem", "emb", "where does the cat sleep", 2);
	CHECK_EQ(call("POST", "/v1/query", q), 200);
	j = body_json();
	CHECK_EQ(first_id(j), 101);
	json_decref(j);

	/* Change the index, then replay: the same bytes come back. */
	free(req);
	req = facts_body("snp_sem", 200);
	CHECK_EQ(call("POST", "/v1/records", req), 201);
	CHECK_EQ(call("POST", "/v1/replay", replay), 200);
	CHECK_STR(buf_str(&body), first);
	/* Asking again sees the new records too. */
	free(q);
	q = goal_query("snp_sem", "emb", "when is the tax filing deadline", 3);
	CHECK_EQ(call("POST", "/v1/query", q), 200);
	j = body_json();
	CHECK(first_id(j) == 100 || first_id(j) == 200);
	json_decref(j);
	free(q);
	free(req);
	free(first);
	free(replay);
}

static void test_vectors(void)
{
	struct buf b = BUF_INIT(0);
	json_t *j;

	/* The hashing embedder is 384-dimensional. */
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":7,\"vector\":[1,2,3]}]}"), 400);
	CHECK_CONTAINS(buf_str(&body), "384");
	buf_printf(&b, "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":900,\"vector\":[");
	for (int i = 0; i < 384; i++)
		buf_printf(&b, "%s%s", i ? "," : "", i == 5 ? "1.0" : "0");
	buf_puts(&b, "]}]}");
	CHECK_EQ(call("POST", "/v1/records", buf_str(&b)), 201);
	j = body_json();
	CHECK_EQ(json_integer_value(json_object_get(j, "added")), 1);
	json_decref(j);
	buf_release(&b);
}

static void test_hostile_records(void)
{
	char *big;
	struct buf b = BUF_INIT(0);

	CHECK_EQ(call("POST", "/v1/records", "not json"), 400);
	CHECK_EQ(call("POST", "/v1/records", "[]"), 400);
	CHECK_EQ(call("POST", "/v1/records", "{\"snapshot_id\":\"snp_sem\"}"), 400);
	CHECK_EQ(call("POST", "/v1/records", "{\"snapshot_id\":\"snp_sem\",\"records\":[]}"), 400);
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":\"1\",\"text\":\"x\"}]}"), 400);
	CHECK_CONTAINS(buf_str(&body), "records[0].id");
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1.5,\"text\":\"x\"}]}"), 400);
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1,\"text\":5}]}"), 400);
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1}]}"), 400);
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1,\"text\":\"x\","
		      "\"vector\":[1]}]}"), 400);
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1,\"vector\":[1e999]}]}"), 400);
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1,\"vector\":[\"NaN\"]}]}"),
		 400);
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1,\"text\":\"a\"},"
		      "{\"id\":1,\"text\":\"b\"}]}"), 400);
	CHECK_CONTAINS(buf_str(&body), "more than once");
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"ghost\",\"records\":[{\"id\":1,\"text\":\"x\"}]}"), 400);
	CHECK_CONTAINS(buf_str(&body), "ghost");
	CHECK_EQ(call("POST", "/v1/records",
		      "{\"snapshot_id\":\"snp_sem\",\"stream\":\"../x\",\"records\":[{\"id\":1,"
		      "\"text\":\"x\"}]}"), 400);

	/* Caps: 413 with the limit named. */
	buf_puts(&b, "{\"snapshot_id\":\"snp_sem\",\"records\":[");
	for (int i = 0; i < 1025; i++)
		buf_printf(&b, "%s{\"id\":%d,\"text\":\"t\"}", i ? "," : "", i);
	buf_puts(&b, "]}");
	CHECK_EQ(call("POST", "/v1/records", buf_str(&b)), 413);
	CHECK_CONTAINS(buf_str(&body), "1024");
	buf_release(&b);
	big = xmalloc(40000);
	memset(big, 'w', 39999);
	big[39999] = '\0';
	buf_printf(&b, "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":5,\"text\":\"%s\"}]}",
		   big);
	CHECK_EQ(call("POST", "/v1/records", buf_str(&b)), 413);
	buf_release(&b);
	free(big);

	/* Hostile queries. */
	CHECK_EQ(call("POST", "/v1/query", "{\"goal\":\"x\",\"snapshot_id\":\"snp_sem\","
		      "\"stream\":\"emb\",\"budget_ms\":50,\"k\":0}"), 422);
	CHECK_EQ(call("POST", "/v1/query", "{\"goal\":\"x\",\"snapshot_id\":\"snp_sem\","
		      "\"stream\":\"emb\",\"budget_ms\":50,\"k\":100000000}"), 422);
	CHECK_EQ(call("POST", "/v1/query", "{\"goal\":\"x\",\"snapshot_id\":\"snp_sem\","
		      "\"stream\":\"emb\",\"budget_ms\":50,\"k\":\"ten\"}"), 422);
	CHECK_EQ(call("POST", "/v1/query", "{\"goal\":\"x\",\"snapshot_id\":\"ghost\","
		      "\"stream\":\"emb\",\"budget_ms\":50}"), 400);

	/* Nothing accepted was lost: the first facts are still found. */
	{
		char *q = goal_query("snp_sem", "emb", "lemon cake recipe with eggs and sugar", 5);
		json_t *j;

		CHECK_EQ(call("POST", "/v1/query", q), 200);
		j = body_json();
		CHECK(first_id(j) == 107 || first_id(j) == 207);
		json_decref(j);
		free(q);
	}
}

/* Streams without a semantic index plan by keywords exactly as before. */
static void test_keyword_stream_unchanged(void)
{
	const char *tile = "[{\"stream\":\"kv_cache\",\"snapshot_id\":\"snp_sem\",\"level\":0,"
			   "\"x\":0,\"y\":0,\"shape\":[1,1,1],\"dtype\":\"bytes\",\"payload\":"
			   "{\"bytes_b64\":\"c3VibWl0IGJ1dHRvbg==\"},\"tags\":\"submit button\"}]";
	const char *q = "{\"goal\":\"find the submit button\",\"snapshot_id\":\"snp_sem\","
			"\"stream\":\"kv_cache\",\"budget_ms\":150,\"max_tiles\":2}";
	char *first, *replay;
	json_t *j;

	CHECK_EQ(call("POST", "/v1/tiles", tile), 201);
	CHECK_EQ(call("POST", "/v1/query", q), 200);
	first = xstrdup(buf_str(&body));
	j = body_json();
	CHECK(json_object_get(j, "records") == NULL);
	CHECK_EQ(json_array_size(kjson_arr(j, "tile_ids")), 1);
	CHECK_STR(kjson_str(json_array_get(kjson_arr(j, "tile_ids"), 0), "stream"), "kv_cache");
	replay = xasprintf("{\"snapshot_id\":\"snp_sem\",\"trace_id\":\"%s\"}",
			   kjson_str(j, "trace_id"));
	json_decref(j);
	CHECK_EQ(call("POST", "/v1/replay", replay), 200);
	CHECK_STR(buf_str(&body), first);
	free(first);
	free(replay);
}

/* A level-0 hint on the semantic stream is accepted and queries still work. */
static void test_hints(void)
{
	char *q = goal_query("snp_sem", "emb", "dentist appointment", 3);
	json_t *j;

	CHECK_EQ(call("POST", "/v1/prefetch",
		      "[{\"query_id\":\"q1\",\"snapshot_id\":\"snp_sem\",\"stream\":\"emb\","
		      "\"level_range\":[0,0],\"bboxes\":[[0,0,2,2]],\"confidence\":0.9}]"), 202);
	CHECK_EQ(call("POST", "/v1/query", q), 200);
	j = body_json();
	CHECK(first_id(j) == 103 || first_id(j) == 203);
	json_decref(j);
	free(q);
}

struct worker {
	int index;
	int failures;
};

/* Each worker adds records to a stream of its own and to the shared one,
 * and queries both, at once (the server's map of indexes and the indexes
 * themselves under concurrent use; TSan builds check the server). */
static void *concurrent_client(void *arg)
{
	struct worker *w = arg;
	struct buf b = BUF_INIT(0);

	for (int round = 0; round < 10; round++) {
		char *own = xasprintf("{\"snapshot_id\":\"snp_sem\",\"stream\":\"w%d\",\"records\":"
				      "[{\"id\":%d,\"text\":\"worker %d round %d notes\"}]}",
				      w->index, round, w->index, round);
		char *shared = xasprintf("{\"snapshot_id\":\"snp_sem\",\"stream\":\"shared\","
					 "\"records\":[{\"id\":%d,\"text\":\"shared %d %d\"}]}",
					 w->index * 1000 + round, w->index, round);
		char *stream = xasprintf("w%d", w->index);
		char *q1 = goal_query("snp_sem", stream, "worker round notes", 3);
		char *q2 = goal_query("snp_sem", "shared", "shared", 5);

		if (him_http(&srv, "POST", "/v1/records", own, NULL, &b) != 201 ||
		    him_http(&srv, "POST", "/v1/records", shared, NULL, &b) != 201 ||
		    him_http(&srv, "POST", "/v1/query", q1, NULL, &b) != 200 ||
		    !strstr(buf_str(&b), "\"records\"") ||
		    him_http(&srv, "POST", "/v1/query", q2, NULL, &b) != 200)
			w->failures++;
		free(own);
		free(shared);
		free(stream);
		free(q1);
		free(q2);
	}
	buf_release(&b);
	return NULL;
}

static void test_concurrent(void)
{
	struct worker w[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .index = i };
		REQUIRE(pthread_create(&t[i], NULL, concurrent_client, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].failures, 0);
	}
}

/* After a restart the index opens from its tiles: still semantic, and old
 * traces still replay. */
static void test_restart(void)
{
	char *q = goal_query("snp_sem", "emb", "wifi password router", 4), *first, *replay;
	const char *failure = NULL;
	json_t *j;

	CHECK_EQ(call("POST", "/v1/query", q), 200);
	first = xstrdup(buf_str(&body));
	j = body_json();
	replay = xasprintf("{\"snapshot_id\":\"snp_sem\",\"trace_id\":\"%s\"}",
			   kjson_str(j, "trace_id"));
	json_decref(j);
	REQUIRE(him_server_stop_clean(&srv) == 0);
	REQUIRE(him_server_start(&srv, &env, store_dir, &failure, NULL) == 0);
	CHECK_EQ(call("POST", "/v1/replay", replay), 200);
	CHECK_STR(buf_str(&body), first);
	CHECK_EQ(call("POST", "/v1/query", q), 200);
	j = body_json();
	CHECK(first_id(j) == 104 || first_id(j) == 204);
	json_decref(j);
	free(q);
	free(first);
	free(replay);
}

static void test_fsck_clean(void)
{
	him_check_fsck_clean(&env, store_dir);
}

/* ---- an embedding model behind the fake LLM ---------------------------- */

static size_t embed_requests(struct fake_llm *f)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_llm_request_count(f); i++) {
		char *p = fake_llm_request_path(f, i);

		n += p && strcmp(p, "/api/embed") == 0;
		free(p);
	}
	return n;
}

static void test_model_embedder(void)
{
	struct fake_llm *fake = fake_llm_start(FAKE_LLM_OLLAMA);
	struct kith_env menv;
	struct him_server msrv;
	const char *failure = NULL;
	char *dir = test_path("him-model"), *req, *q;
	size_t before;
	json_t *j;

	REQUIRE(fake);
	fake_llm_set_embed_dim(fake, 32);
	kith_env_init(&menv, "him-model");
	kith_env_set(&menv, "OLLAMA_API_URL", fake_llm_url(fake));
	kith_env_set(&menv, "OLLAMA_EMBEDDING_MODEL", "nomic-embed-text");
	kith_env_set(&menv, "LLM_MAX_RETRIES", "0");
	REQUIRE(him_server_start(&msrv, &menv, dir, &failure, NULL) == 0);
	CHECK(embed_requests(fake) >= 1);     /* the dimension probe */

	CHECK_EQ(him_http(&msrv, "POST", "/v1/snapshots", SNAP, NULL, &body), 201);
	before = embed_requests(fake);
	req = facts_body("snp_sem", 100);
	CHECK_EQ(him_http(&msrv, "POST", "/v1/records", req, NULL, &body), 201);
	CHECK_EQ(embed_requests(fake), before + 1);    /* one batch */
	{
		json_t *sent = fake_llm_request_json(fake, fake_llm_request_count(fake) - 1);

		CHECK_STR(kjson_str(sent, "model"), "nomic-embed-text");
		CHECK_EQ(json_array_size(kjson_arr(sent, "input")), NFACTS);
		json_decref(sent);
	}
	/* The fake's vectors are 32-dimensional: a vector of 384 is refused. */
	CHECK_EQ(him_http(&msrv, "POST", "/v1/records",
			  "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":9,\"vector\":[1,2]}]}",
			  NULL, &body), 400);
	CHECK_CONTAINS(buf_str(&body), "32");

	/* The fake's vectors are a hash of the text: the goal equal to a fact
	 * finds that fact. */
	q = goal_query("snp_sem", "emb", FACTS[2], 3);
	before = embed_requests(fake);
	CHECK_EQ(him_http(&msrv, "POST", "/v1/query", q, NULL, &body), 200);
	CHECK_EQ(embed_requests(fake), before + 1);
	j = body_json();
	CHECK_EQ(first_id(j), 102);
	CHECK(json_number_value(json_object_get(json_array_get(kjson_arr(j, "records"), 0),
						"score")) > 0.99);
	json_decref(j);

	/* The model failing: a clear 502, nothing half-added. */
	fake_llm_fail_embeds(fake, 500, 100);
	CHECK_EQ(him_http(&msrv, "POST", "/v1/records", req, NULL, &body), 502);
	CHECK_CONTAINS(buf_str(&body), "HTTP 500");
	CHECK_CONTAINS(buf_str(&body), "ollama/nomic-embed-text");
	fake_llm_fail_embeds(fake, 0, 0);

	REQUIRE(him_server_stop_clean(&msrv) == 0);
	free(q);
	free(req);
	free(dir);
	kith_env_release(&menv);
	fake_llm_stop(fake);
}

/* A model that cannot be reached at start-up: tiles are still served, the
 * semantic features are off and say so. */
static void test_model_unreachable(void)
{
	struct fake_llm *fake = fake_llm_start(FAKE_LLM_OLLAMA);
	struct kith_env menv;
	struct him_server msrv;
	const char *failure = NULL;
	char *dir = test_path("him-nomodel"), *url;
	struct proc_result r;

	REQUIRE(fake);
	url = xstrdup(fake_llm_url(fake));
	fake_llm_stop(fake);            /* its port now refuses connections */
	kith_env_init(&menv, "him-nomodel");
	kith_env_set(&menv, "OLLAMA_API_URL", url);
	kith_env_set(&menv, "OLLAMA_EMBEDDING_MODEL", "nomic-embed-text");
	kith_env_set(&menv, "LLM_MAX_RETRIES", "0");
	REQUIRE(him_server_start(&msrv, &menv, dir, &failure, NULL) == 0);
	CHECK_EQ(him_http(&msrv, "POST", "/v1/snapshots", SNAP, NULL, &body), 201);
	CHECK_EQ(him_http(&msrv, "POST", "/v1/records",
			  "{\"snapshot_id\":\"snp_sem\",\"records\":[{\"id\":1,\"text\":\"x\"}]}",
			  NULL, &body), 501);
	CHECK_CONTAINS(buf_str(&body), "no embedder");
	REQUIRE(him_server_stop(&msrv, &r) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.err, "semantic records and queries are off");
	CHECK_CONTAINS(r.err, "cannot reach Ollama");
	proc_result_release(&r);
	free(url);
	free(dir);
	kith_env_release(&menv);
}

int main(void)
{
	if (him_test_start(&env, &srv, &store_dir, "him-sem") != 0)
		return 1;
	RUN(test_records_and_semantic_query);
	RUN(test_vectors);
	RUN(test_hostile_records);
	RUN(test_keyword_stream_unchanged);
	RUN(test_hints);
	RUN(test_concurrent);
	RUN(test_restart);
	/* A clean stop: the indexes close (merging), sanitizers find nothing. */
	him_server_stop_clean(&srv);
	RUN(test_fsck_clean);
	RUN(test_model_embedder);
	RUN(test_model_unreachable);
	buf_release(&body);
	kith_env_release(&env);
	free(store_dir);
	free(index_stream);
	return test_summary();
}
