/* test_hostexec_wire.c — the host-exec body parser and the allow-list:
 * strict fields, exact program names, no wildcard, no path tricks. */
#include "support/test.h"
#include "core/buf.h"
#include "tools/hostexec.h"

#include <stdlib.h>

static enum kith_status parse(const char *body, struct hostexec_request *r, char **why)
{
	return hostexec_parse_request(body, strlen(body), r, why);
}

static void test_parse_ok(void)
{
	struct hostexec_request r;
	char *why = NULL;

	CHECK_EQ(parse("{\"argv\": [\"echo\", \"a; rm -rf ~\"], \"timeout_s\": 2.5, "
		       "\"cwd\": \"/tmp\"}", &r, &why), KITH_OK);
	CHECK_EQ(r.argc, 2);
	CHECK_STR(r.argv[0], "echo");
	CHECK_STR(r.argv[1], "a; rm -rf ~");
	CHECK(r.argv[2] == NULL);
	CHECK_EQ(r.timeout_ms, 2500);
	CHECK_STR(r.cwd, "/tmp");
	CHECK(why == NULL);
	hostexec_request_release(&r);

	CHECK_EQ(parse("{\"argv\": [\"uptime\"], \"cwd\": null}", &r, &why), KITH_OK);
	CHECK_EQ(r.timeout_ms, HOSTEXEC_DEFAULT_TIMEOUT_S * 1000);
	CHECK(r.cwd == NULL);
	hostexec_request_release(&r);
}

static void test_parse_refusals(void)
{
	static const struct { const char *body, *why; } cases[] = {
		{ "", "body:" },
		{ "[]", "body: must be a JSON object" },
		{ "{}", "argv:" },
		{ "{\"argv\": []}", "argv: is empty" },
		{ "{\"argv\": [\"\"]}", "argv[0]: is empty" },
		{ "{\"argv\": [\"echo\", null]}", "argv[1]: must be a string" },
		{ "{\"argv\": \"echo hi\"}", "argv: must be an array" },
		{ "{\"argv\": [\"ec\\u0000ho\"]}", "argv[0]: contains a NUL" },
		{ "{\"command\": \"ls; rm -rf /\"}", "command: kith never runs command strings" },
		{ "{\"argv\": [\"ls\"], \"shell\": true}", "shell: unknown field" },
		{ "{\"argv\": [\"ls\"], \"timeout_s\": -1}", "timeout_s:" },
		{ "{\"argv\": [\"ls\"], \"timeout_s\": \"5\"}", "timeout_s:" },
		{ "{\"argv\": [\"ls\"], \"timeout_s\": 601}", "timeout_s:" },
		{ "{\"argv\": [\"ls\"], \"cwd\": \"relative\"}", "cwd:" },
		{ "{\"argv\": [\"ls\"], \"cwd\": 1}", "cwd:" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hostexec_request r;
		char *why = NULL;

		CHECK_EQ(parse(cases[i].body, &r, &why), KITH_EINVAL);
		CHECK_CONTAINS(why, cases[i].why);
		hostexec_request_release(&r);
		free(why);
	}
}

static void test_too_many_arguments(void)
{
	struct buf b = BUF_INIT(0);
	struct hostexec_request r;
	char *why = NULL;

	(void)buf_puts(&b, "{\"argv\": [\"echo\"");
	for (int i = 0; i < HOSTEXEC_MAX_ARGS; i++)
		(void)buf_puts(&b, ", \"x\"");
	(void)buf_puts(&b, "]}");
	CHECK_EQ(hostexec_parse_request(b.data, b.len, &r, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "at most");
	hostexec_request_release(&r);
	free(why);
	buf_release(&b);
}

static void test_policy_config_errors(void)
{
	static const char *const bad[] = { "*", "", "ls -la", "ls;rm", "./echo", "bin/echo",
					   "/usr/../bin/rm", "/usr//bin/ls", "/usr/bin/", "..",
					   "/", "tab\there" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *items[] = { "echo", bad[i], NULL };
		struct hostexec_policy *p = (struct hostexec_policy *)1;
		char *why = NULL;

		CHECK_EQ(hostexec_policy_new(items, &p, &why), KITH_ECONFIG);
		CHECK(p == NULL);
		CHECK_CONTAINS(why, "HOST_EXEC_WHITELIST");
		free(why);
	}
}

static void test_policy_resolve(void)
{
	const char *items[] = { "echo", "/bin/true", "kith-no-such-program", NULL };
	struct hostexec_policy *p = NULL;
	char *path = NULL, *why = NULL;

	REQUIRE(hostexec_policy_new(items, &p, &why) == KITH_OK);
	CHECK_EQ(hostexec_policy_resolve(p, "echo", &path, &why), KITH_OK);
	CHECK(path && path[0] == '/' && strstr(path, "/echo"));
	free(path);
	CHECK_EQ(hostexec_policy_resolve(p, "/bin/true", &path, &why), KITH_OK);
	CHECK_STR(path, "/bin/true");
	free(path);
	CHECK_EQ(hostexec_policy_resolve(p, "kith-no-such-program", &path, &why), KITH_ENOTFOUND);
	CHECK_CONTAINS(why, "not installed");
	free(why);
	why = NULL;
	{
		static const char *const denied[] = { "rm", "/bin/echo", "./echo", "../echo",
						      "ech", "echoo", "true", "/bin/../bin/true",
						      "/bin/true/", "//bin/true", "echo;rm" };

		for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
			CHECK_EQ(hostexec_policy_resolve(p, denied[i], &path, &why), KITH_EAUTH);
			CHECK(path == NULL);
			CHECK_CONTAINS(why, "not in HOST_EXEC_WHITELIST");
			free(why);
			why = NULL;
		}
	}
	hostexec_policy_free(p);
}

static void test_empty_policy_denies(void)
{
	struct hostexec_policy *p = NULL;
	char *path = NULL, *why = NULL;

	REQUIRE(hostexec_policy_new(NULL, &p, &why) == KITH_OK);
	CHECK_EQ(hostexec_policy_count(p), 0);
	CHECK_EQ(hostexec_policy_resolve(p, "echo", &path, &why), KITH_EAUTH);
	CHECK_CONTAINS(why, "is empty");
	free(why);
	hostexec_policy_free(p);
}

static void test_risky_entries_are_named(void)
{
	const char *items[] = { "uptime", "bash", "/usr/bin/env", "python3.11", NULL };
	const char *safe[] = { "uptime", "df", NULL };
	struct hostexec_policy *p = NULL;
	char *why = NULL, *risky;

	REQUIRE(hostexec_policy_new(items, &p, &why) == KITH_OK);
	risky = hostexec_policy_risky(p);
	CHECK_STR(risky, "bash, /usr/bin/env, python3.11");
	free(risky);
	hostexec_policy_free(p);
	REQUIRE(hostexec_policy_new(safe, &p, &why) == KITH_OK);
	CHECK(hostexec_policy_risky(p) == NULL);
	hostexec_policy_free(p);
}

int main(void)
{
	RUN(test_parse_ok);
	RUN(test_parse_refusals);
	RUN(test_too_many_arguments);
	RUN(test_policy_config_errors);
	RUN(test_policy_resolve);
	RUN(test_empty_policy_denies);
	RUN(test_risky_entries_are_named);
	return test_summary();
}
