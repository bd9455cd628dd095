/* tool_search.c — the "search" tool the model calls.
 *
 * A thin wrapper over search_run(): the options come from the settings and
 * the turn (owner's zone, cancel token, database, the asker's name for
 * redaction).  The model reads the cleaned text with a numbered "Sources:"
 * list; the sources and the image go to ctx->out for the reply.  A failed
 * text search is not a tool error: the model is told "Failed to search:
 * <reason>" and answers without it, as in Penny. */
#include "agent/tools.h"
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/json.h"
#include "tools/search.h"

#include <string.h>

static const char *file_name(const char *mime)
{
	if (mime && strcmp(mime, "image/png") == 0)
		return "search-image.png";
	if (mime && strcmp(mime, "image/gif") == 0)
		return "search-image.gif";
	if (mime && strcmp(mime, "image/webp") == 0)
		return "search-image.webp";
	return "search-image.jpg";
}

static void hand_over(struct tool_out *out, struct search_result *r)
{
	struct attachment a = { 0 };

	for (size_t i = 0; i < r->nsources; i++)
		tool_out_add_source(out, r->sources[i]);
	if (!r->image.data)
		return;
	a.content_type = r->image.mime;
	a.filename = xstrdup(file_name(r->image.mime));
	a.data = r->image.data;
	a.len = r->image.len;
	r->image.mime = NULL;
	r->image.data = NULL;
	r->image.len = 0;
	tool_out_add_attachment(out, &a);
}

static enum kith_status run_search(const struct tool_ctx *ctx, const json_t *args,
				   char **result, char **why)
{
	const char *query = kjson_str(args, "query");
	struct search_opts o;
	struct search_result r;
	char **terms;
	enum kith_status rc;

	if (!search_available(ctx->cfg))
		return kith_why(why, KITH_ECONFIG, "web search is not configured");
	search_opts_from_config(&o, ctx->cfg);
	if (ctx->timezone && *ctx->timezone)
		o.timezone = ctx->timezone;
	o.now_ms = ctx->now_ms;
	o.cancel = ctx->cancel;
	o.store = ctx->store;
	o.author_id = ctx->author_id;
	terms = search_redact_terms(ctx->user_name, ctx->message);
	o.redact = (const char *const *)terms;
	rc = search_run(&o, query ? query : "", &r, NULL);
	*result = search_format_for_model(&r);
	if (rc == KITH_OK && ctx->out)
		hand_over(ctx->out, &r);
	search_result_release(&r);
	search_terms_free(terms);
	return KITH_OK;
}

const struct tool_def tool_search = {
	.name = "search",
	.description = "Search the web for current information. Use it for anything about the "
		       "world: news, facts, products, places, people, prices, events. Returns a "
		       "summary with numbered source links.",
	.parameters = "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\","
		      "\"description\":\"What to search for, as a full question or phrase\"}},"
		      "\"required\":[\"query\"],\"additionalProperties\":false}",
	.run = run_search,
};
