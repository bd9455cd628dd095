/* fake_search_server.h — the loopback HTTP server under the search fakes.
 *
 * fake_perplexity, fake_serper and fake_newsapi differ only in what they
 * answer, so the libmicrohttpd plumbing (a thread per connection, body
 * collection, recording, delays that end when the client hangs up or the
 * fake stops) and the FIFO of scripted replies live here once.  Every
 * request is recorded with its method, path, headers, body and two
 * monotonic times (clock_mono_ms): when it arrived and when its answer was
 * queued, so a test can prove two requests overlapped (the second arrived
 * before the first was answered) without timing anything.  Thread-safe,
 * except the reply queue (see there). */
#ifndef KITH_FAKE_SEARCH_SERVER_H
#define KITH_FAKE_SEARCH_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the handler answers with (everything copied by the server). */
struct fss_answer {
	int status;                 /* 0 = 200 */
	const char *content_type;   /* NULL = none sent */
	const void *body;
	size_t len;
	int delay_ms;               /* wait before answering */
	bool hang_up;               /* close without answering */
	char *owned;                /* freed by the server after answering */
	char *owned_type;           /* likewise (a content_type to free) */
	char *location;             /* heap: a Location header (redirects), freed
				     * by the server; NULL = none */
};

struct fss;

/* Called for each complete request: `index` is its slot in the record
 * (for fss_request_header), path has no query, body is NUL-terminated.
 * Fills *a. */
typedef void (*fss_handler)(void *ud, struct fss *s, size_t index, const char *method,
			    const char *path, const char *body, size_t len, struct fss_answer *a);

struct fss *fss_start(const char *name, fss_handler fn, void *ud);
void fss_stop(struct fss *s);   /* also frees */
/* "http://127.0.0.1:PORT", owned by s. */
const char *fss_url(const struct fss *s);

size_t fss_request_count(struct fss *s);
/* Copies the caller frees; NULL when there is no such request / header. */
char *fss_request_path(struct fss *s, size_t i);
char *fss_request_method(struct fss *s, size_t i);
char *fss_request_body(struct fss *s, size_t i);
char *fss_request_header(struct fss *s, size_t i, const char *name);
/* Query argument `name` of request i, percent-decoded (caller frees);
 * NULL when absent.  A header lookup never matches an argument. */
char *fss_request_arg(struct fss *s, size_t i, const char *name);
json_t *fss_request_json(struct fss *s, size_t i);   /* new reference or NULL */
/* clock_mono_ms() when request i arrived / was answered (0 = not yet or
 * no such request). */
int64_t fss_request_arrived(struct fss *s, size_t i);
int64_t fss_request_answered(struct fss *s, size_t i);
/* Poll until at least n requests have arrived or timeout_ms passes. */
bool fss_wait_requests(struct fss *s, size_t n, int timeout_ms);

/* a->status, a->content_type = type, and `text` (heap, NUL-terminated) as
 * the body, which the server frees after answering. */
void fss_answer_text(struct fss_answer *a, int status, const char *type, char *text);

/* The fakes' scripted replies: a FIFO where each reply serves `times`
 * requests.  Not locked: a fake calls these under its own lock, the one
 * that also guards what it decides an answer with. */
struct fss_queued;
struct fss_queue {
	struct fss_queued *head, *tail;
};
/* Append `reply` (the queue owns it until it is taken for the last time)
 * to serve `times` requests (<= 0 = 1). */
void fss_queue_push(struct fss_queue *q, void *reply, int times);
/* The reply for the next request, or NULL when none is left.  *last is
 * set when this was its last use: it has left the queue and the caller
 * now owns it; otherwise it stays queued (and owned by the queue). */
void *fss_queue_take(struct fss_queue *q, bool *last);
/* Empty the queue, handing each reply to drop(). */
void fss_queue_clear(struct fss_queue *q, void (*drop)(void *reply));

#endif
