/* vindex.c — the semantic pyramid's lifecycle, adds and removes (the
 * durable delta buffer), flush and info.  See vindex.h for the design and
 * vindex_int.h for the file map and lock order.
 *
 * Durability of adds: every add or remove call writes one delta segment
 * tile (VX_SEG_LEVEL, seq, 0) holding just that call's vectors or ids
 * before it returns, then inserts them into the in-RAM delta that searches
 * scan.  Writing a segment per call (rather than rewriting one growing
 * delta tile) keeps an add O(its own size) however far the merger lags
 * behind a bulk load.  The merge records the last sequence number it
 * absorbed in the head tile, in the same batch as the tree, so open replays
 * exactly the segments after it. */
#include "him/vindex_int.h"
#include "him/him_int.h"
#include "him/blake3.h"
#include "him/vec.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Vectors per segment tile: at most 65536, and few enough that a segment of
 * the widest vectors stays under half of HIM_MAX_PAYLOAD. */
#define VX_SEG_VECTORS 65536
#define VX_SEG_BYTES (HIM_MAX_PAYLOAD / 2)
#define VX_BASE_MAX (HIM_NAME_MAX - 9)

/* ---- the delta ------------------------------------------------------------- */

void vx_entry_unref(struct vx_entry *e)
{
	if (e && atomic_fetch_sub(&e->ref, 1) == 1)
		free(e);
}

static struct vx_entry *entry_new(const struct him_vindex *vi, int64_t id, uint64_t seq,
				  bool del)
{
	struct vx_entry *e = xcalloc(1, sizeof(*e) + (del ? 0 : (size_t)vi->dim));

	atomic_init(&e->ref, 1);
	e->id = id;
	e->seq = seq;
	e->del = del;
	return e;
}

void vx_delta_insert(struct vx_delta *d, struct vx_entry *e)
{
	uint64_t old;

	if (vx_map_get(&d->by_id, e->id, &old)) {
		struct vx_entry *o = (struct vx_entry *)(uintptr_t)old;

		e->pos = o->pos;
		d->arr[e->pos] = e;
		d->nadd -= !o->del;
		vx_entry_unref(o);
	} else {
		d->arr = xgrow(d->arr, &d->cap, d->n + 1, sizeof(*d->arr));
		e->pos = d->n;
		d->arr[d->n++] = e;
	}
	d->nadd += !e->del;
	vx_map_put(&d->by_id, e->id, (uint64_t)(uintptr_t)e);
	if (e->seq > d->last_seq)
		d->last_seq = e->seq;
}

void vx_delta_drop(struct vx_delta *d, struct vx_entry *e)
{
	uint64_t cur;

	if (!vx_map_get(&d->by_id, e->id, &cur) || (struct vx_entry *)(uintptr_t)cur != e)
		return;
	vx_map_del(&d->by_id, e->id);
	d->arr[e->pos] = d->arr[--d->n];
	d->arr[e->pos]->pos = e->pos;
	d->nadd -= !e->del;
	vx_entry_unref(e);
}

static void delta_release(struct vx_delta *d)
{
	for (size_t i = 0; i < d->n; i++)
		vx_entry_unref(d->arr[i]);
	free(d->arr);
	vx_map_release(&d->by_id);
	pthread_rwlock_destroy(&d->lock);
}

/* ---- segments ----------------------------------------------------------------- */

/* The payload of one segment: entries [0, n) all adds or all removes. */
static unsigned char *segment_payload(const struct him_vindex *vi, struct vx_entry *const *e,
				      size_t n, uint64_t seq, size_t *len)
{
	struct vx_hdr hd = { .kind = VX_KIND_SEG, .op = e[0]->del ? VX_OP_REMOVE : VX_OP_ADD,
			     .count = (uint32_t)n, .aux = seq };
	struct buf b = BUF_INIT(0);

	vx_hdr_write(vi, &b, &hd);
	for (size_t i = 0; i < n; i++)
		(void)buf_append(&b, &e[i]->id, 8);
	if (!e[0]->del) {
		for (size_t i = 0; i < n; i++)
			(void)buf_append(&b, &e[i]->scale, 4);
		for (size_t i = 0; i < n; i++)
			(void)buf_append(&b, e[i]->v, (size_t)vi->dim);
	}
	*len = b.len;
	return (unsigned char *)buf_detach(&b);
}

/* Write entries as segments (one batch: all or nothing) and insert them
 * into the delta.  Takes over the entries' references. */
static enum kith_status commit_entries(struct him_vindex *vi, struct vx_entry **e, size_t n,
				       char **why)
{
	size_t per = VX_SEG_BYTES / (12 + (size_t)vi->dim);
	size_t seg_max = per < VX_SEG_VECTORS ? per : VX_SEG_VECTORS;
	size_t nseg = (n + seg_max - 1) / seg_max;
	struct vx_batch b = { 0 };
	struct him_tile_in *in = xcalloc(nseg, sizeof(*in));
	bool kick = false;
	enum kith_status rc;

	pthread_mutex_lock(&vi->add_mu);
	for (size_t s = 0; s < nseg; s++) {
		size_t lo = s * seg_max, cnt = n - lo < seg_max ? n - lo : seg_max, len;
		uint64_t seq = vi->next_seq + s;
		unsigned char *p;
		char id[HIM_ID_HEX + 1];

		for (size_t i = lo; i < lo + cnt; i++)
			e[i]->seq = seq;
		p = segment_payload(vi, e + lo, cnt, seq, &len);
		vx_batch_add(vi, &b, VX_SEG_LEVEL, (long)seq, 0, "vindex-delta", p, len, NULL,
			     NULL, id);
		in[s] = b.t[s].in;
	}
	rc = vi->next_seq + nseg > (uint64_t)HIM_MAX_COORD
		     ? kith_why(why, KITH_ETOOBIG, "the index has used up its delta sequence numbers")
		     : him_put_tiles(vi->h, in, nseg, NULL, why);
	if (!rc) {
		vi->next_seq += nseg;
		pthread_rwlock_wrlock(&vi->delta.lock);
		for (size_t i = 0; i < n; i++)
			vx_delta_insert(&vi->delta, e[i]);
		kick = vi->delta.n >= vi->delta_max;
		pthread_rwlock_unlock(&vi->delta.lock);
	} else {
		for (size_t i = 0; i < n; i++)
			vx_entry_unref(e[i]);
	}
	pthread_mutex_unlock(&vi->add_mu);
	vx_batch_release(&b);
	free(in);
	if (kick)
		vx_merger_kick(vi);
	return rc;
}

enum kith_status him_vindex_add(struct him_vindex *vi, const int64_t *ids, const float *vecs,
				size_t n, char **why)
{
	size_t dim = (size_t)vi->dim;
	struct vx_entry **e;
	float *tmp;

	if (!n)
		return KITH_OK;
	if (!ids || !vecs)
		return kith_why(why, KITH_EINVAL, "ids and vectors are required");
	for (size_t i = 0; i < n * dim; i++)
		if (!isfinite(vecs[i]))
			return kith_why(why, KITH_EINVAL, "vector %zu has a non-finite component",
					i / dim);
	e = xmalloc(n * sizeof(*e));
	tmp = xmalloc(dim * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		memcpy(tmp, vecs + i * dim, dim * sizeof(float));
		if (!(vec_normalize(tmp, dim) > 0)) {
			for (size_t j = 0; j < i; j++)
				vx_entry_unref(e[j]);
			free(e);
			free(tmp);
			return kith_why(why, KITH_EINVAL, "vector %zu is zero", i);
		}
		e[i] = entry_new(vi, ids[i], 0, false);
		e[i]->scale = vec_quantize(tmp, dim, e[i]->v);
	}
	free(tmp);
	{
		enum kith_status rc = commit_entries(vi, e, n, why);

		free(e);
		return rc;
	}
}

enum kith_status him_vindex_remove(struct him_vindex *vi, const int64_t *ids, size_t n,
				   char **why)
{
	struct vx_entry **e;
	enum kith_status rc;

	if (!n)
		return KITH_OK;
	if (!ids)
		return kith_why(why, KITH_EINVAL, "ids are required");
	e = xmalloc(n * sizeof(*e));
	for (size_t i = 0; i < n; i++)
		e[i] = entry_new(vi, ids[i], 0, true);
	rc = commit_entries(vi, e, n, why);
	free(e);
	return rc;
}

/* Replay the segments after the head's merged sequence number. */
static enum kith_status load_segments(struct him_vindex *vi, char **why)
{
	uint64_t seq = vi->merged_seq + 1;
	enum kith_status rc = KITH_OK;

	for (;; seq++) {
		struct buf b = BUF_INIT(0);
		struct vx_hdr hd;
		const unsigned char *p;
		size_t dim = (size_t)vi->dim, need;
		char *miss = NULL;

		rc = him_get_tile(vi->h, vi->stream, vi->snapshot, VX_SEG_LEVEL, (long)seq, 0, NULL,
				  &b, &miss);
		if (rc == KITH_ENOTFOUND) {
			free(miss);
			buf_release(&b);
			rc = KITH_OK;
			break;
		}
		if (rc) {
			kith_why(why, rc, "delta segment %llu: %s", (unsigned long long)seq,
				 miss ? miss : "?");
			free(miss);
			buf_release(&b);
			break;
		}
		p = (const unsigned char *)b.data;
		rc = vx_hdr_read(vi, p, b.len, VX_KIND_SEG, &hd, why);
		need = (size_t)hd.count * (hd.op == VX_OP_ADD ? 12 + dim : 8);
		if (!rc && (hd.aux != seq || (hd.op != VX_OP_ADD && hd.op != VX_OP_REMOVE) ||
			    b.len - hd.body != need))
			rc = kith_why(why, KITH_EPROTO, "delta segment %llu is malformed",
				      (unsigned long long)seq);
		for (uint32_t i = 0; !rc && i < hd.count; i++) {
			struct vx_entry *e;
			int64_t id;

			memcpy(&id, p + hd.body + 8 * (size_t)i, 8);
			e = entry_new(vi, id, seq, hd.op == VX_OP_REMOVE);
			if (!e->del) {
				memcpy(&e->scale, p + hd.body + 8 * (size_t)hd.count + 4 * (size_t)i,
				       4);
				memcpy(e->v, p + hd.body + 12 * (size_t)hd.count + dim * i, dim);
			}
			vx_delta_insert(&vi->delta, e);
		}
		buf_release(&b);
		if (rc)
			break;
	}
	vi->next_seq = seq;
	return rc;
}

/* ---- open / close ------------------------------------------------------------- */

static void index_ids(struct him_vindex *vi, const struct vx_node *n)
{
	if (!n)
		return;
	if (n->leaf) {
		for (uint32_t i = 0; i < n->count; i++)
			vx_map_put(&vi->tree_ids, n->ids[i], (uint64_t)n->depth << 32 | n->path);
		return;
	}
	for (int q = 0; q < 4; q++)
		index_ids(vi, n->child[q]);
}

static enum kith_status load_head(struct him_vindex *vi, char **why)
{
	struct him_tile_meta meta;
	struct buf b = BUF_INIT(0);
	struct vx_hdr hd;
	size_t off;
	char *miss = NULL;
	enum kith_status rc = him_get_tile(vi->h, vi->stream, vi->snapshot, VX_HEAD_LEVEL, 0, 0,
					   &meta, &b, &miss);

	if (rc == KITH_ENOTFOUND) {
		free(miss);
		buf_release(&b);
		return KITH_OK;   /* a new index */
	}
	if (rc) {
		kith_why(why, rc, "%s", miss ? miss : "cannot read the index head");
		free(miss);
		buf_release(&b);
		return rc;
	}
	snprintf(vi->head_id, sizeof(vi->head_id), "%s", meta.tile_id);
	him_tile_meta_release(&meta);
	rc = vx_hdr_read(vi, (const unsigned char *)b.data, b.len, VX_KIND_HEAD, &hd, why);
	off = rc ? 0 : hd.body;
	if (!rc)
		rc = vx_slot_read(vi, (const unsigned char *)b.data, b.len, &off, 0, 0, &vi->root,
				  why);
	if (!rc && vi->root)
		rc = vx_tree_load(vi, vi->root, why);
	if (!rc) {
		vi->merged_seq = hd.aux;
		vi->tree_count = vi->root ? vi->root->count : 0;
		index_ids(vi, vi->root);
	}
	buf_release(&b);
	return rc;
}

static enum kith_status check_options(const struct him_vindex_options *o, char **why)
{
	enum kith_status rc;

	if (!o)
		return kith_why(why, KITH_EINVAL, "no index options");
	if ((rc = him_check_name("stream", o->stream, why)))
		return rc;
	if (strlen(o->stream) > VX_BASE_MAX)
		return kith_why(why, KITH_EINVAL, "an index's base stream is at most %d characters",
				VX_BASE_MAX);
	if ((rc = him_check_name("snapshot_id", o->snapshot_id, why)))
		return rc;
	if (!o->model || !*o->model || strlen(o->model) > VX_MODEL_MAX)
		return kith_why(why, KITH_EINVAL, "the embedder's model id must be 1 to %d bytes",
				VX_MODEL_MAX);
	if (o->dim < 1 || o->dim > HIM_VINDEX_MAX_DIM)
		return kith_why(why, KITH_EINVAL, "dimension %d is outside 1..%d", o->dim,
				HIM_VINDEX_MAX_DIM);
	if (o->leaf_max && (o->leaf_max < 8 || o->leaf_max > HIM_VINDEX_LEAF_MAX))
		return kith_why(why, KITH_EINVAL, "leaf_max %d is outside 8..%d", o->leaf_max,
				HIM_VINDEX_LEAF_MAX);
	if (o->merge_interval_ms < 0)
		return kith_why(why, KITH_EINVAL, "merge_interval_ms is negative");
	return KITH_OK;
}

static enum kith_status ensure_snapshot(struct him *h, const char *id, const char *model,
					char **why)
{
	struct him_snapshot s = { 0 };
	enum kith_status rc = him_snapshot_get(h, id, &s, NULL);

	him_snapshot_release(&s);
	if (rc != KITH_ENOTFOUND)
		return rc ? him_snapshot_get(h, id, &s, why) : KITH_OK;
	s.snapshot_id = (char *)id;
	s.provenance = json_pack("{s:s, s:s}", "model", model, "code_sha", "kith-vindex");
	rc = him_snapshot_create(h, &s, NULL, why);
	json_decref(s.provenance);
	return rc == KITH_EEXIST ? KITH_OK : rc;
}

enum kith_status him_vindex_open(struct him *h, const struct him_vindex_options *o,
				 struct him_vindex **out, char **why)
{
	struct him_vindex *vi;
	struct blake3 b3;
	uint8_t digest[BLAKE3_OUT_LEN];
	char hex[2 * BLAKE3_OUT_LEN + 1], dimstr[16];
	pthread_rwlockattr_t wpref;
	int64_t t0 = clock_mono_ms();
	enum kith_status rc;

	*out = NULL;
	if (!h)
		return kith_why(why, KITH_EINVAL, "no HIM store");
	if ((rc = check_options(o, why)))
		return rc;
	if ((rc = ensure_snapshot(h, o->snapshot_id, o->model, why)))
		return rc;
	vi = xcalloc(1, sizeof(*vi));
	vi->h = h;
	vi->dim = o->dim;
	vi->model = xstrdup(o->model);
	vi->base = xstrdup(o->stream);
	vi->snapshot = xstrdup(o->snapshot_id);
	snprintf(dimstr, sizeof(dimstr), "%d", o->dim);
	blake3_init(&b3);
	blake3_update(&b3, o->model, strlen(o->model));
	blake3_update(&b3, "|", 1);
	blake3_update(&b3, dimstr, strlen(dimstr));
	blake3_finalize(&b3, digest, sizeof(digest));
	blake3_to_hex(digest, sizeof(digest), hex);
	vi->stream = xasprintf("%s.%.8s", o->stream, hex);
	vi->leaf_max = o->leaf_max ? o->leaf_max : HIM_VINDEX_LEAF_MAX;
	vi->delta_max = o->delta_max ? o->delta_max : 4096;
	vi->interval_ms = o->merge_interval_ms ? o->merge_interval_ms : 1000;
	/* writer preference: a merge's short swap must not starve behind a
	 * steady stream of searches */
	pthread_rwlockattr_init(&wpref);
	pthread_rwlockattr_setkind_np(&wpref, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&vi->tree_lock, &wpref);
	pthread_rwlock_init(&vi->delta.lock, &wpref);
	pthread_rwlockattr_destroy(&wpref);
	pthread_mutex_init(&vi->merge_mu, NULL);
	pthread_mutex_init(&vi->add_mu, NULL);
	pthread_mutex_init(&vi->mu, NULL);
	pthread_cond_init(&vi->cv, NULL);
	vx_map_init(&vi->tree_ids);
	vx_map_init(&vi->delta.by_id);
	vi->cache = vx_cache_new(o->cache_bytes ? o->cache_bytes : h->opts.cache_bytes);
	rc = load_head(vi, why);
	if (!rc)
		rc = load_segments(vi, why);
	if (rc) {
		char *inner = why ? *why : NULL;

		if (why)
			*why = xasprintf("index %s/%s (model %s, dimension %d): %s", vi->stream,
					 vi->snapshot, vi->model, vi->dim, inner ? inner : "?");
		free(inner);
		vi->h = NULL;   /* nothing to merge on the way out */
		him_vindex_close(vi);
		return rc;
	}
	log_debug("him", "vector index %s open: %zu vectors, %zu leaves, %zu pending, %lld ms",
		  vi->stream, vi->tree_count, vx_leaves(vi->root), vi->delta.n,
		  (long long)(clock_mono_ms() - t0));
	if (!o->no_merger)
		vx_merger_start(vi);
	*out = vi;
	return KITH_OK;
}

void him_vindex_close(struct him_vindex *vi)
{
	if (!vi)
		return;
	vx_merger_stop(vi);
	if (vi->delta.n && vi->h) {
		char *why = NULL;

		if (vx_merge(vi, &why) != KITH_OK)
			log_warn("him", "index %s: the final merge failed (%s); the delta stays "
				 "in its segments", vi->stream, why ? why : "?");
		free(why);
	}
	vx_tree_free(vi->root);
	delta_release(&vi->delta);
	vx_map_release(&vi->tree_ids);
	vx_cache_free(vi->cache);
	pthread_rwlock_destroy(&vi->tree_lock);
	pthread_mutex_destroy(&vi->merge_mu);
	pthread_mutex_destroy(&vi->add_mu);
	pthread_mutex_destroy(&vi->mu);
	pthread_cond_destroy(&vi->cv);
	free(vi->stream);
	free(vi->model);
	free(vi->base);
	free(vi->snapshot);
	free(vi);
}

const char *him_vindex_stream(const struct him_vindex *vi)
{
	return vi->stream;
}

const char *him_vindex_model(const struct him_vindex *vi)
{
	return vi->model;
}

int him_vindex_dim(const struct him_vindex *vi)
{
	return vi->dim;
}

enum kith_status him_vindex_flush(struct him_vindex *vi, char **why)
{
	return vx_merge(vi, why);
}

/* ---- info ------------------------------------------------------------------- */

static size_t tree_bytes(const struct him_vindex *vi, const struct vx_node *n)
{
	size_t b;

	if (!n)
		return 0;
	b = sizeof(*n) + (size_t)vi->dim * sizeof(float) + (n->leaf ? (size_t)n->count * 8 : 0);
	for (int q = 0; q < 4; q++)
		b += tree_bytes(vi, n->child[q]);
	return b;
}

void him_vindex_info(struct him_vindex *vi, struct him_vindex_info *out)
{
	long vectors;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&vi->tree_lock);
	pthread_rwlock_rdlock(&vi->delta.lock);
	vectors = (long)vi->tree_count;
	for (size_t i = 0; i < vi->delta.n; i++) {
		const struct vx_entry *e = vi->delta.arr[i];
		bool in_tree = vx_map_get(&vi->tree_ids, e->id, NULL);

		vectors += (!e->del && !in_tree) - (e->del && in_tree);
	}
	out->vectors = vectors > 0 ? (size_t)vectors : 0;
	out->delta = vi->delta.n;
	out->leaves = vx_leaves(vi->root);
	out->depth = vx_height(vi->root);
	out->ram_bytes = sizeof(*vi) + tree_bytes(vi, vi->root) + vx_cache_bytes(vi->cache) +
			 vi->delta.n * (sizeof(struct vx_entry) + (size_t)vi->dim + 8) +
			 (vi->delta.by_id.cap + vi->tree_ids.cap) * 17;
	pthread_rwlock_unlock(&vi->delta.lock);
	pthread_rwlock_unlock(&vi->tree_lock);
	out->merges = atomic_load(&vi->merges);
}
