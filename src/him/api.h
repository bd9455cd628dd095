/* api.h — HIM's HTTP API (the spec's endpoints plus snapshot create/list,
 * health, metrics, and our semantic extensions: POST /v1/records and
 * goal queries answered from a semantic index), served by httpd/ over a
 * struct him.
 *
 * Routes live in one table (api.c); docs/him-openapi.json describes the
 * same routes and a test keeps the two in step. */
#ifndef KITH_HIM_API_H
#define KITH_HIM_API_H

#include "him/him.h"
#include "him/vindex.h"
#include "httpd/httpd.h"

struct him_api_config {
	const char *host;     /* default 127.0.0.1 */
	int port;             /* 0 = ephemeral */
	const char *token;    /* required beyond loopback */
	unsigned threads;     /* default 4 */
	size_t max_body;      /* default 64 MiB */
	/* Turns texts into vectors for POST /v1/records and semantic goal
	 * queries; NULL = no semantic features (those requests get 501).
	 * Borrowed: it (and its model string and ctx) must outlive the API.
	 * dim must be known (1..HIM_VINDEX_MAX_DIM). */
	const struct him_embedder *embedder;
};

struct him_api;

/* Start serving h (borrowed; must outlive the API). */
enum kith_status him_api_start(struct him *h, const struct him_api_config *cfg,
			       struct him_api **out, char **why) KITH_MUST_CHECK;
int him_api_port(const struct him_api *a);
/* Stop serving (waits for running handlers), close the semantic indexes the
 * API opened (merging what they hold pending) and free.  NULL is a no-op. */
void him_api_stop(struct him_api *a);
/* The route table (terminated by a NULL method). */
const struct httpd_route *him_api_routes(void);

#endif
