/*
 * admin.h - the admin listener ([admin] listen): GET or HEAD of /metrics
 * (Prometheus text format 0.0.4), /healthz ("ok") and /status (JSON), on a
 * thread and an event loop of its own, never on a proxy listener. 404 for
 * any other path, 405 for any other method.
 *
 * It reads the workers' counters (metrics.h) and nothing else of theirs.
 * The address is bound at start, before the privilege drop; a reload that
 * changes it is logged and takes effect at the next restart (as the proxy's
 * own listen addresses do).
 */
#ifndef LG_ADMIN_H
#define LG_ADMIN_H

#include "proxy.h"

/*
 * Start serving on g's [admin] listen, if set (after workers_start: the
 * workers must exist). Returns 0, also when there is no admin listener;
 * -1 when it cannot listen (logged).
 */
int  admin_start(struct gen *);

/*
 * A reload was tried: g the configuration now running (the new one, or
 * the old one when ok is 0), with `why` the first line of what was wrong.
 * Called by the main thread after every SIGHUP, whether or not an admin
 * listener runs (/status and lengthguard_reloads_total report it).
 */
void admin_reloaded(struct gen *g, int ok, const char *why);

/* Stop serving and free (at exit). */
void admin_stop(void);

#endif /* LG_ADMIN_H */
