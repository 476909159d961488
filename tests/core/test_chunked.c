/*
 * test_chunked.c - the chunked body decoder against the rules of
 * docs/framing.md, "Chunked request bodies".
 *
 * Every row of chunked_cases.h is fed whole, split in two at every byte
 * offset, and one byte at a time; each way must give the same trace, and
 * the trace the row expects:
 *
 *   "< " payload "\n"        what the sink received, concatenated
 *   "= more N"               CHUNKED_MORE after N bytes consumed in all
 *   "= done N"               CHUNKED_DONE
 *   "! STATUS label N"       CHUNKED_ERROR, its reason's status and label
 *
 * Each piece is copied into a buffer of exactly its size, so that a read
 * past the end is caught by AddressSanitizer (the sanitizer build runs this
 * too). Along the way the runner checks what a trace cannot show, and adds
 * a "?..." line to it when one fails: a step consumes at most its input,
 * MORE consumes all of it, the sink gets runs of at least one byte that lie
 * inside the piece being fed (the decoder keeps no copy), the payload
 * counter equals the bytes the sink got, and after DONE or ERROR the
 * verdict stands and nothing more is consumed or passed on.
 */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../trace.h"
#include "chunked.h"
#include "chunked_cases.h"
#include "lit.h"
#include "reason.h"

#define TRACE_MAX 8192

struct trace {
	char payload[TRACE_MAX];
	size_t payload_len;
	char notes[TRACE_MAX];	/* "?..." lines */
	size_t notes_len;
	const char *lo, *hi;	/* the piece being fed */
	uint64_t consumed;
	enum chunked_verdict verdict;
	int stopped;
	char buf[3 * TRACE_MAX];
};

static void
note(struct trace *t, const char *s, size_t n)
{
	trace_append(t->notes, sizeof(t->notes), &t->notes_len, s, n);
}

static void
sink(void *arg, const char *data, size_t len)
{
	struct trace *t = arg;

	if (len == 0)
		note(t, LIT("?empty-sink-call\n"));
	if (data < t->lo || data + len > t->hi)
		note(t, LIT("?sink-outside-input\n"));
	if (len > sizeof(t->payload) - t->payload_len) {
		note(t, LIT("?payload-overflow\n"));
		return;
	}
	memcpy(t->payload + t->payload_len, data, len);
	t->payload_len += len;
}

/* Feed one piece (one call); append what happens. */
static void
feed_piece(struct chunked *d, struct trace *t, const char *src, size_t n)
{
	struct chunked_step s;
	size_t before, used = 0;
	char *buf;

	buf = malloc(n ? n : 1);
	memcpy(buf, src, n);
	t->lo = buf;
	t->hi = buf + n;
	if (!t->stopped) {
		s = chunked_feed(d, buf, n, sink, t);
		if (s.consumed > n) {
			note(t, LIT("?overconsumed\n"));
			s.consumed = n;
		}
		t->consumed += s.consumed;
		t->verdict = s.verdict;
		if (s.verdict == CHUNKED_MORE && s.consumed != n)
			note(t, LIT("?more-with-input\n"));
		if (s.verdict == CHUNKED_ERROR && chunked_reason(d) == REASON_NONE)
			note(t, LIT("?error-without-reason\n"));
		if (s.verdict != CHUNKED_ERROR && chunked_reason(d) != REASON_NONE)
			note(t, LIT("?reason-without-error\n"));
		if (s.verdict == CHUNKED_MORE) {
			free(buf);
			return;
		}
		t->stopped = 1;
		used = s.consumed;
	}
	/* the verdict stands: nothing more is consumed or passed on, whether
	 * the rest of this piece or a later piece is offered */
	before = t->payload_len;
	s = chunked_feed(d, buf + used, n - used, sink, t);
	if (s.verdict != t->verdict || s.consumed != 0 || t->payload_len != before)
		note(t, LIT("?not-final\n"));
	free(buf);
}

/* Feed `in` cut at cuts[0..ncuts) and write the trace into t->buf. */
static void
run_cuts(const struct ccase *c, const size_t *cuts, size_t ncuts, struct trace *t)
{
	struct chunked_limits lim = { .max_payload = c->max_payload };
	struct chunked d;
	size_t i, at = 0, len = 0;
	char tmp[128];

	memset(t, 0, sizeof(*t));
	chunked_init(&d, &lim);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : c->len;

		feed_piece(&d, t, c->in + at, end - at);
		at = end;
	}
	if (chunked_payload_len(&d) != t->payload_len)
		note(t, LIT("?payload-len\n"));
	if (t->payload_len) {
		trace_append(t->buf, sizeof(t->buf), &len, LIT("< "));
		trace_append(t->buf, sizeof(t->buf), &len, t->payload, t->payload_len);
		trace_append(t->buf, sizeof(t->buf), &len, LIT("\n"));
	}
	trace_append(t->buf, sizeof(t->buf), &len, t->notes, t->notes_len);
	if (t->verdict == CHUNKED_ERROR)
		snprintf(tmp, sizeof(tmp), "! %d %s %llu",
		    reason_status(chunked_reason(&d)),
		    reason_label(chunked_reason(&d)),
		    (unsigned long long)t->consumed);
	else
		snprintf(tmp, sizeof(tmp), "= %s %llu",
		    t->verdict == CHUNKED_DONE ? "done" : "more",
		    (unsigned long long)t->consumed);
	trace_append(t->buf, sizeof(t->buf), &len, tmp, strlen(tmp));
}

/* The trace a row expects. */
static void
want_trace(const struct ccase *c, char *out, size_t cap)
{
	size_t len = 0;
	char tmp[128];

	out[0] = '\0';
	if (c->payload_len) {
		trace_append(out, cap, &len, LIT("< "));
		trace_append(out, cap, &len, c->payload, c->payload_len);
		trace_append(out, cap, &len, LIT("\n"));
	}
	if (c->verdict == CHUNKED_ERROR)
		snprintf(tmp, sizeof(tmp), "! %d %s %zu", reason_status(c->why),
		    reason_label(c->why), c->consumed);
	else
		snprintf(tmp, sizeof(tmp), "= %s %zu",
		    c->verdict == CHUNKED_DONE ? "done" : "more", c->consumed);
	trace_append(out, cap, &len, tmp, strlen(tmp));
}

/* Traces may hold NUL bytes (payloads): compare and show them by length. */
static int
same(const char *a, const char *b, size_t cap)
{
	return memcmp(a, b, cap) == 0;
}

static void
show(const char *label, const char *s, size_t cap)
{
	char esc[3 * TRACE_MAX];
	size_t i, n = 0, end = cap;

	while (end > 0 && s[end - 1] == '\0')
		end--;
	for (i = 0; i < end && n + 5 < sizeof(esc); i++)
		esc[n++] = s[i] ? s[i] : '\x01';	/* NUL shown as \x01 */
	esc[n] = '\0';
	trace_show(label, esc);
}

static void
run_case(const struct ccase *c)
{
	static struct trace t;
	static char want[3 * TRACE_MAX];
	size_t k, *cuts;
	int ok;

	memset(want, 0, sizeof(want));
	want_trace(c, want, sizeof(want));
	run_cuts(c, NULL, 0, &t);
	ok = same(t.buf, want, sizeof(want));
	CHECK(ok, "%s: whole", c->name);
	if (!ok) {
		show("want", want, sizeof(want));
		show("got ", t.buf, sizeof(t.buf));
		return;
	}
	/* split at every offset */
	for (k = 1; k < c->len; k++) {
		run_cuts(c, &k, 1, &t);
		if (!same(t.buf, want, sizeof(want))) {
			CHECK(0, "%s: split at %zu", c->name, k);
			show("got ", t.buf, sizeof(t.buf));
			return;
		}
	}
	CHECK(1, "%s: every split", c->name);
	/* one byte at a time */
	cuts = malloc(c->len * sizeof(*cuts) + 1);
	for (k = 1; k < c->len; k++)
		cuts[k - 1] = k;
	run_cuts(c, cuts, c->len ? c->len - 1 : 0, &t);
	free(cuts);
	ok = same(t.buf, want, sizeof(want));
	CHECK(ok, "%s: byte at a time", c->name);
	if (!ok)
		show("got ", t.buf, sizeof(t.buf));
}

/* ------------------------------------------------- beyond the table */

/* A NULL sink: the payload is counted all the same. */
static void
test_null_sink(void)
{
	static const char body[] = "5\r\nhello\r\n3;x=1\r\nabc\r\n0\r\nA: b\r\n\r\n";
	struct chunked_limits lim = { .max_payload = 100 };
	struct chunked d;
	struct chunked_step s;

	chunked_init(&d, &lim);
	s = chunked_feed(&d, body, sizeof(body) - 1, NULL, NULL);
	CHECK(s.verdict == CHUNKED_DONE && s.consumed == sizeof(body) - 1 &&
	    chunked_payload_len(&d) == 8, "NULL sink: done, payload 8 (%llu)",
	    (unsigned long long)chunked_payload_len(&d));
}

/* chunked_init copies the limits, and starts a body afresh. */
static void
test_init(void)
{
	static const char body[] = "5\r\nhello\r\n0\r\n\r\n";
	struct chunked_limits lim = { .max_payload = 5 };
	struct chunked d;
	struct chunked_step s;

	chunked_init(&d, &lim);
	lim.max_payload = 0;
	s = chunked_feed(&d, body, sizeof(body) - 1, NULL, NULL);
	CHECK(s.verdict == CHUNKED_DONE, "init: the limits are copied");
	/* again, on the same struct, after an error */
	lim.max_payload = 4;
	chunked_init(&d, &lim);
	s = chunked_feed(&d, body, sizeof(body) - 1, NULL, NULL);
	CHECK(s.verdict == CHUNKED_ERROR && s.consumed == 0 &&
	    chunked_reason(&d) == REASON_CHUNKED_TOO_LARGE &&
	    reason_status(chunked_reason(&d)) == 413, "init: 413 over 4");
	lim.max_payload = 5;
	chunked_init(&d, &lim);
	CHECK(chunked_reason(&d) == REASON_NONE && chunked_payload_len(&d) == 0,
	    "init: the reason and the payload count are reset");
	s = chunked_feed(&d, body, sizeof(body) - 1, NULL, NULL);
	CHECK(s.verdict == CHUNKED_DONE && chunked_payload_len(&d) == 5,
	    "init: a new body after an error");
}

struct counter {
	uint64_t bytes;
	size_t calls;
};

static void
count_sink(void *arg, const char *data, size_t len)
{
	struct counter *c = arg;

	(void)data;
	c->bytes += len;
	c->calls++;
}

/*
 * A large chunk fed in large pieces: the sink gets each piece's data in
 * one run (the decoder does not go byte by byte through chunk-data), and
 * the payload count goes past 32 bits.
 */
static void
test_large_chunk(void)
{
	static const char line[] = "100000000\r\n";	/* 2^32 */
	static const char end[] = "\r\n0\r\n\r\nX";
	struct chunked_limits lim = { .max_payload = UINT64_MAX };
	struct counter cnt = { 0, 0 };
	size_t piece = 1 << 20, i;
	char *buf = calloc(1, piece);
	struct chunked d;
	struct chunked_step s;
	int ok = 1;

	chunked_init(&d, &lim);
	s = chunked_feed(&d, line, sizeof(line) - 1, count_sink, &cnt);
	CHECK(s.verdict == CHUNKED_MORE && s.consumed == sizeof(line) - 1,
	    "large chunk: the size line");
	/* 4096 pieces of 1 MiB: 2^32 bytes */
	for (i = 0; i < 4096 && ok; i++) {
		s = chunked_feed(&d, buf, piece, count_sink, &cnt);
		ok = s.verdict == CHUNKED_MORE && s.consumed == piece;
	}
	CHECK(ok && cnt.calls == 4096 && cnt.bytes == 1ull << 32 &&
	    chunked_payload_len(&d) == 1ull << 32,
	    "large chunk: 2^32 bytes in %zu sink calls (%llu)", cnt.calls,
	    (unsigned long long)chunked_payload_len(&d));
	/* the CRLF and the last-chunk after the data; X is not the body's */
	s = chunked_feed(&d, end, sizeof(end) - 1, count_sink, &cnt);
	CHECK(s.verdict == CHUNKED_DONE && s.consumed == sizeof(end) - 2 &&
	    cnt.calls == 4096, "large chunk: the end");
	free(buf);
}

/* Every reason the table expects is in the decoder's range of answers. */
static void
test_reasons(void)
{
	size_t i;

	for (i = 0; i < sizeof(chunked_cases) / sizeof(chunked_cases[0]); i++) {
		const struct ccase *c = &chunked_cases[i];
		int st = reason_status(c->why);

		if (c->verdict != CHUNKED_ERROR)
			continue;
		CHECK(st == 400 || st == 413 || st == 431, "%s: status %d",
		    c->name, st);
	}
}

int
main(void)
{
	size_t i, n = sizeof(chunked_cases) / sizeof(chunked_cases[0]);

	for (i = 0; i < n; i++)
		run_case(&chunked_cases[i]);
	printf("chunked cases: %zu\n", n);
	test_null_sink();
	test_init();
	test_large_chunk();
	test_reasons();
	return check_done("test_chunked");
}
