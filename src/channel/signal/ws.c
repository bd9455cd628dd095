/* ws.c — receiving over signal-cli-rest-api's json-rpc WebSocket.
 *
 * GET {api}/v1/receive/{number} upgraded to a WebSocket; every text frame
 * is one JSON object ({"envelope":…,"account":…}) handed to the channel as
 * it is.  One libwebsockets service thread owns the connection; the only
 * state shared with other threads is the stop flag.  We never send a data
 * frame (the server's read limit is 512 bytes); lws answers the server's
 * pings, and pings the server itself after 30 s of silence, hanging up
 * when nothing at all has come for 75 s, so a dead connection is noticed.
 * A lost connection is retried with exponential backoff, reset once a
 * connection is established; what arrived meanwhile comes on the new
 * connection, and the channel drops anything it has already seen. */
#include "channel/signal/signal_int.h"
#include "channel/ws_client.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEF_RECONNECT_BASE_MS 1000
#define DEF_RECONNECT_MAX_MS 60000

struct sg_ws {
	struct sg_receiver_config cfg;
	char *api_url, *number;
	char *host, *path;
	int port;
	bool tls;
	struct lws_context *ctx;
	pthread_t thread;
	bool started;
	int stop;                 /* atomic */

	/* Service thread only. */
	struct lws *wsi;
	bool connecting;
	struct buf rx;
	int failures;
	unsigned seed;
	lws_sorted_usec_list_t sul_connect;
};

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 30,
	.secs_since_valid_hangup = 75,
};

static bool stopping(struct sg_ws *w)
{
	return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) != 0;
}

static void state(struct sg_ws *w, enum signal_state st)
{
	if (w->cfg.on_state)
		w->cfg.on_state(st, w->cfg.ud);
}

static void connect_now(struct sg_ws *w);

static void connect_cb(lws_sorted_usec_list_t *sul)
{
	connect_now((struct sg_ws *)(void *)((char *)sul - offsetof(struct sg_ws, sul_connect)));
}

static void connection_gone(struct sg_ws *w, const char *reason)
{
	long delay;

	w->wsi = NULL;
	w->connecting = false;
	buf_reset(&w->rx);
	if (stopping(w))
		return;
	w->failures++;
	delay = sg_backoff_ms(w->cfg.reconnect_base_ms, w->cfg.reconnect_max_ms, w->failures,
			      (double)rand_r(&w->seed) / ((double)RAND_MAX + 1.0));
	state(w, SIGNAL_CONNECTING);
	if (reason && (w->failures == 1 || w->failures % 10 == 0))
		log_warn("signal", "cannot open the receive WebSocket (%s); retrying in %ld ms — is "
			 "signal-cli-rest-api running with MODE=json-rpc?", reason, delay);
	else
		log_info("signal", "receive WebSocket %s; reconnecting in %ld ms",
			 reason ? "failed" : "closed", delay);
	lws_sul_schedule(w->ctx, 0, &w->sul_connect, connect_cb, (lws_usec_t)delay * LWS_US_PER_MS);
}

static void connect_now(struct sg_ws *w)
{
	struct lws_client_connect_info i;

	if (stopping(w) || w->wsi || w->connecting)
		return;
	memset(&i, 0, sizeof(i));
	i.context = w->ctx;
	i.address = w->host;
	i.port = w->port;
	i.path = w->path;
	i.host = w->host;
	i.origin = w->host;
	i.ssl_connection = w->tls ? LCCSCF_USE_SSL : 0;
	i.ietf_version_or_minus_one = -1;
	i.retry_and_idle_policy = &idle_policy;
	i.pwsi = &w->wsi;
	w->connecting = true;
	if (!lws_client_connect_via_info(&i) && w->connecting) {
		w->wsi = NULL;
		connection_gone(w, "connection could not be started");
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct sg_ws *w = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		w->wsi = wsi;
		w->connecting = false;
		w->failures = 0;
		buf_reset(&w->rx);
		log_info("signal", "receive WebSocket open");
		state(w, SIGNAL_RECEIVING);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (buf_append(&w->rx, in, len) != KITH_OK) {
			log_warn("signal", "a receive frame over %zu bytes; dropping the connection",
				 (size_t)SG_MAX_FRAME);
			buf_reset(&w->rx);
			return -1;
		}
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			bool ok = w->cfg.on_frame(buf_str(&w->rx), w->rx.len, w->cfg.ud);

			buf_reset(&w->rx);
			if (!ok)
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		connection_gone(w, in ? (const char *)in : "connection error");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		connection_gone(w, NULL);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "signal-receive", callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

bool sg_ws_target(const char *api_url, const char *number, bool *tls, char **host, int *port,
		  char **path)
{
	struct ws_url u;
	char *enc;

	*host = *path = NULL;
	if (!number || !ws_url_split(api_url, "https", "http", &u))
		return false;
	while (u.path_len && u.path[u.path_len - 1] == '/')
		u.path_len--;
	enc = sg_url_escape(number);
	*tls = u.tls;
	*host = u.host;
	*port = u.port;
	*path = xasprintf("%.*s/v1/receive/%s", (int)u.path_len, u.path, enc);
	free(enc);
	return true;
}

struct sg_ws *sg_ws_new(const struct sg_receiver_config *cfg)
{
	struct sg_ws *w = xcalloc(1, sizeof(*w));

	w->cfg = *cfg;
	w->api_url = xstrdup(cfg->api_url);
	w->number = xstrdup(cfg->number);
	w->cfg.api_url = w->api_url;
	w->cfg.number = w->number;
	if (w->cfg.reconnect_base_ms <= 0)
		w->cfg.reconnect_base_ms = DEF_RECONNECT_BASE_MS;
	if (w->cfg.reconnect_max_ms <= 0)
		w->cfg.reconnect_max_ms = DEF_RECONNECT_MAX_MS;
	buf_init(&w->rx, SG_MAX_FRAME);
	w->seed = (unsigned)clock_mono_ms() ^ (unsigned)(uintptr_t)w;
	return w;
}

static void *service_main(void *arg)
{
	struct sg_ws *w = arg;

	lws_sul_schedule(w->ctx, 0, &w->sul_connect, connect_cb, 0);
	while (!stopping(w))
		if (lws_service(w->ctx, 0) < 0)
			break;
	return NULL;
}

enum kith_status sg_ws_start(struct sg_ws *w, char **why)
{
	struct lws_context_creation_info info;

	if (w->started)
		return KITH_OK;
	free(w->host);
	free(w->path);
	if (!sg_ws_target(w->api_url, w->number, &w->tls, &w->host, &w->port, &w->path))
		return kith_why(why, KITH_ECONFIG, "SIGNAL_API_URL \"%.100s\" is not an http:// or "
				"https:// URL", w->api_url ? w->api_url : "");
	ws_client_logging();
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	/* TLS only for https: the plain-http case (the usual local API) then
	 * shares no OpenSSL state with other lws contexts in the process. */
	info.options = w->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
	info.user = w;
	info.gid = -1;
	info.uid = -1;
	w->ctx = lws_create_context(&info);
	if (!w->ctx)
		return kith_why(why, KITH_EIO, "libwebsockets could not create a context");
	__atomic_store_n(&w->stop, 0, __ATOMIC_RELEASE);
	w->failures = 0;
	state(w, SIGNAL_CONNECTING);
	if (pthread_create(&w->thread, NULL, service_main, w) != 0) {
		lws_context_destroy(w->ctx);
		w->ctx = NULL;
		return kith_why(why, KITH_EIO, "cannot start the Signal receive thread");
	}
	w->started = true;
	return KITH_OK;
}

void sg_ws_stop(struct sg_ws *w)
{
	if (!w || !w->started)
		return;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	lws_cancel_service(w->ctx);
	pthread_join(w->thread, NULL);
	lws_context_destroy(w->ctx);
	w->ctx = NULL;
	w->wsi = NULL;
	w->connecting = false;
	w->started = false;
	state(w, SIGNAL_STOPPED);
}

void sg_ws_free(struct sg_ws *w)
{
	if (!w)
		return;
	sg_ws_stop(w);
	buf_release(&w->rx);
	free(w->api_url);
	free(w->number);
	free(w->host);
	free(w->path);
	free(w);
}
