/* vec.c — vector kernels for the semantic index (see vec.h).
 *
 * Written for the auto-vectoriser: fixed blocks of 16 lanes summed into
 * independent partial sums (so the compiler may keep them in vector
 * registers without needing -ffast-math to reassociate), then a scalar
 * tail.  The int8 dot converts each byte to float before multiplying,
 * which vectorises to cvtepi8→cvtdq2ps→fmadd with AVX2.  target_clones
 * gives an AVX2 copy picked at load time through an ifunc; it is left out
 * under the sanitizers and where the compiler lacks it. */
#include "him/vec.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
	!defined(__SANITIZE_THREAD__) && !defined(KITH_NO_CLONES)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer)
#define VEC_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#else
#define VEC_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef VEC_CLONES
#define VEC_CLONES
#endif

#define LANES 16

VEC_CLONES
float vec_dot(const float *restrict a, const float *restrict b, size_t n)
{
	float acc[LANES] = { 0 };
	size_t i = 0;
	float s = 0;

	for (; i + LANES <= n; i += LANES)
		for (int j = 0; j < LANES; j++)
			acc[j] += a[i + j] * b[i + j];
	for (; i < n; i++)
		s += a[i] * b[i];
	for (int j = 0; j < LANES; j++)
		s += acc[j];
	return s;
}

VEC_CLONES
float vec_dist2(const float *restrict a, const float *restrict b, size_t n)
{
	float acc[LANES] = { 0 };
	size_t i = 0;
	float s = 0;

	for (; i + LANES <= n; i += LANES)
		for (int j = 0; j < LANES; j++) {
			float d = a[i + j] - b[i + j];

			acc[j] += d * d;
		}
	for (; i < n; i++)
		s += (a[i] - b[i]) * (a[i] - b[i]);
	for (int j = 0; j < LANES; j++)
		s += acc[j];
	return s;
}

float vec_normalize(float *v, size_t n)
{
	float norm = sqrtf(vec_dot(v, v, n));

	if (norm > 0 && isfinite(norm)) {
		float inv = 1.0f / norm;

		for (size_t i = 0; i < n; i++)
			v[i] *= inv;
	}
	return norm;
}

float vec_quantize(const float *v, size_t n, int8_t *q)
{
	float mx = 0, scale, inv;

	for (size_t i = 0; i < n; i++) {
		float a = fabsf(v[i]);

		mx = a > mx ? a : mx;
	}
	if (!(mx > 0) || !isfinite(mx)) {
		for (size_t i = 0; i < n; i++)
			q[i] = 0;
		return 0;
	}
	scale = mx / 127.0f;
	inv = 127.0f / mx;
	for (size_t i = 0; i < n; i++) {
		float r = nearbyintf(v[i] * inv);

		q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
	}
	return scale;
}

void vec_dequantize(const int8_t *q, float scale, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (float)q[i] * scale;
}

VEC_CLONES
float vec_dot_i8(const float *restrict a, const int8_t *restrict q, size_t n)
{
	float acc[LANES] = { 0 };
	size_t i = 0;
	float s = 0;

	for (; i + LANES <= n; i += LANES)
		for (int j = 0; j < LANES; j++)
			acc[j] += a[i + j] * (float)q[i + j];
	for (; i < n; i++)
		s += a[i] * (float)q[i];
	for (int j = 0; j < LANES; j++)
		s += acc[j];
	return s;
}

void vec_dot_i8_many(const float *a, const int8_t *q, const float *scales, size_t n, size_t m,
		     float *scores)
{
	for (size_t j = 0; j < m; j++)
		scores[j] = scales[j] * vec_dot_i8(a, q + j * n, n);
}

VEC_CLONES
void vec_axpy_i8(float *restrict acc, const int8_t *restrict q, float scale, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc[i] += (float)q[i] * scale;
}

VEC_CLONES
void vec_axpy(float *restrict acc, const float *restrict x, float a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc[i] += a * x[i];
}
