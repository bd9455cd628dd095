/* fuzz_profile.c — the /profile parsers.
 *
 * Input: the utility model's structured answer, which is also fed, as text,
 * to the date parser and to the location matcher (over a tiny built-in zone
 * table).  profile_parse_fields() must accept any bytes and return only
 * trimmed, bounded strings without control characters; a date
 * profile_parse_date() accepts is a real "YYYY-MM-DD" day not after
 * "today"; tz_places_find() returns a zone of the table or nothing. */
#include "cmd/cmd_profile.h"
#include "core/tz_locate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TODAY 20260315

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "1990-04-02" → 19900402 (the parser wrote digits and dashes). */
static int ymd_of(const char *iso)
{
	int v = 0;

	for (const char *c = iso; *c; c++)
		if (*c >= '0' && *c <= '9')
			v = v * 10 + (*c - '0');
	return v;
}

static const char zones[] =
	"DE\t+5230+01322\tEurope/Berlin\n"
	"PT\t+3843-00908\tEurope/Lisbon\n"
	"US\t+404251-0740023\tAmerica/New_York\n"
	"US\t+470659-1011757\tAmerica/North_Dakota/Center\n"
	"DE,DK,NO\t+5230+01322\tEurope/Berlin\n";
static const char countries[] = "DE\tGermany\nPT\tPortugal\nUS\tUnited States\nKR\tKorea (South)\n";

static void check_field(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (!n || n > max || s[0] == ' ' || s[n - 1] == ' ')
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile_fields f;
	struct tz_places *p;
	char *text = malloc(size + 1), *why = NULL, *zone = NULL, iso[11], pretty[48];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (profile_parse_fields(text, size, &f, &why) == KITH_OK) {
		check_field(f.name, PROFILE_NAME_MAX);
		check_field(f.location, PROFILE_LOCATION_MAX);
		check_field(f.date_of_birth, 40);
		profile_fields_release(&f);
	} else if (f.name || f.location || f.date_of_birth) {
		__builtin_trap();
	}
	free(why);
	why = NULL;
	if (profile_parse_date(text, TODAY, iso, &why) == KITH_OK) {
		int ymd = ymd_of(iso);

		if (strlen(iso) != 10 || !profile_format_date(iso, pretty, sizeof(pretty)) ||
		    ymd > TODAY || ymd < 19000101)
			__builtin_trap();
	} else if (!why) {
		__builtin_trap();
	}
	free(why);
	p = tz_places_new();
	tz_places_add_zones(p, zones, sizeof(zones) - 1);
	tz_places_add_countries(p, countries, sizeof(countries) - 1);
	/* the input as table text too: malformed lines must be skipped safely */
	tz_places_add_zones(p, text, size);
	tz_places_add_countries(p, text, size);
	if (tz_places_find(p, text, &zone) == KITH_OK && (!zone || !*zone))
		__builtin_trap();
	free(zone);
	tz_places_free(p);
	free(text);
	return 0;
}
