/* locomo_run.c — running LoCoMo's questions through kith's memory.
 *
 * Each conversation gets a database and a HIM store of its own in a fresh
 * temporary directory (removed afterwards), so conversations never see
 * each other and the run leaves nothing behind.  A turn becomes a memory
 * of its speaker, dated by its session, with the dia_id as its source and
 * its neighbouring turns as context; questions are recalled with relevance
 * only (no recency: every turn is "old") and scored on the dia_ids of the
 * top hits. */
#include "memory/locomo.h"
#include "memory/memory.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "store/store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCOPE "locomo"
#define SETTLE_MS 120000
#define CONTEXT_TURNS 2u        /* turns either side given as context */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The neighbouring turns (same session) of turn i, "speaker: text" each. */
static char *context_of(const struct locomo_conv *c, size_t i)
{
	struct buf b;
	size_t lo = i >= CONTEXT_TURNS ? i - CONTEXT_TURNS : 0;

	buf_init(&b, 1 << 20);
	for (size_t j = lo; j <= i + CONTEXT_TURNS && j < c->nturns; j++) {
		if (j == i || c->turns[j].session != c->turns[i].session)
			continue;
		if (buf_printf(&b, "%s%s: %s", b.len ? "\n" : "", c->turns[j].speaker,
			       c->turns[j].text) != KITH_OK)
			break;
	}
	if (b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static enum kith_status store_turns(struct memory *m, struct store *st,
				    const struct locomo_conv *c, char **why)
{
	struct memory_new *in = xcalloc(c->nturns ? c->nturns : 1, sizeof(*in));
	char **ctx = xcalloc(c->nturns ? c->nturns : 1, sizeof(*ctx));
	enum kith_status rc;

	for (size_t i = 0; i < c->nturns; i++) {
		const struct locomo_turn *t = &c->turns[i];

		ctx[i] = context_of(c, i);
		in[i] = (struct memory_new){
			.scope = SCOPE, .speaker = t->speaker, .text = t->text, .salience = 0.5,
			/* a fixed date when the session has none: 2000-01-01 */
			.created_at = t->at_ms ? t->at_ms : 946684800000LL,
			.source = t->dia_id, .context = ctx[i],
		};
	}
	rc = memory_add(m, st, in, c->nturns, NULL, NULL, why);
	for (size_t i = 0; i < c->nturns; i++)
		free(ctx[i]);
	free(ctx);
	free(in);
	return rc;
}

static enum kith_status ask_all(struct memory *m, struct store *st, const struct locomo_conv *c,
				const struct locomo_run_options *o, struct locomo_score *score,
				char **why)
{
	int kmax = 1;

	for (size_t i = 0; i < score->nk; i++)
		if (score->ks[i] > kmax)
			kmax = score->ks[i];
	for (size_t i = 0; i < c->nqs; i++) {
		const struct locomo_question *q = &c->qs[i];
		struct memory_query mq = { .scope = SCOPE, .text = q->question,
					   .limit = (size_t)kmax, .no_recency = true };
		struct memory_hit *hits = NULL;
		size_t n = 0;
		const char **ids;
		enum kith_status rc;

		if (o->category && q->category != o->category)
			continue;
		rc = memory_recall(m, st, &mq, &hits, &n, why);
		if (rc)
			return rc;
		ids = xcalloc(n ? n : 1, sizeof(*ids));
		for (size_t j = 0; j < n; j++)
			ids[j] = hits[j].source;
		locomo_score_add(score, q, ids, n);
		free(ids);
		memory_hits_free(hits, n);
	}
	return KITH_OK;
}

static enum kith_status run_conv(const struct locomo_conv *c, const struct locomo_run_options *o,
				 struct locomo_score *score, char **why)
{
	const char *tmp = o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
	char *dir = xasprintf("%s/kith-locomo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *db = NULL, *him = NULL;
	struct store *st = NULL;
	struct memory *m = NULL;
	struct memory_options mo = { 0 };
	enum kith_status rc;

	if (!mkdtemp(dir)) {
		rc = kith_why(why, KITH_EIO, "cannot create a temporary directory under %s",
			      tmp && *tmp ? tmp : "/tmp");
		free(dir);
		return rc;
	}
	db = xasprintf("%s/kith.db", dir);
	him = xasprintf("%s/him", dir);
	rc = store_open(db, &st, why);
	if (!rc)
		rc = store_migrate(st, NULL, why);
	if (rc)
		goto out;
	mo.him_dir = him;
	mo.embedder = o->embedder;
	rc = memory_open(&mo, &m, why);
	if (!rc)
		rc = store_turns(m, st, c, why);
	if (rc)
		goto out;
	if (!memory_settle(m, st, SETTLE_MS)) {
		rc = kith_why(why, KITH_ETIMEDOUT, "conversation %s: the memories were not all "
			      "embedded (is the embedding model reachable?)", c->id);
		goto out;
	}
	rc = ask_all(m, st, c, o, score, why);
out:
	memory_close(m);
	store_close(st);
	remove_tree(dir);
	free(db);
	free(him);
	free(dir);
	return rc;
}

enum kith_status locomo_run(const struct locomo *l, const struct locomo_run_options *o,
			    struct locomo_score *score, char **why)
{
	enum kith_status rc = KITH_OK;

	if (!o->embedder)
		return kith_why(why, KITH_EINVAL, "locomo_run needs an embedder");
	for (size_t i = 0; i < l->n && !rc; i++) {
		if (o->progress)
			o->progress(l->convs[i].id, i, l->n, o->ud);
		rc = run_conv(&l->convs[i], o, score, why);
	}
	return rc;
}
