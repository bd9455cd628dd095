/* utf8.c — cutting text on character boundaries (utf8.h). */
#include "core/utf8.h"
#include "core/alloc.h"

#include <string.h>

size_t utf8_prefix(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	/* s[max] exists (n > max): back up over continuation bytes so the
	 * cut lands before the lead byte of the split character. */
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

char *utf8_dup_max(const char *s, size_t max)
{
	if (!s)
		return NULL;
	return xstrndup(s, utf8_prefix(s, strlen(s), max));
}
