/* test_system_agent.c — the system agent with the fake LLM (utility role)
 * and a recording executor: who may ask, what the model may and may not
 * make happen, the argv each action builds, parameter validation, the kept
 * working directory, history, memory and the audit log.  Nothing here runs
 * a real command; the real tmux path is tests/integration/test_system_tmux.c. */
#include "support/test.h"
#include "support/llm_testing.h"
#include "fakes/fake_llm.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "llm/llm.h"
#include "tools/system_agent.h"

#include <stdio.h>
#include <stdlib.h>

#define OWNER "1329883906069102733"
#define HOME "/home/owner"

/* ---- The recording executor -------------------------------------------- */

struct recorder {
	char *calls[64];      /* argv joined with '|', or "LINE:" + the line */
	char *cwds[64];
	size_t n;
	int exit_code;        /* what every call returns */
	const char *output;
};

static enum kith_status record(void *ud, const struct system_exec_req *req,
			       struct system_exec_out *out, char **why)
{
	struct recorder *r = ud;
	struct buf b = BUF_INIT(0);

	(void)why;
	if (req->line) {
		(void)buf_printf(&b, "LINE:%s", req->line);
	} else {
		for (size_t i = 0; req->argv[i]; i++)
			(void)buf_printf(&b, "%s%s", i ? "|" : "", req->argv[i]);
	}
	if (r->n < 64) {
		r->calls[r->n] = buf_detach(&b);
		r->cwds[r->n] = xstrdup(req->cwd);
		r->n++;
	} else {
		buf_release(&b);
	}
	out->output = xstrdup(r->output ? r->output : "");
	out->len = strlen(out->output);
	out->exit_code = r->exit_code;
	return KITH_OK;
}

static void recorder_reset(struct recorder *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->calls[i]);
		free(r->cwds[i]);
	}
	memset(r, 0, sizeof(*r));
}

struct memories {
	char *text[64];
	double salience[64];
	size_t n;
};

static void remember(void *ud, const char *text, double salience)
{
	struct memories *m = ud;

	if (m->n < 64) {
		m->text[m->n] = xstrdup(text);
		m->salience[m->n++] = salience;
	}
}

static void memories_reset(struct memories *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->text[i]);
	memset(m, 0, sizeof(*m));
}

/* ---- Fixtures ----------------------------------------------------------- */

static struct fake_llm *fake;
static struct recorder rec;
static struct memories mem;

static struct llm_client *client_at(const char *url)
{
	struct llm_config cfg;
	struct llm_client *c;

	llm_config_init(&cfg);
	cfg.provider = LLM_PROVIDER_OLLAMA;
	cfg.base_url = xstrdup(url);
	cfg.models[LLM_ROLE_MAIN] = xstrdup("main-model");
	cfg.models[LLM_ROLE_UTIL] = xstrdup("util-model");
	cfg.timeout_ms = 10000;
	cfg.connect_timeout_ms = 2000;
	cfg.max_attempts = 1;
	cfg.retry_base_ms = 1;
	cfg.retry_max_ms = 2;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);
	return c;
}

static struct system_agent *agent_with(const char *approver, struct llm_client *llm,
				       bool shell_mode)
{
	recorder_reset(&rec);
	memories_reset(&mem);
	return system_agent_new(&(struct system_agent_config){
		.approver = approver, .llm = llm, .home = HOME, .shell_mode = shell_mode,
		.tmux_url = "http://127.0.0.1:1", .tmux_token = "never-used-token",
		.remember = remember, .remember_ud = &mem, .exec = record, .exec_ud = &rec });
}

/* The model's next answer. */
static void model_says(const char *json)
{
	fake_llm_push(fake, &(struct fake_reply){ .content = json });
}

/* One request; the status is returned and the reply kept in *reply. */
static enum kith_status ask(struct system_agent *a, const char *who, const char *text,
			    char **reply)
{
	free(*reply);
	*reply = NULL;
	return system_request(a, who, text, reply);
}

/* ---- Who may ask -------------------------------------------------------- */

static const char *const hostile[] = {
	"bash rm -rf ~", "run command rm -rf /", "bash ls; rm -rf ~", "disk space?",
	"please delete everything in my home directory", "what's on port 3000",
	"bash echo hello", "cd /tmp", "", "BASH  id",
};

static void test_non_owner_runs_nothing(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	size_t before = fake_llm_request_count(fake);
	char *reply = NULL;

	/* Whatever the model would say, it is not asked. */
	fake_llm_set_default_reply(fake, "{\"action\":\"run_command\",\"params\":"
				   "{\"command\":\"rm -rf ~\"}}");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		CHECK_EQ(ask(a, "666", hostile[i], &reply), KITH_EAUTH);
		CHECK_CONTAINS(reply, "only for my owner");
		CHECK_EQ(ask(a, NULL, hostile[i], &reply), KITH_EAUTH);
		CHECK_EQ(ask(a, "", hostile[i], &reply), KITH_EAUTH);
		/* A prefix or a longer id is someone else. */
		CHECK_EQ(ask(a, OWNER "0", hostile[i], &reply), KITH_EAUTH);
		CHECK_EQ(ask(a, "132988390606910273", hostile[i], &reply), KITH_EAUTH);
	}
	CHECK_EQ(rec.n, 0);
	CHECK_EQ(mem.n, 0);
	CHECK_EQ(fake_llm_request_count(fake), before);
	CHECK(system_agent_cwd(a, "666") == NULL);
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
	fake_llm_set_default_reply(fake, "ok");
	recorder_reset(&rec);
}

static void test_unset_approver_means_nobody(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	const char *unset[] = { NULL, "" };
	size_t before = fake_llm_request_count(fake);
	char *reply = NULL;

	for (size_t k = 0; k < 2; k++) {
		struct system_agent *a = agent_with(unset[k], llm, false);

		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
			CHECK_EQ(ask(a, OWNER, hostile[i], &reply), KITH_EAUTH);
			CHECK_CONTAINS(reply, "APPROVAL_USER_ID");
			CHECK_EQ(ask(a, "", hostile[i], &reply), KITH_EAUTH);
			CHECK_EQ(ask(a, NULL, hostile[i], &reply), KITH_EAUTH);
		}
		CHECK_EQ(rec.n, 0);
		system_agent_free(a);
	}
	CHECK_EQ(fake_llm_request_count(fake), before);
	free(reply);
	llm_client_free(llm);
}

/* ---- The model ---------------------------------------------------------- */

static void test_model_unavailable_runs_nothing(void)
{
	char url[64], *reply = NULL;
	struct llm_client *down;
	struct system_agent *a;

	/* No model configured. */
	a = agent_with(OWNER, NULL, false);
	CHECK_EQ(ask(a, OWNER, "ls -la", &reply), KITH_EUNSUPPORTED);
	CHECK_CONTAINS(reply, "ran nothing");
	CHECK_EQ(ask(a, OWNER, "rm -rf ~", &reply), KITH_EUNSUPPORTED);
	CHECK_EQ(rec.n, 0);
	system_agent_free(a);
	/* A model that cannot be reached. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", llm_test_closed_port());
	down = client_at(url);
	a = agent_with(OWNER, down, false);
	CHECK_EQ(ask(a, OWNER, "echo hello", &reply), KITH_EUNSUPPORTED);
	CHECK_CONTAINS(reply, "unavailable");
	CHECK_EQ(ask(a, OWNER, "df -h", &reply), KITH_EUNSUPPORTED);
	CHECK_EQ(rec.n, 0);
	CHECK_EQ(mem.n, 0);
	system_agent_free(a);
	llm_client_free(down);
	free(reply);
}

static void test_model_errors_and_nonsense_run_nothing(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	char *reply = NULL;

	fake_llm_push(fake, &(struct fake_reply){ .status = 500 });
	CHECK_EQ(ask(a, OWNER, "uptime", &reply), KITH_EUNSUPPORTED);
	model_says("sure, I'll run rm -rf ~ for you");
	CHECK_EQ(ask(a, OWNER, "uptime", &reply), KITH_EUNSUPPORTED);
	model_says("[\"run_command\"]");
	CHECK_EQ(ask(a, OWNER, "uptime", &reply), KITH_EUNSUPPORTED);
	model_says("{\"action\":\"format_disk\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "wipe the disk", &reply), KITH_EINVAL);
	CHECK_CONTAINS(reply, "not one of my system actions");
	model_says("{\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "hm", &reply), KITH_EINVAL);
	model_says("{\"action\":\"none\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "tell me a joke", &reply), KITH_EINVAL);
	CHECK_CONTAINS(reply, "ran nothing");
	model_says("{\"action\":\"disk\",\"params\":\"rm -rf ~\"}");
	CHECK_EQ(ask(a, OWNER, "disk", &reply), KITH_EINVAL);
	model_says("{\"action\":\"shell\",\"params\":{\"command\":\"rm -rf ~\"}}");
	CHECK_EQ(ask(a, OWNER, "rm -rf ~", &reply), KITH_EINVAL);
	CHECK_EQ(rec.n, 0);
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
}

/* The model's own destructive ideas: a command the owner did not write, or
 * a destructive program even when the owner mentioned it. */
static void test_model_cannot_run_its_own_commands(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	char *reply = NULL;

	model_says("{\"action\":\"run_command\",\"params\":{\"command\":\"rm -rf ~\"}}");
	CHECK_EQ(ask(a, OWNER, "clean up my home please", &reply), KITH_EINVAL);
	CHECK_CONTAINS(reply, "not one you wrote");
	model_says("{\"action\":\"run_command\",\"params\":{\"command\":\"rm -rf /\"}}");
	CHECK_EQ(ask(a, OWNER, "what would rm -rf / do?", &reply), KITH_EINVAL);
	CHECK_CONTAINS(reply, "bash rm");
	model_says("{\"action\":\"run_command\",\"params\":{\"command\":\"sudo reboot\"}}");
	CHECK_EQ(ask(a, OWNER, "should I sudo reboot", &reply), KITH_EINVAL);
	model_says("{\"action\":\"run_command\",\"params\":{\"command\":\"ls; rm -rf ~\"}}");
	CHECK_EQ(ask(a, OWNER, "run ls; rm -rf ~", &reply), KITH_EINVAL);
	CHECK_CONTAINS(reply, "';'");
	model_says("{\"action\":\"run_command\",\"params\":{\"command\":\"\"}}");
	CHECK_EQ(ask(a, OWNER, "run", &reply), KITH_EINVAL);
	CHECK_EQ(rec.n, 0);
	/* A harmless command the owner wrote out does run, as an argv. */
	model_says("{\"action\":\"run_command\",\"params\":{\"command\":\"uname -a\"}}");
	CHECK_EQ(ask(a, OWNER, "can you run uname -a for me", &reply), KITH_OK);
	REQUIRE(rec.n == 1);
	CHECK_STR(rec.calls[0], "uname|-a");
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
}

static void test_model_request_uses_the_util_role_and_a_schema(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	char *reply = NULL;
	json_t *req, *fmt, *names;
	int found_disk = 0, found_run = 0;
	size_t i;
	json_t *v;

	model_says("{\"action\":\"memory\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "how much memory is free?", &reply), KITH_OK);
	req = llm_test_last_request(fake);
	REQUIRE(req);
	CHECK_STR(json_string_value(json_object_get(req, "model")), "util-model");
	fmt = json_object_get(req, "format");
	names = json_object_get(json_object_get(json_object_get(fmt, "properties"), "action"),
				"enum");
	REQUIRE(json_is_array(names));
	json_array_foreach(names, i, v) {
		found_disk += strcmp(json_string_value(v), "disk") == 0;
		found_run += strcmp(json_string_value(v), "run_command") == 0;
	}
	CHECK_EQ(found_disk, 1);
	CHECK_EQ(found_run, 1);
	json_decref(req);
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
}

/* ---- The explicit form -------------------------------------------------- */

static void test_bash_runs_exactly_the_argv(void)
{
	struct system_agent *a = agent_with(OWNER, NULL, false);
	char *reply = NULL;

	rec.output = "total 0\n";
	CHECK_EQ(ask(a, OWNER, "bash ls -la", &reply), KITH_OK);
	CHECK_STR(reply, "total 0");
	CHECK_EQ(ask(a, OWNER, "run command grep -r \"a b\" 'c d'", &reply), KITH_OK);
	CHECK_EQ(ask(a, OWNER, "  BASH   echo 'it'\\''s'  ", &reply), KITH_OK);
	CHECK_EQ(ask(a, OWNER, "Run Command echo x", &reply), KITH_OK);
	REQUIRE(rec.n == 4);
	CHECK_STR(rec.calls[0], "ls|-la");
	CHECK_STR(rec.cwds[0], HOME);
	CHECK_STR(rec.calls[1], "grep|-r|a b|c d");
	CHECK_STR(rec.calls[2], "echo|it's");
	CHECK_STR(rec.calls[3], "echo|x");
	/* Remembered, salience 0.4. */
	REQUIRE(mem.n == 4);
	CHECK_STR(mem.text[0], "ran: ls -la");
	CHECK_STR(mem.text[1], "ran: grep -r 'a b' 'c d'");
	CHECK(mem.salience[0] > 0.39 && mem.salience[0] < 0.41);
	/* "bashful" is not the bash form: it goes to the (absent) model. */
	CHECK_EQ(ask(a, OWNER, "bashful ls", &reply), KITH_EUNSUPPORTED);
	CHECK_EQ(rec.n, 4);
	free(reply);
	system_agent_free(a);
}

static void test_bash_with_operators_never_reaches_a_shell(void)
{
	static const char *const refused[] = {
		"bash ls; rm -rf ~", "bash ls && rm -rf ~", "bash ls | sh", "bash echo $(id)",
		"bash echo `id`", "bash cat /etc/passwd > /tmp/x", "run command ls; rm -rf ~",
		"bash ls\nrm -rf ~", "bash rm -rf ~", "bash echo \"$HOME\"", "bash", "bash   ",
		"bash 'unterminated",
	};
	struct system_agent *a = agent_with(OWNER, NULL, false);
	char *reply = NULL;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK_EQ(ask(a, OWNER, refused[i], &reply), KITH_EINVAL);
		CHECK_CONTAINS(reply, "didn't run");
	}
	CHECK_EQ(ask(a, OWNER, "bash ls; rm -rf ~", &reply), KITH_EINVAL);
	CHECK_CONTAINS(reply, "';'");
	CHECK_CONTAINS(reply, "without a shell");
	CHECK_EQ(rec.n, 0);
	CHECK_EQ(mem.n, 0);
	free(reply);
	system_agent_free(a);
}

static void test_shell_mode_sends_the_line_as_typed(void)
{
	struct system_agent *a = agent_with(OWNER, NULL, true);
	char *reply = NULL;

	CHECK_EQ(ask(a, OWNER, "bash ls | wc -l; echo $HOME", &reply), KITH_OK);
	REQUIRE(rec.n == 1);
	CHECK_STR(rec.calls[0], "LINE:ls | wc -l; echo $HOME");
	/* Non-owners still get nothing, shell mode or not. */
	CHECK_EQ(ask(a, "666", "bash rm -rf ~", &reply), KITH_EAUTH);
	CHECK_EQ(rec.n, 1);
	free(reply);
	system_agent_free(a);
}

/* ---- Actions ------------------------------------------------------------ */

struct mapping {
	const char *model;      /* the model's JSON */
	const char *want;       /* the argvs run, joined with '|', steps with " ; " */
};

static void test_actions_build_the_right_argv(void)
{
	static const struct mapping cases[] = {
		{ "{\"action\":\"system_health\",\"params\":{}}",
		  "uptime|-p ; cat|/proc/loadavg ; free|-h ; df|-h|/" },
		{ "{\"action\":\"disk\",\"params\":{}}", "df|-h" },
		{ "{\"action\":\"disk\"}", "df|-h" },
		{ "{\"action\":\"disk\",\"params\":{\"path\":\"/home\"}}", "df|-h|--|/home" },
		{ "{\"action\":\"memory\",\"params\":{}}", "free|-h" },
		{ "{\"action\":\"processes\",\"params\":{}}", "ps|aux|--sort=-%mem" },
		{ "{\"action\":\"processes\",\"params\":{\"filter\":\"nginx; rm\"}}",
		  "ps|aux|--sort=-%mem" },
		{ "{\"action\":\"port\",\"params\":{\"port\":3000}}", "ss|-tulnp|sport|=|:3000" },
		{ "{\"action\":\"port\",\"params\":{\"port\":\"8080\"}}", "ss|-tulnp|sport|=|:8080" },
		{ "{\"action\":\"port\",\"params\":{}}", "ss|-tulnp" },
		{ "{\"action\":\"service_status\",\"params\":{\"name\":\"nginx.service\"}}",
		  "systemctl|status|--no-pager|--lines=10|--|nginx.service" },
		{ "{\"action\":\"service_status\",\"params\":{\"name\":\"getty@tty1\"}}",
		  "systemctl|status|--no-pager|--lines=10|--|getty@tty1" },
		{ "{\"action\":\"docker_ps\",\"params\":{}}",
		  "docker|ps|--format|table {{.Names}}\t{{.Status}}\t{{.Ports}}" },
		{ "{\"action\":\"git_status\",\"params\":{}}",
		  "git|-C|" HOME "|status|--short|--branch" },
		{ "{\"action\":\"git_status\",\"params\":{\"path\":\"src/kith\"}}",
		  "git|-C|" HOME "/src/kith|status|--short|--branch" },
		{ "{\"action\":\"git_log\",\"params\":{\"count\":3}}",
		  "git|-C|" HOME "|log|--oneline|-n|3" },
		{ "{\"action\":\"git_log\",\"params\":{\"path\":\"~/p\"}}",
		  "git|-C|" HOME "/p|log|--oneline|-n|10" },
		{ "{\"action\":\"network\",\"params\":{}}", "ip|-brief|address" },
		{ "{\"action\":\"list_files\",\"params\":{}}", "ls|-la|--|" HOME },
		{ "{\"action\":\"list_files\",\"params\":{\"path\":\"../x/./y//z\"}}",
		  "ls|-la|--|/home/x/y/z" },
		{ "{\"action\":\"list_files\",\"params\":{\"path\":\"-rf\"}}",
		  "ls|-la|--|" HOME "/-rf" },
		{ "{\"action\":\"list_files\",\"params\":{\"path\":\"/../../etc\"}}", "ls|-la|--|/etc" },
		{ "{\"action\":\"read_file\",\"params\":{\"path\":\"/etc/hostname\"}}",
		  "head|-c|65536|--|/etc/hostname" },
		{ "{\"action\":\"read_file\",\"params\":{\"path\":\"notes; rm -rf ~.txt\"}}",
		  "head|-c|65536|--|" HOME "/notes; rm -rf ~.txt" },
		{ "{\"action\":\"large_files\",\"params\":{\"path\":\"/var\"}}",
		  "find|/var|-xdev|-type|f|-size|+50M|-printf|%s\\t%p\\n" },
		{ "{\"action\":\"large_files\",\"params\":{\"path\":\"-delete\"}}",
		  "find|" HOME "/-delete|-xdev|-type|f|-size|+50M|-printf|%s\\t%p\\n" },
	};
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	char *reply = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf got = BUF_INIT(0);

		recorder_reset(&rec);
		model_says(cases[i].model);
		CHECK_EQ(ask(a, OWNER, "a question", &reply), KITH_OK);
		for (size_t k = 0; k < rec.n; k++)
			(void)buf_printf(&got, "%s%s", k ? " ; " : "", rec.calls[k]);
		if (strcmp(buf_str(&got), cases[i].want) != 0)
			test_fail_(__FILE__, __LINE__, "%s built \"%s\", want \"%s\"", cases[i].model,
				   buf_str(&got), cases[i].want);
		buf_release(&got);
	}
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
}

static void test_invalid_params_are_refused(void)
{
	static const char *const cases[] = {
		"{\"action\":\"port\",\"params\":{\"port\":0}}",
		"{\"action\":\"port\",\"params\":{\"port\":65536}}",
		"{\"action\":\"port\",\"params\":{\"port\":-1}}",
		"{\"action\":\"port\",\"params\":{\"port\":30.5}}",
		"{\"action\":\"port\",\"params\":{\"port\":\"3000; rm -rf ~\"}}",
		"{\"action\":\"port\",\"params\":{\"port\":\" 3000\"}}",
		"{\"action\":\"port\",\"params\":{\"port\":\"+3000\"}}",
		"{\"action\":\"port\",\"params\":{\"port\":true}}",
		"{\"action\":\"service_status\",\"params\":{}}",
		"{\"action\":\"service_status\",\"params\":{\"name\":\"nginx; rm -rf ~\"}}",
		"{\"action\":\"service_status\",\"params\":{\"name\":\"-H evil\"}}",
		"{\"action\":\"service_status\",\"params\":{\"name\":\"--host=x\"}}",
		"{\"action\":\"service_status\",\"params\":{\"name\":\"a/b\"}}",
		"{\"action\":\"service_status\",\"params\":{\"name\":42}}",
		"{\"action\":\"read_file\",\"params\":{}}",
		"{\"action\":\"read_file\",\"params\":{\"path\":\"\"}}",
		"{\"action\":\"read_file\",\"params\":{\"path\":\"/etc/pass\\u0000wd\"}}",
		"{\"action\":\"read_file\",\"params\":{\"path\":[\"/etc/passwd\"]}}",
		"{\"action\":\"git_log\",\"params\":{\"count\":0}}",
		"{\"action\":\"git_log\",\"params\":{\"count\":101}}",
		"{\"action\":\"memory\",\"params\":{\"command\":\"rm -rf ~\"}}",
		"{\"action\":\"disk\",\"params\":{\"path\":\"/\",\"extra\":\"x\"}}",
		"{\"action\":\"processes\",\"params\":{\"filter\":"
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",
		"{\"action\":\"navigate\",\"params\":{\"path\":\"/tmp\\u0000/x\"}}",
	};
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	char *reply = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		model_says(cases[i]);
		if (ask(a, OWNER, "a question", &reply) != KITH_EINVAL)
			test_fail_(__FILE__, __LINE__, "%s was not refused: %s", cases[i], reply);
		CHECK_CONTAINS(reply, "ran nothing");
	}
	CHECK_EQ(rec.n, 0);
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
}

/* ---- State -------------------------------------------------------------- */

static void test_cwd_is_kept_across_requests(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	char *reply = NULL;

	model_says("{\"action\":\"location\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "where are we?", &reply), KITH_OK);
	CHECK_STR(reply, "we're in " HOME);
	CHECK_EQ(rec.n, 0);
	model_says("{\"action\":\"navigate\",\"params\":{\"path\":\"/tmp\"}}");
	CHECK_EQ(ask(a, OWNER, "cd /tmp", &reply), KITH_OK);
	CHECK_CONTAINS(reply, "moved to /tmp");
	REQUIRE(rec.n == 1);
	CHECK_STR(rec.calls[0], "test|-d|/tmp");
	CHECK_STR(system_agent_cwd(a, OWNER), "/tmp");
	model_says("{\"action\":\"location\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "pwd?", &reply), KITH_OK);
	CHECK_STR(reply, "we're in /tmp");
	model_says("{\"action\":\"list_files\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "what's here", &reply), KITH_OK);
	REQUIRE(rec.n == 2);
	CHECK_STR(rec.calls[1], "ls|-la|--|/tmp");
	CHECK_STR(rec.cwds[1], "/tmp");
	/* Relative paths now resolve against /tmp; bash runs there too. */
	CHECK_EQ(ask(a, OWNER, "bash cat notes.txt", &reply), KITH_OK);
	CHECK_STR(rec.cwds[2], "/tmp");
	CHECK_EQ(ask(a, OWNER, "bash cd ..", &reply), KITH_OK);
	CHECK_STR(system_agent_cwd(a, OWNER), "/");
	CHECK_EQ(ask(a, OWNER, "bash cd", &reply), KITH_OK);
	CHECK_STR(system_agent_cwd(a, OWNER), HOME);
	/* A directory that is not there (the check exits 1): cwd unchanged. */
	rec.exit_code = 1;
	model_says("{\"action\":\"navigate\",\"params\":{\"path\":\"nowhere\"}}");
	CHECK_EQ(ask(a, OWNER, "go to nowhere", &reply), KITH_ENOTFOUND);
	CHECK_CONTAINS(reply, "still in " HOME);
	CHECK_STR(system_agent_cwd(a, OWNER), HOME);
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
}

static void test_history_and_jobs(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a = agent_with(OWNER, llm, false);
	char *reply = NULL;

	model_says("{\"action\":\"history\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "history", &reply), KITH_OK);
	CHECK_STR(reply, "no commands yet");
	CHECK_EQ(ask(a, OWNER, "bash uname -a", &reply), KITH_OK);
	rec.exit_code = 2;
	CHECK_EQ(ask(a, OWNER, "bash ls /nope", &reply), KITH_OK);
	CHECK_CONTAINS(reply, "exit 2");
	model_says("{\"action\":\"history\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "what did we run", &reply), KITH_OK);
	CHECK_CONTAINS(reply, "`uname -a` → exit 0\n`ls /nope` → exit 2");
	model_says("{\"action\":\"jobs\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "jobs?", &reply), KITH_OK);
	CHECK_CONTAINS(reply, "no background jobs");
	CHECK_EQ(rec.n, 2);
	free(reply);
	system_agent_free(a);
	llm_client_free(llm);
}

static void test_output_is_capped_and_shaped(void)
{
	struct llm_client *llm = client_at(fake_llm_url(fake));
	struct system_agent *a;
	char *big = xmalloc(20001), *reply = NULL;

	a = system_agent_new(&(struct system_agent_config){ .approver = OWNER, .llm = llm,
		.home = HOME, .max_reply = 1000, .exec = record, .exec_ud = &rec });
	recorder_reset(&rec);
	memset(big, 'x', 20000);
	big[20000] = '\0';
	rec.output = big;
	CHECK_EQ(ask(a, OWNER, "bash cat big", &reply), KITH_OK);
	CHECK(strlen(reply) < 1100);
	CHECK_CONTAINS(reply, "output cut: 19000 more bytes");
	/* processes: the header plus matching lines, found in code. */
	rec.output = "USER PID COMMAND\nroot 1 init\nwww 7 nginx: worker\nme 9 bash\n";
	model_says("{\"action\":\"processes\",\"params\":{\"filter\":\"NGINX\"}}");
	CHECK_EQ(ask(a, OWNER, "is nginx running", &reply), KITH_OK);
	CHECK_STR(reply, "USER PID COMMAND\nwww 7 nginx: worker");
	/* port: only ss's header means nothing listens. */
	rec.output = "Netid State Recv-Q Send-Q Local Address:Port\n";
	model_says("{\"action\":\"port\",\"params\":{\"port\":3000}}");
	CHECK_EQ(ask(a, OWNER, "what's on port 3000", &reply), KITH_OK);
	CHECK_STR(reply, "nothing is listening on port 3000");
	/* large files: sorted by size, largest first. */
	rec.output = "60000000\t/a\n900000000\t/b c\n70000000\t/d\n";
	model_says("{\"action\":\"large_files\",\"params\":{}}");
	CHECK_EQ(ask(a, OWNER, "big files?", &reply), KITH_OK);
	CHECK_STR(reply, "   900.0 MB  /b c\n    70.0 MB  /d\n    60.0 MB  /a");
	free(reply);
	free(big);
	system_agent_free(a);
	llm_client_free(llm);
	recorder_reset(&rec);
}

static void test_runs_are_audited_without_secrets(void)
{
	char *path = test_path("audit.log"), *why = NULL, *reply = NULL;
	struct system_agent *a = agent_with(OWNER, NULL, false);
	FILE *f;
	char text[8192];
	size_t n;

	log_add_secret("sekrit-token-value");
	REQUIRE(log_open_file(path, LOG_INFO, 0, 0, &why) == KITH_OK);
	CHECK_EQ(ask(a, OWNER, "bash echo hi there", &reply), KITH_OK);
	CHECK_EQ(ask(a, OWNER, "bash curl -H 'Authorization: sekrit-token-value' x", &reply),
		 KITH_OK);
	CHECK_EQ(ask(a, OWNER, "bash ls; rm -rf ~", &reply), KITH_EINVAL);
	CHECK_EQ(ask(a, "666", "bash id", &reply), KITH_EAUTH);
	log_close();
	f = fopen(path, "r");
	REQUIRE(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	CHECK_CONTAINS(text, "owner=" OWNER " ran \"echo hi there\" in " HOME ": exit 0");
	CHECK_CONTAINS(text, "refused a command");
	CHECK_CONTAINS(text, "non-owner");
	CHECK(!strstr(text, "sekrit-token-value"));
	log_clear_secrets();
	free(reply);
	free(path);
	free(why);
	system_agent_free(a);
}

/* Without a tmux token commands run directly (posix_spawn, no shell). */
static void test_direct_execution(void)
{
	struct system_agent *a = system_agent_new(&(struct system_agent_config){
		.approver = OWNER, .home = test_tmpdir(), .timeout_s = 10 });
	char *reply = NULL;

	CHECK_EQ(ask(a, OWNER, "bash echo hello", &reply), KITH_OK);
	CHECK_STR(reply, "hello");
	CHECK_EQ(ask(a, OWNER, "bash printf '<%s>' 'a b' '$(id)' \\;", &reply), KITH_OK);
	CHECK_STR(reply, "<a b><$(id)><;>");
	CHECK_EQ(ask(a, OWNER, "bash cd /", &reply), KITH_OK);
	CHECK_EQ(ask(a, OWNER, "bash pwd", &reply), KITH_OK);
	CHECK_STR(reply, "/");
	CHECK_EQ(ask(a, OWNER, "bash sh -c 'exit 3'", &reply), KITH_OK);
	CHECK_CONTAINS(reply, "exit 3");
	CHECK_EQ(ask(a, OWNER, "bash no-such-program-kith-xyz", &reply), KITH_ENOTFOUND);
	CHECK_CONTAINS(reply, "no program called");
	/* The environment is PATH, HOME and LANG only: no secrets to print. */
	setenv("KITH_TEST_SECRET_ENV", "do-not-print-me", 1);
	CHECK_EQ(ask(a, OWNER, "bash env", &reply), KITH_OK);
	CHECK(!strstr(reply, "do-not-print-me"));
	CHECK_CONTAINS(reply, "PATH=");
	unsetenv("KITH_TEST_SECRET_ENV");
	free(reply);
	reply = NULL;
	system_agent_free(a);
	/* Shell mode needs tmux: without it the line is refused, not run by sh. */
	a = system_agent_new(&(struct system_agent_config){ .approver = OWNER, .shell_mode = true,
		.home = test_tmpdir() });
	CHECK_EQ(ask(a, OWNER, "bash echo a; echo b", &reply), KITH_EUNSUPPORTED);
	CHECK_CONTAINS(reply, "tmux");
	free(reply);
	system_agent_free(a);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake)
		return 1;
	log_set_stderr_level(LOG_OFF);
	RUN(test_non_owner_runs_nothing);
	RUN(test_unset_approver_means_nobody);
	RUN(test_model_unavailable_runs_nothing);
	RUN(test_model_errors_and_nonsense_run_nothing);
	RUN(test_model_cannot_run_its_own_commands);
	RUN(test_model_request_uses_the_util_role_and_a_schema);
	RUN(test_bash_runs_exactly_the_argv);
	RUN(test_bash_with_operators_never_reaches_a_shell);
	RUN(test_shell_mode_sends_the_line_as_typed);
	RUN(test_actions_build_the_right_argv);
	RUN(test_invalid_params_are_refused);
	RUN(test_cwd_is_kept_across_requests);
	RUN(test_history_and_jobs);
	RUN(test_output_is_capped_and_shaped);
	RUN(test_runs_are_audited_without_secrets);
	RUN(test_direct_execution);
	recorder_reset(&rec);
	memories_reset(&mem);
	fake_llm_stop(fake);
	return test_summary();
}
