/* cron.h — cron expressions: parse one, find when it next fires in a zone.
 *
 * Five fields, minute hour day-of-month month day-of-week, each `*`, a
 * number, a range `a-b`, a step `*\/s`, `a-b/s` or `a/s` (a to the field's
 * end), or a comma list of those; months and weekdays also by English
 * name (jan–dec, sun–sat, any case), day-of-week 0 or 7 for Sunday.  The
 * macros @yearly (@annually), @monthly, @weekly, @daily (@midnight) and
 * @hourly stand for their usual five fields.  When both day fields are
 * restricted (neither starts with `*`), a day matches if EITHER does
 * (Vixie cron's rule: "0 9 1 * mon" is the 1st and every Monday).
 *
 * Times are wall-clock times in a time zone (core/tz.h), and daylight
 * saving is handled the way a person expects of an appointment:
 *  - a wall time that does not exist (the spring-forward gap) fires at the
 *    first instant after the gap when the hour field names hours, so
 *    "30 2 * * *" in Berlin fires at 03:00 CEST on the last Sunday of March;
 *    when the hour field is `*` the missing times are simply skipped (the
 *    job runs every hour that does exist);
 *  - a wall time that happens twice (the fall-back overlap) fires once, at
 *    its first occurrence.
 * docs/scheduler.md has the details and examples.
 *
 * A schedule that can never fire ("0 0 30 2 *", day 31 in a 30-day month
 * only) is rejected by cron_parse, so cron_next always finds a time within
 * CRON_SEARCH_YEARS; its search is bounded whatever the input. */
#ifndef KITH_SCHED_CRON_H
#define KITH_SCHED_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

struct tz;

/* A parsed expression: one bit per allowed value.  Plain data; copy it. */
struct cron {
	uint64_t minute;   /* bits 0..59 */
	uint32_t hour;     /* bits 0..23 */
	uint32_t mday;     /* bits 1..31 */
	uint16_t month;    /* bits 1..12 */
	uint8_t wday;      /* bits 0..6, Sunday = 0 */
	bool mday_star;    /* day-of-month field began with '*' */
	bool wday_star;    /* day-of-week field began with '*' */
	bool hour_star;    /* hour field began with '*' (DST gap rule) */
};

/* Longest expression accepted, in bytes. */
#define CRON_EXPR_MAX 256
/* cron_next looks this far ahead at most (Feb 29 needs up to 8 years). */
#define CRON_SEARCH_YEARS 9

/* Parse `expr`.  On error *why (optional, caller frees) names the field
 * and what is wrong: "day-of-month: 32 is out of range (1-31)". */
enum kith_status cron_parse(const char *expr, struct cron *out, char **why) KITH_MUST_CHECK;

/* Does the schedule match this local date and time?  (month 1-12, mday
 * 1-31, wday 0-6 with Sunday 0.) */
bool cron_matches(const struct cron *c, int month, int mday, int wday, int hour, int minute);

/* The first firing strictly after `after` (Unix seconds), as Unix seconds,
 * reading wall times in `tz` (NULL means UTC).  KITH_ENOTFOUND if none
 * within CRON_SEARCH_YEARS (only for a struct not made by cron_parse, or a
 * damaged zone); KITH_EINVAL if `after` is outside years 1800..9000. */
enum kith_status cron_next(const struct cron *c, const struct tz *tz, int64_t after,
			   int64_t *next) KITH_MUST_CHECK;

#endif
