/* budget.c — the daily allowance for proactive work, and active hours.
 *
 * Design choice: count, per local calendar day in the owner's zone, the
 * LLM calls and messages made on kith's own initiative, and refuse more
 * once the day's allowance is spent; counts reset at local midnight, not
 * 24 hours after the first call, so "10 messages a day" means what a
 * person thinks it means.  Active hours gate messages only: research in
 * the night is fine, a ping at 3 a.m. is not.  The counts live in memory:
 * a restart forgets them, which at worst allows one more day's allowance
 * on a day with a restart (the store can persist them later if that
 * matters). */
#include "sched/scheduler.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/tz.h"

struct sched_budget {
	pthread_mutex_t mu;
	struct sched_budget_config cfg;
	int64_t day;  /* local day number the counts belong to */
	int llm_calls, messages;
};

struct sched_budget *sched_budget_new(const struct sched_budget_config *cfg)
{
	struct sched_budget *b = xcalloc(1, sizeof(*b));

	pthread_mutex_init(&b->mu, NULL);
	b->cfg = *cfg;
	b->day = INT64_MIN;
	return b;
}

void sched_budget_free(struct sched_budget *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void sched_budget_set_limits(struct sched_budget *b, int llm_calls_per_day, int messages_per_day,
			     int active_from_min, int active_to_min)
{
	pthread_mutex_lock(&b->mu);
	b->cfg.llm_calls_per_day = llm_calls_per_day;
	b->cfg.messages_per_day = messages_per_day;
	b->cfg.active_from_min = active_from_min;
	b->cfg.active_to_min = active_to_min;
	pthread_mutex_unlock(&b->mu);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Local day number and minute of the day. */
static void local_day(const struct sched_budget *b, int64_t now_ms, int64_t *day, int *minute,
		      struct tm *tm)
{
	int64_t secs = floor_div(now_ms, 1000), wall;
	long off = 0;

	if (b->cfg.tz) {
		tz_localtime(b->cfg.tz, secs, tm, &off, NULL);
	} else {
		time_t t = (time_t)secs;

		gmtime_r(&t, tm);
	}
	wall = secs + off;
	*day = floor_div(wall, 86400);
	*minute = (int)((wall - *day * 86400) / 60);
}

/* Called with mu held: start a new day's counts when the day changed. */
static void roll(struct sched_budget *b, int64_t day)
{
	if (day != b->day) {
		b->day = day;
		b->llm_calls = 0;
		b->messages = 0;
	}
}

static bool in_active_hours(const struct sched_budget *b, int minute)
{
	int from = b->cfg.active_from_min, to = b->cfg.active_to_min;

	if (from == to)
		return true;
	if (from < to)
		return minute >= from && minute < to;
	return minute >= from || minute < to;  /* wraps midnight */
}

static bool left(int used, int limit)
{
	return limit < 0 || used < limit;
}

/* With mu held. */
static bool allows_locked(struct sched_budget *b, unsigned needs, int64_t now_ms,
			  const char **why_not)
{
	int64_t day;
	int minute;
	struct tm tm;
	const char *why = NULL;

	local_day(b, now_ms, &day, &minute, &tm);
	roll(b, day);
	if ((needs & SCHED_SPEND_LLM) && !left(b->llm_calls, b->cfg.llm_calls_per_day))
		why = "daily LLM call budget used up";
	else if ((needs & SCHED_SPEND_MESSAGE) && !left(b->messages, b->cfg.messages_per_day))
		why = "daily message budget used up";
	else if ((needs & SCHED_SPEND_MESSAGE) && !in_active_hours(b, minute))
		why = "outside active hours";
	if (why_not)
		*why_not = why;
	return why == NULL;
}

bool sched_budget_allows(struct sched_budget *b, unsigned needs, int64_t now_ms,
			 const char **why_not)
{
	bool ok;

	pthread_mutex_lock(&b->mu);
	ok = allows_locked(b, needs, now_ms, why_not);
	pthread_mutex_unlock(&b->mu);
	return ok;
}

bool sched_budget_take(struct sched_budget *b, enum sched_spend what, int64_t now_ms)
{
	bool ok;

	pthread_mutex_lock(&b->mu);
	ok = allows_locked(b, (unsigned)what, now_ms, NULL);
	if (ok && what == SCHED_SPEND_LLM)
		b->llm_calls++;
	else if (ok && what == SCHED_SPEND_MESSAGE)
		b->messages++;
	pthread_mutex_unlock(&b->mu);
	return ok;
}

void sched_budget_used(struct sched_budget *b, int64_t now_ms, int *llm_calls, int *messages)
{
	int64_t day;
	int minute;
	struct tm tm;

	pthread_mutex_lock(&b->mu);
	local_day(b, now_ms, &day, &minute, &tm);
	roll(b, day);
	if (llm_calls)
		*llm_calls = b->llm_calls;
	if (messages)
		*messages = b->messages;
	pthread_mutex_unlock(&b->mu);
}

static void fmt_limit(char *buf, size_t cap, int used, int limit)
{
	if (limit < 0)
		snprintf(buf, cap, "%d (no limit)", used);
	else
		snprintf(buf, cap, "%d/%d", used, limit);
}

size_t sched_budget_status(struct sched_budget *b, int64_t now_ms, char *out, size_t cap)
{
	int64_t day;
	int minute, n;
	struct tm tm;
	char calls[32], msgs[32], hours[48];

	pthread_mutex_lock(&b->mu);
	local_day(b, now_ms, &day, &minute, &tm);
	roll(b, day);
	fmt_limit(calls, sizeof(calls), b->llm_calls, b->cfg.llm_calls_per_day);
	fmt_limit(msgs, sizeof(msgs), b->messages, b->cfg.messages_per_day);
	if (b->cfg.active_from_min == b->cfg.active_to_min)
		snprintf(hours, sizeof(hours), "all day");
	else
		snprintf(hours, sizeof(hours), "%02d:%02d-%02d:%02d (%s)",
			 b->cfg.active_from_min / 60, b->cfg.active_from_min % 60,
			 b->cfg.active_to_min / 60, b->cfg.active_to_min % 60,
			 in_active_hours(b, minute) ? "open" : "closed");
	n = snprintf(out, cap, "proactive budget %04d-%02d-%02d%s%s: LLM calls %s, messages %s, "
		     "active hours %s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, b->cfg.tz ? " " : " UTC",
		     b->cfg.tz ? tz_name(b->cfg.tz) : "", calls, msgs, hours);
	pthread_mutex_unlock(&b->mu);
	return n > 0 ? (size_t)n : 0;
}

/* "HH", "H", "HH:MM" → minutes; 24:00 is allowed as an end. */
static bool parse_clock(const char **p, int *out)
{
	const char *s = *p;
	int h = 0, m = 0, digits = 0;

	while (isdigit((unsigned char)*s) && digits < 3) {
		h = h * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0 || digits > 2)
		return false;
	if (*s == ':') {
		s++;
		if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
			return false;
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
	}
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return false;
	*out = h * 60 + m;
	*p = s;
	return true;
}

enum kith_status sched_parse_active_hours(const char *spec, int *from_min, int *to_min,
					  char **why)
{
	const char *p = spec;
	int from, to;

	*from_min = *to_min = 0;
	if (!spec)
		return KITH_OK;
	while (*p == ' ')
		p++;
	if (!*p)
		return KITH_OK;
	if (!parse_clock(&p, &from))
		goto bad;
	while (*p == ' ')
		p++;
	if (*p++ != '-')
		goto bad;
	while (*p == ' ')
		p++;
	if (!parse_clock(&p, &to))
		goto bad;
	while (*p == ' ')
		p++;
	if (*p)
		goto bad;
	if (from == 0 && to == 24 * 60)
		return KITH_OK;  /* 00:00-24:00: all day */
	if (from == 24 * 60)
		from = 0;
	if (to == 24 * 60)
		to = 0;
	if (from == to)
		return kith_why(why, KITH_EINVAL,
				"active hours \"%s\" start and end at the same time; leave it empty "
				"for all day", spec);
	*from_min = from;
	*to_min = to;
	return KITH_OK;
bad:
	return kith_why(why, KITH_EINVAL,
			"active hours \"%.40s\" should look like 08:00-22:00 (or 22:00-07:00 across "
			"midnight)", spec);
}
