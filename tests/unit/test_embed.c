/* test_embed.c — the embedder facade (llm/embed.c): the hashing embedder,
 * the embedding role's model through the fake server in both dialects
 * (batching with order kept, a dimension fixed by the first answer, failures
 * in words, truncation on a UTF-8 boundary, normalisation), the choice made
 * from the configuration, and concurrent use. */
#include "config/config.h"
#include "core/alloc.h"
#include "core/json.h"
#include "fakes/fake_llm.h"
#include "llm/embed.h"
#include "llm/llm.h"
#include "support/llm_testing.h"
#include "support/test.h"

#include <math.h>
#include <pthread.h>

static struct fake_llm *fake;

static struct llm_client *client_at(enum llm_provider p, const char *url, const char *model)
{
	struct llm_config cfg;
	struct llm_client *c;

	llm_config_init(&cfg);
	cfg.provider = p;
	cfg.base_url = xstrdup(url);
	cfg.models[LLM_ROLE_MAIN] = xstrdup("llama3.2");
	cfg.models[LLM_ROLE_EMBED] = xstrdup(model);
	cfg.timeout_ms = 20000;
	cfg.connect_timeout_ms = 5000;
	cfg.max_attempts = 3;
	cfg.retry_base_ms = 5;
	cfg.retry_max_ms = 40;
	c = llm_client_new(&cfg);
	llm_config_release(&cfg);
	return c;
}

static double norm(const float *v, int dim)
{
	double s = 0;

	for (int i = 0; i < dim; i++)
		s += (double)v[i] * v[i];
	return sqrt(s);
}

static bool same_vec(const float *a, const float *b, int dim, double tol)
{
	for (int i = 0; i < dim; i++)
		if (fabs((double)a[i] - b[i]) > tol)
			return false;
	return true;
}

/* Embed paths the fake received since request `from`. */
static size_t embed_requests_since(size_t from, const char *path)
{
	size_t n = 0;

	for (size_t i = from; i < fake_llm_request_count(fake); i++) {
		char *p = fake_llm_request_path(fake, i);

		n += p && strcmp(p, path) == 0;
		free(p);
	}
	return n;
}

/* ---- hashing ---------------------------------------------------------- */

static void test_hash_basics(void)
{
	struct embedder *e = embedder_hash_new(0);
	const char *texts[] = { "the cat sat on the mat", "the cat sat on the mat",
				"quarterly tax filing deadline", "" };
	float *v = xcalloc(4 * EMBED_HASH_DIM, sizeof(float));
	char *why = NULL;

	CHECK_STR(embedder_id(e), "hash-v1");
	CHECK_EQ(embedder_dim(e), EMBED_HASH_DIM);
	CHECK_EQ(embedder_probe(e, &why), KITH_OK);
	CHECK_EQ(embedder_embed(e, texts, 4, v, NULL, &why), KITH_OK);
	CHECK(fabs(norm(v, EMBED_HASH_DIM) - 1.0) < 1e-5);
	CHECK(same_vec(v, v + EMBED_HASH_DIM, EMBED_HASH_DIM, 0));
	CHECK(!same_vec(v, v + 2 * EMBED_HASH_DIM, EMBED_HASH_DIM, 1e-3));
	CHECK(norm(v + 3 * EMBED_HASH_DIM, EMBED_HASH_DIM) == 0);   /* zero stays zero */
	CHECK(why == NULL);
	free(v);
	embedder_free(e);

	e = embedder_hash_new(64);
	CHECK_EQ(embedder_dim(e), 64);
	CHECK_STR(embedder_id(e), "hash-v1");
	embedder_free(e);
}

/* Texts are cut at EMBED_TEXT_MAX bytes, never inside a UTF-8 sequence:
 * the hashing embedder is deterministic, so a cut text embeds exactly as
 * its cut prefix does. */
static void test_truncation(void)
{
	struct embedder *e = embedder_hash_new(0);
	size_t n = EMBED_TEXT_MAX + 500;
	char *longer = xmalloc(n + 1), *prefix, *utf8, *utf8_prefix;
	const char *texts[4];
	float *v = xcalloc(4 * EMBED_HASH_DIM, sizeof(float));
	char *why = NULL;

	for (size_t i = 0; i < n; i++)
		longer[i] = i % 6 == 5 ? ' ' : (char)('a' + (i / 6) % 26);
	longer[n] = '\0';
	prefix = xstrndup(longer, EMBED_TEXT_MAX);
	/* "é" (2 bytes) straddling the limit: the cut drops all of it. */
	utf8 = xstrdup(longer);
	utf8[EMBED_TEXT_MAX - 1] = (char)0xC3;
	utf8[EMBED_TEXT_MAX] = (char)0xA9;
	utf8_prefix = xstrndup(utf8, EMBED_TEXT_MAX - 1);
	texts[0] = longer;
	texts[1] = prefix;
	texts[2] = utf8;
	texts[3] = utf8_prefix;
	CHECK_EQ(embedder_embed(e, texts, 4, v, NULL, &why), KITH_OK);
	CHECK(same_vec(v, v + EMBED_HASH_DIM, EMBED_HASH_DIM, 0));
	CHECK(same_vec(v + 2 * EMBED_HASH_DIM, v + 3 * EMBED_HASH_DIM, EMBED_HASH_DIM, 0));
	free(v);
	free(longer);
	free(prefix);
	free(utf8);
	free(utf8_prefix);
	embedder_free(e);
}

/* ---- a model ---------------------------------------------------------- */

static void check_batching(enum llm_provider prov, const char *path, const char *id)
{
	struct llm_client *c = client_at(prov, fake_llm_url(fake), "nomic-embed-text");
	struct embedder *e = NULL;
	enum { N = 150, DIM = 16 };
	char *texts[N];
	float *v = xcalloc((size_t)N * DIM, sizeof(float)), *one = NULL;
	size_t before, dim = 0;
	char *why = NULL;

	fake_llm_set_embed_dim(fake, DIM);
	REQUIRE(embedder_llm_new(c, &e, &why) == KITH_OK);
	CHECK_STR(embedder_id(e), id);
	CHECK_EQ(embedder_dim(e), 0);
	/* Not probed yet: the caller cannot size `out`. */
	CHECK_EQ(embedder_embed(e, (const char *const *)texts, 1, v, NULL, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "embedder_probe");
	free(why);
	why = NULL;
	CHECK_EQ(embedder_probe(e, &why), KITH_OK);
	CHECK_EQ(embedder_dim(e), DIM);

	for (int i = 0; i < N; i++)
		texts[i] = xasprintf("text number %d", i);
	before = fake_llm_request_count(fake);
	CHECK_EQ(embedder_embed(e, (const char *const *)texts, N, v, NULL, &why), KITH_OK);
	CHECK(why == NULL);
	CHECK_EQ(embed_requests_since(before, path), 3);
	/* Order kept: batch k carries texts [64k, 64k + 64). */
	for (size_t r = 0; r < 3; r++) {
		json_t *req = fake_llm_request_json(fake, before + r);
		json_t *in = kjson_arr(req, "input");

		CHECK_EQ(json_array_size(in), r < 2 ? EMBED_BATCH_MAX : N - 2 * EMBED_BATCH_MAX);
		CHECK_STR(json_string_value(json_array_get(in, 0)), texts[r * EMBED_BATCH_MAX]);
		CHECK_STR(kjson_str(req, "model"), "nomic-embed-text");
		json_decref(req);
	}
	/* Each vector is the one the model gives for its own text. */
	for (int i = 0; i < N; i += 37) {
		const char *t[] = { texts[i] };

		REQUIRE(llm_embed(c, t, 1, &one, &dim, NULL, &why) == KITH_OK);
		CHECK_EQ(dim, DIM);
		CHECK(same_vec(v + (size_t)i * DIM, one, DIM, 1e-6));
		CHECK(fabs(norm(v + (size_t)i * DIM, DIM) - 1.0) < 1e-5);
		free(one);
	}
	for (int i = 0; i < N; i++)
		free(texts[i]);
	free(v);
	embedder_free(e);
	llm_client_free(c);
	fake_llm_set_embed_dim(fake, 0);
}

static void test_batching_ollama(void)
{
	check_batching(LLM_PROVIDER_OLLAMA, "/api/embed", "ollama/nomic-embed-text");
}

/* The dimension learnt first is kept: a model answering with another one
 * later is refused, not mixed in. */
static void test_dimension_fixed(void)
{
	struct llm_client *c = client_at(LLM_PROVIDER_OLLAMA, fake_llm_url(fake), "all-minilm");
	struct embedder *e = NULL;
	const char *texts[] = { "a", "b" };
	float v[2 * 12];
	char *why = NULL;

	fake_llm_set_embed_dim(fake, 12);
	REQUIRE(embedder_llm_new(c, &e, &why) == KITH_OK);
	CHECK_EQ(embedder_probe(e, &why), KITH_OK);
	CHECK_EQ(embedder_dim(e), 12);
	fake_llm_set_embed_dim(fake, 10);
	CHECK_EQ(embedder_embed(e, texts, 2, v, NULL, &why), KITH_EPROTO);
	CHECK_CONTAINS(why, "10-dimensional");
	CHECK_CONTAINS(why, "12-dimensional");
	free(why);
	why = NULL;
	CHECK_EQ(embedder_probe(e, &why), KITH_EPROTO);
	CHECK_EQ(embedder_dim(e), 12);
	free(why);
	why = NULL;
	fake_llm_set_embed_dim(fake, 12);
	CHECK_EQ(embedder_embed(e, texts, 2, v, NULL, &why), KITH_OK);
	embedder_free(e);
	llm_client_free(c);
	fake_llm_set_embed_dim(fake, 0);
}

/* The model's vectors are normalised here whatever their length; a zero
 * vector stays zero. */
static void test_normalisation(void)
{
	struct llm_client *c = client_at(LLM_PROVIDER_OLLAMA, fake_llm_url(fake), "all-minilm");
	struct embedder *e = NULL;
	const char *texts[] = { "scaled up" };
	float v[8];
	char *why = NULL;

	REQUIRE(embedder_llm_new(c, &e, &why) == KITH_OK);
	CHECK_EQ(embedder_probe(e, &why), KITH_OK);
	fake_llm_set_embed_scale(fake, 7.5);
	CHECK_EQ(embedder_embed(e, texts, 1, v, NULL, &why), KITH_OK);
	CHECK(fabs(norm(v, 8) - 1.0) < 1e-5);
	fake_llm_set_embed_scale(fake, 0);
	CHECK_EQ(embedder_embed(e, texts, 1, v, NULL, &why), KITH_OK);
	CHECK(norm(v, 8) == 0);
	fake_llm_set_embed_scale(fake, 1.0);
	embedder_free(e);
	llm_client_free(c);
}

/* Retries of transient failures come from the LLM layer; what is left is
 * reported in words. */
static void test_failures(void)
{
	struct llm_client *c = client_at(LLM_PROVIDER_OLLAMA, fake_llm_url(fake), "all-minilm");
	struct llm_client *dead;
	struct embedder *e = NULL, *d = NULL;
	const char *texts[] = { "x" };
	float v[8];
	size_t before;
	char *why = NULL;

	REQUIRE(embedder_llm_new(c, &e, &why) == KITH_OK);
	CHECK_EQ(embedder_probe(e, &why), KITH_OK);

	/* One 503: retried, nobody notices. */
	fake_llm_fail_embeds(fake, 503, 1);
	before = fake_llm_request_count(fake);
	CHECK_EQ(embedder_embed(e, texts, 1, v, NULL, &why), KITH_OK);
	CHECK_EQ(embed_requests_since(before, "/api/embed"), 2);

	/* 500 every time: a clear sentence after the configured attempts. */
	fake_llm_fail_embeds(fake, 500, 100);
	CHECK_EQ(embedder_embed(e, texts, 1, v, NULL, &why), KITH_EHTTP);
	CHECK_CONTAINS(why, "HTTP 500");
	CHECK_CONTAINS(why, "Ollama at http://127.0.0.1:");
	CHECK_CONTAINS(why, "3 attempts");
	free(why);
	why = NULL;
	fake_llm_fail_embeds(fake, 0, 0);

	/* Nothing listening. */
	{
		char *url = xasprintf("http://127.0.0.1:%d", llm_test_closed_port());

		dead = client_at(LLM_PROVIDER_OLLAMA, url, "all-minilm");
		free(url);
	}
	REQUIRE(embedder_llm_new(dead, &d, &why) == KITH_OK);
	CHECK_EQ(embedder_probe(d, &why), KITH_ECONNECT);
	CHECK_CONTAINS(why, "cannot reach Ollama");
	free(why);
	why = NULL;
	CHECK_EQ(embedder_dim(d), 0);

	/* No embedding model configured. */
	{
		struct llm_client *none = client_at(LLM_PROVIDER_OLLAMA, fake_llm_url(fake), NULL);
		struct embedder *x = NULL;

		CHECK_EQ(embedder_llm_new(none, &x, &why), KITH_ECONFIG);
		CHECK(x == NULL);
		CHECK_CONTAINS(why, "embed");
		free(why);
		why = NULL;
		llm_client_free(none);
	}
	embedder_free(d);
	embedder_free(e);
	llm_client_free(dead);
	llm_client_free(c);
}

/* ---- configuration ---------------------------------------------------- */

static struct config *load(const char *const *extra)
{
	const char *envp[8];
	char *data = test_path("cfgdata");
	char *dd = xasprintf("KITH_DATA_DIR=%s", data);
	struct config *cfg = NULL;
	size_t n = 0;
	char *why = NULL;

	envp[n++] = dd;
	for (size_t i = 0; extra && extra[i]; i++)
		envp[n++] = extra[i];
	envp[n] = NULL;
	if (config_load(&cfg, envp, test_tmpdir(), &why) != KITH_OK)
		test_fail_(__FILE__, __LINE__, "config_load: %s", why ? why : "?");
	free(why);
	free(dd);
	free(data);
	return cfg;
}

static struct llm_client *client_for(const struct config *cfg)
{
	struct llm_config lc;
	struct llm_client *c;
	char *why = NULL;

	if (config_llm(cfg, &lc, &why) != KITH_OK) {
		test_fail_(__FILE__, __LINE__, "config_llm: %s", why ? why : "?");
		free(why);
		return NULL;
	}
	c = llm_client_new(&lc);
	llm_config_release(&lc);
	return c;
}

static void test_from_config(void)
{
	struct config *cfg = load(NULL);
	struct llm_client *c;
	struct embedder *e = NULL;
	char *why = NULL;

	REQUIRE(cfg);
	/* Nothing set: hashing, no client needed. */
	CHECK_EQ(embedder_from_config(cfg, NULL, &e, &why), KITH_OK);
	CHECK_STR(embedder_id(e), "hash-v1");
	CHECK_EQ(embedder_dim(e), EMBED_HASH_DIM);
	embedder_free(e);
	config_free(cfg);

	{
		char *url = xasprintf("OLLAMA_API_URL=%s", fake_llm_url(fake));
		const char *env[] = { url, "OLLAMA_EMBEDDING_MODEL=nomic-embed-text", NULL };

		cfg = load(env);
		free(url);
	}
	REQUIRE(cfg);
	CHECK_EQ(embedder_from_config(cfg, NULL, &e, &why), KITH_EINVAL);
	CHECK_CONTAINS(why, "nomic-embed-text");
	free(why);
	why = NULL;
	c = client_for(cfg);
	CHECK_EQ(embedder_from_config(cfg, c, &e, &why), KITH_OK);
	CHECK_STR(embedder_id(e), "ollama/nomic-embed-text");
	CHECK_EQ(embedder_probe(e, &why), KITH_OK);
	CHECK_EQ(embedder_dim(e), 8);
	embedder_free(e);
	llm_client_free(c);
	config_free(cfg);

	/* OpenAI-compatible providers read MEMORY_EMBEDDING_MODEL only. */
	{
		const char *env[] = { "LLM_PROVIDER=openai", "OPENROUTER_BASE_URL=http://127.0.0.1:1/v1",
				      "OLLAMA_EMBEDDING_MODEL=nomic-embed-text", NULL };

		cfg = load(env);
	}
	REQUIRE(cfg);
	c = client_for(cfg);
	CHECK_EQ(embedder_from_config(cfg, c, &e, &why), KITH_ECONFIG);
	CHECK_CONTAINS(why, "MEMORY_EMBEDDING_MODEL");
	free(why);
	why = NULL;
	llm_client_free(c);
	config_free(cfg);
	{
		const char *env[] = { "LLM_PROVIDER=openai", "OPENROUTER_BASE_URL=http://127.0.0.1:1/v1",
				      "MEMORY_EMBEDDING_MODEL=text-embedding-3-small", NULL };

		cfg = load(env);
	}
	REQUIRE(cfg);
	c = client_for(cfg);
	CHECK_EQ(embedder_from_config(cfg, c, &e, &why), KITH_OK);
	CHECK_STR(embedder_id(e), "openai/text-embedding-3-small");
	embedder_free(e);
	llm_client_free(c);
	config_free(cfg);
}

/* ---- threads ---------------------------------------------------------- */

struct worker {
	struct embedder *e;
	int dim;
	enum kith_status st;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char *texts[70];
	float *v = xcalloc(70 * (size_t)w->dim, sizeof(float));
	char *why = NULL;

	for (int i = 0; i < 70; i++)
		texts[i] = xasprintf("worker text %d", i);
	w->st = embedder_embed(w->e, (const char *const *)texts, 70, v, NULL, &why);
	for (int i = 0; i < 70; i++)
		free(texts[i]);
	free(why);
	free(v);
	return NULL;
}

static void test_threads(void)
{
	struct llm_client *c = client_at(LLM_PROVIDER_OLLAMA, fake_llm_url(fake), "all-minilm");
	struct embedder *m = NULL, *h = embedder_hash_new(0);
	struct worker w[6];
	pthread_t t[6];
	char *why = NULL;

	REQUIRE(embedder_llm_new(c, &m, &why) == KITH_OK);
	REQUIRE(embedder_probe(m, &why) == KITH_OK);
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){ .e = i % 2 ? h : m, .dim = i % 2 ? EMBED_HASH_DIM : 8 };
		REQUIRE(pthread_create(&t[i], NULL, work, &w[i]) == 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].st, KITH_OK);
	}
	embedder_free(m);
	embedder_free(h);
	llm_client_free(c);
}

/* ---- OpenAI-compatible ------------------------------------------------ */

static void test_batching_openai(void)
{
	check_batching(LLM_PROVIDER_OPENAI, "/v1/embeddings", "openai/nomic-embed-text");
}

int main(void)
{
	fake = fake_llm_start(FAKE_LLM_OLLAMA);
	if (!fake)
		return 1;
	RUN(test_hash_basics);
	RUN(test_truncation);
	RUN(test_batching_ollama);
	RUN(test_dimension_fixed);
	RUN(test_normalisation);
	RUN(test_failures);
	RUN(test_from_config);
	RUN(test_threads);
	fake_llm_stop(fake);

	fake = fake_llm_start(FAKE_LLM_OPENAI);
	if (!fake)
		return 1;
	RUN(test_batching_openai);
	fake_llm_stop(fake);
	return test_summary();
}
