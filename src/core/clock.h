/* clock.h — wall and monotonic time, with an injectable wall clock.
 *
 * Code that stores or compares timestamps asks clock_now_ms(); tests replace
 * the source with clock_set_source() to pin "now" (hormone decay, schedules,
 * backoff).  Elapsed-time measurement uses clock_mono_ms(), which is never
 * faked. */
#ifndef KITH_CORE_CLOCK_H
#define KITH_CORE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cancel.h"

typedef int64_t (*clock_source_fn)(void *ctx);

int64_t clock_now_ms(void);          /* Unix epoch milliseconds */
int64_t clock_mono_ms(void);         /* monotonic milliseconds */
/* NULL restores the real clock.  Not for use while other threads run. */
void clock_set_source(clock_source_fn fn, void *ctx);

/* ISO 8601 UTC "2026-11-21T21:41:55Z" into out (>= 21 bytes). */
void clock_format_utc(int64_t epoch_ms, char *out, unsigned long outlen);

/* Sleep up to ms, waking early when `stop` is cancelled (checked every
 * 50 ms).  Returns true when woken by the cancel. */
bool clock_sleep_unless(int64_t ms, const struct cancel *stop);

#endif
