/*
 * chunked.c - the chunked request body decoder (see chunked.h).
 *
 * RFC 9112 §7.1:
 *
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name
 *                       [ BWS "=" BWS chunk-ext-val ] )       (§7.1.1)
 *   trailer-section = *( field-line CRLF )                    (§7.1.2)
 *
 * A byte-at-a-time state machine, except for chunk-data, which goes to the
 * sink in runs as long as the input allows. Every state change depends on
 * one byte and the state only, so any split of the input gives the same
 * payload, verdict, consumed total and reason.
 */
#include <stddef.h>
#include <stdint.h>

#include "chunked.h"

enum {
	/* the chunk line: chunk-size [ chunk-ext ] CRLF */
	S_SIZE_START = 0,	/* no digit yet */
	S_SIZE,			/* in the digits */
	S_SIZE_BWS,		/* BWS after the digits: ";" must follow */
	S_EXT_PRE_NAME,		/* after ";" (BWS allowed) */
	S_EXT_NAME,
	S_EXT_NAME_BWS,		/* BWS after a name: "=" or ";" */
	S_EXT_PRE_VAL,		/* after "=" (BWS allowed) */
	S_EXT_VAL,		/* in a token value */
	S_EXT_QUOTED,		/* in a quoted-string value */
	S_EXT_QUOTED_PAIR,	/* after a "\" in it */
	S_EXT_QUOTED_END,	/* right after its closing DQUOTE */
	S_EXT_VAL_BWS,		/* BWS after a value: ";" must follow */
	S_LINE_LF,		/* the chunk line's CR was read */
	/* chunk-data CRLF */
	S_DATA,
	S_DATA_CR,
	S_DATA_LF,
	/* trailer-section CRLF */
	S_TRAILER_START,	/* at the start of a line */
	S_TRAILER_NAME,
	S_TRAILER_VALUE,
	S_TRAILER_LF,		/* a field line's CR was read */
	S_END_LF,		/* the final empty line's CR was read */
	S_DONE,
	S_ERROR,
};

/* Record the failure; the state stays S_ERROR. Returns -1. */
static int
fail(struct chunked *d, enum reason why)
{
	d->reason = why;
	d->state = S_ERROR;
	return -1;
}

/* RFC 5234 B.1: HEXDIG, either case. -1 if c is none. */
static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 9110 §5.6.2: tchar (no locale: ASCII only). */
static int
is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return 1;
	default:
		return 0;
	}
}

/* RFC 9110 §5.6.3: SP / HTAB, the bytes of OWS and BWS. */
static int
is_ws(int c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 §5.5: field-vchar = VCHAR / obs-text. */
static int
is_vchar(int c)
{
	return (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

/* RFC 9110 §5.6.4: qdtext = HTAB / SP / "!" / %x23-5B / %x5D-7E / obs-text */
static int
is_qdtext(int c)
{
	return is_ws(c) || (is_vchar(c) && c != '"' && c != '\\');
}

/*
 * The CR of a chunk line (RFC 9112 §7.1: it ends in CRLF, §2.2: CR only
 * as part of CRLF). The line may end in this state or it is `why`.
 */
static int
line_cr(struct chunked *d, int can_end, enum reason why)
{
	if (!can_end)
		return fail(d, why);
	d->state = S_LINE_LF;
	return 0;
}

/*
 * chunk-size = 1*HEXDIG (RFC 9112 §7.1): no sign, no space, no "0x", not
 * empty. Leading zeros are allowed (a last-chunk is 1*("0")), bounded by
 * CHUNKED_MAX_SIZE_DIGITS. The value is checked at every digit, so it never
 * overflows ("Recipients MUST anticipate potentially large hexadecimal
 * numerals and prevent parsing errors due to integer conversion
 * overflows", §7.1), and so is the payload it announces against
 * max_payload: the 413 comes before a byte of that chunk is read.
 */
static int
size_byte(struct chunked *d, int c)
{
	int v = hex_value(c);

	if (v >= 0) {
		if (++d->digits > CHUNKED_MAX_SIZE_DIGITS)
			return fail(d, REASON_CHUNK_SIZE_INVALID);
		if (d->size > (CHUNKED_MAX_CHUNK_SIZE - (uint64_t)v) / 16)
			return fail(d, REASON_CHUNK_SIZE_OVERFLOW);
		d->size = d->size * 16 + (uint64_t)v;
		/* (payload <= max_payload always: no wrap) */
		if (d->size > d->max_payload - d->payload)
			return fail(d, REASON_CHUNKED_TOO_LARGE);
		d->state = S_SIZE;
		return 0;
	}
	if (c == '\n')
		return fail(d, REASON_CHUNK_BARE_LF);	/* RFC 9112 §2.2 */
	if (c == '\r')
		return line_cr(d, d->state == S_SIZE, REASON_CHUNK_SIZE_INVALID);
	if (d->state == S_SIZE_START)
		return fail(d, REASON_CHUNK_SIZE_INVALID);
	/* after the digits only BWS ";" may come (RFC 9112 §7.1.1): "0x10",
	 * "1 2", "1-" are no chunk-size */
	if (c == ';' || is_ws(c)) {
		d->ext = 1;
		d->state = c == ';' ? S_EXT_PRE_NAME : S_SIZE_BWS;
		return 0;
	}
	return fail(d, REASON_CHUNK_SIZE_INVALID);
}

/*
 * chunk-ext (RFC 9112 §7.1.1): ";" name [ "=" value ], BWS allowed before
 * ";", after ";" and around "=", name a token, value a token or a
 * quoted-string (RFC 9110 §5.6.4). BWS before the CRLF is not in the
 * grammar: refused. The extensions are not understood by anyone behind
 * lengthguard, so they are dropped once checked; their bytes on one chunk
 * line are bounded by CHUNKED_MAX_EXT (the RFC sets no bound, and a long
 * line carries no payload).
 */
static int
ext_byte(struct chunked *d, int c)
{
	if (c == '\n')
		return fail(d, REASON_CHUNK_BARE_LF);	/* RFC 9112 §2.2 */
	if (c == '\r')
		return line_cr(d, d->state == S_EXT_NAME || d->state == S_EXT_VAL ||
		    d->state == S_EXT_QUOTED_END, d->state == S_SIZE_BWS ?
		    REASON_CHUNK_SIZE_INVALID : REASON_CHUNK_EXT_INVALID);
	if (++d->ext > CHUNKED_MAX_EXT)
		return fail(d, REASON_CHUNK_EXT_TOO_LONG);
	switch (d->state) {
	case S_SIZE_BWS:
		if (c == ';')
			d->state = S_EXT_PRE_NAME;
		else if (!is_ws(c))
			return fail(d, REASON_CHUNK_SIZE_INVALID);
		return 0;
	case S_EXT_PRE_NAME:
		if (is_tchar(c))
			d->state = S_EXT_NAME;
		else if (!is_ws(c))
			return fail(d, REASON_CHUNK_EXT_INVALID);
		return 0;
	case S_EXT_NAME:
	case S_EXT_NAME_BWS:
		if (c == '=')
			d->state = S_EXT_PRE_VAL;
		else if (c == ';')
			d->state = S_EXT_PRE_NAME;
		else if (is_ws(c))
			d->state = S_EXT_NAME_BWS;
		else if (!is_tchar(c) || d->state != S_EXT_NAME)
			return fail(d, REASON_CHUNK_EXT_INVALID);
		return 0;
	case S_EXT_PRE_VAL:
		if (is_tchar(c))
			d->state = S_EXT_VAL;
		else if (c == '"')
			d->state = S_EXT_QUOTED;
		else if (!is_ws(c))
			return fail(d, REASON_CHUNK_EXT_INVALID);
		return 0;
	case S_EXT_VAL:
		if (c == ';')
			d->state = S_EXT_PRE_NAME;
		else if (is_ws(c))
			d->state = S_EXT_VAL_BWS;
		else if (!is_tchar(c))
			return fail(d, REASON_CHUNK_EXT_INVALID);
		return 0;
	case S_EXT_QUOTED:
		if (c == '"')
			d->state = S_EXT_QUOTED_END;
		else if (c == '\\')
			d->state = S_EXT_QUOTED_PAIR;
		else if (!is_qdtext(c))
			return fail(d, REASON_CHUNK_EXT_INVALID);
		return 0;
	case S_EXT_QUOTED_PAIR:
		/* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
		if (!is_ws(c) && !is_vchar(c))
			return fail(d, REASON_CHUNK_EXT_INVALID);
		d->state = S_EXT_QUOTED;
		return 0;
	case S_EXT_QUOTED_END:
	case S_EXT_VAL_BWS:
		if (c == ';')
			d->state = S_EXT_PRE_NAME;
		else if (is_ws(c))
			d->state = S_EXT_VAL_BWS;
		else
			return fail(d, REASON_CHUNK_EXT_INVALID);
		return 0;
	default:
		return fail(d, REASON_CHUNK_EXT_INVALID);	/* not reached */
	}
}

/* The LF of a chunk line: chunk-data follows, or the trailer section after
 * the last-chunk (size 0). */
static int
line_lf(struct chunked *d, int c)
{
	if (c != '\n')
		return fail(d, REASON_CHUNK_BARE_CR);	/* RFC 9112 §2.2 */
	d->state = d->size == 0 ? S_TRAILER_START : S_DATA;
	return 0;
}

/* chunk-data is followed by CRLF (RFC 9112 §7.1): data longer than its
 * chunk-size, or cut short by a line end, is refused here. */
static int
data_end(struct chunked *d, int c)
{
	if (d->state == S_DATA_CR) {
		if (c != '\r')
			return fail(d, REASON_CHUNK_DATA_END);
		d->state = S_DATA_LF;
		return 0;
	}
	if (c != '\n')
		return fail(d, REASON_CHUNK_DATA_END);
	d->state = S_SIZE_START;
	d->size = 0;
	d->digits = 0;
	d->ext = 0;
	return 0;
}

/*
 * trailer-section = *( field-line CRLF ), then the CRLF that ends the body
 * (RFC 9112 §7.1.2). Each field line is field-name ":" OWS field-value OWS
 * (RFC 9112 §5): a token name with no whitespace before the colon (§5.1),
 * no obs-fold (a line that starts with SP or HTAB, §5.2), a value of
 * field-vchar, SP and HTAB only: no NUL, CR, LF or other control
 * (RFC 9110 §5.5). The lines are bounded in count and bytes
 * (CHUNKED_MAX_TRAILERS, CHUNKED_MAX_TRAILER_BYTES).
 *
 * The fields are checked, then dropped: nothing of them reaches the sink.
 * A recipient that removes the chunked coding may discard trailer fields
 * (RFC 9112 §7.1.2), and must not merge them into the header section
 * unless each field's definition allows it (RFC 9110 §6.5.1). The body goes
 * on with a Content-Length, which has no place for them; and a trailer
 * section is where a Content-Length, Transfer-Encoding or Host meant to
 * frame the next request differently would hide, for a backend that merges
 * trailers into its headers.
 */
static int
trailer_byte(struct chunked *d, int c)
{
	switch (d->state) {
	case S_TRAILER_START:
		if (c == '\r') {
			d->state = S_END_LF;	/* the empty line: the end */
			return 0;
		}
		if (c == '\n')
			return fail(d, REASON_CHUNK_BARE_LF);
		if (++d->trailer_bytes > CHUNKED_MAX_TRAILER_BYTES)
			return fail(d, REASON_TRAILER_TOO_LARGE);
		if (is_ws(c))
			return fail(d, REASON_TRAILER_OBS_FOLD);
		if (++d->trailers > CHUNKED_MAX_TRAILERS)
			return fail(d, REASON_TOO_MANY_TRAILERS);
		if (!is_tchar(c))		/* ":" too: an empty name */
			return fail(d, REASON_TRAILER_INVALID);
		d->state = S_TRAILER_NAME;
		return 0;
	case S_TRAILER_NAME:
		if (c == '\n')
			return fail(d, REASON_CHUNK_BARE_LF);
		if (++d->trailer_bytes > CHUNKED_MAX_TRAILER_BYTES)
			return fail(d, REASON_TRAILER_TOO_LARGE);
		if (c == ':')
			d->state = S_TRAILER_VALUE;
		else if (!is_tchar(c))	/* SP before ":", a CR without ":" */
			return fail(d, REASON_TRAILER_INVALID);
		return 0;
	case S_TRAILER_VALUE:
		if (c == '\n')
			return fail(d, REASON_CHUNK_BARE_LF);
		if (++d->trailer_bytes > CHUNKED_MAX_TRAILER_BYTES)
			return fail(d, REASON_TRAILER_TOO_LARGE);
		if (c == '\r')
			d->state = S_TRAILER_LF;
		else if (!is_ws(c) && !is_vchar(c))
			return fail(d, REASON_TRAILER_INVALID);
		return 0;
	case S_TRAILER_LF:
		if (++d->trailer_bytes > CHUNKED_MAX_TRAILER_BYTES)
			return fail(d, REASON_TRAILER_TOO_LARGE);
		if (c != '\n')
			return fail(d, REASON_CHUNK_BARE_CR);
		d->state = S_TRAILER_START;
		return 0;
	case S_END_LF:
		if (c != '\n')
			return fail(d, REASON_CHUNK_BARE_CR);
		d->state = S_DONE;
		return 0;
	default:
		return fail(d, REASON_TRAILER_INVALID);	/* not reached */
	}
}

/* One byte in any state but S_DATA, S_DONE, S_ERROR. 0, or -1 (failed). */
static int
step(struct chunked *d, int c)
{
	switch (d->state) {
	case S_SIZE_START:
	case S_SIZE:
		return size_byte(d, c);
	case S_LINE_LF:
		return line_lf(d, c);
	case S_DATA_CR:
	case S_DATA_LF:
		return data_end(d, c);
	case S_TRAILER_START:
	case S_TRAILER_NAME:
	case S_TRAILER_VALUE:
	case S_TRAILER_LF:
	case S_END_LF:
		return trailer_byte(d, c);
	default:
		return ext_byte(d, c);
	}
}

void
chunked_init(struct chunked *d, const struct chunked_limits *lim)
{
	*d = (struct chunked){ 0 };
	d->max_payload = lim->max_payload;
	d->state = S_SIZE_START;
	d->reason = REASON_NONE;
}

struct chunked_step
chunked_feed(struct chunked *d, const char *data, size_t len,
    chunked_sink sink, void *arg)
{
	struct chunked_step st = { CHUNKED_MORE, 0 };
	size_t i = 0;

	if (d->state == S_DONE || d->state == S_ERROR) {
		st.verdict = d->state == S_DONE ? CHUNKED_DONE : CHUNKED_ERROR;
		return st;
	}
	while (i < len) {
		if (d->state == S_DATA) {
			size_t n = len - i;

			if ((uint64_t)n > d->size)
				n = (size_t)d->size;
			if (sink != NULL)
				sink(arg, data + i, n);
			d->payload += n;
			d->size -= n;
			i += n;
			if (d->size == 0)
				d->state = S_DATA_CR;
			continue;
		}
		if (step(d, (unsigned char)data[i]) < 0) {
			st.verdict = CHUNKED_ERROR;
			break;		/* the offending byte is not consumed */
		}
		i++;
		if (d->state == S_DONE) {
			st.verdict = CHUNKED_DONE;
			break;		/* what follows is the next request's */
		}
	}
	st.consumed = i;
	return st;
}

uint64_t
chunked_payload_len(const struct chunked *d)
{
	return d->payload;
}

enum reason
chunked_reason(const struct chunked *d)
{
	return d->reason;
}
