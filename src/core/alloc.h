/* alloc.h — allocation wrappers that never return NULL.
 *
 * Out of memory is not a recoverable condition for a small daemon: these
 * wrappers log and abort instead of making every caller handle NULL. */
#ifndef KITH_CORE_ALLOC_H
#define KITH_CORE_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

#include "core/status.h"

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of `*cap` elements of `size` bytes to hold at least `need`. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);            /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) KITH_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

#endif
