/* events.c — the EventAgent: followed topics become news events.
 *
 * One run polls one follow prompt — the one polled least recently, so
 * several prompts take turns (round-robin) — with one NewsAPI search for
 * its query terms over the dedup window.  Each article then passes three
 * dedup layers against the user's events of that window and the articles
 * accepted before it in the same answer: (1) the same URL, (2) the same
 * normalised headline (case and punctuation ignored), (3) a headline
 * embedding with cosine >= 0.90 (the seed's number).  What survives is
 * stored and linked to the user's entities: an entity whose name occurs in
 * the headline or the description as whole words, or, failing that, whose
 * name embedding is close to the headline's.
 *
 * Everything cancellable (the search, the embeddings) happens before the
 * one write transaction that holds the events, their links and the
 * prompt's polled mark, so a cancel leaves the store as it was and the
 * poll is redone later; redoing a poll cannot duplicate either (layer 1
 * and the store's unique (user, url) index).  No model is called: the
 * prompt's own query terms are searched, or its text when it has none. */
#include "knowledge/knowledge.h"

#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "llm/embed.h"
#include "store/store.h"
#include "tools/newsapi.h"

#include <ctype.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

#define TAG "events"
#define DAY_MS ((int64_t)86400 * 1000)

struct event_agent {
	struct event_deps d;
	struct event_run_stats last;
};

void event_params_default(struct event_params *p)
{
	memset(p, 0, sizeof(*p));
	p->poll_interval_s = 600.0;
	p->window_days = 7;
	p->dedup_cosine = 0.90;
	p->link_cosine = 0.60;
	p->max_per_poll = 5;
	p->page_size = NEWSAPI_PAGE_DEFAULT;
}

void event_params_from_config(struct event_params *p, const struct config *cfg)
{
	event_params_default(p);
	p->poll_interval_s = config_float(cfg, CFG_EVENT_POLL_INTERVAL_SECONDS);
	p->window_days = (int)config_int(cfg, CFG_EVENT_DEDUP_WINDOW_DAYS);
	p->dedup_cosine = config_float(cfg, CFG_EVENT_DEDUP_SIMILARITY_THRESHOLD);
	p->link_cosine = config_float(cfg, CFG_EVENT_ENTITY_LINK_THRESHOLD);
	p->max_per_poll = (size_t)config_int(cfg, CFG_EVENT_MAX_PER_POLL);
}

struct event_agent *event_agent_new(const struct event_deps *deps)
{
	struct event_agent *ea = xcalloc(1, sizeof(*ea));

	ea->d = *deps;
	return ea;
}

void event_agent_free(struct event_agent *ea)
{
	free(ea);
}

void event_agent_last_run(const struct event_agent *ea, struct event_run_stats *out)
{
	*out = ea->last;
}

static int64_t now_of(const struct event_agent *ea)
{
	return ea->d.now_ms ? ea->d.now_ms(ea->d.now_ctx) : clock_now_ms();
}

static int64_t interval_ms(const struct event_agent *ea)
{
	return (int64_t)(ea->d.params.poll_interval_s * 1000.0);
}

/* ---- pure helpers --------------------------------------------------------- */

char *event_headline_norm(const char *h)
{
	struct buf b;
	bool gap = false;
	char c;

	buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)(h ? h : ""); *p; p++) {
		if (isspace(*p)) {
			gap = b.len > 0;
			continue;
		}
		if (*p < 0x80 && !isalnum(*p))
			continue;
		if (gap)
			(void)buf_puts(&b, " ");
		gap = false;
		c = (char)(*p < 0x80 ? tolower(*p) : *p);
		(void)buf_append(&b, &c, 1);
	}
	return buf_detach(&b);
}

void event_terms_free(char **terms)
{
	for (size_t i = 0; terms && terms[i]; i++)
		free(terms[i]);
	free(terms);
}

char **event_parse_terms(const char *json, size_t n)
{
	json_t *j = json ? kjson_parse(json, n, NULL) : NULL, *v;
	char **out = NULL;
	size_t i, k = 0;

	if (!json_is_array(j)) {
		json_decref(j);
		return NULL;
	}
	out = xcalloc(EVENT_MAX_TERMS + 1, sizeof(*out));
	json_array_foreach(j, i, v) {
		const char *s = json_string_value(v);
		size_t len;

		if (k >= EVENT_MAX_TERMS)
			break;
		if (!s)
			continue;
		while (isspace((unsigned char)*s))
			s++;
		len = strlen(s);
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (!len || len > EVENT_TERM_MAX)
			continue;
		out[k++] = xstrndup(s, len);
	}
	json_decref(j);
	if (!k) {
		free(out);
		return NULL;
	}
	return out;
}

bool event_names_entity(const char *text, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || !text)
		return false;
	for (const char *p = text; *p; p++) {
		if (strncasecmp(p, name, n) != 0)
			continue;
		if ((p == text || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]))
			return true;
	}
	return false;
}

/* ---- the job -------------------------------------------------------------- */

bool event_agent_due(void *ctx, int64_t now_ms)
{
	struct event_agent *ea = ctx;
	char *why = NULL;
	size_t n = 0;

	if (!ea->d.news_key || !*ea->d.news_key)
		return false;
	if (store_follow_prompts_due_count(ea->d.st, now_ms - interval_ms(ea), &n, &why)) {
		log_warn(TAG, "%s", why);
		free(why);
		return false;
	}
	return n > 0;
}

/* Headline embeddings of every article into *vec (n * *dim floats, caller
 * frees).  No embedder, or one that fails: *vec = NULL and KITH_OK (layer
 * 3 and similarity links are skipped).  Only a cancel is an error. */
static enum kith_status embed_titles(struct event_agent *ea, const struct newsapi_result *r,
				     float **vec, size_t *dim, const struct cancel *cancel)
{
	const char **texts;
	char *why = NULL;
	enum kith_status rc = KITH_OK;
	int d;

	*vec = NULL;
	*dim = 0;
	if (!ea->d.emb || !r->n)
		return KITH_OK;
	d = embedder_dim(ea->d.emb);
	if (d <= 0 && embedder_probe(ea->d.emb, &why) == KITH_OK)
		d = embedder_dim(ea->d.emb);
	if (d > 0) {
		texts = xcalloc(r->n, sizeof(*texts));
		for (size_t i = 0; i < r->n; i++)
			texts[i] = r->v[i].title;
		*vec = xcalloc(r->n * (size_t)d, sizeof(**vec));
		rc = embedder_embed(ea->d.emb, texts, r->n, *vec, cancel, &why);
		free(texts);
		if (rc == KITH_OK) {
			*dim = (size_t)d;
			goto out;
		}
		free(*vec);
		*vec = NULL;
	}
	if (cancel_requested(cancel)) {
		rc = KITH_ECANCELED;
		goto out;
	}
	log_warn(TAG, "embedding headlines failed, dedup by URL and headline only: %s",
		 why ? why : "no dimension");
	rc = KITH_OK;
out:
	free(why);
	return rc;
}

/* An article that survived dedup, with the entities it will be linked to. */
struct keep {
	size_t article;
	int64_t *ents;
	size_t nents;
};

struct poll {
	struct event_agent *ea;
	const struct store_follow_prompt *fp;
	struct newsapi_result res;
	float *vec;                     /* headline embeddings, one per article */
	size_t dim;
	struct store_event *recent;
	size_t nrecent;
	char **recent_norm;
	struct store_entity *ents;
	size_t nents;
	struct keep *keep;
	size_t nkeep;
};

static const float *article_vec(const struct poll *p, size_t i)
{
	return p->vec ? p->vec + i * p->dim : NULL;
}

/* Which dedup layer (1–3) finds article i already known; 0 = new. */
static int duplicate(const struct poll *p, size_t i, const char *norm)
{
	const struct newsapi_article *a = &p->res.v[i];
	const float *v = article_vec(p, i);
	double thr = p->ea->d.params.dedup_cosine;
	char *kn;
	bool same;

	for (size_t k = 0; k < p->nrecent; k++)
		if (p->recent[k].url && strcmp(p->recent[k].url, a->url) == 0)
			return 1;
	for (size_t k = 0; k < p->nkeep; k++)
		if (strcmp(p->res.v[p->keep[k].article].url, a->url) == 0)
			return 1;
	for (size_t k = 0; *norm && k < p->nrecent; k++)
		if (strcmp(p->recent_norm[k], norm) == 0)
			return 2;
	for (size_t k = 0; *norm && k < p->nkeep; k++) {
		kn = event_headline_norm(p->res.v[p->keep[k].article].title);
		same = strcmp(kn, norm) == 0;
		free(kn);
		if (same)
			return 2;
	}
	if (!v)
		return 0;
	for (size_t k = 0; k < p->nrecent; k++)
		if (p->recent[k].embedding && p->recent[k].dim == p->dim &&
		    knowledge_cosine(v, p->recent[k].embedding, p->dim) >= thr)
			return 3;
	for (size_t k = 0; k < p->nkeep; k++)
		if (knowledge_cosine(v, article_vec(p, p->keep[k].article), p->dim) >= thr)
			return 3;
	return 0;
}

/* The user's entities article i is about: named in it, or (when nothing
 * is named) close by embedding. */
static void link_entities(struct poll *p, struct keep *kp)
{
	const struct newsapi_article *a = &p->res.v[kp->article];
	const float *v = article_vec(p, kp->article);
	size_t cap = 0;

	for (size_t e = 0; e < p->nents; e++) {
		const struct store_entity *en = &p->ents[e];
		bool hit = !en->vetoed && (event_names_entity(a->title, en->name) ||
					   event_names_entity(a->description, en->name));

		if (!hit && !en->vetoed && v && en->embedding && en->dim == p->dim)
			hit = knowledge_cosine(v, en->embedding, p->dim) >=
			      p->ea->d.params.link_cosine;
		if (!hit)
			continue;
		kp->ents = xgrow(kp->ents, &cap, kp->nents + 1, sizeof(*kp->ents));
		kp->ents[kp->nents++] = en->id;
	}
}

/* The write: events, links, polled mark, all or nothing. */
static enum kith_status store_poll(struct poll *p, int64_t now, char **why)
{
	struct store *st = p->ea->d.st;
	struct event_run_stats *s = &p->ea->last;
	enum kith_status rc;

	rc = store_knowledge_begin(st, why);
	if (rc)
		return rc;
	for (size_t k = 0; k < p->nkeep && !rc; k++) {
		const struct newsapi_article *a = &p->res.v[p->keep[k].article];
		struct store_event_new en = {
			.user = p->fp->user, .follow_prompt_id = p->fp->id,
			.headline = a->title, .summary = a->description, .url = a->url,
			.published_at = a->published_at ? a->published_at : now,
			.embedding = article_vec(p, p->keep[k].article), .dim = p->dim,
		};
		int64_t id = 0;

		rc = store_event_add(st, &en, &id, why);
		if (rc == KITH_EEXIST) {   /* stored by an earlier, interrupted run */
			free(*why);
			*why = NULL;
			rc = KITH_OK;
			continue;
		}
		s->created += !rc;
		for (size_t e = 0; !rc && e < p->keep[k].nents; e++) {
			rc = store_event_link_entity(st, id, p->keep[k].ents[e], why);
			s->links += !rc;
		}
	}
	if (!rc)
		rc = store_follow_prompt_polled(st, p->fp->id, now, why);
	rc = store_knowledge_end(st, rc, why);
	if (rc)
		s->created = s->links = 0;
	return rc;
}

static void poll_release(struct poll *p)
{
	newsapi_result_release(&p->res);
	free(p->vec);
	store_events_free(p->recent, p->nrecent);
	for (size_t k = 0; p->recent_norm && k < p->nrecent; k++)
		free(p->recent_norm[k]);
	free(p->recent_norm);
	store_entities_free(p->ents, p->nents);
	for (size_t k = 0; k < p->nkeep; k++)
		free(p->keep[k].ents);
	free(p->keep);
}

static enum sched_outcome poll_prompt(struct event_agent *ea, const struct store_follow_prompt *fp,
				      int64_t now, const struct cancel *cancel)
{
	struct poll p = { .ea = ea, .fp = fp };
	struct newsapi_query q = { 0 };
	struct event_run_stats *s = &ea->last;
	const char *one[2] = { fp->prompt, NULL };
	char **terms = event_parse_terms(fp->query_terms, fp->query_terms ? strlen(fp->query_terms) : 0);
	int64_t since = now - (int64_t)ea->d.params.window_days * DAY_MS;
	size_t kcap = 0, limit = ea->d.params.max_per_poll ? ea->d.params.max_per_poll : 5;
	enum sched_outcome out = SCHED_DID_WORK;
	enum kith_status rc;
	char *why = NULL;

	s->prompt_id = fp->id;
	q.base_url = ea->d.news_url;
	q.key = ea->d.news_key;
	q.terms = terms ? (const char *const *)terms : one;
	q.from_ms = since;
	q.page_size = ea->d.params.page_size;
	q.timeout_ms = ea->d.news_timeout_ms;
	q.attempts = ea->d.news_attempts;
	q.cancel = cancel;
	rc = newsapi_search(&q, &p.res, &why);
	if (rc == KITH_ECANCELED || cancel_requested(cancel)) {
		out = SCHED_CANCELLED;
		goto out;
	}
	if (rc) {
		/* Marked polled anyway: a bad key or a spent allowance is asked
		 * again after the interval, not on every tick. */
		log_warn(TAG, "follow prompt %lld: %s", (long long)fp->id, why);
		free(why);
		why = NULL;
		if (store_follow_prompt_polled(ea->d.st, fp->id, now, &why)) {
			log_warn(TAG, "%s", why);
		}
		out = SCHED_FAILED;
		goto out;
	}
	s->articles = p.res.n;
	if (embed_titles(ea, &p.res, &p.vec, &p.dim, cancel) == KITH_ECANCELED) {
		out = SCHED_CANCELLED;
		goto out;
	}
	rc = store_events_recent(ea->d.st, fp->user, since, &p.recent, &p.nrecent, &why);
	if (!rc)
		rc = store_entities_for_user(ea->d.st, fp->user, 0, &p.ents, &p.nents, &why);
	if (rc) {
		log_warn(TAG, "%s", why);
		out = SCHED_FAILED;
		goto out;
	}
	p.recent_norm = xcalloc(p.nrecent + 1, sizeof(*p.recent_norm));
	for (size_t k = 0; k < p.nrecent; k++)
		p.recent_norm[k] = event_headline_norm(p.recent[k].headline);
	for (size_t i = 0; i < p.res.n && p.nkeep < limit; i++) {
		char *norm = event_headline_norm(p.res.v[i].title);
		int layer = duplicate(&p, i, norm);

		free(norm);
		if (layer == 1)
			s->dup_url++;
		else if (layer == 2)
			s->dup_headline++;
		else if (layer == 3)
			s->dup_embedding++;
		if (layer)
			continue;
		p.keep = xgrow(p.keep, &kcap, p.nkeep + 1, sizeof(*p.keep));
		p.keep[p.nkeep] = (struct keep){ .article = i };
		link_entities(&p, &p.keep[p.nkeep]);
		p.nkeep++;
	}
	if (cancel_requested(cancel)) {   /* last chance: nothing written yet */
		out = SCHED_CANCELLED;
		goto out;
	}
	if (store_poll(&p, now, &why)) {
		log_warn(TAG, "%s", why);
		out = SCHED_FAILED;
		goto out;
	}
	log_info(TAG, "follow prompt %lld: %zu article%s, %zu new event%s, %zu duplicate%s, %zu link%s",
		 (long long)fp->id, s->articles, s->articles == 1 ? "" : "s", s->created,
		 s->created == 1 ? "" : "s", s->dup_url + s->dup_headline + s->dup_embedding,
		 s->dup_url + s->dup_headline + s->dup_embedding == 1 ? "" : "s", s->links,
		 s->links == 1 ? "" : "s");
out:
	free(why);
	event_terms_free(terms);
	poll_release(&p);
	return out;
}

enum sched_outcome event_agent_run(void *ctx, const struct cancel *cancel)
{
	struct event_agent *ea = ctx;
	struct store_follow_prompt *fp = NULL;
	const struct store_follow_prompt *pick = NULL;
	size_t n = 0;
	char *why = NULL;
	int64_t now = now_of(ea);
	enum sched_outcome out;

	memset(&ea->last, 0, sizeof(ea->last));
	if (!ea->d.news_key || !*ea->d.news_key)
		return SCHED_NO_WORK;
	if (cancel_requested(cancel))
		return SCHED_CANCELLED;
	if (store_follow_prompts_by_poll(ea->d.st, NULL, &fp, &n, &why)) {
		log_warn(TAG, "%s", why);
		free(why);
		return SCHED_FAILED;
	}
	/* Never polled first, then least recently polled: the first due one
	 * is the next in the round. */
	for (size_t i = 0; i < n && !pick; i++)
		if (!fp[i].last_polled_at || fp[i].last_polled_at <= now - interval_ms(ea))
			pick = &fp[i];
	out = pick ? poll_prompt(ea, pick, now, cancel) : SCHED_NO_WORK;
	store_follow_prompts_free(fp, n);
	return out;
}

void event_agent_set_params(struct event_agent *ea, const struct event_params *p)
{
	ea->d.params = *p;
}
