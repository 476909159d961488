/*
 * reason.h - why a request was refused or could not be completed: one enum,
 * one table (reason.c) giving each reason its HTTP status, a short text for
 * people, a stable snake_case label for logs and metrics, a class (what
 * kind of refusal) and a desync class (how dangerous the request's bytes
 * are, docs/classes.md).
 *
 * The core reports its refusals with these (framing_refusal(),
 * response_refusal(), chunked_reason()); a front end uses the same table for what only it can
 * see (timeouts, upstream connections, a client that went away), so that
 * logs and counters cover every outcome from one list. Labels are an
 * interface: never rename one, add a new reason instead.
 *
 * Core code: static data only, no allocation, no I/O.
 */
#ifndef LG_REASON_H
#define LG_REASON_H

enum reason_class {
	REASON_CLASS_NONE = 0,		/* not a refusal */
	REASON_CLASS_MALFORMED,		/* not valid HTTP/1.x */
	REASON_CLASS_AMBIGUOUS,		/* framing that another parser may read
					   otherwise: a request smuggling shape */
	REASON_CLASS_POLICY,		/* valid, but not served: 411, 417, 501, 505 */
	REASON_CLASS_LIMIT,		/* over a configured size: 413, 414, 431 */
	REASON_CLASS_TIMEOUT,		/* a peer too slow: 408, 504 */
	REASON_CLASS_UPSTREAM,		/* the upstream failed: 502 */
	REASON_CLASS_CLIENT_ABORT,	/* the client went away */
	REASON_CLASS_COUNT
};

/*
 * How a request's framing stands, in the tiers of AWS's http_desync_guardian
 * (docs/classes.md lists the class of every reason and why). Ordered: a
 * request that shows several traits gets the highest.
 */
enum desync_class {
	DESYNC_COMPLIANT = 0,		/* RFC clean (refused, if at all, for
					   policy, a limit or a peer's fault) */
	DESYNC_ACCEPTABLE,		/* not RFC clean, no known risk */
	DESYNC_AMBIGUOUS,		/* parsers may read it differently */
	DESYNC_SEVERE,			/* a known request smuggling shape */
	DESYNC_COUNT
};

enum reason {
	REASON_NONE = 0,

	/* request line (RFC 9112 §3), method, version */
	REASON_REQUEST_LINE,
	REASON_REQUEST_LINE_SPACE,
	REASON_METHOD_UNKNOWN,
	REASON_METHOD_NOT_IMPLEMENTED,
	REASON_CONNECT,
	REASON_UPGRADE,
	REASON_VERSION_INVALID,
	REASON_VERSION_UNSUPPORTED,
	REASON_HTTP09,
	REASON_H2_PREFACE,

	/* request target (RFC 9112 §3.2) */
	REASON_TARGET_INVALID,
	REASON_TARGET_FRAGMENT,
	REASON_TARGET_ASTERISK,
	REASON_TARGET_USERINFO,
	REASON_TARGET_AUTHORITY,

	/* lines and fields (RFC 9112 §2.2, §5; RFC 9110 §5) */
	REASON_HEAD_MALFORMED,
	REASON_BARE_LF,
	REASON_BARE_CR,
	REASON_OBS_FOLD,
	REASON_SPACE_AFTER_START_LINE,
	REASON_SPACE_AFTER_NAME,
	REASON_FIELD_NAME_INVALID,
	REASON_FIELD_NAME_EMPTY,
	REASON_FIELD_NO_COLON,
	REASON_FIELD_VALUE_INVALID,
	REASON_FIELD_NAME_ALIAS,	/* "_" for "-" in a guarded name */
	REASON_FIELD_NAME_UNDERSCORE,	/* underscores = reject */

	/* message body length (RFC 9112 §6) */
	REASON_CL_TE,
	REASON_CL_DUPLICATE,
	REASON_CL_LIST,
	REASON_CL_INVALID,
	REASON_CL_OVERFLOW,
	REASON_TE_NOT_CHUNKED,
	REASON_TE_AFTER_CHUNKED,
	REASON_TE_DUPLICATE,
	REASON_TE_HTTP10,
	REASON_TE_INVALID,
	REASON_TE_UNKNOWN,
	REASON_BODY_UNEXPECTED,		/* CL.0: a body where none is expected */

	/* Host (RFC 9112 §3.2), Connection (RFC 9110 §7.6.1) */
	REASON_HOST_MISSING,
	REASON_HOST_DUPLICATE,
	REASON_HOST_INVALID,
	REASON_CONNECTION_NAMES_HOST,

	/* chunked request bodies (RFC 9112 §7.1), chunked.c */
	REASON_CHUNK_SIZE_INVALID,
	REASON_CHUNK_SIZE_OVERFLOW,
	REASON_CHUNK_EXT_INVALID,
	REASON_CHUNK_EXT_TOO_LONG,
	REASON_CHUNK_BARE_LF,
	REASON_CHUNK_BARE_CR,
	REASON_CHUNK_DATA_END,		/* no CRLF right after chunk-data */
	REASON_TRAILER_OBS_FOLD,
	REASON_TRAILER_INVALID,
	REASON_TRAILER_TOO_LARGE,	/* 431 */
	REASON_TOO_MANY_TRAILERS,	/* 431 */
	REASON_CHUNKED_TOO_LARGE,	/* 413: over the caller's max_payload */

	/* policy */
	REASON_CHUNKED,
	REASON_NO_LENGTH,
	REASON_EXPECTATION,

	/* limits */
	REASON_BODY_TOO_LARGE,
	REASON_LINE_TOO_LONG,
	REASON_HEAD_TOO_LARGE,
	REASON_TOO_MANY_FIELDS,
	REASON_CONNECTION_TOO_LONG,

	/* the client stopped in the middle of a request */
	REASON_HEAD_CUT_SHORT,
	REASON_BODY_CUT_SHORT,

	/* an llhttp error with no closer reason */
	REASON_BAD_REQUEST,

	/* what a front end sees: the client side */
	REASON_CLIENT_HEAD_TIMEOUT,
	REASON_CLIENT_BODY_TIMEOUT,
	REASON_CLIENT_SEND_TIMEOUT,
	REASON_CLIENT_CLOSED,
	REASON_BODY_BUFFER_FAILED,	/* 500: a temporary file failed */

	/* the upstream side */
	REASON_UPSTREAM_UNREACHABLE,
	REASON_UPSTREAM_CONNECT_FAILED,
	REASON_UPSTREAM_CONNECT_TIMEOUT,
	REASON_UPSTREAM_RESPONSE_TIMEOUT,
	REASON_UPSTREAM_SEND_TIMEOUT,
	REASON_UPSTREAM_CLOSED_EARLY,
	REASON_UPSTREAM_CONNECTION_ERROR,
	REASON_UPSTREAM_INVALID_RESPONSE,
	REASON_UPSTREAM_HEAD_TOO_LARGE,

	REASON_COUNT
};

/*
 * The row of a reason. Values outside the enum give REASON_NONE's row
 * (status 0, text "", label "none"), so a caller never gets NULL.
 */
int reason_status(enum reason);		/* 400..599; 0 for REASON_NONE */
const char *reason_text(enum reason);	/* short, for people and pages */
const char *reason_label(enum reason);	/* snake_case, stable: logs, metrics */
enum reason_class reason_class(enum reason);

/* "malformed", "ambiguous_framing", ...: stable, snake_case. */
const char *reason_class_label(enum reason_class);

/*
 * Does [policy] mode = monitor forward a request enforcement refuses for
 * this reason (1), or refuse it in every mode (0)? Only a body with no
 * defined length (policy) and some acceptable and ambiguous reasons are
 * forwarded: those the core finds in a head it can still write
 * canonically, with a body it can delimit (docs/classes.md). Never a
 * severe reason, a limit, or a reason of the front end's.
 */
int reason_monitored(enum reason);

/* The desync class of a request refused for this reason (REASON_NONE:
 * compliant), and the class's label: "compliant", "acceptable",
 * "ambiguous", "severe" (out of range: "compliant"). */
enum desync_class reason_desync(enum reason);
const char *reason_desync_label(enum desync_class);

#endif /* LG_REASON_H */
