/* detect.c — which agent a message asks for: explicit patterns, then
 * keywords.  Pure functions over the text and the candidates.
 *
 * SEL matched with plain substring tests on the lower-cased message, so
 * "because dice" contained "use dice" and the agent's input lost its case.
 * Here every marker must stand as whole words (the characters around it are
 * not letters, digits, '_' or '-'), matching is ASCII case-insensitive, and
 * the input is cut from the original text. */
#include "plugin/plugin.h"
#include "core/alloc.h"

#include <string.h>

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool plugin_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* text[i..] starts with lit (case-insensitive); returns its length or 0. */
static size_t at(const char *text, size_t len, size_t i, const char *lit)
{
	size_t n = strlen(lit);

	if (n == 0 || i + n > len)
		return 0;
	for (size_t k = 0; k < n; k++) {
		if (lower((unsigned char)text[i + k]) != lower((unsigned char)lit[k]))
			return 0;
	}
	return n;
}

static bool starts_word(const char *text, size_t i)
{
	return i == 0 || !name_char((unsigned char)text[i - 1]);
}

static bool ends_word(const char *text, size_t len, size_t i)
{
	return i >= len || !name_char((unsigned char)text[i]);
}

static size_t skip_blanks(const char *text, size_t len, size_t i)
{
	while (i < len && blank((unsigned char)text[i]))
		i++;
	return i;
}

enum pattern { P_AGENT_COLON, P_USE, P_RUN, P_NAME_AGENT, P_NAME_TOOL, P_COUNT };

/* Whether pattern `p` for `name` matches at i; *end receives where the
 * agent's input starts. */
static bool match_at(enum pattern p, const char *name, const char *text, size_t len, size_t i,
		     size_t *end)
{
	static const char *const lead[] = { "agent:", "use", "run" };
	static const char *const tail[] = { "agent", "tool" };
	size_t n, j;

	if (!starts_word(text, i))
		return false;
	if (p <= P_RUN) {
		n = at(text, len, i, lead[p]);
		if (!n)
			return false;
		j = skip_blanks(text, len, i + n);
		if (p != P_AGENT_COLON && j == i + n)
			return false;          /* "use" must be followed by a blank */
		n = at(text, len, j, name);
		if (!n || !ends_word(text, len, j + n))
			return false;
		*end = j + n;
		return true;
	}
	n = at(text, len, i, name);
	if (!n)
		return false;
	j = skip_blanks(text, len, i + n);
	if (j == i + n)
		return false;
	n = at(text, len, j, tail[p - P_NAME_AGENT]);
	if (!n || !ends_word(text, len, j + n))
		return false;
	*end = j + n;
	return true;
}

/* The input after a marker, or the whole (trimmed) message. */
static char *input_from(const char *text, size_t len, size_t from)
{
	size_t b = from, e = len;

	while (b < e && (blank((unsigned char)text[b]) || text[b] == ':' || text[b] == ','))
		b++;
	while (e > b && blank((unsigned char)text[e - 1]))
		e--;
	if (b == e) {
		b = skip_blanks(text, len, 0);
		e = len;
		while (e > b && blank((unsigned char)text[e - 1]))
			e--;
	}
	return xstrndup(text + b, e - b);
}

static void fill(struct plugin_match *out, const char *agent, char *input, enum plugin_how how)
{
	out->agent = xstrdup(agent);
	out->input = input;
	out->how = how;
}

bool plugin_detect_explicit(const struct plugin_candidate *c, size_t n, const char *text,
			    struct plugin_match *out)
{
	size_t len = text ? strlen(text) : 0;

	for (int p = 0; p < P_COUNT; p++) {
		const struct plugin_candidate *best = NULL;
		size_t best_at = 0, best_end = 0;

		for (size_t k = 0; k < n; k++) {
			const char *name = c[k].name;
			size_t end;

			if (!name || !*name)
				continue;
			for (size_t i = 0; i < len; i++) {
				if (best && i > best_at)
					break;
				if (!match_at((enum pattern)p, name, text, len, i, &end))
					continue;
				if (!best || i < best_at ||
				    (i == best_at && strlen(name) > strlen(best->name))) {
					best = &c[k];
					best_at = i;
					best_end = end;
				}
				break;
			}
		}
		if (best) {
			fill(out, best->name, input_from(text, len, best_end), PLUGIN_BY_PATTERN);
			return true;
		}
	}
	return false;
}

/* First whole-word occurrence of kw in text, or -1. */
static long find_word(const char *text, size_t len, const char *kw)
{
	size_t n = strlen(kw);

	if (n == 0)
		return -1;
	for (size_t i = 0; i + n <= len; i++) {
		if (at(text, len, i, kw) && starts_word(text, i) && ends_word(text, len, i + n))
			return (long)i;
	}
	return -1;
}

bool plugin_detect_keyword(const struct plugin_candidate *c, size_t n, const char *text,
			   struct plugin_match *out)
{
	size_t len = text ? strlen(text) : 0, best_len = 0;
	const struct plugin_candidate *best = NULL;
	long best_at = -1;

	for (size_t k = 0; k < n; k++) {
		for (size_t w = 0; c[k].name && c[k].keywords && c[k].keywords[w]; w++) {
			const char *kw = c[k].keywords[w];
			long pos = find_word(text, len, kw);

			if (pos < 0)
				continue;
			if (!best || pos < best_at || (pos == best_at && strlen(kw) > best_len)) {
				best = &c[k];
				best_at = pos;
				best_len = strlen(kw);
			}
		}
	}
	if (!best)
		return false;
	fill(out, best->name, input_from(text, len, len), PLUGIN_BY_KEYWORD);
	return true;
}

void plugin_match_release(struct plugin_match *m)
{
	if (!m)
		return;
	free(m->agent);
	free(m->input);
	m->agent = NULL;
	m->input = NULL;
}

char *plugin_format_result(const char *name, const char *text)
{
	return xasprintf("[%s] %s", name ? name : "?", text ? text : "");
}
