/*
 * worker.c - one event loop per thread: its own SO_REUSEPORT listeners,
 * client connections, and upstream keep-alive pools. Nothing on the request
 * path is shared between workers.
 *
 * A client connection goes through these states:
 *
 *   C_IDLE ──bytes──> C_HEAD ──approved──> C_BODY ──body sent──> C_RESPONSE
 *     ^                  │ refused                                   │
 *     │                  v                                           │
 *     │     C_LINGER (reply flushing) -> C_DRAIN (shut down, read    │
 *     │                                   until EOF or linger, free) │
 *     └──────────────── response complete, keep-alive ───────────────┘
 *
 * The core (framing.h, response.h) decides; this file moves bytes, through
 * io.c (sockets with evbuffers). Body bytes go from one side's input to
 * the other's output with evbuffer_remove_buffer, never copied; each side
 * stops reading when the other's output is above a high-water mark
 * (le-proxy style backpressure). A request body waits for the upstream
 * connection, so a failed connect can be retried with nothing lost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "framing.h"
#include "httpdate.h"
#include "io.h"
#include "log.h"
#include "pages.h"
#include "proxy.h"
#include "response.h"

#define HIGH_WATER	(256 * 1024)	/* stop reading the other side above */
#define LOW_WATER	(64 * 1024)	/* ...and resume below */
#define MAX_WORKERS	64
#define FRAMING_POOL	256		/* idle inspectors kept per worker */

enum cstate {
	C_IDLE = 0,	/* between requests (keep-alive) */
	C_HEAD,		/* reading a request head */
	C_BODY,		/* forwarding a request body */
	C_RESPONSE,	/* waiting for / streaming the response */
	C_LINGER,	/* replied; flushing before closing */
	C_DRAIN,	/* our side shut down; reading until EOF (lingering) */
};

struct wgen;
struct client;

struct upconn {
	struct wgen *wg;
	int idx;			/* upstream index in the gen */
	struct io io;
	struct response *resp;
	struct client *c;		/* NULL while idle in the pool */
	struct event *timer;		/* idle expiry while pooled */
	int connected;
	TAILQ_ENTRY(upconn) entry;
};
TAILQ_HEAD(upconn_list, upconn);

/* A worker's view of one configuration generation. */
struct wgen {
	struct gen *gen;
	struct worker *w;
	int refs;			/* clients and upconns using it */
	unsigned rr;			/* round robin */
	struct upconn_list idle[CONF_MAX_ADDRS];
	unsigned nidle[CONF_MAX_ADDRS];
};

struct client {
	struct worker *w;
	struct wgen *wg;
	struct io io;
	struct framing *fr;
	struct upconn *up;
	struct event *timer;
	enum cstate state;
	int tries;			/* upstream connection attempts */
	int keep_alive;
	int status;			/* for the access log */
	int head_request;
	int http_minor;
	int upstream_paused;		/* upstream reading off: client output full */
	int input_held;			/* next request waits: client output full */
	const char *reason;
	uint64_t body_bytes;		/* response body bytes sent */
	struct timespec t_start, t_up;
	char addr[INET6_ADDRSTRLEN];
	int log_pending;		/* a request or reply not logged yet */
	TAILQ_ENTRY(client) entry;
};
TAILQ_HEAD(client_list, client);

struct worker {
	int id;
	pthread_t thread;
	struct event_base *base;
	struct evconnlistener *listeners[CONF_MAX_ADDRS];
	int nlisteners;
	struct wgen *cur;
	struct client_list clients;
	unsigned nconns;
	int accept_paused;
	int stopping, done;
	struct event *stop_ev, *reload_ev;
	pthread_mutex_t reload_lock;
	struct gen *pending;		/* handed over by workers_reload */
	struct httpdate date;
	time_t log_when;
	char log_time[40];
	struct log_buf alog;
	struct framing *fr_pool[FRAMING_POOL];	/* inspectors not in use */
	int nfr_pool;
	char scratch[FRAMING_MAX_HEAD + 4096];	/* heads are written here */
	int start_status;		/* 0 ok, -1 failed to bind */
	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	int started;
};

static struct worker *workers[MAX_WORKERS];
static int nworkers;

static void client_free(struct client *);
static void client_input(struct client *);
static void client_reply(struct client *, int status, const char *reason);
static void client_close_flushed(struct client *);
static void upconn_free(struct upconn *);
static void upstream_read(struct upconn *);
static void upstream_cb(struct io *, int, void *);
static void request_done(struct client *);

/* ------------------------------------------------------------ gens */

static struct wgen *
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

static void
wgen_unref(struct wgen *wg)
{
	if (--wg->refs > 0)
		return;
	gen_unref(wg->gen);
	free(wg);
}

/* Close the pooled connections of a generation that is being replaced. */
static void
wgen_drain(struct wgen *wg)
{
	struct upconn *u;
	int i;

	for (i = 0; i < CONF_MAX_ADDRS; i++)
		while ((u = TAILQ_FIRST(&wg->idle[i])) != NULL)
			upconn_free(u);
}

/* ------------------------------------------------------------- logs */

static double
since(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) +
	    (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

/* Append s[0..n) to out, escaping what a log line must not carry. */
static size_t
log_escape(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < n && o + 4 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return o;
}

/* The "%r" of the access log, or "-" when the request line is unknown. */
static void
log_reqline(const struct client *c, char *out, size_t cap)
{
	const struct framing_request *r = c->fr ? framing_request(c->fr) : NULL;
	size_t o;

	if (r == NULL || r->method_name == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	o = log_escape(out, cap - 12, r->method_name, strlen(r->method_name));
	out[o++] = ' ';
	o += log_escape(out + o, cap - 12 - o, r->target, r->target_len);
	snprintf(out + o, cap - o, " HTTP/1.%d", r->http_minor);
}

/* Combined Log Format, then request time, upstream time and the verdict. */
static void
client_log(struct client *c)
{
	struct worker *w = c->w;
	char line[2048], ref[256] = "-", ua[512] = "-", reqline[512];
	const char *v;
	size_t vlen;
	struct timespec now;
	struct tm tm;
	int n;

	if (!log_access_enabled() || !c->log_pending)
		return;
	c->log_pending = 0;
	log_reqline(c, reqline, sizeof(reqline));
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (w->log_when != time(NULL)) {
		w->log_when = time(NULL);
		localtime_r(&w->log_when, &tm);
		strftime(w->log_time, sizeof(w->log_time),
		    "%d/%b/%Y:%H:%M:%S %z", &tm);
	}
	if (c->fr && (v = framing_field(c->fr, "referer", &vlen)) != NULL)
		log_escape(ref, sizeof(ref), v, vlen);
	if (c->fr && (v = framing_field(c->fr, "user-agent", &vlen)) != NULL)
		log_escape(ua, sizeof(ua), v, vlen);
	n = snprintf(line, sizeof(line),
	    "%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\" rt=%.3f urt=",
	    c->addr, w->log_time, reqline, c->status,
	    (unsigned long long)c->body_bytes, ref, ua, since(&c->t_start, &now));
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if (c->t_up.tv_sec != 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%.3f",
		    since(&c->t_up, &now));
	else
		n += snprintf(line + n, sizeof(line) - (size_t)n, "-");
	if ((size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
		    " verdict=\"%s\"\n", c->reason ? c->reason : "forwarded");
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	log_access_add(&w->alog, line, (size_t)n);
}

/*
 * An idle keep-alive connection holds no inspector (its arena is the
 * largest thing a connection has): one is taken from the worker's pool
 * when bytes arrive and given back when the connection is idle again.
 */
static int
client_framing_get(struct client *c)
{
	struct worker *w = c->w;
	const struct framing_policy *pol = &c->wg->gen->conf.policy;

	if (c->fr != NULL)
		return 0;
	while (w->nfr_pool > 0) {
		c->fr = w->fr_pool[--w->nfr_pool];
		if (framing_fits(c->fr, pol)) {
			framing_set_policy(c->fr, pol);
			return 0;
		}
		framing_free(c->fr);	/* sized for an older conf */
		c->fr = NULL;
	}
	c->fr = framing_new(pol);
	return c->fr ? 0 : -1;
}

static void
client_framing_put(struct client *c)
{
	struct worker *w = c->w;

	if (c->fr == NULL)
		return;
	if (w->nfr_pool < FRAMING_POOL) {
		framing_reset(c->fr);
		w->fr_pool[w->nfr_pool++] = c->fr;
	} else {
		framing_free(c->fr);
	}
	c->fr = NULL;
}

/* ---------------------------------------------------------- timers */

static void
timer_arm(struct event *ev, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

/* ------------------------------------------------------- upstreams */

static void
upconn_free(struct upconn *u)
{
	if (u->c == NULL) {
		struct upconn *it;

		TAILQ_FOREACH(it, &u->wg->idle[u->idx], entry)
			if (it == u) {
				TAILQ_REMOVE(&u->wg->idle[u->idx], u, entry);
				u->wg->nidle[u->idx]--;
				break;
			}
	} else {
		u->c->up = NULL;
	}
	if (u->timer)
		event_free(u->timer);
	io_close(&u->io);
	response_free(u->resp);
	wgen_unref(u->wg);
	free(u);
}

/* A pooled connection heard something: the upstream closed it (or sent
 * bytes nobody asked for). Either way it cannot be used. */
static void
upconn_idle_cb(struct io *io, int event, void *arg)
{
	(void)io;
	(void)event;
	upconn_free(arg);
}

static void
upconn_idle_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upconn_free(arg);
}

/* Put a connection whose last exchange ended cleanly back in the pool. */
static void
upconn_release(struct upconn *u)
{
	struct wgen *wg = u->wg;
	struct worker *w = wg->w;

	if (u->c)
		u->c->up = NULL;
	u->c = NULL;
	if (w->stopping || wg != w->cur ||
	    wg->nidle[u->idx] >= wg->gen->conf.upstream_pool_size ||
	    evbuffer_get_length(u->io.in) > 0 || u->io.failed || u->io.eof) {
		upconn_free(u);
		return;
	}
	u->io.cb = upconn_idle_cb;
	u->io.arg = u;
	io_read(&u->io, 1);
	TAILQ_INSERT_HEAD(&wg->idle[u->idx], u, entry);
	wg->nidle[u->idx]++;
	timer_arm(u->timer, wg->gen->conf.upstream_keepalive_timeout);
}


/* A connection to upstream `idx`: from the pool, or a new one. */
static struct upconn *
upconn_get(struct client *c, int idx, int *fresh)
{
	struct wgen *wg = c->wg;
	const struct conf *cf = &wg->gen->conf;
	struct upconn *u;

	if ((u = TAILQ_FIRST(&wg->idle[idx])) != NULL) {
		TAILQ_REMOVE(&wg->idle[idx], u, entry);
		wg->nidle[idx]--;
		event_del(u->timer);
		*fresh = 0;
	} else {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return NULL;
		u->wg = wg;
		wg->refs++;
		u->idx = idx;
		u->resp = response_new(cf->policy.max_head_size > 65536 ?
		    cf->policy.max_head_size : 65536);
		u->io.fd = -1;
		u->timer = evtimer_new(c->w->base, upconn_idle_timeout, u);
		if (u->resp == NULL || u->timer == NULL ||
		    io_connect(&u->io, c->w->base,
		    (struct sockaddr *)&wg->gen->upstream[idx],
		    wg->gen->upstream_len[idx], upstream_cb, u) != 0) {
			upconn_free(u);
			return NULL;
		}
		u->io.low_water = LOW_WATER;
		*fresh = 1;
	}
	u->c = c;
	c->up = u;
	u->io.cb = upstream_cb;
	u->io.arg = u;
	io_read(&u->io, 1);
	return u;
}

/* ---------------------------------------------------------- replies */

static void
pages_cleanup(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	pages_unref(arg);
}

/*
 * Send a prebuilt page and close gracefully. Every HTTP error goes
 * through here (relayd's relay_abort_http).
 */
static void
client_reply(struct client *c, int status, const char *reason)
{
	struct worker *w = c->w;
	struct pages *ps = c->wg->gen->pages;
	struct evbuffer *out = c->io.out;
	const struct page_reply *r;
	int json = c->fr ? framing_wants_json(c->fr) : 0;

	r = pages_reply(ps, status, json);
	pages_ref(ps);
	evbuffer_add_reference(out, r->head, r->head_len, pages_cleanup, ps);
	evbuffer_add(out, httpdate_line(&w->date, time(NULL)), HTTPDATE_LINE_LEN);
	pages_ref(ps);
	evbuffer_add_reference(out, r->tail, c->head_request ? 2 : r->tail_len,
	    pages_cleanup, ps);
	c->status = status;
	c->reason = reason;
	c->body_bytes = c->head_request ? 0 : r->body_len;
	c->log_pending = 1;
	client_log(c);
	client_close_flushed(c);	/* an upstream's framing is in doubt */
}

/* Output flushed in C_LINGER: shut down our side, then drain until EOF. */
static void
client_linger_flushed(struct client *c)
{
	io_shutdown_write(&c->io);
	timer_arm(c->timer, c->wg->gen->conf.linger_timeout);
	c->state = C_DRAIN;
}

/*
 * Close once what is queued for the client has been sent: flush, shut down
 * our side, then drain what the client still sends (lingering close), so it
 * reads our last bytes rather than a reset.
 */
static void
client_close_flushed(struct client *c)
{
	if (c->up)
		upconn_free(c->up);
	c->state = C_LINGER;
	c->io.low_water = 0;
	c->io.read_max = 0;	/* read and discard whatever comes */
	io_read(&c->io, 1);
	io_flush(&c->io);
	if (evbuffer_get_length(c->io.out) == 0)
		client_linger_flushed(c);
	else
		timer_arm(c->timer, c->wg->gen->conf.linger_timeout + 5000);
}

/*
 * Move n bytes from one evbuffer to another. Large runs move whole chains
 * (no copy); small ones are copied, because a moved chain keeps its whole
 * capacity: a 64 KiB read chain holding a 200-byte response would sit in
 * the client's output as 64 KiB.
 */
#define MOVE_MIN (16 * 1024)

static void
move_bytes(struct evbuffer *from, struct evbuffer *to, size_t n)
{
	struct evbuffer_iovec v[4];
	size_t left = n;
	int i, nv;

	if (n >= MOVE_MIN) {
		evbuffer_remove_buffer(from, to, n);
		return;
	}
	nv = evbuffer_peek(from, (ev_ssize_t)n, NULL, v, 4);
	for (i = 0; i < nv && i < 4 && left > 0; i++) {
		size_t part = v[i].iov_len < left ? v[i].iov_len : left;

		evbuffer_add(to, v[i].iov_base, part);
		left -= part;
	}
	if (left > 0) {		/* more than four extents: let libevent do it */
		evbuffer_drain(from, n - left);
		evbuffer_remove_buffer(from, to, left);
		return;
	}
	evbuffer_drain(from, n);
}

/* -------------------------------------------------- request forwarding */

static void
client_body(struct client *c)
{
	struct evbuffer *in = c->io.in;
	struct evbuffer *up_out;
	uint64_t left;
	size_t n;

	if (c->up == NULL)
		return;
	if (!c->up->connected) {
		/* no body byte moves before the connection is up, so that a
		 * failed connect can be retried elsewhere with nothing lost */
		timer_arm(c->timer, c->wg->gen->conf.upstream_connect_timeout);
		return;
	}
	up_out = c->up->io.out;
	left = framing_body_left(c->fr);
	n = evbuffer_get_length(in);
	if ((uint64_t)n > left)
		n = (size_t)left;
	if (n > 0) {
		move_bytes(in, up_out, n);
		framing_body_done(c->fr, n);
		io_consumed(&c->io);
	}
	/* the head and what body there is go in one write */
	io_flush(&c->up->io);
	if (framing_body_left(c->fr) == 0) {
		c->state = C_RESPONSE;
		timer_arm(c->timer, c->wg->gen->conf.upstream_response_timeout);
	} else {
		timer_arm(c->timer, c->wg->gen->conf.client_body_timeout);
		if (evbuffer_get_length(up_out) > HIGH_WATER)
			io_read(&c->io, 0);	/* resumed on IO_DRAINED upstream */
	}
}

static void
response_sink_client(void *arg, const char *data, size_t len)
{
	struct client *c = arg;

	evbuffer_add(c->io.out, data, len);
	c->body_bytes += len;
}

/* Connect (or reuse) and send the approved head. */
static int
request_forward(struct client *c)
{
	struct gen *g = c->wg->gen;
	const struct framing_request *r = framing_request(c->fr);
	struct framing_peer peer;
	struct evbuffer *out;
	struct evbuffer_iovec v;
	int idx, fresh;
	long n;

	idx = (int)(c->wg->rr++ % (unsigned)g->conf.nupstream);
	peer.addr = c->addr;
	peer.proto = "http";
	peer.default_host = g->upstream_host[idx];
	if (upconn_get(c, idx, &fresh) == NULL)
		return -1;
	out = c->up->io.out;
	if (evbuffer_reserve_space(out, (ev_ssize_t)framing_head_size(c->fr, &peer),
	    &v, 1) < 1 ||
	    (n = framing_write_head(c->fr, &peer, v.iov_base, v.iov_len)) < 0) {
		upconn_free(c->up);
		return -1;
	}
	v.iov_len = (size_t)n;
	evbuffer_commit_space(out, &v, 1);	/* sent by client_body() */
	response_begin(c->up->resp, r->head_method, r->http_minor,
	    response_sink_client, c);
	clock_gettime(CLOCK_MONOTONIC, &c->t_up);
	c->up->connected = !c->up->io.connecting;
	(void)fresh;
	if (fresh)
		timer_arm(c->timer, g->conf.upstream_connect_timeout);
	return 0;
}

/* The core approved a head. */
static void
request_start(struct client *c)
{
	const struct framing_request *r = framing_request(c->fr);

	c->head_request = r->head_method;
	c->http_minor = r->http_minor;
	c->keep_alive = r->keep_alive;
	c->status = 0;
	c->reason = NULL;
	c->body_bytes = 0;
	c->tries = 0;
	c->t_up.tv_sec = 0;
	c->log_pending = 1;
	if (request_forward(c) != 0) {
		client_reply(c, 502, "cannot reach upstream");
		return;
	}
	/* RFC 9110 §10.1.1: the proxy answers 100-continue itself */
	if (r->expect_continue && r->http_minor == 1)
	{
		evbuffer_add(c->io.out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		io_flush(&c->io);
	}
	c->state = C_BODY;
	client_body(c);
}

/* Feed buffered client bytes to the core until it has something to say. */
static void
client_input(struct client *c)
{
	struct evbuffer *in = c->io.in;
	struct evbuffer_iovec v;
	struct framing_step s;

	while (c->state == C_IDLE || c->state == C_HEAD) {
		if (c->input_held ||
		    evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			return;
		if (client_framing_get(c) != 0) {
			client_free(c);
			return;
		}
		s = framing_feed(c->fr, v.iov_base, v.iov_len);
		evbuffer_drain(in, s.consumed);
		io_consumed(&c->io);
		switch (s.verdict) {
		case FRAMING_MORE:
			if (c->state == C_IDLE && !framing_idle(c->fr)) {
				/* slowloris: the whole head within the timeout */
				c->state = C_HEAD;
				clock_gettime(CLOCK_MONOTONIC, &c->t_start);
				timer_arm(c->timer,
				    c->wg->gen->conf.client_header_timeout);
			}
			break;
		case FRAMING_HEAD:
			if (c->state == C_IDLE)
				clock_gettime(CLOCK_MONOTONIC, &c->t_start);
			request_start(c);
			return;
		case FRAMING_REJECT:
			if (c->state == C_IDLE)
				clock_gettime(CLOCK_MONOTONIC, &c->t_start);
			client_reply(c, framing_status(c->fr), framing_reason(c->fr));
			return;
		case FRAMING_BODY:
		case FRAMING_CLOSED:
			client_free(c);
			return;
		}
	}
}

/* --------------------------------------------------- response relay */

static void
request_done(struct client *c)
{
	struct upconn *u = c->up;
	struct worker *w = c->w;
	int close;

	close = !c->keep_alive || response_client_close(u->resp) ||
	    framing_body_left(c->fr) > 0 || w->stopping || c->wg != w->cur;
	u->io.read_size = 16 * 1024;
	if (response_reusable(u->resp) && framing_body_left(c->fr) == 0)
		upconn_release(u);
	else
		upconn_free(u);
	client_log(c);
	if (close) {
		client_close_flushed(c);
		return;
	}
	c->state = C_IDLE;
	io_read(&c->io, 1);
	timer_arm(c->timer, c->wg->gen->conf.keepalive_timeout);
	/* a client that pipelines without reading gets no more answers
	 * queued until it reads: its requests wait in its socket */
	if (evbuffer_get_length(c->io.out) > HIGH_WATER)
		c->input_held = 1;
	if (evbuffer_get_length(c->io.in) == 0 && framing_idle(c->fr))
		client_framing_put(c);
	else
		client_input(c);	/* a pipelined request is waiting */
}

/* The response could not be completed: close, never a second response. */
static void
response_failed(struct client *c, const char *why, int status)
{
	if (c->up && !response_started(c->up->resp) && c->state != C_LINGER) {
		client_reply(c, status, why);
		return;
	}
	c->status = c->status ? c->status : status;
	c->reason = why;
	client_log(c);
	client_close_flushed(c);	/* what was relayed, then the close */
}

static void
upstream_read(struct upconn *u)
{
	struct client *c = u->c;
	struct evbuffer *in = u->io.in;
	struct evbuffer *out;
	struct evbuffer_iovec v;
	struct response_step s;
	long n;

	if (c == NULL) {
		upconn_free(u);
		return;
	}
	out = c->io.out;
	/* a read that filled its space means a large response: read more
	 * at a time (back to the default for the next response) */
	if (evbuffer_get_length(in) >= u->io.read_size)
		u->io.read_size = 64 * 1024;
	for (;;) {
		/* an empty feed still matters: a head without a body ends on
		 * the next step */
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
			v.iov_base = NULL;
			v.iov_len = 0;
		}
		s = response_feed(u->resp, v.iov_base, v.iov_len);
		switch (s.verdict) {
		case RESPONSE_MORE:
			evbuffer_drain(in, s.consumed);
			if (v.iov_len == 0)
				goto out;
			break;
		case RESPONSE_HEAD:
			evbuffer_drain(in, s.consumed);
			if (response_interim(u->resp) && c->http_minor == 0)
				break;	/* RFC 9110 §15.2: not to 1.0 clients */
			n = response_write_head(u->resp, !c->keep_alive ||
			    c->w->stopping, c->w->scratch, sizeof(c->w->scratch));
			if (n < 0) {
				response_failed(c, "response head too large", 502);
				return;
			}
			evbuffer_add(out, c->w->scratch, (size_t)n);
			if (!response_interim(u->resp)) {
				c->status = response_status(u->resp);
				if (c->state != C_BODY)
					timer_arm(c->timer, c->wg->gen->conf.
					    upstream_response_timeout);
			}
			break;
		case RESPONSE_BODY:
		case RESPONSE_END:
			if (response_passthrough(u->resp)) {
				move_bytes(in, out, s.consumed);
				c->body_bytes += s.consumed;
			} else {
				evbuffer_drain(in, s.consumed);
			}
			if (s.verdict == RESPONSE_END) {
				io_flush(&c->io);
				request_done(c);
				return;
			}
			break;
		case RESPONSE_ERROR:
			log_warn("upstream response error: %s",
			    response_error(u->resp));
			io_flush(&c->io);
			response_failed(c, response_error(u->resp), 502);
			return;
		}
	}
out:
	io_flush(&c->io);
	/* the response timeout is an idle timeout once the head is in */
	if (c->state == C_RESPONSE && response_started(u->resp))
		timer_arm(c->timer, c->wg->gen->conf.upstream_response_timeout);
	if (evbuffer_get_length(out) > HIGH_WATER) {
		io_read(&u->io, 0);	/* resumed on the client's IO_DRAINED */
		c->upstream_paused = 1;
	}
}

/* The upstream took the request body down to the low mark: read more. */
static void
upstream_drained(struct upconn *u)
{
	struct client *c = u->c;

	if (c != NULL && c->state == C_BODY) {
		timer_arm(c->timer, c->wg->gen->conf.client_body_timeout);
		io_read(&c->io, 1);
		client_body(c);
	}
}

static void
upstream_connected(struct upconn *u)
{
	struct client *c = u->c;

	u->connected = 1;
	if (c->state == C_BODY)
		client_body(c);	/* the body waited for the connection */
}

/* The upstream closed, or its socket failed. */
static void
upstream_gone(struct upconn *u, int event)
{
	struct client *c = u->c;

	if (!u->connected) {
		/* nothing reached the upstream: another try is safe */
		log_warn("upstream connect failed: %s", strerror(errno));
		upconn_free(u);
		if (++c->tries < c->wg->gen->conf.nupstream &&
		    request_forward(c) == 0) {
			client_body(c);
			return;
		}
		client_reply(c, 502, "upstream connect failed");
		return;
	}
	if (event == IO_EOF) {
		struct response_step s = response_eof(u->resp);

		if (s.verdict == RESPONSE_END) {
			io_flush(&c->io);
			request_done(c);
			return;
		}
	}
	response_failed(c, event == IO_EOF ? "upstream closed early" :
	    "upstream connection error", 502);
}

static void
upstream_cb(struct io *io, int event, void *arg)
{
	struct upconn *u = arg;

	(void)io;
	if (u->c == NULL) {
		upconn_free(u);
		return;
	}
	switch (event) {
	case IO_READ:
		upstream_read(u);
		break;
	case IO_DRAINED:
		upstream_drained(u);
		break;
	case IO_CONNECTED:
		upstream_connected(u);
		break;
	default:
		upstream_gone(u, event);
		break;
	}
}

/* ------------------------------------------------------ client events */

static void
client_read(struct client *c)
{
	struct evbuffer *in = c->io.in;

	switch (c->state) {
	case C_IDLE:
	case C_HEAD:
		client_input(c);
		break;
	case C_BODY:
		client_body(c);
		break;
	case C_RESPONSE:
		/* a pipelined request waits; read_max bounds it */
		break;
	default:
		evbuffer_drain(in, evbuffer_get_length(in));	/* lingering */
		io_consumed(&c->io);
		break;
	}
}

/* The client's output went down to the low mark (or empty). */
static void
client_drained(struct client *c)
{
	if (c->state == C_LINGER) {
		if (evbuffer_get_length(c->io.out) == 0)
			client_linger_flushed(c);
		return;
	}
	if (c->input_held && c->state == C_IDLE) {
		c->input_held = 0;	/* it read: the next request may go */
		client_input(c);
		return;
	}
	if (c->upstream_paused && c->up) {
		/* a slow reader is still a reader: the idle clock restarts */
		if (c->state == C_RESPONSE)
			timer_arm(c->timer,
			    c->wg->gen->conf.upstream_response_timeout);
		c->upstream_paused = 0;
		io_read(&c->up->io, 1);
		upstream_read(c->up);
	}
}

static void
client_gone(struct client *c, int event)
{
	if (event == IO_EOF && c->fr &&
	    (c->state == C_IDLE || c->state == C_HEAD))
		(void)framing_eof(c->fr);	/* nobody to answer */
	if (event == IO_EOF && c->state == C_RESPONSE) {
		/* half-close after a complete request: finish the response */
		io_read(&c->io, 0);
		c->keep_alive = 0;
		return;
	}
	if (c->state == C_BODY && c->up)
		c->reason = "client closed during the body";
	client_free(c);
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
	default:
		client_gone(c, event);
		break;
	}
}

static void
client_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case C_IDLE:
		client_free(c);
		break;
	case C_HEAD:
		client_reply(c, 408, "client head timeout");
		break;
	case C_BODY:
		if (c->up && !c->up->connected)
			response_failed(c, "upstream connect timeout", 504);
		else
			response_failed(c, "client body timeout", 408);
		break;
	case C_RESPONSE:
		if (c->up && !c->up->connected)
			response_failed(c, "upstream connect timeout", 504);
		else
			response_failed(c, "upstream response timeout", 504);
		break;
	default:
		client_free(c);
		break;
	}
}

static void
client_free(struct client *c)
{
	struct worker *w = c->w;
	int i;

	if (c->up)
		upconn_free(c->up);
	TAILQ_REMOVE(&w->clients, c, entry);
	if (c->timer)
		event_free(c->timer);
	io_close(&c->io);
	client_framing_put(c);
	wgen_unref(c->wg);
	free(c);
	w->nconns--;
	if (w->accept_paused && !w->stopping &&
	    w->nconns < w->cur->gen->conf.max_connections) {
		for (i = 0; i < w->nlisteners; i++)
			evconnlistener_enable(w->listeners[i]);
		w->accept_paused = 0;
	}
	if (w->stopping && w->nconns == 0)
		w->done = 1;
}

static void
client_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct worker *w = arg;
	struct wgen *wg = w->cur;
	const struct conf *cf = &wg->gen->conf;
	struct client *c;
	int i;
	size_t high;

	(void)l;
	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->w = w;
	c->wg = wg;
	wg->refs++;
	TAILQ_INSERT_TAIL(&w->clients, c, entry);
	w->nconns++;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
		    c->addr, sizeof(c->addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    c->addr, sizeof(c->addr));
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
	timer_arm(c->timer, cf->client_header_timeout);
	if (w->nconns >= cf->max_connections) {
		/* no busy loop on EMFILE: stop accepting until below */
		for (i = 0; i < w->nlisteners; i++)
			evconnlistener_disable(w->listeners[i]);
		w->accept_paused = 1;
	}
}

static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;
	int err = EVUTIL_SOCKET_ERROR(), i;

	(void)l;
	log_error("accept: %s", evutil_socket_error_to_string(err));
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* out of descriptors: pause accepting until a client ends */
		for (i = 0; i < w->nlisteners; i++)
			evconnlistener_disable(w->listeners[i]);
		w->accept_paused = 1;
		if (w->nconns == 0) {
			for (i = 0; i < w->nlisteners; i++)
				evconnlistener_enable(w->listeners[i]);
			w->accept_paused = 0;
		}
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
	struct client *c, *next;
	int i;

	(void)fd;
	(void)what;
	w->stopping = 1;
	for (i = 0; i < w->nlisteners; i++)
		evconnlistener_free(w->listeners[i]);
	w->nlisteners = 0;
	wgen_drain(w->cur);
	/* idle keep-alive connections go now; busy ones after their response */
	for (c = TAILQ_FIRST(&w->clients); c; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == C_IDLE)
			client_free(c);
	}
	if (w->nconns == 0)
		w->done = 1;
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
	wgen_drain(old);
	wgen_unref(old);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const struct conf *cf = &w->cur->gen->conf;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int i, status = 0, one = 1;

	for (i = 0; i < cf->nlisten; i++) {
		if (listen_addr(&cf->listen[i], &ss, &sslen) != 0) {
			log_error("cannot resolve listen %s", cf->listen[i].host);
			status = -1;
			break;
		}
		w->listeners[i] = evconnlistener_new_bind(w->base, client_accept, w,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT, 1024,
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
		log_access_flush(&w->alog);
	}
	log_access_flush(&w->alog);
	while (w->nfr_pool > 0)
		framing_free(w->fr_pool[--w->nfr_pool]);
	return NULL;
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
		w->base = event_base_new();
		w->cur = wgen_new(w, g);
		if (w->base == NULL || w->cur == NULL)
			return -1;
		w->stop_ev = event_new(w->base, -1, 0, worker_stop_cb, w);
		w->reload_ev = event_new(w->base, -1, 0, worker_reload_cb, w);
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
workers_stop(void)
{
	int i;

	for (i = 0; i < nworkers; i++)
		event_active(workers[i]->stop_ev, EV_TIMEOUT, 0);
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
