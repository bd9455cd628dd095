/* test_scheduler.c — the background scheduler and the proactive budget.
 *
 * Time is a fake clock the test advances; most cases drive ticks directly
 * with sched_run_tick() so every step is deterministic, and the threaded
 * cases wake the scheduler with sched_kick() and wait for the tick with
 * sched_wait_tick() (a condition variable), or poll for an effect with a
 * deadline.  Nothing sleeps to wait. */
#include "support/test.h"
#include "sched/scheduler.h"
#include "core/clock.h"
#include "core/tz.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- fake clock ------------------------------------------------------------ */

static int64_t fake_ms;

static int64_t fake_now(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&fake_ms, __ATOMIC_ACQUIRE);
}

static void set_time(int64_t ms)
{
	__atomic_store_n(&fake_ms, ms, __ATOMIC_RELEASE);
}

static void advance(double secs)
{
	set_time(fake_now(NULL) + (int64_t)(secs * 1000.0));
}

/* 2024-03-10 00:00:00Z, a Sunday. */
#define T0 (INT64_C(1710028800) * 1000)

static struct sched *new_sched(double idle_s, double tick_s, struct sched_budget *b)
{
	struct sched_config cfg = { .idle_s = idle_s, .tick_s = tick_s, .now_ms = fake_now,
				    .budget = b, .seed = 42 };

	return sched_new(&cfg);
}

/* Poll `cond(ctx)` until true or 10 s of real time pass. */
static bool eventually(bool (*cond)(void *), void *ctx)
{
	int64_t end = clock_mono_ms() + 10000;

	while (!cond(ctx)) {
		if (clock_mono_ms() > end)
			return false;
		sched_yield();
	}
	return true;
}

/* ---- a scriptable job ------------------------------------------------------ */

struct tjob {
	const char *name;
	char *log;                /* shared run log: names appended */
	size_t logcap;
	int work;                 /* items pending; run() does one per call */
	bool always_work;         /* run() always finds something */
	bool use_due;             /* due() reports work > 0 */
	enum sched_outcome empty; /* what run() returns with nothing to do */
	int due_calls, run_calls, done_items;
	struct sched_budget *budget;
	unsigned spend;           /* take from the budget per run */
	bool block;               /* block until cancelled or released */
	int started, released;    /* atomics for the threaded tests */
};

static bool tjob_due(void *ctx, int64_t now)
{
	struct tjob *t = ctx;

	(void)now;
	t->due_calls++;
	return t->always_work || t->work > 0;
}

static enum sched_outcome tjob_run(void *ctx, const struct cancel *cancel)
{
	struct tjob *t = ctx;

	t->run_calls++;
	if (t->log) {
		size_t n = strlen(t->log);

		snprintf(t->log + n, t->logcap - n, "%s%s", n ? " " : "", t->name);
	}
	if (!t->always_work && t->work <= 0)
		return t->empty;
	if (t->block) {
		__atomic_store_n(&t->started, 1, __ATOMIC_RELEASE);
		/* Like a long LLM call whose progress callback watches the
		 * token: give up as soon as it fires. */
		while (!__atomic_load_n(&t->released, __ATOMIC_ACQUIRE))
			if (clock_sleep_unless(5, cancel))
				return SCHED_CANCELLED;
	}
	if (t->spend & SCHED_SPEND_LLM) {
		if (!sched_budget_take(t->budget, SCHED_SPEND_LLM, fake_now(NULL)))
			return SCHED_NO_WORK;
	}
	if (t->spend & SCHED_SPEND_MESSAGE)
		(void)sched_budget_take(t->budget, SCHED_SPEND_MESSAGE, fake_now(NULL));
	/* The work is committed only when the step completes, as a real job
	 * marks rows processed at the end: a cancelled step leaves it
	 * pending. */
	if (!t->always_work)
		t->work--;
	t->done_items++;
	return SCHED_DID_WORK;
}

static size_t add(struct sched *s, struct tjob *t, int prio, enum sched_kind kind,
		  double interval, unsigned needs)
{
	struct sched_job_def d = {
		.name = t->name, .priority = prio, .kind = kind, .interval_s = interval,
		.needs = needs, .due = t->use_due ? tjob_due : NULL, .run = tjob_run, .ctx = t,
	};

	return sched_add(s, &d);
}

static struct sched_job_stats stats(struct sched *s, size_t id)
{
	struct sched_job_stats st;

	sched_job_stats(s, id, &st);
	return st;
}

/* ---- cases ----------------------------------------------------------------- */

static void test_priority_order(void)
{
	char log[256] = "";
	struct tjob t[6] = {
		{ .name = "enrich" }, { .name = "learn" }, { .name = "notify" },
		{ .name = "schedule" }, { .name = "events" }, { .name = "extract" },
	};
	static const int prio[6] = { SCHED_PRIO_ENRICH, SCHED_PRIO_LEARN, SCHED_PRIO_NOTIFY,
				     SCHED_PRIO_SCHEDULES, SCHED_PRIO_EVENTS, SCHED_PRIO_EXTRACT };
	struct sched *s;

	set_time(T0);
	s = new_sched(60, 1, NULL);
	for (int i = 0; i < 6; i++) {
		t[i].log = log;
		t[i].logcap = sizeof(log);
		t[i].always_work = true;
		add(s, &t[i], prio[i], i == 3 ? SCHED_ALWAYS : SCHED_PERIODIC, 10, 0);
	}
	advance(60);
	/* One job per tick (work done ends the tick), in the seed's order. */
	for (int i = 0; i < 6; i++)
		CHECK(sched_run_tick(s));
	CHECK_STR(log, "schedule notify extract events learn enrich");
	/* Everyone ran just now: the next tick has nothing eligible. */
	CHECK(!sched_run_tick(s));
	sched_free(s);
}

static void test_skip_when_nothing_due(void)
{
	char log[128] = "";
	struct tjob a = { .name = "a", .use_due = true };                     /* due: no */
	struct tjob b = { .name = "b", .empty = SCHED_NO_WORK };              /* runs, nothing */
	struct tjob c = { .name = "c", .always_work = true };                 /* works */
	struct tjob d = { .name = "d", .always_work = true };                 /* never reached */
	struct sched *s;
	size_t ia, ib, ic, id;

	a.log = b.log = c.log = d.log = log;
	a.logcap = b.logcap = c.logcap = d.logcap = sizeof(log);
	set_time(T0);
	s = new_sched(60, 1, NULL);
	ia = add(s, &a, 10, SCHED_PERIODIC, 10, 0);
	ib = add(s, &b, 20, SCHED_PERIODIC, 10, 0);
	ic = add(s, &c, 30, SCHED_PERIODIC, 10, 0);
	id = add(s, &d, 40, SCHED_PERIODIC, 10, 0);
	advance(60);
	CHECK(sched_run_tick(s));
	/* a was asked and skipped without a run; b ran and found nothing;
	 * c did work, so d waits for the next tick — all in one tick. */
	CHECK_STR(log, "b c");
	CHECK_EQ(a.due_calls, 1);
	CHECK_EQ(a.run_calls, 0);
	CHECK_EQ(stats(s, ia).not_due, 1);
	CHECK_EQ(stats(s, ib).no_work, 1);
	CHECK_EQ(stats(s, ic).did_work, 1);
	CHECK_EQ(stats(s, id).runs, 0);
	/* Nothing-to-do counts as done: a and b wait out their interval. */
	CHECK(sched_run_tick(s));
	CHECK_STR(log, "b c d");
	CHECK_EQ(a.due_calls, 1);
	advance(10);
	a.work = 1;
	CHECK(sched_run_tick(s));
	CHECK_STR(log, "b c d a");
	CHECK_EQ(a.done_items, 1);
	sched_free(s);
}

static void test_idle_gating(void)
{
	struct tjob per = { .name = "idle-job", .always_work = true };
	struct tjob alw = { .name = "schedule", .always_work = true };
	struct sched *s;
	size_t ip, ia;

	set_time(T0);
	s = new_sched(60, 1, NULL);
	ia = add(s, &alw, SCHED_PRIO_SCHEDULES, SCHED_ALWAYS, 60, 0);
	ip = add(s, &per, SCHED_PRIO_EXTRACT, SCHED_PERIODIC, 10, 0);
	/* Start-up counts as activity: only the always-run job goes. */
	CHECK(sched_run_tick(s));
	CHECK_EQ(alw.run_calls, 1);
	CHECK(!sched_run_tick(s));
	advance(59);
	CHECK(!sched_run_tick(s));
	CHECK_EQ(per.run_calls, 0);
	advance(1);               /* 60 s idle */
	CHECK(sched_run_tick(s)); /* the always-run job's minute is up too */
	CHECK(sched_run_tick(s));
	CHECK_EQ(alw.run_calls, 2);
	CHECK_EQ(per.run_calls, 1);

	/* A message at 70 s: the idle job waits until 130 s.  (The
	 * always-run job keeps its own minute regardless.) */
	advance(10);
	sched_note_foreground(s);
	advance(59);              /* 129 s */
	CHECK(sched_run_tick(s));
	CHECK_EQ(alw.run_calls, 3);
	CHECK(!sched_run_tick(s));
	CHECK_EQ(per.run_calls, 1);
	/* A command is not foreground activity: it does not delay anything. */
	sched_note_command(s);
	advance(1);               /* 130 s: idle again, and the message reset
				   * the idle job, so it runs at once */
	CHECK(sched_run_tick(s));
	CHECK_EQ(per.run_calls, 2);

	/* During a turn nothing starts, not even always-run jobs. */
	advance(120);             /* 250 s */
	sched_foreground_begin(s);
	CHECK(!sched_run_tick(s));
	CHECK_EQ(stats(s, ia).runs, 3);
	sched_foreground_end(s);
	CHECK(sched_run_tick(s));  /* the always-run job is not idle-gated */
	CHECK_EQ(stats(s, ia).runs, 4);
	CHECK(!sched_run_tick(s)); /* the idle job waits IDLE_SECONDS after the reply */
	CHECK_EQ(stats(s, ip).runs, 2);
	advance(60);              /* 310 s */
	CHECK(sched_run_tick(s));  /* always-run first (its minute is up) */
	CHECK(sched_run_tick(s));
	CHECK_EQ(stats(s, ia).runs, 5);
	CHECK_EQ(stats(s, ip).runs, 3);
	sched_free(s);
}

static void test_periodic_interval(void)
{
	struct tjob t = { .name = "p", .empty = SCHED_NO_WORK };
	struct sched *s;
	size_t id;

	set_time(T0);
	s = new_sched(60, 1, NULL);
	id = add(s, &t, 20, SCHED_PERIODIC, 10, 0);
	advance(60);
	/* One tick a second for a minute: runs at 60, 70, … 120 — the
	 * interval applies even though it never has work. */
	for (int i = 0; i <= 60; i++) {
		sched_run_tick(s);
		advance(1);
	}
	CHECK_EQ(t.run_calls, 7);
	CHECK_EQ(stats(s, id).no_work, 7);
	sched_free(s);
}

static void test_delayed(void)
{
	struct tjob t = { .name = "d", .always_work = true };
	struct sched_job_def d = { .name = "d", .priority = 70, .kind = SCHED_DELAYED,
				   .delay_min_s = 30, .delay_max_s = 30, .run = tjob_run,
				   .ctx = &t };
	struct sched *s;

	set_time(T0);
	s = new_sched(60, 1, NULL);
	sched_add(s, &d);
	advance(60);               /* idle now: the delay starts */
	CHECK(!sched_run_tick(s));
	advance(29);
	CHECK(!sched_run_tick(s));
	advance(1);
	CHECK(sched_run_tick(s));
	CHECK_EQ(t.run_calls, 1);
	CHECK(!sched_run_tick(s)); /* a fresh delay after each run */
	advance(30);
	CHECK(sched_run_tick(s));
	CHECK_EQ(t.run_calls, 2);
	sched_free(s);
}

static bool job_started(void *ctx)
{
	return __atomic_load_n(&((struct tjob *)ctx)->started, __ATOMIC_ACQUIRE);
}

struct waitcnt {
	struct sched *s;
	size_t id;
};

static bool job_cancelled(void *ctx)
{
	struct waitcnt *w = ctx;

	return stats(w->s, w->id).cancelled >= 1;
}

static bool job_did_work(void *ctx)
{
	struct waitcnt *w = ctx;

	return stats(w->s, w->id).did_work >= 1;
}

/* A foreground message cancels the running job at once; it is retried
 * once the system is idle again, and its work is done exactly once. */
static void test_cancel_and_retry(void)
{
	struct tjob t = { .name = "extract", .work = 1, .use_due = true, .block = true };
	struct sched *s;
	struct waitcnt w;
	char *why = NULL;
	uint64_t n;

	set_time(T0);
	/* A long tick: only kicks drive this scheduler. */
	s = new_sched(60, 3600, NULL);
	w.s = s;
	w.id = add(s, &t, SCHED_PRIO_EXTRACT, SCHED_PERIODIC, 10, 0);
	advance(60);
	REQUIRE(sched_start(s, &why) == KITH_OK);
	CHECK(eventually(job_started, &t));

	sched_foreground_begin(s);
	CHECK(eventually(job_cancelled, &w));
	CHECK_EQ(t.done_items, 0);
	CHECK_EQ(t.work, 1);         /* still pending */

	/* While the turn runs, and after it until idle, no retry. */
	n = sched_kick(s);
	CHECK(sched_wait_tick(s, n, 10000));
	CHECK_EQ(stats(s, w.id).runs, 1);
	sched_foreground_end(s);
	n = sched_kick(s);
	CHECK(sched_wait_tick(s, n, 10000));
	CHECK_EQ(stats(s, w.id).runs, 1);

	/* Idle again: the retry runs and completes. */
	__atomic_store_n(&t.released, 1, __ATOMIC_RELEASE);
	advance(60);
	n = sched_kick(s);
	CHECK(sched_wait_tick(s, n, 10000));
	CHECK(eventually(job_did_work, &w));
	/* More idle ticks: nothing left, nothing run. */
	advance(60);
	n = sched_kick(s);
	CHECK(sched_wait_tick(s, n, 10000));
	sched_stop(s);
	CHECK_EQ(stats(s, w.id).runs, 2);
	CHECK_EQ(stats(s, w.id).cancelled, 1);
	CHECK_EQ(stats(s, w.id).did_work, 1);
	CHECK_EQ(t.done_items, 1);   /* once: not lost, not duplicated */
	CHECK_EQ(t.work, 0);
	sched_free(s);
}

/* A slash command while a job runs does not cancel it. */
static void test_command_does_not_cancel(void)
{
	struct tjob t = { .name = "enrich", .work = 1, .block = true };
	struct sched *s;
	struct waitcnt w;
	char *why = NULL;

	set_time(T0);
	s = new_sched(60, 3600, NULL);
	w.s = s;
	w.id = add(s, &t, SCHED_PRIO_ENRICH, SCHED_PERIODIC, 10, 0);
	advance(60);
	REQUIRE(sched_start(s, &why) == KITH_OK);
	CHECK(eventually(job_started, &t));
	sched_note_command(s);
	__atomic_store_n(&t.released, 1, __ATOMIC_RELEASE);
	CHECK(eventually(job_did_work, &w));
	sched_stop(s);
	CHECK_EQ(stats(s, w.id).cancelled, 0);
	CHECK_EQ(t.done_items, 1);
	sched_free(s);
}

/* Stopping cancels a blocked job and returns. */
static void test_stop_cancels(void)
{
	struct tjob t = { .name = "learn", .work = 1, .block = true };
	struct sched *s;
	char *why = NULL;
	size_t id;

	set_time(T0);
	s = new_sched(0, 0.01, NULL);
	id = add(s, &t, SCHED_PRIO_LEARN, SCHED_PERIODIC, 10, 0);
	REQUIRE(sched_start(s, &why) == KITH_OK);
	CHECK(eventually(job_started, &t));
	sched_stop(s);
	sched_stop(s);
	CHECK_EQ(stats(s, id).cancelled, 1);
	CHECK_EQ(t.work, 1);
	sched_free(s);
}

static struct tz *berlin(void)
{
	struct tz *tz = NULL;
	char *why = NULL;

	if (tz_load("Europe/Berlin", &tz, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "tz_load: %s", why ? why : "?");
		free(why);
	}
	return tz;
}

/* A daily LLM budget of 3 stops a job that always has work after three
 * runs, until local midnight. */
static void test_budget_day(void)
{
	struct tz *tz = berlin();
	struct sched_budget_config bc = { .llm_calls_per_day = 3, .messages_per_day = -1,
					  .tz = tz };
	struct sched_budget *b = sched_budget_new(&bc);
	struct tjob t = { .name = "enrich", .always_work = true, .spend = SCHED_SPEND_LLM };
	struct sched *s;
	int calls = -1, msgs = -1;
	char line[256];

	t.budget = b;
	/* 2024-03-10 10:00 CET. */
	set_time(T0 + 9 * 3600 * 1000);
	s = new_sched(60, 1, b);
	add(s, &t, SCHED_PRIO_ENRICH, SCHED_PERIODIC, 60, SCHED_SPEND_LLM);
	advance(60);
	/* Tick every minute until 23:59 local: three runs, then none. */
	for (int m = 0; m < 13 * 60 + 58; m++) {
		sched_run_tick(s);
		advance(60);
	}
	CHECK_EQ(t.run_calls, 3);
	sched_budget_used(b, fake_now(NULL), &calls, &msgs);
	CHECK_EQ(calls, 3);
	CHECK_EQ(msgs, 0);
	sched_budget_status(b, fake_now(NULL), line, sizeof(line));
	CHECK_CONTAINS(line, "2024-03-10 Europe/Berlin");
	CHECK_CONTAINS(line, "LLM calls 3/3");
	CHECK_CONTAINS(line, "messages 0 (no limit)");
	/* Past local midnight (23:00Z is 00:00 CET): a new day's allowance. */
	set_time(T0 + 23 * 3600 * 1000);
	CHECK(sched_run_tick(s));
	CHECK_EQ(t.run_calls, 4);
	sched_budget_used(b, fake_now(NULL), &calls, NULL);
	CHECK_EQ(calls, 1);
	sched_free(s);
	sched_budget_free(b);
	tz_free(tz);
}

static void test_active_hours(void)
{
	struct tz *tz = berlin();
	struct sched_budget_config bc = { .llm_calls_per_day = -1, .messages_per_day = 10,
					  .tz = tz };
	struct sched_budget *b;
	struct tjob t = { .name = "notify", .always_work = true, .spend = SCHED_SPEND_MESSAGE };
	struct sched *s;
	const char *why_not = NULL;
	char *why = NULL;
	int from, to;

	REQUIRE(sched_parse_active_hours("08:00-22:00", &bc.active_from_min, &bc.active_to_min,
					 &why) == KITH_OK);
	CHECK_EQ(bc.active_from_min, 480);
	CHECK_EQ(bc.active_to_min, 1320);
	b = sched_budget_new(&bc);
	t.budget = b;
	/* 2024-03-10 22:30 CET = 21:30Z. */
	set_time(T0 + 21 * 3600 * 1000 + 30 * 60 * 1000);
	s = new_sched(60, 1, b);
	add(s, &t, SCHED_PRIO_NOTIFY, SCHED_PERIODIC, 10, SCHED_SPEND_MESSAGE);
	advance(60);
	CHECK(!sched_run_tick(s));
	CHECK(!sched_budget_allows(b, SCHED_SPEND_MESSAGE, fake_now(NULL), &why_not));
	CHECK_STR(why_not, "outside active hours");
	CHECK(sched_budget_allows(b, SCHED_SPEND_LLM, fake_now(NULL), NULL));
	CHECK(!sched_budget_take(b, SCHED_SPEND_MESSAGE, fake_now(NULL)));
	/* 07:59 next morning: still closed; 08:00: open. */
	set_time(T0 + (24 + 6) * 3600 * 1000 + 59 * 60 * 1000);
	CHECK(!sched_run_tick(s));
	advance(60);
	CHECK(sched_run_tick(s));
	CHECK_EQ(t.run_calls, 1);
	sched_free(s);
	sched_budget_free(b);

	/* The parser. */
	CHECK(sched_parse_active_hours("22:30-7", &from, &to, NULL) == KITH_OK);
	CHECK_EQ(from, 1350);
	CHECK_EQ(to, 420);
	CHECK(sched_parse_active_hours("", &from, &to, NULL) == KITH_OK && from == to);
	CHECK(sched_parse_active_hours(NULL, &from, &to, NULL) == KITH_OK && from == to);
	CHECK(sched_parse_active_hours("00:00-24:00", &from, &to, NULL) == KITH_OK && from == to);
	CHECK(sched_parse_active_hours(" 9 - 17 ", &from, &to, NULL) == KITH_OK);
	CHECK_EQ(from, 540);
	CHECK_EQ(to, 1020);
	CHECK(sched_parse_active_hours("25:00-07:00", &from, &to, &why) == KITH_EINVAL);
	CHECK_CONTAINS(why, "08:00-22:00");
	free(why);
	why = NULL;
	CHECK(sched_parse_active_hours("8:00-8:00", &from, &to, &why) == KITH_EINVAL);
	CHECK_CONTAINS(why, "same time");
	free(why);
	CHECK(sched_parse_active_hours("8:0-9", &from, &to, NULL) == KITH_EINVAL);
	CHECK(sched_parse_active_hours("8-9x", &from, &to, NULL) == KITH_EINVAL);
	/* Wrapping windows. */
	bc.active_from_min = 22 * 60;
	bc.active_to_min = 7 * 60;
	b = sched_budget_new(&bc);
	CHECK(sched_budget_allows(b, SCHED_SPEND_MESSAGE, T0 + 22 * 3600 * 1000, NULL)); /* 23:00 */
	CHECK(!sched_budget_allows(b, SCHED_SPEND_MESSAGE, T0 + 11 * 3600 * 1000, NULL)); /* 12:00 */
	sched_budget_free(b);
	tz_free(tz);
}

/* A week of an idle system whose jobs have nothing due: the scheduler asks
 * (cheaply) and never runs anything.  Then a week where notifications
 * always have something: sends stay within the daily budget. */
static void test_simulated_week(void)
{
	struct tjob t[6] = {
		{ .name = "schedule" }, { .name = "notify" }, { .name = "extract" },
		{ .name = "events" }, { .name = "learn" }, { .name = "enrich" },
	};
	static const int prio[6] = { SCHED_PRIO_SCHEDULES, SCHED_PRIO_NOTIFY, SCHED_PRIO_EXTRACT,
				     SCHED_PRIO_EVENTS, SCHED_PRIO_LEARN, SCHED_PRIO_ENRICH };
	struct sched *s;
	int runs = 0, dues = 0;

	set_time(T0);
	s = new_sched(60, 1, NULL);
	for (int i = 0; i < 6; i++) {
		t[i].use_due = true;
		add(s, &t[i], prio[i], i == 0 ? SCHED_ALWAYS : SCHED_PERIODIC, i == 0 ? 60 : 10, 0);
	}
	for (int tick = 0; tick < 7 * 24 * 360; tick++) {   /* every 10 s */
		CHECK(!sched_run_tick(s));
		advance(10);
	}
	for (int i = 0; i < 6; i++) {
		runs += t[i].run_calls;
		dues += t[i].due_calls;
	}
	CHECK_EQ(runs, 0);
	/* Each job asked about once per interval: the executor every 60 s,
	 * the rest every 10 s once idle (a minute after start). */
	CHECK(dues > 0);
	CHECK(t[0].due_calls <= 7 * 24 * 60 + 1);
	CHECK(t[1].due_calls <= 7 * 24 * 360);
	sched_free(s);

	{
		struct tz *tz = berlin();
		struct sched_budget_config bc = { .llm_calls_per_day = 20, .messages_per_day = 5,
						  .tz = tz };
		struct sched_budget *b;
		struct tjob n = { .name = "notify", .always_work = true,
				  .spend = SCHED_SPEND_LLM | SCHED_SPEND_MESSAGE };
		int per_day_max = 0, sent = 0;

		REQUIRE(sched_parse_active_hours("08:00-22:00", &bc.active_from_min,
						 &bc.active_to_min, NULL) == KITH_OK);
		b = sched_budget_new(&bc);
		n.budget = b;
		set_time(T0);
		s = new_sched(60, 1, b);
		add(s, &n, SCHED_PRIO_NOTIFY, SCHED_PERIODIC, 600, SCHED_SPEND_LLM |
		    SCHED_SPEND_MESSAGE);
		for (int day = 0; day < 7; day++) {
			int before = n.run_calls, msgs = 0;

			for (int tick = 0; tick < 24 * 60; tick++) {   /* every minute */
				sched_run_tick(s);
				sched_budget_used(b, fake_now(NULL), NULL, &msgs);
				if (msgs > per_day_max)
					per_day_max = msgs;
				advance(60);
			}
			sent += n.run_calls - before;
		}
		CHECK_EQ(per_day_max, 5);
		CHECK_EQ(sent, 7 * 5);
		sched_free(s);
		sched_budget_free(b);
		tz_free(tz);
	}
}

static void test_status_text(void)
{
	struct tz *tz = berlin();
	struct sched_budget_config bc = { .llm_calls_per_day = 50, .messages_per_day = 4,
					  .active_from_min = 480, .active_to_min = 1320,
					  .tz = tz };
	struct sched_budget *b = sched_budget_new(&bc);
	struct tjob t = { .name = "notify", .always_work = true };
	struct sched *s;
	char buf[2048], tiny[8];
	size_t need;

	set_time(T0 + 9 * 3600 * 1000);   /* 10:00 CET */
	s = new_sched(60, 1, b);
	add(s, &t, SCHED_PRIO_NOTIFY, SCHED_PERIODIC, 10, 0);
	need = sched_status(s, buf, sizeof(buf));
	CHECK(need < sizeof(buf));
	CHECK_CONTAINS(buf, "waiting for idle");
	CHECK_CONTAINS(buf, "notify");
	CHECK_CONTAINS(buf, "last run never");
	CHECK_CONTAINS(buf, "LLM calls 0/50, messages 0/4, active hours 08:00-22:00 (open)");
	advance(120);
	sched_run_tick(s);
	advance(5);
	sched_status(s, buf, sizeof(buf));
	CHECK_CONTAINS(buf, "scheduler: idle");
	CHECK_CONTAINS(buf, "last run 5s ago");
	CHECK_CONTAINS(buf, "runs 1 (work 1");
	CHECK_EQ(sched_status(s, tiny, sizeof(tiny)), strlen(buf));
	CHECK_EQ(strlen(tiny), sizeof(tiny) - 1);
	sched_free(s);
	sched_budget_free(b);
	tz_free(tz);
}

int main(void)
{
	RUN(test_priority_order);
	RUN(test_skip_when_nothing_due);
	RUN(test_idle_gating);
	RUN(test_periodic_interval);
	RUN(test_delayed);
	RUN(test_cancel_and_retry);
	RUN(test_command_does_not_cancel);
	RUN(test_stop_cancels);
	RUN(test_budget_day);
	RUN(test_active_hours);
	RUN(test_simulated_week);
	RUN(test_status_text);
	return test_summary();
}
