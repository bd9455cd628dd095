/* heat.h — Penny's interest model: a "heat" score per knowledge entity.
 *
 * Heat says how much the user cares about an entity right now.  It rises
 * when the user engages (touch), falls every cycle (decay), spreads from hot
 * entities to cooler ones that are semantically close (radiation, which
 * moves heat but never creates it), and is cut when the user ignores a
 * notification (penalty) or says they do not care (veto).  The notification
 * agent picks the hottest eligible entity; a notified entity sits out a few
 * cycles (cooldown).  The seed's numbers are the defaults: touch +3.0,
 * decay ×0.85 per cycle, cooldown 3 cycles, ignore ×0.6, veto to 0.
 *
 * Design choice: heat is cycle-based, as the seed says, and the caller
 * decides what a cycle is.  The reference ran a ×0.85 cycle every ~10 s
 * notification tick, which gave heat a 43-second half-life (the bug its
 * #544 fixed by switching to wall-clock decay); here the cycle count is an
 * argument (heat_decay takes n cycles), so the agent can run one cycle per
 * notification attempt that passes backoff, or derive n from elapsed time.
 *
 * Everything here is pure: arrays of numbers in, numbers out, no clock, no
 * globals, no I/O.  Similarity between entities comes from the caller (a
 * callback, typically cosine of stored embeddings); loading and saving heat
 * belongs to store/.  docs/mind.md ("Heat") has the formulas and examples. */
#ifndef KITH_MIND_HEAT_H
#define KITH_MIND_HEAT_H

#include <stdbool.h>
#include <stddef.h>

/* One entity's heat state, as stored (entity.heat, entity.heat_cooldown). */
struct heat_entity {
	double heat;   /* >= 0 */
	int cooldown;  /* cycles left before it may be notified again; 0 = free */
	bool vetoed;   /* the user said no: heat stays 0 until a touch (store it,
			* or derive it from the latest engagement's valence) */
};

/* The tunables.  Setting names (docs/config.md) in brackets. */
struct heat_params {
	double touch;                /* added per positive engagement [HEAT_TOUCH_AMOUNT] 3.0 */
	double decay;                /* kept per cycle, in [0, 1] [HEAT_DECAY_RATE] 0.85 */
	int cooldown_cycles;         /* sit-out after a notification [HEAT_COOLDOWN_CYCLES] 3 */
	double ignore_penalty;       /* kept when a notification is ignored [HEAT_IGNORE_PENALTY] 0.6 */
	double novelty;              /* base heat of a new entity [HEAT_NOVELTY_AMOUNT] 1.0 */
	double radiation_rate;       /* share of a source's heat given away per cycle [HEAT_RADIATION_RATE] 0.5 */
	double radiation_threshold;  /* least similarity that conducts [HEAT_RADIATION_THRESHOLD] 0.5 */
	int radiation_top_k;         /* most neighbours one source feeds [HEAT_RADIATION_TOP_K] 5 */
	double enrich_min_heat;      /* least heat worth enriching [LEARN_MIN_INTEREST_SCORE] 0.3 */
};

/* The seed's and reference's defaults (above). */
void heat_params_default(struct heat_params *p);

/* Similarity of entities a and b (indexes into the caller's array), usually
 * the cosine of their embeddings.  Return NaN when either has no embedding:
 * it then neither conducts heat nor counts as a hot neighbour.  Must be
 * symmetric for radiation to behave as described, but nothing breaks if
 * it is not. */
typedef double (*heat_sim_fn)(void *ctx, size_t a, size_t b);

/* Row-major n×n matrix lookup: ctx is a `const struct heat_matrix *`.
 * Handy for tests and small batches. */
struct heat_matrix {
	const double *sim;
	size_t n;
};
double heat_matrix_sim(void *ctx, size_t a, size_t b);

/* Repair a value read from storage: NaN, infinities and negatives become 0;
 * a negative cooldown becomes 0. */
void heat_sanitize(struct heat_entity *e);

/* Positive engagement (a mention, a follow-up, a like): heat += touch.
 * Counts during cooldown too — the user's own interest is never ignored —
 * and lifts a veto (the user came back to it). */
void heat_touch(struct heat_entity *e, const struct heat_params *p);

/* n cycles of decay: heat *= decay^n.  n <= 0 does nothing. */
void heat_decay(struct heat_entity *e, int n, const struct heat_params *p);

/* Radiation over a whole set at once (every entity of one user): each
 * entity with heat > 0 gives radiation_rate × its heat to up to
 * radiation_top_k strictly cooler neighbours whose similarity is at least
 * radiation_threshold, shared in proportion to similarity.  All transfers
 * are computed from the heats before the call, so the order of the array
 * does not matter, and whatever one entity gains another loses: the total
 * is unchanged (to rounding).  Entities in cooldown receive nothing (they
 * sit out) but still give; vetoed entities receive nothing.  Works in O(n² + n·k) similarity calls and
 * O(n) scratch memory. */
void heat_radiate(struct heat_entity *ents, size_t n, heat_sim_fn sim, void *ctx,
		  const struct heat_params *p);

/* Count one cooldown cycle down. */
void heat_tick_cooldown(struct heat_entity *e);

/* One full cycle over a user's entities, in the seed's order: decay every
 * entity once, radiate, then count cooldowns down. */
void heat_cycle(struct heat_entity *ents, size_t n, heat_sim_fn sim, void *ctx,
		const struct heat_params *p);

/* The entity was just notified about: cooldown = cooldown_cycles. */
void heat_start_cooldown(struct heat_entity *e, const struct heat_params *p);

/* The last notification about it got no engagement: heat *= ignore_penalty. */
void heat_penalize_ignore(struct heat_entity *e, const struct heat_params *p);

/* Negative engagement (a thumbs-down, "stop telling me about X"): heat = 0
 * and vetoed, which takes it out of notification and enrichment and keeps
 * radiation from warming it up again; only a touch brings it back. */
void heat_veto(struct heat_entity *e);

/* Pass as relevance when there is no relevance score: novelty counts fully. */
#define HEAT_NO_RELEVANCE (-1.0)

/* Starting heat of a newly discovered entity (it sets, not adds):
 *   novelty·relevance + best·avg
 * where relevance in [0, 1] scales the base (HEAT_NO_RELEVANCE: 1), the
 * hot set is the known entities with heat > 0 and a similarity to the new
 * one (not NaN), best = max(0, highest similarity to a hot entity) and
 * avg = the hot set's mean heat.  So an entity like what the user already
 * cares about starts warm, and an unrelated one starts at the novelty base.
 * sim_to_new(ctx, i) is the similarity of known[i] to the new entity. */
double heat_intrinsic(const struct heat_entity *known, size_t n,
		      double (*sim_to_new)(void *ctx, size_t i), void *ctx, double relevance,
		      const struct heat_params *p);

/* May the notifier pick it?  heat > 0, not cooling down, not vetoed. */
bool heat_eligible(const struct heat_entity *e);

/* Index of the hottest eligible entity; when `has_news` is not NULL only
 * entities with has_news[i] true count (unnotified facts).  Ties go to the
 * lower index.  Returns n when none is eligible. */
size_t heat_hottest(const struct heat_entity *ents, size_t n, const bool *has_news);

/* Order indexes by heat, hottest first; ties keep array order (the
 * /memory listing).  order has room for n. */
void heat_rank(const struct heat_entity *ents, size_t n, size_t *order);

/* Enrichment priority (the seed's interest × 1/fact_count): heat divided
 * by max(fact_count, 1), so a hot entity we know little about goes first.
 * Returns -1 when heat is below enrich_min_heat (not a candidate). */
double heat_enrich_priority(double heat, size_t fact_count, const struct heat_params *p);

/* Score of a news event for the event notifier: the heat of its linked
 * entities plus a timeliness bonus that halves every half_life_hours:
 *   linked_heat + 2^(−hours_since / half_life_hours).
 * Negative hours_since counts as 0; half_life_hours <= 0 gives no bonus. */
double heat_event_score(double linked_heat, double hours_since, double half_life_hours);

/* The older engagement-based interest (the seed's legacy score, still used
 * to rank /learn completions): Σ sign·strength·2^(−age_days/half_life_days)
 * with sign +1 positive, −1 negative, 0 neutral. */
struct heat_engagement {
	int valence;       /* +1, 0, −1 */
	double strength;   /* 0..1 */
	double age_days;   /* negative counts as 0 */
};
double heat_engagement_score(const struct heat_engagement *e, size_t n, double half_life_days);

#endif
