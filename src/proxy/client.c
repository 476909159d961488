/*
 * client.c - a client connection's state machine.
 *
 *   CS_IDLE ──bytes──> CS_HEAD ──approved──> CS_BODY ──body sent──> CS_WAIT
 *     ^                  │ refused             │ early response       │ head
 *     │                  v                     v                      v
 *     │     CS_LINGER (reply flushing)     CS_BODY (response      CS_RESPONSE
 *     │       -> CS_DRAIN (shut down,       streams meanwhile)        │
 *     │          read until EOF, free)                                │
 *     └──────────────────── response complete, keep-alive ────────────┘
 *
 * What each state does on a timeout and on the client's EOF is in one
 * table, cstates[] below. The core (framing.h) decides on every request;
 * the upstream side (upstream.h) relays an approved one; this file moves
 * client bytes and keeps the request's record, which request_finalize()
 * logs exactly once, whatever ended the request (nginx logs a client that
 * went away as 499, and so does lengthguard).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include <llhttp.h>

#include "client.h"
#include "io.h"
#include "log.h"
#include "pages.h"
#include "reason.h"
#include "upstream.h"

enum cstate {
	CS_IDLE = 0,	/* between requests (keep-alive) */
	CS_HEAD,	/* reading a request head */
	CS_BODY,	/* relaying a request body */
	CS_WAIT,	/* request sent, waiting for the response head */
	CS_RESPONSE,	/* streaming the response */
	CS_LINGER,	/* replied or failed: flushing before closing */
	CS_DRAIN,	/* our side shut down: reading until EOF (lingering) */
};

/* The timer of a state: which timeout of the conf it runs for. */
enum ctimer {
	CT_KEEPALIVE = 0,
	CT_HEADER,
	CT_BODY,
	CT_RESPONSE,
	CT_FLUSH,	/* linger + FLUSH_EXTRA_MS to send what is queued */
	CT_LINGER,
};
#define FLUSH_EXTRA_MS	5000

/* What a state does with the client's EOF. */
enum ceof {
	EOF_CLOSE = 0,	/* nothing asked: close quietly */
	EOF_HEAD,	/* a head cut short: answer it (400), close */
	EOF_BODY,	/* the rest of the body is here: as EOF_HALF; else the
			   client went away (499) */
	EOF_HALF,	/* a half-close: answer what was asked, then close */
	EOF_FREE,	/* lingering is over */
};

static const struct cstate_info {
	const char *name;
	enum ctimer timer;
	enum reason on_timeout;		/* REASON_NONE: close quietly */
	enum ceof on_eof;
} cstates[] = {
	[CS_IDLE]     = { "idle", CT_KEEPALIVE, REASON_NONE, EOF_CLOSE },
	[CS_HEAD]     = { "head", CT_HEADER, REASON_CLIENT_HEAD_TIMEOUT, EOF_HEAD },
	[CS_BODY]     = { "body", CT_BODY, REASON_CLIENT_BODY_TIMEOUT, EOF_BODY },
	[CS_WAIT]     = { "wait", CT_RESPONSE, REASON_UPSTREAM_RESPONSE_TIMEOUT,
			  EOF_HALF },
	[CS_RESPONSE] = { "response", CT_RESPONSE,
			  REASON_UPSTREAM_RESPONSE_TIMEOUT, EOF_HALF },
	[CS_LINGER]   = { "linger", CT_FLUSH, REASON_NONE, EOF_HALF },
	[CS_DRAIN]    = { "drain", CT_LINGER, REASON_NONE, EOF_FREE },
};

/* The record of the request a connection is on, reset at every head. */
struct request {
	unsigned active:1;		/* begun, not logged yet */
	unsigned responded:1;		/* a final head went to the client */
	unsigned head_request:1;	/* HEAD: no body in any reply */
	unsigned keep_alive:1;		/* the client allows another request */
	unsigned close_sent:1;		/* its final head said Connection: close */
	int      http_minor;
	int      status;		/* what the client got (or would have) */
	enum reason reason;		/* why it was not served; NONE: it was */
	uint64_t bytes_out;		/* response body bytes sent */
	struct timespec t_start;
	struct timespec t_up;		/* tv_sec 0: never went upstream */
	struct timespec body_end;	/* the whole body is due by then
					   (tv_sec 0: no body) */
};

struct client {
	struct worker *w;
	struct wgen *wg;
	struct io io;
	struct framing *fr;		/* NULL while idle: from the worker's pool */
	struct upstream *up;		/* the relay of the current request */
	struct event *timer;
	enum cstate state;
	unsigned eof:1;			/* the client will send nothing more */
	unsigned input_held:1;		/* next request waits: output full */
	unsigned upstream_paused:1;	/* response reading off: output full */
	unsigned trusted:1;		/* the peer is in trusted_proxies (of wg) */
	struct request req;
	char addr[INET6_ADDRSTRLEN];
	TAILQ_ENTRY(client) entry;
};

static void client_free(struct client *);
static void client_input(struct client *);
static void client_body(struct client *);
static void client_reply(struct client *, enum reason);
static void client_close_flushed(struct client *);

/* ------------------------------------------------------------- states */

static unsigned
ctimer_ms(const struct conf *cf, enum ctimer t)
{
	switch (t) {
	case CT_KEEPALIVE:
		return cf->keepalive_timeout;
	case CT_HEADER:
		return cf->client_header_timeout;
	case CT_BODY:
		return cf->client_body_timeout;
	case CT_RESPONSE:
		return cf->upstream_response_timeout;
	case CT_FLUSH:
		return cf->linger_timeout + FLUSH_EXTRA_MS;
	case CT_LINGER:
		return cf->linger_timeout;
	}
	return cf->linger_timeout;
}

/* Milliseconds from now to t, 0 when t is past. */
static unsigned
ms_until(const struct timespec *t)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (unsigned)(ms < UINT_MAX ? ms : UINT_MAX) : 0;
}

/* (Re)start the current state's timer: entering it, or on progress. A
 * body also has its total deadline ([timeouts] client_body_total). */
static void
client_touch(struct client *c)
{
	unsigned ms = ctimer_ms(&c->wg->gen->conf, cstates[c->state].timer);

	if (c->state == CS_BODY && c->req.body_end.tv_sec != 0) {
		unsigned left = ms_until(&c->req.body_end);

		if (left < ms)
			ms = left;
	}
	worker_timer(c->timer, ms);
}

static void
client_set_state(struct client *c, enum cstate s)
{
	c->state = s;
	client_touch(c);
}

/* ------------------------------------------------------------ records */

static double
since(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) +
	    (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

static void
request_begin(struct client *c)
{
	memset(&c->req, 0, sizeof(c->req));
	c->req.active = 1;
	clock_gettime(CLOCK_MONOTONIC, &c->req.t_start);
}

/*
 * The one end of every request: record how it ended (status: what the
 * client got, unless a response head went out already; why: REASON_NONE
 * when it was served) and write its access log line. A second call for the
 * same request does nothing.
 */
static void
request_finalize(struct client *c, int status, enum reason why)
{
	struct request *rq = &c->req;
	const struct framing_request *r = c->fr ? framing_request(c->fr) : NULL;
	struct log_request l;
	struct timespec now;

	if (!rq->active)
		return;
	rq->active = 0;
	if (rq->status == 0 || !rq->responded)
		rq->status = status;
	if (why != REASON_NONE)
		rq->reason = why;
	if (!log_access_enabled())
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(&l, 0, sizeof(l));
	l.addr = c->addr;
	if (r != NULL && r->method_name != NULL) {
		l.method = r->method_name;
		l.target = r->target;
		l.target_len = r->target_len;
		l.http_minor = r->http_minor;
		l.referer = framing_field(c->fr, "referer", &l.referer_len);
		l.user_agent = framing_field(c->fr, "user-agent",
		    &l.user_agent_len);
	}
	l.status = rq->status;
	l.bytes = rq->bytes_out;
	l.rt = since(&rq->t_start, &now);
	l.urt = rq->t_up.tv_sec != 0 ? since(&rq->t_up, &now) : -1;
	l.verdict = rq->reason != REASON_NONE ? reason_text(rq->reason) : NULL;
	log_access_request(&c->w->alog, &l);
}

/* The client went away mid-request: logged as 499, like nginx does. */
static void
client_gone(struct client *c)
{
	request_finalize(c, reason_status(REASON_CLIENT_CLOSED),
	    REASON_CLIENT_CLOSED);
}

/* ---------------------------------------------------------- inspectors */

/* An idle keep-alive connection holds no inspector: one is taken from the
 * worker's pool when bytes arrive and given back when it is idle again. */
static int
client_framing_get(struct client *c)
{
	if (c->fr == NULL)
		c->fr = worker_framing_get(c->w, &c->wg->gen->conf.policy);
	return c->fr ? 0 : -1;
}

static void
client_framing_put(struct client *c)
{
	if (c->fr != NULL)
		worker_framing_put(c->w, c->fr);
	c->fr = NULL;
}

/* Is the client's address in trusted_proxies of the connection's conf?
 * (Its address is kept as text: this runs at accept and after a reload.) */
static int
client_trusted(const struct client *c)
{
	const struct conf *cf = &c->wg->gen->conf;
	struct sockaddr_in6 s6 = { 0 };
	struct sockaddr_in s4 = { 0 };

	if (cf->ntrusted == 0)
		return 0;
	if (inet_pton(AF_INET, c->addr, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return conf_trusted(cf, (struct sockaddr *)&s4);
	}
	if (inet_pton(AF_INET6, c->addr, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return conf_trusted(cf, (struct sockaddr *)&s6);
	}
	return 0;
}

/*
 * Between requests, a connection moves to the worker's current
 * configuration: a reload never closes a connection, and its next request
 * is judged by the new conf.
 */
static void
client_take_gen(struct client *c)
{
	struct wgen *cur = c->w->cur;

	if (c->wg == cur || (c->fr != NULL && !framing_idle(c->fr)))
		return;
	wgen_ref(cur);
	wgen_unref(c->wg);
	c->wg = cur;
	c->trusted = client_trusted(c);
	if (c->fr != NULL) {
		if (framing_fits(c->fr, &cur->gen->conf.policy))
			framing_set_policy(c->fr, &cur->gen->conf.policy);
		else
			client_framing_put(c);	/* a new one is sized for it */
	}
}

/* ---------------------------------------------------------- replies */

static void
pages_cleanup(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	pages_unref(arg);
}

/* Is the current request a HEAD (its replies carry no body)? */
static int
client_head_request(const struct client *c)
{
	return c->req.head_request ||
	    (c->fr != NULL && framing_request(c->fr)->head_method);
}

/*
 * Answer with a prebuilt page and close gracefully. Every HTTP error goes
 * through here (relayd's relay_abort_http).
 */
static void
client_reply(struct client *c, enum reason why)
{
	int status = reason_status(why);
	struct worker *w = c->w;
	struct pages *ps = c->wg->gen->pages;
	struct evbuffer *out = c->io.out;
	struct iovec iov[PAGES_REPLY_IOVS];
	int json = c->fr ? framing_wants_json(c->fr) : 0;

	if (!c->req.active)
		request_begin(c);	/* a reply always belongs to a request */
	c->req.bytes_out = pages_reply_iov(pages_reply(ps, status, json),
	    httpdate_line(&w->date, time(NULL)), HTTPDATE_LINE_LEN,
	    client_head_request(c), iov);
	/* the page bytes are shared: referenced, with the pages kept alive
	 * until sent; the Date line is the worker's and is copied */
	pages_ref(ps);
	evbuffer_add_reference(out, iov[0].iov_base, iov[0].iov_len,
	    pages_cleanup, ps);
	evbuffer_add(out, iov[1].iov_base, iov[1].iov_len);
	pages_ref(ps);
	evbuffer_add_reference(out, iov[2].iov_base, iov[2].iov_len,
	    pages_cleanup, ps);
	request_finalize(c, status, why);
	client_close_flushed(c);	/* the rest of the stream is in doubt */
}

/* Output flushed in CS_LINGER: shut down our side, then drain until EOF. */
static void
client_linger_flushed(struct client *c)
{
	if (c->eof) {		/* nothing more will come: no lingering */
		client_free(c);
		return;
	}
	io_shutdown_write(&c->io);
	client_set_state(c, CS_DRAIN);
}

/*
 * Close once what is queued for the client has been sent: flush, shut down
 * our side, then drain what the client still sends (lingering close), so it
 * reads our last bytes rather than a reset.
 */
static void
client_close_flushed(struct client *c)
{
	if (c->up) {
		upstream_abort(c->up);
		c->up = NULL;
	}
	client_set_state(c, CS_LINGER);
	/* every write tells (IO_DRAINED): a client that reads slowly but
	 * steadily gets all of it, the flush timer restarting each time */
	c->io.low_water = SIZE_MAX;
	c->io.read_max = 0;	/* read and discard whatever comes */
	io_read(&c->io, 1);
	io_flush(&c->io);
	if (evbuffer_get_length(c->io.out) == 0)
		client_linger_flushed(c);
}

/* The request ended without a response of its own: reply, or close when
 * response bytes went out already. */
static void
client_fail(struct client *c, enum reason why)
{
	if (!c->req.responded) {
		client_reply(c, why);
		return;
	}
	request_finalize(c, reason_status(why), why);
	client_close_flushed(c);	/* what was relayed, then the close */
}

/* ------------------------------------------------- the upstream's calls */

static int
cb_write_head(void *arg, struct evbuffer *out, int idx)
{
	struct client *c = arg;
	struct framing_peer peer = { 0 };
	struct evbuffer_iovec v;
	long n;

	peer.addr = c->addr;
	peer.proto = "http";
	peer.default_host = c->wg->gen->upstream_host[idx];
	peer.trusted = c->trusted;
	if (evbuffer_reserve_space(out, (ev_ssize_t)framing_head_size(c->fr,
	    &peer), &v, 1) < 1 ||
	    (n = framing_write_head(c->fr, &peer, v.iov_base, v.iov_len)) < 0)
		return -1;
	v.iov_len = (size_t)n;
	evbuffer_commit_space(out, &v, 1);
	if (c->req.t_up.tv_sec == 0)
		clock_gettime(CLOCK_MONOTONIC, &c->req.t_up);
	return 0;
}

static void
cb_writable(void *arg)
{
	struct client *c = arg;

	if (c->state == CS_BODY) {
		io_read(&c->io, 1);
		client_body(c);
	}
}

static int
cb_head(void *arg, const struct response *resp)
{
	struct client *c = arg;
	struct worker *w = c->w;
	/* the connection closes after this response: the client asked, we
	 * are stopping, or the response comes before the whole body (which
	 * cb_end does not wait for) */
	int close = !c->req.keep_alive || w->stopping ||
	    framing_body_left(c->fr) > 0;
	long n;

	httpdate_line(&w->date, time(NULL));	/* added when it has none */
	n = response_write_head(resp, close, w->scratch, sizeof(w->scratch));
	if (n < 0)
		return -1;
	evbuffer_add(c->io.out, w->scratch, (size_t)n);
	if (!response_interim(resp)) {
		c->req.status = response_status(resp);
		c->req.responded = 1;
		c->req.close_sent = close;
		if (c->state == CS_WAIT)
			client_set_state(c, CS_RESPONSE);
	}
	return 0;
}

static void
cb_body(void *arg, struct evbuffer *from, size_t n)
{
	struct client *c = arg;

	io_move(from, c->io.out, n);
	c->req.bytes_out += n;
}

static void
cb_data(void *arg, const char *data, size_t len)
{
	struct client *c = arg;

	evbuffer_add(c->io.out, data, len);
	c->req.bytes_out += len;
}

static void
cb_flush(void *arg)
{
	struct client *c = arg;

	io_flush(&c->io);
	/* the response timeout is an idle timeout once the final head is
	 * in; before, it is a deadline that interim (1xx) heads do not move */
	if (c->state == CS_RESPONSE)
		client_touch(c);
	if (evbuffer_get_length(c->io.out) > HIGH_WATER && c->up) {
		upstream_pause(c->up, 1);	/* resumed on IO_DRAINED */
		c->upstream_paused = 1;
	}
}

/* The response is complete: log, then the next request or the close. */
static void
cb_end(void *arg, int client_close)
{
	struct client *c = arg;
	struct worker *w = c->w;
	int body_cut = framing_body_left(c->fr) > 0;

	c->up = NULL;
	c->upstream_paused = 0;
	request_finalize(c, c->req.status, REASON_NONE);
	/* a body delimited by the upstream's close ends only with ours */
	if (!c->req.keep_alive || c->req.close_sent || client_close ||
	    body_cut || w->stopping) {
		client_close_flushed(c);
		return;
	}
	client_set_state(c, CS_IDLE);
	io_read(&c->io, 1);
	/* a client that pipelines without reading gets no more answers
	 * queued until it reads: its requests wait in its socket */
	if (evbuffer_get_length(c->io.out) > HIGH_WATER)
		c->input_held = 1;
	client_take_gen(c);
	if (evbuffer_get_length(c->io.in) == 0 && !c->eof &&
	    (c->fr == NULL || framing_idle(c->fr)))
		client_framing_put(c);
	else
		client_input(c);	/* a pipelined request, or the end */
}

static void
cb_failed(void *arg, enum reason why)
{
	struct client *c = arg;

	c->up = NULL;
	client_fail(c, why);
}

static const struct upstream_cbs client_upstream_cbs = {
	.write_head = cb_write_head,
	.writable = cb_writable,
	.head = cb_head,
	.body = cb_body,
	.data = cb_data,
	.flush = cb_flush,
	.end = cb_end,
	.failed = cb_failed,
};

/* -------------------------------------------------- request forwarding */

/* Move what there is of the body upstream, once the relay can take it. */
static void
client_body(struct client *c)
{
	struct evbuffer *in = c->io.in;
	uint64_t left = framing_body_left(c->fr);
	size_t n = evbuffer_get_length(in);
	int full;

	if (!upstream_ready(c->up)) {
		/* no body byte moves before the connection is up, so that a
		 * failed connect can be retried elsewhere with nothing lost;
		 * the relay times the connect */
		event_del(c->timer);
		return;
	}
	if ((uint64_t)n > left)
		n = (size_t)left;
	full = upstream_send(c->up, in, n);
	if (n > 0) {
		framing_body_done(c->fr, n);
		io_consumed(&c->io);
	}
	if (framing_body_left(c->fr) == 0) {
		client_set_state(c, c->req.responded ? CS_RESPONSE : CS_WAIT);
		return;
	}
	client_touch(c);
	if (full)
		io_read(&c->io, 0);	/* resumed by cb_writable */
}

/* RFC 9110 §9.2.2: the methods a retry cannot change the effect of. */
static int
method_idempotent(int m)
{
	return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_PUT ||
	    m == HTTP_DELETE || m == HTTP_OPTIONS || m == HTTP_TRACE;
}

/* The core approved a head: start its relay. */
static void
request_start(struct client *c)
{
	static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const struct framing_request *r = framing_request(c->fr);
	struct upstream_request ur;

	c->req.head_request = r->head_method != 0;
	c->req.http_minor = r->http_minor;
	c->req.keep_alive = r->keep_alive != 0;
	if (r->has_body) {
		clock_gettime(CLOCK_MONOTONIC, &c->req.body_end);
		c->req.body_end.tv_sec +=
		    c->wg->gen->conf.client_body_total_timeout / 1000;
		c->req.body_end.tv_nsec += (long)(c->wg->gen->conf.
		    client_body_total_timeout % 1000) * 1000000;
		if (c->req.body_end.tv_nsec >= 1000000000L) {
			c->req.body_end.tv_sec++;
			c->req.body_end.tv_nsec -= 1000000000L;
		}
	}
	ur.head_request = r->head_method;
	ur.client_minor = r->http_minor;
	ur.idempotent = method_idempotent(r->method);
	ur.body_len = r->has_body ? r->content_length : 0;
	ur.close_after = r->close_upstream;
	c->up = upstream_start(c->wg, &client_upstream_cbs, c, &ur);
	if (c->up == NULL) {
		client_reply(c, REASON_UPSTREAM_UNREACHABLE);
		return;
	}
	/* RFC 9110 §10.1.1: the proxy answers 100-continue itself */
	if (r->expect_continue && r->http_minor == 1) {
		evbuffer_add(c->io.out, continue_100, sizeof(continue_100) - 1);
		io_flush(&c->io);
	}
	client_set_state(c, CS_BODY);
	client_body(c);
}

/* No more input will come and none is left: answer or close. */
static void
client_input_end(struct client *c)
{
	struct framing_step s = { FRAMING_CLOSED, 0 };

	if (c->fr != NULL)
		s = framing_eof(c->fr);
	if (s.verdict == FRAMING_REJECT) {
		client_reply(c, framing_refusal(c->fr));
		return;
	}
	client_gone(c);
	client_close_flushed(c);
}

/* Feed buffered client bytes to the core until it has something to say. */
static void
client_input(struct client *c)
{
	struct evbuffer *in = c->io.in;
	struct evbuffer_iovec v;
	struct framing_step s;

	while (c->state == CS_IDLE || c->state == CS_HEAD) {
		if (c->input_held)
			return;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			if (c->eof)
				client_input_end(c);
			return;
		}
		if (c->state == CS_IDLE)
			client_take_gen(c);
		if (client_framing_get(c) != 0) {
			client_free(c);
			return;
		}
		s = framing_feed(c->fr, v.iov_base, v.iov_len);
		evbuffer_drain(in, s.consumed);
		io_consumed(&c->io);
		if (c->state == CS_IDLE && s.verdict != FRAMING_CLOSED &&
		    (s.verdict != FRAMING_MORE || !framing_idle(c->fr)))
			request_begin(c);
		switch (s.verdict) {
		case FRAMING_MORE:
			/* slowloris: the whole head within the timeout */
			if (c->state == CS_IDLE && !framing_idle(c->fr))
				client_set_state(c, CS_HEAD);
			break;
		case FRAMING_HEAD:
			request_start(c);
			return;
		case FRAMING_REJECT:
			client_reply(c, framing_refusal(c->fr));
			return;
		case FRAMING_BODY:
		case FRAMING_CLOSED:
			client_close_flushed(c);
			return;
		}
	}
}

/* ------------------------------------------------------ client events */

static void
client_read(struct client *c)
{
	struct evbuffer *in = c->io.in;

	switch (c->state) {
	case CS_IDLE:
	case CS_HEAD:
		client_input(c);
		break;
	case CS_BODY:
		client_body(c);
		break;
	case CS_WAIT:
	case CS_RESPONSE:
		/* a pipelined request waits; read_max bounds it */
		break;
	case CS_LINGER:
	case CS_DRAIN:
		evbuffer_drain(in, evbuffer_get_length(in));
		io_consumed(&c->io);
		break;
	}
}

/* The client's output went down to the low mark (or empty). */
static void
client_drained(struct client *c)
{
	if (c->state == CS_LINGER) {
		if (evbuffer_get_length(c->io.out) == 0)
			client_linger_flushed(c);
		else
			client_touch(c);
		return;
	}
	if (c->state == CS_IDLE) {
		if (c->input_held) {
			c->input_held = 0;	/* it read: the next request may go */
			client_input(c);
		} else {
			client_touch(c);	/* still reading the last answer */
		}
		return;
	}
	if (c->upstream_paused && c->up) {
		/* a slow reader is still a reader: the idle clock restarts */
		if (c->state == CS_RESPONSE)
			client_touch(c);
		c->upstream_paused = 0;
		upstream_pause(c->up, 0);	/* may end the request */
	}
}

/* The client closed its sending side. */
static void
client_eof(struct client *c)
{
	c->eof = 1;
	switch (cstates[c->state].on_eof) {
	case EOF_CLOSE:
		if (evbuffer_get_length(c->io.in) > 0)
			break;		/* pipelined requests, held: answer them */
		if (evbuffer_get_length(c->io.out) > 0)
			client_close_flushed(c);	/* the last answer first */
		else
			client_free(c);
		return;
	case EOF_HEAD:
		client_input(c);	/* all input is fed: this ends it */
		return;
	case EOF_BODY:
		if (evbuffer_get_length(c->io.in) < framing_body_left(c->fr)) {
			client_gone(c);
			client_free(c);
			return;
		}
		break;
	case EOF_HALF:
		break;
	case EOF_FREE:
		client_free(c);
		return;
	}
}

static void
client_cb(struct io *io, int event, void *arg)
{
	struct client *c = arg;

	(void)io;
	switch (event) {
	case IO_READ:
		client_read(c);
		break;
	case IO_DRAINED:
		client_drained(c);
		break;
	case IO_EOF:
		client_eof(c);
		break;
	default:	/* a reset, or a write that failed */
		client_gone(c);
		client_free(c);
		break;
	}
}

static void
client_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	const struct cstate_info *st = &cstates[c->state];

	(void)fd;
	(void)what;
	if (st->on_timeout == REASON_NONE) {
		client_free(c);
		return;
	}
	client_fail(c, st->on_timeout);
}

static void
client_free(struct client *c)
{
	struct worker *w = c->w;

	client_gone(c);
	if (c->up)
		upstream_abort(c->up);
	TAILQ_REMOVE(&w->clients, c, entry);
	if (c->timer)
		event_free(c->timer);
	io_close(&c->io);
	client_framing_put(c);
	wgen_unref(c->wg);
	free(c);
	worker_client_gone(w);
}

void
client_stop_idle(struct worker *w)
{
	struct client *c, *next;

	for (c = TAILQ_FIRST(&w->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state != CS_IDLE)
			continue;
		if (evbuffer_get_length(c->io.out) > 0)
			client_close_flushed(c);	/* the last answer first */
		else
			client_free(c);
	}
}

void
client_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa)
{
	struct wgen *wg = w->cur;
	const struct conf *cf = &wg->gen->conf;
	struct client *c;
	size_t high;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->w = w;
	c->wg = wg;
	wgen_ref(wg);
	TAILQ_INSERT_TAIL(&w->clients, c, entry);
	w->nconns++;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    c->addr, sizeof(c->addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    c->addr, sizeof(c->addr));
	c->trusted = client_trusted(c);
	c->io.fd = -1;
	c->timer = evtimer_new(w->base, client_timeout, c);
	if (c->timer == NULL || io_open(&c->io, w->base, fd, client_cb, c) != 0) {
		evutil_closesocket(fd);
		client_free(c);
		return;
	}
	/* the input holds at most one head plus some: pipelined requests
	 * wait in the socket, not in our memory */
	high = cf->policy.max_head_size + 4096;
	if (high < LOW_WATER)
		high = LOW_WATER;
	c->io.read_max = high;
	c->io.low_water = LOW_WATER;
	/* a new connection has the head timeout to send its first request */
	c->state = CS_IDLE;
	worker_timer(c->timer, cf->client_header_timeout);
}
