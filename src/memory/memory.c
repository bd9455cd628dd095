/* memory.c — the memory object: HIM, one vector index per (scope, embedder)
 * opened on first use, the background thread that retries pending
 * embeddings, and settling.
 *
 * The index key is "<embedder id>:<dim>": a model's dimension is learnt by
 * probing it the first time something is embedded, so opening never needs
 * the model to be up.  Indexes are opened lazily because a daemon may hold
 * many scopes and most are never recalled in one run. */
#include "memory/memory_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "llm/embed.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define DEFAULT_RETRY_MS 30000
#define SETTLE_POLL_MS 20

static enum kith_status him_embed_cb(void *ctx, const char *const *texts, size_t n, float *out,
				     char **why)
{
	return embedder_embed(ctx, texts, n, out, NULL, why);
}

enum kith_status memory_key(struct memory *m, const char **key, char **why)
{
	enum kith_status rc = KITH_OK;
	int dim;

	pthread_mutex_lock(&m->mu);
	if (m->key)
		goto out;
	dim = embedder_dim(m->emb);
	if (dim <= 0) {
		rc = embedder_probe(m->emb, why);
		if (rc)
			goto out;
		dim = embedder_dim(m->emb);
	}
	if (dim <= 0 || dim > HIM_VINDEX_MAX_DIM) {
		rc = kith_why(why, KITH_EUNSUPPORTED,
			      "embedder %s has dimension %d; the vector index takes 1..%d",
			      embedder_id(m->emb), dim, HIM_VINDEX_MAX_DIM);
		goto out;
	}
	m->hemb.dim = dim;
	m->key = xasprintf("%s:%d", embedder_id(m->emb), dim);
out:
	if (!rc)
		*key = m->key;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

enum kith_status memory_index_for(struct memory *m, const char *scope, struct him_vindex **out,
				  char **why)
{
	const char *key;
	char snap[HIM_NAME_MAX + 1];
	struct him_vindex_options o = { 0 };
	enum kith_status rc = memory_key(m, &key, why);

	*out = NULL;
	if (rc)
		return rc;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nindexes; i++) {
		if (strcmp(m->indexes[i].scope, scope) == 0 && strcmp(m->indexes[i].key, key) == 0) {
			*out = m->indexes[i].vi;
			goto out;
		}
	}
	memory_scope_name(scope, snap);
	o.stream = MEMORY_STREAM;
	o.snapshot_id = snap;
	o.model = m->hemb.model;
	o.dim = m->hemb.dim;
	rc = him_vindex_open(m->him, &o, out, why);
	if (rc)
		goto out;
	m->indexes = xgrow(m->indexes, &m->capindexes, m->nindexes + 1, sizeof(*m->indexes));
	m->indexes[m->nindexes].scope = xstrdup(scope);
	m->indexes[m->nindexes].key = xstrdup(key);
	m->indexes[m->nindexes].vi = *out;
	m->nindexes++;
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* ---- background retries ------------------------------------------------- */

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *background_main(void *arg)
{
	struct memory *m = arg;
	struct store *st = NULL;
	char *why = NULL;

	if (store_open(m->db_path, &st, &why) != KITH_OK) {
		log_warn("memory", "background embedding disabled: %s", why ? why : "?");
		free(why);
		return NULL;
	}
	pthread_mutex_lock(&m->bg_mu);
	while (!m->bg_stop) {
		struct timespec ts;

		if (!m->bg_kick) {
			deadline_in(&ts, m->retry_ms);
			while (!m->bg_stop && !m->bg_kick &&
			       pthread_cond_timedwait(&m->bg_cv, &m->bg_mu, &ts) != ETIMEDOUT)
				;
		}
		m->bg_kick = false;
		if (m->bg_stop)
			break;
		pthread_mutex_unlock(&m->bg_mu);
		size_t done = 0;
		if (memory_embed_pending(m, st, 0, &done, &why) != KITH_OK) {
			log_debug("memory", "pending embeddings stay pending: %s", why ? why : "?");
			free(why);
			why = NULL;
		} else if (done) {
			log_info("memory", "embedded %zu pending memories", done);
		}
		pthread_mutex_lock(&m->bg_mu);
	}
	pthread_mutex_unlock(&m->bg_mu);
	store_close(st);
	return NULL;
}

void memory_kick(struct memory *m)
{
	if (!m->thread_started)
		return;
	pthread_mutex_lock(&m->bg_mu);
	m->bg_kick = true;
	pthread_cond_signal(&m->bg_cv);
	pthread_mutex_unlock(&m->bg_mu);
}

/* ---- lifecycle ----------------------------------------------------------- */

enum kith_status memory_open(const struct memory_options *o, struct memory **out, char **why)
{
	struct him_options ho = { 0 };
	struct memory *m;
	enum kith_status rc;

	*out = NULL;
	if (!o || !o->him_dir || !o->embedder)
		return kith_why(why, KITH_EINVAL, "memory needs a HIM directory and an embedder");
	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->embed_mu, NULL);
	pthread_mutex_init(&m->bg_mu, NULL);
	pthread_cond_init(&m->bg_cv, NULL);
	m->emb = o->embedder;
	m->hemb.model = embedder_id(o->embedder);
	m->hemb.dim = 0;
	m->hemb.embed = him_embed_cb;
	m->hemb.ctx = o->embedder;
	m->retry_ms = o->retry_interval_ms > 0 ? o->retry_interval_ms : DEFAULT_RETRY_MS;
	ho.dir = o->him_dir;
	ho.cache_bytes = o->him_cache_bytes;
	rc = him_open(&ho, &m->him, why);
	if (rc)
		goto fail;
	if (o->db_path) {
		m->db_path = xstrdup(o->db_path);
		if (pthread_create(&m->thread, NULL, background_main, m) != 0) {
			rc = kith_why(why, KITH_EIO, "cannot start the memory thread");
			goto fail;
		}
		m->thread_started = true;
	}
	*out = m;
	return KITH_OK;
fail:
	memory_close(m);
	return rc;
}

struct him *memory_him(struct memory *m)
{
	return m ? m->him : NULL;
}

void memory_close(struct memory *m)
{
	if (!m)
		return;
	if (m->thread_started) {
		pthread_mutex_lock(&m->bg_mu);
		m->bg_stop = true;
		pthread_cond_signal(&m->bg_cv);
		pthread_mutex_unlock(&m->bg_mu);
		pthread_join(m->thread, NULL);
	}
	for (size_t i = 0; i < m->nindexes; i++) {
		him_vindex_close(m->indexes[i].vi);
		free(m->indexes[i].scope);
		free(m->indexes[i].key);
	}
	free(m->indexes);
	him_close(m->him);
	free(m->key);
	free(m->db_path);
	pthread_cond_destroy(&m->bg_cv);
	pthread_mutex_destroy(&m->bg_mu);
	pthread_mutex_destroy(&m->embed_mu);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

bool memory_settle(struct memory *m, struct store *st, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	const char *key;
	char *why = NULL;

	for (;;) {
		size_t left = 1;

		if (memory_embed_pending(m, st, 0, NULL, &why) == KITH_OK &&
		    memory_key(m, &key, &why) == KITH_OK &&
		    store_memories_pending_count(st, key, &left, &why) == KITH_OK && left == 0)
			break;
		free(why);
		why = NULL;
		if (clock_mono_ms() >= deadline)
			return false;
		struct timespec ts = { 0, SETTLE_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	bool ok = true;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nindexes; i++) {
		if (him_vindex_flush(m->indexes[i].vi, &why) != KITH_OK) {
			log_warn("memory", "flushing the index of %s: %s", m->indexes[i].scope,
				 why ? why : "?");
			free(why);
			why = NULL;
			ok = false;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return ok;
}
