/*
 * framing.h - lengthguard's decision core.
 *
 * A struct framing inspects one client connection's byte stream, in pieces
 * of any size, with llhttp in request mode. For every request it decides:
 *
 *   FRAMING_HEAD    the head is approved: forward it (framing_write_head)
 *                   followed by exactly framing_body_left() body bytes;
 *   FRAMING_BODY    `consumed` bytes of the approved request's body;
 *   FRAMING_REJECT  answer framing_status() and close the connection;
 *   FRAMING_MORE    all input consumed, nothing to act on yet (a request
 *                   line over the limit is refused once the rest of its
 *                   head, up to max_head_size, is read for its Accept);
 *   FRAMING_CLOSED  the connection is done (a rejected request, or a request
 *                   that asked to close): input is not consumed.
 *
 * The rules it applies are listed in docs/framing.md (RFC 9110, RFC 9112
 * §2-§7) and cited where each lives in framing.c.
 *
 * The core never touches a socket, never allocates after framing_new(), and
 * never aborts: it is shared by the libevent proxy and the LD_PRELOAD front
 * end. Pointers passed to framing_feed() are not kept after it returns.
 */
#ifndef LG_FRAMING_H
#define LG_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "chunked.h"
#include "reason.h"

enum framing_verdict {
	FRAMING_MORE = 0,
	FRAMING_HEAD,
	FRAMING_BODY,
	FRAMING_REJECT,
	FRAMING_CLOSED,
};

/* What to do with a valid Transfer-Encoding: chunked request. */
enum framing_chunked {
	FRAMING_CHUNKED_REJECT = 0,	/* 411 */
	FRAMING_CHUNKED_BUFFER,		/* approved, its body decoded by the
					   core (framing_request.chunked) up
					   to max_buffered_body, for the
					   front end to forward once whole
					   with a Content-Length */
};

/*
 * [policy] mode. Monitor mode forwards a request that enforcement refuses
 * for a reason of reason_monitored() (a body with no defined length, some
 * acceptable and ambiguous reasons: docs/classes.md), noting the reason as
 * framing_request.would_refuse; any other refusal (severe reasons, limits,
 * framing the core cannot determine) stands in both modes.
 */
enum framing_mode {
	FRAMING_ENFORCE = 0,
	FRAMING_MONITOR,
};

/*
 * What to do with a field whose name holds a "_" and is no alias of a field
 * lengthguard guards (those are always refused, see fields.h): CGI and WSGI
 * gateways fold "_" and "-" into one variable, so such a name may still
 * stand for another field the application reads.
 */
enum framing_underscores {
	FRAMING_UNDERSCORES_DROP = 0,	/* not forwarded (nginx's default) */
	FRAMING_UNDERSCORES_REJECT,	/* 400 */
	FRAMING_UNDERSCORES_PASS,	/* forwarded as received */
};

/* Defaults, also documented in conf/lengthguard.conf. */
#define FRAMING_DEFAULT_MAX_HEAD	(16 * 1024)
#define FRAMING_DEFAULT_MAX_LINE	(8 * 1024)	/* RFC 9112 §3: at least 8000 */
#define FRAMING_DEFAULT_MAX_HEADERS	100
#define FRAMING_DEFAULT_MAX_BODY	(100ull * 1024 * 1024)
#define FRAMING_DEFAULT_MAX_BUFFERED	(1024 * 1024)	/* nginx's client_max_body_size */
#define FRAMING_MIN_HEAD		256
#define FRAMING_LOG_LINE		512	/* framing_request.line, at most */
#define FRAMING_MAX_HEAD		(1024 * 1024)

/*
 * Policy and limits. The struct is plain data, filled by the configuration
 * (or framing_policy_default) and read-only for the core.
 */
struct framing_policy {
	enum framing_mode mode;
	enum framing_chunked chunked;
	uint64_t require_length;	/* bit (1 << llhttp_method) per method that
					   needs a Content-Length: 411 without one */
	uint64_t body_methods;		/* bodiless methods (GET HEAD OPTIONS
					   TRACE DELETE) whose requests may carry
					   a body all the same, on an upstream
					   connection that is then closed
					   (framing_request.close_upstream) */
	uint64_t close_after_body;	/* methods whose requests with a body
					   have an upstream connection to
					   themselves (close_upstream): for a
					   backend that may answer one without
					   reading its body (CL.0) */
	uint64_t max_body_size;		/* 413 above it; 0 = no limit */
	uint64_t max_buffered_body;	/* chunked = buffer: 413 as soon as the
					   decoded body would go above it;
					   0 = no limit */
	uint32_t max_head_size;		/* 431 above it (request line included) */
	uint32_t max_request_line;	/* 414 above it */
	uint32_t max_headers;		/* 431 above it (field lines) */
	enum framing_underscores underscores;
	unsigned add_via:1;		/* Via: 1.x lengthguard */
	unsigned add_x_forwarded_for:1;	/* the peer's address in X-Forwarded-For */
	unsigned add_x_forwarded_proto:1; /* replaces the client's */
};

/* Fill *p with the defaults: enforce mode, chunked rejected, POST PUT PATCH need a length,
 * no body on the bodiless methods, underscores dropped. */
void framing_policy_default(struct framing_policy *p);

/*
 * Parse a space separated method list ("POST PUT PATCH") into a bit set.
 * Returns 0, or -1 and sets *bad to the first unknown method's offset.
 */
int framing_policy_methods(const char *list, uint64_t *out, size_t *bad);

/*
 * The same for body_methods, which may only name the methods that do not
 * expect a body (GET HEAD OPTIONS TRACE DELETE: RFC 9110 §9.3). Returns 0;
 * -1 for an unknown method, -2 for a method that is not one of those, with
 * *bad at its offset.
 */
int framing_policy_body_methods(const char *list, uint64_t *out, size_t *bad);

struct framing;

/*
 * The accessors below only read the inspector: marked pure, a caller's
 * compiler may take one call for two with no framing_* call that changes
 * it in between (GCC and Clang).
 */
#if defined(__GNUC__)
#define FRAMING_PURE	__attribute__((pure))
#else
#define FRAMING_PURE
#endif

/* One step of framing_feed(). */
struct framing_step {
	enum framing_verdict verdict;
	size_t consumed;		/* bytes of the input used by this step */
};

/* Allocate an inspector for one connection. NULL on allocation failure. */
struct framing *framing_new(const struct framing_policy *policy);
void framing_free(struct framing *);

/* Make the inspector new again, for another connection (pools). */
void framing_reset(struct framing *);

/* Was it sized for heads as large as `policy` allows? */
int framing_fits(const struct framing *, const struct framing_policy *);

/*
 * Switch to another policy (after a reload) between requests. The policy is
 * not copied: it must outlive its use.
 */
void framing_set_policy(struct framing *, const struct framing_policy *);

/*
 * Feed bytes. Each call makes at most one step and reports how many bytes of
 * `data` it used; call again with the rest. Body bytes are counted, never
 * read, so a caller may move them by other means and call framing_body_done().
 */
struct framing_step framing_feed(struct framing *, const char *data, size_t len);

/* The client closed its side: FRAMING_REJECT if a request was cut short,
 * or if its request line was over the limit already (414). */
struct framing_step framing_eof(struct framing *);

/* Body bytes still expected for the approved request (0 when none);
 * FRAMING_BODY_UNKNOWN while a chunked body is being decoded. */
#define FRAMING_BODY_UNKNOWN	UINT64_MAX
uint64_t framing_body_left(const struct framing *) FRAMING_PURE;

/* Account for `n` body bytes moved by the caller (n <= framing_body_left).
 * Not for a chunked body, which only framing_feed() reads. */
void framing_body_done(struct framing *, uint64_t n);

/*
 * A chunked body (framing_request.chunked) is read by framing_feed(): each
 * FRAMING_BODY step consumes its bytes and hands the payload to `sink`
 * (NULL: only counted), set after FRAMING_HEAD for that body. Once the body
 * is complete, framing_body_left() is 0 and content_length is the payload's
 * length: framing_write_head() then writes it as the Content-Length (not
 * for chunked_forward, whose head may be written at once and whose body
 * is the bytes the steps consumed). A
 * violation of its syntax or of max_buffered_body is a FRAMING_REJECT (400,
 * 413, 431: chunked.h).
 */
void framing_body_sink(struct framing *, chunked_sink sink, void *arg);

/*
 * After a FRAMING_REJECT of a chunked request by the policy (411), read its
 * body and throw it away, so that the connection may carry the client's
 * next request (its retry with a Content-Length). Only for a request that
 * allows another and did not ask for 100-continue (that client may never
 * send the body), with its payload within max_payload: 0, and framing_feed()
 * then reads the body as for framing_body_sink(NULL), and is idle once it
 * ended (or rejects, REASON_CHUNKED still, when it is invalid or too long);
 * -1 when the body cannot be discarded (the connection must close).
 */
int framing_discard_body(struct framing *, uint64_t max_payload);

/*
 * What the canonical head of the last approved request changes beyond the
 * framing fields, for a front end that passes the head on as received (the
 * LD_PRELOAD guard) and must refuse such a request instead: a bit set of
 * FRAMING_REWRITE_TARGET (an absolute-form target written in origin-form,
 * RFC 9112 §3.2.2) and FRAMING_REWRITE_PROXY (a Proxy field dropped).
 */
#define FRAMING_REWRITE_TARGET	0x1
#define FRAMING_REWRITE_PROXY	0x2
int framing_rewrites(const struct framing *) FRAMING_PURE;

/* After that 411: did its head allow no other request ("Connection: close",
 * or HTTP/1.0 without keep-alive; RFC 9112 §9.3)? Such a client sends
 * nothing after the request (§9.6). 0 for any other refusal. */
int framing_client_closes(const struct framing *) FRAMING_PURE;

/* Is the inspector between requests (no byte of a next request seen)? */
int framing_idle(const struct framing *) FRAMING_PURE;

/*
 * --- the approved request (valid after FRAMING_HEAD until the next head).
 * After a FRAMING_REJECT of a complete head, method_name (NULL if unknown),
 * http_minor and target (as received) are set too, for logs; head_method
 * is set after any FRAMING_REJECT that came once the method was read.
 */

struct framing_request {
	int      method;		/* llhttp_method_t */
	const char *method_name;
	int      http_minor;		/* 0 or 1: the client's HTTP/1.x */
	int      has_body;		/* a Content-Length was sent, or a
					   chunked body is to be decoded */
	int      chunked;		/* the body is chunked and decoded by
					   framing_feed(); content_length is
					   known at its end */
	int      chunked_forward;	/* monitor mode: that body goes upstream
					   as received, chunked (the head has
					   its Transfer-Encoding line and no
					   Content-Length): the bytes each
					   FRAMING_BODY step consumed, as they
					   are; the decoder only finds its end */
	enum reason would_refuse;	/* monitor mode: the first reason
					   enforcement would have refused this
					   forwarded request for (REASON_NONE:
					   none); such a request always has
					   close_upstream */
	uint64_t content_length;
	int      keep_alive;		/* the client allows another request */
	int      expect_continue;	/* "Expect: 100-continue" (not forwarded) */
	int      head_method;		/* HEAD: the response has no body */
	int      close_upstream;	/* a body on a method of body_methods: the
					   head says Connection: close, and the
					   upstream connection must not be
					   reused after this request */
	const char *target;		/* request-target, valid until next feed */
	size_t   target_len;
	/* A refused request whose method_name is NULL (llhttp refused its
	 * head, or the line was over the limit): its request line as
	 * received, without CRLF, for logs; line_cut when it did not end
	 * within what was read (or FRAMING_LOG_LINE bytes). line_len 0:
	 * no byte of one. Valid until the next request. */
	const char *line;
	size_t   line_len;
	int      line_cut;
};
const struct framing_request *framing_request(const struct framing *)
    FRAMING_PURE;

/*
 * What the front end knows and the core cannot: the client's side. Set
 * every field (a zeroed struct is an untrusted peer without an address).
 */
struct framing_peer {
	const char *addr;		/* client address for X-Forwarded-For */
	const char *proto;		/* "http" or "https" */
	const char *default_host;	/* Host for HTTP/1.0 requests with none */
	int trusted;			/* the peer is a trusted proxy (conf's
					   trusted_proxies): its X-Forwarded-For,
					   Forwarded and X-Real-IP are believed */
};

/*
 * Write the canonical upstream head of the approved request into out[0..cap):
 * request line (HTTP/1.1), the client's end-to-end fields, minus hop-by-hop
 * ones, one Content-Length if there is a body, Connection: close when
 * close_upstream, Via and X-Forwarded-* as the policy says, and the empty
 * line (docs/framing.md, "What goes upstream"). X-Forwarded-For is one line
 * at most: from an untrusted peer, its X-Forwarded-For, Forwarded and
 * X-Real-IP lines are dropped and X-Forwarded-For is the peer's address;
 * from a trusted one, its X-Forwarded-For lines are joined into one with
 * the peer's address last, and Forwarded and X-Real-IP are kept.
 * Returns the length written, or -1 if cap is too small (nothing useful is
 * left in out then). framing_head_size() is an upper bound of the length.
 */
long framing_write_head(const struct framing *, const struct framing_peer *,
    char *out, size_t cap);
size_t framing_head_size(const struct framing *, const struct framing_peer *);

/*
 * The first forwarded field named `lname` (lower case), for logs: a pointer
 * into the inspector's arena, valid until the next framing_feed(). NULL
 * when there is none. Valid after FRAMING_HEAD, and after a refusal of a
 * head llhttp accepted (411, 413...); a head llhttp refused has no fields.
 */
const char *framing_field(const struct framing *, const char *lname, size_t *len);

/*
 * The desync class of the current request (docs/classes.md): after
 * FRAMING_HEAD, what the approved request showed (compliant, acceptable:
 * a "_" field dropped or passed, a bodiless method with Content-Length: 0;
 * ambiguous: a body on a method of body_methods; in monitor mode, the
 * class of each reason it would have been refused for); after FRAMING_REJECT,
 * the highest of that and its reason's class (reason_desync).
 */
enum desync_class framing_desync(const struct framing *);

/* --- a rejected request (valid after FRAMING_REJECT) */

enum reason framing_refusal(const struct framing *) FRAMING_PURE; /* REASON_NONE if none */
int framing_status(const struct framing *) FRAMING_PURE;	/* 400, 411, ... */
const char *framing_reason(const struct framing *);	/* its text: static */
/* Accept prefers JSON: the request's last Accept line before the point of
 * refusal (for a 431 too, from the complete lines read so far; for a 414,
 * from the field lines read on after the request line, up to the end of
 * the head or max_head_size: docs/framing.md). */
int framing_wants_json(const struct framing *);

#endif /* LG_FRAMING_H */
