/* fuzz_him_wire.c — feed the same bytes to every HIM request-body parser.
 *
 * Besides "no crash, no sanitizer report, no leak", each parser's promise
 * is checked: an error is KITH_EINVAL and comes with a "field: reason" why,
 * success leaves no why behind and only values the validation allows
 * (levels 0..31, max >= min, 1..32 tiles, confidences in [0, 1], boxes
 * with positive sizes, 64-byte signatures), and a success builds its
 * response JSON without trouble. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "him/wire.h"
#include "fuzz_him.h"

static void tiles(const char *p, size_t n)
{
	struct him_wire_tiles t;
	char *why = NULL;
	enum kith_status st = him_wire_parse_tiles(p, n, &t, &why);

	for (size_t i = 0; !st && i < t.n; i++) {
		const struct him_tile_in *r = &t.recs[i];

		if (r->level < 0 || r->level > HIM_MAX_LEVEL || r->x < 0 || r->y < 0 ||
		    (r->payload_len && !r->payload) || (r->halo != -1 && r->halo != 0 &&
							r->halo != HIM_HALO))
			abort();
		if (r->parent_tile_id && !him_is_tile_id(r->parent_tile_id))
			abort();
		(void)strlen(r->stream);
		(void)strlen(r->dtype);
	}
	him_wire_tiles_release(&t);
	fuzz_him_check_status(st, why);
}

static void query(const char *p, size_t n)
{
	struct him_wire_query q;
	char *why = NULL;
	enum kith_status st = him_wire_parse_query(p, n, &q, &why);

	if (!st && (q.q.budget_ms < 1 || q.q.max_tiles < 1 || q.q.max_tiles > 32 ||
		    q.q.level_max < q.q.level_min || q.q.level_min < 0 ||
		    q.q.level_max > HIM_MAX_LEVEL || !q.q.goal || !q.q.stream))
		abort();
	him_wire_query_release(&q);
	fuzz_him_check_status(st, why);
}

static void hints(const char *p, size_t n)
{
	struct him_wire_hints h;
	char *why = NULL;
	enum kith_status st = him_wire_parse_hints(p, n, &h, &why);

	for (size_t i = 0; !st && i < h.n; i++) {
		const struct him_hint *x = &h.hints[i];

		if (!(x->confidence >= 0 && x->confidence <= 1) || x->nbboxes == 0 ||
		    x->level_max < x->level_min)
			abort();
		for (size_t b = 0; b < x->nbboxes; b++)
			if (x->bboxes[b][2] < 1 || x->bboxes[b][3] < 1)
				abort();
	}
	him_wire_hints_release(&h);
	fuzz_him_check_status(st, why);
}

static void snapshot(const char *p, size_t n)
{
	struct him_snapshot s;
	char *why = NULL;
	enum kith_status st = him_wire_parse_snapshot(p, n, &s, &why);

	if (!st) {
		json_t *j = him_snapshot_json(&s);

		if (!j || !s.provenance || !s.tags || !s.merge_policy)
			abort();
		json_decref(j);
		him_snapshot_release(&s);
	}
	fuzz_him_check_status(st, why);
}

static void merge_and_replay(const char *p, size_t n)
{
	struct him_wire_merge m;
	struct him_wire_replay r;
	char *why = NULL;
	enum kith_status st = him_wire_parse_merge(p, n, &m, &why);

	if (!st && m.nwith == 0)
		abort();
	him_wire_merge_release(&m);
	fuzz_him_check_status(st, why);
	why = NULL;
	st = him_wire_parse_replay(p, n, &r, &why);
	if (!st && !him_is_trace_id(r.trace_id))
		abort();
	him_wire_replay_release(&r);
	fuzz_him_check_status(st, why);
}

/* Semantic records, for a 4-dimensional index: vectors are finite and of
 * that size, each text is non-empty, ids are unique. */
static void records(const char *p, size_t n)
{
	struct him_wire_records r;
	char *why = NULL;
	enum kith_status st = him_wire_parse_records(p, n, "emb", 4, &r, &why);

	if (st == KITH_ETOOBIG) {   /* a cap, also reported as "field: reason" */
		if (!why || !strchr(why, ':'))
			abort();
		free(why);
		him_wire_records_release(&r);
		return;
	}
	for (size_t i = 0; !st && i < r.n * 4; i++)
		if (!isfinite(r.vecs[i]))
			abort();
	for (size_t i = 0; !st && i < r.ntexts; i++)
		if (!r.texts[i] || !*r.texts[i] || r.text_at[i] >= r.n)
			abort();
	for (size_t i = 0; !st && i < r.n; i++)
		for (size_t j = i + 1; j < r.n; j++)
			if (r.ids[i] == r.ids[j])
				abort();
	if (!st && (!r.snapshot_id || !r.stream))
		abort();
	him_wire_records_release(&r);
	fuzz_him_check_status(st, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so reading past `size` is caught by ASan. */
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	tiles(copy, size);
	query(copy, size);
	hints(copy, size);
	snapshot(copy, size);
	merge_and_replay(copy, size);
	records(copy, size);
	free(copy);
	return 0;
}
