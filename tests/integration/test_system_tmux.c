/* test_system_tmux.c — the system agent through a real `kith tmuxd` and a
 * real tmux: the owner's `bash echo hello` comes back as "hello", argv words
 * reach the program exactly (quoting), the kept directory applies, shell
 * syntax never reaches the shell unless shell mode is on, and a non-owner
 * runs nothing.  tmux runs on a socket under this test's temp directory. */
#include "support/systest.h"
#include "support/test.h"
#include "support/itest.h"
#include "core/alloc.h"
#include "tools/sysaccess.h"
#include "tools/system_agent.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN "system-agent-tmux-token-7d2e"
#define OWNER "4242"

static struct kith_env env;
static struct him_server srv;
static int started;

static struct system_agent *agent(bool shell_mode)
{
	return system_agent_new(&(struct system_agent_config){
		.approver = OWNER, .tmux_url = srv.base, .tmux_token = TOKEN,
		.home = test_tmpdir(), .shell_mode = shell_mode, .timeout_s = 20 });
}

static void test_start_tmuxd(void)
{
	const char *failure = NULL;
	char *err = NULL;

	kith_env_set(&env, "TMUX_CONTROL_TOKEN", TOKEN);
	if (sys_server_start(&srv, &env, "tmuxd", &failure, &err) != 0) {
		test_fail_(__FILE__, __LINE__, "%s: %s", failure, err ? err : "");
		free(err);
		return;
	}
	started = 1;
}

static void test_owner_bash_echo(void)
{
	struct system_agent *a;
	char *reply = NULL;

	REQUIRE(started);
	a = agent(false);
	CHECK_EQ(system_request(a, OWNER, "bash echo hello", &reply), KITH_OK);
	CHECK_STR(reply, "hello");
	free(reply);
	system_agent_free(a);
}

/* The whole daemon: the owner's message in `kith chat` goes through the
 * dispatcher and the system agent to the tmux control API and back; the
 * token shows up nowhere. */
static void test_daemon_owner_through_tmux(void)
{
	struct kith_env e;
	struct proc_result r;

	REQUIRE(started);
	kith_env_init(&e, "system_tmux_daemon");
	kith_env_set(&e, "TMUX_TMPDIR", test_tmpdir());
	kith_env_set(&e, "TMUX_CONTROL_URL", srv.base);
	kith_env_set(&e, "TMUX_CONTROL_TOKEN", TOKEN);
	kith_env_set(&e, "APPROVAL_USER_ID", "ana");
	kith_env_set(&e, "USER", "ana");
	kith_env_set(&e, "LOG_LEVEL", "DEBUG");
	kith_env_set(&e, "OLLAMA_API_URL", "http://127.0.0.1:9");   /* never asked */
	REQUIRE(kith_run(&e, "bash echo through-the-daemon\n", &r, "chat", NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.out, "through-the-daemon");
	CHECK(!strstr(r.out, TOKEN) && !strstr(r.err, TOKEN));
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_words_arrive_exactly(void)
{
	struct system_agent *a;
	char *reply = NULL;

	REQUIRE(started);
	a = agent(false);
	CHECK_EQ(system_request(a, OWNER, "bash printf '<%s>' 'a b' \"it's\" '$(id)' "
				"'; touch pwned' '`id`' \\$HOME '' 'x'\\''y'", &reply), KITH_OK);
	CHECK_STR(reply, "<a b><it's><$(id)><; touch pwned><`id`><$HOME><><x'y>");
	free(reply);
	reply = NULL;
	/* `eval` is not a program: env -- keeps builtins out of reach. */
	CHECK_EQ(system_request(a, OWNER, "bash eval 'echo pwned'", &reply), KITH_OK);
	CHECK(!strstr(reply, "\npwned") && strncmp(reply, "pwned", 5) != 0);
	free(reply);
	system_agent_free(a);
}

static void test_operators_never_reach_the_shell(void)
{
	struct system_agent *a;
	char *reply = NULL, *marker = test_path("pwned");
	char *text = xasprintf("bash ls; touch %s", marker);
	struct stat sb;

	REQUIRE(started);
	a = agent(false);
	CHECK_EQ(system_request(a, OWNER, text, &reply), KITH_EINVAL);
	CHECK_CONTAINS(reply, "';'");
	free(reply);
	reply = NULL;
	CHECK_EQ(system_request(a, "someone-else", text + 5, &reply), KITH_EAUTH);
	CHECK(stat(marker, &sb) != 0);
	free(reply);
	free(text);
	free(marker);
	system_agent_free(a);
}

static void test_cwd_is_kept(void)
{
	struct system_agent *a;
	char *reply = NULL;

	REQUIRE(started);
	a = agent(false);
	CHECK_EQ(system_request(a, OWNER, "bash cd /", &reply), KITH_OK);
	CHECK_CONTAINS(reply, "moved to /");
	free(reply);
	reply = NULL;
	CHECK_EQ(system_request(a, OWNER, "bash pwd", &reply), KITH_OK);
	CHECK_STR(reply, "/");
	free(reply);
	reply = NULL;
	CHECK_EQ(system_request(a, OWNER, "bash cd /no/such/dir", &reply), KITH_ENOTFOUND);
	CHECK_STR(system_agent_cwd(a, OWNER), "/");
	free(reply);
	reply = NULL;
	CHECK_EQ(system_request(a, OWNER, "bash false", &reply), KITH_OK);
	CHECK_CONTAINS(reply, "exit 1");
	free(reply);
	system_agent_free(a);
}

static void test_shell_mode(void)
{
	struct system_agent *a;
	char *reply = NULL;

	REQUIRE(started);
	a = agent(true);
	CHECK_EQ(system_request(a, OWNER, "bash echo a; echo b | tr b c", &reply), KITH_OK);
	CHECK_STR(reply, "a\nc");
	free(reply);
	system_agent_free(a);
}

int main(void)
{
	kith_env_init(&env, "system_tmux");
	kith_env_set(&env, "TMUX_TMPDIR", test_tmpdir());
	RUN(test_start_tmuxd);
	RUN(test_owner_bash_echo);
	RUN(test_daemon_owner_through_tmux);
	RUN(test_words_arrive_exactly);
	RUN(test_operators_never_reach_the_shell);
	RUN(test_cwd_is_kept);
	RUN(test_shell_mode);
	if (started) {
		char *sock = xasprintf("%s/tmux-%u/kith", test_tmpdir(), (unsigned)getuid());
		char *tmux = sysaccess_which("tmux");

		if (him_server_stop_clean(&srv) != 0)
			him_server_kill(&srv);
		if (tmux) {
			const char *argv[] = { "tmux", "-S", sock, "kill-server", NULL };
			const char *cenv[] = { "PATH=" SYSACCESS_PATH, NULL };
			struct sysaccess_result r;

			if (sysaccess_exec(&(struct sysaccess_run){ .path = tmux, .argv = argv,
					.env = cenv, .timeout_ms = 5000, .cap = 4096 }, &r, NULL) ==
			    KITH_OK)
				sysaccess_result_release(&r);
		}
		free(tmux);
		free(sock);
	}
	kith_env_release(&env);
	return test_summary();
}
