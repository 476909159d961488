/*
 * test_fields.c - the table of special field names (fields.h) and the
 * field block operations (src/core/fields.c).
 *
 * The table is checked for its own consistency, fields_lookup() against
 * every row in several cases, and the hop-by-hop flag against what the
 * request side (framing.c) and the response side (response.c) forward.
 */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "lit.h"
#include "fields.h"
#include "framing.h"
#include "response.h"

/* Does a head hold a line named lname (any case)? */
static int
head_has_field(const char *head, size_t len, const char *lname)
{
	size_t n = strlen(lname), i;

	for (i = 0; i + n + 1 <= len; i++)
		if ((i == 0 || head[i - 1] == '\n') &&
		    fields_eq(head + i, n, lname, n) && head[i + n] == ':')
			return 1;
	return 0;
}

static int
is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void
test_table(void)
{
	unsigned id, j, nhop = 0;
	size_t i;

	CHECK(fields_table[FIELD_OTHER].len == 0 &&
	    fields_table[FIELD_OTHER].flags == 0 &&
	    strcmp(fields_table[FIELD_OTHER].name, "") == 0, "table: FIELD_OTHER row");
	for (id = FIELD_OTHER + 1; id < FIELD_COUNT; id++) {
		const struct fields_def *d = &fields_table[id];
		int token = d->name != NULL && d->len > 0;

		CHECK(d->name != NULL, "table: row %u has a name", id);
		if (d->name == NULL)
			continue;
		CHECK(strlen(d->name) == d->len, "table: %s: length", d->name);
		/* RFC 9110 §5.1: field-name = token, kept in lower case here */
		for (i = 0; i < d->len; i++)
			token = token && is_tchar((unsigned char)d->name[i]);
		CHECK(token, "table: %s: a lower-case token", d->name);
		CHECK(d->flags != 0 && (d->flags &
		    ~(FIELD_HOP | FIELD_REQUEST | FIELD_RESPONSE |
		    FIELD_FORWARD)) == 0,
		    "table: %s: flags", d->name);
		for (j = FIELD_OTHER + 1; j < id; j++)
			CHECK(strcmp(fields_table[j].name, d->name) != 0,
			    "table: %s: listed once", d->name);
		if (d->flags & FIELD_HOP)
			nhop++;
	}
	/* RFC 9110 §7.6.1, and the two that common use adds */
	{
		static const char *const hop[] = {
			"connection", "keep-alive", "proxy-connection", "te",
			"trailer", "transfer-encoding", "upgrade",
		};

		CHECK(nhop == sizeof(hop) / sizeof(hop[0]),
		    "table: %u hop-by-hop rows", nhop);
		for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
			CHECK(fields_flags(fields_lookup(hop[i], strlen(hop[i]))) &
			    FIELD_HOP, "table: %s is hop-by-hop", hop[i]);
	}
	/* the fields that say who the client is, and the others whose
	 * underscore aliases a gateway would take for them */
	{
		static const char *const fwd[] = {
			"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
			"x-real-ip", "forwarded", "via",
		};
		static const char *const guarded[] = {
			"content-length", "transfer-encoding", "host", "expect",
			"proxy",
		};
		unsigned nfwd = 0;

		for (id = FIELD_OTHER + 1; id < FIELD_COUNT; id++)
			if (fields_table[id].flags & FIELD_FORWARD)
				nfwd++;
		CHECK(nfwd == sizeof(fwd) / sizeof(fwd[0]),
		    "table: %u forwarding rows", nfwd);
		for (i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
			CHECK(fields_flags(fields_lookup(fwd[i], strlen(fwd[i]))) &
			    FIELD_FORWARD, "table: %s is a forwarding field", fwd[i]);
		for (i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++)
			CHECK(fields_lookup(guarded[i], strlen(guarded[i])) !=
			    FIELD_OTHER, "table: %s has a row", guarded[i]);
	}
}

static void
test_lookup(void)
{
	static const char *const others[] = {
		"", "t", "tee", "connectio", "connections", "xconnection",
		"user-agent", "cookie", "content-type", "x-forwarded", "vias",
		"accept-encoding", "content-length-", "hos", "upgrade-insecure-requests",
		"a-field-name-longer-than-thirty-two-bytes",
	};
	char buf[64];
	unsigned id;
	size_t i;

	for (id = FIELD_OTHER + 1; id < FIELD_COUNT; id++) {
		const struct fields_def *d = &fields_table[id];

		CHECK(fields_lookup(d->name, d->len) == id, "lookup: %s", d->name);
		for (i = 0; i < d->len; i++)
			buf[i] = (char)(d->name[i] >= 'a' && d->name[i] <= 'z' ?
			    d->name[i] - 32 : d->name[i]);
		CHECK(fields_lookup(buf, d->len) == id, "lookup: %.*s", (int)d->len, buf);
		for (i = 0; i < d->len; i += 2)
			buf[i] = d->name[i];
		CHECK(fields_lookup(buf, d->len) == id, "lookup: %.*s", (int)d->len, buf);
		/* a prefix is another name; so is the name with a byte more */
		CHECK(fields_lookup(d->name, d->len - 1) == FIELD_OTHER ||
		    d->len == 1, "lookup: a prefix of %s", d->name);
		memcpy(buf, d->name, d->len);
		buf[d->len] = 's';
		CHECK(fields_lookup(buf, d->len + 1) == FIELD_OTHER,
		    "lookup: %s + s", d->name);
	}
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		CHECK(fields_lookup(others[i], strlen(others[i])) == FIELD_OTHER,
		    "lookup: %s is no row", others[i]);
	/* "te" with the high bit set: only a wrong case fold would match */
	CHECK(fields_lookup(LIT("\xf4\xe5")) == FIELD_OTHER, "lookup: 8-bit te");
	/* a "-" matches only itself: CR is "-" without its 0x20 bit, and
	 * "\r" | 0x20 == "-" */
	CHECK(fields_lookup(LIT("content\rlength")) == FIELD_OTHER &&
	    fields_lookup(LIT("Keep\rAlive")) == FIELD_OTHER &&
	    fields_lookup(LIT("x\rforwarded\rfor")) == FIELD_OTHER,
	    "lookup: CR for a dash");
	/* nor does any other byte fold to a letter but its capital */
	CHECK(fields_lookup(LIT("hos\x14")) == FIELD_OTHER &&
	    fields_lookup(LIT("hos4")) == FIELD_OTHER &&
	    fields_lookup(LIT("HOST")) == FIELD_HOST, "lookup: folds only letters");
}

/*
 * fields_alias: "_" read as "-", any case, the whole name; every "-" of a
 * row may be written either way.
 */
static void
test_alias(void)
{
	static const char *const others[] = {
		"", "_", "foo_bar", "content_lengths", "content_length_",
		"_content_length", "x_forwarded", "x_forwarded_fo", "host_",
		"proxy_", "connection_", "content~length", "content.length",
		"a_field_name_longer_than_thirty_two_bytes",
	};
	char buf[64];
	unsigned id;
	size_t i, j;

	for (id = FIELD_OTHER + 1; id < FIELD_COUNT; id++) {
		const struct fields_def *d = &fields_table[id];

		CHECK(fields_alias(d->name, d->len) == id, "alias: %s itself",
		    d->name);
		/* every dash an underscore, in capitals */
		for (i = 0; i < d->len; i++)
			buf[i] = d->name[i] == '-' ? '_' : (char)(d->name[i] >=
			    'a' && d->name[i] <= 'z' ? d->name[i] - 32 : d->name[i]);
		CHECK(fields_alias(buf, d->len) == id, "alias: %.*s",
		    (int)d->len, buf);
		/* one dash at a time */
		for (j = 0; j < d->len; j++) {
			if (d->name[j] != '-')
				continue;
			memcpy(buf, d->name, d->len);
			buf[j] = '_';
			CHECK(fields_alias(buf, d->len) == id, "alias: %.*s",
			    (int)d->len, buf);
			CHECK(fields_lookup(buf, d->len) == FIELD_OTHER,
			    "alias: %.*s is not the name itself", (int)d->len, buf);
		}
	}
	CHECK(fields_alias(LIT("X_Forwarded_For")) == FIELD_X_FORWARDED_FOR &&
	    fields_alias(LIT("TRANSFER_ENCODING")) == FIELD_TRANSFER_ENCODING &&
	    fields_alias(LIT("content_Length")) == FIELD_CONTENT_LENGTH,
	    "alias: the usual ones");
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		CHECK(fields_alias(others[i], strlen(others[i])) == FIELD_OTHER,
		    "alias: %s is no row", others[i]);
}

/* A hop-by-hop row's value that the side under test accepts. */
static const char *
hop_value(unsigned id)
{
	switch (id) {
	case FIELD_CONNECTION:
		return "keep-alive";
	case FIELD_TE:
		return "trailers";
	case FIELD_UPGRADE:
		return "h2c";		/* without Connection: upgrade */
	default:
		return "x";
	}
}

/*
 * Every hop-by-hop row is dropped by both sides. Transfer-Encoding is left
 * to the framing and response tables: a request with it is refused, and a
 * response's is written again from the framing llhttp found.
 */
static void
test_hop_dropped(void)
{
	struct framing_policy pol;
	char in[256], out[1024];
	unsigned id;

	framing_policy_default(&pol);
	pol.add_via = pol.add_x_forwarded_for = pol.add_x_forwarded_proto = 0;
	for (id = FIELD_OTHER + 1; id < FIELD_COUNT; id++) {
		const struct fields_def *d = &fields_table[id];
		struct framing_peer peer = { NULL, NULL, NULL, 0 };
		struct framing *f;
		struct response *r;
		struct response_step rs;
		long n;
		int len;

		if (!(d->flags & FIELD_HOP) || id == FIELD_TRANSFER_ENCODING)
			continue;
		len = snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\n"
		    "%s: %s\r\nX-Kept: 1\r\n\r\n", d->name, hop_value(id));
		f = framing_new(&pol);
		CHECK(framing_feed(f, in, (size_t)len).verdict == FRAMING_HEAD,
		    "hop: request with %s approved", d->name);
		n = framing_write_head(f, &peer, out, sizeof(out));
		CHECK(n > 0 && !head_has_field(out, (size_t)n, d->name) &&
		    head_has_field(out, (size_t)n, "x-kept"),
		    "hop: %s not forwarded upstream", d->name);
		framing_free(f);

		len = snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n%s: %s\r\n"
		    "X-Kept: 1\r\nContent-Length: 0\r\n\r\n", d->name, hop_value(id));
		r = response_new(1024);
		response_begin(r, 0, 1, NULL, NULL);
		rs = response_feed(r, in, (size_t)len);
		CHECK(rs.verdict == RESPONSE_HEAD, "hop: response with %s", d->name);
		n = response_write_head(r, 0, out, sizeof(out));
		CHECK(n > 0 && !head_has_field(out, (size_t)n, d->name) &&
		    head_has_field(out, (size_t)n, "x-kept"),
		    "hop: %s not forwarded to the client", d->name);
		response_free(r);
	}
}

/* fields_strip_connection (RFC 9110 §7.6.1), table-driven. */
static void
test_strip(void)
{
	static const struct {
		const char *in, *want;
		int rv;
	} rows[] = {
		{ "A: 1\r\n", "A: 1\r\n", 0 },
		{ "Connection: a\r\nA: 1\r\nB: 2\r\n", "B: 2\r\n", 0 },
		{ "A: 1\r\nConnection: A, ,b\r\nB: 2\r\nC: 3\r\n", "C: 3\r\n", 0 },
		{ "Connection: a\r\nconnection: b\r\nB: 2\r\nA: 1\r\n", "", 0 },
		{ "Connection: ab\r\nA: 1\r\nAB: 2\r\n", "A: 1\r\n", 0 },
	};
	char buf[FIELDS_CONN_MAX * 2 + 64];
	size_t i, len;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		len = strlen(rows[i].in);
		memcpy(buf, rows[i].in, len);
		CHECK(fields_strip_connection(buf, &len) == rows[i].rv &&
		    len == strlen(rows[i].want) && memcmp(buf, rows[i].want, len) == 0,
		    "strip: row %zu", i);
	}
	/* options longer than FIELDS_CONN_MAX: -1, the block unchanged */
	len = (size_t)snprintf(buf, sizeof(buf), "Connection: %0*d\r\nA: 1\r\n",
	    FIELDS_CONN_MAX, 0);
	CHECK(fields_strip_connection(buf, &len) == -1 &&
	    len == FIELDS_CONN_MAX + sizeof("Connection: \r\nA: 1\r\n") - 1,
	    "strip: too long");
}

int
main(void)
{
	test_table();
	test_lookup();
	test_alias();
	test_hop_dropped();
	test_strip();
	return check_done("test_fields");
}
