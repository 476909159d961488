/*
 * preload.c - lengthguard inside an unmodified server (LD_PRELOAD).
 *
 * Every connection the host accepts on a TCP listener (AF_INET, AF_INET6)
 * gets a struct guard: the core's inspector over the bytes the client sent.
 * The kernel stays the only buffer: a read first peeks (MSG_PEEK) at what
 * is queued, feeds the core the bytes it has not seen yet, and then lets
 * the host read at most up to the end of the approved request (its head,
 * then its Content-Length body, which is counted, never copied). A refused
 * request gets the prebuilt reply from the pages module, written here, and
 * the host sees end of stream. docs/preload.md has the design and the
 * evidence for which calls are interposed.
 *
 * Nothing here aborts at request time; only the constructor exits, on a
 * broken configuration or pages directory.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/resource.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "framing.h"
#include "httpdate.h"
#include "lit.h"
#include "pages.h"

#define EXPORT __attribute__((visibility("default")))

/* the default pages directory when LENGTHGUARD_CONF and LENGTHGUARD_PAGES
 * are unset (CMake's LG_PRELOAD_PAGES_DIR) */
#ifndef LG_PRELOAD_PAGES_DIR
#define LG_PRELOAD_PAGES_DIR "/usr/share/lengthguard/pages"
#endif

/* what a refused connection still has queued is drained, without blocking,
 * up to this much, so that closing it does not reset the reply away */
#define DRAIN_MAX	(256 * 1024)
#define DRAIN_CHUNK	4096
/* at most this many iovecs of a readv/recvmsg are used in one call */
#define IOV_USE		64
/* the largest descriptor table kept (descriptors above are not guarded) */
#define TABLE_MAX	(1 << 20)

/* ---------------------------------------------------------------- real calls */

static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
    socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_close)(int);

/* ---------------------------------------------------------------- state */

/*
 * One guarded connection. `fed` bytes at the front of the kernel's queue
 * were given to the core and not yet read by the host: all of them belong
 * to the head being inspected (or, once `approved`, to the approved head).
 * After approval the host may read `fed` + framing_body_left() bytes.
 */
struct guard {
	pthread_mutex_t lock;		/* held for one read, peek included */
	int	refs;			/* the table's, and each caller's (tlock) */
	struct framing *fr;
	char   *buf;			/* peeks land here: the whole head so far */
	size_t	cap;
	size_t	fed;
	int	approved;
	int	done;			/* refused or finished: the host sees EOF */
	int	lowat;			/* SO_RCVLOWAT as we set it */
};

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static struct guard **table;
static size_t table_len;

static struct conf conf;
static struct framing_policy policy;
static struct pages *pages;

static void
guard_free(struct guard *g)
{
	framing_free(g->fr);
	free(g->buf);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* The guard of `fd` with a reference for the caller, or NULL. */
static struct guard *
guard_get(int fd)
{
	struct guard *g = NULL;

	if (fd < 0 || table == NULL)
		return NULL;
	pthread_mutex_lock(&tlock);
	if ((size_t)fd < table_len && (g = table[fd]) != NULL)
		g->refs++;
	pthread_mutex_unlock(&tlock);
	return g;
}

static void
guard_put(struct guard *g)
{
	int last;

	pthread_mutex_lock(&tlock);
	last = --g->refs == 0;
	pthread_mutex_unlock(&tlock);
	if (last)
		guard_free(g);
}

/* Replace fd's guard with g (NULL: forget it). */
static void
guard_set(int fd, struct guard *g)
{
	struct guard *old = NULL;

	if (fd < 0 || table == NULL || (size_t)fd >= table_len) {
		if (g)
			guard_put(g);
		return;
	}
	pthread_mutex_lock(&tlock);
	old = table[fd];
	table[fd] = g;
	pthread_mutex_unlock(&tlock);
	if (old)
		guard_put(old);
}

/* ---------------------------------------------------------------- replies */

static void
set_lowat(int fd, struct guard *g, int v)
{
	if (g->lowat == v)
		return;
	/* SO_RCVLOWAT: a blocking peek then waits for a byte not fed yet,
	 * and poll reports the socket readable only when one arrives */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) == 0)
		g->lowat = v;
}

/* Read and drop what the client still has queued, never blocking. */
static void
drain(int fd)
{
	char junk[DRAIN_CHUNK];
	size_t total = 0;
	ssize_t n;

	while (total < DRAIN_MAX &&
	    (n = real_recv(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

/*
 * Answer `status` with the prebuilt page and end the connection for the
 * host: the reply is written without blocking (a page fits in any send
 * buffer), writing is shut down, what is queued is drained.
 */
static void
refuse(int fd, struct guard *g, int status)
{
	struct iovec iov[PAGES_REPLY_IOVS];
	struct httpdate date = { 0 };
	struct msghdr m = { 0 };
	const struct framing_request *r = framing_request(g->fr);
	int saved = errno;

	pages_reply_iov(pages_reply(pages, status, framing_wants_json(g->fr)),
	    httpdate_line(&date, time(NULL)), HTTPDATE_LINE_LEN,
	    r->head_method, iov);
	m.msg_iov = iov;
	m.msg_iovlen = PAGES_REPLY_IOVS;
	(void)sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	set_lowat(fd, g, 1);
	drain(fd);
	g->done = 1;
	errno = saved;
}

/*
 * What an approved head holds that the proxy would rewrite and this front
 * end cannot: a status to refuse it with, or 0. (docs/preload.md, "Rules
 * that differ from the proxy".)
 */
static int
needs_rewrite(const struct guard *g)
{
	const char *p = g->buf, *end = g->buf + g->fed, *eol, *sp;

	/* RFC 9112 §2.2: empty lines before the request line are ignored */
	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += LITLEN("\r\n");
	/* RFC 9112 §3.2.2: an absolute-form target replaces Host; the proxy
	 * rewrites it to origin-form, the host would see both. (The core
	 * approved the request line: one space after the method.) */
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL || sp + 1 >= end ||
	    (sp[1] != '/' && sp[1] != '*'))
		return 400;
	/* the proxy drops Proxy (httpoxy); the head was validated by the
	 * core, so its lines end in CRLF and have no obs-fold */
	while ((eol = memmem(p, (size_t)(end - p), "\r\n", LITLEN("\r\n"))) != NULL &&
	    eol != p) {
		if ((size_t)(eol - p) > LITLEN("proxy:") &&
		    strncasecmp(p, "proxy:", LITLEN("proxy:")) == 0)
			return 400;
		p = eol + LITLEN("\r\n");
	}
	return 0;
}

/* ---------------------------------------------------------------- reading */

static int
nonblocking(int fd, int flags)
{
	int fl;

	if (flags & MSG_DONTWAIT)
		return 1;
	fl = fcntl(fd, F_GETFL);
	return fl != -1 && (fl & O_NONBLOCK);
}

/* The client closed its side (or the connection failed)? */
static int
at_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/*
 * How many bytes the host may read from fd now: > 0; 0 when it must see
 * end of stream; -1 with errno as the real call would set it. Peeks and
 * feeds the core until a head is approved or refused. Called with g->lock.
 */
static ssize_t
allowance(int fd, struct guard *g, int flags)
{
	struct framing_step s;
	ssize_t n;
	uint64_t left;
	int nb = 0;
	int status;

	for (;;) {
		if (g->done)
			return 0;
		if (g->approved) {
			left = g->fed + framing_body_left(g->fr);
			if (left > 0)
				return left > (uint64_t)SSIZE_MAX ? SSIZE_MAX : (ssize_t)left;
			g->approved = 0;	/* the request is read whole */
		}
		set_lowat(fd, g, g->fed + 1 > (size_t)INT_MAX ? INT_MAX : (int)g->fed + 1);
		/* the common case first, without asking how the socket
		 * blocks: new bytes are there */
		n = real_recv(fd, g->buf, g->cap, MSG_PEEK | MSG_DONTWAIT);
		if ((n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ||
		    (n > 0 && (size_t)n <= g->fed && !at_eof(fd))) {
			if ((nb = nonblocking(fd, flags)) != 0) {
				errno = EAGAIN;
				return -1;
			}
			n = real_recv(fd, g->buf, g->cap, MSG_PEEK);
		}
		if (n < 0)
			return -1;
		if (n == 0 || (size_t)n <= g->fed) {
			if (n > 0 && !at_eof(fd)) {
				/* nothing new: a signal or SO_RCVTIMEO woke
				 * a blocking peek, or nothing came yet */
				errno = nb ? EAGAIN : EINTR;
				return -1;
			}
			s = framing_eof(g->fr);
			if (s.verdict == FRAMING_REJECT)
				refuse(fd, g, framing_status(g->fr));
			set_lowat(fd, g, 1);
			g->done = 1;
			return 0;
		}
		s = framing_feed(g->fr, g->buf + g->fed, (size_t)n - g->fed);
		switch (s.verdict) {
		case FRAMING_MORE:
			g->fed += s.consumed;
			if (g->fed >= g->cap) {
				/* the core refuses a head over max_head_size
				 * before this; never wait on a full buffer */
				refuse(fd, g, 431);
				return 0;
			}
			break;
		case FRAMING_HEAD:
			g->fed += s.consumed;
			set_lowat(fd, g, 1);
			if ((status = needs_rewrite(g)) != 0) {
				refuse(fd, g, status);
				return 0;
			}
			g->approved = 1;
			break;
		case FRAMING_REJECT:
			refuse(fd, g, framing_status(g->fr));
			return 0;
		case FRAMING_BODY:	/* never fed body bytes */
		case FRAMING_CLOSED:	/* the last request asked to close */
		default:
			set_lowat(fd, g, 1);
			g->done = 1;
			return 0;
		}
	}
}

/* The host read n bytes of an allowance: account for them. */
static void
consumed(struct guard *g, ssize_t n)
{
	size_t head;

	if (n <= 0)
		return;
	head = (size_t)n < g->fed ? (size_t)n : g->fed;
	g->fed -= head;
	if ((size_t)n > head)
		framing_body_done(g->fr, (uint64_t)n - head);
}

/*
 * The guarded form of every read call: `op` reads at most `max` bytes
 * (flags are the host's, MSG_PEEK included: a peek is not consumed).
 */
typedef ssize_t (*read_op)(int fd, size_t max, void *arg);

static ssize_t
guarded(int fd, struct guard *g, int flags, read_op op, void *arg)
{
	ssize_t a, n;

	pthread_mutex_lock(&g->lock);
	a = allowance(fd, g, flags);
	if (a <= 0) {
		pthread_mutex_unlock(&g->lock);
		return a;
	}
	n = op(fd, (size_t)a, arg);
	if (!(flags & MSG_PEEK))
		consumed(g, n);
	pthread_mutex_unlock(&g->lock);
	return n;
}

struct buf_args {
	void   *buf;
	size_t	len;
	int	flags;
	struct sockaddr *from;
	socklen_t *fromlen;
};

static ssize_t
op_recvfrom(int fd, size_t max, void *arg)
{
	struct buf_args *b = arg;

	return real_recvfrom(fd, b->buf, b->len < max ? b->len : max, b->flags,
	    b->from, b->fromlen);
}

/* Copy at most IOV_USE iovecs of `iov`, cut to `max` bytes in all. */
static int
iov_cut(const struct iovec *iov, int cnt, size_t max, struct iovec *out)
{
	int i, k = 0;

	for (i = 0; i < cnt && k < IOV_USE && max > 0; i++) {
		out[k] = iov[i];
		if (out[k].iov_len > max)
			out[k].iov_len = max;
		max -= out[k].iov_len;
		k++;
	}
	return k;
}

struct iov_args {
	const struct iovec *iov;
	int	cnt;
	struct msghdr *msg;
	int	flags;
};

static ssize_t
op_readv(int fd, size_t max, void *arg)
{
	struct iov_args *v = arg;
	struct iovec cut[IOV_USE];

	return real_readv(fd, cut, iov_cut(v->iov, v->cnt, max, cut));
}

static ssize_t
op_recvmsg(int fd, size_t max, void *arg)
{
	struct iov_args *v = arg;
	struct iovec cut[IOV_USE];
	struct msghdr m = *v->msg;
	ssize_t n;

	m.msg_iov = cut;
	m.msg_iovlen = (size_t)iov_cut(v->msg->msg_iov, (int)v->msg->msg_iovlen,
	    max, cut);
	n = real_recvmsg(fd, &m, v->flags);
	v->msg->msg_controllen = m.msg_controllen;
	v->msg->msg_flags = m.msg_flags;
	v->msg->msg_namelen = m.msg_namelen;
	return n;
}

/* ---------------------------------------------------------------- accept */

/* Start guarding an accepted descriptor. 0, or -1 when it cannot be
 * guarded (the connection is then closed: nothing unguarded gets in). */
static int
guard_accepted(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);
	struct guard *g;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_STREAM) {
		guard_set(fd, NULL);	/* a stale entry of a reused number */
		return 0;
	}
	if ((size_t)fd >= table_len || (g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->refs = 1;
	g->lowat = 1;		/* the kernel's default */
	g->cap = policy.max_head_size + 1;
	if ((g->buf = malloc(g->cap)) == NULL ||
	    (g->fr = framing_new(&policy)) == NULL) {
		free(g->buf);
		free(g);
		return -1;
	}
	pthread_mutex_init(&g->lock, NULL);
	guard_set(fd, g);
	return 0;
}

static int
accepted(int fd)
{
	if (fd >= 0 && guard_accepted(fd) != 0) {
		real_close(fd);
		errno = ENOBUFS;
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------- interposed */

EXPORT int
accept(int s, struct sockaddr *addr, socklen_t *len)
{
	return accepted(real_accept(s, addr, len));
}

EXPORT int
accept4(int s, struct sockaddr *addr, socklen_t *len, int flags)
{
	return accepted(real_accept4(s, addr, len, flags));
}

EXPORT ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
    socklen_t *fromlen)
{
	struct guard *g = guard_get(fd);
	struct buf_args b = { buf, len, flags, from, fromlen };
	ssize_t n;

	if (g == NULL || len == 0) {
		if (g)
			guard_put(g);
		return real_recvfrom(fd, buf, len, flags, from, fromlen);
	}
	n = guarded(fd, g, flags, op_recvfrom, &b);
	guard_put(g);
	return n;
}

EXPORT ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

EXPORT ssize_t
read(int fd, void *buf, size_t len)
{
	struct guard *g = guard_get(fd);

	if (g == NULL)
		return real_read(fd, buf, len);
	guard_put(g);
	return recvfrom(fd, buf, len, 0, NULL, NULL);
}

EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	struct guard *g = guard_get(fd);
	struct iov_args v = { iov, cnt, NULL, 0 };
	ssize_t n;

	if (g == NULL)
		return real_readv(fd, iov, cnt);
	n = guarded(fd, g, 0, op_readv, &v);
	guard_put(g);
	return n;
}

EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct guard *g = guard_get(fd);
	struct iov_args v = { NULL, 0, msg, flags };
	ssize_t n;

	if (g == NULL)
		return real_recvmsg(fd, msg, flags);
	n = guarded(fd, g, flags, op_recvmsg, &v);
	guard_put(g);
	return n;
}

/* _FORTIFY_SOURCE variants: glibc's checks, then the guarded call */
EXPORT ssize_t __read_chk(int, void *, size_t, size_t);
EXPORT ssize_t __recv_chk(int, void *, size_t, size_t, int);
EXPORT ssize_t __recvfrom_chk(int, void *, size_t, size_t, int,
    struct sockaddr *, socklen_t *);

static void
chk_fail(void)
{
	void (*f)(void) = (void (*)(void))dlsym(RTLD_NEXT, "__chk_fail");

	if (f)
		f();
	_exit(127);	/* as __chk_fail: a buffer overflow of the host */
}

EXPORT ssize_t
__read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		chk_fail();
	return read(fd, buf, len);
}

EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		chk_fail();
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
    struct sockaddr *from, socklen_t *fromlen)
{
	if (len > buflen)
		chk_fail();
	return recvfrom(fd, buf, len, flags, from, fromlen);
}

EXPORT int
close(int fd)
{
	struct guard *g = guard_get(fd);

	if (g != NULL) {
		/* a refused connection: what came since is dropped first,
		 * so that the close does not reset the reply away (not while
		 * another thread is in a read of it: never block a close) */
		if (pthread_mutex_trylock(&g->lock) == 0) {
			if (g->done)
				drain(fd);
			pthread_mutex_unlock(&g->lock);
		}
		guard_put(g);
		guard_set(fd, NULL);
	}
	return real_close(fd);
}

/* ---------------------------------------------------------------- loading */

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "lengthguard-preload: %s%s%s\n", what,
	    detail ? ": " : "", detail ? detail : "");
	_exit(1);
}

#define RESOLVE(name) do {						\
	*(void **)&real_##name = dlsym(RTLD_NEXT, #name);		\
	if (real_##name == NULL)					\
		die("cannot resolve " #name, dlerror());		\
} while (0)

/*
 * Resolve the real calls, load the configuration and the pages, size the
 * table. Runs when the library is loaded, before the host's main: a broken
 * configuration stops the program here, never at request time.
 */
__attribute__((constructor)) static void
preload_init(void)
{
	const char *path = getenv("LENGTHGUARD_CONF");
	const char *dir = getenv("LENGTHGUARD_PAGES");
	struct rlimit rl;
	unsigned flags = 0;

	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(read);
	RESOLVE(readv);
	RESOLVE(recv);
	RESOLVE(recvfrom);
	RESOLVE(recvmsg);
	RESOLVE(close);

	if (path != NULL && *path != '\0') {
		if (conf_load(path, &conf, stderr) != 0)
			die("configuration failed", path);
		policy = conf.policy;
		if (dir == NULL || *dir == '\0')
			dir = conf.pages_dir;
		if (!conf.server_header)
			flags |= PAGES_NO_SERVER;
	} else {
		framing_policy_default(&policy);
	}
	if (dir == NULL || *dir == '\0')
		dir = LG_PRELOAD_PAGES_DIR;
	/* the proxy drops such fields; the host would receive them */
	if (policy.underscores == FRAMING_UNDERSCORES_DROP)
		policy.underscores = FRAMING_UNDERSCORES_REJECT;
	/* nothing is rewritten in-process: a chunked body cannot become a
	 * Content-Length one here, so it is refused (411) whatever the conf
	 * says for the proxy */
	policy.chunked = FRAMING_CHUNKED_REJECT;
	/* monitor mode is the proxy's: its forwarded requests need a head
	 * written anew and a connection of their own upstream */
	policy.mode = FRAMING_ENFORCE;
	if ((pages = pages_load_with(dir, flags, stderr)) == NULL)
		die("cannot load the pages", dir);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY ||
	    rl.rlim_max > TABLE_MAX)
		rl.rlim_max = TABLE_MAX;
	if ((table = calloc(rl.rlim_max, sizeof(*table))) == NULL)
		die("cannot allocate the descriptor table", NULL);
	table_len = rl.rlim_max;
}
