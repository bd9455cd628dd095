/* fake_files.c — a loopback HTTP server that serves registered bytes.
 *
 * libmicrohttpd with a thread per connection, as fake_llm.c.  Files live in
 * a small list under one mutex; each answer copies the bytes it sends
 * (MHD_RESPMEM_MUST_COPY), so a file replaced while a download runs never
 * changes what that download receives. */
#include "fakes/fake_files.h"

#include "core/alloc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct entry {
	char *path;
	unsigned char *data;
	size_t len;
	char *content_type;
	unsigned status;
};

struct request {
	char *method, *path;
};

struct fake_files {
	struct MHD_Daemon *daemon;
	char *url;

	pthread_mutex_t lock;         /* guards everything below */
	struct entry *files;
	size_t nfiles, filecap;
	struct request *reqs;
	size_t nreqs, reqcap;
};

static void entry_release(struct entry *e)
{
	free(e->path);
	free(e->data);
	free(e->content_type);
	memset(e, 0, sizeof *e);
}

/* Marks a connection whose request has been seen once (MHD calls the
 * handler first to set up, then again to answer). */
static int started;

static enum MHD_Result answer(struct fake_files *f, struct MHD_Connection *conn,
			      const char *method, const char *url)
{
	struct MHD_Response *resp = NULL;
	unsigned status = MHD_HTTP_NOT_FOUND;
	enum MHD_Result res;
	bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	pthread_mutex_lock(&f->lock);
	f->reqs = xgrow(f->reqs, &f->reqcap, f->nreqs + 1, sizeof *f->reqs);
	f->reqs[f->nreqs].method = xstrdup(method);
	f->reqs[f->nreqs].path = xstrdup(url);
	f->nreqs++;
	for (size_t i = 0; is_get && i < f->nfiles && !resp; i++) {
		struct entry *e = &f->files[i];

		if (strcmp(e->path, url) != 0)
			continue;
		resp = MHD_create_response_from_buffer(e->len, e->data, MHD_RESPMEM_MUST_COPY);
		if (resp && e->content_type)
			MHD_add_response_header(resp, "Content-Type", e->content_type);
		status = e->status;
	}
	pthread_mutex_unlock(&f->lock);
	if (!resp) {
		static const char text[] = "not found\n";

		if (!is_get)
			status = MHD_HTTP_METHOD_NOT_ALLOWED;
		resp = MHD_create_response_from_buffer(sizeof text - 1, (void *)text,
						       MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", "text/plain");
	}
	res = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	if (!*con_cls) {
		*con_cls = &started;
		return MHD_YES;
	}
	if (*data_size) {
		*data_size = 0;   /* a body is not expected; drop it */
		return MHD_YES;
	}
	return answer(cls, conn, method, url);
}

struct fake_files *fake_files_start(void)
{
	struct fake_files *f = xcalloc(1, sizeof *f);
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	pthread_mutex_init(&f->lock, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				     MHD_USE_ITC,
				     0, NULL, NULL, on_request, f,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				     MHD_OPTION_END);
	info = f->daemon ? MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info || !info->port) {
		fprintf(stderr, "fake_files: cannot listen on 127.0.0.1\n");
		fake_files_stop(f);
		return NULL;
	}
	f->url = xasprintf("http://127.0.0.1:%u", (unsigned)info->port);
	return f;
}

void fake_files_stop(struct fake_files *f)
{
	if (!f)
		return;
	if (f->daemon)
		MHD_stop_daemon(f->daemon);
	for (size_t i = 0; i < f->nfiles; i++)
		entry_release(&f->files[i]);
	free(f->files);
	for (size_t i = 0; i < f->nreqs; i++) {
		free(f->reqs[i].method);
		free(f->reqs[i].path);
	}
	free(f->reqs);
	free(f->url);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const char *fake_files_url(const struct fake_files *f)
{
	return f->url;
}

char *fake_files_url_for(const struct fake_files *f, const char *path)
{
	return xasprintf("%s%s", f->url, path);
}

void fake_files_put(struct fake_files *f, const struct fake_file *file)
{
	struct entry e = { 0 };
	size_t i;

	e.path = xstrdup(file->path);
	e.data = xmalloc(file->len ? file->len : 1);
	if (file->len)
		memcpy(e.data, file->data, file->len);
	e.len = file->len;
	e.content_type = xstrdup(file->content_type);
	e.status = file->status ? (unsigned)file->status : MHD_HTTP_OK;
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->nfiles && strcmp(f->files[i].path, e.path) != 0; i++)
		;
	if (i < f->nfiles) {
		entry_release(&f->files[i]);
	} else {
		f->files = xgrow(f->files, &f->filecap, f->nfiles + 1, sizeof *f->files);
		f->nfiles++;
	}
	f->files[i] = e;
	pthread_mutex_unlock(&f->lock);
}

size_t fake_files_request_count(struct fake_files *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nreqs;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static char *request_field(struct fake_files *f, size_t i, bool path)
{
	char *s = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs)
		s = xstrdup(path ? f->reqs[i].path : f->reqs[i].method);
	pthread_mutex_unlock(&f->lock);
	return s;
}

char *fake_files_request_method(struct fake_files *f, size_t i)
{
	return request_field(f, i, false);
}

char *fake_files_request_path(struct fake_files *f, size_t i)
{
	return request_field(f, i, true);
}
