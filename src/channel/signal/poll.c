/* poll.c — receiving by polling, for signal-cli-rest-api's normal and
 * native modes (which have no WebSocket).
 *
 * One thread asks GET /v1/receive/{number}?timeout=N in a loop; the server
 * waits up to N seconds for messages and answers a JSON array, so the loop
 * needs no pause of its own while the API answers.  Each element goes to
 * the channel as a raw frame, exactly as the WebSocket would deliver it.  A
 * failing poll is retried with exponential backoff (reset by the next
 * success), logged on the first failure and every tenth after. */
#include "channel/signal/signal_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEF_RECONNECT_BASE_MS 1000
#define DEF_RECONNECT_MAX_MS 60000
#define DEF_POLL_TIMEOUT_S 1

struct sg_poll {
	struct sg_receiver_config cfg;
	struct cancel stop;
	pthread_t thread;
	bool started;
	unsigned seed;
};

struct sg_poll *sg_poll_new(const struct sg_receiver_config *cfg)
{
	struct sg_poll *p = xcalloc(1, sizeof(*p));

	p->cfg = *cfg;
	p->cfg.api_url = NULL;   /* not kept: the rest client has it */
	p->cfg.number = NULL;
	if (p->cfg.reconnect_base_ms <= 0)
		p->cfg.reconnect_base_ms = DEF_RECONNECT_BASE_MS;
	if (p->cfg.reconnect_max_ms <= 0)
		p->cfg.reconnect_max_ms = DEF_RECONNECT_MAX_MS;
	if (p->cfg.poll_timeout_s <= 0)
		p->cfg.poll_timeout_s = DEF_POLL_TIMEOUT_S;
	p->seed = (unsigned)clock_mono_ms() ^ (unsigned)(uintptr_t)p;
	return p;
}

static void state(struct sg_poll *p, enum signal_state st)
{
	if (p->cfg.on_state)
		p->cfg.on_state(st, p->cfg.ud);
}

/* Hand every frame of one answer on; false when the channel stops. */
static bool deliver(struct sg_poll *p, const struct buf *body)
{
	char **frames = NULL, *why = NULL;
	size_t n = 0;
	bool ok = true;

	if (sg_parse_receive_array(buf_str(body), body->len, &frames, &n, &why) != KITH_OK) {
		log_warn("signal", "ignoring a receive answer: %s", why);
		free(why);
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (ok && !p->cfg.on_frame(frames[i], strlen(frames[i]), p->cfg.ud))
			ok = false;
		free(frames[i]);
	}
	free(frames);
	return ok;
}

static void *poll_main(void *arg)
{
	struct sg_poll *p = arg;
	struct buf body = BUF_INIT(SG_MAX_POLL_BODY);
	int failures = 0;

	while (!cancel_requested(&p->stop)) {
		char *why = NULL;
		long w;

		if (sg_rest_poll(p->cfg.rest, p->cfg.poll_timeout_s, &body, &why) == KITH_OK) {
			if (failures)
				log_info("signal", "receiving again");
			failures = 0;
			state(p, SIGNAL_RECEIVING);
			if (!deliver(p, &body))
				break;
			continue;
		}
		if (cancel_requested(&p->stop)) {
			free(why);
			break;
		}
		failures++;
		state(p, SIGNAL_CONNECTING);
		w = sg_backoff_ms(p->cfg.reconnect_base_ms, p->cfg.reconnect_max_ms, failures,
				  (double)rand_r(&p->seed) / ((double)RAND_MAX + 1.0));
		if (failures == 1 || failures % 10 == 0)
			log_warn("signal", "%s; retrying in %ld ms", why, w);
		free(why);
		if (clock_sleep_unless(w, &p->stop))
			break;
	}
	buf_release(&body);
	return NULL;
}

enum kith_status sg_poll_start(struct sg_poll *p, char **why)
{
	if (p->started)
		return KITH_OK;
	cancel_clear(&p->stop);
	state(p, SIGNAL_CONNECTING);
	if (pthread_create(&p->thread, NULL, poll_main, p) != 0)
		return kith_why(why, KITH_EIO, "cannot start the Signal receive thread");
	p->started = true;
	return KITH_OK;
}

void sg_poll_stop(struct sg_poll *p)
{
	if (!p || !p->started)
		return;
	cancel_request(&p->stop);
	pthread_join(p->thread, NULL);
	p->started = false;
	state(p, SIGNAL_STOPPED);
}

void sg_poll_free(struct sg_poll *p)
{
	if (!p)
		return;
	sg_poll_stop(p);
	free(p);
}
