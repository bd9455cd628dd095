/* planner.c — him_query, him_replay and him_set_index: gathering a plan's
 * inputs, recording its trace and replaying it.
 *
 * A query reads everything it depends on in one SQLite read transaction:
 * the committed Lamport time (the horizon: tiles with lamport <= it are the
 * candidates, and no later write can add one), the tiles (through the
 * cached view, planner_view.c), the keyword scores and the recent hints.
 * The engine (planner_engine.c) then plans.  The trace (planner_trace.c)
 * stores the canonical request, the planner version and every input that
 * can change later — horizon, "now", access counts, hint regions,
 * relevance scores and how many levels the budget allowed — with the exact
 * output bytes.  Replay re-reads the tiles up to the horizon straight from
 * SQLite, feeds the engine the recorded inputs (never the clock or the
 * index) and refuses (KITH_EPROTO) to return anything but the recorded
 * bytes.
 *
 * trace_id = "tr_" + the first 24 hex digits of
 *   blake3(canonical request "\n" horizon "\n" planner version),
 * so the same question at the same Lamport time names the same trace; if
 * that trace exists with a different plan (usage or hints moved on), the
 * clock is ticked and the query planned again under a new name. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <string.h>
#include <time.h>

#define MAX_GOAL 4096
#define MAX_ATTEMPTS 4

struct gathered {
	struct plan_views *views;
	struct plan_view *view;     /* cached rows, or */
	struct plan_row *rows;      /* rows read for this plan */
	size_t nrows;
	struct him_hint_row *hints;
	size_t nhints;
};

/* Milliseconds with sub-millisecond resolution, for the latency metric. */
static double now_ms_fine(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void gathered_release(struct gathered *g)
{
	plan_view_put(g->views, g->view);
	free(g->rows);
	him_hint_rows_free(g->hints, g->nhints);
	memset(g, 0, sizeof(*g));
}

/* Defaults and checks; strings stay borrowed from `in`. */
static enum kith_status normalise(const struct him_query *in, struct him_query *q, char **why)
{
	enum kith_status st;

	if (!in)
		return kith_why(why, KITH_EINVAL, "no query");
	*q = *in;
	q->goal = q->goal ? q->goal : "";
	q->stream = q->stream ? q->stream : "kv_cache";
	q->max_tiles = q->max_tiles ? q->max_tiles : 8;
	if ((st = him_check_name("snapshot_id", q->snapshot_id, why)) ||
	    (st = him_check_name("stream", q->stream, why)))
		return st;
	if (strlen(q->goal) > MAX_GOAL)
		return kith_why(why, KITH_EINVAL, "goal: longer than %d bytes", MAX_GOAL);
	if (q->budget_ms <= 0)
		return kith_why(why, KITH_EINVAL, "budget_ms: must be > 0");
	if (q->max_tiles < 1 || q->max_tiles > 32)
		return kith_why(why, KITH_EINVAL, "max_tiles: expected 1 to 32");
	if (q->level_min < 0 || q->level_max > HIM_MAX_LEVEL || q->level_max < q->level_min)
		return kith_why(why, KITH_EINVAL, "level_range: expected [max, min] with "
				"%d >= max >= min >= 0", HIM_MAX_LEVEL);
	return KITH_OK;
}

static enum kith_status scalar(sqlite3 *db, const char *sql, const char *arg, int64_t *out,
			       bool *found, char **why)
{
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "planning", why);
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
	step = sqlite3_step(s);
	*found = step == SQLITE_ROW;
	*out = *found ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? KITH_OK : him_db_fail(db, "planning", why);
}

static enum kith_status snapshot_known(sqlite3 *db, const char *id, char **why)
{
	int64_t v;
	bool found;
	enum kith_status st = scalar(db, "SELECT 1 FROM snapshots WHERE snapshot_id = ?", id, &v,
				     &found, why);

	return st ? st : found ? KITH_OK
		: kith_why(why, KITH_ENOTFOUND, "snapshot %s not found", id);
}

/* Keyword matches, collected, then applied in one pass. */
struct hits {
	char (*ids)[HIM_ID_HEX + 1];
	const char **ptrs;
	double *score;
	size_t n, cap, scap;
};

static void on_text_score(const char *tile_id, double score, void *ud)
{
	struct hits *t = ud;

	t->ids = xgrow(t->ids, &t->cap, t->n + 1, sizeof(*t->ids));
	t->score = xgrow(t->score, &t->scap, t->n + 1, sizeof(*t->score));
	snprintf(t->ids[t->n], sizeof(t->ids[0]), "%s", tile_id);
	t->score[t->n++] = score;
}

static void set_rel(struct plan_cand *c, size_t k, void *ud)
{
	c->rel = ((const double *)ud)[k];
}

static enum kith_status text_relevance(sqlite3 *db, const struct him_query *q, struct plan *p,
				       char **why)
{
	struct hits t = { 0 };
	enum kith_status st = him_text_scores(db, q->snapshot_id, q->stream, q->goal,
					      on_text_score, &t, why);

	if (!st && t.n) {
		t.ptrs = xcalloc(t.n, sizeof(*t.ptrs));
		for (size_t i = 0; i < t.n; i++)
			t.ptrs[i] = t.ids[i];
		plan_match_ids(p, t.ptrs, t.n, set_rel, t.score);
	}
	free(t.ids);
	free(t.ptrs);
	free(t.score);
	return st;
}

static void set_hints(struct plan *p, const struct him_hint_row *rows, size_t n)
{
	size_t k = 0, total = 0;

	for (size_t i = 0; i < n; i++)
		total += rows[i].nbboxes;
	p->hints = xcalloc(total + 1, sizeof(*p->hints));
	for (size_t i = 0; i < n; i++)
		for (size_t b = 0; b < rows[i].nbboxes; b++) {
			struct plan_region *r = &p->hints[k++];

			r->lmax = rows[i].level_max < p->q->level_max ? rows[i].level_max
								       : p->q->level_max;
			r->lmin = rows[i].level_min > p->q->level_min ? rows[i].level_min
								       : p->q->level_min;
			memcpy(r->box, rows[i].bboxes[b], sizeof(r->box));
			r->conf = rows[i].confidence;
		}
	p->nhints = k;
}

/* The candidate rows: every tile of (snapshot, stream) up to max_seq, from
 * the store's cached view when there is one. */
static enum kith_status candidate_rows(sqlite3 *db, const struct him_query *q, int64_t max_seq,
				       struct gathered *g, const struct plan_row **rows,
				       size_t *n, char **why)
{
	enum kith_status st;

	if (g->views) {
		st = plan_view_get(g->views, db, q->snapshot_id, q->stream, max_seq, &g->view,
				   why);
		*rows = g->view ? g->view->rows : NULL;
		*n = g->view ? g->view->n : 0;
	} else {
		st = plan_load_rows(db, q->snapshot_id, q->stream, max_seq, &g->rows, &g->nrows,
				    why);
		*rows = g->rows;
		*n = g->nrows;
	}
	return st;
}

/* Everything live, in one read transaction. */
static enum kith_status gather(sqlite3 *db, const struct him_query *q, bool use_index,
			       struct gathered *g, struct plan *p, char **why)
{
	const struct plan_row *rows = NULL;
	int64_t horizon = 0, max_seq = 0;
	size_t n = 0;
	bool found;
	enum kith_status st;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return him_db_fail(db, "planning", why);
	st = scalar(db, "SELECT value FROM meta WHERE key = 'lamport'", NULL, &horizon, &found,
		    why);
	if (!st)
		st = scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM tiles", NULL, &max_seq, &found,
			    why);
	if (!st)
		st = snapshot_known(db, q->snapshot_id, why);
	if (!st && horizon > 0)
		st = candidate_rows(db, q, max_seq, g, &rows, &n, why);
	if (!st) {
		plan_init(p, q, rows, n, horizon);
		p->use_index = use_index;
		p->now_ms = clock_now_ms();
	}
	if (!st && !p->use_index && p->n && *q->goal)
		st = text_relevance(db, q, p, why);
	if (!st && p->n)
		st = him_hints_recent(db, q->snapshot_id, q->stream, q->level_max, q->level_min,
				      HIM_PLANNER_HINTS, &g->hints, &g->nhints, why);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (!st)
		set_hints(p, g->hints, g->nhints);
	return st;
}

/* ---- query ----------------------------------------------------------------- */

static enum kith_status tick(struct him *h, sqlite3 *db, char **why)
{
	enum kith_status st = him_write_begin(h, db, why);

	if (st)
		return st;
	him_lamport_next(h, db);
	return him_write_commit(h, db, why);
}

/* Record the trace; *same is false when the id was taken by a different plan. */
static enum kith_status record(sqlite3 *db, struct him_trace *t, bool *same, char **why)
{
	struct him_trace old;
	char *err = NULL;
	enum kith_status st = him_trace_put(db, t, &err);

	*same = true;
	if (st != KITH_EEXIST) {
		if (st)
			kith_why(why, st, "%s", err);
		free(err);
		return st;
	}
	free(err);
	if ((st = him_trace_get(db, t->trace_id, &old, why)))
		return st;
	*same = old.plan_len == t->plan_len && memcmp(old.plan, t->plan, t->plan_len) == 0;
	him_trace_release(&old);
	return KITH_OK;
}

static enum kith_status plan_once(struct him *h, sqlite3 *db, const struct him_query *q,
				  const char *req, const char *version,
				  const struct him_index_ops *ops, int64_t deadline, char **plan_json,
				  bool *retry, int *finest, char **why)
{
	struct gathered g = { 0 };
	struct plan p;
	struct him_trace t = { 0 };
	char trace_id[28];
	enum kith_status st;
	bool same = true;

	memset(&p, 0, sizeof(p));
	g.views = him_prefetch_views(h);
	st = gather(db, q, ops != NULL, &g, &p, why);
	if (!st) {
		if (ops)
			p.ops = *ops;
		p.deadline_ms = deadline;
		st = plan_run(&p, why);
	}
	if (!st) {
		plan_trace_id(req, p.horizon, version, trace_id);
		*plan_json = plan_output(&p, trace_id);
		t = (struct him_trace){ .trace_id = trace_id, .snapshot_id = (char *)q->snapshot_id,
					.planner_version = (char *)version, .request = (char *)req,
					.inputs = plan_inputs_json(&p),
					.plan = (unsigned char *)*plan_json,
					.plan_len = strlen(*plan_json) };
		st = record(db, &t, &same, why);
		free(t.inputs);
		*finest = p.finest;
	}
	if (!st && !same) {
		free(*plan_json);
		*plan_json = NULL;
		*retry = true;
		st = tick(h, db, why);
	}
	plan_release(&p);
	gathered_release(&g);
	return st;
}

enum kith_status him_query(struct him *h, const struct him_query *in, char **plan_json, char **why)
{
	int64_t t0 = clock_mono_ms();
	double started = now_ms_fine();
	struct him_index_ops ops;
	struct him_query q;
	char *req = NULL, *version = NULL;
	sqlite3 *db = NULL;
	bool has_index, retry = true;
	int finest = -1;
	enum kith_status st;

	*plan_json = NULL;
	if ((st = normalise(in, &q, why)))
		return st;
	if (!(req = plan_request_json(&q)))
		return kith_why(why, KITH_EINVAL, "goal: not valid UTF-8");
	pthread_mutex_lock(&h->index_mu);
	ops = h->index;
	has_index = h->has_index && ops.score;
	pthread_mutex_unlock(&h->index_mu);
	version = has_index ? xasprintf("%s+%s", HIM_PLANNER_VERSION,
					ops.version ? ops.version : "index")
			    : xstrdup(HIM_PLANNER_VERSION);
	if (!(db = him_db_acquire(h)))
		st = kith_why(why, KITH_EDB, "him.db: no connection");
	for (int i = 0; !st && retry && i < MAX_ATTEMPTS; i++) {
		retry = false;
		st = plan_once(h, db, &q, req, version, has_index ? &ops : NULL,
			       t0 + q.budget_ms, plan_json, &retry, &finest, why);
	}
	if (!st && !*plan_json)
		st = kith_why(why, KITH_ECONFLICT, "the plan kept changing under the query");
	him_db_release(h, db);
	free(req);
	free(version);
	if (!st) {
		him_metrics_query(h, finest >= 0 ? finest : q.level_min, q.max_tiles,
				  now_ms_fine() - started);
	} else {
		free(*plan_json);
		*plan_json = NULL;
	}
	return st;
}

/* ---- replay --------------------------------------------------------------- */

static enum kith_status check_trace(const struct him_trace *t, const char *snapshot_id,
				    char **why)
{
	size_t n = strlen(HIM_PLANNER_VERSION);

	if (strcmp(t->snapshot_id, snapshot_id) != 0)
		return kith_why(why, KITH_ECONFLICT, "trace %s belongs to snapshot %s", t->trace_id,
				t->snapshot_id);
	if (strncmp(t->planner_version, HIM_PLANNER_VERSION, n) != 0 ||
	    (t->planner_version[n] != '\0' && t->planner_version[n] != '+'))
		return kith_why(why, KITH_ECONFLICT, "trace %s was planned by %s, this is %s",
				t->trace_id, t->planner_version, HIM_PLANNER_VERSION);
	return KITH_OK;
}

static enum kith_status replay_trace(sqlite3 *db, const struct him_trace *t, char **plan_json,
				     char **why)
{
	json_t *req = NULL, *in = json_loads(t->inputs, 0, NULL);
	struct gathered g = { 0 };
	struct him_query q;
	struct plan p;
	long long horizon = 0;
	enum kith_status st = plan_parse_request(t->request, &req, &q, why);

	memset(&p, 0, sizeof(p));
	if (!st && !kjson_int(in, "horizon", &horizon))
		st = kith_why(why, KITH_EPROTO, "the trace's inputs are malformed");
	if (!st && horizon > 0)
		st = plan_load_rows(db, q.snapshot_id, q.stream, INT64_MAX, &g.rows, &g.nrows,
				    why);
	if (!st) {
		plan_init(&p, &q, g.rows, g.nrows, horizon);
		p.horizon = horizon;
		st = plan_apply_inputs(&p, in, why);
	}
	if (!st)
		st = plan_run(&p, why);
	if (!st) {
		*plan_json = plan_output(&p, t->trace_id);
		if (p.diverged || strlen(*plan_json) != t->plan_len ||
		    memcmp(*plan_json, t->plan, t->plan_len) != 0) {
			log_error("him", "replay of %s diverged from its recorded plan", t->trace_id);
			free(*plan_json);
			*plan_json = NULL;
			st = kith_why(why, KITH_EPROTO, "replay of %s diverged from the recorded plan",
				      t->trace_id);
		}
	}
	plan_release(&p);
	gathered_release(&g);
	json_decref(req);
	json_decref(in);
	return st;
}

enum kith_status him_replay(struct him *h, const char *snapshot_id, const char *trace_id,
			    char **plan_json, char **why)
{
	struct him_trace t = { 0 };
	sqlite3 *db;
	enum kith_status st;

	*plan_json = NULL;
	if ((st = him_check_name("snapshot_id", snapshot_id, why)))
		return st;
	if (!trace_id || !*trace_id || strlen(trace_id) > 64)
		return kith_why(why, KITH_EINVAL, "trace_id: expected \"tr_\" and 24 hex digits");
	if (!(db = him_db_acquire(h)))
		return kith_why(why, KITH_EDB, "him.db: no connection");
	st = snapshot_known(db, snapshot_id, why);
	if (!st)
		st = him_trace_get(db, trace_id, &t, why);
	if (!st)
		st = check_trace(&t, snapshot_id, why);
	if (!st)
		st = replay_trace(db, &t, plan_json, why);
	him_trace_release(&t);
	him_db_release(h, db);
	return st;
}

void him_set_index(struct him *h, const struct him_index_ops *ops)
{
	pthread_mutex_lock(&h->index_mu);
	if (ops && ops->score) {
		h->index = *ops;
		h->has_index = true;
	} else {
		memset(&h->index, 0, sizeof(h->index));
		h->has_index = false;
	}
	pthread_mutex_unlock(&h->index_mu);
}
