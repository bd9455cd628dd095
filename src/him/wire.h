/* wire.h — HIM's HTTP request bodies as structs, and responses as JSON
 * (internal to src/him/; api.c and the fuzzer use it).
 *
 * Every parser takes untrusted bytes and either fills its struct or returns
 * KITH_EINVAL with *why naming the field and index that is wrong, e.g.
 * "records[3].level: expected an integer between 0 and 31".  Parsed structs
 * own everything they point to; release them with the matching
 * *_release(), which is also safe on a zeroed or half-filled struct.
 * Nothing here touches the store: names are checked for shape only. */
#ifndef KITH_HIM_WIRE_H
#define KITH_HIM_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"
#include "him/him.h"

#define HIM_WIRE_MAX_RECORDS 4096   /* tiles in one ingest body */
#define HIM_WIRE_MAX_HINTS 1024
#define HIM_WIRE_MAX_BBOXES 256     /* per hint */
#define HIM_WIRE_MAX_GOAL 4096      /* bytes */
#define HIM_WIRE_MAX_TEXT 4096      /* tags, dtype, query ids, provenance strings */
#define HIM_WIRE_MAX_PARENTS 64
#define HIM_WIRE_MAX_BUDGET_MS 600000

/* POST /v1/tiles: recs[i] points into the struct's own copies. */
struct him_wire_tiles {
	struct him_tile_in *recs;
	size_t n;
	unsigned char **payloads;   /* decoded payloads, one per record */
	unsigned char **sigs;       /* decoded signatures (64 bytes) or NULL */
	json_t *root;               /* the parsed body: strings borrowed from it */
};
enum kith_status him_wire_parse_tiles(const char *body, size_t len, struct him_wire_tiles *out,
				      char **why) KITH_MUST_CHECK;
void him_wire_tiles_release(struct him_wire_tiles *t);

/* POST /v1/query, with defaults applied (stream "kv_cache", max_tiles 8,
 * level_range [2, 0]). */
struct him_wire_query {
	struct him_query q;
	json_t *root;
};
enum kith_status him_wire_parse_query(const char *body, size_t len, struct him_wire_query *out,
				      char **why) KITH_MUST_CHECK;
void him_wire_query_release(struct him_wire_query *q);

/* POST /v1/prefetch: a non-empty array of hints. */
struct him_wire_hints {
	struct him_hint *hints;
	size_t n;
	long (*boxes)[4];           /* all hints' bboxes, back to back */
	json_t *root;
};
enum kith_status him_wire_parse_hints(const char *body, size_t len, struct him_wire_hints *out,
				      char **why) KITH_MUST_CHECK;
void him_wire_hints_release(struct him_wire_hints *h);

/* POST /v1/snapshots.  *out is filled with heap copies (created_at 0);
 * release with him_snapshot_release(). */
enum kith_status him_wire_parse_snapshot(const char *body, size_t len, struct him_snapshot *out,
					 char **why) KITH_MUST_CHECK;

/* POST /v1/snapshots/:id/merge: {"with": [ids], "snapshot_id"?, "merge_policy"?}. */
struct him_wire_merge {
	char **with;
	size_t nwith;
	char *snapshot_id;          /* NULL = derived */
	char *merge_policy;         /* NULL = the base's */
};
enum kith_status him_wire_parse_merge(const char *body, size_t len, struct him_wire_merge *out,
				      char **why) KITH_MUST_CHECK;
void him_wire_merge_release(struct him_wire_merge *m);

/* POST /v1/replay: {snapshot_id, trace_id}. */
struct him_wire_replay {
	char *snapshot_id;
	char *trace_id;
};
enum kith_status him_wire_parse_replay(const char *body, size_t len, struct him_wire_replay *out,
				       char **why) KITH_MUST_CHECK;
void him_wire_replay_release(struct him_wire_replay *r);

/* "tr_" followed by 24 lowercase hex digits. */
bool him_is_trace_id(const char *s);

/* ---- responses (new references) ---------------------------------------- */

/* [TileMeta, ...] */
json_t *him_wire_metas_json(const struct him_tile_meta *m, size_t n);
/* {"metadata": TileMeta, "payload": base64} */
json_t *him_wire_tile_json(const struct him_tile_meta *m, const void *payload, size_t n);
/* [Snapshot, ...] */
json_t *him_wire_snapshots_json(const struct him_snapshot *s, size_t n);
/* {"snapshot_id", "tiles", "resolved", "conflicts"?} */
json_t *him_wire_merge_json(const struct him_merge_result *r);

/* POST /v1/records: semantic records for the index of dimension `dim`
 * (1..HIM_VINDEX_MAX_DIM).  stream defaults to `default_stream`; strings and
 * texts are borrowed from root.  KITH_ETOOBIG for too many records or a too
 * long text. */
#define HIM_WIRE_MAX_VRECORDS 1024        /* records in one body */
#define HIM_WIRE_MAX_RECORD_TEXT 32768    /* bytes of one record's text */
struct him_wire_records {
	json_t *root;
	const char *snapshot_id, *stream;
	size_t n;
	int64_t *ids;
	float *vecs;              /* n * dim; rows of text records are zero */
	const char **texts;       /* texts to embed, in record order */
	size_t *text_at;          /* record index of each text */
	size_t ntexts;
};
enum kith_status him_wire_parse_records(const char *body, size_t len, const char *default_stream,
					int dim, struct him_wire_records *out,
					char **why) KITH_MUST_CHECK;
void him_wire_records_release(struct him_wire_records *r);

#endif
