/* hormones.c — the hormone math, with the reason for every number.
 *
 * Design choice: port the SEL reference (legacy hormones.py, digest §3.4)
 * rather than invent a model, because its numbers were tuned by people
 * living with the bot and its golden values give us a check.  The seed says
 * eight hormones in [0, 1]; the reference keeps thirteen in [-1, 1].  We keep
 * the seed's eight (in the legacy model the other five never feed back into
 * them; their terms in temperature, reply score and tone words drop out with
 * them) and move the scale with the affine map
 *
 *     level = (ref + 1) / 2        ref = 2·level − 1
 *
 * Under that map a reference step  ref' = clamp(ref + (B − ref)·rate + d)
 * becomes  level' = clamp01(level + ((B+1)/2 − level)·rate + d/2):  rates are
 * untouched, baselines move with the map, and every additive delta (message
 * effects, feedback, quiet drift, circadian amplitude) is halved.  Clamping
 * to [-1, 1] becomes clamping to [0, 1].  Nothing is approximated, so the
 * reference's golden values hold after mapping (tests/unit/test_hormones.c).
 * Feedback thresholds move too: the reference's "cortisol above 0.3" is
 * "level above 0.65", and its factor 2·(level − 0.65) times a halved
 * coefficient leaves the coefficient as it was.
 *
 * The reference's 0 (a fresh, untouched vector) is our 0.5: neither up nor
 * down.  Baselines sit a little above it, so a calm SEL is mildly upbeat.
 *
 * Additions where the reference is silent (questions, novelty, being
 * addressed, reactions) are marked "kith:" and explained where they are
 * defined.  docs/mind.md walks through all of it. */
#include "mind/hormones.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#define DOP HORMONE_DOPAMINE
#define SER HORMONE_SEROTONIN
#define OXY HORMONE_OXYTOCIN
#define CORT HORMONE_CORTISOL
#define MEL HORMONE_MELATONIN
#define NOV HORMONE_NOVELTY
#define CUR HORMONE_CURIOSITY
#define PAT HORMONE_PATIENCE

struct hormone_def {
	const char *name;
	const char *meaning;  /* what the prompt says the level stands for */
	/* Share of the gap to the baseline closed per minute.  The reference's
	 * decay loop runs every 60 s, so its per-step rates are per minute:
	 * dopamine is gone in minutes (a reward blip), cortisol takes hours
	 * (half-life ln 2 / −ln 0.992 ≈ 86 min), like the real hormones. */
	double rate;
	/* Resting level: (reference BASELINE + 1) / 2. */
	double baseline;
	/* Circadian swing of the baseline: half the reference amplitude, as
	 * amp·cos((hour − peak)/12·π).  The reference defines amplitudes for
	 * every channel but its code applies them only to cortisol (peak 08:00,
	 * the morning cortisol awakening response), melatonin (peak 02:00, the
	 * night) and serotonin and dopamine (peak at noon).  We follow the code:
	 * its golden values depend on it, and a flat curiosity or patience
	 * across the day reads fine. */
	double circ_amp;
	double circ_peak;
};

static const struct hormone_def defs[HORMONE_COUNT] = {
	/*                 name          meaning                          rate   baseline amp    peak */
	[DOP]  = { "dopamine",  "reward and drive",                  0.30,  0.575, 0.025, 12.0 },
	[SER]  = { "serotonin", "contentment",                       0.10,  0.600, 0.050, 12.0 },
	[OXY]  = { "oxytocin",  "closeness to the people here",      0.18,  0.550, 0.0,    0.0 },
	[CORT] = { "cortisol",  "stress",                            0.008, 0.550, 0.125,  8.0 },
	[MEL]  = { "melatonin", "sleepiness",                        0.025, 0.525, 0.175,  2.0 },
	[NOV]  = { "novelty",   "appetite for new things",           0.12,  0.550, 0.0,    0.0 },
	[CUR]  = { "curiosity", "urge to ask and explore",           0.08,  0.575, 0.0,    0.0 },
	[PAT]  = { "patience",  "tolerance for waiting",             0.05,  0.625, 0.0,    0.0 },
};

/* Feedback during decay, from the levels before the step (as the
 * reference computes them once, up front).  A stressed SEL (cortisol above
 * 0.65, the reference's 0.3) loses serotonin and dopamine: stress eats
 * contentment and reward.  A content SEL (serotonin above 0.65) grows
 * oxytocin: contentment makes it warmer toward people.  Coefficients are the
 * reference's (the map leaves them unchanged, see the top of the file). */
#define FEEDBACK_CORT_ABOVE 0.65
#define FEEDBACK_SER_ABOVE 0.65
#define FEEDBACK_CORT_SER (-0.05)
#define FEEDBACK_CORT_DOP (-0.03)
#define FEEDBACK_SER_OXY 0.04

/* Inactivity: per minute while the channel has been quiet for more than
 * HORMONES_QUIET_AFTER_S, half the reference's apply_silence_drift deltas.
 * Left alone, SEL gets a little flat and sleepy, curious about what people
 * are up to, and less patient.  Balanced against the pull of decay the
 * offsets settle at delta/rate: serotonin −0.1, melatonin +0.2, curiosity
 * +0.0375, patience −0.08 — a quiet channel makes SEL drowsy above all. */
static const double quiet_drift[HORMONE_COUNT] = {
	[SER] = -0.01, [MEL] = 0.005, [CUR] = 0.003, [PAT] = -0.004,
};

/* Longest stretch stepped minute by minute (four days).  What came before
 * is forgotten to better than 1e-20 (0.992^5760, cortisol being slowest). */
#define MAX_STEPS 5760.0

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static double clamp01(double x)
{
	return clamp(x, 0.0, 1.0);
}

/* The reference's value for a level, for formulas written in its terms. */
static double ref(const struct hormones *h, enum hormone i)
{
	return 2.0 * h->v[i] - 1.0;
}

const char *hormones_name(enum hormone which)
{
	if ((unsigned)which >= HORMONE_COUNT)
		return NULL;
	return defs[which].name;
}

bool hormones_lookup(const char *name, enum hormone *out)
{
	for (int i = 0; i < HORMONE_COUNT; i++) {
		if (name && strcasecmp(name, defs[i].name) == 0) {
			*out = (enum hormone)i;
			return true;
		}
	}
	return false;
}

double hormones_from_sel(double ref_level)
{
	return clamp01((ref_level + 1.0) / 2.0);
}

double hormones_to_sel(double level)
{
	return 2.0 * clamp01(level) - 1.0;
}

static bool has_clock(double hour)
{
	return isfinite(hour) && hour >= 0.0;
}

void hormones_baseline(double local_hour, struct hormones *out)
{
	bool clock = has_clock(local_hour);
	double h = clock ? fmod(local_hour, 24.0) : 0.0;

	for (int i = 0; i < HORMONE_COUNT; i++) {
		double b = defs[i].baseline;

		if (clock && defs[i].circ_amp != 0.0)
			b += defs[i].circ_amp * cos((h - defs[i].circ_peak) / 12.0 * M_PI);
		/* The reference clamps the cortisol and melatonin baselines; with
		 * these amplitudes the clamp never bites, but keep levels legal. */
		out->v[i] = clamp01(b);
	}
}

void hormones_init(struct hormones *h, double local_hour)
{
	hormones_baseline(local_hour, h);
}

void hormones_sanitize(struct hormones *h)
{
	for (int i = 0; i < HORMONE_COUNT; i++)
		h->v[i] = isfinite(h->v[i]) ? clamp01(h->v[i]) : defs[i].baseline;
}

/* One reference decay step, or a fraction f in (0, 1] of one: the kept share
 * of each gap is (1 − rate)^f, which composes exactly (two half minutes keep
 * (1 − rate)^½·(1 − rate)^½ = 1 − rate) — the closed form of the per-minute
 * rate for a stretch that is not a whole minute.  The linear feedback and
 * drift terms are scaled by f. */
static void step(struct hormones *h, double f, double hour_end, bool quiet)
{
	struct hormones base;
	double cs = fmax(0.0, h->v[CORT] - FEEDBACK_CORT_ABOVE);
	double sw = fmax(0.0, h->v[SER] - FEEDBACK_SER_ABOVE);

	hormones_baseline(hour_end, &base);
	for (int i = 0; i < HORMONE_COUNT; i++) {
		/* f == 1 takes the reference's own form, bit for bit. */
		double closed = f >= 1.0 ? defs[i].rate : 1.0 - pow(1.0 - defs[i].rate, f);

		h->v[i] += (base.v[i] - h->v[i]) * closed;
	}
	h->v[SER] += FEEDBACK_CORT_SER * cs * f;
	h->v[DOP] += FEEDBACK_CORT_DOP * cs * f;
	h->v[OXY] += FEEDBACK_SER_OXY * sw * f;
	for (int i = 0; i < HORMONE_COUNT; i++)
		h->v[i] = clamp01(h->v[i]);

	/* The reference applies the quiet drift after the decay, clamping
	 * again. */
	if (quiet) {
		for (int i = 0; i < HORMONE_COUNT; i++)
			h->v[i] = clamp01(h->v[i] + quiet_drift[i] * f);
	}
}

void hormones_decay(struct hormones *h, const struct hormones_span *span)
{
	double elapsed = span->elapsed_s;
	double quiet0 = span->quiet_s > 0.0 ? span->quiet_s : 0.0;  /* NaN → 0 */
	bool clock = has_clock(span->start_hour);
	double minutes, whole, frac, skip = 0.0;

	if (!(elapsed > 0.0))
		return;
	if (!isfinite(elapsed))
		elapsed = MAX_STEPS * 60.0;
	minutes = elapsed / 60.0;
	whole = floor(minutes);
	frac = minutes - whole;
	if (whole > MAX_STEPS) {
		skip = whole - MAX_STEPS;
		whole = MAX_STEPS;
	}

	/* Step i ends `skip + i` minutes after the start; the reference's loop
	 * samples the clock and the quiet time when each minute ends. */
	for (double i = 1.0; i <= whole; i += 1.0) {
		double m = skip + i;

		step(h, 1.0, clock ? span->start_hour + m / 60.0 : HORMONES_NO_CLOCK,
		     quiet0 + 60.0 * m > HORMONES_QUIET_AFTER_S);
	}
	if (frac > 0.0)
		step(h, frac, clock ? span->start_hour + minutes / 60.0 : HORMONES_NO_CLOCK,
		     quiet0 + elapsed > HORMONES_QUIET_AFTER_S);
}

/* ---- messages and reactions --------------------------------------------- */

/* Per-message effects at intensity 1, half the reference's
 * apply_message_effects deltas; each is multiplied by the intensity.
 * Positive talk is reward, contentment and closeness and calms stress;
 * negative talk is stress first (cortisol +0.06 outweighs the +0.025 relief
 * of a kind word: bad news lands harder) and dulls drive and patience.
 * Neutral chatter adds a trace of arousal and interest.  Melatonin is absent
 * from the sentiment rows on purpose: the reference overwrites its
 * sentiment melatonin deltas with the playful/plain ones below, so only
 * playfulness moves it. */
static const double fx_positive[HORMONE_COUNT] = {
	[DOP] = 0.06, [SER] = 0.04, [OXY] = 0.04, [CORT] = -0.025,
	[NOV] = 0.02, [CUR] = 0.03, [PAT] = 0.01,
};
static const double fx_negative[HORMONE_COUNT] = {
	[DOP] = -0.035, [SER] = -0.03, [CORT] = 0.06,
	[NOV] = -0.01, [CUR] = -0.015, [PAT] = -0.025,
};
static const double fx_neutral[HORMONE_COUNT] = {
	[CORT] = 0.0075, [NOV] = 0.005, [CUR] = 0.005,
};
/* Play wakes SEL up and feeds reward and interest; a plain message nudges
 * toward rest (conversation is work) and patience. */
static const double fx_playful[HORMONE_COUNT] = {
	[DOP] = 0.015, [MEL] = -0.02, [NOV] = 0.015, [CUR] = 0.01,
};
static const double fx_plain[HORMONE_COUNT] = {
	[MEL] = 0.01, [NOV] = 0.005, [PAT] = 0.005,
};

/* kith: content cues the legacy reference does not have, added at full
 * strength whatever the intensity (a question is a question however loud).
 * A question and something new are the Rust side project's 8-hormone deltas
 * (digest §8: question cur +.1 dop +.05; novel nov +.2 dop +.1 cur +.15),
 * halved so that no single cue outweighs a strongly positive message (dop
 * +0.06).  Being addressed is contact: a small bonding and reward bump that
 * lets someone who keeps talking to SEL warm it up over a conversation. */
static const double fx_question[HORMONE_COUNT] = {
	[DOP] = 0.025, [CUR] = 0.05,
};
static const double fx_novel[HORMONE_COUNT] = {
	[DOP] = 0.05, [NOV] = 0.10, [CUR] = 0.075,
};
static const double fx_addressed[HORMONE_COUNT] = {
	[DOP] = 0.01, [OXY] = 0.02,
};

/* kith: reactions.  The reference only retunes settings on a reaction; the
 * seed wants acceptance and rejection to move hormones.  A reaction is one
 * click — weaker than a message — but it is a verdict on what SEL itself
 * said, so it is about two-thirds of a full-intensity positive or negative
 * message on reward, contentment, bonding and stress, with rejection
 * stinging more than acceptance soothes, as in the message rows. */
static const double fx_accepted[HORMONE_COUNT] = {
	[DOP] = 0.04, [SER] = 0.02, [OXY] = 0.03, [CORT] = -0.015,
};
static const double fx_rejected[HORMONE_COUNT] = {
	[DOP] = -0.03, [SER] = -0.02, [OXY] = -0.02, [CORT] = 0.04, [PAT] = -0.01,
};

static void add(double *acc, const double *row, double scale)
{
	for (int i = 0; i < HORMONE_COUNT; i++)
		acc[i] += row[i] * scale;
}

static void apply(struct hormones *h, const double *delta)
{
	for (int i = 0; i < HORMONE_COUNT; i++)
		h->v[i] = clamp01(h->v[i] + delta[i]);
}

void hormones_on_message(struct hormones *h, const struct hormones_stimulus *m)
{
	double d[HORMONE_COUNT] = { 0 };
	double cues[HORMONE_COUNT] = { 0 };
	/* The reference's clamp: a whisper still registers, a shout counts
	 * for at most 1.25 of a normal message. */
	double s = isfinite(m->intensity) ? clamp(m->intensity, 0.05, 1.25) : 0.05;

	switch (m->sentiment) {
	case HORMONES_POSITIVE: add(d, fx_positive, s); break;
	case HORMONES_NEGATIVE: add(d, fx_negative, s); break;
	default:                add(d, fx_neutral, s); break;
	}
	add(d, m->playful ? fx_playful : fx_plain, s);
	/* One clamp per channel over the reference's combined delta, as there. */
	apply(h, d);

	if (m->question)
		add(cues, fx_question, 1.0);
	if (m->novel)
		add(cues, fx_novel, 1.0);
	if (m->addressed)
		add(cues, fx_addressed, 1.0);
	apply(h, cues);
}

void hormones_on_reaction(struct hormones *h, enum hormones_reaction r)
{
	if (r == HORMONES_REACTION_ACCEPTED)
		apply(h, fx_accepted);
	else if (r == HORMONES_REACTION_REJECTED)
		apply(h, fx_rejected);
}

/* ---- what the levels do ------------------------------------------------- */

/* The reference's temperature_for_hormones over our eight (its endorphin,
 * adrenaline and progesterone terms drop out), in its terms.  Drive toward
 * the new (dopamine, novelty, curiosity) loosens sampling; stress,
 * sleepiness and impatience tighten it, but only their "above neutral"
 * parts — a calm SEL is not made more creative by low cortisol.  The 0.2
 * gain and the asymmetric window (−0.25 … +0.2 around base, never below 0.1
 * or above 1.2) keep the persona recognisable at any mood. */
double hormones_temperature(const struct hormones *h, double base)
{
	double creativity = 0.30 * ref(h, DOP) + 0.35 * ref(h, NOV) + 0.25 * ref(h, CUR);
	double restraint = 0.35 * fmax(0.0, ref(h, CORT)) + 0.30 * fmax(0.0, ref(h, MEL)) +
			   0.20 * fmax(0.0, -ref(h, PAT));
	double lo = fmax(0.1, base - 0.25), hi = fmin(1.2, base + 0.2);

	return fmax(lo, fmin(hi, base + 0.2 * (creativity - restraint)));
}

/* The reference's typing delay, in its terms, around 1.5 s.  Contentment
 * (serotonin) and patience make SEL take its time; stress hurries it;
 * eagerness (dopamine, novelty, curiosity) answers sooner; melatonin also
 * shortens it (a drowsy SEL dashes off a line rather than composing one).
 * All levels at 0.5 give 1.8 s; the flat baselines give 1.6325 s. */
double hormones_typing_delay(const struct hormones *h)
{
	double d = 1.5 - ref(h, CORT) + ref(h, SER) - ref(h, MEL) - ref(h, NOV) +
		   (0.3 - ref(h, DOP)) - 0.2 * ref(h, CUR) + 0.25 * ref(h, PAT);

	return clamp(d, 0.2, 3.5);
}

/* Bounded appends with snprintf's "length it would have been" result. */
struct out {
	char *p;
	size_t cap, len;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->cap ? o->p + o->len : NULL,
		      o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void out_start(struct out *o, char *p, size_t cap)
{
	o->p = p;
	o->cap = p ? cap : 0;
	o->len = 0;
	if (o->cap)
		p[0] = '\0';
}

/* Mood words, in the reference's terms and shape (one leading phrase, then
 * qualifiers, at most three) with our own wording:
 *   tension  = cortisol above neutral
 *   content  = serotonin − 0.4·tension        (stress spoils contentment)
 *   energy   = (dopamine − melatonin) / 2     (drive against sleepiness)
 *   warmth   = oxytocin + serotonin − 0.5·tension
 *   drive    = curiosity + novelty
 * Thresholds are on the reference scale (0 = neutral, 1 = maximal). */
size_t hormones_mood(const struct hormones *h, char *buf, size_t cap)
{
	struct out o;
	const char *words[4];
	int n = 0;
	double tension = fmax(0.0, ref(h, CORT));
	double content = ref(h, SER) - 0.4 * tension;
	double energy = (ref(h, DOP) - ref(h, MEL)) / 2.0;
	double warmth = ref(h, OXY) + ref(h, SER) - 0.5 * tension;
	double drive = ref(h, CUR) + ref(h, NOV);

	if (tension > 0.5)
		words[n++] = "tense";
	else if (content > 0.5)
		words[n++] = "content";
	else if (energy > 0.5)
		words[n++] = "lively";
	else if (energy < -0.2)
		words[n++] = "low on energy";
	else if (warmth > 0.5)
		words[n++] = "warm";
	else if (warmth < -0.2)
		words[n++] = "a bit distant";
	else
		words[n++] = "even-keeled";
	if (drive > 0.4)
		words[n++] = "curious";
	if (ref(h, PAT) < -0.2)
		words[n++] = "short on patience";
	if (ref(h, MEL) > 0.5)
		words[n++] = "sleepy";

	out_start(&o, buf, cap);
	for (int i = 0; i < n && i < 3; i++)
		outf(&o, "%s%s", i ? ", " : "", words[i]);
	return o.len;
}

size_t hormones_prompt_block(const struct hormones *h, char *buf, size_t cap)
{
	struct out o;
	char mood[96];

	hormones_mood(h, mood, sizeof mood);
	out_start(&o, buf, cap);
	outf(&o, "Your mood right now: %s.\n", mood);
	outf(&o, "Your hormone levels (0 = depleted, 0.5 = neutral, 1 = surging):\n");
	for (int i = 0; i < HORMONE_COUNT; i++)
		outf(&o, "- %s %.2f (%s)\n", defs[i].name, clamp01(h->v[i]), defs[i].meaning);
	outf(&o, "Let them colour your tone; do not mention them unless asked.\n");
	return o.len;
}
