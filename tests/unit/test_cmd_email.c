/* test_cmd_email.c — /email end to end: the fake LLM plays the model
 * (scripted tool calls, then an answer) and the fake JMAP server the
 * mailbox.  Covers the owner-only rule, the needs sentence, usage, the
 * search → read → answer loop with what the model is shown, a repeated
 * call refused without reaching Fastmail, the tool-less last step, a tool
 * error handed to the model, and a model failure in the reply. */
#include "agent/agent.h"
#include "agent/agent_task.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/json.h"
#include "fakes/fake_jmap.h"
#include "fakes/fake_llm.h"
#include "llm/llm.h"
#include "support/test.h"
#include "tools/jmap.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN "fmu1-cmd-token-789"

struct fx {
	struct fake_llm *llm_srv;
	struct fake_jmap *jmap;
	struct llm_client *llm;
	struct config *cfg;
	struct agent_deps deps;
};

static bool fx_open(struct fx *f, bool with_token)
{
	static const struct fake_jmap_email mails[] = {
		{ .id = "Mflight", .from_name = "TAP Air", .from_email = "noreply@flytap.example",
		  .subject = "Your flight to Lisbon", .received_at = "2026-03-02T08:15:00Z",
		  .text = "Flight TP123 leaves at 10:40 on 12 March from gate B7." },
		{ .id = "Mbill", .from_email = "billing@power.example", .subject = "March invoice",
		  .received_at = "2026-03-05T12:00:00Z", .text = "Amount due: 42 EUR." },
	};
	struct llm_config lc;
	char *e[8], *why = NULL;
	int n = 0;

	memset(f, 0, sizeof(*f));
	jmap_client_forget(jmap_shared());
	f->llm_srv = fake_llm_start(FAKE_LLM_OLLAMA);
	f->jmap = fake_jmap_start();
	if (!f->llm_srv || !f->jmap)
		return false;
	fake_jmap_set_token(f->jmap, TOKEN);
	for (size_t i = 0; i < sizeof(mails) / sizeof(*mails); i++)
		fake_jmap_add(f->jmap, &mails[i]);
	llm_config_init(&lc);
	lc.base_url = xstrdup(fake_llm_url(f->llm_srv));
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	f->llm = llm_client_new(&lc);
	llm_config_release(&lc);
	e[n++] = xasprintf("KITH_DATA_DIR=%s", test_tmpdir());
	e[n++] = xasprintf("JMAP_SESSION_URL=%s", fake_jmap_session_url(f->jmap));
	e[n++] = xstrdup("APPROVAL_USER_ID=owner-1");
	e[n++] = xstrdup("JMAP_REQUEST_TIMEOUT=5");
	if (with_token)
		e[n++] = xstrdup("FASTMAIL_API_TOKEN=" TOKEN);
	e[n] = NULL;
	if (config_load(&f->cfg, (const char *const *)e, test_tmpdir(), &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "config: %s", why ? why : "?");
	for (int i = 0; e[i]; i++)
		free(e[i]);
	free(why);
	f->deps.llm = f->llm;
	f->deps.cfg = f->cfg;
	f->deps.timezone = "UTC";
	return f->cfg != NULL;
}

static void fx_close(struct fx *f)
{
	config_free(f->cfg);
	llm_client_free(f->llm);
	fake_llm_stop(f->llm_srv);
	fake_jmap_stop(f->jmap);
}

static char *email(struct fx *f, const char *user, const char *args, enum kith_status *rc)
{
	struct inbound ev = { .conversation = "default", .author_id = (char *)user,
			      .text = (char *)"/email" };
	struct cmd_ctx ctx = { .deps = &f->deps, .ev = &ev };
	char *reply = NULL;

	*rc = cmd_email(&ctx, args, &reply);
	return reply;
}

static void tool_call(struct fx *f, const char *name, const char *args)
{
	struct fake_reply r = { .tool_name = name, .tool_args = args };

	fake_llm_push(f->llm_srv, &r);
}

static void say(struct fx *f, const char *text)
{
	struct fake_reply r = { .content = text };

	fake_llm_push(f->llm_srv, &r);
}

/* Message k of chat request i: its role and content. */
static const char *msg(json_t *req, size_t k, const char **role)
{
	json_t *m = json_array_get(kjson_arr(req, "messages"), k);

	if (role)
		*role = kjson_str(m, "role");
	return kjson_str(m, "content");
}

static void test_gates(void)
{
	struct fx f;
	struct cmd_ctx ctx = { 0 };
	enum kith_status rc;
	char *r;

	REQUIRE(fx_open(&f, true));
	ctx.deps = &f.deps;
	CHECK(cmd_email_needs(&ctx) == NULL);
	r = email(&f, "stranger", "what's in my inbox?", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_STR(r, "Email is private: only the owner may use /email.");
	free(r);
	r = email(&f, "owner-1", "", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "Usage: /email QUESTION");
	free(r);
	CHECK_EQ(fake_llm_request_count(f.llm_srv), 0);
	CHECK_EQ(fake_jmap_request_count(f.jmap), 0);
	fx_close(&f);

	REQUIRE(fx_open(&f, false));
	ctx.deps = &f.deps;
	CHECK_STR(cmd_email_needs(&ctx), "Set FASTMAIL_API_TOKEN (a Fastmail API token with mail "
					 "read access) to use /email.");
	r = email(&f, "owner-1", "anything?", &rc);
	CHECK_EQ(rc, KITH_EUNSUPPORTED);
	CHECK_CONTAINS(r, "FASTMAIL_API_TOKEN");
	free(r);
	fx_close(&f);
}

static void test_answer(void)
{
	struct fx f;
	enum kith_status rc;
	json_t *req;
	const char *role, *content;
	char *r;

	REQUIRE(fx_open(&f, true));
	tool_call(&f, "search_emails", "{\"text\":\"flight\"}");
	tool_call(&f, "read_emails", "{\"email_ids\":[\"Mflight\"]}");
	say(&f, "Your flight TP123 to Lisbon leaves at 10:40 on 12 March (\"Your flight to "
		"Lisbon\", 2 March).");
	r = email(&f, "owner-1", "when does my flight to Lisbon leave?", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Your flight TP123 to Lisbon leaves at 10:40 on 12 March (\"Your flight to "
		     "Lisbon\", 2 March).");
	free(r);
	CHECK_EQ(fake_llm_request_count(f.llm_srv), 3);

	/* first step: the system prompt, the question, both tools */
	req = fake_llm_request_json(f.llm_srv, 0);
	CHECK_STR(kjson_str(req, "model"), "main-m");
	content = msg(req, 0, &role);
	CHECK_STR(role, "system");
	CHECK_CONTAINS(content, "search_emails");
	CHECK_CONTAINS(content, "(UTC)");
	content = msg(req, 1, &role);
	CHECK_STR(role, "user");
	CHECK_STR(content, "when does my flight to Lisbon leave?");
	CHECK_EQ(json_array_size(kjson_arr(req, "tools")), 2);
	json_decref(req);

	/* last step: it saw the search list and the email's text */
	req = fake_llm_request_json(f.llm_srv, 2);
	content = msg(req, 3, &role);
	CHECK_STR(role, "tool");
	CHECK_CONTAINS(content, "Found 1 email(s):\n\n[Mflight] 2026-03-02T08:15:00Z");
	content = msg(req, 5, &role);
	CHECK_STR(role, "tool");
	CHECK_CONTAINS(content, "Subject: Your flight to Lisbon\n");
	CHECK_CONTAINS(content, "gate B7");
	r = kjson_dump(req, false);
	CHECK(!strstr(r, TOKEN));
	free(r);
	json_decref(req);

	/* Fastmail: a session, one search, one read */
	CHECK_EQ(fake_jmap_request_count(f.jmap), 3);
	CHECK_EQ(fake_jmap_session_fetches(f.jmap), 1);
	fx_close(&f);
}

static void test_loop_limits(void)
{
	struct fx f;
	enum kith_status rc;
	json_t *req;
	const char *role, *content;
	char *r;

	REQUIRE(fx_open(&f, true));
	/* the same search twice (refused), a bad date (tool error), then
	 * more calls until the tool-less last step */
	tool_call(&f, "search_emails", "{\"subject\":\"invoice\"}");
	tool_call(&f, "search_emails", "{\"subject\":\"invoice\"}");
	tool_call(&f, "search_emails", "{\"after\":\"yesterday\"}");
	tool_call(&f, "read_emails", "{\"email_ids\":[\"Mbill\"]}");
	say(&f, "You owe 42 EUR (\"March invoice\", 5 March).");
	r = email(&f, "owner-1", "how much is my power bill?", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "You owe 42 EUR (\"March invoice\", 5 March).");
	free(r);
	CHECK_EQ(fake_llm_request_count(f.llm_srv), 5);
	/* session + first search + read; the repeat and the bad date sent nothing */
	CHECK_EQ(fake_jmap_request_count(f.jmap), 3);

	req = fake_llm_request_json(f.llm_srv, 2);
	content = msg(req, 5, &role);
	CHECK_STR(role, "tool");
	CHECK_CONTAINS(content, "already called with exactly these arguments");
	json_decref(req);
	req = fake_llm_request_json(f.llm_srv, 3);
	content = msg(req, 7, &role);
	CHECK_CONTAINS(content, "'yesterday' is not a UTC date");
	json_decref(req);
	req = fake_llm_request_json(f.llm_srv, 4);   /* step 5 of 5: no tools, told to answer */
	CHECK(!json_array_size(kjson_arr(req, "tools")));
	content = msg(req, json_array_size(kjson_arr(req, "messages")) - 1, &role);
	CHECK_STR(role, "system");
	CHECK_CONTAINS(content, "answer now");
	json_decref(req);
	fx_close(&f);
}

static void test_failures(void)
{
	struct fx f;
	enum kith_status rc;
	struct fake_reply boom = { .status = 500, .error_body = "{\"error\":\"model crashed\"}" };
	char *r;

	REQUIRE(fx_open(&f, true));
	fake_llm_push(f.llm_srv, &boom);
	r = email(&f, "owner-1", "anything from Ana?", &rc);
	CHECK(rc != KITH_OK);
	CHECK_CONTAINS(r, "Couldn't search your email: ");
	free(r);

	/* a refused token reaches the model as a tool error, not the owner */
	fake_jmap_set_token(f.jmap, "rotated");
	tool_call(&f, "search_emails", "{\"text\":\"ana\"}");
	say(&f, "I couldn't get into your mailbox: the token was refused.");
	r = email(&f, "owner-1", "anything from Ana?", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);
	{
		json_t *req = fake_llm_request_json(f.llm_srv, 2);
		const char *content = msg(req, 3, NULL);

		CHECK_CONTAINS(content, "the Fastmail token was refused");
		CHECK(!strstr(content, TOKEN));
		json_decref(req);
	}

	/* an empty final answer is a failure of the task */
	say(&f, "   ");
	r = email(&f, "owner-1", "anything?", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_STR(r, "Couldn't search your email: the model gave no answer");
	free(r);
	fx_close(&f);
}

/* agent_task on its own: no tools, no system prompt, one step. */
static void test_task_plain(void)
{
	struct fx f;
	struct agent_task t = { 0 };
	struct agent_task_result res;
	char *why = NULL;
	json_t *req;

	REQUIRE(fx_open(&f, true));
	say(&f, "pong");
	t.llm = f.llm;
	t.role = LLM_ROLE_UTIL;
	t.prompt = "ping";
	CHECK_EQ(agent_task_run(&t, &res, &why), KITH_OK);
	CHECK_STR(res.text, "pong");
	CHECK_EQ(res.llm_calls, 1);
	CHECK_EQ(res.tool_calls, 0);
	agent_task_result_release(&res);
	req = fake_llm_request_json(f.llm_srv, 0);
	CHECK_STR(kjson_str(req, "model"), "util-m");
	CHECK_EQ(json_array_size(kjson_arr(req, "messages")), 1);
	json_decref(req);
	fx_close(&f);
}

int main(void)
{
	RUN(test_gates);
	RUN(test_answer);
	RUN(test_loop_limits);
	RUN(test_failures);
	RUN(test_task_plain);
	return test_summary();
}
