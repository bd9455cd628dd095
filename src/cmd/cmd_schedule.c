/* cmd_schedule.c — /schedule and /unschedule: a person's cron schedules
 * (docs/schedules.md; the executor is knowledge/schedules.c).
 *
 * "/schedule 0 9 * * 1-5 tell me the news" is read without a model (the
 * offline form); anything else goes to the util model, which answers a
 * timing description, the prompt and a cron expression as JSON.  Nothing
 * the model says is trusted: the cron must be five fields cron_parse
 * accepts, fire no more often than every SCHEDULE_MIN_INTERVAL_S, and the
 * prompt must be non-empty — only then is the schedule saved, with the
 * channel and conversation it was made in so its answers go back there.
 * Times are in the person's profile time zone, else SEL_TIMEZONE; the reply
 * says which.  Everything is per author: nobody sees or deletes another
 * person's schedules. */
#include "cmd/cmd.h"

#include "agent/agent.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/tz.h"
#include "knowledge/schedules.h"
#include "llm/llm.h"
#include "sched/cron.h"
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define TAG "cmd"
#define ARGS_MAX 2000   /* longest /schedule text sent to the model */

static const char schema[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"timing_description\":{\"type\":\"string\"},"
	"\"prompt_text\":{\"type\":\"string\"},"
	"\"cron_expression\":{\"type\":\"string\"}},"
	"\"required\":[\"timing_description\",\"prompt_text\",\"cron_expression\"]}";

static const char system_prompt[] =
	"You turn a person's request for a recurring task into a schedule. Split the request into"
	" WHEN it should happen and WHAT should be done, and write the timing as a standard"
	" five-field cron expression (minute hour day-of-month month day-of-week; day-of-week 0 is"
	" Sunday) in the person's local time, which is given below. Use plain numbers, '*',"
	" ranges, lists and steps only. Schedules may not run more often than every 5 minutes."
	" prompt_text is the task itself, written as the person would ask it when it runs"
	" (\"what's the weather today?\"), without the timing. timing_description is the timing"
	" in a few plain words (\"every weekday at 9:00\"). Reply only with JSON:"
	" {\"timing_description\": \"...\", \"prompt_text\": \"...\", \"cron_expression\": \"...\"}.";

static const char offline_hint[] =
	"You can also give the timing as a cron expression, which works without the model:"
	" /schedule 0 9 * * 1-5 what's the weather (minute hour day month weekday).";

static const char add_hint[] =
	"Add one with /schedule WHEN WHAT — e.g. /schedule every weekday at 9am what's the"
	" weather, or /schedule 0 9 * * 1-5 what's the weather.";

/* The zone for a new schedule: the profile's, else SEL_TIMEZONE, else UTC.
 * *tz (caller frees) is loaded; *from says where the name came from. */
static char *pick_zone(const struct cmd_ctx *ctx, const char *user, struct tz **tz,
		       const char **from)
{
	struct store_user_profile p;
	const char *cand[3] = { NULL, NULL, "UTC" };
	const char *whence[3] = { "your profile's time zone",
				  "the default time zone — set yours with /profile", "UTC" };
	char *prof = NULL, *name = NULL, *why = NULL;

	memset(&p, 0, sizeof(p));
	if (ctx->st && store_user_profile_get(ctx->st, user, &p, &why) == KITH_OK) {
		prof = p.timezone && *p.timezone ? xstrdup(p.timezone) : NULL;
		store_user_profile_release(&p);
	}
	free(why);
	why = NULL;
	cand[0] = prof;
	if (ctx->deps && ctx->deps->cfg)
		cand[1] = config_str(ctx->deps->cfg, CFG_SEL_TIMEZONE);
	if ((!cand[1] || !*cand[1]) && ctx->deps)
		cand[1] = ctx->deps->timezone;
	*tz = NULL;
	for (int i = 0; i < 3 && !name; i++) {
		if (!cand[i] || !*cand[i])
			continue;
		if (tz_load(cand[i], tz, &why) == KITH_OK) {
			name = xstrdup(tz_name(*tz));
			*from = whence[i];
		} else {
			log_warn(TAG, "/schedule: time zone '%s': %s", cand[i], why ? why : "");
			*tz = NULL;
		}
		free(why);
		why = NULL;
	}
	free(prof);
	if (!name) {   /* "UTC" loads even without a zone database */
		name = xstrdup("UTC");
		*from = "UTC";
	}
	return name;
}

/* "every weekday at 9:00 (0 9 * * 1-5, Europe/Berlin): what's the weather";
 * a schedule made in the cron form has no description. */
static void describe(struct buf *b, const struct store_user_schedule *s)
{
	if (s->description && *s->description)
		(void)buf_printf(b, "%s (%s, %s): %s", s->description, s->cron, s->timezone,
				 s->prompt);
	else
		(void)buf_printf(b, "%s (%s): %s", s->cron, s->timezone, s->prompt);
}

static void list_line(struct buf *b, size_t i, const struct store_user_schedule *s)
{
	(void)buf_printf(b, "\n%zu. ", i + 1);
	describe(b, s);
}

/* The author's schedules numbered, after `head`; `none` (NULL = how to add
 * one) when there are none. */
static enum kith_status list_text(const struct cmd_ctx *ctx, const char *user, const char *head,
				  const char *none, char **reply)
{
	struct store_user_schedule *rows = NULL;
	size_t n = 0;
	struct buf b = BUF_INIT(0);
	char *why = NULL;
	enum kith_status rc = store_user_schedules_list(ctx->st, user, &rows, &n, &why);

	if (rc) {
		*reply = xasprintf("I couldn't read your schedules: %s", why ? why : "store error");
		free(why);
		return rc;
	}
	if (!n) {
		*reply = none ? xstrdup(none) : xasprintf("You have no schedules yet. %s", add_hint);
		return KITH_OK;
	}
	(void)buf_puts(&b, head);
	for (size_t i = 0; i < n; i++)
		list_line(&b, i, &rows[i]);
	store_user_schedules_free(rows, n);
	*reply = buf_detach(&b);
	return KITH_OK;
}

/* Ask the util model.  On success *ans is filled (unvalidated). */
static enum kith_status ask_model(const struct cmd_ctx *ctx, const char *text,
				  const struct tz *tz, const char *zone, int64_t now_s,
				  struct schedule_answer *ans, char **why)
{
	struct llm_msg msgs[2];
	json_t *sch = json_loads(schema, 0, NULL);
	struct llm_request req = {
		.role = LLM_ROLE_UTIL, .msgs = msgs, .nmsgs = 2, .json_schema = sch,
		.schema_name = "schedule", .temperature = -1,
	};
	struct llm_response r;
	char when[128] = "";
	char *user;
	enum kith_status rc;

	memset(ans, 0, sizeof(*ans));
	if (tz_format(tz, now_s, when, sizeof(when)) != KITH_OK)
		when[0] = '\0';
	user = xasprintf("The person's local time now: %s (time zone %s).\n\nRequest: %s", when,
			 zone, text);
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, system_prompt);
	llm_msg_init(&msgs[1], LLM_MSG_USER, user);
	rc = llm_chat(ctx->deps->llm, &req, &r, why);
	if (rc == KITH_OK)
		rc = schedule_parse_answer(r.content, strlen(r.content), ans, why);
	llm_response_release(&r);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	free(user);
	json_decref(sch);
	return rc;
}

enum kith_status cmd_schedule(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user = cmd_author(ctx), *rest = NULL, *from = "UTC";
	struct schedule_answer ans = { 0 };
	struct tz *tz = NULL;
	char *zone = NULL, *why = NULL, next_text[128] = "";
	int64_t now_s = clock_now_ms() / 1000, id = 0, next = 0;
	enum kith_status rc = KITH_OK;
	struct cron c;

	*reply = NULL;
	if (!user || !ctx->st) {
		*reply = xstrdup("I can only keep schedules for a person who asks for them.");
		return KITH_EINVAL;
	}
	if (!args || !*args)
		return list_text(ctx, user, "**Your schedules**\n", NULL, reply);
	if (strlen(args) > ARGS_MAX) {
		*reply = xasprintf("That is too long for a schedule (at most %d characters).",
				   ARGS_MAX);
		return KITH_EINVAL;
	}
	zone = pick_zone(ctx, user, &tz, &from);

	if (schedule_split_cron(args, &ans.cron, &rest)) {
		ans.prompt = xstrdup(rest);
		if (strlen(ans.prompt) > SCHEDULE_PROMPT_MAX) {
			*reply = xasprintf("That prompt is too long (at most %d characters).",
					   SCHEDULE_PROMPT_MAX);
			rc = KITH_EINVAL;
			goto out;
		}
	} else {
		if (!ctx->deps || !ctx->deps->llm) {
			*reply = xasprintf("I need the model to read that timing, and none is "
					   "configured. %s", offline_hint);
			rc = KITH_ECONFIG;
			goto out;
		}
		rc = ask_model(ctx, args, tz, zone, now_s, &ans, &why);
		if (rc == KITH_EPROTO) {
			*reply = xasprintf("I couldn't work out a schedule from that. %s",
					   offline_hint);
			goto out;
		}
		if (rc) {
			*reply = xasprintf("I couldn't reach the model to read that timing (%s). %s",
					   why ? why : kith_strerror(rc), offline_hint);
			goto out;
		}
		if (!ans.prompt) {
			*reply = xasprintf("I couldn't tell what should be done at that time. Say "
					   "when and what, e.g. /schedule %s", "every morning at 8 "
					   "give me the news");
			rc = KITH_EINVAL;
			goto out;
		}
	}
	rc = schedule_check_cron(ans.cron, tz, now_s, &why);
	if (rc) {
		*reply = xasprintf("I can't schedule that: %s. %s", why ? why : "invalid timing",
				   offline_hint);
		goto out;
	}
	/* Checked above, so both succeed; the next time is only for the reply. */
	if (cron_parse(ans.cron, &c, NULL) == KITH_OK && cron_next(&c, tz, now_s, &next) == KITH_OK &&
	    tz_format(tz, next, next_text, sizeof(next_text)) != KITH_OK)
		next_text[0] = '\0';
	{
		struct store_user_schedule_new s = {
			.user = user, .cron = ans.cron, .timezone = zone, .prompt = ans.prompt,
			.description = ans.timing,
			.channel = ctx->ev && ctx->ev->channel ? chan_name(ctx->ev->channel)
							       : "console",
			.conversation = ctx->ev ? ctx->ev->conversation : NULL,
		};

		free(why);
		why = NULL;
		rc = store_user_schedule_add(ctx->st, &s, &id, &why);
	}
	if (rc) {
		*reply = xasprintf("I couldn't save the schedule: %s", why ? why : "store error");
		goto out;
	}
	*reply = xasprintf("Scheduled: %s — %s\n(%s in %s, %s%s%s)",
			   ans.timing ? ans.timing : ans.cron, ans.prompt, ans.cron, zone, from,
			   *next_text ? "; next: " : "", next_text);
out:
	free(why);
	free(zone);
	tz_free(tz);
	schedule_answer_release(&ans);
	return rc;
}

/* "3" → 3; 0 when `s` is not a plain positive number. */
static size_t parse_number(const char *s)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > 1000000)
		return 0;
	return (size_t)v;
}

enum kith_status cmd_unschedule(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user = cmd_author(ctx);
	struct store_user_schedule *rows = NULL;
	size_t n = 0, k;
	struct buf b = BUF_INIT(0);
	char *why = NULL, *left = NULL;
	enum kith_status rc;

	*reply = NULL;
	if (!user || !ctx->st) {
		*reply = xstrdup("I can only change schedules for a person who asks.");
		return KITH_EINVAL;
	}
	if (!args || !*args)
		return list_text(ctx, user, "Use /unschedule N to remove one. Your schedules:\n",
				 "You have no schedules.", reply);
	rc = store_user_schedules_list(ctx->st, user, &rows, &n, &why);
	if (rc) {
		*reply = xasprintf("I couldn't read your schedules: %s", why ? why : "store error");
		free(why);
		return rc;
	}
	k = parse_number(args);
	if (!n) {
		*reply = xstrdup("You have no schedules.");
		rc = KITH_ENOTFOUND;
		goto out;
	}
	if (!k && (*args < '0' || *args > '9')) {
		*reply = xasprintf("Usage: /unschedule N — '%s' is not a number from the list.",
				   args);
		rc = KITH_EINVAL;
		goto out;
	}
	if (!k || k > n) {
		*reply = xasprintf("#%s doesn't match any schedule. Use /schedule to see the list.",
				   args);
		rc = KITH_ENOTFOUND;
		goto out;
	}
	rc = store_user_schedule_delete(ctx->st, rows[k - 1].id, &why);
	if (rc) {
		*reply = xasprintf("I couldn't remove it: %s", why ? why : "store error");
		goto out;
	}
	(void)buf_puts(&b, "Removed: ");
	describe(&b, &rows[k - 1]);
	if (list_text(ctx, user, "\n\nYour schedules:\n", "\n\nYou have no schedules left.",
		      &left) == KITH_OK)
		(void)buf_puts(&b, left);
	free(left);
	*reply = buf_detach(&b);
out:
	free(why);
	store_user_schedules_free(rows, n);
	buf_release(&b);
	return rc;
}
