/* sse.c — server-sent events, line by line.
 *
 * Lines complete within one feed are parsed in place; only a line split
 * across feeds is copied.  Event data is always copied, because an event
 * is only known to be complete at the blank line that may come feeds later.
 * Lines are capped at max_event plus room for a field name, so a stream
 * with no line breaks cannot grow memory without bound. */
#include "llm/sse.h"

#include <string.h>

#define FIELD_SLACK 64

void sse_init(struct sse *s, size_t max_event, sse_event_fn on_event, void *ud)
{
	buf_init(&s->line, max_event ? max_event + FIELD_SLACK : 0);
	buf_init(&s->data, max_event);
	s->has_data = false;
	s->after_cr = false;
	s->started = false;
	s->done = false;
	s->max_event = max_event;
	s->on_event = on_event;
	s->ud = ud;
	s->st = KITH_OK;
}

void sse_release(struct sse *s)
{
	buf_release(&s->line);
	buf_release(&s->data);
}

static enum kith_status dispatch(struct sse *s)
{
	enum kith_status st = KITH_OK;

	if (!s->has_data || s->done)
		goto out;
	if (s->data.len == 6 && memcmp(s->data.data, "[DONE]", 6) == 0) {
		s->done = true;
		goto out;
	}
	st = s->on_event(buf_str(&s->data), s->data.len, s->ud);
out:
	buf_reset(&s->data);
	s->has_data = false;
	return st;
}

static enum kith_status parse_line(struct sse *s, const char *p, size_t n)
{
	const char *colon;
	size_t name_len;
	enum kith_status st;

	if (!s->started) {
		s->started = true;
		if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
			p += 3;
			n -= 3;
		}
	}
	if (n == 0)
		return dispatch(s);
	if (p[0] == ':')
		return KITH_OK;
	colon = memchr(p, ':', n);
	name_len = colon ? (size_t)(colon - p) : n;
	if (name_len != 4 || memcmp(p, "data", 4) != 0)
		return KITH_OK;
	if (colon) {
		p = colon + 1;
		n -= name_len + 1;
		if (n && p[0] == ' ') {
			p++;
			n--;
		}
	} else {
		n = 0;
	}
	if (s->has_data) {
		st = buf_append(&s->data, "\n", 1);
		if (st)
			return st;
	}
	s->has_data = true;
	return buf_append(&s->data, p, n);
}

enum kith_status sse_feed(struct sse *s, const char *p, size_t n)
{
	const char *end = p + n;

	if (s->st)
		return s->st;
	if (s->after_cr && p < end && *p == '\n')
		p++;
	s->after_cr = false;
	while (p < end && !s->st) {
		const char *q = p;
		size_t len;

		while (q < end && *q != '\n' && *q != '\r')
			q++;
		len = (size_t)(q - p);
		if (q == end) {
			s->st = buf_append(&s->line, p, len);
			break;
		}
		if (s->line.len) {
			s->st = buf_append(&s->line, p, len);
			if (!s->st)
				s->st = parse_line(s, s->line.data, s->line.len);
			buf_reset(&s->line);
		} else if (s->max_event && len > s->max_event + FIELD_SLACK) {
			/* The same cap as for a line split across feeds, so
			 * where the reads fall never changes the outcome. */
			s->st = KITH_ETOOBIG;
		} else {
			s->st = parse_line(s, p, len);
		}
		if (*q == '\r') {
			if (q + 1 == end)
				s->after_cr = true;
			else if (q[1] == '\n')
				q++;
		}
		p = q + 1;
	}
	return s->st;
}

enum kith_status sse_finish(struct sse *s)
{
	if (s->st)
		return s->st;
	if (s->line.len) {
		s->st = parse_line(s, s->line.data, s->line.len);
		buf_reset(&s->line);
	}
	if (!s->st)
		s->st = dispatch(s);
	return s->st;
}
