/* prefetch.c — prefetch hints: recorded for the planner, and the tiles they
 * cover staged into the warm cache by one background thread.
 *
 * him_prefetch validates and stores the hints in one write transaction (so
 * the planner sees all of them or none), queues one job per hint and
 * returns.  The single worker keeps staging off the callers' threads and
 * bounds the I/O prefetch can cause; it is started on the first job, so a
 * store that never prefetches never has the thread.  A job stages the
 * newest tile of every coordinate whose point lies in one of the hint's
 * boxes at one of its levels, and reports covered vs warm tiles to the
 * metrics (prefetch coverage).  him_prefetch_drain waits on a condition
 * variable for the queue to empty; closing the store drops queued jobs and
 * joins the worker.  The prefetcher also owns the planner's cached pyramid
 * views (planner_view.c), since it lives exactly as long as the store. */
#include "him/planner_int.h"
#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#define MAX_BBOXES 256

struct job {
	struct job *next;
	char *snapshot_id, *stream;
	int level_max, level_min;
	long (*boxes)[4];
	size_t nboxes;
};

struct him_prefetcher {
	struct him *h;
	pthread_mutex_t mu;
	pthread_cond_t work;     /* a job was queued, or stop */
	pthread_cond_t idle;     /* pending dropped to 0 (CLOCK_MONOTONIC) */
	struct job *head, *tail;
	size_t pending;          /* queued + running */
	bool stop, started;
	pthread_t thread;
	struct plan_views *views;  /* the planner's cached pyramid views */
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->snapshot_id);
	free(j->stream);
	free(j->boxes);
	free(j);
}

/* ---- staging ------------------------------------------------------------- */

/* First row at or after (level, x) in rows sorted by level, x, y, seq. */
static size_t first_at(const struct plan_row *r, size_t n, int level, long x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].level < level || (r[mid].level == level && r[mid].x < x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The newest tile (lamport, then seq) of every coordinate whose point one
 * of the job's boxes covers at one of its levels: sorted, unique ids.  Only
 * the rows in each box's x range are visited. */
static size_t covered_ids(const struct plan_row *r, size_t n, const struct job *j,
			  char (**out)[HIM_ID_HEX + 1])
{
	char (*ids)[HIM_ID_HEX + 1] = NULL;
	size_t nids = 0, cap = 0, k = 0;

	for (int level = j->level_min; level <= j->level_max; level++)
		for (size_t b = 0; b < j->nboxes; b++) {
			const long *box = j->boxes[b];
			size_t i = first_at(r, n, level, box[0]);
			size_t end = first_at(r, n, level, box[0] + box[2]);

			while (i < end) {
				size_t best = i;

				for (i++; i < end && r[i].x == r[best].x && r[i].y == r[best].y; i++)
					if (r[i].lamport > r[best].lamport ||
					    (r[i].lamport == r[best].lamport && r[i].seq > r[best].seq))
						best = i;
				if (r[best].y < box[1] || r[best].y - box[1] >= box[3])
					continue;
				ids = xgrow(ids, &cap, nids + 1, sizeof(*ids));
				memcpy(ids[nids++], r[best].tile_id, sizeof(*ids));
			}
		}
	if (nids)
		qsort(ids, nids, sizeof(*ids), id_cmp);
	for (size_t i = 0; i < nids; i++)
		if (!k || strcmp(ids[k - 1], ids[i]) != 0)
			memmove(ids[k++], ids[i], sizeof(*ids));
	*out = ids;
	return k;
}

/* The rows of (snapshot, stream): the cached view, or read now. */
static enum kith_status job_rows(struct plan_views *views, sqlite3 *db, const struct job *j,
				 struct plan_view **view, struct plan_row **own, size_t *n,
				 char **why)
{
	sqlite3_stmt *s = NULL;
	int64_t max_seq = 0;

	if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(seq), 0) FROM tiles", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		max_seq = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	*view = NULL;
	*own = NULL;
	*n = 0;
	if (!views)
		return plan_load_rows(db, j->snapshot_id, j->stream, max_seq, own, n, why);
	return plan_view_get(views, db, j->snapshot_id, j->stream, max_seq, view, why);
}

static void run_job(struct him *h, struct plan_views *views, const struct job *j,
		    const bool *stop)
{
	struct plan_view *view = NULL;
	struct plan_row *own = NULL;
	char (*ids)[HIM_ID_HEX + 1] = NULL, *why = NULL;
	size_t n = 0, nids = 0, staged = 0;
	sqlite3 *db = him_db_acquire(h);

	if (!db || job_rows(views, db, j, &view, &own, &n, &why) != KITH_OK) {
		log_warn("him", "prefetch for %s/%s: %s", j->stream, j->snapshot_id,
			 why ? why : "no database connection");
		free(why);
		him_db_release(h, db);
		return;
	}
	nids = covered_ids(view ? view->rows : own, view ? view->n : n, j, &ids);
	plan_view_put(views, view);
	free(own);
	for (size_t i = 0; i < nids && !__atomic_load_n(stop, __ATOMIC_ACQUIRE); i++) {
		struct him_row row;

		if (him_row_by_id(db, ids[i], &row, NULL) != KITH_OK)
			continue;
		him_cache_stage(h, &row);
		if (him_cache_contains(h->cache, row.meta.tile_id))
			staged++;
		him_row_release(&row);
	}
	him_db_release(h, db);
	free(ids);
	him_metrics_prefetch(h, staged, nids);
}

static void *worker(void *arg)
{
	struct him_prefetcher *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;

		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		run_job(p->h, p->views, j, &p->stop);
		job_free(j);
		pthread_mutex_lock(&p->mu);
		if (--p->pending == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct him_prefetcher *him_prefetcher_new(struct him *h)
{
	struct him_prefetcher *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;

	p->h = h;
	p->views = plan_views_new();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->idle, &ca);
	pthread_condattr_destroy(&ca);
	return p;
}

void him_prefetcher_free(struct him_prefetcher *p)
{
	struct job *j;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	if (p->started)
		pthread_join(p->thread, NULL);
	while ((j = p->head)) {
		p->head = j->next;
		job_free(j);
	}
	pthread_cond_broadcast(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->mu);
	plan_views_free(p->views);
	free(p);
}

struct plan_views *him_prefetch_views(struct him *h)
{
	return h->prefetch ? h->prefetch->views : NULL;
}

/* ---- the API --------------------------------------------------------------- */

static enum kith_status check_hint(const struct him_hint *hi, size_t i, char **why)
{
	char what[48];

	snprintf(what, sizeof(what), "hints[%zu].snapshot_id", i);
	if (him_check_name(what, hi->snapshot_id, why))
		return KITH_EINVAL;
	snprintf(what, sizeof(what), "hints[%zu].stream", i);
	if (him_check_name(what, hi->stream, why))
		return KITH_EINVAL;
	if (!hi->query_id || !*hi->query_id || strlen(hi->query_id) > 256)
		return kith_why(why, KITH_EINVAL, "hints[%zu].query_id: expected 1 to 256 bytes", i);
	if (hi->level_min < 0 || hi->level_max > HIM_MAX_LEVEL || hi->level_max < hi->level_min)
		return kith_why(why, KITH_EINVAL, "hints[%zu].level_range: expected [max, min] with "
				"%d >= max >= min >= 0", i, HIM_MAX_LEVEL);
	if (!(hi->confidence >= 0 && hi->confidence <= 1))
		return kith_why(why, KITH_EINVAL,
				"hints[%zu].confidence: expected a number between 0 and 1", i);
	if (!hi->bboxes || hi->nbboxes == 0 || hi->nbboxes > MAX_BBOXES)
		return kith_why(why, KITH_EINVAL, "hints[%zu].bboxes: expected 1 to %d boxes", i,
				MAX_BBOXES);
	for (size_t b = 0; b < hi->nbboxes; b++) {
		const long *box = hi->bboxes[b];

		if (labs(box[0]) > HIM_MAX_COORD || labs(box[1]) > HIM_MAX_COORD || box[2] < 1 ||
		    box[3] < 1 || box[2] > HIM_MAX_COORD || box[3] > HIM_MAX_COORD)
			return kith_why(why, KITH_EINVAL, "hints[%zu].bboxes[%zu]: expected [x, y, w, h]"
					" with w, h >= 1 and coordinates within %ld", i, b,
					HIM_MAX_COORD);
	}
	return KITH_OK;
}

static enum kith_status store_hints(struct him *h, const struct him_hint *hints, size_t n,
				    char **why)
{
	sqlite3 *db = him_db_acquire(h);
	sqlite3_stmt *s = NULL;
	enum kith_status st;

	if (!db)
		return kith_why(why, KITH_EDB, "him.db: no connection");
	if ((st = him_write_begin(h, db, why))) {
		him_db_release(h, db);
		return st;
	}
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM snapshots WHERE snapshot_id = ?", -1, &s,
				      NULL) != SQLITE_OK)
		st = him_db_fail(db, "recording hints", why);
	for (size_t i = 0; !st && i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, hints[i].snapshot_id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(s) != SQLITE_ROW)
			st = kith_why(why, KITH_ENOTFOUND, "hints[%zu]: snapshot %s not found", i,
				      hints[i].snapshot_id);
	}
	sqlite3_finalize(s);
	if (!st)
		st = him_hints_add(db, hints, n, why);
	if (!st)
		st = him_write_commit(h, db, why);
	else
		him_write_rollback(h, db);
	him_db_release(h, db);
	return st;
}

static struct job *job_new(const struct him_hint *hi)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->snapshot_id = xstrdup(hi->snapshot_id);
	j->stream = xstrdup(hi->stream);
	j->level_max = hi->level_max;
	j->level_min = hi->level_min;
	j->nboxes = hi->nbboxes;
	j->boxes = xcalloc(hi->nbboxes, sizeof(*j->boxes));
	memcpy(j->boxes, hi->bboxes, hi->nbboxes * sizeof(*j->boxes));
	return j;
}

static void enqueue(struct him_prefetcher *p, struct job *j)
{
	pthread_mutex_lock(&p->mu);
	if (!p->started && !p->stop) {
		if (pthread_create(&p->thread, NULL, worker, p) == 0)
			p->started = true;
		else
			log_warn("him", "cannot start the prefetch thread: %s", strerror(errno));
	}
	if (!p->started || p->stop) {
		pthread_mutex_unlock(&p->mu);
		job_free(j);
		return;
	}
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->pending++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

enum kith_status him_prefetch(struct him *h, const struct him_hint *hints, size_t n, char **why)
{
	enum kith_status st;

	if (!hints || n == 0)
		return kith_why(why, KITH_EINVAL, "hints: expected at least one hint");
	for (size_t i = 0; i < n; i++)
		if ((st = check_hint(&hints[i], i, why)))
			return st;
	if ((st = store_hints(h, hints, n, why)))
		return st;
	for (size_t i = 0; i < n; i++) {
		struct job *j = job_new(&hints[i]);

		if (h->prefetch) {
			enqueue(h->prefetch, j);
		} else {             /* no worker (a store opened without one) */
			bool stop = false;

			run_job(h, NULL, j, &stop);
			job_free(j);
		}
	}
	return KITH_OK;
}

bool him_prefetch_drain(struct him *h, int timeout_ms)
{
	struct him_prefetcher *p = h->prefetch;
	struct timespec until;
	bool done;

	if (!p)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	while (p->pending && !p->stop) {
		if (timeout_ms < 0)
			pthread_cond_wait(&p->idle, &p->mu);
		else if (pthread_cond_timedwait(&p->idle, &p->mu, &until) == ETIMEDOUT)
			break;
	}
	done = p->pending == 0;
	pthread_mutex_unlock(&p->mu);
	return done;
}
