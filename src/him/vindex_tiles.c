/* vindex_tiles.c — the semantic pyramid's tile payloads, coordinates and
 * the LRU of decoded level-0 tiles.
 *
 * Every payload starts with the same header, checked on every load, so
 * tiles of another model, dimension or format version are refused, never
 * mixed (little endian, 8-byte aligned body):
 *   0 "HVX1"  4 u16 format  6 u16 kind  8 u16 dim  10 u8 depth  11 u8 op
 *   12 u32 path  16 u32 count  20 u32 model length  24 u64 aux
 *   32 model id, zero-padded to a multiple of 8
 * Bodies: leaf = i64 ids[n] | f32 scales[n] | i8 vectors[n][dim];
 * node = 4 slots, head = 1 slot (aux = merged sequence number), where a
 * slot is u8 present | u8 leaf | u16 0 | u32 count | f32 norm | f32 deff |
 * char tile_id[64] | f32 centroid[dim] | (leaf) i64 ids[count];
 * segment = i64 ids[n] | (op add) f32 scales[n] | i8 vectors[n][dim].
 * A parent's slot carries its leaf children's ids so that opening the
 * index learns where every id lives without reading a single leaf.
 *
 * Decoded leaves are immutable and reference-counted; the LRU keeps them
 * under a byte budget so a search pays SQLite + file + zstd + BLAKE3 only
 * the first time it touches a leaf. */
#include "him/vindex_int.h"
#include "core/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vindex tile payloads are read in place: little-endian hosts only"
#endif

/* ---- coordinates and nodes ------------------------------------------------ */

void vx_coords(int depth, uint32_t path, bool leaf, long *x, long *y)
{
	long cx = 0, cy = 0;

	for (int i = 0; i < depth; i++) {
		uint32_t d = (path >> (2 * (depth - 1 - i))) & 3;

		cx = (cx << 1) | (long)(d & 1);
		cy = (cy << 1) | (long)(d >> 1);
	}
	if (leaf) {
		cx <<= VX_DEPTH_MAX - depth;
		cy <<= VX_DEPTH_MAX - depth;
	}
	*x = cx;
	*y = cy;
}

void vx_extent(int depth, uint32_t path, long *x0, long *y0, long *side)
{
	vx_coords(depth, path, true, x0, y0);
	*side = 1L << (VX_DEPTH_MAX - depth);
}

int vx_level(const struct vx_node *n)
{
	return n->leaf ? 0 : VX_DEPTH_MAX - n->depth;
}

void vx_node_free(struct vx_node *n)
{
	if (!n)
		return;
	free(n->centroid);
	free(n->ids);
	free(n);
}

void vx_tree_free(struct vx_node *n)
{
	if (!n)
		return;
	for (int q = 0; q < 4; q++)
		vx_tree_free(n->child[q]);
	vx_node_free(n);
}

int vx_height(const struct vx_node *n)
{
	int h = 0;

	if (!n || n->leaf)
		return 0;
	for (int q = 0; q < 4; q++)
		if (n->child[q]) {
			int c = vx_height(n->child[q]) + 1;

			h = c > h ? c : h;
		}
	return h;
}

size_t vx_leaves(const struct vx_node *n)
{
	size_t k = 0;

	if (!n)
		return 0;
	if (n->leaf)
		return 1;
	for (int q = 0; q < 4; q++)
		k += vx_leaves(n->child[q]);
	return k;
}

/* ---- header --------------------------------------------------------------- */

static void put(struct buf *b, const void *p, size_t n)
{
	if (buf_append(b, p, n) != KITH_OK)
		KITH_BUG("vindex payload buffer is capped");
}

static void put_u16(struct buf *b, uint16_t v) { put(b, &v, 2); }
static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void put_f32(struct buf *b, float v) { put(b, &v, 4); }

static void pad8(struct buf *b)
{
	static const char zero[8];

	if (b->len % 8)
		put(b, zero, 8 - b->len % 8);
}

void vx_hdr_write(const struct him_vindex *vi, struct buf *b, const struct vx_hdr *hd)
{
	uint8_t depth = (uint8_t)hd->depth, op = (uint8_t)hd->op;
	size_t ml = strlen(vi->model);

	put(b, VX_MAGIC, 4);
	put_u16(b, VX_FORMAT);
	put_u16(b, (uint16_t)hd->kind);
	put_u16(b, (uint16_t)vi->dim);
	put(b, &depth, 1);
	put(b, &op, 1);
	put_u32(b, hd->path);
	put_u32(b, hd->count);
	put_u32(b, (uint32_t)ml);
	put_u64(b, hd->aux);
	put(b, vi->model, ml);
	pad8(b);
}

static uint16_t get_u16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static float get_f32(const unsigned char *p) { float v; memcpy(&v, p, 4); return v; }

static const char *kind_name(int kind)
{
	switch (kind) {
	case VX_KIND_HEAD: return "head";
	case VX_KIND_NODE: return "node";
	case VX_KIND_LEAF: return "leaf";
	case VX_KIND_SEG: return "delta segment";
	default: return "unknown";
	}
}

enum kith_status vx_hdr_read(const struct him_vindex *vi, const unsigned char *p, size_t n,
			     int kind, struct vx_hdr *hd, char **why)
{
	uint32_t ml;
	size_t body;

	if (n < VX_HDR_FIXED || memcmp(p, VX_MAGIC, 4) != 0)
		return kith_why(why, KITH_EPROTO, "not a vector-index tile");
	if (get_u16(p + 4) != VX_FORMAT)
		return kith_why(why, KITH_EPROTO, "vector-index tile format %u, this kith reads %d",
				get_u16(p + 4), VX_FORMAT);
	memset(hd, 0, sizeof(*hd));
	hd->kind = get_u16(p + 6);
	hd->dim = get_u16(p + 8);
	hd->depth = p[10];
	hd->op = p[11];
	hd->path = get_u32(p + 12);
	hd->count = get_u32(p + 16);
	ml = get_u32(p + 20);
	hd->aux = get_u64(p + 24);
	if (ml > VX_MODEL_MAX || VX_HDR_FIXED + (size_t)ml > n)
		return kith_why(why, KITH_EPROTO, "vector-index tile header is truncated");
	if (ml != strlen(vi->model) || memcmp(p + VX_HDR_FIXED, vi->model, ml) != 0)
		return kith_why(why, KITH_EPROTO,
				"vector-index tile belongs to model \"%.*s\", not \"%s\"",
				(int)(ml < 64 ? ml : 64), (const char *)p + VX_HDR_FIXED, vi->model);
	if (hd->dim != vi->dim)
		return kith_why(why, KITH_EPROTO, "vector-index tile has dimension %d, not %d",
				hd->dim, vi->dim);
	if (hd->kind != kind)
		return kith_why(why, KITH_EPROTO, "expected a %s tile, found a %s tile",
				kind_name(kind), kind_name(hd->kind));
	if (hd->depth > VX_DEPTH_MAX)
		return kith_why(why, KITH_EPROTO, "vector-index tile depth %d is out of range",
				hd->depth);
	body = (VX_HDR_FIXED + ml + 7) & ~(size_t)7;
	if (body > n)
		return kith_why(why, KITH_EPROTO, "vector-index tile header is truncated");
	hd->body = body;
	return KITH_OK;
}

/* ---- leaves ---------------------------------------------------------------- */

void vx_leaf_ref(struct vx_leaf *l)
{
	atomic_fetch_add(&l->ref, 1);
}

void vx_leaf_unref(struct vx_leaf *l)
{
	if (l && atomic_fetch_sub(&l->ref, 1) == 1) {
		free(l->payload);
		free(l);
	}
}

enum kith_status vx_leaf_decode(const struct him_vindex *vi, const char *tile_id,
				unsigned char *payload, size_t len, struct vx_leaf **out,
				char **why)
{
	struct vx_hdr hd;
	struct vx_leaf *l;
	size_t need;
	enum kith_status rc = vx_hdr_read(vi, payload, len, VX_KIND_LEAF, &hd, why);

	*out = NULL;
	if (!rc && (__builtin_mul_overflow((size_t)hd.count, (size_t)(12 + vi->dim), &need) ||
		    need != len - hd.body || !hd.count))
		rc = kith_why(why, KITH_EPROTO, "leaf tile %s: %u vectors do not fill %zu bytes",
			      tile_id, hd.count, len - hd.body);
	if (rc) {
		free(payload);
		return rc;
	}
	l = xcalloc(1, sizeof(*l));
	atomic_init(&l->ref, 1);
	snprintf(l->tile_id, sizeof(l->tile_id), "%s", tile_id);
	l->n = hd.count;
	l->payload = payload;
	l->len = len;
	l->ids = (const int64_t *)(const void *)(payload + hd.body);
	l->scales = (const float *)(const void *)(payload + hd.body + 8 * (size_t)hd.count);
	l->vecs = (const int8_t *)(payload + hd.body + 12 * (size_t)hd.count);
	for (uint32_t i = 0; i < l->n; i++)
		if (!isfinite(l->scales[i]) || l->scales[i] < 0) {
			vx_leaf_unref(l);
			return kith_why(why, KITH_EPROTO, "leaf tile %s has a bad scale", tile_id);
		}
	*out = l;
	return KITH_OK;
}

enum kith_status vx_leaf_load(struct him_vindex *vi, const char *tile_id, struct vx_leaf **out,
			      char **why)
{
	struct him_tile_meta meta;
	struct buf b = BUF_INIT(0);
	size_t len;
	enum kith_status rc;

	*out = vx_cache_get(vi->cache, tile_id);
	if (*out)
		return KITH_OK;
	rc = him_get_tile_by_id(vi->h, tile_id, &meta, &b, why);
	if (!rc && (strcmp(meta.stream, vi->stream) != 0 || meta.level != 0))
		rc = kith_why(why, KITH_EINVAL, "tile %s is not a level-0 tile of %s", tile_id,
			      vi->stream);
	him_tile_meta_release(&meta);
	if (rc) {
		buf_release(&b);
		return rc;
	}
	len = b.len;
	rc = vx_leaf_decode(vi, tile_id, (unsigned char *)buf_detach(&b), len, out, why);
	if (!rc)
		vx_cache_put(vi->cache, *out);
	return rc;
}

/* ---- slots and the tree ---------------------------------------------------- */

void vx_slot_write(const struct him_vindex *vi, struct buf *b, const struct vx_node *n)
{
	uint8_t head[4] = { n ? 1 : 0, n && n->leaf ? 1 : 0, 0, 0 };

	put(b, head, 4);
	put_u32(b, n ? n->count : 0);
	put_f32(b, n ? n->norm : 0);
	put_f32(b, n ? n->deff : 0);
	if (n)
		put(b, n->tile_id, HIM_ID_HEX);
	else
		put(b, "0000000000000000000000000000000000000000000000000000000000000000",
		    HIM_ID_HEX);
	if (!n) {
		for (int i = 0; i < vi->dim; i++)
			put_f32(b, 0);
		return;
	}
	put(b, n->centroid, (size_t)vi->dim * 4);
	if (n->leaf)
		put(b, n->ids, (size_t)n->count * 8);
}

enum kith_status vx_slot_read(const struct him_vindex *vi, const unsigned char *p, size_t len,
			      size_t *off, int depth, uint32_t path, struct vx_node **out,
			      char **why)
{
	size_t o = *off, need = VX_SLOT_FIXED + (size_t)vi->dim * 4;
	struct vx_node *n;
	char id[HIM_ID_HEX + 1];

	*out = NULL;
	if (o > len || len - o < need)
		return kith_why(why, KITH_EPROTO, "node slot is truncated");
	*off = o + need;
	if (!p[o])
		return KITH_OK;
	memcpy(id, p + o + 16, HIM_ID_HEX);
	id[HIM_ID_HEX] = '\0';
	if (!him_is_tile_id(id) || !get_u32(p + o + 4))
		return kith_why(why, KITH_EPROTO, "node slot names no tile or no vectors");
	n = xcalloc(1, sizeof(*n));
	n->leaf = p[o + 1] != 0;
	n->depth = (uint8_t)depth;
	n->path = path;
	n->count = get_u32(p + o + 4);
	n->norm = get_f32(p + o + 8);
	n->deff = get_f32(p + o + 12);
	memcpy(n->tile_id, id, sizeof(id));
	n->centroid = xmalloc((size_t)vi->dim * sizeof(float));
	memcpy(n->centroid, p + o + VX_SLOT_FIXED, (size_t)vi->dim * 4);
	if (n->leaf) {
		size_t idb = (size_t)n->count * 8;

		if (len - *off < idb) {
			vx_node_free(n);
			return kith_why(why, KITH_EPROTO, "node slot ids are truncated");
		}
		n->ids = xmalloc(idb);
		memcpy(n->ids, p + *off, idb);
		*off += idb;
	}
	*out = n;
	return KITH_OK;
}

enum kith_status vx_tree_load(struct him_vindex *vi, struct vx_node *n, char **why)
{
	struct him_tile_meta meta;
	struct buf b = BUF_INIT(0);
	struct vx_hdr hd;
	size_t off;
	enum kith_status rc;

	if (n->leaf)
		return KITH_OK;
	if (n->depth >= VX_DEPTH_MAX)
		return kith_why(why, KITH_EPROTO, "node tile %s is deeper than %d", n->tile_id,
				VX_DEPTH_MAX);
	rc = him_get_tile_by_id(vi->h, n->tile_id, &meta, &b, why);
	if (!rc && strcmp(meta.stream, vi->stream) != 0)
		rc = kith_why(why, KITH_EPROTO, "node tile %s belongs to stream %s", n->tile_id,
			      meta.stream);
	him_tile_meta_release(&meta);
	if (!rc)
		rc = vx_hdr_read(vi, (const unsigned char *)b.data, b.len, VX_KIND_NODE, &hd, why);
	if (!rc && (hd.depth != n->depth || hd.path != n->path || hd.count != n->count))
		rc = kith_why(why, KITH_EPROTO, "node tile %s is not the node its parent names",
			      n->tile_id);
	off = rc ? 0 : hd.body;
	for (int q = 0; !rc && q < 4; q++) {
		rc = vx_slot_read(vi, (const unsigned char *)b.data, b.len, &off, n->depth + 1,
				  (n->path << 2) | (uint32_t)q, &n->child[q], why);
		if (!rc && n->child[q])
			rc = vx_tree_load(vi, n->child[q], why);
	}
	buf_release(&b);
	return rc;
}

/* ---- the LRU of decoded leaves ---------------------------------------------- */

struct vx_cache {
	pthread_mutex_t mu;
	size_t budget, bytes, count;
	struct vx_leaf **buckets;
	size_t nbuckets;
	struct vx_leaf *head, *tail;    /* most recent first */
};

static size_t bucket_of(const struct vx_cache *c, const char *id)
{
	uint64_t h = 0;

	memcpy(&h, id, 8 < HIM_ID_HEX ? 8 : HIM_ID_HEX);
	h *= UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 20) & (c->nbuckets - 1);
}

struct vx_cache *vx_cache_new(size_t budget)
{
	struct vx_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->budget = budget;
	c->nbuckets = 1024;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

void vx_cache_free(struct vx_cache *c)
{
	struct vx_leaf *l, *next;

	if (!c)
		return;
	for (l = c->head; l; l = next) {
		next = l->lru_next;
		vx_leaf_unref(l);
	}
	pthread_mutex_destroy(&c->mu);
	free(c->buckets);
	free(c);
}

static void lru_unlink(struct vx_cache *c, struct vx_leaf *l)
{
	if (l->lru_prev)
		l->lru_prev->lru_next = l->lru_next;
	else
		c->head = l->lru_next;
	if (l->lru_next)
		l->lru_next->lru_prev = l->lru_prev;
	else
		c->tail = l->lru_prev;
	l->lru_prev = l->lru_next = NULL;
}

static void lru_front(struct vx_cache *c, struct vx_leaf *l)
{
	l->lru_prev = NULL;
	l->lru_next = c->head;
	if (c->head)
		c->head->lru_prev = l;
	c->head = l;
	if (!c->tail)
		c->tail = l;
}

static void hash_unlink(struct vx_cache *c, struct vx_leaf *l)
{
	struct vx_leaf **pp = &c->buckets[bucket_of(c, l->tile_id)];

	while (*pp && *pp != l)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = l->hnext;
	l->hnext = NULL;
}

static void rehash(struct vx_cache *c)
{
	size_t old = c->nbuckets;
	struct vx_leaf **ob = c->buckets;

	c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	for (size_t i = 0; i < old; i++)
		for (struct vx_leaf *l = ob[i], *next; l; l = next) {
			size_t b = bucket_of(c, l->tile_id);

			next = l->hnext;
			l->hnext = c->buckets[b];
			c->buckets[b] = l;
		}
	free(ob);
}

struct vx_leaf *vx_cache_get(struct vx_cache *c, const char *tile_id)
{
	struct vx_leaf *l;

	pthread_mutex_lock(&c->mu);
	for (l = c->buckets[bucket_of(c, tile_id)]; l; l = l->hnext)
		if (strcmp(l->tile_id, tile_id) == 0)
			break;
	if (l) {
		vx_leaf_ref(l);
		if (c->head != l) {
			lru_unlink(c, l);
			lru_front(c, l);
		}
	}
	pthread_mutex_unlock(&c->mu);
	return l;
}

void vx_cache_put(struct vx_cache *c, struct vx_leaf *l)
{
	size_t b;

	pthread_mutex_lock(&c->mu);
	b = bucket_of(c, l->tile_id);
	for (struct vx_leaf *o = c->buckets[b]; o; o = o->hnext)
		if (strcmp(o->tile_id, l->tile_id) == 0) {
			pthread_mutex_unlock(&c->mu);
			return;   /* the same content is already there */
		}
	while (c->tail && c->bytes + l->len > c->budget) {
		struct vx_leaf *old = c->tail;

		lru_unlink(c, old);
		hash_unlink(c, old);
		c->bytes -= old->len;
		c->count--;
		vx_leaf_unref(old);
	}
	if (l->len <= c->budget) {
		vx_leaf_ref(l);
		l->hnext = c->buckets[b];
		c->buckets[b] = l;
		lru_front(c, l);
		c->bytes += l->len;
		if (++c->count > c->nbuckets)
			rehash(c);
	}
	pthread_mutex_unlock(&c->mu);
}

size_t vx_cache_bytes(struct vx_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->mu);
	n = c->bytes;
	pthread_mutex_unlock(&c->mu);
	return n;
}
