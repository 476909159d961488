/*
 * upstream.c - one request relayed to one upstream connection (upstream.h).
 *
 * A relay goes through these states:
 *
 *   R_CONNECTING ──connected──> R_SENDING ──first response byte──> R_RECEIVING
 *        │ failed / timed out        │ body sent                       │ end
 *        v                           v                                 v
 *   next upstream             R_WAITING ──first response byte──> R_RECEIVING
 *
 * and ends in `end` (its connection pooled when the response's framing
 * allows, pool.c) or `failed`. Relays are kept per worker for reuse, so a
 * request allocates nothing here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool.h"
#include "upstream.h"

/* Body bytes kept, on a reused connection, to replay on a fresh one if the
 * upstream closes it before answering. A larger body is not retried. */
#define REPLAY_MAX	(64 * 1024)

enum relay_state {
	R_CONNECTING = 0,	/* waiting for the connection */
	R_SENDING,		/* head and body going out */
	R_WAITING,		/* request sent, no response byte yet */
	R_RECEIVING,		/* the response is under way */
};

struct upstream {
	struct worker *w;
	struct wgen *wg;
	const struct upstream_cbs *cbs;
	void *arg;
	struct upstream_request req;
	struct upconn *conn;
	enum relay_state state;
	struct event *timer;		/* connect, then upstream_send timeout */
	unsigned tried;			/* upstreams tried: a bit each */
	unsigned send_clock:1;		/* the timer runs for upstream_send */
	unsigned timer_on:1;		/* the timer is pending */
	unsigned reused:1;		/* conn came from the pool */
	unsigned retried:1;		/* the one retry on a fresh connection */
	unsigned replayable:1;		/* replay holds every body byte sent */
	uint64_t body_sent;
	struct evbuffer *replay;
	struct upstream *next;		/* in the worker's free list */
};

static void relay_cb(struct io *, int, void *);
static void relay_read(struct upstream *);
static void relay_send_clock(struct upstream *);

/* The timer, armed or not: most requests never arm it (the connection is
 * up at once and takes the request whole), and then cost no event_del. */
static void
relay_timer(struct upstream *u, unsigned ms)
{
	worker_timer(u->timer, ms);
	u->timer_on = 1;
}

static void
relay_timer_off(struct upstream *u)
{
	if (u->timer_on) {
		event_del(u->timer);
		u->timer_on = 0;
	}
}

static const char *
relay_name(const struct upstream *u, int idx)
{
	return u->wg->gen->upstream_host[idx];
}

static void
relay_free(struct upstream *u)
{
	struct worker *w = u->w;

	relay_timer_off(u);
	if (u->replay)
		evbuffer_drain(u->replay, evbuffer_get_length(u->replay));
	wgen_unref(u->wg);
	u->wg = NULL;
	u->conn = NULL;
	u->next = w->relay_pool;
	w->relay_pool = u;
}

/*
 * Close the relay's connection for good. A request that did not all go
 * out (body bytes never sent, or bytes still queued) must reach the
 * upstream as an error, never as a clean end that a backend reading to
 * EOF takes for the whole body (RFC 9112 §8: a message cut short is
 * incomplete): whatever gave it up, the client, a timeout, an invalid or
 * an early response.
 */
static void
relay_close(struct upstream *u)
{
	struct upconn *c = u->conn;

	if (u->body_sent < u->req.body_len ||
	    evbuffer_get_length(c->io.out) > 0)
		io_reset_on_close(&c->io);
	pool_close(c);
	u->conn = NULL;
}

/* End with a failure: the connection is closed, then the client hears. */
static void
relay_fail(struct upstream *u, enum reason why)
{
	const struct upstream_cbs *cbs = u->cbs;
	void *arg = u->arg;

	if (u->conn)
		relay_close(u);
	relay_free(u);
	cbs->failed(arg, why);
}

static void
relay_end(struct upstream *u)
{
	const struct upstream_cbs *cbs = u->cbs;
	void *arg = u->arg;
	struct upconn *c = u->conn;
	int client_close = response_client_close(c->resp);

	c->io.read_size = IO_READ_SIZE;
	/* a response that came before the whole request went leaves the
	 * upstream reading a body we will not send */
	if (response_reusable(c->resp) && u->body_sent == u->req.body_len &&
	    evbuffer_get_length(c->io.out) == 0 && !u->req.close_after) {
		pool_put(c);
		u->conn = NULL;
	} else {
		relay_close(u);
	}
	relay_free(u);
	cbs->end(arg, client_close);
}

static void
relay_data(void *arg, const char *data, size_t len)
{
	struct upstream *u = arg;

	u->cbs->data(u->arg, data, len);
}

/*
 * Take a connection to upstream idx and queue the head, and on a retry the
 * body bytes sent so far. 0; -1 when this upstream cannot even be tried
 * (errno says why); -2 when the request cannot be sent anywhere.
 */
static int
relay_connect(struct upstream *u, int idx, int fresh_only)
{
	struct evbuffer *out;
	int reused;

	/* a retry is one attempt more: what it takes cannot be retried */
	u->conn = pool_get(u->wg, idx, fresh_only, u->replayable && !u->retried,
	    relay_cb, u, &reused);
	if (u->conn == NULL)
		return -1;
	u->reused = reused != 0;
	out = u->conn->io.out;
	if (u->cbs->write_head(u->arg, out, idx) != 0 ||
	    (u->body_sent > 0 && (!u->replayable ||
	    evbuffer_get_length(u->replay) != u->body_sent ||
	    evbuffer_add(out, evbuffer_pullup(u->replay, -1),
	    evbuffer_get_length(u->replay)) != 0))) {
		pool_close(u->conn);
		u->conn = NULL;
		return -2;
	}
	response_begin(u->conn->resp, u->req.head_request, u->req.client_minor,
	    relay_data, u);
	if (u->conn->state == UC_CONNECTING) {
		u->state = R_CONNECTING;
		relay_timer(u, u->wg->gen->conf.upstream_connect_timeout);
	} else {
		relay_timer_off(u);
		u->state = R_SENDING;
	}
	return 0;
}

/* Does the relay want body bytes from the client? */
static int
relay_wants_body(const struct upstream *u)
{
	return u->state != R_CONNECTING && u->body_sent < u->req.body_len;
}

/*
 * The connection is up with the head (and any replayed body) queued: send
 * it, and ask the client side for the rest of the body. `writable` also
 * tells a client waiting with a bodiless request that it may go on.
 */
static void
relay_go(struct upstream *u)
{
	io_flush(&u->conn->io);
	relay_send_clock(u);
	u->state = u->body_sent == u->req.body_len ? R_WAITING : R_SENDING;
	u->cbs->writable(u->arg);
}

/* Try the upstreams not tried yet, as the pool chooses. 0; -1 when none
 * is left; -2 when the request cannot be sent anywhere. */
static int
relay_connect_next(struct upstream *u)
{
	int idx, rv;

	while ((idx = pool_pick(u->wg, u->tried)) >= 0) {
		u->tried |= 1u << idx;
		if ((rv = relay_connect(u, idx, 0)) != -1)
			return rv;
		log_info("upstream %s: cannot connect: %s", relay_name(u, idx),
		    strerror(errno));
		metrics_add(&u->wg->w->m.up_connect_failures, 1);
		pool_failed(u->wg, idx);
	}
	return -1;
}

/* The connection was lost before it carried the request: try the next. */
static void
relay_retry_connect(struct upstream *u, enum reason why)
{
	pool_failed(u->wg, u->conn->idx);
	pool_close(u->conn);
	u->conn = NULL;
	if (relay_connect_next(u) != 0) {
		relay_fail(u, why);
		return;
	}
	if (u->state != R_CONNECTING)
		relay_go(u);
}

/* The connect, or a write of the request, took too long. */
static void
relay_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;

	(void)fd;
	(void)what;
	u->timer_on = 0;
	if (u->state != R_CONNECTING) {
		log_warn("upstream %s: sending the request timed out",
		    relay_name(u, u->conn->idx));
		metrics_add(&u->wg->w->m.up_timeouts[METRICS_TIMEOUT_SEND], 1);
		relay_fail(u, REASON_UPSTREAM_SEND_TIMEOUT);
		return;
	}
	log_info("upstream %s: connect timed out", relay_name(u, u->conn->idx));
	metrics_add(&u->wg->w->m.up_timeouts[METRICS_TIMEOUT_CONNECT], 1);
	relay_retry_connect(u, REASON_UPSTREAM_CONNECT_TIMEOUT);
}

/* [timeouts] upstream_send: while request bytes wait for the upstream to
 * take them, it must take some within that time. */
static void
relay_send_clock(struct upstream *u)
{
	if (evbuffer_get_length(u->conn->io.out) > 0)
		relay_timer(u, u->wg->gen->conf.upstream_send_timeout);
	else if (u->send_clock)
		relay_timer_off(u);
	u->send_clock = evbuffer_get_length(u->conn->io.out) > 0;
}

/*
 * A reused connection closed with no response byte: the upstream dropped
 * an idle connection as we reused it. Replay the request once on a fresh
 * connection if it is idempotent and every body byte sent is still here.
 * 0 when the retry is under way.
 */
static int
relay_retry_stale(struct upstream *u)
{
	int idx = u->conn->idx;

	if (!u->reused || u->retried || !u->req.idempotent ||
	    u->state == R_RECEIVING || (u->body_sent > 0 && !u->replayable))
		return -1;
	log_info("upstream %s: reused connection closed before the response, "
	    "retrying on a new one", relay_name(u, idx));
	metrics_add(&u->wg->w->m.up_early_closes, 1);
	pool_close(u->conn);
	u->conn = NULL;
	u->retried = 1;
	if (relay_connect(u, idx, 1) != 0)
		return -1;
	if (u->state != R_CONNECTING)
		relay_go(u);
	return 0;
}

/* The upstream closed, or its socket failed. */
static void
relay_gone(struct upstream *u, int event)
{
	if (u->state == R_CONNECTING) {
		log_info("upstream %s: connect failed: %s",
		    relay_name(u, u->conn->idx), strerror(errno));
		metrics_add(&u->wg->w->m.up_connect_failures, 1);
		relay_retry_connect(u, REASON_UPSTREAM_CONNECT_FAILED);
		return;
	}
	if (u->reused && u->state != R_RECEIVING)
		pool_reuse_ended(u->conn);
	if (relay_retry_stale(u) == 0)
		return;
	if (u->conn == NULL) {	/* the retry could not start */
		relay_fail(u, REASON_UPSTREAM_CONNECT_FAILED);
		return;
	}
	if (event == IO_EOF && response_eof(u->conn->resp).verdict == RESPONSE_END) {
		relay_end(u);
		return;
	}
	log_warn("upstream %s: %s", relay_name(u, u->conn->idx),
	    event == IO_EOF ? "closed before the response was complete" :
	    "connection error");
	if (event == IO_EOF)
		metrics_add(&u->wg->w->m.up_early_closes, 1);
	relay_fail(u, event == IO_EOF ? REASON_UPSTREAM_CLOSED_EARLY :
	    REASON_UPSTREAM_CONNECTION_ERROR);
}

static void
relay_connected(struct upstream *u)
{
	relay_timer_off(u);
	u->conn->state = UC_BUSY;
	pool_ok(u->wg, u->conn->idx);
	relay_go(u);
}

static void
relay_cb(struct io *io, int event, void *arg)
{
	struct upstream *u = arg;

	(void)io;
	switch (event) {
	case IO_READ:
		relay_read(u);
		break;
	case IO_DRAINED:
		relay_send_clock(u);
		if (relay_wants_body(u))
			u->cbs->writable(u->arg);
		break;
	case IO_CONNECTED:
		relay_connected(u);
		break;
	default:
		relay_gone(u, event);
		break;
	}
}

static void
relay_read(struct upstream *u)
{
	struct io *io = &u->conn->io;
	struct evbuffer *in = io->in;
	struct response *resp = u->conn->resp;
	struct evbuffer_iovec v;
	struct response_step s;

	if (evbuffer_get_length(in) > 0 && u->state != R_RECEIVING) {
		if (u->reused)
			pool_reuse_answered(u->conn);
		u->state = R_RECEIVING;
	}
	/* a read that filled its space means a large response: read more
	 * at a time (back to the default for the next response) */
	if (evbuffer_get_length(in) >= io->read_size)
		io->read_size = IO_READ_SIZE_LARGE;
	for (;;) {
		/* an empty feed still matters: a head without a body ends on
		 * the next step */
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
			v.iov_base = NULL;
			v.iov_len = 0;
		}
		s = response_feed(resp, v.iov_base, v.iov_len);
		switch (s.verdict) {
		case RESPONSE_MORE:
			evbuffer_drain(in, s.consumed);
			if (v.iov_len == 0) {
				u->cbs->flush(u->arg);
				return;
			}
			break;
		case RESPONSE_HEAD:
			evbuffer_drain(in, s.consumed);
			/* RFC 9110 §15.2: no 1xx to an HTTP/1.0 client */
			if (response_interim(resp) && u->req.client_minor == 0)
				break;
			if (u->cbs->head(u->arg, resp) != 0) {
				relay_fail(u, REASON_UPSTREAM_HEAD_TOO_LARGE);
				return;
			}
			break;
		case RESPONSE_BODY:
		case RESPONSE_END:
			if (response_passthrough(resp))
				u->cbs->body(u->arg, in, s.consumed);
			else
				evbuffer_drain(in, s.consumed);
			if (s.verdict == RESPONSE_END) {
				u->cbs->flush(u->arg);
				relay_end(u);
				return;
			}
			break;
		case RESPONSE_ERROR:
			log_warn("upstream %s: invalid response: %s",
			    relay_name(u, u->conn->idx), response_error(resp));
			u->cbs->flush(u->arg);
			relay_fail(u, response_refusal(resp));
			return;
		}
	}
}

/* ------------------------------------------------------------ the seam */

struct upstream *
upstream_start(struct wgen *wg, const struct upstream_cbs *cbs, void *arg,
    const struct upstream_request *req)
{
	struct worker *w = wg->w;
	struct upstream *u;

	if ((u = w->relay_pool) != NULL) {
		w->relay_pool = u->next;
	} else {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return NULL;
		u->w = w;
		if ((u->timer = evtimer_new(w->base, relay_timeout,
		    u)) == NULL) {
			free(u);
			return NULL;
		}
	}
	u->wg = wg;
	wgen_ref(wg);
	u->cbs = cbs;
	u->arg = arg;
	u->req = *req;
	u->tried = 0;
	u->send_clock = 0;
	u->retried = 0;
	u->body_sent = 0;
	/* only what a retry may need is kept: bodies of idempotent requests,
	 * small enough (GET and HEAD have none, so they cost nothing) */
	u->replayable = req->idempotent && req->body_len <= REPLAY_MAX;
	if (relay_connect_next(u) != 0) {
		relay_free(u);
		return NULL;
	}
	return u;
}

int
upstream_ready(const struct upstream *u)
{
	return u->state != R_CONNECTING;
}

int
upstream_send(struct upstream *u, struct evbuffer *from, size_t n)
{
	struct io *io = &u->conn->io;

	if (n > 0) {
		/* what a retry would replay: kept on a reused connection
		 * (which the upstream may have closed under us), and after a
		 * retry (whose connect may fail over to the next upstream) */
		if (u->replayable && (u->reused || u->retried)) {
			if (u->replay == NULL)
				u->replay = evbuffer_new();
			if (u->replay == NULL || io_copy(from, u->replay, n) < n)
				u->replayable = 0;
		}
		io_move(from, io->out, n);
		u->body_sent += n;
	}
	/* the head and what body there is go in one write */
	io_flush(io);
	if (u->send_clock || evbuffer_get_length(io->out) > 0)
		relay_send_clock(u);
	if (u->body_sent == u->req.body_len && u->state == R_SENDING)
		u->state = R_WAITING;
	return evbuffer_get_length(io->out) > HIGH_WATER;
}

void
upstream_pause(struct upstream *u, int on)
{
	io_read(&u->conn->io, !on);
	if (!on)
		relay_read(u);
}

void
upstream_abort(struct upstream *u)
{
	/* a body cut short (the client left, or was too slow): a reset */
	if (u->conn)
		relay_close(u);
	relay_free(u);
}

void
upstream_pool_free(struct worker *w)
{
	struct upstream *u;

	while ((u = w->relay_pool) != NULL) {
		w->relay_pool = u->next;
		event_free(u->timer);
		if (u->replay)
			evbuffer_free(u->replay);
		free(u);
	}
}
