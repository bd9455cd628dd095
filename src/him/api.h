/* api.h — HIM's HTTP API (the spec's endpoints plus snapshot create/list,
 * health and metrics), served by httpd/ over a struct him.
 *
 * Routes live in one table (api.c); docs/him-api.yaml describes the same
 * routes and a test keeps the two in step. */
#ifndef KITH_HIM_API_H
#define KITH_HIM_API_H

#include "him/him.h"
#include "httpd/httpd.h"

struct him_api_config {
	const char *host;     /* default 127.0.0.1 */
	int port;             /* 0 = ephemeral */
	const char *token;    /* required beyond loopback */
	unsigned threads;     /* default 4 */
	size_t max_body;      /* default 64 MiB */
};

enum kith_status him_api_start(struct him *h, const struct him_api_config *cfg,
			       struct httpd **out, char **why) KITH_MUST_CHECK;
/* The route table (terminated by a NULL method). */
const struct httpd_route *him_api_routes(void);

#endif
