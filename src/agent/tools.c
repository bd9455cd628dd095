/* tools.c — the tool registry and the checked call path. */
#include "agent/tools.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/log.h"

#include <string.h>

struct tool_entry {
	const struct tool_def *def;
	json_t *schema;
};

struct tool_registry {
	struct tool_entry *tools;
	size_t n, cap;
	json_t *llm_tools;   /* the array handed to llm requests */
};

struct tool_registry *tools_new(void)
{
	struct tool_registry *r = xcalloc(1, sizeof(*r));

	r->llm_tools = json_array();
	return r;
}

void tools_free(struct tool_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->tools[i].schema);
	free(r->tools);
	json_decref(r->llm_tools);
	free(r);
}

static struct tool_entry *find(const struct tool_registry *r, const char *name)
{
	for (size_t i = 0; name && i < r->n; i++) {
		if (strcmp(r->tools[i].def->name, name) == 0)
			return &r->tools[i];
	}
	return NULL;
}

void tools_add(struct tool_registry *r, const struct tool_def *def)
{
	char *why = NULL;
	json_t *schema = kjson_parse(def->parameters, strlen(def->parameters), &why);
	json_t *entry;

	if (!json_is_object(schema) || find(r, def->name)) {
		log_error("agent", "tool '%s': %s", def->name, why ? why : "duplicate or not an object");
		KITH_BUG("bad tool definition");
	}
	r->tools = xgrow(r->tools, &r->cap, r->n + 1, sizeof(*r->tools));
	r->tools[r->n].def = def;
	r->tools[r->n].schema = schema;
	r->n++;
	entry = json_pack("{s:s, s:s, s:O}", "name", def->name, "description", def->description,
			  "parameters", schema);
	json_array_append_new(r->llm_tools, entry);
}

const json_t *tools_schema(const struct tool_registry *r)
{
	return r->llm_tools;
}

size_t tools_count(const struct tool_registry *r)
{
	return r->n;
}

bool tools_remembered(const struct tool_registry *r, const char *name)
{
	struct tool_entry *e = name ? find(r, name) : NULL;

	return e && e->def->remember;
}

static char *tool_names(const struct tool_registry *r)
{
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; i < r->n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", r->tools[i].def->name);
	return buf_detach(&b);
}

enum kith_status tools_call(const struct tool_registry *r, const struct tool_ctx *ctx,
			    const char *name, const json_t *args, const char *args_raw,
			    char **result)
{
	struct tool_entry *t = find(r, name);
	char *why = NULL, *out = NULL;
	enum kith_status rc;

	*result = NULL;
	if (!t) {
		char *names = tool_names(r);

		*result = xasprintf("Error: there is no tool named '%s'. Available tools: %s.",
				    name ? name : "", *names ? names : "none");
		free(names);
		return KITH_ENOTFOUND;
	}
	if (!args) {
		*result = xasprintf("Error: the arguments for '%s' are not a JSON object (got: %.200s). "
				    "Call it again with a JSON object.", name,
				    args_raw ? args_raw : "nothing");
		return KITH_EINVAL;
	}
	rc = schema_validate(t->schema, args, &why);
	if (rc) {
		*result = xasprintf("Error: invalid arguments for '%s': %s. Expected parameters: %s",
				    name, why ? why : kith_strerror(rc), t->def->parameters);
		free(why);
		return KITH_EINVAL;
	}
	rc = t->def->run(ctx, args, &out, &why);
	if (rc) {
		*result = xasprintf("Error: '%s' failed: %s", name, why ? why : kith_strerror(rc));
		free(why);
		free(out);
		return rc;
	}
	*result = out ? out : xstrdup("");
	return KITH_OK;
}
