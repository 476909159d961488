/*
 * response.h - follow an upstream's responses (llhttp in response mode) so
 * that the proxy knows where each ends, rewrites each head for the client,
 * and reuses an upstream connection only when its framing is certain.
 *
 * Like framing.h, this is core code: bytes in, verdicts out, no sockets and
 * no allocation after response_new().
 */
#ifndef LG_RESPONSE_H
#define LG_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"

enum response_verdict {
	RESPONSE_MORE = 0,	/* all input used, the response goes on */
	RESPONSE_HEAD,		/* a head is complete: response_write_head() */
	RESPONSE_BODY,		/* `consumed` bytes to pass through as they are */
	RESPONSE_END,		/* the response is complete (consumed: its last bytes) */
	RESPONSE_ERROR,		/* invalid response: close both sides (502 if
				   nothing was sent to the client yet) */
};

struct response_step {
	enum response_verdict verdict;
	size_t consumed;
};

struct response;

/*
 * Body bytes of a chunked response going to an HTTP/1.0 client must be
 * de-chunked: they are handed to this sink instead of passed through.
 */
typedef void (*response_sink)(void *arg, const char *data, size_t len);

/* 1xx heads allowed before the final one (RFC 9110 §15.2 sets no bound;
 * an upstream that sends more is broken or hostile): 502 above it. */
#define RESPONSE_MAX_INTERIM	8

struct response *response_new(uint32_t max_head);
void response_free(struct response *);

/*
 * Expect the response to a new request. head_request: the request was HEAD
 * (no body follows any head). client_minor: the client's HTTP/1.x. sink:
 * where de-chunked body bytes go when needed.
 */
void response_begin(struct response *, int head_request, int client_minor,
    response_sink sink, void *sink_arg);

/*
 * The "Date: ...\r\n" line that response_write_head() adds to a final head
 * that has no Date field (RFC 9110 §6.6.1: a recipient with a clock adds
 * one to a response it forwards). NULL, the default, adds none. The line is
 * read, not copied, when the head is written: it must live until then.
 */
void response_set_date(struct response *, const char *date_line);

struct response_step response_feed(struct response *, const char *data, size_t len);

/* The upstream closed: ends a close-delimited body, else an error. */
struct response_step response_eof(struct response *);

int response_status(const struct response *);
int response_passthrough(const struct response *); /* BODY bytes go as they are */
int response_interim(const struct response *);	/* 1xx: a final head follows */
int response_started(const struct response *);	/* a head went to the client */
/* After END: may the upstream connection carry another request? Only when
 * the response's end was certain and its framing gave no reason for doubt
 * (not close-delimited, no Connection: close or option, HTTP/1.1, no 1xx,
 * no length announced on a head that has no body). */
int response_reusable(const struct response *);
int response_client_close(const struct response *);	/* client must close */
const char *response_error(const struct response *);	/* detail, for logs */

/*
 * After RESPONSE_ERROR, why, from the reason table (all 502):
 * REASON_UPSTREAM_CLOSED_EARLY, REASON_UPSTREAM_HEAD_TOO_LARGE or
 * REASON_UPSTREAM_INVALID_RESPONSE. REASON_NONE otherwise.
 */
enum reason response_refusal(const struct response *);

/*
 * Write the head for the client: HTTP/1.1 status line, the upstream's
 * end-to-end fields, Transfer-Encoding: chunked when chunks pass through,
 * Connection: close when `close` (or when the body is close-delimited), and
 * Connection: keep-alive for a keep-alive HTTP/1.0 client. Returns the
 * length, or -1 if cap is too small.
 */
long response_write_head(const struct response *, int close, char *out, size_t cap);

#endif /* LG_RESPONSE_H */
