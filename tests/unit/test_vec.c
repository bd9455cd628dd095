/* test_vec.c — the vector kernels against naive double-precision loops,
 * at lengths that exercise the vector blocks and the scalar tails. */
#include "support/test.h"
#include "him/vec.h"

#include <math.h>
#include <stdlib.h>

static uint64_t rng = 0x243f6a8885a308d3u;

static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* up to HIM_VINDEX_MAX_DIM (4096): 768, 1536 are common embedding widths */
static const size_t lens[] = { 0, 1, 3, 15, 16, 17, 31, 64, 100, 384, 512, 768, 1536, 4096 };
#define MAXLEN 4096
#define NLENS (sizeof(lens) / sizeof(lens[0]))

static bool close_to(double a, double b, double tol)
{
	return fabs(a - b) <= tol * (1 + fabs(b));
}

static void test_dot_and_dist(void)
{
	static float a[MAXLEN], b[MAXLEN];

	for (size_t k = 0; k < NLENS; k++) {
		size_t n = lens[k];
		double dot = 0, d2 = 0;

		for (size_t i = 0; i < n; i++) {
			a[i] = frand();
			b[i] = frand();
			dot += (double)a[i] * b[i];
			d2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
		}
		CHECK(close_to(vec_dot(a, b, n), dot, 1e-5));
		CHECK(close_to(vec_dist2(a, b, n), d2, 1e-5));
	}
}

static void test_normalize(void)
{
	float v[384], zero[8] = { 0 };

	for (size_t i = 0; i < 384; i++)
		v[i] = frand() * 10;
	CHECK(vec_normalize(v, 384) > 1);
	CHECK(close_to(vec_dot(v, v, 384), 1.0, 1e-5));
	CHECK(vec_normalize(zero, 8) == 0);
	CHECK(zero[3] == 0);
}

static void test_quantize(void)
{
	static float v[MAXLEN], back[MAXLEN], q[MAXLEN];
	static int8_t iv[MAXLEN];
	float zero[4] = { 0 };
	int8_t iz[4];

	for (size_t k = 0; k < NLENS; k++) {
		size_t n = lens[k];
		float scale;
		double naive = 0;

		if (!n)
			continue;
		for (size_t i = 0; i < n; i++) {
			v[i] = frand();
			q[i] = frand();
		}
		vec_normalize(v, n);
		scale = vec_quantize(v, n, iv);
		CHECK(scale > 0);
		vec_dequantize(iv, scale, n, back);
		for (size_t i = 0; i < n; i++) {
			CHECK(fabsf(back[i] - v[i]) <= scale * 0.5f + 1e-6f);
			CHECK(iv[i] >= -127 && iv[i] <= 127);
			naive += (double)q[i] * iv[i];
		}
		CHECK(close_to(vec_dot_i8(q, iv, n), naive, 1e-5));
		/* the quantised dot stays close to the float one */
		CHECK(fabs(scale * vec_dot_i8(q, iv, n) - vec_dot(q, v, n)) < 0.02 * sqrt((double)n));
	}
	CHECK(vec_quantize(zero, 4, iz) == 0);
	CHECK(iz[0] == 0 && iz[3] == 0);
}

static void test_many_and_axpy(void)
{
	enum { N = 100, M = 7 };
	float q[N], scales[M], scores[M], acc[N] = { 0 };
	int8_t v[M * N];

	for (int i = 0; i < N; i++)
		q[i] = frand();
	for (int j = 0; j < M; j++) {
		scales[j] = 0.01f * (float)(j + 1);
		for (int i = 0; i < N; i++)
			v[j * N + i] = (int8_t)(frand() * 127);
	}
	vec_dot_i8_many(q, v, scales, N, M, scores);
	for (int j = 0; j < M; j++) {
		double naive = 0;

		for (int i = 0; i < N; i++)
			naive += (double)q[i] * v[j * N + i];
		CHECK(close_to(scores[j], naive * scales[j], 1e-5));
		/* identical to the single-vector kernel, bit for bit */
		CHECK(scores[j] == scales[j] * vec_dot_i8(q, v + j * N, N));
	}
	vec_axpy_i8(acc, v, 0.5f, N);
	vec_axpy_i8(acc, v + N, 0.25f, N);
	for (int i = 0; i < N; i++)
		CHECK(close_to(acc[i], 0.5 * v[i] + 0.25 * v[N + i], 1e-6));
	/* the float axpy (weighted centroid sums) */
	{
		float x[N], acc2[N];

		for (int i = 0; i < N; i++) {
			x[i] = frand();
			acc2[i] = acc[i];
		}
		vec_axpy(acc2, x, 3.0f, N);
		for (int i = 0; i < N; i++)
			CHECK(close_to(acc2[i], (double)acc[i] + 3.0 * x[i], 1e-6));
	}
}

int main(void)
{
	RUN(test_dot_and_dist);
	RUN(test_normalize);
	RUN(test_quantize);
	RUN(test_many_and_axpy);
	return test_summary();
}
