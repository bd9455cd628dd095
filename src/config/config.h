/* config.h — kith's settings: one table, environment + .env, typed access.
 *
 * Every setting is declared once in settings.def (name, type, default,
 * bounds, flags, group, help).  The names are the environment variables of
 * both reference systems, unchanged, so an existing SEL or Penny .env works.
 * Values resolve: real environment > ./.env > $KITH_DATA_DIR/.env > default.
 * A value that does not parse or is out of bounds makes config_load fail
 * with KITH_ECONFIG and a sentence naming the variable and the expected form
 * (the CLI turns that into exit code 2). */
#ifndef KITH_CONFIG_H
#define KITH_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "core/status.h"
#include "llm/llm.h"

enum cfg_type {
	CFG_T_STR,    /* free text */
	CFG_T_INT,    /* integer within [min, max] */
	CFG_T_FLOAT,  /* number within [min, max] */
	CFG_T_BOOL,   /* true/false/1/0/yes/no/on/off */
	CFG_T_URL,    /* http:// or https:// URL */
	CFG_T_LIST,   /* comma-separated or JSON array of strings */
	CFG_T_ENUM,   /* one of the '|'-separated choices in `choices` */
	CFG_T_PATH,   /* filesystem path */
	CFG_T_LEVEL,  /* log level name */
};

#define CFG_SECRET 0x1u   /* masked in output and logs */
#define CFG_RUNTIME 0x8u  /* may be changed while kith runs (/config) */

enum cfg_id {
#define X(name, type, def, min, max, choices, flags, group, help) CFG_##name,
#include "config/settings.def"
#undef X
	CFG_COUNT_
};

struct cfg_def {
	const char *name;
	enum cfg_type type;
	const char *def;       /* default as text, NULL = unset */
	double min, max;       /* numeric bounds (ignored for other types) */
	const char *choices;   /* CFG_T_ENUM: "a|b|c" */
	unsigned flags;
	const char *group;
	const char *help;
};

const struct cfg_def *config_def(enum cfg_id id);
/* Look a setting up by its variable name; returns CFG_COUNT_ if unknown. */
enum cfg_id config_lookup(const char *name);

struct config;

/* Load from `envp` (NULL-terminated "K=V" strings; NULL = the process
 * environment), reading .env from `cwd` (NULL = the current directory) and
 * then from the data directory.  On failure *why names the variable. */
enum kith_status config_load(struct config **out, const char *const *envp, const char *cwd,
			     char **why) KITH_MUST_CHECK;
void config_free(struct config *c);

/* Typed access.  The setting must have the matching type (else KITH_BUG). */
const char *config_str(const struct config *c, enum cfg_id id); /* NULL = unset */
long long config_int(const struct config *c, enum cfg_id id);
double config_float(const struct config *c, enum cfg_id id);
bool config_bool(const struct config *c, enum cfg_id id);
/* NULL-terminated list owned by the config (never NULL; may be empty). */
const char *const *config_list(const struct config *c, enum cfg_id id);

bool config_is_set(const struct config *c, enum cfg_id id); /* env or .env gave it */
/* "default", "environment" or ".env (/path/to/.env)". */
const char *config_origin(const struct config *c, enum cfg_id id);

/* ---- Runtime overrides (Penny's /config) ----------------------------------
 * A setting flagged CFG_RUNTIME may be overridden while kith runs; the
 * override wins over the environment, .env and the default, and every
 * accessor sees it at once (readers on other threads see the old or the new
 * value, never a torn one; strings stay valid until config_free).  The
 * overrides are kept in the database's runtime_config table and applied by
 * config_runtime_sync (config/runtime.c). */
bool config_runtime_settable(enum cfg_id id);
/* Validate `text` for `id` exactly as config_load would.  *norm (may be
 * NULL) receives the normalised text (heap). */
enum kith_status config_check_value(enum cfg_id id, const char *text, char **norm,
				    char **why) KITH_MUST_CHECK;
/* Set (text) or remove (text NULL) the override of a CFG_RUNTIME setting.
 * The config is logically const: only its override layer changes. */
enum kith_status config_override(const struct config *c, enum cfg_id id, const char *text,
				 char **why) KITH_MUST_CHECK;
bool config_is_overridden(const struct config *c, enum cfg_id id);
/* The value without any override (environment, .env or default). */
const char *config_base_text(const struct config *c, enum cfg_id id);

/* Derived paths (owned by the config). */
const char *config_data_dir(const struct config *c);
const char *config_db_path(const struct config *c);
const char *config_him_dir(const struct config *c);

/* Print the effective configuration, with origins, secrets masked. */
void config_print(const struct config *c, FILE *out);
/* Hand every configured secret to log_add_secret(). */
void config_register_secrets(const struct config *c);

/* Resolve the LLM provider and per-role models/temperatures following both
 * seeds: LLM_PROVIDER forces one; else Ollama when OLLAMA_API_URL is set;
 * else OpenAI-compatible when OPENROUTER_API_KEY or OPENROUTER_BASE_URL is
 * set; else Ollama at http://localhost:11434.  `out` is initialised here. */
enum kith_status config_llm(const struct config *c, struct llm_config *out,
			    char **why) KITH_MUST_CHECK;

/* Parse .env text.  Calls `set` for each KEY=VALUE in order.  Supports
 * comments, blank lines, `export KEY=…`, single/double quotes (double quotes
 * with \n \" \\ escapes, may span lines), and inline ` #` comments after
 * unquoted values.  A malformed line stops parsing with KITH_EINVAL and
 * *why = "line N: …"; pairs before it have already been delivered. */
enum kith_status dotenv_parse(const char *text, size_t n,
			      void (*set)(const char *key, const char *value, void *ud),
			      void *ud, char **why) KITH_MUST_CHECK;

#endif
