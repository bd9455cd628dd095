/* scheduler.h — the background scheduler: one job at a time, by priority,
 * only when the person is not talking to us.
 *
 * Jobs are registered once with a priority (lower runs first; the seed's
 * order is schedule executor → notifications → extraction → events →
 * learn → enrichment), a kind, an optional cheap "anything due?" check and
 * a run callback.  Each tick walks the jobs in priority order and runs the
 * first eligible one; a job that finds nothing to do (its due check says
 * no, or it returns SCHED_NO_WORK) lets the next one try in the same tick,
 * and a job that did work ends the tick.
 *
 * Kinds (Penny's schedule types):
 *  - SCHED_ALWAYS: every interval, idle or not (user cron schedules);
 *  - SCHED_PERIODIC: every interval, but only once the system is idle —
 *    no foreground message for IDLE_SECONDS (the knowledge pipeline);
 *  - SCHED_DELAYED: once idle, after a random delay in [min, max].
 *
 * A foreground message (sched_foreground_begin) cancels the running job at
 * once through its cancel token.  The job returns SCHED_CANCELLED, is not
 * marked done, and runs again on a later idle tick: its unprocessed work is
 * still there, so nothing is lost and nothing is done twice.  Slash
 * commands are not foreground activity (sched_note_command only records
 * them): they do not need the model, so background work carries on.
 *
 * The scheduler owns one thread that waits on a condition variable between
 * ticks (woken early by sched_kick and sched_stop).  "Now" comes from the
 * config's clock (default clock_now_ms), so tests drive it with a fake
 * clock: advance it, sched_kick(), sched_wait_tick().  sched_run_tick()
 * runs a tick on the calling thread for fully deterministic tests.
 *
 * Proactive work (LLM calls and messages nobody asked for) is also bounded
 * by a daily budget with optional active hours (struct sched_budget), which
 * the scheduler checks before running a job that declares it needs one.
 * docs/scheduler.md describes all of it. */
#ifndef KITH_SCHED_SCHEDULER_H
#define KITH_SCHED_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"

struct tz;

/* ---- daily budget for proactive work ------------------------------------- */

enum sched_spend {
	SCHED_SPEND_LLM = 1u << 0,      /* one model call made on our own initiative */
	SCHED_SPEND_MESSAGE = 1u << 1,  /* one message nobody asked for */
};

struct sched_budget_config {
	int llm_calls_per_day;  /* PROACTIVE_DAILY_LLM_CALLS; negative = unlimited */
	int messages_per_day;   /* PROACTIVE_DAILY_MESSAGES; negative = unlimited */
	/* Active hours for messages, minutes after local midnight; from ==
	 * to means all day, from > to wraps midnight (22:00-07:00). */
	int active_from_min, active_to_min;
	const struct tz *tz;    /* local days and hours; NULL = UTC; borrowed */
};

/* Thread-safe: jobs spend from the scheduler thread while /debug reads. */
struct sched_budget;

/* Caller frees with sched_budget_free. */
struct sched_budget *sched_budget_new(const struct sched_budget_config *cfg);
void sched_budget_free(struct sched_budget *b);
/* New limits and active hours (the zone stays); today's counts are kept. */
void sched_budget_set_limits(struct sched_budget *b, int llm_calls_per_day, int messages_per_day,
			     int active_from_min, int active_to_min);

/* "08:00-22:00", "8-22", "22:30-07:00"; "" or NULL: all day. */
enum kith_status sched_parse_active_hours(const char *spec, int *from_min, int *to_min,
					  char **why) KITH_MUST_CHECK;

/* May work that needs `needs` (SCHED_SPEND_* bits) start now?  Messages
 * also need the local time inside the active hours.  Counts reset at local
 * midnight.  *why_not (optional) gets a static phrase when not. */
bool sched_budget_allows(struct sched_budget *b, unsigned needs, int64_t now_ms,
			 const char **why_not);
/* Check and count one unit of `what` (one SCHED_SPEND_* bit): false, and
 * nothing counted, when the day's allowance is used up (or, for a message,
 * outside active hours).  Call before each proactive LLM call or send. */
bool sched_budget_take(struct sched_budget *b, enum sched_spend what, int64_t now_ms);
/* Used today: */
void sched_budget_used(struct sched_budget *b, int64_t now_ms, int *llm_calls, int *messages);
/* One line for /debug: "proactive budget 2024-03-31: LLM calls 3/200,
 * messages 1/10, active hours 08:00-22:00 (open)".  snprintf contract. */
size_t sched_budget_status(struct sched_budget *b, int64_t now_ms, char *out, size_t cap);

/* ---- scheduler ------------------------------------------------------------ */

enum sched_kind {
	SCHED_ALWAYS,
	SCHED_PERIODIC,
	SCHED_DELAYED,
};

/* The seed's order, with room between; SEL's periodic jobs (hormone decay,
 * inactivity pings, memory consolidation) go after Penny's. */
enum sched_priority {
	SCHED_PRIO_SCHEDULES = 10,    /* user cron schedules (ScheduleExecutor) */
	SCHED_PRIO_NOTIFY = 20,       /* proactive notifications */
	SCHED_PRIO_EXTRACT = 30,      /* entity/fact extraction */
	SCHED_PRIO_EVENTS = 40,       /* followed news */
	SCHED_PRIO_LEARN = 50,        /* /learn searches */
	SCHED_PRIO_ENRICH = 60,       /* enrichment research */
	SCHED_PRIO_MAINTENANCE = 70,  /* SEL: hormones, pings, consolidation */
};

enum sched_outcome {
	SCHED_NO_WORK,    /* nothing to do: the next job may run in this tick */
	SCHED_DID_WORK,   /* did something: the tick ends */
	SCHED_CANCELLED,  /* stopped by the cancel token: not done, retried later */
	SCHED_FAILED,     /* failed (the job logs why): counts as done, tick ends */
};

struct sched_job_def {
	const char *name;       /* copied; shown in /debug */
	int priority;           /* lower first; ties keep registration order */
	enum sched_kind kind;
	double interval_s;      /* ALWAYS, PERIODIC: least seconds between runs */
	double delay_min_s;     /* DELAYED: wait uniform(min, max) after idle */
	double delay_max_s;
	unsigned needs;         /* SCHED_SPEND_* bits checked against the budget */
	/* Optional, cheap and deterministic (a query, no model): is anything
	 * due?  false counts like SCHED_NO_WORK.  Runs on the scheduler
	 * thread. */
	bool (*due)(void *ctx, int64_t now_ms);
	/* The work.  Must poll `cancel` between steps (and hand it to the
	 * HTTP/LLM layer) and return SCHED_CANCELLED when it fires. */
	enum sched_outcome (*run)(void *ctx, const struct cancel *cancel);
	void *ctx;
};

struct sched_config {
	double idle_s;               /* IDLE_SECONDS (60) */
	double tick_s;               /* SCHEDULER_TICK_INTERVAL (1.0); tests 0.01 */
	int64_t (*now_ms)(void *ctx);  /* NULL: clock_now_ms */
	void *now_ctx;
	struct sched_budget *budget; /* optional, borrowed */
	uint64_t seed;               /* DELAYED jitter; 0 picks one */
	/* Called at the start of every tick on the ticking thread, before any
	 * job is looked at (settings changed at run time are applied here);
	 * NULL = none.  It may call the sched_set_* functions. */
	void (*before_tick)(void *ctx);
	void *before_tick_ctx;
};

struct sched;

/* Caller frees with sched_free (which stops the thread first). */
struct sched *sched_new(const struct sched_config *cfg);
void sched_free(struct sched *s);

/* Register a job (before sched_start).  Returns its index for
 * sched_job_stats. */
size_t sched_add(struct sched *s, const struct sched_job_def *def);

/* Change timing while running (Penny's /config): the idle threshold, the
 * tick, and a job's interval (index from sched_add).  Thread-safe. */
void sched_set_idle(struct sched *s, double idle_s);
void sched_set_tick(struct sched *s, double tick_s);
void sched_set_interval(struct sched *s, size_t job, double interval_s);
/* Start / stop the scheduler thread.  Stop cancels the running job and
 * waits for it to return; safe to call twice. */
enum kith_status sched_start(struct sched *s, char **why) KITH_MUST_CHECK;
void sched_stop(struct sched *s);

/* Wake the thread for a tick now.  Returns the number of the tick that
 * will see everything done before the call (for sched_wait_tick). */
uint64_t sched_kick(struct sched *s);
/* Wait (condition variable, no polling) until tick number n has finished
 * or timeout_ms passes; true if it finished. */
bool sched_wait_tick(struct sched *s, uint64_t n, int64_t timeout_ms);
/* Run one tick on this thread (serialised with the scheduler thread's).
 * Returns true if a job ran (any outcome but "nothing to do"). */
bool sched_run_tick(struct sched *s);

/* A user message arrived and a turn starts: the idle clock restarts, the
 * running job is cancelled, periodic jobs are reset, and no background job
 * starts until sched_foreground_end. */
void sched_foreground_begin(struct sched *s);
/* The turn finished (replied or failed): the idle clock restarts now. */
void sched_foreground_end(struct sched *s);
/* Both at once, for a caller that does not track the turn. */
void sched_note_foreground(struct sched *s);
/* A slash command ran: recorded for /debug only — it neither cancels
 * background work nor delays it. */
void sched_note_command(struct sched *s);

/* Counters for one job (tests, /debug). */
struct sched_job_stats {
	uint64_t runs;        /* run() calls */
	uint64_t did_work, no_work, cancelled, failed;
	uint64_t not_due;     /* due() said no */
	int64_t last_run_ms;  /* when run() last returned; 0 = never */
};
void sched_job_stats(struct sched *s, size_t job, struct sched_job_stats *out);

/* Multi-line text for /debug: idle state, the running job, and per job its
 * kind, interval, last run and counters.  snprintf contract. */
size_t sched_status(struct sched *s, char *out, size_t cap);

#endif
