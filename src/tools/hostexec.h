/* hostexec.h — the host-exec API: run allow-listed programs over HTTP.
 *
 * `kith hostexec` answers POST /exec {"argv": [...], "timeout_s"?, "cwd"?}
 * by running argv — an argument vector, never a shell line — when argv[0]
 * is listed in HOST_EXEC_WHITELIST, and returns its exit code, stdout and
 * stderr.  The SEL reference ran `shell=True` strings against a prefix
 * allow-list defaulting to "*"; here the list names whole programs, is
 * empty (deny everything) by default, and "*" is refused as a setting.  A
 * bearer token is required to start at all.  docs/sysaccess.md has the
 * details. */
#ifndef KITH_TOOLS_HOSTEXEC_H
#define KITH_TOOLS_HOSTEXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

#define HOSTEXEC_DEFAULT_PORT 9000
#define HOSTEXEC_DEFAULT_TIMEOUT_S 30
#define HOSTEXEC_MAX_TIMEOUT_S 600
#define HOSTEXEC_MAX_ARGS 256
#define HOSTEXEC_MAX_ARG_BYTES 4096
#define HOSTEXEC_MAX_BODY ((size_t)256 << 10)
#define HOSTEXEC_DEFAULT_MAX_OUTPUT ((size_t)1 << 20)   /* per stream */

/* ---- The request body (hostexec_wire.c; fuzzed) ---------------------- */

struct hostexec_request {
	char **argv;        /* argc strings and a NULL; each non-empty at [0], no NUL */
	size_t argc;        /* 1..HOSTEXEC_MAX_ARGS */
	int timeout_ms;     /* 1 ms .. HOSTEXEC_MAX_TIMEOUT_S s */
	char *cwd;          /* absolute, or NULL for the server's default */
};

/* Parse a POST /exec body.  KITH_EINVAL with a "field: reason" *why for
 * anything else, including unknown fields and the reference's "command"
 * string.  *out is always initialised; release it either way. */
enum kith_status hostexec_parse_request(const char *body, size_t n, struct hostexec_request *out,
					char **why) KITH_MUST_CHECK;
void hostexec_request_release(struct hostexec_request *r);

/* ---- The allow-list (hostexec_wire.c) -------------------------------- */

struct hostexec_policy;

/* From HOST_EXEC_WHITELIST's items.  Each is a bare program name ("git") or
 * a normalised absolute path ("/opt/bin/tool"); "*", relative paths,
 * "..", whitespace and empty items are configuration errors
 * (KITH_ECONFIG).  An empty list is valid and denies everything.  Caller
 * frees with hostexec_policy_free. */
enum kith_status hostexec_policy_new(const char *const *items, struct hostexec_policy **out,
				     char **why) KITH_MUST_CHECK;
void hostexec_policy_free(struct hostexec_policy *p);
size_t hostexec_policy_count(const struct hostexec_policy *p);
/* Listed items that can run anything (shells, env, sudo, interpreters …),
 * comma-separated (heap), or NULL: the server warns about them. */
char *hostexec_policy_risky(const struct hostexec_policy *p);

/* May argv0 run, and which file?  A bare name must be listed exactly and
 * is looked up in SYSACCESS_PATH; a name with a '/' must be listed exactly
 * as written.  KITH_OK with *path (heap); KITH_EAUTH (not allowed) or
 * KITH_ENOTFOUND (allowed, not installed) with *why. */
enum kith_status hostexec_policy_resolve(const struct hostexec_policy *p, const char *argv0,
					 char **path, char **why) KITH_MUST_CHECK;

/* ---- The server (hostexec.c) ------------------------------------------ */

struct hostexec_config {
	const char *host;                 /* default 127.0.0.1 */
	int port;                         /* 0 = ephemeral */
	const char *token;                /* required */
	const char *const *whitelist;     /* NULL-terminated; NULL = empty */
	const char *default_cwd;          /* NULL = "/" */
	size_t max_output;                /* per stream; 0 = default */
	unsigned threads;                 /* 0 = 4: also the most programs at once */
};

struct hostexec_server;

/* KITH_ECONFIG without a token or with a bad whitelist. */
enum kith_status hostexec_server_start(const struct hostexec_config *cfg,
				       struct hostexec_server **out, char **why) KITH_MUST_CHECK;
int hostexec_server_port(const struct hostexec_server *s);
void hostexec_server_stop(struct hostexec_server *s);

/* ---- The client (hostexec_client.c) ----------------------------------- */

struct hostexec_client_result {
	int exit_code;       /* -1 when killed (timeout or signal) */
	bool timed_out;
	bool truncated;
	char *out;           /* heap, NUL-terminated (invalid UTF-8 shows as U+FFFD) */
	char *err;
};

/* Run argv (NULL-terminated) through the API at `url` (HOST_EXEC_URL; a
 * URL without a path gets "/exec") with `token`.  timeout_s <= 0 = the
 * server's default; cwd may be NULL.  The server's refusals come back as
 * KITH_EAUTH (401/403), KITH_ENOTFOUND (404), KITH_EINVAL (422) with its
 * reason in *why; transport errors as core/http.h returns them.  Release
 * *res with hostexec_client_result_release on success. */
enum kith_status hostexec_client_run(const char *url, const char *token,
				     const char *const *argv, int timeout_s, const char *cwd,
				     struct hostexec_client_result *res, char **why)
	KITH_MUST_CHECK;
void hostexec_client_result_release(struct hostexec_client_result *res);

#endif
