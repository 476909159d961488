/*
 * fuzz_chunked.c - libFuzzer target for the chunked body decoder.
 *
 * The input's first byte picks max_payload and how many of the next bytes
 * give piece sizes; the rest is a chunked body (and whatever follows it).
 * It is fed twice, whole and in pieces of those sizes, and the two traces
 * (the payload the sink got, the verdict, the consumed total, the reason)
 * must agree. Along the way:
 *   - a step never consumes more than it was given, and MORE consumes all;
 *   - every sink call has at least one byte, inside the piece being fed;
 *   - chunked_payload_len() is the sum of the sink calls, never above
 *     max_payload;
 *   - ERROR has a reason, and the reason's status is 400, 413 or 431;
 *     DONE and MORE have none;
 *   - after DONE or ERROR, more input is neither consumed nor passed on;
 *   - a body decoded to DONE, chunked again as one chunk (and as an empty
 *     body when its payload is empty), decodes to the same payload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "chunked.h"
#include "lit.h"
#include "reason.h"

#define TRACE 65536

struct trace {
	char buf[TRACE];
	size_t len;
	const char *lo, *hi;	/* the piece being fed */
	uint64_t sunk;		/* bytes the sink got */
};

static void
add(struct trace *t, const void *p, size_t n)
{
	trace_append(t->buf, sizeof(t->buf), &t->len, p, n);
}

static void
sink(void *arg, const char *data, size_t len)
{
	struct trace *t = arg;

	if (len == 0 || data < t->lo || data + len > t->hi)
		abort();
	t->sunk += len;
	add(t, data, len);
}

static const uint64_t limits[4] = { 0, 16, 1000, UINT64_MAX };

/* Decode data[0..size) in pieces (cuts[k % ncuts] + 1 bytes each; whole
 * when ncuts is 0) and write the trace. Returns the verdict. */
static enum chunked_verdict
run(uint64_t max, const uint8_t *data, size_t size, const uint8_t *cuts,
    size_t ncuts, struct trace *t, size_t *consumed)
{
	struct chunked_limits lim = { .max_payload = max };
	struct chunked d;
	struct chunked_step s = { CHUNKED_MORE, 0 };
	size_t at = 0, k = 0, total = 0;
	char tail[2 + 8];
	int st;

	t->len = 0;
	t->sunk = 0;
	chunked_init(&d, &lim);
	while (at < size) {
		size_t piece = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : size - at;
		char *copy;

		if (piece > size - at)
			piece = size - at;
		copy = malloc(piece);
		memcpy(copy, data + at, piece);
		t->lo = copy;
		t->hi = copy + piece;
		s = chunked_feed(&d, copy, piece, sink, t);
		if (s.consumed > piece)
			abort();
		if (s.verdict == CHUNKED_MORE && s.consumed != piece)
			abort();
		total += s.consumed;
		at += piece;
		if (s.verdict != CHUNKED_MORE) {
			/* the verdict stands */
			uint64_t before = t->sunk;
			struct chunked_step again = chunked_feed(&d,
			    copy + s.consumed, piece - s.consumed, sink, t);

			if (again.verdict != s.verdict || again.consumed != 0 ||
			    t->sunk != before)
				abort();
			free(copy);
			break;
		}
		free(copy);
	}
	if (chunked_payload_len(&d) != t->sunk || t->sunk > max)
		abort();
	st = reason_status(chunked_reason(&d));
	if (s.verdict == CHUNKED_ERROR ? st != 400 && st != 413 && st != 431 :
	    chunked_reason(&d) != REASON_NONE)
		abort();
	tail[0] = (char)s.verdict;
	tail[1] = (char)chunked_reason(&d);
	memcpy(tail + 2, &(uint64_t){ total }, 8);
	add(t, tail, sizeof(tail));
	*consumed = total;
	return s.verdict;
}

/* The payload chunked again as one chunk decodes to itself. */
static void
check_rechunk(const char *payload, size_t n)
{
	static char buf[TRACE + 64];
	struct chunked_limits lim = { .max_payload = n };
	struct trace *t = calloc(1, sizeof(*t));
	struct chunked d;
	struct chunked_step s;
	size_t len = 0;
	int m;

	if (t == NULL || n > TRACE) {
		free(t);
		return;
	}
	if (n > 0) {
		m = snprintf(buf, sizeof(buf), "%zx\r\n", n);
		len = (size_t)m;
		memcpy(buf + len, payload, n);
		len += n;
		memcpy(buf + len, LIT("\r\n"));
		len += LITLEN("\r\n");
	}
	memcpy(buf + len, LIT("0\r\n\r\n"));
	len += LITLEN("0\r\n\r\n");
	t->lo = buf;
	t->hi = buf + len;
	chunked_init(&d, &lim);
	s = chunked_feed(&d, buf, len, sink, t);
	if (s.verdict != CHUNKED_DONE || s.consumed != len || t->len != n ||
	    memcmp(t->buf, payload, n) != 0)
		abort();
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace a, b;
	size_t ncuts, ca, cb;
	uint64_t max;
	enum chunked_verdict v;

	if (size < 1)
		return 0;
	max = limits[data[0] & 3];
	ncuts = (data[0] >> 2) & 7;
	if (ncuts + 1 > size)
		return 0;
	v = run(max, data + 1 + ncuts, size - 1 - ncuts, NULL, 0, &a, &ca);
	run(max, data + 1 + ncuts, size - 1 - ncuts, data + 1, ncuts ? ncuts : 1,
	    &b, &cb);
	if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0 || ca != cb)
		abort();
	if (v == CHUNKED_DONE)
		check_rechunk(a.buf, a.len - (2 + 8));
	return 0;
}
