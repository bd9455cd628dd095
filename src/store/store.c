/* store.c — opening a connection and running migrations, and the
 * statement helpers the store's files share (store_int.h).
 *
 * Every connection gets WAL (readers never block the writer), a busy
 * timeout (concurrent writers wait instead of failing), foreign keys on and
 * synchronous=NORMAL (durable across process crashes in WAL mode). */
#include "store/store_int.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

enum kith_status store_fail(struct store *st, char **why, const char *doing)
{
	return kith_why(why, KITH_EDB, "database %s: %s while %s", st->path,
			sqlite3_errmsg(st->db), doing);
}

int store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
}

char *store_column_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

void store_bind_id(sqlite3_stmt *s, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

void store_bind_vec(sqlite3_stmt *s, int i, const float *v, size_t dim)
{
	unsigned char *b;

	if (!v || !dim) {
		sqlite3_bind_null(s, i);
		return;
	}
	b = xmalloc(dim * 4);
	for (size_t k = 0; k < dim; k++) {
		uint32_t u;

		memcpy(&u, &v[k], 4);
		b[4 * k] = (unsigned char)u;
		b[4 * k + 1] = (unsigned char)(u >> 8);
		b[4 * k + 2] = (unsigned char)(u >> 16);
		b[4 * k + 3] = (unsigned char)(u >> 24);
	}
	sqlite3_bind_blob(s, i, b, (int)(dim * 4), free);
}

float *store_column_vec(sqlite3_stmt *s, int i, size_t *dim)
{
	const unsigned char *b = sqlite3_column_blob(s, i);
	size_t n = (size_t)sqlite3_column_bytes(s, i) / 4;
	float *v;

	*dim = 0;
	if (!b || !n)
		return NULL;
	v = xmalloc(n * sizeof(*v));
	for (size_t k = 0; k < n; k++) {
		uint32_t u = (uint32_t)b[4 * k] | (uint32_t)b[4 * k + 1] << 8 |
			     (uint32_t)b[4 * k + 2] << 16 | (uint32_t)b[4 * k + 3] << 24;

		memcpy(&v[k], &u, 4);
	}
	*dim = n;
	return v;
}

enum kith_status store_step_done(struct store *st, sqlite3_stmt *s, char **why,
				 const char *doing)
{
	enum kith_status rc = sqlite3_step(s) == SQLITE_DONE ? KITH_OK
							      : store_fail(st, why, doing);

	sqlite3_finalize(s);
	return rc;
}

enum kith_status store_step_insert(struct store *st, sqlite3_stmt *s, int64_t *id, char **why,
				   const char *doing)
{
	enum kith_status rc = KITH_OK;

	if (sqlite3_step(s) != SQLITE_DONE)
		rc = store_fail(st, why, doing);
	else if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(s);
	return rc;
}

bool store_next_row(struct store *st, sqlite3_stmt *s, enum kith_status *rc, char **why,
		    const char *doing)
{
	int r = sqlite3_step(s);

	if (r == SQLITE_ROW)
		return true;
	*rc = r == SQLITE_DONE ? KITH_OK : store_fail(st, why, doing);
	sqlite3_finalize(s);
	return false;
}

/* mkdir -p for the directory part of `path`. */
static enum kith_status make_parent_dirs(const char *path, char **why)
{
	char *dir = xstrdup(path);
	enum kith_status rc = KITH_OK;

	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			rc = kith_why(why, KITH_EIO, "cannot create directory %s: %s", dir,
				      strerror(errno));
			break;
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

enum kith_status store_open(const char *path, struct store **out, char **why)
{
	static const char *const pragmas =
		"PRAGMA journal_mode=WAL;"
		"PRAGMA synchronous=NORMAL;"
		"PRAGMA foreign_keys=ON;";
	struct store *st = xcalloc(1, sizeof(*st));
	enum kith_status rc;

	*out = NULL;
	st->path = xstrdup(path);
	rc = make_parent_dirs(path, why);
	if (rc)
		goto fail;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = st->db ? store_fail(st, why, "opening")
			    : kith_why(why, KITH_EDB, "cannot open database %s", path);
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_exec(st->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		rc = store_fail(st, why, "setting up the connection");
		goto fail;
	}
	*out = st;
	return KITH_OK;
fail:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int store_migrations_latest(void)
{
	return store_migrations_count ? store_migrations[store_migrations_count - 1].number : 0;
}

enum kith_status store_migrations_validate(char **why)
{
	int prev = 0;

	for (size_t i = 0; i < store_migrations_count; i++) {
		const struct migration *m = &store_migrations[i];

		if (m->number <= 0)
			return kith_why(why, KITH_EINVAL, "migration '%s' has number %d; numbers start at 1",
					m->name, m->number);
		if (m->number == prev)
			return kith_why(why, KITH_EINVAL, "duplicate migration number %04d ('%s')",
					m->number, m->name);
		if (m->number < prev)
			return kith_why(why, KITH_EINVAL, "migration %04d ('%s') is listed after %04d",
					m->number, m->name, prev);
		if (!m->sql || !*m->sql)
			return kith_why(why, KITH_EINVAL, "migration %04d ('%s') has no SQL",
					m->number, m->name);
		prev = m->number;
	}
	return KITH_OK;
}

static enum kith_status ensure_tracking_table(struct store *st, char **why)
{
	static const char *const sql =
		"CREATE TABLE IF NOT EXISTS _migrations ("
		" number INTEGER PRIMARY KEY,"
		" name TEXT NOT NULL,"
		" applied_at INTEGER NOT NULL)";

	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, why, "creating _migrations");
	return KITH_OK;
}

enum kith_status store_schema_version(struct store *st, int *version, char **why)
{
	sqlite3_stmt *s = NULL;
	enum kith_status rc = ensure_tracking_table(st, why);

	*version = 0;
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MAX(number), 0) FROM _migrations", -1, &s,
			       NULL) != SQLITE_OK)
		return store_fail(st, why, "reading the schema version");
	if (sqlite3_step(s) == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	else
		rc = store_fail(st, why, "reading the schema version");
	sqlite3_finalize(s);
	return rc;
}

static enum kith_status apply_one(struct store *st, const struct migration *m, char **why)
{
	sqlite3_stmt *s = NULL;
	char *err = NULL;
	enum kith_status rc = KITH_OK;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, why, "starting a migration");
	if (sqlite3_exec(st->db, m->sql, NULL, NULL, &err) != SQLITE_OK) {
		rc = kith_why(why, KITH_EDB, "migration %04d (%s) failed: %s", m->number, m->name,
			      err ? err : "unknown error");
		sqlite3_free(err);
		goto rollback;
	}
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO _migrations(number, name, applied_at) VALUES (?, ?, "
			       "CAST(strftime('%s','now') AS INTEGER) * 1000)",
			       -1, &s, NULL) != SQLITE_OK) {
		rc = store_fail(st, why, "recording a migration");
		goto rollback;
	}
	sqlite3_bind_int(s, 1, m->number);
	sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = store_fail(st, why, "recording a migration");
		goto rollback;
	}
	sqlite3_finalize(s);
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		s = NULL;
		rc = store_fail(st, why, "committing a migration");
		goto rollback;
	}
	return KITH_OK;
rollback:
	sqlite3_finalize(s);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

enum kith_status store_migrate(struct store *st, int *applied, char **why)
{
	int version = 0, count = 0;
	enum kith_status rc;

	if (applied)
		*applied = 0;
	rc = store_migrations_validate(why);
	if (rc)
		return rc;
	rc = store_schema_version(st, &version, why);
	if (rc)
		return rc;
	if (version > store_migrations_latest())
		return kith_why(why, KITH_EDB,
				"database %s is at schema %04d but this kith knows only up to %04d; "
				"use a newer kith", st->path, version, store_migrations_latest());
	for (size_t i = 0; i < store_migrations_count; i++) {
		if (store_migrations[i].number <= version)
			continue;
		rc = apply_one(st, &store_migrations[i], why);
		if (rc)
			return rc;
		count++;
	}
	if (applied)
		*applied = count;
	return KITH_OK;
}
