/*
 * fuzz_response.c - libFuzzer target for the upstream response follower.
 *
 * The input is what an upstream sends on one connection. It is fed twice,
 * whole and in pieces whose sizes come from the input's first bytes; the
 * traces (each head as rewritten for the client, the body bytes passed on
 * or de-chunked per response, the end, errors and their reasons) must
 * agree, and no step may consume more than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "lit.h"
#include "reason.h"
#include "response.h"

#define TRACE 65536

struct trace {
	char buf[TRACE];
	size_t len;
	uint64_t pass, sunk;
};

static void
add(struct trace *t, const void *p, size_t n)
{
	trace_append(t->buf, sizeof(t->buf), &t->len, p, n);
}

static void
add_count(struct trace *t, char tag, uint64_t v)
{
	char tmp[24];
	int i = 0;

	tmp[i++] = tag;
	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i < 22);
	add(t, tmp, (size_t)i);
}

static void
sink(void *arg, const char *data, size_t len)
{
	struct trace *t = arg;
	size_t i;
	volatile unsigned s = 0;

	for (i = 0; i < len; i++)	/* make ASan read every byte */
		s += (unsigned char)data[i];
	t->sunk += len;
}

/* Feed one connection's bytes, cut at `cuts` (whole when ncuts is 0). */
static void
run(const uint8_t *data, size_t size, const uint8_t *cuts, size_t ncuts,
    int head, int minor, struct trace *t)
{
	struct response *r = response_new(2048);
	size_t at = 0, k = 0;
	char out[4096];
	int done = 0;

	response_begin(r, head, minor, sink, t);
	while (!done && at <= size) {
		size_t piece = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : size - at;
		char *copy;
		const char *p;
		size_t n;

		if (piece > size - at)
			piece = size - at;
		copy = malloc(piece ? piece : 1);
		memcpy(copy, data + at, piece);
		p = copy;
		n = piece;
		at += piece;
		for (;;) {
			struct response_step s = response_feed(r, p, n);
			long m;

			if (s.consumed > n)
				abort();
			if (s.verdict == RESPONSE_HEAD) {
				m = response_write_head(r, 0, out, sizeof(out));
				if (m < 0 || (size_t)m > sizeof(out))
					abort();
				add(t, LIT("H"));
				add(t, out, (size_t)m);
			} else if (s.verdict == RESPONSE_BODY ||
			    s.verdict == RESPONSE_END) {
				if (response_passthrough(r))
					t->pass += s.consumed;
			}
			p += s.consumed;
			n -= s.consumed;
			if (s.verdict == RESPONSE_END) {
				add_count(t, 'P', t->pass);
				add_count(t, 'S', t->sunk);
				add_count(t, 'R', (uint64_t)response_reusable(r));
				add_count(t, 'C', (uint64_t)response_client_close(r));
				t->pass = t->sunk = 0;
				if (!response_reusable(r)) {
					done = 1;	/* the connection ends here */
					break;
				}
				response_begin(r, head, minor, sink, t);
				continue;
			}
			if (s.verdict == RESPONSE_ERROR) {
				char e[2] = { 'E', (char)response_refusal(r) };

				/* an error has a reason, the same for any cuts */
				if (response_refusal(r) == REASON_NONE)
					abort();
				add(t, e, sizeof(e));
				done = 1;
				break;
			}
			if (s.verdict == RESPONSE_MORE && n == 0)
				break;
			if (s.verdict == RESPONSE_BODY && n == 0)
				break;
		}
		free(copy);
		if (at == size)
			break;
	}
	if (!done) {
		struct response_step s = response_eof(r);

		if (s.verdict == RESPONSE_END) {
			add_count(t, 'P', t->pass);
			add_count(t, 'S', t->sunk);
			add(t, LIT("F"));
		} else {
			char x[2] = { 'X', (char)response_refusal(r) };

			if (response_refusal(r) != REASON_UPSTREAM_CLOSED_EARLY)
				abort();
			add(t, x, sizeof(x));
		}
	}
	response_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace a, b;
	size_t ncuts;
	int head, minor;

	if (size < 2)
		return 0;
	head = data[0] & 1;
	minor = (data[0] >> 1) & 1;
	ncuts = (data[0] >> 2) & 7;
	if (ncuts + 1 > size)
		return 0;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	run(data + 1 + ncuts, size - 1 - ncuts, NULL, 0, head, minor, &a);
	run(data + 1 + ncuts, size - 1 - ncuts, data + 1, ncuts ? ncuts : 1,
	    head, minor, &b);
	if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
		abort();
	return 0;
}
