/* behaviour.c — the reply decision, with the reason for every number.
 *
 * Design choice: the SEL reference's legacy should_respond (deterministic),
 * not its later addressee scoring plus a yes/no question to the utility
 * model: the issue asks for a decision that is deterministic for given
 * inputs and testable with golden cases, and the legacy rule is exactly
 * that.  Hormone terms are written in the reference's [-1, 1] terms (ref =
 * 2·level − 1, see hormones.c) so its coefficients and golden cases carry
 * over unchanged; its estrogen, testosterone, adrenaline, endorphin and
 * progesterone terms drop out with those hormones (they are 0 in every
 * reference golden case we adopt). */
#include "mind/behaviour.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#define DOP HORMONE_DOPAMINE
#define SER HORMONE_SEROTONIN
#define OXY HORMONE_OXYTOCIN
#define CORT HORMONE_CORTISOL
#define MEL HORMONE_MELATONIN
#define NOV HORMONE_NOVELTY
#define CUR HORMONE_CURIOSITY
#define PAT HORMONE_PATIENCE

static double ref(const struct hormones *h, enum hormone i)
{
	double v = h->v[i];

	if (!isfinite(v))
		v = 0.5;
	return 2.0 * (v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v) - 1.0;
}

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

void behaviour_decide(const struct behaviour_input *in, const struct hormones *h,
		      struct behaviour_decision *out)
{
	double secs = in->seconds_since_reply;
	double base = isfinite(in->base_chance) ? in->base_chance : BEHAVIOUR_BASE_CHANCE;
	double ms = in->messages_since_reply > 0 ? in->messages_since_reply : 0;
	bool spoke = isfinite(secs) && secs >= 0.0;
	bool active, cont = in->continuation, img = in->has_image;
	double momentum, backlog, bonus, penalty, chance, threshold;

	memset(out, 0, sizeof *out);
	/* Spoken to directly: always answer.  A DM is a conversation with SEL
	 * by definition; a mention, a reply or a question by name is someone
	 * asking for SEL in a room. */
	out->respond = true;
	if (in->is_dm) {
		out->reason = BEHAVIOUR_DM;
		return;
	}
	if (in->mentioned) {
		out->reason = BEHAVIOUR_MENTIONED;
		return;
	}
	if (in->reply_to_self) {
		out->reason = BEHAVIOUR_REPLIED_TO;
		return;
	}
	if (in->direct_question) {
		out->reason = BEHAVIOUR_ASKED;
		return;
	}

	/* Momentum: a conversation SEL was part of seconds ago is still its
	 * conversation.  Under 10 s it is almost certainly answering SEL
	 * (+0.55), under 30 s probably (+0.35, and the bar drops to 0.3). */
	active = spoke && secs < 30.0;
	momentum = spoke && secs < 10.0 ? 0.55 : active ? 0.35 : 0.0;
	/* Backlog: the longer SEL has stayed out, the more natural it is to
	 * join — +0.04 per message let pass, at most +0.2 (five messages). */
	backlog = fmin(0.2, 0.04 * ms);

	/* Mood: reward, warmth, contentment, curiosity and patience make SEL
	 * sociable; stress, sleepiness and impatience make it hang back.  Only
	 * the net sign of each side counts, weighted 0.12 so that mood tips a
	 * decision but never makes it alone. */
	bonus = fmax(0.0, 0.6 * ref(h, DOP) + 0.4 * ref(h, OXY) + 0.2 * ref(h, SER) +
			  0.5 * ref(h, CUR) + 0.3 * ref(h, PAT)) * 0.12;
	penalty = fmax(0.0, 0.7 * ref(h, CORT) + 0.4 * ref(h, MEL) +
			    0.4 * fmax(0.0, -ref(h, PAT))) * 0.12;

	/* A continuation cue (+0.18) and an image to look at (+0.12) invite a
	 * reply; 0.02 is the floor so nothing is ever quite impossible. */
	chance = fmax(0.02, base + bonus - penalty + momentum + (cont ? 0.18 : 0.0) +
			    (img ? 0.12 : 0.0) + backlog);
	/* Then direct per-hormone pulls, on top of the pooled mood. */
	chance += 0.06 * ref(h, NOV) + 0.05 * ref(h, CUR) + 0.02 * ref(h, PAT) -
		  0.06 * fmax(0.0, ref(h, MEL)) - 0.06 * fmax(0.0, ref(h, CORT));
	/* Never certain: the top is 0.98. */
	chance = clamp(chance, 0.0, 0.98);

	/* The bar: 0.4, or 0.3 while the conversation is live; lower with a
	 * continuation cue, an image and a backlog (at most −0.08); a curious
	 * SEL clears it more easily, a patient or stressed one less. */
	threshold = (active ? 0.3 : 0.4) - (cont ? 0.08 : 0.0) - (img ? 0.04 : 0.0) -
		    fmin(0.08, 0.01 * ms) - 0.05 * ref(h, CUR) + 0.05 * ref(h, PAT) +
		    0.05 * ref(h, CORT);

	out->chance = chance;
	out->threshold = threshold;
	out->respond = chance >= threshold;
	out->reason = out->respond ? BEHAVIOUR_JOINS_IN : BEHAVIOUR_STAYS_QUIET;
}

const char *behaviour_reason_name(enum behaviour_reason r)
{
	static const char *const names[] = {
		[BEHAVIOUR_DM] = "dm",
		[BEHAVIOUR_MENTIONED] = "mentioned",
		[BEHAVIOUR_REPLIED_TO] = "replied-to",
		[BEHAVIOUR_ASKED] = "asked",
		[BEHAVIOUR_JOINS_IN] = "joins-in",
		[BEHAVIOUR_STAYS_QUIET] = "stays-quiet",
	};

	if ((unsigned)r >= sizeof names / sizeof names[0])
		return "unknown";
	return names[r];
}

/* Word characters as in a regex \b over ASCII; UTF-8 bytes (emoji, curly
 * apostrophes) separate words. */
static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

bool behaviour_names(const char *text, const char *name)
{
	size_t n;

	if (!text || !name || !*name)
		return false;
	n = strlen(name);
	for (const char *p = text; *p; p++) {
		if (strncasecmp(p, name, n) != 0)
			continue;
		if (p > text && word_char((unsigned char)p[-1]) && word_char((unsigned char)name[0]))
			continue;
		if (word_char((unsigned char)p[n]) && word_char((unsigned char)name[n - 1]))
			continue;
		return true;
	}
	return false;
}

bool behaviour_is_direct_question(const char *text, const char *name)
{
	return text && strchr(text, '?') && behaviour_names(text, name);
}

bool behaviour_is_continuation(const char *text, const char *name,
			       const char *const *keywords, bool reply_to_self,
			       double seconds_since_reply)
{
	/* Second person soon after SEL spoke is almost always aimed at SEL.
	 * Whole words, where the reference matched " you" as a substring (so
	 * "young" counted). */
	static const char *const you[] = {
		"you", "u", "your", "yours", "yourself", "you're", "youre", "you've",
		"you'll", "ya", NULL,
	};

	if (reply_to_self || behaviour_names(text, name))
		return true;
	/* Keywords as whole words: the reference's substring test made
	 * "sometimes" a continuation of "time". */
	for (const char *const *k = keywords; k && *k; k++) {
		if (behaviour_names(text, *k))
			return true;
	}
	if (isfinite(seconds_since_reply) && seconds_since_reply >= 0.0 &&
	    seconds_since_reply < BEHAVIOUR_YOU_FOLLOWUP_S) {
		for (const char *const *y = you; *y; y++) {
			if (behaviour_names(text, *y))
				return true;
		}
	}
	return false;
}

bool behaviour_channel_allowed(const char *channel_id, const char *const *whitelist)
{
	if (!whitelist || !whitelist[0])
		return true;
	if (!channel_id)
		return false;
	for (; *whitelist; whitelist++) {
		if (strcmp(*whitelist, channel_id) == 0)
			return true;
	}
	return false;
}

bool behaviour_ignores_author(bool author_is_bot, const char *author_id, const char *self_id)
{
	if (author_is_bot)
		return true;
	return author_id && self_id && strcmp(author_id, self_id) == 0;
}
