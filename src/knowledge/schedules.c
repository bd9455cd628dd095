/* schedules.c — the ScheduleExecutor: user cron schedules run as
 * conversation turns (docs/schedules.md), and the parsing /schedule shares.
 *
 * The design choice is at-most-once firing: a due schedule is marked fired
 * (store_user_schedule_fired) before its turn starts, so neither a crash, a
 * cancel nor a failing model can make it run twice; the price is that an
 * interrupted run is lost until the next occurrence.  An occurrence fires
 * only while it is younger than SCHEDULE_LOOKBACK_MS, so downtime is never
 * replayed.  The due check is one query plus in-memory cron arithmetic;
 * zones are loaded once and kept in the executor. */
#include "knowledge/schedules.h"

#include "agent/agent.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/tz.h"
#include "sched/cron.h"
#include "store/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG "schedules"
#define CHECK_DAYS 8          /* schedule_check_cron looks this far ahead */
#define CHECK_MAX_FIRINGS 2400 /* > 8 days of every-5-minutes */

/* ---- parsing -------------------------------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Trimmed, control characters as spaces, runs of spaces collapsed when
 * `collapse`, cut at `cap` bytes on a UTF-8 boundary; NULL when empty. */
static char *clean(const char *s, size_t cap, bool collapse)
{
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (o == 0 || (collapse && out[o - 1] == ' ')))
			continue;
		out[o++] = c;
	}
	if (o > cap) {
		o = cap;
		while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
			o--;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (!o) {
		free(out);
		return NULL;
	}
	return out;
}

static char *field(json_t *root, const char *name, size_t cap, bool collapse)
{
	json_t *v = json_object_get(root, name);

	return json_is_string(v) ? clean(json_string_value(v), cap, collapse) : NULL;
}

enum kith_status schedule_parse_answer(const char *p, size_t n, struct schedule_answer *out,
				       char **why)
{
	json_t *root;

	memset(out, 0, sizeof(*out));
	root = kjson_object_in(p, n);
	if (!json_is_object(root)) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "the model's reply has no JSON object");
	}
	out->timing = field(root, "timing_description", SCHEDULE_TIMING_MAX, true);
	out->prompt = field(root, "prompt_text", SCHEDULE_PROMPT_MAX, false);
	out->cron = field(root, "cron_expression", CRON_EXPR_MAX, true);
	json_decref(root);
	return KITH_OK;
}

void schedule_answer_release(struct schedule_answer *a)
{
	free(a->timing);
	free(a->prompt);
	free(a->cron);
	memset(a, 0, sizeof(*a));
}

bool schedule_split_cron(const char *text, char **cron, const char **rest)
{
	const char *p = text, *start[5];
	size_t len[5];
	struct cron c;
	char *expr, *why = NULL;
	size_t total = 0;

	*cron = NULL;
	*rest = NULL;
	if (!text)
		return false;
	for (int i = 0; i < 5; i++) {
		while (is_space(*p))
			p++;
		if (!*p)
			return false;
		start[i] = p;
		while (*p && !is_space(*p))
			p++;
		len[i] = (size_t)(p - start[i]);
		total += len[i] + 1;
		if (total > CRON_EXPR_MAX)
			return false;
	}
	while (is_space(*p))
		p++;
	if (!*p)
		return false;
	expr = xmalloc(total);
	total = 0;
	for (int i = 0; i < 5; i++) {
		memcpy(expr + total, start[i], len[i]);
		total += len[i];
		expr[total++] = i < 4 ? ' ' : '\0';
	}
	if (cron_parse(expr, &c, &why) != KITH_OK) {
		free(why);
		free(expr);
		return false;
	}
	*cron = expr;
	*rest = p;
	return true;
}

enum kith_status schedule_check_cron(const char *cron, const struct tz *tz, int64_t now_s,
				     char **why)
{
	const char *p = cron;
	int fields = 0;
	struct cron c;
	char *err = NULL;
	int64_t prev, next, end = now_s + (int64_t)CHECK_DAYS * 86400;

	if (!cron || !*cron)
		return kith_why(why, KITH_EINVAL, "there is no cron expression");
	while (*p) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		fields++;
		while (*p && !is_space(*p))
			p++;
	}
	if (fields != 5)
		return kith_why(why, KITH_EINVAL,
				"'%s' is not a cron expression of five fields (minute hour "
				"day-of-month month day-of-week)", cron);
	if (cron_parse(cron, &c, &err) != KITH_OK) {
		enum kith_status rc = kith_why(why, KITH_EINVAL, "'%s' is not a valid cron "
					       "expression: %s", cron, err ? err : "unreadable");

		free(err);
		return rc;
	}
	if (cron_next(&c, tz, now_s, &prev) != KITH_OK)
		return kith_why(why, KITH_EINVAL, "'%s' never fires", cron);
	/* Every consecutive pair, not just the first: "0,1 9 * * *" is two
	 * minutes apart only once a day. */
	for (int i = 0; i < CHECK_MAX_FIRINGS && prev <= end; i++) {
		if (cron_next(&c, tz, prev, &next) != KITH_OK)
			break;
		if (next - prev < SCHEDULE_MIN_INTERVAL_S)
			return kith_why(why, KITH_EINVAL,
					"'%s' would run more often than every %d minutes", cron,
					SCHEDULE_MIN_INTERVAL_S / 60);
		prev = next;
	}
	return KITH_OK;
}

/* ---- the executor --------------------------------------------------------- */

struct zone {
	char *name;
	struct tz *tz;   /* NULL: could not load; UTC is used */
};

struct schedule_executor {
	struct schedule_executor_deps d;
	struct zone *zones;   /* a cache: a handful of distinct zones */
	size_t nzones, capzones;
};

struct schedule_executor *schedule_executor_new(const struct schedule_executor_deps *deps)
{
	struct schedule_executor *ex = xcalloc(1, sizeof(*ex));

	ex->d = *deps;
	return ex;
}

void schedule_executor_free(struct schedule_executor *ex)
{
	if (!ex)
		return;
	for (size_t i = 0; i < ex->nzones; i++) {
		free(ex->zones[i].name);
		tz_free(ex->zones[i].tz);
	}
	free(ex->zones);
	free(ex);
}

static int64_t now_ms(const struct schedule_executor *ex)
{
	return ex->d.now_ms ? ex->d.now_ms(ex->d.now_ctx) : clock_now_ms();
}

static const struct tz *zone(struct schedule_executor *ex, const char *name)
{
	struct zone *z;
	char *why = NULL;

	if (!name || !*name)
		name = "UTC";
	for (size_t i = 0; i < ex->nzones; i++)
		if (strcmp(ex->zones[i].name, name) == 0)
			return ex->zones[i].tz;
	ex->zones = xgrow(ex->zones, &ex->capzones, ex->nzones + 1, sizeof(*ex->zones));
	z = &ex->zones[ex->nzones++];
	z->name = xstrdup(name);
	z->tz = NULL;
	if (tz_load(name, &z->tz, &why) != KITH_OK) {
		log_warn(TAG, "time zone '%s': %s; its schedules run in UTC", name,
			 why ? why : "cannot load");
		free(why);
		z->tz = NULL;
	}
	return z->tz;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Does an occurrence of `s` fall in (last check, now]?  A cron that no
 * longer parses is never due (logged). */
static bool row_due(struct schedule_executor *ex, const struct store_user_schedule *s,
		    int64_t now)
{
	struct cron c;
	int64_t from = max64(max64(s->last_fired_at, s->created_at), now - SCHEDULE_LOOKBACK_MS);
	int64_t next;
	char *why = NULL;

	if (cron_parse(s->cron, &c, &why) != KITH_OK) {
		log_warn(TAG, "schedule %lld: bad cron '%s': %s", (long long)s->id, s->cron,
			 why ? why : "");
		free(why);
		return false;
	}
	/* Seconds, rounded down: an occurrence in the same second as the last
	 * check (always on :00) counts as already seen. */
	if (cron_next(&c, zone(ex, s->timezone), from / 1000, &next))
		return false;
	return next * 1000 <= now;
}

bool schedule_executor_due(void *ctx, int64_t now)
{
	struct schedule_executor *ex = ctx;
	struct store_user_schedule *rows = NULL;
	size_t n = 0;
	char *why = NULL;
	bool due = false;

	if (store_user_schedules_list(ex->d.st, NULL, &rows, &n, &why)) {
		log_warn(TAG, "due check: %s", why ? why : "store error");
		free(why);
		return false;
	}
	for (size_t i = 0; i < n && !due; i++)
		due = row_due(ex, &rows[i], now);
	store_user_schedules_free(rows, n);
	return due;
}

/* Run one schedule's prompt and send the reply.  KITH_ECANCELED when the
 * cancel fired. */
static enum kith_status fire(struct schedule_executor *ex, const struct store_user_schedule *s,
			     int64_t now, const struct cancel *cancel)
{
	struct agent_turn_in in = {
		.channel = s->channel, .conversation = s->conversation, .author_id = s->user,
		.text = s->prompt, .created_at = now, .cancel = cancel,
	};
	struct agent_turn_out out;
	char *why = NULL;
	enum kith_status rc;

	log_info(TAG, "running schedule %lld (%s) for %s in %s/%s", (long long)s->id, s->cron,
		 s->user, s->channel, s->conversation);
	rc = agent_turn(ex->d.agent, ex->d.st, &in, &out, &why);
	if (rc == KITH_OK && cancel_requested(cancel))
		rc = KITH_ECANCELED;
	if (rc) {
		if (rc == KITH_ECANCELED || cancel_requested(cancel)) {
			log_info(TAG, "schedule %lld cancelled by a foreground message; it runs "
				 "again at its next time", (long long)s->id);
			rc = KITH_ECANCELED;
		} else {
			log_warn(TAG, "schedule %lld: %s", (long long)s->id,
				 why ? why : kith_strerror(rc));
		}
		goto out;
	}
	if (!ex->d.send) {
		log_warn(TAG, "schedule %lld: no way to send the reply", (long long)s->id);
	} else if (ex->d.send(ex->d.ud, s->channel, s->conversation, out.reply, &out.found)) {
		log_warn(TAG, "schedule %lld: sending the reply to %s/%s failed", (long long)s->id,
			 s->channel, s->conversation);
	}
out:
	free(why);
	agent_turn_out_release(&out);
	return rc;
}

enum sched_outcome schedule_executor_run(void *ctx, const struct cancel *cancel)
{
	struct schedule_executor *ex = ctx;
	struct store_user_schedule *rows = NULL;
	size_t n = 0;
	char *why = NULL;
	enum sched_outcome outcome = SCHED_NO_WORK;

	if (store_user_schedules_list(ex->d.st, NULL, &rows, &n, &why)) {
		log_warn(TAG, "%s", why ? why : "store error");
		free(why);
		return SCHED_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_user_schedule *s = &rows[i];
		int64_t now = now_ms(ex);

		if (cancel_requested(cancel)) {
			outcome = SCHED_CANCELLED;
			break;
		}
		if (!row_due(ex, s, now))
			continue;
		/* At most once: marked before it runs. */
		if (store_user_schedule_fired(ex->d.st, s->id, now, &why)) {
			log_warn(TAG, "schedule %lld: %s; not running it", (long long)s->id,
				 why ? why : "store error");
			free(why);
			why = NULL;
			continue;
		}
		if (!s->channel || !*s->channel || !s->conversation || !*s->conversation) {
			log_warn(TAG, "schedule %lld of %s has no conversation to answer in "
				 "(made before kith kept one); skipped", (long long)s->id, s->user);
			continue;
		}
		if (fire(ex, s, now, cancel) == KITH_ECANCELED) {
			outcome = SCHED_CANCELLED;
			break;
		}
		outcome = SCHED_DID_WORK;
	}
	store_user_schedules_free(rows, n);
	return outcome;
}
