/* merge.c — merging snapshots: last-writer-wins per coordinate, or a list
 * of conflicts for a person to resolve.
 *
 * Everything happens in one write transaction, so the parents cannot change
 * between the decision and the copy and a reader sees the merged snapshot
 * complete or not at all.  Per coordinate (stream, level, x, y) each parent
 * contributes its newest tile; the winner is the highest Lamport time, then
 * the higher seq, then the larger tile id, so the result never depends on
 * the order of the parents or of the rows.  A winner is re-ingested into
 * the new snapshot with its source as parent_tile_id — the same payload, so
 * it is stored as a tiny delta — keeping its Lamport time (a later merge
 * still sees when it was really written), tags and critical flag.  The
 * catalogue keeps no signatures, so `skills` tiles cannot be merged into a
 * store that verifies them (him_put_tiles refuses them unsigned). */
#include "him/him_int.h"
#include "him/blake3.h"
#include "core/alloc.h"
#include "core/log.h"

#include <string.h>

#define BATCH_TILES 256
#define BATCH_BYTES (64u << 20)

struct entry {
	const struct him_row *row;
	size_t parent;
};

struct merge {
	struct him *h;
	sqlite3 *db;
	const char **ids;           /* base, others... */
	size_t nids;
	struct him_row **rows;      /* per parent */
	size_t *nrows;
	struct entry *e;
	size_t ne;
	const struct him_row **win; /* one per coordinate */
	size_t nwin, resolved;
	json_t *conflicts;
};

void him_merge_result_release(struct him_merge_result *r)
{
	if (!r)
		return;
	free(r->snapshot_id);
	json_decref(r->conflicts);
	memset(r, 0, sizeof(*r));
}

static enum kith_status check_args(const char *base, const char *const *others, size_t n,
				   const char *new_id, const char *policy, char **why)
{
	char what[40];

	if (him_check_name("snapshot_id", base, why))
		return KITH_EINVAL;
	if (!others || n == 0)
		return kith_why(why, KITH_EINVAL, "with: expected at least one snapshot to merge");
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "with[%zu]", i);
		if (him_check_name(what, others[i], why))
			return KITH_EINVAL;
		if (strcmp(others[i], base) == 0)
			return kith_why(why, KITH_EINVAL, "%s: cannot merge %s with itself", what, base);
		for (size_t j = 0; j < i; j++)
			if (strcmp(others[i], others[j]) == 0)
				return kith_why(why, KITH_EINVAL, "%s: %s is listed twice", what,
						others[i]);
	}
	if (new_id && him_check_name("snapshot_id", new_id, why))
		return KITH_EINVAL;
	if (policy && strcmp(policy, "lww") != 0 && strcmp(policy, "manual") != 0)
		return kith_why(why, KITH_EINVAL, "merge_policy: expected \"lww\" or \"manual\"");
	return KITH_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "snp_merge_" + 16 hex digits of blake3 over the sorted parent ids. */
static char *derived_id(const char **ids, size_t n)
{
	const char **sorted = xcalloc(n, sizeof(*sorted));
	struct buf text = BUF_INIT(0);
	char hex[2 * BLAKE3_OUT_LEN + 1];

	memcpy(sorted, ids, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < n; i++)
		buf_printf(&text, "%s%s", i ? "\n" : "", sorted[i]);
	blake3_hex(buf_str(&text), text.len, hex);
	buf_release(&text);
	free(sorted);
	return xasprintf("snp_merge_%.16s", hex);
}

/* ---- deciding ------------------------------------------------------------ */

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	const struct him_tile_meta *m = &x->row->meta, *n = &y->row->meta;
	int c = strcmp(m->stream, n->stream);

	if (c)
		return c;
	if (m->level != n->level)
		return m->level < n->level ? -1 : 1;
	if (m->x != n->x)
		return m->x < n->x ? -1 : 1;
	if (m->y != n->y)
		return m->y < n->y ? -1 : 1;
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->row->lamport != y->row->lamport)   /* newest first within a parent */
		return x->row->lamport > y->row->lamport ? -1 : 1;
	return x->row->seq > y->row->seq ? -1 : x->row->seq < y->row->seq;
}

static bool wins_over(const struct him_row *a, const struct him_row *b)
{
	if (a->lamport != b->lamport)
		return a->lamport > b->lamport;
	if (a->seq != b->seq)
		return a->seq > b->seq;
	return strcmp(a->meta.tile_id, b->meta.tile_id) > 0;
}

static bool same_coord(const struct him_row *a, const struct him_row *b)
{
	return strcmp(a->meta.stream, b->meta.stream) == 0 && a->meta.level == b->meta.level &&
	       a->meta.x == b->meta.x && a->meta.y == b->meta.y;
}

static void add_conflict(struct merge *m, const struct entry *e, size_t n)
{
	const struct him_tile_meta *c = &e[0].row->meta;
	json_t *tiles = json_array();

	for (size_t i = 0; i < n; i++)
		if (i == 0 || e[i].parent != e[i - 1].parent)
			json_array_append_new(tiles, json_pack("{s:s, s:s, s:s, s:I}",
				"snapshot_id", m->ids[e[i].parent], "tile_id", e[i].row->meta.tile_id,
				"checksum", e[i].row->meta.checksum, "lamport",
				(json_int_t)e[i].row->lamport));
	json_array_append_new(m->conflicts, json_pack("{s:s, s:i, s:I, s:I, s:o}", "stream",
						      c->stream, "level", c->level, "x",
						      (json_int_t)c->x, "y", (json_int_t)c->y,
						      "tiles", tiles));
}

/* One coordinate: entries e[0..n), sorted by parent, newest first. */
static void decide(struct merge *m, const struct entry *e, size_t n, bool manual)
{
	const struct him_row *win = e[0].row;
	bool differ = false;

	for (size_t i = 1; i < n; i++)
		if (e[i].parent != e[i - 1].parent && wins_over(e[i].row, win))
			win = e[i].row;
	for (size_t i = 0; i < n; i++)
		if ((i == 0 || e[i].parent != e[i - 1].parent) &&
		    strcmp(e[i].row->meta.checksum, win->meta.checksum) != 0)
			differ = true;
	m->win[m->nwin++] = win;
	if (!differ)
		return;
	m->resolved++;
	if (manual)
		add_conflict(m, e, n);
}

static enum kith_status load_and_decide(struct merge *m, bool manual, char **why)
{
	size_t total = 0;
	enum kith_status st = KITH_OK;

	for (size_t i = 0; !st && i < m->nids; i++) {
		st = him_rows_for(m->db, m->ids[i], NULL, HIM_MAX_LEVEL, 0, 0, &m->rows[i],
				  &m->nrows[i], why);
		total += m->nrows[i];
	}
	if (st)
		return st;
	m->e = xcalloc(total + 1, sizeof(*m->e));
	m->win = xcalloc(total + 1, sizeof(*m->win));
	for (size_t i = 0; i < m->nids; i++)
		for (size_t k = 0; k < m->nrows[i]; k++)
			m->e[m->ne++] = (struct entry){ &m->rows[i][k], i };
	qsort(m->e, m->ne, sizeof(*m->e), entry_cmp);
	for (size_t i = 0, j; i < m->ne; i = j) {
		for (j = i + 1; j < m->ne && same_coord(m->e[j].row, m->e[i].row); j++)
			;
		decide(m, &m->e[i], j - i, manual);
	}
	return KITH_OK;
}

/* ---- copying --------------------------------------------------------------- */

static char *tile_tags(sqlite3 *db, int64_t seq)
{
	sqlite3_stmt *s = NULL;
	char *tags = NULL;

	if (sqlite3_prepare_v2(db, "SELECT tags FROM tiles_fts WHERE rowid = ?", -1, &s, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(s, 1, seq);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) &&
		    *sqlite3_column_text(s, 0))
			tags = xstrdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	return tags;
}

/* Winners [from, to) into the new snapshot. */
static enum kith_status copy_batch(struct merge *m, const char *id, size_t from, size_t to,
				   char **why)
{
	size_t n = to - from;
	struct him_tile_in *in = xcalloc(n, sizeof(*in));
	struct buf *pay = xcalloc(n, sizeof(*pay));
	char **tags = xcalloc(n, sizeof(*tags));
	int64_t *lamports = xcalloc(n, sizeof(*lamports));
	enum kith_status st = KITH_OK;

	for (size_t i = 0; !st && i < n; i++) {
		const struct him_row *r = m->win[from + i];

		buf_init(&pay[i], 0);
		st = him_load_payload(m->h, r, false, &pay[i], why);
		tags[i] = tile_tags(m->db, r->seq);
		lamports[i] = r->lamport;
		in[i] = (struct him_tile_in){
			.stream = r->meta.stream, .snapshot_id = id, .level = r->meta.level,
			.x = r->meta.x, .y = r->meta.y, .dtype = r->meta.dtype,
			.payload = (const unsigned char *)pay[i].data, .payload_len = pay[i].len,
			.halo = r->meta.halo, .parent_tile_id = r->meta.tile_id, .tags = tags[i],
			.critical = r->critical };
		memcpy(in[i].shape, r->meta.shape, sizeof(in[i].shape));
	}
	if (!st)
		st = him_put_tiles_txn(m->h, m->db, in, n, lamports, NULL, why);
	for (size_t i = 0; i < n; i++) {
		buf_release(&pay[i]);
		free(tags[i]);
	}
	free(in);
	free(pay);
	free(tags);
	free(lamports);
	return st;
}

static enum kith_status create(struct merge *m, const char *id, const char *policy,
			       const json_t *provenance, char **why)
{
	struct him_snapshot in = { 0 }, out = { 0 };
	struct buf from = BUF_INIT(0);
	enum kith_status st;
	size_t start = 0, bytes = 0;

	for (size_t i = 0; i < m->nids; i++)
		buf_printf(&from, "%s%s", i ? "," : "", m->ids[i]);
	in.snapshot_id = (char *)id;
	in.parents = (char **)m->ids;
	in.nparents = m->nids;
	in.tags = json_pack("{s:s}", "merged_from", buf_str(&from));
	in.provenance = (json_t *)provenance;
	in.merge_policy = (char *)policy;
	st = him_snapshot_insert(m->h, m->db, &in, &out, why);
	json_decref(in.tags);
	buf_release(&from);
	him_snapshot_release(&out);
	for (size_t i = 0; !st && i <= m->nwin; i++) {
		if (i == m->nwin || i - start == BATCH_TILES || bytes >= BATCH_BYTES) {
			if (i > start)
				st = copy_batch(m, id, start, i, why);
			start = i;
			bytes = 0;
		}
		if (i < m->nwin)
			bytes += m->win[i]->meta.size_bytes;
	}
	return st;
}

/* ---- him_merge -------------------------------------------------------------- */

static void merge_release(struct merge *m)
{
	for (size_t i = 0; i < m->nids; i++)
		him_rows_free(m->rows[i], m->nrows[i]);
	free(m->rows);
	free(m->nrows);
	free(m->ids);
	free(m->e);
	free(m->win);
	json_decref(m->conflicts);
}

static enum kith_status run_merge(struct merge *m, const struct him_snapshot *b, const char *id,
				  const char *policy, struct him_merge_result *out, char **why)
{
	bool manual = strcmp(policy, "manual") == 0;
	enum kith_status st;

	for (size_t i = 1; i < m->nids; i++) {
		struct him_snapshot o;

		if ((st = him_snapshot_get(m->h, m->ids[i], &o, why)))
			return st;
		him_snapshot_release(&o);
	}
	if ((st = him_write_begin(m->h, m->db, why)))
		return st;
	st = load_and_decide(m, manual, why);
	if (!st && manual && json_array_size(m->conflicts)) {
		out->conflicts = json_incref(m->conflicts);
		st = kith_why(why, KITH_ECONFLICT, "%zu conflicting coordinates; nothing merged",
			      json_array_size(m->conflicts));
	}
	if (!st)
		st = create(m, id, policy, b->provenance, why);
	if (!st)
		return him_write_commit(m->h, m->db, why);
	him_write_rollback(m->h, m->db);
	return st;
}

enum kith_status him_merge(struct him *h, const char *base, const char *const *others,
			   size_t nothers, const char *new_id, const char *policy,
			   struct him_merge_result *out, char **why)
{
	struct merge m = { .h = h };
	struct him_snapshot b = { 0 };
	char *id = NULL;
	enum kith_status st;

	memset(out, 0, sizeof(*out));
	if ((st = check_args(base, others, nothers, new_id, policy, why)) ||
	    (st = him_snapshot_get(h, base, &b, why)))
		return st;
	m.nids = nothers + 1;
	m.ids = xcalloc(m.nids, sizeof(*m.ids));
	m.ids[0] = base;
	memcpy(m.ids + 1, others, nothers * sizeof(*others));
	m.rows = xcalloc(m.nids, sizeof(*m.rows));
	m.nrows = xcalloc(m.nids, sizeof(*m.nrows));
	m.conflicts = json_array();
	id = new_id ? xstrdup(new_id) : derived_id(m.ids, m.nids);
	policy = policy ? policy : b.merge_policy ? b.merge_policy : "lww";
	if (!(m.db = him_db_acquire(h)))
		st = kith_why(why, KITH_EDB, "him.db: no connection");
	else
		st = run_merge(&m, &b, id, policy, out, why);
	if (!st) {
		out->snapshot_id = id;
		id = NULL;
		out->tiles = m.nwin;
		out->resolved = m.resolved;
		log_info("him", "merged %s: %zu tiles, %zu coordinates resolved (%s)",
			 out->snapshot_id, out->tiles, out->resolved, policy);
	}
	him_db_release(h, m.db);
	merge_release(&m);
	him_snapshot_release(&b);
	free(id);
	return st;
}
