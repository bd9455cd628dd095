/* test_github.c — /bug and /feature against the fake GitHub: the JWT (RS256
 * signature checked by the fake with the public key, iss, exp - iat = 660),
 * the installation token and its cache (also its expiry, with a pinned
 * clock), the issue's title, body and labels, the body never naming the
 * user, the "Refers to" line for a quote-reply to kith, what happens when
 * nothing is configured, and every failure answered in words (401, 403,
 * 500, a missing key, malformed answers).  The title rules are tested on
 * github_issue_title directly. */
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "fakes/fake_github.h"
#include "store/store.h"
#include "support/storetest.h"
#include "support/test.h"
#include "tools/github.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APP_ID "123456"
#define INSTALLATION "7890"
#define REPO "kith-dev/kith"
#define USER_ID "user-31337"
#define USER_NAME "Ana Nonymous"

static struct fake_github *gh;
static struct store *st;
static char *key_path, *pub_pem, *other_key_path;

static const struct channel_ops discord_ops = { .name = "discord" };
static struct channel discord = { .ops = &discord_ops };

/* ---- fixtures -------------------------------------------------------------- */

static char *write_key(const char *name, char **public_pem)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	char *path = test_path(name);
	FILE *fp = fopen(path, "w");
	BIO *mem;
	char *p;
	long n;

	if (!pk || !fp) {
		test_fail_(__FILE__, __LINE__, "cannot make an RSA key");
		return path;
	}
	PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	if (public_pem) {
		mem = BIO_new(BIO_s_mem());
		PEM_write_bio_PUBKEY(mem, pk);
		n = BIO_get_mem_data(mem, &p);
		*public_pem = xstrndup(p, (size_t)n);
		BIO_free(mem);
	}
	EVP_PKEY_free(pk);
	return path;
}

/* A config with the GitHub settings; `skip` names one to leave out. */
static struct config *load_config(const char *key, const char *repo, const char *skip)
{
	char *env[8];
	size_t n = 0;
	struct config *c = NULL;
	char *why = NULL;

	env[n++] = xasprintf("KITH_DATA_DIR=%s", test_tmpdir());
	env[n++] = xasprintf("GITHUB_API_URL=%s", fake_github_url(gh));
	if (!skip || strcmp(skip, "GITHUB_APP_ID") != 0)
		env[n++] = xstrdup("GITHUB_APP_ID=" APP_ID);
	if (!skip || strcmp(skip, "GITHUB_APP_INSTALLATION_ID") != 0)
		env[n++] = xstrdup("GITHUB_APP_INSTALLATION_ID=" INSTALLATION);
	if (key && (!skip || strcmp(skip, "GITHUB_APP_PRIVATE_KEY_PATH") != 0))
		env[n++] = xasprintf("GITHUB_APP_PRIVATE_KEY_PATH=%s", key);
	if (repo)
		env[n++] = xasprintf("GITHUB_REPO=%s", repo);
	env[n] = NULL;
	if (config_load(&c, (const char *const *)env, test_tmpdir(), &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "config_load: %s", why ? why : "?");
		c = NULL;
	}
	free(why);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	return c;
}

struct run {
	struct agent_deps deps;
	struct inbound ev;
	struct cmd_ctx ctx;
};

static void run_init(struct run *r, struct config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->deps.cfg = cfg;
	r->ev.kind = INBOUND_MESSAGE;
	r->ev.channel = &discord;
	r->ev.conversation = "chan-1";
	r->ev.author_id = USER_ID;
	r->ev.author_name = USER_NAME;
	r->ev.created_at = clock_now_ms();
	r->ctx.deps = &r->deps;
	r->ctx.st = st;
	r->ctx.ev = &r->ev;
}

static char *bug(struct config *cfg, const char *text, enum kith_status *rc)
{
	struct run r;
	char *reply = NULL;

	run_init(&r, cfg);
	r.ev.text = (char *)text;
	*rc = cmd_bug(&r.ctx, text, &reply);
	return reply;
}

static const char *body_of(const json_t *is)
{
	const char *b = kjson_str(is, "body");

	return b ? b : "";
}

static json_t *last_issue_json(void)
{
	size_t n = fake_github_request_count(gh);

	return n ? fake_github_request_json(gh, n - 1) : NULL;
}

static void reset(void)
{
	github_token_cache_clear();
	CHECK(fake_github_set_app(gh, APP_ID, pub_pem, INSTALLATION, REPO));
}

/* ---- the title ------------------------------------------------------------- */

static void check_title(const char *in, const char *want)
{
	char *t = github_issue_title(in);

	CHECK_STR(t, want);
	CHECK(strlen(t) <= GITHUB_TITLE_MAX);
	free(t);
}

static char *repeat(const char *unit, size_t times)
{
	size_t u = strlen(unit);
	char *s = xmalloc(u * times + 1);

	for (size_t i = 0; i < times; i++)
		memcpy(s + i * u, unit, u);
	s[u * times] = '\0';
	return s;
}

static void test_title(void)
{
	char *a60 = repeat("a", 60), *a61 = repeat("a", 61), *e70 = repeat("\xC3\xA9", 70);
	char *e60 = repeat("\xC3\xA9", 60), *want, *emoji = repeat("\xF0\x9F\x90\x9B", 80);
	char *a59 = repeat("a", 59), *in;

	check_title("The reminder fired twice", "The reminder fired twice");
	check_title("  spaced \n\n out\ttext  ", "spaced out text");
	check_title(a60, a60);                               /* exactly 60: as is */
	want = xasprintf("%s...", a60);
	check_title(a61, want);                              /* no space: cut at 60 */
	free(want);
	/* a space before the 60th character: cut there */
	check_title("The scheduler runs the daily digest twice when the clock changes to summer time",
		    "The scheduler runs the daily digest twice when the clock...");
	/* a space right after 60 characters does not count */
	in = xasprintf("%s b", a60);
	want = xasprintf("%s...", a60);
	check_title(in, want);
	free(in);
	free(want);
	/* two-byte characters: 60 characters, 120 bytes, never half of one */
	want = xasprintf("%s...", e60);
	check_title(e70, want);
	free(want);
	/* 59 ASCII then three-byte characters: the 60th is whole */
	in = xasprintf("%s\xE2\x82\xAC\xE2\x82\xAC", a59);
	want = xasprintf("%s\xE2\x82\xAC...", a59);
	check_title(in, want);
	free(in);
	free(want);
	/* four-byte characters stay under 256 bytes */
	{
		char *t = github_issue_title(emoji);

		CHECK_EQ(strlen(t), 60 * 4 + 3);
		CHECK(strncmp(t, emoji, 240) == 0);
		free(t);
	}
	check_title("", "");
	/* invalid UTF-8 (a stray continuation byte, an overlong '/', a cut
	 * sequence) becomes U+FFFD, so the JSON can carry it */
	check_title("bad \x9C byte \xC0\xAF and \xE2\x82", "bad \xEF\xBF\xBD byte "
		    "\xEF\xBF\xBD\xEF\xBF\xBD and \xEF\xBF\xBD\xEF\xBF\xBD");
	{
		char *junk = repeat("\x9C", 300), *t = github_issue_title(junk);

		CHECK(strlen(t) <= GITHUB_TITLE_MAX);
		free(t);
		free(junk);
	}
	free(a60);
	free(a61);
	free(e70);
	free(e60);
	free(emoji);
	free(a59);
}

static void test_repo_and_needs(void)
{
	struct config *cfg;
	struct cmd_ctx ctx = { 0 };
	struct agent_deps deps = { 0 };
	char *reply = NULL;

	CHECK(github_repo_valid("kith-dev/kith"));
	CHECK(github_repo_valid("a.b/c_d"));
	CHECK(!github_repo_valid("kith"));
	CHECK(!github_repo_valid("/kith"));
	CHECK(!github_repo_valid("kith/"));
	CHECK(!github_repo_valid("a/b/c"));
	CHECK(!github_repo_valid("a/.."));
	CHECK(!github_repo_valid("a/b c"));
	CHECK(!github_repo_valid(NULL));

	/* no deps at all */
	CHECK_CONTAINS(cmd_github_needs(&ctx), "GITHUB_APP_ID");
	ctx.deps = &deps;   /* deps without a config */
	CHECK_CONTAINS(cmd_github_needs(&ctx), "GITHUB_REPO");
	CHECK_EQ(cmd_bug(&ctx, "it broke", &reply), KITH_ECONFIG);
	CHECK_STR(reply, "Set GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_PATH, GITHUB_APP_INSTALLATION_ID "
			 "and GITHUB_REPO to file issues.");
	free(reply);

	cfg = load_config(key_path, NULL, NULL);   /* no repo */
	REQUIRE(cfg);
	deps.cfg = cfg;
	CHECK_CONTAINS(cmd_github_needs(&ctx), "GITHUB_REPO");
	config_free(cfg);
	cfg = load_config(key_path, REPO, "GITHUB_APP_INSTALLATION_ID");
	REQUIRE(cfg);
	deps.cfg = cfg;
	CHECK_CONTAINS(cmd_github_needs(&ctx), "GITHUB_APP_INSTALLATION_ID");
	config_free(cfg);
	cfg = load_config(key_path, "just-a-name", NULL);
	REQUIRE(cfg);
	deps.cfg = cfg;
	CHECK_CONTAINS(cmd_github_needs(&ctx), "owner/name");
	config_free(cfg);
	cfg = load_config(key_path, REPO, NULL);
	REQUIRE(cfg);
	deps.cfg = cfg;
	CHECK(cmd_github_needs(&ctx) == NULL);
	config_free(cfg);
}

/* ---- the JWT on its own ------------------------------------------------------ */

static void test_jwt_shape(void)
{
	char *jwt = NULL, *why = NULL, *dot;
	unsigned char raw[256];
	size_t len = 0;

	REQUIRE(github_app_jwt(APP_ID, key_path, 1700000000, &jwt, &why) == KITH_OK);
	dot = strchr(jwt, '.');
	REQUIRE(dot);
	CHECK(!strchr(jwt, '='));
	CHECK(!strchr(jwt, '+'));
	CHECK(!strchr(jwt, '/'));
	REQUIRE(sodium_base642bin(raw, sizeof(raw) - 1, jwt, (size_t)(dot - jwt), NULL, &len, NULL,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
	raw[len] = '\0';
	CHECK_STR((char *)raw, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	free(jwt);

	/* a key that is missing or not PEM is a configuration problem */
	jwt = NULL;
	CHECK_EQ(github_app_jwt(APP_ID, "/nonexistent/key.pem", 1700000000, &jwt, &why),
		 KITH_ECONFIG);
	CHECK(jwt == NULL);
	CHECK_CONTAINS(why, "private key");
	free(why);
	why = NULL;
	{
		char *bad = test_path("not-a-key.pem");
		FILE *fp = fopen(bad, "w");

		REQUIRE(fp);
		fputs("hello\n", fp);
		fclose(fp);
		CHECK_EQ(github_app_jwt(APP_ID, bad, 1700000000, &jwt, &why), KITH_ECONFIG);
		CHECK_CONTAINS(why, "PEM");
		free(why);
		free(bad);
	}
}

/* ---- /bug end to end ------------------------------------------------------- */

static void test_bug_end_to_end(void)
{
	struct config *cfg = load_config(key_path, REPO, NULL);
	struct fake_github_jwt j;
	enum kith_status rc;
	size_t before = fake_github_request_count(gh), jwts = fake_github_jwt_count(gh);
	size_t tokens = fake_github_route_count(gh, FAKE_GITHUB_TOKEN);
	json_t *is, *labels;
	const char *body;
	char *reply, *v;

	REQUIRE(cfg);
	reset();
	reply = bug(cfg, "The reminder fired twice this morning", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(reply, "Bug filed: https://github.com/" REPO "/issues/1");
	free(reply);
	REQUIRE(fake_github_request_count(gh) == before + 2);

	/* the token request */
	v = fake_github_request_method(gh, before);
	CHECK_STR(v, "POST");
	free(v);
	v = fake_github_request_path(gh, before);
	CHECK_STR(v, "/app/installations/" INSTALLATION "/access_tokens");
	free(v);
	v = fake_github_request_header(gh, before, "Accept");
	CHECK_STR(v, "application/vnd.github+json");
	free(v);
	v = fake_github_request_header(gh, before, "X-GitHub-Api-Version");
	CHECK_STR(v, "2022-11-28");
	free(v);
	v = fake_github_request_header(gh, before, "User-Agent");
	CHECK(v && strncmp(v, "kith/", 5) == 0);
	free(v);
	REQUIRE(fake_github_jwt_count(gh) == jwts + 1);
	REQUIRE(fake_github_jwt(gh, jwts, &j));
	CHECK(j.verified);
	CHECK_STR(j.alg, "RS256");
	CHECK_STR(j.iss, APP_ID);
	CHECK_EQ(j.exp - j.iat, 660);
	CHECK(j.iat <= clock_now_ms() / 1000 - 59);
	fake_github_jwt_release(&j);
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_TOKEN), tokens + 1);

	/* the issue */
	v = fake_github_request_path(gh, before + 1);
	CHECK_STR(v, "/repos/" REPO "/issues");
	free(v);
	v = fake_github_request_header(gh, before + 1, "Authorization");
	CHECK(v && strncmp(v, "Bearer ghs_", 11) == 0);
	free(v);
	is = fake_github_request_json(gh, before + 1);
	REQUIRE(is);
	CHECK_STR(kjson_str(is, "title"), "The reminder fired twice this morning");
	labels = kjson_arr(is, "labels");
	CHECK_EQ(json_array_size(labels), 1);
	CHECK_STR(json_string_value(json_array_get(labels, 0)), "bug");
	body = kjson_str(is, "body");
	{
		static const char head[] = "The reminder fired twice this morning\n\n---\n"
					   "Filed via discord at ";

		CHECK(body && strncmp(body, head, strlen(head)) == 0);
	}
	CHECK(body && strstr(body, " UTC") && !strstr(body, "Refers to"));
	CHECK(body && !strstr(body, USER_ID) && !strstr(body, USER_NAME) && !strstr(body, "31337"));
	json_decref(is);

	/* invalid UTF-8 still makes an issue with a title and a body */
	reply = bug(cfg, "caf\xE9 crashed", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	is = last_issue_json();
	REQUIRE(is);
	CHECK_STR(kjson_str(is, "title"), "caf\xEF\xBF\xBD crashed");
	CHECK_CONTAINS(body_of(is), "caf\xEF\xBF\xBD crashed\n\n---\n");
	json_decref(is);
	before++;

	/* a second /bug within the hour needs no new token */
	reply = bug(cfg, "Another one", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(reply, "Bug filed: https://github.com/" REPO "/issues/3");
	free(reply);
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_TOKEN), tokens + 1);
	CHECK_EQ(fake_github_request_count(gh), before + 3);
	config_free(cfg);
}

static int64_t pinned_ms;
static int64_t pinned(void *ctx)
{
	(void)ctx;
	return pinned_ms;
}

static void test_token_expiry(void)
{
	struct config *cfg = load_config(key_path, REPO, NULL);
	size_t tokens = fake_github_route_count(gh, FAKE_GITHUB_TOKEN);
	enum kith_status rc;
	char *reply;

	REQUIRE(cfg);
	reset();
	pinned_ms = clock_now_ms();
	clock_set_source(pinned, NULL);
	reply = bug(cfg, "first", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	pinned_ms += (GITHUB_TOKEN_TTL_S - 1) * 1000LL;
	reply = bug(cfg, "still cached", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_TOKEN), tokens + 1);
	pinned_ms += 2000;
	reply = bug(cfg, "token renewed", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_TOKEN), tokens + 2);
	clock_set_source(NULL, NULL);
	config_free(cfg);
}

static void test_feature_label(void)
{
	struct config *cfg = load_config(key_path, REPO, NULL);
	struct run r;
	enum kith_status rc;
	json_t *is;
	char *reply = NULL;

	REQUIRE(cfg);
	reset();
	run_init(&r, cfg);
	r.ev.channel = NULL;   /* the console's CLI path */
	rc = cmd_feature(&r.ctx, "Let me set reminders in other time zones", &reply);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(reply, "Feature request filed: https://github.com/" REPO "/issues/");
	free(reply);
	is = last_issue_json();
	REQUIRE(is);
	CHECK_EQ(json_array_size(kjson_arr(is, "labels")), 1);
	CHECK_STR(json_string_value(json_array_get(kjson_arr(is, "labels"), 0)), "requirements");
	CHECK_CONTAINS(kjson_str(is, "body"), "\n\n---\nFiled via console at ");
	json_decref(is);

	/* an empty description is a usage sentence, with no request */
	{
		size_t n = fake_github_request_count(gh);

		rc = cmd_feature(&r.ctx, "", &reply);
		CHECK_EQ(rc, KITH_EINVAL);
		CHECK_CONTAINS(reply, "Usage: /feature");
		free(reply);
		rc = cmd_bug(&r.ctx, "  ", &reply);
		CHECK_EQ(rc, KITH_EINVAL);
		CHECK_CONTAINS(reply, "Usage: /bug");
		free(reply);
		CHECK_EQ(fake_github_request_count(gh), n);
	}
	config_free(cfg);
}

/* 2026-03-01 12:34:56 UTC */
#define QUOTED_AT 1772368496000LL

static void test_quote_reply(void)
{
	struct config *cfg = load_config(key_path, REPO, NULL);
	struct new_message kith_msg = {
		.direction = MSG_OUTGOING, .channel = "discord", .conversation = "chan-1",
		.author_id = "kith", .content = "Your reminder is set for 9am.",
		.external_id = "dm-555", .created_at = QUOTED_AT,
	};
	struct new_message user_msg = {
		.direction = MSG_INCOMING, .channel = "discord", .conversation = "chan-1",
		.author_id = USER_ID, .content = "remind me at 9", .external_id = "dm-554",
		.created_at = QUOTED_AT - 1000,
	};
	struct run r;
	enum kith_status rc;
	json_t *is;
	char *reply = NULL, *why = NULL;

	REQUIRE(cfg);
	REQUIRE(st);
	reset();
	REQUIRE(store_message_add(st, &user_msg, NULL, &why) == KITH_OK);
	REQUIRE(store_message_add(st, &kith_msg, NULL, &why) == KITH_OK);

	/* quoting kith's message by its platform id */
	run_init(&r, cfg);
	r.ev.reply_to = "dm-555";
	rc = cmd_bug(&r.ctx, "It set the reminder for 9pm", &reply);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	is = last_issue_json();
	REQUIRE(is);
	CHECK_CONTAINS(kjson_str(is, "body"),
		       "\nRefers to message sent at 2026-03-01 12:34:56 UTC");
	json_decref(is);

	/* by its text (networks without ids) */
	run_init(&r, cfg);
	r.ev.reply_to_text = "Your reminder is set";
	rc = cmd_bug(&r.ctx, "Wrong time again", &reply);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	is = last_issue_json();
	REQUIRE(is);
	CHECK_CONTAINS(kjson_str(is, "body"), "Refers to message sent at 2026-03-01 12:34:56 UTC");
	json_decref(is);

	/* quoting the user's own message, or one not stored: no line */
	run_init(&r, cfg);
	r.ev.reply_to = "dm-554";
	rc = cmd_bug(&r.ctx, "Quoting myself", &reply);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	is = last_issue_json();
	REQUIRE(is);
	CHECK(!strstr(body_of(is), "Refers to"));
	CHECK(!strstr(body_of(is), USER_ID));
	json_decref(is);
	run_init(&r, cfg);
	r.ev.reply_to = "dm-404";
	rc = cmd_bug(&r.ctx, "Quoting nothing", &reply);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	is = last_issue_json();
	REQUIRE(is);
	CHECK(!strstr(body_of(is), "Refers to"));
	json_decref(is);

	/* without a store the line is simply left out */
	run_init(&r, cfg);
	r.ctx.st = NULL;
	r.ev.reply_to = "dm-555";
	rc = cmd_bug(&r.ctx, "No store here", &reply);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	config_free(cfg);
}

/* ---- failures ---------------------------------------------------------------- */

static void test_token_refused(void)
{
	struct config *cfg = load_config(key_path, REPO, NULL), *other;
	enum kith_status rc;
	char *reply;
	size_t issues = fake_github_route_count(gh, FAKE_GITHUB_ISSUE);

	REQUIRE(cfg);
	/* the fake knows the App under another ID: 401 */
	github_token_cache_clear();
	CHECK(fake_github_set_app(gh, "999", pub_pem, INSTALLATION, REPO));
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(reply, "Couldn't file the issue: GitHub refused the App's credentials "
			      "(HTTP 401");
	CHECK_CONTAINS(reply, "GITHUB_APP_ID and the private key");
	CHECK(!strstr(reply, "eyJ"));   /* no JWT */
	free(reply);

	/* signed with another key: the fake's signature check fails, 401 */
	reset();
	other = load_config(other_key_path, REPO, NULL);
	REQUIRE(other);
	reply = bug(other, "it broke", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(reply, "HTTP 401");
	free(reply);
	config_free(other);

	/* an unknown installation: 404 */
	github_token_cache_clear();
	CHECK(fake_github_set_app(gh, APP_ID, pub_pem, "1111", REPO));
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_CONTAINS(reply, "GITHUB_APP_INSTALLATION_ID");
	free(reply);

	/* a missing key file */
	reset();
	other = load_config("no-such-key.pem", REPO, NULL);
	REQUIRE(other);
	reply = bug(other, "it broke", &rc);
	CHECK_EQ(rc, KITH_ECONFIG);
	CHECK_CONTAINS(reply, "Couldn't file the issue: cannot read the GitHub App private key");
	free(reply);
	config_free(other);

	/* a malformed token answer */
	reset();
	{
		struct fake_github_reply bad = { .status = 201, .raw_body = "{\"token\": 42" };
		struct fake_github_reply ctl = { .status = 201,
						 .raw_body = "{\"token\":\"ghs_a\\r\\nX-Evil: 1\"}" };

		fake_github_push(gh, FAKE_GITHUB_TOKEN, &bad);
		reply = bug(cfg, "it broke", &rc);
		CHECK_EQ(rc, KITH_EPROTO);
		CHECK_CONTAINS(reply, "Couldn't file the issue: GitHub's token answer");
		free(reply);
		fake_github_push(gh, FAKE_GITHUB_TOKEN, &ctl);
		reply = bug(cfg, "it broke", &rc);
		CHECK_EQ(rc, KITH_EPROTO);
		free(reply);
	}
	/* none of these reached the issues endpoint */
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_ISSUE), issues);
	config_free(cfg);
}

static void test_issue_refused(void)
{
	struct config *cfg = load_config(key_path, REPO, NULL);
	struct fake_github_reply r401 = { .status = 401,
					  .raw_body = "{\"message\":\"Bad credentials\"}" };
	struct fake_github_reply r403 = {
		.status = 403,
		.raw_body = "{\"message\":\"Resource not accessible by integration\","
			    "\"documentation_url\":\"https://docs.github.com/rest\"}",
	};
	struct fake_github_reply r500 = { .status = 500, .raw_body = "<html>oops</html>" };
	struct fake_github_reply junk = { .status = 201, .raw_body = "{\"html_url\": [1, 2" };
	struct fake_github_reply nourl = { .status = 201, .raw_body = "{\"number\": 5}" };
	size_t issues, tokens;
	enum kith_status rc;
	char *reply;

	REQUIRE(cfg);
	reset();
	/* 403: the App lacks the Issues permission */
	fake_github_push(gh, FAKE_GITHUB_ISSUE, &r403);
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(reply, "Couldn't file the issue: the GitHub App may not create issues in "
			      REPO " (HTTP 403: Resource not accessible by integration)");
	CHECK_CONTAINS(reply, "Issues read and write permission");
	CHECK(!strstr(reply, "ghs_"));
	free(reply);

	/* 500: said in words, and not retried (the issue might exist) */
	issues = fake_github_route_count(gh, FAKE_GITHUB_ISSUE);
	fake_github_push(gh, FAKE_GITHUB_ISSUE, &r500);
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_EHTTP);
	CHECK_CONTAINS(reply, "Couldn't file the issue: GitHub answered HTTP 500");
	free(reply);
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_ISSUE), issues + 1);

	/* malformed answers */
	fake_github_push(gh, FAKE_GITHUB_ISSUE, &junk);
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_CONTAINS(reply, "GitHub's issue answer is not a JSON object");
	free(reply);
	fake_github_push(gh, FAKE_GITHUB_ISSUE, &nourl);
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_CONTAINS(reply, "html_url");
	free(reply);

	/* 401 with a cached token: said clearly, and the token is dropped */
	tokens = fake_github_route_count(gh, FAKE_GITHUB_TOKEN);
	fake_github_push(gh, FAKE_GITHUB_ISSUE, &r401);
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(reply, "installation token (HTTP 401: Bad credentials)");
	free(reply);
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_TOKEN), tokens);
	reply = bug(cfg, "works again", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(reply);
	CHECK_EQ(fake_github_route_count(gh, FAKE_GITHUB_TOKEN), tokens + 1);

	/* the repository is not the one the App is installed on: 404 */
	CHECK(fake_github_set_app(gh, APP_ID, pub_pem, INSTALLATION, "someone/else"));
	reply = bug(cfg, "it broke", &rc);
	CHECK_EQ(rc, KITH_ENOTFOUND);
	CHECK_CONTAINS(reply, "cannot find " REPO);
	free(reply);
	config_free(cfg);
}

static void test_unreachable(void)
{
	struct github_app g = {
		.api_url = "http://127.0.0.1:1", .app_id = APP_ID, .key_path = key_path,
		.installation_id = INSTALLATION, .repo = REPO, .timeout_ms = 5000, .attempts = 1,
	};
	struct github_issue is = { .title = "t", .body = "b" };
	char *url = NULL, *why = NULL;

	github_token_cache_clear();
	CHECK_EQ(github_create_issue(&g, &is, &url, &why), KITH_ECONNECT);
	CHECK(url == NULL);
	CHECK_CONTAINS(why, "cannot reach GitHub");
	free(why);
}

#define LIT(s) (s), strlen(s)

static void test_parsers(void)
{
	char *s = NULL, *e = NULL, *why = NULL;
	long long num = 0;

	CHECK_EQ(github_parse_token(LIT("{\"token\":\"ghs_x\","
					"\"expires_at\":\"2026-01-01T00:00:00Z\"}"),
				    &s, &e, &why), KITH_OK);
	CHECK_STR(s, "ghs_x");
	CHECK_STR(e, "2026-01-01T00:00:00Z");
	free(s);
	free(e);
	CHECK_EQ(github_parse_token(LIT("{\"token\":\"\"}"), &s, NULL, &why), KITH_EPROTO);
	CHECK(s == NULL);
	free(why);
	why = NULL;
	CHECK_EQ(github_parse_issue(LIT("{\"html_url\":\"javascript:x\"}"), &s, &num, &why),
		 KITH_EPROTO);
	free(why);
	why = NULL;
	CHECK_EQ(github_parse_issue(LIT("{\"html_url\":\"https://github.com/a/b/issues/7\","
					"\"number\":7}"), &s, &num, &why), KITH_OK);
	CHECK_STR(s, "https://github.com/a/b/issues/7");
	CHECK_EQ(num, 7);
	free(s);
	s = github_parse_error(LIT("{\"message\":\"line\\none\"}"));
	CHECK_STR(s, "line one");
	free(s);
	CHECK(github_parse_error(LIT("[]")) == NULL);
	CHECK(github_parse_error(LIT("")) == NULL);
}

int main(void)
{
	gh = fake_github_start();
	if (!gh)
		return 1;
	key_path = write_key("app.pem", &pub_pem);
	other_key_path = write_key("other.pem", NULL);
	st = storetest_open("github.db");
	RUN(test_title);
	RUN(test_repo_and_needs);
	RUN(test_parsers);
	RUN(test_jwt_shape);
	RUN(test_bug_end_to_end);
	RUN(test_token_expiry);
	RUN(test_feature_label);
	RUN(test_quote_reply);
	RUN(test_token_refused);
	RUN(test_issue_refused);
	RUN(test_unreachable);
	github_token_cache_clear();
	if (st)
		store_close(st);
	fake_github_stop(gh);
	free(key_path);
	free(other_key_path);
	free(pub_pem);
	return test_summary();
}
