/* locomo.h — the LoCoMo benchmark (Maharana et al., ACL 2024): loading its
 * JSON, and the paper's retrieval metric; locomo_run() answers every
 * question with memory_recall over its own conversation.
 *
 * The loader takes a buffer (it parses outside input; fuzz/fuzz_locomo.c)
 * and copies what it keeps.  Evidence strings are normalised explicitly:
 * "D8:6; D9:17" is split into two ids, pieces that are not of the form
 * D<session>:<turn> are dropped, and ids of turns the conversation does not
 * have are kept (they can never be retrieved, so they lower recall, as they
 * would for any retriever) — each case is counted in struct locomo_stats.
 * Questions left without any evidence are skipped by the metric. */
#ifndef KITH_MEMORY_LOCOMO_H
#define KITH_MEMORY_LOCOMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct embedder;

#define LOCOMO_CATEGORIES 5   /* 1 multi-hop, 2 temporal, 3 open-domain,
			       * 4 single-hop, 5 adversarial */
#define LOCOMO_MAX_K 8        /* cut-offs per evaluation */
#define LOCOMO_K_MAX 256      /* largest cut-off */

struct locomo_turn {
	char *dia_id;         /* "D3:12" */
	int session;          /* 3 */
	char *speaker;
	char *text;           /* with "[shares a photo: <caption>]" when it has one */
	int64_t at_ms;        /* the session's date, epoch ms UTC; 0 = unknown */
};

struct locomo_question {
	char *question;
	int category;         /* 1..5; 0 = missing or unknown */
	char **evidence;      /* normalised, distinct dia_ids */
	size_t nevidence;
};

struct locomo_conv {
	char *id;             /* sample_id, or "conv-<index>" */
	char *speaker_a, *speaker_b;
	struct locomo_turn *turns;
	size_t nturns;
	struct locomo_question *qs;
	size_t nqs;
};

struct locomo_stats {
	size_t split;         /* evidence strings holding several ids */
	size_t invalid;       /* evidence pieces that are no dia_id (dropped) */
	size_t repaired;      /* "D:11:26" read as D11:26 */
	size_t missing;       /* evidence ids of no turn (kept, never retrievable) */
	size_t no_evidence;   /* questions without usable evidence (skipped) */
	size_t bad_dates;     /* session dates that did not parse */
	size_t bad_turns;     /* turns without dia_id, speaker or text (dropped) */
};

struct locomo {
	struct locomo_conv *convs;
	size_t n;
	struct locomo_stats stats;
};

/* Parse a LoCoMo file's bytes.  *why on malformed JSON or a shape that is
 * not a list of samples. */
enum kith_status locomo_parse(const char *buf, size_t len, struct locomo **out,
			      char **why) KITH_MUST_CHECK;
void locomo_free(struct locomo *l);

/* "1:56 pm on 8 May, 2023" → epoch ms UTC; false when it does not parse. */
bool locomo_parse_date(const char *s, int64_t *ms);
/* The session number of "D<n>:<k>", or -1. */
int locomo_session_of(const char *dia_id);

/* The metric: recall@k = |evidence ∩ top-k turns| / |evidence| and
 * session recall@k = |evidence sessions ∩ sessions of the top-k turns| /
 * |evidence sessions|, each averaged over questions; [0] is overall,
 * [1..5] the categories. */
struct locomo_score {
	int ks[LOCOMO_MAX_K];
	size_t nk;
	size_t count[LOCOMO_CATEGORIES + 1];
	double recall[LOCOMO_CATEGORIES + 1][LOCOMO_MAX_K];   /* sums */
	double session[LOCOMO_CATEGORIES + 1][LOCOMO_MAX_K];  /* sums */
	size_t skipped;                                      /* no evidence */
};

void locomo_score_init(struct locomo_score *s, const int *ks, size_t nk);
/* Score one question against its retrieved dia_ids, best first. */
void locomo_score_add(struct locomo_score *s, const struct locomo_question *q,
		      const char *const *retrieved, size_t n);
/* Mean recall (session = false) or session recall of category cat (0 =
 * overall) at ks[ki], in [0, 1]; 0 when no question counted. */
double locomo_score_mean(const struct locomo_score *s, int cat, size_t ki, bool session);

struct locomo_run_options {
	struct embedder *embedder;  /* borrowed */
	const char *tmp_dir;        /* where per-conversation stores go; NULL = $TMPDIR or /tmp */
	int category;               /* only this category; 0 = all */
	void (*progress)(const char *conv, size_t done, size_t total, void *ud);
	void *ud;
};

/* For each conversation: a fresh memory in a temporary directory (removed
 * after), every turn stored as a memory of its speaker dated by its
 * session, then every question recalled (relevance only) and scored.
 * `score` must be initialised with the cut-offs. */
enum kith_status locomo_run(const struct locomo *l, const struct locomo_run_options *o,
			    struct locomo_score *score, char **why) KITH_MUST_CHECK;

#endif
