/* himtest.h — driving a real `kith him serve` from tests and benchmarks. */
#ifndef KITH_HIMTEST_H
#define KITH_HIMTEST_H

#include "support/itest.h"
#include "core/buf.h"

struct him_server {
	struct proc *proc;
	char base[64];      /* "http://127.0.0.1:PORT" */
	const char *token;  /* sent as a bearer token when set */
};

/* Start `kith him serve --port 0 --data-dir DIR` with the env (plus extra
 * args, NULL-terminated) and wait (deadline 20 s) for it to print its
 * address.  Returns 0, or -1 with *failure set. */
int him_server_start(struct him_server *s, struct kith_env *e, const char *dir,
		     const char **failure, ...);
/* SIGTERM and wait (clean stop) / SIGKILL. */
int him_server_stop(struct him_server *s, struct proc_result *r);
void him_server_kill(struct him_server *s);

/* The start of a HIM API test program: a fresh env called `name`, the store
 * dir "<name>-store" in the temp dir (heap, into *store_dir) and a server
 * on it.  Returns 0, or -1 having printed why. */
int him_test_start(struct kith_env *e, struct him_server *s, char **store_dir,
		   const char *name);
/* A server on `dir` that wants `token`: HIM_API_TOKEN is set in the env
 * (and left set); s->token stays NULL, so requests go without one until the
 * test sets it.  Returns 0, or -1 with a test failure recorded. */
int him_server_start_guarded(struct him_server *s, struct kith_env *e, const char *dir,
			     const char *token);
/* him_server_stop, recording a test failure unless the server stopped and
 * exited 0.  Returns -1 only when it did not stop. */
int him_server_stop_clean(struct him_server *s);
/* `kith him fsck --data-dir DIR`: records a test failure unless it exits 0
 * and reports "0 problems". */
void him_check_fsck_clean(struct kith_env *e, const char *dir);

/* One HTTP exchange.  Returns the status (or -1 when no answer); the body
 * goes to *body (reset first).  `accept` may be NULL. */
long him_http(const struct him_server *s, const char *method, const char *path,
	      const char *json_body, const char *accept, struct buf *body);
/* Same, with a custom header list (NULL-terminated "Name: v") and the
 * response headers wanted back (value of `want_header` into *header_value,
 * heap or NULL). */
long him_http_ex(const struct him_server *s, const char *method, const char *path,
		 const char *body, size_t body_len, const char *const *headers,
		 const char *want_header, char **header_value, struct buf *resp_body);

#endif
