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
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "conf.h"
#include "framing.h"
#include "httpdate.h"
#include "lit.h"
#include "pages.h"
#include "reason.h"

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
/* a blocking peek that returns nothing new this close to the host's
 * SO_RCVTIMEO (or later) timed out; earlier, a signal woke it */
#define RCVTIMEO_SLACK_NS	(10 * 1000 * 1000)
/* the environment variable naming the socket (st_dev:st_ino) an inetd-style
 * fd 0 was guarded as: an image exec'ed later with it does not judge it
 * again (its next bytes may be a body the first image approved) */
#define INETD_ENV	"LENGTHGUARD_INETD_SOCKET"
#define SYSLOG_PATH	"/dev/log"

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
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);

static void die(const char *, const char *) __attribute__((noreturn));

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
	int	rearm;			/* the approved request's end is not
					   where the peek ended: after the host
					   read it, signal readiness again */
	int	done;			/* refused or finished: the host sees EOF */
	int	refused;		/* a reply of ours was sent */
	int	lowat;			/* SO_RCVLOWAT as set (atomic) */
	int	host_lowat;		/* the host's own SO_RCVLOWAT (atomic) */
	int	nonblock;		/* O_NONBLOCK of the description (atomic):
					   from accept4, F_SETFL, FIONBIO */
	struct timespec t_start;	/* the head's first byte was seen */
};

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static struct guard **table;
static size_t table_len;
static size_t table_hi;			/* no guard above this index */

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

	if (fd < 0 || table == NULL || (size_t)fd >= table_len)
		return NULL;
	/* most reads are of files, pipes, other sockets: no lock for them
	 * (a descriptor's guard is set by the call that made it) */
	if (__atomic_load_n(&table[fd], __ATOMIC_ACQUIRE) == NULL)
		return NULL;
	pthread_mutex_lock(&tlock);
	if ((g = table[fd]) != NULL)
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
	__atomic_store_n(&table[fd], g, __ATOMIC_RELEASE);
	if (g != NULL && (size_t)fd > table_hi)
		table_hi = (size_t)fd;
	pthread_mutex_unlock(&tlock);
	if (old)
		guard_put(old);
}

/* newfd now names what oldfd names (dup*, F_DUPFD): the same guard, or
 * none. Returns newfd. */
static int
aliased(int oldfd, int newfd)
{
	if (newfd >= 0 && oldfd != newfd && table != NULL)
		guard_set(newfd, guard_get(oldfd));
	return newfd;
}

/*
 * fork: no lock may be inherited held. The table's lock is taken around
 * the fork; in the child, every guard's lock is made anew (a thread of the
 * parent may have held one, in a blocking read: no such thread exists in
 * the child, and a guard is consistent whenever its lock is free or held
 * across that read).
 */
static void
fork_prepare(void)
{
	pthread_mutex_lock(&tlock);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&tlock);
}

static void
fork_child(void)
{
	size_t i;

	pthread_mutex_init(&tlock, NULL);
	for (i = 0; table != NULL && i <= table_hi && i < table_len; i++)
		if (table[i] != NULL)
			pthread_mutex_init(&table[i]->lock, NULL);
}

/* ---------------------------------------------------------------- replies */

static int
load_int(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void
store_int(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/*
 * SO_RCVLOWAT to v, at least the host's own: while a head is incomplete,
 * one more than the bytes fed, so that a blocking peek waits for a byte
 * not fed yet and poll/select/epoll report the socket readable only when
 * one (or EOF) arrives; else the host's value.
 */
static void
set_lowat(int fd, struct guard *g, int v)
{
	int host = load_int(&g->host_lowat);

	if (v < host)
		v = host;
	if (load_int(&g->lowat) == v)
		return;
	if (real_setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) == 0)
		store_int(&g->lowat, v);
}

/* ---------------------------------------------------------------- logging */

/* Send one line (its "\n" dropped) to syslog as LOG_DAEMON | LOG_NOTICE,
 * over a socket of its own that lives for this call only. */
static void
log_syslog(const char *line, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[ACCESSLOG_LINE_MAX + 128], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n;

	localtime_r(&now, &tm);
	if (strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
		return;
	n = snprintf(msg, sizeof(msg), "<%d>%s lengthguard-preload[%d]: %.*s",
	    LOG_DAEMON | LOG_NOTICE, stamp, (int)getpid(), (int)(len - 1), line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	memcpy(sa.sun_path, SYSLOG_PATH, sizeof(SYSLOG_PATH));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, sizeof(sa));
	real_close(fd);
}

/*
 * The access log line of a refusal, in the proxy's format, to [preload]
 * log: a file opened for this line only (no descriptor of ours lives in
 * the host, which may close or dup2 over any number) or syslog.
 */
static void
log_refusal(int fd, struct guard *g, int status, const char *verdict,
    uint64_t bytes)
{
	struct accesslog_request l;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "-", line[ACCESSLOG_LINE_MAX + 1];
	struct accesslog_stamp stamp;
	struct timespec now;
	size_t len;
	int lf;

	if (conf.preload_log == NULL)
		return;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			    addr, sizeof(addr));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&ss)->sin6_addr, addr,
			    sizeof(addr));
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(&l, 0, sizeof(l));
	l.addr = addr;
	accesslog_request_from(&l, g->fr);
	l.status = status;
	l.bytes = bytes;
	l.rt = g->t_start.tv_sec == 0 ? 0 :
	    (double)(now.tv_sec - g->t_start.tv_sec) +
	    (double)(now.tv_nsec - g->t_start.tv_nsec) / 1e9;
	l.urt = -1;
	l.verdict = verdict;
	if (framing_refusal(g->fr) != REASON_NONE)
		l.reason = reason_label(framing_refusal(g->fr));
	l.cls = reason_desync_label(framing_desync(g->fr));
	accesslog_stamp(&stamp, time(NULL));
	len = accesslog_format(line, sizeof(line),
	    conf.log_format == CONF_LOG_JSON, &stamp, &l);
	if (len == 0)
		return;
	if (strcmp(conf.preload_log, "syslog") == 0) {
		log_syslog(line, len);
		return;
	}
	lf = open(conf.preload_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0644);
	if (lf < 0)
		return;		/* nowhere to say it; the reply went out */
	if (write(lf, line, len) < 0)
		len = 0;	/* as above */
	real_close(lf);
}

/* ---------------------------------------------------------------- replies */

/* The host sees end of stream from now on, and so do poll, select and
 * epoll: a read side shut down is readable (Linux reports POLLIN and
 * POLLRDHUP, and wakes every waiter at once). */
static void
finish(int fd, struct guard *g)
{
	set_lowat(fd, g, 1);
	(void)shutdown(fd, SHUT_RD);
	g->done = 1;
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
 * buffer), both directions are shut down (the host's poll/epoll sees EOF at
 * once), what is queued is drained; the refusal is logged. verdict: the
 * log's text, NULL for the core's own.
 */
static void
refuse(int fd, struct guard *g, int status, const char *verdict)
{
	struct iovec iov[PAGES_REPLY_IOVS];
	struct httpdate date = { 0 };
	struct msghdr m = { 0 };
	const struct framing_request *r = framing_request(g->fr);
	int saved = errno;

	size_t bytes;

	bytes = pages_reply_iov(pages_reply(pages, status,
	    framing_wants_json(g->fr)), httpdate_line(&date, time(NULL)),
	    HTTPDATE_LINE_LEN, r->head_method, iov);
	m.msg_iov = iov;
	m.msg_iovlen = PAGES_REPLY_IOVS;
	(void)sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_RDWR);
	set_lowat(fd, g, 1);
	drain(fd);
	g->done = g->refused = 1;
	log_refusal(fd, g, status, verdict != NULL ? verdict :
	    reason_text(framing_refusal(g->fr)), bytes);
	errno = saved;
}

/*
 * What an approved head holds that the proxy would rewrite and this front
 * end cannot: a status to refuse it with, or 0. (docs/preload.md, "Rules
 * that differ from the proxy".)
 */
static int
needs_rewrite(const struct guard *g, const char **why)
{
	const char *p = g->buf, *end = g->buf + g->fed, *eol, *sp;

	/* RFC 9112 §2.2: empty lines before the request line are ignored */
	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += LITLEN("\r\n");
	/* RFC 9112 §3.2.2: an absolute-form target replaces Host; the proxy
	 * rewrites it to origin-form, the host would see both. (The core
	 * approved the request line: one space after the method.) */
	*why = "absolute-form target (no rewriting in-process)";
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL || sp + 1 >= end ||
	    (sp[1] != '/' && sp[1] != '*'))
		return 400;
	*why = "Proxy field (no dropping in-process)";
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

/* Did a blocking peek that returned nothing new, started at t0, wait for
 * the host's SO_RCVTIMEO (rather than being woken by a signal)? */
static int
timed_out(int fd, const struct timespec *t0)
{
	struct timeval tv = { 0 };
	socklen_t tl = sizeof(tv);
	struct timespec t1;
	int64_t waited, limit;

	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) != 0 ||
	    (tv.tv_sec == 0 && tv.tv_usec == 0))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000000 +
	    (t1.tv_nsec - t0->tv_nsec);
	limit = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
	return waited + RCVTIMEO_SLACK_NS >= limit;
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
 *
 * The peek blocks as the host's read would: MSG_DONTWAIT when the host
 * asked for it or the socket is non-blocking (tracked, never asked), else
 * a blocking peek, which SO_RCVLOWAT keeps from returning the bytes fed
 * already. A blocking peek that returns nothing new was woken by the
 * host's SO_RCVTIMEO (EAGAIN, as the real call) or by a signal (EINTR).
 */
static ssize_t
allowance(int fd, struct guard *g, int flags)
{
	struct framing_step s;
	struct timespec t0;
	const char *why = NULL;
	ssize_t n;
	uint64_t left;
	int nb, status;

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
		nb = (flags & MSG_DONTWAIT) || load_int(&g->nonblock);
		if (nb) {
			n = real_recv(fd, g->buf, g->cap, MSG_PEEK | MSG_DONTWAIT);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			n = real_recv(fd, g->buf, g->cap, MSG_PEEK);
		}
		if (n < 0)
			return -1;	/* EAGAIN, EINTR, ECONNRESET...: as is */
		if (n > 0 && (size_t)n <= g->fed && !at_eof(fd)) {
			/* nothing new */
			errno = nb || timed_out(fd, &t0) ? EAGAIN : EINTR;
			return -1;
		}
		if (n == 0 || (size_t)n <= g->fed) {
			s = framing_eof(g->fr);
			if (s.verdict == FRAMING_REJECT) {
				refuse(fd, g, framing_status(g->fr), NULL);
				return 0;
			}
			/* the client closed between requests: the kernel
			 * reports EOF itself */
			set_lowat(fd, g, 1);
			g->done = 1;
			return 0;
		}
		if (g->fed == 0)
			clock_gettime(CLOCK_MONOTONIC, &g->t_start);
		s = framing_feed(g->fr, g->buf + g->fed, (size_t)n - g->fed);
		switch (s.verdict) {
		case FRAMING_MORE:
			g->fed += s.consumed;
			if (g->fed >= g->cap) {
				/* the core refuses a head over max_head_size
				 * before this; never wait on a full buffer */
				refuse(fd, g, 431, NULL);
				return 0;
			}
			break;
		case FRAMING_HEAD:
			g->fed += s.consumed;
			set_lowat(fd, g, 1);
			if ((status = needs_rewrite(g, &why)) != 0) {
				refuse(fd, g, status, why);
				return 0;
			}
			g->approved = 1;
			/* the peek saw bytes past this request, or did not
			 * see its end: the host may need a new wake-up for
			 * what follows (edge-triggered epoll) */
			g->rearm = (uint64_t)n != g->fed + framing_body_left(g->fr);
			break;
		case FRAMING_REJECT:
			refuse(fd, g, framing_status(g->fr), NULL);
			return 0;
		case FRAMING_BODY:	/* never fed body bytes */
		case FRAMING_CLOSED:	/* the last request asked to close */
		default:
			finish(fd, g);
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
guarded(int fd, struct guard *g, int flags, size_t want, read_op op, void *arg)
{
	ssize_t a, n;
	int v;

	pthread_mutex_lock(&g->lock);
	a = allowance(fd, g, flags);
	if (a <= 0) {
		pthread_mutex_unlock(&g->lock);
		return a;
	}
	n = op(fd, (size_t)a, arg);
	if (!(flags & MSG_PEEK)) {
		consumed(g, n);
		/* The read was cut at the request's end and more may be
		 * queued: an edge-triggered host that stops at a short read
		 * would wait for an edge that never comes. Setting
		 * SO_RCVLOWAT makes Linux signal readiness again when bytes
		 * are queued (tcp_set_rcvlowat calls tcp_data_ready). */
		if (n > 0 && n == a && (size_t)n < want && g->rearm &&
		    g->fed == 0 && framing_body_left(g->fr) == 0) {
			g->rearm = 0;
			v = load_int(&g->lowat);
			(void)real_setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v,
			    sizeof(v));
		}
	}
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

static size_t
iov_total(const struct iovec *iov, int cnt)
{
	size_t t = 0;
	int i;

	for (i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
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

/* Is a descriptor a TCP socket this library guards? 1 (its local port in
 * [preload] ports, if listed), 0 if not. */
static int
guardable(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0, i;
	socklen_t tl = sizeof(type);
	uint16_t port;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_STREAM)
		return 0;
	if (conf.npreload_ports == 0)
		return 1;
	port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	for (i = 0; i < conf.npreload_ports; i++)
		if (conf.preload_ports[i] == port)
			return 1;
	return 0;
}

/* A new guard for fd; 0, or -1 when out of memory or the table. */
static int
guard_new(int fd, int nonblock)
{
	struct guard *g;
	int v = 1;
	socklen_t vl = sizeof(v);

	if ((size_t)fd >= table_len || (g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->refs = 1;
	/* SO_RCVLOWAT is inherited from the listener: the host's own */
	if (getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &vl) != 0 || v < 1)
		v = 1;
	g->lowat = g->host_lowat = v;
	g->nonblock = nonblock;
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

/* Start guarding an accepted descriptor. 0, or -1 when it cannot be
 * guarded (the connection is then closed: nothing unguarded gets in). */
static int
guard_accepted(int fd, int flags)
{
	if (!guardable(fd)) {
		guard_set(fd, NULL);	/* a stale entry of a reused number */
		return 0;
	}
	return guard_new(fd, (flags & SOCK_NONBLOCK) != 0);
}

static int
accepted(int fd, int flags)
{
	if (fd >= 0 && guard_accepted(fd, flags) != 0) {
		real_close(fd);
		errno = ENOBUFS;
		return -1;
	}
	return fd;
}

/*
 * An inetd-style start: fd 0 a connected TCP socket. Guarded only with
 * [preload] inetd = on, and only in the first image that sees that socket
 * (INETD_ENV): a program it execs with the socket as stdin, after the
 * approved head was read, must not judge the body as a new head. Its
 * aliases among fds 1 and 2 share the guard.
 */
static void
guard_inetd(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat st, st2;
	char id[64];
	const char *seen = getenv(INETD_ENV);
	int fl, fd;

	if (!conf.preload_inetd || fstat(0, &st) != 0 || !S_ISSOCK(st.st_mode))
		return;
	snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	if (seen != NULL && strcmp(seen, id) == 0)
		return;
	if (!guardable(0) || getpeername(0, (struct sockaddr *)&ss, &sl) != 0)
		return;
	fl = real_fcntl(0, F_GETFL);
	if (guard_new(0, fl != -1 && (fl & O_NONBLOCK)) != 0)
		die("cannot guard fd 0", NULL);
	for (fd = 1; fd <= 2; fd++)
		if (fstat(fd, &st2) == 0 && st2.st_dev == st.st_dev &&
		    st2.st_ino == st.st_ino)
			aliased(0, fd);
	if (setenv(INETD_ENV, id, 1) != 0)
		die("cannot set " INETD_ENV, NULL);
}

/* ---------------------------------------------------------------- interposed */

EXPORT int
accept(int s, struct sockaddr *addr, socklen_t *len)
{
	return accepted(real_accept(s, addr, len), 0);
}

EXPORT int
accept4(int s, struct sockaddr *addr, socklen_t *len, int flags)
{
	return accepted(real_accept4(s, addr, len, flags), flags);
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
	n = guarded(fd, g, flags, len, op_recvfrom, &b);
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
	struct buf_args b = { buf, len, 0, NULL, NULL };
	ssize_t n;

	if (g == NULL || len == 0) {
		if (g)
			guard_put(g);
		return real_read(fd, buf, len);
	}
	n = guarded(fd, g, 0, len, op_recvfrom, &b);
	guard_put(g);
	return n;
}

EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	struct guard *g = guard_get(fd);
	struct iov_args v = { iov, cnt, NULL, 0 };
	ssize_t n;

	if (g == NULL)
		return real_readv(fd, iov, cnt);
	n = guarded(fd, g, 0, iov_total(iov, cnt), op_readv, &v);
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
	n = guarded(fd, g, flags, iov_total(msg->msg_iov, (int)msg->msg_iovlen),
	    op_recvmsg, &v);
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
			if (g->refused)
				drain(fd);
			pthread_mutex_unlock(&g->lock);
		}
		guard_put(g);
		guard_set(fd, NULL);
	}
	return real_close(fd);
}

EXPORT int
dup(int fd)
{
	return aliased(fd, real_dup(fd));
}

EXPORT int
dup2(int fd, int nfd)
{
	return aliased(fd, real_dup2(fd, nfd));
}

EXPORT int
dup3(int fd, int nfd, int flags)
{
	return aliased(fd, real_dup3(fd, nfd, flags));
}

/* fcntl's third argument is read as glibc does: one word, whatever cmd. */
static int
fcntl_after(int fd, int cmd, void *arg, int r)
{
	struct guard *g;

	if (r < 0)
		return r;
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return aliased(fd, r);
	if (cmd == F_SETFL && (g = guard_get(fd)) != NULL) {
		store_int(&g->nonblock, ((int)(intptr_t)arg & O_NONBLOCK) != 0);
		guard_put(g);
	}
	return r;
}

EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_after(fd, cmd, arg, real_fcntl(fd, cmd, arg));
}

/* what glibc's headers call for fcntl with _FILE_OFFSET_BITS=64 */
EXPORT int fcntl64(int, int, ...);

EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_after(fd, cmd, arg, real_fcntl64(fd, cmd, arg));
}

EXPORT int
ioctl(int fd, unsigned long req, ...)
{
	struct guard *g;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	r = real_ioctl(fd, req, arg);
	if (r == 0 && req == FIONBIO && arg != NULL &&
	    (g = guard_get(fd)) != NULL) {
		store_int(&g->nonblock, *(int *)arg != 0);
		guard_put(g);
	}
	return r;
}

/* The host's own SO_RCVLOWAT: kept, and never lowered by the guard. */
EXPORT int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct guard *g;
	int r = real_setsockopt(fd, level, name, val, len);
	int v;

	if (r == 0 && level == SOL_SOCKET && name == SO_RCVLOWAT &&
	    len >= (socklen_t)sizeof(int) && (g = guard_get(fd)) != NULL) {
		memcpy(&v, val, sizeof(v));
		store_int(&g->host_lowat, v < 1 ? 1 : v);
		store_int(&g->lowat, v);	/* set again at the next read */
		guard_put(g);
	}
	return r;
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
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(fcntl);
	RESOLVE(ioctl);
	RESOLVE(setsockopt);
	*(void **)&real_fcntl64 = dlsym(RTLD_NEXT, "fcntl64");
	if (real_fcntl64 == NULL)	/* a glibc before 2.28 */
		real_fcntl64 = real_fcntl;

	if (path != NULL && *path != '\0') {
		if (conf_load_preload(path, &conf, stderr) != 0)
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
	if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
		die("cannot register the fork handlers", NULL);
	guard_inetd();
}
