/*
 * framing.c - inspect a client's request stream and decide, per request,
 * whether it may go upstream (see framing.h for the contract).
 *
 * llhttp (strict mode, no lenient flags) validates the head; once it has
 * accepted a whole head, head_scan() reads it once more, line by line, to
 * apply the rules llhttp does not (docs/framing.md) and to write the
 * canonical field block. A verdict taken on a complete head cannot depend
 * on how its bytes were cut into pieces.
 *
 * A head that arrives whole and plain (head_clean: field lines of a token,
 * ':', HTAB and visible ASCII, CRLF) is read once by the core instead:
 * head_clean checks those bytes as strictly as llhttp would, applies
 * head_scan's rules to its request line and field lines as it goes
 * (field_line), and gives llhttp only the request line and the field
 * lines llhttp reads for framing and persistence (Connection,
 * Content-Length, Transfer-Encoding, Upgrade); head_scan then applies
 * the rules that need llhttp's reading. Anything else, anything a field
 * line refuses, or anything llhttp refuses there, is read the usual way,
 * from the start, so both paths give the same verdict (tests/core feeds
 * every case whole and in pieces; fuzz_framing compares the two).
 * bench/parse_bench: the core then costs about what llhttp alone does on
 * the same bytes.
 *
 * on_headers_complete returns 1 ("no body") and on_message_complete pauses,
 * so llhttp stops right after the head; body bytes are counted, never read.
 *
 * Memory, allocated once per inspector:
 *   arena[0 .. arena_cap)        canonical: [target][Name: value\r\n]...
 *   arena[arena_cap .. +raw_cap) the raw head, when it came in pieces
 *                                (a head in one piece is read where it is),
 *                                and a head refused by a limit (414, 431),
 *                                read for its Accept (raw_accept); for a
 *                                head_clean head, what llhttp reads of it
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>
#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "accept.h"
#include "chunked.h"
#include "fields.h"
#include "framing.h"
#include "reason.h"

enum framing_state {
	ST_HEAD = 0,		/* reading a head with llhttp */
	ST_BODY,		/* counting an approved body */
	ST_CHUNKED,		/* decoding a chunked body (buffered, or
				   discarded after its 411) */
	ST_CLOSED,		/* rejected, or the client asked to close */
	ST_LINE_LONG,		/* a request line over the limit: the rest of
				   its head is read only for its Accept */
};

struct framing {
	llhttp_t parser;
	const struct framing_policy *policy;
	enum framing_state state;

	/* the current head */
	uint32_t head_bytes;		/* bytes of it fed so far */
	uint32_t nfields;
	uint32_t target_len;		/* the target is at arena[0] */
	uint32_t host_line, host_line_len;	/* the Host line, if any */
	uint32_t accept_off, accept_len;
	uint32_t authority_off, authority_len;	/* absolute-form target */
	uint32_t path_off;		/* origin-form part of the target */
	unsigned line_done:1;		/* the request line is complete */
	unsigned line_open:1;		/* the next or current request line is
					   not complete: the line limit applies */
	uint8_t n_cl, n_te, n_host;	/* field lines seen, saturating */
	unsigned te_chunked:1, te_unknown:1;
	unsigned te_coded:1;		/* a coding before chunked (gzip...) */
	enum reason te_fault;		/* the first fault of Transfer-Encoding */
	unsigned host_bad:1;
	const char *te_value;		/* head_scan: the Transfer-Encoding
					   value (in the head being read) */
	uint32_t te_len;
	unsigned conn_close:1, conn_keep_alive:1, conn_extra:1;
	unsigned expect_continue:1, expect_other:1;
	unsigned absolute_form:1;
	unsigned proxy_field:1;		/* a Proxy line (dropped) */
	unsigned fwd_xff:1;		/* X-Forwarded-For lines in the block */
	unsigned fwd_other:1;		/* Forwarded or X-Real-IP lines */
	uint8_t  desync;		/* enum desync_class: the highest a
					   trait of this request showed */
	uint64_t content_length;
	/* ST_LINE_LONG: where the line being read starts in the raw copy, and
	 * whether the request line is behind (line_long_scan) */
	uint32_t skip_line;
	unsigned skip_fields:1;

	/* a chunked body: its decoder and where its payload goes */
	struct chunked ck;
	chunked_sink sink;
	void *sink_arg;
	unsigned discardable:1;		/* its 411 may keep the connection */
	unsigned client_closes:1;	/* its head allows no other request */

	/* the verdict */
	uint64_t body_left;
	enum reason reason;		/* of a refusal: status, text, label */
	struct framing_request req;
	char line[FRAMING_LOG_LINE];	/* req.line: a refused request's line */

	uint32_t arena_len, arena_cap, raw_cap;
	char arena[];
};

static const char *const method_names[] = {
#define XX(num, name, string) [num] = #string,
	HTTP_METHOD_MAP(XX)
#undef XX
};
#define NMETHODS (sizeof(method_names) / sizeof(method_names[0]))

/* RFC 9110 §9.3.1, §9.3.2, §9.3.5, §9.3.7, §9.3.8: the methods whose
 * requests have no generally defined content (TRACE: none at all). */
#define BODYLESS_METHODS (1ull << HTTP_GET | 1ull << HTTP_HEAD |	\
	1ull << HTTP_OPTIONS | 1ull << HTTP_TRACE | 1ull << HTTP_DELETE)

/* ------------------------------------------------------------ helpers */

#define EQ(s, n, lit) fields_eq((s), (n), LIT(lit))

/* RFC 9110 §5.6.2: tchar. */
static int
is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The request shows a trait of class d (docs/classes.md): the highest stands. */
static void
desync(struct framing *f, enum desync_class d)
{
	if (d > f->desync)
		f->desync = (uint8_t)d;
}

/* Refuse the request (the first reason given stands). Returns HPE_USER. */
static int
reject(struct framing *f, enum reason why)
{
	if (f->reason == REASON_NONE)
		f->reason = why;
	return HPE_USER;
}

/*
 * A refusal monitor mode may turn into a forwarded request: in monitor
 * mode, for a reason of reason_monitored(), the reason is noted as the
 * request's would_refuse (the first stands), the request takes its desync
 * class, and 0: the checks go on, and the caller forwards the request as
 * docs/classes.md says. Otherwise the request is refused (reject): nonzero.
 * Only called where the core can go on to write a canonical head.
 */
static int
refuse(struct framing *f, enum reason why)
{
	if (f->policy->mode != FRAMING_MONITOR || !reason_monitored(why))
		return reject(f, why);
	if (f->req.would_refuse == REASON_NONE)
		f->req.would_refuse = why;
	desync(f, reason_desync(why));
	return 0;
}

/* ------------------------------------------------- field value checks */

/*
 * Transfer-Encoding, one element. RFC 9112 §6.1: chunked must be the final
 * coding and may not be applied twice; a coding we do not know is 501.
 * Transfer codings are tokens, optionally with parameters (§7.3); chunked
 * has none.
 */
/* Keep the first fault found in Transfer-Encoding. */
static void
te_fault(struct framing *f, enum reason why)
{
	if (f->te_fault == REASON_NONE)
		f->te_fault = why;
}

static int
te_element(void *arg, const char *s, size_t n)
{
	struct framing *f = arg;
	size_t i, name = n;

	for (i = 0; i < n; i++) {
		if (s[i] == ';' || s[i] == ' ' || s[i] == '\t') {
			name = i;
			break;
		}
		if (!is_tchar((unsigned char)s[i])) {
			te_fault(f, REASON_TE_INVALID);
			return 1;
		}
	}
	if (f->te_chunked) {
		/* §6.1: chunked is final, and not applied more than once */
		te_fault(f, REASON_TE_AFTER_CHUNKED);
		return 1;
	}
	if (EQ(s, name, "chunked")) {
		if (name != n)		/* chunked takes no parameters */
			te_fault(f, REASON_TE_INVALID);
		f->te_chunked = 1;
		return 0;
	}
	if (!(EQ(s, name, "gzip") || EQ(s, name, "x-gzip") ||
	    EQ(s, name, "deflate") || EQ(s, name, "compress") ||
	    EQ(s, name, "x-compress")))
		f->te_unknown = 1;
	f->te_coded = 1;
	return 0;
}

/* Is there an element at all? */
static int
te_any(void *arg, const char *s, size_t n)
{
	(void)arg;
	(void)s;
	(void)n;
	return 1;
}

static void
te_check(struct framing *f, const char *v, size_t n)
{
	if (f->n_te++ > 0) {
		/* docs/framing.md: more than one Transfer-Encoding field line,
		 * whatever was wrong with the first one */
		f->te_fault = REASON_TE_DUPLICATE;
		return;
	}
	f->te_chunked = 0;
	fields_list(v, n, te_element, f);
	if (!f->te_chunked)	/* §6.3 rule 4: final coding is not chunked */
		te_fault(f, fields_list(v, n, te_any, NULL) ?
		    REASON_TE_NOT_CHUNKED : REASON_TE_INVALID /* none at all */);
}

/* Connection options (RFC 9110 §7.6.1): close, keep-alive, or a field name. */
static int
conn_element(void *arg, const char *s, size_t n)
{
	struct framing *f = arg;

	if (EQ(s, n, "close"))
		f->conn_close = 1;
	else if (EQ(s, n, "keep-alive"))
		f->conn_keep_alive = 1;
	else
		f->conn_extra = 1;
	return 0;
}

/*
 * Host (RFC 9112 §3.2, RFC 3986 §3.2.2): uri-host [ ":" port ], possibly
 * empty. Anything else makes the request invalid (400).
 */
static inline __attribute__((always_inline)) int
host_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!((s[i] >= '0' && s[i] <= '9') ||
			    (fields_lower((unsigned char)s[i]) >= 'a' &&
			    fields_lower((unsigned char)s[i]) <= 'f') ||
			    s[i] == ':' || s[i] == '.'))
				return 0;
		if (i == n || i == 1)
			return 0;
		i++;
	} else {
		/* reg-name: unreserved / pct-encoded / sub-delims (1), up
		 * to the port's ':' (2) */
		static const unsigned char reg_name[256] = {
			['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1,
			['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['%'] = 1,
			['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1,
			[')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1,
			['='] = 1, [':'] = 2,
		};

		for (; i < n && reg_name[(unsigned char)s[i]] == 1; i++)
			;
		if (i < n && reg_name[(unsigned char)s[i]] != 2)
			return 0;
	}
	if (i == n)
		return 1;
	if (s[i] != ':')
		return 0;
	for (i++; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * Content-Length (RFC 9110 §8.6): 1*DIGIT. llhttp already refuses signs,
 * lists, blanks and overflow; this is the same rule, kept here so that the
 * core does not depend on the parser's leniency.
 */
static int
cl_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i] - (unsigned)'0';

		if (c > 9)
			return -1;
		/* (19 digits never overflow: UINT64_MAX has 20) */
		if (i >= 19 && v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + c;
	}
	*out = v;
	return 0;
}

/* Why cl_parse() refused s[0..n): a list, too many digits, or not digits. */
static enum reason
cl_fault(const char *s, size_t n)
{
	size_t i;

	if (memchr(s, ',', n) != NULL)
		return REASON_CL_LIST;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return REASON_CL_INVALID;
	return n > 0 ? REASON_CL_OVERFLOW : REASON_CL_INVALID;
}

/* ---------------------------------------------------- llhttp callbacks */

/* A new head: the state of the last one is forgotten. */
static void
message_begin(struct framing *f)
{
	f->nfields = 0;
	f->target_len = 0;
	f->arena_len = 0;
	f->host_line_len = 0;
	f->accept_len = 0;
	f->line_done = 0;
	f->n_cl = f->n_te = f->n_host = 0;
	f->te_chunked = f->te_unknown = f->te_coded = 0;
	f->te_fault = REASON_NONE;
	f->host_bad = 0;
	f->conn_close = f->conn_keep_alive = f->conn_extra = 0;
	f->expect_continue = f->expect_other = 0;
	f->absolute_form = f->proxy_field = 0;
	f->fwd_xff = f->fwd_other = 0;
	f->content_length = 0;
	f->reason = REASON_NONE;
	f->desync = DESYNC_COMPLIANT;
	f->discardable = f->client_closes = 0;
	f->req.method_name = NULL;
	f->req.line_len = 0;
	f->req.line_cut = 0;
	f->req.head_method = 0;
	f->req.close_upstream = 0;
	f->req.chunked = 0;
	f->req.chunked_forward = 0;
	f->req.would_refuse = REASON_NONE;
}

static int
on_message_begin(llhttp_t *p)
{
	message_begin((struct framing *)p);
	return 0;
}

/* Known as soon as the method is read: a refusal of a HEAD request, even
 * one llhttp refuses in the middle of its head, is answered without a body
 * (RFC 9110 §9.3.2). */
static int
on_method_complete(llhttp_t *p)
{
	struct framing *f = (struct framing *)p;

	f->req.head_method = p->method == HTTP_HEAD;
	return 0;
}

static int
on_version_complete(llhttp_t *p)
{
	struct framing *f = (struct framing *)p;

	f->line_done = 1;
	f->line_open = 0;
	/* RFC 9112 §2.3: we speak HTTP/1.0 and HTTP/1.1 only */
	if (p->http_major == 2 && p->http_minor == 0 && p->method == HTTP_PRI)
		return reject(f, REASON_H2_PREFACE);	/* RFC 9113 §3.4 */
	if (p->http_major != 1 || p->http_minor > 1)
		return reject(f, REASON_VERSION_UNSUPPORTED);
	return 0;
}

/*
 * Remove the Connection lines and every field they name (RFC 9110 §7.6.1).
 * Runs only when a Connection field named something other than close or
 * keep-alive, so the common head never pays for it. The Host and Accept
 * positions are found again afterwards.
 */
static int
conn_strip(struct framing *f)
{
	char *block = f->arena + f->target_len;
	size_t len = f->arena_len - f->target_len, off, llen, voff, vlen;

	if (fields_strip_connection(block, &len) != 0)
		return reject(f, REASON_CONNECTION_TOO_LONG);
	f->arena_len = f->target_len + (uint32_t)len;
	f->host_line_len = 0;
	if (fields_find(block, len, "host", &off, &llen, &voff, &vlen)) {
		f->host_line = f->target_len + (uint32_t)off;
		f->host_line_len = (uint32_t)llen;
	} else if (f->n_host > 0) {
		/* RFC 9110 §7.6.1: Host is for every recipient, never an
		 * option of one connection; the upstream must get it */
		return reject(f, REASON_CONNECTION_NAMES_HOST);
	}
	f->accept_len = 0;
	if (fields_find(block, len, "accept", &off, &llen, &voff, &vlen)) {
		f->accept_off = f->target_len + (uint32_t)voff;
		f->accept_len = (uint32_t)vlen;
	}
	return 0;
}

/* Is c in s[0..n)? Short strings (a target of "/", "/index.html") are
 * read here, without a call. */
static int
has_byte(const char *s, size_t n, char c)
{
	size_t i;

	if (n >= 32)
		return memchr(s, c, n) != NULL;
	for (i = 0; i < n; i++)
		if (s[i] == c)
			return 1;
	return 0;
}

/*
 * RFC 9112 §3.2: origin-form, absolute-form, or "*" for OPTIONS
 * (authority-form is CONNECT's, refused earlier). A fragment is never
 * part of a request target. An absolute-form target is rewritten to
 * origin-form and its authority replaces Host (§3.2.2), so the upstream
 * never sees the two disagree.
 */
static int
target_check(struct framing *f)
{
	const char *t = f->arena;
	size_t n = f->target_len, i, a, e;

	/* (monitor mode: the target goes upstream as received) */
	if (has_byte(t, n, '#') && refuse(f, REASON_TARGET_FRAGMENT))
		return -1;
	f->path_off = 0;
	if (n > 0 && t[0] == '/')
		return 0;
	if (n == 1 && t[0] == '*') {
		if (f->parser.method != HTTP_OPTIONS &&
		    refuse(f, REASON_TARGET_ASTERISK))
			return -1;
		return 0;
	}
	/* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
	for (i = 0; i < n && t[i] != ':'; i++)
		;
	if (!(EQ(t, i, "http") || EQ(t, i, "https")) || n - i < 3 ||
	    memcmp(t + i, LIT("://")) != 0)
		return reject(f, REASON_TARGET_INVALID);
	a = i + 3;
	for (e = a; e < n && t[e] != '/' && t[e] != '?'; e++)
		if (t[e] == '@')	/* RFC 9110 §4.2.4: no userinfo */
			return reject(f, REASON_TARGET_USERINFO);
	if (e == a || !host_valid(t + a, e - a))
		return reject(f, REASON_TARGET_AUTHORITY);
	f->absolute_form = 1;
	f->authority_off = (uint32_t)a;
	f->authority_len = (uint32_t)(e - a);
	f->path_off = (uint32_t)e;
	return 0;
}

/*
 * One field line of an accepted head: name[0..nlen), value[0..vlen) with
 * OWS already trimmed, to be placed at arena offset `at` if forwarded.
 * Inspects what the core needs. Returns 1 to forward the line, 0 to drop
 * it, -1 to refuse the request.
 */
static inline __attribute__((always_inline)) int
field_inspect(struct framing *f, enum field_id id, size_t nlen,
    const char *v, size_t vlen, uint32_t at)
{
	switch (id) {
	case FIELD_CONTENT_LENGTH:
		/* docs/framing.md: one Content-Length field, never a list */
		if (f->n_cl++ > 0)
			return reject(f, REASON_CL_DUPLICATE), -1;
		if (cl_parse(v, vlen, &f->content_length) != 0)
			return reject(f, cl_fault(v, vlen)), -1;
		return 0;	/* written again, canonically */
	case FIELD_TRANSFER_ENCODING:
		te_check(f, v, vlen);
		f->te_value = v;	/* (one line, or refused) */
		f->te_len = (uint32_t)vlen;
		return 0;
	case FIELD_HOST:
		/* RFC 9112 §3.2: exactly one Host, with a valid value */
		if (f->n_host < 2)
			f->n_host++;
		if (!host_valid(v, vlen))
			f->host_bad = 1;
		f->host_line = at;
		f->host_line_len = (uint32_t)(nlen + vlen + 4);
		return 1;
	case FIELD_CONNECTION:
		if (EQ(v, vlen, "keep-alive"))	/* what browsers send */
			f->conn_keep_alive = 1;
		else if (EQ(v, vlen, "close"))
			f->conn_close = 1;
		else
			fields_list(v, vlen, conn_element, f);
		/* close and keep-alive are ours; other options name fields
		 * that are removed when the head is complete */
		return f->conn_extra;
	case FIELD_EXPECT:
		/* RFC 9110 §10.1.1: 100-continue is answered by the proxy */
		if (EQ(v, vlen, "100-continue"))
			f->expect_continue = 1;
		else
			f->expect_other = 1;
		return 0;
	case FIELD_ACCEPT:
		f->accept_off = at + (uint32_t)(nlen + LITLEN(": "));
		f->accept_len = (uint32_t)vlen;
		return 1;
	case FIELD_X_FORWARDED_PROTO:
		return !f->policy->add_x_forwarded_proto;
	case FIELD_X_FORWARDED_FOR:
		/* kept in the block; framing_write_head drops it or joins it,
		 * as the peer is trusted or not */
		f->fwd_xff = 1;
		return 1;
	case FIELD_FORWARDED:
	case FIELD_X_REAL_IP:
		f->fwd_other = 1;	/* dropped from an untrusted peer */
		return 1;
	case FIELD_PROXY:
		/* httpoxy (CVE-2016-5385): a CGI program would find it as
		 * HTTP_PROXY, which HTTP clients read as their proxy */
		f->proxy_field = 1;
		return 0;
	default:
		break;
	}
	/* RFC 9110 §7.6.1: the other hop-by-hop fields are not forwarded */
	return !(fields_flags(id) & FIELD_HOP);
}

/* Append raw bytes to the canonical block. */
static int
arena_add(struct framing *f, const char *p, size_t n)
{
	if (n > f->arena_cap - f->arena_len)
		return reject(f, REASON_HEAD_TOO_LARGE), -1;
	memcpy(f->arena + f->arena_len, p, n);
	f->arena_len += (uint32_t)n;
	return 0;
}

/*
 * Why the line at h (up to the end of the head) is not a CRLF-ended line
 * (with a colon, for a field line): the most exact reason there is.
 */
static enum reason
line_fault(const char *h, const char *end, int field)
{
	int colon = 0;

	for (; h < end; h++) {
		if (*h == '\n')
			return REASON_BARE_LF;		/* RFC 9112 §2.2 */
		if (*h == '\r') {
			if (h + 1 == end || h[1] != '\n')
				return REASON_BARE_CR;	/* RFC 9112 §2.2 */
			break;
		}
		if (*h == ':')
			colon = 1;
	}
	return field && !colon ? REASON_FIELD_NO_COLON : REASON_HEAD_MALFORMED;
}

/*
 * A refusal in the middle of the field lines: the lines kept before h
 * (from run on) go to the arena all the same, so that an Accept line among
 * them can choose the page (framing_wants_json). Returns -1.
 */
static int
scan_fail(struct framing *f, const char *run, const char *h)
{
	if (run != NULL)
		arena_add(f, run, (size_t)(h - run));
	return -1;
}

/*
 * A field name with "_", name[0..n). RFC 3875 §4.1.18: a CGI (or WSGI)
 * gateway names its variable after the field with "-" turned into "_", so
 * such a name reaches the application as the field it aliases. Returns 1
 * to forward the line, 0 to drop it, -1 to refuse the request.
 */
static int
underscore_name(struct framing *f, const char *name, size_t n)
{
	/* an alias of a field lengthguard reads, replaces or drops */
	if (fields_alias(name, n) != FIELD_OTHER)
		return reject(f, REASON_FIELD_NAME_ALIAS), -1;
	/* docs/classes.md: acceptable, whether dropped or passed */
	desync(f, DESYNC_ACCEPTABLE);
	switch (f->policy->underscores) {
	case FRAMING_UNDERSCORES_REJECT:
		/* monitor mode: forwarded as received, as with pass */
		return refuse(f, REASON_FIELD_NAME_UNDERSCORE) ? -1 : 1;
	case FRAMING_UNDERSCORES_PASS:
		return 1;
	case FRAMING_UNDERSCORES_DROP:
		break;
	}
	return 0;
}

/*
 * Line scanning for head_scan, 16 bytes at a time where SSE2 is there (any
 * x86-64), a byte at a time otherwise and for the last bytes: they find
 * the same bytes memchr() would, without a call per search.
 *
 * scan_name: the first ':' or CR of h[0..end), or end; *under is set when
 * a '_' comes before it.
 */
static const char *
scan_name(const char *h, const char *end, int *under)
{
#ifdef __SSE2__
	const __m128i colon = _mm_set1_epi8(':'), cr = _mm_set1_epi8('\r');
	const __m128i us = _mm_set1_epi8('_');

	for (; end - h >= 16; h += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)h);
		unsigned stop = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, cr)));
		unsigned u = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, us));

		if (stop != 0) {
			unsigned i = (unsigned)__builtin_ctz(stop);

			*under |= (u & ((1u << i) - 1)) != 0;
			return h + i;
		}
		*under |= u != 0;
	}
#endif
	for (; h < end && *h != ':' && *h != '\r'; h++)
		*under |= *h == '_';
	return h;
}

/* The first CR of h[0..end), or end. Values are long (cookies, tokens,
 * User-Agent): 32 bytes at a time where AVX2 is there. */
static const char *
scan_cr(const char *h, const char *end)
{
#ifdef __AVX2__
	const __m256i cr32 = _mm256_set1_epi8('\r');

	for (; end - h >= 32; h += 32) {
		unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
		    _mm256_loadu_si256((const __m256i *)(const void *)h), cr32));

		if (m != 0)
			return h + __builtin_ctz(m);
	}
#endif
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r');

	for (; end - h >= 16; h += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)h), cr));

		if (m != 0)
			return h + __builtin_ctz(m);
	}
#endif
	while (h < end && *h != '\r')
		h++;
	return h;
}

/*
 * One field line of a head, at h: its name h[0..nlen) (row id, with a '_'
 * when `under`), its colon, its value v[0..) after the leading OWS, up to
 * eol (its CR), the line forwarded or dropped as the rules say. *run is
 * the start of the lines already canonical and not yet in the arena
 * (NULL: none). Returns 0; -1 for a refusal (the lines of *run still to
 * go to the arena: scan_fail), -2 for one where the arena is full.
 */
static inline __attribute__((always_inline)) int
field_line(struct framing *f, const char *h, size_t nlen, const char *colon,
    const char *v, const char *eol, enum field_id id, int under,
    const char **run)
{
	const char *ve;
	int keep;

	if (++f->nfields > f->policy->max_headers)
		return reject(f, REASON_TOO_MANY_FIELDS), -1;
	ve = eol;
	if (ve[-1] <= ' ')	/* (most often a visible byte: none) */
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
	if (id == FIELD_OTHER && under)
		keep = underscore_name(f, h, nlen);
	else if (id == FIELD_OTHER)
		keep = 1;	/* end-to-end (field_inspect's default) */
	else
		keep = field_inspect(f, id, nlen, v, (size_t)(ve - v),
		    f->arena_len + (uint32_t)(*run ? h - *run : 0));
	if (keep < 0)
		return -1;
	if (keep && v == colon + 2 && ve == eol) {
		if (*run == NULL)
			*run = h;	/* canonical already */
		return 0;
	}
	if (*run != NULL && arena_add(f, *run, (size_t)(h - *run)) != 0)
		return -2;
	*run = NULL;
	if (keep && (arena_add(f, h, nlen) != 0 ||
	    arena_add(f, LIT(": ")) != 0 ||
	    arena_add(f, v, (size_t)(ve - v)) != 0 ||
	    arena_add(f, LIT("\r\n")) != 0))
		return -2;
	return 0;
}

/*
 * The request-target, t[0..n), at the start of the arena, where the
 * canonical block follows it. The request line goes on for " HTTP/1.x"
 * CRLF after it: a target of up to 24 bytes is copied 8 at a time,
 * without a call, and no read passes the line's CR (what is written
 * after the target is the canonical block's room).
 */
static void
copy_target(struct framing *f, const char *t, size_t n)
{
	size_t i;

	f->target_len = (uint32_t)n;
	f->arena_len = (uint32_t)n;
	if (n > 24) {
		memcpy(f->arena, t, n);
		return;
	}
	for (i = 0; i < n; i += 8)
		memcpy(f->arena + i, t + i, 8);
}

/* The request line, for logs, even if the request is refused. */
static void
note_line(struct framing *f)
{
	const llhttp_t *p = &f->parser;
	struct framing_request *r = &f->req;

	r->method = p->method;
	r->method_name = p->method < NMETHODS ? method_names[p->method] : NULL;
	r->http_minor = p->http_minor;
	r->target = f->arena;
	r->target_len = f->target_len;
}

/*
 * Read a head llhttp has accepted, h[0..n) (its request line and fields,
 * CRLF ended, the empty line last), and apply the rules llhttp leaves to
 * us. `fast`: head_clean read its request line and field lines already
 * (the target and the canonical block are in the arena). Returns 0 to
 * approve (the canonical block is built), -1 to refuse.
 */
static int
head_scan(struct framing *f, const char *h, size_t n, int fast)
{
	const struct framing_policy *pol = f->policy;
	const llhttp_t *p = &f->parser;
	struct framing_request *r = &f->req;
	const char *const end = h + n;
	const char *eol, *sp1, *sp2, *colon, *v, *run;
	int close_upstream = 0, forward_chunked = 0, zero_length = 0, rv;

	/* RFC 9112 §2.3: a request line without a version is HTTP/0.9 */
	if (!f->line_done)
		return reject(f, REASON_HTTP09);
	if (fast) {
		note_line(f);
		goto fields_done;
	}
	/* RFC 9112 §2.2: empty lines before the request line are ignored */
	while (h + 1 < end && h[0] == '\r' && h[1] == '\n')
		h += 2;
	/* RFC 9112 §3: method SP request-target SP HTTP-version, one space
	 * each (llhttp lets more through) */
	if ((eol = memchr(h, '\r', (size_t)(end - h))) == NULL ||
	    eol + 1 >= end || eol[1] != '\n')
		return reject(f, line_fault(h, end, 0));
	sp1 = memchr(h, ' ', (size_t)(eol - h));
	if (sp1 == NULL || sp1[1] == ' ' ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL ||
	    (size_t)(eol - sp2) != LITLEN(" HTTP/1.1"))
		/* (llhttp lets a bare LF end the request line: the CR found
		 * is then a later line's) */
		return reject(f, memchr(h, '\n', (size_t)(eol - h)) != NULL ?
		    REASON_BARE_LF : sp1 == NULL ? REASON_REQUEST_LINE :
		    REASON_REQUEST_LINE_SPACE);
	copy_target(f, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	note_line(f);

	/*
	 * Field lines. Most are forwarded as they came ("Name: value" with
	 * one space and no trailing OWS): runs of those are copied in one
	 * go; the others are dropped or written canonically.
	 */
	run = NULL;
	for (h = eol + 2;; h = eol + 2) {
		size_t nlen;
		int under = 0;

		if (h >= end || *h == '\r')
			break;
		/* RFC 9112 §5.2: obs-fold, which llhttp takes as more value */
		if (*h == ' ' || *h == '\t')
			return reject(f, REASON_OBS_FOLD), scan_fail(f, run, h);
		/* RFC 9112 §2.2: lines end with CRLF; llhttp lets a bare LF
		 * end the head. Whatever llhttp let through, this pass never
		 * reads past the head and refuses what is not CRLF lines:
		 * the name ends at the first colon, with no CR before it, and
		 * the line at the next CR, followed by LF. */
		colon = scan_name(h, end, &under);
		if (colon == end || *colon != ':' ||
		    (eol = scan_cr(colon + 1, end)) == end ||
		    eol + 1 >= end || eol[1] != '\n')
			return reject(f, line_fault(h, end, 1)),
			    scan_fail(f, run, h);
		nlen = (size_t)(colon - h);
		/* RFC 9110 §5.1: field-name = token, so never empty */
		if (nlen == 0)
			return reject(f, REASON_FIELD_NAME_EMPTY),
			    scan_fail(f, run, h);
		/* RFC 9112 §5.1: OWS around the value is not part of it */
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		rv = field_line(f, h, nlen, colon, v, eol,
		    fields_lookup(h, nlen), under, &run);
		if (rv == -1)
			return scan_fail(f, run, h);
		if (rv != 0)
			return -1;
	}
	if (h + 1 >= end || h[0] != '\r' || h[1] != '\n')
		return reject(f, line_fault(h, end, 0)), scan_fail(f, run, h);
	if (run != NULL && arena_add(f, run, (size_t)(h - run)) != 0)
		return -1;

fields_done:
	/* RFC 9110 §9.3.6, §7.8: no tunnels, no protocol switch (yet) */
	if (p->method == HTTP_CONNECT)
		return reject(f, REASON_CONNECT);
	if (p->upgrade)
		return reject(f, REASON_UPGRADE);
	if (p->method >= NMETHODS || method_names[p->method] == NULL)
		return reject(f, REASON_METHOD_NOT_IMPLEMENTED);

	if (f->n_te > 0) {
		/* RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing */
		if (p->http_minor == 0)
			return reject(f, REASON_TE_HTTP10);
		/* RFC 9112 §6.3 rule 3: never with Content-Length */
		if (f->n_cl > 0)
			return reject(f, REASON_CL_TE);
		if (f->te_fault != REASON_NONE)
			return reject(f, f->te_fault);
		/* RFC 9112 §6.1: unknown coding, SHOULD 501 (monitor mode:
		 * chunked is final, so the body is delimited all the same) */
		if (f->te_unknown && refuse(f, REASON_TE_UNKNOWN))
			return -1;
	}

	/* RFC 9112 §3.2: a 1.1 request has exactly one valid Host */
	if (f->n_host > 1)
		return reject(f, REASON_HOST_DUPLICATE);
	/* (monitor mode: the upstream's Host is written, as for HTTP/1.0) */
	if (f->n_host == 0 && p->http_minor == 1 &&
	    refuse(f, REASON_HOST_MISSING))
		return -1;
	if (f->host_bad)
		return reject(f, REASON_HOST_INVALID);
	if (target_check(f) != 0)
		return -1;

	/*
	 * RFC 9110 §9.3.1, §9.3.2, §9.3.5, §9.3.7, §9.3.8: a body on a method
	 * that has none defined (CL.0). A backend that ignores Content-Length
	 * there reads the body as the next request on a reused connection:
	 * refused, unless body_methods lists the method; then the upstream
	 * connection carries this request only (close_upstream).
	 */
	/* docs/framing.md, policy: a body with no defined length is 411,
	 * unless the policy has it decoded and buffered (chunked = buffer).
	 * A refused one may be discarded (framing_discard_body) when the
	 * client allows another request and does not wait for a 100. Only
	 * a body that is chunked and nothing else is buffered: another
	 * coding (RFC 9112 §7.2 gzip...) would be lost with the field. */
	/* Monitor mode forwards such a body as the client sent it, chunked,
	 * its end found by the core's decoder (RFC 9112 §7.1), so that the
	 * connection stays in step whatever the upstream makes of it. */
	if (f->n_te > 0 && (pol->chunked == FRAMING_CHUNKED_REJECT ||
	    f->te_coded)) {
		f->client_closes = !llhttp_should_keep_alive(p) || f->conn_close;
		f->discardable = !f->client_closes && !f->expect_continue;
		if (refuse(f, REASON_CHUNKED))
			return -1;
		forward_chunked = 1;
	}
	if ((f->content_length > 0 || f->n_te > 0) &&
	    (BODYLESS_METHODS >> p->method & 1)) {
		if (!(pol->body_methods >> p->method & 1) &&
		    refuse(f, REASON_BODY_UNEXPECTED))
			return -1;
		/* forwarded, the upstream connection closed after it: the
		 * mitigation http_desync_guardian gives an ambiguous request
		 * (monitor mode too) */
		desync(f, DESYNC_AMBIGUOUS);
		close_upstream = 1;
	} else if (f->n_cl > 0 && (BODYLESS_METHODS >> p->method & 1)) {
		desync(f, DESYNC_ACCEPTABLE);	/* "Content-Length: 0" */
	}
	/* policy, RFC 9112 §9.6: a backend that answers such a request
	 * without reading its body would read the body as the next request
	 * on a reused connection (CL.0): this one has the connection to
	 * itself, and says so */
	if ((f->content_length > 0 || f->n_te > 0) &&
	    (pol->close_after_body >> p->method & 1))
		close_upstream = 1;
	/* RFC 9112 §6.3 rule 7: no Content-Length and no Transfer-Encoding is
	 * a body of length 0; monitor mode forwards it so, with
	 * "Content-Length: 0" for a backend that would wait for one */
	if (f->n_cl == 0 && f->n_te == 0 &&
	    (pol->require_length >> p->method & 1)) {
		if (refuse(f, REASON_NO_LENGTH))
			return -1;
		zero_length = 1;
	}
	/* RFC 9110 §15.5.14: 413 before reading the body */
	if (f->n_cl > 0 && pol->max_body_size != 0 &&
	    f->content_length > pol->max_body_size)
		return reject(f, REASON_BODY_TOO_LARGE);
	/* RFC 9110 §10.1.1: an expectation we cannot meet */
	if (f->expect_other)
		return reject(f, REASON_EXPECTATION);

	if (f->conn_extra && conn_strip(f) != 0)
		return -1;
	/* the one Transfer-Encoding line of a body forwarded chunked, last
	 * of the client's fields: after conn_strip, so that no Connection
	 * option removes it (RFC 9112 §6.1: the body is chunked whatever a
	 * hop is told) */
	if (forward_chunked && (arena_add(f, LIT("Transfer-Encoding: ")) != 0 ||
	    arena_add(f, f->te_value, f->te_len) != 0 ||
	    arena_add(f, LIT("\r\n")) != 0))
		return -1;

	r->has_body = f->n_cl > 0 || f->n_te > 0 || zero_length;
	r->chunked = f->n_te > 0;
	r->chunked_forward = forward_chunked;
	/* docs/classes.md: a request forwarded in monitor mode has its
	 * upstream connection to itself, whatever the upstream reads in it */
	if (r->would_refuse != REASON_NONE)
		close_upstream = 1;
	r->content_length = f->content_length;
	/* RFC 9112 §9.3: persistence; llhttp reads Connection and version */
	r->keep_alive = llhttp_should_keep_alive(p) && !f->conn_close;
	r->expect_continue = f->expect_continue &&
	    (f->content_length > 0 || r->chunked);
	r->head_method = p->method == HTTP_HEAD;
	r->close_upstream = close_upstream;
	r->target = f->arena + f->path_off;
	r->target_len = f->target_len - f->path_off;
	return 0;
}

/* The head is complete: no body for llhttp (the core counts it). */
static int
on_headers_complete(llhttp_t *p)
{
	(void)p;
	return 1;
}

static int
on_message_complete(llhttp_t *p)
{
	(void)p;
	return HPE_PAUSED;	/* stop at the end of the head */
}

static const llhttp_settings_t framing_settings = {
	.on_message_begin = on_message_begin,
	.on_method_complete = on_method_complete,
	.on_version_complete = on_version_complete,
	.on_headers_complete = on_headers_complete,
	.on_message_complete = on_message_complete,
};

/* For what head_clean gives llhttp: head_clean did on_message_begin's
 * work already, on the head's field lines too; framing_feed does what
 * on_method_complete and on_version_complete do once llhttp has read
 * the whole head. */
static const llhttp_settings_t clean_settings = {
	.on_headers_complete = on_headers_complete,
	.on_message_complete = on_message_complete,
};

/* ------------------------------------------------------------ the API */

void
framing_policy_default(struct framing_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = FRAMING_ENFORCE;
	p->chunked = FRAMING_CHUNKED_REJECT;
	p->require_length = 1ull << HTTP_POST | 1ull << HTTP_PUT |
	    1ull << HTTP_PATCH;
	p->max_body_size = FRAMING_DEFAULT_MAX_BODY;
	p->max_buffered_body = FRAMING_DEFAULT_MAX_BUFFERED;
	p->max_head_size = FRAMING_DEFAULT_MAX_HEAD;
	p->max_request_line = FRAMING_DEFAULT_MAX_LINE;
	p->max_headers = FRAMING_DEFAULT_MAX_HEADERS;
	p->body_methods = 0;
	p->close_after_body = 0;
	p->underscores = FRAMING_UNDERSCORES_DROP;
	p->add_via = 1;
	p->add_x_forwarded_for = 1;
	p->add_x_forwarded_proto = 1;
}

/*
 * Parse a space separated method list into a bit set; `allowed` is the set
 * it may name. 0; -1 for an unknown method, -2 for one outside `allowed`,
 * with *bad at its offset.
 */
static int
methods_parse(const char *list, uint64_t allowed, uint64_t *out, size_t *bad)
{
	const char *s = list, *e;
	uint64_t set = 0;
	size_t m;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e && *e != ' ' && *e != '\t'; e++)
			;
		for (m = 0; m < NMETHODS; m++)
			if (method_names[m] &&
			    strlen(method_names[m]) == (size_t)(e - s) &&
			    memcmp(method_names[m], s, e - s) == 0)
				break;
		if (m == NMETHODS || !(allowed >> m & 1)) {
			if (bad)
				*bad = (size_t)(s - list);
			return m == NMETHODS ? -1 : -2;
		}
		set |= 1ull << m;
		s = e;
	}
	*out = set;
	return 0;
}

int
framing_policy_methods(const char *list, uint64_t *out, size_t *bad)
{
	return methods_parse(list, ~0ull, out, bad);
}

int
framing_policy_body_methods(const char *list, uint64_t *out, size_t *bad)
{
	return methods_parse(list, BODYLESS_METHODS, out, bad);
}

struct framing *
framing_new(const struct framing_policy *policy)
{
	struct framing *f;
	size_t cap, raw;

	/* a canonical line is at most one byte longer than the client's
	 * ("Name:v" gains a space); the raw copy is at most one head */
	cap = (size_t)policy->max_head_size + policy->max_headers + 64;
	raw = policy->max_head_size;
	/* only the struct is cleared: arena pages are touched when used */
	if ((f = malloc(sizeof(*f) + cap + raw)) == NULL)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->arena_cap = (uint32_t)cap;
	f->raw_cap = (uint32_t)raw;
	f->policy = policy;
	f->line_open = 1;
	llhttp_init(&f->parser, HTTP_REQUEST, &framing_settings);
	return f;
}

int
framing_fits(const struct framing *f, const struct framing_policy *policy)
{
	return (size_t)policy->max_head_size + policy->max_headers + 64 <=
	    f->arena_cap && policy->max_head_size <= f->raw_cap;
}

void
framing_reset(struct framing *f)
{
	const struct framing_policy *policy = f->policy;

	/* all but line[] (read only up to req.line_len, now 0) and the
	 * arena's sizes */
	memset(f, 0, offsetof(struct framing, line));
	f->arena_len = 0;
	f->policy = policy;
	f->line_open = 1;
	llhttp_init(&f->parser, HTTP_REQUEST, &framing_settings);
}

void
framing_free(struct framing *f)
{
	free(f);
}

void
framing_set_policy(struct framing *f, const struct framing_policy *policy)
{
	f->policy = policy;
}

/* Head bytes llhttp may still see: the policy's limit, and the raw area's
 * size for an inspector made under an older, smaller policy. */
static uint32_t
head_budget(const struct framing *f)
{
	uint32_t max = f->policy->max_head_size;

	if (max > f->raw_cap)
		max = f->raw_cap;
	return max > f->head_bytes ? max - f->head_bytes : 0;
}

/*
 * RFC 6585 §5, RFC 9112 §3: a head refused as too large, or for a request
 * line too long, is never read whole, yet its Accept may still choose the
 * page (RFC 9110 §12.5.1). The first
 * f->head_bytes bytes of the head are in the raw copy: take the last Accept
 * line among the complete field lines there, read as head_scan would read
 * them. After the request line, each line must end in CRLF and hold no
 * other CR or LF, and not start with a blank (obs-fold); the first line
 * that does not ends the search, so nothing is read that a strict parser
 * would read otherwise. For a 431, every byte looked at was accepted by
 * llhttp; for a 414, the bytes past max_request_line never went to llhttp
 * and are read by these rules alone (line_long_scan found where they end).
 */
static void
raw_accept(struct framing *f)
{
	const char *h = f->arena + f->arena_cap, *end = h + f->head_bytes;
	const char *eol, *colon, *v, *ve;
	int line;

	f->accept_len = 0;
	/* RFC 9112 §2.2: empty lines before the request line */
	while (end - h >= 2 && h[0] == '\r' && h[1] == '\n')
		h += 2;
	for (line = 0;; line++, h = eol + 2) {
		if ((eol = memchr(h, '\r', (size_t)(end - h))) == NULL ||
		    eol + 1 >= end || eol[1] != '\n' ||
		    memchr(h, '\n', (size_t)(eol - h)) != NULL)
			return;
		if (line == 0)
			continue;	/* the request line */
		if (eol == h || *h == ' ' || *h == '\t' ||
		    (colon = memchr(h, ':', (size_t)(eol - h))) == NULL)
			return;
		if (fields_lookup(h, (size_t)(colon - h)) != FIELD_ACCEPT)
			continue;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		f->accept_off = (uint32_t)(v - f->arena);
		f->accept_len = (uint32_t)(ve - v);
	}
}

static struct framing_step
step(enum framing_verdict v, size_t consumed)
{
	struct framing_step s = { v, consumed };

	return s;
}

/*
 * RFC 9112 §3: a request line longer than max_request_line is refused (414)
 * before it ends, and llhttp never sees more of it. Its page may still
 * honour Accept (RFC 9110 §12.5.1), so the rest of the head is read on,
 * into the raw copy, never parsed by llhttp, never forwarded: up to the
 * empty line that ends it, or max_header_size bytes of the head in all,
 * whichever comes first; then raw_accept() takes its last Accept line.
 *
 * line_long_scan() reads raw copy bytes [from, to) one by one, as
 * raw_accept() will read the lines: the rest of the refused request line
 * up to its CRLF, then field lines. Returns 1 when the search is over, with
 * *end just past the byte that decided: the empty line's LF, or the byte
 * that makes a line other than a CRLF-ended field line (a CR not followed
 * by LF, a bare LF, an obs-fold, no colon), which raw_accept() does not
 * read past either. Returns 0 (and *end = to) to read on. Each byte is
 * looked at once, however the input was cut.
 */
static int
line_long_scan(struct framing *f, uint32_t from, uint32_t to, uint32_t *end)
{
	const char *h = f->arena + f->arena_cap;
	uint32_t i, n;

	for (i = from; i < to; i++) {
		int after_cr = i > f->skip_line && h[i - 1] == '\r';

		if (h[i] != '\n') {
			/* RFC 9112 §2.2: a CR only in CRLF */
			if (after_cr)
				break;
			/* RFC 9112 §5.2: obs-fold (RFC 9112 §2.2, before the
			 * first field line) */
			if (f->skip_fields && i == f->skip_line &&
			    (h[i] == ' ' || h[i] == '\t'))
				break;
			continue;
		}
		if (!after_cr)
			break;		/* RFC 9112 §2.2: a bare LF */
		n = i - 1 - f->skip_line;	/* the line without its CRLF */
		if (!f->skip_fields) {
			/* RFC 9112 §2.2: empty lines before the request line
			 * are skipped; else the request line ends here */
			f->skip_fields = n > 0;
			f->skip_line = i + 1;
			continue;
		}
		/* the end of the head, or no field line (RFC 9112 §5.1) */
		if (n == 0 || memchr(h + f->skip_line, ':', n) == NULL)
			break;
		f->skip_line = i + 1;
	}
	*end = i < to ? i + 1 : to;
	return i < to;
}

/* The 414 of a request line too long, with what its head had of Accept;
 * `consumed` bytes of the input were used. */
static struct framing_step
line_long_refuse(struct framing *f, size_t consumed)
{
	f->state = ST_CLOSED;
	reject(f, REASON_LINE_TOO_LONG);
	raw_accept(f);
	return step(FRAMING_REJECT, consumed);
}

/*
 * ST_LINE_LONG: take data[0..len) into the raw copy, as far as
 * max_header_size allows, `done` bytes of the caller's piece being used
 * already. FRAMING_MORE when all of it was taken and the search goes on;
 * FRAMING_REJECT (414) when it is over, with the bytes used up to there.
 */
static struct framing_step
line_long_feed(struct framing *f, const char *data, size_t len, size_t done)
{
	uint32_t budget = head_budget(f), start = f->head_bytes, end;
	size_t n = len < budget ? len : budget;

	memcpy(f->arena + f->arena_cap + start, data, n);
	if (line_long_scan(f, start, start + (uint32_t)n, &end)) {
		f->head_bytes = end;
		return line_long_refuse(f, done + (end - start));
	}
	f->head_bytes += (uint32_t)n;
	if (n == budget)	/* max_header_size bytes of the head: no more */
		return line_long_refuse(f, done + n);
	return step(FRAMING_MORE, done + n);
}

/* The request line passed max_request_line: llhttp has read the first
 * f->head_bytes bytes of the head (in the raw copy), data[0..len) is the
 * rest of the piece, of which `done` bytes were used before it. */
static struct framing_step
line_long_start(struct framing *f, const char *data, size_t len, size_t done)
{
	uint32_t end;

	f->state = ST_LINE_LONG;
	f->skip_line = 0;
	f->skip_fields = 0;
	if (line_long_scan(f, 0, f->head_bytes, &end)) {
		f->head_bytes = end;
		return line_long_refuse(f, done);
	}
	return line_long_feed(f, data, len, done);
}

/*
 * The byte `back` places before pos in the head read so far, or -1. pos is
 * in the piece llhttp was running on (piece[0..), possibly its end); the
 * head's earlier pieces are in the raw copy.
 */
static int
head_byte(const struct framing *f, const char *piece, const char *pos,
    size_t back)
{
	size_t in_piece = (size_t)(pos - piece);

	if (back <= in_piece)
		return (unsigned char)pos[-(ptrdiff_t)back];
	back -= in_piece;
	if (back > f->head_bytes)
		return -1;
	return (unsigned char)f->arena[f->arena_cap + f->head_bytes - back];
}

/*
 * llhttp refused a Transfer-Encoding value at pos: is that value in a field
 * line of its own (a second Transfer-Encoding) rather than after a comma?
 */
static int
te_second_field(const struct framing *f, const char *piece, const char *pos)
{
	size_t back;
	int c;

	for (back = 1; (c = head_byte(f, piece, pos, back)) != -1; back++) {
		if (c == ',')
			return 0;
		if (c == ':' || c == '\n')
			return 1;
	}
	return 0;
}

static int
llhttp_says(const struct framing *f, const char *why)
{
	const char *r = llhttp_get_error_reason(&f->parser);

	return r != NULL && strcmp(r, why) == 0;
}

/*
 * The reason of an llhttp error: as exact as its code, the byte it stopped
 * at (`at`, -1 at the end of the piece) and the byte before (`before`, -1
 * if none) tell. The verdict must not depend on how the input was cut, so
 * `at` is looked at only where llhttp refused that very byte: for some
 * errors (a bad version, a known field name followed by a blank) llhttp
 * stops after the bytes it refused, before reading the next one, which
 * may then be in the next piece.
 */
static enum reason
llhttp_reason(const struct framing *f, llhttp_errno_t err, const char *piece,
    const char *pos, int at, int before)
{
	const llhttp_t *p = &f->parser;

	switch (err) {
	case HPE_INVALID_CONSTANT:
		/* an RTSP method with an HTTP version */
		return llhttp_says(f, "Invalid method for HTTP/x.x request") ?
		    REASON_METHOD_NOT_IMPLEMENTED : REASON_REQUEST_LINE;
	case HPE_INVALID_METHOD:
		/* RFC 9110 §9.1: an unknown method (a token) is 501; llhttp
		 * stops at the first byte that no method it knows has */
		return at != -1 && is_tchar(at) ? REASON_METHOD_UNKNOWN :
		    REASON_REQUEST_LINE;
	case HPE_INVALID_URL:
		return REASON_TARGET_INVALID;
	case HPE_INVALID_VERSION:
		if (before == '\r')
			return REASON_BARE_CR;		/* RFC 9112 §2.2 */
		/* RFC 9112 §2.3: a well-formed version we do not speak is 505 */
		if (p->http_major != 0 &&
		    !(p->http_major == 1 && p->http_minor <= 1))
			return REASON_VERSION_UNSUPPORTED;
		return REASON_VERSION_INVALID;
	case HPE_PAUSED_H2_UPGRADE:
		return REASON_H2_PREFACE;
	case HPE_UNEXPECTED_SPACE:
		/* RFC 9112 §2.2: whitespace between the start line and the
		 * first field line */
		return REASON_SPACE_AFTER_START_LINE;
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		/* RFC 9112 §6.3 rule 3; llhttp gives two Content-Length
		 * fields the same code */
		return p->flags & F_TRANSFER_ENCODING ? REASON_CL_TE :
		    REASON_CL_DUPLICATE;
	case HPE_INVALID_CONTENT_LENGTH:
		/* RFC 9110 §8.6: 1*DIGIT, one value */
		if (at == ',')
			return REASON_CL_LIST;
		return llhttp_says(f, "Content-Length overflow") ?
		    REASON_CL_OVERFLOW : REASON_CL_INVALID;
	case HPE_INVALID_TRANSFER_ENCODING:
		/* RFC 9112 §6.1: llhttp refuses any coding after chunked */
		return pos != NULL && te_second_field(f, piece, pos) ?
		    REASON_TE_DUPLICATE : REASON_TE_AFTER_CHUNKED;
	case HPE_INVALID_HEADER_TOKEN:
		/* RFC 9110 §5.5: no NUL, CR, LF or other controls in a value */
		if (llhttp_says(f, "Invalid header value char"))
			/* (llhttp refuses an LF where it stops, or once it
			 * has read one more byte to look for an obs-fold) */
			return at == '\n' || before == '\n' ? REASON_BARE_LF :
			    REASON_FIELD_VALUE_INVALID;
		/* RFC 9112 §5.1: no whitespace between name and colon (llhttp
		 * stops at the blank, or after it) */
		if (before == ' ' || before == '\t' || at == ' ' || at == '\t')
			return REASON_SPACE_AFTER_NAME;
		if (at == '\n')
			return REASON_BARE_LF;
		if (at == '\r')
			return REASON_FIELD_NO_COLON;
		return REASON_FIELD_NAME_INVALID;	/* RFC 9110 §5.1 */
	case HPE_STRICT:
	case HPE_CR_EXPECTED:
	case HPE_LF_EXPECTED:
		/* RFC 9112 §2.2: lines end with CRLF */
		if (before == '\r')
			return REASON_BARE_CR;
		if (at == '\n')
			return REASON_BARE_LF;
		return REASON_HEAD_MALFORMED;
	default:
		return REASON_BAD_REQUEST;
	}
}

/*
 * Keep the request line of a refused head for the logs (req.line): the
 * bytes of a[0..an) then b[0..bn) (the raw copy, then the current piece),
 * after any empty lines (RFC 9112 §2.2), up to the first CR or LF or the
 * end of what was read. `cut`: the line goes on beyond (414); so does one
 * longer than FRAMING_LOG_LINE. A head llhttp refuses in its request line
 * keeps what had arrived when it did, which depends on the pieces.
 */
static void
keep_line(struct framing *f, const char *a, size_t an, const char *b,
    size_t bn, int cut)
{
	struct framing_request *r = &f->req;
	size_t i, o = 0;
	int lead = 1, ch;

	r->line = f->line;
	r->line_cut = cut;
	for (i = 0; i < an + bn; i++) {
		ch = (unsigned char)(i < an ? a[i] : b[i - an]);
		if (ch == '\r' || ch == '\n') {
			if (lead)
				continue;
			break;
		}
		lead = 0;
		if (o == sizeof(f->line)) {
			r->line_cut = 1;
			break;
		}
		f->line[o++] = (char)ch;
	}
	r->line_len = o;
}

/*
 * Refuse for an llhttp error met in piece[0..n). Our own refusals (HPE_USER
 * from a callback) carry their reason already.
 */
static void
map_error(struct framing *f, llhttp_errno_t err, const char *piece, size_t n)
{
	const char *pos = llhttp_get_error_pos(&f->parser);
	int at = -1, before = -1;

	keep_line(f, f->arena + f->arena_cap, f->head_bytes, piece, n, 0);
	if (f->reason != REASON_NONE)
		return;
	if (pos != NULL && pos >= piece && pos <= piece + n) {
		if (pos < piece + n)
			at = (unsigned char)*pos;
		before = head_byte(f, piece, pos, 1);
	} else {
		pos = NULL;
	}
	reject(f, llhttp_reason(f, err, piece, pos, at, before));
}

static void
message_done(struct framing *f)
{
	f->state = f->req.keep_alive ? ST_HEAD : ST_CLOSED;
}

/* Decode a chunked body from here, up to max_payload (chunked.h). */
static void
chunked_start(struct framing *f, uint64_t max_payload)
{
	struct chunked_limits lim;

	lim.max_payload = max_payload;
	chunked_init(&f->ck, &lim);
	f->sink = NULL;
	f->sink_arg = NULL;
	f->state = ST_CHUNKED;
}

/* RFC 9112 §7.1: one step of a chunked body (chunked.c has the rules).
 * Its end leaves the payload's length as the Content-Length to write. */
static struct framing_step
chunked_step(struct framing *f, const char *data, size_t len)
{
	struct chunked_step cs = chunked_feed(&f->ck, data, len, f->sink,
	    f->sink_arg);

	switch (cs.verdict) {
	case CHUNKED_MORE:
		break;
	case CHUNKED_DONE:
		f->req.content_length = chunked_payload_len(&f->ck);
		message_done(f);
		break;
	case CHUNKED_ERROR:
		f->state = ST_CLOSED;
		reject(f, chunked_reason(&f->ck));
		return step(FRAMING_REJECT, cs.consumed);
	}
	return step(FRAMING_BODY, cs.consumed);
}

/*
 * llhttp paused at the end of a head, h[0..n) (read by head_clean when
 * `fast`), which used `consumed` bytes of the input: the core's
 * verdict on it.
 */
static struct framing_step
head_done(struct framing *f, const char *h, size_t n, int fast,
    size_t consumed)
{
	f->head_bytes = 0;
	if (head_scan(f, h, n, fast) != 0) {
		if (f->req.method_name == NULL)
			keep_line(f, h, n, NULL, 0, 0);
		f->state = ST_CLOSED;
		return step(FRAMING_REJECT, consumed);
	}
	f->body_left = f->req.content_length;
	if (f->req.chunked)
		chunked_start(f, f->policy->max_buffered_body != 0 ?
		    f->policy->max_buffered_body : UINT64_MAX);
	else if (f->body_left > 0)
		f->state = ST_BODY;
	else
		message_done(f);
	return step(FRAMING_HEAD, consumed);
}

/* RFC 9110 §5.6.2: tchar, as a table. */
static const unsigned char tchar_table[256] = {
	['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

/* name_end, a byte at a time. */
static size_t
name_tchar(const char *d, size_t i, size_t lim, unsigned *under)
{
	for (; i < lim && tchar_table[(unsigned char)d[i]]; i++)
		*under |= d[i] == '_';
	return i;
}

/*
 * The first byte of d[i..lim) that is no tchar, or lim; *under is set when
 * a '_' comes before it. 32 bytes at a time with AVX2 (a nibble table),
 * then 16 at a time with SSE2 for the letters, digits and '-' of most
 * names, then a byte at a time.
 */
static size_t
name_end(const char *d, size_t i, size_t lim, unsigned *under)
{
#ifdef __AVX2__
	/* 32 bytes at a time: bit h of tchar_lo[c & 15] is set when the byte
	 * h << 4 | (c & 15) is a tchar (h < 8; tchar_hi maps the high nibble
	 * to that bit, and 8-15 to none) */
	static const unsigned char tchar_lo[32] = {
		0xe8, 0xfc, 0xf8, 0xfc, 0xfc, 0xfc, 0xfc, 0xfc,
		0xf8, 0xf8, 0xf4, 0x54, 0xd0, 0x54, 0xf4, 0x70,
		0xe8, 0xfc, 0xf8, 0xfc, 0xfc, 0xfc, 0xfc, 0xfc,
		0xf8, 0xf8, 0xf4, 0x54, 0xd0, 0x54, 0xf4, 0x70,
	};
	static const unsigned char tchar_hi[32] = {
		1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	const __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)tchar_lo);
	const __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)tchar_hi);
	const __m256i nib = _mm256_set1_epi8(0x0f), us = _mm256_set1_epi8('_');

	for (; lim - i >= 32; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(d + i));
		__m256i t = _mm256_and_si256(
		    _mm256_shuffle_epi8(lo, _mm256_and_si256(v, nib)),
		    _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
		unsigned m = (unsigned)_mm256_movemask_epi8(
		    _mm256_cmpeq_epi8(t, _mm256_setzero_si256()));
		unsigned u = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, us));

		if (m != 0) {
			*under |= (u & ((1u << __builtin_ctz(m)) - 1)) != 0;
			return i + (size_t)__builtin_ctz(m);
		}
		*under |= u != 0;
	}
#endif
#ifdef __SSE2__
	/* letters (a byte | 0x20 is a lower case letter for letters only),
	 * digits and '-', the bytes of most names, 16 at a time: the first
	 * other byte is most often the name's ':'; from any other, the
	 * bytes are read one by one (name_tchar) */
	/* (x in [lo, hi]: x - lo - 128, in two's complement, is below
	 * hi - lo + 1 - 128) */
#define NE_IN(x, lo, hi) _mm_cmplt_epi8(					\
	_mm_add_epi8((x), _mm_set1_epi8((char)(-128 - (lo)))),		\
	_mm_set1_epi8((char)((hi) - (lo) + 1 - 128)))
#define NE_OK(v)	(unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(	\
	NE_IN(_mm_or_si128((v), _mm_set1_epi8(0x20)), 'a', 'z'),		\
	NE_IN((v), '0', '9')), _mm_cmpeq_epi8((v), _mm_set1_epi8('-'))))
	for (; lim - i >= 16; i += 16) {
		unsigned ok = NE_OK(_mm_loadu_si128(
		    (const __m128i *)(const void *)(d + i)));

		if (ok != 0xffff) {
			i += (unsigned)__builtin_ctz(~ok);
			return d[i] == ':' ? i : name_tchar(d, i, lim, under);
		}
	}
	/* the last bytes, as the end of a block that overlaps the one
	 * before (the name of a head's last line, when nothing follows) */
	if (i < lim && lim >= 16) {
		unsigned r = (unsigned)(lim - i), stop = ~NE_OK(_mm_loadu_si128(
		    (const __m128i *)(const void *)(d + lim - 16))) >> (16 - r) &
		    ((1u << r) - 1);

		if (stop == 0)
			return lim;
		i += (unsigned)__builtin_ctz(stop);
		return d[i] == ':' ? i : name_tchar(d, i, lim, under);
	}
#undef NE_OK
#undef NE_IN
#endif
	return name_tchar(d, i, lim, under);
}

/*
 * The first byte of d[i..lim) that is neither HTAB nor 0x20-0x7E, or lim:
 * the end of a field value of visible ASCII (RFC 9110 §5.5 field-vchar,
 * without obs-text), 32 bytes at a time with AVX2, 16 with SSE2.
 */
static size_t
value_end(const char *d, size_t i, size_t lim)
{
#ifdef __AVX2__
	const __m256i sp32 = _mm256_set1_epi8(' '), ht32 = _mm256_set1_epi8('\t');
	const __m256i del32 = _mm256_set1_epi8(0x7f);

	for (; lim - i >= 32; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(d + i));
		/* (signed: 0x80-0xff are below ' ' too) */
		unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
		    _mm256_andnot_si256(_mm256_cmpeq_epi8(v, ht32),
		    _mm256_cmpgt_epi8(sp32, v)), _mm256_cmpeq_epi8(v, del32)));

		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' '), ht = _mm_set1_epi8('\t');
	const __m128i del = _mm_set1_epi8(0x7f);

#define VE_BAD(v)	(unsigned)_mm_movemask_epi8(_mm_or_si128(		\
	_mm_andnot_si128(_mm_cmpeq_epi8((v), ht), _mm_cmplt_epi8((v), sp)),	\
	_mm_cmpeq_epi8((v), del)))
	for (; lim - i >= 16; i += 16) {
		unsigned m = VE_BAD(_mm_loadu_si128(
		    (const __m128i *)(const void *)(d + i)));

		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
	/* the last bytes, as the end of a block that overlaps the one
	 * before (the value of a head's last line, when nothing follows) */
	if (i < lim && lim >= 16) {
		unsigned m = VE_BAD(_mm_loadu_si128((const __m128i *)(const void *)
		    (d + lim - 16))) >> (16 - (lim - i));

		return m != 0 ? i + (size_t)__builtin_ctz(m) : lim;
	}
#undef VE_BAD
#endif
	for (; i < lim; i++) {
		unsigned char c = (unsigned char)d[i];

		if ((c < ' ' && c != '\t') || c >= 0x7f)
			return i;
	}
	return lim;
}

/*
 * head_clean's request line, in d[0..lim): the offset of its CR, the
 * first CR or LF of d[0..lim), or 0 when there is none or an LF comes
 * first (a bare LF, RFC 9112 §2.2; d[0] is neither). sp[] gets the
 * offsets of the line's first two spaces (sp[1] 0: fewer than two). 16
 * bytes at a time where SSE2 is there, the last block overlapping the
 * one before.
 */
static size_t
request_line_end(const char *d, size_t lim, uint32_t sp[2])
{
	uint32_t nsp = 0;
	size_t i = 0, e;

	sp[0] = sp[1] = 0;
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i space = _mm_set1_epi8(' ');

	while (lim >= 16 && i < lim) {
		/* the block at i, or the last 16 bytes (without those
		 * before i) */
		size_t at = lim - i >= 16 ? i : lim - 16;
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + at));
		unsigned skip = (unsigned)(i - at);
		unsigned stop = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf))) >> skip;
		unsigned m = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(x, space)) >> skip;

		if (stop != 0)
			m &= (1u << __builtin_ctz(stop)) - 1;
		for (; m != 0 && nsp < 2; m &= m - 1)
			sp[nsp++] = (uint32_t)(i + (unsigned)__builtin_ctz(m));
		if (stop != 0) {
			e = i + (unsigned)__builtin_ctz(stop);
			goto found;
		}
		i += 16 - skip;
	}
#endif
	for (; i < lim; i++) {
		if (d[i] == '\r' || d[i] == '\n') {
			e = i;
			goto found;
		}
		if (d[i] == ' ' && nsp < 2)
			sp[nsp++] = (uint32_t)i;
	}
	return 0;
found:
	return d[e] == '\r' ? e : 0;
}

/* The fields whose lines llhttp reads for the message's framing and
 * persistence (its header states): a head read by head_clean gives
 * llhttp those lines only. */
#define LLHTTP_FIELDS (1u << FIELD_CONNECTION | 1u << FIELD_PROXY_CONNECTION |	\
	1u << FIELD_CONTENT_LENGTH | 1u << FIELD_TRANSFER_ENCODING |		\
	1u << FIELD_UPGRADE)

/*
 * A head that came whole in d[0..len), within the limits, and is plain:
 * a request line with no LF before its CRLF and one space before and
 * after its target, then field lines each made of a token, ':', and a
 * value of HTAB and visible ASCII only, each ended by CRLF, then CRLF.
 * Those field lines are what llhttp (strict mode) accepts without a
 * second look, and only the ones named in LLHTTP_FIELDS change what it
 * makes of the message; they are also what head_scan reads byte by byte
 * (a name of tchar, never ':', CR or a blank, its ':', the value after
 * its leading OWS up to the line's CR), so this pass reads the head once
 * and does head_scan's work on its request line and field lines: the
 * target and the canonical block go to the arena, the rules of each
 * field line are applied (field_line). It writes into the raw copy's
 * room, unused by a head in one piece, what llhttp needs to read: the
 * request line, the LLHTTP_FIELDS lines in their order, and the empty
 * line (*rlen bytes). Returns the head's length, or 0 for a head to be
 * read as usual: any other head, one that does not end in d[0..len),
 * or one a field line refuses (the usual way then finds the reason,
 * after what llhttp says of the head). The verdict is the same on either
 * path (tests/core: every case fed whole and in pieces).
 */
static size_t
head_clean(struct framing *f, const char *d, size_t len, size_t *rlen)
{
	const struct framing_policy *pol = f->policy;
	char *out = f->arena + f->arena_cap;
	const char *run = NULL;
	size_t lim = len, rl, pos, i, b, v, o;
	uint32_t sp[2];
	unsigned under;
	enum field_id id;

	if (lim > pol->max_head_size)
		lim = pol->max_head_size;
	if (lim > f->raw_cap)
		lim = f->raw_cap;
	/* the request line, whole within max_request_line (RFC 9112 §3),
	 * with no empty line before it (RFC 9112 §2.2), and its target
	 * between single spaces as head_scan asks */
	rl = lim < pol->max_request_line ? lim : pol->max_request_line;
	if (rl < 2 || d[0] == '\r' || d[0] == '\n' ||
	    (rl = request_line_end(d, rl - 1, sp)) == 0 || d[rl + 1] != '\n' ||
	    sp[1] <= sp[0] + 1 || rl - sp[1] != LITLEN(" HTTP/1.1"))
		return 0;
	/* a request begins (llhttp's on_message_begin, on this first byte
	 * that is no CR or LF, does the same on the usual way) */
	message_begin(f);
	memcpy(out, d, rl + 2);
	o = rl + 2;
	copy_target(f, d + sp[0] + 1, sp[1] - sp[0] - 1);
	for (pos = rl + 2;; pos = b + 2) {
		if (lim - pos < 2)
			return 0;
		if (d[pos] == '\r') {		/* the end of the head */
			if (d[pos + 1] != '\n')
				return 0;
			break;
		}
		under = 0;
		i = name_end(d, pos, lim, &under);
		if (i == pos || i == lim || d[i] != ':')
			return 0;
		b = value_end(d, i + 1, lim);
		if (lim - b < 2 || d[b] != '\r' || d[b + 1] != '\n')
			return 0;
		/* (most often one space, then a visible byte) */
		v = i + 1;
		if (d[v] == ' ' && d[v + 1] > ' ')
			v++;
		else
			while (v < b && (d[v] == ' ' || d[v] == '\t'))
				v++;
		id = fields_lookup(d + pos, i - pos);
		if (field_line(f, d + pos, i - pos, d + i, d + v, d + b, id,
		    (int)under, &run) != 0)
			return 0;
		if (LLHTTP_FIELDS >> id & 1) {
			memcpy(out + o, d + pos, b + 2 - pos);
			o += b + 2 - pos;
		}
	}
	if (run != NULL && arena_add(f, run, (size_t)(d + pos - run)) != 0)
		return 0;
	memcpy(out + o, LIT("\r\n"));
	*rlen = o + LITLEN("\r\n");
	return pos + LITLEN("\r\n");
}

struct framing_step
framing_feed(struct framing *f, const char *data, size_t len)
{
	llhttp_errno_t err;
	size_t n, used, off;
	uint32_t budget;

	switch (f->state) {
	case ST_CLOSED:
		return step(FRAMING_CLOSED, 0);
	case ST_BODY:
		n = len < f->body_left ? len : (size_t)f->body_left;
		framing_body_done(f, n);
		return step(FRAMING_BODY, n);
	case ST_CHUNKED:
		return chunked_step(f, data, len);
	case ST_HEAD:
	case ST_LINE_LONG:
		break;
	}
	if (len == 0)
		return step(FRAMING_MORE, 0);
	if (f->state == ST_LINE_LONG)
		return line_long_feed(f, data, len, 0);

	/* a head that came whole and plain: llhttp reads only its request
	 * line and framing fields (head_clean) */
	if (f->head_bytes == 0 && (n = head_clean(f, data, len, &used)) != 0) {
		const char *r = f->arena + f->arena_cap;

		const llhttp_t *p = &f->parser;

		/* without the callbacks of the request line, whose work
		 * head_clean did first or is done below */
		f->parser.settings = (void *)&clean_settings;
		err = llhttp_execute(&f->parser, r, used);
		f->parser.settings = (void *)&framing_settings;
		/* llhttp read the whole head: then it read the version
		 * (head_clean's request line has one space and 8 bytes after
		 * its target, which strict llhttp takes only as a version);
		 * on_version_complete's rules, on_method_complete's note. A
		 * version we do not speak is refused the usual way. */
		if (err == HPE_PAUSED &&
		    llhttp_get_error_pos(&f->parser) == r + used &&
		    p->http_major == 1 && p->http_minor <= 1) {
			llhttp_resume(&f->parser);
			f->line_done = 1;
			f->line_open = 1;	/* for the next request */
			f->req.head_method = p->method == HTTP_HEAD;
			return head_done(f, data, n, 1, n);
		}
		/* llhttp refused it: read the head as it came, from the
		 * start, for the reason that the bytes give */
		llhttp_init(&f->parser, HTTP_REQUEST, &framing_settings);
		f->line_open = 1;
	}

	/*
	 * RFC 9112 §3 (414) and RFC 6585 §5 (431): llhttp never sees more of
	 * a request line or head than the limits allow, so a verdict never
	 * depends on how the bytes were cut into pieces.
	 */
	for (off = 0;;) {
		budget = head_budget(f);
		if (f->line_open) {
			/* the line without CRLF: llhttp completes the version
			 * on its last digit */
			uint32_t line = f->policy->max_request_line;

			line = line > f->head_bytes ? line - f->head_bytes : 0;
			if (line < budget)
				budget = line;
		}
		n = len - off < budget ? len - off : budget;
		err = llhttp_execute(&f->parser, data + off, n);
		if (err != HPE_OK)
			break;
		/* the head goes on in the next piece: keep this part */
		memcpy(f->arena + f->arena_cap + f->head_bytes, data + off, n);
		f->head_bytes += (uint32_t)n;
		off += n;
		if (off == len && n < budget)
			return step(FRAMING_MORE, len);
		if (f->line_open) {	/* 414, once its head is read on */
			keep_line(f, f->arena + f->arena_cap, f->head_bytes,
			    NULL, 0, 1);
			return line_long_start(f, data + off, len - off, off);
		}
		if (f->head_bytes >= f->policy->max_head_size) {
			if (f->req.method_name == NULL)
				keep_line(f, f->arena + f->arena_cap,
				    f->head_bytes, NULL, 0, 0);
			f->state = ST_CLOSED;
			reject(f, REASON_HEAD_TOO_LARGE);
			raw_accept(f);
			return step(FRAMING_REJECT, off);
		}
		if (off == len)
			return step(FRAMING_MORE, len);
	}
	used = (size_t)(llhttp_get_error_pos(&f->parser) - (data + off));
	if (err == HPE_PAUSED) {
		const char *h = data + off;
		size_t hn = used;

		llhttp_resume(&f->parser);
		f->line_open = 1;	/* for the next request */
		if (f->head_bytes > 0) {
			/* the head came in pieces: read it whole from the copy */
			h = f->arena + f->arena_cap;
			memcpy((char *)h + f->head_bytes, data + off, used);
			hn += f->head_bytes;
		}
		return head_done(f, h, hn, 0, off + used);
	}
	map_error(f, err, data + off, n);
	f->state = ST_CLOSED;
	return step(FRAMING_REJECT, off + (used <= n ? used : n));
}

struct framing_step
framing_eof(struct framing *f)
{
	switch (f->state) {
	case ST_BODY:
	case ST_CHUNKED:
		f->state = ST_CLOSED;
		reject(f, REASON_BODY_CUT_SHORT);
		return step(FRAMING_REJECT, 0);
	case ST_HEAD:
		f->state = ST_CLOSED;
		if (f->head_bytes > 0) {
			keep_line(f, f->arena + f->arena_cap, f->head_bytes,
			    NULL, 0, 0);
			reject(f, REASON_HEAD_CUT_SHORT);
			return step(FRAMING_REJECT, 0);
		}
		return step(FRAMING_CLOSED, 0);
	case ST_LINE_LONG:
		/* the head was refused already (414): the lines that came
		 * before the close choose its page */
		return line_long_refuse(f, 0);
	case ST_CLOSED:
		break;
	}
	return step(FRAMING_CLOSED, 0);
}

uint64_t
framing_body_left(const struct framing *f)
{
	if (f->state == ST_CHUNKED)
		return FRAMING_BODY_UNKNOWN;
	return f->state == ST_BODY ? f->body_left : 0;
}

void
framing_body_sink(struct framing *f, chunked_sink sink, void *arg)
{
	f->sink = sink;
	f->sink_arg = arg;
}

int
framing_rewrites(const struct framing *f)
{
	return (f->absolute_form ? FRAMING_REWRITE_TARGET : 0) |
	    (f->proxy_field ? FRAMING_REWRITE_PROXY : 0);
}

int
framing_client_closes(const struct framing *f)
{
	return f->state == ST_CLOSED && f->reason == REASON_CHUNKED &&
	    f->client_closes;
}

int
framing_discard_body(struct framing *f, uint64_t max_payload)
{
	if (f->state != ST_CLOSED || f->reason != REASON_CHUNKED ||
	    !f->discardable)
		return -1;
	f->discardable = 0;
	f->req.keep_alive = 1;
	chunked_start(f, max_payload);
	return 0;
}

void
framing_body_done(struct framing *f, uint64_t n)
{
	if (f->state != ST_BODY)
		return;
	f->body_left -= n < f->body_left ? n : f->body_left;
	if (f->body_left == 0)
		message_done(f);
}

int
framing_idle(const struct framing *f)
{
	return f->state == ST_HEAD && f->head_bytes == 0;
}

const struct framing_request *
framing_request(const struct framing *f)
{
	return &f->req;
}

/* ------------------------------------------------- the canonical head */

static char *
put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}
#define PUT(o, lit) put((o), LIT(lit))

static char *
put_u64(char *o, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return put(o, tmp + i, sizeof(tmp) - i);
}

size_t
framing_head_size(const struct framing *f, const struct framing_peer *peer)
{
	/*
	 * Every line framing_write_head may write; both kinds of Host. The
	 * client's X-Forwarded-For lines, joined, take no more room than they
	 * did as lines: each line's "X-Forwarded-For: " and CRLF pay for its
	 * ", " in the joined line.
	 */
	return strlen(f->req.method_name) + LITLEN(" /") + f->req.target_len +
	    LITLEN(" HTTP/1.1\r\n") +
	    (f->arena_len - f->target_len) +
	    LITLEN("Host: \r\n") +
	    (peer->default_host ? strlen(peer->default_host) : 0) +
	    LITLEN("Host: \r\n") + f->authority_len +
	    LITLEN("Content-Length: 18446744073709551615\r\n") +
	    LITLEN("Connection: close\r\n") +
	    LITLEN("Via: 1.1 lengthguard\r\n") +
	    LITLEN("X-Forwarded-For: , \r\n") +
	    (peer->addr ? strlen(peer->addr) : 0) +
	    LITLEN("X-Forwarded-Proto: \r\n") +
	    (peer->proto ? strlen(peer->proto) : 0) +
	    LITLEN("\r\n");
}

/* The field row of a canonical line l (up to its CR at eol). */
static enum field_id
line_id(const char *l, const char *eol)
{
	const char *colon = memchr(l, ':', (size_t)(eol - l));

	return colon ? fields_lookup(l, (size_t)(colon - l)) : FIELD_OTHER;
}

/*
 * The client's field lines that go upstream as they are: all of the block,
 * but the Host line an absolute-form target replaces, the X-Forwarded-For
 * lines (written again by put_xff) and, from an untrusted peer, the
 * Forwarded and X-Real-IP lines. The lines are walked one by one only when
 * some forwarding line is there.
 */
static char *
put_fields(const struct framing *f, const struct framing_peer *peer, char *o)
{
	const char *b = f->arena + f->target_len, *end = f->arena + f->arena_len;
	const char *host = NULL, *l, *eol;

	if (f->absolute_form && f->host_line_len)
		host = f->arena + f->host_line;
	if (!f->fwd_xff && !(f->fwd_other && !peer->trusted)) {
		if (host == NULL)
			return put(o, b, (size_t)(end - b));
		o = put(o, b, (size_t)(host - b));
		return put(o, host + f->host_line_len,
		    (size_t)(end - host - f->host_line_len));
	}
	for (l = b; l < end; l = eol + 2) {
		/* canonical lines: "Name: value" CRLF, no other CR */
		if ((eol = memchr(l, '\r', (size_t)(end - l))) == NULL)
			break;
		if (l == host)
			continue;
		switch (line_id(l, eol)) {
		case FIELD_X_FORWARDED_FOR:
			continue;
		case FIELD_FORWARDED:
		case FIELD_X_REAL_IP:
			if (!peer->trusted)
				continue;
			break;
		default:
			break;
		}
		o = put(o, l, (size_t)(eol + 2 - l));
	}
	return o;
}

/*
 * The one X-Forwarded-For line (none if it would be empty): from a trusted
 * peer, the values of the client's lines in order, joined by ", " (RFC 9110
 * §5.3), then the peer's address (add_x_forwarded_for); from any other,
 * the peer's address alone, as a client could write anything before it.
 */
static char *
put_xff(const struct framing *f, const struct framing_peer *peer, char *o)
{
	const char *b = f->arena + f->target_len, *end = f->arena + f->arena_len;
	const char *l, *eol, *v;
	char *start = o, *val;

	o = PUT(o, "X-Forwarded-For: ");
	val = o;
	for (l = b; peer->trusted && f->fwd_xff && l < end; l = eol + 2) {
		if ((eol = memchr(l, '\r', (size_t)(end - l))) == NULL)
			break;
		if (line_id(l, eol) != FIELD_X_FORWARDED_FOR)
			continue;
		v = l + LITLEN("X-Forwarded-For: ");
		if (v >= eol)
			continue;	/* an empty value adds nothing */
		if (o != val)
			o = PUT(o, ", ");
		o = put(o, v, (size_t)(eol - v));
	}
	if (f->policy->add_x_forwarded_for && peer->addr) {
		if (o != val)
			o = PUT(o, ", ");
		o = put(o, peer->addr, strlen(peer->addr));
	}
	if (o == val)
		return start;
	return PUT(o, "\r\n");
}

long
framing_write_head(const struct framing *f, const struct framing_peer *peer,
    char *out, size_t cap)
{
	const struct framing_request *r = &f->req;
	const struct framing_policy *pol = f->policy;
	char *o = out;

	if (framing_head_size(f, peer) > cap)
		return -1;

	o = put(o, r->method_name, strlen(r->method_name));
	*o++ = ' ';
	/* absolute-form "http://h" or "http://h?q": the path is at least "/" */
	if (f->absolute_form && (r->target_len == 0 || r->target[0] != '/'))
		*o++ = '/';
	o = put(o, r->target, r->target_len);
	o = PUT(o, " HTTP/1.1\r\n");

	if (f->absolute_form) {
		/* RFC 9112 §3.2.2: the target's authority is the Host */
		o = PUT(o, "Host: ");
		o = put(o, f->arena + f->authority_off, f->authority_len);
		o = PUT(o, "\r\n");
	} else if (f->n_host == 0 && peer->default_host) {
		/* HTTP/1.0 without Host: upstream speaks 1.1 */
		o = PUT(o, "Host: ");
		o = put(o, peer->default_host, strlen(peer->default_host));
		o = PUT(o, "\r\n");
	}
	o = put_fields(f, peer, o);
	if (r->has_body && !r->chunked_forward) {
		o = PUT(o, "Content-Length: ");
		o = put_u64(o, r->content_length);
		o = PUT(o, "\r\n");
	}
	/* RFC 9112 §9.6: the upstream closes after this request too (a body
	 * it may not expect must not be read as a next request) */
	if (r->close_upstream)
		o = PUT(o, "Connection: close\r\n");
	/* RFC 9110 §7.6.3: a proxy adds Via with the received version */
	if (pol->add_via)
		o = r->http_minor == 0 ? PUT(o, "Via: 1.0 lengthguard\r\n") :
		    PUT(o, "Via: 1.1 lengthguard\r\n");
	o = put_xff(f, peer, o);
	if (pol->add_x_forwarded_proto && peer->proto) {
		o = PUT(o, "X-Forwarded-Proto: ");
		o = put(o, peer->proto, strlen(peer->proto));
		o = PUT(o, "\r\n");
	}
	o = PUT(o, "\r\n");
	return (long)(o - out);
}

const char *
framing_field(const struct framing *f, const char *lname, size_t *len)
{
	size_t off, llen, voff;

	/* complete lines only: a refused head may stop in the middle of one */
	if (!f->line_done || !fields_find(f->arena + f->target_len,
	    f->arena_len - f->target_len, lname, &off, &llen, &voff, len)) {
		*len = 0;
		return NULL;
	}
	return f->arena + f->target_len + voff;
}

/* ----------------------------------------------------- error replies */

int
framing_status(const struct framing *f)
{
	return reason_status(f->reason);
}

const char *
framing_reason(const struct framing *f)
{
	return reason_text(f->reason);
}

enum reason
framing_refusal(const struct framing *f)
{
	return f->reason;
}

int
framing_wants_json(const struct framing *f)
{
	/* the value is in the canonical block, or in the raw copy after a
	 * 431 (raw_accept); a line cut short by a refusal is not used */
	size_t lim = f->accept_off >= f->arena_cap ?
	    (size_t)f->arena_cap + f->raw_cap : f->arena_len;

	if (f->accept_len == 0 || (size_t)f->accept_off + f->accept_len > lim)
		return 0;
	return accept_prefers_json(f->arena + f->accept_off, f->accept_len);
}

enum desync_class
framing_desync(const struct framing *f)
{
	enum desync_class d = reason_desync(f->reason);

	return d > (enum desync_class)f->desync ? d :
	    (enum desync_class)f->desync;
}
