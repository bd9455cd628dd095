/* notify.c — the NotificationAgent: kith speaks first, rarely and to the
 * point (docs/knowledge.md, "Notifications").
 *
 * One run sends at most one message, chosen in the seed's order: a /learn
 * topic whose searches are all extracted (announced at once: the user asked
 * for it), then — only once the user's backoff has passed — unnotified
 * news events, then the hottest eligible entity's untold facts.  Backoff is
 * per user and exponential (initial × factor per unanswered message, up to
 * the maximum) and starts over when the user writes.
 *
 * Cost control is the design choice: the due check is counting queries
 * plus the in-memory backoff, so a system with nothing to say never asks
 * the model; and a backoff-passing attempt that finds nothing eligible
 * still spends one backoff window, so the heat cycle (decay ×0.85,
 * radiation, cooldown count-down) runs at most once per initial backoff
 * rather than every scheduler tick — the reference's 43-second half-life
 * bug.  The message is sent first and then recorded (facts notified,
 * cooldown started, entity stamped) in one transaction: a crash between the
 * two may repeat a message, never lose a fact.  A muted person (/mute) is
 * skipped by both the due check and the run, before any model call, and
 * nothing of theirs is marked: /unmute finds it all still untold. */
#include "knowledge/knowledge.h"

#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "llm/llm.h"
#include "store/store.h"
#include "tools/search.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define TAG "notify"

/* Per-user backoff and the last fact notification (in memory, as the
 * reference keeps it: a restart simply lets one message through). */
struct user_state {
	char *user;
	int64_t anchor;      /* last send, attempt or user activity; 0 = never */
	int64_t delay;       /* wait after anchor */
	bool fresh;          /* next send starts the sequence at initial */
	int64_t last_entity; /* entity of the last fact notification, 0 = none */
	int64_t last_sent;   /* when */
	int64_t last_active; /* latest user activity */
};

struct knowledge_notifier {
	struct knowledge_notify_deps d;
	pthread_mutex_t mu;  /* guards users (user_active comes from other threads) */
	struct user_state *users;
	size_t nusers, cap;
};

void knowledge_notify_params_default(struct knowledge_notify_params *p)
{
	memset(p, 0, sizeof(*p));
	p->backoff_initial_ms = 300 * 1000;
	p->backoff_factor = 2.0;
	p->backoff_max_ms = 3600 * 1000;
	p->max_facts = 5;
	p->max_events = 5;
	p->enrich_interval_ms = 900 * 1000;
	p->enrich_max_ms = 86400 * 1000;
	p->enrich_cooldown_ms = (int64_t)604800 * 1000;
	p->briefing_facts = 5;
}

void knowledge_notify_params_from_config(struct knowledge_notify_params *p,
					 const struct config *cfg)
{
	knowledge_notify_params_default(p);
	p->backoff_initial_ms = (int64_t)(config_float(cfg, CFG_NOTIFICATION_INITIAL_BACKOFF) * 1000);
	p->backoff_factor = config_float(cfg, CFG_NOTIFICATION_BACKOFF_FACTOR);
	p->backoff_max_ms = (int64_t)(config_float(cfg, CFG_NOTIFICATION_MAX_BACKOFF) * 1000);
	p->max_facts = (size_t)config_int(cfg, CFG_NOTIFICATION_MAX_FACTS);
	p->enrich_interval_ms = (int64_t)(config_float(cfg, CFG_ENRICHMENT_INTERVAL) * 1000);
	p->enrich_max_ms = (int64_t)(config_float(cfg, CFG_ENRICHMENT_MAX_BACKOFF) * 1000);
	p->enrich_cooldown_ms = (int64_t)(config_float(cfg, CFG_ENRICHMENT_ENTITY_COOLDOWN) * 1000);
	p->briefing_facts = (size_t)config_int(cfg, CFG_LEARN_ENRICHMENT_FACT_THRESHOLD);
}

struct knowledge_notifier *knowledge_notifier_new(const struct knowledge_notify_deps *deps)
{
	struct knowledge_notifier *kn = xcalloc(1, sizeof(*kn));

	kn->d = *deps;
	pthread_mutex_init(&kn->mu, NULL);
	return kn;
}

void knowledge_notifier_free(struct knowledge_notifier *kn)
{
	if (!kn)
		return;
	for (size_t i = 0; i < kn->nusers; i++)
		free(kn->users[i].user);
	free(kn->users);
	pthread_mutex_destroy(&kn->mu);
	free(kn);
}

static int64_t now_ms(const struct knowledge_notifier *kn)
{
	return kn->d.now_ms ? kn->d.now_ms(kn->d.now_ctx) : clock_now_ms();
}

/* Caller holds mu.  Creates the state on first sight. */
static struct user_state *user_state(struct knowledge_notifier *kn, const char *user)
{
	struct user_state *u;

	for (size_t i = 0; i < kn->nusers; i++)
		if (strcmp(kn->users[i].user, user) == 0)
			return &kn->users[i];
	kn->users = xgrow(kn->users, &kn->cap, kn->nusers + 1, sizeof(*kn->users));
	u = &kn->users[kn->nusers++];
	memset(u, 0, sizeof(*u));
	u->user = xstrdup(user);
	u->fresh = true;
	return u;
}

void knowledge_notify_user_active(struct knowledge_notifier *kn, const char *user, int64_t at)
{
	struct user_state *u;

	pthread_mutex_lock(&kn->mu);
	u = user_state(kn, user);
	if (at > u->last_active)
		u->last_active = at;
	/* The reference's reset: the clock restarts at the interaction and the
	 * next message waits one initial backoff after it. */
	if (at > u->anchor) {
		u->anchor = at;
		u->delay = kn->d.np.backoff_initial_ms;
		u->fresh = true;
	}
	pthread_mutex_unlock(&kn->mu);
}

static bool backoff_passed(struct knowledge_notifier *kn, const char *user, int64_t now)
{
	struct user_state *u;
	bool ok;

	pthread_mutex_lock(&kn->mu);
	u = user_state(kn, user);
	ok = !u->anchor || now - u->anchor >= u->delay;
	pthread_mutex_unlock(&kn->mu);
	return ok;
}

/* An attempt passed backoff but sent nothing: hold the next one back by
 * one initial backoff (the heat cycle must not run every tick), without
 * growing the sequence. */
static void backoff_attempted(struct knowledge_notifier *kn, const char *user, int64_t now)
{
	struct user_state *u;

	pthread_mutex_lock(&kn->mu);
	u = user_state(kn, user);
	u->anchor = now;
	if (u->delay < kn->d.np.backoff_initial_ms)
		u->delay = kn->d.np.backoff_initial_ms;
	pthread_mutex_unlock(&kn->mu);
}

/* A message went out: initial after a reset, else × factor up to max. */
static void backoff_sent(struct knowledge_notifier *kn, const char *user, int64_t now,
			 int64_t entity_id)
{
	const struct knowledge_notify_params *np = &kn->d.np;
	struct user_state *u;

	pthread_mutex_lock(&kn->mu);
	u = user_state(kn, user);
	if (u->fresh || u->delay <= 0) {
		u->delay = np->backoff_initial_ms;
	} else {
		double next = (double)u->delay * np->backoff_factor;

		u->delay = next > (double)np->backoff_max_ms ? np->backoff_max_ms : (int64_t)next;
	}
	u->fresh = false;
	u->anchor = now;
	if (entity_id) {
		u->last_entity = entity_id;
		u->last_sent = now;
	}
	pthread_mutex_unlock(&kn->mu);
}

/* ---- budget --------------------------------------------------------------- */

static bool budget_allows(struct knowledge_notifier *kn, int64_t now)
{
	const char *why_not = NULL;

	if (!kn->d.budget)
		return true;
	if (sched_budget_allows(kn->d.budget, SCHED_SPEND_LLM | SCHED_SPEND_MESSAGE, now, &why_not))
		return true;
	log_debug(TAG, "holding back: %s", why_not ? why_not : "budget");
	return false;
}

/* ---- due ------------------------------------------------------------------ */

bool knowledge_notify_due(void *ctx, int64_t now)
{
	struct knowledge_notifier *kn = ctx;
	char **users = NULL;
	size_t n = 0;
	char *why = NULL;
	bool due = false;

	if (!kn->d.send || !budget_allows(kn, now))
		return false;
	if (store_knowledge_users(kn->d.st, &users, &n, &why)) {
		log_warn(TAG, "due check: %s", why ? why : "store error");
		free(why);
		return false;
	}
	for (size_t i = 0; i < n && !due; i++) {
		struct store_notify_pending p;

		if (store_user_muted(kn->d.st, users[i]))
			continue;
		if (store_knowledge_notify_pending(kn->d.st, users[i], &p, &why)) {
			log_warn(TAG, "due check: %s", why ? why : "store error");
			free(why);
			why = NULL;
			continue;
		}
		if (p.learn_ready)
			due = true;
		else if ((p.events || p.entities) && backoff_passed(kn, users[i], now))
			due = true;  /* a cooling entity counts: only a cycle ends its cooldown */
	}
	store_strings_free(users, n);
	return due;
}

/* ---- composing ------------------------------------------------------------ */

static const char notify_system[] =
	"You are kith, writing one short unprompted message to your user about something they "
	"care about. Use only the facts given; do not invent anything. Be warm and plain, two to "
	"four sentences, no greeting formula, no list unless the facts are a list, no questions "
	"about whether they want more. Write the message only.";

/* Ask the main model; NULL when it failed or said nothing (the caller then
 * uses fixed text).  *cancelled when the cancel token stopped it. */
static char *compose(struct knowledge_notifier *kn, const char *prompt,
		     const struct cancel *cancel, bool *cancelled)
{
	struct llm_msg msgs[2];
	struct llm_request req = {
		.role = LLM_ROLE_MAIN, .msgs = msgs, .nmsgs = 2, .cancel = cancel,
		.temperature = -1,
	};
	struct llm_response r;
	char *why = NULL, *out = NULL;
	enum kith_status rc;

	*cancelled = false;
	if (!kn->d.llm)
		return NULL;
	if (kn->d.budget && !sched_budget_take(kn->d.budget, SCHED_SPEND_LLM, now_ms(kn)))
		return NULL;
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, notify_system);
	llm_msg_init(&msgs[1], LLM_MSG_USER, prompt);
	rc = llm_chat(kn->d.llm, &req, &r, &why);
	if (rc == KITH_OK) {
		const char *c = r.content;
		size_t len;

		while (*c == ' ' || *c == '\n' || *c == '\t' || *c == '\r')
			c++;
		len = strlen(c);
		while (len && (c[len - 1] == ' ' || c[len - 1] == '\n' || c[len - 1] == '\r' ||
			       c[len - 1] == '\t'))
			len--;
		if (len)
			out = xstrndup(c, len);
	} else if (cancel_requested(cancel)) {
		*cancelled = true;
	} else {
		log_warn(TAG, "model failed, sending fixed text: %s", why ? why : "error");
	}
	llm_response_release(&r);  /* filled on failure too */
	free(why);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	return out;
}

/* Send with an optional picture; true when delivered. */
static bool deliver(struct knowledge_notifier *kn, const char *user, const char *text,
		    const char *image_query)
{
	struct search_image img;
	bool have = false;
	int r;

	if (kn->d.budget && !sched_budget_take(kn->d.budget, SCHED_SPEND_MESSAGE, now_ms(kn)))
		return false;
	memset(&img, 0, sizeof(img));
	if (kn->d.image && image_query && kn->d.image(image_query, &img, kn->d.ud) == 0 && img.data)
		have = true;
	r = kn->d.send(user, text, have ? &img : NULL, kn->d.ud);
	free(img.data);
	free(img.mime);
	free(img.url);
	if (r)
		log_warn(TAG, "delivery to %s failed", user);
	return r == 0;
}

/* ---- learn completions ---------------------------------------------------- */

static enum sched_outcome try_learn(struct knowledge_notifier *kn, const char *user,
				    const struct cancel *cancel, bool *sent)
{
	struct store_learn_prompt *lp = NULL;
	size_t nlp = 0;
	char *why = NULL;
	enum sched_outcome out = SCHED_NO_WORK;

	*sent = false;
	if (store_learn_prompts_list(kn->d.st, user, "completed", &lp, &nlp, &why)) {
		log_warn(TAG, "learn prompts: %s", why ? why : "store error");
		free(why);
		return SCHED_FAILED;
	}
	for (size_t i = 0; i < nlp && !*sent && out == SCHED_NO_WORK; i++) {
		struct store_fact *f = NULL;
		size_t logs = 0, pending = 0, nf = 0;
		struct buf b = BUF_INIT(0);
		char *text = NULL;
		int64_t *ids = NULL, now;
		size_t nids = 0;
		bool cancelled = false;
		enum kith_status rc;

		if (lp[i].announced_at)
			continue;
		if (store_learn_prompt_progress(kn->d.st, lp[i].id, &logs, &pending, &why))
			goto fail;
		if (pending)
			continue;
		if (!logs) {  /* nothing was searched: nothing to announce */
			if (store_learn_prompt_announced(kn->d.st, lp[i].id, now_ms(kn), &why))
				goto fail;
			continue;
		}
		if (store_learn_prompt_facts(kn->d.st, lp[i].id, &f, &nf, &why))
			goto fail;
		if (!nf) {
			(void)buf_printf(&b, "I finished learning about **%s**\n\nI didn't find any"
					     " specific topics to track from that.", lp[i].prompt);
			text = xstrdup(buf_str(&b));
		} else {
			int64_t last = 0;

			(void)buf_printf(&b, "The user asked you to learn about \"%s\" and you have"
					     " finished. Tell them briefly what you found.\n\n"
					     "Entities and facts discovered:\n", lp[i].prompt);
			for (size_t k = 0; k < nf; k++) {
				if (f[k].entity_id != last) {
					struct store_entity e;

					last = f[k].entity_id;
					if (store_entity_get(kn->d.st, last, &e, NULL) == KITH_OK) {
						(void)buf_printf(&b, "\n%s:\n", e.name);
						store_entity_release(&e);
					}
				}
				(void)buf_printf(&b, "- %s\n", f[k].content);
			}
			text = compose(kn, buf_str(&b), cancel, &cancelled);
			if (cancelled) {
				out = SCHED_CANCELLED;
				goto next;
			}
			if (!text) {
				buf_reset(&b);
				(void)buf_printf(&b, "I finished learning about **%s**: I found %zu"
						     " facts worth keeping.", lp[i].prompt, nf);
				text = xstrdup(buf_str(&b));
			}
		}
		if (!deliver(kn, user, text, lp[i].prompt)) {
			out = SCHED_FAILED;
			goto next;
		}
		*sent = true;
		out = SCHED_DID_WORK;
		now = now_ms(kn);
		ids = xcalloc(nf ? nf : 1, sizeof(*ids));
		for (size_t k = 0; k < nf; k++)
			if (!f[k].notified_at)
				ids[nids++] = f[k].id;
		rc = store_knowledge_begin(kn->d.st, &why);
		if (!rc && nids)
			rc = store_facts_mark_notified(kn->d.st, ids, nids, now, &why);
		if (!rc)
			rc = store_learn_prompt_announced(kn->d.st, lp[i].id, now, &why);
		rc = store_knowledge_end(kn->d.st, rc, &why);
		if (rc)
			log_warn(TAG, "recording a learn announcement: %s", why ? why : "error");
		free(why);
		why = NULL;
next:
		free(ids);
		free(text);
		buf_release(&b);
		store_facts_free(f, nf);
		continue;
fail:
		log_warn(TAG, "learn completion: %s", why ? why : "store error");
		free(why);
		why = NULL;
		buf_release(&b);
		store_facts_free(f, nf);
		out = SCHED_FAILED;
	}
	store_learn_prompts_free(lp, nlp);
	return out;
}

/* ---- heat ----------------------------------------------------------------- */

struct sim_ctx {
	const struct store_entity *e;
};

static double entity_sim(void *ctx, size_t a, size_t b)
{
	const struct sim_ctx *s = ctx;
	const struct store_entity *x = &s->e[a], *y = &s->e[b];

	if (!x->embedding || !y->embedding || x->dim != y->dim)
		return NAN;
	return knowledge_cosine(x->embedding, y->embedding, x->dim);
}

/* The ignore penalty for the previous notification, then one heat cycle
 * over the user's entities, written back in one transaction. */
static enum kith_status heat_step(struct knowledge_notifier *kn, const char *user, char **why)
{
	const struct heat_params *hp = &kn->d.params.heat;
	struct store_entity *e = NULL;
	struct heat_entity *h = NULL;
	struct sim_ctx sc;
	int64_t ignored = 0, since = 0;
	size_t n = 0;
	enum kith_status rc;

	pthread_mutex_lock(&kn->mu);
	{
		struct user_state *u = user_state(kn, user);

		/* Unanswered: no user activity and no engagement with the entity
		 * since it was sent.  Applied once, then forgotten (the reference
		 * repeats it every attempt until the next notification, which
		 * punishes one ignored message many times). */
		if (u->last_entity && u->last_active <= u->last_sent) {
			ignored = u->last_entity;
			since = u->last_sent;
		}
		u->last_entity = 0;
	}
	pthread_mutex_unlock(&kn->mu);

	rc = store_entities_for_user(kn->d.st, user, 0, &e, &n, why);
	if (rc)
		return rc;
	if (ignored) {
		size_t eng = 0;

		rc = store_engagements_since(kn->d.st, ignored, since, &eng, why);
		if (rc)
			goto out;
		if (eng)
			ignored = 0;
	}
	h = xcalloc(n ? n : 1, sizeof(*h));
	for (size_t i = 0; i < n; i++) {
		h[i].heat = e[i].heat;
		h[i].cooldown = e[i].heat_cooldown;
		h[i].vetoed = e[i].vetoed;
		heat_sanitize(&h[i]);
		if (ignored && e[i].id == ignored) {
			heat_penalize_ignore(&h[i], hp);
			log_info(TAG, "%s ignored the message about %s: heat %.3f", user, e[i].name,
				 h[i].heat);
		}
	}
	sc.e = e;
	heat_cycle(h, n, entity_sim, &sc, hp);
	rc = store_knowledge_begin(kn->d.st, why);
	for (size_t i = 0; i < n && !rc; i++)
		if (h[i].heat != e[i].heat || h[i].cooldown != e[i].heat_cooldown)
			rc = store_entity_set_heat(kn->d.st, e[i].id, h[i].heat, h[i].cooldown,
						   h[i].vetoed, why);
	rc = store_knowledge_end(kn->d.st, rc, why);
out:
	free(h);
	store_entities_free(e, n);
	return rc;
}

/* ---- events --------------------------------------------------------------- */

/* Unnotified events (the EventAgent's rows) in one digest.  The events
 * table is shared with events.c; this reads only rows and notified_at. */
static enum sched_outcome try_events(struct knowledge_notifier *kn, const char *user,
				     const struct cancel *cancel, bool *sent)
{
	struct store_event *ev = NULL;
	size_t n = 0, take = 0;
	struct buf b = BUF_INIT(0);
	char *why = NULL, *text = NULL;
	bool cancelled = false;
	enum sched_outcome out = SCHED_NO_WORK;
	enum kith_status rc;
	int64_t now;

	*sent = false;
	if (store_events_recent(kn->d.st, user, 0, &ev, &n, &why)) {
		log_warn(TAG, "events: %s", why ? why : "store error");
		free(why);
		return SCHED_FAILED;
	}
	(void)buf_puts(&b, "Tell the user about this news on topics they follow, briefly:\n");
	for (size_t i = 0; i < n && take < kn->d.np.max_events; i++) {
		if (ev[i].notified_at)
			continue;
		take++;
		(void)buf_printf(&b, "\nStory %zu:\nHeadline: %s\n", take, ev[i].headline);
		if (ev[i].summary && *ev[i].summary)
			(void)buf_printf(&b, "Summary: %s\n", ev[i].summary);
		if (ev[i].url && *ev[i].url)
			(void)buf_printf(&b, "Source: %s\n", ev[i].url);
	}
	if (!take)
		goto out;
	text = compose(kn, buf_str(&b), cancel, &cancelled);
	if (cancelled) {
		out = SCHED_CANCELLED;
		goto out;
	}
	if (!text) {
		buf_reset(&b);
		(void)buf_puts(&b, "News on what you follow:");
		for (size_t i = 0, k = 0; i < n && k < take; i++)
			if (!ev[i].notified_at) {
				k++;
				(void)buf_printf(&b, "\n- %s%s%s", ev[i].headline,
						 ev[i].url ? " " : "", ev[i].url ? ev[i].url : "");
			}
		text = xstrdup(buf_str(&b));
	}
	if (!deliver(kn, user, text, NULL)) {
		out = SCHED_FAILED;
		goto out;
	}
	*sent = true;
	out = SCHED_DID_WORK;
	now = now_ms(kn);
	rc = store_knowledge_begin(kn->d.st, &why);
	for (size_t i = 0, k = 0; i < n && k < take && !rc; i++)
		if (!ev[i].notified_at) {
			k++;
			rc = store_event_mark_notified(kn->d.st, ev[i].id, now, &why);
		}
	if (store_knowledge_end(kn->d.st, rc, &why))
		log_warn(TAG, "recording an event digest: %s", why ? why : "error");
out:
	free(why);
	free(text);
	buf_release(&b);
	store_events_free(ev, n);
	return out;
}

/* ---- facts ---------------------------------------------------------------- */

static enum sched_outcome try_facts(struct knowledge_notifier *kn, const char *user,
				    const struct cancel *cancel, bool *sent, int64_t *entity)
{
	const struct heat_params *hp = &kn->d.params.heat;
	struct store_fact *f = NULL;
	struct store_entity *e = NULL;
	struct heat_entity *h = NULL;
	bool *news = NULL, cancelled = false, is_new = true;
	size_t nf = 0, n = 0, pick, nids = 0;
	int64_t *ids = NULL, now;
	struct buf b = BUF_INIT(0);
	char *why = NULL, *text = NULL, *iq = NULL;
	enum sched_outcome out = SCHED_NO_WORK;
	enum kith_status rc;

	*sent = false;
	*entity = 0;
	if (store_facts_unnotified(kn->d.st, user, &f, &nf, &why) ||
	    store_entities_for_user(kn->d.st, user, 0, &e, &n, &why)) {
		log_warn(TAG, "facts: %s", why ? why : "store error");
		out = SCHED_FAILED;
		goto out;
	}
	if (!nf || !n)
		goto out;
	h = xcalloc(n, sizeof(*h));
	news = xcalloc(n, sizeof(*news));
	for (size_t i = 0; i < n; i++) {
		h[i].heat = e[i].heat;
		h[i].cooldown = e[i].heat_cooldown;
		h[i].vetoed = e[i].vetoed;
		heat_sanitize(&h[i]);
		for (size_t k = 0; k < nf && !news[i]; k++)
			news[i] = f[k].entity_id == e[i].id;
	}
	pick = heat_hottest(h, n, news);
	if (pick == n)
		goto out;
	/* "New" entity: nothing about it was told before. */
	{
		size_t total = 0, untold = 0;

		if (store_entity_fact_counts(kn->d.st, e[pick].id, &total, &untold, NULL) == KITH_OK)
			is_new = total == untold;
	}
	(void)buf_printf(&b, "%s %s%s%s%s.\n\nNew facts:\n",
			 is_new ? "You came across something the user may like:"
				: "There is news about something the user cares about:",
			 e[pick].name, e[pick].tagline ? " (" : "",
			 e[pick].tagline ? e[pick].tagline : "", e[pick].tagline ? ")" : "");
	ids = xcalloc(nf, sizeof(*ids));
	/* Oldest first: store_facts_unnotified lists newest first. */
	for (size_t k = nf; k-- > 0 && nids < kn->d.np.max_facts;)
		if (f[k].entity_id == e[pick].id) {
			ids[nids++] = f[k].id;
			(void)buf_printf(&b, "- %s\n", f[k].content);
		}
	text = compose(kn, buf_str(&b), cancel, &cancelled);
	if (cancelled) {
		out = SCHED_CANCELLED;
		goto out;
	}
	if (!text) {
		buf_reset(&b);
		(void)buf_printf(&b, "Something new about %s:", e[pick].name);
		for (size_t k = nf, c = 0; k-- > 0 && c < nids;)
			if (f[k].entity_id == e[pick].id) {
				c++;
				(void)buf_printf(&b, "\n- %s", f[k].content);
			}
		text = xstrdup(buf_str(&b));
	}
	{
		struct buf q = BUF_INIT(0);

		(void)buf_printf(&q, "%s%s%s", e[pick].name, e[pick].tagline ? " " : "",
				 e[pick].tagline ? e[pick].tagline : "");
		iq = xstrdup(buf_str(&q));
		buf_release(&q);
	}
	if (!deliver(kn, user, text, iq)) {
		out = SCHED_FAILED;
		goto out;
	}
	*sent = true;
	*entity = e[pick].id;
	out = SCHED_DID_WORK;
	now = now_ms(kn);
	heat_start_cooldown(&h[pick], hp);
	rc = store_knowledge_begin(kn->d.st, &why);
	if (!rc)
		rc = store_facts_mark_notified(kn->d.st, ids, nids, now, &why);
	if (!rc)
		rc = store_entity_set_heat(kn->d.st, e[pick].id, h[pick].heat, h[pick].cooldown,
					   h[pick].vetoed, &why);
	if (!rc)
		rc = store_entity_notified(kn->d.st, e[pick].id, now, &why);
	if (store_knowledge_end(kn->d.st, rc, &why))
		log_warn(TAG, "recording a notification: %s", why ? why : "error");
	log_info(TAG, "told %s %zu new facts about %s", user, nids, e[pick].name);
out:
	free(why);
	free(text);
	free(iq);
	free(ids);
	free(news);
	free(h);
	buf_release(&b);
	store_facts_free(f, nf);
	store_entities_free(e, n);
	return out;
}

/* ---- run ------------------------------------------------------------------ */

enum sched_outcome knowledge_notify_run(void *ctx, const struct cancel *cancel)
{
	struct knowledge_notifier *kn = ctx;
	char **users = NULL;
	size_t n = 0;
	char *why = NULL;
	enum sched_outcome out = SCHED_NO_WORK;
	int64_t now = now_ms(kn);

	if (!kn->d.send || !budget_allows(kn, now))
		return SCHED_NO_WORK;
	if (store_knowledge_users(kn->d.st, &users, &n, &why)) {
		log_warn(TAG, "%s", why ? why : "store error");
		free(why);
		return SCHED_FAILED;
	}
	/* Learn completions first, for every user: the user asked for them. */
	for (size_t i = 0; i < n && out == SCHED_NO_WORK; i++) {
		bool sent = false;

		if (store_user_muted(kn->d.st, users[i]))
			continue;
		out = try_learn(kn, users[i], cancel, &sent);
		if (sent)
			backoff_sent(kn, users[i], now_ms(kn), 0);
	}
	for (size_t i = 0; i < n && out == SCHED_NO_WORK; i++) {
		struct store_notify_pending p;
		bool sent = false;
		int64_t entity = 0;

		if (cancel_requested(cancel)) {
			out = SCHED_CANCELLED;
			break;
		}
		if (store_user_muted(kn->d.st, users[i]))
			continue;
		if (store_knowledge_notify_pending(kn->d.st, users[i], &p, &why)) {
			free(why);
			why = NULL;
			continue;
		}
		if ((!p.events && !p.entities) || !backoff_passed(kn, users[i], now))
			continue;
		if (heat_step(kn, users[i], &why)) {
			log_warn(TAG, "heat cycle for %s: %s", users[i], why ? why : "error");
			free(why);
			why = NULL;
		}
		out = p.events ? try_events(kn, users[i], cancel, &sent) : SCHED_NO_WORK;
		if (out == SCHED_NO_WORK)
			out = try_facts(kn, users[i], cancel, &sent, &entity);
		if (sent)
			backoff_sent(kn, users[i], now_ms(kn), entity);
		else if (out != SCHED_CANCELLED)
			backoff_attempted(kn, users[i], now);
	}
	store_strings_free(users, n);
	return out;
}

void knowledge_notifier_set_params(struct knowledge_notifier *kn, const struct knowledge_params *p,
				   const struct knowledge_notify_params *np)
{
	pthread_mutex_lock(&kn->mu);
	kn->d.params = *p;
	kn->d.np = *np;
	pthread_mutex_unlock(&kn->mu);
}
