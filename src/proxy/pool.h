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
	struct event *timer;		/* idle expiry */
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
 * fresh_only). An idle one is handed out only when nothing arrived on it
 * since its last response ended, as its read event may not have told yet
 * (a peek): a byte there belongs to no request, and would be taken for the
 * next one's response. Its io events go to cb(arg) from now on. NULL when a
 * new connection cannot even be started.
 */
struct upconn *pool_get(struct wgen *, int idx, int fresh_only, io_cb cb,
    void *arg, int *reused);

/* A connection whose last exchange ended cleanly: idle it, or free it when
 * the pool is full, the wgen is not current, or it has unread bytes or
 * unsent ones. */
void pool_put(struct upconn *);

/* Close and free a connection, busy or idle. */
void pool_close(struct upconn *);

/* Close every idle connection of wg (reload, stop). */
void pool_drain(struct wgen *);

#endif /* LG_POOL_H */
