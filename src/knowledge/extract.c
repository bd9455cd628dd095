/* extract.c — the knowledge extraction job: messages and searches in,
 * entities, facts and engagements out.
 *
 * A unit (one message or one search) is: ask the model once (outside any
 * transaction, cancellable), filter and deduplicate what it said against
 * the user's entities (pure work plus embeddings), then write every row and
 * the unit's done mark in one transaction.  Cancelled or failed before the
 * commit, the unit is simply still pending; so redoing it can never
 * duplicate anything.  A reply the model garbled counts as "nothing found"
 * (retrying would garble again); an unreachable model leaves the unit
 * pending for a later run. */
#include "knowledge/knowledge.h"
#include "knowledge/knowledge_int.h"

#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "llm/embed.h"
#include "llm/llm.h"
#include "store/store.h"

#include <ctype.h>
#include <jansson.h>
#include <strings.h>
#include <string.h>

#define TAG "knowledge"

struct knowledge_extractor {
	struct knowledge_deps d;
};

void knowledge_params_default(struct knowledge_params *p)
{
	memset(p, 0, sizeof(*p));
	p->min_message_len = 20;
	p->message_batch = 20;
	p->log_batch = 10;
	p->backfill_batch = 50;
	p->known_in_prompt = 50;
	p->semantic_threshold = 0.50;
	p->dedup_tcr = 0.60;
	p->dedup_cosine = 0.85;
	p->fact_dedup_cosine = 0.85;
	p->s_mention = 0.2;
	p->s_explicit = 0.7;
	p->s_follow_up = 0.5;
	p->s_search = 1.0;
	p->s_emoji = 0.3;
	p->s_emoji_proactive = 0.5;
	p->s_emoji_proactive_neg = 0.8;
	heat_params_default(&p->heat);
}

void knowledge_params_from_config(struct knowledge_params *p, const struct config *cfg)
{
	knowledge_params_default(p);
	p->min_message_len = (size_t)config_int(cfg, CFG_EXTRACTION_MIN_MESSAGE_LENGTH);
	p->message_batch = (size_t)config_int(cfg, CFG_MESSAGE_EXTRACTION_BATCH_LIMIT);
	p->log_batch = (size_t)config_int(cfg, CFG_ENTITY_EXTRACTION_BATCH_LIMIT);
	p->backfill_batch = (size_t)config_int(cfg, CFG_EMBEDDING_BACKFILL_BATCH_LIMIT);
	p->semantic_threshold = config_float(cfg, CFG_EXTRACTION_ENTITY_SEMANTIC_THRESHOLD);
	p->dedup_tcr = config_float(cfg, CFG_EXTRACTION_ENTITY_DEDUP_TCR_THRESHOLD);
	p->dedup_cosine = config_float(cfg, CFG_EXTRACTION_ENTITY_DEDUP_EMBEDDING_THRESHOLD);
	p->fact_dedup_cosine = config_float(cfg, CFG_EXTRACTION_FACT_DEDUP_SIMILARITY_THRESHOLD);
	p->s_mention = config_float(cfg, CFG_ENGAGEMENT_STRENGTH_MESSAGE_MENTION);
	p->s_explicit = config_float(cfg, CFG_ENGAGEMENT_STRENGTH_EXPLICIT_STATEMENT);
	p->s_follow_up = config_float(cfg, CFG_ENGAGEMENT_STRENGTH_FOLLOW_UP_QUESTION);
	p->s_emoji = config_float(cfg, CFG_ENGAGEMENT_STRENGTH_EMOJI_REACTION_NORMAL);
	p->s_emoji_proactive = config_float(cfg, CFG_ENGAGEMENT_STRENGTH_EMOJI_REACTION_PROACTIVE);
	p->s_emoji_proactive_neg =
		config_float(cfg, CFG_ENGAGEMENT_STRENGTH_EMOJI_REACTION_PROACTIVE_NEGATIVE);
	p->heat.touch = config_float(cfg, CFG_HEAT_TOUCH_AMOUNT);
	p->heat.decay = config_float(cfg, CFG_HEAT_DECAY_RATE);
	p->heat.cooldown_cycles = (int)config_int(cfg, CFG_HEAT_COOLDOWN_CYCLES);
	p->heat.ignore_penalty = config_float(cfg, CFG_HEAT_IGNORE_PENALTY);
	p->heat.novelty = config_float(cfg, CFG_HEAT_NOVELTY_AMOUNT);
}

struct knowledge_extractor *knowledge_extractor_new(const struct knowledge_deps *deps)
{
	struct knowledge_extractor *kx = xcalloc(1, sizeof(*kx));

	kx->d = *deps;
	return kx;
}

void knowledge_extractor_free(struct knowledge_extractor *kx)
{
	free(kx);
}

static int64_t now_ms(const struct knowledge_extractor *kx)
{
	return kx->d.now_ms ? kx->d.now_ms(kx->d.now_ctx) : clock_now_ms();
}

/* ---- embeddings ----------------------------------------------------------- */

/* Embed n texts into *out (n * *dim floats, caller frees).  Without an
 * embedder, or when it fails, *out = NULL and KITH_OK: the callers degrade
 * (no semantic filter, lexical dedup only) and backfill fills the gap.
 * Only a cancel is an error. */
static enum kith_status embed(struct knowledge_extractor *kx, const char *const *texts, size_t n,
			      float **out, size_t *dim, const struct cancel *cancel)
{
	char *why = NULL;
	enum kith_status rc = KITH_OK;
	int d;

	*out = NULL;
	*dim = 0;
	if (!kx->d.emb || !n)
		return KITH_OK;
	d = embedder_dim(kx->d.emb);
	if (d <= 0 && embedder_probe(kx->d.emb, &why) == KITH_OK)
		d = embedder_dim(kx->d.emb);
	if (d > 0) {
		float *v = xmalloc(n * (size_t)d * sizeof(float));

		rc = embedder_embed(kx->d.emb, texts, n, v, cancel, &why);
		if (rc == KITH_OK) {
			*out = v;
			*dim = (size_t)d;
		} else {
			free(v);
		}
	}
	if (cancel_requested(cancel))
		rc = KITH_ECANCELED;
	else if (rc || d <= 0)
		log_warn(TAG, "embedding failed, going on without: %s", why ? why : "no dimension");
	free(why);
	return rc == KITH_ECANCELED ? rc : KITH_OK;
}

/* ---- asking the model ----------------------------------------------------- */

struct unit {
	const char *user;
	const char *label, *value, *content;  /* what the model reads */
	const char *trigger_text;             /* what new entities must relate to */
	bool known_only;
	bool user_knows;                      /* facts pre-marked notified */
	const char *engage;                   /* engagement per entity, NULL = none */
	double engage_strength;
	bool sentiment;                       /* explicit statements count */
	int64_t message_id, log_id;
	const struct store_message *msg;      /* for follow-up detection */
};

static enum kith_status ask(struct knowledge_extractor *kx, const struct unit *u,
			    const struct store_entity *known, size_t nknown,
			    struct knowledge_reply *reply, const struct cancel *cancel, char **why)
{
	struct buf b = BUF_INIT(0);
	struct llm_msg msgs[2];
	json_t *schema = json_loads(knowledge_schema_text(), 0, NULL);
	struct llm_request req = {
		.role = LLM_ROLE_UTIL, .msgs = msgs, .nmsgs = 2, .json_schema = schema,
		.schema_name = "knowledge", .cancel = cancel, .temperature = -1,
	};
	struct llm_response r;
	enum kith_status rc;
	size_t shown = nknown < kx->d.params.known_in_prompt ? nknown
							     : kx->d.params.known_in_prompt;

	memset(reply, 0, sizeof(*reply));
	if (kx->d.budget && !sched_budget_take(kx->d.budget, SCHED_SPEND_LLM, now_ms(kx))) {
		json_decref(schema);
		return kith_why(why, KITH_ERATELIMIT, "the daily budget of background model calls"
				" is used up");
	}
	(void)buf_printf(&b, "%s: %s\n\nContent:\n%s\n\n", u->label, u->value, u->content);
	if (!shown) {
		(void)buf_puts(&b, u->known_only ? "Known entities: none.\n"
						 : "Known entities: none yet.\n");
	} else {
		(void)buf_puts(&b, "Known entities:\n");
		for (size_t i = 0; i < shown; i++)
			(void)buf_printf(&b, "- %s%s%s%s\n", known[i].name,
					 known[i].tagline ? " (" : "",
					 known[i].tagline ? known[i].tagline : "",
					 known[i].tagline ? ")" : "");
	}
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, u->known_only ? kx_prompt_known : kx_prompt_full);
	llm_msg_init(&msgs[1], LLM_MSG_USER, buf_str(&b));
	rc = llm_chat(kx->d.llm, &req, &r, why);
	if (rc == KITH_OK && knowledge_parse_reply(r.content, strlen(r.content), reply, NULL)) {
		log_info(TAG, "unreadable extraction reply; treating it as nothing found");
		knowledge_reply_release(reply);
	}
	llm_response_release(&r);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	buf_release(&b);
	json_decref(schema);
	return rc;
}

/* ---- planning ------------------------------------------------------------- */

/* Where one entity of the reply goes. */
struct target {
	int64_t entity_id;       /* existing row, 0 = new */
	size_t known;            /* index in known[] when existing */
	char *name, *tagline;
	enum knowledge_sentiment sentiment;
	char **facts;            /* borrowed from the reply */
	size_t nfacts;
	bool *keep;              /* per fact, after dedup */
	float *fvec;             /* per fact embeddings (nfacts * dim) or NULL */
	float *evec;             /* entity embedding (name: tagline) or NULL */
	double score;            /* semantic relevance, HEAT_NO_RELEVANCE if none */
	bool drop;
};

struct plan {
	struct target *t;
	size_t n;
	size_t dim;
};

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->t[i].name);
		free(p->t[i].tagline);
		free(p->t[i].keep);
		free(p->t[i].fvec);
		free(p->t[i].evec);
	}
	free(p->t);
}

static struct target *plan_find(struct plan *p, int64_t entity_id, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!p->t[i].drop && ((entity_id && p->t[i].entity_id == entity_id) ||
				      (!entity_id && !p->t[i].entity_id &&
				       strcmp(p->t[i].name, name) == 0)))
			return &p->t[i];
	return NULL;
}

/* Append reply entity f's facts to target t (merging a duplicate). */
static void target_take(struct target *t, struct knowledge_found *f)
{
	if (!t->facts) {
		t->facts = f->facts;
		t->nfacts = f->nfacts;
		f->facts = NULL;
		f->nfacts = 0;
	} else if (f->nfacts) {
		t->facts = xrealloc(t->facts, (t->nfacts + f->nfacts) * sizeof(*t->facts));
		memcpy(t->facts + t->nfacts, f->facts, f->nfacts * sizeof(*f->facts));
		t->nfacts += f->nfacts;
		free(f->facts);
		f->facts = NULL;
		f->nfacts = 0;
	}
	if (f->sentiment != KX_NEUTRAL)
		t->sentiment = f->sentiment;
}

static void free_target_facts(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		for (size_t k = 0; k < p->t[i].nfacts; k++)
			free(p->t[i].facts[k]);
		free(p->t[i].facts);
	}
}

/* Route the reply's entities: known names to their rows; new names through
 * the structural filter and the insertion-time dedup (TCR, then cosine of
 * the name keys) to an existing row or a new candidate. */
static enum kith_status route(struct knowledge_extractor *kx, const struct unit *u,
			      const struct store_entity *known, size_t nknown,
			      struct knowledge_reply *reply, struct plan *p,
			      const struct cancel *cancel)
{
	const struct knowledge_params *kp = &kx->d.params;
	size_t cap = 0;
	enum kith_status rc = KITH_OK;

	for (size_t i = 0; i < reply->n; i++) {
		struct knowledge_found *f = &reply->ents[i];
		char *name = knowledge_name_norm(f->name);
		int64_t id = 0;
		size_t ki = 0;
		struct target *t;

		for (size_t k = 0; k < nknown && !id; k++)
			if (strcmp(known[k].name, name) == 0) {
				id = known[k].id;
				ki = k;
			}
		if (!id && (u->known_only || !knowledge_name_valid(name))) {
			log_debug(TAG, "dropped entity '%s'", name);
			free(name);
			continue;
		}
		t = plan_find(p, id, name);
		if (!t) {
			p->t = xgrow(p->t, &cap, p->n + 1, sizeof(*p->t));
			t = &p->t[p->n++];
			memset(t, 0, sizeof(*t));
			t->entity_id = id;
			t->known = ki;
			t->name = name;
			t->tagline = knowledge_name_norm(f->tagline ? f->tagline : "");
			t->score = HEAT_NO_RELEVANCE;
			name = NULL;
		}
		free(name);
		target_take(t, f);
	}

	/* Insertion-time dedup of the new candidates: against known entities,
	 * then against earlier candidates of this unit.  Only pairs that pass
	 * the lexical test are embedded. */
	for (size_t i = 0; i < p->n && !rc; i++) {
		struct target *t = &p->t[i];
		const char **texts;
		size_t *who, nt = 0;
		float *v = NULL;
		size_t dim = 0;

		if (t->entity_id || t->drop)
			continue;
		texts = xcalloc(nknown + p->n + 1, sizeof(*texts));
		who = xcalloc(nknown + p->n + 1, sizeof(*who));
		texts[nt++] = knowledge_name_key(t->name);
		for (size_t k = 0; k < nknown; k++)
			if (knowledge_tcr_pass(t->name, known[k].name, kp->dedup_tcr)) {
				who[nt] = k;
				texts[nt++] = knowledge_name_key(known[k].name);
			}
		for (size_t k = 0; k < i; k++)
			if (!p->t[k].entity_id && !p->t[k].drop &&
			    knowledge_tcr_pass(t->name, p->t[k].name, kp->dedup_tcr)) {
				who[nt] = nknown + k;
				texts[nt++] = knowledge_name_key(p->t[k].name);
			}
		if (nt > 1)
			rc = embed(kx, texts, nt, &v, &dim, cancel);
		for (size_t k = 1; v && k < nt; k++) {
			if (knowledge_cosine(v, v + k * dim, dim) < kp->dedup_cosine)
				continue;
			if (who[k] < nknown) {
				struct target *dup = plan_find(p, known[who[k]].id, NULL);

				log_debug(TAG, "'%s' is known as '%s'", t->name, known[who[k]].name);
				if (dup) {
					struct knowledge_found tmp = { .facts = t->facts,
								       .nfacts = t->nfacts,
								       .sentiment = t->sentiment };

					target_take(dup, &tmp);
					t->facts = NULL;
					t->nfacts = 0;
					t->drop = true;
				} else {
					t->entity_id = known[who[k]].id;
					t->known = who[k];
				}
			} else {
				struct target *dup = &p->t[who[k] - nknown];
				struct knowledge_found tmp = { .facts = t->facts, .nfacts = t->nfacts,
							       .sentiment = t->sentiment };

				target_take(dup, &tmp);
				t->facts = NULL;
				t->nfacts = 0;
				t->drop = true;
			}
			break;
		}
		free(v);
		for (size_t k = 0; k < nt; k++)
			free((char *)texts[k]);
		free(texts);
		free(who);
	}
	return rc;
}

/* Strip the entity's name out of a fact ("X is a rover" → "is a rover"),
 * so relevance is judged on what the fact says. */
static void append_stripped(struct buf *b, const char *fact, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = fact; *p;) {
		if (nl && strncasecmp(p, name, nl) == 0) {
			p += nl;
			continue;
		}
		(void)buf_append(b, p, 1);
		p++;
	}
}

/* Facts dedup, embeddings, the semantic filter for new candidates. */
static enum kith_status refine(struct knowledge_extractor *kx, const struct unit *u,
			       struct plan *p, const struct cancel *cancel, char **why)
{
	const struct knowledge_params *kp = &kx->d.params;
	char **seen = NULL;             /* normalised facts kept so far (all targets) */
	size_t nseen = 0, seencap = 0;
	enum kith_status rc = KITH_OK;

	for (size_t i = 0; i < p->n && !rc; i++) {
		struct target *t = &p->t[i];
		struct store_fact *old = NULL;
		size_t nold = 0, dim = 0;
		float *v = NULL;

		if (t->drop)
			continue;
		if (t->entity_id) {
			rc = store_facts_for_entity(kx->d.st, t->entity_id, &old, &nold, why);
			if (rc)
				break;
		}
		t->keep = xcalloc(t->nfacts + 1, sizeof(*t->keep));
		for (size_t k = 0; k < t->nfacts; k++) {
			char *n = knowledge_fact_norm(t->facts[k]);
			bool dup = !*n;

			for (size_t j = 0; j < nold && !dup; j++) {
				char *o = knowledge_fact_norm(old[j].content);

				dup = strcmp(o, n) == 0;
				free(o);
			}
			for (size_t j = 0; j < nseen && !dup; j++)
				dup = strcmp(seen[j], n) == 0;
			t->keep[k] = !dup;
			if (dup) {
				free(n);
			} else {
				seen = xgrow(seen, &seencap, nseen + 1, sizeof(*seen));
				seen[nseen++] = n;
			}
		}
		/* Paraphrases: cosine against the entity's stored facts and the
		 * facts kept earlier in this unit for it. */
		if (t->nfacts) {
			rc = embed(kx, (const char *const *)t->facts, t->nfacts, &v, &dim, cancel);
			if (v && p->dim && dim != p->dim) {
				free(v);
				v = NULL;
			}
			if (v)
				p->dim = dim;
		}
		for (size_t k = 0; v && k < t->nfacts; k++) {
			if (!t->keep[k])
				continue;
			for (size_t j = 0; j < nold && t->keep[k]; j++)
				if (old[j].embedding && old[j].dim == dim &&
				    knowledge_cosine(v + k * dim, old[j].embedding, dim) >=
					    kp->fact_dedup_cosine)
					t->keep[k] = false;
			for (size_t j = 0; j < k && t->keep[k]; j++)
				if (t->keep[j] && knowledge_cosine(v + k * dim, v + j * dim, dim) >=
							  kp->fact_dedup_cosine)
					t->keep[k] = false;
		}
		t->fvec = v;
		store_facts_free(old, nold);
	}
	for (size_t j = 0; j < nseen; j++)
		free(seen[j]);
	free(seen);
	if (rc)
		return rc;

	/* New candidates: embedding text, then relevance to the trigger. */
	for (size_t i = 0; i < p->n && !rc; i++) {
		struct target *t = &p->t[i];
		struct buf inc = BUF_INIT(0), strip = BUF_INIT(0);
		char *etext;
		const char *texts[4];
		float *v = NULL;
		size_t dim = 0, kept = 0;

		if (t->drop || t->entity_id)
			continue;
		for (size_t k = 0; k < t->nfacts; k++)
			kept += t->keep[k];
		if (!kept) {     /* nothing to know about it: not worth an entity */
			t->drop = true;
			continue;
		}
		etext = *t->tagline ? xasprintf("%s: %s", t->name, t->tagline) : xstrdup(t->name);
		(void)buf_puts(&inc, t->tagline);
		for (size_t k = 0; k < t->nfacts; k++) {
			if (!t->keep[k])
				continue;
			(void)buf_printf(&inc, "; %s", t->facts[k]);
			append_stripped(&strip, t->facts[k], t->name);
			(void)buf_puts(&strip, "; ");
		}
		texts[0] = etext;
		texts[1] = u->trigger_text ? u->trigger_text : "";
		texts[2] = buf_str(&inc);
		texts[3] = buf_str(&strip);
		rc = embed(kx, texts, u->trigger_text ? 4 : 1, &v, &dim, cancel);
		if (v && (!p->dim || dim == p->dim)) {
			p->dim = dim;
			t->evec = xmalloc(dim * sizeof(float));
			memcpy(t->evec, v, dim * sizeof(float));
			if (u->trigger_text) {
				double s0 = knowledge_cosine(v, v + dim, dim);
				double s1 = knowledge_cosine(v + 2 * dim, v + dim, dim);
				double s2 = knowledge_cosine(v + 3 * dim, v + dim, dim);
				double s = s0 > s1 ? s0 : s1;

				t->score = s > s2 ? s : s2;
				if (t->score < kp->semantic_threshold) {
					log_debug(TAG, "'%s' is off topic (%.2f)", t->name, t->score);
					t->drop = true;
				}
			}
		}
		free(v);
		free(etext);
		buf_release(&inc);
		buf_release(&strip);
	}
	return rc;
}

/* ---- writing -------------------------------------------------------------- */

/* The entity's heat after a positive (touch) or negative (veto)
 * engagement. */
static enum kith_status engage(struct knowledge_extractor *kx, const char *user,
			       int64_t entity_id, const char *type, bool negative,
			       double strength, int64_t message_id, const char *source,
			       char **why)
{
	struct store_engagement_new e = {
		.user = user, .entity_id = entity_id, .type = type,
		.valence = negative ? "negative" : "positive", .strength = strength,
		.source = source, .source_message_id = message_id, .created_at = now_ms(kx),
	};
	struct store_entity ent;
	struct heat_entity h;
	enum kith_status rc = store_engagement_add(kx->d.st, &e, NULL, why);

	if (rc)
		return rc;
	rc = store_entity_get(kx->d.st, entity_id, &ent, why);
	if (rc)
		return rc;
	h.heat = ent.heat;
	h.cooldown = ent.heat_cooldown;
	h.vetoed = ent.vetoed;
	heat_sanitize(&h);
	if (negative)
		heat_veto(&h);
	else
		heat_touch(&h, &kx->d.params.heat);
	store_entity_release(&ent);
	return store_entity_set_heat(kx->d.st, entity_id, h.heat, h.cooldown, h.vetoed, why);
}

/* Case-insensitive whole-word occurrence of `name` in `text`. */
static bool mentions(const char *text, const char *name)
{
	size_t nl = strlen(name);

	if (!nl)
		return false;
	for (const char *p = text; *p; p++) {
		if (strncasecmp(p, name, nl) != 0)
			continue;
		if ((p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[nl]))
			return true;
	}
	return false;
}

/* A quote-reply to something kith said is a follow-up question about the
 * entities that message named. */
static enum kith_status follow_ups(struct knowledge_extractor *kx, const struct store_message *m,
				   const struct store_entity *known, size_t nknown, char **why)
{
	struct store_message *th = NULL;
	size_t n = 0;
	enum kith_status rc;
	char src[48];

	if (!m || !m->parent_id)
		return KITH_OK;
	rc = store_messages_thread(kx->d.st, m->id, 2, &th, &n, why);
	if (rc)
		return rc;
	snprintf(src, sizeof(src), "message:%lld", (long long)m->id);
	if (n == 2 && th[0].id == m->parent_id && th[0].direction == MSG_OUTGOING)
		for (size_t k = 0; k < nknown && !rc; k++)
			if (mentions(th[0].content, known[k].name))
				rc = engage(kx, m->author_id, known[k].id, "follow_up_question",
					    false, kx->d.params.s_follow_up, m->id, src, why);
	store_messages_free(th, n);
	return rc;
}

struct heat_ctx {
	const struct store_entity *known;
	const float *vec;
	size_t dim;
};

static double sim_to_new(void *ctx, size_t i)
{
	struct heat_ctx *h = ctx;

	if (!h->vec || !h->known[i].embedding || h->known[i].dim != h->dim)
		return 0.0 / 0.0;
	return knowledge_cosine(h->vec, h->known[i].embedding, h->dim);
}

static enum kith_status commit(struct knowledge_extractor *kx, const struct unit *u,
			       const struct store_entity *known, size_t nknown, struct plan *p,
			       char **why)
{
	struct store *st = kx->d.st;
	int64_t now = now_ms(kx);
	struct heat_entity *hk = xcalloc(nknown + 1, sizeof(*hk));
	enum kith_status rc;
	char src[48];

	if (u->message_id)
		snprintf(src, sizeof(src), "message:%lld", (long long)u->message_id);
	else
		snprintf(src, sizeof(src), "search:%lld", (long long)u->log_id);
	for (size_t k = 0; k < nknown; k++) {
		hk[k].heat = known[k].heat;
		hk[k].cooldown = known[k].heat_cooldown;
		hk[k].vetoed = known[k].vetoed;
	}
	rc = store_knowledge_begin(st, why);
	if (rc) {
		free(hk);
		return rc;
	}
	for (size_t i = 0; i < p->n && !rc; i++) {
		struct target *t = &p->t[i];
		bool any = false;

		if (t->drop)
			continue;
		if (!t->entity_id) {
			struct heat_ctx hc = { known, t->evec, p->dim };
			struct store_entity_new e = {
				.user = u->user, .name = t->name, .tagline = t->tagline,
				.embedding = t->evec, .dim = t->evec ? p->dim : 0,
				.heat = heat_intrinsic(hk, nknown, sim_to_new, &hc,
						       t->score > 0 ? (t->score > 1 ? 1 : t->score)
								    : HEAT_NO_RELEVANCE,
						       &kx->d.params.heat),
				.created_at = now,
			};

			rc = store_entity_add(st, &e, &t->entity_id, why);
			if (rc == KITH_EEXIST)
				rc = KITH_OK;
		} else if (*t->tagline) {
			rc = store_entity_set_tagline(st, t->entity_id, t->tagline, why);
		}
		for (size_t k = 0; k < t->nfacts && !rc; k++) {
			struct store_fact_new f = {
				.entity_id = t->entity_id, .content = t->facts[k],
				.embedding = t->fvec ? t->fvec + k * p->dim : NULL,
				.dim = t->fvec ? p->dim : 0,
				.source_search_log_id = u->log_id, .source_message_id = u->message_id,
				.learned_at = now, .notified_at = u->user_knows ? now : 0,
			};

			if (!t->keep[k])
				continue;
			rc = store_fact_add(st, &f, NULL, why);
			any = true;
		}
		if (rc || (!u->engage && !any))
			continue;
		if (u->sentiment && t->sentiment != KX_NEUTRAL)
			rc = engage(kx, u->user, t->entity_id, "explicit_statement",
				    t->sentiment == KX_NEGATIVE, kx->d.params.s_explicit,
				    u->message_id, src, why);
		if (!rc && u->engage) {
			/* The mention itself is recorded; the heat moves once per
			 * entity and unit: a veto when the user spoke against it. */
			struct store_engagement_new e = {
				.user = u->user, .entity_id = t->entity_id, .type = u->engage,
				.valence = "positive", .strength = u->engage_strength,
				.source = src, .source_message_id = u->message_id, .created_at = now,
			};

			if (t->sentiment == KX_NEGATIVE && u->sentiment)
				rc = store_engagement_add(st, &e, NULL, why);
			else if (t->sentiment == KX_POSITIVE && u->sentiment)
				rc = store_engagement_add(st, &e, NULL, why);
			else
				rc = engage(kx, u->user, t->entity_id, u->engage, false,
					    u->engage_strength, u->message_id, src, why);
		}
	}
	if (!rc)
		rc = follow_ups(kx, u->msg, known, nknown, why);
	if (!rc)
		rc = u->message_id ? store_knowledge_message_done(st, u->message_id, why)
				   : store_search_log_mark_extracted(st, u->log_id, why);
	free(hk);
	return store_knowledge_end(st, rc, why);
}

/* One unit, start to end. */
static enum kith_status process(struct knowledge_extractor *kx, const struct unit *u,
				bool ask_model, const struct cancel *cancel, char **why)
{
	struct store_entity *known = NULL;
	size_t nknown = 0;
	struct knowledge_reply reply = { 0 };
	struct plan p = { 0 };
	enum kith_status rc;

	rc = store_entities_for_user(kx->d.st, u->user, 0, &known, &nknown, why);
	if (rc)
		return rc;
	if (ask_model && !(u->known_only && !nknown)) {
		rc = ask(kx, u, known, nknown, &reply, cancel, why);
		if (!rc)
			rc = route(kx, u, known, nknown, &reply, &p, cancel);
		if (!rc)
			rc = refine(kx, u, &p, cancel, why);
	}
	if (!rc && cancel_requested(cancel))
		rc = KITH_ECANCELED;
	if (!rc)
		rc = commit(kx, u, known, nknown, &p, why);
	free_target_facts(&p);
	plan_release(&p);
	knowledge_reply_release(&reply);
	store_entities_free(known, nknown);
	return rc;
}

/* ---- phases --------------------------------------------------------------- */

static bool worth_asking(const struct knowledge_params *kp, const char *text)
{
	size_t n;

	while (isspace((unsigned char)*text))
		text++;
	if (*text == '/')
		return false;
	n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	return n >= kp->min_message_len;
}

/* Run one batch of messages: *left whether more were pending. */
static enum kith_status phase_messages(struct knowledge_extractor *kx, size_t *done, bool *left,
				       const struct cancel *cancel, char **why)
{
	struct store_message *m = NULL;
	size_t n = 0, lim = kx->d.params.message_batch ? kx->d.params.message_batch : 20;
	enum kith_status rc = store_knowledge_messages_pending(kx->d.st, lim + 1, &m, &n, why);

	*left = n > lim;
	for (size_t i = 0; !rc && i < n && i < lim; i++) {
		struct unit u = {
			.user = m[i].author_id, .label = "User message", .value = "(below)",
			.content = m[i].content, .trigger_text = m[i].content,
			.user_knows = true, .engage = "message_mention",
			.engage_strength = kx->d.params.s_mention, .sentiment = true,
			.message_id = m[i].id, .msg = &m[i],
		};

		if (cancel_requested(cancel)) {
			rc = KITH_ECANCELED;
			break;
		}
		rc = process(kx, &u, worth_asking(&kx->d.params, m[i].content), cancel, why);
		if (!rc)
			(*done)++;
	}
	store_messages_free(m, n);
	return rc;
}

static enum kith_status phase_logs(struct knowledge_extractor *kx, bool enrichment, size_t *done,
				   bool *left, const struct cancel *cancel, char **why)
{
	struct store_search_log *l = NULL;
	size_t n = 0, lim = kx->d.params.log_batch ? kx->d.params.log_batch : 10;
	enum kith_status rc = store_knowledge_logs_pending(kx->d.st, enrichment, lim + 1, &l, &n,
							   why);

	*left = n > lim;
	for (size_t i = 0; !rc && i < n && i < lim; i++) {
		bool user_msg = strcmp(l[i].trigger, "user_message") == 0;
		struct unit u = {
			.user = l[i].author_id, .label = "Search query", .value = l[i].query,
			.content = l[i].response, .trigger_text = l[i].query,
			.known_only = enrichment, .user_knows = user_msg,
			.engage = enrichment ? NULL : "user_search",
			.engage_strength = kx->d.params.s_search, .log_id = l[i].id,
		};

		if (cancel_requested(cancel)) {
			rc = KITH_ECANCELED;
			break;
		}
		if (!l[i].author_id || l[i].error || !*l[i].response) {
			/* Nobody to learn for, or nothing to learn from. */
			rc = store_search_log_mark_extracted(kx->d.st, l[i].id, why);
		} else {
			rc = process(kx, &u, true, cancel, why);
		}
		if (!rc)
			(*done)++;
	}
	store_search_logs_free(l, n);
	return rc;
}

static enum kith_status phase_backfill(struct knowledge_extractor *kx, size_t *done,
				       const struct cancel *cancel, char **why)
{
	struct store_entity *e = NULL;
	struct store_fact *f = NULL;
	size_t ne = 0, nf = 0, dim = 0, lim = kx->d.params.backfill_batch;
	const char **texts = NULL;
	char **owned = NULL;
	float *v = NULL;
	enum kith_status rc;

	if (!kx->d.emb)
		return KITH_OK;
	rc = store_facts_without_embedding(kx->d.st, lim, &f, &nf, why);
	if (!rc)
		rc = store_entities_without_embedding(kx->d.st, lim, &e, &ne, why);
	if (rc || !(nf + ne))
		goto out;
	texts = xcalloc(nf + ne, sizeof(*texts));
	owned = xcalloc(ne + 1, sizeof(*owned));
	for (size_t i = 0; i < nf; i++)
		texts[i] = f[i].content;
	for (size_t i = 0; i < ne; i++) {
		owned[i] = e[i].tagline ? xasprintf("%s: %s", e[i].name, e[i].tagline)
					: xstrdup(e[i].name);
		texts[nf + i] = owned[i];
	}
	rc = embed(kx, texts, nf + ne, &v, &dim, cancel);
	if (rc || !v)
		goto out;
	rc = store_knowledge_begin(kx->d.st, why);
	for (size_t i = 0; !rc && i < nf; i++)
		rc = store_fact_set_embedding(kx->d.st, f[i].id, v + i * dim, dim, why);
	for (size_t i = 0; !rc && i < ne; i++)
		rc = store_entity_set_embedding(kx->d.st, e[i].id, v + (nf + i) * dim, dim, why);
	rc = store_knowledge_end(kx->d.st, rc, why);
	if (!rc)
		*done += nf + ne;
out:
	for (size_t i = 0; owned && i < ne; i++)
		free(owned[i]);
	free(owned);
	free(texts);
	free(v);
	store_entities_free(e, ne);
	store_facts_free(f, nf);
	return rc;
}

bool knowledge_extract_due(void *ctx, int64_t now)
{
	struct knowledge_extractor *kx = ctx;
	struct store_knowledge_backlog b;
	char *why = NULL;

	(void)now;
	if (store_knowledge_backlog(kx->d.st, &b, &why)) {
		log_warn(TAG, "%s", why);
		free(why);
		return false;
	}
	return b.messages || b.logs || b.enrichment_logs ||
	       (kx->d.emb && b.missing_embeddings);
}

enum sched_outcome knowledge_extract_run(void *ctx, const struct cancel *cancel)
{
	struct knowledge_extractor *kx = ctx;
	size_t done = 0;
	bool left = false;
	char *why = NULL;
	enum kith_status rc;

	/* Strict priority: a later phase runs only once the earlier ones have
	 * nothing left. */
	rc = phase_messages(kx, &done, &left, cancel, &why);
	if (!rc && !left)
		rc = phase_logs(kx, false, &done, &left, cancel, &why);
	if (!rc && !left)
		rc = phase_logs(kx, true, &done, &left, cancel, &why);
	if (!rc && !left)
		rc = phase_backfill(kx, &done, cancel, &why);
	if (rc == KITH_ECANCELED || cancel_requested(cancel)) {
		free(why);
		return SCHED_CANCELLED;
	}
	if (rc) {
		log_warn(TAG, "extraction stopped: %s", why ? why : kith_strerror(rc));
		free(why);
		return SCHED_FAILED;
	}
	return done ? SCHED_DID_WORK : SCHED_NO_WORK;
}

enum kith_status knowledge_note_reaction(struct knowledge_extractor *kx, const char *user,
					 int64_t message_id, bool positive, bool proactive,
					 size_t *n, char **why)
{
	const struct knowledge_params *kp = &kx->d.params;
	struct store_message *th = NULL;
	struct store_entity *known = NULL;
	size_t nth = 0, nknown = 0, hits = 0;
	double strength = !proactive ? kp->s_emoji
			: positive ? kp->s_emoji_proactive : kp->s_emoji_proactive_neg;
	enum kith_status rc;
	char src[48];

	if (n)
		*n = 0;
	rc = store_messages_thread(kx->d.st, message_id, 1, &th, &nth, why);
	if (!rc && !nth)
		rc = kith_why(why, KITH_ENOTFOUND, "no message %lld", (long long)message_id);
	if (!rc)
		rc = store_entities_for_user(kx->d.st, user, 0, &known, &nknown, why);
	if (rc)
		goto out;
	snprintf(src, sizeof(src), "reaction:%lld", (long long)message_id);
	rc = store_knowledge_begin(kx->d.st, why);
	for (size_t k = 0; !rc && k < nknown; k++)
		if (mentions(th[0].content, known[k].name)) {
			rc = engage(kx, user, known[k].id, "emoji_reaction", !positive, strength,
				    0, src, why);
			hits++;
		}
	rc = store_knowledge_end(kx->d.st, rc, why);
	if (!rc && n)
		*n = hits;
out:
	store_messages_free(th, nth);
	store_entities_free(known, nknown);
	return rc;
}

void knowledge_extractor_set_params(struct knowledge_extractor *kx,
				    const struct knowledge_params *p)
{
	kx->d.params = *p;
}
