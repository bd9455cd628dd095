/* status.c — status messages and the why-string helper. */
#include "core/status.h"
#include "core/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const messages[KITH_STATUS_MAX_] = {
	[KITH_OK] = "success",
	[KITH_EINVAL] = "invalid input",
	[KITH_EIO] = "input/output error",
	[KITH_ETOOBIG] = "too big",
	[KITH_ECANCELED] = "cancelled",
	[KITH_ETIMEDOUT] = "timed out",
	[KITH_ECONNECT] = "cannot connect",
	[KITH_EHTTP] = "remote service returned an error",
	[KITH_EPROTO] = "unexpected response from remote service",
	[KITH_ENOTFOUND] = "not found",
	[KITH_EDB] = "database error",
	[KITH_ECONFIG] = "invalid configuration",
	[KITH_EAUTH] = "not authorized",
	[KITH_ERATELIMIT] = "rate limited",
	[KITH_EUNSUPPORTED] = "not supported",
	[KITH_ECLOSED] = "closed",
	[KITH_EEXIST] = "already exists",
	[KITH_ECONFLICT] = "conflict",
};

const char *kith_strerror(enum kith_status st)
{
	if ((int)st < 0 || st >= KITH_STATUS_MAX_ || !messages[st])
		return "unknown error";
	return messages[st];
}

enum kith_status kith_why(char **why, enum kith_status st, const char *fmt, ...)
{
	va_list ap;

	if (!why || *why)
		return st;
	va_start(ap, fmt);
	*why = xvasprintf(fmt, ap);
	va_end(ap);
	return st;
}

void kith_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "kith: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}
