/*
 * response.c - upstream responses (see response.h).
 *
 * Heads are copied into an arena as canonical field lines, hop-by-hop
 * fields left out (RFC 9110 §7.6.1); body bytes are passed through as
 * they are (chunks included), except to HTTP/1.0 clients, which get the
 * de-chunked payload and a close (they cannot read chunked).
 */
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "fields.h"
#include "response.h"

enum rstate {
	R_HEAD = 0,	/* reading a head */
	R_BODY,		/* reading a body */
	R_DONE,		/* response complete */
	R_ERROR,
};

struct response {
	llhttp_t parser;
	enum rstate state;
	int head_request, client_minor;
	response_sink sink;
	void *sink_arg;
	const char *error;
	enum reason refusal;

	unsigned paused_head:1, paused_end:1;
	unsigned end_pending:1;		/* a bodiless head: END comes next */
	unsigned in_field:1;		/* a field name is being copied */
	unsigned started:1;		/* a final or interim head was produced */
	unsigned dechunk:1;		/* chunked body to a 1.0 client */
	unsigned close_delim:1;		/* the body ends when the upstream closes */
	unsigned chunked:1;		/* the body is chunked */
	unsigned hop:2;			/* 1: not forwarded, 2: Connection */
	unsigned conn_extra:1;
	unsigned conn_close:1;
	unsigned has_date:1;		/* the final head has a Date field */
	unsigned doubt:1;		/* framing gave a reason for doubt: the
					   connection is not reused */
	unsigned interim;		/* 1xx heads of this response */
	const char *date_line;		/* "Date: ...\r\n" to add, or NULL */
	uint32_t field_start, value_start;
	uint32_t te_fields;		/* Transfer-Encoding lines seen */
	uint32_t head_bytes, max_head;
	int status;

	uint32_t reason_len;		/* the reason phrase is at arena[0] */
	uint32_t arena_len, arena_cap;
	char arena[];
};

#define EQ(s, n, lit) fields_eq((s), (n), LIT(lit))

/* Record the first failure: its reason and a detail for logs. HPE_USER. */
static int
fail(struct response *r, enum reason why, const char *detail)
{
	if (r->error == NULL) {
		r->error = detail;
		r->refusal = why;
	}
	return HPE_USER;
}

static int
put(struct response *r, const char *p, size_t n)
{
	if (n > r->arena_cap - r->arena_len)
		return fail(r, REASON_UPSTREAM_HEAD_TOO_LARGE,
		    "response head too large");
	memcpy(r->arena + r->arena_len, p, n);
	r->arena_len += (uint32_t)n;
	return 0;
}

static int
on_message_begin(llhttp_t *p)
{
	struct response *r = (struct response *)p;

	r->arena_len = 0;
	r->reason_len = 0;
	r->in_field = 0;
	r->te_fields = 0;
	r->conn_extra = r->conn_close = 0;
	r->has_date = 0;
	return 0;
}

static int
on_status(llhttp_t *p, const char *at, size_t len)
{
	struct response *r = (struct response *)p;

	r->reason_len += (uint32_t)len;
	return put(r, at, len);
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct response *r = (struct response *)p;

	if (!r->in_field) {
		r->in_field = 1;
		r->field_start = r->arena_len;
	}
	return put(r, at, len);
}

/*
 * May a head of this status carry Content-Length or Transfer-Encoding?
 * Not a 1xx or a 204 (RFC 9110 §8.6, RFC 9112 §6.1: a sender MUST NOT):
 * they have no content, and a client that frames by such a field all the
 * same would take the next response on its connection for this one's
 * body. An upstream's are dropped, and lengthguard writes none.
 */
static int
length_fields_banned(int status)
{
	return status < 200 || status == 204;
}

static int
on_header_field_complete(llhttp_t *p)
{
	struct response *r = (struct response *)p;
	const char *n = r->arena + r->field_start;
	size_t len = r->arena_len - r->field_start;
	enum field_id id;

	/* RFC 9110 §5.1: a field name is a token, never empty */
	if (len == 0)
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "empty field name");
	/* RFC 9110 §7.6.1: hop-by-hop. Transfer-Encoding is checked here and
	 * written again from the framing llhttp found */
	id = fields_lookup(n, len);
	if (id == FIELD_DATE)
		r->has_date = 1;
	if (id == FIELD_CONNECTION)
		r->hop = 2;
	else if (id == FIELD_TRANSFER_ENCODING)
		r->hop = 3;
	else if (id == FIELD_CONTENT_LENGTH &&
	    length_fields_banned(p->status_code))
		r->hop = 1;	/* llhttp still frames by it (no body) */
	else
		r->hop = (fields_flags(id) & FIELD_HOP) != 0;
	if (put(r, LIT(": ")) != 0)
		return HPE_USER;
	r->value_start = r->arena_len;
	return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	return put((struct response *)p, at, len);
}

/* Connection options: close, keep-alive, or names of fields to remove. */
static int
conn_option(void *arg, const char *v, size_t n)
{
	struct response *r = arg;

	if (EQ(v, n, "close"))
		r->conn_close = 1;
	else if (!EQ(v, n, "keep-alive"))
		r->conn_extra = 1;
	return 0;
}

/* RFC 9112 §6.1, §7.1: we pass on exactly one coding, chunked, once. */
static int
te_coding(void *arg, const char *v, size_t n)
{
	int *count = arg;

	if (!EQ(v, n, "chunked"))
		return -1;
	(*count)++;
	return 0;
}

static int
te_only_chunked(const char *v, size_t n)
{
	int count = 0;

	return fields_list(v, n, te_coding, &count) == 0 && count == 1;
}

static int
on_header_value_complete(llhttp_t *p)
{
	struct response *r = (struct response *)p;
	const char *v;
	size_t n;
	int keep = !r->hop;

	while (r->arena_len > r->value_start &&
	    (r->arena[r->arena_len - 1] == ' ' || r->arena[r->arena_len - 1] == '\t'))
		r->arena_len--;
	v = r->arena + r->value_start;
	n = r->arena_len - r->value_start;
	if (r->hop == 2) {
		fields_list(v, n, conn_option, r);
		keep = r->conn_extra;	/* removed after the head */
	}
	else if (r->hop == 3 && (r->te_fields++ > 0 || !te_only_chunked(v, n)))
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "transfer coding other than chunked");
	if (!keep)
		r->arena_len = r->field_start;
	else if (put(r, LIT("\r\n")) != 0)
		return HPE_USER;
	r->in_field = 0;
	r->hop = 0;
	return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
	struct response *r = (struct response *)p;
	int st = p->status_code, skip;

	r->status = st;
	/* we never ask for an upgrade: a 101 is a protocol error */
	if (st == 101)
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "unexpected 101 Switching Protocols");
	/* RFC 9110 §15: three digits, 1xx to 5xx */
	if (st < 100 || st > 599)
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "invalid status code");
	if (p->http_major != 1)
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "unsupported HTTP version in response");
	/* RFC 9112 §6.3 rule 3: a response with both is not trusted */
	if ((p->flags & F_TRANSFER_ENCODING) && (p->flags & F_CONTENT_LENGTH))
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "Content-Length with Transfer-Encoding");
	/* RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty
	 * framing (its sender cannot have meant chunked, and may mean a body
	 * that ends at the close), as in a request (framing.c) */
	if ((p->flags & F_TRANSFER_ENCODING) && p->http_minor == 0)
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "Transfer-Encoding in an HTTP/1.0 response");
	if (r->conn_extra) {
		char *block = r->arena + r->reason_len;
		size_t len = r->arena_len - r->reason_len;

		if (fields_strip_connection(block, &len) != 0)
			return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "Connection field too long");
		r->arena_len = r->reason_len + (uint32_t)len;
	}
	/* RFC 9112 §6.3 rules 1-2: no body after HEAD, 1xx, 204 and 304,
	 * whatever the fields say */
	skip = r->head_request || st < 200 || st == 204 || st == 304;
	if (skip)
		p->flags |= F_SKIPBODY;
	/*
	 * A head that announces a body where none may follow (a HEAD answered
	 * with a length, a 204 or 304 with one, chunked anywhere here), and
	 * any 1xx: legal or not, a sloppy upstream may send bytes after it
	 * that the next request on the connection would take for its
	 * response. Such a connection is never reused.
	 */
	if (st < 200 || (skip && ((p->flags & F_CHUNKED) ||
	    ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0))))
		r->doubt = 1;
	if (st < 200 && ++r->interim > RESPONSE_MAX_INTERIM)
		return fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    "too many interim responses");
	r->chunked = (p->flags & F_CHUNKED) != 0;
	r->dechunk = r->chunked && r->client_minor == 0 && !skip;
	r->close_delim = !skip && llhttp_message_needs_eof(p);
	r->paused_head = 1;
	/* a head with no body runs on to on_message_complete, which stops */
	if (skip || ((p->flags & F_CONTENT_LENGTH) && p->content_length == 0))
		return skip ? 1 : 0;
	return HPE_PAUSED;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct response *r = (struct response *)p;

	if (r->dechunk && r->sink)
		r->sink(r->sink_arg, at, len);
	return 0;
}

static int
on_message_complete(llhttp_t *p)
{
	struct response *r = (struct response *)p;

	r->paused_end = 1;
	return HPE_PAUSED;
}

static const llhttp_settings_t response_settings = {
	.on_message_begin = on_message_begin,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

struct response *
response_new(uint32_t max_head)
{
	struct response *r;
	size_t cap = (size_t)max_head + 256;

	/* only the struct is zeroed: the arena is always written before it is
	 * read, and zeroing 64 KiB per upstream connection showed in profiles */
	if ((r = malloc(sizeof(*r) + cap)) == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->arena_cap = (uint32_t)cap;
	r->max_head = max_head;
	llhttp_init(&r->parser, HTTP_RESPONSE, &response_settings);
	return r;
}

void
response_free(struct response *r)
{
	free(r);
}

void
response_begin(struct response *r, int head_request, int client_minor,
    response_sink sink, void *sink_arg)
{
	llhttp_init(&r->parser, HTTP_RESPONSE, &response_settings);
	r->state = R_HEAD;
	r->head_request = head_request;
	r->client_minor = client_minor;
	r->sink = sink;
	r->sink_arg = sink_arg;
	r->error = NULL;
	r->refusal = REASON_NONE;
	r->started = 0;
	r->dechunk = 0;
	r->close_delim = 0;
	r->end_pending = 0;
	r->head_bytes = 0;
	r->status = 0;
	r->doubt = 0;
	r->interim = 0;
}

void
response_set_date(struct response *r, const char *date_line)
{
	r->date_line = date_line;
}

static struct response_step
rstep(enum response_verdict v, size_t n)
{
	struct response_step s = { v, n };

	return s;
}

struct response_step
response_feed(struct response *r, const char *data, size_t len)
{
	llhttp_errno_t err;
	size_t n = len, used;

	if (r->end_pending) {
		/* the head had no body: its end is the next step */
		r->end_pending = 0;
		r->state = R_DONE;
		return rstep(RESPONSE_END, 0);
	}
	if (r->state == R_DONE || r->state == R_ERROR)
		return rstep(r->state == R_DONE ? RESPONSE_END : RESPONSE_ERROR, 0);
	if (len == 0)
		return rstep(RESPONSE_MORE, 0);
	if (r->state == R_HEAD && n > r->max_head - r->head_bytes)
		n = r->max_head - r->head_bytes;
	r->paused_head = r->paused_end = 0;
	err = llhttp_execute(&r->parser, data, n);
	if (err == HPE_OK) {
		if (r->state == R_HEAD) {
			r->head_bytes += (uint32_t)n;
			if (r->head_bytes >= r->max_head) {
				fail(r, REASON_UPSTREAM_HEAD_TOO_LARGE,
				    "response head too large");
				r->state = R_ERROR;
				return rstep(RESPONSE_ERROR, 0);
			}
			return rstep(RESPONSE_MORE, n);
		}
		return rstep(RESPONSE_BODY, n);
	}
	used = (size_t)(llhttp_get_error_pos(&r->parser) - data);
	if (err == HPE_PAUSED) {
		llhttp_resume(&r->parser);
		if (r->paused_head) {
			r->started = 1;
			r->head_bytes = 0;
			if (r->status < 200)		/* interim: a head follows */
				r->state = R_HEAD;
			else if (r->paused_end)		/* no body */
				r->end_pending = 1;
			else
				r->state = R_BODY;
			return rstep(RESPONSE_HEAD, used);
		}
		r->state = R_DONE;
		return rstep(RESPONSE_END, used);
	}
	if (r->error == NULL)
		fail(r, REASON_UPSTREAM_INVALID_RESPONSE,
		    llhttp_get_error_reason(&r->parser));
	r->state = R_ERROR;
	return rstep(RESPONSE_ERROR, 0);
}

struct response_step
response_eof(struct response *r)
{
	if (r->end_pending || r->state == R_DONE) {
		r->end_pending = 0;
		r->state = R_DONE;
		return rstep(RESPONSE_END, 0);
	}
	/* RFC 9112 §6.3 rule 8: the close ends a close-delimited body */
	if (r->state == R_BODY && r->close_delim) {
		r->state = R_DONE;
		return rstep(RESPONSE_END, 0);
	}
	fail(r, REASON_UPSTREAM_CLOSED_EARLY,
	    r->state == R_HEAD ? "upstream closed before the response" :
	    "upstream closed in the response body");
	r->state = R_ERROR;
	return rstep(RESPONSE_ERROR, 0);
}

int
response_status(const struct response *r)
{
	return r->status;
}

int
response_passthrough(const struct response *r)
{
	return !r->dechunk;
}

int
response_interim(const struct response *r)
{
	return r->status > 0 && r->status < 200;
}

int
response_started(const struct response *r)
{
	return r->started;
}

int
response_reusable(const struct response *r)
{
	return r->state == R_DONE && !r->conn_close && !r->conn_extra &&
	    r->parser.http_minor == 1 && !r->close_delim && !r->doubt;
}

int
response_client_close(const struct response *r)
{
	return r->dechunk || r->close_delim;
}

const char *
response_error(const struct response *r)
{
	return r->error ? r->error : "";
}

enum reason
response_refusal(const struct response *r)
{
	return r->refusal;
}

static char *
put_bytes(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}
#define PUT(o, lit) put_bytes((o), LIT(lit))

long
response_write_head(const struct response *r, int close, char *out, size_t cap)
{
	size_t fields = r->arena_len - r->reason_len;
	/* RFC 9110 §6.6.1: a forwarded final response without Date gets one */
	int add_date = r->status >= 200 && !r->has_date && r->date_line != NULL;
	size_t date_len = add_date ? strlen(r->date_line) : 0;
	size_t need = LITLEN("HTTP/1.1 200 ") + r->reason_len + LITLEN("\r\n") +
	    fields + date_len + LITLEN("Transfer-Encoding: chunked\r\n") +
	    LITLEN("Connection: keep-alive\r\n") + LITLEN("\r\n");
	char *o = out;
	/* RFC 9112 §6.1: chunked only to an HTTP/1.1 client */
	int chunked = r->chunked && !r->dechunk && r->client_minor == 1;

	if (need > cap)
		return -1;
	close = close || response_client_close(r);
	o = PUT(o, "HTTP/1.1 ");
	*o++ = (char)('0' + r->status / 100 % 10);
	*o++ = (char)('0' + r->status / 10 % 10);
	*o++ = (char)('0' + r->status % 10);
	*o++ = ' ';
	o = put_bytes(o, r->arena, r->reason_len);
	o = PUT(o, "\r\n");
	o = put_bytes(o, r->arena + r->reason_len, fields);
	if (add_date)
		o = put_bytes(o, r->date_line, date_len);
	if (chunked && !length_fields_banned(r->status))
		o = PUT(o, "Transfer-Encoding: chunked\r\n");
	if (r->status >= 200) {
		/* (the longer of the two is counted in `need`) */
		if (close)
			o = PUT(o, "Connection: close\r\n");
		else if (r->client_minor == 0)
			o = PUT(o, "Connection: keep-alive\r\n");
	}
	o = PUT(o, "\r\n");
	return (long)(o - out);
}
