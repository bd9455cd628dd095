/* hormones.h — SEL's mood: eight hormone levels per channel, and what they do.
 *
 * The model is the SEL reference's legacy hormones.py restricted to the eight
 * hormones the seed names, carried from the reference's [-1, 1] scale onto
 * the seed's [0, 1] scale by the affine map  level = (ref + 1) / 2.  Every
 * reference baseline maps the same way, every additive delta and circadian
 * amplitude is halved, and the decay rates (fractions of a gap) are
 * unchanged, so the reference's trajectories map onto kith's exactly and its
 * golden values carry over (docs/mind.md has the table and the proofs).
 * Formulas written in the reference's terms (temperature, typing delay, the
 * reply score) read the reference value back with ref = 2·level − 1.
 *
 * Everything here is pure: numbers in, numbers out, no clock, no globals, no
 * allocation.  The caller works out the local hour (SEL_TIMEZONE) and the
 * elapsed time; loading and saving levels belongs to store/. */
#ifndef KITH_MIND_HORMONES_H
#define KITH_MIND_HORMONES_H

#include <stdbool.h>
#include <stddef.h>

enum hormone {
	HORMONE_DOPAMINE,   /* reward, engagement */
	HORMONE_SEROTONIN,  /* well-being, contentment */
	HORMONE_OXYTOCIN,   /* bonding, warmth */
	HORMONE_CORTISOL,   /* stress, urgency */
	HORMONE_MELATONIN,  /* rest drive */
	HORMONE_NOVELTY,    /* exposure to new stimuli */
	HORMONE_CURIOSITY,  /* drive to explore and ask */
	HORMONE_PATIENCE,   /* tolerance for waiting */
	HORMONE_COUNT
};

/* Levels in [0, 1]; 0.5 is the reference's 0 ("neither up nor down"). */
struct hormones {
	double v[HORMONE_COUNT];
};

/* "dopamine", …; NULL for an out-of-range index. */
const char *hormones_name(enum hormone which);
/* The hormone called `name` (case-insensitive); false if there is none. */
bool hormones_lookup(const char *name, enum hormone *out);

/* Pass as a local hour when the time of day is unknown: baselines are then
 * flat (the reference's decay(None)). */
#define HORMONES_NO_CLOCK (-1.0)
/* A channel quiet for longer than this drifts (inactivity, see decay). */
#define HORMONES_QUIET_AFTER_S 600.0

/* Resting levels at a local time of day (hours, 8.5 = 08:30; 24 and up
 * wrap; negative — HORMONES_NO_CLOCK — or NaN: flat baselines). */
void hormones_baseline(double local_hour, struct hormones *out);
/* A fresh channel starts at rest: hormones_baseline(local_hour). */
void hormones_init(struct hormones *h, double local_hour);
/* Repair levels read from storage: NaN/inf become the flat baseline, the
 * rest are clamped to [0, 1]. */
void hormones_sanitize(struct hormones *h);
/* Convert one level from / to the SEL reference's [-1, 1] scale (importing
 * an old SEL database, comparing with the reference's golden values). */
double hormones_from_sel(double ref_level);
double hormones_to_sel(double level);

/* A stretch of time passing. */
struct hormones_span {
	double elapsed_s;   /* how long; <= 0 or NaN: nothing happens */
	double start_hour;  /* local hour when it began, or HORMONES_NO_CLOCK */
	double quiet_s;     /* how long the channel had already been quiet when
			     * it began (seconds since its last message) */
};

/* Let time pass: every level relaxes toward its (circadian) baseline, a few
 * feed back on each other, and a channel quiet for more than
 * HORMONES_QUIET_AFTER_S drifts toward withdrawn and sleepy.  Defined as the
 * reference's one-minute step repeated for each whole minute (the step
 * ending at minute i uses the baseline at start_hour + i/60), then the
 * remaining fraction f of a minute as the same step with the kept share of
 * each gap (1 − rate)^f and the other terms scaled by f.  So n one-minute
 * calls equal one n-minute call; a minute split into pieces matches one
 * whole minute exactly while the baseline is flat and the coupling and
 * quiet drift are idle, and to within a minute's movement of the baseline
 * otherwise.  Only the last four days of
 * a longer gap are stepped: the slowest hormone keeps 0.992^5760 < 1e-20 of
 * anything older. */
void hormones_decay(struct hormones *h, const struct hormones_span *span);

enum hormones_sentiment {
	HORMONES_NEUTRAL,
	HORMONES_POSITIVE,
	HORMONES_NEGATIVE,
};

/* What one incoming message was like (from the utility model's
 * classification, or mind_read_message() in sentiment.h). */
struct hormones_stimulus {
	enum hormones_sentiment sentiment;
	double intensity;  /* 0..1.25, clamped to [0.05, 1.25]; scales sentiment */
	bool playful;      /* jokes, teasing, "lol" */
	bool question;     /* asks something */
	bool novel;        /* new to SEL: nothing relevant recalled from memory */
	bool addressed;    /* a mention of, reply to, or question to SEL */
};

/* Apply one message's effects (call hormones_decay up to the message first). */
void hormones_on_message(struct hormones *h, const struct hormones_stimulus *m);

enum hormones_reaction {
	HORMONES_REACTION_NONE,      /* an emoji that says nothing either way */
	HORMONES_REACTION_ACCEPTED,  /* 👍 ❤️ on SEL's message */
	HORMONES_REACTION_REJECTED,  /* 👎 😡 on SEL's message */
};

/* Someone reacted to one of SEL's messages. */
void hormones_on_reaction(struct hormones *h, enum hormones_reaction r);

/* Sampling temperature for a reply: `base` (OPENROUTER_MAIN_TEMP, 0.8)
 * nudged up by creative drive and down by restraint; within
 * [max(0.1, base − 0.25), min(1.2, base + 0.2)]. */
double hormones_temperature(const struct hormones *h, double base);

/* Seconds to show "typing…" before a reply, in [0.2, 3.5]. */
double hormones_typing_delay(const struct hormones *h);

/* Up to three mood phrases joined by ", " ("warm, curious"), never empty.
 * Writes at most cap bytes including the NUL; returns the length the whole
 * text needs (snprintf's contract). */
size_t hormones_mood(const struct hormones *h, char *out, size_t cap);

/* The prompt block: the mood line and every level with what it means.
 * Same output contract as hormones_mood; HORMONES_PROMPT_MAX always fits. */
#define HORMONES_PROMPT_MAX 768
size_t hormones_prompt_block(const struct hormones *h, char *out, size_t cap);

#endif
