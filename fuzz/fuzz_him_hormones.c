/* fuzz_him_hormones.c — the PUT /v1/hormones body parser and the channel
 * id → snapshot mapping (him/hormones.c), both fed untrusted bytes.
 *
 * Besides "no crash, no sanitizer report, no leak": an error is KITH_EINVAL
 * with a "field: reason" why; a parsed body names at least one of the
 * eight hormones, every level finite in [0, 1], at_ms within range, and
 * its levels serialise; a channel id either is refused (KITH_EINVAL) or
 * maps — the same way twice — to a valid HIM name. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "him/hormones.h"
#include "fuzz_him.h"

static void put_body(const char *p, size_t n)
{
	struct him_hormones_put_body b;
	char *why = NULL;
	enum kith_status st = him_hormones_parse_put(p, n, &b, &why);

	if (!st) {
		json_t *j;
		char *text;

		if (!b.levels.present || (b.levels.present >> HIM_HORMONES))
			abort();
		for (int i = 0; i < HIM_HORMONES; i++)
			if ((b.levels.present & (1u << i)) &&
			    (!isfinite(b.levels.v[i]) || b.levels.v[i] < 0 || b.levels.v[i] > 1))
				abort();
		if (b.has_at && (b.at_ms < 0 || b.at_ms > HIM_HORMONE_AT_MAX))
			abort();
		j = him_hormone_levels_json(&b.levels);
		text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (!text || json_object_size(j) == 0)
			abort();
		free(text);
		json_decref(j);
	}
	fuzz_him_check_status(st, why);
}

static void channel_id(const char *p, size_t n)
{
	char *id = malloc(n + 1), a[HIM_NAME_MAX + 1], b[HIM_NAME_MAX + 1];
	char *why = NULL;
	enum kith_status st;

	if (!id)
		return;
	memcpy(id, p, n);
	id[n] = '\0';
	st = him_hormones_snapshot_id(id, a, &why);
	if (st && (st != KITH_EINVAL || !why))
		abort();
	free(why);
	if (!st && (him_check_name("snapshot_id", a, NULL) != KITH_OK ||
		    him_hormones_snapshot_id(id, b, NULL) != KITH_OK || strcmp(a, b) != 0))
		abort();
	free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so reading past `size` is caught by ASan. */
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	put_body(copy, size);
	channel_id(copy, size);
	free(copy);
	return 0;
}
