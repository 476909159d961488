/*
 * keepalive_bench.c - the core's cost per request on one keep-alive
 * connection, driven the way the LD_PRELOAD guard drives it for a host
 * read that holds a whole request (src/preload/preload.c, judge_read):
 * one struct framing for the connection, each request fed whole (head
 * and body) in one framing_feed() call, which takes the head, its body
 * then accounted with framing_body_done(), with the calls the guard makes
 * around them (framing_body_left() before and after the head,
 * framing_rewrites(), framing_request()).
 *
 * Two heads: a small POST with a 1024-byte body, and a small GET.
 *
 * usage: keepalive_bench [-n requests] [-h post|get]
 *
 * It checks every verdict (FRAMING_HEAD, the whole head consumed, the
 * body length, idle after the body) and prints ns/request. For
 * instructions per request, run it under valgrind --tool=callgrind with
 * two values of -n and divide the difference of the totals by the
 * difference of -n (that removes start-up): bench/README.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"

static const char post_head[] =
    "POST / HTTP/1.1\r\nHost: bench\r\n"
    "Content-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n";
#define POST_BODY 1024
static const char get_head[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

static volatile uint64_t sink;

/* One request as judge_read() sees it: 0, or -1 for a verdict that is not
 * the expected one. (Not inlined: a profiler sees it as one function.) */
__attribute__((noinline)) static int
one_request(struct framing *f, const char *req, size_t len, size_t head,
    uint64_t body)
{
	struct framing_step s;
	uint64_t left;

	/* what the kernel still holds of an approved request: none */
	if (framing_body_left(f) != 0)
		return -1;
	s = framing_feed(f, req, len);
	if (s.verdict != FRAMING_HEAD || s.consumed != head ||
	    framing_rewrites(f) != 0)
		return -1;
	sink += (uint64_t)framing_request(f)->head_method;
	left = framing_body_left(f);
	if (left != body)
		return -1;
	if (left > 0)
		framing_body_done(f, left);
	return framing_body_left(f) == 0 && framing_idle(f) ? 0 : -1;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct framing_policy pol;
	struct framing *f;
	const char *head = post_head;
	size_t len = sizeof(post_head) - 1;
	uint64_t body = POST_BODY;
	char *req;
	long n = 100000, i;
	double t0, t;
	int ch;

	while ((ch = getopt(argc, argv, "n:h:")) != -1) {
		switch (ch) {
		case 'n':
			n = atol(optarg);
			break;
		case 'h':
			if (strcmp(optarg, "get") == 0) {
				head = get_head;
				len = sizeof(get_head) - 1;
				body = 0;
			} else if (strcmp(optarg, "post") != 0) {
				goto usage;
			}
			break;
		default:
			goto usage;
		}
	}
	if (n < 1 || optind != argc)
		goto usage;
	/* the request as the host's read gets it: the head, then its body */
	if ((req = malloc(len + body)) == NULL) {
		fprintf(stderr, "keepalive_bench: out of memory\n");
		return 1;
	}
	memcpy(req, head, len);
	memset(req + len, 'x', body);
	framing_policy_default(&pol);
	if ((f = framing_new(&pol)) == NULL) {
		fprintf(stderr, "keepalive_bench: out of memory\n");
		return 1;
	}
	t0 = now();
	for (i = 0; i < n; i++)
		if (one_request(f, req, len + body, len, body) != 0) {
			fprintf(stderr, "keepalive_bench: request %ld: not the "
			    "verdict expected\n", i);
			framing_free(f);
			free(req);
			return 1;
		}
	t = now() - t0;
	printf("keepalive_bench: %s, %ld requests on one connection, "
	    "%.1f ns/request\n", body ? "POST" : "GET", n, t / (double)n * 1e9);
	framing_free(f);
	free(req);
	return 0;
usage:
	fprintf(stderr, "usage: keepalive_bench [-n requests] [-h post|get]\n");
	return 2;
}
