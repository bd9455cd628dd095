/* agent.c — the message agent loop.
 *
 * Each step is one LLM call.  When the model asks for tools, each call goes
 * through tools_call() (unknown tools and bad arguments become error text
 * for the model), a repeat of an identical call within the same message is
 * refused instead of run, and the results go back on the next step.  The
 * last allowed step offers no tools, so a turn always ends with words. */
#include "agent/agent.h"
#include "agent/transcript.h"
#include "config/config.h"
#include "agent/tools.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "llm/llm.h"
#include "store/store.h"
#include "tools/search.h"

#include <string.h>

static void record_call(struct store *st, const struct agent_deps *deps, enum llm_role role,
			int64_t message_id, const struct llm_response *r, enum kith_status rc,
			const char *error)
{
	struct store_llm_call c = {
		.role = llm_role_name(role),
		.provider = llm_provider_name(llm_client_config(deps->llm)->provider),
		.model = r->model ? r->model : llm_model(deps->llm, role),
		.message_id = message_id,
		.ok = rc == KITH_OK,
		.error = rc ? (error ? error : kith_strerror(rc)) : NULL,
		.http_status = r->http_status,
		.attempts = r->attempts,
		.duration_ms = r->duration_ms,
		.prompt_tokens = r->prompt_tokens,
		.completion_tokens = r->completion_tokens,
		.request = r->request_json,
		.response = r->response_json,
	};
	char *why = NULL;

	if (store_llm_call_add(st, &c, NULL, &why) != KITH_OK) {
		log_warn("agent", "could not record an LLM call: %s", why);
		free(why);
	}
}

/* The conversation so far, oldest first, including this turn's message
 * (stored just before).  *recent (may be NULL) receives the same as lines
 * of text for the memory query. */
#define THREAD_MAX 20   /* messages of a quoted thread walked for context */

/* The conversation so far, oldest first, ending with this turn's message
 * (stored just before as `message_id`): the quoted thread when the message
 * replies to one (its parent chain, up to THREAD_MAX), else the latest
 * RECENT_CONTEXT_LIMIT messages.  *recent (may be NULL) receives the same
 * as lines of text for the memory query. */
static void load_history(const struct agent_deps *deps, struct store *st,
			 const struct agent_turn_in *in, int64_t message_id, int64_t parent,
			 struct transcript *t, char **recent)
{
	struct store_message *rows = NULL;
	size_t n = 0;
	char *why = NULL;
	size_t limit = deps->recent_limit > 0 ? (size_t)deps->recent_limit : 20;
	struct buf b = BUF_INIT(0);
	enum kith_status rc;

	if (parent > 0)
		rc = store_messages_thread(st, message_id, THREAD_MAX + 1, &rows, &n, &why);
	else	/* +1: the newest row is the message of this turn */
		rc = store_messages_recent(st, in->channel, in->conversation, limit + 1, &rows, &n,
					   &why);
	if (rc != KITH_OK) {
		log_warn("agent", "no conversation history this turn: %s", why);
		free(why);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		transcript_add(t, rows[i].direction == MSG_OUTGOING ? LLM_MSG_ASSISTANT : LLM_MSG_USER,
			       rows[i].content);
		if (i + 1 < n)   /* the message itself is the query already */
			buf_printf(&b, "%s: %s\n", rows[i].author_name ? rows[i].author_name
								 : rows[i].author_id,
				   rows[i].content);
	}
	if (n == 0)
		transcript_add(t, LLM_MSG_USER, in->text);
	store_messages_free(rows, n);
	if (recent)
		*recent = buf_detach(&b);
	else
		buf_release(&b);
}

/* What a tool may know about this turn; found things go to `found`. */
static struct tool_ctx tool_ctx_for(const struct agent_deps *deps, struct store *st,
				    const struct agent_turn_in *in, struct tool_out *found)
{
	struct tool_ctx ctx = {
		.cfg = deps->cfg, .cancel = in->cancel, .channel = in->channel,
		.conversation = in->conversation, .author_id = in->author_id,
		.timezone = deps->timezone, .now_ms = clock_now_ms(), .store = st, .out = found,
		.user_name = in->author_name, .message = in->text,
	};

	return ctx;
}

static void run_tool_calls(const struct agent_deps *deps, struct store *st,
			   const struct agent_turn_in *in, const struct llm_response *r,
			   struct transcript *t, struct seen_calls *seen, int *tool_calls,
			   struct tool_out *found)
{
	struct tool_ctx ctx = tool_ctx_for(deps, st, in, found);

	transcript_add_calls(t, r);
	for (size_t i = 0; i < r->ncalls; i++) {
		const struct llm_tool_call *c = &r->calls[i];
		char *result = NULL;
		struct llm_msg *res;

		if (seen_call_before(seen, c)) {
			result = xasprintf("Error: you already called '%s' with exactly these "
					   "arguments for this message; its result is above. Use it, "
					   "or answer the user.", c->name ? c->name : "");
			log_info("agent", "blocked a repeated call to %s", c->name ? c->name : "?");
		} else {
			enum kith_status rc = tools_call(deps->tools, &ctx, c->name, c->arguments,
							 c->arguments_raw, &result);

			log_info("agent", "tool %s → %s", c->name ? c->name : "?", kith_strerror(rc));
			(*tool_calls)++;
			if (rc == KITH_OK && tools_remembered(deps->tools, c->name)) {
				char *args = c->arguments ? kjson_dump(c->arguments, true) : NULL;

				agent_remember_action(deps, st, in, c->name,
						      args ? args : c->arguments_raw);
				free(args);
			}
		}
		res = transcript_add(t, LLM_MSG_TOOL, result);
		res->tool_name = xstrdup(c->name);
		res->tool_call_id = xstrdup(c->id);
		free(result);
	}
}

static enum kith_status store_reply(struct store *st, const struct agent_turn_in *in,
				    struct agent_turn_out *out, char **why)
{
	struct new_message m = {
		.direction = MSG_OUTGOING, .channel = in->channel, .conversation = in->conversation,
		.author_id = "kith", .author_name = "kith", .content = out->reply,
		.parent_id = out->message_id,
	};

	return store_message_add(st, &m, &out->reply_id, why);
}

/* The user's message as a row; a quote-reply is linked to the message it
 * quotes (*parent, 0 = none), which makes it part of that thread. */
static enum kith_status store_incoming(struct store *st, const struct agent_turn_in *in,
				       int64_t *id, int64_t *parent, char **why)
{
	struct new_message user = {
		.direction = MSG_INCOMING, .channel = in->channel, .conversation = in->conversation,
		.author_id = in->author_id, .author_name = in->author_name, .content = in->text,
		.external_id = in->external_id, .created_at = in->created_at,
	};
	char *err = NULL;

	*parent = 0;
	if ((in->reply_to && *in->reply_to) || (in->reply_to_text && *in->reply_to_text)) {
		if (store_message_find_quoted(st, in->channel, in->conversation, in->reply_to,
					      in->reply_to_text, parent, &err) != KITH_OK) {
			log_warn("agent", "could not find the quoted message: %s", err);
			free(err);
			*parent = 0;
		}
	}
	user.parent_id = *parent;
	return store_message_add(st, &user, id, why);
}

enum kith_status agent_observe(const struct agent_deps *deps, struct store *st,
			       const struct agent_turn_in *in, int64_t *message_id, char **why)
{
	int64_t id = 0, parent = 0;
	char *recent = NULL;
	struct transcript history = { 0 };
	enum kith_status rc = store_incoming(st, in, &id, &parent, why);

	if (message_id)
		*message_id = id;
	if (rc)
		return rc;
	/* The conversation before it, as the memory's context. */
	if (deps->memory)
		load_history(deps, st, in, id, parent, &history, &recent);
	agent_remember_message(deps, st, in, id, recent);
	transcript_release(&history);
	free(recent);
	return KITH_OK;
}

#define SHORT_QUOTE_REPLY 40   /* a reply this short searches with its quote */

/* Penny's "always search": one web search for the message, run before the
 * model is called, so every answer is grounded whether or not the model is
 * good at calling tools.  It enters the transcript as the search tool's
 * call and result, the shape models are trained to answer from.  Image
 * messages are not searched (the picture is the subject). */
static void search_first(const struct agent_deps *deps, struct store *st,
			 const struct agent_turn_in *in, struct transcript *t,
			 struct agent_turn_out *out)
{
	struct tool_ctx ctx;
	struct llm_msg *asst, *res;
	char *query, *result = NULL, *err = NULL;
	json_t *args;

	if (!deps->always_search || (in->images && *in->images) || !in->text || !*in->text)
		return;
	/* "and the second one?" means nothing to a search engine without what
	 * it replies to. */
	query = in->reply_to_text && *in->reply_to_text && strlen(in->text) < SHORT_QUOTE_REPLY
			? xasprintf("%s %s", in->reply_to_text, in->text)
			: xstrdup(in->text);
	args = json_pack("{s:s}", "query", query);
	ctx = tool_ctx_for(deps, st, in, &out->found);
	if (tool_search.run(&ctx, args, &result, &err) != KITH_OK) {
		free(result);
		result = xasprintf("Failed to search: %s", err ? err : "unknown error");
	}
	asst = transcript_add(t, LLM_MSG_ASSISTANT, NULL);
	asst->calls = xcalloc(1, sizeof(*asst->calls));
	asst->ncalls = 1;
	asst->calls[0].id = xstrdup("search-1");
	asst->calls[0].name = xstrdup(tool_search.name);
	asst->calls[0].arguments = json_incref(args);
	asst->calls[0].arguments_raw = kjson_dump(args, true);
	res = transcript_add(t, LLM_MSG_TOOL, result);
	res->tool_name = xstrdup(tool_search.name);
	res->tool_call_id = xstrdup("search-1");
	out->tool_calls++;
	json_decref(args);
	free(result);
	free(err);
	free(query);
}

/* The model sees the captions of the message's images with the message
 * itself (the last user message of the transcript); what is stored stays
 * what the person wrote. */
static void add_image_captions(struct transcript *t, const struct agent_turn_in *in)
{
	struct llm_msg *m = t->n ? &t->msgs[t->n - 1] : NULL;
	char *text;

	if (!in->images || !*in->images || !m || m->role != LLM_MSG_USER)
		return;
	text = m->content && *m->content
		       ? xasprintf("%s\n\n[Images]\n%s", m->content, in->images)
		       : xasprintf("%s shared images:\n%s",
				   in->author_name && *in->author_name ? in->author_name : "The user",
				   in->images);
	free(m->content);
	m->content = text;
}

enum kith_status agent_turn(const struct agent_deps *deps, struct store *st,
			    const struct agent_turn_in *in, struct agent_turn_out *out, char **why)
{
	struct transcript t = { 0 };
	struct seen_calls seen = { 0 };
	/* Read on every turn: /config may change it. */
	int max_steps = deps->max_steps > 0 ? deps->max_steps
			: deps->cfg ? (int)config_int(deps->cfg, CFG_MESSAGE_MAX_STEPS) : 5;
	struct transcript history = { 0 };
	char *system = NULL, *recent = NULL, *memories;
	int64_t now = clock_now_ms(), parent = 0;
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	rc = store_incoming(st, in, &out->message_id, &parent, why);
	if (rc)
		return rc;

	load_history(deps, st, in, out->message_id, parent, &history, &recent);
	memories = agent_recall_section(deps, st, in, recent, now);
	system = agent_system_prompt(deps, in, now, memories);
	transcript_add(&t, LLM_MSG_SYSTEM, system);
	free(system);
	free(memories);
	for (size_t i = 0; i < history.n; i++)
		transcript_add(&t, history.msgs[i].role, history.msgs[i].content);
	transcript_release(&history);
	add_image_captions(&t, in);
	search_first(deps, st, in, &t, out);

	for (int step = 1; step <= max_steps && !out->reply; step++) {
		int last = step == max_steps;
		int offer_tools = !last && tools_count(deps->tools) > 0;
		struct llm_request req = {
			.role = LLM_ROLE_MAIN, .msgs = t.msgs, .nmsgs = t.n,
			.tools = offer_tools ? tools_schema(deps->tools) : NULL,
			.cancel = in->cancel,
			.temperature = in->temperature > 0 ? in->temperature : -1,
			/* Streamed: long generations never sit silent behind a
			 * proxy timeout, and a cancel stops generation at once. */
			.stream = true,
		};
		struct llm_response r;
		char *err = NULL;

		if (last && step > 1)
			transcript_add(&t, LLM_MSG_SYSTEM,
				       "No more tools for this message: answer the user now with "
				       "what you have.");
		req.msgs = t.msgs;
		req.nmsgs = t.n;
		rc = llm_chat(deps->llm, &req, &r, &err);
		out->llm_calls++;
		record_call(st, deps, LLM_ROLE_MAIN, out->message_id, &r, rc, err);
		if (rc) {
			kith_why(why, rc, "%s", err ? err : kith_strerror(rc));
			free(err);
			llm_response_release(&r);
			goto out;
		}
		if (r.ncalls > 0 && offer_tools)
			run_tool_calls(deps, st, in, &r, &t, &seen, &out->tool_calls, &out->found);
		else
			out->reply = agent_clean_reply(r.content);
		llm_response_release(&r);
	}
	if (!out->reply || !*out->reply) {
		free(out->reply);
		out->reply = xstrdup("(I have no answer to that right now.)");
	}
	if (out->found.nsources) {   /* a grounded answer names where it came from */
		char *with = search_append_source(out->reply, (const char *const *)out->found.sources,
						  out->found.nsources);

		free(out->reply);
		out->reply = with;
	}
	rc = store_reply(st, in, out, why);
out:
	/* Last, also when the model failed: what was said is kept, and this
	 * turn's recall did not find its own message. */
	if (out->message_id)
		agent_remember_message(deps, st, in, out->message_id, recent);
	free(recent);
	seen_calls_release(&seen);
	transcript_release(&t);
	return rc;
}

void agent_turn_out_release(struct agent_turn_out *out)
{
	free(out->reply);
	out->reply = NULL;
	tool_out_release(&out->found);
}
