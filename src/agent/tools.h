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
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"

struct config;

/* What a tool may know about the turn that called it. */
struct tool_ctx {
	const struct config *cfg;
	const struct cancel *cancel;
	const char *channel;
	const char *conversation;
	const char *author_id;
	const char *timezone;      /* the owner's IANA zone (SEL_TIMEZONE) */
	int64_t now_ms;
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

#endif
