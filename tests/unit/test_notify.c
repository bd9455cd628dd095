/* test_notify.c — the NotificationAgent against the fake LLM (main role)
 * with a fake clock and a recording send callback: the hottest eligible
 * entity, backoff and its reset, facts marked and cooldown started, the
 * ignore penalty, learn completions first, the budget, the fallback text,
 * and a simulated idle week that never calls the model. */
#include "core/alloc.h"
#include "fakes/fake_llm.h"
#include "knowledge/knowledge.h"
#include "llm/llm.h"
#include "sched/scheduler.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"

#include <math.h>

#define SEC 1000LL
#define T0 ((int64_t)1767225600000LL)  /* 2026-01-01T00:00:00Z */

struct fx {
	struct fake_llm *srv;
	struct llm_client *llm;
	struct store *st;
	struct knowledge_notifier *kn;
	struct sched_budget *budget;
	int64_t now;
	size_t sent;
	char last_user[32];
	char *last_text;
};

static int dbn;

static int64_t fake_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static int record_send(const char *user, const char *text, const struct search_image *img,
		       void *ud)
{
	struct fx *f = ud;

	(void)img;
	f->sent++;
	snprintf(f->last_user, sizeof(f->last_user), "%s", user);
	free(f->last_text);
	f->last_text = xstrdup(text);
	return 0;
}

static void fx_open_budget(struct fx *f, int messages_per_day)
{
	struct llm_config lc;
	struct knowledge_notify_deps d = { 0 };
	char name[32];

	memset(f, 0, sizeof(*f));
	f->now = T0;
	f->srv = fake_llm_start(FAKE_LLM_OLLAMA);
	llm_config_init(&lc);
	lc.base_url = xstrdup(f->srv ? fake_llm_url(f->srv) : "http://127.0.0.1:1");
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	f->llm = llm_client_new(&lc);
	llm_config_release(&lc);
	snprintf(name, sizeof(name), "nt%d.db", ++dbn);
	f->st = storetest_open(name);
	if (messages_per_day >= 0) {
		struct sched_budget_config bc = { .llm_calls_per_day = 100,
						  .messages_per_day = messages_per_day };

		f->budget = sched_budget_new(&bc);
	}
	d.st = f->st;
	d.llm = f->llm;
	d.budget = f->budget;
	knowledge_params_default(&d.params);
	knowledge_notify_params_default(&d.np);
	d.send = record_send;
	d.ud = f;
	d.now_ms = fake_now;
	d.now_ctx = f;
	f->kn = knowledge_notifier_new(&d);
}

static void fx_open(struct fx *f)
{
	fx_open_budget(f, -1);
}

static void fx_close(struct fx *f)
{
	knowledge_notifier_free(f->kn);
	sched_budget_free(f->budget);
	store_close(f->st);
	llm_client_free(f->llm);
	fake_llm_stop(f->srv);
	free(f->last_text);
}

static size_t chats(struct fx *f)
{
	size_t n = 0, total = fake_llm_request_count(f->srv);

	for (size_t i = 0; i < total; i++) {
		char *p = fake_llm_request_path(f->srv, i);

		n += p && strcmp(p, "/api/chat") == 0;
		free(p);
	}
	return n;
}

static void reply(struct fx *f, const char *text)
{
	struct fake_reply r = { .content = text };

	fake_llm_push(f->srv, &r);
}

static int64_t add_entity(struct fx *f, const char *name, double heat)
{
	struct store_entity_new e = { .user = "u1", .name = name, .created_at = f->now };
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_entity_add(f->st, &e, &id, &why), KITH_OK);
	CHECK_EQ(store_entity_set_heat(f->st, id, heat, 0, false, &why), KITH_OK);
	return id;
}

static int64_t add_fact(struct fx *f, int64_t entity, const char *text, int64_t notified)
{
	struct store_fact_new n = { .entity_id = entity, .content = text, .learned_at = f->now,
				    .notified_at = notified };
	int64_t id = 0;
	char *why = NULL;

	CHECK_EQ(store_fact_add(f->st, &n, &id, &why), KITH_OK);
	return id;
}

static struct store_entity get_entity(struct fx *f, int64_t id)
{
	struct store_entity e;
	char *why = NULL;

	memset(&e, 0, sizeof(e));
	CHECK_EQ(store_entity_get(f->st, id, &e, &why), KITH_OK);
	return e;
}

static size_t untold(struct fx *f, int64_t entity)
{
	size_t total = 0, n = 0;

	CHECK_EQ(store_entity_fact_counts(f->st, entity, &total, &n, NULL), KITH_OK);
	return n;
}

static enum sched_outcome tick(struct fx *f)
{
	if (!knowledge_notify_due(f->kn, f->now))
		return SCHED_NO_WORK;
	return knowledge_notify_run(f->kn, NULL);
}

static void test_hottest_marks_and_cools(void)
{
	struct fx f;
	struct store_entity e;
	int64_t a, b;
	json_t *req;
	char *body;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "totem loon", 5.0);
	b = add_entity(&f, "mars rover", 2.0);
	add_fact(&f, a, "Totem Loon released a new album.", 0);
	add_fact(&f, a, "The band tours Europe in May.", 0);
	add_fact(&f, b, "The rover found water ice.", 0);
	reply(&f, "Totem Loon just put out a new album, and they are touring Europe in May!");
	CHECK(knowledge_notify_due(f.kn, f.now));
	CHECK_EQ(knowledge_notify_run(f.kn, NULL), SCHED_DID_WORK);
	CHECK_EQ(f.sent, 1);
	CHECK_STR(f.last_user, "u1");
	CHECK_CONTAINS(f.last_text, "Totem Loon just put out");
	CHECK_EQ(chats(&f), 1);
	req = fake_llm_request_json(f.srv, fake_llm_request_count(f.srv) - 1);
	body = req ? json_dumps(req, 0) : NULL;
	CHECK_CONTAINS(body, "main-m");
	CHECK_CONTAINS(body, "Totem Loon released a new album.");
	CHECK(!body || !strstr(body, "water ice"));
	free(body);
	json_decref(req);
	CHECK_EQ(untold(&f, a), 0);
	CHECK_EQ(untold(&f, b), 1);
	e = get_entity(&f, a);
	CHECK_EQ(e.heat_cooldown, 3);                 /* heat_start_cooldown */
	CHECK(fabs(e.heat - 5.0 * 0.85) < 1e-9);      /* one cycle of decay */
	CHECK_EQ(e.last_notified_at, T0);
	store_entity_release(&e);
	e = get_entity(&f, b);
	CHECK(fabs(e.heat - 2.0 * 0.85) < 1e-9);
	store_entity_release(&e);
	fx_close(&f);
}

static void test_backoff_sequence(void)
{
	struct fx f;
	int64_t a, b, c;
	size_t calls;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 9.0);
	b = add_entity(&f, "bravo", 6.0);
	c = add_entity(&f, "charlie", 3.0);
	add_fact(&f, a, "Alpha fact one.", 0);
	add_fact(&f, b, "Bravo fact one.", 0);
	add_fact(&f, c, "Charlie fact one.", 0);
	fake_llm_set_default_reply(f.srv, "A message about something you like, with details.");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(f.sent, 1);
	calls = chats(&f);
	/* Inside the backoff: not due, and a forced run sends nothing and asks
	 * no model. */
	f.now += 299 * SEC;
	CHECK(!knowledge_notify_due(f.kn, f.now));
	CHECK_EQ(knowledge_notify_run(f.kn, NULL), SCHED_NO_WORK);
	CHECK_EQ(f.sent, 1);
	CHECK_EQ(chats(&f), calls);
	/* 300 s after the first: the next hottest eligible one (alpha cools). */
	f.now += 1 * SEC;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(f.sent, 2);
	CHECK_EQ(untold(&f, b), 0);
	CHECK_EQ(untold(&f, c), 1);
	/* Now the wait is doubled: 600 s. */
	f.now += 300 * SEC;
	CHECK(!knowledge_notify_due(f.kn, f.now));
	f.now += 300 * SEC;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(f.sent, 3);
	CHECK_EQ(untold(&f, c), 0);
	fx_close(&f);
}

static void test_user_activity_resets(void)
{
	struct fx f;
	int64_t a;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 9.0);
	fake_llm_set_default_reply(f.srv, "A message about alpha, with enough words in it.");
	add_fact(&f, a, "Alpha fact 1.", 0);
	CHECK_EQ(tick(&f), SCHED_DID_WORK);        /* wait now 300 s */
	f.now += 300 * SEC;
	add_fact(&f, a, "Alpha fact 2.", 0);
	/* alpha is cooling (3 cycles): attempts pass but send nothing, each
	 * holding the next back by one initial backoff. */
	for (int i = 0; i < 3 && f.sent < 2; i++) {
		(void)tick(&f);
		f.now += 300 * SEC;
	}
	CHECK_EQ(f.sent, 2);                       /* wait now 600 s */
	add_fact(&f, a, "Alpha fact 3.", 0);
	f.now += 100 * SEC;
	/* The user writes: the clock restarts there, one initial backoff. */
	knowledge_notify_user_active(f.kn, "u1", f.now);
	f.now += 299 * SEC;
	CHECK(!knowledge_notify_due(f.kn, f.now));
	/* Still suppressed immediately after the interaction … */
	knowledge_notify_user_active(f.kn, "u1", f.now);
	CHECK(!knowledge_notify_due(f.kn, f.now));
	/* … and due one initial backoff after it. */
	f.now += 300 * SEC;
	CHECK(knowledge_notify_due(f.kn, f.now));
	fx_close(&f);
}

static void test_ignore_penalty(void)
{
	struct fx f;
	struct store_entity e;
	int64_t a, b;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 5.0);
	b = add_entity(&f, "bravo", 1.0);
	fake_llm_set_default_reply(f.srv, "A message about something, long enough to send.");
	add_fact(&f, a, "Alpha fact.", 0);
	add_fact(&f, b, "Bravo fact.", 0);
	CHECK_EQ(tick(&f), SCHED_DID_WORK);        /* alpha: 5 × 0.85 */
	f.now += 300 * SEC;
	CHECK_EQ(tick(&f), SCHED_DID_WORK);        /* ignored: × 0.6, then × 0.85 */
	e = get_entity(&f, a);
	CHECK(fabs(e.heat - 5.0 * 0.85 * 0.6 * 0.85) < 1e-9);
	store_entity_release(&e);
	/* bravo's message is answered (the user wrote): no penalty. */
	knowledge_notify_user_active(f.kn, "u1", f.now + 10 * SEC);
	add_fact(&f, a, "Alpha second fact.", 0);
	f.now += 700 * SEC;
	(void)tick(&f);
	e = get_entity(&f, b);
	CHECK(fabs(e.heat - 1.0 * 0.85 * 0.85 * 0.85) < 1e-9);
	store_entity_release(&e);
	fx_close(&f);
}

static void test_learn_first(void)
{
	struct fx f;
	struct store_learn_prompt *lp = NULL;
	struct store_search_log_new l = { .query = "jazz", .response = "jazz text",
					  .trigger = "learn_command", .author_id = "u1" };
	int64_t a, j, pid = 0, log = 0;
	size_t n = 0;
	char *why = NULL;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 5.0);
	add_fact(&f, a, "Alpha fact.", 0);
	fake_llm_set_default_reply(f.srv, "A message about alpha, long enough to be sent.");
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(f.sent, 1);
	/* A /learn topic finishes while the user is in backoff. */
	CHECK_EQ(store_learn_prompt_add(f.st, "u1", "modal jazz", 1, &pid, &why), KITH_OK);
	CHECK_EQ(store_search_log_add(f.st, &l, &log, &why), KITH_OK);
	CHECK_EQ(store_search_log_set_learn_prompt(f.st, log, pid, &why), KITH_OK);
	CHECK_EQ(store_learn_prompt_set_status(f.st, pid, "completed", &why), KITH_OK);
	j = add_entity(&f, "kind of blue", 0.5);
	{
		struct store_fact_new fn = { .entity_id = j, .content = "Recorded in 1959.",
					     .source_search_log_id = log, .learned_at = f.now };

		CHECK_EQ(store_fact_add(f.st, &fn, NULL, &why), KITH_OK);
	}
	/* Not yet: its search is not extracted. */
	f.now += 10 * SEC;
	CHECK(!knowledge_notify_due(f.kn, f.now));
	CHECK_EQ(store_search_log_mark_extracted(f.st, log, &why), KITH_OK);
	reply(&f, "I finished learning about modal jazz: Kind of Blue was recorded in 1959.");
	CHECK(knowledge_notify_due(f.kn, f.now));
	CHECK_EQ(knowledge_notify_run(f.kn, NULL), SCHED_DID_WORK);
	CHECK_EQ(f.sent, 2);
	CHECK_CONTAINS(f.last_text, "modal jazz");
	CHECK_EQ(untold(&f, j), 0);
	CHECK_EQ(store_learn_prompts_list(f.st, "u1", NULL, &lp, &n, &why), KITH_OK);
	REQUIRE(n == 1);
	CHECK_EQ(lp[0].announced_at, f.now);
	store_learn_prompts_free(lp, n);
	/* Announced once. */
	CHECK(!knowledge_notify_due(f.kn, f.now));
	fx_close(&f);
}

static void test_budget_exhausted(void)
{
	struct fx f;
	int64_t a;

	fx_open_budget(&f, 0);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 5.0);
	add_fact(&f, a, "Alpha fact.", 0);
	CHECK(!knowledge_notify_due(f.kn, f.now));
	CHECK_EQ(knowledge_notify_run(f.kn, NULL), SCHED_NO_WORK);
	CHECK_EQ(f.sent, 0);
	CHECK_EQ(chats(&f), 0);
	CHECK_EQ(untold(&f, a), 1);
	fx_close(&f);
}

static void test_fallback_text(void)
{
	struct fx f;
	struct fake_reply r = { .status = 500 };
	int64_t a;

	fx_open(&f);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 5.0);
	add_fact(&f, a, "Alpha has a new release.", 0);
	fake_llm_push(f.srv, &r);
	CHECK_EQ(tick(&f), SCHED_DID_WORK);
	CHECK_EQ(f.sent, 1);
	CHECK_CONTAINS(f.last_text, "Something new about alpha");
	CHECK_CONTAINS(f.last_text, "Alpha has a new release.");
	CHECK_EQ(untold(&f, a), 0);
	fx_close(&f);
}

/* A week, one scheduler check a minute, with a fact arriving every hour and
 * a budget of 4 messages a day: the message count stays inside the budget
 * and the backoff, and every model call is one message. */
static void test_busy_week_within_budget(void)
{
	struct fx f;
	int64_t a;
	size_t facts = 0;

	fx_open_budget(&f, 4);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 50.0);
	fake_llm_set_default_reply(f.srv, "A message about alpha, long enough to be sent.");
	for (int m = 0; m < 7 * 24 * 60; m++) {
		if (m % 60 == 0) {
			char text[64];

			snprintf(text, sizeof(text), "Alpha fact number %zu.", ++facts);
			add_fact(&f, a, text, 0);
			/* keep it warm, as a user who mentions it would */
			struct store_entity e = get_entity(&f, a);

			CHECK_EQ(store_entity_set_heat(f.st, a, 50.0, e.heat_cooldown, false,
						       NULL), KITH_OK);
			store_entity_release(&e);
		}
		(void)tick(&f);
		f.now += 60 * SEC;
	}
	CHECK(f.sent > 0);
	CHECK(f.sent <= 7 * 4);
	CHECK_EQ(chats(&f), f.sent);
	fx_close(&f);
}

/* A week with nothing due — knowledge that is all told, a cold entity
 * with news, an empty extraction queue — asks the model nothing and sends
 * nothing. */
static void test_idle_week_no_calls(void)
{
	struct fx f;
	struct knowledge_deps kd = { 0 };
	struct knowledge_extractor *kx;
	int64_t a, b;

	fx_open_budget(&f, 10);
	REQUIRE(f.srv && f.st);
	a = add_entity(&f, "alpha", 5.0);
	add_fact(&f, a, "Alpha fact already told.", T0);
	b = add_entity(&f, "bravo", 0.0);
	add_fact(&f, b, "A fact about a cold entity.", 0);
	kd.st = f.st;
	kd.llm = f.llm;
	kd.budget = f.budget;
	knowledge_params_default(&kd.params);
	kx = knowledge_extractor_new(&kd);
	for (int m = 0; m < 7 * 24 * 60; m++) {
		(void)tick(&f);
		if (knowledge_extract_due(kx, f.now))
			(void)knowledge_extract_run(kx, NULL);
		f.now += 60 * SEC;
	}
	CHECK_EQ(f.sent, 0);
	CHECK_EQ(fake_llm_request_count(f.srv), 0);
	knowledge_extractor_free(kx);
	fx_close(&f);
}

int main(void)
{
	RUN(test_hottest_marks_and_cools);
	RUN(test_backoff_sequence);
	RUN(test_user_activity_resets);
	RUN(test_ignore_penalty);
	RUN(test_learn_first);
	RUN(test_budget_exhausted);
	RUN(test_fallback_text);
	RUN(test_busy_week_within_budget);
	RUN(test_idle_week_no_calls);
	return test_summary();
}
