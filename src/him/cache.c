/* cache.c — the warm tier: verified raw payloads in RAM under a byte budget.
 *
 * A chained hash map over tile ids plus an LRU list; eviction walks from the
 * cold end and skips pinned entries.  A tile is pinned for 30 minutes when
 * it is critical or when it is touched more than pin_touches times within
 * 10 minutes (the spec's heuristic); each entry keeps a ring of its last
 * pin_touches+1 touch times, so the window test is exact.  Pinned entries
 * are never evicted, and the budget is never exceeded: a tile that does not
 * fit beside the pinned ones is simply not cached.
 *
 * Payload blobs are reference-counted so a hit copies the bytes outside the
 * mutex: a 64 MiB tile does not stall every other reader.  Time comes from
 * clock_now_ms(), which tests replace. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <string.h>

#define TOUCH_WINDOW_MS (10 * 60 * 1000)
#define PIN_MS (30 * 60 * 1000)

struct blob {
	int refs;                 /* atomic */
	size_t n;
	unsigned char bytes[];
};

struct entry {
	char *id;
	struct blob *blob;
	struct entry *hnext;           /* hash chain */
	struct entry *prev, *next;     /* LRU list, head = most recent */
	int64_t *touches;              /* ring of the last pin_touches+1 times */
	int ntouch, tpos;
	int64_t pin_until;
	bool critical, prefetched;
};

struct him_cache {
	pthread_mutex_t mu;
	size_t budget, bytes;
	int pin_touches;
	struct entry **buckets;
	size_t nbuckets, count;
	struct entry *head, *tail;
	uint64_t hits, misses, evictions, prefetched_hits;
};

static void blob_unref(struct blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

static size_t hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

struct him_cache *him_cache_new(size_t budget_bytes, int pin_touches)
{
	struct him_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->budget = budget_bytes;
	c->pin_touches = pin_touches > 0 ? pin_touches : 8;
	c->nbuckets = 256;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

static void entry_free(struct entry *e)
{
	blob_unref(e->blob);
	free(e->touches);
	free(e->id);
	free(e);
}

void him_cache_free(struct him_cache *c)
{
	struct entry *e, *next;

	if (!c)
		return;
	for (e = c->head; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	free(c->buckets);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static struct entry *find(struct him_cache *c, const char *id)
{
	struct entry *e = c->buckets[hash_id(id) & (c->nbuckets - 1)];

	while (e && strcmp(e->id, id) != 0)
		e = e->hnext;
	return e;
}

static void grow_buckets(struct him_cache *c)
{
	size_t n = c->nbuckets * 2;
	struct entry **b = xcalloc(n, sizeof(*b));

	for (struct entry *e = c->head; e; e = e->next) {
		size_t i = hash_id(e->id) & (n - 1);

		e->hnext = b[i];
		b[i] = e;
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

static void lru_unlink(struct him_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct him_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void remove_entry(struct him_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[hash_id(e->id) & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->bytes -= e->blob->n;
	c->count--;
	entry_free(e);
}

/* Record a use: more than pin_touches touches inside the window pin the
 * entry; a critical entry's pin is renewed by every touch. */
static void touch(struct him_cache *c, struct entry *e, int64_t now)
{
	int cap = c->pin_touches + 1;

	e->touches[e->tpos] = now;
	e->tpos = (e->tpos + 1) % cap;
	if (e->ntouch < cap)
		e->ntouch++;
	/* when the ring is full, tpos points at the oldest of the last cap */
	if (e->ntouch == cap && now - e->touches[e->tpos] < TOUCH_WINDOW_MS &&
	    e->pin_until < now + PIN_MS)
		e->pin_until = now + PIN_MS;
	if (e->critical)
		e->pin_until = now + PIN_MS;
	lru_unlink(c, e);
	lru_push_front(c, e);
}

/* Evict unpinned entries from the cold end until `need` more bytes fit;
 * when they cannot fit even so, evict nothing. */
static bool make_room(struct him_cache *c, size_t need, int64_t now)
{
	size_t freeable = 0;
	struct entry *e;

	for (e = c->tail; e && c->bytes - freeable + need > c->budget; e = e->prev)
		if (e->pin_until <= now)
			freeable += e->blob->n;
	if (c->bytes - freeable + need > c->budget)
		return false;
	for (e = c->tail; e && c->bytes + need > c->budget;) {
		struct entry *prev = e->prev;

		if (e->pin_until <= now) {
			remove_entry(c, e);
			c->evictions++;
		}
		e = prev;
	}
	return true;
}

/* Take a reference to the entry's bytes (under the lock). */
static struct blob *grab(struct entry *e)
{
	__atomic_add_fetch(&e->blob->refs, 1, __ATOMIC_RELAXED);
	return e->blob;
}

static bool copy_out(struct blob *b, struct buf *out)
{
	bool ok;

	buf_reset(out);
	ok = buf_append(out, b->bytes, b->n) == KITH_OK;
	blob_unref(b);
	return ok;
}

bool him_cache_get(struct him_cache *c, const char *tile_id, struct buf *out, bool *was_prefetched)
{
	struct entry *e;
	struct blob *b = NULL;

	if (was_prefetched)
		*was_prefetched = false;
	pthread_mutex_lock(&c->mu);
	e = find(c, tile_id);
	if (!e) {
		c->misses++;
	} else {
		c->hits++;
		if (e->prefetched) {
			c->prefetched_hits++;
			e->prefetched = false;
			if (was_prefetched)
				*was_prefetched = true;
		}
		touch(c, e, clock_now_ms());
		b = grab(e);
	}
	pthread_mutex_unlock(&c->mu);
	return b ? copy_out(b, out) : false;
}

bool him_cache_peek(struct him_cache *c, const char *tile_id, struct buf *out)
{
	struct entry *e;
	struct blob *b = NULL;

	pthread_mutex_lock(&c->mu);
	e = find(c, tile_id);
	if (e)
		b = grab(e);
	pthread_mutex_unlock(&c->mu);
	return b ? copy_out(b, out) : false;
}

bool him_cache_contains(struct him_cache *c, const char *tile_id)
{
	bool found;

	pthread_mutex_lock(&c->mu);
	found = find(c, tile_id) != NULL;
	pthread_mutex_unlock(&c->mu);
	return found;
}

static struct entry *entry_new(struct him_cache *c, const char *id, const void *p, size_t n)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->id = xstrdup(id);
	e->blob = xmalloc(sizeof(*e->blob) + n + 1);
	e->blob->refs = 1;
	e->blob->n = n;
	if (n)
		memcpy(e->blob->bytes, p, n);
	e->touches = xcalloc((size_t)c->pin_touches + 1, sizeof(*e->touches));
	return e;
}

void him_cache_put(struct him_cache *c, const char *tile_id, const void *p, size_t n,
		   bool critical, bool prefetched)
{
	int64_t now = clock_now_ms();
	struct entry *e;
	size_t i;

	pthread_mutex_lock(&c->mu);
	e = find(c, tile_id);
	if (e) {
		/* content-addressed: same bytes; only the use is news */
		e->critical |= critical;
		if (!prefetched || critical)
			touch(c, e, now);
		goto out;
	}
	if (n > c->budget || !make_room(c, n, now))
		goto out;
	e = entry_new(c, tile_id, p, n);
	e->critical = critical;
	e->prefetched = prefetched;
	if (c->count + 1 > c->nbuckets)
		grow_buckets(c);
	i = hash_id(tile_id) & (c->nbuckets - 1);
	e->hnext = c->buckets[i];
	c->buckets[i] = e;
	c->count++;
	c->bytes += n;
	lru_push_front(c, e);
	if (!prefetched)
		touch(c, e, now);
	else if (critical)
		e->pin_until = now + PIN_MS;
out:
	pthread_mutex_unlock(&c->mu);
}

/* The planner's "recently read" source (planner_int.h): the LRU order is
 * the order of use.  Entries staged by prefetch and never read are not use;
 * the walk looks at no more than 4 × max entries. */
size_t him_cache_recent(struct him_cache *c, char (*ids)[HIM_ID_HEX + 1], size_t max)
{
	size_t n = 0, seen = 0;

	pthread_mutex_lock(&c->mu);
	for (struct entry *e = c->head; e && n < max && seen < 4 * max; e = e->next, seen++)
		if (!e->prefetched && strlen(e->id) == HIM_ID_HEX)
			memcpy(ids[n++], e->id, HIM_ID_HEX + 1);
	pthread_mutex_unlock(&c->mu);
	return n;
}

void him_cache_stats(struct him_cache *c, struct him_cache_stats *out)
{
	int64_t now = clock_now_ms();

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->mu);
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
	out->bytes = c->bytes;
	out->entries = c->count;
	out->prefetched_hits = c->prefetched_hits;
	for (struct entry *e = c->head; e; e = e->next)
		if (e->pin_until > now)
			out->pinned++;
	pthread_mutex_unlock(&c->mu);
}
