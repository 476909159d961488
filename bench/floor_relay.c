/*
 * floor_relay.c - the floor of bench/e2e: what a relay costs that moves
 * the bytes of the benchmark with the system calls lengthguard makes, and
 * does nothing else (no parsing, no policy, no timers, no logs).
 *
 *   floor_relay -l PORT -u UPSTREAM_PORT      relay (loopback only)
 *   floor_relay -l PORT -r FILE               answer FILE, then close
 *
 * Relay: each accepted client gets one upstream connection, opened at
 * accept and kept as long as the client's; then each read (up to 64 KiB)
 * on one side is written to the other. Per request those are the system
 * calls that carry a request and its response through lengthguard on a
 * kept-alive upstream connection: read the client, write the upstream,
 * read its response, write the client (lengthguard peeks at a pooled
 * connection only when its own events cannot have told, src/proxy/pool.h).
 * It is correct
 * for any byte stream because it never looks at one; it relies on the
 * benchmark's shapes only in that one upstream connection per client is
 * as good as a pool when the clients are wrk's kept-alive connections,
 * and that a write seldom blocks (bodies of at most 64 KiB): when one
 * would, it waits for that socket alone (poll), stalling the others.
 *
 * Reply (-r): the 411 path, close after the reply: accept, read the
 * request once (the benchmark sends it in one segment), write FILE,
 * shut down writing, read to EOF, close.
 *
 * Single-threaded, epoll, level-triggered. Not a server: a measure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* One side of a client/upstream pair (the reply mode uses c only). */
struct end {
	int fd;			/* -1 once closed */
	struct end *peer;	/* NULL in the reply mode */
	struct pair *pair;
	int replied;
};

struct pair {
	struct end c, u;
	struct pair *next_dead;	/* freed after the epoll batch */
};

static struct pair *dead;

static char buf[65536];
static char *reply;
static size_t reply_len;

/* Write all of p[0..n) to fd, waiting on fd alone when it is full. */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { fd, POLLOUT, 0 };

			if (poll(&pf, 1, 5000) <= 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Close both ends; the pair is freed once the events in hand are seen. */
static void
pair_close(struct pair *p)
{
	if (p->c.fd >= 0)
		close(p->c.fd);
	if (p->u.fd >= 0)
		close(p->u.fd);
	p->c.fd = p->u.fd = -1;
	p->next_dead = dead;
	dead = p;
}

static int
loopback(int port, int listening)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | (listening ? 0 : SOCK_NONBLOCK), 0);
	int one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (listening) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    listen(fd, 4096) != 0)
			return close(fd), -1;
		return fd;
	}
	/* connect before the socket is non-blocking: loopback answers at once */
	fcntl(fd, F_SETFL, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return close(fd), -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
watch(int ep, struct end *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = e };

	epoll_ctl(ep, EPOLL_CTL_ADD, e->fd, &ev);
}

static void
accept_one(int ep, int lfd, int upstream)
{
	int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	struct pair *p;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p = calloc(1, sizeof(*p));
	p->c.fd = fd;
	p->c.pair = p->u.pair = p;
	p->u.fd = -1;
	if (upstream > 0) {
		if ((p->u.fd = loopback(upstream, 0)) < 0) {
			pair_close(p);
			return;
		}
		p->c.peer = &p->u;
		p->u.peer = &p->c;
		watch(ep, &p->u);
	}
	watch(ep, &p->c);
}

/* Data (or EOF) on e. */
static void
readable(struct end *e)
{
	ssize_t n;

	if (e->fd < 0)		/* closed earlier in this batch */
		return;
	n = read(e->fd, buf, sizeof(buf));
	if (n < 0 && errno == EAGAIN)
		return;
	if (e->peer == NULL) {		/* reply mode */
		if (n > 0 && !e->replied) {
			e->replied = 1;
			if (write_all(e->fd, reply, reply_len) == 0) {
				shutdown(e->fd, SHUT_WR);
				return;
			}
		} else if (n > 0) {
			return;		/* lingering: read on to EOF */
		}
		pair_close(e->pair);
		return;
	}
	if (n <= 0 || write_all(e->peer->fd, buf, (size_t)n) != 0)
		pair_close(e->pair);
}

int
main(int argc, char **argv)
{
	int ch, port = 0, upstream = 0, lfd, ep, i, n;
	struct epoll_event evs[64];
	struct end lend = { -1, NULL, NULL, 0 };
	FILE *fp;

	while ((ch = getopt(argc, argv, "l:u:r:")) != -1) {
		switch (ch) {
		case 'l': port = atoi(optarg); break;
		case 'u': upstream = atoi(optarg); break;
		case 'r':
			if ((fp = fopen(optarg, "rb")) == NULL)
				return perror(optarg), 1;
			reply = malloc(1 << 20);
			reply_len = fread(reply, 1, 1 << 20, fp);
			fclose(fp);
			break;
		default:
			goto usage;
		}
	}
	if (port <= 0 || (upstream > 0) == (reply != NULL))
		goto usage;
	if ((lfd = loopback(port, 1)) < 0)
		return perror("listen"), 1;
	ep = epoll_create1(0);
	lend.fd = lfd;
	watch(ep, &lend);
	printf("floor_relay listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			struct end *e = evs[i].data.ptr;

			if (e == &lend)
				accept_one(ep, lfd, upstream);
			else
				readable(e);
		}
		while (dead != NULL) {
			struct pair *p = dead;

			dead = p->next_dead;
			free(p);
		}
	}
usage:
	fprintf(stderr, "usage: floor_relay -l PORT (-u UPSTREAM_PORT | -r FILE)\n");
	return 2;
}
