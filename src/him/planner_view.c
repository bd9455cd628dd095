/* planner_view.c — the planner's in-memory view of each (snapshot, stream):
 * its tiles' coordinates, Lamport times and usage, kept between queries.
 *
 * Reading 100k rows from SQLite costs ~30 ms, far more than planning over
 * them.  A tile row never changes once written except for its usage
 * (access count, last access), and seq (AUTOINCREMENT) grows in commit
 * order because SQLite has one writer at a time, so a view loaded when
 * MAX(seq) was M holds exactly the rows with seq <= M, and it catches up
 * by reading only the rows with seq > M (a rowid range).  Usage is as of
 * the last full load, at most VIEW_USAGE_TTL_MS old; a plan records the
 * usage it used, so replay never depends on it.  Published views are
 * immutable and reference counted: a query keeps the version it plans with
 * while a catch-up publishes the next.  At most VIEW_MAX views are kept
 * (least recently used first out); bigger ones are not kept at all. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <string.h>

#define VIEW_MAX 8
#define VIEW_MAX_ROWS 1000000
#define VIEW_USAGE_TTL_MS 500

struct plan_views {
	pthread_mutex_t mu;
	pthread_mutex_t load_mu;    /* one full load at a time */
	struct plan_view *head;     /* most recently used first */
};

struct plan_views *plan_views_new(void)
{
	struct plan_views *vs = xcalloc(1, sizeof(*vs));

	pthread_mutex_init(&vs->mu, NULL);
	pthread_mutex_init(&vs->load_mu, NULL);
	return vs;
}

static void view_free(struct plan_view *v)
{
	free(v->rows);
	free(v);
}

void plan_views_free(struct plan_views *vs)
{
	struct plan_view *v;

	if (!vs)
		return;
	while ((v = vs->head)) {       /* no query may still hold one */
		vs->head = v->next;
		view_free(v);
	}
	pthread_mutex_destroy(&vs->mu);
	pthread_mutex_destroy(&vs->load_mu);
	free(vs);
}

void plan_view_put(struct plan_views *vs, struct plan_view *v)
{
	bool last;

	if (!v)
		return;
	if (!vs) {
		view_free(v);
		return;
	}
	pthread_mutex_lock(&vs->mu);
	last = --v->refs == 0;
	pthread_mutex_unlock(&vs->mu);
	if (last)
		view_free(v);
}

/* ---- loading ------------------------------------------------------------- */

/* Rows of (snapshot, stream) with from < seq <= to, by level, x, y, seq.
 * A catch-up (from > 0) walks the rowid range, not the stream's index. */
static enum kith_status load(sqlite3 *db, const char *snapshot_id, const char *stream,
			     int64_t from, int64_t to, struct plan_row **rows, size_t *n,
			     char **why)
{
	static const char full[] =
		"SELECT tile_id, level, x, y, lamport, seq, access_count, last_access FROM tiles"
		" WHERE snapshot_id = ?1 AND stream = ?2 AND seq > ?3 AND seq <= ?4"
		" ORDER BY level, x, y, seq";
	static const char tail[] =
		"SELECT tile_id, level, x, y, lamport, seq, access_count, last_access"
		" FROM tiles NOT INDEXED WHERE seq > ?3 AND seq <= ?4 AND snapshot_id = ?1"
		" AND stream = ?2 ORDER BY level, x, y, seq";
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int step;

	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, from ? tail : full, -1, &s, NULL) != SQLITE_OK)
		return him_db_fail(db, "reading tiles", why);
	sqlite3_bind_text(s, 1, snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, from);
	sqlite3_bind_int64(s, 4, to);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(s, 0);
		struct plan_row *r;

		*rows = xgrow(*rows, &cap, *n + 1, sizeof(**rows));
		r = &(*rows)[(*n)++];
		snprintf(r->tile_id, sizeof(r->tile_id), "%s", id ? (const char *)id : "");
		r->hash = plan_id_hash(r->tile_id);
		r->level = sqlite3_column_int(s, 1);
		r->x = (long)sqlite3_column_int64(s, 2);
		r->y = (long)sqlite3_column_int64(s, 3);
		r->lamport = sqlite3_column_int64(s, 4);
		r->seq = sqlite3_column_int64(s, 5);
		r->access = sqlite3_column_int64(s, 6);
		r->last_ms = sqlite3_column_int64(s, 7);
	}
	sqlite3_finalize(s);
	if (step == SQLITE_DONE)
		return KITH_OK;
	free(*rows);
	*rows = NULL;
	*n = 0;
	return him_db_fail(db, "reading tiles", why);
}

enum kith_status plan_load_rows(sqlite3 *db, const char *snapshot_id, const char *stream,
				int64_t max_seq, struct plan_row **rows, size_t *n, char **why)
{
	return load(db, snapshot_id, stream, 0, max_seq, rows, n, why);
}

static int row_cmp(const struct plan_row *a, const struct plan_row *b)
{
	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* A new view: old's rows (may be NULL) merged with the sorted `add`. */
static struct plan_view *view_new(const struct plan_view *old, const char *snapshot_id,
				  const char *stream, struct plan_row *add, size_t nadd,
				  int64_t max_seq, int64_t loaded_ms)
{
	struct plan_view *v = xcalloc(1, sizeof(*v));
	size_t nold = old ? old->n : 0, i = 0, j = 0;

	snprintf(v->snapshot_id, sizeof(v->snapshot_id), "%s", snapshot_id);
	snprintf(v->stream, sizeof(v->stream), "%s", stream);
	v->max_seq = max_seq;
	v->loaded_ms = loaded_ms;
	if (!nold) {
		v->rows = add;
		v->n = nadd;
		return v;
	}
	v->rows = xcalloc(nold + nadd + 1, sizeof(*v->rows));
	while (i < nold || j < nadd)
		v->rows[v->n++] = j == nadd || (i < nold && row_cmp(&old->rows[i], &add[j]) < 0)
			? old->rows[i++] : add[j++];
	free(add);
	return v;
}

/* ---- the cache ----------------------------------------------------------- */

static struct plan_view **find(struct plan_views *vs, const char *snapshot_id,
			       const char *stream)
{
	struct plan_view **pv;

	for (pv = &vs->head; *pv; pv = &(*pv)->next)
		if (strcmp((*pv)->snapshot_id, snapshot_id) == 0 && strcmp((*pv)->stream, stream) == 0)
			break;
	return pv;
}

/* Publish v (replacing an older version) at the front; drop the least
 * recently used beyond VIEW_MAX.  Called with vs->mu held. */
static void publish(struct plan_views *vs, struct plan_view *v)
{
	struct plan_view **pv = find(vs, v->snapshot_id, v->stream), *old = *pv, *gone = NULL;
	size_t count = 0;

	if (old && (old->max_seq > v->max_seq ||
		    (old->max_seq == v->max_seq && old->loaded_ms > v->loaded_ms)))
		return;                 /* a newer version got there first */
	if (old) {
		*pv = old->next;
		if (--old->refs == 0)
			gone = old;
	}
	v->refs++;
	v->next = vs->head;
	vs->head = v;
	pv = &vs->head;
	while (*pv) {
		if (count++ < VIEW_MAX) {
			pv = &(*pv)->next;
			continue;
		}
		old = *pv;
		*pv = old->next;
		if (--old->refs == 0)
			view_free(old);
	}
	if (gone)
		view_free(gone);
}

/* Under vs->mu: serve a cached view (true), or say where to load from:
 * *base is a view to catch up from (a reference is taken), or NULL for a
 * full load. */
static bool cached(struct plan_views *vs, const char *snapshot_id, const char *stream,
		   int64_t max_seq, int64_t now, struct plan_view **out, struct plan_view **base)
{
	struct plan_view *have = *find(vs, snapshot_id, stream);
	bool fresh = have && now - have->loaded_ms < VIEW_USAGE_TTL_MS;

	*base = NULL;
	if (have && have->max_seq >= max_seq && (fresh || have->reloading)) {
		have->refs++;
		*out = have;
		return true;
	}
	if (fresh) {
		have->refs++;
		*base = have;
	} else if (have) {
		have->reloading = true;  /* others keep using it meanwhile */
	}
	return false;
}

static void reload_failed(struct plan_views *vs, const char *snapshot_id, const char *stream)
{
	struct plan_view *have;

	pthread_mutex_lock(&vs->mu);
	if ((have = *find(vs, snapshot_id, stream)))
		have->reloading = false;
	pthread_mutex_unlock(&vs->mu);
}

/* Load (all rows, or base's and the newer ones) and publish. */
static enum kith_status refresh(struct plan_views *vs, sqlite3 *db, const char *snapshot_id,
				const char *stream, int64_t max_seq, int64_t now,
				struct plan_view *base, struct plan_view **out, char **why)
{
	struct plan_row *rows;
	struct plan_view *v;
	size_t n;
	enum kith_status st = load(db, snapshot_id, stream, base ? base->max_seq : 0, max_seq,
				   &rows, &n, why);

	if (st) {
		if (!base)
			reload_failed(vs, snapshot_id, stream);
		plan_view_put(vs, base);
		return st;
	}
	v = view_new(base, snapshot_id, stream, rows, n, max_seq, base ? base->loaded_ms : now);
	plan_view_put(vs, base);
	v->refs = 1;                    /* ours */
	if (v->n <= VIEW_MAX_ROWS) {
		pthread_mutex_lock(&vs->mu);
		publish(vs, v);
		pthread_mutex_unlock(&vs->mu);
	}
	*out = v;
	return KITH_OK;
}

enum kith_status plan_view_get(struct plan_views *vs, sqlite3 *db, const char *snapshot_id,
			       const char *stream, int64_t max_seq, struct plan_view **out,
			       char **why)
{
	int64_t now = clock_mono_ms();
	struct plan_view *base = NULL;
	enum kith_status st;
	bool hit;

	*out = NULL;
	pthread_mutex_lock(&vs->mu);
	hit = cached(vs, snapshot_id, stream, max_seq, now, out, &base);
	pthread_mutex_unlock(&vs->mu);
	if (hit || base)                /* served, or a cheap catch-up */
		return hit ? KITH_OK : refresh(vs, db, snapshot_id, stream, max_seq, now, base,
					       out, why);
	/* A full load: one at a time, so a cold start does not read the same
	 * rows once per waiting query; the ones that waited find it cached. */
	pthread_mutex_lock(&vs->load_mu);
	pthread_mutex_lock(&vs->mu);
	hit = cached(vs, snapshot_id, stream, max_seq, clock_mono_ms(), out, &base);
	pthread_mutex_unlock(&vs->mu);
	st = hit ? KITH_OK : refresh(vs, db, snapshot_id, stream, max_seq, now, base, out, why);
	pthread_mutex_unlock(&vs->load_mu);
	return st;
}
