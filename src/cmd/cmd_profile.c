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
#define DATE_TEXT_MAX 40

static const char forms[] =
	"Set one thing at a time: `/profile name Ana`, `/profile location Lisbon, Portugal`, "
	"`/profile birthday 1988-05-03`, `/profile timezone Europe/Lisbon`; "
	"`/profile clear` removes it all.";

/* ---- dates ---------------------------------------------------------------- */

static const char *const months[12] = {
	"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December",
};

static int days_in(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* A month word: the full name or a prefix of at least three letters
 * ("Sept", "apr"); 1..12, or 0. */
static int month_of(const char *w, size_t n)
{
	if (n < 3)
		return 0;
	for (int i = 0; i < 12; i++)
		if (n <= strlen(months[i]) && strncasecmp(w, months[i], n) == 0)
			return i + 1;
	return 0;
}

/* Digits only, at most `max` of them → value; -1 otherwise. */
static int number_of(const char *w, size_t n, size_t max)
{
	int v = 0;

	if (n == 0 || n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)w[i]))
			return -1;
		v = v * 10 + (w[i] - '0');
	}
	return v;
}

/* "2nd", "31st": the day number with its suffix dropped. */
static int ordinal_of(const char *w, size_t n)
{
	if (n > 2 && (strncasecmp(w + n - 2, "st", 2) == 0 || strncasecmp(w + n - 2, "nd", 2) == 0 ||
		      strncasecmp(w + n - 2, "rd", 2) == 0 || strncasecmp(w + n - 2, "th", 2) == 0))
		return number_of(w, n - 2, 2);
	return -1;
}

static enum kith_status check_date(int y, int m, int d, int today, char out[11], char **why)
{
	if (m < 1 || m > 12 || d < 1 || y < 1 || y > 9999 || d > days_in(y, m))
		return kith_why(why, KITH_EINVAL, "That date doesn't exist.");
	if (y < 1900)
		return kith_why(why, KITH_EINVAL, "That date is too long ago.");
	if (y * 10000 + m * 100 + d > today)
		return kith_why(why, KITH_EINVAL, "That date is in the future.");
	snprintf(out, 11, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
	return KITH_OK;
}

/* Three numbers separated by one kind of separator: "1990-04-02",
 * "02.04.1990", "02/04/1990".  KITH_ENOTFOUND when the text is not of that
 * shape (the caller tries words next). */
static enum kith_status numeric_date(const char *s, int today, char out[11], char **why)
{
	int v[3];
	size_t pos = 0, len[3];
	char sep = 0;

	for (int k = 0; k < 3; k++) {
		size_t n = strspn(s + pos, "0123456789");

		if (!n || n > 4)
			return KITH_ENOTFOUND;
		v[k] = number_of(s + pos, n, 4);
		len[k] = n;
		pos += n;
		if (k < 2) {
			if (!strchr("-./", s[pos]) || !s[pos] || (sep && s[pos] != sep))
				return KITH_ENOTFOUND;
			sep = s[pos++];
		}
	}
	if (s[pos])
		return KITH_ENOTFOUND;
	if (len[0] == 4 && len[1] <= 2 && len[2] <= 2)               /* Y-M-D */
		return check_date(v[0], v[1], v[2], today, out, why);
	if (len[2] != 4 || len[0] > 2 || len[1] > 2)
		return kith_why(why, KITH_EINVAL, "I couldn't read that date.");
	if (sep == '/') {
		if (v[0] > 12 && v[1] <= 12)
			return check_date(v[2], v[1], v[0], today, out, why);  /* D/M/Y */
		if (v[1] > 12 && v[0] <= 12)
			return check_date(v[2], v[0], v[1], today, out, why);  /* M/D/Y */
		return kith_why(why, KITH_EINVAL,
				"Is that day/month or month/day? Write it as 1990-04-02 or "
				"2 April 1990.");
	}
	return check_date(v[2], v[1], v[0], today, out, why);          /* D.M.Y, D-M-Y */
}

enum kith_status profile_parse_date(const char *text, int today, char out[11], char **why)
{
	char buf[DATE_TEXT_MAX + 1];
	size_t n = text ? strlen(text) : 0, a = 0;
	int y = -1, m = 0, d = -1, words = 0;
	enum kith_status rc;

	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	while (a < n && isspace((unsigned char)text[a]))
		a++;
	if (a == n)
		return kith_why(why, KITH_EINVAL, "Which date?");
	if (n - a > DATE_TEXT_MAX)
		return kith_why(why, KITH_EINVAL, "I couldn't read that date.");
	memcpy(buf, text + a, n - a);
	buf[n - a] = '\0';
	rc = numeric_date(buf, today, out, why);
	if (rc != KITH_ENOTFOUND)
		return rc;
	/* Words: one month name, one day, one four-digit year, in any order;
	 * "the" and "of" are filler. */
	for (const char *p = buf; *p;) {
		size_t wn;
		int v;

		p += strspn(p, " \t,.");
		wn = strcspn(p, " \t,.");
		if (!wn)
			break;
		if (++words > 6)
			return kith_why(why, KITH_EINVAL, "I couldn't read that date.");
		if ((wn == 3 && strncasecmp(p, "the", 3) == 0) ||
		    (wn == 2 && strncasecmp(p, "of", 2) == 0)) {
			/* filler */
		} else if (month_of(p, wn)) {
			if (m)
				return kith_why(why, KITH_EINVAL, "I couldn't read that date.");
			m = month_of(p, wn);
		} else if (wn == 4 && (v = number_of(p, wn, 4)) >= 0) {
			if (y >= 0)
				return kith_why(why, KITH_EINVAL, "I couldn't read that date.");
			y = v;
		} else if ((v = number_of(p, wn, 2)) >= 0 || (v = ordinal_of(p, wn)) >= 0) {
			if (d >= 0)
				return kith_why(why, KITH_EINVAL, "I couldn't read that date.");
			d = v;
		} else {
			return kith_why(why, KITH_EINVAL, "I couldn't read that date.");
		}
		p += wn;
	}
	if (!m || y < 0 || d < 0)
		return kith_why(why, KITH_EINVAL,
				"I need a day, a month and a year, like 1990-04-02 or 2 April 1990.");
	return check_date(y, m, d, today, out, why);
}

bool profile_format_date(const char *iso, char *out, size_t n)
{
	int y, m, d;

	if (!iso || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-')
		return false;
	y = number_of(iso, 4, 4);
	m = number_of(iso + 5, 2, 2);
	d = number_of(iso + 8, 2, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in(y, m))
		return false;
	snprintf(out, n, "%d %s %d", d, months[m - 1], y);
	return true;
}

static int today_utc(void)
{
	time_t t = (time_t)(clock_now_ms() / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* ---- the model's answer --------------------------------------------------- */

/* Trimmed copy of s, or NULL when empty, longer than max or holding control
 * characters. */
static char *clean(const char *s, size_t max)
{
	size_t a = 0, n;

	if (!s)
		return NULL;
	n = strlen(s);
	while (a < n && isspace((unsigned char)s[a]))
		a++;
	while (n > a && isspace((unsigned char)s[n - 1]))
		n--;
	if (a == n || n - a > max)
		return NULL;
	for (size_t i = a; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return xstrndup(s + a, n - a);
}

void profile_fields_release(struct profile_fields *f)
{
	free(f->name);
	free(f->location);
	free(f->date_of_birth);
	memset(f, 0, sizeof(*f));
}

enum kith_status profile_parse_fields(const char *text, size_t n, struct profile_fields *out,
				      char **why)
{
	size_t a = 0;
	json_t *root;
	char *perr = NULL;

	memset(out, 0, sizeof(*out));
	while (a < n && isspace((unsigned char)text[a]))
		a++;
	while (n > a && isspace((unsigned char)text[n - 1]))
		n--;
	/* ```json … ``` */
	if (n - a >= 6 && memcmp(text + a, "```", 3) == 0 && memcmp(text + n - 3, "```", 3) == 0) {
		const char *nl = memchr(text + a, '\n', n - a - 3);

		if (!nl)
			return kith_why(why, KITH_EPROTO, "the answer is not a JSON object");
		a = (size_t)(nl - text) + 1;
		n -= 3;
	}
	root = kjson_parse(text + a, n > a ? n - a : 0, &perr);
	if (!json_is_object(root)) {
		json_decref(root);
		if (perr)
			kith_why(why, KITH_EPROTO, "the answer is not JSON: %s", perr);
		free(perr);
		return kith_why(why, KITH_EPROTO, "the answer is not a JSON object");
	}
	out->name = clean(kjson_str(root, "name"), PROFILE_NAME_MAX);
	out->location = clean(kjson_str(root, "location"), PROFILE_LOCATION_MAX);
	out->date_of_birth = clean(kjson_str(root, "date_of_birth"), DATE_TEXT_MAX);
	json_decref(root);
	return KITH_OK;
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
