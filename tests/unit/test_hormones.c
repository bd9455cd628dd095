/* test_hormones.c — the hormone math against pinned values, and the quick
 * message reader (sentiment.c) that feeds it.
 *
 * Where a number comes from the SEL reference it was computed by an
 * independent Python re-statement of the reference's legacy hormones.py in
 * its own [-1, 1] units (digest §3.4; the script reproduces every golden the
 * digest lists), then mapped with level = (ref + 1) / 2.  Numbers for kith's
 * own additions (cues, reactions, fractional minutes) are worked by hand in
 * the comments. */
#include "support/test.h"
#include "mind/hormones.h"
#include "mind/sentiment.h"

#include <math.h>

#define CHECK_NEAR(a, b, eps) \
	do { double a_ = (a), b_ = (b); \
	     if (!(fabs(a_ - b_) <= (eps))) \
		     test_fail_(__FILE__, __LINE__, "%s ~= %s  (%.12f vs %.12f)", #a, #b, a_, b_); \
	} while (0)

/* Order: dopamine, serotonin, oxytocin, cortisol, melatonin, novelty,
 * curiosity, patience. */
static void check_levels(const struct hormones *h, const double *want, double eps,
			 const char *what)
{
	for (int i = 0; i < HORMONE_COUNT; i++) {
		if (!(fabs(h->v[i] - want[i]) <= eps))
			test_fail_(__FILE__, __LINE__, "%s: %s is %.12f, want %.12f", what,
				   hormones_name((enum hormone)i), h->v[i], want[i]);
	}
}

static void set_all(struct hormones *h, double x)
{
	for (int i = 0; i < HORMONE_COUNT; i++)
		h->v[i] = x;
}

static void decay_for(struct hormones *h, double secs, double start_hour, double quiet_s)
{
	struct hormones_span span = { .elapsed_s = secs, .start_hour = start_hour,
				      .quiet_s = quiet_s };

	hormones_decay(h, &span);
}

static void test_names_and_scale(void)
{
	enum hormone which;

	CHECK_STR(hormones_name(HORMONE_DOPAMINE), "dopamine");
	CHECK_STR(hormones_name(HORMONE_PATIENCE), "patience");
	CHECK(hormones_name(HORMONE_COUNT) == NULL);
	CHECK(hormones_lookup("Melatonin", &which) && which == HORMONE_MELATONIN);
	CHECK(!hormones_lookup("adrenaline", &which));
	CHECK_NEAR(hormones_from_sel(0.0), 0.5, 1e-15);
	CHECK_NEAR(hormones_from_sel(-1.0), 0.0, 1e-15);
	CHECK_NEAR(hormones_from_sel(0.15), 0.575, 1e-15);
	CHECK_NEAR(hormones_from_sel(3.0), 1.0, 1e-15);
	CHECK_NEAR(hormones_to_sel(0.625), 0.25, 1e-15);
}

static void test_baselines(void)
{
	struct hormones b;
	/* Reference BASELINE mapped: (0.15+1)/2, (0.20+1)/2, … */
	static const double flat[] = { 0.575, 0.6, 0.55, 0.55, 0.525, 0.55, 0.575, 0.625 };

	hormones_baseline(HORMONES_NO_CLOCK, &b);
	check_levels(&b, flat, 1e-15, "flat");
	/* Cortisol peaks at 08:00: 0.55 + 0.125; melatonin at 02:00: 0.525 +
	 * 0.175; serotonin and dopamine at noon: 0.6 + 0.05, 0.575 + 0.025. */
	hormones_baseline(8.0, &b);
	CHECK_NEAR(b.v[HORMONE_CORTISOL], 0.675, 1e-12);
	hormones_baseline(2.0, &b);
	CHECK_NEAR(b.v[HORMONE_MELATONIN], 0.7, 1e-12);
	hormones_baseline(14.0, &b);  /* twelve hours later: the trough */
	CHECK_NEAR(b.v[HORMONE_MELATONIN], 0.35, 1e-12);
	hormones_baseline(12.0, &b);
	CHECK_NEAR(b.v[HORMONE_SEROTONIN], 0.65, 1e-12);
	CHECK_NEAR(b.v[HORMONE_DOPAMINE], 0.6, 1e-12);
	CHECK_NEAR(b.v[HORMONE_CURIOSITY], 0.575, 1e-15);  /* flat all day */
	/* 26:00 is 02:00. */
	hormones_baseline(26.0, &b);
	CHECK_NEAR(b.v[HORMONE_MELATONIN], 0.7, 1e-12);
	hormones_init(&b, HORMONES_NO_CLOCK);
	check_levels(&b, flat, 1e-15, "init");
}

/* One reference step from the reference's zero vector (our 0.5), the
 * digest's "decay(None)", "decay(08:00)" and "decay(14:30)" goldens.  A
 * step samples the clock when it ends, so a step ending at 08:00 starts at
 * 07:59. */
static void test_one_step_matches_reference(void)
{
	struct hormones h;
	static const double flat[] = { 0.5225, 0.51, 0.509, 0.5004, 0.500625, 0.506, 0.506, 0.50625 };
	static const double at8[] = { 0.52625, 0.5125, 0.509, 0.5014, 0.500625, 0.506, 0.506, 0.50625 };
	static const double at1430[] = { 0.528450150052, 0.513966766701, 0.509, 0.500269473808,
					 0.496287428731, 0.506, 0.506, 0.50625 };

	set_all(&h, 0.5);
	decay_for(&h, 60, HORMONES_NO_CLOCK, 0);
	check_levels(&h, flat, 1e-12, "decay(None)");
	set_all(&h, 0.5);
	decay_for(&h, 60, 8.0 - 1.0 / 60.0, 0);
	check_levels(&h, at8, 1e-12, "decay(08:00)");
	set_all(&h, 0.5);
	decay_for(&h, 60, 14.5 - 1.0 / 60.0, 0);
	check_levels(&h, at1430, 1e-12, "decay(14:30)");
}

/* A simulated day with a fake clock: from neutral at midnight in a channel
 * that falls quiet (drift from minute 11 on), values at 06:00, 12:00,
 * 18:00 and 24:00 from the Python reference.  Three ways to spend the day
 * must agree: 1440 one-minute calls, 24 one-hour calls, one call. */
static void test_simulated_day(void)
{
	static const double want[4][HORMONE_COUNT] = {
		{ 0.574745511309, 0.498039869447, 0.55, 0.609991043982, 0.835008027106, 0.55,
		  0.6125, 0.545000000082 },
		{ 0.599996850634, 0.549870133772, 0.55, 0.643674645112, 0.592222586487, 0.55,
		  0.6125, 0.545 },
		{ 0.575254488691, 0.501960130553, 0.55, 0.492432390931, 0.614946250592, 0.55,
		  0.6125, 0.545 },
		{ 0.550003146185, 0.450081250617, 0.55, 0.456459827344, 0.85777740848, 0.55,
		  0.6125, 0.545 },
	};
	struct hormones by_minute, by_hour, at_once;
	char mood[64];

	set_all(&by_minute, 0.5);
	set_all(&by_hour, 0.5);
	for (int m = 0; m < 1440; m++) {
		decay_for(&by_minute, 60, m / 60.0, 60.0 * m);
		if ((m + 1) % 360 == 0)
			check_levels(&by_minute, want[(m + 1) / 360 - 1], 1e-9, "minute steps");
	}
	for (int hr = 0; hr < 24; hr++)
		decay_for(&by_hour, 3600, hr, 3600.0 * hr);
	for (int q = 0; q < 4; q++) {
		set_all(&at_once, 0.5);
		decay_for(&at_once, 6 * 3600.0 * (q + 1), 0.0, 0);
		check_levels(&at_once, want[q], 1e-9, "one call");
	}
	for (int i = 0; i < HORMONE_COUNT; i++) {
		CHECK_NEAR(by_hour.v[i], by_minute.v[i], 1e-12);
		CHECK_NEAR(at_once.v[i], by_minute.v[i], 1e-12);
	}
	/* Midnight after a silent day: melatonin (ref 0.716) outweighs
	 * dopamine (ref 0.1): energy −0.31. */
	hormones_mood(&at_once, mood, sizeof mood);
	CHECK_STR(mood, "low on energy, sleepy");
}

/* Feedback: cortisol 0.95 and serotonin 0.9 (reference 0.9 and 0.8) at
 * noon for five minutes in a live channel: stress pulls serotonin and
 * dopamine down, contentment pulls oxytocin up (Python reference). */
static void test_feedback_under_stress(void)
{
	struct hormones h;
	static const double want[] = { 0.558829615934, 0.737408490161, 0.554484282557,
				       0.936657941461, 0.484815589510, 0.523613404160,
				       0.525568885760, 0.528277382813 };

	set_all(&h, 0.5);
	h.v[HORMONE_CORTISOL] = 0.95;
	h.v[HORMONE_SEROTONIN] = 0.9;
	decay_for(&h, 300, 12.0, 0);
	check_levels(&h, want, 1e-9, "stressed");
}

/* Ten days away: only the last four are stepped, and the answer is the
 * Python reference's full 14400-step run. */
static void test_long_gap(void)
{
	struct hormones h;
	static const double want[] = { 0.550003146185, 0.450081250617, 0.55, 0.456459414579,
				       0.85777740848, 0.55, 0.6125, 0.545 };

	set_all(&h, 0.5);
	decay_for(&h, 10 * 86400.0, 0.0, 0);
	check_levels(&h, want, 1e-9, "ten days");
	/* An infinite gap is a long one, not a crash. */
	decay_for(&h, INFINITY, 0.0, 0);
	for (int i = 0; i < HORMONE_COUNT; i++)
		CHECK(h.v[i] >= 0.0 && h.v[i] <= 1.0);
}

static void test_fractional_minutes(void)
{
	struct hormones a, b;

	/* Half a minute keeps sqrt(1 − rate) of each gap: dopamine
	 * 0.575 − 0.075·sqrt(0.7) = 0.512251…, cortisol 0.55 − 0.05·sqrt(0.992). */
	set_all(&a, 0.5);
	decay_for(&a, 30, HORMONES_NO_CLOCK, 0);
	CHECK_NEAR(a.v[HORMONE_DOPAMINE], 0.575 - 0.075 * sqrt(0.7), 1e-15);
	CHECK_NEAR(a.v[HORMONE_CORTISOL], 0.55 - 0.05 * sqrt(0.992), 1e-15);
	CHECK_NEAR(a.v[HORMONE_DOPAMINE], 0.512251, 1e-6);
	/* With a flat baseline and no feedback or drift in play, two halves
	 * are one whole minute, and so are six ten-second ticks. */
	decay_for(&a, 30, HORMONES_NO_CLOCK, 30);
	set_all(&b, 0.5);
	decay_for(&b, 60, HORMONES_NO_CLOCK, 0);
	for (int i = 0; i < HORMONE_COUNT; i++)
		CHECK_NEAR(a.v[i], b.v[i], 1e-14);
	set_all(&a, 0.5);
	for (int t = 0; t < 6; t++)
		decay_for(&a, 10, HORMONES_NO_CLOCK, 10.0 * t);
	for (int i = 0; i < HORMONE_COUNT; i++)
		CHECK_NEAR(a.v[i], b.v[i], 1e-14);
	/* With the clock running the pieces sample the baseline at their own
	 * ends: still within a minute's movement of it (< 1e-4). */
	set_all(&a, 0.5);
	set_all(&b, 0.5);
	for (int t = 0; t < 4; t++)
		decay_for(&a, 15, 7.5 + t * 15.0 / 3600.0, 0);
	decay_for(&b, 60, 7.5, 0);
	for (int i = 0; i < HORMONE_COUNT; i++)
		CHECK_NEAR(a.v[i], b.v[i], 1e-4);
	/* Nothing passes, nothing changes. */
	b = a;
	decay_for(&a, 0, 3.0, 0);
	decay_for(&a, -5, 3.0, 0);
	decay_for(&a, NAN, 3.0, 0);
	for (int i = 0; i < HORMONE_COUNT; i++)
		CHECK(a.v[i] == b.v[i]);
}

/* Quiet drift starts after ten minutes: serotonin −0.01, melatonin +0.005,
 * curiosity +0.003, patience −0.004 per minute, on top of the decay. */
static void test_quiet_drift(void)
{
	struct hormones live, quiet;

	set_all(&live, 0.5);
	set_all(&quiet, 0.5);
	decay_for(&live, 60, HORMONES_NO_CLOCK, 0);
	decay_for(&quiet, 60, HORMONES_NO_CLOCK, 600);  /* ends 660 s quiet */
	CHECK_NEAR(quiet.v[HORMONE_SEROTONIN] - live.v[HORMONE_SEROTONIN], -0.01, 1e-15);
	CHECK_NEAR(quiet.v[HORMONE_MELATONIN] - live.v[HORMONE_MELATONIN], 0.005, 1e-15);
	CHECK_NEAR(quiet.v[HORMONE_CURIOSITY] - live.v[HORMONE_CURIOSITY], 0.003, 1e-15);
	CHECK_NEAR(quiet.v[HORMONE_PATIENCE] - live.v[HORMONE_PATIENCE], -0.004, 1e-15);
	CHECK_NEAR(quiet.v[HORMONE_DOPAMINE], live.v[HORMONE_DOPAMINE], 0);
	/* 540 s quiet + 60 = 600: not yet more than ten minutes. */
	set_all(&quiet, 0.5);
	decay_for(&quiet, 60, HORMONES_NO_CLOCK, 540);
	CHECK_NEAR(quiet.v[HORMONE_MELATONIN], live.v[HORMONE_MELATONIN], 0);
}

static void test_message_effects(void)
{
	struct hormones h;
	struct hormones_stimulus m = { 0 };
	/* The digest's goldens, mapped: positive 0.5 playful → dop .075, ser .04,
	 * oxy .04, cort −.025, mel −.02, nov .035, cur .04, pat .01 (reference). */
	static const double pos_playful[] = { 0.5375, 0.52, 0.52, 0.4875, 0.49, 0.5175, 0.52, 0.505 };
	/* negative 1.0 plain → cort .12, mel .02 (the playful/plain row wins),
	 * dop −.07, ser −.06, nov −.01, cur −.03, pat −.04. */
	static const double neg_plain[] = { 0.465, 0.47, 0.5, 0.56, 0.51, 0.495, 0.485, 0.48 };
	/* Intensity 2 counts as 1.25. */
	static const double neg_loud[] = { 0.45625, 0.4625, 0.5, 0.575, 0.5125, 0.49375,
					   0.48125, 0.475 };
	/* kith's cues on a neutral, plain, intensity-1 message, by hand:
	 * neutral row  cort +.0075 nov +.005 cur +.005
	 * plain row    mel +.01 nov +.005 pat +.005
	 * question     dop +.025 cur +.05
	 * novel        dop +.05 nov +.1 cur +.075
	 * addressed    dop +.01 oxy +.02 */
	static const double cues[] = { 0.585, 0.5, 0.52, 0.5075, 0.51, 0.61, 0.63, 0.505 };

	set_all(&h, 0.5);
	m.sentiment = HORMONES_POSITIVE;
	m.intensity = 0.5;
	m.playful = true;
	hormones_on_message(&h, &m);
	check_levels(&h, pos_playful, 1e-15, "positive");

	set_all(&h, 0.5);
	m = (struct hormones_stimulus){ .sentiment = HORMONES_NEGATIVE, .intensity = 1.0 };
	hormones_on_message(&h, &m);
	check_levels(&h, neg_plain, 1e-15, "negative");

	set_all(&h, 0.5);
	m.intensity = 2.0;
	hormones_on_message(&h, &m);
	check_levels(&h, neg_loud, 1e-15, "negative, loud");

	set_all(&h, 0.5);
	m = (struct hormones_stimulus){ .sentiment = HORMONES_NEUTRAL, .intensity = 1.0,
					.question = true, .novel = true, .addressed = true };
	hormones_on_message(&h, &m);
	check_levels(&h, cues, 1e-15, "cues");

	/* Levels stay in [0, 1]. */
	set_all(&h, 1.0);
	m = (struct hormones_stimulus){ .sentiment = HORMONES_POSITIVE, .intensity = 1.25,
					.question = true, .novel = true };
	for (int i = 0; i < 50; i++)
		hormones_on_message(&h, &m);
	CHECK_NEAR(h.v[HORMONE_DOPAMINE], 1.0, 0);
	CHECK_NEAR(h.v[HORMONE_CORTISOL], 0.0, 0);
	/* A NaN intensity is the faintest message, not a poisoned state. */
	set_all(&h, 0.5);
	m = (struct hormones_stimulus){ .sentiment = HORMONES_POSITIVE, .intensity = NAN };
	hormones_on_message(&h, &m);
	CHECK_NEAR(h.v[HORMONE_DOPAMINE], 0.5 + 0.06 * 0.05, 1e-15);
}

static void test_reactions(void)
{
	struct hormones h;
	static const double accepted[] = { 0.54, 0.52, 0.53, 0.485, 0.5, 0.5, 0.5, 0.5 };
	static const double rejected[] = { 0.47, 0.48, 0.48, 0.54, 0.5, 0.5, 0.5, 0.49 };

	set_all(&h, 0.5);
	hormones_on_reaction(&h, HORMONES_REACTION_ACCEPTED);
	check_levels(&h, accepted, 1e-15, "accepted");
	set_all(&h, 0.5);
	hormones_on_reaction(&h, HORMONES_REACTION_REJECTED);
	check_levels(&h, rejected, 1e-15, "rejected");
	set_all(&h, 0.5);
	hormones_on_reaction(&h, HORMONES_REACTION_NONE);
	for (int i = 0; i < HORMONE_COUNT; i++)
		CHECK(h.v[i] == 0.5);
}

static void test_temperature(void)
{
	struct hormones h;

	/* The digest's goldens (base 0.8): the zero vector → 0.8; dop = nov =
	 * cur = 1 → 0.98; cort = mel = 1, pat = −1 → 0.63. */
	set_all(&h, 0.5);
	CHECK_NEAR(hormones_temperature(&h, 0.8), 0.8, 1e-12);
	h.v[HORMONE_DOPAMINE] = h.v[HORMONE_NOVELTY] = h.v[HORMONE_CURIOSITY] = 1.0;
	CHECK_NEAR(hormones_temperature(&h, 0.8), 0.98, 1e-12);
	set_all(&h, 0.5);
	h.v[HORMONE_CORTISOL] = h.v[HORMONE_MELATONIN] = 1.0;
	h.v[HORMONE_PATIENCE] = 0.0;
	CHECK_NEAR(hormones_temperature(&h, 0.8), 0.63, 1e-12);
	/* At rest: creativity .30·.15 + .35·.1 + .25·.15 = .1175, restraint
	 * .35·.1 + .30·.05 = .05 → 0.8 + 0.2·0.0675 = 0.8135. */
	hormones_baseline(HORMONES_NO_CLOCK, &h);
	CHECK_NEAR(hormones_temperature(&h, 0.8), 0.8135, 1e-12);
	/* The window: never below base − 0.25 (nor 0.1), never above base + 0.2. */
	set_all(&h, 0.0);
	h.v[HORMONE_CORTISOL] = h.v[HORMONE_MELATONIN] = 1.0;
	CHECK_NEAR(hormones_temperature(&h, 0.8), 0.55, 1e-12);
	CHECK_NEAR(hormones_temperature(&h, 0.2), 0.1, 1e-12);
	set_all(&h, 1.0);
	h.v[HORMONE_CORTISOL] = h.v[HORMONE_MELATONIN] = 0.5;
	CHECK_NEAR(hormones_temperature(&h, 1.1), 1.2, 1e-12);
}

static void test_typing_delay(void)
{
	struct hormones h;

	set_all(&h, 0.5);
	CHECK_NEAR(hormones_typing_delay(&h), 1.8, 1e-12);
	/* 1.5 − .1 + .2 − .05 − .1 + (.3 − .15) − .2·.15 + .25·.25 */
	hormones_baseline(HORMONES_NO_CLOCK, &h);
	CHECK_NEAR(hormones_typing_delay(&h), 1.6325, 1e-12);
	set_all(&h, 0.0);
	h.v[HORMONE_SEROTONIN] = h.v[HORMONE_PATIENCE] = 1.0;
	CHECK_NEAR(hormones_typing_delay(&h), 3.5, 1e-12);
	set_all(&h, 1.0);
	h.v[HORMONE_SEROTONIN] = h.v[HORMONE_PATIENCE] = 0.0;
	CHECK_NEAR(hormones_typing_delay(&h), 0.2, 1e-12);
}

static void test_mood_and_prompt(void)
{
	struct hormones h;
	char buf[HORMONES_PROMPT_MAX];
	size_t n;

	set_all(&h, 0.5);
	hormones_mood(&h, buf, sizeof buf);
	CHECK_STR(buf, "even-keeled");
	h.v[HORMONE_CORTISOL] = 0.8;  /* reference 0.6 > 0.5 */
	hormones_mood(&h, buf, sizeof buf);
	CHECK_STR(buf, "tense");
	set_all(&h, 0.5);
	h.v[HORMONE_OXYTOCIN] = h.v[HORMONE_SEROTONIN] = 0.65;  /* warmth .3 + .3 */
	h.v[HORMONE_CURIOSITY] = 0.8;                            /* drive .6 */
	hormones_mood(&h, buf, sizeof buf);
	CHECK_STR(buf, "warm, curious");
	set_all(&h, 0.5);
	h.v[HORMONE_SEROTONIN] = 0.8;  /* content .6 */
	hormones_mood(&h, buf, sizeof buf);
	CHECK_STR(buf, "content");
	h.v[HORMONE_DOPAMINE] = 1.0;
	h.v[HORMONE_MELATONIN] = 0.0;
	h.v[HORMONE_SEROTONIN] = 0.5;  /* energy (1 + 1)/2 */
	hormones_mood(&h, buf, sizeof buf);
	CHECK_STR(buf, "lively");
	/* Four would apply; three are kept. */
	set_all(&h, 0.5);
	h.v[HORMONE_CORTISOL] = h.v[HORMONE_CURIOSITY] = h.v[HORMONE_NOVELTY] = 0.9;
	h.v[HORMONE_MELATONIN] = 0.9;
	h.v[HORMONE_PATIENCE] = 0.2;
	hormones_mood(&h, buf, sizeof buf);
	CHECK_STR(buf, "tense, curious, short on patience");
	/* snprintf contract: the full length comes back, the text is cut. */
	n = hormones_mood(&h, buf, 6);
	CHECK_EQ(n, strlen("tense, curious, short on patience"));
	CHECK_STR(buf, "tense");
	CHECK_EQ(hormones_mood(&h, NULL, 0), n);

	hormones_baseline(HORMONES_NO_CLOCK, &h);
	n = hormones_prompt_block(&h, buf, sizeof buf);
	CHECK(n < sizeof buf);
	CHECK_EQ(n, strlen(buf));
	CHECK_CONTAINS(buf, "mood right now: even-keeled.");
	CHECK_CONTAINS(buf, "- dopamine 0.57 (reward and drive)\n");
	CHECK_CONTAINS(buf, "- cortisol 0.55 (stress)\n");
	CHECK_CONTAINS(buf, "- patience 0.62 (tolerance for waiting)\n");
	/* The worst case still fits. */
	set_all(&h, 1.0);
	h.v[HORMONE_PATIENCE] = 0.0;
	CHECK(hormones_prompt_block(&h, NULL, 0) < HORMONES_PROMPT_MAX);
}

static void test_sanitize(void)
{
	struct hormones h;

	set_all(&h, 0.5);
	h.v[HORMONE_DOPAMINE] = NAN;
	h.v[HORMONE_CORTISOL] = 7.0;
	h.v[HORMONE_PATIENCE] = -INFINITY;
	hormones_sanitize(&h);
	CHECK_NEAR(h.v[HORMONE_DOPAMINE], 0.575, 0);
	CHECK_NEAR(h.v[HORMONE_CORTISOL], 1.0, 0);
	CHECK_NEAR(h.v[HORMONE_PATIENCE], 0.625, 0);
	CHECK_NEAR(h.v[HORMONE_SEROTONIN], 0.5, 0);
}

static void test_quick_read(void)
{
	struct hormones_stimulus m;

	mind_read_message("thanks, that's perfect", &m);
	CHECK_EQ(m.sentiment, HORMONES_POSITIVE);
	/* .16 + 0 marks + .09·2 words */
	CHECK_NEAR(m.intensity, 0.34, 1e-12);
	CHECK(!m.playful && !m.question && !m.novel && !m.addressed);

	mind_read_message("ugh this is broken again", &m);
	CHECK_EQ(m.sentiment, HORMONES_NEGATIVE);
	CHECK_NEAR(m.intensity, 0.34, 1e-12);

	/* Negation flips the next two words, up to the end of the clause. */
	mind_read_message("not bad at all", &m);
	CHECK_EQ(m.sentiment, HORMONES_POSITIVE);
	mind_read_message("that wasn't helpful", &m);
	CHECK_EQ(m.sentiment, HORMONES_NEGATIVE);
	mind_read_message("not very good", &m);
	CHECK_EQ(m.sentiment, HORMONES_NEGATIVE);
	mind_read_message("no, that's great", &m);
	CHECK_EQ(m.sentiment, HORMONES_POSITIVE);
	mind_read_message("I don’t love it", &m);  /* typographic apostrophe */
	CHECK_EQ(m.sentiment, HORMONES_NEGATIVE);

	/* Shouting: .16 + .08·3 marks + .09 + .12 caps */
	mind_read_message("THIS IS AWESOME!!!", &m);
	CHECK_EQ(m.sentiment, HORMONES_POSITIVE);
	CHECK_NEAR(m.intensity, 0.61, 1e-12);

	/* Playful messages register at least 0.24. */
	mind_read_message("hahaha ok", &m);
	CHECK(m.playful);
	CHECK_EQ(m.sentiment, HORMONES_NEUTRAL);
	CHECK_NEAR(m.intensity, 0.24, 1e-12);
	mind_read_message("you wish 😜", &m);
	CHECK(m.playful);
	mind_read_message("lmao", &m);
	CHECK(m.playful);

	mind_read_message("what time is it in Tokyo", &m);
	CHECK(m.question);
	CHECK_EQ(m.sentiment, HORMONES_NEUTRAL);
	mind_read_message("anyone around?", &m);
	CHECK(m.question);
	CHECK_NEAR(m.intensity, 0.24, 1e-12);

	mind_read_message("i love this ❤️ :)", &m);
	CHECK_EQ(m.sentiment, HORMONES_POSITIVE);
	mind_read_message("😭😭", &m);
	CHECK_EQ(m.sentiment, HORMONES_NEGATIVE);
	/* Many marks: both terms cap at 0.35 → 0.16 + 0.35 + 0.35 = 0.86. */
	mind_read_message("great great great great great !!!!!!!!", &m);
	CHECK_NEAR(m.intensity, 0.86, 1e-12);

	mind_read_message(NULL, &m);
	CHECK_EQ(m.sentiment, HORMONES_NEUTRAL);
	CHECK_NEAR(m.intensity, 0.16, 1e-12);
	mind_read_message("", &m);
	CHECK_NEAR(m.intensity, 0.16, 1e-12);

	CHECK(mind_prefer_quick_read(90, true));
	CHECK(!mind_prefer_quick_read(91, true));
	CHECK(mind_prefer_quick_read(5000, false));
}

static void test_reaction_kinds(void)
{
	CHECK_EQ(mind_reaction_kind("👍"), HORMONES_REACTION_ACCEPTED);
	CHECK_EQ(mind_reaction_kind("👍🏽"), HORMONES_REACTION_ACCEPTED);  /* skin tone */
	CHECK_EQ(mind_reaction_kind("❤️"), HORMONES_REACTION_ACCEPTED);   /* with VS16 */
	CHECK_EQ(mind_reaction_kind("❤"), HORMONES_REACTION_ACCEPTED);
	CHECK_EQ(mind_reaction_kind("😂"), HORMONES_REACTION_ACCEPTED);
	CHECK_EQ(mind_reaction_kind("👎"), HORMONES_REACTION_REJECTED);
	CHECK_EQ(mind_reaction_kind("🙄"), HORMONES_REACTION_REJECTED);
	/* Unlike the reference, an unlisted emoji is not a rejection. */
	CHECK_EQ(mind_reaction_kind("🦆"), HORMONES_REACTION_NONE);
	CHECK_EQ(mind_reaction_kind("👍x"), HORMONES_REACTION_NONE);
	CHECK_EQ(mind_reaction_kind("partyparrot"), HORMONES_REACTION_NONE);
	CHECK_EQ(mind_reaction_kind(""), HORMONES_REACTION_NONE);
	CHECK_EQ(mind_reaction_kind(NULL), HORMONES_REACTION_NONE);
}

int main(void)
{
	RUN(test_names_and_scale);
	RUN(test_baselines);
	RUN(test_one_step_matches_reference);
	RUN(test_simulated_day);
	RUN(test_feedback_under_stress);
	RUN(test_long_gap);
	RUN(test_fractional_minutes);
	RUN(test_quiet_drift);
	RUN(test_message_effects);
	RUN(test_reactions);
	RUN(test_temperature);
	RUN(test_typing_delay);
	RUN(test_mood_and_prompt);
	RUN(test_sanitize);
	RUN(test_quick_read);
	RUN(test_reaction_kinds);
	return test_summary();
}
