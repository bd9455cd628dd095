/* test_him_crash.c — SIGKILL during bulk ingest loses nothing acknowledged.
 *
 * Rounds of: start `kith him serve`, ingest batches from a second thread,
 * kill the server with SIGKILL once a randomly chosen number of batches has
 * been acknowledged (so the kill lands while another batch is in flight),
 * restart.  Then `kith him fsck` must be clean and every acknowledged tile
 * must read back with its checksum. */
#include "support/test.h"
#include "support/himtest.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"

#include <pthread.h>
#include <sodium.h>
#include <time.h>

#define ROUNDS 5
#define BATCH 48
#define MAX_ACKED 4096

struct acked {
	int level, x, y;
	char checksum[65];
};

static struct acked acked[MAX_ACKED];
static int nacked;                     /* guarded by mu */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int next_x;                     /* ingest thread only */

struct ingest_args {
	struct him_server *srv;
	int stop;                          /* atomic */
};

static char *batch_body(int x0, unsigned char payloads[BATCH][600])
{
	struct buf b = BUF_INIT(0);

	buf_puts(&b, "[");
	for (int i = 0; i < BATCH; i++) {
		char b64[1024];

		randombytes_buf(payloads[i], sizeof(payloads[i]));
		sodium_bin2base64(b64, sizeof(b64), payloads[i], sizeof(payloads[i]),
				  sodium_base64_VARIANT_ORIGINAL);
		buf_printf(&b, "%s{\"stream\":\"logs_raw\",\"snapshot_id\":\"snp_crash\",\"level\":0,"
			   "\"x\":%d,\"y\":%d,\"shape\":[1,1,600],\"dtype\":\"bytes\","
			   "\"payload\":{\"bytes_b64\":\"%s\"}}", i ? "," : "", x0, i, b64);
	}
	buf_puts(&b, "]");
	return buf_detach(&b);
}

static void *ingest(void *arg)
{
	struct ingest_args *a = arg;
	struct buf resp = BUF_INIT(0);
	unsigned char payloads[BATCH][600];

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		int x = next_x++;
		char *body = batch_body(x, payloads);
		json_t *j;

		if (him_http(a->srv, "POST", "/v1/tiles", body, NULL, &resp) != 201) {
			free(body);
			break;   /* the server died mid-request: not acknowledged */
		}
		j = kjson_parse(buf_str(&resp), resp.len, NULL);
		pthread_mutex_lock(&mu);
		for (int i = 0; i < BATCH && nacked < MAX_ACKED; i++) {
			const char *sum = kjson_str(json_array_get(j, (size_t)i), "checksum");

			acked[nacked].level = 0;
			acked[nacked].x = x;
			acked[nacked].y = i;
			snprintf(acked[nacked].checksum, sizeof(acked[nacked].checksum), "%s",
				 sum ? sum : "");
			nacked++;
		}
		pthread_mutex_unlock(&mu);
		json_decref(j);
		free(body);
	}
	buf_release(&resp);
	return NULL;
}

static int acked_count(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = nacked;
	pthread_mutex_unlock(&mu);
	return n;
}

static void test_kill_during_ingest(void)
{
	struct kith_env env;
	struct him_server srv;
	struct proc_result r;
	struct buf body = BUF_INIT(0);
	char *dir = test_path("crash-store");
	const char *failure = NULL;

	kith_env_init(&env, "crash");
	for (int round = 0; round < ROUNDS; round++) {
		struct ingest_args a = { &srv, 0 };
		pthread_t t;
		int target = acked_count() + BATCH * (1 + (int)randombytes_uniform(6));

		if (him_server_start(&srv, &env, dir, &failure, NULL) != 0) {
			test_fail_(__FILE__, __LINE__, "round %d: %s", round, failure);
			break;
		}
		if (round == 0)
			REQUIRE(him_http(&srv, "POST", "/v1/snapshots",
					 "{\"snapshot_id\":\"snp_crash\",\"provenance\":{\"model\":\"m\","
					 "\"code_sha\":\"c\"}}", NULL, &body) == 201);
		pthread_create(&t, NULL, ingest, &a);
		{
			int64_t deadline = clock_mono_ms() + 20000;
			struct timespec step = { 0, 1000000L };

			struct timespec jitter = { 0, (long)randombytes_uniform(8000) * 1000L };

			while (acked_count() < target && clock_mono_ms() < deadline)
				nanosleep(&step, NULL);
			/* Fault injection, not waiting: land the kill at a random
			 * point of the next batch's ingest. */
			nanosleep(&jitter, NULL);
		}
		him_server_kill(&srv);
		__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
	}
	CHECK(acked_count() > 0);

	REQUIRE(kith_run(&env, NULL, &r, "him", "fsck", "--data-dir", dir, NULL) == 0);
	CHECK_EQ(r.exit_code, 0);
	CHECK_CONTAINS(r.out, " 0 problems");
	if (r.exit_code != 0)
		fprintf(stderr, "fsck said:\n%s%s", r.out, r.err);
	proc_result_release(&r);

	REQUIRE(him_server_start(&srv, &env, dir, &failure, NULL) == 0);
	for (int i = 0; i < acked_count(); i++) {
		char path[128], *sum = NULL;
		const char *h[] = { "Accept: application/octet-stream", NULL };

		snprintf(path, sizeof(path), "/v1/tiles/logs_raw/snp_crash/%d/%d/%d", acked[i].level,
			 acked[i].x, acked[i].y);
		CHECK_EQ(him_http_ex(&srv, "GET", path, NULL, 0, h, "X-HIM-Checksum", &sum, &body),
			 200);
		CHECK_STR(sum, acked[i].checksum);
		free(sum);
	}
	CHECK_EQ(him_server_stop(&srv, &r), 0);
	proc_result_release(&r);
	buf_release(&body);
	kith_env_release(&env);
	free(dir);
}

int main(void)
{
	RUN(test_kill_during_ingest);
	return test_summary();
}
