/* chunk.c — splitting a reply into Discord-sized messages.
 *
 * Discord counts characters (code points), 2000 a message.  A piece ends
 * at the last line break in its second half, else the last sentence end
 * (". ", "! ", "? " and friends), else the last space, else at the limit —
 * always on a code point boundary, so a multi-byte character is never cut.
 * Looking only in the second half keeps a stray early newline from
 * producing a flood of tiny messages.  The whitespace at a break is
 * dropped; nothing else is.  Code points are counted with format.c's
 * UTF-8 helpers, the ones Signal's splitter uses. */
#include "channel/discord/discord_int.h"
#include "channel/format.h"
#include "core/alloc.h"

#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool sentence_end(char c)
{
	return c == '.' || c == '!' || c == '?' || c == ';' || c == ':';
}

size_t dc_chunk(const char *text, size_t limit, char ***pieces)
{
	const char *p = text;
	size_t len = strlen(text), count = 0, cap = 0;
	char **out = NULL;

	if (limit < 2)
		limit = 2;
	*pieces = NULL;
	while (len) {
		size_t cut = 0, cps = 0, half = 0, brk_nl = 0, brk_sent = 0, brk_sp = 0, next, end;

		/* Walk up to `limit` code points, noting break candidates. */
		while (cut < len && cps < limit) {
			size_t n = fmt_utf8_seq(p + cut, len - cut);

			cut += n;
			cps++;
			if (cps == limit / 2)
				half = cut;
			if (cut >= half && half) {
				char c = p[cut - n];

				if (c == '\n')
					brk_nl = cut - 1;
				else if (is_space(c)) {
					brk_sp = cut - 1;
					if (cut - n > 0 && sentence_end(p[cut - n - 1]))
						brk_sent = cut - 1;
				}
			}
		}
		if (cut < len) {
			/* A break right at the limit counts too. */
			if (p[cut] == '\n')
				brk_nl = cut;
			else if (is_space(p[cut])) {
				brk_sp = cut;
				if (sentence_end(p[cut - 1]))
					brk_sent = cut;
			}
			if (brk_nl)
				cut = brk_nl;
			else if (brk_sent)
				cut = brk_sent;
			else if (brk_sp)
				cut = brk_sp;
		}
		end = next = cut;
		/* Trailing whitespace leaves the piece; at a break, the break
		 * itself (one line end, or a run of spaces) is dropped, while
		 * the next line's indentation stays. */
		while (end > 0 && is_space(p[end - 1]))
			end--;
		if (cut < len) {
			if (p[next] == '\n')
				next++;
			else if (p[next] == '\r' && next + 1 < len && p[next + 1] == '\n')
				next += 2;
			else
				while (next < len && (p[next] == ' ' || p[next] == '\t'))
					next++;
		}
		if (end > 0) {
			out = xgrow(out, &cap, count + 1, sizeof(*out));
			out[count++] = xstrndup(p, end);
		}
		p += next;
		len -= next;
	}
	*pieces = out;
	return count;
}
