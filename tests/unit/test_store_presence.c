/* test_store_presence.c — the presence rows: moods, people, the persona. */
#include "support/test.h"
#include "support/storetest.h"
#include "core/alloc.h"
#include "store/store.h"

#include <stdlib.h>

static void test_channel_rows(void)
{
	struct store *st = storetest_open("ch.db");
	struct store_presence_channel c = { 0 }, got;
	char *why = NULL;

	CHECK_EQ(store_presence_channel_get(st, "discord", "1", &got, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	for (int i = 0; i < STORE_PRESENCE_LEVELS; i++)
		c.levels[i] = 0.1 * (i + 1);
	c.levels[7] = 7;   /* clamped on the way in */
	c.updated_at = 1000;
	c.messages_since_reply = 3;
	CHECK_EQ(store_presence_channel_put(st, "discord", "1", &c, &why), KITH_OK);
	CHECK_EQ(store_presence_channel_get(st, "discord", "1", &got, &why), KITH_OK);
	CHECK(got.levels[0] > 0.099 && got.levels[0] < 0.101);
	CHECK(got.levels[7] == 1.0);
	CHECK_EQ(got.updated_at, 1000);
	CHECK_EQ(got.last_reply_at, 0);
	CHECK_EQ(got.messages_since_reply, 3);
	CHECK_EQ(got.last_snapshot_at, 0);
	CHECK_EQ(store_presence_channel_replied(st, "discord", "1", 5000, &why), KITH_OK);
	CHECK_EQ(store_presence_channel_get(st, "discord", "1", &got, &why), KITH_OK);
	CHECK_EQ(got.last_reply_at, 5000);
	CHECK_EQ(got.messages_since_reply, 0);
	/* Another conversation is another row. */
	CHECK_EQ(store_presence_channel_get(st, "discord", "2", &got, &why), KITH_ENOTFOUND);
	free(why);
	store_close(st);
}

static void put_user(struct store *st, const char *channel, const char *id, int64_t seen,
		     int64_t pinged)
{
	struct store_presence_user u = {
		.channel = (char *)channel, .user_id = (char *)id, .name = (char *)"Ada",
		.last_conversation = (char *)"c1", .first_seen = 10, .last_seen = seen,
		.last_pinged_at = pinged, .messages = 4, .affinity = 0.6, .trust = 0.5,
		.bond = 0.7, .irritation = 0.1,
	};
	char *why = NULL;

	if (store_presence_user_put(st, &u, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "put: %s", why ? why : "?");
	free(why);
}

static void test_user_rows(void)
{
	struct store *st = storetest_open("users.db");
	struct store_presence_user u;
	char *why = NULL;
	size_t n = 0;

	CHECK_EQ(store_presence_user_get(st, "discord", "u1", &u, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	put_user(st, "discord", "u1", 100, 0);
	CHECK_EQ(store_presence_user_get(st, "discord", "u1", &u, &why), KITH_OK);
	CHECK_STR(u.name, "Ada");
	CHECK_STR(u.last_conversation, "c1");
	CHECK_STR(u.preferences, "{}");
	CHECK_EQ(u.first_seen, 10);
	CHECK_EQ(u.last_seen, 100);
	CHECK_EQ(u.messages, 4);
	CHECK(u.bond > 0.69 && u.bond < 0.71);
	CHECK_EQ(u.last_pinged_at, 0);
	free(u.preferences);
	u.preferences = xstrdup("{\"likes_teasing\":false}");
	CHECK_EQ(store_presence_user_put(st, &u, &why), KITH_OK);
	store_presence_user_release(&u);
	CHECK_EQ(store_presence_user_get(st, "discord", "u1", &u, &why), KITH_OK);
	CHECK_STR(u.preferences, "{\"likes_teasing\":false}");
	store_presence_user_release(&u);
	/* Same id on another channel is another person. */
	put_user(st, "signal", "u1", 500, 0);
	CHECK_EQ(store_presence_users_count(st, &n, &why), KITH_OK);
	CHECK_EQ(n, 2);
	store_close(st);
}

static void test_quiet_and_claims(void)
{
	struct store *st = storetest_open("quiet.db");
	struct store_presence_user *q = NULL;
	size_t n = 0;
	bool claimed = false;
	char *why = NULL;

	put_user(st, "discord", "old", 100, 0);        /* silent, never pinged */
	put_user(st, "discord", "pinged", 150, 900);   /* silent, pinged recently */
	put_user(st, "discord", "recent", 2000, 0);    /* spoke lately */
	CHECK_EQ(store_presence_users_quiet(st, 1000, 500, 0, &q, &n, &why), KITH_OK);
	CHECK_EQ(n, 1);
	if (n == 1)
		CHECK_STR(q[0].user_id, "old");
	store_presence_users_free(q, n);
	/* A longer cooldown window lets the pinged one through too. */
	CHECK_EQ(store_presence_users_quiet(st, 1000, 1000, 0, &q, &n, &why), KITH_OK);
	CHECK_EQ(n, 2);
	if (n == 2) {   /* longest silent first */
		CHECK_STR(q[0].user_id, "old");
		CHECK_STR(q[1].user_id, "pinged");
	}
	store_presence_users_free(q, n);

	/* The claim is taken once. */
	CHECK_EQ(store_presence_user_claim_ping(st, "discord", "old", 3000, 1000, 500, &claimed,
						&why), KITH_OK);
	CHECK(claimed);
	CHECK_EQ(store_presence_user_claim_ping(st, "discord", "old", 3001, 1000, 500, &claimed,
						&why), KITH_OK);
	CHECK(!claimed);
	/* Someone who spoke meanwhile is not claimed. */
	CHECK_EQ(store_presence_user_claim_ping(st, "discord", "recent", 3000, 1000, 500,
						&claimed, &why), KITH_OK);
	CHECK(!claimed);
	CHECK_EQ(store_presence_users_quiet(st, 1000, 500, 0, &q, &n, &why), KITH_OK);
	CHECK_EQ(n, 0);
	store_presence_users_free(q, n);
	store_close(st);
}

static void test_persona_and_transactions(void)
{
	struct store *st = storetest_open("persona.db");
	struct store_persona p;
	struct store_presence_channel c = { .updated_at = 1 }, got;
	char *why = NULL;

	CHECK_EQ(store_persona_get(st, &p, &why), KITH_OK);
	CHECK(p.teasing > 0.29 && p.teasing < 0.31);   /* SEL's defaults */
	CHECK(p.empathy > 0.49 && p.empathy < 0.51);
	CHECK_STR(p.preferred_length, "medium");
	p.playfulness = 0.9;
	p.positive_reactions = 2;
	CHECK_EQ(store_persona_put(st, &p, &why), KITH_OK);
	CHECK_EQ(store_persona_get(st, &p, &why), KITH_OK);
	CHECK(p.playfulness > 0.89);
	CHECK_EQ(p.positive_reactions, 2);

	/* A rolled-back transaction leaves nothing behind. */
	CHECK_EQ(store_presence_begin(st, &why), KITH_OK);
	CHECK_EQ(store_presence_channel_put(st, "console", "default", &c, &why), KITH_OK);
	CHECK_EQ(store_presence_end(st, KITH_EIO, &why), KITH_EIO);
	CHECK_EQ(store_presence_channel_get(st, "console", "default", &got, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(store_presence_begin(st, &why), KITH_OK);
	CHECK_EQ(store_presence_channel_put(st, "console", "default", &c, &why), KITH_OK);
	CHECK_EQ(store_presence_end(st, KITH_OK, &why), KITH_OK);
	CHECK_EQ(store_presence_channel_get(st, "console", "default", &got, &why), KITH_OK);
	store_close(st);
}

int main(void)
{
	RUN(test_channel_rows);
	RUN(test_user_rows);
	RUN(test_quiet_and_claims);
	RUN(test_persona_and_transactions);
	return test_summary();
}
