/* sse.h — incremental parser for server-sent events (text/event-stream).
 *
 * Internal to the LLM layer (OpenAI-compatible streams) and its tests and
 * fuzzers.  Bytes arrive in arbitrary pieces; each complete event's data
 * is handed to a callback.  Per the SSE spec: lines end in "\n", "\r\n" or
 * "\r"; a blank line ends an event; several "data:" lines are joined with
 * "\n"; lines starting with ':' are comments (OpenRouter's
 * ": OPENROUTER PROCESSING" keep-alives); "event:", "id:" and "retry:" are
 * ignored because no provider we speak relies on them.  The OpenAI stream
 * terminator "data: [DONE]" is recognised here: it sets `done` and is not
 * delivered, and nothing after it is. */
#ifndef KITH_LLM_SSE_H
#define KITH_LLM_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

/* One event's data, NUL-terminated (n excludes the NUL).  A non-zero
 * return stops the parser with that status. */
typedef enum kith_status (*sse_event_fn)(const char *data, size_t n, void *ud);

struct sse {
	struct buf line;      /* a line split across feeds */
	struct buf data;      /* data lines of the current event */
	bool has_data;        /* the current event has a data field */
	bool after_cr;        /* last byte fed was '\r': a leading '\n' ends nothing */
	bool started;         /* first line seen (a BOM may precede it) */
	bool done;            /* "[DONE]" seen */
	size_t max_event;
	sse_event_fn on_event;
	void *ud;
	enum kith_status st;  /* sticky: once failed, every feed fails */
};

/* max_event caps one event's data (and any one line); 0 = unbounded. */
void sse_init(struct sse *s, size_t max_event, sse_event_fn on_event, void *ud);
void sse_release(struct sse *s);
/* KITH_ETOOBIG when an event or line passes the cap; otherwise the first
 * non-zero status from on_event. */
enum kith_status sse_feed(struct sse *s, const char *p, size_t n) KITH_MUST_CHECK;
/* End of input.  An event not closed by a blank line is still delivered:
 * servers that end the stream right after the last "data:" line exist. */
enum kith_status sse_finish(struct sse *s) KITH_MUST_CHECK;

#endif
