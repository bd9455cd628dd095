/* fuzz_fvecs.c — the .fvecs reader (him/fvecs.c) on arbitrary bytes.
 *
 * Whatever fvecs_parse accepts must be consistent: a dimension in range,
 * at least one vector, every value finite, and exactly the records the
 * input holds; whatever it refuses must come with a reason. */
#include "him/fvecs.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fvecs f;
	char *why = NULL;

	for (size_t max_n = 0; max_n < 3; max_n += 2) {
		if (fvecs_parse(data, size, max_n, &f, &why) == KITH_OK) {
			if (f.dim < 1 || f.dim > FVECS_MAX_DIM || !f.n || !f.v ||
			    (max_n && f.n > max_n) ||
			    f.n * (4 + 4 * (size_t)f.dim) > size)
				abort();
			for (size_t i = 0; i < f.n * (size_t)f.dim; i++)
				if (!isfinite(f.v[i]))
					abort();
			if (!max_n && f.n * (4 + 4 * (size_t)f.dim) != size)
				abort();
			fvecs_release(&f);
		} else if (!why) {
			abort();
		}
		free(why);
		why = NULL;
	}
	return 0;
}
