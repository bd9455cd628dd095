/* api.c — HIM's HTTP API: one route table, one small handler per route.
 *
 * Handlers parse with wire.c, call the store, and map statuses to HTTP the
 * same way everywhere (status_for): bad bodies 422, unknown snapshots in a
 * request 400, missing things addressed by the path 404, duplicates and
 * conflicts 409.  httpd/ does routing, bodies (413), tokens (401) and the
 * loopback rule.  Semantic records, goal queries on semantic streams and
 * their replay are in api_semantic.c; the query and replay handlers here
 * hand those over first.  The hormone routes are in api_hormones.c. */
#include "him/api_int.h"
#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>


/* HTTP status for a store status; `notfound` is what KITH_ENOTFOUND means
 * for this route (404 for the addressed resource, 400 for a reference in
 * the body). */
static int status_for(enum kith_status rc, int notfound)
{
	switch (rc) {
	case KITH_OK: return 200;
	case KITH_EINVAL: return 422;
	case KITH_ENOTFOUND: return notfound;
	case KITH_EEXIST:
	case KITH_ECONFLICT: return 409;
	case KITH_ETOOBIG: return 413;
	case KITH_EAUTH: return 422;
	default: return 500;
	}
}

static void fail(struct httpd_resp *resp, enum kith_status rc, int notfound, char *why)
{
	httpd_error(resp, status_for(rc, notfound), "%s", why ? why : kith_strerror(rc));
	free(why);
}

static struct him_api *api_of(const struct httpd_req *req)
{
	return req->app;
}

static struct him *him_of(const struct httpd_req *req)
{
	return api_of(req)->h;
}

/* A path segment that must be a stream or snapshot name (400 otherwise). */
static int check_name(struct httpd_resp *resp, const char *what, const char *s)
{
	char *why = NULL;

	if (him_check_name(what, s, &why) == KITH_OK)
		return 1;
	httpd_error(resp, 400, "%s", why);
	free(why);
	return 0;
}

static int parse_coord(struct httpd_resp *resp, const char *what, const char *s, long max,
		       long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > max || (s[0] == '0' && s[1])) {
		httpd_error(resp, 400, "%s must be an integer between 0 and %ld", what, max);
		return 0;
	}
	*out = v;
	return 1;
}

static void h_health(const struct httpd_req *req, struct httpd_resp *resp)
{
	httpd_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_metrics(const struct httpd_req *req, struct httpd_resp *resp)
{
	him_metrics_text(him_of(req), &resp->body);
	resp->content_type = "text/plain; version=0.0.4";
}

static void h_snapshot_list(const struct httpd_req *req, struct httpd_resp *resp)
{
	const char *limit = httpd_query(req, "limit");
	struct him_snapshot *s = NULL;
	size_t n = 0;
	long lim = 0;
	char *why = NULL;
	enum kith_status rc;

	if (limit && *limit && !parse_coord(resp, "limit", limit, 1000000, &lim)) {
		resp->status = 422;
		return;
	}
	rc = him_snapshot_list(him_of(req), (size_t)lim, &s, &n, &why);
	if (rc) {
		fail(resp, rc, 404, why);
		return;
	}
	httpd_json(resp, 200, him_wire_snapshots_json(s, n));
	him_snapshots_free(s, n);
}

static void h_snapshot_create(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_snapshot in = { 0 }, out = { 0 };
	char *why = NULL;
	enum kith_status rc = him_wire_parse_snapshot(req->body, req->body_len, &in, &why);

	if (rc == KITH_OK)
		rc = him_snapshot_create(him_of(req), &in, &out, &why);
	if (rc == KITH_OK)
		httpd_json(resp, 201, him_snapshot_json(&out));
	else
		fail(resp, rc, 400, why);
	him_snapshot_release(&in);
	him_snapshot_release(&out);
}

static void h_snapshot_get(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_snapshot s = { 0 };
	char *why = NULL;
	enum kith_status rc;

	if (!check_name(resp, "snapshot_id", req->params[0]))
		return;
	rc = him_snapshot_get(him_of(req), req->params[0], &s, &why);
	if (rc) {
		fail(resp, rc, 404, why);
		return;
	}
	httpd_json(resp, 200, him_snapshot_json(&s));
	him_snapshot_release(&s);
}

static void h_merge(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_wire_merge m = { 0 };
	struct him_merge_result r = { 0 };
	char *why = NULL;
	enum kith_status rc;

	if (!check_name(resp, "snapshot_id", req->params[0]))
		return;
	rc = him_wire_parse_merge(req->body, req->body_len, &m, &why);
	if (rc == KITH_OK)
		rc = him_merge(him_of(req), req->params[0], (const char *const *)m.with, m.nwith,
			       m.snapshot_id, m.merge_policy, &r, &why);
	if (rc == KITH_OK) {
		httpd_json(resp, 201, him_wire_merge_json(&r));
	} else if (rc == KITH_ECONFLICT && r.conflicts) {
		httpd_json(resp, 409, json_pack("{s:s, s:O}", "detail",
						why ? why : "the snapshots conflict",
						"conflicts", r.conflicts));
		free(why);
	} else {
		fail(resp, rc, 404, why);
	}
	him_merge_result_release(&r);
	him_wire_merge_release(&m);
}

static void h_ingest(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_wire_tiles t = { 0 };
	struct him_tile_meta *out = NULL;
	char *why = NULL;
	enum kith_status rc = him_wire_parse_tiles(req->body, req->body_len, &t, &why);

	if (rc == KITH_OK) {
		out = xcalloc(t.n, sizeof(*out));
		rc = him_put_tiles(him_of(req), t.recs, t.n, out, &why);
	}
	if (rc == KITH_OK)
		httpd_json(resp, 201, him_wire_metas_json(out, t.n));
	else
		fail(resp, rc, 400, why);
	for (size_t i = 0; out && i < t.n; i++)
		him_tile_meta_release(&out[i]);
	free(out);
	him_wire_tiles_release(&t);
}

/* How the tile is stored on disk, for the X-HIM-Stored-As header. */
static const char *stored_as(struct him *h, const char *tile_id)
{
	sqlite3 *db = him_db_acquire(h);
	struct him_row row;
	const char *s = "unknown";

	if (db && him_row_by_id(db, tile_id, &row, NULL) == KITH_OK) {
		s = row.encoding == HIM_ENC_DELTA ? "delta" : "full";
		him_row_release(&row);
	}
	if (db)
		him_db_release(h, db);
	return s;
}

static void raw_tile(struct him *h, const struct him_tile_meta *m, const struct buf *payload,
		     struct httpd_resp *resp)
{
	char v[64];

	resp->status = 200;
	resp->content_type = "application/octet-stream";
	buf_append(&resp->body, payload->data ? payload->data : "", payload->len);
	httpd_add_header(resp, "X-HIM-Tile-Id", m->tile_id);
	httpd_add_header(resp, "X-HIM-Checksum", m->checksum);
	snprintf(v, sizeof(v), "%ld,%ld,%ld", m->shape[0], m->shape[1], m->shape[2]);
	httpd_add_header(resp, "X-HIM-Shape", v);
	httpd_add_header(resp, "X-HIM-Dtype", m->dtype);
	snprintf(v, sizeof(v), "%d/%ld/%ld", m->level, m->x, m->y);
	httpd_add_header(resp, "X-HIM-Coordinate", v);
	if (m->parent_tile_id)
		httpd_add_header(resp, "X-HIM-Parent-Tile-Id", m->parent_tile_id);
	httpd_add_header(resp, "X-HIM-Stored-As", stored_as(h, m->tile_id));
}

static void h_tile_get(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him *h = him_of(req);
	struct him_tile_meta meta = { 0 };
	struct buf payload = BUF_INIT(0);
	const char *accept = httpd_header(req, "Accept");
	long level, x, y;
	char *why = NULL;
	enum kith_status rc;

	if (!check_name(resp, "stream", req->params[0]) ||
	    !check_name(resp, "snapshot_id", req->params[1]) ||
	    !parse_coord(resp, "level", req->params[2], HIM_MAX_LEVEL, &level) ||
	    !parse_coord(resp, "x", req->params[3], HIM_MAX_COORD, &x) ||
	    !parse_coord(resp, "y", req->params[4], HIM_MAX_COORD, &y))
		return;
	rc = him_get_tile(h, req->params[0], req->params[1], (int)level, x, y, &meta, &payload,
			  &why);
	if (rc) {
		if (rc == KITH_EPROTO)
			log_error("him", "%s", why ? why : "corrupt tile");
		fail(resp, rc, 404, why);
	} else if (accept && strstr(accept, "application/octet-stream")) {
		raw_tile(h, &meta, &payload, resp);
	} else {
		httpd_json(resp, 200, him_wire_tile_json(&meta, payload.data, payload.len));
	}
	him_tile_meta_release(&meta);
	buf_release(&payload);
}

static void h_query(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_wire_query q = { 0 };
	char *why = NULL, *plan = NULL;
	enum kith_status rc = him_wire_parse_query(req->body, req->body_len, &q, &why);

	if (rc == KITH_OK && api_sem_query(api_of(req), &q, resp)) {
		him_wire_query_release(&q);
		return;
	}
	if (rc == KITH_OK)
		rc = him_query(him_of(req), &q.q, &plan, &why);
	if (rc == KITH_OK) {
		buf_puts(&resp->body, plan);
		resp->status = 200;
	} else {
		fail(resp, rc, 400, why);
	}
	free(plan);
	him_wire_query_release(&q);
}

static void h_prefetch(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_wire_hints hints = { 0 };
	char *why = NULL;
	enum kith_status rc = him_wire_parse_hints(req->body, req->body_len, &hints, &why);

	if (rc == KITH_OK)
		rc = him_prefetch(him_of(req), hints.hints, hints.n, &why);
	if (rc == KITH_OK)
		httpd_json(resp, 202, json_pack("{s:s, s:I}", "status", "accepted", "hints",
						(json_int_t)hints.n));
	else
		fail(resp, rc, 400, why);
	him_wire_hints_release(&hints);
}

static void h_replay(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_wire_replay r = { 0 };
	char *why = NULL, *plan = NULL;
	enum kith_status rc = him_wire_parse_replay(req->body, req->body_len, &r, &why);

	if (rc == KITH_OK && api_sem_replay(api_of(req), r.snapshot_id, r.trace_id, resp)) {
		him_wire_replay_release(&r);
		return;
	}
	if (rc == KITH_OK)
		rc = him_replay(him_of(req), r.snapshot_id, r.trace_id, &plan, &why);
	if (rc == KITH_OK) {
		buf_puts(&resp->body, plan);
		resp->status = 200;
	} else {
		fail(resp, rc, 404, why);
	}
	free(plan);
	him_wire_replay_release(&r);
}

static const struct httpd_route routes[] = {
	{ "GET", "/healthz", h_health, "liveness", 1 },
	{ "GET", "/metrics", h_metrics, "Prometheus metrics", 0 },
	{ "GET", "/v1/snapshots", h_snapshot_list, "list snapshots, newest first", 0 },
	{ "POST", "/v1/snapshots", h_snapshot_create, "create a snapshot", 0 },
	{ "GET", "/v1/snapshots/:id", h_snapshot_get, "one snapshot", 0 },
	{ "POST", "/v1/snapshots/:id/merge", h_merge, "merge snapshots", 0 },
	{ "POST", "/v1/tiles", h_ingest, "bulk ingest", 0 },
	{ "GET", "/v1/tiles/:stream/:snapshot/:level/:x/:y", h_tile_get, "the newest tile at a "
	  "coordinate", 0 },
	{ "POST", "/v1/query", h_query, "plan a query", 0 },
	{ "POST", "/v1/records", api_records, "add records to a semantic index (extension)", 0 },
	{ "POST", "/v1/prefetch", h_prefetch, "stage hinted tiles", 0 },
	{ "POST", "/v1/replay", h_replay, "re-run a recorded trace", 0 },
	{ "GET", "/v1/hormones/:channel_id", api_hormones_get, "a channel's latest hormone levels "
	  "(extension)", 0 },
	{ "PUT", "/v1/hormones/:channel_id", api_hormones_put, "record a channel's hormone levels "
	  "(extension)", 0 },
	{ "GET", "/v1/hormones/:channel_id/history", api_hormones_history, "a channel's hormone "
	  "history by time bucket (extension)", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

const struct httpd_route *him_api_routes(void)
{
	return routes;
}

enum kith_status him_api_start(struct him *h, const struct him_api_config *cfg,
			       struct him_api **out, char **why)
{
	struct him_api *a = xcalloc(1, sizeof(*a));
	struct httpd_config hc = {
		.name = "HIM API",
		.host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1",
		.port = cfg->port,
		.token = cfg->token && *cfg->token ? cfg->token : NULL,
		.max_body = cfg->max_body ? cfg->max_body : 64u << 20,
		.routes = routes,
		.app = a,
		.threads = cfg->threads ? cfg->threads : 4,
	};
	enum kith_status rc;

	*out = NULL;
	a->h = h;
	if (cfg->embedder) {
		if (!cfg->embedder->embed || !cfg->embedder->model || cfg->embedder->dim < 1 ||
		    cfg->embedder->dim > HIM_VINDEX_MAX_DIM) {
			rc = kith_why(why, KITH_ECONFIG, "the embedder %s has %d dimensions; the "
				      "semantic index takes 1 to %d",
				      cfg->embedder->model ? cfg->embedder->model : "(unnamed)",
				      cfg->embedder->dim, HIM_VINDEX_MAX_DIM);
			free(a);
			return rc;
		}
		a->emb = *cfg->embedder;
		a->has_embedder = true;
	}
	a->sem = api_sem_new(h);
	rc = httpd_start(&hc, &a->srv, why);
	if (rc == KITH_ECONFIG && why && *why) {
		char *more = xasprintf("%s; set HIM_API_TOKEN", *why);

		free(*why);
		*why = more;
	}
	if (rc) {
		api_sem_free(a->sem);
		free(a);
		return rc;
	}
	*out = a;
	return KITH_OK;
}

int him_api_port(const struct him_api *a)
{
	return httpd_port(a->srv);
}

void him_api_stop(struct him_api *a)
{
	if (!a)
		return;
	httpd_stop(a->srv);
	api_sem_free(a->sem);
	free(a);
}
