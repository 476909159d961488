/*
 * reason.c - the table of refusal reasons (see reason.h).
 */
#include <stddef.h>

#include "reason.h"

struct reason_row {
	short status;
	unsigned char cls;		/* enum reason_class */
	unsigned char desync;		/* enum desync_class */
	unsigned char monitored;	/* [policy] mode = monitor forwards it */
	const char *text;
	const char *label;
};

#define ROW(r, st, c, d, txt, lbl) \
	[r] = { .status = st, .cls = REASON_CLASS_##c, .desync = DESYNC_##d, \
	    .text = txt, .label = lbl }
/* a reason monitor mode forwards (docs/classes.md says why each) */
#define MROW(r, st, c, d, txt, lbl) \
	[r] = { .status = st, .cls = REASON_CLASS_##c, .desync = DESYNC_##d, \
	    .text = txt, .label = lbl, .monitored = 1 }

static const struct reason_row reason_table[REASON_COUNT] = {
	ROW(REASON_NONE, 0, NONE, COMPLIANT, "", "none"),

	ROW(REASON_REQUEST_LINE, 400, MALFORMED, AMBIGUOUS,
	    "invalid request line", "invalid_request_line"),
	ROW(REASON_REQUEST_LINE_SPACE, 400, MALFORMED, ACCEPTABLE,
	    "extra whitespace in the request line", "request_line_whitespace"),
	ROW(REASON_METHOD_UNKNOWN, 501, POLICY, COMPLIANT,
	    "unknown method", "unknown_method"),
	ROW(REASON_METHOD_NOT_IMPLEMENTED, 501, POLICY, COMPLIANT,
	    "method not implemented", "method_not_implemented"),
	ROW(REASON_CONNECT, 501, POLICY, COMPLIANT,
	    "CONNECT not supported", "connect_not_supported"),
	ROW(REASON_UPGRADE, 501, POLICY, COMPLIANT,
	    "protocol upgrade not supported", "upgrade_not_supported"),
	ROW(REASON_VERSION_INVALID, 400, MALFORMED, SEVERE,
	    "invalid HTTP version", "invalid_http_version"),
	ROW(REASON_VERSION_UNSUPPORTED, 505, POLICY, ACCEPTABLE,
	    "HTTP version not supported", "http_version_not_supported"),
	ROW(REASON_HTTP09, 505, POLICY, ACCEPTABLE,
	    "HTTP/0.9 request", "http09_request"),
	ROW(REASON_H2_PREFACE, 505, POLICY, ACCEPTABLE,
	    "HTTP/2 connection preface", "http2_preface"),

	ROW(REASON_TARGET_INVALID, 400, MALFORMED, AMBIGUOUS,
	    "invalid request target", "invalid_target"),
	MROW(REASON_TARGET_FRAGMENT, 400, MALFORMED, ACCEPTABLE,
	    "fragment in request target", "target_fragment"),
	MROW(REASON_TARGET_ASTERISK, 400, MALFORMED, ACCEPTABLE,
	    "asterisk-form target without OPTIONS", "target_asterisk_not_options"),
	ROW(REASON_TARGET_USERINFO, 400, MALFORMED, ACCEPTABLE,
	    "userinfo in request target", "target_userinfo"),
	ROW(REASON_TARGET_AUTHORITY, 400, MALFORMED, AMBIGUOUS,
	    "invalid authority in request target", "target_invalid_authority"),

	ROW(REASON_HEAD_MALFORMED, 400, MALFORMED, AMBIGUOUS,
	    "malformed request head", "malformed_head"),
	ROW(REASON_BARE_LF, 400, AMBIGUOUS, AMBIGUOUS,
	    "LF without CR in request head", "bare_lf"),
	ROW(REASON_BARE_CR, 400, AMBIGUOUS, SEVERE,
	    "CR without LF in request head", "bare_cr"),
	ROW(REASON_OBS_FOLD, 400, AMBIGUOUS, AMBIGUOUS,
	    "obs-fold in header field", "obs_fold"),
	ROW(REASON_SPACE_AFTER_START_LINE, 400, AMBIGUOUS, AMBIGUOUS,
	    "whitespace after the request line", "space_after_request_line"),
	ROW(REASON_SPACE_AFTER_NAME, 400, AMBIGUOUS, SEVERE,
	    "whitespace after a field name", "space_after_field_name"),
	ROW(REASON_FIELD_NAME_INVALID, 400, MALFORMED, AMBIGUOUS,
	    "invalid character in a field name", "invalid_field_name"),
	ROW(REASON_FIELD_NAME_EMPTY, 400, MALFORMED, AMBIGUOUS,
	    "empty field name", "empty_field_name"),
	ROW(REASON_FIELD_NO_COLON, 400, MALFORMED, AMBIGUOUS,
	    "field line without a colon", "field_without_colon"),
	ROW(REASON_FIELD_VALUE_INVALID, 400, MALFORMED, SEVERE,
	    "invalid character in a field value", "invalid_field_value"),
	ROW(REASON_FIELD_NAME_ALIAS, 400, AMBIGUOUS, SEVERE,
	    "underscore alias of a special field name", "field_name_alias"),
	MROW(REASON_FIELD_NAME_UNDERSCORE, 400, AMBIGUOUS, ACCEPTABLE,
	    "underscore in a field name", "field_name_underscore"),

	ROW(REASON_CL_TE, 400, AMBIGUOUS, SEVERE,
	    "Content-Length with Transfer-Encoding",
	    "content_length_with_transfer_encoding"),
	ROW(REASON_CL_DUPLICATE, 400, AMBIGUOUS, SEVERE,
	    "more than one Content-Length", "duplicate_content_length"),
	ROW(REASON_CL_LIST, 400, AMBIGUOUS, SEVERE,
	    "Content-Length list", "content_length_list"),
	ROW(REASON_CL_INVALID, 400, AMBIGUOUS, SEVERE,
	    "invalid Content-Length", "invalid_content_length"),
	ROW(REASON_CL_OVERFLOW, 400, AMBIGUOUS, SEVERE,
	    "Content-Length overflow", "content_length_overflow"),
	ROW(REASON_TE_NOT_CHUNKED, 400, AMBIGUOUS, SEVERE,
	    "Transfer-Encoding not ending in chunked",
	    "transfer_encoding_not_chunked"),
	ROW(REASON_TE_AFTER_CHUNKED, 400, AMBIGUOUS, SEVERE,
	    "transfer coding after chunked", "transfer_coding_after_chunked"),
	ROW(REASON_TE_DUPLICATE, 400, AMBIGUOUS, SEVERE,
	    "more than one Transfer-Encoding", "duplicate_transfer_encoding"),
	ROW(REASON_TE_HTTP10, 400, AMBIGUOUS, AMBIGUOUS,
	    "Transfer-Encoding in HTTP/1.0", "transfer_encoding_in_http10"),
	ROW(REASON_TE_INVALID, 400, AMBIGUOUS, SEVERE,
	    "invalid Transfer-Encoding", "invalid_transfer_encoding"),
	MROW(REASON_TE_UNKNOWN, 501, POLICY, AMBIGUOUS,
	    "unknown transfer coding", "unknown_transfer_coding"),
	MROW(REASON_BODY_UNEXPECTED, 400, AMBIGUOUS, AMBIGUOUS,
	    "body with GET, HEAD, OPTIONS, TRACE or DELETE", "unexpected_body"),

	MROW(REASON_HOST_MISSING, 400, MALFORMED, ACCEPTABLE,
	    "missing Host", "missing_host"),
	ROW(REASON_HOST_DUPLICATE, 400, MALFORMED, AMBIGUOUS,
	    "more than one Host", "duplicate_host"),
	ROW(REASON_HOST_INVALID, 400, MALFORMED, AMBIGUOUS,
	    "invalid Host", "invalid_host"),
	ROW(REASON_CONNECTION_NAMES_HOST, 400, MALFORMED, AMBIGUOUS,
	    "Connection names Host", "connection_names_host"),

	/* chunked bodies (RFC 9112 §7.1): a size that wraps, a line end that
	 * parsers read differently, a folded trailer are smuggling shapes */
	ROW(REASON_CHUNK_SIZE_INVALID, 400, MALFORMED, AMBIGUOUS,
	    "invalid chunk size", "invalid_chunk_size"),
	ROW(REASON_CHUNK_SIZE_OVERFLOW, 400, AMBIGUOUS, SEVERE,
	    "chunk size overflow", "chunk_size_overflow"),
	ROW(REASON_CHUNK_EXT_INVALID, 400, MALFORMED, AMBIGUOUS,
	    "invalid chunk extension", "invalid_chunk_extension"),
	ROW(REASON_CHUNK_EXT_TOO_LONG, 400, MALFORMED, ACCEPTABLE,
	    "chunk extension too long", "chunk_extension_too_long"),
	ROW(REASON_CHUNK_BARE_LF, 400, AMBIGUOUS, AMBIGUOUS,
	    "LF without CR in a chunked body", "chunked_bare_lf"),
	ROW(REASON_CHUNK_BARE_CR, 400, AMBIGUOUS, SEVERE,
	    "CR without LF in a chunked body", "chunked_bare_cr"),
	ROW(REASON_CHUNK_DATA_END, 400, MALFORMED, SEVERE,
	    "chunk data not followed by CRLF", "chunk_data_without_crlf"),
	ROW(REASON_TRAILER_OBS_FOLD, 400, AMBIGUOUS, AMBIGUOUS,
	    "obs-fold in a trailer field", "trailer_obs_fold"),
	ROW(REASON_TRAILER_INVALID, 400, MALFORMED, AMBIGUOUS,
	    "invalid trailer field", "invalid_trailer_field"),
	ROW(REASON_TRAILER_TOO_LARGE, 431, LIMIT, COMPLIANT,
	    "trailer section too large", "trailer_section_too_large"),
	ROW(REASON_TOO_MANY_TRAILERS, 431, LIMIT, COMPLIANT,
	    "too many trailer fields", "too_many_trailer_fields"),
	ROW(REASON_CHUNKED_TOO_LARGE, 413, LIMIT, COMPLIANT,
	    "chunked body larger than the buffering limit", "chunked_body_too_large"),

	MROW(REASON_CHUNKED, 411, POLICY, COMPLIANT,
	    "chunked request body", "chunked_body"),
	MROW(REASON_NO_LENGTH, 411, POLICY, COMPLIANT,
	    "no Content-Length", "no_content_length"),
	ROW(REASON_EXPECTATION, 417, POLICY, COMPLIANT,
	    "unsupported expectation", "unsupported_expectation"),

	ROW(REASON_BODY_TOO_LARGE, 413, LIMIT, COMPLIANT,
	    "body larger than max_body_size", "body_too_large"),
	ROW(REASON_LINE_TOO_LONG, 414, LIMIT, COMPLIANT,
	    "request line too long", "request_line_too_long"),
	ROW(REASON_HEAD_TOO_LARGE, 431, LIMIT, COMPLIANT,
	    "request head too large", "head_too_large"),
	ROW(REASON_TOO_MANY_FIELDS, 431, LIMIT, COMPLIANT,
	    "too many header fields", "too_many_fields"),
	ROW(REASON_CONNECTION_TOO_LONG, 431, LIMIT, COMPLIANT,
	    "Connection field too long", "connection_too_long"),

	ROW(REASON_HEAD_CUT_SHORT, 400, CLIENT_ABORT, COMPLIANT,
	    "request head cut short", "head_cut_short"),
	ROW(REASON_BODY_CUT_SHORT, 400, CLIENT_ABORT, COMPLIANT,
	    "request body cut short", "body_cut_short"),

	ROW(REASON_BAD_REQUEST, 400, MALFORMED, AMBIGUOUS,
	    "bad request", "bad_request"),

	ROW(REASON_CLIENT_HEAD_TIMEOUT, 408, TIMEOUT, COMPLIANT,
	    "client head timeout", "client_head_timeout"),
	ROW(REASON_CLIENT_BODY_TIMEOUT, 408, TIMEOUT, COMPLIANT,
	    "client body timeout", "client_body_timeout"),
	/* the client stopped reading a response (nginx's send_timeout); the
	 * response's own status is what the log shows */
	ROW(REASON_CLIENT_SEND_TIMEOUT, 408, TIMEOUT, COMPLIANT,
	    "client stopped reading the response", "client_send_timeout"),
	/* 499: nginx's code for a client that went away (never sent) */
	ROW(REASON_CLIENT_CLOSED, 499, CLIENT_ABORT, COMPLIANT,
	    "client closed the connection", "client_closed"),
	/* request buffering: the temporary file of a body (a full disk) */
	ROW(REASON_BODY_BUFFER_FAILED, 500, LIMIT, COMPLIANT,
	    "request body could not be buffered", "body_buffer_failed"),

	ROW(REASON_UPSTREAM_UNREACHABLE, 502, UPSTREAM, COMPLIANT,
	    "cannot reach upstream", "upstream_unreachable"),
	ROW(REASON_UPSTREAM_CONNECT_FAILED, 502, UPSTREAM, COMPLIANT,
	    "upstream connect failed", "upstream_connect_failed"),
	ROW(REASON_UPSTREAM_CONNECT_TIMEOUT, 504, TIMEOUT, COMPLIANT,
	    "upstream connect timeout", "upstream_connect_timeout"),
	ROW(REASON_UPSTREAM_RESPONSE_TIMEOUT, 504, TIMEOUT, COMPLIANT,
	    "upstream response timeout", "upstream_response_timeout"),
	ROW(REASON_UPSTREAM_SEND_TIMEOUT, 504, TIMEOUT, COMPLIANT,
	    "upstream send timeout", "upstream_send_timeout"),
	ROW(REASON_UPSTREAM_CLOSED_EARLY, 502, UPSTREAM, COMPLIANT,
	    "upstream closed early", "upstream_closed_early"),
	ROW(REASON_UPSTREAM_CONNECTION_ERROR, 502, UPSTREAM, COMPLIANT,
	    "upstream connection error", "upstream_connection_error"),
	ROW(REASON_UPSTREAM_INVALID_RESPONSE, 502, UPSTREAM, COMPLIANT,
	    "invalid upstream response", "upstream_invalid_response"),
	ROW(REASON_UPSTREAM_HEAD_TOO_LARGE, 502, UPSTREAM, COMPLIANT,
	    "response head too large", "upstream_head_too_large"),
};
#undef ROW
#undef MROW

static const char *const class_labels[REASON_CLASS_COUNT] = {
	[REASON_CLASS_NONE] = "none",
	[REASON_CLASS_MALFORMED] = "malformed",
	[REASON_CLASS_AMBIGUOUS] = "ambiguous_framing",
	[REASON_CLASS_POLICY] = "policy",
	[REASON_CLASS_LIMIT] = "limit",
	[REASON_CLASS_TIMEOUT] = "timeout",
	[REASON_CLASS_UPSTREAM] = "upstream",
	[REASON_CLASS_CLIENT_ABORT] = "client_abort",
};

static const char *const desync_labels[DESYNC_COUNT] = {
	[DESYNC_COMPLIANT] = "compliant",
	[DESYNC_ACCEPTABLE] = "acceptable",
	[DESYNC_AMBIGUOUS] = "ambiguous",
	[DESYNC_SEVERE] = "severe",
};

/* (a value with no row, which test_reason rules out, gets NONE's too) */
static const struct reason_row *
row(enum reason r)
{
	if ((unsigned)r >= REASON_COUNT || reason_table[r].label == NULL)
		r = REASON_NONE;
	return &reason_table[r];
}

int
reason_status(enum reason r)
{
	return row(r)->status;
}

const char *
reason_text(enum reason r)
{
	return row(r)->text;
}

const char *
reason_label(enum reason r)
{
	return row(r)->label;
}

enum reason_class
reason_class(enum reason r)
{
	return (enum reason_class)row(r)->cls;
}

const char *
reason_class_label(enum reason_class c)
{
	return (unsigned)c < REASON_CLASS_COUNT && class_labels[c] ?
	    class_labels[c] : class_labels[REASON_CLASS_NONE];
}

int
reason_monitored(enum reason r)
{
	return row(r)->monitored;
}

enum desync_class
reason_desync(enum reason r)
{
	return (enum desync_class)row(r)->desync;
}

const char *
reason_desync_label(enum desync_class d)
{
	return (unsigned)d < DESYNC_COUNT ? desync_labels[d] :
	    desync_labels[DESYNC_COMPLIANT];
}
