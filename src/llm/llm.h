/* llm.h — one interface to chat and embedding models, two providers.
 *
 * Providers: Ollama's native API (/api/chat, /api/embed, /api/tags) and any
 * OpenAI-compatible endpoint (/chat/completions, /embeddings, /models:
 * OpenRouter, vLLM, llama.cpp server, LocalAI).  The caller speaks one
 * neutral message format; each provider translates it on the wire and back.
 *
 * Every call has a timeout, bounded retries with backoff on transient
 * failures (connection errors, 5xx, 408, 429 honouring Retry-After), a cap
 * on what it reads and cancellation from another thread (struct cancel).
 * Errors come back as a status plus a sentence a person can act on:
 * "cannot reach Ollama at http://localhost:11434: connection refused",
 * "model 'x' not found on Ollama at …". */
#ifndef KITH_LLM_H
#define KITH_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"

enum llm_provider { LLM_PROVIDER_OLLAMA = 0, LLM_PROVIDER_OPENAI = 1 };

/* What a call is for; each role has its own model and temperature. */
enum llm_role {
	LLM_ROLE_MAIN = 0,   /* foreground replies */
	LLM_ROLE_UTIL,       /* background: classification, extraction */
	LLM_ROLE_VISION,     /* image captions */
	LLM_ROLE_EMBED,      /* embeddings */
	LLM_ROLE_IMAGE,      /* image generation */
	LLM_ROLE_COUNT_
};

const char *llm_role_name(enum llm_role r);       /* "main", "util", … */
const char *llm_provider_name(enum llm_provider p); /* "Ollama", "OpenAI-compatible" */

struct llm_config {
	enum llm_provider provider;
	char *base_url;          /* Ollama root, or OpenAI base incl. /v1 */
	char *api_key;           /* bearer token (OpenAI-compatible), may be NULL */
	char *models[LLM_ROLE_COUNT_];   /* NULL = role not configured */
	double temperature[LLM_ROLE_COUNT_]; /* < 0 = provider default */
	double top_p;            /* < 0 = provider default */
	long timeout_ms;         /* whole request; default 120000 */
	long connect_timeout_ms; /* default 10000 */
	int max_attempts;        /* tries per call incl. the first; default 4 */
	long retry_base_ms;      /* first backoff; default 500 */
	long retry_max_ms;       /* backoff and Retry-After cap; default 30000 */
	size_t max_response_bytes; /* default 8 MiB */
	char *referer;           /* OpenRouter HTTP-Referer, may be NULL */
	char *title;             /* OpenRouter X-Title, may be NULL */
};

void llm_config_init(struct llm_config *c);     /* defaults, no models */
void llm_config_release(struct llm_config *c);

enum llm_msg_role { LLM_MSG_SYSTEM, LLM_MSG_USER, LLM_MSG_ASSISTANT, LLM_MSG_TOOL };

struct llm_tool_call {
	char *id;            /* provider id, or one we made up ("call_1") */
	char *name;
	json_t *arguments;   /* parsed object; NULL when the model sent text that
			      * is not a JSON object (arguments_raw keeps it) */
	char *arguments_raw; /* arguments as compact JSON text, as received */
};

/* An image for a vision model.  On the wire it is base64 (Ollama: a bare
 * string in the message's "images"; OpenAI-compatible: a data: URL in an
 * image_url content part); in llm_response.request_json it is only a
 * placeholder, "<image 34567 bytes image/png>", so call records stay small. */
struct llm_image {
	unsigned char *data;
	size_t len;
	char *mime;                    /* "image/png", "image/jpeg", … */
};

struct llm_msg {
	enum llm_msg_role role;
	char *content;                 /* may be NULL for assistant tool calls */
	struct llm_tool_call *calls;   /* assistant only */
	size_t ncalls;
	char *tool_name;               /* tool results: which tool */
	char *tool_call_id;            /* tool results: which call */
	struct llm_image *images;      /* user messages; NULL/0 = none */
	size_t nimages;
};

/* Helpers for building message lists.  Strings are copied, and so are the
 * bytes of an added image; llm_msg_release() frees it all. */
void llm_msg_init(struct llm_msg *m, enum llm_msg_role role, const char *content);
/* Attach a copy of `len` (> 0) bytes of image data of type `mime`. */
void llm_msg_add_image(struct llm_msg *m, const void *data, size_t len, const char *mime);
void llm_msg_release(struct llm_msg *m);
void llm_tool_call_copy(struct llm_tool_call *dst, const struct llm_tool_call *src);
void llm_tool_call_release(struct llm_tool_call *c);

struct llm_request {
	enum llm_role role;
	const struct llm_msg *msgs;
	size_t nmsgs;
	/* Tools: JSON array of {"name","description","parameters"}; NULL = none. */
	const json_t *tools;
	const char *tool_choice;      /* NULL = auto; "none"; "required"; any
				       * other string names the one tool to call
				       * (OpenAI-compatible only; Ollama has no
				       * tool_choice and offers no tools for "none") */
	/* Structured output: a JSON schema object, or NULL. */
	const json_t *json_schema;
	const char *schema_name;      /* OpenAI json_schema.name; default "response" */
	bool stream;
	/* Streamed content deltas (only when stream is true). */
	void (*on_delta)(const char *text, size_t n, void *ud);
	void *ud;
	const struct cancel *cancel;
	double temperature;           /* < 0 = the role's */
};

struct llm_response {
	char *content;        /* never NULL on success ("" when only tool calls);
			       * after a failure mid-stream, what had arrived */
	char *thinking;       /* reasoning text if the model sent any */
	struct llm_tool_call *calls;
	size_t ncalls;
	char *finish_reason;  /* "stop", "length", "tool_calls", … */
	char *model;          /* model that answered (or was asked) */
	long prompt_tokens, completion_tokens;   /* -1 when unknown */
	/* Filled on success and failure alike, for the llm_calls record: */
	char *request_json;   /* the body sent, images replaced by placeholders */
	char *response_json;  /* the body received (streams: the reassembled result) */
	long http_status;     /* last status seen, 0 if none */
	int attempts;
	int64_t duration_ms;
};

void llm_response_release(struct llm_response *r);

struct llm_client;

struct llm_client *llm_client_new(const struct llm_config *cfg); /* copies cfg */
void llm_client_free(struct llm_client *c);
const struct llm_config *llm_client_config(const struct llm_client *c);
const char *llm_model(const struct llm_client *c, enum llm_role r); /* NULL if none */

/* One chat completion.  `out` is always initialised; release it even on
 * failure (it carries what was sent and the timing).  Statuses: KITH_ECONNECT,
 * KITH_ETIMEDOUT, KITH_ECANCELED, KITH_ETOOBIG, KITH_EAUTH (401/403),
 * KITH_ENOTFOUND (unknown model or path), KITH_ERATELIMIT (429 after the
 * retries, or a daily cap), KITH_EHTTP (other error statuses, and errors the
 * server reports inside a 200 answer or mid-stream), KITH_EPROTO (an answer
 * we cannot read), KITH_ECONFIG (no model for the role, unusable URL).
 * Streamed content deltas go to req->on_delta on the calling thread; once
 * one has been delivered the call is never retried. */
enum kith_status llm_chat(struct llm_client *c, const struct llm_request *req,
			  struct llm_response *out, char **why) KITH_MUST_CHECK;

/* Embed n texts with the embedding role's model.  *vecs receives n*(*dim)
 * floats (caller frees). */
enum kith_status llm_embed(struct llm_client *c, const char *const *texts, size_t n,
			   float **vecs, size_t *dim, const struct cancel *cancel,
			   char **why) KITH_MUST_CHECK;

/* Reachability and model check: lists models and confirms the main model
 * is there (Ollama) or that the endpoint answers (OpenAI-compatible). */
enum kith_status llm_health(struct llm_client *c, char **why) KITH_MUST_CHECK;

#endif
