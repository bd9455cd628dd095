/* search.h — web search: Perplexity for the text, Serper for an image.
 *
 * One query runs two searches at once: the text (Perplexity's Responses API,
 * preset "pro-search") on the calling thread and the image (Serper's image
 * search, then downloading the first usable picture) on a second thread, so
 * the answer costs the slower of the two rather than their sum.  The text
 * is what matters: when it fails the search fails; when the image fails the
 * answer simply has no picture.  Before anything leaves the machine the
 * user's own name is cut out of the query, and a "[Today is …]" prefix in
 * the owner's time zone is added so "latest" means something.  Answers are
 * cleaned of Markdown and citation markers, sources are ranked by how often
 * the answer cites them, blocked domains never appear as a source or an
 * image, and every search is written to the search_log table.
 *
 * The tool the model calls (`tool_search`, "search") wraps search_run():
 * the model gets the text and a numbered "Sources:" list; the image and the
 * sources go to the turn through tool_ctx.out (agent/tools.h), where the
 * agent picks them up for the reply (search_append_source, the attachment).
 * See docs/search.md. */
#ifndef KITH_TOOLS_SEARCH_H
#define KITH_TOOLS_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cancel.h"
#include "core/status.h"

struct config;
struct store;

#define SEARCH_MAX_SOURCES 5                       /* sources kept per answer */
#define SEARCH_IMAGE_MAX_BYTES ((size_t)8 << 20)    /* one downloaded image */
#define SEARCH_TEXT_MAX_BYTES ((size_t)4 << 20)     /* a Perplexity answer */
#define SEARCH_QUERY_MAX 2000                       /* bytes of query sent */
#define SEARCH_NO_RESULTS "No results found"        /* the text of an empty answer */

/* Everything a search needs besides the query.  search_opts_from_config()
 * fills it from the settings; the caller then sets the per-turn fields. */
struct search_opts {
	const char *perplexity_url;     /* API base, "/v1/responses" is appended */
	const char *perplexity_key;     /* NULL = no text search (search_run fails) */
	const char *serper_url;         /* API base, "/images" is appended */
	const char *serper_key;         /* NULL = no image */
	const char *const *blocked;     /* NULL-terminated domains never used; NULL = none */
	long text_timeout_ms;           /* the Perplexity call (TOOL_TIMEOUT) */
	long image_timeout_ms;          /* each Serper call and download (IMAGE_DOWNLOAD_TIMEOUT) */
	int image_max_results;          /* images asked of Serper (IMAGE_MAX_RESULTS) */
	size_t image_max_bytes;         /* 0 = SEARCH_IMAGE_MAX_BYTES */
	int text_attempts;              /* Perplexity tries incl. the first; 0 = 2 */
	/* Per call. */
	const char *timezone;           /* owner's zone for the date prefix; NULL = UTC */
	int64_t now_ms;                 /* 0 = clock_now_ms() */
	const char *const *redact;      /* NULL-terminated terms cut from the query */
	bool skip_images;               /* text only (background research) */
	const struct cancel *cancel;    /* may be NULL */
	struct store *store;            /* where to log; NULL = not logged */
	const char *trigger;            /* search_log.trigger; NULL = "user_message" */
	const char *author_id;          /* who asked, for the log; may be NULL */
};

/* Defaults and the settings (URLs and keys are borrowed from cfg). */
void search_opts_from_config(struct search_opts *o, const struct config *cfg);
/* Web search is possible: a Perplexity key is configured. */
bool search_available(const struct config *cfg);

/* An image for the reply (owned; data == NULL = none). */
struct search_image {
	unsigned char *data;
	size_t len;
	char *mime;      /* image/jpeg, image/png, image/gif or image/webp */
	char *url;       /* where it was downloaded from */
};

/* What one search found (owned; release with search_result_release). */
struct search_result {
	char *query;            /* as sent, redacted, without the date prefix */
	char *text;             /* the cleaned answer; NULL when the search failed */
	char *error;            /* why it failed, NULL on success */
	char **sources;         /* ranked URLs, at most SEARCH_MAX_SOURCES */
	size_t nsources;
	struct search_image image;
	char *image_error;      /* why there is no image (for logs), may be NULL */
	int64_t duration_ms;
	int64_t log_id;         /* search_log row, 0 = not logged */
};

void search_result_release(struct search_result *r);

/* Run one search: text and image in parallel, then log it.  Returns KITH_OK
 * when the text search succeeded; otherwise its status, with r->error set
 * (and *why, optional, a copy) and no image.  An image failure never fails
 * the call.
 * `r` is initialised here. */
enum kith_status search_run(const struct search_opts *o, const char *query,
			    struct search_result *r, char **why) KITH_MUST_CHECK;

/* ---- text helpers (pure; search_text.c) -------------------------------- */

/* `text` with every whole-word, case-insensitive occurrence of each term
 * removed, runs of whitespace collapsed to one space and the ends trimmed.
 * Empty terms are ignored; terms may be NULL.  Caller frees. */
char *search_redact(const char *text, const char *const *terms);

/* The terms to redact for a user called `name` who wrote `message`: the
 * whole name and each of its words of two or more letters; none at all
 * when the message itself names them (the user asked about it).  A
 * NULL-terminated heap array (free with search_terms_free); NULL when
 * there is nothing to redact. */
char **search_redact_terms(const char *name, const char *message);
void search_terms_free(char **terms);

/* Perplexity's answer made plain: citation markers ([1], [web:2]),
 * heading marks, bold/italic asterisks and bullet marks removed, three or
 * more newlines collapsed to two, ends trimmed.  Caller frees. */
char *search_clean_text(const char *text);

/* Whether url's host is `domain` or ends with "." + domain for one of the
 * NULL-terminated `blocked` domains (case-insensitive).  A URL without a
 * host is not blocked. */
bool search_url_blocked(const char *url, const char *const *blocked);

/* "Sources:\n1. url\n2. url" — NULL when n == 0.  Caller frees. */
char *search_sources_block(const char *const *sources, size_t n);

/* The final reply with the first source appended ("\n\n" + url) when
 * there are sources and the reply carries no URL of its own, as Penny
 * does; otherwise a copy of reply.  Caller frees. */
char *search_append_source(const char *reply, const char *const *sources, size_t n);

/* What the model reads after a search: the text, the numbered sources and
 * a nudge to answer now; "Failed to search: <reason>" for a failure.
 * Caller frees. */
char *search_format_for_model(const struct search_result *r);

/* "[Today is March 05, 2026] " in `zone` (NULL/unknown = UTC) at now_ms.
 * Caller frees. */
char *search_date_prefix(const char *zone, int64_t now_ms);

#endif
