/* registry.c — the agents in AGENTS_DIR: scanning, describing, lookups and
 * runs.
 *
 * A scan builds a fresh array of entries and swaps it in under the lock;
 * published entries are never changed, and every lookup copies what it
 * needs before the lock is released, so a reload can never free an agent
 * under a caller.  Scans are serialised by a second lock and reuse the
 * previous scan's result for files whose identity (device, inode, size,
 * mtime, ctime) did not change — including files that were refused, so an
 * unchanged broken agent is neither described nor logged again.
 *
 * Which files are agents, in file-name order:
 *   NAME.so                       a shared object (so_agent.c)
 *   NAME or NAME.ext, executable  an executable (exec_agent.c)
 * Hidden files, directories and other files (sources, READMEs) are passed
 * over silently.  Refused, with a log line: names outside [a-z0-9_-], files
 * anyone may write, a second file for a name already taken (the first in
 * file-name order wins), and agents whose description cannot be read. */
#include "plugin/plugin_int.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kith/plugin.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_DESCRIBE_MS 5000
#define DEFAULT_MAX_OUTPUT 8000
#define DEFAULT_DEBOUNCE_MS 200

enum entry_state {
	ENTRY_OK = 0,
	ENTRY_REFUSED,        /* kept so an unchanged file is not retried */
	ENTRY_DUPLICATE,      /* name taken: looked at again on every scan */
};

struct entry {
	char *file;           /* name in the directory */
	char *name;
	char *path;
	enum plugin_kind kind;
	enum entry_state state;
	char *description;
	char **keywords;      /* NULL-terminated */
	char *why;            /* why it was refused */
	struct stat st;       /* identity when it was looked at */
};

struct plugins {
	char *dir;
	int timeout_ms, describe_ms;
	size_t max_output;
	pthread_mutex_t lock;       /* guards e, n, gen */
	pthread_cond_t scanned;
	struct entry *e;
	size_t n;
	uint64_t gen;
	pthread_mutex_t scan_lock;  /* one scan at a time */
	bool missing_logged;
	struct plugin_watch *watch;
};

const char *plugin_kind_name(enum plugin_kind k)
{
	return k == PLUGIN_SHARED ? "shared object" : "executable";
}

void plugin_options_from_config(const struct config *cfg, struct plugin_options *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = config_str(cfg, CFG_AGENTS_DIR);
	o->timeout_ms = (int)(config_float(cfg, CFG_AGENT_TIMEOUT) * 1000.0);
	o->max_output = (size_t)config_int(cfg, CFG_AGENT_MAX_OUTPUT);
	o->watch = true;
}

static void entry_release(struct entry *e)
{
	free(e->file);
	free(e->name);
	free(e->path);
	free(e->description);
	plugin_strv_free(e->keywords);
	free(e->why);
	memset(e, 0, sizeof(*e));
}

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		entry_release(&e[i]);
	free(e);
}

static char **strv_dup(char *const *v)
{
	size_t n = 0;
	char **c;

	while (v && v[n])
		n++;
	c = xcalloc(n + 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

static void entry_copy(struct entry *dst, const struct entry *src)
{
	*dst = *src;
	dst->file = xstrdup(src->file);
	dst->name = xstrdup(src->name);
	dst->path = xstrdup(src->path);
	dst->description = xstrdup(src->description);
	dst->keywords = strv_dup(src->keywords);
	dst->why = xstrdup(src->why);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static char *seconds(int ms)
{
	return xasprintf("%g s", ms / 1000.0);
}

/* ---- describing ------------------------------------------------------- */

static bool describe_so(struct plugins *p, struct entry *e)
{
	struct plugin_reply rep;
	struct plugin_outcome how;
	char *why = NULL, *t;
	enum kith_status rc = plugin_so_call(e->path, NULL, p->describe_ms, 4096, &rep, &how, &why);

	if (how.timed_out) {
		t = seconds(p->describe_ms);
		e->why = xasprintf("loading it did not finish within %s", t);
		free(t);
	} else if (how.term_signal) {
		e->why = xasprintf("it crashed while loading (signal %d)", how.term_signal);
	} else if (how.truncated || how.exit_code) {
		e->why = xasprintf("it exited while loading (status %d)", how.exit_code);
	} else if (rc) {
		e->why = xasprintf("its answer could not be read: %s",
				   why ? why : kith_strerror(rc));
	} else if (rep.error) {
		e->why = xstrdup(rep.error);
	} else if (!rep.has_abi) {
		e->why = xstrdup("it declares no ABI version");
	} else if (rep.abi != KITH_PLUGIN_ABI_VERSION) {
		e->why = xasprintf("it was built for plugin ABI %d; kith loads version %d", rep.abi,
				   KITH_PLUGIN_ABI_VERSION);
	} else if (!rep.description || !*rep.description) {
		e->why = xstrdup("its description is empty");
	} else {
		e->description = rep.description;
		e->keywords = rep.keywords ? rep.keywords : xcalloc(1, sizeof(char *));
		rep.description = NULL;
		rep.keywords = NULL;
	}
	plugin_reply_release(&rep);
	free(why);
	return e->why == NULL;
}

static bool describe_exec(struct plugins *p, struct entry *e)
{
	struct buf out = BUF_INIT(0), err = BUF_INIT(0);
	struct plugin_outcome how;
	char *why = NULL, *t;
	enum kith_status rc = plugin_exec_call(e->path, NULL, p->describe_ms, 16384, &out, &err,
					       &how, &why);

	if (how.timed_out) {
		t = seconds(p->describe_ms);
		e->why = xasprintf("--describe did not finish within %s", t);
		free(t);
	} else if (how.term_signal) {
		e->why = xasprintf("--describe crashed (signal %d)", how.term_signal);
	} else if (rc) {
		e->why = why ? xstrdup(why)
			     : xasprintf("--describe failed (exit status %d)", how.exit_code);
	} else {
		free(why);
		why = NULL;
		if (plugin_describe_parse(buf_str(&out), out.len, &e->description, &e->keywords,
					  &why) != KITH_OK)
			e->why = why ? xstrdup(why) : xstrdup("no description");
	}
	free(why);
	buf_release(&out);
	buf_release(&err);
	return e->why == NULL;
}

/* ---- scanning --------------------------------------------------------- */

static int by_file(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Which kind of agent `file` is and its name; false for files that are not
 * agents at all (passed over without a word). */
static bool classify(const char *file, const struct stat *st, enum plugin_kind *kind,
		     char **name)
{
	size_t len = strlen(file);
	const char *dot = strrchr(file, '.');

	if (file[0] == '.' || !S_ISREG(st->st_mode))
		return false;
	if (len > 3 && strcmp(file + len - 3, ".so") == 0) {
		*kind = PLUGIN_SHARED;
		*name = xstrndup(file, len - 3);
		return true;
	}
	if (!(st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
		return false;
	*kind = PLUGIN_EXEC;
	*name = dot && dot != file ? xstrndup(file, (size_t)(dot - file)) : xstrdup(file);
	return true;
}

static const struct entry *find_old(const struct entry *old, size_t n, const char *file)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(old[i].file, file) == 0)
			return &old[i];
	}
	return NULL;
}

static bool name_taken(const struct entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].state == ENTRY_OK && strcmp(e[i].name, name) == 0)
			return true;
	}
	return false;
}

/* Look at one file (e->file stays NULL when it is not an agent at all). */
static void look_at(struct plugins *p, const char *file, const struct stat *st,
		    const struct entry *fresh, size_t nfresh, struct entry *e)
{
	char *name = NULL;
	enum plugin_kind kind;

	memset(e, 0, sizeof(*e));
	if (!classify(file, st, &kind, &name))
		return;
	e->file = xstrdup(file);
	e->name = name;
	e->kind = kind;
	e->path = xasprintf("%s/%s", p->dir, file);
	e->st = *st;
	if (!plugin_name_valid(name, strlen(name))) {
		e->state = ENTRY_REFUSED;
		e->why = xstrdup("agent names are lower-case letters, digits, '_' and '-'");
	} else if (st->st_mode & S_IWOTH) {
		e->state = ENTRY_REFUSED;
		e->why = xstrdup("anyone may write to it");
	} else if (name_taken(fresh, nfresh, name)) {
		e->state = ENTRY_DUPLICATE;
		e->why = xasprintf("another file already provides agent %s", name);
	} else if (!(kind == PLUGIN_SHARED ? describe_so(p, e) : describe_exec(p, e))) {
		e->state = ENTRY_REFUSED;
	}
}

static void log_entry(const struct entry *e, const struct entry *prev)
{
	char *file = plugin_text_clean(e->file, strlen(e->file), 200, true);

	if (e->state == ENTRY_OK) {
		log_info(PLUGIN_LOG, "%s %s (%s): %s", prev ? "reloaded" : "loaded", e->name,
			 plugin_kind_name(e->kind), e->description);
	} else if (!prev || prev->state != e->state || !same_file(&prev->st, &e->st)) {
		log_warn(PLUGIN_LOG, "skipped %s: %s", file, e->why);
	}
	free(file);
}

void plugins_reload(struct plugins *p)
{
	struct entry *fresh = NULL, *old;
	size_t nfresh = 0, cap = 0, nold, nfiles = 0, files_cap = 0;
	char **files = NULL;
	DIR *d;
	struct dirent *de;

	pthread_mutex_lock(&p->scan_lock);
	old = p->e;   /* only scans change it, and this is the only scan */
	nold = p->n;
	d = opendir(p->dir);
	if (!d) {
		if (!p->missing_logged)
			log_info(PLUGIN_LOG, "no agents: %s: %s", p->dir, strerror(errno));
		p->missing_logged = true;
	} else {
		p->missing_logged = false;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			files = xgrow(files, &files_cap, nfiles + 1, sizeof(*files));
			files[nfiles++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	if (nfiles)
		qsort(files, nfiles, sizeof(*files), by_file);
	for (size_t i = 0; i < nfiles; i++) {
		char *path = xasprintf("%s/%s", p->dir, files[i]);
		const struct entry *prev = find_old(old, nold, files[i]);
		struct stat st;
		struct entry e;

		if (stat(path, &st) != 0) {
			free(path);
			continue;
		}
		free(path);
		if (prev && prev->state != ENTRY_DUPLICATE && same_file(&prev->st, &st) &&
		    !(prev->state == ENTRY_OK && name_taken(fresh, nfresh, prev->name))) {
			entry_copy(&e, prev);   /* unchanged: no need to ask it again */
		} else {
			look_at(p, files[i], &st, fresh, nfresh, &e);
			if (!e.file)
				continue;
			log_entry(&e, prev);
		}
		fresh = xgrow(fresh, &cap, nfresh + 1, sizeof(*fresh));
		fresh[nfresh++] = e;
	}
	for (size_t i = 0; i < nold; i++) {
		if (old[i].state == ENTRY_OK && !name_taken(fresh, nfresh, old[i].name))
			log_info(PLUGIN_LOG, "removed %s", old[i].name);
	}
	pthread_mutex_lock(&p->lock);
	p->e = fresh;
	p->n = nfresh;
	p->gen++;
	pthread_cond_broadcast(&p->scanned);
	pthread_mutex_unlock(&p->lock);
	entries_free(old, nold);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	pthread_mutex_unlock(&p->scan_lock);
}

/* ---- the registry ----------------------------------------------------- */

enum kith_status plugins_open(const struct plugin_options *o, struct plugins **out, char **why)
{
	struct plugins *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;
	char real[PATH_MAX];
	const char *dir = o->dir && *o->dir ? o->dir : "./agents";
	size_t dlen;
	enum kith_status rc;

	p->dir = xstrdup(realpath(dir, real) ? real : dir);
	dlen = strlen(p->dir);
	while (dlen > 1 && p->dir[dlen - 1] == '/')
		p->dir[--dlen] = '\0';
	p->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	p->describe_ms = o->describe_timeout_ms > 0 ? o->describe_timeout_ms : DEFAULT_DESCRIBE_MS;
	if (p->describe_ms > p->timeout_ms)
		p->describe_ms = p->timeout_ms;
	p->max_output = o->max_output > 0 ? o->max_output : DEFAULT_MAX_OUTPUT;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->scan_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->scanned, &ca);
	pthread_condattr_destroy(&ca);
	plugins_reload(p);
	if (o->watch) {
		rc = plugin_watch_start(p, p->dir, o->debounce_ms > 0 ? o->debounce_ms
								       : DEFAULT_DEBOUNCE_MS,
					&p->watch, why);
		if (rc) {
			plugins_free(p);
			return rc;
		}
	}
	*out = p;
	return KITH_OK;
}

void plugins_free(struct plugins *p)
{
	if (!p)
		return;
	plugin_watch_stop(p->watch);
	entries_free(p->e, p->n);
	pthread_cond_destroy(&p->scanned);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->scan_lock);
	free(p->dir);
	free(p);
}

const char *plugins_dir(const struct plugins *p)
{
	return p->dir;
}

uint64_t plugins_generation(struct plugins *p)
{
	uint64_t g;

	pthread_mutex_lock(&p->lock);
	g = p->gen;
	pthread_mutex_unlock(&p->lock);
	return g;
}

bool plugins_wait_scan(struct plugins *p, uint64_t after, int timeout_ms)
{
	struct timespec until;
	bool passed;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (p->gen <= after) {
		if (pthread_cond_timedwait(&p->scanned, &p->lock, &until) == ETIMEDOUT)
			break;
	}
	passed = p->gen > after;
	pthread_mutex_unlock(&p->lock);
	return passed;
}

static void info_copy(struct plugin_info *i, const struct entry *e)
{
	i->name = xstrdup(e->name);
	i->kind = e->kind;
	i->description = xstrdup(e->description);
	i->keywords = strv_dup(e->keywords);
	i->path = xstrdup(e->path);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct plugin_info *)a)->name, ((const struct plugin_info *)b)->name);
}

size_t plugins_list(struct plugins *p, struct plugin_info **out)
{
	struct plugin_info *a = NULL;
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].state == ENTRY_OK)
			n++;
	}
	if (n)
		a = xcalloc(n, sizeof(*a));
	n = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].state == ENTRY_OK)
			info_copy(&a[n++], &p->e[i]);
	}
	pthread_mutex_unlock(&p->lock);
	if (n > 1)
		qsort(a, n, sizeof(*a), by_name);
	*out = a;
	return n;
}

void plugin_info_release(struct plugin_info *i)
{
	free(i->name);
	free(i->description);
	plugin_strv_free(i->keywords);
	free(i->path);
	memset(i, 0, sizeof(*i));
}

void plugin_info_free(struct plugin_info *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		plugin_info_release(&a[i]);
	free(a);
}

bool plugins_lookup_(struct plugins *p, const char *name, struct plugin_info *out,
		     int *timeout_ms, size_t *max_output)
{
	bool found = false;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; name && i < p->n && !found; i++) {
		if (p->e[i].state == ENTRY_OK && strcmp(p->e[i].name, name) == 0) {
			info_copy(out, &p->e[i]);
			found = true;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (timeout_ms)
		*timeout_ms = p->timeout_ms;
	if (max_output)
		*max_output = p->max_output;
	return found;
}
