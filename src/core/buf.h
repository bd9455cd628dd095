/* buf.h — a growable byte buffer with a size cap, and a pointer+length slice.
 *
 * Everything read from outside goes into a struct buf whose `max` bounds it:
 * an append that would pass the cap fails with KITH_ETOOBIG and leaves the
 * buffer as it was (curl's dynbuf "too big").  The data is always
 * NUL-terminated so text can be handed to C string functions. */
#ifndef KITH_CORE_BUF_H
#define KITH_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

struct buf {
	char *data;    /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t alloc;
	size_t max;    /* 0 = unbounded */
};

struct slice {
	const char *p;
	size_t n;
};

#define BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes) }

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);                  /* len = 0, memory kept */
enum kith_status buf_append(struct buf *b, const void *p, size_t n);
enum kith_status buf_puts(struct buf *b, const char *s);
enum kith_status buf_printf(struct buf *b, const char *fmt, ...)
	KITH_PRINTF(2, 3);
/* Appends on an unbounded buffer (max 0) cannot fail. */
/* Remove the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Hand the data to the caller (never NULL) and reset the buffer. */
char *buf_detach(struct buf *b);
/* The data, or "" while empty. */
const char *buf_str(const struct buf *b);

static inline struct slice slice_of(const char *p, size_t n)
{
	struct slice s = { p, n };
	return s;
}
struct slice slice_cstr(const char *s);
struct slice slice_trim(struct slice s);
bool slice_eq(struct slice s, const char *lit);
bool slice_starts_with(struct slice s, const char *lit);
/* Split at the first `sep`: *head gets the part before, returns true when
 * found (then *rest gets the part after). */
bool slice_split(struct slice s, char sep, struct slice *head, struct slice *rest);
char *slice_dup(struct slice s);                /* caller frees */

#endif
