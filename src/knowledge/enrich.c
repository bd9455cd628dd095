/* enrich.c — the EnrichAgent: kith reads up on what the user cares about
 * (docs/knowledge.md, "Enrichment").
 *
 * One run is one web search about one entity: the eligible, non-vetoed
 * entity with the highest heat ÷ max(facts, 1) (the seed's interest ×
 * 1/fact_count; heat_enrich_priority), skipping entities enriched within
 * the per-entity cooldown and entities whose earlier facts the user has
 * not been told yet (no point piling up more).  Few facts → enrichment
 * ("tell me more about X, I already know …"); enough → briefing ("X latest
 * news YEAR").  The search is logged with trigger penny_enrichment and no
 * image; the extraction job reads it later in known-only mode, so this file
 * never calls a model itself.
 *
 * Runs are spaced by an exponential backoff (interval, ×2 per run, up to
 * the maximum) that starts over when the user writes: research follows
 * attention, and a user who went away stops costing searches. */
#include "knowledge/knowledge.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "tools/search.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TAG "enrich"

struct knowledge_enricher {
	struct knowledge_enrich_deps d;
	pthread_mutex_t mu;   /* guards anchor and delay */
	int64_t anchor;       /* last run or user activity; 0 = never */
	int64_t delay;
};

struct knowledge_enricher *knowledge_enricher_new(const struct knowledge_enrich_deps *deps)
{
	struct knowledge_enricher *ke = xcalloc(1, sizeof(*ke));

	ke->d = *deps;
	pthread_mutex_init(&ke->mu, NULL);
	return ke;
}

void knowledge_enricher_free(struct knowledge_enricher *ke)
{
	if (!ke)
		return;
	pthread_mutex_destroy(&ke->mu);
	free(ke);
}

static int64_t now_ms(const struct knowledge_enricher *ke)
{
	return ke->d.now_ms ? ke->d.now_ms(ke->d.now_ctx) : clock_now_ms();
}

void knowledge_enrich_user_active(struct knowledge_enricher *ke, int64_t at)
{
	pthread_mutex_lock(&ke->mu);
	if (at > ke->anchor) {
		ke->anchor = at;
		ke->delay = ke->d.np.enrich_interval_ms;
	}
	pthread_mutex_unlock(&ke->mu);
}

static bool backoff_passed(struct knowledge_enricher *ke, int64_t now)
{
	bool ok;

	pthread_mutex_lock(&ke->mu);
	ok = !ke->anchor || now - ke->anchor >= ke->delay;
	pthread_mutex_unlock(&ke->mu);
	return ok;
}

static void backoff_done(struct knowledge_enricher *ke, int64_t now)
{
	pthread_mutex_lock(&ke->mu);
	if (ke->delay < ke->d.np.enrich_interval_ms)
		ke->delay = ke->d.np.enrich_interval_ms;
	else if (ke->delay * 2 > ke->d.np.enrich_max_ms)
		ke->delay = ke->d.np.enrich_max_ms;
	else
		ke->delay *= 2;
	ke->anchor = now;
	pthread_mutex_unlock(&ke->mu);
}

char *knowledge_enrich_query(const char *name, const char *tagline, const char *const *facts,
			     size_t nfacts, size_t briefing_facts, int year)
{
	struct buf b = BUF_INIT(0);
	char *out;

	if (!nfacts) {
		(void)buf_printf(&b, "%s", name);
		if (tagline && *tagline)
			(void)buf_printf(&b, " (%s)", tagline);
	} else if (nfacts < briefing_facts) {
		(void)buf_printf(&b, "Tell me more about %s", name);
		if (tagline && *tagline)
			(void)buf_printf(&b, " (%s)", tagline);
		(void)buf_puts(&b, ". I already know:\n");
		for (size_t i = 0; i < nfacts; i++)
			(void)buf_printf(&b, "- %s\n", facts[i]);
		(void)buf_puts(&b, "\nWhat else is important to know?");
	} else {
		(void)buf_printf(&b, "%s", name);
		if (tagline && *tagline)
			(void)buf_printf(&b, " (%s)", tagline);
		(void)buf_printf(&b, " latest news updates %d", year);
	}
	out = xstrdup(buf_str(&b));
	buf_release(&b);
	return out;
}

/* The best candidate over every user; *found false when none. */
struct candidate {
	struct store_entity e;
	size_t facts;
	double priority;
};

static enum kith_status pick(struct knowledge_enricher *ke, int64_t now, struct candidate *best,
			     bool *found, char **why)
{
	char **users = NULL;
	size_t nu = 0;
	enum kith_status rc;

	*found = false;
	memset(best, 0, sizeof(*best));
	rc = store_knowledge_users(ke->d.st, &users, &nu, why);
	for (size_t u = 0; u < nu && !rc; u++) {
		struct store_entity *e = NULL;
		size_t n = 0;

		rc = store_entities_for_user(ke->d.st, users[u], 0, &e, &n, why);
		for (size_t i = 0; i < n && !rc; i++) {
			struct heat_entity h = {
				.heat = e[i].heat, .cooldown = e[i].heat_cooldown,
				.vetoed = e[i].vetoed,
			};
			size_t total = 0, untold = 0;
			double pr;

			heat_sanitize(&h);
			if (!heat_eligible(&h))
				continue;
			if (e[i].last_enriched_at &&
			    now - e[i].last_enriched_at < ke->d.np.enrich_cooldown_ms)
				continue;
			rc = store_entity_fact_counts(ke->d.st, e[i].id, &total, &untold, why);
			if (rc || untold)
				continue;
			pr = heat_enrich_priority(h.heat, total, &ke->d.params.heat);
			if (pr < 0 || (*found && pr <= best->priority))
				continue;
			if (*found)
				store_entity_release(&best->e);
			best->e = e[i];
			memset(&e[i], 0, sizeof(e[i]));
			best->facts = total;
			best->priority = pr;
			*found = true;
		}
		store_entities_free(e, n);
	}
	store_strings_free(users, nu);
	if (rc && *found) {
		store_entity_release(&best->e);
		*found = false;
	}
	return rc;
}

static bool can_search(struct knowledge_enricher *ke, int64_t now)
{
	if (!ke->d.search || !ke->d.search->perplexity_key || !*ke->d.search->perplexity_key)
		return false;
	return !ke->d.budget || sched_budget_allows(ke->d.budget, SCHED_SPEND_LLM, now, NULL);
}

bool knowledge_enrich_due(void *ctx, int64_t now)
{
	struct knowledge_enricher *ke = ctx;
	struct candidate c;
	bool found = false;
	char *why = NULL;

	(void)now;
	now = now_ms(ke);
	if (!can_search(ke, now) || !backoff_passed(ke, now))
		return false;
	if (pick(ke, now, &c, &found, &why)) {
		log_warn(TAG, "due check: %s", why ? why : "store error");
		free(why);
		return false;
	}
	if (found)
		store_entity_release(&c.e);
	return found;
}

static int year_of(int64_t ms)
{
	char iso[32];

	clock_format_utc(ms, iso, sizeof(iso));
	return (int)strtol(iso, NULL, 10);
}

enum sched_outcome knowledge_enrich_run(void *ctx, const struct cancel *cancel)
{
	struct knowledge_enricher *ke = ctx;
	struct candidate c;
	struct store_fact *f = NULL;
	struct search_opts o;
	struct search_result r;
	const char **texts = NULL;
	size_t nf = 0;
	bool found = false;
	char *why = NULL, *q = NULL;
	int64_t now = now_ms(ke);
	enum sched_outcome out = SCHED_NO_WORK;
	enum kith_status rc;

	if (!can_search(ke, now) || !backoff_passed(ke, now))
		return SCHED_NO_WORK;
	if (pick(ke, now, &c, &found, &why)) {
		log_warn(TAG, "%s", why ? why : "store error");
		free(why);
		return SCHED_FAILED;
	}
	if (!found)
		return SCHED_NO_WORK;
	if (store_facts_for_entity(ke->d.st, c.e.id, &f, &nf, &why)) {
		log_warn(TAG, "%s", why ? why : "store error");
		free(why);
		why = NULL;
		nf = 0;
	}
	texts = xcalloc(nf ? nf : 1, sizeof(*texts));
	for (size_t i = 0; i < nf; i++)
		texts[i] = f[i].content;
	q = knowledge_enrich_query(c.e.name, c.e.tagline, texts, nf, ke->d.np.briefing_facts,
				   year_of(now));
	o = *ke->d.search;
	o.skip_images = true;
	o.trigger = "penny_enrichment";
	o.author_id = c.e.user;
	o.store = ke->d.st;
	o.cancel = cancel;
	o.now_ms = now;
	rc = search_run(&o, q, &r, &why);
	if (cancel_requested(cancel)) {
		out = SCHED_CANCELLED;  /* retried later; the backoff is untouched */
	} else if (rc) {
		/* Unlike the reference, a failure also waits out the backoff:
		 * a dead search service must not be asked every tick. */
		log_warn(TAG, "search about %s failed: %s", c.e.name, why ? why : "error");
		backoff_done(ke, now);
		out = SCHED_FAILED;
	} else {
		char *w2 = NULL;

		if (store_entity_enriched(ke->d.st, c.e.id, now, &w2)) {
			log_warn(TAG, "stamping %s: %s", c.e.name, w2 ? w2 : "error");
			free(w2);
		}
		log_info(TAG, "%s search about %s (priority %.3f)",
			 nf < ke->d.np.briefing_facts ? "enrichment" : "briefing", c.e.name,
			 c.priority);
		backoff_done(ke, now);
		out = SCHED_DID_WORK;
	}
	search_result_release(&r);
	free(why);
	free(q);
	free(texts);
	store_facts_free(f, nf);
	store_entity_release(&c.e);
	return out;
}

void knowledge_enricher_set_params(struct knowledge_enricher *ke, const struct knowledge_params *p,
				   const struct knowledge_notify_params *np)
{
	pthread_mutex_lock(&ke->mu);
	ke->d.params = *p;
	ke->d.np = *np;
	pthread_mutex_unlock(&ke->mu);
}
