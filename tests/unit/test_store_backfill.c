/* test_store_backfill.c — backfill progress rows: absent, saved and read
 * back whole (NULLs included), replaced, forgotten one or all, and kept
 * across connections. */
#include "support/test.h"
#include "support/storetest.h"
#include "core/alloc.h"
#include "store/store.h"

#include <stdlib.h>

static void put(struct store *st, const struct store_backfill *b)
{
	char *why = NULL;

	if (store_backfill_put(st, b, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "put: %s", why ? why : "?");
		free(why);
	}
}

static void test_absent_then_saved(void)
{
	struct store *st = storetest_open("bf-saved.db");
	struct store_backfill b, got;
	char *why = NULL;

	REQUIRE(st);
	CHECK_EQ(store_backfill_get(st, "111", &got, &why), KITH_ENOTFOUND);
	CHECK(why != NULL);
	free(why);
	why = NULL;
	CHECK(got.channel_id == NULL);

	b = (struct store_backfill){ .channel_id = "111", .cursor = "900", .top = "990",
				     .messages = 100, .memories = 42 };
	put(st, &b);
	REQUIRE(store_backfill_get(st, "111", &got, &why) == KITH_OK);
	CHECK_STR(got.channel_id, "111");
	CHECK_STR(got.cursor, "900");
	CHECK_STR(got.top, "990");
	CHECK(got.floor == NULL);
	CHECK(!got.done);
	CHECK_EQ(got.messages, 100);
	CHECK_EQ(got.memories, 42);
	CHECK(got.updated_at > 0);
	store_backfill_release(&got);

	/* replaced whole: the pass finished */
	b = (struct store_backfill){ .channel_id = "111", .cursor = "500", .floor = "990",
				     .done = true, .messages = 250, .memories = 99 };
	put(st, &b);
	REQUIRE(store_backfill_get(st, "111", &got, &why) == KITH_OK);
	CHECK_STR(got.cursor, "500");
	CHECK(got.top == NULL);
	CHECK_STR(got.floor, "990");
	CHECK(got.done);
	CHECK_EQ(got.messages, 250);
	store_backfill_release(&got);
	store_close(st);

	/* another connection sees it */
	st = storetest_open("bf-saved.db");
	REQUIRE(store_backfill_get(st, "111", &got, &why) == KITH_OK);
	CHECK_STR(got.floor, "990");
	store_backfill_release(&got);
	store_close(st);
}

static void test_forget(void)
{
	struct store *st = storetest_open("bf-forget.db");
	struct store_backfill got;
	char *why = NULL;
	size_t n = 99;

	REQUIRE(st);
	put(st, &(struct store_backfill){ .channel_id = "1", .cursor = "10" });
	put(st, &(struct store_backfill){ .channel_id = "2", .cursor = "20" });
	put(st, &(struct store_backfill){ .channel_id = "3", .cursor = "30" });
	REQUIRE(store_backfill_forget(st, "2", &n, &why) == KITH_OK);
	CHECK_EQ(n, 1);
	CHECK_EQ(store_backfill_get(st, "2", &got, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	REQUIRE(store_backfill_get(st, "1", &got, &why) == KITH_OK);
	store_backfill_release(&got);
	REQUIRE(store_backfill_forget(st, "2", &n, &why) == KITH_OK);
	CHECK_EQ(n, 0);
	REQUIRE(store_backfill_forget(st, NULL, &n, &why) == KITH_OK);
	CHECK_EQ(n, 2);
	CHECK_EQ(store_backfill_get(st, "3", &got, &why), KITH_ENOTFOUND);
	free(why);
	store_close(st);
}

static void test_needs_a_channel(void)
{
	struct store *st = storetest_open("bf-bad.db");
	char *why = NULL;

	REQUIRE(st);
	CHECK_EQ(store_backfill_put(st, &(struct store_backfill){ .cursor = "1" }, &why),
		 KITH_EINVAL);
	free(why);
	store_close(st);
}

int main(void)
{
	RUN(test_absent_then_saved);
	RUN(test_forget);
	RUN(test_needs_a_channel);
	return test_summary();
}
