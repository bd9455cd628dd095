/* vision.h — image attachments described in words for the prompt.
 *
 * The reply model may not see images, so each image a message carries is
 * shown to the vision role's model (LLM_ROLE_VISION) on its own, and what it
 * says comes back as a line of text for the prompt:
 *
 *   [image 1: A ginger cat asleep on a keyboard; the screen reads "git push".]
 *
 * An image that cannot be described (too big, not an image, a download or
 * model failure) becomes "[an image that could not be described]" and a
 * log line; without a vision model each image is only named,
 * "[an image: cat.png]".  Nothing here fails the turn. */
#ifndef KITH_AGENT_VISION_H
#define KITH_AGENT_VISION_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cancel.h"

struct attachment;
struct llm_client;

#define VISION_MAX_IMAGES 4                       /* described per message */
#define VISION_MAX_IMAGE_BYTES ((size_t)8 << 20)  /* one image */
#define VISION_MAX_TOTAL_BYTES ((size_t)16 << 20) /* all of a message's images */
#define VISION_DOWNLOAD_TIMEOUT_MS 15000
#define VISION_CAPTION_MAX 600                    /* bytes kept of one caption */

/* True for an attachment that is an image: a Content-Type of image/…, or
 * with no usable type a file name ending in an image extension (.png,
 * .jpg, .jpeg, .gif, .webp, .bmp, .heic, .tif, .tiff, .svg, .avif). */
bool agent_attachment_is_image(const struct attachment *a);

/* Describe the image attachments among att[0..n) with the vision model.
 * Each image's bytes are att->data, or downloaded from att->url (http and
 * https only, VISION_DOWNLOAD_TIMEOUT_MS, at most VISION_MAX_IMAGE_BYTES,
 * the answer's Content-Type must be image/…).  At most VISION_MAX_IMAGES
 * are looked at, VISION_MAX_TOTAL_BYTES in all; a line says how many more
 * were left out.  Other attachments are skipped.
 *
 * *captions gets one line per image joined by '\n' (caller frees), or NULL
 * when there is no image.  Returns the number of image attachments
 * (described or not).  `cancel` (may be NULL) ends downloads and model
 * calls early; images not reached are left undescribed. */
size_t agent_caption_images(struct llm_client *llm, const struct attachment *att, size_t n,
			    const struct cancel *cancel, char **captions);

#endif
