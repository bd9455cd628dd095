/* test_spawn.c — argv execution: output, exit codes, caps, deadlines, env. */
#include "support/test.h"
#include "core/spawn.h"

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
	RUN(test_missing_program);
	return test_summary();
}
