/* route.c — matching raw request paths against route patterns.
 *
 * Matching works on the path exactly as it came off the wire and decodes
 * only the captures, one segment at a time.  Decoding the whole path first
 * (what libmicrohttpd hands the access handler) would turn "a%2Fb" into two
 * segments and let "%00" cut a string short; here an encoded '/' or NUL
 * inside a capture is an error the client hears about (400) instead.
 * Literal segments compare byte for byte, so "/v1/%74iles" is not
 * "/v1/tiles": one spelling per endpoint keeps auth and routing simple. */
#include "httpd/httpd_int.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <stdbool.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum kith_status httpd_pct_decode(const char *p, size_t n, char **out, size_t *outlen)
{
	char *d = xmalloc(n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (p[i] != '%') {
			d[j++] = p[i];
			continue;
		}
		if (n - i < 3 || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0) {
			free(d);
			return KITH_EINVAL;
		}
		d[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[j] = '\0';
	*out = d;
	if (outlen)
		*outlen = j;
	return KITH_OK;
}

char *httpd_show(const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT(0);
	size_t i;

	for (i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f) {
			(void)buf_append(&b, &s[i], 1);
		} else {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

			(void)buf_append(&b, esc, 3);
		}
	}
	if (i < n)
		(void)buf_puts(&b, "...");
	return buf_detach(&b);
}

/* Decode one captured segment; NULL and *why on anything a handler could
 * mistake for more than one path segment. */
static char *decode_capture(struct slice seg, char **why)
{
	char *d = NULL, *shown;
	size_t len = 0;
	const char *problem = NULL;

	if (httpd_pct_decode(seg.p, seg.n, &d, &len) != KITH_OK)
		problem = "is not valid percent-encoding";
	else if (memchr(d, '\0', len))
		problem = "decodes to a NUL byte";
	else if (strchr(d, '/'))
		problem = "decodes to a '/'";
	else if (strcmp(d, ".") == 0 || strcmp(d, "..") == 0)
		problem = "names a directory ('.' or '..')";
	if (!problem)
		return d;
	free(d);
	shown = httpd_show(seg.p, seg.n, 80);
	kith_why(why, KITH_EINVAL, "path segment '%s' %s", shown, problem);
	free(shown);
	return NULL;
}

enum httpd_match httpd_match(const char *pattern, const char *path,
			     char *params[HTTPD_MAX_PARAMS], size_t *nparams, char **why)
{
	struct slice caps[HTTPD_MAX_PARAMS];
	size_t ncaps = 0;
	const char *pp, *xp;

	*nparams = 0;
	if (pattern[0] != '/' || path[0] != '/')
		return HTTPD_NO_MATCH;
	pp = pattern + 1;
	xp = path + 1;
	for (;;) {
		size_t pl = strcspn(pp, "/"), xl = strcspn(xp, "/");

		if (pp[0] == ':') {
			if (xl == 0 || ncaps == HTTPD_MAX_PARAMS)
				return HTTPD_NO_MATCH;
			caps[ncaps++] = slice_of(xp, xl);
		} else if (pl != xl || memcmp(pp, xp, pl) != 0) {
			return HTTPD_NO_MATCH;
		}
		pp += pl;
		xp += xl;
		if (*pp == '\0' || *xp == '\0') {
			if (*pp != *xp)
				return HTTPD_NO_MATCH;
			break;
		}
		pp++;
		xp++;
	}
	/* The shape matches; only now decode, so a bad escape in a path that
	 * belongs to another route is that route's 404, not our 400. */
	for (size_t i = 0; i < ncaps; i++) {
		params[i] = decode_capture(caps[i], why);
		if (!params[i]) {
			while (i > 0)
				free(params[--i]);
			return HTTPD_BAD_PARAM;
		}
	}
	*nparams = ncaps;
	return HTTPD_MATCH;
}

static enum kith_status check_pattern(const char *pat, const char **problem)
{
	size_t ncaps = 0;
	const char *p;

	if (!pat || pat[0] != '/') {
		*problem = "pattern must start with '/'";
		return KITH_EINVAL;
	}
	if (strcmp(pat, "/") == 0)
		return KITH_OK;
	for (p = pat + 1;; p++) {
		size_t len = strcspn(p, "/");

		if (len == 0) {
			*problem = "pattern has an empty segment (no '//' or trailing '/')";
			return KITH_EINVAL;
		}
		if (p[0] == ':') {
			if (len == 1) {
				*problem = "capture without a name";
				return KITH_EINVAL;
			}
			if (++ncaps > HTTPD_MAX_PARAMS) {
				*problem = "more captures than HTTPD_MAX_PARAMS";
				return KITH_EINVAL;
			}
		}
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#') {
				*problem = "pattern may hold only printable ASCII, "
					   "without '%', '?' or '#'";
				return KITH_EINVAL;
			}
		}
		p += len;
		if (*p == '\0')
			return KITH_OK;
	}
}

enum kith_status httpd_check_routes(const struct httpd_route *routes, char **why)
{
	for (size_t i = 0; routes && routes[i].method; i++) {
		const struct httpd_route *r = &routes[i];
		const char *problem = NULL;

		if (!r->method[0])
			problem = "empty method";
		else if (!r->fn)
			problem = "no handler";
		else
			(void)check_pattern(r->pattern, &problem);
		if (problem)
			return kith_why(why, KITH_EINVAL, "route %zu (%s %s): %s", i, r->method,
					r->pattern ? r->pattern : "(null)", problem);
	}
	return KITH_OK;
}
