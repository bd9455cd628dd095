/* recent.c — what the Signal channel remembers: recent messages and the
 * envelopes it has already handed on.
 *
 * A quote on Signal needs the quoted message's author and text, and a
 * reaction its author, but the channel interface only carries the message
 * id (its timestamp).  So the channel keeps the last few hundred messages
 * it saw or sent in a ring, keyed by (conversation, timestamp).  The seen
 * set is a ring too: a replayed envelope (a reconnect, a poll that
 * overlaps) is recognised by (sender, timestamp) — Signal's own identity
 * of a message — for as long as it is in the ring.  Both are small, so a
 * linear scan under one mutex is plenty. */
#include "channel/signal/signal_int.h"
#include "core/alloc.h"
#include "core/utf8.h"

#include <pthread.h>
#include <string.h>

struct entry {
	char *conversation, *author, *text;
	int64_t ts;
};

struct sg_recent {
	pthread_mutex_t mu;
	struct entry *v;
	size_t cap, next, used;
};

struct sg_recent *sg_recent_new(size_t capacity)
{
	struct sg_recent *r = xcalloc(1, sizeof(*r));

	r->cap = capacity ? capacity : 1;
	r->v = xcalloc(r->cap, sizeof(*r->v));
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

static void entry_clear(struct entry *e)
{
	free(e->conversation);
	free(e->author);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

void sg_recent_free(struct sg_recent *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->cap; i++)
		entry_clear(&r->v[i]);
	free(r->v);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

void sg_recent_put(struct sg_recent *r, const char *conversation, int64_t ts, const char *author,
		   const char *text)
{
	struct entry *e;

	if (!conversation || !ts)
		return;
	pthread_mutex_lock(&r->mu);
	e = &r->v[r->next];
	entry_clear(e);
	e->conversation = xstrdup(conversation);
	e->author = xstrdup(author);
	e->text = utf8_dup_max(text, SG_MAX_QUOTE_TEXT);
	e->ts = ts;
	r->next = (r->next + 1) % r->cap;
	if (r->used < r->cap)
		r->used++;
	pthread_mutex_unlock(&r->mu);
}

bool sg_recent_get(struct sg_recent *r, const char *conversation, int64_t ts, char **author,
		   char **text)
{
	bool found = false;

	if (author)
		*author = NULL;
	if (text)
		*text = NULL;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->cap && !found; i++) {
		struct entry *e = &r->v[i];

		if (e->ts == ts && e->conversation && conversation &&
		    strcmp(e->conversation, conversation) == 0) {
			if (author)
				*author = xstrdup(e->author);
			if (text)
				*text = xstrdup(e->text);
			found = true;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return found;
}

int64_t sg_recent_last_by(struct sg_recent *r, const char *conversation, const char *author)
{
	int64_t best = 0;

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->cap; i++) {
		struct entry *e = &r->v[i];

		if (e->ts > best && e->conversation && e->author && conversation && author &&
		    strcmp(e->conversation, conversation) == 0 && strcmp(e->author, author) == 0)
			best = e->ts;
	}
	pthread_mutex_unlock(&r->mu);
	return best;
}

/* ---- seen ------------------------------------------------------------------ */

struct seen_key {
	char *source;
	int64_t ts;
};

struct sg_seen {
	pthread_mutex_t mu;
	struct seen_key *v;
	size_t cap, next;
};

struct sg_seen *sg_seen_new(size_t capacity)
{
	struct sg_seen *s = xcalloc(1, sizeof(*s));

	s->cap = capacity ? capacity : 1;
	s->v = xcalloc(s->cap, sizeof(*s->v));
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void sg_seen_free(struct sg_seen *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->v[i].source);
	free(s->v);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

bool sg_seen_first(struct sg_seen *s, const char *source, int64_t ts)
{
	bool first = true;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].ts == ts && s->v[i].source && source && strcmp(s->v[i].source, source) == 0) {
			first = false;
			break;
		}
	if (first) {
		free(s->v[s->next].source);
		s->v[s->next].source = xstrdup(source ? source : "");
		s->v[s->next].ts = ts;
		s->next = (s->next + 1) % s->cap;
	}
	pthread_mutex_unlock(&s->mu);
	return first;
}
