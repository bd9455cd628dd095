/* api_hormones.c — the hormone routes of the HIM API (an extension of the
 * spec, for SEL's hormone history), over hormones.c:
 *
 *   GET /v1/hormones/:channel_id          the latest levels, 404 before any
 *   PUT /v1/hormones/:channel_id          record a sample {levels, at_ms?}
 *   GET /v1/hormones/:channel_id/history  buckets of one pyramid level
 *
 * Every client mistake — a bad channel id, body, level, bucket or query
 * parameter — is a 400 with the reason (the tile routes answer 422 for a
 * bad body; these follow the contract).  Numbers go out with 15
 * significant digits, so a level put as 0.1 reads back as 0.1 rather than
 * 0.10000000000000001; the tiles keep all 17. */
#include "him/api_int.h"
#include "him/hormones.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct him *him_of(const struct httpd_req *req)
{
	return ((struct him_api *)req->app)->h;
}

/* 200 with `j` (stolen) as the body. */
static void reply(struct httpd_resp *resp, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

	if (!text) {
		httpd_error(resp, 500, "cannot encode the response");
	} else {
		resp->status = 200;
		buf_reset(&resp->body);
		(void)buf_puts(&resp->body, text);
	}
	free(text);
	json_decref(j);
}

static void fail(struct httpd_resp *resp, enum kith_status rc, char *why)
{
	const char *what = why ? why : kith_strerror(rc);
	int status = rc == KITH_EINVAL ? 400 : rc == KITH_ENOTFOUND ? 404 : 500;

	if (status == 500)
		log_error("him", "hormones: %s", what);
	httpd_error(resp, status, "%s", what);
	free(why);
}

/* {channel_id, levels, at_ms} */
static json_t *state_json(const char *channel_id, const struct him_hormone_levels *lv,
			  int64_t at_ms)
{
	return json_pack("{s:s, s:o, s:I}", "channel_id", channel_id, "levels",
			 him_hormone_levels_json(lv), "at_ms", (json_int_t)at_ms);
}

void api_hormones_get(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_hormone_state st;
	char *why = NULL;
	enum kith_status rc = him_hormones_get(him_of(req), req->params[0], &st, &why);

	if (rc)
		fail(resp, rc, why);
	else
		reply(resp, state_json(req->params[0], &st.levels, st.at_ms));
}

void api_hormones_put(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_hormones_put_body b;
	char snap[HIM_NAME_MAX + 1];
	char *why = NULL;
	int64_t at;
	/* The id first, so a bad id is reported as such whatever the body. */
	enum kith_status rc = him_hormones_snapshot_id(req->params[0], snap, &why);

	if (!rc)
		rc = him_hormones_parse_put(req->body, req->body_len, &b, &why);
	if (rc) {
		fail(resp, rc, why);
		return;
	}
	at = b.has_at ? b.at_ms : clock_now_ms();
	rc = him_hormones_put(him_of(req), req->params[0], &b.levels, at, &why);
	if (rc)
		fail(resp, rc, why);
	else
		reply(resp, state_json(req->params[0], &b.levels, at));
}

/* A query parameter that must be a decimal integer in [lo, hi]; absent or
 * empty leaves *out alone.  0 (and a 400) when it is anything else. */
static int query_int(const struct httpd_req *req, struct httpd_resp *resp, const char *name,
		     long long lo, long long hi, long long *out)
{
	const char *s = httpd_query(req, name);
	char *end = NULL;
	long long v;

	if (!s || !*s)
		return 1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < lo || v > hi) {
		httpd_error(resp, 400, "%s must be an integer between %lld and %lld", name, lo, hi);
		return 0;
	}
	*out = v;
	return 1;
}

void api_hormones_history(const struct httpd_req *req, struct httpd_resp *resp)
{
	const char *label = httpd_query(req, "bucket");
	long long from = 0, to = HIM_HORMONE_AT_MAX, limit = HIM_HORMONE_HISTORY_DEFAULT;
	struct him_hormone_point *p = NULL;
	size_t n = 0;
	bool truncated = false;
	int level = 0;
	char *why = NULL;
	json_t *points, *j;
	enum kith_status rc;

	if (label && *label && (level = him_hormone_bucket_level(label)) < 0) {
		httpd_error(resp, 400, "bucket must be 5m, 1h, 1d or 1w");
		return;
	}
	if (!query_int(req, resp, "from", 0, HIM_HORMONE_AT_MAX, &from) ||
	    !query_int(req, resp, "to", 0, HIM_HORMONE_AT_MAX, &to) ||
	    !query_int(req, resp, "limit", 1, HIM_HORMONE_HISTORY_MAX, &limit))
		return;
	if (from > to) {
		httpd_error(resp, 400, "from must not be after to");
		return;
	}
	rc = him_hormones_history(him_of(req), req->params[0], level, from, to, (size_t)limit, &p,
				  &n, &truncated, &why);
	if (rc) {
		fail(resp, rc, why);
		return;
	}
	points = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(points, him_hormone_point_json(&p[i]));
	j = json_pack("{s:s, s:s, s:o, s:b}", "channel_id", req->params[0], "bucket",
		      him_hormone_bucket_label(level), "points", points, "truncated", truncated);
	reply(resp, j);
	free(p);
}
