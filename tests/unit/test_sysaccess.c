/* test_sysaccess.c — the system-access runner (separate streams, cwd, a
 * caller's environment, fresh signal mask, group kill at the deadline) and
 * its helpers. */
#include "support/test.h"
#include "core/clock.h"
#include "tools/sysaccess.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

static const char *const env[] = { "PATH=" SYSACCESS_PATH, "ONLY=this", NULL };

static enum kith_status sh(const char *script, const char *cwd, int timeout_ms, size_t cap,
			   struct sysaccess_result *r)
{
	const char *argv[] = { "sh", "-c", script, NULL };

	return sysaccess_exec(&(struct sysaccess_run){ .path = "/bin/sh", .argv = argv,
						       .env = env, .cwd = cwd,
						       .timeout_ms = timeout_ms, .cap = cap },
			      r, NULL);
}

static void test_streams_status_cwd_env(void)
{
	struct sysaccess_result r;

	REQUIRE(sh("echo out; echo err >&2; pwd; echo $ONLY $HOME; exit 4", "/tmp", 5000, 4096,
		   &r) == KITH_OK);
	CHECK_STR(buf_str(&r.out), "out\n/tmp\nthis\n");
	CHECK_STR(buf_str(&r.err), "err\n");
	CHECK_EQ(r.exit_code, 4);
	CHECK(!r.timed_out && !r.truncated);
	sysaccess_result_release(&r);
}

static void test_missing_program_or_dir(void)
{
	const char *argv[] = { "nope", NULL };
	struct sysaccess_result r;
	char *why = NULL;

	CHECK_EQ(sysaccess_exec(&(struct sysaccess_run){ .path = "/no/such/program",
							  .argv = argv, .env = env,
							  .timeout_ms = 1000, .cap = 10 }, &r, &why),
		 KITH_ENOTFOUND);
	sysaccess_result_release(&r);
	free(why);
	why = NULL;
	CHECK_EQ(sh("true", "/no/such/dir", 1000, 10, &r), KITH_ENOTFOUND);
	sysaccess_result_release(&r);
}

static void test_deadline_kills_the_group(void)
{
	struct sysaccess_result r;
	int64_t t0 = clock_mono_ms();

	/* The grandchild holds the pipe: only killing the group ends this. */
	REQUIRE(sh("sleep 60 & sleep 60; echo never", NULL, 300, 4096, &r) == KITH_OK);
	CHECK(r.timed_out);
	CHECK_EQ(r.exit_code, -1);
	CHECK_INT(clock_mono_ms() - t0, <, 5000);
	sysaccess_result_release(&r);
}

static void test_cap(void)
{
	struct sysaccess_result r;

	REQUIRE(sh("i=0; while [ $i -lt 3000 ]; do echo 0123456789; i=$((i+1)); done", NULL, 10000,
		   1000, &r) == KITH_OK);
	CHECK(r.truncated);
	CHECK_EQ(r.out.len, 1000);
	CHECK_EQ(r.exit_code, 0);
	sysaccess_result_release(&r);
}

static void test_signal_mask_is_not_inherited(void)
{
	sigset_t block, old;
	struct sysaccess_result r;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	REQUIRE(sh("grep SigBlk /proc/self/status", NULL, 5000, 4096, &r) == KITH_OK);
	CHECK_CONTAINS(buf_str(&r.out), "SigBlk:\t0000000000000000");
	sysaccess_result_release(&r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void test_which(void)
{
	char *p = sysaccess_which("sh");

	CHECK(p && p[0] == '/');
	free(p);
	CHECK(sysaccess_which("/bin/sh") == NULL);
	CHECK(sysaccess_which("../sh") == NULL);
	CHECK(sysaccess_which("") == NULL);
	CHECK(sysaccess_which("kith-no-such-program") == NULL);
}

static void test_json_text(void)
{
	json_t *s = sysaccess_json_text("ok \xff\xc3\xa9 \xed\xa0\x80!", 12);

	CHECK_STR(json_string_value(s), "ok \xef\xbf\xbd\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
	json_decref(s);
	s = sysaccess_json_text("a\0b", 3);
	CHECK_EQ(json_string_length(s), 3);
	json_decref(s);
}

static void test_audit_text(void)
{
	char *s = sysaccess_audit_text("a\"b\n\x01xyz", 8, 6);

	CHECK_STR(s, "a\\\"b\\x0a\\x01x…(+2 bytes)");
	free(s);
}

static void test_listen_addr(void)
{
	char *host = NULL, *note = NULL, *why = NULL;
	int port = 0;

	REQUIRE(sysaccess_listen_addr("http://localhost:9001", "X_URL", 1, NULL, -1, &host, &port,
				      &note, &why) == KITH_OK);
	CHECK_STR(host, "127.0.0.1");
	CHECK_EQ(port, 9001);
	CHECK(note == NULL);
	free(host);
	REQUIRE(sysaccess_listen_addr("http://host.docker.internal:9000/run", "X_URL", 1, NULL, -1,
				      &host, &port, &note, &why) == KITH_OK);
	CHECK_STR(host, "127.0.0.1");
	CHECK_EQ(port, 9000);
	CHECK_CONTAINS(note, "X_URL names host host.docker.internal");
	free(host);
	free(note);
	REQUIRE(sysaccess_listen_addr("http://127.0.0.1", "X_URL", 1234, "0.0.0.0", 0, &host,
				      &port, &note, &why) == KITH_OK);
	CHECK_STR(host, "0.0.0.0");
	CHECK_EQ(port, 0);
	free(host);
	CHECK_EQ(sysaccess_listen_addr("::not a url", "X_URL", 1, NULL, -1, &host, &port, &note,
				       &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "X_URL");
	free(why);
	free(host);
}

int main(void)
{
	RUN(test_streams_status_cwd_env);
	RUN(test_missing_program_or_dir);
	RUN(test_deadline_kills_the_group);
	RUN(test_cap);
	RUN(test_signal_mask_is_not_inherited);
	RUN(test_which);
	RUN(test_json_text);
	RUN(test_audit_text);
	RUN(test_listen_addr);
	return test_summary();
}
