/* store.h — kith's SQLite database: one connection per thread.
 *
 * store_open() gives a connection in WAL mode with a busy timeout, so
 * workers, the scheduler and HTTP handlers can each hold their own.  Schema
 * changes are numbered migrations compiled into the binary (migrations.c),
 * tracked in `_migrations` and applied by store_migrate().  Functions that
 * return rows hand out heap copies the caller frees with the matching
 * *_free function. */
#ifndef KITH_STORE_H
#define KITH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct store;

/* Open (creating if needed) the database at `path`; parent directories are
 * created with mode 0700.  Does not migrate. */
enum kith_status store_open(const char *path, struct store **out, char **why) KITH_MUST_CHECK;
void store_close(struct store *st);

/* Apply pending migrations, each in its own transaction.  *applied (may be
 * NULL) receives how many ran.  Fails when the database carries a migration
 * this binary does not know (a newer kith wrote it). */
enum kith_status store_migrate(struct store *st, int *applied, char **why) KITH_MUST_CHECK;
/* Check the compiled-in list: numbers positive, unique and increasing. */
enum kith_status store_migrations_validate(char **why) KITH_MUST_CHECK;
/* Latest migration number applied to this database (0 = none). */
enum kith_status store_schema_version(struct store *st, int *version, char **why) KITH_MUST_CHECK;
int store_migrations_latest(void);

/* ---- messages ---------------------------------------------------------- */

enum msg_direction { MSG_INCOMING = 0, MSG_OUTGOING = 1 };

/* A stored message (owned strings; free with store_messages_free). */
struct store_message {
	int64_t id;
	enum msg_direction direction;
	char *channel;       /* "console", "discord", "signal" */
	char *conversation;  /* channel-specific conversation (channel/thread/group) */
	char *author_id;
	char *author_name;   /* may be NULL */
	char *content;
	char *external_id;   /* the platform's message id, may be NULL */
	int64_t parent_id;   /* message this one replies to, 0 = none */
	int64_t created_at;  /* epoch ms */
};

/* A message to insert (borrowed strings). */
struct new_message {
	enum msg_direction direction;
	const char *channel;
	const char *conversation;
	const char *author_id;
	const char *author_name;
	const char *content;
	const char *external_id;
	int64_t parent_id;
	int64_t created_at;  /* 0 = now */
};

/* Insert; *id (may be NULL) receives the new row id. */
enum kith_status store_message_add(struct store *st, const struct new_message *m,
				   int64_t *id, char **why) KITH_MUST_CHECK;
/* The `limit` most recent messages of a conversation, oldest first. */
enum kith_status store_messages_recent(struct store *st, const char *channel,
				       const char *conversation, size_t limit,
				       struct store_message **out, size_t *n,
				       char **why) KITH_MUST_CHECK;
void store_messages_free(struct store_message *msgs, size_t n);
/* The thread ending at message `id`: it and its parents (the parent_id
 * chain), at most `limit` of them, oldest first. */
enum kith_status store_messages_thread(struct store *st, int64_t id, size_t limit,
				       struct store_message **out, size_t *n,
				       char **why) KITH_MUST_CHECK;
/* The message a quote-reply points at, in that conversation: the one with
 * the platform id `external_id` when given and stored, else the newest one
 * whose text begins with the quoted `text` (compared on letters and digits
 * only, case-folded: networks send quotes without formatting and shortened).
 * *id = 0 when none matches. */
enum kith_status store_message_find_quoted(struct store *st, const char *channel,
					   const char *conversation, const char *external_id,
					   const char *text, int64_t *id, char **why) KITH_MUST_CHECK;

/* ---- reactions (store/reactions.c) -------------------------------------- */

struct new_reaction {
	const char *channel;
	const char *conversation;
	const char *author_id;
	const char *emoji;
	const char *target_external_id;   /* the reacted message's platform id */
	bool removed;                     /* the reaction was taken back */
	int64_t created_at;               /* 0 = now */
};
/* Record a reaction; the reacted message is looked up by its platform id
 * in that conversation (*target, may be NULL, gets its row id or 0). */
enum kith_status store_reaction_add(struct store *st, const struct new_reaction *r,
				    int64_t *id, int64_t *target, char **why) KITH_MUST_CHECK;
/* A recorded reaction (owned; free with store_reactions_free). */
struct store_reaction {
	int64_t id;
	char *channel, *conversation, *author_id, *emoji;
	int64_t target_message_id;        /* 0 = the reacted message is unknown */
	bool removed;
	int64_t created_at;
};
/* Reactions the knowledge system has not read yet, oldest first (limit 0 =
 * all), and marking one read. */
enum kith_status store_reactions_unprocessed(struct store *st, size_t limit,
					     struct store_reaction **out, size_t *n,
					     char **why) KITH_MUST_CHECK;
enum kith_status store_reaction_mark_processed(struct store *st, int64_t id,
					       char **why) KITH_MUST_CHECK;
void store_reactions_free(struct store_reaction *r, size_t n);
/* Remember the platform id a stored message got when it was sent. */
enum kith_status store_message_set_external_id(struct store *st, int64_t id,
					       const char *external_id,
					       char **why) KITH_MUST_CHECK;

/* ---- LLM calls ---------------------------------------------------------- */

struct store_llm_call {
	const char *role;        /* "main", "util", … */
	const char *provider;
	const char *model;
	int64_t message_id;      /* the message that caused it, 0 = none */
	int ok;
	const char *error;       /* NULL on success */
	long http_status;
	int attempts;
	int64_t duration_ms;
	long prompt_tokens, completion_tokens;  /* -1 = unknown */
	const char *request;     /* JSON sent */
	const char *response;    /* JSON received */
};

enum kith_status store_llm_call_add(struct store *st, const struct store_llm_call *c,
				    int64_t *id, char **why) KITH_MUST_CHECK;

/* ---- memories ----------------------------------------------------------- */

/* Long-term memories (memory/memory.h is the interface others use; these are
 * its rows).  A stored memory (owned strings; free with store_memories_free). */
struct store_memory {
	int64_t id;
	char *scope;
	char *speaker;        /* NULL = unknown */
	char *text;
	char *tags;           /* comma-separated, NULL = none */
	char *context;        /* extra words that help find it, NULL = none */
	double salience;      /* 0..1 */
	int64_t created_at;   /* epoch ms it happened */
	int64_t stored_at;    /* epoch ms it was stored */
	char *source;         /* NULL = none */
	char *digest;
	char *embedded_with;  /* vector index key holding it, NULL = pending */
};

/* A memory to insert (borrowed strings). */
struct store_memory_new {
	const char *scope;
	const char *speaker;
	const char *text;
	const char *tags;
	const char *context;
	double salience;      /* clamped to 0..1 */
	int64_t created_at;   /* 0 = now */
	const char *source;
	const char *digest;   /* dedupe key within the scope (required) */
};

/* Insert m[0..n) in one transaction, each unless (scope, digest) exists.
 * ids[i] receives the new or the existing row; dup[i] (dup may be NULL)
 * whether it existed. */
enum kith_status store_memories_add(struct store *st, const struct store_memory_new *m,
				    size_t n, int64_t *ids, bool *dup, char **why) KITH_MUST_CHECK;
/* The rows of ids[0..n) that exist, in the order asked. */
enum kith_status store_memories_get(struct store *st, const int64_t *ids, size_t n,
				    struct store_memory **out, size_t *nout,
				    char **why) KITH_MUST_CHECK;
/* Up to `limit` rows (0 = all) not held by the index `key` (pending, or
 * embedded by another embedder), oldest first. */
enum kith_status store_memories_pending(struct store *st, const char *key, size_t limit,
					struct store_memory **out, size_t *n,
					char **why) KITH_MUST_CHECK;
/* How many rows are not held by the index `key`. */
enum kith_status store_memories_pending_count(struct store *st, const char *key, size_t *n,
					      char **why) KITH_MUST_CHECK;
/* How many memories are stored (every scope). */
enum kith_status store_memories_count(struct store *st, size_t *n, char **why) KITH_MUST_CHECK;
/* Record that the index `key` holds ids[0..n) (one transaction). */
enum kith_status store_memories_mark_embedded(struct store *st, const int64_t *ids, size_t n,
					      const char *key, char **why) KITH_MUST_CHECK;

/* A keyword match: higher score = better (BM25, sign flipped). */
struct store_memory_match {
	int64_t id;
	double score;
};

/* Keyword search over text, speaker, tags and context of one scope with
 * BM25, best first.  `query` is any user text: it is turned into a safe FTS5
 * query (store_fts_query), so it can never be a syntax error.  No usable
 * words = no matches.  *out is heap (caller frees). */
enum kith_status store_memories_search(struct store *st, const char *scope, const char *query,
				       size_t limit, struct store_memory_match **out, size_t *n,
				       char **why) KITH_MUST_CHECK;
/* The FTS5 query for user text: every word quoted, joined with OR (common
 * function words dropped unless nothing else is left); NULL when the text
 * has no words.  Caller frees. */
char *store_fts_query(const char *text);
/* The `limit` newest memories of a scope, newest first. */
enum kith_status store_memories_recent(struct store *st, const char *scope, size_t limit,
				       struct store_memory **out, size_t *n,
				       char **why) KITH_MUST_CHECK;
void store_memories_free(struct store_memory *rows, size_t n);

/* ---- presence ----------------------------------------------------------- */

/* SEL's presence (agent/presence.c owns the meaning; these are its rows).
 * Times are epoch ms, 0 = never. */
#define STORE_PRESENCE_LEVELS 8   /* hormone levels, mind/hormones.h order */

/* One conversation's mood and reply counters (a shared mood is a row keyed
 * by its own channel/conversation pair). */
struct store_presence_channel {
	double levels[STORE_PRESENCE_LEVELS];   /* [0, 1] */
	int64_t updated_at;        /* when the levels were last moved */
	int64_t last_reply_at;
	int messages_since_reply;
	int64_t last_snapshot_at;  /* last hormone sample written to HIM */
};

/* KITH_ENOTFOUND when the conversation has no row yet. */
enum kith_status store_presence_channel_get(struct store *st, const char *channel,
					    const char *conversation,
					    struct store_presence_channel *out,
					    char **why) KITH_MUST_CHECK;
/* Insert or replace the row. */
enum kith_status store_presence_channel_put(struct store *st, const char *channel,
					    const char *conversation,
					    const struct store_presence_channel *in,
					    char **why) KITH_MUST_CHECK;
/* Moods not moved since `before` (oldest first, at most `limit`), with
 * their keys: the hormone decay job brings them up to date.  Free with
 * store_presence_moods_free. */
struct store_presence_mood {
	char *channel, *conversation;
	struct store_presence_channel row;
};
enum kith_status store_presence_moods_stale(struct store *st, int64_t before, size_t limit,
					    struct store_presence_mood **out, size_t *n,
					    char **why) KITH_MUST_CHECK;
void store_presence_moods_free(struct store_presence_mood *m, size_t n);
/* kith spoke at `at`: last_reply_at = at, messages_since_reply = 0 (no-op
 * when the row does not exist). */
enum kith_status store_presence_channel_replied(struct store *st, const char *channel,
						const char *conversation, int64_t at,
						char **why) KITH_MUST_CHECK;

/* One person on one channel (owned strings; release with
 * store_presence_user_release). */
struct store_presence_user {
	char *channel;
	char *user_id;
	char *name;                /* handle / display name, NULL = unknown */
	char *last_conversation;   /* where they last spoke, NULL = unknown */
	bool last_direct;          /* ... and whether that is a DM */
	int64_t first_seen, last_seen, last_pinged_at;
	int64_t messages;
	double affinity, trust, bond, irritation;   /* [0, 1] */
	char *preferences;         /* JSON object text, never NULL after a get */
};

enum kith_status store_presence_user_get(struct store *st, const char *channel,
					 const char *user_id, struct store_presence_user *out,
					 char **why) KITH_MUST_CHECK;
/* Insert or replace the row (strings borrowed; preferences NULL = "{}"). */
enum kith_status store_presence_user_put(struct store *st, const struct store_presence_user *u,
					 char **why) KITH_MUST_CHECK;
void store_presence_user_release(struct store_presence_user *u);
void store_presence_users_free(struct store_presence_user *u, size_t n);
/* People silent since before `seen_before` and not pinged since
 * `pinged_before` (never pinged counts), with a known last conversation,
 * longest silent first, at most `limit` (0 = all). */
enum kith_status store_presence_users_quiet(struct store *st, int64_t seen_before,
					    int64_t pinged_before, size_t limit,
					    struct store_presence_user **out, size_t *n,
					    char **why) KITH_MUST_CHECK;
/* Record a ping at `now` if the person still qualifies (silent since
 * before seen_before, not pinged since pinged_before): *claimed says
 * whether this call took it.  Called before sending, so a crash between
 * the two loses a ping rather than doubling it. */
enum kith_status store_presence_user_claim_ping(struct store *st, const char *channel,
						const char *user_id, int64_t now,
						int64_t seen_before, int64_t pinged_before,
						bool *claimed, char **why) KITH_MUST_CHECK;
/* How many people are known (all channels). */
enum kith_status store_presence_users_count(struct store *st, size_t *n,
					    char **why) KITH_MUST_CHECK;

/* The persona sliders: one row (SEL's global_state), each in [0, 1]. */
struct store_persona {
	double teasing, emoji_rate, vulnerability, confidence, playfulness, verbosity, empathy;
	char preferred_length[16];   /* "short", "medium", "long" */
	int64_t messages_sent, positive_reactions, negative_reactions;
	int64_t updated_at;
};

enum kith_status store_persona_get(struct store *st, struct store_persona *out,
				   char **why) KITH_MUST_CHECK;
enum kith_status store_persona_put(struct store *st, const struct store_persona *p,
				   char **why) KITH_MUST_CHECK;

/* A write transaction (BEGIN IMMEDIATE) around a read-modify-write of
 * presence rows, so two workers never lose each other's update of a
 * shared mood.  end commits when rc is KITH_OK, else rolls back, and
 * returns the final status. */
enum kith_status store_presence_begin(struct store *st, char **why) KITH_MUST_CHECK;
enum kith_status store_presence_end(struct store *st, enum kith_status rc, char **why);

/* ---- backfill ----------------------------------------------------------- */

/* Progress of `kith backfill` in one Discord channel (cli/backfill.c owns
 * the meaning; owned strings, release with store_backfill_release).  A pass
 * pages from the newest message down; message ids are snowflake strings. */
struct store_backfill {
	char *channel_id;
	char *cursor;        /* oldest message fully processed in this pass (the
			      * next page is fetched before it); NULL = none yet */
	char *top;           /* newest message of this pass; NULL = none yet */
	char *floor;         /* newest message of the last completed pass: a new
			      * pass stops there; NULL = no pass completed */
	bool done;           /* this pass reached the floor or the channel start */
	int64_t messages;    /* messages read, over every pass */
	int64_t memories;    /* memories newly stored, over every pass */
	int64_t updated_at;  /* epoch ms */
};

/* The row of channel_id: KITH_ENOTFOUND when there is none. */
enum kith_status store_backfill_get(struct store *st, const char *channel_id,
				    struct store_backfill *out, char **why) KITH_MUST_CHECK;
/* Insert or replace the row (strings borrowed; updated_at set here). */
enum kith_status store_backfill_put(struct store *st, const struct store_backfill *b,
				    char **why) KITH_MUST_CHECK;
/* Forget the progress of channel_id (NULL = every channel); *n (may be
 * NULL) receives how many rows went. */
enum kith_status store_backfill_forget(struct store *st, const char *channel_id, size_t *n,
				       char **why) KITH_MUST_CHECK;
void store_backfill_release(struct store_backfill *b);

/* ---- search log --------------------------------------------------------- */

/* Every web search (tools/search.c owns the meaning; store/search_log.c
 * the rows).  A search to record (borrowed strings). */
struct store_search_log_new {
	const char *query;             /* as sent: redacted, no date prefix */
	const char *response;          /* cleaned answer; NULL = "" (failed) */
	const char *const *sources;    /* ranked URLs */
	size_t nsources;
	const char *image_url;         /* the image used, NULL = none */
	int64_t duration_ms;
	const char *error;             /* why it failed, NULL on success */
	const char *trigger;           /* NULL = "user_message" */
	const char *author_id;         /* who asked, may be NULL */
	int64_t created_at;            /* epoch ms; 0 = now */
};

/* A recorded search (owned; free with store_search_logs_free). */
struct store_search_log {
	int64_t id;
	int64_t created_at;
	char *query;
	char *response;
	char **sources;                /* NULL-terminated, never NULL */
	size_t nsources;
	char *image_url;               /* NULL = none */
	int64_t duration_ms;
	char *error;                   /* NULL = succeeded */
	char *trigger;
	char *author_id;               /* NULL = unknown */
	bool extracted;
};

/* Insert; *id (may be NULL) receives the new row id. */
enum kith_status store_search_log_add(struct store *st, const struct store_search_log_new *e,
				      int64_t *id, char **why) KITH_MUST_CHECK;
/* The `limit` newest searches (0 = all), newest first. */
enum kith_status store_search_log_recent(struct store *st, size_t limit,
					 struct store_search_log **out, size_t *n,
					 char **why) KITH_MUST_CHECK;
/* Up to `limit` (0 = all) rows not yet extracted, oldest first. */
enum kith_status store_search_log_unextracted(struct store *st, size_t limit,
					      struct store_search_log **out, size_t *n,
					      char **why) KITH_MUST_CHECK;
/* Mark row `id` as read by the knowledge extraction. */
enum kith_status store_search_log_mark_extracted(struct store *st, int64_t id,
						 char **why) KITH_MUST_CHECK;
void store_search_logs_free(struct store_search_log *rows, size_t n);

/* ---- knowledge ---------------------------------------------------------- */

/* Penny's knowledge base (knowledge/ owns the meaning; store/knowledge.c
 * and store/knowledge_prompts.c the rows).  Times are epoch ms, 0 = never /
 * NULL.  Embeddings are float32 vectors stored as little-endian BLOBs;
 * `dim` 0 means none yet. */

/* An entity (owned; free with store_entities_free / release one with
 * store_entity_release). */
struct store_entity {
	int64_t id;
	char *user;
	char *name;          /* lower-case, trimmed */
	char *tagline;       /* NULL = none */
	float *embedding;    /* NULL = pending */
	size_t dim;
	double heat;
	int heat_cooldown;
	bool vetoed;
	int64_t created_at, updated_at, last_enriched_at, last_notified_at;
};

/* An entity to insert (borrowed).  The name is lower-cased and trimmed. */
struct store_entity_new {
	const char *user;
	const char *name;
	const char *tagline;      /* NULL = none */
	const float *embedding;   /* NULL = pending */
	size_t dim;
	double heat;
	int64_t created_at;       /* 0 = now */
};

/* Insert.  When (user, name) exists already: KITH_EEXIST with *id set to
 * the existing row. */
enum kith_status store_entity_add(struct store *st, const struct store_entity_new *e,
				  int64_t *id, char **why) KITH_MUST_CHECK;
/* KITH_ENOTFOUND when there is no such row. */
enum kith_status store_entity_get(struct store *st, int64_t id, struct store_entity *out,
				  char **why) KITH_MUST_CHECK;
/* By user and name (name normalised as on insert); KITH_ENOTFOUND if none. */
enum kith_status store_entity_find(struct store *st, const char *user, const char *name,
				   struct store_entity *out, char **why) KITH_MUST_CHECK;
/* Up to `limit` (0 = all) entities of a user, most recently updated first. */
enum kith_status store_entities_for_user(struct store *st, const char *user, size_t limit,
					 struct store_entity **out, size_t *n,
					 char **why) KITH_MUST_CHECK;
/* Up to `limit` entities (any user) with no embedding, newest first. */
enum kith_status store_entities_without_embedding(struct store *st, size_t limit,
						  struct store_entity **out, size_t *n,
						  char **why) KITH_MUST_CHECK;
enum kith_status store_entity_set_heat(struct store *st, int64_t id, double heat,
				       int cooldown, bool vetoed, char **why) KITH_MUST_CHECK;
/* Set the tagline only when the entity has none. */
enum kith_status store_entity_set_tagline(struct store *st, int64_t id, const char *tagline,
					  char **why) KITH_MUST_CHECK;
enum kith_status store_entity_set_embedding(struct store *st, int64_t id, const float *vec,
					    size_t dim, char **why) KITH_MUST_CHECK;
/* Delete an entity with its facts, engagements and event links. */
enum kith_status store_entity_delete(struct store *st, int64_t id, char **why) KITH_MUST_CHECK;
void store_entity_release(struct store_entity *e);
void store_entities_free(struct store_entity *rows, size_t n);

/* A fact (owned; free with store_facts_free). */
struct store_fact {
	int64_t id;
	int64_t entity_id;
	char *content;
	float *embedding;              /* NULL = pending */
	size_t dim;
	int64_t source_search_log_id;  /* 0 = none */
	int64_t source_message_id;     /* 0 = none */
	int64_t learned_at;
	int64_t notified_at;           /* 0 = not told yet */
};

struct store_fact_new {
	int64_t entity_id;
	const char *content;
	const float *embedding;        /* NULL = pending */
	size_t dim;
	int64_t source_search_log_id;  /* 0 = none */
	int64_t source_message_id;     /* 0 = none */
	int64_t learned_at;            /* 0 = now */
	int64_t notified_at;           /* 0 = not told yet */
};

/* Insert; also bumps the entity's updated_at. */
enum kith_status store_fact_add(struct store *st, const struct store_fact_new *f, int64_t *id,
				char **why) KITH_MUST_CHECK;
/* Facts of an entity, oldest first. */
enum kith_status store_facts_for_entity(struct store *st, int64_t entity_id,
					struct store_fact **out, size_t *n,
					char **why) KITH_MUST_CHECK;
/* Facts of a user not yet told, newest first, leaving out vetoed entities. */
enum kith_status store_facts_unnotified(struct store *st, const char *user,
					struct store_fact **out, size_t *n,
					char **why) KITH_MUST_CHECK;
enum kith_status store_facts_without_embedding(struct store *st, size_t limit,
					       struct store_fact **out, size_t *n,
					       char **why) KITH_MUST_CHECK;
enum kith_status store_fact_set_embedding(struct store *st, int64_t id, const float *vec,
					  size_t dim, char **why) KITH_MUST_CHECK;
enum kith_status store_facts_mark_notified(struct store *st, const int64_t *ids, size_t n,
					   int64_t at, char **why) KITH_MUST_CHECK;
enum kith_status store_fact_count(struct store *st, int64_t entity_id, size_t *n,
				  char **why) KITH_MUST_CHECK;
void store_facts_free(struct store_fact *rows, size_t n);

/* Engagement types and valences are the seed's words: "message_mention",
 * "explicit_statement", "follow_up_question", "emoji_reaction",
 * "user_search", "search_discovery"; "positive", "negative", "neutral". */
struct store_engagement {
	int64_t id;
	char *user;
	int64_t entity_id;         /* 0 = none */
	char *type;
	char *valence;
	double strength;           /* 0..1 */
	char *source;              /* NULL = none */
	int64_t source_message_id; /* 0 = none */
	int64_t created_at;
};

struct store_engagement_new {
	const char *user;
	int64_t entity_id;
	const char *type;
	const char *valence;
	double strength;
	const char *source;
	int64_t source_message_id;
	int64_t created_at;        /* 0 = now */
};

enum kith_status store_engagement_add(struct store *st, const struct store_engagement_new *e,
				      int64_t *id, char **why) KITH_MUST_CHECK;
/* Engagements with an entity, oldest first. */
enum kith_status store_engagements_for_entity(struct store *st, int64_t entity_id,
					      struct store_engagement **out, size_t *n,
					      char **why) KITH_MUST_CHECK;
void store_engagements_free(struct store_engagement *rows, size_t n);

/* The extraction's queue.  Incoming messages it has not read yet, oldest
 * first, at most `limit` (0 = all). */
enum kith_status store_knowledge_messages_pending(struct store *st, size_t limit,
						  struct store_message **out, size_t *n,
						  char **why) KITH_MUST_CHECK;
/* Record that message `id` has been read (idempotent). */
enum kith_status store_knowledge_message_done(struct store *st, int64_t id,
					      char **why) KITH_MUST_CHECK;
/* Unextracted searches, oldest first: those with trigger penny_enrichment
 * when `enrichment`, else every other trigger. */
enum kith_status store_knowledge_logs_pending(struct store *st, bool enrichment, size_t limit,
					      struct store_search_log **out, size_t *n,
					      char **why) KITH_MUST_CHECK;
/* Cheap "anything to do?" counts for the scheduler's due check. */
struct store_knowledge_backlog {
	size_t messages, logs, enrichment_logs, missing_embeddings;
};
enum kith_status store_knowledge_backlog(struct store *st, struct store_knowledge_backlog *out,
					 char **why) KITH_MUST_CHECK;
/* A write transaction (BEGIN IMMEDIATE) around one unit of extraction, so
 * its rows and its progress mark land together.  end commits when rc is
 * KITH_OK, else rolls back, and returns the final status. */
enum kith_status store_knowledge_begin(struct store *st, char **why) KITH_MUST_CHECK;
enum kith_status store_knowledge_end(struct store *st, enum kith_status rc, char **why);

/* /learn prompts.  Status: "active", "completed", "cancelled". */
struct store_learn_prompt {
	int64_t id;
	char *user;
	char *prompt;
	char *status;
	int searches_remaining;
	int64_t created_at, updated_at, completed_at, announced_at;
};
enum kith_status store_learn_prompt_add(struct store *st, const char *user, const char *prompt,
					int searches, int64_t *id, char **why) KITH_MUST_CHECK;
/* Prompts with `status` (NULL = any) of `user` (NULL = every user), oldest
 * first. */
enum kith_status store_learn_prompts_list(struct store *st, const char *user,
					  const char *status, struct store_learn_prompt **out,
					  size_t *n, char **why) KITH_MUST_CHECK;
/* searches_remaining -= 1 (not below 0). */
enum kith_status store_learn_prompt_spend(struct store *st, int64_t id,
					  char **why) KITH_MUST_CHECK;
/* status = "completed" or "cancelled"; completed_at = now when completed. */
enum kith_status store_learn_prompt_set_status(struct store *st, int64_t id, const char *status,
					       char **why) KITH_MUST_CHECK;
enum kith_status store_learn_prompt_announced(struct store *st, int64_t id, int64_t at,
					      char **why) KITH_MUST_CHECK;
/* Link a search to the learn prompt that asked for it. */
enum kith_status store_search_log_set_learn_prompt(struct store *st, int64_t log_id,
						   int64_t prompt_id, char **why) KITH_MUST_CHECK;
void store_learn_prompts_free(struct store_learn_prompt *rows, size_t n);
/* /unlearn: forget a learn prompt with what its searches taught, in one
 * transaction: the facts that came from its searches go, entities left
 * without facts go (with their engagements), its searches and the prompt
 * itself go.  *names and *counts (may be NULL; free with
 * store_strings_free and free) receive each entity that lost facts, most
 * first, and how many it lost; *n how many.  KITH_ENOTFOUND when there is
 * no such prompt. */
enum kith_status store_learn_prompt_forget(struct store *st, int64_t id, char ***names,
					   size_t **counts, size_t *n, char **why) KITH_MUST_CHECK;

/* /follow prompts. */
struct store_follow_prompt {
	int64_t id;
	char *user;
	char *prompt;
	char *query_terms;   /* JSON array text */
	char *cron;
	char *timezone;
	int64_t created_at, last_polled_at, last_notified_at;
};
struct store_follow_prompt_new {
	const char *user, *prompt;
	const char *query_terms;   /* NULL = "[]" */
	const char *cron;          /* NULL = "0 9 * * *" */
	const char *timezone;      /* NULL = "UTC" */
};
enum kith_status store_follow_prompt_add(struct store *st, const struct store_follow_prompt_new *f,
					 int64_t *id, char **why) KITH_MUST_CHECK;
/* Every prompt of `user` (NULL = all): never polled first, then least
 * recently polled (round-robin order). */
enum kith_status store_follow_prompts_by_poll(struct store *st, const char *user,
					      struct store_follow_prompt **out, size_t *n,
					      char **why) KITH_MUST_CHECK;
enum kith_status store_follow_prompt_polled(struct store *st, int64_t id, int64_t at,
					    char **why) KITH_MUST_CHECK;
/* /unfollow deletes the row; KITH_ENOTFOUND if none. */
enum kith_status store_follow_prompt_delete(struct store *st, int64_t id,
					    char **why) KITH_MUST_CHECK;
void store_follow_prompts_free(struct store_follow_prompt *rows, size_t n);

/* News events. */
struct store_event {
	int64_t id;
	char *user;
	int64_t follow_prompt_id;  /* 0 = none */
	char *headline, *summary, *url;
	int64_t published_at, created_at, notified_at;
	float *embedding;
	size_t dim;
};
struct store_event_new {
	const char *user;
	int64_t follow_prompt_id;
	const char *headline, *summary, *url;
	int64_t published_at;
	const float *embedding;
	size_t dim;
};
/* Insert; KITH_EEXIST (with *id = the existing row) when the user already
 * has an event with that url. */
enum kith_status store_event_add(struct store *st, const struct store_event_new *e, int64_t *id,
				 char **why) KITH_MUST_CHECK;
enum kith_status store_event_link_entity(struct store *st, int64_t event_id, int64_t entity_id,
					 char **why) KITH_MUST_CHECK;
/* Events of `user` created at or after `since`, newest published first. */
enum kith_status store_events_recent(struct store *st, const char *user, int64_t since,
				     struct store_event **out, size_t *n,
				     char **why) KITH_MUST_CHECK;
enum kith_status store_event_mark_notified(struct store *st, int64_t id, int64_t at,
					   char **why) KITH_MUST_CHECK;
/* Entity ids linked to an event (caller frees *ids). */
enum kith_status store_event_entities(struct store *st, int64_t event_id, int64_t **ids,
				      size_t *n, char **why) KITH_MUST_CHECK;
void store_events_free(struct store_event *rows, size_t n);
/* How many follow prompts (any user) were never polled or last polled at
 * or before `polled_before` (store/knowledge_events.c; the EventAgent's
 * due check). */
enum kith_status store_follow_prompts_due_count(struct store *st, int64_t polled_before,
						size_t *n, char **why) KITH_MUST_CHECK;

/* For the proactive agents (store/knowledge_notify.c).  Every user with
 * entities, learn prompts or events, sorted (free with store_strings_free). */
enum kith_status store_knowledge_users(struct store *st, char ***users, size_t *n,
				       char **why) KITH_MUST_CHECK;
void store_strings_free(char **v, size_t n);
/* Cheap counts for the notifier's due check (no text, no embeddings). */
struct store_notify_pending {
	size_t learn_ready;  /* completed, unannounced /learn prompts, all searches extracted */
	size_t events;       /* events not yet told */
	size_t entities;     /* non-vetoed entities with heat > 0 and untold facts */
	size_t eligible;     /* … of which not cooling down */
};
enum kith_status store_knowledge_notify_pending(struct store *st, const char *user,
						struct store_notify_pending *out,
						char **why) KITH_MUST_CHECK;
/* Searches linked to a learn prompt, and how many are not extracted yet. */
enum kith_status store_learn_prompt_progress(struct store *st, int64_t prompt_id, size_t *logs,
					     size_t *unextracted, char **why) KITH_MUST_CHECK;
/* Facts found by a learn prompt's searches, by entity then id (content,
 * ids and times only; no embeddings). */
enum kith_status store_learn_prompt_facts(struct store *st, int64_t prompt_id,
					  struct store_fact **out, size_t *n,
					  char **why) KITH_MUST_CHECK;
/* The searches a learn prompt made, oldest first: *queries and *responses
 * (n each; "" for a failed search's answer) — free each with
 * store_strings_free (store/learn_logs.c). */
enum kith_status store_learn_prompt_searches(struct store *st, int64_t prompt_id,
					     char ***queries, char ***responses, size_t *n,
					     char **why) KITH_MUST_CHECK;
/* entities.last_notified_at / last_enriched_at = at. */
enum kith_status store_entity_notified(struct store *st, int64_t id, int64_t at,
				       char **why) KITH_MUST_CHECK;
enum kith_status store_entity_enriched(struct store *st, int64_t id, int64_t at,
				       char **why) KITH_MUST_CHECK;
enum kith_status store_entity_fact_counts(struct store *st, int64_t id, size_t *total,
					  size_t *unnotified, char **why) KITH_MUST_CHECK;
/* Engagements with an entity created after `since`. */
enum kith_status store_engagements_since(struct store *st, int64_t entity_id, int64_t since,
					 size_t *n, char **why) KITH_MUST_CHECK;
/* For the slash commands (store/knowledge_cmds.c).  The follow prompts of
 * `user`, oldest first (the numbering /follow and /unfollow share). */
enum kith_status store_follow_prompts_for_user(struct store *st, const char *user,
					       struct store_follow_prompt **out, size_t *n,
					       char **why) KITH_MUST_CHECK;
/* /unfollow: delete a follow prompt with its events (and their entity
 * links) in one transaction; *events (may be NULL) receives how many went.
 * KITH_ENOTFOUND when there is no such prompt. */
enum kith_status store_follow_prompt_forget(struct store *st, int64_t id, size_t *events,
					    char **why) KITH_MUST_CHECK;
/* Up to `limit` (0 = all) events of `user`, newest published first, without
 * embeddings (free with store_events_free). */
enum kith_status store_events_for_user(struct store *st, const char *user, size_t limit,
				       struct store_event **out, size_t *n,
				       char **why) KITH_MUST_CHECK;

/* User cron schedules (the cron text is parsed by sched/). */
struct store_user_schedule {
	int64_t id;
	char *user, *cron, *timezone, *prompt, *description;
	char *channel, *conversation;   /* where it was made (NULL on rows from
					 * before migration 9) */
	int64_t created_at, last_fired_at;
};
struct store_user_schedule_new {
	const char *user, *cron, *timezone, *prompt, *description;  /* tz NULL = UTC */
	const char *channel, *conversation;                          /* may be NULL */
};
enum kith_status store_user_schedule_add(struct store *st,
					 const struct store_user_schedule_new *s, int64_t *id,
					 char **why) KITH_MUST_CHECK;
/* Schedules of `user` (NULL = all), oldest first. */
enum kith_status store_user_schedules_list(struct store *st, const char *user,
					   struct store_user_schedule **out, size_t *n,
					   char **why) KITH_MUST_CHECK;
enum kith_status store_user_schedule_fired(struct store *st, int64_t id, int64_t at,
					   char **why) KITH_MUST_CHECK;
enum kith_status store_user_schedule_delete(struct store *st, int64_t id,
					    char **why) KITH_MUST_CHECK;
void store_user_schedules_free(struct store_user_schedule *rows, size_t n);

/* The user's profile (/profile): owned strings, NULL = unset. */
struct store_user_profile {
	char *name, *location, *timezone, *date_of_birth;  /* YYYY-MM-DD */
	int64_t updated_at;
};
/* KITH_ENOTFOUND when the user has no profile. */
enum kith_status store_user_profile_get(struct store *st, const char *user,
					struct store_user_profile *out, char **why) KITH_MUST_CHECK;
/* Insert or replace (strings borrowed). */
enum kith_status store_user_profile_put(struct store *st, const char *user,
					const struct store_user_profile *p,
					char **why) KITH_MUST_CHECK;
void store_user_profile_release(struct store_user_profile *p);

/* ---- commands and runtime settings (store/commands.c) ------------------ */

/* /config values kept in the database: key → value text. */
struct store_setting {
	char *key, *value, *updated_by;
	int64_t updated_at;
};
/* Every row, by key (free with store_settings_free). */
enum kith_status store_settings_list(struct store *st, struct store_setting **out, size_t *n,
				     char **why) KITH_MUST_CHECK;
void store_settings_free(struct store_setting *rows, size_t n);
/* Insert or replace.  `by` (may be NULL) is who changed it. */
enum kith_status store_setting_put(struct store *st, const char *key, const char *value,
				   const char *by, char **why) KITH_MUST_CHECK;
/* KITH_ENOTFOUND when there was no row. */
enum kith_status store_setting_delete(struct store *st, const char *key,
				      char **why) KITH_MUST_CHECK;
/* SQLite's data_version of this connection: changes when another
 * connection commits (a cheap "did anything change?" check). */
int64_t store_data_version(struct store *st);

/* One command run, for the command log. */
struct store_command_run {
	const char *channel, *conversation, *author_id;
	const char *command;   /* without the slash */
	const char *args;      /* may be NULL */
	const char *status;    /* "ok" or the error */
	const char *reply;     /* may be NULL */
	int64_t at;            /* 0 = now */
};
enum kith_status store_command_log_add(struct store *st, const struct store_command_run *r,
				       char **why) KITH_MUST_CHECK;
/* Rows in the command log (tests, /debug). */
enum kith_status store_command_log_count(struct store *st, int64_t *n,
					 char **why) KITH_MUST_CHECK;

/* /mute: a muted person gets no proactive messages (scheduled tasks still
 * run).  store_user_mute returns KITH_EEXIST when already muted; unmute
 * KITH_ENOTFOUND when not muted. */
enum kith_status store_user_mute(struct store *st, const char *user, char **why) KITH_MUST_CHECK;
enum kith_status store_user_unmute(struct store *st, const char *user, char **why) KITH_MUST_CHECK;
bool store_user_muted(struct store *st, const char *user);

#endif
