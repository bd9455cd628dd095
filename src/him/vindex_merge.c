/* vindex_merge.c — merging the delta buffer into the pyramid, and the
 * background thread that does it.
 *
 * A merge takes a snapshot of the delta (references to its immutable
 * entries) and works without blocking searches: the tree is changed
 * copy-on-write — touched leaves are rebuilt (split into a clustered
 * subtree when they pass leaf_max, dropped when emptied) and every node on
 * the path to them is copied with fresh centroids — while searches keep
 * reading the old version.  All new tiles, and a new head naming the new
 * root and the last sequence number absorbed, go to HIM in one
 * him_put_tiles batch; only then are the root pointer swapped and the
 * merged entries dropped from the delta, together, under both write locks,
 * so a search sees every vector exactly once.
 *
 * When the delta is large next to the tree (a first load, a doubling) or
 * the tree has grown lopsided (height well past log4 of its leaf count),
 * the whole tree is rebuilt by recursive clustering instead: cheaper than
 * inserting vector by vector, and it restores the balance. */
#include "him/vindex_int.h"
#include "him/vec.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A touched leaf: ids leaving it, entries joining it, its replacement. */
struct change {
	struct vx_node *leaf;
	int64_t *drop;
	size_t ndrop, capd;
	struct vx_entry **add;
	size_t nadd, capa;
	struct vx_node *repl;
};

struct merge {
	struct vx_entry **snap;
	size_t nsnap;
	uint64_t seq;
	struct change *ch;
	size_t nch, capch;
	struct vx_node **old;       /* replaced nodes, freed after the swap */
	size_t nold, capold;
	struct vx_leaf **held;      /* leaves whose vectors items point into */
	size_t nheld, capheld;
	struct vx_batch batch;
};

void vx_head_payload(const struct him_vindex *vi, const struct vx_node *root, uint64_t merged,
		     struct buf *b)
{
	struct vx_hdr hd = { .kind = VX_KIND_HEAD, .count = root ? root->count : 0,
			     .aux = merged };

	vx_hdr_write(vi, b, &hd);
	vx_slot_write(vi, b, root);
}

static void note_old(struct merge *m, struct vx_node *n)
{
	m->old = xgrow(m->old, &m->capold, m->nold + 1, sizeof(*m->old));
	m->old[m->nold++] = n;
}

static struct change *change_of(struct merge *m, struct vx_node *leaf)
{
	if (!leaf->scratch) {
		m->ch = xgrow(m->ch, &m->capch, m->nch + 1, sizeof(*m->ch));
		memset(&m->ch[m->nch], 0, sizeof(m->ch[0]));
		m->ch[m->nch].leaf = leaf;
		leaf->scratch = (void *)(uintptr_t)(m->nch + 1);
		m->nch++;
	}
	return &m->ch[(uintptr_t)leaf->scratch - 1];
}

static struct vx_node *leaf_at(struct vx_node *root, uint64_t loc)
{
	int depth = (int)(loc >> 32);
	uint32_t path = (uint32_t)loc;
	struct vx_node *n = root;

	for (int t = 1; n && !n->leaf && t <= depth; t++)
		n = n->child[(path >> (2 * (depth - t))) & 3];
	return n && n->leaf && n->depth == depth && n->path == path ? n : NULL;
}

/* The leaf a new vector joins: the one with the most similar centroid
 * among those a short best-first walk reaches (VX_INSERT_EXPAND internal
 * nodes from RAM).  A greedy descent would follow the diffuse centroids
 * near the root, where the per-vector noise decides the branch and the
 * vectors of one cluster would scatter over the tree; leaf centroids are
 * sharp, so comparing the leaves reached by several paths settles it. */
#define VX_INSERT_EXPAND 24

static struct vx_node *descend(const struct him_vindex *vi, struct vx_node *root, const float *v)
{
	struct walk { struct vx_node *n; float s; } q[3 * VX_INSERT_EXPAND + 1];
	struct vx_node *best = NULL;
	float bs = -INFINITY;
	int nq = 0;

	if (!root || root->leaf)
		return root;
	q[nq++] = (struct walk){ root, 0 };
	for (int e = 0; e < VX_INSERT_EXPAND && nq; e++) {
		int w = 0;
		struct vx_node *n;

		for (int i = 1; i < nq; i++)
			if (q[i].s > q[w].s)
				w = i;
		n = q[w].n;
		q[w] = q[--nq];
		for (int c = 0; c < 4; c++) {
			struct vx_node *ch = n->child[c];
			float s;

			if (!ch)
				continue;
			s = vec_dot(v, ch->centroid, (size_t)vi->dim);
			if (ch->leaf) {
				if (s > bs) {
					bs = s;
					best = ch;
				}
			} else if (nq < (int)(sizeof(q) / sizeof(q[0]))) {
				q[nq++] = (struct walk){ ch, s };
			}
		}
	}
	/* no leaf reached (a very deep tree): finish greedily from the best */
	while (!best && nq) {
		int w = 0;

		for (int i = 1; i < nq; i++)
			if (q[i].s > q[w].s)
				w = i;
		best = q[w].n;
		while (best && !best->leaf)
			best = best->child[vx_best_child(vi, best, v)];
		q[w] = q[--nq];
	}
	return best;
}

static enum kith_status hold_leaf(struct him_vindex *vi, struct merge *m, const char *tile_id,
				  struct vx_leaf **out, char **why)
{
	enum kith_status rc = vx_leaf_load(vi, tile_id, out, why);

	if (!rc) {
		m->held = xgrow(m->held, &m->capheld, m->nheld + 1, sizeof(*m->held));
		m->held[m->nheld++] = *out;
	}
	return rc;
}

/* Items of every leaf below n except ids the snapshot changes. */
static enum kith_status gather(struct him_vindex *vi, struct merge *m, const struct vx_node *n,
			       const struct vx_map *skip, struct vx_item **items, size_t *nitems,
			       size_t *cap, char **why)
{
	enum kith_status rc = KITH_OK;
	struct vx_leaf *l;

	if (!n)
		return KITH_OK;
	if (!n->leaf) {
		for (int q = 0; !rc && q < 4; q++)
			rc = gather(vi, m, n->child[q], skip, items, nitems, cap, why);
		return rc;
	}
	if ((rc = hold_leaf(vi, m, n->tile_id, &l, why)))
		return rc;
	*items = xgrow(*items, cap, *nitems + l->n, sizeof(**items));
	for (uint32_t i = 0; i < l->n; i++) {
		if (vx_map_get(skip, l->ids[i], NULL))
			continue;
		(*items)[(*nitems)++] = (struct vx_item){ l->ids[i], l->scales[i],
							  l->vecs + (size_t)i * (size_t)vi->dim };
	}
	return KITH_OK;
}

static struct vx_node *bulk(struct him_vindex *vi, struct merge *m, char **why,
			    enum kith_status *rc)
{
	struct vx_map skip;
	struct vx_item *items = NULL;
	size_t n = 0, cap = 0;
	struct vx_node *root = NULL;

	vx_map_init(&skip);
	for (size_t i = 0; i < m->nsnap; i++)
		vx_map_put(&skip, m->snap[i]->id, 1);
	*rc = gather(vi, m, vi->root, &skip, &items, &n, &cap, why);
	for (size_t i = 0; !*rc && i < m->nsnap; i++) {
		const struct vx_entry *e = m->snap[i];

		if (e->del)
			continue;
		items = xgrow(items, &cap, n + 1, sizeof(*items));
		items[n++] = (struct vx_item){ e->id, e->scale, e->v };
	}
	if (!*rc)
		root = vx_build(vi, items, n, 0, 0, vi->root ? vi->root->tile_id : NULL,
				&m->batch);
	free(items);
	vx_map_release(&skip);
	return root;
}

/* The replacement of one touched leaf. */
static enum kith_status rebuild_leaf(struct him_vindex *vi, struct merge *m, struct change *c,
				     char **why)
{
	struct vx_map drop;
	struct vx_leaf *l;
	struct vx_item *items;
	size_t n = 0;
	enum kith_status rc = hold_leaf(vi, m, c->leaf->tile_id, &l, why);

	if (rc)
		return rc;
	vx_map_init(&drop);
	for (size_t i = 0; i < c->ndrop; i++)
		vx_map_put(&drop, c->drop[i], 1);
	items = xmalloc((l->n + c->nadd) * sizeof(*items));
	for (uint32_t i = 0; i < l->n; i++)
		if (!vx_map_get(&drop, l->ids[i], NULL))
			items[n++] = (struct vx_item){ l->ids[i], l->scales[i],
						       l->vecs + (size_t)i * (size_t)vi->dim };
	for (size_t i = 0; i < c->nadd; i++)
		items[n++] = (struct vx_item){ c->add[i]->id, c->add[i]->scale, c->add[i]->v };
	c->repl = vx_build(vi, items, n, c->leaf->depth, c->leaf->path, c->leaf->tile_id,
			   &m->batch);
	free(items);
	vx_map_release(&drop);
	return KITH_OK;
}

/* Copy-on-write of the path to every touched leaf. */
static struct vx_node *cow(struct him_vindex *vi, struct merge *m, struct vx_node *n,
			   bool *changed)
{
	struct vx_node *child[4];
	bool any = false;

	*changed = false;
	if (!n)
		return NULL;
	if (n->leaf) {
		if (!n->scratch)
			return n;
		*changed = true;
		note_old(m, n);
		return m->ch[(uintptr_t)n->scratch - 1].repl;
	}
	for (int q = 0; q < 4; q++) {
		bool c;

		child[q] = cow(vi, m, n->child[q], &c);
		any |= c;
	}
	if (!any)
		return n;
	*changed = true;
	note_old(m, n);
	return vx_make_inner(vi, child, n->depth, n->path, NULL, 0, n->tile_id, &m->batch);
}

static enum kith_status incremental(struct him_vindex *vi, struct merge *m,
				    struct vx_node **root, char **why)
{
	float *v = xmalloc((size_t)vi->dim * sizeof(float));
	enum kith_status rc = KITH_OK;
	bool changed;

	for (size_t i = 0; i < m->nsnap; i++) {
		const struct vx_entry *e = m->snap[i];
		uint64_t loc;
		struct vx_node *leaf;

		if (vx_map_get(&vi->tree_ids, e->id, &loc) && (leaf = leaf_at(vi->root, loc))) {
			struct change *c = change_of(m, leaf);

			c->drop = xgrow(c->drop, &c->capd, c->ndrop + 1, sizeof(*c->drop));
			c->drop[c->ndrop++] = e->id;
		}
		if (e->del)
			continue;
		vec_dequantize(e->v, e->scale, (size_t)vi->dim, v);
		leaf = descend(vi, vi->root, v);
		if (leaf) {
			struct change *c = change_of(m, leaf);

			c->add = xgrow(c->add, &c->capa, c->nadd + 1, sizeof(*c->add));
			c->add[c->nadd++] = m->snap[i];
		}
	}
	free(v);
	for (size_t i = 0; !rc && i < m->nch; i++)
		rc = rebuild_leaf(vi, m, &m->ch[i], why);
	*root = rc ? NULL : cow(vi, m, vi->root, &changed);
	if (!rc && !changed)
		*root = vi->root;
	return rc;
}

/* Free the nodes of this merge reachable from n (after a failure). */
static void free_fresh(struct vx_node *n)
{
	if (!n || !n->fresh)
		return;
	for (int q = 0; q < 4; q++)
		free_fresh(n->child[q]);
	vx_node_free(n);
}

/* Record where the ids of new leaves live; clear the fresh marks. */
static void index_fresh(struct him_vindex *vi, struct vx_node *n)
{
	if (!n || !n->fresh)
		return;
	n->fresh = false;
	if (n->leaf) {
		for (uint32_t i = 0; i < n->count; i++)
			vx_map_put(&vi->tree_ids, n->ids[i], (uint64_t)n->depth << 32 | n->path);
		return;
	}
	for (int q = 0; q < 4; q++)
		index_fresh(vi, n->child[q]);
}

static enum kith_status put_batch(struct him_vindex *vi, struct vx_batch *b, char **why)
{
	struct him_tile_in *in = xmalloc((b->n ? b->n : 1) * sizeof(*in));
	enum kith_status rc;

	for (size_t i = 0; i < b->n; i++) {
		in[i] = b->t[i].in;
		in[i].parent_tile_id = b->t[i].parent[0] ? b->t[i].parent : NULL;
	}
	rc = him_put_tiles(vi->h, in, b->n, NULL, why);
	free(in);
	return rc;
}

/* A tree taller than this for its size has grown lopsided. */
static bool lopsided(const struct him_vindex *vi, const struct vx_node *root)
{
	double leaves = root ? (double)root->count / ((double)vi->leaf_max / 2) : 0;
	int ideal = leaves > 1 ? (int)ceil(log(leaves) / log(4.0)) : 0;

	return root && !root->leaf && vx_height(root) > ideal + 4;
}

static enum kith_status merge_locked(struct him_vindex *vi, struct merge *m, char **why)
{
	struct vx_node *root = NULL, *old_root = vi->root;
	size_t nadd = 0;
	bool whole;
	struct buf head = BUF_INIT(0);
	char head_id[HIM_ID_HEX + 1];
	int64_t t0 = clock_mono_ms();
	enum kith_status rc = KITH_OK;

	pthread_rwlock_rdlock(&vi->delta.lock);
	m->nsnap = vi->delta.n;
	m->snap = xmalloc((m->nsnap ? m->nsnap : 1) * sizeof(*m->snap));
	for (size_t i = 0; i < m->nsnap; i++) {
		m->snap[i] = vi->delta.arr[i];
		atomic_fetch_add(&m->snap[i]->ref, 1);
		nadd += !m->snap[i]->del;
	}
	m->seq = vi->delta.last_seq;
	pthread_rwlock_unlock(&vi->delta.lock);
	if (!m->nsnap)
		return KITH_OK;
	whole = !old_root || nadd * 2 >= vi->tree_count || lopsided(vi, old_root);
	if (whole)
		root = bulk(vi, m, why, &rc);
	else
		rc = incremental(vi, m, &root, why);
	if (!rc) {
		size_t len;

		vx_head_payload(vi, root, m->seq, &head);
		len = head.len;
		vx_batch_add(vi, &m->batch, VX_HEAD_LEVEL, 0, 0, "vindex-head",
			     (unsigned char *)buf_detach(&head), len, NULL, vi->head_id, head_id);
		rc = put_batch(vi, &m->batch, why);
	}
	if (rc) {
		if (root && root != old_root)
			free_fresh(root);
		else if (!root)
			for (size_t i = 0; i < m->nch; i++)
				free_fresh(m->ch[i].repl);
		for (size_t i = 0; i < m->nch; i++)
			m->ch[i].leaf->scratch = NULL;
		m->nold = 0;
		return rc;
	}
	pthread_rwlock_wrlock(&vi->tree_lock);
	pthread_rwlock_wrlock(&vi->delta.lock);
	vi->root = root;
	vi->tree_count = root ? root->count : 0;
	vi->merged_seq = m->seq;
	memcpy(vi->head_id, head_id, sizeof(head_id));
	if (whole) {
		vx_map_release(&vi->tree_ids);
		vx_map_init(&vi->tree_ids);
	} else {
		for (size_t i = 0; i < m->nch; i++)
			for (size_t j = 0; j < m->ch[i].ndrop; j++)
				vx_map_del(&vi->tree_ids, m->ch[i].drop[j]);
	}
	index_fresh(vi, root);
	for (size_t i = 0; i < m->nsnap; i++)
		vx_delta_drop(&vi->delta, m->snap[i]);
	pthread_rwlock_unlock(&vi->delta.lock);
	pthread_rwlock_unlock(&vi->tree_lock);
	if (whole) {
		vx_tree_free(old_root);
		m->nold = 0;
	}
	atomic_fetch_add(&vi->merges, 1);
	log_debug("him", "index %s: merged %zu (%s), %zu vectors, %zu tiles, %lld ms", vi->stream,
		  m->nsnap, whole ? "rebuilt" : "incremental", vi->tree_count, m->batch.n,
		  (long long)(clock_mono_ms() - t0));
	return KITH_OK;
}

enum kith_status vx_merge(struct him_vindex *vi, char **why)
{
	struct merge m;
	enum kith_status rc;

	memset(&m, 0, sizeof(m));
	pthread_mutex_lock(&vi->merge_mu);
	rc = merge_locked(vi, &m, why);
	for (size_t i = 0; i < m.nold; i++)
		vx_node_free(m.old[i]);
	pthread_mutex_unlock(&vi->merge_mu);
	for (size_t i = 0; i < m.nch; i++) {
		free(m.ch[i].drop);
		free(m.ch[i].add);
	}
	for (size_t i = 0; i < m.nsnap; i++)
		vx_entry_unref(m.snap[i]);
	for (size_t i = 0; i < m.nheld; i++)
		vx_leaf_unref(m.held[i]);
	vx_batch_release(&m.batch);
	free(m.ch);
	free(m.old);
	free(m.held);
	free(m.snap);
	if (rc)
		atomic_fetch_add(&vi->merge_errors, 1);
	return rc;
}

/* ---- the merger thread ----------------------------------------------------- */

static size_t pending(struct him_vindex *vi)
{
	size_t n;

	pthread_rwlock_rdlock(&vi->delta.lock);
	n = vi->delta.n;
	pthread_rwlock_unlock(&vi->delta.lock);
	return n;
}

static void *merger_main(void *arg)
{
	struct him_vindex *vi = arg;

	pthread_mutex_lock(&vi->mu);
	while (!vi->stop) {
		if (!vi->kick) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += vi->interval_ms / 1000;
			ts.tv_nsec += (long)(vi->interval_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!vi->stop && !vi->kick &&
			       pthread_cond_timedwait(&vi->cv, &vi->mu, &ts) != ETIMEDOUT)
				;
		}
		if (vi->stop)
			break;
		vi->kick = false;
		pthread_mutex_unlock(&vi->mu);
		if (pending(vi)) {
			char *why = NULL;

			if (vx_merge(vi, &why) != KITH_OK)
				log_warn("him", "index %s: merge failed (%s); will retry", vi->stream,
					 why ? why : "?");
			free(why);
		}
		pthread_mutex_lock(&vi->mu);
	}
	pthread_mutex_unlock(&vi->mu);
	return NULL;
}

void vx_merger_start(struct him_vindex *vi)
{
	if (pthread_create(&vi->thread, NULL, merger_main, vi) == 0)
		vi->has_thread = true;
	else
		log_warn("him", "index %s: no merger thread; merges wait for a flush", vi->stream);
}

void vx_merger_kick(struct him_vindex *vi)
{
	pthread_mutex_lock(&vi->mu);
	vi->kick = true;
	pthread_cond_signal(&vi->cv);
	pthread_mutex_unlock(&vi->mu);
}

void vx_merger_stop(struct him_vindex *vi)
{
	if (!vi->has_thread)
		return;
	pthread_mutex_lock(&vi->mu);
	vi->stop = true;
	pthread_cond_signal(&vi->cv);
	pthread_mutex_unlock(&vi->mu);
	pthread_join(vi->thread, NULL);
	vi->has_thread = false;
}
