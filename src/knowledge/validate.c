/* validate.c — the pure text tests of extraction: the structural filter
 * for entity names, tokens and the token containment ratio (TCR) used by
 * entity dedup, fact normalisation and cosine similarity.
 *
 * Byte-oriented on purpose: names are UTF-8, and only ASCII is case-folded
 * or treated as punctuation; the Unicode dashes models like to emit are
 * mapped to '-' first, which covers what the reference's NFKD step was for
 * in practice ("gpt‑4o" vs "gpt-4o"). */
#include "knowledge/knowledge.h"

#include "core/alloc.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

static const char *const stopwords[] = {
	"a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "with", "by",
	"from", "is", "are", "was", "it", "this", "that", "these", "those", "my", "your",
	"our", "their", "its", "some", "any", "all", "new", "thing", "things", "stuff", NULL,
};

/* Names that mean a party of the conversation, not a topic. */
static const char *const selfnames[] = {
	"i", "me", "you", "user", "the user", "assistant", "the assistant", "kith", "penny",
	"we", "us", "myself", "yourself", NULL,
};

static const char *const months[] = {
	"january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun",
	"jul", "aug", "sep", "sept", "oct", "nov", "dec", NULL,
};

/* Substrings that only appear when a model echoes its template. */
static const char *const artefacts[] = {
	"{topic}", "{description}", "confidence score:", "-brief:", "fill_me_in",
	"placeholder", "<example>", "lorem ipsum", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

char *knowledge_name_norm(const char *name)
{
	size_t n = strlen(name), o = 0;
	char *out = xmalloc(n + 1);
	bool space = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (isspace(c)) {
			space = o > 0;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = false;
		out[o++] = (char)tolower(c);
	}
	while (o > 0 && out[o - 1] == '.')
		o--;
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/* Copy with U+2010/2011/2013/2014 → '-', '_' → ' ', lower-case ASCII. */
static char *fold(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80) {
			unsigned char d = (unsigned char)s[i + 2];

			if (d == 0x90 || d == 0x91 || d == 0x93 || d == 0x94) {
				out[o++] = ' ';
				i += 2;
				continue;
			}
		}
		out[o++] = c == '_' || c == '-' ? ' ' : (char)tolower(c);
	}
	out[o] = '\0';
	return out;
}

static bool is_trim_punct(unsigned char c)
{
	return c && strchr(".,;:!?'\"()[]{}*`", c) != NULL;
}

size_t knowledge_tokens(const char *s, char **buf, char ***toks)
{
	char *b = fold(s ? s : "");
	size_t n = 0, cap = 0, len = strlen(b);
	char **t = NULL;

	for (size_t i = 0; i < len;) {
		size_t start, end;

		while (i < len && isspace((unsigned char)b[i]))
			i++;
		start = i;
		while (i < len && !isspace((unsigned char)b[i]))
			i++;
		end = i;
		if (i < len)
			b[i++] = '\0';
		while (start < end && is_trim_punct((unsigned char)b[start]))
			start++;
		while (end > start && is_trim_punct((unsigned char)b[end - 1]))
			b[--end] = '\0';
		/* A trailing 20xx year: "agentica2026" → "agentica", "2026" → "". */
		if (end - start >= 4 && b[end - 4] == '2' && b[end - 3] == '0' &&
		    isdigit((unsigned char)b[end - 2]) && isdigit((unsigned char)b[end - 1])) {
			end -= 4;
			b[end] = '\0';
		}
		if (end == start)
			continue;
		t = xgrow(t, &cap, n + 1, sizeof(*t));
		t[n++] = b + start;
	}
	*buf = b;
	*toks = t;
	return n;
}

/* Distinct tokens, in place; returns the new count. */
static size_t uniq(char **t, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t k = 0; k < o && !seen; k++)
			seen = strcmp(t[k], t[i]) == 0;
		if (!seen)
			t[o++] = t[i];
	}
	return o;
}

double knowledge_tcr(const char *a, const char *b)
{
	char *ba, *bb, **ta, **tb, **sm, **lg;
	size_t na, nb, ns, nl, hit = 0;

	/* Two statements each: the order in which a call's arguments are
	 * evaluated is unspecified, and uniq must see the filled array. */
	na = knowledge_tokens(a, &ba, &ta);
	na = uniq(ta, na);
	nb = knowledge_tokens(b, &bb, &tb);
	nb = uniq(tb, nb);
	sm = na <= nb ? ta : tb;
	ns = na <= nb ? na : nb;
	lg = na <= nb ? tb : ta;
	nl = na <= nb ? nb : na;
	for (size_t i = 0; i < ns; i++)
		for (size_t k = 0; k < nl; k++)
			if (strcmp(sm[i], lg[k]) == 0) {
				hit++;
				break;
			}
	free(ba);
	free(bb);
	free(ta);
	free(tb);
	return ns ? (double)hit / (double)ns : 0.0;
}

bool knowledge_tcr_pass(const char *a, const char *b, double threshold)
{
	char *ba, *bb, **ta, **tb;
	size_t na = knowledge_tokens(a, &ba, &ta), nb = knowledge_tokens(b, &bb, &tb);

	free(ba);
	free(bb);
	free(ta);
	free(tb);
	if (na <= 1 || nb <= 1)
		return true;
	return knowledge_tcr(a, b) >= threshold;
}

char *knowledge_name_key(const char *name)
{
	char *b, **t, *out;
	size_t n = knowledge_tokens(name, &b, &t), len = 0, o = 0;

	for (size_t i = 0; i < n; i++)
		len += strlen(t[i]) + 1;
	out = xmalloc(len + 1);
	for (size_t i = 0; i < n; i++) {
		size_t l;

		if (in_list(stopwords, t[i]))
			continue;
		l = strlen(t[i]);
		if (o)
			out[o++] = ' ';
		memcpy(out + o, t[i], l);
		o += l;
	}
	out[o] = '\0';
	if (!o) {          /* only stopwords: keep them, it is still a key */
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(t[i]);

			if (o)
				out[o++] = ' ';
			memcpy(out + o, t[i], l);
			o += l;
		}
		out[o] = '\0';
	}
	free(b);
	free(t);
	return out;
}

static bool is_bare_number(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.' && *s != ',')
			return false;
	return true;
}

/* 2024-03-01, 2024/3/1, 1/3/24, 01-03-2024, q1 2024. */
static bool is_date(const char *s)
{
	int d1 = 0, d2 = 0, d3 = 0, k = 0;
	char sep = 0;
	const char *p = s;

	if (p[0] == 'q' && p[1] >= '1' && p[1] <= '4') {
		p += 2;
		while (*p == ' ')
			p++;
		for (k = 0; isdigit((unsigned char)p[k]); k++)
			;
		return k == 4 && !p[k];
	}
	for (; isdigit((unsigned char)*p); p++)
		d1++;
	if (*p != '-' && *p != '/')
		return false;
	sep = *p++;
	for (; isdigit((unsigned char)*p); p++)
		d2++;
	if (*p != sep)
		return false;
	p++;
	for (; isdigit((unsigned char)*p); p++)
		d3++;
	if (*p)
		return false;
	return (d1 == 4 && d2 >= 1 && d2 <= 2 && d3 >= 1 && d3 <= 2) ||
	       (d1 >= 1 && d1 <= 2 && d2 >= 1 && d2 <= 2 && d3 >= 2 && d3 <= 4);
}

bool knowledge_name_valid(const char *name)
{
	char *n, *b, **t;
	size_t words = 0, ntok, content = 0, len;
	bool ok = false, alnum = false;

	if (!name)
		return false;
	n = knowledge_name_norm(name);
	len = strlen(n);
	if (!len || len > KX_MAX_NAME)
		goto out;
	for (size_t i = 0; i < len; i++) {
		if (i == 0 || (n[i - 1] == ' ' && n[i] != ' '))
			words++;
		if (isalnum((unsigned char)n[i]) || (unsigned char)n[i] >= 0x80)
			alnum = true;
	}
	if (words > 8 || !alnum || is_bare_number(n) || is_date(n) || in_list(months, n) ||
	    in_list(selfnames, n))
		goto out;
	if (strstr(n, "http://") || strstr(n, "https://") || strstr(n, "www.") ||
	    strstr(n, "**") || strstr(n, "](") || strchr(n, '\n') || strchr(n, '<') ||
	    strchr(n, '>') || strchr(n, '{') || strchr(n, '}') || strchr(n, '|'))
		goto out;
	for (size_t i = 0; artefacts[i]; i++)
		if (strstr(n, artefacts[i]))
			goto out;
	{       /* "1. foo": list numbering */
		size_t i = 0;

		while (isdigit((unsigned char)n[i]))
			i++;
		if (i > 0 && n[i] == '.' && n[i + 1])
			goto out;
	}
	ntok = knowledge_tokens(n, &b, &t);
	for (size_t i = 0; i < ntok; i++)
		if (!in_list(stopwords, t[i]) && strcmp(t[i], "todo") != 0 && strcmp(t[i], "tbd") != 0)
			content++;
	free(b);
	free(t);
	ok = content > 0;
out:
	free(n);
	return ok;
}

char *knowledge_fact_norm(const char *fact)
{
	const char *p = fact ? fact : "";
	char *n;
	size_t l;

	while (isspace((unsigned char)*p) || *p == '-' || *p == '*')
		p++;
	n = knowledge_name_norm(p);
	l = strlen(n);
	while (l > 0 && (n[l - 1] == '.' || n[l - 1] == ' '))
		n[--l] = '\0';
	return n;
}

double knowledge_cosine(const float *a, const float *b, size_t n)
{
	double dot = 0, na = 0, nb = 0;

	if (!a || !b || !n)
		return 0.0;
	for (size_t i = 0; i < n; i++) {
		dot += (double)a[i] * b[i];
		na += (double)a[i] * a[i];
		nb += (double)b[i] * b[i];
	}
	if (na <= 0 || nb <= 0)
		return 0.0;
	return dot / (sqrt(na) * sqrt(nb));
}
