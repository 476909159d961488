/*
 * fields.h - operations on a block of canonical field lines
 * ("Name: value\r\n"...), as the core builds them for requests and
 * responses. Core code: no allocation, no I/O.
 */
#ifndef LG_FIELDS_H
#define LG_FIELDS_H

#include <stddef.h>

#include "lit.h"

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
