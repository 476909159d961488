/*
 * client_int.h - what client.c (a client connection's states and events)
 * and request.c (the request it is on: its record, its relay upstream)
 * share. Nothing else includes it: worker.c knows client.h only.
 */
#ifndef LG_CLIENT_INT_H
#define LG_CLIENT_INT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <time.h>

#include "client.h"
#include "io.h"
#include "reason.h"
#include "spool.h"

enum cstate {
	CS_IDLE = 0,	/* between requests (keep-alive) */
	CS_HEAD,	/* reading a request head */
	CS_SPOOL,	/* receiving a body whole, before going upstream */
	CS_DISCARD,	/* reading a refused (411) chunked body, to answer it
			   and keep the connection */
	CS_BODY,	/* relaying a request body */
	CS_WAIT,	/* request sent, waiting for the response head */
	CS_RESPONSE,	/* streaming the response */
	CS_LINGER,	/* replied or failed: flushing before closing */
	CS_DRAIN,	/* our side shut down: reading until EOF (lingering) */
};

/* The record of the request a connection is on, reset at every head. */
struct request {
	unsigned active:1;		/* begun, not logged yet */
	unsigned responded:1;		/* a final head went to the client */
	unsigned head_request:1;	/* HEAD: no body in any reply */
	unsigned keep_alive:1;		/* the client allows another request */
	unsigned close_sent:1;		/* its final head said Connection: close */
	unsigned buffered:1;		/* its body is in the client's spool */
	unsigned spool_failed:1;	/* a write to the spool failed */
	int      http_minor;
	int      status;		/* what the client got (or would have) */
	enum reason reason;		/* why it was not served; NONE: it was */
	enum reason would_refuse;	/* monitor mode: why enforce mode would
					   have refused it (framing_request) */
	int      upstream;		/* index + 1 of its upstream; 0: none */
	uint64_t bytes_out;		/* response body bytes sent */
	struct timespec t_start;
	struct timespec t_up;		/* tv_sec 0: never went upstream */
	struct timespec body_end;	/* the whole body is due by then
					   (tv_sec 0: no body) */
};

struct client {
	struct worker *w;
	struct wgen *wg;
	struct io io;
	struct framing *fr;		/* NULL while idle: from the worker's pool */
	struct upstream *up;		/* the relay of the current request */
	struct event *timer;		/* the state's, armed lazily: */
	uint64_t due;			/* when it is due (worker_now_ms), 0:
					 * stopped */
	uint64_t armed;			/* when the pending event fires, 0:
					 * not pending */
	enum cstate state;
	unsigned eof:1;			/* the client will send nothing more */
	unsigned read_whole:1;		/* its last request was read whole and
					   it may send nothing after it: the
					   close needs no lingering */
	unsigned input_held:1;		/* next request waits: output full */
	unsigned upstream_paused:1;	/* response reading off: output full */
	unsigned trusted:1;		/* the peer is in trusted_proxies (of wg) */
	struct request req;
	struct spool spool;		/* the body of req, when buffered */
	uint64_t discarded;		/* CS_DISCARD: body bytes read */
	char addr[INET6_ADDRSTRLEN];
	TAILQ_ENTRY(client) entry;
};

/* client.c */
void client_set_state(struct client *, enum cstate);
void client_touch(struct client *);
void client_timer_stop(struct client *);
void client_input(struct client *);
void client_reply(struct client *, enum reason);
void client_fail(struct client *, enum reason);
void client_close_flushed(struct client *);
void client_take_gen(struct client *);
void client_framing_put(struct client *);

/* request.c */
void request_begin(struct client *);
void request_finalize(struct client *, int status, enum reason);
void request_gone(struct client *);
void request_start(struct client *);
void request_body(struct client *);
void request_spool(struct client *);

#endif /* LG_CLIENT_INT_H */
