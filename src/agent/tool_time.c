/* tool_time.c — built-in tools: the current time, and converting times
 * between zones.
 *
 * Models have no clock and guess dates and offsets badly; these give them
 * the real ones, in the owner's zone by default or any IANA zone they name,
 * from the zone database (core/tz.c) rather than the model's memory. */
#include "agent/tools.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/tz.h"

#include <stdio.h>
#include <time.h>

static enum kith_status run_current_time(const struct tool_ctx *ctx, const json_t *args,
					 char **result, char **why)
{
	const char *zone = kjson_str(args, "timezone");
	char text[128];
	enum kith_status rc;

	if (!zone || !*zone)
		zone = ctx->timezone && *ctx->timezone ? ctx->timezone : "UTC";
	rc = tz_format_now(zone, ctx->now_ms / 1000, text, sizeof(text), why);
	if (rc)
		return rc;
	*result = xasprintf("%s (time zone %s)", text, zone);
	return KITH_OK;
}

const struct tool_def tool_current_time = {
	.name = "current_time",
	.description = "Get the current date and time. Use it whenever the answer depends on "
		       "today's date, the day of the week or the time somewhere.",
	.parameters = "{\"type\":\"object\",\"properties\":{\"timezone\":{\"type\":\"string\","
		      "\"description\":\"IANA time zone such as Europe/Berlin or Asia/Tokyo; "
		      "omit for the owner's own zone\"}},\"additionalProperties\":false}",
	.run = run_current_time,
};

/* "HH:MM" (today in the source zone) or "YYYY-MM-DD HH:MM" / "YYYY-MM-DDTHH:MM". */
static int parse_local(const char *s, const struct tm *today, struct tm *out)
{
	int y, mo, d, h, mi;
	char sep;
	int used = 0;

	*out = (struct tm){ 0 };
	if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &used) == 6 &&
	    (sep == ' ' || sep == 'T') && s[used] == '\0') {
		out->tm_year = y - 1900;
		out->tm_mon = mo - 1;
		out->tm_mday = d;
	} else if (sscanf(s, "%2d:%2d%n", &h, &mi, &used) == 2 && s[used] == '\0') {
		out->tm_year = today->tm_year;
		out->tm_mon = today->tm_mon;
		out->tm_mday = today->tm_mday;
	} else {
		return 0;
	}
	if (h < 0 || h > 23 || mi < 0 || mi > 59 || out->tm_mon < 0 || out->tm_mon > 11 ||
	    out->tm_mday < 1 || out->tm_mday > 31)
		return 0;
	out->tm_hour = h;
	out->tm_min = mi;
	return 1;
}

static enum kith_status run_convert_time(const struct tool_ctx *ctx, const json_t *args,
					 char **result, char **why)
{
	const char *when = kjson_str(args, "time");
	const char *from = kjson_str(args, "from_timezone");
	const char *to = kjson_str(args, "to_timezone");
	struct tm today, local;
	long off = 0;
	char abbr[TZ_ABBR_SIZE], src[128], dst[128];
	int64_t naive, utc;
	enum kith_status rc;

	rc = tz_localtime_named(from, ctx->now_ms / 1000, &today, &off, abbr, why);
	if (rc)
		return rc;
	if (!parse_local(when, &today, &local))
		return kith_why(why, KITH_EINVAL, "time must look like 15:30 or 2026-11-21 15:30, not '%s'",
				when);
	/* Local wall time → UTC: subtract the offset in force, then correct
	 * once with the offset at the first guess (DST boundaries). */
	naive = (int64_t)timegm(&local);
	rc = tz_localtime_named(from, naive, &today, &off, abbr, why);
	if (rc)
		return rc;
	utc = naive - off;
	rc = tz_localtime_named(from, utc, &today, &off, abbr, why);
	if (rc)
		return rc;
	utc = naive - off;
	rc = tz_format_now(from, utc, src, sizeof(src), why);
	if (!rc)
		rc = tz_format_now(to, utc, dst, sizeof(dst), why);
	if (rc)
		return rc;
	*result = xasprintf("%s in %s is %s in %s", src, from, dst, to);
	return KITH_OK;
}

const struct tool_def tool_convert_time = {
	.name = "convert_time",
	.description = "Convert a wall-clock time from one time zone to another, e.g. when a "
		       "meeting at 15:00 in Berlin happens in Tokyo.",
	.parameters = "{\"type\":\"object\",\"properties\":{"
		      "\"time\":{\"type\":\"string\",\"description\":\"HH:MM (today) or "
		      "YYYY-MM-DD HH:MM\"},"
		      "\"from_timezone\":{\"type\":\"string\",\"description\":\"IANA zone the time "
		      "is given in\"},"
		      "\"to_timezone\":{\"type\":\"string\",\"description\":\"IANA zone to convert "
		      "to\"}},"
		      "\"required\":[\"time\",\"from_timezone\",\"to_timezone\"],"
		      "\"additionalProperties\":false}",
	.run = run_convert_time,
};
