/* cmd_profile.h — the parsers behind /profile (cmd_profile.c), exposed for
 * the unit tests and fuzz/fuzz_profile.c. */
#ifndef KITH_CMD_PROFILE_H
#define KITH_CMD_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

/* Longest name and location /profile keeps (bytes). */
#define PROFILE_NAME_MAX 100
#define PROFILE_LOCATION_MAX 200

/* A date of birth as people write it: "1990-04-02", "2 April 1990",
 * "April 2, 1990", "2nd of Apr 1990", "02.04.1990" (day first), and
 * "02/04/1990" only when unambiguous (one of the first two numbers is above
 * 12).  `today` is YYYYMMDD; a date after it, before 1900 or that does not
 * exist is refused.  out gets "YYYY-MM-DD".  KITH_EINVAL with *why (a
 * sentence for the person, caller frees) when it cannot be used. */
enum kith_status profile_parse_date(const char *text, int today, char out[11],
				    char **why) KITH_MUST_CHECK;

/* "2 April 1990" for "1990-04-02"; false (out untouched) when iso is not a
 * valid date in that form. */
bool profile_format_date(const char *iso, char *out, size_t n);

/* What the utility model read from free text: heap strings, NULL = not
 * given.  Strings are trimmed; empty, overlong (the caps above, 40 bytes for
 * the date) or control-character strings count as not given. */
struct profile_fields {
	char *name, *location, *date_of_birth;
};

/* Parse the model's structured answer {"name","location","date_of_birth"}
 * (strings or null; a ```json fence around it is tolerated; other keys are
 * ignored).  The date is returned as the model wrote it, unvalidated.
 * KITH_EPROTO when it is not such an object. */
enum kith_status profile_parse_fields(const char *text, size_t n, struct profile_fields *out,
				      char **why) KITH_MUST_CHECK;
void profile_fields_release(struct profile_fields *f);

#endif
