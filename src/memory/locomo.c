/* locomo.c — loading LoCoMo JSON and the paper's retrieval metric.
 *
 * Everything in the file is outside input: types are checked at every
 * step, strings are copied, and what does not fit the documented shape is
 * dropped and counted (struct locomo_stats) instead of guessed at — except
 * one repair: "D:11:26" is read as D11:26 (a stray colon) and counted. */
#include "memory/locomo.h"
#include "core/alloc.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SESSION 100000
#define MAX_TURN 1000000

static const char *const months[] = {
	"january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december",
};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	return p;
}

/* Up to 9 digits into *v; NULL when there are none. */
static const char *read_uint(const char *p, long *v)
{
	int n = 0;

	*v = 0;
	while (*p >= '0' && *p <= '9' && n < 9) {
		*v = *v * 10 + (*p++ - '0');
		n++;
	}
	return n && !(*p >= '0' && *p <= '9') ? p : NULL;
}

static bool word_is(const char **pp, const char *w)
{
	size_t n = strlen(w);
	const char *p = *pp;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != w[i])
			return false;
	}
	*pp = p + n;
	return true;
}

bool locomo_parse_date(const char *s, int64_t *ms)
{
	long hour, min, day, year;
	int month = -1;
	const char *p = s;

	if (!s)
		return false;
	p = read_uint(skip_space(p), &hour);
	if (!p || *p++ != ':')
		return false;
	p = read_uint(p, &min);
	if (!p || hour < 1 || hour > 12 || min > 59)
		return false;
	p = skip_space(p);
	if (word_is(&p, "pm"))
		hour = hour % 12 + 12;
	else if (word_is(&p, "am"))
		hour %= 12;
	else
		return false;
	p = skip_space(p);
	if (!word_is(&p, "on"))
		return false;
	p = read_uint(skip_space(p), &day);
	if (!p || day < 1 || day > 31)
		return false;
	p = skip_space(p);
	for (int i = 0; i < 12 && month < 0; i++)
		if (word_is(&p, months[i]))
			month = i + 1;
	if (month < 0)
		return false;
	p = read_uint(skip_space(p), &year);
	if (!p || year < 1 || year > 9999 || *skip_space(p) != '\0')
		return false;
	*ms = ((days_from_civil(year, month, (int)day) * 24 + hour) * 60 + min) * 60000;
	return true;
}

/* "D<s>:<t>" exactly (optionally "D:<s>:<t>", *repaired set) → canonical. */
static bool parse_dia_id(const char *p, size_t n, int *session, long *turn, bool *repaired)
{
	long s, t;
	const char *end = p + n, *q;
	char tmp[32];

	*repaired = false;
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	q = tmp;
	if (*q != 'D' && *q != 'd')
		return false;
	q++;
	if (*q == ':') {
		q++;
		*repaired = true;
	}
	q = read_uint(q, &s);
	if (!q || *q++ != ':')
		return false;
	q = read_uint(q, &t);
	if (!q || *q != '\0' || s > MAX_SESSION || t > MAX_TURN)
		return false;
	(void)end;
	*session = (int)s;
	*turn = t;
	return true;
}

int locomo_session_of(const char *dia_id)
{
	int s;
	long t;
	bool rep;

	if (!dia_id || !parse_dia_id(dia_id, strlen(dia_id), &s, &t, &rep))
		return -1;
	return s;
}

static char *dia_id_str(int session, long turn)
{
	return xasprintf("D%d:%ld", session, turn);
}

/* ---- loading ------------------------------------------------------------ */

static bool is_session_key(const char *k, int *n)
{
	long v;
	const char *p;

	if (strncmp(k, "session_", 8) != 0)
		return false;
	p = read_uint(k + 8, &v);
	if (!p || *p != '\0' || v < 0 || v > MAX_SESSION)
		return false;
	*n = (int)v;
	return true;
}

static void add_turn(struct locomo_conv *c, size_t *cap, const json_t *t, int session,
		     int64_t at, struct locomo_stats *st)
{
	const char *dia = kjson_str(t, "dia_id"), *speaker = kjson_str(t, "speaker");
	const char *text = kjson_str(t, "text"), *cap_text = kjson_str(t, "blip_caption");
	struct locomo_turn *x;
	int s;
	long k;
	bool rep;

	if (!dia || !speaker || (!text && !cap_text) ||
	    !parse_dia_id(dia, strlen(dia), &s, &k, &rep) || rep) {
		st->bad_turns++;
		return;
	}
	c->turns = xgrow(c->turns, cap, c->nturns + 1, sizeof(*c->turns));
	x = &c->turns[c->nturns++];
	x->dia_id = dia_id_str(s, k);
	x->session = session;
	x->speaker = xstrdup(speaker);
	if (cap_text && *cap_text)
		x->text = xasprintf("%s%s[shares a photo: %s]", text ? text : "",
				    text && *text ? " " : "", cap_text);
	else
		x->text = xstrdup(text ? text : "");
	x->at_ms = at;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void load_turns(struct locomo_conv *c, const json_t *conv, struct locomo_stats *st)
{
	const char *key;
	json_t *v;
	int *sessions = NULL;
	size_t ns = 0, cap = 0, tcap = 0;

	json_object_foreach((json_t *)conv, key, v) {
		int n;

		if (is_session_key(key, &n) && json_is_array(v)) {
			sessions = xgrow(sessions, &cap, ns + 1, sizeof(*sessions));
			sessions[ns++] = n;
		}
	}
	qsort(sessions, ns, sizeof(*sessions), cmp_int);
	for (size_t i = 0; i < ns; i++) {
		char k[48];
		int64_t at = 0;
		json_t *arr, *t;
		size_t j;

		snprintf(k, sizeof k, "session_%d_date_time", sessions[i]);
		if (kjson_str(conv, k) && !locomo_parse_date(kjson_str(conv, k), &at))
			st->bad_dates++;
		snprintf(k, sizeof k, "session_%d", sessions[i]);
		arr = json_object_get(conv, k);
		json_array_foreach(arr, j, t)
			add_turn(c, &tcap, t, sessions[i], at, st);
	}
	free(sessions);
}

static bool has_turn(const struct locomo_conv *c, const char *id)
{
	for (size_t i = 0; i < c->nturns; i++)
		if (strcmp(c->turns[i].dia_id, id) == 0)
			return true;
	return false;
}

static void add_evidence(struct locomo_question *q, size_t *cap, const char *id)
{
	for (size_t i = 0; i < q->nevidence; i++)
		if (strcmp(q->evidence[i], id) == 0)
			return;
	q->evidence = xgrow(q->evidence, cap, q->nevidence + 1, sizeof(*q->evidence));
	q->evidence[q->nevidence++] = xstrdup(id);
}

/* One evidence string: ids separated by ';', ',' or spaces. */
static void load_evidence(const struct locomo_conv *c, struct locomo_question *q, size_t *cap,
			  const char *e, struct locomo_stats *st)
{
	size_t pieces = 0;
	const char *p = e;

	while (*p) {
		size_t n;
		int s;
		long k;
		bool rep;

		while (*p == ';' || *p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		n = strcspn(p, ";, \t");
		pieces++;
		if (!parse_dia_id(p, n, &s, &k, &rep)) {
			st->invalid++;
		} else {
			char *id = dia_id_str(s, k);

			if (rep)
				st->repaired++;
			if (!has_turn(c, id))
				st->missing++;
			add_evidence(q, cap, id);
			free(id);
		}
		p += n;
	}
	if (pieces > 1)
		st->split++;
	if (pieces == 0)
		st->invalid++;
}

static void load_questions(struct locomo_conv *c, const json_t *qa, struct locomo_stats *st)
{
	size_t i, cap = 0;
	json_t *item;

	json_array_foreach(qa, i, item) {
		struct locomo_question *q;
		const char *text = kjson_str(item, "question");
		json_t *ev = kjson_arr(item, "evidence"), *e;
		long long cat = 0;
		size_t j, ecap = 0;

		if (!text)
			continue;
		c->qs = xgrow(c->qs, &cap, c->nqs + 1, sizeof(*c->qs));
		q = &c->qs[c->nqs++];
		memset(q, 0, sizeof(*q));
		q->question = xstrdup(text);
		if (kjson_int(item, "category", &cat) && cat >= 1 && cat <= LOCOMO_CATEGORIES)
			q->category = (int)cat;
		json_array_foreach(ev, j, e) {
			if (json_is_string(e))
				load_evidence(c, q, &ecap, json_string_value(e), st);
			else
				st->invalid++;
		}
		if (q->nevidence == 0)
			st->no_evidence++;
	}
}

enum kith_status locomo_parse(const char *buf, size_t len, struct locomo **out, char **why)
{
	json_t *root = kjson_parse(buf, len, why), *sample;
	struct locomo *l;
	size_t i, cap = 0;

	*out = NULL;
	if (!root)
		return KITH_EINVAL;
	if (!json_is_array(root)) {
		json_decref(root);
		return kith_why(why, KITH_EINVAL, "a LoCoMo file is a JSON list of samples");
	}
	l = xcalloc(1, sizeof(*l));
	json_array_foreach(root, i, sample) {
		json_t *conv = kjson_obj(sample, "conversation");
		struct locomo_conv *c;

		if (!conv) {
			json_decref(root);
			locomo_free(l);
			return kith_why(why, KITH_EINVAL, "sample %zu has no \"conversation\" object", i);
		}
		l->convs = xgrow(l->convs, &cap, l->n + 1, sizeof(*l->convs));
		c = &l->convs[l->n++];
		memset(c, 0, sizeof(*c));
		c->id = kjson_str(sample, "sample_id") ? xstrdup(kjson_str(sample, "sample_id"))
						     : xasprintf("conv-%zu", i);
		c->speaker_a = xstrdup(kjson_str(conv, "speaker_a"));
		c->speaker_b = xstrdup(kjson_str(conv, "speaker_b"));
		load_turns(c, conv, &l->stats);
		load_questions(c, kjson_arr(sample, "qa"), &l->stats);
	}
	json_decref(root);
	*out = l;
	return KITH_OK;
}

void locomo_free(struct locomo *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct locomo_conv *c = &l->convs[i];

		for (size_t j = 0; j < c->nturns; j++) {
			free(c->turns[j].dia_id);
			free(c->turns[j].speaker);
			free(c->turns[j].text);
		}
		for (size_t j = 0; j < c->nqs; j++) {
			for (size_t k = 0; k < c->qs[j].nevidence; k++)
				free(c->qs[j].evidence[k]);
			free(c->qs[j].evidence);
			free(c->qs[j].question);
		}
		free(c->turns);
		free(c->qs);
		free(c->id);
		free(c->speaker_a);
		free(c->speaker_b);
	}
	free(l->convs);
	free(l);
}

/* ---- the metric ---------------------------------------------------------- */

void locomo_score_init(struct locomo_score *s, const int *ks, size_t nk)
{
	memset(s, 0, sizeof(*s));
	if (nk > LOCOMO_MAX_K)
		nk = LOCOMO_MAX_K;
	for (size_t i = 0; i < nk; i++)
		s->ks[i] = ks[i];
	s->nk = nk;
}

static bool in_list(const char *const *v, size_t n, const char *x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && strcmp(v[i], x) == 0)
			return true;
	return false;
}

static bool in_ints(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

void locomo_score_add(struct locomo_score *s, const struct locomo_question *q,
		      const char *const *retrieved, size_t n)
{
	int *evs = NULL, *rets = NULL;
	size_t nevs = 0, nrets = 0;

	if (q->nevidence == 0) {
		s->skipped++;
		return;
	}
	evs = xcalloc(q->nevidence, sizeof(*evs));
	for (size_t i = 0; i < q->nevidence; i++) {
		int se = locomo_session_of(q->evidence[i]);
		if (!in_ints(evs, nevs, se))
			evs[nevs++] = se;
	}
	rets = xcalloc(n ? n : 1, sizeof(*rets));
	for (size_t ki = 0; ki < s->nk; ki++) {
		size_t k = (size_t)s->ks[ki] < n ? (size_t)s->ks[ki] : n;
		size_t found = 0, sfound = 0;

		for (size_t i = 0; i < q->nevidence; i++)
			found += in_list(retrieved, k, q->evidence[i]);
		nrets = 0;
		for (size_t i = 0; i < k; i++) {
			int sr = locomo_session_of(retrieved[i]);
			if (sr >= 0 && !in_ints(rets, nrets, sr))
				rets[nrets++] = sr;
		}
		for (size_t i = 0; i < nevs; i++)
			sfound += evs[i] >= 0 && in_ints(rets, nrets, evs[i]);
		double r = (double)found / (double)q->nevidence;
		double sr = (double)sfound / (double)nevs;
		s->recall[0][ki] += r;
		s->session[0][ki] += sr;
		if (q->category >= 1 && q->category <= LOCOMO_CATEGORIES) {
			s->recall[q->category][ki] += r;
			s->session[q->category][ki] += sr;
		}
	}
	s->count[0]++;
	if (q->category >= 1 && q->category <= LOCOMO_CATEGORIES)
		s->count[q->category]++;
	free(evs);
	free(rets);
}

double locomo_score_mean(const struct locomo_score *s, int cat, size_t ki, bool session)
{
	if (cat < 0 || cat > LOCOMO_CATEGORIES || ki >= s->nk || s->count[cat] == 0)
		return 0;
	return (session ? s->session[cat][ki] : s->recall[cat][ki]) / (double)s->count[cat];
}
