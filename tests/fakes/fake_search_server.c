/* fake_search_server.c — libmicrohttpd plumbing shared by the search fakes.
 *
 * Same shape as fake_llm.c: a thread per connection, so a delayed answer
 * holds only its own connection and two requests can be in flight at once
 * (which the parallel-search tests need).  A request's arrival time is
 * taken when its headers are first seen, its answer time just before the
 * answer is queued, both under the lock. */
#include "fakes/fake_search_server.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_BODY ((size_t)1 << 20)
#define DELAY_STEP_MS 20

struct header {
	char *name, *value;
};

struct recorded {
	char *method, *path, *body;
	size_t body_len;
	struct header *hdrs;
	size_t nhdrs, hdrcap;
	int64_t arrived, answered;
};

struct fss {
	struct MHD_Daemon *daemon;
	char *url;
	char *name;
	fss_handler fn;
	void *ud;
	int stopping;                  /* atomic */

	pthread_mutex_t lock;          /* guards reqs */
	struct recorded *reqs;
	size_t nreqs, reqcap;
};

/* Per-connection state while the body arrives. */
struct upload {
	struct buf body;
	size_t index;                  /* its slot in reqs */
};

static bool stopping(struct fss *s)
{
	return __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE) != 0;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct recorded *rec = cls;

	rec->hdrs = xgrow(rec->hdrs, &rec->hdrcap, rec->nhdrs + 1, sizeof(*rec->hdrs));
	/* Query arguments share the list as "?name": no header name has a '?'. */
	rec->hdrs[rec->nhdrs].name = kind == MHD_GET_ARGUMENT_KIND ? xasprintf("?%s", key)
								   : xstrdup(key);
	rec->hdrs[rec->nhdrs].value = xstrdup(value ? value : "");
	rec->nhdrs++;
	return MHD_YES;
}

/* Wait ms, waking every DELAY_STEP_MS to see whether the client hung up
 * (POLLRDHUP) or the fake is stopping; false then. */
static bool wait_delay(struct fss *s, struct MHD_Connection *conn, int ms)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd pfd = { ci ? ci->connect_fd : -1, POLLRDHUP, 0 };
	int64_t end = clock_mono_ms() + ms;

	while (ms > 0 && !stopping(s)) {
		int64_t left = end - clock_mono_ms();

		if (left <= 0)
			return true;
		if (poll(&pfd, 1, left < DELAY_STEP_MS ? (int)left : DELAY_STEP_MS) > 0)
			return false;
	}
	return !stopping(s);
}

static enum MHD_Result answer(struct fss *s, struct MHD_Connection *conn, struct upload *up,
			      const char *method, const char *url)
{
	struct fss_answer a = { 0 };
	struct MHD_Response *resp;
	enum MHD_Result res;

	s->fn(s->ud, s, up->index, method, url, buf_str(&up->body), up->body.len, &a);
	if (!wait_delay(s, conn, a.delay_ms) || a.hang_up) {
		free(a.owned);
		free(a.owned_type);
		free(a.location);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(a.len, (void *)(a.body ? a.body : ""),
					       MHD_RESPMEM_MUST_COPY);
	free(a.owned);
	if (resp && a.content_type)
		MHD_add_response_header(resp, "Content-Type", a.content_type);
	free(a.owned_type);
	if (resp && a.location)
		MHD_add_response_header(resp, "Location", a.location);
	free(a.location);
	if (!resp)
		return MHD_NO;
	pthread_mutex_lock(&s->lock);
	s->reqs[up->index].answered = clock_mono_ms();
	pthread_mutex_unlock(&s->lock);
	res = MHD_queue_response(conn, a.status ? (unsigned)a.status : MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct fss *s = cls;
	struct upload *up = *con_cls;

	(void)version;
	if (!up) {
		struct recorded rec = { 0 };

		up = xcalloc(1, sizeof(*up));
		buf_init(&up->body, MAX_BODY);
		rec.method = xstrdup(method);
		rec.path = xstrdup(url);
		MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &rec);
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_header, &rec);
		pthread_mutex_lock(&s->lock);
		rec.arrived = clock_mono_ms();
		s->reqs = xgrow(s->reqs, &s->reqcap, s->nreqs + 1, sizeof(*s->reqs));
		up->index = s->nreqs;
		s->reqs[s->nreqs++] = rec;
		pthread_mutex_unlock(&s->lock);
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_size) {
		(void)buf_append(&up->body, data, *data_size);   /* past the cap: dropped */
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->lock);
	s->reqs[up->index].body = xstrndup(buf_str(&up->body), up->body.len);
	s->reqs[up->index].body_len = up->body.len;
	pthread_mutex_unlock(&s->lock);
	return answer(s, conn, up, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)why;
	if (up) {
		buf_release(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

struct fss *fss_start(const char *name, fss_handler fn, void *ud)
{
	struct fss *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	s->fn = fn;
	s->ud = ud;
	s->name = xstrdup(name);
	pthread_mutex_init(&s->lock, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC,
				     0, NULL, NULL, on_request, s,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_END);
	info = s->daemon ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info || !info->port) {
		fprintf(stderr, "%s: cannot listen on 127.0.0.1\n", name);
		fss_stop(s);
		return NULL;
	}
	s->url = xasprintf("http://127.0.0.1:%u", (unsigned)info->port);
	return s;
}

void fss_stop(struct fss *s)
{
	if (!s)
		return;
	__atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	for (size_t i = 0; i < s->nreqs; i++) {
		struct recorded *r = &s->reqs[i];

		for (size_t k = 0; k < r->nhdrs; k++) {
			free(r->hdrs[k].name);
			free(r->hdrs[k].value);
		}
		free(r->hdrs);
		free(r->method);
		free(r->path);
		free(r->body);
	}
	free(s->reqs);
	free(s->url);
	free(s->name);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *fss_url(const struct fss *s)
{
	return s->url;
}

size_t fss_request_count(struct fss *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->nreqs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

enum field { F_PATH, F_METHOD, F_BODY };

static char *field(struct fss *s, size_t i, enum field f)
{
	char *v = NULL;

	pthread_mutex_lock(&s->lock);
	if (i < s->nreqs) {
		const struct recorded *r = &s->reqs[i];

		v = f == F_PATH ? xstrdup(r->path) : f == F_METHOD ? xstrdup(r->method)
			: r->body ? xstrndup(r->body, r->body_len) : NULL;
	}
	pthread_mutex_unlock(&s->lock);
	return v;
}

char *fss_request_path(struct fss *s, size_t i)
{
	return field(s, i, F_PATH);
}

char *fss_request_method(struct fss *s, size_t i)
{
	return field(s, i, F_METHOD);
}

char *fss_request_body(struct fss *s, size_t i)
{
	return field(s, i, F_BODY);
}

char *fss_request_header(struct fss *s, size_t i, const char *name)
{
	char *v = NULL;

	pthread_mutex_lock(&s->lock);
	for (size_t k = 0; i < s->nreqs && k < s->reqs[i].nhdrs && !v; k++)
		if (strcasecmp(s->reqs[i].hdrs[k].name, name) == 0)
			v = xstrdup(s->reqs[i].hdrs[k].value);
	pthread_mutex_unlock(&s->lock);
	return v;
}

char *fss_request_arg(struct fss *s, size_t i, const char *name)
{
	char *key = xasprintf("?%s", name), *v = NULL;

	pthread_mutex_lock(&s->lock);
	for (size_t k = 0; i < s->nreqs && k < s->reqs[i].nhdrs && !v; k++)
		if (strcmp(s->reqs[i].hdrs[k].name, key) == 0)
			v = xstrdup(s->reqs[i].hdrs[k].value);
	pthread_mutex_unlock(&s->lock);
	free(key);
	return v;
}

json_t *fss_request_json(struct fss *s, size_t i)
{
	char *body = fss_request_body(s, i);
	json_t *j = body ? kjson_parse(body, strlen(body), NULL) : NULL;

	free(body);
	return j;
}

static int64_t stamp(struct fss *s, size_t i, bool answered)
{
	int64_t t = 0;

	pthread_mutex_lock(&s->lock);
	if (i < s->nreqs)
		t = answered ? s->reqs[i].answered : s->reqs[i].arrived;
	pthread_mutex_unlock(&s->lock);
	return t;
}

int64_t fss_request_arrived(struct fss *s, size_t i)
{
	return stamp(s, i, false);
}

int64_t fss_request_answered(struct fss *s, size_t i)
{
	return stamp(s, i, true);
}

bool fss_wait_requests(struct fss *s, size_t n, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct timespec step = { 0, 10 * 1000000L };

	for (;;) {
		if (fss_request_count(s) >= n)
			return true;
		if (clock_mono_ms() >= deadline)
			return false;
		nanosleep(&step, NULL);
	}
}

void fss_answer_text(struct fss_answer *a, int status, const char *type, char *text)
{
	a->status = status;
	a->content_type = type;
	a->owned = text;
	a->body = text;
	a->len = strlen(text);
}

struct fss_queued {
	void *reply;
	int left;
	struct fss_queued *next;
};

void fss_queue_push(struct fss_queue *q, void *reply, int times)
{
	struct fss_queued *e = xcalloc(1, sizeof(*e));

	e->reply = reply;
	e->left = times > 0 ? times : 1;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
}

void *fss_queue_take(struct fss_queue *q, bool *last)
{
	struct fss_queued *e = q->head;
	void *reply;

	*last = false;
	if (!e)
		return NULL;
	reply = e->reply;
	if (--e->left <= 0) {
		q->head = e->next;
		if (!q->head)
			q->tail = NULL;
		free(e);
		*last = true;
	}
	return reply;
}

void fss_queue_clear(struct fss_queue *q, void (*drop)(void *reply))
{
	struct fss_queued *e, *next;

	for (e = q->head; e; e = next) {
		next = e->next;
		drop(e->reply);
		free(e);
	}
	q->head = q->tail = NULL;
}
