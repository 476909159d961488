/*
 * request.c - the request a client connection is on: its record, reset at
 * every request and logged once by request_finalize() whatever ended it
 * (nginx logs a client that went away as 499, and so does lengthguard), and
 * its relay to the upstream (upstream.h): the head and body going up, the
 * response coming back through the callbacks below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include <llhttp.h>

#include "client_int.h"
#include "log.h"
#include "metrics.h"
#include "upstream.h"

/* ------------------------------------------------------------ records */

static double
since(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) +
	    (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

void
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
void
request_finalize(struct client *c, int status, enum reason why)
{
	struct request *rq = &c->req;
	struct accesslog_request l;
	struct timespec now;
	enum desync_class d;
	char verdict[128];

	spool_close(&c->spool);		/* whatever ended it, all at once */
	if (!rq->active)
		return;
	rq->active = 0;
	if (rq->status == 0 || !rq->responded)
		rq->status = status;
	if (why != REASON_NONE)
		rq->reason = why;
	clock_gettime(CLOCK_MONOTONIC, &now);
	d = c->fr ? framing_desync(c->fr) : DESYNC_COMPLIANT;
	memset(&l, 0, sizeof(l));
	l.rt = since(&rq->t_start, &now);
	l.urt = rq->t_up.tv_sec != 0 ? since(&rq->t_up, &now) : -1;
	metrics_request(&c->w->m, rq->status, rq->reason, d, l.rt, l.urt);
	l.addr = c->addr;
	l.status = rq->status;
	l.bytes = rq->bytes_out;
	l.verdict = rq->reason != REASON_NONE ? reason_text(rq->reason) : NULL;
	l.reason = rq->reason != REASON_NONE ? reason_label(rq->reason) : NULL;
	if (rq->reason == REASON_NONE && rq->would_refuse != REASON_NONE) {
		/* monitor mode let it through (docs/classes.md) */
		snprintf(verdict, sizeof(verdict), "would_refuse: %s",
		    reason_text(rq->would_refuse));
		l.verdict = verdict;
		l.reason = reason_label(rq->would_refuse);
		l.would_refuse = 1;
		l.would_status = reason_status(rq->would_refuse);
	}
	/* the request's fields (looked up by name) only for a line that
	 * will be written: an access log, or a refusal's error line */
	if (l.reason != NULL || log_access_enabled())
		accesslog_request_from(&l, c->fr);
	l.cls = reason_desync_label(d);
	l.upstream = rq->upstream > 0 ? c->wg->gen->upstream_host[rq->upstream -
	    1] : NULL;
	log_request_outcome(&c->w->elim, &l);
	log_access_request(&c->w->alog, &l);
}

/* The client went away mid-request: logged as 499, like nginx does. */
void
request_gone(struct client *c)
{
	request_finalize(c, reason_status(REASON_CLIENT_CLOSED),
	    REASON_CLIENT_CLOSED);
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
	c->req.upstream = idx + 1;	/* the last one tried, for logs */
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
		request_body(c);
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
		/* the client does not allow another request and its body
		 * was read whole: nothing more can come (RFC 9112 §9.6), the
		 * close needs no lingering (client.c) */
		c->read_whole = !c->req.keep_alive && !body_cut;
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

/* A buffered body goes up from its spool, as fast as the upstream takes
 * it; then the response is awaited. */
static void
request_body_spooled(struct client *c)
{
	struct evbuffer *from = NULL;
	long n;
	int full;

	do {
		if ((n = spool_next(&c->spool, &from)) < 0) {
			client_fail(c, REASON_BODY_BUFFER_FAILED);
			return;
		}
		full = upstream_send(c->up, from, (size_t)n);
	} while (!full && n > 0 && !spool_done(&c->spool));
	if (!spool_done(&c->spool)) {
		/* the upstream's send timeout runs: resumed by cb_writable */
		client_timer_stop(c);
		return;
	}
	spool_close(&c->spool);		/* its memory is free for others */
	client_set_state(c, c->req.responded ? CS_RESPONSE : CS_WAIT);
}

/* Move what there is of the body upstream, once the relay can take it. */
void
request_body(struct client *c)
{
	struct evbuffer *in = c->io.in;
	uint64_t left = framing_body_left(c->fr);
	size_t n = evbuffer_get_length(in);
	int full;

	if (!upstream_ready(c->up)) {
		/* no body byte moves before the connection is up, so that a
		 * failed connect can be retried elsewhere with nothing lost;
		 * the relay times the connect */
		client_timer_stop(c);
		return;
	}
	if (c->req.buffered) {
		request_body_spooled(c);
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
	if (full) {
		/* the upstream is the slow side: its send timeout runs, the
		 * client's body clock waits (resumed by cb_writable) */
		io_read(&c->io, 0);
		client_timer_stop(c);
		return;
	}
	client_touch(c);
}

/* RFC 9110 §9.2.2: the methods a retry cannot change the effect of. */
static int
method_idempotent(int m)
{
	return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_PUT ||
	    m == HTTP_DELETE || m == HTTP_OPTIONS || m == HTTP_TRACE;
}

/* RFC 9110 §10.1.1: the proxy answers 100-continue itself, before it
 * reads the body (a client may wait for it) */
static void
request_continue(struct client *c)
{
	static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const struct framing_request *r = framing_request(c->fr);

	if (r->expect_continue && r->http_minor == 1) {
		evbuffer_add(c->io.out, continue_100, sizeof(continue_100) - 1);
		io_flush(&c->io);
	}
}

/* The request is ready to go: take an upstream connection and relay it
 * (its body from the client as it comes, or from the spool). */
static void
request_relay(struct client *c)
{
	const struct framing_request *r = framing_request(c->fr);
	struct upstream_request ur;

	ur.head_request = r->head_method;
	ur.client_minor = r->http_minor;
	ur.idempotent = method_idempotent(r->method);
	/* a body forwarded chunked goes as it was received: the spool's */
	ur.body_len = r->chunked_forward ? c->spool.len :
	    r->has_body ? r->content_length : 0;
	ur.close_after = r->close_upstream;
	c->up = upstream_start(c->wg, &client_upstream_cbs, c, &ur);
	if (c->up == NULL) {
		client_reply(c, REASON_UPSTREAM_UNREACHABLE);
		return;
	}
	if (!c->req.buffered) {
		request_continue(c);
		/* a large body streamed: read it, and what this client
		 * sends next, in large reads (as the upstream side reads a
		 * large response); an idle connection keeps no buffer */
		if (framing_body_left(c->fr) > IO_READ_SIZE)
			c->io.read_size = IO_READ_SIZE_LARGE;
	}
	client_set_state(c, CS_BODY);
	request_body(c);
}

/* A chunked body's payload, decoded by the core: into the spool. */
static void
request_sink(void *arg, const char *data, size_t len)
{
	struct client *c = arg;

	if (spool_add(&c->spool, data, len) != 0)
		c->req.spool_failed = 1;
}

/*
 * CS_SPOOL: take what the client sent of the body into the spool (a
 * chunked body through the core's decoder); once the body is whole, the
 * request goes upstream. May free the client.
 */
void
request_spool(struct client *c)
{
	struct evbuffer *in = c->io.in;
	struct evbuffer_iovec v;
	struct framing_step s;
	uint64_t left;
	size_t n;

	while ((left = framing_body_left(c->fr)) > 0) {
		if (!framing_request(c->fr)->chunked) {
			if ((n = evbuffer_get_length(in)) == 0)
				break;
			if ((uint64_t)n > left)
				n = (size_t)left;
			if (spool_add_buffer(&c->spool, in, n) != 0) {
				client_reply(c, REASON_BODY_BUFFER_FAILED);
				return;
			}
			framing_body_done(c->fr, n);
			continue;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		s = framing_feed(c->fr, v.iov_base, v.iov_len);
		/* a body forwarded chunked is kept as it came, its payload
		 * only counted by the decoder */
		if (s.verdict == FRAMING_BODY &&
		    framing_request(c->fr)->chunked_forward) {
			if (spool_add_buffer(&c->spool, in, s.consumed) != 0)
				c->req.spool_failed = 1;
		} else {
			evbuffer_drain(in, s.consumed);
		}
		if (c->req.spool_failed) {
			client_reply(c, REASON_BODY_BUFFER_FAILED);
			return;
		}
		if (s.verdict == FRAMING_REJECT) {
			/* invalid chunk syntax (400), over max_buffered_body
			 * (413): the rest of the stream is in doubt */
			client_reply(c, framing_refusal(c->fr));
			return;
		}
		if (s.consumed == 0)
			break;
	}
	io_consumed(&c->io);
	if (framing_body_left(c->fr) > 0) {
		client_touch(c);
		return;
	}
	request_relay(c);
}

/* The core approved a head: start its relay, or receive its body first. */
void
request_start(struct client *c)
{
	const struct framing_request *r = framing_request(c->fr);
	const struct conf *cf = &c->wg->gen->conf;

	c->req.head_request = r->head_method != 0;
	c->req.http_minor = r->http_minor;
	c->req.keep_alive = r->keep_alive != 0;
	c->req.would_refuse = r->would_refuse;
	if (r->would_refuse != REASON_NONE)
		metrics_add(&c->w->m.would_refuse[r->would_refuse], 1);
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
	/* a chunked body is always received whole: its Content-Length is
	 * known only at its end, and one forwarded chunked (monitor mode)
	 * reaches the upstream only once it is known whole and valid; with
	 * request_buffering, any body is */
	if (r->chunked || (cf->request_buffering && r->has_body &&
	    r->content_length > 0)) {
		if (spool_open(&c->spool, c->w, cf,
		    r->chunked ? 0 : r->content_length) != 0) {
			client_reply(c, REASON_BODY_BUFFER_FAILED);
			return;
		}
		c->req.buffered = 1;
		if (r->chunked && !r->chunked_forward)
			framing_body_sink(c->fr, request_sink, c);
		request_continue(c);
		client_set_state(c, CS_SPOOL);
		request_spool(c);
		return;
	}
	request_relay(c);
}

