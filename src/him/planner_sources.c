/* planner_sources.c — where a live plan's candidates come from.
 *
 * Every source is an index read bounded by a constant, so a plan costs the
 * same over 100 tiles as over 100 million:
 *   keyword   FTS5 windows over the goal's words (planner_keyword.c);
 *   hints     coordinate-range reads of the recent hint regions, on the
 *             (snapshot_id, stream, level, x, y) index;
 *   top       the levels at the top of the pyramid, from level_max down
 *             while each holds at most TOP_MAX rows (a pyramid's top is
 *             small by construction; the first level that is not — "flat" —
 *             and everything under it is reached through the other sources);
 *   reads     the warm tier's most recently read tiles, and
 *   writes    the newest rows of the catalogue — both only when the goal
 *             matched nothing in scope (or an index does the scoring), to
 *             give the usage terms something to rank;
 *   children  of the tiles the descent expands, as it goes (range reads).
 * Each source yields the newest tile (lamport, then seq) at a coordinate,
 * read in the plan's one transaction.
 *
 * Planning reads through connections of its own (struct plan_conn, pooled
 * in struct plan_shared) whose statements are prepared once: a plan runs a
 * dozen small statements, and preparing them each time cost more than
 * running them.  They are the planner's so that it can finalize them
 * before closing (sqlite3_close refuses a connection with live
 * statements); PRAGMA query_only keeps them from ever writing. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/log.h"

#include <string.h>

#define TOP_MAX 64           /* rows of a level read whole */
#define HINT_PROBES 64       /* (region, level) range reads per plan */
#define HINT_ROWS 256        /* rows read for hints per plan */
#define RECENT_WRITES 256    /* newest catalogue rows looked at */
#define CHILD_ROWS 16        /* rows (versions) of one tile's four children */
#define CONN_KEEP 32         /* idle planner connections kept */

/* ---- connections and statements -------------------------------------- */

#define SCOPE \
	" t.snapshot_id = ?1 AND t.stream = ?2 AND t.level BETWEEN ?3 AND ?4" \
	" AND t.lamport <= ?5 AND" PLAN_NEWEST("5")

static const char *const sql_text[PLAN_SQL_COUNT] = {
	[PLAN_SQL_BEGIN] = "BEGIN",
	[PLAN_SQL_COMMIT] = "COMMIT",
	[PLAN_SQL_LAMPORT] = "SELECT value FROM meta WHERE key = 'lamport'",
	[PLAN_SQL_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM tiles",
	[PLAN_SQL_SNAPSHOT] = "SELECT 1 FROM snapshots WHERE snapshot_id = ?1",
	[PLAN_SQL_TRACE_PLAN] = "SELECT plan FROM traces WHERE trace_id = ?1",
	[PLAN_SQL_BOX] =
		"SELECT " PLAN_ROW_COLS " FROM tiles t WHERE t.snapshot_id = ?1 AND t.stream = ?2"
		" AND t.level = ?3 AND t.x BETWEEN ?4 AND ?5 AND t.y BETWEEN ?6 AND ?7"
		" AND t.lamport <= ?8 ORDER BY t.x, t.y, t.seq LIMIT ?9",
	[PLAN_SQL_LEVEL_COUNT] =
		"SELECT count(*) FROM (SELECT 1 FROM tiles WHERE snapshot_id = ?1 AND stream = ?2"
		" AND level = ?3 LIMIT ?4)",
	[PLAN_SQL_PROBE_SEQ] = "SELECT " PLAN_ROW_COLS " FROM tiles t WHERE t.seq = ?6 AND" SCOPE,
	[PLAN_SQL_PROBE_ID] =
		"SELECT " PLAN_ROW_COLS " FROM tiles t WHERE t.tile_id = ?6 AND" SCOPE,
	[PLAN_SQL_RECENT_SEQS] = "SELECT seq FROM tiles ORDER BY seq DESC LIMIT ?1",
	/* FTS5 walks the doclists backwards lazily: a window costs its rows */
	[PLAN_SQL_FTS_SCAN] =
		"SELECT rowid, kith_bm25(tiles_fts, ?2) FROM tiles_fts WHERE tiles_fts MATCH ?1"
		" AND rowid < ?4 ORDER BY rowid DESC LIMIT ?3",
	[PLAN_SQL_DF] = "SELECT count(*) FROM tiles_fts WHERE tiles_fts MATCH ?1",
	[PLAN_SQL_ANY_HINT] =
		"SELECT 1 FROM hints WHERE snapshot_id = ?1 AND stream = ?2 AND level_max >= ?3"
		" AND level_min <= ?4 LIMIT 1",
};

/* SQLite keeps global memory statistics by default, updated under one
 * process-wide mutex by every allocation of every connection: with 16
 * threads planning at once that mutex, not the planning, set the pace
 * (a third of the throughput).  Nothing in kith reads the statistics.  The
 * switch only works before SQLite initialises, which the first
 * sqlite3_open does, hence a constructor; it belongs with the catalogue's
 * connection setup, and lives here until that file can take it. */
__attribute__((constructor)) static void sqlite_without_memstatus(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static struct plan_conn *conn_open(const char *db_path, char **why)
{
	static const char pragmas[] =
		"PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;";
	struct plan_conn *c = xcalloc(1, sizeof(*c));

	if (sqlite3_open_v2(db_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		    SQLITE_OK ||
	    sqlite3_busy_timeout(c->db, 10000) != SQLITE_OK ||
	    sqlite3_exec(c->db, pragmas, NULL, NULL, NULL) != SQLITE_OK || !plan_register_bm25(c->db)) {
		kith_why(why, KITH_EDB, "him.db: cannot open a planner connection: %s",
			 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return NULL;
	}
	return c;
}

static void conn_close(struct plan_conn *c)
{
	for (int i = 0; i < PLAN_SQL_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

struct plan_shared *plan_shared_new(const char *db_path)
{
	struct plan_shared *s = xcalloc(1, sizeof(*s));

	s->db_path = xstrdup(db_path);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_mutex_init(&s->terms_mu, NULL);
	return s;
}

void plan_shared_free(struct plan_shared *s)
{
	struct plan_conn *c;

	if (!s)
		return;
	while ((c = s->idle)) {       /* no plan may still hold one */
		s->idle = c->next;
		conn_close(c);
	}
	plan_keyword_release(s);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_mutex_destroy(&s->terms_mu);
	free(s->db_path);
	free(s);
}

struct plan_conn *plan_conn_get(struct plan_shared *s, const char *db_path, char **why)
{
	struct plan_conn *c = NULL;

	if (s) {
		pthread_mutex_lock(&s->pool_mu);
		if ((c = s->idle)) {
			s->idle = c->next;
			s->nidle--;
		}
		pthread_mutex_unlock(&s->pool_mu);
	}
	return c ? c : conn_open(s ? s->db_path : db_path, why);
}

void plan_conn_put(struct plan_shared *s, struct plan_conn *c)
{
	if (!c)
		return;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (s) {
		pthread_mutex_lock(&s->pool_mu);
		if (s->nidle < CONN_KEEP) {
			c->next = s->idle;
			s->idle = c;
			s->nidle++;
			c = NULL;
		}
		pthread_mutex_unlock(&s->pool_mu);
	}
	if (c)
		conn_close(c);
}

sqlite3_stmt *plan_stmt(struct plan_conn *c, enum plan_sql id)
{
	sqlite3_stmt *s = c->stmt[id];

	if (!s && sqlite3_prepare_v3(c->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
				     NULL) != SQLITE_OK) {
		sqlite3_finalize(s);
		return NULL;
	}
	c->stmt[id] = s;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

void plan_row_from(sqlite3_stmt *s, int col, struct plan_row *r)
{
	const unsigned char *id = sqlite3_column_text(s, col);

	memset(r, 0, sizeof(*r));
	snprintf(r->tile_id, sizeof(r->tile_id), "%s", id ? (const char *)id : "");
	r->level = sqlite3_column_int(s, col + 1);
	r->x = (long)sqlite3_column_int64(s, col + 2);
	r->y = (long)sqlite3_column_int64(s, col + 3);
	r->lamport = sqlite3_column_int64(s, col + 4);
	r->seq = sqlite3_column_int64(s, col + 5);
	r->access = sqlite3_column_int64(s, col + 6);
	r->last_ms = sqlite3_column_int64(s, col + 7);
}

static bool newer(const struct plan_row *a, const struct plan_row *b)
{
	return a->lamport != b->lamport ? a->lamport > b->lamport : a->seq > b->seq;
}

enum kith_status plan_box_rows(sqlite3_stmt *s, const char *snapshot_id, const char *stream,
			       int level, long x0, long x1, long y0, long y1, int64_t horizon,
			       size_t limit, void (*each)(const struct plan_row *r, void *ud),
			       void *ud, char **why)
{
	struct plan_row best, r;
	bool have = false;
	int step;

	sqlite3_bind_text(s, 1, snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, level);
	sqlite3_bind_int64(s, 4, x0);
	sqlite3_bind_int64(s, 5, x1);
	sqlite3_bind_int64(s, 6, y0);
	sqlite3_bind_int64(s, 7, y1);
	sqlite3_bind_int64(s, 8, horizon);
	sqlite3_bind_int64(s, 9, limit ? (sqlite3_int64)limit : -1);
	/* rows come by x, y, seq: the versions of a coordinate are adjacent */
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		plan_row_from(s, 0, &r);
		if (have && (r.x != best.x || r.y != best.y)) {
			each(&best, ud);
			have = false;
		}
		if (!have || newer(&r, &best))
			best = r;
		have = true;
	}
	sqlite3_reset(s);
	if (step != SQLITE_DONE)
		return him_db_fail(sqlite3_db_handle(s), "reading tiles", why);
	if (have)
		each(&best, ud);
	return KITH_OK;
}

enum kith_status plan_rows_in_box(sqlite3 *db, const char *snapshot_id, const char *stream,
				  int level, long x0, long x1, long y0, long y1, int64_t horizon,
				  size_t limit, void (*each)(const struct plan_row *r, void *ud),
				  void *ud, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status st;

	if (sqlite3_prepare_v2(db, sql_text[PLAN_SQL_BOX], -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading tiles", why);
	st = plan_box_rows(s, snapshot_id, stream, level, x0, x1, y0, y1, horizon, limit, each,
			   ud, why);
	sqlite3_finalize(s);
	return st;
}

/* Rows in a box through the plan's connection. */
static enum kith_status box(struct plan_live *lv, const struct plan *p, int level, long x0,
			    long x1, long y0, long y1, size_t limit,
			    void (*each)(const struct plan_row *r, void *ud), void *ud, char **why)
{
	sqlite3_stmt *s = plan_stmt(lv->conn, PLAN_SQL_BOX);

	if (!s)
		return him_db_fail(lv->db, "reading tiles", why);
	return plan_box_rows(s, p->q->snapshot_id, p->q->stream, level, x0, x1, y0, y1, p->horizon,
			     limit, each, ud, why);
}

void plan_live_release(struct plan_live *lv)
{
	him_hint_rows_free(lv->hint_rows, lv->nhint_rows);
	lv->hint_rows = NULL;
	lv->nhint_rows = 0;
}

struct adding {
	struct plan *p;
	enum plan_src src;
	double rel;
	size_t rows;
};

static void add_row(const struct plan_row *r, void *ud)
{
	struct adding *a = ud;

	plan_add(a->p, r, a->src, a->rel);
	a->rows++;
}

/* Usage and hints score these; relevance is 0 in keyword mode (a match
 * would have come through the keyword window) and unknown with an index. */
static double no_rel(const struct plan *p)
{
	return p->use_index ? -1 : 0;
}

/* ---- hint regions ---------------------------------------------------------- */

/* The regions of the recent hints, newest first, clipped to the query's
 * levels (HIM_PLANNER_HINTS hints; their boxes all count). */
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

/* The tiles inside the regions, newest regions first, finest level first,
 * within HINT_PROBES reads and HINT_ROWS rows. */
static enum kith_status hinted_tiles(struct plan *p, struct plan_live *lv, char **why)
{
	struct adding a = { .p = p, .src = PLAN_SRC_HINT, .rel = no_rel(p) };
	int probes = 0;
	enum kith_status st = KITH_OK;

	for (size_t k = 0; !st && k < p->nhints; k++) {
		const struct plan_region *r = &p->hints[k];

		for (int level = r->lmin; !st && level <= r->lmax; level++) {
			if (probes++ >= HINT_PROBES || a.rows >= HINT_ROWS)
				return KITH_OK;
			/* |x|, w <= 2^31: no overflow in long (64-bit) */
			st = box(lv, p, level, r->box[0], r->box[0] + r->box[2] - 1, r->box[1],
				 r->box[1] + r->box[3] - 1, HINT_ROWS - a.rows, add_row, &a, why);
		}
	}
	return st;
}

/* ---- the top of the pyramid --------------------------------------------- */

static enum kith_status level_rows(struct plan_live *lv, const struct plan *p, int level,
				   int64_t *n, char **why)
{
	sqlite3_stmt *s = plan_stmt(lv->conn, PLAN_SQL_LEVEL_COUNT);
	int step;

	if (!s)
		return him_db_fail(lv->db, "reading tiles", why);
	sqlite3_bind_text(s, 1, p->q->snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p->q->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, level);
	sqlite3_bind_int(s, 4, TOP_MAX + 1);
	step = sqlite3_step(s);
	*n = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return step == SQLITE_ROW ? KITH_OK : him_db_fail(lv->db, "reading tiles", why);
}

static enum kith_status top_levels(struct plan *p, struct plan_live *lv, char **why)
{
	struct adding a = { .p = p, .src = PLAN_SRC_TOP, .rel = no_rel(p) };
	enum kith_status st = KITH_OK;

	for (int level = p->q->level_max; !st && level >= p->q->level_min; level--) {
		int64_t n = 0;

		if ((st = level_rows(lv, p, level, &n, why)) || n > TOP_MAX)
			break;
		st = box(lv, p, level, -HIM_MAX_COORD, HIM_MAX_COORD, -HIM_MAX_COORD,
			 HIM_MAX_COORD, 0, add_row, &a, why);
	}
	return st;
}

/* ---- recent reads and writes ------------------------------------------ */

/* How many of each a plan takes: enough to fill a plan and its beam. */
static size_t recent_keep(const struct plan *p)
{
	size_t k = 2 * (size_t)p->q->max_tiles;

	return k < 8 ? 8 : k > 32 ? 32 : k;
}

sqlite3_stmt *plan_scope_probe(struct plan_conn *c, const struct plan *p, enum plan_sql id)
{
	sqlite3_stmt *s = plan_stmt(c, id);

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, p->q->snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p->q->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, p->q->level_min);
	sqlite3_bind_int(s, 4, p->q->level_max);
	sqlite3_bind_int64(s, 5, p->horizon);
	return s;
}

/* Step a scoped probe (?6 bound): 1 = in scope (*r set), 0 = not, -1 =
 * error. */
int plan_probe(sqlite3_stmt *s, struct plan_row *r)
{
	int step = sqlite3_step(s);
	int rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;

	if (rc == 1)
		plan_row_from(s, 0, r);
	sqlite3_reset(s);
	return rc;
}

/* The warm tier's most recently read tiles that are in scope.  The cache
 * knows ids only; each is looked up (the unique tile_id index). */
static enum kith_status recent_reads(struct plan *p, struct plan_live *lv, char **why)
{
	size_t max = recent_keep(p), n;
	char (*ids)[HIM_ID_HEX + 1] = xcalloc(max, sizeof(*ids));
	sqlite3_stmt *s = NULL;
	enum kith_status st = KITH_OK;

	n = lv->h->cache ? him_cache_recent(lv->h->cache, ids, max) : 0;
	if (n && !(s = plan_scope_probe(lv->conn, p, PLAN_SQL_PROBE_ID)))
		st = him_db_fail(lv->db, "reading tiles", why);
	for (size_t i = 0; !st && i < n; i++) {
		struct plan_row r;
		int rc;

		sqlite3_bind_text(s, 6, ids[i], -1, SQLITE_STATIC);
		if ((rc = plan_probe(s, &r)) < 0)
			st = him_db_fail(lv->db, "reading tiles", why);
		else if (rc)
			plan_add(p, &r, PLAN_SRC_READ, no_rel(p));
	}
	free(ids);
	return st;
}

/* The newest rows of the catalogue that are in scope: seq is the rowid, so
 * this is a backwards walk of at most RECENT_WRITES rows. */
static enum kith_status recent_writes(struct plan *p, struct plan_live *lv, char **why)
{
	sqlite3_stmt *s = plan_scope_probe(lv->conn, p, PLAN_SQL_PROBE_SEQ);
	sqlite3_stmt *w = plan_stmt(lv->conn, PLAN_SQL_RECENT_SEQS);
	size_t keep = recent_keep(p), got = 0;
	int step = SQLITE_DONE;
	enum kith_status st = KITH_OK;

	if (!s || !w)
		return him_db_fail(lv->db, "reading tiles", why);
	sqlite3_bind_int(w, 1, RECENT_WRITES);
	while (got < keep && (step = sqlite3_step(w)) == SQLITE_ROW) {
		struct plan_row r;
		int rc;

		sqlite3_bind_int64(s, 6, sqlite3_column_int64(w, 0));
		if ((rc = plan_probe(s, &r)) < 0) {
			step = SQLITE_ERROR;
			break;
		}
		if (rc) {
			plan_add(p, &r, PLAN_SRC_WRITE, no_rel(p));
			got++;
		}
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		st = him_db_fail(lv->db, "reading tiles", why);
	sqlite3_reset(w);
	return st;
}

/* ---- children ----------------------------------------------------------- */

static enum kith_status live_children(struct plan *p, int level, const size_t *parents, size_t n,
				      char **why)
{
	struct plan_live *lv = p->source;
	struct adding a = { .p = p, .src = PLAN_SRC_CHILD, .rel = no_rel(p) };
	enum kith_status st = KITH_OK;

	for (size_t i = 0; !st && i < n; i++) {
		const struct plan_row *r = &p->c[parents[i]].row;

		/* tile (x, y) at level l covers (2x..2x+1, 2y..2y+1) at l-1 */
		st = box(lv, p, level, 2 * r->x, 2 * r->x + 1, 2 * r->y, 2 * r->y + 1, CHILD_ROWS,
			 add_row, &a, why);
	}
	return st;
}

/* Whether the scope has any hint: most plans have none, and reading them
 * (traces.c) prepares a statement each time. */
static enum kith_status any_hint(struct plan_live *lv, const struct plan *p, bool *yes,
				 char **why)
{
	sqlite3_stmt *s = plan_stmt(lv->conn, PLAN_SQL_ANY_HINT);
	int step;

	if (!s)
		return him_db_fail(lv->db, "reading hints", why);
	sqlite3_bind_text(s, 1, p->q->snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p->q->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, p->q->level_min);
	sqlite3_bind_int(s, 4, p->q->level_max);
	step = sqlite3_step(s);
	sqlite3_reset(s);
	*yes = step == SQLITE_ROW;
	return step == SQLITE_ROW || step == SQLITE_DONE ? KITH_OK
		: him_db_fail(lv->db, "reading hints", why);
}

enum kith_status plan_gather(struct plan *p, struct plan_live *lv, char **why)
{
	size_t matched = 0;
	bool hinted = false;
	enum kith_status st;

	p->source = lv;
	p->children = live_children;
	p->batch = 0;
	st = any_hint(lv, p, &hinted, why);
	if (!st && hinted)
		st = him_hints_recent(lv->db, p->q->snapshot_id, p->q->stream, p->q->level_max,
				      p->q->level_min, HIM_PLANNER_HINTS, &lv->hint_rows,
				      &lv->nhint_rows, why);
	if (!st)
		set_hints(p, lv->hint_rows, lv->nhint_rows);
	if (!st && *p->q->goal)
		st = plan_keywords(p, lv, &matched, why);
	if (!st)
		st = hinted_tiles(p, lv, why);
	if (!st && (!matched || p->use_index))
		st = recent_reads(p, lv, why);
	if (!st && (!matched || p->use_index))
		st = recent_writes(p, lv, why);
	if (!st)
		st = top_levels(p, lv, why);
	return st;
}
