/* ws_client.h — what the two WebSocket clients (Discord's gateway, the
 * Signal receive socket) share around libwebsockets: its log lines routed
 * into kith's log, and splitting the URL they connect to.
 *
 * Hosts are restricted to letters, digits, '.', '-' and '_' (no user
 * info, no IPv6 literals: neither service hands those out) and at most 253
 * bytes; a port must be 1–65535. */
#ifndef KITH_CHANNEL_WS_CLIENT_H
#define KITH_CHANNEL_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Route libwebsockets' own messages (errors only) into kith's log; once
 * per process, safe from any thread. */
void ws_client_logging(void);

/* A URL split for lws_client_connect_via_info. */
struct ws_url {
	bool tls;
	char *host;          /* heap */
	int port;            /* the scheme's default when absent */
	const char *path;    /* into the URL: from '/' up to '?' or '#'; may be empty */
	size_t path_len;
};

/* Split `url` whose scheme is `secure` (TLS, port 443) or `plain` (port
 * 80), e.g. "wss"/"ws" or "https"/"http".  The query and fragment are
 * dropped.  False (nothing allocated) when it is not such a URL. */
bool ws_url_split(const char *url, const char *secure, const char *plain, struct ws_url *out);

#endif
