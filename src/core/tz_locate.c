/* tz_locate.c — location text to an IANA zone from the zone database's own
 * tables (tz_locate.h).
 *
 * Everything is compared in one normal form (norm()): lower-case ASCII
 * words separated by single spaces, Latin-1 and Latin Extended-A letters
 * folded to their base letters, other non-ASCII bytes kept as they are (a
 * name in another script still matches itself).  The tables are small (a
 * few hundred zones and countries), so a search is a linear scan.
 *
 * "The first zone of a country" is tzdata's order, which puts the most
 * populous zone first for most countries but not all (zone.tab lists
 * Australia from Lord Howe Island, Russia from Kaliningrad): a short table
 * names the zone people mean for those. */
#include "core/tz_locate.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TAB_FILE_MAX ((size_t)1 << 20)
#define MAX_PARTS 8

struct zone {
	char *name;       /* "America/New_York" */
	char *city;       /* normalised last component: "new york" */
	char *codes;      /* "US" or "DE,DK,NO", from the first file naming it */
	char *extra;      /* codes a later file added ("" = none); they count for
			   * a city's country but not for a country's main zone:
			   * Germany is not Europe/Zurich's first country */
	bool fallback_ok; /* may be found inside longer text (see find_within) */
};

struct country {
	char code[3];
	char *name;       /* normalised */
};

struct tz_places {
	struct zone *z;
	size_t nz, zcap;
	struct country *c;
	size_t nc, ccap;
};

/* ---- normal form ---------------------------------------------------------- */

/* U+00C0..U+00DF (and +0x20 for lower case), folded. */
static const char *const latin1[32] = {
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
};
/* U+0100..U+017F, folded (upper/lower pairs mostly alternate). */
static const char latin_ext_a[] =
	"AaAaAa" "CcCcCcCc" "DdDd" "EeEeEeEeEe" "GgGgGgGg" "HhHh" "IiIiIiIiIi" "Ii" "Jj" "Kkk"
	"LlLlLlLlLl" "NnNnNnnNn" "OoOoOo" "Oo" "RrRrRr" "SsSsSsSs" "TtTtTt" "UuUuUuUuUuUu" "Ww"
	"YyY" "ZzZzZz" "s";
_Static_assert(sizeof(latin_ext_a) == 129, "one letter per code point U+0100..U+017F");

static void put_sep(struct buf *b)
{
	if (b->len && b->data[b->len - 1] != ' ')
		(void)buf_append(b, " ", 1);
}

/* Normal form of s[0..n) (heap string, caller frees). */
static char *norm(const char *s, size_t n)
{
	struct buf b = BUF_INIT(0);

	(void)buf_puts(&b, "");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			(void)buf_append(&b, &s[i], 1);
		} else if (c >= 'A' && c <= 'Z') {
			char l = (char)(c - 'A' + 'a');

			(void)buf_append(&b, &l, 1);
		} else if (c == '\'' || c == '`') {
			continue;                      /* "john's" = "johns" */
		} else if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			   (unsigned char)s[i + 2] == 0x99) {
			i += 2;                        /* U+2019 right single quote */
		} else if (c == 0xC3 && i + 1 < n && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
			unsigned cp = 0xC0 + ((unsigned char)s[i + 1] - 0x80);
			const char *f = cp == 0xFF ? "y" : latin1[(cp - 0xC0) & 0x1F];

			i++;
			if (f)
				(void)buf_puts(&b, f);
			else
				put_sep(&b);           /* × ÷ */
		} else if ((c == 0xC4 || c == 0xC5) && i + 1 < n &&
			   ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
			unsigned cp = ((unsigned)(c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
			char l = latin_ext_a[cp - 0x100];

			if (l >= 'A' && l <= 'Z')
				l = (char)(l - 'A' + 'a');
			i++;
			(void)buf_append(&b, &l, 1);
		} else if (c >= 0x80) {
			(void)buf_append(&b, &s[i], 1); /* other scripts: kept */
		} else {
			put_sep(&b);                   /* space, '_', '-', '.', '&', … */
		}
	}
	if (b.len && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	return buf_detach(&b);
}

/* ---- tables --------------------------------------------------------------- */

struct tz_places *tz_places_new(void)
{
	return xcalloc(1, sizeof(struct tz_places));
}

void tz_places_free(struct tz_places *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nz; i++) {
		free(p->z[i].name);
		free(p->z[i].city);
		free(p->z[i].codes);
		free(p->z[i].extra);
	}
	for (size_t i = 0; i < p->nc; i++)
		free(p->c[i].name);
	free(p->z);
	free(p->c);
	free(p);
}

/* Field k (0-based, tab-separated) of line[0..n) → *f, *fn. */
static bool field(const char *line, size_t n, int k, const char **f, size_t *fn)
{
	size_t start = 0;

	for (int i = 0; i < k; i++) {
		const char *t = memchr(line + start, '\t', n - start);

		if (!t)
			return false;
		start = (size_t)(t - line) + 1;
	}
	{
		const char *t = memchr(line + start, '\t', n - start);

		*f = line + start;
		*fn = t ? (size_t)(t - (line + start)) : n - start;
	}
	return *fn > 0;
}

static bool valid_zone_name(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] == '/' || s[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '+' || (c == '/' && s[i + 1] != '/')))
			return false;
	}
	return true;
}

static bool valid_codes(const char *s, size_t n)
{
	/* "DE" or "DE,DK,NO": pairs of capitals separated by commas. */
	if (n < 2 || (n + 1) % 3)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (i % 3 == 2 ? c != ',' : !(c >= 'A' && c <= 'Z'))
			return false;
	}
	return true;
}

static bool has_code(const char *codes, const char *code)
{
	for (const char *c = codes; *c; c += c[2] ? 3 : 2)
		if (c[0] == code[0] && c[1] == code[1])
			return true;
	return false;
}

static const struct zone *zone_named(const struct tz_places *p, const char *name)
{
	for (size_t i = 0; i < p->nz; i++)
		if (strcasecmp(p->z[i].name, name) == 0)
			return &p->z[i];
	return NULL;
}

/* Calls fn for each line that is not a comment or empty. */
static void each_line(const char *text, size_t n,
		      void (*fn)(struct tz_places *, const char *, size_t),
		      struct tz_places *p)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (text + i)) : n - i;

		if (len && text[i] != '#')
			fn(p, text + i, len && text[i + len - 1] == '\r' ? len - 1 : len);
		i += len + 1;
	}
}

static void zone_line(struct tz_places *p, const char *line, size_t n)
{
	const char *codes, *name, *last;
	size_t cn, nn;
	struct zone *z;
	char *zname;

	if (!field(line, n, 0, &codes, &cn) || !field(line, n, 2, &name, &nn) ||
	    !valid_codes(codes, cn) || !valid_zone_name(name, nn))
		return;
	zname = xstrndup(name, nn);
	if ((z = (struct zone *)zone_named(p, zname)) != NULL) {
		/* Known from zone.tab: add the countries zone1970.tab gives it,
		 * so "Norway" finds Europe/Berlin when Europe/Oslo is absent. */
		for (size_t i = 0; i + 1 < cn; i += 3) {
			char code[3] = { codes[i], codes[i + 1], '\0' };

			if (!has_code(z->codes, code) && !has_code(z->extra, code)) {
				char *more = xasprintf("%s%s%s", z->extra, *z->extra ? "," : "",
						       code);

				free(z->extra);
				z->extra = more;
			}
		}
		free(zname);
		return;
	}
	p->z = xgrow(p->z, &p->zcap, p->nz + 1, sizeof(*p->z));
	z = &p->z[p->nz++];
	z->name = zname;
	last = strrchr(zname, '/');
	last = last ? last + 1 : zname;
	z->city = norm(last, strlen(last));
	z->codes = xstrndup(codes, cn);
	z->extra = xstrdup("");
	/* Only plain Area/City zones may be found inside longer text: the
	 * three-part American ones ("America/North_Dakota/Center") and the
	 * research stations ("Antarctica/Davis") are ordinary words. */
	z->fallback_ok = strchr(zname, '/') && strchr(zname, '/') == strrchr(zname, '/') &&
			 strncmp(zname, "Antarctica/", 11) != 0;
}

void tz_places_add_zones(struct tz_places *p, const char *text, size_t n)
{
	each_line(text, n, zone_line, p);
}

static void add_country(struct tz_places *p, const char code[2], char *name) /* takes name */
{
	struct country *c;

	if (!*name) {
		free(name);
		return;
	}
	p->c = xgrow(p->c, &p->ccap, p->nc + 1, sizeof(*p->c));
	c = &p->c[p->nc++];
	c->code[0] = code[0];
	c->code[1] = code[1];
	c->code[2] = '\0';
	c->name = name;
}

/* Names people use that iso3166.tab spells otherwise.  Looked up before
 * the parenthesised variants, so "korea" is the South and "samoa" the
 * independent state. */
static const struct {
	const char *name, *code;
} aliases[] = {
	{ "usa", "US" }, { "us", "US" }, { "u s", "US" }, { "u s a", "US" },
	{ "united states of america", "US" }, { "america", "US" },
	{ "uk", "GB" }, { "u k", "GB" }, { "united kingdom", "GB" }, { "great britain", "GB" },
	{ "england", "GB" }, { "scotland", "GB" }, { "wales", "GB" },
	{ "northern ireland", "GB" }, { "korea", "KR" }, { "south korea", "KR" },
	{ "north korea", "KP" }, { "czechia", "CZ" }, { "czech republic", "CZ" },
	{ "holland", "NL" }, { "the netherlands", "NL" }, { "russian federation", "RU" },
	{ "uae", "AE" }, { "emirates", "AE" }, { "ivory coast", "CI" }, { "cote d ivoire", "CI" },
	{ "burma", "MM" }, { "vatican", "VA" }, { "bosnia", "BA" }, { "turkiye", "TR" },
	{ "persia", "IR" }, { "samoa", "WS" }, { "taiwan roc", "TW" }, { "hong kong sar", "HK" },
};

static bool country_code_ok(const char *s, size_t n)
{
	return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static bool country_known(const struct tz_places *p, const char *name)
{
	for (size_t i = 0; i < p->nc; i++)
		if (strcmp(p->c[i].name, name) == 0)
			return true;
	return false;
}

static void add_new_country(struct tz_places *p, const char code[2], char *name) /* takes */
{
	if (country_known(p, name))
		free(name);
	else
		add_country(p, code, name);
}

static void country_line_whole(struct tz_places *p, const char *line, size_t n)
{
	const char *code, *name;
	size_t cn, nn;

	if (!field(line, n, 0, &code, &cn) || !field(line, n, 1, &name, &nn) ||
	    !country_code_ok(code, cn))
		return;
	if (memchr(name, '(', nn))
		return;                                 /* second pass */
	add_new_country(p, code, norm(name, nn));
	if (memchr(name, '&', nn)) {                    /* "Bosnia & Herzegovina" */
		struct buf b = BUF_INIT(0);

		for (size_t i = 0; i < nn; i++)
			if (name[i] == '&')
				(void)buf_puts(&b, " and ");
			else
				(void)buf_append(&b, &name[i], 1);
		add_new_country(p, code, norm(buf_str(&b), b.len));
		buf_release(&b);
	}
}

static void country_line_paren(struct tz_places *p, const char *line, size_t n)
{
	const char *code, *name, *open, *close;
	size_t cn, nn;

	if (!field(line, n, 0, &code, &cn) || !field(line, n, 1, &name, &nn) ||
	    !country_code_ok(code, cn) || !(open = memchr(name, '(', nn)))
		return;
	close = memchr(open, ')', nn - (size_t)(open - name));
	if (!close)
		close = name + nn;
	{
		char *before = norm(name, (size_t)(open - name));
		char *inside = norm(open + 1, (size_t)(close - open - 1));

		add_new_country(p, code, norm(name, nn));       /* "korea south" */
		add_new_country(p, code, xasprintf("%s %s", inside, before)); /* "south korea" */
		add_new_country(p, code, before);
		add_new_country(p, code, inside);               /* "uk" */
	}
}

/* iso3166.tab is read in two passes: whole names first, then the variants
 * of "Korea (South)" ("korea", "south", "south korea") that no whole name
 * or alias has taken. */
void tz_places_add_countries(struct tz_places *p, const char *text, size_t n)
{
	each_line(text, n, country_line_whole, p);
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		add_new_country(p, aliases[i].code, xstrdup(aliases[i].name));
	each_line(text, n, country_line_paren, p);
}

/* ---- loading -------------------------------------------------------------- */

static bool read_small(const char *path, char **data, size_t *len)
{
	struct buf b = BUF_INIT(TAB_FILE_MAX);
	struct stat st;
	char chunk[8192];
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool ok = false;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		if (buf_append(&b, chunk, (size_t)got))
			goto out;
	}
	ok = true;
out:
	close(fd);
	if (ok) {
		*len = b.len;
		(void)buf_puts(&b, "");
		*data = buf_detach(&b);
	} else {
		buf_release(&b);
	}
	return ok;
}

enum kith_status tz_places_load(const char *dir, struct tz_places **out, char **why)
{
	static const char *const zone_files[] = { "zone.tab", "zone1970.tab" };
	struct tz_places *p = tz_places_new();
	bool any = false;
	char *data, *path;
	size_t len;

	*out = NULL;
	if (!dir) {
		dir = getenv("TZDIR");
		if (!dir || !*dir)
			dir = TZ_DEFAULT_DIR;
	}
	for (size_t i = 0; i < 2; i++) {
		path = xasprintf("%s/%s", dir, zone_files[i]);
		if (read_small(path, &data, &len)) {
			tz_places_add_zones(p, data, len);
			free(data);
			any = true;
		}
		free(path);
	}
	if (!any || !p->nz) {
		tz_places_free(p);
		return kith_why(why, KITH_ENOTFOUND, "no zone.tab or zone1970.tab in %s", dir);
	}
	path = xasprintf("%s/iso3166.tab", dir);
	if (read_small(path, &data, &len)) {
		tz_places_add_countries(p, data, len);
		free(data);
	}
	free(path);
	*out = p;
	return KITH_OK;
}

/* ---- searching ------------------------------------------------------------ */

/* The zone people mean by the country where tzdata's first row is not it. */
static const struct {
	const char *code, *zone[2];
} main_zone[] = {
	{ "AU", { "Australia/Sydney", NULL } },
	{ "BR", { "America/Sao_Paulo", NULL } },
	{ "CA", { "America/Toronto", NULL } },
	{ "RU", { "Europe/Moscow", NULL } },
	{ "UA", { "Europe/Kyiv", "Europe/Kiev" } },
	{ "UZ", { "Asia/Tashkent", NULL } },
	{ "AQ", { NULL, NULL } },
};

static const struct zone *country_zone(const struct tz_places *p, const char *code)
{
	for (size_t i = 0; i < sizeof(main_zone) / sizeof(main_zone[0]); i++) {
		if (strcmp(main_zone[i].code, code) != 0)
			continue;
		for (size_t k = 0; k < 2 && main_zone[i].zone[k]; k++) {
			const struct zone *z = zone_named(p, main_zone[i].zone[k]);

			if (z && has_code(z->codes, code))
				return z;
		}
	}
	for (size_t i = 0; i < p->nz; i++)
		if (has_code(p->z[i].codes, code))
			return &p->z[i];
	for (size_t i = 0; i < p->nz; i++)
		if (has_code(p->z[i].extra, code))
			return &p->z[i];
	return NULL;
}

static const struct country *country_by_name(const struct tz_places *p, const char *name)
{
	for (size_t i = 0; i < p->nc; i++)
		if (strcmp(p->c[i].name, name) == 0)
			return &p->c[i];
	return NULL;
}

/* The first zone whose city is `city`, preferring one in `code` (NULL =
 * any).  With a code, a city of another country does not count. */
static const struct zone *city_zone(const struct tz_places *p, const char *city, const char *code)
{
	for (size_t i = 0; i < p->nz; i++)
		if (strcmp(p->z[i].city, city) == 0 &&
		    (!code || has_code(p->z[i].codes, code) || has_code(p->z[i].extra, code)))
			return &p->z[i];
	return NULL;
}

/* Whether `word` occurs in `text` (both normal form) on word boundaries. */
static bool contains_words(const char *text, const char *word)
{
	size_t wn = strlen(word);

	if (!wn)
		return false;
	for (const char *t = strstr(text, word); t; t = strstr(t + 1, word))
		if ((t == text || t[-1] == ' ') && (t[wn] == '\0' || t[wn] == ' '))
			return true;
	return false;
}

/* Last resort for text without commas in the right places ("New York
 * City", "Berlin Germany"): the longest city, then the longest country,
 * named anywhere in it. */
static const struct zone *find_within(const struct tz_places *p, const char *text)
{
	const struct zone *best = NULL;
	const struct country *bc = NULL;

	for (size_t i = 0; i < p->nc; i++)
		if ((!bc || strlen(p->c[i].name) > strlen(bc->name)) &&
		    contains_words(text, p->c[i].name))
			bc = &p->c[i];
	for (size_t i = 0; i < p->nz; i++)
		if (p->z[i].fallback_ok && (!best || strlen(p->z[i].city) > strlen(best->city)) &&
		    (!bc || has_code(p->z[i].codes, bc->code) || has_code(p->z[i].extra, bc->code)) &&
		    contains_words(text, p->z[i].city))
			best = &p->z[i];
	if (!best && bc)
		best = country_zone(p, bc->code);
	return best;
}

enum kith_status tz_places_find(const struct tz_places *p, const char *location, char **zone)
{
	char *parts[MAX_PARTS];
	const struct country *pc[MAX_PARTS];
	const struct zone *hit = NULL;
	size_t np = 0, len = strlen(location);
	const char *s = location;
	char *whole;

	*zone = NULL;
	if (len == 0 || len > TZ_LOCATE_MAX)
		return KITH_EINVAL;
	/* A zone name given as the place. */
	if (strchr(location, '/') && !strchr(location, ',')) {
		size_t a = 0, b = len;

		while (a < b && location[a] == ' ')
			a++;
		while (b > a && location[b - 1] == ' ')
			b--;
		for (size_t i = 0; i < p->nz && !hit; i++)
			if (strlen(p->z[i].name) == b - a &&
			    strncasecmp(p->z[i].name, location + a, b - a) == 0)
				hit = &p->z[i];
		if (hit) {
			*zone = xstrdup(hit->name);
			return KITH_OK;
		}
	}
	while (np < MAX_PARTS) {
		size_t n = strcspn(s, ",;");
		char *t = norm(s, n);

		if (*t) {
			parts[np] = t;
			pc[np] = country_by_name(p, t);
			np++;
		} else {
			free(t);
		}
		if (!s[n])
			break;
		s += n + 1;
	}
	for (size_t i = 0; i < np && !hit; i++) {
		const char *code = NULL;

		for (size_t j = i + 1; j < np && !code; j++)
			if (pc[j])
				code = pc[j]->code;
		hit = city_zone(p, parts[i], code);
		if (!hit && pc[i])
			hit = country_zone(p, pc[i]->code);
	}
	if (!hit) {
		whole = norm(location, len);
		hit = find_within(p, whole);
		free(whole);
	}
	for (size_t i = 0; i < np; i++)
		free(parts[i]);
	if (!hit)
		return KITH_ENOTFOUND;
	*zone = xstrdup(hit->name);
	return KITH_OK;
}

enum kith_status tz_locate(const char *dir, const char *location, char **zone, char **why)
{
	struct tz_places *p = NULL;
	enum kith_status rc;

	*zone = NULL;
	rc = tz_places_load(dir, &p, why);
	if (rc)
		return rc;
	rc = tz_places_find(p, location, zone);
	tz_places_free(p);
	if (rc == KITH_EINVAL)
		return kith_why(why, rc, "a location must be 1 to %d bytes", TZ_LOCATE_MAX);
	if (rc == KITH_ENOTFOUND)
		return kith_why(why, rc, "no time zone matches that place");
	return rc;
}
