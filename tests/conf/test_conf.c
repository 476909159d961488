/*
 * test_conf.c - the configuration module.
 *
 * usage: test_conf SHIPPED.conf BAD_DIR
 *
 * (a) the value parsers, table-driven;
 * (b) the shipped conf loads and holds the documented values;
 * (c) every BAD_DIR/NAME.conf fails to load, reporting exactly the errors
 *     its leading "# expect: " lines announce (one line each; " ... " in an
 *     expectation matches any text, e.g. an absolute path);
 * (d) confs written to a temporary directory: defaults, relative paths,
 *     syntax corners.
 */
#define _XOPEN_SOURCE 700

#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llhttp.h>

#include "../check.h"
#include "conf.h"

#define MAX_EXPECT	16
#define POST_PUT_PATCH	(1ull << HTTP_POST | 1ull << HTTP_PUT | 1ull << HTTP_PATCH)

static const struct {
	const char *s;
	int ok;
	uint64_t v;
} sizes[] = {
	{ "0", 1, 0 },
	{ "1", 1, 1 },
	{ "1234", 1, 1234 },
	{ "8k", 1, 8192 },
	{ "8K", 1, 8192 },
	{ "10m", 1, 10ull << 20 },
	{ "10M", 1, 10ull << 20 },
	{ "1g", 1, 1ull << 30 },
	{ "1G", 1, 1ull << 30 },
	{ "0k", 1, 0 },
	{ "007", 1, 7 },
	{ "18446744073709551615", 1, UINT64_MAX },
	{ "17179869183g", 1, 17179869183ull << 30 },
	{ "18446744073709551616", 0, 0 },	/* 2^64 */
	{ "99999999999999999999", 0, 0 },
	{ "17179869184g", 0, 0 },		/* 2^34 g = 2^64 */
	{ "18014398509481984k", 0, 0 },		/* 2^54 k = 2^64 */
	{ "", 0, 0 },
	{ "k", 0, 0 },
	{ "-1", 0, 0 },
	{ "+1", 0, 0 },
	{ " 8k", 0, 0 },
	{ "8k ", 0, 0 },
	{ "8 k", 0, 0 },
	{ "8kb", 0, 0 },
	{ "8kk", 0, 0 },
	{ "8t", 0, 0 },
	{ "1.5k", 0, 0 },
	{ "0x10", 0, 0 },
	{ "1e3", 0, 0 },
};

static const struct {
	const char *s;
	int ok;
	unsigned ms;
} durations[] = {
	{ "0", 1, 0 },
	{ "10", 1, 10000 },
	{ "10s", 1, 10000 },
	{ "250ms", 1, 250 },
	{ "0ms", 1, 0 },
	{ "2m", 1, 120000 },
	{ "0s", 1, 0 },
	{ "4294967295ms", 1, 4294967295u },
	{ "4294967s", 1, 4294967000u },
	{ "71582m", 1, 71582u * 60000 },
	{ "4294967296ms", 0, 0 },
	{ "4294968s", 0, 0 },
	{ "4294968", 0, 0 },
	{ "71583m", 0, 0 },
	{ "99999999999999999999999ms", 0, 0 },
	{ "", 0, 0 },
	{ "s", 0, 0 },
	{ "ms", 0, 0 },
	{ "10x", 0, 0 },
	{ "1h", 0, 0 },
	{ "10 s", 0, 0 },
	{ " 10s", 0, 0 },
	{ "10s ", 0, 0 },
	{ "-5s", 0, 0 },
	{ "1.5s", 0, 0 },
	{ "10sec", 0, 0 },
	{ "10mss", 0, 0 },
	{ "10us", 0, 0 },
};

static const struct {
	const char *s;
	int ok;
	const char *host;
	unsigned port;
} addrs[] = {
	{ "127.0.0.1:8080", 1, "127.0.0.1", 8080 },
	{ "localhost:80", 1, "localhost", 80 },
	{ "[::1]:8080", 1, "::1", 8080 },
	{ "[::]:443", 1, "::", 443 },
	{ "[fe80::1:2]:1", 1, "fe80::1:2", 1 },
	{ "*:8080", 1, "*", 8080 },
	{ "0.0.0.0:65535", 1, "0.0.0.0", 65535 },
	{ "origin-1.example.com:8081", 1, "origin-1.example.com", 8081 },
	{ "my_host:1", 1, "my_host", 1 },
	{ "host:00080", 1, "host", 80 },
	{ "127.0.0.1:0", 0, NULL, 0 },
	{ "127.0.0.1:65536", 0, NULL, 0 },
	{ "127.0.0.1:99999999999999999999999", 0, NULL, 0 },
	{ "127.0.0.1:", 0, NULL, 0 },
	{ "127.0.0.1", 0, NULL, 0 },
	{ ":8080", 0, NULL, 0 },
	{ "8080", 0, NULL, 0 },
	{ "", 0, NULL, 0 },
	{ "host:80x", 0, NULL, 0 },
	{ "host: 80", 0, NULL, 0 },
	{ "host:-80", 0, NULL, 0 },
	{ "host:+80", 0, NULL, 0 },
	{ "::1:8080", 0, NULL, 0 },
	{ "[::1]8080", 0, NULL, 0 },
	{ "[::1]", 0, NULL, 0 },
	{ "[::1]:", 0, NULL, 0 },
	{ "[]:80", 0, NULL, 0 },
	{ "[::1:80", 0, NULL, 0 },
	{ "[localhost]:80", 0, NULL, 0 },
	{ "[127.0.0.1]:80", 0, NULL, 0 },
	{ "[*]:80", 0, NULL, 0 },
	{ "ho st:80", 0, NULL, 0 },
	{ "host/x:80", 0, NULL, 0 },
	{ "256.1.1.1:80", 0, NULL, 0 },
	{ "1.2.3:80", 0, NULL, 0 },
	{ "**:80", 0, NULL, 0 },
};

static const struct {
	const char *s;
	int ok;
	int family;
	unsigned bits;
} cidrs[] = {
	{ "127.0.0.1/32", 1, AF_INET, 32 },
	{ "10.0.0.0/8", 1, AF_INET, 8 },
	{ "0.0.0.0/0", 1, AF_INET, 0 },
	{ "192.168.128.0/17", 1, AF_INET, 17 },
	{ "10.0.0.7", 1, AF_INET, 32 },
	{ "10.0.0.0/08", 1, AF_INET, 8 },
	{ "::1/128", 1, AF_INET6, 128 },
	{ "::1", 1, AF_INET6, 128 },
	{ "::/0", 1, AF_INET6, 0 },
	{ "fe80::/10", 1, AF_INET6, 10 },
	{ "2001:db8::/32", 1, AF_INET6, 32 },
	{ "::ffff:10.0.0.0/104", 1, AF_INET6, 104 },
	{ "10.0.0.1/8", 0, 0, 0 },		/* bits after the prefix */
	{ "192.168.129.0/17", 0, 0, 0 },
	{ "fe80::1/10", 0, 0, 0 },
	{ "10.0.0.0/33", 0, 0, 0 },
	{ "::/129", 0, 0, 0 },
	{ "10.0.0.0/", 0, 0, 0 },
	{ "10.0.0.0/-1", 0, 0, 0 },
	{ "10.0.0.0/+8", 0, 0, 0 },
	{ "10.0.0.0/8/8", 0, 0, 0 },
	{ "10.0.0.0/8x", 0, 0, 0 },
	{ "10.0.0.0/99999999999999999999", 0, 0, 0 },
	{ "/8", 0, 0, 0 },
	{ "", 0, 0, 0 },
	{ "10.0.0", 0, 0, 0 },
	{ "256.0.0.0/8", 0, 0, 0 },
	{ "localhost/32", 0, 0, 0 },
	{ "[::1]/128", 0, 0, 0 },
	{ "fe80::1%eth0/128", 0, 0, 0 },
	{ " 10.0.0.0/8", 0, 0, 0 },
};

static void
test_cidr(void)
{
	struct conf_cidr p;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
		r = conf_parse_cidr(cidrs[i].s, &p);
		CHECK(r == (cidrs[i].ok ? 0 : -1), "cidr \"%s\": returned %d",
		    cidrs[i].s, r);
		if (cidrs[i].ok && r == 0)
			CHECK(p.family == cidrs[i].family &&
			    p.bits == cidrs[i].bits, "cidr \"%s\": %d /%u",
			    cidrs[i].s, p.family, p.bits);
	}
}

/* conf_trusted against a few prefixes, IPv4, IPv6 and IPv4-mapped peers. */
static void
test_trusted(void)
{
	static const char *const list[] = {
		"127.0.0.1/32", "10.0.0.0/8", "192.168.128.0/17", "::1",
		"2001:db8:8000::/33",
	};
	static const struct {
		const char *addr;
		int trusted;
	} peers[] = {
		{ "127.0.0.1", 1 }, { "127.0.0.2", 0 }, { "10.255.255.255", 1 },
		{ "11.0.0.0", 0 }, { "9.255.255.255", 0 },
		{ "192.168.128.0", 1 }, { "192.168.255.255", 1 },
		{ "192.168.127.255", 0 }, { "192.169.128.0", 0 },
		{ "::1", 1 }, { "::2", 0 }, { "::", 0 },
		{ "2001:db8:8000::1", 1 }, { "2001:db8:ffff:ffff::", 1 },
		{ "2001:db8:7fff::1", 0 }, { "2001:db9:8000::", 0 },
		{ "::ffff:10.1.2.3", 1 }, { "::ffff:127.0.0.1", 1 },
		{ "::ffff:11.1.2.3", 0 }, { "::10.1.2.3", 0 },
	};
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr sa;
	struct conf c;
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&in4, 0, sizeof(in4));
	in4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
	CHECK(!conf_trusted(&c, (struct sockaddr *)&in4), "trusted: empty list");
	for (i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		CHECK(conf_parse_cidr(list[i], &c.trusted[c.ntrusted++]) == 0,
		    "trusted: %s", list[i]);
	for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		const struct sockaddr *p;

		memset(&in4, 0, sizeof(in4));
		memset(&in6, 0, sizeof(in6));
		if (inet_pton(AF_INET, peers[i].addr, &in4.sin_addr) == 1) {
			in4.sin_family = AF_INET;
			in4.sin_port = htons(80);
			p = (struct sockaddr *)&in4;
		} else {
			CHECK(inet_pton(AF_INET6, peers[i].addr,
			    &in6.sin6_addr) == 1, "trusted: %s", peers[i].addr);
			in6.sin6_family = AF_INET6;
			in6.sin6_port = htons(80);
			p = (struct sockaddr *)&in6;
		}
		CHECK(conf_trusted(&c, p) == peers[i].trusted,
		    "trusted: %s is %strusted", peers[i].addr,
		    peers[i].trusted ? "" : "not ");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	CHECK(!conf_trusted(&c, &sa), "trusted: AF_UNIX never");
	/* everything */
	CHECK(conf_parse_cidr("0.0.0.0/0", &c.trusted[0]) == 0 &&
	    conf_parse_cidr("::/0", &c.trusted[1]) == 0, "trusted: /0");
	c.ntrusted = 1;
	memset(&in4, 0, sizeof(in4));
	in4.sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.9", &in4.sin_addr);
	CHECK(conf_trusted(&c, (struct sockaddr *)&in4), "trusted: 0.0.0.0/0");
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::9", &in6.sin6_addr);
	CHECK(!conf_trusted(&c, (struct sockaddr *)&in6),
	    "trusted: 0.0.0.0/0 is IPv4 only");
	c.ntrusted = 2;
	CHECK(conf_trusted(&c, (struct sockaddr *)&in6), "trusted: ::/0");
}

static void
test_parsers(void)
{
	struct conf_addr a;
	uint64_t v;
	unsigned ms;
	size_t i;
	char big[300];
	int r;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = 12345;
		r = conf_parse_size(sizes[i].s, &v);
		CHECK(r == (sizes[i].ok ? 0 : -1), "size \"%s\": returned %d",
		    sizes[i].s, r);
		if (sizes[i].ok)
			CHECK(v == sizes[i].v, "size \"%s\": %llu", sizes[i].s,
			    (unsigned long long)v);
		else
			CHECK(v == 12345, "size \"%s\": stored on error",
			    sizes[i].s);
	}
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		ms = 12345;
		r = conf_parse_duration(durations[i].s, &ms);
		CHECK(r == (durations[i].ok ? 0 : -1),
		    "duration \"%s\": returned %d", durations[i].s, r);
		if (durations[i].ok)
			CHECK(ms == durations[i].ms, "duration \"%s\": %u",
			    durations[i].s, ms);
		else
			CHECK(ms == 12345, "duration \"%s\": stored on error",
			    durations[i].s);
	}
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		r = conf_parse_addr(addrs[i].s, &a);
		CHECK(r == (addrs[i].ok ? 0 : -1), "addr \"%s\": returned %d",
		    addrs[i].s, r);
		if (addrs[i].ok && r == 0)
			CHECK(strcmp(a.host, addrs[i].host) == 0 &&
			    a.port == addrs[i].port, "addr \"%s\": %s %u",
			    addrs[i].s, a.host, a.port);
	}

	/* host length: 255 fits host[256], 256 does not */
	memset(big, 'a', 255);
	strcpy(big + 255, ":80");
	CHECK(conf_parse_addr(big, &a) == 0 && strlen(a.host) == 255,
	    "255-character host");
	memset(big, 'a', 256);
	strcpy(big + 256, ":80");
	CHECK(conf_parse_addr(big, &a) == -1, "256-character host");
}

/* realpath of dirname(path) + "/" + rel; the caller frees. */
static char *
beside(const char *path, const char *rel)
{
	char buf[4096], *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash == NULL)
		snprintf(buf, sizeof(buf), "./%s", rel);
	else
		snprintf(slash + 1, sizeof(buf) - (size_t)(slash + 1 - buf),
		    "%s", rel);
	return realpath(buf, NULL);
}

static void
test_shipped(const char *path)
{
	struct conf c;
	char *pages, *self;
	char *buf = NULL;
	size_t len = 0;
	FILE *errs;
	int r;

	errs = open_memstream(&buf, &len);
	r = conf_load(path, &c, errs);
	fclose(errs);
	CHECK(r == 0, "shipped conf %s: %s", path, buf);
	CHECK(len == 0, "shipped conf: errors printed: %s", buf);
	free(buf);
	if (r != 0)
		return;

	self = realpath(path, NULL);
	pages = beside(path, "../pages");
	CHECK(self != NULL && strcmp(c.path, self) == 0, "path %s", c.path);
	CHECK(c.path[0] == '/', "path is absolute");
	CHECK(pages != NULL && c.pages_dir != NULL &&
	    strcmp(c.pages_dir, pages) == 0, "pages_dir %s", c.pages_dir);
	free(pages);
	free(self);

	CHECK(c.nlisten == 1, "nlisten %d", c.nlisten);
	CHECK(strcmp(c.listen[0].host, "127.0.0.1") == 0 &&
	    c.listen[0].port == 8080, "listen %s:%u", c.listen[0].host,
	    c.listen[0].port);
	CHECK(c.listen[0].line > 0, "listen line %d", c.listen[0].line);
	CHECK(c.nupstream == 1, "nupstream %d", c.nupstream);
	CHECK(strcmp(c.upstream[0].host, "127.0.0.1") == 0 &&
	    c.upstream[0].port == 8081, "upstream %s:%u", c.upstream[0].host,
	    c.upstream[0].port);
	CHECK(c.workers == 1, "workers %d", c.workers);
	CHECK(c.max_connections == 10000, "max_connections %u",
	    c.max_connections);
	CHECK(c.upstream_pool_size == 32, "upstream_pool_size %u",
	    c.upstream_pool_size);
	CHECK(c.ntrusted == 0, "trusted_proxies: %d", c.ntrusted);
	CHECK(c.pidfile == NULL, "pidfile %s", c.pidfile ? c.pidfile : "");
	/* the shipped conf serves as nobody, so that ./dev run works as root */
	CHECK(c.user != NULL && strcmp(c.user, "nobody") == 0 &&
	    c.uid != 0 && c.user_line > 0, "user %s uid %u",
	    c.user ? c.user : "(none)", (unsigned)c.uid);
	CHECK(c.group != NULL && c.gid != 0, "group of nobody: %s %u",
	    c.group ? c.group : "(none)", (unsigned)c.gid);
	CHECK(c.server_header == 1, "server_header %d", c.server_header);

	CHECK(c.policy.mode == FRAMING_ENFORCE, "mode");
	CHECK(c.policy.chunked == FRAMING_CHUNKED_REJECT, "chunked");
	CHECK(c.policy.body_methods == 0, "body_methods");
	CHECK(c.policy.close_after_body == 0, "close_after_body");
	CHECK(c.policy.underscores == FRAMING_UNDERSCORES_DROP, "underscores");
	CHECK(c.policy.require_length == POST_PUT_PATCH, "require_length %#llx",
	    (unsigned long long)c.policy.require_length);
	CHECK(c.policy.add_via && c.policy.add_x_forwarded_for &&
	    c.policy.add_x_forwarded_proto, "via / x-forwarded-*");
	CHECK(c.policy.max_head_size == FRAMING_DEFAULT_MAX_HEAD,
	    "max_header_size %u", c.policy.max_head_size);
	CHECK(c.policy.max_request_line == FRAMING_DEFAULT_MAX_LINE,
	    "max_request_line %u", c.policy.max_request_line);
	CHECK(c.policy.max_headers == FRAMING_DEFAULT_MAX_HEADERS,
	    "max_headers %u", c.policy.max_headers);
	CHECK(c.policy.max_body_size == FRAMING_DEFAULT_MAX_BODY,
	    "max_body_size %llu",
	    (unsigned long long)c.policy.max_body_size);

	CHECK(c.client_header_timeout == 10000, "client_header %u",
	    c.client_header_timeout);
	CHECK(c.client_body_timeout == 60000, "client_body %u",
	    c.client_body_timeout);
	CHECK(c.client_body_total_timeout == 600000, "client_body_total %u",
	    c.client_body_total_timeout);
	CHECK(c.keepalive_timeout == 60000, "keepalive %u",
	    c.keepalive_timeout);
	CHECK(c.upstream_connect_timeout == 5000, "upstream_connect %u",
	    c.upstream_connect_timeout);
	CHECK(c.upstream_response_timeout == 60000, "upstream_response %u",
	    c.upstream_response_timeout);
	CHECK(c.upstream_keepalive_timeout == 4000, "upstream_keepalive %u",
	    c.upstream_keepalive_timeout);
	CHECK(c.linger_timeout == 2000, "linger %u", c.linger_timeout);
	CHECK(c.shutdown_timeout == 30000, "shutdown %u", c.shutdown_timeout);

	CHECK(c.access_log != NULL && strcmp(c.access_log, "stderr") == 0,
	    "access_log %s", c.access_log ? c.access_log : "(off)");
	CHECK(c.error_log != NULL && strcmp(c.error_log, "stderr") == 0,
	    "error_log %s", c.error_log ? c.error_log : "(off)");
	CHECK(c.log_level == CONF_LOG_INFO, "level %d", (int)c.log_level);
	CHECK(c.log_format == CONF_LOG_COMBINED, "format %d", (int)c.log_format);
	CHECK(!c.admin_on, "[admin] listen is off by default");

	conf_free(&c);
	CHECK(c.path == NULL && c.pages_dir == NULL, "conf_free zeroes");
	conf_free(&c);			/* harmless twice */
}

/* Does `line` match `pat`, where " ... " in pat stands for any text? */
static int
matches(const char *line, const char *pat)
{
	const char *dots, *p = line;
	size_t n;

	for (;;) {
		dots = strstr(pat, " ... ");
		n = dots ? (size_t)(dots - pat) : strlen(pat);
		for (;; p++) {
			if (strncmp(p, pat, n) == 0)
				break;
			if (*p == '\0')
				return 0;
		}
		p += n;
		if (dots == NULL)
			return 1;
		pat = dots + 5;
	}
}

/* Load one bad conf and compare its errors with its "# expect:" lines. */
static void
test_bad_one(const char *path)
{
	char expect[MAX_EXPECT][512], line[512], *nl, *l, *out = NULL;
	int nexpect = 0, nlines = 0, found, i, r;
	size_t len = 0, plen = strlen(path);
	struct conf c;
	FILE *f, *errs;

	if ((f = fopen(path, "r")) == NULL) {
		CHECK(0, "%s: %s", path, strerror(errno));
		return;
	}
	while (nexpect < MAX_EXPECT && fgets(line, sizeof(line), f) != NULL &&
	    strncmp(line, "# expect: ", 10) == 0) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(expect[nexpect++], sizeof(expect[0]), "%s", line + 10);
	}
	fclose(f);
	CHECK(nexpect > 0, "%s: no \"# expect: \" line", path);

	errs = open_memstream(&out, &len);
	memset(&c, 0xa5, sizeof(c));
	r = conf_load(path, &c, errs);
	fclose(errs);
	CHECK(r == -1, "%s: loaded", path);
	CHECK(c.path == NULL && c.pages_dir == NULL && c.access_log == NULL &&
	    c.error_log == NULL, "%s: *out not emptied", path);
	if (r == 0)
		conf_free(&c);

	for (i = 0; i < nexpect; i++) {
		found = 0;
		for (l = out; l != NULL && *l != '\0'; l = nl + 1) {
			nl = strchr(l, '\n');
			if (nl == NULL)
				break;
			*nl = '\0';
			if (matches(l, expect[i]))
				found = 1;
			*nl = '\n';
		}
		CHECK(found, "%s: missing error \"%s\" in:\n%s", path,
		    expect[i], out);
	}
	for (l = out; l != NULL && *l != '\0'; l = nl + 1) {
		if ((nl = strchr(l, '\n')) == NULL)
			break;
		nlines++;
		CHECK(strncmp(l, path, plen) == 0 && l[plen] == ':',
		    "%s: error not prefixed with the file name: %.*s", path,
		    (int)(nl - l), l);
	}
	CHECK(nlines == nexpect, "%s: %d errors, %d expected:\n%s", path,
	    nlines, nexpect, out);
	CHECK(len > 0 && out[len - 1] == '\n', "%s: unterminated output",
	    path);
	free(out);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_bad(const char *dir)
{
	char *names[256], path[4096];
	struct dirent *de;
	size_t n = 0, i, len;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		CHECK(0, "%s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL && n < 256) {
		len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	CHECK(n >= 12, "only %zu bad confs", n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		test_bad_one(path);
		free(names[i]);
	}
}

/* --- confs written to a temporary directory */

static char tmp[64];

static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

/* conf_load tmp/name; errors into *errs (freed by the caller). */
static int
load(const char *name, struct conf *c, char **errs)
{
	char path[256];
	size_t len;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	*errs = NULL;
	f = open_memstream(errs, &len);
	r = conf_load(path, c, f);
	fclose(f);
	return r;
}

#define BASE	"[proxy]\nlisten = *:8080\nupstream = localhost:8081\n"

static void
test_tmp(void)
{
	struct conf c;
	char path[256], *real, *errs, cwd[4096], *s;
	size_t len;
	FILE *f;
	int r, i;

	snprintf(tmp, sizeof(tmp), "/tmp/test_conf.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	real = realpath(tmp, NULL);
	snprintf(path, sizeof(path), "%s/conf", tmp);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/pages", tmp);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/conf/logs", tmp);
	mkdir(path, 0700);

	/* The preload's loader needs no [proxy]; the proxy's still does,
	 * and takes a [preload] section. */
	put("conf/pre.conf", "[pages]\ndir = ../pages\n[preload]\n"
	    "ports = 8080  443\nlog = logs/refused.log\ninetd = on\n");
	snprintf(path, sizeof(path), "%s/conf/pre.conf", tmp);
	f = open_memstream(&errs, &len);
	r = conf_load_preload(path, &c, f);
	fclose(f);
	CHECK(r == 0, "pre.conf: %s", errs);
	free(errs);
	if (r == 0) {
		CHECK(c.npreload_ports == 2 && c.preload_ports[0] == 8080 &&
		    c.preload_ports[1] == 443 && c.preload_inetd == 1,
		    "[preload] ports, inetd");
		CHECK(c.preload_log != NULL &&
		    strstr(c.preload_log, "/conf/logs/refused.log") != NULL &&
		    c.preload_log[0] == '/', "[preload] log: %s", c.preload_log);
		conf_free(&c);
	}
	r = load("conf/pre.conf", &c, &errs);
	CHECK(r == -1 && strstr(errs, "[proxy] listen: missing") != NULL,
	    "the proxy wants listen: %s", errs);
	free(errs);
	put("conf/pre2.conf", BASE "[pages]\ndir = ../pages\n[preload]\n"
	    "log = syslog\n");
	r = load("conf/pre2.conf", &c, &errs);
	CHECK(r == 0, "pre2.conf: %s", errs);
	free(errs);
	if (r == 0) {
		CHECK(c.npreload_ports == 0 && !c.preload_inetd &&
		    c.preload_log != NULL && strcmp(c.preload_log, "syslog") == 0,
		    "[preload] defaults, log = syslog");
		conf_free(&c);
	}
	put("conf/pre3.conf", "[pages]\ndir = ../pages\n");
	snprintf(path, sizeof(path), "%s/conf/pre3.conf", tmp);
	r = conf_load_preload(path, &c, NULL);
	CHECK(r == 0 && c.preload_log == NULL, "[preload] log is off by default");
	if (r == 0)
		conf_free(&c);

	/* Upstream parameters, nginx's way, and their defaults. */
	put("conf/ups.conf", "[proxy]\nlisten = *:8080\n"
	    "upstream = localhost:8081\n"
	    "upstream = localhost:8082 weight=3 max_fails=0\n"
	    "upstream = [::1]:8083 fail_timeout=2500ms max_fails=2  backup\n");
	r = load("conf/ups.conf", &c, &errs);
	CHECK(r == 0, "ups.conf: %s", errs);
	free(errs);
	if (r == 0) {
		CHECK(c.nupstream == 3 && c.upstream[0].weight == 1 &&
		    c.upstream[0].max_fails == 1 &&
		    c.upstream[0].fail_timeout == 10000 && !c.upstream[0].backup,
		    "upstream defaults");
		CHECK(c.upstream[1].weight == 3 && c.upstream[1].max_fails == 0 &&
		    c.upstream[1].port == 8082, "upstream weight, max_fails");
		CHECK(c.upstream[2].fail_timeout == 2500 &&
		    c.upstream[2].max_fails == 2 && c.upstream[2].backup &&
		    strcmp(c.upstream[2].host, "::1") == 0, "upstream backup");
		CHECK(c.upstream_send_timeout == 60000, "upstream_send %u",
		    c.upstream_send_timeout);
		conf_free(&c);
	}

	/* Only the required keys: everything else is the default. */
	put("conf/min.conf", BASE);
	r = load("conf/min.conf", &c, &errs);
	CHECK(r == 0, "min.conf: %s", errs);
	free(errs);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/pages", real);
		CHECK(strcmp(c.pages_dir, path) == 0, "default pages %s",
		    c.pages_dir);
		snprintf(path, sizeof(path), "%s/conf/min.conf", real);
		CHECK(strcmp(c.path, path) == 0, "path %s", c.path);
		CHECK(c.workers == 1 && c.max_connections == 10000 &&
		    c.upstream_pool_size == 32, "[proxy] defaults");
		CHECK(c.ntrusted == 0 && c.policy.body_methods == 0 &&
		    c.policy.underscores == FRAMING_UNDERSCORES_DROP,
		    "trusted_proxies, body_methods, underscores defaults");
		CHECK(c.policy.mode == FRAMING_ENFORCE &&
		    c.policy.chunked == FRAMING_CHUNKED_REJECT &&
		    c.policy.require_length == POST_PUT_PATCH && c.policy.add_via &&
		    c.policy.add_x_forwarded_for &&
		    c.policy.add_x_forwarded_proto, "[policy] defaults");
		CHECK(c.policy.max_head_size == FRAMING_DEFAULT_MAX_HEAD &&
		    c.policy.max_request_line == FRAMING_DEFAULT_MAX_LINE &&
		    c.policy.max_headers == FRAMING_DEFAULT_MAX_HEADERS &&
		    c.policy.max_body_size == FRAMING_DEFAULT_MAX_BODY,
		    "[limits] defaults");
		CHECK(c.request_buffering == 1 &&
		    c.policy.max_buffered_body == FRAMING_DEFAULT_MAX_BUFFERED &&
		    c.body_buffer_size == 16 * 1024 &&
		    c.buffer_memory == 64ull * 1024 * 1024 &&
		    strcmp(c.temp_dir, "/var/tmp") == 0,
		    "request buffering defaults");
		CHECK(c.client_header_timeout == 10000 &&
		    c.client_body_timeout == 60000 &&
		    c.keepalive_timeout == 60000 &&
		    c.upstream_connect_timeout == 5000 &&
		    c.upstream_response_timeout == 60000 &&
		    c.upstream_keepalive_timeout == 4000 &&
		    c.linger_timeout == 2000 && c.shutdown_timeout == 30000,
		    "[timeouts] defaults");
		CHECK(strcmp(c.access_log, "stderr") == 0 &&
		    strcmp(c.error_log, "stderr") == 0 &&
		    c.log_level == CONF_LOG_INFO, "[log] defaults");
		CHECK(strcmp(c.listen[0].host, "*") == 0 &&
		    c.listen[0].line == 2 && c.upstream[0].line == 3,
		    "listen *");
		CHECK(c.pidfile == NULL && c.user == NULL &&
		    c.server_header == 1, "pidfile, user, server_header "
		    "defaults");
		conf_free(&c);
	}

	/* pidfile relative to the conf's dir, user with a group, syslog */
	put("conf/ops.conf", BASE
	    "pidfile = logs/lg.pid\n"
	    "user = nobody root\n"
	    "server_header = off\n"
	    "[log]\n"
	    "error = syslog\n");
	r = load("conf/ops.conf", &c, &errs);
	CHECK(r == 0, "ops.conf: %s", errs);
	free(errs);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/conf/logs/lg.pid", real);
		CHECK(strcmp(c.pidfile, path) == 0 && c.pidfile_line == 4,
		    "pidfile %s line %d", c.pidfile, c.pidfile_line);
		CHECK(strcmp(c.user, "nobody") == 0 && c.uid != 0 &&
		    strcmp(c.group, "root") == 0 && c.gid == 0 &&
		    c.user_line == 5, "user %s %u group %s %u line %d", c.user,
		    (unsigned)c.uid, c.group, (unsigned)c.gid, c.user_line);
		CHECK(c.server_header == 0, "server_header off");
		CHECK(strcmp(c.error_log, "syslog") == 0 &&
		    c.error_log_line == 8, "error log %s line %d", c.error_log,
		    c.error_log_line);
		conf_free(&c);
	}

	/*
	 * Inline comments start after a blank only; without one, "#" and ";"
	 * are text (bad/inline_comment.conf has the failing side).
	 */
	put("conf/inline.conf", BASE
	    "max_connections = 5 #;x = y\n"
	    "[proxy]# right after \"]\"\n"
	    "upstream_pool_size = 7\t;after a tab\n"
	    "[log]\n"
	    "access = logs/a#b;c.log ;the name keeps its # and ;\n");
	r = load("conf/inline.conf", &c, &errs);
	CHECK(r == 0, "inline.conf: %s", errs);
	free(errs);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/conf/logs/a#b;c.log", real);
		CHECK(c.max_connections == 5 && c.upstream_pool_size == 7 &&
		    strcmp(c.access_log, path) == 0, "inline.conf: %u %u %s",
		    c.max_connections, c.upstream_pool_size, c.access_log);
		conf_free(&c);
	}

	/* Relative conf path: stored absolute. */
	if (getcwd(cwd, sizeof(cwd)) != NULL && chdir(tmp) == 0) {
		memset(&c, 0, sizeof(c));
		f = open_memstream(&errs, &len);
		r = conf_load("conf/min.conf", &c, f);
		fclose(f);
		CHECK(r == 0, "relative conf/min.conf: %s", errs);
		free(errs);
		snprintf(path, sizeof(path), "%s/conf/min.conf", real);
		CHECK(r == 0 && strcmp(c.path, path) == 0, "relative path %s",
		    c.path);
		conf_free(&c);
		if (chdir("conf") == 0) {
			f = open_memstream(&errs, &len);
			r = conf_load("min.conf", &c, f);
			fclose(f);
			CHECK(r == 0 && strcmp(c.path, path) == 0,
			    "bare min.conf: %s", errs);
			free(errs);
			conf_free(&c);
		}
		if (chdir(cwd) != 0)
			perror(cwd);
	}

	/* Other values, syntax corners: BOM, CRLF, indentation, comments. */
	put("conf/all.conf",
	    "\xEF\xBB\xBF# comment\r\n"
	    "; another comment\n"
	    "[proxy] # section comment\n"
	    "  listen = [::1]:8080\n"
	    "listen=127.0.0.1:8080\t; inline comment\n"
	    "listen = localhost:9090 # inline comment\n"
	    "upstream = 10.0.0.1:80\r\n"
	    "upstream = [::1]:81\n"
	    "workers = auto\n"
	    "max_connections = 1\n"
	    "upstream_pool_size = 0\n"
	    "trusted_proxies = 127.0.0.1/32\t::1  10.0.0.0/8 fe80::/10 192.0.2.1\n"
	    "\n"
	    "[policy]\n"
	    "mode = monitor\n"
	    "require_length =\n"
	    "body_methods = GET  DELETE\n"
	    "close_after_body = POST PATCH\n"
	    "underscores = reject\n"
	    "via = off\n"
	    "x_forwarded_for = no\n"
	    "x_forwarded_proto = false\n"
	    "[limits]\n"
	    "max_header_size = 1m\n"
	    "max_request_line = 1m\n"
	    "max_headers = 10000\n"
	    "max_body_size = 0\n"
	    "[timeouts]\n"
	    "client_header = 250ms\n"
	    "client_body = 2m\n"
	    "client_body_total = 90s\n"
	    "keepalive = 1\n"
	    "upstream_connect = 1ms\n"
	    "upstream_response = 4294967295ms\n"
	    "upstream_keepalive = 1500ms\n"
	    "linger = 0\n"
	    "shutdown = 1s\n"
	    "[pages]\n"
	    "dir = ..//pages/\n"
	    "[log]\n"
	    "access = logs/access.log\n"
	    "error = ./logs/../logs/error.log\n"
	    "level = debug\n"
	    "[proxy]\n"
	    "listen = *:8081\n");
	r = load("conf/all.conf", &c, &errs);
	CHECK(r == 0, "all.conf: %s", errs);
	free(errs);
	if (r == 0) {
		CHECK(c.nlisten == 4 && strcmp(c.listen[0].host, "::1") == 0 &&
		    c.listen[0].line == 4 && c.listen[1].port == 8080 &&
		    strcmp(c.listen[2].host, "localhost") == 0 &&
		    c.listen[2].port == 9090 && c.listen[3].port == 8081 &&
		    c.listen[3].line == 45, "all.conf listen");
		CHECK(c.nupstream == 2 && c.upstream[0].port == 80 &&
		    strcmp(c.upstream[1].host, "::1") == 0,
		    "all.conf upstream");
		CHECK(c.workers == 0 && c.max_connections == 1 &&
		    c.upstream_pool_size == 0, "all.conf [proxy]");
		CHECK(c.ntrusted == 5 && c.trusted[0].family == AF_INET &&
		    c.trusted[0].bits == 32 && c.trusted[1].family == AF_INET6 &&
		    c.trusted[1].bits == 128 && c.trusted[2].bits == 8 &&
		    c.trusted[3].bits == 10 && c.trusted[4].bits == 32,
		    "all.conf trusted_proxies");
		CHECK(c.policy.body_methods == (1ull << HTTP_GET |
		    1ull << HTTP_DELETE) &&
		    c.policy.underscores == FRAMING_UNDERSCORES_REJECT,
		    "all.conf body_methods, underscores");
		CHECK(c.policy.close_after_body == (1ull << HTTP_POST |
		    1ull << HTTP_PATCH), "all.conf close_after_body");
		CHECK(c.policy.mode == FRAMING_MONITOR, "all.conf mode");
		CHECK(c.policy.require_length == 0 && !c.policy.add_via &&
		    !c.policy.add_x_forwarded_for &&
		    !c.policy.add_x_forwarded_proto, "all.conf [policy]");
		CHECK(c.policy.max_head_size == 1 << 20 &&
		    c.policy.max_request_line == 1 << 20 &&
		    c.policy.max_headers == 10000 &&
		    c.policy.max_body_size == 0, "all.conf [limits]");
		CHECK(c.client_header_timeout == 250 &&
		    c.client_body_timeout == 120000 &&
		    c.client_body_total_timeout == 90000 &&
		    c.keepalive_timeout == 1000 &&
		    c.upstream_connect_timeout == 1 &&
		    c.upstream_response_timeout == 4294967295u &&
		    c.upstream_keepalive_timeout == 1500 &&
		    c.linger_timeout == 0 && c.shutdown_timeout == 1000,
		    "all.conf [timeouts]");
		snprintf(path, sizeof(path), "%s/pages", real);
		CHECK(strcmp(c.pages_dir, path) == 0, "all.conf pages %s",
		    c.pages_dir);
		snprintf(path, sizeof(path), "%s/conf/logs/access.log", real);
		CHECK(strcmp(c.access_log, path) == 0, "access %s",
		    c.access_log);
		snprintf(path, sizeof(path), "%s/conf/logs/error.log", real);
		CHECK(strcmp(c.error_log, path) == 0, "error %s", c.error_log);
		CHECK(c.log_level == CONF_LOG_DEBUG, "level %d",
		    (int)c.log_level);
		conf_free(&c);
	}

	/* [admin] listen and [log] format */
	put("conf/admin.conf", BASE "[pages]\ndir = ../pages\n[log]\n"
	    "format = json\n[admin]\nlisten = 127.0.0.1:9145\n");
	r = load("conf/admin.conf", &c, &errs);
	CHECK(r == 0, "admin.conf: %s", errs);
	free(errs);
	if (r == 0) {
		CHECK(c.admin_on && strcmp(c.admin.host, "127.0.0.1") == 0 &&
		    c.admin.port == 9145 && c.admin.line == 9, "admin.conf admin");
		CHECK(c.log_format == CONF_LOG_JSON, "admin.conf format");
		conf_free(&c);
	}
	/* another port on the same address, or another address: fine */
	put("conf/admin2.conf", BASE "[pages]\ndir = ../pages\n[admin]\n"
	    "listen = localhost:8081\n");
	r = load("conf/admin2.conf", &c, &errs);
	CHECK(r == 0 && c.admin_on && c.admin.port == 8081, "admin2.conf: %s",
	    errs);
	free(errs);
	if (r == 0)
		conf_free(&c);

	/* Booleans, workers, absolute paths, access off, empty file. */
	snprintf(cwd, sizeof(cwd), BASE "workers = 64\n[policy]\nvia = yes\n"
	    "x_forwarded_for = 1\nx_forwarded_proto = true\n"
	    "underscores = pass\nbody_methods = HEAD OPTIONS TRACE\n"
	    "[pages]\ndir = %s/pages\n[log]\naccess = off\n"
	    "error = %s/err.log\nlevel = error\n", tmp, tmp);
	put("abs.conf", cwd);
	r = load("abs.conf", &c, &errs);
	CHECK(r == 0, "abs.conf: %s", errs);
	free(errs);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/err.log", real);
		CHECK(c.policy.underscores == FRAMING_UNDERSCORES_PASS &&
		    c.policy.body_methods == (1ull << HTTP_HEAD |
		    1ull << HTTP_OPTIONS | 1ull << HTTP_TRACE),
		    "abs.conf underscores, body_methods");
		CHECK(c.workers == 64 && c.policy.add_via &&
		    c.policy.add_x_forwarded_for &&
		    c.policy.add_x_forwarded_proto && c.access_log == NULL &&
		    strcmp(c.error_log, path) == 0 &&
		    c.log_level == CONF_LOG_ERROR, "abs.conf values");
		conf_free(&c);
	}

	/* More than CONF_MAX_ADDRS listen: one error, on the 17th. */
	s = malloc(4096);
	strcpy(s, "[proxy]\nupstream = localhost:80\n");
	for (i = 0; i <= CONF_MAX_ADDRS; i++)
		sprintf(s + strlen(s), "listen = *:%d\n", 8000 + i);
	put("conf/many.conf", s);
	free(s);
	r = load("conf/many.conf", &c, &errs);
	CHECK(r == -1 && errs != NULL &&
	    strstr(errs, "many.conf:19: [proxy] listen: too many (at most 16)")
	    != NULL && strchr(errs, '\n') == errs + strlen(errs) - 1,
	    "many.conf: %s", errs);
	free(errs);

	/* More than CONF_MAX_TRUSTED prefixes: one error, and only one. */
	s = malloc(4096);
	strcpy(s, BASE "trusted_proxies =");
	for (i = 0; i <= CONF_MAX_TRUSTED + 1; i++)
		sprintf(s + strlen(s), " 1.0.0.%d", i);
	strcat(s, "\n");
	put("conf/many_trusted.conf", s);
	free(s);
	r = load("conf/many_trusted.conf", &c, &errs);
	CHECK(r == -1 && errs != NULL && strstr(errs, "many_trusted.conf:4: "
	    "[proxy] trusted_proxies: too many prefixes (at most 64)") != NULL &&
	    strchr(errs, '\n') == errs + strlen(errs) - 1,
	    "many_trusted.conf: %s", errs);
	free(errs);

	/* An empty file: both required keys missing, at line 0. */
	put("conf/empty.conf", "");
	r = load("conf/empty.conf", &c, &errs);
	CHECK(r == -1 && strstr(errs, "empty.conf:0: [proxy] listen: missing")
	    != NULL && strstr(errs, "empty.conf:0: [proxy] upstream: missing")
	    != NULL, "empty.conf: %s", errs);
	free(errs);

	/* A NUL byte, a directory as log file, a directory as the conf. */
	put("conf/nul.conf", BASE "[log]\naccess = logs\nlevel = info\n");
	snprintf(path, sizeof(path), "%s/conf/nul.conf", tmp);
	if ((f = fopen(path, "a")) != NULL) {
		fwrite("# x\0y\n", 1, 6, f);
		fclose(f);
	}
	r = load("conf/nul.conf", &c, &errs);
	CHECK(r == -1 && strstr(errs, "nul.conf:7: NUL byte in line") &&
	    strstr(errs, "nul.conf:5: [log] access: \"") &&
	    strstr(errs, "/conf/logs\" is a directory"), "nul.conf: %s", errs);
	free(errs);
	r = load("conf", &c, &errs);
	CHECK(r == -1 && strstr(errs, "conf:0: cannot open: Is a directory"),
	    "directory: %s", errs);
	free(errs);

	/* Line numbers survive over-long lines at the end without "\n". */
	s = malloc(3000);
	strcpy(s, BASE "[limits]\nmax_headers = ");
	memset(s + strlen(s), '9', 2000);
	s[sizeof(BASE) - 1 + 23 + 2000] = '\0';
	put("conf/long.conf", s);
	free(s);
	r = load("conf/long.conf", &c, &errs);
	CHECK(r == -1 && strstr(errs, "long.conf:5: line too long") &&
	    strchr(errs, '\n') == errs + strlen(errs) - 1, "long.conf: %s",
	    errs);
	free(errs);

	/* 1024 bytes is the longest line, CRLF or not; 1025 is too long. */
	s = malloc(4000);
	len = strlen(strcpy(s, BASE));
	for (i = 0; i < 3; i++) {
		s[len++] = '#';
		memset(s + len, '-', i < 2 ? 1023 : 1024);
		len += i < 2 ? 1023 : 1024;
		len += strlen(strcpy(s + len, i == 0 ? "\r\n" : "\n"));
	}
	put("conf/edge.conf", s);
	free(s);
	r = load("conf/edge.conf", &c, &errs);
	CHECK(r == -1 && strchr(errs, '\n') == errs + strlen(errs) - 1 &&
	    strstr(errs, "edge.conf:6: line too long (more than 1024 bytes)"),
	    "edge.conf: %s", errs);
	free(errs);

	/* NULL errs: counted, not printed. */
	CHECK(conf_load("/nonexistent/x.conf", &c, NULL) == -1, "NULL errs");

	snprintf(cwd, sizeof(cwd), "rm -rf '%s'", tmp);
	if (system(cwd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	free(real);
}

static void
test_missing(void)
{
	struct conf c;
	char *out = NULL;
	size_t len = 0;
	FILE *errs;

	errs = open_memstream(&out, &len);
	CHECK(conf_load("/nonexistent/lengthguard.conf", &c, errs) == -1,
	    "missing file loaded");
	fclose(errs);
	CHECK(strcmp(out, "/nonexistent/lengthguard.conf:0: cannot open: "
	    "No such file or directory\n") == 0, "missing file: %s", out);
	CHECK(c.path == NULL, "missing file: *out not emptied");
	free(out);
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SHIPPED.conf BAD_DIR\n", argv[0]);
		return 2;
	}
	test_parsers();
	test_cidr();
	test_trusted();
	test_shipped(argv[1]);
	test_bad(argv[2]);
	test_missing();
	test_tmp();
	return check_done("conf");
}
