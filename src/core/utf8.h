/* utf8.h — cutting text to a byte budget without splitting a character.
 *
 * Every cap on outside text (a message, a model's answer, an email body)
 * must leave valid UTF-8 behind, or JSON encoders and chat networks refuse
 * it; these two do the cut in one place.  They do not validate: invalid
 * input stays invalid, it only never gets a new broken sequence at the end. */
#ifndef KITH_CORE_UTF8_H
#define KITH_CORE_UTF8_H

#include <stddef.h>

/* The length of the longest prefix of s[0..n) that is at most `max` bytes
 * and does not end inside a multi-byte sequence. */
size_t utf8_prefix(const char *s, size_t n, size_t max);
/* A heap copy of at most `max` bytes of the string s, cut that way
 * (s NULL → NULL). */
char *utf8_dup_max(const char *s, size_t max);

#endif
