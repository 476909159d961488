/*
 * trace.h - helpers for the table tests that compare a trace string (what
 * a core module did with some input) with the expected one.
 */
#ifndef LG_TRACE_H
#define LG_TRACE_H

#include <stdio.h>
#include <string.h>

/* Append s[0..n) to buf[0..*len), keeping it NUL-terminated within cap. */
static inline void
trace_append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

/* Print a trace on stderr with CR, LF and other controls escaped. */
static inline void
trace_show(const char *label, const char *s)
{
	fprintf(stderr, "  %s: \"", label);
	for (; *s; s++) {
		if (*s == '\r')
			fputs("\\r", stderr);
		else if (*s == '\n')
			fputs("\\n", stderr);
		else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			fprintf(stderr, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, stderr);
	}
	fputs("\"\n", stderr);
}

#endif /* LG_TRACE_H */
