/* test_jmap.c — the JMAP client and the email tools against the fake JMAP
 * server: the session is fetched with the bearer token, cached, followed to
 * its apiUrl and fetched again when the sessionState moves or the token is
 * refused; search builds only the filter conditions given, with UTC dates,
 * and back-references its ids; read joins text bodies, strips HTML-only
 * ones and cuts long ones; method and HTTP errors become sentences without
 * the token.  Also the text helpers on their own. */
#include "agent/tools.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/json.h"
#include "fakes/fake_jmap.h"
#include "support/test.h"
#include "tools/jmap.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN "fmu1-secret-token-123"

static struct config *config_at(struct fake_jmap *f, const char *token, const char *session_url)
{
	char *e[6], *why = NULL;
	struct config *cfg = NULL;
	int n = 0;

	e[n++] = xasprintf("KITH_DATA_DIR=%s", test_tmpdir());
	e[n++] = xasprintf("JMAP_SESSION_URL=%s", session_url ? session_url
								 : fake_jmap_session_url(f));
	e[n++] = xstrdup("JMAP_REQUEST_TIMEOUT=5");
	if (token)
		e[n++] = xasprintf("FASTMAIL_API_TOKEN=%s", token);
	e[n] = NULL;
	if (config_load(&cfg, (const char *const *)e, test_tmpdir(), &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "config: %s", why ? why : "?");
	for (int i = 0; e[i]; i++)
		free(e[i]);
	free(why);
	return cfg;
}

static struct config *config_for(struct fake_jmap *f, const char *token)
{
	return config_at(f, token, NULL);
}

static void mailbox(struct fake_jmap *f)
{
	static const struct fake_jmap_email mails[] = {
		{ .id = "Mflight", .from_name = "TAP Air", .from_email = "noreply@flytap.example",
		  .subject = "Your flight to Lisbon", .received_at = "2026-03-02T08:15:00Z",
		  .text = "Flight TP123 leaves at 10:40 on 12 March from gate B7." },
		{ .id = "Mbill", .from_email = "billing@power.example", .subject = "March invoice",
		  .received_at = "2026-03-05T12:00:00Z", .text = "Amount due: 42 EUR." },
		{ .id = "Mhtml", .from_name = "Ana", .from_email = "ana@example.com",
		  .subject = "Dinner & drinks", .received_at = "2026-02-20T19:00:00Z",
		  .html = "<html><head><style>p{color:red}</style><script>x()</script></head>"
			  "<body><p>See you at <b>8</b> &amp; bring &quot;wine&quot;</p>"
			  "<p>Tom&#39;s &lt;new&gt;&nbsp;place</p><!-- hidden --></body></html>",
		  .preview = "See you at 8" },
		{ .id = "Mboth", .from_email = "news@example.com", .subject = "Weekly news",
		  .received_at = "2026-01-10T07:00:00Z", .text = "plain version",
		  .html = "<p>html version</p>" },
	};

	for (size_t i = 0; i < sizeof(mails) / sizeof(*mails); i++)
		fake_jmap_add(f, &mails[i]);
}

static char *call_tool(const struct config *cfg, const struct tool_def *def, const char *args_json,
		       enum kith_status *rc)
{
	struct tool_registry *reg = tools_new();
	struct tool_ctx ctx = { .cfg = cfg };
	json_t *args = kjson_parse(args_json, strlen(args_json), NULL);
	char *result = NULL;

	tools_add(reg, def);
	*rc = tools_call(reg, &ctx, def->name, args, args_json, &result);
	json_decref(args);
	tools_free(reg);
	return result;
}

/* The index-th method call of request i. */
static json_t *method_call(struct fake_jmap *f, size_t i, size_t index)
{
	json_t *j = fake_jmap_request_json(f, i);
	json_t *c = json_incref(json_array_get(kjson_arr(j, "methodCalls"), index));

	json_decref(j);
	return c;
}

static void test_search(void)
{
	struct fake_jmap *f = fake_jmap_start();
	struct config *cfg;
	enum kith_status rc;
	json_t *q, *g, *filter;
	char *r, *s;

	REQUIRE(f);
	jmap_client_forget(jmap_shared());
	fake_jmap_set_token(f, TOKEN);
	fake_jmap_set_api_path(f, "/elsewhere/api/");   /* the client must follow apiUrl */
	fake_jmap_set_account(f, "acct-77");
	mailbox(f);
	cfg = config_for(f, TOKEN);

	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"flight\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Found 1 email(s):\n\n[Mflight] 2026-03-02T08:15:00Z from TAP Air "
		     "<noreply@flytap.example>: Your flight to Lisbon\n"
		     "Flight TP123 leaves at 10:40 on 12 March from gate B7.");
	free(r);
	CHECK_EQ(fake_jmap_request_count(f), 2);
	CHECK_EQ(fake_jmap_session_fetches(f), 1);
	s = fake_jmap_request_method(f, 0);
	CHECK_STR(s, "GET");
	free(s);
	s = fake_jmap_request_header(f, 0, "Authorization");
	CHECK_STR(s, "Bearer " TOKEN);
	free(s);
	s = fake_jmap_request_path(f, 1);
	CHECK_STR(s, "/elsewhere/api/");
	free(s);
	q = method_call(f, 1, 0);
	g = method_call(f, 1, 1);
	CHECK_STR(json_string_value(json_array_get(q, 0)), "Email/query");
	CHECK_STR(json_string_value(json_array_get(q, 2)), "0");
	CHECK_STR(kjson_str(json_array_get(q, 1), "accountId"), "acct-77");
	filter = kjson_obj(json_array_get(q, 1), "filter");
	CHECK_EQ(json_object_size(filter), 1);
	CHECK_STR(kjson_str(filter, "text"), "flight");
	s = kjson_dump(kjson_arr(json_array_get(q, 1), "sort"), true);
	CHECK_STR(s, "[{\"isAscending\":false,\"property\":\"receivedAt\"}]");
	free(s);
	{
		long long lim = 0;

		CHECK(kjson_int(json_array_get(q, 1), "limit", &lim));
		CHECK_EQ(lim, 10);
	}
	CHECK_STR(json_string_value(json_array_get(g, 0)), "Email/get");
	s = kjson_dump(kjson_obj(json_array_get(g, 1), "#ids"), true);
	CHECK_STR(s, "{\"name\":\"Email/query\",\"path\":\"/ids\",\"resultOf\":\"0\"}");
	free(s);
	s = kjson_dump(kjson_arr(json_array_get(g, 1), "properties"), false);
	CHECK_STR(s, "[\"id\",\"subject\",\"from\",\"receivedAt\",\"preview\"]");
	free(s);
	json_decref(q);
	json_decref(g);

	/* every condition, dates made UTCDates; newest first; session cached */
	r = call_tool(cfg, &tool_search_emails,
		      "{\"from_addr\":\"example.com\",\"subject\":\"\",\"after\":\"2026-01-01\","
		      "\"before\":\"2026-03-04T00:00:00Z\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Found 2 email(s):\n\n[Mhtml] 2026-02-20T19:00:00Z from Ana <ana@example.com>: "
		     "Dinner & drinks\nSee you at 8\n\n[Mboth] 2026-01-10T07:00:00Z from "
		     "news@example.com: Weekly news\nplain version");
	free(r);
	CHECK_EQ(fake_jmap_session_fetches(f), 1);
	q = method_call(f, 2, 0);
	filter = kjson_obj(json_array_get(q, 1), "filter");
	s = kjson_dump(filter, true);
	CHECK_STR(s, "{\"after\":\"2026-01-01T00:00:00Z\",\"before\":\"2026-03-04T00:00:00Z\","
		     "\"from\":\"example.com\"}");
	free(s);
	json_decref(q);

	/* nothing matches */
	r = call_tool(cfg, &tool_search_emails, "{\"subject\":\"zebra\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "No emails matched that search.");
	free(r);

	/* no conditions: everything, no filter sent */
	r = call_tool(cfg, &tool_search_emails, "{}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Found 4 email(s):\n\n[Mbill]");
	free(r);
	q = method_call(f, fake_jmap_request_count(f) - 1, 0);
	CHECK(!json_object_get(json_array_get(q, 1), "filter"));
	json_decref(q);

	/* a junk date is refused before anything is sent */
	{
		size_t before = fake_jmap_request_count(f);

		r = call_tool(cfg, &tool_search_emails, "{\"after\":\"last tuesday\"}", &rc);
		CHECK_EQ(rc, KITH_EINVAL);
		CHECK_CONTAINS(r, "'last tuesday' is not a UTC date");
		free(r);
		r = call_tool(cfg, &tool_search_emails, "{\"before\":\"2026-13-01\"}", &rc);
		CHECK_EQ(rc, KITH_EINVAL);
		free(r);
		CHECK_EQ(fake_jmap_request_count(f), before);
	}
	config_free(cfg);
	fake_jmap_stop(f);
}

static void test_session_state(void)
{
	struct fake_jmap *f = fake_jmap_start();
	struct config *cfg;
	enum kith_status rc;
	char *r;

	REQUIRE(f);
	jmap_client_forget(jmap_shared());
	mailbox(f);
	cfg = config_for(f, TOKEN);
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"invoice\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"invoice\"}", &rc);
	free(r);
	CHECK_EQ(fake_jmap_session_fetches(f), 1);
	/* the server's state moves: the answer still counts, the next call
	 * fetches the session again */
	fake_jmap_set_state(f, "s2");
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"march\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "[Mbill]");
	free(r);
	CHECK_EQ(fake_jmap_session_fetches(f), 1);
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"march\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	free(r);
	CHECK_EQ(fake_jmap_session_fetches(f), 2);
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"march\"}", &rc);
	free(r);
	CHECK_EQ(fake_jmap_session_fetches(f), 2);
	config_free(cfg);
	fake_jmap_stop(f);
}

/* JMAP_SESSION_URL may be the well-known address, which redirects to the
 * session resource (RFC 8620 §2.2); the token goes along (same host). */
static void test_well_known_redirect(void)
{
	struct fake_jmap *f = fake_jmap_start();
	struct config *cfg;
	enum kith_status rc;
	const char *base, *slash;
	char *r, *well_known;

	REQUIRE(f);
	jmap_client_forget(jmap_shared());
	mailbox(f);
	base = fake_jmap_session_url(f);
	slash = strstr(base, "/jmap/session");
	REQUIRE(slash);
	well_known = xasprintf("%.*s/.well-known/jmap", (int)(slash - base), base);
	cfg = config_at(f, TOKEN, well_known);
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"invoice\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "[Mbill]");
	free(r);
	CHECK_EQ(fake_jmap_session_fetches(f), 1);
	free(well_known);
	config_free(cfg);
	fake_jmap_stop(f);
}

static void test_read(void)
{
	struct fake_jmap *f = fake_jmap_start();
	struct config *cfg;
	enum kith_status rc;
	json_t *g;
	char *r, *s, *why = NULL;

	REQUIRE(f);
	jmap_client_forget(jmap_shared());
	fake_jmap_set_token(f, TOKEN);
	mailbox(f);
	cfg = config_for(f, TOKEN);

	r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[\"Mflight\",\"Mhtml\",\"Mboth\"]}",
		      &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Subject: Your flight to Lisbon\nFrom: TAP Air <noreply@flytap.example>\n"
		     "Date: 2026-03-02T08:15:00Z\n\n"
		     "Flight TP123 leaves at 10:40 on 12 March from gate B7."
		     "\n\n---\n\n"
		     "Subject: Dinner & drinks\nFrom: Ana <ana@example.com>\n"
		     "Date: 2026-02-20T19:00:00Z\n\n"
		     "See you at 8 & bring \"wine\"\n\nTom's <new> place"
		     "\n\n---\n\n"
		     "Subject: Weekly news\nFrom: news@example.com\nDate: 2026-01-10T07:00:00Z\n\n"
		     "plain version");
	free(r);
	g = method_call(f, 1, 0);
	CHECK_STR(json_string_value(json_array_get(g, 0)), "Email/get");
	s = kjson_dump(json_array_get(g, 1), true);
	CHECK_CONTAINS(s, "\"fetchHTMLBodyValues\":true,\"fetchTextBodyValues\":true");
	CHECK_CONTAINS(s, "\"ids\":[\"Mflight\",\"Mhtml\",\"Mboth\"]");
	CHECK_CONTAINS(s, "\"properties\":[\"id\",\"subject\",\"from\",\"to\",\"receivedAt\","
			  "\"textBody\",\"htmlBody\",\"bodyValues\"]");
	free(s);
	json_decref(g);

	/* unknown ids */
	r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[\"Mbill\",\"Mnope\"]}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Amount due: 42 EUR.\n\n---\n\nNot found: Mnope");
	free(r);
	r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[\"Mnope\"]}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "No email was found with the id(s): Mnope");
	free(r);

	/* bad arguments never reach the server */
	{
		size_t before = fake_jmap_request_count(f);

		r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[]}", &rc);
		CHECK_EQ(rc, KITH_EINVAL);
		CHECK_CONTAINS(r, "no email ids were given");
		free(r);
		r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[\"[Mbill]\"]}", &rc);
		CHECK_EQ(rc, KITH_EINVAL);
		CHECK_CONTAINS(r, "'[Mbill]' is not an email id");
		free(r);
		r = call_tool(cfg, &tool_read_emails, "{}", &rc);
		CHECK_EQ(rc, KITH_EINVAL);
		free(r);
		CHECK_EQ(fake_jmap_request_count(f), before);
	}

	/* more than ten ids: the first ten are read */
	r = call_tool(cfg, &tool_read_emails,
		      "{\"email_ids\":[\"a1\",\"a2\",\"a3\",\"a4\",\"a5\",\"a6\",\"a7\",\"a8\","
		      "\"a9\",\"a10\",\"a11\",\"Mbill\"]}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "No email was found with the id(s): a1, a2, a3, a4, a5, a6, a7, a8, a9, a10\n\n"
			  "(Only the first 10 ids were read.)");
	free(r);
	g = method_call(f, fake_jmap_request_count(f) - 1, 0);
	CHECK_EQ(json_array_size(kjson_arr(json_array_get(g, 1), "ids")), 10);
	json_decref(g);

	/* long bodies are cut at EMAIL_BODY_MAX_LENGTH characters, read each call */
	{
		static const struct fake_jmap_email longmail = {
			.id = "Mlong", .from_email = "x@example.com", .subject = "Long",
			.text = "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
				"ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
				"ééééééééééééééééééééé tail",
		};

		fake_jmap_add(f, &longmail);
		CHECK_EQ(config_override(cfg, CFG_EMAIL_BODY_MAX_LENGTH, "100", &why), KITH_OK);
		r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[\"Mlong\"]}", &rc);
		CHECK_EQ(rc, KITH_OK);
		s = r ? strstr(r, "\n\n") : NULL;
		REQUIRE(s);
		CHECK(strncmp(s + 2, "éééé", 8) == 0);
		CHECK_EQ(strlen(s + 2), 200 + strlen("\n\n[truncated]"));
		CHECK_CONTAINS(r, "é\n\n[truncated]");
		free(r);
		CHECK_EQ(config_override(cfg, CFG_EMAIL_BODY_MAX_LENGTH, NULL, &why), KITH_OK);
		r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[\"Mlong\"]}", &rc);
		CHECK_CONTAINS(r, "é tail");
		CHECK(!strstr(r, "[truncated]"));
		free(r);
	}
	config_free(cfg);
	fake_jmap_stop(f);
}

static void test_errors(void)
{
	struct fake_jmap *f = fake_jmap_start();
	struct config *cfg, *wrong, *none;
	struct jmap_conn conn = { 0 };
	struct jmap_emails e;
	enum kith_status rc;
	char *r, *why = NULL;

	REQUIRE(f);
	jmap_client_forget(jmap_shared());
	fake_jmap_set_token(f, TOKEN);
	mailbox(f);
	cfg = config_for(f, TOKEN);
	wrong = config_for(f, "wrong-token-456");
	none = config_for(f, NULL);

	/* a refused token, never repeated back */
	r = call_tool(wrong, &tool_search_emails, "{\"text\":\"x\"}", &rc);
	CHECK_EQ(rc, KITH_EAUTH);
	CHECK_CONTAINS(r, "the Fastmail token was refused");
	CHECK(!strstr(r, "wrong-token-456"));
	free(r);
	r = call_tool(none, &tool_search_emails, "{\"text\":\"x\"}", &rc);
	CHECK_EQ(rc, KITH_ECONFIG);
	CHECK_CONTAINS(r, "FASTMAIL_API_TOKEN");
	free(r);

	/* method-level errors */
	fake_jmap_fail_method(f, "Email/query", "unsupportedFilter");
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"x\"}", &rc);
	CHECK_EQ(rc, KITH_EHTTP);
	CHECK_CONTAINS(r, "Fastmail refused Email/query: unsupportedFilter");
	free(r);
	fake_jmap_fail_method(f, "Email/get", "serverFail");
	r = call_tool(cfg, &tool_read_emails, "{\"email_ids\":[\"Mbill\"]}", &rc);
	CHECK_EQ(rc, KITH_EHTTP);
	CHECK_CONTAINS(r, "Fastmail refused Email/get: serverFail");
	free(r);

	/* the account went away: the session is fetched again next time */
	{
		size_t fetches = fake_jmap_session_fetches(f);

		fake_jmap_set_account(f, "other");
		r = call_tool(cfg, &tool_search_emails, "{\"text\":\"x\"}", &rc);
		CHECK_EQ(rc, KITH_EHTTP);
		CHECK_CONTAINS(r, "accountNotFound");
		free(r);
		r = call_tool(cfg, &tool_search_emails, "{\"text\":\"invoice\"}", &rc);
		CHECK_EQ(rc, KITH_OK);
		free(r);
		CHECK_EQ(fake_jmap_session_fetches(f), fetches + 1);
	}

	/* HTTP errors on the API (retried once) */
	fake_jmap_fail_http(f, 400, 1);
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"x\"}", &rc);
	CHECK_EQ(rc, KITH_EHTTP);
	CHECK_STR(r, "Error: 'search_emails' failed: Fastmail answered HTTP 400 to the email "
		     "search (limit)");
	free(r);
	fake_jmap_fail_http(f, 503, 1);   /* one retry recovers */
	r = call_tool(cfg, &tool_search_emails, "{\"text\":\"invoice\"}", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "[Mbill]");
	free(r);

	/* nobody listening */
	conn.session_url = "http://127.0.0.1:1/jmap/session";
	conn.token = TOKEN;
	conn.timeout_ms = 2000;
	{
		struct jmap_client *c = jmap_client_new();
		struct jmap_filter flt = { .text = "x" };

		rc = jmap_search(c, &conn, &flt, 0, &e, &why);
		CHECK_EQ(rc, KITH_ECONNECT);
		CHECK_CONTAINS(why, "cannot reach Fastmail");
		CHECK(!strstr(why, TOKEN));
		free(why);
		jmap_emails_release(&e);
		jmap_client_free(c);
	}
	config_free(none);
	config_free(wrong);
	config_free(cfg);
	fake_jmap_stop(f);
}

static void test_parsers(void)
{
	struct jmap_session s;
	struct jmap_emails e;
	char *why = NULL, *state = NULL, *type = NULL, *t;
	static const char sess[] =
		"{\"capabilities\":{\"urn:ietf:params:jmap:mail\":{}},\"apiUrl\":\"https://x/api/\","
		"\"primaryAccounts\":{\"urn:ietf:params:jmap:mail\":\"u1\"},\"state\":\"abc\"}";
	static const char no_acct[] =
		"{\"capabilities\":{\"urn:ietf:params:jmap:mail\":{}},\"apiUrl\":\"https://x/api/\","
		"\"primaryAccounts\":{}}";
	static const char odd[] =
		"{\"methodResponses\":[[\"Email/query\",{\"ids\":[]},\"0\"],[\"Email/get\","
		"{\"list\":[{\"id\":\"a\",\"subject\":7,\"from\":\"bob\"},{\"id\":\"bad id\"},"
		"{\"subject\":\"no id\"},3]},\"1\"]],\"sessionState\":\"z\"}";
	static const char err[] = "{\"methodResponses\":[[\"error\",{\"type\":\"forbidden\"},\"0\"]]}";

	CHECK_EQ(jmap_parse_session(sess, strlen(sess), &s, &why), KITH_OK);
	CHECK_STR(s.api_url, "https://x/api/");
	CHECK_STR(s.account_id, "u1");
	CHECK_STR(s.state, "abc");
	jmap_session_release(&s);
	CHECK_EQ(jmap_parse_session(no_acct, strlen(no_acct), &s, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "no mail account");
	free(why);
	why = NULL;
	CHECK_EQ(jmap_parse_session("[]", 2, &s, NULL), KITH_EPROTO);

	CHECK_EQ(jmap_parse_search(odd, strlen(odd), &e, &state, &type, &why), KITH_OK);
	CHECK_EQ(e.n, 1);
	CHECK_STR(e.v[0].id, "a");
	CHECK_STR(e.v[0].subject, "");
	CHECK_STR(e.v[0].from, "");
	CHECK_STR(state, "z");
	free(state);
	t = jmap_format_search(&e);
	CHECK_STR(t, "Found 1 email(s):\n\n[a]  from (unknown sender): (no subject)\n");
	free(t);
	jmap_emails_release(&e);
	CHECK_EQ(jmap_parse_search("{}", 2, &e, NULL, NULL, &why), KITH_EPROTO);
	free(why);
	why = NULL;
	CHECK_EQ(jmap_parse_read(err, strlen(err), 0, &e, NULL, &type, &why), KITH_EHTTP);
	CHECK_STR(type, "forbidden");
	CHECK_STR(why, "Fastmail refused Email/get: forbidden");
	free(type);
	free(why);
	why = NULL;

	t = jmap_html_text("a<br>b<div>c</div>&#x41;&#66;&bogus; <SCRIPT>no</SCRIPT>  d", 59);
	CHECK_STR(t, "a\nb\nc\nAB&bogus; d");
	free(t);
	t = jmap_html_text("<p>unterminated <b", 18);
	CHECK_STR(t, "unterminated");
	free(t);
	t = jmap_truncate("héllo", 2);
	CHECK_STR(t, "hé\n\n[truncated]");
	free(t);
	t = jmap_truncate("héllo", 5);
	CHECK_STR(t, "héllo");
	free(t);

	CHECK_EQ(jmap_utc_date("2026-03-01", &t, NULL), KITH_OK);
	CHECK_STR(t, "2026-03-01T00:00:00Z");
	free(t);
	CHECK_EQ(jmap_utc_date("2026-03-01T10:20:30.123Z", &t, NULL), KITH_OK);
	CHECK_STR(t, "2026-03-01T10:20:30Z");
	free(t);
	CHECK_EQ(jmap_utc_date("2026-03-01T10:20:30+02:00", &t, NULL), KITH_EINVAL);
	CHECK_EQ(jmap_utc_date("2026-3-1", &t, NULL), KITH_EINVAL);
	CHECK_EQ(jmap_utc_date("", &t, NULL), KITH_EINVAL);
	CHECK(jmap_valid_id("M-1_a"));
	CHECK(!jmap_valid_id(""));
	CHECK(!jmap_valid_id("a b"));
}

int main(void)
{
	RUN(test_search);
	RUN(test_session_state);
	RUN(test_well_known_redirect);
	RUN(test_read);
	RUN(test_errors);
	RUN(test_parsers);
	return test_summary();
}
