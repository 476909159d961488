/*
 * upstream.h - the upstream side of the proxy: one request relayed to one
 * upstream connection, its response followed with the core (response.h).
 *
 * This is the whole seam between a client connection (client.c) and the
 * upstream: the client starts a relay, feeds it body bytes when it says it
 * is writable, and hears back through the callbacks below. Neither side
 * touches the other's fields (h2o's http1client under its proxy does the
 * same). Retries are the relay's business and invisible to the client: a
 * connect that fails goes to the next upstream, and a reused idle
 * connection that the upstream closed before answering is replaced once by
 * a fresh one for an idempotent request (RFC 9110 §9.2.2), its head written
 * again and the body bytes sent so far replayed.
 *
 * After `end` or `failed` the relay is gone: the client must drop its
 * pointer before doing anything else. Callbacks may free the client.
 */
#ifndef LG_UPSTREAM_H
#define LG_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "reason.h"
#include "response.h"
#include "worker.h"

struct upstream;

struct upstream_cbs {
	/* Write the request head for upstream `idx` (its index in the gen)
	 * into out. 0, or -1 when it does not fit. Called again on a retry. */
	int  (*write_head)(void *arg, struct evbuffer *out, int idx);
	/* Body bytes may go now (connected, or drained to the low mark);
	 * also said once the connection is up for a request with no body. */
	void (*writable)(void *arg);
	/* A response head (interim or final) is complete: write it for the
	 * client with response_write_head(). 0, or -1 when it does not fit
	 * (the relay then fails with 502). */
	int  (*head)(void *arg, const struct response *);
	/* n bytes of response body at the front of `from`, to move as they
	 * are; or, for a de-chunked body, `len` bytes at `data`. */
	void (*body)(void *arg, struct evbuffer *from, size_t n);
	void (*data)(void *arg, const char *data, size_t len);
	/* The end of one read's worth of response: flush, check marks. */
	void (*flush)(void *arg);
	/* The response is complete; client_close: its body was delimited by
	 * the upstream's close (or de-chunked), so the client connection
	 * must close after it too. */
	void (*end)(void *arg, int client_close);
	/* Nothing more will come: why (its status is what to answer when no
	 * head was sent yet). */
	void (*failed)(void *arg, enum reason why);
};

/* What the relay must know of the request. */
struct upstream_request {
	int      head_request;		/* HEAD: no body follows any head */
	int      client_minor;		/* the client's HTTP/1.x */
	int      idempotent;		/* RFC 9110 §9.2.2: may be retried */
	uint64_t body_len;		/* Content-Length, 0 without a body */
	int      close_after;		/* never reuse the connection after it */
};

/*
 * Start relaying a request on wg: pick an upstream, take an idle
 * connection or open one, and queue the head (written by cbs->write_head).
 * Nothing is sent before upstream_send(). NULL when no upstream could be
 * even tried; the callbacks are not called from here.
 */
struct upstream *upstream_start(struct wgen *, const struct upstream_cbs *,
    void *arg, const struct upstream_request *);

/* Is the connection up, so that upstream_send() may be called? */
int upstream_ready(const struct upstream *);

/*
 * Send the queued head and `n` body bytes from the front of `from` (n may
 * be 0). Returns 1 when the upstream's output is above the high mark (stop
 * reading the client until `writable`), else 0.
 */
int upstream_send(struct upstream *, struct evbuffer *from, size_t n);

/* Stop (1) or resume (0) reading the response: the client's output is
 * above its high mark / has drained. Resuming reads what is buffered, so
 * the callbacks, `end` and `failed` included, may run from here. */
void upstream_pause(struct upstream *, int on);

/* The client is gone or failed: close the connection, free the relay. */
void upstream_abort(struct upstream *);

/* Free the relays a worker keeps for reuse (at its end). */
void upstream_pool_free(struct worker *);

#endif /* LG_UPSTREAM_H */
