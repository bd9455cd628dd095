/* tmux.h — the tmux control API: a remote shell for kith's owner.
 *
 * `kith tmuxd` drives a real tmux server on its own socket (the one `tmux
 * -L kith` uses, so the owner can `tmux -L kith attach -t main` to watch)
 * and never the user's own tmux.  A command sent to a session is a shell
 * line — that is this API's purpose — so the server refuses to start
 * without TMUX_CONTROL_TOKEN, listens on loopback unless told otherwise,
 * and logs every execution.  docs/sysaccess.md describes the API.
 *
 * How a command runs (tmux.c): the text is written to a private script
 * file and the shell in the session is sent one fixed line, `. SCRIPT
 * </dev/null >FIFO 2>&1; printf '%s\n' "$?" >RC`.  Sourcing keeps the
 * shell's state (cwd, variables) between commands; the FIFO brings the
 * output back byte-exact and capped, without scraping the screen; the RC
 * file says it finished and with which status.  A deadline sends C-c. */
#ifndef KITH_TOOLS_TMUX_H
#define KITH_TOOLS_TMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define TMUX_DEFAULT_PORT 9001
#define TMUX_DEFAULT_SESSION "main"
#define TMUX_DEFAULT_TIMEOUT_S 30
#define TMUX_MAX_TIMEOUT_S 600
#define TMUX_MAX_COMMAND ((size_t)64 << 10)
#define TMUX_DEFAULT_MAX_OUTPUT ((size_t)1 << 20)

/* ---- Driving tmux (tmux.c) -------------------------------------------- */

struct tmux_options {
	const char *tmpdir;               /* TMUX_TMPDIR; NULL = /tmp */
	const char *start_dir;            /* new sessions start here; NULL = HOME or / */
	const char *const *session_env;   /* "K=V" given to session shells; NULL-terminated */
	size_t max_output;                /* 0 = TMUX_DEFAULT_MAX_OUTPUT */
};

struct tmux_session_info {
	char *name;
	int64_t created_at_ms;            /* from tmux */
	long command_count;               /* executions through this server */
	int64_t last_command_at_ms;       /* 0 = none */
	char *cwd;                        /* the pane's working directory, may be NULL */
};

struct tmux_exec {
	char *output;                     /* stdout and stderr as written (heap) */
	size_t output_len;
	int exit_code;                    /* -1 when unknown (timeout, shell gone) */
	bool timed_out;                   /* cut at the deadline with C-c */
	bool truncated;                   /* output passed the cap */
	bool session_ended;               /* the shell exited (e.g. `exit`) */
	int64_t duration_ms;
};

struct tmux;

/* Check the tmux binary, prepare the socket directory (0700, ours) and a
 * private work directory.  KITH_ENOTFOUND when tmux is not installed. */
enum kith_status tmux_open(const struct tmux_options *o, struct tmux **out, char **why)
	KITH_MUST_CHECK;
/* Kill kith's tmux server (its sessions live as long as tmuxd) and free. */
void tmux_close(struct tmux *t);
const char *tmux_socket_path(const struct tmux *t);

/* Names are 1-64 of [A-Za-z0-9_-]; KITH_EINVAL otherwise. */
enum kith_status tmux_check_name(const char *name, char **why) KITH_MUST_CHECK;
/* Create the session unless it exists (*created says which). */
enum kith_status tmux_session_ensure(struct tmux *t, const char *name, bool *created,
				     char **why) KITH_MUST_CHECK;
enum kith_status tmux_session_list(struct tmux *t, struct tmux_session_info **out, size_t *n,
				   char **why) KITH_MUST_CHECK;
/* KITH_ENOTFOUND when there is no such session. */
enum kith_status tmux_session_get(struct tmux *t, const char *name,
				  struct tmux_session_info *out, char **why) KITH_MUST_CHECK;
enum kith_status tmux_session_kill(struct tmux *t, const char *name, char **why)
	KITH_MUST_CHECK;
/* The last `lines` lines of the session's screen and history (heap). */
enum kith_status tmux_session_capture(struct tmux *t, const char *name, int lines,
				      char **text, char **why) KITH_MUST_CHECK;
void tmux_session_info_release(struct tmux_session_info *s);
void tmux_session_infos_free(struct tmux_session_info *s, size_t n);

/* Run `command` in the session (created when missing) and wait for it up
 * to timeout_ms.  KITH_ECONFLICT when the session is busy with another
 * request or still running something from before.  Release *res with
 * tmux_exec_release. */
enum kith_status tmux_execute(struct tmux *t, const char *session, const char *command,
			      int timeout_ms, struct tmux_exec *res, char **why) KITH_MUST_CHECK;
void tmux_exec_release(struct tmux_exec *res);

/* ---- The HTTP server (tmuxd.c) ---------------------------------------- */

struct tmuxd_config {
	const char *host;                 /* default 127.0.0.1 */
	int port;                         /* 0 = ephemeral */
	const char *token;                /* required */
	struct tmux_options tmux;
	unsigned threads;                 /* 0 = 4 */
};

struct tmuxd;

/* Opens tmux, creates the persistent default session and starts serving.
 * KITH_ECONFIG without a token; KITH_ENOTFOUND without tmux. */
enum kith_status tmuxd_start(const struct tmuxd_config *cfg, struct tmuxd **out, char **why)
	KITH_MUST_CHECK;
int tmuxd_port(const struct tmuxd *d);
const char *tmuxd_socket_path(const struct tmuxd *d);
void tmuxd_stop(struct tmuxd *d);

/* ---- The client (tmux_client.c) --------------------------------------- */

struct tmux_client;

/* `url` is TMUX_CONTROL_URL (its path, if any, is the API's base). */
struct tmux_client *tmux_client_new(const char *url, const char *token);
void tmux_client_free(struct tmux_client *c);

enum kith_status tmux_client_create_session(struct tmux_client *c, const char *name,
					    char **why) KITH_MUST_CHECK;
enum kith_status tmux_client_delete_session(struct tmux_client *c, const char *name,
					    char **why) KITH_MUST_CHECK;
/* Session names (heap array of heap strings, *n of them). */
enum kith_status tmux_client_list(struct tmux_client *c, char ***names, size_t *n, char **why)
	KITH_MUST_CHECK;
/* session NULL = the default; timeout_s <= 0 = the server's default.
 * res->output is heap (release with tmux_exec_release). */
enum kith_status tmux_client_execute(struct tmux_client *c, const char *session,
				     const char *command, int timeout_s, struct tmux_exec *res,
				     char **why) KITH_MUST_CHECK;

#endif
