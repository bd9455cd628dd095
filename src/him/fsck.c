/* fsck.c — whole-store checking: catalogue against files and back.
 *
 * Two passes.  Every catalogued tile is read straight from disk (never the
 * warm cache) through the same decoder as a normal read, so fsck sees what
 * a cold read would: a missing file, a bad header, a frame that does not
 * decode, a checksum mismatch, a delta whose parent is not catalogued or
 * whose chain is too deep.  Then every file under the store directory must
 * be a catalogued tile's file; him.db with its WAL/SHM files and the ingest
 * journal are skipped, and temp files of an in-flight write are tolerated
 * for a minute (older ones are leftovers).  An interrupted write's files
 * are removed by the journal's recovery when the store is opened, so what
 * is reported here was not left by a crash of this kith.  fsck only
 * reports; it does not repair (a re-ingest rewrites a bad tile). */
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#define TEMP_GRACE_MS (60 * 1000)
#define WALK_DEPTH_MAX 8   /* stream/snapshot/level/x/y/file is 6 */

struct fsck {
	struct him *h;
	void (*report)(const char *line, void *ud);
	void *ud;
	size_t problems;
	char **expected;   /* relative paths of catalogued tiles, sorted */
	size_t nexpected, cap;
};

static void problem(struct fsck *f, const char *fmt, ...) KITH_PRINTF(2, 3);

static void problem(struct fsck *f, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	f->problems++;
	if (f->report)
		f->report(line, f->ud);
	free(line);
}

static void check_tile(struct fsck *f, const struct him_row *row)
{
	const struct him_tile_meta *m = &row->meta;
	unsigned char *raw = NULL;
	size_t n = 0;
	char *reason = NULL;

	if (him_tile_read(f->h, row, false, &raw, &n, &reason) != KITH_OK)
		problem(f, "tile %s (%s/%s/%d/%ld/%ld): %s", m->tile_id, m->stream, m->snapshot_id,
			m->level, m->x, m->y, reason ? reason : "unreadable");
	free(reason);
	free(raw);
	f->expected = xgrow(f->expected, &f->cap, f->nexpected + 1, sizeof(*f->expected));
	f->expected[f->nexpected++] = him_tile_relpath(m->stream, m->snapshot_id, m->level, m->x,
						       m->y, m->tile_id);
}

static enum kith_status check_catalogue(struct fsck *f, sqlite3 *db, char **why)
{
	struct him_snapshot *snaps = NULL;
	size_t nsnaps = 0;
	enum kith_status rc = him_snapshot_list(f->h, 0, &snaps, &nsnaps, why);

	for (size_t i = 0; !rc && i < nsnaps; i++) {
		struct him_row *rows = NULL;
		size_t n = 0;

		rc = him_rows_for(db, snaps[i].snapshot_id, NULL, HIM_MAX_LEVEL, 0, 0, &rows, &n, why);
		for (size_t k = 0; !rc && k < n; k++)
			check_tile(f, &rows[k]);
		him_rows_free(rows, n);
	}
	him_snapshots_free(snaps, nsnaps);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_expected(const struct fsck *f, const char *rel)
{
	return f->nexpected &&
	       bsearch(&rel, f->expected, f->nexpected, sizeof(*f->expected), cmp_str) != NULL;
}

/* him.db, him.db-wal, him.db-shm, him.db-journal and the ingest journal */
static bool is_store_file(const char *rel)
{
	return !strchr(rel, '/') &&
	       (strncmp(rel, "him.db", 6) == 0 || strcmp(rel, HIM_JOURNAL_NAME) == 0);
}

/* An ingest writes its files before it commits, so a tile file may have
 * become catalogued since the catalogue pass.  Taking the writer lock lets
 * an ingest in flight in this process finish first. */
static bool catalogued_now(struct fsck *f, const struct him_tilefile *hdr, const char *rel)
{
	struct him_row row;
	sqlite3 *db;
	bool found = false;

	pthread_mutex_lock(&f->h->write_mu);
	db = him_db_acquire(f->h);
	if (db && him_row_by_id(db, hdr->tile_id, &row, NULL) == KITH_OK) {
		char *want = him_tile_relpath(row.meta.stream, row.meta.snapshot_id, row.meta.level,
					      row.meta.x, row.meta.y, row.meta.tile_id);

		found = strcmp(want, rel) == 0;
		free(want);
		him_row_release(&row);
	}
	him_db_release(f->h, db);
	pthread_mutex_unlock(&f->h->write_mu);
	return found;
}

/* A file that is not catalogued: say what it is when it is a tile file (a
 * re-ingest of that tile adopts a sound one). */
static void stray_file(struct fsck *f, const char *path, const char *rel)
{
	unsigned char *img = NULL;
	size_t len = 0;
	struct him_tilefile hdr;

	if (him_tilefile_read(path, &img, &len, NULL) == KITH_OK &&
	    him_tilefile_parse(img, len, &hdr, NULL) == KITH_OK) {
		if (!catalogued_now(f, &hdr, rel))
			problem(f, "stray file %s: tile %s is not catalogued", rel, hdr.tile_id);
	} else {
		problem(f, "stray file %s: not catalogued", rel);
	}
	free(img);
}

static void check_file(struct fsck *f, const char *path, const char *rel, const char *name,
		       const struct stat *st)
{
	if (name[0] == '.' && strstr(name, HIM_TMP_MARK)) {
		int64_t age = clock_now_ms() - (int64_t)st->st_mtime * 1000;

		if (age > TEMP_GRACE_MS)
			problem(f, "leftover temp file %s", rel);
		return;
	}
	if (!is_expected(f, rel))
		stray_file(f, path, rel);
}

static void walk(struct fsck *f, const char *dir, const char *rel, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		problem(f, "cannot read directory %s", *rel ? rel : ".");
		return;
	}
	while ((e = readdir(d))) {
		char *path, *sub;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		sub = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (is_store_file(sub)) {
			/* not tiles */
		} else if (lstat(path, &st) != 0) {
			problem(f, "cannot stat %s", sub);
		} else if (S_ISDIR(st.st_mode) && depth < WALK_DEPTH_MAX) {
			walk(f, path, sub, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			check_file(f, path, sub, e->d_name, &st);
		} else {
			problem(f, "unexpected entry %s", sub);
		}
		free(path);
		free(sub);
	}
	closedir(d);
}

enum kith_status him_fsck(struct him *h, void (*report)(const char *line, void *ud), void *ud,
			  size_t *problems, char **why)
{
	struct fsck f = { .h = h, .report = report, .ud = ud };
	sqlite3 *db = him_db_acquire(h);
	enum kith_status rc;

	if (problems)
		*problems = 0;
	if (!db)
		return kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	rc = check_catalogue(&f, db, why);
	him_db_release(h, db);
	if (!rc) {
		if (f.nexpected)   /* qsort(NULL, 0, …) is undefined */
			qsort(f.expected, f.nexpected, sizeof(*f.expected), cmp_str);
		walk(&f, h->dir, "", 0);
	}
	for (size_t i = 0; i < f.nexpected; i++)
		free(f.expected[i]);
	free(f.expected);
	if (problems)
		*problems = f.problems;
	return rc;
}
