/* tz.c — TZif parsing and local-time conversion (RFC 9636).
 *
 * A file is parsed once into an immutable struct tz holding only what
 * conversion needs: transitions, local time types, designations, leap
 * seconds and the footer's POSIX TZ rule.  Conversion is a binary search
 * plus calendar arithmetic on int64_t and never consults the C library's
 * time zone state, which is what makes it safe from any thread.  Every
 * count in a header is checked against the bytes actually present before
 * anything is read or allocated, so hostile input can neither make us read
 * out of bounds nor allocate more than a small multiple of its own size. */
#include "core/tz.h"
#include "core/alloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_FILE_MAX (256 * 1024)   /* the largest real zone is under 4 KiB */
#define SECS_PER_DAY 86400
/* RFC 9636 §3.2: utoff SHOULD lie in [-89999, 93599]; we insist, which
 * keeps all offset arithmetic far from overflow. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* |t| up to 2^55 s (about 1.1e9 years) keeps tm_year inside an int. */
#define TIME_CLAMP ((int64_t)1 << 55)
#define CACHE_MAX 32

struct tz_type {
	int32_t utoff;    /* seconds east of UTC */
	bool isdst;
	uint32_t abbr;    /* index into chars; NUL-terminated there */
};

struct tz_leap {
	int64_t when;
	int32_t corr;     /* total leap seconds from `when` on */
};

/* A POSIX TZ rule date: Jn (1-365, no Feb 29), n (0-365) or Mm.w.d, with
 * the local time of day of the change (v3+: -167h to +167h). */
struct tz_date {
	char kind;        /* 'J', 'n' or 'M' */
	int n, m, w, d;
	int32_t secs;
};

struct tz_rule {
	char std_abbr[TZ_ABBR_SIZE], dst_abbr[TZ_ABBR_SIZE];
	int32_t std_utoff, dst_utoff;   /* seconds east of UTC */
	bool has_dst;
	struct tz_date start, end;      /* into DST, back to standard */
};

struct tz {
	char *name;
	size_t ntrans;
	int64_t *trans;                 /* strictly ascending */
	uint8_t *trans_type;            /* each < ntypes */
	size_t ntypes;                  /* >= 1 */
	struct tz_type *types;
	char *chars;
	size_t nleaps;
	struct tz_leap *leaps;          /* strictly ascending by when */
	bool has_rule;                  /* non-empty footer */
	struct tz_rule rule;
};

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

/* Howard Hinnant's civil-from-days algorithms: exact for any int64_t year
 * we can reach, no tables, no time_t. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int64_t yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
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

static bool is_leap_year(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int month_days(int64_t y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return len[m - 1] + (m == 2 && is_leap_year(y));
}

static int weekday(int64_t days)   /* 0 = Sunday; 1970-01-01 was a Thursday */
{
	int64_t r = (days + 4) % 7;

	return (int)(r < 0 ? r + 7 : r);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- POSIX TZ strings (the TZif footer) ---- */

struct pz {
	const char *s;
	size_t n, i;
};

static int pz_peek(const struct pz *p)
{
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static bool is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* "CET" or "<+0530>"; POSIX wants at least three characters. */
static bool pz_abbr(struct pz *p, char out[TZ_ABBR_SIZE])
{
	bool quoted = pz_peek(p) == '<';
	size_t len = 0;
	int c;

	if (quoted)
		p->i++;
	while ((c = pz_peek(p)) >= 0 &&
	       (is_alpha(c) || (quoted && (is_digit(c) || c == '+' || c == '-')))) {
		if (len + 1 >= TZ_ABBR_SIZE)
			return false;
		out[len++] = (char)c;
		p->i++;
	}
	out[len] = '\0';
	if (quoted) {
		if (pz_peek(p) != '>')
			return false;
		p->i++;
	}
	return len >= 3;
}

static bool pz_num(struct pz *p, int min, int max, int *out)
{
	int v = 0;

	if (!is_digit(pz_peek(p)))
		return false;
	while (is_digit(pz_peek(p))) {
		v = v * 10 + (pz_peek(p) - '0');
		if (v > max)
			return false;
		p->i++;
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh. */
static bool pz_hms(struct pz *p, int maxh, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (pz_peek(p) == '+' || pz_peek(p) == '-')
		sign = p->s[p->i++] == '-' ? -1 : 1;
	if (!pz_num(p, 0, maxh, &h))
		return false;
	if (pz_peek(p) == ':') {
		p->i++;
		if (!pz_num(p, 0, 59, &m))
			return false;
		if (pz_peek(p) == ':') {
			p->i++;
			if (!pz_num(p, 0, 59, &s))
				return false;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool pz_date(struct pz *p, struct tz_date *d)
{
	memset(d, 0, sizeof(*d));
	if (pz_peek(p) == 'J') {
		p->i++;
		d->kind = 'J';
		if (!pz_num(p, 1, 365, &d->n))
			return false;
	} else if (pz_peek(p) == 'M') {
		p->i++;
		d->kind = 'M';
		if (!pz_num(p, 1, 12, &d->m) || pz_peek(p) != '.')
			return false;
		p->i++;
		if (!pz_num(p, 1, 5, &d->w) || pz_peek(p) != '.')
			return false;
		p->i++;
		if (!pz_num(p, 0, 6, &d->d))
			return false;
	} else {
		d->kind = 'n';
		if (!pz_num(p, 0, 365, &d->n))
			return false;
	}
	d->secs = 2 * 3600;
	if (pz_peek(p) == '/') {
		p->i++;
		/* RFC 9636 §3.3.1 extends POSIX's 0-24 hours to -167..167. */
		if (!pz_hms(p, 167, &d->secs))
			return false;
	}
	return true;
}

static bool utoff_ok(int32_t off)
{
	return off >= UTOFF_MIN && off <= UTOFF_MAX;
}

static bool parse_rule(const char *s, size_t n, struct tz_rule *r)
{
	struct pz p = { s, n, 0 };
	int32_t off;

	memset(r, 0, sizeof(*r));
	/* POSIX offsets count west of UTC; ours count east. */
	if (!pz_abbr(&p, r->std_abbr) || !pz_hms(&p, 24, &off))
		return false;
	r->std_utoff = -off;
	if (p.i == p.n)
		return utoff_ok(r->std_utoff);
	if (!pz_abbr(&p, r->dst_abbr))
		return false;
	r->has_dst = true;
	r->dst_utoff = r->std_utoff + 3600;
	if (pz_peek(&p) != ',' && p.i < p.n) {
		if (!pz_hms(&p, 24, &off))
			return false;
		r->dst_utoff = -off;
	}
	if (p.i == p.n) {
		/* No rule: POSIX leaves it to the implementation; glibc and
		 * tzcode's default is the US one, M3.2.0,M11.1.0. */
		r->start = (struct tz_date){ .kind = 'M', .m = 3, .w = 2, .d = 0, .secs = 7200 };
		r->end = (struct tz_date){ .kind = 'M', .m = 11, .w = 1, .d = 0, .secs = 7200 };
	} else {
		if (pz_peek(&p) != ',')
			return false;
		p.i++;
		if (!pz_date(&p, &r->start) || pz_peek(&p) != ',')
			return false;
		p.i++;
		if (!pz_date(&p, &r->end) || p.i != p.n)
			return false;
	}
	return utoff_ok(r->std_utoff) && utoff_ok(r->dst_utoff);
}

/* Days since the epoch of the local date a rule names in `year`. */
static int64_t rule_day(const struct tz_date *d, int64_t year)
{
	int64_t first;
	int mday;

	switch (d->kind) {
	case 'J':
		return days_from_civil(year, 1, 1) + d->n - 1 + (is_leap_year(year) && d->n >= 60);
	case 'n':
		return days_from_civil(year, 1, 1) + d->n;
	default:
		first = days_from_civil(year, d->m, 1);
		mday = 1 + (d->d - weekday(first) + 7) % 7 + 7 * (d->w - 1);
		while (mday > month_days(year, d->m))   /* w = 5: the last one */
			mday -= 7;
		return first + mday - 1;
	}
}

/* Whether the rule puts t in DST.  Rule times may push a change across a
 * year boundary (J365/25, M1.1.0/-1), so rather than testing "between start
 * and end of t's year" we take the latest change at or before t among the
 * neighbouring years.  Years y-2 .. y+1 suffice: any change of year y-2
 * falls before y began, none of year y+2 before it ended.  On a tie the DST
 * change wins, which makes "DST all year" rules such as
 * EST5EDT4,0/0,J365/25 come out as permanent DST, as tzcode reads them. */
static bool rule_isdst(const struct tz_rule *r, int64_t t)
{
	int64_t y, best = INT64_MIN;
	bool best_dst = false;
	int m, d;

	if (!r->has_dst)
		return false;
	civil_from_days(floor_div(t, SECS_PER_DAY), &y, &m, &d);
	for (int64_t yy = y - 2; yy <= y + 1; yy++) {
		int64_t on = rule_day(&r->start, yy) * SECS_PER_DAY + r->start.secs - r->std_utoff;
		int64_t off = rule_day(&r->end, yy) * SECS_PER_DAY + r->end.secs - r->dst_utoff;

		if (off <= t && off > best) {
			best = off;
			best_dst = false;
		}
		if (on <= t && on >= best) {
			best = on;
			best_dst = true;
		}
	}
	return best_dst;
}

/* ---- TZif parsing ---- */

struct rd {
	const uint8_t *p;
	size_t n, off;
};

struct tzif_hdr {
	int version;      /* 1, 2, 3, 4, ... */
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be_time(const uint8_t *p, unsigned size)
{
	if (size == 4)
		return (int32_t)be32(p);
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool rd_has(const struct rd *r, uint64_t need)
{
	return need <= r->n - r->off;
}

static enum kith_status read_header(struct rd *r, struct tzif_hdr *h, char **why)
{
	const uint8_t *p = r->p + r->off;

	if (!rd_has(r, 4) || memcmp(p, "TZif", 4) != 0)
		return kith_why(why, KITH_EINVAL, "not a TZif file");
	if (!rd_has(r, 44))
		return kith_why(why, KITH_EINVAL, "truncated TZif header");
	if (p[4] == 0)
		h->version = 1;
	else if (p[4] >= '2' && p[4] <= '9')
		h->version = p[4] - '0';
	else
		return kith_why(why, KITH_EINVAL, "unknown TZif version 0x%02x", p[4]);
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	r->off += 44;
	return KITH_OK;
}

/* Bytes in a data block whose times are tsize (4 or 8) bytes wide.  The
 * counts are 32-bit, so this cannot overflow 64 bits. */
static uint64_t block_size(const struct tzif_hdr *h, unsigned tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static enum kith_status read_block(struct rd *r, const struct tzif_hdr *h, unsigned tsize,
				   struct tz *tz, char **why)
{
	const uint8_t *p;

	if (h->typecnt == 0 || h->typecnt > 256)
		return kith_why(why, KITH_EINVAL, "bad local time type count %u", h->typecnt);
	if (h->charcnt == 0)
		return kith_why(why, KITH_EINVAL, "no time zone designations");
	if ((h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
		return kith_why(why, KITH_EINVAL, "indicator counts do not match type count");
	if (!rd_has(r, block_size(h, tsize)))
		return kith_why(why, KITH_EINVAL, "truncated TZif data");
	p = r->p + r->off;

	tz->ntrans = h->timecnt;
	tz->trans = xcalloc(tz->ntrans, sizeof(*tz->trans));
	tz->trans_type = xcalloc(tz->ntrans, 1);
	for (size_t i = 0; i < tz->ntrans; i++, p += tsize) {
		tz->trans[i] = be_time(p, tsize);
		if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
			return kith_why(why, KITH_EINVAL, "transition times out of order");
	}
	for (size_t i = 0; i < tz->ntrans; i++, p++) {
		if (*p >= h->typecnt)
			return kith_why(why, KITH_EINVAL, "transition names a missing type");
		tz->trans_type[i] = *p;
	}

	tz->ntypes = h->typecnt;
	tz->types = xcalloc(tz->ntypes, sizeof(*tz->types));
	for (size_t i = 0; i < tz->ntypes; i++, p += 6) {
		struct tz_type *ty = &tz->types[i];

		ty->utoff = (int32_t)be32(p);
		if (!utoff_ok(ty->utoff) || p[4] > 1 || p[5] >= h->charcnt)
			return kith_why(why, KITH_EINVAL, "bad local time type %zu", i);
		ty->isdst = p[4];
		ty->abbr = p[5];
	}

	tz->chars = xmalloc(h->charcnt);
	memcpy(tz->chars, p, h->charcnt);
	for (size_t i = 0; i < tz->ntypes; i++)
		if (!memchr(tz->chars + tz->types[i].abbr, '\0', h->charcnt - tz->types[i].abbr))
			return kith_why(why, KITH_EINVAL, "unterminated time zone designation");
	p += h->charcnt;

	tz->nleaps = h->leapcnt;
	tz->leaps = xcalloc(tz->nleaps, sizeof(*tz->leaps));
	for (size_t i = 0; i < tz->nleaps; i++, p += tsize + 4) {
		tz->leaps[i].when = be_time(p, tsize);
		tz->leaps[i].corr = (int32_t)be32(p + tsize);
		if (i > 0 && tz->leaps[i].when <= tz->leaps[i - 1].when)
			return kith_why(why, KITH_EINVAL, "leap seconds out of order");
	}
	/* The standard/wall and UT/local indicators only matter for
	 * POSIX-style TZ strings that lack rules; skip them. */
	r->off += block_size(h, tsize);
	return KITH_OK;
}

static enum kith_status read_footer(struct rd *r, struct tz *tz, char **why)
{
	const uint8_t *start, *end;

	if (r->off == r->n)     /* lenient: a v2+ file cut right after its data */
		return KITH_OK;
	if (r->p[r->off] != '\n')
		return kith_why(why, KITH_EINVAL, "missing TZ string footer");
	start = r->p + r->off + 1;
	end = memchr(start, '\n', r->n - r->off - 1);
	if (!end)
		return kith_why(why, KITH_EINVAL, "unterminated TZ string footer");
	if (end == start)
		return KITH_OK;
	if (!parse_rule((const char *)start, (size_t)(end - start), &tz->rule)) {
		char shown[68];
		size_t i;

		for (i = 0; i < 64 && start + i < end; i++)
			shown[i] = (start[i] >= 0x20 && start[i] < 0x7f) ? (char)start[i] : '?';
		if (start + i < end) {
			memcpy(shown + i, "...", 3);
			i += 3;
		}
		shown[i] = '\0';
		return kith_why(why, KITH_EINVAL, "bad TZ string '%s'", shown);
	}
	tz->has_rule = true;
	return KITH_OK;
}

enum kith_status tz_parse(const void *data, size_t n, const char *name, struct tz **out,
			  char **why)
{
	struct rd r = { data, n, 0 };
	struct tzif_hdr h;
	struct tz *tz = xcalloc(1, sizeof(*tz));
	enum kith_status rc;

	*out = NULL;
	tz->name = xstrdup(name ? name : "");
	if (!data)
		r.n = 0;
	rc = read_header(&r, &h, why);
	if (rc)
		goto out;
	if (h.version >= 2) {
		/* Skip the 32-bit block; the 64-bit one after it says it all. */
		if (!rd_has(&r, block_size(&h, 4))) {
			rc = kith_why(why, KITH_EINVAL, "truncated TZif data");
			goto out;
		}
		r.off += block_size(&h, 4);
		rc = read_header(&r, &h, why);
		if (rc)
			goto out;
		if (h.version < 2) {
			rc = kith_why(why, KITH_EINVAL, "second TZif header has version 1");
			goto out;
		}
		rc = read_block(&r, &h, 8, tz, why);
		if (!rc)
			rc = read_footer(&r, tz, why);
	} else {
		rc = read_block(&r, &h, 4, tz, why);
	}
out:
	if (rc)
		tz_free(tz);
	else
		*out = tz;
	return rc;
}

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->trans_type);
	free(tz->types);
	free(tz->chars);
	free(tz->leaps);
	free(tz);
}

const char *tz_name(const struct tz *tz)
{
	return tz->name;
}

/* ---- conversion ---- */

static void copy_abbr(char out[TZ_ABBR_SIZE], const char *s)
{
	size_t i;

	/* Designations come from a file: keep them printable ASCII. */
	for (i = 0; i + 1 < TZ_ABBR_SIZE && s[i]; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

void tz_localtime(const struct tz *tz, int64_t epoch_seconds, struct tm *out, long *gmtoff,
		  char abbr[TZ_ABBR_SIZE])
{
	int64_t t = epoch_seconds, local, days, secs, year;
	int32_t utoff, corr = 0;
	bool isdst, leap_hit = false;
	const char *name;
	int mon, mday;

	if (t > TIME_CLAMP)
		t = TIME_CLAMP;
	if (t < -TIME_CLAMP)
		t = -TIME_CLAMP;

	if (tz->has_rule && (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1])) {
		isdst = rule_isdst(&tz->rule, t);
		utoff = isdst ? tz->rule.dst_utoff : tz->rule.std_utoff;
		name = isdst ? tz->rule.dst_abbr : tz->rule.std_abbr;
	} else {
		const struct tz_type *ty = &tz->types[0];

		/* RFC 9636 §3.2: type 0 before the first transition. */
		if (tz->ntrans > 0 && t >= tz->trans[0]) {
			size_t lo = 0, hi = tz->ntrans;   /* trans[lo] <= t < trans[hi] */

			while (hi - lo > 1) {
				size_t mid = lo + (hi - lo) / 2;

				if (tz->trans[mid] <= t)
					lo = mid;
				else
					hi = mid;
			}
			ty = &tz->types[tz->trans_type[lo]];
		}
		utoff = ty->utoff;
		isdst = ty->isdst;
		name = tz->chars + ty->abbr;
	}

	/* "right/" zones count leap seconds in time_t; as glibc does, take
	 * them out again and show an inserted second as :60. */
	for (size_t i = tz->nleaps; i-- > 0;) {
		if (tz->leaps[i].when <= t) {
			corr = tz->leaps[i].corr;
			leap_hit = tz->leaps[i].when == t &&
				   corr > (i > 0 ? tz->leaps[i - 1].corr : 0);
			break;
		}
	}

	local = t + utoff - corr;
	days = floor_div(local, SECS_PER_DAY);
	secs = local - days * SECS_PER_DAY;
	civil_from_days(days, &year, &mon, &mday);

	memset(out, 0, sizeof(*out));
	out->tm_sec = (int)(secs % 60) + leap_hit;
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_hour = (int)(secs / 3600);
	out->tm_mday = mday;
	out->tm_mon = mon - 1;
	out->tm_year = (int)(year - 1900);
	out->tm_wday = weekday(days);
	out->tm_yday = (int)(days - days_from_civil(year, 1, 1));
	out->tm_isdst = isdst;
	if (gmtoff)
		*gmtoff = utoff;
	if (abbr)
		copy_abbr(abbr, name);
}

enum kith_status tz_format(const struct tz *tz, int64_t epoch_seconds, char *out, size_t outlen)
{
	static const char *const wdays[7] = { "Sunday", "Monday", "Tuesday", "Wednesday",
					       "Thursday", "Friday", "Saturday" };
	static const char *const months[12] = { "January", "February", "March", "April",
						 "May", "June", "July", "August", "September",
						 "October", "November", "December" };
	struct tm tm;
	long off, a;
	char abbr[TZ_ABBR_SIZE], secs[8] = "";
	int len;

	tz_localtime(tz, epoch_seconds, &tm, &off, abbr);
	a = off < 0 ? -off : off;
	if (a % 60)
		snprintf(secs, sizeof(secs), ":%02ld", a % 60);
	len = snprintf(out, outlen, "%s, %d %s %lld, %02d:%02d %s (UTC%c%02ld:%02ld%s)",
		       wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		       (long long)tm.tm_year + 1900, tm.tm_hour, tm.tm_min, abbr,
		       off < 0 ? '-' : '+', a / 3600, a / 60 % 60, secs);
	if (len < 0 || (size_t)len >= outlen) {
		if (outlen)
			out[0] = '\0';
		return KITH_ETOOBIG;
	}
	return KITH_OK;
}

/* ---- loading by name ---- */

/* Only relative names of [A-Za-z0-9_+-] components joined by single '/':
 * no "..", no absolute paths, nothing outside the zone directory. */
static bool name_ok(const char *name)
{
	size_t len = strnlen(name, TZ_NAME_MAX + 1);

	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' || name[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '/' && name[i + 1] == '/')
			return false;
		if (!is_alpha(c) && !is_digit(c) && !strchr("_+-/", c))
			return false;
	}
	return true;
}

/* A name for messages: printable, bounded. */
static void show_name(char out[TZ_NAME_MAX + 4], const char *name)
{
	size_t i;

	for (i = 0; i < TZ_NAME_MAX && name[i]; i++)
		out[i] = (name[i] >= 0x20 && name[i] < 0x7f && name[i] != '\'') ? name[i] : '?';
	if (name[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static const char *zone_dir(void)
{
	const char *dir = getenv("TZDIR");

	return dir && *dir ? dir : TZ_DEFAULT_DIR;
}

/* Read a regular file of at most TZ_FILE_MAX bytes; on failure returns
 * false with errno set. */
static bool read_zone_file(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t n = 0;
	ssize_t got;
	int fd, err;

	/* O_NONBLOCK: a FIFO planted in $TZDIR must not hang us in open(). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = ENOENT;
		goto fail;
	}
	p = xmalloc(TZ_FILE_MAX + 1);
	while (n <= TZ_FILE_MAX) {
		got = read(fd, p + n, TZ_FILE_MAX + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto fail;
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > TZ_FILE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	*data = p;
	*len = n;
	return true;
fail:
	err = errno;
	free(p);
	close(fd);
	errno = err;
	return false;
}

/* Find `name` in dir ignoring case, one component at a time: models and
 * people write "asia/tokyo".  An exact match wins; among case variants the
 * bytewise smallest, so the answer does not depend on readdir order.
 * Returns the on-disk spelling or false. */
static bool resolve_case(const char *dir, const char *name, char out[TZ_NAME_MAX + 1])
{
	size_t outlen = 0;
	const char *comp = name;

	while (*comp) {
		size_t clen = strcspn(comp, "/");
		char want[TZ_NAME_MAX + 1], best[TZ_NAME_MAX + 1] = "";
		char *path;
		struct dirent *e;
		DIR *d;

		memcpy(want, comp, clen);
		want[clen] = '\0';
		path = xasprintf("%s/%.*s", dir, (int)outlen, out);
		d = opendir(path);
		free(path);
		if (!d)
			return false;
		while ((e = readdir(d))) {
			if (strlen(e->d_name) != clen || strcasecmp(e->d_name, want) != 0)
				continue;
			if (strcmp(e->d_name, want) == 0) {
				memcpy(best, e->d_name, clen + 1);
				break;
			}
			if (!best[0] || strcmp(e->d_name, best) < 0)
				memcpy(best, e->d_name, clen + 1);
		}
		closedir(d);
		if (!best[0])
			return false;
		if (outlen)
			out[outlen++] = '/';
		memcpy(out + outlen, best, clen);
		outlen += clen;
		out[outlen] = '\0';
		comp += clen;
		if (*comp == '/')
			comp++;
	}
	return true;
}

/* UTC without a zone database (a container image without tzdata): the
 * default zone keeps working. */
static struct tz *builtin_utc(const char *name)
{
	struct tz *tz = xcalloc(1, sizeof(*tz));

	tz->name = xstrdup(strchr(name, '/') ? "Etc/UTC" : "UTC");
	tz->ntypes = 1;
	tz->types = xcalloc(1, sizeof(*tz->types));
	tz->chars = xstrdup("UTC");
	return tz;
}

enum kith_status tz_load(const char *name, struct tz **out, char **why)
{
	const char *dir = zone_dir();
	char shown[TZ_NAME_MAX + 4], canon[TZ_NAME_MAX + 1] = "";
	char *path, *perr = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	enum kith_status rc;
	bool ok;
	int err;

	*out = NULL;
	if (!name || !name_ok(name)) {
		show_name(shown, name ? name : "");
		return kith_why(why, KITH_EINVAL,
				"invalid time zone name '%s' (expected an IANA name like "
				"Europe/Berlin)", shown);
	}
	show_name(shown, name);
	path = xasprintf("%s/%s", dir, name);
	ok = read_zone_file(path, &data, &len);
	err = errno;
	free(path);
	if (ok) {
		memcpy(canon, name, strlen(name) + 1);
	} else if ((err == ENOENT || err == ENOTDIR) && resolve_case(dir, name, canon)) {
		path = xasprintf("%s/%s", dir, canon);
		ok = read_zone_file(path, &data, &len);
		err = errno;
		free(path);
	}
	if (!ok) {
		if (err == ENOENT || err == ENOTDIR || err == EISDIR) {
			if (strcasecmp(name, "UTC") == 0 || strcasecmp(name, "Etc/UTC") == 0) {
				*out = builtin_utc(name);
				return KITH_OK;
			}
			return kith_why(why, KITH_ENOTFOUND, "unknown time zone '%s'", shown);
		}
		return kith_why(why, KITH_EIO, "cannot read time zone '%s' from %s: %s", shown, dir,
				strerror(err));
	}
	/* Files in the zone directory that are not zones ("leapseconds"). */
	if (len < 4 || memcmp(data, "TZif", 4) != 0) {
		free(data);
		return kith_why(why, KITH_ENOTFOUND, "unknown time zone '%s'", shown);
	}
	rc = tz_parse(data, len, canon, out, &perr);
	free(data);
	if (rc)
		kith_why(why, rc, "time zone file for '%s' is damaged: %s", shown,
			 perr ? perr : kith_strerror(rc));
	free(perr);
	return rc;
}

/* ---- the process-wide cache ---- */

/* Zones are immutable, so the cache only has to guard its own table.  A
 * lookup hands back the zone with the lock still held and the caller
 * converts before unlocking; that keeps eviction from freeing a zone in
 * use without reference counts, and a conversion is a few hundred
 * nanoseconds.  Loading happens outside the lock. */
struct cache_ent {
	char *key;        /* zone dir + '\n' + requested name */
	struct tz *tz;
	uint64_t used;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_ent cache[CACHE_MAX];
static uint64_t cache_tick;

static struct cache_ent *cache_find_locked(const char *key)
{
	for (size_t i = 0; i < CACHE_MAX; i++) {
		if (cache[i].key && strcmp(cache[i].key, key) == 0) {
			cache[i].used = ++cache_tick;
			return &cache[i];
		}
	}
	return NULL;
}

/* On success the lock is held and *tz is valid until it is released. */
static enum kith_status cache_acquire(const char *name, const struct tz **tz, char **why)
{
	struct cache_ent *e, *victim;
	struct tz *loaded;
	enum kith_status rc;
	char *key;

	if (!name || !name_ok(name))   /* tz_load words the error */
		return tz_load(name, &loaded, why);
	key = xasprintf("%s\n%s", zone_dir(), name);
	pthread_mutex_lock(&cache_lock);
	e = cache_find_locked(key);
	if (e) {
		free(key);
		*tz = e->tz;
		return KITH_OK;
	}
	pthread_mutex_unlock(&cache_lock);

	rc = tz_load(name, &loaded, why);
	if (rc) {
		free(key);
		return rc;
	}
	pthread_mutex_lock(&cache_lock);
	e = cache_find_locked(key);   /* another thread may have won */
	if (e) {
		free(key);
		tz_free(loaded);
		*tz = e->tz;
		return KITH_OK;
	}
	victim = &cache[0];
	for (size_t i = 0; i < CACHE_MAX && victim->key; i++)
		if (!cache[i].key || cache[i].used < victim->used)
			victim = &cache[i];
	free(victim->key);
	tz_free(victim->tz);
	victim->key = key;
	victim->tz = loaded;
	victim->used = ++cache_tick;
	*tz = loaded;
	return KITH_OK;
}

enum kith_status tz_localtime_named(const char *name, int64_t epoch_seconds, struct tm *out,
				    long *gmtoff, char abbr[TZ_ABBR_SIZE], char **why)
{
	const struct tz *tz;
	enum kith_status rc = cache_acquire(name, &tz, why);

	if (rc)
		return rc;
	tz_localtime(tz, epoch_seconds, out, gmtoff, abbr);
	pthread_mutex_unlock(&cache_lock);
	return KITH_OK;
}

enum kith_status tz_format_now(const char *name, int64_t epoch_seconds, char *out,
			       size_t outlen, char **why)
{
	const struct tz *tz;
	enum kith_status rc = cache_acquire(name, &tz, why);

	if (rc)
		return rc;
	rc = tz_format(tz, epoch_seconds, out, outlen);
	pthread_mutex_unlock(&cache_lock);
	if (rc)
		return kith_why(why, rc, "time buffer of %zu bytes is too small", outlen);
	return KITH_OK;
}

void tz_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_MAX; i++) {
		free(cache[i].key);
		tz_free(cache[i].tz);
		cache[i].key = NULL;
		cache[i].tz = NULL;
		cache[i].used = 0;
	}
	pthread_mutex_unlock(&cache_lock);
}
