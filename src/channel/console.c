/* console.c — the terminal channel: stdin lines in, replies out.
 *
 * One reader thread polls the input fd together with a wake-up pipe, so
 * chan_stop() can interrupt a blocking read at once.  Interactive sessions
 * show a prompt and wait for the reply to each line before prompting again,
 * keeping the screen in order; piped input is read straight through and
 * its replies are printed one per message.  End of input becomes an
 * INBOUND_CLOSED event queued behind the last message, so the runtime
 * answers everything before it shuts down. */
#include "channel/channel.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/queue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define CONSOLE_CONVERSATION "default"
#define CONSOLE_MAX_LINE (64 * 1024)

struct console {
	struct channel ch;
	int in_fd;
	FILE *out;
	bool interactive;
	char *user;
	struct queue *inbox;
	pthread_t reader;
	bool started;
	int wake[2];            /* wake[1] written by stop */
	pthread_mutex_t mu;     /* guards out, pending, stopping */
	pthread_cond_t idle;
	int pending;            /* lines handed over, reply not yet done */
	bool stopping;
};

static void prompt(struct console *c)
{
	if (!c->interactive)
		return;
	fputs("you> ", c->out);
	fflush(c->out);
}

/* Interactive: block until the runtime has finished with every line. */
static bool wait_idle(struct console *c)
{
	bool stopping;

	pthread_mutex_lock(&c->mu);
	while (c->interactive && c->pending > 0 && !c->stopping)
		pthread_cond_wait(&c->idle, &c->mu);
	stopping = c->stopping;
	pthread_mutex_unlock(&c->mu);
	return !stopping;
}

static bool hand_over(struct console *c, struct inbound *ev)
{
	pthread_mutex_lock(&c->mu);
	c->pending++;
	pthread_mutex_unlock(&c->mu);
	if (queue_push(c->inbox, ev, -1) != KITH_OK) {
		pthread_mutex_lock(&c->mu);
		c->pending--;
		pthread_mutex_unlock(&c->mu);
		inbound_free(ev);
		return false;
	}
	return true;
}

static bool handle_line(struct console *c, struct slice line)
{
	struct inbound *ev;

	line = slice_trim(line);
	if (line.n == 0) {
		prompt(c);
		return true;
	}
	ev = inbound_new(INBOUND_MESSAGE, &c->ch, CONSOLE_CONVERSATION, c->user, NULL);
	free(ev->text);
	ev->text = slice_dup(line);
	ev->author_name = xstrdup(c->user);
	if (!hand_over(c, ev))
		return false;
	if (!wait_idle(c))
		return false;
	prompt(c);
	return true;
}

/* Returns false when reading should stop (EOF, error or stop requested). */
static bool read_some(struct console *c, struct buf *pending_line, bool *too_long)
{
	struct pollfd fds[2] = { { c->in_fd, POLLIN, 0 }, { c->wake[0], POLLIN, 0 } };
	char chunk[4096];
	ssize_t n;

	if (poll(fds, 2, -1) < 0)
		return errno == EINTR;
	if (fds[1].revents)
		return false;
	n = read(c->in_fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0) {
		if (pending_line->len && !*too_long)
			handle_line(c, slice_of(pending_line->data, pending_line->len));
		return false;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (chunk[i] != '\n') {
			if (!*too_long && buf_append(pending_line, &chunk[i], 1) != KITH_OK)
				*too_long = true;
			continue;
		}
		if (*too_long) {
			pthread_mutex_lock(&c->mu);
			fprintf(c->out, "kith: that line was longer than %d bytes and was not sent\n",
				CONSOLE_MAX_LINE);
			pthread_mutex_unlock(&c->mu);
			prompt(c);
		} else if (!handle_line(c, slice_of(buf_str(pending_line), pending_line->len))) {
			return false;
		}
		buf_reset(pending_line);
		*too_long = false;
	}
	return true;
}

static void *reader_main(void *arg)
{
	struct console *c = arg;
	struct buf line = BUF_INIT(CONSOLE_MAX_LINE);
	bool too_long = false;
	bool stopped;

	prompt(c);
	while (read_some(c, &line, &too_long))
		;
	buf_release(&line);
	pthread_mutex_lock(&c->mu);
	stopped = c->stopping;
	pthread_mutex_unlock(&c->mu);
	if (!stopped) {
		if (c->interactive) {
			fputc('\n', c->out);
			fflush(c->out);
		}
		hand_over(c, inbound_new(INBOUND_CLOSED, &c->ch, CONSOLE_CONVERSATION, c->user, NULL));
	}
	return NULL;
}

static enum kith_status console_start(struct channel *ch, struct queue *inbox, char **why)
{
	struct console *c = ch->impl;

	c->inbox = inbox;
	if (pipe2(c->wake, O_CLOEXEC) != 0)
		return kith_why(why, KITH_EIO, "console: cannot create a pipe: %s", strerror(errno));
	if (pthread_create(&c->reader, NULL, reader_main, c) != 0)
		return kith_why(why, KITH_EIO, "console: cannot start the reader thread");
	c->started = true;
	return KITH_OK;
}

static void console_stop(struct channel *ch)
{
	struct console *c = ch->impl;

	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->mu);
	if (write(c->wake[1], "x", 1) < 0)
		log_warn("console", "cannot wake the reader: %s", strerror(errno));
	pthread_join(c->reader, NULL);
	close(c->wake[0]);
	close(c->wake[1]);
	c->started = false;
}

static enum kith_status console_send(struct channel *ch, const char *conversation,
				     const char *text, const char *reply_to,
				     const struct attachment *att, size_t natt, char **why)
{
	struct console *c = ch->impl;

	pthread_mutex_lock(&c->mu);
	if (c->interactive)
		fprintf(c->out, "kith> %s\n", text);
	else
		fprintf(c->out, "%s\n", text);
	for (size_t i = 0; i < natt; i++)
		fprintf(c->out, "[attachment: %s, %zu bytes]\n",
			att[i].filename ? att[i].filename : "unnamed", att[i].len);
	fflush(c->out);
	pthread_mutex_unlock(&c->mu);
	return KITH_OK;
}

static void console_turn_done(struct channel *ch, const struct inbound *ev)
{
	struct console *c = ch->impl;

	pthread_mutex_lock(&c->mu);
	if (c->pending > 0)
		c->pending--;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->mu);
}

static void console_destroy(struct channel *ch)
{
	struct console *c = ch->impl;

	console_stop(ch);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->idle);
	free(c->user);
	free(c);
}

static const struct channel_ops console_ops = {
	.name = "console",
	.start = console_start,
	.stop = console_stop,
	.send = console_send,
	.turn_done = console_turn_done,
	.destroy = console_destroy,
};

struct channel *console_channel_new(int in_fd, FILE *out, int interactive, const char *user)
{
	struct console *c = xcalloc(1, sizeof(*c));

	c->ch.ops = &console_ops;
	c->ch.impl = c;
	c->in_fd = in_fd;
	c->out = out;
	c->interactive = interactive != 0;
	c->user = xstrdup(user && *user ? user : "owner");
	c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->idle, NULL);
	return &c->ch;
}
