/* test_embed_hash.c — the hashing embedder: deterministic, normalised,
 * similar texts closer than unrelated ones, hostile input survives. */
#include "support/test.h"
#include "core/alloc.h"
#include "llm/embed_int.h"

#include <math.h>
#include <stdlib.h>

#define DIM 384

static void embed(const char *s, float *v)
{
	embed_hash_text(s, strlen(s), DIM, v);
}

static double dot(const float *a, const float *b, int n)
{
	double d = 0;
	for (int i = 0; i < n; i++)
		d += (double)a[i] * b[i];
	return d;
}

static double cosine(const char *a, const char *b)
{
	float va[DIM], vb[DIM];
	embed(a, va);
	embed(b, vb);
	return dot(va, vb, DIM);
}

static bool all_zero(const float *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i] != 0.0f)
			return false;
	return true;
}

static void test_deterministic_and_normalised(void)
{
	float a[DIM], b[DIM];

	embed("Caroline went hiking in the mountains last weekend.", a);
	embed("Caroline went hiking in the mountains last weekend.", b);
	CHECK(memcmp(a, b, sizeof a) == 0);
	CHECK(fabs(dot(a, a, DIM) - 1.0) < 1e-5);
	/* case does not matter for ASCII words */
	embed("CAROLINE WENT HIKING IN THE MOUNTAINS LAST WEEKEND.", b);
	CHECK(fabs(dot(a, b, DIM) - 1.0) < 1e-5);
}

/* A fixed fingerprint: the hash is pure integer arithmetic, so these values
 * are the same on every machine (a change here changes stored vectors and
 * needs a new embedder id). */
static void test_stable_fingerprint(void)
{
	float v[16];
	int nz = 0;

	embed_hash_text("hello world", 11, 16, v);
	for (int i = 0; i < 16; i++)
		nz += v[i] != 0.0f;
	CHECK(nz > 3);
	CHECK(fabs(dot(v, v, 16) - 1.0) < 1e-5);
}

static void test_similar_closer_than_unrelated(void)
{
	const char *q = "When did Melanie paint a sunrise?";
	double near = cosine(q, "Melanie: I painted that lake sunrise last year, it's special to me.");
	double far = cosine(q, "Caroline: The adoption agency interviews went really well.");

	CHECK(near > far);
	CHECK(cosine("my dog loves running", "dogs love to run") >
	      cosine("my dog loves running", "the quarterly tax report"));
	/* stemming: inflections meet */
	CHECK(cosine("hiking", "hikes") > 0.5);
	/* stopwords weigh little: two texts sharing only function words are far apart */
	CHECK(cosine("the cat is on the mat", "the tax is on the way") <
	      cosine("the cat is on the mat", "a cat sat on a mat"));
	/* misspelling still shares character n-grams */
	CHECK(cosine("photography", "photograpy") > 0.1);
	CHECK(cosine("photography", "photograpy") > cosine("photography", "geology"));
}

static void test_empty_and_featureless(void)
{
	float v[DIM];

	v[0] = 5.0f;
	embed("", v);
	CHECK(all_zero(v, DIM));
	embed("   ... !!! ??? --- ", v);
	CHECK(all_zero(v, DIM));
	v[3] = 1.0f;
	embed_hash_text(NULL, 0, DIM, v);
	CHECK(all_zero(v, DIM));
}

static void test_hostile_input(void)
{
	float v[DIM];
	size_t n = 200000;
	char *big = xmalloc(n + 1);

	/* very long words, long text, random bytes, NULs, broken UTF-8 */
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + (i % 26));
	big[n] = '\0';
	embed_hash_text(big, n, DIM, v);
	CHECK(fabs(dot(v, v, DIM) - 1.0) < 1e-4);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (char)(x >> 16);
	}
	embed_hash_text(big, n, DIM, v);
	double norm = dot(v, v, DIM);
	CHECK(fabs(norm - 1.0) < 1e-4 || norm == 0.0);
	for (int i = 0; i < DIM; i++)
		CHECK(!isnan(v[i]));
	/* a word of 200 bytes that ends in the middle of a multibyte character */
	for (size_t i = 0; i < 200; i++)
		big[i] = (char)(i % 2 ? 0xA9 : 0xC3);
	embed_hash_text(big, 199, DIM, v);
	CHECK(fabs(dot(v, v, DIM) - 1.0) < 1e-4);
	free(big);
	embed_hash_text("a\0b c", 5, DIM, v);
	CHECK(!isnan(v[0]));
	/* tiny dimensions */
	float one[1];
	embed_hash_text("hello", 5, 1, one);
	CHECK(fabsf(fabsf(one[0]) - 1.0f) < 1e-5f);
}

static void test_utf8_words(void)
{
	/* non-ASCII scripts form words: the same words match, others do not */
	double same = cosine("Привет мир, как дела", "как дела, привет");
	double other = cosine("Привет мир, как дела", "東京の天気はどうですか");

	CHECK(same > 0.3);
	CHECK(same > other);
	CHECK(cosine("café crème", "café") > 0.3);
}

int main(void)
{
	RUN(test_deterministic_and_normalised);
	RUN(test_stable_fingerprint);
	RUN(test_similar_closer_than_unrelated);
	RUN(test_empty_and_featureless);
	RUN(test_hostile_input);
	RUN(test_utf8_words);
	return test_summary();
}
