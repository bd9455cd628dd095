/* test_tz_locate.c — location text to zone: a tiny synthetic zone database
 * (cities, countries, accents, parts, country constraint, main-zone table,
 * the fallback inside longer text, malformed lines) and the real system
 * files (the examples docs/profile.md promises). */
#include "support/test.h"
#include "core/alloc.h"
#include "core/tz_locate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char zone_tab[] =
	"# tzdb timezone descriptions\n"
	"DE\t+5230+01322\tEurope/Berlin\tmost of Germany\n"
	"DE\t+4742+00841\tEurope/Busingen\tBusingen\n"
	"PT\t+3843-00908\tEurope/Lisbon\tPortugal (mainland)\n"
	"PT\t+3238-01654\tAtlantic/Madeira\tMadeira Islands\n"
	"US\t+404251-0740023\tAmerica/New_York\tEastern (most areas)\n"
	"US\t+470659-1011757\tAmerica/North_Dakota/Center\tCentral - ND (Oliver)\n"
	"US\t+340308-1181434\tAmerica/Los_Angeles\tPacific\n"
	"AU\t-3133+15905\tAustralia/Lord_Howe\tLord Howe Island\n"
	"AU\t-3352+15113\tAustralia/Sydney\tNew South Wales\n"
	"BR\t-2332-04637\tAmerica/Sao_Paulo\tBrazil (southeast)\n"
	"CH\t+4723+00832\tEurope/Zurich\n"
	"CA\t+4734-05243\tAmerica/St_Johns\tNewfoundland\n"
	"KR\t+3733+12658\tAsia/Seoul\n"
	"GB\t+513030-0000731\tEurope/London\n"
	"AQ\t-6835+07758\tAntarctica/Davis\tDavis\n"
	"bad line without tabs\n"
	"XX\tnot-enough-fields\n"
	"D\t+0+0\tEurope/Nowhere\n"
	"US\t+0+0\t../../etc/passwd\n";

static const char zone1970_tab[] =
	"DE,DK,NO,SE,SJ\t+5230+01322\tEurope/Berlin\tmost of Germany\n"
	"JP\t+353916+1394441\tAsia/Tokyo\n";

static const char iso_tab[] =
	"# ISO 3166 alpha-2 country codes\n"
	"AU\tAustralia\n"
	"BR\tBrazil\n"
	"CA\tCanada\n"
	"CH\tSwitzerland\n"
	"DE\tGermany\n"
	"GB\tBritain (UK)\n"
	"JP\tJapan\n"
	"KP\tKorea (North)\n"
	"KR\tKorea (South)\n"
	"NO\tNorway\n"
	"PT\tPortugal\n"
	"US\tUnited States\n"
	"zz\tlower case code\n";

static struct tz_places *synthetic(void)
{
	struct tz_places *p = tz_places_new();

	tz_places_add_zones(p, zone_tab, strlen(zone_tab));
	tz_places_add_zones(p, zone1970_tab, strlen(zone1970_tab));
	tz_places_add_countries(p, iso_tab, strlen(iso_tab));
	return p;
}

static void expect(const struct tz_places *p, const char *where, const char *zone)
{
	char *z = NULL;
	enum kith_status rc = tz_places_find(p, where, &z);

	if (zone) {
		CHECK_EQ(rc, KITH_OK);
		if (!z || strcmp(z, zone) != 0)
			test_fail_(__FILE__, __LINE__, "\"%s\" → %s, want %s", where,
				   z ? z : "(none)", zone);
	} else {
		CHECK_EQ(rc, KITH_ENOTFOUND);
		if (z)
			test_fail_(__FILE__, __LINE__, "\"%s\" → %s, want none", where, z);
	}
	free(z);
}

static void test_synthetic(void)
{
	struct tz_places *p = synthetic();
	char *z = NULL;

	/* cities */
	expect(p, "Berlin", "Europe/Berlin");
	expect(p, "  berlin ", "Europe/Berlin");
	expect(p, "New York", "America/New_York");
	expect(p, "new-york", "America/New_York");
	expect(p, "Lisbon, Portugal", "Europe/Lisbon");
	expect(p, "São Paulo, Brazil", "America/Sao_Paulo");
	expect(p, "Z\xc3\xbcrich", "Europe/Zurich");
	expect(p, "St. John's, Canada", "America/St_Johns");
	expect(p, "St John\xe2\x80\x99s", "America/St_Johns");
	/* a later part is the country: a city elsewhere does not count */
	expect(p, "Berlin, Japan", "Asia/Tokyo");
	expect(p, "Berlin, Germany", "Europe/Berlin");
	/* the most specific part first; unknown towns fall to the country */
	expect(p, "Porto, Portugal", "Europe/Lisbon");
	expect(p, "Kreuzberg, Berlin, Germany", "Europe/Berlin");
	/* countries, aliases, parenthesised names */
	expect(p, "Germany", "Europe/Berlin");
	expect(p, "Japan", "Asia/Tokyo");
	expect(p, "USA", "America/New_York");
	expect(p, "Glasgow, UK", "Europe/London");
	expect(p, "Britain", "Europe/London");
	expect(p, "South Korea", "Asia/Seoul");
	expect(p, "korea", "Asia/Seoul");
	expect(p, "Norway", "Europe/Berlin");   /* only zone1970.tab knows NO */
	/* the main-zone table beats tzdata's first row */
	expect(p, "Australia", "Australia/Sydney");
	/* a zone name as the place */
	expect(p, "europe/lisbon", "Europe/Lisbon");
	/* inside longer text */
	expect(p, "New York City", "America/New_York");
	expect(p, "somewhere near Berlin Germany", "Europe/Berlin");
	expect(p, "a village in Portugal", "Europe/Lisbon");
	/* words that are zone cities only in three-part or Antarctic zones */
	expect(p, "UC Davis", NULL);
	expect(p, "Medical Center", NULL);
	/* exact three-part city still matches as a whole part */
	expect(p, "Center", "America/North_Dakota/Center");
	/* not found; malformed lines were skipped */
	expect(p, "Atlantis", NULL);
	expect(p, "Nowhere", NULL);
	expect(p, "passwd", NULL);
	expect(p, ", , ,", NULL);
	CHECK_EQ(tz_places_find(p, "", &z), KITH_EINVAL);
	{
		char big[TZ_LOCATE_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CHECK_EQ(tz_places_find(p, big, &z), KITH_EINVAL);
	}
	CHECK(z == NULL);
	tz_places_free(p);
}

/* Without iso3166.tab only cities match. */
static void test_no_countries(void)
{
	struct tz_places *p = tz_places_new();

	tz_places_add_zones(p, zone_tab, strlen(zone_tab));
	expect(p, "Lisbon, Portugal", "Europe/Lisbon");
	expect(p, "Germany", NULL);
	tz_places_free(p);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	REQUIRE(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void test_load_dir(void)
{
	char *dir = test_path("zi");
	char *empty = test_path("empty");
	char *zone = NULL, *why = NULL;

	mkdir(dir, 0700);
	mkdir(empty, 0700);
	write_file(dir, "zone1970.tab", zone1970_tab);
	write_file(dir, "iso3166.tab", iso_tab);
	CHECK_EQ(tz_locate(dir, "Japan", &zone, &why), KITH_OK);
	CHECK_STR(zone, "Asia/Tokyo");
	free(zone);
	CHECK_EQ(tz_locate(dir, "Atlantis", &zone, &why), KITH_ENOTFOUND);
	CHECK(why != NULL);
	free(why);
	why = NULL;
	CHECK_EQ(tz_locate(empty, "Japan", &zone, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "no zone.tab");
	free(why);
	free(dir);
	free(empty);
}

/* The installed tzdata: the brief's examples. */
static void test_system(void)
{
	struct tz_places *p = NULL;
	char *why = NULL;

	if (tz_places_load("/usr/share/zoneinfo", &p, &why) != KITH_OK) {
		fprintf(stderr, "  skipped: %s\n", why);
		free(why);
		return;
	}
	expect(p, "Berlin", "Europe/Berlin");
	expect(p, "Germany", "Europe/Berlin");
	expect(p, "Japan", "Asia/Tokyo");
	expect(p, "New York", "America/New_York");
	expect(p, "Lisbon, Portugal", "Europe/Lisbon");
	expect(p, "Munich, Germany", "Europe/Berlin");
	expect(p, "Oslo", "Europe/Oslo");
	expect(p, "São Paulo", "America/Sao_Paulo");
	expect(p, "Brazil", "America/Sao_Paulo");
	expect(p, "Russia", "Europe/Moscow");
	expect(p, "Canada", "America/Toronto");
	expect(p, "United States", "America/New_York");
	expect(p, "Ho Chi Minh City, Vietnam", "Asia/Ho_Chi_Minh");
	expect(p, "Buenos Aires", "America/Argentina/Buenos_Aires");
	expect(p, "Bosnia and Herzegovina", "Europe/Sarajevo");
	expect(p, "Samoa", "Pacific/Apia");
	expect(p, "Narnia", NULL);
	tz_places_free(p);
}

int main(void)
{
	RUN(test_synthetic);
	RUN(test_no_countries);
	RUN(test_load_dir);
	RUN(test_system);
	return test_summary();
}
