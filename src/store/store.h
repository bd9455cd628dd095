/* store.h — kith's SQLite database: one connection per thread.
 *
 * store_open() gives a connection in WAL mode with a busy timeout, so
 * workers, the scheduler and HTTP handlers can each hold their own.  Schema
 * changes are numbered migrations compiled into the binary (migrations.c),
 * tracked in `_migrations` and applied by store_migrate().  Functions that
 * return rows hand out heap copies the caller frees with the matching
 * *_free function. */
#ifndef KITH_STORE_H
#define KITH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct store;

/* Open (creating if needed) the database at `path`; parent directories are
 * created with mode 0700.  Does not migrate. */
enum kith_status store_open(const char *path, struct store **out, char **why) KITH_MUST_CHECK;
void store_close(struct store *st);

/* Apply pending migrations, each in its own transaction.  *applied (may be
 * NULL) receives how many ran.  Fails when the database carries a migration
 * this binary does not know (a newer kith wrote it). */
enum kith_status store_migrate(struct store *st, int *applied, char **why) KITH_MUST_CHECK;
/* Check the compiled-in list: numbers positive, unique and increasing. */
enum kith_status store_migrations_validate(char **why) KITH_MUST_CHECK;
/* Latest migration number applied to this database (0 = none). */
enum kith_status store_schema_version(struct store *st, int *version, char **why) KITH_MUST_CHECK;
int store_migrations_latest(void);

/* ---- messages ---------------------------------------------------------- */

enum msg_direction { MSG_INCOMING = 0, MSG_OUTGOING = 1 };

/* A stored message (owned strings; free with store_messages_free). */
struct store_message {
	int64_t id;
	enum msg_direction direction;
	char *channel;       /* "console", "discord", "signal" */
	char *conversation;  /* channel-specific conversation (channel/thread/group) */
	char *author_id;
	char *author_name;   /* may be NULL */
	char *content;
	char *external_id;   /* the platform's message id, may be NULL */
	int64_t parent_id;   /* message this one replies to, 0 = none */
	int64_t created_at;  /* epoch ms */
};

/* A message to insert (borrowed strings). */
struct new_message {
	enum msg_direction direction;
	const char *channel;
	const char *conversation;
	const char *author_id;
	const char *author_name;
	const char *content;
	const char *external_id;
	int64_t parent_id;
	int64_t created_at;  /* 0 = now */
};

/* Insert; *id (may be NULL) receives the new row id. */
enum kith_status store_message_add(struct store *st, const struct new_message *m,
				   int64_t *id, char **why) KITH_MUST_CHECK;
/* The `limit` most recent messages of a conversation, oldest first. */
enum kith_status store_messages_recent(struct store *st, const char *channel,
				       const char *conversation, size_t limit,
				       struct store_message **out, size_t *n,
				       char **why) KITH_MUST_CHECK;
void store_messages_free(struct store_message *msgs, size_t n);

/* ---- LLM calls ---------------------------------------------------------- */

struct store_llm_call {
	const char *role;        /* "main", "util", … */
	const char *provider;
	const char *model;
	int64_t message_id;      /* the message that caused it, 0 = none */
	int ok;
	const char *error;       /* NULL on success */
	long http_status;
	int attempts;
	int64_t duration_ms;
	long prompt_tokens, completion_tokens;  /* -1 = unknown */
	const char *request;     /* JSON sent */
	const char *response;    /* JSON received */
};

enum kith_status store_llm_call_add(struct store *st, const struct store_llm_call *c,
				    int64_t *id, char **why) KITH_MUST_CHECK;

#endif
