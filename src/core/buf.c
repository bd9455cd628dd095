/* buf.c — capped growable buffer and slices. */
#include "core/buf.h"
#include "core/alloc.h"

#include <stdio.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static enum kith_status ensure(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > (size_t)-1 - b->len - 1)
		return KITH_ETOOBIG;
	if (b->max && b->len + extra > b->max)
		return KITH_ETOOBIG;
	need = b->len + extra + 1;
	if (need > b->alloc) {
		size_t a = b->alloc ? b->alloc : 64;

		while (a < need)
			a *= 2;
		b->data = xrealloc(b->data, a);
		b->alloc = a;
	}
	return KITH_OK;
}

enum kith_status buf_append(struct buf *b, const void *p, size_t n)
{
	enum kith_status st = ensure(b, n);

	if (st)
		return st;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return KITH_OK;
}

enum kith_status buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum kith_status buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	enum kith_status st;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return KITH_EINVAL;
	st = ensure(b, (size_t)n);
	if (st)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return KITH_OK;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *buf_detach(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	buf_init(b, b->max);
	return p;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

struct slice slice_cstr(const char *s)
{
	return slice_of(s, s ? strlen(s) : 0);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

struct slice slice_trim(struct slice s)
{
	while (s.n && is_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

bool slice_eq(struct slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

bool slice_starts_with(struct slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

bool slice_split(struct slice s, char sep, struct slice *head, struct slice *rest)
{
	const char *q = s.n ? memchr(s.p, sep, s.n) : NULL;

	if (!q) {
		*head = s;
		return false;
	}
	*head = slice_of(s.p, (size_t)(q - s.p));
	if (rest)
		*rest = slice_of(q + 1, s.n - (size_t)(q - s.p) - 1);
	return true;
}

char *slice_dup(struct slice s)
{
	return xstrndup(s.p ? s.p : "", s.n);
}
