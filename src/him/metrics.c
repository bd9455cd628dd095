/* metrics.c — HIM's counters and latency histograms, and their Prometheus
 * text exposition.
 *
 * Everything the hot paths record goes through one mutex: a query or a GET
 * costs one lock and a few additions, far below the latencies measured.
 * Store-wide figures (bytes and tiles per stream) are not counted at all:
 * they are read from the catalogue at scrape time, so they are right after
 * a restart and can never drift.  Cache figures come from the cache's own
 * counters.  Label values are stream names and small integers, which
 * him_check_name keeps free of characters that would need escaping; they
 * are escaped anyway. */
#include "him/him_int.h"
#include "core/alloc.h"

#include <string.h>

#define NBUCKETS 11
#define MAX_STREAMS 256   /* distinct ingest label values kept */

static const double bounds[NBUCKETS] = { 0.5, 1, 2, 5, 10, 25, 50, 100, 150, 250, 500 };

struct hist {
	uint64_t bucket[NBUCKETS];   /* not cumulative; +Inf is count */
	uint64_t count;
	double sum;
};

struct qhist {
	int level, k;
	struct hist h;
};

struct ingest_ctr {
	char stream[HIM_NAME_MAX + 1];
	uint64_t bytes, tiles;
};

struct him_metrics {
	pthread_mutex_t mu;
	struct qhist *q;
	size_t nq, qcap;
	struct hist get;
	uint64_t get_hits, get_misses;
	struct ingest_ctr *ingest;
	size_t ningest, icap;
	uint64_t pf_staged, pf_requested;
};

struct him_metrics *him_metrics_new(void)
{
	struct him_metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void him_metrics_free(struct him_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m->q);
	free(m->ingest);
	free(m);
}

static void observe(struct hist *h, double ms)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		if (ms <= bounds[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum += ms;
}

void him_metrics_query(struct him *h, int level, int k, double ms)
{
	struct him_metrics *m = h ? h->metrics : NULL;
	size_t i;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->nq; i++)
		if (m->q[i].level == level && m->q[i].k == k)
			break;
	if (i == m->nq) {
		m->q = xgrow(m->q, &m->qcap, m->nq + 1, sizeof(*m->q));
		memset(&m->q[m->nq], 0, sizeof(m->q[0]));
		m->q[m->nq].level = level;
		m->q[m->nq++].k = k;
	}
	observe(&m->q[i].h, ms);
	pthread_mutex_unlock(&m->mu);
}

void him_metrics_get(struct him *h, double ms, bool hit)
{
	struct him_metrics *m = h ? h->metrics : NULL;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	observe(&m->get, ms);
	if (hit)
		m->get_hits++;
	else
		m->get_misses++;
	pthread_mutex_unlock(&m->mu);
}

void him_metrics_ingest(struct him *h, const char *stream, uint64_t bytes)
{
	struct him_metrics *m = h ? h->metrics : NULL;
	size_t i;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->ningest; i++)
		if (strcmp(m->ingest[i].stream, stream ? stream : "") == 0)
			break;
	if (i == m->ningest && m->ningest < MAX_STREAMS) {
		m->ingest = xgrow(m->ingest, &m->icap, m->ningest + 1, sizeof(*m->ingest));
		memset(&m->ingest[i], 0, sizeof(m->ingest[i]));
		snprintf(m->ingest[i].stream, sizeof(m->ingest[i].stream), "%s",
			 stream ? stream : "");
		m->ningest++;
	}
	if (i < m->ningest) {
		m->ingest[i].bytes += bytes;
		m->ingest[i].tiles++;
	}
	pthread_mutex_unlock(&m->mu);
}

void him_metrics_prefetch(struct him *h, uint64_t staged, uint64_t requested)
{
	struct him_metrics *m = h ? h->metrics : NULL;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->pf_staged += staged;
	m->pf_requested += requested;
	pthread_mutex_unlock(&m->mu);
}

/* ---- exposition ---------------------------------------------------------- */

static void head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped. */
static void label(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_append(out, v, 1);
	}
}

/* Buckets, sum and count of one histogram; `labels` is "" or "a=\"b\",". */
static void hist_text(struct buf *out, const char *name, const char *labels,
		      const struct hist *h)
{
	uint64_t cum = 0;
	size_t n = strlen(labels);

	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += h->bucket[i];
		buf_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[i],
			   (unsigned long long)cum);
	}
	buf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
		   (unsigned long long)h->count);
	/* sum and count take the same labels without the trailing comma */
	buf_printf(out, "%s_sum%s%.*s%s %.3f\n", name, n ? "{" : "", n ? (int)n - 1 : 0, labels,
		   n ? "}" : "", h->sum);
	buf_printf(out, "%s_count%s%.*s%s %llu\n", name, n ? "{" : "", n ? (int)n - 1 : 0, labels,
		   n ? "}" : "", (unsigned long long)h->count);
}

static int qhist_cmp(const void *a, const void *b)
{
	const struct qhist *x = a, *y = b;

	return x->level != y->level ? x->level - y->level : x->k - y->k;
}

static void query_text(struct him_metrics *m, struct buf *out)
{
	head(out, "him_query_latency_ms", "histogram",
	     "Query planning latency in milliseconds by the finest level reached and K.");
	if (m->nq)
		qsort(m->q, m->nq, sizeof(*m->q), qhist_cmp);
	for (size_t i = 0; i < m->nq; i++) {
		char labels[48];

		snprintf(labels, sizeof(labels), "level=\"%d\",k=\"%d\",", m->q[i].level, m->q[i].k);
		hist_text(out, "him_query_latency_ms", labels, &m->q[i].h);
	}
}

static void counters_text(struct him_metrics *m, struct buf *out)
{
	head(out, "him_get_latency_ms", "histogram", "Tile read latency in milliseconds.");
	hist_text(out, "him_get_latency_ms", "", &m->get);
	head(out, "him_tile_reads_total", "counter", "Tile reads by where the payload came from.");
	buf_printf(out, "him_tile_reads_total{tier=\"warm\"} %llu\n",
		   (unsigned long long)m->get_hits);
	buf_printf(out, "him_tile_reads_total{tier=\"cold\"} %llu\n",
		   (unsigned long long)m->get_misses);
	head(out, "him_ingest_bytes_total", "counter", "Payload bytes of new tiles by stream.");
	for (size_t i = 0; i < m->ningest; i++) {
		buf_puts(out, "him_ingest_bytes_total{stream=\"");
		label(out, m->ingest[i].stream);
		buf_printf(out, "\"} %llu\n", (unsigned long long)m->ingest[i].bytes);
	}
	head(out, "him_prefetch_requested_total", "counter", "Tiles covered by prefetch hints.");
	buf_printf(out, "him_prefetch_requested_total %llu\n", (unsigned long long)m->pf_requested);
	head(out, "him_prefetch_staged_total", "counter",
	     "Covered tiles that were warm after prefetch.");
	buf_printf(out, "him_prefetch_staged_total %llu\n", (unsigned long long)m->pf_staged);
	head(out, "him_prefetch_coverage", "gauge",
	     "Share of the tiles hinted so far that prefetch made warm (1 when none).");
	buf_printf(out, "him_prefetch_coverage %.4f\n",
		   m->pf_requested ? (double)m->pf_staged / (double)m->pf_requested : 1.0);
}

static void cache_text(struct him *h, struct buf *out)
{
	struct him_cache_stats s;

	memset(&s, 0, sizeof(s));
	if (h->cache)
		him_cache_stats(h->cache, &s);
	head(out, "him_cache_hits_total", "counter", "Warm cache hits.");
	buf_printf(out, "him_cache_hits_total %llu\n", (unsigned long long)s.hits);
	head(out, "him_cache_misses_total", "counter", "Warm cache misses.");
	buf_printf(out, "him_cache_misses_total %llu\n", (unsigned long long)s.misses);
	head(out, "him_cache_prefetched_hits_total", "counter",
	     "Warm cache hits on tiles staged by prefetch.");
	buf_printf(out, "him_cache_prefetched_hits_total %llu\n",
		   (unsigned long long)s.prefetched_hits);
	head(out, "him_cache_evictions_total", "counter", "Tiles evicted from the warm cache.");
	buf_printf(out, "him_cache_evictions_total %llu\n", (unsigned long long)s.evictions);
	head(out, "him_cache_bytes", "gauge", "Payload bytes held in the warm cache.");
	buf_printf(out, "him_cache_bytes %llu\n", (unsigned long long)s.bytes);
	head(out, "him_cache_entries", "gauge", "Tiles held in the warm cache.");
	buf_printf(out, "him_cache_entries %llu\n", (unsigned long long)s.entries);
	head(out, "him_cache_pinned", "gauge", "Pinned tiles in the warm cache.");
	buf_printf(out, "him_cache_pinned %llu\n", (unsigned long long)s.pinned);
}

/* Bytes and tiles per stream, from the catalogue. */
static void store_text(struct him *h, struct buf *out)
{
	sqlite3 *db = him_db_acquire(h);
	sqlite3_stmt *s = NULL;
	struct buf tiles = BUF_INIT(0);
	unsigned long long total = 0;

	head(out, "him_stream_bytes", "gauge", "Raw payload bytes catalogued per stream.");
	if (db && sqlite3_prepare_v2(db, "SELECT stream, SUM(size_bytes), COUNT(*) FROM tiles"
				     " GROUP BY stream ORDER BY stream", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(s, 0);

			buf_puts(out, "him_stream_bytes{stream=\"");
			label(out, name ? name : "");
			buf_printf(out, "\"} %lld\n", (long long)sqlite3_column_int64(s, 1));
			buf_puts(&tiles, "him_stream_tiles{stream=\"");
			label(&tiles, name ? name : "");
			buf_printf(&tiles, "\"} %lld\n", (long long)sqlite3_column_int64(s, 2));
			total += (unsigned long long)sqlite3_column_int64(s, 2);
		}
	}
	sqlite3_finalize(s);
	him_db_release(h, db);
	head(out, "him_stream_tiles", "gauge", "Tiles catalogued per stream.");
	buf_puts(out, buf_str(&tiles));
	head(out, "him_tiles_total", "gauge", "Tiles catalogued.");
	buf_printf(out, "him_tiles_total %llu\n", total);
	head(out, "him_lamport", "gauge", "The store's Lamport clock.");
	buf_printf(out, "him_lamport %lld\n", (long long)him_lamport_now(h));
	buf_release(&tiles);
}

void him_metrics_text(struct him *h, struct buf *out)
{
	struct him_metrics *m = h->metrics;

	if (m) {
		pthread_mutex_lock(&m->mu);
		query_text(m, out);
		counters_text(m, out);
		pthread_mutex_unlock(&m->mu);
	}
	cache_text(h, out);
	store_text(h, out);
}
