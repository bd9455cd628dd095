/* him_int.h — what HIM's own files share (not for use outside src/him/).
 *
 * Files and their jobs:
 *   names.c     ids, names, tile-id hashing, ingest record checks
 *   catalog.c   him.db schema, the connection pool, tile rows, keyword search,
 *               the Lamport clock
 *   access.c    access counts, batched in memory and written in one transaction
 *   traces.c    query traces and prefetch hints (rows the planner keeps)
 *   journal.c   the write section and its intent journal: crash recovery,
 *               batched fsync
 *   tilefile.c  the on-disk tile format: zstd, deltas, atomic writes, reads
 *   tiles.c     him_open / him_close, him_get_tile*: reads through the cache
 *   ingest.c    him_put_tiles / him_put_tiles_txn: validation, storage, rows
 *   cache.c     the warm tier: LRU with a byte budget and pins
 *   snapshot.c  snapshot create/get/list and JSON shapes
 *   merge.c     LWW / manual merges
 *   planner.c   him_query / him_replay: the API around the planner
 *   planner_sources.c  candidates from indexes (hints, pyramid tops, recent tiles)
 *   planner_keyword.c  per-word FTS5 windows and BM25 relevance
 *   planner_engine.c   scoring, the coarse-to-fine descent, acceptance
 *   planner_trace.c    the trace JSON that makes replay byte-identical
 *   prefetch.c  hints and the background staging thread
 *   metrics.c   counters, latency histograms, Prometheus text
 *   stats.c     counts of snapshots, tiles and bytes per stream (/him_status)
 *   fsck.c      whole-store checking
 *   hormones.c  hormone history: time-bucket pyramid of hormonal_state tiles
 *   vindex*.c   the semantic pyramid (vector index over tiles; vindex_int.h),
 *               vec.c its kernels, fvecs.c TEXMEX vector files
 *   wire.c, wire_snapshot.c, wire_records.c  JSON request bodies → structs
 *               (fuzzed), structs → JSON
 *   api.c       HTTP routes (httpd/) over all of the above; api_semantic.c
 *               (records, semantic queries and their replay), api_hormones.c */
#ifndef KITH_HIM_INT_H
#define KITH_HIM_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "him/him.h"

/* ---- input checks (names.c) -------------------------------------------- */

/* A record fit to ingest: names, level and coordinate ranges, shape, dtype,
 * halo, payload size, the stream's rules (raster sizes, kv_cache tensor
 * sizes, JSON lines for logs/audit) and, for `skills` when a signing key is
 * configured, the Ed25519 signature.  KITH_EINVAL; *why says what. */
enum kith_status him_check_tile_in(const struct him *h, const struct him_tile_in *t,
				   char **why) KITH_MUST_CHECK;
/* Append to q an FTS5 query for `goal` made only of quoted word tokens
 * joined by OR (no operator, column filter or quote can get through);
 * returns the number of tokens (0 = nothing to search for). */
int him_fts_query(const char *goal, struct buf *q);

/* ---- catalogue (catalog.c) ---------------------------------------------- */

/* A connection for the calling thread's current operation.  Connections are
 * pooled; each is used by one thread at a time.  Writes go through
 * him_write_begin/commit (journal.c; one writer at a time). */
sqlite3 *him_db_acquire(struct him *h);
void him_db_release(struct him *h, sqlite3 *db);
enum kith_status him_db_fail(sqlite3 *db, const char *doing, char **why);
/* him_db_acquire() returns NULL (and logs) only when a new connection
 * cannot be opened (out of file descriptors); callers report KITH_EDB. */

/* Statement helpers (catalog.c, traces.c): bind a string or NULL; a heap
 * copy of a text column (NULL for NULL; caller frees); step a statement
 * that returns no rows and finalize it (him_db_fail with `doing`). */
void him_bind_text(sqlite3_stmt *s, int i, const char *v);
char *him_col_dup(sqlite3_stmt *s, int i);
enum kith_status him_run(sqlite3 *db, sqlite3_stmt *s, const char *doing,
			 char **why) KITH_MUST_CHECK;

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
	bool has_signature;     /* the Ed25519 signature given at ingest */
	unsigned char signature[64];
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
/* The newest tile (lamport, then seq) at a coordinate; KITH_ENOTFOUND. */
enum kith_status him_row_at(sqlite3 *db, const char *stream, const char *snapshot_id, int level,
			    long x, long y, struct him_row *row, char **why) KITH_MUST_CHECK;
/* Insert a new tile row (r->seq is set) and its keyword-index entry from
 * tags and text (either may be NULL). */
enum kith_status him_row_insert(sqlite3 *db, struct him_row *r, const char *tags,
				const char *text, size_t text_len, char **why) KITH_MUST_CHECK;
/* *yes when a catalogued tile's file is the one at him_tile_relpath(stream,
 * snapshot_id, level, x, y, tile_id) — same coordinate and tile-id prefix. */
enum kith_status him_file_catalogued(sqlite3 *db, const char *stream, const char *snapshot_id,
				     int level, long x, long y, const char *tile_id, bool *yes,
				     char **why) KITH_MUST_CHECK;
/* A tile's file was rewritten with another encoding. */
enum kith_status him_row_set_storage(sqlite3 *db, const char *tile_id, int encoding, int depth,
				     uint64_t stored_bytes, char **why) KITH_MUST_CHECK;
/* Open him.db (schema, pool, Lamport clock) / close every pooled connection. */
enum kith_status him_catalog_open(struct him *h, char **why) KITH_MUST_CHECK;
void him_catalog_close(struct him *h);
/* Keyword relevance of the snapshot's tiles for `goal` (FTS5 bm25 over
 * tags and text payloads), normalised to [0, 1]; tiles without a match are
 * absent.  Calls `each` per matching tile. */
enum kith_status him_text_scores(sqlite3 *db, const char *snapshot_id, const char *stream,
				 const char *goal,
				 void (*each)(const char *tile_id, double score, void *ud),
				 void *ud, char **why) KITH_MUST_CHECK;
/* Record an access (count, time) for usage-based scoring and pins.  Notes
 * are batched in memory (access.c) and written in one transaction when 256
 * are pending or the oldest is a second old, so a read never waits for a
 * database write; counts in the catalogue may lag by that much. */
void him_note_access(struct him *h, const char *tile_id);
struct him_access *him_access_new(void);
/* Write pending notes now (close, tests). */
void him_access_flush(struct him *h);
void him_access_free(struct him_access *a);

/* ---- traces and hints (traces.c) ---------------------------------------- */

/* Query traces (planner.c records, replay reads).  Strings and plan are
 * heap copies owned by the struct. */
struct him_trace {
	char *trace_id;
	char *snapshot_id;
	char *planner_version;
	char *request;          /* JSON text */
	char *inputs;           /* JSON text */
	unsigned char *plan;    /* the exact QueryPlan bytes */
	size_t plan_len;
	int64_t created_at_ms;  /* set by him_trace_put when 0 */
};
/* KITH_EEXIST when trace_id is taken. */
enum kith_status him_trace_put(sqlite3 *db, const struct him_trace *t, char **why) KITH_MUST_CHECK;
/* KITH_ENOTFOUND for an unknown id. */
enum kith_status him_trace_get(sqlite3 *db, const char *trace_id, struct him_trace *out,
			       char **why) KITH_MUST_CHECK;
void him_trace_release(struct him_trace *t);

/* Prefetch hints (prefetch.c records, the planner reads). */
struct him_hint_row {
	int64_t id;
	char *query_id, *snapshot_id, *stream;
	int level_max, level_min;
	long (*bboxes)[4];      /* heap array of [x, y, w, h] */
	size_t nbboxes;
	double confidence;
	int64_t created_at_ms;
};
enum kith_status him_hints_add(sqlite3 *db, const struct him_hint *hints, size_t n,
			       char **why) KITH_MUST_CHECK;
/* Hints of (snapshot, stream) whose level range overlaps [level_min,
 * level_max], newest first (created_at DESC, id DESC); limit 0 = all. */
enum kith_status him_hints_recent(sqlite3 *db, const char *snapshot_id, const char *stream,
				  int level_max, int level_min, size_t limit,
				  struct him_hint_row **out, size_t *n, char **why) KITH_MUST_CHECK;
void him_hint_rows_free(struct him_hint_row *rows, size_t n);

/* ---- snapshots and the clock (snapshot.c, catalog.c) -------------------- */

/* Insert a snapshot inside the caller's write transaction (him_write_begin);
 * him_snapshot_create is begin + this + commit.  Same checks and errors. */
enum kith_status him_snapshot_insert(struct him *h, sqlite3 *db, const struct him_snapshot *in,
				     struct him_snapshot *out, char **why) KITH_MUST_CHECK;

/* The store-wide Lamport clock: next() ticks and persists. */
int64_t him_lamport_next(struct him *h, sqlite3 *db);
int64_t him_lamport_now(struct him *h);

/* ---- the write section and its intent journal (journal.c) -------------- */

/* One writer at a time: h->write_mu, then an exclusive flock on
 * {dir}/ingest.journal (writers in other processes), then BEGIN IMMEDIATE
 * — always in this order.  commit / rollback end the transaction and
 * unlock (rollback also on a failed commit).  Ingest, merge, snapshot
 * creation, traces and hints go through these; they do not nest
 * (him_put_tiles takes the section itself — inside one use
 * him_put_tiles_txn).
 *
 * Tile files written in a section are listed in the journal first
 * (him_journal_intend) and synced in one pass (him_write_sync, also done by
 * commit before COMMIT); after COMMIT the WAL is synced and the journal
 * cleared.  On rollback, and after a crash at him_open or at the next
 * section, the listed files that are not catalogued and temp files in
 * their directories are removed. */
enum kith_status him_write_begin(struct him *h, sqlite3 *db, char **why) KITH_MUST_CHECK;
enum kith_status him_write_commit(struct him *h, sqlite3 *db, char **why) KITH_MUST_CHECK;
void him_write_rollback(struct him *h, sqlite3 *db);
/* him_write_begin without the BEGIN: for him_put_tiles, which writes its
 * files before taking SQLite's write lock, then BEGINs itself and ends with
 * him_write_commit / him_write_rollback as usual. */
enum kith_status him_write_lock(struct him *h, sqlite3 *db, char **why) KITH_MUST_CHECK;
/* Append "{tile_id} {relpath}" for each tile to the journal and fdatasync
 * it; call before writing any of their files.  Inside a section only. */
enum kith_status him_journal_intend(struct him *h, const struct him_tile_meta *const *tiles,
				    size_t n, char **why) KITH_MUST_CHECK;
/* Make every tile file written in this section durable (one syncfs of the
 * store's filesystem); a no-op when there is nothing new. */
enum kith_status him_write_sync(struct him *h, char **why) KITH_MUST_CHECK;
/* him_open: open (create) the journal and undo what it lists, unless a
 * writer in another process holds it.  him_close: close it. */
enum kith_status him_journal_open(struct him *h, char **why) KITH_MUST_CHECK;
void him_journal_close(struct him *h);
#define HIM_JOURNAL_NAME "ingest.journal"

/* Tests only, off by default: a section that wrote tile files stops right
 * before COMMIT as if the process were killed there — SQLite drops the
 * transaction, the files and the journal stay for recovery to find; commit
 * returns KITH_EIO. */
void him_test_crash_before_commit(bool on);

struct him_journal {
	int fd;              /* {dir}/ingest.journal while the store is open */
	bool locked;         /* flock held: inside a write section */
	uint64_t len;        /* journal bytes written in this section */
	bool unsynced;       /* tile files written since the last sync */
};

/* ---- payloads (tiles.c, ingest.c, tilefile.c, cache.c) ------------------- */

enum { HIM_ENC_FULL = 0, HIM_ENC_DELTA = 1 };

/* him_put_tiles inside the caller's write section (him_write_begin on db):
 * files are journaled and written now; the caller's him_write_commit makes
 * them durable and the rows visible, its rollback removes them.
 * lamports (n entries) give each tile's Lamport time — merges keep the
 * winners' times; NULL = one new tick for the batch. */
enum kith_status him_put_tiles_txn(struct him *h, sqlite3 *db, const struct him_tile_in *in,
				   size_t n, const int64_t *lamports, struct him_tile_meta *out,
				   char **why) KITH_MUST_CHECK;
void him_tile_meta_copy(struct him_tile_meta *dst, const struct him_tile_meta *src);
/* "{stream}/{snapshot}/{level}/{x}/{y}/{tile_id[:12]}" (caller frees);
 * the names must have passed him_check_name. */
char *him_tile_relpath(const char *stream, const char *snapshot_id, int level, long x, long y,
		       const char *tile_id);
/* Absolute path of a tile's file (caller frees). */
char *him_tile_path(const struct him *h, const struct him_tile_meta *m);
/* Read and decode a tile's file (delta parents from the warm cache when
 * use_cache, else from their files), checksum verified.  *raw (caller
 * frees) gets the payload.  KITH_EPROTO with *reason a bare reason ("file
 * missing", "checksum mismatch", …) when the tile is corrupt. */
enum kith_status him_tile_read(struct him *h, const struct him_row *row, bool use_cache,
			       unsigned char **raw, size_t *n, char **reason) KITH_MUST_CHECK;

/* The file format (tilefile.c): a 112-byte header, then one zstd frame.
 *   0 "HIMT"  4 version (1)  5 encoding  6 depth  7 reserved (0)
 *   8 raw size (u64 LE)  16 tile id  48 checksum  80 delta base id
 * (ids as 32 raw bytes; the base is all zero for full tiles). */
#define HIM_TILEFILE_MAGIC "HIMT"
#define HIM_TILEFILE_VERSION 1
#define HIM_TILEFILE_HEADER 112
#define HIM_ZSTD_LEVEL 3
struct him_tilefile {
	int encoding, depth;
	uint64_t raw_size;
	char tile_id[HIM_ID_HEX + 1];
	char checksum[HIM_ID_HEX + 1];
	char base_id[HIM_ID_HEX + 1];   /* "" for full tiles */
};
/* Header + zstd frame of raw (a delta against base when base != NULL) in
 * *image (caller frees). */
enum kith_status him_tilefile_encode(const struct him_tilefile *hdr, const void *raw,
				     const void *base, size_t base_len, unsigned char **image,
				     size_t *len, char **why) KITH_MUST_CHECK;
/* Parse and sanity-check the header (KITH_EPROTO + reason). */
enum kith_status him_tilefile_parse(const void *image, size_t len, struct him_tilefile *hdr,
				    char **reason) KITH_MUST_CHECK;
/* Decode the frame (base = the delta base's raw payload) and verify the
 * size and checksum against the header (KITH_EPROTO + reason). */
enum kith_status him_tilefile_decode(const struct him_tilefile *hdr, const void *image,
				     size_t len, const void *base, size_t base_len,
				     unsigned char **raw, char **reason) KITH_MUST_CHECK;
/* Atomic but not durable: temp file in the same directory, rename; missing
 * parent directories are created (0700).  Nothing is synced — the write
 * section does that for the batch (him_write_sync). */
enum kith_status him_tilefile_write(const char *path, const void *image, size_t len,
				    char **why) KITH_MUST_CHECK;
/* mkdir -p (0700), syncing the parent of every directory it creates. */
enum kith_status him_make_dirs(const char *dir, char **why) KITH_MUST_CHECK;
enum kith_status him_fsync_dir(const char *dir, char **why) KITH_MUST_CHECK;
/* Whole file into *image (caller frees); KITH_ENOTFOUND when absent. */
enum kith_status him_tilefile_read(const char *path, unsigned char **image, size_t *len,
				   char **why) KITH_MUST_CHECK;
/* Temp files are named ".{name}.tmp.XXXXXX" in the tile's directory. */
#define HIM_TMP_MARK ".tmp."

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
/* Like him_cache_get without counting a hit/miss or touching the entry
 * (internal reads: delta bases, merge). */
bool him_cache_peek(struct him_cache *c, const char *tile_id, struct buf *out);
struct him_cache_stats {
	uint64_t hits, misses, evictions, bytes, entries, pinned;
	uint64_t prefetched_hits;   /* hits on tiles staged by prefetch */
};
void him_cache_stats(struct him_cache *c, struct him_cache_stats *out);

/* ---- metrics (metrics.c) ----------------------------------------------- */

/* Created by him_open, freed by him_close. */
struct him_metrics *him_metrics_new(void);
void him_metrics_free(struct him_metrics *m);
void him_metrics_query(struct him *h, int level, int k, double ms);
void him_metrics_get(struct him *h, double ms, bool hit);
void him_metrics_ingest(struct him *h, const char *stream, uint64_t bytes);
void him_metrics_prefetch(struct him *h, uint64_t staged, uint64_t requested);

/* ---- the store object -------------------------------------------------- */

struct him_metrics;
struct him_prefetcher;

/* prefetch.c: created at the end of him_open (the store is usable), freed
 * first in him_close (stops and joins its thread). */
struct him_prefetcher *him_prefetcher_new(struct him *h);
void him_prefetcher_free(struct him_prefetcher *p);

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
	struct him_journal journal;  /* under write_mu (journal.c) */
	int64_t lamport;             /* atomic; persisted in the meta table */

	struct him_cache *cache;
	struct him_metrics *metrics;
	struct him_prefetcher *prefetch;
	struct him_access *access;   /* batched access notes (access.c) */

	pthread_mutex_t index_mu;
	struct him_index_ops index;  /* .score NULL = keyword only */
	bool has_index;
};

#endif
