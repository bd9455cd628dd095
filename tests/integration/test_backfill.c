/* test_backfill.c — `kith backfill` against the fake Discord: a channel of
 * 250 messages (three pages) becomes memories for the people's messages the
 * agent would keep, dated when they were sent and sourced by message id;
 * re-running, --restart and new messages never duplicate anything; killed
 * with SIGKILL between pages it resumes before the saved message and ends
 * with exactly a full run's memories; SIGTERM stops after the current batch
 * with its progress saved; missing settings exit 2 and say which. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_discord.h"
#include "agent/agent.h"
#include "core/alloc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define TOKEN "backfill-token"
#define BOT_ID "1000000000000000001"     /* the fake's bot user */
#define DISCORD_EPOCH 1420070400000LL
#define BASE_MS 1714564800000LL          /* 2024-05-01 12:00 UTC */
#define NMSG 250
#define MIN_CHARS 20                     /* MEMORY_MIN_CHARS default */

struct hist {
	char id[32];
	int64_t ms;
	char content[128];
	bool bot;
	bool kept;       /* what the agent's rule keeps */
};

static struct fake_discord *fake;

/* A channel's history, oldest first, added to the fake (ids grow with
 * time, as the fake serves them). */
static void make_history(struct hist *h, size_t n, const char *channel, const char *tag,
			 int64_t start_ms)
{
	for (size_t i = 0; i < n; i++) {
		h[i].ms = start_ms + (int64_t)i * 60000;
		snprintf(h[i].id, sizeof(h[i].id), "%llu",
			 ((unsigned long long)(h[i].ms - DISCORD_EPOCH) << 22) | (unsigned)i);
		h[i].bot = i % 7 == 3;
		if (h[i].bot)
			snprintf(h[i].content, sizeof(h[i].content), "%s bot reply %zu about the weather",
				 tag, i);
		else if (i % 11 == 5)
			h[i].content[0] = '\0';
		else if (i % 13 == 8)
			snprintf(h[i].content, sizeof(h[i].content), "ok %zu", i);
		else if (i % 17 == 2)
			snprintf(h[i].content, sizeof(h[i].content), "remember %s %zu", tag, i);
		else
			snprintf(h[i].content, sizeof(h[i].content),
				 "%s message %zu: I think the hike up the ridge was lovely", tag, i);
		h[i].kept = !h[i].bot && h[i].content[0] &&
			    agent_message_salience(h[i].content, MIN_CHARS) > 0;
		fake_discord_add_message(fake, channel, h[i].id, h[i].bot ? BOT_ID : "2000000000000000002",
					 h[i].content);
	}
}

static long long kept_count(const struct hist *h, size_t from, size_t to)
{
	long long n = 0;

	for (size_t i = from; i < to; i++)
		n += h[i].kept;
	return n;
}

static void env_for(struct kith_env *e, const char *name, const char *channels)
{
	kith_env_init(e, name);
	kith_env_set(e, "DISCORD_BOT_TOKEN", TOKEN);
	kith_env_set(e, "DISCORD_API_URL", fake_discord_api_url(fake));
	kith_env_set(e, "BACKFILL_CHANNEL_IDS", channels);
}

static long long memories(const struct kith_env *e)
{
	return db_int(e->db_path, "SELECT count(*) FROM memories");
}

static char *progress(const struct kith_env *e, const char *column, const char *channel)
{
	char *sql = xasprintf("SELECT %s FROM backfill WHERE channel_id = '%s'", column, channel);
	char *v = db_text(e->db_path, sql);

	free(sql);
	return v;
}

/* The `before` of REST request i ("" when absent; heap). */
static char *before_of(size_t i)
{
	char *path = fake_discord_request_path(fake, i), *b, *r;

	if (!path)
		return NULL;
	b = strstr(path, "before=");
	r = xstrdup(b ? b + 7 : "");
	free(path);
	return r;
}

static void backfill_ok(struct kith_env *e, const char *arg)
{
	struct proc_result r;

	REQUIRE(kith_run(e, NULL, &r, "backfill", arg, NULL) == 0);
	if (r.exit_code != 0)
		fprintf(stderr, "kith backfill failed:\n%s\n", r.err);
	CHECK_EQ(r.exit_code, 0);
	proc_result_release(&r);
}

static void test_full_run_and_reruns(void)
{
	static struct hist h[NMSG + 5];
	const char *cid = "700000000000000001";
	struct kith_env e;
	size_t base;
	long long want = 0;
	char *v, *sql;

	make_history(h, NMSG, cid, "alpha", BASE_MS);
	want = kept_count(h, 0, NMSG);
	CHECK(want > 100 && want < NMSG);   /* the fixture mixes kept and skipped */
	env_for(&e, "full", cid);

	base = fake_discord_request_count(fake);
	backfill_ok(&e, NULL);
	CHECK_EQ(memories(&e), want);
	/* pages of 100, newest first, each before the oldest of the last, and
	 * one more that comes back empty */
	CHECK_EQ(fake_discord_request_count(fake) - base, 4);
	v = before_of(base);
	CHECK_STR(v, "");
	free(v);
	v = before_of(base + 1);
	CHECK_STR(v, h[NMSG - 100].id);
	free(v);
	v = before_of(base + 2);
	CHECK_STR(v, h[NMSG - 200].id);
	free(v);
	v = before_of(base + 3);
	CHECK_STR(v, h[0].id);
	free(v);

	/* what a memory holds: when it was said, where from, who said it */
	for (size_t i = 0; i < NMSG; i++) {
		if (!h[i].kept || i % 10)
			continue;
		sql = xasprintf("SELECT created_at FROM memories WHERE source = 'discord:%s'", h[i].id);
		CHECK_EQ(db_int(e.db_path, sql), h[i].ms);
		free(sql);
	}
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE source NOT LIKE 'discord:%'"
				   " OR scope <> 'global' OR text NOT LIKE 'someone: %'"), 0);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE '%bot reply%'"
				   " OR text LIKE '%: ok %'"), 0);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE "
				   "'someone: remember %'"), kept_count(h, 0, NMSG) -
		 db_int(e.db_path, "SELECT count(*) FROM memories WHERE text LIKE '%hike%'"));
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM memories WHERE tags LIKE "
				   "'backfill,user_message,channel:discord,user:2000000000000000002'"), want);
	/* neighbours are kept as context (a bot's reply included) */
	sql = xasprintf("SELECT context FROM memories WHERE source = 'discord:%s'", h[4].id);
	v = db_text(e.db_path, sql);
	CHECK_CONTAINS(v, "bot reply 3");
	free(v);
	free(sql);
	v = progress(&e, "done", cid);
	CHECK_STR(v, "1");
	free(v);
	v = progress(&e, "floor", cid);
	CHECK_STR(v, h[NMSG - 1].id);
	free(v);

	/* again: one page, which reaches the floor at once; nothing new */
	base = fake_discord_request_count(fake);
	backfill_ok(&e, NULL);
	CHECK_EQ(fake_discord_request_count(fake) - base, 1);
	CHECK_EQ(memories(&e), want);

	/* --restart reads everything again and still stores nothing twice */
	base = fake_discord_request_count(fake);
	backfill_ok(&e, "--restart");
	CHECK_EQ(fake_discord_request_count(fake) - base, 4);
	CHECK_EQ(memories(&e), want);

	/* new messages: only they are added */
	make_history(h + NMSG, 5, cid, "later", h[NMSG - 1].ms + 3600000);
	base = fake_discord_request_count(fake);
	backfill_ok(&e, NULL);
	CHECK_EQ(fake_discord_request_count(fake) - base, 1);
	CHECK_EQ(memories(&e), want + kept_count(h + NMSG, 0, 5));
	v = progress(&e, "floor", cid);
	CHECK_STR(v, h[NMSG + 4].id);
	free(v);
	kith_env_release(&e);
}

/* Start `kith backfill` with the second history page held back and wait
 * until kith asks for it.  NULL, with the failure recorded, when either
 * step does not happen. */
static struct proc *start_with_second_page_held(struct kith_env *e)
{
	size_t seen = fake_discord_history_requests(fake);
	struct proc *p;

	fake_discord_hold_history(fake, (long)seen + 1);
	p = kith_start(e, "backfill", NULL);
	if (!p) {
		test_fail_(__FILE__, __LINE__, "kith backfill could not be started");
		return NULL;
	}
	if (!fake_discord_wait_history(fake, seen + 2, 30000)) {
		proc_kill(p);
		fake_discord_release_history(fake);
		test_fail_(__FILE__, __LINE__, "the second history request never came");
		return NULL;
	}
	return p;
}

static void test_resumes_after_kill(void)
{
	static struct hist h[NMSG];
	const char *cid = "700000000000000002";
	struct kith_env e, ref;
	struct proc *p;
	struct proc_result r;
	size_t reqs;
	char *cursor, *v;

	make_history(h, NMSG, cid, "beta", BASE_MS + 86400000LL);
	env_for(&e, "killed", cid);

	/* answer the first page, hold the second, kill kith while it waits */
	p = start_with_second_page_held(&e);
	if (!p)
		return;
	proc_kill(p);   /* SIGKILL */

	cursor = progress(&e, "cursor", cid);
	CHECK_STR(cursor, h[NMSG - 100].id);   /* the first page, fully processed */
	v = progress(&e, "done", cid);
	CHECK_STR(v, "0");
	free(v);
	CHECK_EQ(memories(&e), kept_count(h, NMSG - 100, NMSG));

	/* let the held request end (it is recorded when answered) */
	reqs = fake_discord_request_count(fake);
	fake_discord_release_history(fake);
	CHECK(fake_discord_wait_requests(fake, reqs + 1, 10000));

	reqs = fake_discord_request_count(fake);
	REQUIRE(kith_run(&e, NULL, &r, "backfill", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	proc_result_release(&r);
	v = before_of(reqs);
	CHECK_STR(v, cursor);   /* resumed where it stopped */
	free(v);
	CHECK_EQ(fake_discord_request_count(fake) - reqs, 3);   /* pages 2, 3 and the empty one */

	/* nothing lost, nothing twice: the same as one uninterrupted run */
	env_for(&ref, "uninterrupted", cid);
	backfill_ok(&ref, NULL);
	CHECK_EQ(memories(&e), memories(&ref));
	CHECK_EQ(memories(&e), kept_count(h, 0, NMSG));
	CHECK_EQ(db_int(e.db_path, "SELECT count(DISTINCT source) FROM memories"), memories(&e));
	free(cursor);
	kith_env_release(&ref);
	kith_env_release(&e);
}

static void test_sigterm_stops_after_the_batch(void)
{
	static struct hist h[NMSG];
	const char *cid = "700000000000000003";
	struct kith_env e;
	struct proc *p;
	struct proc_result r;
	char *v;

	make_history(h, NMSG, cid, "gamma", BASE_MS + 2 * 86400000LL);
	env_for(&e, "sigterm", cid);
	p = start_with_second_page_held(&e);
	if (!p)
		return;
	kill(proc_pid(p), SIGTERM);
	fake_discord_release_history(fake);   /* the page arrives after the signal */
	if (proc_wait(p, 20000, &r) != 0) {
		proc_kill(p);
		REQUIRE(!"kith did not stop after SIGTERM");
	}
	CHECK_EQ(r.exit_code, 128 + SIGTERM);
	CHECK_CONTAINS(r.err, "interrupted; progress saved");
	proc_result_release(&r);
	/* the first batch (64 messages) of the second page, then stop */
	v = progress(&e, "cursor", cid);
	CHECK_STR(v, h[NMSG - 100 - 64].id);
	free(v);
	CHECK_EQ(memories(&e), kept_count(h, NMSG - 164, NMSG));

	backfill_ok(&e, NULL);
	CHECK_EQ(memories(&e), kept_count(h, 0, NMSG));
	kith_env_release(&e);
}

static void test_missing_settings(void)
{
	struct kith_env e;
	struct proc_result r;

	kith_env_init(&e, "nosettings");
	REQUIRE(kith_run(&e, NULL, &r, "backfill", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "backfill needs DISCORD_BOT_TOKEN");
	proc_result_release(&r);

	kith_env_set(&e, "DISCORD_BOT_TOKEN", TOKEN);
	REQUIRE(kith_run(&e, NULL, &r, "backfill", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "backfill needs BACKFILL_CHANNEL_IDS");
	proc_result_release(&r);

	kith_env_set(&e, "BACKFILL_CHANNEL_IDS", "123");
	REQUIRE(kith_run(&e, NULL, &r, "backfill", "--bogus", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "usage: kith backfill");
	proc_result_release(&r);
	kith_env_release(&e);
}

int main(void)
{
	fake = fake_discord_start(TOKEN);
	if (!fake)
		return 1;
	RUN(test_missing_settings);
	RUN(test_full_run_and_reruns);
	RUN(test_resumes_after_kill);
	RUN(test_sigterm_stops_after_the_batch);
	fake_discord_stop(fake);
	return test_summary();
}
