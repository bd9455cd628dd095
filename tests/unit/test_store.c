/* test_store.c — SQLite store: migrations, messages, LLM calls, threads. */
#include "support/test.h"
#include "core/alloc.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

static struct store *open_fresh(const char *name)
{
	char *path = test_path(name);
	struct store *st = NULL;
	char *why = NULL;

	if (store_open(path, &st, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "store_open: %s", why ? why : "?");
		free(why);
	}
	free(path);
	return st;
}

static void test_migrate_is_idempotent(void)
{
	struct store *st = open_fresh("m.db");
	int applied = -1, version = -1;
	char *why = NULL;

	REQUIRE(st);
	CHECK_EQ(store_migrate(st, &applied, &why), KITH_OK);
	CHECK_EQ(applied, store_migrations_latest());
	CHECK_EQ(store_schema_version(st, &version, &why), KITH_OK);
	CHECK_EQ(version, store_migrations_latest());
	CHECK_EQ(store_migrate(st, &applied, &why), KITH_OK);
	CHECK_EQ(applied, 0);
	CHECK_EQ(store_migrations_validate(&why), KITH_OK);
	store_close(st);
}

static void test_creates_parent_directories(void)
{
	struct store *st = open_fresh("a/b/c/kith.db");

	CHECK(st != NULL);
	store_close(st);
}

static void test_rejects_newer_schema(void)
{
	char *path = test_path("newer.db");
	struct store *st = NULL;
	sqlite3 *db;
	char *why = NULL;

	REQUIRE(store_open(path, &st, &why) == KITH_OK);
	REQUIRE(store_migrate(st, NULL, &why) == KITH_OK);
	store_close(st);
	REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
	sqlite3_exec(db, "INSERT INTO _migrations VALUES (9999, 'future', 0)", NULL, NULL, NULL);
	sqlite3_close(db);
	REQUIRE(store_open(path, &st, &why) == KITH_OK);
	CHECK_EQ(store_migrate(st, NULL, &why), KITH_EDB);
	CHECK_CONTAINS(why, "9999");
	free(why);
	store_close(st);
	free(path);
}

static void test_messages_recent_oldest_first(void)
{
	struct store *st = open_fresh("msg.db");
	struct store_message *rows = NULL;
	size_t n = 0;
	int64_t id = 0, first = 0;
	char *why = NULL;

	REQUIRE(st && store_migrate(st, NULL, &why) == KITH_OK);
	for (int i = 0; i < 5; i++) {
		char text[32];
		struct new_message m = {
			.direction = i % 2 ? MSG_OUTGOING : MSG_INCOMING,
			.channel = "console", .conversation = "default",
			.author_id = i % 2 ? "kith" : "owner", .content = text,
			.created_at = 1000 + i, .parent_id = first,
		};

		snprintf(text, sizeof(text), "message %d", i);
		CHECK_EQ(store_message_add(st, &m, &id, &why), KITH_OK);
		if (!first)
			first = id;
	}
	{
		struct new_message other = { .channel = "console", .conversation = "elsewhere",
					       .author_id = "x", .content = "not here" };
		CHECK_EQ(store_message_add(st, &other, NULL, &why), KITH_OK);
	}
	CHECK_EQ(store_messages_recent(st, "console", "default", 3, &rows, &n, &why), KITH_OK);
	REQUIRE(n == 3);
	CHECK_STR(rows[0].content, "message 2");
	CHECK_STR(rows[2].content, "message 4");
	CHECK_EQ(rows[1].direction, MSG_OUTGOING);
	CHECK_EQ(rows[2].parent_id, first);
	store_messages_free(rows, n);

	{
		struct new_message bad = { .channel = "console" };

		CHECK_EQ(store_message_add(st, &bad, NULL, &why), KITH_EINVAL);
		free(why);
		why = NULL;
	}
	store_close(st);
}

/* A quote-reply thread: found by platform id or by its (reformatted,
 * shortened) text, then walked up its parents, oldest first. */
static void test_threads_by_quote(void)
{
	struct store *st = open_fresh("thread.db");
	struct store_message *rows = NULL;
	size_t n = 0;
	int64_t ids[4] = { 0 }, found = 0;
	char *why = NULL;
	static const char *const texts[] = {
		"What is the tallest tree?", "**Hyperion**, a coast redwood: 116 m tall!",
		"and how old is it?", "unrelated chatter",
	};

	REQUIRE(st && store_migrate(st, NULL, &why) == KITH_OK);
	for (int i = 0; i < 4; i++) {
		struct new_message m = {
			.direction = i == 1 ? MSG_OUTGOING : MSG_INCOMING, .channel = "signal",
			.conversation = "+15550001", .author_id = i == 1 ? "kith" : "ada",
			.content = texts[i], .external_id = i == 0 ? "1700000000001" : NULL,
			.parent_id = i == 1 ? ids[0] : i == 2 ? ids[1] : 0, .created_at = 1000 + i,
		};

		CHECK_EQ(store_message_add(st, &m, &ids[i], &why), KITH_OK);
	}
	/* By platform id. */
	CHECK_EQ(store_message_find_quoted(st, "signal", "+15550001", "1700000000001", NULL,
					   &found, &why), KITH_OK);
	CHECK_EQ(found, ids[0]);
	/* By text without the Markdown, shortened. */
	CHECK_EQ(store_message_find_quoted(st, "signal", "+15550001", "no-such-id",
					   "Hyperion, a coast redwood: 116", &found, &why), KITH_OK);
	CHECK_EQ(found, ids[1]);
	/* Another conversation, or nothing alike: none. */
	CHECK_EQ(store_message_find_quoted(st, "signal", "+15550002", NULL, "Hyperion", &found,
					   &why), KITH_OK);
	CHECK_EQ(found, 0);
	CHECK_EQ(store_message_find_quoted(st, "signal", "+15550001", NULL, "!!!", &found, &why),
		 KITH_OK);
	CHECK_EQ(found, 0);

	CHECK_EQ(store_messages_thread(st, ids[2], 20, &rows, &n, &why), KITH_OK);
	REQUIRE(n == 3);
	CHECK_STR(rows[0].content, texts[0]);
	CHECK_STR(rows[1].content, texts[1]);
	CHECK_STR(rows[2].content, texts[2]);
	store_messages_free(rows, n);
	CHECK_EQ(store_messages_thread(st, ids[2], 2, &rows, &n, &why), KITH_OK);
	REQUIRE(n == 2);
	CHECK_STR(rows[0].content, texts[1]);
	store_messages_free(rows, n);
	store_close(st);
}

static void test_llm_call_recorded(void)
{
	struct store *st = open_fresh("calls.db");
	struct store_llm_call c = {
		.role = "main", .provider = "Ollama", .model = "m", .ok = 0,
		.error = "cannot reach", .attempts = 3, .duration_ms = 12,
		.prompt_tokens = -1, .completion_tokens = 7, .request = "{}",
	};
	int64_t id = 0;
	char *why = NULL;

	REQUIRE(st && store_migrate(st, NULL, &why) == KITH_OK);
	CHECK_EQ(store_llm_call_add(st, &c, &id, &why), KITH_OK);
	CHECK(id > 0);
	store_close(st);
}

struct writer {
	char *path;
	int failures;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;
	struct store *st = NULL;
	char *why = NULL;

	if (store_open(w->path, &st, &why) != KITH_OK) {
		w->failures++;
		free(why);
		return NULL;
	}
	for (int i = 0; i < 100; i++) {
		struct new_message m = { .channel = "t", .conversation = "c",
					   .author_id = "a", .content = "x" };

		if (store_message_add(st, &m, NULL, &why) != KITH_OK) {
			w->failures++;
			free(why);
			why = NULL;
		}
	}
	store_close(st);
	return NULL;
}

static void test_one_connection_per_thread(void)
{
	char *path = test_path("threads.db");
	struct store *st = NULL;
	struct writer w[4];
	pthread_t t[4];
	struct store_message *rows;
	size_t n;
	char *why = NULL;

	REQUIRE(store_open(path, &st, &why) == KITH_OK);
	REQUIRE(store_migrate(st, NULL, &why) == KITH_OK);
	for (int i = 0; i < 4; i++) {
		w[i].path = path;
		w[i].failures = 0;
		pthread_create(&t[i], NULL, write_many, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].failures, 0);
	}
	CHECK_EQ(store_messages_recent(st, "t", "c", 1000, &rows, &n, &why), KITH_OK);
	CHECK_EQ(n, 400);
	store_messages_free(rows, n);
	store_close(st);
	free(path);
}

int main(void)
{
	RUN(test_migrate_is_idempotent);
	RUN(test_creates_parent_directories);
	RUN(test_rejects_newer_schema);
	RUN(test_messages_recent_oldest_first);
	RUN(test_threads_by_quote);
	RUN(test_llm_call_recorded);
	RUN(test_one_connection_per_thread);
	return test_summary();
}
