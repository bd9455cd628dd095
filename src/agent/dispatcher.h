/* dispatcher.h — the runtime: channels in, conversation workers, replies out.
 *
 * Channels push events onto one inbox.  A router thread hands each event to
 * a worker chosen by hashing (channel, conversation), so one conversation is
 * handled by one worker at a time and in order, while different
 * conversations proceed in parallel.  Each worker owns its own SQLite
 * connection.  Slash commands are answered by the command table before the
 * agent loop sees anything. */
#ifndef KITH_AGENT_DISPATCHER_H
#define KITH_AGENT_DISPATCHER_H

#include "core/status.h"

struct agent_deps;
struct channel;
struct queue;

struct dispatcher;

struct dispatcher *dispatcher_new(const struct agent_deps *deps, const char *db_path,
				  int nworkers);
/* Open the workers' connections and start the threads. */
enum kith_status dispatcher_start(struct dispatcher *d, char **why) KITH_MUST_CHECK;
/* Where channels push their events. */
struct queue *dispatcher_inbox(struct dispatcher *d);
/* How many INBOUND_CLOSED events have been handled (channels whose input
 * ended and whose earlier messages have all been answered). */
int dispatcher_closed_channels(struct dispatcher *d);
/* Orderly stop: no new events; with `cancel`, in-flight LLM calls are
 * cancelled (messages already received are still stored).  Joins every
 * thread.  Call after the channels have stopped pushing. */
void dispatcher_stop(struct dispatcher *d, int cancel);
void dispatcher_free(struct dispatcher *d);

#endif
