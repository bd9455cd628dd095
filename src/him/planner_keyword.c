/* planner_keyword.c — keyword candidates: bounded FTS5 windows, one per goal
 * word, scored by BM25 with cached term statistics.
 *
 * Exact "top L by bm25" is not bounded: FTS5 must score every match to
 * sort them, and its bm25() counts each phrase's documents on every query
 * (for the IDF), so a goal whose words occur in 40% of 100k tiles costs
 * ~40 ms however small L is.  Nor is an AND of words: when they seldom
 * occur together FTS5 walks their whole doclists (1.5 ms at 100k).  What is
 * bounded is one phrase's doclist walked backwards, which FTS5 does lazily.
 * So a plan reads, for each of the goal's KW_USE rarest informative phrases
 * (a phrase in half the indexed tiles or more has an IDF of ~0 — FTS5
 * floors it at 1e-6 — and is left out), the R = clamp(8K, 64, 256) newest
 * tiles holding it, with that phrase's BM25 term (kith_bm25: FTS5's formula,
 * k1 = 1.2, b = 0.75, tags weighted 2, text 1, with document frequencies
 * cached per phrase in struct plan_shared and recounted after 10% growth —
 * those under KW_COUNT_FRESH each time, which is cheap and means a new word
 * is found at once; they are store-wide, like FTS5's).  BM25 is a sum over phrases, so a
 * tile's score is the sum of its terms over the windows that hold it:
 * exact for every tile at least as new as the oldest tile of each window
 * that ran full (a window holds every match newer than its oldest), and for
 * every tile when a phrase is rare enough for its window to hold all of its
 * matches — ids and names are found however old.  Older tiles get a lower
 * bound.  The tiles are then read in score order (newest first on ties)
 * until W = clamp(2K, 16, 64) in scope are found, at most KW_VISIT.
 * Relevance is the score relative to the best one in scope (so the best
 * match is 1, as the plan has always normalised it).
 *
 * The acceptance total needs the relevance of every match, retrieved or
 * not.  When every window ran out of matches and every tile was read, it
 * is exact.  Otherwise the rest is estimated: the count of tiles holding
 * any of the phrases (exact when every window is complete, else from the
 * cached frequencies assuming words occur independently,
 * N·(1 − Π(1 − df/N))), times the share of the tiles
 * read that were in scope, minus what was retrieved, each worth the mean
 * relevance of the windows' tiles weighted by their phrases' frequencies
 * (the newest matches standing in for the older ones).  The trace records
 * the retrieved tiles' relevance and this estimate, never the index.
 *
 * What a phrase's window holds is fixed by the index (MAX(seq)), R and the
 * phrase's cached frequency: it is memoised (KW_MEMO windows, least
 * recently used out), so a word asked about again before the next write
 * costs no FTS5 at all. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/log.h"

#include <math.h>
#include <string.h>

#define KW_PHRASES 16          /* goal phrases read (the first distinct ones) */
#define KW_USE 6               /* of which the rarest informative are scanned */
#define KW_WANT_MIN 16         /* W: in-scope tiles wanted */
#define KW_WANT_MAX 64
#define KW_RAW_MIN 64          /* R: rows per phrase window */
#define KW_RAW_MAX 256
#define KW_VISIT 256           /* tiles read (probed) at most */
#define KW_RAW_TOTAL 1024      /* rows per phrase over all rounds */
#define KW_TERMS_MAX 1024      /* cached phrases; then the cache starts over */
#define KW_COUNT_FRESH 256     /* document frequencies below are always recounted */
#define KW_MEMO 64             /* memoised windows */
#define KW_REL_FLOOR 1e-6

/* ---- cached statistics ----------------------------------------------------- */

struct plan_term {
	char *phrase;           /* NULL = empty slot */
	int64_t df, at_seq;
};

#define TERM_SLOTS (2 * KW_TERMS_MAX)

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
			/* a rare word is counted afresh (cheaply: O(df)), so its
			 * new tiles are never hidden behind a stale count of 0 */
			hit = s->terms[i].at_seq == max_seq ||
			      (s->terms[i].df >= KW_COUNT_FRESH && fresh(s->terms[i].at_seq, max_seq));
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
	if (s->nterms >= KW_TERMS_MAX) {
		for (i = 0; i < TERM_SLOTS; i++)
			free(s->terms[i].phrase);
		memset(s->terms, 0, TERM_SLOTS * sizeof(*s->terms));
		s->nterms = 0;
	}
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

struct kw_hit {
	int64_t seq;
	double score;
	uint32_t in;                 /* bit i: in a window of use[i] */
	int state;                   /* 0 not read yet, 1 in scope (row), 2 not */
	struct plan_row row;
};

struct kw {
	struct plan *p;
	struct plan_live *lv;
	char *phrase[KW_PHRASES];    /* as quoted in the FTS query */
	int64_t df[KW_PHRASES];
	int nphrase;
	int use[KW_USE];             /* the rarest informative phrases, rarest first */
	int nuse;
	int64_t nrow;                /* FTS rows once a window saw them, else cached; 0 = unknown */
	struct kw_hit *hits;         /* every window's tiles, merged by seq */
	size_t nhits, cap;
	size_t raw;                  /* R */
	int64_t floor[KW_USE];       /* the oldest seq a phrase's windows reached */
	size_t taken[KW_USE];        /* rows its windows held */
	bool done[KW_USE];           /* its matches ran out, or KW_RAW_TOTAL */
	bool exhausted[KW_USE];      /* its matches ran out */
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

/* Document frequencies (cached), and the phrases worth a window. */
static enum kith_status statistics(struct kw *k, char **why)
{
	struct plan_shared *sh = k->lv->shared;
	int order[KW_PHRASES], n = 0;
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
			k->nrow = sh->nrow;
		pthread_mutex_unlock(&sh->terms_mu);
	}
	/* informative ones, rarest first (stable: goal order on ties) */
	for (int i = 0; i < k->nphrase; i++)
		if (k->df[i] > 0 && (!k->nrow || 2 * k->df[i] < k->nrow))
			order[n++] = i;
	if (!n)                   /* nothing informative: the words there are */
		for (int i = 0; i < k->nphrase; i++)
			if (k->df[i] > 0)
				order[n++] = i;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && k->df[order[j]] < k->df[order[j - 1]]; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int i = 0; i < n && k->nuse < KW_USE; i++)
		k->use[k->nuse++] = order[i];
	return st;
}

/* ---- one phrase's window ----------------------------------------------------- */

struct kw_seen {
	int64_t seq;
	double term;                /* the phrase's BM25 term for the tile */
};

struct plan_memo {
	char *key;                  /* NULL = empty */
	struct kw_seen *seen;       /* newest first */
	size_t n;
	bool exhausted;
	int64_t nrow;               /* FTS rows (0 = no row was scored) */
	uint64_t used;
};

static char *memo_key(const struct kw *k, int u)
{
	int phrase = k->use[u];

	return xasprintf("%s\n%zu %lld %lld %lld", k->phrase[phrase], k->raw,
			 (long long)k->floor[u], (long long)k->lv->max_seq,
			 (long long)k->df[phrase]);
}

/* A copy of the entry for key (caller frees out->seen), or false. */
static bool memo_get(struct plan_shared *sh, const char *key, struct plan_memo *out)
{
	bool hit = false;

	pthread_mutex_lock(&sh->terms_mu);
	for (size_t i = 0; sh->memo && i < KW_MEMO; i++) {
		struct plan_memo *m = &sh->memo[i];

		if (m->key && strcmp(m->key, key) == 0) {
			*out = *m;
			out->key = NULL;
			out->seen = xcalloc(m->n + 1, sizeof(*m->seen));
			memcpy(out->seen, m->seen, m->n * sizeof(*m->seen));
			m->used = ++sh->memo_clock;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&sh->terms_mu);
	return hit;
}

/* Keep a copy of in. */
static void memo_put(struct plan_shared *sh, const char *key, const struct plan_memo *in)
{
	struct plan_memo *victim;

	pthread_mutex_lock(&sh->terms_mu);
	if (!sh->memo)
		sh->memo = xcalloc(KW_MEMO, sizeof(*sh->memo));
	victim = &sh->memo[0];
	for (size_t i = 0; i < KW_MEMO; i++) {
		if (!sh->memo[i].key) {
			victim = &sh->memo[i];
			break;
		}
		if (sh->memo[i].used < victim->used)
			victim = &sh->memo[i];
	}
	free(victim->key);
	free(victim->seen);
	*victim = *in;
	victim->key = xstrdup(key);
	victim->seen = xcalloc(in->n + 1, sizeof(*in->seen));
	memcpy(victim->seen, in->seen, in->n * sizeof(*in->seen));
	victim->used = ++sh->memo_clock;
	pthread_mutex_unlock(&sh->terms_mu);
}

void plan_keyword_release(struct plan_shared *s)
{
	for (size_t i = 0; s->terms && i < TERM_SLOTS; i++)
		free(s->terms[i].phrase);
	free(s->terms);
	s->terms = NULL;
	s->nterms = 0;
	for (size_t i = 0; s->memo && i < KW_MEMO; i++) {
		free(s->memo[i].key);
		free(s->memo[i].seen);
	}
	free(s->memo);
	s->memo = NULL;
}

/* The R newest tiles holding phrase use[u] older than floor[u], with its
 * BM25 term: from the memo, or from FTS5 (then memoised). */
static enum kith_status window(struct kw *k, int u, struct plan_memo *w, char **why)
{
	struct plan_shared *sh = k->lv->shared;
	int phrase = k->use[u];
	struct kw_rank rank = { .nphrase = 1, .df = { k->df[phrase] } };
	char *key = sh ? memo_key(k, u) : NULL, *match;
	sqlite3_stmt *s;
	size_t cap = 0;
	int step = SQLITE_DONE;

	memset(w, 0, sizeof(*w));
	if (key && memo_get(sh, key, w)) {
		free(key);
		return KITH_OK;
	}
	if (!(s = plan_stmt(k->lv->conn, PLAN_SQL_FTS_SCAN))) {
		free(key);
		return him_db_fail(k->lv->db, "searching tile text", why);
	}
	match = xasprintf("\"%s\"", k->phrase[phrase]);
	sqlite3_bind_text(s, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_pointer(s, 2, &rank, KW_RANK_PTR, NULL);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)k->raw);
	sqlite3_bind_int64(s, 4, k->floor[u]);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		w->seen = xgrow(w->seen, &cap, w->n + 1, sizeof(*w->seen));
		w->seen[w->n++] = (struct kw_seen){ sqlite3_column_int64(s, 0),
						    sqlite3_column_double(s, 1) };
	}
	sqlite3_reset(s);
	free(match);
	if (step != SQLITE_DONE) {
		free(key);
		free(w->seen);
		w->seen = NULL;
		return him_db_fail(k->lv->db, "searching tile text", why);
	}
	w->exhausted = w->n < k->raw;
	w->nrow = rank.ready ? rank.nrow : 0;
	if (key)
		memo_put(sh, key, w);
	free(key);
	return KITH_OK;
}

static int hit_cmp_seq(const void *a, const void *b)
{
	int64_t x = ((const struct kw_hit *)a)->seq, y = ((const struct kw_hit *)b)->seq;

	return (x < y) - (x > y);     /* newest first */
}

static int hit_cmp_score(const void *a, const void *b)
{
	const struct kw_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->seq < y->seq) - (x->seq > y->seq);
}

/* One round: the next window of every phrase not done, merged into the
 * hits by tile (scores summed), best first.  *more: a window was read. */
static enum kith_status round_of_windows(struct kw *k, bool *more, char **why)
{
	size_t n = 0;

	*more = false;
	for (int u = 0; u < k->nuse; u++) {
		struct plan_memo w;
		enum kith_status st;

		if (k->done[u])
			continue;
		if ((st = window(k, u, &w, why)))
			return st;
		*more = true;
		k->taken[u] += w.n;
		k->exhausted[u] = w.exhausted;
		k->done[u] = w.exhausted || k->taken[u] >= KW_RAW_TOTAL;
		if (w.n)
			k->floor[u] = w.seen[w.n - 1].seq;
		if (w.nrow)
			k->nrow = w.nrow;
		k->hits = xgrow(k->hits, &k->cap, k->nhits + w.n + 1, sizeof(*k->hits));
		for (size_t i = 0; i < w.n; i++)
			k->hits[k->nhits++] = (struct kw_hit){ .seq = w.seen[i].seq,
							       .score = w.seen[i].term,
							       .in = 1u << u };
		free(w.seen);
	}
	if (!k->nhits)
		return KITH_OK;
	qsort(k->hits, k->nhits, sizeof(*k->hits), hit_cmp_seq);
	for (size_t i = 0; i < k->nhits; i++) {
		struct kw_hit *h = &k->hits[i];

		if (n && k->hits[n - 1].seq == h->seq) {
			k->hits[n - 1].score += h->score;
			k->hits[n - 1].in |= h->in;
			if (h->state) {            /* read in an earlier round */
				k->hits[n - 1].state = h->state;
				k->hits[n - 1].row = h->row;
			}
		} else {
			k->hits[n++] = *h;
		}
	}
	k->nhits = n;
	qsort(k->hits, k->nhits, sizeof(*k->hits), hit_cmp_score);
	return KITH_OK;
}

/* The relevance of the matches not retrieved (see the top). */
static double rest_mass(const struct kw *k, size_t probed, size_t in_scope, size_t found,
			double best)
{
	double n = (double)k->nrow, none = 1, est, mean = 0, weight = 0;
	bool all = true;

	if (n <= 0 || !probed || best <= 0)
		return 0;
	for (int u = 0; u < k->nuse; u++) {
		double df = (double)k->df[k->use[u]], sum = 0;
		size_t m = 0;

		all &= k->exhausted[u];
		none *= 1 - (df < n ? df / n : 1);
		for (size_t i = 0; i < k->nhits; i++)
			if (k->hits[i].in & (1u << u)) {
				sum += k->hits[i].score < best ? k->hits[i].score / best : 1;
				m++;
			}
		if (m) {
			mean += df * sum / (double)m;
			weight += df;
		}
	}
	mean = weight > 0 ? mean / weight : 0;
	/* every window complete: the union is known exactly */
	est = (all ? (double)k->nhits : n * (1 - none)) *
	      ((double)in_scope / (double)probed) - (double)found;
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
	bool complete;
	size_t want = 2 * (size_t)p->q->max_tiles, probed = 0, in_scope = 0;
	sqlite3_stmt *probe = NULL;
	double best = 0;
	bool more = true;
	enum kith_status st;

	*found = 0;
	want = want < KW_WANT_MIN ? KW_WANT_MIN : want > KW_WANT_MAX ? KW_WANT_MAX : want;
	k.raw = 8 * (size_t)p->q->max_tiles;
	k.raw = k.raw < KW_RAW_MIN ? KW_RAW_MIN : k.raw > KW_RAW_MAX ? KW_RAW_MAX : k.raw;
	for (int u = 0; u < KW_USE; u++)
		k.floor[u] = INT64_MAX;
	goal_phrases(&k, p->q->goal);
	if (!k.nphrase) {
		kw_release(&k);
		return KITH_OK;
	}
	st = statistics(&k, why);
	if (!st && k.nuse && !(probe = plan_scope_probe(lv->conn, p, PLAN_SQL_PROBE_SEQ)))
		st = him_db_fail(lv->db, "reading tiles", why);
	/* rounds of windows until `want` tiles in scope are read, best first */
	while (!st && k.nuse && more && in_scope < want && probed < KW_VISIT) {
		if ((st = round_of_windows(&k, &more, why)))
			break;
		for (size_t i = 0; i < k.nhits && in_scope < want && probed < KW_VISIT; i++) {
			struct kw_hit *h = &k.hits[i];
			int in;

			if (h->state)
				continue;
			probed++;
			sqlite3_bind_int64(probe, 6, h->seq);
			if ((in = plan_probe(probe, &h->row)) < 0) {
				st = him_db_fail(lv->db, "reading tiles", why);
				break;
			}
			h->state = in ? 1 : 2;
			in_scope += in;
		}
	}
	if (!st && k.nrow && lv->shared) {
		pthread_mutex_lock(&lv->shared->terms_mu);
		lv->shared->nrow = k.nrow;
		lv->shared->nrow_at = lv->max_seq;
		pthread_mutex_unlock(&lv->shared->terms_mu);
	}
	/* bm25 is unbounded and corpus-dependent: relative to the best in
	 * scope, so the best match scores 1 and every match is > 0 */
	for (size_t i = 0; !st && i < k.nhits; i++) {
		const struct kw_hit *h = &k.hits[i];

		if (h->state != 1)
			continue;
		if (!*found)
			best = h->score;
		plan_add(p, &h->row, PLAN_SRC_MATCH,
			 p->use_index ? -1
			 : best > 0 ? fmax(KW_REL_FLOOR, fmin(1, h->score / best)) : 1);
		++*found;
	}
	complete = probed == k.nhits;
	for (int u = 0; u < k.nuse; u++)
		complete &= k.exhausted[u];
	if (!st && *found && !p->use_index && !complete)
		p->rest_mass = rest_mass(&k, probed, in_scope, *found, best);
	kw_release(&k);
	return st;
}
