/* log.h — levelled logging with a subsystem tag on every line.
 *
 * The macros test the level before formatting, so a disabled debug line
 * costs one comparison.  Every line passes through secret masking: values
 * registered with log_add_secret() (API keys, tokens) are replaced by "****"
 * wherever they appear, so a secret never reaches a log sink even when it
 * is embedded in a URL or an error body.  Thread-safe. */
#ifndef KITH_CORE_LOG_H
#define KITH_CORE_LOG_H

#include <stdbool.h>

#include "core/status.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

extern volatile int log_threshold_; /* lowest level any sink accepts */

/* Parse "debug", "INFO", "warning", "error", "critical", "off". */
bool log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);

/* Sinks: stderr and an optional file (appended to, created 0600).  When the
 * file would grow past max_bytes (0 = never rotate) it is renamed to
 * path.1 (path.1 to path.2, …, keeping `backups` old files) and a new one
 * is started. */
void log_set_stderr_level(enum log_level l);
enum kith_status log_open_file(const char *path, enum log_level l, long max_bytes, int backups,
			       char **why) KITH_MUST_CHECK;
void log_close(void);

/* Register a secret to mask; values shorter than 4 bytes are ignored
 * (masking "a" everywhere would destroy the log).  The string is copied. */
void log_add_secret(const char *secret);
/* Stop masking a secret that is no longer valid (a replaced token), so
 * short-lived credentials do not pile up in the list. */
void log_remove_secret(const char *secret);
void log_clear_secrets(void);
/* Copy of `s` with every registered secret masked (caller frees). */
char *log_mask(const char *s);

void log_write(enum log_level l, const char *tag, const char *fmt, ...) KITH_PRINTF(3, 4);

#define LOG_AT_(lvl, tag, ...) \
	do { if ((int)(lvl) >= log_threshold_) log_write((lvl), (tag), __VA_ARGS__); } while (0)
#define log_debug(tag, ...) LOG_AT_(LOG_DEBUG, tag, __VA_ARGS__)
#define log_info(tag, ...)  LOG_AT_(LOG_INFO, tag, __VA_ARGS__)
#define log_warn(tag, ...)  LOG_AT_(LOG_WARN, tag, __VA_ARGS__)
#define log_error(tag, ...) LOG_AT_(LOG_ERROR, tag, __VA_ARGS__)

#endif
