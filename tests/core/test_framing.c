/*
 * test_framing.c - the framing core against the request rules of
 * docs/framing.md.
 *
 * Every row is fed whole, split in two at every byte offset, and one byte at
 * a time; each way must give the same trace:
 *
 *   "> " + canonical upstream head     FRAMING_HEAD (head written upstream)
 *   ". N\n"                            N body bytes (consecutive steps summed)
 *   "~CLASS\n"                         after a head: its desync class, when
 *                                      not compliant (docs/classes.md)
 *   "w STATUS reason\n"                after a head: monitor mode forwards
 *                                      what enforcement would refuse so
 *   "! STATUS reason[ json] ~CLASS\n"  FRAMING_REJECT (json: the page is JSON;
 *                                      CLASS: framing_desync)
 *   "= idle|head|body|closed"          the state once the input is used up
 *
 * A row with O_EOF then has the client close its side (framing_eof), and a
 * refusal that comes of it is traced before the state.
 *
 * Each piece is copied into a buffer of exactly its size, so that a read past
 * the end is caught by AddressSanitizer (the sanitizer build runs this too);
 * so is each canonical head, written into exactly framing_head_size() bytes
 * (the bound is then checked on every row, at every split).
 */
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "../check.h"
#include "../trace.h"
#include "lit.h"
#include "framing.h"
#include "framing_cases.h"

#define TRACE_MAX 8192

struct trace {
	char buf[TRACE_MAX];
	size_t len;
	uint64_t body;		/* body bytes not yet written to buf */
	int stopped;
	int chunked;		/* a chunked body is being decoded: its head
				   is traced once it is complete */
	const struct framing_peer *peer;
};

static void
trace_add(struct trace *t, const char *s, size_t n)
{
	trace_append(t->buf, sizeof(t->buf), &t->len, s, n);
}

static void
trace_flush_body(struct trace *t)
{
	char tmp[32];

	if (t->body) {
		snprintf(tmp, sizeof(tmp), ". %llu\n", (unsigned long long)t->body);
		trace_add(t, tmp, strlen(tmp));
		t->body = 0;
	}
}

static const struct framing_peer test_peer = {
	.addr = "192.0.2.7", .proto = "http", .default_host = "backend:8081",
};
static const struct framing_peer trusted_peer = {
	.addr = "192.0.2.7", .proto = "http", .default_host = "backend:8081",
	.trusted = 1,
};

/* The trace of a refusal: status, reason, and the page's kind. */
static void
trace_reject(struct framing *f, struct trace *t)
{
	char tmp[128];

	trace_flush_body(t);
	snprintf(tmp, sizeof(tmp), "! %d %s%s ~%s\n", framing_status(f),
	    framing_reason(f), framing_wants_json(f) ? " json" : "",
	    reason_desync_label(framing_desync(f)));
	trace_add(t, tmp, strlen(tmp));
}

/* The canonical head, written into exactly framing_head_size() bytes. */
static void
trace_head(struct framing *f, struct trace *t)
{
	size_t hs = framing_head_size(f, t->peer);
	char *head = malloc(hs);
	long hl = framing_write_head(f, t->peer, head, hs);

	trace_add(t, LIT("> "));
	if (hl < 0 || (size_t)hl > hs)
		trace_add(t, LIT("?head-too-big\n"));
	else
		trace_add(t, head, (size_t)hl);
	free(head);
	if (framing_desync(f) != DESYNC_COMPLIANT) {
		trace_add(t, LIT("~"));
		trace_add(t, reason_desync_label(framing_desync(f)),
		    strlen(reason_desync_label(framing_desync(f))));
		trace_add(t, LIT("\n"));
	}
	if (framing_request(f)->would_refuse != REASON_NONE) {
		char tmp[128];
		enum reason w = framing_request(f)->would_refuse;

		snprintf(tmp, sizeof(tmp), "w %d %s\n", reason_status(w),
		    reason_text(w));
		trace_add(t, tmp, strlen(tmp));
	}
}

/* A decoded chunked body's payload: counted as body bytes. */
static void
trace_sink(void *arg, const char *data, size_t len)
{
	struct trace *t = arg;

	(void)data;
	t->body += len;
}

/* Feed one piece; append what happens to the trace. A chunked body
 * (chunked = buffer) is traced as a front end forwards it: the head with
 * the payload's Content-Length once the body is complete, then its
 * payload bytes. One forwarded chunked (monitor mode) is traced as any
 * body: its head at once, then the bytes the steps consumed. */
static void
feed_piece(struct framing *f, struct trace *t, const char *src, size_t n)
{
	char *buf, *p;
	struct framing_step s;

	if (t->stopped)
		return;
	buf = malloc(n ? n : 1);
	memcpy(buf, src, n);
	p = buf;
	while (!t->stopped) {
		s = framing_feed(f, p, n);
		if (s.consumed > n) {
			trace_add(t, LIT("?overconsumed\n"));
			t->stopped = 1;
			break;
		}
		p += s.consumed;
		n -= s.consumed;
		switch (s.verdict) {
		case FRAMING_MORE:
			if (n != 0)
				trace_add(t, LIT("?more-with-input\n"));
			goto out;
		case FRAMING_HEAD:
			trace_flush_body(t);
			if (framing_request(f)->chunked &&
			    !framing_request(f)->chunked_forward) {
				t->chunked = 1;
				framing_body_sink(f, trace_sink, t);
				break;
			}
			trace_head(f, t);
			break;
		case FRAMING_BODY:
			if (!t->chunked)
				t->body += s.consumed;
			else if (framing_body_left(f) == 0) {
				uint64_t payload = t->body;

				t->chunked = 0;
				t->body = 0;
				trace_head(f, t);
				t->body = payload;
			}
			if (s.consumed == 0)
				goto out;
			break;
		case FRAMING_REJECT:
			/* a body forwarded as received: what its decoder read
			 * up to the refusal */
			if (framing_request(f)->chunked_forward &&
			    framing_refusal(f) != REASON_NONE)
				t->body += s.consumed;
			trace_reject(f, t);
			t->stopped = 1;
			break;
		case FRAMING_CLOSED:
			t->stopped = 1;
			break;
		}
		if (n == 0 && s.verdict != FRAMING_HEAD)
			break;
	}
out:
	free(buf);
}

static void
trace_end(struct framing *f, struct trace *t, int eof)
{
	struct framing_step s;

	trace_flush_body(t);
	if (eof && !t->stopped && framing_eof(f).verdict == FRAMING_REJECT)
		trace_reject(f, t);
	s = framing_feed(f, "", 0);
	if (s.verdict == FRAMING_CLOSED)
		trace_add(t, LIT("= closed"));
	else if (framing_body_left(f) > 0)
		trace_add(t, LIT("= body"));
	else if (framing_idle(f))
		trace_add(t, LIT("= idle"));
	else
		trace_add(t, LIT("= head"));
}

static void
case_policy(const struct fcase *c, struct framing_policy *pol)
{
	framing_policy_default(pol);
	pol->add_via = pol->add_x_forwarded_for = pol->add_x_forwarded_proto = 0;
	if (c->opts & O_FORWARDED)
		pol->add_via = pol->add_x_forwarded_for =
		    pol->add_x_forwarded_proto = 1;
	if (c->opts & O_SMALL) {
		pol->max_head_size = 256;
		pol->max_request_line = 64;
		pol->max_headers = 4;
		pol->max_body_size = 1000;
	}
	if (c->opts & O_NOREQUIRE)
		pol->require_length = 0;
	if (c->opts & O_BODY_GET)
		pol->body_methods = 1ull << HTTP_GET | 1ull << HTTP_OPTIONS;
	if (c->opts & O_CLOSE_POST)
		pol->close_after_body = 1ull << HTTP_POST | 1ull << HTTP_DELETE;
	if (c->opts & O_US_REJECT)
		pol->underscores = FRAMING_UNDERSCORES_REJECT;
	if (c->opts & O_US_PASS)
		pol->underscores = FRAMING_UNDERSCORES_PASS;
	if (c->opts & O_MONITOR)
		pol->mode = FRAMING_MONITOR;
	if (c->opts & O_CHUNKED_BUFFER)
		pol->chunked = FRAMING_CHUNKED_BUFFER;
	if ((c->opts & (O_CHUNKED_BUFFER | O_MONITOR)) && (c->opts & O_SMALL))
		pol->max_buffered_body = 10;
}

/* Feed `in` cut at the offsets in cuts[0..ncuts) and return the trace. */
static void
run_cuts(const struct fcase *c, const char *in, size_t len,
    const size_t *cuts, size_t ncuts, struct trace *t)
{
	struct framing_policy pol;
	struct framing *f;
	size_t i, at = 0;

	case_policy(c, &pol);
	f = framing_new(&pol);
	memset(t, 0, sizeof(*t));
	t->peer = c->opts & O_TRUSTED ? &trusted_peer : &test_peer;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		feed_piece(f, t, in + at, end - at);
		at = end;
	}
	trace_end(f, t, (c->opts & O_EOF) != 0);
	framing_free(f);
}

static void
run_case(const struct fcase *c)
{
	size_t len = c->len ? c->len : strlen(c->in);
	struct trace whole, t;
	size_t k, *cuts;
	int ok;

	run_cuts(c, c->in, len, NULL, 0, &whole);
	ok = strcmp(whole.buf, c->want) == 0;
	CHECK(ok, "%s: whole", c->name);
	if (!ok) {
		trace_show("want", c->want);
		trace_show("got ", whole.buf);
		return;
	}
	/* split at every offset */
	for (k = 1; k < len; k++) {
		run_cuts(c, c->in, len, &k, 1, &t);
		if (strcmp(t.buf, c->want) != 0) {
			CHECK(0, "%s: split at %zu", c->name, k);
			trace_show("got ", t.buf);
			return;
		}
	}
	CHECK(1, "%s: every split", c->name);
	/* one byte at a time */
	cuts = malloc(len * sizeof(*cuts) + 1);
	for (k = 1; k < len; k++)
		cuts[k - 1] = k;
	run_cuts(c, c->in, len, cuts, len ? len - 1 : 0, &t);
	free(cuts);
	ok = strcmp(t.buf, c->want) == 0;
	CHECK(ok, "%s: byte at a time", c->name);
	if (!ok)
		trace_show("got ", t.buf);
}

/* ------------------------------------------------- beyond the table */

static void
test_accept(void)
{
	static const struct {
		const char *accept;
		int json;
	} rows[] = {
		{ NULL, 0 },
		{ "application/json", 1 },
		{ "application/problem+json", 1 },
		{ "text/html", 0 },
		{ "*/*", 0 },
		{ "text/html, application/json", 0 },
		{ "application/json, text/html;q=0.9", 1 },
		{ "text/html;q=0.5, application/json", 1 },
		{ "application/json;q=0, */*", 0 },
		{ "application/json, */*;q=0.8", 1 },
		{ "text/*, application/*", 0 },
		{ "application/*", 1 },
		{ "image/png", 0 },
	};
	struct framing_policy pol;
	char req[256];
	size_t i;

	framing_policy_default(&pol);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct framing *f = framing_new(&pol);
		struct framing_step s;

		if (rows[i].accept)
			snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: a\r\n"
			    "Accept: %s\r\n\r\n", rows[i].accept);
		else
			snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: a\r\n\r\n");
		s = framing_feed(f, req, strlen(req));
		CHECK(s.verdict == FRAMING_REJECT && framing_status(f) == 411,
		    "accept %zu: 411", i);
		CHECK(framing_wants_json(f) == rows[i].json,
		    "Accept: %s -> json %d", rows[i].accept ? rows[i].accept : "(none)",
		    rows[i].json);
		framing_free(f);
	}
}

/*
 * head_method is known after a refusal once the method was read, even when
 * llhttp refuses in the middle of the head, and is reset for every request.
 */
static void
test_refused_head_method(void)
{
	static const struct {
		const char *in;
		int head;
	} rows[] = {
		/* llhttp refuses the second Content-Length mid-head */
		{ "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		  "Content-Length: 2\r\n\r\n", 1 },
		/* the core refuses the complete head */
		{ "HEAD / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		  "Content-Length: 2\r\n\r\n", 0 },
		/* refused before the method is complete */
		{ "HE\x01D / HTTP/1.1\r\n\r\n", 0 },
		/* an approved HEAD, then a refused GET on the same stream */
		{ "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
		  "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0 },
	};
	struct framing_policy pol;
	struct framing *f;
	struct framing_step s;
	size_t i, off, len;

	framing_policy_default(&pol);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		f = framing_new(&pol);
		len = strlen(rows[i].in);
		off = 0;
		do {
			s = framing_feed(f, rows[i].in + off, len - off);
			off += s.consumed;
		} while (s.verdict != FRAMING_REJECT && off < len);
		CHECK(s.verdict == FRAMING_REJECT, "refused head: row %zu refused", i);
		CHECK(framing_request(f)->head_method == rows[i].head,
		    "refused head: row %zu head_method %d", i, rows[i].head);
		framing_free(f);
	}
}

static void
test_request_info(void)
{
	static const char req[] =
	    "PUT /up?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "Expect: 100-continue\r\nContent-Length: 0012\r\n\r\n"
	    "hello world!";
	struct framing_policy pol;
	struct framing *f;
	struct framing_step s;
	const struct framing_request *r;

	framing_policy_default(&pol);
	f = framing_new(&pol);
	s = framing_feed(f, req, sizeof(req) - 1);
	CHECK(s.verdict == FRAMING_HEAD, "info: head approved");
	r = framing_request(f);
	CHECK(r->method == HTTP_PUT && strcmp(r->method_name, "PUT") == 0,
	    "info: method");
	CHECK(r->http_minor == 0 && r->keep_alive, "info: 1.0 keep-alive");
	CHECK(r->has_body && r->content_length == 12, "info: length 12");
	CHECK(r->expect_continue, "info: 100-continue");
	CHECK(r->target_len == LITLEN("/up?x=1") &&
	    memcmp(r->target, LIT("/up?x=1")) == 0,
	    "info: target");
	CHECK(framing_body_left(f) == 12, "info: body left");
	/* the caller moves the body itself */
	framing_body_done(f, 5);
	CHECK(framing_body_left(f) == 7, "info: body left after 5");
	framing_body_done(f, 7);
	CHECK(framing_body_left(f) == 0 && framing_idle(f), "info: idle");
	s = framing_eof(f);
	CHECK(s.verdict == FRAMING_CLOSED, "info: clean eof");
	framing_free(f);

	/* eof in the middle of a body is an error the proxy must see */
	f = framing_new(&pol);
	s = framing_feed(f, req, sizeof(req) - 4);
	s = framing_feed(f, req + s.consumed, sizeof(req) - 4 - s.consumed);
	CHECK(s.verdict == FRAMING_BODY && framing_body_left(f) == 3,
	    "info: partial body");
	s = framing_eof(f);
	CHECK(s.verdict == FRAMING_REJECT && framing_status(f) == 400,
	    "info: eof in body is a reject");
	framing_free(f);
}

/* Feed all of in[0..len) one byte at a time (a 411 discard must not
 * depend on the pieces); the last verdict, and *used the bytes consumed. */
static enum framing_verdict
feed_bytes(struct framing *f, const char *in, size_t len, size_t *used)
{
	struct framing_step s = { FRAMING_MORE, 0 };
	size_t i = 0;

	while (i < len) {
		s = framing_feed(f, in + i, 1);
		i += s.consumed;
		if (s.verdict == FRAMING_HEAD || s.verdict == FRAMING_REJECT ||
		    s.verdict == FRAMING_CLOSED || s.consumed == 0)
			break;
	}
	*used = i;
	return s.verdict;
}

/* framing_discard_body: a refused chunked body read and thrown away, so
 * that the next request on the connection is read */
static void
test_discard(void)
{
	static const char te[] = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	static const char body[] = "5\r\nhello\r\n0\r\n\r\n";
	static const char next[] = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char te_close[] = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char te_expect[] = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char cl[] = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length\r\n\r\n";
	struct framing_policy pol;
	struct framing *f;
	size_t used;

	framing_policy_default(&pol);
	f = framing_new(&pol);
	CHECK(feed_bytes(f, te, sizeof(te) - 1, &used) == FRAMING_REJECT &&
	    framing_refusal(f) == REASON_CHUNKED, "discard: 411 first");
	CHECK(framing_discard_body(f, 5) == 0, "discard: allowed");
	CHECK(feed_bytes(f, body, sizeof(body) - 1, &used) == FRAMING_BODY &&
	    used == sizeof(body) - 1 && framing_idle(f),
	    "discard: the body is read, then idle");
	CHECK(feed_bytes(f, next, sizeof(next) - 1, &used) == FRAMING_HEAD &&
	    framing_request(f)->target_len == LITLEN("/next"),
	    "discard: the next request is read");
	CHECK(framing_discard_body(f, 5) == -1, "discard: not after a HEAD");
	framing_free(f);

	/* over its bound: refused, closed, REASON_CHUNKED still */
	f = framing_new(&pol);
	feed_bytes(f, te, sizeof(te) - 1, &used);
	CHECK(framing_discard_body(f, 4) == 0, "discard: small bound");
	CHECK(feed_bytes(f, body, sizeof(body) - 1, &used) == FRAMING_REJECT &&
	    framing_refusal(f) == REASON_CHUNKED && !framing_idle(f),
	    "discard: over the bound, closed");
	CHECK(framing_feed(f, LIT("x")).verdict == FRAMING_CLOSED,
	    "discard: closed after the bound");
	framing_free(f);

	/* invalid chunk syntax: refused */
	f = framing_new(&pol);
	feed_bytes(f, te, sizeof(te) - 1, &used);
	CHECK(framing_discard_body(f, 100) == 0 &&
	    feed_bytes(f, LIT("5\r\nhello\n"), &used) == FRAMING_REJECT,
	    "discard: invalid syntax, closed");
	framing_free(f);

	/* the connection closes anyway, or the client waits for a 100 */
	f = framing_new(&pol);
	feed_bytes(f, te_close, sizeof(te_close) - 1, &used);
	CHECK(framing_refusal(f) == REASON_CHUNKED &&
	    framing_discard_body(f, 100) == -1, "discard: not with close");
	CHECK(framing_client_closes(f) == 1, "client closes: Connection: close");
	framing_free(f);
	f = framing_new(&pol);
	feed_bytes(f, te_expect, sizeof(te_expect) - 1, &used);
	CHECK(framing_refusal(f) == REASON_CHUNKED &&
	    framing_discard_body(f, 100) == -1, "discard: not with Expect");
	CHECK(framing_client_closes(f) == 0,
	    "client closes: not a keep-alive one waiting for a 100");
	framing_free(f);
	f = framing_new(&pol);
	feed_bytes(f, te, sizeof(te) - 1, &used);
	CHECK(framing_client_closes(f) == 0, "client closes: not keep-alive");
	framing_free(f);
	/* another refusal */
	f = framing_new(&pol);
	feed_bytes(f, cl, sizeof(cl) - 1, &used);
	CHECK(framing_refusal(f) != REASON_CHUNKED &&
	    framing_discard_body(f, 100) == -1, "discard: only after a 411");
	CHECK(framing_client_closes(f) == 0, "client closes: only after a 411");
	framing_free(f);
}

/* framing_rewrites: what the canonical head changes besides framing, fed
 * whole and byte by byte, and reset by the next request */
static void
test_rewrites(void)
{
	static const struct {
		const char *head;
		int want;
	} rows[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
		{ "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",
		    FRAMING_REWRITE_TARGET },
		{ "GET / HTTP/1.1\r\nHost: a\r\nPROXY: http://e\r\n\r\n",
		    FRAMING_REWRITE_PROXY },
		{ "GET http://a/ HTTP/1.1\r\nHost: a\r\nProxy: x\r\n\r\n",
		    FRAMING_REWRITE_TARGET | FRAMING_REWRITE_PROXY },
		{ "GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: x\r\n\r\n",
		    0 },
		{ "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
	};
	static const char next[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct framing_policy pol;
	struct framing *f;
	struct framing_step s;
	size_t i, used, n;
	int bytes;

	framing_policy_default(&pol);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (bytes = 0; bytes < 2; bytes++) {
			f = framing_new(&pol);
			n = strlen(rows[i].head);
			if (bytes) {
				CHECK(feed_bytes(f, rows[i].head, n, &used) ==
				    FRAMING_HEAD, "rewrites: approved, bytes");
			} else {
				s = framing_feed(f, rows[i].head, n);
				CHECK(s.verdict == FRAMING_HEAD,
				    "rewrites: approved, whole");
			}
			CHECK(framing_rewrites(f) == rows[i].want,
			    "rewrites: as the head says");
			s = framing_feed(f, next, sizeof(next) - 1);
			CHECK(s.verdict == FRAMING_HEAD &&
			    framing_rewrites(f) == 0, "rewrites: reset");
			framing_free(f);
		}
}

/* framing_field, for logs, after approvals and after refusals mid-head */
static void
test_fields(void)
{
	static const char ok[] = "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: ua/1\r\n"
	    "Connection: x-drop\r\nX-Drop: 1\r\nReferer: /r\r\n\r\n";
	static const char bad[] = "POST / HTTP/1.1\r\nHost: h\r\nReferer: /r\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	static const char cut[] = "POST / HTTP/1.1\r\nHost: h\r\nRefe\x01";
	struct framing_policy pol;
	struct framing *f;
	const char *v;
	size_t n;
	char *buf;

	framing_policy_default(&pol);
	f = framing_new(&pol);
	CHECK(framing_feed(f, ok, sizeof(ok) - 1).verdict == FRAMING_HEAD,
	    "fields: approved");
	v = framing_field(f, "user-agent", &n);
	CHECK(v && n == LITLEN("ua/1") && memcmp(v, LIT("ua/1")) == 0,
	    "fields: user-agent");
	v = framing_field(f, "referer", &n);
	CHECK(v && n == LITLEN("/r") && memcmp(v, LIT("/r")) == 0,
	    "fields: referer after a Connection strip");
	CHECK(framing_field(f, "x-drop", &n) == NULL && n == 0,
	    "fields: a stripped field is gone");
	framing_free(f);

	/* refused by the policy (411): the fields are there for the log */
	f = framing_new(&pol);
	buf = malloc(sizeof(bad) - 1);
	memcpy(buf, bad, sizeof(bad) - 1);
	CHECK(framing_feed(f, buf, sizeof(bad) - 1).verdict == FRAMING_REJECT,
	    "fields: refused");
	free(buf);
	v = framing_field(f, "referer", &n);
	CHECK(v && n == LITLEN("/r") && memcmp(v, LIT("/r")) == 0,
	    "fields: referer of a refusal");
	CHECK(framing_field(f, "user-agent", &n) == NULL, "fields: none");
	framing_free(f);

	/* refused by llhttp in the middle of a field name: no fields (the
	 * head was never read as a whole), and nothing read past the end */
	f = framing_new(&pol);
	CHECK(framing_feed(f, cut, sizeof(cut) - 1).verdict == FRAMING_REJECT,
	    "fields: refused mid-name");
	CHECK(framing_field(f, "refe", &n) == NULL &&
	    framing_field(f, "host", &n) == NULL, "fields: none of a broken head");
	framing_free(f);

	/* refused in the request line */
	f = framing_new(&pol);
	CHECK(framing_feed(f, LIT("GET /\x01")).verdict == FRAMING_REJECT &&
	    framing_field(f, "host", &n) == NULL, "fields: none before the line ends");
	framing_free(f);
}

static void
test_methods(void)
{
	uint64_t set = 0;
	size_t bad = 99;

	CHECK(framing_policy_methods("POST PUT PATCH", &set, &bad) == 0 &&
	    set == (1ull << HTTP_POST | 1ull << HTTP_PUT | 1ull << HTTP_PATCH),
	    "methods: default list");
	CHECK(framing_policy_methods("", &set, &bad) == 0 && set == 0,
	    "methods: empty");
	CHECK(framing_policy_methods("  DELETE\tM-SEARCH ", &set, &bad) == 0 &&
	    set == (1ull << HTTP_DELETE | 1ull << HTTP_MSEARCH),
	    "methods: whitespace and M-SEARCH");
	CHECK(framing_policy_methods("POST post", &set, &bad) == -1 && bad == 5,
	    "methods: lower case is unknown");
	CHECK(framing_policy_methods("BREW", &set, &bad) == -1 && bad == 0,
	    "methods: unknown");

	/* body_methods: only the methods without a body */
	CHECK(framing_policy_body_methods("GET HEAD OPTIONS TRACE DELETE", &set,
	    &bad) == 0 && set == (1ull << HTTP_GET | 1ull << HTTP_HEAD |
	    1ull << HTTP_OPTIONS | 1ull << HTTP_TRACE | 1ull << HTTP_DELETE),
	    "body methods: all five");
	CHECK(framing_policy_body_methods(" ", &set, &bad) == 0 && set == 0,
	    "body methods: empty");
	set = 7;
	CHECK(framing_policy_body_methods("GET POST", &set, &bad) == -2 &&
	    bad == 4 && set == 7, "body methods: POST has a body");
	CHECK(framing_policy_body_methods("GET\tFROB", &set, &bad) == -1 &&
	    bad == 4, "body methods: unknown");
}

/*
 * framing_head_size() is an upper bound of what framing_write_head()
 * writes, for every kind of peer and forwarding policy: each head is
 * written into exactly that many bytes (ASan catches a byte more).
 */
static void
test_head_size(void)
{
	static const char *const heads[] = {
		"GET / HTTP/1.0\r\n\r\n",
		"GET http://h:1 HTTP/1.1\r\nHost: o\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1\r\n"
		"X-Forwarded-For:\r\nX-Forwarded-For: 2,3\r\nX-Forwarded-For:4\r\n"
		"x-forwarded-for: 5\r\nForwarded: for=1\r\nX-Real-IP: 1\r\n\r\n",
		"POST http://e/ HTTP/1.1\r\nX-Forwarded-For: 1\r\nHost: o\r\n"
		"Content-Length: 10000000000000000000\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n"
		"X-Forwarded-For: a, b\r\nX-Forwarded-Proto: https\r\n\r\n",
	};
	static const struct framing_peer peers[] = {
		{ NULL, NULL, NULL, 0 },
		{ NULL, NULL, NULL, 1 },
		{ "192.0.2.7", "http", "up:80", 0 },
		{ "2001:db8::1234:5678:9abc:def0", "https",
		  "upstream.example:8081", 1 },
	};
	struct framing_policy pol;
	size_t i, j, k, size;
	char *buf;
	long n;

	framing_policy_default(&pol);
	pol.max_body_size = 0;
	pol.body_methods = 1ull << HTTP_OPTIONS;
	for (k = 0; k < 2; k++) {
		pol.add_via = pol.add_x_forwarded_for =
		    pol.add_x_forwarded_proto = k != 0;
		for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
			for (j = 0; j < sizeof(peers) / sizeof(peers[0]); j++) {
				struct framing *f = framing_new(&pol);

				CHECK(framing_feed(f, heads[i], strlen(heads[i]))
				    .verdict == FRAMING_HEAD,
				    "head size: head %zu approved (%s)", i,
				    framing_reason(f));
				size = framing_head_size(f, &peers[j]);
				buf = malloc(size);
				n = framing_write_head(f, &peers[j], buf, size);
				CHECK(n > 0 && (size_t)n <= size,
				    "head size: head %zu peer %zu forwarding %zu: "
				    "%ld in %zu", i, j, k, n, size);
				free(buf);
				framing_free(f);
			}
		}
	}
}

/*
 * The request line a refused request keeps for the logs
 * (framing_request.line) when the core has no method for it: fed whole and
 * one byte at a time, with the client's EOF after the input.
 */
static void
test_log_line(void)
{
	static const struct {
		const char *in;
		unsigned opts;
		const char *line;	/* NULL: method and target are set */
		int cut;
		int prefix;		/* refused in the request line: fed in
					   pieces, a prefix of it */
	} rows[] = {
		{ "GET /a HTTP/1.1\r\nHost: a\r\nX: a\nY: b\r\n\r\n", 0,
		    "GET /a HTTP/1.1", 0, 0 },
		{ "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 0, "POST /p HTTP/1.1", 0, 0 },
		{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0, "GET / HTTP/1.2", 0, 0 },
		{ "FOO /f HTTP/1.1\r\nHost: a\r\n\r\n", 0, "FOO /f HTTP/1.1", 0, 1 },
		{ "\r\nGET /s HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\n",
		    0, "GET /s HTTP/1.1", 0, 0 },
		{ "GET  /d HTTP/1.1\r\nHost: a\r\n\r\n", 0, "GET  /d HTTP/1.1", 0, 0 },
		/* 414: the first max_request_line (64) bytes */
		{ LINE_414 "Host: a\r\n\r\n", O_SMALL,
		    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, 0 },
		{ "GET /cut HTTP/1.1\r\nHost: a\r\nX-A: b", 0, "GET /cut HTTP/1.1", 0, 0 },
		{ "GET /partial", 0, "GET /partial", 0, 0 },
		/* a head llhttp accepted: method and target, no line */
		{ "POST /n HTTP/1.1\r\nHost: a\r\n\r\n", 0, NULL, 0, 0 },
	};
	struct framing_policy pol;
	struct fcase fc;
	size_t i, k, step;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&fc, 0, sizeof(fc));
		fc.opts = rows[i].opts;
		case_policy(&fc, &pol);
		for (step = 0; step < 2; step++) {
			struct framing *f = framing_new(&pol);
			const struct framing_request *r;
			size_t len = strlen(rows[i].in), off = 0;
			struct framing_step st = { FRAMING_MORE, 0 };
			int rejected = 0;

			while (off < len && !rejected) {
				k = step ? 1 : len - off;
				st = framing_feed(f, rows[i].in + off, k);
				off += st.consumed;
				rejected = st.verdict == FRAMING_REJECT;
				if (st.verdict == FRAMING_CLOSED ||
				    (st.consumed == 0 && st.verdict == FRAMING_MORE))
					break;
			}
			if (!rejected)
				rejected = framing_eof(f).verdict == FRAMING_REJECT;
			r = framing_request(f);
			CHECK(rejected, "log line %zu (%s): refused", i,
			    step ? "bytewise" : "whole");
			if (rows[i].line == NULL)
				CHECK(r->method_name != NULL && r->line_len == 0,
				    "log line %zu: method, no line", i);
			else if (step && rows[i].prefix)
				CHECK(r->method_name == NULL && r->line_len > 0 &&
				    r->line_len <= strlen(rows[i].line) &&
				    memcmp(r->line, rows[i].line, r->line_len) == 0,
				    "log line %zu (bytewise): a prefix", i);
			else
				CHECK(r->method_name == NULL &&
				    r->line_len == strlen(rows[i].line) &&
				    memcmp(r->line, rows[i].line, r->line_len) == 0 &&
				    r->line_cut == rows[i].cut,
				    "log line %zu (%s): \"%.*s\" cut %d", i,
				    step ? "bytewise" : "whole", (int)r->line_len,
				    r->line ? r->line : "", r->line_cut);
			framing_free(f);
		}
	}
}

/*
 * Every byte value in a field name and in a field value, at places that
 * fall in the first and later blocks of a 16 or 32 byte scan: fed whole
 * (framing.c's head_clean path, for a plain head) and cut inside the head
 * (llhttp's path), the traces are the same; a name made of tchars is
 * always approved, and so is a value of HTAB and visible ASCII.
 */
static void
test_byte_classes(void)
{
	static const struct fcase c = { "byte classes", "", 0, "", 0 };
	static const char tchars[] = "!#$%&'*+-.^_`|~";
	static const size_t at[] = { 1, 17, 33, 40 };
	char in[256];
	struct trace whole, cut;
	size_t a, n, k = 20;
	unsigned b;
	int name, same = 1, approved = 1;

	for (name = 0; name < 2; name++)
		for (b = 0; b < 256; b++)
			for (a = 0; a < sizeof(at) / sizeof(at[0]); a++) {
				char *o = in;
				int plain;

				o += sprintf(o, "GET / HTTP/1.1\r\nHost: a\r\n");
				if (name) {
					memset(o, 'n', 48);
					o[at[a]] = (char)b;
					o += 48;
					o += sprintf(o, ": v\r\n\r\n");
					plain = (b < 128 && ((b >= '0' && b <= '9') ||
					    ((b | 0x20) >= 'a' && (b | 0x20) <= 'z') ||
					    (b != 0 && strchr(tchars, (int)b))));
				} else {
					o += sprintf(o, "X-V: ");
					memset(o, 'v', 48);
					o[at[a]] = (char)b;
					o += 48;
					o += sprintf(o, "\r\n\r\n");
					plain = b == '\t' || (b >= ' ' && b < 0x7f);
				}
				n = (size_t)(o - in);
				run_cuts(&c, in, n, NULL, 0, &whole);
				run_cuts(&c, in, n, &k, 1, &cut);
				if (strcmp(whole.buf, cut.buf) != 0) {
					same = 0;
					CHECK(0, "byte classes: %s byte 0x%02x at %zu",
					    name ? "name" : "value", b, at[a]);
					trace_show("whole", whole.buf);
					trace_show("cut  ", cut.buf);
				}
				if (plain && strncmp(whole.buf, "> ", 2) != 0) {
					approved = 0;
					CHECK(0, "byte classes: %s byte 0x%02x at %zu refused",
					    name ? "name" : "value", b, at[a]);
				}
			}
	CHECK(same, "byte classes: whole and cut agree");
	CHECK(approved, "byte classes: tchar names and visible values pass");
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(framing_cases) / sizeof(framing_cases[0]); i++)
		run_case(&framing_cases[i]);
	printf("framing cases: %zu\n", sizeof(framing_cases) / sizeof(framing_cases[0]));
	test_accept();
	test_request_info();
	test_refused_head_method();
	test_fields();
	test_rewrites();
	test_discard();
	test_methods();
	test_head_size();
	test_log_line();
	test_byte_classes();
	return check_done("test_framing");
}
