/* llm_int.h — what the LLM layer's own files share; not for other subsystems.
 *
 * Both providers parse an answer the same way whether it was streamed or
 * not: every JSON object (a whole non-streamed body, or one NDJSON line or
 * SSE event) is folded into a struct llm_acc by the provider's *_chunk()
 * function, and llm_acc_finish() turns the accumulator into the caller's
 * struct llm_response.  One code path for both modes means streaming cannot
 * drift from the plain case, and the fuzzers reach the real chunk code. */
#ifndef KITH_LLM_INT_H
#define KITH_LLM_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/http.h"
#include "llm/llm.h"

/* A model asking for more tool calls than this in one answer is broken. */
#define LLM_MAX_CALLS 64

struct llm_client {
	struct llm_config cfg;   /* deep copy; base_url without trailing '/' */
};

/* One tool call being assembled. */
struct llm_acc_call {
	long index;          /* provider's index (OpenAI stream fragments) */
	char *id;
	char *name;
	struct buf args;     /* arguments text as received (fragments joined) */
	json_t *args_obj;    /* arguments that arrived as a JSON object (Ollama) */
};

struct llm_acc {
	struct buf content;
	struct buf thinking;
	struct llm_acc_call *calls;
	size_t ncalls, calls_cap;
	char *finish_reason;
	char *model;         /* as the provider reported it */
	char *id;            /* OpenAI completion id */
	long prompt_tokens, completion_tokens;   /* -1 = not reported */
	bool saw_answer;     /* a message/delta/choice was present */
	bool done;           /* the provider marked the answer complete */
	char *why;           /* set with a failing status: the server's error
			      * text (KITH_EHTTP) or what was malformed */
	size_t max;          /* cap on content, thinking and each call's args */
	void (*on_delta)(const char *text, size_t n, void *ud);
	void *ud;
};

void llm_acc_init(struct llm_acc *a, size_t max,
		  void (*on_delta)(const char *, size_t, void *), void *ud);
void llm_acc_release(struct llm_acc *a);
/* Append to content (calling on_delta) or thinking. */
enum kith_status llm_acc_content(struct llm_acc *a, const char *s, size_t n) KITH_MUST_CHECK;
enum kith_status llm_acc_thinking(struct llm_acc *a, const char *s, size_t n) KITH_MUST_CHECK;
/* The call with this provider index, added if new; NULL past LLM_MAX_CALLS
 * (with a->why saying so). */
struct llm_acc_call *llm_acc_call(struct llm_acc *a, long index);
/* Append arguments as they arrived to a call's text: a string's own text,
 * any other JSON written out.  KITH_ETOOBIG past the cap. */
enum kith_status llm_acc_args(struct llm_acc *a, struct llm_acc_call *call,
			      const json_t *args) KITH_MUST_CHECK;
/* The server's error (a string or an error object) as the failure:
 * KITH_EHTTP with a->why = its text. */
enum kith_status llm_acc_server_error(struct llm_acc *a, const json_t *err) KITH_MUST_CHECK;
/* Record a failure reason (first one wins) and return st. */
enum kith_status llm_acc_fail(struct llm_acc *a, enum kith_status st, const char *fmt, ...)
	KITH_PRINTF(3, 4);
/* Move the result into out (content never NULL, ids made up where the
 * provider sent none, arguments parsed).  Leaves `a` empty. */
void llm_acc_finish(struct llm_acc *a, struct llm_response *out);

/* A call's arguments as a JSON object for sending back in history: the
 * parsed object, else the raw text parsed, else {}.  New reference. */
json_t *llm_args_object(const struct llm_tool_call *tc);

/* Fold one JSON object of an answer into the accumulator.  KITH_EHTTP when
 * the object reports an error (a->why = the server's text), KITH_EPROTO
 * when its shape is wrong, KITH_ETOOBIG past the cap. */
enum kith_status ollama_chunk(struct llm_acc *a, const json_t *chunk) KITH_MUST_CHECK;
enum kith_status openai_chunk(struct llm_acc *a, const json_t *chunk) KITH_MUST_CHECK;

/* ---- llm_http.c ---- */

/* One HTTP exchange on behalf of a provider. */
struct llm_http {
	const char *method;       /* "GET" or "POST" */
	const char *path;         /* appended to the base URL: "/api/chat" */
	const char *body;         /* NUL-terminated JSON, or NULL */
	const struct cancel *cancel;
	bool event_stream;        /* ask for text/event-stream */
	enum kith_status (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
	int max_attempts;         /* 0 = the configured number */
	long (*hint_ms)(const struct http_response *r, void *ud);
	bool (*give_up)(const struct http_response *r, void *ud);
};

/* Headers (JSON, bearer token, OpenRouter attribution), timeouts, caps and
 * the retry policy from the client's configuration.  *reason gets http.c's
 * short reason on failure. */
enum kith_status llm_http_do(const struct llm_client *c, const struct llm_http *h,
			     struct http_response *resp, int *attempts,
			     char **reason) KITH_MUST_CHECK;

/* An exchange whose answer is one JSON document (embeddings, model lists):
 * llm_http_do(), then either the sentence from llm_fail() or the body
 * parsed into *reply (new reference; NULL when the body is not JSON, for
 * the caller to judge with the rest of the shape). */
enum kith_status llm_json_exchange(const struct llm_client *c, const struct llm_http *h,
				   const char *model, json_t **reply, char **why) KITH_MUST_CHECK;

/* The server's error text from an error body in either provider's shape
 * ({"error":"…"} or {"error":{"message":…,"code":…}}), or a trimmed prefix
 * of a non-JSON body; NULL when there is nothing.  Caller frees. */
char *llm_error_text(const json_t *error);
char *llm_body_error_text(const char *body, size_t n);

/* "Ollama at http://…" / "OpenAI-compatible endpoint at https://…". */
char *llm_where(const struct llm_client *c);

/* Turn a failed exchange into the status and sentence the caller sees.
 * `model` (may be NULL) names the model asked for, for 404s. */
enum kith_status llm_fail(const struct llm_client *c, enum kith_status st,
			  const struct http_response *resp, const char *reason,
			  int attempts, const char *model, const char *path, char **why);

/* The sentence for an answer that arrived but cannot be used: `what` is
 * the server's error text (KITH_EHTTP), what overflowed (KITH_ETOOBIG) or
 * what is malformed (anything else).  Returns st. */
enum kith_status llm_answer_fail(const struct llm_client *c, enum kith_status st,
				 const char *what, char **why);

/* ---- llm.c ---- */

/* "system", "user", "assistant", "tool": the wire name of a message role. */
const char *llm_msg_role_name(enum llm_msg_role r);

/* An image as a request carries it: base64, prefixed "data:<mime>;base64,"
 * when `data_url`; or with `record` the placeholder
 * "<image 34567 bytes image/png>" that call records keep instead.  New
 * reference. */
json_t *llm_image_json(const struct llm_image *im, bool data_url, bool record);

/* Tool definitions in the shape both providers take:
 * [{"type":"function","function":{"name","description","parameters"}}];
 * entries already in that shape pass through.  New reference. */
json_t *llm_tool_defs(const json_t *tools);

/* n embeddings of one dimension being filled from a reply. */
struct llm_vecs {
	size_t n;
	size_t dim;               /* 0 until the first vector is stored */
	float *v;                 /* n * dim, allocated with the first vector */
};

/* Copy `arr`, a JSON array of numbers, in as vector i (i < vs->n); the
 * first vector stored sets the dimension.  KITH_EPROTO with *bad saying
 * what is wrong (caller frees) for an empty first vector, one of another
 * size, or a non-number. */
enum kith_status llm_vecs_put(struct llm_vecs *vs, size_t i, const json_t *arr,
			      char **bad) KITH_MUST_CHECK;

/* What differs between the providers; llm.c does the rest of each exchange
 * (streaming, parsing, records, error sentences). */
struct llm_ops {
	/* Chat: the request body, and how answers come back. */
	const char *chat_path;     /* "/api/chat", "/chat/completions" */
	bool sse;                  /* streams are SSE (else NDJSON) */
	/* With `record`, images become placeholders (llm_image_json). */
	json_t *(*build_chat)(const struct llm_client *c, const struct llm_request *req,
			      const char *model, double temperature, bool record);
	enum kith_status (*chunk)(struct llm_acc *a, const json_t *chunk);
	/* The record of a streamed answer, in the provider's non-stream
	 * shape; `error` is the server's error text or NULL. */
	json_t *(*reassemble)(const struct llm_response *out, const char *error);

	/* Embeddings: the body is {"model","input":[texts]} plus
	 * encoding_format when set; take_embeddings() puts each vector of
	 * the reply (NULL when not JSON) with llm_vecs_put(), or fails with
	 * a status and *bad as for llm_answer_fail(). */
	const char *embed_path;    /* "/api/embed", "/embeddings" */
	const char *encoding_format;
	enum kith_status (*take_embeddings)(const json_t *reply, struct llm_vecs *vs,
					    char **bad);

	/* Retry hints for chat and embeddings; NULL = the defaults. */
	long (*hint_ms)(const struct http_response *r, void *ud);
	bool (*give_up)(const struct http_response *r, void *ud);

	/* Whether the server answers and has the main model. */
	enum kith_status (*health)(struct llm_client *c, char **why);
};

extern const struct llm_ops llm_ollama_ops;
extern const struct llm_ops llm_openai_ops;

#endif
