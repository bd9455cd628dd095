/* fake_signal.c — a fake signal-cli-rest-api on one libwebsockets server:
 * the json-rpc receive WebSocket and the REST routes share a port, as they
 * do in the real API, so a client needs only SIGNAL_API_URL.
 *
 * One lws service thread does all socket work; tests script it from their
 * own threads by changing shared state under `lock` and waking the service
 * with lws_cancel_service(), after which the service thread moves queued
 * frames onto the live connection and answers waiting polls — lws calls
 * are only ever made on its thread.  A 20 ms timer on that thread ends
 * polls whose wait is over.  HTTP answers are written from the writeable
 * callback (headers, then the body), so a poll can be answered later than
 * the request arrived.  The protocol follows protocols.md §2.7. */
#include "fakes/fake_signal.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY ((size_t)64 << 20)
#define WAIT_STEP_MS 5
#define TICK_MS 20

struct strlist {
	char **v;
	size_t n, cap;
};

static void strlist_push(struct strlist *l, char *s)
{
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = s;
}

static void strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct wsconn {
	struct lws *wsi;          /* NULL once closed */
	char *path;
	struct strlist out;       /* frames to send, in order */
	size_t out_next;
	bool drop;
};

struct httpreq {
	struct lws *wsi;
	char *method, *path;
	struct buf body;
	bool ready;               /* the answer below is decided */
	bool headers_sent;
	bool waiting;             /* a poll waiting for frames */
	int64_t deadline;
	int status;
	const char *ctype;
	char *resp;
	size_t resp_len;
};

struct pss {
	struct wsconn *ws;
	struct httpreq *http;
};

struct record {
	char *method, *path, *body;
	int status;
};

struct script {
	char *method, *prefix, *body;
	int status, left;
};

struct stored {
	char *id, *ctype;
	unsigned char *data;
	size_t len;
};

struct fake_signal {
	char *number, *url;
	enum fake_signal_mode mode;
	struct lws_context *ctx;
	pthread_t thread;
	int stop;                 /* atomic */
	lws_sorted_usec_list_t sul_tick;

	pthread_mutex_t lock;     /* everything below (recursive) */
	bool accept;
	enum fake_signal_answer answer;
	int64_t last_ts;
	struct strlist pending;   /* frames waiting for a connection or poll */
	struct wsconn **conns;
	size_t nconns, conncap;
	struct httpreq **waiting;
	size_t nwaiting, waitcap;
	struct record *recs;
	size_t nrecs, reccap;
	struct script *scripts;
	size_t nscripts, scriptcap;
	struct stored *atts;
	size_t natts, attcap;
};

static struct fake_signal *fake_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static struct wsconn *live_conn(struct fake_signal *f)
{
	for (size_t i = f->nconns; i-- > 0;)
		if (f->conns[i]->wsi && !f->conns[i]->drop)
			return f->conns[i];
	return NULL;
}

/* ---- answers ------------------------------------------------------------- */

static void answer(struct httpreq *h, int status, const char *ctype, char *body)
{
	h->ready = true;
	h->status = status;
	h->ctype = ctype;
	h->resp = body ? body : xstrdup("");
	h->resp_len = strlen(h->resp);
	if (h->wsi)
		lws_callback_on_writable(h->wsi);
}

static void answer_error(struct httpreq *h, int status, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);

	answer(h, status, "application/json", kjson_dump(o, false));
	json_decref(o);
}

static void record(struct fake_signal *f, struct httpreq *h)
{
	f->recs = xgrow(f->recs, &f->reccap, f->nrecs + 1, sizeof(*f->recs));
	f->recs[f->nrecs++] = (struct record){ xstrdup(h->method), xstrdup(h->path),
					       xstrndup(buf_str(&h->body), h->body.len), h->status };
}

/* The pending frames as a JSON array text; clears them. */
static char *take_pending_array(struct fake_signal *f)
{
	struct buf b = BUF_INIT(0);

	(void)buf_puts(&b, "[");
	for (size_t i = 0; i < f->pending.n; i++)
		(void)buf_printf(&b, "%s%s", i ? "," : "", f->pending.v[i]);
	(void)buf_puts(&b, "]");
	strlist_clear(&f->pending);
	return buf_detach(&b);
}

static void finish_poll(struct fake_signal *f, struct httpreq *h)
{
	h->waiting = false;
	answer(h, 200, "text/plain; charset=utf-8", take_pending_array(f));
	record(f, h);
}

static void unwait(struct fake_signal *f, struct httpreq *h)
{
	for (size_t i = 0; i < f->nwaiting; i++)
		if (f->waiting[i] == h) {
			f->waiting[i] = f->waiting[--f->nwaiting];
			return;
		}
}

/* Answer every waiting poll that has frames or whose time is up. */
static void service_polls(struct fake_signal *f, bool timer)
{
	int64_t now = clock_mono_ms();

	for (size_t i = 0; i < f->nwaiting;) {
		struct httpreq *h = f->waiting[i];

		if (f->pending.n || (timer && now >= h->deadline)) {
			f->waiting[i] = f->waiting[--f->nwaiting];
			finish_poll(f, h);
			continue;
		}
		i++;
	}
}

/* The number in a path segment: "%2B1555…" or "+1555…". */
static bool path_number_ok(struct fake_signal *f, const char *seg, size_t n)
{
	char num[64];

	if (n >= 3 && strncasecmp(seg, "%2B", 3) == 0) {
		if (n - 2 >= sizeof(num))
			return false;
		num[0] = '+';
		memcpy(num + 1, seg + 3, n - 3);
		num[n - 2] = '\0';
	} else {
		if (n >= sizeof(num))
			return false;
		memcpy(num, seg, n);
		num[n] = '\0';
	}
	return strcmp(num, f->number) == 0;
}

/* "/v1/x/{number}[?…]" → whether the tail is our number. */
static bool tail_is_number(struct fake_signal *f, const char *path, const char *prefix)
{
	const char *seg = path + strlen(prefix), *q = strchr(seg, '?');

	return path_number_ok(f, seg, q ? (size_t)(q - seg) : strlen(seg));
}

static bool prefixed(const char *path, const char *prefix)
{
	return strncmp(path, prefix, strlen(prefix)) == 0;
}

static void route_send(struct fake_signal *f, struct httpreq *h, json_t *body)
{
	const char *number = kjson_str(body, "number");
	json_t *recips = kjson_arr(body, "recipients");
	int64_t ts;

	if (!json_is_object(body)) {
		answer_error(h, 400, "Couldn't process request - invalid request");
		return;
	}
	if (!number || strcmp(number, f->number) != 0) {
		answer_error(h, 400, "Couldn't process request - please provide a valid number");
		return;
	}
	if (!recips || json_array_size(recips) == 0) {
		answer_error(h, 400, "Couldn't process request - please provide at least one recipient");
		return;
	}
	ts = clock_now_ms();
	if (ts <= f->last_ts)
		ts = f->last_ts + 1;
	f->last_ts = ts;
	switch (f->answer) {
	case FAKE_SIGNAL_ANSWER_ARRAY:
		answer(h, 201, "application/json", xasprintf("[{\"timestamp\":\"%lld\"}]", (long long)ts));
		break;
	case FAKE_SIGNAL_ANSWER_TEXT:
		answer(h, 201, "text/plain; charset=utf-8", xstrdup("sent"));
		break;
	default:
		answer(h, 201, "application/json", xasprintf("{\"timestamp\":\"%lld\"}", (long long)ts));
	}
}

/* Decide the answer to a complete request (lock held).  Polls may wait. */
static void route(struct fake_signal *f, struct httpreq *h)
{
	json_t *body = h->body.len ? json_loadb(buf_str(&h->body), h->body.len, 0, NULL) : NULL;
	const char *m = h->method, *p = h->path;

	for (size_t i = 0; i < f->nscripts; i++) {
		struct script *s = &f->scripts[i];

		if (s->left <= 0 || (s->method && strcmp(s->method, m) != 0) ||
		    (s->prefix && !prefixed(p, s->prefix)))
			continue;
		s->left--;
		answer(h, s->status, "application/json",
		       xstrdup(s->body ? s->body : "{\"error\":\"fake failure\"}"));
		goto done;
	}
	if (strcmp(m, "GET") == 0 && prefixed(p, "/v1/about")) {
		answer(h, 200, "application/json",
		       xasprintf("{\"versions\":[\"v1\",\"v2\"],\"build\":2,\"mode\":\"%s\","
				 "\"version\":\"fake\",\"capabilities\":{\"v2/send\":[\"quotes\","
				 "\"mentions\"]}}", f->mode == FAKE_SIGNAL_NORMAL ? "normal" : "json-rpc"));
	} else if (strcmp(m, "GET") == 0 && prefixed(p, "/v1/receive/")) {
		const char *t = strstr(p, "timeout=");
		long secs = t ? strtol(t + 8, NULL, 10) : 1;

		if (!tail_is_number(f, p, "/v1/receive/")) {
			answer_error(h, 400, "Couldn't process request - malformed number");
		} else if (f->mode == FAKE_SIGNAL_JSON_RPC) {
			answer_error(h, 400, "websocket: the client is not using the websocket protocol: "
				     "'upgrade' token not found in 'Connection' header");
		} else if (f->pending.n || secs <= 0) {
			finish_poll(f, h);
			goto out;   /* recorded by finish_poll */
		} else {
			h->waiting = true;
			h->deadline = clock_mono_ms() + (secs > 1 ? 1000 : secs * 1000);
			f->waiting = xgrow(f->waiting, &f->waitcap, f->nwaiting + 1, sizeof(*f->waiting));
			f->waiting[f->nwaiting++] = h;
			goto out;   /* recorded when answered */
		}
	} else if (strcmp(m, "POST") == 0 && strcmp(p, "/v2/send") == 0) {
		route_send(f, h, body);
	} else if ((strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0) &&
		   prefixed(p, "/v1/typing-indicator/")) {
		if (!tail_is_number(f, p, "/v1/typing-indicator/"))
			answer_error(h, 400, "Couldn't process request - malformed number");
		else if (!kjson_str(body, "recipient"))
			answer_error(h, 400, "Couldn't process request - recipient missing");
		else
			answer(h, 204, NULL, NULL);
	} else if ((strcmp(m, "POST") == 0 || strcmp(m, "DELETE") == 0) &&
		   prefixed(p, "/v1/reactions/")) {
		long long ts = 0;

		if (!tail_is_number(f, p, "/v1/reactions/"))
			answer_error(h, 400, "Couldn't process request - malformed number");
		else if (!kjson_str(body, "recipient"))
			answer_error(h, 400, "Couldn't process request - recipient missing");
		else if (strcmp(m, "POST") == 0 && !kjson_str(body, "reaction"))
			answer_error(h, 400, "Couldn't process request - reaction missing");
		else if (!kjson_str(body, "target_author"))
			answer_error(h, 400, "Couldn't process request - target_author missing");
		else if (!kjson_int(body, "timestamp", &ts) || ts <= 0)
			answer_error(h, 400, "Couldn't process request - timestamp missing");
		else
			answer(h, 204, NULL, NULL);
	} else if (strcmp(m, "GET") == 0 && prefixed(p, "/v1/attachments/")) {
		const char *id = p + strlen("/v1/attachments/");
		struct stored *a = NULL;

		for (size_t i = 0; i < f->natts; i++)
			if (strcmp(f->atts[i].id, id) == 0)
				a = &f->atts[i];
		if (!*id) {
			answer_error(h, 400, "Please provide a valid attachment name");
		} else if (!a) {
			answer_error(h, 404, "No attachment with that name found");
		} else {
			h->ready = true;
			h->status = 200;
			h->ctype = a->ctype;
			h->resp = xmalloc(a->len + 1);
			memcpy(h->resp, a->data, a->len);
			h->resp[a->len] = '\0';
			h->resp_len = a->len;
			lws_callback_on_writable(h->wsi);
		}
	} else {
		answer(h, 404, "text/plain", xstrdup("404 page not found"));
	}
done:
	record(f, h);
out:
	json_decref(body);
}

/* ---- lws ------------------------------------------------------------------- */

static void httpreq_free(struct fake_signal *f, struct httpreq *h)
{
	if (!h)
		return;
	unwait(f, h);
	free(h->method);
	free(h->path);
	buf_release(&h->body);
	free(h->resp);
	free(h);
}

static const char *const method_names[] = { "GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE",
					    "CONNECT", "HEAD" };

static struct httpreq *httpreq_new(struct lws *wsi)
{
	struct httpreq *h = xcalloc(1, sizeof(*h));
	struct buf path = BUF_INIT(0);
	char *uri = NULL, frag[512];
	int ulen = 0, m = lws_http_get_uri_and_method(wsi, &uri, &ulen);

	h->wsi = wsi;
	h->method = xstrdup(m >= 0 && m < (int)(sizeof(method_names) / sizeof(method_names[0]))
			    ? method_names[m] : "?");
	if (uri && ulen > 0)
		(void)buf_append(&path, uri, (size_t)ulen);
	for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0;
	     i++)
		(void)buf_printf(&path, "%c%s", i ? '&' : '?', frag);
	h->path = buf_detach(&path);
	buf_init(&h->body, MAX_BODY);
	return h;
}

static int write_http(struct lws *wsi, struct httpreq *h)
{
	unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;

	if (!h->headers_sent) {
		if (lws_add_http_common_headers(wsi, (unsigned)h->status, h->ctype,
						(lws_filepos_t)h->resp_len, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		h->headers_sent = true;
		if (h->resp_len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	} else {
		unsigned char *b = xmalloc(LWS_PRE + h->resp_len);
		int n;

		memcpy(b + LWS_PRE, h->resp, h->resp_len);
		n = lws_write(wsi, b + LWS_PRE, h->resp_len, LWS_WRITE_HTTP_FINAL);
		free(b);
		if (n < 0)
			return -1;
	}
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void ws_flush(struct fake_signal *f)
{
	struct wsconn *c = live_conn(f);

	if (c && f->pending.n) {
		for (size_t i = 0; i < f->pending.n; i++)
			strlist_push(&c->out, f->pending.v[i]);
		free(f->pending.v);
		memset(&f->pending, 0, sizeof(f->pending));
	}
	for (size_t i = 0; i < f->nconns; i++)
		if (f->conns[i]->wsi && (f->conns[i]->drop || f->conns[i]->out_next < f->conns[i]->out.n))
			lws_callback_on_writable(f->conns[i]->wsi);
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	struct fake_signal *f = (struct fake_signal *)(void *)((char *)sul -
							      offsetof(struct fake_signal, sul_tick));

	pthread_mutex_lock(&f->lock);
	service_polls(f, true);
	pthread_mutex_unlock(&f->lock);
	lws_sul_schedule(f->ctx, 0, &f->sul_tick, tick_cb, TICK_MS * LWS_US_PER_MS);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct fake_signal *f = fake_of(wsi);
	struct pss *ps = user;
	struct wsconn *c;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		char uri[512] = "";

		lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
		if (f->mode != FAKE_SIGNAL_JSON_RPC || !f->accept || !prefixed(uri, "/v1/receive/") ||
		    !tail_is_number(f, uri, "/v1/receive/"))
			rc = 1;
		break;
	}
	case LWS_CALLBACK_ESTABLISHED: {
		char uri[512] = "";

		c = xcalloc(1, sizeof(*c));
		c->wsi = wsi;
		lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
		c->path = xstrdup(uri);
		f->conns = xgrow(f->conns, &f->conncap, f->nconns + 1, sizeof(*f->conns));
		f->conns[f->nconns++] = c;
		ps->ws = c;
		ws_flush(f);
		break;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE:
		c = ps->ws;
		if (!c || c->drop) {
			rc = -1;
			break;
		}
		if (c->out_next < c->out.n) {
			const char *s = c->out.v[c->out_next];
			size_t n = strlen(s);
			unsigned char *frame = xmalloc(LWS_PRE + n);

			memcpy(frame + LWS_PRE, s, n);
			if (lws_write(wsi, frame + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
				rc = -1;
			else
				c->out_next++;
			free(frame);
			if (c->out_next < c->out.n)
				lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_CLOSED:
		c = ps ? ps->ws : NULL;
		if (c) {
			/* Unsent frames wait for the next connection, in order. */
			struct strlist keep = { 0 };

			for (size_t i = c->out_next; i < c->out.n; i++) {
				strlist_push(&keep, c->out.v[i]);
				c->out.v[i] = NULL;
			}
			for (size_t i = 0; i < f->pending.n; i++)
				strlist_push(&keep, f->pending.v[i]);
			free(f->pending.v);
			f->pending = keep;
			c->out.n = c->out_next;
			c->wsi = NULL;
		}
		break;
	case LWS_CALLBACK_HTTP:
		httpreq_free(f, ps->http);
		ps->http = httpreq_new(wsi);
		{
			char cl[32] = "";

			if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
			    strtol(cl, NULL, 10) > 0)
				break;   /* the body comes first */
		}
		route(f, ps->http);
		break;
	case LWS_CALLBACK_HTTP_BODY:
		if (ps->http)
			(void)buf_append(&ps->http->body, in, len);
		break;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (ps->http)
			route(f, ps->http);
		break;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (ps && ps->http && ps->http->ready)
			rc = write_http(wsi, ps->http);
		break;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (ps && ps->http) {
			httpreq_free(f, ps->http);
			ps->http = NULL;
		}
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		ws_flush(f);
		service_polls(f, false);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static const struct lws_protocols protocols[] = {
	{ "signal-fake", callback, sizeof(struct pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *service_main(void *arg)
{
	struct fake_signal *f = arg;

	lws_sul_schedule(f->ctx, 0, &f->sul_tick, tick_cb, TICK_MS * LWS_US_PER_MS);
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
		if (lws_service(f->ctx, 0) < 0)
			break;
	return NULL;
}

static void wake(struct fake_signal *f)
{
	if (f->ctx)
		lws_cancel_service(f->ctx);
}

/* ---- lifecycle --------------------------------------------------------------- */

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_lws(void)
{
	lws_set_log_level(LLL_ERR, NULL);
}

struct fake_signal *fake_signal_start(const char *number, enum fake_signal_mode mode)
{
	struct fake_signal *f = xcalloc(1, sizeof(*f));
	struct lws_context_creation_info info;
	int port;

	f->number = xstrdup(number);
	f->mode = mode;
	f->accept = true;
	/* Recursive: lws calls back into us (HTTP_DROP_PROTOCOL, CLOSED)
	 * from inside calls made while a callback holds the lock. */
	{
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&f->lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	pthread_once(&quiet_once, quiet_lws);
	memset(&info, 0, sizeof(info));
	info.port = 0;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.user = f;
	info.gid = -1;
	info.uid = -1;
	f->ctx = lws_create_context(&info);
	port = f->ctx ? lws_get_vhost_listen_port(lws_get_vhost_by_name(f->ctx, "default")) : 0;
	if (port <= 0) {
		fprintf(stderr, "fake_signal: cannot start the server\n");
		fake_signal_stop(f);
		return NULL;
	}
	f->url = xasprintf("http://127.0.0.1:%d", port);
	if (pthread_create(&f->thread, NULL, service_main, f) != 0) {
		fprintf(stderr, "fake_signal: cannot start the service thread\n");
		free(f->url);
		f->url = NULL;
		fake_signal_stop(f);
		return NULL;
	}
	return f;
}

void fake_signal_stop(struct fake_signal *f)
{
	if (!f)
		return;
	if (f->ctx) {
		__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
		if (f->url) {
			lws_cancel_service(f->ctx);
			pthread_join(f->thread, NULL);
		}
		lws_context_destroy(f->ctx);
	}
	for (size_t i = 0; i < f->nconns; i++) {
		strlist_clear(&f->conns[i]->out);
		free(f->conns[i]->path);
		free(f->conns[i]);
	}
	free(f->conns);
	free(f->waiting);
	strlist_clear(&f->pending);
	for (size_t i = 0; i < f->nrecs; i++) {
		free(f->recs[i].method);
		free(f->recs[i].path);
		free(f->recs[i].body);
	}
	free(f->recs);
	for (size_t i = 0; i < f->nscripts; i++) {
		free(f->scripts[i].method);
		free(f->scripts[i].prefix);
		free(f->scripts[i].body);
	}
	free(f->scripts);
	for (size_t i = 0; i < f->natts; i++) {
		free(f->atts[i].id);
		free(f->atts[i].ctype);
		free(f->atts[i].data);
	}
	free(f->atts);
	pthread_mutex_destroy(&f->lock);
	free(f->number);
	free(f->url);
	free(f);
}

const char *fake_signal_url(const struct fake_signal *f)
{
	return f->url;
}

/* ---- scripting ------------------------------------------------------------------ */

void fake_signal_push_frame(struct fake_signal *f, const char *frame)
{
	pthread_mutex_lock(&f->lock);
	strlist_push(&f->pending, xstrdup(frame));
	pthread_mutex_unlock(&f->lock);
	wake(f);
}

void fake_signal_push_envelope(struct fake_signal *f, const char *envelope_json)
{
	char *frame = xasprintf("{\"envelope\":%s,\"account\":\"%s\"}", envelope_json, f->number);

	fake_signal_push_frame(f, frame);
	free(frame);
}

size_t fake_signal_pending(struct fake_signal *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->pending.n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_signal_drop(struct fake_signal *f)
{
	struct wsconn *c;

	pthread_mutex_lock(&f->lock);
	c = live_conn(f);
	if (c)
		c->drop = true;
	pthread_mutex_unlock(&f->lock);
	wake(f);
}

void fake_signal_accept(struct fake_signal *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->accept = on;
	pthread_mutex_unlock(&f->lock);
}

size_t fake_signal_ws_connections(struct fake_signal *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nconns;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static void nap(void)
{
	struct timespec ts = { 0, WAIT_STEP_MS * 1000000L };

	nanosleep(&ts, NULL);
}

bool fake_signal_wait_ws_connections(struct fake_signal *f, size_t n, int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	while (fake_signal_ws_connections(f) < n || !fake_signal_ws_live(f)) {
		if (clock_mono_ms() >= end)
			return false;
		nap();
	}
	return true;
}

bool fake_signal_ws_live(struct fake_signal *f)
{
	bool live;

	pthread_mutex_lock(&f->lock);
	live = live_conn(f) != NULL;
	pthread_mutex_unlock(&f->lock);
	return live;
}

char *fake_signal_ws_path(struct fake_signal *f, size_t i)
{
	char *p = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->nconns)
		p = xstrdup(f->conns[i]->path);
	pthread_mutex_unlock(&f->lock);
	return p;
}

void fake_signal_send_answer(struct fake_signal *f, enum fake_signal_answer a)
{
	pthread_mutex_lock(&f->lock);
	f->answer = a;
	pthread_mutex_unlock(&f->lock);
}

void fake_signal_fail(struct fake_signal *f, const char *method, const char *path_prefix,
		      int status, const char *body, int times)
{
	pthread_mutex_lock(&f->lock);
	f->scripts = xgrow(f->scripts, &f->scriptcap, f->nscripts + 1, sizeof(*f->scripts));
	f->scripts[f->nscripts++] = (struct script){ xstrdup(method), xstrdup(path_prefix),
						     xstrdup(body), status, times > 0 ? times : 1 };
	pthread_mutex_unlock(&f->lock);
}

void fake_signal_put_attachment(struct fake_signal *f, const char *id, const void *data,
				size_t len, const char *content_type)
{
	struct stored a = { xstrdup(id), xstrdup(content_type ? content_type
						 : "application/octet-stream"), xmalloc(len ? len : 1),
			    len };

	memcpy(a.data, data, len);
	pthread_mutex_lock(&f->lock);
	f->atts = xgrow(f->atts, &f->attcap, f->natts + 1, sizeof(*f->atts));
	f->atts[f->natts++] = a;
	pthread_mutex_unlock(&f->lock);
}

/* ---- records ------------------------------------------------------------------------ */

size_t fake_signal_request_count(struct fake_signal *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nrecs;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool fake_signal_wait_requests(struct fake_signal *f, size_t n, int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	while (fake_signal_request_count(f) < n) {
		if (clock_mono_ms() >= end)
			return false;
		nap();
	}
	return true;
}

#define REC_FIELD(fn, field) \
	char *fn(struct fake_signal *f, size_t i) \
	{ \
		char *s = NULL; \
		pthread_mutex_lock(&f->lock); \
		if (i < f->nrecs) \
			s = xstrdup(f->recs[i].field); \
		pthread_mutex_unlock(&f->lock); \
		return s; \
	}
REC_FIELD(fake_signal_request_method, method)
REC_FIELD(fake_signal_request_path, path)
REC_FIELD(fake_signal_request_body, body)

json_t *fake_signal_request_json(struct fake_signal *f, size_t i)
{
	char *b = fake_signal_request_body(f, i);
	json_t *v = b ? json_loads(b, 0, NULL) : NULL;

	free(b);
	return v;
}

int fake_signal_request_status(struct fake_signal *f, size_t i)
{
	int s = 0;

	pthread_mutex_lock(&f->lock);
	if (i < f->nrecs)
		s = f->recs[i].status;
	pthread_mutex_unlock(&f->lock);
	return s;
}

static long find(struct fake_signal *f, const char *method, const char *prefix, size_t from)
{
	long hit = -1;

	pthread_mutex_lock(&f->lock);
	for (size_t i = from; i < f->nrecs && hit < 0; i++)
		if ((!method || strcmp(f->recs[i].method, method) == 0) &&
		    (!prefix || prefixed(f->recs[i].path, prefix)))
			hit = (long)i;
	pthread_mutex_unlock(&f->lock);
	return hit;
}

long fake_signal_wait_for(struct fake_signal *f, const char *method, const char *prefix,
			  size_t from, int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;
	long i;

	while ((i = find(f, method, prefix, from)) < 0) {
		if (clock_mono_ms() >= end)
			return -1;
		nap();
	}
	return i;
}

size_t fake_signal_count_ok(struct fake_signal *f, const char *method, const char *prefix)
{
	size_t n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nrecs; i++)
		if ((!method || strcmp(f->recs[i].method, method) == 0) &&
		    (!prefix || prefixed(f->recs[i].path, prefix)) && f->recs[i].status >= 200 &&
		    f->recs[i].status < 300)
			n++;
	pthread_mutex_unlock(&f->lock);
	return n;
}
