/* test_hostexec_client.c — kith's host-exec client against a real server
 * started in this process. */
#include "support/test.h"
#include "core/alloc.h"
#include "tools/hostexec.h"

#include <stdlib.h>

#define TOKEN "client-test-token-31d5"

static struct hostexec_server *srv;
static char url[64];

static void test_server_needs_a_token(void)
{
	struct hostexec_config c = { .port = 0 };
	struct hostexec_server *s = NULL;
	char *why = NULL;

	CHECK_EQ(hostexec_server_start(&c, &s, &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "HOST_EXEC_TOKEN");
	CHECK(s == NULL);
	free(why);
}

static void test_run(void)
{
	const char *argv[] = { "printf", "%s\\n", "a; rm -rf ~", "$(id)", NULL };
	struct hostexec_client_result r;
	char *why = NULL;

	REQUIRE(hostexec_client_run(url, TOKEN, argv, 10, NULL, &r, &why) == KITH_OK);
	CHECK_STR(r.out, "a; rm -rf ~\n$(id)\n");
	CHECK_STR(r.err, "");
	CHECK_EQ(r.exit_code, 0);
	CHECK(!r.timed_out && !r.truncated);
	hostexec_client_result_release(&r);
}

static void test_path_forms_of_the_url(void)
{
	const char *argv[] = { "true", NULL };
	struct hostexec_client_result r;
	char *u = xasprintf("%s/run", url), *why = NULL;

	/* HOST_EXEC_URL's old default ends in /run; that path works too. */
	REQUIRE(hostexec_client_run(u, TOKEN, argv, 0, "/", &r, &why) == KITH_OK);
	CHECK_EQ(r.exit_code, 0);
	hostexec_client_result_release(&r);
	free(u);
	u = xasprintf("%s/", url);
	REQUIRE(hostexec_client_run(u, TOKEN, argv, 0, NULL, &r, &why) == KITH_OK);
	hostexec_client_result_release(&r);
	free(u);
}

static void test_refusals(void)
{
	const char *rm[] = { "rm", "-rf", "/nonexistent", NULL };
	const char *echo[] = { "echo", NULL };
	const char *none[] = { NULL };
	struct hostexec_client_result r;
	char *why = NULL;

	CHECK_EQ(hostexec_client_run(url, TOKEN, rm, 0, NULL, &r, &why), KITH_EAUTH);
	CHECK_CONTAINS(why, "not in HOST_EXEC_WHITELIST");
	free(why);
	why = NULL;
	CHECK_EQ(hostexec_client_run(url, "wrong-token", echo, 0, NULL, &r, &why), KITH_EAUTH);
	CHECK_CONTAINS(why, "HTTP 401");
	free(why);
	why = NULL;
	CHECK_EQ(hostexec_client_run(url, TOKEN, none, 0, NULL, &r, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "argv");
	free(why);
}

static void test_timeout(void)
{
	const char *argv[] = { "sleep", "30", NULL };
	struct hostexec_client_result r;
	char *why = NULL;

	REQUIRE(hostexec_client_run(url, TOKEN, argv, 1, NULL, &r, &why) == KITH_OK);
	CHECK(r.timed_out);
	CHECK_EQ(r.exit_code, -1);
	hostexec_client_result_release(&r);
}

int main(void)
{
	const char *wl[] = { "printf", "true", "sleep", "echo", NULL };
	struct hostexec_config c = { .token = TOKEN, .whitelist = wl };
	char *why = NULL;

	RUN(test_server_needs_a_token);
	if (hostexec_server_start(&c, &srv, &why) != KITH_OK) {
		fprintf(stderr, "cannot start the host-exec server: %s\n", why);
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", hostexec_server_port(srv));
	RUN(test_run);
	RUN(test_path_forms_of_the_url);
	RUN(test_refusals);
	RUN(test_timeout);
	hostexec_server_stop(srv);
	return test_summary();
}
