/* schedules.h — user cron schedules: the ScheduleExecutor job and the
 * parsing shared with /schedule (docs/schedules.md).
 *
 * A schedule is a cron expression in the person's time zone plus a prompt.
 * When it fires, the prompt runs as a full conversation turn (agent_turn,
 * as if the person had written it) in the conversation where the schedule
 * was made, and the reply goes back there through a send callback.
 *
 * Firing is at most once per occurrence: the row is marked fired before the
 * turn starts, so a crash, a cancel by a foreground message or a failed turn
 * never runs it twice — it is simply lost until the next occurrence.  Missed
 * occurrences are not replayed: only an occurrence in the last
 * SCHEDULE_LOOKBACK_MS (or since the last firing, whichever is later) fires,
 * so a restart after a day away does not send a day of reminders. */
#ifndef KITH_KNOWLEDGE_SCHEDULES_H
#define KITH_KNOWLEDGE_SCHEDULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"
#include "sched/scheduler.h"

struct agent_deps;
struct store;
struct tool_out;
struct tz;

/* How far back an occurrence may lie and still fire (a restart or a busy
 * scheduler); older ones are skipped. */
#define SCHEDULE_LOOKBACK_MS (2 * 60 * 1000)
/* No schedule may fire more often than this (seconds between firings). */
#define SCHEDULE_MIN_INTERVAL_S 300
/* Caps on what is stored. */
#define SCHEDULE_PROMPT_MAX 1000
#define SCHEDULE_TIMING_MAX 200

/* ---- parsing (used by /schedule; fuzzed by fuzz/fuzz_schedule.c) --------- */

/* The util model's answer to "when and what?".  Owned strings; fields the
 * answer lacked are NULL. */
struct schedule_answer {
	char *timing;   /* timing_description: "every weekday at 9:00" */
	char *prompt;   /* prompt_text: "what's the weather" */
	char *cron;     /* cron_expression, whitespace collapsed: "0 9 * * 1-5" */
};

/* Read the model's reply: the first '{' to the last '}' of p[0..n) as a
 * JSON object with string fields timing_description, prompt_text and
 * cron_expression (code fences and prose around it are ignored).  Strings
 * are trimmed, control characters become spaces, and each is cut at its cap
 * on a UTF-8 boundary; empty ones come back NULL.  KITH_EPROTO (and *why,
 * optional, caller frees) when there is no object; nothing is validated
 * here — see schedule_check_cron.  Release *out even on failure. */
enum kith_status schedule_parse_answer(const char *p, size_t n, struct schedule_answer *out,
				       char **why) KITH_MUST_CHECK;
void schedule_answer_release(struct schedule_answer *a);

/* The offline form "0 9 * * 1-5 tell me the news": true when the first five
 * whitespace-separated words of `text` form a cron expression cron_parse
 * accepts and something follows them.  *cron (caller frees) receives the
 * five fields joined by single spaces, *rest points into `text` at the
 * first non-space after them.  On false both are NULL. */
bool schedule_split_cron(const char *text, char **cron, const char **rest);

/* Is `cron` fit to save?  Exactly five fields, accepted by cron_parse, and
 * never two firings less than SCHEDULE_MIN_INTERVAL_S apart (checked over
 * the next eight days of firings in `tz`, NULL = UTC, from `now_s`).
 * KITH_EINVAL with *why (caller frees) saying what is wrong in words for
 * the person. */
enum kith_status schedule_check_cron(const char *cron, const struct tz *tz, int64_t now_s,
				     char **why) KITH_MUST_CHECK;

/* ---- the executor (a scheduler job) -------------------------------------- */

struct schedule_executor_deps {
	/* The scheduler thread's own connection; borrowed. */
	struct store *st;
	/* Runs the prompt (agent_turn); borrowed. */
	const struct agent_deps *agent;
	/* Deliver a reply to a conversation with what the tools found
	 * (attachments; `found` may be NULL).  Returns 0 on success; a
	 * failure is logged and the schedule stays fired. */
	int (*send)(void *ud, const char *channel, const char *conversation, const char *text,
		    const struct tool_out *found);
	void *ud;
	/* "Now" in Unix ms; NULL = clock_now_ms. */
	int64_t (*now_ms)(void *ctx);
	void *now_ctx;
};

struct schedule_executor;

/* Copies *deps (the pointers in it stay borrowed).  Free with
 * schedule_executor_free. */
struct schedule_executor *schedule_executor_new(const struct schedule_executor_deps *deps);
void schedule_executor_free(struct schedule_executor *ex);

/* Scheduler due callback: is any schedule's occurrence in its window?  One
 * query, no model; time zones are cached in the executor.  Both callbacks
 * must run on one thread (the scheduler's). */
bool schedule_executor_due(void *ctx, int64_t now_ms);

/* Scheduler run callback: every due schedule is marked fired, then run and
 * its reply sent; one schedule failing is logged and the rest still run.
 * SCHED_DID_WORK when a turn ran, SCHED_NO_WORK when nothing was due (or
 * only schedules without a conversation, which are skipped with a log line),
 * SCHED_CANCELLED when the cancel token fired (the interrupted schedule is
 * not re-run: it was already marked fired), SCHED_FAILED when the store
 * could not be read. */
enum sched_outcome schedule_executor_run(void *ctx, const struct cancel *cancel);

#endif
