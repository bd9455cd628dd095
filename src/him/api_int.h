/* api_int.h — what HIM's API files share (api.c: the route table and the
 * spec's routes; api_semantic.c: records, semantic queries and their
 * replay; api_hormones.c: hormone levels and history). */
#ifndef KITH_HIM_API_INT_H
#define KITH_HIM_API_INT_H

#include <stdbool.h>

#include "him/api.h"
#include "him/him_int.h"
#include "him/wire.h"

struct api_sem;

/* The httpd application object of the HIM API. */
struct him_api {
	struct him *h;
	struct httpd *srv;
	bool has_embedder;
	struct him_embedder emb;   /* copy of the configured one (strings borrowed) */
	struct api_sem *sem;       /* open semantic indexes */
};

/* ---- api_semantic.c ---- */

/* The map of open semantic indexes.  Without an embedder (has_embedder
 * false) records are refused and goal queries plan by keywords; semantic
 * traces still replay (they carry their query vectors). */
struct api_sem *api_sem_new(struct him *h);
/* Closes every index opened (after the server stopped). */
void api_sem_free(struct api_sem *s);

/* POST /v1/records. */
void api_records(const struct httpd_req *req, struct httpd_resp *resp);
/* POST /v1/query with a goal on a stream with a semantic index for the
 * served embedder: answered here (true).  false: not semantic, plan as
 * usual (nothing was written to resp). */
bool api_sem_query(struct him_api *a, const struct him_wire_query *q, struct httpd_resp *resp);
/* POST /v1/replay of a semantic trace: answered here (true); false for
 * any other trace (and unknown ones), for him_replay to handle. */
bool api_sem_replay(struct him_api *a, const char *snapshot_id, const char *trace_id,
		    struct httpd_resp *resp);

/* ---- api_hormones.c ---- */

/* GET / PUT /v1/hormones/:channel_id, GET /v1/hormones/:channel_id/history. */
void api_hormones_get(const struct httpd_req *req, struct httpd_resp *resp);
void api_hormones_put(const struct httpd_req *req, struct httpd_resp *resp);
void api_hormones_history(const struct httpd_req *req, struct httpd_resp *resp);

#endif
