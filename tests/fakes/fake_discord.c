/* fake_discord.c — a fake Discord gateway (libwebsockets) and REST API
 * (libmicrohttpd) for the Discord channel's tests.
 *
 * The gateway runs one lws service thread; tests script it from their own
 * thread by changing shared state under `lock` and waking the service with
 * lws_cancel_service(), after which the service thread asks for writable
 * callbacks on connections with something to send — lws calls are only
 * ever made on its thread.  REST uses a thread per connection like the
 * other fakes.  The protocol follows ../shared/reference/protocols.md §1.12. */
#include "fakes/fake_discord.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PREFIX "/api/v10"
#define MAX_BODY ((size_t)32 << 20)
#define WAIT_STEP_MS 5
#define BOT_ID "1000000000000000001"
#define GUILD_ID "2000000000000000001"

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

struct session {
	char *id;
	long long seq;
	struct strlist events;   /* dispatch payloads; events.v[k] has s = k + 2 … see seq_of */
	long long *seqs;
	size_t seqcap;
};

struct conn {
	struct lws *wsi;         /* NULL once closed */
	size_t idx;
	char *path;
	struct buf rx;
	struct strlist out;      /* frames to send, in order */
	size_t out_next;
	int close_code;          /* we close with this */
	int client_code;         /* the client closed with this */
	bool identified;
	long session;            /* index into sessions, -1 none */
	json_t *held_resume;     /* a Resume held back by fake_discord_hold_resume */
};

struct payload {
	char *text;
	size_t conn;
	int64_t at;
	int op;
};

struct rest_rec {
	char *method, *path, *body;
	size_t body_len;
	struct strlist hnames, hvalues;
	int status;
	int64_t at;
};

struct scripted {
	struct fake_discord_reply r;  /* strings owned */
	int left;
};

struct bucket {
	char *method, *prefix, *name;
	int limit, used;
	long window_ms;
	int64_t window_start;
};

struct stored_msg {
	char *channel_id, *id, *author_id, *content;
};

struct fake_discord {
	char *token;
	char *api_url, *ws_url;
	struct MHD_Daemon *mhd;
	struct lws_context *ctx;
	pthread_t thread;
	int stop;   /* atomic */

	pthread_mutex_t lock;  /* everything below */
	long hb_interval;
	long allowed_intents;
	bool withhold;
	bool hold_resume;
	bool replay_all;
	struct conn **conns;
	size_t nconns, conncap;
	struct session *sessions;
	size_t nsessions, sesscap;
	struct payload *payloads;
	size_t npayloads, paycap;
	struct rest_rec *reqs;
	size_t nreqs, reqcap;
	struct scripted *script;
	size_t nscript, scriptcap;
	struct bucket *buckets;
	size_t nbuckets, bucketcap;
	struct stored_msg *msgs;
	size_t nmsgs, msgcap;
	unsigned long long next_id;
	/* channel-history holds (fake_discord_hold_history) */
	pthread_cond_t hist_cv;
	long hist_serve;          /* answer this many, hold the rest; -1 = none held */
	size_t hist_seen;         /* history GETs received */
};

/* ---------------------------------------------------------------------- */
/* Gateway                                                                 */

static struct fake_discord *fake_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Caller holds the lock. */
static void conn_queue(struct conn *c, char *frame)
{
	strlist_push(&c->out, frame);
}

static struct conn *live_conn(struct fake_discord *f)
{
	for (size_t i = f->nconns; i-- > 0;)
		if (f->conns[i]->wsi)
			return f->conns[i];
	return NULL;
}

static void wake(struct fake_discord *f)
{
	if (f->ctx)
		lws_cancel_service(f->ctx);
}

static char *dispatch_frame(const char *t, long long s, const char *d)
{
	return xasprintf("{\"op\":0,\"t\":\"%s\",\"s\":%lld,\"d\":%s}", t, s, d);
}

static struct session *new_session(struct fake_discord *f)
{
	struct session *s;

	f->sessions = xgrow(f->sessions, &f->sesscap, f->nsessions + 1, sizeof(*f->sessions));
	s = &f->sessions[f->nsessions];
	memset(s, 0, sizeof(*s));
	s->id = xasprintf("fake-session-%zu", f->nsessions + 1);
	f->nsessions++;
	return s;
}

/* Record a dispatch in the session's replay buffer; returns its frame. */
static char *session_event(struct session *s, const char *t, const char *d)
{
	char *frame;

	s->seq++;
	frame = dispatch_frame(t, s->seq, d);
	strlist_push(&s->events, xstrdup(frame));
	s->seqs = xgrow(s->seqs, &s->seqcap, s->events.n, sizeof(*s->seqs));
	s->seqs[s->events.n - 1] = s->seq;
	return frame;
}

static void on_identify(struct fake_discord *f, struct conn *c, json_t *d)
{
	const char *token = kjson_str(d, "token");
	long long intents = 0;
	struct session *s;
	char *ready;

	if (c->identified) {
		c->close_code = 4005;
		return;
	}
	if (!token || strcmp(token, f->token) != 0) {
		c->close_code = 4004;
		return;
	}
	if (!kjson_int(d, "intents", &intents) || intents < 0 || intents >= (1LL << 26)) {
		c->close_code = 4013;
		return;
	}
	if (intents & ~f->allowed_intents) {
		c->close_code = 4014;
		return;
	}
	s = new_session(f);
	c->identified = true;
	c->session = (long)(f->nsessions - 1);
	s->seq = 1;
	ready = xasprintf("{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{\"v\":10,"
			  "\"user\":{\"id\":\"" BOT_ID "\",\"username\":\"testbot\",\"discriminator\":\"0\","
			  "\"global_name\":null,\"avatar\":null,\"bot\":true},"
			  "\"guilds\":[{\"id\":\"" GUILD_ID "\",\"unavailable\":true}],"
			  "\"session_id\":\"%s\",\"resume_gateway_url\":\"%s/resume\","
			  "\"application\":{\"id\":\"" BOT_ID "\",\"flags\":0}}}", s->id, f->ws_url);
	conn_queue(c, ready);
	conn_queue(c, session_event(s, "GUILD_CREATE",
				    "{\"id\":\"" GUILD_ID "\",\"name\":\"fake guild\",\"channels\":[]}"));
}

static void on_resume(struct fake_discord *f, struct conn *c, json_t *d)
{
	const char *token = kjson_str(d, "token"), *sid = kjson_str(d, "session_id");
	long long seq = -1;
	struct session *s = NULL;
	size_t si;

	if (!token || strcmp(token, f->token) != 0) {
		c->close_code = 4004;
		return;
	}
	for (si = 0; sid && si < f->nsessions; si++)
		if (strcmp(f->sessions[si].id, sid) == 0) {
			s = &f->sessions[si];
			break;
		}
	if (f->hold_resume) {
		c->held_resume = json_incref(d);
		return;
	}
	if (!s || !kjson_int(d, "seq", &seq) || seq < 0 || seq > s->seq) {
		conn_queue(c, xstrdup("{\"op\":9,\"d\":false,\"s\":null,\"t\":null}"));
		return;
	}
	c->identified = true;
	c->session = (long)si;
	for (size_t k = 0; k < s->events.n; k++)
		if (s->seqs[k] > seq || f->replay_all)
			conn_queue(c, xstrdup(s->events.v[k]));
	conn_queue(c, session_event(s, "RESUMED", "{}"));
}

static void on_message(struct fake_discord *f, struct conn *c, const char *p, size_t n)
{
	json_t *root = json_loadb(p, n, 0, NULL);
	json_t *op = json_object_get(root, "op");
	struct payload pl = { xstrndup(p, n), c->idx, clock_mono_ms(), -1 };

	if (json_is_integer(op))
		pl.op = (int)json_integer_value(op);
	f->payloads = xgrow(f->payloads, &f->paycap, f->npayloads + 1, sizeof(*f->payloads));
	f->payloads[f->npayloads++] = pl;
	if (!json_is_object(root) || pl.op < 0) {
		c->close_code = 4002;
		goto out;
	}
	if (pl.op == 1) {
		if (!f->withhold)
			conn_queue(c, xstrdup("{\"op\":11,\"d\":null,\"s\":null,\"t\":null}"));
	} else if (pl.op == 2) {
		on_identify(f, c, json_object_get(root, "d"));
	} else if (pl.op == 6) {
		on_resume(f, c, json_object_get(root, "d"));
	} else if (!c->identified) {
		c->close_code = 4003;
	}
out:
	json_decref(root);
}

static void header_args(struct lws *wsi, struct buf *b)
{
	char frag[512];

	for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
		(void)buf_printf(b, "%c%s", i ? '&' : '?', frag);
}

static int gw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct fake_discord *f;
	struct conn **pc = user, *c;
	int rc = 0;

	if (reason != LWS_CALLBACK_ESTABLISHED && reason != LWS_CALLBACK_RECEIVE &&
	    reason != LWS_CALLBACK_SERVER_WRITEABLE && reason != LWS_CALLBACK_CLOSED &&
	    reason != LWS_CALLBACK_WS_PEER_INITIATED_CLOSE &&
	    reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED)
		return 0;
	f = fake_of(wsi);
	pthread_mutex_lock(&f->lock);
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED: {
		char uri[512] = "";
		struct buf path = BUF_INIT(0);

		c = xcalloc(1, sizeof(*c));
		c->wsi = wsi;
		c->session = -1;
		buf_init(&c->rx, 0);
		lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
		(void)buf_puts(&path, uri);
		header_args(wsi, &path);
		c->path = buf_detach(&path);
		c->idx = f->nconns;
		f->conns = xgrow(f->conns, &f->conncap, f->nconns + 1, sizeof(*f->conns));
		f->conns[f->nconns++] = c;
		*pc = c;
		conn_queue(c, xasprintf("{\"op\":10,\"d\":{\"heartbeat_interval\":%ld},\"s\":null,\"t\":null}",
					f->hb_interval));
		lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_RECEIVE:
		c = *pc;
		(void)buf_append(&c->rx, in, len);
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_message(f, c, buf_str(&c->rx), c->rx.len);
			buf_reset(&c->rx);
			lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		c = *pc;
		if (c->out_next < c->out.n) {
			const char *s = c->out.v[c->out_next++];
			size_t n = strlen(s);
			unsigned char *frame = xmalloc(LWS_PRE + n);

			memcpy(frame + LWS_PRE, s, n);
			if (lws_write(wsi, frame + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
				rc = -1;
			free(frame);
			if (c->out_next < c->out.n || c->close_code)
				lws_callback_on_writable(wsi);
		} else if (c->close_code) {
			lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)"fake", 4);
			rc = -1;
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		c = *pc;
		if (c && len >= 2)
			c->client_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
		break;
	case LWS_CALLBACK_CLOSED:
		c = *pc;
		if (c)
			c->wsi = NULL;
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		for (size_t i = 0; i < f->nconns; i++) {
			c = f->conns[i];
			if (c->wsi && c->held_resume && !f->hold_resume) {
				json_t *d = c->held_resume;

				c->held_resume = NULL;
				on_resume(f, c, d);
				json_decref(d);
			}
			if (c->wsi && (c->out_next < c->out.n || c->close_code))
				lws_callback_on_writable(c->wsi);
		}
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static const struct lws_protocols gw_protocols[] = {
	{ "discord-fake", gw_callback, sizeof(struct conn *), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *gw_main(void *arg)
{
	struct fake_discord *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
		if (lws_service(f->ctx, 0) < 0)
			break;
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* REST                                                                    */

struct upload {
	char *raw;        /* raw URI with query */
	struct buf body;
	bool too_big;
	bool started;
};

struct hdrs {
	struct strlist *names, *values;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct hdrs *h = cls;

	strlist_push(h->names, xstrdup(key));
	strlist_push(h->values, xstrdup(value ? value : ""));
	return MHD_YES;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *body,
			       const char *const *headers)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result res;

	if (!r)
		return MHD_NO;
	if (*body)
		MHD_add_response_header(r, "Content-Type", "application/json");
	for (const char *const *h = headers; h && h[0]; h += 2)
		MHD_add_response_header(r, h[0], h[1]);
	res = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return res;
}

static bool matches(const char *want_method, const char *prefix, const char *method, const char *path)
{
	return (!want_method || strcmp(want_method, method) == 0) &&
	       (!prefix || strncmp(path, prefix, strlen(prefix)) == 0);
}

/* Content in code points. */
static size_t cps(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static json_t *multipart_payload(const char *ctype, const char *body, size_t len, int *nfiles)
{
	const char *b = ctype ? strstr(ctype, "boundary=") : NULL;
	char *delim;
	const char *p, *end = body + len;
	json_t *payload = NULL;

	*nfiles = 0;
	if (!b)
		return NULL;
	delim = xasprintf("--%s", b + 9);
	for (p = memmem(body, len, delim, strlen(delim)); p;) {
		const char *hdr = p + strlen(delim), *data, *next;

		if (hdr + 2 <= end && hdr[0] == '-' && hdr[1] == '-')
			break;
		data = memmem(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
		if (!data)
			break;
		data += 4;
		next = memmem(data, (size_t)(end - data), delim, strlen(delim));
		if (!next)
			break;
		if (memmem(hdr, (size_t)(data - hdr), "name=\"payload_json\"", 19))
			payload = json_loadb(data, (size_t)(next - data - 2), 0, NULL);
		else if (memmem(hdr, (size_t)(data - hdr), "name=\"files[", 12))
			(*nfiles)++;
		p = next;
	}
	free(delim);
	return payload;
}

static json_t *message_object(const char *id, const char *channel_id, const char *author_id,
			      const char *content)
{
	bool bot = strcmp(author_id, BOT_ID) == 0;

	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:b}, s:s, s:s, s:[], s:[], s:i}", "id", id,
			 "channel_id", channel_id, "author", "id", author_id, "username",
			 bot ? "testbot" : "someone", "discriminator", "0", "bot", bot, "content",
			 content, "timestamp", "2024-05-01T12:00:00.000000+00:00", "mentions",
			 "attachments", "type", 0);
}

static void store_message(struct fake_discord *f, const char *cid, const char *id,
			  const char *author, const char *content)
{
	f->msgs = xgrow(f->msgs, &f->msgcap, f->nmsgs + 1, sizeof(*f->msgs));
	f->msgs[f->nmsgs++] = (struct stored_msg){ xstrdup(cid), xstrdup(id), xstrdup(author),
						   xstrdup(content) };
}

static unsigned long long id_num(const char *s)
{
	return strtoull(s, NULL, 10);
}

/* Route a request whose checks passed; returns status and sets *out. */
static int route(struct fake_discord *f, const char *method, const char *path,
		 const char *ctype, const char *body, size_t body_len, char **out)
{
	char cid[64], rest[256];
	const char *q = strchr(path, '?');
	size_t plen = q ? (size_t)(q - path) : strlen(path);

	*out = NULL;
	if (strcmp(method, "GET") == 0 && plen == 12 && !strncmp(path, "/gateway/bot", 12)) {
		*out = xasprintf("{\"url\":\"%s\",\"shards\":1,\"session_start_limit\":{\"total\":1000,"
				 "\"remaining\":999,\"reset_after\":14400000,\"max_concurrency\":1}}",
				 f->ws_url);
		return 200;
	}
	if (strcmp(method, "GET") == 0 && plen == 10 && !strncmp(path, "/users/@me", 10)) {
		*out = xstrdup("{\"id\":\"" BOT_ID "\",\"username\":\"testbot\",\"discriminator\":\"0\","
			       "\"global_name\":null,\"avatar\":null,\"bot\":true}");
		return 200;
	}
	if (sscanf(path, "/channels/%63[0-9]%255s", cid, rest) != 2)
		goto notfound;
	if (strcmp(method, "POST") == 0 && strcmp(rest, "/messages") == 0) {
		json_t *pl;
		int nfiles = 0;
		const char *content;
		char id[32];

		if (ctype && !strncasecmp(ctype, "multipart/form-data", 19))
			pl = multipart_payload(ctype, body, body_len, &nfiles);
		else
			pl = json_loadb(body, body_len, 0, NULL);
		content = kjson_str(pl, "content");
		if (content && cps(content) > 2000) {
			json_decref(pl);
			*out = xstrdup("{\"message\":\"Invalid Form Body\",\"code\":50035,\"errors\":{\"content\":"
				       "{\"_errors\":[{\"code\":\"BASE_TYPE_MAX_LENGTH\",\"message\":"
				       "\"Must be 2000 or fewer in length.\"}]}}}");
			return 400;
		}
		if ((!content || !*content) && nfiles == 0) {
			json_decref(pl);
			*out = xstrdup("{\"message\":\"Cannot send an empty message\",\"code\":50006}");
			return 400;
		}
		snprintf(id, sizeof(id), "%llu", f->next_id++);
		store_message(f, cid, id, BOT_ID, content ? content : "");
		{
			json_t *m = message_object(id, cid, BOT_ID, content ? content : "");

			*out = kjson_dump(m, false);
			json_decref(m);
		}
		json_decref(pl);
		return 200;
	}
	if (strcmp(method, "POST") == 0 && strcmp(rest, "/typing") == 0)
		return 204;
	if (strcmp(method, "PUT") == 0 && strncmp(rest, "/messages/", 10) == 0 &&
	    strstr(rest, "/reactions/") && strstr(rest, "/@me")) {
		for (const char *c = rest; *c; c++)
			if ((unsigned char)*c >= 0x80) {
				*out = xstrdup("{\"message\":\"Unknown Emoji\",\"code\":10014}");
				return 400;
			}
		return 204;
	}
	if (strcmp(method, "GET") == 0 && strncmp(rest, "/messages", 9) == 0 &&
	    (rest[9] == '\0' || rest[9] == '?')) {
		const char *lim = strstr(rest, "limit="), *bef = strstr(rest, "before=");
		long limit = lim ? strtol(lim + 6, NULL, 10) : 50;
		unsigned long long before = bef ? strtoull(bef + 7, NULL, 10) : ~0ULL;
		json_t *arr = json_array();

		if (limit < 1 || limit > 100)
			limit = 50;
		/* Newest first: ids grow with time. */
		for (size_t k = f->nmsgs; k-- > 0 && (long)json_array_size(arr) < limit;) {
			struct stored_msg *m = &f->msgs[k];

			if (strcmp(m->channel_id, cid) == 0 && id_num(m->id) < before)
				json_array_append_new(arr, message_object(m->id, m->channel_id,
									  m->author_id, m->content));
		}
		*out = kjson_dump(arr, false);
		json_decref(arr);
		return 200;
	}
notfound:
	*out = xstrdup("{\"message\":\"404: Not Found\",\"code\":0}");
	return 404;
}

/* GET /channels/{id}/messages[?…]: channel history. */
static bool is_history(const char *method, const char *path)
{
	char cid[64], rest[256];

	if (strcmp(method, "GET") != 0 || sscanf(path, "/channels/%63[0-9]%255s", cid, rest) != 2)
		return false;
	return strncmp(rest, "/messages", 9) == 0 && (rest[9] == '\0' || rest[9] == '?');
}

/* Count a history request and, when holds are on and it is past the
 * served ones, wait (unanswered) until they are released. */
static void hold_history(struct fake_discord *f)
{
	size_t mine;

	pthread_mutex_lock(&f->lock);
	mine = ++f->hist_seen;
	while (f->hist_serve >= 0 && mine > (size_t)f->hist_serve)
		pthread_cond_wait(&f->hist_cv, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

static enum MHD_Result handle(struct fake_discord *f, struct MHD_Connection *conn,
			      const char *method, struct upload *up)
{
	struct rest_rec rec = { 0 };
	struct hdrs h = { &rec.hnames, &rec.hvalues };
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *path = up->raw;
	char *want = xasprintf("Bot %s", f->token), *body = NULL;
	char hbuf[8][64];
	const char *headers[24];
	int nh = 0, status;
	enum MHD_Result res;
	int64_t now = clock_mono_ms();

	if (strncmp(path, PREFIX, strlen(PREFIX)) == 0)
		path += strlen(PREFIX);
	if (is_history(method, path))
		hold_history(f);
	rec.method = xstrdup(method);
	rec.path = xstrdup(path);
	rec.body = xstrndup(buf_str(&up->body), up->body.len);
	rec.body_len = up->body.len;
	rec.at = now;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &h);

	pthread_mutex_lock(&f->lock);
	if (!auth || strcmp(auth, want) != 0) {
		status = 401;
		body = xstrdup("{\"message\":\"401: Unauthorized\",\"code\":0}");
		goto send;
	}
	for (size_t i = 0; i < f->nscript; i++) {
		struct scripted *s = &f->script[i];

		if (s->left <= 0 || !matches(s->r.method, s->r.path_prefix, method, path))
			continue;
		s->left--;
		status = s->r.status;
		if (status == 429) {
			const char *ra = s->r.retry_after ? s->r.retry_after : "0.05";

			body = xasprintf("{\"message\":\"You are being rate limited.\",\"retry_after\":%s,"
					 "\"global\":%s}", ra, s->r.global ? "true" : "false");
			snprintf(hbuf[0], sizeof(hbuf[0]), "%.0f", ceil(strtod(ra, NULL)));
			headers[nh++] = "Retry-After";
			headers[nh++] = hbuf[0];
			headers[nh++] = "X-RateLimit-Scope";
			headers[nh++] = s->r.global ? "global" : "user";
			if (s->r.global) {
				headers[nh++] = "X-RateLimit-Global";
				headers[nh++] = "true";
			}
		} else {
			body = xasprintf("{\"message\":\"scripted failure\",\"code\":0}");
		}
		goto send;
	}
	for (size_t i = 0; i < f->nbuckets; i++) {
		struct bucket *b = &f->buckets[i];
		long left_ms;

		if (!matches(b->method, b->prefix, method, path))
			continue;
		if (now - b->window_start >= b->window_ms) {
			b->window_start = now;
			b->used = 0;
		}
		left_ms = b->window_ms - (long)(now - b->window_start);
		snprintf(hbuf[1], sizeof(hbuf[1]), "%d", b->limit);
		snprintf(hbuf[3], sizeof(hbuf[3]), "%.3f", (double)left_ms / 1000.0);
		if (b->used >= b->limit) {
			status = 429;
			body = xasprintf("{\"message\":\"You are being rate limited.\",\"retry_after\":%.3f,"
					 "\"global\":false}", (double)left_ms / 1000.0);
			snprintf(hbuf[2], sizeof(hbuf[2]), "0");
		} else {
			b->used++;
			snprintf(hbuf[2], sizeof(hbuf[2]), "%d", b->limit - b->used);
			status = route(f, method, path, ctype, buf_str(&up->body), up->body.len, &body);
		}
		headers[nh++] = "X-RateLimit-Limit";
		headers[nh++] = hbuf[1];
		headers[nh++] = "X-RateLimit-Remaining";
		headers[nh++] = hbuf[2];
		headers[nh++] = "X-RateLimit-Reset-After";
		headers[nh++] = hbuf[3];
		headers[nh++] = "X-RateLimit-Bucket";
		headers[nh++] = b->name;
		goto send;
	}
	status = route(f, method, path, ctype, buf_str(&up->body), up->body.len, &body);
send:
	rec.status = status;
	f->reqs = xgrow(f->reqs, &f->reqcap, f->nreqs + 1, sizeof(*f->reqs));
	f->reqs[f->nreqs++] = rec;
	headers[nh] = NULL;
	headers[nh + 1] = NULL;
	res = respond(conn, (unsigned)status, body ? body : "", headers);
	pthread_mutex_unlock(&f->lock);
	free(body);
	free(want);
	return res;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct upload *up = xcalloc(1, sizeof(*up));

	up->raw = xstrdup(uri);
	buf_init(&up->body, MAX_BODY);
	return up;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct fake_discord *f = cls;
	struct upload *up = *con_cls;

	if (*data_size) {
		if (buf_append(&up->body, data, *data_size) != KITH_OK)
			up->too_big = true;
		*data_size = 0;
		return MHD_YES;
	}
	/* The first call (headers only) comes before any body. */
	if (!up->started) {
		up->started = true;
		return MHD_YES;
	}
	return handle(f, conn, method, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct upload *up = *con_cls;

	if (up) {
		free(up->raw);
		buf_release(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                               */

static pthread_once_t lws_log_once = PTHREAD_ONCE_INIT;

static void quiet_lws(void)
{
	lws_set_log_level(LLL_ERR, NULL);
}

struct fake_discord *fake_discord_start(const char *token)
{
	struct fake_discord *f = xcalloc(1, sizeof(*f));
	struct lws_context_creation_info info;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *di;
	int wsport;

	f->token = xstrdup(token);
	f->hb_interval = 45000;
	f->allowed_intents = (1L << 26) - 1;
	f->next_id = 3000000000000000001ULL;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->hist_cv, NULL);
	f->hist_serve = -1;

	pthread_once(&lws_log_once, quiet_lws);
	memset(&info, 0, sizeof(info));
	info.port = 0;
	info.iface = "127.0.0.1";
	info.protocols = gw_protocols;
	info.user = f;
	info.gid = -1;
	info.uid = -1;
	f->ctx = lws_create_context(&info);
	wsport = f->ctx ? lws_get_vhost_listen_port(lws_get_vhost_by_name(f->ctx, "default")) : 0;
	if (wsport <= 0) {
		fprintf(stderr, "fake_discord: cannot start the gateway\n");
		fake_discord_stop(f);
		return NULL;
	}
	f->ws_url = xasprintf("ws://127.0.0.1:%d", wsport);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				  MHD_USE_POLL | MHD_USE_ITC,
				  0, NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR,
				  (struct sockaddr *)&sa, MHD_OPTION_URI_LOG_CALLBACK, uri_log, f,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, f, MHD_OPTION_END);
	di = f->mhd ? MHD_get_daemon_info(f->mhd, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!di || !di->port) {
		fprintf(stderr, "fake_discord: cannot start the REST server\n");
		fake_discord_stop(f);
		return NULL;
	}
	f->api_url = xasprintf("http://127.0.0.1:%d" PREFIX, di->port);
	if (pthread_create(&f->thread, NULL, gw_main, f) != 0) {
		fprintf(stderr, "fake_discord: cannot start the gateway thread\n");
		lws_context_destroy(f->ctx);
		f->ctx = NULL;
		fake_discord_stop(f);
		return NULL;
	}
	return f;
}

void fake_discord_stop(struct fake_discord *f)
{
	if (!f)
		return;
	fake_discord_release_history(f);   /* held requests must end for MHD to stop */
	if (f->mhd)
		MHD_stop_daemon(f->mhd);
	if (f->ctx) {
		__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
		if (f->ws_url) {
			lws_cancel_service(f->ctx);
			pthread_join(f->thread, NULL);
		}
		lws_context_destroy(f->ctx);
	}
	for (size_t i = 0; i < f->nconns; i++) {
		buf_release(&f->conns[i]->rx);
		json_decref(f->conns[i]->held_resume);
		strlist_clear(&f->conns[i]->out);
		free(f->conns[i]->path);
		free(f->conns[i]);
	}
	free(f->conns);
	for (size_t i = 0; i < f->nsessions; i++) {
		free(f->sessions[i].id);
		strlist_clear(&f->sessions[i].events);
		free(f->sessions[i].seqs);
	}
	free(f->sessions);
	for (size_t i = 0; i < f->npayloads; i++)
		free(f->payloads[i].text);
	free(f->payloads);
	for (size_t i = 0; i < f->nreqs; i++) {
		struct rest_rec *r = &f->reqs[i];

		free(r->method);
		free(r->path);
		free(r->body);
		strlist_clear(&r->hnames);
		strlist_clear(&r->hvalues);
	}
	free(f->reqs);
	for (size_t i = 0; i < f->nscript; i++) {
		free((char *)f->script[i].r.method);
		free((char *)f->script[i].r.path_prefix);
		free((char *)f->script[i].r.retry_after);
	}
	free(f->script);
	for (size_t i = 0; i < f->nbuckets; i++) {
		free(f->buckets[i].method);
		free(f->buckets[i].prefix);
		free(f->buckets[i].name);
	}
	free(f->buckets);
	for (size_t i = 0; i < f->nmsgs; i++) {
		free(f->msgs[i].channel_id);
		free(f->msgs[i].id);
		free(f->msgs[i].author_id);
		free(f->msgs[i].content);
	}
	free(f->msgs);
	pthread_cond_destroy(&f->hist_cv);
	pthread_mutex_destroy(&f->lock);
	free(f->token);
	free(f->api_url);
	free(f->ws_url);
	free(f);
}

const char *fake_discord_api_url(const struct fake_discord *f)
{
	return f->api_url;
}

const char *fake_discord_ws_url(const struct fake_discord *f)
{
	return f->ws_url;
}

/* ---------------------------------------------------------------------- */
/* Scripting                                                               */

void fake_discord_set_heartbeat_interval(struct fake_discord *f, long ms)
{
	pthread_mutex_lock(&f->lock);
	f->hb_interval = ms;
	pthread_mutex_unlock(&f->lock);
}

void fake_discord_set_allowed_intents(struct fake_discord *f, long mask)
{
	pthread_mutex_lock(&f->lock);
	f->allowed_intents = mask;
	pthread_mutex_unlock(&f->lock);
}

void fake_discord_hold_resume(struct fake_discord *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->hold_resume = on;
	pthread_mutex_unlock(&f->lock);
	wake(f);
}

void fake_discord_replay_all(struct fake_discord *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->replay_all = on;
	pthread_mutex_unlock(&f->lock);
}

void fake_discord_withhold_acks(struct fake_discord *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->withhold = on;
	pthread_mutex_unlock(&f->lock);
}

long long fake_discord_dispatch(struct fake_discord *f, const char *t, const char *d_json)
{
	struct session *s;
	struct conn *c;
	char *frame;
	long long seq = 0;

	pthread_mutex_lock(&f->lock);
	if (f->nsessions) {
		s = &f->sessions[f->nsessions - 1];
		frame = session_event(s, t, d_json);
		seq = s->seq;
		c = live_conn(f);
		if (c && c->identified && c->session == (long)(f->nsessions - 1))
			conn_queue(c, frame);
		else
			free(frame);
	}
	pthread_mutex_unlock(&f->lock);
	wake(f);
	return seq;
}

void fake_discord_send_op(struct fake_discord *f, int op, const char *d_json)
{
	struct conn *c;

	pthread_mutex_lock(&f->lock);
	c = live_conn(f);
	if (c)
		conn_queue(c, xasprintf("{\"op\":%d,\"d\":%s,\"s\":null,\"t\":null}", op,
					d_json ? d_json : "null"));
	pthread_mutex_unlock(&f->lock);
	wake(f);
}

void fake_discord_close(struct fake_discord *f, int code)
{
	struct conn *c;

	pthread_mutex_lock(&f->lock);
	c = live_conn(f);
	if (c)
		c->close_code = code;
	pthread_mutex_unlock(&f->lock);
	wake(f);
}

void fake_discord_push_reply(struct fake_discord *f, const struct fake_discord_reply *r)
{
	struct scripted s;

	s.r = *r;
	s.r.method = xstrdup(r->method);
	s.r.path_prefix = xstrdup(r->path_prefix);
	s.r.retry_after = xstrdup(r->retry_after);
	s.left = r->times > 0 ? r->times : 1;
	pthread_mutex_lock(&f->lock);
	f->script = xgrow(f->script, &f->scriptcap, f->nscript + 1, sizeof(*f->script));
	f->script[f->nscript++] = s;
	pthread_mutex_unlock(&f->lock);
}

void fake_discord_set_bucket(struct fake_discord *f, const char *method, const char *path_prefix,
			     const char *bucket, int limit, long window_ms)
{
	pthread_mutex_lock(&f->lock);
	f->buckets = xgrow(f->buckets, &f->bucketcap, f->nbuckets + 1, sizeof(*f->buckets));
	f->buckets[f->nbuckets++] = (struct bucket){ xstrdup(method), xstrdup(path_prefix),
						     xstrdup(bucket), limit, 0, window_ms, 0 };
	pthread_mutex_unlock(&f->lock);
}

void fake_discord_add_message(struct fake_discord *f, const char *channel_id, const char *id,
			      const char *author_id, const char *content)
{
	pthread_mutex_lock(&f->lock);
	store_message(f, channel_id, id, author_id, content);
	pthread_mutex_unlock(&f->lock);
}

/* One of the counters below, read under the lock. */
static size_t locked_count(struct fake_discord *f, const size_t *counter)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = *counter;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_discord_hold_history(struct fake_discord *f, long serve)
{
	pthread_mutex_lock(&f->lock);
	f->hist_serve = serve < 0 ? -1 : serve;
	pthread_cond_broadcast(&f->hist_cv);
	pthread_mutex_unlock(&f->lock);
}

void fake_discord_release_history(struct fake_discord *f)
{
	fake_discord_hold_history(f, -1);
}

size_t fake_discord_history_requests(struct fake_discord *f)
{
	return locked_count(f, &f->hist_seen);
}

/* ---------------------------------------------------------------------- */
/* Records                                                                 */

size_t fake_discord_connections(struct fake_discord *f)
{
	return locked_count(f, &f->nconns);
}

char *fake_discord_connection_path(struct fake_discord *f, size_t i)
{
	char *p = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->nconns)
		p = xstrdup(f->conns[i]->path);
	pthread_mutex_unlock(&f->lock);
	return p;
}

int fake_discord_connection_close_code(struct fake_discord *f, size_t i)
{
	int c = 0;

	pthread_mutex_lock(&f->lock);
	if (i < f->nconns)
		c = f->conns[i]->client_code;
	pthread_mutex_unlock(&f->lock);
	return c;
}

size_t fake_discord_payload_count(struct fake_discord *f)
{
	return locked_count(f, &f->npayloads);
}

json_t *fake_discord_payload(struct fake_discord *f, size_t i)
{
	json_t *v = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->npayloads)
		v = json_loads(f->payloads[i].text, 0, NULL);
	pthread_mutex_unlock(&f->lock);
	return v;
}

int fake_discord_payload_op(struct fake_discord *f, size_t i)
{
	int op = -1;

	pthread_mutex_lock(&f->lock);
	if (i < f->npayloads)
		op = f->payloads[i].op;
	pthread_mutex_unlock(&f->lock);
	return op;
}

int64_t fake_discord_payload_time(struct fake_discord *f, size_t i)
{
	int64_t t = 0;

	pthread_mutex_lock(&f->lock);
	if (i < f->npayloads)
		t = f->payloads[i].at;
	pthread_mutex_unlock(&f->lock);
	return t;
}

size_t fake_discord_payload_conn(struct fake_discord *f, size_t i)
{
	size_t c = (size_t)-1;

	pthread_mutex_lock(&f->lock);
	if (i < f->npayloads)
		c = f->payloads[i].conn;
	pthread_mutex_unlock(&f->lock);
	return c;
}

size_t fake_discord_op_count(struct fake_discord *f, int op)
{
	size_t n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->npayloads; i++)
		n += f->payloads[i].op == op;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static bool wait_until(struct fake_discord *f, size_t (*count)(struct fake_discord *, int), int arg,
		       size_t n, int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	for (;;) {
		if (count(f, arg) >= n)
			return true;
		if (clock_mono_ms() >= end)
			return false;
		struct timespec ts = { 0, WAIT_STEP_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static size_t count_conns(struct fake_discord *f, int unused)
{
	return fake_discord_connections(f);
}

static size_t count_reqs(struct fake_discord *f, int unused)
{
	return fake_discord_request_count(f);
}

bool fake_discord_wait_op(struct fake_discord *f, int op, size_t n, int timeout_ms)
{
	return wait_until(f, fake_discord_op_count, op, n, timeout_ms);
}

bool fake_discord_wait_connections(struct fake_discord *f, size_t n, int timeout_ms)
{
	return wait_until(f, count_conns, 0, n, timeout_ms);
}

char *fake_discord_session_id(struct fake_discord *f)
{
	char *s = NULL;

	pthread_mutex_lock(&f->lock);
	if (f->nsessions)
		s = xstrdup(f->sessions[f->nsessions - 1].id);
	pthread_mutex_unlock(&f->lock);
	return s;
}

bool fake_discord_live(struct fake_discord *f)
{
	struct conn *c;
	bool live;

	pthread_mutex_lock(&f->lock);
	c = live_conn(f);
	live = c && c->identified;
	pthread_mutex_unlock(&f->lock);
	return live;
}

size_t fake_discord_request_count(struct fake_discord *f)
{
	return locked_count(f, &f->nreqs);
}

bool fake_discord_wait_requests(struct fake_discord *f, size_t n, int timeout_ms)
{
	return wait_until(f, count_reqs, 0, n, timeout_ms);
}

static size_t count_history(struct fake_discord *f, int unused)
{
	return fake_discord_history_requests(f);
}

bool fake_discord_wait_history(struct fake_discord *f, size_t n, int timeout_ms)
{
	return wait_until(f, count_history, 0, n, timeout_ms);
}

#define REQ_FIELD(fn, field) \
	char *fn(struct fake_discord *f, size_t i) \
	{ \
		char *s = NULL; \
		pthread_mutex_lock(&f->lock); \
		if (i < f->nreqs) \
			s = xstrdup(f->reqs[i].field); \
		pthread_mutex_unlock(&f->lock); \
		return s; \
	}
REQ_FIELD(fake_discord_request_method, method)
REQ_FIELD(fake_discord_request_path, path)
REQ_FIELD(fake_discord_request_body, body)

char *fake_discord_request_header(struct fake_discord *f, size_t i, const char *name)
{
	char *s = NULL;

	pthread_mutex_lock(&f->lock);
	for (size_t k = 0; i < f->nreqs && k < f->reqs[i].hnames.n; k++)
		if (strcasecmp(f->reqs[i].hnames.v[k], name) == 0) {
			s = xstrdup(f->reqs[i].hvalues.v[k]);
			break;
		}
	pthread_mutex_unlock(&f->lock);
	return s;
}

int fake_discord_request_status(struct fake_discord *f, size_t i)
{
	int s = 0;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs)
		s = f->reqs[i].status;
	pthread_mutex_unlock(&f->lock);
	return s;
}

int64_t fake_discord_request_time(struct fake_discord *f, size_t i)
{
	int64_t t = 0;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs)
		t = f->reqs[i].at;
	pthread_mutex_unlock(&f->lock);
	return t;
}

json_t *fake_discord_request_payload(struct fake_discord *f, size_t i, int *nfiles)
{
	json_t *v = NULL;
	int nf = 0;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs) {
		struct rest_rec *r = &f->reqs[i];
		const char *ctype = NULL;

		for (size_t k = 0; k < r->hnames.n; k++)
			if (strcasecmp(r->hnames.v[k], "Content-Type") == 0)
				ctype = r->hvalues.v[k];
		if (ctype && !strncasecmp(ctype, "multipart/form-data", 19))
			v = multipart_payload(ctype, r->body, r->body_len, &nf);
		else
			v = json_loadb(r->body, r->body_len, 0, NULL);
	}
	pthread_mutex_unlock(&f->lock);
	if (nfiles)
		*nfiles = nf;
	return v;
}
