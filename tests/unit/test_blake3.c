/* test_blake3.c — the BLAKE3 implementation against three independent
 * references: the official test vectors (every mode, extended output),
 * Debian's b3sum on random inputs, and the golden HIM ids.  Incremental
 * feeding in random splits must match one-shot hashing. */
#include "support/test.h"
#include "support/proc.h"
#include "core/alloc.h"
#include "him/blake3.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VECTOR_OUT_LEN 131   /* the extended output length in the vectors file */

/* Deterministic xorshift64*: reproducible "random" lengths, splits, bytes. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t rng_below(size_t n)
{
	return n ? (size_t)(rng_next() % n) : 0;
}

static uint8_t *pattern_input(size_t len)
{
	uint8_t *p = xmalloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i % 251);
	return p;
}

static uint8_t *random_input(size_t len)
{
	uint8_t *p = xmalloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(rng_next() >> 56);
	return p;
}

enum mode { MODE_HASH, MODE_KEYED, MODE_DERIVE };

static const char *const mode_names[] = { "hash", "keyed_hash", "derive_key" };

static const uint8_t test_key[BLAKE3_KEY_LEN + 1] = "whats the Elvish word for friend";
static const char test_context[] = "BLAKE3 2019-12-27 16:29:52 test vectors context";

static void init_mode(struct blake3 *h, enum mode m, const uint8_t *key, const char *context)
{
	switch (m) {
	case MODE_HASH:
		blake3_init(h);
		break;
	case MODE_KEYED:
		blake3_init_keyed(h, key);
		break;
	case MODE_DERIVE:
		blake3_init_derive_key(h, context);
		break;
	}
}

static void oneshot(enum mode m, const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	struct blake3 h;

	init_mode(&h, m, test_key, test_context);
	blake3_update(&h, in, len);
	blake3_finalize(&h, out, out_len);
}

/* ---- 1. official test vectors ------------------------------------------- */

static char *vectors_path(void)
{
	const char *dir = getenv("KITH_TEST_DATA");

	return xasprintf("%s/blake3-test-vectors.json", dir && *dir ? dir : "tests/data");
}

static void check_vector_case(const uint8_t *key, const char *context, size_t len,
			      enum mode m, const char *want_hex)
{
	static const size_t prefixes[] = { BLAKE3_OUT_LEN, 1, 63, 64, 65, 100 };
	uint8_t *in = pattern_input(len);
	uint8_t out[VECTOR_OUT_LEN];
	char hex[2 * VECTOR_OUT_LEN + 1];
	struct blake3 h;

	if (strlen(want_hex) != 2 * VECTOR_OUT_LEN) {
		test_fail_(__FILE__, __LINE__, "len %zu %s: expected hex of %d bytes", len,
			   mode_names[m], VECTOR_OUT_LEN);
		free(in);
		return;
	}
	init_mode(&h, m, key, context);
	blake3_update(&h, in, len);

	/* The full extended output. */
	blake3_finalize(&h, out, sizeof(out));
	blake3_to_hex(out, sizeof(out), hex);
	if (strcmp(hex, want_hex) != 0)
		test_fail_(__FILE__, __LINE__, "len %zu %s (131 bytes):\n  got  %s\n  want %s",
			   len, mode_names[m], hex, want_hex);

	/* Shorter outputs are prefixes: the default 32 bytes, and lengths around
	 * the 64-byte XOF block edge.  finalize must not have changed the state. */
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = prefixes[i];

		memset(out, 0, sizeof(out));
		blake3_finalize(&h, out, n);
		blake3_to_hex(out, n, hex);
		if (strncmp(hex, want_hex, 2 * n) != 0)
			test_fail_(__FILE__, __LINE__, "len %zu %s (%zu-byte prefix):\n  got  %s",
				   len, mode_names[m], n, hex);
	}
	free(in);
}

static void test_official_vectors(void)
{
	char *path = vectors_path();
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);
	json_t *cases, *c;
	const char *key, *context;
	size_t i;

	if (!root)
		test_fail_(__FILE__, __LINE__, "cannot load %s: %s (line %d)", path, err.text,
			   err.line);
	free(path);
	REQUIRE(root);
	key = json_string_value(json_object_get(root, "key"));
	context = json_string_value(json_object_get(root, "context_string"));
	cases = json_object_get(root, "cases");
	REQUIRE(key && strlen(key) == BLAKE3_KEY_LEN && context);
	REQUIRE(json_is_array(cases) && json_array_size(cases) >= 30);

	json_array_foreach(cases, i, c) {
		json_t *jlen = json_object_get(c, "input_len");
		const char *want[3] = {
			json_string_value(json_object_get(c, "hash")),
			json_string_value(json_object_get(c, "keyed_hash")),
			json_string_value(json_object_get(c, "derive_key")),
		};

		if (!json_is_integer(jlen) || !want[0] || !want[1] || !want[2]) {
			test_fail_(__FILE__, __LINE__, "case %zu is malformed", i);
			continue;
		}
		for (int m = MODE_HASH; m <= MODE_DERIVE; m++)
			check_vector_case((const uint8_t *)key, context,
					  (size_t)json_integer_value(jlen), (enum mode)m, want[m]);
	}
	json_decref(root);
}

/* ---- 2. incremental feeding ---------------------------------------------- */

/* A split size: mostly small and ragged (crossing block and chunk edges at
 * odd offsets), sometimes zero, sometimes several chunks at once. */
static size_t random_split(void)
{
	switch (rng_below(8)) {
	case 0:
		return 0;
	case 1:
		return 1 + rng_below(8);
	case 2:
		return BLAKE3_BLOCK_LEN + rng_below(3) - 1;
	case 3:
		return BLAKE3_CHUNK_LEN + rng_below(3) - 1;
	case 4:
		return rng_below(6 * BLAKE3_CHUNK_LEN);
	default:
		return rng_below(300);
	}
}

static void test_incremental_equals_oneshot(void)
{
	static const size_t fixed[] = { 0, 1, 64, 65, 1024, 1025, 2048, 3073, 8193, 65536 };

	for (int t = 0; t < 60; t++) {
		size_t len = t < 10 ? fixed[t] : rng_below(200 * 1024);
		uint8_t *in = random_input(len);

		for (int m = MODE_HASH; m <= MODE_DERIVE; m++) {
			uint8_t want[VECTOR_OUT_LEN], got[VECTOR_OUT_LEN], mid[BLAKE3_OUT_LEN];
			struct blake3 h;
			size_t off = 0;

			oneshot((enum mode)m, in, len, want, sizeof(want));
			init_mode(&h, (enum mode)m, test_key, test_context);
			while (off < len) {
				size_t n = random_split();

				if (n > len - off)
					n = len - off;
				blake3_update(&h, in + off, n);
				off += n;
				/* Finalising midway must not disturb the state. */
				if (rng_below(16) == 0)
					blake3_finalize(&h, mid, sizeof(mid));
			}
			blake3_finalize(&h, got, sizeof(got));
			if (memcmp(got, want, sizeof(want)) != 0)
				test_fail_(__FILE__, __LINE__, "len %zu %s: split feeding differs",
					   len, mode_names[m]);
		}
		free(in);
	}
}

static void test_byte_at_a_time(void)
{
	size_t len = 3 * BLAKE3_CHUNK_LEN + 17;
	uint8_t *in = random_input(len);
	uint8_t want[BLAKE3_OUT_LEN], got[BLAKE3_OUT_LEN];
	struct blake3 h;

	oneshot(MODE_HASH, in, len, want, sizeof(want));
	blake3_init(&h);
	for (size_t i = 0; i < len; i++)
		blake3_update(&h, in + i, 1);
	blake3_finalize(&h, got, sizeof(got));
	CHECK(memcmp(got, want, sizeof(want)) == 0);
	free(in);
}

/* ---- 3. agreement with b3sum ------------------------------------------------ */

/* b3sum's path: the first on $PATH, else /usr/bin/b3sum; NULL when absent.
 * Caller frees. */
static char *find_b3sum(void)
{
	const char *path = getenv("PATH");
	char *dirs = xstrdup(path && *path ? path : "/usr/bin:/bin");
	char *found = NULL;

	for (char *dir = dirs, *next; dir && !found; dir = next) {
		char *cand;

		next = strchr(dir, ':');
		if (next)
			*next++ = '\0';
		cand = xasprintf("%s/b3sum", *dir ? dir : ".");
		if (access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(dirs);
	if (!found && access("/usr/bin/b3sum", X_OK) == 0)
		found = xstrdup("/usr/bin/b3sum");
	return found;
}

static char *b3sum_bin;

static bool write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* Run b3sum with extra arguments on `file`; returns its stdout without the
 * trailing newline (caller frees), or NULL after recording a failure. */
static char *run_b3sum(const char *file, const char *a1, const char *a2, const char *stdin_text)
{
	const char *argv[6];
	struct proc_opts o = { 0 };
	struct proc_result r;
	char *out = NULL;
	int n = 0;

	argv[n++] = b3sum_bin;
	argv[n++] = "--no-names";
	if (a1)
		argv[n++] = a1;
	if (a2)
		argv[n++] = a2;
	argv[n++] = file;
	argv[n] = NULL;
	o.argv = argv;
	o.stdin_text = stdin_text;
	o.timeout_ms = 10000;
	if (proc_run(&o, &r) != 0) {
		test_fail_(__FILE__, __LINE__, "could not start %s", b3sum_bin);
		return NULL;
	}
	if (r.exit_code != 0 || r.timed_out) {
		test_fail_(__FILE__, __LINE__, "%s exited %d: %s", b3sum_bin, r.exit_code, r.err);
	} else {
		out = xstrdup(r.out);
		out[strcspn(out, "\n")] = '\0';
	}
	proc_result_release(&r);
	return out;
}

static void compare_with_b3sum(const char *file, const uint8_t *in, size_t len, enum mode m,
			       size_t out_len)
{
	uint8_t out[128];
	char hex[2 * sizeof(out) + 1], lenarg[32];
	char *theirs;

	if (out_len > sizeof(out))
		out_len = sizeof(out);
	oneshot(m, in, len, out, out_len);
	blake3_to_hex(out, out_len, hex);
	snprintf(lenarg, sizeof(lenarg), "%zu", out_len);
	switch (m) {
	case MODE_HASH:
		theirs = out_len == BLAKE3_OUT_LEN ? run_b3sum(file, NULL, NULL, NULL)
						   : run_b3sum(file, "--length", lenarg, NULL);
		break;
	case MODE_KEYED:
		theirs = run_b3sum(file, "--keyed", NULL, (const char *)test_key);
		break;
	default:
		theirs = run_b3sum(file, "--derive-key", test_context, NULL);
		break;
	}
	if (theirs && strcmp(theirs, hex) != 0)
		test_fail_(__FILE__, __LINE__, "len %zu %s (%zu bytes):\n  ours  %s\n  b3sum %s",
			   len, mode_names[m], out_len, hex, theirs);
	free(theirs);
}

static void test_agrees_with_b3sum(void)
{
	char *file = test_path("b3sum-input.bin");

	if (!b3sum_bin) {
		test_fail_(__FILE__, __LINE__,
			   "b3sum not found on PATH or at /usr/bin/b3sum: install the Debian "
			   "package b3sum (scripts/install-deps.sh does)");
		free(file);
		return;
	}
	for (int t = 0; t < 50; t++) {
		/* A few edge lengths first, then random ones up to 200 KiB. */
		static const size_t edges[] = { 0, 1, 1024, 1025, 4096, 4097 };
		size_t len = t < 6 ? edges[t] : rng_below(200 * 1024 + 1);
		uint8_t *in = random_input(len);

		if (!write_file(file, in, len)) {
			test_fail_(__FILE__, __LINE__, "cannot write %s", file);
			free(in);
			break;
		}
		compare_with_b3sum(file, in, len, MODE_HASH, BLAKE3_OUT_LEN);
		/* Extended output, keyed and derive-key modes on a few inputs. */
		if (t % 12 == 2) {
			compare_with_b3sum(file, in, len, MODE_HASH, 100);
			compare_with_b3sum(file, in, len, MODE_KEYED, BLAKE3_OUT_LEN);
			compare_with_b3sum(file, in, len, MODE_DERIVE, BLAKE3_OUT_LEN);
		}
		free(in);
	}
	unlink(file);
	free(file);
}

/* ---- 4. golden HIM ids ------------------------------------------------------- */

static void test_golden_him_ids(void)
{
	static const char tile[] = "kv_cache|snp_test|0|0|0|tile-bytes";
	static const char payload[] = "tile-bytes";
	char hex[2 * BLAKE3_OUT_LEN + 1];

	blake3_hex(tile, strlen(tile), hex);
	CHECK_STR(hex, "180dff56394e6f9e81150ba5d64245a9b3fc755d1834133a181860de472766d4");
	blake3_hex(payload, strlen(payload), hex);
	CHECK_STR(hex, "8abed9499c216fa4134eccbfcee024a8c073d83d787eb5cc1a2bf2c239acdca7");
	/* The well-known digest of the empty input. */
	blake3_hex("", 0, hex);
	CHECK_STR(hex, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

static void test_to_hex(void)
{
	static const uint8_t bytes[] = { 0x00, 0x0f, 0xa5, 0xff };
	char hex[2 * sizeof(bytes) + 1];

	blake3_to_hex(bytes, sizeof(bytes), hex);
	CHECK_STR(hex, "000fa5ff");
	blake3_to_hex(bytes, 0, hex);
	CHECK_STR(hex, "");
}

int main(void)
{
	b3sum_bin = find_b3sum();
	RUN(test_official_vectors);
	RUN(test_incremental_equals_oneshot);
	RUN(test_byte_at_a_time);
	RUN(test_agrees_with_b3sum);
	RUN(test_golden_him_ids);
	RUN(test_to_hex);
	free(b3sum_bin);
	return test_summary();
}
