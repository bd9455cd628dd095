/* test_schedules.c — the ScheduleExecutor against a fake clock and the fake
 * LLM: a schedule at "30 9 * * *" in Europe/Berlin fires once at 09:30 local
 * (not before, not again at 09:31), again the next day, never replays after
 * a long gap, follows DST, sends the model's reply to the conversation it
 * was made in, skips rows without one, runs for muted people, and is not
 * due when nothing is.  Also the answer parser, the cron-form split and the
 * cron check /schedule uses. */
#include "agent/agent.h"
#include "agent/tools.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/tz.h"
#include "fakes/fake_llm.h"
#include "knowledge/schedules.h"
#include "llm/llm.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"

#include <stdlib.h>
#include <string.h>

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2026-01-12 00:00 UTC, a Monday; Berlin is UTC+1 (CET). */
#define JAN12 1768176000000LL
/* 09:30 CET on 2026-01-12. */
#define AT0930 (JAN12 + 8 * HOUR + 30 * MIN)
/* 2026-03-29 00:00 UTC: Berlin springs forward at 01:00 UTC (02:00 → 03:00). */
#define MAR29 1774742400000LL

struct sent {
	char *channel, *conversation, *text;
};

struct fx {
	struct fake_llm *srv;
	struct llm_client *llm;
	struct tool_registry *tools;
	struct agent_deps deps;
	struct store *st;
	struct schedule_executor *ex;
	int64_t now;
	struct sent sent[16];
	size_t nsent;
};

static int dbn;

static int64_t fake_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static int record_send(void *ud, const char *channel, const char *conversation,
		       const char *text, const struct tool_out *found)
{
	struct fx *f = ud;

	(void)found;
	if (f->nsent < sizeof(f->sent) / sizeof(f->sent[0])) {
		f->sent[f->nsent].channel = xstrdup(channel);
		f->sent[f->nsent].conversation = xstrdup(conversation);
		f->sent[f->nsent].text = xstrdup(text);
	}
	f->nsent++;
	return 0;
}

static void fx_open(struct fx *f)
{
	struct llm_config lc;
	struct schedule_executor_deps d = { 0 };
	char name[32];

	memset(f, 0, sizeof(*f));
	f->now = JAN12;
	clock_set_source(fake_now, f);
	f->srv = fake_llm_start(FAKE_LLM_OLLAMA);
	llm_config_init(&lc);
	lc.base_url = xstrdup(f->srv ? fake_llm_url(f->srv) : "http://127.0.0.1:1");
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	f->llm = llm_client_new(&lc);
	llm_config_release(&lc);
	if (f->srv)
		fake_llm_set_default_reply(f->srv, "Sunny and 20 degrees.");
	f->tools = tools_new();
	f->deps.llm = f->llm;
	f->deps.tools = f->tools;
	f->deps.timezone = "Europe/Berlin";
	snprintf(name, sizeof(name), "schedules%d.db", ++dbn);
	f->st = storetest_open(name);
	d.st = f->st;
	d.agent = &f->deps;
	d.send = record_send;
	d.ud = f;
	d.now_ms = fake_now;
	d.now_ctx = f;
	f->ex = schedule_executor_new(&d);
}

static void fx_close(struct fx *f)
{
	size_t n = f->nsent < 16 ? f->nsent : 16;

	for (size_t i = 0; i < n; i++) {
		free(f->sent[i].channel);
		free(f->sent[i].conversation);
		free(f->sent[i].text);
	}
	schedule_executor_free(f->ex);
	store_close(f->st);
	tools_free(f->tools);
	llm_client_free(f->llm);
	fake_llm_stop(f->srv);
	clock_set_source(NULL, NULL);
}

static int64_t add(struct fx *f, const char *user, const char *cron, const char *prompt,
		   const char *channel, const char *conversation)
{
	struct store_user_schedule_new s = {
		.user = user, .cron = cron, .timezone = "Europe/Berlin", .prompt = prompt,
		.channel = channel, .conversation = conversation,
	};
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_user_schedule_add(f->st, &s, &id, &why), KITH_OK);
	free(why);
	return id;
}

/* One scheduler tick: due check, then run. */
static enum sched_outcome tick(struct fx *f)
{
	if (!schedule_executor_due(f->ex, f->now))
		return SCHED_NO_WORK;
	return schedule_executor_run(f->ex, NULL);
}

static void test_fires_once_a_day(void)
{
	struct fx f;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	f.now = JAN12 + 8 * HOUR;   /* made at 09:00 local */
	add(&f, "ana", "30 9 * * *", "what's the weather?", "discord", "chan-1");

	f.now = AT0930 - MIN;       /* 09:29 */
	CHECK(!schedule_executor_due(f.ex, f.now));
	CHECK_EQ(schedule_executor_run(f.ex, NULL), SCHED_NO_WORK);
	f.now = AT0930 - 1000;      /* 09:29:59 */
	CHECK(!schedule_executor_due(f.ex, f.now));
	CHECK_EQ(f.nsent, 0);

	f.now = AT0930;             /* 09:30:00 */
	CHECK(schedule_executor_due(f.ex, f.now));
	CHECK_EQ(schedule_executor_run(f.ex, NULL), SCHED_DID_WORK);
	REQUIRE(f.nsent == 1);
	CHECK_STR(f.sent[0].channel, "discord");
	CHECK_STR(f.sent[0].conversation, "chan-1");
	CHECK_STR(f.sent[0].text, "Sunny and 20 degrees.");
	/* the main model got the prompt as the person's message */
	{
		json_t *req = fake_llm_request_json(f.srv, 0);
		char *body = fake_llm_request_body(f.srv, 0);

		REQUIRE(req);
		CHECK_STR(json_string_value(json_object_get(req, "model")), "main-m");
		CHECK_CONTAINS(body, "what's the weather?");
		json_decref(req);
		free(body);
	}

	f.now = AT0930 + 30000;     /* 09:30:30 */
	CHECK(!schedule_executor_due(f.ex, f.now));
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	f.now = AT0930 + MIN;       /* 09:31 */
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	f.now = AT0930 + 12 * HOUR;
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	CHECK_EQ(f.nsent, 1);

	/* the next day */
	f.now = AT0930 + DAY - MIN;
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	f.now = AT0930 + DAY + 20000;   /* a tick 20 s late still fires */
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(f.nsent, 2);
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	fx_close(&f);
}

static void test_no_replay_after_gap(void)
{
	struct fx f;
	struct store_user_schedule *rows = NULL;
	size_t n = 0;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	f.now = JAN12;
	add(&f, "ana", "30 9 * * *", "news please", "console", "default");
	f.now = AT0930;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);

	/* kith was down for four days and starts at 09:35 on day 5: the
	 * occurrence five minutes ago and the missed days are not replayed */
	f.now = AT0930 + 4 * DAY + 5 * MIN;
	CHECK(!schedule_executor_due(f.ex, f.now));
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	CHECK_EQ(f.nsent, 1);
	/* …but one up to two minutes old still fires, once */
	f.now = AT0930 + 5 * DAY + 90000;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	CHECK_EQ(f.nsent, 2);
	/* marked fired at the run */
	CHECK_EQ(store_user_schedules_list(f.st, "ana", &rows, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_EQ(rows[0].last_fired_at, AT0930 + 5 * DAY + 90000);
	store_user_schedules_free(rows, n);

	/* a schedule made after today's time waits for tomorrow */
	f.now = AT0930 + 6 * DAY + MIN;
	add(&f, "bo", "30 9 * * *", "bo's news", "console", "bo");
	f.now += MIN;
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	fx_close(&f);
}

static void test_dst(void)
{
	struct fx f;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	f.now = MAR29 - DAY;
	add(&f, "ana", "30 9 * * *", "morning", "console", "c-morning");
	add(&f, "ana", "30 2 * * *", "night", "console", "c-night");

	/* 02:30 does not exist on 2026-03-29: it fires at 03:00 CEST (01:00 UTC) */
	f.now = MAR29 + 30 * MIN;     /* 01:30 CET, before the gap */
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	f.now = MAR29 + HOUR - 1000;
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	f.now = MAR29 + HOUR;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	REQUIRE(f.nsent == 1);
	CHECK_STR(f.sent[0].conversation, "c-night");

	/* 09:30 CEST is 07:30 UTC, not 08:30 */
	f.now = MAR29 + 7 * HOUR + 29 * MIN;
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	f.now = MAR29 + 7 * HOUR + 30 * MIN;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	REQUIRE(f.nsent == 2);
	CHECK_STR(f.sent[1].conversation, "c-morning");
	f.now = MAR29 + 8 * HOUR + 30 * MIN;
	CHECK_EQ(tick(&f), SCHED_NO_WORK);
	CHECK_EQ(f.nsent, 2);
	fx_close(&f);
}

static void test_skips_and_muted(void)
{
	struct fx f;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	f.now = JAN12;
	add(&f, "old", "30 9 * * *", "no channel", NULL, NULL);
	add(&f, "ana", "30 9 * * *", "for a muted person", "signal", "+4912345");
	CHECK_EQ(store_user_mute(f.st, "ana", &why), KITH_OK);

	f.now = AT0930;
	CHECK(schedule_executor_due(f.ex, f.now));
	CHECK_EQ(schedule_executor_run(f.ex, NULL), SCHED_DID_WORK);
	REQUIRE(f.nsent == 1);     /* only ana's; the row without a channel is skipped */
	CHECK_STR(f.sent[0].channel, "signal");
	CHECK_STR(f.sent[0].conversation, "+4912345");
	/* the skipped row counts as fired: it is not retried every tick */
	CHECK(!schedule_executor_due(f.ex, f.now + 1000));

	/* only the channel-less one due: nothing runs */
	{
		struct fx g;

		fx_open(&g);
		REQUIRE(g.st);
		add(&g, "old", "30 9 * * *", "no channel", NULL, NULL);
		g.now = AT0930;
		CHECK_EQ(tick(&g), SCHED_NO_WORK);
		CHECK_EQ(g.nsent, 0);
		CHECK(!schedule_executor_due(g.ex, g.now));
		fx_close(&g);
	}
	clock_set_source(fake_now, &f);
	fx_close(&f);
}

static void test_cancel_and_failure(void)
{
	struct fx f;
	struct cancel c = { 0 };

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	f.now = JAN12;
	add(&f, "ana", "30 9 * * *", "first", "console", "a");
	add(&f, "bo", "30 9 * * *", "second", "console", "b");

	/* cancelled before it starts: nothing marked, still due */
	cancel_request(&c);
	f.now = AT0930;
	CHECK_EQ(schedule_executor_run(f.ex, &c), SCHED_CANCELLED);
	CHECK_EQ(f.nsent, 0);
	CHECK(schedule_executor_due(f.ex, f.now));

	/* the model fails for the first: logged, the second still runs, and
	 * the failed one is not retried (at most once) */
	{
		struct fake_reply err = { .status = 500 };

		fake_llm_push(f.srv, &err);
	}
	CHECK_EQ(schedule_executor_run(f.ex, NULL), SCHED_DID_WORK);
	REQUIRE(f.nsent == 1);
	CHECK_STR(f.sent[0].conversation, "b");
	CHECK(!schedule_executor_due(f.ex, f.now + 1000));
	fx_close(&f);
}

static void test_not_due(void)
{
	struct fx f;

	fx_open(&f);
	REQUIRE(f.st);
	f.now = AT0930;
	CHECK(!schedule_executor_due(f.ex, f.now));   /* no schedules at all */
	CHECK_EQ(schedule_executor_run(f.ex, NULL), SCHED_NO_WORK);
	add(&f, "ana", "0 18 * * 1-5", "evening", "console", "a");
	CHECK(!schedule_executor_due(f.ex, f.now));
	/* a zone that cannot be loaded runs in UTC */
	{
		struct store_user_schedule_new s = {
			.user = "ana", .cron = "35 9 * * *", .timezone = "Mars/Olympus",
			.prompt = "utc", .channel = "console", .conversation = "u",
		};
		char *why = NULL;

		CHECK_EQ(store_user_schedule_add(f.st, &s, NULL, &why), KITH_OK);
	}
	f.now = JAN12 + 9 * HOUR + 35 * MIN;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	REQUIRE(f.nsent == 1);
	CHECK_STR(f.sent[0].conversation, "u");
	CHECK(f.llm != NULL);
	fx_close(&f);
}

/* ---- parsing -------------------------------------------------------------- */

static void test_parse_answer(void)
{
	struct schedule_answer a;
	char *why = NULL;
	const char *ok = "Sure!\n```json\n{\"timing_description\": \" every weekday\\nat 9:00 \","
			 " \"prompt_text\": \"what's  the weather\","
			 " \"cron_expression\": \" 0  9 * *\\t1-5 \"}\n```";

	CHECK_EQ(schedule_parse_answer(ok, strlen(ok), &a, &why), KITH_OK);
	CHECK_STR(a.timing, "every weekday at 9:00");
	CHECK_STR(a.prompt, "what's  the weather");
	CHECK_STR(a.cron, "0 9 * * 1-5");
	schedule_answer_release(&a);

	{
		const char *blank = "{\"prompt_text\": \"\", \"cron_expression\": 5}";

		CHECK_EQ(schedule_parse_answer(blank, strlen(blank), &a, NULL), KITH_OK);
	}
	CHECK(a.prompt == NULL && a.cron == NULL && a.timing == NULL);
	schedule_answer_release(&a);

	CHECK_EQ(schedule_parse_answer("no json here", 12, &a, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "no JSON object");
	free(why);
	why = NULL;
	schedule_answer_release(&a);
	CHECK_EQ(schedule_parse_answer("[1,2]", 5, &a, NULL), KITH_EPROTO);
	CHECK_EQ(schedule_parse_answer("{\"a\":1,\"a\":2}", 13, &a, NULL), KITH_EPROTO);
	CHECK_EQ(schedule_parse_answer(NULL, 0, &a, NULL), KITH_EPROTO);
	schedule_answer_release(&a);
	{
		char big[3000];
		size_t n;

		n = (size_t)snprintf(big, sizeof(big), "{\"prompt_text\": \"");
		for (int i = 0; i < 700; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "é");   /* 2 bytes each */
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\"}");
		CHECK_EQ(schedule_parse_answer(big, n, &a, NULL), KITH_OK);
		REQUIRE(a.prompt);
		CHECK(strlen(a.prompt) <= SCHEDULE_PROMPT_MAX);
		CHECK_EQ(strlen(a.prompt) % 2, 0);   /* cut between characters */
		schedule_answer_release(&a);
	}
}

static void test_split_cron(void)
{
	char *cron = NULL;
	const char *rest = NULL;

	CHECK(schedule_split_cron("0 9 * * 1-5 tell me the news", &cron, &rest));
	CHECK_STR(cron, "0 9 * * 1-5");
	CHECK_STR(rest, "tell me the news");
	free(cron);
	CHECK(schedule_split_cron("  */15\t8-18  *  *   mon-fri   stretch ", &cron, &rest));
	CHECK_STR(cron, "*/15 8-18 * * mon-fri");
	CHECK_STR(rest, "stretch ");
	free(cron);

	CHECK(!schedule_split_cron("0 9 * * 1-5", &cron, &rest));   /* nothing to do */
	CHECK(cron == NULL && rest == NULL);
	CHECK(!schedule_split_cron("every day at 9 tell me the news", &cron, &rest));
	CHECK(!schedule_split_cron("61 9 * * * hello", &cron, &rest));
	CHECK(!schedule_split_cron("0 9 * * hello", &cron, &rest));
	CHECK(!schedule_split_cron("", &cron, &rest));
	CHECK(!schedule_split_cron(NULL, &cron, &rest));
	CHECK(cron == NULL);
}

static void test_check_cron(void)
{
	struct tz *berlin = NULL;
	char *why = NULL;
	int64_t now = JAN12 / 1000;

	REQUIRE(tz_load("Europe/Berlin", &berlin, NULL) == KITH_OK);
	CHECK_EQ(schedule_check_cron("0 9 * * 1-5", berlin, now, NULL), KITH_OK);
	CHECK_EQ(schedule_check_cron("*/5 * * * *", berlin, now, NULL), KITH_OK);
	CHECK_EQ(schedule_check_cron("30 2 * * *", berlin, MAR29 / 1000 - DAY / 1000, NULL),
		 KITH_OK);

	CHECK_EQ(schedule_check_cron("*/2 * * * *", berlin, now, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "more often than every 5 minutes");
	free(why);
	why = NULL;
	CHECK_EQ(schedule_check_cron("* * * * *", berlin, now, NULL), KITH_EINVAL);
	/* close together only once a day */
	CHECK_EQ(schedule_check_cron("0,1 9 * * *", berlin, now, NULL), KITH_EINVAL);
	CHECK_EQ(schedule_check_cron("0 9 * *", berlin, now, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "five fields");
	free(why);
	why = NULL;
	CHECK_EQ(schedule_check_cron("@daily", berlin, now, NULL), KITH_EINVAL);
	CHECK_EQ(schedule_check_cron("0 9 * * * *", berlin, now, NULL), KITH_EINVAL);
	CHECK_EQ(schedule_check_cron("0 25 * * *", berlin, now, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "not a valid cron expression");
	free(why);
	CHECK_EQ(schedule_check_cron(NULL, berlin, now, NULL), KITH_EINVAL);
	tz_free(berlin);
}

int main(void)
{
	RUN(test_fires_once_a_day);
	RUN(test_no_replay_after_gap);
	RUN(test_dst);
	RUN(test_skips_and_muted);
	RUN(test_cancel_and_failure);
	RUN(test_not_due);
	RUN(test_parse_answer);
	RUN(test_split_cron);
	RUN(test_check_cron);
	return test_summary();
}
