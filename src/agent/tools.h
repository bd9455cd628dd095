/* tools.h — the tools the model may call, and checking its calls.
 *
 * A tool is a name, a description, a JSON-schema for its parameters and a
 * function.  The registry turns itself into the `tools` array an LLM request
 * carries, and tools_call() is the one door a model's call goes through:
 * unknown names, arguments that are not an object and arguments that break
 * the schema come back as an error text for the model instead of running
 * anything. */
#ifndef KITH_AGENT_TOOLS_H
#define KITH_AGENT_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"

struct attachment;
struct config;
struct store;

/* What tools hand the turn besides the text the model reads: files to
 * attach to the reply (search's image) and source URLs (search's ranked
 * sources, in the order found over the whole turn, without duplicates).
 * The agent owns one per turn, zero-initialised, points tool_ctx.out at
 * it, and after the loop sends out->attachments with the reply and passes
 * out->sources to search_append_source() (tools/search.h).  Release with
 * tool_out_release(). */
struct tool_out {
	struct attachment *attachments;
	size_t nattachments;
	char **sources;
	size_t nsources;
};

/* Take the contents of *a (its pointers move into o; *a is zeroed). */
void tool_out_add_attachment(struct tool_out *o, struct attachment *a);
/* Copy url in unless it is already there. */
void tool_out_add_source(struct tool_out *o, const char *url);
void tool_out_release(struct tool_out *o);

/* What a tool may know about the turn that called it.  The fields after
 * now_ms are optional (NULL = not available): tools work without them. */
struct tool_ctx {
	const struct config *cfg;
	const struct cancel *cancel;
	const char *channel;
	const char *conversation;
	const char *author_id;
	const char *timezone;      /* the owner's IANA zone (SEL_TIMEZONE) */
	int64_t now_ms;
	struct store *store;       /* this thread's connection: tools that keep a
				    * record (search's search_log) write here */
	struct tool_out *out;      /* where tools leave attachments and sources
				    * for the reply; NULL = they are dropped */
	const char *user_name;     /* the asker's name: kept out of web queries */
	const char *message;       /* the message being answered (a user who
				    * names themselves is not redacted) */
};

/* Run with validated arguments.  On success *result is a heap string for the
 * model; on failure *why says what went wrong (also shown to the model). */
typedef enum kith_status (*tool_run_fn)(const struct tool_ctx *ctx, const json_t *args,
					char **result, char **why);

struct tool_def {
	const char *name;
	const char *description;
	const char *parameters;   /* JSON schema text (an object schema) */
	tool_run_fn run;
	bool remember;            /* it changes something: each successful run is
				   * kept as an episodic memory (an agent action) */
};

struct tool_registry;

struct tool_registry *tools_new(void);
void tools_free(struct tool_registry *r);
/* Register a static definition (not copied).  A malformed schema or a
 * duplicate name is a programmer error. */
void tools_add(struct tool_registry *r, const struct tool_def *def);
/* The registry as an LLM `tools` array: [{"name","description","parameters"}].
 * Borrowed; lives as long as the registry. */
const json_t *tools_schema(const struct tool_registry *r);
size_t tools_count(const struct tool_registry *r);
/* Whether `name` is a registered tool whose runs are remembered. */
bool tools_remembered(const struct tool_registry *r, const char *name);

/* Validate and run one call.  Always produces *result (a heap string): the
 * tool's output, or an error sentence addressed to the model.  Returns
 * KITH_OK when the tool ran, KITH_ENOTFOUND for unknown tools, KITH_EINVAL
 * for bad arguments, or the tool's own failure status. */
enum kith_status tools_call(const struct tool_registry *r, const struct tool_ctx *ctx,
			    const char *name, const json_t *args, const char *args_raw,
			    char **result);

/* Validate `value` against a JSON schema (the subset tools use: type,
 * properties, required, additionalProperties, enum, items, minimum/maximum,
 * minLength/maxLength).  *why names the offending parameter. */
enum kith_status schema_validate(const json_t *schema, const json_t *value,
				 char **why) KITH_MUST_CHECK;

/* The built-in tools. */
extern const struct tool_def tool_current_time;
extern const struct tool_def tool_convert_time;
/* Web search (tools/tool_search.c): register only when search_available()
 * (tools/search.h).  Leaves its image and sources in ctx->out. */
extern const struct tool_def tool_search;

#endif
