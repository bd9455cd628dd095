/* stats.c — the store's counts in one struct, for status commands
 * (/him_status) and tools; him_metrics_text() is the same information as
 * Prometheus text for scrapers.
 *
 * Counts come from the catalogue (one grouped query per table), the cache
 * figures from the warm tier's own counters, so this is cheap enough to
 * answer a chat command. */
#include "him/him_int.h"
#include "core/alloc.h"

#include <string.h>

enum kith_status him_stats(struct him *h, struct him_stats *out, char **why)
{
	sqlite3 *db = him_db_acquire(h);
	sqlite3_stmt *s = NULL;
	struct him_cache_stats cs;
	enum kith_status rc = KITH_OK;
	size_t cap = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (!db)
		return kith_why(why, KITH_EDB, "HIM catalogue: no connection");
	if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM snapshots", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = him_db_fail(db, "counting snapshots", why);
		goto out;
	}
	out->snapshots = (size_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT stream, COUNT(*), SUM(size_bytes), SUM(stored_bytes),"
				   " COUNT(DISTINCT snapshot_id) FROM tiles GROUP BY stream"
				   " ORDER BY stream", -1, &s, NULL) != SQLITE_OK) {
		rc = him_db_fail(db, "counting tiles", why);
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct him_stream_stats *x;

		out->streams = xgrow(out->streams, &cap, out->nstreams + 1, sizeof(*out->streams));
		x = &out->streams[out->nstreams++];
		x->stream = him_col_dup(s, 0);
		x->tiles = (uint64_t)sqlite3_column_int64(s, 1);
		x->bytes = (uint64_t)sqlite3_column_int64(s, 2);
		x->stored_bytes = (uint64_t)sqlite3_column_int64(s, 3);
		x->snapshots = (size_t)sqlite3_column_int64(s, 4);
		out->tiles += x->tiles;
		out->bytes += x->bytes;
		out->stored_bytes += x->stored_bytes;
	}
	if (r != SQLITE_DONE)
		rc = him_db_fail(db, "counting tiles", why);
out:
	sqlite3_finalize(s);
	him_db_release(h, db);
	if (rc) {
		him_stats_release(out);
		return rc;
	}
	memset(&cs, 0, sizeof(cs));
	if (h->cache)
		him_cache_stats(h->cache, &cs);
	out->cache_hits = cs.hits;
	out->cache_misses = cs.misses;
	out->cache_bytes = cs.bytes;
	out->cache_entries = cs.entries;
	out->cache_pinned = cs.pinned;
	out->cache_budget = h->opts.cache_bytes;
	return KITH_OK;
}

void him_stats_release(struct him_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nstreams; i++)
		free(s->streams[i].stream);
	free(s->streams);
	memset(s, 0, sizeof(*s));
}
