/* httpd.h — kith's HTTP servers on libmicrohttpd: routes, bodies, auth.
 *
 * Shared by the HIM API and (later) the tmux control and host-exec APIs.
 * A server is a table of routes ("/v1/tiles/:stream/:snapshot" patterns)
 * and handlers that fill a response; this file does everything around
 * them: body collection with a cap (413), bearer-token checks in constant
 * time (401), unknown paths (404) and methods (405), JSON errors, and
 * refusing to listen beyond loopback without a token. */
#ifndef KITH_HTTPD_H
#define KITH_HTTPD_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

#define HTTPD_MAX_PARAMS 8

struct httpd_req {
	const char *method;
	const char *path;                 /* as received, without the query */
	const char *params[HTTPD_MAX_PARAMS]; /* ":name" captures, percent-decoded */
	size_t nparams;
	const char *body;                 /* NUL-terminated; "" when none */
	size_t body_len;
	void *app;                        /* httpd_config.app */
	void *conn_;                      /* for httpd_header / httpd_query */
};

/* Request header / query-string argument, or NULL. */
const char *httpd_header(const struct httpd_req *r, const char *name);
const char *httpd_query(const struct httpd_req *r, const char *name);

struct httpd_resp {
	int status;                       /* default 200 */
	const char *content_type;         /* default application/json */
	struct buf body;
	char *headers[8];                 /* extra "Name: value" (heap), NULL-terminated */
};

/* Set the body to JSON (steals the reference) / to {"detail": "..."}. */
void httpd_json(struct httpd_resp *r, int status, json_t *body);
void httpd_error(struct httpd_resp *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void httpd_add_header(struct httpd_resp *r, const char *name, const char *value);

typedef void (*httpd_handler)(const struct httpd_req *req, struct httpd_resp *resp);

struct httpd_route {
	const char *method;    /* "GET", "POST", … */
	const char *pattern;   /* "/v1/snapshots/:id/merge" */
	httpd_handler fn;
	const char *summary;   /* one line, for docs and the OpenAPI check */
	int public_;           /* non-zero: no token needed (e.g. /healthz) */
};

struct httpd_config {
	const char *name;              /* for logs: "him" */
	const char *host;              /* default "127.0.0.1" */
	int port;                      /* 0 = ephemeral */
	const char *token;             /* bearer token; required beyond loopback */
	size_t max_body;               /* default 16 MiB; larger → 413 */
	const struct httpd_route *routes;  /* terminated by {NULL} */
	void *app;
	unsigned threads;              /* worker threads; default 4 */
};

struct httpd;

/* Start serving.  Refuses (KITH_ECONFIG) to bind a non-loopback host
 * without a token. */
enum kith_status httpd_start(const struct httpd_config *cfg, struct httpd **out, char **why)
	KITH_MUST_CHECK;
int httpd_port(const struct httpd *s);
void httpd_stop(struct httpd *s);   /* stops, waits for handlers, frees */

/* Is `host` a loopback name or address (127.0.0.0/8, ::1, localhost)? */
int httpd_is_loopback(const char *host);

#endif
