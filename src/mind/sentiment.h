/* sentiment.h — a cheap reading of a message when the utility model is not
 * there (or the message is too short to be worth a model call).
 *
 * Word lists with a two-word negation window, emoticons and emoji, and the
 * reference's intensity formula (digest §3.10, _quick_classify_message):
 * punctuation, how many feeling words, ALL CAPS.  It fills the same
 * struct hormones_stimulus the model's classification would, so the
 * hormone math does not care which one read the message.  Pure: text in,
 * numbers out. */
#ifndef KITH_MIND_SENTIMENT_H
#define KITH_MIND_SENTIMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "mind/hormones.h"

/* Messages up to this many bytes are read by the heuristic even when the
 * model is available (the reference's threshold). */
#define MIND_QUICK_READ_MAX 90

/* Whether to use mind_read_message() instead of the utility model. */
bool mind_prefer_quick_read(size_t text_len, bool model_available);

/* Fill sentiment, intensity, playful and question from `text` (UTF-8, may
 * be NULL); novel and addressed are set false for the caller to decide. */
void mind_read_message(const char *text, struct hormones_stimulus *out);

/* What a reaction emoji on SEL's message means.  `emoji` is the reaction's
 * UTF-8 (custom emoji: their name).  Anything not clearly approving or
 * disapproving is HORMONES_REACTION_NONE — unlike the reference, which took
 * every unlisted emoji (😂 included) as rejection. */
enum hormones_reaction mind_reaction_kind(const char *emoji);

#endif
