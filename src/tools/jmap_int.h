/* jmap_int.h — what the files of the JMAP client share (jmap.c,
 * jmap_parse.c, jmap_text.c) and nobody else uses. */
#ifndef KITH_TOOLS_JMAP_INT_H
#define KITH_TOOLS_JMAP_INT_H

#include <stddef.h>

/* A copy of s cut at max bytes without splitting a UTF-8 sequence. */
char *jmap_capped(const char *s, size_t max);

#endif
