/* planner_engine.c — coarse-to-fine query planning over the tile pyramid.
 *
 * The candidates are the newest tiles per coordinate of one (snapshot,
 * stream, level range) up to a Lamport horizon.  The descent scores the
 * top level, keeps a small beam of the best tiles, and at each finer level
 * scores only the children of the beam (tile (x, y) at level l covers
 * (2x..2x+1, 2y..2y+1) at l-1) plus orphans, tiles with no tile above them,
 * so sparse pyramids are still searched.  After each level it picks the
 * plan so far and estimates its acceptance; it stops at the target, when
 * the budget expires (live) or after the recorded number of levels
 * (replay).  Everything here is deterministic given the inputs: ties break
 * on level, x, y and tile id, never on memory order or time. */
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
 * capped) charges orphans for lying away from the region the coarser level
 * chose; the reference's distance from (0, 0) meant nothing for time-
 * bucketed streams. */
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

static long floor_half(long v)
{
	return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

static int coord_cmp(const struct plan_row *a, int level, long x, long y)
{
	if (a->level != level)
		return a->level < level ? -1 : 1;
	if (a->x != x)
		return a->x < x ? -1 : 1;
	return a->y == y ? 0 : a->y < y ? -1 : 1;
}

/* First candidate at or after (level, x, y). */
static size_t lower_bound(const struct plan *p, int level, long x, long y)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (coord_cmp(p->c[mid].row, level, x, y) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static long find_at(const struct plan *p, int level, long x, long y)
{
	size_t i = lower_bound(p, level, x, y);

	return i < p->n && coord_cmp(p->c[i].row, level, x, y) == 0 ? (long)i : -1;
}

/* The candidates of one level: [*lo, *hi). */
static void level_range(const struct plan *p, int level, size_t *lo, size_t *hi)
{
	*lo = lower_bound(p, level, LONG_MIN, LONG_MIN);
	*hi = lower_bound(p, level + 1, LONG_MIN, LONG_MIN);
}

/* Tile ids are BLAKE3 hex, so their first 12 digits are a good hash. */
uint64_t plan_id_hash(const char *id)
{
	uint64_t v = 0;

	for (int i = 0; i < 12 && id[i]; i++)
		v = v << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' : (id[i] | 0x20) - 'a' + 10);
	return v ^ (v >> 29);
}

void plan_match_ids(struct plan *p, const char *const *ids, size_t n,
		    void (*each)(struct plan_cand *c, size_t k, void *ud), void *ud)
{
	size_t cap = 16, mask, *slots;

	if (!n)
		return;
	while (cap < 2 * n)
		cap <<= 1;
	mask = cap - 1;
	slots = xcalloc(cap, sizeof(*slots));
	for (size_t k = 0; k < n; k++) {
		size_t h = plan_id_hash(ids[k]) & mask;

		while (slots[h])
			h = (h + 1) & mask;
		slots[h] = k + 1;
	}
	for (size_t i = 0; i < p->n; i++) {
		const char *id = p->c[i].row->tile_id;

		for (size_t h = (size_t)p->c[i].row->hash & mask; slots[h]; h = (h + 1) & mask)
			if (strcmp(ids[slots[h] - 1], id) == 0) {
				each(&p->c[i], slots[h] - 1, ud);
				break;
			}
	}
	free(slots);
}

/* find_at, trying first the tile after the last one found: children come
 * in (x, y) order, so their parents mostly do too. */
static long find_near(const struct plan *p, long *last, int level, long x, long y)
{
	long i;

	for (i = *last; i >= 0 && i <= *last + 1 && (size_t)i < p->n; i++)
		if (coord_cmp(p->c[i].row, level, x, y) == 0)
			return *last = i;
	i = find_at(p, level, x, y);
	if (i >= 0)
		*last = i;
	return i;
}

static bool newer(const struct plan_row *a, const struct plan_row *b)
{
	return a->lamport != b->lamport ? a->lamport > b->lamport : a->seq > b->seq;
}

void plan_init(struct plan *p, const struct him_query *q, const struct plan_row *rows, size_t n,
	       int64_t horizon)
{
	long near = -1;

	memset(p, 0, sizeof(*p));
	p->q = q;
	p->horizon = horizon;
	p->replay_steps = -1;
	p->finest = -1;
	p->c = xcalloc(n + 1, sizeof(*p->c));
	for (size_t i = 0; i < n; i++) {
		const struct plan_row *m = &rows[i];
		struct plan_cand *last = p->n ? &p->c[p->n - 1] : NULL;

		if (m->lamport > horizon || m->level > q->level_max || m->level < q->level_min)
			continue;
		if (last && coord_cmp(last->row, m->level, m->x, m->y) == 0) {
			if (newer(&rows[i], last->row))
				last->row = &rows[i];
			continue;
		}
		p->c[p->n++].row = &rows[i];
	}
	for (size_t i = 0; i < p->n; i++) {
		struct plan_cand *c = &p->c[i];
		const struct plan_row *m = c->row;

		c->access = c->row->access;
		c->last_ms = c->row->last_ms;
		c->leaf = true;
		c->parent = m->level < q->level_max
			? find_near(p, &near, m->level + 1, floor_half(m->x), floor_half(m->y)) : -1;
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].parent >= 0)
			p->c[p->c[i].parent].leaf = false;
	p->chosen = xcalloc(p->n + 1, sizeof(*p->chosen));
}

void plan_release(struct plan *p)
{
	free(p->c);
	free(p->chosen);
	free(p->hints);
	free(p->mass);
	memset(p, 0, sizeof(*p));
}

/* ---- scoring ------------------------------------------------------------- */

static bool in_box(const long b[4], long x, long y)
{
	return x >= b[0] && x - b[0] < b[2] && y >= b[1] && y - b[1] < b[3];
}

/* Each region adds its confidence to the tiles whose point it covers, at
 * each of its levels: only the tiles in the box's x range are visited. */
static void apply_hints(struct plan *p)
{
	for (size_t k = 0; k < p->nhints; k++) {
		const struct plan_region *r = &p->hints[k];
		long x_end = r->box[0] + r->box[2];   /* |x|, w <= 2^31: no overflow */

		for (int level = r->lmin; level <= r->lmax; level++) {
			size_t i = lower_bound(p, level, r->box[0], LONG_MIN);
			size_t end = lower_bound(p, level, x_end, LONG_MIN);

			for (; i < end; i++)
				if (in_box(r->box, p->c[i].row->x, p->c[i].row->y))
					p->c[i].hint += r->conf;
		}
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].hint > 1)
			p->c[i].hint = 1;
}

/* Keyword relevance is known for every candidate up front: inherit it down
 * the pyramid, and let each tile steer by the best relevance beneath it. */
static void keyword_relevance(struct plan *p)
{
	for (size_t i = p->n; i-- > 0;) {
		struct plan_cand *c = &p->c[i];
		double up = c->parent >= 0 ? INHERIT * p->c[c->parent].eff : 0;

		c->known = true;
		c->eff = c->rel > up ? c->rel : up;
		c->steer = c->eff;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct plan_cand *c = &p->c[i];

		if (c->parent >= 0 && c->steer > p->c[c->parent].steer)
			p->c[c->parent].steer = c->steer;
	}
}

static void score_one(struct plan *p, struct plan_cand *c, double dist)
{
	double recency = 0;

	if (c->last_ms > 0) {
		double age_min = (double)(p->now_ms - c->last_ms) / 60000.0;

		recency = W_RECENT * exp2(-(age_min > 0 ? age_min : 0) / RECENT_HALF_LIFE_MIN);
	}
	c->score = W_REL * c->eff + W_LEVEL * (p->q->level_max - c->row->level) +
		   (c->access > 0 ? W_HOT * log1p((double)c->access) : 0) + recency +
		   W_HINT * c->hint - W_DIST * (dist < DIST_CAP ? dist : DIST_CAP);
	c->scored = true;
}

/* Distance (in tiles of the tile's level) from the regions that the beam
 * tiles (at prev_level) cover at this level. */
static double beam_distance(const struct plan *p, const struct plan_cand *c, int prev_level,
			    const size_t *beam, size_t nbeam)
{
	const struct plan_row *m = c->row;
	long long scale = 1LL << (prev_level - m->level);
	double best = -1;

	for (size_t i = 0; i < nbeam; i++) {
		const struct plan_row *b = p->c[beam[i]].row;
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
	if (x->row->level != y->row->level)
		return x->row->level < y->row->level ? -1 : 1;
	if (x->row->x != y->row->x)
		return x->row->x < y->row->x ? -1 : 1;
	if (x->row->y != y->row->y)
		return x->row->y < y->row->y ? -1 : 1;
	return strcmp(x->row->tile_id, y->row->tile_id);
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
 * into a sorted prefix, O(n k) at worst and about O(n) in practice, where
 * sorting 100k candidates to take 8 would dominate the query. */
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
		ids[i] = p->c[act[i]].row->tile_id;
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

static enum kith_status step_level(struct plan *p, int level, int prev_level, char **why)
{
	size_t lo, hi, plo = 0, phi = 0, na = 0, nbeam = 0, *act, *beam;
	enum kith_status st;

	level_range(p, level, &lo, &hi);
	if (prev_level >= 0)
		level_range(p, prev_level, &plo, &phi);
	act = xcalloc(hi - lo + 1, sizeof(*act));
	beam = xcalloc(phi - plo + 1, sizeof(*beam));
	for (size_t i = plo; i < phi; i++)
		if (p->c[i].beam)
			beam[nbeam++] = i;
	for (size_t i = lo; i < hi; i++)
		if (prev_level < 0 || p->c[i].parent < 0 || p->c[p->c[i].parent].beam)
			act[na++] = i;
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

/* The share of the goal-relevant content, measured on the finest tiles
 * (leaves, so one region is not counted once per level), that the plan
 * delivers: a chosen leaf delivers all of its relevance, a chosen ancestor
 * COARSE_CREDIT per level of lost resolution.  Unscored leaves (index mode,
 * or levels the budget cut off) are estimated from their nearest scored
 * ancestor, or the mean of the scored tiles when none was scored. */
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

/* Keyword mode knows every leaf's relevance up front: the leaves with any
 * (usually few) and their total, once. */
static void keyword_mass(struct plan *p)
{
	p->mass = xcalloc(p->n + 1, sizeof(*p->mass));
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].leaf && p->c[i].eff > 0) {
			p->mass[p->nmass++] = i;
			p->mass_total += p->c[i].eff;
		}
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

/* The share of the goal-relevant content, measured on the finest tiles
 * (leaves, so one region is not counted once per level), that the plan
 * delivers (cover_of). */
static double plan_accept(struct plan *p)
{
	double captured = 0;

	if (p->use_index)
		return index_accept(p);
	if (!p->mass)
		keyword_mass(p);
	for (size_t k = 0; k < p->nmass; k++)
		captured += p->c[p->mass[k]].eff * cover_of(p, &p->c[p->mass[k]]);
	return p->mass_total > 0 ? (captured >= p->mass_total ? 1.0 : captured / p->mass_total) : 0;
}

enum kith_status plan_run(struct plan *p, char **why)
{
	int prev = -1;
	double a = 0;
	enum kith_status st = KITH_OK;

	apply_hints(p);
	if (!p->use_index)
		keyword_relevance(p);
	for (int level = p->n ? p->c[p->n - 1].row->level : -1;
	     level >= p->q->level_min && !p->stop; level--) {
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
		a = plan_accept(p);
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
