/* test_store_knowledge.c — the knowledge rows: entities (normalised,
 * unique per user, embeddings round-trip), facts with provenance, the
 * unnotified queue without vetoed entities, engagements, the extraction
 * queue, prompts, events, schedules and the profile. */
#include "core/alloc.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"

static struct store *st;

static void test_entities_and_facts(void)
{
	float v[3] = { 0.5f, -1.25f, 3.0f };
	struct store_entity_new ne = { .user = "u", .name = "  Mars   Rover ", .tagline = "rover",
				       .embedding = v, .dim = 3, .heat = 1.5 };
	struct store_entity e;
	struct store_fact_new fn = { .content = "It has six wheels.", .notified_at = 7 };
	struct store_fact *f = NULL;
	struct store_engagement_new gn = { .user = "u", .type = "message_mention",
					   .valence = "positive", .strength = 0.2 };
	struct store_engagement *g = NULL;
	int64_t id = 0, id2 = 0, fid = 0;
	size_t n = 0;
	char *why = NULL;

	CHECK_EQ(store_entity_add(st, &ne, &id, &why), KITH_OK);
	ne.name = "mars rover";
	CHECK_EQ(store_entity_add(st, &ne, &id2, &why), KITH_EEXIST);
	CHECK_EQ(id2, id);
	REQUIRE(store_entity_find(st, "u", "MARS ROVER", &e, &why) == KITH_OK);
	CHECK_STR(e.name, "mars rover");
	CHECK(e.dim == 3 && e.embedding[1] == -1.25f && e.heat == 1.5);
	store_entity_release(&e);
	CHECK_EQ(store_entity_find(st, "other", "mars rover", &e, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	fn.entity_id = id;
	CHECK_EQ(store_fact_add(st, &fn, &fid, &why), KITH_OK);
	fn.content = "It found clay.";
	fn.notified_at = 0;
	fn.source_search_log_id = 0;
	CHECK_EQ(store_fact_add(st, &fn, NULL, &why), KITH_OK);
	CHECK_EQ(store_facts_for_entity(st, id, &f, &n, &why), KITH_OK);
	CHECK_EQ(n, 2);
	store_facts_free(f, n);
	CHECK_EQ(store_facts_unnotified(st, "u", &f, &n, &why), KITH_OK);
	CHECK_EQ(n, 1);
	store_facts_free(f, n);
	CHECK_EQ(store_entity_set_heat(st, id, 0, 0, true, &why), KITH_OK);
	CHECK_EQ(store_facts_unnotified(st, "u", &f, &n, &why), KITH_OK);
	CHECK_EQ(n, 0);     /* vetoed entities are never news */
	store_facts_free(f, n);
	gn.entity_id = id;
	CHECK_EQ(store_engagement_add(st, &gn, NULL, &why), KITH_OK);
	CHECK_EQ(store_engagements_for_entity(st, id, &g, &n, &why), KITH_OK);
	CHECK(n == 1 && g[0].strength == 0.2);
	store_engagements_free(g, n);
	CHECK_EQ(store_entity_delete(st, id, &why), KITH_OK);
	CHECK_EQ(store_fact_count(st, id, &n, &why), KITH_OK);
	CHECK_EQ(n, 0);
}

static void test_queue(void)
{
	struct new_message m = { .direction = MSG_INCOMING, .channel = "console",
				 .conversation = "c", .author_id = "u", .content = "hello there" };
	struct store_message *rows = NULL;
	struct store_knowledge_backlog b;
	size_t n = 0;
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_message_add(st, &m, &id, &why), KITH_OK);
	CHECK_EQ(store_knowledge_backlog(st, &b, &why), KITH_OK);
	CHECK_EQ(b.messages, 1);
	CHECK_EQ(store_knowledge_messages_pending(st, 0, &rows, &n, &why), KITH_OK);
	CHECK(n == 1 && rows[0].id == id);
	store_messages_free(rows, n);
	CHECK_EQ(store_knowledge_message_done(st, id, &why), KITH_OK);
	CHECK_EQ(store_knowledge_message_done(st, id, &why), KITH_OK);
	CHECK_EQ(store_knowledge_backlog(st, &b, &why), KITH_OK);
	CHECK_EQ(b.messages, 0);
}

static void test_prompts_events_profile(void)
{
	struct store_learn_prompt *lp = NULL;
	struct store_follow_prompt_new fn = { .user = "u", .prompt = "space news" };
	struct store_follow_prompt *fp = NULL;
	struct store_event_new en = { .user = "u", .headline = "Rover lands", .url = "https://n/1" };
	struct store_event *ev = NULL;
	struct store_user_schedule_new sn = { .user = "u", .cron = "0 9 * * *", .prompt = "news" };
	struct store_user_schedule *us = NULL;
	struct store_user_profile p = { .name = "Ada", .timezone = "Europe/Oslo" }, got;
	int64_t id = 0, id2 = 0, f1 = 0, f2 = 0;
	size_t n = 0;
	char *why = NULL;

	CHECK_EQ(store_learn_prompt_add(st, "u", "kef speakers", 2, &id, &why), KITH_OK);
	CHECK_EQ(store_learn_prompt_spend(st, id, &why), KITH_OK);
	CHECK_EQ(store_learn_prompt_set_status(st, id, "completed", &why), KITH_OK);
	CHECK_EQ(store_learn_prompts_list(st, "u", "completed", &lp, &n, &why), KITH_OK);
	CHECK(n == 1 && lp[0].searches_remaining == 1 && lp[0].completed_at > 0);
	store_learn_prompts_free(lp, n);
	CHECK_EQ(store_follow_prompt_add(st, &fn, &f1, &why), KITH_OK);
	CHECK_EQ(store_follow_prompt_add(st, &fn, &f2, &why), KITH_OK);
	CHECK_EQ(store_follow_prompt_polled(st, f1, 5, &why), KITH_OK);
	CHECK_EQ(store_follow_prompts_by_poll(st, NULL, &fp, &n, &why), KITH_OK);
	CHECK(n == 2 && fp[0].id == f2);    /* never polled first */
	store_follow_prompts_free(fp, n);
	CHECK_EQ(store_event_add(st, &en, &id, &why), KITH_OK);
	CHECK_EQ(store_event_add(st, &en, &id2, &why), KITH_EEXIST);
	CHECK_EQ(id, id2);
	CHECK_EQ(store_events_recent(st, "u", 0, &ev, &n, &why), KITH_OK);
	CHECK_EQ(n, 1);
	store_events_free(ev, n);
	CHECK_EQ(store_user_schedule_add(st, &sn, &id, &why), KITH_OK);
	CHECK_EQ(store_user_schedules_list(st, "u", &us, &n, &why), KITH_OK);
	CHECK(n == 1 && strcmp(us[0].timezone, "UTC") == 0);
	store_user_schedules_free(us, n);
	CHECK_EQ(store_user_profile_get(st, "u", &got, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(store_user_profile_put(st, "u", &p, &why), KITH_OK);
	CHECK_EQ(store_user_profile_get(st, "u", &got, &why), KITH_OK);
	CHECK_STR(got.name, "Ada");
	CHECK(got.location == NULL);
	store_user_profile_release(&got);
}

int main(void)
{
	st = storetest_open("knowledge.db");
	if (st) {
		RUN(test_entities_and_facts);
		RUN(test_queue);
		RUN(test_prompts_events_profile);
		store_close(st);
	}
	return test_summary();
}
