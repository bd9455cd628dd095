/* plugin.h — plugin agents: the files in AGENTS_DIR, finding which one a
 * message asks for, and running it without risking kith.
 *
 * Two kinds of agent (docs/plugins.md):
 *   - a shared object (NAME.so) built against include/kith/plugin.h; every
 *     call — and the description read at load time — happens in a forked
 *     child, so a crash or a hang ends there;
 *   - an executable (NAME, NAME.sh, …) that prints its description for
 *     `--describe` and answers the request it reads on standard input, run
 *     through core/spawn (argument vector, clean environment, deadline,
 *     output cap).
 *
 * The registry (struct plugins) is filled at open and rescanned when the
 * directory changes (an inotify thread, debounced); lookups copy what they
 * need under a lock, so a reload never pulls an agent out from under a
 * caller.  Detection is pure (plugin_detect_*), tested on its own.
 *
 * What the message agent calls, per message:
 *   plugins_detect(p, text, classify, ud, &m)   → which agent and its input
 *   plugins_run(p, m.agent, m.input, &res, &why) → the answer (or the reason)
 *   plugin_format_result(m.agent, res or why)   → "[NAME] …" for the user
 *   agent_remember_action(deps, st, in, m.agent, m.input) → the run is kept */
#ifndef KITH_PLUGIN_PLUGIN_H
#define KITH_PLUGIN_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct config;

enum plugin_kind {
	PLUGIN_SHARED = 0,   /* NAME.so, include/kith/plugin.h */
	PLUGIN_EXEC = 1,     /* an executable file */
};

/* "shared object" / "executable" (static). */
const char *plugin_kind_name(enum plugin_kind k);

struct plugin_options {
	const char *dir;          /* AGENTS_DIR (copied) */
	int timeout_ms;           /* one run (AGENT_TIMEOUT); 0 = 30 s */
	int describe_timeout_ms;  /* reading a description; 0 = 5 s (never more
				   * than timeout_ms) */
	size_t max_output;        /* bytes of an answer kept (AGENT_MAX_OUTPUT);
				   * 0 = 8000 */
	bool watch;               /* reload when the directory changes */
	int debounce_ms;          /* quiet time before a reload; 0 = 200 ms */
};

/* Options from the configuration (AGENTS_DIR, AGENT_TIMEOUT,
 * AGENT_MAX_OUTPUT), watching on.  The strings are borrowed from cfg. */
void plugin_options_from_config(const struct config *cfg, struct plugin_options *o);

struct plugins;

/* Scan the directory now (a missing directory is not an error: no agents,
 * and with `watch` it is picked up when it appears) and, with `watch`,
 * start the reload thread.  Fails only when the thread cannot start. */
enum kith_status plugins_open(const struct plugin_options *o, struct plugins **out,
			      char **why) KITH_MUST_CHECK;
/* Stop the thread and free everything (NULL is fine).  No call may be in
 * flight. */
void plugins_free(struct plugins *p);

/* Rescan now (the thread does this on its own).  Unchanged files keep
 * their description; new and changed ones are described again. */
void plugins_reload(struct plugins *p);
/* Counts completed scans; plugins_wait_scan blocks until the count passes
 * `after` or timeout_ms runs out (returns whether it passed).  Tests use
 * these to wait for a reload without sleeping. */
uint64_t plugins_generation(struct plugins *p);
bool plugins_wait_scan(struct plugins *p, uint64_t after, int timeout_ms);
const char *plugins_dir(const struct plugins *p);

/* A copy of one loaded agent (every string owned by the copy). */
struct plugin_info {
	char *name;
	enum plugin_kind kind;
	char *description;
	char **keywords;          /* NULL-terminated, lower-case */
	char *path;
};

/* The loaded agents sorted by name, as a heap array of copies (*out is NULL
 * when there are none).  Free with plugin_info_free(). */
size_t plugins_list(struct plugins *p, struct plugin_info **out);
void plugin_info_free(struct plugin_info *a, size_t n);
bool plugins_has(struct plugins *p, const char *name);

/* Run agent `name` on `input` (NULL = "").  KITH_OK: *result is the answer
 * (heap, cleaned UTF-8, at most max_output bytes).  Otherwise *why says
 * what happened, naming the agent: KITH_ENOTFOUND (no such agent),
 * KITH_ETIMEDOUT ("agent NAME timed out after 30 s"), KITH_EIO ("agent
 * NAME crashed (signal 11)", "agent NAME failed: …").  Safe from any
 * thread, concurrently with reloads and other runs. */
enum kith_status plugins_run(struct plugins *p, const char *name, const char *input,
			     char **result, char **why) KITH_MUST_CHECK;

/* "[NAME] text" (heap). */
char *plugin_format_result(const char *name, const char *text);

/* ---- detection ------------------------------------------------------- */

enum plugin_how {
	PLUGIN_BY_PATTERN = 1,    /* agent:NAME, use NAME, run NAME, NAME agent, NAME tool */
	PLUGIN_BY_KEYWORD = 2,    /* one of the agent's keywords */
	PLUGIN_BY_MODEL = 3,      /* the classify hook chose it */
};

struct plugin_match {
	char *agent;              /* heap: the agent's name */
	char *input;              /* heap: what to give it (case kept) */
	enum plugin_how how;
};

void plugin_match_release(struct plugin_match *m);

/* What detection sees of an agent (borrowed strings). */
struct plugin_candidate {
	const char *name;
	const char *description;
	const char *const *keywords;   /* NULL-terminated, may be NULL */
};

/* Explicit patterns, in SEL's priority order: `agent:NAME`, `use NAME`,
 * `run NAME`, `NAME agent`, `NAME tool` — ASCII case-insensitive, whole
 * words, NAME one of the candidates.  An earlier pattern wins over a later
 * one wherever they are in the text; within one pattern the first
 * occurrence wins.  The input is the text after the marker (leading ':' ','
 * and blanks dropped, case kept), or the whole message when that is empty.
 * Returns whether a pattern matched (then *out is filled). */
bool plugin_detect_explicit(const struct plugin_candidate *c, size_t n, const char *text,
			    struct plugin_match *out);
/* Keywords: the candidate whose keyword (whole words, case-insensitive)
 * occurs first in the text; the input is the whole message. */
bool plugin_detect_keyword(const struct plugin_candidate *c, size_t n, const char *text,
			   struct plugin_match *out);

/* The third step, the utility model's classification, supplied by the
 * message agent: fill out->agent and out->input (heap) and return true to
 * choose an agent.  An answer naming an agent that is not a candidate is
 * ignored.  Called without any registry lock held. */
typedef bool (*plugin_classify_fn)(void *ud, const struct plugin_candidate *c, size_t n,
				   const char *text, struct plugin_match *out);

/* Explicit pattern → keyword → classify (NULL = skip), over the agents
 * loaded now.  Returns whether an agent was chosen (*out filled). */
bool plugins_detect(struct plugins *p, const char *text, plugin_classify_fn classify,
		    void *ud, struct plugin_match *out);

/* Whether `name` is a valid agent name: [a-z0-9_-]{1,64}. */
bool plugin_name_valid(const char *name, size_t len);

#endif
