/* memory_int.h — shared between the files of memory/.
 *
 * memory.c   lifecycle: HIM, the per-scope vector indexes, the background
 *            thread, settling
 * scope.c    names and keys: conversation scopes, HIM snapshot names from
 *            scopes, dedupe digests
 * memory_add.c  storing and embedding (now or later)
 * recall.c   hybrid recall: keyword and vector candidates, fusion, salience,
 *            recency, duplicates and diversity; recent memories
 * memory_stats.c  counts for /him_status
 * locomo.c, locomo_run.c  the LoCoMo file (parsed from a buffer, fuzzed)
 *            and the retrieval evaluation over it */
#ifndef KITH_MEMORY_INT_H
#define KITH_MEMORY_INT_H

#include <pthread.h>

#include "memory/memory.h"
#include "him/him.h"
#include "him/vindex.h"
#include "store/store.h"

#define MEMORY_STREAM "episodic"

struct memory_index {
	char *scope;
	char *key;                 /* embedder key it was opened for */
	struct him_vindex *vi;
};

struct memory {
	struct him *him;
	struct embedder *emb;          /* borrowed */
	struct him_embedder hemb;      /* the embedder as HIM sees it */

	pthread_mutex_t mu;            /* guards indexes and key */
	struct memory_index *indexes;
	size_t nindexes, capindexes;
	char *key;                     /* "<embedder id>:<dim>", NULL until the dim is known */

	pthread_mutex_t embed_mu;      /* one embedding pass at a time */

	/* background retries of pending embeddings */
	char *db_path;
	int retry_ms;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cv;
	bool bg_stop, bg_kick;
};

/* The index key of the embedder ("hash-v1:384"), probing a model's
 * dimension when not known yet.  Borrowed from m (lives until close). */
enum kith_status memory_key(struct memory *m, const char **key, char **why) KITH_MUST_CHECK;
/* The vector index of `scope` for the current embedder, opened lazily. */
enum kith_status memory_index_for(struct memory *m, const char *scope, struct him_vindex **out,
				  char **why) KITH_MUST_CHECK;
/* Ask the background thread for a pass now (no-op without one). */
void memory_kick(struct memory *m);

/* A valid HIM snapshot name for a scope (out has HIM_NAME_MAX + 1 bytes):
 * the scope with anything outside [A-Za-z0-9_.-] replaced; when anything
 * was replaced or cut, a short blake3 of the raw scope is appended so
 * distinct scopes never share a name. */
void memory_scope_name(const char *scope, char out[HIM_NAME_MAX + 1]);
/* The dedupe digest of (scope, text): blake3 hex of the scope and the text
 * with ASCII case folded and whitespace runs collapsed (65 bytes). */
void memory_digest(const char *scope, const char *text, char out[65]);
/* What gets embedded for a memory (caller frees). */
char *memory_embed_text(const char *speaker, const char *text, const char *context);

/* Embed rows (any scopes) and add them to their indexes; marks them. */
enum kith_status memory_embed_rows(struct memory *m, struct store *st,
				   const struct store_memory *rows, size_t n,
				   char **why) KITH_MUST_CHECK;

#endif
