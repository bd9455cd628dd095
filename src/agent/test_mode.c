/* test_mode.c — isolated conversations for /test (test_mode.h). */
#include "agent/test_mode.h"
#include "agent/agent.h"
#include "core/alloc.h"
#include "core/log.h"
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct session {
	char *channel, *conversation, *path;
	struct store *st;
	struct session *next;
};

struct test_mode {
	pthread_mutex_t mu;
	char *dir;
	struct session *sessions;
	uint64_t once;   /* numbers throw-away databases */
};

struct test_mode *test_mode_new(const char *data_dir)
{
	struct test_mode *tm = xcalloc(1, sizeof(*tm));

	pthread_mutex_init(&tm->mu, NULL);
	tm->dir = xasprintf("%s/test", data_dir ? data_dir : ".");
	return tm;
}

static void remove_db(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char *p = xasprintf("%s%s", path, suffix[i]);

		(void)unlink(p);
		free(p);
	}
}

static void session_free(struct session *s)
{
	store_close(s->st);
	remove_db(s->path);
	free(s->channel);
	free(s->conversation);
	free(s->path);
	free(s);
}

void test_mode_free(struct test_mode *tm)
{
	if (!tm)
		return;
	while (tm->sessions) {
		struct session *s = tm->sessions;

		tm->sessions = s->next;
		session_free(s);
	}
	pthread_mutex_destroy(&tm->mu);
	free(tm->dir);
	free(tm);
}

static struct session **find(struct test_mode *tm, const char *channel, const char *conversation)
{
	struct session **p = &tm->sessions;

	for (; *p; p = &(*p)->next)
		if (strcmp((*p)->channel, channel) == 0 &&
		    strcmp((*p)->conversation, conversation) == 0)
			return p;
	return p;
}

/* A fresh, migrated database at `path` (anything there before is gone). */
static enum kith_status fresh_db(struct test_mode *tm, const char *path, struct store **st,
				 char **why)
{
	int applied = 0;
	enum kith_status rc;

	if (mkdir(tm->dir, 0700) != 0 && errno != EEXIST)
		return kith_why(why, KITH_EIO, "cannot create %s: %s", tm->dir, strerror(errno));
	remove_db(path);
	if ((rc = store_open(path, st, why)) != KITH_OK)
		return rc;
	if ((rc = store_migrate(*st, &applied, why)) != KITH_OK) {
		store_close(*st);
		*st = NULL;
	}
	return rc;
}

/* FNV-1a, so a conversation id never becomes part of a path. */
static uint64_t name_hash(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = a; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = b; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

enum kith_status test_mode_start(struct test_mode *tm, const char *channel,
				 const char *conversation, char **why)
{
	struct session *s;
	enum kith_status rc;

	pthread_mutex_lock(&tm->mu);
	if (*find(tm, channel, conversation)) {
		pthread_mutex_unlock(&tm->mu);
		return kith_why(why, KITH_EEXIST, "this conversation is already in test mode");
	}
	s = xcalloc(1, sizeof(*s));
	s->channel = xstrdup(channel);
	s->conversation = xstrdup(conversation);
	s->path = xasprintf("%s/%016llx.db", tm->dir,
			    (unsigned long long)name_hash(channel, conversation));
	rc = fresh_db(tm, s->path, &s->st, why);
	if (rc) {
		free(s->channel);
		free(s->conversation);
		free(s->path);
		free(s);
	} else {
		s->next = tm->sessions;
		tm->sessions = s;
	}
	pthread_mutex_unlock(&tm->mu);
	return rc;
}

enum kith_status test_mode_stop(struct test_mode *tm, const char *channel,
				const char *conversation)
{
	struct session **p, *s;

	pthread_mutex_lock(&tm->mu);
	p = find(tm, channel, conversation);
	s = *p;
	if (s)
		*p = s->next;
	pthread_mutex_unlock(&tm->mu);
	if (!s)
		return KITH_ENOTFOUND;
	session_free(s);
	return KITH_OK;
}

bool test_mode_active(struct test_mode *tm, const char *channel, const char *conversation)
{
	bool on;

	if (!tm || !channel || !conversation)
		return false;
	pthread_mutex_lock(&tm->mu);
	on = *find(tm, channel, conversation) != NULL;
	pthread_mutex_unlock(&tm->mu);
	return on;
}

enum kith_status test_mode_turn(struct test_mode *tm, const struct agent_deps *deps,
				const struct agent_turn_in *in, char **reply, char **why)
{
	struct agent_deps fresh = *deps;
	struct agent_turn_out out = { 0 };
	struct store *st = NULL, *once = NULL;
	char *once_path = NULL;
	enum kith_status rc;

	*reply = NULL;
	/* A kith with nothing of the real one's: no memory, no agents, no
	 * background work to tell. */
	fresh.memory = NULL;
	fresh.plugins = NULL;
	fresh.system = NULL;
	fresh.sched = NULL;
	fresh.budget = NULL;
	fresh.on_person_wrote = NULL;
	fresh.test_mode = NULL;
	pthread_mutex_lock(&tm->mu);
	{
		struct session *s = *find(tm, in->channel, in->conversation);

		st = s ? s->st : NULL;
		if (!s)
			once_path = xasprintf("%s/once-%llu-%ld.db", tm->dir,
					      (unsigned long long)++tm->once, (long)getpid());
	}
	pthread_mutex_unlock(&tm->mu);
	if (!st) {
		if ((rc = fresh_db(tm, once_path, &once, why)) != KITH_OK) {
			free(once_path);
			return rc;
		}
		st = once;
	}
	rc = agent_turn(&fresh, st, in, &out, why);
	if (rc == KITH_OK)
		*reply = xasprintf("[TEST] %s", out.reply && *out.reply ? out.reply
									 : "No reply came back.");
	agent_turn_out_release(&out);
	if (once) {
		store_close(once);
		remove_db(once_path);
	}
	free(once_path);
	return rc;
}
