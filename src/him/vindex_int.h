/* vindex_int.h — what the semantic pyramid's own files share (not for use
 * outside src/him/vindex*.c).
 *
 * Files and their jobs:
 *   vindex.c        open/close, adds and removes (the durable delta), flush, info
 *   vindex_search.c best-first search, exact search, score_tiles, the estimate
 *   vindex_build.c  recursive 4-way clustering and node construction
 *   vindex_merge.c  the merge (delta → pyramid, copy-on-write) and its thread
 *   vindex_tiles.c  tile payload formats, coordinates, the decoded-leaf LRU
 *   vindex_map.c    an int64-keyed open-addressing hash map
 *
 * Coordinates: a node at depth t (root 0) whose path has quadrant digits
 * d1..dt (bit 0 → x, bit 1 → y) lives at HIM level VX_DEPTH_MAX − t,
 * x = Σ (di & 1) << (t − i), y likewise; a leaf is stored at level 0 with
 * its coordinates shifted left by VX_DEPTH_MAX − t (its path padded with
 * zeros), so a tile's place never changes when the tree deepens.  The head
 * tile (the commit point: root slot and merged sequence number) lives at
 * (VX_HEAD_LEVEL, 0, 0), delta segments at (VX_SEG_LEVEL, seq, 0).
 *
 * Locks, always taken in this order: merge_mu (one merge at a time; the
 * merger alone touches tree_ids and node scratch) → tree_lock (searches
 * read; the merge's final swap writes) → delta.lock (adds write briefly).
 * add_mu serialises adds and removes so that sequence numbers follow the
 * order in which segments became durable. */
#ifndef KITH_HIM_VINDEX_INT_H
#define KITH_HIM_VINDEX_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "him/vindex.h"

#define VX_DEPTH_MAX 15          /* D: the root's level; leaves at depth ≤ D */
#define VX_HEAD_LEVEL 16
#define VX_SEG_LEVEL 20
#define VX_FORMAT 1              /* payload format version */
#define VX_MAGIC "HVX1"
#define VX_HDR_FIXED 32
#define VX_MODEL_MAX 200
#define VX_SLOT_FIXED 80         /* node slot bytes before the centroid */

enum vx_kind { VX_KIND_HEAD = 1, VX_KIND_NODE = 2, VX_KIND_LEAF = 3, VX_KIND_SEG = 4 };
enum vx_op { VX_OP_ADD = 1, VX_OP_REMOVE = 2 };

/* ---- int64 hash map (vindex_map.c) -------------------------------------- */

struct vx_map {
	int64_t *keys;
	uint64_t *vals;
	unsigned char *used;
	size_t n, cap;          /* cap a power of two, or 0 */
};
void vx_map_init(struct vx_map *m);
void vx_map_release(struct vx_map *m);
bool vx_map_get(const struct vx_map *m, int64_t key, uint64_t *val);
void vx_map_put(struct vx_map *m, int64_t key, uint64_t val);
bool vx_map_del(struct vx_map *m, int64_t key);

/* ---- decoded level-0 tiles and their LRU (vindex_tiles.c) ---------------- */

/* A level-0 tile decoded: immutable and reference-counted, so a search can
 * score it while the merge replaces it. */
struct vx_leaf {
	atomic_int ref;
	char tile_id[HIM_ID_HEX + 1];
	uint32_t n;
	const int64_t *ids;
	const float *scales;
	const int8_t *vecs;     /* n × dim */
	unsigned char *payload; /* the tile payload the pointers above point into */
	size_t len;
	struct vx_leaf *lru_prev, *lru_next, *hnext;   /* under the cache's mutex */
	bool cached;
};
void vx_leaf_ref(struct vx_leaf *l);
void vx_leaf_unref(struct vx_leaf *l);

struct vx_cache;
struct vx_cache *vx_cache_new(size_t budget);
void vx_cache_free(struct vx_cache *c);
/* A new reference, or NULL. */
struct vx_leaf *vx_cache_get(struct vx_cache *c, const char *tile_id);
/* The cache takes its own reference (evicting the least recently used). */
void vx_cache_put(struct vx_cache *c, struct vx_leaf *l);
size_t vx_cache_bytes(struct vx_cache *c);

/* ---- the tree ----------------------------------------------------------- */

struct vx_node {
	bool leaf;
	uint8_t depth;
	uint32_t path;          /* 2 bits per level, first digit highest */
	uint32_t count;         /* vectors below */
	float norm;             /* |mean of the members| = their mean cosine to centroid */
	float deff;             /* effective dimension of the members' spread */
	float *centroid;        /* unit, dim */
	char tile_id[HIM_ID_HEX + 1];   /* its node tile, or its level-0 tile */
	struct vx_node *child[4];       /* internal nodes; NULL = empty quadrant */
	int64_t *ids;           /* leaves: the ids in tile order */
	void *scratch;          /* the merge's bookkeeping (merge_mu) */
	bool fresh;             /* made by the merge in progress (merge_mu) */
};
void vx_node_free(struct vx_node *n);          /* this node only */
void vx_tree_free(struct vx_node *n);          /* and everything below */
int vx_level(const struct vx_node *n);
void vx_coords(int depth, uint32_t path, bool leaf, long *x, long *y);
/* The level-0 extent [x0, x0 + side) × [y0, y0 + side) of a node. */
void vx_extent(int depth, uint32_t path, long *x0, long *y0, long *side);
/* Height (0 for a leaf), number of leaves. */
int vx_height(const struct vx_node *n);
size_t vx_leaves(const struct vx_node *n);

/* ---- delta buffer -------------------------------------------------------- */

/* One add or remove not merged yet; immutable and reference-counted (the
 * merge holds the ones it is merging while adds replace them). */
struct vx_entry {
	atomic_int ref;
	int64_t id;
	uint64_t seq;
	bool del;               /* a tombstone */
	float scale;
	size_t pos;             /* index in delta.arr */
	int8_t v[];             /* dim bytes unless del */
};
void vx_entry_unref(struct vx_entry *e);

struct vx_delta {
	pthread_rwlock_t lock;
	struct vx_entry **arr;  /* every pending entry, adds and tombstones */
	size_t n, cap;
	size_t nadd;
	struct vx_map by_id;    /* id → struct vx_entry * */
	uint64_t last_seq;      /* newest seq inserted */
};

/* ---- the index ----------------------------------------------------------- */

struct him_vindex {
	struct him *h;
	char *stream, *snapshot, *model, *base;
	int dim;
	int leaf_max;
	size_t delta_max;
	int interval_ms;

	pthread_rwlock_t tree_lock;
	struct vx_node *root;   /* NULL = empty */
	char head_id[HIM_ID_HEX + 1];   /* "" = none yet */
	uint64_t merged_seq;    /* segments up to this are in the tree */
	size_t tree_count;

	pthread_mutex_t merge_mu;
	struct vx_map tree_ids; /* id → (depth << 32 | path) of its leaf; merge_mu */

	struct vx_delta delta;
	pthread_mutex_t add_mu;
	uint64_t next_seq;      /* add_mu */

	struct vx_cache *cache;

	pthread_mutex_t mu;     /* the merger thread's wake-ups */
	pthread_cond_t cv;
	pthread_t thread;
	bool has_thread, stop, kick;
	atomic_uint_fast64_t merges;
	atomic_uint_fast64_t merge_errors;
};

/* ---- payloads (vindex_tiles.c) -------------------------------------------- */

struct vx_hdr {
	int kind, dim, depth, op;
	uint32_t path, count;
	uint64_t aux;           /* head: merged seq; segment: its seq */
	size_t body;            /* offset of the body */
};
/* Append the header for vi to b (padded to 8 bytes). */
void vx_hdr_write(const struct him_vindex *vi, struct buf *b, const struct vx_hdr *hd);
/* Parse and check a payload's header against vi: magic, version, model,
 * dim; kind must be `kind`.  KITH_EPROTO with a reason. */
enum kith_status vx_hdr_read(const struct him_vindex *vi, const unsigned char *p, size_t n,
			     int kind, struct vx_hdr *hd, char **why) KITH_MUST_CHECK;
/* A leaf tile's payload → struct vx_leaf (takes ownership of payload). */
enum kith_status vx_leaf_decode(const struct him_vindex *vi, const char *tile_id,
				unsigned char *payload, size_t len, struct vx_leaf **out,
				char **why) KITH_MUST_CHECK;
/* A decoded level-0 tile of this index: LRU, else read through HIM. */
enum kith_status vx_leaf_load(struct him_vindex *vi, const char *tile_id, struct vx_leaf **out,
			      char **why) KITH_MUST_CHECK;
/* Node slot (de)serialisation: node tiles hold four, the head one. */
void vx_slot_write(const struct him_vindex *vi, struct buf *b, const struct vx_node *n);
enum kith_status vx_slot_read(const struct him_vindex *vi, const unsigned char *p, size_t len,
			      size_t *off, int depth, uint32_t path, struct vx_node **out,
			      char **why) KITH_MUST_CHECK;
/* Load the tree below an internal node's tile (open). */
enum kith_status vx_tree_load(struct him_vindex *vi, struct vx_node *n, char **why)
	KITH_MUST_CHECK;

/* ---- building (vindex_build.c) -------------------------------------------- */

struct vx_item {
	int64_t id;
	float scale;
	const int8_t *v;
};

/* Tiles a merge writes in one batch. */
struct vx_tile {
	struct him_tile_in in;
	unsigned char *owned;
	struct vx_leaf *leaf;   /* a reference, for level-0 tiles */
	char parent[HIM_ID_HEX + 1];
};
struct vx_batch {
	struct vx_tile *t;
	size_t n, cap;
};
void vx_batch_release(struct vx_batch *b);
/* Append a tile (payload taken over); parent may be NULL or "". */
void vx_batch_add(const struct him_vindex *vi, struct vx_batch *b, int level, long x, long y,
		  const char *dtype, unsigned char *payload, size_t len, struct vx_leaf *leaf,
		  const char *parent, char id[HIM_ID_HEX + 1]);

/* A leaf node for items (n ≤ HIM_VINDEX_LEAF_MAX) with its tile added to b. */
struct vx_node *vx_make_leaf(struct him_vindex *vi, const struct vx_item *items, size_t n,
			     int depth, uint32_t path, const char *parent, struct vx_batch *b);
/* An internal node over its children (already made), tile added to b.
 * Its spread is measured on items when given (nitems > 0), else taken as
 * the children's weighted mean.  NULL when every child is NULL. */
struct vx_node *vx_make_inner(struct him_vindex *vi, struct vx_node *const child[4], int depth,
			      uint32_t path, const struct vx_item *items, size_t nitems,
			      const char *parent, struct vx_batch *b);
/* The subtree for items (reordered in place) at depth/path by recursive
 * 4-way spherical k-means, deterministic.  NULL when n == 0. */
struct vx_node *vx_build(struct him_vindex *vi, struct vx_item *items, size_t n, int depth,
			 uint32_t path, const char *parent, struct vx_batch *b);
/* The child to insert v into: greatest centroid similarity. */
int vx_best_child(const struct him_vindex *vi, const struct vx_node *n, const float *v);

/* ---- merging (vindex_merge.c) --------------------------------------------- */

enum kith_status vx_merge(struct him_vindex *vi, char **why) KITH_MUST_CHECK;
void vx_merger_start(struct him_vindex *vi);
void vx_merger_stop(struct him_vindex *vi);
void vx_merger_kick(struct him_vindex *vi);
/* The head payload for root/merged seq into b. */
void vx_head_payload(const struct him_vindex *vi, const struct vx_node *root, uint64_t merged,
		     struct buf *b);

/* ---- delta (vindex.c) ------------------------------------------------------ */

/* Replace/insert e (the delta takes the caller's reference); delta.lock held. */
void vx_delta_insert(struct vx_delta *d, struct vx_entry *e);
/* Remove e if it is still the entry for its id; delta.lock held. */
void vx_delta_drop(struct vx_delta *d, struct vx_entry *e);

#endif
