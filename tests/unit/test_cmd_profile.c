/* test_cmd_profile.c — /profile, /mute and /unmute against a migrated store:
 * the date parser, the model-answer parser, the deterministic forms, the
 * time zone worked out from the location and kept when set by hand, free
 * text through the fake Ollama (utility role, JSON schema), the answer
 * without a model, and the notification agent leaving a muted person
 * alone (no model call, facts left untold until /unmute). */
#include "support/test.h"
#include "support/storetest.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "cmd/cmd_profile.h"
#include "core/alloc.h"
#include "fakes/fake_llm.h"
#include "knowledge/knowledge.h"
#include "llm/llm.h"
#include "sched/scheduler.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define TODAY 20260315

static struct agent_deps deps;   /* no config, no model unless a test sets one */

typedef enum kith_status (*cmd_fn)(const struct cmd_ctx *, const char *, char **);

static char *run(struct store *st, const char *user, cmd_fn fn, const char *args,
		 enum kith_status *rc)
{
	struct inbound ev = { .conversation = "default", .author_id = (char *)user };
	struct cmd_ctx ctx = { .deps = &deps, .st = st, .ev = user ? &ev : NULL };
	char *reply = NULL;

	*rc = fn(&ctx, args, &reply);
	return reply;
}

static struct store_user_profile profile(struct store *st, const char *user)
{
	struct store_user_profile p;
	char *why = NULL;

	memset(&p, 0, sizeof(p));
	CHECK_EQ(store_user_profile_get(st, user, &p, &why), KITH_OK);
	free(why);
	return p;
}

/* ---- parsers -------------------------------------------------------------- */

static void date_ok(const char *text, const char *iso)
{
	char out[11] = "", *why = NULL;

	if (profile_parse_date(text, TODAY, out, &why) != KITH_OK || strcmp(out, iso) != 0)
		test_fail_(__FILE__, __LINE__, "\"%s\" → \"%s\" (%s), want %s", text, out,
			   why ? why : "ok", iso);
	free(why);
}

static void date_bad(const char *text, const char *reason)
{
	char out[11] = "", *why = NULL;

	if (profile_parse_date(text, TODAY, out, &why) != KITH_EINVAL)
		test_fail_(__FILE__, __LINE__, "\"%s\" accepted as %s", text, out);
	else if (reason)
		CHECK_CONTAINS(why, reason);
	free(why);
}

static void test_dates(void)
{
	char s[64];

	date_ok("1990-04-02", "1990-04-02");
	date_ok(" 1990-4-2 ", "1990-04-02");
	date_ok("2 April 1990", "1990-04-02");
	date_ok("April 2, 1990", "1990-04-02");
	date_ok("april 2 1990", "1990-04-02");
	date_ok("2nd of Apr 1990", "1990-04-02");
	date_ok("the 2nd of April, 1990", "1990-04-02");
	date_ok("Sept 30 2001", "2001-09-30");
	date_ok("02.04.1990", "1990-04-02");
	date_ok("29 February 2000", "2000-02-29");
	date_ok("25/12/1980", "1980-12-25");
	date_ok("12/25/1980", "1980-12-25");
	date_ok("15 March 2026", "2026-03-15");   /* today */
	date_bad("29 February 1900", "doesn't exist");
	date_bad("31 April 1990", "doesn't exist");
	date_bad("1990-13-01", "doesn't exist");
	date_bad("16 March 2026", "future");
	date_bad("2090-01-01", "future");
	date_bad("1 January 1850", "too long ago");
	date_bad("02/04/1990", "day/month");
	date_bad("April 1990", "a day, a month and a year");
	date_bad("April May 2 1990", NULL);
	date_bad("yesterday", NULL);
	date_bad("", NULL);
	date_bad("1990-04-02-01", NULL);
	CHECK(profile_format_date("1990-04-02", s, sizeof(s)));
	CHECK_STR(s, "2 April 1990");
	CHECK(!profile_format_date("1990-02-30", s, sizeof(s)));
	CHECK(!profile_format_date("garbage", s, sizeof(s)));
}

static void test_fields(void)
{
	struct profile_fields f;
	const char *t;
	char *why = NULL;

	t = "{\"name\":\" Ana \",\"location\":\"Lisbon, Portugal\",\"date_of_birth\":null}";
	CHECK_EQ(profile_parse_fields(t, strlen(t), &f, &why), KITH_OK);
	CHECK_STR(f.name, "Ana");
	CHECK_STR(f.location, "Lisbon, Portugal");
	CHECK(f.date_of_birth == NULL);
	profile_fields_release(&f);
	t = "```json\n{\"name\":\"\",\"location\":\"a\\nb\",\"date_of_birth\":\"1988-05-03\","
	    "\"extra\":1}\n```";
	CHECK_EQ(profile_parse_fields(t, strlen(t), &f, &why), KITH_OK);
	CHECK(f.name == NULL);          /* empty */
	CHECK(f.location == NULL);      /* control character */
	CHECK_STR(f.date_of_birth, "1988-05-03");
	profile_fields_release(&f);
	t = "{\"name\":42}";
	CHECK_EQ(profile_parse_fields(t, strlen(t), &f, &why), KITH_OK);
	CHECK(f.name == NULL);
	profile_fields_release(&f);
	t = "[1,2]";
	CHECK_EQ(profile_parse_fields(t, strlen(t), &f, &why), KITH_EPROTO);
	free(why);
	why = NULL;
	CHECK_EQ(profile_parse_fields("", 0, &f, &why), KITH_EPROTO);
	free(why);
	why = NULL;
	CHECK_EQ(profile_parse_fields("```", 3, &f, &why), KITH_EPROTO);
	free(why);
}

/* ---- /profile ------------------------------------------------------------- */

static void test_profile_forms(void)
{
	struct store *st = storetest_open("profile-forms.db");
	struct store_user_profile p;
	enum kith_status rc;
	char *r;

	REQUIRE(st);
	r = run(st, "ana", cmd_profile, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "You haven't set up a profile yet");
	CHECK_CONTAINS(r, "/profile timezone Europe/Lisbon");
	free(r);

	r = run(st, "ana", cmd_profile, "name Ana", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Saved.\nName: Ana");
	free(r);
	r = run(st, "ana", cmd_profile, "location Lisbon, Portugal", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Saved.\nLocation: Lisbon, Portugal (time zone Europe/Lisbon)");
	free(r);
	r = run(st, "ana", cmd_profile, "dob 3 May 1988", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Saved.\nDate of birth: 3 May 1988");
	free(r);
	p = profile(st, "ana");
	CHECK_STR(p.name, "Ana");
	CHECK_STR(p.location, "Lisbon, Portugal");
	CHECK_STR(p.timezone, "Europe/Lisbon");
	CHECK_STR(p.date_of_birth, "1988-05-03");
	store_user_profile_release(&p);

	r = run(st, "ana", cmd_profile, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "**Your profile**\nName: Ana\nLocation: Lisbon, Portugal\n"
		     "Time zone: Europe/Lisbon (from your location)\nDate of birth: 3 May 1988");
	free(r);

	/* a derived zone follows the location */
	r = run(st, "ana", cmd_profile, "location Germany", &rc);
	CHECK_STR(r, "Saved.\nLocation: Germany (time zone Europe/Berlin)");
	free(r);
	/* unknown place: saved, zone dropped, told how to set it */
	r = run(st, "ana", cmd_profile, "location Atlantis", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Location: Atlantis. I couldn't work out the time zone");
	CHECK_CONTAINS(r, "/profile timezone Area/City");
	free(r);
	p = profile(st, "ana");
	CHECK_STR(p.location, "Atlantis");
	CHECK(p.timezone == NULL);
	store_user_profile_release(&p);

	/* an explicit zone, case-corrected, kept when the location changes */
	r = run(st, "ana", cmd_profile, "timezone asia/tokyo", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Saved.\nTime zone: Asia/Tokyo (kept when your location changes)");
	free(r);
	r = run(st, "ana", cmd_profile, "location New York", &rc);
	CHECK_CONTAINS(r, "time zone stays Asia/Tokyo, which you set");
	free(r);
	r = run(st, "ana", cmd_profile, "", &rc);
	CHECK_CONTAINS(r, "Time zone: Asia/Tokyo (set by you)");
	free(r);
	r = run(st, "ana", cmd_profile, "timezone auto", &rc);
	CHECK_STR(r, "Saved.\nTime zone: America/New_York (from your location)");
	free(r);
	r = run(st, "ana", cmd_profile, "location Berlin", &rc);
	CHECK_STR(r, "Saved.\nLocation: Berlin (time zone Europe/Berlin)");
	free(r);

	/* errors */
	r = run(st, "ana", cmd_profile, "timezone Mars/Olympus", &rc);
	CHECK(rc != KITH_OK);
	CHECK_CONTAINS(r, "is not a time zone I know");
	free(r);
	r = run(st, "ana", cmd_profile, "timezone ../../etc/passwd", &rc);
	CHECK(rc != KITH_OK);
	free(r);
	r = run(st, "ana", cmd_profile, "birthday 2 April 2999", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "future");
	free(r);
	r = run(st, "ana", cmd_profile, "birthday 30 February 1990", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "doesn't exist");
	free(r);
	r = run(st, "ana", cmd_profile, "name", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "Usage: `/profile name");
	free(r);
	{
		char longname[PROFILE_NAME_MAX + 10] = "name ";

		memset(longname + 5, 'x', PROFILE_NAME_MAX + 1);
		longname[PROFILE_NAME_MAX + 6] = '\0';
		r = run(st, "ana", cmd_profile, longname, &rc);
		CHECK_EQ(rc, KITH_EINVAL);
		free(r);
	}
	p = profile(st, "ana");
	CHECK_STR(p.date_of_birth, "1988-05-03");   /* unchanged by the failures */
	CHECK_STR(p.name, "Ana");
	store_user_profile_release(&p);

	/* another person's profile is separate; clear */
	r = run(st, "bo", cmd_profile, "", &rc);
	CHECK_CONTAINS(r, "haven't set up");
	free(r);
	r = run(st, "ana", cmd_profile, "clear", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Your profile is cleared.");
	free(r);
	r = run(st, "ana", cmd_profile, "", &rc);
	CHECK_CONTAINS(r, "haven't set up");
	free(r);

	/* no author, no database */
	r = run(st, NULL, cmd_profile, "", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	free(r);
	r = run(NULL, "ana", cmd_profile, "", &rc);
	CHECK_EQ(rc, KITH_EUNSUPPORTED);
	free(r);
	store_close(st);
}

static void test_profile_free_text(void)
{
	struct store *st = storetest_open("profile-free.db");
	struct fake_llm *srv = fake_llm_start(FAKE_LLM_OLLAMA);
	struct store_user_profile p;
	struct llm_config lc;
	struct fake_reply fr = { 0 };
	enum kith_status rc;
	json_t *req;
	char *r, *body;

	REQUIRE(st && srv);
	/* without a model: the deterministic forms, not silence */
	r = run(st, "ana", cmd_profile, "I'm Ana and I live in Lisbon", &rc);
	CHECK_EQ(rc, KITH_EUNSUPPORTED);
	CHECK_CONTAINS(r, "`/profile name Ana`");
	free(r);

	llm_config_init(&lc);
	lc.base_url = xstrdup(fake_llm_url(srv));
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	deps.llm = llm_client_new(&lc);
	llm_config_release(&lc);

	fr.content = "{\"name\":\"Ana\",\"location\":\"Lisbon, Portugal\","
		     "\"date_of_birth\":\"1988-05-03\"}";
	fake_llm_push(srv, &fr);
	r = run(st, "ana", cmd_profile, "I'm Ana, I live in Lisbon, born 3 May 1988", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "Saved.\nName: Ana\nDate of birth: 3 May 1988\n"
		     "Location: Lisbon, Portugal (time zone Europe/Lisbon)");
	free(r);
	REQUIRE(fake_llm_request_count(srv) == 1);
	req = fake_llm_request_json(srv, 0);
	body = req ? json_dumps(req, 0) : NULL;
	CHECK_CONTAINS(body, "\"model\": \"util-m\"");
	CHECK_CONTAINS(body, "\"format\"");
	CHECK_CONTAINS(body, "date_of_birth");
	CHECK_CONTAINS(body, "born 3 May 1988");
	free(body);
	json_decref(req);
	p = profile(st, "ana");
	CHECK_STR(p.timezone, "Europe/Lisbon");
	CHECK_STR(p.date_of_birth, "1988-05-03");
	store_user_profile_release(&p);

	/* a bad date from the model is reported, the rest saved */
	fr.content = "{\"name\":null,\"location\":\"Tokyo\",\"date_of_birth\":\"2099-01-01\"}";
	fake_llm_push(srv, &fr);
	r = run(st, "ana", cmd_profile, "moved to Tokyo, born in 2099", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Location: Tokyo (time zone Asia/Tokyo)");
	CHECK_CONTAINS(r, "I didn't save the date of birth \"2099-01-01\"");
	free(r);
	p = profile(st, "ana");
	CHECK_STR(p.date_of_birth, "1988-05-03");
	CHECK_STR(p.name, "Ana");
	store_user_profile_release(&p);

	/* nothing usable */
	fr.content = "{\"name\":null,\"location\":null,\"date_of_birth\":null}";
	fake_llm_push(srv, &fr);
	r = run(st, "ana", cmd_profile, "hello there", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	CHECK_CONTAINS(r, "I couldn't find a name");
	free(r);
	/* garbage, and a model error: the forms again */
	fr.content = "sure! Ana from Lisbon";
	fake_llm_push(srv, &fr);
	r = run(st, "ana", cmd_profile, "I'm Ana", &rc);
	CHECK_EQ(rc, KITH_EPROTO);
	CHECK_CONTAINS(r, "`/profile name Ana`");
	free(r);
	memset(&fr, 0, sizeof(fr));
	fr.status = 500;
	fake_llm_push(srv, &fr);
	r = run(st, "ana", cmd_profile, "I'm Ana", &rc);
	CHECK(rc != KITH_OK);
	CHECK_CONTAINS(r, "I couldn't read that just now");
	free(r);

	llm_client_free(deps.llm);
	deps.llm = NULL;
	fake_llm_stop(srv);
	store_close(st);
}

/* ---- /mute ---------------------------------------------------------------- */

static void test_mute_commands(void)
{
	struct store *st = storetest_open("mute.db");
	enum kith_status rc;
	char *r;

	REQUIRE(st);
	r = run(st, "ana", cmd_unmute, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_STR(r, "You weren't muted.");
	free(r);
	r = run(st, "ana", cmd_mute, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Muted.");
	free(r);
	CHECK(store_user_muted(st, "ana"));
	CHECK(!store_user_muted(st, "bo"));
	r = run(st, "ana", cmd_mute, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "already muted");
	free(r);
	r = run(st, "ana", cmd_unmute, "", &rc);
	CHECK_EQ(rc, KITH_OK);
	CHECK_CONTAINS(r, "Unmuted.");
	free(r);
	CHECK(!store_user_muted(st, "ana"));
	r = run(st, NULL, cmd_mute, "", &rc);
	CHECK_EQ(rc, KITH_EINVAL);
	free(r);
	r = run(NULL, "ana", cmd_unmute, "", &rc);
	CHECK_EQ(rc, KITH_EUNSUPPORTED);
	free(r);
	store_close(st);
}

/* The notification agent with a muted person: not due, no model call,
 * facts and a finished /learn left untold; after /unmute they go out. */
struct sent {
	size_t n;
};

static int record_send(const char *user, const char *text, const struct search_image *img,
		       void *ud)
{
	(void)user;
	(void)text;
	(void)img;
	((struct sent *)ud)->n++;
	return 0;
}

static void test_mute_notifications(void)
{
	struct store *st = storetest_open("mute-notify.db");
	struct fake_llm *srv = fake_llm_start(FAKE_LLM_OLLAMA);
	struct knowledge_notify_deps d = { 0 };
	struct knowledge_notifier *kn;
	struct llm_config lc;
	struct llm_client *llm;
	struct sent sent = { 0 };
	struct store_entity_new e = { .user = "ana", .name = "totem loon" };
	struct store_fact_new fn = { .content = "Totem Loon released an album." };
	size_t total = 0, untold = 0;
	int64_t eid = 0, pid = 0;
	char *why = NULL;
	enum kith_status rc;
	char *r;

	REQUIRE(st && srv);
	llm_config_init(&lc);
	lc.base_url = xstrdup(fake_llm_url(srv));
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.max_attempts = 1;
	llm = llm_client_new(&lc);
	llm_config_release(&lc);
	d.st = st;
	d.llm = llm;
	knowledge_params_default(&d.params);
	knowledge_notify_params_default(&d.np);
	d.send = record_send;
	d.ud = &sent;
	kn = knowledge_notifier_new(&d);

	CHECK_EQ(store_entity_add(st, &e, &eid, &why), KITH_OK);
	CHECK_EQ(store_entity_set_heat(st, eid, 5.0, 0, false, &why), KITH_OK);
	fn.entity_id = eid;
	CHECK_EQ(store_fact_add(st, &fn, NULL, &why), KITH_OK);
	/* a finished /learn with nothing searched is still "learn ready" work */
	CHECK_EQ(store_learn_prompt_add(st, "ana", "modal jazz", 1, &pid, &why), KITH_OK);
	CHECK_EQ(store_learn_prompt_set_status(st, pid, "completed", &why), KITH_OK);

	r = run(st, "ana", cmd_mute, "", &rc);
	free(r);
	CHECK(!knowledge_notify_due(kn, 1767225600000LL));
	CHECK_EQ(knowledge_notify_run(kn, NULL), SCHED_NO_WORK);
	CHECK_EQ(sent.n, 0);
	CHECK_EQ(fake_llm_request_count(srv), 0);
	CHECK_EQ(store_entity_fact_counts(st, eid, &total, &untold, NULL), KITH_OK);
	CHECK_EQ(untold, 1);

	r = run(st, "ana", cmd_unmute, "", &rc);
	free(r);
	CHECK(knowledge_notify_due(kn, 1767225600000LL));
	fake_llm_set_default_reply(srv, "Totem Loon has a new album out.");
	CHECK_EQ(knowledge_notify_run(kn, NULL), SCHED_DID_WORK);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(store_entity_fact_counts(st, eid, &total, &untold, NULL), KITH_OK);
	CHECK_EQ(untold, 0);

	knowledge_notifier_free(kn);
	llm_client_free(llm);
	fake_llm_stop(srv);
	store_close(st);
	free(why);
}

int main(void)
{
	unsetenv("TZDIR");
	RUN(test_dates);
	RUN(test_fields);
	RUN(test_profile_forms);
	RUN(test_profile_free_text);
	RUN(test_mute_commands);
	RUN(test_mute_notifications);
	return test_summary();
}
