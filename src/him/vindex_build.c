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

/* Points k-means runs on: int8 items, or float rows with weights (the
 * fine centroids being grouped, weighted by how many vectors they hold). */
struct pts {
	size_t m, dim;
	const struct vx_item *const *it;
	const float *f;
	const float *w;         /* NULL: all 1 */
};

static float pt_dot(const struct pts *p, size_t i, const float *c)
{
	if (p->f)
		return vec_dot(c, p->f + i * p->dim, p->dim);
	return vec_dot_i8(c, p->it[i]->v, p->dim) * p->it[i]->scale;
}

static double pt_w(const struct pts *p, size_t i)
{
	return p->w ? p->w[i] : 1.0;
}

static void pt_get(const struct pts *p, size_t i, float *out)
{
	if (p->f)
		memcpy(out, p->f + i * p->dim, p->dim * sizeof(float));
	else
		vec_dequantize(p->it[i]->v, p->it[i]->scale, p->dim, out);
	vec_normalize(out, p->dim);
}

static int nearest(const float *cent, int k, const struct pts *p, size_t i, float *sim)
{
	int best = 0;
	float bs = -INFINITY;

	for (int c = 0; c < k; c++) {
		float s = pt_dot(p, i, cent + (size_t)c * p->dim);

		if (s > bs) {
			bs = s;
			best = c;
		}
	}
	if (sim)
		*sim = bs;
	return best;
}

/* Spherical k-means (k ≤ p->m) with weighted k-means++ seeding; cent gets
 * k unit vectors and label (when given) each point's cluster. */
static void kmeans(const struct pts *p, int k, uint64_t seed, float *cent, int *label)
{
	size_t dim = p->dim, m = p->m;
	float *sim = xmalloc(m * sizeof(float)), *sum = xmalloc((size_t)k * dim * sizeof(float));
	int *lab = label ? label : xmalloc(m * sizeof(int));
	double *cnt = xmalloc((size_t)k * sizeof(double));
	uint64_t rng = seed ? seed : 0x9e3779b97f4a7c15u;

	/* k-means++: each next seed drawn with weight w·(1 − best similarity) */
	pt_get(p, xorshift(&rng) % m, cent);
	for (size_t i = 0; i < m; i++)
		sim[i] = pt_dot(p, i, cent);
	for (int c = 1; c < k; c++) {
		double total = 0, pick;
		size_t j = m - 1;

		for (size_t i = 0; i < m; i++)
			total += pt_w(p, i) * (1.0 - sim[i] > 0 ? 1.0 - sim[i] : 0);
		pick = total * (double)(xorshift(&rng) >> 11) / 9007199254740992.0;
		for (size_t i = 0; i < m; i++) {
			double w = pt_w(p, i) * (1.0 - sim[i] > 0 ? 1.0 - sim[i] : 0);

			if (pick < w) {
				j = i;
				break;
			}
			pick -= w;
		}
		pt_get(p, j, cent + (size_t)c * dim);
		for (size_t i = 0; i < m; i++) {
			float v = pt_dot(p, i, cent + (size_t)c * dim);

			sim[i] = v > sim[i] ? v : sim[i];
		}
	}
	for (int it = 0; it < VX_ITERS; it++) {
		memset(sum, 0, (size_t)k * dim * sizeof(float));
		memset(cnt, 0, (size_t)k * sizeof(double));
		for (size_t i = 0; i < m; i++) {
			int c = lab[i] = nearest(cent, k, p, i, &sim[i]);

			if (p->f)
				vec_axpy(sum + (size_t)c * dim, p->f + i * dim, (float)pt_w(p, i), dim);
			else
				vec_axpy_i8(sum + (size_t)c * dim, p->it[i]->v, p->it[i]->scale, dim);
			cnt[c] += pt_w(p, i);
		}
		for (int c = 0; c < k; c++) {
			if (!(cnt[c] > 0)) {
				/* an empty cluster takes the worst-served point */
				size_t w = 0;

				for (size_t i = 1; i < m; i++)
					if (sim[i] < sim[w])
						w = i;
				pt_get(p, w, sum + (size_t)c * dim);
				sim[w] = 1;
			}
			if (vec_normalize(sum + (size_t)c * dim, dim) > 0)
				memcpy(cent + (size_t)c * dim, sum + (size_t)c * dim,
				       dim * sizeof(float));
		}
	}
	if (label)   /* the labels of the final centroids */
		for (size_t i = 0; i < m; i++)
			label[i] = nearest(cent, k, p, i, NULL);
	else
		free(lab);
	free(cnt);
	free(sum);
	free(sim);
}

static uint64_t node_seed(int depth, uint32_t path, size_t n)
{
	return ((uint64_t)path << 8 | (uint64_t)depth) * 0x9e3779b97f4a7c15u ^ n;
}

/* Reorder items (and lab with them, when given) so that group g[i] runs
 * are contiguous; start[q] gets where group q begins. */
static void partition4(struct vx_item *items, uint32_t *lab, const unsigned char *g, size_t n,
		       size_t start[4], size_t cnt[4])
{
	struct vx_item *tmp = xmalloc(n * sizeof(*tmp));
	uint32_t *ltmp = lab ? xmalloc(n * sizeof(*ltmp)) : NULL;
	size_t at[4];

	memset(cnt, 0, 4 * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		cnt[g[i]]++;
	start[0] = 0;
	for (int k = 1; k < 4; k++)
		start[k] = start[k - 1] + cnt[k - 1];
	memcpy(at, start, sizeof(at));
	for (size_t i = 0; i < n; i++) {
		size_t j = at[g[i]]++;

		tmp[j] = items[i];
		if (lab)
			ltmp[j] = lab[i];
	}
	memcpy(items, tmp, n * sizeof(*tmp));
	if (lab)
		memcpy(lab, ltmp, n * sizeof(*lab));
	free(ltmp);
	free(tmp);
}

/* ---- fine-first splitting of large nodes -------------------------------------
 *
 * A node holding many natural clusters cannot be split well by 4-way
 * k-means on its vectors: its four centroids are diffuse mixtures whose
 * similarity to any one member cluster is of the order of the per-vector
 * noise, so the assignment cuts clusters apart, and each level compounds
 * the damage.  So a large node is first cut into fine clusters of about
 * half a leaf each (sharp: about one natural cluster), every vector is
 * assigned to its nearest fine centroid, and the quadtree levels above
 * are made by grouping the fine centroids (weighted by their counts) four
 * ways, recursively: a vector follows its fine cluster, so the vectors of
 * one natural cluster share a subtree all the way down to the level where
 * the fine clusters are separated.  The groups need not be balanced.
 *
 * Finding the nearest of thousands of fine centroids for every vector is
 * the cost, so it is two-stage: √F coarse centroids by k-means on a
 * sample, then each coarse cell's share of the F fine centroids by
 * k-means on the sample points of that cell; a vector is compared with
 * the coarse centroids and then with the fine centroids of its
 * VX_FINE_PROBE best cells — about √F·(1 + probes) dot products instead
 * of F.  A cluster whose best fine centroid sits in a cell outside the
 * probes is misplaced, which the probes make rare. */
#define VX_FINE_MIN 8192        /* nodes at least this big are split fine-first */
#define VX_FINE_MAX 4096        /* fine clusters at most */
#define VX_FINE_SAMPLE 16       /* sample vectors per fine cluster */
#define VX_FINE_SAMPLE_MAX 65536
#define VX_FINE_PROBE 6

struct fine {
	size_t dim;
	int nf;
	float *cent;            /* nf × dim, unit */
	float *w;               /* vectors assigned to each */
};

static struct vx_node *group(struct him_vindex *vi, const struct fine *fs, struct vx_item *items,
			     uint32_t *lab, size_t n, int *fid, int nf, int depth, uint32_t path,
			     const char *parent, struct vx_batch *b);

/* Fine clusters for items and each item's fine label; false when the
 * sample does not separate (fewer than two non-empty fine clusters). */
static bool fine_clusters(const struct him_vindex *vi, const struct vx_item *items, size_t n,
			  uint64_t seed, struct fine *fs, uint32_t *lab)
{
	size_t dim = (size_t)vi->dim, half = (size_t)vi->leaf_max / 2;
	size_t F = n / (half ? half : 1), m, nfine = 0;
	int k1, *clab, probe, nonempty = 0;
	const struct vx_item **s;
	float *coarse, *fcent, *sc;
	int *cstart;
	struct pts p;

	F = F < 16 ? 16 : F > VX_FINE_MAX ? VX_FINE_MAX : F;
	m = F * VX_FINE_SAMPLE;
	m = m < VX_SAMPLE ? VX_SAMPLE : m > VX_FINE_SAMPLE_MAX ? VX_FINE_SAMPLE_MAX : m;
	m = m > n ? n : m;
	k1 = (int)ceil(sqrt((double)F));
	s = xmalloc(m * sizeof(*s));
	for (size_t i = 0; i < m; i++)
		s[i] = &items[i * n / m];
	p = (struct pts){ .m = m, .dim = dim, .it = s };
	coarse = xmalloc((size_t)k1 * dim * sizeof(float));
	clab = xmalloc(m * sizeof(int));
	kmeans(&p, k1, seed, coarse, clab);

	/* each cell's share of the fine clusters, by k-means on its sample */
	fcent = xmalloc((F + (size_t)k1) * dim * sizeof(float));   /* rounding: ≤ F + k1 */
	cstart = xmalloc(((size_t)k1 + 1) * sizeof(int));
	{
		const struct vx_item **cs = xmalloc(m * sizeof(*cs));

		for (int c = 0; c < k1; c++) {
			size_t mc = 0;
			int kc;

			for (size_t i = 0; i < m; i++)
				if (clab[i] == c)
					cs[mc++] = s[i];
			cstart[c] = (int)nfine;
			if (!mc)
				continue;
			kc = (int)((double)F * (double)mc / (double)m + 0.5);
			kc = kc < 1 ? 1 : (size_t)kc > mc / 4 + 1 ? (int)(mc / 4 + 1) : kc;
			p = (struct pts){ .m = mc, .dim = dim, .it = cs };
			kmeans(&p, kc, seed ^ ((uint64_t)c + 1) * 0xbf58476d1ce4e5b9u,
			       fcent + nfine * dim, NULL);
			nfine += (size_t)kc;
		}
		cstart[k1] = (int)nfine;
		free(cs);
	}
	free(clab);
	free(s);

	/* every item to its nearest fine centroid within its best cells */
	probe = k1 < VX_FINE_PROBE ? k1 : VX_FINE_PROBE;
	sc = xmalloc((size_t)k1 * sizeof(float));
	fs->dim = dim;
	fs->nf = (int)nfine;
	fs->cent = fcent;
	fs->w = xcalloc(nfine, sizeof(float));
	for (size_t i = 0; i < n; i++) {
		const struct vx_item *it = &items[i];
		int top[VX_FINE_PROBE], best = 0;
		float bs = -INFINITY;

		for (int c = 0; c < k1; c++)
			sc[c] = vec_dot_i8(coarse + (size_t)c * dim, it->v, dim);
		for (int t = 0; t < probe; t++) {
			int w = -1;

			for (int c = 0; c < k1; c++)
				if (sc[c] > -INFINITY && (w < 0 || sc[c] > sc[w]))
					w = c;
			top[t] = w;
			sc[w] = -INFINITY;
		}
		for (int t = 0; t < probe; t++)
			for (int j = cstart[top[t]]; j < cstart[top[t] + 1]; j++) {
				float v = vec_dot_i8(fcent + (size_t)j * dim, it->v, dim);

				if (v > bs) {
					bs = v;
					best = j;
				}
			}
		lab[i] = (uint32_t)best;
		fs->w[best] += 1;
	}
	for (size_t j = 0; j < nfine; j++)
		nonempty += fs->w[j] > 0;
	free(sc);
	free(cstart);
	free(coarse);
	return nonempty >= 2;
}

/* The subtree for items whose fine labels are among fid[0..nf) (all
 * non-empty): the fine centroids grouped four ways by weighted k-means. */
static struct vx_node *group(struct him_vindex *vi, const struct fine *fs, struct vx_item *items,
			     uint32_t *lab, size_t n, int *fid, int nf, int depth, uint32_t path,
			     const char *parent, struct vx_batch *b)
{
	size_t dim = fs->dim, start[4], cnt[4];
	struct vx_node *child[4] = { NULL };
	unsigned char *fg, *g;
	int *ord, fstart[4], fcnt[4] = { 0 };
	float *f, *w;
	int *flab;
	struct pts p;
	bool degenerate = false;

	if (!n)
		return NULL;
	if (n <= (size_t)vi->leaf_max || depth >= VX_DEPTH_MAX)
		return vx_make_leaf(vi, items, n, depth, path, parent, b);
	if (nf <= 1)
		return vx_build(vi, items, n, depth, path, parent, b);
	/* gather the fine centroids of this group */
	f = xmalloc((size_t)nf * dim * sizeof(float));
	w = xmalloc((size_t)nf * sizeof(float));
	flab = xmalloc((size_t)nf * sizeof(int));
	fg = xmalloc((size_t)fs->nf > 0 ? (size_t)fs->nf : 1);
	for (int j = 0; j < nf; j++) {
		memcpy(f + (size_t)j * dim, fs->cent + (size_t)fid[j] * dim, dim * sizeof(float));
		w[j] = fs->w[fid[j]];
	}
	if (nf <= 4) {
		for (int j = 0; j < nf; j++)
			flab[j] = j;
	} else {
		float *cent = xmalloc(4 * dim * sizeof(float));

		p = (struct pts){ .m = (size_t)nf, .dim = dim, .f = f, .w = w };
		kmeans(&p, 4, node_seed(depth, path, n), cent, flab);
		free(cent);
		for (int j = 0; j < nf; j++)
			fcnt[flab[j]]++;
		for (int q = 0; q < 4; q++)
			degenerate |= fcnt[q] == nf;
		if (degenerate)   /* cannot separate: four runs of fine clusters */
			for (int j = 0; j < nf; j++)
				flab[j] = j * 4 / nf;
		memset(fcnt, 0, sizeof(fcnt));
	}
	for (int j = 0; j < nf; j++) {
		fg[fid[j]] = (unsigned char)flab[j];
		fcnt[flab[j]]++;
	}
	/* fid reordered by group, items likewise */
	ord = xmalloc((size_t)nf * sizeof(int));
	fstart[0] = 0;
	for (int q = 1; q < 4; q++)
		fstart[q] = fstart[q - 1] + fcnt[q - 1];
	{
		int at[4];

		memcpy(at, fstart, sizeof(at));
		for (int j = 0; j < nf; j++)
			ord[at[flab[j]]++] = fid[j];
		memcpy(fid, ord, (size_t)nf * sizeof(int));
	}
	g = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		g[i] = fg[lab[i]];
	partition4(items, lab, g, n, start, cnt);
	free(g);
	free(ord);
	free(fg);
	free(flab);
	free(w);
	free(f);
	for (int q = 0; q < 4; q++)
		child[q] = group(vi, fs, items + start[q], lab + start[q], cnt[q], fid + fstart[q],
				 fcnt[q], depth + 1, (path << 2) | (uint32_t)q, NULL, b);
	return vx_make_inner(vi, child, depth, path, items, n, parent, b);
}

static struct vx_node *build_fine(struct him_vindex *vi, struct vx_item *items, size_t n,
				  int depth, uint32_t path, const char *parent, struct vx_batch *b)
{
	struct fine fs = { 0 };
	uint32_t *lab = xmalloc(n * sizeof(*lab));
	struct vx_node *node = NULL;

	if (fine_clusters(vi, items, n, node_seed(depth, path, n), &fs, lab)) {
		int *fid = xmalloc((size_t)fs.nf * sizeof(int)), nf = 0;

		for (int j = 0; j < fs.nf; j++)
			if (fs.w[j] > 0)
				fid[nf++] = j;
		node = group(vi, &fs, items, lab, n, fid, nf, depth, path, parent, b);
		free(fid);
	}
	free(fs.cent);
	free(fs.w);
	free(lab);
	return node;
}

struct vx_node *vx_build(struct him_vindex *vi, struct vx_item *items, size_t n, int depth,
			 uint32_t path, const char *parent, struct vx_batch *b)
{
	size_t dim = (size_t)vi->dim, cnt[4], start[4];
	struct vx_node *child[4] = { NULL }, *node;
	unsigned char *g;
	float *cent;
	struct pts p;
	bool degenerate = false;

	if (!n)
		return NULL;
	if (n <= (size_t)vi->leaf_max || depth >= VX_DEPTH_MAX)
		return vx_make_leaf(vi, items, n, depth, path, parent, b);
	if (n >= VX_FINE_MIN && (node = build_fine(vi, items, n, depth, path, parent, b)))
		return node;
	/* 4-way k-means on a strided sample, then every item to its nearest */
	cent = xmalloc(4 * dim * sizeof(float));
	{
		size_t m = n < VX_SAMPLE ? n : VX_SAMPLE;
		const struct vx_item **s = xmalloc(m * sizeof(*s));

		for (size_t i = 0; i < m; i++)
			s[i] = &items[i * n / m];
		p = (struct pts){ .m = m, .dim = dim, .it = s };
		kmeans(&p, 4, node_seed(depth, path, n), cent, NULL);
		free(s);
	}
	g = xmalloc(n);
	memset(cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < n; i++) {
		int best = 0;
		float bs = -INFINITY;

		for (int k = 0; k < 4; k++) {
			float v = vec_dot_i8(cent + (size_t)k * dim, items[i].v, dim);

			if (v > bs) {
				bs = v;
				best = k;
			}
		}
		cnt[g[i] = (unsigned char)best]++;
	}
	for (int k = 0; k < 4; k++)
		degenerate |= cnt[k] == n;
	if (degenerate)   /* duplicates: four equal runs, so the recursion ends */
		for (size_t i = 0; i < n; i++)
			g[i] = (unsigned char)(i * 4 / n);
	partition4(items, NULL, g, n, start, cnt);
	free(g);
	free(cent);
	for (int k = 0; k < 4; k++)
		child[k] = vx_build(vi, items + start[k], cnt[k], depth + 1,
				   (path << 2) | (uint32_t)k, NULL, b);
	return vx_make_inner(vi, child, depth, path, items, n, parent, b);
}
