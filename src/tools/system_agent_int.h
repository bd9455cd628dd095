/* system_agent_int.h — what system_agent.c and the action table
 * (system_actions.c) share.  Not for other subsystems. */
#ifndef KITH_TOOLS_SYSTEM_AGENT_INT_H
#define KITH_TOOLS_SYSTEM_AGENT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

#define SA_MAX_STEPS 4
#define SA_MAX_PATH 4096
#define SA_READ_CAP 65536

/* How an action's output is shaped in code (never by a shell pipeline). */
enum sa_post {
	SA_POST_NONE = 0,
	SA_POST_PROCESSES,   /* header + lines matching `filter`, else the first 15 */
	SA_POST_PORT,        /* only ss's header: "nothing is listening" */
	SA_POST_LARGE,       /* "SIZE\tPATH" lines: the 10 largest, sizes readable */
};

/* What the owner's request turned into.  Either commands to run or a
 * reply that needs none. */
struct sa_plan {
	char **argvs[SA_MAX_STEPS];  /* each NULL-terminated, heap */
	size_t nsteps;
	char *reply;                 /* answer without running anything */
	char *new_cwd;               /* navigate: becomes the cwd if the last step exits 0 */
	enum sa_post post;
	char *filter;                /* SA_POST_PROCESSES */
	long port;                   /* SA_POST_PORT */
	int timeout_s;               /* 0 = the agent's */
};

/* What a builder may look at. */
struct sa_env {
	const char *cwd;             /* absolute */
	const char *home;            /* absolute */
	const char *text;            /* the owner's request, as written */
	const char *history;         /* rendered history (for "history") */
};

struct sa_action {
	const char *name;
	const char *help;            /* for the model: what it does and its params */
	enum kith_status (*build)(const json_t *params, const struct sa_env *env,
				  struct sa_plan *plan, char **why);
};

extern const struct sa_action sa_actions[];
extern const size_t sa_nactions;

const struct sa_action *sa_action_find(const char *name);
void sa_plan_release(struct sa_plan *p);

/* `path` made absolute against cwd (~ and ~/… against home) and normalised
 * lexically (., .., //).  Heap; NULL with *why for an unusable path. */
char *sa_resolve_path(const char *path, size_t len, const char *cwd, const char *home,
		      char **why);

/* Shape output per plan->post (heap; `out` is the raw output). */
char *sa_post_process(const struct sa_plan *plan, const char *out, size_t len);

/* Display form of an argv: plain words as they are, others single-quoted. */
char *sa_argv_display(const char *const *argv);

#endif
