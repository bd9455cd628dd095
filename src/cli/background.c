/* background.c — the daemon's background work: the scheduler with its daily
 * proactive budget, and the jobs that run on it (today: the knowledge
 * extraction), each with the scheduler thread's own database connection.
 *
 * The dispatcher tells the scheduler when a conversation turn starts and
 * ends (agent_deps.sched), so a person's message cancels background work at
 * once and background work waits IDLE_SECONDS after the last message. */
#include "cli/cli.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/tz.h"
#include "knowledge/knowledge.h"
#include "sched/scheduler.h"
#include "store/store.h"

#include <string.h>

struct background {
	struct sched *sched;
	struct sched_budget *budget;
	struct tz *tz;
	struct store *st;
	struct knowledge_extractor *kx;
};

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

int background_start(struct app *app, struct background **out)
{
	struct background *bg = xcalloc(1, sizeof(*bg));
	struct sched_config sc = { 0 };
	struct knowledge_deps kd = { 0 };
	char *why = NULL;
	int rc;

	*out = NULL;
	if ((rc = budget_from_config(app->cfg, bg)))
		goto fail;
	rc = 1;
	if (store_open(config_db_path(app->cfg), &bg->st, &why) != KITH_OK)
		goto fail;
	sc.idle_s = config_float(app->cfg, CFG_IDLE_SECONDS);
	sc.tick_s = config_float(app->cfg, CFG_SCHEDULER_TICK_INTERVAL);
	sc.budget = bg->budget;
	bg->sched = sched_new(&sc);

	kd.st = bg->st;
	kd.llm = app->llm;
	kd.emb = app->embedder;
	kd.budget = bg->budget;
	knowledge_params_from_config(&kd.params, app->cfg);
	bg->kx = knowledge_extractor_new(&kd);
	sched_add(bg->sched, &(struct sched_job_def){
		.name = "extraction", .priority = SCHED_PRIO_EXTRACT, .kind = SCHED_PERIODIC,
		.interval_s = config_float(app->cfg, CFG_MAINTENANCE_INTERVAL_SECONDS),
		.needs = SCHED_SPEND_LLM, .due = knowledge_extract_due,
		.run = knowledge_extract_run, .ctx = bg->kx });
	if (sched_start(bg->sched, &why) != KITH_OK)
		goto fail;
	app->deps.sched = bg->sched;
	app->deps.budget = bg->budget;
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

void background_stop(struct app *app, struct background *bg)
{
	if (!bg)
		return;
	if (app->deps.sched == bg->sched) {
		app->deps.sched = NULL;
		app->deps.budget = NULL;
	}
	if (bg->sched)
		sched_stop(bg->sched);
	knowledge_extractor_free(bg->kx);
	sched_free(bg->sched);
	sched_budget_free(bg->budget);
	store_close(bg->st);
	tz_free(bg->tz);
	free(bg);
}
