/* test_cmd_schedule.c — /schedule and /unschedule: the cron form without a
 * model, the model form with the fake LLM's schema answer, refusals of an
 * invalid or too frequent cron from the model (nothing saved), the model
 * unreachable, the zone used (profile, else the default), numbering of
 * /unschedule, and other people's schedules left invisible and untouched. */
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "fakes/fake_llm.h"
#include "llm/llm.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"

#include <stdlib.h>
#include <string.h>

/* 2026-01-12 07:15 UTC, a Monday. */
#define NOW 1768202100000LL

static int64_t fixed_now(void *ctx)
{
	(void)ctx;
	return NOW;
}

static struct agent_deps deps;

typedef enum kith_status (*cmd_fn)(const struct cmd_ctx *, const char *, char **);

static char *run(struct store *st, const char *user, cmd_fn fn, const char *args,
		 enum kith_status *rc)
{
	struct inbound ev = { .conversation = "conv-1", .author_id = (char *)user,
			      .text = (char *)args };
	struct cmd_ctx ctx = { .deps = &deps, .st = st, .ev = user ? &ev : NULL };
	char *reply = NULL;

	*rc = fn(&ctx, args, &reply);
	return reply;
}

static size_t count(struct store *st, const char *user)
{
	struct store_user_schedule *rows = NULL;
	size_t n = 0;
	char *why = NULL;

	CHECK_EQ(store_user_schedules_list(st, user, &rows, &n, &why), KITH_OK);
	store_user_schedules_free(rows, n);
	return n;
}

static struct llm_client *client(const char *url)
{
	struct llm_config lc;
	struct llm_client *c;

	llm_config_init(&lc);
	lc.base_url = xstrdup(url);
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	lc.connect_timeout_ms = 2000;
	c = llm_client_new(&lc);
	llm_config_release(&lc);
	return c;
}

static void answer(struct fake_llm *srv, const char *content)
{
	struct fake_reply r = { .content = content };

	fake_llm_push(srv, &r);
}

static void test_cron_form_offline(void)
{
	struct store *st = storetest_open("cmd-sched-cron.db");
	struct store_user_schedule *rows = NULL;
	size_t n = 0;
	enum kith_status rc;
	char *r, *why = NULL;

	REQUIRE(st);
	memset(&deps, 0, sizeof(deps));   /* no model at all */
	deps.timezone = "Europe/Berlin";

	r = run(st, "ana", cmd_schedule, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "You have no schedules yet. Add one with /schedule WHEN WHAT");
	free(r);

	r = run(st, "ana", cmd_schedule, "0 9 * * 1-5 tell me the news", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Scheduled: 0 9 * * 1-5 — tell me the news");
	CHECK_CONTAINS(r, "in Europe/Berlin, the default time zone");
	CHECK_CONTAINS(r, "next: Monday, 12 January 2026, 09:00 CET");
	free(r);
	CHECK_EQ(store_user_schedules_list(st, "ana", &rows, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_STR(rows[0].cron, "0 9 * * 1-5");
	CHECK_STR(rows[0].prompt, "tell me the news");
	CHECK_STR(rows[0].timezone, "Europe/Berlin");
	CHECK_STR(rows[0].channel, "console");
	CHECK_STR(rows[0].conversation, "conv-1");
	store_user_schedules_free(rows, n);

	/* too frequent even in the cron form */
	r = run(st, "ana", cmd_schedule, "*/1 * * * * spam me", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "more often than every 5 minutes");
	free(r);
	/* words need the model, which is not there */
	r = run(st, "ana", cmd_schedule, "every morning at 8 the news", &rc);
	CHECK_EQ(rc, KITH_ECONFIG);
	CHECK_CONTAINS(r, "/schedule 0 9 * * 1-5 what's the weather");
	free(r);
	CHECK_EQ(count(st, "ana"), 1);

	/* the profile's zone wins */
	{
		struct store_user_profile p = { .timezone = "America/New_York" };

		CHECK_EQ(store_user_profile_put(st, "bo", &p, &why), KITH_OK);
	}
	r = run(st, "bo", cmd_schedule, "30 7 * * * coffee", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "in America/New_York, your profile's time zone");
	free(r);

	r = run(st, NULL, cmd_schedule, "0 9 * * * x", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	free(r);
	store_close(st);
}

static void test_model_form(void)
{
	struct store *st = storetest_open("cmd-sched-model.db");
	struct fake_llm *srv = fake_llm_start(FAKE_LLM_OLLAMA);
	struct store_user_schedule *rows = NULL;
	size_t n = 0;
	enum kith_status rc;
	char *r, *why = NULL;

	REQUIRE(st && srv);
	memset(&deps, 0, sizeof(deps));
	deps.timezone = "Europe/Berlin";
	deps.llm = client(fake_llm_url(srv));

	answer(srv, "{\"timing_description\":\"every weekday at 9:00\","
		    "\"prompt_text\":\"what's the weather\",\"cron_expression\":\"0 9 * * 1-5\"}");
	r = run(st, "ana", cmd_schedule, "every weekday at 9am what's the weather", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Scheduled: every weekday at 9:00 — what's the weather");
	CHECK_CONTAINS(r, "(0 9 * * 1-5 in Europe/Berlin");
	free(r);
	{
		json_t *req = fake_llm_request_json(srv, 0);
		char *body = fake_llm_request_body(srv, 0);

		REQUIRE(req);
		CHECK_STR(json_string_value(json_object_get(req, "model")), "util-m");
		CHECK(json_is_object(json_object_get(req, "format")));   /* the schema */
		CHECK_CONTAINS(body, "Monday, 12 January 2026, 08:15 CET");
		CHECK_CONTAINS(body, "every weekday at 9am what's the weather");
		json_decref(req);
		free(body);
	}
	CHECK_EQ(store_user_schedules_list(st, "ana", &rows, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_STR(rows[0].description, "every weekday at 9:00");
	CHECK_STR(rows[0].prompt, "what's the weather");
	store_user_schedules_free(rows, n);

	/* an invalid cron, four fields, too frequent, no prompt, no JSON:
	 * refused and nothing saved */
	answer(srv, "{\"timing_description\":\"x\",\"prompt_text\":\"p\","
		    "\"cron_expression\":\"61 9 * * *\"}");
	r = run(st, "ana", cmd_schedule, "at 9:61 p", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "I can't schedule that: '61 9 * * *' is not a valid cron expression");
	free(r);
	answer(srv, "{\"timing_description\":\"x\",\"prompt_text\":\"p\","
		    "\"cron_expression\":\"0 9 * *\"}");
	r = run(st, "ana", cmd_schedule, "daily p", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "five fields");
	free(r);
	answer(srv, "{\"timing_description\":\"every minute\",\"prompt_text\":\"ping\","
		    "\"cron_expression\":\"* * * * *\"}");
	r = run(st, "ana", cmd_schedule, "every minute ping", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "more often than every 5 minutes");
	free(r);
	answer(srv, "{\"timing_description\":\"daily\",\"prompt_text\":\"  \","
		    "\"cron_expression\":\"0 9 * * *\"}");
	r = run(st, "ana", cmd_schedule, "daily", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "couldn't tell what should be done");
	free(r);
	answer(srv, "I don't know.");
	r = run(st, "ana", cmd_schedule, "whenever", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_CONTAINS(r, "couldn't work out a schedule");
	free(r);
	CHECK_EQ(count(st, "ana"), 1);

	/* the model down: the cron form is explained */
	{
		struct fake_reply down = { .status = 500 };

		fake_llm_push(srv, &down);
	}
	r = run(st, "ana", cmd_schedule, "every day at noon lunch", &rc);
	CHECK(rc != KITH_OK);
	CHECK_CONTAINS(r, "I couldn't reach the model");
	CHECK_CONTAINS(r, "works without the model");
	free(r);
	CHECK_EQ(count(st, "ana"), 1);

	llm_client_free(deps.llm);
	deps.llm = NULL;
	fake_llm_stop(srv);
	store_close(st);
}

static void test_list_and_unschedule(void)
{
	struct store *st = storetest_open("cmd-sched-list.db");
	enum kith_status rc;
	char *r;

	REQUIRE(st);
	memset(&deps, 0, sizeof(deps));
	deps.timezone = "Europe/Berlin";
	free(run(st, "ana", cmd_schedule, "0 9 * * 1-5 news", &rc));
	CHECK_EQ(rc, KITH_OK);
	free(run(st, "bo", cmd_schedule, "0 10 * * * bo's secret", &rc));
	free(run(st, "ana", cmd_schedule, "30 12 * * * lunch", &rc));
	free(run(st, "ana", cmd_schedule, "0 18 * * 5 weekend plans", &rc));

	r = run(st, "ana", cmd_schedule, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "**Your schedules**\n"
		     "\n1. 0 9 * * 1-5 (Europe/Berlin): news"
		     "\n2. 30 12 * * * (Europe/Berlin): lunch"
		     "\n3. 0 18 * * 5 (Europe/Berlin): weekend plans");
	free(r);

	r = run(st, "ana", cmd_unschedule, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Use /unschedule N to remove one. Your schedules:\n\n1. 0 9 * * 1-5");
	CHECK(strstr(r, "secret") == NULL);
	free(r);
	r = run(st, "ana", cmd_unschedule, "4", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "#4 doesn't match any schedule. Use /schedule to see the list.");
	free(r);
	r = run(st, "ana", cmd_unschedule, "0", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	free(r);
	r = run(st, "ana", cmd_unschedule, "lunch", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_STR(r, "Usage: /unschedule N — 'lunch' is not a number from the list.");
	free(r);
	r = run(st, "ana", cmd_unschedule, "2x", &rc);
	CHECK(rc != KITH_OK);
	free(r);
	CHECK_EQ(count(st, "ana"), 3);

	r = run(st, "ana", cmd_unschedule, "2", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Removed: 30 12 * * * (Europe/Berlin): lunch\n\nYour schedules:\n"
		     "\n1. 0 9 * * 1-5 (Europe/Berlin): news"
		     "\n2. 0 18 * * 5 (Europe/Berlin): weekend plans");
	free(r);

	/* Bo sees only his own, and his "1" is his */
	r = run(st, "bo", cmd_schedule, "", &rc);
	CHECK_STR(r, "**Your schedules**\n\n1. 0 10 * * * (Europe/Berlin): bo's secret");
	free(r);
	r = run(st, "bo", cmd_unschedule, "1", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Removed: 0 10 * * * (Europe/Berlin): bo's secret\n\n"
		     "You have no schedules left.");
	free(r);
	r = run(st, "bo", cmd_unschedule, "1", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_STR(r, "You have no schedules.");
	free(r);
	CHECK_EQ(count(st, "ana"), 2);
	CHECK_EQ(count(st, NULL), 2);
	store_close(st);
}

int main(void)
{
	clock_set_source(fixed_now, NULL);
	RUN(test_cron_form_offline);
	RUN(test_model_form);
	RUN(test_list_and_unschedule);
	clock_set_source(NULL, NULL);
	return test_summary();
}
