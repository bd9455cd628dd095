/* test_commands.c — the slash commands through the whole `kith chat`
 * (console channel, dispatcher, command table, command log) against the
 * fake LLM, the fake GitHub and the fake Fastmail:
 *   - /commands lists every command, and those that need a service say so;
 *   - /bug files an issue through the GitHub App (JWT verified by the fake);
 *   - /email answers from the mailbox through search and read tools, only
 *     for the owner;
 *   - /schedule saves a cron task and /unschedule removes it;
 *   - commands never become conversation: no message rows, all logged;
 *   - unconfigured services: the command says what to set. */
#include "support/test.h"
#include "support/itest.h"
#include "fakes/fake_github.h"
#include "fakes/fake_jmap.h"
#include "fakes/fake_llm.h"
#include "core/alloc.h"
#include "core/json.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#define MAIL_TOKEN "fmu1-mail-token-never-shown"

static struct fake_llm *llm;
/* The smallest PNG: its signature and an IHDR chunk are what the type
 * sniffing reads. */
static const unsigned char png[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
	0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
};
static struct fake_github *gh;
static struct fake_jmap *mail;
static char *key_path;

static bool make_key(void)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	BIO *mem = BIO_new(BIO_s_mem());
	FILE *fp;
	char *p, *pub;
	long n;
	bool ok;

	key_path = test_path("github-app.pem");
	fp = fopen(key_path, "w");
	if (!pk || !fp || !mem) {
		if (fp)
			fclose(fp);
		EVP_PKEY_free(pk);
		BIO_free(mem);
		return false;
	}
	PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	PEM_write_bio_PUBKEY(mem, pk);
	n = BIO_get_mem_data(mem, &p);
	pub = xstrndup(p, (size_t)n);
	ok = fake_github_set_app(gh, "31337", pub, "4242", "kith-project/kith");
	free(pub);
	BIO_free(mem);
	EVP_PKEY_free(pk);
	return ok;
}

static void env_for(struct kith_env *e, const char *name, const char *user)
{
	kith_env_init(e, name);
	kith_env_set(e, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(e, "OLLAMA_FOREGROUND_MODEL", "test-model");
	kith_env_set(e, "USER", user);
	kith_env_set(e, "APPROVAL_USER_ID", "ana");
	kith_env_set(e, "GITHUB_APP_ID", "31337");
	kith_env_set(e, "GITHUB_APP_INSTALLATION_ID", "4242");
	kith_env_set(e, "GITHUB_APP_PRIVATE_KEY_PATH", key_path);
	kith_env_set(e, "GITHUB_REPO", "kith-project/kith");
	kith_env_set(e, "GITHUB_API_URL", fake_github_url(gh));
	kith_env_set(e, "FASTMAIL_API_TOKEN", MAIL_TOKEN);
	kith_env_set(e, "JMAP_SESSION_URL", fake_jmap_session_url(mail));
	kith_env_set(e, "SEL_TIMEZONE", "Europe/Berlin");
	kith_env_set(e, "OLLAMA_IMAGE_MODEL", "test-painter");
}

static void test_owner_commands(void)
{
	struct kith_env e;
	struct proc_result r;
	json_t *issue = NULL;

	env_for(&e, "cmds-owner", "ana");
	fake_jmap_add(mail, &(struct fake_jmap_email){
		.from_name = "Bob", .from_email = "bob@example.com",
		.subject = "Dinner on Friday", .text = "Shall we meet at 7 at the usual place?" });
	/* /email: search, read, answer. */
	fake_llm_push(llm, &(struct fake_reply){ .tool_name = "search_emails",
						   .tool_args = "{\"from_addr\":\"bob\"}" });
	fake_llm_push(llm, &(struct fake_reply){ .tool_name = "read_emails",
						   .tool_args = "{\"email_ids\":[\"M1\"]}" });
	fake_llm_push(llm, &(struct fake_reply){ .content = "Bob asks to meet Friday at 7." });
	fake_llm_set_image(llm, png, sizeof(png));
	REQUIRE(kith_run(&e, "/commands\n/bug the reply was cut off mid-sentence\n"
			     "/email what did Bob write?\n/schedule 30 8 * * 1-5 the weather today\n"
			     "/schedule\n/unschedule 1\n/unschedule 5\n/draw a red fox\n"
			     "/profile location Lisbon, Portugal\n/mute\n/mute\n/unmute\n", &r, "chat",
			     NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.out, "/bug DESCRIPTION");
	CHECK_CONTAINS(r.out, "/email QUESTION");
	CHECK(!strstr(r.out, "not set up here"));   /* all configured */
	CHECK_CONTAINS(r.out, "Bug filed: ");
	CHECK_EQ(fake_github_issue_count(gh), 1);
	for (size_t i = 0; i < fake_github_request_count(gh); i++) {
		char *path = fake_github_request_path(gh, i);

		if (path && strstr(path, "/repos/kith-project/kith/issues"))
			issue = fake_github_request_json(gh, i);
		free(path);
	}
	REQUIRE(issue);
	CHECK_STR(kjson_str(issue, "title"), "the reply was cut off mid-sentence");
	CHECK(!strstr(kjson_str(issue, "body"), "ana"));
	json_decref(issue);
	CHECK_CONTAINS(r.out, "Bob asks to meet Friday at 7.");
	CHECK(fake_jmap_request_count(mail) >= 2);
	CHECK_CONTAINS(r.out, "30 8 * * 1-5");
	CHECK_CONTAINS(r.out, "the weather today");
	CHECK_CONTAINS(r.out, "You have no schedules");   /* /unschedule 5 */
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM user_schedules"), 0);
	/* /draw: the picture is attached to the reply. */
	CHECK_CONTAINS(r.out, "bytes]");
	CHECK_CONTAINS(r.out, "Europe/Lisbon");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM user_profile WHERE timezone = "
				   "'Europe/Lisbon'"), 1);
	CHECK_CONTAINS(r.out, "already muted");
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM user_mutes"), 0);
	/* Commands are logged, never conversation. */
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM messages"), 0);
	CHECK_EQ(db_int(e.db_path, "SELECT count(*) FROM command_log"), 12);
	CHECK(!strstr(r.out, MAIL_TOKEN) && !strstr(r.err, MAIL_TOKEN));
	proc_result_release(&r);
	kith_env_release(&e);
}

static void test_stranger_and_unconfigured(void)
{
	struct kith_env e;
	struct proc_result r;
	size_t mail_before = fake_jmap_request_count(mail);

	env_for(&e, "cmds-stranger", "bob");
	REQUIRE(kith_run(&e, "/email what did ana write?\n/config HEAT_DECAY_RATE 0.1\n"
			     "/sel_run_agent dice 1d6\n", &r, "chat", NULL) == 0);
	CHECK_CONTAINS(r.out, "Only the owner may use /email.");
	CHECK_CONTAINS(r.out, "Only the owner may change settings.");
	CHECK_CONTAINS(r.out, "Only the owner may use /sel_run_agent.");
	CHECK_EQ(fake_jmap_request_count(mail), mail_before);
	proc_result_release(&r);
	kith_env_release(&e);

	kith_env_init(&e, "cmds-unconfigured");
	kith_env_set(&e, "OLLAMA_API_URL", fake_llm_url(llm));
	kith_env_set(&e, "USER", "ana");
	kith_env_set(&e, "APPROVAL_USER_ID", "ana");
	REQUIRE(kith_run(&e, "/bug it broke\n/email anything?\n/commands\n", &r, "chat", NULL) == 0);
	CHECK_CONTAINS(r.out, "/bug is not set up here. Set GITHUB_APP_ID");
	CHECK_CONTAINS(r.out, "/email is not set up here. Set FASTMAIL_API_TOKEN");
	CHECK_CONTAINS(r.out, "(not set up here)");
	proc_result_release(&r);
	kith_env_release(&e);
}

int main(void)
{
	llm = fake_llm_start(FAKE_LLM_OLLAMA);
	gh = fake_github_start();
	mail = fake_jmap_start();
	if (!llm || !gh || !mail)
		return 1;
	fake_jmap_set_token(mail, MAIL_TOKEN);
	if (!make_key())
		return 1;
	RUN(test_owner_commands);
	RUN(test_stranger_and_unconfigured);
	fake_jmap_stop(mail);
	fake_github_stop(gh);
	fake_llm_stop(llm);
	free(key_path);
	return test_summary();
}
