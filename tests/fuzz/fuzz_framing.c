/*
 * fuzz_framing.c - libFuzzer target for the framing core.
 *
 * The input is a client byte stream. It is fed twice, whole and in pieces
 * whose sizes come from the input's first bytes, and the two traces must
 * agree. For every approved head:
 *   - framing_write_head fits in framing_head_size();
 *   - the canonical head, fed to a fresh inspector, is approved again and
 *     rewritten to exactly itself (canonical form is a fixed point), with
 *     no Transfer-Encoding and at most one Content-Length;
 * every refusal has a reason (part of the trace, so split-invariant too, as
 * is the choice of a JSON page) whose table row gives framing_status() and
 * framing_reason(); and a step never consumes more than it was given. An
 * input used up without a refusal ends with the client's EOF
 * (framing_eof), whose refusal, if any, is traced the same way.
 *
 * The first byte also picks the policy (limits, require_length, underscores,
 * body_methods with chunked = buffer, mode = monitor with four cut sizes or
 * more) and whether the peer is a trusted proxy. A chunked body (chunked = buffer) is decoded by the core: its head
 * is written once the body is complete, with the payload's length, which
 * must be what the sink was given. The canonical head
 * is fed again from a trusted peer with x_forwarded_for off: its one
 * X-Forwarded-For line (the peer's address, after the client's values when
 * trusted) then stays as it is.
 *
 * Monitor mode: a request forwarded for a reason enforcement refuses
 * (would_refuse) is one monitor mode may forward (reason_monitored), and
 * its head says Connection: close; a body forwarded chunked
 * (chunked_forward) has one Transfer-Encoding line and no Content-Length,
 * and the bytes forwarded for it are, for a fresh decoder, exactly one
 * whole chunked body of the payload the core counted. Its canonical head,
 * fed again, is a fixed point but for that Connection: close, which the
 * second reading adds only when it has a reason to refuse too (so is that
 * of a dechunked body on a method of body_methods: Content-Length: 0 is
 * no body there).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "trace.h"
#include "chunked.h"
#include "framing.h"
#include "lit.h"
#include "reason.h"

#define TRACE 65536

struct trace {
	char buf[TRACE];
	size_t len;
};

static const struct framing_peer peers[2] = {
	{ "192.0.2.1", NULL, "up:1", 0 },
	{ "192.0.2.1", NULL, "up:1", 1 },
};
static const struct framing_peer *peer = &peers[0];

static void
add(struct trace *t, const void *p, size_t n)
{
	trace_append(t->buf, sizeof(t->buf), &t->len, p, n);
}

/* Lines of head[0..n) named lname (lower case), in any case. */
static int
count_lines(const char *head, size_t n, const char *lname)
{
	size_t len = strlen(lname), i;
	int count = 0;

	for (i = 0; i + len < n; i++)
		if (head[i] == '\n' && i + 1 + len < n &&
		    strncasecmp(head + i + 1, lname, len) == 0 &&
		    head[i + 1 + len] == ':')
			count++;
	return count;
}

/* head[0..n) without its "Connection: close" line, into out; the length. */
static size_t
drop_close(const char *head, size_t n, char *out)
{
	const char *c = memmem(head, n, LIT("\r\nConnection: close\r\n"));
	size_t a;

	if (c == NULL) {
		memcpy(out, head, n);
		return n;
	}
	a = (size_t)(c - head) + 2;
	memcpy(out, head, a);
	memcpy(out + a, c + LITLEN("\r\nConnection: close\r\n"),
	    n - a - LITLEN("Connection: close\r\n"));
	return n - LITLEN("Connection: close\r\n");
}

static void
check_canonical(const struct framing_policy *pol0, const char *head, size_t n,
    const struct framing_request *r)
{
	/* a canonical head may be longer than the original (": " and a Host
	 * for HTTP/1.0), so the limits are not part of the property */
	struct framing_policy pol = *pol0;
	struct framing *g;

	pol.max_head_size = FRAMING_MAX_HEAD;
	pol.max_request_line = FRAMING_MAX_HEAD;
	pol.max_headers = 10000;
	pol.add_x_forwarded_for = 0;
	g = framing_new(&pol);
	struct framing_step s;
	char *again;
	long m;

	if (r->chunked_forward) {
		if (count_lines(head, n, "transfer-encoding") != 1 ||
		    count_lines(head, n, "content-length") != 0)
			abort();
	} else if (memmem(head, n, LIT("\r\nTransfer-Encoding:")) != NULL) {
		abort();
	}
	if (r->would_refuse != REASON_NONE &&
	    (pol0->mode != FRAMING_MONITOR || !reason_monitored(r->would_refuse) ||
	    memmem(head, n, LIT("\r\nConnection: close\r\n")) == NULL))
		abort();
	{
		const char *cl = memmem(head, n, LIT("\r\nContent-Length:"));

		if (cl && memmem(cl + 1, n - (size_t)(cl + 1 - head),
		    LIT("\r\nContent-Length:")))
			abort();
	}
	s = framing_feed(g, head, n);
	if (s.verdict != FRAMING_HEAD || s.consumed != n)
		abort();
	if (count_lines(head, n, "x-forwarded-for") != 1)
		abort();		/* the peer's address, in one line */
	again = malloc(framing_head_size(g, &peers[1]));
	m = framing_write_head(g, &peers[1], again,
	    framing_head_size(g, &peers[1]));
	if (m < 0)
		abort();
	/* Connection: close came of a reason the second reading may not see:
	 * a would_refuse, or a chunked body on a method of body_methods whose
	 * decoded length (0) is no body for the second reading */
	if (r->would_refuse != REASON_NONE ||
	    (r->chunked && r->close_upstream)) {
		char *x = malloc(n), *y = malloc((size_t)m);
		size_t xn = drop_close(head, n, x), yn = drop_close(again,
		    (size_t)m, y);

		if (xn != yn || memcmp(x, y, xn) != 0)
			abort();
		free(x);
		free(y);
	} else if (m != (long)n || memcmp(again, head, n) != 0) {
		abort();
	}
	free(again);
	framing_free(g);
}

/* A refusal: it has a reason, and the reason says the status and the
 * text; the status, the reason and the page's kind go to the trace. */
static void
refused(struct framing *f, struct trace *t)
{
	char r[8];
	enum reason why = framing_refusal(f);
	int st = framing_status(f);

	if (why == REASON_NONE || st != reason_status(why) ||
	    strcmp(framing_reason(f), reason_text(why)) != 0)
		abort();
	r[0] = 'R';
	r[1] = (char)('0' + st / 100);
	r[2] = (char)('0' + st / 10 % 10);
	r[3] = (char)('0' + st % 10);
	r[4] = (char)why;	/* the reason too is split-invariant */
	r[5] = (char)('0' + framing_wants_json(f));
	add(t, r, 6);
}

/* A decoded chunked body's payload: counted. */
static void
sink(void *arg, const char *data, size_t len)
{
	uint64_t *payload = arg;

	(void)data;
	if (len == 0)
		abort();	/* runs of at least one byte */
	*payload += len;
}

/* The bytes forwarded for a chunked body, b[0..n): one whole chunked body
 * for a fresh decoder, ending at its last byte, whose payload is what the
 * core's sink was given and its content_length says. */
static void
forwarded_whole(const char *b, size_t n, uint64_t payload, uint64_t cl)
{
	struct chunked_limits lim = { UINT64_MAX };
	struct chunked ck;
	struct chunked_step s;

	chunked_init(&ck, &lim);
	s = chunked_feed(&ck, b, n, NULL, NULL);
	if (s.verdict != CHUNKED_DONE || s.consumed != n ||
	    chunked_payload_len(&ck) != payload || payload != cl)
		abort();
}

/* Write the approved head to the trace (and check it). */
static void
head_out(const struct framing_policy *pol, struct framing *f,
    struct trace *t, int verify)
{
	size_t cap = framing_head_size(f, peer);
	char *h = malloc(cap);
	long m = framing_write_head(f, peer, h, cap);

	if (m < 0)
		abort();
	add(t, LIT("H"));
	add(t, h, (size_t)m);
	if (verify)
		check_canonical(pol, h, (size_t)m, framing_request(f));
	free(h);
}

static void
run(const struct framing_policy *pol, const uint8_t *data, size_t size,
    const uint8_t *cuts, size_t ncuts, struct trace *t, int verify)
{
	struct framing *f = framing_new(pol);
	size_t at = 0, k = 0;
	uint64_t payload = 0;
	int chunked = 0;	/* a chunked body is being decoded */
	char *fwd = NULL;	/* a body forwarded chunked: its bytes */
	size_t fwd_len = 0;

	while (at < size) {
		size_t piece = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : size - at;
		const char *p;
		size_t n;
		char *copy;

		if (piece > size - at)
			piece = size - at;
		copy = malloc(piece);
		memcpy(copy, data + at, piece);
		p = copy;
		n = piece;
		at += piece;
		for (;;) {
			struct framing_step s = framing_feed(f, p, n);

			if (s.consumed > n)
				abort();
			p += s.consumed;
			n -= s.consumed;
			if (s.verdict == FRAMING_MORE) {
				if (n != 0)
					abort();
				break;
			}
			if (s.verdict == FRAMING_BODY && fwd != NULL) {
				fwd = realloc(fwd, fwd_len + s.consumed + 1);
				memcpy(fwd + fwd_len, p - s.consumed, s.consumed);
				fwd_len += s.consumed;
				if (framing_body_left(f) == 0) {
					forwarded_whole(fwd, fwd_len, payload,
					    framing_request(f)->content_length);
					free(fwd);
					fwd = NULL;
				}
			}
			if (s.verdict == FRAMING_HEAD) {
				if (framing_request(f)->chunked_forward) {
					payload = 0;
					fwd = malloc(1);
					fwd_len = 0;
					framing_body_sink(f, sink, &payload);
					head_out(pol, f, t, verify);
					continue;
				}
				if (framing_request(f)->chunked) {
					chunked = 1;
					payload = 0;
					framing_body_sink(f, sink, &payload);
					continue;
				}
				head_out(pol, f, t, verify);
				continue;
			}
			if (s.verdict == FRAMING_BODY && chunked &&
			    framing_body_left(f) == 0) {
				chunked = 0;
				if (framing_request(f)->content_length != payload)
					abort();
				head_out(pol, f, t, verify);
			}
			if (s.verdict == FRAMING_BODY) {
				/* body steps differ by piece; only their sum counts */
				if (n == 0)
					break;
				continue;
			}
			if (s.verdict == FRAMING_REJECT)
				refused(f, t);
			free(copy);
			free(fwd);
			framing_free(f);
			return;
		}
		free(copy);
	}
	if (framing_eof(f).verdict == FRAMING_REJECT)
		refused(f, t);
	free(fwd);
	framing_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace a, b;
	struct framing_policy pol;
	size_t ncuts;

	if (size < 2)
		return 0;
	framing_policy_default(&pol);
	pol.add_via = pol.add_x_forwarded_proto = 0;
	if (data[0] & 1) {
		pol.max_head_size = 300;
		pol.max_request_line = 100;
		pol.max_headers = 6;
		pol.max_body_size = 50;
	}
	if (data[0] & 2)
		pol.require_length = 0;
	peer = &peers[data[0] >> 5 & 1];
	pol.underscores = (enum framing_underscores)((data[0] >> 6) % 3);
	if ((data[0] >> 6) == 3) {
		pol.body_methods = 1ull << HTTP_GET | 1ull << HTTP_DELETE;
		pol.chunked = FRAMING_CHUNKED_BUFFER;
		pol.max_buffered_body = 1000;
	}
	ncuts = (data[0] >> 2) & 7;
	if (ncuts >= 4)
		pol.mode = FRAMING_MONITOR;
	if (ncuts + 1 > size)
		return 0;
	a.len = b.len = 0;
	run(&pol, data + 1 + ncuts, size - 1 - ncuts, NULL, 0, &a, 1);
	run(&pol, data + 1 + ncuts, size - 1 - ncuts, data + 1, ncuts ? ncuts : 1, &b, 0);
	if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
		abort();
	return 0;
}
