/* fake_serper.h — a scriptable fake of Serper's image search that also
 * serves the images it finds.
 *
 * POST /images {"q","num"} answers Serper's shape (protocols.md §5.2):
 * {"searchParameters":{…},"images":[{"title","imageUrl","imageWidth",
 * "imageHeight","thumbnailUrl","source","domain","link","position"}],
 * "credits":1}, listing the first `num` registered images in order.  An
 * image registered with a path is served by the fake itself (GET path with
 * its bytes, Content-Type, status and delay), so a test controls every
 * download; one registered with image_url points anywhere, as is.  Scripted
 * replies (FIFO, `times` each) replace the /images answer to simulate
 * failures; a wrong X-API-KEY (when a key is set) gets Serper's 403.
 * Every request — searches and downloads — is recorded with arrival and
 * answer times (fake_search_server.h).  Thread-safe. */
#ifndef KITH_FAKE_SERPER_H
#define KITH_FAKE_SERPER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_serper_image {
	const char *path;           /* served here: imageUrl = fake url + path */
	const char *image_url;      /* or (path NULL): this imageUrl, used as is */
	const void *data;           /* bytes served at path (copied) */
	size_t len;
	const char *content_type;   /* NULL = no Content-Type header */
	int status;                 /* 0 = 200 */
	int delay_ms;               /* wait before serving the bytes */
};

struct fake_serper_reply {
	int status;                 /* 0 = 200 */
	const char *body;           /* NULL = Serper's error shape for the status */
	int delay_ms;
	bool hang_up;               /* close without answering */
	int times;                  /* requests this reply serves (0 = 1) */
};

struct fake_serper;

struct fake_serper *fake_serper_start(void);
void fake_serper_stop(struct fake_serper *f);   /* also frees */
/* Base URL for SERPER_API_URL ("http://127.0.0.1:PORT"); owned by f. */
const char *fake_serper_url(const struct fake_serper *f);

/* Require this X-API-KEY (copied; NULL = accept any). */
void fake_serper_set_key(struct fake_serper *f, const char *key);
/* Append an image to every search answer (copied). */
void fake_serper_add_image(struct fake_serper *f, const struct fake_serper_image *img);
void fake_serper_clear_images(struct fake_serper *f);
/* Delay of the normal /images answer (scripted replies carry their own). */
void fake_serper_set_delay(struct fake_serper *f, int ms);
void fake_serper_push(struct fake_serper *f, const struct fake_serper_reply *r);  /* copies */

/* Recorded requests (searches and downloads), in arrival order. */
size_t fake_serper_request_count(struct fake_serper *f);
char *fake_serper_request_path(struct fake_serper *f, size_t i);
char *fake_serper_request_method(struct fake_serper *f, size_t i);
char *fake_serper_request_header(struct fake_serper *f, size_t i, const char *name);
json_t *fake_serper_request_json(struct fake_serper *f, size_t i);  /* new ref or NULL */
int64_t fake_serper_request_arrived(struct fake_serper *f, size_t i);
int64_t fake_serper_request_answered(struct fake_serper *f, size_t i);
bool fake_serper_wait_requests(struct fake_serper *f, size_t n, int timeout_ms);
/* How many recorded requests had this path. */
size_t fake_serper_count_path(struct fake_serper *f, const char *path);

#endif
