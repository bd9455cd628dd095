/* httpd_int.h — what httpd's own files share, and what the unit test and
 * the fuzzer reach past the public header for (not for use elsewhere).
 *
 * Files:
 *   route.c   path matching and percent-decoding: pure functions on strings,
 *             no libmicrohttpd, so the fuzzer can drive them directly
 *   httpd.c   the libmicrohttpd daemon: requests, bodies, auth, responses */
#ifndef KITH_HTTPD_INT_H
#define KITH_HTTPD_INT_H

#include <stddef.h>

#include "httpd/httpd.h"

enum httpd_match {
	HTTPD_NO_MATCH = 0,    /* the path does not have the pattern's shape */
	HTTPD_MATCH = 1,       /* matched; captures decoded */
	HTTPD_BAD_PARAM = 2,   /* the shape matches but a capture is unusable */
};

/* Match a raw request path (still percent-encoded, without the query)
 * against a route pattern.  Segments are split on '/'; a pattern segment
 * ":name" captures one non-empty path segment, any other must be equal
 * byte for byte.  No trailing-slash tolerance, no dot-segment removal.
 *
 * On HTTPD_MATCH, params[0 .. *nparams) hold the percent-decoded captures
 * (heap strings, caller frees each).  On HTTPD_BAD_PARAM (invalid %-escape,
 * or a capture decoding to something containing '/' or NUL, or to "." or
 * "..") nothing is left allocated and *why (optional, caller frees) says
 * which segment and why.  A pattern with more than HTTPD_MAX_PARAMS
 * captures, or a pattern or path not starting with '/', never matches. */
enum httpd_match httpd_match(const char *pattern, const char *path,
			     char *params[HTTPD_MAX_PARAMS], size_t *nparams, char **why);

/* Decode "%HH" escapes in p[0..n) ('+' stays '+': this is a path, not a
 * form).  *out gets a NUL-terminated heap string (caller frees) and *outlen
 * its length, which may be less than strlen when it holds a NUL.  Returns
 * KITH_EINVAL, leaving *out untouched, for a '%' without two hex digits. */
enum kith_status httpd_pct_decode(const char *p, size_t n, char **out, size_t *outlen)
	KITH_MUST_CHECK;

/* A copy of s[0..n) safe for a log line or a JSON string: bytes outside
 * printable ASCII become "%HH", and past `max` bytes of input the copy ends
 * in "...".  Caller frees. */
char *httpd_show(const char *s, size_t n, size_t max);

/* Check a route table before serving it: every entry has a method, a
 * handler and a pattern of '/'-separated segments starting with '/', with
 * named captures and at most HTTPD_MAX_PARAMS of them.  KITH_EINVAL with
 * *why naming the entry otherwise. */
enum kith_status httpd_check_routes(const struct httpd_route *routes, char **why)
	KITH_MUST_CHECK;

#endif
