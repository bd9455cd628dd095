/* fvecs.h — the TEXMEX .fvecs vector file format (benchmarks, `kith`
 * tools): each vector is a little-endian int32 dimension followed by that
 * many float32.  A parser of outside input: fuzzed (fuzz/fuzz_fvecs.c). */
#ifndef KITH_HIM_FVECS_H
#define KITH_HIM_FVECS_H

#include <stddef.h>

#include "core/status.h"

#define FVECS_MAX_DIM 4096

struct fvecs {
	float *v;      /* n × dim, owned */
	size_t n;
	int dim;
};

/* Parse len bytes; at most max_n vectors are kept (0 = all).  KITH_EINVAL
 * with *why naming the vector and byte offset for a truncated record, a
 * dimension ≤ 0 or > FVECS_MAX_DIM, a dimension that differs from the first
 * vector's, a non-finite value, or no vector at all. */
enum kith_status fvecs_parse(const void *data, size_t len, size_t max_n, struct fvecs *out,
			     char **why) KITH_MUST_CHECK;
/* The same from a file (KITH_EIO when it cannot be read). */
enum kith_status fvecs_read(const char *path, size_t max_n, struct fvecs *out, char **why)
	KITH_MUST_CHECK;
void fvecs_release(struct fvecs *f);

#endif
