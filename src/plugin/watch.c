/* watch.c — reload the agents when AGENTS_DIR changes.
 *
 * One small thread blocks in poll() on an inotify descriptor and a stop
 * pipe.  Changes are debounced: a compiler writing a .so, or a copy in
 * progress, produces a burst of events, and the rescan waits until the
 * directory has been quiet for debounce_ms (but never more than 2 s after
 * the first event, so a steady writer cannot starve it).  The directory may
 * not exist yet, or be removed and made again; the thread then looks for it
 * once a second. */
#include "plugin/plugin_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
		    IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define MAX_DELAY_MS 2000      /* longest a burst of changes may delay a rescan */
#define LOOK_AGAIN_MS 1000     /* the directory is missing: look again this often */
#define FALLBACK_MS 5000       /* no inotify: rescan this often */

struct plugin_watch {
	struct plugins *p;
	char *dir;
	int debounce_ms;
	int stop[2];               /* a byte on stop[1] ends the thread */
	int ifd;
	pthread_t thread;
};

/* Read every queued event; returns whether the watch on the directory
 * itself went away (removed or moved). */
static bool drain(int ifd)
{
	char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;

	for (;;) {
		ssize_t n = read(ifd, evbuf, sizeof(evbuf));

		if (n <= 0)
			return gone;
		for (char *q = evbuf; q < evbuf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				gone = true;
			q += sizeof(*ev) + ev->len;
		}
	}
}

static void *watch_main(void *arg)
{
	struct plugin_watch *w = arg;
	int wd = w->ifd >= 0 ? inotify_add_watch(w->ifd, w->dir, WATCH_MASK) : -1;
	int64_t first = clock_mono_ms(), last = first;
	/* Something may have changed between the first scan and the watch:
	 * look once more as soon as it is in place. */
	bool pending = wd >= 0;

	for (;;) {
		struct pollfd pf[2] = { { w->stop[0], POLLIN, 0 }, { w->ifd, POLLIN, 0 } };
		int64_t now = clock_mono_ms(), due;
		int timeout;

		if (pending) {
			due = last + w->debounce_ms;
			if (due > first + MAX_DELAY_MS)
				due = first + MAX_DELAY_MS;
			timeout = due > now ? (int)(due - now) : 0;
		} else if (w->ifd < 0) {
			timeout = FALLBACK_MS;
		} else {
			timeout = wd < 0 ? LOOK_AGAIN_MS : -1;
		}
		if (poll(pf, w->ifd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		now = clock_mono_ms();
		if (w->ifd >= 0 && pf[1].revents) {
			if (drain(w->ifd) && wd >= 0) {
				inotify_rm_watch(w->ifd, wd);
				wd = -1;
			}
			if (!pending)
				first = now;
			pending = true;
			last = now;
			continue;
		}
		if (w->ifd >= 0 && wd < 0) {
			wd = inotify_add_watch(w->ifd, w->dir, WATCH_MASK);
			if (wd >= 0) {
				log_info(PLUGIN_LOG, "watching %s for agents", w->dir);
				pending = true;   /* it appeared: whatever is in it is new */
				first = last = 0;
			}
		}
		if (pending || w->ifd < 0) {
			pending = false;
			plugins_reload(w->p);
		}
	}
	return NULL;
}

enum kith_status plugin_watch_start(struct plugins *p, const char *dir, int debounce_ms,
				    struct plugin_watch **out, char **why)
{
	struct plugin_watch *w = xcalloc(1, sizeof(*w));
	int rc;

	w->p = p;
	w->dir = xstrdup(dir);
	w->debounce_ms = debounce_ms;
	if (pipe2(w->stop, O_CLOEXEC) != 0) {
		rc = errno;
		free(w->dir);
		free(w);
		return kith_why(why, KITH_EIO, "cannot create a pipe: %s", strerror(rc));
	}
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0)
		log_warn(PLUGIN_LOG, "no inotify (%s): rescanning %s every %d s instead",
			 strerror(errno), dir, FALLBACK_MS / 1000);
	rc = pthread_create(&w->thread, NULL, watch_main, w);
	if (rc != 0) {
		close(w->stop[0]);
		close(w->stop[1]);
		if (w->ifd >= 0)
			close(w->ifd);
		free(w->dir);
		free(w);
		return kith_why(why, KITH_EIO, "cannot start the agents watcher: %s", strerror(rc));
	}
	*out = w;
	return KITH_OK;
}

void plugin_watch_stop(struct plugin_watch *w)
{
	if (!w)
		return;
	while (write(w->stop[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(w->thread, NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	if (w->ifd >= 0)
		close(w->ifd);
	free(w->dir);
	free(w);
}
