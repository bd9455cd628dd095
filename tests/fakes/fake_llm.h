/* fake_llm.h — a scriptable fake LLM server for tests and benchmarks.
 *
 * Speaks Ollama's native API (/api/chat, /api/embed, /api/tags, /api/show,
 * and /api/generate for image models)
 * or the OpenAI-compatible API (/v1/chat/completions, /v1/embeddings,
 * /v1/models) on 127.0.0.1 with an ephemeral port, per
 * ../shared/reference/protocols.md §3–4: NDJSON streaming for Ollama, SSE
 * with ": OPENROUTER PROCESSING" comments and [DONE] for OpenAI.
 *
 * Each chat request takes the next scripted reply (FIFO); when the script is
 * empty the default reply ("ok" unless changed) is served.  Every request is
 * recorded (method, path, headers, body) for assertions, and the images a
 * chat request carried can be read back decoded.  Thread-safe. */
#ifndef KITH_FAKE_LLM_H
#define KITH_FAKE_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum fake_llm_mode { FAKE_LLM_OLLAMA, FAKE_LLM_OPENAI };

struct fake_reply {
	const char *content;         /* assistant text (may be NULL with tool calls) */
	const char *tool_name;       /* one tool call: its name … */
	const char *tool_args;       /* … and its arguments as JSON text */
	const char *tool_calls_json; /* several: [{"name":…,"arguments":{…}}, …] */
	int status;                  /* HTTP status; 0 = 200 */
	const char *error_body;      /* body sent with status >= 400 (default:
				      * the provider's error shape with "error") */
	const char *retry_after;     /* Retry-After header value, if any */
	const char *stream_error;    /* streaming only: after content, send this
				      * error mid-stream (status stays 200) */
	int delay_ms;                /* wait before answering */
	int chunk_chars;             /* streaming: content chars per chunk (0 = 4) */
	const char *thinking;        /* Ollama: thinking text before content */
	long prompt_tokens, completion_tokens; /* usage to report (0 = computed) */
};

struct fake_llm;

/* Start on 127.0.0.1 with an ephemeral port; NULL (and a message on stderr)
 * when it cannot. */
struct fake_llm *fake_llm_start(enum fake_llm_mode mode);
void fake_llm_stop(struct fake_llm *f);    /* also frees */
/* Like fake_llm_start on a fixed port (0 = ephemeral), for the standalone
 * fake-llm --port. */
struct fake_llm *fake_llm_start_port(enum fake_llm_mode mode, int port);

/* Base URL to configure the client with: "http://127.0.0.1:PORT" for Ollama,
 * "http://127.0.0.1:PORT/v1" for OpenAI mode.  Owned by f. */
const char *fake_llm_url(const struct fake_llm *f);
int fake_llm_port(const struct fake_llm *f);

void fake_llm_push(struct fake_llm *f, const struct fake_reply *r); /* copies r */
void fake_llm_set_default_reply(struct fake_llm *f, const char *content);
/* Models the fake knows (NULL-terminated).  When set, a chat or embed
 * request for another model gets the provider's 404 "model not found".
 * Default: every model is known. */
void fake_llm_set_models(struct fake_llm *f, const char *const *models);
/* Dimension of the deterministic embeddings it returns (default 8). */
void fake_llm_set_embed_dim(struct fake_llm *f, size_t dim);
/* Embeddings are unit vectors times `scale` (default 1; 0 = all zeros),
 * for testing callers that normalise. */
void fake_llm_set_embed_scale(struct fake_llm *f, double scale);
/* The next n embedding requests (/api/embed, /v1/embeddings) fail with
 * HTTP `status` (>= 400) and the provider's error body; chat replies are
 * not affected.  n = 0 clears. */
void fake_llm_fail_embeds(struct fake_llm *f, int status, size_t n);
size_t fake_llm_pending(struct fake_llm *f);  /* scripted replies not yet served */
/* Ollama's POST /api/generate (stream false): answers with these bytes as
 * base64 in "image", as an image model does; NULL/0 (the default) answers
 * like a text model, with "response" and no "image".  The _base64 form
 * sets the "image" text verbatim (malformed data for error tests). */
void fake_llm_set_image(struct fake_llm *f, const void *data, size_t len);
void fake_llm_set_image_base64(struct fake_llm *f, const char *text);
/* The next n /api/generate requests fail with HTTP `status` (>= 400) and
 * Ollama's error body.  n = 0 clears. */
void fake_llm_fail_generates(struct fake_llm *f, int status, size_t n);

/* Recorded requests, in arrival order. */
size_t fake_llm_request_count(struct fake_llm *f);
/* Body of request i parsed as JSON (new reference; NULL if not JSON or no
 * such request). */
json_t *fake_llm_request_json(struct fake_llm *f, size_t i);
/* Path ("/api/chat"), header value (case-insensitive name) — copies the
 * caller frees; NULL when absent. */
char *fake_llm_request_path(struct fake_llm *f, size_t i);
char *fake_llm_request_header(struct fake_llm *f, size_t i, const char *name);
/* Method ("POST") and raw body (NUL-terminated) of request i — copies the
 * caller frees; NULL when there is no such request. */
char *fake_llm_request_method(struct fake_llm *f, size_t i);
char *fake_llm_request_body(struct fake_llm *f, size_t i);
/* Images chat request i carried, over all its messages in order: Ollama's
 * message "images" (bare base64), OpenAI's image_url content parts (data:
 * URLs; an http(s) URL counts but has no bytes).  A chat request with a
 * malformed image (not strict base64, a part that is neither text nor
 * image_url, a data: URL that is not image/… base64) gets a 400.
 * The count is 0 for no such request. */
size_t fake_llm_request_image_count(struct fake_llm *f, size_t i);
/* Image k of request i decoded from base64 (caller frees; NULL when there
 * is no such image or it has no bytes); *len gets its size.  *mime
 * (optional; caller frees) gets the data: URL's type in OpenAI mode, NULL
 * in Ollama mode, which sends none. */
unsigned char *fake_llm_request_image(struct fake_llm *f, size_t i, size_t k, size_t *len,
				      char **mime);
/* Poll until at least n requests have arrived or timeout_ms passes. */
bool fake_llm_wait_requests(struct fake_llm *f, size_t n, int timeout_ms);

/* Load a script from JSON: an array of objects with the fake_reply field
 * names ({"content":…, "tool_name":…, "status":…, …}).  Returns false and
 * prints why on stderr when malformed.  Used by the standalone fake-llm. */
bool fake_llm_push_json(struct fake_llm *f, const json_t *script);

#endif
