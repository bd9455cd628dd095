/* sentiment.c — reading a message's mood from its words, without a model.
 *
 * Design choice: a lexicon, not a model.  It runs on every short message
 * and whenever the utility model is down, so it must be instant and never
 * fail; it only has to be right about the obvious cases ("thanks, that's
 * perfect", "ugh this is broken"), because the hormone effects it feeds are
 * small and decay within minutes.  Words are matched whole and lowercased;
 * a negator ("not", "don't", …) flips the next two words' polarity, which
 * handles "not bad" and "doesn't work" without a parser.  The word lists
 * are kith's own. */
#include "mind/sentiment.h"

#include <math.h>
#include <string.h>

static const char *const positive_words[] = {
	"thanks", "thank", "thx", "ty", "tysm", "love", "loved", "loving", "lovely",
	"great", "awesome", "amazing", "nice", "cool", "good", "glad", "happy",
	"perfect", "brilliant", "excellent", "wonderful", "fantastic", "beautiful",
	"cute", "fun", "helpful", "appreciate", "appreciated", "enjoy", "enjoyed",
	"yay", "congrats", "congratulations", "proud", "sweet", "works", "worked",
	"fixed", "solved", "best", "exciting", "excited", "wow", "incredible",
	"delightful", "grateful", "thrilled", "yes", NULL,
};

static const char *const negative_words[] = {
	"hate", "hated", "awful", "terrible", "horrible", "bad", "worse", "worst",
	"sad", "angry", "mad", "annoyed", "annoying", "upset", "broken", "broke",
	"fail", "fails", "failed", "failing", "error", "crash", "crashed", "bug",
	"buggy", "wrong", "sucks", "stupid", "useless", "ugh", "wtf", "tired",
	"exhausted", "stressed", "hurt", "hurts", "lonely", "depressed",
	"frustrated", "frustrating", "disappointed", "disappointing", "boring",
	"sick", "scared", "worried", "afraid", "crying", "damn", "pointless",
	"ridiculous", "miserable", NULL,
};

static const char *const playful_words[] = {
	"lol", "lmao", "lmfao", "rofl", "haha", "hahaha", "hehe", "heh", "xd",
	"jk", "kidding", "teasing", "lul", "bruh", NULL,
};

static const char *const negators[] = {
	"not", "no", "never", "dont", "don't", "isnt", "isn't", "wasnt", "wasn't",
	"cant", "can't", "cannot", "wont", "won't", "doesnt", "doesn't", "didnt",
	"didn't", "aint", "ain't", "hardly", "nothing", "without", "arent",
	"aren't", "neither", "nor", NULL,
};

static const char *const question_openers[] = {
	"what", "why", "how", "when", "where", "who", "whom", "whose", "which", NULL,
};

/* Emoticons are matched case-sensitively as substrings; emoji by their
 * UTF-8 bytes (a trailing variation selector does not matter). */
static const char *const positive_marks[] = {
	":)", ":-)", "(:", "=)", ":D", "<3",
	"❤", "😊", "🙂", "😍", "🥰", "👍", "🎉", "✨", "💖", "💕", "🙏", "😄",
	"😁", "🥳", "💯", "🤗", "☺", NULL,
};

static const char *const negative_marks[] = {
	":(", ":-(", ":'(", "</3",
	"😢", "😭", "😡", "😠", "👎", "💔", "😞", "😔", "😩", "🙁", "☹", "😤",
	"🤬", "😫", "😒", NULL,
};

static const char *const playful_marks[] = {
	";)", ";-)", ":p", ":P", ";p", ";P", "xD", "XD",
	"😂", "🤣", "😜", "😝", "😆", "😹", "😛", "😏", "🙃", NULL,
};

/* Reactions on SEL's own messages.  Laughter counts as approval: on a
 * message from SEL it almost always means the joke landed. */
static const char *const accepting_reactions[] = {
	"👍", "❤", "😀", "🔥", "😍", "🥰", "💯", "🙌", "👏", "🎉", "✅", "😊",
	"💖", "💕", "💜", "💙", "💚", "💛", "🧡", "🤍", "⭐", "🌟", "😄", "😁",
	"🤩", "🫶", "🥹", "😂", "🤣", "😆", "🙏", "✨", "🤗", "😻", NULL,
};

static const char *const rejecting_reactions[] = {
	"👎", "😡", "😠", "🤬", "🙄", "😒", "🤮", "🤢", "💩", "❌", "😤", "😑",
	"🖕", "😞", "🚫", NULL,
};

#define WORD_MAX 32

static bool in_list(const char *const *list, const char *w)
{
	for (; *list; list++) {
		if (strcmp(*list, w) == 0)
			return true;
	}
	return false;
}

static unsigned count_marks(const char *const *list, const char *text)
{
	unsigned n = 0;

	for (; *list; list++) {
		size_t len = strlen(*list);

		for (const char *p = strstr(text, *list); p; p = strstr(p + len, *list))
			n++;
	}
	return n;
}

static bool word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '\'';
}

/* Words one by one: lowercased ASCII letters, digits and apostrophes (the
 * typographic ’ counts as one), quotes trimmed.  Longer words than WORD_MAX
 * are skipped.  *clause is set when punctuation that ends a clause came
 * before the word (it closes a negation window: "no, that's great").
 * Returns false at the end of the text. */
static bool next_word(const char **pp, char *w, bool *clause)
{
	const unsigned char *p = (const unsigned char *)*pp;

	*clause = false;
	for (;;) {
		size_t n = 0;
		bool too_long = false;

		while (*p && !word_byte(*p) && !(p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x99)) {
			if (strchr(",.;:!?", (char)*p))
				*clause = true;
			p++;
		}
		if (!*p)
			break;
		for (;;) {
			char c;

			if (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x99) {
				c = '\'';
				p += 3;
			} else if (word_byte(*p)) {
				c = (char)*p;
				if (c >= 'A' && c <= 'Z')
					c = (char)(c - 'A' + 'a');
				p++;
			} else {
				break;
			}
			if (n + 1 < WORD_MAX)
				w[n++] = c;
			else
				too_long = true;
		}
		while (n && w[n - 1] == '\'')
			n--;
		w[n] = '\0';
		{
			size_t lead = 0;

			while (w[lead] == '\'')
				lead++;
			if (lead)
				memmove(w, w + lead, n - lead + 1);
		}
		if (too_long || !w[0])
			continue;
		*pp = (const char *)p;
		return true;
	}
	*pp = (const char *)p;
	return false;
}

/* "haha", "hahahaha", "hehehe": laughter of any length. */
static bool is_laugh(const char *w)
{
	size_t n = strlen(w);

	if (n < 4 || (strncmp(w, "ha", 2) != 0 && strncmp(w, "he", 2) != 0))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (w[i] != (i % 2 == 0 ? 'h' : w[1]))
			return false;
	}
	return true;
}

static double clampd(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

bool mind_prefer_quick_read(size_t text_len, bool model_available)
{
	return !model_available || text_len <= MIND_QUICK_READ_MAX;
}

void mind_read_message(const char *text, struct hormones_stimulus *out)
{
	char w[WORD_MAX];
	const char *p;
	unsigned pos = 0, neg = 0, bangs = 0, codepoints = 0;
	bool playful = false, question = false, first = true;
	bool has_upper = false, has_lower = false, clause;
	int negate = 0;  /* words left in the current negation window */

	memset(out, 0, sizeof *out);
	out->sentiment = HORMONES_NEUTRAL;
	if (!text)
		text = "";

	for (p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '!' || c == '?')
			bangs++;
		if (c == '?')
			question = true;
		if (c >= 'A' && c <= 'Z')
			has_upper = true;
		if (c >= 'a' && c <= 'z')
			has_lower = true;
		if ((c & 0xC0) != 0x80)
			codepoints++;
	}

	p = text;
	while (next_word(&p, w, &clause)) {
		bool is_pos = in_list(positive_words, w);
		bool is_neg = in_list(negative_words, w);

		if (clause)
			negate = 0;
		if (first && in_list(question_openers, w))
			question = true;
		first = false;
		if (in_list(playful_words, w) || is_laugh(w))
			playful = true;
		if (in_list(negators, w)) {
			negate = 2;
			continue;
		}
		if (negate > 0) {
			bool t = is_pos;

			is_pos = is_neg;
			is_neg = t;
			negate--;
		}
		pos += is_pos;
		neg += is_neg;
	}
	pos += count_marks(positive_marks, text);
	neg += count_marks(negative_marks, text);
	if (count_marks(playful_marks, text))
		playful = true;

	if (pos > neg)
		out->sentiment = HORMONES_POSITIVE;
	else if (neg > pos)
		out->sentiment = HORMONES_NEGATIVE;

	/* The reference's intensity: a floor of 0.16, up to +0.35 for
	 * exclamation and question marks (0.08 each), up to +0.35 for feeling
	 * words (0.09 each, the stronger side), +0.12 for shouting in capitals;
	 * playful messages register at least 0.24. */
	out->intensity = 0.16 + fmin(0.35, 0.08 * bangs) +
			 fmin(0.35, 0.09 * (pos > neg ? pos : neg)) +
			 (has_upper && !has_lower && codepoints >= 5 ? 0.12 : 0.0);
	out->intensity = clampd(out->intensity, 0.05, 0.95);
	if (playful && out->intensity < 0.24)
		out->intensity = 0.24;
	out->playful = playful;
	out->question = question;
}

/* `e` is `lit` followed only by a variation selector (U+FE0F) or skin-tone
 * modifiers (U+1F3FB..U+1F3FF). */
static bool emoji_is(const char *e, const char *lit)
{
	size_t n = strlen(lit);
	const unsigned char *p;

	if (strncmp(e, lit, n) != 0)
		return false;
	for (p = (const unsigned char *)e + n; *p;) {
		if (p[0] == 0xEF && p[1] == 0xB8 && p[2] == 0x8F)
			p += 3;
		else if (p[0] == 0xF0 && p[1] == 0x9F && p[2] == 0x8F && p[3] >= 0xBB && p[3] <= 0xBF)
			p += 4;
		else
			return false;
	}
	return true;
}

enum hormones_reaction mind_reaction_kind(const char *emoji)
{
	if (!emoji || !*emoji)
		return HORMONES_REACTION_NONE;
	for (const char *const *l = accepting_reactions; *l; l++) {
		if (emoji_is(emoji, *l))
			return HORMONES_REACTION_ACCEPTED;
	}
	for (const char *const *l = rejecting_reactions; *l; l++) {
		if (emoji_is(emoji, *l))
			return HORMONES_REACTION_REJECTED;
	}
	return HORMONES_REACTION_NONE;
}
