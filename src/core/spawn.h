/* spawn.h — run a program as an argument vector, never through a shell.
 *
 * The child gets a clean environment (PATH only), stdin from /dev/null, its
 * output captured up to a cap, and a deadline after which it is killed.
 * This is the only way kith starts other programs (nvidia-smi for `kith
 * him profile` now; system tasks later). */
#ifndef KITH_CORE_SPAWN_H
#define KITH_CORE_SPAWN_H

#include "core/buf.h"
#include "core/status.h"

struct spawn_result {
	int exit_code;      /* -1 when killed by a signal (incl. the timeout) */
	int timed_out;
	int truncated;      /* output passed the cap; the rest was discarded */
};

/* argv[0] is looked up in PATH.  stdout and stderr both go to *out (capped
 * at `cap` bytes; the child keeps running to completion or the deadline).
 * KITH_ENOTFOUND when the program does not exist. */
enum kith_status spawn_capture(const char *const *argv, int timeout_ms, size_t cap,
			       struct buf *out, struct spawn_result *res, char **why)
	KITH_MUST_CHECK;

#endif
