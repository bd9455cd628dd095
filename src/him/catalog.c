/* catalog.c — him.db: schema, the connection pool, tile rows, keyword
 * search, the Lamport clock.  (Traces and hints are in
 * traces.c; the write section that serialises writers is in journal.c.)
 *
 * Connections are pooled (one per concurrent operation, each used by one
 * thread at a time) with WAL, so readers never wait for the writer; writers
 * are serialised in-process by h->write_mu and across processes by the
 * journal's flock and BEGIN IMMEDIATE with a busy timeout.  The Lamport
 * counter lives in the `meta` table and is also recovered from
 * MAX(tiles.lamport), so a tick that was rolled back can never be reused.
 * Keyword search goes through FTS5; the goal text is reduced to quoted word
 * tokens, so no input can form FTS syntax. */
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <string.h>
#include <sys/stat.h>

#define SCHEMA_VERSION 1
#define POOL_KEEP 32

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE snapshots(snapshot_id TEXT PRIMARY KEY, parents TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, tags TEXT NOT NULL, provenance TEXT NOT NULL,"
	" merge_policy TEXT NOT NULL CHECK (merge_policy IN ('lww', 'manual')));"
	"CREATE INDEX snapshots_created ON snapshots(created_at);"
	"CREATE TABLE tiles(seq INTEGER PRIMARY KEY AUTOINCREMENT, tile_id TEXT NOT NULL UNIQUE,"
	" stream TEXT NOT NULL, snapshot_id TEXT NOT NULL REFERENCES snapshots(snapshot_id),"
	" level INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,"
	" shape0 INTEGER NOT NULL, shape1 INTEGER NOT NULL, shape2 INTEGER NOT NULL,"
	" dtype TEXT NOT NULL, parent_tile_id TEXT, halo INTEGER, checksum TEXT NOT NULL,"
	" size_bytes INTEGER NOT NULL, lamport INTEGER NOT NULL, encoding INTEGER NOT NULL,"
	" depth INTEGER NOT NULL, stored_bytes INTEGER NOT NULL,"
	" critical INTEGER NOT NULL DEFAULT 0, access_count INTEGER NOT NULL DEFAULT 0,"
	" last_access INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, signature BLOB);"
	"CREATE INDEX tiles_coord ON tiles(snapshot_id, stream, level, x, y);"
	"CREATE INDEX tiles_level ON tiles(snapshot_id, level, x, y);"
	"CREATE TABLE traces(trace_id TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL,"
	" planner_version TEXT NOT NULL, request TEXT NOT NULL, inputs TEXT NOT NULL,"
	" plan BLOB NOT NULL, created_at INTEGER NOT NULL);"
	"CREATE TABLE hints(id INTEGER PRIMARY KEY AUTOINCREMENT, query_id TEXT NOT NULL,"
	" snapshot_id TEXT NOT NULL, stream TEXT NOT NULL, level_max INTEGER NOT NULL,"
	" level_min INTEGER NOT NULL, bboxes TEXT NOT NULL, confidence REAL NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX hints_recent ON hints(snapshot_id, stream, created_at);"
	"CREATE VIRTUAL TABLE tiles_fts USING fts5(tags, body,"
	" tokenize = 'unicode61 remove_diacritics 2');"
	"INSERT INTO meta(key, value) VALUES ('schema_version', 1), ('lamport', 0);";

#define ROW_COLS \
	"tile_id, stream, snapshot_id, level, x, y, shape0, shape1, shape2, dtype," \
	" parent_tile_id, halo, checksum, size_bytes, lamport, seq, access_count," \
	" last_access, encoding, depth, stored_bytes, critical, signature"

enum kith_status him_db_fail(sqlite3 *db, const char *doing, char **why)
{
	return kith_why(why, KITH_EDB, "him.db: %s while %s", db ? sqlite3_errmsg(db) : "no connection",
			doing);
}

void him_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

char *him_col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

enum kith_status him_run(sqlite3 *db, sqlite3_stmt *s, const char *doing, char **why)
{
	int step = sqlite3_step(s);

	sqlite3_finalize(s);
	return step == SQLITE_DONE ? KITH_OK : him_db_fail(db, doing, why);
}

/* ---- connections -------------------------------------------------------- */

static sqlite3 *db_open(const char *path)
{
	static const char pragmas[] =
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		" PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;";
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
	    sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		log_error("him", "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

sqlite3 *him_db_acquire(struct him *h)
{
	sqlite3 *db = NULL;

	pthread_mutex_lock(&h->pool_mu);
	if (h->npool)
		db = h->pool[--h->npool];
	pthread_mutex_unlock(&h->pool_mu);
	return db ? db : db_open(h->db_path);
}

void him_db_release(struct him *h, sqlite3 *db)
{
	if (!db)
		return;
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&h->pool_mu);
	if (h->npool < POOL_KEEP) {
		h->pool = xgrow(h->pool, &h->pool_cap, h->npool + 1, sizeof(*h->pool));
		h->pool[h->npool++] = db;
		db = NULL;
	}
	pthread_mutex_unlock(&h->pool_mu);
	sqlite3_close(db);
}

static enum kith_status query_int(sqlite3 *db, const char *sql, int64_t *out, char **why)
{
	sqlite3_stmt *s = NULL;
	int step;

	*out = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading the catalogue", why);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? KITH_OK
		: him_db_fail(db, "reading the catalogue", why);
}

/* Create the schema on first use; refuse a newer one. */
static enum kith_status ensure_schema(sqlite3 *db, char **why)
{
	int64_t has_meta, version = 0;
	enum kith_status rc;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return him_db_fail(db, "opening", why);
	rc = query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'", &has_meta, why);
	if (!rc && has_meta)
		rc = query_int(db, "SELECT value FROM meta WHERE key = 'schema_version'", &version, why);
	if (!rc && !has_meta && sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = him_db_fail(db, "creating the schema", why);
	if (!rc && version > SCHEMA_VERSION)
		rc = kith_why(why, KITH_EDB, "him.db has schema version %lld; this kith knows %d",
			      (long long)version, SCHEMA_VERSION);
	if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = him_db_fail(db, "creating the schema", why);
	if (rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

enum kith_status him_catalog_open(struct him *h, char **why)
{
	sqlite3 *db = db_open(h->db_path);
	int64_t stored, max_tile;
	enum kith_status rc;

	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	chmod(h->db_path, 0600);   /* memories are private; WAL/SHM inherit this */
	rc = ensure_schema(db, why);
	if (!rc)
		rc = query_int(db, "SELECT value FROM meta WHERE key = 'lamport'", &stored, why);
	if (!rc)
		rc = query_int(db, "SELECT COALESCE(MAX(lamport), 0) FROM tiles", &max_tile, why);
	if (rc) {
		sqlite3_close(db);
		return rc;
	}
	__atomic_store_n(&h->lamport, stored > max_tile ? stored : max_tile, __ATOMIC_RELEASE);
	him_db_release(h, db);
	return KITH_OK;
}

void him_catalog_close(struct him *h)
{
	for (size_t i = 0; i < h->npool; i++)
		sqlite3_close(h->pool[i]);
	free(h->pool);
	h->pool = NULL;
	h->npool = h->pool_cap = 0;
}

/* ---- Lamport clock ------------------------------------------------------ */

int64_t him_lamport_next(struct him *h, sqlite3 *db)
{
	int64_t v = __atomic_add_fetch(&h->lamport, 1, __ATOMIC_ACQ_REL);
	sqlite3_stmt *s = NULL;

	/* best effort: open recovers the clock from the tiles as well */
	if (sqlite3_prepare_v2(db, "UPDATE meta SET value = max(value, ?) WHERE key = 'lamport'",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, v);
		sqlite3_step(s);
	}
	sqlite3_finalize(s);
	return v;
}

int64_t him_lamport_now(struct him *h)
{
	return __atomic_load_n(&h->lamport, __ATOMIC_ACQUIRE);
}

/* ---- tile rows ---------------------------------------------------------- */

void him_row_release(struct him_row *r)
{
	if (r)
		him_tile_meta_release(&r->meta);
}

void him_rows_free(struct him_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		him_row_release(&rows[i]);
	free(rows);
}

static void row_from_stmt(sqlite3_stmt *s, struct him_row *r)
{
	const unsigned char *id = sqlite3_column_text(s, 0), *sum = sqlite3_column_text(s, 12);

	memset(r, 0, sizeof(*r));
	snprintf(r->meta.tile_id, sizeof(r->meta.tile_id), "%s", id ? (const char *)id : "");
	r->meta.stream = him_col_dup(s, 1);
	r->meta.snapshot_id = him_col_dup(s, 2);
	r->meta.level = sqlite3_column_int(s, 3);
	r->meta.x = (long)sqlite3_column_int64(s, 4);
	r->meta.y = (long)sqlite3_column_int64(s, 5);
	for (int i = 0; i < 3; i++)
		r->meta.shape[i] = (long)sqlite3_column_int64(s, 6 + i);
	r->meta.dtype = him_col_dup(s, 9);
	r->meta.parent_tile_id = him_col_dup(s, 10);
	r->meta.halo = sqlite3_column_type(s, 11) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 11);
	snprintf(r->meta.checksum, sizeof(r->meta.checksum), "%s", sum ? (const char *)sum : "");
	r->meta.size_bytes = (uint64_t)sqlite3_column_int64(s, 13);
	r->lamport = sqlite3_column_int64(s, 14);
	r->seq = sqlite3_column_int64(s, 15);
	r->access_count = sqlite3_column_int64(s, 16);
	r->last_access_ms = sqlite3_column_int64(s, 17);
	r->encoding = sqlite3_column_int(s, 18);
	r->depth = sqlite3_column_int(s, 19);
	r->stored_bytes = (uint64_t)sqlite3_column_int64(s, 20);
	r->critical = sqlite3_column_int(s, 21) != 0;
	if (sqlite3_column_bytes(s, 22) == (int)sizeof(r->signature)) {
		memcpy(r->signature, sqlite3_column_blob(s, 22), sizeof(r->signature));
		r->has_signature = true;
	}
}

/* Step a prepared row query to its end into a growing array. */
static enum kith_status collect_rows(sqlite3 *db, sqlite3_stmt *s, struct him_row **rows,
				     size_t *n, char **why)
{
	size_t cap = 0;
	int step;

	*rows = NULL;
	*n = 0;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		*rows = xgrow(*rows, &cap, *n + 1, sizeof(**rows));
		row_from_stmt(s, &(*rows)[(*n)++]);
	}
	if (step == SQLITE_DONE)
		return KITH_OK;
	him_rows_free(*rows, *n);
	*rows = NULL;
	*n = 0;
	return him_db_fail(db, "reading tiles", why);
}

enum kith_status him_rows_for(sqlite3 *db, const char *snapshot_id, const char *stream,
			      int level_max, int level_min, int64_t lamport_max,
			      struct him_row **rows, size_t *n, char **why)
{
	static const char sql[] =
		"SELECT " ROW_COLS " FROM tiles WHERE snapshot_id = ?1 AND (?2 IS NULL OR stream = ?2)"
		" AND level BETWEEN ?3 AND ?4 AND (?5 = 0 OR lamport <= ?5)"
		" ORDER BY level, x, y, seq";
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading tiles", why);
	him_bind_text(s, 1, snapshot_id);
	him_bind_text(s, 2, stream);
	sqlite3_bind_int(s, 3, level_min < level_max ? level_min : level_max);
	sqlite3_bind_int(s, 4, level_min < level_max ? level_max : level_min);
	sqlite3_bind_int64(s, 5, lamport_max);
	rc = collect_rows(db, s, rows, n, why);
	sqlite3_finalize(s);
	return rc;
}

/* One row from a prepared query (finalized here), or KITH_ENOTFOUND with
 * `missing` as the reason. */
static enum kith_status one_row(sqlite3 *db, sqlite3_stmt *s, struct him_row *row,
				const char *missing, char **why)
{
	struct him_row *rows;
	size_t n;
	enum kith_status rc = collect_rows(db, s, &rows, &n, why);

	sqlite3_finalize(s);
	if (rc)
		return rc;
	if (!n) {
		free(rows);
		return kith_why(why, KITH_ENOTFOUND, "%s", missing);
	}
	*row = rows[0];
	memset(&rows[0], 0, sizeof(rows[0]));
	him_rows_free(rows, n);
	return KITH_OK;
}

enum kith_status him_row_by_id(sqlite3 *db, const char *tile_id, struct him_row *row, char **why)
{
	sqlite3_stmt *s = NULL;
	char missing[96];

	memset(row, 0, sizeof(*row));
	if (sqlite3_prepare_v2(db, "SELECT " ROW_COLS " FROM tiles WHERE tile_id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return him_db_fail(db, "reading a tile", why);
	him_bind_text(s, 1, tile_id);
	snprintf(missing, sizeof(missing), "tile %.64s not found", tile_id);
	return one_row(db, s, row, missing, why);
}

enum kith_status him_row_at(sqlite3 *db, const char *stream, const char *snapshot_id, int level,
			    long x, long y, struct him_row *row, char **why)
{
	static const char sql[] =
		"SELECT " ROW_COLS " FROM tiles WHERE snapshot_id = ? AND stream = ? AND level = ?"
		" AND x = ? AND y = ? ORDER BY lamport DESC, seq DESC LIMIT 1";
	sqlite3_stmt *s = NULL;
	char missing[200];

	memset(row, 0, sizeof(*row));
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading a tile", why);
	him_bind_text(s, 1, snapshot_id);
	him_bind_text(s, 2, stream);
	sqlite3_bind_int(s, 3, level);
	sqlite3_bind_int64(s, 4, x);
	sqlite3_bind_int64(s, 5, y);
	snprintf(missing, sizeof(missing), "no tile at %s/%s/%d/%ld/%ld", stream, snapshot_id,
		 level, x, y);
	return one_row(db, s, row, missing, why);
}

enum kith_status him_file_catalogued(sqlite3 *db, const char *stream, const char *snapshot_id,
				     int level, long x, long y, const char *tile_id, bool *yes,
				     char **why)
{
	static const char sql[] =
		"SELECT 1 FROM tiles WHERE snapshot_id = ? AND stream = ? AND level = ? AND x = ?"
		" AND y = ? AND substr(tile_id, 1, 12) = substr(?, 1, 12) LIMIT 1";
	sqlite3_stmt *s = NULL;
	int step;

	*yes = false;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading a tile", why);
	him_bind_text(s, 1, snapshot_id);
	him_bind_text(s, 2, stream);
	sqlite3_bind_int(s, 3, level);
	sqlite3_bind_int64(s, 4, x);
	sqlite3_bind_int64(s, 5, y);
	him_bind_text(s, 6, tile_id);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return him_db_fail(db, "reading a tile", why);
	*yes = step == SQLITE_ROW;
	return KITH_OK;
}

enum kith_status him_row_insert(sqlite3 *db, struct him_row *r, const char *tags,
				const char *text, size_t text_len, char **why)
{
	static const char sql[] =
		"INSERT INTO tiles(tile_id, stream, snapshot_id, level, x, y, shape0, shape1, shape2,"
		" dtype, parent_tile_id, halo, checksum, size_bytes, lamport, encoding, depth,"
		" stored_bytes, critical, created_at, signature)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	const struct him_tile_meta *m = &r->meta;
	sqlite3_stmt *s = NULL;
	enum kith_status rc;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "cataloguing a tile", why);
	him_bind_text(s, 1, m->tile_id);
	him_bind_text(s, 2, m->stream);
	him_bind_text(s, 3, m->snapshot_id);
	sqlite3_bind_int(s, 4, m->level);
	sqlite3_bind_int64(s, 5, m->x);
	sqlite3_bind_int64(s, 6, m->y);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_int64(s, 7 + i, m->shape[i]);
	him_bind_text(s, 10, m->dtype);
	him_bind_text(s, 11, m->parent_tile_id);
	if (m->halo >= 0)
		sqlite3_bind_int(s, 12, m->halo);
	him_bind_text(s, 13, m->checksum);
	sqlite3_bind_int64(s, 14, (sqlite3_int64)m->size_bytes);
	sqlite3_bind_int64(s, 15, r->lamport);
	sqlite3_bind_int(s, 16, r->encoding);
	sqlite3_bind_int(s, 17, r->depth);
	sqlite3_bind_int64(s, 18, (sqlite3_int64)r->stored_bytes);
	sqlite3_bind_int(s, 19, r->critical);
	sqlite3_bind_int64(s, 20, clock_now_ms());
	if (r->has_signature)
		sqlite3_bind_blob(s, 21, r->signature, sizeof(r->signature), SQLITE_TRANSIENT);
	rc = him_run(db, s, "cataloguing a tile", why);
	if (rc)
		return rc;
	r->seq = sqlite3_last_insert_rowid(db);
	if ((!tags || !*tags) && !text_len)
		return KITH_OK;
	if (sqlite3_prepare_v2(db, "INSERT INTO tiles_fts(rowid, tags, body) VALUES (?, ?, ?)", -1,
			       &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "indexing a tile", why);
	sqlite3_bind_int64(s, 1, r->seq);
	him_bind_text(s, 2, tags ? tags : "");
	sqlite3_bind_text(s, 3, text ? text : "", text ? (int)text_len : 0, SQLITE_TRANSIENT);
	return him_run(db, s, "indexing a tile", why);
}

enum kith_status him_row_set_storage(sqlite3 *db, const char *tile_id, int encoding, int depth,
				     uint64_t stored_bytes, char **why)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, "UPDATE tiles SET encoding = ?, depth = ?, stored_bytes = ?"
			       " WHERE tile_id = ?", -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "updating a tile", why);
	sqlite3_bind_int(s, 1, encoding);
	sqlite3_bind_int(s, 2, depth);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)stored_bytes);
	him_bind_text(s, 4, tile_id);
	return him_run(db, s, "updating a tile", why);
}

/* ---- keyword search ----------------------------------------------------- */

enum kith_status him_text_scores(sqlite3 *db, const char *snapshot_id, const char *stream,
				 const char *goal,
				 void (*each)(const char *tile_id, double score, void *ud),
				 void *ud, char **why)
{
	static const char sql[] =
		"SELECT t.tile_id, -bm25(tiles_fts, 2.0, 1.0) AS s FROM tiles_fts"
		" JOIN tiles t ON t.seq = tiles_fts.rowid"
		" WHERE tiles_fts MATCH ?1 AND t.snapshot_id = ?2 AND (?3 IS NULL OR t.stream = ?3)"
		" ORDER BY s DESC, t.tile_id";
	struct buf q = BUF_INIT(0);
	sqlite3_stmt *s = NULL;
	char (*ids)[HIM_ID_HEX + 1] = NULL;
	double *scores = NULL, best = 0;
	size_t n = 0, cap = 0, scap = 0;
	enum kith_status rc = KITH_OK;
	int step;

	if (!goal || !him_fts_query(goal, &q))
		goto out;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		rc = him_db_fail(db, "searching tile text", why);
		goto out;
	}
	sqlite3_bind_text(s, 1, buf_str(&q), -1, SQLITE_TRANSIENT);
	him_bind_text(s, 2, snapshot_id);
	him_bind_text(s, 3, stream);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(s, 0);

		ids = xgrow(ids, &cap, n + 1, sizeof(*ids));
		scores = xgrow(scores, &scap, n + 1, sizeof(*scores));
		snprintf(ids[n], sizeof(ids[n]), "%s", id ? (const char *)id : "");
		scores[n] = sqlite3_column_double(s, 1);
		if (scores[n] > best)
			best = scores[n];
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = him_db_fail(db, "searching tile text", why);
		goto out;
	}
	/* bm25 is unbounded and corpus-dependent: relative to the best match
	 * of this goal, so the best match scores 1 and every match is > 0 */
	for (size_t i = 0; i < n; i++) {
		double v = best > 0 ? scores[i] / best : 1.0;

		each(ids[i], v < 1e-6 ? 1e-6 : v > 1 ? 1 : v, ud);
	}
out:
	sqlite3_finalize(s);
	buf_release(&q);
	free(ids);
	free(scores);
	return rc;
}
