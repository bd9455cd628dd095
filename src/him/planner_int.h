/* planner_int.h — the query planner's pieces, internal to src/him/:
 *   planner.c          the API: one read transaction per plan, traces, replay
 *   planner_engine.c   the candidate set, coarse-to-fine descent, scoring,
 *                      acceptance
 *   planner_sources.c  where live candidates come from: coordinate-range
 *                      reads (pyramid top, hint regions, children of the
 *                      beam), recently read and recently written tiles
 *   planner_keyword.c  keyword candidates: bounded FTS5 windows ranked by
 *                      BM25 with cached term statistics
 *   planner_trace.c    the trace's JSON: request, trace id, inputs, plan bytes
 *
 * Planning cost follows what is relevant, not the store's size: the engine
 * never sees "all tiles", only candidates that an index produced, each one
 * the newest tile at its coordinate as of the plan's read transaction.  The
 * engine is a pure function of its inputs (the request, the candidates in
 * the order they arrived, their relevance and usage, the hint regions, the
 * recorded "now" and — when live — the budget clock), so replay feeds it the
 * recorded candidates and gets the same bytes back without reading a tile
 * row or the keyword index. */
#ifndef KITH_HIM_PLANNER_INT_H
#define KITH_HIM_PLANNER_INT_H

#include <jansson.h>

#include "him/him_int.h"

#define HIM_PLANNER_VERSION "kith-planner/2"
#define HIM_PLANNER_HINTS 64   /* recent hints a plan considers */

/* A hint region as the planner uses it: [x, y, w, h] at levels
 * [lmin, lmax] with the hint's confidence. */
struct plan_region {
	int lmax, lmin;
	long box[4];
	double conf;
};

/* What the planner needs of a catalogued tile. */
struct plan_row {
	char tile_id[HIM_ID_HEX + 1];
	int level;
	long x, y;
	int64_t lamport, seq, access, last_ms;
};

/* Where a candidate came from.  The first four are evidence of their own
 * (the goal's words, a hint, recent use): such a tile is scored at its level
 * whether or not the beam above it was chosen.  The order is the trace's
 * encoding; append only. */
enum plan_src {
	PLAN_SRC_MATCH = 0,   /* keyword window (planner_keyword.c) */
	PLAN_SRC_HINT,        /* inside a recent hint region */
	PLAN_SRC_READ,        /* recently read (the warm tier's LRU order) */
	PLAN_SRC_WRITE,       /* recently written */
	PLAN_SRC_TOP,         /* a small level at the top of the pyramid */
	PLAN_SRC_CHILD,       /* a child of a tile the descent expanded */
	PLAN_SRC_COUNT
};

/* One candidate: the newest tile (lamport, then seq) at its coordinate. */
struct plan_cand {
	struct plan_row row;
	int batch;           /* 0: before the descent; s: fetched after step s */
	enum plan_src src;
	double rel;          /* own goal relevance in [0, 1] */
	double eff;          /* with the inherited relevance of its region */
	double steer;        /* best eff in its known subtree (keyword mode) */
	double hint;         /* summed confidence of covering hints, <= 1 */
	double score;
	long parent;         /* index of the candidate above, or -1 */
	bool known, scored, beam, chosen, leaf;
	bool picked;         /* in a beam or a plan at some step: its usage is an input */
};

struct plan;

/* Children of the tiles the descent expands: fetched from the catalogue
 * live, taken from the trace on replay.  Adds them with plan_add. */
typedef enum kith_status (*plan_children_fn)(struct plan *p, int level, const size_t *parents,
					     size_t n, char **why);

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
	double rest_mass;           /* keyword mode: estimated relevance of the
				     * matches no window retrieved (planner_keyword.c) */
	plan_children_fn children;
	void *source;               /* for `children` */
	/* candidates in arrival order; ord sorts them by level, x, y */
	struct plan_cand *c;
	size_t n, cap;
	size_t *ord;
	size_t *slots, nslots;      /* coordinate hash → index + 1 */
	int batch;                  /* the batch plan_add files new ones under */
	bool dirty;                 /* added since the last plan_index */
	/* results */
	int steps;
	const char *stop;           /* "accepted", "budget", "done" */
	int finest;                 /* lowest level scanned, -1 none */
	size_t *chosen;             /* ranked */
	size_t nchosen, chosen_cap;
	double acceptance;          /* rounded to 4 decimals */
	bool diverged;              /* replay asked for a score it did not record */
};

void plan_init(struct plan *p, const struct him_query *q, int64_t horizon);
void plan_release(struct plan *p);
/* Add a candidate unless its coordinate is one already (the first source
 * wins: all read the same transaction, so it is the same tile).  rel < 0 =
 * not known.  Returns its index. */
size_t plan_add(struct plan *p, const struct plan_row *r, enum plan_src src, double rel);
/* The candidate at a coordinate, or -1 (plan_index'ed lookups). */
long plan_find(const struct plan *p, int level, long x, long y);
/* Run the descent.  Index scores (live) are fetched through p->ops. */
enum kith_status plan_run(struct plan *p, char **why) KITH_MUST_CHECK;
/* floor(v / 2) for any sign: the parent coordinate. */
long plan_half(long v);

/* ---- live sources (planner_sources.c, planner_keyword.c) ---- */

/* The planner's statements, prepared once per connection (planner_sources.c
 * holds the SQL). */
enum plan_sql {
	PLAN_SQL_BEGIN,
	PLAN_SQL_COMMIT,
	PLAN_SQL_LAMPORT,       /* the committed Lamport time */
	PLAN_SQL_MAX_SEQ,
	PLAN_SQL_SNAPSHOT,      /* ?1 snapshot_id */
	PLAN_SQL_TRACE_PLAN,    /* ?1 trace_id → plan */
	PLAN_SQL_BOX,           /* rows in a box, see plan_rows_in_box */
	PLAN_SQL_LEVEL_COUNT,   /* ?1 snapshot, ?2 stream, ?3 level, ?4 limit */
	PLAN_SQL_PROBE_SEQ,     /* scoped probe, ?6 seq (plan_probe) */
	PLAN_SQL_PROBE_ID,      /* scoped probe, ?6 tile_id */
	PLAN_SQL_RECENT_SEQS,   /* ?1 limit */
	PLAN_SQL_FTS_SCAN,      /* ?1 match, ?2 struct kw_rank pointer, ?3 limit, ?4 below */
	PLAN_SQL_DF,            /* ?1 match → count */
	PLAN_SQL_ANY_HINT,      /* ?1 snapshot, ?2 stream, ?3 level_min, ?4 level_max */
	PLAN_SQL_COUNT
};

/* A read connection of the planner's own, with its prepared statements.
 * Planning reads through these (PRAGMA query_only); trace writes go
 * through the store's write section. */
struct plan_conn {
	struct plan_conn *next;
	sqlite3 *db;
	sqlite3_stmt *stmt[PLAN_SQL_COUNT];
};

/* Process-wide planner state, kept by the store (the prefetcher owns it:
 * it lives exactly as long as the store): the connection pool, and the
 * cached term statistics and keyword windows (planner_keyword.c). */
struct plan_term;
struct plan_memo;
struct plan_shared {
	char *db_path;
	pthread_mutex_t pool_mu;
	struct plan_conn *idle;     /* under pool_mu */
	size_t nidle;
	pthread_mutex_t terms_mu;   /* the rest (planner_keyword.c) */
	struct plan_term *terms;    /* term statistics, open addressing */
	size_t nterms;
	int64_t nrow, nrow_at;      /* FTS rows, as of MAX(seq) = nrow_at; 0 = unknown */
	struct plan_memo *memo;     /* keyword windows */
	uint64_t memo_clock;
};
struct plan_shared *plan_shared_new(const char *db_path);
void plan_shared_free(struct plan_shared *s);
void plan_keyword_release(struct plan_shared *s);   /* planner_keyword.c */
/* The store's, or NULL. */
struct plan_shared *him_planner_shared(struct him *h);

/* A connection (pooled when s != NULL, else opened for this plan); put
 * closes or pools it.  NULL + *why when none can be opened. */
struct plan_conn *plan_conn_get(struct plan_shared *s, const char *db_path, char **why);
void plan_conn_put(struct plan_shared *s, struct plan_conn *c);
/* The statement, prepared on first use, reset with bindings cleared; NULL
 * (see sqlite3_errmsg) when it cannot be prepared. */
sqlite3_stmt *plan_stmt(struct plan_conn *c, enum plan_sql id);
/* kith_bm25 (planner_keyword.c), registered on each planner connection. */
bool plan_register_bm25(sqlite3 *db);

/* A live plan's connection to the catalogue, inside its read transaction. */
struct plan_live {
	struct him *h;
	struct plan_conn *conn;
	sqlite3 *db;                  /* conn->db */
	struct plan_shared *shared;   /* may be NULL: nothing cached */
	int64_t max_seq;              /* MAX(tiles.seq) in this transaction */
	struct him_hint_row *hint_rows;
	size_t nhint_rows;
};
void plan_live_release(struct plan_live *lv);

/* Every candidate before the descent (batch 0): keyword windows, hint
 * regions, the pyramid's small top levels and, when the goal matched
 * nothing in scope (or an index scores), recently read and written tiles.
 * Sets p->hints, p->rest_mass and p->children. */
enum kith_status plan_gather(struct plan *p, struct plan_live *lv, char **why) KITH_MUST_CHECK;
/* Keyword candidates (planner_keyword.c); *found = how many in scope. */
enum kith_status plan_keywords(struct plan *p, struct plan_live *lv, size_t *found,
			       char **why) KITH_MUST_CHECK;

/* The newest tile per coordinate with the given level and
 * x in [x0, x1], y in [y0, y1] of (snapshot, stream), lamport <= horizon,
 * reading at most `limit` rows (versions) in (x, y) order: each(row, ud)
 * per coordinate.  Used by the planner and by prefetch. */
enum kith_status plan_rows_in_box(sqlite3 *db, const char *snapshot_id, const char *stream,
				  int level, long x0, long x1, long y0, long y1, int64_t horizon,
				  size_t limit, void (*each)(const struct plan_row *r, void *ud),
				  void *ud, char **why) KITH_MUST_CHECK;
/* The same with a PLAN_SQL_BOX statement (reset when done). */
enum kith_status plan_box_rows(sqlite3_stmt *s, const char *snapshot_id, const char *stream,
			       int level, long x0, long x1, long y0, long y1, int64_t horizon,
			       size_t limit, void (*each)(const struct plan_row *r, void *ud),
			       void *ud, char **why) KITH_MUST_CHECK;
/* PLAN_SQL_PROBE_SEQ / _ID with the plan's scope bound (snapshot, stream,
 * level range, lamport <= horizon; the tile must be the newest at its
 * coordinate): bind ?6, then plan_probe steps and resets it: 1 = in scope
 * (*r set), 0 = not, -1 = error.  NULL when it cannot be prepared. */
sqlite3_stmt *plan_scope_probe(struct plan_conn *c, const struct plan *p, enum plan_sql id);
int plan_probe(sqlite3_stmt *s, struct plan_row *r);
/* Read a plan_row from columns tile_id, level, x, y, lamport, seq,
 * access_count, last_access starting at column `col`. */
void plan_row_from(sqlite3_stmt *s, int col, struct plan_row *r);
#define PLAN_ROW_COLS "t.tile_id, t.level, t.x, t.y, t.lamport, t.seq, t.access_count, t.last_access"
/* SQL: t is not superseded at its coordinate by a newer tile (lamport,
 * then seq) with lamport <= ?H (bind the horizon to that number).  The
 * n.seq <> t.seq term is decided from the index, so the usual coordinate
 * with one version costs no table read. */
#define PLAN_NEWEST(H) \
	" NOT EXISTS (SELECT 1 FROM tiles n WHERE n.snapshot_id = t.snapshot_id" \
	" AND n.stream = t.stream AND n.level = t.level AND n.x = t.x AND n.y = t.y" \
	" AND n.seq <> t.seq AND n.lamport <= ?" H " AND (n.lamport > t.lamport" \
	" OR (n.lamport = t.lamport AND n.seq > t.seq)))"

/* The warm tier's most recently used tile ids, newest first, skipping
 * entries staged by prefetch and never read (cache.c); returns how many
 * were written to ids (at most max). */
size_t him_cache_recent(struct him_cache *c, char (*ids)[HIM_ID_HEX + 1], size_t max);

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
/* Recorded inputs into a plan_init'ed plan: the batch-0 candidates are
 * added, later batches are handed out by p->children (KITH_EPROTO when
 * malformed).  The plan borrows `in` until plan_run returns. */
enum kith_status plan_apply_inputs(struct plan *p, json_t *in, char **why) KITH_MUST_CHECK;
/* A recorded request; q's strings point into *root (caller decrefs). */
enum kith_status plan_parse_request(const char *text, json_t **root, struct him_query *q,
				    char **why) KITH_MUST_CHECK;

#endif
