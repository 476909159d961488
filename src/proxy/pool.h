/*
 * pool.h - upstream connections: opening them, the idle keep-alive lists
 * (one per upstream per wgen), and the choice of upstream.
 *
 * An upconn is either busy (one relay owns it, upstream.c) or idle in its
 * wgen's list, where any event (the upstream closing it, or sending bytes
 * nobody asked for) or the keep-alive timer frees it.
 */
#ifndef LG_POOL_H
#define LG_POOL_H

#include "io.h"
#include "response.h"
#include "worker.h"

enum upconn_state {
	UC_CONNECTING = 0,	/* connect() in progress */
	UC_BUSY,		/* connected, owned by a relay */
	UC_IDLE,		/* connected, in the pool */
};

struct upconn {
	struct wgen *wg;
	int idx;			/* upstream index in the gen */
	enum upconn_state state;
	struct io io;
	struct response *resp;		/* follows this connection's responses */
	struct event *timer;		/* idle expiry, armed lazily: it may
					 * be pending while busy, or early */
	int timer_on;			/* it is pending */
	uint64_t idle_round;		/* worker round it last went idle in */
	uint64_t idle_ms;		/* and when (worker_now_ms) */
	int unordered;			/* its read event kept the default
					 * priority: peek before reuse */
	TAILQ_ENTRY(upconn) entry;
};

/*
 * The next upstream to try, by smooth weighted round robin among those in
 * use and not in `tried` (a bit per index), the backups only when no other
 * one is left; -1 when none is. An upstream is out of use for fail_timeout
 * after max_fails failed attempts within fail_timeout (nginx's passive
 * health); a lone upstream never is (nothing else could serve).
 */
int pool_pick(struct wgen *, unsigned tried);

/* An attempt on upstream idx failed (connect refused, timed out...), or
 * succeeded: the health the choice above uses. Logged once per change. */
void pool_failed(struct wgen *, int idx);
void pool_ok(struct wgen *, int idx);

/*
 * A connection to upstream `idx` of wg: an idle one from the pool (*reused
 * = 1), or a new one being connected (*reused = 0; always, with
 * fresh_only). Its io events go to cb(arg) from now on. NULL when a new
 * connection cannot even be started.
 *
 * An idle connection is handed out only when nothing arrived on it since
 * its last response ended: a byte there belongs to no request and would be
 * taken for the next one's response; an end there would fail the request.
 * What arrived before the worker's latest dispatch has been handled: idle
 * connections' read events run before any other callback of a dispatch
 * (WORKER_PRIO_IDLE), and one that is found still queued (active) is not
 * handed out. So a connection idle since an earlier round of the loop is
 * handed out as it is, with no system call, unless a non-blocking peek is
 * worth one:
 *   - a connection that went idle in the current round is always peeked
 *     at (no dispatch since: its end may be in the socket, unreported);
 *   - so is every connection of an upstream that has been seen to end an
 *     idle connection soon after its response, or to send bytes nobody
 *     asked for;
 *   - and, for a request that cannot be retried (`retryable` 0: not
 *     idempotent, or its body too large to replay), every connection of
 *     an upstream that has not yet answered on a reused connection (so
 *     nothing says it keeps connections open).
 * A request that cannot be retried takes no idle connection at all from
 * an upstream that has ended one soon after its response (busybox httpd
 * answers in HTTP/1.1 without "Connection: close" and closes): its close
 * may still be on the way, which no peek sees.
 *
 * What no check can see remains: bytes or an end that arrive after the
 * latest dispatch (where a peek is made: after the peek) and before the
 * upstream answers the request written on the connection. (A dispatch
 * reports at most as many sockets as libevent's event array holds, which
 * grows when a dispatch fills it: a worker with more sockets ready at once
 * may see an idle connection's end one dispatch late, as if it had come
 * after the dispatch.) The peek before
 * every reuse only narrowed that window to its own instant; here it opens
 * at the dispatch, earlier by the callbacks that ran before this one in
 * the round (microseconds), where the part that follows (the upstream
 * reading the request and answering) was always there. HTTP/1.1 cannot
 * tell such bytes from the response; an idempotent request whose reused
 * connection ends with no response byte is retried once (upstream.c).
 * Among idle connections, the most recent one of an earlier round is
 * preferred to one of this round.
 */
struct upconn *pool_get(struct wgen *, int idx, int fresh_only,
    int retryable, io_cb cb, void *arg, int *reused);

/* What the choice above learns from a reused connection: it answered (the
 * upstream keeps connections), or it ended with no response byte (soon
 * after the response before it: the upstream closes them silently). */
void pool_reuse_answered(struct upconn *);
void pool_reuse_ended(struct upconn *);

/* A connection whose last exchange ended cleanly: idle it, or free it when
 * the pool is full, the wgen is not current, or it has unread bytes or
 * unsent ones. */
void pool_put(struct upconn *);

/* Close and free a connection, busy or idle. */
void pool_close(struct upconn *);

/* Close every idle connection of wg (reload, stop). */
void pool_drain(struct wgen *);

#endif /* LG_POOL_H */
