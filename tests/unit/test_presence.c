/* test_presence.c — SEL's presence over the agent: moods that move and
 * persist, when kith answers, whitelist, ignored authors, reactions, the
 * utility model's reading, temperature, typing delay and prompt text of a
 * reply through the dispatcher, hormone history in HIM, inactivity pings
 * and /sel_status.  A fake clock pins "now"; a fake LLM and a fake channel
 * record what goes out. */
#include "support/test.h"
#include "agent/agent.h"
#include "agent/dispatcher.h"
#include "agent/presence.h"
#include "agent/tools.h"
#include "channel/channel.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/queue.h"
#include "fakes/fake_llm.h"
#include "him/hormones.h"
#include "llm/embed.h"
#include "llm/llm.h"
#include "memory/memory.h"
#include "store/store.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define HOUR_MS 3600000LL
#define T0 1767261600000LL   /* 2026-01-01 10:00 UTC */

/* ---- fake clock (set once; advanced atomically) -------------------------- */

static int64_t fake_now = T0;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&fake_now, __ATOMIC_ACQUIRE);
}

static void set_now(int64_t ms)
{
	__atomic_store_n(&fake_now, ms, __ATOMIC_RELEASE);
}

/* ---- fake channel ------------------------------------------------------------ */

#define MAX_SENDS 16

struct fchan {
	struct channel ch;
	pthread_mutex_t mu;
	char *texts[MAX_SENDS], *convs[MAX_SENDS];
	int nsends;
	int typing_calls;
	int64_t typing_on_at, sent_at;   /* monotonic ms */
	const char *self;
};

static enum kith_status f_start(struct channel *ch, struct queue *inbox, char **why)
{
	(void)ch, (void)inbox, (void)why;
	return KITH_OK;
}

static void f_stop(struct channel *ch)
{
	(void)ch;
}

static enum kith_status f_send(struct channel *ch, const char *conversation, const char *text,
			       const char *reply_to, const struct attachment *att, size_t natt,
			       char **why)
{
	struct fchan *f = ch->impl;

	(void)reply_to, (void)att, (void)natt, (void)why;
	pthread_mutex_lock(&f->mu);
	if (f->nsends < MAX_SENDS) {
		f->texts[f->nsends] = xstrdup(text);
		f->convs[f->nsends] = xstrdup(conversation);
		f->nsends++;
	}
	f->sent_at = clock_mono_ms();
	pthread_mutex_unlock(&f->mu);
	return KITH_OK;
}

static enum kith_status f_typing(struct channel *ch, const char *conversation, int on)
{
	struct fchan *f = ch->impl;

	(void)conversation;
	pthread_mutex_lock(&f->mu);
	f->typing_calls++;
	if (on)
		f->typing_on_at = clock_mono_ms();
	pthread_mutex_unlock(&f->mu);
	return KITH_OK;
}

static char *f_self(struct channel *ch)
{
	struct fchan *f = ch->impl;

	return f->self ? xstrdup(f->self) : NULL;
}

static void f_destroy(struct channel *ch)
{
	(void)ch;
}

static const struct channel_ops discord_like = {
	.name = "discord", .start = f_start, .stop = f_stop, .send = f_send,
	.destroy = f_destroy, .self_id = f_self,
};
static const struct channel_ops discord_typing = {
	.name = "discord", .start = f_start, .stop = f_stop, .send = f_send,
	.typing = f_typing, .destroy = f_destroy, .self_id = f_self,
};
static const struct channel_ops console_like = {
	.name = "console", .start = f_start, .stop = f_stop, .send = f_send, .destroy = f_destroy,
};

static void fchan_init(struct fchan *f, const struct channel_ops *ops, const char *self)
{
	memset(f, 0, sizeof(*f));
	f->ch.ops = ops;
	f->ch.impl = f;
	f->self = self;
	pthread_mutex_init(&f->mu, NULL);
}

static void fchan_release(struct fchan *f)
{
	for (int i = 0; i < f->nsends; i++) {
		free(f->texts[i]);
		free(f->convs[i]);
	}
	pthread_mutex_destroy(&f->mu);
}

static int fchan_sends(struct fchan *f)
{
	int n;

	pthread_mutex_lock(&f->mu);
	n = f->nsends;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static bool wait_sends(struct fchan *f, int n, int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	while (fchan_sends(f) < n) {
		if (clock_mono_ms() > end)
			return false;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

/* ---- fixture -------------------------------------------------------------------- */

struct fx {
	char *db;
	struct store *st;
	struct fake_llm *llm_srv;
	struct llm_client *llm;
	struct config *cfg;
	struct agent_deps deps;
	struct memory *mem;
	struct embedder *emb;
	struct tool_registry *tools;
};

static int fx_n;

/* `env` (may be NULL): extra settings, NULL-terminated "K=V". */
static bool fx_open(struct fx *f, const char *const *env, bool with_memory)
{
	struct llm_config lc;
	char *why = NULL;
	bool ok;

	memset(f, 0, sizeof(*f));
	f->db = xasprintf("%s/presence-%d.db", test_tmpdir(), ++fx_n);
	ok = store_open(f->db, &f->st, &why) == KITH_OK && store_migrate(f->st, NULL, &why) == KITH_OK;
	f->llm_srv = fake_llm_start(FAKE_LLM_OLLAMA);
	ok = ok && f->llm_srv;
	llm_config_init(&lc);
	lc.provider = LLM_PROVIDER_OLLAMA;
	lc.base_url = xstrdup(f->llm_srv ? fake_llm_url(f->llm_srv) : "http://127.0.0.1:1");
	lc.models[LLM_ROLE_MAIN] = xstrdup("main-m");
	lc.models[LLM_ROLE_UTIL] = xstrdup("util-m");
	lc.max_attempts = 1;
	f->llm = llm_client_new(&lc);
	llm_config_release(&lc);
	if (ok && env) {
		const char *envp[16];
		size_t n = 0;
		char *dd = xasprintf("KITH_DATA_DIR=%s", test_tmpdir());

		envp[n++] = dd;
		for (size_t i = 0; env[i] && n < 15; i++)
			envp[n++] = env[i];
		envp[n] = NULL;
		ok = config_load(&f->cfg, envp, test_tmpdir(), &why) == KITH_OK;
		free(dd);
	}
	if (ok && with_memory) {
		struct memory_options o = { 0 };
		char *him = xasprintf("%s/him-%d", test_tmpdir(), fx_n);

		f->emb = embedder_hash_new(0);
		o.him_dir = him;
		o.embedder = f->emb;
		ok = memory_open(&o, &f->mem, &why) == KITH_OK;
		free(him);
	}
	f->tools = tools_new();
	f->deps.llm = f->llm;
	f->deps.tools = f->tools;
	f->deps.persona = "You are Wren.";
	f->deps.timezone = "UTC";
	f->deps.recent_limit = 10;
	f->deps.max_steps = 2;
	f->deps.cfg = f->cfg;
	f->deps.memory = f->mem;
	f->deps.memory_scope = "global";
	f->deps.recall_limit = 5;
	f->deps.memory_min_chars = 20;
	if (!ok)
		test_fail_(__FILE__, __LINE__, "fixture: %s", why ? why : "?");
	free(why);
	return ok;
}

static void fx_close(struct fx *f)
{
	memory_close(f->mem);
	embedder_free(f->emb);
	tools_free(f->tools);
	config_free(f->cfg);
	llm_client_free(f->llm);
	fake_llm_stop(f->llm_srv);
	store_close(f->st);
	free(f->db);
}

static struct inbound *msg(struct channel *ch, const char *conv, const char *author,
			   const char *text, bool direct)
{
	struct inbound *ev = inbound_new(INBOUND_MESSAGE, ch, conv, author, text);

	ev->author_name = xstrdup("Ada");
	ev->direct = direct;
	return ev;
}

static struct presence_turn run(struct fx *f, struct inbound *ev, const char *self)
{
	struct presence_turn t;

	presence_on_message(&f->deps, f->st, ev, self, NULL, &t);
	return t;
}

static struct store_presence_channel mood_row(struct fx *f, const char *ch, const char *conv)
{
	struct store_presence_channel r;
	char *why = NULL;

	if (store_presence_channel_get(f->st, ch, conv, &r, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "no row %s:%s: %s", ch, conv, why ? why : "?");
		memset(&r, 0, sizeof(r));
	}
	free(why);
	return r;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_messages_move_the_mood_and_persist(void)
{
	struct fx f;
	struct fchan c;
	struct inbound *ev;
	struct presence_turn t;
	struct store_presence_channel r;
	struct store_presence_user u;
	struct hormones base;
	char *why = NULL;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	set_now(T0);
	hormones_init(&base, presence_local_hour("UTC", T0));

	ev = msg(&c.ch, "dm1", "u1", "thanks, this is awesome, love it!", true);
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_REPLY);
	CHECK_EQ(t.decision.reason, BEHAVIOUR_DM);
	CHECK(t.levels.v[HORMONE_DOPAMINE] > base.v[HORMONE_DOPAMINE]);
	CHECK(t.levels.v[HORMONE_CORTISOL] < base.v[HORMONE_CORTISOL]);
	/* Shared mood (GLOBAL_MOOD_ENABLED's default): the "*"/"global" row. */
	r = mood_row(&f, PRESENCE_SHARED_MOOD, "global");
	for (int i = 0; i < HORMONE_COUNT; i++)
		CHECK(fabs(r.levels[i] - t.levels.v[i]) < 1e-9);
	CHECK_EQ(r.updated_at, T0);
	presence_turn_release(&t);
	inbound_free(ev);
	CHECK_EQ(fake_llm_request_count(f.llm_srv), 0);   /* short: the heuristic read it */

	ev = msg(&c.ch, "dm1", "u1", "this is broken and annoying, wtf", true);
	{
		double cort = r.levels[HORMONE_CORTISOL], dop = r.levels[HORMONE_DOPAMINE];

		t = run(&f, ev, "bot1");
		CHECK(t.levels.v[HORMONE_CORTISOL] > cort);
		CHECK(t.levels.v[HORMONE_DOPAMINE] < dop);
	}
	r = mood_row(&f, PRESENCE_SHARED_MOOD, "global");
	CHECK(fabs(r.levels[HORMONE_CORTISOL] - t.levels.v[HORMONE_CORTISOL]) < 1e-9);
	presence_turn_release(&t);
	inbound_free(ev);

	/* The person: seen twice, nudged up then down. */
	CHECK_EQ(store_presence_user_get(f.st, "discord", "u1", &u, &why), KITH_OK);
	CHECK_EQ(u.messages, 2);
	CHECK_STR(u.name, "Ada");
	CHECK_STR(u.last_conversation, "dm1");
	CHECK(u.last_direct);
	CHECK(u.irritation > 0.04);
	CHECK(u.affinity > 0.5);    /* +0.05 − 0.04 */
	store_presence_user_release(&u);

	/* Time passes: the next message finds the mood decayed toward rest. */
	set_now(T0 + 6 * HOUR_MS);
	ev = msg(&c.ch, "dm1", "u1", "hm", true);
	t = run(&f, ev, "bot1");
	CHECK(fabs(t.levels.v[HORMONE_DOPAMINE] - base.v[HORMONE_DOPAMINE]) < 0.05);
	presence_turn_release(&t);
	inbound_free(ev);
	fchan_release(&c);
	fx_close(&f);
}

static void test_when_kith_answers(void)
{
	struct fx f;
	struct fchan c, con;
	struct inbound *ev;
	struct presence_turn t;
	struct store_presence_channel r;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	fchan_init(&con, &console_like, NULL);
	set_now(T0);

	/* An unaddressed "ok" in a group at rest: the score stays under the bar. */
	ev = msg(&c.ch, "g1", "u2", "ok", false);
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_SILENT);
	CHECK_EQ(t.decision.reason, BEHAVIOUR_STAYS_QUIET);
	CHECK(t.decision.chance < t.decision.threshold);
	CHECK(t.prompt == NULL);
	presence_turn_release(&t);
	inbound_free(ev);
	r = mood_row(&f, "discord", "g1");
	CHECK_EQ(r.messages_since_reply, 1);

	/* Mentions, replies to kith and questions by name always get an answer. */
	ev = msg(&c.ch, "g1", "u2", "look at this", false);
	ev->mentions_self = true;
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_REPLY);
	CHECK_EQ(t.decision.reason, BEHAVIOUR_MENTIONED);
	presence_turn_release(&t);
	inbound_free(ev);

	ev = msg(&c.ch, "g1", "u2", "sure", false);
	ev->reply_to_author = xstrdup("bot1");
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.decision.reason, BEHAVIOUR_REPLIED_TO);
	presence_turn_release(&t);
	inbound_free(ev);

	ev = msg(&c.ch, "g1", "u2", "sure", false);
	ev->reply_to_author = xstrdup("someone-else");
	t = run(&f, ev, "bot1");
	CHECK(t.decision.reason != BEHAVIOUR_REPLIED_TO);
	presence_turn_release(&t);
	inbound_free(ev);

	ev = msg(&c.ch, "g1", "u2", "Kith, what time is it?", false);
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.decision.reason, BEHAVIOUR_ASKED);
	presence_turn_release(&t);
	inbound_free(ev);

	/* The decision is the deterministic one: same state, same answer. */
	ev = msg(&c.ch, "g2", "u2", "ok", false);
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, t.decision.respond ? PRESENCE_REPLY : PRESENCE_SILENT);
	CHECK(t.decision.reason == BEHAVIOUR_JOINS_IN || t.decision.reason == BEHAVIOUR_STAYS_QUIET);
	presence_turn_release(&t);
	inbound_free(ev);

	/* The console always answers, with no self id. */
	ev = msg(&con.ch, "default", "me", "ok", false);
	t = run(&f, ev, NULL);
	CHECK_EQ(t.verdict, PRESENCE_REPLY);
	CHECK(t.prompt != NULL);
	presence_turn_release(&t);
	inbound_free(ev);

	fchan_release(&c);
	fchan_release(&con);
	fx_close(&f);
}

static void test_whitelist_bots_and_self(void)
{
	static const char *const env[] = { "WHITELIST_CHANNEL_IDS=111,112", NULL };
	struct fx f;
	struct fchan c;
	struct inbound *ev;
	struct presence_turn t;
	size_t n = 0;
	char *why = NULL;

	if (!fx_open(&f, env, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	set_now(T0);

	ev = msg(&c.ch, "222", "u1", "hello kith?", false);
	ev->mentions_self = true;
	CHECK(presence_ignores(&f.deps, ev, "bot1"));
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_IGNORE);
	presence_turn_release(&t);
	inbound_free(ev);

	ev = msg(&c.ch, "111", "u1", "hello", false);
	ev->mentions_self = true;
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_REPLY);
	presence_turn_release(&t);
	inbound_free(ev);

	/* DMs pass whatever the list says. */
	ev = msg(&c.ch, "333", "u1", "hello", true);
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_REPLY);
	presence_turn_release(&t);
	inbound_free(ev);

	/* Bots and kith itself are never heard, and leave no trace. */
	ev = msg(&c.ch, "111", "b9", "beep", false);
	ev->author_is_bot = true;
	ev->mentions_self = true;
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_IGNORE);
	presence_turn_release(&t);
	inbound_free(ev);
	ev = msg(&c.ch, "333", "bot1", "my own echo", true);
	t = run(&f, ev, "bot1");
	CHECK_EQ(t.verdict, PRESENCE_IGNORE);
	presence_turn_release(&t);
	inbound_free(ev);
	CHECK_EQ(store_presence_users_count(f.st, &n, &why), KITH_OK);
	CHECK_EQ(n, 1);   /* only u1 */

	fchan_release(&c);
	fx_close(&f);
}

static void test_reactions(void)
{
	struct fx f;
	struct fchan c;
	struct inbound *ev;
	struct presence_turn t;
	struct store_presence_channel before, after;
	struct store_persona p;
	struct store_presence_user u;
	char *why = NULL;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	set_now(T0);
	ev = msg(&c.ch, "dm1", "u1", "hi", true);
	t = run(&f, ev, "bot1");
	presence_turn_release(&t);
	inbound_free(ev);
	before = mood_row(&f, PRESENCE_SHARED_MOOD, "global");

	/* On someone else's message: nothing. */
	ev = inbound_new(INBOUND_REACTION, &c.ch, "dm1", "u1", "👍");
	ev->reply_to_author = xstrdup("u7");
	ev->direct = true;
	CHECK(!presence_on_reaction(&f.deps, f.st, ev, "bot1"));
	inbound_free(ev);

	/* 👍 on kith's message: accepted. */
	ev = inbound_new(INBOUND_REACTION, &c.ch, "dm1", "u1", "👍");
	ev->reply_to_author = xstrdup("bot1");
	ev->direct = true;
	CHECK(presence_on_reaction(&f.deps, f.st, ev, "bot1"));
	inbound_free(ev);
	after = mood_row(&f, PRESENCE_SHARED_MOOD, "global");
	{
		double moved = 0;

		for (int i = 0; i < HORMONE_COUNT; i++)
			moved += fabs(after.levels[i] - before.levels[i]);
		CHECK(moved > 0.01);
	}
	CHECK_EQ(store_persona_get(f.st, &p, &why), KITH_OK);
	CHECK_EQ(p.positive_reactions, 1);

	/* 👎: rejected; the person is marked as not liking teasing. */
	ev = inbound_new(INBOUND_REACTION, &c.ch, "dm1", "u1", "👎");
	ev->reply_to_author = xstrdup("bot1");
	ev->direct = true;
	CHECK(presence_on_reaction(&f.deps, f.st, ev, "bot1"));
	inbound_free(ev);
	CHECK_EQ(store_persona_get(f.st, &p, &why), KITH_OK);
	CHECK_EQ(p.negative_reactions, 1);
	CHECK_EQ(store_presence_user_get(f.st, "discord", "u1", &u, &why), KITH_OK);
	CHECK_CONTAINS(u.preferences, "\"likes_teasing\":false");
	store_presence_user_release(&u);
	fchan_release(&c);
	fx_close(&f);
}

static const char long_text[] =
	"I have been thinking a lot about the garden this week and honestly it makes me happy "
	"to see the tomatoes finally coming in after all that rain";

static void test_util_model_reads_long_messages(void)
{
	struct fx f;
	struct fchan c;
	struct inbound *ev;
	struct presence_turn t;
	struct hormones base;
	json_t *req;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	set_now(T0);
	hormones_init(&base, presence_local_hour("UTC", T0));
	fake_llm_push(f.llm_srv, &(struct fake_reply){
		.content = "{\"sentiment\":\"negative\",\"intensity\":0.9,\"playful\":false,"
			   "\"memory_write\":true}" });
	ev = msg(&c.ch, "dm1", "u1", long_text, true);
	t = run(&f, ev, "bot1");
	CHECK(t.remember);
	/* The model's reading wins over the cheerful words. */
	CHECK(t.levels.v[HORMONE_CORTISOL] > base.v[HORMONE_CORTISOL]);
	REQUIRE(fake_llm_request_count(f.llm_srv) == 1);
	req = fake_llm_request_json(f.llm_srv, 0);
	CHECK_STR(kjson_str(req, "model"), "util-m");
	CHECK(kjson_obj(req, "format") != NULL);   /* structured output */
	CHECK(json_object_get(kjson_obj(kjson_obj(req, "format"), "properties"), "memory_write"));
	json_decref(req);
	presence_turn_release(&t);
	inbound_free(ev);

	/* A failing model: the heuristic reads it, nothing else changes. */
	fake_llm_push(f.llm_srv, &(struct fake_reply){ .status = 500 });
	ev = msg(&c.ch, "dm1", "u1", long_text, true);
	t = run(&f, ev, "bot1");
	CHECK(!t.remember);
	CHECK_EQ(t.verdict, PRESENCE_REPLY);
	presence_turn_release(&t);
	inbound_free(ev);
	/* Not JSON at all: also the heuristic. */
	fake_llm_push(f.llm_srv, &(struct fake_reply){ .content = "I think it is positive." });
	ev = msg(&c.ch, "dm1", "u1", long_text, true);
	t = run(&f, ev, "bot1");
	CHECK(!t.remember);
	presence_turn_release(&t);
	inbound_free(ev);
	fchan_release(&c);
	fx_close(&f);
}

/* The newest request to the main model (new reference), NULL if none. */
static json_t *last_main_request(struct fake_llm *srv)
{
	for (size_t i = fake_llm_request_count(srv); i-- > 0;) {
		json_t *j = fake_llm_request_json(srv, i);

		if (j && kjson_str(j, "model") && strcmp(kjson_str(j, "model"), "main-m") == 0)
			return j;
		json_decref(j);
	}
	return NULL;
}

static void test_reply_through_dispatcher(void)
{
	struct fx f;
	struct fchan c;
	struct dispatcher *d;
	struct store_presence_channel r;
	struct store_message *rows = NULL;
	size_t n = 0;
	char *why = NULL;
	json_t *req;
	double temp = -1;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	set_now(T0);
	fake_llm_set_default_reply(f.llm_srv, "hello Ada!");
	d = dispatcher_new(&f.deps, f.db, 2);
	REQUIRE(dispatcher_start(d, &why) == KITH_OK);

	/* A DM: answered, at the mood's temperature, with mood and profile. */
	CHECK_EQ(queue_push(dispatcher_inbox(d), msg(&c.ch, "dm1", "u1", "hey there", true), -1),
		 KITH_OK);
	CHECK(wait_sends(&c, 1, 10000));
	req = last_main_request(f.llm_srv);
	REQUIRE(req != NULL);
	r = mood_row(&f, PRESENCE_SHARED_MOOD, "global");
	{
		struct hormones h;
		const char *sys = kjson_str(json_array_get(kjson_arr(req, "messages"), 0), "content");

		memcpy(h.v, r.levels, sizeof(h.v));
		CHECK(kjson_num(kjson_obj(req, "options"), "temperature", &temp));
		CHECK(fabs(temp - hormones_temperature(&h, 0.8)) < 1e-6);
		CHECK_CONTAINS(sys, "Your mood right now:");
		CHECK_CONTAINS(sys, "dopamine");
		CHECK_CONTAINS(sys, "About Ada");
		CHECK_CONTAINS(sys, "Your style right now");
	}
	json_decref(req);
	r = mood_row(&f, "discord", "dm1");
	CHECK_EQ(r.last_reply_at, T0);
	CHECK_EQ(r.messages_since_reply, 0);

	/* A quiet group message: stored, not answered, no model call. */
	{
		size_t calls = fake_llm_request_count(f.llm_srv);

		CHECK_EQ(queue_push(dispatcher_inbox(d), msg(&c.ch, "g1", "u2", "ok", false), -1),
			 KITH_OK);
		/* A mention right after it proves the first was handled (same worker, in order). */
		{
			struct inbound *ev = msg(&c.ch, "g1", "u2", "you there?", false);

			ev->mentions_self = true;
			CHECK_EQ(queue_push(dispatcher_inbox(d), ev, -1), KITH_OK);
		}
		CHECK(wait_sends(&c, 2, 10000));
		CHECK_EQ(fake_llm_request_count(f.llm_srv), calls + 1);
	}
	/* A bot's message: nothing at all. */
	{
		struct inbound *ev = msg(&c.ch, "g1", "b1", "beep", false);

		ev->author_is_bot = true;
		CHECK_EQ(queue_push(dispatcher_inbox(d), ev, -1), KITH_OK);
	}
	dispatcher_stop(d, 0);
	dispatcher_free(d);
	CHECK_EQ(fchan_sends(&c), 2);
	CHECK_EQ(store_messages_recent(f.st, "discord", "g1", 10, &rows, &n, &why), KITH_OK);
	CHECK_EQ(n, 3);   /* "ok", "you there?", the reply; not the bot */
	if (n == 3) {
		CHECK_STR(rows[0].content, "ok");
		CHECK_EQ(rows[2].direction, MSG_OUTGOING);
	}
	store_messages_free(rows, n);
	fchan_release(&c);
	fx_close(&f);
}

static void test_typing_delay(void)
{
	struct fx f;
	struct fchan c;
	struct dispatcher *d;
	struct hormones h;
	int64_t pushed;
	char *why = NULL;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_typing, "bot1");
	set_now(T0);
	d = dispatcher_new(&f.deps, f.db, 1);
	REQUIRE(dispatcher_start(d, &why) == KITH_OK);
	pushed = clock_mono_ms();
	CHECK_EQ(queue_push(dispatcher_inbox(d), msg(&c.ch, "dm1", "u1", "hey", true), -1), KITH_OK);
	CHECK(wait_sends(&c, 1, 10000));
	{
		struct store_presence_channel r = mood_row(&f, PRESENCE_SHARED_MOOD, "global");
		int64_t sent_at;

		memcpy(h.v, r.levels, sizeof(h.v));
		pthread_mutex_lock(&c.mu);
		sent_at = c.sent_at;
		pthread_mutex_unlock(&c.mu);
		CHECK(sent_at - pushed >= (int64_t)(hormones_typing_delay(&h) * 1000) - 20);
		CHECK(c.typing_calls >= 2);   /* on, then off */
	}
	/* A cancelling stop cuts the pause short. */
	CHECK_EQ(queue_push(dispatcher_inbox(d), msg(&c.ch, "dm1", "u1", "again", true), -1), KITH_OK);
	{
		int64_t t0 = clock_mono_ms(), took;

		while (clock_mono_ms() - t0 < 5000) {
			int calls;

			pthread_mutex_lock(&c.mu);
			calls = c.typing_calls;
			pthread_mutex_unlock(&c.mu);
			if (calls >= 3)
				break;
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
		t0 = clock_mono_ms();
		dispatcher_stop(d, 1);
		took = clock_mono_ms() - t0;
		CHECK(took < 1000);
	}
	dispatcher_free(d);
	fchan_release(&c);
	fx_close(&f);
}

static void test_hormone_history_in_him(void)
{
	static const char *const env[] = { "HORMONE_SNAPSHOT_INTERVAL=300",
					   "GLOBAL_MOOD_ENABLED=false", NULL };
	struct fx f;
	struct fchan c;
	struct inbound *ev;
	struct presence_turn t;
	struct him_hormone_state s;
	char *why = NULL;

	if (!fx_open(&f, env, true))
		return;
	fchan_init(&c, &discord_like, "bot1");
	set_now(T0);
	ev = msg(&c.ch, "dm1", "u1", "great news today!", true);
	t = run(&f, ev, "bot1");
	inbound_free(ev);
	REQUIRE(him_hormones_get(memory_him(f.mem), "discord:dm1", &s, &why) == KITH_OK);
	CHECK_EQ(s.at_ms, T0);
	CHECK(fabs(s.levels.v[HORMONE_DOPAMINE] - t.levels.v[HORMONE_DOPAMINE]) < 1e-6);
	presence_turn_release(&t);
	/* Within the interval: no new sample. */
	set_now(T0 + 60000);
	ev = msg(&c.ch, "dm1", "u1", "and more", true);
	t = run(&f, ev, "bot1");
	presence_turn_release(&t);
	inbound_free(ev);
	CHECK_EQ(him_hormones_get(memory_him(f.mem), "discord:dm1", &s, &why), KITH_OK);
	CHECK_EQ(s.at_ms, T0);
	/* After it: one. */
	set_now(T0 + 301000);
	ev = msg(&c.ch, "dm1", "u1", "still here", true);
	t = run(&f, ev, "bot1");
	presence_turn_release(&t);
	inbound_free(ev);
	CHECK_EQ(him_hormones_get(memory_him(f.mem), "discord:dm1", &s, &why), KITH_OK);
	CHECK_EQ(s.at_ms, T0 + 301000);
	free(why);
	fchan_release(&c);
	fx_close(&f);
}

/* ---- pings ---------------------------------------------------------------------- */

static struct fchan *ping_chan;

static struct channel *lookup(const char *name, void *ud)
{
	(void)ud;
	return strcmp(name, "discord") == 0 ? &ping_chan->ch : NULL;
}

static int pings_at(struct fx *f, int64_t now)
{
	int sent = -1;
	char *why = NULL;

	set_now(now);
	if (presence_pings_run(&f->deps, f->st, lookup, NULL, now, NULL, &sent, &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "pings: %s", why ? why : "?");
	free(why);
	return sent;
}

static void test_pings(void)
{
	static const char *const env[] = { "INACTIVITY_PING_HOURS=48",
					   "INACTIVITY_PING_COOLDOWN_HOURS=24", NULL };
	struct fx f;
	struct fchan c, con;
	struct inbound *ev;
	struct presence_turn t;
	struct memory_new m = { .scope = "global", .speaker = "Ada",
				.text = "Ada: I am training for the Oslo marathon in May",
				.salience = 0.7 };
	char *why = NULL;
	json_t *req;

	if (!fx_open(&f, env, true))
		return;
	fchan_init(&c, &discord_like, "bot1");
	fchan_init(&con, &console_like, NULL);
	ping_chan = &c;
	set_now(T0);
	CHECK_EQ(memory_add(f.mem, f.st, &m, 1, NULL, NULL, &why), KITH_OK);
	ev = msg(&c.ch, "dm1", "u1", "bye for now", true);
	t = run(&f, ev, "bot1");
	presence_turn_release(&t);
	inbound_free(ev);
	ev = msg(&con.ch, "default", "me", "bye", false);   /* the console: never pinged */
	t = run(&f, ev, NULL);
	presence_turn_release(&t);
	inbound_free(ev);

	fake_llm_push(f.llm_srv, &(struct fake_reply){ .content = "Hey Ada, how is the training going?" });
	CHECK_EQ(pings_at(&f, T0 + 47 * HOUR_MS), 0);   /* not silent long enough */
	CHECK_EQ(pings_at(&f, T0 + 49 * HOUR_MS), 1);
	REQUIRE(fchan_sends(&c) == 1);
	CHECK_STR(c.convs[0], "dm1");
	CHECK_STR(c.texts[0], "Hey Ada, how is the training going?");
	req = last_main_request(f.llm_srv);
	REQUIRE(req != NULL);
	{
		const char *sys = kjson_str(json_array_get(kjson_arr(req, "messages"), 0), "content");

		CHECK_CONTAINS(sys, "You have not heard from Ada in 2 days");
		CHECK_CONTAINS(sys, "marathon");
	}
	json_decref(req);
	CHECK_EQ(pings_at(&f, T0 + 50 * HOUR_MS), 0);   /* cooldown */
	CHECK_EQ(pings_at(&f, T0 + 72 * HOUR_MS), 0);   /* 23 h after the ping */
	/* The model fails: the fixed warm line goes out. */
	fake_llm_push(f.llm_srv, &(struct fake_reply){ .status = 500 });
	CHECK_EQ(pings_at(&f, T0 + 74 * HOUR_MS), 1);
	REQUIRE(fchan_sends(&c) == 2);
	CHECK_CONTAINS(c.texts[1], "Hey Ada");

	/* A ping claimed by someone else (or before a crash) is not sent again. */
	{
		bool claimed = false;

		set_now(T0 + 100 * HOUR_MS);
		CHECK_EQ(store_presence_user_claim_ping(f.st, "discord", "u1", T0 + 100 * HOUR_MS,
							T0 + 52 * HOUR_MS, T0 + 76 * HOUR_MS,
							&claimed, &why), KITH_OK);
		CHECK(claimed);
		CHECK_EQ(pings_at(&f, T0 + 100 * HOUR_MS), 0);
	}
	CHECK_EQ(fchan_sends(&c), 2);
	CHECK_EQ(fchan_sends(&con), 0);
	free(why);
	fchan_release(&c);
	fchan_release(&con);
	fx_close(&f);
}

/* SEL's periodic work on the background scheduler: pings go out as a job
 * within the day's proactive budget (one message a day here: a second
 * quiet day's ping waits for the next day), and the hormone decay job
 * brings a quiet mood up to date without a model. */
static void test_jobs_on_the_scheduler(void)
{
	struct fx f;
	struct fchan c;
	struct inbound *ev;
	struct presence_turn t;
	struct presence_jobs pj;
	struct sched_budget *b;
	struct sched *s;
	struct store_presence_channel before, after;
	char *why = NULL;
	int moved = -1;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	ping_chan = &c;
	set_now(T0);
	ev = msg(&c.ch, "dm1", "u1", "see you", true);
	t = run(&f, ev, "bot1");
	presence_turn_release(&t);
	inbound_free(ev);
	ev = msg(&c.ch, "dm2", "u2", "bye for now", true);
	t = run(&f, ev, "bot1");
	presence_turn_release(&t);
	inbound_free(ev);
	b = sched_budget_new(&(struct sched_budget_config){ .llm_calls_per_day = -1,
			     .messages_per_day = 1, .active_from_min = -1, .active_to_min = -1 });
	f.deps.budget = b;
	pj = (struct presence_jobs){ .deps = &f.deps, .st = f.st, .lookup = lookup };
	s = sched_new(&(struct sched_config){ .idle_s = 0, .tick_s = 1, .budget = b });
	sched_add(s, &(struct sched_job_def){ .name = "hormone decay", .kind = SCHED_ALWAYS,
			.interval_s = 60, .due = presence_decay_due, .run = presence_decay_job,
			.ctx = &pj });
	sched_add(s, &(struct sched_job_def){ .name = "pings", .kind = SCHED_PERIODIC,
			.interval_s = 60, .needs = SCHED_SPEND_LLM | SCHED_SPEND_MESSAGE,
			.due = presence_pings_due, .run = presence_pings_job, .ctx = &pj });

	/* Decay: nothing is stale right after the message. */
	CHECK(!presence_decay_due(&pj, T0 + 1000));
	REQUIRE(store_presence_channel_get(f.st, PRESENCE_SHARED_MOOD, "global", &before, &why) ==
		KITH_OK);
	set_now(T0 + 3 * HOUR_MS);
	CHECK(presence_decay_due(&pj, T0 + 3 * HOUR_MS));
	CHECK_EQ(presence_decay_run(&f.deps, f.st, T0 + 3 * HOUR_MS, NULL, &moved, &why), KITH_OK);
	CHECK_EQ(moved, 3);   /* the shared mood and each conversation's */
	REQUIRE(store_presence_channel_get(f.st, PRESENCE_SHARED_MOOD, "global", &after, &why) ==
		KITH_OK);
	CHECK_EQ(after.updated_at, T0 + 3 * HOUR_MS);
	CHECK(memcmp(before.levels, after.levels, sizeof(before.levels)) != 0);
	CHECK(!presence_decay_due(&pj, T0 + 3 * HOUR_MS + 1000));
	CHECK_EQ(fake_llm_request_count(f.llm_srv), 0);

	/* Day 3 (2026-01-03 22:00), 60 h of silence for both: the day's one
	 * message goes to one of them; more ticks that day send nothing. */
	set_now(T0 + 60 * HOUR_MS);
	(void)sched_run_tick(s);
	(void)sched_run_tick(s);
	(void)sched_run_tick(s);
	CHECK_EQ(fchan_sends(&c), 1);
	/* After midnight the budget has a message again: the other one. */
	set_now(T0 + 62 * HOUR_MS);
	(void)sched_run_tick(s);
	(void)sched_run_tick(s);
	CHECK_EQ(fchan_sends(&c), 2);
	{
		int llm = 0, msgs = 0;

		sched_budget_used(b, T0 + 62 * HOUR_MS, &llm, &msgs);
		CHECK_EQ(msgs, 1);
		CHECK_EQ(llm, 1);
	}
	sched_free(s);
	sched_budget_free(b);
	f.deps.budget = NULL;
	fchan_release(&c);
	fx_close(&f);
}

static void test_sel_status(void)
{
	struct fx f;
	struct fchan c;
	struct inbound *ev;
	struct presence_turn t;
	char *reply = NULL;

	if (!fx_open(&f, NULL, false))
		return;
	fchan_init(&c, &discord_like, "bot1");
	set_now(T0);
	ev = msg(&c.ch, "g1", "u1", "ok", false);
	t = run(&f, ev, "bot1");
	presence_turn_release(&t);
	{
		struct cmd_ctx ctx = { .deps = &f.deps, .st = f.st, .ev = ev };

		CHECK_EQ(cmd_dispatch(&ctx, "/sel_status", &reply), KITH_OK);
	}
	CHECK_CONTAINS(reply, "Mood (global): ");
	CHECK_CONTAINS(reply, "Levels: dopamine 0.");
	CHECK_CONTAINS(reply, "patience");
	CHECK_CONTAINS(reply, "Messages since my last reply here: 1");
	CHECK_CONTAINS(reply, "Last reply here: never");
	CHECK_CONTAINS(reply, "People known: 1");
	CHECK_CONTAINS(reply, "timezone UTC");
	CHECK_CONTAINS(reply, "recall limit 5");
	CHECK_CONTAINS(reply, "whitelist 0 channels (all allowed)");
	CHECK_CONTAINS(reply, "global mood on");
	free(reply);
	inbound_free(ev);
	fchan_release(&c);
	fx_close(&f);
}

int main(void)
{
	clock_set_source(fake_clock, NULL);
	RUN(test_messages_move_the_mood_and_persist);
	RUN(test_when_kith_answers);
	RUN(test_whitelist_bots_and_self);
	RUN(test_reactions);
	RUN(test_util_model_reads_long_messages);
	RUN(test_reply_through_dispatcher);
	RUN(test_typing_delay);
	RUN(test_hormone_history_in_him);
	RUN(test_pings);
	RUN(test_jobs_on_the_scheduler);
	RUN(test_sel_status);
	clock_set_source(NULL, NULL);
	return test_summary();
}
