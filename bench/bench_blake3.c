/* bench_blake3.c — throughput of the portable BLAKE3 against b3sum on the
 * same 64 MiB buffer.
 *
 * Ours is single-threaded portable C; b3sum uses SIMD and, by default, all
 * cores, so it is run both ways.  b3sum's time includes process start and
 * reading the (page-cached) file.  The digests must agree.
 * Usage: bench_blake3 [RUNS] (default 3; the best run counts). */
#include "support/test.h"
#include "support/proc.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "him/blake3.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BUF_LEN ((size_t)64 << 20)

static double mb_per_s(int64_t ms)
{
	return ms > 0 ? (double)BUF_LEN / (1 << 20) / (ms / 1000.0) : 0.0;
}

/* Best wall time of `runs` b3sum runs over `file`; *hex gets its digest. */
static int64_t time_b3sum(const char *bin, const char *file, const char *threads, int runs,
			  char hex[2 * BLAKE3_OUT_LEN + 1])
{
	const char *argv[] = { bin, "--no-names", "--num-threads", threads, file, NULL };
	struct proc_opts o = { .argv = argv, .timeout_ms = 60000 };
	int64_t best = -1;

	hex[0] = '\0';
	for (int i = 0; i < runs; i++) {
		struct proc_result r;

		if (proc_run(&o, &r) != 0 || r.exit_code != 0) {
			fprintf(stderr, "%s failed: %s\n", bin, r.err ? r.err : "");
			proc_result_release(&r);
			return -1;
		}
		if (best < 0 || r.wall_ms < best)
			best = r.wall_ms;
		snprintf(hex, 2 * BLAKE3_OUT_LEN + 1, "%.64s", r.out);
		proc_result_release(&r);
	}
	return best;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 3;
	uint8_t *buf = xmalloc(BUF_LEN);
	char ours[2 * BLAKE3_OUT_LEN + 1], theirs[2 * BLAKE3_OUT_LEN + 1];
	char *file = test_path("bench-blake3.bin");
	const char *bin = access("/usr/bin/b3sum", X_OK) == 0 ? "/usr/bin/b3sum" : NULL;
	int64_t best = -1;
	int rc = 0;
	FILE *f;

	if (runs < 1)
		runs = 1;
	for (size_t i = 0; i < BUF_LEN; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);

	for (int i = 0; i < runs; i++) {
		int64_t t0 = clock_mono_ms(), ms;

		blake3_hex(buf, BUF_LEN, ours);
		ms = clock_mono_ms() - t0;
		if (best < 0 || ms < best)
			best = ms;
	}
	printf("kith blake3 (portable, 1 thread): %6lld ms  %8.1f MB/s\n", (long long)best,
	       mb_per_s(best));

	if (!bin) {
		printf("b3sum not installed; skipping the comparison\n");
		goto out;
	}
	f = fopen(file, "wb");
	if (!f || fwrite(buf, 1, BUF_LEN, f) != BUF_LEN) {
		fprintf(stderr, "cannot write %s\n", file);
		if (f)
			fclose(f);
		rc = 1;
		goto out;
	}
	fclose(f);
	for (int k = 0; k < 2; k++) {
		const char *threads = k == 0 ? "1" : "0";
		int64_t ms = time_b3sum(bin, file, threads, runs, theirs);

		if (ms < 0) {
			rc = 1;
			break;
		}
		printf("b3sum --num-threads %s:              %6lld ms  %8.1f MB/s  %s\n", threads,
		       (long long)ms, mb_per_s(ms), strcmp(ours, theirs) == 0 ? "same digest" :
		       "DIGEST DIFFERS");
		if (strcmp(ours, theirs) != 0)
			rc = 1;
	}
	unlink(file);
out:
	free(file);
	free(buf);
	return rc;
}
