/* planner_trace.c — what a query's trace holds, as JSON: the canonical
 * request, the trace id, the planner inputs that can change after the
 * query (horizon, "now", levels planned, relevance, usage, hint regions)
 * and the QueryPlan bytes; and those inputs read back for replay.
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

/* Usage is recorded only for the tiles a beam or a plan picked at some
 * step: usage only ever adds to a score, so on replay every other tile
 * (usage 0) scores the same or lower and still is not picked, while the
 * picked ones score exactly as before — the same beams, plans and stops,
 * with traces of a few entries instead of one per accessed tile. */
char *plan_inputs_json(const struct plan *p)
{
	json_t *o = json_object(), *rel = json_object(), *use = json_object(), *hints = json_array();
	char *s;

	for (size_t i = 0; i < p->n; i++) {
		const struct plan_cand *c = &p->c[i];
		const char *id = c->row->tile_id;

		if (p->use_index ? c->known : c->rel > 0)
			json_object_set_new(rel, id, json_real(c->rel));
		if (c->picked && (c->access || c->last_ms))
			json_object_set_new(use, id, json_pack("[I,I]", (json_int_t)c->access,
							       (json_int_t)c->last_ms));
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
	json_object_set_new(o, "relevance", rel);
	json_object_set_new(o, "steps", json_integer(p->steps));
	json_object_set_new(o, "stop", json_string(p->stop ? p->stop : "done"));
	json_object_set_new(o, "usage", use);
	s = kjson_dump(o, true);
	json_decref(o);
	return s;
}

/* A recorded {tile_id: value} object as parallel arrays (borrowed). */
static size_t object_arrays(json_t *obj, const char ***ids, json_t ***vals)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	*ids = xcalloc(json_object_size(obj) + 1, sizeof(**ids));
	*vals = xcalloc(json_object_size(obj) + 1, sizeof(**vals));
	json_object_foreach(obj, key, v) {
		(*ids)[n] = key;
		(*vals)[n++] = v;
	}
	return n;
}

static void set_recorded_rel(struct plan_cand *c, size_t k, void *ud)
{
	c->rel = json_number_value(((json_t **)ud)[k]);
	c->known = true;
}

static void set_recorded_use(struct plan_cand *c, size_t k, void *ud)
{
	json_t *v = ((json_t **)ud)[k];

	c->access = json_integer_value(json_array_get(v, 0));
	c->last_ms = json_integer_value(json_array_get(v, 1));
}

static void apply_map(struct plan *p, json_t *obj,
		      void (*each)(struct plan_cand *c, size_t k, void *ud))
{
	const char **ids;
	json_t **vals;
	size_t n = object_arrays(obj, &ids, &vals);

	plan_match_ids(p, ids, n, each, vals);
	free(ids);
	free(vals);
}

/* Recorded inputs back into a plan built over the rows up to the horizon. */
enum kith_status plan_apply_inputs(struct plan *p, const json_t *in, char **why)
{
	json_t *rel = kjson_obj(in, "relevance"), *use = kjson_obj(in, "usage"), *v;
	json_t *hints = kjson_arr(in, "hints");
	long long steps = 0, now = 0;
	const char *mode = kjson_str(in, "mode");
	size_t i;

	if (!rel || !use || !hints || !mode || !kjson_int(in, "steps", &steps) ||
	    !kjson_int(in, "now_ms", &now))
		return kith_why(why, KITH_EPROTO, "the trace's inputs are malformed");
	p->use_index = strcmp(mode, "index") == 0;
	p->replay_steps = (int)steps;
	p->now_ms = now;
	for (i = 0; i < p->n; i++)
		p->c[i].access = p->c[i].last_ms = 0;
	apply_map(p, rel, set_recorded_rel);
	apply_map(p, use, set_recorded_use);
	p->hints = xcalloc(json_array_size(hints) + 1, sizeof(*p->hints));
	json_array_foreach(hints, i, v) {
		struct plan_region *r = &p->hints[p->nhints++];

		r->lmax = (int)json_integer_value(json_array_get(v, 0));
		r->lmin = (int)json_integer_value(json_array_get(v, 1));
		for (int b = 0; b < 4; b++)
			r->box[b] = (long)json_integer_value(json_array_get(v, 2 + (size_t)b));
		r->conf = json_number_value(json_array_get(v, 6));
	}
	return KITH_OK;
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

char *plan_output(const struct plan *p, const char *trace_id)
{
	json_t *o = json_object(), *tiles = json_array();
	char *s, *r;

	for (size_t i = 0; i < p->nchosen; i++) {
		const struct plan_row *m = p->c[p->chosen[i]].row;

		json_array_append_new(tiles, json_pack("{s:i, s:s, s:s, s:s, s:I, s:I}",
						       "level", m->level, "snapshot_id",
						       p->q->snapshot_id, "stream", p->q->stream,
						       "tile_id", m->tile_id, "x", (json_int_t)m->x,
						       "y", (json_int_t)m->y));
	}
	json_object_set_new(o, "acceptance", json_real(p->acceptance));
	json_object_set_new(o, "budget_ms", json_integer(p->q->budget_ms));
	json_object_set_new(o, "tile_ids", tiles);
	json_object_set_new(o, "trace_id", json_string(trace_id));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(4));
	json_decref(o);
	r = xstrdup(s ? s : "{}");
	free(s);
	return r;
}
