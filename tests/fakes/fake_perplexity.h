/* fake_perplexity.h — a scriptable fake of Perplexity's Responses API.
 *
 * Answers POST /v1/responses on 127.0.0.1 with the shape penny-digest §7.4
 * describes: {"id","model","status":"completed","output":[search_results
 * item, message item with output_text content and url_citation
 * annotations],"output_text"}.  Each request takes the next scripted reply
 * (FIFO; a reply with `times` serves that many requests); with none left
 * the default reply is served ("Fake search results." and no URLs).  A
 * request without "Authorization: Bearer <key>" (when a key is set) gets
 * Perplexity's HTML 401; a body that is not {"preset","input"} JSON gets a
 * 400.  Every request is recorded with its arrival and answer times
 * (fake_search_server.h).  Thread-safe. */
#ifndef KITH_FAKE_PERPLEXITY_H
#define KITH_FAKE_PERPLEXITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_pplx_reply {
	const char *text;                   /* the message's text (NULL = none) */
	bool top_level_text;                /* also send it as "output_text" */
	const char *const *search_results;  /* NULL-terminated URLs of a search_results item */
	const char *const *citations;       /* NULL-terminated URLs cited in the message
					     * (url_citation annotations; repeats count) */
	const char *raw_body;               /* send exactly this (wins over the above) */
	int status;                         /* 0 = 200; >= 400 sends error_body */
	const char *error_body;             /* NULL = Perplexity's shape for the status
					     * (HTML for 401, JSON "error" otherwise) */
	int delay_ms;                       /* wait before answering */
	bool hang_up;                       /* close the connection without answering */
	int times;                          /* requests this reply serves (0 = 1) */
};

struct fake_perplexity;

/* Start on an ephemeral loopback port; NULL (and a message) when it cannot. */
struct fake_perplexity *fake_perplexity_start(void);
void fake_perplexity_stop(struct fake_perplexity *f);   /* also frees */
/* Base URL for PERPLEXITY_API_URL ("http://127.0.0.1:PORT"); owned by f. */
const char *fake_perplexity_url(const struct fake_perplexity *f);

/* Require "Authorization: Bearer <key>" (copied; NULL = accept any). */
void fake_perplexity_set_key(struct fake_perplexity *f, const char *key);
void fake_perplexity_push(struct fake_perplexity *f, const struct fake_pplx_reply *r); /* copies */
/* The reply served when the script is empty (copied; NULL = the built-in
 * default). */
void fake_perplexity_set_default(struct fake_perplexity *f, const struct fake_pplx_reply *r);

/* Recorded requests, in arrival order. */
size_t fake_perplexity_request_count(struct fake_perplexity *f);
json_t *fake_perplexity_request_json(struct fake_perplexity *f, size_t i); /* new ref or NULL */
/* "input" of request i (caller frees; NULL when none). */
char *fake_perplexity_request_input(struct fake_perplexity *f, size_t i);
char *fake_perplexity_request_header(struct fake_perplexity *f, size_t i, const char *name);
char *fake_perplexity_request_path(struct fake_perplexity *f, size_t i);
int64_t fake_perplexity_request_arrived(struct fake_perplexity *f, size_t i);
int64_t fake_perplexity_request_answered(struct fake_perplexity *f, size_t i);
bool fake_perplexity_wait_requests(struct fake_perplexity *f, size_t n, int timeout_ms);

/* The response body a reply produces (caller frees), for tests and seeds. */
char *fake_perplexity_body(const struct fake_pplx_reply *r);

#endif
