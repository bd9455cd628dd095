/* bench_ask.c — `kith ask` against an instant fake LLM: wall time and peak
 * memory, with `kith version` (process start, dynamic linking, no work) as
 * the baseline measured in the same run.
 *
 * Targets (issue 2): median wall time ≤ 20 ms and peak RSS ≤ 15 MB.  The
 * figures depend on the machine; the ratio to the baseline is what to
 * compare across runs.  Usage: bench_ask [RUNS] (default 40). */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_llm.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct sample {
	double median_ms, p90_ms;
	double peak_mb;
	int failures;
};

static struct sample measure(struct kith_env *e, int runs, const char *a1, const char *a2)
{
	int64_t *t = calloc((size_t)runs, sizeof(*t));
	struct sample s = { 0 };
	long peak = 0;

	for (int i = 0; i < runs; i++) {
		struct proc_result r;

		if (kith_run(e, NULL, &r, a1, a2, NULL) != 0 || r.exit_code != 0) {
			s.failures++;
			if (r.err && *r.err)
				fprintf(stderr, "run failed: %s", r.err);
		}
		t[i] = r.wall_ms;
		if (r.maxrss_kb > peak)
			peak = r.maxrss_kb;
		proc_result_release(&r);
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_i64);
	s.median_ms = (double)t[runs / 2];
	s.p90_ms = (double)t[(runs * 9) / 10];
	s.peak_mb = peak / 1024.0;
	free(t);
	return s;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 40;
	struct fake_llm *fake = fake_llm_start(FAKE_LLM_OLLAMA);
	struct kith_env e;
	struct proc_result warm;
	struct sample base, ask;

	if (!fake || runs < 3)
		return 1;
	fake_llm_set_default_reply(fake, "Hi! This is an instant reply.");
	kith_env_init(&e, "bench");
	kith_env_set(&e, "OLLAMA_API_URL", fake_llm_url(fake));
	kith_env_set(&e, "OLLAMA_FOREGROUND_MODEL", "bench-model");
	kith_env_set(&e, "LOG_LEVEL", "info");
	/* First run creates the data dir and applies migrations. */
	kith_run(&e, NULL, &warm, "ask", "warm up", NULL);
	proc_result_release(&warm);

	base = measure(&e, runs, "version", NULL);
	ask = measure(&e, runs, "ask", "hello, how are you?");
	printf("bench_ask: %d runs each (wall time from fork to exit, peak RSS of the child)\n", runs);
	printf("  baseline  kith version : median %6.1f ms  p90 %6.1f ms  peak %5.1f MB\n",
	       base.median_ms, base.p90_ms, base.peak_mb);
	printf("  kith ask (instant LLM) : median %6.1f ms  p90 %6.1f ms  peak %5.1f MB\n",
	       ask.median_ms, ask.p90_ms, ask.peak_mb);
	printf("  ratio ask/baseline     : time %.2fx  memory %.2fx\n",
	       base.median_ms > 0 ? ask.median_ms / base.median_ms : 0.0,
	       base.peak_mb > 0 ? ask.peak_mb / base.peak_mb : 0.0);
	printf("  targets                : median <= 20 ms %s, peak <= 15 MB %s\n",
	       ask.median_ms <= 20 ? "met" : "MISSED", ask.peak_mb <= 15 ? "met" : "MISSED");
	if (ask.failures || base.failures)
		printf("  %d failed runs\n", ask.failures + base.failures);
	kith_env_release(&e);
	fake_llm_stop(fake);
	return ask.failures ? 1 : 0;
}
