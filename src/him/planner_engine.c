/* planner_engine.c — coarse-to-fine query planning over a sparse candidate
 * set.
 *
 * The candidates are the tiles some index produced (planner_sources.c,
 * planner_keyword.c): keyword windows, hint regions, recent reads and
 * writes, the small levels at the top of the pyramid, and the children of
 * the tiles the descent expands, each the newest tile at its coordinate.
 * The descent starts at the highest level that has candidates, scores that
 * level, keeps a small beam of the best tiles, and at each finer level
 * scores the children of the beam, candidates with nothing above them, and
 * candidates that are evidence of their own (a keyword match, a hint, a
 * recent use) wherever they lie.  After each level it picks the plan so
 * far, fetches the children of the tiles it would refine (the beam, the
 * plan, the relevant ones) and estimates its acceptance; it stops at the
 * target, when the budget expires (live) or after the recorded number of
 * levels (replay).  Nothing here reads the catalogue: children come through
 * p->children, so replay can hand back the recorded ones.  Everything is
 * deterministic given the inputs and their arrival order: ties break on
 * level, x, y and tile id, never on memory order or time. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Goal relevance dominates: a fully relevant tile outranks any mix of the
 * usage terms.  Finer levels are preferred (the plan is for high-res
 * tiles) by W_LEVEL per level, as in the reference planner.  Hotness grows
 * with the log of the access count so a hot tile cannot drown relevance;
 * recency halves every 5 minutes.  A hint region adds up to W_HINT (its
 * summed confidence, capped at 1, so repeating a hint cannot outbid the
 * goal).  The distance penalty (Chebyshev, in tiles of the tile's level,
 * capped) charges tiles outside the beam's region for lying away from the
 * region the coarser level chose; the reference's distance from (0, 0)
 * meant nothing for time-bucketed streams. */
#define W_REL 20.0
#define W_LEVEL 3.0
#define W_HOT 2.0
#define W_RECENT 6.0
#define RECENT_HALF_LIFE_MIN 5.0
#define W_HINT 12.0
#define W_DIST 0.5
#define DIST_CAP 4.0
/* A child of a relevant region is probably relevant, a little less so. */
#define INHERIT 0.8
/* A chosen coarse tile shows its finer tiles' content at half the value
 * per level of lost resolution. */
#define COARSE_CREDIT 0.5
#define ACCEPT_TARGET 0.95
/* Tiles of one level whose children are fetched after its step, beyond
 * the beam: the plan's and the relevant ones, best first. */
#define EXPAND_MAX 32

long plan_half(long v)
{
	return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

/* ---- the candidate set --------------------------------------------------- */

static size_t coord_slot(int level, long x, long y, size_t mask)
{
	uint64_t h = (uint64_t)(uint32_t)level * 0x9E3779B97F4A7C15ull;

	h ^= (uint64_t)x * 0xC2B2AE3D27D4EB4Full;
	h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull;
	h ^= (uint64_t)y * 0x94D049BB133111EBull;
	h ^= h >> 31;
	return (size_t)h & mask;
}

static void slot_put(struct plan *p, size_t i)
{
	const struct plan_row *r = &p->c[i].row;
	size_t mask = p->nslots - 1, s = coord_slot(r->level, r->x, r->y, mask);

	while (p->slots[s])
		s = (s + 1) & mask;
	p->slots[s] = i + 1;
}

long plan_find(const struct plan *p, int level, long x, long y)
{
	size_t mask, s;

	if (!p->nslots)
		return -1;
	mask = p->nslots - 1;
	for (s = coord_slot(level, x, y, mask); p->slots[s]; s = (s + 1) & mask) {
		const struct plan_row *r = &p->c[p->slots[s] - 1].row;

		if (r->level == level && r->x == x && r->y == y)
			return (long)p->slots[s] - 1;
	}
	return -1;
}

static bool in_box(const long b[4], long x, long y)
{
	return x >= b[0] && x - b[0] < b[2] && y >= b[1] && y - b[1] < b[3];
}

/* Each region adds its confidence to the tiles whose point it covers, at
 * each of its levels (capped at 1).  The regions are set before any
 * candidate arrives. */
static double hint_of(const struct plan *p, const struct plan_row *r)
{
	double sum = 0;

	for (size_t k = 0; k < p->nhints; k++) {
		const struct plan_region *g = &p->hints[k];

		if (r->level <= g->lmax && r->level >= g->lmin && in_box(g->box, r->x, r->y))
			sum += g->conf;
	}
	return sum > 1 ? 1 : sum;
}

size_t plan_add(struct plan *p, const struct plan_row *r, enum plan_src src, double rel)
{
	long have = plan_find(p, r->level, r->x, r->y);
	struct plan_cand *c;

	if (have >= 0)
		return (size_t)have;
	p->c = xgrow(p->c, &p->cap, p->n + 1, sizeof(*p->c));
	c = &p->c[p->n];
	memset(c, 0, sizeof(*c));
	c->row = *r;
	c->batch = p->batch;
	c->src = src;
	c->known = rel >= 0;
	c->rel = rel > 0 ? (rel > 1 ? 1 : rel) : 0;
	c->parent = -1;
	c->leaf = true;
	c->hint = hint_of(p, r);
	p->n++;
	p->dirty = true;
	if (2 * p->n > p->nslots) {
		p->nslots = p->nslots ? 2 * p->nslots : 64;
		free(p->slots);
		p->slots = xcalloc(p->nslots, sizeof(*p->slots));
		for (size_t i = 0; i < p->n; i++)
			slot_put(p, i);
	} else {
		slot_put(p, p->n - 1);
	}
	return p->n - 1;
}

static int coord_cmp(const struct plan_row *a, int level, long x, long y)
{
	if (a->level != level)
		return a->level < level ? -1 : 1;
	if (a->x != x)
		return a->x < x ? -1 : 1;
	return a->y == y ? 0 : a->y < y ? -1 : 1;
}

static int ord_cmp(const void *a, const void *b, void *ud)
{
	const struct plan *p = ud;
	const struct plan_row *y = &p->c[*(const size_t *)b].row;

	return coord_cmp(&p->c[*(const size_t *)a].row, y->level, y->x, y->y);
}

/* First position in ord at or after (level, x, y). */
static size_t lower_bound(const struct plan *p, int level, long x, long y)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (coord_cmp(&p->c[p->ord[mid]].row, level, x, y) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The candidates of one level: ord[*lo, *hi). */
static void level_range(const struct plan *p, int level, size_t *lo, size_t *hi)
{
	*lo = lower_bound(p, level, LONG_MIN, LONG_MIN);
	*hi = lower_bound(p, level + 1, LONG_MIN, LONG_MIN);
}

/* Keyword relevance is known for every candidate as it arrives: inherit it
 * down the pyramid, and let each tile steer by the best relevance beneath
 * it among the candidates. */
static void keyword_relevance(struct plan *p)
{
	for (size_t k = p->n; k-- > 0;) {          /* coarse to fine */
		struct plan_cand *c = &p->c[p->ord[k]];
		double up = c->parent >= 0 ? INHERIT * p->c[c->parent].eff : 0;

		c->known = true;
		c->eff = c->rel > up ? c->rel : up;
		c->steer = c->eff;
	}
	for (size_t k = 0; k < p->n; k++) {        /* fine to coarse */
		struct plan_cand *c = &p->c[p->ord[k]];

		if (c->parent >= 0 && c->steer > p->c[c->parent].steer)
			p->c[c->parent].steer = c->steer;
	}
}

/* After a batch: order, parent links, leaves, keyword relevance. */
static void plan_index(struct plan *p)
{
	if (!p->dirty)
		return;
	free(p->ord);
	p->ord = xcalloc(p->n + 1, sizeof(*p->ord));
	for (size_t i = 0; i < p->n; i++)
		p->ord[i] = i;
	qsort_r(p->ord, p->n, sizeof(*p->ord), ord_cmp, p);
	for (size_t i = 0; i < p->n; i++)
		p->c[i].leaf = true;
	for (size_t i = 0; i < p->n; i++) {
		struct plan_cand *c = &p->c[i];

		c->parent = c->row.level < p->q->level_max
			? plan_find(p, c->row.level + 1, plan_half(c->row.x), plan_half(c->row.y))
			: -1;
		if (c->parent >= 0)
			p->c[c->parent].leaf = false;
	}
	if (!p->use_index)
		keyword_relevance(p);
	p->chosen = xgrow(p->chosen, &p->chosen_cap, p->n + 1, sizeof(*p->chosen));
	p->dirty = false;
}

void plan_init(struct plan *p, const struct him_query *q, int64_t horizon)
{
	memset(p, 0, sizeof(*p));
	p->q = q;
	p->horizon = horizon;
	p->replay_steps = -1;
	p->finest = -1;
}

void plan_release(struct plan *p)
{
	free(p->c);
	free(p->ord);
	free(p->slots);
	free(p->chosen);
	free(p->hints);
	memset(p, 0, sizeof(*p));
}

/* ---- scoring ------------------------------------------------------------- */

static void score_one(struct plan *p, struct plan_cand *c, double dist)
{
	double recency = 0;

	if (c->row.last_ms > 0) {
		double age_min = (double)(p->now_ms - c->row.last_ms) / 60000.0;

		recency = W_RECENT * exp2(-(age_min > 0 ? age_min : 0) / RECENT_HALF_LIFE_MIN);
	}
	c->score = W_REL * c->eff + W_LEVEL * (p->q->level_max - c->row.level) +
		   (c->row.access > 0 ? W_HOT * log1p((double)c->row.access) : 0) + recency +
		   W_HINT * c->hint - W_DIST * (dist < DIST_CAP ? dist : DIST_CAP);
	c->scored = true;
}

/* Distance (in tiles of the tile's level) from the regions that the beam
 * tiles (at prev_level) cover at this level. */
static double beam_distance(const struct plan *p, const struct plan_cand *c, int prev_level,
			    const size_t *beam, size_t nbeam)
{
	const struct plan_row *m = &c->row;
	long long scale = 1LL << (prev_level - m->level);
	double best = -1;

	for (size_t i = 0; i < nbeam; i++) {
		const struct plan_row *b = &p->c[beam[i]].row;
		long long lo_x = (long long)b->x * scale, lo_y = (long long)b->y * scale;
		long long hi_x = lo_x + scale - 1, hi_y = lo_y + scale - 1;
		long long dx = m->x < lo_x ? lo_x - m->x : m->x > hi_x ? m->x - hi_x : 0;
		long long dy = m->y < lo_y ? lo_y - m->y : m->y > hi_y ? m->y - hi_y : 0;
		double d = (double)(dx > dy ? dx : dy);

		if (best < 0 || d < best)
			best = d;
	}
	return best < 0 ? 0 : best;
}

static int rank_cmp_(const struct plan *p, size_t a, size_t b, bool steer)
{
	const struct plan_cand *x = &p->c[a], *y = &p->c[b];
	double sx = x->score + (steer ? W_REL * (x->steer - x->eff) : 0);
	double sy = y->score + (steer ? W_REL * (y->steer - y->eff) : 0);

	if (sx != sy)
		return sx > sy ? -1 : 1;
	if (x->row.level != y->row.level)
		return x->row.level < y->row.level ? -1 : 1;
	if (x->row.x != y->row.x)
		return x->row.x < y->row.x ? -1 : 1;
	if (x->row.y != y->row.y)
		return x->row.y < y->row.y ? -1 : 1;
	return strcmp(x->row.tile_id, y->row.tile_id);
}

static int rank_cmp(const void *a, const void *b, void *ud)
{
	return rank_cmp_(ud, *(const size_t *)a, *(const size_t *)b, false);
}

static int steer_cmp(const void *a, const void *b, void *ud)
{
	return rank_cmp_(ud, *(const size_t *)a, *(const size_t *)b, true);
}

/* The best k of idx[0..n) by cmp, ranked, into idx[0..k): an insertion
 * into a sorted prefix, O(n k) at worst and about O(n) in practice. */
static size_t top_k(const struct plan *p, size_t *idx, size_t n, size_t k,
		    int (*cmp)(const void *, const void *, void *))
{
	size_t have = 0;

	for (size_t i = 0; i < n; i++) {
		size_t v = idx[i], j;

		if (have == k && cmp(&v, &idx[k - 1], (void *)p) >= 0)
			continue;
		j = have < k ? have++ : k - 1;
		while (j > 0 && cmp(&v, &idx[j - 1], (void *)p) < 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = v;
	}
	return have;
}

/* ---- one level ----------------------------------------------------------- */

static enum kith_status index_scores(struct plan *p, const size_t *act, size_t n, char **why)
{
	const char **ids;
	double *scores;
	enum kith_status st = KITH_OK;

	if (!p->ops.score) {        /* replay: the recorded scores were loaded */
		for (size_t i = 0; i < n; i++)
			if (!p->c[act[i]].known)
				p->diverged = true;
		return KITH_OK;
	}
	if (!n)
		return KITH_OK;
	ids = xcalloc(n, sizeof(*ids));
	scores = xcalloc(n, sizeof(*scores));
	for (size_t i = 0; i < n; i++)
		ids[i] = p->c[act[i]].row.tile_id;
	st = p->ops.score(p->ops.ctx, p->q->goal, p->q->snapshot_id, p->q->stream, ids, n, scores,
			  why);
	for (size_t i = 0; !st && i < n; i++) {
		double v = scores[i];

		p->c[act[i]].rel = v >= 0 ? (v > 1 ? 1 : v) : 0;   /* NaN → 0 */
		p->c[act[i]].known = true;
	}
	free(ids);
	free(scores);
	if (st)
		kith_why(why, st, "semantic index failed");
	return st;
}

static int beam_width(int k)
{
	int b = (k + 3) / 4 + 1;

	return b < 2 ? 2 : b > 8 ? 8 : b;
}

/* Evidence of its own: scored wherever it lies, beam or not. */
static bool direct(const struct plan_cand *c)
{
	return c->src < PLAN_SRC_TOP;
}

static enum kith_status step_level(struct plan *p, int level, int prev_level, char **why)
{
	size_t lo, hi, plo = 0, phi = 0, na = 0, nbeam = 0, *act, *beam;
	enum kith_status st;

	level_range(p, level, &lo, &hi);
	if (prev_level >= 0)
		level_range(p, prev_level, &plo, &phi);
	act = xcalloc(hi - lo + 1, sizeof(*act));
	beam = xcalloc(phi - plo + 1, sizeof(*beam));
	for (size_t k = plo; k < phi; k++)
		if (p->c[p->ord[k]].beam)
			beam[nbeam++] = p->ord[k];
	for (size_t k = lo; k < hi; k++) {
		const struct plan_cand *c = &p->c[p->ord[k]];

		if (prev_level < 0 || c->parent < 0 || p->c[c->parent].beam || direct(c))
			act[na++] = p->ord[k];
	}
	st = p->use_index ? index_scores(p, act, na, why) : KITH_OK;
	for (size_t i = 0; !st && i < na; i++) {
		struct plan_cand *c = &p->c[act[i]];
		bool child = c->parent >= 0 && p->c[c->parent].beam;

		if (p->use_index) {
			double up = child ? INHERIT * p->c[c->parent].eff : 0;

			c->eff = c->rel > up ? c->rel : up;
			c->steer = c->eff;
		}
		score_one(p, c, prev_level < 0 || child ? 0
			  : beam_distance(p, c, prev_level, beam, nbeam));
	}
	if (!st) {
		size_t nb = top_k(p, act, na, (size_t)beam_width(p->q->max_tiles), steer_cmp);

		for (size_t i = 0; i < nb; i++)
			p->c[act[i]].beam = p->c[act[i]].picked = true;
	}
	free(act);
	free(beam);
	return st;
}

/* ---- the plan so far and its acceptance ---------------------------------- */

/* K = min(max_tiles, tiles needed): when anything is relevant or hinted,
 * only those tiles are candidates for the plan; with no evidence at all the
 * plan falls back to the best-scored tiles (hot, recent, fine). */
static void plan_select(struct plan *p)
{
	size_t npool = 0, needed = 0;

	for (size_t i = 0; i < p->n; i++) {
		p->c[i].chosen = false;
		if (p->c[i].scored && (p->c[i].eff > 0 || p->c[i].hint > 0))
			needed++;
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].scored && (!needed || p->c[i].eff > 0 || p->c[i].hint > 0))
			p->chosen[npool++] = i;
	p->nchosen = top_k(p, p->chosen, npool, (size_t)p->q->max_tiles, rank_cmp);
	for (size_t i = 0; i < p->nchosen; i++)
		p->c[p->chosen[i]].chosen = p->c[p->chosen[i]].picked = true;
}

/* Fetch the children of the tiles at `level` the plan may refine: the
 * beam (the next level scores their children), then the plan's tiles and
 * the relevant ones, best first, so that acceptance measures their content
 * one level finer than the plan shows it. */
static enum kith_status expand(struct plan *p, int level, char **why)
{
	size_t lo, hi, n = 0, nrest = 0, *pick, *rest;
	enum kith_status st = KITH_OK;

	if (level <= p->q->level_min || !p->children)
		return KITH_OK;
	level_range(p, level, &lo, &hi);
	pick = xcalloc(hi - lo + 1, sizeof(*pick));
	rest = xcalloc(hi - lo + 1, sizeof(*rest));
	for (size_t k = lo; k < hi; k++) {
		const struct plan_cand *c = &p->c[p->ord[k]];

		if (c->beam)
			pick[n++] = p->ord[k];
		else if (c->scored && (c->chosen || c->eff > 0))
			rest[nrest++] = p->ord[k];
	}
	nrest = top_k(p, rest, nrest, EXPAND_MAX, rank_cmp);
	memcpy(pick + n, rest, nrest * sizeof(*rest));
	n += nrest;
	p->batch = p->steps;
	if (n)
		st = p->children(p, level - 1, pick, n, why);
	free(pick);
	free(rest);
	plan_index(p);
	return st;
}

/* How much of a leaf's content the plan delivers: all of it when chosen,
 * COARSE_CREDIT per level up to its nearest chosen ancestor, else none. */
static double cover_of(const struct plan *p, const struct plan_cand *c)
{
	double credit = 1;

	for (const struct plan_cand *a = c; a; a = a->parent >= 0 ? &p->c[a->parent] : NULL) {
		if (a->chosen)
			return credit;
		credit *= COARSE_CREDIT;
	}
	return 0;
}

/* Index mode: a leaf not scored yet is estimated from its nearest scored
 * ancestor, or the mean of the scored tiles when none was scored. */
static double index_accept(const struct plan *p)
{
	double total = 0, captured = 0, prior = 0;
	size_t nscored = 0;

	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].scored) {
			prior += p->c[i].eff;
			nscored++;
		}
	prior = nscored ? prior / (double)nscored : 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_cand *c = &p->c[i];
		double est = -1, inherit = 1;

		if (!c->leaf)
			continue;
		for (const struct plan_cand *a = c; a && est < 0;
		     a = a->parent >= 0 ? &p->c[a->parent] : NULL) {
			if (a->known && a->scored)
				est = inherit * a->eff;
			inherit *= INHERIT;
		}
		est = est < 0 ? prior : est;
		total += est;
		captured += est * cover_of(p, c);
	}
	return total > 0 ? (captured >= total ? 1.0 : captured / total) : 0;
}

/* Keyword mode: the share of the goal-relevant content that the plan
 * delivers, measured on the finest candidates (leaves, so one region is
 * not counted once per level; a relevant tile whose children were fetched
 * is measured through them).  The matches no keyword window retrieved are
 * in the total (p->rest_mass) and count as not delivered. */
static double keyword_accept(const struct plan *p)
{
	double total = p->rest_mass, captured = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct plan_cand *c = &p->c[i];

		if (c->leaf && c->eff > 0) {
			total += c->eff;
			captured += c->eff * cover_of(p, c);
		}
	}
	return total > 0 ? (captured >= total ? 1.0 : captured / total) : 0;
}

enum kith_status plan_run(struct plan *p, char **why)
{
	int prev = -1, top = -1;
	double a = 0;
	enum kith_status st = KITH_OK;

	plan_index(p);
	if (p->n)
		top = p->c[p->ord[p->n - 1]].row.level;
	for (int level = top; level >= p->q->level_min && !p->stop; level--) {
		size_t lo, hi;

		level_range(p, level, &lo, &hi);
		if (lo == hi)
			continue;
		if ((st = step_level(p, level, prev, why)))
			return st;
		prev = level;
		p->steps++;
		p->finest = level;
		plan_select(p);
		if ((st = expand(p, level, why)))
			return st;
		a = p->use_index ? index_accept(p) : keyword_accept(p);
		if (a >= ACCEPT_TARGET)
			p->stop = "accepted";
		else if (p->replay_steps >= 0 ? p->steps >= p->replay_steps
					      : clock_mono_ms() >= p->deadline_ms)
			p->stop = "budget";
	}
	if (!p->stop)
		p->stop = "done";
	p->acceptance = floor(a * 10000.0 + 0.5) / 10000.0;
	return st;
}
