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

#endif
