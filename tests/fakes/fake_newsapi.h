/* fake_newsapi.h — a scriptable fake of NewsAPI.org's /v2/everything.
 *
 * Answers GET /v2/everything on 127.0.0.1 with the shape protocols.md
 * §5.3 gives: {"status":"ok","totalResults","articles":[{"source":{"id",
 * "name"},"author","title","description","url","urlToImage","publishedAt",
 * "content"}]}, nulls where an article field is NULL.  Each request takes
 * the next scripted reply (FIFO; `times` serves several requests); with
 * none left it answers ok with no articles.  Errors come in NewsAPI's own
 * body {"status":"error","code","message"}: a key is required when set
 * (missing → 401 apiKeyMissing, wrong → 401 apiKeyInvalid), a missing q is
 * 400 parametersMissing, another path 404.  Every request is recorded with
 * its query arguments (decoded) and headers (fake_search_server.h), so a
 * test can assert q, from, sortBy, language, pageSize and X-Api-Key.
 * Thread-safe. */
#ifndef KITH_FAKE_NEWSAPI_H
#define KITH_FAKE_NEWSAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_news_article {
	const char *source;        /* source.name; NULL = null */
	const char *title;         /* NULL = null */
	const char *description;   /* NULL = null */
	const char *url;           /* NULL = null */
	const char *published_at;  /* NULL = "2026-11-20T12:00:00Z" */
	const char *content;       /* NULL = null */
};

struct fake_news_reply {
	const struct fake_news_article *articles;
	size_t n;
	const char *raw_body;      /* send exactly this (wins over the above) */
	int status;                /* 0 = 200; >= 400 sends an error body */
	const char *code;          /* error code; NULL = one fitting the status */
	const char *message;       /* error message; NULL = a generic one */
	int delay_ms;              /* wait before answering (ends when the client hangs up) */
	bool hang_up;              /* close without answering */
	int times;                 /* requests this reply serves (0 = 1) */
};

struct fake_newsapi;

/* Start on an ephemeral loopback port; NULL (and a message) when it cannot. */
struct fake_newsapi *fake_newsapi_start(void);
void fake_newsapi_stop(struct fake_newsapi *f);   /* also frees */
/* Base URL for NEWS_API_URL, "http://127.0.0.1:PORT/v2"; owned by f. */
const char *fake_newsapi_url(const struct fake_newsapi *f);

/* Require "X-Api-Key: <key>" (copied; NULL = accept any). */
void fake_newsapi_set_key(struct fake_newsapi *f, const char *key);
void fake_newsapi_push(struct fake_newsapi *f, const struct fake_news_reply *r); /* copies */

/* Recorded requests, in arrival order (strings: caller frees, NULL = none). */
size_t fake_newsapi_request_count(struct fake_newsapi *f);
char *fake_newsapi_request_path(struct fake_newsapi *f, size_t i);
char *fake_newsapi_request_arg(struct fake_newsapi *f, size_t i, const char *name);
char *fake_newsapi_request_header(struct fake_newsapi *f, size_t i, const char *name);
bool fake_newsapi_wait_requests(struct fake_newsapi *f, size_t n, int timeout_ms);

/* The body a reply produces (caller frees), for tests and fuzz seeds. */
char *fake_newsapi_body(const struct fake_news_reply *r);

#endif
