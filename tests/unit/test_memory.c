/* test_memory.c — long-term memory: dedupe, pending embeddings embedded
 * later, hybrid recall by keywords and by meaning, separate scopes,
 * recency and salience, hostile queries, snapshot names from scopes. */
#include "support/test.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "him/him.h"
#include "llm/embed.h"
#include "llm/llm.h"
#include "memory/memory.h"
#include "memory/memory_int.h"
#include "store/store.h"

#include <stdlib.h>

#define DAY_MS (24LL * 3600 * 1000)

struct fixture {
	struct store *st;
	struct memory *m;
	struct embedder *e;
	char *him_dir;
};

static bool open_fixture(struct fixture *f, const char *name, struct embedder *e)
{
	char *db = xasprintf("%s/%s.db", test_tmpdir(), name);
	struct memory_options o = { 0 };
	char *why = NULL;
	bool ok;

	memset(f, 0, sizeof(*f));
	f->e = e;
	f->him_dir = xasprintf("%s/%s-him", test_tmpdir(), name);
	ok = store_open(db, &f->st, &why) == KITH_OK && store_migrate(f->st, NULL, &why) == KITH_OK;
	o.him_dir = f->him_dir;
	o.embedder = e;
	ok = ok && memory_open(&o, &f->m, &why) == KITH_OK;
	if (!ok)
		test_fail_(__FILE__, __LINE__, "fixture: %s", why ? why : "?");
	free(why);
	free(db);
	return ok;
}

static void close_fixture(struct fixture *f)
{
	memory_close(f->m);
	store_close(f->st);
	embedder_free(f->e);
	free(f->him_dir);
}

static int64_t remember(struct fixture *f, const char *scope, const char *speaker,
			const char *text, double salience, int64_t at)
{
	struct memory_new n = { .scope = scope, .speaker = speaker, .text = text,
				.salience = salience, .created_at = at };
	int64_t id = 0;
	char *why = NULL;

	if (memory_add(f->m, f->st, &n, 1, &id, NULL, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "memory_add: %s", why ? why : "?");
	free(why);
	return id;
}

static size_t recall(struct fixture *f, const char *scope, const char *text, bool no_recency,
		     struct memory_hit **hits)
{
	struct memory_query q = { .scope = scope, .text = text, .limit = 5,
				  .no_recency = no_recency };
	size_t n = 0;
	char *why = NULL;

	*hits = NULL;
	if (memory_recall(f->m, f->st, &q, hits, &n, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "memory_recall: %s", why ? why : "?");
	free(why);
	return n;
}

static void add_some(struct fixture *f, const char *scope)
{
	int64_t t = clock_now_ms() - 10 * DAY_MS;

	remember(f, scope, "Ana", "I adopted a golden retriever puppy named Biscuit.", 0.5, t);
	remember(f, scope, "Ben", "I have been learning to play the cello.", 0.5, t);
	remember(f, scope, "Ana", "My photography exhibition opens in March.", 0.5, t);
	remember(f, scope, "Ben", "We went camping by the lake last weekend.", 0.5, t);
	remember(f, scope, "Ana", "Pottery class on Tuesdays keeps me calm.", 0.5, t);
}

static void test_dedupe(void)
{
	struct fixture f;
	struct memory_new n[3] = {
		{ .scope = "global", .text = "Ana likes green tea" },
		{ .scope = "global", .text = "  ana LIKES green\ttea " },
		{ .scope = "other", .text = "Ana likes green tea" },
	};
	int64_t ids[3];
	bool dup[3];
	char *why = NULL;

	REQUIRE(open_fixture(&f, "dedupe", embedder_hash_new(0)));
	REQUIRE(memory_add(f.m, f.st, n, 3, ids, dup, &why) == KITH_OK);
	CHECK(!dup[0]);
	CHECK(dup[1]);
	CHECK_EQ(ids[0], ids[1]);
	CHECK(!dup[2]);
	CHECK(ids[2] != ids[0]);
	REQUIRE(memory_add(f.m, f.st, n, 1, ids, dup, &why) == KITH_OK);
	CHECK(dup[0]);
	/* empty text or an oversized scope is refused */
	struct memory_new bad = { .scope = "global", .text = "" };
	CHECK(memory_add(f.m, f.st, &bad, 1, NULL, NULL, &why) == KITH_EINVAL);
	free(why);
	why = NULL;
	char scope[MEMORY_SCOPE_MAX + 2];
	memset(scope, 's', sizeof scope - 1);
	scope[sizeof scope - 1] = '\0';
	bad = (struct memory_new){ .scope = scope, .text = "x" };
	CHECK(memory_add(f.m, f.st, &bad, 1, NULL, NULL, &why) == KITH_EINVAL);
	free(why);
	close_fixture(&f);
}

static void test_recall_keywords_and_meaning(void)
{
	struct fixture f;
	struct memory_hit *h;
	size_t n;

	REQUIRE(open_fixture(&f, "recall", embedder_hash_new(0)));
	add_some(&f, "global");
	CHECK(memory_settle(f.m, f.st, 10000));

	n = recall(&f, "global", "What is the name of Ana's puppy?", true, &h);
	REQUIRE(n >= 1);
	CHECK_CONTAINS(h[0].text, "Biscuit");
	CHECK(h[0].keyword_score > 0);
	CHECK(h[0].relevance > 0 && h[0].relevance <= 1);
	CHECK_STR(h[0].speaker, "Ana");
	memory_hits_free(h, n);

	/* a misspelling FTS cannot match: found by the vector side */
	n = recall(&f, "global", "photograpy exibition", true, &h);
	REQUIRE(n >= 1);
	CHECK_CONTAINS(h[0].text, "photography");
	CHECK(h[0].vector_score > 0);
	CHECK(h[0].keyword_score == 0);
	memory_hits_free(h, n);

	/* inflections and stems */
	n = recall(&f, "global", "who camped near a lake?", true, &h);
	REQUIRE(n >= 1);
	CHECK_CONTAINS(h[0].text, "camping");
	memory_hits_free(h, n);
	close_fixture(&f);
}

static void test_scopes_are_separate(void)
{
	struct fixture f;
	struct memory_hit *h;
	size_t n;

	REQUIRE(open_fixture(&f, "scopes", embedder_hash_new(0)));
	remember(&f, "discord:1/2", "Ana", "The secret word is marmalade.", 0.5, 0);
	remember(&f, "discord:1.2", "Ana", "Nothing to see here.", 0.5, 0);
	CHECK(memory_settle(f.m, f.st, 10000));
	n = recall(&f, "discord:1.2", "secret word marmalade", true, &h);
	for (size_t i = 0; i < n; i++)
		CHECK(strstr(h[i].text, "marmalade") == NULL);
	memory_hits_free(h, n);
	n = recall(&f, "discord:1/2", "secret word marmalade", true, &h);
	REQUIRE(n == 1);
	CHECK_STR(h[0].scope, "discord:1/2");
	memory_hits_free(h, n);
	n = recall(&f, "nowhere", "marmalade", true, &h);
	CHECK_EQ(n, 0);
	memory_hits_free(h, n);
	close_fixture(&f);
}

static void test_recency_and_salience(void)
{
	struct fixture f;
	struct memory_hit *h;
	int64_t now = clock_now_ms();
	size_t n;

	REQUIRE(open_fixture(&f, "recency", embedder_hash_new(0)));
	int64_t old = remember(&f, "g", NULL, "tea at the harbour cafe in the morning", 0.5,
			       now - 120 * DAY_MS);
	int64_t fresh = remember(&f, "g", NULL, "tea at the harbour cafe in the evening", 0.5,
				 now - DAY_MS / 2);
	CHECK(memory_settle(f.m, f.st, 10000));
	n = recall(&f, "g", "harbour cafe tea", false, &h);
	REQUIRE(n == 2);
	CHECK_EQ(h[0].id, fresh);
	CHECK(h[0].score > h[0].relevance);      /* the recency bonus */
	CHECK(h[0].score >= h[1].score);
	memory_hits_free(h, n);
	(void)old;

	int64_t dull = remember(&f, "s", NULL, "walked the dog along the river path", 0.0,
				now - 30 * DAY_MS);
	int64_t vivid = remember(&f, "s", NULL, "walked the dog along the river trail", 1.0,
				 now - 30 * DAY_MS);
	CHECK(memory_settle(f.m, f.st, 10000));
	n = recall(&f, "s", "dog river walk", false, &h);
	REQUIRE(n == 2);
	CHECK_EQ(h[0].id, vivid);
	CHECK_EQ(h[1].id, dull);
	memory_hits_free(h, n);
	close_fixture(&f);
}

static void test_hostile_queries(void)
{
	static const char *const q[] = {
		"\"", "*", "NEAR(", "-", "text:secret", "speaker:Ana OR", "((((", "\xff\xfe",
		"", "   ", "the", "'; DROP TABLE memories; --",
	};
	struct fixture f;

	REQUIRE(open_fixture(&f, "hostile", embedder_hash_new(0)));
	add_some(&f, "global");
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		struct memory_hit *h = NULL;
		size_t n = recall(&f, "global", q[i], false, &h);
		memory_hits_free(h, n);
	}
	struct memory_query bad = { .scope = NULL, .text = "x" };
	struct memory_hit *h = NULL;
	size_t n = 0;
	char *why = NULL;
	CHECK(memory_recall(f.m, f.st, &bad, &h, &n, &why) == KITH_EINVAL);
	free(why);
	close_fixture(&f);
}

/* An embedder whose model is unreachable: memories stay pending (keyword
 * recall still finds them); a later memory with a working embedder adopts
 * and embeds them. */
static void test_pending_then_embedded(void)
{
	struct llm_config cfg;
	struct llm_client *c;
	struct embedder *bad = NULL;
	struct fixture f;
	struct memory_hit *h;
	size_t n, done = 0, left = 0;
	char *why = NULL;
	int64_t ids[2];
	struct memory_new in[2] = {
		{ .scope = "g", .speaker = "Ana", .text = "The spare key is under the blue flowerpot." },
		{ .scope = "g", .speaker = "Ben", .text = "Ben's birthday is on the ninth of March." },
	};

	llm_config_init(&cfg);
	cfg.provider = LLM_PROVIDER_OLLAMA;
	cfg.base_url = xstrdup("http://127.0.0.1:1");
	cfg.models[LLM_ROLE_EMBED] = xstrdup("nomic-embed-text");
	cfg.max_attempts = 1;
	cfg.connect_timeout_ms = 1000;
	cfg.timeout_ms = 2000;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);
	REQUIRE(embedder_llm_new(c, &bad, &why) == KITH_OK);

	REQUIRE(open_fixture(&f, "pending", bad));
	REQUIRE(memory_add(f.m, f.st, in, 2, ids, NULL, &why) == KITH_OK);
	CHECK(store_memories_pending_count(f.st, "any", &left, &why) == KITH_OK && left == 2);
	CHECK(memory_embed_pending(f.m, f.st, 0, &done, &why) != KITH_OK);
	free(why);
	why = NULL;
	CHECK_EQ(done, 0);
	CHECK(!memory_settle(f.m, f.st, 50));
	n = recall(&f, "g", "where is the spare key?", true, &h);
	REQUIRE(n >= 1);
	CHECK_EQ(h[0].id, ids[0]);
	CHECK(h[0].vector_score == 0);
	memory_hits_free(h, n);
	memory_close(f.m);
	embedder_free(bad);
	llm_client_free(c);

	/* the same database with the hashing embedder */
	struct memory_options o = { .him_dir = f.him_dir };
	f.e = embedder_hash_new(0);
	o.embedder = f.e;
	REQUIRE(memory_open(&o, &f.m, &why) == KITH_OK);
	REQUIRE(memory_embed_pending(f.m, f.st, 0, &done, &why) == KITH_OK);
	CHECK_EQ(done, 2);
	CHECK(store_memories_pending_count(f.st, "hash-v1:384", &left, &why) == KITH_OK &&
	      left == 0);
	CHECK(memory_settle(f.m, f.st, 10000));
	n = recall(&f, "g", "birthdy", true, &h);   /* vector side only */
	REQUIRE(n >= 1);
	CHECK_EQ(h[0].id, ids[1]);
	CHECK(h[0].vector_score > 0);
	memory_hits_free(h, n);
	close_fixture(&f);
}

static void test_background_thread(void)
{
	char *db = xasprintf("%s/bg.db", test_tmpdir());
	char *him = xasprintf("%s/bg-him", test_tmpdir());
	struct embedder *e = embedder_hash_new(0);
	struct memory_options o = { .him_dir = him, .embedder = e, .db_path = db,
				    .retry_interval_ms = 10 };
	struct store *st = NULL;
	struct memory *m = NULL;
	char *why = NULL;
	size_t left = 1;

	REQUIRE(store_open(db, &st, &why) == KITH_OK && store_migrate(st, NULL, &why) == KITH_OK);
	/* a row written behind memory's back is pending; the thread embeds it */
	struct store_memory_new row = { .scope = "g", .text = "written directly", .digest = "d" };
	int64_t id;
	REQUIRE(store_memories_add(st, &row, 1, &id, NULL, &why) == KITH_OK);
	REQUIRE(memory_open(&o, &m, &why) == KITH_OK);
	int64_t deadline = clock_mono_ms() + 10000;
	while (clock_mono_ms() < deadline) {
		if (store_memories_pending_count(st, "hash-v1:384", &left, &why) == KITH_OK &&
		    left == 0)
			break;
		memory_kick(m);
		sched_yield();
	}
	CHECK_EQ(left, 0);
	memory_close(m);
	store_close(st);
	embedder_free(e);
	free(db);
	free(him);
}

static void test_recent(void)
{
	struct fixture f;
	struct memory_hit *h = NULL;
	size_t n = 0;
	char *why = NULL;

	REQUIRE(open_fixture(&f, "recent", embedder_hash_new(0)));
	remember(&f, "g", NULL, "first", 0.5, 1000);
	remember(&f, "g", NULL, "third", 0.5, 3000);
	remember(&f, "g", NULL, "second", 0.5, 2000);
	REQUIRE(memory_recent(f.m, f.st, "g", 2, &h, &n, &why) == KITH_OK);
	REQUIRE(n == 2);
	CHECK_STR(h[0].text, "third");
	CHECK_STR(h[1].text, "second");
	memory_hits_free(h, n);
	close_fixture(&f);
}

static void test_scope_names(void)
{
	char a[HIM_NAME_MAX + 1], b[HIM_NAME_MAX + 1];
	char *why = NULL;
	char longs[200];

	memory_scope_name("global", a);
	CHECK_STR(a, "global");
	memory_scope_name("discord:1/2", a);
	memory_scope_name("discord:1.2", b);
	CHECK(strcmp(a, b) != 0);
	CHECK(strncmp(a, "discord_1_2-", 12) == 0);
	CHECK(him_check_name("snapshot_id", a, &why) == KITH_OK);
	memory_scope_name("..", a);
	CHECK(him_check_name("snapshot_id", a, &why) == KITH_OK);
	memory_scope_name(".hidden", a);
	CHECK(him_check_name("snapshot_id", a, &why) == KITH_OK);
	memory_scope_name("a..b", a);
	CHECK(him_check_name("snapshot_id", a, &why) == KITH_OK);
	memset(longs, 'x', sizeof longs - 1);
	longs[sizeof longs - 1] = '\0';
	memory_scope_name(longs, a);
	CHECK(him_check_name("snapshot_id", a, &why) == KITH_OK);
	longs[150] = 'y';
	memory_scope_name(longs, b);
	CHECK(strcmp(a, b) != 0);
	memory_scope_name("ünïcödé", a);
	CHECK(him_check_name("snapshot_id", a, &why) == KITH_OK);
	free(why);
}

int main(void)
{
	RUN(test_dedupe);
	RUN(test_recall_keywords_and_meaning);
	RUN(test_scopes_are_separate);
	RUN(test_recency_and_salience);
	RUN(test_hostile_queries);
	RUN(test_pending_then_embedded);
	RUN(test_background_thread);
	RUN(test_recent);
	RUN(test_scope_names);
	return test_summary();
}
