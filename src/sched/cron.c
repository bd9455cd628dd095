/* cron.c — cron expression parser and next-fire-time search.
 *
 * Design choice: a field is a bit set, and the next firing is found by
 * walking local calendar days (skipping whole months that cannot match)
 * and, on a matching day, the matching hours and minutes in order; each
 * candidate wall time is turned into an instant through the zone.  Walking
 * wall time rather than instants makes DST rules explicit: the mapping from
 * wall time to instant picks the first occurrence in an overlap, and a wall
 * time inside a gap either moves to the gap's end or is skipped (cron.h).
 * With first occurrences, the instant never decreases as the wall time
 * increases, so the first candidate after `after` is the answer and the
 * walk can start at the wall time of `after`.
 *
 * The zone API only converts instants to wall time, so wall → instant is
 * solved by trying the offsets in force a day either side: t = L − off is
 * valid when the zone's offset at t is off.  No valid t means a gap; its
 * end is found by bisection between the two candidates. */
#include "sched/cron.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/tz.h"

enum { F_MIN, F_HOUR, F_MDAY, F_MON, F_WDAY, F_COUNT };

static const struct field_def {
	const char *name;
	int lo, hi;               /* accepted values (day-of-week takes 7 too) */
	const char *const *names; /* names for lo, lo+1, … or NULL */
} fields[F_COUNT] = {
	[F_MIN] = { "minute", 0, 59, NULL },
	[F_HOUR] = { "hour", 0, 23, NULL },
	[F_MDAY] = { "day-of-month", 1, 31, NULL },
	[F_MON] = { "month", 1, 12,
		    (const char *const[]){ "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
					   "sep", "oct", "nov", "dec" } },
	[F_WDAY] = { "day-of-week", 0, 7,
		     (const char *const[]){ "sun", "mon", "tue", "wed", "thu", "fri", "sat" } },
};

static const struct {
	const char *name;
	const char *fields;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },  { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },  { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* ---- parsing ------------------------------------------------------------ */

/* One value: digits, or a name where the field has names.  *p advances. */
static bool parse_value(const struct field_def *f, const char **p, const char *end, int *out)
{
	const char *s = *p;

	if (s < end && isdigit((unsigned char)*s)) {
		long v = 0;

		while (s < end && isdigit((unsigned char)*s)) {
			v = v * 10 + (*s - '0');
			if (v > 1000)
				return false;
			s++;
		}
		*out = (int)v;
		*p = s;
		return true;
	}
	if (f->names && end - s >= 3) {
		int count = f->hi - f->lo + 1 - (f == &fields[F_WDAY]);

		for (int i = 0; i < count; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0 &&
			    (end - s == 3 || !isalpha((unsigned char)s[3]))) {
				*out = f->lo + i;
				*p = s + 3;
				return true;
			}
		}
	}
	return false;
}

static enum kith_status field_error(char **why, int fi, const char *text, size_t len,
				    const char *what)
{
	return kith_why(why, KITH_EINVAL, "%s field \"%.*s\": %s", fields[fi].name, (int)len, text,
			what);
}

/* One comma-separated item of field fi into *bits. */
static enum kith_status parse_item(int fi, const char *s, const char *end, uint64_t *bits,
				   const char *ftext, size_t flen, char **why)
{
	const struct field_def *f = &fields[fi];
	const char *p = s;
	int lo, hi, step = 1;
	char msg[96];

	if (p == end)
		return field_error(why, fi, ftext, flen, "empty item in the list");
	if (*p == '*') {
		lo = f->lo;
		hi = f->hi == 7 ? 6 : f->hi;
		p++;
	} else {
		if (!parse_value(f, &p, end, &lo)) {
			snprintf(msg, sizeof(msg), "\"%.*s\" is not a %s", (int)(end - s), s,
				 f->names ? "number or name" : "number");
			return field_error(why, fi, ftext, flen, msg);
		}
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			if (!parse_value(f, &p, end, &hi)) {
				snprintf(msg, sizeof(msg), "range \"%.*s\" has no valid end",
					 (int)(end - s), s);
				return field_error(why, fi, ftext, flen, msg);
			}
		} else if (p < end && *p == '/') {
			hi = f->hi == 7 ? 6 : f->hi;  /* "a/s": from a to the end */
		}
		if (lo < f->lo || lo > f->hi || hi < f->lo || hi > f->hi) {
			snprintf(msg, sizeof(msg), "%d is out of range (%d-%d)",
				 lo < f->lo || lo > f->hi ? lo : hi, f->lo, f->hi);
			return field_error(why, fi, ftext, flen, msg);
		}
		if (lo > hi) {
			snprintf(msg, sizeof(msg), "range %d-%d is backwards", lo, hi);
			return field_error(why, fi, ftext, flen, msg);
		}
	}
	if (p < end && *p == '/') {
		const char *q = ++p;
		long v = 0;

		while (p < end && isdigit((unsigned char)*p) && v <= 1000)
			v = v * 10 + (*p++ - '0');
		if (p == q || p != end || v < 1 || v > f->hi) {
			snprintf(msg, sizeof(msg), "step \"%.*s\" must be a number from 1 to %d",
				 (int)(end - q), q, f->hi);
			return field_error(why, fi, ftext, flen, msg);
		}
		step = (int)v;
	}
	if (p != end) {
		snprintf(msg, sizeof(msg), "unexpected \"%.*s\"", (int)(end - p), p);
		return field_error(why, fi, ftext, flen, msg);
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << (fi == F_WDAY && v == 7 ? 0 : v);
	return KITH_OK;
}

static enum kith_status parse_field(int fi, const char *s, size_t len, uint64_t *bits,
				    char **why)
{
	const char *end = s + len, *p = s;

	*bits = 0;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end;
		enum kith_status st = parse_item(fi, p, item_end, bits, s, len, why);

		if (st != KITH_OK)
			return st;
		if (!comma)
			return KITH_OK;
		p = comma + 1;
	}
}

static int days_in_month_max(int month)
{
	static const int d[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return d[month - 1];
}

/* With only the day-of-month restricting days, some listed day must exist
 * in some listed month (Feb 29 counts: it exists in leap years). */
static bool days_possible(const struct cron *c)
{
	if (c->mday_star || !c->wday_star)
		return true;
	for (int m = 1; m <= 12; m++) {
		if (!(c->month >> m & 1))
			continue;
		for (int d = 1; d <= days_in_month_max(m); d++)
			if (c->mday >> d & 1)
				return true;
	}
	return false;
}

static enum kith_status parse_fields(const char *expr, struct cron *out, char **why)
{
	const char *start[F_COUNT], *p = expr;
	size_t len[F_COUNT];
	uint64_t bits[F_COUNT];
	int n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == F_COUNT)
			return kith_why(why, KITH_EINVAL,
					"too many fields: a cron expression has 5 (minute hour "
					"day-of-month month day-of-week)");
		start[n] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		len[n] = (size_t)(p - start[n]);
		n++;
	}
	if (n < F_COUNT)
		return kith_why(why, KITH_EINVAL,
				"%d field%s, expected 5: minute hour day-of-month month day-of-week",
				n, n == 1 ? "" : "s");
	for (int i = 0; i < F_COUNT; i++) {
		enum kith_status st = parse_field(i, start[i], len[i], &bits[i], why);

		if (st != KITH_OK)
			return st;
	}
	memset(out, 0, sizeof(*out));
	out->minute = bits[F_MIN];
	out->hour = (uint32_t)bits[F_HOUR];
	out->mday = (uint32_t)bits[F_MDAY];
	out->month = (uint16_t)bits[F_MON];
	out->wday = (uint8_t)bits[F_WDAY];
	out->hour_star = start[F_HOUR][0] == '*';
	out->mday_star = start[F_MDAY][0] == '*';
	out->wday_star = start[F_WDAY][0] == '*';
	if (!days_possible(out))
		return kith_why(why, KITH_EINVAL,
				"day-of-month field \"%.*s\": no such day in month field \"%.*s\", "
				"so the schedule would never fire",
				(int)len[F_MDAY], start[F_MDAY], (int)len[F_MON], start[F_MON]);
	return KITH_OK;
}

enum kith_status cron_parse(const char *expr, struct cron *out, char **why)
{
	const char *p = expr, *e;
	char buf[CRON_EXPR_MAX + 1];
	size_t n;

	if (!expr)
		return kith_why(why, KITH_EINVAL, "no cron expression");
	n = strnlen(expr, CRON_EXPR_MAX + 1);
	if (n > CRON_EXPR_MAX)
		return kith_why(why, KITH_EINVAL, "cron expression longer than %d characters",
				CRON_EXPR_MAX);
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)expr[i]) && expr[i] != '\t')
			return kith_why(why, KITH_EINVAL,
					"cron expression contains a character other than printable ASCII");
	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (p == e)
		return kith_why(why, KITH_EINVAL, "empty cron expression");
	if (*p != '@') {
		memcpy(buf, p, (size_t)(e - p));
		buf[e - p] = '\0';
		return parse_fields(buf, out, why);
	}
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if ((size_t)(e - p) == strlen(macros[i].name) &&
		    strncasecmp(p, macros[i].name, (size_t)(e - p)) == 0)
			return parse_fields(macros[i].fields, out, why);
	}
	if ((size_t)(e - p) == 7 && strncasecmp(p, "@reboot", 7) == 0)
		return kith_why(why, KITH_EINVAL, "@reboot is not a time of day; use a time schedule");
	return kith_why(why, KITH_EINVAL,
			"unknown macro \"%.*s\" (use @yearly, @monthly, @weekly, @daily or @hourly)",
			(int)(e - p > 32 ? 32 : e - p), p);
}

/* ---- matching ----------------------------------------------------------- */

static bool day_matches(const struct cron *c, int mday, int wday)
{
	bool md = c->mday >> mday & 1, wd = c->wday >> wday & 1;

	/* Vixie: if either field is '*'-led, the other alone decides (both
	 * '*': every day); if both are restricted, either may match. */
	if (c->mday_star || c->wday_star)
		return md && wd;
	return md || wd;
}

bool cron_matches(const struct cron *c, int month, int mday, int wday, int hour, int minute)
{
	if (month < 1 || month > 12 || mday < 1 || mday > 31 || wday < 0 || wday > 6 ||
	    hour < 0 || hour > 23 || minute < 0 || minute > 59)
		return false;
	return (c->month >> month & 1) && day_matches(c, mday, wday) && (c->hour >> hour & 1) &&
	       (c->minute >> minute & 1);
}

/* ---- calendar ----------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm) and back. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- wall time → instant ------------------------------------------------- */

static long offset_at(const struct tz *tz, int64_t t)
{
	struct tm tm;
	long off = 0;

	if (!tz)
		return 0;
	tz_localtime(tz, t, &tm, &off, NULL);
	return off;
}

enum resolve { R_EXISTS, R_GAP, R_NONE };

/* The first instant whose wall time is L (R_EXISTS), or, if L falls in a
 * gap, the first instant after the gap (R_GAP). */
static enum resolve resolve(const struct tz *tz, int64_t L, int64_t *out)
{
	long offs[4];
	int64_t best = INT64_MAX, lo, hi;
	long omin, omax;

	if (!tz) {
		*out = L;
		return R_EXISTS;
	}
	offs[0] = offset_at(tz, L - 86400);
	offs[1] = offset_at(tz, L + 86400);
	offs[2] = offset_at(tz, L - offs[0]);
	offs[3] = offset_at(tz, L - offs[1]);
	for (int i = 0; i < 4; i++) {
		int64_t t = L - offs[i];

		if (t < best && offset_at(tz, t) == offs[i])
			best = t;
	}
	if (best != INT64_MAX) {
		*out = best;
		return R_EXISTS;
	}
	/* A gap: wall(lo) < L < wall(hi); bisect for the first instant whose
	 * wall time is past L, which is the transition itself. */
	omin = offs[0] < offs[1] ? offs[0] : offs[1];
	omax = offs[0] < offs[1] ? offs[1] : offs[0];
	lo = L - omax;
	hi = L - omin;
	if (!(lo + offset_at(tz, lo) < L && hi + offset_at(tz, hi) > L))
		return R_NONE;  /* not a simple gap (damaged zone): skip this time */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (mid + offset_at(tz, mid) > L)
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return R_GAP;
}

/* ---- next firing -------------------------------------------------------- */

#define MIN_SECONDS (-5364662400LL)   /* 1800-01-01 */
#define MAX_SECONDS (221845392000LL)  /* 9000-01-01 */

static int lowest_bit_from(uint64_t bits, int from, int limit)
{
	for (int i = from; i <= limit; i++)
		if (bits >> i & 1)
			return i;
	return -1;
}

enum kith_status cron_next(const struct cron *c, const struct tz *tz, int64_t after,
			   int64_t *next)
{
	int64_t wall, start, day, last_day;
	int start_min;

	if (after < MIN_SECONDS || after > MAX_SECONDS)
		return KITH_EINVAL;
	/* Wall times at or before after's own can only map to instants at or
	 * before `after` (first occurrences are monotonic), so begin at the
	 * next whole minute of wall time. */
	wall = after + offset_at(tz, after);
	start = floor_div(wall, 60) * 60 + 60;
	day = floor_div(start, 86400);
	start_min = (int)((start - day * 86400) / 60);
	last_day = day + (int64_t)CRON_SEARCH_YEARS * 366;
	while (day <= last_day) {
		int64_t y;
		int m, d, wday = (int)(((day % 7) + 11) % 7);  /* 1970-01-01: Thursday */

		civil_from_days(day, &y, &m, &d);
		if (!(c->month >> m & 1)) {
			day = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1);
			start_min = 0;
			continue;
		}
		if (day_matches(c, d, wday)) {
			for (int h = start_min / 60; h < 24; h++) {
				int mi = h == start_min / 60 ? start_min % 60 : 0;

				if (!(c->hour >> h & 1))
					continue;
				while ((mi = lowest_bit_from(c->minute, mi, 59)) >= 0) {
					int64_t L = day * 86400 + h * 3600 + mi * 60, t;
					enum resolve r = resolve(tz, L, &t);

					mi++;
					if (r == R_NONE || (r == R_GAP && c->hour_star))
						continue;
					if (t > after) {
						*next = t;
						return KITH_OK;
					}
				}
			}
		}
		day++;
		start_min = 0;
	}
	return KITH_ENOTFOUND;
}
