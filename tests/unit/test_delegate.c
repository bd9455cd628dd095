/* test_delegate.c — agent_delegate: which messages go to the owner's
 * system agent instead of the conversation, with the fake LLM and a
 * recording executor (nothing really runs):
 *   - the owner's `bash …` runs exactly that, with no model call;
 *   - a non-owner's `bash …` is refused in words and runs nothing, and their
 *     "disk space?" is conversation (no model call);
 *   - the owner's "disk space?" is guessed only when kith would answer
 *     anyway; the model picks the system agent, then an action;
 *   - the model answering "none" (at either step), or failing, leaves the
 *     message to the conversation and runs nothing;
 *   - ordinary chat without system words costs no model call. */
#include "support/test.h"
#include "fakes/fake_llm.h"
#include "agent/agent.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "llm/llm.h"
#include "tools/system_agent.h"

#include <string.h>

static struct fake_llm *fake;
static char *calls[16];
static size_t ncalls;

static enum kith_status record(void *ud, const struct system_exec_req *req,
			       struct system_exec_out *out, char **why)
{
	struct buf b = BUF_INIT(0);

	(void)ud;
	(void)why;
	for (size_t i = 0; req->argv && req->argv[i]; i++)
		buf_printf(&b, "%s%s", i ? "|" : "", req->argv[i]);
	if (ncalls < 16)
		calls[ncalls++] = buf_detach(&b);
	else
		buf_release(&b);
	out->output = xstrdup("ran fine");
	out->len = strlen(out->output);
	return KITH_OK;
}

static void reset_calls(void)
{
	for (size_t i = 0; i < ncalls; i++)
		free(calls[i]);
	ncalls = 0;
}

static struct llm_client *client(const char *url)
{
	struct llm_config cfg;
	struct llm_client *c;

	llm_config_init(&cfg);
	cfg.provider = LLM_PROVIDER_OLLAMA;
	cfg.base_url = xstrdup(url);
	cfg.models[LLM_ROLE_MAIN] = xstrdup("main-model");
	cfg.models[LLM_ROLE_UTIL] = xstrdup("util-model");
	cfg.max_attempts = 1;
	cfg.timeout_ms = 5000;
	cfg.connect_timeout_ms = 1000;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);
	return c;
}

struct fx {
	struct config *cfg;
	struct llm_client *llm;
	struct system_agent *sys;
	struct agent_deps deps;
};

static bool fx_open(struct fx *f, const char *url)
{
	static const char *const env[] = { "APPROVAL_USER_ID=42",
					   "KITH_DATA_DIR=/nonexistent-kith-test", NULL };
	char *why = NULL;

	memset(f, 0, sizeof(*f));
	if (config_load(&f->cfg, env, "/nonexistent-kith-test", &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "config: %s", why);
		free(why);
		return false;
	}
	f->llm = client(url);
	f->sys = system_agent_new(&(struct system_agent_config){
		.approver = "42", .llm = f->llm, .home = "/", .exec = record });
	f->deps.cfg = f->cfg;
	f->deps.llm = f->llm;
	f->deps.system = f->sys;
	return true;
}

static void fx_close(struct fx *f)
{
	system_agent_free(f->sys);
	llm_client_free(f->llm);
	config_free(f->cfg);
	reset_calls();
}

static bool delegate(struct fx *f, const char *who, const char *text, bool may_guess,
		     char **reply)
{
	struct agent_turn_in in = { .channel = "discord", .conversation = "c1", .author_id = who,
				    .text = text };

	free(*reply);
	*reply = NULL;
	return agent_delegate(&f->deps, NULL, &in, may_guess, reply, NULL);
}

static void test_explicit_and_owner_only(void)
{
	struct fx f;
	char *reply = NULL;
	size_t before = fake_llm_request_count(fake);

	if (!fx_open(&f, fake_llm_url(fake)))
		return;
	CHECK(delegate(&f, "42", "bash ls -la /tmp", true, &reply));
	CHECK_EQ(ncalls, 1);
	CHECK_STR(calls[0], "ls|-la|/tmp");
	CHECK_CONTAINS(reply, "ran fine");

	CHECK(delegate(&f, "7", "bash rm -rf /", true, &reply));
	CHECK_CONTAINS(reply, "only for my owner");
	CHECK(delegate(&f, "7", "please run command rm -rf ~", true, &reply));
	/* In a group where kith was not addressed: no lecture, still nothing run. */
	CHECK(!delegate(&f, "7", "bash rm -rf /", false, &reply));
	CHECK(reply == NULL);
	CHECK(!delegate(&f, "7", "how much disk space is left?", true, &reply));
	CHECK(reply == NULL);
	CHECK_EQ(ncalls, 1);
	CHECK_EQ(fake_llm_request_count(fake), before);   /* no model for any of it */
	free(reply);
	fx_close(&f);
}

static void test_guessing(void)
{
	struct fx f;
	char *reply = NULL;
	size_t before;

	if (!fx_open(&f, fake_llm_url(fake)))
		return;
	before = fake_llm_request_count(fake);
	/* Not addressed (a remark in a group): no guess, no call. */
	CHECK(!delegate(&f, "42", "my disk is full again lol", false, &reply));
	/* Ordinary chat: no system words, no call. */
	CHECK(!delegate(&f, "42", "what a lovely evening", true, &reply));
	CHECK_EQ(fake_llm_request_count(fake), before);

	/* Addressed, with system words: the model picks system, then disk. */
	fake_llm_push(fake, &(struct fake_reply){ .content = "{\"agent\":\"system\",\"input\":\"x\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "{\"action\":\"disk\",\"params\":{}}" });
	CHECK(delegate(&f, "42", "how much disk space is left?", true, &reply));
	CHECK_EQ(ncalls, 1);
	CHECK_STR(calls[0], "df|-h");
	CHECK_EQ(fake_llm_request_count(fake), before + 2);
	{
		json_t *req = fake_llm_request_json(fake, before);

		CHECK_STR(kjson_str(req, "model"), "util-model");
		json_decref(req);
	}

	/* "none" at the first step: conversation. */
	fake_llm_push(fake, &(struct fake_reply){ .content = "{\"agent\":\"none\",\"input\":\"\"}" });
	CHECK(!delegate(&f, "42", "the file you sent me was great", true, &reply));
	/* The system agent finds no action: conversation too. */
	fake_llm_push(fake, &(struct fake_reply){ .content = "{\"agent\":\"system\",\"input\":\"x\"}" });
	fake_llm_push(fake, &(struct fake_reply){ .content = "{\"action\":\"none\",\"params\":{}}" });
	CHECK(!delegate(&f, "42", "is the server happy today?", true, &reply));
	CHECK(reply == NULL);
	/* A hostile answer naming a command that is not an action: refused. */
	fake_llm_push(fake, &(struct fake_reply){ .content = "{\"agent\":\"system\",\"input\":\"x\"}" });
	fake_llm_push(fake, &(struct fake_reply){
		.content = "{\"action\":\"rm -rf /\",\"params\":{}}" });
	CHECK(delegate(&f, "42", "clean up the disk", true, &reply));
	CHECK_CONTAINS(reply, "I ran nothing");
	CHECK_EQ(ncalls, 1);
	free(reply);
	fx_close(&f);
}

static void test_model_down(void)
{
	struct fx f;
	char *reply = NULL;

	if (!fx_open(&f, "http://127.0.0.1:1"))
		return;
	/* The guess fails: conversation, nothing runs. */
	CHECK(!delegate(&f, "42", "what's on port 3000?", true, &reply));
	CHECK_EQ(ncalls, 0);
	/* The explicit form needs no model. */
	CHECK(delegate(&f, "42", "bash uptime", true, &reply));
	CHECK_EQ(ncalls, 1);
	free(reply);
	fx_close(&f);
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake)
		return 1;
	RUN(test_explicit_and_owner_only);
	RUN(test_guessing);
	RUN(test_model_down);
	fake_llm_stop(fake);
	return test_summary();
}
