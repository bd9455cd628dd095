/* himtest.c — start/stop `kith him serve` and talk HTTP to it (libcurl). */
#include "support/himtest.h"
#include "support/test.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

int him_server_start(struct him_server *s, struct kith_env *e, const char *dir,
		     const char **failure, ...)
{
	const char *argv[24];
	int argc = 0;
	struct proc_opts o = { 0 };
	const char *a;
	va_list ap;
	int64_t deadline = clock_mono_ms() + 20000;
	struct timespec step = { 0, 5 * 1000000L };

	memset(s, 0, sizeof(*s));
	argv[argc++] = kith_bin();
	argv[argc++] = "him";
	argv[argc++] = "serve";
	argv[argc++] = "--port";
	argv[argc++] = "0";
	argv[argc++] = "--data-dir";
	argv[argc++] = dir;
	va_start(ap, failure);
	while ((a = va_arg(ap, const char *)) && argc < 23)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	o.argv = argv;
	o.env = e->vars;
	s->proc = proc_start(&o);
	if (!s->proc) {
		*failure = "cannot start kith him serve";
		return -1;
	}
	while (clock_mono_ms() < deadline) {
		FILE *f = fopen(proc_stdout_path(s->proc), "r");
		char line[512] = "";
		char *at;

		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		at = strstr(line, "http://");
		if (at && strchr(at, '\n')) {
			int port = 0;
			char *colon = strrchr(at, ':');

			if (colon)
				port = (int)strtol(colon + 1, NULL, 10);
			snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", port);
			return 0;
		}
		if (kill(proc_pid(s->proc), 0) != 0)
			break;
		nanosleep(&step, NULL);
	}
	*failure = "kith him serve did not announce its address";
	return -1;
}

int him_server_stop(struct him_server *s, struct proc_result *r)
{
	kill(proc_pid(s->proc), SIGTERM);
	if (proc_wait(s->proc, 10000, r) != 0) {
		proc_kill(s->proc);
		s->proc = NULL;
		return -1;
	}
	s->proc = NULL;
	return 0;
}

void him_server_kill(struct him_server *s)
{
	if (s->proc)
		proc_kill(s->proc);
	s->proc = NULL;
}

int him_test_start(struct kith_env *e, struct him_server *s, char **store_dir,
		   const char *name)
{
	char *leaf = xasprintf("%s-store", name);
	const char *failure = NULL;

	kith_env_init(e, name);
	*store_dir = test_path(leaf);
	free(leaf);
	if (him_server_start(s, e, *store_dir, &failure, NULL) != 0) {
		fprintf(stderr, "%s\n", failure);
		return -1;
	}
	return 0;
}

int him_server_start_guarded(struct him_server *s, struct kith_env *e, const char *dir,
			     const char *token)
{
	const char *failure = NULL;

	kith_env_set(e, "HIM_API_TOKEN", token);
	if (him_server_start(s, e, dir, &failure, NULL) != 0) {
		test_fail_(__FILE__, __LINE__, "%s", failure);
		return -1;
	}
	return 0;
}

int him_server_stop_clean(struct him_server *s)
{
	struct proc_result r;

	if (him_server_stop(s, &r) != 0) {
		test_fail_(__FILE__, __LINE__, "kith him serve did not stop");
		return -1;
	}
	if (r.exit_code != 0)
		test_fail_(__FILE__, __LINE__, "kith him serve exited with %d: %s", r.exit_code,
			   r.err ? r.err : "");
	proc_result_release(&r);
	return 0;
}

void him_check_fsck_clean(struct kith_env *e, const char *dir)
{
	struct proc_result r;

	if (kith_run(e, NULL, &r, "him", "fsck", "--data-dir", dir, NULL) != 0) {
		test_fail_(__FILE__, __LINE__, "kith him fsck could not be started");
		return;
	}
	if (r.exit_code != 0)
		test_fail_(__FILE__, __LINE__, "kith him fsck exited with %d: %s", r.exit_code,
			   r.err ? r.err : "");
	if (!strstr(r.out, "0 problems"))
		test_fail_(__FILE__, __LINE__, "kith him fsck found problems: %s", r.out);
	proc_result_release(&r);
}

struct capture {
	struct buf *body;
	const char *want;
	char **value;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct capture *c = ud;

	buf_append(c->body, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct capture *c = ud;
	size_t len = size * n, wl = c->want ? strlen(c->want) : 0;

	if (c->want && len > wl + 1 && strncasecmp(p, c->want, wl) == 0 && p[wl] == ':') {
		struct slice v = slice_trim(slice_of(p + wl + 1, len - wl - 1));

		free(*c->value);
		*c->value = slice_dup(v);
	}
	return len;
}

long him_http_ex(const struct him_server *s, const char *method, const char *path,
		 const char *body, size_t body_len, const char *const *headers,
		 const char *want_header, char **header_value, struct buf *resp_body)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *h = NULL;
	struct capture cap = { resp_body, want_header, header_value };
	char *url = xasprintf("%s%s", s->base, path);
	char *auth = NULL;
	long status = -1;

	buf_reset(resp_body);
	if (header_value)
		*header_value = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	if (s->token) {
		auth = xasprintf("Authorization: Bearer %s", s->token);
		h = curl_slist_append(h, auth);
	}
	/* No 100-continue round trip unless the caller asks for one. */
	{
		int has_expect = 0;

		for (size_t i = 0; headers && headers[i]; i++)
			has_expect |= strncasecmp(headers[i], "Expect:", 7) == 0;
		if (!has_expect)
			h = curl_slist_append(h, "Expect:");
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &cap);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &cap);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	free(url);
	free(auth);
	return status;
}

long him_http(const struct him_server *s, const char *method, const char *path,
	      const char *json_body, const char *accept, struct buf *body)
{
	const char *headers[3] = { "Content-Type: application/json", NULL, NULL };
	char *acc = accept ? xasprintf("Accept: %s", accept) : NULL;
	long st;

	headers[1] = acc;
	st = him_http_ex(s, method, path, json_body, json_body ? strlen(json_body) : 0, headers,
			 NULL, NULL, body);
	free(acc);
	return st;
}
