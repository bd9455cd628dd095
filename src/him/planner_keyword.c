/* planner_keyword.c — keyword candidates: bounded FTS5 windows ranked by
 * BM25 with cached term statistics.
 *
 * Exact "top L by bm25" is not bounded: FTS5 must score every match to
 * sort them, and its bm25() also counts each phrase's documents on every
 * query (to get the IDF), so a goal whose words occur in 40% of 100k tiles
 * costs ~40 ms however small L is.  Instead a plan reads at most two
 * windows of W = clamp(2K, 16, 64) in-scope matches, newest first (FTS5
 * walks a doclist backwards lazily, so a window costs W rows):
 *   1. tiles holding every informative goal word (AND), then
 *   2. tiles holding any of them (OR),
 * where a word is informative when it occurs in fewer than half the indexed
 * tiles — BM25 gives the others an IDF of ~0 (FTS5 floors it at 1e-6), so
 * they would only flood the window with matches worth nothing.  Each row is
 * scored by kith_bm25, FTS5's own bm25 formula (k1 = 1.2, b = 0.75, tags
 * weighted 2, text 1) fed with document frequencies cached per phrase in
 * struct plan_shared (at most KW_TERMS_MAX, then it starts over) and
 * recounted when the catalogue has grown by 10%
 * since (IDF moves slowly; the counts are store-wide, like FTS5's).
 * Relevance is the score relative to the best one retrieved (so the best
 * match is 1, as the plan has always normalised it).  A window visits at
 * most KW_VISIT rows: when the newest matches belong to other snapshots or
 * streams the window comes back short, and older matches of this scope are
 * not seen.
 *
 * The acceptance total needs the relevance of every match, retrieved or
 * not.  When the OR window ran out of matches it holds all of them and the
 * total is exact.  Otherwise the rest is estimated: the store-wide OR count
 * from the cached document frequencies, assuming words occur independently
 * (N·(1 − Π(1 − df/N))), times the share of visited rows that were in scope,
 * minus what was retrieved, each worth the mean relevance of the OR window
 * (the newest matches standing in for the older ones).  The trace records
 * the retrieved tiles' relevance and this estimate, never the index. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/log.h"

#include <math.h>
#include <string.h>

#define KW_PHRASES 16          /* goal phrases used (the first distinct ones) */
#define KW_WINDOW_MIN 16
#define KW_WINDOW_MAX 64
#define KW_VISIT 256           /* FTS rows a window may visit */
#define KW_TERMS_MAX 1024      /* cached phrases; then the cache starts over */
#define KW_REL_FLOOR 1e-6

/* ---- cached statistics ----------------------------------------------------- */

struct plan_term {
	char *phrase;           /* NULL = empty slot */
	int64_t df, at_seq;
};

#define TERM_SLOTS (2 * KW_TERMS_MAX)

void plan_terms_release(struct plan_shared *s)
{
	for (size_t i = 0; s->terms && i < TERM_SLOTS; i++)
		free(s->terms[i].phrase);
	free(s->terms);
	s->terms = NULL;
	s->nterms = 0;
}

static size_t phrase_slot(const char *phrase)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *c = phrase; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	return (size_t)(h % TERM_SLOTS);
}

/* Counted at at_seq, still good at max_seq: grown by less than 10%. */
static bool fresh(int64_t at_seq, int64_t max_seq)
{
	return at_seq <= max_seq && max_seq <= at_seq + at_seq / 10 + 16;
}

static bool cached_df(struct plan_shared *s, const char *phrase, int64_t max_seq, int64_t *df)
{
	bool hit = false;

	pthread_mutex_lock(&s->terms_mu);
	for (size_t i = phrase_slot(phrase); s->terms && s->terms[i].phrase;
	     i = (i + 1) % TERM_SLOTS)
		if (strcmp(s->terms[i].phrase, phrase) == 0) {
			hit = fresh(s->terms[i].at_seq, max_seq);
			*df = s->terms[i].df;
			break;
		}
	pthread_mutex_unlock(&s->terms_mu);
	return hit;
}

static void remember_df(struct plan_shared *s, const char *phrase, int64_t df, int64_t at_seq)
{
	size_t i;

	pthread_mutex_lock(&s->terms_mu);
	if (s->nterms >= KW_TERMS_MAX)
		plan_terms_release(s);
	if (!s->terms)
		s->terms = xcalloc(TERM_SLOTS, sizeof(*s->terms));
	for (i = phrase_slot(phrase); s->terms[i].phrase; i = (i + 1) % TERM_SLOTS)
		if (strcmp(s->terms[i].phrase, phrase) == 0)
			break;
	if (!s->terms[i].phrase) {
		s->terms[i].phrase = xstrdup(phrase);
		s->nterms++;
	}
	s->terms[i].df = df;
	s->terms[i].at_seq = at_seq;
	pthread_mutex_unlock(&s->terms_mu);
}

/* ---- kith_bm25: FTS5's bm25 with given document frequencies -------------- */

struct kw_rank {
	int nphrase;
	int64_t df[KW_PHRASES];
	double idf[KW_PHRASES];
	double avgdl;
	int64_t nrow;
	bool ready;
};

#define KW_RANK_PTR "kith_kw_rank"

static void kith_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
		      int nval, sqlite3_value **val)
{
	static const double k1 = 1.2, b = 0.75, weight[2] = { 2.0, 1.0 };  /* tags, body */
	struct kw_rank *r = nval > 0 ? sqlite3_value_pointer(val[0], KW_RANK_PTR) : NULL;
	double freq[KW_PHRASES] = { 0 }, score = 0;
	int ninst = 0, ntok = 0, rc;

	if (!r || api->xPhraseCount(fts) != r->nphrase) {
		sqlite3_result_error(ctx, "kith_bm25: no statistics for this query", -1);
		return;
	}
	if (!r->ready) {
		sqlite3_int64 nrow = 0, ntoken = 0;

		if (api->xRowCount(fts, &nrow) != SQLITE_OK ||
		    api->xColumnTotalSize(fts, -1, &ntoken) != SQLITE_OK || nrow <= 0) {
			sqlite3_result_error(ctx, "kith_bm25: no index statistics", -1);
			return;
		}
		r->nrow = nrow;
		r->avgdl = (double)ntoken / (double)nrow;
		for (int i = 0; i < r->nphrase; i++) {
			double hit = (double)r->df[i];
			double idf = log(((double)nrow - hit + 0.5) / (hit + 0.5));

			r->idf[i] = idf > 0 ? idf : 1e-6;   /* as FTS5 */
		}
		r->ready = true;
	}
	rc = api->xInstCount(fts, &ninst);
	for (int i = 0; rc == SQLITE_OK && i < ninst; i++) {
		int phrase, col, off;

		rc = api->xInst(fts, i, &phrase, &col, &off);
		if (rc == SQLITE_OK && phrase >= 0 && phrase < r->nphrase)
			freq[phrase] += col >= 0 && col < 2 ? weight[col] : 1.0;
	}
	if (rc == SQLITE_OK)
		rc = api->xColumnSize(fts, -1, &ntok);
	if (rc != SQLITE_OK) {
		sqlite3_result_error_code(ctx, rc);
		return;
	}
	for (int i = 0; i < r->nphrase; i++)
		score += r->idf[i] * (freq[i] * (k1 + 1.0)) /
			 (freq[i] + k1 * (1 - b + b * (double)ntok / (r->avgdl > 0 ? r->avgdl : 1)));
	sqlite3_result_double(ctx, score);
}

bool plan_register_bm25(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(s);
	sqlite3_finalize(s);
	return api && api->iVersion >= 2 &&
	       api->xCreateFunction(api, "kith_bm25", NULL, kith_bm25, NULL) == SQLITE_OK;
}

/* ---- the goal's phrases ------------------------------------------------------ */

struct kw {
	struct plan *p;
	struct plan_live *lv;
	char *phrase[KW_PHRASES];    /* as quoted in the FTS query */
	int64_t df[KW_PHRASES];
	int nphrase;
	struct kw_rank rank;         /* over the informative phrases */
	int use[KW_PHRASES];         /* indices of the informative phrases */
	int nuse;
	sqlite3_stmt *probe;
	struct kw_hit {
		struct plan_row row;
		double score;
		bool or_tier;       /* in the OR window (the sample for the rest) */
	} *hits;
	size_t nhits, cap;
};

/* The distinct phrases of the goal, from him_fts_query (which already
 * reduced it to quoted word tokens: `"a" OR "b"`), ASCII case folded. */
static void goal_phrases(struct kw *k, const char *goal)
{
	struct buf q = BUF_INIT(0);
	const char *s;

	him_fts_query(goal, &q);
	for (s = buf_str(&q); (s = strchr(s, '"')) && k->nphrase < KW_PHRASES;) {
		const char *e = strchr(s + 1, '"');
		char *t;
		bool dup = false;

		if (!e)
			break;
		t = xasprintf("%.*s", (int)(e - s - 1), s + 1);
		for (char *c = t; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		for (int i = 0; i < k->nphrase; i++)
			dup |= strcmp(k->phrase[i], t) == 0;
		if (dup || !*t)
			free(t);
		else
			k->phrase[k->nphrase++] = t;
		s = e + 1;
	}
	buf_release(&q);
}

static enum kith_status count_df(struct plan_conn *c, const char *phrase, int64_t *df,
				 char **why)
{
	sqlite3_stmt *s = plan_stmt(c, PLAN_SQL_DF);
	char *match = xasprintf("\"%s\"", phrase);
	int step = SQLITE_ERROR;

	if (s) {
		sqlite3_bind_text(s, 1, match, -1, SQLITE_TRANSIENT);
		step = sqlite3_step(s);
		*df = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		sqlite3_reset(s);
	}
	free(match);
	return step == SQLITE_ROW ? KITH_OK : him_db_fail(c->db, "searching tile text", why);
}

/* Document frequencies (cached), and which phrases are informative. */
static enum kith_status statistics(struct kw *k, char **why)
{
	struct plan_shared *sh = k->lv->shared;
	int64_t nrow = 0;
	enum kith_status st = KITH_OK;

	for (int i = 0; !st && i < k->nphrase; i++) {
		if (sh && cached_df(sh, k->phrase[i], k->lv->max_seq, &k->df[i]))
			continue;
		st = count_df(k->lv->conn, k->phrase[i], &k->df[i], why);
		if (!st && sh)
			remember_df(sh, k->phrase[i], k->df[i], k->lv->max_seq);
	}
	if (sh) {
		pthread_mutex_lock(&sh->terms_mu);
		if (fresh(sh->nrow_at, k->lv->max_seq))
			nrow = sh->nrow;
		pthread_mutex_unlock(&sh->terms_mu);
	}
	for (int i = 0; i < k->nphrase; i++)
		if (!nrow || 2 * k->df[i] < nrow)
			k->use[k->nuse++] = i;
	if (!k->nuse)             /* every word is everywhere: use them all */
		for (int i = 0; i < k->nphrase; i++)
			k->use[k->nuse++] = i;
	k->rank.nphrase = k->nuse;
	for (int i = 0; i < k->nuse; i++)
		k->rank.df[i] = k->df[k->use[i]];
	return st;
}

static char *match_of(const struct kw *k, const char *op)
{
	struct buf q = BUF_INIT(0);
	char *s;

	for (int i = 0; i < k->nuse; i++)
		buf_printf(&q, "%s\"%s\"", i ? op : "", k->phrase[k->use[i]]);
	s = xstrdup(buf_str(&q));
	buf_release(&q);
	return s;
}

/* ---- windows ---------------------------------------------------------------- */

struct window {
	size_t visited, in_scope;   /* rows visited; of which in scope (counting the peek) */
	bool exhausted;             /* the match list ran out */
};

static long hit_of(const struct kw *k, int64_t seq)
{
	for (size_t i = 0; i < k->nhits; i++)
		if (k->hits[i].row.seq == seq)
			return (long)i;
	return -1;
}

/* The newest `size` in-scope matches of `match`, and one more to tell
 * whether there are more. */
static enum kith_status scan(struct kw *k, const char *match, size_t size, bool or_tier,
			     struct window *w, char **why)
{
	sqlite3_stmt *s = plan_stmt(k->lv->conn, PLAN_SQL_FTS_SCAN);
	size_t got = 0;
	int step = SQLITE_DONE;

	memset(w, 0, sizeof(*w));
	if (!s)
		return him_db_fail(k->lv->db, "searching tile text", why);
	sqlite3_bind_text(s, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_pointer(s, 2, &k->rank, KW_RANK_PTR, NULL);
	while (w->visited < KW_VISIT && (step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(s, 0);
		struct plan_row row;
		long dup;
		int pstep;

		w->visited++;
		if ((dup = hit_of(k, seq)) < 0) {      /* else in scope, seen by the AND window */
			sqlite3_bind_int64(k->probe, 6, seq);
			if ((pstep = plan_probe(k->probe, &row)) < 0) {
				step = SQLITE_ERROR;
				break;
			}
			if (!pstep)
				continue;
		}
		w->in_scope++;
		if (got++ == size)
			break;          /* the peek: there are more */
		if (dup >= 0) {
			k->hits[dup].or_tier |= or_tier;
			continue;
		}
		k->hits = xgrow(k->hits, &k->cap, k->nhits + 1, sizeof(*k->hits));
		k->hits[k->nhits].row = row;
		k->hits[k->nhits].score = sqlite3_column_double(s, 1);
		k->hits[k->nhits++].or_tier = or_tier;
	}
	w->exhausted = step == SQLITE_DONE;
	sqlite3_reset(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return him_db_fail(k->lv->db, "searching tile text", why);
	return KITH_OK;
}

/* The relevance of the matches no window retrieved (see the top). */
static double rest_mass(const struct kw *k, const struct window *w, const double *rel)
{
	double n = (double)(k->rank.ready ? k->rank.nrow : 0), none = 1, est, mean = 0;
	size_t nor = 0;

	if (w->exhausted || n <= 0 || !w->visited)
		return 0;
	for (int i = 0; i < k->nuse; i++)
		none *= 1 - (k->rank.df[i] < n ? (double)k->rank.df[i] / n : 1);
	est = n * (1 - none) * ((double)w->in_scope / (double)w->visited);
	for (size_t i = 0; i < k->nhits; i++)
		if (k->hits[i].or_tier) {
			mean += rel[i];
			nor++;
		}
	mean = nor ? mean / (double)nor : 0;
	est -= (double)k->nhits;
	return est > 0 ? est * mean : 0;
}

static void kw_release(struct kw *k)
{
	for (int i = 0; i < k->nphrase; i++)
		free(k->phrase[i]);
	free(k->hits);
}

enum kith_status plan_keywords(struct plan *p, struct plan_live *lv, size_t *found, char **why)
{
	struct kw k = { .p = p, .lv = lv };
	struct window and_w = { 0 }, or_w = { 0 };
	size_t size = 2 * (size_t)p->q->max_tiles;
	char *match = NULL;
	double best = 0, *rel = NULL;
	enum kith_status st;

	*found = 0;
	size = size < KW_WINDOW_MIN ? KW_WINDOW_MIN : size > KW_WINDOW_MAX ? KW_WINDOW_MAX : size;
	goal_phrases(&k, p->q->goal);
	if (!k.nphrase) {
		kw_release(&k);
		return KITH_OK;
	}
	st = statistics(&k, why);
	if (!st && !(k.probe = plan_scope_probe(lv->conn, p, PLAN_SQL_PROBE_SEQ)))
		st = him_db_fail(lv->db, "reading tiles", why);
	if (!st && k.nuse > 1) {
		match = match_of(&k, " AND ");
		st = scan(&k, match, size, false, &and_w, why);
		free(match);
	}
	if (!st) {
		match = match_of(&k, " OR ");
		st = scan(&k, match, size, true, &or_w, why);
		free(match);
	}
	if (!st && k.rank.ready && lv->shared) {
		pthread_mutex_lock(&lv->shared->terms_mu);
		lv->shared->nrow = k.rank.nrow;
		lv->shared->nrow_at = lv->max_seq;
		pthread_mutex_unlock(&lv->shared->terms_mu);
	}
	if (!st) {
		/* bm25 is unbounded and corpus-dependent: relative to the best
		 * match retrieved, so the best scores 1 and every match is > 0 */
		rel = xcalloc(k.nhits + 1, sizeof(*rel));
		for (size_t i = 0; i < k.nhits; i++)
			best = k.hits[i].score > best ? k.hits[i].score : best;
		for (size_t i = 0; i < k.nhits; i++) {
			double v = best > 0 ? k.hits[i].score / best : 1.0;

			rel[i] = v < KW_REL_FLOOR ? KW_REL_FLOOR : v > 1 ? 1 : v;
			plan_add(p, &k.hits[i].row, PLAN_SRC_MATCH, p->use_index ? -1 : rel[i]);
		}
		if (!p->use_index)
			p->rest_mass = rest_mass(&k, &or_w, rel);
		*found = k.nhits;
	}
	free(rel);
	kw_release(&k);
	return st;
}
