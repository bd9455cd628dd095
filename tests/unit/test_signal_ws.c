/* test_signal_ws.c — the Signal channel's WebSocket receive: the target
 * URL, reconnecting with backoff after a drop, and no message lost or
 * repeated across it (what arrived meanwhile comes on the new connection;
 * a replayed envelope is dropped).  Polls with deadlines, no sleeps. */
#include "support/test.h"
#include "fakes/fake_signal.h"
#include "channel/signal/signal_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/queue.h"

#include <stdio.h>
#include <string.h>

#define ME "+15559990000"
#define ALICE "+15551230001"
#define WAIT_MS 5000

static struct inbound *next_event(struct queue *q, int timeout_ms)
{
	void *item = NULL;

	return queue_pop(q, &item, timeout_ms) == KITH_OK ? item : NULL;
}

static void push_text(struct fake_signal *f, long long ts, const char *text)
{
	char *env = xasprintf("{\"source\":\"" ALICE "\",\"sourceNumber\":\"" ALICE "\","
			      "\"sourceDevice\":1,\"timestamp\":%lld,\"dataMessage\":{\"timestamp\":%lld,"
			      "\"message\":\"%s\"}}", ts, ts, text);

	fake_signal_push_envelope(f, env);
	free(env);
}

static void test_target_url(void)
{
	bool tls = true;
	char *host, *path;
	int port;

	CHECK(sg_ws_target("http://signal-api:8080", ME, &tls, &host, &port, &path));
	CHECK(!tls);
	CHECK_STR(host, "signal-api");
	CHECK_EQ(port, 8080);
	CHECK_STR(path, "/v1/receive/%2B15559990000");
	free(host);
	free(path);
	CHECK(sg_ws_target("https://example.org/signal/", ME, &tls, &host, &port, &path));
	CHECK(tls);
	CHECK_EQ(port, 443);
	CHECK_STR(path, "/signal/v1/receive/%2B15559990000");
	free(host);
	free(path);
	CHECK(sg_ws_target("http://localhost", ME, &tls, &host, &port, &path));
	CHECK_EQ(port, 80);
	free(host);
	free(path);
	CHECK(!sg_ws_target("ws://localhost:8080", ME, &tls, &host, &port, &path));
	CHECK(!sg_ws_target("http://:8080", ME, &tls, &host, &port, &path));
	CHECK(!sg_ws_target("http://host:99999", ME, &tls, &host, &port, &path));
	CHECK(!sg_ws_target("http://ho st", ME, &tls, &host, &port, &path));
	CHECK(!sg_ws_target(NULL, ME, &tls, &host, &port, &path));
}

static void test_drop_reconnect_nothing_lost_or_repeated(void)
{
	struct fake_signal *f = fake_signal_start(ME, FAKE_SIGNAL_JSON_RPC);
	struct signal_config cfg = { 0 };
	struct queue *inbox = queue_new(64);
	struct channel *ch;
	struct inbound *ev;
	char *why = NULL;
	void *item;
	int64_t end;

	REQUIRE(f);
	cfg.number = ME;
	cfg.api_url = fake_signal_url(f);
	cfg.reconnect_base_ms = 10;
	cfg.reconnect_max_ms = 40;
	ch = signal_channel_new(&cfg, &why);
	REQUIRE(ch);
	REQUIRE(chan_start(ch, inbox, &why) == KITH_OK);
	REQUIRE(fake_signal_wait_ws_connections(f, 1, WAIT_MS));

	push_text(f, 1700000002000LL, "before the drop");
	ev = next_event(inbox, WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "before the drop");
	inbound_free(ev);

	/* The network goes away and stays away for a few attempts. */
	fake_signal_accept(f, false);
	fake_signal_drop(f);
	end = clock_mono_ms() + WAIT_MS;
	while ((fake_signal_ws_live(f) || signal_state(ch) == SIGNAL_RECEIVING) &&
	       clock_mono_ms() < end)
		if (queue_pop(inbox, &item, 5) == KITH_OK)
			inbound_free(item);
	CHECK(!fake_signal_ws_live(f));
	CHECK_EQ(signal_state(ch), SIGNAL_CONNECTING);
	push_text(f, 1700000002001LL, "while away one");
	push_text(f, 1700000002002LL, "while away two");
	push_text(f, 1700000002000LL, "before the drop");   /* replayed */
	CHECK_EQ(fake_signal_pending(f), 3);
	CHECK(next_event(inbox, 60) == NULL);

	fake_signal_accept(f, true);
	CHECK(fake_signal_wait_ws_connections(f, 2, WAIT_MS));
	ev = next_event(inbox, WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "while away one");
	inbound_free(ev);
	ev = next_event(inbox, WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "while away two");
	inbound_free(ev);
	CHECK(next_event(inbox, 100) == NULL);
	CHECK_EQ(signal_state(ch), SIGNAL_RECEIVING);

	/* A second drop, reconnecting at once. */
	fake_signal_drop(f);
	CHECK(fake_signal_wait_ws_connections(f, 3, WAIT_MS));
	push_text(f, 1700000002003LL, "after the second");
	ev = next_event(inbox, WAIT_MS);
	REQUIRE(ev);
	CHECK_STR(ev->text, "after the second");
	inbound_free(ev);

	chan_stop(ch);
	CHECK_EQ(signal_state(ch), SIGNAL_STOPPED);
	chan_free(ch);
	queue_close(inbox);
	while (queue_pop(inbox, &item, 0) == KITH_OK)
		inbound_free(item);
	queue_free(inbox);
	fake_signal_stop(f);
	free(why);
}

static void test_stop_while_unreachable_is_prompt(void)
{
	struct signal_config cfg = { 0 };
	struct queue *inbox = queue_new(4);
	struct channel *ch;
	char *why = NULL;
	int64_t t0;

	cfg.number = ME;
	cfg.api_url = "http://127.0.0.1:1";
	cfg.reconnect_base_ms = 10;
	cfg.reconnect_max_ms = 20;
	ch = signal_channel_new(&cfg, &why);
	REQUIRE(ch);
	REQUIRE(chan_start(ch, inbox, &why) == KITH_OK);
	CHECK_EQ(signal_state(ch), SIGNAL_CONNECTING);
	t0 = clock_mono_ms();
	chan_free(ch);
	CHECK(clock_mono_ms() - t0 < 2000);
	queue_free(inbox);
	free(why);
}

int main(void)
{
	RUN(test_target_url);
	RUN(test_drop_reconnect_nothing_lost_or_repeated);
	RUN(test_stop_while_unreachable_is_prompt);
	return test_summary();
}
