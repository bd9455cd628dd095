/* test_cmd_knowledge.c — /memory, /follow, /unfollow and /events against a
 * migrated store with rows inserted directly: listings, details, numbering,
 * deletion, another person's rows left alone, and every error answer. */
#include "support/test.h"
#include "support/storetest.h"
#include "support/itest.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "core/alloc.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static struct agent_deps deps;   /* no config: NEWS_API_KEY unset */

static char *run(struct store *st, const char *user, const char *text, enum kith_status *rc)
{
	struct inbound ev = { .conversation = "default", .author_id = (char *)user,
			      .text = (char *)text };
	struct cmd_ctx ctx = { .deps = &deps, .st = st, .ev = user ? &ev : NULL };
	char *reply = NULL;

	*rc = cmd_dispatch(&ctx, text, &reply);
	return reply;
}

static int64_t entity(struct store *st, const char *user, const char *name, const char *tagline,
		      double heat)
{
	struct store_entity_new e = { .user = user, .name = name, .tagline = tagline, .heat = heat };
	char *why = NULL;
	int64_t id = 0;

	CHECK_EQ(store_entity_add(st, &e, &id, &why), KITH_OK);
	return id;
}

static int64_t fact(struct store *st, int64_t entity_id, const char *content, int64_t at)
{
	struct store_fact_new f = { .entity_id = entity_id, .content = content, .learned_at = at };
	char *why = NULL;
	int64_t id = 0;

	CHECK_EQ(store_fact_add(st, &f, &id, &why), KITH_OK);
	return id;
}

/* 2026-03-01 12:34 UTC and later days. */
#define T0 1772368440000LL
#define DAY 86400000LL

static void test_memory(void)
{
	struct store *st = storetest_open("cmd-memory.db");
	int64_t rust, tea, jazz, other;
	enum kith_status rc;
	char *r, *why = NULL;
	size_t n = 0;

	REQUIRE(st);
	r = run(st, "ana", "/memory", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "You don't have any stored memories yet.");
	free(r);

	rust = entity(st, "ana", "Rust", "a systems language", 2.5);
	tea = entity(st, "ana", "oolong tea", NULL, 4.0);
	jazz = entity(st, "ana", "jazz", NULL, 0.5);
	other = entity(st, "bo", "secret project", "bo's", 9.0);
	fact(st, rust, "Ana writes Rust at work", T0 + DAY);
	fact(st, rust, "Ana started Rust in 2020", T0);
	fact(st, tea, "Ana drinks oolong every morning", T0);
	fact(st, other, "Bo's secret", T0);

	/* ranked by heat, only Ana's */
	r = run(st, "ana", "/memory", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "**Your Memory**\n"
		     "\n1. **oolong tea** (1 fact, heat: 4.00)"
		     "\n2. **rust** — a systems language (2 facts, heat: 2.50)"
		     "\n3. **jazz** (0 facts, heat: 0.50)");
	free(r);

	/* details by number: facts oldest first with dates */
	r = run(st, "ana", "/memory 2", &rc);
	CHECK_EQ(rc, KITH_OK);
	{
		const char *head = "**rust**\n*a systems language*\n**Heat**: 2.50\n**Updated**: ";

		CHECK(strncmp(r, head, strlen(head)) == 0);
	}
	CHECK_CONTAINS(r, "• Ana started Rust in 2020 (learned 2026-03-01)\n\n"
			  "• Ana writes Rust at work (learned 2026-03-02)");
	free(r);
	/* by name, any case */
	r = run(st, "ana", "/memory Oolong Tea", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "**oolong tea**\n**Heat**: 4.00");
	CHECK_CONTAINS(r, "• Ana drinks oolong every morning (learned 2026-03-01)");
	free(r);
	r = run(st, "ana", "/memory jazz", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "I know about jazz, but I don't have any specific facts stored yet.");
	free(r);

	/* errors */
	r = run(st, "ana", "/memory 4", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "#4 doesn't match any memory. Use /memory to see the list.");
	free(r);
	r = run(st, "ana", "/memory 0", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "#0 doesn't match any memory. Use /memory to see the list.");
	free(r);
	r = run(st, "ana", "/memory secret project", &rc);   /* Bo's, not Ana's */
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "I don't have a memory called 'secret project'. Use /memory to see the list.");
	free(r);
	r = run(st, "ana", "/memory forget", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_STR(r, "Usage: /memory forget N|NAME — N is a number from /memory.");
	free(r);
	r = run(st, "ana", "/memory forget 9", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "#9 doesn't match any memory. Use /memory to see the list.");
	free(r);
	r = run(st, "ana", "/memory forget secret project", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	free(r);
	r = run(st, NULL, "/memory", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_STR(r, "Memory is only for a person, and I can't tell who is asking.");
	free(r);

	/* forget by number removes the entity with its facts */
	r = run(st, "ana", "/memory forget 2", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Deleted 'rust' and 2 facts.");
	free(r);
	CHECK_EQ(store_fact_count(st, rust, &n, &why), KITH_OK);
	CHECK_EQ(n, 0);
	r = run(st, "ana", "/memory", &rc);
	CHECK_STR(r, "**Your Memory**\n"
		     "\n1. **oolong tea** (1 fact, heat: 4.00)"
		     "\n2. **jazz** (0 facts, heat: 0.50)");
	free(r);
	r = run(st, "ana", "/memory rust", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	free(r);
	/* and by name */
	r = run(st, "ana", "/memory forget Oolong Tea", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Deleted 'oolong tea' and 1 fact.");
	free(r);
	r = run(st, "ana", "/memory", &rc);
	CHECK_STR(r, "**Your Memory**\n\n1. **jazz** (0 facts, heat: 0.50)");
	free(r);
	/* Bo's memory untouched */
	r = run(st, "bo", "/memory 1", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "• Bo's secret");
	free(r);
	(void)jazz;
	store_close(st);
}

static void test_memory_top20(void)
{
	struct store *st = storetest_open("cmd-memory20.db");
	enum kith_status rc;
	char name[16], *r;

	REQUIRE(st);
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "thing%02d", i);
		entity(st, "ana", name, NULL, (double)i);
	}
	r = run(st, "ana", "/memory", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "\n1. **thing24** (0 facts, heat: 24.00)");
	CHECK_CONTAINS(r, "\n20. **thing05** (0 facts, heat: 5.00)");
	CHECK(strstr(r, "thing04") == NULL);
	CHECK_CONTAINS(r, "… and 5 more.");
	free(r);
	/* numbers beyond the shown 20 still resolve */
	r = run(st, "ana", "/memory 25", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "**thing00**");
	free(r);
	store_close(st);
}

static void test_follow(void)
{
	struct store *st = storetest_open("cmd-follow.db");
	struct store_follow_prompt *p = NULL;
	size_t n = 0;
	enum kith_status rc;
	char *r, *why = NULL;

	REQUIRE(st);
	r = run(st, "ana", "/follow", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "You're not following anything yet. Use /follow TOPIC to start.");
	free(r);
	r = run(st, "ana", "/unfollow 1", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "You're not following anything.");
	free(r);

	r = run(st, "ana", "/follow SpaceX,  Blue   Origin; spacex", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Got it, I'll keep track of **SpaceX,  Blue   Origin; spacex** for you");
	CHECK_CONTAINS(r, "searching for [\"SpaceX\",\"Blue Origin\"]");
	CHECK_CONTAINS(r, "set NEWS_API_KEY");
	free(r);
	r = run(st, "ana", "/follow rust compiler", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);
	r = run(st, "bo", "/follow cricket", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);

	CHECK_EQ(store_follow_prompts_for_user(st, "ana", &p, &n, &why), KITH_OK);
	REQUIRE(n == 2);
	CHECK_STR(p[0].query_terms, "[\"SpaceX\",\"Blue Origin\"]");
	CHECK_STR(p[1].query_terms, "[\"rust compiler\"]");
	CHECK_STR(p[1].user, "ana");
	store_follow_prompts_free(p, n);

	r = run(st, "ana", "/follow", &rc);
	CHECK_EQ(rc, KITH_OK);
	{
		const char *head = "**Following**\n\n1. **SpaceX,  Blue   Origin; spacex** — since ";

		CHECK(strncmp(r, head, strlen(head)) == 0);
	}
	CHECK_CONTAINS(r, "\n2. **rust compiler** — since ");
	CHECK(strstr(r, "cricket") == NULL);
	free(r);

	/* errors */
	r = run(st, "ana", "/follow ,, ;", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_STR(r, "Usage: /follow TOPIC — e.g. /follow SpaceX, Blue Origin");
	free(r);
	{
		char *big = xmalloc(300), *cmd;

		memset(big, 'x', 299);
		big[299] = '\0';
		cmd = xasprintf("/follow %s", big);
		r = run(st, "ana", cmd, &rc);
		CHECK_EQ(rc, KITH_EINVAL);
		CHECK_CONTAINS(r, "too long");
		free(r);
		free(cmd);
		free(big);
	}
	r = run(st, "ana", "/unfollow", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Use /unfollow N or /unfollow TOPIC. You follow:\n\n1. **SpaceX");
	free(r);
	r = run(st, "ana", "/unfollow 3", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "#3 doesn't match any follow. Use /follow to see the list.");
	free(r);
	r = run(st, "ana", "/unfollow cricket", &rc);   /* Bo's */
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "You don't follow 'cricket'. Use /follow to see the list.");
	free(r);

	/* round trip: by name, then by number */
	r = run(st, "ana", "/unfollow Rust Compiler", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Stopped following **rust compiler**.");
	free(r);
	r = run(st, "ana", "/unfollow 1", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Stopped following **SpaceX,  Blue   Origin; spacex**.");
	free(r);
	r = run(st, "ana", "/follow", &rc);
	CHECK_STR(r, "You're not following anything yet. Use /follow TOPIC to start.");
	free(r);
	r = run(st, "bo", "/follow", &rc);
	CHECK_CONTAINS(r, "1. **cricket**");
	free(r);
	store_close(st);
}

static void test_events(void)
{
	struct store *st = storetest_open("cmd-events.db");
	struct store_follow_prompt_new f = { .user = "ana", .prompt = "space" };
	struct store_event *ev = NULL;
	int64_t fp = 0, e1 = 0, e2 = 0, spacex;
	size_t n = 0, nev = 0;
	enum kith_status rc;
	char *r, *why = NULL;

	REQUIRE(st);
	r = run(st, "ana", "/events", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "No recent events. Use /follow TOPIC to start tracking, and set NEWS_API_KEY "
		     "(a NewsAPI.org key) so news can be fetched.");
	free(r);
	r = run(st, "ana", "/events 1", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	free(r);

	REQUIRE(store_follow_prompt_add(st, &f, &fp, &why) == KITH_OK);
	spacex = entity(st, "ana", "spacex", NULL, 1.0);
	{
		struct store_event_new a = { .user = "ana", .follow_prompt_id = fp,
					     .headline = "Starship flies", .summary = "It flew.",
					     .url = "https://news.example/starship",
					     .published_at = T0 };
		struct store_event_new b = { .user = "ana", .headline = "Rocket lab news",
					     .url = "https://news.example/rl",
					     .published_at = T0 + DAY };
		struct store_event_new c = { .user = "bo", .headline = "Bo's event",
					     .published_at = T0 + 2 * DAY };

		REQUIRE(store_event_add(st, &a, &e1, &why) == KITH_OK);
		REQUIRE(store_event_add(st, &b, &e2, &why) == KITH_OK);
		REQUIRE(store_event_add(st, &c, NULL, &why) == KITH_OK);
	}
	REQUIRE(store_event_link_entity(st, e1, spacex, &why) == KITH_OK);
	for (int i = 0; i < 12; i++) {
		char h[32];
		struct store_event_new o = { .user = "cy", .headline = h,
					     .published_at = T0 + i * DAY };

		snprintf(h, sizeof(h), "cy event %d", i);
		REQUIRE(store_event_add(st, &o, NULL, &why) == KITH_OK);
	}

	r = run(st, "ana", "/events", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "**Recent Events**\n"
		     "\n1. **Rocket lab news** — 2026-03-02\n   https://news.example/rl"
		     "\n2. **Starship flies** — 2026-03-01\n   https://news.example/starship");
	free(r);
	r = run(st, "ana", "/events 2", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "**Starship flies**\n**Date**: 2026-03-01 12:34 UTC\n\nIt flew.\n\n"
		     "https://news.example/starship\n\n**About**: spacex");
	free(r);
	r = run(st, "ana", "/events 3", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "#3 doesn't match any event. Use /events to see the list.");
	free(r);
	r = run(st, "ana", "/events soon", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_STR(r, "Usage: /events [N] — 'soon' is not a number from the list.");
	free(r);

	/* only the last 10 */
	r = run(st, "cy", "/events", &rc);
	CHECK_CONTAINS(r, "\n1. **cy event 11**");
	CHECK_CONTAINS(r, "\n10. **cy event 2**");
	CHECK(strstr(r, "cy event 1**") == NULL);
	free(r);

	/* unfollow takes the prompt's events with it, not the others */
	r = run(st, "ana", "/unfollow space", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Stopped following **space** and deleted its events.");
	free(r);
	CHECK_EQ(store_events_for_user(st, "ana", 0, &ev, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_STR(ev[0].headline, "Rocket lab news");
	store_events_free(ev, n);
	CHECK_EQ(store_follow_prompt_forget(st, fp, &nev, &why), KITH_ENOTFOUND);
	free(why);
	store_close(st);
}

static void test_listed(void)
{
	const char *want[] = { "memory", "follow", "unfollow", "events" };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;

		for (const struct cmd_entry *c = cmd_table(); c->name; c++)
			found = found || strcmp(c->name, want[i]) == 0;
		CHECK(found);
	}
}

/* /unlearn: the history, then forgetting a topic takes its facts, the
 * entities left with none and its searches; what was learned elsewhere
 * stays, and another person's topics are not theirs to number. */
static void test_unlearn(void)
{
	struct store *st = storetest_open("cmd-unlearn.db");
	char *path = test_path("cmd-unlearn.db"), *r, *why = NULL;
	int64_t lp = 0, other_lp = 0, log1 = 0, log2 = 0, rust, tea;
	enum kith_status rc;

	REQUIRE(st);
	r = run(st, "ana", "/unlearn", &rc);
	CHECK_CONTAINS(r, "haven't asked me to learn anything");
	free(r);
	CHECK_EQ(store_learn_prompt_add(st, "ana", "rust compilers", 3, &lp, &why), KITH_OK);
	CHECK_EQ(store_learn_prompt_add(st, "bob", "bob's topic", 3, &other_lp, &why), KITH_OK);
	CHECK_EQ(store_search_log_add(st, &(struct store_search_log_new){
			 .query = "rustc internals", .response = "…", .trigger = "learn_command",
			 .author_id = "ana" }, &log1, &why), KITH_OK);
	CHECK_EQ(store_search_log_add(st, &(struct store_search_log_new){
			 .query = "cranelift", .response = "…", .trigger = "learn_command",
			 .author_id = "ana" }, &log2, &why), KITH_OK);
	CHECK_EQ(store_search_log_set_learn_prompt(st, log1, lp, &why), KITH_OK);
	CHECK_EQ(store_search_log_set_learn_prompt(st, log2, lp, &why), KITH_OK);
	rust = entity(st, "ana", "Rust", "a language", 2.0);
	tea = entity(st, "ana", "Cranelift", NULL, 1.0);
	/* Rust: two facts from the topic, one from a message; Cranelift: one. */
	CHECK_EQ(store_fact_add(st, &(struct store_fact_new){ .entity_id = rust,
			 .content = "rustc uses LLVM", .source_search_log_id = log1 }, NULL, &why),
		 KITH_OK);
	CHECK_EQ(store_fact_add(st, &(struct store_fact_new){ .entity_id = rust,
			 .content = "rustc has a query system", .source_search_log_id = log1 }, NULL,
			 &why), KITH_OK);
	fact(st, rust, "Ana writes Rust at work", T0);
	CHECK_EQ(store_fact_add(st, &(struct store_fact_new){ .entity_id = tea,
			 .content = "Cranelift is a code generator", .source_search_log_id = log2 },
			 NULL, &why), KITH_OK);

	r = run(st, "ana", "/unlearn", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "1. rust compilers *(active)*");
	CHECK(!strstr(r, "bob's topic"));
	free(r);
	r = run(st, "ana", "/unlearn 2", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "#2 doesn't match any topic");
	free(r);
	r = run(st, "ana", "/unlearn x1", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	free(r);

	r = run(st, "ana", "/unlearn 1", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Forgetting what I learned about **rust compilers**");
	CHECK_CONTAINS(r, "• rust (2 facts)");
	CHECK_CONTAINS(r, "• cranelift (1 fact)");
	free(r);
	CHECK_EQ(db_int(path, "SELECT count(*) FROM facts"), 1);   /* the message's */
	CHECK_EQ(db_int(path, "SELECT count(*) FROM entities WHERE name = 'rust'"), 1);
	CHECK_EQ(db_int(path, "SELECT count(*) FROM entities WHERE name = 'cranelift'"), 0);
	CHECK_EQ(db_int(path, "SELECT count(*) FROM search_log"), 0);
	CHECK_EQ(db_int(path, "SELECT count(*) FROM learn_prompts"), 1);   /* bob's */
	free(path);
	store_close(st);
}

int main(void)
{
	RUN(test_memory);
	RUN(test_memory_top20);
	RUN(test_follow);
	RUN(test_events);
	RUN(test_listed);
	RUN(test_unlearn);
	return test_summary();
}
