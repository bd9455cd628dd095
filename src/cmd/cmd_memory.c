/* cmd_memory.c — /memory: what kith knows about the person who asks.
 *
 *   /memory                 their entities, hottest first (top 20, numbered)
 *   /memory N | NAME        one entity with its facts, oldest first
 *   /memory forget N | NAME delete it with its facts, engagements and links
 *
 * The numbers are positions in the heat ranking (mind/heat.h heat_rank) of
 * all the person's entities, computed afresh on every call, so "/memory 3"
 * means the third line of the list they just saw as long as nothing was
 * learned in between; a NAME is never ambiguous and is the safer handle for
 * forget.  Only the author's own rows are ever read or deleted. */
#include "cmd/cmd.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "mind/heat.h"
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MEMORY_LIST_LIMIT 20

/* The person's entities in heat order (owned rows, *n of them). */
struct ranked {
	struct store_entity *rows;
	size_t n;
	size_t *order;   /* order[i] = index into rows of the i-th hottest */
};

static void ranked_release(struct ranked *r)
{
	store_entities_free(r->rows, r->n);
	free(r->order);
	memset(r, 0, sizeof(*r));
}

static enum kith_status ranked_load(struct store *st, const char *user, struct ranked *r,
				    char **why)
{
	struct heat_entity *h;
	enum kith_status rc;

	memset(r, 0, sizeof(*r));
	rc = store_entities_for_user(st, user, 0, &r->rows, &r->n, why);
	if (rc)
		return rc;
	h = xcalloc(r->n ? r->n : 1, sizeof(*h));
	r->order = xcalloc(r->n ? r->n : 1, sizeof(*r->order));
	for (size_t i = 0; i < r->n; i++) {
		h[i].heat = r->rows[i].heat;
		h[i].cooldown = r->rows[i].heat_cooldown;
		h[i].vetoed = r->rows[i].vetoed;
		heat_sanitize(&h[i]);
	}
	heat_rank(h, r->n, r->order);
	free(h);
	return KITH_OK;
}

/* "12" → 12.  False for anything but 1–9 digits (so "0", "-1", "1x" and
 * huge numbers are names, and then simply not found). */
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
	snprintf(out, n, "%.10s", iso);   /* YYYY-MM-DD */
}

static void minute(int64_t ms, char *out, size_t n)
{
	char iso[32];

	clock_format_utc(ms, iso, sizeof(iso));
	snprintf(out, n, "%.10s %.5s", iso, iso + 11);   /* YYYY-MM-DD HH:MM (UTC) */
}

static enum kith_status list(struct store *st, const char *user, char **reply)
{
	struct ranked r;
	struct buf b = BUF_INIT(0);
	char *why = NULL;
	enum kith_status rc = ranked_load(st, user, &r, &why);

	if (rc) {
		*reply = xasprintf("I couldn't read your memory: %s", why ? why : kith_strerror(rc));
		free(why);
		return rc;
	}
	if (r.n == 0) {
		*reply = xstrdup("You don't have any stored memories yet.");
		ranked_release(&r);
		return KITH_OK;
	}
	buf_puts(&b, "**Your Memory**\n");
	for (size_t i = 0; i < r.n && i < MEMORY_LIST_LIMIT; i++) {
		const struct store_entity *e = &r.rows[r.order[i]];
		size_t facts = 0;

		rc = store_fact_count(st, e->id, &facts, &why);
		if (rc)
			break;
		buf_printf(&b, "\n%zu. **%s**", i + 1, e->name);
		if (e->tagline && *e->tagline)
			buf_printf(&b, " — %s", e->tagline);
		buf_printf(&b, " (%zu %s, heat: %.2f)", facts, facts == 1 ? "fact" : "facts", e->heat);
	}
	if (rc == KITH_OK && r.n > MEMORY_LIST_LIMIT)
		buf_printf(&b, "\n\n… and %zu more. Use /memory N or /memory NAME for details.",
			   r.n - MEMORY_LIST_LIMIT);
	if (rc) {
		buf_release(&b);
		*reply = xasprintf("I couldn't read your memory: %s", why ? why : kith_strerror(rc));
		free(why);
	} else {
		*reply = buf_detach(&b);
	}
	ranked_release(&r);
	return rc;
}

/* The entity that `arg` (a list number or a name) names, into *out. */
static enum kith_status resolve(struct store *st, const char *user, const char *arg,
				struct store_entity *out, char **reply)
{
	char *why = NULL;
	size_t k;
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	if (parse_number(arg, &k)) {
		struct ranked r;

		rc = ranked_load(st, user, &r, &why);
		if (rc == KITH_OK && (k == 0 || k > r.n)) {
			*reply = xasprintf("#%s doesn't match any memory. Use /memory to see the list.",
					   arg);
			rc = KITH_ENOTFOUND;
		} else if (rc == KITH_OK) {
			/* Hand the row over and forget it here. */
			*out = r.rows[r.order[k - 1]];
			memset(&r.rows[r.order[k - 1]], 0, sizeof(r.rows[0]));
		}
		ranked_release(&r);
	} else {
		rc = store_entity_find(st, user, arg, out, &why);
		if (rc == KITH_ENOTFOUND)
			*reply = xasprintf("I don't have a memory called '%s'. Use /memory to see the "
					   "list.", arg);
	}
	if (rc && !*reply)
		*reply = xasprintf("I couldn't read your memory: %s", why ? why : kith_strerror(rc));
	free(why);
	return rc;
}

static enum kith_status details(struct store *st, const char *user, const char *arg,
				char **reply)
{
	struct store_entity e;
	struct store_fact *facts = NULL;
	size_t nf = 0;
	struct buf b = BUF_INIT(0);
	char *why = NULL, when[32];
	enum kith_status rc = resolve(st, user, arg, &e, reply);

	if (rc)
		return rc;
	rc = store_facts_for_entity(st, e.id, &facts, &nf, &why);
	if (rc) {
		*reply = xasprintf("I couldn't read your memory: %s", why ? why : kith_strerror(rc));
		goto out;
	}
	buf_printf(&b, "**%s**\n", e.name);
	if (e.tagline && *e.tagline)
		buf_printf(&b, "*%s*\n", e.tagline);
	minute(e.updated_at, when, sizeof(when));
	buf_printf(&b, "**Heat**: %.2f%s\n**Updated**: %s UTC", e.heat,
		   e.vetoed ? " (you said you don't care about it)" : "", when);
	if (nf == 0)
		buf_printf(&b, "\n\nI know about %s, but I don't have any specific facts stored yet.",
			   e.name);
	for (size_t i = 0; i < nf; i++) {
		day(facts[i].learned_at, when, sizeof(when));
		buf_printf(&b, "\n\n• %s (learned %s)", facts[i].content, when);
	}
	*reply = buf_detach(&b);
out:
	store_facts_free(facts, nf);
	store_entity_release(&e);
	free(why);
	return rc;
}

static enum kith_status forget(struct store *st, const char *user, const char *arg,
			       char **reply)
{
	struct store_entity e;
	size_t nf = 0;
	char *why = NULL;
	enum kith_status rc;

	if (!*arg) {
		*reply = xstrdup("Usage: /memory forget N|NAME — N is a number from /memory.");
		return KITH_EINVAL;
	}
	rc = resolve(st, user, arg, &e, reply);
	if (rc)
		return rc;
	rc = store_fact_count(st, e.id, &nf, &why);
	if (rc == KITH_OK)
		rc = store_entity_delete(st, e.id, &why);   /* facts, engagements, links cascade */
	if (rc)
		*reply = xasprintf("I couldn't forget '%s': %s", e.name,
				   why ? why : kith_strerror(rc));
	else
		*reply = xasprintf("Deleted '%s' and %zu %s.", e.name, nf,
				   nf == 1 ? "fact" : "facts");
	store_entity_release(&e);
	free(why);
	return rc;
}

enum kith_status cmd_memory(const struct cmd_ctx *ctx, const char *args, char **reply)
{
	const char *user;
	struct slice word, rest;
	enum kith_status rc;

	if (!cmd_person(ctx, "Memory", &user, reply, &rc))
		return rc;
	if (!*args)
		return list(ctx->st, user, reply);
	if (slice_split(slice_cstr(args), ' ', &word, &rest) && slice_eq(word, "forget")) {
		char *target = slice_dup(slice_trim(rest));

		rc = forget(ctx->st, user, target, reply);
		free(target);
		return rc;
	}
	if (strcmp(args, "forget") == 0)
		return forget(ctx->st, user, "", reply);
	return details(ctx->st, user, args, reply);
}
