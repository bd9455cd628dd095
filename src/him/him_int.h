/* him_int.h — what HIM's own files share (not for use outside src/him/).
 *
 * Files and their jobs:
 *   names.c     ids, names, tile-id hashing
 *   catalog.c   him.db schema, the connection pool, tile and snapshot rows
 *   tilefile.c  the on-disk tile format: zstd, deltas, atomic writes, reads
 *   tiles.c     him_put_tiles / him_get_tile*: validation, storage, cache
 *   cache.c     the warm tier: LRU with a byte budget and pins
 *   snapshot.c  snapshot create/get/list and JSON shapes
 *   merge.c     LWW / manual merges
 *   planner.c   query planning (coarse to fine), traces, replay
 *   prefetch.c  hints and the background staging thread
 *   metrics.c   counters, latency histograms, Prometheus text
 *   fsck.c      whole-store checking
 *   wire.c      JSON request bodies → structs (fuzzed), structs → JSON
 *   api.c       HTTP routes (httpd/) over all of the above */
#ifndef KITH_HIM_INT_H
#define KITH_HIM_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "him/him.h"

/* ---- catalogue (catalog.c) ---------------------------------------------- */

/* A connection for the calling thread's current operation.  Connections are
 * pooled; each is used by one thread at a time.  Writes go through
 * him_write_begin/commit (BEGIN IMMEDIATE; one writer at a time). */
sqlite3 *him_db_acquire(struct him *h);
void him_db_release(struct him *h, sqlite3 *db);
enum kith_status him_db_fail(sqlite3 *db, const char *doing, char **why);

/* A catalogued tile. */
struct him_row {
	struct him_tile_meta meta;
	int64_t lamport;        /* logical time of its ingest (merges keep it) */
	int64_t seq;            /* insertion order, tie-breaker */
	int64_t access_count;
	int64_t last_access_ms; /* 0 = never */
	int encoding;           /* HIM_ENC_* */
	int depth;              /* delta chain depth, 0 = full */
	uint64_t stored_bytes;  /* size of the file */
	bool critical;
};
void him_row_release(struct him_row *r);
void him_rows_free(struct him_row *rows, size_t n);

/* Tiles of a snapshot, filtered by stream (NULL = all) and level range,
 * with lamport <= lamport_max (0 = no limit), ordered by level, x, y, seq.
 * Used by the planner, merge, prefetch and fsck. */
enum kith_status him_rows_for(sqlite3 *db, const char *snapshot_id, const char *stream,
			      int level_max, int level_min, int64_t lamport_max,
			      struct him_row **rows, size_t *n, char **why) KITH_MUST_CHECK;
enum kith_status him_row_by_id(sqlite3 *db, const char *tile_id, struct him_row *row,
			       char **why) KITH_MUST_CHECK;
/* Keyword relevance of the snapshot's tiles for `goal` (FTS5 bm25 over
 * tags and text payloads), normalised to [0, 1]; tiles without a match are
 * absent.  Calls `each` per matching tile. */
enum kith_status him_text_scores(sqlite3 *db, const char *snapshot_id, const char *stream,
				 const char *goal,
				 void (*each)(const char *tile_id, double score, void *ud),
				 void *ud, char **why) KITH_MUST_CHECK;
/* Record an access (count, time) for usage-based scoring and pins. */
void him_note_access(struct him *h, const char *tile_id);

/* The store-wide Lamport clock: next() ticks and persists. */
int64_t him_lamport_next(struct him *h, sqlite3 *db);
int64_t him_lamport_now(struct him *h);

/* ---- payloads (tiles.c, tilefile.c, cache.c) ----------------------------- */

enum { HIM_ENC_FULL = 0, HIM_ENC_DELTA = 1 };

/* The raw payload of a catalogued tile: warm cache first, else the file
 * (decoding delta chains), checksum verified.  `count_access` false for
 * internal reads (merge, fsck) that must not look like use. */
enum kith_status him_load_payload(struct him *h, const struct him_row *row, bool count_access,
				  struct buf *payload, char **why) KITH_MUST_CHECK;
/* Stage a tile into the warm cache without counting an access (prefetch).
 * Returns true when it was already warm. */
bool him_cache_stage(struct him *h, const struct him_row *row);

/* Warm tier. */
struct him_cache;
struct him_cache *him_cache_new(size_t budget_bytes, int pin_touches);
void him_cache_free(struct him_cache *c);
/* Copy of the payload if present (true) — counts a hit or a miss. */
bool him_cache_get(struct him_cache *c, const char *tile_id, struct buf *out, bool *was_prefetched);
void him_cache_put(struct him_cache *c, const char *tile_id, const void *p, size_t n,
		   bool critical, bool prefetched);
bool him_cache_contains(struct him_cache *c, const char *tile_id);
struct him_cache_stats {
	uint64_t hits, misses, evictions, bytes, entries, pinned;
	uint64_t prefetched_hits;   /* hits on tiles staged by prefetch */
};
void him_cache_stats(struct him_cache *c, struct him_cache_stats *out);

/* ---- metrics (metrics.c) ----------------------------------------------- */

void him_metrics_query(struct him *h, int level, int k, double ms);
void him_metrics_get(struct him *h, double ms, bool hit);
void him_metrics_ingest(struct him *h, const char *stream, uint64_t bytes);
void him_metrics_prefetch(struct him *h, uint64_t staged, uint64_t requested);

/* ---- the store object -------------------------------------------------- */

struct him_metrics;
struct him_prefetcher;

struct him {
	char *dir;
	char *db_path;
	struct him_options opts;
	unsigned char signing_pk[32];
	bool verify_signatures;

	pthread_mutex_t pool_mu;     /* guards the connection pool */
	sqlite3 **pool;
	size_t npool, pool_cap;

	pthread_mutex_t write_mu;    /* one writer: ingest, merge, snapshot create */
	int64_t lamport;             /* atomic; persisted in the meta table */

	struct him_cache *cache;
	struct him_metrics *metrics;
	struct him_prefetcher *prefetch;

	pthread_mutex_t index_mu;
	struct him_index_ops index;  /* .score NULL = keyword only */
	bool has_index;
};

#endif
