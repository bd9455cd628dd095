/* recall.c — hybrid recall: keyword and vector candidates, fused, with
 * salience and recency, without duplicates, kept diverse.
 *
 * 1. Candidates: the best CANDIDATES rows by BM25 (FTS5) and the best
 *    CANDIDATES by cosine from the scope's vector index.
 * 2. Relevance in [0, 1] by normalised linear fusion,
 *        relevance = a · bm25/bm25_max + (1 − a) · max(0, cosine),
 *    with a = W_KEYWORD_HASH for the hashing embedder (its vectors know no
 *    word rarity, so BM25 leads) and W_KEYWORD_MODEL for a model.  Measured
 *    on LoCoMo against reciprocal-rank fusion (docs/memory.md): equal to the
 *    best RRF setting, far better than RRF with the usual k = 60.
 * 3. Score = relevance × (1 + W_SALIENCE·(salience − ½) + W_RECENCY·2^(−age/HALF_LIFE))
 *    unless the query asks for relevance only (no_recency).  Multiplicative,
 *    so neither salience nor recency lifts an irrelevant memory.
 * 4. Selection, best first: a candidate nearly identical to one already
 *    chosen (cosine of their hashing vectors ≥ DUP_COSINE) is dropped, and
 *    the others pay DIVERSITY × max(0, similarity − DIVERSITY_FLOOR) to the
 *    closest chosen one (maximal marginal relevance with a floor, so only
 *    near-repeats are pushed down). */
#include "memory/memory_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "llm/embed.h"

#include <math.h>
#include <string.h>

#define CANDIDATES 100        /* per side */
#define EXACT_MAX 1024        /* indexes up to this size are searched exactly */
#define W_KEYWORD_HASH 0.8    /* keyword share of relevance with the hashing embedder */
#define W_KEYWORD_MODEL 0.5   /* ... with a model's embeddings */
#define W_SALIENCE 0.3
#define W_RECENCY 0.3
#define HALF_LIFE_MS (14.0 * 24 * 3600 * 1000)
#define DUP_COSINE 0.95
#define DIVERSITY 0.2
#define DIVERSITY_FLOOR 0.6
#define SIM_DIM 256

struct cand {
	int64_t id;
	int kw_rank, vec_rank;     /* 1-based; 0 = not found on that side */
	double kw_score, vec_score;
	double relevance, score;
	const struct store_memory *row;
	float *sim;                /* hashing vector for duplicates/diversity */
	bool taken;
};

static struct cand *cand_find(struct cand *c, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].id == id)
			return &c[i];
	return NULL;
}

static struct cand *cand_get(struct cand **c, size_t *n, size_t *cap, int64_t id)
{
	struct cand *x = cand_find(*c, *n, id);

	if (x)
		return x;
	*c = xgrow(*c, cap, *n + 1, sizeof(**c));
	x = &(*c)[(*n)++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	return x;
}

/* Vector candidates; any failure only loses the vector side. */
static void vector_side(struct memory *m, const struct memory_query *q, struct cand **c,
			size_t *n, size_t *cap)
{
	struct him_vindex *vi = NULL;
	struct him_vindex_search s = { .k = CANDIDATES };
	struct him_vindex_info info;
	struct him_vindex_hit *hits = NULL;
	float *qv = NULL;
	size_t nh = 0;
	char *why = NULL;
	const char *text = q->text;

	if (memory_index_for(m, q->scope, &vi, &why) != KITH_OK)
		goto out;
	qv = xmalloc((size_t)m->hemb.dim * sizeof(*qv));
	if (m->hemb.embed(m->hemb.ctx, &text, 1, qv, &why) != KITH_OK)
		goto out;
	/* a small index is scanned exactly: cheaper than the pyramid's bookkeeping */
	him_vindex_info(vi, &info);
	s.exact = info.vectors <= EXACT_MAX;
	hits = xcalloc(CANDIDATES, sizeof(*hits));
	if (him_vindex_search(vi, qv, &s, hits, &nh, NULL, &why) != KITH_OK)
		goto out;
	for (size_t i = 0; i < nh; i++) {
		struct cand *x = cand_get(c, n, cap, hits[i].id);

		x->vec_rank = (int)i + 1;
		x->vec_score = hits[i].score;
	}
out:
	if (why)
		log_debug("memory", "recall without vectors: %s", why);
	free(why);
	free(hits);
	free(qv);
}

static double dotf(const float *a, const float *b, int n)
{
	double d = 0;

	for (int i = 0; i < n; i++)
		d += (double)a[i] * b[i];
	return d;
}

static void fill_hit(struct memory_hit *h, const struct cand *x)
{
	const struct store_memory *r = x->row;

	h->id = r->id;
	h->scope = xstrdup(r->scope);
	h->speaker = xstrdup(r->speaker);
	h->text = xstrdup(r->text);
	h->tags = xstrdup(r->tags);
	h->source = xstrdup(r->source);
	h->salience = r->salience;
	h->created_at = r->created_at;
	h->score = x->score;
	h->relevance = x->relevance;
	h->vector_score = x->vec_rank ? x->vec_score : 0;
	h->keyword_score = x->kw_score;
}

static void score_all(struct memory *m, struct cand *c, size_t n, const struct memory_query *q)
{
	double a = strncmp(m->hemb.model, "hash-", 5) == 0 ? W_KEYWORD_HASH : W_KEYWORD_MODEL;
	int64_t now = q->now_ms ? q->now_ms : clock_now_ms();
	double kwmax = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].kw_rank && c[i].kw_score > kwmax)
			kwmax = c[i].kw_score;
	for (size_t i = 0; i < n; i++) {
		struct cand *x = &c[i];

		x->kw_score = x->kw_rank && kwmax > 0 ? x->kw_score / kwmax : 0;
		x->relevance = a * x->kw_score + (1 - a) * (x->vec_rank ? fmax(0, x->vec_score) : 0);
		x->score = x->relevance;
		if (!q->no_recency && x->row) {
			double age = (double)(now - x->row->created_at);
			double rec = age <= 0 ? 1.0 : exp2(-age / HALF_LIFE_MS);

			x->score *= 1 + W_SALIENCE * (x->row->salience - 0.5) + W_RECENCY * rec;
		}
	}
}

/* Greedy selection: best score first, duplicates dropped, near-repeats
 * pushed down.  maxsim[i] is candidate i's similarity to the closest chosen
 * one, updated as each is chosen.  Returns how many went into order[]. */
static size_t select_diverse(struct cand *c, size_t n, size_t limit, size_t *order)
{
	double *maxsim = xcalloc(n ? n : 1, sizeof(*maxsim));
	size_t k = 0;

	while (k < limit) {
		double best = -INFINITY;
		size_t bi = n;

		for (size_t i = 0; i < n; i++) {
			struct cand *x = &c[i];
			double v;

			if (x->taken || !x->row)
				continue;
			v = x->score - DIVERSITY * fmax(0, maxsim[i] - DIVERSITY_FLOOR);
			if (v > best || (v == best && bi < n && x->id < c[bi].id)) {
				best = v;
				bi = i;
			}
		}
		if (bi == n)
			break;
		c[bi].taken = true;
		order[k++] = bi;
		for (size_t i = 0; i < n; i++) {
			double s;

			if (c[i].taken || !c[i].row)
				continue;
			s = dotf(c[i].sim, c[bi].sim, SIM_DIM);
			if (s > maxsim[i])
				maxsim[i] = s;
			if (maxsim[i] >= DUP_COSINE)
				c[i].taken = true;     /* a duplicate of a chosen one */
		}
	}
	free(maxsim);
	return k;
}

enum kith_status memory_recall(struct memory *m, struct store *st, const struct memory_query *q,
			       struct memory_hit **out, size_t *nout, char **why)
{
	struct store_memory_match *kw = NULL;
	struct store_memory *rows = NULL;
	struct cand *c = NULL;
	size_t nkw = 0, nrows = 0, n = 0, cap = 0, nsel = 0;
	size_t limit = q->limit ? q->limit : 10;
	size_t *order = NULL;
	int64_t *ids = NULL;
	struct memory_hit *hits = NULL;
	enum kith_status rc;

	*out = NULL;
	*nout = 0;
	if (!q->scope || !q->text)
		return kith_why(why, KITH_EINVAL, "recall needs a scope and a text");
	rc = store_memories_search(st, q->scope, q->text, CANDIDATES, &kw, &nkw, why);
	if (rc)
		return rc;
	for (size_t i = 0; i < nkw; i++) {
		struct cand *x = cand_get(&c, &n, &cap, kw[i].id);

		x->kw_rank = (int)i + 1;
		x->kw_score = kw[i].score;
	}
	vector_side(m, q, &c, &n, &cap);
	if (n == 0)
		goto out;
	ids = xmalloc(n * sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = c[i].id;
	rc = store_memories_get(st, ids, n, &rows, &nrows, why);
	if (rc)
		goto out;
	/* rows come back in the order asked, missing ones skipped */
	for (size_t i = 0, j = 0; i < n && j < nrows; i++)
		if (c[i].id == rows[j].id)
			c[i].row = &rows[j++];
	score_all(m, c, n, q);
	float *simv = xcalloc(n * SIM_DIM, sizeof(*simv));
	struct embedder *he = embedder_hash_new(SIM_DIM);
	for (size_t i = 0; i < n; i++) {
		c[i].sim = simv + i * SIM_DIM;
		if (c[i].row && q->min_score > 0 && c[i].relevance < q->min_score)
			c[i].row = NULL;
		if (c[i].row) {
			const char *t = c[i].row->text;
			if (embedder_embed(he, &t, 1, c[i].sim, NULL, NULL) != KITH_OK)
				memset(c[i].sim, 0, SIM_DIM * sizeof(float));
		}
	}
	embedder_free(he);
	order = xmalloc(n * sizeof(*order));
	nsel = select_diverse(c, n, limit < n ? limit : n, order);
	hits = xcalloc(nsel ? nsel : 1, sizeof(*hits));
	for (size_t i = 0; i < nsel; i++)
		fill_hit(&hits[i], &c[order[i]]);
	free(simv);
	*out = hits;
	*nout = nsel;
	hits = NULL;
out:
	free(hits);
	free(order);
	free(ids);
	store_memories_free(rows, nrows);
	free(kw);
	free(c);
	return rc;
}

void memory_hits_free(struct memory_hit *h, size_t n)
{
	if (!h)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].scope);
		free(h[i].speaker);
		free(h[i].text);
		free(h[i].tags);
		free(h[i].source);
	}
	free(h);
}

enum kith_status memory_recent(struct memory *m, struct store *st, const char *scope,
			       size_t limit, struct memory_hit **out, size_t *n, char **why)
{
	struct store_memory *rows = NULL;
	size_t nrows = 0;
	enum kith_status rc;

	(void)m;
	*out = NULL;
	*n = 0;
	rc = store_memories_recent(st, scope, limit, &rows, &nrows, why);
	if (rc)
		return rc;
	if (nrows) {
		*out = xcalloc(nrows, sizeof(**out));
		for (size_t i = 0; i < nrows; i++) {
			struct cand x = { .row = &rows[i], .score = 0 };
			fill_hit(&(*out)[i], &x);
		}
		*n = nrows;
	}
	store_memories_free(rows, nrows);
	return KITH_OK;
}
