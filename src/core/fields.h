/*
 * fields.h - operations on a block of canonical field lines
 * ("Name: value\r\n"...), as the core builds them for requests and
 * responses. Core code: no allocation, no I/O.
 */
#ifndef LG_FIELDS_H
#define LG_FIELDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lit.h"

/*
 * The field names lengthguard treats specially, one row each, the name in
 * lower case: X(id, name, flags). This is the only list of them; the request
 * side (framing.c) and the response side (response.c) both look names up
 * with fields_lookup(). Flags:
 *
 *   FIELD_HOP       hop-by-hop (RFC 9110 §7.6.1; Proxy-Connection and
 *                   Keep-Alive by common use): never forwarded as received
 *   FIELD_REQUEST   its value is read on requests (framing.c)
 *   FIELD_RESPONSE  its value is read on responses (response.c)
 *   FIELD_FORWARD   says who the client is or how its request came
 *                   (X-Forwarded-*, X-Real-IP, Forwarded, Via): written,
 *                   replaced or filtered by lengthguard on requests, and
 *                   believed by backends
 *
 * Every row is also guarded against its aliases: CGI and WSGI gateways map
 * a field name to one HTTP_NAME variable with "-" turned into "_" and the
 * case folded (RFC 3875 §4.1.18), so "Content_Length" reaches the
 * application as "Content-Length" would. A request field whose name holds
 * a "_" and folds to a row's name (fields_alias()) is refused.
 */
#define FIELD_HOP	0x1u
#define FIELD_REQUEST	0x2u
#define FIELD_RESPONSE	0x4u
#define FIELD_FORWARD	0x8u

#define FIELDS_TABLE(X)							\
	X(FIELD_CONNECTION,	  "connection",				\
	    FIELD_HOP | FIELD_REQUEST | FIELD_RESPONSE)			\
	X(FIELD_KEEP_ALIVE,	  "keep-alive",	FIELD_HOP)		\
	X(FIELD_PROXY_CONNECTION, "proxy-connection", FIELD_HOP)	\
	X(FIELD_TE,		  "te",		FIELD_HOP)		\
	X(FIELD_TRAILER,	  "trailer",	FIELD_HOP)		\
	X(FIELD_TRANSFER_ENCODING, "transfer-encoding",			\
	    FIELD_HOP | FIELD_REQUEST | FIELD_RESPONSE)			\
	X(FIELD_UPGRADE,	  "upgrade",	FIELD_HOP)		\
	X(FIELD_CONTENT_LENGTH,	  "content-length", FIELD_REQUEST)	\
	X(FIELD_HOST,		  "host",	FIELD_REQUEST)		\
	X(FIELD_EXPECT,		  "expect",	FIELD_REQUEST)		\
	X(FIELD_ACCEPT,		  "accept",	FIELD_REQUEST)		\
	X(FIELD_PROXY,		  "proxy",	FIELD_REQUEST)		\
	X(FIELD_X_FORWARDED_PROTO, "x-forwarded-proto",			\
	    FIELD_REQUEST | FIELD_FORWARD)				\
	X(FIELD_X_FORWARDED_FOR,  "x-forwarded-for",			\
	    FIELD_REQUEST | FIELD_FORWARD)				\
	X(FIELD_X_FORWARDED_HOST, "x-forwarded-host", FIELD_FORWARD)	\
	X(FIELD_X_REAL_IP,	  "x-real-ip",				\
	    FIELD_REQUEST | FIELD_FORWARD)				\
	X(FIELD_FORWARDED,	  "forwarded",				\
	    FIELD_REQUEST | FIELD_FORWARD)				\
	X(FIELD_VIA,		  "via",	FIELD_FORWARD)	\
	X(FIELD_DATE,		  "date",	FIELD_RESPONSE)

#define FIELDS_ENUM(id, name, flags) id,
enum field_id {
	FIELD_OTHER = 0,	/* any other name: end-to-end, forwarded */
	FIELDS_TABLE(FIELDS_ENUM)
	FIELD_COUNT
};
#undef FIELDS_ENUM

struct fields_def {
	const char *name;	/* lower case; "" for FIELD_OTHER */
	unsigned char len;
	unsigned char flags;	/* FIELD_HOP, FIELD_REQUEST, ... */
};

/* The table, indexed by enum field_id. */
extern const struct fields_def fields_table[FIELD_COUNT];

/* ASCII lower case (field names and tokens are ASCII; no locale). */
static inline int
fields_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive compare of s[0..n) with a lower-case lit[0..litn). */
static inline int
fields_eq(const char *s, size_t n, const char *lit, size_t litn)
{
	size_t i;

	if (n != litn)
		return 0;
	for (i = 0; i < n; i++)
		if (fields_lower((unsigned char)s[i]) != lit[i])
			return 0;
	return 1;
}

/* Bit n is set when some row's name is n bytes long (fields.c asserts that
 * every name is shorter than 32 bytes). */
#define FIELDS_LENBIT(id, lname, flags) | 1u << LITLEN(lname)
#define FIELDS_LENGTHS (0u FIELDS_TABLE(FIELDS_LENBIT))

/* FIELDS_HASH(n, c) is a slot of fields_ids for each row, n the length of
 * its name and c its first byte (either case): fields_ids[slot] is the
 * row's id, FIELD_OTHER (0) where no row is, so a name whose slot holds 0
 * is no row's. No two rows share a slot (tests/core/test_fields.c finds
 * every row by its name), and the factor keeps the names browsers and
 * HTTP libraries send most (User-Agent, Cookie, Accept-Encoding,
 * Accept-Language, Sec-Fetch-*, Sec-CH-UA*, Referer, Content-Type,
 * Authorization...) on empty slots. One load per lookup (one cache line). */
#define FIELDS_HASH(n, c)	(((n) * 22u + ((unsigned)(c) | 0x20u)) & 63u)
#define FIELDS_SLOTS		64
extern const unsigned char fields_ids[FIELDS_SLOTS];

/* Does s[0..w) match lit[0..w) (w = 1, 2, 4 or 8), as fields_eq_row says? */
static inline int
fields_eq_word(const char *s, const char *lit, size_t w)
{
	const uint64_t letters = 0x4040404040404040ull;
	uint64_t a = 0, b = 0;

	memcpy(&a, s, w);	/* (any byte order: only compared) */
	memcpy(&b, lit, w);
	return (a | (b & letters) >> 1) == b;
}

/*
 * Case-insensitive compare of s[0..n) with a row's name lit[0..n) (lower
 * case letters and "-"), a word at a time (the last word overlapping the
 * one before), never reading outside either: a letter of lit matches
 * either case, its "-" only itself. The bit 0x40 marks the letters of
 * lit; ORing 0x20 into s there folds the case.
 */
static inline int
fields_eq_row(const char *s, const char *lit, size_t n)
{
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8)
			if (!fields_eq_word(s + i, lit + i, 8))
				return 0;
		return fields_eq_word(s + n - 8, lit + n - 8, 8);
	}
	if (n >= 4)
		return fields_eq_word(s, lit, 4) && (n == 4 ||
		    fields_eq_word(s + n - 4, lit + n - 4, 4));
	if (n >= 2)
		return fields_eq_word(s, lit, 2) &&
		    fields_eq_word(s + n - 2, lit + n - 2, 2);
	return n == 0 || fields_eq_word(s, lit, 1);
}

/*
 * The row of a field name (any case), or FIELD_OTHER. Runs once per field
 * line, so it is inline and has no branch but its tests: most names have
 * a length no row has, or a length and first letter whose slot in
 * fields_ids is empty; the others are compared with the one row their
 * slot holds.
 */
static inline enum field_id
fields_lookup(const char *name, size_t n)
{
	unsigned id;

	/* (no row's name is empty: bit 0 of FIELDS_LENGTHS is clear) */
	if (n >= 32 || !(FIELDS_LENGTHS >> n & 1) ||
	    (id = fields_ids[FIELDS_HASH(n, (unsigned char)name[0])]) ==
	    FIELD_OTHER)
		return FIELD_OTHER;
	if (fields_table[id].len != n ||
	    !fields_eq_row(name, fields_table[id].name, n))
		return FIELD_OTHER;
	return (enum field_id)id;
}

/* FIELD_HOP, FIELD_REQUEST, FIELD_RESPONSE, FIELD_FORWARD of a row. */
static inline unsigned
fields_flags(enum field_id id)
{
	return fields_table[id].flags;
}

/*
 * The row whose name equals name[0..n) when case is folded and "_" is read
 * as "-" (the way CGI and WSGI gateways name variables), or FIELD_OTHER.
 * Meant for names that hold a "_" (no row's name does): fields_lookup()
 * is the exact lookup.
 */
enum field_id fields_alias(const char *name, size_t n);

/*
 * Walk a comma separated list (RFC 9110 §5.6.1), calling fn for each
 * non-empty element with OWS trimmed; empty elements are skipped, as
 * §5.6.1.2 asks of recipients. Stops and returns fn's value if non-zero.
 */
int fields_list(const char *s, size_t n,
    int (*fn)(void *arg, const char *elem, size_t len), void *arg);

/*
 * Find the first line named `lname` (lower case). Returns 1 and sets the
 * line's offset and length (CRLF included) and the value's offset and
 * length, or returns 0.
 */
int fields_find(const char *block, size_t len, const char *lname,
    size_t *line_off, size_t *line_len, size_t *value_off, size_t *value_len);

/*
 * RFC 9110 §7.6.1: remove every Connection line and every line whose name
 * one of them lists. Returns 0, or -1 when the options are longer than
 * FIELDS_CONN_MAX bytes (the block is then unchanged).
 */
#define FIELDS_CONN_MAX 512
int fields_strip_connection(char *block, size_t *len);

#endif /* LG_FIELDS_H */
