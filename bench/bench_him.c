/* bench_him.c — the HIM service under load: GET tile and POST query latency
 * with 16 concurrent clients over 100k tiles, and the ingest rate, beside a
 * baseline measured in the same run: 16 threads reading the same payload
 * bytes straight from plain files.  Each tile is a JSON text whose two
 * words the queries look for (a goal's words match ~44% of the tiles).  The
 * main round repeats four goals; two more rounds use goals that match
 * nothing, and goals never asked before (two words and a tile's number), so
 * that no plan reuses an earlier one's keyword windows.
 *
 * Target (issue 3): p95 ≤ 5 ms for GET and for queries with K ≤ 8 (the
 * seed's SLO is 150 ms).  Usage: bench_him [TILES] (default 100000). */
#include "support/test.h"
#include "support/himtest.h"
#include "core/alloc.h"
#include "core/clock.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLIENTS 16
#define PAYLOAD 1024
#define BATCH 500
#define SIDE 512              /* x, y grid at level 0 */
#define REQUESTS_PER_CLIENT 400

static int ntiles;
static struct him_server srv;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct lat {
	double *ms;
	size_t n;
};

static void report(const char *what, struct lat *l, const struct lat *base)
{
	double p50, p95;

	qsort(l->ms, l->n, sizeof(double), cmp_double);
	p50 = l->ms[l->n / 2];
	p95 = l->ms[(l->n * 95) / 100];
	printf("  %-26s p50 %7.3f ms  p95 %7.3f ms", what, p50, p95);
	if (base) {
		double b95 = base->ms[(base->n * 95) / 100];

		printf("  (p95 %.1fx baseline)", b95 > 0 ? p95 / b95 : 0.0);
	}
	printf("  %s\n", p95 <= 5.0 ? "[p95 <= 5 ms: met]" : "[p95 <= 5 ms: MISSED]");
}

static void payload_for(int i, unsigned char *out)
{
	/* A deterministic, partly compressible JSON text: two words the
	 * queries can find (each in a quarter of the tiles, both in 1 of 32),
	 * then padding made of punctuation, which the keyword index's
	 * tokenizer skips — so a goal's words really match, as in a store of
	 * text memories, and the index holds a few tokens per tile. */
	static const char *const words[] = { "submit", "button", "invoice", "garden", "travel",
					     "music", "recipe", "weather" };
	static const char pad[] = "!#$%&()*+,-./:;<=>?@[]^_`{|}~";
	uint64_t s = (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
	int n = snprintf((char *)out, PAYLOAD, "{\"note\":\"%s %s %d\",\"pad\":\"", words[i % 8],
			 words[(i / 8) % 8], i);

	for (int k = n; k < PAYLOAD - 2; k++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		out[k] = (unsigned char)(k % 4 ? pad[s % (sizeof(pad) - 1)] : ' ');
	}
	out[PAYLOAD - 2] = '"';
	out[PAYLOAD - 1] = '}';
}

static double ingest_all(void)
{
	struct buf body = BUF_INIT(0), resp = BUF_INIT(0);
	unsigned char p[PAYLOAD];
	char b64[PAYLOAD * 2];
	int64_t t0 = clock_mono_ms();

	for (int i = 0; i < ntiles; i += BATCH) {
		buf_reset(&body);
		buf_puts(&body, "[");
		for (int k = i; k < i + BATCH && k < ntiles; k++) {
			payload_for(k, p);
			sodium_bin2base64(b64, sizeof(b64), p, PAYLOAD, sodium_base64_VARIANT_ORIGINAL);
			buf_printf(&body, "%s{\"stream\":\"kv_cache\",\"snapshot_id\":\"snp_bench\","
				   "\"level\":0,\"x\":%d,\"y\":%d,\"shape\":[1,1,%d],\"dtype\":\"application/json\","
				   "\"tags\":\"tile %d\",\"payload\":{\"bytes_b64\":\"%s\"}}",
				   k > i ? "," : "", k % SIDE, k / SIDE, PAYLOAD, k, b64);
		}
		buf_puts(&body, "]");
		if (him_http(&srv, "POST", "/v1/tiles", buf_str(&body), NULL, &resp) != 201) {
			fprintf(stderr, "ingest failed at %d: %s\n", i, buf_str(&resp));
			exit(1);
		}
	}
	buf_release(&body);
	buf_release(&resp);
	return (double)(clock_mono_ms() - t0) / 1000.0;
}

/* ---- clients ----------------------------------------------------------- */

enum job { JOB_GET, JOB_QUERY, JOB_QUERY_NO_MATCH, JOB_QUERY_FRESH, JOB_FILE };

struct client {
	pthread_t t;
	enum job job;
	int index;
	const char *files_dir;
	double ms[REQUESTS_PER_CLIENT];
	int failures;
};

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	CURL *curl = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	uint32_t seed = (uint32_t)c->index * 7919u + 17u;
	char url[256], body[512];
	unsigned char buf[PAYLOAD * 2];

	h = curl_slist_append(h, "Accept: application/octet-stream");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	for (int r = 0; r < REQUESTS_PER_CLIENT; r++) {
		int i;
		double t0;
		long status = 0;

		seed = seed * 1664525u + 1013904223u;
		i = (int)(seed % (uint32_t)ntiles);
		t0 = now_ms();
		if (c->job == JOB_FILE) {
			int fd;

			snprintf(url, sizeof(url), "%s/%d/%d", c->files_dir, i % SIDE, i / SIDE);
			fd = open(url, O_RDONLY);
			if (fd < 0 || read(fd, buf, sizeof(buf)) != PAYLOAD)
				c->failures++;
			if (fd >= 0)
				close(fd);
		} else {
			if (c->job == JOB_GET) {
				snprintf(url, sizeof(url), "%s/v1/tiles/kv_cache/snp_bench/0/%d/%d",
					 srv.base, i % SIDE, i / SIDE);
				curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
			} else {
				static const char *const goals[] = { "submit button", "invoice garden",
								     "travel music", "recipe weather" };
				static const char *const unmatched[] = { "zebra crossing", "quartz",
									 "lighthouse keeper", "nebula" };
				char fresh[64];

				/* a goal never asked before: two words and a tile's number */
				snprintf(fresh, sizeof(fresh), "%s %s %d", goals[seed % 4],
					 goals[(seed / 4) % 4], i);
				snprintf(url, sizeof(url), "%s/v1/query", srv.base);
				snprintf(body, sizeof(body),
					 "{\"goal\":\"%s\",\"snapshot_id\":\"snp_bench\",\"stream\":"
					 "\"kv_cache\",\"budget_ms\":150,\"max_tiles\":8,"
					 "\"level_range\":[0,0]}",
					 c->job == JOB_QUERY ? goals[seed % 4]
					 : c->job == JOB_QUERY_FRESH ? fresh : unmatched[seed % 4]);
				curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
			}
			curl_easy_setopt(curl, CURLOPT_URL, url);
			if (curl_easy_perform(curl) != CURLE_OK)
				c->failures++;
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
			if (status != 200)
				c->failures++;
		}
		c->ms[r] = now_ms() - t0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return NULL;
}

static struct lat run_clients(enum job job, const char *files_dir, int *failures)
{
	struct client *c = xcalloc(CLIENTS, sizeof(*c));
	struct lat l = { xcalloc(CLIENTS * REQUESTS_PER_CLIENT, sizeof(double)), 0 };

	for (int i = 0; i < CLIENTS; i++) {
		c[i].job = job;
		c[i].index = i;
		c[i].files_dir = files_dir;
		pthread_create(&c[i].t, NULL, client_main, &c[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(c[i].t, NULL);
		memcpy(l.ms + l.n, c[i].ms, sizeof(c[i].ms));
		l.n += REQUESTS_PER_CLIENT;
		*failures += c[i].failures;
	}
	free(c);
	return l;
}

static void write_plain_files(const char *dir)
{
	unsigned char p[PAYLOAD];
	char path[512];

	mkdir(dir, 0700);
	for (int x = 0; x < SIDE; x++) {
		snprintf(path, sizeof(path), "%s/%d", dir, x);
		mkdir(path, 0700);
	}
	for (int i = 0; i < ntiles; i++) {
		int fd;

		payload_for(i, p);
		snprintf(path, sizeof(path), "%s/%d/%d", dir, i % SIDE, i / SIDE);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, p, PAYLOAD) != PAYLOAD)
			exit(1);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct kith_env env;
	struct buf resp = BUF_INIT(0);
	const char *failure = NULL;
	char *store = test_path("bench-him"), *plain = test_path("bench-plain");
	struct lat base, get, query, nomatch, fresh;
	int failures = 0;
	double secs;
	struct proc_result r;

	ntiles = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 100000;
	if (ntiles < 1000 || sodium_init() < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	kith_env_init(&env, "bench");
	kith_env_set(&env, "LOG_LEVEL", "warning");
	kith_env_set(&env, "HIM_API_THREADS", "16");
	if (him_server_start(&srv, &env, store, &failure, NULL) != 0) {
		fprintf(stderr, "%s\n", failure);
		return 1;
	}
	him_http(&srv, "POST", "/v1/snapshots",
		 "{\"snapshot_id\":\"snp_bench\",\"provenance\":{\"model\":\"bench\",\"code_sha\":\"0\"}}",
		 NULL, &resp);
	secs = ingest_all();
	write_plain_files(plain);

	base = run_clients(JOB_FILE, plain, &failures);
	get = run_clients(JOB_GET, NULL, &failures);
	query = run_clients(JOB_QUERY, NULL, &failures);
	nomatch = run_clients(JOB_QUERY_NO_MATCH, NULL, &failures);
	fresh = run_clients(JOB_QUERY_FRESH, NULL, &failures);

	printf("bench_him: %d tiles of %d bytes, %d clients × %d requests each\n", ntiles, PAYLOAD,
	       CLIENTS, REQUESTS_PER_CLIENT);
	printf("  ingest                     %.0f tiles/s (%.1f MB/s of payload, batches of %d)\n",
	       ntiles / secs, ntiles * (double)PAYLOAD / secs / 1e6, BATCH);
	report("baseline: read plain file", &base, NULL);
	report("GET tile (HTTP)", &get, &base);
	report("POST query K<=8 (HTTP)", &query, &base);
	report("  goal matching nothing", &nomatch, &base);
	report("  goals never asked before", &fresh, &base);
	if (failures)
		printf("  %d failed requests\n", failures);
	him_server_stop(&srv, &r);
	proc_result_release(&r);
	free(base.ms);
	free(get.ms);
	free(query.ms);
	free(nomatch.ms);
	free(fresh.ms);
	buf_release(&resp);
	kith_env_release(&env);
	free(store);
	free(plain);
	return failures ? 1 : 0;
}
