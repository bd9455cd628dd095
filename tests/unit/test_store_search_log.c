/* test_store_search_log.c — the search_log rows: insert, read back newest
 * first, sources as a list, the extraction queue. */
#include "core/alloc.h"
#include "store/store.h"
#include "support/test.h"

static struct store *st;

static void test_add_and_read(void)
{
	static const char *const src[] = { "https://a.example/", "https://b.example/\"quoted\"" };
	struct store_search_log_new ok = {
		.query = "weather in Oslo", .response = "Cold.", .sources = src, .nsources = 2,
		.image_url = "https://img.example/a.jpg", .duration_ms = 812,
		.author_id = "u1", .created_at = 1000,
	};
	struct store_search_log_new bad = {
		.query = "second", .error = "Perplexity answered HTTP 500", .duration_ms = 5,
		.trigger = "learn_command", .created_at = 2000,
	};
	struct store_search_log *rows = NULL;
	size_t n = 0;
	int64_t id1 = 0, id2 = 0;
	char *why = NULL;

	CHECK_EQ(store_search_log_add(st, &ok, &id1, &why), KITH_OK);
	CHECK_EQ(store_search_log_add(st, &bad, &id2, &why), KITH_OK);
	CHECK(id1 > 0 && id2 > id1);
	CHECK_EQ(store_search_log_recent(st, 0, &rows, &n, &why), KITH_OK);
	REQUIRE(n == 2);
	CHECK_EQ(rows[0].id, id2);
	CHECK_STR(rows[0].query, "second");
	CHECK_STR(rows[0].response, "");
	CHECK_STR(rows[0].error, "Perplexity answered HTTP 500");
	CHECK_STR(rows[0].trigger, "learn_command");
	CHECK(rows[0].author_id == NULL && rows[0].image_url == NULL);
	CHECK_EQ(rows[0].nsources, 0);
	CHECK(rows[0].sources != NULL && rows[0].sources[0] == NULL);
	CHECK_EQ(rows[1].created_at, 1000);
	CHECK_STR(rows[1].response, "Cold.");
	CHECK_STR(rows[1].trigger, "user_message");
	CHECK_STR(rows[1].image_url, "https://img.example/a.jpg");
	CHECK_EQ(rows[1].duration_ms, 812);
	REQUIRE(rows[1].nsources == 2);
	CHECK_STR(rows[1].sources[1], "https://b.example/\"quoted\"");
	CHECK(rows[1].sources[2] == NULL);
	store_search_logs_free(rows, n);

	CHECK_EQ(store_search_log_recent(st, 1, &rows, &n, &why), KITH_OK);
	CHECK_EQ(n, 1);
	store_search_logs_free(rows, n);
	CHECK(why == NULL);
}

static void test_extraction_queue(void)
{
	struct store_search_log *rows = NULL;
	size_t n = 0, before;
	char *why = NULL;

	CHECK_EQ(store_search_log_unextracted(st, 0, &rows, &n, &why), KITH_OK);
	before = n;
	REQUIRE(n >= 1);
	CHECK_EQ(store_search_log_mark_extracted(st, rows[0].id, &why), KITH_OK);
	store_search_logs_free(rows, n);
	CHECK_EQ(store_search_log_unextracted(st, 0, &rows, &n, &why), KITH_OK);
	CHECK_EQ(n, before - 1);
	store_search_logs_free(rows, n);
	CHECK_EQ(store_search_log_mark_extracted(st, 999999, &why), KITH_ENOTFOUND);
	free(why);
}

static void test_needs_query(void)
{
	struct store_search_log_new e = { .response = "x" };
	char *why = NULL;

	CHECK_EQ(store_search_log_add(st, &e, NULL, &why), KITH_EINVAL);
	free(why);
}

int main(void)
{
	char *path = test_path("search_log.db"), *why = NULL;

	if (store_open(path, &st, &why) != KITH_OK || store_migrate(st, NULL, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "store: %s", why ? why : "?");
		return test_summary();
	}
	RUN(test_add_and_read);
	RUN(test_extraction_queue);
	RUN(test_needs_query);
	store_close(st);
	free(path);
	return test_summary();
}
