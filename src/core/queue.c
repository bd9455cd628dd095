/* queue.c — ring buffer guarded by one mutex and two condition variables. */
#include "core/queue.h"
#include "core/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	void **items;
	size_t cap, head, len;
	bool closed;
};

struct queue *queue_new(size_t capacity)
{
	struct queue *q = xcalloc(1, sizeof(*q));
	pthread_condattr_t ca;

	KITH_ASSERT(capacity > 0);
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->not_empty, &ca);
	pthread_cond_init(&q->not_full, &ca);
	pthread_condattr_destroy(&ca);
	q->items = xcalloc(capacity, sizeof(void *));
	q->cap = capacity;
	return q;
}

void queue_free(struct queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->items);
	free(q);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait on cv until pred is false; returns non-zero on timeout. */
static int wait_on(pthread_cond_t *cv, pthread_mutex_t *mu, int timeout_ms,
		   const struct timespec *deadline)
{
	if (timeout_ms < 0)
		return pthread_cond_wait(cv, mu);
	return pthread_cond_timedwait(cv, mu, deadline) == ETIMEDOUT;
}

enum kith_status queue_push(struct queue *q, void *item, int timeout_ms)
{
	struct timespec dl;

	if (timeout_ms >= 0)
		deadline_in(&dl, timeout_ms);
	pthread_mutex_lock(&q->mu);
	while (!q->closed && q->len == q->cap) {
		if (wait_on(&q->not_full, &q->mu, timeout_ms, &dl)) {
			pthread_mutex_unlock(&q->mu);
			return KITH_ETIMEDOUT;
		}
	}
	if (q->closed) {
		pthread_mutex_unlock(&q->mu);
		return KITH_ECLOSED;
	}
	q->items[(q->head + q->len) % q->cap] = item;
	q->len++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	return KITH_OK;
}

enum kith_status queue_pop(struct queue *q, void **item, int timeout_ms)
{
	struct timespec dl;

	if (timeout_ms >= 0)
		deadline_in(&dl, timeout_ms);
	pthread_mutex_lock(&q->mu);
	while (q->len == 0 && !q->closed) {
		if (wait_on(&q->not_empty, &q->mu, timeout_ms, &dl)) {
			pthread_mutex_unlock(&q->mu);
			return KITH_ETIMEDOUT;
		}
	}
	if (q->len == 0) {
		pthread_mutex_unlock(&q->mu);
		return KITH_ECLOSED;
	}
	*item = q->items[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->mu);
	return KITH_OK;
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mu);
}

size_t queue_len(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}
