/* test_queue.c — the bounded blocking queue under producers and consumers. */
#include "support/test.h"
#include "core/queue.h"

#include <pthread.h>

#define PER_PRODUCER 2000

static struct queue *q;
static long sum;
static pthread_mutex_t sum_mu = PTHREAD_MUTEX_INITIALIZER;

static void *producer(void *arg)
{
	long base = (long)(intptr_t)arg;

	for (long i = 1; i <= PER_PRODUCER; i++) {
		if (queue_push(q, (void *)(intptr_t)(base + i), -1) != KITH_OK)
			break;
	}
	return NULL;
}

static void *consumer(void *arg)
{
	void *item;

	(void)arg;
	while (queue_pop(q, &item, -1) == KITH_OK) {
		pthread_mutex_lock(&sum_mu);
		sum += (long)(intptr_t)item;
		pthread_mutex_unlock(&sum_mu);
	}
	return NULL;
}

static void test_every_item_delivered_once(void)
{
	pthread_t p[3], c[3];
	long expect = 0;

	q = queue_new(4);
	sum = 0;
	for (int i = 0; i < 3; i++) {
		pthread_create(&c[i], NULL, consumer, NULL);
		pthread_create(&p[i], NULL, producer, (void *)(intptr_t)(i * 100000L));
	}
	for (int i = 0; i < 3; i++)
		pthread_join(p[i], NULL);
	queue_close(q);
	for (int i = 0; i < 3; i++)
		pthread_join(c[i], NULL);
	for (int i = 0; i < 3; i++)
		expect += i * 100000L * PER_PRODUCER + (long)PER_PRODUCER * (PER_PRODUCER + 1) / 2;
	CHECK_EQ(sum, expect);
	queue_free(q);
}

static void test_timeouts_and_close(void)
{
	void *item = NULL;
	struct queue *s = queue_new(1);

	CHECK_EQ(queue_pop(s, &item, 0), KITH_ETIMEDOUT);
	CHECK_EQ(queue_push(s, (void *)1, 0), KITH_OK);
	CHECK_EQ(queue_push(s, (void *)2, 10), KITH_ETIMEDOUT);
	CHECK_EQ(queue_len(s), 1);
	queue_close(s);
	CHECK_EQ(queue_push(s, (void *)3, -1), KITH_ECLOSED);
	CHECK_EQ(queue_pop(s, &item, -1), KITH_OK);   /* drains after close */
	CHECK(item == (void *)1);
	CHECK_EQ(queue_pop(s, &item, -1), KITH_ECLOSED);
	queue_free(s);
}

int main(void)
{
	RUN(test_every_item_delivered_once);
	RUN(test_timeouts_and_close);
	return test_summary();
}
