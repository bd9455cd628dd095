/* snapshot.c — snapshots (the DAG's nodes) and the spec's JSON shapes for
 * Snapshot and TileMeta.
 *
 * A snapshot is validated as the spec's SnapshotCreate: a safe id, parents
 * that exist, merge_policy lww|manual, tags whose values are strings and a
 * provenance with model and code_sha strings (cuda, driver: string or null;
 * seed: integer or null).  Provenance is stored normalised to exactly those
 * five keys, so the JSON served back always has the spec's shape.
 * created_at is set here, kept in milliseconds and shown as ISO 8601 UTC. */
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <string.h>

#define SNAP_COLS "snapshot_id, parents, created_at, tags, provenance, merge_policy"

/* ---- TileMeta ----------------------------------------------------------- */

void him_tile_meta_release(struct him_tile_meta *m)
{
	if (!m)
		return;
	free(m->stream);
	free(m->snapshot_id);
	free(m->dtype);
	free(m->parent_tile_id);
	memset(m, 0, sizeof(*m));
}

void him_tile_meta_copy(struct him_tile_meta *dst, const struct him_tile_meta *src)
{
	*dst = *src;
	dst->stream = xstrdup(src->stream);
	dst->snapshot_id = xstrdup(src->snapshot_id);
	dst->dtype = xstrdup(src->dtype);
	dst->parent_tile_id = xstrdup(src->parent_tile_id);
}

json_t *him_tile_meta_json(const struct him_tile_meta *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "tile_id", json_string(m->tile_id));
	json_object_set_new(o, "stream", json_string(m->stream));
	json_object_set_new(o, "snapshot_id", json_string(m->snapshot_id));
	json_object_set_new(o, "level", json_integer(m->level));
	json_object_set_new(o, "x", json_integer(m->x));
	json_object_set_new(o, "y", json_integer(m->y));
	json_object_set_new(o, "shape", json_pack("[I,I,I]", (json_int_t)m->shape[0],
						  (json_int_t)m->shape[1], (json_int_t)m->shape[2]));
	json_object_set_new(o, "dtype", json_string(m->dtype));
	json_object_set_new(o, "parent_tile_id",
			    m->parent_tile_id ? json_string(m->parent_tile_id) : json_null());
	json_object_set_new(o, "halo", m->halo >= 0 ? json_integer(m->halo) : json_null());
	json_object_set_new(o, "checksum", json_string(m->checksum));
	json_object_set_new(o, "size_bytes", json_integer((json_int_t)m->size_bytes));
	return o;
}

/* ---- Snapshot values ----------------------------------------------------- */

void him_snapshot_release(struct him_snapshot *s)
{
	if (!s)
		return;
	free(s->snapshot_id);
	for (size_t i = 0; i < s->nparents; i++)
		free(s->parents[i]);
	free(s->parents);
	json_decref(s->tags);
	json_decref(s->provenance);
	free(s->merge_policy);
	memset(s, 0, sizeof(*s));
}

void him_snapshots_free(struct him_snapshot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		him_snapshot_release(&s[i]);
	free(s);
}

json_t *him_snapshot_json(const struct him_snapshot *s)
{
	json_t *o = json_object(), *parents = json_array();
	char when[32];

	for (size_t i = 0; i < s->nparents; i++)
		json_array_append_new(parents, json_string(s->parents[i]));
	clock_format_utc(s->created_at_ms, when, sizeof(when));
	json_object_set_new(o, "snapshot_id", json_string(s->snapshot_id));
	json_object_set_new(o, "parents", parents);
	json_object_set_new(o, "created_at", json_string(when));
	json_object_set_new(o, "tags", s->tags ? json_deep_copy(s->tags) : json_object());
	json_object_set_new(o, "provenance",
			    s->provenance ? json_deep_copy(s->provenance) : json_object());
	json_object_set_new(o, "merge_policy", json_string(s->merge_policy ? s->merge_policy : "lww"));
	return o;
}

/* ---- validation ----------------------------------------------------------- */

static enum kith_status check_tags(const json_t *tags, char **why)
{
	const char *key;
	json_t *v;

	if (!tags)
		return KITH_OK;
	if (!json_is_object(tags))
		return kith_why(why, KITH_EINVAL, "tags must be an object of strings");
	json_object_foreach((json_t *)tags, key, v)
		if (!json_is_string(v))
			return kith_why(why, KITH_EINVAL, "tag '%s' must be a string", key);
	return KITH_OK;
}

/* The provenance normalised to {model, code_sha, cuda, driver, seed}. */
static enum kith_status normalise_provenance(const json_t *p, json_t **out, char **why)
{
	static const char *const optional_strings[] = { "cuda", "driver" };
	json_t *seed;

	*out = NULL;
	if (!json_is_object(p))
		return kith_why(why, KITH_EINVAL, "provenance must be an object with model and code_sha");
	if (!kjson_str(p, "model") || !kjson_str(p, "code_sha"))
		return kith_why(why, KITH_EINVAL, "provenance needs model and code_sha strings");
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(p, optional_strings[i]);

		if (v && !json_is_null(v) && !json_is_string(v))
			return kith_why(why, KITH_EINVAL, "provenance.%s must be a string",
					optional_strings[i]);
	}
	seed = json_object_get(p, "seed");
	if (seed && !json_is_null(seed) && !json_is_integer(seed))
		return kith_why(why, KITH_EINVAL, "provenance.seed must be an integer");
	*out = json_object();
	json_object_set(*out, "model", json_object_get(p, "model"));
	json_object_set(*out, "code_sha", json_object_get(p, "code_sha"));
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(p, optional_strings[i]);

		json_object_set_new(*out, optional_strings[i], v ? json_incref(v) : json_null());
	}
	json_object_set_new(*out, "seed", seed ? json_incref(seed) : json_null());
	return KITH_OK;
}

static enum kith_status check_fields(const struct him_snapshot *in, char **why)
{
	enum kith_status rc = him_check_name("snapshot_id", in->snapshot_id, why);
	const char *policy = in->merge_policy ? in->merge_policy : "lww";

	if (rc)
		return rc;
	for (size_t i = 0; i < in->nparents; i++) {
		rc = him_check_name("parent snapshot id", in->parents[i], why);
		if (rc)
			return rc;
		if (strcmp(in->parents[i], in->snapshot_id) == 0)
			return kith_why(why, KITH_EINVAL, "snapshot '%s' cannot be its own parent",
					in->snapshot_id);
		for (size_t j = 0; j < i; j++)
			if (strcmp(in->parents[i], in->parents[j]) == 0)
				return kith_why(why, KITH_EINVAL, "parent '%s' is listed twice",
						in->parents[i]);
	}
	if (strcmp(policy, "lww") != 0 && strcmp(policy, "manual") != 0)
		return kith_why(why, KITH_EINVAL, "merge_policy must be \"lww\" or \"manual\"");
	return check_tags(in->tags, why);
}

/* ---- rows ----------------------------------------------------------------- */

static bool snapshot_exists(sqlite3 *db, const char *id, enum kith_status *rc, char **why)
{
	sqlite3_stmt *s = NULL;
	int step;

	*rc = KITH_OK;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM snapshots WHERE snapshot_id = ?", -1, &s,
			       NULL) != SQLITE_OK) {
		*rc = him_db_fail(db, "reading snapshots", why);
		return false;
	}
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		*rc = him_db_fail(db, "reading snapshots", why);
	return step == SQLITE_ROW;
}

static void snapshot_from_stmt(sqlite3_stmt *s, struct him_snapshot *out)
{
	json_t *parents = json_loads((const char *)sqlite3_column_text(s, 1), 0, NULL);
	size_t i;
	json_t *p;

	memset(out, 0, sizeof(*out));
	out->snapshot_id = xstrdup((const char *)sqlite3_column_text(s, 0));
	out->created_at_ms = sqlite3_column_int64(s, 2);
	out->tags = json_loads((const char *)sqlite3_column_text(s, 3), 0, NULL);
	out->provenance = json_loads((const char *)sqlite3_column_text(s, 4), 0, NULL);
	out->merge_policy = xstrdup((const char *)sqlite3_column_text(s, 5));
	if (!out->tags)
		out->tags = json_object();
	if (!out->provenance)
		out->provenance = json_object();
	out->parents = xcalloc(json_array_size(parents) + 1, sizeof(char *));
	json_array_foreach(parents, i, p)
		if (json_is_string(p))
			out->parents[out->nparents++] = xstrdup(json_string_value(p));
	json_decref(parents);
}

static enum kith_status insert_row(sqlite3 *db, const struct him_snapshot *in,
				   const json_t *provenance, int64_t now, char **why)
{
	json_t *parents = json_array();
	char *ptext, *ttext, *vtext;
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;

	for (size_t i = 0; i < in->nparents; i++)
		json_array_append_new(parents, json_string(in->parents[i]));
	ptext = kjson_dump(parents, false);
	ttext = in->tags ? kjson_dump(in->tags, true) : xstrdup("{}");
	vtext = kjson_dump(provenance, false);
	if (sqlite3_prepare_v2(db, "INSERT INTO snapshots(" SNAP_COLS ") VALUES (?, ?, ?, ?, ?, ?)",
			       -1, &s, NULL) != SQLITE_OK) {
		rc = him_db_fail(db, "creating a snapshot", why);
		goto out;
	}
	sqlite3_bind_text(s, 1, in->snapshot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, ptext, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_text(s, 4, ttext, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, vtext, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, in->merge_policy ? in->merge_policy : "lww", -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = him_db_fail(db, "creating a snapshot", why);
out:
	sqlite3_finalize(s);
	json_decref(parents);
	free(ptext);
	free(ttext);
	free(vtext);
	return rc;
}

enum kith_status him_snapshot_insert(struct him *h, sqlite3 *db, const struct him_snapshot *in,
				     struct him_snapshot *out, char **why)
{
	json_t *provenance = NULL;
	int64_t now = clock_now_ms();
	enum kith_status rc = check_fields(in, why);

	if (out)
		memset(out, 0, sizeof(*out));
	if (!rc)
		rc = normalise_provenance(in->provenance, &provenance, why);
	if (!rc && snapshot_exists(db, in->snapshot_id, &rc, why))
		rc = kith_why(why, KITH_EEXIST, "snapshot '%s' already exists", in->snapshot_id);
	for (size_t i = 0; !rc && i < in->nparents; i++)
		if (!snapshot_exists(db, in->parents[i], &rc, why) && !rc)
			rc = kith_why(why, KITH_ENOTFOUND, "parent snapshot '%s' not found",
				      in->parents[i]);
	if (!rc)
		rc = insert_row(db, in, provenance, now, why);
	if (!rc && out) {
		out->snapshot_id = xstrdup(in->snapshot_id);
		out->parents = xcalloc(in->nparents + 1, sizeof(char *));
		for (size_t i = 0; i < in->nparents; i++)
			out->parents[out->nparents++] = xstrdup(in->parents[i]);
		out->created_at_ms = now;
		out->tags = in->tags ? json_deep_copy(in->tags) : json_object();
		out->provenance = json_incref(provenance);
		out->merge_policy = xstrdup(in->merge_policy ? in->merge_policy : "lww");
	}
	json_decref(provenance);
	return rc;
}

enum kith_status him_snapshot_create(struct him *h, const struct him_snapshot *in,
				     struct him_snapshot *out, char **why)
{
	sqlite3 *db = him_db_acquire(h);
	enum kith_status rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	rc = him_write_begin(h, db, why);
	if (!rc) {
		rc = him_snapshot_insert(h, db, in, out, why);
		if (rc)
			him_write_rollback(h, db);
		else
			rc = him_write_commit(h, db, why);
		if (rc && out)
			him_snapshot_release(out);
	}
	him_db_release(h, db);
	return rc;
}

enum kith_status him_snapshot_get(struct him *h, const char *id, struct him_snapshot *out,
				  char **why)
{
	sqlite3 *db;
	sqlite3_stmt *s = NULL;
	enum kith_status rc = him_check_name("snapshot_id", id, why);
	int step;

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	db = him_db_acquire(h);
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	if (sqlite3_prepare_v2(db, "SELECT " SNAP_COLS " FROM snapshots WHERE snapshot_id = ?", -1,
			       &s, NULL) != SQLITE_OK) {
		rc = him_db_fail(db, "reading a snapshot", why);
		goto out;
	}
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		snapshot_from_stmt(s, out);
	else if (step == SQLITE_DONE)
		rc = kith_why(why, KITH_ENOTFOUND, "snapshot '%s' not found", id);
	else
		rc = him_db_fail(db, "reading a snapshot", why);
out:
	sqlite3_finalize(s);
	him_db_release(h, db);
	return rc;
}

enum kith_status him_snapshot_list(struct him *h, size_t limit, struct him_snapshot **out,
				   size_t *n, char **why)
{
	sqlite3 *db = him_db_acquire(h);
	sqlite3_stmt *s = NULL;
	enum kith_status rc = KITH_OK;
	size_t cap = 0;
	int step;

	*out = NULL;
	*n = 0;
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	if (sqlite3_prepare_v2(db, "SELECT " SNAP_COLS " FROM snapshots"
			       " ORDER BY created_at DESC, rowid DESC LIMIT ?", -1, &s,
			       NULL) != SQLITE_OK) {
		rc = him_db_fail(db, "listing snapshots", why);
		goto out;
	}
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		*out = xgrow(*out, &cap, *n + 1, sizeof(**out));
		snapshot_from_stmt(s, &(*out)[(*n)++]);
	}
	if (step != SQLITE_DONE) {
		rc = him_db_fail(db, "listing snapshots", why);
		him_snapshots_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
out:
	sqlite3_finalize(s);
	him_db_release(h, db);
	return rc;
}
