/* journal.c — the write section (one writer at a time) and its intent
 * journal, which makes the tile files of a write that never committed
 * disappear, whether it was rolled back or the process died.
 *
 * A write section takes h->write_mu, then an exclusive flock on
 * {dir}/ingest.journal (waiting at most 10 s, like SQLite's busy timeout),
 * then BEGIN IMMEDIATE — always in that order, so writers in several
 * processes cannot deadlock, and a process opening the store never
 * "recovers" a write that another live process is making.  Before ingest
 * writes tile files it appends one line per file ("{tile id} {relative
 * path}") to the journal and fdatasyncs it.  The files themselves are
 * written without syncing; one syncfs() makes all of them (and the
 * directories made for them) durable before COMMIT: one device flush per
 * batch instead of two or more per tile.  SQLite runs with
 * synchronous=NORMAL (a commit reaches the WAL unsynced — fine for access
 * counts and traces), so a section that wrote tile files syncs the WAL
 * after its COMMIT: an acknowledged tile survives power loss.  Only then is
 * the journal truncated; that needs no sync, because recovering a stale
 * journal keeps every catalogued file.
 *
 * Recovery runs on rollback, at him_open, and at the start of any write
 * section that finds the journal non-empty (a writer died): each listed
 * file is unlinked unless a catalogued tile has that path, temp files in
 * the listed directories are unlinked (emptied directories removed), one
 * syncfs makes that last, then the journal is truncated.  Its cost is the
 * journal's size, never the store's.  The file is truncated rather than
 * removed so that the flock always guards the same inode. */
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_MAGIC "kith-him-journal 1\n"
#define LOCK_WAIT_MS 10000

static int crash_before_commit;   /* tests only; atomic */

void him_test_crash_before_commit(bool on)
{
	__atomic_store_n(&crash_before_commit, on, __ATOMIC_RELEASE);
}

/* ---- reading a journal -------------------------------------------------- */

/* One line of the journal: a tile file and where it lives. */
struct intent {
	char tile_id[HIM_ID_HEX + 1];
	char *rel;                      /* as him_tile_relpath() writes it */
	char *stream, *snapshot_id;     /* parsed from rel */
	int level;
	long x, y;
};

static void intents_free(struct intent *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].rel);
		free(v[i].stream);
		free(v[i].snapshot_id);
	}
	free(v);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* "{tile id} {stream}/{snapshot}/{level}/{x}/{y}/{id[:12]}" where the path
 * is exactly the one him_tile_relpath() gives for those parts: a damaged
 * or forged journal cannot name anything outside the tile tree. */
static bool parse_intent(const char *line, struct intent *it)
{
	char *copy, *part[6], *p, *want;
	long level = 0;
	size_t np = 0;
	bool ok;

	memset(it, 0, sizeof(*it));
	if (strlen(line) < HIM_ID_HEX + 2 || line[HIM_ID_HEX] != ' ')
		return false;
	memcpy(it->tile_id, line, HIM_ID_HEX);
	if (!him_is_tile_id(it->tile_id))
		return false;
	copy = xstrdup(line + HIM_ID_HEX + 1);
	for (p = copy; np < 6; p++) {
		part[np++] = p;
		if (!(p = strchr(p, '/')))
			break;
		*p = '\0';
	}
	ok = np == 6 && !p && him_check_name(NULL, part[0], NULL) == KITH_OK &&
	     him_check_name(NULL, part[1], NULL) == KITH_OK &&
	     parse_long(part[2], 0, HIM_MAX_LEVEL, &level) &&
	     parse_long(part[3], -HIM_MAX_COORD, HIM_MAX_COORD, &it->x) &&
	     parse_long(part[4], -HIM_MAX_COORD, HIM_MAX_COORD, &it->y);
	if (ok) {
		it->level = (int)level;
		want = him_tile_relpath(part[0], part[1], it->level, it->x, it->y, it->tile_id);
		ok = strcmp(want, line + HIM_ID_HEX + 1) == 0;
		if (ok) {
			it->rel = want;
			it->stream = xstrdup(part[0]);
			it->snapshot_id = xstrdup(part[1]);
		} else {
			free(want);
		}
	}
	free(copy);
	return ok;
}

/* The whole journal file.  KITH_OK with *len 0 when it is empty. */
static enum kith_status read_journal(struct him *h, char **text, size_t *len, char **why)
{
	struct stat st;
	size_t got = 0;
	char *p;

	*text = NULL;
	*len = 0;
	if (fstat(h->journal.fd, &st) != 0)
		return kith_why(why, KITH_EIO, "cannot stat the ingest journal: %s", strerror(errno));
	if (st.st_size == 0)
		return KITH_OK;
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(h->journal.fd, p + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != (size_t)st.st_size) {
		free(p);
		return kith_why(why, KITH_EIO, "cannot read the ingest journal: %s",
				got ? "short read" : strerror(errno));
	}
	p[got] = '\0';
	*text = p;
	*len = got;
	return KITH_OK;
}

/* Complete, well-formed lines after the magic line.  A torn last line is
 * what a crash while appending leaves: nothing of it was written yet, since
 * files come only after the append is synced. */
static struct intent *parse_journal(char *text, size_t len, size_t *n)
{
	struct intent *v = NULL;
	size_t cap = 0, bad = 0;
	char *line, *nl;

	*n = 0;
	if (len < strlen(JOURNAL_MAGIC) || memcmp(text, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) != 0) {
		log_warn("him", "ingest journal has no valid header; nothing to undo");
		return NULL;
	}
	for (line = text + strlen(JOURNAL_MAGIC); (nl = memchr(line, '\n', len - (size_t)(line - text)));
	     line = nl + 1) {
		*nl = '\0';
		v = xgrow(v, &cap, *n + 1, sizeof(*v));
		if (parse_intent(line, &v[*n]))
			(*n)++;
		else
			bad++;
	}
	if (bad)
		log_warn("him", "ingest journal: %zu malformed line%s ignored", bad, bad > 1 ? "s" : "");
	return v;
}

/* ---- recovery ----------------------------------------------------------- */

struct undo {
	struct him *h;
	char **dirs;              /* relative directories named, sorted later */
	size_t ndirs, cap;
	size_t files, temps, failed;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void unlink_counted(struct undo *u, const char *path, size_t *count)
{
	if (unlink(path) == 0) {
		(*count)++;
	} else if (errno != ENOENT) {
		log_warn("him", "cannot remove %s: %s", path, strerror(errno));
		u->failed++;
	}
}

/* One listed file: unlinked unless a catalogued tile lives at its path. */
static enum kith_status undo_file(struct undo *u, sqlite3 *db, const struct intent *it,
				  char **why)
{
	bool kept = false;
	enum kith_status rc = him_file_catalogued(db, it->stream, it->snapshot_id, it->level, it->x,
						  it->y, it->tile_id, &kept, why);
	char *path, *slash;

	if (rc)
		return rc;   /* unsure: keep everything, keep the journal */
	u->dirs = xgrow(u->dirs, &u->cap, u->ndirs + 1, sizeof(*u->dirs));
	u->dirs[u->ndirs] = xstrdup(it->rel);
	slash = strrchr(u->dirs[u->ndirs], '/');
	*slash = '\0';
	u->ndirs++;
	if (kept)
		return KITH_OK;
	path = xasprintf("%s/%s", u->h->dir, it->rel);
	unlink_counted(u, path, &u->files);
	free(path);
	return KITH_OK;
}

/* Temp files of the interrupted writes in one directory; then remove it
 * (and its parents) when it is left empty. */
static void undo_dir(struct undo *u, const char *rel)
{
	char *dir = xasprintf("%s/%s", u->h->dir, rel), *slash;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		free(dir);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && strstr(e->d_name, HIM_TMP_MARK)) {
			char *path = xasprintf("%s/%s", dir, e->d_name);

			unlink_counted(u, path, &u->temps);
			free(path);
		}
	}
	closedir(d);
	/* tidy only: an empty directory that comes back after a crash is harmless */
	while (rmdir(dir) == 0 && (slash = strrchr(dir, '/')) && slash > dir + strlen(u->h->dir))
		*slash = '\0';
	free(dir);
}

/* Undo what the journal lists, then truncate it.  Catalogue errors stop
 * the undo with the journal kept (it is retried by the next write section
 * or open); a file that cannot be removed is logged and left to fsck. */
static enum kith_status recover(struct him *h, sqlite3 *db, char **why)
{
	struct undo u = { .h = h };
	struct intent *v = NULL;
	size_t len = 0, n = 0;
	char *text = NULL;
	enum kith_status rc = read_journal(h, &text, &len, why);

	if (rc || !len)
		goto out;
	v = parse_journal(text, len, &n);
	for (size_t i = 0; !rc && i < n; i++)
		rc = undo_file(&u, db, &v[i], why);
	if (rc)
		goto out;
	if (u.ndirs)
		qsort(u.dirs, u.ndirs, sizeof(*u.dirs), cmp_str);
	for (size_t i = 0; i < u.ndirs; i++)
		if (i == 0 || strcmp(u.dirs[i], u.dirs[i - 1]) != 0)
			undo_dir(&u, u.dirs[i]);
	/* the removals must last before the journal that names them goes: one
	 * syncfs covers every directory touched */
	if ((u.files || u.temps) && syncfs(h->journal.fd) != 0) {
		log_warn("him", "cannot sync %s: %s", h->dir, strerror(errno));
		u.failed++;
	}
	if (u.files || u.temps || u.failed)
		log_info("him", "undid an uncommitted write: %zu tile file%s and %zu temp file%s removed"
			 "%s", u.files, u.files == 1 ? "" : "s", u.temps, u.temps == 1 ? "" : "s",
			 u.failed ? " (some could not be; see above)" : "");
	if (ftruncate(h->journal.fd, 0) != 0)
		rc = kith_why(why, KITH_EIO, "cannot truncate the ingest journal: %s", strerror(errno));
out:
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i]);
	free(u.dirs);
	intents_free(v, n);
	free(text);
	return rc;
}

/* ---- the journal file --------------------------------------------------- */

static int lock_journal(int fd, int how)
{
	int r;

	while ((r = flock(fd, how)) != 0 && errno == EINTR)
		;
	return r;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Exclusive, waiting at most LOCK_WAIT_MS for a writer in another process
 * (as SQLite's busy timeout does) rather than forever. */
static int lock_journal_wait(int fd)
{
	int64_t deadline = mono_ms() + LOCK_WAIT_MS;
	long pause_us = 500;

	while (lock_journal(fd, LOCK_EX | LOCK_NB) != 0) {
		struct timespec ts;

		if (errno != EWOULDBLOCK || mono_ms() >= deadline)
			return -1;
		ts.tv_sec = 0;
		ts.tv_nsec = pause_us * 1000;
		nanosleep(&ts, NULL);
		if (pause_us < 50000)
			pause_us *= 2;
	}
	return 0;
}

enum kith_status him_journal_open(struct him *h, char **why)
{
	char *path = xasprintf("%s/" HIM_JOURNAL_NAME, h->dir);
	enum kith_status rc = KITH_OK;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	sqlite3 *db;

	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			rc = him_fsync_dir(h->dir, why);
		else if (errno == EEXIST)
			fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		rc = kith_why(why, KITH_EIO, "cannot open %s: %s", path, strerror(errno));
	free(path);
	h->journal.fd = fd;
	if (rc)
		return rc;
	if (lock_journal(fd, LOCK_EX | LOCK_NB) != 0) {
		/* a live writer in another process: the journal is its own */
		log_debug("him", "%s: a write is in progress elsewhere; not recovering", h->dir);
		return KITH_OK;
	}
	db = him_db_acquire(h);
	rc = db ? recover(h, db, why) : kith_why(why, KITH_EDB, "cannot open %s", h->db_path);
	him_db_release(h, db);
	lock_journal(fd, LOCK_UN);
	return rc;
}

void him_journal_close(struct him *h)
{
	if (h->journal.fd >= 0)
		close(h->journal.fd);
	h->journal.fd = -1;
}

static ssize_t pwrite_all(int fd, const char *p, size_t n, off_t at)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = pwrite(fd, p + done, n - done, at + (off_t)done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

enum kith_status him_journal_intend(struct him *h, const struct him_tile_meta *const *tiles,
				    size_t n, char **why)
{
	struct buf b = BUF_INIT(0);
	enum kith_status rc = KITH_OK;

	KITH_ASSERT(h->journal.locked);
	if (!n)
		return KITH_OK;
	if (!h->journal.len)
		buf_puts(&b, JOURNAL_MAGIC);
	for (size_t i = 0; i < n; i++) {
		const struct him_tile_meta *m = tiles[i];
		char *rel = him_tile_relpath(m->stream, m->snapshot_id, m->level, m->x, m->y,
					     m->tile_id);

		buf_printf(&b, "%s %s\n", m->tile_id, rel);
		free(rel);
	}
	/* set before writing: a failed append may still have left lines */
	h->journal.unsynced = true;
	if (pwrite_all(h->journal.fd, b.data, b.len, (off_t)h->journal.len) < 0 ||
	    fdatasync(h->journal.fd) != 0)
		rc = kith_why(why, KITH_EIO, "cannot write the ingest journal in %s: %s", h->dir,
			      strerror(errno));
	else
		h->journal.len += b.len;
	buf_release(&b);
	return rc;
}

/* ---- the write section -------------------------------------------------- */

/* End the section: flock, then the mutex. */
static void release(struct him *h)
{
	h->journal.len = 0;
	h->journal.unsynced = false;
	h->journal.locked = false;
	lock_journal(h->journal.fd, LOCK_UN);
	pthread_mutex_unlock(&h->write_mu);
}

enum kith_status him_write_lock(struct him *h, sqlite3 *db, char **why)
{
	struct stat st;
	enum kith_status rc = KITH_OK;

	pthread_mutex_lock(&h->write_mu);
	if (lock_journal_wait(h->journal.fd) != 0) {
		rc = errno == EWOULDBLOCK
			? kith_why(why, KITH_EDB, "%s is busy: another process is writing to it",
				   h->dir)
			: kith_why(why, KITH_EIO, "cannot lock the ingest journal in %s: %s", h->dir,
				   strerror(errno));
		pthread_mutex_unlock(&h->write_mu);
		return rc;
	}
	h->journal.locked = true;
	h->journal.len = 0;
	h->journal.unsynced = false;
	if (fstat(h->journal.fd, &st) == 0 && st.st_size > 0)
		rc = recover(h, db, why);   /* a writer died (or a test crashed one) */
	if (rc)
		release(h);
	return rc;
}

enum kith_status him_write_begin(struct him *h, sqlite3 *db, char **why)
{
	enum kith_status rc = him_write_lock(h, db, why);

	if (rc)
		return rc;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = him_db_fail(db, "starting a write", why);
		release(h);
	}
	return rc;
}

enum kith_status him_write_sync(struct him *h, char **why)
{
	KITH_ASSERT(h->journal.locked);
	if (!h->journal.unsynced)
		return KITH_OK;
	/* the store is one filesystem: this covers every file and directory
	 * written since the journal was last synced */
	if (syncfs(h->journal.fd) != 0)
		return kith_why(why, KITH_EIO, "cannot sync the tile files in %s: %s", h->dir,
				strerror(errno));
	h->journal.unsynced = false;
	return KITH_OK;
}

/* fsync applies to the file, not the descriptor: opening him.db-wal by name
 * makes the commit that was just appended to it durable.  No WAL file means
 * SQLite is not in WAL mode, where commits sync themselves. */
static enum kith_status sync_wal(struct him *h, char **why)
{
	char *path = xasprintf("%s-wal", h->db_path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum kith_status rc = KITH_OK;

	if (fd < 0 && errno != ENOENT)
		rc = kith_why(why, KITH_EIO, "committed, but cannot open %s to sync it: %s", path,
			      strerror(errno));
	else if (fd >= 0 && fdatasync(fd) != 0)
		rc = kith_why(why, KITH_EIO, "committed, but cannot sync %s: %s", path,
			      strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static void undo(struct him *h, sqlite3 *db)
{
	char *why = NULL;

	if (recover(h, db, &why) != KITH_OK)
		log_warn("him", "cannot undo an uncommitted write yet: %s", why);
	free(why);
}

enum kith_status him_write_commit(struct him *h, sqlite3 *db, char **why)
{
	bool wrote = h->journal.len > 0;
	enum kith_status rc = him_write_sync(h, why);

	if (!rc && wrote && __atomic_load_n(&crash_before_commit, __ATOMIC_ACQUIRE)) {
		/* as if killed here: SQLite drops the transaction, nothing else
		 * is cleaned up */
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		release(h);
		return kith_why(why, KITH_EIO, "simulated crash before COMMIT (test hook)");
	}
	if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = him_db_fail(db, "committing", why);
	if (rc) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		undo(h, db);
	} else if (wrote) {
		rc = sync_wal(h, why);
		if (ftruncate(h->journal.fd, 0) != 0)
			log_warn("him", "cannot truncate the ingest journal: %s", strerror(errno));
	}
	release(h);
	return rc;
}

void him_write_rollback(struct him *h, sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	undo(h, db);
	release(h);
}
