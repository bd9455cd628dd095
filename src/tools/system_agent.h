/* system_agent.h — the owner's system agent: "disk space?", "what's on port
 * 3000", "bash ls -la".
 *
 * Only APPROVAL_USER_ID may use it, and an unset approver means nobody; the
 * check comes before anything else looks at the text.  `bash <cmd>` and
 * `run command <cmd>` run exactly that command as an argument vector split
 * by a small word splitter (quotes and backslashes, no expansion, shell
 * operators refused) unless the owner enabled shell mode.  Anything else
 * goes to the utility model, which may only *choose* an action from a fixed
 * table and fill in its parameters; code validates the parameters and
 * builds the argument vectors.  If the model is unavailable the request is
 * refused — the text is never run.
 *
 * Commands run through the tmux control API (TMUX_CONTROL_URL with
 * TMUX_CONTROL_TOKEN) in a persistent session, each argv quoted word by word,
 * or, without a token, directly with posix_spawn (sysaccess_exec).  Tests
 * inject their own executor.  docs/sysaccess.md, "System agent". */
#ifndef KITH_TOOLS_SYSTEM_AGENT_H
#define KITH_TOOLS_SYSTEM_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

struct llm_client;

/* ---- The word splitter (system_agent_argv.c) --------------------------- */

#define SYSTEM_ARGV_MAX_WORDS 256
#define SYSTEM_ARGV_MAX_INPUT ((size_t)16 << 10)

/* Split `len` bytes of a command line into words the way a POSIX shell
 * would quote them — '…' literal, "…" with \" \\ \$ \` escapes, \x outside
 * quotes — but with no expansion of any kind.  Unquoted shell syntax
 * (; & | < > ( ) $ ` newline, glob characters * ? [, a word-leading ~ or #)
 * is refused with KITH_EINVAL and a sentence in *why naming it, as are NUL
 * bytes, unterminated quotes, empty input and more than
 * SYSTEM_ARGV_MAX_WORDS words or SYSTEM_ARGV_MAX_INPUT bytes.  *argv is a
 * heap NULL-terminated array of heap strings (system_argv_free). */
enum kith_status system_argv_split(const char *text, size_t len, char ***argv, size_t *argc,
				   char **why) KITH_MUST_CHECK;
void system_argv_free(char **argv);

/* One shell line that runs exactly argv: every word in single quotes, an
 * embedded ' written as '\''.  Heap. */
char *system_shell_quote(const char *const *argv);

/* ---- Executing ---------------------------------------------------------- */

struct system_exec_req {
	const char *const *argv;   /* the command; NULL when `line` is set */
	const char *line;          /* shell mode: the owner's line as typed */
	const char *cwd;           /* absolute; the owner's kept directory */
	int timeout_s;
};

struct system_exec_out {
	char *output;              /* stdout then stderr, heap, NUL-terminated */
	size_t len;
	int exit_code;             /* -1 unknown (timeout, signal) */
	bool timed_out;
	bool truncated;
};

/* Runs one command.  KITH_OK when it ran (whatever its exit status);
 * KITH_ENOTFOUND when the program does not exist. */
typedef enum kith_status (*system_exec_fn)(void *ud, const struct system_exec_req *req,
					    struct system_exec_out *out, char **why);

void system_exec_out_release(struct system_exec_out *o);

/* ---- The agent ---------------------------------------------------------- */

struct system_agent_config {
	const char *approver;        /* APPROVAL_USER_ID; NULL or "" = nobody */
	const char *tmux_url;        /* TMUX_CONTROL_URL */
	const char *tmux_token;      /* TMUX_CONTROL_TOKEN; NULL = run directly */
	const char *tmux_session;    /* NULL = "main" */
	bool shell_mode;             /* SYSTEM_SHELL_MODE */
	struct llm_client *llm;      /* utility role; NULL = model unavailable */
	const char *home;            /* start directory; NULL = $HOME, else / */
	int timeout_s;               /* per command; 0 = 30 */
	size_t max_reply;            /* bytes of output in a reply; 0 = 3500 */
	/* Each run: "ran: <argv>", salience 0.4 (agent_remember_action). */
	void (*remember)(void *ud, const char *text, double salience);
	void *remember_ud;
	/* Tests: run commands here instead of tmux or spawn. */
	system_exec_fn exec;
	void *exec_ud;
};

struct system_agent;

/* Copies the strings of cfg (llm is borrowed). */
struct system_agent *system_agent_new(const struct system_agent_config *cfg);
void system_agent_free(struct system_agent *a);

/* Answer one request from `author_id`.  *reply (heap) is always set: the
 * output, or why nothing ran.  KITH_OK when a command ran or the answer
 * needed none; KITH_EAUTH for a non-owner (nothing ran); KITH_EINVAL for a
 * refused or invalid request; KITH_EUNSUPPORTED when the model is
 * unavailable; other statuses when execution failed. */
enum kith_status system_request(struct system_agent *a, const char *author_id, const char *text,
				char **reply) KITH_MUST_CHECK;

/* system_request for text that only may be a system request (the message
 * loop's guess): when the utility model answers that it is none, returns
 * KITH_ENOTFOUND with *reply NULL and nothing ran, so the caller can answer
 * it as conversation. */
enum kith_status system_request_ex(struct system_agent *a, const char *author_id,
				   const char *text, bool unsure, char **reply) KITH_MUST_CHECK;
/* The owner's kept working directory (borrowed; NULL before any request). */
const char *system_agent_cwd(const struct system_agent *a, const char *owner_id);

#endif
