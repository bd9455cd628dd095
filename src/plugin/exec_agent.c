/* exec_agent.c — calling an executable agent through core/spawn.
 *
 * `PATH --describe` prints the description; `PATH` reads the request on
 * standard input and prints the answer.  The program runs as an argument
 * vector (no shell, so nothing in the request is ever interpreted), with a
 * clean environment, in a process group of its own that the deadline kills
 * whole; its stdout is capped, its stderr kept apart for error messages. */
#include "plugin/plugin_int.h"
#include "core/buf.h"
#include "core/spawn.h"

#include <string.h>

enum kith_status plugin_exec_call(const char *path, const char *input, int timeout_ms,
				  size_t max_output, struct buf *out, struct buf *err,
				  struct plugin_outcome *how, char **why)
{
	const char *describe[] = { path, "--describe", NULL };
	const char *run[] = { path, NULL };
	struct spawn_opts so = { .input = input, .input_len = input ? strlen(input) : 0,
				 .err = err };
	struct spawn_result r;
	enum kith_status rc;

	memset(how, 0, sizeof(*how));
	rc = spawn_run(input ? run : describe, &so, timeout_ms, max_output, out, &r, why);
	if (rc)
		return rc;
	how->timed_out = r.timed_out;
	how->term_signal = r.timed_out ? 0 : r.term_signal;
	how->exit_code = r.exit_code;
	how->truncated = r.truncated;
	return how->timed_out || how->term_signal || how->exit_code ? KITH_EIO : KITH_OK;
}
