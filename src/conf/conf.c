/*
 * conf.c - load and check lengthguard's configuration file.
 *
 * inih splits the file into sections and "key = value" pairs. Our line
 * reader sits in front of it: it counts lines (this inih does not pass line
 * numbers to the handler, which it calls right after the reader returned the
 * line) and it rejects the lines inih would misread or only report once:
 * over-long lines, lines that are not blank, a comment, a [section] or
 * "key = value", and unknown sections. Such a line is reported and handed to
 * inih as a blank one, so that every problem in the file gets reported.
 *
 * The handler checks each value as it comes; the checks that need the whole
 * file (required keys, limits against each other, paths) run at the end.
 */
#define _XOPEN_SOURCE 700

#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf.h"
#include "lit.h"

#define CONF_LINE_MAX	1024		/* bytes on a line, end of line excluded */
#define COMMENT_CHARS	"#;"		/* start a comment, also after a blank */
#define MIN_REQUEST_LINE 64

enum section {
	S_PROXY,
	S_POLICY,
	S_LIMITS,
	S_TIMEOUTS,
	S_PAGES,
	S_LOG,
	S_ADMIN,
	S_PRELOAD,
	S_COUNT,
};

static const char *const sections[S_COUNT] = {
	[S_PROXY] = "proxy",
	[S_POLICY] = "policy",
	[S_LIMITS] = "limits",
	[S_TIMEOUTS] = "timeouts",
	[S_PAGES] = "pages",
	[S_LOG] = "log",
	[S_ADMIN] = "admin",
	[S_PRELOAD] = "preload",
};

enum key {
	K_LISTEN,
	K_UPSTREAM,
	K_WORKERS,
	K_MAX_CONNECTIONS,
	K_UPSTREAM_POOL_SIZE,
	K_TRUSTED_PROXIES,
	K_PIDFILE,
	K_USER,
	K_SERVER_HEADER,
	K_REQUEST_BUFFERING,
	K_TEMP_DIR,
	K_MODE,
	K_CHUNKED,
	K_REQUIRE_LENGTH,
	K_BODY_METHODS,
	K_CLOSE_AFTER_BODY,
	K_UNDERSCORES,
	K_VIA,
	K_X_FORWARDED_FOR,
	K_X_FORWARDED_PROTO,
	K_MAX_HEADER_SIZE,
	K_MAX_REQUEST_LINE,
	K_MAX_HEADERS,
	K_MAX_BODY_SIZE,
	K_MAX_BUFFERED_BODY,
	K_BODY_BUFFER_SIZE,
	K_BUFFER_MEMORY,
	K_CLIENT_HEADER,
	K_CLIENT_BODY,
	K_CLIENT_BODY_TOTAL,
	K_KEEPALIVE,
	K_UPSTREAM_CONNECT,
	K_UPSTREAM_SEND,
	K_UPSTREAM_RESPONSE,
	K_UPSTREAM_KEEPALIVE,
	K_LINGER,
	K_SHUTDOWN,
	K_PAGES_DIR,
	K_ACCESS_LOG,
	K_ERROR_LOG,
	K_LOG_LEVEL,
	K_LOG_FORMAT,
	K_ADMIN_LISTEN,
	K_PRELOAD_PORTS,
	K_PRELOAD_LOG,
	K_PRELOAD_INETD,
	K_COUNT,
	K_NONE = -1,
};

enum type {
	T_ADDR,				/* repeatable host:port */
	T_WORKERS,			/* number or "auto" */
	T_NUMBER,
	T_BOOL,
	T_SIZE,
	T_DURATION,			/* in ms */
	T_MODE,
	T_CHUNKED,
	T_METHODS,
	T_BODY_METHODS,
	T_UNDERSCORES,
	T_CIDRS,			/* space separated prefixes */
	T_USER,				/* NAME [GROUP] */
	T_PATH,
	T_LOG,
	T_LEVEL,
	T_LOG_FORMAT,
	T_ADMIN_ADDR,			/* one host:port */
	T_PORTS,			/* space separated port numbers */
};

static const struct keydef {
	enum section	 section;
	const char	*name;
	enum type	 type;
	uint64_t	 min, max;	/* T_WORKERS, T_NUMBER, T_SIZE, T_DURATION */
} keys[K_COUNT] = {
	[K_LISTEN] =		{ S_PROXY, "listen", T_ADDR, 0, 0 },
	[K_UPSTREAM] =		{ S_PROXY, "upstream", T_ADDR, 0, 0 },
	[K_WORKERS] =		{ S_PROXY, "workers", T_WORKERS, 1, 64 },
	[K_MAX_CONNECTIONS] =	{ S_PROXY, "max_connections", T_NUMBER,
				  1, 1000000 },
	[K_UPSTREAM_POOL_SIZE] = { S_PROXY, "upstream_pool_size", T_NUMBER,
				  0, 65535 },
	[K_TRUSTED_PROXIES] =	{ S_PROXY, "trusted_proxies", T_CIDRS, 0, 0 },
	[K_PIDFILE] =		{ S_PROXY, "pidfile", T_PATH, 0, 0 },
	[K_USER] =		{ S_PROXY, "user", T_USER, 0, 0 },
	[K_SERVER_HEADER] =	{ S_PROXY, "server_header", T_BOOL, 0, 0 },
	[K_REQUEST_BUFFERING] =	{ S_PROXY, "request_buffering", T_BOOL, 0, 0 },
	[K_TEMP_DIR] =		{ S_PROXY, "temp_dir", T_PATH, 0, 0 },
	[K_MODE] =		{ S_POLICY, "mode", T_MODE, 0, 0 },
	[K_CHUNKED] =		{ S_POLICY, "chunked", T_CHUNKED, 0, 0 },
	[K_REQUIRE_LENGTH] =	{ S_POLICY, "require_length", T_METHODS, 0, 0 },
	[K_BODY_METHODS] =	{ S_POLICY, "body_methods", T_BODY_METHODS,
				  0, 0 },
	[K_CLOSE_AFTER_BODY] =	{ S_POLICY, "close_after_body", T_METHODS,
				  0, 0 },
	[K_UNDERSCORES] =	{ S_POLICY, "underscores", T_UNDERSCORES, 0, 0 },
	[K_VIA] =		{ S_POLICY, "via", T_BOOL, 0, 0 },
	[K_X_FORWARDED_FOR] =	{ S_POLICY, "x_forwarded_for", T_BOOL, 0, 0 },
	[K_X_FORWARDED_PROTO] =	{ S_POLICY, "x_forwarded_proto", T_BOOL, 0, 0 },
	[K_MAX_HEADER_SIZE] =	{ S_LIMITS, "max_header_size", T_SIZE,
				  FRAMING_MIN_HEAD, FRAMING_MAX_HEAD },
	[K_MAX_REQUEST_LINE] =	{ S_LIMITS, "max_request_line", T_SIZE,
				  MIN_REQUEST_LINE, FRAMING_MAX_HEAD },
	[K_MAX_HEADERS] =	{ S_LIMITS, "max_headers", T_NUMBER, 1, 10000 },
	[K_MAX_BODY_SIZE] =	{ S_LIMITS, "max_body_size", T_SIZE,
				  0, UINT64_MAX },
	[K_MAX_BUFFERED_BODY] =	{ S_LIMITS, "max_buffered_body", T_SIZE,
				  0, UINT64_MAX },
	[K_BODY_BUFFER_SIZE] =	{ S_LIMITS, "body_buffer_size", T_SIZE,
				  0, 1ull << 30 },
	[K_BUFFER_MEMORY] =	{ S_LIMITS, "buffer_memory", T_SIZE,
				  0, UINT64_MAX },
	[K_CLIENT_HEADER] =	{ S_TIMEOUTS, "client_header", T_DURATION,
				  1, UINT_MAX },
	[K_CLIENT_BODY] =	{ S_TIMEOUTS, "client_body", T_DURATION,
				  1, UINT_MAX },
	[K_CLIENT_BODY_TOTAL] =	{ S_TIMEOUTS, "client_body_total", T_DURATION,
				  1, UINT_MAX },
	[K_KEEPALIVE] =		{ S_TIMEOUTS, "keepalive", T_DURATION,
				  1, UINT_MAX },
	[K_UPSTREAM_CONNECT] =	{ S_TIMEOUTS, "upstream_connect", T_DURATION,
				  1, UINT_MAX },
	[K_UPSTREAM_SEND] =	{ S_TIMEOUTS, "upstream_send", T_DURATION,
				  1, UINT_MAX },
	[K_UPSTREAM_RESPONSE] =	{ S_TIMEOUTS, "upstream_response", T_DURATION,
				  1, UINT_MAX },
	[K_UPSTREAM_KEEPALIVE] = { S_TIMEOUTS, "upstream_keepalive", T_DURATION,
				  1, UINT_MAX },
	[K_LINGER] =		{ S_TIMEOUTS, "linger", T_DURATION,
				  0, UINT_MAX },
	[K_SHUTDOWN] =		{ S_TIMEOUTS, "shutdown", T_DURATION,
				  1, UINT_MAX },
	[K_PAGES_DIR] =		{ S_PAGES, "dir", T_PATH, 0, 0 },
	[K_ACCESS_LOG] =	{ S_LOG, "access", T_LOG, 0, 0 },
	[K_ERROR_LOG] =		{ S_LOG, "error", T_LOG, 0, 0 },
	[K_LOG_LEVEL] =		{ S_LOG, "level", T_LEVEL, 0, 0 },
	[K_LOG_FORMAT] =	{ S_LOG, "format", T_LOG_FORMAT, 0, 0 },
	[K_ADMIN_LISTEN] =	{ S_ADMIN, "listen", T_ADMIN_ADDR, 0, 0 },
	[K_PRELOAD_PORTS] =	{ S_PRELOAD, "ports", T_PORTS, 1, 65535 },
	[K_PRELOAD_LOG] =	{ S_PRELOAD, "log", T_LOG, 0, 0 },
	[K_PRELOAD_INETD] =	{ S_PRELOAD, "inetd", T_BOOL, 0, 0 },
};

static const char *const underscores[] = {
	[FRAMING_UNDERSCORES_DROP] = "drop",
	[FRAMING_UNDERSCORES_REJECT] = "reject",
	[FRAMING_UNDERSCORES_PASS] = "pass",
};

static const char *const modes[] = {
	[FRAMING_ENFORCE] = "enforce",
	[FRAMING_MONITOR] = "monitor",
};

static const char *const chunked_words[] = {
	[FRAMING_CHUNKED_REJECT] = "reject",
	[FRAMING_CHUNKED_BUFFER] = "buffer",
};

static const char *const levels[] = {
	[CONF_LOG_ERROR] = "error",
	[CONF_LOG_WARN] = "warn",
	[CONF_LOG_INFO] = "info",
	[CONF_LOG_DEBUG] = "debug",
};
static const char *const log_formats[] = {
	[CONF_LOG_COMBINED] = "combined",
	[CONF_LOG_JSON] = "json",
};
#define NWORDS(list)	(sizeof(list) / sizeof((list)[0]))

/* The index of `value` in a list of words (an enum's names), or -1. */
static int
word_index(const char *value, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(value, list[i]) == 0)
			return (int)i;
	return -1;
}

/* One conf_load() run. */
struct loader {
	const char	*file;		/* as the caller named it, for messages */
	FILE		*in;
	FILE		*errs;
	int		 line;		/* of the line inih is working on */
	int		 nerr;
	int		 read_errno;
	int		 skip;		/* in a bad [section]: ignore its keys */
	int		 preload;	/* for the LD_PRELOAD library: no
					   [proxy] key is required */
	int		 where[K_COUNT];	/* line a key was last set on */
	char		*raw[K_COUNT];	/* T_PATH and T_LOG values as written */
	struct conf	 c;
};

static void	lerr(struct loader *, int, enum key, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

/*
 * Report "file:line: [section] key: message" (without the key part for
 * K_NONE) and count it.
 */
static void
lerr(struct loader *ld, int line, enum key k, const char *fmt, ...)
{
	va_list ap;

	ld->nerr++;
	if (ld->errs == NULL)
		return;
	fprintf(ld->errs, "%s:%d: ", ld->file, line);
	if (k != K_NONE)
		fprintf(ld->errs, "[%s] %s: ", sections[keys[k].section],
		    keys[k].name);
	va_start(ap, fmt);
	vfprintf(ld->errs, fmt, ap);
	va_end(ap);
	fputc('\n', ld->errs);
}

/* Parse decimal digits (no sign, no blank) up to *end. -1 on overflow. */
static int
parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0, d;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*end = s;
	return 0;
}

static int
parse_number(const char *s, uint64_t *out)
{
	const char *end;

	if (parse_digits(s, out, &end) == -1 || *end != '\0')
		return -1;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int shift;

	if (parse_digits(s, &v, &end) == -1)
		return -1;
	switch (*end) {
	case '\0':
		shift = 0;
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (shift != 0 && end[1] != '\0')
		return -1;
	if (v > UINT64_MAX >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

int
conf_parse_duration(const char *s, unsigned *out_ms)
{
	const char *end;
	uint64_t v, unit;

	if (parse_digits(s, &v, &end) == -1)
		return -1;
	if (strcmp(end, "ms") == 0)
		unit = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		unit = 1000;
	else if (strcmp(end, "m") == 0)
		unit = 60 * 1000;
	else
		return -1;
	if (v > UINT_MAX / unit)
		return -1;
	*out_ms = (unsigned)(v * unit);
	return 0;
}

/* A host name: letters, digits, '.', '-', '_'; dotted digits must be IPv4. */
static int
valid_host(const char *h)
{
	struct in_addr a4;
	const char *p;
	int name = 0;

	for (p = h; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    *p == '-' || *p == '_')
			name = 1;
		else if ((*p < '0' || *p > '9') && *p != '.')
			return -1;
	}
	if (!name && inet_pton(AF_INET, h, &a4) != 1)
		return -1;
	return 0;
}

/*
 * conf_parse_addr() that also says why `s` is not valid: *why is set to a
 * static string when -1 is returned.
 */
static int
parse_addr(const char *s, struct conf_addr *out, const char **why)
{
	struct in6_addr a6;
	const char *host, *port, *end;
	size_t hlen;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (*s == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL) {
			*why = "missing \"]\" after the IPv6 address";
			return -1;
		}
		hlen = (size_t)(end - host);
		port = end + 1;
	} else {
		host = s;
		if ((end = strrchr(s, ':')) == NULL) {
			*why = "missing \":port\"";
			return -1;
		}
		hlen = (size_t)(end - host);
		port = end;
		if (memchr(host, ':', hlen) != NULL) {
			*why = "an IPv6 address needs brackets: [addr]:port";
			return -1;
		}
	}
	if (hlen == 0) {
		*why = "missing host (\"*\" means all addresses)";
		return -1;
	}
	if (hlen >= sizeof(out->host)) {
		*why = "host longer than 255 characters";
		return -1;
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	if (*s == '[') {
		if (inet_pton(AF_INET6, out->host, &a6) != 1) {
			*why = "not an IPv6 address between the brackets";
			return -1;
		}
	} else if (strcmp(out->host, "*") != 0 && valid_host(out->host) == -1) {
		*why = "not a valid host name or address";
		return -1;
	}
	if (*port != ':' || port[1] == '\0') {
		*why = "missing \":port\"";
		return -1;
	}
	if (parse_number(port + 1, &v) == -1 || v < 1 || v > 65535) {
		*why = "the port must be a number from 1 to 65535";
		return -1;
	}
	out->port = (uint16_t)v;
	return 0;
}

int
conf_parse_addr(const char *s, struct conf_addr *out)
{
	const char *why;

	return parse_addr(s, out, &why);
}

/*
 * conf_parse_cidr() that also says why: s[0..len) is one prefix; *why is
 * set to a static string when -1 is returned.
 */
static int
parse_cidr(const char *s, size_t len, struct conf_cidr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(s, '/', len);
	size_t hlen = slash ? (size_t)(slash - s) : len, nbytes, i;
	uint64_t bits;
	char bitstr[8];

	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		nbytes = 4;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		nbytes = 16;
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	bits = nbytes * 8;
	if (slash != NULL) {
		size_t blen = len - hlen - 1;

		if (blen == 0 || blen >= sizeof(bitstr)) {
			*why = out->family == AF_INET ? "the prefix length must "
			    "be a number from 0 to 32" : "the prefix length must "
			    "be a number from 0 to 128";
			return -1;
		}
		memcpy(bitstr, slash + 1, blen);
		bitstr[blen] = '\0';
		if (parse_number(bitstr, &bits) == -1 || bits > nbytes * 8) {
			*why = out->family == AF_INET ? "the prefix length must "
			    "be a number from 0 to 32" : "the prefix length must "
			    "be a number from 0 to 128";
			return -1;
		}
	}
	out->bits = (unsigned)bits;
	/* every bit after the prefix is clear: 10.0.0.1/8 is a mistake */
	for (i = 0; i < nbytes; i++) {
		unsigned keep = i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? 8 :
		    (unsigned)(bits - i * 8);
		unsigned char mask = (unsigned char)(0xff00u >> keep);

		if (out->addr[i] & (unsigned char)~mask) {
			*why = "bits are set after the prefix length";
			return -1;
		}
	}
	return 0;
}

int
conf_parse_cidr(const char *s, struct conf_cidr *out)
{
	const char *why;

	return parse_cidr(s, strlen(s), out, &why);
}

/* Do the first p->bits bits of a (p->family's size) equal p's? */
static int
cidr_match(const struct conf_cidr *p, const unsigned char *a)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;
	unsigned char mask;

	if (memcmp(p->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff00u >> rest);
	return (a[full] & mask) == p->addr[full];
}

int
conf_trusted(const struct conf *c, const struct sockaddr *peer)
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	const unsigned char *a4 = NULL, *a6 = NULL;
	int i;

	if (peer->sa_family == AF_INET) {
		memcpy(&in4, peer, sizeof(in4));
		a4 = (const unsigned char *)&in4.sin_addr;
	} else if (peer->sa_family == AF_INET6) {
		memcpy(&in6, peer, sizeof(in6));
		a6 = in6.sin6_addr.s6_addr;
		/* RFC 4291 §2.5.5.2: an IPv4 client of a dual-stack socket */
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0)
			a4 = a6 + sizeof(v4mapped);
	} else {
		return 0;
	}
	for (i = 0; i < c->ntrusted; i++) {
		const struct conf_cidr *p = &c->trusted[i];

		if ((p->family == AF_INET && a4 && cidr_match(p, a4)) ||
		    (p->family == AF_INET6 && a6 && cidr_match(p, a6)))
			return 1;
	}
	return 0;
}

static int
parse_bool(const char *s, uint64_t *out)
{
	static const char *const words[][2] = {
		{ "off", "on" }, { "no", "yes" }, { "false", "true" },
		{ "0", "1" },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(s, words[i][0]) == 0 || strcmp(s, words[i][1]) == 0) {
			*out = strcmp(s, words[i][1]) == 0;
			return 0;
		}
	}
	return -1;
}

/* "8k" for 8192: the shortest exact spelling of a size, into buf. */
static const char *
fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = "gmk";
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t unit = 1ull << (10 * (3 - i));

		if (v != 0 && v % unit == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / unit, suffix[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/* Store a checked value in its field. */
static void
store(struct conf *c, enum key k, uint64_t v)
{
	switch (k) {
	case K_WORKERS:
		c->workers = (int)v;
		break;
	case K_MAX_CONNECTIONS:
		c->max_connections = (unsigned)v;
		break;
	case K_UPSTREAM_POOL_SIZE:
		c->upstream_pool_size = (unsigned)v;
		break;
	case K_MODE:
		c->policy.mode = (enum framing_mode)v;
		break;
	case K_CHUNKED:
		c->policy.chunked = (enum framing_chunked)v;
		break;
	case K_REQUIRE_LENGTH:
		c->policy.require_length = v;
		break;
	case K_BODY_METHODS:
		c->policy.body_methods = v;
		break;
	case K_CLOSE_AFTER_BODY:
		c->policy.close_after_body = v;
		break;
	case K_PRELOAD_INETD:
		c->preload_inetd = (int)v;
		break;
	case K_UNDERSCORES:
		c->policy.underscores = (enum framing_underscores)v;
		break;
	case K_SERVER_HEADER:
		c->server_header = v != 0;
		break;
	case K_REQUEST_BUFFERING:
		c->request_buffering = v != 0;
		break;
	case K_MAX_BUFFERED_BODY:
		c->policy.max_buffered_body = v;
		break;
	case K_BODY_BUFFER_SIZE:
		c->body_buffer_size = (size_t)v;
		break;
	case K_BUFFER_MEMORY:
		c->buffer_memory = v;
		break;
	case K_VIA:
		c->policy.add_via = v != 0;
		break;
	case K_X_FORWARDED_FOR:
		c->policy.add_x_forwarded_for = v != 0;
		break;
	case K_X_FORWARDED_PROTO:
		c->policy.add_x_forwarded_proto = v != 0;
		break;
	case K_MAX_HEADER_SIZE:
		c->policy.max_head_size = (uint32_t)v;
		break;
	case K_MAX_REQUEST_LINE:
		c->policy.max_request_line = (uint32_t)v;
		break;
	case K_MAX_HEADERS:
		c->policy.max_headers = (uint32_t)v;
		break;
	case K_MAX_BODY_SIZE:
		c->policy.max_body_size = v;
		break;
	case K_CLIENT_HEADER:
		c->client_header_timeout = (unsigned)v;
		break;
	case K_CLIENT_BODY:
		c->client_body_timeout = (unsigned)v;
		break;
	case K_CLIENT_BODY_TOTAL:
		c->client_body_total_timeout = (unsigned)v;
		break;
	case K_KEEPALIVE:
		c->keepalive_timeout = (unsigned)v;
		break;
	case K_UPSTREAM_SEND:
		c->upstream_send_timeout = (unsigned)v;
		break;
	case K_UPSTREAM_CONNECT:
		c->upstream_connect_timeout = (unsigned)v;
		break;
	case K_UPSTREAM_RESPONSE:
		c->upstream_response_timeout = (unsigned)v;
		break;
	case K_UPSTREAM_KEEPALIVE:
		c->upstream_keepalive_timeout = (unsigned)v;
		break;
	case K_LINGER:
		c->linger_timeout = (unsigned)v;
		break;
	case K_SHUTDOWN:
		c->shutdown_timeout = (unsigned)v;
		break;
	case K_LOG_LEVEL:
		c->log_level = (enum conf_log_level)v;
		break;
	case K_LOG_FORMAT:
		c->log_format = (enum conf_log_format)v;
		break;
	default:
		break;
	}
}

/* A listen or upstream address: appended to its list. */
/*
 * The parameters after an upstream's address, nginx's way: weight=N,
 * max_fails=N, fail_timeout=DURATION, backup. 0, or -1 with the error said.
 */
static int
set_upstream_params(struct loader *ld, enum key k, struct conf_addr *a,
    char *params)
{
	char *p, *save = NULL, *eq;
	uint64_t v;
	unsigned ms;

	for (p = strtok_r(params, " \t", &save); p != NULL;
	    p = strtok_r(NULL, " \t", &save)) {
		eq = strchr(p, '=');
		if (strcmp(p, "backup") == 0) {
			a->backup = 1;
			continue;
		}
		if (eq == NULL)
			goto bad;
		*eq++ = '\0';
		if (strcmp(p, "weight") == 0) {
			if (parse_number(eq, &v) == -1 || v < 1 || v > 1000) {
				lerr(ld, ld->line, k, "weight=%s: use 1 to 1000", eq);
				return -1;
			}
			a->weight = (unsigned)v;
		} else if (strcmp(p, "max_fails") == 0) {
			if (parse_number(eq, &v) == -1 || v > 1000) {
				lerr(ld, ld->line, k, "max_fails=%s: use 0 to 1000",
				    eq);
				return -1;
			}
			a->max_fails = (unsigned)v;
		} else if (strcmp(p, "fail_timeout") == 0) {
			if (conf_parse_duration(eq, &ms) == -1 || ms == 0) {
				lerr(ld, ld->line, k, "fail_timeout=%s: use a "
				    "duration such as 10s", eq);
				return -1;
			}
			a->fail_timeout = ms;
		} else {
			eq[-1] = '=';
			goto bad;
		}
	}
	return 0;
bad:
	lerr(ld, ld->line, k, "unknown parameter \"%s\" (weight=N, max_fails=N, "
	    "fail_timeout=DURATION, backup)", p);
	return -1;
}

static void
set_addr(struct loader *ld, enum key k, const char *value)
{
	struct conf_addr a, *list;
	const char *why;
	char addr[512], pbuf[CONF_LINE_MAX + 1], *params = NULL;
	size_t alen = strcspn(value, " \t");
	int *n, i;

	if (alen >= sizeof(addr)) {
		lerr(ld, ld->line, k, "invalid address \"%s\": too long", value);
		return;
	}
	memcpy(addr, value, alen);
	addr[alen] = '\0';
	if (value[alen] != '\0') {
		snprintf(pbuf, sizeof(pbuf), "%s", value + alen);
		params = pbuf;
	}
	if (parse_addr(addr, &a, &why) == -1) {
		lerr(ld, ld->line, k, "invalid address \"%s\": %s", addr, why);
		return;
	}
	a.line = ld->line;
	a.weight = 1;
	a.max_fails = 1;
	a.fail_timeout = 10 * 1000;
	a.backup = 0;
	if (params != NULL && k == K_LISTEN) {
		lerr(ld, ld->line, k, "\"%s\": listen takes an address only",
		    value);
		return;
	}
	if (params != NULL && set_upstream_params(ld, k, &a, params) != 0)
		return;
	if (k == K_LISTEN) {
		list = ld->c.listen;
		n = &ld->c.nlisten;
	} else {
		list = ld->c.upstream;
		n = &ld->c.nupstream;
		if (strcmp(a.host, "*") == 0) {
			lerr(ld, ld->line, k, "\"*\" only makes sense for "
			    "listen: name the upstream's host");
			return;
		}
	}
	for (i = 0; i < *n; i++) {
		if (strcmp(list[i].host, a.host) == 0 &&
		    list[i].port == a.port) {
			lerr(ld, ld->line, k, "\"%s\" is already given on "
			    "line %d", value, list[i].line);
			return;
		}
	}
	if (*n == CONF_MAX_ADDRS) {
		lerr(ld, ld->line, k, "too many (at most %d)", CONF_MAX_ADDRS);
		return;
	}
	list[(*n)++] = a;
}

/* [admin] listen: one address, never one the proxy listens on (checked
 * with the whole file, check_admin). */
static void
set_admin(struct loader *ld, const char *value)
{
	const char *why;

	if (parse_addr(value, &ld->c.admin, &why) == -1) {
		lerr(ld, ld->line, K_ADMIN_LISTEN, "invalid address \"%s\": %s",
		    value, why);
		return;
	}
	ld->c.admin.line = ld->line;
	ld->c.admin_on = 1;
}

/*
 * The admin listener must not share a port with a proxy listener on the
 * same address, "*" overlapping every address: its /metrics would be
 * served to the proxy's clients, or the bind would fail.
 */
static void
check_admin(struct loader *ld)
{
	const struct conf *c = &ld->c;
	int i;

	if (!c->admin_on)
		return;
	for (i = 0; i < c->nlisten; i++) {
		const struct conf_addr *l = &c->listen[i];

		if (l->port == c->admin.port && (strcmp(l->host, c->admin.host) == 0 ||
		    strcmp(l->host, "*") == 0 || strcmp(c->admin.host, "*") == 0))
			lerr(ld, c->admin.line, K_ADMIN_LISTEN, "%s:%u is also a "
			    "proxy listen address (line %d): the admin listener "
			    "needs an address of its own", c->admin.host,
			    c->admin.port, l->line);
	}
}

/* trusted_proxies: every prefix of the list, each error reported. */
static void
set_trusted(struct loader *ld, const char *value)
{
	struct conf_cidr p;
	const char *s = value, *e, *why;
	int i;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		if (parse_cidr(s, (size_t)(e - s), &p, &why) == -1) {
			lerr(ld, ld->line, K_TRUSTED_PROXIES, "invalid prefix "
			    "\"%.*s\": %s", (int)(e - s), s, why);
		} else if (ld->c.ntrusted == CONF_MAX_TRUSTED) {
			lerr(ld, ld->line, K_TRUSTED_PROXIES, "too many "
			    "prefixes (at most %d)", CONF_MAX_TRUSTED);
			return;
		} else {
			for (i = 0; i < ld->c.ntrusted; i++)
				if (memcmp(&ld->c.trusted[i], &p, sizeof(p)) == 0)
					break;
			if (i < ld->c.ntrusted)
				lerr(ld, ld->line, K_TRUSTED_PROXIES, "\"%.*s\" "
				    "is given twice", (int)(e - s), s);
			else
				ld->c.trusted[ld->c.ntrusted++] = p;
		}
		s = e;
	}
}

/*
 * user = NAME [GROUP]: both must exist now (the names are looked up when
 * the conf is loaded, so that -t tells of a typo). Without GROUP, the
 * user's primary group.
 */
static void
set_user(struct loader *ld, const char *value)
{
	char name[256], group[256], extra[2];
	struct passwd *pw;
	struct group *gr;
	int n;

	n = sscanf(value, "%255s %255s %1s", name, group, extra);
	if (n < 1 || n > 2) {
		lerr(ld, ld->line, K_USER, "expected a user name and "
		    "optionally a group name");
		return;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		lerr(ld, ld->line, K_USER, "unknown user \"%s\"", name);
		return;
	}
	ld->c.uid = pw->pw_uid;
	ld->c.gid = pw->pw_gid;
	if (n == 2) {
		if ((gr = getgrnam(group)) == NULL) {
			lerr(ld, ld->line, K_USER, "unknown group \"%s\"",
			    group);
			return;
		}
		ld->c.gid = gr->gr_gid;
	} else if ((gr = getgrgid(pw->pw_gid)) != NULL) {
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	} else {
		snprintf(group, sizeof(group), "%u", (unsigned)pw->pw_gid);
	}
	if ((ld->c.user = strdup(name)) == NULL ||
	    (ld->c.group = strdup(group)) == NULL) {
		lerr(ld, ld->line, K_USER, "out of memory");
		return;
	}
	ld->c.user_line = ld->line;
}

/* [preload] ports: space separated port numbers, each once. */
static void
set_ports(struct loader *ld, const char *value)
{
	const struct keydef *kd = &keys[K_PRELOAD_PORTS];
	const char *p = value;
	char word[16];
	uint64_t v;
	size_t len;
	int i;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (len >= sizeof(word) || (memcpy(word, p, len), word[len] = '\0',
		    parse_number(word, &v)) == -1 || v < kd->min || v > kd->max) {
			lerr(ld, ld->line, K_PRELOAD_PORTS, "invalid port \"%.*s\" "
			    "(use numbers from 1 to 65535)", (int)len, p);
			return;
		}
		for (i = 0; i < ld->c.npreload_ports; i++)
			if (ld->c.preload_ports[i] == v)
				break;
		if (i < ld->c.npreload_ports) {
			lerr(ld, ld->line, K_PRELOAD_PORTS, "port %s is listed "
			    "twice", word);
			return;
		}
		if (ld->c.npreload_ports == CONF_MAX_PORTS) {
			lerr(ld, ld->line, K_PRELOAD_PORTS, "more than %d ports",
			    CONF_MAX_PORTS);
			return;
		}
		ld->c.preload_ports[ld->c.npreload_ports++] = (uint16_t)v;
		p += len;
	}
	if (ld->c.npreload_ports == 0)
		lerr(ld, ld->line, K_PRELOAD_PORTS, "empty value (leave the key "
		    "out to guard every port)");
}

/* Check `value` for key k and store it; report what is wrong with it. */
static void
set(struct loader *ld, enum key k, const char *value)
{
	const struct keydef *kd = &keys[k];
	char lo[32], hi[32];
	uint64_t v = 0;
	size_t bad;
	unsigned ms;
	int r;

	switch (kd->type) {
	case T_ADDR:
		set_addr(ld, k, value);
		return;
	case T_ADMIN_ADDR:
		set_admin(ld, value);
		return;
	case T_CIDRS:
		set_trusted(ld, value);
		return;
	case T_PORTS:
		set_ports(ld, value);
		return;
	case T_USER:
		set_user(ld, value);
		return;
	case T_WORKERS:
		if (strcmp(value, "auto") == 0) {
			store(&ld->c, k, 0);
			return;
		}
		/* FALLTHROUGH */
	case T_NUMBER:
		if (parse_number(value, &v) == -1) {
			lerr(ld, ld->line, k, "invalid number \"%s\"%s", value,
			    kd->type == T_WORKERS ? " (use a number or auto)" :
			    "");
			return;
		}
		if (v < kd->min || v > kd->max) {
			lerr(ld, ld->line, k, "%s is out of range (%" PRIu64
			    " .. %" PRIu64 ")", value, kd->min, kd->max);
			return;
		}
		break;
	case T_SIZE:
		if (conf_parse_size(value, &v) == -1) {
			lerr(ld, ld->line, k, "invalid size \"%s\" (use digits "
			    "with an optional k, m or g)", value);
			return;
		}
		if (v < kd->min || v > kd->max) {
			lerr(ld, ld->line, k, "%s is out of range (%s .. %s)",
			    value, fmt_size(lo, sizeof(lo), kd->min),
			    fmt_size(hi, sizeof(hi), kd->max));
			return;
		}
		break;
	case T_DURATION:
		if (conf_parse_duration(value, &ms) == -1) {
			lerr(ld, ld->line, k, "invalid duration \"%s\" (use ms, "
			    "s or m)", value);
			return;
		}
		if (ms < kd->min) {
			lerr(ld, ld->line, k, "must be more than 0");
			return;
		}
		v = ms;
		break;
	case T_BOOL:
		if (parse_bool(value, &v) == -1) {
			lerr(ld, ld->line, k, "invalid boolean \"%s\" (use on "
			    "or off)", value);
			return;
		}
		break;
	case T_MODE:
		if ((r = word_index(value, modes, NWORDS(modes))) < 0) {
			lerr(ld, ld->line, k, "invalid mode \"%s\" (use "
			    "enforce or monitor)", value);
			return;
		}
		v = (uint64_t)r;
		break;
	case T_CHUNKED:
		if ((r = word_index(value, chunked_words,
		    NWORDS(chunked_words))) < 0) {
			lerr(ld, ld->line, k, "invalid value \"%s\" (use "
			    "reject or buffer)", value);
			return;
		}
		v = (uint64_t)r;
		break;
	case T_METHODS:
		if (value[strspn(value, " \t")] != '\0' &&
		    framing_policy_methods(value, &v, &bad) == -1) {
			if (bad > strlen(value))
				bad = 0;
			lerr(ld, ld->line, k, "unknown method \"%.*s\"",
			    (int)strcspn(value + bad, " \t"), value + bad);
			return;
		}
		break;
	case T_BODY_METHODS:
		if ((r = framing_policy_body_methods(value, &v, &bad)) != 0) {
			if (bad > strlen(value))
				bad = 0;
			lerr(ld, ld->line, k, r == -1 ? "unknown method \"%.*s\"" :
			    "\"%.*s\" is not a method without a body (only GET, "
			    "HEAD, OPTIONS, TRACE and DELETE may be listed)",
			    (int)strcspn(value + bad, " \t"), value + bad);
			return;
		}
		break;
	case T_UNDERSCORES:
		if ((r = word_index(value, underscores, NWORDS(underscores))) < 0) {
			lerr(ld, ld->line, k, "invalid value \"%s\" (use drop, "
			    "reject or pass)", value);
			return;
		}
		v = (uint64_t)r;
		break;
	case T_LOG_FORMAT:
		if ((r = word_index(value, log_formats, NWORDS(log_formats))) < 0) {
			lerr(ld, ld->line, k, "invalid format \"%s\" (use combined "
			    "or json)", value);
			return;
		}
		v = (uint64_t)r;
		break;
	case T_LEVEL:
		if ((r = word_index(value, levels, NWORDS(levels))) < 0) {
			lerr(ld, ld->line, k, "invalid level \"%s\" (use error, "
			    "warn, info or debug)", value);
			return;
		}
		v = (uint64_t)r;
		break;
	case T_LOG:
		if (k == K_ERROR_LOG && strcmp(value, "off") == 0) {
			lerr(ld, ld->line, k, "the error log cannot be off "
			    "(use stderr, syslog or a file)");
			return;
		}
		if (k == K_PRELOAD_LOG && strcmp(value, "stderr") == 0) {
			lerr(ld, ld->line, k, "stderr is the application's "
			    "(an inetd-style server's may be its socket): use "
			    "off, syslog or a file");
			return;
		}
		if (k == K_ACCESS_LOG && strcmp(value, "syslog") == 0) {
			lerr(ld, ld->line, k, "syslog is for the error log "
			    "only (use stderr, off or a file; ./syslog names "
			    "a file)");
			return;
		}
		/* FALLTHROUGH */
	case T_PATH:
		if (*value == '\0') {
			lerr(ld, ld->line, k, "empty value");
			return;
		}
		if ((ld->raw[k] = strdup(value)) == NULL)
			lerr(ld, ld->line, k, "out of memory");
		return;
	}
	store(&ld->c, k, v);
}

/* The inih handler: called right after the reader returned the line. */
static int
handler(void *arg, const char *section, const char *name, const char *value)
{
	struct loader *ld = arg;
	int k, s;

	if (ld->skip)
		return 1;
	if (*section == '\0') {
		lerr(ld, ld->line, K_NONE, "%s: key outside of any [section]",
		    name);
		return 1;
	}
	for (s = 0; s < S_COUNT; s++)
		if (strcmp(section, sections[s]) == 0)
			break;
	for (k = 0; k < K_COUNT; k++)
		if ((int)keys[k].section == s && strcmp(name, keys[k].name) == 0)
			break;
	if (k == K_COUNT) {
		for (k = 0; k < K_COUNT; k++)
			if (strcmp(name, keys[k].name) == 0)
				break;
		if (k < K_COUNT)
			lerr(ld, ld->line, K_NONE, "[%s] %s: unknown key (it "
			    "belongs in [%s])", section, name,
			    sections[keys[k].section]);
		else
			lerr(ld, ld->line, K_NONE, "[%s] %s: unknown key",
			    section, name);
		return 1;
	}
	if (keys[k].type != T_ADDR && ld->where[k] != 0) {
		lerr(ld, ld->line, k, "duplicate key (first set on line %d)",
		    ld->where[k]);
		return 1;
	}
	ld->where[k] = ld->line;
	set(ld, k, value);
	return 1;
}

/*
 * The end of a line's text: its first inline comment, a comment character
 * right after a blank (elsewhere "#" and ";" are text), or else its NUL.
 * s is the line's first non-blank byte.
 */
static const char *
text_end(const char *s)
{
	const char *p = s;

	for (;;) {
		p += strcspn(p, COMMENT_CHARS);
		if (*p == '\0' || (p > s && isspace((unsigned char)p[-1])))
			return p;
		p++;
	}
}

/*
 * A section header, s at its "[" and end from text_end(): the name runs to
 * the first "]" before any comment and must be one of ours; only blanks or
 * a comment may follow. Until a header is good, the keys under it are
 * ignored (ld->skip). 0, or -1 when reported.
 */
static int
check_section(struct loader *ld, const char *s, const char *end)
{
	const char *name = s + 1, *bracket, *after;
	size_t len;
	int i;

	ld->skip = 1;
	bracket = memchr(name, ']', (size_t)(end - name));
	if (bracket == NULL) {
		lerr(ld, ld->line, K_NONE, "malformed section header "
		    "(missing \"]\")");
		return -1;
	}
	after = bracket + 1;
	while (isspace((unsigned char)*after))
		after++;
	if (*after != '\0' && strchr(COMMENT_CHARS, *after) == NULL) {
		lerr(ld, ld->line, K_NONE, "malformed section header "
		    "(text after \"]\")");
		return -1;
	}
	len = (size_t)(bracket - name);
	for (i = 0; i < S_COUNT; i++) {
		if (strncmp(sections[i], name, len) == 0 &&
		    sections[i][len] == '\0') {
			ld->skip = 0;
			return 0;
		}
	}
	lerr(ld, ld->line, K_NONE, "unknown section [%.*s]", (int)len, name);
	return -1;
}

/*
 * Check the syntax of one line (NUL-terminated, no line end) by the rules
 * inih follows with the options of set_inih_options(): blank, a comment,
 * a [section], or a key ended by "=" (a ":" first would end the key for
 * inih, and we do not take "key: value"). Returns 0 if inih may have the
 * line, -1 (reported) if not.
 */
static int
check_line(struct loader *ld, const char *s)
{
	const char *end;
	size_t keylen;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || strchr(COMMENT_CHARS, *s) != NULL)
		return 0;
	end = text_end(s);
	if (*s == '[')
		return check_section(ld, s, end);
	keylen = strcspn(s, "=:");
	if (s + keylen >= end || s[keylen] == ':') {
		lerr(ld, ld->line, K_NONE, "malformed line (expected "
		    "\"key = value\", \"[section]\" or a comment)");
		return -1;
	}
	if (keylen == 0) {
		lerr(ld, ld->line, K_NONE, "malformed line (no key before "
		    "\"=\")");
		return -1;
	}
	return 0;
}

/*
 * The inih reader, an fgets() that counts lines, strips a CR before the LF,
 * and hands inih a blank line in place of one it must not see (reported
 * here). NULL at the end of the file or on a read error (kept in read_errno).
 */
static char *
reader(char *buf, int size, void *arg)
{
	struct loader *ld = arg;
	size_t len = 0, max;
	const char *s;
	int ch, nul = 0;

	if (size < 3)
		return NULL;
	max = (size_t)size - 3;
	if (max > CONF_LINE_MAX)
		max = CONF_LINE_MAX;
	while ((ch = getc(ld->in)) != EOF && ch != '\n') {
		if (ch == '\0')
			nul = 1;
		if (len <= max + 1)
			buf[len] = (char)ch;
		len++;
	}
	if (ch == EOF && ferror(ld->in)) {
		ld->read_errno = errno;
		return NULL;
	}
	if (ch == EOF && len == 0)
		return NULL;
	ld->line++;
	if (len > 0 && len <= max + 1 && buf[len - 1] == '\r')
		len--;			/* CRLF */
	if (len > max) {
		lerr(ld, ld->line, K_NONE, "line too long (more than %zu "
		    "bytes)", max);
		goto blank;
	}
	if (nul) {
		lerr(ld, ld->line, K_NONE, "NUL byte in line");
		goto blank;
	}
	buf[len] = '\0';
	s = buf;
	if (ld->line == 1 && strncmp(s, LIT("\xEF\xBB\xBF")) == 0)
		s += LITLEN("\xEF\xBB\xBF");	/* inih skips the BOM too */
	if (check_line(ld, s) == -1)
		goto blank;
	buf[len] = '\n';
	buf[len + 1] = '\0';
	return buf;
blank:
	strcpy(buf, "\n");
	return buf;
}

static char *
path_join(const char *dir, const char *name)
{
	size_t dlen = strlen(dir), nlen = strlen(name);
	char *p;

	if (*name == '/')
		return strdup(name);
	if (dlen > 0 && dir[dlen - 1] == '/')
		dlen--;
	if ((p = malloc(dlen + 1 + nlen + 1)) == NULL)
		return NULL;
	memcpy(p, dir, dlen);
	p[dlen] = '/';
	memcpy(p + dlen + 1, name, nlen + 1);
	return p;
}

/* The conf's directory, absolute and resolved; NULL with errno set. */
static char *
conf_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	if (slash == NULL)
		return realpath(".", NULL);
	if (slash == path)
		return realpath("/", NULL);
	if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
		return NULL;
	abs = realpath(dir, NULL);
	free(dir);
	return abs;
}

/* [pages] dir or [proxy] temp_dir (def when not given), resolved against
 * the conf's directory: must be a directory. */
static void
check_dir(struct loader *ld, enum key k, const char *dir, const char *def,
    char **out)
{
	const char *raw = ld->raw[k];
	int line = ld->where[k];
	struct stat st;
	char *abs;

	if (raw == NULL) {
		if (line != 0)
			return;		/* given, but invalid: reported */
		raw = def;
	}
	if ((abs = path_join(dir, raw)) == NULL) {
		lerr(ld, line, k, "out of memory");
		return;
	}
	if (stat(abs, &st) == -1)
		lerr(ld, line, k, "\"%s\": %s", abs, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		lerr(ld, line, k, "\"%s\" is not a directory", abs);
	else if ((*out = realpath(abs, NULL)) == NULL)
		lerr(ld, line, k, "\"%s\": %s", abs, strerror(errno));
	free(abs);
}

/*
 * A log key: "stderr", "off" (NULL), "syslog" (the error log) or a file
 * whose directory must exist; the pidfile is such a file too.
 * The file is stored as the resolved directory plus the file's name.
 */
static void
check_log(struct loader *ld, enum key k, const char *dir, char **out)
{
	const char *raw = ld->raw[k], *base;
	int line = ld->where[k];
	char *abs = NULL, *parent = NULL, *real = NULL;
	struct stat st;
	size_t plen;

	if (raw == NULL) {
		if (line != 0)
			return;		/* given, but invalid: reported */
		raw = k == K_PRELOAD_LOG ? "off" : "stderr";
	}
	if (k != K_PIDFILE && strcmp(raw, "off") == 0)
		return;
	if ((k != K_PIDFILE && strcmp(raw, "stderr") == 0) ||
	    ((k == K_ERROR_LOG || k == K_PRELOAD_LOG) &&
	    strcmp(raw, "syslog") == 0)) {
		if ((*out = strdup(raw)) == NULL)
			lerr(ld, line, k, "out of memory");
		return;
	}
	if ((abs = path_join(dir, raw)) == NULL) {
		lerr(ld, line, k, "out of memory");
		goto fail;
	}
	base = strrchr(abs, '/') + 1;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		lerr(ld, line, k, "\"%s\" is not a file name", raw);
		goto fail;
	}
	plen = (size_t)(base - abs) - 1;
	if ((parent = strndup(abs, plen == 0 ? 1 : plen)) == NULL) {
		lerr(ld, line, k, "out of memory");
		goto fail;
	}
	if (stat(parent, &st) == -1) {
		lerr(ld, line, k, "directory \"%s\": %s", parent,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		lerr(ld, line, k, "\"%s\" is not a directory", parent);
		goto fail;
	}
	if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode)) {
		lerr(ld, line, k, "\"%s\" is a directory", abs);
		goto fail;
	}
	if ((real = realpath(parent, NULL)) == NULL) {
		lerr(ld, line, k, "directory \"%s\": %s", parent,
		    strerror(errno));
		goto fail;
	}
	if ((*out = path_join(real, base)) == NULL)
		lerr(ld, line, k, "out of memory");
fail:
	free(real);
	free(parent);
	free(abs);
}

/* The checks that need the whole file. */
static void
check_all(struct loader *ld, const char *dir)
{
	struct conf *c = &ld->c;
	char a[32], b[32];
	int line;

	if (c->nlisten == 0 && ld->where[K_LISTEN] == 0 && !ld->preload)
		lerr(ld, 0, K_LISTEN, "missing (at least one address to "
		    "listen on is required)");
	if (c->nupstream == 0 && ld->where[K_UPSTREAM] == 0 && !ld->preload)
		lerr(ld, 0, K_UPSTREAM, "missing (at least one upstream "
		    "is required)");
	if (c->policy.max_request_line > c->policy.max_head_size) {
		line = ld->where[K_MAX_REQUEST_LINE];
		if (line == 0)
			line = ld->where[K_MAX_HEADER_SIZE];
		lerr(ld, line, K_MAX_REQUEST_LINE, "%s%s is more than "
		    "max_header_size (%s)",
		    fmt_size(a, sizeof(a), c->policy.max_request_line),
		    ld->where[K_MAX_REQUEST_LINE] ? "" : " (the default)",
		    fmt_size(b, sizeof(b), c->policy.max_head_size));
	}
	check_dir(ld, K_PAGES_DIR, dir, "../pages", &c->pages_dir);
	check_dir(ld, K_TEMP_DIR, dir, "/var/tmp", &c->temp_dir);
	c->temp_dir_line = ld->where[K_TEMP_DIR];
	check_admin(ld);
	check_log(ld, K_ACCESS_LOG, dir, &c->access_log);
	check_log(ld, K_ERROR_LOG, dir, &c->error_log);
	check_log(ld, K_PRELOAD_LOG, dir, &c->preload_log);
	c->access_log_line = ld->where[K_ACCESS_LOG];
	c->error_log_line = ld->where[K_ERROR_LOG];
	if (ld->raw[K_PIDFILE] != NULL) {
		check_log(ld, K_PIDFILE, dir, &c->pidfile);
		c->pidfile_line = ld->where[K_PIDFILE];
	}
}

static void
set_defaults(struct conf *c)
{
	framing_policy_default(&c->policy);
	c->workers = 1;
	c->max_connections = 10000;
	c->upstream_pool_size = 32;
	c->client_header_timeout = 10 * 1000;
	c->client_body_timeout = 60 * 1000;
	c->client_body_total_timeout = 10 * 60 * 1000;
	c->keepalive_timeout = 60 * 1000;
	c->upstream_send_timeout = 60 * 1000;
	c->upstream_connect_timeout = 5 * 1000;
	c->upstream_response_timeout = 60 * 1000;
	c->upstream_keepalive_timeout = 4 * 1000;
	c->linger_timeout = 2 * 1000;
	c->shutdown_timeout = 30 * 1000;
	c->log_level = CONF_LOG_INFO;
	c->server_header = 1;
	c->request_buffering = 1;
	c->body_buffer_size = 16 * 1024;
	c->buffer_memory = 64ull * 1024 * 1024;
}

/* inih's options are process-wide: set all of those we depend on. */
static void
set_inih_options(void)
{
	static char comments[] = COMMENT_CHARS;

	ini_allow_multiline = false;
	ini_allow_bom = true;
	ini_start_comment_prefixes = comments;
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = comments;
	ini_use_stack = true;
	ini_max_line = CONF_LINE_MAX + 3;	/* room for "\r\n" and NUL */
	ini_allow_realloc = false;
	ini_stop_on_first_error = false;
	ini_allow_no_value = false;
}

/*
 * See conf.h. errs may be NULL (errors are then only counted). Not
 * thread-safe: inih's options are process globals, set on every call.
 */
static int
load(const char *path, struct conf *out, FILE *errs, int preload)
{
	struct loader ld;
	struct stat st;
	const char *base;
	char *dir = NULL;
	int k, r, rv = -1;

	memset(out, 0, sizeof(*out));
	memset(&ld, 0, sizeof(ld));
	ld.file = path;
	ld.errs = errs;
	ld.preload = preload;
	set_defaults(&ld.c);

	if ((ld.in = fopen(path, "r")) == NULL) {
		lerr(&ld, 0, K_NONE, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (fstat(fileno(ld.in), &st) == 0 && S_ISDIR(st.st_mode)) {
		lerr(&ld, 0, K_NONE, "cannot open: %s", strerror(EISDIR));
		goto fail;
	}
	if ((dir = conf_dir(path)) == NULL) {
		lerr(&ld, 0, K_NONE, "cannot find the file's directory: %s",
		    strerror(errno));
		goto fail;
	}

	set_inih_options();
	r = ini_parse_stream(reader, &ld, handler, &ld);
	if (ld.read_errno != 0)
		lerr(&ld, ld.line, K_NONE, "read error: %s",
		    strerror(ld.read_errno));
	else if (r == -2)
		lerr(&ld, ld.line, K_NONE, "out of memory");
	else if (r != 0 && ld.nerr == 0)
		lerr(&ld, r, K_NONE, "syntax error");

	check_all(&ld, dir);
	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	if ((ld.c.path = path_join(dir, base)) == NULL)
		lerr(&ld, 0, K_NONE, "out of memory");
	if (ld.nerr > 0)
		goto fail;

	*out = ld.c;
	memset(&ld.c, 0, sizeof(ld.c));
	rv = 0;
fail:
	conf_free(&ld.c);
	for (k = 0; k < K_COUNT; k++)
		free(ld.raw[k]);
	free(dir);
	if (ld.in != NULL)
		fclose(ld.in);
	return rv;
}

int
conf_load(const char *path, struct conf *out, FILE *errs)
{
	return load(path, out, errs, 0);
}

int
conf_load_preload(const char *path, struct conf *out, FILE *errs)
{
	return load(path, out, errs, 1);
}

/* Free what conf_load() allocated; *c is zeroed, so a second call is a no-op. */
void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->pages_dir);
	free(c->temp_dir);
	free(c->access_log);
	free(c->error_log);
	free(c->preload_log);
	free(c->pidfile);
	free(c->user);
	free(c->group);
	memset(c, 0, sizeof(*c));
}
