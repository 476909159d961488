/*
 * worker.h - what the proxy's files share inside one worker thread.
 *
 * A worker is a thread with its own event loop, listeners, clients and
 * upstream pools; nothing on the request path is shared between workers.
 * A struct wgen is the worker's view of one configuration generation: the
 * gen itself and the idle upstream connections made under it (pool.c).
 * Clients and upstream connections hold a reference to the wgen they
 * started with, so a reload never changes a request in flight.
 */
#ifndef LG_WORKER_H
#define LG_WORKER_H

#include <pthread.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "framing.h"
#include "httpdate.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"

/* Backpressure marks, shared by both sides of a relay (le-proxy style):
 * stop reading one side while the other's output is above HIGH_WATER,
 * resume when it is down to LOW_WATER. */
#define HIGH_WATER	(256 * 1024)
#define LOW_WATER	(64 * 1024)

/*
 * Event priorities of a worker's loop. Idle upstream connections' read
 * events (the upstream closing one, or sending bytes nobody asked for) run
 * before any other callback of the same dispatch, so that no request can
 * take a connection whose end has already been reported (pool.c).
 */
#define WORKER_PRIORITIES	2
#define WORKER_PRIO_IDLE	0
#define WORKER_PRIO_DEFAULT	1	/* libevent's: WORKER_PRIORITIES / 2 */

#define MAX_WORKERS	64
#define FRAMING_POOL	256		/* idle inspectors kept per worker */

struct client;
struct upconn;
struct upstream;
TAILQ_HEAD(client_list, client);
TAILQ_HEAD(upconn_list, upconn);

/* What a worker knows of one upstream's health (passive, nginx's way). */
struct upstate {
	int      cw;			/* smooth weighted round robin */
	unsigned fails;			/* failed attempts since fail_start */
	uint64_t fail_start;		/* ms, monotonic */
	uint64_t down_until;		/* out of use until then (ms) */
	int      was_down;		/* say so when it is back */
	int      kept;			/* has answered on a reused connection */
	int      idle_unsafe;		/* an idle connection ended soon after
					 * its response, or heard bytes nobody
					 * asked for: peek before each reuse */
	int      closes_early;		/* the former: no reuse for a request
					 * that cannot be retried */
};

struct wgen {
	struct gen *gen;
	struct worker *w;
	int refs;			/* the worker's, clients', upconns' */
	struct upstate up[CONF_MAX_ADDRS];
	struct upconn_list idle[CONF_MAX_ADDRS];
	unsigned nidle[CONF_MAX_ADDRS];
};

struct worker {
	int id;
	pthread_t thread;
	struct event_base *base;
	uint64_t round;			/* event_base_loop calls so far: each
					 * starts with a dispatch (pool.c) */
	struct evconnlistener *listeners[CONF_MAX_ADDRS];
	int nlisteners;
	struct wgen *cur;		/* what new requests use */
	struct client_list clients;
	unsigned nconns;
	int accept_paused;
	struct event *accept_ev;	/* resumes accepting after a back-off */
	time_t accept_logged;		/* last "accept:" error line */
	unsigned accept_errors;		/* errors since that line */
	int serving;			/* workers_serve() said go */
	int stopping, done;
	struct event *stop_ev, *reload_ev, *serve_ev;
	pthread_mutex_t reload_lock;
	struct gen *pending;		/* handed over by workers_reload */
	struct httpdate date;
	struct log_buf alog;
	struct log_limit elim;		/* error log lines about requests */
	struct framing *fr_pool[FRAMING_POOL];	/* inspectors not in use */
	int nfr_pool;
	struct upstream *relay_pool;	/* relays not in use (upstream.c) */
	uint64_t spool_mem;		/* request bodies in memory (spool.c) */
	char scratch[FRAMING_MAX_HEAD + 4096];	/* heads are written here */
	int start_status;		/* 0 ok, -1 failed to bind */
	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	int started;
	struct metrics m;		/* this worker's counters (metrics.h) */
	struct metrics_health health;	/* its view of the upstreams */
};

struct wgen *wgen_new(struct worker *, struct gen *);
void wgen_ref(struct wgen *);
void wgen_unref(struct wgen *);

/* A client connection ended: resume accepting, end a stopping worker. */
void worker_client_gone(struct worker *);

/* An inspector for `pol` from the worker's pool (or a new one; NULL when
 * out of memory), and back. */
struct framing *worker_framing_get(struct worker *, const struct framing_policy *);
void worker_framing_put(struct worker *, struct framing *);

/* Milliseconds of a monotonic clock (coarse: for timeouts of seconds). */
uint64_t worker_now_ms(void);

/* Arm a timer for `ms` milliseconds. */
void worker_timer(struct event *, unsigned ms);

#endif /* LG_WORKER_H */
