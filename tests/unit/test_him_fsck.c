/* test_him_fsck.c — whole-store checking finds each kind of damage. */
#include "support/test.h"
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <stdio.h>
#include <unistd.h>

#define N (16 * 1024)

struct report {
	size_t n;
	char lines[16][512];
};

static void collect(const char *line, void *ud)
{
	struct report *r = ud;

	if (r->n < 16)
		snprintf(r->lines[r->n], sizeof(r->lines[r->n]), "%s", line);
	r->n++;
}

static bool reported(const struct report *r, const char *a, const char *b)
{
	for (size_t i = 0; i < r->n && i < 16; i++)
		if (strstr(r->lines[i], a) && (!b || strstr(r->lines[i], b)))
			return true;
	return false;
}

static size_t fsck(struct him *h, struct report *r)
{
	size_t problems = 99;
	char *why = NULL;

	memset(r, 0, sizeof(*r));
	if (him_fsck(h, collect, r, &problems, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "fsck: %s", why);
	free(why);
	for (size_t i = 0; i < r->n && i < 16; i++)
		fprintf(stderr, "  fsck: %s\n", r->lines[i]);
	CHECK_EQ(r->n, problems);
	return problems;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* A store with a snapshot, three full tiles and a delta child of tile 0. */
struct fixture {
	struct him *h;
	char ids[4][HIM_ID_HEX + 1];
	char *paths[4];
	unsigned char payload[4][N];
};

static bool setup(struct fixture *f, const char *name)
{
	char *dir = test_path(name);
	struct him_options o = { .dir = dir };
	struct him_snapshot s = { .snapshot_id = "snap" };
	struct him_tile_in in[4];
	struct him_tile_meta m[4];
	bool ok;

	memset(f, 0, sizeof(*f));
	ok = him_open(&o, &f->h, NULL) == KITH_OK;
	free(dir);
	if (!ok)
		return false;
	s.provenance = json_pack("{s:s, s:s}", "model", "m", "code_sha", "c");
	ok = him_snapshot_create(f->h, &s, NULL, NULL) == KITH_OK;
	json_decref(s.provenance);
	for (int i = 0; i < 4; i++) {
		fill(f->payload[i], N, i < 3 ? (unsigned)i + 1 : 1);
		in[i] = (struct him_tile_in){ .stream = "emb", .snapshot_id = "snap", .level = 0,
					      .x = i, .y = 0, .shape = { 1, 1, N }, .dtype = "int8",
					      .payload = f->payload[i], .payload_len = N,
					      .halo = -1 };
	}
	f->payload[3][100] ^= 1;    /* tile 3: tile 0 with one byte changed */
	him_tile_id("emb", "snap", 0, 0, 0, f->payload[0], N, f->ids[0]);
	in[3].parent_tile_id = f->ids[0];
	ok = ok && him_put_tiles(f->h, in, 4, m, NULL) == KITH_OK;
	for (int i = 0; ok && i < 4; i++) {
		memcpy(f->ids[i], m[i].tile_id, sizeof(f->ids[i]));
		f->paths[i] = him_tile_path(f->h, &m[i]);
		him_tile_meta_release(&m[i]);
	}
	return ok;
}

static void teardown(struct fixture *f)
{
	for (int i = 0; i < 4; i++)
		free(f->paths[i]);
	him_close(f->h);
}

static void test_clean_store(void)
{
	struct fixture f;
	struct report r;
	struct him_row row;
	sqlite3 *db;

	REQUIRE(setup(&f, "clean"));
	db = him_db_acquire(f.h);
	CHECK(him_row_by_id(db, f.ids[3], &row, NULL) == KITH_OK);
	CHECK_EQ(row.encoding, HIM_ENC_DELTA);
	him_row_release(&row);
	him_db_release(f.h, db);
	CHECK_EQ(fsck(f.h, &r), 0);
	teardown(&f);
}

static void test_deleted_file(void)
{
	struct fixture f;
	struct report r;

	REQUIRE(setup(&f, "deleted"));
	REQUIRE(unlink(f.paths[1]) == 0);
	CHECK_EQ(fsck(f.h, &r), 1);
	CHECK(reported(&r, f.ids[1], "file missing"));
	CHECK(reported(&r, "(emb/snap/0/1/0)", NULL));
	teardown(&f);
}

static void test_flipped_byte(void)
{
	struct fixture f;
	struct report r;
	FILE *fp;
	int c;

	REQUIRE(setup(&f, "flipped"));
	fp = fopen(f.paths[2], "r+b");
	REQUIRE(fp != NULL);
	fseek(fp, -10, SEEK_END);
	c = fgetc(fp);
	fseek(fp, -10, SEEK_END);
	fputc(c ^ 0xff, fp);
	fclose(fp);
	CHECK_EQ(fsck(f.h, &r), 1);
	CHECK(reported(&r, f.ids[2], NULL));
	CHECK(reported(&r, "checksum mismatch", NULL) || reported(&r, "cannot decode", NULL));
	teardown(&f);
}

static void test_bad_header(void)
{
	struct fixture f;
	struct report r;
	FILE *fp;

	REQUIRE(setup(&f, "header"));
	fp = fopen(f.paths[1], "r+b");
	REQUIRE(fp != NULL);
	fputs("XXXX", fp);
	fclose(fp);
	CHECK_EQ(fsck(f.h, &r), 1);
	CHECK(reported(&r, f.ids[1], "bad header"));
	teardown(&f);
}

static void test_stray_and_temp_files(void)
{
	struct fixture f;
	struct report r;
	char *stray, *tmp, *dir;
	FILE *fp;

	REQUIRE(setup(&f, "stray"));
	stray = xasprintf("%s/emb/snap/0/0/0/0123456789ab", him_dir(f.h));
	fp = fopen(stray, "w");
	REQUIRE(fp != NULL);
	fputs("junk", fp);
	fclose(fp);
	dir = xasprintf("%s/emb/snap/0/1/0", him_dir(f.h));
	tmp = xasprintf("%s/.%.12s" HIM_TMP_MARK "abcdef", dir, f.ids[1]);
	fp = fopen(tmp, "w");
	REQUIRE(fp != NULL);
	fclose(fp);
	CHECK_EQ(fsck(f.h, &r), 1);            /* a fresh temp file is a write in flight */
	CHECK(reported(&r, "stray file emb/snap/0/0/0/0123456789ab", NULL));

	teardown(&f);
	free(stray);
	free(tmp);
	free(dir);
}

static int64_t two_minutes_on;

static int64_t later_clock(void *ctx)
{
	(void)ctx;
	return two_minutes_on;
}

static void test_leftover_temp_file(void)
{
	struct fixture f;
	struct report r;
	char *tmp;
	FILE *fp;

	REQUIRE(setup(&f, "leftover"));
	tmp = xasprintf("%s/emb/snap/0/1/0/.%.12s" HIM_TMP_MARK "Zz09aB", him_dir(f.h), f.ids[1]);
	fp = fopen(tmp, "w");
	REQUIRE(fp != NULL);
	fclose(fp);
	two_minutes_on = clock_now_ms() + 2 * 60 * 1000;
	clock_set_source(later_clock, NULL);
	CHECK_EQ(fsck(f.h, &r), 1);
	clock_set_source(NULL, NULL);
	CHECK(reported(&r, "leftover temp file", "emb/snap/0/1/0/."));
	free(tmp);
	teardown(&f);
}

static void test_uncatalogued_tile_file(void)
{
	struct fixture f;
	struct report r;
	sqlite3 *db;
	char *sql;

	REQUIRE(setup(&f, "orphan"));
	db = him_db_acquire(f.h);
	sql = sqlite3_mprintf("DELETE FROM tiles WHERE tile_id = %Q", f.ids[2]);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_free(sql);
	him_db_release(f.h, db);
	CHECK_EQ(fsck(f.h, &r), 1);
	CHECK(reported(&r, "stray file", f.ids[2]));
	teardown(&f);
}

static void test_broken_delta_parent(void)
{
	struct fixture f;
	struct report r;
	sqlite3 *db;
	char *sql;

	REQUIRE(setup(&f, "parent"));
	/* the parent disappears from the catalogue: its file is now stray and
	 * the child cannot be decoded */
	db = him_db_acquire(f.h);
	sql = sqlite3_mprintf("DELETE FROM tiles WHERE tile_id = %Q", f.ids[0]);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_free(sql);
	him_db_release(f.h, db);
	CHECK_EQ(fsck(f.h, &r), 2);
	CHECK(reported(&r, f.ids[3], "delta parent"));
	CHECK(reported(&r, "stray file", f.ids[0]));
	teardown(&f);

	/* the parent's file is damaged: the child is reported too */
	REQUIRE(setup(&f, "parent2"));
	REQUIRE(truncate(f.paths[0], 200) == 0);
	CHECK_EQ(fsck(f.h, &r), 2);
	CHECK(reported(&r, f.ids[0], NULL));
	CHECK(reported(&r, f.ids[3], "delta parent"));
	teardown(&f);
}

int main(void)
{
	RUN(test_clean_store);
	RUN(test_deleted_file);
	RUN(test_flipped_byte);
	RUN(test_bad_header);
	RUN(test_stray_and_temp_files);
	RUN(test_leftover_temp_file);
	RUN(test_uncatalogued_tile_file);
	RUN(test_broken_delta_parent);
	return test_summary();
}
