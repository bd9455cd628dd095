/* learn.c — the LearnAgent: `/learn TOPIC` becomes a short series of web
 * searches (docs/knowledge.md, "Learn").
 *
 * One run is one step of one prompt: the util model writes the next query
 * from the topic and the answers so far ({"query": string|null}), the
 * search runs text-only with trigger learn_command and is linked to the
 * prompt, and one search is spent.  A prompt steps only when all of its
 * earlier searches have been extracted, so each query is written after
 * kith has read the previous answer; prompts step independently, oldest
 * first.  The prompt completes when its searches are spent, when the model
 * returns no query (or repeats one), and the notifier announces it.
 *
 * Nothing changes until a search has finished: a cancel during the model
 * call or the search leaves the prompt as it was and the step is redone
 * once.  Linking the search, spending it and completing the prompt are one
 * transaction. */
#include "knowledge/knowledge.h"

#include "core/alloc.h"
#include "core/json.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "llm/llm.h"
#include "store/store.h"
#include "tools/search.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG "learn"
#define PREVIOUS_CHARS 1000  /* of each earlier answer shown to the model */

static const char schema[] =
	"{\"type\":\"object\",\"properties\":{\"query\":{\"type\":[\"string\",\"null\"]}},"
	"\"required\":[\"query\"]}";

static const char initial_prompt[] =
	"The user asked you to learn about a topic. Write one web search query that gives a broad,"
	" current overview of it: the main things, people, products or ideas worth knowing."
	" Reply only with JSON: {\"query\": \"...\"}.";

static const char followup_prompt[] =
	"The user asked you to learn about a topic, and you have already searched the web. Write"
	" the next web search query: one that covers an important part of the topic the results"
	" below do not, or goes deeper into something they only mention. Do not repeat an earlier"
	" query. If the topic is covered well enough, reply {\"query\": null}. Reply only with"
	" JSON: {\"query\": \"...\"} or {\"query\": null}.";

const char *knowledge_learn_schema_text(void)
{
	return schema;
}

/* Trimmed, control characters as spaces, cut at a UTF-8 boundary; NULL
 * when nothing is left. */
static char *clean_query(const char *s)
{
	size_t n = strlen(s), a = 0, b;
	char *out;

	n = utf8_prefix(s, n, LEARN_QUERY_MAX);
	out = xstrndup(s, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	while (a < n && out[a] == ' ')
		a++;
	b = n;
	while (b > a && out[b - 1] == ' ')
		b--;
	if (a == b) {
		free(out);
		return NULL;
	}
	memmove(out, out + a, b - a);
	out[b - a] = '\0';
	return out;
}

enum kith_status knowledge_learn_parse_query(const char *p, size_t n, char **query, char **why)
{
	json_t *root, *q;

	*query = NULL;
	root = kjson_object_in(p, n);
	if (!json_is_object(root)) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "the model's reply has no JSON object");
	}
	q = json_object_get(root, "query");
	if (json_is_string(q))
		*query = clean_query(json_string_value(q));
	json_decref(root);
	return KITH_OK;
}

/* ---- the job -------------------------------------------------------------- */

struct knowledge_learner {
	struct knowledge_learn_deps d;
};

struct knowledge_learner *knowledge_learner_new(const struct knowledge_learn_deps *deps)
{
	struct knowledge_learner *kl = xcalloc(1, sizeof(*kl));

	kl->d = *deps;
	return kl;
}

void knowledge_learner_free(struct knowledge_learner *kl)
{
	free(kl);
}

static int64_t now_ms(const struct knowledge_learner *kl)
{
	return kl->d.now_ms ? kl->d.now_ms(kl->d.now_ctx) : clock_now_ms();
}

static bool can_search(const struct knowledge_learner *kl, int64_t now)
{
	if (!kl->d.search || !kl->d.search->perplexity_key || !*kl->d.search->perplexity_key)
		return false;
	return !kl->d.budget || sched_budget_allows(kl->d.budget, SCHED_SPEND_LLM, now, NULL);
}

static void prompt_release(struct store_learn_prompt *p)
{
	free(p->user);
	free(p->prompt);
	free(p->status);
	memset(p, 0, sizeof(*p));
}

/* The oldest active prompt that may step: no searches left (it only needs
 * completing) or all its searches extracted.  *found false when none. */
static enum kith_status pick(struct knowledge_learner *kl, struct store_learn_prompt *out,
			     bool *found, char **why)
{
	struct store_learn_prompt *lp = NULL;
	size_t n = 0;
	enum kith_status rc;

	*found = false;
	memset(out, 0, sizeof(*out));
	rc = store_learn_prompts_list(kl->d.st, NULL, "active", &lp, &n, why);
	for (size_t i = 0; i < n && !rc && !*found; i++) {
		size_t logs = 0, pending = 0;

		if (lp[i].searches_remaining > 0) {
			rc = store_learn_prompt_progress(kl->d.st, lp[i].id, &logs, &pending, why);
			if (rc || pending)
				continue;
		}
		*out = lp[i];
		memset(&lp[i], 0, sizeof(lp[i]));
		*found = true;
	}
	store_learn_prompts_free(lp, n);
	if (rc && *found) {
		prompt_release(out);
		*found = false;
	}
	return rc;
}

bool knowledge_learn_due(void *ctx, int64_t now)
{
	struct knowledge_learner *kl = ctx;
	struct store_learn_prompt p;
	bool found = false;
	char *why = NULL;

	(void)now;
	if (!can_search(kl, now_ms(kl)))
		return false;
	if (pick(kl, &p, &found, &why)) {
		log_warn(TAG, "due check: %s", why ? why : "store error");
		free(why);
		return false;
	}
	if (found)
		prompt_release(&p);
	return found;
}

/* Ask the util model for the next query; *query NULL = none.  A reply
 * that cannot be read counts as no query. */
static enum kith_status ask(struct knowledge_learner *kl, const struct store_learn_prompt *p,
			    char *const *queries, char *const *answers, size_t n,
			    const struct cancel *cancel, char **query, char **why)
{
	struct buf b = BUF_INIT(0);
	struct llm_msg msgs[2];
	json_t *sch = json_loads(schema, 0, NULL);
	struct llm_request req = {
		.role = LLM_ROLE_UTIL, .msgs = msgs, .nmsgs = 2, .json_schema = sch,
		.schema_name = "learn_query", .cancel = cancel, .temperature = -1,
	};
	struct llm_response r;
	enum kith_status rc;

	*query = NULL;
	(void)buf_printf(&b, "Topic: %s", p->prompt);
	if (n)
		(void)buf_puts(&b, "\n\nPrevious searches:");
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(answers[i]);

		if (len > PREVIOUS_CHARS) {
			len = PREVIOUS_CHARS;
			while (len > 0 && ((unsigned char)answers[i][len] & 0xC0) == 0x80)
				len--;
		}
		(void)buf_printf(&b, "%s\n\nSearch %zu: %s\n%.*s", i ? "\n\n---" : "", i + 1,
				 queries[i], (int)len, answers[i]);
	}
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, n ? followup_prompt : initial_prompt);
	llm_msg_init(&msgs[1], LLM_MSG_USER, buf_str(&b));
	rc = llm_chat(kl->d.llm, &req, &r, why);
	if (rc == KITH_OK &&
	    knowledge_learn_parse_query(r.content, strlen(r.content), query, NULL) != KITH_OK)
		log_info(TAG, "unreadable query reply; treating it as no query");
	llm_response_release(&r);
	llm_msg_release(&msgs[0]);
	llm_msg_release(&msgs[1]);
	buf_release(&b);
	json_decref(sch);
	return rc;
}

static enum sched_outcome complete(struct knowledge_learner *kl,
				   const struct store_learn_prompt *p, const char *reason)
{
	char *why = NULL;

	if (store_learn_prompt_set_status(kl->d.st, p->id, "completed", &why)) {
		log_warn(TAG, "completing \"%s\": %s", p->prompt, why ? why : "store error");
		free(why);
		return SCHED_FAILED;
	}
	log_info(TAG, "finished learning about \"%s\" (%s)", p->prompt, reason);
	return SCHED_DID_WORK;
}

/* Link the finished search (log_id 0: it failed), spend one search, and
 * complete the prompt when none are left — together. */
static enum kith_status record(struct knowledge_learner *kl, const struct store_learn_prompt *p,
			       int64_t log_id, char **why)
{
	enum kith_status rc = store_knowledge_begin(kl->d.st, why);

	if (rc)
		return rc;
	if (log_id)
		rc = store_search_log_set_learn_prompt(kl->d.st, log_id, p->id, why);
	if (!rc)
		rc = store_learn_prompt_spend(kl->d.st, p->id, why);
	if (!rc && p->searches_remaining <= 1)
		rc = store_learn_prompt_set_status(kl->d.st, p->id, "completed", why);
	return store_knowledge_end(kl->d.st, rc, why);
}

enum sched_outcome knowledge_learn_run(void *ctx, const struct cancel *cancel)
{
	struct knowledge_learner *kl = ctx;
	struct store_learn_prompt p;
	struct search_opts o;
	struct search_result r;
	char **queries = NULL, **answers = NULL, *query = NULL, *why = NULL;
	size_t n = 0;
	bool found = false, searched = false;
	int64_t now = now_ms(kl);
	enum sched_outcome out = SCHED_NO_WORK;
	enum kith_status rc;

	if (!can_search(kl, now))
		return SCHED_NO_WORK;
	if (pick(kl, &p, &found, &why)) {
		log_warn(TAG, "%s", why ? why : "store error");
		free(why);
		return SCHED_FAILED;
	}
	if (!found)
		return SCHED_NO_WORK;
	if (p.searches_remaining <= 0) {
		out = complete(kl, &p, "no searches left");
		goto done;
	}
	if (store_learn_prompt_searches(kl->d.st, p.id, &queries, &answers, &n, &why)) {
		log_warn(TAG, "%s", why ? why : "store error");
		out = SCHED_FAILED;
		goto done;
	}
	if (kl->d.budget && !sched_budget_take(kl->d.budget, SCHED_SPEND_LLM, now))
		goto done;  /* the day's model calls are spent: wait */
	rc = ask(kl, &p, queries, answers, n, cancel, &query, &why);
	if (cancel_requested(cancel)) {
		out = SCHED_CANCELLED;
		goto done;
	}
	if (rc && n) {
		/* Unlike the reference, a failed call is retried rather than
		 * ending the topic: a model that is down says nothing about it. */
		log_warn(TAG, "query for \"%s\": %s", p.prompt, why ? why : "model error");
		out = SCHED_FAILED;
		goto done;
	}
	if (!query && !n) {
		query = xstrdup(p.prompt);  /* the first search needs no model */
	} else if (!query) {
		out = complete(kl, &p, "no further query");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(queries[i], query) == 0) {
			out = complete(kl, &p, "the query repeated an earlier one");
			goto done;
		}
	o = *kl->d.search;
	o.skip_images = true;
	o.trigger = "learn_command";
	o.author_id = p.user;
	o.store = kl->d.st;
	o.cancel = cancel;
	o.now_ms = now;
	free(why);
	why = NULL;
	rc = search_run(&o, query, &r, &why);
	searched = true;
	if (rc && cancel_requested(cancel)) {
		out = SCHED_CANCELLED;
		goto done;
	}
	if (rc)
		log_warn(TAG, "search for \"%s\" failed: %s", p.prompt, why ? why : "error");
	free(why);
	why = NULL;
	/* A failed search is spent too: a dead search service must not be
	 * asked every tick, and the budget bounds what a topic costs. */
	if (record(kl, &p, rc ? 0 : r.log_id, &why)) {
		log_warn(TAG, "recording a search for \"%s\": %s", p.prompt,
			 why ? why : "store error");
		out = SCHED_FAILED;
		goto done;
	}
	log_info(TAG, "searched for \"%s\" (%d left)", p.prompt,
		 p.searches_remaining > 0 ? p.searches_remaining - 1 : 0);
	out = rc ? SCHED_FAILED : SCHED_DID_WORK;
done:
	if (searched)
		search_result_release(&r);
	free(query);
	free(why);
	store_strings_free(queries, n);
	store_strings_free(answers, n);
	prompt_release(&p);
	return out;
}
