/* test_httpd.c — the HTTP server glue against real clients on loopback.
 *
 * Servers listen on ephemeral ports; requests go through libcurl (the
 * project's http_perform where its answer carries enough, a bare easy
 * handle where a test needs response headers or a chunked upload) and, for
 * the cases no polite client produces, through a raw socket.  Nothing
 * sleeps: every wait is a poll with a deadline. */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "httpd/httpd.h"
#include "httpd/httpd_int.h"
#include "support/test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN "s3cret-token-for-tests"

static struct httpd *plain;    /* no token */
static struct httpd *guarded;  /* TOKEN required */
static struct httpd *small;    /* max_body 1024 */
static int counted;

/* ---------------------------------------------------------------------- */
/* Handlers                                                               */

static void h_hello(const struct httpd_req *req, struct httpd_resp *resp)
{
	httpd_json(resp, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_root(const struct httpd_req *req, struct httpd_resp *resp)
{
	httpd_json(resp, 200, json_pack("{s:s}", "root", "yes"));
}

static void h_special(const struct httpd_req *req, struct httpd_resp *resp)
{
	httpd_json(resp, 200, json_pack("{s:s}", "special", "yes"));
}

static void h_item(const struct httpd_req *req, struct httpd_resp *resp)
{
	json_t *o = json_object();
	json_t *a = json_array();

	for (size_t i = 0; i < req->nparams; i++)
		json_array_append_new(a, json_string(req->params[i]));
	json_object_set_new(o, "params", a);
	json_object_set_new(o, "method", json_string(req->method));
	json_object_set_new(o, "path", json_string(req->path));
	httpd_json(resp, 200, o);
}

static void h_echo(const struct httpd_req *req, struct httpd_resp *resp)
{
	json_t *o = json_object();

	json_object_set_new(o, "len", json_integer((json_int_t)req->body_len));
	json_object_set_new(o, "terminated", json_boolean(req->body[req->body_len] == '\0'));
	json_object_set_new(o, "body", json_stringn(req->body, req->body_len));
	json_object_set_new(o, "nparams", json_integer((json_int_t)req->nparams));
	httpd_json(resp, 200, o);
}

static void h_query(const struct httpd_req *req, struct httpd_resp *resp)
{
	json_t *o = json_object();

	kjson_set_str(o, "q", httpd_query(req, "q"));
	kjson_set_str(o, "flag", httpd_query(req, "flag"));
	kjson_set_str(o, "missing", httpd_query(req, "missing"));
	kjson_set_str(o, "x_test", httpd_header(req, "x-test"));
	kjson_set_str(o, "absent_header", httpd_header(req, "X-Absent"));
	httpd_json(resp, 200, o);
}

static void h_text(const struct httpd_req *req, struct httpd_resp *resp)
{
	resp->status = 201;
	resp->content_type = "text/plain; charset=utf-8";
	(void)buf_puts(&resp->body, "plain words\n");
	httpd_add_header(resp, "X-Custom", "yes");
	httpd_add_header(resp, "X-Evil", "a\r\nSet-Cookie: x=1");   /* dropped */
}

static void h_fail(const struct httpd_req *req, struct httpd_resp *resp)
{
	httpd_error(resp, 409, "snapshot '%s' \xff is busy", req->params[0]);
}

static void h_bad_status(const struct httpd_req *req, struct httpd_resp *resp)
{
	resp->status = 42;
}

static void h_count(const struct httpd_req *req, struct httpd_resp *resp)
{
	__atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
	httpd_json(resp, 200, json_pack("{s:s}", "n", req->params[0]));
}

static void h_health(const struct httpd_req *req, struct httpd_resp *resp)
{
	httpd_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

#define END_ROUTES { NULL, NULL, NULL, NULL, 0 }

static const struct httpd_route routes[] = {
	{ "GET", "/", h_root, "root", 0 },
	{ "GET", "/hello", h_hello, "greeting", 0 },
	{ "GET", "/v1/items/special", h_special, "a literal before a capture", 0 },
	{ "GET", "/v1/items/:id/parts/:part", h_item, "two captures", 0 },
	{ "POST", "/v1/items/:id/parts/:part", h_echo, "echo with captures", 0 },
	{ "GET", "/v1/items/:id", h_item, "one capture", 0 },
	{ "PUT", "/v1/items/:id", h_echo, "echo", 0 },
	{ "POST", "/echo", h_echo, "echo the body", 0 },
	{ "GET", "/query", h_query, "query and headers", 0 },
	{ "GET", "/text", h_text, "not JSON", 0 },
	{ "GET", "/fail/:id", h_fail, "handler error", 0 },
	{ "GET", "/bad-status", h_bad_status, "invalid status", 0 },
	{ "GET", "/count/:n", h_count, "concurrency", 0 },
	{ "GET", "/healthz", h_health, "liveness", 1 },
	END_ROUTES,
};

/* ---------------------------------------------------------------------- */
/* Client                                                                 */

struct reply {
	long status;
	int curl_rc;
	struct buf body;
	struct buf headers;
	json_t *json;
};

struct upload {
	const char *p;
	size_t left;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	(void)buf_append(ud, p, size * n);
	return size * n;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t k = size * n < u->left ? size * n : u->left;

	/* Small pieces, so the upload really arrives in many chunks. */
	if (k > 4096)
		k = 4096;
	memcpy(p, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static void reply_release(struct reply *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* One exchange with server `s`.  hdrs is NULL-terminated or NULL; a body
 * goes out with Content-Length unless `chunked`. */
static void fetch(struct reply *r, const struct httpd *s, const char *method, const char *path,
		  const char *const *hdrs, const char *body, size_t len, bool chunked)
{
	CURL *e = curl_easy_init();
	struct curl_slist *list = NULL;
	struct upload up = { body, len };
	char *url = xasprintf("http://127.0.0.1:%d%s", httpd_port(s), path);

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
	buf_init(&r->headers, 0);
	for (size_t i = 0; hdrs && hdrs[i]; i++)
		list = curl_slist_append(list, hdrs[i]);
	if (chunked)
		list = curl_slist_append(list, "Transfer-Encoding: chunked");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &r->headers);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (chunked) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, &up);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	} else {
		if (body) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		}
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
	r->curl_rc = (int)curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body.len)
		r->json = kjson_parse(r->body.data, r->body.len, NULL);
	curl_slist_free_all(list);
	curl_easy_cleanup(e);
	free(url);
}

static void get(struct reply *r, const struct httpd *s, const char *path)
{
	fetch(r, s, "GET", path, NULL, NULL, 0, false);
}

/* Value of the last response header `name` (static storage), or NULL. */
static const char *header(const struct reply *r, const char *name)
{
	static __thread char value[256];
	const char *p = buf_str(&r->headers), *found = NULL;
	size_t n = strlen(name);

	for (; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			found = p + n + 1;
	if (!found)
		return NULL;
	found += strspn(found, " ");
	snprintf(value, sizeof(value), "%.*s", (int)strcspn(found, "\r\n"), found);
	return value;
}

static const char *jstr(const struct reply *r, const char *key)
{
	return kjson_str(r->json, key);
}

/* The error shape every refusal shares: {"detail": "..."} and nothing else. */
static void check_error_shape(const struct reply *r, long status, const char *needle)
{
	CHECK_EQ(r->status, status);
	CHECK(json_is_object(r->json));
	CHECK_EQ(json_object_size(r->json), 1);
	CHECK_CONTAINS(jstr(r, "detail"), needle);
	CHECK_CONTAINS(header(r, "Content-Type"), "application/json");
}

/* Read what the server sends on fd until it closes, or the deadline. */
static void read_all(int fd, struct buf *out, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline_ms - clock_mono_ms();
		char chunk[4096];
		ssize_t got;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		got = recv(fd, chunk, sizeof(chunk), 0);
		if (got <= 0)
			return;
		(void)buf_append(out, chunk, (size_t)got);
	}
}

static int connect_to(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------------- */
/* Pure parts                                                             */

static void test_match(void)
{
	char *p[HTTPD_MAX_PARAMS], *why = NULL;
	size_t n = 99;

	CHECK_EQ(httpd_match("/", "/", p, &n, NULL), HTTPD_MATCH);
	CHECK_EQ(n, 0);
	CHECK_EQ(httpd_match("/a/b", "/a/b", p, &n, NULL), HTTPD_MATCH);
	CHECK_EQ(httpd_match("/a/b", "/a/b/", p, &n, NULL), HTTPD_NO_MATCH);
	CHECK_EQ(httpd_match("/a/b", "/a", p, &n, NULL), HTTPD_NO_MATCH);
	CHECK_EQ(httpd_match("/a", "/a/b", p, &n, NULL), HTTPD_NO_MATCH);
	CHECK_EQ(httpd_match("/a/b", "/a/%62", p, &n, NULL), HTTPD_NO_MATCH);
	CHECK_EQ(httpd_match("/a", "a", p, &n, NULL), HTTPD_NO_MATCH);
	CHECK_EQ(httpd_match("/", "", p, &n, NULL), HTTPD_NO_MATCH);
	CHECK_EQ(httpd_match("/a/:id", "/a/", p, &n, NULL), HTTPD_NO_MATCH);
	CHECK_EQ(httpd_match("/a/:id", "/a//", p, &n, NULL), HTTPD_NO_MATCH);

	REQUIRE(httpd_match("/v1/:s/x/:t", "/v1/a%20b/x/%C3%A9+", p, &n, NULL) == HTTPD_MATCH);
	CHECK_EQ(n, 2);
	CHECK_STR(p[0], "a b");
	CHECK_STR(p[1], "\xC3\xA9+");
	free(p[0]);
	free(p[1]);

	/* Shape first: a bad escape in a path of another shape is no match. */
	CHECK_EQ(httpd_match("/a/:id/b", "/a/%zz/c", p, &n, &why), HTTPD_NO_MATCH);
	CHECK(why == NULL);
	CHECK_EQ(httpd_match("/a/:x/:y", "/a/ok/%zz", p, &n, &why), HTTPD_BAD_PARAM);
	CHECK_EQ(n, 0);
	CHECK_CONTAINS(why, "'%zz' is not valid percent-encoding");
	free(why);
	why = NULL;
	CHECK_EQ(httpd_match("/a/:x", "/a/x%2Fy", p, &n, &why), HTTPD_BAD_PARAM);
	CHECK_CONTAINS(why, "'/'");
	free(why);
	why = NULL;
	CHECK_EQ(httpd_match("/a/:x", "/a/x%00", p, &n, &why), HTTPD_BAD_PARAM);
	CHECK_CONTAINS(why, "NUL");
	free(why);
	why = NULL;
	CHECK_EQ(httpd_match("/a/:x", "/a/%2", p, &n, NULL), HTTPD_BAD_PARAM);
	CHECK_EQ(httpd_match("/a/:x", "/a/..", p, &n, NULL), HTTPD_BAD_PARAM);
	CHECK_EQ(httpd_match("/a/:x", "/a/%2e", p, &n, NULL), HTTPD_BAD_PARAM);
	CHECK_EQ(httpd_match("/a/:x", "/a/...", p, &n, NULL), HTTPD_MATCH);
	free(p[0]);

	/* More captures than params fit: never a match. */
	CHECK_EQ(httpd_match("/:a/:b/:c/:d/:e/:f/:g/:h/:i", "/1/2/3/4/5/6/7/8/9", p, &n, NULL),
		 HTTPD_NO_MATCH);
}

static void test_pct_decode_and_show(void)
{
	char *d = NULL, *s;
	size_t n = 0;

	CHECK_EQ(httpd_pct_decode("a%41%4a%4A+%20", 14, &d, &n), KITH_OK);
	CHECK_STR(d, "aAJJ+ ");
	CHECK_EQ(n, 6);
	free(d);
	CHECK_EQ(httpd_pct_decode("x%00y", 5, &d, &n), KITH_OK);
	CHECK_EQ(n, 3);
	CHECK(memcmp(d, "x\0y", 4) == 0);
	free(d);
	d = NULL;
	CHECK_EQ(httpd_pct_decode("%", 1, &d, &n), KITH_EINVAL);
	CHECK_EQ(httpd_pct_decode("%4", 2, &d, &n), KITH_EINVAL);
	CHECK_EQ(httpd_pct_decode("%g0", 3, &d, &n), KITH_EINVAL);
	CHECK(d == NULL);

	s = httpd_show("a b\x01\xff/%", 7, 100);
	CHECK_STR(s, "a%20b%01%FF/%");
	free(s);
	s = httpd_show("abcdef", 6, 3);
	CHECK_STR(s, "abc...");
	free(s);
}

static void test_is_loopback(void)
{
	CHECK(httpd_is_loopback("127.0.0.1"));
	CHECK(httpd_is_loopback("127.1.2.3"));
	CHECK(httpd_is_loopback("localhost"));
	CHECK(httpd_is_loopback("LocalHost"));
	CHECK(httpd_is_loopback("::1"));
	CHECK(httpd_is_loopback("[::1]"));
	CHECK(httpd_is_loopback("::ffff:127.0.0.1"));
	CHECK(httpd_is_loopback(NULL));
	CHECK(httpd_is_loopback(""));
	CHECK(!httpd_is_loopback("0.0.0.0"));
	CHECK(!httpd_is_loopback("::"));
	CHECK(!httpd_is_loopback("128.0.0.1"));
	CHECK(!httpd_is_loopback("192.168.1.10"));
	CHECK(!httpd_is_loopback("::2"));
	CHECK(!httpd_is_loopback("localhost.example.com"));
	CHECK(!httpd_is_loopback("example.com"));
	CHECK(!httpd_is_loopback("127.0.0.1.nip.io"));
	CHECK(!httpd_is_loopback("127.1"));
}

static void test_route_table_checked(void)
{
	static const struct httpd_route bad[][2] = {
		{ { "GET", "x", h_hello, "no slash", 0 }, END_ROUTES },
		{ { "GET", "/x/", h_hello, "trailing slash", 0 }, END_ROUTES },
		{ { "GET", "/x//y", h_hello, "empty segment", 0 }, END_ROUTES },
		{ { "GET", "/x/:", h_hello, "unnamed capture", 0 }, END_ROUTES },
		{ { "GET", "/x", NULL, "no handler", 0 }, END_ROUTES },
		{ { "", "/x", h_hello, "no method", 0 }, END_ROUTES },
		{ { "GET", "/:a/:b/:c/:d/:e/:f/:g/:h/:i", h_hello, "too many", 0 }, END_ROUTES },
		{ { "GET", "/x?y", h_hello, "query", 0 }, END_ROUTES },
		{ { "GET", "/x%20y", h_hello, "escape", 0 }, END_ROUTES },
	};
	struct httpd_config cfg = { .name = "test" };
	struct httpd *s = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *why = NULL;

		cfg.routes = bad[i];
		CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_EINVAL);
		CHECK(s == NULL);
		CHECK_CONTAINS(why, "route 0");
		free(why);
	}
	CHECK_EQ(httpd_check_routes(routes, NULL), KITH_OK);
}

/* ---------------------------------------------------------------------- */
/* Routing                                                                */

static void test_routing_and_captures(void)
{
	struct reply r;
	json_t *a;

	get(&r, plain, "/hello");
	CHECK_EQ(r.status, 200);
	CHECK_STR(jstr(&r, "hello"), "world");
	CHECK_STR(header(&r, "Content-Type"), "application/json");
	CHECK_STR(header(&r, "X-Content-Type-Options"), "nosniff");
	CHECK(r.body.len > 0 && r.body.data[r.body.len - 1] == '\n');
	reply_release(&r);

	get(&r, plain, "/");
	CHECK_STR(jstr(&r, "root"), "yes");
	reply_release(&r);

	get(&r, plain, "/v1/items/special");
	CHECK_STR(jstr(&r, "special"), "yes");
	reply_release(&r);

	get(&r, plain, "/v1/items/a%20b/parts/%C3%A9t%C3%A9?ignored=1");
	CHECK_EQ(r.status, 200);
	a = kjson_arr(r.json, "params");
	REQUIRE(a && json_array_size(a) == 2);
	CHECK_STR(json_string_value(json_array_get(a, 0)), "a b");
	CHECK_STR(json_string_value(json_array_get(a, 1)), "\xC3\xA9t\xC3\xA9");
	CHECK_STR(jstr(&r, "path"), "/v1/items/a%20b/parts/%C3%A9t%C3%A9");
	CHECK_STR(jstr(&r, "method"), "GET");
	reply_release(&r);

	get(&r, plain, "/v1/items/42");
	a = kjson_arr(r.json, "params");
	CHECK(a && json_array_size(a) == 1);
	CHECK_STR(json_string_value(json_array_get(a, 0)), "42");
	reply_release(&r);

	fetch(&r, plain, "HEAD", "/hello", NULL, NULL, 0, false);
	CHECK_EQ(r.status, 200);
	CHECK_EQ(r.body.len, 0);
	reply_release(&r);
}

static void test_not_found(void)
{
	static const char *const paths[] = { "/nope", "/hello/", "/v1/items/", "/v1/items//parts/x",
					     "//hello", "/v1/items/1/parts/2/3", "/HELLO" };
	struct reply r;

	get(&r, plain, "/nope?secret=1");
	check_error_shape(&r, 404, "no such endpoint: GET /nope");
	CHECK(!strstr(jstr(&r, "detail") ? jstr(&r, "detail") : "", "secret"));
	reply_release(&r);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(&r, plain, paths[i]);
		CHECK_EQ(r.status, 404);
		reply_release(&r);
	}
}

/* Raw bytes in the path (a client that does not escape them) come back
 * escaped in the error, never raw. */
static void test_raw_bytes_escaped(void)
{
	const char req[] = "GET /caf\xC3\xA9/\x7f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct buf got = BUF_INIT(0);
	int fd = connect_to(httpd_port(plain));

	REQUIRE(fd >= 0);
	CHECK_EQ(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	read_all(fd, &got, clock_mono_ms() + 10000);
	close(fd);
	CHECK_CONTAINS(buf_str(&got), "HTTP/1.1 404");
	CHECK_CONTAINS(buf_str(&got), "no such endpoint: GET /caf%C3%A9/%7F\"}");
	buf_release(&got);
}

static void test_method_not_allowed(void)
{
	struct reply r;

	fetch(&r, plain, "DELETE", "/v1/items/abc", NULL, NULL, 0, false);
	check_error_shape(&r, 405, "method DELETE not allowed for /v1/items/abc");
	CHECK_STR(header(&r, "Allow"), "GET, PUT, HEAD");
	reply_release(&r);

	fetch(&r, plain, "GET", "/echo", NULL, NULL, 0, false);
	check_error_shape(&r, 405, "not allowed");
	CHECK_STR(header(&r, "Allow"), "POST");
	reply_release(&r);

	/* The first route matching path and method wins, wherever it is. */
	fetch(&r, plain, "PUT", "/v1/items/abc", NULL, "x", 1, false);
	CHECK_EQ(r.status, 200);
	CHECK_EQ(kjson_int(r.json, "len", &(long long){ 0 }), true);
	reply_release(&r);
}

static void test_bad_captures(void)
{
	static const struct {
		const char *path, *needle;
	} cases[] = {
		{ "/v1/items/a%2Fb", "decodes to a '/'" },
		{ "/v1/items/a%2fb/parts/x", "decodes to a '/'" },
		{ "/v1/items/%zz", "not valid percent-encoding" },
		{ "/v1/items/abc%4", "not valid percent-encoding" },
		{ "/v1/items/%00", "NUL" },
		{ "/v1/items/..", "'.' or '..'" },
		{ "/v1/items/%2E%2e", "'.' or '..'" },
	};
	struct reply r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		get(&r, plain, cases[i].path);
		check_error_shape(&r, 400, cases[i].needle);
		reply_release(&r);
	}
	/* A bad capture for another method is still that method's 405. */
	fetch(&r, plain, "DELETE", "/v1/items/%zz", NULL, NULL, 0, false);
	CHECK_EQ(r.status, 405);
	reply_release(&r);
}

/* ---------------------------------------------------------------------- */
/* Requests and responses                                                 */

static void test_query_and_headers(void)
{
	const char *hdrs[] = { "X-Test: hi there", NULL };
	struct reply r;

	fetch(&r, plain, "GET", "/query?q=a%20b+c&flag&other=1", hdrs, NULL, 0, false);
	CHECK_EQ(r.status, 200);
	CHECK_STR(jstr(&r, "q"), "a b c");
	CHECK_STR(jstr(&r, "flag"), "");
	CHECK(jstr(&r, "missing") == NULL);
	CHECK_STR(jstr(&r, "x_test"), "hi there");
	CHECK(jstr(&r, "absent_header") == NULL);
	reply_release(&r);
}

static void test_handler_responses(void)
{
	struct reply r;

	get(&r, plain, "/text");
	CHECK_EQ(r.status, 201);
	CHECK_STR(header(&r, "Content-Type"), "text/plain; charset=utf-8");
	CHECK_STR(header(&r, "X-Custom"), "yes");
	CHECK(header(&r, "X-Evil") == NULL);
	CHECK(header(&r, "Set-Cookie") == NULL);
	CHECK_STR(buf_str(&r.body), "plain words\n");
	reply_release(&r);

	/* httpd_error with a message that is not valid UTF-8. */
	get(&r, plain, "/fail/snap%20one");
	check_error_shape(&r, 409, "snapshot 'snap one' \xEF\xBF\xBD is busy");
	reply_release(&r);

	get(&r, plain, "/bad-status");
	check_error_shape(&r, 500, "internal error");
	reply_release(&r);
}

static void test_bodies(void)
{
	static const char bin[] = "a\0b\0c";
	const char *hdrs[] = { "Content-Type: application/octet-stream", NULL };
	struct reply r;
	long long n = 0;
	bool b = false;

	fetch(&r, plain, "POST", "/echo", NULL, "{\"x\":1}", 7, false);
	CHECK_EQ(r.status, 200);
	CHECK(kjson_int(r.json, "len", &n) && n == 7);
	CHECK(kjson_bool(r.json, "terminated", &b) && b);
	CHECK_STR(jstr(&r, "body"), "{\"x\":1}");
	reply_release(&r);

	fetch(&r, plain, "POST", "/echo", hdrs, bin, 5, false);
	CHECK(kjson_int(r.json, "len", &n) && n == 5);
	reply_release(&r);

	fetch(&r, plain, "POST", "/echo", NULL, NULL, 0, false);
	CHECK_EQ(r.status, 200);
	CHECK(kjson_int(r.json, "len", &n) && n == 0);
	CHECK(kjson_bool(r.json, "terminated", &b) && b);
	reply_release(&r);

	fetch(&r, plain, "POST", "/v1/items/7/parts/8", NULL, "hi", 2, true);
	CHECK_EQ(r.status, 200);
	CHECK(kjson_int(r.json, "len", &n) && n == 2);
	CHECK(kjson_int(r.json, "nparams", &n) && n == 2);
	reply_release(&r);
}

static void test_body_cap_by_length(void)
{
	const char *expect[] = { "Expect: 100-continue", NULL };
	char *big = xmalloc(2048);
	struct reply r;
	long long n = 0;

	memset(big, 'x', 2048);
	fetch(&r, small, "POST", "/echo", NULL, big, 1024, false);
	CHECK_EQ(r.status, 200);
	CHECK(kjson_int(r.json, "len", &n) && n == 1024);
	reply_release(&r);

	fetch(&r, small, "POST", "/echo", expect, big, 1025, false);
	check_error_shape(&r, 413, "request body larger than 1024 bytes");
	reply_release(&r);
	free(big);
}

/* A gigabyte announced and none sent: the 413 must come without waiting
 * for the body. */
static void test_body_cap_announced(void)
{
	const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n";
	const char huge[] = "POST /echo HTTP/1.1\r\nHost: x\r\n"
			    "Content-Length: 99999999999999999999999\r\n\r\n";
	const char *const reqs[] = { req, huge };

	for (size_t i = 0; i < 2; i++) {
		struct buf got = BUF_INIT(0);
		int fd = connect_to(httpd_port(small));
		size_t len = strlen(reqs[i]);

		REQUIRE(fd >= 0);
		CHECK_EQ(send(fd, reqs[i], len, MSG_NOSIGNAL), (ssize_t)len);
		read_all(fd, &got, clock_mono_ms() + 10000);
		close(fd);
		/* libmicrohttpd answers a number past 64 bits itself. */
		CHECK_CONTAINS(buf_str(&got), "HTTP/1.1 413");
		if (i == 0)
			CHECK_CONTAINS(buf_str(&got),
				       "{\"detail\":\"request body larger than 1024 bytes\"}");
		buf_release(&got);
	}
}

static void test_body_cap_streamed(void)
{
	size_t big_len = 64 * 1024, huge_len = 4 << 20;
	char *big = xmalloc(huge_len);
	struct reply r;
	long long n = 0;

	memset(big, 'y', huge_len);
	fetch(&r, small, "POST", "/echo", NULL, big, 1000, true);
	CHECK_EQ(r.status, 200);
	CHECK(kjson_int(r.json, "len", &n) && n == 1000);
	reply_release(&r);

	fetch(&r, small, "POST", "/echo", NULL, big, big_len, true);
	check_error_shape(&r, 413, "request body larger than 1024 bytes");
	reply_release(&r);

	/* Far past the cap the server stops reading and hangs up. */
	fetch(&r, small, "POST", "/echo", NULL, big, huge_len, true);
	CHECK(r.status != 200);
	reply_release(&r);

	get(&r, small, "/hello");
	CHECK_EQ(r.status, 200);
	reply_release(&r);
	free(big);
}

/* ---------------------------------------------------------------------- */
/* Auth                                                                   */

static void test_bearer_token(void)
{
	static const char *const wrong[] = {
		"Authorization: Bearer nope",
		"Authorization: Bearer " TOKEN "x",
		"Authorization: Bearer s3cret",
		"Authorization: Basic " TOKEN,
		"Authorization: Bearer",
		"Authorization: Bearer ",
		"Authorization: " TOKEN,
		"Authorization: Bearer" TOKEN,
	};
	const char *right[] = { "Authorization: Bearer " TOKEN, NULL };
	const char *lower[] = { "Authorization: bearer   " TOKEN, NULL };
	struct reply r;

	get(&r, guarded, "/hello");
	check_error_shape(&r, 401, "missing or invalid bearer token");
	CHECK_STR(header(&r, "WWW-Authenticate"), "Bearer");
	reply_release(&r);

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		const char *h[] = { wrong[i], NULL };

		fetch(&r, guarded, "GET", "/hello", h, NULL, 0, false);
		check_error_shape(&r, 401, "missing or invalid bearer token");
		reply_release(&r);
	}

	fetch(&r, guarded, "GET", "/hello", right, NULL, 0, false);
	CHECK_EQ(r.status, 200);
	CHECK_STR(jstr(&r, "hello"), "world");
	reply_release(&r);

	fetch(&r, guarded, "GET", "/hello", lower, NULL, 0, false);
	CHECK_EQ(r.status, 200);
	reply_release(&r);

	/* Unauthenticated bodies are refused before they are read. */
	fetch(&r, guarded, "POST", "/echo", NULL, "x", 1, false);
	CHECK_EQ(r.status, 401);
	reply_release(&r);
	fetch(&r, guarded, "POST", "/echo", right, "x", 1, false);
	CHECK_EQ(r.status, 200);
	reply_release(&r);

	get(&r, guarded, "/healthz");
	CHECK_EQ(r.status, 200);
	reply_release(&r);
}

static void test_bearer_token_via_http_perform(void)
{
	char *url = xasprintf("http://127.0.0.1:%d/hello", httpd_port(guarded));
	const char *hdrs[] = { "Authorization: Bearer " TOKEN, NULL };
	struct http_request req = { .method = "GET", .url = url, .timeout_ms = 10000 };
	struct http_response resp;

	http_response_init(&resp);
	CHECK_EQ(http_perform(&req, &resp, NULL), KITH_EHTTP);
	CHECK_EQ(resp.status, 401);
	req.headers = hdrs;
	CHECK_EQ(http_perform(&req, &resp, NULL), KITH_OK);
	CHECK_CONTAINS(buf_str(&resp.body), "world");
	http_response_release(&resp);
	free(url);
}

static void test_refuses_open_bind_without_token(void)
{
	struct httpd_config cfg = { .name = "test", .host = "0.0.0.0", .routes = routes };
	struct httpd *s = NULL;
	char *why = NULL;
	struct reply r;
	const char *auth[] = { "Authorization: Bearer " TOKEN, NULL };

	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_ECONFIG);
	CHECK(s == NULL);
	CHECK_CONTAINS(why, "refusing to serve test on 0.0.0.0 without a bearer token");
	free(why);
	why = NULL;

	cfg.token = "";
	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_ECONFIG);
	free(why);
	why = NULL;

	cfg.host = "::";
	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_ECONFIG);
	free(why);
	why = NULL;

	cfg.host = "0.0.0.0";
	cfg.token = TOKEN;
	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_OK);
	REQUIRE(s != NULL);
	CHECK(httpd_port(s) > 0);
	get(&r, s, "/hello");
	CHECK_EQ(r.status, 401);
	reply_release(&r);
	fetch(&r, s, "GET", "/hello", auth, NULL, 0, false);
	CHECK_EQ(r.status, 200);
	reply_release(&r);
	httpd_stop(s);
}

/* One debug line per request, and neither headers nor bodies in it. */
static void test_request_log(void)
{
	const char *auth[] = { "Authorization: Bearer " TOKEN, "X-Private: header-value", NULL };
	struct reply r;
	struct buf text = BUF_INIT(0);
	char *path = test_path("httpd.log");
	FILE *f;
	char chunk[4096];
	size_t got;

	fetch(&r, guarded, "POST", "/echo?q=query-value", auth, "body-value", 10, false);
	CHECK_EQ(r.status, 200);
	reply_release(&r);
	get(&r, guarded, "/nope");
	reply_release(&r);
	f = fopen(path, "r");
	REQUIRE(f != NULL);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_append(&text, chunk, got);
	fclose(f);
	CHECK_CONTAINS(buf_str(&text), "DEBUG [guarded] POST /echo \u2192 200 (");
	CHECK_CONTAINS(buf_str(&text), "DEBUG [guarded] GET /nope \u2192 404 (");
	CHECK(!strstr(buf_str(&text), TOKEN));
	CHECK(!strstr(buf_str(&text), "header-value"));
	CHECK(!strstr(buf_str(&text), "body-value"));
	CHECK(!strstr(buf_str(&text), "query-value"));
	buf_release(&text);
	free(path);
}

/* ---------------------------------------------------------------------- */
/* Binding                                                                */

static bool ipv6_loopback_available(void)
{
	struct sockaddr_in6 sa;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void test_hosts(void)
{
	struct httpd_config cfg = { .name = "test", .host = "localhost", .routes = routes };
	struct httpd *s = NULL;
	char *why = NULL;
	struct reply r;

	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_OK);
	REQUIRE(s != NULL);
	get(&r, s, "/hello");
	CHECK_EQ(r.status, 200);
	reply_release(&r);
	httpd_stop(s);
	s = NULL;

	cfg.host = "::1";
	if (ipv6_loopback_available()) {
		CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_OK);
		if (s) {
			char *url = xasprintf("http://[::1]:%d/hello", httpd_port(s));
			struct http_request req = { .url = url, .timeout_ms = 10000 };
			struct http_response resp;

			http_response_init(&resp);
			CHECK_EQ(http_perform(&req, &resp, NULL), KITH_OK);
			CHECK_CONTAINS(buf_str(&resp.body), "world");
			http_response_release(&resp);
			free(url);
			httpd_stop(s);
			s = NULL;
		}
		free(why);
		why = NULL;
	}

	cfg.host = "no-such-host.invalid";
	cfg.token = TOKEN;
	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "cannot resolve host 'no-such-host.invalid'");
	free(why);
	why = NULL;

	cfg.host = NULL;
	cfg.token = NULL;
	cfg.port = 70000;
	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "out of range");
	free(why);
	why = NULL;

	/* A port already taken. */
	cfg.port = httpd_port(plain);
	CHECK_EQ(httpd_start(&cfg, &s, &why), KITH_EIO);
	CHECK_CONTAINS(why, "cannot listen on 127.0.0.1");
	free(why);
	CHECK(s == NULL);
}

/* ---------------------------------------------------------------------- */
/* Concurrency                                                            */

#define CLIENTS 8
#define PER_CLIENT 50

struct client {
	int id;
	int ok;
};

static void *client_main(void *arg)
{
	struct client *c = arg;

	for (int i = 0; i < PER_CLIENT; i++) {
		char *url = xasprintf("http://127.0.0.1:%d/count/c%d-%d", httpd_port(plain), c->id,
				      i);
		char *want = xasprintf("\"n\":\"c%d-%d\"", c->id, i);
		struct http_request req = { .url = url, .timeout_ms = 20000 };
		struct http_response resp;

		http_response_init(&resp);
		if (http_perform(&req, &resp, NULL) == KITH_OK && resp.status == 200 &&
		    strstr(buf_str(&resp.body), want))
			c->ok++;
		http_response_release(&resp);
		free(want);
		free(url);
	}
	return NULL;
}

static void test_concurrent_clients(void)
{
	pthread_t th[CLIENTS];
	struct client c[CLIENTS];
	int total = 0;

	__atomic_store_n(&counted, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < CLIENTS; i++) {
		c[i].id = i;
		c[i].ok = 0;
		REQUIRE(pthread_create(&th[i], NULL, client_main, &c[i]) == 0);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		total += c[i].ok;
	}
	CHECK_EQ(total, CLIENTS * PER_CLIENT);
	CHECK_EQ(__atomic_load_n(&counted, __ATOMIC_RELAXED), CLIENTS * PER_CLIENT);
}

/* Stop with a connection still open and half a request sent. */
static void test_stop_with_open_connection(void)
{
	struct httpd_config cfg = { .name = "test", .routes = routes, .threads = 2 };
	struct httpd *s = NULL;
	const char part[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
	int fd;

	REQUIRE(httpd_start(&cfg, &s, NULL) == KITH_OK);
	fd = connect_to(httpd_port(s));
	REQUIRE(fd >= 0);
	CHECK_EQ(send(fd, part, strlen(part), MSG_NOSIGNAL), (ssize_t)strlen(part));
	httpd_stop(s);
	close(fd);
}

int main(void)
{
	struct httpd_config pc = { .name = "plain", .routes = routes };
	struct httpd_config gc = { .name = "guarded", .routes = routes, .token = TOKEN,
				   .threads = 2 };
	struct httpd_config sc = { .name = "small", .routes = routes, .max_body = 1024,
				   .threads = 1 };
	char *why = NULL, *log_path;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Before any server thread exists: the level is read without a lock. */
	log_path = test_path("httpd.log");
	if (log_open_file(log_path, LOG_DEBUG, 0, 0, &why) != KITH_OK) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	free(log_path);
	if (httpd_start(&pc, &plain, &why) != KITH_OK ||
	    httpd_start(&gc, &guarded, &why) != KITH_OK ||
	    httpd_start(&sc, &small, &why) != KITH_OK) {
		fprintf(stderr, "cannot start test servers: %s\n", why ? why : "?");
		return 1;
	}

	RUN(test_match);
	RUN(test_pct_decode_and_show);
	RUN(test_is_loopback);
	RUN(test_route_table_checked);
	RUN(test_routing_and_captures);
	RUN(test_not_found);
	RUN(test_raw_bytes_escaped);
	RUN(test_method_not_allowed);
	RUN(test_bad_captures);
	RUN(test_query_and_headers);
	RUN(test_handler_responses);
	RUN(test_bodies);
	RUN(test_body_cap_by_length);
	RUN(test_body_cap_announced);
	RUN(test_body_cap_streamed);
	RUN(test_bearer_token);
	RUN(test_bearer_token_via_http_perform);
	RUN(test_request_log);
	RUN(test_refuses_open_bind_without_token);
	RUN(test_hosts);
	RUN(test_concurrent_clients);
	RUN(test_stop_with_open_connection);

	httpd_stop(plain);
	httpd_stop(guarded);
	httpd_stop(small);
	log_close();
	curl_global_cleanup();
	return test_summary();
}
