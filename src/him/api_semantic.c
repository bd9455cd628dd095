/* api_semantic.c — HIM's semantic HTTP features: POST /v1/records (our
 * extension: texts or vectors into a semantic index), goal queries answered
 * by a semantic index, and the replay of their traces.
 *
 * The embedder arrives through him_api_config (HIM knows nothing of llm/).
 * The API keeps one open him_vindex per (stream, snapshot, model, dim) in a
 * small map under a mutex, opened on first use and closed at shutdown;
 * entries are never dropped while serving, so a handler may use an index
 * after letting go of the map.  A goal query is semantic when records were
 * added to its (stream, snapshot) — the index is open here, or opens with
 * vectors in it; a (stream, snapshot) found empty is remembered with the
 * number of tiles its index stream had, so keyword queries do not reopen
 * it each time.
 *
 * Replay: a semantic trace (planner_version "kith-semantic/1" in the
 * traces table; no schema change) records the request, the query vector,
 * the level-0 tiles the search loaded (with coordinates), the hits that
 * came from the delta buffer (not in any tile) with their scores, and the
 * search's recall estimate.  The answer is always computed the way replay
 * computes it — the recorded tiles re-scored with him_vindex_score_tiles
 * (tiles are content-addressed, so a tile id names its vectors forever),
 * merged with the recorded delta hits, best k — so replay gives the same
 * bytes by construction.  trace_id hashes the request and those inputs:
 * the same question over the same index state names the same trace. */
#include "him/api_int.h"
#include "him/blake3.h"
#include "him/wire.h"
#include "him/wire_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEM_VERSION "kith-semantic/1"
#define SEM_DEFAULT_STREAM "emb"
#define SEM_DEFAULT_K 10
#define SEM_MAX_INDEXES 256       /* map entries: open indexes and known absences */
#define SEM_MAX_BOXES 256         /* hint regions a search favours */
#define SEM_HINTS 64              /* recent hints read per stream */

/* ---- the map of open indexes ------------------------------------------- */

struct sem_index {
	char *stream, *snapshot, *model;
	int dim;
	struct him_vindex *vi;     /* NULL: found empty (see index_stream, tiles) */
	char *index_stream;        /* where an empty index's tiles would be */
	long long tiles;           /* how many it had when found empty */
};

struct api_sem {
	struct him *h;
	pthread_mutex_t mu;               /* guards ix, n, cap */
	struct sem_index *ix;
	size_t n, cap;
};

struct api_sem *api_sem_new(struct him *h)
{
	struct api_sem *s = xcalloc(1, sizeof(*s));

	s->h = h;
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void api_sem_free(struct api_sem *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		him_vindex_close(s->ix[i].vi);
		free(s->ix[i].stream);
		free(s->ix[i].snapshot);
		free(s->ix[i].model);
		free(s->ix[i].index_stream);
	}
	free(s->ix);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct sem_index *find(struct api_sem *s, const char *stream, const char *snapshot,
			      const char *model, int dim)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sem_index *e = &s->ix[i];

		if (e->dim == dim && strcmp(e->stream, stream) == 0 &&
		    strcmp(e->snapshot, snapshot) == 0 && strcmp(e->model, model) == 0)
			return e;
	}
	return NULL;
}

static struct sem_index *add_entry(struct api_sem *s, const char *stream, const char *snapshot,
				   const char *model, int dim)
{
	struct sem_index *e;

	if (s->n >= SEM_MAX_INDEXES)
		return NULL;
	s->ix = xgrow(s->ix, &s->cap, s->n + 1, sizeof(*s->ix));
	e = &s->ix[s->n++];
	memset(e, 0, sizeof(*e));
	e->stream = xstrdup(stream);
	e->snapshot = xstrdup(snapshot);
	e->model = xstrdup(model);
	e->dim = dim;
	return e;
}

/* Tiles catalogued for (stream, snapshot); -1 when the catalogue cannot
 * be read. */
static long long count_tiles(struct him *h, const char *stream, const char *snapshot)
{
	sqlite3 *db = him_db_acquire(h);
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (db && sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM tiles WHERE snapshot_id = ?"
				     " AND stream = ?", -1, &st, NULL) == SQLITE_OK) {
		him_bind_text(st, 1, snapshot);
		him_bind_text(st, 2, stream);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (db)
		him_db_release(h, db);
	return n;
}

/* Whether any tile of the snapshot is in a stream "<base>.…", where
 * him_vindex_open keeps an index of base stream `base` ("<base>.<hash of
 * model and dimension>"): a cheap test that spares keyword queries the
 * opening of an index that cannot exist.  ('/' follows '.' in ASCII.) */
static bool has_index_tiles(struct him *h, const char *base, const char *snapshot)
{
	sqlite3 *db = him_db_acquire(h);
	sqlite3_stmt *st = NULL;
	char *lo = xasprintf("%s.", base), *hi = xasprintf("%s/", base);
	bool yes = true;     /* when unsure, let the open decide */

	if (db && sqlite3_prepare_v2(db, "SELECT 1 FROM tiles WHERE snapshot_id = ?"
				     " AND stream >= ? AND stream < ? LIMIT 1", -1, &st,
				     NULL) == SQLITE_OK) {
		him_bind_text(st, 1, snapshot);
		him_bind_text(st, 2, lo);
		him_bind_text(st, 3, hi);
		if (sqlite3_step(st) == SQLITE_DONE)
			yes = false;
	}
	sqlite3_finalize(st);
	if (db)
		him_db_release(h, db);
	free(lo);
	free(hi);
	return yes;
}

static enum kith_status open_index(struct api_sem *s, const char *stream, const char *snapshot,
				   const char *model, int dim, struct him_vindex **out, char **why)
{
	struct him_vindex_options o = { .stream = stream, .snapshot_id = snapshot,
					.model = model, .dim = dim };

	return him_vindex_open(s->h, &o, out, why);
}

/* The index of (stream, snapshot) for (model, dim).  create: open or
 * create it (records, replay); else only one that holds vectors (*out NULL
 * when there is none: not a semantic stream).  The snapshot must exist.
 * KITH_ETOOBIG when SEM_MAX_INDEXES are open. */
static enum kith_status sem_get(struct api_sem *s, const char *stream, const char *snapshot,
				const char *model, int dim, bool create, struct him_vindex **out,
				char **why)
{
	struct sem_index *e;
	struct him_vindex *vi = NULL;
	struct him_vindex_info info;
	long long tiles = 0;
	enum kith_status st = KITH_OK;

	*out = NULL;
	pthread_mutex_lock(&s->mu);
	e = find(s, stream, snapshot, model, dim);
	if (e && e->vi) {
		*out = e->vi;
		goto out;
	}
	if (e && !create) {
		tiles = count_tiles(s->h, e->index_stream, snapshot);
		if (tiles == e->tiles)
			goto out;            /* still empty */
	} else if (!e && !create && !has_index_tiles(s->h, stream, snapshot)) {
		goto out;
	}
	if ((st = open_index(s, stream, snapshot, model, dim, &vi, why)))
		goto out;
	if (!create) {
		him_vindex_info(vi, &info);
		if (info.vectors == 0) {
			if (!e && (e = add_entry(s, stream, snapshot, model, dim)))
				e->index_stream = xstrdup(him_vindex_stream(vi));
			if (e)
				e->tiles = count_tiles(s->h, e->index_stream, snapshot);
			him_vindex_close(vi);
			goto out;
		}
	}
	if (!e && !(e = add_entry(s, stream, snapshot, model, dim))) {
		him_vindex_close(vi);
		st = kith_why(why, KITH_ETOOBIG, "%d semantic indexes are open already; no more "
			      "can be opened", SEM_MAX_INDEXES);
		goto out;
	}
	e->vi = vi;
	*out = vi;
out:
	pthread_mutex_unlock(&s->mu);
	return st;
}

static enum kith_status snapshot_exists(struct him *h, const char *id, char **why)
{
	struct him_snapshot snap = { 0 };
	enum kith_status st = him_snapshot_get(h, id, &snap, why);

	him_snapshot_release(&snap);
	return st;
}

/* ---- responses ----------------------------------------------------------- */

static struct him_api *api_of(const struct httpd_req *req)
{
	return req->app;
}

/* /v1/records: bad input is 400, caps 413, an embedder failure 502. */
static int records_status(enum kith_status st)
{
	switch (st) {
	case KITH_EINVAL:
	case KITH_ENOTFOUND: return 400;
	case KITH_ETOOBIG: return 413;
	default: return 500;
	}
}

static void fail_with(struct httpd_resp *resp, int status, enum kith_status st, char *why)
{
	httpd_error(resp, status, "%s", why ? why : kith_strerror(st));
	free(why);
}

/* ---- POST /v1/records ------------------------------------------------------ */

static enum kith_status embed_texts(const struct him_embedder *emb, struct him_wire_records *r,
				    char **why)
{
	float *out;
	enum kith_status st;

	if (!r->ntexts)
		return KITH_OK;
	out = xcalloc(r->ntexts * (size_t)emb->dim, sizeof(*out));
	st = emb->embed(emb->ctx, r->texts, r->ntexts, out, why);
	for (size_t t = 0; !st && t < r->ntexts; t++)
		memcpy(r->vecs + r->text_at[t] * (size_t)emb->dim, out + t * (size_t)emb->dim,
		       (size_t)emb->dim * sizeof(*out));
	free(out);
	return st;
}

void api_records(const struct httpd_req *req, struct httpd_resp *resp)
{
	struct him_api *a = api_of(req);
	struct him_wire_records r = { 0 };
	struct him_vindex *vi = NULL;
	char *why = NULL;
	enum kith_status st;

	if (!a->has_embedder) {
		httpd_error(resp, 501, "semantic records are off: this server has no embedder");
		return;
	}
	st = him_wire_parse_records(req->body, req->body_len, SEM_DEFAULT_STREAM, a->emb.dim, &r,
				    &why);
	if (!st)
		st = snapshot_exists(a->h, r.snapshot_id, &why);
	if (st) {
		fail_with(resp, records_status(st), st, why);
		goto out;
	}
	if ((st = embed_texts(&a->emb, &r, &why))) {
		char *msg = xasprintf("embedding with %s failed: %s", a->emb.model,
				      why ? why : kith_strerror(st));

		free(why);
		fail_with(resp, 502, st, msg);
		goto out;
	}
	st = sem_get(a->sem, r.stream, r.snapshot_id, a->emb.model, a->emb.dim, true, &vi, &why);
	if (!st)
		st = him_vindex_add(vi, r.ids, r.vecs, r.n, &why);
	if (st) {
		if (st != KITH_ETOOBIG)
			log_error("him", "adding %zu records to %s/%s: %s", r.n, r.stream,
				  r.snapshot_id, why ? why : kith_strerror(st));
		fail_with(resp, st == KITH_ETOOBIG ? 503 : records_status(st), st, why);
		goto out;
	}
	httpd_json(resp, 201, json_pack("{s:I, s:s}", "added", (json_int_t)r.n, "stream",
					him_vindex_stream(vi)));
out:
	him_wire_records_release(&r);
}

/* ---- answers: live and replayed alike ------------------------------------ */

/* What a semantic answer is computed from: all of it is in the trace. */
struct sem_inputs {
	int k;
	char *model;
	int dim;
	char *index_stream;
	float *q;                               /* dim floats */
	char (*tile_ids)[HIM_ID_HEX + 1];       /* level-0 tiles loaded, in order */
	long (*tile_xy)[2];
	size_t ntiles;
	struct him_vindex_hit *delta;           /* hits not from those tiles */
	size_t ndelta;
	double est_recall;
};

static void inputs_release(struct sem_inputs *in)
{
	free(in->model);
	free(in->index_stream);
	free(in->q);
	free(in->tile_ids);
	free(in->tile_xy);
	free(in->delta);
	memset(in, 0, sizeof(*in));
}

static int cmp_hit(const void *a, const void *b)
{
	const struct him_vindex_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* The best k of the tiles' hits and the delta hits (a delta hit replaces
 * a tile hit of the same id: the delta is newer).  out has room for
 * nt + nd; returns the count. */
static size_t merge_hits(const struct him_vindex_hit *t, size_t nt,
			 const struct him_vindex_hit *d, size_t nd, int k,
			 struct him_vindex_hit *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nd; i++)
		out[n++] = d[i];
	for (size_t i = 0; i < nt; i++) {
		bool dup = false;

		for (size_t j = 0; j < nd && !dup; j++)
			dup = d[j].id == t[i].id;
		if (!dup)
			out[n++] = t[i];
	}
	qsort(out, n, sizeof(*out), cmp_hit);
	return n < (size_t)k ? n : (size_t)k;
}

/* Re-score the recorded tiles and merge the delta hits: the answer. */
static enum kith_status answer(struct him_vindex *vi, const struct sem_inputs *in,
			       struct him_vindex_hit **hits, size_t *nhits, char **why)
{
	struct him_vindex_hit *t = xcalloc((size_t)in->k, sizeof(*t));
	size_t nt = 0;
	enum kith_status st = KITH_OK;

	*hits = xcalloc((size_t)in->k + in->ndelta + 1, sizeof(**hits));
	*nhits = 0;
	if (in->ntiles)
		st = him_vindex_score_tiles(vi, in->q, (const char (*)[HIM_ID_HEX + 1])in->tile_ids,
					    in->ntiles, in->k, t, &nt, why);
	if (!st)
		*nhits = merge_hits(t, nt, in->delta, in->ndelta, in->k, *hits);
	free(t);
	return st;
}

/* The QueryPlan plus "records", compact with sorted keys; every string is
 * a checked name or hex, so nothing needs escaping. */
static char *plan_bytes(const struct him_query *q, const struct sem_inputs *in,
			const struct him_vindex_hit *hits, size_t nhits, const char *trace_id)
{
	struct buf b = BUF_INIT(0);
	double acc = round(in->est_recall * 1e4) / 1e4;

	buf_printf(&b, "{\"acceptance\":%.4f,\"budget_ms\":%d,\"records\":[", acc, q->budget_ms);
	for (size_t i = 0; i < nhits; i++)
		buf_printf(&b, "%s{\"id\":%lld,\"score\":%.6f}", i ? "," : "",
			   (long long)hits[i].id, (double)hits[i].score);
	buf_puts(&b, "],\"tile_ids\":[");
	for (size_t i = 0; i < in->ntiles; i++)
		buf_printf(&b, "%s{\"level\":0,\"snapshot_id\":\"%s\",\"stream\":\"%s\","
			   "\"tile_id\":\"%s\",\"x\":%ld,\"y\":%ld}", i ? "," : "", q->snapshot_id,
			   in->index_stream, in->tile_ids[i], in->tile_xy[i][0], in->tile_xy[i][1]);
	buf_printf(&b, "],\"trace_id\":\"%s\"}", trace_id);
	return buf_detach(&b);
}

/* ---- the trace ------------------------------------------------------------ */

static char *request_json(const struct him_query *q, int k)
{
	json_t *o = json_pack("{s:i, s:s, s:i, s:[i,i], s:i, s:s, s:s}", "budget_ms", q->budget_ms,
			      "goal", q->goal, "k", k, "level_range", q->level_max, q->level_min,
			      "max_tiles", q->max_tiles, "snapshot_id", q->snapshot_id, "stream",
			      q->stream);
	char *s = o ? kjson_dump(o, true) : NULL;

	json_decref(o);
	return s;
}

/* Reals are written with 17 significant digits (jansson's default), which
 * read back as the same double, so the query vector, the delta scores and
 * the recall estimate come back bit for bit. */
static char *inputs_json(const struct sem_inputs *in)
{
	json_t *o = json_object(), *q = json_array(), *tiles = json_array(), *delta = json_array();
	char *s;

	for (int i = 0; i < in->dim; i++)
		json_array_append_new(q, json_real(in->q[i]));
	for (size_t i = 0; i < in->ntiles; i++)
		json_array_append_new(tiles, json_pack("[s,I,I]", in->tile_ids[i],
						       (json_int_t)in->tile_xy[i][0],
						       (json_int_t)in->tile_xy[i][1]));
	for (size_t i = 0; i < in->ndelta; i++)
		json_array_append_new(delta, json_pack("[I,f]", (json_int_t)in->delta[i].id,
						       (double)in->delta[i].score));
	json_object_set_new(o, "delta", delta);
	json_object_set_new(o, "dim", json_integer(in->dim));
	json_object_set_new(o, "est_recall", json_real(in->est_recall));
	json_object_set_new(o, "index_stream", json_string(in->index_stream));
	json_object_set_new(o, "k", json_integer(in->k));
	json_object_set_new(o, "model", json_string(in->model));
	json_object_set_new(o, "query", q);
	json_object_set_new(o, "tiles", tiles);
	s = kjson_dump(o, true);
	json_decref(o);
	return s;
}

static enum kith_status parse_inputs(const char *text, struct sem_inputs *in, char **why)
{
	json_t *o = json_loads(text, 0, NULL), *q, *tiles, *delta, *v;
	const char *model = kjson_str(o, "model"), *stream = kjson_str(o, "index_stream");
	long long k = 0, dim = 0;
	enum kith_status st = KITH_OK;
	size_t i;

	memset(in, 0, sizeof(*in));
	q = kjson_arr(o, "query");
	tiles = kjson_arr(o, "tiles");
	delta = kjson_arr(o, "delta");
	if (!model || !stream || !q || !tiles || !delta || !kjson_int(o, "k", &k) ||
	    !kjson_int(o, "dim", &dim) || !kjson_num(o, "est_recall", &in->est_recall) ||
	    k < 1 || k > HIM_VINDEX_MAX_K || dim < 1 || dim > HIM_VINDEX_MAX_DIM ||
	    json_array_size(q) != (size_t)dim) {
		st = kith_why(why, KITH_EPROTO, "the semantic trace's inputs are malformed");
		goto out;
	}
	in->k = (int)k;
	in->dim = (int)dim;
	in->model = xstrdup(model);
	in->index_stream = xstrdup(stream);
	in->q = xcalloc((size_t)dim, sizeof(*in->q));
	json_array_foreach(q, i, v)
		in->q[i] = (float)json_number_value(v);
	in->tile_ids = xcalloc(json_array_size(tiles) + 1, sizeof(*in->tile_ids));
	in->tile_xy = xcalloc(json_array_size(tiles) + 1, sizeof(*in->tile_xy));
	json_array_foreach(tiles, i, v) {
		const char *id = json_string_value(json_array_get(v, 0));

		if (!id || !him_is_tile_id(id) || !json_is_integer(json_array_get(v, 1)) ||
		    !json_is_integer(json_array_get(v, 2))) {
			st = kith_why(why, KITH_EPROTO, "the semantic trace's tiles[%zu] is "
				      "malformed", i);
			goto out;
		}
		memcpy(in->tile_ids[i], id, HIM_ID_HEX + 1);
		in->tile_xy[i][0] = (long)json_integer_value(json_array_get(v, 1));
		in->tile_xy[i][1] = (long)json_integer_value(json_array_get(v, 2));
		in->ntiles++;
	}
	in->delta = xcalloc(json_array_size(delta) + 1, sizeof(*in->delta));
	json_array_foreach(delta, i, v) {
		if (!json_is_integer(json_array_get(v, 0)) || !json_is_number(json_array_get(v, 1))) {
			st = kith_why(why, KITH_EPROTO, "the semantic trace's delta[%zu] is "
				      "malformed", i);
			goto out;
		}
		in->delta[i].id = (int64_t)json_integer_value(json_array_get(v, 0));
		in->delta[i].score = (float)json_number_value(json_array_get(v, 1));
		in->ndelta++;
	}
out:
	json_decref(o);
	return st;
}

static void trace_id_of(const char *req, const char *inputs, char out[28])
{
	char *text = xasprintf("%s\n%s\n%s", req, inputs, SEM_VERSION);
	char hex[2 * BLAKE3_OUT_LEN + 1];

	blake3_hex(text, strlen(text), hex);
	snprintf(out, 28, "tr_%.24s", hex);
	free(text);
}

/* Record the trace; one that exists already is this one (its id hashes
 * everything the plan is computed from). */
static enum kith_status record(struct him *h, const struct him_trace *t, char **why)
{
	sqlite3 *db = him_db_acquire(h);
	char *err = NULL;
	enum kith_status st;

	if (!db)
		return kith_why(why, KITH_EDB, "him.db: no connection");
	if ((st = him_write_begin(h, db, why))) {
		him_db_release(h, db);
		return st;
	}
	st = him_trace_put(db, t, &err);
	if (st) {
		him_write_rollback(h, db);
		if (st == KITH_EEXIST)
			st = KITH_OK;
		else
			kith_why(why, st, "%s", err);
	} else {
		st = him_write_commit(h, db, why);
	}
	free(err);
	him_db_release(h, db);
	return st;
}

/* ---- POST /v1/query (semantic) ------------------------------------------ */

/* Level-0 regions hinted for the stream or its index stream, newest first. */
static size_t hint_boxes(struct him *h, const char *snapshot, const char *const streams[2],
			 long (*boxes)[4])
{
	sqlite3 *db = him_db_acquire(h);
	size_t n = 0;

	for (int s = 0; db && s < 2; s++) {
		struct him_hint_row *rows = NULL;
		size_t nrows = 0;
		char *why = NULL;

		if (him_hints_recent(db, snapshot, streams[s], 0, 0, SEM_HINTS, &rows, &nrows,
				     &why) != KITH_OK) {
			log_warn("him", "semantic query: hints not read: %s", why);
			free(why);
			continue;
		}
		for (size_t i = 0; i < nrows; i++)
			for (size_t b = 0; b < rows[i].nbboxes && n < SEM_MAX_BOXES; b++)
				memcpy(boxes[n++], rows[i].bboxes[b], sizeof(boxes[0]));
		him_hint_rows_free(rows, nrows);
	}
	if (db)
		him_db_release(h, db);
	return n;
}

/* The search's hits split into those its tiles give back on re-scoring
 * and the rest (the delta buffer's), which the trace must carry. */
static enum kith_status split_delta(struct him_vindex *vi, struct sem_inputs *in,
				    const struct him_vindex_hit *hits, size_t nhits, char **why)
{
	struct him_vindex_hit *t = xcalloc((size_t)in->k, sizeof(*t));
	size_t nt = 0;
	enum kith_status st = KITH_OK;

	in->delta = xcalloc(nhits + 1, sizeof(*in->delta));
	if (in->ntiles)
		st = him_vindex_score_tiles(vi, in->q, (const char (*)[HIM_ID_HEX + 1])in->tile_ids,
					    in->ntiles, in->k, t, &nt, why);
	for (size_t i = 0; !st && i < nhits; i++) {
		bool in_tiles = false;

		for (size_t j = 0; j < nt && !in_tiles; j++)
			in_tiles = t[j].id == hits[i].id && t[j].score == hits[i].score;
		if (!in_tiles)
			in->delta[in->ndelta++] = hits[i];
	}
	free(t);
	return st;
}

static enum kith_status semantic_plan(struct him_api *a, struct him_vindex *vi,
				      const struct him_query *q, int k, char **plan, int *status,
				      char **why)
{
	struct sem_inputs in = { .k = k, .dim = a->emb.dim };
	struct him_vindex_search s = { .k = k, .max_tiles = q->max_tiles, .budget_ms = q->budget_ms };
	struct him_vindex_stats stats = { 0 };
	struct him_vindex_hit *hits = xcalloc((size_t)k, sizeof(*hits)), *ans = NULL;
	const char *streams[2] = { q->stream, him_vindex_stream(vi) };
	long (*boxes)[4] = xcalloc(2 * SEM_MAX_BOXES, sizeof(*boxes));
	size_t nhits = 0, nans = 0;
	char trace_id[28], *req = NULL, *inputs = NULL;
	enum kith_status st;

	*status = 500;
	in.model = xstrdup(a->emb.model);
	in.index_stream = xstrdup(him_vindex_stream(vi));
	in.q = xcalloc((size_t)in.dim, sizeof(*in.q));
	st = a->emb.embed(a->emb.ctx, &q->goal, 1, in.q, why);
	if (st) {
		*status = 502;
		goto out;
	}
	s.nbbox = hint_boxes(a->h, q->snapshot_id, streams, boxes);
	s.bbox = s.nbbox ? (const long (*)[4])boxes : NULL;
	if ((st = him_vindex_search(vi, in.q, &s, hits, &nhits, &stats, why)))
		goto out;
	in.ntiles = (size_t)(stats.leaf_tiles > 0 ? stats.leaf_tiles : 0);
	in.tile_ids = xcalloc(in.ntiles + 1, sizeof(*in.tile_ids));
	in.tile_xy = xcalloc(in.ntiles + 1, sizeof(*in.tile_xy));
	if (in.ntiles && stats.tile_ids && stats.tile_xy) {
		memcpy(in.tile_ids, stats.tile_ids, in.ntiles * sizeof(*in.tile_ids));
		memcpy(in.tile_xy, stats.tile_xy, in.ntiles * sizeof(*in.tile_xy));
	} else {
		in.ntiles = 0;
	}
	/* a number in [0, 1] whatever the index says, so the trace can hold it */
	in.est_recall = isfinite(stats.est_recall) ? fmin(fmax(stats.est_recall, 0), 1) : 0;
	if ((st = split_delta(vi, &in, hits, nhits, why)) ||
	    (st = answer(vi, &in, &ans, &nans, why)))
		goto out;
	req = request_json(q, k);
	inputs = inputs_json(&in);
	if (!req) {
		*status = 422;
		st = kith_why(why, KITH_EINVAL, "goal: not valid UTF-8");
		goto out;
	}
	trace_id_of(req, inputs, trace_id);
	*plan = plan_bytes(q, &in, ans, nans, trace_id);
	st = record(a->h, &(struct him_trace){ .trace_id = trace_id,
					       .snapshot_id = (char *)q->snapshot_id,
					       .planner_version = SEM_VERSION, .request = req,
					       .inputs = inputs, .plan = (unsigned char *)*plan,
					       .plan_len = strlen(*plan) }, why);
	if (st) {
		free(*plan);
		*plan = NULL;
	}
out:
	him_vindex_stats_release(&stats);
	inputs_release(&in);
	free(hits);
	free(ans);
	free(boxes);
	free(req);
	free(inputs);
	return st;
}

bool api_sem_query(struct him_api *a, const struct him_wire_query *wq, struct httpd_resp *resp)
{
	const struct him_query *q = &wq->q;
	struct him_vindex *vi = NULL;
	long long k = SEM_DEFAULT_K;
	double t0 = (double)clock_mono_ms();
	char *why = NULL, *plan = NULL;
	int status;
	enum kith_status st;

	if (!a->has_embedder || !q->goal || !*q->goal)
		return false;
	if ((st = wire_get_int(wq->root, "", "k", 1, HIM_VINDEX_MAX_K, false, &k, &why))) {
		fail_with(resp, 422, st, why);
		return true;
	}
	if (snapshot_exists(a->h, q->snapshot_id, NULL) != KITH_OK)
		return false;      /* the planner words the 400 */
	st = sem_get(a->sem, q->stream, q->snapshot_id, a->emb.model, a->emb.dim, false, &vi, &why);
	if (st) {
		log_warn("him", "semantic index of %s/%s unusable, planning by keywords: %s",
			 q->stream, q->snapshot_id, why ? why : kith_strerror(st));
		free(why);
		return false;
	}
	if (!vi)
		return false;
	st = semantic_plan(a, vi, q, (int)k, &plan, &status, &why);
	if (st) {
		if (status == 502) {
			char *msg = xasprintf("embedding the goal with %s failed: %s", a->emb.model,
					      why ? why : kith_strerror(st));

			free(why);
			why = msg;
		} else {
			log_error("him", "semantic query on %s/%s: %s", q->stream, q->snapshot_id,
				  why ? why : kith_strerror(st));
		}
		fail_with(resp, status, st, why);
		return true;
	}
	buf_puts(&resp->body, plan);
	resp->status = 200;
	him_metrics_query(a->h, 0, q->max_tiles, (double)clock_mono_ms() - t0);
	free(plan);
	return true;
}

/* ---- POST /v1/replay (semantic) ------------------------------------------ */

static enum kith_status replay(struct him_api *a, const struct him_trace *t, char **plan,
			       char **why)
{
	struct sem_inputs in;
	struct him_vindex_hit *ans = NULL;
	struct him_vindex *vi = NULL;
	struct him_query q = { 0 };
	json_t *req = json_loads(t->request, 0, NULL);
	json_t *lr = kjson_arr(req, "level_range");
	long long budget = 0, k = 0, tiles = 0;
	size_t nans = 0;
	enum kith_status st = parse_inputs(t->inputs, &in, why);

	q.goal = kjson_str(req, "goal");
	q.snapshot_id = kjson_str(req, "snapshot_id");
	q.stream = kjson_str(req, "stream");
	if (!st && (!q.goal || !q.snapshot_id || !q.stream || !lr ||
		    !kjson_int(req, "budget_ms", &budget) || !kjson_int(req, "k", &k) ||
		    !kjson_int(req, "max_tiles", &tiles) || k != in.k ||
		    him_check_name("stream", q.stream, NULL) != KITH_OK))
		st = kith_why(why, KITH_EPROTO, "the semantic trace's request is malformed");
	q.budget_ms = (int)budget;
	q.max_tiles = (int)tiles;
	if (!st && in.ntiles)
		st = sem_get(a->sem, q.stream, t->snapshot_id, in.model, in.dim, true, &vi, why);
	if (!st)
		st = answer(vi, &in, &ans, &nans, why);
	if (!st) {
		*plan = plan_bytes(&q, &in, ans, nans, t->trace_id);
		if (strlen(*plan) != t->plan_len || memcmp(*plan, t->plan, t->plan_len) != 0) {
			log_error("him", "replay of %s diverged from its recorded plan", t->trace_id);
			free(*plan);
			*plan = NULL;
			st = kith_why(why, KITH_EPROTO, "replay of %s diverged from the recorded plan",
				      t->trace_id);
		}
	}
	free(ans);
	inputs_release(&in);
	json_decref(req);
	return st;
}

bool api_sem_replay(struct him_api *a, const char *snapshot_id, const char *trace_id,
		    struct httpd_resp *resp)
{
	struct him_trace t = { 0 };
	sqlite3 *db;
	char *why = NULL, *plan = NULL;
	enum kith_status st;
	int status = 500;

	if (him_check_name("snapshot_id", snapshot_id, NULL) != KITH_OK || !him_is_trace_id(trace_id))
		return false;
	if (!(db = him_db_acquire(a->h)))
		return false;
	st = him_trace_get(db, trace_id, &t, NULL);
	him_db_release(a->h, db);
	if (st || strcmp(t.planner_version, SEM_VERSION) != 0) {
		him_trace_release(&t);
		return false;
	}
	if (strcmp(t.snapshot_id, snapshot_id) != 0) {
		status = 409;
		st = kith_why(&why, KITH_ECONFLICT, "trace %s belongs to snapshot %s", trace_id,
			      t.snapshot_id);
	} else if ((st = snapshot_exists(a->h, snapshot_id, &why))) {
		status = st == KITH_ENOTFOUND ? 404 : 500;
	} else if ((st = replay(a, &t, &plan, &why))) {
		status = st == KITH_ENOTFOUND ? 404 : 500;
	}
	if (st) {
		fail_with(resp, status, st, why);
	} else {
		buf_puts(&resp->body, plan);
		resp->status = 200;
	}
	free(plan);
	him_trace_release(&t);
	return true;
}
