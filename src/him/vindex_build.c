/* vindex_build.c — building the semantic pyramid: recursive 4-way
 * clustering and the construction of leaf and internal nodes (with the
 * tiles that hold them).
 *
 * Clustering is spherical k-means with k = 4 run on a strided sample of at
 * most VX_SAMPLE vectors (k-means++ seeding from a xorshift generator whose
 * seed is derived from the node's path and size, so a build is
 * reproducible), after which every vector is assigned once to its nearest
 * centroid.  Vectors stay int8: centroids are float and the assignment is
 * the fp32·int8 kernel, so a bulk build of a million vectors needs no
 * float copy of them.  When clustering cannot separate a node (duplicates)
 * it is split into four equal runs, so the recursion always ends.
 *
 * Node statistics used by the search's estimate: the unit centroid, the
 * norm of the members' mean (= their mean cosine to the centroid) and an
 * effective dimension of their spread, 1 / mean((r̂i·r̂j)²) over a sample of
 * residual directions (for isotropic residuals in d dimensions that mean
 * is 1/d). */
#include "him/vindex_int.h"
#include "him/vec.h"
#include "core/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VX_SAMPLE 2048      /* vectors k-means iterates on */
#define VX_ITERS 8
#define VX_DEFF_SAMPLE 16

/* ---- tile batches ---------------------------------------------------------- */

void vx_batch_release(struct vx_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->t[i].owned);
		vx_leaf_unref(b->t[i].leaf);
	}
	free(b->t);
	memset(b, 0, sizeof(*b));
}

void vx_batch_add(const struct him_vindex *vi, struct vx_batch *b, int level, long x, long y,
		  const char *dtype, unsigned char *payload, size_t len, struct vx_leaf *leaf,
		  const char *parent, char id[HIM_ID_HEX + 1])
{
	struct vx_tile *t;

	b->t = xgrow(b->t, &b->cap, b->n + 1, sizeof(*b->t));
	t = &b->t[b->n++];
	memset(t, 0, sizeof(*t));
	t->in.stream = vi->stream;
	t->in.snapshot_id = vi->snapshot;
	t->in.level = level;
	t->in.x = x;
	t->in.y = y;
	t->in.shape[0] = 1;
	t->in.shape[1] = (long)(len / 1024 + 1);
	t->in.shape[2] = vi->dim;
	t->in.dtype = dtype;
	t->in.payload = payload;
	t->in.payload_len = len;
	t->in.halo = -1;
	t->owned = leaf ? NULL : payload;
	t->leaf = leaf;
	if (leaf)
		vx_leaf_ref(leaf);
	if (parent && *parent)
		snprintf(t->parent, sizeof(t->parent), "%s", parent);
	him_tile_id(vi->stream, vi->snapshot, level, x, y, payload, len, id);
}

/* ---- statistics -------------------------------------------------------------- */

static float deff_of(const struct him_vindex *vi, const struct vx_item *items, size_t n,
		     const float *c)
{
	size_t m = n < VX_DEFF_SAMPLE ? n : VX_DEFF_SAMPLE, dim = (size_t)vi->dim, pairs = 0;
	float *r = xmalloc(m * dim * sizeof(float));
	double acc = 0;
	float deff;

	for (size_t i = 0; i < m; i++) {
		const struct vx_item *it = &items[i * n / m];
		float *ri = r + i * dim, a;

		vec_dequantize(it->v, it->scale, dim, ri);
		a = vec_dot(ri, c, dim);
		for (size_t j = 0; j < dim; j++)
			ri[j] -= a * c[j];
		vec_normalize(ri, dim);
	}
	for (size_t i = 0; i < m; i++)
		for (size_t j = i + 1; j < m; j++) {
			float d = vec_dot(r + i * dim, r + j * dim, dim);

			acc += (double)d * d;
			pairs++;
		}
	free(r);
	if (!pairs || acc <= 0)
		return (float)vi->dim;
	deff = (float)(1.0 / (acc / (double)pairs));
	return deff < 1 ? 1 : deff > (float)vi->dim ? (float)vi->dim : deff;
}

/* ---- nodes ------------------------------------------------------------------- */

struct vx_node *vx_make_leaf(struct him_vindex *vi, const struct vx_item *items, size_t n,
			     int depth, uint32_t path, const char *parent, struct vx_batch *b)
{
	struct vx_node *node = xcalloc(1, sizeof(*node));
	struct vx_hdr hd = { .kind = VX_KIND_LEAF, .depth = depth, .path = path,
			     .count = (uint32_t)n };
	struct buf p = BUF_INIT(0);
	size_t dim = (size_t)vi->dim, len;
	float *sum = xcalloc(dim, sizeof(float)), norm;
	struct vx_leaf *leaf = NULL;
	long x, y;

	node->leaf = true;
	node->depth = (uint8_t)depth;
	node->path = path;
	node->count = (uint32_t)n;
	node->ids = xmalloc(n * sizeof(int64_t));
	vx_hdr_write(vi, &p, &hd);
	for (size_t i = 0; i < n; i++)
		node->ids[i] = items[i].id;
	(void)buf_append(&p, node->ids, n * 8);
	for (size_t i = 0; i < n; i++)
		(void)buf_append(&p, &items[i].scale, 4);
	for (size_t i = 0; i < n; i++) {
		(void)buf_append(&p, items[i].v, dim);
		vec_axpy_i8(sum, items[i].v, items[i].scale, dim);
	}
	norm = vec_normalize(sum, dim);
	node->centroid = sum;
	node->norm = n ? norm / (float)n : 0;
	node->deff = deff_of(vi, items, n, sum);
	len = p.len;
	if (vx_leaf_decode(vi, "", (unsigned char *)buf_detach(&p), len, &leaf, NULL) != KITH_OK)
		KITH_BUG("a leaf just built does not decode");
	vx_coords(depth, path, true, &x, &y);
	vx_batch_add(vi, b, 0, x, y, "vindex-leaf", leaf->payload, leaf->len, leaf, parent,
		     node->tile_id);
	memcpy(leaf->tile_id, node->tile_id, sizeof(leaf->tile_id));
	vx_cache_put(vi->cache, leaf);   /* warm from birth: a bulk load is not re-read */
	vx_leaf_unref(leaf);             /* the batch and the cache hold it */
	node->fresh = true;
	return node;
}

struct vx_node *vx_make_inner(struct him_vindex *vi, struct vx_node *const child[4], int depth,
			      uint32_t path, const struct vx_item *items, size_t nitems,
			      const char *parent, struct vx_batch *b)
{
	struct vx_node *node;
	struct vx_hdr hd = { .kind = VX_KIND_NODE, .depth = depth, .path = path };
	struct buf p = BUF_INIT(0);
	size_t dim = (size_t)vi->dim, len;
	double wdeff = 0;
	float norm;
	long x, y;

	if (!child[0] && !child[1] && !child[2] && !child[3])
		return NULL;
	node = xcalloc(1, sizeof(*node));
	node->depth = (uint8_t)depth;
	node->path = path;
	node->centroid = xcalloc(dim, sizeof(float));
	for (int q = 0; q < 4; q++) {
		const struct vx_node *c = child[q];

		node->child[q] = child[q];
		if (!c)
			continue;
		node->count += c->count;
		for (size_t i = 0; i < dim; i++)
			node->centroid[i] += (float)c->count * c->norm * c->centroid[i];
		wdeff += (double)c->count * c->deff;
	}
	norm = vec_normalize(node->centroid, dim);
	node->norm = norm / (float)node->count;
	node->deff = nitems ? deff_of(vi, items, nitems, node->centroid)
			   : (float)(wdeff / node->count);
	hd.count = node->count;
	vx_hdr_write(vi, &p, &hd);
	for (int q = 0; q < 4; q++)
		vx_slot_write(vi, &p, child[q]);
	len = p.len;
	vx_coords(depth, path, false, &x, &y);
	vx_batch_add(vi, b, VX_DEPTH_MAX - depth, x, y, "vindex-node",
		     (unsigned char *)buf_detach(&p), len, NULL, parent, node->tile_id);
	node->fresh = true;
	return node;
}

int vx_best_child(const struct him_vindex *vi, const struct vx_node *n, const float *v)
{
	int best = -1;
	float bs = -INFINITY;

	for (int q = 0; q < 4; q++)
		if (n->child[q]) {
			float s = vec_dot(v, n->child[q]->centroid, (size_t)vi->dim);

			if (best < 0 || s > bs) {
				best = q;
				bs = s;
			}
		}
	return best;
}

/* ---- clustering -------------------------------------------------------------- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int nearest(const float *cent, size_t dim, const struct vx_item *it, float *sim)
{
	int best = 0;
	float bs = -INFINITY;

	for (int k = 0; k < 4; k++) {
		float s = vec_dot_i8(cent + (size_t)k * dim, it->v, dim) * it->scale;

		if (s > bs) {
			bs = s;
			best = k;
		}
	}
	if (sim)
		*sim = bs;
	return best;
}

/* Spherical k-means, k = 4, on a strided sample; cent gets 4 unit vectors. */
static void kmeans4(const struct him_vindex *vi, const struct vx_item *items, size_t n,
		    uint64_t seed, float *cent)
{
	size_t dim = (size_t)vi->dim, m = n < VX_SAMPLE ? n : VX_SAMPLE;
	const struct vx_item **s = xmalloc(m * sizeof(*s));
	float *sim = xmalloc(m * sizeof(float)), *sum = xmalloc(4 * dim * sizeof(float));
	size_t cnt[4];
	uint64_t rng = seed ? seed : 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < m; i++)
		s[i] = &items[i * n / m];
	/* k-means++: each next seed drawn with weight 1 − best similarity */
	{
		const struct vx_item *first = s[xorshift(&rng) % m];

		vec_dequantize(first->v, first->scale, dim, cent);
		vec_normalize(cent, dim);
	}
	for (size_t i = 0; i < m; i++)
		sim[i] = vec_dot_i8(cent, s[i]->v, dim) * s[i]->scale;
	for (int k = 1; k < 4; k++) {
		double total = 0, pick;
		size_t j = m - 1;

		for (size_t i = 0; i < m; i++)
			total += 1.0 - sim[i] > 0 ? 1.0 - sim[i] : 0;
		pick = total * (double)(xorshift(&rng) >> 11) / 9007199254740992.0;
		for (size_t i = 0; i < m; i++) {
			double w = 1.0 - sim[i] > 0 ? 1.0 - sim[i] : 0;

			if (pick < w) {
				j = i;
				break;
			}
			pick -= w;
		}
		vec_dequantize(s[j]->v, s[j]->scale, dim, cent + (size_t)k * dim);
		vec_normalize(cent + (size_t)k * dim, dim);
		for (size_t i = 0; i < m; i++) {
			float v = vec_dot_i8(cent + (size_t)k * dim, s[i]->v, dim) * s[i]->scale;

			sim[i] = v > sim[i] ? v : sim[i];
		}
	}
	for (int it = 0; it < VX_ITERS; it++) {
		memset(sum, 0, 4 * dim * sizeof(float));
		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < m; i++) {
			int k = nearest(cent, dim, s[i], &sim[i]);

			vec_axpy_i8(sum + (size_t)k * dim, s[i]->v, s[i]->scale, dim);
			cnt[k]++;
		}
		for (int k = 0; k < 4; k++) {
			if (!cnt[k]) {
				/* an empty cluster takes the worst-served point */
				size_t w = 0;

				for (size_t i = 1; i < m; i++)
					if (sim[i] < sim[w])
						w = i;
				vec_dequantize(s[w]->v, s[w]->scale, dim, sum + (size_t)k * dim);
				sim[w] = 1;
			}
			if (vec_normalize(sum + (size_t)k * dim, dim) > 0)
				memcpy(cent + (size_t)k * dim, sum + (size_t)k * dim,
				       dim * sizeof(float));
		}
	}
	free(sum);
	free(sim);
	free(s);
}

struct vx_node *vx_build(struct him_vindex *vi, struct vx_item *items, size_t n, int depth,
			 uint32_t path, const char *parent, struct vx_batch *b)
{
	size_t dim = (size_t)vi->dim, cnt[4] = { 0 }, start[4];
	struct vx_node *child[4] = { NULL };
	unsigned char *label;
	struct vx_item *tmp;
	float *cent;
	bool degenerate = false;

	if (!n)
		return NULL;
	if (n <= (size_t)vi->leaf_max || depth >= VX_DEPTH_MAX)
		return vx_make_leaf(vi, items, n, depth, path, parent, b);
	cent = xmalloc(4 * dim * sizeof(float));
	label = xmalloc(n);
	kmeans4(vi, items, n, ((uint64_t)path << 8 | (uint64_t)depth) * 0x9e3779b97f4a7c15u ^ n,
		cent);
	for (size_t i = 0; i < n; i++) {
		label[i] = (unsigned char)nearest(cent, dim, &items[i], NULL);
		cnt[label[i]]++;
	}
	for (int k = 0; k < 4; k++)
		degenerate |= cnt[k] == n;
	if (degenerate) {
		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < n; i++)
			cnt[label[i] = (unsigned char)(i * 4 / n)]++;
	}
	start[0] = 0;
	for (int k = 1; k < 4; k++)
		start[k] = start[k - 1] + cnt[k - 1];
	tmp = xmalloc(n * sizeof(*tmp));
	{
		size_t at[4];

		memcpy(at, start, sizeof(at));
		for (size_t i = 0; i < n; i++)
			tmp[at[label[i]]++] = items[i];
	}
	memcpy(items, tmp, n * sizeof(*tmp));
	free(tmp);
	free(label);
	for (int k = 0; k < 4; k++)
		child[k] = vx_build(vi, items + start[k], cnt[k], depth + 1,
				   (path << 2) | (uint32_t)k, NULL, b);
	free(cent);
	return vx_make_inner(vi, child, depth, path, items, n, parent, b);
}
