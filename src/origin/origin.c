/*
 * origin.c - lg-origin, lengthguard's demo origin: a tiny "legacy backend"
 * that understands only Content-Length request bodies.
 *
 *	lg-origin [-l host:port] [-v]		(default 127.0.0.1:8081)
 *
 * It prints "origin listening on HOST:PORT" once it accepts connections (a
 * port of 0 picks a free one and prints it). With -v it logs one line per
 * request, "origin: METHOD TARGET len=N conn=K" (N: its Content-Length, 0
 * without one; K numbers connections from 1), and one line per connection
 * opened and closed, so that tests can count requests and connections. "origin: CHUNKED-SEEN" is always logged: a
 * request carrying Transfer-Encoding gets a 500 and the connection closes,
 * as nothing chunked must ever reach a backend behind lengthguard.
 *
 * Replies (HTTP/1.1, keep-alive unless the client asks to close, pipelined
 * requests answered in order):
 *	GET/HEAD ...		200 "hello from the lengthguard demo origin\n"
 *	POST/PUT/PATCH/DELETE, or any request with a body
 *				200 "METHOD TARGET received N bytes fnv1a64=HEX\n"
 *				(the body is hashed as it arrives, never held)
 * Query parameters, for tests (any method, combinable):
 *	sleep=MS		answer after MS milliseconds (a timer)
 *	close=head		close after reading the request, without answering
 *	close=body		head with Content-Length: 1000, 10 body bytes, close
 *	chunked=1		chunked body (3 chunks)
 *	size=N			an N-byte body of 'a'..'z' repeated, streamed
 *	status=N		that status (1xx: sent as an interim response
 *				before a 200; 204, 304: no body)
 *	noclose-delimited=1	no Content-Length, no Transfer-Encoding: the body
 *				ends when the connection closes
 *
 * SIGTERM and SIGINT end it with status 0. It is a test tool: lenient where
 * lengthguard is strict (bare LF line ends are accepted, for instance).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define ORIGIN_DEFAULT_LISTEN	"127.0.0.1:8081"
#define ORIGIN_MAX_HEAD		(64 * 1024)
#define ORIGIN_READ_HIGH	(1024 * 1024)	/* stop reading above it */
#define ORIGIN_WRITE_LOW	(64 * 1024)	/* refill the output below it */
#define ORIGIN_WRITE_CHUNK	(256 * 1024)	/* bytes added per refill */

#define FNV1A64_OFFSET		0xcbf29ce484222325ull
#define FNV1A64_PRIME		0x100000001b3ull

static const char hello_body[] = "hello from the lengthguard demo origin\n";

enum conn_state {
	CONN_HEAD = 0,		/* waiting for a request head */
	CONN_BODY,		/* reading (hashing) a request body */
	CONN_SLEEP,		/* request read, answer timer running */
	CONN_SEND,		/* streaming a response body */
	CONN_CLOSING,		/* flush the output, then close */
};

/* Where a response body's bytes come from. */
struct body_src {
	const char *mem;	/* NULL: the 'a'..'z' pattern */
	uint64_t total;		/* body length (before chunked framing) */
	uint64_t sent;		/* body bytes queued so far */
	int	 chunked;	/* frame as 3 chunks */
	uint64_t chunk_end;	/* end of the chunk in progress (0: none open) */
	uint64_t limit;		/* stop queueing at this many (close=body) */
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct bufferevent *bev;
	struct event *timer;
	unsigned long serial;
	enum conn_state state;
	int	 peer_eof;	/* the client closed its side */

	/* the request in progress */
	char	 method[16];
	char	*target;	/* malloc'd */
	int	 minor;		/* HTTP/1.x */
	int	 keep_alive;
	int	 has_length;
	uint64_t content_length;
	uint64_t body_left;
	uint64_t hash;

	/* the response in progress */
	struct body_src src;
	char	 reply[512];	/* the hash line */
	int	 close_after;	/* close once the response is flushed */
};

static struct event_base *base;
static int verbose;
static unsigned long conn_serial;
static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);

static void conn_process(struct conn *);
static void conn_readcb(struct bufferevent *, void *);
static void conn_writecb(struct bufferevent *, void *);

static void
logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
logline(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static uint64_t
fnv1a64(uint64_t h, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV1A64_PRIME;
	}
	return h;
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 102: return "Processing";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Status";
	}
}

/* Free a connection and everything it owns. */
static void
conn_free(struct conn *c)
{
	if (verbose)
		logline("origin: close conn=%lu", c->serial);
	TAILQ_REMOVE(&conns, c, entry);
	if (c->timer != NULL)
		event_free(c->timer);
	bufferevent_free(c->bev);
	free(c->target);
	free(c);
}

/* Stop reading and close once the output has been written. */
static void
conn_close_after_flush(struct conn *c)
{
	c->state = CONN_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	/* the write callback runs when the output is empty */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* A one-off reply (errors, CHUNKED-SEEN), then close. */
static void
conn_fail(struct conn *c, int status, const char *msg)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    status, reason_phrase(status), strlen(msg), msg);
	conn_close_after_flush(c);
}

/*
 * Value of query parameter `key` in target, copied into val[0..cap) (empty
 * for "key" without "="). Returns 1 if present, 0 if not.
 */
static int
query_get(const char *target, const char *key, char *val, size_t cap)
{
	const char *q = strchr(target, '?');
	size_t klen = strlen(key);

	if (q == NULL)
		return 0;
	q++;
	while (*q != '\0') {
		const char *end = strchr(q, '&');
		size_t len = end != NULL ? (size_t)(end - q) : strlen(q);

		if (len >= klen && strncmp(q, key, klen) == 0 &&
		    (len == klen || q[klen] == '=')) {
			const char *v = len == klen ? q + len : q + klen + 1;
			size_t vlen = (size_t)(q + len - v);

			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(val, v, vlen);
			val[vlen] = '\0';
			return 1;
		}
		if (end == NULL)
			break;
		q = end + 1;
	}
	return 0;
}

/* Query parameter as an unsigned number; `def` if absent or invalid. */
static uint64_t
query_num(const char *target, const char *key, uint64_t def)
{
	char buf[32], *end;
	unsigned long long v;

	if (!query_get(target, key, buf, sizeof(buf)) || buf[0] == '\0')
		return def;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0' || buf[0] == '-')
		return def;
	return v;
}

static int
query_is(const char *target, const char *key, const char *want)
{
	char buf[32];

	return query_get(target, key, buf, sizeof(buf)) && strcmp(buf, want) == 0;
}

/*
 * Queue body bytes until the output holds ORIGIN_WRITE_CHUNK or the body is
 * done. Returns 1 when every byte (and the last chunk) is queued.
 */
static int
body_fill(struct conn *c)
{
	static char pattern[ORIGIN_WRITE_CHUNK + 26];
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct body_src *s = &c->src;
	uint64_t end = s->limit < s->total ? s->limit : s->total;

	if (pattern[0] == '\0') {
		size_t i;

		for (i = 0; i < sizeof(pattern); i++)
			pattern[i] = (char)('a' + i % 26);
	}
	while (s->sent < end &&
	    evbuffer_get_length(out) < ORIGIN_WRITE_CHUNK) {
		uint64_t stop = end, n;

		if (s->chunked) {
			if (s->chunk_end == 0) {
				/* chunk i covers [i*total/3, (i+1)*total/3) */
				int i;

				for (i = 1; i <= 3; i++) {
					s->chunk_end = s->total * (uint64_t)i / 3;
					if (s->chunk_end > s->sent)
						break;
				}
				evbuffer_add_printf(out, "%" PRIx64 "\r\n",
				    s->chunk_end - s->sent);
			}
			if (s->chunk_end < stop)
				stop = s->chunk_end;
		}
		n = stop - s->sent;
		if (n > ORIGIN_WRITE_CHUNK)
			n = ORIGIN_WRITE_CHUNK;
		if (s->mem != NULL)
			evbuffer_add(out, s->mem + s->sent, (size_t)n);
		else
			evbuffer_add(out, pattern + s->sent % 26, (size_t)n);
		s->sent += n;
		if (s->chunked && s->sent == s->chunk_end) {
			evbuffer_add(out, "\r\n", sizeof("\r\n") - 1);
			s->chunk_end = 0;
		}
	}
	if (s->sent < end)
		return 0;
	if (s->chunked && s->limit >= s->total)
		evbuffer_add(out, "0\r\n\r\n", sizeof("0\r\n\r\n") - 1);
	return 1;
}

/* The response is queued: close, or go on with the next request. */
static void
conn_response_done(struct conn *c)
{
	free(c->target);
	c->target = NULL;
	if (c->close_after) {
		conn_close_after_flush(c);
		return;
	}
	c->state = CONN_HEAD;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (!c->peer_eof)
		bufferevent_enable(c->bev, EV_READ);
	/*
	 * Pipelined requests may wait in the input: run the read callback
	 * from the loop rather than recurse through each of them here.
	 */
	if (c->peer_eof || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Build and queue the response to the request just read. */
static void
conn_respond(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *t = c->target;
	int status = (int)query_num(t, "status", 200);
	int head = strcmp(c->method, "HEAD") == 0;
	int no_body, cut = query_is(t, "close", "body");
	int delimited = query_is(t, "noclose-delimited", "1");
	int chunked = query_is(t, "chunked", "1") && !delimited && !cut;
	uint64_t size = query_num(t, "size", UINT64_MAX);

	if (status < 100 || status > 599)
		status = 200;
	if (status < 200) {
		/* an interim response first, then the real one */
		evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n\r\n", status,
		    reason_phrase(status));
		status = 200;
	}
	no_body = status == 204 || status == 304;

	memset(&c->src, 0, sizeof(c->src));
	if (c->has_length || strcmp(c->method, "POST") == 0 ||
	    strcmp(c->method, "PUT") == 0 || strcmp(c->method, "PATCH") == 0 ||
	    strcmp(c->method, "DELETE") == 0) {
		snprintf(c->reply, sizeof(c->reply),
		    "%s %s received %" PRIu64 " bytes fnv1a64=%016" PRIx64 "\n",
		    c->method, t, c->content_length, c->hash);
		c->src.mem = c->reply;
		c->src.total = strlen(c->reply);
	} else if (size != UINT64_MAX &&
	    (strcmp(c->method, "GET") == 0 || head)) {
		c->src.mem = NULL;
		c->src.total = size;
	} else {
		c->src.mem = hello_body;
		c->src.total = sizeof(hello_body) - 1;
	}
	c->src.limit = UINT64_MAX;
	c->src.chunked = chunked && !no_body;
	if (delimited || cut)
		c->close_after = 1;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nServer: lg-origin\r\n",
	    status, reason_phrase(status));
	if (!no_body || status == 304)
		evbuffer_add_printf(out, "Content-Type: text/plain\r\n");
	if (cut) {
		evbuffer_add_printf(out, "Content-Length: 1000\r\n");
		c->src.limit = 10;
		if (c->src.total < 1000) {
			c->src.mem = NULL;
			c->src.total = 1000;
		}
	} else if (no_body || delimited) {
		/* 204/304: no framing field; delimited: the close ends it */
	} else if (c->src.chunked) {
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
	} else {
		evbuffer_add_printf(out, "Content-Length: %" PRIu64 "\r\n",
		    c->src.total);
	}
	if (c->close_after)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (c->minor == 0)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	evbuffer_add(out, "\r\n", sizeof("\r\n") - 1);

	if (head || no_body) {
		conn_response_done(c);
		return;
	}
	c->state = CONN_SEND;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, ORIGIN_WRITE_LOW, 0);
	bufferevent_enable(c->bev, EV_WRITE);
	if (body_fill(c))
		conn_response_done(c);
}

static void
conn_timercb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_respond(c);
}

/* The whole request is read (head and body): act on it. */
static void
conn_request_done(struct conn *c)
{
	uint64_t ms;

	if (query_is(c->target, "close", "head")) {
		conn_free(c);
		return;
	}
	ms = query_num(c->target, "sleep", 0);
	if (ms > 0) {
		struct timeval tv;

		if (c->timer == NULL)
			c->timer = evtimer_new(base, conn_timercb, c);
		if (c->timer == NULL) {
			conn_fail(c, 500, "out of memory\n");
			return;
		}
		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
		c->state = CONN_SLEEP;
		evtimer_add(c->timer, &tv);
		return;
	}
	conn_respond(c);
}

/* Trim spaces and tabs from both ends of [*p, *p + *n). */
static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' ||
	    (*p)[*n - 1] == '\r'))
		(*n)--;
}

/* Does the comma separated list [v, v + n) contain `token`? */
static int
list_has(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);

	while (n > 0) {
		const char *comma = memchr(v, ',', n);
		size_t len = comma != NULL ? (size_t)(comma - v) : n;
		const char *e = v;
		size_t el = len;

		trim(&e, &el);
		if (el == tl && strncasecmp(e, token, tl) == 0)
			return 1;
		if (comma == NULL)
			break;
		n -= len + 1;
		v = comma + 1;
	}
	return 0;
}

/*
 * Parse the head in h[0..n) (its final empty line included) into c.
 * Returns 0, or an HTTP status to fail with (CHUNKED-SEEN is logged here).
 */
static int
conn_parse_head(struct conn *c, const char *h, size_t n)
{
	const char *eol = memchr(h, '\n', n), *sp1, *sp2, *line;
	size_t llen, rest;
	int close_tok = 0, keep_tok = 0, expect = 0, te = 0;

	if (eol == NULL)
		return 400;
	llen = (size_t)(eol - h);
	if (llen > 0 && h[llen - 1] == '\r')
		llen--;
	sp1 = memchr(h, ' ', llen);
	if (sp1 == NULL || sp1 == h || (size_t)(sp1 - h) >= sizeof(c->method))
		return 400;
	sp2 = memchr(sp1 + 1, ' ', llen - (size_t)(sp1 + 1 - h));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return 400;
	if ((size_t)(h + llen - (sp2 + 1)) != sizeof("HTTP/1.x") - 1 ||
	    strncmp(sp2 + 1, "HTTP/1.", sizeof("HTTP/1.") - 1) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return 400;
	memcpy(c->method, h, (size_t)(sp1 - h));
	c->method[sp1 - h] = '\0';
	c->target = malloc((size_t)(sp2 - sp1));
	if (c->target == NULL)
		return 500;
	memcpy(c->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	c->target[sp2 - sp1 - 1] = '\0';
	c->minor = sp2[8] - '0';
	c->has_length = 0;
	c->content_length = 0;

	line = eol + 1;
	rest = n - (size_t)(line - h);
	while (rest > 0) {
		const char *colon, *v;
		size_t len, nl, vl;

		eol = memchr(line, '\n', rest);
		if (eol == NULL)
			return 400;
		len = (size_t)(eol - line);
		if (len == 0 || (len == 1 && line[0] == '\r'))
			break;		/* the empty line */
		colon = memchr(line, ':', len);
		if (colon == NULL)
			return 400;
		nl = (size_t)(colon - line);
		v = colon + 1;
		vl = len - nl - 1;
		trim(&v, &vl);
		if (nl == 17 && strncasecmp(line, "Transfer-Encoding", nl) == 0) {
			te = 1;
		} else if (nl == 14 &&
		    strncasecmp(line, "Content-Length", nl) == 0) {
			char num[24], *end;

			if (vl == 0 || vl >= sizeof(num) || c->has_length)
				return 400;
			memcpy(num, v, vl);
			num[vl] = '\0';
			if (num[0] < '0' || num[0] > '9')
				return 400;
			errno = 0;
			c->content_length = strtoull(num, &end, 10);
			if (errno != 0 || *end != '\0')
				return 400;
			c->has_length = 1;
		} else if (nl == 10 && strncasecmp(line, "Connection", nl) == 0) {
			close_tok |= list_has(v, vl, "close");
			keep_tok |= list_has(v, vl, "keep-alive");
		} else if (nl == 6 && strncasecmp(line, "Expect", nl) == 0) {
			expect = vl == sizeof("100-continue") - 1 &&
			    strncasecmp(v, "100-continue", vl) == 0;
		}
		rest -= len + 1;
		line = eol + 1;
	}
	if (verbose)
		logline("origin: %s %s len=%" PRIu64 " conn=%lu", c->method,
		    c->target, c->content_length, c->serial);
	if (te) {
		logline("origin: CHUNKED-SEEN");
		return 500;
	}
	c->keep_alive = c->minor == 1 ? !close_tok : keep_tok && !close_tok;
	c->close_after = !c->keep_alive;
	if (expect && c->minor == 1 && c->content_length > 0)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
	return 0;
}

/* Hash and drain the body bytes available in the input. */
static void
conn_read_body(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (c->body_left > 0 && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v[8];
		size_t want = evbuffer_get_length(in), used = 0;
		int i, nv;

		if (want > c->body_left)
			want = (size_t)c->body_left;
		nv = evbuffer_peek(in, (ev_ssize_t)want, NULL, v, 8);
		for (i = 0; i < nv && i < 8 && used < want; i++) {
			size_t k = v[i].iov_len;

			if (k > want - used)
				k = want - used;
			c->hash = fnv1a64(c->hash, v[i].iov_base, k);
			used += k;
		}
		evbuffer_drain(in, used);
		c->body_left -= used;
	}
}

/* Run the request state machine on what the input holds. */
static void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	for (;;) {
		if (c->state == CONN_HEAD) {
			struct evbuffer_ptr p, lf;
			size_t hlen;
			char *h;
			int status;

			p = evbuffer_search(in, "\r\n\r\n", sizeof("\r\n\r\n") - 1,
			    NULL);
			lf = evbuffer_search(in, "\n\n", sizeof("\n\n") - 1, NULL);
			/* tolerate bare LF line ends (a lenient origin) */
			if (lf.pos >= 0 && (p.pos < 0 || lf.pos + 1 < p.pos + 3))
				p.pos = lf.pos - 2;
			if (p.pos < 0) {
				if (evbuffer_get_length(in) > ORIGIN_MAX_HEAD)
					conn_fail(c, 431, "head too large\n");
				else if (c->peer_eof)
					conn_close_after_flush(c);
				return;
			}
			hlen = (size_t)p.pos + 4;
			h = malloc(hlen);
			if (h == NULL) {
				conn_fail(c, 500, "out of memory\n");
				return;
			}
			evbuffer_remove(in, h, hlen);
			status = conn_parse_head(c, h, hlen);
			free(h);
			if (status != 0) {
				conn_fail(c, status, status == 500 ?
				    "Transfer-Encoding is not understood here\n" :
				    "bad request\n");
				return;
			}
			c->hash = FNV1A64_OFFSET;
			c->body_left = c->content_length;
			c->state = CONN_BODY;
		}
		if (c->state != CONN_BODY)
			return;
		conn_read_body(c);
		if (c->body_left > 0) {
			if (c->peer_eof) {
				if (verbose)
					logline("origin: conn=%lu body cut short, "
					    "%" PRIu64 " bytes missing",
					    c->serial, c->body_left);
				conn_free(c);
			}
			return;
		}
		/* the request is complete: answer before reading the next */
		c->state = CONN_SLEEP;
		bufferevent_disable(c->bev, EV_READ);
		conn_request_done(c);
		return;		/* conn_response_done() comes back here */
	}
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	if (c->state == CONN_SEND && body_fill(c))
		conn_response_done(c);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		if (verbose)
			logline("origin: conn=%lu error: %s", c->serial,
			    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->peer_eof = 1;
		/* otherwise the response in progress finishes first */
		if (c->state == CONN_HEAD || c->state == CONN_BODY)
			conn_process(c);
	}
}

static void
acceptcb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->serial = ++conn_serial;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	if (verbose)
		logline("origin: open conn=%lu", c->serial);
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, ORIGIN_READ_HIGH);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
signalcb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

/*
 * Parse "host:port" or "[v6]:port" (numeric host; port 0 picks a free one)
 * into *ss. Returns 0 or -1.
 */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, int *sslen)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon = strrchr(s, ':');
	unsigned long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || colon[1] == '\0')
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (hl - 2 >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl - 2);
		host[hl - 2] = '\0';
		if (evutil_inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = (int)sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (strcmp(host, "*") == 0)
			strcpy(host, "0.0.0.0");
		if (evutil_inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = (int)sizeof(*s4);
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: lg-origin [-l host:port] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *listen_addr = ORIGIN_DEFAULT_LISTEN;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss), ch;
	socklen_t len;
	struct evconnlistener *l;
	struct event *sigterm, *sigint;
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	while ((ch = getopt(argc, argv, "l:v")) != -1) {
		switch (ch) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (parse_addr(listen_addr, &ss, &sslen) != 0) {
		fprintf(stderr, "lg-origin: bad listen address: %s\n",
		    listen_addr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "lg-origin: event_base_new failed\n");
		return 1;
	}
	/* before "listening": a test may signal as soon as it reads it */
	sigterm = evsignal_new(base, SIGTERM, signalcb, NULL);
	sigint = evsignal_new(base, SIGINT, signalcb, NULL);
	if (sigterm == NULL || sigint == NULL ||
	    evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0) {
		fprintf(stderr, "lg-origin: cannot handle signals\n");
		return 1;
	}
	l = evconnlistener_new_bind(base, acceptcb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
	    (struct sockaddr *)&ss, sslen);
	if (l == NULL) {
		fprintf(stderr, "lg-origin: cannot listen on %s: %s\n",
		    listen_addr, strerror(errno));
		return 1;
	}
	len = sizeof(ss);
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		printf("origin listening on [%s]:%u\n", host, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		printf("origin listening on %s:%u\n", host, port);
	}
	fflush(stdout);

	event_base_dispatch(base);
	while (!TAILQ_EMPTY(&conns))
		conn_free(TAILQ_FIRST(&conns));
	event_free(sigterm);
	event_free(sigint);
	evconnlistener_free(l);
	event_base_free(base);
	return 0;
}
