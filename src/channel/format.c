/* format.c — Markdown to Signal styled text, and tables to bullet lists.
 *
 * Line by line: fenced code blocks, headings, rules, quotes and bullets
 * are decided per line; the rest of a line goes through one inline pass
 * that finds matched pairs of markers and re-emits them in Signal's
 * spelling.  signal-cli-rest-api's parser (utils/textstyleparser.go) is a
 * flat state machine that eats every '*', '`', '~' and '|', so the inline
 * pass keeps one rule: whatever it emits is either a balanced, un-nested
 * marker pair or text without marker characters.  Inside a styled span
 * (and in headings) inner markers are dropped and their text kept; literal
 * markers in text and code become look-alikes; in URLs they are
 * percent-encoded, which leaves the URL meaning the same. */
#include "channel/format.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

size_t fmt_utf8_seq(const char *s, size_t avail)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0)
		n = 2;
	else if ((p[0] & 0xF0) == 0xE0)
		n = 3;
	else if ((p[0] & 0xF8) == 0xF0)
		n = 4;
	else
		return 1;
	if (n > avail)
		return 1;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 1;
	return n;
}

size_t fmt_utf8_len(const char *p, size_t n)
{
	size_t cps = 0;

	for (size_t i = 0; i < n; i += fmt_utf8_seq(p + i, n - i))
		cps++;
	return cps;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (unsigned char)c >= 0x80;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Cut a buffer back to `len` bytes. */
static void chop(struct buf *b, size_t len)
{
	if (b->data && len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* ---- tables ---------------------------------------------------------------- */

struct line {
	const char *p;
	size_t n;
};

static size_t split_lines(const char *s, struct line **out)
{
	size_t count = 0, cap = 0;
	struct line *v = NULL;
	const char *p = s;

	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n && p[n - 1] == '\r')
			n--;
		v = xgrow(v, &cap, count + 1, sizeof(*v));
		v[count++] = (struct line){ p, n };
		if (!nl)
			break;
		p = nl + 1;
	}
	*out = v;
	return count;
}

static struct line trim(struct line l)
{
	while (l.n && is_blank(l.p[0])) {
		l.p++;
		l.n--;
	}
	while (l.n && is_blank(l.p[l.n - 1]))
		l.n--;
	return l;
}

static bool starts_fence(struct line l)
{
	l = trim(l);
	return l.n >= 3 && (memcmp(l.p, "```", 3) == 0 || memcmp(l.p, "~~~", 3) == 0);
}

static bool has_pipe(struct line l)
{
	return memchr(l.p, '|', l.n) != NULL;
}

/* |---|:---:| : only pipes, dashes, colons and blanks, with a dash and a pipe. */
static bool is_separator(struct line l)
{
	bool dash = false, pipe = false;

	for (size_t i = 0; i < l.n; i++) {
		char c = l.p[i];

		if (c == '-')
			dash = true;
		else if (c == '|')
			pipe = true;
		else if (c != ':' && !is_blank(c))
			return false;
	}
	return dash && pipe;
}

/* Cells of a table row, trimmed; "\|" is a literal pipe.  Caller frees. */
static size_t row_cells(struct line l, char ***out)
{
	struct buf cell = BUF_INIT(0);
	char **v = NULL;
	size_t count = 0, cap = 0, i = 0;

	l = trim(l);
	if (l.n && l.p[0] == '|') {
		l.p++;
		l.n--;
	}
	if (l.n && l.p[l.n - 1] == '|' && !(l.n >= 2 && l.p[l.n - 2] == '\\'))
		l.n--;
	for (;;) {
		if (i >= l.n || l.p[i] == '|') {
			struct line c = trim((struct line){ buf_str(&cell), cell.len });

			v = xgrow(v, &cap, count + 1, sizeof(*v));
			v[count++] = xstrndup(c.p, c.n);
			buf_reset(&cell);
			if (i >= l.n)
				break;
			i++;
			continue;
		}
		if (l.p[i] == '\\' && i + 1 < l.n && l.p[i + 1] == '|') {
			(void)buf_append(&cell, "|", 1);
			i += 2;
			continue;
		}
		(void)buf_append(&cell, l.p + i, 1);
		i++;
	}
	buf_release(&cell);
	*out = v;
	return count;
}

static void cells_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *fmt_tables_to_bullets(const char *md)
{
	struct buf out = BUF_INIT(0);
	struct line *lines;
	size_t n = split_lines(md ? md : "", &lines);
	bool fence = false;

	for (size_t i = 0; i < n; i++) {
		char **head = NULL;
		size_t nhead, j;

		if (starts_fence(lines[i]))
			fence = !fence;
		if (fence || !has_pipe(lines[i]) || i + 1 >= n || !is_separator(lines[i + 1]) ||
		    is_separator(lines[i])) {
			(void)buf_append(&out, lines[i].p, lines[i].n);
			if (i + 1 < n)
				(void)buf_puts(&out, "\n");
			continue;
		}
		nhead = row_cells(lines[i], &head);
		for (j = i + 2; j < n && has_pipe(lines[j]) && trim(lines[j]).n; j++) {
			char **cells;
			size_t nc = row_cells(lines[j], &cells);
			bool any = false;

			for (size_t k = 0; k < nc; k++) {
				const char *h = k < nhead ? head[k] : "";

				if (!*cells[k])
					continue;
				(void)buf_puts(&out, any ? ", " : "- ");
				any = true;
				if (*h)
					(void)buf_printf(&out, "%s: ", h);
				(void)buf_puts(&out, cells[k]);
			}
			if (any)
				(void)buf_puts(&out, "\n");
			cells_free(cells, nc);
		}
		cells_free(head, nhead);
		/* The line after the table keeps its own line break. */
		if (j >= n && out.len && buf_str(&out)[out.len - 1] == '\n')
			chop(&out, out.len - 1);
		i = j - 1;
	}
	free(lines);
	return buf_detach(&out);
}

/* ---- inline ----------------------------------------------------------------- */

/* A literal marker character, as a look-alike that Signal will not eat. */
static void put_literal(struct buf *o, char c)
{
	switch (c) {
	case '*':
		(void)buf_puts(o, "\xE2\x88\x97");   /* ∗ U+2217 */
		break;
	case '~':
		(void)buf_puts(o, "\xE2\x88\xBC");   /* ∼ U+223C */
		break;
	case '|':
		(void)buf_puts(o, "\xE2\x88\xA3");   /* ∣ U+2223 */
		break;
	case '`':
		(void)buf_puts(o, "'");
		break;
	default:
		(void)buf_append(o, &c, 1);
	}
}

static bool is_marker(char c)
{
	return c == '*' || c == '~' || c == '|' || c == '`';
}

/* Code text: markers become look-alikes, everything else verbatim. */
static void put_code(struct buf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_marker(s[i]))
			put_literal(o, s[i]);
		else
			(void)buf_append(o, s + i, 1);
}

/* A URL: markers percent-encoded (equivalent for ~, harmless for the rest). */
static void put_url(struct buf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '*': (void)buf_puts(o, "%2A"); break;
		case '~': (void)buf_puts(o, "%7E"); break;
		case '|': (void)buf_puts(o, "%7C"); break;
		case '`': (void)buf_puts(o, "%60"); break;
		default: (void)buf_append(o, s + i, 1);
		}
	}
}

/* Length of a bare URL at s[i] (0 if none): up to whitespace or <>, a ')'
 * only when it closes a '(' inside the URL, trailing punctuation left out. */
static size_t url_at(const char *s, size_t i, size_t n)
{
	size_t j, depth = 0;

	if (i > 0 && is_alnum(s[i - 1]))
		return 0;
	if (!(n - i >= 8 && strncasecmp(s + i, "https://", 8) == 0) &&
	    !(n - i >= 7 && strncasecmp(s + i, "http://", 7) == 0))
		return 0;
	for (j = i; j < n; j++) {
		char c = s[j];

		if (c == ' ' || c == '\t' || c == '\n' || c == '<' || c == '>')
			break;
		if (c == '(')
			depth++;
		if (c == ')') {
			if (!depth)
				break;
			depth--;
		}
	}
	while (j > i && strchr(".,;:!?'\"", s[j - 1]))
		j--;
	return j - i;
}

/* Where the closing `delim` (length dl) of a span opened at `from` is, or
 * -1: the span is non-empty, does not start or end with a blank, and for
 * '_' delimiters the closer is not inside a word. */
static long find_close(const char *s, size_t from, size_t n, const char *delim, size_t dl)
{
	if (from >= n || is_blank(s[from]))
		return -1;
	for (size_t j = from + 1; j + dl <= n; j++) {
		if (memcmp(s + j, delim, dl) != 0)
			continue;
		if (is_blank(s[j - 1]))
			continue;
		if (dl == 1 && j + 1 < n && s[j + 1] == delim[0])
			continue;   /* part of a double marker */
		if (delim[0] == '_' && j + dl < n && is_alnum(s[j + dl]))
			continue;
		return (long)j;
	}
	return -1;
}

static void inline_conv(struct buf *o, const char *s, size_t n, bool flat);

/* A styled span: its text converted flat, wrapped in `mark` unless we are
 * already inside a span. */
static void span(struct buf *o, const char *mark, const char *s, size_t n, bool flat)
{
	size_t before = o->len;

	if (!flat)
		(void)buf_puts(o, mark);
	inline_conv(o, s, n, true);
	if (!flat) {
		if (o->len == before + strlen(mark)) {   /* nothing inside: no span */
			chop(o, before);
			return;
		}
		(void)buf_puts(o, mark);
	}
}

/* [label](url) at s[i]; returns bytes consumed, 0 if not a link. */
static size_t link_at(struct buf *o, const char *s, size_t i, size_t n, bool flat)
{
	size_t lb = i + 1, le, us, ue, depth = 0;
	struct line url;

	for (le = lb; le < n && s[le] != ']'; le++)
		if (s[le] == '[')
			return 0;
	if (le + 1 >= n || s[le + 1] != '(')
		return 0;
	us = le + 2;
	for (ue = us; ue < n; ue++) {
		if (s[ue] == '(')
			depth++;
		else if (s[ue] == ')' && depth-- == 0)
			break;
	}
	if (ue >= n)
		return 0;
	url = trim((struct line){ s + us, ue - us });
	/* [t](url "title"): the title is dropped. */
	for (size_t k = 0; k < url.n; k++)
		if (is_blank(url.p[k])) {
			url.n = k;
			break;
		}
	if (!url.n || (le - lb == url.n && memcmp(s + lb, url.p, url.n) == 0) || le == lb) {
		put_url(o, url.p, url.n);
	} else {
		inline_conv(o, s + lb, le - lb, flat);
		(void)buf_puts(o, " (");
		put_url(o, url.p, url.n);
		(void)buf_puts(o, ")");
	}
	return ue + 1 - i;
}

static void inline_conv(struct buf *o, const char *s, size_t n, bool flat)
{
	size_t i = 0;

	while (i < n) {
		char c = s[i];
		size_t k;
		long j;

		if (c == '\\' && i + 1 < n && strchr("\\`*_{}[]()#+-.!~|<>", s[i + 1])) {
			put_literal(o, s[i + 1]);
			i += 2;
			continue;
		}
		if (c == '`') {
			size_t run = 0, m;
			bool found = false;

			while (i + run < n && s[i + run] == '`')
				run++;
			for (m = i + run; m < n;) {
				size_t r = 0;

				if (s[m] != '`') {
					m++;
					continue;
				}
				while (m + r < n && s[m + r] == '`')
					r++;
				if (r == run) {
					found = true;
					break;
				}
				m += r;
			}
			if (found && m > i + run) {
				struct line code = { s + i + run, m - i - run };

				if (code.n >= 2 && code.p[0] == ' ' && code.p[code.n - 1] == ' ') {
					code.p++;
					code.n -= 2;
				}
				if (!flat)
					(void)buf_puts(o, "`");
				put_code(o, code.p, code.n);
				if (!flat)
					(void)buf_puts(o, "`");
				i = m + run;
			} else {
				for (size_t r = 0; r < run; r++)
					put_literal(o, '`');
				i += run;
			}
			continue;
		}
		if ((c == 'h' || c == 'H') && (k = url_at(s, i, n)) > 0) {
			put_url(o, s + i, k);
			i += k;
			continue;
		}
		if (c == '!' && i + 1 < n && s[i + 1] == '[' && (k = link_at(o, s, i + 1, n, flat)) > 0) {
			i += 1 + k;
			continue;
		}
		if (c == '[' && (k = link_at(o, s, i, n, flat)) > 0) {
			i += k;
			continue;
		}
		if ((c == '*' || c == '_') && i + 1 < n && s[i + 1] == c) {
			char d[3] = { c, c, 0 };
			bool open_ok = c == '*' || i == 0 || !is_alnum(s[i - 1]);

			if (open_ok && (j = find_close(s, i + 2, n, d, 2)) >= 0) {
				span(o, "**", s + i + 2, (size_t)j - i - 2, flat);
				i = (size_t)j + 2;
			} else {
				if (c == '_')
					(void)buf_puts(o, "__");
				i += 2;   /* stray "**": dropped */
			}
			continue;
		}
		if (c == '*' || c == '_') {
			char d[2] = { c, 0 };
			bool open_ok = c == '*' || i == 0 || !is_alnum(s[i - 1]);

			if (open_ok && (j = find_close(s, i + 1, n, d, 1)) >= 0) {
				span(o, "*", s + i + 1, (size_t)j - i - 1, flat);
				i = (size_t)j + 1;
			} else {
				/* A stray '*': a free-standing one ("2 * 3") is
				 * kept as a look-alike, one stuck to a word
				 * (a footnote mark) is dropped, as Penny does. */
				if (c == '_')
					(void)buf_puts(o, "_");
				else if ((i == 0 || is_blank(s[i - 1])) && (i + 1 == n || is_blank(s[i + 1])))
					put_literal(o, '*');
				i++;
			}
			continue;
		}
		if (c == '~' && i + 1 < n && s[i + 1] == '~' && (j = find_close(s, i + 2, n, "~~", 2)) >= 0) {
			span(o, "~", s + i + 2, (size_t)j - i - 2, flat);
			i = (size_t)j + 2;
			continue;
		}
		if (c == '|' && i + 1 < n && s[i + 1] == '|' && (j = find_close(s, i + 2, n, "||", 2)) >= 0) {
			span(o, "||", s + i + 2, (size_t)j - i - 2, flat);
			i = (size_t)j + 2;
			continue;
		}
		if (is_marker(c)) {
			put_literal(o, c);
			i++;
			continue;
		}
		k = fmt_utf8_seq(s + i, n - i);
		(void)buf_append(o, s + i, k);
		i += k;
	}
}

/* ---- lines -------------------------------------------------------------------- */

/* "# Title ##" → "Title"; false when not a heading. */
static bool heading(struct line l, struct line *text)
{
	size_t i = 0, h = 0;

	while (i < l.n && i < 3 && l.p[i] == ' ')
		i++;
	while (i < l.n && l.p[i] == '#')
		i++, h++;
	if (h < 1 || h > 6 || (i < l.n && !is_blank(l.p[i])))
		return false;
	*text = trim((struct line){ l.p + i, l.n - i });
	while (text->n && text->p[text->n - 1] == '#')
		text->n--;
	*text = trim(*text);
	return true;
}

static bool rule(struct line l)
{
	size_t count = 0;
	char m = 0;

	l = trim(l);
	for (size_t i = 0; i < l.n; i++) {
		if (is_blank(l.p[i]))
			continue;
		if (!m && (l.p[i] == '-' || l.p[i] == '*' || l.p[i] == '_'))
			m = l.p[i];
		if (l.p[i] != m)
			return false;
		count++;
	}
	return count >= 3;
}

/* <br>, <br/>, <br /> (any case) → newline. */
static char *breaks_to_newlines(const char *s)
{
	struct buf o = BUF_INIT(0);

	while (*s) {
		if (*s == '<' && strncasecmp(s, "<br", 3) == 0) {
			const char *p = s + 3;

			while (*p == ' ')
				p++;
			if (*p == '/')
				p++;
			if (*p == '>') {
				(void)buf_puts(&o, "\n");
				s = p + 1;
				continue;
			}
		}
		(void)buf_append(&o, s, 1);
		s++;
	}
	return buf_detach(&o);
}

static void convert_line(struct buf *o, struct line l)
{
	struct line text;
	size_t ind = 0;

	if (heading(l, &text)) {
		if (text.n) {
			(void)buf_puts(o, "**");
			inline_conv(o, text.p, text.n, true);
			(void)buf_puts(o, "**");
		}
		return;
	}
	if (rule(l))
		return;
	/* Block quotes lose their markers ("> > x" → "x"). */
	for (;;) {
		struct line t = trim(l);

		if (!t.n || t.p[0] != '>')
			break;
		l = (struct line){ t.p + 1, t.n - 1 };
		if (l.n && l.p[0] == ' ')
			l.p++, l.n--;
	}
	while (ind < l.n && is_blank(l.p[ind]))
		ind++;
	if (ind + 1 < l.n && (l.p[ind] == '*' || l.p[ind] == '+' || l.p[ind] == '-') &&
	    is_blank(l.p[ind + 1])) {
		(void)buf_append(o, l.p, ind);
		(void)buf_puts(o, "- ");
		l.p += ind + 2;
		l.n -= ind + 2;
	}
	inline_conv(o, l.p, l.n, false);
}

/* Collapse 3+ newlines (blank-only lines count as empty) and trim. */
static char *tidy(const char *s)
{
	struct buf o = BUF_INIT(0);
	size_t nl = 0;

	while (*s == '\n' || *s == ' ' || *s == '\t')
		s++;
	for (; *s; s++) {
		if (*s == '\n') {
			/* Trailing blanks on the line go. */
			while (o.len && is_blank(o.data[o.len - 1]))
				chop(&o, o.len - 1);
			nl++;
			continue;
		}
		if (nl) {
			(void)buf_append(&o, "\n\n", nl > 2 ? 2 : nl);
			nl = 0;
		}
		(void)buf_append(&o, s, 1);
	}
	while (o.len && is_blank(o.data[o.len - 1]))
		chop(&o, o.len - 1);
	return buf_detach(&o);
}

char *fmt_markdown_to_signal(const char *md)
{
	char *br = breaks_to_newlines(md ? md : "");
	char *tb = fmt_tables_to_bullets(br), *res;
	struct buf o = BUF_INIT(0);
	struct line *lines;
	size_t n = split_lines(tb, &lines);
	bool fence = false;

	for (size_t i = 0; i < n; i++) {
		if (starts_fence(lines[i])) {
			fence = !fence;
			continue;
		}
		if (fence) {
			if (trim(lines[i]).n) {
				(void)buf_puts(&o, "`");
				put_code(&o, lines[i].p, lines[i].n);
				(void)buf_puts(&o, "`");
			}
		} else {
			convert_line(&o, lines[i]);
		}
		(void)buf_puts(&o, "\n");
	}
	free(lines);
	res = tidy(buf_str(&o));
	buf_release(&o);
	free(tb);
	free(br);
	return res;
}
