/* newsapi.h — NewsAPI.org's /v2/everything, for followed topics.
 *
 * One GET {NEWS_API_URL}/everything?q=…&from=…&sortBy=publishedAt&
 * language=en&pageSize=N with the key in an X-Api-Key header (never in the
 * URL, so it cannot reach a log line through one).  NEWS_API_URL already
 * ends in /v2 (https://newsapi.org/v2), as the setting's default says.
 *
 * The parser works on a buffer, so the fuzzer and the tests feed it bytes
 * directly.  It tolerates null or oddly typed fields (skipped, never
 * trusted), drops articles without a title or URL and the "[Removed]"
 * placeholders NewsAPI serves for withdrawn articles, and turns an error
 * body {"status":"error","code","message"} into a status and a sentence:
 * rateLimited → KITH_ERATELIMIT, apiKey* → KITH_EAUTH, anything else
 * KITH_EHTTP (or KITH_EPROTO for bytes that are not a NewsAPI answer). */
#ifndef KITH_TOOLS_NEWSAPI_H
#define KITH_TOOLS_NEWSAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"

struct config;

#define NEWSAPI_Q_MAX 500             /* NewsAPI's limit on q, in bytes */
#define NEWSAPI_PAGE_DEFAULT 20       /* articles asked for (Penny's page size) */
#define NEWSAPI_PAGE_MAX 100
#define NEWSAPI_MAX_ARTICLES 100      /* kept from one answer */
#define NEWSAPI_FIELD_MAX 4000        /* bytes kept of any one text field */
#define NEWSAPI_MAX_RESPONSE ((size_t)4 << 20)

/* One article (owned strings; "" when the answer had none). */
struct newsapi_article {
	char *source;        /* source.name */
	char *title;
	char *description;
	char *url;
	char *content;       /* NewsAPI truncates it at 200 chars */
	int64_t published_at;  /* epoch ms; 0 = missing or unparseable */
};

/* A parsed answer (owned; release with newsapi_result_release). */
struct newsapi_result {
	struct newsapi_article *v;
	size_t n;
	long long total;     /* totalResults, 0 when absent */
	size_t removed;      /* "[Removed]" or unusable articles dropped */
};

struct newsapi_query {
	const char *base_url;          /* NEWS_API_URL, "/everything" is appended */
	const char *key;               /* NEWS_API_KEY; required */
	const char *const *terms;      /* NULL-terminated, OR-ed; multi-word ones quoted */
	int64_t from_ms;               /* 0 = no "from" */
	int page_size;                 /* 0 = NEWSAPI_PAGE_DEFAULT; capped at NEWSAPI_PAGE_MAX */
	long timeout_ms;               /* 0 = 30 s */
	int attempts;                  /* tries incl. the first; 0 = 2 */
	const struct cancel *cancel;   /* may be NULL */
};

/* Fill base_url and key from the settings (borrowed from cfg). */
void newsapi_query_from_config(struct newsapi_query *q, const struct config *cfg);
/* A NEWS_API_KEY is configured. */
bool newsapi_available(const struct config *cfg);

/* The request URL (caller frees); KITH_EINVAL when there is no usable
 * term.  The q parameter is at most NEWSAPI_Q_MAX bytes before encoding:
 * terms that do not fit are left out. */
enum kith_status newsapi_build_url(const struct newsapi_query *q, char **url,
				   char **why) KITH_MUST_CHECK;

/* Parse an answer body.  `out` is always initialised. */
enum kith_status newsapi_parse(const char *p, size_t n, struct newsapi_result *out,
			       char **why) KITH_MUST_CHECK;
void newsapi_result_release(struct newsapi_result *r);

/* "2024-01-15T18:00:00Z", with optional fraction and a Z or ±HH:MM
 * offset, or a bare date; false when it is none of these. */
bool newsapi_parse_time(const char *s, int64_t *epoch_ms);

/* The whole call: build, GET (retried on a dropped connection, 429 and
 * 5xx), parse.  Errors in words in *why (never the key, never the query).
 * KITH_EAUTH for 401 / apiKey*, KITH_ERATELIMIT for 429 / rateLimited,
 * KITH_ECANCELED on a cancel. */
enum kith_status newsapi_search(const struct newsapi_query *q, struct newsapi_result *out,
				char **why) KITH_MUST_CHECK;

#endif
