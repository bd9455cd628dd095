/* traces.c — what the planner keeps besides tiles: query traces (so that
 * him_replay() can reproduce a plan byte for byte) and prefetch hints (so
 * that it can favour hinted regions).
 *
 * Both are plain rows in him.db.  A trace stores the exact QueryPlan bytes
 * as a BLOB, never a re-serialisation; a hint's boxes are kept as a small
 * JSON array of [x, y, w, h] and parsed leniently on the way out (a
 * malformed box reads as zeros rather than failing the planner). */
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <string.h>

/* ---- traces ------------------------------------------------------------- */

enum kith_status him_trace_put(sqlite3 *db, const struct him_trace *t, char **why)
{
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v2(db, "INSERT INTO traces(trace_id, snapshot_id, planner_version,"
			       " request, inputs, plan, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			       -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "recording a trace", why);
	him_bind_text(s, 1, t->trace_id);
	him_bind_text(s, 2, t->snapshot_id);
	him_bind_text(s, 3, t->planner_version ? t->planner_version : "");
	him_bind_text(s, 4, t->request ? t->request : "{}");
	him_bind_text(s, 5, t->inputs ? t->inputs : "{}");
	sqlite3_bind_blob(s, 6, t->plan ? (const void *)t->plan : "", (int)t->plan_len,
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, t->created_at_ms ? t->created_at_ms : clock_now_ms());
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step == SQLITE_DONE)
		return KITH_OK;
	if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		return kith_why(why, KITH_EEXIST, "trace %s already exists", t->trace_id);
	return him_db_fail(db, "recording a trace", why);
}

enum kith_status him_trace_get(sqlite3 *db, const char *trace_id, struct him_trace *out,
			       char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	int step;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db, "SELECT trace_id, snapshot_id, planner_version, request, inputs,"
			       " plan, created_at FROM traces WHERE trace_id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		return him_db_fail(db, "reading a trace", why);
	him_bind_text(s, 1, trace_id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		const void *plan = sqlite3_column_blob(s, 5);

		out->trace_id = him_col_dup(s, 0);
		out->snapshot_id = him_col_dup(s, 1);
		out->planner_version = him_col_dup(s, 2);
		out->request = him_col_dup(s, 3);
		out->inputs = him_col_dup(s, 4);
		out->plan_len = (size_t)sqlite3_column_bytes(s, 5);
		out->plan = xmalloc(out->plan_len + 1);
		if (out->plan_len)
			memcpy(out->plan, plan, out->plan_len);
		out->plan[out->plan_len] = '\0';
		out->created_at_ms = sqlite3_column_int64(s, 6);
	} else if (step == SQLITE_DONE) {
		rc = kith_why(why, KITH_ENOTFOUND, "trace %s not found", trace_id);
	} else {
		rc = him_db_fail(db, "reading a trace", why);
	}
	sqlite3_finalize(s);
	return rc;
}

void him_trace_release(struct him_trace *t)
{
	if (!t)
		return;
	free(t->trace_id);
	free(t->snapshot_id);
	free(t->planner_version);
	free(t->request);
	free(t->inputs);
	free(t->plan);
	memset(t, 0, sizeof(*t));
}

/* ---- hints -------------------------------------------------------------- */

enum kith_status him_hints_add(sqlite3 *db, const struct him_hint *hints, size_t n, char **why)
{
	static const char sql[] =
		"INSERT INTO hints(query_id, snapshot_id, stream, level_max, level_min, bboxes,"
		" confidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	int64_t now = clock_now_ms();

	for (size_t i = 0; i < n; i++) {
		const struct him_hint *hi = &hints[i];
		struct buf boxes = BUF_INIT(0);
		sqlite3_stmt *s = NULL;
		enum kith_status rc;

		buf_puts(&boxes, "[");
		for (size_t b = 0; b < hi->nbboxes; b++)
			buf_printf(&boxes, "%s[%ld,%ld,%ld,%ld]", b ? "," : "", hi->bboxes[b][0],
				   hi->bboxes[b][1], hi->bboxes[b][2], hi->bboxes[b][3]);
		buf_puts(&boxes, "]");
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
			buf_release(&boxes);
			return him_db_fail(db, "recording hints", why);
		}
		him_bind_text(s, 1, hi->query_id ? hi->query_id : "");
		him_bind_text(s, 2, hi->snapshot_id);
		him_bind_text(s, 3, hi->stream);
		sqlite3_bind_int(s, 4, hi->level_max);
		sqlite3_bind_int(s, 5, hi->level_min);
		him_bind_text(s, 6, buf_str(&boxes));
		sqlite3_bind_double(s, 7, hi->confidence);
		sqlite3_bind_int64(s, 8, now);
		rc = him_run(db, s, "recording hints", why);
		buf_release(&boxes);
		if (rc)
			return rc;
	}
	return KITH_OK;
}

static void hint_from_stmt(sqlite3_stmt *s, struct him_hint_row *r)
{
	const unsigned char *boxes = sqlite3_column_text(s, 6);
	json_t *arr = boxes ? json_loads((const char *)boxes, 0, NULL) : NULL;
	size_t i;
	json_t *box;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->query_id = him_col_dup(s, 1);
	r->snapshot_id = him_col_dup(s, 2);
	r->stream = him_col_dup(s, 3);
	r->level_max = sqlite3_column_int(s, 4);
	r->level_min = sqlite3_column_int(s, 5);
	r->confidence = sqlite3_column_double(s, 7);
	r->created_at_ms = sqlite3_column_int64(s, 8);
	if (json_is_array(arr) && json_array_size(arr))
		r->bboxes = xcalloc(json_array_size(arr), sizeof(*r->bboxes));
	json_array_foreach(arr, i, box) {
		for (size_t k = 0; k < 4; k++)
			r->bboxes[r->nbboxes][k] = (long)json_integer_value(json_array_get(box, k));
		r->nbboxes++;
	}
	json_decref(arr);
}

enum kith_status him_hints_recent(sqlite3 *db, const char *snapshot_id, const char *stream,
				  int level_max, int level_min, size_t limit,
				  struct him_hint_row **out, size_t *n, char **why)
{
	static const char sql[] =
		"SELECT id, query_id, snapshot_id, stream, level_max, level_min, bboxes, confidence,"
		" created_at FROM hints WHERE snapshot_id = ?1 AND (?2 IS NULL OR stream = ?2)"
		" AND level_max >= ?3 AND level_min <= ?4 ORDER BY created_at DESC, id DESC LIMIT ?5";
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int step;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading hints", why);
	him_bind_text(s, 1, snapshot_id);
	him_bind_text(s, 2, stream);
	sqlite3_bind_int(s, 3, level_min < level_max ? level_min : level_max);
	sqlite3_bind_int(s, 4, level_min < level_max ? level_max : level_min);
	sqlite3_bind_int64(s, 5, limit ? (sqlite3_int64)limit : -1);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		hint_from_stmt(s, &(*out)[(*n)++]);
	}
	sqlite3_finalize(s);
	if (step == SQLITE_DONE)
		return KITH_OK;
	him_hint_rows_free(*out, *n);
	*out = NULL;
	*n = 0;
	return him_db_fail(db, "reading hints", why);
}

void him_hint_rows_free(struct him_hint_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].query_id);
		free(rows[i].snapshot_id);
		free(rows[i].stream);
		free(rows[i].bboxes);
	}
	free(rows);
}
