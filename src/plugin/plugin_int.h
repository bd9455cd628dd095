/* plugin_int.h — internals of src/plugin/ shared by its files (and the fuzz
 * target): the child's reply format, the readers of what agents print, and
 * the two ways of calling an agent. */
#ifndef KITH_PLUGIN_INT_H
#define KITH_PLUGIN_INT_H

#include "plugin/plugin.h"
#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>

#define PLUGIN_LOG "agents"
#define PLUGIN_DESCRIPTION_MAX 300   /* bytes of a description kept */
#define PLUGIN_KEYWORDS_MAX 32       /* keywords kept per agent */
#define PLUGIN_KEYWORD_LEN 40        /* bytes of one keyword */
#define PLUGIN_ERROR_MAX 300         /* bytes of an agent's error text kept */

/* ---- what a shared-object child sends back (reply.c) -------------------
 *
 * A sequence of records, each `T<len>:<len bytes>\n` with T one of
 *   V  the ABI version the agent declares (decimal)
 *   D  its description            K  one keyword (repeated)
 *   S  kith_plugin_run's return value (decimal)
 *   O  the text it wrote          E  why the child could not load or call it
 * The child is a copy of kith running foreign code, so the parent reads
 * this as untrusted input: bounded, strict, every text cleaned. */
struct plugin_reply {
	bool has_abi;
	int abi;
	char *description;
	char **keywords;      /* NULL-terminated, or NULL when none */
	size_t nkeywords;
	bool has_status;
	int status;
	char *output;
	char *error;
};

void plugin_reply_release(struct plugin_reply *r);
/* Parse a whole reply.  No field may be longer than max_field bytes
 * (KITH_ETOOBIG); anything malformed is KITH_EPROTO.  Texts come out
 * cleaned (plugin_text_clean), the output capped at max_field. */
enum kith_status plugin_reply_parse(const char *p, size_t n, size_t max_field,
				    struct plugin_reply *out, char **why) KITH_MUST_CHECK;
/* Write a record header "T<len>:" into hdr (>= 16 bytes); returns its
 * length.  Async-signal-safe: the child uses it. */
size_t plugin_record_header(char tag, size_t len, char *hdr);
/* Decimal text of v into out (>= 12 bytes); returns its length.  Async-
 * signal-safe. */
size_t plugin_itoa(int v, char *out);

/* ---- readers of agent text (reply.c) -------------------------------- */

/* Text an agent printed, made safe to show and store (heap): invalid UTF-8
 * becomes U+FFFD, control characters are dropped (one_line: newlines and
 * tabs become spaces), CRLF becomes LF, surrounding blanks are trimmed and
 * the result is cut to at most `cap` bytes on a character boundary. */
char *plugin_text_clean(const char *p, size_t n, size_t cap, bool one_line);
/* Keywords as kith keeps them: cleaned, one line, lower-case ASCII letters,
 * at most PLUGIN_KEYWORD_LEN bytes, no empties or repeats, at most
 * PLUGIN_KEYWORDS_MAX.  Returns a NULL-terminated heap array (never NULL);
 * *count (may be NULL) receives its length. */
char **plugin_keywords_clean(const char *const *raw, size_t n, size_t *count);
void plugin_strv_free(char **v);
/* An executable's `--describe` output: the first non-empty line is the
 * description; a line "keywords: a, b, c" (commas, or blanks when there
 * are none) lists keywords.  KITH_EPROTO when there is no description. */
enum kith_status plugin_describe_parse(const char *p, size_t n, char **description,
				       char ***keywords, char **why) KITH_MUST_CHECK;

/* ---- calling an agent (so_agent.c, exec_agent.c) --------------------- */

/* How the process that ran the agent ended. */
struct plugin_outcome {
	bool timed_out;
	int term_signal;      /* 0 = exited */
	int exit_code;        /* when it exited */
	bool truncated;       /* it wrote more than was kept */
};

/* A shared object in a forked child: describe (input NULL) or run.  The
 * status is KITH_OK when a reply came back and parsed; *rep and *how are
 * filled either way. */
enum kith_status plugin_so_call(const char *path, const char *input, int timeout_ms,
				size_t max_output, struct plugin_reply *rep,
				struct plugin_outcome *how, char **why) KITH_MUST_CHECK;

/* An executable: `PATH --describe` (input NULL) or `PATH` with the input
 * on stdin.  *out receives stdout (capped at max_output), *err stderr.
 * KITH_OK when it exited 0; KITH_EIO when it did not (see *how); other
 * statuses when it could not be started. */
enum kith_status plugin_exec_call(const char *path, const char *input, int timeout_ms,
				  size_t max_output, struct buf *out, struct buf *err,
				  struct plugin_outcome *how, char **why) KITH_MUST_CHECK;

/* ---- the registry (registry.c) --------------------------------------- */

/* A copy of the loaded agent `name` into *out (release it with
 * plugin_info_release) and the limits of a run (either may be NULL). */
bool plugins_lookup_(struct plugins *p, const char *name, struct plugin_info *out,
		     int *timeout_ms, size_t *max_output);
void plugin_info_release(struct plugin_info *i);

/* ---- reloading (watch.c) ---------------------------------------------- */

struct plugin_watch;

/* A thread that calls plugins_reload(p) once `dir` has been quiet for
 * debounce_ms after a change (inotify; a directory that does not exist yet
 * is looked for every second; without inotify it rescans every 5 s). */
enum kith_status plugin_watch_start(struct plugins *p, const char *dir, int debounce_ms,
				    struct plugin_watch **out, char **why) KITH_MUST_CHECK;
void plugin_watch_stop(struct plugin_watch *w);

#endif
