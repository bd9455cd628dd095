/* test_spawn.c — argv execution: output, exit codes, caps, deadlines, env,
 * input on stdin, separate stderr, signals, killing the process group. */
#include "support/test.h"
#include "core/clock.h"
#include "core/spawn.h"

#include <stdlib.h>

static void test_output_and_exit_code(void)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	CHECK_EQ(spawn_capture(argv, 5000, 1024, &out, &r, &why), KITH_OK);
	CHECK_EQ(r.exit_code, 3);
	CHECK_CONTAINS(buf_str(&out), "out\n");
	CHECK_CONTAINS(buf_str(&out), "err\n");
	buf_release(&out);
}

static void test_no_shell_interpretation(void)
{
	const char *argv[] = { "echo", "$HOME; rm -rf /", NULL };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	CHECK_EQ(spawn_capture(argv, 5000, 1024, &out, &r, &why), KITH_OK);
	CHECK_STR(buf_str(&out), "$HOME; rm -rf /\n");
	buf_release(&out);
}

static void test_clean_environment(void)
{
	const char *argv[] = { "env", NULL };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	setenv("KITH_SECRET_FOR_TEST", "hunter22", 1);
	CHECK_EQ(spawn_capture(argv, 5000, 4096, &out, &r, &why), KITH_OK);
	CHECK(!strstr(buf_str(&out), "hunter22"));
	CHECK_CONTAINS(buf_str(&out), "PATH=");
	buf_release(&out);
}

static void test_cap_and_deadline(void)
{
	const char *flood[] = { "sh", "-c", "yes kith | head -c 100000", NULL };
	const char *slow[] = { "sleep", "30", NULL };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	CHECK_EQ(spawn_capture(flood, 5000, 100, &out, &r, &why), KITH_OK);
	CHECK_EQ(out.len, 100);
	CHECK(r.truncated);
	buf_reset(&out);
	CHECK_EQ(spawn_capture(slow, 200, 100, &out, &r, &why), KITH_OK);
	CHECK(r.timed_out);
	CHECK_EQ(r.exit_code, -1);
	buf_release(&out);
}

static void test_input_on_stdin(void)
{
	const char *argv[] = { "cat", NULL };
	struct spawn_opts o = { .input = "roll 2d6\nsecond line", .input_len = 20 };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	CHECK_EQ(spawn_run(argv, &o, 5000, 1024, &out, &r, &why), KITH_OK);
	CHECK_EQ(r.exit_code, 0);
	CHECK_STR(buf_str(&out), "roll 2d6\nsecond line");
	buf_release(&out);
}

static void test_large_input_not_read(void)
{
	/* The child exits without reading 1 MiB of input: no SIGPIPE for us,
	 * no hang, just its exit code. */
	const char *argv[] = { "sh", "-c", "exit 4", NULL };
	size_t n = 1 << 20;
	char *big = malloc(n);
	struct spawn_opts o = { .input = big, .input_len = n };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	memset(big, 'x', n);
	CHECK_EQ(spawn_run(argv, &o, 5000, 1024, &out, &r, &why), KITH_OK);
	CHECK_EQ(r.exit_code, 4);
	CHECK(!r.timed_out);
	free(big);
	buf_release(&out);
}

static void test_separate_stderr_and_signal(void)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; kill -SEGV $$", NULL };
	struct buf out = BUF_INIT(0), err = BUF_INIT(0);
	struct spawn_opts o = { .err = &err };
	struct spawn_result r;
	char *why = NULL;

	CHECK_EQ(spawn_run(argv, &o, 5000, 1024, &out, &r, &why), KITH_OK);
	CHECK_STR(buf_str(&out), "out\n");
	CHECK_STR(buf_str(&err), "err\n");
	CHECK_EQ(r.exit_code, -1);
	CHECK_EQ(r.term_signal, 11);
	buf_release(&out);
	buf_release(&err);
}

static void test_deadline_kills_the_group(void)
{
	/* A script whose own child keeps the output open, and one that closes
	 * its output and keeps running: both end at the deadline. */
	const char *bg[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	const char *quiet[] = { "sh", "-c", "exec >/dev/null 2>&1; sleep 30", NULL };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;
	int64_t t0 = clock_mono_ms();

	CHECK_EQ(spawn_capture(bg, 300, 100, &out, &r, &why), KITH_OK);
	CHECK(r.timed_out);
	CHECK_EQ(r.term_signal, 9);
	CHECK_EQ(spawn_capture(quiet, 300, 100, &out, &r, &why), KITH_OK);
	CHECK(r.timed_out);
	CHECK_INT(clock_mono_ms() - t0, <, 5000);
	buf_release(&out);
}

static void test_missing_program(void)
{
	const char *argv[] = { "no-such-program-kith", NULL };
	struct buf out = BUF_INIT(0);
	struct spawn_result r;
	char *why = NULL;

	CHECK_EQ(spawn_capture(argv, 1000, 100, &out, &r, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "no-such-program-kith");
	free(why);
	buf_release(&out);
}

int main(void)
{
	RUN(test_output_and_exit_code);
	RUN(test_no_shell_interpretation);
	RUN(test_clean_environment);
	RUN(test_cap_and_deadline);
	RUN(test_input_on_stdin);
	RUN(test_large_input_not_read);
	RUN(test_separate_stderr_and_signal);
	RUN(test_deadline_kills_the_group);
	RUN(test_missing_program);
	return test_summary();
}
