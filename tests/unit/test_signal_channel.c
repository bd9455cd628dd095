/* test_signal_channel.c — the Signal channel against the fake
 * signal-cli-rest-api: messages in (1:1, group, quote, attachment,
 * reaction, what is ignored), sends out (quote, attachments, both answer
 * forms, styled text, splitting), retries and final failures, typing and
 * reactions, and SIGNAL_NUMBER validation.  No sleeps: every wait polls
 * with a deadline. */
#include "support/test.h"
#include "fakes/fake_signal.h"
#include "channel/signal/signal_int.h"
#include "channel/format.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/queue.h"

#include <stdio.h>
#include <string.h>

#define ME "+15559990000"
#define ALICE "+15551230001"
#define GROUP_ID "Zm9vYmFyZ3JvdXBpZGZvb2Jhcmdyb3VwaWRmb29iYXI="
#define WAIT_MS 5000

static struct fake_signal *fake;
static struct channel *ch;
static struct queue *inbox;

static void start_mode(enum fake_signal_mode mode, enum signal_receive recv)
{
	struct signal_config cfg = { 0 };
	char *why = NULL;

	fake = fake_signal_start(ME, mode);
	KITH_ASSERT(fake);
	cfg.number = ME;
	cfg.api_url = fake_signal_url(fake);
	cfg.receive = recv;
	cfg.reconnect_base_ms = 20;
	cfg.reconnect_max_ms = 100;
	cfg.send_base_ms = 5;
	cfg.send_max_ms = 20;
	cfg.send_max_attempts = 4;
	cfg.http_timeout_ms = 5000;
	ch = signal_channel_new(&cfg, &why);
	KITH_ASSERT(ch);
	inbox = queue_new(64);
	if (chan_start(ch, inbox, &why) != KITH_OK) {
		fprintf(stderr, "start: %s\n", why);
		KITH_BUG("signal channel did not start");
	}
	if (mode == FAKE_SIGNAL_JSON_RPC)
		KITH_ASSERT(fake_signal_wait_ws_connections(fake, 1, WAIT_MS));
}

static void start(void)
{
	start_mode(FAKE_SIGNAL_JSON_RPC, SIGNAL_RECEIVE_WEBSOCKET);
}

static void finish(void)
{
	void *item;

	chan_free(ch);
	queue_close(inbox);
	while (queue_pop(inbox, &item, 0) == KITH_OK)
		inbound_free(item);
	queue_free(inbox);
	fake_signal_stop(fake);
	ch = NULL;
	fake = NULL;
}

static struct inbound *next_event(int timeout_ms)
{
	void *item = NULL;

	return queue_pop(inbox, &item, timeout_ms) == KITH_OK ? item : NULL;
}

/* An envelope from Alice with the given dataMessage fields. */
static void push_data(long long ts, const char *data_fields)
{
	char *env = xasprintf("{\"source\":\"" ALICE "\",\"sourceNumber\":\"" ALICE "\","
			      "\"sourceUuid\":\"1b0f8f7e-0000-4000-8000-000000000001\",\"sourceName\":\"Alice\","
			      "\"sourceDevice\":1,\"timestamp\":%lld,\"serverReceivedTimestamp\":%lld,"
			      "\"serverDeliveredTimestamp\":%lld,\"dataMessage\":{\"timestamp\":%lld,"
			      "\"expiresInSeconds\":0,\"isExpirationUpdate\":false,\"viewOnce\":false%s%s}}",
			      ts, ts + 1, ts + 2, ts, *data_fields ? "," : "", data_fields);

	fake_signal_push_envelope(fake, env);
	free(env);
}

static void push_text(long long ts, const char *text)
{
	char *f = xasprintf("\"message\":\"%s\"", text);

	push_data(ts, f);
	free(f);
}

static json_t *last_send(void)
{
	long i = fake_signal_wait_for(fake, "POST", "/v2/send", 0, WAIT_MS), j = i;

	while (j >= 0) {
		i = j;
		j = fake_signal_wait_for(fake, "POST", "/v2/send", (size_t)i + 1, 0);
	}
	return i >= 0 ? fake_signal_request_json(fake, (size_t)i) : NULL;
}

static void test_text_message_becomes_an_inbound(void)
{
	struct inbound *ev;

	start();
	push_text(1700000000123LL, "  hey bot, look  ");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_MESSAGE);
	CHECK_STR(ev->conversation, ALICE);
	CHECK_STR(ev->author_id, ALICE);
	CHECK_STR(ev->author_name, "Alice");
	CHECK_STR(ev->text, "hey bot, look");
	CHECK_STR(ev->external_id, "1700000000123");
	CHECK_EQ(ev->created_at, 1700000000123LL);
	CHECK(ev->direct);
	CHECK(ev->reply_to == NULL);
	CHECK_STR(chan_name(ev->channel), "signal");
	inbound_free(ev);
	{
		char *path = fake_signal_ws_path(fake, 0);

		CHECK(path && (strcmp(path, "/v1/receive/" ME) == 0 ||
			       strcmp(path, "/v1/receive/%2B15559990000") == 0));
		free(path);
	}
	CHECK_EQ(signal_state(ch), SIGNAL_RECEIVING);
	{
		char *self = chan_self_id(ch);

		CHECK_STR(self, ME);
		free(self);
	}
	finish();
}

static void test_group_message_and_reply_to_the_group(void)
{
	struct inbound *ev;
	char *want = signal_group_conversation(GROUP_ID), *why = NULL;
	json_t *body;

	start();
	push_data(1700000000200LL, "\"message\":\"hello family\",\"groupInfo\":{\"groupId\":\""
		  GROUP_ID "\",\"groupName\":\"Family\",\"revision\":7,\"type\":\"DELIVER\"}");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->conversation, want);
	CHECK(strncmp(ev->conversation, "group.", 6) == 0);
	CHECK(!ev->direct);
	CHECK_STR(ev->author_id, ALICE);
	CHECK_EQ(chan_send(ch, ev->conversation, "hi all", ev->external_id, &why), KITH_OK);
	body = last_send();
	REQUIRE(body);
	CHECK_STR(json_string_value(json_array_get(kjson_arr(body, "recipients"), 0)), want);
	CHECK_STR(kjson_str(body, "number"), ME);
	CHECK_STR(kjson_str(body, "message"), "hi all");
	{
		long long qts = 0;

		CHECK(kjson_int(body, "quote_timestamp", &qts));
		CHECK_EQ(qts, 1700000000200LL);
		CHECK_STR(kjson_str(body, "quote_author"), ALICE);
		CHECK_STR(kjson_str(body, "quote_message"), "hello family");
	}
	json_decref(body);
	inbound_free(ev);
	free(want);
	free(why);
	finish();
}

static void test_quote_fills_reply_fields(void)
{
	struct inbound *ev;

	start();
	push_data(1700000000300LL, "\"message\":\"what about this?\",\"quote\":{\"id\":1699999990000,"
		  "\"author\":\"" ME "\",\"authorNumber\":\"" ME "\",\"authorUuid\":\"2c0f\","
		  "\"text\":\"earlier answer\",\"attachments\":[]}");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->reply_to, "1699999990000");
	CHECK_STR(ev->reply_to_author, ME);
	CHECK_STR(ev->reply_to_text, "earlier answer");
	inbound_free(ev);
	finish();
}

static void test_attachment_is_downloaded(void)
{
	static const unsigned char jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0 };
	struct inbound *ev;

	start();
	fake_signal_put_attachment(fake, "Qk9B1x2y3z.jpg", jpeg, sizeof(jpeg), "image/jpeg");
	push_data(1700000000400LL, "\"message\":null,\"attachments\":[{\"contentType\":\"image/jpeg\","
		  "\"filename\":null,\"id\":\"Qk9B1x2y3z.jpg\",\"size\":11,\"width\":800,\"height\":600,"
		  "\"caption\":null,\"uploadTimestamp\":1700000000100}]");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "");
	REQUIRE(ev->nattachments == 1);
	CHECK_STR(ev->attachments[0].content_type, "image/jpeg");
	CHECK_EQ(ev->attachments[0].len, sizeof(jpeg));
	CHECK(ev->attachments[0].data && memcmp(ev->attachments[0].data, jpeg, sizeof(jpeg)) == 0);
	CHECK_CONTAINS(ev->attachments[0].url, "/v1/attachments/Qk9B1x2y3z.jpg");
	inbound_free(ev);

	/* One that the API no longer has: the message still arrives. */
	push_data(1700000000401LL, "\"message\":\"gone?\",\"attachments\":[{\"contentType\":\"image/png\","
		  "\"id\":\"missing.png\",\"size\":5}]");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "gone?");
	REQUIRE(ev->nattachments == 1);
	CHECK(ev->attachments[0].data == NULL);
	inbound_free(ev);
	finish();
}

static void test_reaction_event(void)
{
	struct inbound *ev;

	start();
	push_data(1700000000600LL, "\"message\":null,\"reaction\":{\"emoji\":\"\xF0\x9F\x91\x8D\","
		  "\"targetAuthor\":\"" ME "\",\"targetAuthorNumber\":\"" ME "\",\"targetAuthorUuid\":\"2c0f\","
		  "\"targetSentTimestamp\":1700000000000,\"isRemove\":false}");
	/* A removal is ignored; the next message shows nothing was queued. */
	push_data(1700000000601LL, "\"message\":null,\"reaction\":{\"emoji\":\"\xF0\x9F\x91\x8D\","
		  "\"targetAuthor\":\"" ME "\",\"targetSentTimestamp\":1700000000000,\"isRemove\":true}");
	push_text(1700000000602LL, "after");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_REACTION);
	CHECK_STR(ev->text, "\xF0\x9F\x91\x8D");
	CHECK_STR(ev->external_id, "1700000000000");
	CHECK_STR(ev->reply_to, "1700000000000");
	CHECK_STR(ev->reply_to_author, ME);
	CHECK_STR(ev->conversation, ALICE);
	inbound_free(ev);
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "after");
	inbound_free(ev);
	finish();
}

static void test_sync_receipt_typing_and_strangers_ignored(void)
{
	struct inbound *ev;

	start();
	fake_signal_push_envelope(fake, "{\"source\":\"" ALICE "\",\"sourceNumber\":\"" ALICE "\","
				  "\"sourceDevice\":1,\"timestamp\":1700000000500,"
				  "\"typingMessage\":{\"action\":\"STARTED\",\"timestamp\":1700000000500}}");
	fake_signal_push_envelope(fake, "{\"source\":\"" ALICE "\",\"sourceNumber\":\"" ALICE "\","
				  "\"timestamp\":1700000000501,\"receiptMessage\":{\"when\":1700000000501,"
				  "\"isDelivery\":true,\"isRead\":false,\"isViewed\":false,"
				  "\"timestamps\":[1700000000000]}}");
	fake_signal_push_envelope(fake, "{\"source\":\"" ME "\",\"sourceNumber\":\"" ME "\","
				  "\"timestamp\":1700000000502,\"syncMessage\":{\"sentMessage\":{"
				  "\"destination\":\"" ALICE "\",\"timestamp\":1700000000502,"
				  "\"message\":\"typed on my phone\"}}}");
	fake_signal_push_envelope(fake, "{\"source\":\"" ME "\",\"sourceNumber\":\"" ME "\","
				  "\"timestamp\":1700000000503,\"dataMessage\":{\"timestamp\":1700000000503,"
				  "\"message\":\"my own\"}}");
	fake_signal_push_frame(fake, "{\"envelope\":{\"source\":\"" ALICE "\",\"timestamp\":1700000000504,"
			       "\"dataMessage\":{\"timestamp\":1700000000504,\"message\":\"not yours\"}},"
			       "\"account\":\"+15550000000\"}");
	fake_signal_push_frame(fake, "{\"error\":\"signal-cli hiccup\"}");
	fake_signal_push_frame(fake, "not json at all");
	push_data(1700000000505LL, "\"message\":\"   \"");   /* blank: ignored */
	push_text(1700000000506LL, "the only one");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "the only one");
	inbound_free(ev);
	CHECK(next_event(50) == NULL);
	finish();
}

static void test_duplicate_envelope_delivered_once(void)
{
	struct inbound *ev;

	start();
	push_text(1700000000700LL, "once");
	push_text(1700000000700LL, "once");
	push_text(1700000000701LL, "twice");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "once");
	inbound_free(ev);
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "twice");
	inbound_free(ev);
	CHECK(next_event(50) == NULL);
	finish();
}

static void test_send_with_quote_and_attachment(void)
{
	static const unsigned char png[] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };
	struct attachment att = { (char *)"image/png", (char *)"cat;1.png", (unsigned char *)png,
				  sizeof(png), NULL };
	struct inbound *ev;
	char *why = NULL;
	json_t *body;
	long long qts = 0;

	start();
	push_text(1700000000800LL, "send me a cat");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_EQ(ch->ops->send(ch, ev->conversation, "Here is **a cat**", ev->external_id, &att, 1,
			       &why), KITH_OK);
	body = last_send();
	REQUIRE(body);
	CHECK_STR(kjson_str(body, "message"), "Here is **a cat**");
	CHECK_STR(kjson_str(body, "text_mode"), "styled");
	CHECK(kjson_int(body, "quote_timestamp", &qts));
	CHECK_EQ(qts, 1700000000800LL);
	CHECK_STR(kjson_str(body, "quote_author"), ALICE);
	CHECK_STR(kjson_str(body, "quote_message"), "send me a cat");
	{
		json_t *list = kjson_arr(body, "base64_attachments");
		char *b64 = sg_base64(png, sizeof(png));
		char *want = xasprintf("data:image/png;filename=cat_1.png;base64,%s", b64);

		REQUIRE(list && json_array_size(list) == 1);
		CHECK_STR(json_string_value(json_array_get(list, 0)), want);
		free(want);
		free(b64);
	}
	json_decref(body);
	/* The sent message is remembered: its id is the answer's timestamp. */
	{
		char *id = signal_last_sent(ch, ALICE);

		CHECK(id && sg_parse_ts(id) > 0);
		free(id);
	}
	inbound_free(ev);
	free(why);
	finish();
}

static void test_both_send_answer_forms_and_plain_text(void)
{
	char *why = NULL, *first, *second;

	start();
	CHECK_EQ(chan_send(ch, ALICE, "object form", NULL, &why), KITH_OK);
	first = signal_last_sent(ch, ALICE);
	CHECK(first != NULL);
	fake_signal_send_answer(fake, FAKE_SIGNAL_ANSWER_ARRAY);
	CHECK_EQ(chan_send(ch, ALICE, "array form", NULL, &why), KITH_OK);
	second = signal_last_sent(ch, ALICE);
	CHECK(second && first && sg_parse_ts(second) > sg_parse_ts(first));
	fake_signal_send_answer(fake, FAKE_SIGNAL_ANSWER_TEXT);
	CHECK_EQ(chan_send(ch, ALICE, "plain text answer", NULL, &why), KITH_OK);
	CHECK_EQ(fake_signal_count_ok(fake, "POST", "/v2/send"), 3);
	free(first);
	free(second);
	free(why);
	finish();
}

static void test_5xx_and_transient_400_are_retried(void)
{
	char *why = NULL;

	start();
	fake_signal_fail(fake, "POST", "/v2/send", 500, NULL, 2);
	fake_signal_fail(fake, "POST", "/v2/send", 400,
			 "{\"error\":\"Failed to send message: java.net.SocketException: Connection reset\"}", 1);
	CHECK_EQ(chan_send(ch, ALICE, "persistent", NULL, &why), KITH_OK);
	CHECK_EQ(fake_signal_request_count(fake), 4);
	CHECK_EQ(fake_signal_count_ok(fake, "POST", "/v2/send"), 1);
	free(why);
	why = NULL;

	/* Out of tries: the send fails with the reason, it is not dropped quietly. */
	fake_signal_fail(fake, "POST", "/v2/send", 502, NULL, 4);
	CHECK(chan_send(ch, ALICE, "doomed", NULL, &why) != KITH_OK);
	CHECK_CONTAINS(why, "4 tries");
	CHECK_CONTAINS(why, "HTTP 502");
	free(why);
	why = NULL;

	/* A plain 400 is final after one try. */
	{
		size_t before = fake_signal_request_count(fake);

		fake_signal_fail(fake, "POST", "/v2/send", 400,
				 "{\"error\":\"Couldn't process request - invalid request\"}", 1);
		CHECK(chan_send(ch, ALICE, "bad", NULL, &why) != KITH_OK);
		CHECK_CONTAINS(why, "invalid request");
		CHECK_EQ(fake_signal_request_count(fake), before + 1);
	}
	free(why);
	finish();
}

static void test_long_reply_split_and_styled(void)
{
	struct buf text = BUF_INIT(0);
	char *why = NULL;
	size_t sends;

	start();
	(void)buf_puts(&text, "# Report\n\n");
	for (int i = 0; i < 60; i++)
		(void)buf_printf(&text, "Paragraph %d says something *worth* reading about ~~nothing~~ "
				 "in particular.\n\n", i);
	CHECK_EQ(chan_send(ch, ALICE, buf_str(&text), NULL, &why), KITH_OK);
	sends = fake_signal_count_ok(fake, "POST", "/v2/send");
	CHECK(sends >= 3);
	for (size_t i = 0; i < fake_signal_request_count(fake); i++) {
		json_t *b = fake_signal_request_json(fake, i);
		const char *m = kjson_str(b, "message");

		if (m) {
			CHECK(fmt_utf8_len(m, strlen(m)) <= FMT_SIGNAL_LIMIT);
			CHECK(strstr(m, "~~") == NULL);
			if (i == 0)
				CHECK(strncmp(m, "**Report**", 10) == 0);
		}
		json_decref(b);
	}
	buf_release(&text);
	free(why);
	CHECK(chan_send(ch, ALICE, "   ", NULL, &why) != KITH_OK);
	CHECK_CONTAINS(why, "empty");
	free(why);
	finish();
}

static void test_typing_and_reactions(void)
{
	struct inbound *ev;
	json_t *b;
	long i;

	start();
	push_text(1700000000900LL, "react to me");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	chan_typing(ch, ev->conversation, 1);
	chan_typing(ch, ev->conversation, 0);
	i = fake_signal_wait_for(fake, "PUT", "/v1/typing-indicator/", 0, WAIT_MS);
	REQUIRE(i >= 0);
	CHECK_EQ(fake_signal_request_status(fake, (size_t)i), 204);
	b = fake_signal_request_json(fake, (size_t)i);
	CHECK_STR(kjson_str(b, "recipient"), ALICE);
	json_decref(b);
	CHECK(fake_signal_wait_for(fake, "DELETE", "/v1/typing-indicator/", 0, WAIT_MS) >= 0);

	CHECK_EQ(ch->ops->react(ch, ev->conversation, ev->external_id, "\xE2\x9D\xA4"), KITH_OK);
	i = fake_signal_wait_for(fake, "POST", "/v1/reactions/", 0, WAIT_MS);
	REQUIRE(i >= 0);
	CHECK_EQ(fake_signal_request_status(fake, (size_t)i), 204);
	b = fake_signal_request_json(fake, (size_t)i);
	CHECK_STR(kjson_str(b, "recipient"), ALICE);
	CHECK_STR(kjson_str(b, "reaction"), "\xE2\x9D\xA4");
	CHECK_STR(kjson_str(b, "target_author"), ALICE);
	{
		long long ts = 0;

		CHECK(kjson_int(b, "timestamp", &ts));
		CHECK_EQ(ts, 1700000000900LL);
	}
	json_decref(b);
	inbound_free(ev);
	finish();
}

static void test_polling_mode(void)
{
	struct inbound *ev;

	start_mode(FAKE_SIGNAL_NORMAL, SIGNAL_RECEIVE_AUTO);
	push_text(1700000001000LL, "polled one");
	push_text(1700000001001LL, "polled two");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "polled one");
	inbound_free(ev);
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "polled two");
	inbound_free(ev);
	CHECK_EQ(fake_signal_ws_connections(fake), 0);
	{
		long i = fake_signal_wait_for(fake, "GET", "/v1/receive/", 0, WAIT_MS);
		char *p = i >= 0 ? fake_signal_request_path(fake, (size_t)i) : NULL;

		CHECK_CONTAINS(p, "timeout=");
		CHECK_CONTAINS(p, "ignore_attachments=false");
		free(p);
	}
	/* A failing poll is retried. */
	fake_signal_fail(fake, "GET", "/v1/receive/", 500, NULL, 2);
	push_text(1700000001002LL, "after the outage");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "after the outage");
	inbound_free(ev);
	finish();
}

static void test_placeholder_numbers_refused(void)
{
	static const char *const bad[] = { "", "+1234567890", "your-number", "+1555x", "15551234567",
					   "+1 555 123 4567" };
	struct signal_config cfg = { 0 };
	char *why = NULL;

	cfg.api_url = "http://127.0.0.1:1";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.number = bad[i];
		CHECK(signal_channel_new(&cfg, &why) == NULL);
		CHECK_CONTAINS(why, "SIGNAL_NUMBER");
		free(why);
		why = NULL;
	}
	cfg.number = NULL;
	CHECK(signal_channel_new(&cfg, &why) == NULL);
	CHECK_CONTAINS(why, "not set");
	free(why);
	why = NULL;
	CHECK_EQ(signal_check_number("+1234567890", &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "placeholder");
	free(why);
	why = NULL;
	CHECK_EQ(signal_check_number("your-number", &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "placeholder");
	free(why);
	why = NULL;
	CHECK_EQ(signal_check_number(ME, &why), KITH_OK);
	cfg.number = ME;
	cfg.api_url = "ftp://example.com";
	CHECK(signal_channel_new(&cfg, &why) == NULL);
	CHECK_CONTAINS(why, "SIGNAL_API_URL");
	free(why);
}

int main(void)
{
	RUN(test_text_message_becomes_an_inbound);
	RUN(test_group_message_and_reply_to_the_group);
	RUN(test_quote_fills_reply_fields);
	RUN(test_attachment_is_downloaded);
	RUN(test_reaction_event);
	RUN(test_sync_receipt_typing_and_strangers_ignored);
	RUN(test_duplicate_envelope_delivered_once);
	RUN(test_send_with_quote_and_attachment);
	RUN(test_both_send_answer_forms_and_plain_text);
	RUN(test_5xx_and_transient_400_are_retried);
	RUN(test_long_reply_split_and_styled);
	RUN(test_typing_and_reactions);
	RUN(test_polling_mode);
	RUN(test_placeholder_numbers_refused);
	return test_summary();
}
