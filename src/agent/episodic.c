/* episodic.c — the agent's memory steps: what is remembered, and what is
 * recalled into a prompt.
 *
 * SEL's "Memory Stored" and "Context Built" steps.  A user's message is
 * remembered when it is long enough to carry something (MEMORY_MIN_CHARS) or
 * when it asks to be remembered or states something personal; actions the
 * agent took with a tool that changes something are remembered with SEL's
 * salience for agent actions (0.45).  The agent's own replies are not: they
 * are derived from what was said and recalled.  Storing never depends on the
 * model choosing to call a tool.  Recall runs before the reply with the
 * message as the query, widened with the recent conversation when the
 * message is short ("and you?" says little on its own). */
#include "agent/agent.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/utf8.h"
#include "memory/memory.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define MEMORY_TEXT_MAX 400      /* bytes of a message kept in its memory */
#define SHORT_MESSAGE 40         /* shorter messages widen the recall query */
#define QUERY_MAX 800            /* bytes of the widened query */
#define ACTION_SALIENCE 0.45     /* SEL: agent actions */
#define IMPORTANT_SALIENCE 0.7   /* marked with '!' in the prompt */
#define CONTEXT_LINES 2          /* lines of conversation kept as context */
#define CONTEXT_MAX 300          /* bytes of them */

/* Phrases with which people hand over something to keep. */
static const char *const keep_phrases[] = {
	"remember", "remind me", "don't forget", "dont forget", "do not forget",
	"my name is", "call me ", "my birthday", "i like", "i love", "i prefer",
	"i hate", "i don't like", "i dont like", "i'm allergic", "i am allergic",
	"i live in", "i work", "i'm from", "i am from", "my favourite", "my favorite",
};

/* First-person words that make a long message likely to be about the person. */
static const char *const first_person[] = { "i", "i'm", "im", "my", "me", "mine", "we", "our" };

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, n) == 0 && (p == hay || !isalnum((unsigned char)p[-1])))
			return true;
	return false;
}

static bool has_first_person_word(const char *text)
{
	const char *p = text;

	while (*p) {
		const char *w;
		size_t n;

		while (*p && !isalnum((unsigned char)*p) && *p != '\'')
			p++;
		w = p;
		while (*p && (isalnum((unsigned char)*p) || *p == '\''))
			p++;
		n = (size_t)(p - w);
		for (size_t i = 0; n && i < sizeof(first_person) / sizeof(first_person[0]); i++)
			if (strlen(first_person[i]) == n && strncasecmp(w, first_person[i], n) == 0)
				return true;
	}
	return false;
}

double agent_message_salience(const char *text, int min_chars)
{
	struct slice s = slice_trim(slice_of(text ? text : "", text ? strlen(text) : 0));
	char *t;
	double sal = 0;

	if (s.n == 0 || s.p[0] == '/')   /* commands are not conversation */
		return 0;
	t = slice_dup(s);
	for (size_t i = 0; i < sizeof(keep_phrases) / sizeof(keep_phrases[0]); i++)
		if (contains_ci(t, keep_phrases[i]))
			sal = IMPORTANT_SALIENCE;
	if (sal == 0 && s.n >= (size_t)(min_chars > 0 ? min_chars : 20))
		sal = s.n >= 42 && has_first_person_word(t) ? 0.6 : 0.5;
	free(t);
	return sal;
}

/* The scope of this conversation's memories (the rule backfill shares). */
static void memory_scope(const struct agent_deps *deps, const struct agent_turn_in *in,
			 char out[MEMORY_SCOPE_MAX + 1])
{
	memory_scope_for(deps->memory_scope, in->channel, in->conversation, out);
}

static const char *speaker_of(const struct agent_turn_in *in)
{
	if (in->author_name && *in->author_name)
		return in->author_name;
	return in->author_id ? in->author_id : "someone";
}

static void age_words(int64_t age_ms, char *out, size_t n)
{
	int64_t days = age_ms > 0 ? age_ms / 86400000 : 0;

	if (days < 1)
		snprintf(out, n, "today");
	else if (days < 2)
		snprintf(out, n, "yesterday");
	else if (days < 14)
		snprintf(out, n, "%lldd ago", (long long)days);
	else if (days < 60)
		snprintf(out, n, "%lldw ago", (long long)(days / 7));
	else
		snprintf(out, n, "%lldmo ago", (long long)(days / 30));
}

/* The recall query: the message, widened with the end of the recent
 * conversation when the message is short. */
static char *recall_query(const char *text, const char *recent)
{
	size_t tl = strlen(text), rl, start;
	char *joined, *q;

	if (tl >= SHORT_MESSAGE || !recent || !*recent)
		return xstrdup(text);
	joined = xasprintf("%s\n%s", text, recent);
	rl = strlen(joined);
	start = rl > QUERY_MAX ? rl - QUERY_MAX : 0;
	while (start > 0 && start < rl && ((unsigned char)joined[start] & 0xC0) == 0x80)
		start++;
	q = xstrdup(joined + start);
	free(joined);
	return q;
}

char *agent_recall_section(const struct agent_deps *deps, struct store *st,
			   const struct agent_turn_in *in, const char *recent, int64_t now_ms)
{
	char scope[MEMORY_SCOPE_MAX + 1];
	struct memory_hit *hits = NULL;
	size_t n = 0;
	char *why = NULL, *query;
	struct buf b = BUF_INIT(0);
	struct memory_query q = { 0 };

	if (!deps->memory)
		return NULL;
	memory_scope(deps, in, scope);
	query = recall_query(in->text ? in->text : "", recent);
	q.scope = scope;
	q.text = query;
	q.limit = (size_t)agent_recall_limit(deps);
	q.now_ms = now_ms;
	if (memory_recall(deps->memory, st, &q, &hits, &n, &why) != KITH_OK) {
		log_warn("memory", "no memories recalled this turn: %s", why ? why : "?");
		free(why);
		n = 0;
	}
	free(query);
	buf_puts(&b, "Things you remember that may matter here (how long ago; ! = important). "
		     "Use them naturally when they help; never recite this list:\n");
	if (n == 0)
		buf_puts(&b, "(no memories yet)\n");
	for (size_t i = 0; i < n; i++) {
		char age[32];

		age_words(now_ms - hits[i].created_at, age, sizeof(age));
		buf_printf(&b, "- [%s%s] %s\n", age, hits[i].salience >= IMPORTANT_SALIENCE ? "!" : "",
			   hits[i].text ? hits[i].text : "");
	}
	memory_hits_free(hits, n);
	return buf_detach(&b);
}

/* The last CONTEXT_LINES lines of the conversation, at most CONTEXT_MAX
 * bytes (heap, NULL when there is none). */
static char *context_of(const char *recent)
{
	size_t len = recent ? strlen(recent) : 0, start = len;
	int lines = 0;

	while (len > 0 && recent[len - 1] == '\n')
		len--;
	start = len;
	while (start > 0 && lines < CONTEXT_LINES) {
		start--;
		if (start == 0 || recent[start - 1] == '\n')
			lines++;
	}
	if (len - start > CONTEXT_MAX) {
		start = len - CONTEXT_MAX;
		while (start < len && ((unsigned char)recent[start] & 0xC0) == 0x80)
			start++;
	}
	return len > start ? xstrndup(recent + start, len - start) : NULL;
}

static void remember(const struct agent_deps *deps, struct store *st, const struct agent_turn_in *in,
		     const char *text, const char *tags, double salience, const char *source,
		     const char *context)
{
	char scope[MEMORY_SCOPE_MAX + 1];
	char *why = NULL;
	struct memory_new m = {
		.scope = scope, .speaker = speaker_of(in), .text = text, .tags = tags,
		.salience = salience, .created_at = in->created_at, .source = source,
		.context = context,
	};

	memory_scope(deps, in, scope);
	if (memory_add(deps->memory, st, &m, 1, NULL, NULL, &why) != KITH_OK) {
		log_warn("memory", "could not store a memory: %s", why ? why : "?");
		free(why);
	}
}

void agent_remember_message(const struct agent_deps *deps, struct store *st,
			    const struct agent_turn_in *in, int64_t message_id,
			    const char *recent)
{
	double sal;
	const char *text = in->text ? in->text : "", *images;
	char *body, *tags, *source, *context;

	if (!deps->memory)
		return;
	sal = agent_message_salience(text, deps->memory_min_chars);
	if (sal <= 0 && in->remember && *text && text[0] != '/')
		sal = 0.5;   /* the utility model judged it worth keeping */
	if (sal <= 0 && in->images && *in->images)
		sal = 0.5;   /* a shared picture is something that happened */
	if (sal <= 0)
		return;
	images = in->images && *in->images ? in->images : "";
	body = xasprintf("%s: %.*s%s%.*s", speaker_of(in),
			 (int)utf8_prefix(text, strlen(text), MEMORY_TEXT_MAX), text,
			 *images && *text ? " " : "",
			 (int)utf8_prefix(images, strlen(images), MEMORY_TEXT_MAX), images);
	tags = xasprintf("user_message,channel:%s,user:%s", in->channel ? in->channel : "",
			 in->author_id ? in->author_id : "");
	source = xasprintf("message:%lld", (long long)message_id);
	context = context_of(recent);
	remember(deps, st, in, body, tags, sal, source, context);
	free(context);
	free(body);
	free(tags);
	free(source);
}

void agent_remember_action(const struct agent_deps *deps, struct store *st,
			   const struct agent_turn_in *in, const char *tool, const char *arguments)
{
	const char *args = arguments ? arguments : "";
	char *body, *tags;

	if (!deps->memory)
		return;
	body = xasprintf("kith ran %s for %s with %.*s", tool, speaker_of(in),
			 (int)utf8_prefix(args, strlen(args), 160), args);
	tags = xasprintf("agent_action,%s", tool);
	remember(deps, st, in, body, tags, ACTION_SALIENCE, NULL, NULL);
	free(body);
	free(tags);
}

void agent_remember_text(const struct agent_deps *deps, struct store *st,
			 const struct agent_turn_in *in, const char *text, const char *tags,
			 double salience)
{
	if (!deps->memory || !text || !*text)
		return;
	remember(deps, st, in, text, tags, salience, NULL, NULL);
}

int agent_recall_limit(const struct agent_deps *deps)
{
	if (deps->recall_limit > 0)
		return deps->recall_limit;
	return deps->cfg ? (int)config_int(deps->cfg, CFG_MEMORY_RECALL_LIMIT) : 10;
}
