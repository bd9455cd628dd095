/* sysaccess.h — what the tmux control API and the host-exec API share.
 *
 * Both servers start programs and hand their output back as JSON, both log
 * an audit line per request, and both take their listen address from a URL
 * setting that was written for the client's side.  The runner here is the
 * one place these two APIs start processes: an argument vector (never a
 * shell string), an environment given in full by the caller, stdin from
 * /dev/null, stdout and stderr in separate capped buffers, an empty signal
 * mask and default dispositions (the servers block SIGINT/SIGTERM in every
 * thread; a child must not inherit that, or Ctrl-C in a tmux pane would stop
 * nothing), its own process group so a deadline kills the whole group. */
#ifndef KITH_TOOLS_SYSACCESS_H
#define KITH_TOOLS_SYSACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"

/* The PATH children get and bare program names are looked up in: fixed,
 * so a server's own PATH (".", a user's bin directory) never decides which
 * file runs. */
#define SYSACCESS_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct sysaccess_run {
	const char *path;               /* program file to execute (absolute) */
	const char *const *argv;        /* argv[0] as the program will see it */
	const char *const *env;         /* full environment, NULL-terminated */
	const char *cwd;                /* NULL = inherit */
	int timeout_ms;                 /* > 0 */
	size_t cap;                     /* per stream; the rest is read and dropped */
};

struct sysaccess_result {
	int exit_code;                  /* -1 when killed by a signal */
	int term_signal;                /* that signal, else 0 */
	bool timed_out;                 /* the deadline passed; the group was killed */
	bool truncated;                 /* a stream passed the cap */
	struct buf out, err;            /* caller releases (sysaccess_result_release) */
	int64_t duration_ms;
};

/* Run to completion or the deadline.  KITH_ENOTFOUND when the program or
 * the working directory does not exist, KITH_EIO for other start failures;
 * a program that ran is KITH_OK whatever its exit status.  *res is always
 * initialised. */
enum kith_status sysaccess_exec(const struct sysaccess_run *run, struct sysaccess_result *res,
				char **why) KITH_MUST_CHECK;
void sysaccess_result_release(struct sysaccess_result *res);

/* Find a bare program name in SYSACCESS_PATH: heap path of the first
 * executable regular file, or NULL. */
char *sysaccess_which(const char *name);

/* A JSON string holding the bytes p[0..n): invalid UTF-8 becomes U+FFFD, so
 * any program output can be returned. */
json_t *sysaccess_json_text(const char *p, size_t n);

/* A printable copy for an audit line (heap): control bytes and '"' / '\'
 * escaped, cut after `max` bytes with the remaining count noted. */
char *sysaccess_audit_text(const char *p, size_t n, size_t max);

/* Where a server listens.  The URL setting (TMUX_CONTROL_URL, HOST_EXEC_URL)
 * says where clients reach it; the server takes its port from it (else
 * `default_port`) and its host only when that host is loopback — listening
 * anywhere else must be asked for with `host_opt` (--host).  `port_opt` < 0
 * means "from the URL".  *host is heap; *note (heap, may be NULL) explains a
 * URL host that was not used. */
enum kith_status sysaccess_listen_addr(const char *url, const char *setting, int default_port,
				       const char *host_opt, int port_opt, char **host,
				       int *port, char **note, char **why) KITH_MUST_CHECK;

/* One JSON exchange with a system-access server (sysaccess_client.c):
 * `body` may be NULL (no body), the token goes as a bearer token.  KITH_OK
 * with the parsed answer in *answer (caller decrefs); an error answer maps
 * 401/403 → KITH_EAUTH, 404 → KITH_ENOTFOUND, 409 → KITH_ECONFLICT,
 * 413/422/400 → KITH_EINVAL, others → KITH_EHTTP, with the server's
 * "detail" in *why; transport failures as http_perform returns them. */
enum kith_status sysaccess_call(const char *method, const char *url, const char *token,
				const char *body, long timeout_ms, json_t **answer, char **why)
	KITH_MUST_CHECK;

#endif
