/* test_him_cache.c — the warm tier: LRU by bytes, pins, stats, threads. */
#include "support/test.h"
#include "him/him_int.h"
#include "core/clock.h"

#include <pthread.h>
#include <stdio.h>

#define MIN_MS (60 * 1000)

static int64_t fake_now = 1700000000000;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void put(struct him_cache *c, const char *id, size_t n, bool critical)
{
	static unsigned char bytes[1024];

	memset(bytes, id[0], sizeof(bytes));
	him_cache_put(c, id, bytes, n, critical, false);
}

static bool get(struct him_cache *c, const char *id)
{
	struct buf b = BUF_INIT(0);
	bool hit = him_cache_get(c, id, &b, NULL);

	if (hit)
		CHECK(b.len > 0 && (unsigned char)b.data[0] == (unsigned char)id[0]);
	buf_release(&b);
	return hit;
}

static void test_lru_by_bytes(void)
{
	struct him_cache *c = him_cache_new(300, 8);
	struct him_cache_stats st;

	put(c, "a", 100, false);
	put(c, "b", 100, false);
	put(c, "c", 100, false);
	CHECK(get(c, "a"));           /* a is now the most recent */
	put(c, "d", 100, false);      /* evicts b, the least recent */
	CHECK(him_cache_contains(c, "a"));
	CHECK(!him_cache_contains(c, "b"));
	CHECK(him_cache_contains(c, "c"));
	CHECK(him_cache_contains(c, "d"));
	put(c, "e", 200, false);      /* evicts c and a */
	CHECK(!him_cache_contains(c, "c"));
	CHECK(!him_cache_contains(c, "a"));
	CHECK(him_cache_contains(c, "d"));
	put(c, "huge", 301, false);   /* never fits */
	CHECK(!him_cache_contains(c, "huge"));
	him_cache_stats(c, &st);
	CHECK_EQ(st.bytes, 300);
	CHECK_EQ(st.entries, 2);
	CHECK_EQ(st.evictions, 3);
	CHECK_EQ(st.hits, 1);
	CHECK_EQ(st.misses, 0);
	CHECK(!get(c, "b"));
	him_cache_stats(c, &st);
	CHECK_EQ(st.misses, 1);
	him_cache_free(c);
}

static void test_pin_by_touches(void)
{
	struct him_cache *c = him_cache_new(200, 3);
	struct him_cache_stats st;

	clock_set_source(fake_clock, NULL);
	put(c, "a", 100, false);               /* touch 1 */
	for (int i = 0; i < 3; i++) {          /* touches 2..4 within 10 min */
		fake_now += MIN_MS;
		CHECK(get(c, "a"));
	}
	him_cache_stats(c, &st);
	CHECK_EQ(st.pinned, 1);
	put(c, "b", 100, false);
	put(c, "c", 100, false);               /* a is the LRU but pinned: b goes */
	CHECK(him_cache_contains(c, "a"));
	CHECK(!him_cache_contains(c, "b"));
	CHECK(him_cache_contains(c, "c"));

	/* a pin lasts 30 minutes from the touch that earned it */
	fake_now += 29 * MIN_MS;
	put(c, "d", 100, false);
	CHECK(him_cache_contains(c, "a"));
	CHECK(!him_cache_contains(c, "c"));
	fake_now += 2 * MIN_MS;
	him_cache_stats(c, &st);
	CHECK_EQ(st.pinned, 0);
	put(c, "e", 100, false);               /* a is evictable again */
	CHECK(!him_cache_contains(c, "a"));
	CHECK(him_cache_contains(c, "d"));
	CHECK(him_cache_contains(c, "e"));
	him_cache_free(c);
	clock_set_source(NULL, NULL);
}

static void test_touches_outside_window_do_not_pin(void)
{
	struct him_cache *c = him_cache_new(200, 3);
	struct him_cache_stats st;

	clock_set_source(fake_clock, NULL);
	put(c, "a", 100, false);
	for (int i = 0; i < 3; i++) {          /* 4 touches over 12 minutes */
		fake_now += 4 * MIN_MS;
		CHECK(get(c, "a"));
	}
	him_cache_stats(c, &st);
	CHECK_EQ(st.pinned, 0);
	fake_now += 1000;                      /* 4 touches in the last 9 min */
	CHECK(get(c, "a"));
	him_cache_stats(c, &st);
	CHECK_EQ(st.pinned, 1);
	him_cache_free(c);
	clock_set_source(NULL, NULL);
}

static void test_critical_pins(void)
{
	struct him_cache *c = him_cache_new(200, 8);
	struct him_cache_stats st;

	clock_set_source(fake_clock, NULL);
	put(c, "crit", 100, true);
	put(c, "b", 100, false);
	put(c, "c", 100, false);
	put(c, "d", 100, false);
	CHECK(him_cache_contains(c, "crit"));
	CHECK(him_cache_contains(c, "d"));
	him_cache_stats(c, &st);
	CHECK_EQ(st.pinned, 1);
	/* a second critical tile cannot push the budget past its limit */
	put(c, "crit2", 150, true);
	CHECK(!him_cache_contains(c, "crit2"));
	CHECK(him_cache_contains(c, "d"));     /* nothing evicted in vain */
	fake_now += 31 * MIN_MS;
	him_cache_stats(c, &st);
	CHECK_EQ(st.pinned, 0);
	put(c, "e", 100, false);
	put(c, "f", 100, false);
	CHECK(!him_cache_contains(c, "crit"));
	him_cache_free(c);
	clock_set_source(NULL, NULL);
}

static void test_prefetched_hits_and_peek(void)
{
	struct him_cache *c = him_cache_new(1000, 8);
	struct him_cache_stats st;
	struct buf b = BUF_INIT(0);
	bool pre = false;

	him_cache_put(c, "p", "abc", 3, false, true);
	CHECK(him_cache_peek(c, "p", &b));
	CHECK_EQ(b.len, 3);
	him_cache_stats(c, &st);
	CHECK_EQ(st.hits + st.misses, 0);
	CHECK(him_cache_get(c, "p", &b, &pre));
	CHECK(pre);
	CHECK_STR(b.data, "abc");
	CHECK(him_cache_get(c, "p", &b, &pre));
	CHECK(!pre);
	him_cache_stats(c, &st);
	CHECK_EQ(st.hits, 2);
	CHECK_EQ(st.prefetched_hits, 1);
	CHECK(!him_cache_peek(c, "nope", &b));
	/* an empty payload is a valid entry */
	him_cache_put(c, "empty", NULL, 0, false, false);
	CHECK(him_cache_get(c, "empty", &b, NULL));
	CHECK_EQ(b.len, 0);
	buf_release(&b);
	him_cache_free(c);
}

struct worker {
	struct him_cache *c;
	int id;
};

static void *churn(void *arg)
{
	struct worker *w = arg;
	char id[32];
	struct buf b = BUF_INIT(0);
	unsigned char bytes[64];

	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "t%d", (i * 7 + w->id) % 50);
		memset(bytes, i & 0xff, sizeof(bytes));
		if (!him_cache_get(w->c, id, &b, NULL))
			him_cache_put(w->c, id, bytes, sizeof(bytes), i % 97 == 0, i % 3 == 0);
	}
	buf_release(&b);
	return NULL;
}

static void test_threads(void)
{
	struct him_cache *c = him_cache_new(64 * 20, 4);
	struct worker w[4];
	pthread_t t[4];
	struct him_cache_stats st;

	for (int i = 0; i < 4; i++) {
		w[i].c = c;
		w[i].id = i;
		pthread_create(&t[i], NULL, churn, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	him_cache_stats(c, &st);
	CHECK(st.bytes <= 64 * 20);
	CHECK_EQ(st.hits + st.misses, 8000);
	him_cache_free(c);
}

int main(void)
{
	RUN(test_lru_by_bytes);
	RUN(test_pin_by_touches);
	RUN(test_touches_outside_window_do_not_pin);
	RUN(test_critical_pins);
	RUN(test_prefetched_hits_and_peek);
	RUN(test_threads);
	return test_summary();
}
