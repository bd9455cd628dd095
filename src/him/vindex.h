/* vindex.h — HIM's semantic pyramid: a vector index stored as HIM tiles.
 *
 * A quadtree over embedding space built by recursive 4-way clustering, so
 * that semantic neighbours are spatial neighbours.  Level-0 tiles are blocks
 * of up to 512 vectors (int8 with a per-vector scale) stored as
 * content-addressed HIM tiles of the index's stream; every internal node is
 * a tile one level up holding its children's centroids, and those upper
 * levels are kept in RAM.  A search scans at most 3 top-level tiles, descends
 * towards the most promising regions, loads at most K level-0 tiles, reranks
 * their vectors exactly, and stops at its acceptance target or its budget.
 *
 * New vectors land in a delta buffer that searches scan exhaustively, so they
 * are found at once; a background thread merges the delta into the pyramid
 * (splitting full leaves, rebuilding subtrees that have grown lopsided).
 * The delta buffer is persisted as a tile of its own before an add returns,
 * so nothing accepted is lost across a crash.  Opening an index rebuilds it
 * from its upper-level tiles without re-embedding anything.
 *
 * One index per (stream, snapshot, embedder model, dimension): the HIM
 * stream is derived from all of them (him_vindex_stream), and every tile
 * records the model and dimension, so vectors of different embedders never
 * mix.  Thread-safe: adds, searches and the merge run concurrently.
 *
 * Part of HIM: depends on core/ and the tile store only. */
#ifndef KITH_HIM_VINDEX_H
#define KITH_HIM_VINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "him/him.h"

/* Embedding dimensions accepted: 4096 covers today's models (384, 768,
 * 1024, 1536, 3072).  A level-0 tile still holds at most LEAF_MAX vectors,
 * so wider models make wider tiles (512 × 1536 dims ≈ 0.8 MB). */
#define HIM_VINDEX_MAX_DIM 4096
#define HIM_VINDEX_LEAF_MAX 512     /* vectors per level-0 tile */
#define HIM_VINDEX_MAX_K 256        /* results per search */

/* An embedder handed to HIM by whoever opens it (the agent, `kith him
 * serve`): fills out[n*dim] with L2-normalised vectors for n texts. */
struct him_embedder {
	const char *model;   /* e.g. "hash-v1", "ollama/nomic-embed-text" */
	int dim;
	enum kith_status (*embed)(void *ctx, const char *const *texts, size_t n, float *out,
				  char **why);
	void *ctx;
};

struct him_vindex_options {
	const char *stream;       /* base stream name, e.g. "emb", "episodic" */
	const char *snapshot_id;  /* created (no parents) when missing */
	const char *model;        /* the embedder's model id */
	int dim;                  /* 1..HIM_VINDEX_MAX_DIM */
	int leaf_max;             /* vectors per leaf before it splits; 0 = 512 */
	size_t delta_max;         /* delta size that wakes the merger at once; 0 = 4096 */
	int merge_interval_ms;    /* the merger also runs this often; 0 = 1000 */
	bool no_merger;           /* no background thread: merges happen only in
				   * him_vindex_flush and him_vindex_close (tests,
				   * one-shot tools) */
	size_t cache_bytes;       /* decoded level-0 tiles kept in RAM (LRU); 0 = the
				   * store's warm-tier budget (HIM_CACHE_MB) */
};

struct him_vindex;

/* Open (loading from the store's tiles) or create an index. */
enum kith_status him_vindex_open(struct him *h, const struct him_vindex_options *o,
				 struct him_vindex **out, char **why) KITH_MUST_CHECK;
/* Stops the merger after merging what is pending. */
void him_vindex_close(struct him_vindex *vi);

/* The HIM stream holding this index's tiles (owned by vi). */
const char *him_vindex_stream(const struct him_vindex *vi);
const char *him_vindex_model(const struct him_vindex *vi);
int him_vindex_dim(const struct him_vindex *vi);

/* Add n vectors (n*dim floats, normalised by the caller or not — they are
 * L2-normalised here) under caller-chosen ids.  Re-adding an id replaces
 * its vector.  Searchable and durable when this returns. */
enum kith_status him_vindex_add(struct him_vindex *vi, const int64_t *ids, const float *vecs,
				size_t n, char **why) KITH_MUST_CHECK;
/* Forget ids (absent ids are ignored). */
enum kith_status him_vindex_remove(struct him_vindex *vi, const int64_t *ids, size_t n,
				   char **why) KITH_MUST_CHECK;

/* Merge the delta buffer into the pyramid now and wait for it. */
enum kith_status him_vindex_flush(struct him_vindex *vi, char **why) KITH_MUST_CHECK;

struct him_vindex_search {
	int k;                /* results wanted, 1..HIM_VINDEX_MAX_K */
	int max_tiles;        /* level-0 tiles loaded at most; 0 = 8 */
	int budget_ms;        /* 0 = no deadline */
	double accept;        /* stop once estimated recall reaches this; 0 = 0.98 */
	const long (*bbox)[4];/* optional level-0 regions [x, y, w, h] to favour */
	size_t nbbox;
	bool exact;           /* brute force over every vector (tests, benchmarks) */
};

struct him_vindex_hit {
	int64_t id;
	float score;          /* cosine similarity */
};

struct him_vindex_stats {
	int top_tiles;        /* upper-level tiles scanned */
	int leaf_tiles;       /* level-0 tiles loaded */
	size_t vectors;       /* vectors scored exactly (leaves + delta) */
	size_t delta;         /* of which in the delta buffer */
	double est_recall;    /* the acceptance estimate when it stopped */
	bool budget_hit;
	/* The level-0 tiles loaded, in order (owned by the caller of search:
	 * release with him_vindex_stats_release). */
	char (*tile_ids)[HIM_ID_HEX + 1];
	long (*tile_xy)[2];
};
void him_vindex_stats_release(struct him_vindex_stats *s);

/* The best min(k, size) vectors for q (dim floats), best first, ties by
 * id.  hits has room for s->k; *nhits receives the count.  stats may be NULL. */
enum kith_status him_vindex_search(struct him_vindex *vi, const float *q,
				   const struct him_vindex_search *s, struct him_vindex_hit *hits,
				   size_t *nhits, struct him_vindex_stats *stats,
				   char **why) KITH_MUST_CHECK;

/* Score exactly the vectors of the named level-0 tiles of this index (read
 * by id, whatever the pyramid holds now) and return the best k: how a
 * recorded semantic query is replayed.  Unknown ids are KITH_ENOTFOUND. */
enum kith_status him_vindex_score_tiles(struct him_vindex *vi, const float *q,
					const char (*tile_ids)[HIM_ID_HEX + 1], size_t ntiles,
					int k, struct him_vindex_hit *hits, size_t *nhits,
					char **why) KITH_MUST_CHECK;

/* Size and shape, for metrics, benchmarks and `kith him` tools. */
struct him_vindex_info {
	size_t vectors;       /* total, including the delta */
	size_t delta;         /* not yet merged */
	size_t leaves;        /* level-0 tiles */
	int depth;            /* levels above level 0 */
	size_t ram_bytes;     /* centroids, delta and bookkeeping held in RAM */
	uint64_t merges;      /* merges completed */
};
void him_vindex_info(struct him_vindex *vi, struct him_vindex_info *out);

#endif
