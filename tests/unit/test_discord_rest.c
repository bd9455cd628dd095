/* test_discord_rest.c — the Discord channel's REST side against the fake:
 * chunking at 2000 characters with the reply on the first piece, per-route
 * buckets, 429 storms and global 429s without losing a message, 5xx
 * retries and a final failure that says why, typing, reactions,
 * attachments and history paging. */
#include "support/test.h"
#include "fakes/fake_discord.h"
#include "channel/discord/discord_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <string.h>

#define TOKEN "MTAwMDAwMDAwMDAwMDAwMDAwMQ.fake.token-for-tests"
#define CHAN "1110000000000000001"
#define CHAN2 "2220000000000000002"

static struct fake_discord *fake;
static struct channel *ch;

static void setup(int attempts)
{
	struct discord_config cfg = { 0 };

	fake = fake_discord_start(TOKEN);
	KITH_ASSERT(fake);
	cfg.token = TOKEN;
	cfg.api_url = fake_discord_api_url(fake);
	cfg.rest_base_ms = 10;
	cfg.rest_max_ms = 2000;
	cfg.rest_max_attempts = attempts;
	ch = discord_channel_new(&cfg, NULL);
	KITH_ASSERT(ch);
}

static void teardown(void)
{
	chan_free(ch);
	fake_discord_stop(fake);
}

static enum kith_status send_text(const char *chan, const char *text, const char *reply_to,
				  char **why)
{
	return ch->ops->send(ch, chan, text, reply_to, NULL, 0, why);
}

static size_t count_status(int status)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_discord_request_count(fake); i++)
		n += fake_discord_request_status(fake, i) == status;
	return n;
}

static void test_long_message_is_chunked_in_order(void)
{
	struct buf text = BUF_INIT(0), joined = BUF_INIT(0);
	char *why = NULL;

	setup(0);
	for (int i = 0; i < 100; i++)
		(void)buf_printf(&text, "line %03d: the quick brown fox jumps over it.\n", i);
	REQUIRE(text.len == 4500);
	CHECK(send_text(CHAN, buf_str(&text), "3000000000000000002", &why) == KITH_OK);
	REQUIRE(fake_discord_request_count(fake) == 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *p = fake_discord_request_payload(fake, i, NULL);
		char *path = fake_discord_request_path(fake, i), *m = fake_discord_request_method(fake, i);
		char *ctype = fake_discord_request_header(fake, i, "Content-Type");
		const char *content = kjson_str(p, "content");
		json_t *ref = kjson_obj(p, "message_reference");

		CHECK_STR(m, "POST");
		CHECK_STR(path, "/channels/" CHAN "/messages");
		CHECK_STR(ctype, "application/json");
		REQUIRE(content);
		CHECK(strlen(content) <= 2000);
		/* Whole lines only. */
		CHECK(strncmp(content, "line ", 5) == 0);
		CHECK(content[strlen(content) - 1] == '.');
		(void)buf_printf(&joined, "%s\n", content);
		if (i == 0)
			CHECK_STR(kjson_str(ref, "message_id"), "3000000000000000002");
		else
			CHECK(ref == NULL);
		CHECK(json_array_size(kjson_arr(kjson_obj(p, "allowed_mentions"), "parse")) == 0);
		CHECK_EQ(fake_discord_request_status(fake, i), 200);
		json_decref(p);
		free(path);
		free(m);
		free(ctype);
	}
	CHECK_STR(buf_str(&joined), buf_str(&text));
	buf_release(&text);
	buf_release(&joined);
	/* Nothing to say is an error, not an empty POST. */
	CHECK(send_text(CHAN, "  \n", NULL, &why) == KITH_EINVAL);
	CHECK_EQ(fake_discord_request_count(fake), 3);
	free(why);
	teardown();
}

static void test_bucket_delays_only_its_route(void)
{
	int64_t ta, tb, ta2;

	setup(0);
	fake_discord_set_bucket(fake, "POST", "/channels/" CHAN "/messages", "msgbucket", 1, 400);
	CHECK(send_text(CHAN, "first", NULL, NULL) == KITH_OK);      /* Remaining 0, Reset-After 0.4 */
	CHECK(send_text(CHAN2, "elsewhere", NULL, NULL) == KITH_OK); /* another route: no wait */
	CHECK(send_text(CHAN, "second", NULL, NULL) == KITH_OK);     /* waits for the reset */
	REQUIRE(fake_discord_request_count(fake) == 3);
	ta = fake_discord_request_time(fake, 0);
	tb = fake_discord_request_time(fake, 1);
	ta2 = fake_discord_request_time(fake, 2);
	CHECK_INT(tb - ta, <, 200);
	CHECK_INT(ta2 - ta, >=, 380);
	CHECK_EQ(count_status(429), 0);    /* it waited instead of hitting the limit */
	teardown();
}

static void test_429_storm_loses_nothing(void)
{
	char *why = NULL;
	struct discord_message *m = NULL;
	size_t n = 0;

	setup(0);
	fake_discord_push_reply(fake, &(struct fake_discord_reply){
		.method = "POST", .path_prefix = "/channels/" CHAN "/messages", .status = 429,
		.retry_after = "0.02", .times = 5 });
	CHECK(send_text(CHAN, "still here", NULL, &why) == KITH_OK);
	CHECK_EQ(fake_discord_request_count(fake), 6);
	CHECK_EQ(count_status(429), 5);
	CHECK_EQ(fake_discord_request_status(fake, 5), 200);
	/* Delivered exactly once. */
	REQUIRE(discord_history(ch, CHAN, NULL, 10, &m, &n, &why) == KITH_OK);
	CHECK_EQ(n, 1);
	if (n)
		CHECK_STR(m[0].content, "still here");
	discord_messages_free(m, n);
	free(why);
	teardown();
}

static void test_global_429_waits_retry_after(void)
{
	setup(0);
	fake_discord_push_reply(fake, &(struct fake_discord_reply){
		.status = 429, .retry_after = "0.15", .global = true });
	CHECK(send_text(CHAN, "hello", NULL, NULL) == KITH_OK);
	REQUIRE(fake_discord_request_count(fake) == 2);
	CHECK_INT(fake_discord_request_time(fake, 1) - fake_discord_request_time(fake, 0), >=, 140);
	teardown();
}

static void test_long_rate_limit_is_reported_not_waited(void)
{
	char *why = NULL;
	int64_t t0 = clock_mono_ms();

	setup(0);   /* rest_max_ms 2000 */
	fake_discord_push_reply(fake, &(struct fake_discord_reply){ .status = 429, .retry_after = "30" });
	CHECK(send_text(CHAN, "later", NULL, &why) == KITH_ERATELIMIT);
	CHECK_CONTAINS(why, "wait 30 s");
	CHECK_INT(clock_mono_ms() - t0, <, 1500);
	CHECK_EQ(fake_discord_request_count(fake), 1);
	free(why);
	teardown();
}

static void test_5xx_retried_then_final_failure_reported(void)
{
	char *why = NULL;

	setup(3);
	fake_discord_push_reply(fake, &(struct fake_discord_reply){ .status = 500 });
	fake_discord_push_reply(fake, &(struct fake_discord_reply){ .status = 502 });
	CHECK(send_text(CHAN, "after two failures", NULL, &why) == KITH_OK);
	CHECK_EQ(fake_discord_request_count(fake), 3);
	CHECK_EQ(fake_discord_request_status(fake, 2), 200);
	/* Out of tries: an error naming the cause, after exactly 3 tries. */
	fake_discord_push_reply(fake, &(struct fake_discord_reply){ .status = 503, .times = 10 });
	CHECK(send_text(CHAN, "doomed", NULL, &why) == KITH_EHTTP);
	CHECK_CONTAINS(why, "after 3 tries");
	CHECK_CONTAINS(why, "HTTP 503");
	CHECK_EQ(fake_discord_request_count(fake), 6);
	free(why);
	why = NULL;
	teardown();
}

static void test_client_errors_not_retried(void)
{
	char *why = NULL;

	setup(0);
	fake_discord_push_reply(fake, &(struct fake_discord_reply){ .status = 403 });
	CHECK(send_text(CHAN, "no access", NULL, &why) == KITH_EHTTP);
	CHECK_CONTAINS(why, "403");
	CHECK_EQ(fake_discord_request_count(fake), 1);
	free(why);
	why = NULL;
	CHECK(send_text("not-a-channel", "x", NULL, &why) == KITH_EINVAL);
	CHECK_EQ(fake_discord_request_count(fake), 1);
	free(why);
	teardown();
}

static void test_typing_and_reactions(void)
{
	char *path, *method;

	setup(0);
	CHECK(ch->ops->typing(ch, CHAN, 1) == KITH_OK);
	CHECK(ch->ops->typing(ch, CHAN, 0) == KITH_OK);   /* nothing to send */
	CHECK(ch->ops->react(ch, CHAN, "3000000000000000002", "\xF0\x9F\x94\xA5") == KITH_OK);
	CHECK(ch->ops->react(ch, CHAN, "3000000000000000002", "party:77") == KITH_OK);
	REQUIRE(fake_discord_request_count(fake) == 3);
	path = fake_discord_request_path(fake, 0);
	method = fake_discord_request_method(fake, 0);
	CHECK_STR(method, "POST");
	CHECK_STR(path, "/channels/" CHAN "/typing");
	CHECK_EQ(fake_discord_request_status(fake, 0), 204);
	free(path);
	free(method);
	path = fake_discord_request_path(fake, 1);
	method = fake_discord_request_method(fake, 1);
	CHECK_STR(method, "PUT");
	CHECK_STR(path, "/channels/" CHAN "/messages/3000000000000000002/reactions/%F0%9F%94%A5/@me");
	CHECK_EQ(fake_discord_request_status(fake, 1), 204);
	free(path);
	free(method);
	path = fake_discord_request_path(fake, 2);
	CHECK_STR(path, "/channels/" CHAN "/messages/3000000000000000002/reactions/party%3A77/@me");
	free(path);
	teardown();
}

static void test_attachment_multipart(void)
{
	unsigned char png[] = { 0x89, 'P', 'N', 'G', 0, 1, 2, 3 };
	struct attachment att = { .content_type = "image/png", .filename = "cat.png", .data = png,
				  .len = sizeof(png) };
	json_t *p;
	char *ctype, *body;
	int nfiles = 0;

	setup(0);
	CHECK(ch->ops->send(ch, CHAN, "look", "3000000000000000002", &att, 1, NULL) == KITH_OK);
	REQUIRE(fake_discord_request_count(fake) == 1);
	ctype = fake_discord_request_header(fake, 0, "Content-Type");
	CHECK(ctype && strncmp(ctype, "multipart/form-data; boundary=", 30) == 0);
	p = fake_discord_request_payload(fake, 0, &nfiles);
	CHECK_EQ(nfiles, 1);
	CHECK_STR(kjson_str(p, "content"), "look");
	CHECK_STR(kjson_str(kjson_obj(p, "message_reference"), "message_id"), "3000000000000000002");
	CHECK_STR(kjson_str(json_array_get(kjson_arr(p, "attachments"), 0), "filename"), "cat.png");
	body = fake_discord_request_body(fake, 0);
	CHECK_CONTAINS(body, "name=\"files[0]\"; filename=\"cat.png\"");
	CHECK_CONTAINS(body, "Content-Type: image/png");
	CHECK_EQ(fake_discord_request_status(fake, 0), 200);
	json_decref(p);
	free(ctype);
	free(body);
	teardown();
}

static void test_history_paging(void)
{
	struct discord_message *m = NULL;
	size_t n = 0;
	char id[32], *before, *path;

	setup(0);
	for (int i = 1; i <= 150; i++) {
		char content[16];

		snprintf(id, sizeof(id), "%d", 4000000 + i);
		snprintf(content, sizeof(content), "m%d", i);
		fake_discord_add_message(fake, CHAN, id, "40", content);
	}
	REQUIRE(discord_history(ch, CHAN, NULL, 100, &m, &n, NULL) == KITH_OK);
	REQUIRE(n == 100);
	CHECK_STR(m[0].content, "m150");      /* newest first */
	CHECK_STR(m[99].content, "m51");
	before = xstrdup(m[99].id);
	discord_messages_free(m, n);
	REQUIRE(discord_history(ch, CHAN, before, 100, &m, &n, NULL) == KITH_OK);
	CHECK_EQ(n, 50);
	if (n == 50) {
		CHECK_STR(m[0].content, "m50");
		CHECK_STR(m[49].content, "m1");
	}
	discord_messages_free(m, n);
	path = fake_discord_request_path(fake, 1);
	CHECK_CONTAINS(path, "before=4000051");
	CHECK_CONTAINS(path, "limit=100");
	free(path);
	free(before);
	teardown();
}

static void test_users_me_and_gateway_bot(void)
{
	struct cancel c = { 0 };
	struct discord_config cfg = { 0 };
	struct dc_rest *r;
	char *id = NULL, *url = NULL;
	int mc = 0;

	setup(0);
	cfg.token = TOKEN;
	cfg.api_url = fake_discord_api_url(fake);
	r = dc_rest_new(&cfg, &c);
	CHECK(dc_rest_me(r, &id, NULL) == KITH_OK);
	CHECK_STR(id, "1000000000000000001");
	CHECK(dc_rest_gateway_bot(r, &url, &mc, NULL) == KITH_OK);
	CHECK_STR(url, fake_discord_ws_url(fake));
	CHECK_EQ(mc, 1);
	/* A cancelled client stops at once. */
	cancel_request(&c);
	CHECK(dc_rest_typing(r, CHAN, NULL) == KITH_ECANCELED);
	free(id);
	free(url);
	dc_rest_free(r);
	teardown();
}

int main(void)
{
	RUN(test_long_message_is_chunked_in_order);
	RUN(test_bucket_delays_only_its_route);
	RUN(test_429_storm_loses_nothing);
	RUN(test_global_429_waits_retry_after);
	RUN(test_long_rate_limit_is_reported_not_waited);
	RUN(test_5xx_retried_then_final_failure_reported);
	RUN(test_client_errors_not_retried);
	RUN(test_typing_and_reactions);
	RUN(test_attachment_multipart);
	RUN(test_history_paging);
	RUN(test_users_me_and_gateway_bot);
	return test_summary();
}
