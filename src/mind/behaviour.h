/* behaviour.h — when SEL speaks: the reply decision and the cues it needs.
 *
 * SEL always answers a DM, an @mention, a reply to one of its messages and
 * a question that calls it by name.  Anywhere else it weighs a score —
 * mood, momentum (how recently it spoke), continuation cues, an image,
 * the backlog of messages it has let pass — against a threshold, exactly
 * as the SEL reference's legacy should_respond does (digest §3.9), read on
 * the [0, 1] hormone scale.  The decision is a comparison, not a dice roll:
 * the same inputs always give the same answer, which is what lets the
 * golden cases in tests/unit/test_behaviour.c pin it.  Pure: no clock, no
 * I/O; the caller measures times and counts. */
#ifndef KITH_MIND_BEHAVIOUR_H
#define KITH_MIND_BEHAVIOUR_H

#include <stdbool.h>

#include "mind/hormones.h"

/* The reference's base chance of joining in a group channel. */
#define BEHAVIOUR_BASE_CHANCE 0.24
/* A "you" aimed at SEL within this long of its last reply continues the
 * conversation (the reference's 360 s). */
#define BEHAVIOUR_YOU_FOLLOWUP_S 360.0

/* What is known about one incoming message, from SEL's side. */
struct behaviour_input {
	bool is_dm;
	bool mentioned;         /* an @mention of SEL */
	bool reply_to_self;     /* a reply to one of SEL's messages */
	bool direct_question;   /* behaviour_is_direct_question() */
	bool continuation;      /* behaviour_is_continuation() */
	bool has_image;         /* an image attachment */
	int messages_since_reply;    /* messages SEL let pass in this channel */
	double seconds_since_reply;  /* since SEL last spoke here; < 0: never */
	double base_chance;          /* BEHAVIOUR_BASE_CHANCE unless tuned */
};

enum behaviour_reason {
	BEHAVIOUR_DM,             /* answer: a direct message */
	BEHAVIOUR_MENTIONED,      /* answer: @mention */
	BEHAVIOUR_REPLIED_TO,     /* answer: a reply to SEL */
	BEHAVIOUR_ASKED,          /* answer: a question calling SEL by name */
	BEHAVIOUR_JOINS_IN,       /* answer: the score reached the threshold */
	BEHAVIOUR_STAYS_QUIET,    /* silent: it did not */
};

struct behaviour_decision {
	bool respond;
	enum behaviour_reason reason;
	/* The score and the bar it had to reach (both 0 for the forced
	 * answers): the chance is the "how much SEL wants to speak" number for
	 * logs and /sel_status, in [0, 0.98]. */
	double chance;
	double threshold;
};

/* Decide whether SEL answers this message. */
void behaviour_decide(const struct behaviour_input *in, const struct hormones *h,
		      struct behaviour_decision *out);

/* "dm", "mentioned", "replied-to", "asked", "joins-in", "stays-quiet". */
const char *behaviour_reason_name(enum behaviour_reason r);

/* `name` occurs in `text` as a whole word, ignoring ASCII case ("hey Sel!"
 * yes, "myself" no).  False for an empty name. */
bool behaviour_names(const char *text, const char *name);

/* A question to SEL by name: a '?' and the name as a word. */
bool behaviour_is_direct_question(const char *text, const char *name);

/* Whether the message continues a conversation with SEL (the reference's
 * continuation cue): a reply to SEL, SEL's name, one of the continuation
 * keywords as a word (CONTINUATION_KEYWORDS; a NULL-terminated list, may be
 * NULL), or "you"/"u"/"your" within BEHAVIOUR_YOU_FOLLOWUP_S of SEL's last
 * reply (seconds_since_reply < 0: SEL has not spoken here). */
bool behaviour_is_continuation(const char *text, const char *name,
			       const char *const *keywords, bool reply_to_self,
			       double seconds_since_reply);

/* WHITELIST_CHANNEL_IDS: true when the list (NULL-terminated, may be NULL)
 * is empty or holds `channel_id`. */
bool behaviour_channel_allowed(const char *channel_id, const char *const *whitelist);

/* Messages SEL never reacts to: from a bot, or from SEL itself (author and
 * self ids compared as strings; a NULL self id matches nothing). */
bool behaviour_ignores_author(bool author_is_bot, const char *author_id,
			      const char *self_id);

#endif
