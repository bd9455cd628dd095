/* test_him_recovery.c — a write that never commits leaves nothing behind.
 *
 * Crashes are simulated deterministically with him_test_crash_before_commit
 * (the section stops right before COMMIT with its files written and its
 * journal in place, as if killed); then the store is reopened, or the next
 * write section runs, and must have removed every file of the lost write
 * while keeping everything catalogued.  Hand-written journals cover what a
 * crash can leave that the hook cannot: temp files, files never written,
 * torn and malformed lines, and a journal held by a live writer. */
#include "support/test.h"
#include "support/himstore.h"
#include "him/him_int.h"
#include "core/alloc.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

static struct him_tile_in tile(const char *snap, long x, long y, const char *payload)
{
	struct him_tile_in t = {
		.stream = "emb", .snapshot_id = snap, .level = 0, .x = x, .y = y,
		.shape = { 1, 1, (long)strlen(payload) }, .dtype = "bytes",
		.payload = (const unsigned char *)payload, .payload_len = strlen(payload),
		.halo = -1,
	};
	return t;
}

static void id_of(const struct him_tile_in *t, char id[HIM_ID_HEX + 1])
{
	him_tile_id(t->stream, t->snapshot_id, t->level, t->x, t->y, t->payload, t->payload_len,
		    id);
}

/* Absolute path of a tile's file (caller frees). */
static char *path_of(struct him *h, const struct him_tile_in *t)
{
	char id[HIM_ID_HEX + 1], *rel, *path;

	id_of(t, id);
	rel = him_tile_relpath(t->stream, t->snapshot_id, t->level, t->x, t->y, id);
	path = xasprintf("%s/%s", him_dir(h), rel);
	free(rel);
	return path;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static bool tile_file_exists(struct him *h, const struct him_tile_in *t)
{
	char *path = path_of(h, t);
	bool yes = exists(path);

	free(path);
	return yes;
}

static long journal_size(const char *dir)
{
	char *path = xasprintf("%s/" HIM_JOURNAL_NAME, dir);
	struct stat st;
	long n = stat(path, &st) == 0 ? (long)st.st_size : -1;

	free(path);
	return n;
}

static void print_problem(const char *line, void *ud)
{
	(void)ud;
	fprintf(stderr, "  fsck: %s\n", line);
}

static size_t fsck_problems(struct him *h)
{
	size_t problems = 99;

	if (him_fsck(h, print_problem, NULL, &problems, NULL) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "fsck failed");
	return problems;
}

static bool readable(struct him *h, const struct him_tile_in *t)
{
	struct buf b = BUF_INIT(0);
	bool ok = him_get_tile(h, t->stream, t->snapshot_id, t->level, t->x, t->y, NULL, &b,
			       NULL) == KITH_OK &&
		  b.len == t->payload_len && memcmp(b.data, t->payload, b.len) == 0;

	buf_release(&b);
	return ok;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		test_fail_(__FILE__, __LINE__, "cannot create %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static void make_dirs(const char *dir)
{
	if (him_make_dirs(dir, NULL) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "cannot create %s", dir);
}

/* ---- simulated crashes ------------------------------------------------------ */

static void test_crash_during_ingest(void)
{
	struct him *h = him_test_open("ingest");
	char *dir, *tmp, *emptied;
	char kept_id[HIM_ID_HEX + 1];
	struct him_tile_in kept, lost[4];
	char *why = NULL;

	REQUIRE(h);
	dir = xstrdup(him_dir(h));
	him_test_snapshot(h, "s");
	kept = tile("s", 0, 0, "committed before the crash");
	REQUIRE(him_put_tiles(h, &kept, 1, NULL, NULL) == KITH_OK);
	id_of(&kept, kept_id);

	lost[0] = tile("s", 1, 0, "lost one");
	lost[1] = tile("s", 1, 1, "lost two");
	lost[2] = tile("s", 2, 0, "committed before the crash, almost");
	lost[2].parent_tile_id = kept_id;        /* stored as a delta */
	lost[3] = kept;                          /* already there: not journaled */
	him_test_crash_before_commit(true);
	CHECK_EQ(him_put_tiles(h, lost, 4, NULL, &why), KITH_EIO);
	him_test_crash_before_commit(false);
	CHECK_CONTAINS(why, "simulated crash");
	free(why);
	for (int i = 0; i < 3; i++)
		CHECK(tile_file_exists(h, &lost[i]));   /* as a kill would leave them */
	CHECK(journal_size(dir) > 0);
	/* a kill in the middle of a file write leaves its temp file */
	tmp = xasprintf("%s/emb/s/0/1/0/.0123456789ab" HIM_TMP_MARK "Xy12Zz", dir);
	write_file(tmp, "half a tile");
	him_close(h);

	h = him_test_open("ingest");
	REQUIRE(h);
	CHECK_EQ(journal_size(dir), 0);
	for (int i = 0; i < 3; i++)
		CHECK(!tile_file_exists(h, &lost[i]));
	CHECK(!exists(tmp));
	emptied = xasprintf("%s/emb/s/0/1", dir);
	CHECK(!exists(emptied));                     /* directories it made are gone too */
	CHECK(readable(h, &kept));
	CHECK(tile_file_exists(h, &kept));
	CHECK_EQ(him_get_tile(h, "emb", "s", 0, 1, 0, NULL, NULL, NULL), KITH_ENOTFOUND);
	CHECK_EQ(fsck_problems(h), 0);

	/* the batch goes in cleanly now */
	REQUIRE(him_put_tiles(h, lost, 4, NULL, NULL) == KITH_OK);
	for (int i = 0; i < 4; i++)
		CHECK(readable(h, &lost[i]));
	CHECK_EQ(journal_size(dir), 0);
	CHECK_EQ(fsck_problems(h), 0);
	him_close(h);
	free(emptied);
	free(tmp);
	free(dir);
}

static void test_crash_during_merge(void)
{
	struct him *h = him_test_open("merge");
	struct him_tile_in a[2], b[2];
	struct him_merge_result res;
	struct him_snapshot snap;
	const char *others[] = { "b" };
	char *dir, *merged;
	char *why = NULL;

	REQUIRE(h);
	dir = xstrdup(him_dir(h));
	him_test_snapshot(h, "a");
	him_test_snapshot(h, "b");
	a[0] = tile("a", 0, 0, "a at 0,0");
	a[1] = tile("a", 1, 0, "a at 1,0");
	b[0] = tile("b", 1, 0, "b at 1,0, newer");
	b[1] = tile("b", 2, 0, "b at 2,0");
	REQUIRE(him_put_tiles(h, a, 2, NULL, NULL) == KITH_OK);
	REQUIRE(him_put_tiles(h, b, 2, NULL, NULL) == KITH_OK);

	him_test_crash_before_commit(true);
	CHECK_EQ(him_merge(h, "a", others, 1, "m", "lww", &res, &why), KITH_EIO);
	him_test_crash_before_commit(false);
	CHECK_CONTAINS(why, "simulated crash");
	free(why);
	why = NULL;
	him_merge_result_release(&res);
	merged = xasprintf("%s/emb/m", dir);
	CHECK(exists(merged));                       /* the merge had written its tiles */
	CHECK(journal_size(dir) > 0);
	him_close(h);

	h = him_test_open("merge");
	REQUIRE(h);
	CHECK(!exists(merged));
	CHECK_EQ(journal_size(dir), 0);
	CHECK_EQ(him_snapshot_get(h, "m", &snap, NULL), KITH_ENOTFOUND);
	CHECK_EQ(fsck_problems(h), 0);

	CHECK_EQ(him_merge(h, "a", others, 1, "m", "lww", &res, &why), KITH_OK);
	CHECK_EQ(res.tiles, 3);
	him_merge_result_release(&res);
	CHECK_EQ(fsck_problems(h), 0);
	CHECK_EQ(journal_size(dir), 0);
	him_close(h);
	free(merged);
	free(dir);
}

/* No restart: a rollback undoes at once, and after a simulated crash the
 * next write section of the same store does. */
static void test_rollback_and_next_section(void)
{
	struct him *h = him_test_open("rollback");
	struct him_tile_in t[2];
	sqlite3 *db;
	char *why = NULL;

	REQUIRE(h);
	him_test_snapshot(h, "s");
	t[0] = tile("s", 5, 5, "rolled back");
	t[1] = tile("s", 5, 6, "rolled back too");
	db = him_db_acquire(h);
	REQUIRE(db);
	REQUIRE(him_write_begin(h, db, NULL) == KITH_OK);
	CHECK(him_put_tiles_txn(h, db, t, 2, NULL, NULL, NULL) == KITH_OK);
	CHECK(tile_file_exists(h, &t[0]) && tile_file_exists(h, &t[1]));
	CHECK(journal_size(him_dir(h)) > 0);
	him_write_rollback(h, db);
	him_db_release(h, db);
	CHECK(!tile_file_exists(h, &t[0]) && !tile_file_exists(h, &t[1]));
	CHECK_EQ(journal_size(him_dir(h)), 0);
	CHECK_EQ(fsck_problems(h), 0);

	him_test_crash_before_commit(true);
	CHECK_EQ(him_put_tiles(h, t, 2, NULL, &why), KITH_EIO);
	him_test_crash_before_commit(false);
	free(why);
	CHECK(tile_file_exists(h, &t[0]));
	him_test_snapshot(h, "later");                   /* any write section */
	CHECK(!tile_file_exists(h, &t[0]) && !tile_file_exists(h, &t[1]));
	CHECK_EQ(journal_size(him_dir(h)), 0);
	CHECK_EQ(fsck_problems(h), 0);
	him_close(h);
}

/* A sound tile file that no journal names (an older kith crashed, or it
 * was copied in) survives opening; fsck reports it and a re-ingest of that
 * very tile adopts it instead of writing it again. */
static void test_reingest_adopts_orphan(void)
{
	struct him *h = him_test_open("adopt");
	struct him_tile_in t;
	struct stat before, after;
	char *dir, *path, *jpath;

	REQUIRE(h);
	him_test_snapshot(h, "s");
	t = tile("s", 4, 4, "an orphan from before the journal");
	him_test_crash_before_commit(true);
	CHECK_EQ(him_put_tiles(h, &t, 1, NULL, NULL), KITH_EIO);
	him_test_crash_before_commit(false);
	dir = xstrdup(him_dir(h));
	path = path_of(h, &t);
	him_close(h);
	jpath = xasprintf("%s/" HIM_JOURNAL_NAME, dir);
	REQUIRE(truncate(jpath, 0) == 0);           /* no journal names it */

	h = him_test_open("adopt");
	REQUIRE(h);
	REQUIRE(stat(path, &before) == 0);
	CHECK_EQ(fsck_problems(h), 1);
	CHECK(him_put_tiles(h, &t, 1, NULL, NULL) == KITH_OK);
	REQUIRE(stat(path, &after) == 0);
	CHECK(before.st_ino == after.st_ino);       /* adopted, not rewritten */
	CHECK(readable(h, &t));
	CHECK_EQ(fsck_problems(h), 0);
	him_close(h);
	free(jpath);
	free(path);
	free(dir);
}

/* ---- hand-written journals -------------------------------------------------- */

struct cases {
	struct him_tile_in kept, orphan, missing, torn;
	char kept_id[HIM_ID_HEX + 1], orphan_id[HIM_ID_HEX + 1];
	char missing_id[HIM_ID_HEX + 1], torn_id[HIM_ID_HEX + 1];
	char *kept_path, *orphan_path, *torn_path, *kept_tmp, *orphan_tmp, *unlisted, *forged;
};

static void cases_release(struct cases *c)
{
	free(c->kept_path);
	free(c->orphan_path);
	free(c->torn_path);
	free(c->kept_tmp);
	free(c->orphan_tmp);
	free(c->unlisted);
	free(c->forged);
}

/* A closed store holding one catalogued tile, and around it: an
 * uncatalogued tile file and temp files in listed directories, a file no
 * journal line names, and one that only a forged line names. */
static bool cases_setup(struct cases *c, const char *name)
{
	struct him *h = him_test_open(name);
	char *d;

	memset(c, 0, sizeof(*c));
	if (!h)
		return false;
	him_test_snapshot(h, "s");
	c->kept = tile("s", 0, 0, "catalogued");
	c->orphan = tile("s", 1, 0, "written, never committed");
	c->missing = tile("s", 2, 0, "listed, never written");
	c->torn = tile("s", 3, 0, "its line was torn");
	id_of(&c->kept, c->kept_id);
	id_of(&c->orphan, c->orphan_id);
	id_of(&c->missing, c->missing_id);
	id_of(&c->torn, c->torn_id);
	if (him_put_tiles(h, &c->kept, 1, NULL, NULL) != KITH_OK) {
		him_close(h);
		return false;
	}
	c->kept_path = path_of(h, &c->kept);
	c->orphan_path = path_of(h, &c->orphan);
	c->torn_path = path_of(h, &c->torn);
	c->kept_tmp = xasprintf("%s/emb/s/0/0/0/.%.12s" HIM_TMP_MARK "aaaaaa", him_dir(h),
				c->kept_id);
	c->orphan_tmp = xasprintf("%s/emb/s/0/1/0/.%.12s" HIM_TMP_MARK "bbbbbb", him_dir(h),
				  c->orphan_id);
	c->unlisted = xasprintf("%s/emb/s/0/9/9/0123456789ab", him_dir(h));
	c->forged = xasprintf("%s/emb/s/0/7/7/aaaaaaaaaaaa", him_dir(h));
	d = xasprintf("%s/emb/s/0/1/0", him_dir(h));
	make_dirs(d);
	free(d);
	d = xasprintf("%s/emb/s/0/3/0", him_dir(h));
	make_dirs(d);
	free(d);
	d = xasprintf("%s/emb/s/0/9/9", him_dir(h));
	make_dirs(d);
	free(d);
	d = xasprintf("%s/emb/s/0/7/7", him_dir(h));
	make_dirs(d);
	free(d);
	write_file(c->orphan_path, "not even a tile file");
	write_file(c->torn_path, "not listed by a complete line");
	write_file(c->kept_tmp, "");
	write_file(c->orphan_tmp, "");
	write_file(c->unlisted, "junk");
	write_file(c->forged, "junk");
	him_close(h);
	return true;
}

static void write_journal(const char *name, const char *text)
{
	char *dir = test_path(name), *path = xasprintf("%s/" HIM_JOURNAL_NAME, dir);

	write_file(path, text);
	free(path);
	free(dir);
}

static void test_journal_cases(void)
{
	struct cases c;
	struct buf j = BUF_INIT(0);
	struct him *h;
	char *emptied;

	REQUIRE(cases_setup(&c, "cases"));
	buf_printf(&j, "kith-him-journal 1\n");
	buf_printf(&j, "%s emb/s/0/0/0/%.12s\n", c.kept_id, c.kept_id);         /* keep */
	buf_printf(&j, "%s emb/s/0/1/0/%.12s\n", c.orphan_id, c.orphan_id);     /* remove */
	buf_printf(&j, "%s emb/s/0/2/0/%.12s\n", c.missing_id, c.missing_id);   /* nothing */
	buf_printf(&j, "%s emb/s/0/7/7/aaaaaaaaaaaa\n", c.orphan_id);           /* forged */
	buf_printf(&j, "%s emb/s/0/7/7/../../../../../him.db\n", c.orphan_id);  /* forged */
	buf_printf(&j, "%s ../../../etc/passwd\n", c.orphan_id);                /* forged */
	buf_printf(&j, "not a line at all\n");
	buf_printf(&j, "%s emb/s/0/3/0/%.12s", c.torn_id, c.torn_id);           /* torn */
	write_journal("cases", buf_str(&j));
	buf_release(&j);

	h = him_test_open("cases");
	REQUIRE(h);
	CHECK_EQ(journal_size(him_dir(h)), 0);
	CHECK(exists(c.kept_path));
	CHECK(readable(h, &c.kept));
	CHECK(!exists(c.kept_tmp));
	CHECK(!exists(c.orphan_path));
	CHECK(!exists(c.orphan_tmp));
	emptied = xasprintf("%s/emb/s/0/1", him_dir(h));
	CHECK(!exists(emptied));
	/* recovery touches only what complete, well-formed lines name */
	CHECK(exists(c.forged));
	CHECK(exists(c.torn_path));
	CHECK(exists(c.unlisted));
	CHECK_EQ(fsck_problems(h), 3);                   /* those three are fsck's to report */
	him_close(h);
	free(emptied);
	cases_release(&c);
}

static void test_journal_without_header(void)
{
	struct cases c;
	struct buf j = BUF_INIT(0);
	struct him *h;

	REQUIRE(cases_setup(&c, "noheader"));
	buf_printf(&j, "%s emb/s/0/1/0/%.12s\n", c.orphan_id, c.orphan_id);
	write_journal("noheader", buf_str(&j));
	buf_release(&j);
	h = him_test_open("noheader");
	REQUIRE(h);
	CHECK(exists(c.orphan_path));                    /* not a journal: nothing undone */
	CHECK_EQ(journal_size(him_dir(h)), 0);
	him_close(h);
	cases_release(&c);
}

/* A journal locked by a live writer (another process) is not touched at
 * open; once the lock is free, the next write section undoes it. */
static void test_live_writer_elsewhere(void)
{
	struct cases c;
	struct buf j = BUF_INIT(0);
	struct him *h;
	char *dir, *path;
	int fd;

	REQUIRE(cases_setup(&c, "live"));
	buf_printf(&j, "kith-him-journal 1\n%s emb/s/0/1/0/%.12s\n", c.orphan_id, c.orphan_id);
	write_journal("live", buf_str(&j));
	buf_release(&j);
	dir = test_path("live");
	path = xasprintf("%s/" HIM_JOURNAL_NAME, dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(flock(fd, LOCK_EX) == 0);

	h = him_test_open("live");
	REQUIRE(h);
	CHECK(exists(c.orphan_path));
	CHECK(journal_size(dir) > 0);
	close(fd);                                       /* the other writer is done */
	him_test_snapshot(h, "next");
	CHECK(!exists(c.orphan_path));
	CHECK_EQ(journal_size(dir), 0);
	him_close(h);
	free(path);
	free(dir);
	cases_release(&c);
}

int main(void)
{
	RUN(test_crash_during_ingest);
	RUN(test_crash_during_merge);
	RUN(test_rollback_and_next_section);
	RUN(test_reingest_adopts_orphan);
	RUN(test_journal_cases);
	RUN(test_journal_without_header);
	RUN(test_live_writer_elsewhere);
	return test_summary();
}
