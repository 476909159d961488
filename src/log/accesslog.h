/*
 * accesslog.h - one access log line, in either format: combined (the
 * Combined Log Format, then rt=, urt=, verdict="..." and class=) or json
 * (one object per line). Pure formatting (no I/O, no libevent), shared by
 * the proxy (src/proxy/log.c) and the LD_PRELOAD front end, so that both
 * write the same lines.
 */
#ifndef LG_ACCESSLOG_H
#define LG_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct framing;

/* What the access log says of one request (pointers valid for the call). */
struct accesslog_request {
	const char *addr;		/* the client's address */
	const char *method;		/* NULL: the request line is unknown */
	const char *target;
	size_t   target_len;
	int      http_minor;
	const char *line;		/* method NULL: the line as received */
	size_t   line_len;		/* (0: none) */
	int      line_cut;		/* it went on beyond line_len */
	int      status;
	uint64_t bytes;			/* response body bytes sent */
	const char *referer, *user_agent;	/* NULL: none */
	size_t   referer_len, user_agent_len;
	double   rt;			/* seconds since the request began */
	double   urt;			/* seconds since it went upstream; < 0: never */
	const char *verdict;		/* why it was not forwarded, or NULL */
	const char *reason;		/* its label, or NULL */
	int      would_refuse;		/* monitor mode: served, though enforce
					   mode would refuse it for `reason`
					   (verdict "would_refuse: TEXT") */
	int      would_status;		/* the status enforce would answer */
	const char *cls;		/* desync class label */
	const char *upstream;		/* host:port it went to, or NULL */
};

/*
 * Fill what the core knows of the request being read by f: its request
 * line (or, refused before its method was read, the line as it came),
 * Referer and User-Agent. Nothing when f is NULL.
 */
void   accesslog_request_from(struct accesslog_request *,
    const struct framing *f);

/* The longest line accesslog_format() writes, its "\n" included. */
#define ACCESSLOG_LINE_MAX	8191

/* The time stamps of a line: combined's and json's. */
struct accesslog_stamp {
	char	clf[40];		/* "%d/%b/%Y:%H:%M:%S %z" */
	char	iso[40];		/* "%Y-%m-%dT%H:%M:%S%z" */
};

/* The stamps of `when` (local time). */
void   accesslog_stamp(struct accesslog_stamp *, time_t when);

/*
 * Format r's line, ending in "\n", into line[cap], as json when `json`,
 * else combined (cap > ACCESSLOG_LINE_MAX keeps every line whole; a longer
 * one is cut and still ends in "\n"). In combined, bytes a log line must
 * not carry are escaped as \xHH. Returns its length.
 */
size_t accesslog_format(char *line, size_t cap, int json,
    const struct accesslog_stamp *, const struct accesslog_request *r);

/*
 * The "%r" of the access log into out[cap]: method, target and version;
 * for a request refused before its method was read, the line as it came
 * ("..." when cut); "-" when nothing is known.
 */
void   accesslog_reqline(const struct accesslog_request *r, char *out,
    size_t cap);

/*
 * s[0..n) as the inside of a JSON string (RFC 8259 §7) into out[0..cap),
 * NUL-terminated: '"', '\\' and control bytes escaped, and every byte
 * that is not ASCII as \u00XX (a request's bytes need not be UTF-8; the
 * line stays valid JSON and says which bytes came). Returns the length.
 */
size_t accesslog_json_escape(char *out, size_t cap, const char *s, size_t n);

#endif /* LG_ACCESSLOG_H */
