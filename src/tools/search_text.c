/* search_text.c — the text work around a search: redaction, cleaning,
 * blocked domains, the date prefix and the sources list.
 *
 * Penny does these with Python regular expressions; here each one is a
 * small hand-written scanner over bytes, written to give the same result
 * as the expression it replaces (noted beside each) so no regex engine and
 * no backtracking is involved.  Bytes >= 0x80 count as word characters, so
 * a UTF-8 letter never makes a word boundary, as with Python's Unicode \w. */
#include "tools/search.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/tz.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool word_byte(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

static bool space_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- redaction ----------------------------------------------------------- */

/* re.sub(r"\b" + re.escape(term) + r"\b", "", text, flags=re.I) for one term,
 * boundaries taken as "no word byte on either side". */
static void remove_term(struct buf *out, const char *text, const char *term)
{
	size_t tl = strlen(term), n = strlen(text), i = 0;

	while (i < n) {
		if (i + tl <= n && strncasecmp(text + i, term, tl) == 0 &&
		    (i == 0 || !word_byte((unsigned char)text[i - 1])) &&
		    (i + tl == n || !word_byte((unsigned char)text[i + tl]))) {
			i += tl;
			continue;
		}
		(void)buf_append(out, text + i, 1);
		i++;
	}
}

/* re.sub(r"\s{2,}", " ", text).strip() */
static char *collapse_spaces(const char *text)
{
	struct buf out = BUF_INIT(0);
	const char *p = text;

	while (*p && space_byte((unsigned char)*p))
		p++;
	while (*p) {
		if (space_byte((unsigned char)*p)) {
			const char *q = p;

			while (*q && space_byte((unsigned char)*q))
				q++;
			if (!*q)
				break;
			if (q - p >= 2)
				(void)buf_puts(&out, " ");
			else
				(void)buf_append(&out, p, 1);
			p = q;
			continue;
		}
		(void)buf_append(&out, p, 1);
		p++;
	}
	return buf_detach(&out);
}

char *search_redact(const char *text, const char *const *terms)
{
	char *cur = xstrdup(text ? text : ""), *res;

	for (size_t i = 0; terms && terms[i]; i++) {
		struct buf out = BUF_INIT(0);

		if (!*terms[i])
			continue;
		remove_term(&out, cur, terms[i]);
		free(cur);
		cur = buf_detach(&out);
	}
	res = collapse_spaces(cur);
	free(cur);
	return res;
}

static bool contains_word(const char *text, const char *term)
{
	size_t tl = strlen(term), n = strlen(text);

	for (size_t i = 0; tl && i + tl <= n; i++) {
		if (strncasecmp(text + i, term, tl) == 0 &&
		    (i == 0 || !word_byte((unsigned char)text[i - 1])) &&
		    (i + tl == n || !word_byte((unsigned char)text[i + tl])))
			return true;
	}
	return false;
}

static void terms_push(char ***v, size_t *n, size_t *cap, char *s)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcasecmp((*v)[i], s) == 0) {
			free(s);
			return;
		}
	}
	*v = xgrow(*v, cap, *n + 2, sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

char **search_redact_terms(const char *name, const char *message)
{
	char **v = NULL, *whole;
	size_t n = 0, cap = 0;
	const char *p;

	if (!name)
		return NULL;
	whole = collapse_spaces(name);
	if (!*whole) {
		free(whole);
		return NULL;
	}
	terms_push(&v, &n, &cap, whole);
	for (p = v[0]; *p;) {
		const char *q;

		while (*p && !word_byte((unsigned char)*p))
			p++;
		for (q = p; *q && word_byte((unsigned char)*q); q++)
			;
		if (q - p >= 2)
			terms_push(&v, &n, &cap, xstrndup(p, (size_t)(q - p)));
		p = q;
	}
	/* Penny: a user who names themselves is asking about that name. */
	for (size_t i = 0; message && i < n; i++) {
		if (contains_word(message, v[i])) {
			search_terms_free(v);
			return NULL;
		}
	}
	return v;
}

void search_terms_free(char **terms)
{
	for (size_t i = 0; terms && terms[i]; i++)
		free(terms[i]);
	free(terms);
}

/* ---- cleaning ------------------------------------------------------------ */

/* r"\[[\w:]+(?::\d+)?\]" → "" — any bracket holding only word bytes and
 * colons ([1], [web:3]).  A bracket followed by "(" is a Markdown link and
 * is left alone. */
static size_t citation_at(const char *s)
{
	size_t i = 1;

	if (s[0] != '[')
		return 0;
	while (word_byte((unsigned char)s[i]) || s[i] == ':')
		i++;
	if (i == 1 || s[i] != ']' || s[i + 1] == '(')
		return 0;
	return i + 1;
}

/* r"\*{1,3}(.+?)\*{1,3}" → r"\1" at s (s[0] == '*'), with the regex's
 * backtracking: opening run greedy (3, 2, 1), content lazy (shortest, at
 * least one byte, no newline), closing run greedy.  Returns the match
 * length, 0 for none; *c0 and *c1 get the content span. */
static size_t emphasis_at(const char *s, size_t *c0, size_t *c1)
{
	size_t run = 0;

	while (run < 3 && s[run] == '*')
		run++;
	for (size_t k = run; k >= 1; k--) {
		for (size_t e = k + 1; s[e - 1] && s[e - 1] != '\n' && s[e]; e++) {
			size_t close = 0;

			if (s[e] == '\n')
				break;
			if (s[e] != '*')
				continue;
			while (close < 3 && s[e + close] == '*')
				close++;
			*c0 = k;
			*c1 = e;
			return e + close;
		}
	}
	return 0;
}

/* Each strip_* below is one re.sub() over the whole text. */
static char *strip_citations(const char *t)
{
	struct buf out = BUF_INIT(0);

	while (*t) {
		size_t m = citation_at(t);

		if (m) {
			t += m;
			continue;
		}
		(void)buf_append(&out, t++, 1);
	}
	return buf_detach(&out);
}

static char *strip_emphasis(const char *t)
{
	struct buf out = BUF_INIT(0);

	while (*t) {
		size_t c0, c1, m = *t == '*' ? emphasis_at(t, &c0, &c1) : 0;

		if (m) {
			(void)buf_append(&out, t + c0, c1 - c0);
			t += m;
			continue;
		}
		(void)buf_append(&out, t++, 1);
	}
	return buf_detach(&out);
}

/* At each line start, drop r"#{1,6}[ \t]+" (headings) or r"[-*][ \t]+"
 * (bullets), as `headings` says. */
static char *strip_line_marks(const char *t, bool headings)
{
	struct buf out = BUF_INIT(0);
	bool bol = true;

	while (*t) {
		if (bol) {
			size_t k = 0;

			if (headings)
				while (k < 6 && t[k] == '#')
					k++;
			else if (*t == '-' || *t == '*')
				k = 1;
			if (k && (t[k] == ' ' || t[k] == '\t')) {
				while (t[k] == ' ' || t[k] == '\t')
					k++;
				t += k;
			}
		}
		bol = *t == '\n';
		if (*t)
			(void)buf_append(&out, t++, 1);
	}
	return buf_detach(&out);
}

/* re.sub(r"\n{3,}", "\n\n", t).strip() */
static char *squeeze_newlines(const char *t)
{
	struct buf out = BUF_INIT(0);
	size_t end;

	while (*t && space_byte((unsigned char)*t))
		t++;
	end = strlen(t);
	while (end && space_byte((unsigned char)t[end - 1]))
		end--;
	for (size_t i = 0; i < end;) {
		size_t j = i;

		while (j < end && t[j] == '\n')
			j++;
		if (j - i >= 3) {
			(void)buf_puts(&out, "\n\n");
			i = j;
			continue;
		}
		(void)buf_append(&out, t + i, 1);
		i++;
	}
	return buf_detach(&out);
}

char *search_clean_text(const char *text)
{
	char *a = strip_citations(text ? text : ""), *b, *c, *d, *e;

	b = strip_line_marks(a, true);
	c = strip_emphasis(b);
	d = strip_line_marks(c, false);
	e = squeeze_newlines(d);
	free(a);
	free(b);
	free(c);
	free(d);
	return e;
}

/* ---- URLs ---------------------------------------------------------------- */

/* The host of an http(s)-style URL as a slice: after "://", before any of
 * "/?#", without userinfo and port. */
static struct slice url_host(const char *url)
{
	const char *p = strstr(url, "://"), *end, *at;

	if (!p)
		return slice_of(NULL, 0);
	p += 3;
	end = p + strcspn(p, "/?#");
	for (at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	for (at = p; at < end && *at != ':'; at++)
		;
	return slice_of(p, (size_t)(at - p));
}

bool search_url_blocked(const char *url, const char *const *blocked)
{
	struct slice h;

	if (!url || !blocked)
		return false;
	h = url_host(url);
	while (h.n && h.p[h.n - 1] == '.')
		h.n--;
	for (size_t i = 0; h.n && blocked[i]; i++) {
		const char *d = blocked[i];
		size_t dl;

		while (*d == '.')
			d++;
		dl = strlen(d);
		if (!dl || dl > h.n)
			continue;
		if (strncasecmp(h.p + h.n - dl, d, dl) == 0 &&
		    (dl == h.n || h.p[h.n - dl - 1] == '.'))
			return true;
	}
	return false;
}

char *search_sources_block(const char *const *sources, size_t n)
{
	struct buf out = BUF_INIT(0);

	if (!n)
		return NULL;
	(void)buf_puts(&out, "Sources:");
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(&out, "\n%zu. %s", i + 1, sources[i]);
	return buf_detach(&out);
}

static bool has_url(const char *s)
{
	for (; *s; s++)
		if ((strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0))
			return true;
	return false;
}

char *search_append_source(const char *reply, const char *const *sources, size_t n)
{
	if (!reply)
		reply = "";
	if (!n || !sources[0] || has_url(reply))
		return xstrdup(reply);
	if (!*reply)
		return xstrdup(sources[0]);
	return xasprintf("%s\n\n%s", reply, sources[0]);
}

char *search_format_for_model(const struct search_result *r)
{
	struct buf out = BUF_INIT(0);
	char *block;

	if (!r->text)
		return xasprintf("Failed to search: %s", r->error ? r->error : "unknown error");
	(void)buf_puts(&out, r->text);
	block = search_sources_block((const char *const *)r->sources, r->nsources);
	if (block)
		(void)buf_printf(&out, "\n\n%s", block);
	free(block);
	(void)buf_puts(&out, "\n\nThat is what the web says. Do not search again: write your "
			     "answer now from these results.");
	return buf_detach(&out);
}

/* ---- date prefix --------------------------------------------------------- */

char *search_date_prefix(const char *zone, int64_t now_ms)
{
	static const char *const months[] = {
		"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December",
	};
	struct tm tm;
	char abbr[TZ_ABBR_SIZE];
	long off;

	if (!zone || !*zone ||
	    tz_localtime_named(zone, now_ms / 1000, &tm, &off, abbr, NULL) != KITH_OK) {
		if (tz_localtime_named("UTC", now_ms / 1000, &tm, &off, abbr, NULL) != KITH_OK)
			return xstrdup("");
	}
	if (tm.tm_mon < 0 || tm.tm_mon > 11)
		return xstrdup("");
	return xasprintf("[Today is %s %02d, %d] ", months[tm.tm_mon], tm.tm_mday,
			 tm.tm_year + 1900);
}
