/* fake_llm.c — a scriptable fake Ollama / OpenAI-compatible (OpenRouter) server.
 *
 * libmicrohttpd with a thread per connection, so a delayed or slow answer
 * never holds up another request.  Every request goes through three steps:
 * collect the body (capped), record it, route it.  A chat answer is first
 * turned into a wire-neutral "plan" (content, thinking, tool calls, usage);
 * the mode's dialect then renders the plan either as one JSON object or,
 * streaming, step by step: a small state machine renders one event (NDJSON
 * line or SSE event) each time MHD's content-reader callback asks, so every
 * event leaves as its own HTTP chunk and nothing is rendered ahead.
 * Shapes follow ../shared/reference/protocols.md §3 (Ollama) and §4
 * (OpenAI/OpenRouter). */
#include "fakes/fake_llm.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_BODY ((size_t)16 << 20) /* POST bodies beyond this get 413 */
#define DELAY_STEP_MS 20            /* stop/disconnect checks while delaying */
#define WAIT_STEP_MS 5              /* fake_llm_wait_requests polling step */
#define DEFAULT_CHUNK_CHARS 4
#define DEFAULT_EMBED_DIM 8
#define MAX_EMBED_DIM 4096
#define STREAM_BLOCK 16384
#define JSON_TYPE "application/json; charset=utf-8"

/* ---------------------------------------------------------------------- */
/* Small containers                                                       */

struct strvec {
	char **v;
	size_t n, cap;
};

static void strvec_push(struct strvec *sv, char *s) /* takes s */
{
	sv->v = xgrow(sv->v, &sv->cap, sv->n + 1, sizeof *sv->v);
	sv->v[sv->n++] = s;
}

static bool strvec_has(const struct strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

static void strvec_clear(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

struct header {
	char *name, *value;
};

/* One recorded request; bodies are NUL-terminated copies. */
struct recorded {
	char *method, *path, *body;
	size_t body_len;
	struct header *hdrs;
	size_t nhdrs, hdrcap;
};

struct script_item {
	struct fake_reply r; /* strings owned */
	struct script_item *next;
};

struct fake_llm {
	enum fake_llm_mode mode;
	const struct dialect *dialect;
	struct MHD_Daemon *daemon;
	int port;
	char *url;
	int stopping;                 /* atomic; set first thing in stop */

	pthread_mutex_t lock;         /* guards every field below */
	struct script_item *head, *tail;
	size_t npending;
	char *default_reply;
	bool models_set;
	struct strvec models;         /* normalised names */
	struct strvec seen;           /* models requested so far */
	size_t embed_dim;
	int embed_fail_status;        /* scripted embedding failures … */
	size_t embed_fail_left;       /* … for this many more requests */
	double embed_scale;           /* embeddings are multiplied by this */
	char *gen_image;              /* /api/generate "image" (base64), NULL = none */
	int gen_fail_status;          /* scripted /api/generate failures … */
	size_t gen_fail_left;         /* … for this many more requests */
	struct recorded *reqs;
	size_t nreqs, reqcap;
	uint64_t serial;              /* feeds ids */
};

static bool stopping(struct fake_llm *f)
{
	return __atomic_load_n(&f->stopping, __ATOMIC_ACQUIRE) != 0;
}

/* ---------------------------------------------------------------------- */
/* Scripted replies: the field table drives copying, freeing and loading  */

enum field_type { FIELD_STR, FIELD_INT, FIELD_LONG };

static const struct reply_field {
	const char *name;
	enum field_type type;
	size_t off;
} reply_fields[] = {
	{ "content", FIELD_STR, offsetof(struct fake_reply, content) },
	{ "tool_name", FIELD_STR, offsetof(struct fake_reply, tool_name) },
	{ "tool_args", FIELD_STR, offsetof(struct fake_reply, tool_args) },
	{ "tool_calls_json", FIELD_STR, offsetof(struct fake_reply, tool_calls_json) },
	{ "status", FIELD_INT, offsetof(struct fake_reply, status) },
	{ "error_body", FIELD_STR, offsetof(struct fake_reply, error_body) },
	{ "retry_after", FIELD_STR, offsetof(struct fake_reply, retry_after) },
	{ "stream_error", FIELD_STR, offsetof(struct fake_reply, stream_error) },
	{ "delay_ms", FIELD_INT, offsetof(struct fake_reply, delay_ms) },
	{ "chunk_chars", FIELD_INT, offsetof(struct fake_reply, chunk_chars) },
	{ "thinking", FIELD_STR, offsetof(struct fake_reply, thinking) },
	{ "prompt_tokens", FIELD_LONG, offsetof(struct fake_reply, prompt_tokens) },
	{ "completion_tokens", FIELD_LONG, offsetof(struct fake_reply, completion_tokens) },
};
#define NFIELDS (sizeof reply_fields / sizeof reply_fields[0])

static const char **field_str(struct fake_reply *r, const struct reply_field *fd)
{
	return (const char **)(void *)((char *)r + fd->off);
}

static void reply_copy(struct fake_reply *dst, const struct fake_reply *src)
{
	*dst = *src;
	for (size_t i = 0; i < NFIELDS; i++)
		if (reply_fields[i].type == FIELD_STR) {
			const char **s = field_str(dst, &reply_fields[i]);
			*s = xstrdup(*s);
		}
}

static void reply_release(struct fake_reply *r)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (reply_fields[i].type == FIELD_STR)
			free((char *)*field_str(r, &reply_fields[i]));
	memset(r, 0, sizeof *r);
}

/* tool_calls_json must be an array of objects with a string "name". */
static bool tool_calls_valid(const char *text, char **why)
{
	json_t *arr = kjson_parse(text, strlen(text), why);
	size_t i;
	json_t *e;
	bool ok = json_is_array(arr);

	if (arr && !ok)
		kith_why(why, KITH_EINVAL, "tool_calls_json is not an array");
	json_array_foreach(arr, i, e) {
		if (ok && !kjson_str(e, "name")) {
			kith_why(why, KITH_EINVAL, "tool_calls_json[%zu] has no string \"name\"", i);
			ok = false;
		}
	}
	json_decref(arr);
	return ok;
}

void fake_llm_push(struct fake_llm *f, const struct fake_reply *r)
{
	struct script_item *it = xcalloc(1, sizeof *it);
	char *why = NULL;

	if (r->tool_calls_json && !tool_calls_valid(r->tool_calls_json, &why)) {
		fprintf(stderr, "fake_llm_push: %s\n", why);
		KITH_BUG("fake_llm_push: malformed tool_calls_json");
	}
	reply_copy(&it->r, r);
	pthread_mutex_lock(&f->lock);
	if (f->tail)
		f->tail->next = it;
	else
		f->head = it;
	f->tail = it;
	f->npending++;
	pthread_mutex_unlock(&f->lock);
}

static bool reply_has_calls(const struct fake_reply *r)
{
	return r->tool_name || r->tool_calls_json;
}

/* The next scripted reply, or the default one; the caller owns *r.  A
 * scripted reply with neither content nor tool calls (say, only a delay)
 * answers with the default text. */
static void take_reply(struct fake_llm *f, struct fake_reply *r)
{
	struct script_item *it;

	pthread_mutex_lock(&f->lock);
	it = f->head;
	if (it) {
		f->head = it->next;
		if (!f->head)
			f->tail = NULL;
		f->npending--;
		*r = it->r;
		free(it);
	} else {
		memset(r, 0, sizeof *r);
	}
	if (!r->content && !reply_has_calls(r))
		r->content = xstrdup(f->default_reply);
	pthread_mutex_unlock(&f->lock);
}

/* One script entry from JSON.  Strings point into obj or into `keep`
 * (texts dumped from JSON values); `keep` outlives the push. */
static bool reply_from_json(const json_t *obj, struct fake_reply *r, struct strvec *keep,
			    char **why)
{
	const char *key;
	json_t *v;

	memset(r, 0, sizeof *r);
	if (!json_is_object(obj)) {
		kith_why(why, KITH_EINVAL, "entry is not an object");
		return false;
	}
	json_object_foreach((json_t *)obj, key, v) {
		const struct reply_field *fd = NULL;

		for (size_t i = 0; i < NFIELDS && !fd; i++)
			if (strcmp(reply_fields[i].name, key) == 0)
				fd = &reply_fields[i];
		if (!fd) {
			kith_why(why, KITH_EINVAL, "unknown field \"%s\"", key);
			return false;
		}
		if (json_is_null(v))
			continue;
		if (fd->type == FIELD_STR && json_is_string(v)) {
			*field_str(r, fd) = json_string_value(v);
		} else if (fd->type == FIELD_STR && (!strcmp(key, "tool_args") ||
						     !strcmp(key, "tool_calls_json"))) {
			/* Convenience: JSON given as JSON rather than as text. */
			char *text = kjson_dump(v, false);

			strvec_push(keep, text);
			*field_str(r, fd) = text;
		} else if (fd->type == FIELD_INT && json_is_integer(v)) {
			*(int *)(void *)((char *)r + fd->off) = (int)json_integer_value(v);
		} else if (fd->type == FIELD_LONG && json_is_integer(v)) {
			*(long *)(void *)((char *)r + fd->off) = (long)json_integer_value(v);
		} else {
			kith_why(why, KITH_EINVAL, "field \"%s\" has the wrong type", key);
			return false;
		}
	}
	if (r->tool_calls_json && !tool_calls_valid(r->tool_calls_json, why))
		return false;
	return true;
}

bool fake_llm_push_json(struct fake_llm *f, const json_t *script)
{
	struct strvec keep = { 0 };
	struct fake_reply *replies;
	size_t n = json_array_size(script);
	char *why = NULL;
	bool ok = json_is_array(script);

	if (!ok) {
		fprintf(stderr, "fake-llm script: not a JSON array of replies\n");
		return false;
	}
	/* Check every entry before pushing any, so a bad script changes nothing. */
	replies = xcalloc(n, sizeof *replies);
	for (size_t i = 0; i < n && ok; i++) {
		ok = reply_from_json(json_array_get(script, i), &replies[i], &keep, &why);
		if (!ok)
			fprintf(stderr, "fake-llm script: entry %zu: %s\n", i, why);
	}
	for (size_t i = 0; i < n && ok; i++)
		fake_llm_push(f, &replies[i]);
	free(why);
	free(replies);
	strvec_clear(&keep);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* Ids, time, hashing                                                     */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* prefix + n chars of [a-z0-9], distinct per call ("call_k3j9x0ab"). */
static char *make_id(struct fake_llm *f, const char *prefix, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	struct buf b = BUF_INIT(0);
	uint64_t st;

	pthread_mutex_lock(&f->lock);
	st = ++f->serial;
	pthread_mutex_unlock(&f->lock);
	(void)buf_puts(&b, prefix);
	for (size_t i = 0; i < n; i++) {
		char c = alphabet[splitmix64(&st) % (sizeof alphabet - 1)];

		(void)buf_append(&b, &c, 1);
	}
	return buf_detach(&b);
}

/* RFC 3339 UTC with milliseconds, as Ollama's created_at. */
static void iso_now(char *out, size_t len)
{
	int64_t ms = clock_now_ms();
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03dZ", base, (int)(ms % 1000));
}

/* Bytes in the first `chars` UTF-8 characters of s, so stream pieces never
 * split a character (jansson refuses invalid UTF-8). */
static size_t utf8_prefix(const char *s, size_t chars)
{
	size_t i = 0;

	while (s[i] && chars--) {
		i++;
		while (((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
	}
	return i;
}

/* Roughly four characters a token, never zero. */
static long approx_tokens(size_t chars)
{
	return chars ? (long)((chars + 3) / 4) : 1;
}

/* ---------------------------------------------------------------------- */
/* Models                                                                 */

/* Ollama treats "llama3.2" and "llama3.2:latest" as one model. */
static char *model_key(enum fake_llm_mode mode, const char *name)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	if (mode == FAKE_LLM_OLLAMA && !strchr(base, ':'))
		return xasprintf("%s:latest", name);
	return xstrdup(name);
}

/* Note the model as requested; false when a model list is set without it. */
static bool model_known(struct fake_llm *f, const char *name)
{
	char *key = model_key(f->mode, name);
	bool known;

	pthread_mutex_lock(&f->lock);
	known = !f->models_set || strvec_has(&f->models, key);
	if (!strvec_has(&f->seen, key))
		strvec_push(&f->seen, xstrdup(key));
	pthread_mutex_unlock(&f->lock);
	free(key);
	return known;
}

/* What /api/tags and /v1/models list: the model list when set, else the
 * mode's default model plus every model requested so far. */
static void list_models(struct fake_llm *f, const char *default_model, struct strvec *out)
{
	pthread_mutex_lock(&f->lock);
	if (f->models_set) {
		for (size_t i = 0; i < f->models.n; i++)
			strvec_push(out, xstrdup(f->models.v[i]));
	} else {
		strvec_push(out, xstrdup(default_model));
		for (size_t i = 0; i < f->seen.n; i++)
			if (!strvec_has(out, f->seen.v[i]))
				strvec_push(out, xstrdup(f->seen.v[i]));
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---------------------------------------------------------------------- */
/* Images in chat requests                                                */

/* Ollama: message.images, bare base64 strings.  OpenAI: content parts
 * {"type":"image_url","image_url":{"url":"data:<mime>;base64,…"}} (an
 * http(s) URL is accepted too; the fake cannot fetch it, so it has no
 * bytes).  Walked the same way to validate a request and to answer the
 * accessors, so what a test reads is what the server accepted. */
struct image_ref {
	const char *b64;      /* base64 text, NULL for a remote URL */
	size_t b64_len;
	char *mime;           /* from a data: URL; NULL otherwise */
};

struct image_list {
	struct image_ref *v;
	size_t n, cap;
};

static void image_list_release(struct image_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].mime);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static void image_list_add(struct image_list *l, const char *b64, size_t n, char *mime)
{
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n].b64 = b64;
	l->v[l->n].b64_len = n;
	l->v[l->n].mime = mime;
	l->n++;
}

/* Strict standard base64 with padding, as Go's StdEncoding (Ollama) and
 * OpenAI's data: URLs expect.  NULL when it is not; caller frees. */
static unsigned char *b64_decode(const char *s, size_t n, size_t *len)
{
	size_t cap = n / 4 * 3 + 3;
	unsigned char *bin = xmalloc(cap ? cap : 1);
	const char *end = NULL;

	if (sodium_base642bin(bin, cap, s, n, NULL, len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + n) {
		free(bin);
		return NULL;
	}
	return bin;
}

static bool b64_valid(const char *s, size_t n)
{
	size_t len;
	unsigned char *bin = b64_decode(s, n, &len);

	free(bin);
	return bin != NULL;
}

/* "data:image/png;base64,AAAA" → mime and base64 text. */
static bool parse_data_url(const char *url, char **mime, const char **b64)
{
	const char *semi, *comma;

	if (strncmp(url, "data:", 5) != 0 || !(comma = strchr(url, ',')))
		return false;
	semi = strchr(url, ';');
	if (!semi || semi > comma || strncmp(semi, ";base64,", 8) != 0 || semi == url + 5)
		return false;
	*mime = xstrndup(url + 5, (size_t)(semi - url - 5));
	*b64 = comma + 1;
	return true;
}

static bool ollama_images(const json_t *m, struct image_list *l, char **msg)
{
	json_t *imgs = json_object_get(m, "images"), *e;
	size_t i;

	if (!imgs || json_is_null(imgs))
		return true;
	if (!json_is_array(imgs)) {
		*msg = xstrdup("json: cannot unmarshal images into []ImageData");
		return false;
	}
	json_array_foreach(imgs, i, e) {
		if (!json_is_string(e) || !b64_valid(json_string_value(e), json_string_length(e))) {
			*msg = xasprintf("illegal base64 data in image %zu", i);
			return false;
		}
		image_list_add(l, json_string_value(e), json_string_length(e), NULL);
	}
	return true;
}

static bool openai_images(const json_t *m, struct image_list *l, char **msg)
{
	json_t *content = json_object_get(m, "content"), *part;
	size_t i;

	if (!json_is_array(content))
		return true;
	json_array_foreach(content, i, part) {
		const char *type = kjson_str(part, "type"), *url, *b64;
		char *mime;

		if (type && strcmp(type, "text") == 0 && kjson_str(part, "text"))
			continue;
		url = kjson_str(kjson_obj(part, "image_url"), "url");
		if (!type || strcmp(type, "image_url") != 0 || !url) {
			*msg = xasprintf("Invalid content part %zu: expected text or image_url", i);
			return false;
		}
		if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
			image_list_add(l, NULL, 0, NULL);
			continue;
		}
		mime = NULL;
		if (!parse_data_url(url, &mime, &b64) || strncmp(mime, "image/", 6) != 0 ||
		    !b64_valid(b64, strlen(b64))) {
			free(mime);
			*msg = xasprintf("Invalid image URL in content part %zu", i);
			return false;
		}
		image_list_add(l, b64, strlen(b64), mime);
	}
	return true;
}

/* Every image of a chat request, in message order; false with *msg (the
 * 400 text, caller frees) when one is malformed.  Entries point into req. */
static bool request_images(enum fake_llm_mode mode, const json_t *req, struct image_list *l,
			   char **msg)
{
	size_t i;
	json_t *m;

	json_array_foreach(kjson_arr(req, "messages"), i, m) {
		if (!(mode == FAKE_LLM_OLLAMA ? ollama_images(m, l, msg) : openai_images(m, l, msg)))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* Recording                                                              */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct recorded *rec = cls;

	rec->hdrs = xgrow(rec->hdrs, &rec->hdrcap, rec->nhdrs + 1, sizeof *rec->hdrs);
	rec->hdrs[rec->nhdrs].name = xstrdup(key);
	rec->hdrs[rec->nhdrs].value = xstrdup(value ? value : "");
	rec->nhdrs++;
	return MHD_YES;
}

static void record_request(struct fake_llm *f, struct MHD_Connection *conn,
			   const char *method, const char *path, const struct buf *body)
{
	struct recorded rec = { 0 };

	rec.method = xstrdup(method);
	rec.path = xstrdup(path);
	rec.body = xstrndup(buf_str(body), body->len);
	rec.body_len = body->len;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &rec);
	pthread_mutex_lock(&f->lock);
	f->reqs = xgrow(f->reqs, &f->reqcap, f->nreqs + 1, sizeof *f->reqs);
	f->reqs[f->nreqs++] = rec;
	pthread_mutex_unlock(&f->lock);
}

static void recorded_release(struct recorded *rec)
{
	for (size_t i = 0; i < rec->nhdrs; i++) {
		free(rec->hdrs[i].name);
		free(rec->hdrs[i].value);
	}
	free(rec->hdrs);
	free(rec->method);
	free(rec->path);
	free(rec->body);
}

/* ---------------------------------------------------------------------- */
/* The plan: one chat answer, independent of the wire format               */

struct call {
	char *id, *name;
	char *args_text;   /* OpenAI sends this string verbatim */
	json_t *args;      /* parsed object for Ollama; NULL if not an object */
};

/* Owns all its strings, so a stream can outlive the request handler. */
struct plan {
	char *model;
	char *content;        /* never NULL */
	char *thinking;       /* NULL when none */
	char *stream_error;   /* NULL when none */
	struct call *calls;
	size_t ncalls, callcap;
	size_t chunk;         /* characters per streamed piece */
	long prompt_tokens, completion_tokens;
	unsigned status;
	long long created;    /* Unix seconds */
	char created_at[40];  /* RFC 3339, for Ollama */
	char *id;             /* completion id, for OpenAI */
};

static void plan_add_call(struct plan *p, struct fake_llm *f, const char *id, const char *name,
			  const char *args)
{
	struct call *c;
	json_t *obj = json_loads(args, JSON_DECODE_ANY, NULL);

	p->calls = xgrow(p->calls, &p->callcap, p->ncalls + 1, sizeof *p->calls);
	c = &p->calls[p->ncalls++];
	c->id = id ? xstrdup(id) : make_id(f, "call_", 8);
	c->name = xstrdup(name);
	c->args_text = xstrdup(args);
	c->args = json_is_object(obj) ? json_incref(obj) : NULL;
	json_decref(obj);
}

/* Calls from tool_calls_json ([{"name","arguments","id"?}], validated on push). */
static void plan_add_call_list(struct plan *p, struct fake_llm *f, const char *text)
{
	json_t *arr = json_loads(text, 0, NULL);
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) {
		json_t *args = json_object_get(e, "arguments");
		char *args_text = json_is_string(args) ? xstrdup(json_string_value(args))
			        : args ? kjson_dump(args, false) : xstrdup("{}");

		plan_add_call(p, f, kjson_str(e, "id"), kjson_str(e, "name"), args_text);
		free(args_text);
	}
	json_decref(arr);
}

/* Characters of prompt text: message contents, plain or as text parts. */
static size_t prompt_chars(const json_t *req)
{
	size_t i, j, n = 0;
	json_t *m, *part;

	json_array_foreach(kjson_arr(req, "messages"), i, m) {
		json_t *content = json_object_get(m, "content");

		if (json_is_string(content))
			n += json_string_length(content);
		json_array_foreach(json_is_array(content) ? content : NULL, j, part) {
			const char *text = kjson_str(part, "text");

			n += text ? strlen(text) : 0;
		}
	}
	return n;
}

static void plan_init(struct plan *p, struct fake_llm *f, const json_t *req, const char *model,
		      const struct fake_reply *r)
{
	size_t out_chars;

	memset(p, 0, sizeof *p);
	p->model = xstrdup(model);
	p->content = xstrdup(r->content ? r->content : "");
	p->thinking = r->thinking && *r->thinking ? xstrdup(r->thinking) : NULL;
	p->stream_error = xstrdup(r->stream_error);
	p->chunk = r->chunk_chars > 0 ? (size_t)r->chunk_chars : DEFAULT_CHUNK_CHARS;
	p->status = r->status > 0 ? (unsigned)r->status : 200;
	if (r->tool_name)
		plan_add_call(p, f, NULL, r->tool_name, r->tool_args ? r->tool_args : "{}");
	if (r->tool_calls_json)
		plan_add_call_list(p, f, r->tool_calls_json);

	out_chars = strlen(p->content) + (p->thinking ? strlen(p->thinking) : 0);
	for (size_t i = 0; i < p->ncalls; i++)
		out_chars += strlen(p->calls[i].name) + strlen(p->calls[i].args_text);
	p->prompt_tokens = r->prompt_tokens > 0 ? r->prompt_tokens
			 : approx_tokens(prompt_chars(req));
	p->completion_tokens = r->completion_tokens > 0 ? r->completion_tokens
			     : approx_tokens(out_chars);
	p->created = clock_now_ms() / 1000;
	iso_now(p->created_at, sizeof p->created_at);
	p->id = make_id(f, "gen-", 20);
}

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->ncalls; i++) {
		free(p->calls[i].id);
		free(p->calls[i].name);
		free(p->calls[i].args_text);
		json_decref(p->calls[i].args);
	}
	free(p->calls);
	free(p->model);
	free(p->content);
	free(p->thinking);
	free(p->stream_error);
	free(p->id);
	memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------------- */
/* Streams: a state machine rendering one event per reader call           */

/* The steps of a streamed answer.  Each dialect walks the ones it uses;
 * a step either renders one event or moves on to another step. */
enum step {
	STEP_OPEN,      /* OpenAI: the ": OPENROUTER PROCESSING" comment */
	STEP_ROLE,      /* OpenAI: the role chunk */
	STEP_THINKING,  /* Ollama: thinking pieces */
	STEP_CONTENT,   /* content pieces */
	STEP_ERROR,     /* the mid-stream error; the stream ends after it */
	STEP_CALLS,     /* tool calls */
	STEP_FINISH,    /* done:true / finish_reason */
	STEP_USAGE,     /* OpenAI: the usage chunk */
	STEP_DONE,      /* OpenAI: [DONE] */
	STEP_END,
};

struct stream {
	struct fake_llm *f;
	struct plan p;
	enum step step;
	const char *cursor;  /* rest of the text being cut into pieces */
	size_t call;         /* OpenAI: tool call being streamed … */
	bool call_open;      /* … and whether its first fragment went out */
	struct buf ev;       /* the event being sent … */
	size_t off;          /* … and how much of it has been */
};

/* Compact, in insertion order; floats with float32 precision. */
static char *dump_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
	char *copy = xstrdup(s ? s : "null");

	free(s);
	return copy;
}

static void emit_ndjson(struct stream *s, json_t *v) /* steals v */
{
	char *line = dump_json(v);

	(void)buf_printf(&s->ev, "%s\n", line);
	free(line);
	json_decref(v);
}

static void emit_sse(struct stream *s, json_t *v) /* steals v */
{
	char *data = dump_json(v);

	(void)buf_printf(&s->ev, "data: %s\n\n", data);
	free(data);
	json_decref(v);
}

/* Go to a step that cuts text (NULL = none) into pieces. */
static void enter(struct stream *s, enum step step, const char *text)
{
	s->step = step;
	s->cursor = text ? text : "";
}

/* The next p.chunk UTF-8 characters of the text as a JSON string; NULL
 * when the text is used up. */
static json_t *next_piece(struct stream *s)
{
	size_t n = utf8_prefix(s->cursor, s->p.chunk);
	json_t *piece;

	if (!n)
		return NULL;
	piece = json_stringn(s->cursor, n);
	s->cursor += n;
	return piece;
}

/* ---------------------------------------------------------------------- */
/* Ollama rendering (§3)                                                  */

static json_t *ollama_error_body(unsigned status, const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static char *ollama_not_found(const char *model)
{
	return xasprintf("model '%s' not found", model);
}

static json_t *ollama_message(const char *content)
{
	return json_pack("{s:s,s:s}", "role", "assistant", "content", content);
}

static json_t *ollama_chunk(const struct plan *p, json_t *message, bool done)
{
	return json_pack("{s:s,s:s,s:o,s:b}", "model", p->model, "created_at", p->created_at,
			 "message", message, "done", done);
}

static json_t *ollama_tool_calls(const struct plan *p)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < p->ncalls; i++) {
		const struct call *c = &p->calls[i];
		/* Arguments are an object; text that is not one goes as a string. */
		json_t *args = c->args ? json_incref(c->args) : json_string(c->args_text);

		json_array_append_new(arr, json_pack("{s:s,s:{s:i,s:s,s:o}}", "id", c->id,
						     "function", "index", (int)i, "name",
						     c->name, "arguments", args));
	}
	return arr;
}

/* done:true, done_reason and the metrics (durations in nanoseconds). */
static void ollama_finish(json_t *o, const struct plan *p)
{
	json_int_t load = 1000000;
	json_int_t prompt_ns = (json_int_t)p->prompt_tokens * 100000;
	json_int_t eval_ns = (json_int_t)p->completion_tokens * 10000000;

	json_object_set_new(o, "done", json_true());
	json_object_set_new(o, "done_reason", json_string("stop"));
	json_object_set_new(o, "total_duration", json_integer(load + prompt_ns + eval_ns));
	json_object_set_new(o, "load_duration", json_integer(load));
	json_object_set_new(o, "prompt_eval_count", json_integer(p->prompt_tokens));
	json_object_set_new(o, "prompt_eval_duration", json_integer(prompt_ns));
	json_object_set_new(o, "eval_count", json_integer(p->completion_tokens));
	json_object_set_new(o, "eval_duration", json_integer(eval_ns));
}

/* A generation failure without streaming has nothing partial to send, so
 * it is a 500 with the error, as Ollama's runner errors are. */
static unsigned ollama_whole(const struct plan *p, json_t **out)
{
	json_t *msg;

	if (p->stream_error) {
		*out = ollama_error_body(500, p->stream_error);
		return 500;
	}
	msg = ollama_message(p->content);
	if (p->thinking)
		json_object_set_new(msg, "thinking", json_string(p->thinking));
	if (p->ncalls)
		json_object_set_new(msg, "tool_calls", ollama_tool_calls(p));
	*out = ollama_chunk(p, msg, true);
	ollama_finish(*out, p);
	return p->status;
}

/* Thinking pieces, content pieces, one tool-call chunk, the done chunk; or
 * after the content an {"error"} line and no done chunk. */
static void ollama_step(struct stream *s)
{
	const struct plan *p = &s->p;
	json_t *piece, *msg;

	switch (s->step) {
	case STEP_OPEN:
		enter(s, STEP_THINKING, p->thinking);
		break;
	case STEP_THINKING:
		piece = next_piece(s);
		if (!piece) {
			enter(s, STEP_CONTENT, p->content);
			break;
		}
		msg = ollama_message("");
		json_object_set_new(msg, "thinking", piece);
		emit_ndjson(s, ollama_chunk(p, msg, false));
		break;
	case STEP_CONTENT:
		piece = next_piece(s);
		if (!piece) {
			s->step = p->stream_error ? STEP_ERROR : STEP_CALLS;
			break;
		}
		msg = json_pack("{s:s,s:o}", "role", "assistant", "content", piece);
		emit_ndjson(s, ollama_chunk(p, msg, false));
		break;
	case STEP_ERROR:
		emit_ndjson(s, ollama_error_body(500, p->stream_error));
		s->step = STEP_END;
		break;
	case STEP_CALLS:
		if (p->ncalls) {
			msg = ollama_message("");
			json_object_set_new(msg, "tool_calls", ollama_tool_calls(p));
			emit_ndjson(s, ollama_chunk(p, msg, false));
		}
		s->step = STEP_FINISH;
		break;
	case STEP_FINISH:
		msg = ollama_chunk(p, ollama_message(""), true);
		ollama_finish(msg, p);
		emit_ndjson(s, msg);
		s->step = STEP_END;
		break;
	default:
		s->step = STEP_END;
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* OpenAI / OpenRouter rendering (§4)                                      */

static json_t *openai_error_body(unsigned status, const char *msg)
{
	return json_pack("{s:{s:i,s:s}}", "error", "code", (int)status, "message", msg);
}

static char *openai_not_found(const char *model)
{
	return xasprintf("No endpoints found for %s.", model);
}

static json_t *openai_usage(const struct plan *p)
{
	return json_pack("{s:I,s:I,s:I,s:{s:i},s:{s:i}}",
			 "prompt_tokens", (json_int_t)p->prompt_tokens,
			 "completion_tokens", (json_int_t)p->completion_tokens,
			 "total_tokens", (json_int_t)(p->prompt_tokens + p->completion_tokens),
			 "prompt_tokens_details", "cached_tokens", 0,
			 "completion_tokens_details", "reasoning_tokens", 0);
}

static json_t *openai_base(const struct plan *p, const char *object)
{
	return json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", p->id, "object", object,
			 "created", (json_int_t)p->created, "model", p->model,
			 "provider", "Fake");
}

static json_t *openai_server_error(const struct plan *p)
{
	return json_pack("{s:s,s:s}", "code", "server_error", "message", p->stream_error);
}

static const char *openai_finish_reason(const struct plan *p)
{
	return p->ncalls ? "tool_calls" : "stop";
}

/* A failure without streaming: HTTP 200 with a top-level error and no
 * usable choices, as observed from OpenRouter. */
static unsigned openai_whole(const struct plan *p, json_t **out)
{
	json_t *msg, *calls, *choice;

	*out = openai_base(p, "chat.completion");
	if (p->stream_error) {
		json_object_set_new(*out, "error", openai_server_error(p));
		json_object_set_new(*out, "choices", json_array());
		return p->status;
	}
	/* content is null for a pure tool-call answer. */
	msg = json_pack("{s:s,s:o,s:n}", "role", "assistant", "content",
			p->ncalls && !*p->content ? json_null() : json_string(p->content),
			"refusal");
	if (p->ncalls) {
		calls = json_array();
		for (size_t i = 0; i < p->ncalls; i++)
			json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:s,s:s}}",
				"id", p->calls[i].id, "type", "function", "function",
				"name", p->calls[i].name, "arguments", p->calls[i].args_text));
		json_object_set_new(msg, "tool_calls", calls);
	}
	choice = json_pack("{s:i,s:o,s:n,s:s,s:s}", "index", 0, "message", msg, "logprobs",
			   "finish_reason", openai_finish_reason(p),
			   "native_finish_reason", openai_finish_reason(p));
	json_object_set_new(*out, "choices", json_pack("[o]", choice));
	json_object_set_new(*out, "usage", openai_usage(p));
	return p->status;
}

/* A chat.completion.chunk with one choice; finish NULL = not finished. */
static json_t *openai_chunk(const struct plan *p, json_t *delta, const char *finish)
{
	json_t *c = openai_base(p, "chat.completion.chunk");

	json_object_set_new(c, "choices", json_pack("[{s:i,s:o,s:n,s:s?}]", "index", 0, "delta",
						    delta, "logprobs", "finish_reason", finish));
	return c;
}

static json_t *openai_tool_delta(json_t *fragment)
{
	return json_pack("{s:[o]}", "tool_calls", fragment);
}

/* Per call: a first fragment with index, id, type, name and empty
 * arguments, then the arguments string cut into fragments keyed by the
 * same index.  Moves to STEP_FINISH after the last call. */
static void openai_call_step(struct stream *s)
{
	const struct plan *p = &s->p;
	const struct call *c = &p->calls[s->call];
	json_t *piece, *frag;

	if (!s->call_open) {
		frag = json_pack("{s:i,s:s,s:s,s:{s:s,s:s}}", "index", (int)s->call, "id", c->id,
				 "type", "function", "function", "name", c->name,
				 "arguments", "");
		emit_sse(s, openai_chunk(p, openai_tool_delta(frag), NULL));
		s->call_open = true;
		s->cursor = c->args_text;
		return;
	}
	piece = next_piece(s);
	if (piece) {
		frag = json_pack("{s:i,s:{s:o}}", "index", (int)s->call, "function",
				 "arguments", piece);
		emit_sse(s, openai_chunk(p, openai_tool_delta(frag), NULL));
		return;
	}
	s->call_open = false;
	if (++s->call == p->ncalls)
		s->step = STEP_FINISH;
}

/* ": OPENROUTER PROCESSING", the role chunk, content deltas, tool-call
 * fragments, the finish chunk, the usage chunk, [DONE]; or after the
 * content one event with a top-level error, and the end. */
static void openai_step(struct stream *s)
{
	const struct plan *p = &s->p;
	json_t *piece, *v;

	switch (s->step) {
	case STEP_OPEN:
		(void)buf_puts(&s->ev, ": OPENROUTER PROCESSING\n\n");
		s->step = STEP_ROLE;
		break;
	case STEP_ROLE:
		emit_sse(s, openai_chunk(p, json_pack("{s:s,s:s}", "role", "assistant",
						      "content", ""), NULL));
		enter(s, STEP_CONTENT, p->content);
		break;
	case STEP_CONTENT:
		piece = next_piece(s);
		if (piece)
			emit_sse(s, openai_chunk(p, json_pack("{s:o}", "content", piece), NULL));
		else
			s->step = p->stream_error ? STEP_ERROR
				: p->ncalls ? STEP_CALLS : STEP_FINISH;
		break;
	case STEP_ERROR:
		v = openai_chunk(p, json_pack("{s:s}", "content", ""), "error");
		json_object_set_new(v, "error", openai_server_error(p));
		emit_sse(s, v);
		s->step = STEP_END;
		break;
	case STEP_CALLS:
		openai_call_step(s);
		break;
	case STEP_FINISH:
		emit_sse(s, openai_chunk(p, json_object(), openai_finish_reason(p)));
		s->step = STEP_USAGE;
		break;
	case STEP_USAGE:
		v = openai_base(p, "chat.completion.chunk");
		json_object_set_new(v, "choices", json_array());
		json_object_set_new(v, "usage", openai_usage(p));
		emit_sse(s, v);
		s->step = STEP_DONE;
		break;
	case STEP_DONE:
		(void)buf_puts(&s->ev, "data: [DONE]\n\n");
		s->step = STEP_END;
		break;
	default:
		s->step = STEP_END;
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* Dialects                                                               */

struct exchange;
typedef enum MHD_Result (*handler_fn)(struct exchange *ex);

struct route {
	const char *method, *path;
	handler_fn fn;
};

struct dialect {
	const char *url_suffix;      /* appended to http://127.0.0.1:PORT */
	const char *default_model;   /* listed when no model list is set */
	bool stream_default;         /* "stream" when the request omits it */
	const char *stream_type;     /* Content-Type of a streamed answer */
	const char *not_found_path;  /* message for an unknown path */
	json_t *(*error_body)(unsigned status, const char *msg);
	char *(*not_found)(const char *model);
	unsigned (*whole)(const struct plan *p, json_t **out);
	void (*step)(struct stream *s);  /* one step of a streamed answer */
	const struct route *routes;
};

/* Default error messages for scripted statuses without error_body. */
static const struct {
	unsigned status;
	const char *ollama, *openai;
} error_texts[] = {
	{ 400, "invalid request", "Invalid request" },
	{ 401, "unauthorized", "No auth credentials found" },
	{ 402, "payment required",
	  "Insufficient credits. Add more using https://openrouter.ai/settings/credits" },
	{ 403, "forbidden", "Request blocked by moderation" },
	{ 404, "not found", "Not Found" },
	{ 408, "request timeout", "Request timed out" },
	{ 429, "too many requests", "Rate limit exceeded: free-models-per-min. " },
	{ 500, "an error was encountered while running the model", "Internal Server Error" },
	{ 502, "bad gateway", "Provider returned error" },
	{ 503, "server busy, please try again.  maximum pending requests exceeded",
	  "No endpoints found that can handle the requested parameters." },
};

static const char *default_error_text(enum fake_llm_mode mode, unsigned status)
{
	const char *reason = MHD_get_reason_phrase_for(status);

	for (size_t i = 0; i < sizeof error_texts / sizeof error_texts[0]; i++)
		if (error_texts[i].status == status)
			return mode == FAKE_LLM_OLLAMA ? error_texts[i].ollama
						       : error_texts[i].openai;
	return reason && *reason ? reason : "error";
}

/* ---------------------------------------------------------------------- */
/* Responses                                                              */

/* One request being answered. */
struct exchange {
	struct fake_llm *f;
	struct MHD_Connection *conn;
	json_t *req;          /* body parsed as JSON, or NULL */
	char *parse_error;    /* why the body is not JSON, or NULL */
};

static enum MHD_Result send_text(struct exchange *ex, unsigned status, const char *type,
				 const char *text, const char *retry_after)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result res;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	if (retry_after)
		MHD_add_response_header(resp, "Retry-After", retry_after);
	res = MHD_queue_response(ex->conn, status, resp);
	MHD_destroy_response(resp);
	return res;
}

static enum MHD_Result send_json(struct exchange *ex, unsigned status, json_t *v,
				 const char *retry_after) /* steals v */
{
	char *text = dump_json(v);
	enum MHD_Result res = send_text(ex, status, JSON_TYPE, text, retry_after);

	free(text);
	json_decref(v);
	return res;
}

static enum MHD_Result send_error(struct exchange *ex, unsigned status, const char *msg)
{
	return send_json(ex, status, ex->f->dialect->error_body(status, msg), NULL);
}

/* A scripted failure: error_body verbatim (with status, 0 = 200) or the
 * provider's error shape with a typical message. */
static enum MHD_Result send_scripted_error(struct exchange *ex, const struct fake_reply *r)
{
	unsigned status = r->status > 0 ? (unsigned)r->status : 200;

	if (r->error_body)
		return send_text(ex, status, JSON_TYPE, r->error_body, r->retry_after);
	return send_json(ex, status,
			 ex->f->dialect->error_body(status, default_error_text(ex->f->mode, status)),
			 r->retry_after);
}

/* Render the next event into s->ev; false at the end of the stream. */
static bool stream_next(struct stream *s)
{
	buf_reset(&s->ev);
	s->off = 0;
	while (!s->ev.len && s->step != STEP_END)
		s->f->dialect->step(s);
	return s->ev.len > 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *s = cls;
	size_t n;

	if (stopping(s->f))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (s->off == s->ev.len && !stream_next(s))
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = s->ev.len - s->off < max ? s->ev.len - s->off : max;
	memcpy(out, s->ev.data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* Runs when the response is done with, including when the client left. */
static void stream_free(void *cls)
{
	struct stream *s = cls;

	plan_release(&s->p);
	buf_release(&s->ev);
	free(s);
}

/* Answer with a stream; it takes over the plan (*p is left empty). */
static enum MHD_Result send_stream(struct exchange *ex, struct plan *p, const char *retry_after)
{
	const struct dialect *d = ex->f->dialect;
	struct stream *s = xcalloc(1, sizeof *s);
	struct MHD_Response *resp;
	enum MHD_Result res;

	s->f = ex->f;
	s->p = *p;
	memset(p, 0, sizeof *p);
	s->step = STEP_OPEN;
	buf_init(&s->ev, 0);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
						 stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", d->stream_type);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	if (ex->f->mode == FAKE_LLM_OPENAI)
		MHD_add_response_header(resp, "X-Generation-Id", s->p.id);
	if (retry_after)
		MHD_add_response_header(resp, "Retry-After", retry_after);
	res = MHD_queue_response(ex->conn, s->p.status, resp);
	MHD_destroy_response(resp);
	return res;
}

static enum MHD_Result send_whole(struct exchange *ex, const struct plan *p,
				  const char *retry_after)
{
	json_t *body;
	unsigned status = ex->f->dialect->whole(p, &body);

	return send_json(ex, status, body, retry_after);
}

/* Wait ms before answering, in DELAY_STEP_MS steps.  Each step waits for the
 * client to hang up (POLLRDHUP) so a client that gave up frees the thread;
 * false when that happened or the fake is stopping. */
static bool wait_delay(struct exchange *ex, int ms)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(ex->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd pfd = { ci ? ci->connect_fd : -1, POLLRDHUP, 0 };
	int64_t end = clock_mono_ms() + ms;

	while (ms > 0 && !stopping(ex->f)) {
		int64_t left = end - clock_mono_ms();

		if (left <= 0)
			return true;
		if (poll(&pfd, 1, left < DELAY_STEP_MS ? (int)left : DELAY_STEP_MS) > 0)
			return false;
	}
	return !stopping(ex->f);
}

/* ---------------------------------------------------------------------- */
/* Handlers                                                               */

/* Hand back an error status with its message (taken). */
static unsigned problem(char **msg, unsigned status, char *text)
{
	*msg = text;
	return status;
}

/* Checks shared by chat, embed and show: a JSON object naming a model the
 * fake knows.  0 when fine, else an HTTP status and *msg (caller frees). */
static unsigned check_model_request(struct exchange *ex, const char **model, char **msg)
{
	if (!ex->req && !ex->parse_error)
		return problem(msg, 400, xstrdup("missing request body"));
	if (!ex->req)
		return problem(msg, 400, xstrdup(ex->parse_error));
	if (!json_is_object(ex->req))
		return problem(msg, 400, xstrdup("request body must be a JSON object"));
	*model = kjson_str(ex->req, "model");
	if (!*model || !**model)
		return problem(msg, 400, xstrdup("model is required"));
	if (!model_known(ex->f, *model))
		return problem(msg, 404, ex->f->dialect->not_found(*model));
	return 0;
}

static enum MHD_Result send_problem(struct exchange *ex, unsigned status, char *msg)
{
	enum MHD_Result res = send_error(ex, status, msg);

	free(msg);
	return res;
}

/* Ollama: a chat with no messages only loads the model. */
static enum MHD_Result ollama_load(struct exchange *ex, const char *model)
{
	char at[40];

	iso_now(at, sizeof at);
	return send_json(ex, 200, json_pack("{s:s,s:s,s:o,s:s,s:b}", "model", model,
					    "created_at", at, "message", ollama_message(""),
					    "done_reason", "load", "done", 1), NULL);
}

static enum MHD_Result handle_chat(struct exchange *ex)
{
	struct fake_llm *f = ex->f;
	const char *model = NULL;
	char *msg = NULL;
	unsigned status = check_model_request(ex, &model, &msg);
	size_t nmsgs = json_array_size(kjson_arr(ex->req, "messages"));
	struct fake_reply r;
	struct plan p;
	bool stream = f->dialect->stream_default;
	enum MHD_Result res;

	struct image_list imgs = { 0 };
	bool imgs_ok;

	if (status)
		return send_problem(ex, status, msg);
	if (!nmsgs && f->mode == FAKE_LLM_OLLAMA)
		return ollama_load(ex, model);
	if (!nmsgs)
		return send_problem(ex, 400, xstrdup("messages must be a non-empty array"));
	imgs_ok = request_images(f->mode, ex->req, &imgs, &msg);
	image_list_release(&imgs);
	if (!imgs_ok)
		return send_problem(ex, 400, msg);

	take_reply(f, &r);
	kjson_bool(ex->req, "stream", &stream);
	if (!wait_delay(ex, r.delay_ms)) {
		res = MHD_NO;
	} else if (r.status >= 400 || r.error_body) {
		res = send_scripted_error(ex, &r);
	} else {
		plan_init(&p, f, ex->req, model, &r);
		res = stream ? send_stream(ex, &p, r.retry_after)
			     : send_whole(ex, &p, r.retry_after);
		plan_release(&p);
	}
	reply_release(&r);
	return res;
}

/* A deterministic unit vector for text: components from a generator seeded
 * with the text's hash, L2-normalised, rounded to float32 like real ones. */
static json_t *embed_vector(const char *text, size_t dim, double scale)
{
	double *v = xcalloc(dim, sizeof *v);
	uint64_t st = fnv1a(text, strlen(text));
	double norm = 0;
	json_t *arr = json_array();

	for (size_t i = 0; i < dim; i++) {
		v[i] = (double)(splitmix64(&st) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
		norm += v[i] * v[i];
	}
	norm = sqrt(norm);
	for (size_t i = 0; i < dim; i++)
		json_array_append_new(arr, json_real((float)(v[i] / norm * scale)));
	free(v);
	return arr;
}

/* [1, 2, 3]: token ids, which OpenAI accepts in place of text. */
static bool token_array(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_array_size(v))
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_integer(e))
			return false;
	return true;
}

/* Texts to embed from "input": a string or an array of strings; with
 * tokens_ok also token ids ([1,2] or [[1,2],[3]]), embedded by their JSON
 * text.  False on any other shape. */
static bool embed_inputs(const json_t *input, bool tokens_ok, struct strvec *out)
{
	size_t i;
	json_t *e;

	if (json_is_string(input)) {
		strvec_push(out, xstrdup(json_string_value(input)));
		return true;
	}
	if (tokens_ok && token_array(input)) {
		strvec_push(out, kjson_dump(input, false));
		return true;
	}
	if (!json_is_array(input))
		return false;
	json_array_foreach(input, i, e) {
		if (json_is_string(e))
			strvec_push(out, xstrdup(json_string_value(e)));
		else if (tokens_ok && token_array(e))
			strvec_push(out, kjson_dump(e, false));
		else
			return false;
	}
	return true;
}

static double embed_scale(struct exchange *ex)
{
	double scale;

	pthread_mutex_lock(&ex->f->lock);
	scale = ex->f->embed_scale;
	pthread_mutex_unlock(&ex->f->lock);
	return scale;
}

static size_t embed_dim(struct exchange *ex)
{
	long long dims;
	size_t dim;

	if (kjson_int(ex->req, "dimensions", &dims) && dims > 0 && dims <= MAX_EMBED_DIM)
		return (size_t)dims;
	pthread_mutex_lock(&ex->f->lock);
	dim = ex->f->embed_dim;
	pthread_mutex_unlock(&ex->f->lock);
	return dim;
}

static long embed_tokens(const struct strvec *texts)
{
	size_t chars = 0;

	for (size_t i = 0; i < texts->n; i++)
		chars += strlen(texts->v[i]);
	return approx_tokens(chars);
}

/* A scripted embedding failure for this request, or 0. */
static int take_embed_failure(struct fake_llm *f)
{
	int status = 0;

	pthread_mutex_lock(&f->lock);
	if (f->embed_fail_left) {
		f->embed_fail_left--;
		status = f->embed_fail_status;
	}
	pthread_mutex_unlock(&f->lock);
	return status;
}

static enum MHD_Result send_embed_failure(struct exchange *ex, int status)
{
	struct fake_reply r = { .status = status };

	return send_scripted_error(ex, &r);
}

/* POST /api/embed: absent input embeds nothing (a load), like Ollama. */
static enum MHD_Result ollama_embed(struct exchange *ex)
{
	const char *model = NULL;
	char *msg = NULL;
	unsigned status = check_model_request(ex, &model, &msg);
	json_t *input = json_object_get(ex->req, "input");
	struct strvec texts = { 0 };
	json_t *vecs, *body;
	size_t dim;
	double scale;
	int fail;

	if (status)
		return send_problem(ex, status, msg);
	if ((fail = take_embed_failure(ex->f)))
		return send_embed_failure(ex, fail);
	if (input && !embed_inputs(input, false, &texts)) {
		strvec_clear(&texts);
		return send_problem(ex, 400, xstrdup("invalid input type"));
	}
	dim = embed_dim(ex);
	scale = embed_scale(ex);
	vecs = json_array();
	for (size_t i = 0; i < texts.n; i++)
		json_array_append_new(vecs, embed_vector(texts.v[i], dim, scale));
	body = json_pack("{s:s,s:o,s:i,s:i,s:I}", "model", model, "embeddings", vecs,
			 "total_duration", 14143917, "load_duration", 1019500,
			 "prompt_eval_count", (json_int_t)embed_tokens(&texts));
	strvec_clear(&texts);
	return send_json(ex, 200, body, NULL);
}

/* POST /api/generate, non-streaming only: the image model's answer, with
 * the picture set by fake_llm_set_image in "image", or a text model's
 * "response" without one. */
static enum MHD_Result ollama_generate(struct exchange *ex)
{
	const char *model = NULL;
	char *msg = NULL, *image = NULL;
	unsigned status = check_model_request(ex, &model, &msg);
	int fail = 0;
	json_t *body;
	char at[40];

	if (status)
		return send_problem(ex, status, msg);
	pthread_mutex_lock(&ex->f->lock);
	if (ex->f->gen_fail_left) {
		ex->f->gen_fail_left--;
		fail = ex->f->gen_fail_status;
	}
	if (ex->f->gen_image)
		image = xstrdup(ex->f->gen_image);
	pthread_mutex_unlock(&ex->f->lock);
	if (fail) {
		free(image);
		return send_embed_failure(ex, fail);
	}
	iso_now(at, sizeof at);
	body = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I}", "model", model, "created_at", at,
			 "response", image ? "" : "I can only write text.", "done", 1,
			 "done_reason", "stop", "total_duration", (json_int_t)1234567);
	if (image)
		json_object_set_new(body, "image", json_string(image));
	free(image);
	return send_json(ex, 200, body, NULL);
}

/* POST /api/embeddings: the legacy single-prompt form. */
static enum MHD_Result ollama_embeddings_legacy(struct exchange *ex)
{
	const char *model = NULL;
	char *msg = NULL;
	unsigned status = check_model_request(ex, &model, &msg);
	const char *prompt = kjson_str(ex->req, "prompt");

	if (status)
		return send_problem(ex, status, msg);
	return send_json(ex, 200, json_pack("{s:o}", "embedding",
					    embed_vector(prompt ? prompt : "", embed_dim(ex),
						 embed_scale(ex))),
			 NULL);
}

static enum MHD_Result openai_embeddings(struct exchange *ex)
{
	const char *model = NULL;
	char *msg = NULL;
	unsigned status = check_model_request(ex, &model, &msg);
	struct strvec texts = { 0 };
	json_t *data, *body;
	long tokens;
	size_t dim;
	double scale;
	int fail;

	if (status)
		return send_problem(ex, status, msg);
	if ((fail = take_embed_failure(ex->f)))
		return send_embed_failure(ex, fail);
	if (!embed_inputs(json_object_get(ex->req, "input"), true, &texts) || !texts.n) {
		strvec_clear(&texts);
		return send_problem(ex, 400, xstrdup("invalid input type"));
	}
	dim = embed_dim(ex);
	scale = embed_scale(ex);
	data = json_array();
	for (size_t i = 0; i < texts.n; i++)
		json_array_append_new(data, json_pack("{s:s,s:i,s:o}", "object", "embedding",
						      "index", (int)i, "embedding",
						      embed_vector(texts.v[i], dim, scale)));
	tokens = embed_tokens(&texts);
	body = json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data,
			 "model", model, "usage", "prompt_tokens", (json_int_t)tokens,
			 "total_tokens", (json_int_t)tokens);
	strvec_clear(&texts);
	return send_json(ex, 200, body, NULL);
}

/* A fake but well-formed sha256-looking digest derived from the name. */
static char *model_digest(const char *name)
{
	uint64_t st = fnv1a(name, strlen(name));
	uint64_t a = splitmix64(&st), b = splitmix64(&st), c = splitmix64(&st),
		 d = splitmix64(&st);

	return xasprintf("%016llx%016llx%016llx%016llx", (unsigned long long)a,
			 (unsigned long long)b, (unsigned long long)c, (unsigned long long)d);
}

static json_t *ollama_details(void)
{
	return json_pack("{s:s,s:s,s:s,s:[s],s:s,s:s}", "parent_model", "", "format", "gguf",
			 "family", "llama", "families", "llama", "parameter_size", "3.2B",
			 "quantization_level", "Q4_K_M");
}

static enum MHD_Result ollama_tags(struct exchange *ex)
{
	struct strvec names = { 0 };
	json_t *models = json_array();
	char at[40];

	iso_now(at, sizeof at);
	list_models(ex->f, ex->f->dialect->default_model, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *digest = model_digest(names.v[i]);

		json_array_append_new(models, json_pack("{s:s,s:s,s:s,s:I,s:s,s:o}",
			"name", names.v[i], "model", names.v[i], "modified_at", at,
			"size", (json_int_t)2019393189, "digest", digest,
			"details", ollama_details()));
		free(digest);
	}
	strvec_clear(&names);
	return send_json(ex, 200, json_pack("{s:o}", "models", models), NULL);
}

/* Embedding models are recognised by name; every other model can chat,
 * call tools, think and see. */
static json_t *ollama_capabilities(const char *model)
{
	if (strstr(model, "embed") || strstr(model, "minilm") || strstr(model, "bge"))
		return json_pack("[s]", "embedding");
	return json_pack("[s,s,s,s]", "completion", "tools", "thinking", "vision");
}

static enum MHD_Result ollama_show(struct exchange *ex)
{
	const char *model = NULL;
	char *msg = NULL;
	unsigned status = check_model_request(ex, &model, &msg);
	char at[40];

	if (status)
		return send_problem(ex, status, msg);
	iso_now(at, sizeof at);
	return send_json(ex, 200, json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:i},s:o,s:s}",
		"modelfile", "# Modelfile generated by fake-llm\nFROM fake\n",
		"parameters", "", "template", "{{ .Prompt }}", "details", ollama_details(),
		"model_info", "general.architecture", "llama", "llama.context_length", 8192,
		"capabilities", ollama_capabilities(model), "modified_at", at), NULL);
}

static enum MHD_Result ollama_version(struct exchange *ex)
{
	return send_json(ex, 200, json_pack("{s:s}", "version", "0.12.0"), NULL);
}

static enum MHD_Result openai_models(struct exchange *ex)
{
	struct strvec names = { 0 };
	json_t *data = json_array();

	list_models(ex->f, ex->f->dialect->default_model, &names);
	for (size_t i = 0; i < names.n; i++)
		json_array_append_new(data, json_pack("{s:s,s:s,s:s,s:I,s:s,s:i}",
			"id", names.v[i], "name", names.v[i], "object", "model",
			"created", (json_int_t)1700000000, "owned_by", "fake",
			"context_length", 8192));
	strvec_clear(&names);
	return send_json(ex, 200, json_pack("{s:s,s:o}", "object", "list", "data", data), NULL);
}

static const struct route ollama_routes[] = {
	{ "POST", "/api/chat", handle_chat },
	{ "POST", "/api/embed", ollama_embed },
	{ "POST", "/api/embeddings", ollama_embeddings_legacy },
	{ "POST", "/api/generate", ollama_generate },
	{ "GET", "/api/tags", ollama_tags },
	{ "POST", "/api/show", ollama_show },
	{ "GET", "/api/version", ollama_version },
	{ NULL, NULL, NULL },
};

static const struct route openai_routes[] = {
	{ "POST", "/v1/chat/completions", handle_chat },
	{ "POST", "/v1/embeddings", openai_embeddings },
	{ "GET", "/v1/models", openai_models },
	{ NULL, NULL, NULL },
};

static const struct dialect dialects[] = {
	[FAKE_LLM_OLLAMA] = {
		.url_suffix = "",
		.default_model = "llama3.2:latest",
		.stream_default = true,
		.stream_type = "application/x-ndjson",
		.not_found_path = "404 page not found",
		.error_body = ollama_error_body,
		.not_found = ollama_not_found,
		.whole = ollama_whole,
		.step = ollama_step,
		.routes = ollama_routes,
	},
	[FAKE_LLM_OPENAI] = {
		.url_suffix = "/v1",
		.default_model = "openai/gpt-4o-mini",
		.stream_default = false,
		.stream_type = "text/event-stream",
		.not_found_path = "Not Found",
		.error_body = openai_error_body,
		.not_found = openai_not_found,
		.whole = openai_whole,
		.step = openai_step,
		.routes = openai_routes,
	},
};

/* ---------------------------------------------------------------------- */
/* MHD glue                                                               */

/* Per-request state while the body arrives. */
struct upload {
	struct buf body;
	bool too_big;
};

static enum MHD_Result route_request(struct fake_llm *f, struct MHD_Connection *conn,
				     const char *method, const char *url, struct upload *up)
{
	struct exchange ex = { f, conn, NULL, NULL };
	const struct route *rt = f->dialect->routes;
	enum MHD_Result res;
	json_error_t err;

	if (up->too_big)
		return send_error(&ex, 413, "request body too large");
	while (rt->path && (strcmp(rt->path, url) != 0 || strcmp(rt->method, method) != 0))
		rt++;
	if (!rt->path)
		return send_error(&ex, 404, f->dialect->not_found_path);
	if (up->body.len) {
		ex.req = json_loadb(up->body.data, up->body.len, JSON_DECODE_ANY, &err);
		if (!ex.req)
			ex.parse_error = xasprintf("invalid JSON: %s", err.text);
	}
	res = rt->fn(&ex);
	json_decref(ex.req);
	free(ex.parse_error);
	return res;
}

/* Called first with no data (set up), then per body piece, then once more
 * with none: record and answer. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct fake_llm *f = cls;
	struct upload *up = *con_cls;

	if (!up) {
		up = xcalloc(1, sizeof *up);
		buf_init(&up->body, MAX_BODY);
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_size) {
		if (!up->too_big && buf_append(&up->body, data, *data_size) != KITH_OK) {
			up->too_big = true; /* keep reading, drop the rest, 413 at the end */
			buf_release(&up->body);
			buf_init(&up->body, MAX_BODY);
		}
		*data_size = 0;
		return MHD_YES;
	}
	record_request(f, conn, method, url, &up->body);
	return route_request(f, conn, method, url, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct upload *up = *con_cls;

	if (up) {
		buf_release(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

/* ---------------------------------------------------------------------- */
/* Lifecycle and accessors                                                */

struct fake_llm *fake_llm_start_port(enum fake_llm_mode mode, int port)
{
	struct fake_llm *f = xcalloc(1, sizeof *f);
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	f->mode = mode;
	f->dialect = &dialects[mode];
	f->default_reply = xstrdup("ok");
	f->embed_dim = DEFAULT_EMBED_DIM;
	f->embed_scale = 1.0;
	pthread_mutex_init(&f->lock, NULL);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				     MHD_USE_ITC,
				     (uint16_t)port, NULL, NULL, on_request, f,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, f,
				     MHD_OPTION_END);
	info = f->daemon ? MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info || !info->port) {
		fprintf(stderr, "fake_llm: cannot listen on 127.0.0.1:%d\n", port);
		fake_llm_stop(f);
		return NULL;
	}
	f->port = info->port;
	f->url = xasprintf("http://127.0.0.1:%d%s", f->port, f->dialect->url_suffix);
	return f;
}

struct fake_llm *fake_llm_start(enum fake_llm_mode mode)
{
	return fake_llm_start_port(mode, 0);
}

void fake_llm_stop(struct fake_llm *f)
{
	struct script_item *it, *next;

	if (!f)
		return;
	/* Delays and streams see the flag and end; MHD then joins their threads. */
	__atomic_store_n(&f->stopping, 1, __ATOMIC_RELEASE);
	if (f->daemon)
		MHD_stop_daemon(f->daemon);
	for (it = f->head; it; it = next) {
		next = it->next;
		reply_release(&it->r);
		free(it);
	}
	for (size_t i = 0; i < f->nreqs; i++)
		recorded_release(&f->reqs[i]);
	free(f->reqs);
	strvec_clear(&f->models);
	strvec_clear(&f->seen);
	free(f->gen_image);
	free(f->default_reply);
	free(f->url);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const char *fake_llm_url(const struct fake_llm *f)
{
	return f->url;
}

int fake_llm_port(const struct fake_llm *f)
{
	return f->port;
}

void fake_llm_set_default_reply(struct fake_llm *f, const char *content)
{
	char *copy = xstrdup(content ? content : "");

	pthread_mutex_lock(&f->lock);
	free(f->default_reply);
	f->default_reply = copy;
	pthread_mutex_unlock(&f->lock);
}

void fake_llm_set_models(struct fake_llm *f, const char *const *models)
{
	pthread_mutex_lock(&f->lock);
	strvec_clear(&f->models);
	f->models_set = models != NULL;
	for (size_t i = 0; models && models[i]; i++)
		strvec_push(&f->models, model_key(f->mode, models[i]));
	pthread_mutex_unlock(&f->lock);
}

void fake_llm_set_embed_dim(struct fake_llm *f, size_t dim)
{
	pthread_mutex_lock(&f->lock);
	f->embed_dim = dim ? (dim < MAX_EMBED_DIM ? dim : MAX_EMBED_DIM) : DEFAULT_EMBED_DIM;
	pthread_mutex_unlock(&f->lock);
}

void fake_llm_set_embed_scale(struct fake_llm *f, double scale)
{
	pthread_mutex_lock(&f->lock);
	f->embed_scale = scale;
	pthread_mutex_unlock(&f->lock);
}

void fake_llm_fail_embeds(struct fake_llm *f, int status, size_t n)
{
	pthread_mutex_lock(&f->lock);
	f->embed_fail_status = status;
	f->embed_fail_left = status >= 400 ? n : 0;
	pthread_mutex_unlock(&f->lock);
}

void fake_llm_set_image(struct fake_llm *f, const void *data, size_t len)
{
	char *b64 = NULL;

	if (data && len) {
		size_t blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);

		b64 = xmalloc(blen);
		sodium_bin2base64(b64, blen, data, len, sodium_base64_VARIANT_ORIGINAL);
	}
	pthread_mutex_lock(&f->lock);
	free(f->gen_image);
	f->gen_image = b64;
	pthread_mutex_unlock(&f->lock);
}

void fake_llm_set_image_base64(struct fake_llm *f, const char *text)
{
	char *copy = text ? xstrdup(text) : NULL;

	pthread_mutex_lock(&f->lock);
	free(f->gen_image);
	f->gen_image = copy;
	pthread_mutex_unlock(&f->lock);
}

void fake_llm_fail_generates(struct fake_llm *f, int status, size_t n)
{
	pthread_mutex_lock(&f->lock);
	f->gen_fail_status = status;
	f->gen_fail_left = status >= 400 ? n : 0;
	pthread_mutex_unlock(&f->lock);
}

size_t fake_llm_pending(struct fake_llm *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->npending;
	pthread_mutex_unlock(&f->lock);
	return n;
}

size_t fake_llm_request_count(struct fake_llm *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nreqs;
	pthread_mutex_unlock(&f->lock);
	return n;
}

json_t *fake_llm_request_json(struct fake_llm *f, size_t i)
{
	json_t *v = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs)
		v = json_loadb(f->reqs[i].body, f->reqs[i].body_len, JSON_DECODE_ANY, NULL);
	pthread_mutex_unlock(&f->lock);
	return v;
}

char *fake_llm_request_path(struct fake_llm *f, size_t i)
{
	char *path = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs)
		path = xstrdup(f->reqs[i].path);
	pthread_mutex_unlock(&f->lock);
	return path;
}

char *fake_llm_request_header(struct fake_llm *f, size_t i, const char *name)
{
	char *value = NULL;

	pthread_mutex_lock(&f->lock);
	for (size_t h = 0; i < f->nreqs && h < f->reqs[i].nhdrs && !value; h++)
		if (strcasecmp(f->reqs[i].hdrs[h].name, name) == 0)
			value = xstrdup(f->reqs[i].hdrs[h].value);
	pthread_mutex_unlock(&f->lock);
	return value;
}

char *fake_llm_request_method(struct fake_llm *f, size_t i)
{
	char *method = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs)
		method = xstrdup(f->reqs[i].method);
	pthread_mutex_unlock(&f->lock);
	return method;
}

char *fake_llm_request_body(struct fake_llm *f, size_t i)
{
	char *body = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs)
		body = xstrndup(f->reqs[i].body, f->reqs[i].body_len);
	pthread_mutex_unlock(&f->lock);
	return body;
}

bool fake_llm_wait_requests(struct fake_llm *f, size_t n, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct timespec step = { 0, WAIT_STEP_MS * 1000000L };

	for (;;) {
		if (fake_llm_request_count(f) >= n)
			return true;
		if (clock_mono_ms() >= deadline)
			return false;
		nanosleep(&step, NULL);
	}
}

/* The images of recorded request i, parsed afresh; *req keeps them alive. */
static bool recorded_images(struct fake_llm *f, size_t i, json_t **req, struct image_list *l)
{
	char *msg = NULL;
	bool ok;

	*req = fake_llm_request_json(f, i);
	ok = *req && request_images(f->mode, *req, l, &msg);
	free(msg);
	return ok;
}

size_t fake_llm_request_image_count(struct fake_llm *f, size_t i)
{
	struct image_list l = { 0 };
	json_t *req;
	size_t n = recorded_images(f, i, &req, &l) ? l.n : 0;

	image_list_release(&l);
	json_decref(req);
	return n;
}

unsigned char *fake_llm_request_image(struct fake_llm *f, size_t i, size_t k, size_t *len,
				      char **mime)
{
	struct image_list l = { 0 };
	json_t *req;
	unsigned char *bin = NULL;

	*len = 0;
	if (mime)
		*mime = NULL;
	if (recorded_images(f, i, &req, &l) && k < l.n && l.v[k].b64) {
		bin = b64_decode(l.v[k].b64, l.v[k].b64_len, len);
		if (bin && mime)
			*mime = xstrdup(l.v[k].mime);
	}
	image_list_release(&l);
	json_decref(req);
	return bin;
}
