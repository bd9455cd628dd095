/* ratelimit.c — Discord's REST rate limits: per-route buckets and the
 * global limit.
 *
 * Discord names buckets only in responses (X-RateLimit-Bucket), and one
 * bucket hash covers each major parameter (channel) separately, so the
 * table maps route → bucket key "hash@major" and keeps remaining/reset per
 * key; until a route's first answer names its bucket the route is its own
 * key.  Limits are never assumed, only learned.  Time is an argument
 * (monotonic ms), so tests drive it with a fake clock; the caller sleeps.
 * One mutex: callers are worker threads sending replies. */
#include "channel/discord/discord_int.h"
#include "core/alloc.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>

struct bucket {
	char *key;
	long remaining;    /* -1 unknown */
	int64_t reset_at;  /* when remaining refills (mono ms) */
};

struct route {
	char *route;
	char *key;         /* bucket key it counts against */
};

struct dc_rl {
	pthread_mutex_t mu;
	struct bucket *b;
	size_t nb, capb;
	struct route *r;
	size_t nr, capr;
	int64_t global_until;
};

struct dc_rl *dc_rl_new(void)
{
	struct dc_rl *rl = xcalloc(1, sizeof(*rl));

	pthread_mutex_init(&rl->mu, NULL);
	return rl;
}

void dc_rl_free(struct dc_rl *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < rl->nb; i++)
		free(rl->b[i].key);
	for (size_t i = 0; i < rl->nr; i++) {
		free(rl->r[i].route);
		free(rl->r[i].key);
	}
	free(rl->b);
	free(rl->r);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

static bool all_digits(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return true;
}

char *dc_route_key(const char *method, const char *path)
{
	struct buf out = BUF_INIT(0);
	const char *p = path, *q;
	const char *prev = NULL;
	size_t prevn = 0;

	(void)buf_printf(&out, "%s ", method);
	q = strchr(p, '?');
	while (*p && p != q) {
		const char *seg, *end;
		size_t n;

		if (*p == '/')
			p++;
		seg = p;
		end = seg;
		while (*end && *end != '/' && end != q)
			end++;
		n = (size_t)(end - seg);
		/* Ids after a major resource stay: /channels/1 and /channels/2
		 * are limited apart; other ids do not make new routes. */
		if (all_digits(seg, n) && !(prev && ((prevn == 8 && !memcmp(prev, "channels", 8)) ||
						    (prevn == 6 && !memcmp(prev, "guilds", 6)) ||
						    (prevn == 8 && !memcmp(prev, "webhooks", 8)))))
			(void)buf_puts(&out, "/:id");
		else {
			(void)buf_puts(&out, "/");
			(void)buf_append(&out, seg, n);
		}
		if (n == 9 && !memcmp(seg, "reactions", 9))
			break; /* every reaction sub-route shares one bucket */
		prev = seg;
		prevn = n;
		p = end;
	}
	return buf_detach(&out);
}

/* The major parameter in a route key ("123" in ".../channels/123/..."). */
static struct slice major_of(const char *route)
{
	static const char *const majors[] = { "/channels/", "/guilds/", "/webhooks/" };

	for (size_t i = 0; i < 3; i++) {
		const char *m = strstr(route, majors[i]);

		if (m) {
			const char *s = m + strlen(majors[i]), *e = s;

			while (*e && *e != '/')
				e++;
			return slice_of(s, (size_t)(e - s));
		}
	}
	return slice_of("", 0);
}

static struct route *find_route(struct dc_rl *rl, const char *route)
{
	for (size_t i = 0; i < rl->nr; i++)
		if (strcmp(rl->r[i].route, route) == 0)
			return &rl->r[i];
	return NULL;
}

static struct bucket *find_bucket(struct dc_rl *rl, const char *key, bool create)
{
	for (size_t i = 0; i < rl->nb; i++)
		if (strcmp(rl->b[i].key, key) == 0)
			return &rl->b[i];
	if (!create)
		return NULL;
	rl->b = xgrow(rl->b, &rl->capb, rl->nb + 1, sizeof(*rl->b));
	rl->b[rl->nb] = (struct bucket){ xstrdup(key), -1, 0 };
	return &rl->b[rl->nb++];
}

long dc_rl_acquire(struct dc_rl *rl, const char *route, int64_t now)
{
	struct route *r;
	struct bucket *b;
	long wait = 0;

	pthread_mutex_lock(&rl->mu);
	if (rl->global_until > now) {
		wait = (long)(rl->global_until - now);
		goto out;
	}
	r = find_route(rl, route);
	b = find_bucket(rl, r ? r->key : route, false);
	if (!b)
		goto out;
	if (b->reset_at <= now && b->remaining == 0)
		b->remaining = -1;  /* the window passed: unknown until told */
	if (b->remaining == 0) {
		wait = (long)(b->reset_at - now);
		goto out;
	}
	if (b->remaining > 0)
		b->remaining--;
out:
	pthread_mutex_unlock(&rl->mu);
	return wait;
}

void dc_rl_update(struct dc_rl *rl, const char *route, long status, const struct dc_rl_info *info,
		  int64_t now)
{
	struct route *r;
	struct bucket *b;
	char *key;

	pthread_mutex_lock(&rl->mu);
	if (status == 429 && info->global) {
		long ra = info->retry_after_ms >= 0 ? info->retry_after_ms : 1000;

		if (now + ra > rl->global_until)
			rl->global_until = now + ra;
		goto out;
	}
	r = find_route(rl, route);
	if (info->bucket) {
		struct slice major = major_of(route);

		key = xasprintf("%s@%.*s", info->bucket, (int)major.n, major.p);
		if (!r) {
			rl->r = xgrow(rl->r, &rl->capr, rl->nr + 1, sizeof(*rl->r));
			rl->r[rl->nr] = (struct route){ xstrdup(route), key };
			r = &rl->r[rl->nr++];
		} else if (strcmp(r->key, key) != 0) {
			free(r->key);
			r->key = key;
		} else {
			free(key);
		}
	}
	b = find_bucket(rl, r ? r->key : route, true);
	if (info->remaining >= 0) {
		b->remaining = info->remaining;
		if (info->reset_after_ms >= 0)
			b->reset_at = now + info->reset_after_ms;
	}
	if (status == 429) {
		/* A bucket-scoped 429: nothing more on it until retry_after. */
		long ra = info->retry_after_ms >= 0 ? info->retry_after_ms
			: info->reset_after_ms >= 0 ? info->reset_after_ms : 1000;

		b->remaining = 0;
		if (now + ra > b->reset_at)
			b->reset_at = now + ra;
	}
out:
	pthread_mutex_unlock(&rl->mu);
}
