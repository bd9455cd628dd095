/* fvecs.c — reading TEXMEX .fvecs files (see fvecs.h).
 *
 * The input is untrusted: every length is checked before it is used, the
 * dimension is capped, sizes are computed with overflow checks, and the
 * output is allocated only after the whole input has been validated, so a
 * hostile header cannot make us allocate more than the file's own size. */
#include "him/fvecs.h"
#include "core/alloc.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fvecs_release(struct fvecs *f)
{
	if (!f)
		return;
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int32_t le32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			 (uint32_t)p[3] << 24);
}

static float lef32(const unsigned char *p)
{
	uint32_t u = (uint32_t)le32(p);
	float f;

	memcpy(&f, &u, 4);
	return f;
}

enum kith_status fvecs_parse(const void *data, size_t len, size_t max_n, struct fvecs *out,
			     char **why)
{
	const unsigned char *p = data;
	size_t off = 0, n = 0, rec;
	int dim = 0;

	memset(out, 0, sizeof(*out));
	if (!p && len)
		return kith_why(why, KITH_EINVAL, "no data");
	/* pass 1: validate every record */
	while (off < len && (!max_n || n < max_n)) {
		int32_t d;

		if (len - off < 4)
			return kith_why(why, KITH_EINVAL,
					"vector %zu at byte %zu: truncated dimension", n, off);
		d = le32(p + off);
		if (d <= 0 || d > FVECS_MAX_DIM)
			return kith_why(why, KITH_EINVAL,
					"vector %zu at byte %zu: dimension %d is outside 1..%d", n,
					off, (int)d, FVECS_MAX_DIM);
		if (dim && d != dim)
			return kith_why(why, KITH_EINVAL,
					"vector %zu at byte %zu: dimension %d, the file's is %d", n, off,
					(int)d, dim);
		dim = d;
		rec = 4 + 4 * (size_t)d;
		if (len - off < rec)
			return kith_why(why, KITH_EINVAL,
					"vector %zu at byte %zu: truncated (%zu of %zu bytes)", n, off,
					len - off, rec);
		for (int i = 0; i < d; i++)
			if (!isfinite(lef32(p + off + 4 + 4 * (size_t)i)))
				return kith_why(why, KITH_EINVAL,
						"vector %zu at byte %zu: component %d is not finite", n,
						off, i);
		off += rec;
		n++;
	}
	if (!n)
		return kith_why(why, KITH_EINVAL, "no vectors");
	/* pass 2: copy (n × dim floats fit: they came from len bytes) */
	out->v = xmalloc(n * (size_t)dim * sizeof(float));
	out->n = n;
	out->dim = dim;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < dim; j++)
			out->v[i * (size_t)dim + (size_t)j] =
				lef32(p + i * (4 + 4 * (size_t)dim) + 4 + 4 * (size_t)j);
	return KITH_OK;
}

enum kith_status fvecs_read(const char *path, size_t max_n, struct fvecs *out, char **why)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t len = 0, cap = 0, got;
	enum kith_status rc;

	memset(out, 0, sizeof(*out));
	if (!f)
		return kith_why(why, KITH_EIO, "%s: %s", path, strerror(errno));
	do {
		data = xgrow(data, &cap, len + (1 << 20), 1);
		got = fread(data + len, 1, cap - len, f);
		len += got;
	} while (got);
	if (ferror(f)) {
		fclose(f);
		free(data);
		return kith_why(why, KITH_EIO, "%s: read error", path);
	}
	fclose(f);
	rc = fvecs_parse(data, len, max_n, out, why);
	if (rc && why && *why) {
		char *inner = *why;

		*why = xasprintf("%s: %s", path, inner);
		free(inner);
	}
	free(data);
	return rc;
}
