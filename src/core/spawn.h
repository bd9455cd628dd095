/* spawn.h — run a program as an argument vector, never through a shell.
 *
 * The child gets a clean environment (PATH only), default signal handling,
 * stdin from /dev/null (or the bytes the caller gives), its output captured
 * up to a cap, and a deadline after which it is killed.  The child leads a
 * process group of its own and the deadline kills the whole group, so a
 * script's own children do not outlive it.  This is the only way kith
 * starts other programs (nvidia-smi for `kith him profile`, executable
 * plugin agents, system tasks later). */
#ifndef KITH_CORE_SPAWN_H
#define KITH_CORE_SPAWN_H

#include "core/buf.h"
#include "core/status.h"

struct spawn_result {
	int exit_code;      /* -1 when killed by a signal (incl. the timeout) */
	int timed_out;
	int truncated;      /* output passed the cap; the rest was discarded */
	int term_signal;    /* the signal that ended the child, 0 = it exited */
};

/* What spawn_run adds to spawn_capture; a zeroed struct (or NULL) is
 * spawn_capture's behaviour. */
struct spawn_opts {
	const char *input;  /* written to the child's stdin, which is then
			     * closed; NULL = stdin is /dev/null */
	size_t input_len;
	struct buf *err;    /* stderr captured here (same cap) instead of being
			     * mixed into *out; NULL = mixed */
};

/* argv[0] is looked up in PATH.  stdout and stderr both go to *out (capped
 * at `cap` bytes; the child keeps running to completion or the deadline).
 * KITH_ENOTFOUND when the program does not exist. */
enum kith_status spawn_capture(const char *const *argv, int timeout_ms, size_t cap,
			       struct buf *out, struct spawn_result *res, char **why)
	KITH_MUST_CHECK;

/* spawn_capture with options (`o` may be NULL).  A child that does not read
 * its input is not an error: the unread rest is dropped. */
enum kith_status spawn_run(const char *const *argv, const struct spawn_opts *o, int timeout_ms,
			   size_t cap, struct buf *out, struct spawn_result *res, char **why)
	KITH_MUST_CHECK;

#endif
