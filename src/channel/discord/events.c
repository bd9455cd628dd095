/* events.c — parsing what Discord sends: gateway payloads, dispatch events,
 * REST bodies and rate-limit headers.
 *
 * Pure functions over untrusted text: no I/O, no globals, every field
 * checked for type, unknown keys ignored (real READY carries dozens).
 * Snowflakes stay strings.  A MESSAGE_CREATE becomes a struct inbound here
 * so the gateway thread only moves pointers; the fuzz targets drive all of
 * it. */
#include "channel/discord/discord_int.h"
#include "core/alloc.h"
#include "core/json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DISCORD_EPOCH_MS 1420070400000LL

enum kith_status dc_payload_parse(const char *p, size_t n, struct dc_payload *out, char **why)
{
	json_t *root, *op, *s;

	memset(out, 0, sizeof(*out));
	out->s = -1;
	root = kjson_parse(p, n, why);
	if (!root)
		return KITH_EPROTO;
	op = json_is_object(root) ? json_object_get(root, "op") : NULL;
	if (!json_is_integer(op) || json_integer_value(op) < 0 || json_integer_value(op) > 1000) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "gateway payload without an integer \"op\"");
	}
	out->root = root;
	out->op = (int)json_integer_value(op);
	out->d = json_object_get(root, "d");
	s = json_object_get(root, "s");
	if (json_is_integer(s) && json_integer_value(s) >= 0)
		out->s = json_integer_value(s);
	out->t = kjson_str(root, "t");
	if (out->op == DC_OP_DISPATCH && !out->t) {
		dc_payload_release(out);
		return kith_why(why, KITH_EPROTO, "dispatch without an event name");
	}
	return KITH_OK;
}

void dc_payload_release(struct dc_payload *pl)
{
	json_decref(pl->root);
	memset(pl, 0, sizeof(*pl));
	pl->s = -1;
}

enum kith_status dc_parse_hello(const json_t *d, long *interval_ms, char **why)
{
	double v;

	if (!kjson_num(d, "heartbeat_interval", &v) || !(v >= 1) || v > 3600e3)
		return kith_why(why, KITH_EPROTO, "Hello without a usable heartbeat_interval");
	*interval_ms = (long)v;
	return KITH_OK;
}

enum kith_status dc_parse_ready(const json_t *d, struct dc_ready *out, char **why)
{
	const json_t *user = kjson_obj(d, "user");
	const char *sid = kjson_str(d, "session_id"), *url = kjson_str(d, "resume_gateway_url");
	const char *uid = kjson_str(user, "id");

	memset(out, 0, sizeof(*out));
	if (!sid || !*sid || !uid || !*uid)
		return kith_why(why, KITH_EPROTO, "READY without session_id or user.id");
	out->session_id = xstrdup(sid);
	out->resume_url = url && *url ? xstrdup(url) : NULL;
	out->user_id = xstrdup(uid);
	out->username = xstrdup(kjson_str(user, "username"));
	return KITH_OK;
}

void dc_ready_release(struct dc_ready *r)
{
	free(r->session_id);
	free(r->resume_url);
	free(r->user_id);
	free(r->username);
	memset(r, 0, sizeof(*r));
}

int64_t dc_snowflake_ms(const char *id)
{
	unsigned long long v;
	char *end;

	if (!id || !isdigit((unsigned char)id[0]))
		return 0;
	errno = 0;
	v = strtoull(id, &end, 10);
	if (errno || *end)
		return 0;
	return (int64_t)(v >> 22) + DISCORD_EPOCH_MS;
}

void discord_message_release(struct discord_message *m)
{
	if (!m)
		return;
	free(m->id);
	free(m->channel_id);
	free(m->guild_id);
	free(m->author_id);
	free(m->author_name);
	free(m->content);
	free(m->reply_to);
	free(m->reply_to_author);
	free(m->reply_to_text);
	for (size_t i = 0; i < m->nmentions; i++)
		free(m->mentions[i]);
	free(m->mentions);
	for (size_t i = 0; i < m->nattachments; i++) {
		free(m->attachments[i].url);
		free(m->attachments[i].content_type);
		free(m->attachments[i].filename);
	}
	free(m->attachments);
	memset(m, 0, sizeof(*m));
}

void discord_messages_free(struct discord_message *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		discord_message_release(&v[i]);
	free(v);
}

static char *user_name(const json_t *user)
{
	const char *g = kjson_str(user, "global_name"), *u = kjson_str(user, "username");

	return xstrdup(g && *g ? g : u);
}

enum kith_status dc_parse_message(const json_t *d, struct discord_message *out, char **why)
{
	const char *id = kjson_str(d, "id"), *cid = kjson_str(d, "channel_id");
	const json_t *author = kjson_obj(d, "author"), *ref = kjson_obj(d, "message_reference");
	const json_t *refmsg = kjson_obj(d, "referenced_message");
	json_t *arr, *e;
	size_t i;
	bool b;

	memset(out, 0, sizeof(*out));
	if (!id || !*id || !cid || !*cid)
		return kith_why(why, KITH_EPROTO, "message without id or channel_id");
	out->id = xstrdup(id);
	out->channel_id = xstrdup(cid);
	out->guild_id = xstrdup(kjson_str(d, "guild_id"));
	out->author_id = xstrdup(kjson_str(author, "id"));
	out->author_name = user_name(author);
	out->author_bot = kjson_bool(author, "bot", &b) && b;
	out->content = xstrdup(kjson_str(d, "content"));
	out->reply_to = xstrdup(kjson_str(ref, "message_id"));
	if (refmsg) {
		if (!out->reply_to)
			out->reply_to = xstrdup(kjson_str(refmsg, "id"));
		out->reply_to_author = xstrdup(kjson_str(kjson_obj(refmsg, "author"), "id"));
		out->reply_to_text = xstrdup(kjson_str(refmsg, "content"));
	}
	arr = kjson_arr(d, "mentions");
	if (arr && json_array_size(arr)) {
		out->mentions = xcalloc(json_array_size(arr), sizeof(char *));
		json_array_foreach(arr, i, e) {
			const char *mid = kjson_str(e, "id");

			if (mid)
				out->mentions[out->nmentions++] = xstrdup(mid);
		}
	}
	arr = kjson_arr(d, "attachments");
	if (arr && json_array_size(arr)) {
		out->attachments = xcalloc(json_array_size(arr), sizeof(*out->attachments));
		json_array_foreach(arr, i, e) {
			struct discord_attachment *a = &out->attachments[out->nattachments];
			const char *url = kjson_str(e, "url");
			long long size = 0;

			if (!url)
				continue;
			a->url = xstrdup(url);
			a->content_type = xstrdup(kjson_str(e, "content_type"));
			a->filename = xstrdup(kjson_str(e, "filename"));
			a->size = kjson_int(e, "size", &size) ? size : 0;
			out->nattachments++;
		}
	}
	out->created_at = dc_snowflake_ms(id);
	return KITH_OK;
}

enum kith_status dc_parse_messages(const char *p, size_t n, struct discord_message **out,
				   size_t *count, char **why)
{
	json_t *arr = kjson_parse(p, n, why), *e;
	struct discord_message *v = NULL;
	size_t i, k = 0;
	enum kith_status st = KITH_OK;

	*out = NULL;
	*count = 0;
	if (!arr)
		return KITH_EPROTO;
	if (!json_is_array(arr)) {
		st = kith_why(why, KITH_EPROTO, "message history is not an array");
		goto out;
	}
	v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
	json_array_foreach(arr, i, e) {
		/* One malformed entry does not hide the rest of the page. */
		if (dc_parse_message(e, &v[k], NULL) == KITH_OK)
			k++;
	}
	*out = v;
	*count = k;
	v = NULL;
out:
	free(v);
	json_decref(arr);
	return st;
}

enum kith_status dc_parse_reaction(const json_t *d, struct dc_reaction *out, char **why)
{
	const json_t *emoji = kjson_obj(d, "emoji");
	const char *uid = kjson_str(d, "user_id"), *cid = kjson_str(d, "channel_id");
	const char *mid = kjson_str(d, "message_id"), *name = kjson_str(emoji, "name");
	const char *eid = kjson_str(emoji, "id");

	memset(out, 0, sizeof(*out));
	if (!uid || !cid || !mid || !name)
		return kith_why(why, KITH_EPROTO, "reaction without user_id, channel_id, message_id or emoji");
	out->user_id = xstrdup(uid);
	out->channel_id = xstrdup(cid);
	out->message_id = xstrdup(mid);
	out->guild_id = xstrdup(kjson_str(d, "guild_id"));
	out->emoji = eid ? xasprintf("%s:%s", name, eid) : xstrdup(name);
	out->message_author_id = xstrdup(kjson_str(d, "message_author_id"));
	return KITH_OK;
}

void dc_reaction_release(struct dc_reaction *r)
{
	free(r->user_id);
	free(r->channel_id);
	free(r->message_id);
	free(r->guild_id);
	free(r->emoji);
	free(r->message_author_id);
	memset(r, 0, sizeof(*r));
}

static bool mentions_id(const struct discord_message *m, const char *id)
{
	for (size_t i = 0; id && i < m->nmentions; i++)
		if (strcmp(m->mentions[i], id) == 0)
			return true;
	return false;
}

/* Moves the message's strings into a new event. */
static struct inbound *message_event(struct discord_message *m, enum inbound_kind kind,
				     struct channel *ch, const char *self_id)
{
	struct inbound *ev = inbound_new(kind, ch, m->channel_id, m->author_id, m->content);

	ev->author_name = m->author_name;
	m->author_name = NULL;
	ev->external_id = m->id;
	m->id = NULL;
	ev->reply_to = m->reply_to;
	m->reply_to = NULL;
	ev->reply_to_author = m->reply_to_author;
	m->reply_to_author = NULL;
	ev->reply_to_text = m->reply_to_text;
	m->reply_to_text = NULL;
	ev->direct = m->guild_id == NULL;
	ev->author_is_bot = m->author_bot;
	ev->mentions_self = mentions_id(m, self_id);
	if (m->created_at)
		ev->created_at = m->created_at;
	if (m->nattachments) {
		ev->attachments = xcalloc(m->nattachments, sizeof(*ev->attachments));
		for (size_t i = 0; i < m->nattachments; i++) {
			ev->attachments[i].url = m->attachments[i].url;
			ev->attachments[i].content_type = m->attachments[i].content_type;
			ev->attachments[i].filename = m->attachments[i].filename;
			m->attachments[i].url = m->attachments[i].content_type = NULL;
			m->attachments[i].filename = NULL;
		}
		ev->nattachments = m->nattachments;
	}
	return ev;
}

enum kith_status dc_dispatch_to_inbound(const char *t, const json_t *d, struct channel *ch,
					const char *self_id, struct inbound **out, char **why)
{
	enum kith_status st = KITH_OK;

	*out = NULL;
	if (!t)
		return KITH_OK;
	if (strcmp(t, "MESSAGE_CREATE") == 0 || strcmp(t, "MESSAGE_UPDATE") == 0) {
		struct discord_message m;
		bool create = t[8] == 'C';

		st = dc_parse_message(d, &m, why);
		if (st)
			return st;
		/* Our own messages come back as events: echoes, not input.  An
		 * update without content (an embed resolving) says nothing new. */
		if ((!m.author_id || !self_id || strcmp(m.author_id, self_id) != 0) &&
		    m.author_id && (create || m.content))
			*out = message_event(&m, create ? INBOUND_MESSAGE : INBOUND_EDIT, ch, self_id);
		discord_message_release(&m);
	} else if (strcmp(t, "MESSAGE_REACTION_ADD") == 0) {
		struct dc_reaction r;
		struct inbound *ev;

		st = dc_parse_reaction(d, &r, why);
		if (st)
			return st;
		if (!self_id || strcmp(r.user_id, self_id) != 0) {
			ev = inbound_new(INBOUND_REACTION, ch, r.channel_id, r.user_id, r.emoji);
			ev->external_id = r.message_id;
			r.message_id = NULL;
			ev->reply_to_author = r.message_author_id;
			r.message_author_id = NULL;
			ev->direct = r.guild_id == NULL;
			*out = ev;
		}
		dc_reaction_release(&r);
	}
	return st;
}

enum kith_status dc_parse_gateway_bot(const char *p, size_t n, char **url, int *max_concurrency,
				      char **why)
{
	json_t *root = kjson_parse(p, n, why);
	const char *u = kjson_str(root, "url");
	long long mc = 1;
	enum kith_status st = KITH_OK;

	*url = NULL;
	*max_concurrency = 1;
	if (!root)
		return KITH_EPROTO;
	if (!u || (strncasecmp(u, "ws://", 5) != 0 && strncasecmp(u, "wss://", 6) != 0)) {
		st = kith_why(why, KITH_EPROTO, "/gateway/bot gave no ws:// or wss:// url");
		goto out;
	}
	*url = xstrdup(u);
	if (kjson_int(kjson_obj(root, "session_start_limit"), "max_concurrency", &mc) && mc >= 1 &&
	    mc <= 1024)
		*max_concurrency = (int)mc;
out:
	json_decref(root);
	return st;
}

enum kith_status dc_parse_user_id(const char *p, size_t n, char **id, char **why)
{
	json_t *root = kjson_parse(p, n, why);
	const char *s = kjson_str(root, "id");
	enum kith_status st = KITH_OK;

	*id = NULL;
	if (!root)
		return KITH_EPROTO;
	if (!s || !*s)
		st = kith_why(why, KITH_EPROTO, "user object without an id");
	else
		*id = xstrdup(s);
	json_decref(root);
	return st;
}

char *dc_error_text(const char *p, size_t n)
{
	json_t *root = n ? json_loadb(p, n, 0, NULL) : NULL;
	const char *msg = kjson_str(root, "message");
	long long code;
	char *r = NULL;

	if (msg && kjson_int(root, "code", &code) && code)
		r = xasprintf("%.200s (%lld)", msg, code);
	else if (msg)
		r = xasprintf("%.200s", msg);
	json_decref(root);
	return r;
}

void dc_rl_info_init(struct dc_rl_info *i)
{
	i->bucket = NULL;
	i->remaining = i->reset_after_ms = i->retry_after_ms = -1;
	i->global = false;
}

void dc_rl_info_release(struct dc_rl_info *i)
{
	free(i->bucket);
	dc_rl_info_init(i);
}

long dc_seconds_to_ms(const char *s)
{
	char *end;
	double v;

	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (errno || *end || !isfinite(v) || v < 0)
		return -1;
	if (v > 86400)
		v = 86400;
	return (long)ceil(v * 1000.0);
}

void dc_rl_info_header(struct dc_rl_info *i, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	size_t klen;
	char *value;
	long v;

	if (!colon)
		return;
	klen = (size_t)(colon - line);
	value = slice_dup(slice_trim(slice_of(colon + 1, n - klen - 1)));
	if (klen == 18 && strncasecmp(line, "X-RateLimit-Bucket", klen) == 0) {
		if (*value && strlen(value) <= 128) {
			free(i->bucket);
			i->bucket = value;
			value = NULL;
		}
	} else if (klen == 21 && strncasecmp(line, "X-RateLimit-Remaining", klen) == 0) {
		char *end;

		errno = 0;
		v = strtol(value, &end, 10);
		if (!errno && end != value && !*end && v >= 0)
			i->remaining = v;
	} else if (klen == 23 && strncasecmp(line, "X-RateLimit-Reset-After", klen) == 0) {
		i->reset_after_ms = dc_seconds_to_ms(value);
	} else if (klen == 18 && strncasecmp(line, "X-RateLimit-Global", klen) == 0) {
		if (strcasecmp(value, "true") == 0)
			i->global = true;
	} else if (klen == 11 && strncasecmp(line, "Retry-After", klen) == 0) {
		/* The body's float wins; the header is whole seconds. */
		if (i->retry_after_ms < 0)
			i->retry_after_ms = dc_seconds_to_ms(value);
	}
	free(value);
}

void dc_rl_info_body(struct dc_rl_info *i, const char *p, size_t n)
{
	json_t *root = n ? json_loadb(p, n, 0, NULL) : NULL;
	double ra;
	bool g;

	if (kjson_num(root, "retry_after", &ra) && isfinite(ra) && ra >= 0)
		i->retry_after_ms = (long)ceil((ra > 86400 ? 86400 : ra) * 1000.0);
	if (kjson_bool(root, "global", &g) && g)
		i->global = true;
	json_decref(root);
}
