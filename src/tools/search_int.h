/* search_int.h — what the search files share: the two services' clients
 * and their parsers (the parsers take a buffer, so the fuzzers and unit
 * tests can drive them without a network). */
#ifndef KITH_TOOLS_SEARCH_INT_H
#define KITH_TOOLS_SEARCH_INT_H

#include "tools/search.h"

/* ---- Perplexity (perplexity.c) ----------------------------------------- */

/* A parsed Responses-API answer (owned; release with perplexity_answer_release). */
struct perplexity_answer {
	char *text;        /* cleaned; SEARCH_NO_RESULTS when the answer had none */
	char **urls;       /* ranked, unblocked, at most SEARCH_MAX_SOURCES */
	size_t nurls;
};

void perplexity_answer_release(struct perplexity_answer *a);

/* Parse a /v1/responses body.  Text: "output_text" when it is a non-empty
 * string, else the text parts of the "message" output items joined.  URLs:
 * each "search_results" item's results[].url (cited 0 times) and each
 * message's content[].annotations[].url (counted), blocked domains
 * dropped, most cited first (ties in order of appearance), at most
 * SEARCH_MAX_SOURCES.  Nulls and wrong types anywhere are skipped.
 * KITH_EPROTO when the body is not a JSON object. */
enum kith_status perplexity_parse(const char *body, size_t n, const char *const *blocked,
				  struct perplexity_answer *out, char **why) KITH_MUST_CHECK;

/* POST {url}/v1/responses {"preset":"pro-search","input":input}. */
enum kith_status perplexity_search(const struct search_opts *o, const char *input,
				   struct perplexity_answer *out, char **why) KITH_MUST_CHECK;

/* ---- Serper (serper.c) -------------------------------------------------- */

/* The "imageUrl" of each entry of a Serper /images body, in order (heap
 * array of heap strings; free with search_terms_free).  Entries without a
 * string imageUrl are skipped.  KITH_EPROTO when the body is not a JSON
 * object; an object without "images" gives an empty list. */
enum kith_status serper_parse(const char *body, size_t n, char ***urls, size_t *nurls,
			      char **why) KITH_MUST_CHECK;

/* The extension of url's path (after the last '.' of the last segment,
 * lower-cased, without the dot) when it is jpg, jpeg, png, gif or webp;
 * NULL otherwise.  Static string. */
const char *serper_image_ext(const char *url);

/* The MIME type of a downloaded image: Content-Type before ';', trimmed
 * and lower-cased; for application/ or binary/octet-stream (or no type)
 * the one the extension implies.  NULL unless jpeg, png, gif or webp.
 * Static string. */
const char *serper_image_mime(const char *content_type, const char *ext);

/* Search images for `query` and download the first usable one (allowed
 * extension, host not blocked, downloads, acceptable type, within the
 * size cap).  KITH_ENOTFOUND when none is usable; *why says why. */
enum kith_status serper_find_image(const struct search_opts *o, const char *query,
				   struct search_image *out, char **why) KITH_MUST_CHECK;

void search_image_release(struct search_image *img);

#endif
