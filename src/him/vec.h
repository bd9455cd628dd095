/* vec.h — vector kernels for HIM's semantic index (vindex*.c).
 *
 * Plain loops written so that GCC and clang auto-vectorise them (four or
 * eight independent accumulators, no aliasing, no early exits); the hot
 * ones are compiled twice (AVX2 and the baseline) with target_clones where
 * the toolchain supports it, so the binary stays portable without
 * -march=native.  Vectors are stored as int8 with one float scale each:
 * v[i] ≈ q[i] * scale, scale = max|v| / 127. */
#ifndef KITH_HIM_VEC_H
#define KITH_HIM_VEC_H

#include <stddef.h>
#include <stdint.h>

/* Σ a[i]·b[i]. */
float vec_dot(const float *a, const float *b, size_t n);
/* Σ (a[i]−b[i])². */
float vec_dist2(const float *a, const float *b, size_t n);
/* Scale v to unit length in place; returns the old norm (0: v left as is). */
float vec_normalize(float *v, size_t n);
/* Quantise v into q (n int8, rounded to nearest) and return the scale
 * (0 for the zero vector). */
float vec_quantize(const float *v, size_t n, int8_t *q);
/* out[i] = q[i]·scale. */
void vec_dequantize(const int8_t *q, float scale, size_t n, float *out);
/* Σ a[i]·q[i] (multiply by the vector's scale for the real dot product). */
float vec_dot_i8(const float *a, const int8_t *q, size_t n);
/* scores[j] = scales[j]·Σ a[i]·q[j·n + i] for m vectors stored one after
 * another: the leaf scan. */
void vec_dot_i8_many(const float *a, const int8_t *q, const float *scales, size_t n, size_t m,
		     float *scores);
/* acc[i] += q[i]·scale (centroid sums). */
void vec_axpy_i8(float *acc, const int8_t *q, float scale, size_t n);
/* acc[i] += a·x[i] (weighted centroid sums). */
void vec_axpy(float *acc, const float *x, float a, size_t n);

#endif
