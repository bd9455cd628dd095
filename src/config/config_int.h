/* config_int.h — what the files of src/config/ share and nobody else sees.
 *
 * struct config keeps, per setting, the text it resolved to (after
 * normalisation), where that text came from and the parsed value, so the
 * typed accessors are plain loads and `kith config` can say where each value
 * came from. */
#ifndef KITH_CONFIG_INT_H
#define KITH_CONFIG_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

enum cfg_src {
	CFG_SRC_NONE = 0,   /* unset and no default */
	CFG_SRC_DEFAULT,
	CFG_SRC_ENV,
	CFG_SRC_DOTENV,     /* file index in `file` */
	CFG_SRC_DB,         /* a runtime override (/config, config_override) */
};

struct cfg_slot {
	char *text;          /* normalised value text; NULL = unset */
	enum cfg_src src;
	int file;            /* CFG_SRC_DOTENV: index into config.files */
	int line;            /* CFG_SRC_DOTENV: line of the KEY= */
	long long i;
	double f;
	bool b;
	char **list;         /* CFG_T_LIST: NULL-terminated */
};

#define CFG_MAX_FILES 2

struct config {
	struct cfg_slot slot[CFG_COUNT_];
	char *files[CFG_MAX_FILES];    /* absolute paths of the .env files read */
	char *origins[CFG_MAX_FILES];  /* ".env (/path)" */
	int nfiles;
	char *data_dir;
	char *db_path;
	char *him_dir;
	bool db_postgres;              /* DATABASE_URL names a PostgreSQL server */
	/* Runtime overrides: a slot per overridden setting, swapped in
	 * atomically so readers on any thread see the old or the new value.
	 * A replaced slot is kept (retired) until config_free, because a
	 * reader may still hold its strings. */
	struct cfg_slot *_Atomic ovr[CFG_COUNT_];
	pthread_mutex_t ovr_lock;
	struct cfg_slot **retired;
	size_t nretired, retired_cap;
};

/* The slot a reader should use: the override when there is one. */
const struct cfg_slot *cfg_slot_of(const struct config *c, enum cfg_id id);

/* dotenv_parse with the line number of each pair.  On a malformed line
 * returns KITH_EINVAL with *errline set and *errmsg a static string. */
enum kith_status dotenv_scan(const char *text, size_t n,
			     void (*set)(const char *key, const char *value, int line, void *ud),
			     void *ud, int *errline, const char **errmsg) KITH_MUST_CHECK;

/* Copy of a URL with the password of any user:password@ part replaced by
 * "****" (caller frees).  Text that is not a URL comes back unchanged. */
char *cfg_redact_url(const char *s);
/* The password of a user:password@ URL part (caller frees), or NULL. */
char *cfg_url_password(const char *s);

/* Which settings family config_llm uses: "ollama", "openrouter" or
 * "localai" (static string). */
const char *cfg_llm_family(const struct config *c);

#endif
