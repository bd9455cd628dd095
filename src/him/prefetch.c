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
 * joins the worker.  The tiles a job covers are found by coordinate-range
 * reads on the (snapshot_id, stream, level, x, y) index, box by box.  The
 * prefetcher also owns the planner's shared state (cached term statistics,
 * planner_keyword.c), since it lives exactly as long as the store. */
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
	struct plan_shared *planner;  /* the planner's cached statistics */
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

struct covered {
	char (*ids)[HIM_ID_HEX + 1];
	size_t n, cap;
};

static void add_id(const struct plan_row *r, void *ud)
{
	struct covered *c = ud;

	c->ids = xgrow(c->ids, &c->cap, c->n + 1, sizeof(*c->ids));
	memcpy(c->ids[c->n++], r->tile_id, sizeof(*c->ids));
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The newest tile (lamport, then seq) of every coordinate whose point one
 * of the job's boxes covers at one of its levels: sorted, unique ids. */
static enum kith_status covered_ids(sqlite3 *db, const struct job *j,
				    char (**out)[HIM_ID_HEX + 1], size_t *n, char **why)
{
	struct covered c = { 0 };
	size_t k = 0;
	enum kith_status st = KITH_OK;

	for (int level = j->level_min; !st && level <= j->level_max; level++)
		for (size_t b = 0; !st && b < j->nboxes; b++) {
			const long *box = j->boxes[b];

			st = plan_rows_in_box(db, j->snapshot_id, j->stream, level, box[0],
					      box[0] + box[2] - 1, box[1], box[1] + box[3] - 1,
					      INT64_MAX, 0, add_id, &c, why);
		}
	if (c.n)
		qsort(c.ids, c.n, sizeof(*c.ids), id_cmp);
	for (size_t i = 0; i < c.n; i++)
		if (!k || strcmp(c.ids[k - 1], c.ids[i]) != 0)
			memmove(c.ids[k++], c.ids[i], sizeof(*c.ids));
	*out = c.ids;
	*n = st ? 0 : k;
	return st;
}

static void run_job(struct him *h, const struct job *j, const bool *stop)
{
	char (*ids)[HIM_ID_HEX + 1] = NULL, *why = NULL;
	size_t nids = 0, staged = 0;
	sqlite3 *db = him_db_acquire(h);

	if (!db || covered_ids(db, j, &ids, &nids, &why) != KITH_OK) {
		log_warn("him", "prefetch for %s/%s: %s", j->stream, j->snapshot_id,
			 why ? why : "no database connection");
		free(why);
		free(ids);
		him_db_release(h, db);
		return;
	}
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
		run_job(p->h, j, &p->stop);
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
	p->planner = plan_shared_new(h->db_path);
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
	plan_shared_free(p->planner);
	free(p);
}

struct plan_shared *him_planner_shared(struct him *h)
{
	return h->prefetch ? h->prefetch->planner : NULL;
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

			run_job(h, j, &stop);
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
