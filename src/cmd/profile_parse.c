/* profile_parse.c — reading what people and the model say about a profile:
 * dates of birth in the usual written forms (checked against the calendar
 * and today), and the utility model's structured answer for free text
 * (cmd_profile.h; fuzz/fuzz_profile.c drives both). */
#include "cmd/cmd_profile.h"

#include "core/alloc.h"
#include "core/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DATE_TEXT_MAX 40

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
