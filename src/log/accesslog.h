/*
 * accesslog.h - one access log line: the Combined Log Format, then rt=,
 * urt= and verdict="...". Pure formatting (no I/O, no libevent), shared by
 * the proxy (src/proxy/log.c) and the LD_PRELOAD front end, so that both
 * write the same lines.
 */
#ifndef LG_ACCESSLOG_H
#define LG_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What the access log says of one request (pointers valid for the call). */
struct accesslog_request {
	const char *addr;		/* the client's address */
	const char *method;		/* NULL: the request line is unknown */
	const char *target;
	size_t   target_len;
	int      http_minor;
	int      status;
	uint64_t bytes;			/* response body bytes sent */
	const char *referer, *user_agent;	/* NULL: none */
	size_t   referer_len, user_agent_len;
	double   rt;			/* seconds since the request began */
	double   urt;			/* seconds since it went upstream; < 0: never */
	const char *verdict;		/* why it was not forwarded, or NULL */
};

/* The longest line accesslog_format() writes, its "\n" included. */
#define ACCESSLOG_LINE_MAX	2047

/* "%d/%b/%Y:%H:%M:%S %z" of `when` (local time) into stamp[cap]. */
void   accesslog_stamp(char *stamp, size_t cap, time_t when);

/*
 * Format r's line, ending in "\n", into line[cap] (cap > ACCESSLOG_LINE_MAX
 * keeps every line whole; a longer one is cut and still ends in "\n").
 * Bytes a log line must not carry are escaped as \xHH. Returns its length.
 */
size_t accesslog_format(char *line, size_t cap, const char *stamp,
    const struct accesslog_request *r);

#endif /* LG_ACCESSLOG_H */
