/* sysaccess_client.c — the HTTP exchange under the tmux control and
 * host-exec clients: bearer token, JSON in and out, and the server's
 * {"detail": …} turned into a status and a sentence. */
#include "tools/sysaccess.h"
#include "core/alloc.h"
#include "core/http.h"
#include "core/json.h"

#include <string.h>

static enum kith_status status_for(long http)
{
	switch (http) {
	case 401:
	case 403: return KITH_EAUTH;
	case 404: return KITH_ENOTFOUND;
	case 409: return KITH_ECONFLICT;
	case 400:
	case 413:
	case 422: return KITH_EINVAL;
	default: return KITH_EHTTP;
	}
}

enum kith_status sysaccess_call(const char *method, const char *url, const char *token,
				const char *body, long timeout_ms, json_t **answer, char **why)
{
	char *auth = xasprintf("Authorization: Bearer %s", token ? token : "");
	const char *headers[] = { "Content-Type: application/json", "Accept: application/json",
				  auth, NULL };
	struct http_request req = { .method = method, .url = url, .headers = headers,
				    .body = body, .body_len = body ? strlen(body) : 0,
				    .timeout_ms = timeout_ms, .connect_timeout_ms = 5000 };
	struct http_response resp;
	char *hwhy = NULL;
	enum kith_status rc;
	json_t *j = NULL;

	*answer = NULL;
	http_response_init(&resp);
	rc = http_perform(&req, &resp, &hwhy);
	if (rc == KITH_OK || rc == KITH_EHTTP)
		j = kjson_parse(resp.body.data ? resp.body.data : "", resp.body.len, NULL);
	if (rc == KITH_EHTTP) {
		const char *detail = kjson_str(j, "detail");

		rc = kith_why(why, status_for(resp.status), "%s (HTTP %ld)",
			      detail ? detail : "the server refused the request", resp.status);
	} else if (rc) {
		rc = kith_why(why, rc, "%s", hwhy ? hwhy : kith_strerror(rc));
	} else if (!json_is_object(j)) {
		rc = kith_why(why, KITH_EPROTO, "the server's answer is not a JSON object");
	} else {
		*answer = j;
		j = NULL;
	}
	json_decref(j);
	http_response_release(&resp);
	free(hwhy);
	/* The header held the token: clear it before it goes back to the heap. */
	memset(auth, 0, strlen(auth));
	free(auth);
	return rc;
}
