/* test_tmux_client.c — kith's tmux control client against a real tmuxd
 * (and a real tmux) started in this process, on a socket in the test's
 * temp dir. */
#include "support/test.h"
#include "tools/tmux.h"

#include <stdio.h>
#include <stdlib.h>

#define TOKEN "tmux-client-token-88aa"

static struct tmuxd *srv;
static struct tmux_client *cl;

static void test_server_needs_a_token(void)
{
	struct tmuxd_config c = { .tmux = { .tmpdir = test_tmpdir() } };
	struct tmuxd *d = NULL;
	char *why = NULL;

	CHECK_EQ(tmuxd_start(&c, &d, &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "TMUX_CONTROL_TOKEN");
	CHECK(d == NULL);
	free(why);
}

static void test_execute_in_the_default_session(void)
{
	struct tmux_exec r;
	char *why = NULL;

	REQUIRE(tmux_client_execute(cl, NULL, "echo hello", 10, &r, &why) == KITH_OK);
	CHECK_STR(r.output, "hello\n");
	CHECK_EQ(r.exit_code, 0);
	tmux_exec_release(&r);
	REQUIRE(tmux_client_execute(cl, NULL, "cd / && false", 10, &r, &why) == KITH_OK);
	CHECK_EQ(r.exit_code, 1);
	tmux_exec_release(&r);
	REQUIRE(tmux_client_execute(cl, NULL, "pwd", 10, &r, &why) == KITH_OK);
	CHECK_STR(r.output, "/\n");
	tmux_exec_release(&r);
}

static void test_sessions(void)
{
	char **names = NULL, *why = NULL;
	size_t n = 0;
	int seen = 0;
	struct tmux_exec r;

	REQUIRE(tmux_client_create_session(cl, "side", &why) == KITH_OK);
	REQUIRE(tmux_client_list(cl, &names, &n, &why) == KITH_OK);
	for (size_t i = 0; i < n; i++) {
		seen += strcmp(names[i], "side") == 0 || strcmp(names[i], "main") == 0;
		free(names[i]);
	}
	free(names);
	CHECK_EQ(seen, 2);
	REQUIRE(tmux_client_execute(cl, "side", "echo $((6*7))", 10, &r, &why) == KITH_OK);
	CHECK_STR(r.output, "42\n");
	tmux_exec_release(&r);
	CHECK_EQ(tmux_client_delete_session(cl, "side", &why), KITH_OK);
	CHECK_EQ(tmux_client_delete_session(cl, "side", &why), KITH_ENOTFOUND);
	free(why);
	why = NULL;
	CHECK_EQ(tmux_client_create_session(cl, "no good", &why), KITH_EINVAL);
	free(why);
}

static void test_wrong_token(void)
{
	char url[64];
	struct tmux_client *bad;
	struct tmux_exec r;
	char *why = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", tmuxd_port(srv));
	bad = tmux_client_new(url, "not-the-token");
	CHECK_EQ(tmux_client_execute(bad, NULL, "echo no", 5, &r, &why), KITH_EAUTH);
	free(why);
	tmux_client_free(bad);
}

static void test_timeout(void)
{
	struct tmux_exec r;
	char *why = NULL;

	REQUIRE(tmux_client_execute(cl, NULL, "sleep 30", 1, &r, &why) == KITH_OK);
	CHECK(r.timed_out);
	CHECK_EQ(r.exit_code, -1);
	tmux_exec_release(&r);
}

int main(void)
{
	struct tmuxd_config c = { .token = TOKEN, .tmux = { .tmpdir = test_tmpdir() } };
	char url[64], *why = NULL;

	RUN(test_server_needs_a_token);
	if (tmuxd_start(&c, &srv, &why) != KITH_OK) {
		fprintf(stderr, "cannot start tmuxd (is tmux installed?): %s\n", why);
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", tmuxd_port(srv));
	cl = tmux_client_new(url, TOKEN);
	RUN(test_execute_in_the_default_session);
	RUN(test_sessions);
	RUN(test_wrong_token);
	RUN(test_timeout);
	tmux_client_free(cl);
	tmuxd_stop(srv);
	return test_summary();
}
