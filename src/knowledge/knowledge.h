/* knowledge.h — Penny's knowledge extraction: user messages and web
 * searches become entities, facts and engagements (docs/knowledge.md).
 *
 * One background job (knowledge_extract_due / knowledge_extract_run, for
 * the scheduler) works in strict priority: (1) unread user messages,
 * (2) unextracted searches the user caused, (3) enrichment searches, only
 * once 1–2 are drained, (4) embeddings missing on entities and facts.
 * Each message or search is one unit: the model is asked once (entities
 * with facts, in one structured reply), the answer is filtered and
 * deduplicated, and everything it yields is written in one transaction
 * together with the unit's "done" mark — so a cancel or crash redoes the
 * unit, never half of it.
 *
 * The pure parts (reply parser, name filter, tokeniser, TCR, cosine, fact
 * normalisation) are exported for tests and the fuzzer. */
#ifndef KITH_KNOWLEDGE_H
#define KITH_KNOWLEDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"
#include "mind/heat.h"
#include "sched/scheduler.h"

struct config;
struct store;
struct llm_client;
struct embedder;

/* Tunables; setting names (docs/config.md) in brackets. */
struct knowledge_params {
	size_t min_message_len;        /* [EXTRACTION_MIN_MESSAGE_LENGTH] 20 */
	size_t message_batch;          /* [MESSAGE_EXTRACTION_BATCH_LIMIT] 20 */
	size_t log_batch;              /* [ENTITY_EXTRACTION_BATCH_LIMIT] 10 */
	size_t backfill_batch;         /* [EMBEDDING_BACKFILL_BATCH_LIMIT] 50 */
	size_t known_in_prompt;        /* most known entities listed to the model: 50 */
	double semantic_threshold;     /* [EXTRACTION_ENTITY_SEMANTIC_THRESHOLD] 0.50 */
	double dedup_tcr;              /* [EXTRACTION_ENTITY_DEDUP_TCR_THRESHOLD] 0.60 */
	double dedup_cosine;           /* [EXTRACTION_ENTITY_DEDUP_EMBEDDING_THRESHOLD] 0.85 */
	double fact_dedup_cosine;      /* [EXTRACTION_FACT_DEDUP_SIMILARITY_THRESHOLD] 0.85 */
	/* Engagement strengths [ENGAGEMENT_STRENGTH_*]. */
	double s_mention;              /* 0.2 */
	double s_explicit;             /* 0.7 */
	double s_follow_up;            /* 0.5 */
	double s_search;               /* 1.0 (user_search: a search the user caused) */
	double s_emoji;                /* 0.3 reaction to a normal reply */
	double s_emoji_proactive;      /* 0.5 reaction to a proactive message */
	double s_emoji_proactive_neg;  /* 0.8 negative reaction to a proactive message */
	struct heat_params heat;
};

void knowledge_params_default(struct knowledge_params *p);
/* The defaults overridden by the configuration's values. */
void knowledge_params_from_config(struct knowledge_params *p, const struct config *cfg);

/* ---- the job -------------------------------------------------------------- */

struct knowledge_deps {
	struct store *st;             /* used only from the job's thread */
	struct llm_client *llm;       /* the util role answers */
	struct embedder *emb;         /* NULL: no semantic filter, no cosine dedup */
	struct sched_budget *budget;  /* optional: one SCHED_SPEND_LLM per model call */
	struct knowledge_params params;
	int64_t (*now_ms)(void *ctx); /* NULL: clock_now_ms */
	void *now_ctx;
};

struct knowledge_extractor;

/* Copies deps (the pointers in it stay borrowed).  Free with
 * knowledge_extractor_free. */
struct knowledge_extractor *knowledge_extractor_new(const struct knowledge_deps *deps);
void knowledge_extractor_free(struct knowledge_extractor *kx);

/* The scheduler's callbacks; ctx is the struct knowledge_extractor *.
 * due: one counting query, no model.  run: one batch in priority order;
 * SCHED_NO_WORK when nothing was pending. */
bool knowledge_extract_due(void *ctx, int64_t now_ms);
enum sched_outcome knowledge_extract_run(void *ctx, const struct cancel *cancel);

/* A reaction to message `message_id` by `user`: an emoji_reaction
 * engagement with every entity of the user named in that message, touch
 * (positive) or veto (negative).  `proactive`: the message was one kith
 * sent on its own.  *n (may be NULL) receives how many entities. */
enum kith_status knowledge_note_reaction(struct knowledge_extractor *kx, const char *user,
					 int64_t message_id, bool positive, bool proactive,
					 size_t *n, char **why) KITH_MUST_CHECK;

/* ---- the model's reply ---------------------------------------------------- */

enum knowledge_sentiment { KX_NEUTRAL = 0, KX_POSITIVE, KX_NEGATIVE };

struct knowledge_found {
	char *name;
	char *tagline;                /* "" when none */
	enum knowledge_sentiment sentiment;
	char **facts;
	size_t nfacts;
};

struct knowledge_reply {
	struct knowledge_found *ents;
	size_t n;
};

#define KX_MAX_ENTITIES 32
#define KX_MAX_FACTS 16
#define KX_MAX_NAME 200
#define KX_MAX_FACT 600

/* Parse the structured reply {"entities":[{"name","tagline","sentiment",
 * "facts":[…]}]} from any bytes: code fences and text around the object are
 * tolerated, entries without a usable name are skipped, lists and strings
 * are capped (KX_MAX_*).  KITH_EPROTO when there is no such object.  `out`
 * is always initialised; release it with knowledge_reply_release. */
enum kith_status knowledge_parse_reply(const char *p, size_t n, struct knowledge_reply *out,
				       char **why) KITH_MUST_CHECK;
void knowledge_reply_release(struct knowledge_reply *r);

/* The JSON schema sent with the request (new reference).  known_only: the
 * prompt asks only for listed entities (same shape). */
const char *knowledge_schema_text(void);

/* ---- filters and dedup (pure) --------------------------------------------- */

/* The structural filter: false for empty or overlong names (> 8 words),
 * bare numbers, dates, month names, URLs, markdown or markup, list
 * numbering, template artefacts, names made only of stopwords or
 * punctuation, and names that mean the user or the assistant. */
bool knowledge_name_valid(const char *name);
/* Lower-case, trimmed, inner whitespace collapsed, trailing '.' dropped;
 * caller frees. */
char *knowledge_name_norm(const char *name);
/* Tokens of an entity name: lower-case, '-'/'_' and Unicode dashes split,
 * surrounding punctuation dropped, a trailing 20xx year cut off ("2026"
 * alone vanishes).  Returns the count; toks[i] point into *buf (caller
 * frees *buf and toks). */
size_t knowledge_tokens(const char *s, char **buf, char ***toks);
/* Token containment ratio |S∩L| / |S| over token sets (S the smaller). */
double knowledge_tcr(const char *a, const char *b);
/* May a and b be the same entity by the lexical test?  TCR >= threshold,
 * or either side has at most one token (acronyms, single words: left to
 * the embedding test). */
bool knowledge_tcr_pass(const char *a, const char *b, double threshold);
/* The name with stopwords dropped, for the name embedding ("the mars
 * rover" → "mars rover"); caller frees. */
char *knowledge_name_key(const char *name);
/* Normalised fact text for string dedup; caller frees. */
char *knowledge_fact_norm(const char *fact);
double knowledge_cosine(const float *a, const float *b, size_t n);

#endif
