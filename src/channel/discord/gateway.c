/* gateway.c — the Discord gateway v10 client on libwebsockets.
 *
 * One service thread owns the lws context and every piece of connection
 * state; timers are lws "sul" callbacks on that thread, so nothing here
 * needs a lock except what other threads read (state, failure, bot id,
 * under `mu`) and the stop flag.  The rules come from policy.c; this file
 * only obeys them:
 *
 *   connect → Hello → Identify (new session) or Resume (session_id, seq)
 *   heartbeat at the interval after an initial jitter; a beat without an
 *     ACK when the next is due = zombie → close (4900) and resume
 *   op 1 → beat now; op 7 → close and resume at resume_gateway_url;
 *   op 9 true → resume, false → forget the session, wait 1–5 s, identify
 *   server close codes: resume, new session or (4004, 4010–4014) stop
 *   a dropped connection → resume, with backoff when it keeps failing
 *
 * We never close with 1000/1001 while running, since that ends the session.
 * The sequence number advances only after an event has been handed on, and
 * replayed events at or below it are skipped, so a resume neither loses
 * nor repeats events.  Payloads are never logged: Identify and Resume carry
 * the token. */
#include "channel/discord/discord_int.h"
#include "channel/ws_client.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECONNECT_CODE 4900   /* ours: "reconnecting", keeps the session */
#define DEF_IDENTIFY_SPACING_MS 5000
#define DEF_INVALID_MIN_MS 1000
#define DEF_INVALID_MAX_MS 5000
#define DEF_RECONNECT_BASE_MS 1000
#define DEF_RECONNECT_MAX_MS 60000
#define DEF_HELLO_TIMEOUT_MS 20000

struct outmsg {
	char *text;
	size_t len;
	struct outmsg *next;
};

enum plan { PLAN_NONE, PLAN_RESUME, PLAN_IDENTIFY };

struct dc_gateway {
	struct dc_gateway_config cfg;
	char *token;
	char *gateway_url;
	int max_concurrency;
	struct lws_context *ctx;
	pthread_t thread;
	bool started;
	int stop;                     /* atomic */

	pthread_mutex_t mu;           /* guards state, failure, self_id */
	enum discord_state state;
	char *failure;
	char *self_id;

	/* Service thread only. */
	struct lws *wsi;
	bool connecting;
	bool hello_seen;
	bool resuming;                /* this connection sends Resume */
	struct buf rx;
	struct outmsg *out_head, *out_tail;
	int close_pending;            /* we want to close with this code */
	enum plan plan;               /* set when we closed on purpose */
	long plan_delay_ms;
	int peer_code;
	char *session_id, *resume_url;
	long long last_seq;
	struct dc_heartbeat hb;
	int64_t last_identify;        /* mono ms, 0 = never */
	int failures;                 /* unplanned closes since the last READY/RESUMED */
	unsigned seed;
	lws_sorted_usec_list_t sul_hb, sul_connect, sul_identify, sul_hello;
};

static bool stopping(struct dc_gateway *gw)
{
	return __atomic_load_n(&gw->stop, __ATOMIC_ACQUIRE) != 0;
}

static double draw(struct dc_gateway *gw)
{
	return (double)rand_r(&gw->seed) / ((double)RAND_MAX + 1.0);
}

static void set_state(struct dc_gateway *gw, enum discord_state st)
{
	pthread_mutex_lock(&gw->mu);
	if (gw->state != DISCORD_FAILED)
		gw->state = st;
	pthread_mutex_unlock(&gw->mu);
}

static struct dc_gateway *gw_of(lws_sorted_usec_list_t *sul, size_t off)
{
	return (struct dc_gateway *)(void *)((char *)sul - off);
}

static void after_ms(struct dc_gateway *gw, lws_sorted_usec_list_t *sul, sul_cb_t cb, long ms)
{
	lws_sul_schedule(gw->ctx, 0, sul, cb, (lws_usec_t)(ms < 0 ? 0 : ms) * LWS_US_PER_MS);
}

/* ---- sending ------------------------------------------------------------ */

static void out_clear(struct dc_gateway *gw)
{
	while (gw->out_head) {
		struct outmsg *m = gw->out_head;

		gw->out_head = m->next;
		free(m->text);
		free(m);
	}
	gw->out_tail = NULL;
}

/* Queue a payload (takes `text`) and ask for a writable callback. */
static void send_payload(struct dc_gateway *gw, char *text)
{
	struct outmsg *m;

	if (!gw->wsi) {
		free(text);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	m->text = text;
	m->len = strlen(text);
	if (gw->out_tail)
		gw->out_tail->next = m;
	else
		gw->out_head = m;
	gw->out_tail = m;
	lws_callback_on_writable(gw->wsi);
}

static void send_json(struct dc_gateway *gw, json_t *v)
{
	send_payload(gw, kjson_dump(v, false));
	json_decref(v);
}

static void send_heartbeat(struct dc_gateway *gw)
{
	json_t *v = json_pack("{s:i, s:o}", "op", DC_OP_HEARTBEAT, "d",
			      gw->last_seq > 0 ? json_integer(gw->last_seq) : json_null());

	log_debug("discord", "heartbeat (seq %lld)", gw->last_seq);
	send_json(gw, v);
}

static void close_with(struct dc_gateway *gw, int code, enum plan plan, long delay_ms)
{
	gw->plan = plan;
	gw->plan_delay_ms = delay_ms;
	if (!gw->wsi)
		return;
	gw->close_pending = code;
	lws_callback_on_writable(gw->wsi);
}

/* ---- identify / resume ---------------------------------------------------- */

static void send_identify(struct dc_gateway *gw)
{
	json_t *v = json_pack("{s:i, s:{s:s, s:I, s:{s:s, s:s, s:s}}}", "op", DC_OP_IDENTIFY, "d",
			      "token", gw->token, "intents", (json_int_t)gw->cfg.intents,
			      "properties", "os", "linux", "browser", "kith", "device", "kith");

	log_info("discord", "identifying (new session)");
	gw->last_identify = clock_mono_ms();
	gw->last_seq = 0;
	send_json(gw, v);
}

static void identify_cb(lws_sorted_usec_list_t *sul)
{
	struct dc_gateway *gw = gw_of(sul, offsetof(struct dc_gateway, sul_identify));

	if (gw->wsi && gw->hello_seen)
		send_identify(gw);
}

/* Identify, but no more than max_concurrency per spacing window. */
static void identify_spaced(struct dc_gateway *gw)
{
	long spacing = gw->cfg.identify_spacing_ms / (gw->max_concurrency > 0 ? gw->max_concurrency : 1);
	int64_t now = clock_mono_ms();

	if (gw->last_identify && now - gw->last_identify < spacing) {
		long w = (long)(gw->last_identify + spacing - now);

		log_info("discord", "waiting %ld ms before identifying (identify rate limit)", w);
		after_ms(gw, &gw->sul_identify, identify_cb, w);
		return;
	}
	send_identify(gw);
}

static void send_resume(struct dc_gateway *gw)
{
	json_t *v = json_pack("{s:i, s:{s:s, s:s, s:I}}", "op", DC_OP_RESUME, "d", "token", gw->token,
			      "session_id", gw->session_id, "seq", (json_int_t)gw->last_seq);

	log_info("discord", "resuming session at seq %lld", gw->last_seq);
	send_json(gw, v);
}

static void forget_session(struct dc_gateway *gw)
{
	free(gw->session_id);
	free(gw->resume_url);
	gw->session_id = gw->resume_url = NULL;
	gw->last_seq = 0;
}

/* ---- timers ----------------------------------------------------------------- */

static void heartbeat_cb(lws_sorted_usec_list_t *sul)
{
	struct dc_gateway *gw = gw_of(sul, offsetof(struct dc_gateway, sul_hb));
	long wait = -1;

	if (!gw->wsi)
		return;
	switch (dc_hb_tick(&gw->hb, clock_mono_ms(), &wait)) {
	case DC_HB_SEND:
		send_heartbeat(gw);
		break;
	case DC_HB_ZOMBIE:
		log_warn("discord", "no heartbeat ACK from the gateway; reconnecting to resume");
		close_with(gw, RECONNECT_CODE, PLAN_RESUME, 0);
		return;
	case DC_HB_WAIT:
		break;
	}
	if (wait >= 0)
		after_ms(gw, &gw->sul_hb, heartbeat_cb, wait);
}

static void hello_timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct dc_gateway *gw = gw_of(sul, offsetof(struct dc_gateway, sul_hello));

	if (gw->wsi && !gw->hello_seen) {
		log_warn("discord", "no Hello from the gateway; reconnecting");
		close_with(gw, RECONNECT_CODE, PLAN_RESUME, 0);
	}
}

static void connect_now(struct dc_gateway *gw);

static void connect_cb(lws_sorted_usec_list_t *sul)
{
	connect_now(gw_of(sul, offsetof(struct dc_gateway, sul_connect)));
}

/* Stop for good; takes `reason`. */
static void fail(struct dc_gateway *gw, char *reason)
{

	log_error("discord", "%s; not reconnecting", reason);
	pthread_mutex_lock(&gw->mu);
	gw->state = DISCORD_FAILED;
	free(gw->failure);
	gw->failure = xstrdup(reason);
	pthread_mutex_unlock(&gw->mu);
	if (gw->cfg.on_fatal)
		gw->cfg.on_fatal(reason, gw->cfg.ud);
	free(reason);
}

/* The connection ended (closed, dropped or never made): decide what next. */
static void connection_gone(struct dc_gateway *gw, bool connect_error)
{
	enum plan plan = gw->plan;
	long delay = gw->plan_delay_ms;
	int code = gw->peer_code;

	gw->wsi = NULL;
	gw->connecting = false;
	gw->close_pending = 0;
	gw->plan = PLAN_NONE;
	gw->plan_delay_ms = 0;
	gw->peer_code = 0;
	dc_hb_stop(&gw->hb);
	lws_sul_cancel(&gw->sul_hb);
	lws_sul_cancel(&gw->sul_identify);
	lws_sul_cancel(&gw->sul_hello);
	out_clear(gw);
	buf_reset(&gw->rx);
	if (stopping(gw))
		return;
	if (plan == PLAN_NONE) {
		const char *meaning;
		enum dc_close_action a = dc_close_action(code, &meaning);

		if (a == DC_CLOSE_FATAL) {
			fail(gw, xasprintf("Discord closed the gateway with code %d (%s): %s", code,
					   meaning, dc_close_advice(code)));
			return;
		}
		gw->failures++;
		plan = a == DC_CLOSE_IDENTIFY ? PLAN_IDENTIFY : PLAN_RESUME;
		delay = gw->failures <= 1 ? 0
			: dc_backoff_ms(gw->cfg.reconnect_base_ms, gw->cfg.reconnect_max_ms,
					gw->failures - 1, draw(gw));
		if (connect_error)
			log_warn("discord", "cannot connect to the gateway; retrying in %ld ms", delay);
		else
			log_warn("discord", "gateway closed (%d, %s); reconnecting in %ld ms", code,
				 meaning, delay);
	}
	if (plan == PLAN_IDENTIFY)
		forget_session(gw);
	set_state(gw, DISCORD_CONNECTING);
	after_ms(gw, &gw->sul_connect, connect_cb, delay);
}

static void connect_now(struct dc_gateway *gw)
{
	struct lws_client_connect_info i;
	const char *url;
	char *host = NULL, *path = NULL;
	bool tls = false;
	int port = 0;

	if (stopping(gw) || gw->wsi || gw->connecting)
		return;
	gw->resuming = gw->session_id != NULL;
	url = gw->resuming && gw->resume_url ? gw->resume_url : gw->gateway_url;
	if (!dc_gateway_url(url, &tls, &host, &port, &path)) {
		log_warn("discord", "unusable gateway URL \"%s\"; using the one from /gateway/bot", url);
		url = gw->gateway_url;
		if (!dc_gateway_url(url, &tls, &host, &port, &path)) {
			fail(gw, xasprintf("the gateway URL \"%s\" is unusable", url));
			return;
		}
	}
	memset(&i, 0, sizeof(i));
	i.context = gw->ctx;
	i.address = host;
	i.port = port;
	i.path = path;
	i.host = host;
	i.origin = host;
	i.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
	i.ietf_version_or_minus_one = -1;
	i.pwsi = &gw->wsi;
	gw->connecting = true;
	gw->peer_code = 0;
	log_debug("discord", "connecting to %s://%s:%d%s", tls ? "wss" : "ws", host, port, path);
	if (!lws_client_connect_via_info(&i) && gw->connecting) {
		gw->wsi = NULL;
		connection_gone(gw, true);
	}
	free(host);
	free(path);
}

/* ---- receiving ---------------------------------------------------------------- */

static void on_dispatch(struct dc_gateway *gw, struct dc_payload *pl)
{
	if (strcmp(pl->t, "READY") == 0) {
		struct dc_ready r;
		char *why = NULL;

		if (dc_parse_ready(pl->d, &r, &why) != KITH_OK) {
			log_warn("discord", "bad READY: %s", why);
			free(why);
			return;
		}
		free(gw->session_id);
		free(gw->resume_url);
		gw->session_id = r.session_id;
		gw->resume_url = r.resume_url;
		r.session_id = r.resume_url = NULL;
		pthread_mutex_lock(&gw->mu);
		free(gw->self_id);
		gw->self_id = r.user_id;
		r.user_id = NULL;
		pthread_mutex_unlock(&gw->mu);
		log_info("discord", "ready as %s", r.username ? r.username : "(unnamed bot)");
		dc_ready_release(&r);
		gw->last_seq = pl->s > 0 ? pl->s : 0;
		gw->failures = 0;
		set_state(gw, DISCORD_READY);
		return;
	}
	if (pl->s >= 0 && pl->s <= gw->last_seq) {
		log_debug("discord", "skipping replayed %s (seq %lld)", pl->t, pl->s);
		return;
	}
	if (strcmp(pl->t, "RESUMED") == 0) {
		log_info("discord", "session resumed at seq %lld", gw->last_seq);
		gw->failures = 0;
		set_state(gw, DISCORD_READY);
	} else if (gw->cfg.on_dispatch && !gw->cfg.on_dispatch(pl->t, pl->d, gw->self_id, gw->cfg.ud)) {
		return; /* not handed on: a resume will bring it again */
	}
	if (pl->s >= 0)
		gw->last_seq = pl->s;
}

static void on_payload(struct dc_gateway *gw, const char *p, size_t n)
{
	struct dc_payload pl;
	char *why = NULL;
	long interval;

	if (dc_payload_parse(p, n, &pl, &why) != KITH_OK) {
		log_warn("discord", "ignoring a gateway payload: %s", why);
		free(why);
		return;
	}
	switch (pl.op) {
	case DC_OP_HELLO:
		if (dc_parse_hello(pl.d, &interval, &why) != KITH_OK) {
			log_warn("discord", "%s; reconnecting", why);
			free(why);
			close_with(gw, RECONNECT_CODE, PLAN_RESUME, 0);
			break;
		}
		gw->hello_seen = true;
		lws_sul_cancel(&gw->sul_hello);
		dc_hb_start(&gw->hb, interval, draw(gw), clock_mono_ms());
		heartbeat_cb(&gw->sul_hb);
		if (gw->resuming)
			send_resume(gw);
		else
			identify_spaced(gw);
		break;
	case DC_OP_HEARTBEAT:
		dc_hb_requested(&gw->hb);
		send_heartbeat(gw);
		break;
	case DC_OP_HEARTBEAT_ACK:
		dc_hb_ack(&gw->hb);
		break;
	case DC_OP_RECONNECT:
		log_info("discord", "gateway asked for a reconnect");
		close_with(gw, RECONNECT_CODE, PLAN_RESUME, 0);
		break;
	case DC_OP_INVALID_SESSION:
		if (json_is_true(pl.d)) {
			log_info("discord", "invalid session (resumable); resuming");
			close_with(gw, RECONNECT_CODE, PLAN_RESUME, 0);
		} else {
			long lo = gw->cfg.invalid_session_min_ms, hi = gw->cfg.invalid_session_max_ms;
			long w = lo + (long)(draw(gw) * (double)(hi > lo ? hi - lo : 0));

			log_info("discord", "invalid session; identifying again in %ld ms", w);
			close_with(gw, RECONNECT_CODE, PLAN_IDENTIFY, w);
		}
		break;
	case DC_OP_DISPATCH:
		on_dispatch(gw, &pl);
		break;
	default:
		log_debug("discord", "ignoring gateway op %d", pl.op);
		break;
	}
	dc_payload_release(&pl);
}

static int write_one(struct dc_gateway *gw, struct lws *wsi)
{
	struct outmsg *m = gw->out_head;
	unsigned char *frame;
	int n;

	if (!m)
		return 0;
	gw->out_head = m->next;
	if (!gw->out_head)
		gw->out_tail = NULL;
	frame = xmalloc(LWS_PRE + m->len);
	memcpy(frame + LWS_PRE, m->text, m->len);
	n = lws_write(wsi, frame + LWS_PRE, m->len, LWS_WRITE_TEXT);
	free(frame);
	free(m->text);
	free(m);
	if (n < 0)
		return -1;
	if (gw->out_head)
		lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct dc_gateway *gw = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		gw->wsi = wsi;
		gw->connecting = false;
		gw->hello_seen = false;
		buf_reset(&gw->rx);
		after_ms(gw, &gw->sul_hello, hello_timeout_cb, gw->cfg.hello_timeout_ms);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (buf_append(&gw->rx, in, len) != KITH_OK) {
			log_warn("discord", "gateway message over %zu bytes; reconnecting",
				 (size_t)DC_MAX_GATEWAY_FRAME);
			buf_reset(&gw->rx);
			close_with(gw, RECONNECT_CODE, PLAN_RESUME, 0);
			break;
		}
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_payload(gw, buf_str(&gw->rx), gw->rx.len);
			buf_reset(&gw->rx);
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (gw->close_pending) {
			lws_close_reason(wsi, (enum lws_close_status)gw->close_pending,
					 (unsigned char *)"reconnecting", 12);
			gw->close_pending = 0;
			return -1;
		}
		return write_one(gw, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2)
			gw->peer_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_debug("discord", "gateway connection error: %s", in ? (const char *)in : "unknown");
		connection_gone(gw, true);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		connection_gone(gw, false);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "discord-gateway", callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- lifecycle ------------------------------------------------------------------ */

bool dc_gateway_url(const char *url, bool *tls, char **host, int *port, char **path)
{
	struct ws_url u;

	*host = *path = NULL;
	if (!ws_url_split(url, "wss", "ws", &u))
		return false;
	*tls = u.tls;
	*host = u.host;
	*port = u.port;
	*path = xasprintf("%.*s%s?v=10&encoding=json", (int)u.path_len, u.path,
			  u.path_len ? "" : "/");
	return true;
}

struct dc_gateway *dc_gateway_new(const struct dc_gateway_config *cfg)
{
	struct dc_gateway *gw = xcalloc(1, sizeof(*gw));

	gw->cfg = *cfg;
	gw->token = xstrdup(cfg->token ? cfg->token : "");
	gw->cfg.token = NULL;
#define DEF(f, v) if (gw->cfg.f <= 0) gw->cfg.f = (v)
	DEF(identify_spacing_ms, DEF_IDENTIFY_SPACING_MS);
	DEF(invalid_session_min_ms, DEF_INVALID_MIN_MS);
	DEF(invalid_session_max_ms, DEF_INVALID_MAX_MS);
	DEF(reconnect_base_ms, DEF_RECONNECT_BASE_MS);
	DEF(reconnect_max_ms, DEF_RECONNECT_MAX_MS);
	DEF(hello_timeout_ms, DEF_HELLO_TIMEOUT_MS);
#undef DEF
	if (gw->cfg.invalid_session_max_ms < gw->cfg.invalid_session_min_ms)
		gw->cfg.invalid_session_max_ms = gw->cfg.invalid_session_min_ms;
	buf_init(&gw->rx, DC_MAX_GATEWAY_FRAME);
	pthread_mutex_init(&gw->mu, NULL);
	gw->seed = (unsigned)clock_mono_ms() ^ (unsigned)(uintptr_t)gw;
	return gw;
}

static void *service_main(void *arg)
{
	struct dc_gateway *gw = arg;

	after_ms(gw, &gw->sul_connect, connect_cb, 0);
	while (!stopping(gw))
		if (lws_service(gw->ctx, 0) < 0)
			break;
	return NULL;
}

enum kith_status dc_gateway_start(struct dc_gateway *gw, const char *url, int max_concurrency,
				  char **why)
{
	struct lws_context_creation_info info;
	bool tls;
	char *host = NULL, *path = NULL;
	int port;

	if (gw->started)
		return KITH_OK;
	if (!dc_gateway_url(url, &tls, &host, &port, &path))
		return kith_why(why, KITH_EPROTO, "Discord gave an unusable gateway URL \"%.100s\"",
				url ? url : "");
	free(host);
	free(path);
	ws_client_logging();
	free(gw->gateway_url);
	gw->gateway_url = xstrdup(url);
	gw->max_concurrency = max_concurrency;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = gw;
	info.gid = -1;
	info.uid = -1;
	gw->ctx = lws_create_context(&info);
	if (!gw->ctx)
		return kith_why(why, KITH_EIO, "libwebsockets could not create a context");
	__atomic_store_n(&gw->stop, 0, __ATOMIC_RELEASE);
	set_state(gw, DISCORD_CONNECTING);
	if (pthread_create(&gw->thread, NULL, service_main, gw) != 0) {
		lws_context_destroy(gw->ctx);
		gw->ctx = NULL;
		return kith_why(why, KITH_EIO, "cannot start the Discord gateway thread");
	}
	gw->started = true;
	return KITH_OK;
}

void dc_gateway_stop(struct dc_gateway *gw)
{
	if (!gw || !gw->started)
		return;
	__atomic_store_n(&gw->stop, 1, __ATOMIC_RELEASE);
	lws_cancel_service(gw->ctx);
	pthread_join(gw->thread, NULL);
	/* The thread is gone: the context (and its callbacks) are ours now. */
	lws_context_destroy(gw->ctx);
	gw->ctx = NULL;
	gw->wsi = NULL;
	gw->connecting = false;
	out_clear(gw);
	gw->started = false;
	pthread_mutex_lock(&gw->mu);
	if (gw->state != DISCORD_FAILED)
		gw->state = DISCORD_STOPPED;
	pthread_mutex_unlock(&gw->mu);
}

void dc_gateway_free(struct dc_gateway *gw)
{
	if (!gw)
		return;
	dc_gateway_stop(gw);
	forget_session(gw);
	buf_release(&gw->rx);
	free(gw->token);
	free(gw->gateway_url);
	free(gw->failure);
	free(gw->self_id);
	pthread_mutex_destroy(&gw->mu);
	free(gw);
}

enum discord_state dc_gateway_state(struct dc_gateway *gw, char **why)
{
	enum discord_state st;

	pthread_mutex_lock(&gw->mu);
	st = gw->state;
	if (why && st == DISCORD_FAILED && gw->failure)
		*why = xstrdup(gw->failure);
	pthread_mutex_unlock(&gw->mu);
	return st;
}

char *dc_gateway_self_id(struct dc_gateway *gw)
{
	char *id;

	pthread_mutex_lock(&gw->mu);
	id = xstrdup(gw->self_id);
	pthread_mutex_unlock(&gw->mu);
	return id;
}
