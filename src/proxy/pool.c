/*
 * pool.c - see pool.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "log.h"
#include "pool.h"

#define RESPONSE_HEAD_MIN	(64 * 1024)	/* response head arena, at least */
/* An idle connection that ends within this time of going idle was closed
 * with its response, not for a keep-alive timeout of the upstream's. */
#define SOON_MS			1000

static int
pool_usable(struct wgen *wg, int i, uint64_t now)
{
	return wg->gen->conf.nupstream == 1 || wg->up[i].down_until <= now;
}

int
pool_pick(struct wgen *wg, unsigned tried)
{
	const struct conf *cf = &wg->gen->conf;
	uint64_t now = worker_now_ms();
	int i, best = -1, total = 0, backup;

	for (backup = 0; backup <= 1 && best < 0; backup++) {
		for (i = 0; i < cf->nupstream; i++) {
			struct upstate *s = &wg->up[i];

			if ((tried >> i & 1) || cf->upstream[i].backup != backup ||
			    !pool_usable(wg, i, now))
				continue;
			s->cw += (int)cf->upstream[i].weight;
			total += (int)cf->upstream[i].weight;
			if (best < 0 || s->cw > wg->up[best].cw)
				best = i;
		}
	}
	if (best >= 0)
		wg->up[best].cw -= total;
	return best;
}

void
pool_failed(struct wgen *wg, int idx)
{
	const struct conf_addr *a = &wg->gen->conf.upstream[idx];
	struct upstate *s = &wg->up[idx];
	uint64_t now = worker_now_ms();

	if (wg == wg->w->cur)	/* /status: failed attempts since the reload */
		metrics_add(&wg->w->health.fails[idx], 1);
	if (a->max_fails == 0 || wg->gen->conf.nupstream == 1)
		return;
	if (s->fails == 0 || now - s->fail_start > a->fail_timeout) {
		s->fails = 0;
		s->fail_start = now;
	}
	if (++s->fails < a->max_fails)
		return;
	s->fails = 0;
	s->down_until = now + a->fail_timeout;
	s->was_down = 1;
	if (wg == wg->w->cur)
		metrics_set(&wg->w->health.down_until[idx], s->down_until);
	log_warn("upstream %s: %u failed attempt%s: out of use for %u ms",
	    wg->gen->upstream_host[idx], a->max_fails,
	    a->max_fails == 1 ? "" : "s", a->fail_timeout);
}

void
pool_ok(struct wgen *wg, int idx)
{
	struct upstate *s = &wg->up[idx];

	s->fails = 0;
	if (s->was_down) {
		s->was_down = 0;
		if (wg == wg->w->cur)
			metrics_set(&wg->w->health.down_until[idx], 0);
		log_info("upstream %s: back in use", wg->gen->upstream_host[idx]);
	}
}

void
pool_close(struct upconn *u)
{
	if (u->state == UC_IDLE) {
		TAILQ_REMOVE(&u->wg->idle[u->idx], u, entry);
		u->wg->nidle[u->idx]--;
	}
	if (u->timer)
		event_free(u->timer);
	io_close(&u->io);
	response_free(u->resp);
	metrics_add(&u->wg->w->m.up_closed, 1);
	wgen_unref(u->wg);
	free(u);
}

/* An idle connection ended, or heard bytes: say so to the choice of
 * connections (pool.h), which peeks from now on at this upstream's. */
static void
pool_learn(struct upconn *u, int bytes)
{
	struct upstate *s = &u->wg->up[u->idx];

	if (bytes) {
		if (s->idle_unsafe)
			return;
		log_info("upstream %s: sent bytes nobody asked for: idle "
		    "connections are checked before reuse",
		    u->wg->gen->upstream_host[u->idx]);
	} else {
		if (s->closes_early || worker_now_ms() - u->idle_ms >= SOON_MS)
			return;
		s->closes_early = 1;
		log_info("upstream %s: closed a connection right after a response "
		    "that kept it open: idle connections are checked before "
		    "reuse, and not reused for requests that cannot be retried",
		    u->wg->gen->upstream_host[u->idx]);
	}
	s->idle_unsafe = 1;
}

/* An idle connection heard something: the upstream closed it (or sent
 * bytes nobody asked for). Either way it cannot be used. */
static void
pool_idle_cb(struct io *io, int event, void *arg)
{
	struct upconn *u = arg;

	(void)io;
	log_debug("upstream %s: idle connection %s", u->wg->gen->upstream_host[
	    u->idx], event == IO_READ ? "sent bytes nobody asked for: closed" :
	    "closed by the upstream");
	pool_learn(u, event == IO_READ);
	pool_close(u);
}

/*
 * The idle timer is armed when a connection first goes idle and left
 * pending when it is taken: re-arming it at every response would cost an
 * event_add and an event_del a request. When it fires, a busy connection
 * lets it lapse (the next pool_put arms it again), and one that went idle
 * later than the timer counted from gets the rest of its time.
 */
static void
pool_idle_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *u = arg;
	unsigned ms = u->wg->gen->conf.upstream_keepalive_timeout;
	uint64_t idle = worker_now_ms() - u->idle_ms;

	(void)fd;
	(void)what;
	u->timer_on = 0;
	if (u->state != UC_IDLE)
		return;
	if (idle < ms) {
		worker_timer(u->timer, ms - (unsigned)idle);
		u->timer_on = 1;
		return;
	}
	log_debug("upstream %s: idle connection expired",
	    u->wg->gen->upstream_host[u->idx]);
	pool_close(u);
}

void
pool_put(struct upconn *u)
{
	struct wgen *wg = u->wg;
	struct worker *w = wg->w;

	if (w->stopping || wg != w->cur ||
	    wg->nidle[u->idx] >= wg->gen->conf.upstream_pool_size ||
	    evbuffer_get_length(u->io.in) > 0 ||
	    evbuffer_get_length(u->io.out) > 0 || u->io.failed || u->io.eof) {
		log_debug("upstream %s: connection closed after its response",
		    wg->gen->upstream_host[u->idx]);
		pool_close(u);
		return;
	}
	log_debug("upstream %s: connection idle in the pool (%u idle)",
	    wg->gen->upstream_host[u->idx], wg->nidle[u->idx] + 1);
	u->state = UC_IDLE;
	u->io.cb = pool_idle_cb;
	u->io.arg = u;
	io_read(&u->io, 1);
	/* not possible while its event is active, which it is not here (it
	 * runs, or reads are off); should it be, a peek makes up for it */
	u->unordered = event_priority_set(u->io.rev, WORKER_PRIO_IDLE) != 0;
	u->idle_round = w->round;
	u->idle_ms = worker_now_ms();
	TAILQ_INSERT_HEAD(&wg->idle[u->idx], u, entry);
	wg->nidle[u->idx]++;
	if (!u->timer_on) {
		worker_timer(u->timer, wg->gen->conf.upstream_keepalive_timeout);
		u->timer_on = 1;
	}
}

/*
 * Has an idle connection ended, or received bytes, without its read event
 * having run yet? One non-blocking peek tells (pool.h says when it is
 * worth a system call). What it finds is learnt, as from the event.
 */
static int
pool_stale(struct upconn *u)
{
	char b;
	ssize_t n = recv(u->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	pool_learn(u, n > 0);
	return 1;
}

/* Does u need a peek before it carries a request (pool.h)? */
static int
pool_check(const struct upconn *u, int retryable)
{
	const struct upstate *s = &u->wg->up[u->idx];

	return u->idle_round == u->wg->w->round || u->unordered ||
	    s->idle_unsafe || (!retryable && !s->kept);
}

/* The most recently idled connection to idx with nothing on it, one of an
 * earlier round first, or NULL. */
static struct upconn *
pool_take(struct wgen *wg, int idx, int retryable)
{
	struct upconn *u;

	while ((u = TAILQ_FIRST(&wg->idle[idx])) != NULL) {
		/* those of this round are at the head, a batch's worth */
		while (u != NULL && u->idle_round == wg->w->round)
			u = TAILQ_NEXT(u, entry);
		if (u == NULL)
			u = TAILQ_FIRST(&wg->idle[idx]);
		TAILQ_REMOVE(&wg->idle[idx], u, entry);
		wg->nidle[idx]--;
		u->state = UC_BUSY;
		/* an active event (something arrived) keeps its priority */
		if (event_priority_set(u->io.rev, WORKER_PRIO_DEFAULT) != 0 ||
		    (pool_check(u, retryable) && pool_stale(u))) {
			pool_close(u);
			continue;
		}
		return u;	/* its idle timer left pending */
	}
	return NULL;
}

void
pool_reuse_answered(struct upconn *u)
{
	u->wg->up[u->idx].kept = 1;
}

void
pool_reuse_ended(struct upconn *u)
{
	pool_learn(u, 0);
}

struct upconn *
pool_get(struct wgen *wg, int idx, int fresh_only, int retryable, io_cb cb,
    void *arg, int *reused)
{
	const struct conf *cf = &wg->gen->conf;
	struct upconn *u;

	/* an upstream that closes connections right after responses may
	 * have closed this one too, a FIN still on its way: not for a
	 * request that could not be retried */
	if (!fresh_only && (retryable || !wg->up[idx].closes_early) &&
	    (u = pool_take(wg, idx, retryable)) != NULL) {
		*reused = 1;
		metrics_add(&wg->w->m.pool_hits, 1);
		log_debug("upstream %s: idle connection reused",
		    wg->gen->upstream_host[idx]);
	} else {
		metrics_add(&wg->w->m.pool_misses, 1);
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return NULL;
		metrics_add(&wg->w->m.up_opened, 1);
		u->wg = wg;
		wgen_ref(wg);
		u->idx = idx;
		u->state = UC_CONNECTING;
		u->io.fd = -1;
		u->resp = response_new(cf->policy.max_head_size > RESPONSE_HEAD_MIN ?
		    cf->policy.max_head_size : RESPONSE_HEAD_MIN);
		u->timer = evtimer_new(wg->w->base, pool_idle_timeout, u);
		if (u->resp != NULL)	/* kept current by the client side */
			response_set_date(u->resp, wg->w->date.line);
		if (u->resp == NULL || u->timer == NULL ||
		    io_connect(&u->io, wg->w->base,
		    (struct sockaddr *)&wg->gen->upstream[idx],
		    wg->gen->upstream_len[idx], cb, arg) != 0) {
			pool_close(u);
			return NULL;
		}
		if (!u->io.connecting)
			u->state = UC_BUSY;	/* connected at once (loopback) */
		u->io.count_in = &wg->w->m.up_in;
		u->io.count_out = &wg->w->m.up_out;
		log_debug("upstream %s: new connection%s",
		    wg->gen->upstream_host[idx], fresh_only ? " (a retry)" : "");
		u->io.low_water = LOW_WATER;
		/* an upstream that stops reading a request and closes may
		 * have answered it first (413 to a body it will not take):
		 * that answer is read before the failed write is heard */
		u->io.read_on_fail = 1;
		*reused = 0;
	}
	u->io.cb = cb;
	u->io.arg = arg;
	io_read(&u->io, 1);
	return u;
}

void
pool_drain(struct wgen *wg)
{
	struct upconn *u;
	int i;

	for (i = 0; i < CONF_MAX_ADDRS; i++)
		while ((u = TAILQ_FIRST(&wg->idle[i])) != NULL)
			pool_close(u);
}
