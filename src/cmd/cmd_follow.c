/* cmd_follow.c — /follow, /unfollow and /events: the news topics a person
 * follows and what the event agent found for them (knowledge/events.c).
 *
 *   /follow              the person's follow prompts, numbered, oldest first
 *   /follow TOPIC        follow TOPIC
 *   /unfollow N | TOPIC  stop, deleting the prompt's events with it
 *   /events              the 10 most recent events, newest first
 *   /events N            one event: date, summary, URL, linked entities
 *
 * Design choice: the query terms are derived from the topic's own words,
 * not by a model call, so /follow works offline and says exactly what will
 * be searched.  NewsAPI ORs the terms and quotes multi-word ones, so
 * splitting "rust compiler" into "rust" OR "compiler" would flood the
 * person with unrelated news; instead the topic is split only where they
 * split it (commas, semicolons): "/follow SpaceX, Blue Origin" searches
 * for either company, "/follow rust compiler" for that phrase.  The polling
 * schedule is the store's default (daily); NEWS_API_KEY is only needed for
 * the polling, so a topic can be saved before the key is set and the reply
 * says what is missing. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "knowledge/knowledge.h"
#include "store/store.h"
#include "tools/newsapi.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EVENTS_LIST_LIMIT 10
#define FOLLOW_TOPIC_MAX 200

/* 1–9 digits → true and *out; anything else is not a list number. */
static bool parse_number(const char *s, size_t *out)
{
	size_t len = strlen(s);
	unsigned long v;
	char *end;

	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return false;
	*out = (size_t)v;
	return true;
}

static void day(int64_t ms, char *out, size_t n)
{
	char iso[32];

	clock_format_utc(ms, iso, sizeof(iso));
	snprintf(out, n, "%.10s", iso);
}

static void minute(int64_t ms, char *out, size_t n)
{
	char iso[32];

	clock_format_utc(ms, iso, sizeof(iso));
	snprintf(out, n, "%.10s %.5s", iso, iso + 11);
}

static bool news_configured(const struct cmd_ctx *ctx)
{
	return ctx->deps && ctx->deps->cfg && newsapi_available(ctx->deps->cfg);
}

/* The topic's comma- or semicolon-separated phrases, whitespace collapsed,
 * duplicates (ignoring ASCII case) dropped, as a JSON array (caller frees);
 * NULL when no phrase is left. */
static char *topic_terms(const char *topic)
{
	json_t *arr = json_array();
	const char *p = topic;
	char *out = NULL;

	while (*p && json_array_size(arr) < EVENT_MAX_TERMS) {
		size_t n = strcspn(p, ",;");
		struct buf t = BUF_INIT(0);
		bool dup = false;

		for (size_t i = 0; i < n; i++) {
			if (isspace((unsigned char)p[i])) {
				if (t.len && t.data[t.len - 1] != ' ')
					buf_puts(&t, " ");
			} else {
				buf_append(&t, &p[i], 1);
			}
		}
		if (t.len && t.data[t.len - 1] == ' ')
			t.data[--t.len] = '\0';
		for (size_t i = 0; t.len && i < json_array_size(arr); i++)
			dup = dup || strcasecmp(json_string_value(json_array_get(arr, i)), t.data) == 0;
		if (t.len && !dup && t.len <= EVENT_TERM_MAX)
			json_array_append_new(arr, json_string(t.data));
		buf_release(&t);
		p += n;
		if (*p)
			p++;
	}
	if (json_array_size(arr))
		out = kjson_dump(arr, false);
	json_decref(arr);
	return out;
}

static void list_follows(struct buf *b, const struct store_follow_prompt *p, size_t n)
{
	char since[16];

	for (size_t i = 0; i < n; i++) {
		day(p[i].created_at, since, sizeof(since));
		buf_printf(b, "\n%zu. **%s** — since %s", i + 1, p[i].prompt, since);
	}
}

enum kith_status cmd_follow(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user;
	struct store_follow_prompt *p = NULL;
	size_t n = 0;
	char *why = NULL, *terms = NULL;
	enum kith_status rc = KITH_OK;

	if (!cmd_person(ctx, "Following news", &user, reply, &rc))
		return rc;
	if (!*args) {
		struct buf b = BUF_INIT(0);

		rc = store_follow_prompts_for_user(ctx->st, user, &p, &n, &why);
		if (rc) {
			*reply = xasprintf("I couldn't read what you follow: %s",
					   why ? why : kith_strerror(rc));
		} else if (n == 0) {
			*reply = xstrdup("You're not following anything yet. Use /follow TOPIC to "
					 "start.");
		} else {
			buf_puts(&b, "**Following**\n");
			list_follows(&b, p, n);
			*reply = buf_detach(&b);
		}
		goto out;
	}
	if (strlen(args) > FOLLOW_TOPIC_MAX) {
		*reply = xasprintf("That topic is too long; keep it under %d characters.",
				   FOLLOW_TOPIC_MAX);
		rc = KITH_EINVAL;
		goto out;
	}
	terms = topic_terms(args);
	if (!terms) {
		*reply = xstrdup("Usage: /follow TOPIC — e.g. /follow SpaceX, Blue Origin");
		rc = KITH_EINVAL;
		goto out;
	}
	{
		struct store_follow_prompt_new f = { .user = user, .prompt = args,
						     .query_terms = terms };

		rc = store_follow_prompt_add(ctx->st, &f, NULL, &why);
	}
	if (rc)
		*reply = xasprintf("I couldn't save that: %s", why ? why : kith_strerror(rc));
	else
		*reply = xasprintf("Got it, I'll keep track of **%s** for you (daily updates; "
				   "searching for %s).%s", args, terms,
				   news_configured(ctx) ? ""
							: "\nNews can't be fetched yet: set "
							  "NEWS_API_KEY (a NewsAPI.org key) and "
							  "restart.");
out:
	store_follow_prompts_free(p, n);
	free(terms);
	free(why);
	return rc;
}

enum kith_status cmd_unfollow(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const struct store_follow_prompt *hit = NULL;
	const char *user;
	struct store_follow_prompt *p = NULL;
	size_t n = 0, k, nev = 0;
	char *why = NULL;
	enum kith_status rc = KITH_OK;

	if (!cmd_person(ctx, "Following news", &user, reply, &rc))
		return rc;
	rc = store_follow_prompts_for_user(ctx->st, user, &p, &n, &why);
	if (rc) {
		*reply = xasprintf("I couldn't read what you follow: %s", why ? why : kith_strerror(rc));
		goto out;
	}
	if (n == 0) {
		*reply = xstrdup("You're not following anything.");
		rc = *args ? KITH_ENOTFOUND : KITH_OK;
		goto out;
	}
	if (!*args) {
		struct buf b = BUF_INIT(0);

		buf_puts(&b, "Use /unfollow N or /unfollow TOPIC. You follow:\n");
		list_follows(&b, p, n);
		*reply = buf_detach(&b);
		goto out;
	}
	if (parse_number(args, &k)) {
		if (k >= 1 && k <= n)
			hit = &p[k - 1];
	} else {
		for (size_t i = 0; i < n && !hit; i++) {
			if (strcasecmp(p[i].prompt, args) == 0)
				hit = &p[i];
		}
	}
	if (!hit) {
		*reply = parse_number(args, &k)
				 ? xasprintf("#%s doesn't match any follow. Use /follow to see the "
					     "list.", args)
				 : xasprintf("You don't follow '%s'. Use /follow to see the list.",
					     args);
		rc = KITH_ENOTFOUND;
		goto out;
	}
	rc = store_follow_prompt_forget(ctx->st, hit->id, &nev, &why);
	if (rc)
		*reply = xasprintf("I couldn't stop following **%s**: %s", hit->prompt,
				   why ? why : kith_strerror(rc));
	else
		*reply = xasprintf("Stopped following **%s**%s.", hit->prompt,
				   nev ? " and deleted its events" : "");
out:
	store_follow_prompts_free(p, n);
	free(why);
	return rc;
}

static enum kith_status event_details(struct store *st, const struct store_event *e,
				      struct buf *b, char **why)
{
	int64_t *ids = NULL;
	size_t nid = 0;
	char when[32];
	enum kith_status rc;

	minute(e->published_at, when, sizeof(when));
	buf_printf(b, "**%s**\n**Date**: %s UTC", e->headline, when);
	if (e->summary && *e->summary)
		buf_printf(b, "\n\n%s", e->summary);
	if (e->url && *e->url)
		buf_printf(b, "\n\n%s", e->url);
	rc = store_event_entities(st, e->id, &ids, &nid, why);
	for (size_t i = 0; rc == KITH_OK && i < nid; i++) {
		struct store_entity ent;

		if (store_entity_get(st, ids[i], &ent, NULL) != KITH_OK)
			continue;   /* deleted meanwhile */
		buf_printf(b, "%s%s", i ? ", " : "\n\n**About**: ", ent.name);
		store_entity_release(&ent);
	}
	free(ids);
	return rc;
}

enum kith_status cmd_events(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user;
	struct store_event *ev = NULL;
	struct buf b = BUF_INIT(0);
	size_t n = 0, k = 0;
	char *why = NULL, date[16];
	enum kith_status rc = KITH_OK;

	if (!cmd_person(ctx, "Following news", &user, reply, &rc))
		return rc;
	if (*args && !parse_number(args, &k)) {
		*reply = xasprintf("Usage: /events [N] — '%s' is not a number from the list.", args);
		return KITH_EINVAL;
	}
	rc = store_events_for_user(ctx->st, user, EVENTS_LIST_LIMIT, &ev, &n, &why);
	if (rc) {
		*reply = xasprintf("I couldn't read your events: %s", why ? why : kith_strerror(rc));
		goto out;
	}
	if (n == 0) {
		*reply = xstrdup(news_configured(ctx)
					 ? "No recent events. Use /follow TOPIC to start tracking."
					 : "No recent events. Use /follow TOPIC to start tracking, and "
					   "set NEWS_API_KEY (a NewsAPI.org key) so news can be fetched.");
		rc = *args ? KITH_ENOTFOUND : KITH_OK;
		goto out;
	}
	if (*args) {
		if (k == 0 || k > n) {
			*reply = xasprintf("#%s doesn't match any event. Use /events to see the list.",
					   args);
			rc = KITH_ENOTFOUND;
			goto out;
		}
		rc = event_details(ctx->st, &ev[k - 1], &b, &why);
		if (rc) {
			buf_release(&b);
			*reply = xasprintf("I couldn't read that event: %s",
					   why ? why : kith_strerror(rc));
			goto out;
		}
		*reply = buf_detach(&b);
		goto out;
	}
	buf_puts(&b, "**Recent Events**\n");
	for (size_t i = 0; i < n; i++) {
		day(ev[i].published_at, date, sizeof(date));
		buf_printf(&b, "\n%zu. **%s** — %s", i + 1, ev[i].headline, date);
		if (ev[i].url && *ev[i].url)
			buf_printf(&b, "\n   %s", ev[i].url);
	}
	*reply = buf_detach(&b);
out:
	store_events_free(ev, n);
	free(why);
	return rc;
}
