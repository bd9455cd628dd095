/* draw.h — image generation through Ollama's /api/generate (/draw).
 *
 * POST {base}/api/generate {"model","prompt","stream":false}; an image model
 * answers with the picture as base64 in "image" (a text model has only
 * "response", which is an error here).  One call may take minutes on a
 * local GPU, so the default timeout is long; connection errors, 408, 429
 * and 5xx are retried, 404 (model not pulled) never is.  The decoded bytes
 * are checked against the PNG, JPEG and WebP signatures: whatever the
 * server says, only a picture leaves this file. */
#ifndef KITH_TOOLS_DRAW_H
#define KITH_TOOLS_DRAW_H

#include <stddef.h>

#include "core/cancel.h"
#include "core/status.h"

/* Largest decoded image accepted. */
#define DRAW_MAX_IMAGE ((size_t)20 << 20)
#define DRAW_DEFAULT_TIMEOUT_MS 120000L
#define DRAW_PROMPT_MAX 4000

struct draw_params {
	const char *base_url;   /* Ollama root, "http://localhost:11434" */
	const char *model;      /* OLLAMA_IMAGE_MODEL */
	long timeout_ms;        /* 0 = DRAW_DEFAULT_TIMEOUT_MS */
	int max_attempts;       /* tries including the first; < 1 = 3 */
	long retry_base_ms;     /* 0 = 500 */
	const struct cancel *cancel; /* may be NULL */
};

struct draw_image {
	unsigned char *data;    /* owned */
	size_t len;
	const char *mime;       /* static: "image/png", "image/jpeg", "image/webp" */
	const char *filename;   /* static: "drawing.png", … */
};

/* Draw `prompt` (1..DRAW_PROMPT_MAX bytes).  KITH_ENOTFOUND when the model
 * is not on the server, KITH_EPROTO when the answer has no usable image,
 * KITH_ETOOBIG past DRAW_MAX_IMAGE, else http_perform's statuses.  *why
 * (caller frees) is a sentence for the person.  Release *out with
 * draw_image_release() (also after a failure). */
enum kith_status draw_generate(const struct draw_params *p, const char *prompt,
			       struct draw_image *out, char **why) KITH_MUST_CHECK;

/* The /api/generate answer body → decoded image (what draw_generate does
 * with a 200; exposed for tests).  Accepts a bare base64 string or a
 * data: URL in "image", or the first entry of an "images" array. */
enum kith_status draw_parse_response(const char *body, size_t n, struct draw_image *out,
				     char **why) KITH_MUST_CHECK;

/* "image/png", "image/jpeg", "image/webp" from the leading bytes; NULL when
 * none matches. */
const char *draw_sniff(const void *data, size_t len);

void draw_image_release(struct draw_image *img);

#endif
