/* status.h — the library's one status enum and its messages.
 *
 * Every fallible function returns an enum kith_status (0 = success) and is
 * marked KITH_MUST_CHECK.  Where a person needs the reason, functions take an
 * optional `char **why` out-parameter that receives a heap string (caller
 * frees) describing what went wrong in words a user understands. */
#ifndef KITH_CORE_STATUS_H
#define KITH_CORE_STATUS_H

#define KITH_MUST_CHECK __attribute__((warn_unused_result))
#define KITH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define KITH_NORETURN __attribute__((noreturn))

enum kith_status {
	KITH_OK = 0,
	KITH_EINVAL = 1,     /* bad argument or malformed input */
	KITH_EIO = 2,        /* local I/O failure */
	KITH_ETOOBIG = 3,    /* a size cap was exceeded */
	KITH_ECANCELED = 4,  /* cancelled by request */
	KITH_ETIMEDOUT = 5,  /* a deadline passed */
	KITH_ECONNECT = 6,   /* could not reach a remote service */
	KITH_EHTTP = 7,      /* remote service answered with an error status */
	KITH_EPROTO = 8,     /* remote service answered something we cannot parse */
	KITH_ENOTFOUND = 9,  /* the named thing does not exist */
	KITH_EDB = 10,       /* database failure */
	KITH_ECONFIG = 11,   /* invalid configuration */
	KITH_EAUTH = 12,     /* credentials rejected */
	KITH_ERATELIMIT = 13,/* rate limited and out of retries */
	KITH_EUNSUPPORTED = 14,
	KITH_ECLOSED = 15,   /* queue or channel closed */
	KITH_EEXIST = 16,    /* the thing already exists */
	KITH_ECONFLICT = 17, /* the request conflicts with the current state */
	KITH_STATUS_MAX_
};

/* Static string, never NULL. */
const char *kith_strerror(enum kith_status st);

/* Set *why (if why != NULL and *why is NULL) to a formatted heap string.
 * Returns st, so `return kith_why(why, KITH_EINVAL, "...")` reads naturally. */
enum kith_status kith_why(char **why, enum kith_status st, const char *fmt, ...)
	KITH_PRINTF(3, 4);

/* Programmer errors: log file:line and abort. */
KITH_NORETURN void kith_bug(const char *file, int line, const char *msg);
#define KITH_BUG(msg) kith_bug(__FILE__, __LINE__, (msg))
#define KITH_ASSERT(cond) \
	do { if (!(cond)) kith_bug(__FILE__, __LINE__, "assertion failed: " #cond); } while (0)

#endif
