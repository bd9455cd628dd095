/* tz.h — local time in a named IANA time zone, without touching TZ.
 *
 * setenv("TZ") + localtime_r() changes process-wide state and races with
 * every getenv() in other threads (libcurl, the resolver), so kith reads the
 * zone database itself: tz_load() parses a TZif file (RFC 9636, versions 1
 * to 4) from $TZDIR or /usr/share/zoneinfo into an immutable struct tz, and
 * tz_localtime() converts with it.  A loaded zone is never modified, so any
 * number of threads may use one at once.  Times after the last transition
 * follow the POSIX TZ rule in the file's footer, which is all a "slim" file
 * has.  See docs/time.md. */
#ifndef KITH_CORE_TZ_H
#define KITH_CORE_TZ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/status.h"

struct tz;

/* Longest zone name tz_load() accepts ("America/Argentina/ComodRivadavia"
 * is 32). */
#define TZ_NAME_MAX 64
/* Size of the abbreviation buffer ("CEST", "+0530"); longer ones are cut. */
#define TZ_ABBR_SIZE 16

/* Load the zone `name` ("Europe/Berlin", "UTC") from $TZDIR or
 * /usr/share/zoneinfo.  The name must be a relative path of [A-Za-z0-9_+-]
 * components separated by single '/', at most TZ_NAME_MAX bytes, so nothing
 * outside the zone directory can be named; a name that differs from a zone
 * only in case ("asia/tokyo") finds it, and "UTC" works even without a
 * zone database.  KITH_ENOTFOUND for an unknown zone, KITH_EINVAL for a bad
 * name or a damaged file, KITH_EIO when the file cannot be read.  The
 * caller frees *out with tz_free(). */
enum kith_status tz_load(const char *name, struct tz **out, char **why) KITH_MUST_CHECK;

/* Parse TZif bytes; `name` (may be NULL) is only remembered for tz_name().
 * Never reads outside data[0..n) whatever the bytes are.  The caller frees
 * *out with tz_free(). */
enum kith_status tz_parse(const void *data, size_t n, const char *name, struct tz **out,
			  char **why) KITH_MUST_CHECK;

void tz_free(struct tz *tz);

/* The zone's name as found on disk ("Asia/Tokyo" for "asia/tokyo").  Lives
 * as long as tz. */
const char *tz_name(const struct tz *tz);

/* Broken-down local time of `epoch_seconds` (Unix time).  Only the standard
 * struct tm fields are set; tm_gmtoff/tm_zone are zeroed, so format the
 * zone with the outputs below rather than strftime's %z/%Z.  gmtoff (seconds
 * east of UTC) and abbr may be NULL.  Times beyond about a billion years
 * are clamped. */
void tz_localtime(const struct tz *tz, int64_t epoch_seconds, struct tm *out, long *gmtoff,
		  char abbr[TZ_ABBR_SIZE]);

/* "Saturday, 21 November 2026, 13:41 PST (UTC-08:00)" (English, whatever
 * the locale).  KITH_ETOOBIG when outlen is too small (80 bytes always
 * suffice). */
enum kith_status tz_format(const struct tz *tz, int64_t epoch_seconds, char *out,
			   size_t outlen) KITH_MUST_CHECK;

/* Named-zone conveniences for prompts and tools.  They share a small
 * process-wide cache of loaded zones (mutex-protected, bounded), so calling
 * them per message costs no file I/O after the first time.  Errors as
 * tz_load(). */
enum kith_status tz_localtime_named(const char *name, int64_t epoch_seconds, struct tm *out,
				    long *gmtoff, char abbr[TZ_ABBR_SIZE], char **why)
	KITH_MUST_CHECK;
enum kith_status tz_format_now(const char *name, int64_t epoch_seconds, char *out,
			       size_t outlen, char **why) KITH_MUST_CHECK;

/* Drop every cached zone (tests; after tzdata is updated on disk). */
void tz_cache_clear(void);

#endif
