/*
 * conf.h - lengthguard's configuration file.
 *
 * The file is INI (parsed with inih). conf_load() reads it whole, reports
 * every problem it finds as "file:line: message" and returns -1 if there was
 * any; a struct conf is then either fully valid or not returned at all.
 * Relative paths are resolved against the directory of the conf file.
 * Sizes take k/m/g suffixes (powers of 1024), durations ms/s/m.
 *
 * Only main() and conf loading may exit; conf_load itself never does.
 */
#ifndef LG_CONF_H
#define LG_CONF_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>

#include "framing.h"

#define CONF_MAX_ADDRS 16
#define CONF_MAX_TRUSTED 64
#define CONF_MAX_PORTS 64

/* An address prefix of trusted_proxies: "10.0.0.0/8", "::1/128". */
struct conf_cidr {
	int      family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network order; AF_INET uses 4 bytes,
					   with every bit after `bits` clear */
	unsigned bits;			/* 0..32 or 0..128 */
};

/* A parsed "host:port" or "[v6]:port". host is a numeric address or a name. */
struct conf_addr {
	char     host[256];
	uint16_t port;
	int      line;			/* where it was configured */
	/* upstreams only, after the address (nginx's names): */
	unsigned weight;		/* weight=N, 1..1000; default 1 */
	unsigned max_fails;		/* max_fails=N: failures within
					   fail_timeout that take it out of
					   use for fail_timeout; 0 = never;
					   default 1 */
	unsigned fail_timeout;		/* fail_timeout=DURATION, ms; 10s */
	int      backup;		/* backup: used only when every other
					   upstream is out of use */
};

enum conf_log_level {
	CONF_LOG_ERROR = 0,
	CONF_LOG_WARN,
	CONF_LOG_INFO,
	CONF_LOG_DEBUG,
};

/* [log] format: the access log's lines. */
enum conf_log_format {
	CONF_LOG_COMBINED = 0,		/* Combined Log Format, then rt= ... */
	CONF_LOG_JSON,			/* one JSON object per line */
};

struct conf {
	char   *path;			/* absolute path of the conf file */

	/* [proxy] */
	struct conf_addr listen[CONF_MAX_ADDRS];
	int      nlisten;
	struct conf_addr upstream[CONF_MAX_ADDRS];
	int      nupstream;
	int      workers;		/* threads; 0 = auto (one per CPU) */
	unsigned max_connections;	/* per worker */
	unsigned upstream_pool_size;	/* idle connections kept per upstream per worker */
	struct conf_cidr trusted[CONF_MAX_TRUSTED];	/* trusted_proxies */
	int      ntrusted;
	char   *pidfile;		/* absolute, or NULL: none */
	int      pidfile_line;
	char   *user;			/* user = NAME [GROUP]; NULL: not set */
	char   *group;			/* its group's name */
	uid_t    uid;			/* of user (looked up when loaded) */
	gid_t    gid;			/* of group, or user's primary group */
	int      user_line;
	int      server_header;		/* Server: lengthguard on own replies */
	int      request_buffering;	/* a body is received whole before an
					   upstream connection is taken */
	char   *temp_dir;		/* absolute: bodies over body_buffer_size */
	int      temp_dir_line;		/* where it was set; 0: the default */

	/* [limits] of request buffering (the rest are the core's) */
	size_t   body_buffer_size;	/* per request, in memory; larger bodies
					   go to a temporary file */
	uint64_t buffer_memory;		/* per worker: bodies in memory, at most
					   (0: every body in a file) */

	/* [policy] and [limits]: handed to the core as is */
	struct framing_policy policy;

	/* [timeouts], in milliseconds */
	unsigned client_header_timeout;
	unsigned client_body_timeout;		/* longest pause in a body */
	unsigned client_body_total_timeout;	/* the whole body */
	unsigned keepalive_timeout;
	unsigned upstream_connect_timeout;
	unsigned upstream_send_timeout;		/* longest pause in sending */
	unsigned upstream_response_timeout;
	unsigned upstream_keepalive_timeout;	/* idle pooled upstream connections */
	unsigned linger_timeout;
	unsigned shutdown_timeout;

	/* [pages] */
	char   *pages_dir;		/* absolute */

	/* [log]: NULL = off, "stderr" = stderr, "syslog" (error log only),
	 * otherwise an absolute path */
	char   *access_log;
	char   *error_log;
	int      access_log_line, error_log_line;	/* 0: the default */
	enum conf_log_level log_level;
	enum conf_log_format log_format;

	/* [admin]: /metrics, /healthz, /status; admin_on 0: off (the
	 * default). Read at start only: a change needs a restart. */
	struct conf_addr admin;
	int      admin_on;

	/* [preload]: the LD_PRELOAD library's own keys */
	uint16_t preload_ports[CONF_MAX_PORTS];	/* guarded local ports */
	int      npreload_ports;		/* 0: every port */
	char   *preload_log;		/* refusals: NULL = off, "syslog",
					   or an absolute path */
	int      preload_inetd;		/* guard an inherited fd 0 */
};

/*
 * Load and validate `path` into *out (which the caller owns and later frees
 * with conf_free). Every error is printed to `errs` as "file:line: message"
 * (line 0 when the error is about the file as a whole). Returns 0 when the
 * configuration is valid, -1 otherwise; on -1 *out holds nothing to free.
 */
int  conf_load(const char *path, struct conf *out, FILE *errs);
/* The same for the LD_PRELOAD library and lengthguard-run: [proxy] listen
 * and upstream, which it does not use, are not required. */
int  conf_load_preload(const char *path, struct conf *out, FILE *errs);
void conf_free(struct conf *);

/*
 * Value parsers, exposed for the tests. Each returns 0 and stores the value,
 * or -1 if `s` is not a valid value.
 *   size:     "1234", "8k", "10m", "1g" (1024-based; k/K etc.)
 *   duration: "250ms", "10s", "2m"; a bare number is seconds
 *   addr:     "127.0.0.1:8080", "localhost:80", "[::1]:8080", "*:8080"
 */
int conf_parse_size(const char *s, uint64_t *out);
int conf_parse_duration(const char *s, unsigned *out_ms);
int conf_parse_addr(const char *s, struct conf_addr *out);

/*
 *   cidr:     "10.0.0.0/8", "::1/128", or an address alone (all its bits);
 *             no bit may be set after the prefix length
 */
int conf_parse_cidr(const char *s, struct conf_cidr *out);

/*
 * Is `peer` (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * its IPv4 address too) in one of the conf's trusted_proxies? 1 or 0; 0
 * for any other family. This is what a front end puts in
 * framing_peer.trusted for a client connection.
 */
int conf_trusted(const struct conf *, const struct sockaddr *peer);

#endif /* LG_CONF_H */
