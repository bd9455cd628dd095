/* planner.c — him_query, him_replay and him_set_index: gathering a plan's
 * inputs, recording its trace and replaying it.
 *
 * A query reads everything it depends on in one SQLite read transaction:
 * the committed Lamport time (the horizon: no tile with a later time is a
 * candidate), the recent hints and the candidates the sources produce
 * (planner_sources.c, planner_keyword.c) — before the descent and, for the
 * children of the tiles it refines, during it.  Accesses not yet written
 * (access.c batches them) are flushed first, so a plan sees every read
 * served before it.  The trace (planner_trace.c) stores the canonical
 * request, the planner version and every input that can change later —
 * horizon, "now", the candidates in arrival order with their relevance and
 * usage, the estimate for matches not retrieved, hint regions and how many
 * levels the budget allowed — with the exact output bytes.  Replay feeds
 * the engine the recorded inputs (never the catalogue, the keyword index,
 * the clock or the semantic index) and refuses (KITH_EPROTO) to return
 * anything but the recorded bytes.
 *
 * trace_id = "tr_" + the first 24 hex digits of
 *   blake3(canonical request "\n" horizon "\n" planner version),
 * so the same question at the same Lamport time names the same trace; if
 * that trace exists with a different plan (usage or hints moved on), the
 * clock is ticked and the query planned again under a new name.  An
 * existing trace is compared before anything is written, so repeating a
 * question costs no write. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <string.h>
#include <time.h>

#define MAX_GOAL 4096
/* A plan whose trace id another query recorded with a different plan (the
 * store moved between them) is planned again at a newer horizon.  Under a
 * steady stream of ingests and identical concurrent queries four attempts
 * were seen to run out (409) on a loaded machine; each attempt ticks the
 * horizon, so repeated collisions get rarer with every try. */
#define MAX_ATTEMPTS 16

/* Milliseconds with sub-millisecond resolution, for the latency metric. */
static double now_ms_fine(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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

/* One integer from a cached statement (?1 = arg when given). */
static enum kith_status scalar(struct plan_conn *c, enum plan_sql id, const char *arg,
			       int64_t *out, bool *found, char **why)
{
	sqlite3_stmt *s = plan_stmt(c, id);
	int step;

	if (!s)
		return him_db_fail(c->db, "planning", why);
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	*found = step == SQLITE_ROW;
	*out = *found ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? KITH_OK
		: him_db_fail(c->db, "planning", why);
}

static enum kith_status snapshot_known(struct plan_conn *c, const char *id, char **why)
{
	int64_t v;
	bool found;
	enum kith_status st = scalar(c, PLAN_SQL_SNAPSHOT, id, &v, &found, why);

	return st ? st : found ? KITH_OK
		: kith_why(why, KITH_ENOTFOUND, "snapshot %s not found", id);
}

static enum kith_status exec(struct plan_conn *c, enum plan_sql id, char **why)
{
	sqlite3_stmt *s = plan_stmt(c, id);
	int step = s ? sqlite3_step(s) : SQLITE_ERROR;

	if (s)
		sqlite3_reset(s);
	return step == SQLITE_DONE ? KITH_OK : him_db_fail(c->db, "planning", why);
}

/* Plan inside one read transaction: the horizon, the candidates, the
 * descent (which fetches children as it goes). */
static enum kith_status plan_live(struct him *h, struct plan_conn *conn,
				  const struct him_query *q, const struct him_index_ops *ops,
				  int64_t deadline, struct plan *p, char **why)
{
	struct plan_live lv = { .h = h, .conn = conn, .db = conn->db,
				.shared = him_planner_shared(h) };
	int64_t horizon = 0;
	bool found;
	enum kith_status st = exec(conn, PLAN_SQL_BEGIN, why);

	if (!st)
		st = scalar(conn, PLAN_SQL_LAMPORT, NULL, &horizon, &found, why);
	if (!st)
		st = scalar(conn, PLAN_SQL_MAX_SEQ, NULL, &lv.max_seq, &found, why);
	if (!st)
		st = snapshot_known(conn, q->snapshot_id, why);
	plan_init(p, q, horizon);
	p->use_index = ops != NULL;
	p->now_ms = clock_now_ms();
	p->deadline_ms = deadline;
	if (ops)
		p->ops = *ops;
	if (!st && horizon > 0)
		st = plan_gather(p, &lv, why);
	if (!st)
		st = plan_run(p, why);
	p->children = NULL;         /* lv goes out of scope */
	p->source = NULL;
	if (!sqlite3_get_autocommit(conn->db) && exec(conn, PLAN_SQL_COMMIT, NULL))
		sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
	plan_live_release(&lv);
	return st;
}

/* ---- query ----------------------------------------------------------------- */

static enum kith_status tick(struct him *h, char **why)
{
	sqlite3 *db = him_db_acquire(h);
	enum kith_status st;

	if (!db)
		return kith_why(why, KITH_EDB, "him.db: no connection");
	if (!(st = him_write_begin(h, db, why))) {
		him_lamport_next(h, db);
		st = him_write_commit(h, db, why);
	}
	him_db_release(h, db);
	return st;
}

/* The recorded plan of trace_id, compared with ours: *exists, *same. */
static enum kith_status recorded(struct plan_conn *c, const char *trace_id, const char *plan,
				 bool *exists, bool *same, char **why)
{
	sqlite3_stmt *s = plan_stmt(c, PLAN_SQL_TRACE_PLAN);
	int step;

	*exists = *same = false;
	if (!s)
		return him_db_fail(c->db, "reading a trace", why);
	sqlite3_bind_text(s, 1, trace_id, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0);
		const void *old = sqlite3_column_blob(s, 0);

		*exists = true;
		*same = n == strlen(plan) && (!n || memcmp(old, plan, n) == 0);
	}
	sqlite3_reset(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? KITH_OK
		: him_db_fail(c->db, "reading a trace", why);
}

/* Record the trace unless it is there already; *same is false when the
 * id was taken by a different plan.  Writes go through the write section
 * (queueing on its mutex, not on SQLite's busy sleeps).  (Batching the
 * traces of concurrent queries into one section was tried: no gain
 * measurable over HTTP.) */
static enum kith_status record(struct him *h, struct plan_conn *c, const struct plan *p,
			       struct him_trace *t, bool *same, char **why)
{
	bool exists;
	char *err = NULL;
	sqlite3 *db;
	enum kith_status st = recorded(c, t->trace_id, (const char *)t->plan, &exists, same, why);

	if (st || exists)
		return st;
	t->inputs = plan_inputs_json(p);
	if (!(db = him_db_acquire(h)))
		return kith_why(why, KITH_EDB, "him.db: no connection");
	if ((st = him_write_begin(h, db, why))) {
		him_db_release(h, db);
		return st;
	}
	st = him_trace_put(db, t, &err);
	if (st) {
		him_write_rollback(h, db);
		him_db_release(h, db);
		if (st == KITH_EEXIST) {      /* another query got there first */
			free(err);
			return recorded(c, t->trace_id, (const char *)t->plan, &exists, same, why);
		}
		kith_why(why, st, "%s", err);
		free(err);
		return st;
	}
	*same = true;
	st = him_write_commit(h, db, why);
	him_db_release(h, db);
	return st;
}

static enum kith_status plan_once(struct him *h, struct plan_conn *c, const struct him_query *q,
				  const char *req, const char *version,
				  const struct him_index_ops *ops, int64_t deadline, char **plan_json,
				  bool *retry, int *finest, char **why)
{
	struct plan p;
	struct him_trace t = { 0 };
	char trace_id[28];
	enum kith_status st;
	bool same = true;

	st = plan_live(h, c, q, ops, deadline, &p, why);
	if (!st) {
		plan_trace_id(req, p.horizon, version, trace_id);
		*plan_json = plan_output(&p, trace_id);
		t = (struct him_trace){ .trace_id = trace_id, .snapshot_id = (char *)q->snapshot_id,
					.planner_version = (char *)version, .request = (char *)req,
					.plan = (unsigned char *)*plan_json,
					.plan_len = strlen(*plan_json) };
		st = record(h, c, &p, &t, &same, why);
		free(t.inputs);
		*finest = p.finest;
	}
	if (!st && !same) {
		free(*plan_json);
		*plan_json = NULL;
		*retry = true;
		st = tick(h, why);
	}
	plan_release(&p);
	return st;
}

enum kith_status him_query(struct him *h, const struct him_query *in, char **plan_json, char **why)
{
	int64_t t0 = clock_mono_ms();
	double started = now_ms_fine();
	struct him_index_ops ops;
	struct him_query q;
	char *req = NULL, *version = NULL;
	struct plan_shared *shared = him_planner_shared(h);
	struct plan_conn *c;
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
	him_access_flush(h);
	if (!(c = plan_conn_get(shared, h->db_path, why)))
		st = KITH_EDB;
	for (int i = 0; !st && retry && i < MAX_ATTEMPTS; i++) {
		retry = false;
		st = plan_once(h, c, &q, req, version, has_index ? &ops : NULL,
			       t0 + q.budget_ms, plan_json, &retry, &finest, why);
	}
	if (!st && !*plan_json)
		st = kith_why(why, KITH_ECONFLICT, "the plan kept changing under the query");
	plan_conn_put(shared, c);
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

static enum kith_status replay_trace(const struct him_trace *t, char **plan_json, char **why)
{
	json_t *req = NULL, *in = json_loads(t->inputs, 0, NULL);
	struct him_query q;
	struct plan p;
	long long horizon = 0;
	enum kith_status st = plan_parse_request(t->request, &req, &q, why);

	memset(&p, 0, sizeof(p));
	if (!st && !kjson_int(in, "horizon", &horizon))
		st = kith_why(why, KITH_EPROTO, "the trace's inputs are malformed");
	if (!st) {
		plan_init(&p, &q, horizon);
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
	json_decref(req);
	json_decref(in);
	return st;
}

enum kith_status him_replay(struct him *h, const char *snapshot_id, const char *trace_id,
			    char **plan_json, char **why)
{
	struct him_trace t = { 0 };
	struct plan_shared *shared = him_planner_shared(h);
	struct plan_conn *c;
	enum kith_status st;

	*plan_json = NULL;
	if ((st = him_check_name("snapshot_id", snapshot_id, why)))
		return st;
	if (!trace_id || !*trace_id || strlen(trace_id) > 64)
		return kith_why(why, KITH_EINVAL, "trace_id: expected \"tr_\" and 24 hex digits");
	if (!(c = plan_conn_get(shared, h->db_path, why)))
		return KITH_EDB;
	st = snapshot_known(c, snapshot_id, why);
	if (!st)
		st = him_trace_get(c->db, trace_id, &t, why);
	if (!st)
		st = check_trace(&t, snapshot_id, why);
	if (!st)
		st = replay_trace(&t, plan_json, why);
	him_trace_release(&t);
	plan_conn_put(shared, c);
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
