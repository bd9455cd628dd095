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
/* New tunables (a /config change), from the thread that runs the jobs. */
void knowledge_extractor_set_params(struct knowledge_extractor *kx,
				    const struct knowledge_params *p);

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

/* ---- proactive agents: notifications (notify.c) --------------------------- */

struct search_image;
struct search_opts;

/* Tunables; setting names (docs/config.md) in brackets. */
struct knowledge_notify_params {
	int64_t backoff_initial_ms;   /* [NOTIFICATION_INITIAL_BACKOFF] 300 s */
	double backoff_factor;        /* [NOTIFICATION_BACKOFF_FACTOR] 2 */
	int64_t backoff_max_ms;       /* [NOTIFICATION_MAX_BACKOFF] 3600 s */
	size_t max_facts;             /* [NOTIFICATION_MAX_FACTS] 5 facts per message */
	size_t max_events;            /* events per digest: 5 */
	int64_t enrich_interval_ms;   /* [ENRICHMENT_INTERVAL] 900 s, first backoff */
	int64_t enrich_max_ms;        /* [ENRICHMENT_MAX_BACKOFF] 86400 s */
	int64_t enrich_cooldown_ms;   /* [ENRICHMENT_ENTITY_COOLDOWN] 7 days per entity */
	size_t briefing_facts;        /* [LEARN_ENRICHMENT_FACT_THRESHOLD] 5 */
};
void knowledge_notify_params_default(struct knowledge_notify_params *p);
void knowledge_notify_params_from_config(struct knowledge_notify_params *p,
					 const struct config *cfg);

/* Delivery: 0 when sent.  image may be NULL.  Called from the job thread. */
typedef int (*knowledge_send_fn)(const char *user, const char *text,
				 const struct search_image *image, void *ud);
/* Optional picture for a message about `query`: fill *out (zeroed on
 * entry) and return 0, or non-zero for none. */
typedef int (*knowledge_image_fn)(const char *query, struct search_image *out, void *ud);

struct knowledge_notify_deps {
	struct store *st;              /* used only from the job's thread */
	struct llm_client *llm;        /* the main role writes the messages */
	struct sched_budget *budget;   /* optional: SCHED_SPEND_LLM and _MESSAGE */
	struct knowledge_params params;       /* .heat is used */
	struct knowledge_notify_params np;
	knowledge_send_fn send;
	knowledge_image_fn image;      /* NULL: messages go without pictures */
	void *ud;                      /* for send and image */
	int64_t (*now_ms)(void *ctx);  /* NULL: clock_now_ms */
	void *now_ctx;
};

struct knowledge_notifier;

/* Copies deps (pointers stay borrowed); free with knowledge_notifier_free. */
struct knowledge_notifier *knowledge_notifier_new(const struct knowledge_notify_deps *deps);
void knowledge_notifier_free(struct knowledge_notifier *kn);
void knowledge_notifier_set_params(struct knowledge_notifier *kn, const struct knowledge_params *p,
				   const struct knowledge_notify_params *np);

/* The scheduler's callbacks; ctx is the struct knowledge_notifier *.
 * due: counting queries and in-memory backoff only, never the model.
 * run: at most one message: a finished /learn topic (not held back by
 * backoff), else — once the user's backoff has passed — an event digest,
 * else the hottest eligible entity's untold facts. */
bool knowledge_notify_due(void *ctx, int64_t now_ms);
enum sched_outcome knowledge_notify_run(void *ctx, const struct cancel *cancel);

/* The user wrote to us at `at` (epoch ms): their backoff starts over (the
 * next message may come one initial backoff after `at`), and the last
 * notification counts as answered.  Thread-safe. */
void knowledge_notify_user_active(struct knowledge_notifier *kn, const char *user, int64_t at);

/* ---- proactive agents: enrichment (enrich.c) ------------------------------ */

struct knowledge_enrich_deps {
	struct store *st;
	const struct search_opts *search;  /* NULL or no Perplexity key: never due */
	struct sched_budget *budget;       /* optional: due needs SCHED_SPEND_LLM allowed */
	struct knowledge_params params;    /* .heat.enrich_min_heat */
	struct knowledge_notify_params np;
	int64_t (*now_ms)(void *ctx);
	void *now_ctx;
};

struct knowledge_enricher;

struct knowledge_enricher *knowledge_enricher_new(const struct knowledge_enrich_deps *deps);
void knowledge_enricher_free(struct knowledge_enricher *ke);
void knowledge_enricher_set_params(struct knowledge_enricher *ke, const struct knowledge_params *p,
				   const struct knowledge_notify_params *np);

/* due: backoff, budget, and one candidate query; run: one search about the
 * entity with the highest heat ÷ max(facts, 1), trigger penny_enrichment
 * (the extraction then reads it in known-only mode).  SCHED_NO_WORK when
 * there is no candidate. */
bool knowledge_enrich_due(void *ctx, int64_t now_ms);
enum sched_outcome knowledge_enrich_run(void *ctx, const struct cancel *cancel);
/* Any user wrote: the enrichment backoff starts over at `at`.  Thread-safe. */
void knowledge_enrich_user_active(struct knowledge_enricher *ke, int64_t at);
/* The query the enricher would send for an entity (pure; caller frees):
 * no facts → "name (tagline)"; fewer than briefing_facts → "Tell me more
 * about … I already know: …"; else "… latest news updates YEAR". */
char *knowledge_enrich_query(const char *name, const char *tagline, const char *const *facts,
			     size_t nfacts, size_t briefing_facts, int year);

/* ---- proactive agents: /learn (learn.c) ---------------------------------- */

/* The LearnAgent: for each /learn prompt, one web search per run, each
 * query written by the util model from the topic and the answers so far.
 * It waits until the prompt's earlier searches have been extracted, so the
 * cycle is search → extraction → search; the prompt completes when its
 * searches are spent or the model has no further query (the notifier then
 * announces it). */
struct knowledge_learn_deps {
	struct store *st;                  /* used only from the job's thread */
	struct llm_client *llm;            /* the util role writes the queries */
	const struct search_opts *search;  /* NULL or no Perplexity key: never due */
	struct sched_budget *budget;       /* optional: one SCHED_SPEND_LLM per query */
	int64_t (*now_ms)(void *ctx);      /* NULL: clock_now_ms */
	void *now_ctx;
};

struct knowledge_learner;

/* Copies deps (pointers stay borrowed); free with knowledge_learner_free. */
struct knowledge_learner *knowledge_learner_new(const struct knowledge_learn_deps *deps);
void knowledge_learner_free(struct knowledge_learner *kl);

/* The scheduler's callbacks; ctx is the struct knowledge_learner *.  due:
 * store counts only, never the model.  run: one step of the oldest active
 * prompt whose searches are all extracted — one query and one search
 * (trigger learn_command, linked to the prompt), or completing the prompt.
 * SCHED_NO_WORK when no prompt can step; SCHED_CANCELLED leaves the prompt
 * as it was (a search that did finish is kept and counted). */
bool knowledge_learn_due(void *ctx, int64_t now_ms);
enum sched_outcome knowledge_learn_run(void *ctx, const struct cancel *cancel);

#define LEARN_QUERY_MAX 400  /* bytes of a generated query kept */

/* Parse the model's {"query": string|null} from any bytes (code fences and
 * prose around the object tolerated).  *query receives the trimmed query
 * (caller frees; control characters become spaces, at most
 * LEARN_QUERY_MAX bytes cut at a UTF-8 boundary) or NULL when it is null,
 * empty or missing — "nothing more to search".  KITH_EPROTO (and *query
 * NULL) when there is no JSON object at all. */
enum kith_status knowledge_learn_parse_query(const char *p, size_t n, char **query,
					     char **why) KITH_MUST_CHECK;
/* The JSON schema sent with the query request. */
const char *knowledge_learn_schema_text(void);

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

/* ---- events: followed news (knowledge/events.c) --------------------------- */

/* The EventAgent: for the follow prompt polled least recently whose poll
 * interval has passed, one NewsAPI search; new articles are deduplicated
 * in three layers against the user's events of the last window (same URL,
 * same normalised headline, headline embedding cosine >= dedup_cosine),
 * stored, and linked to the user's entities named in them (or close to
 * them by embedding).  The events, their links and the prompt's "polled"
 * mark are written in one transaction, after the last cancellable step:
 * a cancel leaves nothing behind and the poll is simply redone. */

struct event_params {
	double poll_interval_s;  /* [EVENT_POLL_INTERVAL_SECONDS] 600 */
	int window_days;         /* [EVENT_DEDUP_WINDOW_DAYS] 7 */
	double dedup_cosine;     /* [EVENT_DEDUP_SIMILARITY_THRESHOLD] 0.90 */
	double link_cosine;      /* [EVENT_ENTITY_LINK_THRESHOLD] 0.60 */
	size_t max_per_poll;     /* [EVENT_MAX_PER_POLL] 5 */
	int page_size;           /* articles asked of NewsAPI: 20 */
};

void event_params_default(struct event_params *p);
void event_params_from_config(struct event_params *p, const struct config *cfg);

struct event_deps {
	struct store *st;               /* used only from the job's thread */
	struct embedder *emb;           /* NULL: URL and headline dedup only, name links only */
	const char *news_url;           /* NEWS_API_URL (borrowed) */
	const char *news_key;           /* NEWS_API_KEY (borrowed); NULL = never due */
	long news_timeout_ms;           /* 0 = 30 s */
	int news_attempts;              /* 0 = 2 */
	struct event_params params;
	int64_t (*now_ms)(void *ctx);   /* NULL: clock_now_ms */
	void *now_ctx;
};

struct event_agent;

/* Copies deps (pointers stay borrowed).  Free with event_agent_free. */
struct event_agent *event_agent_new(const struct event_deps *deps);
void event_agent_free(struct event_agent *ea);
void event_agent_set_params(struct event_agent *ea, const struct event_params *p);

/* The scheduler's callbacks; ctx is the struct event_agent *.  due: one
 * COUNT query, no network, no model.  run: one poll of one prompt;
 * SCHED_NO_WORK when no prompt is due, SCHED_DID_WORK after a poll (new
 * events or not), SCHED_FAILED when NewsAPI or the store failed (the
 * prompt is still marked polled on a NewsAPI error, so a bad key or an
 * exhausted allowance costs one request per interval, not one per tick). */
bool event_agent_due(void *ctx, int64_t now_ms);
enum sched_outcome event_agent_run(void *ctx, const struct cancel *cancel);

/* What the last run did (tests, /debug). */
struct event_run_stats {
	int64_t prompt_id;      /* 0 = none polled */
	size_t articles;        /* usable articles in NewsAPI's answer */
	size_t dup_url, dup_headline, dup_embedding;
	size_t created, links;
};
void event_agent_last_run(const struct event_agent *ea, struct event_run_stats *out);

/* Normalised headline for dedup layer 2: ASCII lower-cased, everything
 * but letters, digits and non-ASCII bytes dropped, whitespace collapsed,
 * trimmed.  Caller frees. */
char *event_headline_norm(const char *headline);
/* A follow prompt's query_terms (a JSON array of strings) as a
 * NULL-terminated list (caller frees with event_terms_free); NULL when the
 * text is not such an array or holds no non-empty string.  At most
 * EVENT_MAX_TERMS terms, each at most EVENT_TERM_MAX bytes. */
#define EVENT_MAX_TERMS 8
#define EVENT_TERM_MAX 200
char **event_parse_terms(const char *json, size_t n);
void event_terms_free(char **terms);
/* Does `name` (an entity name) occur in `text` as whole words,
 * ignoring ASCII case? */
bool event_names_entity(const char *text, const char *name);

#endif
