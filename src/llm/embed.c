/* embed.c — the embedder facade: one object over the hashing embedder
 * (embed_hash.c) and the embedding role's model (llm_embed()).
 *
 * Everything callers may rely on is enforced here rather than trusted to
 * the backend: texts are cut at EMBED_TEXT_MAX bytes on a UTF-8 boundary,
 * requests go in batches of EMBED_BATCH_MAX, every vector is L2-normalised
 * (a zero vector stays zero), and a model's dimension, learnt from its
 * first answer, never changes afterwards: an answer of another size is
 * KITH_EPROTO rather than a silent mix of incompatible vectors.  Retries
 * of transient failures (connection errors, 5xx, 429) belong to the LLM
 * layer (llm_http_do), so a failure reported here is final.
 *
 * The only mutable state is the learnt dimension, kept under a mutex; the
 * LLM client is thread-safe, so any number of threads may embed at once. */
#include "llm/embed.h"
#include "llm/embed_int.h"
#include "llm/llm.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/utf8.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#define HASH_DIM_MIN 16
#define HASH_DIM_MAX 4096
#define PROBE_TEXT "dimension probe"

enum embedder_kind { EMBEDDER_HASH, EMBEDDER_LLM };

struct embedder {
	enum embedder_kind kind;
	char *id;                  /* "hash-v1", "ollama/<model>", "openai/<model>" */
	struct llm_client *llm;    /* borrowed; EMBEDDER_LLM only */
	pthread_mutex_t mu;        /* guards dim */
	int dim;                   /* 0 = not known yet (a model not asked) */
};

static struct embedder *embedder_alloc(enum embedder_kind kind, char *id, int dim)
{
	struct embedder *e = xcalloc(1, sizeof(*e));

	e->kind = kind;
	e->id = id;
	e->dim = dim;
	pthread_mutex_init(&e->mu, NULL);
	return e;
}

struct embedder *embedder_hash_new(int dims)
{
	if (dims == 0)
		dims = EMBED_HASH_DIM;
	KITH_ASSERT(dims >= HASH_DIM_MIN && dims <= HASH_DIM_MAX);
	return embedder_alloc(EMBEDDER_HASH, xstrdup(EMBED_HASH_ID), dims);
}

enum kith_status embedder_llm_new(struct llm_client *c, struct embedder **out, char **why)
{
	const char *model = c ? llm_model(c, LLM_ROLE_EMBED) : NULL;
	const struct llm_config *cfg;

	*out = NULL;
	if (!c)
		return kith_why(why, KITH_EINVAL, "no LLM client to embed with");
	if (!model)
		return kith_why(why, KITH_ECONFIG, "no model is configured for the embed role "
				"(set OLLAMA_EMBEDDING_MODEL or MEMORY_EMBEDDING_MODEL)");
	cfg = llm_client_config(c);
	*out = embedder_alloc(EMBEDDER_LLM,
			      xasprintf("%s/%s", cfg->provider == LLM_PROVIDER_OLLAMA ? "ollama"
						 : "openai", model), 0);
	(*out)->llm = c;
	return KITH_OK;
}

enum kith_status embedder_from_config(const struct config *cfg, struct llm_client *c,
				      struct embedder **out, char **why)
{
	const char *ollama = config_str(cfg, CFG_OLLAMA_EMBEDDING_MODEL);
	const char *memory = config_str(cfg, CFG_MEMORY_EMBEDDING_MODEL);

	*out = NULL;
	if (!ollama && !memory) {
		*out = embedder_hash_new(0);
		return KITH_OK;
	}
	if (!c)
		return kith_why(why, KITH_EINVAL, "an embedding model is configured (%s) but no LLM "
				"client was given to reach it", ollama ? ollama : memory);
	/* config_llm() gives the OpenAI-compatible providers only
	 * MEMORY_EMBEDDING_MODEL; say so rather than silently hashing. */
	if (!llm_model(c, LLM_ROLE_EMBED))
		return kith_why(why, KITH_ECONFIG, "OLLAMA_EMBEDDING_MODEL is set but the %s "
				"provider takes its embedding model from MEMORY_EMBEDDING_MODEL",
				llm_provider_name(llm_client_config(c)->provider));
	return embedder_llm_new(c, out, why);
}

void embedder_free(struct embedder *e)
{
	if (!e)
		return;
	pthread_mutex_destroy(&e->mu);
	free(e->id);
	free(e);
}

const char *embedder_id(const struct embedder *e)
{
	return e->id;
}

int embedder_dim(struct embedder *e)
{
	int d;

	pthread_mutex_lock(&e->mu);
	d = e->dim;
	pthread_mutex_unlock(&e->mu);
	return d;
}

/* The first answer fixes the dimension; later ones must match it.  *dim
 * receives the dimension in force. */
static enum kith_status settle_dim(struct embedder *e, size_t got, int *dim, char **why)
{
	enum kith_status st = KITH_OK;

	pthread_mutex_lock(&e->mu);
	if (e->dim == 0 && got > 0 && got <= INT_MAX)
		e->dim = (int)got;
	if ((size_t)e->dim != got)
		st = kith_why(why, KITH_EPROTO, "embedding model %s answered with %zu-dimensional "
			      "vectors, but its vectors are %d-dimensional: the model behind the "
			      "name changed; re-index with the new model or configure the old one",
			      e->id, got, e->dim);
	*dim = e->dim;
	pthread_mutex_unlock(&e->mu);
	return st;
}

enum kith_status embedder_probe(struct embedder *e, char **why)
{
	const char *texts[] = { PROBE_TEXT };
	float *v = NULL;
	size_t got = 0;
	int dim;
	enum kith_status st;

	if (e->kind == EMBEDDER_HASH)
		return KITH_OK;
	st = llm_embed(e->llm, texts, 1, &v, &got, NULL, why);
	if (!st)
		st = settle_dim(e, got, &dim, why);
	if (!st)
		log_debug("llm", "embedder %s: %d dimensions", e->id, dim);
	free(v);
	return st;
}

/* Bytes of s that are embedded: at most EMBED_TEXT_MAX, never splitting
 * a UTF-8 sequence (a cut lands before the lead byte of the character it
 * would split). */
static size_t cut_len(const char *s)
{
	return utf8_prefix(s, strnlen(s, EMBED_TEXT_MAX + 1), EMBED_TEXT_MAX);
}

/* L2-normalise in place; a zero (or non-finite) vector becomes zeros. */
static void normalise(float *v, int dim)
{
	double sum = 0;

	for (int i = 0; i < dim; i++)
		sum += (double)v[i] * v[i];
	if (!(sum > 0) || !isfinite(sum)) {
		memset(v, 0, (size_t)dim * sizeof(*v));
		return;
	}
	sum = sqrt(sum);
	for (int i = 0; i < dim; i++)
		v[i] = (float)(v[i] / sum);
}

static void embed_hash(struct embedder *e, const char *const *texts, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++) {
		const char *t = texts[i] ? texts[i] : "";

		embed_hash_text(t, cut_len(t), e->dim, out + i * (size_t)e->dim);
		normalise(out + i * (size_t)e->dim, e->dim);
	}
}

/* One request of at most EMBED_BATCH_MAX texts into out[n*dim]. */
static enum kith_status embed_batch(struct embedder *e, const char *const *texts, size_t n,
				    int dim, float *out, const struct cancel *cancel, char **why)
{
	const char *batch[EMBED_BATCH_MAX];
	char *owned[EMBED_BATCH_MAX] = { 0 };
	float *v = NULL;
	size_t got = 0;
	int fixed;
	enum kith_status st;

	for (size_t i = 0; i < n; i++) {
		const char *t = texts[i] ? texts[i] : "";
		size_t len = cut_len(t);

		batch[i] = t;
		if (t[len])
			batch[i] = owned[i] = xstrndup(t, len);
	}
	st = llm_embed(e->llm, batch, n, &v, &got, cancel, why);
	if (!st)
		st = settle_dim(e, got, &fixed, why);
	if (!st && fixed != dim)   /* another thread fixed it since we looked */
		st = kith_why(why, KITH_EPROTO, "embedding model %s changed dimension from %d "
			      "to %d during the call", e->id, dim, fixed);
	if (!st) {
		memcpy(out, v, n * (size_t)dim * sizeof(*out));
		for (size_t i = 0; i < n; i++)
			normalise(out + i * (size_t)dim, dim);
	}
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(v);
	return st;
}

enum kith_status embedder_embed(struct embedder *e, const char *const *texts, size_t n,
				float *out, const struct cancel *cancel, char **why)
{
	enum kith_status st = KITH_OK;
	int dim = embedder_dim(e);

	if (n == 0)
		return KITH_OK;
	if (e->kind == EMBEDDER_HASH) {
		embed_hash(e, texts, n, out);
		return KITH_OK;
	}
	if (dim == 0)
		return kith_why(why, KITH_EINVAL, "embedder %s: dimension not known yet "
				"(call embedder_probe first)", e->id);
	for (size_t at = 0; !st && at < n; at += EMBED_BATCH_MAX) {
		size_t nb = n - at < EMBED_BATCH_MAX ? n - at : EMBED_BATCH_MAX;

		if (cancel_requested(cancel))
			st = kith_why(why, KITH_ECANCELED, "embedding was cancelled");
		else
			st = embed_batch(e, texts + at, nb, dim, out + at * (size_t)dim, cancel,
					 why);
	}
	return st;
}
