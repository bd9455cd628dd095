/* cmd_him.c — /him_status: HIM's health and counts, from inside the chat.
 *
 * SEL's /him_status asked a separate HIM service over HTTP; kith's HIM runs
 * in-process behind memory/, so this reads the store directly: the tiles
 * per stream, the warm cache, the memory rows and their vector indexes,
 * and the embedder.  Nothing here calls a model, so it answers at once even
 * when the embedder is down. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "him/him.h"
#include "memory/memory.h"

static void put_bytes(struct buf *b, uint64_t n)
{
	if (n < 1024)
		buf_printf(b, "%llu B", (unsigned long long)n);
	else if (n < (1u << 20))
		buf_printf(b, "%.1f KiB", (double)n / 1024.0);
	else if (n < (1ull << 30))
		buf_printf(b, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else
		buf_printf(b, "%.2f GiB", (double)n / (1024.0 * 1024.0 * 1024.0));
}

static void put_him(struct buf *b, struct him *h, const struct him_stats *s)
{
	uint64_t lookups = s->cache_hits + s->cache_misses;

	buf_printf(b, "HIM store: %s\n", him_dir(h));
	buf_printf(b, "Snapshots: %zu; tiles: %llu (", s->snapshots, (unsigned long long)s->tiles);
	put_bytes(b, s->bytes);
	buf_puts(b, " of payload, ");
	put_bytes(b, s->stored_bytes);
	buf_puts(b, " on disk)\n");
	for (size_t i = 0; i < s->nstreams; i++) {
		const struct him_stream_stats *x = &s->streams[i];

		buf_printf(b, "  %s: %llu tile%s in %zu snapshot%s, ", x->stream,
			   (unsigned long long)x->tiles, x->tiles == 1 ? "" : "s", x->snapshots,
			   x->snapshots == 1 ? "" : "s");
		put_bytes(b, x->bytes);
		buf_puts(b, "\n");
	}
	buf_printf(b, "Warm cache: %llu tile%s, ", (unsigned long long)s->cache_entries,
		   s->cache_entries == 1 ? "" : "s");
	put_bytes(b, s->cache_bytes);
	buf_puts(b, " of ");
	put_bytes(b, s->cache_budget);
	buf_printf(b, ", %llu pinned; ", (unsigned long long)s->cache_pinned);
	if (lookups)
		buf_printf(b, "hit rate %.0f%% (%llu hits, %llu misses)\n",
			   100.0 * (double)s->cache_hits / (double)lookups,
			   (unsigned long long)s->cache_hits, (unsigned long long)s->cache_misses);
	else
		buf_puts(b, "no reads yet\n");
}

static void put_memory(struct buf *b, const struct memory_stats *ms)
{
	buf_printf(b, "Memories: %zu stored, %zu waiting for an embedding\n", ms->memories,
		   ms->pending);
	if (ms->dim)
		buf_printf(b, "Embedder: %s (%d dimensions)\n", ms->embedder, ms->dim);
	else
		buf_printf(b, "Embedder: %s (dimension not probed yet)\n", ms->embedder);
	if (ms->nindexes == 0)
		buf_puts(b, "Vector indexes: none opened yet\n");
	for (size_t i = 0; i < ms->nindexes; i++) {
		const struct memory_index_stats *x = &ms->indexes[i];

		buf_printf(b, "Index %s (%s): %zu vector%s (%zu not merged yet), %zu leaf tile%s, "
			      "depth %d, ", x->scope, x->key, x->vectors, x->vectors == 1 ? "" : "s",
			   x->delta, x->leaves, x->leaves == 1 ? "" : "s", x->depth);
		put_bytes(b, x->ram_bytes);
		buf_puts(b, " in RAM\n");
	}
}

enum kith_status cmd_him_status(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct memory *m = ctx->deps ? ctx->deps->memory : NULL;
	struct him *h = m ? memory_him(m) : NULL;
	struct him_stats hs;
	struct memory_stats ms;
	struct buf b = BUF_INIT(0);
	enum kith_status rc;
	char *why = NULL;

	(void)args;
	if (!h) {
		*reply = xstrdup("Memory is off (MEMORY_ENABLED=false), so no HIM store is open.");
		return KITH_OK;
	}
	rc = him_stats(h, &hs, &why);
	if (rc) {
		*reply = xasprintf("HIM is not healthy: %s", why ? why : kith_strerror(rc));
		free(why);
		return rc;
	}
	put_him(&b, h, &hs);
	him_stats_release(&hs);
	rc = memory_stats(m, ctx->st, &ms, &why);
	if (rc) {
		buf_printf(&b, "Memories: cannot count them: %s\n", why ? why : kith_strerror(rc));
		free(why);
	} else {
		put_memory(&b, &ms);
		memory_stats_release(&ms);
	}
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	*reply = buf_detach(&b);
	return rc;
}
