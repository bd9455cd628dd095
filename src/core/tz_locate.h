/* tz_locate.h — a place as people write it ("Lisbon, Portugal") to an IANA
 * time zone ("Europe/Lisbon"), offline.
 *
 * The zone database already says where its zones are: zone.tab and
 * zone1970.tab list every zone with its country codes, iso3166.tab names the
 * countries.  A zone's last component is a city ("America/New_York" → "new
 * york"), so a location is matched against those city names and then
 * against country names (a country alone gives its main zone: "Germany" →
 * Europe/Berlin).  No network, no gazetteer: a town that is not a zone's
 * city is found only through its country ("Porto, Portugal"), and a place
 * whose country is not named is not found ("Porto").  See docs/profile.md.
 *
 * Matching folds ASCII case and the Latin accents ("Zürich" = "zurich",
 * "São Paulo" = "sao paulo"), treats '_', '-', '.' and spaces alike and
 * drops apostrophes ("St. John's" = "St_Johns").  Comma-separated parts are
 * tried from the most specific (the first) on; a later part naming a
 * country rules out a city of another country ("Vienna, USA"). */
#ifndef KITH_CORE_TZ_LOCATE_H
#define KITH_CORE_TZ_LOCATE_H

#include <stddef.h>

#include "core/status.h"

/* Longest location text tz_locate looks at; longer is KITH_EINVAL. */
#define TZ_LOCATE_MAX 256

/* The zone and country tables, immutable once built (any number of
 * threads may search one). */
struct tz_places;

/* Build empty tables, then feed them.  Zone text is zone.tab or
 * zone1970.tab format (tab-separated "codes coordinates zone …", '#'
 * comments); feed zone.tab first when you have both: its rows carry one
 * country each, which makes "the first zone of a country" meaningful.  A
 * zone already known is skipped.  Country text is iso3166.tab format ("code
 * name").  Malformed lines are skipped; never reads outside text[0..n). */
struct tz_places *tz_places_new(void);
void tz_places_add_zones(struct tz_places *p, const char *text, size_t n);
void tz_places_add_countries(struct tz_places *p, const char *text, size_t n);
void tz_places_free(struct tz_places *p);

/* Read zone.tab, zone1970.tab and iso3166.tab from `dir` (NULL = $TZDIR,
 * else /usr/share/zoneinfo).  KITH_ENOTFOUND when neither zone file can be
 * read (iso3166.tab is optional: without it only cities match).  The caller
 * frees *out with tz_places_free(). */
enum kith_status tz_places_load(const char *dir, struct tz_places **out,
				char **why) KITH_MUST_CHECK;

/* The zone for `location`: *zone gets a heap copy of its name (caller
 * frees).  KITH_ENOTFOUND when nothing matches, KITH_EINVAL for an empty or
 * overlong location. */
enum kith_status tz_places_find(const struct tz_places *p, const char *location,
				char **zone) KITH_MUST_CHECK;

/* tz_places_load + tz_places_find + tz_places_free.  Errors as those. */
enum kith_status tz_locate(const char *dir, const char *location, char **zone,
			   char **why) KITH_MUST_CHECK;

#endif
