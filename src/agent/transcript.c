/* transcript.c — messages for the model and repeat detection (transcript.h). */
#include "agent/transcript.h"
#include "core/alloc.h"
#include "core/json.h"

#include <string.h>

struct llm_msg *transcript_add(struct transcript *t, enum llm_msg_role role, const char *content)
{
	struct llm_msg *m;

	t->msgs = xgrow(t->msgs, &t->cap, t->n + 1, sizeof(*t->msgs));
	m = &t->msgs[t->n++];
	llm_msg_init(m, role, content);
	return m;
}

void transcript_add_calls(struct transcript *t, const struct llm_response *r)
{
	struct llm_msg *asst = transcript_add(t, LLM_MSG_ASSISTANT, r->content);

	asst->calls = xcalloc(r->ncalls ? r->ncalls : 1, sizeof(*asst->calls));
	asst->ncalls = r->ncalls;
	for (size_t i = 0; i < r->ncalls; i++)
		llm_tool_call_copy(&asst->calls[i], &r->calls[i]);
}

void transcript_release(struct transcript *t)
{
	for (size_t i = 0; i < t->n; i++)
		llm_msg_release(&t->msgs[i]);
	free(t->msgs);
	memset(t, 0, sizeof(*t));
}

bool seen_call_before(struct seen_calls *s, const struct llm_tool_call *c)
{
	char *args = c->arguments ? kjson_dump(c->arguments, true)
				  : xstrdup(c->arguments_raw ? c->arguments_raw : "");
	char *key = xasprintf("%s\x1f%s", c->name ? c->name : "", args);

	free(args);
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->keys[i], key) == 0) {
			free(key);
			return true;
		}
	}
	s->keys = xgrow(s->keys, &s->cap, s->n + 1, sizeof(*s->keys));
	s->keys[s->n++] = key;
	return false;
}

void seen_calls_release(struct seen_calls *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->keys);
	memset(s, 0, sizeof(*s));
}
