/* test_him_tiles.c — the tile store: ingest, validation, reads, deltas,
 * corruption, concurrency, reopening; snapshots and catalogue helpers. */
#include "support/test.h"
#include "him/him_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char golden_id[] = "180dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d4";

/* ---- helpers -------------------------------------------------------------- */

static struct him *open_store(const char *name, const unsigned char *pk)
{
	char *dir = test_path(name);
	struct him_options o = { .dir = dir, .signing_pk = pk };
	struct him *h = NULL;
	char *why = NULL;

	if (him_open(&o, &h, &why) != KITH_OK)
		fprintf(stderr, "him_open: %s\n", why);
	free(why);
	free(dir);
	return h;
}

static void make_snapshot(struct him *h, const char *id)
{
	struct him_snapshot in = { .snapshot_id = (char *)id };
	char *why = NULL;

	in.provenance = json_pack("{s:s, s:s}", "model", "test-model", "code_sha", "abc123");
	if (him_snapshot_create(h, &in, NULL, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "snapshot %s: %s", id, why);
	json_decref(in.provenance);
	free(why);
}

static struct him_tile_in tile(const char *stream, const char *snap, int level, long x, long y,
			       const void *payload, size_t n)
{
	struct him_tile_in t = {
		.stream = stream, .snapshot_id = snap, .level = level, .x = x, .y = y,
		.shape = { 1, 1, (long)n }, .dtype = "bytes", .payload = payload,
		.payload_len = n, .halo = -1,
	};
	return t;
}

static enum kith_status put1(struct him *h, const struct him_tile_in *t, char *id_out,
			     char **why)
{
	struct him_tile_meta m;
	enum kith_status rc = him_put_tiles(h, t, 1, &m, why);

	if (!rc && id_out)
		snprintf(id_out, HIM_ID_HEX + 1, "%s", m.tile_id);
	if (!rc)
		him_tile_meta_release(&m);
	return rc;
}

static bool put_ok(struct him *h, const struct him_tile_in *t, char *id_out)
{
	char *why = NULL;
	enum kith_status rc = put1(h, t, id_out, &why);

	if (rc)
		fprintf(stderr, "  put: %s\n", why);
	free(why);
	return rc == KITH_OK;
}

static enum kith_status put_status(struct him *h, const struct him_tile_in *t, char **why)
{
	return put1(h, t, NULL, why);
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t s = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		p[i] = (unsigned char)s;
	}
}

static bool read_back(struct him *h, const char *id, const void *want, size_t n)
{
	struct buf b = BUF_INIT(0);
	char *why = NULL;
	enum kith_status rc = him_get_tile_by_id(h, id, NULL, &b, &why);
	bool ok = rc == KITH_OK && b.len == n && (n == 0 || memcmp(b.data, want, n) == 0);

	if (rc)
		fprintf(stderr, "  read %s: %s\n", id, why);
	free(why);
	buf_release(&b);
	return ok;
}

static struct him_row row_of(struct him *h, const char *id)
{
	sqlite3 *db = him_db_acquire(h);
	struct him_row r;

	if (him_row_by_id(db, id, &r, NULL) != KITH_OK)
		memset(&r, 0, sizeof(r));
	him_db_release(h, db);
	return r;
}

static char *file_of(struct him *h, const char *stream, const char *snap, int level, long x,
		     long y, const char *id)
{
	char *rel = him_tile_relpath(stream, snap, level, x, y, id);
	char *path = xasprintf("%s/%s", him_dir(h), rel);

	free(rel);
	return path;
}

static void flip_byte(const char *path, long offset_from_end)
{
	FILE *f = fopen(path, "r+b");
	int c;

	REQUIRE(f != NULL);
	fseek(f, -offset_from_end, SEEK_END);
	c = fgetc(f);
	fseek(f, -offset_from_end, SEEK_END);
	fputc(c ^ 0x55, f);
	fclose(f);
}

/* ---- round trip ------------------------------------------------------------ */

static void test_put_get_golden(void)
{
	struct him *h = open_store("golden", NULL);
	struct him_tile_in t = tile("kv_cache", "snp_test", 0, 0, 0, "tile-bytes", 10);
	struct him_tile_meta m;
	struct buf b = BUF_INIT(0);
	char *why = NULL, *path;
	struct stat st;
	json_t *j;

	REQUIRE(h);
	make_snapshot(h, "snp_test");
	REQUIRE(him_put_tiles(h, &t, 1, &m, &why) == KITH_OK);
	CHECK_STR(m.tile_id, golden_id);
	CHECK_STR(m.checksum, "8abed9499c216fa4134eccbfcee024a8c073d83d787eb5cc1a2bf2c239acdca7");
	CHECK_EQ(m.size_bytes, 10);
	him_tile_meta_release(&m);

	path = xasprintf("%s/kv_cache/snp_test/0/0/0/180dff56394e", him_dir(h));
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);
	free(path);
	path = xasprintf("%s/him.db", him_dir(h));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(path);
	CHECK(stat(him_dir(h), &st) == 0 && (st.st_mode & 0777) == 0700);

	CHECK(him_get_tile(h, "kv_cache", "snp_test", 0, 0, 0, &m, &b, &why) == KITH_OK);
	CHECK_EQ(b.len, 10);
	CHECK_STR(b.data, "tile-bytes");
	CHECK_STR(m.tile_id, golden_id);
	j = him_tile_meta_json(&m);
	CHECK_STR(json_string_value(json_object_get(j, "stream")), "kv_cache");
	CHECK(json_is_null(json_object_get(j, "parent_tile_id")));
	CHECK(json_is_null(json_object_get(j, "halo")));
	CHECK_EQ(json_integer_value(json_array_get(json_object_get(j, "shape"), 2)), 10);
	CHECK_EQ(json_integer_value(json_object_get(j, "size_bytes")), 10);
	json_decref(j);
	him_tile_meta_release(&m);

	CHECK_EQ(him_get_tile(h, "kv_cache", "snp_test", 0, 0, 1, &m, &b, &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(him_get_tile(h, "..", "snp_test", 0, 0, 0, NULL, &b, &why), KITH_EINVAL);
	free(why);
	why = NULL;
	CHECK_EQ(him_get_tile_by_id(h, "../../etc/passwd", NULL, &b, &why), KITH_EINVAL);
	free(why);
	buf_release(&b);
	him_close(h);
}

static void test_warm_after_cold_read(void)
{
	struct him *h = open_store("warm", NULL);
	struct him_tile_in t = tile("emb", "s", 0, 1, 1, "vector", 6);
	struct him_cache_stats st;
	struct him_row r;
	char id[HIM_ID_HEX + 1];

	REQUIRE(h);
	make_snapshot(h, "s");
	REQUIRE(put_ok(h, &t, id));
	CHECK(read_back(h, id, "vector", 6));
	CHECK(read_back(h, id, "vector", 6));
	him_cache_stats(h->cache, &st);
	CHECK_EQ(st.misses, 1);
	CHECK_EQ(st.hits, 1);
	r = row_of(h, id);
	CHECK_EQ(r.access_count, 0);      /* notes are batched … */
	him_row_release(&r);
	him_access_flush(h);               /* … until written */
	r = row_of(h, id);
	CHECK_EQ(r.access_count, 2);
	CHECK(r.last_access_ms > 0);
	him_row_release(&r);
	him_close(h);
}

static void test_newest_at_coordinate(void)
{
	struct him *h = open_store("newest", NULL);
	struct him_tile_in a = tile("logs", "s", 0, 3, 4, "{\"v\":1}", 7);
	struct him_tile_in b = tile("logs", "s", 0, 3, 4, "{\"v\":2}", 7);
	struct buf out = BUF_INIT(0);
	int64_t before;

	REQUIRE(h);
	make_snapshot(h, "s");
	before = him_lamport_now(h);
	REQUIRE(put_ok(h, &a, NULL));
	CHECK_EQ(him_lamport_now(h), before + 1);
	REQUIRE(put_ok(h, &b, NULL));
	CHECK(him_get_tile(h, "logs", "s", 0, 3, 4, NULL, &out, NULL) == KITH_OK);
	CHECK_STR(out.data, "{\"v\":2}");
	REQUIRE(put_ok(h, &a, NULL));   /* re-ingest: no new time, b stays newest */
	CHECK(him_get_tile(h, "logs", "s", 0, 3, 4, NULL, &out, NULL) == KITH_OK);
	CHECK_STR(out.data, "{\"v\":2}");
	buf_release(&out);
	him_close(h);
}

static void test_idempotent_reingest(void)
{
	struct him *h = open_store("idem", NULL);
	struct him_tile_in t = tile("kv_cache", "snp_test", 0, 0, 0, "tile-bytes", 10);
	char id[HIM_ID_HEX + 1], *path;
	struct stat st1, st2;
	struct him_row r1, r2;
	int64_t clock_before;

	REQUIRE(h);
	make_snapshot(h, "snp_test");
	REQUIRE(put_ok(h, &t, id));
	path = file_of(h, "kv_cache", "snp_test", 0, 0, 0, id);
	REQUIRE(stat(path, &st1) == 0);
	r1 = row_of(h, id);
	clock_before = him_lamport_now(h);
	usleep(20000);
	REQUIRE(put_ok(h, &t, NULL));
	REQUIRE(stat(path, &st2) == 0);
	CHECK(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
	CHECK(st1.st_ino == st2.st_ino);
	r2 = row_of(h, id);
	CHECK_EQ(r1.seq, r2.seq);
	CHECK_EQ(r1.lamport, r2.lamport);
	CHECK_EQ(him_lamport_now(h), clock_before);

	/* the same tile twice in one batch is one tile */
	{
		struct him_tile_in two[2] = { t, t };
		struct him_tile_meta m[2];

		CHECK(him_put_tiles(h, two, 2, m, NULL) == KITH_OK);
		CHECK_STR(m[0].tile_id, m[1].tile_id);
		him_tile_meta_release(&m[0]);
		him_tile_meta_release(&m[1]);
	}
	him_row_release(&r1);
	him_row_release(&r2);
	free(path);
	him_close(h);
}

static void test_batch_atomicity(void)
{
	struct him *h = open_store("atomic", NULL);
	struct him_tile_in batch[3] = {
		tile("emb", "s", 0, 0, 0, "good", 4),
		tile("emb", "s", 0, 1, 0, "good2", 5),
		tile("emb", "s", 99, 0, 0, "bad level", 9),
	};
	struct buf b = BUF_INIT(0);
	char *why = NULL, *dir;
	struct stat st;

	REQUIRE(h);
	make_snapshot(h, "s");
	CHECK_EQ(him_put_tiles(h, batch, 3, NULL, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "tile 2");
	CHECK_CONTAINS(why, "level");
	free(why);
	why = NULL;
	CHECK_EQ(him_get_tile(h, "emb", "s", 0, 0, 0, NULL, &b, NULL), KITH_ENOTFOUND);
	dir = xasprintf("%s/emb", him_dir(h));
	CHECK(stat(dir, &st) != 0);   /* nothing was written */
	free(dir);

	/* unknown snapshots: listed, sorted; nothing stored */
	batch[1].snapshot_id = "zeta";
	batch[2] = tile("emb", "alpha", 0, 0, 0, "x", 1);
	CHECK_EQ(him_put_tiles(h, batch, 3, NULL, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "alpha, zeta");
	free(why);
	CHECK_EQ(him_get_tile(h, "emb", "s", 0, 0, 0, NULL, &b, NULL), KITH_ENOTFOUND);
	buf_release(&b);
	him_close(h);
}

static void test_validation(void)
{
	struct him *h = open_store("valid", NULL);
	static unsigned char big[16];
	struct {
		struct him_tile_in t;
		const char *why;
	} cases[] = {
		{ tile("..", "s", 0, 0, 0, "p", 1), "stream" },
		{ tile("a/b", "s", 0, 0, 0, "p", 1), "stream" },
		{ tile("logs", "../s", 0, 0, 0, "p", 1), "snapshot_id" },
		{ tile("a|b", "s", 0, 0, 0, "p", 1), "stream" },
		{ tile(".hidden", "s", 0, 0, 0, "p", 1), "stream" },
		{ tile("emb", "s", -1, 0, 0, "p", 1), "level" },
		{ tile("emb", "s", 32, 0, 0, "p", 1), "level" },
		{ tile("emb", "s", 0, -1, 0, "p", 1), "x and y" },
		{ tile("emb", "s", 0, 0, -5, "p", 1), "x and y" },
	};
	char *why = NULL;
	struct him_tile_in t;

	REQUIRE(h);
	make_snapshot(h, "s");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(put_status(h, &cases[i].t, &why), KITH_EINVAL);
		CHECK_CONTAINS(why, cases[i].why);
		free(why);
		why = NULL;
	}
	t = tile("emb", "s", 0, 0, 0, "p", 1);
	t.halo = 5;
	CHECK_EQ(put_status(h, &t, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "halo");
	free(why);
	why = NULL;
	t.halo = 16;
	t.shape[0] = -1;
	CHECK_EQ(put_status(h, &t, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "shape");
	free(why);
	why = NULL;
	t.shape[0] = 544;          /* 512 + 2 × halo */
	CHECK(put_ok(h, &t, NULL));
	t.shape[0] = 545;
	CHECK_EQ(put_status(h, &t, NULL), KITH_EINVAL);
	t = tile("emb", "s", 0, 0, 0, "p", 1);
	t.shape[1] = 513;          /* no halo: 512 */
	CHECK_EQ(put_status(h, &t, NULL), KITH_EINVAL);
	t = tile("emb", "s", 0, 0, 0, "p", 1);
	t.dtype = "";
	CHECK_EQ(put_status(h, &t, NULL), KITH_EINVAL);
	t.dtype = "a-very-long-dtype-name-over-32-chars";
	CHECK_EQ(put_status(h, &t, NULL), KITH_EINVAL);
	t.dtype = "fp16";
	t.parent_tile_id = "not-an-id";
	CHECK_EQ(put_status(h, &t, NULL), KITH_EINVAL);
	t.parent_tile_id = NULL;
	t.payload = big;
	t.payload_len = (size_t)HIM_MAX_PAYLOAD + 1;   /* checked before reading */
	CHECK_EQ(put_status(h, &t, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "payload");
	free(why);
	him_close(h);
}

static void test_kv_cache_sizes(void)
{
	struct him *h = open_store("kv", NULL);
	static unsigned char p[8192];
	struct {
		const char *dtype;
		long shape[3];
		size_t len;
		bool ok;
	} cases[] = {
		{ "fp16", { 2, 2, 3 }, 24, true },  { "fp16", { 2, 2, 3 }, 23, false },
		{ "bf16", { 4, 4, 4 }, 128, true }, { "fp32", { 1, 2, 3 }, 24, true },
		{ "fp32", { 1, 2, 3 }, 12, false },
		{ "int8", { 2, 2, 3 }, 12 + 12, true },   /* + 3 float32 scales */
		{ "int8", { 2, 2, 3 }, 12, false },       /* scales missing */
		{ "fp8", { 8, 8, 16 }, 1024 + 64, true }, { "fp8", { 8, 8, 16 }, 1024, false },
		{ "fp16", { 600, 1, 1 }, 1200, false },   /* wider than a tile */
		{ "custom", { 1, 1, 1 }, 77, true },      /* unknown dtype: not sized */
	};

	REQUIRE(h);
	make_snapshot(h, "s");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct him_tile_in t = tile("kv_cache", "s", 0, (long)i, 0, p, cases[i].len);
		char *why = NULL;
		enum kith_status rc;

		p[0] = (unsigned char)i;
		t.dtype = cases[i].dtype;
		memcpy(t.shape, cases[i].shape, sizeof(t.shape));
		rc = put_status(h, &t, &why);
		if (cases[i].ok != (rc == KITH_OK))
			test_fail_(__FILE__, __LINE__, "case %zu (%s): %s", i, cases[i].dtype,
				   why ? why : "accepted");
		free(why);
	}
	him_close(h);
}

static void test_logs_json_lines(void)
{
	struct him *h = open_store("logs", NULL);
	static const char *const good[] = {
		"{\"a\":1}\n{\"b\":2}\n", "\n\n{\"a\":1}\r\n  \n", "{\"x\":\"y\"}", "",
	};
	static const char *const bad[] = {
		"{\"a\":1}\nnot json\n", "[1,2]\n", "{\"a\":1} {\"b\":2}", "\"str\"", "{\"a\":",
	};
	char *why = NULL;

	REQUIRE(h);
	make_snapshot(h, "s");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct him_tile_in t = tile(i % 2 ? "audit" : "logs", "s", 0, (long)i, 0, good[i],
					    strlen(good[i]));

		CHECK(put_ok(h, &t, NULL));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct him_tile_in t = tile(i % 2 ? "audit" : "logs", "s", 0, 10 + (long)i, 0, bad[i],
					    strlen(bad[i]));

		CHECK_EQ(put_status(h, &t, &why), KITH_EINVAL);
		if (i == 0)
			CHECK_CONTAINS(why, "line 2");
		free(why);
		why = NULL;
	}
	him_close(h);
}

static void test_skills_signatures(void)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES], other_pk[crypto_sign_PUBLICKEYBYTES],
		other_sk[crypto_sign_SECRETKEYBYTES];
	const char *skill = "{\"name\":\"ocr\",\"version\":\"1.2.3\"}";
	struct him *h;
	struct him_tile_in t;
	struct him_row r;
	char *why = NULL, id[HIM_ID_HEX + 1];

	REQUIRE(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(other_pk, other_sk);
	h = open_store("skills", pk);
	REQUIRE(h);
	make_snapshot(h, "s");
	t = tile("skills", "s", 0, 0, 0, skill, strlen(skill));
	t.dtype = "json";
	CHECK_EQ(put_status(h, &t, &why), KITH_EINVAL);   /* unsigned */
	CHECK_CONTAINS(why, "signed");
	free(why);
	why = NULL;
	crypto_sign_detached(sig, NULL, (const unsigned char *)skill, strlen(skill), other_sk);
	t.signature = sig;                                 /* wrong key */
	CHECK_EQ(put_status(h, &t, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "signature");
	free(why);
	crypto_sign_detached(sig, NULL, (const unsigned char *)skill, strlen(skill), sk);
	sig[5] ^= 1;                                       /* tampered */
	CHECK_EQ(put_status(h, &t, NULL), KITH_EINVAL);
	sig[5] ^= 1;
	CHECK(put_ok(h, &t, id));                          /* good */
	r = row_of(h, id);                                 /* kept for merges */
	CHECK(r.has_signature && memcmp(r.signature, sig, sizeof(sig)) == 0);
	him_row_release(&r);
	t = tile("emb", "s", 0, 0, 0, "no sig needed", 13);
	CHECK(put_ok(h, &t, NULL));
	him_close(h);

	h = open_store("skills-nokey", NULL);              /* no key: not checked */
	REQUIRE(h);
	make_snapshot(h, "s");
	t = tile("skills", "s", 0, 0, 0, skill, strlen(skill));
	CHECK(put_ok(h, &t, NULL));
	him_close(h);
}

/* ---- corruption ----------------------------------------------------------- */

static void test_corrupt_file_never_served(void)
{
	struct him *h = open_store("corrupt", NULL);
	unsigned char payload[4096];
	struct him_tile_in t;
	struct buf b = BUF_INIT(0);
	char id[HIM_ID_HEX + 1], *why = NULL, *path;

	REQUIRE(h);
	make_snapshot(h, "s");
	fill_random(payload, sizeof(payload), 7);
	t = tile("emb", "s", 1, 2, 3, payload, sizeof(payload));
	REQUIRE(put_ok(h, &t, id));
	path = file_of(h, "emb", "s", 1, 2, 3, id);

	flip_byte(path, 100);
	CHECK_EQ(him_get_tile(h, "emb", "s", 1, 2, 3, NULL, &b, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "is corrupt");
	CHECK_CONTAINS(why, id);
	CHECK_EQ(b.len, 0);
	free(why);
	why = NULL;

	/* a re-ingest repairs it */
	REQUIRE(put_ok(h, &t, NULL));
	CHECK(read_back(h, id, payload, sizeof(payload)));

	/* missing and truncated files */
	him_close(h);
	h = open_store("corrupt", NULL);   /* cold cache */
	REQUIRE(h);
	CHECK(unlink(path) == 0);
	CHECK_EQ(him_get_tile_by_id(h, id, NULL, &b, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "file missing");
	free(why);
	why = NULL;
	REQUIRE(put_ok(h, &t, NULL));
	REQUIRE(truncate(path, 50) == 0);
	him_close(h);
	h = open_store("corrupt", NULL);
	REQUIRE(h);
	CHECK_EQ(him_get_tile_by_id(h, id, NULL, &b, &why), KITH_EPROTO);
	free(why);
	CHECK_EQ(b.len, 0);
	buf_release(&b);
	free(path);
	him_close(h);
}

/* ---- deltas ----------------------------------------------------------------- */

#define DELTA_N (64 * 1024)

static void test_delta_round_trip(void)
{
	struct him *h = open_store("delta", NULL);
	unsigned char *parent = xmalloc(DELTA_N), *child = xmalloc(DELTA_N);
	char pid[HIM_ID_HEX + 1], cid[HIM_ID_HEX + 1];
	struct him_tile_in t;
	struct him_row r;

	REQUIRE(h);
	make_snapshot(h, "s");
	fill_random(parent, DELTA_N, 1);
	memcpy(child, parent, DELTA_N);
	for (int i = 0; i < 10; i++)
		child[i * 5000] ^= 0xff;
	t = tile("emb", "s", 0, 0, 0, parent, DELTA_N);
	REQUIRE(put_ok(h, &t, pid));
	t = tile("emb", "s", 0, 0, 1, child, DELTA_N);
	t.parent_tile_id = pid;
	REQUIRE(put_ok(h, &t, cid));
	r = row_of(h, cid);
	CHECK_EQ(r.encoding, HIM_ENC_DELTA);
	CHECK_EQ(r.depth, 1);
	CHECK(r.stored_bytes < 1024);
	CHECK_STR(r.meta.parent_tile_id, pid);
	him_row_release(&r);
	r = row_of(h, pid);
	CHECK_EQ(r.encoding, HIM_ENC_FULL);
	CHECK(r.stored_bytes > DELTA_N);   /* random bytes do not compress */
	him_row_release(&r);
	CHECK(read_back(h, cid, child, DELTA_N));
	him_close(h);

	h = open_store("delta", NULL);     /* cold: decoded from the files */
	REQUIRE(h);
	CHECK(read_back(h, cid, child, DELTA_N));
	CHECK(read_back(h, pid, parent, DELTA_N));
	him_close(h);
	free(parent);
	free(child);
}

/* A parent far larger than zstd's default window: the delta frame must
 * still reach back over all of it. */
static void test_delta_large_parent(void)
{
	struct him *h = open_store("bigdelta", NULL);
	size_t n = 6u << 20;
	unsigned char *parent = xmalloc(n), *child = xmalloc(n);
	char pid[HIM_ID_HEX + 1], cid[HIM_ID_HEX + 1];
	struct him_tile_in t;
	struct him_row r;

	REQUIRE(h);
	make_snapshot(h, "s");
	fill_random(parent, n, 5);
	memcpy(child, parent, n);
	child[n - 1] ^= 1;
	child[17] ^= 1;
	t = tile("blobs", "s", 0, 0, 0, parent, n);
	REQUIRE(put_ok(h, &t, pid));
	t = tile("blobs", "s", 0, 1, 0, child, n);
	t.parent_tile_id = pid;
	REQUIRE(put_ok(h, &t, cid));
	r = row_of(h, cid);
	CHECK_EQ(r.encoding, HIM_ENC_DELTA);
	CHECK(r.stored_bytes < 4096);
	him_row_release(&r);
	him_close(h);
	h = open_store("bigdelta", NULL);
	REQUIRE(h);
	CHECK(read_back(h, cid, child, n));
	him_close(h);
	free(parent);
	free(child);
}

static void test_delta_depth_and_batch(void)
{
	struct him *h = open_store("chain", NULL);
	unsigned char *p[7];
	char ids[7][HIM_ID_HEX + 1];
	struct him_tile_in batch[7];
	struct him_tile_meta m[7];
	static const int want_depth[7] = { 0, 1, 2, 3, 4, 0, 1 };

	REQUIRE(h);
	make_snapshot(h, "s");
	for (int i = 0; i < 7; i++) {
		p[i] = xmalloc(DELTA_N);
		if (i == 0)
			fill_random(p[0], DELTA_N, 3);
		else
			memcpy(p[i], p[i - 1], DELTA_N);
		p[i][i * 100] ^= 0x5a;
	}
	/* the first three one by one, the rest as one batch whose parents
	 * are earlier tiles of the same batch */
	for (int i = 0; i < 3; i++) {
		struct him_tile_in t = tile("emb", "s", 0, i, 0, p[i], DELTA_N);

		t.parent_tile_id = i ? ids[i - 1] : NULL;
		REQUIRE(put_ok(h, &t, ids[i]));
	}
	for (int i = 3; i < 7; i++) {
		batch[i] = tile("emb", "s", 0, i, 0, p[i], DELTA_N);
		him_tile_id("emb", "s", 0, i, 0, p[i], DELTA_N, ids[i]);
		batch[i].parent_tile_id = ids[i - 1];
	}
	REQUIRE(him_put_tiles(h, batch + 3, 4, m + 3, NULL) == KITH_OK);
	for (int i = 0; i < 7; i++) {
		struct him_row r = row_of(h, ids[i]);

		if (r.depth != want_depth[i])
			test_fail_(__FILE__, __LINE__, "tile %d depth %d, want %d", i, r.depth,
				   want_depth[i]);
		CHECK_EQ(r.encoding, want_depth[i] ? HIM_ENC_DELTA : HIM_ENC_FULL);
		him_row_release(&r);
		if (i >= 3)
			him_tile_meta_release(&m[i]);
	}
	him_close(h);
	h = open_store("chain", NULL);
	REQUIRE(h);
	for (int i = 6; i >= 0; i--)
		CHECK(read_back(h, ids[i], p[i], DELTA_N));
	for (int i = 0; i < 7; i++)
		free(p[i]);
	him_close(h);
}

static void test_delta_promotion(void)
{
	struct him *h = open_store("promote", NULL);
	unsigned char *a = xmalloc(DELTA_N), *b = xmalloc(DELTA_N);
	char aid[HIM_ID_HEX + 1], bid[HIM_ID_HEX + 1];
	struct him_tile_in t;
	struct him_row r;

	REQUIRE(h);
	make_snapshot(h, "s");
	fill_random(a, DELTA_N, 11);
	fill_random(b, DELTA_N, 12);       /* nothing in common */
	t = tile("emb", "s", 0, 0, 0, a, DELTA_N);
	REQUIRE(put_ok(h, &t, aid));
	t = tile("emb", "s", 0, 1, 0, b, DELTA_N);
	t.parent_tile_id = aid;
	REQUIRE(put_ok(h, &t, bid));
	r = row_of(h, bid);
	CHECK_EQ(r.encoding, HIM_ENC_FULL);
	CHECK_EQ(r.depth, 0);
	CHECK_STR(r.meta.parent_tile_id, aid);   /* metadata keeps the lineage */
	him_row_release(&r);
	CHECK(read_back(h, bid, b, DELTA_N));

	/* a parent that is not catalogued: stored full */
	t = tile("emb", "s", 0, 2, 0, a, 100);
	t.parent_tile_id = "0000000000000000000000000000000000000000000000000000000000000000";
	REQUIRE(put_ok(h, &t, bid));
	r = row_of(h, bid);
	CHECK_EQ(r.encoding, HIM_ENC_FULL);
	him_row_release(&r);
	free(a);
	free(b);
	him_close(h);
}

/* ---- concurrency and reopening ----------------------------------------------- */

struct worker {
	struct him *h;
	int id;
	int failures;
};

#define ROUNDS 12

static void *ingest_and_read(void *arg)
{
	struct worker *w = arg;
	struct buf b = BUF_INIT(0);

	for (int r = 0; r < ROUNDS; r++) {
		char payload[4][64];
		struct him_tile_in batch[4];

		for (int k = 0; k < 4; k++) {
			snprintf(payload[k], sizeof(payload[k]), "{\"w\":%d,\"r\":%d,\"k\":%d}", w->id, r, k);
			batch[k] = tile("logs", "conc", 0, w->id * 1000 + r, k, payload[k],
					strlen(payload[k]));
		}
		if (him_put_tiles(w->h, batch, 4, NULL, NULL) != KITH_OK)
			w->failures++;
		for (int k = 0; k < 4; k++)
			if (him_get_tile(w->h, "logs", "conc", 0, w->id * 1000 + r, k, NULL, &b,
					 NULL) != KITH_OK || strcmp(b.data, payload[k]) != 0)
				w->failures++;
		/* and someone else's tiles, if they are there yet */
		if (him_get_tile(w->h, "logs", "conc", 0, ((w->id + 1) % 4) * 1000, 0, NULL, &b,
				 NULL) == KITH_EPROTO)
			w->failures++;
	}
	buf_release(&b);
	return NULL;
}

static void test_concurrent_ingest(void)
{
	struct him *h = open_store("conc", NULL);
	struct worker w[4];
	pthread_t t[4];
	sqlite3 *db;
	struct him_row *rows = NULL;
	size_t n = 0;
	size_t problems = 99;

	REQUIRE(h);
	make_snapshot(h, "conc");
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .h = h, .id = i };
		pthread_create(&t[i], NULL, ingest_and_read, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].failures, 0);
	}
	db = him_db_acquire(h);
	CHECK(him_rows_for(db, "conc", "logs", HIM_MAX_LEVEL, 0, 0, &rows, &n, NULL) == KITH_OK);
	CHECK_EQ(n, 4 * ROUNDS * 4);
	him_rows_free(rows, n);
	him_db_release(h, db);
	CHECK(him_fsck(h, NULL, NULL, &problems, NULL) == KITH_OK);
	CHECK_EQ(problems, 0);
	him_close(h);
}

static void test_reopen_reads_everything(void)
{
	struct him *h = open_store("reopen", NULL);
	char ids[20][HIM_ID_HEX + 1], payload[20][32];
	int64_t clock_before;

	REQUIRE(h);
	make_snapshot(h, "s");
	for (int i = 0; i < 20; i++) {
		struct him_tile_in t;

		snprintf(payload[i], sizeof(payload[i]), "payload number %d", i);
		t = tile("emb", "s", i % 3, i, i * 2, payload[i], strlen(payload[i]));
		t.parent_tile_id = i ? ids[i - 1] : NULL;
		REQUIRE(put_ok(h, &t, ids[i]));
	}
	clock_before = him_lamport_now(h);
	him_close(h);
	h = open_store("reopen", NULL);
	REQUIRE(h);
	CHECK_EQ(him_lamport_now(h), clock_before);
	for (int i = 0; i < 20; i++)
		CHECK(read_back(h, ids[i], payload[i], strlen(payload[i])));
	him_close(h);
}

/* ---- snapshots ------------------------------------------------------------- */

static void test_snapshots(void)
{
	struct him *h = open_store("snaps", NULL);
	struct him_snapshot in = { .snapshot_id = "snp_b" }, got, *list = NULL;
	char *parents[] = { "snp_a" }, *bad_parents[] = { "nope" };
	char *why = NULL, *text;
	size_t n = 0;
	json_t *j;

	REQUIRE(h);
	make_snapshot(h, "snp_a");
	in.parents = parents;
	in.nparents = 1;
	in.tags = json_pack("{s:s}", "task_id", "TX-423");
	in.provenance = json_pack("{s:s, s:s, s:I}", "model", "m", "code_sha", "f2ab", "seed",
				  (json_int_t)133742);
	in.merge_policy = "manual";
	CHECK(him_snapshot_create(h, &in, &got, &why) == KITH_OK);
	CHECK_STR(got.snapshot_id, "snp_b");
	him_snapshot_release(&got);
	CHECK_EQ(him_snapshot_create(h, &in, NULL, &why), KITH_EEXIST);
	free(why);
	why = NULL;

	CHECK(him_snapshot_get(h, "snp_b", &got, NULL) == KITH_OK);
	j = him_snapshot_json(&got);
	text = kjson_dump(j, true);
	CHECK_CONTAINS(text, "\"parents\":[\"snp_a\"]");
	CHECK_CONTAINS(text, "\"merge_policy\":\"manual\"");
	CHECK_CONTAINS(text, "\"tags\":{\"task_id\":\"TX-423\"}");
	CHECK_CONTAINS(text, "\"cuda\":null");
	CHECK_CONTAINS(text, "\"seed\":133742");
	CHECK(strlen(json_string_value(json_object_get(j, "created_at"))) == 20);
	CHECK(json_string_value(json_object_get(j, "created_at"))[19] == 'Z');
	free(text);
	json_decref(j);
	him_snapshot_release(&got);

	CHECK(him_snapshot_list(h, 0, &list, &n, NULL) == KITH_OK);
	CHECK_EQ(n, 2);
	if (n == 2)
		CHECK_STR(list[0].snapshot_id, "snp_b");   /* newest first */
	him_snapshots_free(list, n);
	CHECK(him_snapshot_list(h, 1, &list, &n, NULL) == KITH_OK);
	CHECK_EQ(n, 1);
	him_snapshots_free(list, n);

	CHECK_EQ(him_snapshot_get(h, "missing", &got, NULL), KITH_ENOTFOUND);
	CHECK_EQ(him_snapshot_get(h, "../x", &got, NULL), KITH_EINVAL);

	in.snapshot_id = "snp_c";
	in.parents = bad_parents;
	CHECK_EQ(him_snapshot_create(h, &in, NULL, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "nope");
	free(why);
	why = NULL;
	in.nparents = 0;
	in.merge_policy = "crdt";
	CHECK_EQ(him_snapshot_create(h, &in, NULL, NULL), KITH_EINVAL);
	in.merge_policy = NULL;
	json_object_del(in.provenance, "code_sha");
	CHECK_EQ(him_snapshot_create(h, &in, NULL, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "code_sha");
	free(why);
	json_object_set_new(in.provenance, "code_sha", json_string("x"));
	json_object_set_new(in.tags, "n", json_integer(1));
	CHECK_EQ(him_snapshot_create(h, &in, NULL, NULL), KITH_EINVAL);
	json_object_del(in.tags, "n");
	in.snapshot_id = "a/b";
	CHECK_EQ(him_snapshot_create(h, &in, NULL, NULL), KITH_EINVAL);
	in.snapshot_id = "snp_c";
	CHECK(him_snapshot_create(h, &in, NULL, NULL) == KITH_OK);
	json_decref(in.tags);
	json_decref(in.provenance);
	him_close(h);
}

/* ---- catalogue helpers: keyword search, traces, hints ------------------------ */

struct hits {
	int n;
	double best;
	char best_id[HIM_ID_HEX + 1];
};

static void on_hit(const char *id, double score, void *ud)
{
	struct hits *hs = ud;

	CHECK(score > 0 && score <= 1);
	if (score > hs->best) {
		hs->best = score;
		snprintf(hs->best_id, sizeof(hs->best_id), "%s", id);
	}
	hs->n++;
}

static void test_text_search(void)
{
	struct him *h = open_store("fts", NULL);
	const char *log = "{\"msg\":\"the submit button was clicked\"}\n";
	struct him_tile_in t[3] = {
		tile("logs", "s", 0, 0, 0, log, strlen(log)),
		tile("emb", "s", 0, 1, 0, "\x01\x02", 2),
		tile("notes", "s", 0, 2, 0, "plain words about cats", 22),
	};
	char ids[3][HIM_ID_HEX + 1];
	static const char *const hostile[] = {
		"\"", "a\" OR \"b", "NEAR(", "*", "col:x", "^", "AND", ") OR (", "x'; DROP TABLE tiles; --",
		"\xff\xfe", "", "\xe2\x80\x94", "a\xe2\x80\x94" "b \xe2\x80\x9c" "q\xe2\x80\x9d",
		"\xef\xbc\x82\xef\xbc\x8a",
	};
	struct hits hs = { 0 };
	sqlite3 *db;

	REQUIRE(h);
	make_snapshot(h, "s");
	t[1].tags = "Submit button region";
	t[2].dtype = "text/plain";
	for (int i = 0; i < 3; i++)
		REQUIRE(put_ok(h, &t[i], ids[i]));
	db = him_db_acquire(h);
	CHECK(him_text_scores(db, "s", NULL, "click the submit button", on_hit, &hs, NULL) == KITH_OK);
	CHECK_EQ(hs.n, 2);
	CHECK(hs.best == 1.0);
	memset(&hs, 0, sizeof(hs));
	CHECK(him_text_scores(db, "s", "notes", "CATS", on_hit, &hs, NULL) == KITH_OK);
	CHECK_EQ(hs.n, 1);
	CHECK_STR(hs.best_id, ids[2]);
	memset(&hs, 0, sizeof(hs));
	CHECK(him_text_scores(db, "other", NULL, "cats", on_hit, &hs, NULL) == KITH_OK);
	CHECK_EQ(hs.n, 0);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *why = NULL;

		if (him_text_scores(db, "s", NULL, hostile[i], on_hit, &hs, &why) != KITH_OK)
			test_fail_(__FILE__, __LINE__, "goal '%s': %s", hostile[i], why);
		free(why);
	}
	him_db_release(h, db);
	him_close(h);
}

static void test_traces_and_hints(void)
{
	struct him *h = open_store("traces", NULL);
	struct him_trace tr = {
		.trace_id = "tr_1", .snapshot_id = "s", .planner_version = "p1",
		.request = "{}", .inputs = "{\"a\":1}", .plan = (unsigned char *)"{\"plan\":1}",
		.plan_len = 10,
	}, got;
	const long boxes[2][4] = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } };
	struct him_hint hints[2] = {
		{ .query_id = "q1", .snapshot_id = "s", .stream = "kv_cache", .level_max = 2,
		  .level_min = 0, .bboxes = boxes, .nbboxes = 2, .confidence = 0.8 },
		{ .query_id = "q2", .snapshot_id = "s", .stream = "kv_cache", .level_max = 5,
		  .level_min = 4, .bboxes = boxes, .nbboxes = 1, .confidence = 0.5 },
	};
	struct him_hint_row *rows = NULL;
	size_t n = 0;
	sqlite3 *db;

	REQUIRE(h);
	db = him_db_acquire(h);
	CHECK(him_trace_put(db, &tr, NULL) == KITH_OK);
	CHECK_EQ(him_trace_put(db, &tr, NULL), KITH_EEXIST);
	CHECK(him_trace_get(db, "tr_1", &got, NULL) == KITH_OK);
	CHECK_EQ(got.plan_len, 10);
	CHECK(got.plan && memcmp(got.plan, "{\"plan\":1}", 10) == 0);
	CHECK_STR(got.inputs, "{\"a\":1}");
	CHECK(got.created_at_ms > 0);
	him_trace_release(&got);
	CHECK_EQ(him_trace_get(db, "tr_2", &got, NULL), KITH_ENOTFOUND);

	CHECK(him_hints_add(db, hints, 2, NULL) == KITH_OK);
	CHECK(him_hints_recent(db, "s", "kv_cache", 2, 0, 0, &rows, &n, NULL) == KITH_OK);
	CHECK_EQ(n, 1);
	if (n == 1) {
		CHECK_STR(rows[0].query_id, "q1");
		CHECK_EQ(rows[0].nbboxes, 2);
		CHECK_EQ(rows[0].bboxes[1][3], 8);
		CHECK(rows[0].confidence == 0.8);
	}
	him_hint_rows_free(rows, n);
	CHECK(him_hints_recent(db, "s", "kv_cache", 9, 0, 0, &rows, &n, NULL) == KITH_OK);
	CHECK_EQ(n, 2);
	if (n == 2)
		CHECK_STR(rows[0].query_id, "q2");   /* newest first */
	him_hint_rows_free(rows, n);
	him_db_release(h, db);
	him_close(h);
}

int main(void)
{
	RUN(test_put_get_golden);
	RUN(test_warm_after_cold_read);
	RUN(test_newest_at_coordinate);
	RUN(test_idempotent_reingest);
	RUN(test_batch_atomicity);
	RUN(test_validation);
	RUN(test_kv_cache_sizes);
	RUN(test_logs_json_lines);
	RUN(test_skills_signatures);
	RUN(test_corrupt_file_never_served);
	RUN(test_delta_round_trip);
	RUN(test_delta_large_parent);
	RUN(test_delta_depth_and_batch);
	RUN(test_delta_promotion);
	RUN(test_concurrent_ingest);
	RUN(test_reopen_reads_everything);
	RUN(test_snapshots);
	RUN(test_text_search);
	RUN(test_traces_and_hints);
	return test_summary();
}
