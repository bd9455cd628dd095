/* fuzz_cron.c — cron parser and next-fire search on arbitrary input.
 *
 * The input's first line is the expression; the bytes after it pick the
 * starting instants.  Whatever cron_parse() accepts must find a next
 * firing from any instant in range, strictly later, at a wall time the
 * schedule matches (or at the end of a DST gap), in UTC and in zones with
 * one-hour and half-hour DST shifts.  The search is bounded, so a slow
 * input shows up as a libFuzzer timeout, not a hang. */
#include "core/tz.h"
#include "sched/cron.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zone_names[] = { "Europe/Berlin", "America/New_York",
					  "Australia/Lord_Howe" };
static struct tz *zones[3];
static int loaded;

static long offset(const struct tz *tz, int64_t t, struct tm *tm)
{
	long off = 0;

	if (!tz) {
		time_t tt = (time_t)t;

		gmtime_r(&tt, tm);
		return 0;
	}
	tz_localtime(tz, t, tm, &off, NULL);
	return off;
}

static void check(const struct cron *c, const struct tz *tz, int64_t after)
{
	for (int i = 0; i < 3; i++) {
		struct tm tm, before;
		int64_t next;

		if (cron_next(c, tz, after, &next) != KITH_OK || next <= after)
			abort();
		if (next > INT64_C(221845392000))
			return;
		if (offset(tz, next, &tm) == offset(tz, next - 1, &before) &&
		    (tm.tm_sec != 0 ||
		     !cron_matches(c, tm.tm_mon + 1, tm.tm_mday, tm.tm_wday, tm.tm_hour, tm.tm_min)))
			abort();
		after = next;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char expr[CRON_EXPR_MAX + 2];
	size_t n = 0;
	struct cron c;
	char *why = NULL;

	if (!loaded) {
		for (int i = 0; i < 3; i++) {
			char *w = NULL;

			if (tz_load(zone_names[i], &zones[i], &w) != KITH_OK)
				zones[i] = NULL;
			free(w);
		}
		loaded = 1;
	}
	while (n < size && n < sizeof(expr) - 1 && data[n] != '\n')
		n++;
	memcpy(expr, data, n);
	expr[n] = '\0';
	if (cron_parse(expr, &c, &why) != KITH_OK) {
		if (!why)
			abort();   /* every failure explains itself */
		free(why);
		return 0;
	}
	check(&c, NULL, 1711846800);
	for (int z = 0; z < 3; z++)
		if (zones[z])
			check(&c, zones[z], 1729989000 + z);
	/* 5-byte windows after the expression: instants from 1970 to 2318. */
	for (size_t i = n + 1; i + 5 <= size && i < n + 1 + 40; i += 5) {
		int64_t t = 0;

		for (size_t j = 0; j < 5; j++)
			t = t << 8 | data[i + j];
		t %= INT64_C(10995116277);
		check(&c, NULL, t);
		for (int z = 0; z < 3; z++)
			if (zones[z])
				check(&c, zones[z], t);
	}
	return 0;
}
