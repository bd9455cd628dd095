/* presence.h — SEL's presence: a mood per conversation (or one shared), what
 * kith knows of each person, whether to answer, and reaching out to people
 * who have gone quiet.
 *
 * The math is mind/'s (pure); this layer loads and saves the state
 * (store/presence.c), reads the clock and the time zone, asks the utility
 * model how a message feels, and turns the result into what a turn needs:
 * answer or not, the sampling temperature, the typing delay and the mood and
 * profile text for the system prompt.  The whole read-modify-write of one
 * message's state is one write transaction, so workers handling different
 * conversations never lose each other's update of a shared mood; no model
 * call happens inside it.  State failures are logged and never cost a
 * reply: the decision falls back to a fresh mood.
 *
 * The dispatcher calls presence_on_message() before a turn,
 * presence_replied() after sending and presence_on_reaction() for
 * reactions; `kith run` runs pings and hormone decay as scheduler jobs. */
#ifndef KITH_AGENT_PRESENCE_H
#define KITH_AGENT_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"
#include "sched/scheduler.h"
#include "mind/behaviour.h"
#include "mind/hormones.h"

struct agent_deps;
struct channel;
struct inbound;
struct store;

/* Util-model classification of a message longer than MIND_QUICK_READ_MAX
 * gets this long, one attempt; after that the heuristic reads it. */
#define PRESENCE_CLASSIFY_TIMEOUT_MS 8000
/* Channel name under which shared moods are stored (GLOBAL_MOOD_ID). */
#define PRESENCE_SHARED_MOOD "*"

/* The settings presence reads, from deps->cfg (defaults when it is NULL).
 * Strings and lists are borrowed from the configuration. */
struct presence_settings {
	const char *timezone;             /* SEL_TIMEZONE */
	const char *name;                 /* SEL_NAME */
	const char *const *whitelist;     /* WHITELIST_CHANNEL_IDS, NULL-terminated */
	const char *const *keywords;      /* CONTINUATION_KEYWORDS */
	bool global_mood;                 /* GLOBAL_MOOD_ENABLED */
	const char *mood_id;              /* GLOBAL_MOOD_ID */
	bool him_hormones;                /* USE_HIM_HORMONES (and memory is open) */
	int snapshot_interval_s;          /* HORMONE_SNAPSHOT_INTERVAL */
	double ping_hours;                /* INACTIVITY_PING_HOURS */
	double ping_cooldown_hours;       /* INACTIVITY_PING_COOLDOWN_HOURS */
	int ping_check_s;                 /* INACTIVITY_PING_CHECK_SECONDS */
};

void presence_settings_get(const struct agent_deps *deps, struct presence_settings *out);

/* Local hour (8.5 = 08:30) of epoch_ms in `zone`, or HORMONES_NO_CLOCK. */
double presence_local_hour(const char *zone, int64_t epoch_ms);

enum presence_verdict {
	PRESENCE_IGNORE,  /* not for kith: a bot, itself, a channel off the whitelist;
			   * nothing is stored */
	PRESENCE_SILENT,  /* heard: stored and remembered, no reply */
	PRESENCE_REPLY,   /* answer it */
};

/* What presence decided about one message. */
struct presence_turn {
	enum presence_verdict verdict;
	struct behaviour_decision decision;
	struct hormones levels;     /* the mood after this message */
	double temperature;         /* for the reply (hormones_temperature) */
	double typing_delay_s;      /* hormones_typing_delay */
	bool remember;              /* the classifier says it is worth keeping */
	char *prompt;               /* mood block + persona sliders + the person's
				     * profile for the system prompt (heap), NULL
				     * unless replying */
};

/* Whether kith leaves an event alone entirely: from a bot or from itself,
 * or in a Discord guild channel off WHITELIST_CHANNEL_IDS (DMs and other
 * networks pass).  Slash commands are subject to it too. */
bool presence_ignores(const struct agent_deps *deps, const struct inbound *ev,
		      const char *self_id);

/* Handle one incoming message (ev->kind INBOUND_MESSAGE) on `st`, the
 * worker's connection.  `self_id` is the bot's id on the network (NULL =
 * unknown).  `cancel` bounds the classification call. */
void presence_on_message(const struct agent_deps *deps, struct store *st,
			 const struct inbound *ev, const char *self_id,
			 const struct cancel *cancel, struct presence_turn *out);
void presence_turn_release(struct presence_turn *t);

/* kith spoke in (channel, conversation) at `at`: its reply counters reset. */
void presence_replied(struct store *st, const char *channel, const char *conversation,
		      int64_t at);

/* A reaction (ev->kind INBOUND_REACTION): when it is on one of kith's own
 * messages (ev->reply_to_author == self_id) and means something
 * (mind_reaction_kind), the mood, the persona and the person move.
 * Returns whether it changed anything. */
bool presence_on_reaction(const struct agent_deps *deps, struct store *st,
			  const struct inbound *ev, const char *self_id);

/* The state /sel_status shows, decayed to now without saving. */
struct presence_view {
	struct hormones levels;
	bool known;                 /* the mood has a stored row */
	int messages_since_reply;
	int64_t last_reply_at;      /* 0 = never */
	size_t users;
	char mood_key[160];         /* "global" or "channel:conversation" */
};
enum kith_status presence_view(const struct agent_deps *deps, struct store *st,
			       const char *channel, const char *conversation,
			       struct presence_view *out, char **why) KITH_MUST_CHECK;

/* ---- inactivity pings (pings.c) ------------------------------------------ */

/* The channel a ping for people of `channel_name` goes out on, or NULL when
 * there is none (or it cannot reach people, like the console). */
typedef struct channel *(*pinger_lookup_fn)(const char *channel_name, void *ud);

/* One pass at `now_ms`: every person silent for INACTIVITY_PING_HOURS and
 * not pinged for INACTIVITY_PING_COOLDOWN_HOURS, on a channel the lookup
 * gives (never the console) and allowed by the whitelist, gets one short
 * warm message in their last conversation.  The ping is recorded before it
 * is sent.  *sent (may be NULL) receives how many went out. */
enum kith_status presence_pings_run(const struct agent_deps *deps, struct store *st,
				    pinger_lookup_fn lookup, void *ud, int64_t now_ms,
				    const struct cancel *cancel, int *sent,
				    char **why) KITH_MUST_CHECK;

/* The text of a ping for `name` (heap): the main model's, or a fixed warm
 * line when the model fails.  `memory` (may be NULL) is something recalled
 * about them. */
char *presence_ping_text(const struct agent_deps *deps, const char *name, const char *gap,
			 const char *memory, const struct cancel *cancel);

/* SEL's hormone decay: every mood not moved for HORMONE_SNAPSHOT_INTERVAL
 * (at least a minute) drifts toward rest up to `now` and is saved; with
 * USE_HIM_HORMONES a sample goes to HIM, so the series has points while
 * nobody talks.  At most 64 moods a pass (the rest next time).  *moved (may
 * be NULL) receives how many were brought up to date. */
enum kith_status presence_decay_run(const struct agent_deps *deps, struct store *st,
				    int64_t now, const struct cancel *cancel, int *moved,
				    char **why) KITH_MUST_CHECK;

/* ---- SEL's periodic work on the background scheduler (pings.c) ---------- */

/* The context of the two jobs below (sched/scheduler.h): they run on the
 * scheduler's thread with its connection.  Pings are proactive work: each
 * takes one model call and one message from deps->budget (when set). */
struct presence_jobs {
	const struct agent_deps *deps;
	struct store *st;
	pinger_lookup_fn lookup;
	void *ud;
	int64_t (*now_ms)(void *ctx);   /* NULL = clock_now_ms */
	void *now_ctx;
};
bool presence_pings_due(void *ctx, int64_t now_ms);
enum sched_outcome presence_pings_job(void *ctx, const struct cancel *cancel);
bool presence_decay_due(void *ctx, int64_t now_ms);
enum sched_outcome presence_decay_job(void *ctx, const struct cancel *cancel);

#endif
