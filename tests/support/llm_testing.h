/* llm_testing.h — what the LLM client tests share, whichever provider they
 * drive: a two-message request, a delta collector, a chat on a thread (for
 * cancelling it mid-flight) and a port that refuses connections.
 *
 * Provider-specific setup (the client's configuration, the fake's flavour)
 * stays in each test file; only the mechanics live here. */
#ifndef KITH_LLM_TESTING_H
#define KITH_LLM_TESTING_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "llm/llm.h"

struct fake_llm;

/* A loopback port nothing listens on (an ephemeral one, bound and closed);
 * 1 if none could be had. */
int llm_test_closed_port(void);

/* req = [system "You are terse.", user text] for the main role, default
 * temperature; msgs[0..1] are initialised and the caller releases them with
 * llm_test_release_msgs(msgs, 2). */
void llm_test_user_request(struct llm_request *req, struct llm_msg *msgs, const char *text);
void llm_test_release_msgs(struct llm_msg *msgs, size_t n);

/* The body of the fake's most recent request, parsed; NULL before any.
 * Caller decrefs. */
json_t *llm_test_last_request(struct fake_llm *f);

/* Collects streamed text: set req.on_delta = llm_test_on_delta and
 * req.ud = &d; buf_release(&d.text) when done. */
struct llm_test_deltas {
	struct buf text;
	int calls;
};
#define LLM_TEST_DELTAS_INIT { BUF_INIT(0), 0 }
void llm_test_on_delta(const char *p, size_t n, void *ud);

/* llm_chat() on its own thread.  After join, st/why/out hold the result
 * (caller frees why and releases out) and `ended` the monotonic time at
 * which llm_chat returned. */
struct llm_test_chat {
	struct llm_client *c;
	struct llm_request *req;
	struct llm_response out;
	enum kith_status st;
	char *why;
	int64_t ended;
	pthread_t thread;
};
bool llm_test_chat_start(struct llm_test_chat *t, struct llm_client *c,
			 struct llm_request *req);
void llm_test_chat_join(struct llm_test_chat *t);

#endif
