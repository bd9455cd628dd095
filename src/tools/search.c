/* search.c — one search: redact, then text and image at the same time,
 * then log.
 *
 * The image runs on a thread of its own while the calling thread does the
 * text; both are plain blocking http.c calls (each drives its own curl
 * multi handle), so the parallelism is one pthread_create and one join,
 * and both calls honour the same cancel token.  The thread only reads the
 * options and the query and writes its own job struct, which the caller
 * reads after the join: nothing else is shared.  If the thread cannot be
 * started the search goes on without an image. */
#include "tools/search_int.h"

#include "config/config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "store/store.h"

#include <pthread.h>
#include <string.h>

#define TAG "search"

void search_opts_from_config(struct search_opts *o, const struct config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->perplexity_url = config_str(cfg, CFG_PERPLEXITY_API_URL);
	o->perplexity_key = config_str(cfg, CFG_PERPLEXITY_API_KEY);
	o->serper_url = config_str(cfg, CFG_SERPER_API_URL);
	o->serper_key = config_str(cfg, CFG_SERPER_API_KEY);
	o->blocked = config_list(cfg, CFG_URL_BLOCKLIST_DOMAINS);
	o->text_timeout_ms = (long)(config_float(cfg, CFG_TOOL_TIMEOUT) * 1000.0);
	o->image_timeout_ms = (long)(config_float(cfg, CFG_IMAGE_DOWNLOAD_TIMEOUT) * 1000.0);
	o->image_max_results = (int)config_int(cfg, CFG_IMAGE_MAX_RESULTS);
	o->image_max_bytes = SEARCH_IMAGE_MAX_BYTES;
	o->timezone = config_str(cfg, CFG_SEL_TIMEZONE);
}

bool search_available(const struct config *cfg)
{
	const char *key = config_str(cfg, CFG_PERPLEXITY_API_KEY);

	return key && *key;
}

void search_result_release(struct search_result *r)
{
	if (!r)
		return;
	free(r->query);
	free(r->text);
	free(r->error);
	for (size_t i = 0; i < r->nsources; i++)
		free(r->sources[i]);
	free(r->sources);
	search_image_release(&r->image);
	free(r->image_error);
	memset(r, 0, sizeof(*r));
}

struct image_job {
	const struct search_opts *o;
	const char *query;
	struct search_image img;
	char *why;
	enum kith_status rc;
};

static void *image_thread(void *arg)
{
	struct image_job *j = arg;

	j->rc = serper_find_image(j->o, j->query, &j->img, &j->why);
	return NULL;
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static void cut_utf8(char *s, size_t max)
{
	s[utf8_prefix(s, strlen(s), max)] = '\0';
}

static void log_search(const struct search_opts *o, struct search_result *r)
{
	struct store_search_log_new e = {
		.query = r->query,
		.response = r->text ? r->text : "",
		.sources = (const char *const *)r->sources,
		.nsources = r->nsources,
		.image_url = r->image.data ? r->image.url : NULL,
		.duration_ms = r->duration_ms,
		.error = r->error,
		.trigger = o->trigger,
		.author_id = o->author_id,
	};
	char *why = NULL;

	if (!o->store)
		return;
	if (store_search_log_add(o->store, &e, &r->log_id, &why))
		log_warn(TAG, "cannot log a search: %s", why ? why : "unknown error");
	free(why);
}

enum kith_status search_run(const struct search_opts *o, const char *query,
			    struct search_result *r, char **why)
{
	struct image_job job = { 0 };
	struct perplexity_answer ans = { 0 };
	pthread_t tid;
	bool threaded = false;
	char *prefix = NULL, *input = NULL, *err = NULL;
	int64_t t0 = clock_mono_ms();
	int64_t now = o->now_ms ? o->now_ms : clock_now_ms();
	enum kith_status rc;

	memset(r, 0, sizeof(*r));
	r->query = search_redact(query, o->redact);
	cut_utf8(r->query, SEARCH_QUERY_MAX);
	if (!*r->query) {
		rc = kith_why(&err, KITH_EINVAL, "the query is empty");
		goto done;
	}
	if (!o->skip_images && o->serper_key && *o->serper_key) {
		job.o = o;
		job.query = r->query;
		threaded = pthread_create(&tid, NULL, image_thread, &job) == 0;
		if (!threaded)
			job.why = xstrdup("cannot start the image search thread");
	}
	prefix = search_date_prefix(o->timezone, now);
	input = xasprintf("%s%s", prefix, r->query);
	rc = perplexity_search(o, input, &ans, &err);
	if (threaded)
		pthread_join(tid, NULL);
	if (!rc) {
		r->text = ans.text;
		r->sources = ans.urls;
		r->nsources = ans.nurls;
		memset(&ans, 0, sizeof(ans));
	}
	if (threaded && job.rc == KITH_OK && !rc) {   /* no picture without an answer */
		r->image = job.img;
		memset(&job.img, 0, sizeof(job.img));
	} else {
		r->image_error = job.why;
		job.why = NULL;
	}
done:
	r->duration_ms = clock_mono_ms() - t0;
	if (rc) {
		r->error = err ? err : xstrdup(kith_strerror(rc));
		err = NULL;
		if (why && !*why)
			*why = xstrdup(r->error);
	}
	log_info(TAG, "search took %lld ms: %s, %zu source%s, %s", (long long)r->duration_ms,
		 rc ? "text failed" : "text ok", r->nsources, r->nsources == 1 ? "" : "s",
		 r->image.data ? "an image" : "no image");
	if (r->image_error)
		log_debug(TAG, "no image: %s", r->image_error);
	log_search(o, r);
	search_image_release(&job.img);
	free(job.why);
	perplexity_answer_release(&ans);
	free(err);
	free(input);
	free(prefix);
	return rc;
}
