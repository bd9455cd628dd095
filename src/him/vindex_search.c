/* vindex_search.c — searching the semantic pyramid.
 *
 * Best-first descent: a priority queue of nodes ordered by the cosine of
 * the query with their centroid (plus VX_BBOX_BONUS for nodes whose
 * level-0 extent meets a hinted region).  Internal nodes are expanded from
 * RAM; leaves are scored exactly (fp32 query · int8 vector × scale, the
 * same kernel as the exact scan, so both agree bit for bit), up to
 * max_tiles of them, with the deadline checked between leaves.  The delta
 * buffer is scanned exhaustively first; a tree copy of an id that the
 * delta replaces or removes is never returned.
 *
 * The acceptance estimate (est_recall) is the expected share of the true
 * top k already held.  For each node still in the queue, its members'
 * similarities to the query are modelled as a normal distribution: with
 * unit centroid c, members' mean cosine to c (norm, μ) and effective
 * dimension d of their spread, s = q·c gives mean μ·s and variance
 * (1 − μ²)(1 − s²)/d (the residuals of the members, of squared length
 * ≈ 1 − μ², projected on the part of q orthogonal to c, spread over d
 * directions).  The expected number of unseen vectors beating the current
 * k-th score t is E = Σ count · P(X > t); est = 1 − min(E, k)/k.  The
 * search stops before loading a leaf once est ≥ accept.  It is 1 when the
 * queue is empty (every vector was scored). */
#include "him/vindex_int.h"
#include "him/vec.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VX_BBOX_BONUS 0.1f

/* ---- the top k ------------------------------------------------------------- */

struct topk {
	struct him_vindex_hit *h;   /* min-heap: the worst kept hit on top */
	size_t n, k;
};

static bool better(float sa, int64_t ia, float sb, int64_t ib)
{
	return sa > sb || (sa == sb && ia < ib);
}

static void topk_push(struct topk *t, int64_t id, float score)
{
	size_t i;

	if (t->n == t->k) {
		if (!better(score, id, t->h[0].score, t->h[0].id))
			return;
		/* replace the worst, sift down */
		i = 0;
		for (;;) {
			size_t l = 2 * i + 1, r = l + 1, w = i;
			const struct him_vindex_hit *hw;

			hw = &(struct him_vindex_hit){ id, score };
			if (l < t->n && better(hw->score, hw->id, t->h[l].score, t->h[l].id))
				w = l;
			if (r < t->n && better(w == i ? score : t->h[w].score,
					       w == i ? id : t->h[w].id, t->h[r].score, t->h[r].id))
				w = r;
			if (w == i)
				break;
			t->h[i] = t->h[w];
			i = w;
		}
		t->h[i] = (struct him_vindex_hit){ id, score };
		return;
	}
	i = t->n++;
	while (i) {
		size_t p = (i - 1) / 2;

		if (!better(t->h[p].score, t->h[p].id, score, id))
			break;
		t->h[i] = t->h[p];
		i = p;
	}
	t->h[i] = (struct him_vindex_hit){ id, score };
}

/* The score a newcomer must reach (−inf while the heap has room). */
static float topk_floor(const struct topk *t)
{
	return t->n < t->k ? -INFINITY : t->h[0].score;
}

static int cmp_hits(const void *a, const void *b)
{
	const struct him_vindex_hit *x = a, *y = b;

	if (better(x->score, x->id, y->score, y->id))
		return -1;
	return better(y->score, y->id, x->score, x->id) ? 1 : 0;
}

/* ---- scoring ---------------------------------------------------------------- */

/* Score every vector of a leaf; ids in `skip` (the delta) are left out. */
static void score_leaf(const struct him_vindex *vi, const float *q, const struct vx_leaf *l,
		       const struct vx_map *skip, struct topk *t)
{
	float scores[256];
	size_t dim = (size_t)vi->dim;

	for (uint32_t lo = 0; lo < l->n; lo += 256) {
		uint32_t m = l->n - lo < 256 ? l->n - lo : 256;

		vec_dot_i8_many(q, l->vecs + (size_t)lo * dim, l->scales + lo, dim, m, scores);
		for (uint32_t j = 0; j < m; j++) {
			float s = scores[j], fl = topk_floor(t);

			if (s < fl || (skip && vx_map_get(skip, l->ids[lo + j], NULL)))
				continue;
			topk_push(t, l->ids[lo + j], s);
		}
	}
}

static void note_tile(struct him_vindex_stats *st, size_t *cap, const struct vx_node *n)
{
	size_t i = (size_t)st->leaf_tiles, c2 = *cap;
	long x, y;

	if (i + 1 > *cap) {
		st->tile_ids = xgrow(st->tile_ids, cap, i + 1, sizeof(*st->tile_ids));
		st->tile_xy = xgrow(st->tile_xy, &c2, i + 1, sizeof(*st->tile_xy));
	}
	vx_coords(n->depth, n->path, true, &x, &y);
	memcpy(st->tile_ids[i], n->tile_id, sizeof(st->tile_ids[i]));
	st->tile_xy[i][0] = x;
	st->tile_xy[i][1] = y;
	st->leaf_tiles++;
}

/* ---- the queue --------------------------------------------------------------- */

struct cand {
	float prio, cs;
	const struct vx_node *n;
};

struct pq {
	struct cand *c;
	size_t n, cap;
};

static void pq_push(struct pq *p, struct cand c)
{
	size_t i;

	p->c = xgrow(p->c, &p->cap, p->n + 1, sizeof(*p->c));
	i = p->n++;
	while (i) {
		size_t up = (i - 1) / 2;

		if (p->c[up].prio >= c.prio)
			break;
		p->c[i] = p->c[up];
		i = up;
	}
	p->c[i] = c;
}

static struct cand pq_pop(struct pq *p)
{
	struct cand top = p->c[0], last = p->c[--p->n];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = l;

		if (l >= p->n)
			break;
		if (r < p->n && p->c[r].prio > p->c[l].prio)
			w = r;
		if (p->c[w].prio <= last.prio)
			break;
		p->c[i] = p->c[w];
		i = w;
	}
	if (p->n)
		p->c[i] = last;
	return top;
}

static bool in_bbox(const struct vx_node *n, const struct him_vindex_search *s)
{
	long x0, y0, side;

	if (!s->nbbox)
		return false;
	vx_extent(n->depth, n->path, &x0, &y0, &side);
	for (size_t i = 0; i < s->nbbox; i++) {
		const long *b = s->bbox[i];

		if (x0 < b[0] + b[2] && b[0] < x0 + side && y0 < b[1] + b[3] && b[1] < y0 + side)
			return true;
	}
	return false;
}

/* A node whose members' mean cosine to its centroid (norm) is under
 * VX_DIFFUSE_SIGMAS/√dim is a mixture of many unrelated clusters: a query
 * inside one of them is no closer to its centroid than an unrelated unit
 * vector is by chance (1/√dim), so its similarity cannot rank it.  Such
 * nodes are expanded first, breadth first (they sit near the root, and
 * there are few of them), and best-first ranking starts where centroids
 * become informative.  Without this the descent dives into whichever
 * subtree the noise favours and at 1M vectors misses the right leaves for
 * about 3% of the true neighbours at K = 8. */
#define VX_DIFFUSE_SIGMAS 2.0f

static void push_node(const struct him_vindex *vi, struct pq *p, const float *q,
		      const struct vx_node *n, const struct him_vindex_search *s)
{
	float cs = vec_dot(q, n->centroid, (size_t)vi->dim), pr = cs;

	if (!n->leaf && n->norm < VX_DIFFUSE_SIGMAS / sqrtf((float)vi->dim))
		pr = 2 + n->norm;
	pq_push(p, (struct cand){ pr + (in_bbox(n, s) ? VX_BBOX_BONUS : 0), cs, n });
}

/* The acceptance estimate over the nodes still queued (see the top).  It
 * stops summing once k vectors are expected to be missing (the estimate is
 * then 0 whatever the rest adds): on hard data that is early, and the erfc
 * over a queue of a thousand nodes before every leaf cost as much as the
 * descent itself. */
static double estimate(const struct pq *p, const struct topk *t)
{
	double missing = 0, thr = topk_floor(t);

	if (t->n < t->k) {
		for (size_t i = 0; i < p->n; i++)
			missing += p->c[i].n->count;
	} else {
		for (size_t i = 0; i < p->n && missing < (double)t->k; i++) {
			const struct vx_node *n = p->c[i].n;
			double mu = n->norm, cs = p->c[i].cs;
			double var = (1 - mu * mu) * (1 - cs * cs) / (n->deff > 1 ? n->deff : 1);
			double sd = sqrt(var > 1e-8 ? var : 1e-8);

			missing += n->count * 0.5 * erfc((thr - mu * cs) / (sd * M_SQRT2));
		}
	}
	missing = missing < (double)t->k ? missing : (double)t->k;
	return 1.0 - missing / (double)t->k;
}

/* ---- search -------------------------------------------------------------------- */

static enum kith_status exact_scan(struct him_vindex *vi, const float *q, const struct vx_node *n,
				   const struct vx_map *skip, struct topk *t,
				   struct him_vindex_stats *st, size_t *cap, char **why)
{
	struct vx_leaf *l;
	enum kith_status rc = KITH_OK;

	if (!n)
		return KITH_OK;
	if (!n->leaf) {
		st->top_tiles++;
		for (int c = 0; !rc && c < 4; c++)
			rc = exact_scan(vi, q, n->child[c], skip, t, st, cap, why);
		return rc;
	}
	if ((rc = vx_leaf_load(vi, n->tile_id, &l, why)))
		return rc;
	score_leaf(vi, q, l, skip, t);
	st->vectors += l->n;
	note_tile(st, cap, n);
	vx_leaf_unref(l);
	return KITH_OK;
}

/* Expanding an internal node costs four dot products from RAM; loading a
 * leaf costs hundreds.  So internal nodes are expanded best first (up to
 * VX_EXPAND_PER_TILE per leaf allowed) as long as one of them could hold
 * something better than the best leaf found so far, and only leaves are
 * spent from the budget.  A mixture's centroid says little about its best
 * member (the similarity of a node holding m near-orthogonal clusters to a
 * query in one of them falls like 1/√m), while a leaf's centroid is sharp,
 * so leaves are ranked only after the descent has reached them. */
#define VX_EXPAND_PER_TILE 64
#define VX_EXPAND_MARGIN 0.5f

static enum kith_status descend(struct him_vindex *vi, const float *q,
				const struct him_vindex_search *s, const struct vx_map *skip,
				struct topk *t, struct him_vindex_stats *st, size_t *cap,
				char **why)
{
	int max_tiles = s->max_tiles ? s->max_tiles : 8, expanded = 0,
	    max_expand = VX_EXPAND_PER_TILE * (max_tiles > 2 ? max_tiles : 2);
	double accept = s->accept > 0 ? s->accept : 0.98;
	int64_t deadline = s->budget_ms ? clock_mono_ms() + s->budget_ms : 0;
	struct pq inner = { 0 }, leaves = { 0 };
	enum kith_status rc = KITH_OK;

	if (vi->root)
		push_node(vi, vi->root->leaf ? &leaves : &inner, q, vi->root, s);
	st->est_recall = 1;
	for (;;) {
		struct cand c;
		struct vx_leaf *l;

		while (inner.n && (!leaves.n || (expanded < max_expand &&
						 inner.c[0].prio > leaves.c[0].prio - VX_EXPAND_MARGIN))) {
			c = pq_pop(&inner);
			expanded++;
			for (int k = 0; k < 4; k++)
				if (c.n->child[k])
					push_node(vi, c.n->child[k]->leaf ? &leaves : &inner, q,
						  c.n->child[k], s);
		}
		if (!leaves.n)
			break;
		st->est_recall = estimate(&leaves, t);
		if (st->est_recall > 0)
			st->est_recall *= estimate(&inner, t);
		if (st->est_recall >= accept)
			break;
		if (st->leaf_tiles >= max_tiles || (deadline && clock_mono_ms() >= deadline)) {
			st->budget_hit = true;
			break;
		}
		c = pq_pop(&leaves);
		if ((rc = vx_leaf_load(vi, c.n->tile_id, &l, why)))
			break;
		score_leaf(vi, q, l, skip, t);
		st->vectors += l->n;
		note_tile(st, cap, c.n);
		vx_leaf_unref(l);
	}
	st->top_tiles = expanded;
	if (!rc && !leaves.n && !inner.n)
		st->est_recall = 1;
	free(inner.c);
	free(leaves.c);
	return rc;
}

/* Check a query and normalise a copy of it into *qn (the caller frees it;
 * heap, not stack: up to HIM_VINDEX_MAX_DIM floats). */
static enum kith_status check_query(const struct him_vindex *vi, const float *q, int k,
				    float **qn, char **why)
{
	*qn = NULL;
	if (!q)
		return kith_why(why, KITH_EINVAL, "no query vector");
	if (k < 1 || k > HIM_VINDEX_MAX_K)
		return kith_why(why, KITH_EINVAL, "k must be 1..%d, not %d", HIM_VINDEX_MAX_K, k);
	for (int i = 0; i < vi->dim; i++)
		if (!isfinite(q[i]))
			return kith_why(why, KITH_EINVAL, "the query has a non-finite component");
	*qn = xmalloc((size_t)vi->dim * sizeof(float));
	memcpy(*qn, q, (size_t)vi->dim * sizeof(float));
	if (!(vec_normalize(*qn, (size_t)vi->dim) > 0)) {
		free(*qn);
		*qn = NULL;
		return kith_why(why, KITH_EINVAL, "the query vector is zero");
	}
	return KITH_OK;
}

enum kith_status him_vindex_search(struct him_vindex *vi, const float *q,
				   const struct him_vindex_search *s, struct him_vindex_hit *hits,
				   size_t *nhits, struct him_vindex_stats *stats, char **why)
{
	struct him_vindex_stats local, *st = stats ? stats : &local;
	float *qn = NULL;
	struct topk t;
	size_t cap = 0;
	enum kith_status rc;

	memset(st, 0, sizeof(*st));
	if (nhits)
		*nhits = 0;
	if (!vi || !s || !hits || !nhits)
		return kith_why(why, KITH_EINVAL, "search needs an index, options, hits and nhits");
	if (s->max_tiles < 0 || s->budget_ms < 0 || s->accept < 0 || s->accept > 1 ||
	    (s->nbbox && !s->bbox))
		return kith_why(why, KITH_EINVAL,
				"max_tiles and budget_ms must be ≥ 0, accept 0..1, bbox given with nbbox");
	if ((rc = check_query(vi, q, s->k, &qn, why)))
		return rc;
	t = (struct topk){ hits, 0, (size_t)s->k };
	pthread_rwlock_rdlock(&vi->tree_lock);
	pthread_rwlock_rdlock(&vi->delta.lock);
	for (size_t i = 0; i < vi->delta.n; i++) {
		const struct vx_entry *e = vi->delta.arr[i];

		if (e->del)
			continue;
		topk_push(&t, e->id, e->scale * vec_dot_i8(qn, e->v, (size_t)vi->dim));
		st->delta++;
	}
	st->vectors = st->delta;
	if (s->exact) {
		rc = exact_scan(vi, qn, vi->root, &vi->delta.by_id, &t, st, &cap, why);
		st->est_recall = 1;
	} else {
		rc = descend(vi, qn, s, &vi->delta.by_id, &t, st, &cap, why);
	}
	pthread_rwlock_unlock(&vi->delta.lock);
	pthread_rwlock_unlock(&vi->tree_lock);
	free(qn);
	if (rc) {
		him_vindex_stats_release(st);
		return rc;
	}
	qsort(hits, t.n, sizeof(*hits), cmp_hits);
	*nhits = t.n;
	if (!stats)
		him_vindex_stats_release(&local);
	return KITH_OK;
}

void him_vindex_stats_release(struct him_vindex_stats *s)
{
	if (!s)
		return;
	free(s->tile_ids);
	free(s->tile_xy);
	s->tile_ids = NULL;
	s->tile_xy = NULL;
}

enum kith_status him_vindex_score_tiles(struct him_vindex *vi, const float *q,
					const char (*tile_ids)[HIM_ID_HEX + 1], size_t ntiles,
					int k, struct him_vindex_hit *hits, size_t *nhits,
					char **why)
{
	float *qn = NULL;
	struct topk t;
	enum kith_status rc;

	if (nhits)
		*nhits = 0;
	if (!vi || !hits || !nhits || (ntiles && !tile_ids))
		return kith_why(why, KITH_EINVAL, "score_tiles needs an index, tiles, hits and nhits");
	if ((rc = check_query(vi, q, k, &qn, why)))
		return rc;
	t = (struct topk){ hits, 0, (size_t)k };
	for (size_t i = 0; !rc && i < ntiles; i++) {
		struct vx_leaf *l;

		if (!him_is_tile_id(tile_ids[i]))
			rc = kith_why(why, KITH_EINVAL, "tile %zu is not a tile id", i);
		else if (!(rc = vx_leaf_load(vi, tile_ids[i], &l, why))) {
			score_leaf(vi, qn, l, NULL, &t);
			vx_leaf_unref(l);
		}
	}
	free(qn);
	if (rc)
		return rc;
	qsort(hits, t.n, sizeof(*hits), cmp_hits);
	*nhits = t.n;
	return KITH_OK;
}
