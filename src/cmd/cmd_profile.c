/* cmd_profile.c — /profile: the person's name, where they live, their time
 * zone and date of birth (store_user_profile).
 *
 *   /profile                         show it, or how to set it
 *   /profile name Ana                one field at a time, no model involved
 *   /profile location Lisbon, Portugal
 *   /profile birthday 1988-05-03     (or dob; "3 May 1988", "May 3, 1988")
 *   /profile timezone Europe/Lisbon  an explicit zone; "auto" drops it
 *   /profile clear
 *   /profile I'm Ana, I live in …    free text, read by the utility model
 *
 * The time zone follows the location offline (core/tz_locate.h).  Design
 * choice: no extra column marks a zone the person chose.  A stored zone
 * counts as worked out when it is what tz_locate gives for the stored
 * location; any other stored zone was set by hand and is kept when the
 * location changes (the reply says so, and "/profile timezone auto" hands
 * it back to the location).  A hand-set zone equal to the location's own
 * is indistinguishable from a derived one, and following the location then
 * is what the person would want anyway.  See docs/profile.md. */
#include "cmd/cmd.h"
#include "cmd/cmd_profile.h"

#include "agent/agent.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/tz.h"
#include "core/tz_locate.h"
#include "llm/llm.h"
#include "store/store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TAG "profile"

static const char forms[] =
	"Set one thing at a time: `/profile name Ana`, `/profile location Lisbon, Portugal`, "
	"`/profile birthday 1988-05-03`, `/profile timezone Europe/Lisbon`; "
	"`/profile clear` removes it all.";

static int today_utc(void)
{
	time_t t = (time_t)(clock_now_ms() / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* ---- the profile ---------------------------------------------------------- */

/* tz_locate's answer for location, or NULL. */
static char *derive(const char *location)
{
	char *zone = NULL, *why = NULL;

	if (!location || !*location)
		return NULL;
	if (tz_locate(NULL, location, &zone, &why) != KITH_OK) {
		log_debug(TAG, "no zone for a location: %s", why ? why : "not found");
		zone = NULL;
	}
	free(why);
	return zone;
}

/* Whether the stored zone was set by hand (see the top of the file). */
static bool zone_is_override(const struct store_user_profile *p)
{
	char *z;
	bool derived;

	if (!p->timezone)
		return false;
	z = derive(p->location);
	derived = z && strcmp(z, p->timezone) == 0;
	free(z);
	return !derived;
}

static bool profile_empty(const struct store_user_profile *p)
{
	return !p->name && !p->location && !p->timezone && !p->date_of_birth;
}

/* What a change asks for; NULL = leave as it is. */
struct change {
	const char *name, *location, *date_of_birth; /* ISO */
	const char *timezone;                       /* validated zone name */
	bool timezone_auto;                         /* follow the location again */
};

/* Free the strings of `np` that are not shared with `old`. */
static void release_new(struct store_user_profile *np, const struct store_user_profile *old)
{
	if (np->timezone != old->timezone)
		free(np->timezone);
}

static enum kith_status apply(const struct cmd_ctx *ctx, const char *user, const struct change *c,
			      struct buf *out, char **why)
{
	struct store_user_profile old, np;
	enum kith_status rc;
	char date[48];

	memset(&old, 0, sizeof(old));
	rc = store_user_profile_get(ctx->st, user, &old, why);
	if (rc && rc != KITH_ENOTFOUND)
		return rc;
	if (rc == KITH_ENOTFOUND && why) {  /* no row yet: a new profile */
		free(*why);
		*why = NULL;
	}
	np = old;
	if (c->name) {
		np.name = (char *)c->name;
		(void)buf_printf(out, "\nName: %s", c->name);
	}
	if (c->date_of_birth) {
		np.date_of_birth = (char *)c->date_of_birth;
		if (!profile_format_date(c->date_of_birth, date, sizeof(date)))
			snprintf(date, sizeof(date), "%s", c->date_of_birth);
		(void)buf_printf(out, "\nDate of birth: %s", date);
	}
	if (c->location) {
		bool keep = zone_is_override(&old);

		np.location = (char *)c->location;
		if (keep && !c->timezone) {
			(void)buf_printf(out, "\nLocation: %s (time zone stays %s, which you set; "
					      "`/profile timezone auto` works it out from the "
					      "location instead)", c->location, old.timezone);
		} else if (!c->timezone) {
			np.timezone = derive(c->location);
			if (np.timezone)
				(void)buf_printf(out, "\nLocation: %s (time zone %s)", c->location,
						 np.timezone);
			else
				(void)buf_printf(out, "\nLocation: %s. I couldn't work out the time "
						      "zone from that; set it with `/profile "
						      "timezone Area/City` (for example Europe/Lisbon).",
						 c->location);
		} else {
			(void)buf_printf(out, "\nLocation: %s", c->location);
		}
	}
	if (c->timezone) {
		np.timezone = xstrdup(c->timezone);
		(void)buf_printf(out, "\nTime zone: %s (kept when your location changes)",
				 c->timezone);
	} else if (c->timezone_auto) {
		np.timezone = derive(np.location);
		if (np.timezone)
			(void)buf_printf(out, "\nTime zone: %s (from your location)", np.timezone);
		else if (np.location)
			(void)buf_printf(out, "\nTime zone: none; I couldn't work one out from %s.",
					 np.location);
		else
			(void)buf_puts(out, "\nTime zone: none until you set a location.");
	}
	np.updated_at = clock_now_ms();
	rc = store_user_profile_put(ctx->st, user, &np, why);
	release_new(&np, &old);
	store_user_profile_release(&old);
	return rc;
}

static enum kith_status show(const struct cmd_ctx *ctx, const char *user, char **reply)
{
	struct store_user_profile p;
	struct buf b = BUF_INIT(0);
	char *why = NULL, date[48];
	enum kith_status rc;

	memset(&p, 0, sizeof(p));
	rc = store_user_profile_get(ctx->st, user, &p, &why);
	if (rc && rc != KITH_ENOTFOUND) {
		*reply = xasprintf("I couldn't read your profile: %s", why ? why : kith_strerror(rc));
		free(why);
		return rc;
	}
	free(why);
	if (rc == KITH_ENOTFOUND || profile_empty(&p)) {
		*reply = xasprintf("You haven't set up a profile yet. Tell me about yourself in a "
				   "sentence (`/profile I'm Ana, I live in Lisbon, born 3 May "
				   "1988`), or: %s", forms);
		store_user_profile_release(&p);
		return KITH_OK;
	}
	(void)buf_puts(&b, "**Your profile**");
	if (p.name)
		(void)buf_printf(&b, "\nName: %s", p.name);
	if (p.location)
		(void)buf_printf(&b, "\nLocation: %s", p.location);
	if (p.timezone)
		(void)buf_printf(&b, "\nTime zone: %s (%s)", p.timezone,
				 zone_is_override(&p) ? "set by you" : "from your location");
	if (p.date_of_birth) {
		if (!profile_format_date(p.date_of_birth, date, sizeof(date)))
			snprintf(date, sizeof(date), "%s", p.date_of_birth);
		(void)buf_printf(&b, "\nDate of birth: %s", date);
	}
	*reply = buf_detach(&b);
	store_user_profile_release(&p);
	return KITH_OK;
}

static enum kith_status finish(enum kith_status rc, struct buf *b, char *why, char **reply)
{
	if (rc) {
		buf_reset(b);
		(void)buf_printf(b, "I couldn't save that: %s", why ? why : kith_strerror(rc));
		*reply = buf_detach(b);
	} else {
		struct buf r = BUF_INIT(0);

		(void)buf_printf(&r, "Saved.%s", buf_str(b));
		*reply = buf_detach(&r);
		buf_release(b);
	}
	free(why);
	return rc;
}

static enum kith_status set_one(const struct cmd_ctx *ctx, const char *user,
				const struct change *c, char **reply)
{
	struct buf b = BUF_INIT(0);
	char *why = NULL;
	enum kith_status rc = apply(ctx, user, c, &b, &why);

	return finish(rc, &b, why, reply);
}

/* ---- free text ------------------------------------------------------------ */

static const char extract_system[] =
	"Read the person's message about themselves and extract their own name, where they "
	"live and their date of birth. Use null for anything they did not say; never guess. "
	"location: the place as they wrote it, with the city and the country when they gave "
	"them (\"Lisbon, Portugal\"). date_of_birth: YYYY-MM-DD when they gave a full date, "
	"else null. Answer with the JSON object only.";

static const char extract_schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"name\":{\"type\":[\"string\",\"null\"]},"
	"\"location\":{\"type\":[\"string\",\"null\"]},"
	"\"date_of_birth\":{\"type\":[\"string\",\"null\"]}},"
	"\"required\":[\"name\",\"location\",\"date_of_birth\"],"
	"\"additionalProperties\":false}";

static enum kith_status ask_model(struct llm_client *llm, const char *text,
				  struct profile_fields *f, char **why)
{
	struct llm_msg msgs[2];
	json_t *sch = json_loads(extract_schema, 0, NULL);
	struct llm_request req = {
		.role = LLM_ROLE_UTIL, .msgs = msgs, .nmsgs = 2, .json_schema = sch,
		.schema_name = "profile", .temperature = 0,
	};
	struct llm_response r;
	enum kith_status rc;

	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, extract_system);
	llm_msg_init(&msgs[1], LLM_MSG_USER, text);
	rc = llm_chat(llm, &req, &r, why);
	if (rc == KITH_OK)
		rc = profile_parse_fields(r.content, strlen(r.content), f, why);
	llm_response_release(&r);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	json_decref(sch);
	return rc;
}

static enum kith_status free_text(const struct cmd_ctx *ctx, const char *user, const char *text,
				  char **reply)
{
	struct llm_client *llm = ctx->deps ? ctx->deps->llm : NULL;
	struct profile_fields f;
	struct change c = { 0 };
	struct buf b = BUF_INIT(0), notes = BUF_INIT(0);
	char *why = NULL, iso[11];
	enum kith_status rc;

	if (!llm || !llm_model(llm, LLM_ROLE_UTIL)) {
		*reply = xasprintf("I can't read a sentence about you right now (no model is set "
				   "up). %s", forms);
		return KITH_EUNSUPPORTED;
	}
	rc = ask_model(llm, text, &f, &why);
	if (rc) {
		log_warn(TAG, "reading a profile sentence: %s", why ? why : kith_strerror(rc));
		*reply = xasprintf("I couldn't read that just now (%s). %s",
				   why ? why : kith_strerror(rc), forms);
		free(why);
		return rc;
	}
	c.name = f.name;
	c.location = f.location;
	if (f.date_of_birth) {
		char *dwhy = NULL;

		if (profile_parse_date(f.date_of_birth, today_utc(), iso, &dwhy) == KITH_OK)
			c.date_of_birth = iso;
		else
			(void)buf_printf(&notes, "\nI didn't save the date of birth \"%s\": %s",
					 f.date_of_birth, dwhy ? dwhy : "it isn't a date.");
		free(dwhy);
	}
	if (!c.name && !c.location && !c.date_of_birth) {
		*reply = xasprintf("I couldn't find a name, a place or a date of birth in that.%s "
				   "%s", buf_str(&notes), forms);
		buf_release(&notes);
		profile_fields_release(&f);
		return KITH_EINVAL;
	}
	rc = apply(ctx, user, &c, &b, &why);
	(void)buf_puts(&b, buf_str(&notes));
	buf_release(&notes);
	profile_fields_release(&f);
	return finish(rc, &b, why, reply);
}

/* ---- the command ---------------------------------------------------------- */

/* The value after a keyword: leading ':' / '=' and spaces dropped. */
static const char *value_of(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == ':' || *s == '=')
		s++;
	return s;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static enum kith_status usage(char **reply, const char *what)
{
	*reply = xasprintf("Usage: %s", what);
	return KITH_EINVAL;
}

enum kith_status cmd_profile(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user, *val;
	struct change c = { 0 };
	size_t kw;
	char iso[11], *why = NULL;
	enum kith_status rc;

	if (!cmd_person(ctx, "A profile", &user, reply, &rc))
		return rc;
	if (!*args)
		return show(ctx, user, reply);
	kw = strcspn(args, " \t:=");
	val = value_of(args + kw);
#define IS(word) (kw == strlen(word) && strncasecmp(args, word, kw) == 0)
	if (IS("clear") && !*val) {
		struct store_user_profile empty = { .updated_at = clock_now_ms() };

		rc = store_user_profile_put(ctx->st, user, &empty, &why);

		*reply = rc ? xasprintf("I couldn't clear your profile: %s",
					why ? why : kith_strerror(rc))
			    : xstrdup("Your profile is cleared.");
		free(why);
		return rc;
	}
	if (IS("name")) {
		if (!*val)
			return usage(reply, "`/profile name YOUR NAME`");
		if (strlen(val) > PROFILE_NAME_MAX || !printable(val)) {
			*reply = xasprintf("A name can be up to %d characters on one line.",
					   PROFILE_NAME_MAX);
			return KITH_EINVAL;
		}
		c.name = val;
		return set_one(ctx, user, &c, reply);
	}
	if (IS("location") || IS("city")) {
		if (!*val)
			return usage(reply, "`/profile location CITY, COUNTRY`");
		if (strlen(val) > PROFILE_LOCATION_MAX || !printable(val)) {
			*reply = xasprintf("A location can be up to %d characters on one line.",
					   PROFILE_LOCATION_MAX);
			return KITH_EINVAL;
		}
		c.location = val;
		return set_one(ctx, user, &c, reply);
	}
	if (IS("birthday") || IS("dob") || IS("born") || IS("date_of_birth")) {
		if (!*val)
			return usage(reply, "`/profile birthday 1990-04-02` (or 2 April 1990)");
		rc = profile_parse_date(val, today_utc(), iso, &why);
		if (rc) {
			*reply = xasprintf("%s Write it like 1990-04-02 or 2 April 1990.",
					   why ? why : "I couldn't read that date.");
			free(why);
			return rc;
		}
		c.date_of_birth = iso;
		return set_one(ctx, user, &c, reply);
	}
	if (IS("timezone") || IS("tz") || IS("zone")) {
		struct tz *tz = NULL;
		enum kith_status out;

		if (!*val)
			return usage(reply, "`/profile timezone Area/City` (for example Europe/Lisbon),"
					    " or `/profile timezone auto` to follow your location");
		if (strcasecmp(val, "auto") == 0) {
			c.timezone_auto = true;
			return set_one(ctx, user, &c, reply);
		}
		rc = tz_load(val, &tz, &why);
		if (rc) {
			*reply = xasprintf("\"%.64s\" is not a time zone I know. Use an IANA name "
					   "like Europe/Lisbon or America/New_York.", val);
			free(why);
			return rc;
		}
		c.timezone = tz_name(tz);
		out = set_one(ctx, user, &c, reply);
		tz_free(tz);
		return out;
	}
#undef IS
	if (!printable(args) || strlen(args) > 1000) {
		*reply = xasprintf("That's too long or has odd characters. %s", forms);
		return KITH_EINVAL;
	}
	return free_text(ctx, user, args, reply);
}
