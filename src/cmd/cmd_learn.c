/* cmd_learn.c — /learn: ask kith to read up on a topic (knowledge/learn.c
 * does the searching, the notifier announces the result).
 *
 *   /learn TOPIC   a learn prompt for the author with
 *                  LEARN_PROMPT_DEFAULT_SEARCHES searches
 *   /learn         the author's topics not announced yet, with progress
 *                  and what each has found so far
 *
 *   /unlearn       every topic, oldest first, numbered
 *   /unlearn N     forget topic N and what its searches taught: their facts,
 *                  entities left with none, the searches, the topic
 *
 * Design choice: the prompt is saved even without PERPLEXITY_API_KEY, as
 * the reference does, and the reply says plainly that nothing happens
 * until the key is set; the topic is not lost to a configuration gap. */
#include "cmd/cmd.h"
#include "agent/agent.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "store/store.h"
#include "tools/search.h"

#include <stdlib.h>
#include <string.h>

#define LEARN_TOPIC_MAX 200        /* bytes of a topic */
#define LEARN_STATUS_LIMIT 10      /* topics listed by /learn */
#define LEARN_STATUS_ENTITIES 5    /* entities listed per topic */
#define LEARN_DEFAULT_SEARCHES 3   /* without a configuration (tests) */

static const char *author(const struct cmd_ctx *ctx)
{
	return ctx->ev && ctx->ev->author_id && *ctx->ev->author_id ? ctx->ev->author_id : NULL;
}

static bool can_search(const struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;

	return cfg && search_available(cfg);
}

static const char no_key[] = "Web search is off (PERPLEXITY_API_KEY is not set), so I can't "
			     "research anything until it is set and kith restarted.";

/* One entity a topic found: its id and how many facts. */
struct found {
	int64_t entity_id;
	size_t facts;
};

static int by_facts(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->facts != y->facts)
		return x->facts < y->facts ? 1 : -1;
	return x->entity_id < y->entity_id ? -1 : x->entity_id > y->entity_id;
}

/* "   • **name** — tagline (k facts)" lines for a prompt's entities. */
static enum kith_status list_found(struct store *st, int64_t prompt_id, struct buf *b, char **why)
{
	struct store_fact *f = NULL;
	struct found *v = NULL;
	size_t nf = 0, n = 0, cap = 0;
	enum kith_status rc = store_learn_prompt_facts(st, prompt_id, &f, &nf, why);

	for (size_t i = 0; i < nf && !rc; i++) {
		if (n && v[n - 1].entity_id == f[i].entity_id) {
			v[n - 1].facts++;
			continue;
		}
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		v[n].entity_id = f[i].entity_id;
		v[n++].facts = 1;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_facts);
	for (size_t i = 0; i < n && i < LEARN_STATUS_ENTITIES && !rc; i++) {
		struct store_entity e;

		if (store_entity_get(st, v[i].entity_id, &e, NULL) != KITH_OK)
			continue;  /* forgotten since */
		(void)buf_printf(b, "\n   • **%s**", e.name);
		if (e.tagline && *e.tagline)
			(void)buf_printf(b, " — %s", e.tagline);
		(void)buf_printf(b, " (%zu fact%s)", v[i].facts, v[i].facts == 1 ? "" : "s");
		store_entity_release(&e);
	}
	if (n > LEARN_STATUS_ENTITIES)
		(void)buf_printf(b, "\n   … and %zu more", n - LEARN_STATUS_ENTITIES);
	free(v);
	store_facts_free(f, nf);
	return rc;
}

static enum kith_status status(const struct cmd_ctx *ctx, const char *user, char **reply)
{
	struct store_learn_prompt *lp = NULL;
	struct buf b = BUF_INIT(0);
	size_t n = 0, shown = 0;
	char *why = NULL;
	enum kith_status rc = store_learn_prompts_list(ctx->st, user, NULL, &lp, &n, &why);

	(void)buf_puts(&b, "**Learning Status**");
	for (size_t i = 0; i < n && !rc && shown < LEARN_STATUS_LIMIT; i++) {
		size_t logs = 0, pending = 0;

		if (lp[i].announced_at || strcmp(lp[i].status, "cancelled") == 0)
			continue;
		rc = store_learn_prompt_progress(ctx->st, lp[i].id, &logs, &pending, &why);
		if (rc)
			break;
		(void)buf_printf(&b, "\n%zu. **%s** ", ++shown, lp[i].prompt);
		if (strcmp(lp[i].status, "active") == 0 && pending)
			(void)buf_printf(&b, "(searching, %d left; %zu of %zu processed)",
					 lp[i].searches_remaining, logs - pending, logs);
		else if (strcmp(lp[i].status, "active") == 0)
			(void)buf_printf(&b, "(searching, %d left)", lp[i].searches_remaining);
		else if (pending)
			(void)buf_printf(&b, "(reading, %zu of %zu processed)", logs - pending, logs);
		else
			(void)buf_puts(&b, "✓");
		rc = list_found(ctx->st, lp[i].id, &b, &why);
	}
	if (rc) {
		*reply = xasprintf("I couldn't read your topics: %s", why ? why : kith_strerror(rc));
	} else if (!shown) {
		*reply = xstrdup("Nothing being actively researched right now. Use `/learn <topic>` "
				 "to have me read up on something.");
	} else {
		bool active = false;

		for (size_t i = 0; i < n; i++)
			active |= !lp[i].announced_at && strcmp(lp[i].status, "active") == 0;
		if (active && !can_search(ctx))
			(void)buf_printf(&b, "\n\n%s", no_key);
		*reply = buf_detach(&b);
	}
	buf_release(&b);
	free(why);
	store_learn_prompts_free(lp, n);
	return rc;
}

enum kith_status cmd_learn(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const struct config *cfg = ctx->deps ? ctx->deps->cfg : NULL;
	const char *user = author(ctx);
	int searches = cfg ? (int)config_int(cfg, CFG_LEARN_PROMPT_DEFAULT_SEARCHES)
			   : LEARN_DEFAULT_SEARCHES;
	int64_t id = 0;
	char *why = NULL;
	enum kith_status rc;

	if (!user || !ctx->st) {
		*reply = xstrdup("/learn needs a person to learn for; use it from a chat.");
		return KITH_EINVAL;
	}
	if (!*args)
		return status(ctx, user, reply);
	if (strlen(args) > LEARN_TOPIC_MAX) {
		*reply = xasprintf("That topic is too long; keep it under %d characters.",
				   LEARN_TOPIC_MAX);
		return KITH_EINVAL;
	}
	rc = store_learn_prompt_add(ctx->st, user, args, searches, &id, &why);
	if (rc) {
		*reply = xasprintf("I couldn't save that topic: %s", why ? why : kith_strerror(rc));
		free(why);
		return rc;
	}
	if (can_search(ctx))
		*reply = xasprintf("Okay, I'll learn more about %s (up to %d web search%s; I'll tell "
				   "you what I find).", args, searches, searches == 1 ? "" : "es");
	else
		*reply = xasprintf("Okay, I'll learn more about %s once I can: %s", args, no_key);
	return KITH_OK;
}

/* ---- /unlearn ---------------------------------------------------------------- */

static enum kith_status history(struct store_learn_prompt *lp, size_t n, char **reply)
{
	struct buf b = BUF_INIT(0);

	if (n == 0) {
		*reply = xstrdup("You haven't asked me to learn anything yet. /learn TOPIC starts.");
		return KITH_OK;
	}
	buf_puts(&b, "**Learn History**");
	for (size_t i = 0; i < n; i++) {
		char iso[32];

		clock_format_utc(lp[i].created_at, iso, sizeof(iso));
		buf_printf(&b, "\n%zu. %s%s — %.10s", i + 1, lp[i].prompt,
			   strcmp(lp[i].status, "active") == 0 ? " *(active)*" : "", iso);
	}
	buf_puts(&b, "\n\n/unlearn N forgets topic N and what I learned from it.");
	*reply = buf_detach(&b);
	return KITH_OK;
}

enum kith_status cmd_unlearn(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	struct store_learn_prompt *lp = NULL;
	const char *user;
	char **names = NULL, *end = NULL, *why = NULL;
	size_t n = 0, *counts = NULL, k = 0;
	unsigned long long pick;
	struct buf b = BUF_INIT(0);
	enum kith_status rc;

	if (!cmd_person(ctx, "Unlearning", &user, reply, &rc))
		return rc;
	if ((rc = store_learn_prompts_list(ctx->st, user, NULL, &lp, &n, &why)) != KITH_OK) {
		*reply = xasprintf("I couldn't read your topics: %s", why);
		free(why);
		return rc;
	}
	if (!*args) {
		rc = history(lp, n, reply);
		store_learn_prompts_free(lp, n);
		return rc;
	}
	pick = strtoull(args, &end, 10);
	if (!end || *end || args[0] == '-' || args[0] == '+' || pick < 1 || pick > n) {
		*reply = xasprintf("#%.20s doesn't match any topic. /unlearn lists them.", args);
		store_learn_prompts_free(lp, n);
		return KITH_EINVAL;
	}
	rc = store_learn_prompt_forget(ctx->st, lp[pick - 1].id, &names, &counts, &k, &why);
	if (rc) {
		*reply = xasprintf("I couldn't forget that topic: %s", why ? why : kith_strerror(rc));
	} else {
		buf_printf(&b, "Forgetting what I learned about **%s**", lp[pick - 1].prompt);
		for (size_t i = 0; i < k; i++)
			buf_printf(&b, "\n• %s (%zu fact%s)", names[i], counts[i],
				   counts[i] == 1 ? "" : "s");
		if (!k)
			buf_puts(&b, "\nNothing had been learned from it yet.");
		*reply = buf_detach(&b);
	}
	free(why);
	store_strings_free(names, k);
	free(counts);
	store_learn_prompts_free(lp, n);
	return rc;
}
