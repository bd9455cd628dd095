/* transcript.h — what the tool loops (agent.c's turn, agent_task.c) share:
 * the growing list of messages sent to the model, and the record of tool
 * calls already made, so an identical repeat is refused instead of run. */
#ifndef KITH_AGENT_TRANSCRIPT_H
#define KITH_AGENT_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include "llm/llm.h"

struct transcript {
	struct llm_msg *msgs;
	size_t n, cap;
};

/* Append a message (content copied; may be NULL) and return it, so the
 * caller can add tool calls or names. */
struct llm_msg *transcript_add(struct transcript *t, enum llm_msg_role role, const char *content);
void transcript_release(struct transcript *t);
/* Append the model's message with its tool calls (copied). */
void transcript_add_calls(struct transcript *t, const struct llm_response *r);

struct seen_calls {
	char **keys;   /* name + canonical arguments */
	size_t n, cap;
};

/* True when this call (same name, same arguments once canonicalised) was
 * made before; otherwise it is remembered and false is returned. */
bool seen_call_before(struct seen_calls *s, const struct llm_tool_call *c);
void seen_calls_release(struct seen_calls *s);

#endif
