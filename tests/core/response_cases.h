/*
 * response_cases.h - the response table: how the proxy follows an upstream's
 * responses (RFC 9112 §6.3 message body length, RFC 9110 §7.6.1 hop-by-hop
 * fields, §15.2 interim responses); docs/framing.md names the rows that
 * cover each response rule. See test_response.c for the trace format. Rows
 * are for an HTTP/1.1 client, a GET, write_head(close = 0), no upstream
 * close after the input, one response and max_head 8192, unless the row
 * says otherwise.
 */
#ifndef LG_RESPONSE_CASES_H
#define LG_RESPONSE_CASES_H

#include <stddef.h>
#include <stdint.h>

struct rcase {
	const char *name;
	int client_minor;	/* the client's HTTP/1.x */
	int head_request;	/* the request was HEAD */
	int close_flag;		/* passed to response_write_head() */
	int eof;		/* the upstream closes after the input */
	unsigned nresp;		/* responses expected (pipelined) */
	uint32_t max_head;	/* 0: 8192 */
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *want;
};

#define ROW(n, i, w)	{ .name = n, .client_minor = 1, .nresp = 1, \
			  .in = i, .want = w }
/* client minor, HEAD, close flag, eof */
#define ROWX(n, minor_, head_, close_, eof_, i, w) \
			{ .name = n, .client_minor = minor_, \
			  .head_request = head_, .close_flag = close_, \
			  .eof = eof_, .nresp = 1, .in = i, .want = w }
/* pipelined: nresp responses */
#define ROWP(n, minor_, head_, nresp_, i, w) \
			{ .name = n, .client_minor = minor_, \
			  .head_request = head_, .nresp = nresp_, \
			  .in = i, .want = w }
/* a small max_head */
#define ROWM(n, max_, i, w) \
			{ .name = n, .client_minor = 1, .nresp = 1, \
			  .max_head = max_, .in = i, .want = w }

#define R200	"HTTP/1.1 200 OK\r\n"
#define W200	"> HTTP/1.1 200 OK\r\n"
#define KEEP	"$ reuse=1 close=0\n"
#define NOREUSE	"$ reuse=0 close=0\n"
#define CLOSED	"$ reuse=0 close=1\n"
#define TE_CH	"Transfer-Encoding: chunked\r\n"
/* chunked bodies and their lengths on the wire */
#define CHUNKS	"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"	/* 26, payload 11 */
#define PAD50	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PAD153	PAD50 PAD50 PAD50 "aaa"
/* 17 + 19 + 7 + 153 + 2 + 2 = 200 bytes of head */
#define HEAD200	R200 "Content-Length: 1\r\nX-Pad: " PAD153 "\r\n\r\n"

static const struct rcase response_cases[] = {
/* ------------------------------------------ Content-Length (§6.3 rule 6) */
ROW("Content-Length body",
    R200 "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    W200 "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\n. 5\n" KEEP),
ROW("Content-Length 0 ends with the head",
    R200 "Content-Length: 0\r\n\r\n",
    W200 "Content-Length: 0\r\n\r\n" KEEP),
ROW("Content-Length body not complete yet",
    R200 "Content-Length: 10\r\n\r\nabc",
    W200 "Content-Length: 10\r\n\r\n. 3\n= more"),
ROW("body is counted, not parsed (looks like a response)",
    R200 "Content-Length: 19\r\n\r\n" R200 "\r\n",
    W200 "Content-Length: 19\r\n\r\n. 19\n" KEEP),

/* ------------------------------------------------- chunked (§7.1) */
ROW("chunked passes through to an HTTP/1.1 client, TE re-added last",
    R200 TE_CH "Content-Type: text/plain\r\n\r\n" CHUNKS,
    W200 "Content-Type: text/plain\r\n" TE_CH "\r\n. 26\n" KEEP),
ROWX("chunked is de-chunked for an HTTP/1.0 client, which must close",
    0, 0, 0, 0,
    R200 TE_CH "Content-Type: text/plain\r\n\r\n" CHUNKS,
    W200 "Content-Type: text/plain\r\nConnection: close\r\n\r\n~ 11\n"
    "$ reuse=1 close=1\n"),
ROW("chunk extensions pass through",
    R200 TE_CH "\r\n5;c=\"d e\"\r\nhello\r\n0;last\r\n\r\n",
    W200 TE_CH "\r\n. 28\n" KEEP),
ROWX("chunk extensions are dropped when de-chunking", 0, 0, 0, 0,
    R200 TE_CH "\r\n5;c=\"d e\"\r\nhello\r\n0;last\r\n\r\n",
    W200 "Connection: close\r\n\r\n~ 5\n$ reuse=1 close=1\n"),
/* llhttp 8.1 refuses a second chunk extension, which RFC 9112 §7.1.1
 * allows: a known deviation, on the safe side (502, never a desync) */
ROW("several chunk extensions on one chunk: llhttp 8.1 refuses",
    R200 TE_CH "\r\n5;a=b;c=d\r\nhello\r\n0\r\n\r\n",
    W200 TE_CH "\r\n! upstream_invalid_response: Invalid character in chunk size\n"),
ROW("trailer section passes through (Trailer field dropped)",
    R200 TE_CH "Trailer: X-Sum\r\n\r\n"
    "3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-More: 2\r\n\r\n",
    W200 TE_CH "\r\n. 34\n" KEEP),
ROWX("trailer section is dropped when de-chunking", 0, 0, 0, 0,
    R200 TE_CH "Trailer: X-Sum\r\n\r\n"
    "3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-More: 2\r\n\r\n",
    W200 "Connection: close\r\n\r\n~ 3\n$ reuse=1 close=1\n"),
ROWX("chunk sizes are hex in either case", 0, 0, 0, 0,
    R200 TE_CH "\r\na\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n",
    W200 "Connection: close\r\n\r\n~ 20\n$ reuse=1 close=1\n"),
ROW("chunked body not complete yet",
    R200 TE_CH "\r\n5\r\nhel",
    W200 TE_CH "\r\n. 6\n= more"),
ROW("invalid chunk size",
    R200 TE_CH "\r\nxyz\r\n",
    W200 TE_CH "\r\n! upstream_invalid_response: Invalid character in chunk size\n"),
ROW("chunk data not followed by CRLF",
    R200 TE_CH "\r\n5\r\nhelloXX\r\n0\r\n\r\n",
    W200 TE_CH "\r\n! upstream_invalid_response: Expected CRLF after chunk\n"),
ROW("Transfer-Encoding in any case",
    R200 "Transfer-Encoding: Chunked\r\n\r\n" CHUNKS,
    W200 TE_CH "\r\n. 26\n" KEEP),

/* -------------------------------------- close-delimited (§6.3 rule 8) */
ROWX("close-delimited body ends at eof; the client must close too",
    1, 0, 0, 1,
    R200 "Content-Type: text/plain\r\n\r\nabcdef",
    W200 "Content-Type: text/plain\r\nConnection: close\r\n\r\n. 6\n"
    CLOSED),
ROW("close-delimited body goes on until eof",
    R200 "Content-Type: text/plain\r\n\r\nabcdef",
    W200 "Content-Type: text/plain\r\nConnection: close\r\n\r\n. 6\n= more"),
ROWX("close-delimited empty body: eof right after the head", 1, 0, 0, 1,
    R200 "\r\n",
    W200 "Connection: close\r\n\r\n" CLOSED),
ROWX("close-delimited with close=1: one Connection: close", 1, 0, 1, 1,
    R200 "\r\nxy",
    W200 "Connection: close\r\n\r\n. 2\n" CLOSED),
ROWX("HTTP/1.0 close-delimited response", 1, 0, 0, 1,
    "HTTP/1.0 200 OK\r\n\r\nbody",
    W200 "Connection: close\r\n\r\n. 4\n" CLOSED),
ROWX("close-delimited to an HTTP/1.0 client: close, not keep-alive",
    0, 0, 0, 1,
    R200 "\r\nbody",
    W200 "Connection: close\r\n\r\n. 4\n" CLOSED),

/* ------------------------------------------------ the upstream closes */
ROWX("eof before any byte", 1, 0, 0, 1, "",
    "! upstream_closed_early: upstream closed before the response\n"),
ROWX("eof inside the head", 1, 0, 0, 1, R200 "Content-Le",
    "! upstream_closed_early: upstream closed before the response\n"),
ROWX("eof in a Content-Length body", 1, 0, 0, 1,
    R200 "Content-Length: 10\r\n\r\nabc",
    W200 "Content-Length: 10\r\n\r\n. 3\n"
    "! upstream_closed_early: upstream closed in the response body\n"),
ROWX("eof in a chunked body", 1, 0, 0, 1,
    R200 TE_CH "\r\n5\r\nhel",
    W200 TE_CH "\r\n. 6\n! upstream_closed_early: upstream closed in the response body\n"),
ROWX("eof after an interim head: the final one never came", 1, 0, 0, 1,
    "HTTP/1.1 100 Continue\r\n\r\n",
    "> HTTP/1.1 100 Continue\r\n\r\n"
    "! upstream_closed_early: upstream closed before the response\n"),

/* ------------------------- no body whatever the fields say (§6.3 rule 1) */
/* a length on a head that has no body is legal, but a sloppy upstream may
 * send that body anyway: the connection is not reused (docs/framing.md) */
ROWX("HEAD: Content-Length kept, no body, no reuse", 1, 1, 0, 0,
    R200 "Content-Length: 5\r\n\r\n",
    W200 "Content-Length: 5\r\n\r\n" NOREUSE),
ROWX("HEAD: Content-Length 0 leaves no doubt: reused", 1, 1, 0, 0,
    R200 "Content-Length: 0\r\n\r\n",
    W200 "Content-Length: 0\r\n\r\n" KEEP),
ROWX("HEAD: chunked head to an HTTP/1.1 client, no body, no reuse", 1, 1, 0, 0,
    R200 TE_CH "\r\n",
    W200 TE_CH "\r\n" NOREUSE),
ROWX("HEAD: no Transfer-Encoding to an HTTP/1.0 client (§6.1)", 0, 1, 0, 0,
    R200 TE_CH "\r\n",
    W200 "Connection: keep-alive\r\n\r\n" NOREUSE),
ROWX("HEAD: no length fields is no body, not close-delimited", 1, 1, 0, 0,
    R200 "Content-Type: text/html\r\n\r\n",
    W200 "Content-Type: text/html\r\n\r\n" KEEP),
ROWP("HEAD: two pipelined, the second starts right after the first head",
    1, 1, 2,
    R200 "Content-Length: 5\r\n\r\nHTTP/1.1 404 Not Found\r\n"
    "Content-Length: 9\r\n\r\n",
    W200 "Content-Length: 5\r\n\r\n" NOREUSE
    "> HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n" NOREUSE),
ROW("204 No Content",
    "HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n",
    "> HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    "\r\n" KEEP),
ROW("304 Not Modified",
    "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n",
    "> HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n" KEEP),
ROWP("204 then the next response", 1, 0, 2,
    "HTTP/1.1 204 No Content\r\n\r\n" R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 204 No Content\r\n\r\n" KEEP
    W200 "Content-Length: 2\r\n\r\n. 2\n" KEEP),
ROWP("304 with Content-Length has no body (§8.6 of RFC 9110), no reuse",
    1, 0, 2,
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
    R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" NOREUSE
    W200 "Content-Length: 2\r\n\r\n. 2\n" KEEP),
ROWP("204 with Content-Length: no body, the field dropped (§8.6), no reuse",
    1, 0, 2,
    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n"
    R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n" NOREUSE
    W200 "Content-Length: 2\r\n\r\n. 2\n" KEEP),
ROWP("204 with Transfer-Encoding: chunked: no body, none written (§6.1)",
    1, 0, 2,
    "HTTP/1.1 204 No Content\r\n" TE_CH "\r\n"
    R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 204 No Content\r\n\r\n" NOREUSE
    W200 "Content-Length: 2\r\n\r\n. 2\n" KEEP),
ROWP("304 with Transfer-Encoding: chunked has no body, no reuse", 1, 0, 2,
    "HTTP/1.1 304 Not Modified\r\n" TE_CH "\r\n"
    R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 304 Not Modified\r\n" TE_CH "\r\n" NOREUSE
    W200 "Content-Length: 2\r\n\r\n. 2\n" KEEP),

/* ---------------------------------------- interim responses (§15.2) */
/* any 1xx leaves the connection in doubt: not reused */
ROW("100 with Content-Length: the field dropped (§8.6), then 200",
    "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n"
    R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 100 Continue\r\n\r\n"
    W200 "Content-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("100 Continue then 200",
    "HTTP/1.1 100 Continue\r\n\r\n" R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 100 Continue\r\n\r\n"
    W200 "Content-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("103 Early Hints keeps its fields, then 200",
    "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
    R200 "Link: </s.css>; rel=preload\r\nContent-Length: 2\r\n\r\nok",
    "> HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
    W200 "Link: </s.css>; rel=preload\r\nContent-Length: 2\r\n\r\n. 2\n"
    NOREUSE),
ROW("100 and 103 then a chunked 200",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"
    R200 TE_CH "\r\n" CHUNKS,
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 103 Early Hints\r\n\r\n"
    W200 TE_CH "\r\n. 26\n" NOREUSE),
ROW("eight interim heads, then the final one",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    R200 "Content-Length: 0\r\n\r\n",
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    W200 "Content-Length: 0\r\n\r\n" NOREUSE),
ROW("a ninth interim head is too many",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\n" R200 "Content-Length: 0\r\n\r\n",
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    "> HTTP/1.1 100 Continue\r\n\r\n> HTTP/1.1 100 Continue\r\n\r\n"
    "! upstream_invalid_response: too many interim responses\n"),
ROWX("close=1: no Connection on the interim head, close on the final",
    1, 0, 1, 0,
    "HTTP/1.1 100 Continue\r\n\r\n" R200 "Content-Length: 2\r\n\r\nok",
    "> HTTP/1.1 100 Continue\r\n\r\n"
    W200 "Content-Length: 2\r\nConnection: close\r\n\r\n. 2\n" NOREUSE),
ROW("101 Switching Protocols was never asked for",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\n\r\n",
    "! upstream_invalid_response: unexpected 101 Switching Protocols\n"),

/* ------------------------------------- fields (RFC 9110 §5.5, §7.6.1) */
ROW("hop-by-hop fields removed, end-to-end kept in order and case",
    R200 "Date: Mon\r\nCONNECTION: keep-alive\r\nkeep-alive: timeout=5\r\n"
    "X-One: 1\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
    "Trailer: X-T\r\nUpgrade: h2c\r\nx-two: Two\r\nSet-Cookie: a=b\r\n"
    "Set-Cookie: c=d\r\nContent-Length: 2\r\n\r\nhi",
    W200 "Date: Mon\r\nX-One: 1\r\nx-two: Two\r\nSet-Cookie: a=b\r\n"
    "Set-Cookie: c=d\r\nContent-Length: 2\r\n\r\n. 2\n" KEEP),
ROW("Connection: close from upstream: no reuse, the client may stay",
    R200 "Connection: close\r\nContent-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("Connection: close in any case and in a list",
    R200 "Connection: Keep-Alive , CLOSE\r\nContent-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("Connection: keep-alive, X-Foo refuses the reuse",
    R200 "Connection: keep-alive, X-Foo\r\nContent-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("fields named by Connection are removed (§7.6.1)",
    R200 "X-Foo: 1\r\nConnection: x-foo\r\nX-Bar: kept\r\nX-FOO: 2\r\n"
    "Content-Length: 2\r\n\r\nhi",
    W200 "X-Bar: kept\r\nContent-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("HTTP/1.0 response: not reused",
    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("HTTP/1.0 response with keep-alive: still not reused",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\n\r\n. 2\n" NOREUSE),
ROW("reason phrase preserved",
    "HTTP/1.1 404 Not Found Here\r\nContent-Length: 1\r\n\r\nx",
    "> HTTP/1.1 404 Not Found Here\r\nContent-Length: 1\r\n\r\n. 1\n" KEEP),
ROW("reason phrase with obs-text and HTAB preserved",
    "HTTP/1.1 200 Tr\xc3\xa8s\tbien\r\nContent-Length: 1\r\n\r\nx",
    "> HTTP/1.1 200 Tr\xc3\xa8s\tbien\r\nContent-Length: 1\r\n\r\n. 1\n"
    KEEP),
ROW("no reason phrase and no space: the space is sent (RFC 9112 §4)",
    "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx",
    "> HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n. 1\n" KEEP),
ROW("empty reason phrase keeps its space",
    "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx",
    "> HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n. 1\n" KEEP),
ROW("empty reason phrase, hop-by-hop fields first (split names)",
    "HTTP/1.1 200 \r\nConnection: close\r\nKeep-Alive: timeout=5\r\n"
    "Content-Length: 1\r\n\r\nx",
    "> HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n. 1\n" NOREUSE),
ROW("trailing whitespace trimmed, leading OWS dropped",
    R200 "X-A:   a b \t \r\nX-B:c\r\nContent-Length: 1 \r\n\r\nx",
    W200 "X-A: a b\r\nX-B: c\r\nContent-Length: 1\r\n\r\n. 1\n" KEEP),
/* llhttp 8.1 refuses trailing HTAB after Content-Length (OWS, allowed by
 * RFC 9112 §5.1): a known deviation, on the safe side */
ROW("Content-Length with a trailing HTAB: llhttp 8.1 refuses",
    R200 "Content-Length: 1\t\r\n\r\nx",
    "! upstream_invalid_response: Invalid character in Content-Length\n"),
ROW("obs-text and HTAB inside a value kept",
    R200 "X-T: caf\xc3\xa9\tok\r\nContent-Length: 1\r\n\r\nx",
    W200 "X-T: caf\xc3\xa9\tok\r\nContent-Length: 1\r\n\r\n. 1\n" KEEP),

/* --------------------------------------------------- write_head flags */
ROWX("close=1 adds Connection: close", 1, 0, 1, 0,
    R200 "Content-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\nConnection: close\r\n\r\n. 2\n" KEEP),
ROWX("HTTP/1.0 client kept alive gets Connection: keep-alive", 0, 0, 0, 0,
    R200 "Content-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n. 2\n" KEEP),
ROWX("HTTP/1.0 client with close=1 gets Connection: close", 0, 0, 1, 0,
    R200 "Content-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 2\r\nConnection: close\r\n\r\n. 2\n" KEEP),

/* ------------------------------------------------ invalid responses */
ROW("Content-Length with Transfer-Encoding (§6.3 rule 3)",
    R200 "Content-Length: 5\r\n" TE_CH "\r\n0\r\n\r\n",
    "! upstream_invalid_response: Content-Length can't be present with Transfer-Encoding\n"),
ROW("Transfer-Encoding in an HTTP/1.0 response is faulty framing (§6.1)",
    "HTTP/1.0 200 OK\r\n" TE_CH "\r\n5\r\nhello\r\n0\r\n\r\n",
    "! upstream_invalid_response: Transfer-Encoding in an HTTP/1.0 response\n"),
ROWX("Transfer-Encoding in an HTTP/1.0 response to HEAD: faulty too",
    1, 1, 0, 0,
    "HTTP/1.0 200 OK\r\n" TE_CH "\r\n",
    "! upstream_invalid_response: Transfer-Encoding in an HTTP/1.0 response\n"),
ROW("Transfer-Encoding: gzip without chunked",
    R200 "Transfer-Encoding: gzip\r\n\r\nxyz",
    "! upstream_invalid_response: transfer coding other than chunked\n"),
ROW("Transfer-Encoding: chunked, gzip (chunked not last)",
    R200 "Transfer-Encoding: chunked, gzip\r\n\r\nxyz",
    "! upstream_invalid_response: transfer coding other than chunked\n"),
ROW("Transfer-Encoding: gzip, chunked: gzip cannot be dropped silently",
    R200 "Transfer-Encoding: gzip, chunked\r\n\r\n" CHUNKS,
    "! upstream_invalid_response: *\n"),
ROW("chunked applied twice (RFC 9112 §7.1)",
    R200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\n0\r\n\r\n\r\n0\r\n\r\n",
    "! upstream_invalid_response: *\n"),
ROW("two different Content-Lengths (§6.3 rule 5)",
    R200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "! upstream_invalid_response: Duplicate Content-Length\n"),
ROW("two equal Content-Lengths are refused too (strict)",
    R200 "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "! upstream_invalid_response: Duplicate Content-Length\n"),
ROW("Content-Length not a number",
    R200 "Content-Length: 5x\r\n\r\nhello",
    "! upstream_invalid_response: Invalid character in Content-Length\n"),
ROW("status line not HTTP",
    "HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "! upstream_invalid_response: Expected HTTP/\n"),
ROW("status code of two digits (RFC 9112 §4: 3DIGIT)",
    "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
    "! upstream_invalid_response: invalid status code\n"),
ROW("status code of four digits",
    "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    "! upstream_invalid_response: Response overflow\n"),
ROW("HTTP/2.0 status line",
    "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    "! upstream_invalid_response: unsupported HTTP version in response\n"),
/* RFC 9112 §5.2: a proxy either refuses obs-fold (502) or replaces it with
 * SP before forwarding; llhttp 8 hands the value on with the fold gone */
ROW("obs-fold in a response head is replaced by SP",
    R200 "X-A: a\r\n b\r\nContent-Length: 1\r\n\r\nx",
    W200 "X-A: a b\r\nContent-Length: 1\r\n\r\n. 1\n" KEEP),
/* RFC 9112 §2.2: a recipient MAY take a bare LF as a line end; the head is
 * written again with CRLF, so the client never sees it */
ROW("bare LF ends the status line: accepted, CRLF sent",
    "HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\nx",
    W200 "Content-Length: 1\r\n\r\n. 1\n" KEEP),
ROW("bare LF ends the head: accepted, CRLF sent",
    R200 "Content-Length: 1\r\n\nx",
    W200 "Content-Length: 1\r\n\r\n. 1\n" KEEP),
ROW("bare LF ends a field line: refused (strict)",
    R200 "X-A: 1\nContent-Length: 1\r\n\r\nx",
    "! upstream_invalid_response: Invalid header value char\n"),
ROW("bare CR inside a value",
    R200 "X-A: 1\r2\r\nContent-Length: 1\r\n\r\nx",
    "! upstream_invalid_response: Missing expected LF after header value\n"),
ROW("whitespace between field name and colon (RFC 9112 §5.1)",
    R200 "Content-Length : 1\r\n\r\nx",
    "! upstream_invalid_response: Invalid header field char\n"),
ROW("invalid character in a field name",
    R200 "X A: 1\r\nContent-Length: 1\r\n\r\nx",
    "! upstream_invalid_response: Invalid header token\n"),
ROW("empty field name (RFC 9110 §5.1: a token)",
    R200 ": empty\r\nContent-Length: 1\r\n\r\nx",
    "! upstream_invalid_response: *\n"),

/* ---------------------------------------------------------- max_head */
ROWM("head of exactly max_head bytes", 200, HEAD200 "x",
    W200 "Content-Length: 1\r\nX-Pad: " PAD153 "\r\n\r\n. 1\n" KEEP),
ROWM("head one byte over max_head", 200,
    R200 "Content-Length: 1\r\nX-Pad: a" PAD153 "\r\n\r\nx",
    "! upstream_head_too_large: response head too large\n"),
ROWM("head far over max_head", 200,
    R200 "X-Pad: " PAD153 PAD153 "\r\nContent-Length: 1\r\n\r\nx",
    "! upstream_head_too_large: response head too large\n"),
ROWM("max_head counts each head, not interim and final together", 200,
    "HTTP/1.1 100 Continue\r\n\r\n" HEAD200 "x",
    "> HTTP/1.1 100 Continue\r\n\r\n"
    W200 "Content-Length: 1\r\nX-Pad: " PAD153 "\r\n\r\n. 1\n" NOREUSE),

/* ------------------------------------------------------- pipelining */
ROWP("two pipelined responses: Content-Length then chunked", 1, 0, 2,
    R200 "Content-Length: 1\r\n\r\na" R200 TE_CH "\r\n1\r\nb\r\n0\r\n\r\n",
    W200 "Content-Length: 1\r\n\r\n. 1\n" KEEP W200 TE_CH "\r\n. 11\n" KEEP),
ROWP("two pipelined to an HTTP/1.0 client: chunked then Content-Length",
    0, 0, 2,
    R200 TE_CH "\r\n1\r\nb\r\n0\r\n\r\n" R200 "Content-Length: 2\r\n\r\nhi",
    W200 "Connection: close\r\n\r\n~ 1\n$ reuse=1 close=1\n"
    W200 "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n. 2\n" KEEP),
ROWP("Content-Length 0 then the next response", 1, 0, 2,
    R200 "Content-Length: 0\r\n\r\n" R200 "Content-Length: 2\r\n\r\nhi",
    W200 "Content-Length: 0\r\n\r\n" KEEP W200 "Content-Length: 2\r\n\r\n"
    ". 2\n" KEEP),
ROWP("second response not complete yet", 1, 0, 2,
    R200 "Content-Length: 1\r\n\r\na" R200 "Content-Len",
    W200 "Content-Length: 1\r\n\r\n. 1\n" KEEP "= more"),
};

#endif /* LG_RESPONSE_CASES_H */
