/* format_split.c — long text as several messages, broken where a reader
 * would break it.
 *
 * Each piece is cut at the best break in its last half: a paragraph end,
 * else a line end, else a sentence end, else a space, else at the limit on
 * a code point boundary.  Two things are tracked while walking a piece so
 * a break never lands inside them: ``` fenced blocks (a block that cannot
 * fit is closed and reopened, so each message renders on its own), and,
 * for Signal, the styled-text state machine of signal-cli-rest-api (a span
 * that must be cut is closed and reopened the same way).  Looking only in
 * the last half keeps an early newline from making a flood of tiny pieces.
 * The reopening text counts against the next piece's limit. */
#include "channel/format.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <stdbool.h>
#include <string.h>

/* signal-cli-rest-api's parser states (utils/textstyleparser.go). */
enum sty {
	STY_NONE, STY_IT, STY_BOLD, STY_BOLD_END1, STY_MONO, STY_STRIKE,
	STY_SP_BEGIN1, STY_SP, STY_SP_END1,
};

static enum sty sty_step(enum sty s, char c, char last)
{
	switch (c) {
	case '*':
		if (s == STY_IT)
			return last == '*' ? STY_BOLD : STY_NONE;
		if (s == STY_NONE)
			return STY_IT;
		if (s == STY_BOLD)
			return STY_BOLD_END1;
		if (s == STY_BOLD_END1)
			return STY_NONE;
		return s;
	case '|':
		if (s == STY_NONE)
			return STY_SP_BEGIN1;
		if (s == STY_SP_BEGIN1 && last == '|')
			return STY_SP;
		if (s == STY_SP)
			return STY_SP_END1;
		if (s == STY_SP_END1 && last == '|')
			return STY_NONE;
		return s;
	case '`':
		return s == STY_NONE ? STY_MONO : s == STY_MONO ? STY_NONE : s;
	case '~':
		return s == STY_NONE ? STY_STRIKE : s == STY_STRIKE ? STY_NONE : s;
	default:
		return s;
	}
}

/* What closes the open span at a cut, and what reopens it after. */
static const char *sty_close(enum sty s)
{
	static const char *const v[] = { "", "*", "**", "*", "`", "~", "", "||", "|" };

	return v[s];
}

static const char *sty_reopen(enum sty s)
{
	static const char *const v[] = { "", "*", "**", "", "`", "~", "", "||", "" };

	return v[s];
}

struct walk {
	enum sty sty;
	char last;
	bool fence;
	char fence_line[16];   /* the opening marker, to reopen a cut block */
};

/* Advance the walk over byte p[k] (k is a line start when bol). */
static void walk_byte(struct walk *w, const char *p, size_t k, size_t len, bool bol,
		      unsigned flags)
{
	if (bol) {
		size_t i = k;

		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (len - i >= 3 && (memcmp(p + i, "```", 3) == 0 || memcmp(p + i, "~~~", 3) == 0)) {
			w->fence = !w->fence;
			if (w->fence) {
				/* The marker and a short language word ("```c"),
				 * nothing else of the line: it is repeated in each
				 * piece a cut block continues in. */
				size_t e = i + 3, m = 0;

				memcpy(w->fence_line, p + i, 3);
				while (e < len && m < 12 &&
				       ((p[e] >= 'a' && p[e] <= 'z') || (p[e] >= 'A' && p[e] <= 'Z') ||
					(p[e] >= '0' && p[e] <= '9') || p[e] == '+' || p[e] == '-' ||
					p[e] == '_'))
					w->fence_line[3 + m++] = p[e++];
				w->fence_line[3 + m] = '\0';
			}
		}
	}
	if ((flags & FMT_SPLIT_SIGNAL_STYLES) && !w->fence) {
		w->sty = sty_step(w->sty, p[k], w->last);
		w->last = p[k];
	}
}

enum tier { T_NONE, T_SPACE, T_SENTENCE, T_LINE, T_PARA };

struct cut {
	size_t at;          /* bytes of text in the piece */
	enum tier tier;
	bool inside;        /* inside a block or span: close it, reopen after */
	struct walk after;  /* state at the cut */
};

static bool blank_line_at(const char *p, size_t k, size_t len)
{
	while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
		k++;
	return k >= len || p[k] == '\n';
}

/* Find where to cut p[0..len) with `room` code points, walking from `w`. */
static struct cut find_cut(const char *p, size_t len, size_t room, const struct walk *start,
			   bool bol0, unsigned flags)
{
	struct walk w = *start;
	struct cut best = { 0, T_NONE, false, *start }, fence_nl = { 0, T_NONE, true, *start };
	struct cut hard = { 0, T_NONE, false, *start };
	size_t k = 0, cps = 0, half = room / 2;

	while (k < len && cps < room) {
		size_t n = fmt_utf8_seq(p + k, len - k);
		bool bol = k == 0 ? bol0 : p[k - 1] == '\n';
		enum tier t = T_NONE;

		/* A break at k ends the piece before p[k]. */
		if (cps >= half && k > 0) {
			if (p[k] == '\n')
				t = blank_line_at(p, k + 1, len) ? T_PARA : T_LINE;
			else if (p[k] == ' ' || p[k] == '\t')
				t = strchr(".!?", p[k - 1]) ? T_SENTENCE : T_SPACE;
			if (t != T_NONE && !w.fence && w.sty == STY_NONE && t >= best.tier)
				best = (struct cut){ k, t, false, w };
			else if (t >= T_LINE && w.fence && cps + 4 <= room)
				fence_nl = (struct cut){ k, T_LINE, true, w };
		}
		walk_byte(&w, p, k, len, bol, flags);
		for (size_t i = 1; i < n; i++)
			walk_byte(&w, p, k + i, len, false, flags);
		k += n;
		cps++;
		hard = (struct cut){ k, T_NONE, w.fence || w.sty != STY_NONE, w };
	}
	if (k < len && cps >= half) {
		/* A break right at the limit counts too. */
		enum tier t = T_NONE;

		if (p[k] == '\n')
			t = blank_line_at(p, k + 1, len) ? T_PARA : T_LINE;
		else if (p[k] == ' ' || p[k] == '\t')
			t = strchr(".!?", p[k - 1]) ? T_SENTENCE : T_SPACE;
		if (t != T_NONE && !w.fence && w.sty == STY_NONE && t >= best.tier)
			best = (struct cut){ k, t, false, w };
	}
	if (best.tier != T_NONE)
		return best;
	if (fence_nl.at)
		return fence_nl;
	return hard;
}

/* The text that closes what is open at a cut (caller frees). */
static char *closer(const struct walk *w)
{
	if (w->fence)
		return xstrdup("\n```");
	return xstrdup(sty_close(w->sty));
}

static char *reopener(const struct walk *w)
{
	if (w->fence)
		return xasprintf("%s\n", w->fence_line[0] ? w->fence_line : "```");
	return xstrdup(sty_reopen(w->sty));
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t fmt_split(const char *text, size_t limit, unsigned flags, char ***pieces)
{
	const char *p = text ? text : "";
	size_t len = strlen(p), count = 0, cap = 0;
	char **out = NULL, *prefix = xstrdup("");
	struct walk w = { STY_NONE, 0, false, "" };
	bool bol = true;

	if (limit < 16)
		limit = 16;
	while (len && is_ws(*p))
		p++, len--;
	while (len) {
		size_t room = limit - fmt_utf8_len(prefix, strlen(prefix));
		struct buf piece = BUF_INIT(0);
		struct cut c;
		char *close;
		size_t end;

		if (fmt_utf8_len(p, len) <= room) {
			c = (struct cut){ len, T_NONE, false, w };
		} else {
			/* A cut inside a span needs room for its closer: shrink
			 * the window until the piece fits with it. */
			for (size_t r = room;; r--) {
				char *cl;
				size_t need;

				c = find_cut(p, len, r, &w, bol, flags);
				if (c.at == 0)   /* cannot happen with r >= 1; be safe */
					c = (struct cut){ fmt_utf8_seq(p, len), T_NONE, false, w };
				if (!c.inside || r <= 1)
					break;
				cl = closer(&c.after);
				need = fmt_utf8_len(cl, strlen(cl));
				free(cl);
				if (fmt_utf8_len(p, c.at) + need <= room)
					break;
			}
		}
		close = c.inside ? closer(&c.after) : xstrdup("");
		end = c.at;
		while (end > 0 && is_ws(p[end - 1]))
			end--;
		(void)buf_puts(&piece, prefix);
		(void)buf_append(&piece, p, end);
		(void)buf_puts(&piece, close);
		if (end > 0) {
			out = xgrow(out, &cap, count + 1, sizeof(*out));
			out[count++] = buf_detach(&piece);
		}
		buf_release(&piece);
		free(close);
		free(prefix);
		w = c.after;
		if (c.inside) {
			/* Reopened in the next piece, which walks on from there;
			 * a span that the closer finished is simply over. */
			prefix = reopener(&w);
			if (fmt_utf8_len(prefix, strlen(prefix)) > limit / 4) {
				free(prefix);   /* a small limit: the bare marker */
				prefix = xstrdup(w.fence ? "```\n" : "");
			}
			if (!w.fence && !*sty_reopen(w.sty)) {
				w.sty = STY_NONE;
				w.last = 0;
			}
		} else {
			prefix = xstrdup("");
		}
		p += c.at;
		len -= c.at;
		if (c.tier >= T_LINE) {
			if (len && *p == '\r')
				p++, len--;
			if (len && *p == '\n')
				p++, len--;
			if (!c.inside)
				while (len && is_ws(*p))
					p++, len--;
		} else if (c.tier != T_NONE) {
			while (len && (*p == ' ' || *p == '\t'))
				p++, len--;
		}
		bol = p == text || p[-1] == '\n';
	}
	free(prefix);
	*pieces = out;
	return count;
}

void fmt_pieces_free(char **pieces, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(pieces[i]);
	free(pieces);
}

size_t fmt_for_signal(const char *md, char ***pieces)
{
	char *styled = fmt_markdown_to_signal(md);
	size_t n = fmt_split(styled, FMT_SIGNAL_LIMIT, FMT_SPLIT_SIGNAL_STYLES, pieces);

	free(styled);
	return n;
}
