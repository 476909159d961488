/*
 * test_response.c - the upstream-response follower (src/core/response.c).
 *
 * Every row of response_cases.h is fed whole, split in two at every byte
 * offset, and one byte at a time; each way must give the same trace:
 *
 *   "> " + response_write_head()  RESPONSE_HEAD (interim 1xx heads too)
 *   ". N\n"                       N bytes of BODY/END passed through as they
 *                                 are (response_passthrough()), summed
 *   "~ N\n"                       N de-chunked bytes handed to the sink, summed
 *   "$ reuse=R close=C\n"         RESPONSE_END: response_reusable(),
 *                                 response_client_close()
 *   "! LABEL: DETAIL\n"           RESPONSE_ERROR: reason_label() of
 *                                 response_refusal(), response_error()
 *   "+ N unread\n"                bytes after the row's last response
 *   "= more"                      the input is used up, the response goes on
 *
 * The row's response_begin() comes first and again after each END until the
 * row's count of responses has ended. After RESPONSE_HEAD the rest of the
 * piece is fed again even when nothing is left: a response without a body
 * (HEAD, 204, 304, Content-Length: 0) ends right after its head, and must not
 * wait for bytes the upstream will never send. When the input is used up, a
 * row with `eof` calls response_eof() and records its step the same way.
 * Body bytes counted since the last head are left out of the trace when
 * response_feed() then fails: how many went before the error depends on how
 * the input was cut (the proxy closes both sides either way).
 *
 * Each piece is copied into a buffer of exactly its size, so that a read past
 * the end is caught by AddressSanitizer (the sanitizer build runs this too).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../trace.h"
#include "lit.h"
#include "response.h"
#include "response_cases.h"

#define TRACE_MAX 8192

struct trace {
	char buf[TRACE_MAX];
	size_t len;
	uint64_t pass;		/* passed-through bytes not yet written to buf */
	uint64_t sunk;		/* de-chunked bytes not yet written to buf */
	uint64_t unread;	/* bytes after the row's last response */
	unsigned sum;		/* of the sunk bytes: makes ASan read them */
	unsigned ended;		/* responses ended so far */
	int stopped;		/* an error: nothing more is fed */
};

static void
trace_add(struct trace *t, const char *s, size_t n)
{
	trace_append(t->buf, sizeof(t->buf), &t->len, s, n);
}

static void
trace_str(struct trace *t, const char *s)
{
	trace_add(t, s, strlen(s));
}

static void
trace_flush_body(struct trace *t)
{
	char tmp[48];

	if (t->pass) {
		snprintf(tmp, sizeof(tmp), ". %llu\n", (unsigned long long)t->pass);
		trace_str(t, tmp);
		t->pass = 0;
	}
	if (t->sunk) {
		snprintf(tmp, sizeof(tmp), "~ %llu\n", (unsigned long long)t->sunk);
		trace_str(t, tmp);
		t->sunk = 0;
	}
}

static void
test_sink(void *arg, const char *data, size_t len)
{
	struct trace *t = arg;
	size_t i;

	for (i = 0; i < len; i++)
		t->sum += (unsigned char)data[i];
	t->sunk += len;
}

static void
begin(struct response *r, const struct rcase *c, struct trace *t)
{
	response_begin(r, c->head_request, c->client_minor, test_sink, t);
}

/*
 * Record one step of response_feed() or response_eof(). Returns 1 when the
 * row's last response has ended or an error stopped it: feed no more.
 */
static int
record(struct response *r, const struct rcase *c, struct trace *t,
    struct response_step s)
{
	char tmp[160];
	long hl;

	switch (s.verdict) {
	case RESPONSE_MORE:
		return 0;
	case RESPONSE_HEAD: {
		char head[TRACE_MAX];

		trace_flush_body(t);
		hl = response_write_head(r, c->close_flag, head, sizeof(head));
		trace_add(t, LIT("> "));
		if (hl < 0)
			trace_str(t, "?head-too-big\n");
		else
			trace_add(t, head, (size_t)hl);
		return 0;
	}
	case RESPONSE_BODY:
	case RESPONSE_END:
		if (response_passthrough(r))
			t->pass += s.consumed;
		if (s.verdict == RESPONSE_BODY)
			return 0;
		trace_flush_body(t);
		snprintf(tmp, sizeof(tmp), "$ reuse=%d close=%d\n",
		    response_reusable(r), response_client_close(r));
		trace_str(t, tmp);
		if (++t->ended == c->nresp)
			return 1;
		begin(r, c, t);
		return 0;
	case RESPONSE_ERROR:
		trace_flush_body(t);
		snprintf(tmp, sizeof(tmp), "! %s: %s\n",
		    reason_label(response_refusal(r)), response_error(r));
		trace_str(t, tmp);
		t->stopped = 1;
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "?verdict %d\n", (int)s.verdict);
	trace_str(t, tmp);
	t->stopped = 1;
	return 1;
}

/* Feed one piece; append what happens to the trace. */
static void
feed_piece(struct response *r, const struct rcase *c, struct trace *t,
    const char *src, size_t n)
{
	struct response_step s;
	char *buf, *p;

	if (t->stopped)
		return;
	if (t->ended == c->nresp) {
		t->unread += n;
		return;
	}
	buf = malloc(n ? n : 1);
	if (buf == NULL) {
		trace_str(t, "?malloc\n");
		t->stopped = 1;
		return;
	}
	memcpy(buf, src, n);
	p = buf;
	for (;;) {
		s = response_feed(r, p, n);
		if (s.consumed > n) {
			trace_str(t, "?overconsumed\n");
			t->stopped = 1;
			break;
		}
		p += s.consumed;
		n -= s.consumed;
		if (s.verdict == RESPONSE_MORE && n != 0)
			trace_str(t, "?more-with-input\n");
		if (s.verdict == RESPONSE_ERROR)
			t->pass = t->sunk = 0;
		if (record(r, c, t, s)) {
			if (!t->stopped)
				t->unread += n;
			break;
		}
		if (s.verdict == RESPONSE_MORE)
			break;
		if (s.verdict == RESPONSE_BODY && s.consumed == 0 && n != 0) {
			trace_str(t, "?body-stuck\n");
			break;
		}
		/* after a head, once more even with nothing left */
		if (n == 0 && s.verdict != RESPONSE_HEAD)
			break;
	}
	free(buf);
}

static void
trace_end(struct response *r, const struct rcase *c, struct trace *t)
{
	char tmp[48];

	if (t->stopped)
		return;
	if (c->eof && t->ended < c->nresp)
		record(r, c, t, response_eof(r));
	if (t->stopped)
		return;
	trace_flush_body(t);
	if (t->unread) {
		snprintf(tmp, sizeof(tmp), "+ %llu unread\n",
		    (unsigned long long)t->unread);
		trace_str(t, tmp);
	}
	if (t->ended < c->nresp)
		trace_str(t, "= more");
}

/* Feed `in` cut at the offsets in cuts[0..ncuts) and return the trace. */
static void
run_cuts(const struct rcase *c, const char *in, size_t len,
    const size_t *cuts, size_t ncuts, struct trace *t)
{
	struct response *r;
	size_t i, at = 0;

	memset(t, 0, sizeof(*t));
	r = response_new(c->max_head ? c->max_head : 8192);
	if (r == NULL) {
		trace_str(t, "?response_new\n");
		return;
	}
	begin(r, c, t);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		feed_piece(r, c, t, in + at, end - at);
		at = end;
	}
	trace_end(r, c, t);
	response_free(r);
}

/*
 * `want` matches `got` exactly, except that a '*' in want stands for any
 * run of characters up to the end of the line (used where only the verdict
 * matters, not the wording of the error).
 */
static int
trace_match(const char *want, const char *got)
{
	for (; *want; want++) {
		if (*want == '*') {
			while (*got && *got != '\n')
				got++;
		} else if (*want == *got) {
			got++;
		} else {
			return 0;
		}
	}
	return *got == '\0';
}

static unsigned rows_failed;

/*
 * Run one row three ways. The whole-input trace is checked against the row;
 * the split and byte-at-a-time traces against the row too when the whole
 * one matched, else against the whole one (so that a failing row still says
 * whether the module is at least consistent).
 */
static void
run_case(const struct rcase *c)
{
	size_t len = c->len ? c->len : strlen(c->in);
	struct trace *whole, *t;
	size_t k, *cuts;
	int ok, whole_ok, row_ok = 1;

	whole = malloc(sizeof(*whole));
	t = malloc(sizeof(*t));
	if (whole == NULL || t == NULL) {
		CHECK(0, "%s: out of memory", c->name);
		free(whole);
		free(t);
		return;
	}
	run_cuts(c, c->in, len, NULL, 0, whole);
	whole_ok = trace_match(c->want, whole->buf);
	CHECK(whole_ok, "%s: whole", c->name);
	if (!whole_ok) {
		row_ok = 0;
		trace_show("want", c->want);
		trace_show("got ", whole->buf);
	}

	/* split at every offset */
	ok = 1;
	for (k = 1; k < len && ok; k++) {
		run_cuts(c, c->in, len, &k, 1, t);
		ok = whole_ok ? trace_match(c->want, t->buf) :
		    strcmp(t->buf, whole->buf) == 0;
		if (!ok) {
			CHECK(0, "%s: split at %zu differs from %s", c->name, k,
			    whole_ok ? "the row" : "the whole input");
			trace_show("got ", t->buf);
		}
	}
	if (ok)
		CHECK(1, "%s: every split", c->name);
	else
		row_ok = 0;

	/* one byte at a time */
	cuts = malloc(len * sizeof(*cuts) + 1);
	if (cuts == NULL) {
		CHECK(0, "%s: out of memory", c->name);
		free(whole);
		free(t);
		return;
	}
	for (k = 1; k < len; k++)
		cuts[k - 1] = k;
	run_cuts(c, c->in, len, cuts, len ? len - 1 : 0, t);
	free(cuts);
	ok = whole_ok ? trace_match(c->want, t->buf) :
	    strcmp(t->buf, whole->buf) == 0;
	CHECK(ok, "%s: byte at a time differs from %s", c->name,
	    whole_ok ? "the row" : "the whole input");
	if (!ok) {
		row_ok = 0;
		trace_show("got ", t->buf);
	}
	if (!row_ok)
		rows_failed++;
	free(whole);
	free(t);
}

/* ------------------------------------------------- beyond the table */

static void
collect(void *arg, const char *data, size_t len)
{
	struct trace *t = arg;

	trace_add(t, data, len);
}

/* The sink gets exactly the payload: no sizes, extensions or trailers. */
static void
test_dechunk_payload(void)
{
	static const char in[] =
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5;x=y\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n";
	struct trace *t = calloc(1, sizeof(*t));
	struct response *r = response_new(8192);
	struct response_step s;
	size_t at = 0, n = sizeof(in) - 1;

	if (t == NULL || r == NULL) {
		CHECK(0, "dechunk: out of memory");
		free(t);
		response_free(r);
		return;
	}
	response_begin(r, 0, 0, collect, t);
	do {
		s = response_feed(r, in + at, n - at);
		at += s.consumed;
	} while ((s.verdict == RESPONSE_HEAD || s.verdict == RESPONSE_BODY) &&
	    at < n);
	CHECK(s.verdict == RESPONSE_END && at == n, "dechunk: ends at the end");
	CHECK(!response_passthrough(r), "dechunk: not passed through");
	CHECK(strcmp(t->buf, "hello world") == 0, "dechunk: payload \"%s\"",
	    t->buf);
	free(t);
	response_free(r);
}

/* Accessors around an interim and a final head. */
static void
test_accessors(void)
{
	static const char in[] = "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx";
	struct response *r = response_new(8192);
	struct response_step s;
	size_t at = 0, n = sizeof(in) - 1;

	if (r == NULL) {
		CHECK(0, "accessors: out of memory");
		return;
	}
	response_begin(r, 0, 1, NULL, NULL);
	CHECK(!response_started(r), "accessors: nothing started yet");
	s = response_feed(r, in, n);
	at += s.consumed;
	CHECK(s.verdict == RESPONSE_HEAD && at == 25, "accessors: interim head");
	CHECK(response_interim(r) && response_status(r) == 100,
	    "accessors: interim 100");
	CHECK(response_started(r), "accessors: an interim head starts it");
	s = response_feed(r, in + at, n - at);
	at += s.consumed;
	CHECK(s.verdict == RESPONSE_HEAD && !response_interim(r) &&
	    response_status(r) == 404, "accessors: final 404");
	s = response_feed(r, in + at, n - at);
	at += s.consumed;
	CHECK(s.verdict == RESPONSE_END && at == n, "accessors: end");
	CHECK(strcmp(response_error(r), "") == 0 &&
	    response_refusal(r) == REASON_NONE, "accessors: no error");
	/* a new response starts clean */
	response_begin(r, 0, 1, NULL, NULL);
	CHECK(!response_started(r) && response_status(r) == 0,
	    "accessors: begin resets");
	response_free(r);
}

/* response_write_head never writes past cap, whatever cap is. */
static void
test_write_head_cap(void)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nX-A: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	static const char want[] = "HTTP/1.1 200 OK\r\nX-A: 1\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	struct response *r = response_new(8192);
	struct response_step s;
	size_t cap, wlen = sizeof(want) - 1;
	int bad = 0;

	if (r == NULL) {
		CHECK(0, "write_head: out of memory");
		return;
	}
	response_begin(r, 0, 1, NULL, NULL);
	s = response_feed(r, in, sizeof(in) - 1);
	CHECK(s.verdict == RESPONSE_HEAD, "write_head: head");
	for (cap = 0; cap <= wlen + 128; cap++) {
		char *out = malloc(cap ? cap : 1);
		long n;

		if (out == NULL)
			break;
		n = response_write_head(r, 1, out, cap);
		if (n >= 0 && ((size_t)n != wlen || memcmp(out, want, wlen) != 0))
			bad = 1;
		if (cap == wlen + 128 && n < 0)
			bad = 1;
		free(out);
	}
	CHECK(!bad, "write_head: -1 or the whole head for every cap");
	response_free(r);
}

/* RFC 9110 §6.6.1: a final head without Date gets the line given by
 * response_set_date(); one with a Date, and interim heads, do not. */
static void
test_date(void)
{
	static const char date[] = "Date: Tue, 01 Dec 2026 09:00:00 GMT\r\n";
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
		  "Date: Tue, 01 Dec 2026 09:00:00 GMT\r\n\r\n" },
		{ "HTTP/1.1 200 OK\r\ndate: Mon\r\nContent-Length: 0\r\n\r\n",
		  "HTTP/1.1 200 OK\r\ndate: Mon\r\nContent-Length: 0\r\n\r\n" },
		{ "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
		  "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" },
	};
	struct response *r = response_new(8192);
	char out[512];
	size_t i;
	long n;

	if (r == NULL) {
		CHECK(0, "date: out of memory");
		return;
	}
	response_set_date(r, date);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		response_begin(r, 0, 1, NULL, NULL);
		CHECK(response_feed(r, rows[i].in, strlen(rows[i].in)).verdict ==
		    RESPONSE_HEAD, "date: row %zu head", i);
		n = response_write_head(r, 0, out, sizeof(out));
		CHECK(n == (long)strlen(rows[i].want) &&
		    memcmp(out, rows[i].want, (size_t)n) == 0,
		    "date: row %zu: %.*s", i, n > 0 ? (int)n : 0, out);
	}
	/* a Date in one response does not stand for the next one's */
	response_begin(r, 0, 1, NULL, NULL);
	(void)response_feed(r, rows[0].in, strlen(rows[0].in));
	n = response_write_head(r, 0, out, sizeof(out));
	CHECK(n == (long)strlen(rows[0].want), "date: added again");
	response_free(r);
}

int
main(void)
{
	size_t i, n = sizeof(response_cases) / sizeof(response_cases[0]);

	for (i = 0; i < n; i++)
		run_case(&response_cases[i]);
	printf("response cases: %zu rows, %u failing\n", n, rows_failed);
	test_dechunk_payload();
	test_accessors();
	test_write_head_cap();
	test_date();
	return check_done("test_response");
}
