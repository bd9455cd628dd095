/* heat.c — the heat math, with the reason for every number.
 *
 * Design choice: follow the seed's cycle model (×0.85 per cycle, 3-cycle
 * cooldown, +3.0 touch, ×0.6 ignore, veto to 0) and take the reference's
 * formulas (penny-digest §3) for everything the seed leaves open: radiation
 * (rate 0.5, threshold 0.5, top-5, share ∝ similarity, strictly hotter to
 * cooler, from a snapshot) and intrinsic heat (novelty + best·avg).  Two
 * departures, both for correctness:
 *
 *  - The reference skipped radiation deltas below 0.001 and clamped at 0,
 *    which leaks heat; here every transfer is applied, and no clamp is
 *    needed because a source gives at most rate·heat <= heat.
 *  - The reference's touch became 3/(1+heat) late in its life to stop
 *    "conversational spikes".  The seed says +3.0, and with per-cycle decay
 *    heat is bounded anyway: one touch per cycle settles at
 *    3·0.85/0.15 = 17, so a flat touch is kept.
 *
 * Entities in cooldown receive no radiation (they "sit out": otherwise the
 * heat they just spread to their neighbours flows straight back and the
 * same topic is notified again the moment the cooldown ends).  Vetoed
 * entities receive none either: the reference zeroed their heat and let
 * the next cycle's radiation warm them straight back into eligibility,
 * hiding them only through a separate query; here the veto is part of the
 * state and lasts until the user touches the entity again. */
#include "mind/heat.h"

#include <math.h>

#include "core/alloc.h"

void heat_params_default(struct heat_params *p)
{
	/* Seed: "Touch: +3.0", "Decay ×0.85 each cycle", "Cooldown: N cycles
	 * (default 3)", "Ignore penalty ×0.6".  Reference (digest §1.2):
	 * novelty 1.0, radiation rate 0.5 / threshold 0.5 / top-K 5, and
	 * LEARN_MIN_INTEREST_SCORE 0.3 for enrichment. */
	p->touch = 3.0;
	p->decay = 0.85;
	p->cooldown_cycles = 3;
	p->ignore_penalty = 0.6;
	p->novelty = 1.0;
	p->radiation_rate = 0.5;
	p->radiation_threshold = 0.5;
	p->radiation_top_k = 5;
	p->enrich_min_heat = 0.3;
}

double heat_matrix_sim(void *ctx, size_t a, size_t b)
{
	const struct heat_matrix *m = ctx;

	if (a >= m->n || b >= m->n)
		return NAN;
	return m->sim[a * m->n + b];
}

static double clamp01(double x)
{
	if (!(x >= 0.0))
		return 0.0;  /* also NaN */
	return x > 1.0 ? 1.0 : x;
}

void heat_sanitize(struct heat_entity *e)
{
	if (!isfinite(e->heat) || e->heat < 0.0)
		e->heat = 0.0;
	if (e->cooldown < 0)
		e->cooldown = 0;
}

void heat_touch(struct heat_entity *e, const struct heat_params *p)
{
	e->heat += p->touch;
	e->vetoed = false;
}

void heat_decay(struct heat_entity *e, int n, const struct heat_params *p)
{
	/* Multiplicative, so relative order never changes by decay alone and
	 * nothing ever goes negative; pow() makes n cycles at once equal n
	 * single cycles (to rounding), so a caller catching up after downtime
	 * gets the same answer as one that never stopped. */
	if (n <= 0)
		return;
	e->heat *= pow(clamp01(p->decay), (double)n);
}

void heat_tick_cooldown(struct heat_entity *e)
{
	if (e->cooldown > 0)
		e->cooldown--;
}

void heat_start_cooldown(struct heat_entity *e, const struct heat_params *p)
{
	e->cooldown = p->cooldown_cycles > 0 ? p->cooldown_cycles : 0;
}

void heat_penalize_ignore(struct heat_entity *e, const struct heat_params *p)
{
	/* Multiplicative: one ignored notification costs a hot topic more
	 * than a lukewarm one, and a topic the user keeps ignoring fades
	 * geometrically (×0.36 after two) without a veto's finality. */
	e->heat *= clamp01(p->ignore_penalty);
}

void heat_veto(struct heat_entity *e)
{
	e->heat = 0.0;
	e->vetoed = true;
}

/* A candidate neighbour of one source. */
struct nb {
	size_t idx;
	double sim;
};

/* Keep the k most similar in `top` (sorted, most similar first; ties go to
 * the lower index, so the result does not depend on anything but the
 * input).  Returns the new count. */
static size_t topk_insert(struct nb *top, size_t count, size_t k, size_t idx, double sim)
{
	size_t pos = count;

	while (pos > 0 && top[pos - 1].sim < sim)
		pos--;
	if (pos >= k)
		return count;
	if (count == k)
		count--;  /* the least similar falls off the end */
	for (size_t i = count; i > pos; i--)
		top[i] = top[i - 1];
	top[pos].idx = idx;
	top[pos].sim = sim;
	return count + 1;
}

void heat_radiate(struct heat_entity *ents, size_t n, heat_sim_fn sim, void *ctx,
		  const struct heat_params *p)
{
	double rate = clamp01(p->radiation_rate);
	size_t k = p->radiation_top_k > 0 ? (size_t)p->radiation_top_k : 0;
	double *delta;
	struct nb *top;

	if (n < 2 || k == 0 || rate == 0.0)
		return;
	if (k > n - 1)
		k = n - 1;
	delta = xcalloc(n, sizeof(*delta));
	top = xcalloc(k, sizeof(*top));
	for (size_t s = 0; s < n; s++) {
		double src = ents[s].heat, total = 0.0, budget;
		size_t count = 0;

		if (!(src > 0.0))
			continue;
		for (size_t j = 0; j < n; j++) {
			double c;

			/* Heat flows downhill only: to strictly cooler
			 * entities, which also means two equal entities
			 * never trade heat back and forth. */
			if (j == s || !(ents[j].heat < src) || ents[j].cooldown > 0 ||
			    ents[j].vetoed)
				continue;
			c = sim(ctx, s, j);
			/* NaN (no embedding) fails this test too. */
			if (!(c >= p->radiation_threshold) || !(c > 0.0))
				continue;
			count = topk_insert(top, count, k, j, c);
		}
		for (size_t i = 0; i < count; i++)
			total += top[i].sim;
		if (!(total > 0.0))
			continue;
		/* The source gives a fixed share of its heat however many
		 * neighbours it has, split in proportion to similarity: a
		 * close neighbour gets more than a loose one. */
		budget = src * rate;
		for (size_t i = 0; i < count; i++) {
			double share = budget * top[i].sim / total;

			delta[top[i].idx] += share;
			delta[s] -= share;
		}
	}
	for (size_t i = 0; i < n; i++)
		ents[i].heat += delta[i];
	free(top);
	free(delta);
}

void heat_cycle(struct heat_entity *ents, size_t n, heat_sim_fn sim, void *ctx,
		const struct heat_params *p)
{
	/* Decay first, so radiation moves this cycle's heat, not last
	 * cycle's; cooldowns count down last, so an entity notified in this
	 * cycle sits out exactly cooldown_cycles full cycles. */
	for (size_t i = 0; i < n; i++)
		heat_decay(&ents[i], 1, p);
	heat_radiate(ents, n, sim, ctx, p);
	for (size_t i = 0; i < n; i++)
		heat_tick_cooldown(&ents[i]);
}

double heat_intrinsic(const struct heat_entity *known, size_t n,
		      double (*sim_to_new)(void *ctx, size_t i), void *ctx, double relevance,
		      const struct heat_params *p)
{
	double novelty, best = 0.0, sum = 0.0;
	size_t hot = 0;

	/* The base: something new is mildly interesting, scaled by how
	 * relevant the finder judged it (HEAT_NO_RELEVANCE: fully). */
	novelty = p->novelty * (relevance < 0.0 ? 1.0 : clamp01(relevance));
	/* The inheritance: the closer it is to what the user already cares
	 * about, the more of that typical heat it starts with.  The mean heat
	 * of the hot set, not the nearest one's heat, so a single scorching
	 * entity does not make every neighbour scorching at birth. */
	for (size_t i = 0; i < n; i++) {
		double c;

		if (!(known[i].heat > 0.0))
			continue;
		c = sim_to_new(ctx, i);
		if (isnan(c))
			continue;
		hot++;
		sum += known[i].heat;
		if (c > best)
			best = c;
	}
	if (hot == 0 || !(best > 0.0))
		return novelty;
	return novelty + best * (sum / (double)hot);
}

bool heat_eligible(const struct heat_entity *e)
{
	return e->heat > 0.0 && e->cooldown == 0 && !e->vetoed;
}

size_t heat_hottest(const struct heat_entity *ents, size_t n, const bool *has_news)
{
	size_t best = n;

	for (size_t i = 0; i < n; i++) {
		if (!heat_eligible(&ents[i]) || (has_news && !has_news[i]))
			continue;
		if (best == n || ents[i].heat > ents[best].heat)
			best = i;
	}
	return best;
}

void heat_rank(const struct heat_entity *ents, size_t n, size_t *order)
{
	/* Insertion sort: stable, and /memory lists are short. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && ents[order[j - 1]].heat < ents[i].heat) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}

double heat_enrich_priority(double heat, size_t fact_count, const struct heat_params *p)
{
	/* The seed's interest × 1/fact_count: research goes where interest is
	 * high and knowledge thin.  An entity with no facts yet counts as one
	 * (it is the most deserving, but not infinitely so). */
	if (!(heat >= p->enrich_min_heat) || !(heat > 0.0))
		return -1.0;
	return heat / (double)(fact_count > 0 ? fact_count : 1);
}

double heat_event_score(double linked_heat, double hours_since, double half_life_hours)
{
	double bonus = 0.0;

	if (!(hours_since > 0.0))
		hours_since = 0.0;
	if (half_life_hours > 0.0)
		bonus = exp2(-hours_since / half_life_hours);
	return linked_heat + bonus;
}

double heat_engagement_score(const struct heat_engagement *e, size_t n, double half_life_days)
{
	double score = 0.0;

	for (size_t i = 0; i < n; i++) {
		double age = e[i].age_days > 0.0 ? e[i].age_days : 0.0;
		double w = half_life_days > 0.0 ? exp2(-age / half_life_days) : 1.0;
		int sign = e[i].valence > 0 ? 1 : e[i].valence < 0 ? -1 : 0;

		score += sign * e[i].strength * w;
	}
	return score;
}
