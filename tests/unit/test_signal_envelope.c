/* test_signal_envelope.c — parsing what signal-cli-rest-api sends, without
 * a network: envelope shapes across versions (null vs missing fields,
 * string timestamps, emoji objects), mentions, edits, what is ignored and
 * why, the poll array, both /v2/send answer forms, error bodies, /v1/about,
 * group ids, number masking and the recent-message memory. */
#include "support/test.h"
#include "channel/signal/signal_int.h"
#include "core/alloc.h"

#include <string.h>

#define ME "+15559990000"
#define ALICE "+15551230001"

static enum kith_status parse(const char *s, struct sg_event *e)
{
	return sg_envelope_parse(s, strlen(s), ME, e, NULL);
}

static void test_plain_message_and_versions(void)
{
	struct sg_event e;

	/* Timestamps as strings, arrays omitted, sourceNumber null → uuid. */
	CHECK_EQ(parse("{\"envelope\":{\"source\":\"x\",\"sourceNumber\":null,\"sourceUuid\":\"uuid-1\","
		       "\"timestamp\":\"1700000000123\",\"dataMessage\":{\"timestamp\":\"1700000000123\","
		       "\"message\":\"hi\"}},\"account\":\"" ME "\"}", &e), KITH_OK);
	CHECK_EQ(e.kind, SG_MESSAGE);
	CHECK_STR(e.source, "uuid-1");
	CHECK_STR(e.conversation, "uuid-1");
	CHECK_EQ(e.timestamp, 1700000000123LL);
	CHECK_EQ(e.natts, 0);
	sg_event_release(&e);
	/* No account field at all is fine too. */
	CHECK_EQ(parse("{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":5,"
		       "\"dataMessage\":{\"message\":\"x\",\"attachments\":[],\"mentions\":[]}}}", &e), KITH_OK);
	CHECK_EQ(e.kind, SG_MESSAGE);
	sg_event_release(&e);
}

static void test_mentions_and_edits(void)
{
	struct sg_event e;
	struct inbound *ev;

	CHECK_EQ(parse("{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":7,\"dataMessage\":{"
		       "\"message\":\"\xEF\xBF\xBC and \xEF\xBF\xBC, look\",\"mentions\":["
		       "{\"name\":\"Bob\",\"number\":\"+15550000002\",\"start\":6,\"length\":1},"
		       "{\"name\":\"kith\",\"number\":\"" ME "\",\"start\":0,\"length\":1}],"
		       "\"groupInfo\":{\"groupId\":\"abc=\"}}}}", &e), KITH_OK);
	CHECK_STR(e.text, "@kith and @Bob, look");
	CHECK(e.mentions_self);
	ev = sg_event_to_inbound(&e, NULL);
	REQUIRE(ev);
	CHECK(ev->mentions_self);
	CHECK(!ev->direct);
	CHECK_STR(ev->conversation, "group.YWJjPQ==");
	inbound_free(ev);
	sg_event_release(&e);

	CHECK_EQ(parse("{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":9,\"editMessage\":{"
		       "\"targetSentTimestamp\":8,\"dataMessage\":{\"timestamp\":9,\"message\":\"fixed\"}}}}",
		       &e), KITH_OK);
	CHECK_EQ(e.kind, SG_EDIT);
	ev = sg_event_to_inbound(&e, NULL);
	REQUIRE(ev);
	CHECK_EQ(ev->kind, INBOUND_EDIT);
	CHECK_STR(ev->external_id, "8");
	CHECK_STR(ev->text, "fixed");
	inbound_free(ev);
	sg_event_release(&e);
}

static void test_reaction_shapes(void)
{
	struct sg_event e;

	/* Penny issue #34: emoji as an object. */
	CHECK_EQ(parse("{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":10,\"dataMessage\":{"
		       "\"message\":null,\"reaction\":{\"emoji\":{\"value\":\"\xF0\x9F\x94\xA5\"},"
		       "\"targetAuthor\":\"uuid-me\",\"targetAuthorNumber\":\"" ME "\","
		       "\"targetSentTimestamp\":\"42\",\"isRemove\":false}}}}", &e), KITH_OK);
	CHECK_EQ(e.kind, SG_REACTION);
	CHECK_STR(e.text, "\xF0\x9F\x94\xA5");
	CHECK_STR(e.target_author, ME);
	CHECK_EQ(e.target_ts, 42);
	sg_event_release(&e);
	CHECK_EQ(parse("{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":11,\"dataMessage\":{"
		       "\"reaction\":{\"emoji\":\"x\"}}}}", &e), KITH_OK);
	CHECK_EQ(e.kind, SG_IGNORE);
	sg_event_release(&e);
}

static void test_ignored_and_errors(void)
{
	static const char *const ignored[] = {
		"{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":1,\"typingMessage\":{\"action\":\"STOPPED\"}}}",
		"{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":1,\"receiptMessage\":{\"isRead\":true}}}",
		"{\"envelope\":{\"sourceNumber\":\"" ME "\",\"timestamp\":1,\"syncMessage\":{\"sentMessage\":{\"message\":\"x\"}}}}",
		"{\"envelope\":{\"sourceNumber\":\"" ME "\",\"timestamp\":1,\"dataMessage\":{\"message\":\"me\"}}}",
		"{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":1,\"dataMessage\":{\"message\":\"x\"}},\"account\":\"+15550001111\"}",
		"{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":1,\"dataMessage\":{\"groupInfo\":{\"groupId\":\"g\",\"type\":\"UPDATE\"}}}}",
		"{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":1,\"dataMessage\":{\"remoteDelete\":{\"timestamp\":3}}}}",
		"{\"envelope\":{\"timestamp\":1,\"dataMessage\":{\"message\":\"no sender\"}}}",
		"{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"dataMessage\":{\"message\":\"no time\"}}}",
		"{\"envelope\":{\"sourceNumber\":\"" ALICE "\",\"timestamp\":1,\"storyMessage\":{}}}",
	};
	struct sg_event e;
	char *why = NULL;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		CHECK_EQ(parse(ignored[i], &e), KITH_OK);
		CHECK_EQ(e.kind, SG_IGNORE);
		CHECK(e.ignored != NULL);
		CHECK(sg_event_to_inbound(&e, NULL) == NULL);
		sg_event_release(&e);
	}
	CHECK_EQ(parse("{\"error\":\"boom\"}", &e), KITH_OK);
	CHECK_EQ(e.kind, SG_ERROR);
	CHECK_STR(e.text, "boom");
	sg_event_release(&e);
	CHECK_EQ(sg_envelope_parse("[1]", 3, ME, &e, &why), KITH_EPROTO);
	CHECK(why != NULL);
	free(why);
	CHECK_EQ(parse("{\"account\":\"x\"}", &e), KITH_EPROTO);
	CHECK_EQ(parse("{", &e), KITH_EPROTO);
}

static void test_poll_array_and_answers(void)
{
	char **frames = NULL;
	size_t n = 0;
	int64_t ts;
	char *fail = NULL, *s;
	const char *arr = "[{\"envelope\":{\"timestamp\":1},\"account\":\"a\"},7,{\"envelope\":{}}]";

	CHECK_EQ(sg_parse_receive_array(arr, strlen(arr), &frames, &n, NULL), KITH_OK);
	CHECK_EQ(n, 2);
	CHECK_CONTAINS(frames[0], "\"timestamp\":1");
	for (size_t i = 0; i < n; i++)
		free(frames[i]);
	free(frames);
	CHECK_EQ(sg_parse_receive_array("[]", 2, &frames, &n, NULL), KITH_OK);
	CHECK_EQ(n, 0);
	free(frames);
	CHECK_EQ(sg_parse_receive_array("{}", 2, &frames, &n, NULL), KITH_EPROTO);

	sg_parse_send_answer("{\"timestamp\":\"1700000001234\"}", 29, &ts, &fail);
	CHECK_EQ(ts, 1700000001234LL);
	CHECK(fail == NULL);
	s = "{\"timestamp\":1700000001235}";
	sg_parse_send_answer(s, strlen(s), &ts, &fail);
	CHECK_EQ(ts, 1700000001235LL);
	s = "[{\"timestamp\":\"1700000001236\",\"errors\":{\"recipients\":[{\"number\":\"+1\","
	    "\"reason\":\"UNREGISTERED_FAILURE\"}]}}]";
	sg_parse_send_answer(s, strlen(s), &ts, &fail);
	CHECK_EQ(ts, 1700000001236LL);
	CHECK_STR(fail, "UNREGISTERED_FAILURE");
	free(fail);
	sg_parse_send_answer("Created", 7, &ts, &fail);
	CHECK_EQ(ts, 0);
	CHECK(fail == NULL);
	sg_parse_send_answer("", 0, &ts, &fail);
	CHECK_EQ(ts, 0);

	s = sg_error_text("{\"error\":\"nope\"}", 16);
	CHECK_STR(s, "nope");
	free(s);
	CHECK(sg_error_text("x", 1) == NULL);
	s = sg_parse_about_mode("{\"mode\":\"normal\"}", 17);
	CHECK_STR(s, "normal");
	free(s);
}

static void test_ids(void)
{
	char *s = signal_group_conversation("Zm9v");
	char *body;

	CHECK_STR(s, "group.Wm05dg==");
	free(s);
	s = sg_mask(ALICE);
	CHECK(strncmp(s, "+1555", 5) == 0);
	CHECK(strstr(s, "01") != NULL);
	CHECK(strstr(s, "123") == NULL);
	free(s);
	CHECK_EQ(sg_parse_ts("123"), 123);
	CHECK_EQ(sg_parse_ts("12a"), 0);
	CHECK_EQ(sg_parse_ts(""), 0);
	CHECK_EQ(sg_parse_ts("1234567890123456789"), 0);
	CHECK(sg_valid_recipient(ALICE));
	CHECK(sg_valid_recipient("group.YWJj"));
	CHECK(!sg_valid_recipient("a/b"));
	CHECK(!sg_valid_recipient(""));
	CHECK(sg_backoff_ms(100, 1000, 1, 0.5) == 100);
	CHECK(sg_backoff_ms(100, 1000, 10, 0.99) <= 1000);

	body = sg_send_body(ME, ALICE, NULL, 0, NULL, NULL, NULL, 0);
	CHECK(strstr(body, "\"message\"") == NULL);
	CHECK(strstr(body, "quote_") == NULL);
	CHECK_CONTAINS(body, "\"text_mode\":\"styled\"");
	free(body);
}

static void test_recent_and_seen(void)
{
	struct sg_recent *r = sg_recent_new(2);
	struct sg_seen *s = sg_seen_new(2);
	char *a, *t;

	sg_recent_put(r, "c", 1, "alice", "one");
	sg_recent_put(r, "c", 2, ME, "two");
	CHECK(sg_recent_get(r, "c", 1, &a, &t));
	CHECK_STR(a, "alice");
	CHECK_STR(t, "one");
	free(a);
	free(t);
	CHECK(!sg_recent_get(r, "other", 1, &a, NULL));
	CHECK_EQ(sg_recent_last_by(r, "c", ME), 2);
	sg_recent_put(r, "c", 3, ME, "three");   /* evicts 1 */
	CHECK(!sg_recent_get(r, "c", 1, NULL, NULL));
	CHECK_EQ(sg_recent_last_by(r, "c", ME), 3);
	sg_recent_free(r);

	CHECK(sg_seen_first(s, "a", 1));
	CHECK(!sg_seen_first(s, "a", 1));
	CHECK(sg_seen_first(s, "b", 1));
	CHECK(sg_seen_first(s, "c", 1));   /* evicts a/1 */
	CHECK(sg_seen_first(s, "a", 1));
	sg_seen_free(s);
}

int main(void)
{
	RUN(test_plain_message_and_versions);
	RUN(test_mentions_and_edits);
	RUN(test_reaction_shapes);
	RUN(test_ignored_and_errors);
	RUN(test_poll_array_and_answers);
	RUN(test_ids);
	RUN(test_recent_and_seen);
	return test_summary();
}
