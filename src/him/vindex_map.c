/* vindex_map.c — an int64 → uint64 hash map for the semantic index.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so lookups stay short however many removes happen); keys are
 * mixed with a 64-bit finaliser because ids are often sequential.  Load
 * factor at most 1/2.  Not thread-safe: the caller's lock guards it. */
#include "him/vindex_int.h"
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(int64_t key, size_t cap)
{
	uint64_t x = (uint64_t)key;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

void vx_map_init(struct vx_map *m)
{
	memset(m, 0, sizeof(*m));
}

void vx_map_release(struct vx_map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	vx_map_init(m);
}

static void grow(struct vx_map *m)
{
	struct vx_map bigger;

	vx_map_init(&bigger);
	bigger.cap = m->cap ? m->cap * 2 : 64;
	bigger.keys = xmalloc(bigger.cap * sizeof(*bigger.keys));
	bigger.vals = xmalloc(bigger.cap * sizeof(*bigger.vals));
	bigger.used = xcalloc(bigger.cap, 1);
	for (size_t i = 0; i < m->cap; i++)
		if (m->used[i])
			vx_map_put(&bigger, m->keys[i], m->vals[i]);
	vx_map_release(m);
	*m = bigger;
}

bool vx_map_get(const struct vx_map *m, int64_t key, uint64_t *val)
{
	if (!m->n)
		return false;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->used[i])
			return false;
		if (m->keys[i] == key) {
			if (val)
				*val = m->vals[i];
			return true;
		}
	}
}

void vx_map_put(struct vx_map *m, int64_t key, uint64_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	for (i = slot_of(key, m->cap); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return;
		}
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

bool vx_map_del(struct vx_map *m, int64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->n)
		return false;
	for (i = slot_of(key, m->cap);; i = (i + 1) & mask) {
		if (!m->used[i])
			return false;
		if (m->keys[i] == key)
			break;
	}
	/* shift later members of the cluster back over the hole when their
	 * home slot does not lie cyclically in (hole, j] */
	for (j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
		size_t home = slot_of(m->keys[j], m->cap);

		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->used[i] = 0;
	m->n--;
	return true;
}
