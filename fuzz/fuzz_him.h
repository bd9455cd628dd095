/* fuzz_him.h — the promise every HIM parser makes, checked by the HIM fuzz
 * targets: an error is KITH_EINVAL with a "field: reason" why, a success
 * leaves no why behind.  Header-only (each fuzz target is one file plus
 * the replay driver). */
#ifndef KITH_FUZZ_HIM_H
#define KITH_FUZZ_HIM_H

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* Abort unless (st, why) keeps the promise; frees why. */
static inline void fuzz_him_check_status(enum kith_status st, char *why)
{
	if (st && (st != KITH_EINVAL || !why || !strchr(why, ':')))
		abort();
	if (!st && why)
		abort();
	free(why);
}

#endif
