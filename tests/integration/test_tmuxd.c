/* test_tmuxd.c — `kith tmuxd` against a real tmux: token, loopback,
 * sessions, execution with output and exit status, a persistent shell, the
 * deadline, the audit log.  tmux runs on a socket under this test's temp
 * directory (TMUX_TMPDIR), never the user's.  tmux is a dependency
 * (scripts/install-deps.sh): without it this test fails, it does not skip. */
#include "support/systest.h"
#include "support/test.h"
#include "core/alloc.h"
#include "core/json.h"
#include "tools/sysaccess.h"

#include <signal.h>
#include <unistd.h>

#define TOKEN "tmuxd-test-token-4f1c9a"

static struct kith_env env;
static struct him_server srv;
static int started;

static json_t *call(const char *method, const char *path, const char *body, long *status)
{
	struct buf b = BUF_INIT(0);
	json_t *j;

	*status = him_http(&srv, method, path, body, NULL, &b);
	j = kjson_parse(b.data ? b.data : "", b.len, NULL);
	buf_release(&b);
	return j;
}

static json_t *execute(const char *session, const char *command, double timeout_s,
		       long *status)
{
	json_t *body = json_pack("{s:s, s:s, s:f}", "session", session, "command", command,
				 "timeout_s", timeout_s);
	char *text = kjson_dump(body, false);
	json_t *j = call("POST", "/execute", text, status);

	free(text);
	json_decref(body);
	return j;
}

/* `tmux -S sock CMD`: its exit status, or -1 when it could not run. */
static int tmux_on_socket(const char *sock, const char *cmd)
{
	char *tmux = sysaccess_which("tmux");
	const char *argv[] = { "tmux", "-S", sock, cmd, NULL };
	const char *cenv[] = { "PATH=" SYSACCESS_PATH, NULL };
	struct sysaccess_result r;
	int code = -1;

	if (tmux && sysaccess_exec(&(struct sysaccess_run){ .path = tmux, .argv = argv,
			.env = cenv, .timeout_ms = 5000, .cap = 4096 }, &r, NULL) == KITH_OK) {
		code = r.exit_code;
		sysaccess_result_release(&r);
	}
	free(tmux);
	return code;
}

static void test_tmux_is_installed(void)
{
	char *p = sysaccess_which("tmux");

	if (!p)
		test_fail_(__FILE__, __LINE__, "tmux is not installed: the tmux control API "
			   "cannot be tested (run scripts/install-deps.sh)");
	free(p);
}

static void test_refuses_to_start_without_a_token(void)
{
	struct proc_result r;

	REQUIRE(kith_run(&env, NULL, &r, "tmuxd", "--port", "0", NULL) == 0);
	CHECK_EQ(r.exit_code, 2);
	CHECK_CONTAINS(r.err, "TMUX_CONTROL_TOKEN");
	proc_result_release(&r);
}

static void test_starts_with_a_token(void)
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

static void test_every_route_needs_the_token(void)
{
	static const char *const routes[][2] = {
		{ "GET", "/sessions" }, { "POST", "/sessions" }, { "GET", "/sessions/main" },
		{ "DELETE", "/sessions/main" }, { "POST", "/execute" }, { "POST", "/capture" },
	};
	struct buf b = BUF_INIT(0);

	REQUIRE(started);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		srv.token = NULL;
		CHECK_EQ(him_http(&srv, routes[i][0], routes[i][1], "{\"command\":\"touch x\"}",
				  NULL, &b), 401);
		srv.token = "tmuxd-test-token-4f1c9b";
		CHECK_EQ(him_http(&srv, routes[i][0], routes[i][1], "{\"command\":\"touch x\"}",
				  NULL, &b), 401);
	}
	srv.token = TOKEN;
	buf_release(&b);
}

static void test_binds_loopback(void)
{
	int port;

	REQUIRE(started);
	CHECK(strncmp(srv.base, "http://127.0.0.1:", 17) == 0);
	port = (int)strtol(srv.base + 17, NULL, 10);
	CHECK_INT(sys_reachable_off_loopback(port), !=, 1);
}

static void test_execute_echo(void)
{
	long st;
	json_t *j;

	REQUIRE(started);
	j = execute("main", "echo hello", 20, &st);
	CHECK_EQ(st, 200);
	CHECK_STR(kjson_str(j, "output"), "hello\n");
	CHECK_EQ(json_integer_value(json_object_get(j, "exit_code")), 0);
	CHECK(json_is_false(json_object_get(j, "timed_out")));
	json_decref(j);

	j = execute("main", "echo out; echo err >&2; (exit 3)", 20, &st);
	CHECK_EQ(st, 200);
	CHECK_STR(kjson_str(j, "output"), "out\nerr\n");
	CHECK_EQ(json_integer_value(json_object_get(j, "exit_code")), 3);
	json_decref(j);

	/* Text tmux or readline would mangle if it were typed: a trailing ';',
	 * a tab, several lines, a here-document. */
	j = execute("main", "printf 'a\\tb\\n';", 20, &st);
	CHECK_STR(kjson_str(j, "output"), "a\tb\n");
	json_decref(j);
	j = execute("main", "cat <<'EOF'\nline one\n\tline two\nEOF", 20, &st);
	CHECK_STR(kjson_str(j, "output"), "line one\n\tline two\n");
	json_decref(j);
}

static void test_session_keeps_its_shell_state(void)
{
	long st;
	json_t *j;

	REQUIRE(started);
	j = execute("main", "cd /tmp", 20, &st);
	CHECK_EQ(st, 200);
	json_decref(j);
	j = execute("main", "pwd", 20, &st);
	CHECK_STR(kjson_str(j, "output"), "/tmp\n");
	json_decref(j);
	j = execute("main", "KITH_T=remembered", 20, &st);
	json_decref(j);
	j = execute("main", "echo $KITH_T", 20, &st);
	CHECK_STR(kjson_str(j, "output"), "remembered\n");
	json_decref(j);
}

static void test_shell_environment_is_clean(void)
{
	long st;
	json_t *j;

	REQUIRE(started);
	j = execute("main", "env", 20, &st);
	CHECK_EQ(st, 200);
	CHECK(kjson_str(j, "output") && !strstr(kjson_str(j, "output"), TOKEN));
	CHECK(kjson_str(j, "output") && !strstr(kjson_str(j, "output"), "TMUX_CONTROL_TOKEN"));
	json_decref(j);
}

static void test_a_hanging_command_is_cut_at_the_deadline(void)
{
	long st;
	json_t *j;

	REQUIRE(started);
	j = execute("main", "echo started; sleep 60", 1, &st);
	CHECK_EQ(st, 200);
	CHECK(json_is_true(json_object_get(j, "timed_out")));
	CHECK(json_is_null(json_object_get(j, "exit_code")));
	CHECK_STR(kjson_str(j, "output"), "started\n");
	CHECK_INT(json_integer_value(json_object_get(j, "duration_ms")), <, 10000);
	json_decref(j);
	/* C-c ended it: the session takes the next command. */
	j = execute("main", "echo after", 20, &st);
	CHECK_EQ(st, 200);
	CHECK_STR(kjson_str(j, "output"), "after\n");
	json_decref(j);
}

static void test_output_is_capped(void)
{
	long st;
	json_t *j;

	REQUIRE(started);
	j = execute("main", "seq 1 400000", 30, &st);
	CHECK_EQ(st, 200);
	CHECK(json_is_true(json_object_get(j, "truncated")));
	CHECK_EQ(json_string_length(json_object_get(j, "output")), 1 << 20);
	CHECK_EQ(json_integer_value(json_object_get(j, "exit_code")), 0);
	json_decref(j);
}

static void test_sessions_list_get_delete(void)
{
	long st;
	json_t *j, *a;
	int seen_main = 0;

	REQUIRE(started);
	j = call("POST", "/sessions", "{\"session_name\":\"work\"}", &st);
	CHECK_EQ(st, 201);
	json_decref(j);
	j = call("POST", "/sessions", "{\"session_name\":\"work\"}", &st);
	CHECK_EQ(st, 200);
	CHECK_STR(kjson_str(j, "status"), "exists");
	json_decref(j);

	j = call("GET", "/sessions", NULL, &st);
	CHECK_EQ(st, 200);
	a = kjson_arr(j, "sessions");
	CHECK_INT(json_array_size(a), >=, 2);
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *s = json_array_get(a, i);

		if (strcmp(kjson_str(s, "name") ? kjson_str(s, "name") : "", "main") == 0) {
			seen_main = 1;
			CHECK_INT(json_integer_value(json_object_get(s, "command_count")), >=, 3);
			CHECK(json_is_string(json_object_get(s, "created_at")));
			CHECK(json_is_string(json_object_get(s, "last_command_at")));
		}
	}
	CHECK(seen_main);
	json_decref(j);

	j = call("GET", "/sessions/main", NULL, &st);
	CHECK_EQ(st, 200);
	CHECK_STR(kjson_str(j, "name"), "main");
	CHECK_STR(kjson_str(j, "cwd"), "/tmp");
	CHECK(json_is_string(json_object_get(j, "output")));
	json_decref(j);

	j = call("GET", "/sessions/nosuch", NULL, &st);
	CHECK_EQ(st, 404);
	json_decref(j);
	j = call("GET", "/sessions/nosuch", NULL, &st);   /* GET never creates */
	CHECK_EQ(st, 404);
	json_decref(j);
	j = call("GET", "/sessions/bad%20name", NULL, &st);
	CHECK_EQ(st, 422);
	json_decref(j);

	j = call("DELETE", "/sessions/work", NULL, &st);
	CHECK_EQ(st, 200);
	json_decref(j);
	j = call("DELETE", "/sessions/work", NULL, &st);
	CHECK_EQ(st, 404);
	json_decref(j);
}

static void test_bad_requests(void)
{
	long st;
	json_t *j;

	REQUIRE(started);
	j = call("POST", "/execute", "{\"command\":\"   \"}", &st);
	CHECK_EQ(st, 422);
	json_decref(j);
	j = call("POST", "/execute", "{\"session\":\"main\"}", &st);
	CHECK_EQ(st, 422);
	json_decref(j);
	j = call("POST", "/execute", "{\"command\":\"echo x\",\"session\":\"a;b\"}", &st);
	CHECK_EQ(st, 422);
	json_decref(j);
	j = call("POST", "/execute", "{\"command\":\"echo x\",\"timeout_s\":0}", &st);
	CHECK_EQ(st, 422);
	json_decref(j);
	j = call("POST", "/execute", "{\"command\":\"echo x\",\"sesion\":\"main\"}", &st);
	CHECK_EQ(st, 422);
	json_decref(j);
	j = call("POST", "/execute", "not json", &st);
	CHECK_EQ(st, 422);
	json_decref(j);
}

static void test_ephemeral_session_ends(void)
{
	long st;
	json_t *body = json_pack("{s:s, s:s, s:b}", "session", "once", "command", "echo once",
				 "ephemeral", 1);
	char *text = kjson_dump(body, false);
	json_t *j;

	REQUIRE(started);
	j = call("POST", "/execute", text, &st);
	CHECK_EQ(st, 200);
	CHECK_STR(kjson_str(j, "output"), "once\n");
	json_decref(j);
	j = call("GET", "/sessions/once", NULL, &st);
	CHECK_EQ(st, 404);
	json_decref(j);
	free(text);
	json_decref(body);
}

static void test_exit_ends_the_session(void)
{
	long st;
	json_t *j;

	REQUIRE(started);
	j = execute("gone", "exit 0", 20, &st);
	CHECK_EQ(st, 200);
	CHECK(json_is_true(json_object_get(j, "session_ended")));
	json_decref(j);
	j = call("GET", "/sessions/gone", NULL, &st);
	CHECK_EQ(st, 404);
	json_decref(j);
}

static void test_stop_audits_and_cleans_up(void)
{
	char *log_path = xasprintf("%s/kith.log", env.data_dir);
	char *sock = xasprintf("%s/tmux-%u/kith", test_tmpdir(), (unsigned)getuid());
	FILE *f;
	struct buf log = BUF_INIT(0);
	char chunk[4096];
	size_t n;

	REQUIRE(started);
	CHECK_EQ(him_server_stop_clean(&srv), 0);
	started = 0;
	f = fopen(log_path, "r");
	REQUIRE(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_append(&log, chunk, n);
	fclose(f);
	CHECK_CONTAINS(buf_str(&log), "exec session=main timeout=20s command=\"echo hello\"");
	CHECK_CONTAINS(buf_str(&log), "timed out");
	CHECK(!strstr(buf_str(&log), TOKEN));
	/* The tmux server went with tmuxd: nothing answers on its socket. */
	CHECK_INT(tmux_on_socket(sock, "list-sessions"), !=, 0);
	buf_release(&log);
	free(log_path);
	free(sock);
}

int main(void)
{
	kith_env_init(&env, "tmuxd");
	kith_env_set(&env, "TMUX_TMPDIR", test_tmpdir());
	RUN(test_tmux_is_installed);
	RUN(test_refuses_to_start_without_a_token);
	RUN(test_starts_with_a_token);
	srv.token = TOKEN;
	RUN(test_every_route_needs_the_token);
	RUN(test_binds_loopback);
	RUN(test_execute_echo);
	RUN(test_session_keeps_its_shell_state);
	RUN(test_shell_environment_is_clean);
	RUN(test_a_hanging_command_is_cut_at_the_deadline);
	RUN(test_output_is_capped);
	RUN(test_sessions_list_get_delete);
	RUN(test_bad_requests);
	RUN(test_ephemeral_session_ends);
	RUN(test_exit_ends_the_session);
	RUN(test_stop_audits_and_cleans_up);
	if (started) {
		/* A failed run must not leave a tmux server behind. */
		char *sock = xasprintf("%s/tmux-%u/kith", test_tmpdir(), (unsigned)getuid());

		him_server_kill(&srv);
		(void)tmux_on_socket(sock, "kill-server");
		free(sock);
	}
	kith_env_release(&env);
	return test_summary();
}
