/* clock.c — time sources. */
#include "core/clock.h"

#include <time.h>

static clock_source_fn source;
static void *source_ctx;

int64_t clock_now_ms(void)
{
	struct timespec ts;

	if (source)
		return source(source_ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_set_source(clock_source_fn fn, void *ctx)
{
	source = fn;
	source_ctx = ctx;
}

void clock_format_utc(int64_t epoch_ms, char *out, unsigned long outlen)
{
	time_t t = (time_t)(epoch_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool clock_sleep_unless(int64_t ms, const struct cancel *stop)
{
	int64_t end = clock_mono_ms() + ms;

	for (;;) {
		int64_t left = end - clock_mono_ms();
		struct timespec ts;

		if (cancel_requested(stop))
			return true;
		if (left <= 0)
			return false;
		if (left > 50)
			left = 50;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}
