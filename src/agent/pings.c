/* pings.c — reaching out to people who have gone quiet (SEL's inactivity
 * pings, digest §3.10).
 *
 * A pass looks for people silent for INACTIVITY_PING_HOURS and not pinged
 * for INACTIVITY_PING_COOLDOWN_HOURS, and sends each one short, warm message
 * in the conversation where they last spoke, written by the main model from
 * their name, how long it has been and one thing kith remembers about them
 * (a fixed line when the model fails).  The ping is claimed in the database
 * (last_pinged_at, one conditional UPDATE) before anything is sent: a crash
 * or a second pinger can lose a ping, never double one.  The console is
 * never pinged: nobody reads a terminal kith writes to on its own.
 *
 * Passes run as a job on the background scheduler (presence_pings_job),
 * which cancels a pass in flight when a person writes (the model call
 * honours the cancel token); the day's proactive budget bounds them. */
#include "agent/presence.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "llm/llm.h"
#include "store/store.h"

#include <string.h>
#include <time.h>

#define PING_BATCH 32          /* people handled per pass (the rest next time) */
#define PING_MEMORY_MAX 300    /* bytes of the recalled memory in the prompt */
#define HOUR_MS 3600000.0

/* "3 days", "5 hours", "20 minutes", "a while". */
static void gap_words(int64_t ms, char *out, size_t n)
{
	int64_t min = ms / 60000, h = min / 60, d = h / 24;

	if (d >= 1)
		snprintf(out, n, "%lld day%s", (long long)d, d == 1 ? "" : "s");
	else if (h >= 1)
		snprintf(out, n, "%lld hour%s", (long long)h, h == 1 ? "" : "s");
	else if (min >= 1)
		snprintf(out, n, "%lld minute%s", (long long)min, min == 1 ? "" : "s");
	else
		snprintf(out, n, "a while");
}

static void record(struct store *st, const struct agent_deps *deps, const struct llm_response *r,
		   enum kith_status rc, const char *err)
{
	struct store_llm_call c = {
		.role = llm_role_name(LLM_ROLE_MAIN),
		.provider = llm_provider_name(llm_client_config(deps->llm)->provider),
		.model = r->model ? r->model : llm_model(deps->llm, LLM_ROLE_MAIN),
		.ok = rc == KITH_OK, .error = rc ? (err ? err : kith_strerror(rc)) : NULL,
		.http_status = r->http_status, .attempts = r->attempts,
		.duration_ms = r->duration_ms, .prompt_tokens = r->prompt_tokens,
		.completion_tokens = r->completion_tokens, .request = r->request_json,
		.response = r->response_json,
	};
	char *why = NULL;

	if (st && store_llm_call_add(st, &c, NULL, &why) != KITH_OK)
		free(why);
}

static char *ping_text(const struct agent_deps *deps, struct store *st, const char *name,
		       const char *gap, const char *memory, const struct cancel *cancel)
{
	struct buf sys = BUF_INIT(0);
	struct llm_msg msgs[2];
	struct llm_request req = { .role = LLM_ROLE_MAIN, .msgs = msgs, .nmsgs = 2,
				   .cancel = cancel, .temperature = -1 };
	struct llm_response r;
	char *why = NULL, *user, *text = NULL;
	enum kith_status rc = KITH_ECONFIG;

	buf_puts(&sys, deps->persona && *deps->persona ? deps->persona
						      : "You are kith, a friendly companion.");
	buf_printf(&sys, "\n\nYou have not heard from %s in %s. Send them a short, warm message "
			 "inviting them to share what they have been up to. Sound human, not like "
			 "a system check, and keep it under two sentences. Reply with the message "
			 "only.", name, gap);
	if (memory && *memory)
		buf_printf(&sys, "\nSomething you remember about them (use it only if it fits "
				 "naturally): %.*s", PING_MEMORY_MAX, memory);
	user = xasprintf("(Proactive ping for %s; last seen %s ago.)", name, gap);
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, buf_str(&sys));
	llm_msg_init(&msgs[1], LLM_MSG_USER, user);
	memset(&r, 0, sizeof(r));
	if (deps->llm) {
		rc = llm_chat(deps->llm, &req, &r, &why);
		record(st, deps, &r, rc, why);
		if (rc == KITH_OK)
			text = agent_clean_reply(r.content);
		llm_response_release(&r);
	}
	if (!text || !*text) {
		if (rc != KITH_ECANCELED)
			log_info("presence", "ping for %s written from the fixed line: %s", name,
				 rc ? (why ? why : kith_strerror(rc)) : "the model answered nothing");
		free(text);
		text = xasprintf("Hey %s, it's been a little while. How have you been? I'd love to "
				 "hear what you've been up to.", name);
	}
	free(why);
	free(user);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	buf_release(&sys);
	return text;
}

char *presence_ping_text(const struct agent_deps *deps, const char *name, const char *gap,
			 const char *memory, const struct cancel *cancel)
{
	return ping_text(deps, NULL, name, gap, memory, cancel);
}

/* One thing kith remembers about the person (heap), NULL when nothing. */
static char *recall_about(const struct agent_deps *deps, struct store *st,
			  const struct store_presence_user *u, const char *name, int64_t now)
{
	struct agent_deps d = *deps;
	struct agent_turn_in in = {
		.channel = u->channel, .conversation = u->last_conversation,
		.author_id = u->user_id, .author_name = name, .text = name,
	};
	char *section, *line, *end, *out = NULL;

	if (!deps->memory)
		return NULL;
	d.recall_limit = 1;
	section = agent_recall_section(&d, st, &in, NULL, now);
	/* The section is a header line, then "- [age] text" lines. */
	line = section ? strstr(section, "\n- ") : NULL;
	if (line) {
		line += 3;
		end = strchr(line, '\n');
		out = end ? xstrndup(line, (size_t)(end - line)) : xstrdup(line);
	}
	free(section);
	return out;
}

static void store_ping(struct store *st, const struct store_presence_user *u, const char *text)
{
	struct new_message m = {
		.direction = MSG_OUTGOING, .channel = u->channel,
		.conversation = u->last_conversation, .author_id = "kith", .author_name = "kith",
		.content = text,
	};
	char *why = NULL;

	if (store_message_add(st, &m, NULL, &why) != KITH_OK) {
		log_warn("presence", "could not store a ping: %s", why ? why : "?");
		free(why);
	}
}

static bool reachable(const struct presence_settings *ps, const struct store_presence_user *u)
{
	if (strcmp(u->channel, "console") == 0)
		return false;
	if (strcmp(u->channel, "discord") == 0 && !u->last_direct &&
	    !behaviour_channel_allowed(u->last_conversation, ps->whitelist))
		return false;
	return true;
}

/* Claim, write and send one ping; true when it went out. */
static bool ping_one(const struct agent_deps *deps, struct store *st, struct channel *ch,
		     const struct store_presence_user *u, int64_t now, int64_t seen_before,
		     int64_t pinged_before, const struct cancel *cancel)
{
	const char *name = u->name && *u->name ? u->name : u->user_id;
	char gap[48], *memory, *text, *why = NULL;
	bool claimed = false, ok;

	/* A ping is proactive: one model call and one message of the day's
	 * allowance, checked before anything is claimed. */
	if (deps->budget && !sched_budget_allows(deps->budget, SCHED_SPEND_LLM | SCHED_SPEND_MESSAGE,
						now, NULL))
		return false;
	if (store_presence_user_claim_ping(st, u->channel, u->user_id, now, seen_before,
					   pinged_before, &claimed, &why) != KITH_OK) {
		log_warn("presence", "could not record a ping for %s: %s", name, why ? why : "?");
		free(why);
		return false;
	}
	if (!claimed)
		return false;   /* spoke meanwhile, or another pass took it */
	if (deps->budget) {
		(void)sched_budget_take(deps->budget, SCHED_SPEND_LLM, now);
		(void)sched_budget_take(deps->budget, SCHED_SPEND_MESSAGE, now);
	}
	gap_words(now - u->last_seen, gap, sizeof(gap));
	memory = recall_about(deps, st, u, name, now);
	text = ping_text(deps, st, name, gap, memory, cancel);
	ok = chan_send(ch, u->last_conversation, text, NULL, &why) == KITH_OK;
	if (ok) {
		log_info("presence", "pinged %s on %s after %s of silence", name, u->channel, gap);
		store_ping(st, u, text);
		presence_replied(st, u->channel, u->last_conversation, now);
	} else {
		log_warn("presence", "ping for %s not sent: %s", name, why ? why : "?");
		free(why);
	}
	free(memory);
	free(text);
	return ok;
}

enum kith_status presence_pings_run(const struct agent_deps *deps, struct store *st,
				    pinger_lookup_fn lookup, void *ud, int64_t now_ms,
				    const struct cancel *cancel, int *sent, char **why)
{
	struct presence_settings ps;
	struct store_presence_user *users = NULL;
	size_t n = 0;
	int64_t seen_before, pinged_before;
	enum kith_status rc;
	int count = 0;

	if (sent)
		*sent = 0;
	presence_settings_get(deps, &ps);
	seen_before = now_ms - (int64_t)(ps.ping_hours * HOUR_MS);
	pinged_before = now_ms - (int64_t)(ps.ping_cooldown_hours * HOUR_MS);
	rc = store_presence_users_quiet(st, seen_before, pinged_before, PING_BATCH, &users, &n, why);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !cancel_requested(cancel); i++) {
		struct channel *ch;

		if (!reachable(&ps, &users[i]) || !(ch = lookup ? lookup(users[i].channel, ud) : NULL))
			continue;
		if (store_user_muted(st, users[i].user_id))   /* /mute: nothing unasked */
			continue;
		if (strcmp(chan_name(ch), "console") == 0)
			continue;
		if (ping_one(deps, st, ch, &users[i], now_ms, seen_before, pinged_before, cancel))
			count++;
	}
	store_presence_users_free(users, n);
	if (sent)
		*sent = count;
	return KITH_OK;
}

/* ---- jobs on the background scheduler ---------------------------------------- */

static int64_t job_now(const struct presence_jobs *j)
{
	return j->now_ms ? j->now_ms(j->now_ctx) : clock_now_ms();
}

bool presence_pings_due(void *ctx, int64_t now_ms)
{
	struct presence_jobs *j = ctx;
	struct presence_settings ps;
	struct store_presence_user *users = NULL;
	size_t n = 0;
	bool due;

	presence_settings_get(j->deps, &ps);
	due = store_presence_users_quiet(j->st, now_ms - (int64_t)(ps.ping_hours * HOUR_MS),
					 now_ms - (int64_t)(ps.ping_cooldown_hours * HOUR_MS), 1,
					 &users, &n, NULL) == KITH_OK && n > 0;
	store_presence_users_free(users, n);
	return due;
}

enum sched_outcome presence_pings_job(void *ctx, const struct cancel *cancel)
{
	struct presence_jobs *j = ctx;
	char *why = NULL;
	int sent = 0;

	if (presence_pings_run(j->deps, j->st, j->lookup, j->ud, job_now(j), cancel, &sent,
			       &why) != KITH_OK) {
		log_warn("presence", "inactivity pings: %s", why ? why : "?");
		free(why);
		return SCHED_FAILED;
	}
	if (cancel_requested(cancel))
		return SCHED_CANCELLED;
	return sent ? SCHED_DID_WORK : SCHED_NO_WORK;
}

bool presence_decay_due(void *ctx, int64_t now_ms)
{
	struct presence_jobs *j = ctx;
	struct presence_settings ps;
	struct store_presence_mood *m = NULL;
	size_t n = 0;
	int64_t every;
	bool due;

	presence_settings_get(j->deps, &ps);
	every = (int64_t)(ps.snapshot_interval_s > 60 ? ps.snapshot_interval_s : 60) * 1000;
	due = store_presence_moods_stale(j->st, now_ms - every, 1, &m, &n, NULL) == KITH_OK &&
	      n > 0;
	store_presence_moods_free(m, n);
	return due;
}

enum sched_outcome presence_decay_job(void *ctx, const struct cancel *cancel)
{
	struct presence_jobs *j = ctx;
	char *why = NULL;
	int moved = 0;

	if (presence_decay_run(j->deps, j->st, job_now(j), cancel, &moved, &why) != KITH_OK) {
		log_warn("presence", "hormone decay: %s", why ? why : "?");
		free(why);
		return SCHED_FAILED;
	}
	if (cancel_requested(cancel))
		return SCHED_CANCELLED;
	return moved ? SCHED_DID_WORK : SCHED_NO_WORK;
}
