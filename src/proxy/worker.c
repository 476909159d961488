/*
 * worker.c - the worker threads: each has its own event loop, its own
 * SO_REUSEPORT listeners, clients (client.c) and upstream pools (pool.c).
 * Nothing on the request path is shared between workers. This file starts
 * and stops them, accepts connections, and hands a reloaded configuration
 * to each.
 *
 * Running out of descriptors (EMFILE) pauses accepting for ACCEPT_BACKOFF_MS
 * or until a client ends, whichever comes first, and is logged at most once
 * per ACCEPT_LOG_S seconds: never an accept loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/thread.h>

#include "client.h"
#include "pool.h"
#include "upstream.h"
#include "worker.h"

#define ACCEPT_BACKOFF_MS	500
#define ACCEPT_LOG_S		10

/*
 * Listeners are TCP_DEFER_ACCEPT: a connection is accepted once its first
 * bytes are in, so that the read follows the accept at once (client.c)
 * rather than after a round of the loop. One that sends nothing is
 * accepted all the same after DEFER_ACCEPT_S (Linux: once a SYN-ACK
 * retransmission is answered), and then has the head timeout like any.
 */
#define DEFER_ACCEPT_S		1

static struct worker *workers[MAX_WORKERS];
static int nworkers;

/* ------------------------------------------------------------ gens */

struct wgen *
wgen_new(struct worker *w, struct gen *g)
{
	struct wgen *wg;
	int i;

	if ((wg = calloc(1, sizeof(*wg))) == NULL)
		return NULL;
	gen_ref(g);
	wg->gen = g;
	wg->w = w;
	wg->refs = 1;			/* the worker's own */
	for (i = 0; i < CONF_MAX_ADDRS; i++)
		TAILQ_INIT(&wg->idle[i]);
	return wg;
}

void
wgen_ref(struct wgen *wg)
{
	wg->refs++;
}

void
wgen_unref(struct wgen *wg)
{
	if (--wg->refs > 0)
		return;
	gen_unref(wg->gen);
	free(wg);
}

uint64_t
worker_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void
worker_timer(struct event *ev, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

/*
 * Inspectors (the largest thing a connection has, for its arena) are kept
 * per worker between requests; one made under an older conf is reused only
 * if it is sized for the current policy's heads.
 */
struct framing *
worker_framing_get(struct worker *w, const struct framing_policy *pol)
{
	struct framing *fr;

	while (w->nfr_pool > 0) {
		fr = w->fr_pool[--w->nfr_pool];
		if (framing_fits(fr, pol)) {
			framing_set_policy(fr, pol);
			return fr;
		}
		framing_free(fr);
	}
	return framing_new(pol);
}

void
worker_framing_put(struct worker *w, struct framing *fr)
{
	if (w->nfr_pool < FRAMING_POOL) {
		framing_reset(fr);
		w->fr_pool[w->nfr_pool++] = fr;
	} else {
		framing_free(fr);
	}
}

/* The new current gen's upstreams start with a clean record (pool.c). */
static void
worker_health_reset(struct worker *w)
{
	int i;

	for (i = 0; i < CONF_MAX_ADDRS; i++) {
		metrics_set(&w->health.fails[i], 0);
		metrics_set(&w->health.down_until[i], 0);
	}
	metrics_set(&w->health.generation, w->cur->gen->generation);
}

/* ----------------------------------------------------------- accepting */

static void
accept_set(struct worker *w, int on)
{
	int i;

	on = on && w->serving;	/* nothing before the privilege drop */
	for (i = 0; i < w->nlisteners; i++) {
		if (on)
			evconnlistener_enable(w->listeners[i]);
		else
			evconnlistener_disable(w->listeners[i]);
	}
	w->accept_paused = !on;
	if (on)
		event_del(w->accept_ev);
}

void
worker_client_gone(struct worker *w)
{
	w->nconns--;
	metrics_add(&w->m.client_closed, 1);
	log_debug("worker %d: connection closed (%u open)", w->id, w->nconns);
	if (w->accept_paused && !w->stopping &&
	    w->nconns < w->cur->gen->conf.max_connections)
		accept_set(w, 1);
	if (w->stopping && w->nconns == 0)
		w->done = 1;
}

static void
worker_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct worker *w = arg;

	(void)l;
	(void)salen;
	if (log_enabled(CONF_LOG_DEBUG)) {
		char a[INET6_ADDRSTRLEN] = "?";

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
			    a, sizeof(a));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
			    a, sizeof(a));
		log_debug("worker %d: connection from %s (%u open)", w->id, a,
		    w->nconns + 1);
	}
	client_accept(w, fd, sa);
	if (w->nconns >= w->cur->gen->conf.max_connections)
		accept_set(w, 0);	/* until a client ends */
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (!w->stopping && w->nconns < w->cur->gen->conf.max_connections)
		accept_set(w, 1);
}

static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;
	int err = EVUTIL_SOCKET_ERROR();
	time_t now = time(NULL);

	(void)l;
	if (now - w->accept_logged >= ACCEPT_LOG_S) {
		if (w->accept_errors > 0)
			log_error("accept: %s (and %u more in %d s)",
			    evutil_socket_error_to_string(err), w->accept_errors,
			    ACCEPT_LOG_S);
		else
			log_error("accept: %s", evutil_socket_error_to_string(err));
		w->accept_logged = now;
		w->accept_errors = 0;
	} else {
		w->accept_errors++;
	}
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* out of descriptors or memory: the connection waits in the
		 * backlog while we back off (a client ending resumes sooner) */
		accept_set(w, 0);
		worker_timer(w->accept_ev, ACCEPT_BACKOFF_MS);
	}
}

/* --------------------------------------------------------- the worker */

static int
listen_addr(const struct conf_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res;
	char port[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", a->port);
	if (getaddrinfo(strcmp(a->host, "*") == 0 ? NULL : a->host, port,
	    &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int i;

	(void)fd;
	(void)what;
	w->stopping = 1;
	for (i = 0; i < w->nlisteners; i++)
		evconnlistener_free(w->listeners[i]);
	w->nlisteners = 0;
	event_del(w->accept_ev);
	pool_drain(w->cur);
	/* idle keep-alive connections go now; busy ones after their response */
	client_stop_idle(w);
	if (w->nconns == 0)
		w->done = 1;
}

static void
worker_serve_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	w->serving = 1;
	if (!w->stopping)
		accept_set(w, 1);
}

static void
worker_reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct wgen *wg, *old;
	struct gen *g;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->reload_lock);
	g = w->pending;
	w->pending = NULL;
	pthread_mutex_unlock(&w->reload_lock);
	if (g == NULL)
		return;
	wg = wgen_new(w, g);
	gen_unref(g);
	if (wg == NULL)
		return;
	old = w->cur;
	w->cur = wg;
	worker_health_reset(w);
	pool_drain(old);
	wgen_unref(old);
	/* a larger max_connections lets accepting go on at once */
	if (w->accept_paused && !evtimer_pending(w->accept_ev, NULL) &&
	    w->nconns < wg->gen->conf.max_connections)
		accept_set(w, 1);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const struct conf *cf = &w->cur->gen->conf;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int i, status = 0, one = 1, defer = DEFER_ACCEPT_S;

	for (i = 0; i < cf->nlisten; i++) {
		if (listen_addr(&cf->listen[i], &ss, &sslen) != 0) {
			log_error("cannot resolve listen %s", cf->listen[i].host);
			status = -1;
			break;
		}
		w->listeners[i] = evconnlistener_new_bind(w->base, worker_accept, w,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT |
		    LEV_OPT_DISABLED, 1024,
		    (struct sockaddr *)&ss, (int)sslen);
		if (w->listeners[i] == NULL) {
			log_error("cannot listen on %s:%u: %s", cf->listen[i].host,
			    cf->listen[i].port, strerror(errno));
			status = -1;
			break;
		}
		evconnlistener_set_error_cb(w->listeners[i], accept_error);
		/* accepted sockets inherit TCP_NODELAY on Linux: no
		 * setsockopt per connection */
		setsockopt(evconnlistener_get_fd(w->listeners[i]), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
		setsockopt(evconnlistener_get_fd(w->listeners[i]), IPPROTO_TCP,
		    TCP_DEFER_ACCEPT, &defer, sizeof(defer));
		w->nlisteners++;
	}
	pthread_mutex_lock(&w->start_lock);
	w->start_status = status;
	w->started = 1;
	pthread_cond_signal(&w->start_cond);
	pthread_mutex_unlock(&w->start_lock);
	if (status != 0)
		return NULL;
	while (!w->done) {
		event_base_loop(w->base, EVLOOP_ONCE);
		w->round++;
		log_access_flush(&w->alog);
	}
	log_access_flush(&w->alog);
	while (w->nfr_pool > 0)
		framing_free(w->fr_pool[--w->nfr_pool]);
	upstream_pool_free(w);
	return NULL;
}

/*
 * A worker's loop. With epoll, changes of what each descriptor waits for
 * are applied at the next wait (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST):
 * a connection answered and closed in the round it was accepted in (the
 * 411 read at once) is never added to the epoll set, and a switch on and
 * off within a round costs nothing. libevent's condition for the flag
 * holds: no descriptor here is dup()ed.
 */
static struct event_base *
worker_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int
workers_start(struct gen *g, int n)
{
	int i, rv = 0;

	if (evthread_use_pthreads() != 0)
		return -1;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	for (i = 0; i < n; i++) {
		struct worker *w = calloc(1, sizeof(*w));

		if (w == NULL)
			return -1;
		w->id = i;
		TAILQ_INIT(&w->clients);
		pthread_mutex_init(&w->reload_lock, NULL);
		pthread_mutex_init(&w->start_lock, NULL);
		pthread_cond_init(&w->start_cond, NULL);
		w->base = worker_base_new();
		w->cur = wgen_new(w, g);
		if (w->base == NULL || w->cur == NULL ||
		    event_base_priority_init(w->base, WORKER_PRIORITIES) != 0)
			return -1;
		worker_health_reset(w);
		w->stop_ev = event_new(w->base, -1, 0, worker_stop_cb, w);
		w->reload_ev = event_new(w->base, -1, 0, worker_reload_cb, w);
		w->accept_ev = evtimer_new(w->base, accept_resume, w);
		w->serve_ev = event_new(w->base, -1, 0, worker_serve_cb, w);
		if (w->stop_ev == NULL || w->reload_ev == NULL ||
		    w->accept_ev == NULL || w->serve_ev == NULL)
			return -1;
		workers[nworkers++] = w;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return -1;
		pthread_mutex_lock(&w->start_lock);
		while (!w->started)
			pthread_cond_wait(&w->start_cond, &w->start_lock);
		pthread_mutex_unlock(&w->start_lock);
		if (w->start_status != 0)
			rv = -1;
	}
	return rv;
}

void
workers_reload(struct gen *g)
{
	int i;

	for (i = 0; i < nworkers; i++) {
		struct worker *w = workers[i];

		pthread_mutex_lock(&w->reload_lock);
		if (w->pending)
			gen_unref(w->pending);
		gen_ref(g);
		w->pending = g;
		pthread_mutex_unlock(&w->reload_lock);
		event_active(w->reload_ev, EV_TIMEOUT, 0);
	}
}

void
workers_serve(void)
{
	int i;

	for (i = 0; i < nworkers; i++)
		event_active(workers[i]->serve_ev, EV_TIMEOUT, 0);
}

void
workers_stop(void)
{
	int i;

	for (i = 0; i < nworkers; i++)
		event_active(workers[i]->stop_ev, EV_TIMEOUT, 0);
}

int
workers_metrics(const struct metrics **m, const struct metrics_health **h,
    int max)
{
	int i, n = nworkers < max ? nworkers : max;

	for (i = 0; i < n; i++) {
		m[i] = &workers[i]->m;
		h[i] = &workers[i]->health;
	}
	return n;
}

int
workers_wait(unsigned grace_ms)
{
	struct timespec deadline;
	int i, rv = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += grace_ms / 1000;
	deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (i = 0; i < nworkers; i++)
		if (pthread_timedjoin_np(workers[i]->thread, NULL, &deadline) != 0)
			rv = -1;
	return rv;
}
