/* log.c — sinks, level filtering and secret masking.
 *
 * One mutex serialises formatting and writing so lines from different
 * threads never interleave.  The secret list is small (a handful of keys),
 * so masking is a plain substring scan per secret. */
#include "core/log.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

volatile int log_threshold_ = LOG_INFO;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_level stderr_level = LOG_INFO;
static enum log_level file_level = LOG_OFF;
static FILE *file_sink;
static char *file_path;
static long file_max_bytes;
static int file_backups;
static char **secrets;
static size_t nsecrets, secrets_cap;

static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR", "OFF" };

const char *log_level_name(enum log_level l)
{
	return (unsigned)l <= LOG_OFF ? names[l] : "?";
}

bool log_level_parse(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level l; } table[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN },
		{ "warning", LOG_WARN }, { "error", LOG_ERROR }, { "critical", LOG_ERROR },
		{ "off", LOG_OFF },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcasecmp(s, table[i].name) == 0) {
			*out = table[i].l;
			return true;
		}
	}
	return false;
}

static void update_threshold(void)
{
	enum log_level t = stderr_level;

	if (file_sink && file_level < t)
		t = file_level;
	log_threshold_ = (int)t;
}

void log_set_stderr_level(enum log_level l)
{
	pthread_mutex_lock(&lock);
	stderr_level = l;
	update_threshold();
	pthread_mutex_unlock(&lock);
}

static FILE *open_sink(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f)
		close(fd);
	else
		fseek(f, 0, SEEK_END);   /* so ftell() measures the existing file */
	return f;
}

enum kith_status log_open_file(const char *path, enum log_level l, long max_bytes, int backups,
			       char **why)
{
	FILE *f = open_sink(path);

	if (!f)
		return kith_why(why, KITH_EIO, "cannot open log file %s: %s", path, strerror(errno));
	pthread_mutex_lock(&lock);
	if (file_sink)
		fclose(file_sink);
	free(file_path);
	file_sink = f;
	file_path = xstrdup(path);
	file_max_bytes = max_bytes;
	file_backups = backups;
	file_level = l;
	update_threshold();
	pthread_mutex_unlock(&lock);
	return KITH_OK;
}

/* Caller holds the lock.  path.N-1 → path.N, …, path → path.1, then a
 * fresh file; with no backups the file is simply truncated. */
static void rotate_locked(void)
{
	FILE *f;

	fclose(file_sink);
	file_sink = NULL;
	for (int i = file_backups; i >= 1; i--) {
		char *from = i == 1 ? xstrdup(file_path) : xasprintf("%s.%d", file_path, i - 1);
		char *to = xasprintf("%s.%d", file_path, i);

		rename(from, to);
		free(from);
		free(to);
	}
	if (file_backups <= 0)
		truncate(file_path, 0);
	f = open_sink(file_path);
	if (f)
		file_sink = f;
	else
		file_level = LOG_OFF;
	update_threshold();
}

void log_close(void)
{
	pthread_mutex_lock(&lock);
	if (file_sink)
		fclose(file_sink);
	file_sink = NULL;
	free(file_path);
	file_path = NULL;
	file_level = LOG_OFF;
	update_threshold();
	pthread_mutex_unlock(&lock);
}

void log_add_secret(const char *secret)
{
	if (!secret || strlen(secret) < 4)
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nsecrets; i++) {
		if (strcmp(secrets[i], secret) == 0) {
			pthread_mutex_unlock(&lock);
			return;
		}
	}
	secrets = xgrow(secrets, &secrets_cap, nsecrets + 1, sizeof(*secrets));
	secrets[nsecrets++] = xstrdup(secret);
	pthread_mutex_unlock(&lock);
}

void log_remove_secret(const char *secret)
{
	if (!secret)
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nsecrets; i++) {
		if (strcmp(secrets[i], secret) == 0) {
			free(secrets[i]);
			secrets[i] = secrets[--nsecrets];
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

void log_clear_secrets(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = secrets_cap = 0;
	pthread_mutex_unlock(&lock);
}

/* Caller holds the lock. */
static char *mask_locked(const char *s)
{
	char *cur = xstrdup(s);

	for (size_t i = 0; i < nsecrets; i++) {
		const char *sec = secrets[i];
		size_t sl = strlen(sec);
		struct buf out = BUF_INIT(0);
		const char *p = cur, *hit;

		if (!strstr(cur, sec))
			continue;
		while ((hit = strstr(p, sec))) {
			buf_append(&out, p, (size_t)(hit - p));
			buf_puts(&out, "****");
			p = hit + sl;
		}
		buf_puts(&out, p);
		free(cur);
		cur = buf_detach(&out);
	}
	return cur;
}

char *log_mask(const char *s)
{
	char *r;

	pthread_mutex_lock(&lock);
	r = mask_locked(s);
	pthread_mutex_unlock(&lock);
	return r;
}

void log_write(enum log_level l, const char *tag, const char *fmt, ...)
{
	va_list ap;
	char *msg, *masked, stamp[32];
	struct tm tm;
	time_t now = (time_t)(clock_now_ms() / 1000);

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);

	pthread_mutex_lock(&lock);
	masked = mask_locked(msg);
	if (l >= stderr_level)
		fprintf(stderr, "%s %-5s [%s] %s\n", stamp, log_level_name(l), tag, masked);
	if (file_sink && l >= file_level && file_max_bytes > 0 &&
	    ftell(file_sink) + (long)strlen(masked) + 64 > file_max_bytes)
		rotate_locked();
	if (file_sink && l >= file_level) {
		fprintf(file_sink, "%s %-5s [%s] %s\n", stamp, log_level_name(l), tag, masked);
		fflush(file_sink);
	}
	pthread_mutex_unlock(&lock);
	free(masked);
	free(msg);
}
