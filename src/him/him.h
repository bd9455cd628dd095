/* him.h — HIM, the Hierarchical Image Memory: kith's content-addressed tile
 * store, usable in-process (the agent) and served over HTTP (`kith him
 * serve`, him/api.c).
 *
 * Memory is kept as tiles in streams (kv_cache, emb, skills, logs, audit and
 * any stream the agent names), snapshots (a DAG with LWW merges), pyramid
 * levels and (x, y) coordinates.  A tile's id is
 *     blake3(stream "|" snapshot_id "|" level "|" x "|" y "|" payload)
 * with decimal integers, so distinct coordinates never share an id.  Tiles
 * are zstd-compressed files under {dir}/{stream}/{snapshot}/{level}/{x}/{y}/
 * {tile_id[:12]}, optionally stored as a delta against their parent tile;
 * the catalogue is SQLite ({dir}/him.db).  Every read verifies the checksum.
 *
 * HIM depends on core/, SQLite, zstd and libsodium only (ARCHITECTURE §13):
 * an embedding index is plugged in through struct him_index_ops.
 *
 * All functions are thread-safe.  Strings in results are heap copies owned
 * by the result struct; release with the matching *_release(). */
#ifndef KITH_HIM_H
#define KITH_HIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"

#define HIM_NAME_MAX 64         /* stream and snapshot id length */
#define HIM_ID_HEX 64           /* tile ids and checksums: blake3 hex */
#define HIM_TILE_SIDE 512       /* tile width/height in pixels */
#define HIM_HALO 16             /* the optional halo */
#define HIM_MAX_LEVEL 31
#define HIM_MAX_COORD 2147483647L
#define HIM_MAX_PAYLOAD (64u << 20)   /* one tile's payload */
#define HIM_MAX_DELTA_DEPTH 4
#define HIM_DELTA_PROMOTE 0.30  /* a delta above this share of the full
				 * encoding is stored as a full tile */

/* ---- names and ids ----------------------------------------------------- */

/* A stream or snapshot id: [A-Za-z0-9_.-]{1,64}, not starting with '.', no
 * "..": nothing outside the store can be named.  `what` ("stream",
 * "snapshot_id") is used in *why. */
enum kith_status him_check_name(const char *what, const char *s, char **why) KITH_MUST_CHECK;
/* 64 lowercase hex chars. */
bool him_is_tile_id(const char *s);
/* tile_id for the given coordinates and payload (65 bytes with NUL). */
void him_tile_id(const char *stream, const char *snapshot_id, int level, long x, long y,
		 const void *payload, size_t n, char out[HIM_ID_HEX + 1]);

/* ---- tiles ------------------------------------------------------------- */

/* Exactly the spec's TileMeta. */
struct him_tile_meta {
	char tile_id[HIM_ID_HEX + 1];
	char *stream;
	char *snapshot_id;
	int level;
	long x, y;
	long shape[3];
	char *dtype;
	char *parent_tile_id;   /* NULL = none */
	int halo;               /* -1 = null */
	char checksum[HIM_ID_HEX + 1];
	uint64_t size_bytes;    /* raw payload size */
};

void him_tile_meta_release(struct him_tile_meta *m);
/* The spec's JSON shape (new reference). */
json_t *him_tile_meta_json(const struct him_tile_meta *m);

/* One tile to ingest (borrowed). */
struct him_tile_in {
	const char *stream;
	const char *snapshot_id;
	int level;
	long x, y;
	long shape[3];
	const char *dtype;
	const unsigned char *payload;
	size_t payload_len;
	int halo;                       /* -1 = null, else 0 or 16 */
	const char *parent_tile_id;     /* NULL = none; enables delta storage */
	const unsigned char *signature; /* 64-byte Ed25519 over the payload, or NULL */
	const char *tags;               /* free text for keyword search, or NULL */
	bool critical;                  /* pinned in the warm cache */
};

struct him;

struct him_options {
	const char *dir;                 /* HIM_MEMORY_DIR */
	size_t cache_bytes;              /* warm tier budget (HIM_CACHE_MB); 0 = 256 MiB */
	const unsigned char *signing_pk; /* 32-byte Ed25519 key: `skills` tiles must be
					  * signed by it; NULL = signatures not checked */
	int pin_touches;                 /* touches within 10 min that pin a tile; 0 = 8 */
};

enum kith_status him_open(const struct him_options *o, struct him **out, char **why)
	KITH_MUST_CHECK;
void him_close(struct him *h);
const char *him_dir(const struct him *h);

/* Ingest a batch atomically: either every tile is stored and catalogued, or
 * none.  Re-ingesting an identical tile changes nothing.  out[i] (n slots,
 * may be NULL) receives the metadata.  KITH_EINVAL: bad record (why names
 * which and what); KITH_ENOTFOUND: unknown snapshot (why lists them). */
enum kith_status him_put_tiles(struct him *h, const struct him_tile_in *in, size_t n,
			       struct him_tile_meta *out, char **why) KITH_MUST_CHECK;

/* The newest tile at a coordinate, and its payload (checksum verified;
 * KITH_EPROTO when the stored tile is corrupt — it is never served). */
enum kith_status him_get_tile(struct him *h, const char *stream, const char *snapshot_id,
			      int level, long x, long y, struct him_tile_meta *meta,
			      struct buf *payload, char **why) KITH_MUST_CHECK;
enum kith_status him_get_tile_by_id(struct him *h, const char *tile_id,
				    struct him_tile_meta *meta, struct buf *payload,
				    char **why) KITH_MUST_CHECK;

/* ---- snapshots --------------------------------------------------------- */

struct him_snapshot {
	char *snapshot_id;
	char **parents;
	size_t nparents;
	int64_t created_at_ms;
	json_t *tags;          /* object of strings */
	json_t *provenance;    /* {model, code_sha, cuda?, driver?, seed?} */
	char *merge_policy;    /* "lww" or "manual" */
};

void him_snapshot_release(struct him_snapshot *s);
json_t *him_snapshot_json(const struct him_snapshot *s);   /* spec shape */

/* Create `in` (created_at is set here).  KITH_EEXIST if the id is taken,
 * KITH_ENOTFOUND if a parent does not exist, KITH_EINVAL for bad fields. */
enum kith_status him_snapshot_create(struct him *h, const struct him_snapshot *in,
				     struct him_snapshot *out, char **why) KITH_MUST_CHECK;
enum kith_status him_snapshot_get(struct him *h, const char *id, struct him_snapshot *out,
				  char **why) KITH_MUST_CHECK;
/* Newest first; limit 0 = all. */
enum kith_status him_snapshot_list(struct him *h, size_t limit, struct him_snapshot **out,
				   size_t *n, char **why) KITH_MUST_CHECK;
void him_snapshots_free(struct him_snapshot *s, size_t n);

/* Merge `base` with `others` into a new snapshot whose parents are all of
 * them.  Per coordinate (stream, level, x, y) the tile with the highest
 * Lamport timestamp wins ("lww"); with "manual", differing tiles at one
 * coordinate are conflicts and nothing is created (KITH_ECONFLICT, the
 * conflicts listed in result->conflicts).  new_id NULL = derived from the
 * inputs; policy NULL = base's merge_policy. */
struct him_merge_result {
	char *snapshot_id;
	size_t tiles;          /* tiles in the merged snapshot */
	size_t resolved;       /* coordinates where LWW chose between parents */
	json_t *conflicts;     /* array (manual policy), or NULL */
};
enum kith_status him_merge(struct him *h, const char *base, const char *const *others,
			   size_t nothers, const char *new_id, const char *policy,
			   struct him_merge_result *out, char **why) KITH_MUST_CHECK;
void him_merge_result_release(struct him_merge_result *r);

/* ---- queries, traces and replay ---------------------------------------- */

struct him_query {
	const char *goal;
	const char *snapshot_id;
	const char *stream;      /* default "kv_cache" */
	int budget_ms;           /* > 0 */
	int max_tiles;           /* 1..32, default 8 */
	int level_max, level_min;/* level_range [max, min], default [2, 0] */
};

/* Plan a query.  *plan_json receives the QueryPlan as canonical JSON bytes
 * ({"acceptance", "budget_ms", "tile_ids": [{tile_id, stream, snapshot_id,
 * level, x, y}], "trace_id"}); the trace is recorded so that
 * him_replay() reproduces exactly these bytes. */
enum kith_status him_query(struct him *h, const struct him_query *q, char **plan_json,
			   char **why) KITH_MUST_CHECK;
/* Re-run a recorded trace; *plan_json is byte-identical to the original.
 * KITH_ENOTFOUND for an unknown trace or snapshot, KITH_ECONFLICT when the
 * trace belongs to another snapshot or planner version. */
enum kith_status him_replay(struct him *h, const char *snapshot_id, const char *trace_id,
			    char **plan_json, char **why) KITH_MUST_CHECK;

/* A prefetch hint, as in the spec. */
struct him_hint {
	const char *query_id;
	const char *snapshot_id;
	const char *stream;
	int level_max, level_min;
	const long (*bboxes)[4];   /* [x, y, w, h] */
	size_t nbboxes;
	double confidence;
};

/* Record hints (the planner favours hinted regions) and stage the tiles they
 * cover into the warm cache in the background; returns at once. */
enum kith_status him_prefetch(struct him *h, const struct him_hint *hints, size_t n,
			      char **why) KITH_MUST_CHECK;
/* Wait until queued prefetch work is done (tests, shutdown); timeout_ms < 0
 * waits forever.  Returns false on timeout. */
bool him_prefetch_drain(struct him *h, int timeout_ms);

/* Seam for the semantic index (issue 4): scores candidate regions for a
 * goal.  NULL = keyword matching over tile tags and text only. */
struct him_index_ops {
	/* For each of n candidate tiles (ids), write a relevance in [0, 1]. */
	enum kith_status (*score)(void *ctx, const char *goal, const char *snapshot_id,
				  const char *stream, const char *const *tile_ids, size_t n,
				  double *scores, char **why);
	void *ctx;
	const char *version;    /* part of the planner version in traces */
};
void him_set_index(struct him *h, const struct him_index_ops *ops);

/* ---- operations -------------------------------------------------------- */

/* Check every catalogued tile (file present, decodes, checksum, delta chain)
 * and every tile file (catalogued).  `report` gets one line per problem;
 * *problems their count.  KITH_OK even when problems are found. */
enum kith_status him_fsck(struct him *h, void (*report)(const char *line, void *ud), void *ud,
			  size_t *problems, char **why) KITH_MUST_CHECK;

/* Counts for status commands (stats.c); release with him_stats_release. */
struct him_stream_stats {
	char *stream;              /* owned */
	uint64_t tiles;            /* catalogued tiles */
	uint64_t bytes;            /* raw payload bytes */
	uint64_t stored_bytes;     /* bytes on disk (compressed, deltas) */
	size_t snapshots;          /* snapshots holding tiles of this stream */
};
struct him_stats {
	size_t snapshots;
	struct him_stream_stats *streams;   /* by name; owned */
	size_t nstreams;
	uint64_t tiles, bytes, stored_bytes;      /* totals over the streams */
	uint64_t cache_hits, cache_misses;        /* warm tier, since open */
	uint64_t cache_bytes, cache_entries, cache_pinned;
	size_t cache_budget;                      /* bytes */
};
enum kith_status him_stats(struct him *h, struct him_stats *out, char **why) KITH_MUST_CHECK;
void him_stats_release(struct him_stats *s);

/* Prometheus text exposition of the store's metrics. */
void him_metrics_text(struct him *h, struct buf *out);

#endif
