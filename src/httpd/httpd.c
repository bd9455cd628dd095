/* httpd.c — kith's HTTP servers on libmicrohttpd's thread pool.
 *
 * One request is one `struct request`, made when libmicrohttpd sees the
 * request line (the URI log callback, the only place the path is still
 * percent-encoded) and freed when it reports the request complete.  The
 * access handler is called in three phases and everything that can refuse a
 * request happens in the first, before a byte of the body is read: routing
 * (404, 405, 400 for a bad capture), the bearer token (401) and an announced
 * Content-Length over the cap (413).  libmicrohttpd 0.9.75 cannot queue a
 * response while it is still receiving a body, so a chunked body that grows
 * past the cap is read and dropped for at most DRAIN_MAX more bytes to give
 * the client a readable 413; past that the connection is closed.
 *
 * The token is never kept: only a keyed BLAKE2b hash of it, compared in
 * constant time with the hash of what the client sent, so neither the
 * content nor the length of the token leaks through timing. */
#include "httpd/httpd.h"
#include "httpd/httpd_int.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_MAX_BODY ((size_t)16 << 20)
#define DEFAULT_THREADS 4u
#define MAX_THREADS 64u
#define CONNECTION_TIMEOUT_S 30u     /* idle seconds before a connection is dropped */
#define CONNECTION_LIMIT 256u
#define DRAIN_MAX ((size_t)1 << 20)  /* body bytes dropped after the cap, then close */
#define SHOW_MAX 200                 /* bytes of a path or method in logs and errors */
#define MAX_HEADERS 7                /* httpd_resp.headers[8], NULL-terminated */

struct httpd {
	char *name;                      /* log tag */
	struct MHD_Daemon *daemon;
	const struct httpd_route *routes;
	void *app;
	size_t max_body;
	bool has_token;
	unsigned char token_key[crypto_generichash_KEYBYTES];
	unsigned char token_hash[crypto_generichash_BYTES];
	int port;
};

struct request {
	struct httpd *srv;
	char *path;                      /* raw, without the query */
	int64_t start_ms;
	bool started;                    /* first access-handler call done */
	bool answered;                   /* a response is queued */
	bool too_big;                    /* body passed max_body; dropping the rest */
	size_t dropped;
	const struct httpd_route *route;
	char *params[HTTPD_MAX_PARAMS];
	size_t nparams;
	struct buf body;
};

/* ---------------------------------------------------------------------- */
/* Responses                                                              */

static void resp_init(struct httpd_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	buf_init(&r->body, 0);
}

static void resp_release(struct httpd_resp *r)
{
	buf_release(&r->body);
	for (size_t i = 0; i < MAX_HEADERS && r->headers[i]; i++) {
		free(r->headers[i]);
		r->headers[i] = NULL;
	}
}

void httpd_json(struct httpd_resp *r, int status, json_t *body)
{
	char *text = kjson_dump(body, false);

	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	(void)buf_puts(&r->body, text);
	(void)buf_puts(&r->body, "\n");
	free(text);
	json_decref(body);
}

/* Copy of s with every byte that is not part of a well-formed UTF-8
 * sequence replaced by U+FFFD, so any message can become a JSON string. */
static char *utf8_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = BUF_INIT(0);

	while (*p) {
		size_t len = 0;
		unsigned char lo = 0x80, hi = 0xBF;

		if (p[0] < 0x80)
			len = 1;
		else if (p[0] >= 0xC2 && p[0] <= 0xDF)
			len = 2;
		else if (p[0] >= 0xE0 && p[0] <= 0xEF)
			len = 3;
		else if (p[0] >= 0xF0 && p[0] <= 0xF4)
			len = 4;
		/* Overlongs, surrogates and code points past U+10FFFF. */
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
		else if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
		for (size_t i = 1; i < len; i++) {
			unsigned char c = p[i];

			if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) {
				len = 0;
				break;
			}
		}
		if (len) {
			(void)buf_append(&b, p, len);
			p += len;
		} else {
			(void)buf_puts(&b, "\xEF\xBF\xBD");
			p++;
		}
	}
	return buf_detach(&b);
}

void httpd_error(struct httpd_resp *r, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg, *clean;
	json_t *o = json_object();

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	clean = utf8_clean(msg);
	json_object_set_new(o, "detail", json_string(clean));
	free(clean);
	free(msg);
	httpd_json(r, status, o);
}

void httpd_add_header(struct httpd_resp *r, const char *name, const char *value)
{
	size_t i;

	/* A CR or LF would let a value echoed from a request add headers of
	 * its own choosing; such a header is dropped, not sent. */
	if (!name || !value || !name[0] || strpbrk(name, "\r\n: \t") || strpbrk(value, "\r\n")) {
		log_warn("httpd", "dropping malformed response header '%.40s'", name ? name : "");
		return;
	}
	for (i = 0; i < MAX_HEADERS && r->headers[i]; i++)
		;
	if (i == MAX_HEADERS)
		KITH_BUG("httpd_add_header: more than 7 extra headers");
	r->headers[i] = xasprintf("%s: %s", name, value);
}

static void log_request(const struct request *rq, const char *method, int status)
{
	char *m, *p;

	if ((int)LOG_DEBUG < log_threshold_)
		return;
	m = httpd_show(method, strlen(method), 20);
	p = httpd_show(rq->path, strlen(rq->path), SHOW_MAX);
	log_debug(rq->srv->name, "%s %s → %d (%lld ms)", m, p, status,
		  (long long)(clock_mono_ms() - rq->start_ms));
	free(m);
	free(p);
}

/* Queue `resp` (released here) as the answer to rq. */
static enum MHD_Result finish(struct request *rq, struct MHD_Connection *conn, const char *method,
			      struct httpd_resp *resp)
{
	struct MHD_Response *mr;
	enum MHD_Result res;
	size_t len;
	char *data;

	if (resp->status < 100 || resp->status > 599) {
		log_error(rq->srv->name, "handler for %s set HTTP status %d",
			  rq->route ? rq->route->pattern : "?", resp->status);
		httpd_error(resp, 500, "internal error: the handler set an invalid status");
	}
	len = resp->body.len;
	data = buf_detach(&resp->body);
	mr = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!mr) {
		free(data);
		resp_release(resp);
		return MHD_NO;
	}
	(void)MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
				      resp->content_type ? resp->content_type : "application/json");
	(void)MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	for (size_t i = 0; i < MAX_HEADERS && resp->headers[i]; i++) {
		char *h = resp->headers[i], *colon = strchr(h, ':');
		char *name = xstrndup(h, (size_t)(colon - h));

		if (MHD_add_response_header(mr, name, colon + 2) != MHD_YES)
			log_warn(rq->srv->name, "libmicrohttpd refused response header '%s'", name);
		free(name);
	}
	res = MHD_queue_response(conn, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	rq->answered = true;
	log_request(rq, method, resp->status);
	resp_release(resp);
	return res;
}

static enum MHD_Result fail(struct request *rq, struct MHD_Connection *conn, const char *method,
			    int status, const char *hname, const char *hvalue, const char *fmt, ...)
	KITH_PRINTF(7, 8);

static enum MHD_Result fail(struct request *rq, struct MHD_Connection *conn, const char *method,
			    int status, const char *hname, const char *hvalue, const char *fmt, ...)
{
	struct httpd_resp resp;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	resp_init(&resp);
	httpd_error(&resp, status, "%s", msg);
	free(msg);
	if (hname)
		httpd_add_header(&resp, hname, hvalue);
	return finish(rq, conn, method, &resp);
}

/* ---------------------------------------------------------------------- */
/* Requests                                                               */

const char *httpd_header(const struct httpd_req *r, const char *name)
{
	if (!r || !r->conn_ || !name)
		return NULL;
	return MHD_lookup_connection_value(r->conn_, MHD_HEADER_KIND, name);
}

const char *httpd_query(const struct httpd_req *r, const char *name)
{
	const char *v = NULL;
	size_t vlen = 0;

	if (!r || !r->conn_ || !name)
		return NULL;
	if (MHD_lookup_connection_value_n(r->conn_, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
					  &vlen) != MHD_YES)
		return NULL;
	return v ? v : "";   /* "?flag" without '=' */
}

static bool method_ok(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static bool authorized(const struct httpd *s, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	unsigned char got[crypto_generichash_BYTES];
	size_t len;

	if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return false;
	h += 7;
	h += strspn(h, " \t");
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	if (len == 0)
		return false;
	crypto_generichash(got, sizeof(got), (const unsigned char *)h, len, s->token_key,
			   sizeof(s->token_key));
	return sodium_memcmp(got, s->token_hash, sizeof(got)) == 0;
}

/* "GET, HEAD, POST" for the routes whose pattern matched the path. */
static char *allow_list(const char **methods, size_t n)
{
	struct buf b = BUF_INIT(0);
	bool get = false, head = false;

	for (size_t i = 0; i < n; i++) {
		get |= strcmp(methods[i], "GET") == 0;
		head |= strcmp(methods[i], "HEAD") == 0;
		(void)buf_printf(&b, "%s%s", i ? ", " : "", methods[i]);
	}
	if (get && !head)
		(void)buf_puts(&b, ", HEAD");
	return buf_detach(&b);
}

/* First call: route, authenticate, check the announced size.  Returns
 * MHD_YES to go on reading the body, or the result of queuing a refusal. */
static enum MHD_Result begin(struct httpd *s, struct request *rq, struct MHD_Connection *conn,
			     const char *method)
{
	const char *methods[16];
	size_t nmethods = 0;
	const char *cl;
	enum MHD_Result res;

	for (const struct httpd_route *r = s->routes; r && r->method; r++) {
		char *params[HTTPD_MAX_PARAMS], *why = NULL;
		size_t n = 0, i;
		enum httpd_match m = httpd_match(r->pattern, rq->path, params, &n, &why);

		if (m == HTTPD_NO_MATCH)
			continue;
		if (!method_ok(r->method, method)) {
			for (i = 0; i < n; i++)
				free(params[i]);
			free(why);
			for (i = 0; i < nmethods && strcmp(methods[i], r->method) != 0; i++)
				;
			if (i == nmethods && nmethods < sizeof(methods) / sizeof(methods[0]))
				methods[nmethods++] = r->method;
			continue;
		}
		if (m == HTTPD_BAD_PARAM) {
			res = fail(rq, conn, method, 400, NULL, NULL, "%s", why);
			free(why);
			return res;
		}
		rq->route = r;
		memcpy(rq->params, params, n * sizeof(params[0]));
		rq->nparams = n;
		break;
	}
	if (!rq->route) {
		char *m = httpd_show(method, strlen(method), 20);
		char *p = httpd_show(rq->path, strlen(rq->path), SHOW_MAX);

		if (nmethods) {
			char *allow = allow_list(methods, nmethods);

			res = fail(rq, conn, method, 405, "Allow", allow,
				   "method %s not allowed for %s (allowed: %s)", m, p, allow);
			free(allow);
		} else {
			res = fail(rq, conn, method, 404, NULL, NULL, "no such endpoint: %s %s", m,
				   p);
		}
		free(m);
		free(p);
		return res;
	}
	if (s->has_token && !rq->route->public_ && !authorized(s, conn))
		return fail(rq, conn, method, 401, "WWW-Authenticate", "Bearer",
			    "missing or invalid bearer token");
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && cl[0] >= '0' && cl[0] <= '9') {
		unsigned long long v;

		errno = 0;
		v = strtoull(cl, NULL, 10);
		if (errno == ERANGE || v > s->max_body)
			return fail(rq, conn, method, 413, NULL, NULL,
				    "request body larger than %zu bytes", s->max_body);
	}
	buf_init(&rq->body, s->max_body);
	return MHD_YES;
}

static enum MHD_Result dispatch(struct httpd *s, struct request *rq, struct MHD_Connection *conn,
				const char *method)
{
	struct httpd_req req = {
		.method = method,
		.path = rq->path,
		.nparams = rq->nparams,
		.body = rq->body.data ? rq->body.data : "",
		.body_len = rq->body.len,
		.app = s->app,
		.conn_ = conn,
	};
	struct httpd_resp resp;

	for (size_t i = 0; i < rq->nparams; i++)
		req.params[i] = rq->params[i];
	resp_init(&resp);
	rq->route->fn(&req, &resp);
	return finish(rq, conn, method, &resp);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *data,
				 size_t *data_size, void **con_cls)
{
	struct httpd *s = cls;
	struct request *rq = *con_cls;

	if (!rq)
		return MHD_NO;   /* the URI callback always sets one */
	if (!rq->started) {
		rq->started = true;
		return begin(s, rq, conn, method);
	}
	if (*data_size) {
		size_t n = *data_size;

		*data_size = 0;
		if (rq->answered)
			return MHD_YES;
		if (!rq->too_big && buf_append(&rq->body, data, n) == KITH_OK)
			return MHD_YES;
		if (!rq->too_big) {
			rq->too_big = true;
			buf_release(&rq->body);
		}
		rq->dropped += n;
		if (rq->dropped > DRAIN_MAX) {
			log_warn(s->name, "request body over %zu bytes keeps coming; hanging up",
				 s->max_body);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	if (rq->too_big)
		return fail(rq, conn, method, 413, NULL, NULL, "request body larger than %zu bytes",
			    s->max_body);
	return dispatch(s, rq, conn, method);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *rq = xcalloc(1, sizeof(*rq));

	rq->srv = cls;
	rq->path = xstrndup(uri, strcspn(uri, "?"));
	rq->start_ms = clock_mono_ms();
	buf_init(&rq->body, 0);
	return rq;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	if (!rq)
		return;
	for (size_t i = 0; i < rq->nparams; i++)
		free(rq->params[i]);
	buf_release(&rq->body);
	free(rq->path);
	free(rq);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) KITH_PRINTF(2, 0);

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *s = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warn(s->name, "libmicrohttpd: %s", line);
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                              */

/* Copy host into out without the brackets of "[::1]". */
static bool unbracket(const char *host, char *out, size_t outlen)
{
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= outlen)
		return false;
	memcpy(out, host, n);
	out[n] = '\0';
	return true;
}

int httpd_is_loopback(const char *host)
{
	char h[256];
	struct in_addr a4;
	struct in6_addr a6;

	if (!host || !host[0])
		return 1;    /* the default host, 127.0.0.1 */
	if (!unbracket(host, h, sizeof(h)))
		return 0;
	if (strcasecmp(h, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

static enum kith_status resolve(const char *host, int port, struct sockaddr_storage *ss,
				unsigned *flags, char **why)
{
	char h[256], portstr[8];
	struct addrinfo hints, *res = NULL;
	int rc;

	if (!unbracket(host, h, sizeof(h)))
		return kith_why(why, KITH_ECONFIG, "host name '%.40s...' is too long", host);
	/* Our own answer for localhost, so "loopback" never depends on what
	 * /etc/hosts says. */
	if (strcasecmp(h, "localhost") == 0)
		memcpy(h, "127.0.0.1", sizeof("127.0.0.1"));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(h, portstr, &hints, &res);
	if (rc != 0 || !res) {
		if (res)
			freeaddrinfo(res);
		return kith_why(why, KITH_ECONFIG, "cannot resolve host '%s': %s", host,
				rc ? gai_strerror(rc) : "no address");
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*flags = 0;
	if (res->ai_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)res->ai_addr;

		/* "::" means every address, IPv4 included. */
		*flags = IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ? MHD_USE_DUAL_STACK
								  : MHD_USE_IPv6;
	}
	freeaddrinfo(res);
	return KITH_OK;
}

enum kith_status httpd_start(const struct httpd_config *cfg, struct httpd **out, char **why)
{
	const char *host = cfg->host && cfg->host[0] ? cfg->host : DEFAULT_HOST;
	const char *name = cfg->name && cfg->name[0] ? cfg->name : "httpd";
	bool token = cfg->token && cfg->token[0];
	unsigned threads = cfg->threads ? cfg->threads : DEFAULT_THREADS;
	unsigned flags = 0;
	bool bracket;
	struct sockaddr_storage ss;
	struct MHD_OptionItem pool[] = {
		{ MHD_OPTION_THREAD_POOL_SIZE, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	const union MHD_DaemonInfo *info;
	enum kith_status st;
	struct httpd *s;

	*out = NULL;
	if (cfg->port < 0 || cfg->port > 65535)
		return kith_why(why, KITH_ECONFIG, "%s: port %d is out of range (0-65535)", name,
				cfg->port);
	if (!token && !httpd_is_loopback(host))
		return kith_why(why, KITH_ECONFIG,
				"refusing to serve %s on %s without a bearer token "
				"(configure a token, or listen on 127.0.0.1)", name, host);
	if (threads > MAX_THREADS)
		return kith_why(why, KITH_ECONFIG, "%s: %u threads is more than the %u allowed",
				name, threads, MAX_THREADS);
	st = httpd_check_routes(cfg->routes, why);
	if (st)
		return st;
	if (sodium_init() < 0)
		return kith_why(why, KITH_EIO, "libsodium failed to initialise");
	st = resolve(host, cfg->port, &ss, &flags, why);
	if (st)
		return st;

	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	s->routes = cfg->routes;
	s->app = cfg->app;
	s->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
	s->has_token = token;
	if (token) {
		randombytes_buf(s->token_key, sizeof(s->token_key));
		crypto_generichash(s->token_hash, sizeof(s->token_hash),
				   (const unsigned char *)cfg->token, strlen(cfg->token),
				   s->token_key, sizeof(s->token_key));
		log_add_secret(cfg->token);
	}
	/* A pool of one is no pool; libmicrohttpd warns when asked for it. */
	pool[0].value = (intptr_t)threads;
	if (threads < 2)
		pool[0].option = MHD_OPTION_END;
	errno = 0;
	s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
				     MHD_USE_ERROR_LOG | flags,
				     (uint16_t)cfg->port, NULL, NULL, on_access, s,
				     /* first, or early messages go to stderr */
				     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_ARRAY, pool,
				     MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
				     MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_END);
	if (!s->daemon) {
		char ebuf[128];
		int e = errno;

		st = kith_why(why, KITH_EIO, "%s: cannot listen on %s port %d: %s", name, host,
			      cfg->port, e ? strerror_r(e, ebuf, sizeof(ebuf)) : "unknown error");
		httpd_stop(s);
		return st;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info && info->port ? info->port : cfg->port;
	bracket = strchr(host, ':') && host[0] != '[';
	log_info(s->name, "listening on %s%s%s:%d (%u thread%s%s)", bracket ? "[" : "", host,
		 bracket ? "]" : "", s->port, threads, threads == 1 ? "" : "s",
		 token ? ", bearer token required" : "");
	*out = s;
	return KITH_OK;
}

int httpd_port(const struct httpd *s)
{
	return s ? s->port : 0;
}

void httpd_stop(struct httpd *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);   /* joins the pool: no handler still runs */
	sodium_memzero(s->token_key, sizeof(s->token_key));
	sodium_memzero(s->token_hash, sizeof(s->token_hash));
	free(s->name);
	free(s);
}
