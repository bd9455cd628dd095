/* memory.h — kith's long-term memory: episodic memories with hybrid recall.
 *
 * A memory is a short text (a summary of something said or done) with its
 * speaker, tags, salience in [0, 1], the time it happened and a scope
 * ("global", or one channel/conversation when memory is per channel).  Rows
 * live in kith's database (store/memories.c, with an FTS5 keyword index);
 * their vectors live in HIM's semantic pyramid (him/vindex.h), one index per
 * (scope, embedder model, dimension).
 *
 * Recall fuses keyword relevance (BM25) with vector similarity, then adds
 * salience and recency, removes duplicates and keeps the results diverse.
 *
 * Storing never depends on the embedder: a memory whose embedding fails is
 * kept with its embedding pending and embedded later (memory_embed_pending,
 * also run by the background thread); keyword recall finds it meanwhile.
 * The same text in the same scope is never stored twice.
 *
 * Thread-safe; database work uses the caller's connection (struct store is
 * one connection per thread). */
#ifndef KITH_MEMORY_H
#define KITH_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct store;
struct embedder;
struct him;

#define MEMORY_SCOPE_MAX 64

struct memory_options {
	const char *him_dir;        /* HIM store for the vector pyramids (opened here) */
	size_t him_cache_bytes;     /* 0 = HIM's default */
	struct embedder *embedder;  /* borrowed; must outlive the memory */
	const char *db_path;        /* kith's database, for the background thread's
				     * own connection; NULL = no background work */
	int retry_interval_ms;      /* pending embeddings retried this often; 0 = 30000 */
};

struct memory;

enum kith_status memory_open(const struct memory_options *o, struct memory **out,
			     char **why) KITH_MUST_CHECK;
void memory_close(struct memory *m);

/* A memory to store (borrowed strings). */
struct memory_new {
	const char *scope;       /* "global" or a conversation key; any text up to
				  * MEMORY_SCOPE_MAX bytes */
	const char *speaker;     /* who said or did it; NULL = unknown */
	const char *text;        /* what is recalled */
	const char *tags;        /* comma-separated, NULL = none */
	double salience;         /* 0..1 */
	int64_t created_at;      /* epoch ms it happened; 0 = now */
	const char *source;      /* where it came from ("message:42"), NULL = none */
	const char *context;     /* extra words that help find it but are not
				  * recalled (e.g. the turns around it); indexed
				  * for keywords at a low weight; NULL = none */
};

/* Store n memories, embedding them in one batch.  ids[i] (may be NULL)
 * receives each row id; a memory already stored (same scope and text, after
 * whitespace and case folding) is not stored again and ids[i] is the
 * existing row, dup[i] (may be NULL) set.  An embedding failure is logged
 * and leaves the memories pending; it is not an error. */
enum kith_status memory_add(struct memory *m, struct store *st, const struct memory_new *in,
			    size_t n, int64_t *ids, bool *dup, char **why) KITH_MUST_CHECK;

/* Embed up to `max` pending memories (0 = all); *done (may be NULL) gets how
 * many were embedded.  Also adopts memories embedded by another embedder
 * (after a configuration change) into this embedder's index. */
enum kith_status memory_embed_pending(struct memory *m, struct store *st, size_t max,
				      size_t *done, char **why) KITH_MUST_CHECK;

struct memory_query {
	const char *scope;
	const char *text;        /* what to recall memories for */
	size_t limit;            /* results wanted; 0 = 10 */
	int64_t now_ms;          /* recency reference; 0 = now */
	bool no_recency;         /* rank by relevance only (evaluation) */
	double min_score;        /* drop hits whose relevance is below; 0 = keep all */
};

struct memory_hit {
	int64_t id;
	char *scope, *speaker, *text, *tags, *source;  /* owned; NULL when absent */
	double salience;
	int64_t created_at;
	double score;            /* final ranking score */
	double relevance;        /* fused keyword + vector relevance in [0, 1] */
	double vector_score;     /* cosine, 0 when not found by the vector side */
	double keyword_score;    /* normalised BM25, 0 when not found by keywords */
};

/* The best memories for q, best first. */
enum kith_status memory_recall(struct memory *m, struct store *st, const struct memory_query *q,
			       struct memory_hit **out, size_t *n, char **why) KITH_MUST_CHECK;
void memory_hits_free(struct memory_hit *h, size_t n);

/* The `limit` newest memories of a scope, newest first. */
enum kith_status memory_recent(struct memory *m, struct store *st, const char *scope,
			       size_t limit, struct memory_hit **out, size_t *n,
			       char **why) KITH_MUST_CHECK;

/* The HIM store the memory keeps its vectors in (borrowed; lives until
 * memory_close), for other HIM streams such as hormone history. */
struct him *memory_him(struct memory *m);

/* The scope of a conversation's memories, the rule the agent and backfill
 * share: `global_id` when set (GLOBAL_MEMORY_ENABLED with GLOBAL_MEMORY_ID),
 * else "<channel>:<conversation>" ("discord:1234"), hashed to
 * "conv-<40 hex>" when that would be longer than MEMORY_SCOPE_MAX. */
void memory_scope_for(const char *global_id, const char *channel, const char *conversation,
		      char out[MEMORY_SCOPE_MAX + 1]);

/* Counts for status commands: rows stored, embeddings pending for the
 * current embedder, and the vector indexes opened by this process. */
struct memory_index_stats {
	char *scope;                 /* owned */
	char *key;                   /* "<embedder id>:<dim>", owned */
	char *stream;                /* HIM stream of the index, owned */
	size_t vectors, delta, leaves;
	int depth;
	size_t ram_bytes;
};

struct memory_stats {
	size_t memories;             /* rows stored, every scope */
	size_t pending;              /* rows not in the current embedder's index
				      * (all rows not yet embedded while its
				      * dimension is unknown) */
	char *embedder;              /* embedder id, owned */
	int dim;                     /* 0 until known */
	struct memory_index_stats *indexes;   /* owned */
	size_t nindexes;
};

/* Fill *out (release with memory_stats_release).  Never calls the
 * embedder. */
enum kith_status memory_stats(struct memory *m, struct store *st, struct memory_stats *out,
			      char **why) KITH_MUST_CHECK;
void memory_stats_release(struct memory_stats *s);

/* Wait until every stored memory is embedded and merged into its index (tests,
 * evaluation).  False on timeout. */
bool memory_settle(struct memory *m, struct store *st, int timeout_ms);

#endif
