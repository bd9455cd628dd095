/* format.h — outgoing text shaped for a network: Markdown to Signal's
 * styled text, Markdown tables to bullet lists, long text split into
 * messages.
 *
 * Models write Markdown; networks render different subsets of it.  These
 * are pure functions of their input (no I/O, no globals), so every case is
 * a unit test.  Signal's styled text (signal-cli-rest-api, text_mode
 * "styled") is a flat state machine: every '*', '`', '~' and '|' in the
 * text is a control character and styles do not nest, so the converter
 * never leaves a stray marker behind — it flattens nested styles, and
 * literal marker characters become look-alikes ('~' → '∼', '|' → '∣',
 * '*' → '∗') or are percent-encoded inside URLs.  Discord renders Markdown
 * itself and keeps its own 2000-character chunker (discord/chunk.c). */
#ifndef KITH_CHANNEL_FORMAT_H
#define KITH_CHANNEL_FORMAT_H

#include <stddef.h>

/* Characters (code points) per Signal message.  Signal shows about 2000
 * bytes of a body inline and sends anything longer as a "long text"
 * attachment that not every client displays well, so kith splits there. */
#define FMT_SIGNAL_LIMIT 2000

/* Markdown tables (a header row, a |---| separator row, data rows) become
 * one bullet per data row: "- Header1: v1, Header2: v2" (empty cells are
 * left out).  Tables inside fenced code blocks are left alone.  Returns a
 * new string (caller frees). */
char *fmt_tables_to_bullets(const char *md);

/* Markdown to Signal styled text (tables converted first):
 *   **b** __b__ → **b**     *i* _i_ → *i*     ~~s~~ → ~s~     ||x|| kept
 *   `code` kept; ``` blocks → each line in `…`   # Heading → **Heading**
 *   [text](url) → "text (url)"   * / + bullets → "- "   > quotes unmarked
 *   horizontal rules dropped    <br> → newline    3+ blank lines → one
 * Unmatched '*' are dropped (as Penny does); other literal markers become
 * look-alikes.  Returns a new string (caller frees), trimmed. */
char *fmt_markdown_to_signal(const char *md);

enum fmt_split_flags {
	/* The text is Signal styled text: never break inside a styled span;
	 * if a span must be cut, close it and reopen it in the next piece. */
	FMT_SPLIT_SIGNAL_STYLES = 1u << 0,
};

/* Split `text` into pieces of at most `limit` code points (limit >= 16),
 * breaking at a paragraph end, else a line end, else a sentence end, else
 * a space — looking only in the last half of a piece so there are no tiny
 * pieces — else at a code point boundary (a UTF-8 sequence is never cut).
 * A ``` fenced block is not broken if a break outside it exists; one that
 * must be cut is closed and reopened.  Whitespace at a break is dropped.
 * Returns the count (0 for blank text); *pieces (free with
 * fmt_pieces_free). */
size_t fmt_split(const char *text, size_t limit, unsigned flags, char ***pieces);
void fmt_pieces_free(char **pieces, size_t n);

/* Markdown → Signal styled text → pieces of FMT_SIGNAL_LIMIT. */
size_t fmt_for_signal(const char *md, char ***pieces);

/* Code points in p[0..n) (an invalid byte counts as one). */
size_t fmt_utf8_len(const char *p, size_t n);
/* Bytes of the UTF-8 sequence at p (1 for an invalid byte); avail >= 1. */
size_t fmt_utf8_seq(const char *p, size_t avail);

#endif
