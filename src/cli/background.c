/* background.c — the daemon's background work: the scheduler with its daily
 * proactive budget, and the jobs that run on it in the seed's priority order
 * — notifications, knowledge extraction (and reactions as engagements),
 * followed news, /learn research, enrichment — all on
 * the scheduler thread's own database connection.
 *
 * The dispatcher tells the scheduler when a conversation turn starts and
 * ends (agent_deps.sched), so a person's message cancels background work at
 * once and background work waits IDLE_SECONDS after the last message. */
#include "cli/cli.h"
#include "agent/presence.h"
#include "channel/channel.h"
#include "config/config.h"
#include "config/runtime.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/tz.h"
#include "knowledge/knowledge.h"
#include "knowledge/schedules.h"
#include "agent/tools.h"
#include "mind/sentiment.h"
#include "sched/scheduler.h"
#include "store/store.h"
#include "tools/search.h"

#include <string.h>

struct background {
	struct sched *sched;
	struct sched_budget *budget;
	struct tz *tz;
	struct store *st;
	struct search_opts search;
	struct knowledge_extractor *kx;
	struct knowledge_notifier *kn;
	struct knowledge_enricher *ke;
	struct event_agent *ea;
	struct knowledge_learner *kl;
	struct presence_jobs presence;  /* SEL's pings and hormone decay */
	struct schedule_executor *sx;   /* people's /schedule tasks */
	bg_channel_fn channel;          /* the running channel called NAME */
	void *channel_ud;
	const struct config *cfg;
	int64_t cfg_version;            /* database version last synced */
	size_t periodic[8];             /* jobs on MAINTENANCE_INTERVAL_SECONDS */
	size_t nperiodic;
	size_t pings_job;
};

/* Networks a proactive message may go out on, in order of preference. */
static const char *const proactive_networks[] = { "signal", "discord", NULL };

/* Deliver a notification to `user` in the direct conversation they last
 * used with kith (presence keeps it); nowhere else. */
static int send_proactive(const char *user, const char *text, const struct search_image *image,
			  void *ud)
{
	struct background *bg = ud;

	for (int i = 0; proactive_networks[i]; i++) {
		struct channel *ch = bg->channel(proactive_networks[i], bg->channel_ud);
		struct store_presence_user u = { 0 };
		struct attachment att = { 0 };
		char *why = NULL;
		enum kith_status rc;

		if (!ch || store_presence_user_get(bg->st, proactive_networks[i], user, &u, NULL))
			continue;
		if (!u.last_conversation || !u.last_direct) {
			store_presence_user_release(&u);
			continue;
		}
		if (image && image->data) {
			att.content_type = image->mime;
			att.filename = (char *)"picture";
			att.data = image->data;
			att.len = image->len;
		}
		rc = chan_send_with(ch, u.last_conversation, text, NULL, image && image->data ? &att : NULL,
				    image && image->data ? 1 : 0, &why);
		if (rc)
			log_warn("notify", "could not send on %s: %s", proactive_networks[i], why);
		free(why);
		store_presence_user_release(&u);
		return rc ? 1 : 0;
	}
	return 1;
}

/* A scheduled task's answer goes back to the conversation it was set up
 * in, with whatever the turn found (an image). */
static int send_scheduled(void *ud, const char *channel, const char *conversation,
			  const char *text, const struct tool_out *found)
{
	struct background *bg = ud;
	struct channel *ch = bg->channel(channel, bg->channel_ud);
	char *why = NULL;
	enum kith_status rc;

	if (!ch) {
		log_warn("schedules", "no %s channel is running for a scheduled task", channel);
		return 1;
	}
	rc = chan_send_with(ch, conversation, text, NULL, found ? found->attachments : NULL,
			    found ? found->nattachments : 0, &why);
	if (rc)
		log_warn("schedules", "could not send a scheduled task's answer: %s", why);
	free(why);
	return rc ? 1 : 0;
}

#define REACTIONS_BATCH 50

/* Emoji reactions (recorded by the dispatcher) become engagement signals:
 * a like touches, a dislike vetoes the entities named in the message that
 * was reacted to.  No model is involved. */
static bool reactions_due(void *ud, int64_t now_ms)
{
	struct background *bg = ud;
	struct store_reaction *r = NULL;
	size_t n = 0;
	bool due = store_reactions_unprocessed(bg->st, 1, &r, &n, NULL) == KITH_OK && n > 0;

	store_reactions_free(r, n);
	(void)now_ms;
	return due;
}

static enum sched_outcome reactions_run(void *ud, const struct cancel *cancel)
{
	struct background *bg = ud;
	struct store_reaction *r = NULL;
	size_t n = 0, done = 0;
	char *why = NULL;

	if (store_reactions_unprocessed(bg->st, REACTIONS_BATCH, &r, &n, &why) != KITH_OK) {
		log_warn("knowledge", "reading reactions: %s", why);
		free(why);
		return SCHED_FAILED;
	}
	for (; done < n && !cancel_requested(cancel); done++) {
		enum hormones_reaction kind = mind_reaction_kind(r[done].emoji);

		if (r[done].target_message_id && !r[done].removed &&
		    kind != HORMONES_REACTION_NONE &&
		    knowledge_note_reaction(bg->kx, r[done].author_id, r[done].target_message_id,
					    kind == HORMONES_REACTION_ACCEPTED, false, NULL,
					    &why) != KITH_OK) {
			log_warn("knowledge", "a reaction's engagement: %s", why);
			free(why);
			why = NULL;
		}
		if (store_reaction_mark_processed(bg->st, r[done].id, &why) != KITH_OK) {
			log_warn("knowledge", "marking a reaction read: %s", why);
			free(why);
			break;
		}
	}
	store_reactions_free(r, n);
	if (done < n)
		return cancel_requested(cancel) ? SCHED_CANCELLED : SCHED_FAILED;
	return n ? SCHED_DID_WORK : SCHED_NO_WORK;
}

static void person_wrote(void *ud, const char *user, int64_t at)
{
	struct background *bg = ud;

	if (bg->kn && user)
		knowledge_notify_user_active(bg->kn, user, at);
	if (bg->ke)
		knowledge_enrich_user_active(bg->ke, at);
}

/* Settings changed with /config (here or by another process sharing the
 * database) reach every job before the next tick. */
static void apply_settings(void *ud)
{
	struct background *bg = ud;
	const struct config *cfg = bg->cfg;
	struct knowledge_params kp;
	struct knowledge_notify_params np;
	struct event_params ep;
	const char *hours = config_str(cfg, CFG_PROACTIVE_ACTIVE_HOURS);
	int from = -1, to = -1;
	char *why = NULL;

	if (config_runtime_sync(cfg, bg->st, &bg->cfg_version, &why) != KITH_OK) {
		log_warn("config", "could not read saved settings: %s", why);
		free(why);
		why = NULL;
	}
	knowledge_params_from_config(&kp, cfg);
	knowledge_notify_params_from_config(&np, cfg);
	event_params_from_config(&ep, cfg);
	knowledge_extractor_set_params(bg->kx, &kp);
	knowledge_notifier_set_params(bg->kn, &kp, &np);
	knowledge_enricher_set_params(bg->ke, &kp, &np);
	event_agent_set_params(bg->ea, &ep);
	sched_set_idle(bg->sched, config_float(cfg, CFG_IDLE_SECONDS));
	sched_set_tick(bg->sched, config_float(cfg, CFG_SCHEDULER_TICK_INTERVAL));
	sched_set_interval(bg->sched, bg->pings_job,
			   (double)config_int(cfg, CFG_INACTIVITY_PING_CHECK_SECONDS));
	for (size_t i = 0; i < bg->nperiodic; i++)
		sched_set_interval(bg->sched, bg->periodic[i],
				   config_float(cfg, CFG_MAINTENANCE_INTERVAL_SECONDS));
	if (hours && sched_parse_active_hours(hours, &from, &to, &why) != KITH_OK) {
		free(why);   /* /config refuses such values; an old row may not */
		from = to = -1;
	}
	sched_budget_set_limits(bg->budget, (int)config_int(cfg, CFG_PROACTIVE_DAILY_LLM_CALLS),
				(int)config_int(cfg, CFG_PROACTIVE_DAILY_MESSAGES), from, to);
}

static int budget_from_config(const struct config *cfg, struct background *bg)
{
	struct sched_budget_config bc = { 0 };
	const char *hours = config_str(cfg, CFG_PROACTIVE_ACTIVE_HOURS);
	const char *zone = config_str(cfg, CFG_SEL_TIMEZONE);
	char *why = NULL;

	bc.llm_calls_per_day = (int)config_int(cfg, CFG_PROACTIVE_DAILY_LLM_CALLS);
	bc.messages_per_day = (int)config_int(cfg, CFG_PROACTIVE_DAILY_MESSAGES);
	bc.active_from_min = bc.active_to_min = -1;
	if (hours && sched_parse_active_hours(hours, &bc.active_from_min, &bc.active_to_min,
					      &why) != KITH_OK) {
		fprintf(stderr, "kith: invalid PROACTIVE_ACTIVE_HOURS: %s\n", why ? why : hours);
		free(why);
		return EXIT_USAGE;
	}
	if (zone && strcmp(zone, "UTC") != 0 && tz_load(zone, &bg->tz, &why) != KITH_OK) {
		log_warn("sched", "budget days in UTC: %s", why ? why : zone);
		free(why);
		bg->tz = NULL;
	}
	bc.tz = bg->tz;
	bg->budget = sched_budget_new(&bc);
	return 0;
}

/* A job on the maintenance interval (which /config may change). */
static void add_periodic(struct background *bg, const struct sched_job_def *def)
{
	size_t i = sched_add(bg->sched, def);

	if (bg->nperiodic < sizeof(bg->periodic) / sizeof(bg->periodic[0]))
		bg->periodic[bg->nperiodic++] = i;
}

int background_start(struct app *app, bg_channel_fn channel, void *channel_ud,
		     struct background **out)
{
	struct background *bg = xcalloc(1, sizeof(*bg));
	struct sched_config sc = { 0 };
	struct knowledge_deps kd = { 0 };
	struct knowledge_notify_deps nd = { 0 };
	struct knowledge_enrich_deps ed = { 0 };
	struct event_deps ev = { 0 };
	struct knowledge_learn_deps ld = { 0 };
	char *why = NULL;
	int rc;

	*out = NULL;
	bg->channel = channel;
	bg->channel_ud = channel_ud;
	bg->cfg = app->cfg;
	bg->cfg_version = -1;
	if ((rc = budget_from_config(app->cfg, bg)))
		goto fail;
	rc = 1;
	if (store_open(config_db_path(app->cfg), &bg->st, &why) != KITH_OK)
		goto fail;
	sc.idle_s = config_float(app->cfg, CFG_IDLE_SECONDS);
	sc.tick_s = config_float(app->cfg, CFG_SCHEDULER_TICK_INTERVAL);
	sc.budget = bg->budget;
	sc.before_tick = apply_settings;
	sc.before_tick_ctx = bg;
	bg->sched = sched_new(&sc);

	/* People's own schedules first: they asked for them, so they run even
	 * while others talk and do not count against the proactive budget. */
	bg->sx = schedule_executor_new(&(struct schedule_executor_deps){
		.st = bg->st, .agent = &app->deps, .send = send_scheduled, .ud = bg });
	sched_add(bg->sched, &(struct sched_job_def){
		.name = "schedules", .priority = SCHED_PRIO_SCHEDULES, .kind = SCHED_ALWAYS,
		.interval_s = 15, .due = schedule_executor_due, .run = schedule_executor_run,
		.ctx = bg->sx });

	kd.st = bg->st;
	kd.llm = app->llm;
	kd.emb = app->embedder;
	kd.budget = bg->budget;
	knowledge_params_from_config(&kd.params, app->cfg);
	bg->kx = knowledge_extractor_new(&kd);
	add_periodic(bg, &(struct sched_job_def){
		.name = "extraction", .priority = SCHED_PRIO_EXTRACT, .kind = SCHED_PERIODIC,
		.interval_s = config_float(app->cfg, CFG_MAINTENANCE_INTERVAL_SECONDS),
		.needs = SCHED_SPEND_LLM, .due = knowledge_extract_due,
		.run = knowledge_extract_run, .ctx = bg->kx });

	add_periodic(bg, &(struct sched_job_def){
		.name = "reactions", .priority = SCHED_PRIO_EXTRACT, .kind = SCHED_PERIODIC,
		.interval_s = config_float(app->cfg, CFG_MAINTENANCE_INTERVAL_SECONDS),
		.due = reactions_due, .run = reactions_run, .ctx = bg });

	nd.st = bg->st;
	nd.llm = app->llm;
	nd.budget = bg->budget;
	nd.params = kd.params;
	knowledge_notify_params_from_config(&nd.np, app->cfg);
	nd.send = send_proactive;
	nd.ud = bg;
	bg->kn = knowledge_notifier_new(&nd);
	add_periodic(bg, &(struct sched_job_def){
		.name = "notifications", .priority = SCHED_PRIO_NOTIFY, .kind = SCHED_PERIODIC,
		.interval_s = config_float(app->cfg, CFG_MAINTENANCE_INTERVAL_SECONDS),
		.needs = SCHED_SPEND_LLM | SCHED_SPEND_MESSAGE, .due = knowledge_notify_due,
		.run = knowledge_notify_run, .ctx = bg->kn });

	ev.st = bg->st;
	ev.emb = app->embedder;
	ev.news_url = config_str(app->cfg, CFG_NEWS_API_URL);
	ev.news_key = config_str(app->cfg, CFG_NEWS_API_KEY);
	event_params_from_config(&ev.params, app->cfg);
	bg->ea = event_agent_new(&ev);
	add_periodic(bg, &(struct sched_job_def){
		.name = "events", .priority = SCHED_PRIO_EVENTS, .kind = SCHED_PERIODIC,
		.interval_s = config_float(app->cfg, CFG_MAINTENANCE_INTERVAL_SECONDS),
		.due = event_agent_due, .run = event_agent_run, .ctx = bg->ea });

	search_opts_from_config(&bg->search, app->cfg);
	bg->search.timezone = config_str(app->cfg, CFG_SEL_TIMEZONE);
	ld.st = bg->st;
	ld.llm = app->llm;
	ld.search = &bg->search;
	ld.budget = bg->budget;
	bg->kl = knowledge_learner_new(&ld);
	add_periodic(bg, &(struct sched_job_def){
		.name = "learn", .priority = SCHED_PRIO_LEARN, .kind = SCHED_PERIODIC,
		.interval_s = config_float(app->cfg, CFG_MAINTENANCE_INTERVAL_SECONDS),
		.needs = SCHED_SPEND_LLM, .due = knowledge_learn_due,
		.run = knowledge_learn_run, .ctx = bg->kl });

	ed.st = bg->st;
	ed.search = &bg->search;
	ed.budget = bg->budget;
	ed.params = kd.params;
	ed.np = nd.np;
	bg->ke = knowledge_enricher_new(&ed);
	add_periodic(bg, &(struct sched_job_def){
		.name = "enrichment", .priority = SCHED_PRIO_ENRICH, .kind = SCHED_PERIODIC,
		.interval_s = config_float(app->cfg, CFG_MAINTENANCE_INTERVAL_SECONDS),
		.needs = SCHED_SPEND_LLM, .due = knowledge_enrich_due,
		.run = knowledge_enrich_run, .ctx = bg->ke });

	/* SEL's periodic work, after Penny's: the mood's drift (no model,
	 * runs even while people talk) and inactivity pings (proactive, so
	 * only when idle and within the budget). */
	bg->presence = (struct presence_jobs){ .deps = &app->deps, .st = bg->st, .lookup = channel,
					       .ud = channel_ud };
	sched_add(bg->sched, &(struct sched_job_def){
		.name = "hormone decay", .priority = SCHED_PRIO_MAINTENANCE, .kind = SCHED_ALWAYS,
		.interval_s = 60, .due = presence_decay_due, .run = presence_decay_job,
		.ctx = &bg->presence });
	bg->pings_job = sched_add(bg->sched, &(struct sched_job_def){
		.name = "inactivity pings", .priority = SCHED_PRIO_MAINTENANCE,
		.kind = SCHED_PERIODIC,
		.interval_s = (double)config_int(app->cfg, CFG_INACTIVITY_PING_CHECK_SECONDS),
		.needs = SCHED_SPEND_LLM | SCHED_SPEND_MESSAGE, .due = presence_pings_due,
		.run = presence_pings_job, .ctx = &bg->presence });

	if (sched_start(bg->sched, &why) != KITH_OK)
		goto fail;
	app->deps.sched = bg->sched;
	app->deps.budget = bg->budget;
	app->deps.on_person_wrote = person_wrote;
	app->deps.on_person_wrote_ud = bg;
	*out = bg;
	return 0;
fail:
	if (why) {
		fprintf(stderr, "kith: background work: %s\n", why);
		free(why);
	}
	background_stop(app, bg);
	return rc;
}

void background_quiesce(struct background *bg)
{
	if (bg && bg->sched)
		sched_stop(bg->sched);
}

void background_stop(struct app *app, struct background *bg)
{
	if (!bg)
		return;
	if (app->deps.sched == bg->sched) {
		app->deps.sched = NULL;
		app->deps.budget = NULL;
		app->deps.on_person_wrote = NULL;
		app->deps.on_person_wrote_ud = NULL;
	}
	if (bg->sched)
		sched_stop(bg->sched);
	knowledge_extractor_free(bg->kx);
	knowledge_notifier_free(bg->kn);
	knowledge_enricher_free(bg->ke);
	event_agent_free(bg->ea);
	knowledge_learner_free(bg->kl);
	schedule_executor_free(bg->sx);
	sched_free(bg->sched);
	sched_budget_free(bg->budget);
	store_close(bg->st);
	tz_free(bg->tz);
	free(bg);
}
