/* test_tz.c — TZif parsing and conversion, checked against the C library.
 *
 * The oracle is glibc's own localtime_r() with TZ set, which is fine here
 * because this test is single-threaded while it uses it (the very race
 * tz.c exists to avoid).  Each zone is sampled every ~7 hours over
 * 1960-2100, so both the transition table (to 2037 in "fat" files) and the
 * footer rule after it are covered, and every change the oracle reports is
 * pinned to the second and compared on both sides. */
#include "support/test.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/tz.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define YEAR_S(y) ((int64_t)((y) - 1970) * 31556952)   /* mean Gregorian year */
#define STEP 25213                                    /* ~7 h, odd minutes */

static const char *const zones[] = {
	"UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe",
	"Asia/Kathmandu", "Australia/Sydney", "America/Sao_Paulo", "Pacific/Chatham",
	"America/St_Johns", "Europe/Dublin", "Asia/Jerusalem", "America/Nuuk",
	"Antarctica/Troll", "Africa/Casablanca", "Pacific/Kiritimati", "Pacific/Apia",
	"America/Argentina/Buenos_Aires", "Asia/Tokyo", "Europe/London",
};

static void oracle(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	localtime_r(&tt, tm);
}

static void set_oracle_tz(const char *spec)
{
	if (spec)
		setenv("TZ", spec, 1);
	else
		unsetenv("TZ");
	tzset();
}

static bool same_state(const struct tm *a, const struct tm *b)
{
	return a->tm_gmtoff == b->tm_gmtoff && a->tm_isdst == b->tm_isdst &&
	       strcmp(a->tm_zone, b->tm_zone) == 0;
}

/* Compare tz_localtime with the oracle at t; report at most a few per zone. */
static bool agree(const struct tz *tz, const char *what, int64_t t, int *reported)
{
	struct tm want, got;
	long off;
	char abbr[TZ_ABBR_SIZE];

	oracle(t, &want);
	tz_localtime(tz, t, &got, &off, abbr);
	if (got.tm_sec == want.tm_sec && got.tm_min == want.tm_min &&
	    got.tm_hour == want.tm_hour && got.tm_mday == want.tm_mday &&
	    got.tm_mon == want.tm_mon && got.tm_year == want.tm_year &&
	    got.tm_wday == want.tm_wday && got.tm_yday == want.tm_yday &&
	    got.tm_isdst == want.tm_isdst && off == want.tm_gmtoff &&
	    strcmp(abbr, want.tm_zone) == 0)
		return true;
	if ((*reported)++ < 5)
		test_fail_(__FILE__, __LINE__,
			   "%s at %lld: got %04d-%02d-%02d %02d:%02d:%02d %s %+ld dst=%d, "
			   "libc %04d-%02d-%02d %02d:%02d:%02d %s %+ld dst=%d", what, (long long)t,
			   got.tm_year + 1900, got.tm_mon + 1, got.tm_mday, got.tm_hour, got.tm_min,
			   got.tm_sec, abbr, off, got.tm_isdst, want.tm_year + 1900, want.tm_mon + 1,
			   want.tm_mday, want.tm_hour, want.tm_min, want.tm_sec, want.tm_zone,
			   (long)want.tm_gmtoff, want.tm_isdst);
	return false;
}

/* Sample [from, to) and pin every change of offset/DST/abbreviation the
 * oracle shows to the second.  Returns the number of changes seen. */
static int compare_range(const struct tz *tz, const char *what, int64_t from, int64_t to)
{
	struct tm prev, cur;
	int reported = 0, changes = 0;

	oracle(from, &prev);
	for (int64_t t = from; t < to; t += STEP) {
		agree(tz, what, t, &reported);
		oracle(t, &cur);
		if (!same_state(&prev, &cur)) {
			int64_t lo = t - STEP, hi = t;   /* state(lo) = prev, state(hi) != */

			while (hi - lo > 1) {
				int64_t mid = lo + (hi - lo) / 2;
				struct tm m;

				oracle(mid, &m);
				if (same_state(&prev, &m))
					lo = mid;
				else
					hi = mid;
			}
			agree(tz, what, hi - 1, &reported);
			agree(tz, what, hi, &reported);
			changes++;
		}
		prev = cur;
	}
	CHECK_EQ(reported, 0);
	return changes;
}

static void test_matches_libc(void)
{
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct tz *tz = NULL;
		char *why = NULL;
		int changes;

		if (tz_load(zones[i], &tz, &why) != KITH_OK) {
			test_fail_(__FILE__, __LINE__, "tz_load(%s): %s", zones[i], why);
			free(why);
			continue;
		}
		CHECK_STR(tz_name(tz), zones[i]);
		set_oracle_tz(zones[i]);
		changes = compare_range(tz, zones[i], YEAR_S(1960), YEAR_S(2100));
		if (strcmp(zones[i], "Europe/Berlin") == 0)
			CHECK_INT(changes, >=, 2 * 120);   /* none 1950-1979 */
		tz_free(tz);
	}
	set_oracle_tz(NULL);
}

/* ---- hand-made TZif files ---- */

struct ttype {
	int32_t off;
	int dst;
	const char *abbr;
};

static void put32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { v >> 24, v >> 16, v >> 8, v };

	(void)buf_append(b, p, 4);
}

static void put64(struct buf *b, int64_t v)
{
	put32(b, (uint32_t)((uint64_t)v >> 32));
	put32(b, (uint32_t)v);
}

static void put_block(struct buf *b, int version, unsigned tsize, const int64_t *trans,
		      const uint8_t *idx, size_t ntrans, const struct ttype *types, size_t ntypes)
{
	struct buf chars = BUF_INIT(0);
	uint8_t hdr[20] = { 'T', 'Z', 'i', 'f' };

	for (size_t i = 0; i < ntypes; i++)
		(void)buf_append(&chars, types[i].abbr, strlen(types[i].abbr) + 1);
	hdr[4] = version == 1 ? 0 : (uint8_t)('0' + version);
	(void)buf_append(b, hdr, sizeof(hdr));
	put32(b, 0);                       /* isutcnt */
	put32(b, 0);                       /* isstdcnt */
	put32(b, 0);                       /* leapcnt */
	put32(b, (uint32_t)ntrans);
	put32(b, (uint32_t)ntypes);
	put32(b, (uint32_t)chars.len);
	for (size_t i = 0; i < ntrans; i++)
		if (tsize == 4)
			put32(b, (uint32_t)trans[i]);
		else
			put64(b, trans[i]);
	(void)buf_append(b, idx, ntrans);
	for (size_t i = 0, at = 0; i < ntypes; i++) {
		uint8_t tail[2] = { (uint8_t)types[i].dst, (uint8_t)at };

		put32(b, (uint32_t)types[i].off);
		(void)buf_append(b, tail, 2);
		at += strlen(types[i].abbr) + 1;
	}
	(void)buf_append(b, chars.data, chars.len);
	buf_release(&chars);
}

/* A TZif file: version 1 gets only the 32-bit block; 2+ an empty-ish v1
 * block, the 64-bit block and "\n<footer>\n". */
static void make_tzif(struct buf *b, int version, const int64_t *trans, const uint8_t *idx,
		      size_t ntrans, const struct ttype *types, size_t ntypes, const char *footer)
{
	buf_reset(b);
	if (version == 1) {
		put_block(b, 1, 4, trans, idx, ntrans, types, ntypes);
		return;
	}
	put_block(b, version, 4, NULL, NULL, 0, types, 1);
	put_block(b, version, 8, trans, idx, ntrans, types, ntypes);
	(void)buf_printf(b, "\n%s\n", footer);
}

static struct tz *parse_or_fail(const struct buf *b, const char *name)
{
	struct tz *tz = NULL;
	char *why = NULL;

	if (tz_parse(b->data, b->len, name, &tz, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "tz_parse(%s): %s", name, why);
		free(why);
	}
	return tz;
}

/* Footer-only files (what a slim file looks like for a zone without
 * history) for many POSIX rule forms, against glibc reading the same
 * string from TZ. */
static void test_footer_rules_match_libc(void)
{
	static const char *const rules[] = {
		"CET-1CEST,M3.5.0,M10.5.0/3",
		"<+0530>-5:30",
		"PST8PDT,M3.2.0,M11.1.0",
		"AEST-10AEDT,M10.1.0,M4.1.0/3",               /* southern */
		"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",       /* half-hour DST */
		"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
		"NST3:30NDT,M3.2.0,M11.1.0",
		"IST-1GMT0,M10.5.0,M3.5.0/1",                 /* negative DST */
		"IST-2IDT,M3.4.4/26,M10.5.0",                 /* v3: hour 26 */
		"<-02>2<-01>,M3.5.0/-1,M10.5.0/0",            /* v3: hour -1 */
		"<+00>0<+02>-2,M3.5.0/1,M10.5.0/3",
		"XXX3YYY,J60/2,J300/2",                        /* Julian, no Feb 29 */
		"XXX3YYY,59/2,299/2",                          /* zero-based, Feb 29 counts */
		"ABC-3DEF-5:15:30,M1.2.0/0,M12.3.6/23:59:59",
		"<-0330>+3:30<-0230>,M4.1.3/+0:30,M9.5.5/-0:30",
		"UTC0",
		"<+14>-14",
		"<-12>12",
	};
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct ttype ty = { 0, 0, "ZZZ" };
		struct tz *tz;

		make_tzif(&b, 3, NULL, NULL, 0, &ty, 1, rules[i]);
		tz = parse_or_fail(&b, rules[i]);
		if (!tz)
			continue;
		set_oracle_tz(rules[i]);
		/* From 1970: glibc applies rules to earlier years as if they
		 * were 1970. */
		compare_range(tz, rules[i], YEAR_S(1970), YEAR_S(2045));
		tz_free(tz);
	}
	set_oracle_tz(NULL);
	buf_release(&b);
}

/* Unix time of a UTC date, the slow obvious way (not timegm(): glibc's
 * applies the leap seconds of whichever zone it loaded last). */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t days = 0;

	for (int yy = 1970; yy < y; yy++)
		days += 365 + (yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0));
	for (int yy = y; yy < 1970; yy++)
		days -= 365 + (yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0));
	for (int m = 1; m < mo; m++)
		days += mdays[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
	return ((days + d - 1) * 24 + h) * 3600 + mi * 60 + s;
}

static void expect(const struct tz *tz, int64_t t, const char *want_local, const char *want_abbr,
		   long want_off, int want_dst)
{
	struct tm tm;
	long off;
	char abbr[TZ_ABBR_SIZE], got[64];

	tz_localtime(tz, t, &tm, &off, abbr);
	snprintf(got, sizeof(got), "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	CHECK_STR(got, want_local);
	CHECK_STR(abbr, want_abbr);
	CHECK_EQ(off, want_off);
	CHECK_EQ(tm.tm_isdst, want_dst);
}

/* No transitions at all: the footer decides everything (RFC 9636 §3.2),
 * and the exact second of each change is right. */
static void test_footer_only_file(void)
{
	struct ttype ty = { 3600, 0, "CET" };
	struct buf b = BUF_INIT(0);
	struct tz *tz;

	make_tzif(&b, 2, NULL, NULL, 0, &ty, 1, "CET-1CEST,M3.5.0,M10.5.0/3");
	tz = parse_or_fail(&b, "Test/Footer");
	REQUIRE(tz);
	CHECK_STR(tz_name(tz), "Test/Footer");
	expect(tz, utc(2026, 3, 29, 0, 59, 59), "2026-03-29 01:59:59", "CET", 3600, 0);
	expect(tz, utc(2026, 3, 29, 1, 0, 0), "2026-03-29 03:00:00", "CEST", 7200, 1);
	expect(tz, utc(2026, 10, 25, 0, 59, 59), "2026-10-25 02:59:59", "CEST", 7200, 1);
	expect(tz, utc(2026, 10, 25, 1, 0, 0), "2026-10-25 02:00:00", "CET", 3600, 0);
	expect(tz, utc(1850, 7, 1, 0, 0, 0), "1850-07-01 02:00:00", "CEST", 7200, 1);
	expect(tz, utc(2400, 2, 29, 12, 0, 0), "2400-02-29 13:00:00", "CET", 3600, 0);
	tz_free(tz);

	/* DST all year (RFC 9636 §3.3.2 example): permanent EDT, including
	 * the hours around New Year that a per-year test gets wrong. */
	ty = (struct ttype){ -14400, 1, "EDT" };
	make_tzif(&b, 3, NULL, NULL, 0, &ty, 1, "EST5EDT4,0/0,J365/25");
	tz = parse_or_fail(&b, "Test/AllYear");
	REQUIRE(tz);
	expect(tz, utc(2026, 1, 1, 2, 0, 0), "2025-12-31 22:00:00", "EDT", -14400, 1);
	expect(tz, utc(2026, 7, 1, 2, 0, 0), "2026-06-30 22:00:00", "EDT", -14400, 1);
	expect(tz, utc(2028, 12, 31, 23, 0, 0), "2028-12-31 19:00:00", "EDT", -14400, 1);
	tz_free(tz);

	/* A change just after local New Year that is still in the old year in
	 * UTC (1978-01-01 00:00 local = 1977-12-31 21:00Z).  glibc tests only
	 * the UTC year's changes and says standard time here. */
	ty = (struct ttype){ 10800, 0, "ABC" };
	make_tzif(&b, 3, NULL, NULL, 0, &ty, 1, "ABC-3DEF-5:15:30,M1.1.0/0,M12.5.6/23:59:59");
	tz = parse_or_fail(&b, "Test/NewYear");
	REQUIRE(tz);
	expect(tz, utc(1977, 12, 31, 20, 59, 59), "1977-12-31 23:59:59", "ABC", 10800, 0);
	expect(tz, utc(1977, 12, 31, 21, 0, 0), "1978-01-01 02:15:30", "DEF", 18930, 1);
	expect(tz, utc(1977, 12, 31, 23, 9, 29), "1978-01-01 04:24:59", "DEF", 18930, 1);
	expect(tz, utc(1978, 12, 30, 18, 44, 28), "1978-12-30 23:59:58", "DEF", 18930, 1);
	expect(tz, utc(1978, 12, 30, 18, 44, 29), "1978-12-30 21:44:29", "ABC", 10800, 0);
	tz_free(tz);

	/* DST without a rule: the US default M3.2.0,M11.1.0. */
	make_tzif(&b, 2, NULL, NULL, 0, &ty, 1, "ABC5DEF");
	tz = parse_or_fail(&b, "Test/Default");
	REQUIRE(tz);
	expect(tz, utc(2026, 3, 8, 6, 59, 59), "2026-03-08 01:59:59", "ABC", -18000, 0);
	expect(tz, utc(2026, 3, 8, 7, 0, 0), "2026-03-08 03:00:00", "DEF", -14400, 1);
	tz_free(tz);

	/* Empty footer: the last transition's type carries on. */
	{
		struct ttype two[2] = { { 0, 0, "AAA" }, { 5 * 3600, 0, "BBB" } };
		int64_t tr[1] = { 1000000000 };
		uint8_t ix[1] = { 1 };

		make_tzif(&b, 2, tr, ix, 1, two, 2, "");
		tz = parse_or_fail(&b, "Test/Empty");
		REQUIRE(tz);
		expect(tz, 999999999, "2001-09-09 01:46:39", "AAA", 0, 0);
		expect(tz, 1000000000, "2001-09-09 06:46:40", "BBB", 18000, 0);
		expect(tz, INT64_C(5000000000), "2128-06-11 13:53:20", "BBB", 18000, 0);
		tz_free(tz);
	}
	buf_release(&b);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT(0);
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

static char *zone_file(const char *name, size_t *len)
{
	char *path = xasprintf("/usr/share/zoneinfo/%s", name);
	char *data = slurp(path, len);

	free(path);
	return data;
}

/* The 32-bit block of a real file, read as a version 1 file, agrees with
 * the full file wherever 32 bits reach. */
static void test_version1_data(void)
{
	size_t len;
	char *data = zone_file("Europe/Berlin", &len);
	struct tz *full = NULL, *v1 = NULL;
	char *why = NULL;

	REQUIRE(data);
	CHECK_EQ(tz_parse(data, len, "full", &full, &why), KITH_OK);
	data[4] = 0;
	CHECK_EQ(tz_parse(data, len, "v1", &v1, &why), KITH_OK);
	if (full && v1) {
		for (int64_t t = -INT64_C(0x7fffffff); t < INT64_C(0x7fffffff); t += 86413) {
			struct tm a, b;
			long ao, bo;
			char aa[TZ_ABBR_SIZE], ba[TZ_ABBR_SIZE];

			tz_localtime(full, t, &a, &ao, aa);
			tz_localtime(v1, t, &b, &bo, ba);
			if (ao != bo || strcmp(aa, ba) != 0 || a.tm_hour != b.tm_hour) {
				test_fail_(__FILE__, __LINE__, "v1 differs at %lld", (long long)t);
				break;
			}
		}
	}
	tz_free(full);
	tz_free(v1);
	free(why);
	free(data);
}

/* right/ zones count leap seconds; conversion takes them out as glibc
 * does and shows the inserted second as :60. */
static void test_leap_seconds(void)
{
	struct tz *tz = NULL;
	char *why = NULL;
	int reported = 0;

	if (access("/usr/share/zoneinfo/right/UTC", R_OK) != 0)
		return;
	REQUIRE(tz_load("right/UTC", &tz, &why) == KITH_OK);
	set_oracle_tz("right/UTC");
	/* 2016-12-31T23:59:60 is posix 1483228800 + 26 earlier leaps. */
	for (int64_t t = 1483228800 + 26 - 3; t <= 1483228800 + 26 + 3; t++)
		agree(tz, "right/UTC", t, &reported);
	compare_range(tz, "right/UTC", YEAR_S(1970), YEAR_S(2030));
	CHECK_EQ(reported, 0);
	set_oracle_tz(NULL);
	tz_free(tz);
}

static void test_invalid_names(void)
{
	static const char *const bad[] = {
		"", "../etc/passwd", "/etc/passwd", "Europe/../../etc/passwd", "..", ".",
		"Europe//Berlin", "Europe/", "Europe/Berlin\n", "Europe/Berlin ", "Europe\\Berlin",
		"Europe/Berlin.", "Asia/Tokyo;rm", "Europe/Ber\xc3\xa4lin",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* 65 */
	};
	struct tz *tz = (struct tz *)1;
	char *why = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(tz_load(bad[i], &tz, &why), KITH_EINVAL);
		CHECK(tz == NULL);
		CHECK_CONTAINS(why, "invalid time zone name");
		free(why);
		why = NULL;
	}
	CHECK_EQ(tz_load(NULL, &tz, &why), KITH_EINVAL);
	free(why);
	why = NULL;

	CHECK_EQ(tz_load("Mars/Base", &tz, &why), KITH_ENOTFOUND);
	CHECK_STR(why, "unknown time zone 'Mars/Base'");
	free(why);
	why = NULL;
	/* A directory, and a file in the zone directory that is not a zone. */
	CHECK_EQ(tz_load("Europe", &tz, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(tz_load("leapseconds", &tz, NULL), KITH_ENOTFOUND);

	/* Case does not matter; the on-disk spelling is reported. */
	CHECK_EQ(tz_load("asia/tokyo", &tz, &why), KITH_OK);
	if (tz)
		CHECK_STR(tz_name(tz), "Asia/Tokyo");
	tz_free(tz);
	CHECK_EQ(tz_load("AMERICA/ARGENTINA/BUENOS_AIRES", &tz, &why), KITH_OK);
	if (tz)
		CHECK_STR(tz_name(tz), "America/Argentina/Buenos_Aires");
	tz_free(tz);
	CHECK(why == NULL);
	/* A 64-byte name is long enough to be tried. */
	CHECK_EQ(tz_load("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &tz,
			 NULL), KITH_ENOTFOUND);

	CHECK_EQ(tz_format_now("../etc/passwd", 0, (char[80]){ 0 }, 80, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "invalid time zone name '../etc/passwd'");
	free(why);
}

static void expect_bad(const void *data, size_t n, const char *want_why)
{
	struct tz *tz = (struct tz *)1;
	char *why = NULL;

	CHECK_EQ(tz_parse(data, n, "bad", &tz, &why), KITH_EINVAL);
	CHECK(tz == NULL);
	CHECK_CONTAINS(why, want_why);
	free(why);
}

static void test_corrupt_data(void)
{
	size_t len;
	char *data = zone_file("Europe/Berlin", &len), *copy;
	struct tz *tz;
	struct buf b = BUF_INIT(0);
	struct ttype ty = { 3600, 0, "CET" };
	size_t v2_end;

	REQUIRE(data && len > 100);
	expect_bad(NULL, 0, "not a TZif");
	expect_bad("TZif", 4, "truncated TZif header");
	expect_bad("TZjf2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20, "not a TZif");
	expect_bad(data, 43, "truncated TZif header");
	copy = xmalloc(len);

	/* Every cut fails except right before the footer, which RFC 9636
	 * readers may take as "no footer". */
	v2_end = (size_t)((const char *)memrchr(data, '\n', len - 1) - data);
	for (size_t n = 0; n < len; n++) {
		enum kith_status rc = tz_parse(data, n, "cut", &tz, NULL);

		CHECK_EQ(rc, n == v2_end ? KITH_OK : KITH_EINVAL);
		tz_free(tz);
	}

	/* A timecnt that would run far past the buffer (v1 header). */
	memcpy(copy, data, len);
	memcpy(copy + 32, "\xff\xff\xff\xff", 4);
	expect_bad(copy, len, "truncated TZif data");
	/* ... and in the v2 header, reached only after skipping v1. */
	memcpy(copy, data, len);
	{
		uint32_t tc = ((uint8_t)data[32] << 24) | ((uint8_t)data[33] << 16) |
			      ((uint8_t)data[34] << 8) | (uint8_t)data[35];
		uint32_t ty_ = ((uint8_t)data[36] << 24) | ((uint8_t)data[37] << 16) |
			       ((uint8_t)data[38] << 8) | (uint8_t)data[39];
		uint32_t ch = ((uint8_t)data[40] << 24) | ((uint8_t)data[41] << 16) |
			      ((uint8_t)data[42] << 8) | (uint8_t)data[43];
		uint32_t lc = ((uint8_t)data[28] << 24) | ((uint8_t)data[29] << 16) |
			      ((uint8_t)data[30] << 8) | (uint8_t)data[31];
		uint32_t st = ((uint8_t)data[24] << 24) | ((uint8_t)data[25] << 16) |
			      ((uint8_t)data[26] << 8) | (uint8_t)data[27];
		uint32_t ut = ((uint8_t)data[20] << 24) | ((uint8_t)data[21] << 16) |
			      ((uint8_t)data[22] << 8) | (uint8_t)data[23];
		size_t h2 = 44 + (size_t)tc * 5 + (size_t)ty_ * 6 + ch + (size_t)lc * 8 + st + ut;

		REQUIRE(h2 + 44 < len);
		CHECK(memcmp(copy + h2, "TZif", 4) == 0);
		memcpy(copy + h2 + 32, "\x7f\xff\xff\xf0", 4);
		expect_bad(copy, len, "truncated TZif data");
		memcpy(copy, data, len);
		memcpy(copy + h2 + 36, "\0\0\0\0", 4);
		expect_bad(copy, len, "local time type count");
		memcpy(copy, data, len);
		memcpy(copy + h2 + 20, "\0\0\0\1", 4);
		expect_bad(copy, len, "indicator counts");
	}
	/* A footer that is not a POSIX TZ string. */
	memcpy(copy, data, len);
	{
		char *f = memrchr(copy, '\n', len - 1);

		REQUIRE(f && f[1] == 'C');
		f[2] = '@';
		expect_bad(copy, len, "bad TZ string");
		expect_bad(data, len - 1, "unterminated TZ string footer");
		copy[len - 1] = 'X';
		f[2] = 'E';
		expect_bad(copy, len, "unterminated TZ string footer");
	}
	free(copy);

	/* Hand-made damage. */
	{
		struct ttype two[2] = { { 0, 0, "AAA" }, { 3600, 1, "BBB" } };
		int64_t tr[2] = { 100, 100 };
		uint8_t ix[2] = { 0, 1 }, bad_ix[2] = { 0, 2 };

		make_tzif(&b, 2, tr, ix, 2, two, 2, "");
		expect_bad(b.data, b.len, "out of order");
		tr[1] = 200;
		make_tzif(&b, 2, tr, bad_ix, 2, two, 2, "");
		expect_bad(b.data, b.len, "missing type");
		two[1].off = 100000;
		make_tzif(&b, 2, tr, ix, 2, two, 2, "");
		expect_bad(b.data, b.len, "bad local time type");
		two[1].off = INT32_MIN;
		make_tzif(&b, 1, tr, ix, 2, two, 2, "");
		expect_bad(b.data, b.len, "bad local time type");
	}
	/* Designation without its NUL: drop the last byte of chars. */
	make_tzif(&b, 1, NULL, NULL, 0, &ty, 1, "");
	b.data[b.len - 1] = 'X';
	expect_bad(b.data, b.len, "unterminated time zone designation");
	/* Footers out of range. */
	{
		static const char *const footers[] = {
			"CET-1CEST,M13.5.0,M10.5.0/3", "CET-1CEST,M3.6.0,M10.5.0/3",
			"CET-1CEST,M3.5.7,M10.5.0/3", "CET-1CEST,J0,J365", "CET-1CEST,366,0",
			"CET-1CEST,M3.5.0/168,M10.5.0", "CET-25", "CE-1", "<CE>-1", "<CET-1",
			"CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,M10.5.0,", "CET-1:60", "CET",
			"CET-1CEST,M3.5.0,M10.5.0/3x", "CETTTTTTTTTTTTTTTTTTTTT-1",
			"CET-99999999999999999999", "CET-1CEST-26,M3.5.0,M10.5.0",
		};

		for (size_t i = 0; i < sizeof(footers) / sizeof(footers[0]); i++) {
			make_tzif(&b, 3, NULL, NULL, 0, &ty, 1, footers[i]);
			expect_bad(b.data, b.len, "bad TZ string");
		}
	}
	/* Version 1 is a zero byte; '1' and non-digits are not versions. */
	make_tzif(&b, 2, NULL, NULL, 0, &ty, 1, "CET-1");
	b.data[4] = '1';
	expect_bad(b.data, b.len, "unknown TZif version");

	/* Flip every byte of a real file: parse may fail, must not misbehave. */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			data[i] ^= (char)(1 << bit);
			if (tz_parse(data, len, "flip", &tz, NULL) == KITH_OK) {
				struct tm tm;

				tz_localtime(tz, INT64_MIN, &tm, NULL, NULL);
				tz_localtime(tz, 0, &tm, NULL, NULL);
				tz_localtime(tz, INT64_C(4000000000), &tm, NULL, NULL);
				tz_localtime(tz, INT64_MAX, &tm, NULL, NULL);
				tz_free(tz);
			}
			data[i] ^= (char)(1 << bit);
		}
	}
	buf_release(&b);
	free(data);
}

static void test_format(void)
{
	char out[80];
	char *why = NULL;
	struct tz *tz = NULL;

	CHECK_EQ(tz_format_now("America/Los_Angeles", utc(2026, 11, 21, 21, 41, 55), out,
			       sizeof(out), &why), KITH_OK);
	CHECK_STR(out, "Saturday, 21 November 2026, 13:41 PST (UTC-08:00)");
	CHECK_EQ(tz_format_now("Europe/Berlin", utc(2026, 7, 1, 10, 0, 0), out, sizeof(out),
			       &why), KITH_OK);
	CHECK_STR(out, "Wednesday, 1 July 2026, 12:00 CEST (UTC+02:00)");
	CHECK_EQ(tz_format_now("Asia/Kathmandu", 0, out, sizeof(out), &why), KITH_OK);
	CHECK_STR(out, "Thursday, 1 January 1970, 05:30 +0530 (UTC+05:30)");
	CHECK_EQ(tz_format_now("Asia/Kolkata", utc(2026, 2, 28, 18, 45, 0), out, sizeof(out),
			       &why), KITH_OK);
	CHECK_STR(out, "Sunday, 1 March 2026, 00:15 IST (UTC+05:30)");
	CHECK_EQ(tz_format_now("UTC", 0, out, sizeof(out), &why), KITH_OK);
	CHECK_STR(out, "Thursday, 1 January 1970, 00:00 UTC (UTC+00:00)");
	/* Local mean time has seconds in its offset. */
	CHECK_EQ(tz_format_now("Europe/Berlin", utc(1890, 1, 1, 0, 0, 0), out, sizeof(out),
			       &why), KITH_OK);
	CHECK_STR(out, "Wednesday, 1 January 1890, 00:53 LMT (UTC+00:53:28)");
	CHECK(why == NULL);

	CHECK_EQ(tz_format_now("UTC", 0, out, 20, &why), KITH_ETOOBIG);
	CHECK_STR(out, "");
	CHECK_CONTAINS(why, "too small");
	free(why);
	why = NULL;
	CHECK_EQ(tz_format_now("Mars/Base", 0, out, sizeof(out), &why), KITH_ENOTFOUND);
	CHECK_STR(why, "unknown time zone 'Mars/Base'");
	free(why);

	/* The widest output fits the documented 80 bytes. */
	REQUIRE(tz_load("Pacific/Chatham", &tz, NULL) == KITH_OK);
	CHECK_EQ(tz_format(tz, INT64_MIN, out, sizeof(out)), KITH_OK);
	CHECK_EQ(tz_format(tz, INT64_MAX, out, sizeof(out)), KITH_OK);
	CHECK_EQ(tz_format(tz, 0, out, 0), KITH_ETOOBIG);
	tz_free(tz);

	{
		struct tm tm;
		long off;
		char abbr[TZ_ABBR_SIZE];

		CHECK_EQ(tz_localtime_named("Australia/Lord_Howe", utc(2026, 1, 15, 0, 0, 0), &tm,
					    &off, abbr, NULL), KITH_OK);
		CHECK_EQ(off, 11 * 3600);
		CHECK_EQ(tm.tm_hour, 11);
		CHECK_EQ(tm.tm_isdst, 1);
		CHECK_EQ(tz_localtime_named("Australia/Lord_Howe", utc(2026, 7, 15, 0, 0, 0), &tm,
					    &off, NULL, NULL), KITH_OK);
		CHECK_EQ(off, 10 * 3600 + 1800);
	}
}

/* $TZDIR is honoured, and the cache keeps zones of different dirs apart. */
static void test_tzdir(void)
{
	struct ttype ty = { 2 * 3600 + 1800, 0, "TST" };
	struct buf b = BUF_INIT(0);
	char *dir = test_path("zi"), *sub = test_path("zi/Test"), *file = test_path("zi/Test/Zone");
	char *fifo = test_path("zi/Test/Fifo");
	char out[80], *why = NULL;
	struct tz *tz = NULL;
	FILE *f;

	REQUIRE(mkdir(dir, 0755) == 0 && mkdir(sub, 0755) == 0);
	make_tzif(&b, 2, NULL, NULL, 0, &ty, 1, "<+0230>-2:30");
	f = fopen(file, "wb");
	REQUIRE(f);
	CHECK_EQ(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	CHECK_EQ(mkfifo(fifo, 0644), 0);

	setenv("TZDIR", dir, 1);
	CHECK_EQ(tz_load("Test/Zone", &tz, &why), KITH_OK);
	tz_free(tz);
	CHECK_EQ(tz_format_now("Test/Zone", 0, out, sizeof(out), &why), KITH_OK);
	CHECK_STR(out, "Thursday, 1 January 1970, 02:30 +0230 (UTC+02:30)");
	CHECK_EQ(tz_format_now("test/zone", 0, out, sizeof(out), &why), KITH_OK);
	CHECK_EQ(tz_load("Test/Fifo", &tz, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(tz_format_now("Europe/Berlin", 0, out, sizeof(out), &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	/* No UTC file in this database: the built-in one answers. */
	CHECK_EQ(tz_load("UTC", &tz, &why), KITH_OK);
	if (tz)
		CHECK_STR(tz_name(tz), "UTC");
	tz_free(tz);
	CHECK_EQ(tz_format_now("etc/utc", 86400 * 365, out, sizeof(out), &why), KITH_OK);
	CHECK_STR(out, "Friday, 1 January 1971, 00:00 UTC (UTC+00:00)");
	unsetenv("TZDIR");
	CHECK_EQ(tz_format_now("Test/Zone", 0, out, sizeof(out), &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(tz_format_now("Europe/Berlin", 0, out, sizeof(out), &why), KITH_OK);
	CHECK_STR(out, "Thursday, 1 January 1970, 01:00 CET (UTC+01:00)");
	tz_cache_clear();
	buf_release(&b);
	free(dir);
	free(sub);
	free(file);
	free(fifo);
}

/* Many threads, more zones than the cache holds: results match a
 * single-threaded run (and TSan, when enabled, sees no race). */
static const char *const thread_zones[] = {
	"UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe",
	"Asia/Kathmandu", "Australia/Sydney", "America/Sao_Paulo", "Pacific/Chatham",
	"America/St_Johns", "Europe/Dublin", "Asia/Jerusalem", "America/Nuuk", "Antarctica/Troll",
	"Africa/Casablanca", "Pacific/Kiritimati", "Pacific/Apia", "Asia/Tokyo", "Europe/London",
	"America/New_York", "America/Chicago", "America/Denver", "Europe/Paris", "Europe/Moscow",
	"Asia/Shanghai", "Asia/Singapore", "Asia/Dubai", "Africa/Cairo", "Africa/Lagos",
	"America/Mexico_City", "America/Bogota", "Pacific/Auckland", "Pacific/Honolulu",
	"America/Anchorage", "Asia/Tehran", "Asia/Kabul", "Europe/Istanbul", "Asia/Yangon",
};
#define NTZ (sizeof(thread_zones) / sizeof(thread_zones[0]))
#define NTIMES 7
static char expected[NTZ][NTIMES][80];

static int64_t thread_time(size_t j)
{
	return INT64_C(1700000000) + (int64_t)j * 40000000;
}

static void *thread_main(void *arg)
{
	size_t seed = (size_t)(uintptr_t)arg;
	long bad = 0;

	for (size_t k = 0; k < 3000; k++) {
		size_t z = (seed * 7 + k * 13) % NTZ, j = (seed + k) % NTIMES;
		char out[80];

		if (tz_format_now(thread_zones[z], thread_time(j), out, sizeof(out), NULL) !=
			    KITH_OK ||
		    strcmp(out, expected[z][j]) != 0)
			bad++;
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t th[6];

	for (size_t z = 0; z < NTZ; z++) {
		struct tz *tz = NULL;

		if (tz_load(thread_zones[z], &tz, NULL) != KITH_OK) {
			test_fail_(__FILE__, __LINE__, "cannot load %s", thread_zones[z]);
			return;
		}
		for (size_t j = 0; j < NTIMES; j++)
			CHECK_EQ(tz_format(tz, thread_time(j), expected[z][j], 80), KITH_OK);
		tz_free(tz);
	}
	for (size_t i = 0; i < 6; i++)
		REQUIRE(pthread_create(&th[i], NULL, thread_main, (void *)(uintptr_t)i) == 0);
	for (size_t i = 0; i < 6; i++) {
		void *bad;

		pthread_join(th[i], &bad);
		CHECK_EQ((long)bad, 0);
	}
	tz_cache_clear();
}

int main(void)
{
	unsetenv("TZDIR");
	RUN(test_matches_libc);
	RUN(test_footer_rules_match_libc);
	RUN(test_footer_only_file);
	RUN(test_version1_data);
	RUN(test_leap_seconds);
	RUN(test_invalid_names);
	RUN(test_corrupt_data);
	RUN(test_format);
	RUN(test_tzdir);
	RUN(test_threads);
	return test_summary();
}
