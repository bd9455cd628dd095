/* github_text.c — the text that goes to GitHub and comes back from it:
 * issue titles and bodies made valid UTF-8 within GitHub's limits, and the
 * parsers of GitHub's answers (token, issue, error), which trust nothing
 * (fuzz/fuzz_github.c drives them). */
#include "tools/github.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"

#include <stdint.h>
#include <string.h>

/* ---- the title ------------------------------------------------------------ */

static bool utf8_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one
 * (stray continuation, overlong form, surrogate, past U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (!utf8_cont(p[i]))
			return 0;
	return n;
}

char *github_utf8_clean(const char *s, size_t max)
{
	struct buf b;
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	buf_init(&b, 0);
	while (*p) {
		size_t n = utf8_seq(p);
		const char *add = n ? (const char *)p : "\xEF\xBF\xBD";
		size_t addn = n ? n : 3;

		if (b.len + addn > max)
			break;
		(void)buf_append(&b, add, addn);
		p += n ? n : 1;
	}
	return buf_detach(&b);
}

char *github_issue_title(const char *description)
{
	struct buf b;
	size_t chars = 0, cut = 0, space = 0, i;
	bool pending_space = false;
	const char *s;
	char *t;

	char *clean = github_utf8_clean(description, (size_t)-1);

	/* One line: every run of whitespace or control characters is a space. */
	buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)clean; *p; p++) {
		if (*p <= 0x20 || *p == 0x7F) {
			pending_space = b.len > 0;
			continue;
		}
		if (pending_space)
			(void)buf_append(&b, " ", 1);
		pending_space = false;
		(void)buf_append(&b, p, 1);
	}
	free(clean);
	s = buf_str(&b);
	for (i = 0; s[i]; i++) {
		if (utf8_cont((unsigned char)s[i]))
			continue;
		if (chars == GITHUB_TITLE_CHARS) {
			cut = i;   /* the first byte past the 60th character */
			break;
		}
		if (s[i] == ' ')
			space = i;
		chars++;
	}
	if (!s[i]) {
		t = buf_detach(&b);
	} else {
		if (space > 0)
			cut = space;
		t = xasprintf("%.*s...", (int)cut, s);
		buf_release(&b);
	}
	/* 60 valid characters are at most 243 bytes: a guard, never a cut */
	if (strlen(t) > GITHUB_TITLE_MAX) {
		size_t n = GITHUB_TITLE_MAX;

		while (n && utf8_cont((unsigned char)t[n]))
			n--;
		t[n] = '\0';
	}
	return t;
}

/* ---- the answers ---------------------------------------------------------- */

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F)
			return false;
	return true;
}

enum kith_status github_parse_token(const char *p, size_t n, char **token, char **expires_at,
				    char **why)
{
	json_t *j = kjson_parse(p, n, NULL);
	const char *t, *e;
	enum kith_status rc = KITH_OK;

	*token = NULL;
	if (expires_at)
		*expires_at = NULL;
	if (!json_is_object(j)) {
		rc = kith_why(why, KITH_EPROTO, "GitHub's token answer is not a JSON object");
		goto out;
	}
	t = kjson_str(j, "token");
	if (!t || !*t || strlen(t) > GITHUB_FIELD_MAX || !printable_ascii(t)) {
		rc = kith_why(why, KITH_EPROTO, "GitHub's token answer has no usable token");
		goto out;
	}
	*token = xstrdup(t);
	if (expires_at) {
		e = kjson_str(j, "expires_at");
		*expires_at = xstrdup(e && strlen(e) < 64 && printable_ascii(e) ? e : "");
	}
out:
	json_decref(j);
	return rc;
}

enum kith_status github_parse_issue(const char *p, size_t n, char **html_url, long long *number,
				    char **why)
{
	json_t *j = kjson_parse(p, n, NULL);
	const char *u;
	long long num = 0;
	enum kith_status rc = KITH_OK;

	*html_url = NULL;
	if (number)
		*number = 0;
	if (!json_is_object(j)) {
		rc = kith_why(why, KITH_EPROTO, "GitHub's issue answer is not a JSON object");
		goto out;
	}
	u = kjson_str(j, "html_url");
	if (!u || strlen(u) > GITHUB_FIELD_MAX || !printable_ascii(u) ||
	    (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)) {
		rc = kith_why(why, KITH_EPROTO, "GitHub's issue answer has no usable html_url");
		goto out;
	}
	*html_url = xstrdup(u);
	if (number && kjson_int(j, "number", &num) && num > 0)
		*number = num;
out:
	json_decref(j);
	return rc;
}

char *github_parse_error(const char *p, size_t n)
{
	json_t *j = kjson_parse(p, n, NULL);
	const char *m = json_is_object(j) ? kjson_str(j, "message") : NULL;
	char *out = NULL;
	size_t len;

	if (m && *m) {
		len = strlen(m);
		if (len > 200) {
			len = 200;
			while (len && utf8_cont((unsigned char)m[len]))
				len--;
		}
		out = xstrndup(m, len);
		for (char *c = out; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7F)
				*c = ' ';
	}
	json_decref(j);
	return out;
}
