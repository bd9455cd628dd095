/* scheduler.c — background jobs in priority order, one at a time, when idle.
 *
 * Design choice: one mutex guards all state, and no lock is held while a
 * job's due() or run() executes, so sched_foreground_begin() can always get
 * in and fire the running job's cancel token at once.  The job about to run
 * is published (s->running) in the same critical section that found it
 * eligible, so a foreground message either arrives before that section
 * (and the job is not started) or after it (and the job sees the cancel) —
 * there is no window in which a message is missed.  Ticks themselves are
 * serialised by a second mutex, so "one job at a time" holds even when a
 * test calls sched_run_tick() while the thread runs.
 *
 * Between ticks the thread waits on a condition variable on the monotonic
 * clock for tick_s, woken early by a kick or stop; it never sleeps blind. */
#include "sched/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#define TAG "sched"

struct job {
	struct sched_job_def def;
	char *name;
	size_t order;          /* registration order, for stable priority ties */
	bool has_done;         /* last_done_ms is meaningful */
	int64_t last_done_ms;  /* last run (or due check) that counts as done */
	/* DELAYED: the moment it may run once idle; 0 = waiting for idle. */
	int64_t ready_ms;
	struct sched_job_stats st;
};

struct sched {
	pthread_mutex_t mu;
	pthread_cond_t wake;       /* kicks, stop (thread waits here) */
	pthread_cond_t tick_done;  /* sched_wait_tick waits here */
	pthread_mutex_t tick_mu;   /* one tick at a time */
	struct sched_config cfg;
	struct job *jobs;
	size_t njobs, cap;
	/* guarded by mu */
	int64_t last_activity_ms;
	int64_t last_command_ms;
	int fg_active;
	struct job *running;
	struct cancel cancel;
	bool stop;
	bool started;
	uint64_t kicks;
	uint64_t ticks_started, ticks_done;
	uint64_t rng;
	pthread_t thread;
};

static int64_t now_ms(const struct sched *s)
{
	return s->cfg.now_ms ? s->cfg.now_ms(s->cfg.now_ctx) : clock_now_ms();
}

static int64_t secs_to_ms(double s)
{
	if (!(s > 0.0))
		return 0;
	if (s > 1e12)
		return (int64_t)1e15;
	return (int64_t)(s * 1000.0 + 0.5);
}

/* xorshift64*: jitter for DELAYED jobs; nothing secret about it. */
static double rand01(struct sched *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

struct sched *sched_new(const struct sched_config *cfg)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;

	s->cfg = *cfg;
	if (!(s->cfg.tick_s > 0.0))
		s->cfg.tick_s = 1.0;
	if (!(s->cfg.idle_s >= 0.0))
		s->cfg.idle_s = 0.0;
	s->rng = cfg->seed ? cfg->seed : (uint64_t)clock_mono_ms() * 0x9e3779b97f4a7c15ULL + 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->tick_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_cond_init(&s->tick_done, &ca);
	pthread_condattr_destroy(&ca);
	/* Start-up counts as activity: background work waits one idle
	 * threshold after launch, so the first minutes belong to the user. */
	s->last_activity_ms = now_ms(s);
	return s;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	sched_stop(s);
	for (size_t i = 0; i < s->njobs; i++)
		free(s->jobs[i].name);
	free(s->jobs);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->tick_done);
	pthread_mutex_destroy(&s->tick_mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

size_t sched_add(struct sched *s, const struct sched_job_def *def)
{
	struct job *j;
	size_t pos;

	KITH_ASSERT(def->run != NULL);
	pthread_mutex_lock(&s->mu);
	KITH_ASSERT(!s->started);
	s->jobs = xgrow(s->jobs, &s->cap, s->njobs + 1, sizeof(*s->jobs));
	j = &s->jobs[s->njobs];
	memset(j, 0, sizeof(*j));
	j->def = *def;
	j->name = xstrdup(def->name ? def->name : "job");
	j->def.name = j->name;
	pos = j->order = s->njobs++;
	pthread_mutex_unlock(&s->mu);
	return pos;
}

/* Jobs in priority order (ties: registration order), as indexes. */
static void by_priority(const struct sched *s, size_t *order)
{
	for (size_t i = 0; i < s->njobs; i++) {
		size_t k = i;

		while (k > 0 && s->jobs[order[k - 1]].def.priority > s->jobs[i].def.priority) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
}

static bool is_idle(const struct sched *s, int64_t now)
{
	return s->fg_active == 0 && now - s->last_activity_ms >= secs_to_ms(s->cfg.idle_s);
}

static bool interval_passed(const struct job *j, int64_t now)
{
	/* A clock that went backwards (a fake one, or NTP) counts as
	 * "passed" rather than stalling the job for the size of the jump. */
	return !j->has_done || now - j->last_done_ms >= secs_to_ms(j->def.interval_s) ||
	       now < j->last_done_ms;
}

/* May j start now?  Called with mu held; may advance a DELAYED job's
 * state. */
static bool eligible(struct sched *s, struct job *j, int64_t now, bool idle)
{
	switch (j->def.kind) {
	case SCHED_ALWAYS:
		return interval_passed(j, now);
	case SCHED_PERIODIC:
		return idle && interval_passed(j, now);
	case SCHED_DELAYED:
		if (!idle)
			return false;
		if (j->ready_ms == 0) {
			double lo = j->def.delay_min_s, hi = j->def.delay_max_s;

			if (hi < lo)
				hi = lo;
			j->ready_ms = now + secs_to_ms(lo + (hi - lo) * rand01(s));
			if (j->ready_ms == 0)
				j->ready_ms = 1;
		}
		return now >= j->ready_ms;
	}
	return false;
}

static void mark_done(struct job *j, int64_t now)
{
	j->has_done = true;
	j->last_done_ms = now;
	j->ready_ms = 0;  /* DELAYED: wait a fresh delay */
}

static const char *outcome_name(enum sched_outcome o)
{
	switch (o) {
	case SCHED_NO_WORK: return "no work";
	case SCHED_DID_WORK: return "did work";
	case SCHED_CANCELLED: return "cancelled";
	case SCHED_FAILED: return "failed";
	}
	return "?";
}

bool sched_run_tick(struct sched *s)
{
	size_t *order;
	bool ran = false;

	pthread_mutex_lock(&s->tick_mu);
	/* Settings changed at run time (/config) reach the jobs here. */
	if (s->cfg.before_tick)
		s->cfg.before_tick(s->cfg.before_tick_ctx);
	order = xcalloc(s->njobs ? s->njobs : 1, sizeof(*order));
	pthread_mutex_lock(&s->mu);
	s->ticks_started++;
	by_priority(s, order);
	for (size_t k = 0; k < s->njobs && !s->stop; k++) {
		struct job *j = &s->jobs[order[k]];
		int64_t now = now_ms(s);
		bool idle = is_idle(s, now), due = true, called = false;
		enum sched_outcome out;

		/* While a turn is in progress nothing starts, not even
		 * always-run jobs: the model is busy with the person. */
		if (s->fg_active > 0)
			break;
		if (!eligible(s, j, now, idle))
			continue;
		if (j->def.needs && s->cfg.budget &&
		    !sched_budget_allows(s->cfg.budget, j->def.needs, now, NULL))
			continue;
		s->running = j;
		cancel_clear(&s->cancel);
		pthread_mutex_unlock(&s->mu);

		if (j->def.due)
			due = j->def.due(j->def.ctx, now);
		if (!due) {
			out = SCHED_NO_WORK;
		} else if (cancel_requested(&s->cancel)) {
			out = SCHED_CANCELLED;  /* a message came in during the check */
		} else {
			out = j->def.run(j->def.ctx, &s->cancel);
			called = true;
		}

		pthread_mutex_lock(&s->mu);
		s->running = NULL;
		now = now_ms(s);
		if (called) {
			j->st.runs++;
			j->st.last_run_ms = now;
		}
		if (!due)
			j->st.not_due++;
		else if (out == SCHED_NO_WORK)
			j->st.no_work++;
		else if (out == SCHED_DID_WORK)
			j->st.did_work++;
		else if (out == SCHED_CANCELLED)
			j->st.cancelled++;
		else
			j->st.failed++;
		log_debug(TAG, "%s: %s", j->name, due ? outcome_name(out) : "nothing due");
		if (out == SCHED_CANCELLED) {
			/* Not marked done: the work is still pending and runs
			 * again on a later tick. */
			ran = true;
			break;
		}
		mark_done(j, now);
		if (out != SCHED_NO_WORK) {
			ran = true;
			break;
		}
	}
	s->ticks_done++;
	pthread_cond_broadcast(&s->tick_done);
	pthread_mutex_unlock(&s->mu);
	free(order);
	pthread_mutex_unlock(&s->tick_mu);
	return ran;
}

static void *thread_main(void *arg)
{
	struct sched *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		uint64_t seen = s->kicks;
		struct timespec until;
		int64_t tick_ms = secs_to_ms(s->cfg.tick_s);

		pthread_mutex_unlock(&s->mu);
		sched_run_tick(s);
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(tick_ms / 1000);
		until.tv_nsec += (long)(tick_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		/* A kick that arrived during the tick makes the loop go round
		 * again at once. */
		while (!s->stop && s->kicks == seen)
			if (pthread_cond_timedwait(&s->wake, &s->mu, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

void sched_set_idle(struct sched *s, double idle_s)
{
	pthread_mutex_lock(&s->mu);
	s->cfg.idle_s = idle_s >= 0.0 ? idle_s : 0.0;
	pthread_mutex_unlock(&s->mu);
}

void sched_set_tick(struct sched *s, double tick_s)
{
	pthread_mutex_lock(&s->mu);
	if (tick_s > 0.0)
		s->cfg.tick_s = tick_s;
	pthread_mutex_unlock(&s->mu);
}

void sched_set_interval(struct sched *s, size_t job, double interval_s)
{
	pthread_mutex_lock(&s->mu);
	if (job < s->njobs && interval_s >= 0.0)
		s->jobs[job].def.interval_s = interval_s;
	pthread_mutex_unlock(&s->mu);
}

enum kith_status sched_start(struct sched *s, char **why)
{
	double idle_s, tick_s;
	int rc;

	pthread_mutex_lock(&s->mu);
	if (s->started) {
		pthread_mutex_unlock(&s->mu);
		return kith_why(why, KITH_EINVAL, "scheduler already started");
	}
	s->stop = false;
	s->started = true;
	/* Read before the thread exists: it may change them (sched_set_*). */
	idle_s = s->cfg.idle_s;
	tick_s = s->cfg.tick_s;
	pthread_mutex_unlock(&s->mu);
	rc = pthread_create(&s->thread, NULL, thread_main, s);
	if (rc != 0) {
		pthread_mutex_lock(&s->mu);
		s->started = false;
		pthread_mutex_unlock(&s->mu);
		return kith_why(why, KITH_EIO, "cannot start the scheduler thread: %s", strerror(rc));
	}
	log_info(TAG, "started: %zu jobs, idle after %.0f s, tick %.2f s", s->njobs, idle_s, tick_s);
	return KITH_OK;
}

void sched_stop(struct sched *s)
{
	bool join;

	pthread_mutex_lock(&s->mu);
	join = s->started && !s->stop;
	s->stop = true;
	if (s->running)
		cancel_request(&s->cancel);
	pthread_cond_broadcast(&s->wake);
	pthread_cond_broadcast(&s->tick_done);
	pthread_mutex_unlock(&s->mu);
	if (join)
		pthread_join(s->thread, NULL);
}

uint64_t sched_kick(struct sched *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	s->kicks++;
	/* The tick in progress (if any) may have read its state already;
	 * the next one to start is the first guaranteed to see ours. */
	n = s->ticks_started + 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
	return n;
}

bool sched_wait_tick(struct sched *s, uint64_t n, int64_t timeout_ms)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(timeout_ms / 1000);
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->ticks_done < n && !s->stop)
		if (pthread_cond_timedwait(&s->tick_done, &s->mu, &until) == ETIMEDOUT)
			break;
	ok = s->ticks_done >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

void sched_foreground_begin(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	s->fg_active++;
	s->last_activity_ms = now_ms(s);
	if (s->running) {
		/* At once: the model is needed for the person now.  The job
		 * returns SCHED_CANCELLED and is retried on a later tick. */
		cancel_request(&s->cancel);
		log_debug(TAG, "foreground message: cancelling %s", s->running->name);
	}
	/* Penny's reset(): periodic jobs start afresh once idle again, and
	 * delayed jobs draw a new delay. */
	for (size_t i = 0; i < s->njobs; i++) {
		struct job *j = &s->jobs[i];

		if (j->def.kind == SCHED_PERIODIC)
			j->has_done = false;
		if (j->def.kind == SCHED_DELAYED && j != s->running)
			j->ready_ms = 0;
	}
	pthread_mutex_unlock(&s->mu);
}

void sched_foreground_end(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->fg_active > 0)
		s->fg_active--;
	s->last_activity_ms = now_ms(s);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

void sched_note_foreground(struct sched *s)
{
	sched_foreground_begin(s);
	sched_foreground_end(s);
}

void sched_note_command(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	s->last_command_ms = now_ms(s);
	pthread_mutex_unlock(&s->mu);
}

void sched_job_stats(struct sched *s, size_t job, struct sched_job_stats *out)
{
	pthread_mutex_lock(&s->mu);
	KITH_ASSERT(job < s->njobs);
	*out = s->jobs[job].st;
	pthread_mutex_unlock(&s->mu);
}

/* snprintf into out at *len, keeping the total length needed. */
static void appendf(char *out, size_t cap, size_t *len, const char *fmt, ...)
	KITH_PRINTF(4, 5);
static void appendf(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*len < cap ? out + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

/* "4m05s", "2h10m", "3d4h". */
static void fmt_span(int64_t ms, char *buf, size_t cap)
{
	int64_t s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, cap, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, cap, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, cap, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, cap, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static const char *kind_name(enum sched_kind k)
{
	return k == SCHED_ALWAYS ? "always" : k == SCHED_PERIODIC ? "idle" : "delayed";
}

size_t sched_status(struct sched *s, char *out, size_t cap)
{
	size_t len = 0, *order;
	int64_t now;
	char a[32], b[32];

	if (cap)
		out[0] = '\0';
	pthread_mutex_lock(&s->mu);
	now = now_ms(s);
	order = xcalloc(s->njobs ? s->njobs : 1, sizeof(*order));
	by_priority(s, order);
	fmt_span(now - s->last_activity_ms, a, sizeof(a));
	fmt_span(secs_to_ms(s->cfg.idle_s), b, sizeof(b));
	appendf(out, cap, &len, "scheduler: %s (last message %s ago, idle after %s)",
		s->fg_active ? "busy with a message" : is_idle(s, now) ? "idle" : "waiting for idle",
		a, b);
	if (s->running)
		appendf(out, cap, &len, ", running %s", s->running->name);
	appendf(out, cap, &len, "\n");
	for (size_t k = 0; k < s->njobs; k++) {
		const struct job *j = &s->jobs[order[k]];

		if (j->def.kind == SCHED_DELAYED)
			snprintf(b, sizeof(b), "%g-%gs", j->def.delay_min_s, j->def.delay_max_s);
		else
			fmt_span(secs_to_ms(j->def.interval_s), b, sizeof(b));
		if (j->st.last_run_ms)
			fmt_span(now - j->st.last_run_ms, a, sizeof(a));
		appendf(out, cap, &len,
			"  %-12s %-7s every %-7s last run %s%s  runs %llu (work %llu, none %llu, "
			"cancelled %llu, failed %llu), nothing due %llu\n",
			j->name, kind_name(j->def.kind), b, j->st.last_run_ms ? a : "never",
			j->st.last_run_ms ? " ago" : "", (unsigned long long)j->st.runs,
			(unsigned long long)j->st.did_work, (unsigned long long)j->st.no_work,
			(unsigned long long)j->st.cancelled, (unsigned long long)j->st.failed,
			(unsigned long long)j->st.not_due);
	}
	pthread_mutex_unlock(&s->mu);
	free(order);
	if (s->cfg.budget) {
		char line[256];

		sched_budget_status(s->cfg.budget, now, line, sizeof(line));
		appendf(out, cap, &len, "%s\n", line);
	}
	return len;
}
