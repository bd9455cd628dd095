/* planner_int.h — the query planner's pieces, internal to src/him/:
 *   planner.c         the API: inputs in one read transaction, traces, replay
 *   planner_engine.c  candidates, coarse-to-fine descent, scoring, acceptance
 *   planner_trace.c   the trace's JSON: request, trace id, inputs, plan bytes
 *   planner_view.c    the cached per-(snapshot, stream) rows
 *
 * The engine is a pure function of its inputs (the request, the candidate
 * rows, relevance, usage, hints, the recorded "now" and — when live — the
 * budget clock), so that replay can feed it the recorded inputs and get the
 * same bytes back. */
#ifndef KITH_HIM_PLANNER_INT_H
#define KITH_HIM_PLANNER_INT_H

#include <jansson.h>

#include "him/him_int.h"

#define HIM_PLANNER_VERSION "kith-planner/1"
#define HIM_PLANNER_HINTS 64   /* recent hints a plan considers */

/* A hint region as the planner uses it: [x, y, w, h] at levels
 * [lmin, lmax] with the hint's confidence. */
struct plan_region {
	int lmax, lmin;
	long box[4];
	double conf;
};

/* What the planner needs of a catalogued tile (read without allocating:
 * a snapshot/stream can hold 100k of them). */
struct plan_row {
	char tile_id[HIM_ID_HEX + 1];
	uint64_t hash;              /* plan_id_hash(tile_id) */
	int level;
	long x, y;
	int64_t lamport, seq, access, last_ms;
};

/* The tiles of one (snapshot, stream), all levels, sorted by level, x, y,
 * seq: every row with seq <= max_seq (planner_view.c).  Read-only once
 * published; hold it between plan_view_get and plan_view_put. */
struct plan_view {
	char snapshot_id[HIM_NAME_MAX + 1];
	char stream[HIM_NAME_MAX + 1];
	struct plan_row *rows;
	size_t n;
	int64_t max_seq;
	int64_t loaded_ms;          /* clock_mono_ms() of the usage it holds */
	int refs;                   /* under plan_views.mu */
	bool reloading;
	struct plan_view *next;
};
struct plan_views;

struct plan_views *plan_views_new(void);
void plan_views_free(struct plan_views *vs);
/* A view holding every row of (snapshot, stream) with seq <= max_seq, as
 * read in db's current (read) transaction: cached, caught up, or loaded. */
enum kith_status plan_view_get(struct plan_views *vs, sqlite3 *db, const char *snapshot_id,
			       const char *stream, int64_t max_seq, struct plan_view **out,
			       char **why) KITH_MUST_CHECK;
void plan_view_put(struct plan_views *vs, struct plan_view *v);
/* The same rows straight from SQLite, uncached (caller frees *rows). */
enum kith_status plan_load_rows(sqlite3 *db, const char *snapshot_id, const char *stream,
				int64_t max_seq, struct plan_row **rows, size_t *n, char **why)
	KITH_MUST_CHECK;
/* The store's views (kept by the prefetcher, which lives as long as the
 * store), or NULL: then every query reads its rows. */
struct plan_views *him_prefetch_views(struct him *h);

/* One candidate: the newest tile (lamport, then seq) at its coordinate. */
struct plan_cand {
	const struct plan_row *row;
	double rel;          /* own goal relevance in [0, 1] */
	double eff;          /* with the inherited relevance of its region */
	double steer;        /* best eff in its subtree (keyword mode) */
	double hint;         /* summed confidence of covering hints, <= 1 */
	double score;
	int64_t access, last_ms;
	long parent;         /* index of the tile above, or -1 */
	bool known, scored, beam, chosen, leaf;
	bool picked;         /* in a beam or a plan at some step: its usage is an input */
};

struct plan {
	/* inputs */
	const struct him_query *q;  /* normalised: stream and goal set */
	int64_t horizon, now_ms;
	bool use_index;             /* relevance from index_ops (else keyword) */
	struct him_index_ops ops;   /* live index; .score NULL on replay */
	int replay_steps;           /* -1: live, stop on the budget clock */
	int64_t deadline_ms;        /* clock_mono_ms() deadline when live */
	struct plan_region *hints;
	size_t nhints;
	/* candidates, sorted by level, x, y */
	struct plan_cand *c;
	size_t n;
	/* results */
	int steps;
	const char *stop;           /* "accepted", "budget", "done" */
	int finest;                 /* lowest level scanned, -1 none */
	size_t *chosen;             /* ranked */
	size_t nchosen;
	double acceptance;          /* rounded to 4 decimals */
	bool diverged;              /* replay asked for a score it did not record */
	size_t *mass, nmass;        /* keyword mode: leaves with relevance */
	double mass_total;
};

/* A hash of a tile id (its first hex digits). */
uint64_t plan_id_hash(const char *id);

/* Build the candidates from rows (sorted by level, x, y, seq; borrowed for
 * the plan's life): those in the query's level range with lamport <=
 * horizon. */
void plan_init(struct plan *p, const struct him_query *q, const struct plan_row *rows, size_t n,
	       int64_t horizon);
void plan_release(struct plan *p);
/* Call each(c, k) for every candidate c whose tile id is ids[k] (one pass
 * over the candidates with a hash of the few ids). */
void plan_match_ids(struct plan *p, const char *const *ids, size_t n,
		    void (*each)(struct plan_cand *c, size_t k, void *ud), void *ud);
/* Run the descent.  Index scores (live) are fetched through p->ops. */
enum kith_status plan_run(struct plan *p, char **why) KITH_MUST_CHECK;
/* ---- the trace (planner_trace.c) ---- */

/* The QueryPlan bytes (caller frees). */
char *plan_output(const struct plan *p, const char *trace_id);
/* The canonical request (compact JSON, sorted keys; caller frees), NULL
 * when the goal is not valid UTF-8. */
char *plan_request_json(const struct him_query *q);
/* "tr_" + 24 hex digits of blake3(request "\n" horizon "\n" version). */
void plan_trace_id(const char *req, int64_t horizon, const char *version, char out[28]);
/* The inputs a replay needs, after plan_run (caller frees). */
char *plan_inputs_json(const struct plan *p);
/* Recorded inputs into a plan_init'ed plan (KITH_EPROTO when malformed). */
enum kith_status plan_apply_inputs(struct plan *p, const json_t *in, char **why) KITH_MUST_CHECK;
/* A recorded request; q's strings point into *root (caller decrefs). */
enum kith_status plan_parse_request(const char *text, json_t **root, struct him_query *q,
				    char **why) KITH_MUST_CHECK;

#endif
