/* cancel.h — a cancellation flag shared between threads.
 *
 * The party that wants a long operation to stop calls cancel_request(); the
 * operation polls cancel_requested() between steps and from libcurl's
 * progress callback.  A NULL token is never cancelled. */
#ifndef KITH_CORE_CANCEL_H
#define KITH_CORE_CANCEL_H

#include <stdbool.h>

struct cancel {
	int flag;
};

static inline void cancel_request(struct cancel *c)
{
	__atomic_store_n(&c->flag, 1, __ATOMIC_RELEASE);
}

static inline void cancel_clear(struct cancel *c)
{
	__atomic_store_n(&c->flag, 0, __ATOMIC_RELEASE);
}

static inline bool cancel_requested(const struct cancel *c)
{
	return c && __atomic_load_n(&c->flag, __ATOMIC_ACQUIRE);
}

#endif
