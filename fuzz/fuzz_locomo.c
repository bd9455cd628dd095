/* fuzz_locomo.c — the LoCoMo loader and metric on arbitrary bytes.
 *
 * Whatever locomo_parse() accepts must be internally consistent (every
 * string present, evidence ids canonical) and scorable: each question is
 * scored against the conversation's own turns, in order, at a few cut-offs,
 * and every mean must lie in [0, 1]. */
#include "memory/locomo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_conv(const struct locomo_conv *c, struct locomo_score *s)
{
	const char **ids = calloc(c->nturns ? c->nturns : 1, sizeof(*ids));

	if (!ids || !c->id)
		abort();
	for (size_t i = 0; i < c->nturns; i++) {
		const struct locomo_turn *t = &c->turns[i];

		if (!t->dia_id || !t->speaker || !t->text || locomo_session_of(t->dia_id) < 0)
			abort();
		ids[i] = t->dia_id;
	}
	for (size_t i = 0; i < c->nqs; i++) {
		const struct locomo_question *q = &c->qs[i];

		if (!q->question || q->category < 0 || q->category > LOCOMO_CATEGORIES)
			abort();
		for (size_t j = 0; j < q->nevidence; j++)
			if (locomo_session_of(q->evidence[j]) < 0)
				abort();
		locomo_score_add(s, q, ids, c->nturns);
	}
	free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ks[] = { 1, 5, 50 };
	struct locomo *l = NULL;
	struct locomo_score s;
	char *why = NULL;
	int64_t ms;

	if (locomo_parse((const char *)data, size, &l, &why) != KITH_OK) {
		if (!why)
			abort();   /* every failure explains itself */
		free(why);
	} else {
		locomo_score_init(&s, ks, 3);
		for (size_t i = 0; i < l->n; i++)
			check_conv(&l->convs[i], &s);
		for (int cat = 0; cat <= LOCOMO_CATEGORIES; cat++)
			for (size_t k = 0; k < s.nk; k++) {
				double r = locomo_score_mean(&s, cat, k, false);
				double x = locomo_score_mean(&s, cat, k, true);
				if (!(r >= 0 && r <= 1) || !(x >= 0 && x <= 1))
					abort();
			}
		locomo_free(l);
	}
	/* the date parser on the raw bytes, NUL-terminated */
	char *str = malloc(size + 1);
	if (!str)
		abort();
	memcpy(str, data, size);
	str[size] = '\0';
	(void)locomo_parse_date(str, &ms);
	(void)locomo_session_of(str);
	free(str);
	return 0;
}
