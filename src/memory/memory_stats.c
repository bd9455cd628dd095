/* memory_stats.c — counts for status commands (/him_status).
 *
 * Reads only what is at hand: the rows in the database and the indexes this
 * process has opened.  It never probes the embedder, so a status command
 * answers at once even when the embedding model is down; until the model's
 * dimension is known, "pending" counts the rows not embedded at all. */
#include "memory/memory_int.h"
#include "core/alloc.h"
#include "llm/embed.h"

#include <string.h>

enum kith_status memory_stats(struct memory *m, struct store *st, struct memory_stats *out,
			      char **why)
{
	enum kith_status rc;
	char *key = NULL;

	memset(out, 0, sizeof(*out));
	if (!m)
		return kith_why(why, KITH_EINVAL, "memory is off");
	rc = store_memories_count(st, &out->memories, why);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->mu);
	out->embedder = xstrdup(embedder_id(m->emb));
	out->dim = m->key ? m->hemb.dim : 0;
	key = m->key ? xstrdup(m->key) : NULL;
	if (m->nindexes)
		out->indexes = xcalloc(m->nindexes, sizeof(*out->indexes));
	for (size_t i = 0; i < m->nindexes; i++) {
		struct memory_index_stats *x = &out->indexes[i];
		struct him_vindex_info info;

		him_vindex_info(m->indexes[i].vi, &info);
		x->scope = xstrdup(m->indexes[i].scope);
		x->key = xstrdup(m->indexes[i].key);
		x->stream = xstrdup(him_vindex_stream(m->indexes[i].vi));
		x->vectors = info.vectors;
		x->delta = info.delta;
		x->leaves = info.leaves;
		x->depth = info.depth;
		x->ram_bytes = info.ram_bytes;
	}
	out->nindexes = m->nindexes;
	pthread_mutex_unlock(&m->mu);
	rc = store_memories_pending_count(st, key, &out->pending, why);
	free(key);
	if (rc)
		memory_stats_release(out);
	return rc;
}

void memory_stats_release(struct memory_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nindexes; i++) {
		free(s->indexes[i].scope);
		free(s->indexes[i].key);
		free(s->indexes[i].stream);
	}
	free(s->indexes);
	free(s->embedder);
	memset(s, 0, sizeof(*s));
}
