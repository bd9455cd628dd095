/* ndjson.h — incremental splitter for newline-delimited JSON streams.
 *
 * Internal to the LLM layer (Ollama streams one JSON object per line) and
 * its tests and fuzzers.  Bytes arrive in arbitrary pieces; each complete
 * line is handed to a callback.  A line that arrives whole inside one piece
 * is passed straight from the caller's memory; only a line split across
 * pieces is copied, into a buffer capped at max_line so a server that never
 * sends '\n' cannot grow it without bound. */
#ifndef KITH_LLM_NDJSON_H
#define KITH_LLM_NDJSON_H

#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

/* One line without its "\n" or "\r\n"; not NUL-terminated; blank lines
 * are not delivered.  A non-zero return stops the parser with that status. */
typedef enum kith_status (*ndjson_line_fn)(const char *p, size_t n, void *ud);

struct ndjson {
	struct buf partial;   /* start of a line split across feeds */
	size_t max_line;
	ndjson_line_fn on_line;
	void *ud;
	enum kith_status st;  /* sticky: once failed, every feed fails */
};

void ndjson_init(struct ndjson *nd, size_t max_line, ndjson_line_fn on_line, void *ud);
void ndjson_release(struct ndjson *nd);
/* Feed bytes.  KITH_ETOOBIG when a line passes max_line; otherwise the
 * first non-zero status from on_line. */
enum kith_status ndjson_feed(struct ndjson *nd, const char *p, size_t n) KITH_MUST_CHECK;
/* End of input: deliver a last line that had no "\n". */
enum kith_status ndjson_finish(struct ndjson *nd) KITH_MUST_CHECK;

#endif
