/* ingest.c — him_put_tiles and him_put_tiles_txn: a batch of tiles into
 * files and catalogue rows.
 *
 * Validate everything first: a batch with one bad record stores nothing.
 * Then, in a write section (journal.c), each record is looked up: a tile
 * id already catalogued with a sound file is left alone (no write, no mtime
 * change); one whose file is missing or corrupt gets a fresh full file; a
 * new tile gets a file.  The files about to be written are listed in the
 * intent journal first, written without syncing, made durable together by
 * one syncfs, and only then are all rows committed in one transaction.  A
 * write that does not commit — an error, a rollback, a crash — has its
 * files removed by the journal's recovery, so an uncatalogued tile file
 * does not outlive the write that made it.  A sound file of this very tile
 * found where a new tile goes (left by an older kith, or by hand) is
 * adopted rather than rewritten.
 *
 * A tile whose parent_tile_id names a catalogued tile (or an earlier tile
 * of the same batch) is stored as a zstd delta against the parent's payload
 * when the chain stays within HIM_MAX_DELTA_DEPTH and the delta is at most
 * HIM_DELTA_PROMOTE of the tile's own full encoding; otherwise it is
 * "promoted" to a full tile.  Both encodings are computed to decide. */
#include "him/him_int.h"
#include "him/blake3.h"
#include "core/alloc.h"
#include "core/log.h"

#include <string.h>
#include <strings.h>

#define FTS_BODY_MAX (256u << 10)   /* text indexed per tile */

/* One record of a batch on its way in. */
struct rec {
	const struct him_tile_in *in;
	struct him_row row;   /* as catalogued (existing) or to be inserted */
	bool exists;          /* already catalogued */
	bool rewrite;         /* catalogued, but its file had to be rewritten */
	bool dup;             /* the same tile earlier in this batch ... */
	size_t first;         /* ... at this index */
};

/* A delta base: the parent's raw payload. */
struct base {
	const char *id;
	const unsigned char *p;
	size_t n;
	unsigned char *owned;
	int depth;
};

/* ---- preparing the batch ------------------------------------------------ */

static void rec_init(struct rec *r, const struct him_tile_in *in)
{
	struct him_tile_meta *m = &r->row.meta;

	r->in = in;
	him_tile_id(in->stream, in->snapshot_id, in->level, in->x, in->y, in->payload,
		    in->payload_len, m->tile_id);
	blake3_hex(in->payload ? (const void *)in->payload : "", in->payload_len, m->checksum);
	m->stream = xstrdup(in->stream);
	m->snapshot_id = xstrdup(in->snapshot_id);
	m->level = in->level;
	m->x = in->x;
	m->y = in->y;
	memcpy(m->shape, in->shape, sizeof(m->shape));
	m->dtype = xstrdup(in->dtype);
	m->parent_tile_id = xstrdup(in->parent_tile_id);
	m->halo = in->halo;
	m->size_bytes = in->payload_len;
	r->row.critical = in->critical;
	if (in->signature) {
		memcpy(r->row.signature, in->signature, sizeof(r->row.signature));
		r->row.has_signature = true;
	}
}

static int cmp_by_id(const void *a, const void *b, void *ctx)
{
	const struct rec *recs = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(recs[i].row.meta.tile_id, recs[j].row.meta.tile_id);

	return c ? c : (i > j) - (i < j);
}

/* Batch indexes sorted by tile id (then position); marks repeated tiles. */
static size_t *index_by_id(struct rec *recs, size_t n)
{
	size_t *ix = xcalloc(n ? n : 1, sizeof(*ix));

	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	qsort_r(ix, n, sizeof(*ix), cmp_by_id, recs);
	for (size_t k = 1; k < n; k++) {
		struct rec *prev = &recs[ix[k - 1]], *r = &recs[ix[k]];

		if (strcmp(prev->row.meta.tile_id, r->row.meta.tile_id) == 0) {
			r->dup = true;
			r->first = prev->dup ? prev->first : ix[k - 1];
		}
	}
	return ix;
}

/* The first record of the batch with this id, if it comes before `before`. */
static struct rec *batch_find(struct rec *recs, const size_t *ix, size_t n, const char *id,
			      size_t before)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(recs[ix[mid]].row.meta.tile_id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && strcmp(recs[ix[lo]].row.meta.tile_id, id) == 0 && ix[lo] < before)
		return &recs[ix[lo]];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every snapshot the batch names must exist; the missing ones are listed
 * (sorted) in *why. */
static enum kith_status check_snapshots(sqlite3 *db, struct rec *recs, size_t n, char **why)
{
	char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	struct buf missing = BUF_INIT(0);
	size_t nmissing = 0;
	enum kith_status rc = KITH_OK;
	sqlite3_stmt *s = NULL;

	for (size_t i = 0; i < n; i++)
		ids[i] = recs[i].row.meta.snapshot_id;
	qsort(ids, n, sizeof(*ids), cmp_str);
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM snapshots WHERE snapshot_id = ?", -1, &s,
			       NULL) != SQLITE_OK)
		rc = him_db_fail(db, "reading snapshots", why);
	for (size_t i = 0; !rc && i < n; i++) {
		int step;

		if (i && strcmp(ids[i], ids[i - 1]) == 0)
			continue;
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, ids[i], -1, SQLITE_STATIC);
		step = sqlite3_step(s);
		if (step == SQLITE_DONE)
			buf_printf(&missing, "%s%s", nmissing++ ? ", " : "", ids[i]);
		else if (step != SQLITE_ROW)
			rc = him_db_fail(db, "reading snapshots", why);
	}
	sqlite3_finalize(s);
	if (!rc && nmissing)
		rc = kith_why(why, KITH_ENOTFOUND, "unknown snapshot%s for tile ingest: %s",
			      nmissing > 1 ? "s" : "", buf_str(&missing));
	buf_release(&missing);
	free(ids);
	return rc;
}

/* ---- files -------------------------------------------------------------- */

/* The parent's payload when the tile can be stored as a delta against it. */
static bool find_base(struct him *h, sqlite3 *db, struct rec *recs, const size_t *ix, size_t n,
		      size_t i, struct base *b)
{
	const char *pid = recs[i].in->parent_tile_id;
	struct rec *in_batch;
	struct him_row prow;
	struct buf warm = BUF_INIT(0);

	memset(b, 0, sizeof(*b));
	if (!pid || strcmp(pid, recs[i].row.meta.tile_id) == 0)
		return false;
	b->id = pid;
	in_batch = batch_find(recs, ix, n, pid, i);
	if (in_batch) {
		b->p = in_batch->in->payload;
		b->n = in_batch->in->payload_len;
		b->depth = in_batch->row.depth;
		return b->n > 0;
	}
	if (him_row_by_id(db, pid, &prow, NULL) != KITH_OK)
		return false;
	b->depth = prow.depth;
	if (him_cache_peek(h->cache, pid, &warm)) {
		b->n = warm.len;
		b->owned = (unsigned char *)buf_detach(&warm);
	} else if (him_tile_read(h, &prow, true, &b->owned, &b->n, NULL) != KITH_OK) {
		b->n = 0;   /* an unreadable parent: store the child full */
	}
	him_row_release(&prow);
	b->p = b->owned;
	return b->n > 0;
}

/* Encode full, and as a delta when there is a base within the depth
 * limit; the delta is kept only when its frame is at most
 * HIM_DELTA_PROMOTE of the full frame ("promotion" otherwise). */
static enum kith_status encode_tile(struct rec *r, const struct base *b, unsigned char **img,
				    size_t *len, char **why)
{
	struct him_tilefile hdr = { .encoding = HIM_ENC_FULL };
	unsigned char *dimg = NULL;
	size_t dlen = 0;
	enum kith_status rc;

	hdr.raw_size = r->in->payload_len;
	memcpy(hdr.tile_id, r->row.meta.tile_id, sizeof(hdr.tile_id));
	memcpy(hdr.checksum, r->row.meta.checksum, sizeof(hdr.checksum));
	r->row.encoding = HIM_ENC_FULL;
	r->row.depth = 0;
	rc = him_tilefile_encode(&hdr, r->in->payload, NULL, 0, img, len, why);
	if (rc || !b || b->depth + 1 > HIM_MAX_DELTA_DEPTH)
		return rc;
	hdr.encoding = HIM_ENC_DELTA;
	hdr.depth = b->depth + 1;
	snprintf(hdr.base_id, sizeof(hdr.base_id), "%s", b->id);
	if (him_tilefile_encode(&hdr, r->in->payload, b->p, b->n, &dimg, &dlen, NULL) != KITH_OK)
		return KITH_OK;
	if ((double)(dlen - HIM_TILEFILE_HEADER) <=
	    HIM_DELTA_PROMOTE * (double)(*len - HIM_TILEFILE_HEADER)) {
		free(*img);
		*img = dimg;
		*len = dlen;
		r->row.encoding = HIM_ENC_DELTA;
		r->row.depth = hdr.depth;
	} else {
		free(dimg);
	}
	return KITH_OK;
}

static enum kith_status write_tile(struct him *h, struct rec *r, const struct base *b, char **why)
{
	unsigned char *img = NULL;
	size_t len = 0;
	char *path = him_tile_path(h, &r->row.meta);
	enum kith_status rc = encode_tile(r, b, &img, &len, why);

	if (!rc)
		rc = him_tilefile_write(path, img, len, why);
	if (!rc)
		r->row.stored_bytes = len;
	free(img);
	free(path);
	return rc;
}

/* A file already where a new tile goes (no journal named it: an older kith
 * crashed, or it was copied in): adopted when it is this very tile and
 * sound.  A sound file of another tile is a tile-id prefix collision, which
 * must not be overwritten. */
static enum kith_status adopt_orphan(struct him *h, struct rec *r, bool *adopted, char **why)
{
	char *path = him_tile_path(h, &r->row.meta);
	unsigned char *img = NULL, *raw = NULL;
	size_t len = 0, n = 0;
	struct him_tilefile hdr;
	enum kith_status rc = KITH_OK;

	*adopted = false;
	if (him_tilefile_read(path, &img, &len, NULL) != KITH_OK ||
	    him_tilefile_parse(img, len, &hdr, NULL) != KITH_OK)
		goto out;
	if (strcmp(hdr.tile_id, r->row.meta.tile_id) != 0) {
		rc = kith_why(why, KITH_ECONFLICT, "%s holds tile %s (tile id prefix collision)",
			      path, hdr.tile_id);
		goto out;
	}
	r->row.encoding = hdr.encoding;
	r->row.depth = hdr.depth;
	r->row.stored_bytes = len;
	*adopted = him_tile_read(h, &r->row, true, &raw, &n, NULL) == KITH_OK;
out:
	free(raw);
	free(img);
	free(path);
	return rc;
}

/* Whether record r is catalogued already, and if so whether its file is
 * sound (sets exists and rewrite). */
static enum kith_status look_up(struct him *h, sqlite3 *db, struct rec *r, char **why)
{
	struct him_row old;
	char *err = NULL;
	enum kith_status rc;

	if (r->dup)
		return KITH_OK;
	rc = him_row_by_id(db, r->row.meta.tile_id, &old, &err);
	if (rc == KITH_OK) {
		unsigned char *raw = NULL;
		size_t len = 0;

		him_row_release(&r->row);
		r->row = old;
		r->exists = true;
		if (him_tile_read(h, &r->row, true, &raw, &len, NULL) == KITH_OK) {
			free(raw);
			return KITH_OK;
		}
		r->rewrite = true;
		log_warn("him", "tile %s: file missing or corrupt, rewriting it", r->row.meta.tile_id);
		return KITH_OK;
	}
	if (rc != KITH_ENOTFOUND)
		kith_why(why, rc, "%s", err);
	free(err);
	return rc == KITH_ENOTFOUND ? KITH_OK : rc;
}

static bool needs_file(const struct rec *r)
{
	return !r->dup && (!r->exists || r->rewrite);
}

/* List the files the batch is about to write in the intent journal. */
static enum kith_status intend(struct him *h, struct rec *recs, size_t n, char **why)
{
	const struct him_tile_meta **m = xcalloc(n, sizeof(*m));
	size_t k = 0;
	enum kith_status rc;

	for (size_t i = 0; i < n; i++)
		if (needs_file(&recs[i]))
			m[k++] = &recs[i].row.meta;
	rc = him_journal_intend(h, m, k, why);
	free(m);
	return rc;
}

/* Put record i's file in place. */
static enum kith_status store_rec(struct him *h, sqlite3 *db, struct rec *recs,
				  const size_t *ix, size_t n, size_t i, char **why)
{
	struct rec *r = &recs[i];
	struct base b;
	bool adopted = false, have_base;
	enum kith_status rc;

	if (!needs_file(r))
		return KITH_OK;
	if (r->rewrite)
		return write_tile(h, r, NULL, why);
	rc = adopt_orphan(h, r, &adopted, why);
	if (rc || adopted)
		return rc;
	have_base = find_base(h, db, recs, ix, n, i, &b);
	rc = write_tile(h, r, have_base ? &b : NULL, why);
	free(b.owned);
	return rc;
}

/* ---- catalogue ---------------------------------------------------------- */

/* The payload's text for the keyword index, or NULL. */
static const char *index_text(const struct him_tile_in *t, size_t *len)
{
	bool text = strcasestr(t->dtype, "json") || strcasestr(t->dtype, "text") ||
		    strcmp(t->stream, "logs") == 0 || strcmp(t->stream, "audit") == 0;
	size_t n = t->payload_len < FTS_BODY_MAX ? t->payload_len : FTS_BODY_MAX;
	json_t *probe;

	*len = 0;
	if (!n)
		return NULL;
	if (!text && strcmp(t->stream, "skills") == 0) {
		probe = json_loadb((const char *)t->payload, t->payload_len, JSON_DECODE_ANY, NULL);
		text = probe != NULL;
		json_decref(probe);
	}
	while (text && n < t->payload_len && n && (t->payload[n] & 0xc0) == 0x80)
		n--;   /* cut at a character boundary */
	probe = text ? json_stringn((const char *)t->payload, n) : NULL;   /* UTF-8? */
	if (!probe)
		return NULL;
	json_decref(probe);
	*len = n;
	return (const char *)t->payload;
}

static enum kith_status catalogue_rec(sqlite3 *db, struct rec *r, int64_t lamport, char **why)
{
	const char *text;
	size_t len;

	if (r->dup || (r->exists && !r->rewrite))
		return KITH_OK;
	if (r->rewrite)
		return him_row_set_storage(db, r->row.meta.tile_id, r->row.encoding, r->row.depth,
					   r->row.stored_bytes, why);
	r->row.lamport = lamport;
	text = index_text(r->in, &len);
	return him_row_insert(db, &r->row, r->in->tags, text, len, why);
}

static enum kith_status catalogue_all(struct him *h, sqlite3 *db, struct rec *recs, size_t n,
				      const int64_t *lamports, char **why)
{
	int64_t tick = 0;
	enum kith_status rc = KITH_OK;

	for (size_t i = 0; !lamports && !tick && i < n; i++)
		if (!recs[i].exists && !recs[i].dup)
			tick = him_lamport_next(h, db);   /* once per batch */
	for (size_t i = 0; !rc && i < n; i++)
		rc = catalogue_rec(db, &recs[i], lamports ? lamports[i] : tick, why);
	return rc;
}

/* ---- ingest ------------------------------------------------------------- */

static void recs_free(struct rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		him_row_release(&recs[i].row);
	free(recs);
}

static enum kith_status validate_all(struct him *h, const struct him_tile_in *in, size_t n,
				     char **why)
{
	for (size_t i = 0; i < n; i++) {
		char *reason = NULL;
		enum kith_status rc = him_check_tile_in(h, &in[i], &reason);

		if (rc) {
			kith_why(why, rc, "tile %zu: %s", i, reason);
			free(reason);
			return rc;
		}
	}
	return KITH_OK;
}

static void report(struct him *h, struct rec *recs, size_t n, struct him_tile_meta *out)
{
	for (size_t i = 0; i < n; i++) {
		struct rec *r = recs[i].dup ? &recs[recs[i].first] : &recs[i];

		if (!recs[i].exists && !recs[i].dup)
			him_metrics_ingest(h, r->row.meta.stream, r->row.meta.size_bytes);
		if (out)
			him_tile_meta_copy(&out[i], &r->row.meta);
	}
}

/* Look up every record, journal and write the files, then catalogue every
 * row in one transaction.  own_txn: this call holds the write section and
 * writes the files (and syncs them) before BEGIN, so SQLite's write lock is
 * held only for the rows; else the caller's section (him_write_begin) is
 * in progress and its commit makes the files durable. */
static enum kith_status ingest(struct him *h, sqlite3 *db, const struct him_tile_in *in,
			       size_t n, const int64_t *lamports, bool own_txn,
			       struct him_tile_meta *out, char **why)
{
	struct rec *recs;
	size_t *ix;
	enum kith_status rc = validate_all(h, in, n, why);

	if (out)
		memset(out, 0, n * sizeof(*out));
	if (rc || !n)
		return rc;
	recs = xcalloc(n, sizeof(*recs));
	for (size_t i = 0; i < n; i++)
		rec_init(&recs[i], &in[i]);
	ix = index_by_id(recs, n);
	if (own_txn && (rc = him_write_lock(h, db, why)))
		goto out;
	rc = check_snapshots(db, recs, n, why);
	for (size_t i = 0; !rc && i < n; i++)
		rc = look_up(h, db, &recs[i], why);
	if (!rc)
		rc = intend(h, recs, n, why);
	for (size_t i = 0; !rc && i < n; i++)
		rc = store_rec(h, db, recs, ix, n, i, why);
	if (own_txn) {
		if (!rc)
			rc = him_write_sync(h, why);
		if (!rc && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			rc = him_db_fail(db, "starting the ingest", why);
		if (!rc)
			rc = catalogue_all(h, db, recs, n, lamports, why);
		if (!rc)
			rc = him_write_commit(h, db, why);
		else
			him_write_rollback(h, db);
	} else if (!rc) {
		rc = catalogue_all(h, db, recs, n, lamports, why);
	}
	if (!rc)
		report(h, recs, n, out);
out:
	free(ix);
	recs_free(recs, n);
	return rc;
}

enum kith_status him_put_tiles(struct him *h, const struct him_tile_in *in, size_t n,
			       struct him_tile_meta *out, char **why)
{
	sqlite3 *db = him_db_acquire(h);
	enum kith_status rc;

	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	rc = ingest(h, db, in, n, NULL, true, out, why);
	him_db_release(h, db);
	return rc;
}

enum kith_status him_put_tiles_txn(struct him *h, sqlite3 *db, const struct him_tile_in *in,
				   size_t n, const int64_t *lamports, struct him_tile_meta *out,
				   char **why)
{
	return ingest(h, db, in, n, lamports, false, out, why);
}
