/* config.c — resolve every setting of settings.def from its sources.
 *
 * Resolution is a fold over sources in priority order, each filling only
 * the settings nobody before it has filled: the real environment, then
 * <cwd>/.env, then <data dir>/.env, then the table's default.  Only after
 * every source is read is anything validated, in table order, so the first
 * error reported is deterministic and names the source of the bad text.
 * Validation is driven by the type column alone; the handful of special
 * cases (time zones, numeric IDs, secrets) are flags, not code keyed on
 * names.  Nothing here creates directories: the paths are derived and
 * handed to whoever needs them. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_int.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/tz.h"

#define DOTENV_MAX_BYTES (1u << 20)

static const struct cfg_def defs[CFG_COUNT_] = {
#define X(name, type, def, min, max, choices, flags, group, help) \
	{ #name, type, def, min, max, choices, flags, group, help },
#include "config/settings.def"
#undef X
};

const struct cfg_def *config_def(enum cfg_id id)
{
	KITH_ASSERT((unsigned)id < CFG_COUNT_);
	return &defs[id];
}

static enum cfg_id lookup_n(const char *name, size_t n, bool nocase)
{
	for (size_t i = 0; i < CFG_COUNT_; i++) {
		const char *d = defs[i].name;

		if (strlen(d) != n)
			continue;
		if (nocase ? strncasecmp(d, name, n) == 0 : memcmp(d, name, n) == 0)
			return (enum cfg_id)i;
	}
	return CFG_COUNT_;
}

enum cfg_id config_lookup(const char *name)
{
	return name ? lookup_n(name, strlen(name), false) : CFG_COUNT_;
}

/* ---- helpers ------------------------------------------------------------- */

/* Where a value came from, for error messages: "environment", "default" or
 * "/path/.env:LINE".  Caller frees. */
static char *origin_phrase(const struct config *c, enum cfg_id id)
{
	const struct cfg_slot *s = &c->slot[id];

	switch (s->src) {
	case CFG_SRC_ENV: return xstrdup("environment");
	case CFG_SRC_DOTENV: return xasprintf("%s:%d", c->files[s->file], s->line);
	case CFG_SRC_DB: return xstrdup("/config");
	default: return xstrdup("default");
	}
}

/* The offending text as shown in a message: URL passwords hidden, control
 * characters escaped, long values shortened.  Caller frees. */
static char *shown_value(const char *text)
{
	char *red = cfg_redact_url(text);
	struct buf b = BUF_INIT(0);
	size_t shown = 0;

	for (const unsigned char *p = (const unsigned char *)red; *p; p++) {
		if (shown >= 60) {
			(void)buf_puts(&b, "...");
			break;
		}
		if (*p == '\n')
			(void)buf_puts(&b, "\\n");
		else if (*p == '\t')
			(void)buf_puts(&b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			(void)buf_printf(&b, "\\x%02x", *p);
		else
			(void)buf_append(&b, p, 1);
		shown++;
	}
	free(red);
	return buf_detach(&b);
}

static enum kith_status bad_value(const struct config *c, enum cfg_id id, const char *expected,
				  char **why)
{
	char *origin = origin_phrase(c, id);
	enum kith_status rc;

	if (defs[id].flags & CFG_SECRET) {
		rc = kith_why(why, KITH_ECONFIG, "%s: expected %s, got an invalid value (from %s)",
			      defs[id].name, expected, origin);
	} else {
		char *v = shown_value(c->slot[id].text);

		rc = kith_why(why, KITH_ECONFIG, "%s: expected %s, got '%s' (from %s)",
			      defs[id].name, expected, v, origin);
		free(v);
	}
	free(origin);
	return rc;
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Copy of s without surrounding whitespace.  Caller frees. */
static char *trimmed(const char *s)
{
	struct slice t = slice_trim(slice_cstr(s));

	return slice_dup(t);
}

static void replace_text(struct cfg_slot *s, char *text)
{
	free(s->text);
	s->text = text;
}

/* Join a relative path to `base` and drop "." segments and doubled
 * slashes; ".." is kept, since resolving it lexically is wrong across
 * symlinks.  Caller frees. */
static char *path_abs(const char *base, const char *p)
{
	struct buf in = BUF_INIT(0), out = BUF_INIT(0);
	const char *s, *e;

	if (p[0] != '/')
		(void)buf_printf(&in, "%s/", base);
	(void)buf_puts(&in, p);
	for (s = buf_str(&in); *s; s = e) {
		while (*s == '/')
			s++;
		e = s;
		while (*e && *e != '/')
			e++;
		if (e == s || (e - s == 1 && s[0] == '.'))
			continue;
		(void)buf_puts(&out, "/");
		(void)buf_append(&out, s, (size_t)(e - s));
	}
	if (out.len == 0)
		(void)buf_puts(&out, "/");
	buf_release(&in);
	return buf_detach(&out);
}

/* ---- URL helpers (shared with config_print.c) ----------------------------- */

/* Bounds of the userinfo password in a scheme://user:pass@host URL. */
static bool url_password_span(const char *s, size_t *off, size_t *len)
{
	const char *auth = strstr(s, "://"), *end, *at = NULL, *colon;

	if (!auth)
		return false;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *q = auth; q < end; q++)
		if (*q == '@')
			at = q;
	if (!at)
		return false;
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (!colon || colon + 1 == at)
		return false;
	*off = (size_t)(colon + 1 - s);
	*len = (size_t)(at - colon - 1);
	return true;
}

char *cfg_redact_url(const char *s)
{
	size_t off, len;

	if (!url_password_span(s, &off, &len))
		return xstrdup(s);
	return xasprintf("%.*s****%s", (int)off, s, s + off + len);
}

char *cfg_url_password(const char *s)
{
	size_t off, len;

	if (!url_password_span(s, &off, &len))
		return NULL;
	return xstrndup(s + off, len);
}

static bool valid_http_url(const char *u)
{
	const char *p, *auth_end, *host, *at = NULL;

	if (strncasecmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return false;
	for (const unsigned char *q = (const unsigned char *)u; *q; q++)
		if (*q <= 0x20 || *q == 0x7f)
			return false;
	auth_end = p + strcspn(p, "/?#");
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	host = at ? at + 1 : p;
	if (host == auth_end)
		return false;
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(auth_end - host));

		if (!rb || rb == host + 1)
			return false;
		p = rb + 1;
	} else {
		p = host;
		while (p < auth_end && *p != ':')
			p++;
		if (p == host)
			return false;
	}
	if (p < auth_end) {
		long port = 0;

		if (*p != ':' || p + 1 == auth_end)
			return false;
		for (p++; p < auth_end; p++) {
			if (*p < '0' || *p > '9')
				return false;
			port = port * 10 + (*p - '0');
			if (port > 65535)
				return false;
		}
		if (port == 0)
			return false;
	}
	return true;
}

/* ---- per-type parsing ---------------------------------------------------- */

static bool parse_ll(const char *s, long long *out)
{
	char *end;
	long long v;
	double d;

	if (!*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == 0 && *end == '\0') {
		*out = v;
		return true;
	}
	/* "900.0" is a whole number too (pydantic accepted it). */
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || !isfinite(d) || d != floor(d) || fabs(d) > 9.0e15)
		return false;
	*out = (long long)d;
	return true;
}

static bool parse_double(const char *s, double *out)
{
	char *end;
	double d;

	if (!*s)
		return false;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || !isfinite(d))
		return false;
	*out = d;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on", "t", "y" };
	static const char *const no[] = { "false", "0", "no", "off", "f", "n" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Find `s` among the '|'-separated choices; *canon gets the choice as
 * written in the table.  Caller frees *canon. */
static bool match_choice(const char *choices, const char *s, char **canon)
{
	const char *p = choices;
	size_t n = strlen(s);

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncasecmp(p, s, n) == 0) {
			*canon = xstrndup(p, len);
			return true;
		}
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static char *choices_phrase(const char *choices)
{
	struct buf b = BUF_INIT(0);
	const char *p = choices;

	(void)buf_puts(&b, "one of ");
	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		(void)buf_append(&b, p, len);
		if (bar)
			(void)buf_puts(&b, ", ");
		p = bar ? bar + 1 : NULL;
	}
	return buf_detach(&b);
}

/* A zone is valid when the zone database can load it: the same code that
 * later turns it into local time (core/tz.c), so the two never disagree. */
static bool valid_zone(const char *z)
{
	struct tm tm;
	long off;
	char abbr[TZ_ABBR_SIZE];

	return tz_localtime_named(z, 0, &tm, &off, abbr, NULL) == KITH_OK;
}

static void free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

struct strvec {
	char **v;
	size_t n, cap;
};

static void strvec_push(struct strvec *sv, char *s)
{
	sv->v = xgrow(sv->v, &sv->cap, sv->n + 2, sizeof(*sv->v));
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

/* "a, b,c" or a JSON array of strings and integers. */
static bool parse_list(const char *s, char ***out)
{
	struct strvec sv = { NULL, 0, 0 };

	if (s[0] == '[') {
		json_error_t err;
		json_t *arr = json_loads(s, 0, &err);
		size_t i;
		json_t *v;

		if (!arr || !json_is_array(arr)) {
			json_decref(arr);
			return false;
		}
		json_array_foreach(arr, i, v) {
			if (json_is_string(v)) {
				strvec_push(&sv, trimmed(json_string_value(v)));
			} else if (json_is_integer(v)) {
				strvec_push(&sv, xasprintf("%" JSON_INTEGER_FORMAT,
							   json_integer_value(v)));
			} else {
				json_decref(arr);
				free_list(sv.v);
				return false;
			}
		}
		json_decref(arr);
	} else {
		struct slice rest = slice_cstr(s), item;
		bool more;

		do {
			more = slice_split(rest, ',', &item, &rest);
			item = slice_trim(item);
			if (item.n)
				strvec_push(&sv, slice_dup(item));
		} while (more);
	}
	if (!sv.v)
		sv.v = xcalloc(1, sizeof(*sv.v));
	*out = sv.v;
	return true;
}

static enum kith_status parse_slot(struct config *c, enum cfg_id id, char **why)
{
	const struct cfg_def *d = &defs[id];
	struct cfg_slot *s = &c->slot[id];
	char expect[160];

	/* Free text keeps its exact bytes; everything else ignores the
	 * spaces people leave around values. */
	if (d->type != CFG_T_STR)
		replace_text(s, trimmed(s->text));

	switch (d->type) {
	case CFG_T_STR:
		if ((d->flags & CFG_SECRET) && has_control(s->text))
			return bad_value(c, id, "a single-line value without control characters", why);
		if ((d->flags & CFG_NUMERIC) && !all_digits(s->text))
			return bad_value(c, id, "a numeric ID (digits only)", why);
		if ((d->flags & CFG_TZ) && !valid_zone(s->text))
			return bad_value(c, id, "a time zone name such as Europe/Berlin or UTC", why);
		return KITH_OK;
	case CFG_T_INT:
		if (!parse_ll(s->text, &s->i) || (double)s->i < d->min || (double)s->i > d->max) {
			snprintf(expect, sizeof(expect), "a whole number between %.15g and %.15g",
				 d->min, d->max);
			return bad_value(c, id, expect, why);
		}
		return KITH_OK;
	case CFG_T_FLOAT:
		if (!parse_double(s->text, &s->f) || s->f < d->min || s->f > d->max) {
			snprintf(expect, sizeof(expect), "a number between %.15g and %.15g",
				 d->min, d->max);
			return bad_value(c, id, expect, why);
		}
		return KITH_OK;
	case CFG_T_BOOL:
		if (!parse_bool(s->text, &s->b))
			return bad_value(c, id, "true or false (or yes/no, on/off, 1/0)", why);
		replace_text(s, xstrdup(s->b ? "true" : "false"));
		return KITH_OK;
	case CFG_T_URL:
		if (!valid_http_url(s->text))
			return bad_value(c, id, "an http:// or https:// URL", why);
		return KITH_OK;
	case CFG_T_LIST:
		free_list(s->list);
		s->list = NULL;
		if (!parse_list(s->text, &s->list))
			return bad_value(c, id, (d->flags & CFG_NUMERIC)
					 ? "a comma-separated list or JSON array of numeric IDs"
					 : "a comma-separated list or JSON array of strings", why);
		if (d->flags & CFG_NUMERIC) {
			for (char **p = s->list; *p; p++)
				if (!all_digits(*p))
					return bad_value(c, id, "a comma-separated list or JSON array of "
							 "numeric IDs", why);
		}
		return KITH_OK;
	case CFG_T_ENUM: {
		char *canon = NULL;

		if (!match_choice(d->choices, s->text, &canon)) {
			char *phrase = choices_phrase(d->choices);
			enum kith_status rc = bad_value(c, id, phrase, why);

			free(phrase);
			return rc;
		}
		replace_text(s, canon);
		return KITH_OK;
	}
	case CFG_T_PATH:
		if (!*s->text || has_control(s->text))
			return bad_value(c, id, "a file system path", why);
		return KITH_OK;
	case CFG_T_LEVEL: {
		enum log_level l;

		if (!log_level_parse(s->text, &l))
			return bad_value(c, id, "a log level (DEBUG, INFO, WARNING, ERROR or CRITICAL)",
					 why);
		for (char *p = s->text; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		return KITH_OK;
	}
	}
	KITH_BUG("config: unknown setting type");
}

/* ---- sources ------------------------------------------------------------- */

static void take_env(struct config *c, const char *const *envp)
{
	for (; *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		struct cfg_slot *s;
		enum cfg_id id;

		/* Empty values count as unset (SEL's env_ignore_empty). */
		if (!eq || eq == *envp || !eq[1])
			continue;
		id = lookup_n(*envp, (size_t)(eq - *envp), false);
		if (id == CFG_COUNT_)
			continue;
		s = &c->slot[id];
		if (s->src == CFG_SRC_ENV)
			continue;   /* duplicate entry: the first wins, as with getenv */
		s->text = xstrdup(eq + 1);
		s->src = CFG_SRC_ENV;
	}
}

static const char *env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

struct loader {
	struct config *c;
	int file;
	bool data_dir_file;
	bool have_first;          /* the cwd .env was read */
	dev_t first_dev;
	ino_t first_ino;
};

static void dotenv_set(const char *key, const char *value, int line, void *ud)
{
	struct loader *L = ud;
	struct cfg_slot *s;
	enum cfg_id id = config_lookup(key);

	/* pydantic matched names case-insensitively; accept lower-case
	 * spellings from files written for SEL. */
	if (id == CFG_COUNT_)
		id = lookup_n(key, strlen(key), true);
	if (id == CFG_COUNT_ || !*value)
		return;
	/* The data directory cannot move itself once we are reading it. */
	if (L->data_dir_file && id == CFG_KITH_DATA_DIR)
		return;
	s = &L->c->slot[id];
	if (s->src == CFG_SRC_ENV)
		return;
	if (s->src == CFG_SRC_DOTENV && s->file != L->file)
		return;   /* an earlier file said it first */
	/* Within one file the last line wins, as python-dotenv does it. */
	replace_text(s, xstrdup(value));
	s->src = CFG_SRC_DOTENV;
	s->file = L->file;
	s->line = line;
}

static enum kith_status read_dotenv(struct loader *L, const char *path, char **why)
{
	struct config *c = L->c;
	struct buf text = BUF_INIT(DOTENV_MAX_BYTES + 1);
	struct stat st;
	enum kith_status rc = KITH_OK;
	int fd, errline = 0;
	const char *errmsg = NULL;

	/* O_NONBLOCK: a FIFO named .env must not hang start-up in open(). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return KITH_OK;
		return kith_why(why, KITH_ECONFIG, "%s: cannot read: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = kith_why(why, KITH_ECONFIG, "%s: not a regular file", path);
		goto out;
	}
	if (L->data_dir_file && L->have_first && st.st_dev == L->first_dev &&
	    st.st_ino == L->first_ino)
		goto out;   /* data dir == cwd: the same file, already read */
	if (!L->data_dir_file) {
		L->have_first = true;
		L->first_dev = st.st_dev;
		L->first_ino = st.st_ino;
	}
	for (;;) {
		char chunk[8192];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = kith_why(why, KITH_ECONFIG, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&text, chunk, (size_t)n) != KITH_OK) {
			rc = kith_why(why, KITH_ECONFIG, "%s: larger than %u bytes; is this a .env file?",
				      path, DOTENV_MAX_BYTES);
			goto out;
		}
	}
	KITH_ASSERT(c->nfiles < CFG_MAX_FILES);
	L->file = c->nfiles++;
	c->files[L->file] = xstrdup(path);
	c->origins[L->file] = xasprintf(".env (%s)", path);
	if (dotenv_scan(buf_str(&text), text.len, dotenv_set, L, &errline, &errmsg) != KITH_OK)
		rc = kith_why(why, KITH_ECONFIG, "%s:%d: %s", path, errline, errmsg);
out:
	close(fd);
	buf_release(&text);
	return rc;
}

/* ---- derived paths ------------------------------------------------------- */

static bool is_pg_scheme(const char *u, size_t n)
{
	static const char *const names[] = { "postgresql", "postgres" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = strlen(names[i]);

		if (n >= k && strncasecmp(u, names[i], k) == 0 && (n == k || u[k] == '+'))
			return true;
	}
	return false;
}

/* SQLAlchemy-style URLs as SEL wrote them.  sqlite[+driver]:///rel/path or
 * sqlite[+driver]:////abs/path give a file; postgres[ql][+driver]://… is
 * recognised (and remembered) for the PostgreSQL backend still to come. */
static bool parse_db_url(const char *u, const char *cwd, char **path, bool *pg)
{
	const char *sep = strstr(u, "://"), *p;
	size_t slen, n;
	char *raw;

	*path = NULL;
	*pg = false;
	if (!sep)
		return false;
	slen = (size_t)(sep - u);
	p = sep + 3;
	if ((slen == 6 && strncasecmp(u, "sqlite", 6) == 0) ||
	    (slen > 7 && strncasecmp(u, "sqlite+", 7) == 0)) {
		if (*p != '/')
			return false;
		p++;
		n = strcspn(p, "?#");
		if (n == 0)
			return false;
		raw = xstrndup(p, n);
		if (strcmp(raw, ":memory:") == 0) {
			*path = raw;
		} else {
			*path = path_abs(cwd, raw);
			free(raw);
		}
		return true;
	}
	if (is_pg_scheme(u, slen) && *p && *p != '/') {
		*pg = true;
		return true;
	}
	return false;
}

static enum kith_status derive_paths(struct config *c, const char *cwd, char **why)
{
	const char *dbp = c->slot[CFG_DB_PATH].text, *url = c->slot[CFG_DATABASE_URL].text;
	const char *him = c->slot[CFG_HIM_MEMORY_DIR].text;
	char *url_path = NULL;

	if (url && !parse_db_url(url, cwd, &url_path, &c->db_postgres))
		return bad_value(c, CFG_DATABASE_URL,
				 "sqlite:///path/to/file.db or postgres://user@host/db", why);
	if (dbp) {
		c->db_path = path_abs(cwd, dbp);
		free(url_path);
	} else if (url_path) {
		c->db_path = url_path;
	} else {
		/* Also the PostgreSQL case until that backend exists. */
		c->db_path = path_abs(c->data_dir, "kith.db");
	}
	c->him_dir = him ? path_abs(cwd, him) : path_abs(c->data_dir, "him");
	return KITH_OK;
}

/* ---- load / free --------------------------------------------------------- */

enum kith_status config_load(struct config **out, const char *const *envp, const char *cwd,
			     char **why)
{
	struct config *c = xcalloc(1, sizeof(*c));
	struct loader L = { .c = c };
	char *cwd_buf = NULL, *path = NULL;
	const char *xdg;
	enum kith_status rc = KITH_OK;

	*out = NULL;
	pthread_mutex_init(&c->ovr_lock, NULL);
	if (!envp)
		envp = (const char *const *)environ;
	if (!cwd) {
		cwd_buf = getcwd(NULL, 0);
		if (!cwd_buf) {
			rc = kith_why(why, KITH_ECONFIG, "cannot determine the current directory: %s",
				      strerror(errno));
			goto out;
		}
		cwd = cwd_buf;
	}

	take_env(c, envp);
	path = path_abs(cwd, ".env");
	rc = read_dotenv(&L, path, why);
	if (rc)
		goto out;

	/* The data directory may come from the environment or ./.env. */
	if (c->slot[CFG_KITH_DATA_DIR].text) {
		rc = parse_slot(c, CFG_KITH_DATA_DIR, why);
		if (rc)
			goto out;
		c->data_dir = path_abs(cwd, c->slot[CFG_KITH_DATA_DIR].text);
	} else if ((xdg = env_get(envp, "XDG_DATA_HOME")) && xdg[0] == '/') {
		c->data_dir = path_abs(xdg, "kith");
	} else {
		c->data_dir = path_abs(cwd, "data");
	}
	free(path);
	path = path_abs(c->data_dir, ".env");
	L.data_dir_file = true;
	rc = read_dotenv(&L, path, why);
	if (rc)
		goto out;

	for (size_t i = 0; i < CFG_COUNT_; i++) {
		struct cfg_slot *s = &c->slot[i];

		if (!s->text && defs[i].def) {
			s->text = xstrdup(defs[i].def);
			s->src = CFG_SRC_DEFAULT;
		}
		if (s->text) {
			rc = parse_slot(c, (enum cfg_id)i, why);
			if (rc)
				goto out;
		}
	}
	rc = derive_paths(c, cwd, why);
out:
	free(path);
	free(cwd_buf);
	if (rc)
		config_free(c);
	else
		*out = c;
	return rc;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CFG_COUNT_; i++) {
		struct cfg_slot *o = atomic_load(&c->ovr[i]);

		free(c->slot[i].text);
		free_list(c->slot[i].list);
		if (o) {
			free(o->text);
			free_list(o->list);
			free(o);
		}
	}
	for (size_t i = 0; i < c->nretired; i++) {
		free(c->retired[i]->text);
		free_list(c->retired[i]->list);
		free(c->retired[i]);
	}
	free(c->retired);
	pthread_mutex_destroy(&c->ovr_lock);
	for (int i = 0; i < c->nfiles; i++) {
		free(c->files[i]);
		free(c->origins[i]);
	}
	free(c->data_dir);
	free(c->db_path);
	free(c->him_dir);
	free(c);
}

/* ---- access -------------------------------------------------------------- */

const struct cfg_slot *cfg_slot_of(const struct config *c, enum cfg_id id)
{
	const struct cfg_slot *o;

	KITH_ASSERT(c && (unsigned)id < CFG_COUNT_);
	o = atomic_load_explicit(&((struct config *)c)->ovr[id], memory_order_acquire);
	return o ? o : &c->slot[id];
}

static const struct cfg_slot *typed(const struct config *c, enum cfg_id id, enum cfg_type t,
				    const char *what)
{
	KITH_ASSERT(c && (unsigned)id < CFG_COUNT_);
	if (defs[id].type != t)
		kith_bug(__FILE__, __LINE__, what);
	return cfg_slot_of(c, id);
}

const char *config_str(const struct config *c, enum cfg_id id)
{
	return cfg_slot_of(c, id)->text;
}

long long config_int(const struct config *c, enum cfg_id id)
{
	return typed(c, id, CFG_T_INT, "config_int on a setting that is not an integer")->i;
}

double config_float(const struct config *c, enum cfg_id id)
{
	return typed(c, id, CFG_T_FLOAT, "config_float on a setting that is not a number")->f;
}

bool config_bool(const struct config *c, enum cfg_id id)
{
	return typed(c, id, CFG_T_BOOL, "config_bool on a setting that is not a boolean")->b;
}

const char *const *config_list(const struct config *c, enum cfg_id id)
{
	static const char *const empty[] = { NULL };
	const struct cfg_slot *s = typed(c, id, CFG_T_LIST, "config_list on a setting that is not a list");

	return s->list ? (const char *const *)s->list : empty;
}

bool config_is_set(const struct config *c, enum cfg_id id)
{
	enum cfg_src src = cfg_slot_of(c, id)->src;

	return src == CFG_SRC_ENV || src == CFG_SRC_DOTENV || src == CFG_SRC_DB;
}

const char *config_origin(const struct config *c, enum cfg_id id)
{
	const struct cfg_slot *s = cfg_slot_of(c, id);

	switch (s->src) {
	case CFG_SRC_ENV: return "environment";
	case CFG_SRC_DOTENV: return c->origins[s->file];
	case CFG_SRC_DB: return "database (/config)";
	default: return "default";
	}
}

const char *config_data_dir(const struct config *c)
{
	return c->data_dir;
}

const char *config_db_path(const struct config *c)
{
	return c->db_path;
}

const char *config_him_dir(const struct config *c)
{
	return c->him_dir;
}

/* ---- runtime overrides (the /config layer) ------------------------------- */

bool config_runtime_settable(enum cfg_id id)
{
	return (unsigned)id < CFG_COUNT_ && (defs[id].flags & CFG_RUNTIME) != 0;
}

/* Parse `text` for setting `id` into a fresh heap slot (src = DB). */
static enum kith_status parse_alone(enum cfg_id id, const char *text, struct cfg_slot **out,
				    char **why)
{
	struct config *tmp;
	enum kith_status rc;

	*out = NULL;
	if ((unsigned)id >= CFG_COUNT_)
		return kith_why(why, KITH_EINVAL, "no such setting");
	if (!text || !*text)
		return kith_why(why, KITH_ECONFIG, "%s: a value is needed", defs[id].name);
	tmp = xcalloc(1, sizeof(*tmp));
	tmp->slot[id].text = xstrdup(text);
	tmp->slot[id].src = CFG_SRC_DB;
	rc = parse_slot(tmp, id, why);
	if (rc == KITH_OK) {
		*out = xmalloc(sizeof(**out));
		**out = tmp->slot[id];
	} else {
		free(tmp->slot[id].text);
		free_list(tmp->slot[id].list);
	}
	free(tmp);
	return rc;
}

enum kith_status config_check_value(enum cfg_id id, const char *text, char **norm, char **why)
{
	struct cfg_slot *s = NULL;
	enum kith_status rc = parse_alone(id, text, &s, why);

	if (norm)
		*norm = NULL;
	if (rc)
		return rc;
	if (norm) {
		*norm = s->text;
		s->text = NULL;
	}
	free(s->text);
	free_list(s->list);
	free(s);
	return KITH_OK;
}

static void retire(struct config *c, struct cfg_slot *old)
{
	if (!old)
		return;
	c->retired = xgrow(c->retired, &c->retired_cap, c->nretired + 1, sizeof(*c->retired));
	c->retired[c->nretired++] = old;
}

enum kith_status config_override(const struct config *cc, enum cfg_id id, const char *text,
				 char **why)
{
	struct config *c = (struct config *)cc;   /* the override layer is interior state */
	struct cfg_slot *s = NULL, *old;
	enum kith_status rc;

	if (!config_runtime_settable(id))
		return kith_why(why, KITH_EINVAL, "%s can't be changed while kith runs",
				(unsigned)id < CFG_COUNT_ ? defs[id].name : "that setting");
	if (text && (rc = parse_alone(id, text, &s, why)) != KITH_OK)
		return rc;
	pthread_mutex_lock(&c->ovr_lock);
	old = atomic_exchange_explicit(&c->ovr[id], s, memory_order_acq_rel);
	if (old && s && old->text && s->text && strcmp(old->text, s->text) == 0) {
		/* Unchanged: keep the old slot, drop the new one. */
		atomic_store_explicit(&c->ovr[id], old, memory_order_release);
		free(s->text);
		free_list(s->list);
		free(s);
	} else {
		retire(c, old);
	}
	pthread_mutex_unlock(&c->ovr_lock);
	return KITH_OK;
}

bool config_is_overridden(const struct config *c, enum cfg_id id)
{
	return cfg_slot_of(c, id)->src == CFG_SRC_DB;
}

const char *config_base_text(const struct config *c, enum cfg_id id)
{
	KITH_ASSERT(c && (unsigned)id < CFG_COUNT_);
	return c->slot[id].text;
}
