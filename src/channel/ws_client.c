/* ws_client.c — libwebsockets logging and URL splitting (ws_client.h). */
#include "channel/ws_client.h"
#include "core/alloc.h"
#include "core/log.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warn("lws", "%.*s", (int)n, line);
	else
		log_debug("lws", "%.*s", (int)n, line);
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_init(void)
{
	lws_set_log_level(LLL_ERR, lws_log);
}

void ws_client_logging(void)
{
	pthread_once(&log_once, log_init);
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* "scheme://" at the start of url: the rest, else NULL. */
static const char *after_scheme(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);

	if (strncasecmp(url, scheme, n) == 0 && strncmp(url + n, "://", 3) == 0)
		return url + n + 3;
	return NULL;
}

bool ws_url_split(const char *url, const char *secure, const char *plain, struct ws_url *out)
{
	const char *p, *hs, *he;
	long port;

	memset(out, 0, sizeof(*out));
	if (!url)
		return false;
	if ((p = after_scheme(url, secure)) != NULL) {
		out->tls = true;
		port = 443;
	} else if ((p = after_scheme(url, plain)) != NULL) {
		port = 80;
	} else {
		return false;
	}
	hs = p;
	while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#')
		p++;
	he = p;
	if (he == hs || (size_t)(he - hs) > 253)
		return false;
	for (const char *c = hs; c < he; c++)
		if (!host_char(*c))
			return false;
	if (*p == ':') {
		char *end;

		port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			return false;
		p = end;
	}
	if (*p && *p != '/' && *p != '?' && *p != '#')
		return false;
	out->path = p;
	while (*p && *p != '?' && *p != '#')
		p++;
	out->path_len = (size_t)(p - out->path);
	out->host = xstrndup(hs, (size_t)(he - hs));
	out->port = (int)port;
	return true;
}
