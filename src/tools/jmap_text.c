/* jmap_text.c — email as text a model can read: HTML bodies reduced to
 * their text, bodies cut on character boundaries, UTC dates for filters,
 * and the tools' output lines. */
#include "tools/jmap.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- text ------------------------------------------------------------------ */

bool jmap_valid_id(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return false;
	return n >= 1 && n <= JMAP_ID_MAX;
}

static void put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	(void)buf_append(b, u, n);
}

/* An entity at s (just after '&'): appends its text and returns the bytes
 * used after the '&', or 0 when it is not one we decode. */
static size_t entity(const char *s, size_t n, struct buf *b)
{
	static const struct { const char *name; const char *text; } named[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" },
		{ "#39;", "'" }, { "apos;", "'" }, { "nbsp;", " " },
	};

	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++) {
		size_t k = strlen(named[i].name);

		if (n >= k && strncasecmp(s, named[i].name, k) == 0) {
			(void)buf_puts(b, named[i].text);
			return k;
		}
	}
	if (n >= 3 && s[0] == '#') {
		bool hex = s[1] == 'x' || s[1] == 'X';
		size_t j = hex ? 2 : 1, start = j;
		unsigned long cp = 0;

		for (; j < n && j < start + 7 && (hex ? isxdigit((unsigned char)s[j])
						     : isdigit((unsigned char)s[j])); j++)
			cp = cp * (hex ? 16 : 10) +
			     (unsigned long)(isdigit((unsigned char)s[j])
						     ? s[j] - '0' : (tolower((unsigned char)s[j]) - 'a' + 10));
		if (j > start && j < n && s[j] == ';') {
			put_utf8(b, cp);
			return j + 1;
		}
	}
	return 0;
}

/* Whether the tag name at s (after '<' and an optional '/') is `name`. */
static bool tag_is(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(s, name, k) == 0 &&
	       (isspace((unsigned char)s[k]) || s[k] == '>' || s[k] == '/');
}

static bool breaks_line(const char *s, size_t n)
{
	static const char *const tags[] = { "br", "p", "div", "tr", "li", "h1", "h2", "h3",
					    "h4", "h5", "h6", "table", "ul", "ol", "blockquote" };

	if (n && *s == '/') {
		s++;
		n--;
	}
	for (size_t i = 0; i < sizeof(tags) / sizeof(*tags); i++)
		if (tag_is(s, n, tags[i]))
			return true;
	return false;
}

/* Squeeze the raw text: spaces and tabs run into one, blank lines into at
 * most one, lines trimmed. */
static char *squeeze(const char *s, size_t n)
{
	struct buf b = BUF_INIT(0);
	int newlines = 0;
	bool space = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			newlines++;
			space = false;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			space = true;
		} else {
			if (b.len && newlines)
				(void)buf_puts(&b, newlines > 1 ? "\n\n" : "\n");
			else if (b.len && space)
				(void)buf_puts(&b, " ");
			newlines = 0;
			space = false;
			(void)buf_append(&b, s + i, 1);
		}
	}
	return buf_detach(&b);
}

char *jmap_html_text(const char *html, size_t n)
{
	struct buf raw = BUF_INIT(0);
	const char *skip_until = NULL;   /* inside <script> or <style> */
	size_t i = 0;
	char *out;

	while (i < n) {
		if (html[i] == '<') {
			const char *t = html + i + 1;
			size_t left = n - i - 1;
			const char *end = memchr(t, '>', left);
			size_t len = end ? (size_t)(end - t) : left;

			if (skip_until) {
				if (left > 1 && *t == '/' && tag_is(t + 1, left - 1, skip_until))
					skip_until = NULL;
			} else if (left >= 3 && strncmp(t, "!--", 3) == 0) {
				const char *close = NULL;

				for (size_t k = 3; k + 2 < left; k++)
					if (t[k] == '-' && t[k + 1] == '-' && t[k + 2] == '>') {
						close = t + k;
						break;
					}
				i = close ? (size_t)(close - html) + 3 : n;
				continue;
			} else if (tag_is(t, left, "script")) {
				skip_until = "script";
			} else if (tag_is(t, left, "style")) {
				skip_until = "style";
			} else if (breaks_line(t, left)) {
				(void)buf_puts(&raw, "\n");
			} else if (tag_is(t, left, "td") || tag_is(t, left, "th")) {
				(void)buf_puts(&raw, " ");
			}
			i += 1 + len + (end ? 1 : 0);
			continue;
		}
		if (skip_until) {
			i++;
			continue;
		}
		if (html[i] == '&') {
			size_t used = entity(html + i + 1, n - i - 1, &raw);

			if (used) {
				i += 1 + used;
				continue;
			}
		}
		(void)buf_append(&raw, html + i, 1);
		i++;
	}
	out = squeeze(buf_str(&raw), raw.len);
	buf_release(&raw);
	return out;
}

char *jmap_truncate(const char *s, size_t max_chars)
{
	size_t chars = 0, i = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue;
		if (chars == max_chars)
			return xasprintf("%.*s\n\n[truncated]", (int)i, s);
		chars++;
	}
	return xstrdup(s);
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool date_ok(const char *s)
{
	int mo, d;

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return false;
	mo = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

static bool time_ok(const char *s)
{
	return digits(s, 2) && s[2] == ':' && digits(s + 3, 2) && s[5] == ':' && digits(s + 6, 2) &&
	       (s[0] - '0') * 10 + (s[1] - '0') <= 23 && (s[3] - '0') * 10 + (s[4] - '0') <= 59 &&
	       (s[6] - '0') * 10 + (s[7] - '0') <= 60;
}

enum kith_status jmap_utc_date(const char *s, char **out, char **why)
{
	size_t n = s ? strlen(s) : 0, k = 19;

	*out = NULL;
	if (n == 10 && date_ok(s)) {
		*out = xasprintf("%sT00:00:00Z", s);
		return KITH_OK;
	}
	if (n >= 20 && date_ok(s) && (s[10] == 'T' || s[10] == 't') && time_ok(s + 11)) {
		if (s[k] == '.')
			for (k++; k < n && isdigit((unsigned char)s[k]); k++)
				;
		if (k + 1 == n && (s[k] == 'Z' || s[k] == 'z')) {
			*out = xasprintf("%.10sT%.8sZ", s, s + 11);
			return KITH_OK;
		}
	}
	return kith_why(why, KITH_EINVAL, "'%.40s' is not a UTC date: use YYYY-MM-DD or "
			"YYYY-MM-DDTHH:MM:SSZ", s ? s : "");
}

char *jmap_format_search(const struct jmap_emails *e)
{
	struct buf b = BUF_INIT(0);

	if (!e->n)
		return xstrdup("No emails matched that search.");
	(void)buf_printf(&b, "Found %zu email(s):\n\n", e->n);
	for (size_t i = 0; i < e->n; i++) {
		const struct jmap_email *m = &e->v[i];

		(void)buf_printf(&b, "%s[%s] %s from %s: %s\n%s", i ? "\n\n" : "", m->id,
				 m->received_at, *m->from ? m->from : "(unknown sender)",
				 *m->subject ? m->subject : "(no subject)", m->preview);
	}
	return buf_detach(&b);
}

char *jmap_format_read(const struct jmap_emails *e)
{
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; i < e->n; i++) {
		const struct jmap_email *m = &e->v[i];

		(void)buf_printf(&b, "%sSubject: %s\nFrom: %s\nDate: %s\n\n%s", i ? "\n\n---\n\n" : "",
				 *m->subject ? m->subject : "(no subject)",
				 *m->from ? m->from : "(unknown sender)", m->received_at,
				 m->body && *m->body ? m->body : "(no text body)");
	}
	if (e->nnot_found) {
		(void)buf_puts(&b, b.len ? "\n\n---\n\nNot found: " : "No email was found with the "
			       "id(s): ");
		for (size_t i = 0; i < e->nnot_found; i++)
			(void)buf_printf(&b, "%s%s", i ? ", " : "", e->not_found[i]);
	}
	if (!b.len)
		(void)buf_puts(&b, "No emails were found with those ids.");
	return buf_detach(&b);
}
