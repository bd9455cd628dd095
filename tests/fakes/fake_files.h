/* fake_files.h — a loopback HTTP server that serves registered bytes.
 *
 * For code that downloads things (image attachments on a CDN, files a tool
 * fetches): register a path with its bytes, Content-Type and status, point
 * the code at fake_files_url() + path, then assert on what was asked for.
 * Unregistered paths get 404.  Every request is recorded.  Thread-safe. */
#ifndef KITH_FAKE_FILES_H
#define KITH_FAKE_FILES_H

#include <stddef.h>

struct fake_file {
	const char *path;           /* "/attachments/cat.png" (no query string) */
	const void *data;           /* body; copied */
	size_t len;
	const char *content_type;   /* Content-Type header; NULL = none sent */
	int status;                 /* 0 = 200 */
};

struct fake_files;

/* Start on 127.0.0.1 with an ephemeral port; NULL (and a message on
 * stderr) when it cannot. */
struct fake_files *fake_files_start(void);
void fake_files_stop(struct fake_files *f);    /* also frees */

/* "http://127.0.0.1:PORT", owned by f. */
const char *fake_files_url(const struct fake_files *f);
/* fake_files_url() + path; caller frees. */
char *fake_files_url_for(const struct fake_files *f, const char *path);

/* Serve `file` (copied) at file->path, replacing an earlier one there. */
void fake_files_put(struct fake_files *f, const struct fake_file *file);

/* Recorded requests, in arrival order: how many, and the method and path
 * of request i (copies the caller frees; NULL when there is no such one). */
size_t fake_files_request_count(struct fake_files *f);
char *fake_files_request_method(struct fake_files *f, size_t i);
char *fake_files_request_path(struct fake_files *f, size_t i);

#endif
