/* test_discord_events.c — the Discord channel's pure parts: payload and
 * event parsing, chunking, the gateway rules on a simulated clock, REST
 * rate-limit buckets on a simulated clock, URL handling. */
#include "support/test.h"
#include "channel/discord/discord_int.h"
#include "channel/format.h"
#include "core/alloc.h"

#include <string.h>

#define BOT "1000000000000000001"

static const char *REPLY_EVENT =
	"{\"id\":\"3000000000000000002\",\"channel_id\":\"2100000000000000001\",\"guild_id\":\"2000000000000000001\","
	"\"author\":{\"id\":\"4000000000000000001\",\"username\":\"alice\",\"discriminator\":\"0\",\"global_name\":\"Alice\",\"avatar\":null},"
	"\"content\":\"<@1000000000000000001> what about this?\",\"timestamp\":\"2024-05-01T12:00:00.000000+00:00\","
	"\"mentions\":[{\"id\":\"1000000000000000001\",\"username\":\"testbot\",\"bot\":true}],"
	"\"attachments\":[{\"id\":\"5\",\"filename\":\"cat.png\",\"size\":1234,\"url\":\"http://127.0.0.1:1/a/cat.png\","
	"\"content_type\":\"image/png\"}],\"type\":19,"
	"\"message_reference\":{\"type\":0,\"message_id\":\"3000000000000000001\",\"channel_id\":\"2100000000000000001\"},"
	"\"referenced_message\":{\"id\":\"3000000000000000001\",\"channel_id\":\"2100000000000000001\","
	"\"author\":{\"id\":\"1000000000000000001\",\"username\":\"testbot\",\"bot\":true},\"content\":\"earlier answer\"}}";

static void test_payload_envelope(void)
{
	struct dc_payload pl;
	long iv = 0;
	const char *hello = "{\"op\":10,\"d\":{\"heartbeat_interval\":41250},\"s\":null,\"t\":null}";
	const char *ack = "{\"t\":null,\"s\":null,\"op\":11,\"d\":null}";
	const char *disp = "{\"op\":0,\"s\":42,\"t\":\"MESSAGE_CREATE\",\"d\":{}}";

	REQUIRE(dc_payload_parse(hello, strlen(hello), &pl, NULL) == KITH_OK);
	CHECK_EQ(pl.op, DC_OP_HELLO);
	CHECK_EQ(pl.s, -1);
	CHECK(dc_parse_hello(pl.d, &iv, NULL) == KITH_OK);
	CHECK_EQ(iv, 41250);
	dc_payload_release(&pl);
	REQUIRE(dc_payload_parse(ack, strlen(ack), &pl, NULL) == KITH_OK);
	CHECK_EQ(pl.op, DC_OP_HEARTBEAT_ACK);
	dc_payload_release(&pl);
	REQUIRE(dc_payload_parse("{\"op\":11}", 9, &pl, NULL) == KITH_OK);   /* only op */
	dc_payload_release(&pl);
	REQUIRE(dc_payload_parse(disp, strlen(disp), &pl, NULL) == KITH_OK);
	CHECK_EQ(pl.s, 42);
	CHECK_STR(pl.t, "MESSAGE_CREATE");
	dc_payload_release(&pl);
	CHECK(dc_payload_parse("{\"d\":1}", 7, &pl, NULL) == KITH_EPROTO);
	CHECK(dc_payload_parse("{\"op\":0,\"d\":{}}", 15, &pl, NULL) == KITH_EPROTO);
	CHECK(dc_payload_parse("[1,2", 4, &pl, NULL) == KITH_EPROTO);
	CHECK(dc_payload_parse("{\"op\":\"10\"}", 11, &pl, NULL) == KITH_EPROTO);
}

static void test_ready(void)
{
	const char *txt = "{\"v\":10,\"user\":{\"id\":\"" BOT "\",\"username\":\"testbot\",\"bot\":true},"
			  "\"guilds\":[],\"session_id\":\"abc\",\"resume_gateway_url\":\"wss://r.example\","
			  "\"session_type\":\"normal\",\"_trace\":[\"x\"]}";
	json_t *d = json_loads(txt, 0, NULL);
	struct dc_ready r;

	REQUIRE(dc_parse_ready(d, &r, NULL) == KITH_OK);
	CHECK_STR(r.session_id, "abc");
	CHECK_STR(r.resume_url, "wss://r.example");
	CHECK_STR(r.user_id, BOT);
	dc_ready_release(&r);
	json_decref(d);
	d = json_loads("{\"session_id\":\"abc\"}", 0, NULL);
	CHECK(dc_parse_ready(d, &r, NULL) == KITH_EPROTO);
	json_decref(d);
}

static void test_message_create_becomes_inbound(void)
{
	json_t *d = json_loads(REPLY_EVENT, 0, NULL);
	struct inbound *ev = NULL;

	REQUIRE(d);
	REQUIRE(dc_dispatch_to_inbound("MESSAGE_CREATE", d, NULL, BOT, &ev, NULL) == KITH_OK);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_MESSAGE);
	CHECK_STR(ev->conversation, "2100000000000000001");
	CHECK_STR(ev->author_id, "4000000000000000001");
	CHECK_STR(ev->author_name, "Alice");
	CHECK_STR(ev->text, "<@1000000000000000001> what about this?");
	CHECK_STR(ev->external_id, "3000000000000000002");
	CHECK_STR(ev->reply_to, "3000000000000000001");
	CHECK_STR(ev->reply_to_author, BOT);
	CHECK_STR(ev->reply_to_text, "earlier answer");
	CHECK(ev->mentions_self);
	CHECK(!ev->direct);
	CHECK(!ev->author_is_bot);
	CHECK_EQ(ev->created_at, (int64_t)(3000000000000000002ULL >> 22) + 1420070400000LL);
	REQUIRE(ev->nattachments == 1);
	CHECK_STR(ev->attachments[0].url, "http://127.0.0.1:1/a/cat.png");
	CHECK_STR(ev->attachments[0].content_type, "image/png");
	CHECK_STR(ev->attachments[0].filename, "cat.png");
	inbound_free(ev);

	/* The same message from ourselves is an echo, not input. */
	ev = NULL;
	CHECK(dc_dispatch_to_inbound("MESSAGE_CREATE", d, NULL, "4000000000000000001", &ev, NULL) == KITH_OK);
	CHECK(ev == NULL);
	/* Before READY nothing is "ours"; unknown events are not forwarded. */
	CHECK(dc_dispatch_to_inbound("MESSAGE_CREATE", d, NULL, NULL, &ev, NULL) == KITH_OK);
	CHECK(ev && !ev->mentions_self);
	inbound_free(ev);
	ev = NULL;
	CHECK(dc_dispatch_to_inbound("GUILD_CREATE", d, NULL, BOT, &ev, NULL) == KITH_OK);
	CHECK(ev == NULL);
	json_decref(d);
}

static void test_dm_update_and_reactions(void)
{
	json_t *dm = json_loads("{\"id\":\"10\",\"channel_id\":\"20\",\"author\":{\"id\":\"30\",\"username\":\"bob\","
				"\"bot\":true},\"content\":\"hi\"}", 0, NULL);
	json_t *upd = json_loads("{\"id\":\"10\",\"channel_id\":\"20\",\"author\":{\"id\":\"30\"},\"content\":\"hi!\"}", 0, NULL);
	json_t *embed_only = json_loads("{\"id\":\"10\",\"channel_id\":\"20\",\"embeds\":[]}", 0, NULL);
	json_t *r = json_loads("{\"user_id\":\"30\",\"channel_id\":\"20\",\"message_id\":\"10\",\"guild_id\":\"1\","
			       "\"emoji\":{\"id\":null,\"name\":\"\xF0\x9F\x94\xA5\"},\"message_author_id\":\"" BOT "\"}", 0, NULL);
	json_t *rc = json_loads("{\"user_id\":\"30\",\"channel_id\":\"20\",\"message_id\":\"10\","
				"\"emoji\":{\"id\":\"77\",\"name\":\"party\"}}", 0, NULL);
	struct inbound *ev = NULL;

	CHECK(dc_dispatch_to_inbound("MESSAGE_CREATE", dm, NULL, BOT, &ev, NULL) == KITH_OK);
	REQUIRE(ev);
	CHECK(ev->direct);
	CHECK(ev->author_is_bot);
	CHECK_STR(ev->author_name, "bob");
	inbound_free(ev);
	CHECK(dc_dispatch_to_inbound("MESSAGE_UPDATE", upd, NULL, BOT, &ev, NULL) == KITH_OK);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_EDIT);
	CHECK_STR(ev->text, "hi!");
	inbound_free(ev);
	CHECK(dc_dispatch_to_inbound("MESSAGE_UPDATE", embed_only, NULL, BOT, &ev, NULL) == KITH_OK);
	CHECK(ev == NULL);
	CHECK(dc_dispatch_to_inbound("MESSAGE_REACTION_ADD", r, NULL, BOT, &ev, NULL) == KITH_OK);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_REACTION);
	CHECK_STR(ev->text, "\xF0\x9F\x94\xA5");
	CHECK_STR(ev->external_id, "10");
	CHECK_STR(ev->reply_to_author, BOT);
	CHECK_STR(ev->author_id, "30");
	inbound_free(ev);
	CHECK(dc_dispatch_to_inbound("MESSAGE_REACTION_ADD", rc, NULL, BOT, &ev, NULL) == KITH_OK);
	REQUIRE(ev);
	CHECK_STR(ev->text, "party:77");
	CHECK(ev->direct);
	inbound_free(ev);
	CHECK(dc_dispatch_to_inbound("MESSAGE_REACTION_ADD", upd, NULL, BOT, &ev, NULL) == KITH_EPROTO);
	json_decref(dm);
	json_decref(upd);
	json_decref(embed_only);
	json_decref(r);
	json_decref(rc);
}

static void test_rest_bodies(void)
{
	const char *gb = "{\"url\":\"wss://gateway.discord.gg\",\"shards\":1,\"session_start_limit\":"
			 "{\"total\":1000,\"remaining\":999,\"reset_after\":14400000,\"max_concurrency\":16}}";
	const char *hist = "[{\"id\":\"3\",\"channel_id\":\"1\",\"author\":{\"id\":\"9\"},\"content\":\"c\"},"
			   "{\"nope\":1},{\"id\":\"2\",\"channel_id\":\"1\",\"author\":{\"id\":\"9\"},\"content\":\"b\"}]";
	struct discord_message *m;
	size_t n;
	char *url, *id, *t;
	int mc;

	REQUIRE(dc_parse_gateway_bot(gb, strlen(gb), &url, &mc, NULL) == KITH_OK);
	CHECK_STR(url, "wss://gateway.discord.gg");
	CHECK_EQ(mc, 16);
	free(url);
	CHECK(dc_parse_gateway_bot("{\"url\":\"https://x\"}", 19, &url, &mc, NULL) == KITH_EPROTO);
	REQUIRE(dc_parse_messages(hist, strlen(hist), &m, &n, NULL) == KITH_OK);
	CHECK_EQ(n, 2);
	CHECK_STR(m[0].id, "3");
	CHECK_STR(m[1].content, "b");
	discord_messages_free(m, n);
	CHECK(dc_parse_messages("{}", 2, &m, &n, NULL) == KITH_EPROTO);
	REQUIRE(dc_parse_user_id("{\"id\":\"42\",\"bot\":true}", 22, &id, NULL) == KITH_OK);
	CHECK_STR(id, "42");
	free(id);
	t = dc_error_text("{\"message\":\"Unknown Channel\",\"code\":10003}", 42);
	CHECK_STR(t, "Unknown Channel (10003)");
	free(t);
	CHECK(dc_error_text("<html>", 6) == NULL);
}

static void header(struct dc_rl_info *i, const char *line)
{
	dc_rl_info_header(i, line, strlen(line));
}

static void test_ratelimit_headers(void)
{
	struct dc_rl_info i;

	dc_rl_info_init(&i);
	header(&i, "X-RateLimit-Limit: 5\r\n");
	header(&i, "x-ratelimit-remaining: 0\r\n");
	header(&i, "X-RateLimit-Reset-After: 64.57\r\n");
	header(&i, "X-RateLimit-Bucket: abcd1234\r\n");
	header(&i, "Retry-After: 65\r\n");
	CHECK_EQ(i.remaining, 0);
	CHECK_EQ(i.reset_after_ms, 64570);
	CHECK_STR(i.bucket, "abcd1234");
	CHECK_EQ(i.retry_after_ms, 65000);
	CHECK(!i.global);
	dc_rl_info_body(&i, "{\"message\":\"You are being rate limited.\",\"retry_after\":64.57,\"global\":true}", 75);
	CHECK_EQ(i.retry_after_ms, 64570);
	CHECK(i.global);
	dc_rl_info_release(&i);
	header(&i, "X-RateLimit-Global: true\r\n");
	header(&i, "X-RateLimit-Remaining: -3\r\n");
	header(&i, "X-RateLimit-Reset-After: nan\r\n");
	CHECK(i.global);
	CHECK_EQ(i.remaining, -1);
	CHECK_EQ(i.reset_after_ms, -1);
	dc_rl_info_release(&i);
	CHECK_EQ(dc_seconds_to_ms("0.25"), 250);
	CHECK_EQ(dc_seconds_to_ms("-1"), -1);
	CHECK_EQ(dc_seconds_to_ms("1e99"), 86400000);
}

static void test_route_keys(void)
{
	char *k;

	k = dc_route_key("PUT", "/channels/1/messages/2/reactions/%F0%9F%94%A5/@me");
	CHECK_STR(k, "PUT /channels/1/messages/:id/reactions");
	free(k);
	k = dc_route_key("GET", "/channels/1/messages?limit=100&before=5");
	CHECK_STR(k, "GET /channels/1/messages");
	free(k);
	k = dc_route_key("POST", "/channels/9/messages");
	CHECK_STR(k, "POST /channels/9/messages");
	free(k);
}

/* Buckets on a simulated clock. */
static void test_ratelimit_buckets(void)
{
	struct dc_rl *rl = dc_rl_new();
	struct dc_rl_info i;
	const char *a = "POST /channels/1/messages", *b = "POST /channels/2/messages";

	CHECK_EQ(dc_rl_acquire(rl, a, 0), 0);       /* unknown route: go */
	dc_rl_info_init(&i);
	i.bucket = xstrdup("msgs");
	i.remaining = 0;
	i.reset_after_ms = 1000;
	dc_rl_update(rl, a, 200, &i, 0);
	CHECK_EQ(dc_rl_acquire(rl, a, 10), 990);    /* same bucket: wait */
	CHECK_EQ(dc_rl_acquire(rl, b, 10), 0);      /* other route: free */
	/* Same bucket hash, other channel: limited apart. */
	i.remaining = 4;
	dc_rl_update(rl, b, 200, &i, 10);
	CHECK_EQ(dc_rl_acquire(rl, b, 20), 0);
	CHECK_EQ(dc_rl_acquire(rl, a, 20), 980);
	CHECK_EQ(dc_rl_acquire(rl, a, 1000), 0);    /* window over */
	/* Remaining counts down between answers. */
	i.remaining = 2;
	dc_rl_update(rl, a, 200, &i, 1000);
	CHECK_EQ(dc_rl_acquire(rl, a, 1001), 0);
	CHECK_EQ(dc_rl_acquire(rl, a, 1002), 0);
	CHECK_EQ(dc_rl_acquire(rl, a, 1003), 997);
	/* A bucket 429 blocks that bucket for retry_after. */
	dc_rl_info_release(&i);
	i.retry_after_ms = 300;
	dc_rl_update(rl, b, 429, &i, 5000);
	CHECK_EQ(dc_rl_acquire(rl, b, 5100), 200);
	CHECK_EQ(dc_rl_acquire(rl, a, 5100), 0);
	/* A global 429 blocks everything. */
	i.global = true;
	i.retry_after_ms = 500;
	dc_rl_update(rl, a, 429, &i, 6000);
	CHECK_EQ(dc_rl_acquire(rl, "GET /users/@me", 6100), 400);
	CHECK_EQ(dc_rl_acquire(rl, "GET /users/@me", 6500), 0);
	dc_rl_info_release(&i);
	dc_rl_free(rl);
}

/* A day of heartbeats on a simulated clock. */
static void test_heartbeat_schedule(void)
{
	struct dc_heartbeat hb = { 0 };
	int64_t now = 1000;
	long wait = 0;
	int beats = 0;

	dc_hb_start(&hb, 41250, 0.5, now);
	CHECK_EQ(dc_hb_tick(&hb, now, &wait), DC_HB_WAIT);
	CHECK_EQ(wait, 20625);                      /* first beat after the jitter */
	now += wait;
	CHECK_EQ(dc_hb_tick(&hb, now, &wait), DC_HB_SEND);
	CHECK_EQ(wait, 41250);
	beats++;
	while (now < 1000 + 86400000LL) {
		dc_hb_ack(&hb);
		now += wait;
		if (dc_hb_tick(&hb, now, &wait) == DC_HB_SEND)
			beats++;
	}
	CHECK_EQ(beats, (86400000 - 20625) / 41250 + 2);
	/* No ACK by the next beat: zombie, and nothing more is scheduled. */
	now += wait;
	CHECK_EQ(dc_hb_tick(&hb, now, &wait), DC_HB_ZOMBIE);
	CHECK_EQ(dc_hb_tick(&hb, now + 50000, &wait), DC_HB_WAIT);
	CHECK_EQ(wait, -1);
	/* A late tick keeps the cadence. */
	dc_hb_start(&hb, 100, 0, 0);
	CHECK_EQ(dc_hb_tick(&hb, 0, &wait), DC_HB_SEND);
	dc_hb_ack(&hb);
	CHECK_EQ(dc_hb_tick(&hb, 130, &wait), DC_HB_SEND);
	CHECK_EQ(wait, 70);
	/* A server-requested beat must be acknowledged too. */
	dc_hb_ack(&hb);
	dc_hb_requested(&hb);
	CHECK_EQ(dc_hb_tick(&hb, 200, &wait), DC_HB_ZOMBIE);
	/* Jitter out of range is treated as 0. */
	dc_hb_start(&hb, 100, 1.5, 0);
	CHECK_EQ(dc_hb_tick(&hb, 0, &wait), DC_HB_SEND);
}

static void test_close_codes(void)
{
	const char *m = NULL;

	CHECK_EQ(dc_close_action(4004, &m), DC_CLOSE_FATAL);
	CHECK_STR(m, "Authentication failed");
	CHECK_CONTAINS(dc_close_advice(4004), "DISCORD_BOT_TOKEN");
	CHECK_CONTAINS(dc_close_advice(4014), "Message Content");
	for (int c = 4010; c <= 4014; c++)
		CHECK_EQ(dc_close_action(c, NULL), DC_CLOSE_FATAL);
	for (int c = 4000; c <= 4003; c++)
		CHECK_EQ(dc_close_action(c, NULL), DC_CLOSE_RESUME);
	CHECK_EQ(dc_close_action(4005, NULL), DC_CLOSE_RESUME);
	CHECK_EQ(dc_close_action(4008, NULL), DC_CLOSE_RESUME);
	CHECK_EQ(dc_close_action(4007, NULL), DC_CLOSE_IDENTIFY);
	CHECK_EQ(dc_close_action(4009, NULL), DC_CLOSE_IDENTIFY);
	CHECK_EQ(dc_close_action(1000, NULL), DC_CLOSE_RESUME);
	CHECK_EQ(dc_close_action(0, NULL), DC_CLOSE_RESUME);
	CHECK_EQ(dc_backoff_ms(1000, 60000, 1, 0.5), 1000);
	CHECK_EQ(dc_backoff_ms(1000, 60000, 3, 0.5), 4000);
	CHECK_EQ(dc_backoff_ms(1000, 60000, 40, 0.99), 60000);
	CHECK(dc_backoff_ms(1000, 60000, 2, 0.0) >= 1500);
}

static void check_pieces_utf8(char **p, size_t n, size_t limit)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(p[i]);

		CHECK(fmt_utf8_len(p[i], len) <= limit);
		CHECK(len > 0);
		/* No piece starts with a continuation byte. */
		CHECK(((unsigned char)p[i][0] & 0xC0) != 0x80);
		/* None ends inside a sequence. */
		for (size_t k = len; k > 0 && k > len - 4; k--) {
			unsigned char c = (unsigned char)p[i][k - 1];

			if ((c & 0xC0) == 0x80)
				continue;
			if (c >= 0xF0)
				CHECK(len - (k - 1) == 4);
			else if (c >= 0xE0)
				CHECK(len - (k - 1) == 3);
			else if (c >= 0xC0)
				CHECK(len - (k - 1) == 2);
			break;
		}
	}
}

static void free_pieces(char **p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	free(p);
}

static void test_chunking(void)
{
	struct buf t = BUF_INIT(0), joined = BUF_INIT(0);
	char **p;
	size_t n;

	/* 4500 characters of 45-character lines: 3 pieces, each whole lines. */
	for (int i = 0; i < 100; i++)
		(void)buf_printf(&t, "line %03d: the quick brown fox jumps over it.\n", i);
	CHECK_EQ(t.len, 4500);
	n = dc_chunk(buf_str(&t), 2000, &p);
	CHECK_EQ(n, 3);
	for (size_t i = 0; i < n; i++) {
		CHECK(strlen(p[i]) <= 2000);
		CHECK(strncmp(p[i], "line ", 5) == 0);
		CHECK(p[i][strlen(p[i]) - 1] == '.');
		(void)buf_printf(&joined, "%s\n", p[i]);
	}
	CHECK_STR(buf_str(&joined), buf_str(&t));
	free_pieces(p, n);

	/* Sentences without line breaks: split after a sentence end. */
	buf_reset(&t);
	for (int i = 0; i < 60; i++)
		(void)buf_puts(&t, "This is one sentence, with words in it. ");
	n = dc_chunk(buf_str(&t), 1000, &p);
	CHECK_EQ(n, 3);
	for (size_t i = 0; i < n; i++)
		CHECK(p[i][strlen(p[i]) - 1] == '.');
	free_pieces(p, n);

	/* No spaces, multi-byte characters: hard cuts on code points. */
	buf_reset(&t);
	for (int i = 0; i < 1500; i++)
		(void)buf_puts(&t, i % 3 ? "\xC3\xA9" : "\xF0\x9F\x94\xA5");
	(void)buf_puts(&t, "x");
	n = dc_chunk(buf_str(&t), 2000, &p);
	CHECK_EQ(n, 1);
	free_pieces(p, n);
	n = dc_chunk(buf_str(&t), 700, &p);
	CHECK_EQ(n, 3);
	check_pieces_utf8(p, n, 700);
	buf_reset(&joined);
	for (size_t i = 0; i < n; i++)
		(void)buf_puts(&joined, p[i]);
	CHECK_STR(buf_str(&joined), buf_str(&t));
	free_pieces(p, n);

	/* Nothing to send. */
	CHECK_EQ(dc_chunk("", 2000, &p), 0);
	CHECK_EQ(dc_chunk(" \n\n  \n", 2000, &p), 0);
	free(p);
	n = dc_chunk("short\n", 2000, &p);
	CHECK_EQ(n, 1);
	CHECK_STR(p[0], "short");
	free_pieces(p, n);
	/* Indentation after a break survives. */
	buf_reset(&t);
	(void)buf_puts(&t, "aaaaaaaaaaaaaa\n    bbbbbb");
	n = dc_chunk(buf_str(&t), 16, &p);
	REQUIRE(n == 2);
	CHECK_STR(p[0], "aaaaaaaaaaaaaa");
	CHECK_STR(p[1], "    bbbbbb");
	free_pieces(p, n);
	buf_release(&t);
	buf_release(&joined);
}

static void test_urls(void)
{
	char *host, *path, *e;
	bool tls;
	int port;

	REQUIRE(dc_gateway_url("ws://127.0.0.1:4321", &tls, &host, &port, &path));
	CHECK(!tls);
	CHECK_STR(host, "127.0.0.1");
	CHECK_EQ(port, 4321);
	CHECK_STR(path, "/?v=10&encoding=json");
	free(host);
	free(path);
	REQUIRE(dc_gateway_url("wss://gateway.discord.gg", &tls, &host, &port, &path));
	CHECK(tls);
	CHECK_EQ(port, 443);
	free(host);
	free(path);
	REQUIRE(dc_gateway_url("WSS://gateway-us-east1-b.discord.gg/resume", &tls, &host, &port, &path));
	CHECK_STR(path, "/resume?v=10&encoding=json");
	free(host);
	free(path);
	CHECK(!dc_gateway_url("https://discord.gg", &tls, &host, &port, &path));
	CHECK(!dc_gateway_url("ws://:80", &tls, &host, &port, &path));
	CHECK(!dc_gateway_url("ws://h:99999", &tls, &host, &port, &path));
	CHECK(!dc_gateway_url("ws://a b", &tls, &host, &port, &path));
	e = dc_url_encode("\xF0\x9F\x94\xA5");
	CHECK_STR(e, "%F0%9F%94%A5");
	free(e);
	e = dc_url_encode("party:77");
	CHECK_STR(e, "party%3A77");
	free(e);
}

int main(void)
{
	RUN(test_payload_envelope);
	RUN(test_ready);
	RUN(test_message_create_becomes_inbound);
	RUN(test_dm_update_and_reactions);
	RUN(test_rest_bodies);
	RUN(test_ratelimit_headers);
	RUN(test_route_keys);
	RUN(test_ratelimit_buckets);
	RUN(test_heartbeat_schedule);
	RUN(test_close_codes);
	RUN(test_chunking);
	RUN(test_urls);
	return test_summary();
}
