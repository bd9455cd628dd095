/* planner_trace.c — what a query's trace holds, as JSON: the canonical
 * request, the trace id, the planner inputs that can change after the
 * query (horizon, "now", levels planned, the candidates in the order they
 * arrived with their relevance and usage, the estimated relevance of the
 * matches not retrieved, hint regions) and the QueryPlan bytes; and those
 * inputs read back for replay, which then needs neither the catalogue nor
 * the keyword index.
 *
 * All of it is compact JSON with sorted keys.  Reals are written with 17
 * significant digits, which jansson reads back to the same double, so a
 * replayed plan computes with exactly the numbers the query used; only
 * the plan's acceptance is printed with 4 digits (it is rounded to 4
 * decimals first). */
#include "him/planner_int.h"
#include "him/blake3.h"
#include "core/alloc.h"
#include "core/json.h"

#include <string.h>

/* The canonical request: compact JSON, sorted keys.  NULL when the goal is
 * not valid UTF-8. */
char *plan_request_json(const struct him_query *q)
{
	json_t *goal = json_string(q->goal), *o;
	char *s;

	if (!goal)
		return NULL;
	o = json_pack("{s:i, s:o, s:[i,i], s:i, s:s, s:s}", "budget_ms", q->budget_ms, "goal", goal,
		      "level_range", q->level_max, q->level_min, "max_tiles", q->max_tiles,
		      "snapshot_id", q->snapshot_id, "stream", q->stream);
	s = kjson_dump(o, true);
	json_decref(o);
	return s;
}

void plan_trace_id(const char *req, int64_t horizon, const char *version, char out[28])
{
	char *text = xasprintf("%s\n%lld\n%s", req, (long long)horizon, version);
	char hex[2 * BLAKE3_OUT_LEN + 1];

	blake3_hex(text, strlen(text), hex);
	snprintf(out, 28, "tr_%.24s", hex);
	free(text);
}

/* The candidates, in arrival order, as
 *   [tile_id, level, x, y, batch, source, relevance|null, access, last_ms].
 * Usage is recorded only for the tiles a beam or a plan picked at some
 * step (the others read as 0): usage only ever adds to a score, so on
 * replay every other tile scores the same or lower and still is not
 * picked, while the picked ones score exactly as before — the same beams,
 * children, plans and stops. */
char *plan_inputs_json(const struct plan *p)
{
	json_t *o = json_object(), *tiles = json_array(), *hints = json_array();
	char *s;

	for (size_t i = 0; i < p->n; i++) {
		const struct plan_cand *c = &p->c[i];
		bool use = c->picked && (c->row.access || c->row.last_ms);

		json_array_append_new(tiles, json_pack("[s,i,I,I,i,i,o,I,I]", c->row.tile_id,
						       c->row.level, (json_int_t)c->row.x,
						       (json_int_t)c->row.y, c->batch, (int)c->src,
						       c->known ? json_real(c->rel) : json_null(),
						       (json_int_t)(use ? c->row.access : 0),
						       (json_int_t)(use ? c->row.last_ms : 0)));
	}
	for (size_t i = 0; i < p->nhints; i++) {
		const struct plan_region *r = &p->hints[i];

		json_array_append_new(hints, json_pack("[i,i,I,I,I,I,f]", r->lmax, r->lmin,
						       (json_int_t)r->box[0], (json_int_t)r->box[1],
						       (json_int_t)r->box[2], (json_int_t)r->box[3],
						       r->conf));
	}
	json_object_set_new(o, "hints", hints);
	json_object_set_new(o, "horizon", json_integer(p->horizon));
	json_object_set_new(o, "mode", json_string(p->use_index ? "index" : "keyword"));
	json_object_set_new(o, "now_ms", json_integer(p->now_ms));
	json_object_set_new(o, "rest", json_real(p->rest_mass));
	json_object_set_new(o, "steps", json_integer(p->steps));
	json_object_set_new(o, "stop", json_string(p->stop ? p->stop : "done"));
	json_object_set_new(o, "tiles", tiles);
	s = kjson_dump(o, true);
	json_decref(o);
	return s;
}

/* One recorded candidate; false when malformed. */
static bool recorded_tile(json_t *v, struct plan_row *r, int *batch, int *src, double *rel)
{
	const char *id = json_string_value(json_array_get(v, 0));
	json_t *rv = json_array_get(v, 6);

	if (!json_is_array(v) || json_array_size(v) != 9 || !id || !him_is_tile_id(id))
		return false;
	for (size_t i = 1; i < 9; i++)
		if (i != 6 && !json_is_integer(json_array_get(v, i)))
			return false;
	if (!json_is_null(rv) && !json_is_number(rv))
		return false;
	memset(r, 0, sizeof(*r));
	memcpy(r->tile_id, id, HIM_ID_HEX + 1);
	r->level = (int)json_integer_value(json_array_get(v, 1));
	r->x = (long)json_integer_value(json_array_get(v, 2));
	r->y = (long)json_integer_value(json_array_get(v, 3));
	*batch = (int)json_integer_value(json_array_get(v, 4));
	*src = (int)json_integer_value(json_array_get(v, 5));
	*rel = json_is_null(rv) ? -1 : json_number_value(rv);
	r->access = json_integer_value(json_array_get(v, 7));
	r->last_ms = json_integer_value(json_array_get(v, 8));
	return *src >= 0 && *src < PLAN_SRC_COUNT && *batch >= 0;
}

/* The recorded candidates of batch p->batch (p->source: the "tiles"
 * array, checked by plan_apply_inputs). */
static enum kith_status recorded_batch(struct plan *p)
{
	json_t *tiles = p->source, *v;
	size_t i;

	json_array_foreach(tiles, i, v) {
		struct plan_row r;
		int batch, src;
		double rel;

		if (recorded_tile(v, &r, &batch, &src, &rel) && batch == p->batch)
			plan_add(p, &r, (enum plan_src)src, rel);
	}
	return KITH_OK;
}

static enum kith_status recorded_children(struct plan *p, int level, const size_t *parents,
					  size_t n, char **why)
{
	(void)level, (void)parents, (void)n, (void)why;
	return recorded_batch(p);
}

enum kith_status plan_apply_inputs(struct plan *p, json_t *in, char **why)
{
	json_t *tiles = kjson_arr(in, "tiles"), *hints = kjson_arr(in, "hints"), *v;
	long long steps = 0, now = 0;
	const char *mode = kjson_str(in, "mode");
	double rest = 0;
	size_t i;

	if (!tiles || !hints || !mode || !kjson_int(in, "steps", &steps) ||
	    !kjson_int(in, "now_ms", &now) || !kjson_num(in, "rest", &rest))
		return kith_why(why, KITH_EPROTO, "the trace's inputs are malformed");
	json_array_foreach(tiles, i, v) {
		struct plan_row r;
		int batch, src;
		double rel;

		if (!recorded_tile(v, &r, &batch, &src, &rel))
			return kith_why(why, KITH_EPROTO, "the trace's tiles[%zu] is malformed", i);
	}
	p->use_index = strcmp(mode, "index") == 0;
	p->replay_steps = (int)steps;
	p->now_ms = now;
	p->rest_mass = rest;
	p->hints = xcalloc(json_array_size(hints) + 1, sizeof(*p->hints));
	json_array_foreach(hints, i, v) {
		struct plan_region *r = &p->hints[p->nhints++];

		r->lmax = (int)json_integer_value(json_array_get(v, 0));
		r->lmin = (int)json_integer_value(json_array_get(v, 1));
		for (int b = 0; b < 4; b++)
			r->box[b] = (long)json_integer_value(json_array_get(v, 2 + (size_t)b));
		r->conf = json_number_value(json_array_get(v, 6));
	}
	/* hints first: a candidate's hint value is computed as it arrives */
	p->source = tiles;
	p->children = recorded_children;
	p->batch = 0;
	return recorded_batch(p);
}

enum kith_status plan_parse_request(const char *text, json_t **root, struct him_query *q,
				      char **why)
{
	json_t *lr;
	long long budget = 0, k = 0;

	memset(q, 0, sizeof(*q));
	*root = json_loads(text, 0, NULL);
	lr = kjson_arr(*root, "level_range");
	q->goal = kjson_str(*root, "goal");
	q->snapshot_id = kjson_str(*root, "snapshot_id");
	q->stream = kjson_str(*root, "stream");
	if (!q->goal || !q->snapshot_id || !q->stream || !lr || json_array_size(lr) != 2 ||
	    !kjson_int(*root, "budget_ms", &budget) || !kjson_int(*root, "max_tiles", &k))
		return kith_why(why, KITH_EPROTO, "the trace's request is malformed");
	q->budget_ms = (int)budget;
	q->max_tiles = (int)k;
	q->level_max = (int)json_integer_value(json_array_get(lr, 0));
	q->level_min = (int)json_integer_value(json_array_get(lr, 1));
	return KITH_OK;
}

/* A real as jansson prints it with JSON_REAL_PRECISION(4): "%.4g", then
 * ".0" when that looks like an integer, and no '+' or leading zeros in an
 * exponent — so these bytes are what json_dumps made before, and what a
 * JSON reader gets back as the same number. */
static void real4(double v, char out[32])
{
	char *e;

	snprintf(out, 32, "%.4g", v);
	if (!strchr(out, '.') && !strchr(out, 'e'))
		memcpy(out + strlen(out), ".0", 3);       /* "%.4g" is at most 11 chars */
	if ((e = strchr(out, 'e'))) {
		char *start = e + 1, *end = e + 2;

		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start)
			memmove(start, end, strlen(end) + 1);
	}
}

/* The QueryPlan, compact with sorted keys.  Written directly: every string
 * in it is a checked name or hex, so nothing needs escaping, and this runs
 * once per query. */
char *plan_output(const struct plan *p, const char *trace_id)
{
	struct buf b = BUF_INIT(0);
	char acc[32];
	char *s;

	real4(p->acceptance, acc);
	buf_printf(&b, "{\"acceptance\":%s,\"budget_ms\":%d,\"tile_ids\":[", acc,
		   p->q->budget_ms);
	for (size_t i = 0; i < p->nchosen; i++) {
		const struct plan_row *m = &p->c[p->chosen[i]].row;

		buf_printf(&b, "%s{\"level\":%d,\"snapshot_id\":\"%s\",\"stream\":\"%s\","
			   "\"tile_id\":\"%s\",\"x\":%ld,\"y\":%ld}", i ? "," : "", m->level,
			   p->q->snapshot_id, p->q->stream, m->tile_id, m->x, m->y);
	}
	buf_printf(&b, "],\"trace_id\":\"%s\"}", trace_id);
	s = xstrdup(buf_str(&b));
	buf_release(&b);
	return s;
}
