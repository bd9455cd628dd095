/* presence.c — SEL's presence on top of the agent: per message, load the
 * mood, let the time since the last event pass (decay at the local hour),
 * read the message, move the mood and the person, decide whether to speak,
 * save; for a reply, work out the temperature, typing delay and prompt text.
 *
 * Order of a message, as in the reference's on_message (digest §3.10):
 * ignore bots, itself and channels off the whitelist → read the message (the
 * utility model for long messages on networks, the heuristic otherwise) →
 * one write transaction: mood decayed to now and moved by the message,
 * person updated, persona sliders nudged, decision, counters → after it, a
 * hormone sample to HIM when one is due.  The model call is outside the
 * transaction so a slow model never holds the database lock.
 *
 * Console conversations always get an answer (a person typing at their own
 * terminal is talking to kith) and are read by the heuristic only: a local
 * model server usually runs one model at a time, and a second model per
 * line would swap models in and out. */
#include "agent/presence.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/tz.h"
#include "him/hormones.h"
#include "llm/llm.h"
#include "memory/memory.h"
#include "mind/sentiment.h"
#include "store/store.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAIN_TEMP 0.8   /* OPENROUTER_MAIN_TEMP's default: the base when the
				 * provider's own default is in use */
#define KEY_MAX 160

static const char *const default_keywords[] = {
	"time", "schedule", "today", "tomorrow", "yesterday", "timezone", "clock", NULL,
};

void presence_settings_get(const struct agent_deps *deps, struct presence_settings *out)
{
	const struct config *c = deps->cfg;

	memset(out, 0, sizeof(*out));
	out->timezone = deps->timezone && *deps->timezone ? deps->timezone : "UTC";
	out->name = "kith";
	out->keywords = default_keywords;
	out->global_mood = true;
	out->mood_id = "global";
	out->snapshot_interval_s = 300;
	out->ping_hours = 48;
	out->ping_cooldown_hours = 24;
	out->ping_check_s = 900;
	if (!c)
		return;
	if (config_str(c, CFG_SEL_NAME) && *config_str(c, CFG_SEL_NAME))
		out->name = config_str(c, CFG_SEL_NAME);
	out->whitelist = config_list(c, CFG_WHITELIST_CHANNEL_IDS);
	out->keywords = config_list(c, CFG_CONTINUATION_KEYWORDS);
	out->global_mood = config_bool(c, CFG_GLOBAL_MOOD_ENABLED);
	if (config_str(c, CFG_GLOBAL_MOOD_ID) && *config_str(c, CFG_GLOBAL_MOOD_ID))
		out->mood_id = config_str(c, CFG_GLOBAL_MOOD_ID);
	out->him_hormones = config_bool(c, CFG_USE_HIM_HORMONES) && deps->memory;
	out->snapshot_interval_s = (int)config_int(c, CFG_HORMONE_SNAPSHOT_INTERVAL);
	out->ping_hours = config_float(c, CFG_INACTIVITY_PING_HOURS);
	out->ping_cooldown_hours = config_float(c, CFG_INACTIVITY_PING_COOLDOWN_HOURS);
	out->ping_check_s = (int)config_int(c, CFG_INACTIVITY_PING_CHECK_SECONDS);
}

double presence_local_hour(const char *zone, int64_t epoch_ms)
{
	struct tm tm;
	char *why = NULL;

	if (tz_localtime_named(zone && *zone ? zone : "UTC", epoch_ms / 1000, &tm, NULL, NULL,
			       &why) != KITH_OK) {
		log_debug("presence", "no local time (%s): flat baselines", why ? why : "?");
		free(why);
		return HORMONES_NO_CLOCK;
	}
	return tm.tm_hour + tm.tm_min / 60.0 + tm.tm_sec / 3600.0;
}

static bool is_console(const char *channel)
{
	return strcmp(channel, "console") == 0;
}

/* Where a conversation's mood lives: the shared one, or its own row. */
struct mood_key {
	const char *channel, *conversation;
	char him_id[KEY_MAX];   /* the HIM hormone channel / the /sel_status label */
};

static void mood_key_of(const struct presence_settings *ps, const char *channel,
			const char *conversation, struct mood_key *k)
{
	if (ps->global_mood) {
		k->channel = PRESENCE_SHARED_MOOD;
		k->conversation = ps->mood_id;
		snprintf(k->him_id, sizeof(k->him_id), "%s", ps->mood_id);
	} else {
		k->channel = channel;
		k->conversation = conversation;
		snprintf(k->him_id, sizeof(k->him_id), "%s:%s", channel, conversation);
	}
}

static bool same_key(const struct mood_key *k, const char *channel, const char *conversation)
{
	return strcmp(k->channel, channel) == 0 && strcmp(k->conversation, conversation) == 0;
}

/* A stored row, or a fresh one at rest for the hour of `now`. */
static enum kith_status load_row(struct store *st, const char *channel, const char *conversation,
				 const char *zone, int64_t now, struct store_presence_channel *row,
				 char **why)
{
	enum kith_status rc = store_presence_channel_get(st, channel, conversation, row, why);

	if (rc == KITH_ENOTFOUND) {
		struct hormones h;

		free(*why);
		*why = NULL;
		hormones_init(&h, presence_local_hour(zone, now));
		memset(row, 0, sizeof(*row));
		memcpy(row->levels, h.v, sizeof(h.v));
		row->updated_at = now;
		return KITH_OK;
	}
	return rc;
}

/* The row's levels with the time since it was last moved let pass. */
static void levels_now(const struct store_presence_channel *row, const char *zone, int64_t now,
		       struct hormones *h)
{
	struct hormones_span span = { 0 };

	memcpy(h->v, row->levels, sizeof(h->v));
	hormones_sanitize(h);
	if (now > row->updated_at) {
		span.elapsed_s = (double)(now - row->updated_at) / 1000.0;
		span.start_hour = presence_local_hour(zone, row->updated_at);
		/* updated_at is the last event in the mood: quiet since then. */
		span.quiet_s = 0;
		hormones_decay(h, &span);
	}
}

/* ---- reading a message ------------------------------------------------------ */

static const char classify_schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"sentiment\":{\"type\":\"string\",\"enum\":[\"positive\",\"negative\",\"neutral\"]},"
	"\"intensity\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
	"\"playful\":{\"type\":\"boolean\"},"
	"\"memory_write\":{\"type\":\"boolean\"}},"
	"\"required\":[\"sentiment\",\"intensity\",\"playful\",\"memory_write\"],"
	"\"additionalProperties\":false}";

static const char classify_prompt[] =
	"Classify the user's chat message for a companion's emotional model. Answer with JSON "
	"only: sentiment (positive, negative or neutral, as the author feels it), intensity "
	"(0 to 1, how strongly), playful (joking, teasing), memory_write (it says something "
	"about the author worth remembering: a preference, a fact, a plan).";

/* Parse the model's answer into *m; false when it is not the expected JSON
 * (a fenced ```json block is accepted). */
static bool parse_classification(const char *text, struct hormones_stimulus *m, bool *remember)
{
	const char *open = text ? strchr(text, '{') : NULL;
	const char *close = text ? strrchr(text, '}') : NULL;
	json_t *j;
	const char *s;
	double intensity;
	bool playful, mw, ok = false;

	if (!open || !close || close < open)
		return false;
	j = kjson_parse(open, (size_t)(close - open + 1), NULL);
	s = kjson_str(j, "sentiment");
	if (s && kjson_num(j, "intensity", &intensity) && isfinite(intensity)) {
		ok = true;
		if (strcasecmp(s, "positive") == 0)
			m->sentiment = HORMONES_POSITIVE;
		else if (strcasecmp(s, "negative") == 0)
			m->sentiment = HORMONES_NEGATIVE;
		else if (strcasecmp(s, "neutral") == 0)
			m->sentiment = HORMONES_NEUTRAL;
		else
			ok = false;
		m->intensity = intensity < 0 ? 0 : intensity > 1.25 ? 1.25 : intensity;
		if (kjson_bool(j, "playful", &playful))
			m->playful = playful;
		if (kjson_bool(j, "memory_write", &mw))
			*remember = mw;
	}
	json_decref(j);
	return ok;
}

/* Ask the utility model; false (and the caller keeps the heuristic's
 * reading) on any failure.  A client of its own with a short timeout and
 * one attempt bounds the wait whatever LLM_TIMEOUT says. */
static bool classify(const struct agent_deps *deps, struct store *st, const char *text,
		     const struct cancel *cancel, struct hormones_stimulus *m, bool *remember)
{
	struct llm_config lc = *llm_client_config(deps->llm);
	struct llm_client *quick;
	struct llm_msg msgs[2];
	json_t *schema = json_loads(classify_schema, 0, NULL);
	struct llm_request req = {
		.role = LLM_ROLE_UTIL, .msgs = msgs, .nmsgs = 2, .json_schema = schema,
		.schema_name = "message_reading", .cancel = cancel, .temperature = -1,
	};
	struct llm_response r;
	char *why = NULL;
	enum kith_status rc;
	struct hormones_stimulus got = *m;
	bool ok = false, mw = false;

	lc.timeout_ms = PRESENCE_CLASSIFY_TIMEOUT_MS;
	lc.max_attempts = 1;
	quick = llm_client_new(&lc);
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, classify_prompt);
	llm_msg_init(&msgs[1], LLM_MSG_USER, text);
	rc = llm_chat(quick, &req, &r, &why);
	if (rc == KITH_OK)
		ok = parse_classification(r.content, &got, &mw);
	{
		struct store_llm_call c = {
			.role = llm_role_name(LLM_ROLE_UTIL), .provider = llm_provider_name(lc.provider),
			.model = r.model ? r.model : llm_model(quick, LLM_ROLE_UTIL),
			.ok = rc == KITH_OK, .error = rc ? (why ? why : kith_strerror(rc)) : NULL,
			.http_status = r.http_status, .attempts = r.attempts,
			.duration_ms = r.duration_ms, .prompt_tokens = r.prompt_tokens,
			.completion_tokens = r.completion_tokens, .request = r.request_json,
			.response = r.response_json,
		};
		char *w2 = NULL;

		if (store_llm_call_add(st, &c, NULL, &w2) != KITH_OK)
			free(w2);
	}
	if (rc != KITH_OK)
		log_info("presence", "util model did not read the message (%s): heuristic instead",
			 why ? why : kith_strerror(rc));
	else if (!ok)
		log_info("presence", "util model's reading was not the JSON asked for: heuristic "
			 "instead");
	if (ok) {
		m->sentiment = got.sentiment;
		m->intensity = got.intensity;
		m->playful = got.playful;
		*remember = mw;
	}
	free(why);
	llm_response_release(&r);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	llm_client_free(quick);
	json_decref(schema);
	return ok;
}

static bool has_image(const struct inbound *ev)
{
	for (size_t i = 0; i < ev->nattachments; i++) {
		const char *t = ev->attachments[i].content_type;

		if (t && strncasecmp(t, "image/", 6) == 0)
			return true;
	}
	return false;
}

/* ---- the person ------------------------------------------------------------- */

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* SEL's per-message nudges (digest §3.10 step 5). */
static void nudge_user(struct store_presence_user *u, enum hormones_sentiment s)
{
	switch (s) {
	case HORMONES_POSITIVE:
		u->affinity += 0.05, u->trust += 0.03, u->bond += 0.05, u->irritation -= 0.03;
		break;
	case HORMONES_NEGATIVE:
		u->affinity -= 0.04, u->trust -= 0.05, u->bond -= 0.03, u->irritation += 0.05;
		break;
	case HORMONES_NEUTRAL:
		u->bond += 0.005;
		break;
	}
	u->affinity = clamp01(u->affinity);
	u->trust = clamp01(u->trust);
	u->bond = clamp01(u->bond);
	u->irritation = clamp01(u->irritation);
}

/* SEL's global drift per message: positive talk makes it more playful and
 * sure of itself, negative less playful and more careful with people. */
static void nudge_persona(struct store_persona *p, enum hormones_sentiment s)
{
	if (s == HORMONES_POSITIVE) {
		p->playfulness = clamp01(p->playfulness + 0.01);
		p->confidence = clamp01(p->confidence + 0.005);
	} else if (s == HORMONES_NEGATIVE) {
		p->playfulness = clamp01(p->playfulness - 0.01);
		p->empathy = clamp01(p->empathy + 0.01);
	}
}

/* Load the person or start them at SEL's defaults (0.5, irritation 0). */
static enum kith_status load_user(struct store *st, const char *channel, const char *user_id,
				  int64_t now, struct store_presence_user *u, char **why)
{
	enum kith_status rc = store_presence_user_get(st, channel, user_id, u, why);

	if (rc != KITH_ENOTFOUND)
		return rc;
	free(*why);
	*why = NULL;
	u->channel = xstrdup(channel);
	u->user_id = xstrdup(user_id);
	u->first_seen = now;
	u->affinity = u->trust = u->bond = 0.5;
	u->preferences = xstrdup("{}");
	return KITH_OK;
}

static const char *bond_words(double b)
{
	if (b >= 0.85)
		return "very close";
	if (b >= 0.7)
		return "close";
	if (b >= 0.55)
		return "friendly";
	if (b >= 0.4)
		return "still getting to know each other";
	return "distant";
}

static const char *level_words(double v)
{
	return v >= 0.7 ? "high" : v >= 0.4 ? "moderate" : "low";
}

/* "for the first time today", "for 3 days", "for 2 weeks", "for 5 months". */
static void known_for(int64_t ms, char *out, size_t n)
{
	int64_t days = ms > 0 ? ms / 86400000 : 0;

	if (days < 1)
		snprintf(out, n, "since today");
	else if (days < 14)
		snprintf(out, n, "for %lld day%s", (long long)days, days == 1 ? "" : "s");
	else if (days < 60)
		snprintf(out, n, "for %lld weeks", (long long)(days / 7));
	else
		snprintf(out, n, "for %lld months", (long long)(days / 30));
}

static void profile_block(struct buf *b, const struct store_presence_user *u, const char *fallback,
			  int64_t now)
{
	char since[48];
	json_t *prefs = u->preferences ? kjson_parse(u->preferences, strlen(u->preferences), NULL)
				       : NULL;
	const char *key;
	json_t *val;
	int shown = 0;

	known_for(now - u->first_seen, since, sizeof(since));
	buf_printf(b, "About %s (what you know of them): you have known them %s, %lld message%s. ",
		   u->name && *u->name ? u->name : fallback, since, (long long)u->messages,
		   u->messages == 1 ? "" : "s");
	buf_printf(b, "Bond: %s (%.2f); trust: %s (%.2f); affinity %.2f; irritation %.2f.",
		   bond_words(u->bond), u->bond, level_words(u->trust), u->trust, u->affinity,
		   u->irritation);
	if (json_is_object(prefs)) {
		json_object_foreach(prefs, key, val) {
			char *v = json_is_string(val) ? xstrdup(json_string_value(val))
						      : json_is_true(val) ? xstrdup("yes")
						      : json_is_false(val) ? xstrdup("no")
						      : kjson_dump(val, true);

			buf_printf(b, "%s%s: %s", shown++ ? "; " : " Preferences: ", key, v);
			free(v);
		}
		if (shown)
			buf_puts(b, ".");
	}
	buf_puts(b, "\n");
	json_decref(prefs);
}

static void persona_line(struct buf *b, const struct store_persona *p)
{
	buf_printf(b, "Your style right now (subtle guidance, not rules): teasing %.1f, emoji use "
		      "%.1f, length %s, vulnerability %.1f, confidence %.1f, playfulness %.1f, "
		      "verbosity %.1f, empathy %.1f.\n",
		   p->teasing, p->emoji_rate, p->preferred_length, p->vulnerability, p->confidence,
		   p->playfulness, p->verbosity, p->empathy);
}

static double base_temperature(const struct agent_deps *deps)
{
	double t = deps->llm ? llm_client_config(deps->llm)->temperature[LLM_ROLE_MAIN] : -1;

	return t >= 0 ? t : DEFAULT_MAIN_TEMP;
}

/* ---- one message ---------------------------------------------------------- */

bool presence_ignores(const struct agent_deps *deps, const struct inbound *ev,
		      const char *self_id)
{
	struct presence_settings ps;

	if (behaviour_ignores_author(ev->author_is_bot, ev->author_id, self_id))
		return true;
	presence_settings_get(deps, &ps);
	if (strcmp(chan_name(ev->channel), "discord") == 0 && !ev->direct &&
	    !behaviour_channel_allowed(ev->conversation, ps.whitelist)) {
		log_debug("presence", "ignoring channel %s: not on WHITELIST_CHANNEL_IDS",
			  ev->conversation);
		return true;
	}
	return false;
}

/* Everything the transaction reads and writes. */
struct msg_state {
	struct store_presence_channel mood, conv;
	struct store_presence_user user;
	struct store_persona persona;
	bool have_persona;
	bool snapshot;
};

static void decide(const struct presence_settings *ps, const struct inbound *ev,
		   const char *channel, bool reply_to_self,
		   const struct hormones *h, const struct store_presence_channel *conv, int64_t now,
		   struct behaviour_decision *d)
{
	double since = conv->last_reply_at > 0 ? (double)(now - conv->last_reply_at) / 1000.0 : -1;
	struct behaviour_input in = {
		.is_dm = ev->direct || is_console(channel),
		.mentioned = ev->mentions_self,
		.reply_to_self = reply_to_self,
		.direct_question = behaviour_is_direct_question(ev->text, ps->name),
		.continuation = behaviour_is_continuation(ev->text, ps->name, ps->keywords,
							 reply_to_self, since),
		.has_image = has_image(ev),
		.messages_since_reply = conv->messages_since_reply,
		.seconds_since_reply = since,
		.base_chance = BEHAVIOUR_BASE_CHANCE,
	};

	behaviour_decide(&in, h, d);
}

static enum kith_status update_state(const struct presence_settings *ps,
				     struct store *st, const struct inbound *ev, const char *channel,
				     const struct mood_key *mk, const char *self_id,
				     const struct hormones_stimulus *stim, int64_t now,
				     struct msg_state *s, struct presence_turn *out, char **why)
{
	bool shared = !same_key(mk, channel, ev->conversation);
	bool reply_to_self = self_id && ev->reply_to_author && strcmp(ev->reply_to_author, self_id) == 0;
	struct hormones_stimulus m = *stim;
	enum kith_status rc;

	rc = load_row(st, mk->channel, mk->conversation, ps->timezone, now, &s->mood, why);
	if (!rc && shared)
		rc = load_row(st, channel, ev->conversation, ps->timezone, now, &s->conv, why);
	if (!rc)
		rc = load_user(st, channel, ev->author_id, now, &s->user, why);
	if (rc)
		return rc;
	if (!shared)
		s->conv = s->mood;

	m.addressed = ev->direct || ev->mentions_self || reply_to_self ||
		      behaviour_is_direct_question(ev->text, ps->name);
	m.novel = s->user.messages == 0;   /* someone new */
	levels_now(&s->mood, ps->timezone, now, &out->levels);
	hormones_on_message(&out->levels, &m);

	decide(ps, ev, channel, reply_to_self, &out->levels, &s->conv, now, &out->decision);
	out->verdict = out->decision.respond ? PRESENCE_REPLY : PRESENCE_SILENT;

	memcpy(s->mood.levels, out->levels.v, sizeof(out->levels.v));
	s->mood.updated_at = now;
	if (ps->him_hormones &&
	    (s->mood.last_snapshot_at <= 0 ||
	     now - s->mood.last_snapshot_at >= (int64_t)ps->snapshot_interval_s * 1000)) {
		s->mood.last_snapshot_at = now;
		s->snapshot = true;
	}
	memcpy(s->conv.levels, out->levels.v, sizeof(out->levels.v));
	s->conv.updated_at = now;
	if (!out->decision.respond)
		s->conv.messages_since_reply++;
	if (shared) {
		rc = store_presence_channel_put(st, mk->channel, mk->conversation, &s->mood, why);
		if (!rc)
			rc = store_presence_channel_put(st, channel, ev->conversation, &s->conv, why);
	} else {
		s->conv.last_snapshot_at = s->mood.last_snapshot_at;
		rc = store_presence_channel_put(st, channel, ev->conversation, &s->conv, why);
	}
	if (rc)
		return rc;

	if (ev->author_name && *ev->author_name) {
		free(s->user.name);
		s->user.name = xstrdup(ev->author_name);
	}
	s->user.last_seen = now;
	free(s->user.last_conversation);
	s->user.last_conversation = xstrdup(ev->conversation);
	s->user.last_direct = ev->direct;
	s->user.messages++;
	nudge_user(&s->user, m.sentiment);
	rc = store_presence_user_put(st, &s->user, why);
	if (rc)
		return rc;

	if (store_persona_get(st, &s->persona, why) == KITH_OK) {
		s->have_persona = true;
		nudge_persona(&s->persona, m.sentiment);
		s->persona.updated_at = now;
		rc = store_persona_put(st, &s->persona, why);
	} else {
		free(*why);
		*why = NULL;
	}
	return rc;
}

static void write_snapshot(const struct agent_deps *deps, const struct mood_key *mk,
			   const struct hormones *h, int64_t now)
{
	struct him_hormone_levels lv = { .present = (1u << HIM_HORMONES) - 1 };
	struct him *him = memory_him(deps->memory);
	char *why = NULL;

	if (!him)
		return;
	for (int i = 0; i < HIM_HORMONES; i++)
		lv.v[i] = h->v[i];
	if (him_hormones_put(him, mk->him_id, &lv, now, &why) != KITH_OK) {
		log_warn("presence", "no hormone sample for %s: %s", mk->him_id, why ? why : "?");
		free(why);
	}
}

static void reply_prompt(const struct msg_state *s, const struct inbound *ev, int64_t now,
			 struct presence_turn *out)
{
	struct buf b = BUF_INIT(0);
	char block[HORMONES_PROMPT_MAX];

	hormones_prompt_block(&out->levels, block, sizeof(block));
	buf_puts(&b, block);
	if (s->have_persona)
		persona_line(&b, &s->persona);
	if (s->user.user_id)
		profile_block(&b, &s->user, ev->author_id, now);
	out->prompt = buf_detach(&b);
}

void presence_on_message(const struct agent_deps *deps, struct store *st,
			 const struct inbound *ev, const char *self_id,
			 const struct cancel *cancel, struct presence_turn *out)
{
	struct presence_settings ps;
	const char *channel = chan_name(ev->channel);
	struct hormones_stimulus stim;
	struct mood_key mk;
	struct msg_state s;
	int64_t now;
	char *why = NULL;
	enum kith_status rc;
	size_t len = ev->text ? strlen(ev->text) : 0;
	bool util;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	presence_settings_get(deps, &ps);
	if (presence_ignores(deps, ev, self_id)) {
		out->verdict = PRESENCE_IGNORE;
		return;
	}

	mind_read_message(ev->text, &stim);
	util = !is_console(channel) && deps->llm && llm_model(deps->llm, LLM_ROLE_UTIL);
	if (!mind_prefer_quick_read(len, util))
		(void)classify(deps, st, ev->text, cancel, &stim, &out->remember);

	now = clock_now_ms();
	mood_key_of(&ps, channel, ev->conversation, &mk);
	rc = store_presence_begin(st, &why);
	if (!rc)
		rc = store_presence_end(st, update_state(&ps, st, ev, channel, &mk, self_id,
							 &stim, now, &s, out, &why), &why);
	if (rc) {
		/* A fresh mood and the forced answers only: a broken database
		 * never silences kith where it must answer. */
		struct store_presence_channel fresh = { 0 };

		log_warn("presence", "mood state unavailable (%s): deciding from a fresh mood",
			 why ? why : kith_strerror(rc));
		hormones_init(&out->levels, presence_local_hour(ps.timezone, now));
		decide(&ps, ev, channel,
		       self_id && ev->reply_to_author && strcmp(ev->reply_to_author, self_id) == 0,
		       &out->levels, &fresh, now, &out->decision);
		out->verdict = out->decision.respond ? PRESENCE_REPLY : PRESENCE_SILENT;
		s.snapshot = false;
		s.have_persona = false;
		store_presence_user_release(&s.user);
	}
	free(why);
	if (s.snapshot)
		write_snapshot(deps, &mk, &out->levels, now);
	log_debug("presence", "%s:%s %s (chance %.2f, bar %.2f)", channel, ev->conversation,
		  behaviour_reason_name(out->decision.reason), out->decision.chance,
		  out->decision.threshold);
	if (out->verdict == PRESENCE_REPLY) {
		out->temperature = hormones_temperature(&out->levels, base_temperature(deps));
		out->typing_delay_s = hormones_typing_delay(&out->levels);
		reply_prompt(&s, ev, now, out);
	}
	store_presence_user_release(&s.user);
}

void presence_turn_release(struct presence_turn *t)
{
	free(t->prompt);
	t->prompt = NULL;
}

void presence_replied(struct store *st, const char *channel, const char *conversation, int64_t at)
{
	struct store_persona p;
	char *why = NULL;

	if (store_presence_channel_replied(st, channel, conversation, at, &why) != KITH_OK ||
	    store_persona_get(st, &p, &why) != KITH_OK) {
		log_warn("presence", "could not record a reply: %s", why ? why : "?");
		free(why);
		return;
	}
	p.messages_sent++;
	p.updated_at = at;
	if (store_persona_put(st, &p, &why) != KITH_OK) {
		log_warn("presence", "could not record a reply: %s", why ? why : "?");
		free(why);
	}
}

/* ---- reactions ---------------------------------------------------------------- */

/* likes_teasing = false in the person's preferences (SEL: a rejected
 * message was probably a tease too far). */
static void no_teasing(struct store_presence_user *u)
{
	json_t *p = u->preferences ? kjson_parse(u->preferences, strlen(u->preferences), NULL) : NULL;

	if (!json_is_object(p)) {
		json_decref(p);
		p = json_object();
	}
	json_object_set_new(p, "likes_teasing", json_false());
	free(u->preferences);
	u->preferences = kjson_dump(p, true);
	json_decref(p);
}

static enum kith_status apply_reaction(const struct presence_settings *ps, struct store *st,
				       const struct inbound *ev, const char *channel,
				       const struct mood_key *mk, enum hormones_reaction kind,
				       int64_t now, char **why)
{
	struct store_presence_channel mood;
	struct store_presence_user u = { 0 };
	struct store_persona p;
	struct hormones h;
	bool accepted = kind == HORMONES_REACTION_ACCEPTED;
	enum kith_status rc;

	rc = load_row(st, mk->channel, mk->conversation, ps->timezone, now, &mood, why);
	if (rc)
		return rc;
	levels_now(&mood, ps->timezone, now, &h);
	hormones_on_reaction(&h, kind);
	memcpy(mood.levels, h.v, sizeof(h.v));
	mood.updated_at = now;
	rc = store_presence_channel_put(st, mk->channel, mk->conversation, &mood, why);
	if (rc)
		return rc;

	if (store_persona_get(st, &p, why) == KITH_OK) {
		p.teasing = clamp01(p.teasing + (accepted ? 0.01 : -0.01));
		if (accepted) {
			p.emoji_rate = clamp01(p.emoji_rate + 0.01);
			p.positive_reactions++;
		} else {
			p.negative_reactions++;
		}
		p.updated_at = now;
		rc = store_persona_put(st, &p, why);
		if (rc)
			return rc;
	} else {
		free(*why);
		*why = NULL;
	}

	rc = store_presence_user_get(st, channel, ev->author_id, &u, why);
	if (rc == KITH_ENOTFOUND) {   /* someone kith has not heard speak */
		free(*why);
		*why = NULL;
		return KITH_OK;
	}
	if (!rc) {
		if (accepted) {
			u.affinity = clamp01(u.affinity + 0.02);
		} else {
			u.trust = clamp01(u.trust - 0.02);
			no_teasing(&u);
		}
		rc = store_presence_user_put(st, &u, why);
	}
	store_presence_user_release(&u);
	return rc;
}

bool presence_on_reaction(const struct agent_deps *deps, struct store *st,
			  const struct inbound *ev, const char *self_id)
{
	struct presence_settings ps;
	const char *channel = chan_name(ev->channel);
	enum hormones_reaction kind;
	struct mood_key mk;
	char *why = NULL;
	enum kith_status rc;

	presence_settings_get(deps, &ps);
	if (!self_id || !ev->reply_to_author || strcmp(ev->reply_to_author, self_id) != 0)
		return false;   /* not on one of kith's messages */
	if (presence_ignores(deps, ev, self_id))
		return false;
	kind = mind_reaction_kind(ev->text);
	if (kind == HORMONES_REACTION_NONE)
		return false;
	mood_key_of(&ps, channel, ev->conversation, &mk);
	rc = store_presence_begin(st, &why);
	if (!rc)
		rc = store_presence_end(st, apply_reaction(&ps, st, ev, channel, &mk, kind,
							   clock_now_ms(), &why), &why);
	if (rc) {
		log_warn("presence", "could not apply a reaction: %s", why ? why : kith_strerror(rc));
		free(why);
		return false;
	}
	log_debug("presence", "reaction %s on %s: %s", ev->text, mk.him_id,
		  kind == HORMONES_REACTION_ACCEPTED ? "accepted" : "rejected");
	return true;
}

/* ---- /sel_status ------------------------------------------------------------ */

enum kith_status presence_view(const struct agent_deps *deps, struct store *st,
			       const char *channel, const char *conversation,
			       struct presence_view *out, char **why)
{
	struct presence_settings ps;
	struct mood_key mk;
	struct store_presence_channel mood, conv;
	int64_t now = clock_now_ms();
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	presence_settings_get(deps, &ps);
	mood_key_of(&ps, channel, conversation, &mk);
	snprintf(out->mood_key, sizeof(out->mood_key), "%s", mk.him_id);
	rc = store_presence_channel_get(st, mk.channel, mk.conversation, &mood, why);
	if (rc == KITH_ENOTFOUND) {
		free(*why);
		*why = NULL;
		hormones_init(&out->levels, presence_local_hour(ps.timezone, now));
	} else if (rc) {
		return rc;
	} else {
		out->known = true;
		levels_now(&mood, ps.timezone, now, &out->levels);
	}
	rc = store_presence_channel_get(st, channel, conversation, &conv, why);
	if (rc == KITH_OK) {
		out->messages_since_reply = conv.messages_since_reply;
		out->last_reply_at = conv.last_reply_at;
	} else if (rc == KITH_ENOTFOUND) {
		free(*why);
		*why = NULL;
	} else {
		return rc;
	}
	return store_presence_users_count(st, &out->users, why);
}

/* ---- hormone decay (SEL's periodic job) ------------------------------------ */

#define DECAY_BATCH 64

enum kith_status presence_decay_run(const struct agent_deps *deps, struct store *st,
				    int64_t now, const struct cancel *cancel, int *moved,
				    char **why)
{
	struct presence_settings ps;
	struct store_presence_mood *moods = NULL;
	size_t n = 0, done = 0;
	int64_t every;
	enum kith_status rc;

	if (moved)
		*moved = 0;
	presence_settings_get(deps, &ps);
	every = (int64_t)(ps.snapshot_interval_s > 60 ? ps.snapshot_interval_s : 60) * 1000;
	if ((rc = store_presence_moods_stale(st, now - every, DECAY_BATCH, &moods, &n, why)))
		return rc;
	for (; done < n && !cancel_requested(cancel); done++) {
		struct store_presence_mood *m = &moods[done];
		struct store_presence_channel row;
		struct hormones h;
		bool snap = false;

		/* Re-read under the write lock: a message may have moved this
		 * mood since the listing, and its levels must not be lost. */
		if ((rc = store_presence_begin(st, why)) != KITH_OK)
			break;
		rc = store_presence_channel_get(st, m->channel, m->conversation, &row, why);
		if (rc == KITH_OK && row.updated_at < now - every) {
			levels_now(&row, ps.timezone, now, &h);
			memcpy(row.levels, h.v, sizeof(h.v));
			row.updated_at = now;
			if (ps.him_hormones && now - row.last_snapshot_at >= every) {
				row.last_snapshot_at = now;
				snap = true;
			}
			rc = store_presence_channel_put(st, m->channel, m->conversation, &row, why);
		} else if (rc == KITH_ENOTFOUND) {
			free(*why);
			*why = NULL;
			rc = KITH_OK;
		}
		if ((rc = store_presence_end(st, rc, why)) != KITH_OK)
			break;
		if (snap) {
			struct mood_key mk = { .channel = m->channel, .conversation = m->conversation };

			if (strcmp(m->channel, PRESENCE_SHARED_MOOD) == 0)
				snprintf(mk.him_id, sizeof(mk.him_id), "%s", m->conversation);
			else
				snprintf(mk.him_id, sizeof(mk.him_id), "%s:%s", m->channel,
					 m->conversation);
			write_snapshot(deps, &mk, &h, now);
		}
		if (moved && row.updated_at == now)
			(*moved)++;
	}
	store_presence_moods_free(moods, n);
	return rc;
}
