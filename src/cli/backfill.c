/* backfill.c — `kith backfill`: import Discord channel history into memory.
 *
 * For each channel in BACKFILL_CHANNEL_IDS, pages through its history from
 * the newest message down (discord_history, 100 per page, through the REST
 * rate limiter) and remembers each person's message the way the agent
 * would have when it arrived: "{speaker}: {text}", the agent's salience
 * rule (agent_message_salience; what the agent would not keep is not kept
 * here either), the agent's scope rule (memory_scope_for), the time the
 * message was sent, source "discord:<id>" and its neighbours as context.
 * Bots' messages are context only.
 *
 * Resuming: after every batch (at most BATCH messages, one memory_add) the
 * channel's progress row is saved (store/backfill.c): the oldest message
 * processed, so the next page is fetched before it.  A batch stored but not
 * recorded is simply read again, and memory_add never stores the same text
 * twice in a scope, so a kill at any point loses nothing and duplicates
 * nothing.  A finished channel keeps the newest message it saw as its
 * floor: the next run imports only what is newer.  SIGINT/SIGTERM stop
 * after the current batch; `--restart` forgets the progress (memories
 * stay).
 *
 * Progress: one updating line on a terminal, a log line every
 * REPORT_EVERY_MS otherwise. */
#include "cli/cli.h"
#include "channel/discord/discord.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "memory/memory.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 100                 /* messages per history request (Discord's max) */
#define BATCH 64                 /* messages per memory_add and progress save */
#define TEXT_MAX 400             /* bytes of a message kept in its memory (as the agent) */
#define CONTEXT_LINES 2          /* neighbouring messages kept as context */
#define CONTEXT_MAX 300          /* bytes of them */
#define REPORT_EVERY_MS 5000     /* plain progress lines, when not on a terminal */
#define BAR_EVERY_MS 100         /* terminal line refresh */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct backfill {
	struct app app;
	struct channel *ch;
	const char *global_scope;    /* GLOBAL_MEMORY_ID, NULL = per conversation */
	int min_chars;               /* MEMORY_MIN_CHARS */
	bool tty;
	/* progress of this run */
	const char *channel_id;
	size_t index, nchannels;
	int64_t read, stored, known;
	int64_t started_ms, reported_ms;
	int64_t reached_ms;          /* send time of the oldest message read */
	bool bar_shown;
};

/* Snowflakes as numbers: ids of the same channel grow with time. */
static unsigned long long id_num(const char *id)
{
	return id ? strtoull(id, NULL, 10) : 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

static const char *speaker_of(const struct discord_message *m)
{
	if (m->author_name && *m->author_name)
		return m->author_name;
	return m->author_id ? m->author_id : "someone";
}

static bool has_text(const struct discord_message *m)
{
	struct slice s = slice_trim(slice_cstr(m->content ? m->content : ""));

	return s.n > 0;
}

/* The messages around v[k] (newest first) as "name: text" lines, oldest
 * first: the CONTEXT_LINES before it, or the ones after it when the page
 * holds fewer before it.  Heap, NULL when there are none. */
static char *context_of(const struct discord_message *v, size_t n, size_t k)
{
	size_t pick[CONTEXT_LINES], np = 0;
	struct buf b = BUF_INIT(0);
	char *out;

	for (size_t j = k + 1; j < n && np < CONTEXT_LINES; j++)
		if (has_text(&v[j]))
			pick[np++] = j;
	for (size_t j = k; j-- > 0 && np < CONTEXT_LINES;)
		if (has_text(&v[j]))
			pick[np++] = j;
	if (np == 0)
		return NULL;
	/* oldest first = highest index first */
	for (size_t a = 0; a < np; a++)
		for (size_t c = a + 1; c < np; c++)
			if (pick[c] > pick[a]) {
				size_t t = pick[a];

				pick[a] = pick[c];
				pick[c] = t;
			}
	for (size_t a = 0; a < np; a++) {
		const char *t = v[pick[a]].content;

		buf_printf(&b, "%s%s: %.*s", a ? "\n" : "", speaker_of(&v[pick[a]]),
			   (int)utf8_prefix(t, strlen(t), CONTEXT_MAX), t);
	}
	if (b.len > CONTEXT_MAX)
		b.len = utf8_prefix(b.data, b.len, CONTEXT_MAX);
	b.data[b.len] = '\0';
	out = buf_detach(&b);
	return out;
}

/* ---- progress ------------------------------------------------------------ */

static void report(struct backfill *bf, bool force)
{
	int64_t now = clock_mono_ms();
	double secs = (double)(now - bf->started_ms) / 1000.0;
	double rate = secs > 0 ? (double)bf->read / secs : 0;
	char day[32] = "";

	if (!force && now - bf->reported_ms < (bf->tty ? BAR_EVERY_MS : REPORT_EVERY_MS))
		return;
	bf->reported_ms = now;
	if (bf->reached_ms > 0) {
		time_t t = (time_t)(bf->reached_ms / 1000);
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(day, sizeof(day), ", back to %Y-%m-%d", &tm);
	}
	if (bf->tty) {
		fprintf(stderr, "\r\033[K[%zu/%zu] channel %s: %lld messages read, %lld memories stored,"
				" %.0f msg/s%s", bf->index + 1, bf->nchannels, bf->channel_id,
			(long long)bf->read, (long long)bf->stored, rate, day);
		fflush(stderr);
		bf->bar_shown = true;
	} else {
		log_info("backfill", "channel %s (%zu/%zu): %lld messages read, %lld memories stored,"
				     " %.0f msg/s%s", bf->channel_id, bf->index + 1, bf->nchannels,
			 (long long)bf->read, (long long)bf->stored, rate, day);
	}
}

static void end_bar(struct backfill *bf)
{
	if (bf->tty && bf->bar_shown) {
		fputc('\n', stderr);
		bf->bar_shown = false;
	}
}

/* ---- one channel ---------------------------------------------------------- */

/* Store v[from..to) (newest first) as memories, skipping bots, empty texts
 * and what the agent would not keep. */
static enum kith_status store_batch(struct backfill *bf, const struct discord_message *v,
				    size_t n, size_t from, size_t to, int64_t *stored,
				    char **why)
{
	struct memory_new mem[BATCH];
	char *owned[BATCH][3];
	bool dup[BATCH];
	size_t k = 0;
	char scope[MEMORY_SCOPE_MAX + 1];
	enum kith_status rc = KITH_OK;

	memory_scope_for(bf->global_scope, "discord", bf->channel_id, scope);
	for (size_t i = from; i < to; i++) {
		const struct discord_message *m = &v[i];
		double sal;

		if (m->author_bot || !has_text(m))
			continue;
		sal = agent_message_salience(m->content, bf->min_chars);
		if (sal <= 0)
			continue;
		owned[k][0] = xasprintf("%s: %.*s", speaker_of(m),
					(int)utf8_prefix(m->content, strlen(m->content), TEXT_MAX),
					m->content);
		owned[k][1] = xasprintf("backfill,user_message,channel:discord,user:%s",
					m->author_id ? m->author_id : "");
		owned[k][2] = xasprintf("discord:%s", m->id);
		mem[k] = (struct memory_new){
			.scope = scope, .speaker = speaker_of(m), .text = owned[k][0],
			.tags = owned[k][1], .salience = sal, .created_at = m->created_at,
			.source = owned[k][2], .context = context_of(v, n, i),
		};
		k++;
	}
	*stored = 0;
	if (k)
		rc = memory_add(bf->app.memory, bf->app.st, mem, k, NULL, dup, why);
	for (size_t i = 0; i < k; i++) {
		if (!rc && !dup[i])
			(*stored)++;
		if (!rc && dup[i])
			bf->known++;
		free(owned[i][0]);
		free(owned[i][1]);
		free(owned[i][2]);
		free((char *)mem[i].context);
	}
	return rc;
}

enum outcome { CHANNEL_DONE, CHANNEL_STOPPED, CHANNEL_FAILED };

static enum outcome backfill_channel(struct backfill *bf, const char *channel_id)
{
	struct store_backfill p;
	enum kith_status rc;
	enum outcome res = CHANNEL_FAILED;
	char *why = NULL;

	rc = store_backfill_get(bf->app.st, channel_id, &p, &why);
	if (rc == KITH_ENOTFOUND) {
		free(why);
		why = NULL;
		rc = KITH_OK;
		p.channel_id = xstrdup(channel_id);
	}
	if (rc)
		goto fail;
	if (p.done) {
		/* a new pass, down to where the last one began */
		p.done = false;
		set_str(&p.cursor, NULL);
		set_str(&p.top, NULL);
	} else if (p.cursor) {
		log_info("backfill", "channel %s: resuming before message %s", channel_id, p.cursor);
	}
	for (;;) {
		struct discord_message *v = NULL;
		size_t n = 0;
		bool floor_hit = false;

		if (stop_signal) {
			res = CHANNEL_STOPPED;
			goto out;
		}
		rc = discord_history(bf->ch, channel_id, p.cursor, PAGE, &v, &n, &why);
		if (rc)
			goto fail;
		if (n == 0) {
			discord_messages_free(v, n);
			break;
		}
		if (!p.top && !p.cursor)
			p.top = xstrdup(v[0].id);
		for (size_t i = 0; i < n && !floor_hit; i += BATCH) {
			size_t to = i + BATCH < n ? i + BATCH : n;
			int64_t stored = 0;

			/* stop at the floor: older messages came in an earlier pass */
			for (size_t j = i; j < to; j++)
				if (p.floor && id_num(v[j].id) <= id_num(p.floor)) {
					to = j;
					floor_hit = true;
				}
			if (to == i)
				break;
			rc = store_batch(bf, v, n, i, to, &stored, &why);
			if (rc) {
				discord_messages_free(v, n);
				goto fail;
			}
			set_str(&p.cursor, v[to - 1].id);
			p.messages += (int64_t)(to - i);
			p.memories += stored;
			bf->read += (int64_t)(to - i);
			bf->stored += stored;
			bf->reached_ms = v[to - 1].created_at;
			rc = store_backfill_put(bf->app.st, &p, &why);
			if (rc) {
				discord_messages_free(v, n);
				goto fail;
			}
			report(bf, false);
			if (stop_signal) {
				discord_messages_free(v, n);
				res = CHANNEL_STOPPED;
				goto out;
			}
		}
		discord_messages_free(v, n);
		if (floor_hit)
			break;
	}
	/* reached the floor or the channel's first message */
	p.done = true;
	if (p.top)
		set_str(&p.floor, p.top);
	rc = store_backfill_put(bf->app.st, &p, &why);
	if (rc)
		goto fail;
	res = CHANNEL_DONE;
	goto out;
fail:
	end_bar(bf);
	log_error("backfill", "channel %s: %s", channel_id, why ? why : kith_strerror(rc));
	fprintf(stderr, "kith: backfill of channel %s stopped: %s\n", channel_id,
		why ? why : kith_strerror(rc));
	free(why);
out:
	store_backfill_release(&p);
	return res;
}

/* ---- the command ----------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr, "usage: kith backfill [--restart]\n"
			"  imports the history of the channels in BACKFILL_CHANNEL_IDS into memory,\n"
			"  resuming where the last run stopped; --restart forgets that progress.\n");
	return EXIT_USAGE;
}

/* The settings backfill cannot run without; 0 or EXIT_USAGE with the
 * message printed. */
static int check_settings(void)
{
	struct config *cfg = NULL;
	char *why = NULL;
	int rc = 0;

	if (config_load(&cfg, NULL, NULL, &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid configuration: %s\n", why ? why : "unknown error");
		free(why);
		return EXIT_USAGE;
	}
	if (!config_str(cfg, CFG_DISCORD_BOT_TOKEN)) {
		fprintf(stderr, "kith: backfill needs DISCORD_BOT_TOKEN (the bot's token from the "
				"Discord developer portal)\n");
		rc = EXIT_USAGE;
	} else if (!config_list(cfg, CFG_BACKFILL_CHANNEL_IDS)[0]) {
		fprintf(stderr, "kith: backfill needs BACKFILL_CHANNEL_IDS (the channel ids whose "
				"history to import, e.g. \"123,456\")\n");
		rc = EXIT_USAGE;
	} else if (!config_bool(cfg, CFG_MEMORY_ENABLED)) {
		fprintf(stderr, "kith: backfill stores memories, but MEMORY_ENABLED is false\n");
		rc = EXIT_USAGE;
	}
	config_free(cfg);
	return rc;
}

int cli_backfill(int argc, char **argv)
{
	struct backfill bf;
	struct discord_config dc = { 0 };
	struct sigaction sa;
	const char *const *ids;
	bool restart = false;
	char *why = NULL;
	int rc;
	size_t done = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--restart") == 0)
			restart = true;
		else
			return usage();
	}
	rc = check_settings();
	if (rc)
		return rc;
	memset(&bf, 0, sizeof(bf));
	bf.tty = isatty(STDERR_FILENO) == 1;
	rc = app_init(&bf.app, APP_STORE | APP_AGENT | (bf.tty ? APP_QUIET : 0));
	if (rc)
		goto out;
	bf.global_scope = bf.app.deps.memory_scope;
	bf.min_chars = bf.app.deps.memory_min_chars;
	dc.token = config_str(bf.app.cfg, CFG_DISCORD_BOT_TOKEN);
	dc.api_url = config_str(bf.app.cfg, CFG_DISCORD_API_URL);
	bf.ch = discord_channel_new(&dc, &why);
	if (!bf.ch) {
		fprintf(stderr, "kith: %s\n", why ? why : "cannot set up Discord");
		free(why);
		rc = EXIT_USAGE;
		goto out;
	}
	ids = config_list(bf.app.cfg, CFG_BACKFILL_CHANNEL_IDS);
	for (bf.nchannels = 0; ids[bf.nchannels]; bf.nchannels++)
		;
	if (restart) {
		for (size_t i = 0; i < bf.nchannels; i++) {
			if (store_backfill_forget(bf.app.st, ids[i], NULL, &why) != KITH_OK) {
				fprintf(stderr, "kith: %s\n", why);
				free(why);
				rc = 1;
				goto out;
			}
		}
		log_info("backfill", "progress forgotten; starting from the newest messages");
	}

	stop_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = 0;
	for (bf.index = 0; bf.index < bf.nchannels && rc <= 1; bf.index++) {
		enum outcome o;
		int64_t read0 = bf.read, stored0 = bf.stored;

		bf.channel_id = ids[bf.index];
		if (!bf.started_ms)
			bf.started_ms = clock_mono_ms();
		if (bf.tty)
			report(&bf, true);
		o = backfill_channel(&bf, bf.channel_id);
		report(&bf, true);
		if (o == CHANNEL_DONE) {
			done++;
			log_info("backfill", "channel %s done: %lld messages read, %lld memories stored",
				 bf.channel_id, (long long)(bf.read - read0),
				 (long long)(bf.stored - stored0));
		} else if (o == CHANNEL_STOPPED) {
			rc = 128 + (int)stop_signal;
		} else {
			rc = 1;   /* the other channels still get their turn */
		}
	}
	end_bar(&bf);
	if (rc > 128)
		fprintf(stderr, "kith: backfill interrupted; progress saved, run `kith backfill` again "
				"to continue\n");
	else if (rc)
		fprintf(stderr, "kith: progress saved; run `kith backfill` again to continue\n");
	printf("%zu of %zu channel%s done: %lld messages read, %lld new memories (%lld already "
	       "known)\n", done, bf.nchannels, bf.nchannels == 1 ? "" : "s", (long long)bf.read,
	       (long long)bf.stored, (long long)bf.known);
out:
	chan_free(bf.ch);
	app_release(&bf.app);
	return rc;
}
