/* test_store_memories.c — the memories table: dedupe by (scope, digest),
 * reads by ids, pending and embedded marks, BM25 keyword search with
 * hostile query text, recent by scope, and the FTS index kept in step. */
#include "support/test.h"
#include "support/storetest.h"
#include "core/alloc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdlib.h>

static int64_t add(struct store *st, const char *scope, const char *text, const char *digest,
		   int64_t at, bool *dup)
{
	struct store_memory_new m = { .scope = scope, .speaker = "Ana", .text = text,
				      .salience = 0.5, .created_at = at, .digest = digest };
	int64_t id = 0;
	char *why = NULL;

	if (store_memories_add(st, &m, 1, &id, dup, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "add: %s", why ? why : "?");
		free(why);
	}
	return id;
}

static void test_add_dedupe_get(void)
{
	struct store *st = storetest_open("dedupe.db");
	struct store_memory *rows = NULL;
	size_t n = 0;
	bool dup = true;
	char *why = NULL;

	REQUIRE(st);
	int64_t a = add(st, "global", "Ana paints lakes", "d1", 1000, &dup);
	CHECK(!dup);
	int64_t b = add(st, "global", "Ana paints lakes again", "d1", 2000, &dup);
	CHECK(dup);
	CHECK_EQ(a, b);
	int64_t c = add(st, "other", "Ana paints lakes", "d1", 1000, &dup);
	CHECK(!dup);
	CHECK(c != a);
	int64_t ids[] = { c, 999, a };
	REQUIRE(store_memories_get(st, ids, 3, &rows, &n, &why) == KITH_OK);
	REQUIRE(n == 2);
	CHECK_EQ(rows[0].id, c);
	CHECK_STR(rows[0].scope, "other");
	CHECK_EQ(rows[1].id, a);
	CHECK_STR(rows[1].text, "Ana paints lakes");
	CHECK_STR(rows[1].speaker, "Ana");
	CHECK_EQ(rows[1].created_at, 1000);
	CHECK(rows[1].embedded_with == NULL);
	store_memories_free(rows, n);

	/* salience is clamped; missing fields are refused */
	struct store_memory_new bad = { .scope = "global", .text = NULL, .digest = "x" };
	int64_t id;
	CHECK(store_memories_add(st, &bad, 1, &id, NULL, &why) == KITH_EINVAL);
	free(why);
	why = NULL;
	struct store_memory_new hot = { .scope = "global", .text = "t", .digest = "hot",
					.salience = 7 };
	REQUIRE(store_memories_add(st, &hot, 1, &id, NULL, &why) == KITH_OK);
	REQUIRE(store_memories_get(st, &id, 1, &rows, &n, &why) == KITH_OK);
	CHECK(n == 1 && rows[0].salience == 1.0);
	store_memories_free(rows, n);
	store_close(st);
}

static void test_pending_and_marks(void)
{
	struct store *st = storetest_open("pending.db");
	struct store_memory *rows = NULL;
	size_t n = 0, count = 0;
	char *why = NULL;

	REQUIRE(st);
	int64_t a = add(st, "s", "one", "1", 0, NULL);
	int64_t b = add(st, "s", "two", "2", 0, NULL);
	REQUIRE(store_memories_pending(st, "hash-v1:384", 0, &rows, &n, &why) == KITH_OK);
	CHECK_EQ(n, 2);
	store_memories_free(rows, n);
	REQUIRE(store_memories_mark_embedded(st, &a, 1, "hash-v1:384", &why) == KITH_OK);
	REQUIRE(store_memories_pending_count(st, "hash-v1:384", &count, &why) == KITH_OK);
	CHECK_EQ(count, 1);
	REQUIRE(store_memories_pending(st, "hash-v1:384", 10, &rows, &n, &why) == KITH_OK);
	CHECK(n == 1 && rows[0].id == b);
	store_memories_free(rows, n);
	/* another embedder's key: both are pending for it */
	REQUIRE(store_memories_pending_count(st, "ollama/x:768", &count, &why) == KITH_OK);
	CHECK_EQ(count, 2);
	/* marking does not disturb the keyword index */
	struct store_memory_match *m = NULL;
	REQUIRE(store_memories_search(st, "s", "one", 10, &m, &n, &why) == KITH_OK);
	CHECK(n == 1 && m[0].id == a);
	free(m);
	store_close(st);
}

static void test_keyword_search(void)
{
	struct store *st = storetest_open("search.db");
	struct store_memory_match *m = NULL;
	size_t n = 0;
	char *why = NULL;

	REQUIRE(st);
	int64_t lake = add(st, "s", "I painted a sunrise over the lake last year", "a", 0, NULL);
	int64_t dog = add(st, "s", "My dogs love running on the beach", "b", 0, NULL);
	add(st, "t", "another scope paints lakes too", "c", 0, NULL);
	REQUIRE(store_memories_search(st, "s", "When did she paint the lake?", 10, &m, &n, &why) ==
		KITH_OK);
	REQUIRE(n == 1);              /* porter: paint/painted, lake; scope filtered */
	CHECK_EQ(m[0].id, lake);
	CHECK(m[0].score > 0);
	free(m);
	REQUIRE(store_memories_search(st, "s", "DOG runs", 10, &m, &n, &why) == KITH_OK);
	CHECK(n == 1 && m[0].id == dog);
	free(m);

	/* hostile text is never an FTS syntax error */
	static const char *const hostile[] = {
		"\"", "\"\"\"", "*", "lake*", "NEAR(lake dog)", "NEAR(", "-lake", "text:lake",
		"speaker:Ana", "{text}: lake", "lake AND", "OR OR", "NOT", "(((", ")", "^lake",
		"lake + dog", "'; DROP TABLE memories; --", "“smart quotes”", "\xff\xfe\x80",
		"", "   ", "a", "the of and",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		{
			enum kith_status rc = store_memories_search(st, "s", hostile[i], 10, &m, &n, &why);
			if (rc != KITH_OK)
				test_fail_(__FILE__, __LINE__, "query [%s]: %s", hostile[i],
					   why ? why : "?");
			free(why);
			why = NULL;
			free(m);
			m = NULL;
		}
	}
	/* a long query is cut, not refused */
	char *big = xmalloc(100001);
	for (size_t i = 0; i < 100000; i++)
		big[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
	big[100000] = '\0';
	CHECK(store_memories_search(st, "s", big, 10, &m, &n, &why) == KITH_OK);
	free(m);
	free(big);
	store_close(st);
}

static void test_fts_query(void)
{
	char *q = store_fts_query("What did \"Ana\" paint* NEAR(x)?");

	CHECK_STR(q, "\"ana\" OR \"paint\" OR \"near\" OR \"x\"");
	free(q);
	q = store_fts_query("what is it");   /* only stopwords: keep them */
	CHECK_STR(q, "\"what\" OR \"is\" OR \"it\"");
	free(q);
	CHECK(store_fts_query("?!* -- ()") == NULL);
	CHECK(store_fts_query(NULL) == NULL);
}

static void test_recent(void)
{
	struct store *st = storetest_open("recent.db");
	struct store_memory *rows = NULL;
	size_t n = 0;
	char *why = NULL;

	REQUIRE(st);
	add(st, "s", "old", "1", 1000, NULL);
	add(st, "s", "new", "2", 3000, NULL);
	add(st, "s", "mid", "3", 2000, NULL);
	add(st, "t", "elsewhere", "4", 9000, NULL);
	REQUIRE(store_memories_recent(st, "s", 2, &rows, &n, &why) == KITH_OK);
	REQUIRE(n == 2);
	CHECK_STR(rows[0].text, "new");
	CHECK_STR(rows[1].text, "mid");
	store_memories_free(rows, n);
	store_close(st);
}

int main(void)
{
	RUN(test_add_dedupe_get);
	RUN(test_pending_and_marks);
	RUN(test_keyword_search);
	RUN(test_fts_query);
	RUN(test_recent);
	return test_summary();
}
