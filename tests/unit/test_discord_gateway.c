/* test_discord_gateway.c — the Discord channel's gateway against the fake:
 * identify and intents, heartbeat timing, zombie detection, op 7 and op 9,
 * close codes, and no event lost or repeated across a resume.
 *
 * The fake hands out a 100 ms heartbeat interval where timing matters;
 * tests poll for effects with deadlines and never sleep. */
#include "support/test.h"
#include "fakes/fake_discord.h"
#include "channel/discord/discord_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/queue.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TOKEN "MTAwMDAwMDAwMDAwMDAwMDAwMQ.fake.token-for-tests"
#define BOT "1000000000000000001"
#define WAIT_MS 5000

static struct fake_discord *fake;
static struct channel *ch;
static struct queue *inbox;

static void start_with(long hb_ms, long allowed_intents)
{
	struct discord_config cfg = { 0 };
	char *why = NULL;

	fake = fake_discord_start(TOKEN);
	KITH_ASSERT(fake);
	fake_discord_set_heartbeat_interval(fake, hb_ms);
	if (allowed_intents)
		fake_discord_set_allowed_intents(fake, allowed_intents);
	cfg.token = TOKEN;
	cfg.api_url = fake_discord_api_url(fake);
	cfg.identify_spacing_ms = 1;
	cfg.invalid_session_min_ms = 50;
	cfg.invalid_session_max_ms = 80;
	cfg.reconnect_base_ms = 20;
	cfg.reconnect_max_ms = 200;
	cfg.rest_base_ms = 10;
	ch = discord_channel_new(&cfg, &why);
	KITH_ASSERT(ch);
	inbox = queue_new(64);
	if (chan_start(ch, inbox, &why) != KITH_OK) {
		fprintf(stderr, "start: %s\n", why);
		KITH_BUG("discord channel did not start");
	}
}

static void start(long hb_ms)
{
	start_with(hb_ms, 0);
}

static void finish(void)
{
	void *item;

	chan_free(ch);
	queue_close(inbox);
	while (queue_pop(inbox, &item, 0) == KITH_OK)
		inbound_free(item);
	queue_free(inbox);
	fake_discord_stop(fake);
	ch = NULL;
	fake = NULL;
}

static bool wait_state(enum discord_state want, int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	while (discord_state(ch, NULL) != want) {
		if (clock_mono_ms() > end)
			return false;
		usleep(2000);
	}
	return true;
}

/* Poll until the fake has a live, identified or resumed connection. */
static bool wait_live(int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	while (!fake_discord_live(fake) || discord_state(ch, NULL) != DISCORD_READY) {
		if (clock_mono_ms() > end)
			return false;
		usleep(2000);
	}
	return true;
}

static struct inbound *next_event(int timeout_ms)
{
	void *item = NULL;

	return queue_pop(inbox, &item, timeout_ms) == KITH_OK ? item : NULL;
}

/* The n-th (0-based) received payload with `op`. */
static json_t *nth_op(int op, size_t n, size_t *index)
{
	size_t count = fake_discord_payload_count(fake), seen = 0;

	for (size_t i = 0; i < count; i++)
		if (fake_discord_payload_op(fake, i) == op && seen++ == n) {
			if (index)
				*index = i;
			return fake_discord_payload(fake, i);
		}
	return NULL;
}

static char *message(const char *id, const char *content)
{
	return xasprintf("{\"id\":\"%s\",\"channel_id\":\"2100000000000000001\",\"guild_id\":\"2000000000000000001\","
			 "\"author\":{\"id\":\"4000000000000000001\",\"username\":\"alice\"},\"content\":\"%s\","
			 "\"mentions\":[],\"attachments\":[]}", id, content);
}

static void dispatch_message(const char *id, const char *content)
{
	char *d = message(id, content);

	fake_discord_dispatch(fake, "MESSAGE_CREATE", d);
	free(d);
}

static void test_identify_payload_and_intents(void)
{
	json_t *id, *d;
	char *path, *auth, *ua, *self;

	start(45000);
	REQUIRE(wait_state(DISCORD_READY, WAIT_MS));
	/* The gateway address came from REST, with auth and a bot UA. */
	path = fake_discord_request_path(fake, 0);
	CHECK_STR(path, "/gateway/bot");
	free(path);
	auth = fake_discord_request_header(fake, 0, "Authorization");
	CHECK_STR(auth, "Bot " TOKEN);
	free(auth);
	ua = fake_discord_request_header(fake, 0, "User-Agent");
	CHECK(ua && strncmp(ua, "DiscordBot (", 12) == 0);
	free(ua);
	path = fake_discord_connection_path(fake, 0);
	CHECK_STR(path, "/?v=10&encoding=json");
	free(path);

	id = nth_op(2, 0, NULL);
	REQUIRE(id);
	d = json_object_get(id, "d");
	CHECK_STR(kjson_str(d, "token"), TOKEN);
	CHECK_EQ(json_integer_value(json_object_get(d, "intents")), 46593);
	CHECK_EQ(json_integer_value(json_object_get(d, "intents")), DISCORD_INTENTS);
	CHECK_STR(kjson_str(kjson_obj(d, "properties"), "os"), "linux");
	CHECK(kjson_str(kjson_obj(d, "properties"), "browser") != NULL);
	json_decref(id);
	self = discord_self_id(ch);
	CHECK_STR(self, BOT);
	free(self);
	CHECK_EQ(fake_discord_op_count(fake, 2), 1);
	finish();
}

static void test_heartbeat_timing(void)
{
	size_t idx_identify = 0, idx[6];
	int64_t t[6], t_identify;
	json_t *beat;

	start(100);
	REQUIRE(fake_discord_wait_op(fake, 1, 6, WAIT_MS));
	json_decref(nth_op(2, 0, &idx_identify));
	t_identify = fake_discord_payload_time(fake, idx_identify);
	for (int i = 0; i < 6; i++) {
		json_decref(nth_op(1, (size_t)i, &idx[i]));
		t[i] = fake_discord_payload_time(fake, idx[i]);
	}
	/* First beat after the jitter: within one interval of Hello (plus
	 * slack for a loaded machine: scheduling only ever makes beats late). */
	CHECK_INT(t[0] - t_identify, <=, 100 + 150);
	/* The cadence is the interval: judged on the mean of five gaps, with
	 * each gap far from zero (no bursts) and from two intervals (no
	 * skipped beat), so a busy CI machine cannot make it flaky. */
	CHECK_INT((t[5] - t[0]) / 5, >=, 100 - 10);
	CHECK_INT((t[5] - t[0]) / 5, <=, 100 + 60);
	for (int i = 1; i < 6; i++) {
		CHECK_INT(t[i] - t[i - 1], >=, 40);
		CHECK_INT(t[i] - t[i - 1], <=, 190);
	}
	/* Beats carry the last sequence number (READY 1, GUILD_CREATE 2). */
	beat = nth_op(1, 5, NULL);
	CHECK_EQ(json_integer_value(json_object_get(beat, "d")), 2);
	json_decref(beat);
	/* Every beat was acknowledged: still one connection. */
	CHECK_EQ(fake_discord_connections(fake), 1);
	finish();
}

static void test_server_requested_heartbeat(void)
{
	start(45000);
	REQUIRE(wait_live(WAIT_MS));
	CHECK_EQ(fake_discord_op_count(fake, 1), 0);
	fake_discord_send_op(fake, 1, NULL);
	CHECK(fake_discord_wait_op(fake, 1, 1, 2000));
	finish();
}

static void test_zombie_connection_resumes(void)
{
	json_t *res;
	char *sid, *path;

	start(100);
	REQUIRE(wait_live(WAIT_MS));
	sid = fake_discord_session_id(fake);
	fake_discord_withhold_acks(fake, true);
	REQUIRE(fake_discord_wait_op(fake, 6, 1, WAIT_MS));
	fake_discord_withhold_acks(fake, false);
	res = nth_op(6, 0, NULL);
	CHECK_STR(kjson_str(kjson_obj(res, "d"), "session_id"), sid);
	CHECK_EQ(json_integer_value(json_object_get(kjson_obj(res, "d"), "seq")), 2);
	json_decref(res);
	/* The client closed the zombie with a code that keeps the session. */
	CHECK_EQ(fake_discord_connection_close_code(fake, 0), 4900);
	path = fake_discord_connection_path(fake, 1);
	CHECK_STR(path, "/resume?v=10&encoding=json");
	free(path);
	CHECK(wait_live(WAIT_MS));
	CHECK_EQ(fake_discord_op_count(fake, 2), 1);   /* no new Identify */
	free(sid);
	finish();
}

static void test_reconnect_resumes_without_losing_events(void)
{
	static const char *ids[] = { "3000000000000000011", "3000000000000000012", "3000000000000000013",
				     "3000000000000000014", "3000000000000000015" };
	json_t *res;
	char *sid, *path;
	struct inbound *ev;

	start(45000);
	REQUIRE(wait_live(WAIT_MS));
	sid = fake_discord_session_id(fake);
	dispatch_message(ids[0], "one");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->external_id, ids[0]);
	inbound_free(ev);
	/* Events before, around and after op 7.  The fake holds the Resume
	 * so three and four wait in its replay buffer while the client is
	 * between connections, and replays the whole session (one, two and
	 * GUILD_CREATE again) so the client must skip what it has seen. */
	fake_discord_hold_resume(fake, true);
	fake_discord_replay_all(fake, true);
	fake_discord_send_op(fake, 7, NULL);
	dispatch_message(ids[1], "two");
	REQUIRE(fake_discord_wait_op(fake, 6, 1, WAIT_MS));
	dispatch_message(ids[2], "three");
	dispatch_message(ids[3], "four");
	CHECK(!fake_discord_live(fake));
	fake_discord_hold_resume(fake, false);
	REQUIRE(wait_live(WAIT_MS));
	dispatch_message(ids[4], "five");
	for (int i = 1; i < 5; i++) {
		ev = next_event(WAIT_MS);
		REQUIRE(ev);
		CHECK_STR(ev->external_id, ids[i]);
		inbound_free(ev);
	}
	CHECK(next_event(200) == NULL);    /* nothing twice */
	res = nth_op(6, 0, NULL);
	CHECK_STR(kjson_str(kjson_obj(res, "d"), "session_id"), sid);
	CHECK_INT(json_integer_value(json_object_get(kjson_obj(res, "d"), "seq")), >=, 3);
	CHECK_STR(kjson_str(kjson_obj(res, "d"), "token"), TOKEN);
	json_decref(res);
	path = fake_discord_connection_path(fake, 1);
	CHECK_STR(path, "/resume?v=10&encoding=json");
	free(path);
	CHECK_EQ(fake_discord_op_count(fake, 2), 1);
	free(sid);
	finish();
}

static void test_invalid_session_resumable(void)
{
	start(45000);
	REQUIRE(wait_live(WAIT_MS));
	fake_discord_send_op(fake, 9, "true");
	REQUIRE(fake_discord_wait_op(fake, 6, 1, WAIT_MS));
	CHECK(wait_live(WAIT_MS));
	CHECK_EQ(fake_discord_op_count(fake, 2), 1);
	finish();
}

static void test_invalid_session_not_resumable(void)
{
	char *s1, *s2, *path;
	size_t idx = 0;
	int64_t t0;

	start(45000);
	REQUIRE(wait_live(WAIT_MS));
	s1 = fake_discord_session_id(fake);
	t0 = clock_mono_ms();
	fake_discord_send_op(fake, 9, "false");
	REQUIRE(fake_discord_wait_op(fake, 2, 2, WAIT_MS));
	json_decref(nth_op(2, 1, &idx));
	/* It waited (50–80 ms here, 1–5 s in production) before identifying. */
	CHECK_INT(fake_discord_payload_time(fake, idx) - t0, >=, 50);
	CHECK_EQ(fake_discord_op_count(fake, 6), 0);
	path = fake_discord_connection_path(fake, 1);
	CHECK_STR(path, "/?v=10&encoding=json");   /* the /gateway/bot URL */
	free(path);
	REQUIRE(wait_live(WAIT_MS));
	s2 = fake_discord_session_id(fake);
	CHECK(s1 && s2 && strcmp(s1, s2) != 0);
	free(s1);
	free(s2);
	finish();
}

static void test_resumable_and_new_session_close_codes(void)
{
	start(45000);
	REQUIRE(wait_live(WAIT_MS));
	fake_discord_close(fake, 4000);
	REQUIRE(fake_discord_wait_op(fake, 6, 1, WAIT_MS));
	REQUIRE(wait_live(WAIT_MS));
	fake_discord_close(fake, 4009);   /* session timed out: identify */
	REQUIRE(fake_discord_wait_op(fake, 2, 2, WAIT_MS));
	CHECK(wait_live(WAIT_MS));
	CHECK_EQ(fake_discord_op_count(fake, 6), 1);
	finish();
}

static void check_fatal(const char *expect_code, const char *expect_advice)
{
	struct inbound *ev;
	char *why = NULL;

	REQUIRE(wait_state(DISCORD_FAILED, WAIT_MS));
	(void)discord_state(ch, &why);
	CHECK_CONTAINS(why, expect_code);
	CHECK_CONTAINS(why, expect_advice);
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_CLOSED);
	CHECK_CONTAINS(ev->text, expect_advice);
	inbound_free(ev);
	free(why);
}

static void test_fatal_close_4004_stops(void)
{
	size_t conns;

	start(45000);
	REQUIRE(wait_live(WAIT_MS));
	fake_discord_close(fake, 4004);
	check_fatal("4004", "DISCORD_BOT_TOKEN");
	conns = fake_discord_connections(fake);
	/* No reconnect loop: still one connection a while later. */
	CHECK(!fake_discord_wait_connections(fake, conns + 1, 300));
	CHECK_EQ(conns, 1);
	CHECK_EQ(discord_state(ch, NULL), DISCORD_FAILED);
	finish();
}

static void test_disallowed_intents_stop(void)
{
	start_with(45000, DISCORD_INTENTS & ~(1L << 15));
	check_fatal("4014", "Message Content");
	CHECK(!fake_discord_wait_connections(fake, 2, 300));
	finish();
}

static void test_bad_token_fails_start(void)
{
	struct discord_config cfg = { 0 };
	struct queue *q = queue_new(4);
	struct channel *c;
	char *why = NULL;

	fake = fake_discord_start(TOKEN);
	REQUIRE(fake);
	cfg.token = "wrong-token-value";
	cfg.api_url = fake_discord_api_url(fake);
	c = discord_channel_new(&cfg, &why);
	REQUIRE(c);
	CHECK(chan_start(c, q, &why) == KITH_EAUTH);
	CHECK_CONTAINS(why, "DISCORD_BOT_TOKEN");
	CHECK_EQ(fake_discord_connections(fake), 0);
	CHECK_EQ(fake_discord_request_count(fake), 1);   /* 401 is not retried */
	free(why);
	why = NULL;
	chan_free(c);
	queue_free(q);
	cfg.token = "";
	CHECK(discord_channel_new(&cfg, &why) == NULL);
	CHECK_CONTAINS(why, "DISCORD_BOT_TOKEN");
	free(why);
	fake_discord_stop(fake);
}

static void test_events_delivered_and_token_not_logged(void)
{
	char *logpath = test_path("discord.log"), *why = NULL, *d;
	struct inbound *ev;
	FILE *fp;
	char buf[65536];
	size_t n;

	REQUIRE(log_open_file(logpath, LOG_DEBUG, 0, 0, &why) == KITH_OK);
	start(100);
	REQUIRE(wait_live(WAIT_MS));
	/* Our own message (an echo) is dropped; a reaction comes through. */
	d = xasprintf("{\"id\":\"3000000000000000031\",\"channel_id\":\"21\",\"author\":{\"id\":\"" BOT "\","
		      "\"username\":\"testbot\",\"bot\":true},\"content\":\"my reply\"}");
	fake_discord_dispatch(fake, "MESSAGE_CREATE", d);
	free(d);
	fake_discord_dispatch(fake, "MESSAGE_REACTION_ADD",
			      "{\"user_id\":\"40\",\"channel_id\":\"21\",\"message_id\":\"3000000000000000031\","
			      "\"emoji\":{\"id\":null,\"name\":\"\xF0\x9F\x94\xA5\"},\"message_author_id\":\"" BOT "\"}");
	fake_discord_dispatch(fake, "TYPING_START", "{\"channel_id\":\"21\",\"user_id\":\"40\",\"timestamp\":1}");
	dispatch_message("3000000000000000032", "hello");
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_REACTION);
	CHECK_STR(ev->reply_to_author, BOT);
	CHECK(ev->channel == ch);
	inbound_free(ev);
	ev = next_event(WAIT_MS);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_MESSAGE);
	CHECK_STR(ev->text, "hello");
	inbound_free(ev);
	REQUIRE(fake_discord_wait_op(fake, 1, 3, WAIT_MS));
	finish();
	log_close();
	fp = fopen(logpath, "r");
	REQUIRE(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	CHECK(n > 0);
	CHECK(strstr(buf, TOKEN) == NULL);
	CHECK(strstr(buf, "fake.token") == NULL);
	free(logpath);
	free(why);
}

int main(void)
{
	RUN(test_identify_payload_and_intents);
	RUN(test_heartbeat_timing);
	RUN(test_server_requested_heartbeat);
	RUN(test_zombie_connection_resumes);
	RUN(test_reconnect_resumes_without_losing_events);
	RUN(test_invalid_session_resumable);
	RUN(test_invalid_session_not_resumable);
	RUN(test_resumable_and_new_session_close_codes);
	RUN(test_fatal_close_4004_stops);
	RUN(test_disallowed_intents_stop);
	RUN(test_bad_token_fails_start);
	RUN(test_events_delivered_and_token_not_logged);
	return test_summary();
}
