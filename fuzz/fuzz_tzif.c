/* fuzz_tzif.c — TZif parser and conversion on arbitrary bytes.
 *
 * Whatever tz_parse() accepts must then convert any instant without
 * tripping a sanitizer: the extremes, the epoch, and instants taken from
 * the input itself so transitions and footer rules are hit on both
 * sides. */
#include "core/tz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void convert(const struct tz *tz, int64_t t)
{
	struct tm tm;
	long off;
	char abbr[TZ_ABBR_SIZE], out[80];

	tz_localtime(tz, t, &tm, &off, abbr);
	if (tm.tm_sec < 0 || tm.tm_sec > 60 || tm.tm_min < 0 || tm.tm_min > 59 ||
	    tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_yday < 0 || tm.tm_yday > 365 || strlen(abbr) >= TZ_ABBR_SIZE)
		abort();
	if (tz_format(tz, t, out, sizeof(out)) != KITH_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t fixed[] = {
		INT64_MIN, INT64_MIN + 1, -(INT64_C(1) << 55) - 1, -INT64_C(0x80000000), -1, 0,
		1, INT64_C(0x7fffffff), INT64_C(2145916800), INT64_C(4102444800),
		(INT64_C(1) << 55) + 1, INT64_MAX,
	};
	struct tz *tz = NULL;
	char *why = NULL;

	if (tz_parse(data, size, "fuzz", &tz, &why) != KITH_OK) {
		if (!why)
			abort();   /* every failure explains itself */
		free(why);
		return 0;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		convert(tz, fixed[i]);
	/* Big-endian 8-byte windows of the input, and one second either side. */
	for (size_t i = 0; i + 8 <= size && i < 4096; i += 4) {
		uint64_t v = 0;

		for (size_t j = 0; j < 8; j++)
			v = v << 8 | data[i + j];
		convert(tz, (int64_t)v);
		convert(tz, (int64_t)(v >> 32) - 1);
		convert(tz, (int64_t)(int32_t)(v >> 32));
	}
	tz_free(tz);
	return 0;
}
