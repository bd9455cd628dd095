/* embed_hash.c — the built-in hashing embedder ("hash-v1"): a text becomes
 * an L2-normalised signed feature-hashing vector, no model needed.
 *
 * Features, each with its own weight:
 *   - word tokens: ASCII letters and digits lowercased, every byte >= 0x80
 *     kept as a word character (so any UTF-8 script forms words), lightly
 *     stemmed (plural s, -ies, -ing, -ed) so "hiking"/"hikes"/"hiked" meet;
 *     common English function words count for much less than content words;
 *   - word bigrams of consecutive content words (stopwords skipped), which
 *     carry a little word order ("ice cream" vs "cream ice");
 *   - character n-grams (3..5 code points) of each content word with
 *     boundary marks, which tolerate typos and morphology the stemmer misses.
 * Repeated features get sublinear weight (1 + ln tf) so one word said five
 * times does not drown the rest.  The hash is 64-bit FNV-1a with a
 * splitmix64 finaliser and a per-kind seed: pure integer arithmetic, so
 * vectors are identical on every machine.  The bucket is h mod dim and the
 * sign is one high bit of h (signed hashing keeps collisions unbiased). */
#include "llm/embed_int.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define WORD_MAX 64              /* bytes of a word kept (longer words are cut) */

/* Feature-kind weights (relative; the vector is normalised at the end). */
#define W_WORD 1.0
#define W_STOP 0.15
#define W_BIGRAM 0.55
#define W_CHARS 0.45             /* per word, spread over its n-grams */
#define NGRAM_MIN 3
#define NGRAM_MAX 5

enum feat_kind { FK_WORD = 1, FK_BIGRAM = 2, FK_CHARS = 3 };

struct feat {
	uint64_t h;
	float w;
};

struct feats {
	struct feat *v;
	size_t n, cap;
};

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t hash_kind(enum feat_kind k, const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)k * 0x9e3779b97f4a7c15ULL);
	return mix64(fnv1a(h, p, n));
}

static void feats_push(struct feats *f, uint64_t h, double w)
{
	f->v = xgrow(f->v, &f->cap, f->n + 1, sizeof *f->v);
	f->v[f->n].h = h;
	f->v[f->n].w = (float)w;
	f->n++;
}

static bool is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

/* Sorted, so membership is a binary search. */
static const char *const stopwords[] = {
	"a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
	"at", "be", "been", "before", "being", "but", "by", "can", "could", "did", "do",
	"doe", "does", "doing", "don", "for", "from", "get", "got", "had", "has", "have",
	"having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into",
	"is", "it", "its", "just", "ll", "me", "might", "more", "most", "my", "no", "not",
	"now", "of", "on", "one", "or", "our", "out", "over", "re", "really", "s", "she",
	"should", "so", "some", "such", "t", "than", "that", "the", "their", "them", "then",
	"there", "these", "they", "thi", "this", "those", "to", "too", "up", "us", "ve",
	"very", "wa", "was", "we", "were", "what", "when", "where", "which", "while", "who",
	"whom", "why", "will", "with", "would", "yeah", "you", "your", "yours",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_stopword(const char *w)
{
	return bsearch(&w, stopwords, sizeof stopwords / sizeof stopwords[0],
		       sizeof stopwords[0], cmp_str) != NULL;
}

static bool is_vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

static bool has_vowel(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_vowel(w[i]))
			return true;
	return false;
}

static bool ends(const char *w, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && memcmp(w + n - k, suf, k) == 0;
}

/* A light English suffix stripper for ASCII words (others are left alone):
 * both documents and queries go through it, so only consistency matters. */
static size_t stem(char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)w[i] >= 0x80 || (w[i] >= '0' && w[i] <= '9'))
			return n;
	if (n > 4 && ends(w, n, "ies")) {
		w[n - 3] = 'y';
		n -= 2;
	} else if (n > 4 && ends(w, n, "sses")) {
		n -= 2;
	} else if (n > 3 && w[n - 1] == 's' && !ends(w, n, "ss") && !ends(w, n, "us") &&
		   !ends(w, n, "is")) {
		n -= 1;
	}
	if (n > 5 && ends(w, n, "ing") && has_vowel(w, n - 3)) {
		n -= 3;
	} else if (n > 4 && ends(w, n, "ed") && has_vowel(w, n - 2)) {
		n -= 2;
	} else {
		/* a final e goes too, so "hike", "hikes", "hiked", "hiking" meet */
		if (n > 3 && w[n - 1] == 'e')
			n--;
		return n;
	}
	/* "running" → "runn" → "run" */
	if (n > 2 && w[n - 1] == w[n - 2] && !is_vowel(w[n - 1]) && w[n - 1] != 'l' &&
	    w[n - 1] != 's' && w[n - 1] != 'z')
		n -= 1;
	return n;
}

/* Character n-grams of "<word>", counted in code points. */
static void add_char_ngrams(struct feats *f, const char *w, size_t n)
{
	char buf[WORD_MAX + 2];
	size_t starts[WORD_MAX + 3];
	size_t ncp = 0, len = n + 2;

	buf[0] = '<';
	memcpy(buf + 1, w, n);
	buf[n + 1] = '>';
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)buf[i] & 0xC0) != 0x80)
			starts[ncp++] = i;
	starts[ncp] = len;
	if (ncp < NGRAM_MIN)
		return;
	size_t total = 0;
	for (size_t g = NGRAM_MIN; g <= NGRAM_MAX; g++)
		if (ncp >= g)
			total += ncp - g + 1;
	double w1 = W_CHARS / sqrt((double)total);
	for (size_t g = NGRAM_MIN; g <= NGRAM_MAX; g++)
		for (size_t i = 0; i + g <= ncp; i++)
			feats_push(f, hash_kind(FK_CHARS, buf + starts[i], starts[i + g] - starts[i]),
				   w1);
}

static void add_bigram(struct feats *f, const char *a, size_t an, const char *b, size_t bn)
{
	char buf[2 * WORD_MAX + 1];

	memcpy(buf, a, an);
	buf[an] = ' ';
	memcpy(buf + an + 1, b, bn);
	feats_push(f, hash_kind(FK_BIGRAM, buf, an + 1 + bn), W_BIGRAM);
}

static int cmp_feat(const void *a, const void *b)
{
	const struct feat *x = a, *y = b;
	return x->h < y->h ? -1 : x->h > y->h;
}

static void collect(const char *text, size_t len, struct feats *f)
{
	char prev[WORD_MAX];
	size_t prevn = 0;
	size_t i = 0;

	while (i < len) {
		char w[WORD_MAX];
		size_t n = 0;

		while (i < len && !is_word_byte((unsigned char)text[i]))
			i++;
		if (i >= len)
			break;
		while (i < len && is_word_byte((unsigned char)text[i])) {
			unsigned char c = (unsigned char)text[i++];
			if (n < WORD_MAX)
				w[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		/* a cut word may end inside a UTF-8 sequence: drop the partial one */
		if (n == WORD_MAX) {
			size_t k = n;
			while (k > 0 && ((unsigned char)w[k - 1] & 0xC0) == 0x80)
				k--;
			if (k > 0 && (unsigned char)w[k - 1] >= 0xC0)
				n = k - 1;
		}
		if (n == 0 || (n == 1 && !(w[0] >= '0' && w[0] <= '9') &&
			       (unsigned char)w[0] < 0x80))
			continue;
		n = stem(w, n);
		char z[WORD_MAX + 1];
		memcpy(z, w, n);
		z[n] = '\0';
		if (is_stopword(z)) {
			feats_push(f, hash_kind(FK_WORD, w, n), W_STOP);
			continue;
		}
		feats_push(f, hash_kind(FK_WORD, w, n), W_WORD);
		add_char_ngrams(f, w, n);
		if (prevn)
			add_bigram(f, prev, prevn, w, n);
		memcpy(prev, w, n);
		prevn = n;
	}
}

void embed_hash_text(const char *text, size_t len, int dim, float *out)
{
	struct feats f = { 0 };
	double norm = 0;

	if (dim <= 0)
		return;
	memset(out, 0, (size_t)dim * sizeof *out);
	if (!text)
		return;
	collect(text, len, &f);
	if (f.n == 0)
		goto out;
	/* merge equal features: weight × (1 + ln tf) instead of weight × tf */
	qsort(f.v, f.n, sizeof *f.v, cmp_feat);
	for (size_t i = 0; i < f.n;) {
		size_t j = i;
		double wmax = 0;
		while (j < f.n && f.v[j].h == f.v[i].h) {
			if (f.v[j].w > wmax)
				wmax = f.v[j].w;
			j++;
		}
		double w = wmax * (1.0 + log((double)(j - i)));
		uint64_t h = f.v[i].h;
		size_t bucket = (size_t)(h % (uint64_t)dim);
		out[bucket] += (float)((h >> 63) ? -w : w);
		i = j;
	}
	for (int k = 0; k < dim; k++)
		norm += (double)out[k] * out[k];
	if (norm > 0) {
		double inv = 1.0 / sqrt(norm);
		for (int k = 0; k < dim; k++)
			out[k] = (float)(out[k] * inv);
	}
out:
	free(f.v);
}
