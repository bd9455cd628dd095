/* test_behaviour.c — the reply decision's golden cases, and the cues.
 *
 * The chance/threshold numbers come from an independent Python
 * re-statement of the SEL reference's legacy should_respond (digest §3.9)
 * run in the reference's [-1, 1] units; the first five cases are the
 * reference's own tests (digest §6).  Hormone levels are given here on
 * kith's scale (level = (ref + 1) / 2). */
#include "support/test.h"
#include "mind/behaviour.h"

#include <math.h>

#define CHECK_NEAR(a, b, eps) \
	do { double a_ = (a), b_ = (b); \
	     if (!(fabs(a_ - b_) <= (eps))) \
		     test_fail_(__FILE__, __LINE__, "%s ~= %s  (%.12f vs %.12f)", #a, #b, a_, b_); \
	} while (0)

static struct hormones neutral(void)
{
	struct hormones h;

	for (int i = 0; i < HORMONE_COUNT; i++)
		h.v[i] = 0.5;
	return h;
}

static struct hormones at_rest(void)
{
	struct hormones h;

	hormones_baseline(HORMONES_NO_CLOCK, &h);
	return h;
}

/* A group-channel message nobody addressed to SEL. */
static struct behaviour_input chatter(int backlog, double secs)
{
	struct behaviour_input in = { 0 };

	in.messages_since_reply = backlog;
	in.seconds_since_reply = secs;
	in.base_chance = BEHAVIOUR_BASE_CHANCE;
	return in;
}

static void expect(const struct behaviour_input *in, const struct hormones *h, bool respond,
		   double chance, double threshold, int line)
{
	struct behaviour_decision d;

	behaviour_decide(in, h, &d);
	if (d.respond != respond)
		test_fail_(__FILE__, line, "respond %d, want %d (chance %.4f, threshold %.4f)",
			   d.respond, respond, d.chance, d.threshold);
	if (fabs(d.chance - chance) > 1e-9 || fabs(d.threshold - threshold) > 1e-9)
		test_fail_(__FILE__, line, "chance %.12f threshold %.12f, want %.4f %.4f",
			   d.chance, d.threshold, chance, threshold);
	if (d.reason != (respond ? BEHAVIOUR_JOINS_IN : BEHAVIOUR_STAYS_QUIET))
		test_fail_(__FILE__, line, "reason %s", behaviour_reason_name(d.reason));
}
#define EXPECT(in, h, r, c, t) expect((in), (h), (r), (c), (t), __LINE__)

static void test_always_answers_when_addressed(void)
{
	struct hormones h = neutral();
	struct behaviour_decision d;
	struct behaviour_input in = chatter(0, -1);

	/* Even the grumpiest SEL answers these. */
	h.v[HORMONE_CORTISOL] = h.v[HORMONE_MELATONIN] = 1.0;
	h.v[HORMONE_PATIENCE] = 0.0;
	in.is_dm = true;
	behaviour_decide(&in, &h, &d);
	CHECK(d.respond && d.reason == BEHAVIOUR_DM);
	in = chatter(0, -1);
	in.mentioned = true;
	behaviour_decide(&in, &h, &d);
	CHECK(d.respond && d.reason == BEHAVIOUR_MENTIONED);
	in = chatter(0, -1);
	in.reply_to_self = true;
	behaviour_decide(&in, &h, &d);
	CHECK(d.respond && d.reason == BEHAVIOUR_REPLIED_TO);
	in = chatter(0, -1);
	in.direct_question = true;
	behaviour_decide(&in, &h, &d);
	CHECK(d.respond && d.reason == BEHAVIOUR_ASKED);
	CHECK(d.chance == 0.0 && d.threshold == 0.0);
}

/* The reference's own cases, zero hormones (our 0.5). */
static void test_reference_goldens(void)
{
	struct hormones h = neutral();
	struct behaviour_input in;

	/* base 0, continuation, no backlog: 0.18 < 0.4 − 0.08 */
	in = chatter(0, -1);
	in.base_chance = 0.0;
	in.continuation = true;
	EXPECT(&in, &h, false, 0.18, 0.32);
	/* backlog 5: 0.18 + 0.2 ≥ 0.32 − 0.05 */
	in.messages_since_reply = 5;
	EXPECT(&in, &h, true, 0.38, 0.27);
	/* base 0.24, SEL never spoke here */
	in = chatter(0, -1);
	EXPECT(&in, &h, false, 0.24, 0.4);
	/* SEL spoke 5 s ago: momentum 0.55, bar 0.3 */
	in = chatter(0, 5);
	EXPECT(&in, &h, true, 0.79, 0.3);
	/* 20 s, continuation, image, backlog 3: capped at 0.98 */
	in = chatter(3, 20);
	in.continuation = in.has_image = true;
	EXPECT(&in, &h, true, 0.98, 0.15);
}

/* At the flat resting levels (Python reference with BASELINE values). */
static void test_at_rest(void)
{
	struct hormones h = at_rest();
	struct behaviour_input in;
	static const double chance[] = { 0.2771, 0.3171, 0.3571, 0.3971, 0.4371, 0.4771, 0.4771,
					 0.4771 };

	/* Quiet SEL joins a group conversation after letting three messages
	 * pass; the backlog stops helping the chance at five and the bar at
	 * eight. */
	for (int ms = 0; ms < 8; ms++) {
		in = chatter(ms, -1);
		EXPECT(&in, &h, ms >= 3, chance[ms], 0.41 - 0.01 * ms);
	}
	in = chatter(0, 5);
	EXPECT(&in, &h, true, 0.8271, 0.31);
	in = chatter(0, 20);
	EXPECT(&in, &h, true, 0.6271, 0.31);
	in = chatter(0, 45);  /* momentum gone, a cue still helps */
	in.continuation = true;
	EXPECT(&in, &h, true, 0.4571, 0.33);
	in = chatter(0, -1);
	in.has_image = true;
	EXPECT(&in, &h, true, 0.3971, 0.37);
	/* A negative count is no backlog. */
	in = chatter(-3, -1);
	EXPECT(&in, &h, false, 0.2771, 0.41);
}

static void test_mood_changes_the_answer(void)
{
	struct hormones stressed = at_rest(), happy = at_rest();
	struct behaviour_input in;

	/* Reference cortisol 0.8, melatonin 0.6, patience −0.4. */
	stressed.v[HORMONE_CORTISOL] = 0.9;
	stressed.v[HORMONE_MELATONIN] = 0.8;
	stressed.v[HORMONE_PATIENCE] = 0.3;
	in = chatter(5, -1);
	EXPECT(&in, &stressed, false, 0.2613, 0.3625);  /* at rest: yes */
	in.continuation = in.has_image = true;
	EXPECT(&in, &stressed, true, 0.5613, 0.2425);
	in = chatter(0, 15);
	EXPECT(&in, &stressed, true, 0.4113, 0.3125);

	/* Reference dopamine 0.8, oxytocin 0.6, curiosity 0.7, novelty 0.5:
	 * an upbeat SEL speaks up at once. */
	happy.v[HORMONE_DOPAMINE] = 0.9;
	happy.v[HORMONE_OXYTOCIN] = 0.8;
	happy.v[HORMONE_CURIOSITY] = 0.85;
	happy.v[HORMONE_NOVELTY] = 0.75;
	in = chatter(0, -1);
	EXPECT(&in, &happy, true, 0.4324, 0.3825);
	in = chatter(1, -1);
	EXPECT(&in, &happy, true, 0.4724, 0.3725);
}

static void test_deterministic(void)
{
	struct hormones h = at_rest();
	struct behaviour_input in = chatter(2, 40);
	struct behaviour_decision a, b;

	in.has_image = true;
	behaviour_decide(&in, &h, &a);
	for (int i = 0; i < 100; i++) {
		behaviour_decide(&in, &h, &b);
		CHECK(a.respond == b.respond && a.chance == b.chance && a.threshold == b.threshold);
	}
}

static void test_names_and_questions(void)
{
	/* The reference's is_direct_question_to_sel cases. */
	CHECK(!behaviour_is_direct_question("myself?", "sel"));
	CHECK(behaviour_is_direct_question("Sel?", "sel"));
	CHECK(behaviour_is_direct_question("hey, sel?", "sel"));
	CHECK(behaviour_is_direct_question("what do you think, SEL?", "Sel"));
	CHECK(!behaviour_is_direct_question("sel, how are you", "sel"));
	CHECK(!behaviour_is_direct_question("diesel?", "sel"));
	CHECK(behaviour_names("selfish sel", "sel"));
	CHECK(behaviour_names("sel's cat", "sel"));
	CHECK(behaviour_names("sel’s cat", "sel"));
	CHECK(behaviour_names("👋sel", "sel"));
	CHECK(!behaviour_names("sel_bot here", "sel"));
	CHECK(!behaviour_names("hello", ""));
	CHECK(!behaviour_names(NULL, "sel"));
	CHECK(!behaviour_is_direct_question(NULL, "sel"));
	/* A name that is not a word at its edge still matches by its edges. */
	CHECK(behaviour_names("ask @kith-bot!", "kith-bot"));
}

static void test_continuation(void)
{
	static const char *const kw[] = { "time", "schedule", NULL };

	CHECK(behaviour_is_continuation("what time is it", "sel", kw, false, -1));
	CHECK(!behaviour_is_continuation("sometimes it rains", "sel", kw, false, -1));
	CHECK(behaviour_is_continuation("anything", "sel", kw, true, -1));
	CHECK(behaviour_is_continuation("sel would know", "sel", kw, false, -1));
	CHECK(behaviour_is_continuation("sel would know", "sel", NULL, false, -1));
	/* "you" right after SEL spoke, not later, not when it never did. */
	CHECK(behaviour_is_continuation("thank you", "sel", kw, false, 100));
	CHECK(behaviour_is_continuation("how are u", "sel", kw, false, 359));
	CHECK(!behaviour_is_continuation("thank you", "sel", kw, false, 400));
	CHECK(!behaviour_is_continuation("thank you", "sel", kw, false, -1));
	CHECK(!behaviour_is_continuation("young people", "sel", kw, false, 100));
	CHECK(!behaviour_is_continuation("nice weather", "sel", NULL, false, 100));
}

static void test_whitelist_and_authors(void)
{
	static const char *const none[] = { NULL };
	static const char *const some[] = { "123", "456", NULL };

	CHECK(behaviour_channel_allowed("789", NULL));
	CHECK(behaviour_channel_allowed("789", none));
	CHECK(behaviour_channel_allowed("456", some));
	CHECK(!behaviour_channel_allowed("789", some));
	CHECK(!behaviour_channel_allowed("45", some));
	CHECK(!behaviour_channel_allowed(NULL, some));

	CHECK(behaviour_ignores_author(true, "1", "2"));
	CHECK(behaviour_ignores_author(false, "2", "2"));
	CHECK(!behaviour_ignores_author(false, "1", "2"));
	CHECK(!behaviour_ignores_author(false, "1", NULL));
	CHECK(!behaviour_ignores_author(false, NULL, "2"));

	CHECK_STR(behaviour_reason_name(BEHAVIOUR_JOINS_IN), "joins-in");
	CHECK_STR(behaviour_reason_name(BEHAVIOUR_DM), "dm");
	CHECK_STR(behaviour_reason_name((enum behaviour_reason)99), "unknown");
}

int main(void)
{
	RUN(test_always_answers_when_addressed);
	RUN(test_reference_goldens);
	RUN(test_at_rest);
	RUN(test_mood_changes_the_answer);
	RUN(test_deterministic);
	RUN(test_names_and_questions);
	RUN(test_continuation);
	RUN(test_whitelist_and_authors);
	return test_summary();
}
