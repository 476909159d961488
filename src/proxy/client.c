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
 * CS_LINGER frees at once, without CS_DRAIN, when nothing more can come
 * from the client (client_linger_flushed). What each state does on a
 * timeout and on the client's EOF is in one table, cstates[] below. The core (framing.h) decides on every request;
 * request.c keeps the request's record and relays an approved one
 * upstream; this file moves client bytes and runs the connection.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "chunked.h"
#include "client_int.h"
#include "io.h"
#include "log.h"
#include "pages.h"
#include "reason.h"
#include "upstream.h"

/* The timer of a state: which timeout of the conf it runs for. */
enum ctimer {
	CT_KEEPALIVE = 0,
	CT_HEADER,
	CT_BODY,
	CT_RESPONSE,
	CT_FLUSH,	/* linger + FLUSH_EXTRA_MS to send what is queued */
	CT_LINGER,
	CT_DISCARD,	/* DISCARD_MS */
};
#define FLUSH_EXTRA_MS	5000

/*
 * The 411 of a chunked request keeps the connection (for the client's
 * retry with a Content-Length) when its body is small and comes at once:
 * at most DISCARD_MAX bytes on the wire (so its payload too), all within
 * DISCARD_MS of the head. Otherwise the 411 goes out then and the
 * connection closes, as it always did. docs/framing.md.
 */
#define DISCARD_MAX	(64 * 1024)
#define DISCARD_MS	1000

/* What a state does with the client's EOF. */
enum ceof {
	EOF_CLOSE = 0,	/* nothing asked: close quietly */
	EOF_HEAD,	/* a head cut short: answer it (400), close */
	EOF_BODY,	/* the rest of the body is here: as EOF_HALF; else the
			   client went away (499) */
	EOF_HALF,	/* a half-close: answer what was asked, then close */
	EOF_FREE,	/* lingering is over */
	EOF_REFUSE,	/* answer the refusal under way (the state's
			   on_timeout), then close */
};

static const struct cstate_info {
	const char *name;
	enum ctimer timer;
	enum reason on_timeout;		/* REASON_NONE: close quietly */
	enum ceof on_eof;
} cstates[] = {
	[CS_IDLE]     = { "idle", CT_KEEPALIVE, REASON_NONE, EOF_CLOSE },
	[CS_HEAD]     = { "head", CT_HEADER, REASON_CLIENT_HEAD_TIMEOUT, EOF_HEAD },
	/* the whole body within client_body_total, no pause over
	 * client_body; a client that leaves never reaches the upstream */
	[CS_SPOOL]    = { "spool", CT_BODY, REASON_CLIENT_BODY_TIMEOUT, EOF_BODY },
	[CS_DISCARD]  = { "discard", CT_DISCARD, REASON_CHUNKED, EOF_REFUSE },
	[CS_BODY]     = { "body", CT_BODY, REASON_CLIENT_BODY_TIMEOUT, EOF_BODY },
	[CS_WAIT]     = { "wait", CT_RESPONSE, REASON_UPSTREAM_RESPONSE_TIMEOUT,
			  EOF_HALF },
	[CS_RESPONSE] = { "response", CT_RESPONSE,
			  REASON_UPSTREAM_RESPONSE_TIMEOUT, EOF_HALF },
	[CS_LINGER]   = { "linger", CT_FLUSH, REASON_NONE, EOF_HALF },
	[CS_DRAIN]    = { "drain", CT_LINGER, REASON_NONE, EOF_FREE },
};

static void client_free(struct client *);

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
	case CT_DISCARD:
		return DISCARD_MS;
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
void
client_touch(struct client *c)
{
	unsigned ms = ctimer_ms(&c->wg->gen->conf, cstates[c->state].timer);

	if ((c->state == CS_BODY || c->state == CS_SPOOL) &&
	    c->req.body_end.tv_sec != 0) {
		unsigned left = ms_until(&c->req.body_end);

		if (left < ms)
			ms = left;
	}
	c->due = worker_now_ms() + ms;
	/* a pending event that fires no later is left alone and re-arms for
	 * the rest (client_timeout): an event_add a request, not a state */
	if (c->armed != 0 && c->armed <= c->due)
		return;
	worker_timer(c->timer, ms);
	c->armed = c->due;
}

/* No timer runs for the client (another side's does); the pending event,
 * if any, lapses. */
void
client_timer_stop(struct client *c)
{
	c->due = 0;
}

void
client_set_state(struct client *c, enum cstate s)
{
	c->state = s;
	client_touch(c);
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

void
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
void
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

/* Queue `len` bytes of the pages' at p, referenced (the pages kept alive
 * until sent). */
static void
client_add_page(struct evbuffer *out, struct pages *ps, const void *p,
    size_t len)
{
	pages_ref(ps);
	evbuffer_add_reference(out, p, len, pages_cleanup, ps);
}

/*
 * Queue the prebuilt page of `why` and log the request. keep: without its
 * Connection: close line (the connection goes on). 0, or -1 when keep
 * was asked of a page without that line (then nothing was queued).
 */
static int
client_reply_page(struct client *c, enum reason why, int keep)
{
	static const char conn_close[] = "\r\nConnection: close\r\n";
	int status = reason_status(why);
	struct worker *w = c->w;
	struct pages *ps = c->wg->gen->pages;
	struct evbuffer *out = c->io.out;
	struct iovec iov[PAGES_REPLY_IOVS];
	int json = c->fr ? framing_wants_json(c->fr) : 0;
	size_t bytes;
	const char *h, *cl = NULL;

	bytes = pages_reply_iov(pages_reply(ps, status, json),
	    httpdate_line(&w->date, time(NULL)), HTTPDATE_LINE_LEN,
	    client_head_request(c), iov);
	h = iov[0].iov_base;
	if (keep && (cl = memmem(h, iov[0].iov_len, conn_close,
	    sizeof(conn_close) - 1)) == NULL)
		return -1;
	if (!c->req.active)
		request_begin(c);	/* a reply always belongs to a request */
	c->req.bytes_out = bytes;
	/* the page bytes are shared; the Date line is the worker's and is
	 * copied */
	if (cl == NULL) {
		client_add_page(out, ps, h, iov[0].iov_len);
	} else {
		/* up to the line's CRLF, then what follows the line */
		client_add_page(out, ps, h, (size_t)(cl - h) + 2);
		cl += sizeof(conn_close) - 1;
		client_add_page(out, ps, cl, iov[0].iov_len - (size_t)(cl - h));
	}
	evbuffer_add(out, iov[1].iov_base, iov[1].iov_len);
	client_add_page(out, ps, iov[2].iov_base, iov[2].iov_len);
	request_finalize(c, status, why);
	return 0;
}

/*
 * Answer with a prebuilt page and close gracefully. Every HTTP error goes
 * through here (relayd's relay_abort_http).
 */
void
client_reply(struct client *c, enum reason why)
{
	client_reply_page(c, why, 0);
	client_close_flushed(c);	/* the rest of the stream is in doubt */
}

/*
 * CS_DISCARD: read the refused chunked body and throw it away. Once it
 * ended, the 411 goes out and the connection waits for the next request;
 * an invalid body, one over DISCARD_MAX, or one with bytes right behind it
 * gets the 411 and the close: those bytes were sent without knowing the
 * 411, and after a refusal no pipelined request is read (docs/framing.md).
 */
static void
client_discard(struct client *c)
{
	struct evbuffer *in = c->io.in;
	struct evbuffer_iovec v;
	struct framing_step s;

	while (framing_body_left(c->fr) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			io_consumed(&c->io);
			return;		/* the timer runs: DISCARD_MS */
		}
		s = framing_feed(c->fr, v.iov_base, v.iov_len);
		evbuffer_drain(in, s.consumed);
		c->discarded += s.consumed;
		if (s.verdict == FRAMING_REJECT || c->discarded > DISCARD_MAX) {
			client_reply(c, REASON_CHUNKED);
			return;
		}
	}
	io_consumed(&c->io);
	if (evbuffer_get_length(in) > 0 ||
	    client_reply_page(c, REASON_CHUNKED, 1) != 0) {
		client_reply(c, REASON_CHUNKED);
		return;
	}
	io_flush(&c->io);
	/* as after a response (request.c: cb_end) */
	client_set_state(c, CS_IDLE);
	if (evbuffer_get_length(c->io.out) > HIGH_WATER)
		c->input_held = 1;
	client_take_gen(c);
	if (!c->eof)
		client_framing_put(c);	/* idle: its input is empty */
	else
		client_input(c);	/* the end */
}

/* A chunked request refused by the policy (411): discard its body and
 * keep the connection, when the core allows. 0 when under way. */
static int
client_discard_start(struct client *c)
{
	if (framing_discard_body(c->fr, DISCARD_MAX) != 0)
		return -1;
	c->discarded = 0;
	client_set_state(c, CS_DISCARD);
	client_discard(c);
	return 0;
}

/*
 * After the 411 of a chunked request the core would not discard: was the
 * request read whole, and will its client send nothing after it? Then the
 * close needs no lingering (client_linger_flushed).
 *
 * Only when the client allows no other request ("Connection: close", or
 * HTTP/1.0 without keep-alive: RFC 9112 §9.3; such a client sends nothing
 * after it, §9.6): framing_client_closes(). A keep-alive client whose 411
 * is not discarded (it asked for 100-continue) may still send its body or
 * a next request: it keeps the lingering close. The body is the bytes
 * already read behind the head: whole when
 * the decoder (RFC 9112 §7.1) finds its end exactly where they end (they
 * are then dropped, as the lingering close would). Less (the rest still
 * coming), an invalid body, or any byte behind its end (sent without
 * knowing the 411) leaves the lingering close to protect the reply.
 */
static int
client_chunked_read_whole(struct client *c)
{
	static const struct chunked_limits lim = { UINT64_MAX };
	struct evbuffer_iovec v[4];
	struct chunked_step s = { CHUNKED_MORE, 0 };
	struct chunked ck;
	int i, n;

	if (!framing_client_closes(c->fr))
		return 0;
	n = evbuffer_peek(c->io.in, -1, NULL, v, 4);
	if (n < 1 || n > 4)
		return 0;	/* none of it yet, or too scattered to look */
	chunked_init(&ck, &lim);
	for (i = 0; i < n; i++) {
		s = chunked_feed(&ck, v[i].iov_base, v[i].iov_len, NULL, NULL);
		if (s.verdict != CHUNKED_MORE)
			break;
	}
	if (s.verdict != CHUNKED_DONE || i != n - 1 ||
	    s.consumed != v[i].iov_len)
		return 0;
	evbuffer_drain(c->io.in, evbuffer_get_length(c->io.in));
	return 1;
}

/*
 * Output flushed in CS_LINGER: shut down our side, then drain until EOF.
 * No lingering when nothing more can come (RFC 9112 §9.6: lingering is for
 * bytes the client may still send, which would turn our close into a reset
 * destroying the reply): the client closed its side, or its request was read
 * whole and it may send nothing after it (read_whole: the client asked to
 * close, RFC 9112 §9.3; set after its response in request.c, after a 411
 * in client_chunked_read_whole), with no byte beyond it read since. Then
 * the close is plain, as nginx's lingering_close "on" does when the
 * request was read whole and nothing else is buffered.
 */
static void
client_linger_flushed(struct client *c)
{
	if (c->eof || (c->read_whole && evbuffer_get_length(c->io.in) == 0)) {
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
void
client_close_flushed(struct client *c)
{
	if (c->up) {
		upstream_abort(c->up);
		c->up = NULL;
	}
	/* its timer only if the flush has to wait: a reply the kernel takes
	 * at once goes on to the close (or to CS_DRAIN and its timer) now */
	c->state = CS_LINGER;
	/* every write tells (IO_DRAINED): a client that reads slowly but
	 * steadily gets all of it, the flush timer restarting each time */
	c->io.low_water = SIZE_MAX;
	c->io.read_max = 0;	/* read and discard whatever comes */
	io_read(&c->io, 1);
	io_flush(&c->io);
	if (evbuffer_get_length(c->io.out) == 0)
		client_linger_flushed(c);
	else
		client_touch(c);
}

/* The request ended without a response of its own: reply, or close when
 * response bytes went out already. */
void
client_fail(struct client *c, enum reason why)
{
	if (!c->req.responded) {
		client_reply(c, why);
		return;
	}
	request_finalize(c, reason_status(why), why);
	client_close_flushed(c);	/* what was relayed, then the close */
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
	request_gone(c);
	client_close_flushed(c);
}

/* Feed buffered client bytes to the core until it has something to say. */
void
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
			if (framing_refusal(c->fr) == REASON_CHUNKED) {
				if (client_discard_start(c) == 0)
					return;
				c->read_whole = client_chunked_read_whole(c);
			}
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
	case CS_SPOOL:
		request_spool(c);
		break;
	case CS_DISCARD:
		client_discard(c);
		break;
	case CS_BODY:
		request_body(c);
		break;
	case CS_WAIT:
	case CS_RESPONSE:
		/* a pipelined request waits; read_max bounds it */
		break;
	case CS_LINGER:
	case CS_DRAIN:
		c->read_whole = 0;	/* it sends more after all: linger */
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
			request_gone(c);
			client_free(c);
			return;
		}
		break;
	case EOF_HALF:
		break;
	case EOF_FREE:
		client_free(c);
		return;
	case EOF_REFUSE:
		client_reply(c, cstates[c->state].on_timeout);
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
		request_gone(c);
		client_free(c);
		break;
	}
}

static void
client_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	const struct cstate_info *st = &cstates[c->state];
	uint64_t now;

	(void)fd;
	(void)what;
	c->armed = 0;
	if (c->due == 0)
		return;
	if ((now = worker_now_ms()) < c->due) {
		worker_timer(c->timer, (unsigned)(c->due - now));
		c->armed = c->due;
		return;
	}
	if (st->on_timeout == REASON_NONE) {
		client_free(c);
		return;
	}
	/* the upstream waits on the client's output: the client is slow */
	if (c->upstream_paused) {
		client_fail(c, REASON_CLIENT_SEND_TIMEOUT);
		return;
	}
	client_fail(c, st->on_timeout);
}

static void
client_free(struct client *c)
{
	struct worker *w = c->w;

	request_gone(c);
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
	metrics_add(&w->m.client_opened, 1);
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
	c->io.count_in = &w->m.client_in;
	c->io.count_out = &w->m.client_out;
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
	c->due = c->armed = worker_now_ms() + cf->client_header_timeout;
	/* its first bytes are in (the listener defers accepting until they
	 * are: worker.c): read them in this round of the loop, not after
	 * the next wait */
	event_active(c->io.rev, EV_READ, 0);
}
