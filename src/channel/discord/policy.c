/* policy.c — the gateway's rules as pure functions of "now".
 *
 * Heartbeat scheduling, what a close code means and reconnect backoff are
 * decided here from explicit arguments (the time, a random draw), never by
 * reading a clock, so the unit tests step through a simulated day of
 * heartbeats in microseconds and the gateway thread just obeys. */
#include "channel/discord/discord_int.h"

#include <stddef.h>

void dc_hb_start(struct dc_heartbeat *hb, long interval_ms, double jitter, int64_t now)
{
	if (jitter < 0 || !(jitter < 1))
		jitter = 0;
	hb->interval_ms = interval_ms > 0 ? interval_ms : 1;
	hb->next_due = now + (int64_t)((double)hb->interval_ms * jitter);
	hb->awaiting_ack = false;
	hb->running = true;
}

enum dc_hb_action dc_hb_tick(struct dc_heartbeat *hb, int64_t now, long *wait_ms)
{
	if (!hb->running) {
		*wait_ms = -1;
		return DC_HB_WAIT;
	}
	if (now < hb->next_due) {
		*wait_ms = (long)(hb->next_due - now);
		return DC_HB_WAIT;
	}
	if (hb->awaiting_ack) {
		/* The last beat was never acknowledged: the connection is a
		 * zombie.  The caller reconnects; no more beats on this one. */
		hb->running = false;
		*wait_ms = -1;
		return DC_HB_ZOMBIE;
	}
	hb->awaiting_ack = true;
	/* Keep the cadence even when the tick came late. */
	hb->next_due += hb->interval_ms;
	if (hb->next_due <= now)
		hb->next_due = now + hb->interval_ms;
	*wait_ms = (long)(hb->next_due - now);
	return DC_HB_SEND;
}

void dc_hb_ack(struct dc_heartbeat *hb)
{
	hb->awaiting_ack = false;
}

void dc_hb_requested(struct dc_heartbeat *hb)
{
	/* The out-of-schedule beat is acknowledged like any other. */
	hb->awaiting_ack = true;
}

void dc_hb_stop(struct dc_heartbeat *hb)
{
	hb->running = false;
	hb->awaiting_ack = false;
}

static const struct close_code {
	int code;
	enum dc_close_action action;
	const char *meaning;
	const char *advice;
} close_codes[] = {
	{ 4000, DC_CLOSE_RESUME, "Unknown error", NULL },
	{ 4001, DC_CLOSE_RESUME, "Unknown opcode", NULL },
	{ 4002, DC_CLOSE_RESUME, "Decode error", NULL },
	{ 4003, DC_CLOSE_RESUME, "Not authenticated", NULL },
	{ 4004, DC_CLOSE_FATAL, "Authentication failed",
	  "Discord rejected the bot token; check DISCORD_BOT_TOKEN" },
	{ 4005, DC_CLOSE_RESUME, "Already authenticated", NULL },
	{ 4007, DC_CLOSE_IDENTIFY, "Invalid seq", NULL },
	{ 4008, DC_CLOSE_RESUME, "Rate limited", NULL },
	{ 4009, DC_CLOSE_IDENTIFY, "Session timed out", NULL },
	{ 4010, DC_CLOSE_FATAL, "Invalid shard", "Discord refused the shard settings" },
	{ 4011, DC_CLOSE_FATAL, "Sharding required",
	  "the bot is in too many servers for one connection (sharding is not supported)" },
	{ 4012, DC_CLOSE_FATAL, "Invalid API version", "Discord no longer accepts gateway v10" },
	{ 4013, DC_CLOSE_FATAL, "Invalid intent(s)", "Discord refused the requested intents" },
	{ 4014, DC_CLOSE_FATAL, "Disallowed intent(s)",
	  "enable the Message Content intent for the bot in the Discord developer portal "
	  "(Bot → Privileged Gateway Intents)" },
};

static const struct close_code *find_code(int code)
{
	for (size_t i = 0; i < sizeof(close_codes) / sizeof(close_codes[0]); i++)
		if (close_codes[i].code == code)
			return &close_codes[i];
	return NULL;
}

enum dc_close_action dc_close_action(int code, const char **meaning)
{
	const struct close_code *c = find_code(code);

	if (meaning)
		*meaning = c ? c->meaning : code == 0 ? "connection lost" : "closed";
	/* Anything else (1000/1001 from the server, 1006, unknown codes) is
	 * a dropped connection: resume if there is a session. */
	return c ? c->action : DC_CLOSE_RESUME;
}

const char *dc_close_advice(int code)
{
	const struct close_code *c = find_code(code);

	return c && c->advice ? c->advice : "Discord closed the connection for good";
}

long dc_backoff_ms(long base_ms, long max_ms, int attempt, double r)
{
	double v = (double)base_ms;

	for (int i = 1; i < attempt && v < (double)max_ms; i++)
		v *= 2;
	if (v > (double)max_ms)
		v = (double)max_ms;
	if (r < 0 || !(r < 1))
		r = 0.5;
	v *= 0.75 + 0.5 * r;
	if (v > (double)max_ms)
		v = (double)max_ms;
	return v < 0 ? 0 : (long)v;
}
