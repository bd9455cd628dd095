/* ndjson.c — line splitting for NDJSON streams.
 *
 * The common case (a network read holds whole lines) copies nothing: lines
 * are delivered from the caller's buffer.  Only the tail of a read that ends
 * mid-line is kept, and joined with the head of the next read. */
#include "llm/ndjson.h"

#include <string.h>

void ndjson_init(struct ndjson *nd, size_t max_line, ndjson_line_fn on_line, void *ud)
{
	buf_init(&nd->partial, max_line ? max_line + 1 : 0);
	nd->max_line = max_line;
	nd->on_line = on_line;
	nd->ud = ud;
	nd->st = KITH_OK;
}

void ndjson_release(struct ndjson *nd)
{
	buf_release(&nd->partial);
}

static enum kith_status deliver(struct ndjson *nd, const char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (nd->max_line && n > nd->max_line)
		return KITH_ETOOBIG;
	/* Whitespace-only lines carry nothing; servers send them as
	 * keep-alives. */
	for (size_t i = 0; i < n; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return nd->on_line(p, n, nd->ud);
	}
	return KITH_OK;
}

enum kith_status ndjson_feed(struct ndjson *nd, const char *p, size_t n)
{
	const char *end = p + n;

	if (nd->st)
		return nd->st;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!nl) {
			/* Keep the tail; "+ 1" leaves room for the '\r' of a
			 * "\r\n" split across feeds. */
			if (nd->max_line && nd->partial.len + len > nd->max_line + 1)
				nd->st = KITH_ETOOBIG;
			else
				nd->st = buf_append(&nd->partial, p, len);
			break;
		}
		if (nd->partial.len) {
			if (nd->max_line && nd->partial.len + len > nd->max_line + 1) {
				nd->st = KITH_ETOOBIG;
				break;
			}
			nd->st = buf_append(&nd->partial, p, len);
			if (!nd->st)
				nd->st = deliver(nd, nd->partial.data, nd->partial.len);
			buf_reset(&nd->partial);
		} else {
			nd->st = deliver(nd, p, len);
		}
		if (nd->st)
			break;
		p = nl + 1;
	}
	return nd->st;
}

enum kith_status ndjson_finish(struct ndjson *nd)
{
	if (nd->st)
		return nd->st;
	if (nd->partial.len)
		nd->st = deliver(nd, nd->partial.data, nd->partial.len);
	buf_reset(&nd->partial);
	return nd->st;
}
