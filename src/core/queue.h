/* queue.h — a bounded, blocking, multi-producer multi-consumer queue.
 *
 * Channels push inbound events, workers pop them.  queue_close() wakes every
 * waiter: pushes then fail with KITH_ECLOSED, pops drain what is left and
 * then fail.  Items are opaque pointers owned by whoever holds them. */
#ifndef KITH_CORE_QUEUE_H
#define KITH_CORE_QUEUE_H

#include <stddef.h>

#include "core/status.h"

struct queue;

struct queue *queue_new(size_t capacity);
void queue_free(struct queue *q);     /* items still inside are not freed */
/* Blocks while full; timeout_ms < 0 waits forever. */
enum kith_status queue_push(struct queue *q, void *item, int timeout_ms) KITH_MUST_CHECK;
/* Blocks while empty; KITH_ETIMEDOUT after timeout_ms (>= 0), KITH_ECLOSED
 * once closed and drained. */
enum kith_status queue_pop(struct queue *q, void **item, int timeout_ms) KITH_MUST_CHECK;
void queue_close(struct queue *q);
size_t queue_len(struct queue *q);

#endif
