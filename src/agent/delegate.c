/* delegate.c — handing a message to a plugin agent or to the owner's
 * system agent instead of answering it as conversation (SEL's "agent
 * detection", agent.h).
 *
 * Order, as in SEL:
 *   1. an explicit request for a plugin agent ("agent:weather …", "use
 *      weather", "weather agent"), then one of an agent's keywords;
 *   2. an explicit system request: "bash …", "run command …", "fastfetch";
 *   3. the utility model's classification, offered the plugin agents and
 *      "system" — asked only for the owner, only when kith would answer
 *      the message anyway (a direct message, or presence decided to speak:
 *      a remark in a group is never taken for a command), and only when an
 *      agent is loaded or the message mentions something a system agent
 *      handles (disk, port, process, …), so ordinary chat costs no extra
 *      call.
 * Who asks is checked before anything runs: only APPROVAL_USER_ID, and an
 * unset approver means nobody.  A non-owner's explicit request runs
 * nothing and gets a refusal in words where kith would answer anyway (a
 * DM, or presence decided to speak); their other messages are plain
 * conversation.  The system agent refuses non-owners on its own too
 * (tools/system_agent.c), so the check is made twice. */
#include "agent/agent.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "llm/llm.h"
#include "plugin/plugin.h"
#include "tools/system_agent.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define TAG "agents"
#define SYSTEM_AGENT "system"
#define DELEGATE_SALIENCE 0.4

static bool is_owner(const struct agent_deps *deps, const char *author)
{
	const char *owner = deps->cfg ? config_str(deps->cfg, CFG_APPROVAL_USER_ID) : NULL;

	return owner && *owner && author && strcmp(owner, author) == 0;
}

static bool starts_with_word_ci(const char *text, const char *word)
{
	size_t n = strlen(word);

	return strncasecmp(text, word, n) == 0 && (!text[n] || isspace((unsigned char)text[n]));
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* "bash …", "run command …", "fastfetch": the owner wants exactly that run. */
static bool explicit_system(const char *text)
{
	return starts_with_word_ci(text, "bash") || contains_ci(text, "run command") ||
	       contains_ci(text, "fastfetch") || contains_ci(text, "fast fetch");
}

/* Words that make a system request likely enough to ask the model. */
static const char *const system_hints[] = {
	"disk", "storage", "memory usage", "ram", "cpu", "load average", "uptime", "process",
	"port", "service", "systemctl", "docker", "container", "git ", "repo", "network", "ip ",
	"directory", "folder", "file", "ls", "pwd", "cd ", "running", "jobs", "server", "health",
	NULL,
};

static bool mentions_system(const char *text)
{
	for (int i = 0; system_hints[i]; i++) {
		const char *h = system_hints[i];
		size_t n = strlen(h);

		for (const char *p = text; *p; p++) {
			if (strncasecmp(p, h, n) != 0)
				continue;
			/* whole words at the start of the hint */
			if (p == text || !isalnum((unsigned char)p[-1]))
				return true;
		}
	}
	return false;
}

/* ---- the utility model's choice ------------------------------------------ */

struct classify_ctx {
	const struct agent_deps *deps;
	bool offer_system;
	bool chose_system;
};

static json_t *choice_schema(const struct plugin_candidate *c, size_t n, bool system)
{
	json_t *names = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(names, json_string(c[i].name));
	if (system)
		json_array_append_new(names, json_string(SYSTEM_AGENT));
	json_array_append_new(names, json_string("none"));
	return json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s}}, s:[s,s]}", "type", "object",
			 "properties", "agent", "type", "string", "enum", names, "input", "type",
			 "string", "required", "agent", "input");
}

/* Ask which agent (if any) should answer; the answer is parsed strictly:
 * an object whose "agent" is one of the names offered. */
static bool classify(void *ud, const struct plugin_candidate *c, size_t n, const char *text,
		     struct plugin_match *out)
{
	struct classify_ctx *cx = ud;
	struct buf sys = BUF_INIT(0);
	struct llm_msg msgs[2];
	struct llm_response resp;
	json_t *schema = choice_schema(c, n, cx->offer_system), *ans = NULL;
	const char *agent, *input;
	char *why = NULL;
	bool chosen = false;

	buf_puts(&sys, "Decide whether the user's message is a request for one of these agents "
		       "rather than conversation. Answer JSON only: {\"agent\": NAME or \"none\", "
		       "\"input\": what to give the agent}. Choose an agent only when the message "
		       "clearly asks for what it does.\nAgents:\n");
	for (size_t i = 0; i < n; i++)
		buf_printf(&sys, "- %s: %s\n", c[i].name, c[i].description ? c[i].description : "");
	if (cx->offer_system)
		buf_printf(&sys, "- %s: questions about or tasks on the computer kith runs on (disk, "
			   "memory, processes, ports, services, docker, git, files, commands)\n",
			   SYSTEM_AGENT);
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, buf_str(&sys));
	llm_msg_init(&msgs[1], LLM_MSG_USER, text);
	if (llm_chat(cx->deps->llm, &(struct llm_request){ .role = LLM_ROLE_UTIL, .msgs = msgs,
			     .nmsgs = 2, .json_schema = schema, .schema_name = "agent_choice",
			     .temperature = 0.1 }, &resp, &why) == KITH_OK)
		ans = kjson_parse(resp.content, strlen(resp.content), NULL);
	else
		log_warn(TAG, "could not classify a message: %s", why ? why : "?");
	llm_response_release(&resp);
	agent = json_is_object(ans) ? kjson_str(ans, "agent") : NULL;
	input = json_is_object(ans) ? kjson_str(ans, "input") : NULL;
	if (agent && cx->offer_system && strcmp(agent, SYSTEM_AGENT) == 0) {
		cx->chose_system = true;
	} else if (agent && strcmp(agent, "none") != 0) {
		out->agent = xstrdup(agent);
		out->input = input && *input ? xstrdup(input) : NULL;
		chosen = true;   /* plugins_detect checks the name */
	}
	json_decref(ans);
	json_decref(schema);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	buf_release(&sys);
	free(why);
	return chosen;
}

/* ---- running ------------------------------------------------------------- */

static void run_plugin(const struct agent_deps *deps, struct store *st,
		       const struct agent_turn_in *in, const struct plugin_match *m, char **reply)
{
	char *result = NULL, *why = NULL, *note;

	if (plugins_run(deps->plugins, m->agent, m->input, &result, &why) == KITH_OK) {
		*reply = plugin_format_result(m->agent, result);
	} else {
		log_warn(TAG, "%s", why ? why : "an agent failed");
		*reply = plugin_format_result(m->agent, why ? why : "failed");
	}
	note = xasprintf("ran agent %s on: %.200s", m->agent, m->input ? m->input : "");
	agent_remember_text(deps, st, in, note, "agent_action", DELEGATE_SALIENCE);
	free(note);
	free(result);
	free(why);
}

/* The system agent remembers each command it runs ("ran: …"); the memory
 * belongs to the turn being answered, which the callback finds here. */
struct turn_ref {
	const struct agent_deps *deps;
	struct store *st;
	const struct agent_turn_in *in;
};
static _Thread_local const struct turn_ref *current;

void agent_delegate_remember(void *ud, const char *text, double salience)
{
	(void)ud;
	if (current)
		agent_remember_text(current->deps, current->st, current->in, text,
				    "system_action", salience);
}

static enum kith_status run_system(const struct agent_deps *deps, struct store *st,
				   const struct agent_turn_in *in, bool unsure, char **reply)
{
	struct turn_ref ref = { deps, st, in };
	enum kith_status rc;

	current = &ref;
	rc = system_request_ex(deps->system, in->author_id, in->text, unsure, reply);
	current = NULL;
	return rc;
}

static size_t loaded_agents(const struct agent_deps *deps)
{
	struct plugin_info *a = NULL;
	size_t n = deps->plugins ? plugins_list(deps->plugins, &a) : 0;

	plugin_info_free(a, n);
	return n;
}

bool agent_delegate(const struct agent_deps *deps, struct store *st,
		    const struct agent_turn_in *in, bool may_guess, char **reply,
		    char **context)
{
	struct plugin_match m = { 0 };
	struct classify_ctx cx = { .deps = deps };
	const char *text = in->text;
	bool owner = is_owner(deps, in->author_id), found;

	*reply = NULL;
	if (context)
		*context = NULL;
	if (!text || !*text || (!deps->plugins && !deps->system))
		return false;
	while (isspace((unsigned char)*text))
		text++;

	/* 1. Plugin agents by name or keyword. */
	if (deps->plugins && plugins_detect(deps->plugins, text, NULL, NULL, &m)) {
		if (owner) {
			run_plugin(deps, st, in, &m, reply);
			plugin_match_release(&m);
			return true;
		}
		found = m.how == PLUGIN_BY_PATTERN;
		plugin_match_release(&m);
		if (found) {
			log_warn(TAG, "refused an agent request from a non-owner (%.40s)",
				 in->author_id ? in->author_id : "unknown");
			/* Said only where kith answers anyway: a passing "use
			 * the X tool" in a group gets no lecture. */
			if (!may_guess)
				return false;
			*reply = xstrdup("Sorry — only my owner can run my agents.");
			return true;
		}
	}
	/* 2. Explicit system requests (the system agent refuses non-owners;
	 * for them, too, only where kith answers anyway). */
	if (deps->system && explicit_system(text) && (owner || may_guess)) {
		if (run_system(deps, st, in, false, reply) != KITH_OK && !*reply)
			*reply = xstrdup("That didn't run.");
		return true;
	}
	if (!owner || !may_guess)
		return false;
	/* 3. The utility model's choice, when an agent could plausibly be meant. */
	cx.offer_system = deps->system && mentions_system(text);
	if (loaded_agents(deps) > 0) {
		if (plugins_detect(deps->plugins, text, classify, &cx, &m)) {
			/* Chosen by the model, not asked for by name: the
			 * conversation answers, from the agent's result. */
			run_plugin(deps, st, in, &m, reply);
			plugin_match_release(&m);
			if (!context)
				return true;
			*context = *reply;
			*reply = NULL;
			return false;
		}
	} else if (cx.offer_system) {
		struct plugin_match none = { 0 };

		(void)classify(&cx, NULL, 0, text, &none);
		plugin_match_release(&none);
	}
	if (cx.chose_system) {
		enum kith_status rc = run_system(deps, st, in, true, reply);

		if (rc == KITH_ENOTFOUND && !*reply)
			return false;   /* the system agent found nothing to do: conversation */
		if (!*reply)
			*reply = xstrdup("That didn't run.");
		return true;
	}
	return false;
}
