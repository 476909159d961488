/*
 * parse_bench.c - the parsing hot path, side by side in one run:
 *
 *   (a) raw llhttp, no callbacks: the floor for any llhttp-based design;
 *   (b) lengthguard's core: inspection, policy and the canonical head
 *       written to a buffer (framing_feed + framing_write_head).
 *
 * Both see the same corpus, one request per "connection" (a parser reset
 * before each), in alternating rounds; medians are printed with the ratio
 * b/a. Not a test: these machines are shared, so read ratios, and treat
 * differences under ~10% as noise.
 *
 * The corpus (see corpus_build) has the shapes of real traffic:
 *  - browser GETs with 12-16 fields, modelled on what Chromium and Firefox
 *    send for a page and its subresources (sec-ch-ua, sec-fetch-*, long
 *    Accept and User-Agent values, cookies of 100-600 bytes);
 *  - API POSTs with a Content-Length body (curl / python-requests style
 *    clients, bearer tokens, JSON bodies of 100-1500 bytes);
 *  - chunked POSTs, the 411 path;
 *  - a few heads of several kilobytes (large cookies), as seen behind
 *    single sign-on.
 *
 * usage: parse_bench [-r rounds] [-n requests] [-s seed] [-o a|b]
 *
 * -o a (or b) runs only (a) (or (b)) in every round, for a profiler
 * (perf record, valgrind --tool=callgrind) to see one side alone; the
 * ratio is then not printed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#include "framing.h"

struct req {
	char *p;
	size_t len;
	int kind;
};

enum { K_BROWSER, K_FIREFOX, K_API, K_CHUNKED, K_BIG, NKINDS };
static const char *const kind_names[] = {
	"browser GET", "firefox GET", "API POST", "chunked POST (411)", "large head",
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

struct sb {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define SBL(b, lit) sb_add((b), (lit), sizeof(lit) - 1)

static void
sb_fmt(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_fmt(struct sb *b, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_add(b, tmp, (size_t)n);
}

static void
sb_token(struct sb *b, size_t n)
{
	static const char al[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t i;

	for (i = 0; i < n; i++)
		sb_add(b, &al[rnd(sizeof(al) - 1)], 1);
}

static const char *const paths[] = {
	"/", "/index.html", "/static/js/app.3f9c2e.js", "/static/css/main.css",
	"/api/v1/orders?page=2&limit=50", "/images/logo.svg",
	"/account/settings", "/search?q=length+required&lang=en",
};

static struct req
make_req(int kind)
{
	struct sb b = { 0 };
	struct req r;
	size_t body, i;

	switch (kind) {
	case K_BROWSER:
	case K_BIG:
		sb_fmt(&b, "GET %s HTTP/1.1\r\n", paths[rnd(8)]);
		SBL(&b, "Host: shop.example.com\r\nConnection: keep-alive\r\n");
		sb_fmt(&b, "sec-ch-ua: \"Chromium\";v=\"1%02u\", \"Not(A:Brand\";v=\"24\", "
		    "\"Google Chrome\";v=\"1%02u\"\r\n", rnd(30), rnd(30));
		sb_fmt(&b, "sec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: \"%s\"\r\n",
		    rnd(2) ? "Windows" : "macOS");
		SBL(&b, "Upgrade-Insecure-Requests: 1\r\n");
		sb_fmt(&b, "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
		    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1%02u.0.0.0 "
		    "Safari/537.36\r\n", rnd(30));
		SBL(&b, "Accept: text/html,application/xhtml+xml,application/xml;"
		    "q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
		    "application/signed-exchange;v=b3;q=0.7\r\n");
		SBL(&b, "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: navigate\r\n"
		    "Sec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n");
		sb_fmt(&b, "Referer: https://shop.example.com%s\r\n", paths[rnd(8)]);
		SBL(&b, "Accept-Encoding: gzip, deflate, br\r\n"
		    "Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n");
		SBL(&b, "Cookie: session=");
		sb_token(&b, kind == K_BIG ? 2000 + rnd(3000) : 100 + rnd(500));
		SBL(&b, "; _ga=GA1.2.");
		sb_token(&b, 20);
		SBL(&b, "\r\n\r\n");
		break;
	case K_FIREFOX:
		sb_fmt(&b, "GET %s HTTP/1.1\r\n", paths[rnd(8)]);
		SBL(&b, "Host: www.example.org\r\n");
		SBL(&b, "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) "
		    "Gecko/20100101 Firefox/120.0\r\n");
		SBL(&b, "Accept: image/avif,image/webp,*/*\r\n");
		SBL(&b, "Accept-Language: en-GB,en;q=0.5\r\n"
		    "Accept-Encoding: gzip, deflate, br\r\n");
		sb_add(&b, "Connection: keep-alive\r\nReferer: https://www.example.org/\r\n",
		    59);
		SBL(&b, "Cookie: id=");
		sb_token(&b, 40 + rnd(200));
		SBL(&b, "\r\nSec-Fetch-Dest: image\r\nSec-Fetch-Mode: no-cors\r\n"
		    "Sec-Fetch-Site: same-origin\r\n");
		sb_fmt(&b, "If-None-Match: \"%08x\"\r\n", rnd(1u << 31));
		SBL(&b, "Pragma: no-cache\r\nCache-Control: no-cache\r\n\r\n");
		break;
	case K_API:
		body = 100 + rnd(1400);
		sb_fmt(&b, "POST /api/v1/orders/%u/items HTTP/1.1\r\n", rnd(100000));
		SBL(&b, "Host: api.example.com\r\n");
		sb_fmt(&b, "User-Agent: %s\r\n", rnd(2) ? "curl/7.88.1" :
		    "python-requests/2.31.0");
		SBL(&b, "Accept-Encoding: gzip, deflate\r\nAccept: application/json\r\n"
		    "Connection: keep-alive\r\n");
		SBL(&b, "Authorization: Bearer ");
		sb_token(&b, 180 + rnd(200));
		sb_fmt(&b, "\r\nContent-Type: application/json\r\nX-Request-Id: %08x-%04x\r\n"
		    "Content-Length: %zu\r\n\r\n", rnd(1u << 31), rnd(65536), body);
		for (i = 0; i < body; i++)
			sb_add(&b, "{\"k\":1}"+ (i % 7), 1);
		break;
	case K_CHUNKED:
		SBL(&b, "POST /upload HTTP/1.1\r\nHost: api.example.com\r\n");
		SBL(&b, "User-Agent: Go-http-client/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Type: application/octet-stream\r\n"
		    "Accept-Encoding: gzip\r\n\r\n");
		SBL(&b, "40\r\n");
		sb_token(&b, 64);
		SBL(&b, "\r\n0\r\n\r\n");
		break;
	}
	r.p = b.p;
	r.len = b.len;
	r.kind = kind;
	return r;
}

/* 40% browser, 20% Firefox, 25% API, 10% chunked, 5% large heads. */
static size_t
corpus_build(struct req *rs, size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++) {
		uint32_t x = rnd(100);
		int k = x < 40 ? K_BROWSER : x < 60 ? K_FIREFOX : x < 85 ? K_API :
		    x < 95 ? K_CHUNKED : K_BIG;

		rs[i] = make_req(k);
		total += rs[i].len;
	}
	return total;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static llhttp_settings_t raw_settings;

/* (a): llhttp alone over each request. (Not inlined: a profiler sees
 * run_raw and run_core as functions of their own.) */
__attribute__((noinline)) static int
run_raw(const struct req *rs, size_t n, int reps)
{
	llhttp_t p;
	size_t i;
	int k, bad = 0;

	for (k = 0; k < reps; k++)
		for (i = 0; i < n; i++) {
			llhttp_init(&p, HTTP_REQUEST, &raw_settings);
			if (llhttp_execute(&p, rs[i].p, rs[i].len) != HPE_OK)
				bad++;
		}
	return bad;
}

static char head_out[FRAMING_MAX_HEAD + 4096];
static volatile size_t sink;

/* (b): the core, and the canonical head written out. */
__attribute__((noinline)) static int
run_core(struct framing *f, const struct req *rs, size_t n, int reps,
    unsigned *verdicts)
{
	static const struct framing_peer peer = { "192.0.2.1", "http", "up:80", 0 };
	size_t i, off;
	int k, bad = 0;

	for (k = 0; k < reps; k++)
		for (i = 0; i < n; i++) {
			framing_reset(f);
			for (off = 0; off < rs[i].len;) {
				struct framing_step s = framing_feed(f, rs[i].p + off,
				    rs[i].len - off);

				off += s.consumed;
				if (s.verdict == FRAMING_HEAD) {
					long m = framing_write_head(f, &peer, head_out,
					    sizeof(head_out));

					sink += (size_t)m;
					if (verdicts)
						verdicts[0]++;
				} else if (s.verdict == FRAMING_REJECT) {
					if (verdicts)
						verdicts[1]++;
					break;
				} else if (s.verdict != FRAMING_BODY) {
					bad++;
					break;
				}
			}
		}
	return bad;
}

/*
 * The core's verdict and canonical head for r, fed in pieces of `cut`
 * bytes (0: whole), into out[0..cap): the head's length, -1 for a
 * refusal, -2 for anything else.
 */
static long
core_once(struct framing *f, const struct req *r, size_t cut, char *out,
    size_t cap)
{
	static const struct framing_peer peer = { "192.0.2.1", "http", "up:80", 0 };
	size_t off, n;

	framing_reset(f);
	for (off = 0; off < r->len;) {
		struct framing_step s;

		n = cut == 0 || r->len - off < cut ? r->len - off : cut;
		s = framing_feed(f, r->p + off, n);
		off += s.consumed;
		if (s.verdict == FRAMING_HEAD)
			return framing_write_head(f, &peer, out, cap);
		if (s.verdict == FRAMING_REJECT)
			return -1;
		if (s.verdict != FRAMING_MORE)
			return -2;
	}
	return -2;
}

/*
 * A head that comes whole is read by the core's own pass, with llhttp
 * given only its request line and framing fields (src/core/framing.c,
 * head_clean); a head in pieces is read by llhttp byte by byte. Both must
 * give every request of the corpus the same verdict and canonical head.
 */
static int
same_in_pieces(struct framing *f, const struct req *rs, size_t n)
{
	static char a[FRAMING_MAX_HEAD + 4096], b[FRAMING_MAX_HEAD + 4096];
	size_t i;
	long la, lb;

	for (i = 0; i < n; i++) {
		la = core_once(f, &rs[i], 0, a, sizeof(a));
		lb = core_once(f, &rs[i], 100, b, sizeof(b));
		if (la != lb || la == -2 || (la > 0 && memcmp(a, b, (size_t)la) != 0))
			return 0;
	}
	return 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	int rounds = 15, nreq = 2000, ch, r, reps, only = 0;
	struct framing_policy pol;
	struct framing *f;
	struct req *rs;
	size_t total, i;
	double *ta, *tb, t0, ma, mb;
	unsigned kinds[NKINDS] = { 0 }, verdicts[2] = { 0, 0 };

	while ((ch = getopt(argc, argv, "r:n:s:o:")) != -1) {
		switch (ch) {
		case 'o':
			only = optarg[0];
			if ((only != 'a' && only != 'b') || optarg[1] != '\0')
				goto usage;
			break;
		case 'r': rounds = atoi(optarg); break;
		case 'n': nreq = atoi(optarg); break;
		case 's': rng = strtoull(optarg, NULL, 0) | 1; break;
		default:
			goto usage;
		}
	}
	if (rounds < 1 || nreq < 1)
		return 2;
	rs = calloc((size_t)nreq, sizeof(*rs));
	ta = calloc((size_t)rounds, sizeof(*ta));
	tb = calloc((size_t)rounds, sizeof(*tb));
	total = corpus_build(rs, (size_t)nreq);
	for (i = 0; i < (size_t)nreq; i++)
		kinds[rs[i].kind]++;
	framing_policy_default(&pol);
	f = framing_new(&pol);

	/* sanity: every request parses, and the core says what we expect */
	if (run_raw(rs, (size_t)nreq, 1) != 0 ||
	    run_core(f, rs, (size_t)nreq, 1, verdicts) != 0 ||
	    verdicts[1] != kinds[K_CHUNKED]) {
		fprintf(stderr, "parse_bench: the corpus does not parse as expected\n");
		return 1;
	}
	if (!same_in_pieces(f, rs, (size_t)nreq)) {
		fprintf(stderr, "parse_bench: a request fed whole and in pieces of "
		    "100 bytes gets two answers\n");
		return 1;
	}
	/* about 0.2 s of work per measurement */
	t0 = now();
	run_raw(rs, (size_t)nreq, 1);
	reps = (int)(0.2 / (now() - t0 + 1e-9)) + 1;

	printf("parse_bench: %d requests, %zu bytes, %.0f bytes/request on average\n",
	    nreq, total, (double)total / nreq);
	for (i = 0; i < NKINDS; i++)
		printf("  %-20s %5u\n", kind_names[i], kinds[i]);
	printf("llhttp %d.%d.%d%s, %d rounds of %d passes, alternating\n\n",
	    LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH,
#ifdef __SSE4_2__
	    " (SSE4.2)",
#else
	    "",
#endif
	    rounds, reps);

	if (only) {
		for (r = 0; r < rounds; r++) {
			t0 = now();
			if (only == 'a')
				run_raw(rs, (size_t)nreq, reps);
			else
				run_core(f, rs, (size_t)nreq, reps, NULL);
			ta[r] = tb[r] = now() - t0;
		}
	}
	for (r = 0; r < rounds && !only; r++) {
		if (r % 2 == 0) {
			t0 = now(); run_raw(rs, (size_t)nreq, reps); ta[r] = now() - t0;
			t0 = now(); run_core(f, rs, (size_t)nreq, reps, NULL); tb[r] = now() - t0;
		} else {
			t0 = now(); run_core(f, rs, (size_t)nreq, reps, NULL); tb[r] = now() - t0;
			t0 = now(); run_raw(rs, (size_t)nreq, reps); ta[r] = now() - t0;
		}
	}
	ma = median(ta, rounds);
	mb = median(tb, rounds);
	{
		double bytes = (double)total * reps, reqs = (double)nreq * reps;

		printf("%-28s %10s %12s %10s\n", "", "MB/s", "requests/s", "ns/request");
		if (only != 'b')
			printf("%-28s %10.0f %12.0f %10.1f\n", "(a) raw llhttp, no callbacks",
			    bytes / ma / 1e6, reqs / ma, ma / reqs * 1e9);
		if (only != 'a')
			printf("%-28s %10.0f %12.0f %10.1f\n", "(b) lengthguard core",
			    bytes / mb / 1e6, reqs / mb, mb / reqs * 1e9);
		if (!only)
			printf("\nratio b/a (throughput): %.3f   (target >= 0.90; b target >= 2000 MB/s)\n",
			    ma / mb);
	}
	framing_free(f);
	for (i = 0; i < (size_t)nreq; i++)
		free(rs[i].p);
	free(rs);
	free(ta);
	free(tb);
	return 0;
usage:
	fprintf(stderr, "usage: parse_bench [-r rounds] [-n requests] [-s seed] [-o a|b]\n");
	return 2;
}
