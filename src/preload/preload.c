/*
 * preload.c - lengthguard inside an unmodified server (LD_PRELOAD).
 *
 * Every connection the host accepts on a TCP listener (AF_INET, AF_INET6)
 * gets a struct guard: the core's inspector over the bytes the client sent.
 * A read of a head is the host's own read (its flags, at most its length),
 * made into the host's buffer (or, after part of a head or for scattered
 * buffers, into the guard's, then copied): the core judges what came, the
 * host gets the approved bytes, and what is left of an incomplete head
 * stays in the guard (the stash) until the bytes that complete it arrive.
 * When a call returns, the host's memory holds no byte the core has not
 * approved, and the common case costs no system call of the guard's own.
 * An approved body goes straight into the host's buffers, cut at its end.
 * A host buffer smaller than the stash is served by peeking (MSG_PEEK), so
 * that approved bytes are never held with nothing queued in the kernel.
 * A refused request gets the prebuilt reply from the pages module, written
 * here, and the host sees end of stream. docs/preload.md has the design,
 * why readiness stays exact, and the evidence for which calls are
 * interposed.
 *
 * Nothing here aborts at request time; only the constructor exits, on a
 * broken configuration or pages directory.
 */
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/single_threaded.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/futex.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "response.h"

#define EXPORT __attribute__((visibility("default")))
/* a small function of every guarded read: inlined at each call (each
 * call of one not inlined cost the host about 15 instructions) */
#define INLINE inline __attribute__((always_inline))

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
/* the guard's buffer holds at least this much: a read after part of a
 * head, or into scattered buffers, is made into it, at most this long */
#define STASH_MIN	(16 * 1024)
/* the environment variable naming the socket (st_dev:st_ino) an inetd-style
 * fd 0 was guarded as: an image exec'ed later with it does not judge it
 * again (its next bytes may be a body the first image approved) */
#define INETD_ENV	"LENGTHGUARD_INETD_SOCKET"
/* the head of a response of the host's, parsed while a refusal waits for
 * the host's answers (as the proxy's upstream responses: at least this) */
#define ANSWER_HEAD_MIN	(64 * 1024)
/* which of a read call's requests were HEAD is kept for this many */
#define CALL_HEADS	64
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
static int (*real_recvmmsg)(int, struct mmsghdr *, unsigned int, int,
    struct timespec *);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int,
    const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_sendfile)(int, int, off_t *, size_t);
static ssize_t (*real_sendfile64)(int, int, off64_t *, size_t);
static int (*real_close)(int);
static int (*real_fclose)(FILE *);
static FILE *(*real_freopen)(const char *, const char *, FILE *);
static FILE *(*real_freopen64)(const char *, const char *, FILE *);
static int (*real_close_range)(unsigned int, unsigned int, int);
static void (*real_closefrom)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);

static void die(const char *, const char *) __attribute__((noreturn));

/* ---------------------------------------------------------------- state */

/*
 * One guarded connection. The client's bytes, in order: those the host has
 * read; the stash, buf[s_off, s_off + s_len), read from the kernel and not
 * yet the host's, of which the first s_ok are approved and the rest are an
 * incomplete head the core has seen; k_fed approved head bytes at the front
 * of the kernel's queue (only after a peek); framing_body_left() body bytes
 * of the approved request; then bytes nobody has judged. Approved bytes
 * are held in the stash only while the kernel still holds k_fed >= 1 of
 * them (so the socket stays readable), and an unapproved stash only when
 * nothing approved follows it.
 */
enum guard_end {
	END_NONE = 0,
	END_CLOSE,		/* the last request asked to close: EOF */
	END_REFUSE,		/* end_status's reply, then EOF */
};

struct guard {
	pthread_mutex_t lock;		/* held for one read call */
	/* held with `lock`, by a read call that acts on its descriptor,
	 * but never while it waits in the kernel (guarded()); and by woke()
	 * and the fork handlers: a descriptor unnamed() is never acted on
	 * once this is free, and a guard is consistent while it is */
	pthread_mutex_t io;
	int	forking;		/* fork_prepare() holds io */
	/* blocking reads waiting for the lock (lock_wait()), and the word
	 * they sleep on: bumped when the lock is released while some wait */
	unsigned waiters, gen;
	int	refs;			/* the table's, and each caller's (tlock) */
	struct framing *fr;
	char   *buf;			/* the stash, and where reads land */
	size_t	cap;
	size_t	s_off, s_len, s_ok;
	size_t	k_fed;
	enum guard_end end;		/* found after approved bytes the host
					   reads first */
	int	wake;			/* end is END_REFUSE and the host has not
					   been woken for it: once its writes
					   have answered `due` requests, the
					   read side is shut down (counted in
					   `wakes`) */
	/* the requests whose last byte the current read call delivered (the
	 * one under way at its start included): what a host answers before
	 * it reads on. Bit i of call_heads: the i-th was HEAD (its response
	 * has no body); call_lost: a HEAD past CALL_HEADS */
	unsigned call_reqs;
	uint64_t call_heads;
	int	call_lost;
	/* while `wake`: the host's writes, parsed (NULL: the next write
	 * wakes), and the final responses they hold, of `due` */
	struct response *answer;
	unsigned due, answered;
	uint64_t due_heads;
	int	end_status;
	const char *end_why;		/* NULL: the core's reason */
	int	done;			/* refused or finished: the host sees EOF */
	int	refused;		/* a reply of ours was sent */
	struct timespec t_start;	/* the head's first byte was seen */
};

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static struct guard **table;
static size_t table_len;
static size_t table_hi;			/* no guard above this index */
/* the process the table is of (see table_ours()) */
static pid_t table_pid;

/* guards with `wake` set, in this process: writes look at nothing else
 * while it is 0 */
static int wakes;

static struct conf conf;
static struct framing_policy policy;
static struct pages *pages;

/*
 * The table's and the guards' locks, for a process with threads. glibc's
 * __libc_single_threaded stays true until the process first creates a
 * thread, and only the thread running here could create one: while it is
 * true, no other thread can touch a guard, and taking a lock would cost
 * the host two atomic operations per lock for nothing. lock() says whether
 * it took the lock; unlock() releases only a lock taken.
 */
static INLINE int
lock(pthread_mutex_t *m)
{
	if (__libc_single_threaded)
		return 0;
	pthread_mutex_lock(m);
	return 1;
}

static INLINE void
unlock(pthread_mutex_t *m, int held)
{
	if (held)
		pthread_mutex_unlock(m);
}

/* Release a guard's lock taken with pthread_mutex_lock or trylock, and
 * wake the blocking reads that wait for it (lock_wait()). */
static void
guard_unlock(struct guard *g)
{
	pthread_mutex_unlock(&g->lock);
	/* (pairs with the waiter's count before its trylock: either it
	 * gets the lock, or this sees it waiting) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g->waiters, __ATOMIC_RELAXED) > 0) {
		__atomic_add_fetch(&g->gen, 1, __ATOMIC_RELEASE);
		(void)syscall(SYS_futex, &g->gen, FUTEX_WAKE_PRIVATE, INT_MAX,
		    NULL, NULL, 0);
	}
}

/* The guard's wake-up is no longer needed (it happened, or the host read
 * on, or the guard goes). */
static void
wake_clear(struct guard *g)
{
	if (g->wake) {
		g->wake = 0;
		__atomic_sub_fetch(&wakes, 1, __ATOMIC_RELAXED);
	}
	response_free(g->answer);
	g->answer = NULL;
}

static void
guard_free(struct guard *g)
{
	wake_clear(g);
	framing_free(g->fr);
	free(g->buf);
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->io);
	free(g);
}

/* The guard of `fd` with a reference for the caller, or NULL. */
static INLINE struct guard *
guard_get(int fd)
{
	struct guard *g = NULL;
	int held;

	if (fd < 0 || table == NULL || (size_t)fd >= table_len)
		return NULL;
	/* most reads are of files, pipes, other sockets: no lock for them
	 * (a descriptor's guard is set by the call that made it) */
	if (__atomic_load_n(&table[fd], __ATOMIC_ACQUIRE) == NULL)
		return NULL;
	held = lock(&tlock);
	if ((g = table[fd]) != NULL)
		g->refs++;
	unlock(&tlock, held);
	return g;
}

static INLINE void
guard_put(struct guard *g)
{
	int last, held;

	held = lock(&tlock);
	last = --g->refs == 0;
	unlock(&tlock, held);
	if (last)
		guard_free(g);
}

/* Replace fd's guard with g (NULL: forget it). */
static void
guard_set(int fd, struct guard *g)
{
	struct guard *old = NULL;
	int held;

	if (fd < 0 || table == NULL || (size_t)fd >= table_len) {
		if (g)
			guard_put(g);
		return;
	}
	held = lock(&tlock);
	old = table[fd];
	__atomic_store_n(&table[fd], g, __ATOMIC_RELEASE);
	if (g != NULL && (size_t)fd > table_hi)
		table_hi = (size_t)fd;
	unlock(&tlock, held);
	if (old)
		guard_put(old);
}

/*
 * Is the table this process's own? Not in the child of a vfork (Python's
 * subprocess), which shares the parent's memory until it execs: its
 * dup2, close and close_range are of its own descriptors, and must leave
 * the parent's guards where they are (a child that closed every
 * descriptor above 2 would leave every connection of the parent
 * unguarded). A system call: made only where a guard would change.
 */
static int
table_ours(void)
{
	return getpid() == table_pid;
}

/* Has fd a guard? (No lock: a hint, for the calls that change the table.) */
static INLINE int
guard_at(int fd)
{
	return fd >= 0 && table != NULL && (size_t)fd < table_len &&
	    __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE) != NULL;
}

/* newfd now names what oldfd names (dup*, F_DUPFD): the same guard, or
 * none. Returns newfd. */
static int
aliased(int oldfd, int newfd)
{
	if (newfd >= 0 && oldfd != newfd && (guard_at(oldfd) ||
	    guard_at(newfd)) && table_ours())
		guard_set(newfd, guard_get(oldfd));
	return newfd;
}

/* Does fd still name g? (A read holding g->io, which unnamed() waits
 * for.) */
static INLINE int
named(int fd, struct guard *g)
{
	return __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE) == g;
}

/*
 * fd is about to name another file or none (close, dup2 over it): its
 * guard, if any, leaves it first, and a read of it in another thread that
 * is acting on it (between two calls of its own on fd) finishes first: its
 * next act sees fd unnamed (named()) and leaves the number alone, which
 * may be the next connection's by then. Returns the guard with a
 * reference for the caller, or NULL.
 */
static struct guard *
unnamed(int fd)
{
	struct guard *g = guard_get(fd);
	int held;

	if (g == NULL)
		return NULL;
	guard_set(fd, NULL);
	held = lock(&g->io);
	unlock(&g->io, held);
	return g;
}

/* unnamed(), the reference dropped */
static void
unname(int fd)
{
	struct guard *g = unnamed(fd);

	if (g != NULL)
		guard_put(g);
}

/*
 * fork: no lock may be inherited held. The table's lock, and every
 * guard's io, are taken around the fork, so that no thread is in the
 * middle of judging or of changing a guard; in the child, every guard's
 * locks are made anew (a thread of the parent may have held one, in a
 * blocking read or waiting for its lock: no such thread exists in the
 * child, and a guard is consistent whenever its io is free).
 */
static void
fork_prepare(void)
{
	size_t i;
	struct guard *g;

	pthread_mutex_lock(&tlock);
	for (i = 0; table != NULL && i <= table_hi && i < table_len; i++)
		if ((g = table[i]) != NULL && !g->forking) {
			pthread_mutex_lock(&g->io);
			g->forking = 1;
		}
}

static void
fork_parent(void)
{
	size_t i;
	struct guard *g;

	for (i = 0; table != NULL && i <= table_hi && i < table_len; i++)
		if ((g = table[i]) != NULL && g->forking) {
			g->forking = 0;
			pthread_mutex_unlock(&g->io);
		}
	pthread_mutex_unlock(&tlock);
}

static void
fork_child(void)
{
	size_t i;

	pthread_mutex_init(&tlock, NULL);
	table_pid = getpid();
	for (i = 0; table != NULL && i <= table_hi && i < table_len; i++)
		if (table[i] != NULL) {
			pthread_mutex_init(&table[i]->lock, NULL);
			pthread_mutex_init(&table[i]->io, NULL);
			table[i]->waiters = 0;
			table[i]->forking = 0;
		}
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
	(void)real_sendto(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
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
	if (real_write(lf, line, len) < 0)
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
	(void)real_sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_RDWR);
	drain(fd);
	g->done = g->refused = 1;
	g->end = END_NONE;
	g->s_len = g->s_ok = 0;
	log_refusal(fd, g, status, verdict != NULL ? verdict :
	    reason_text(framing_refusal(g->fr)), bytes);
	errno = saved;
}

/* What the host's read gets once the approved bytes before a refusal or a
 * close are read: the reply, if any, and end of stream (0). */
static ssize_t
ended(int fd, struct guard *g)
{
	wake_clear(g);
	if (g->end == END_REFUSE)
		refuse(fd, g, g->end_status, g->end_why);
	else
		finish(fd, g);
	g->end = END_NONE;
	return 0;
}

/* The client closed its side with no approved byte left for the host:
 * a head it cut short is refused (400), else the host sees EOF (the
 * kernel reports it itself). Returns 0. */
static ssize_t
at_end(int fd, struct guard *g)
{
	struct framing_step s = framing_eof(g->fr);

	if (s.verdict == FRAMING_REJECT)
		refuse(fd, g, framing_status(g->fr), NULL);
	else
		g->done = 1;
	return 0;
}

/*
 * What an approved head holds that the proxy would rewrite and this front
 * end cannot (the core says, framing_rewrites): a status to refuse it
 * with, or 0. (docs/preload.md, "Rules that differ from the proxy".)
 */
static int
needs_rewrite(const struct framing *fr, const char **why)
{
	int w = framing_rewrites(fr);

	/* RFC 9112 §3.2.2: an absolute-form target replaces Host; the proxy
	 * rewrites it to origin-form, the host would see both */
	*why = "absolute-form target (no rewriting in-process)";
	if (w & FRAMING_REWRITE_TARGET)
		return 400;
	/* the proxy drops Proxy (httpoxy) */
	*why = "Proxy field (no dropping in-process)";
	if (w & FRAMING_REWRITE_PROXY)
		return 400;
	return 0;
}

/* ---------------------------------------------------------------- reading */

/* One read call of the host: its buffers, and what else it asked. */
struct out {
	const struct iovec *iov;
	int	cnt;
	size_t	want;			/* their total length, > 0 */
	int	flags;			/* the host's, MSG_PEEK and MSG_TRUNC
					   excepted */
	struct msghdr *msg;		/* recvmsg: name, control, flags */
	struct sockaddr *from;		/* recvfrom */
	socklen_t *fromlen;
	int	named;			/* a read of this call gave them */
	int	discard;		/* MSG_TRUNC: of a TCP socket, the
					   bytes are dropped, the host's
					   buffers never written (they may be
					   NULL: HAProxy's drain) */
	struct guard *g;
	int	io;			/* the call holds g->io (it has
					   threads): released while a read
					   may wait in the kernel */
	int	lost;			/* fd was unnamed() meanwhile: the
					   call must not act on it again */
};

/* The host's buffers from byte `at` on, `max` bytes at most, as at most
 * IOV_USE iovecs in cut[]; their number. */
static int
out_cut(const struct out *o, size_t at, size_t max, struct iovec *cut)
{
	int i, k = 0;
	size_t len;

	for (i = 0; i < o->cnt && k < IOV_USE && max > 0; i++) {
		len = o->iov[i].iov_len;
		if (at >= len) {
			at -= len;
			continue;
		}
		cut[k].iov_base = (char *)o->iov[i].iov_base + at;
		cut[k].iov_len = len - at < max ? len - at : max;
		max -= cut[k].iov_len;
		at = 0;
		k++;
	}
	return k;
}

/* Copy n bytes into the host's buffers from byte `at` on (none for a
 * host that discards them). */
static void
out_copy(const struct out *o, size_t at, const char *src, size_t n)
{
	struct iovec cut[IOV_USE];
	int i, k;

	if (o->discard)
		return;
	k = out_cut(o, at, n, cut);

	for (i = 0; i < k; i++) {
		memcpy(cut[i].iov_base, src, cut[i].iov_len);
		src += cut[i].iov_len;
	}
}

/* A read of the kernel's that may wait (flags without MSG_DONTWAIT)
 * starts: g->io is released meanwhile, so that a close of fd from another
 * thread need not wait for the client. */
static INLINE void
kwait(struct out *o, int flags)
{
	if (o->io && !(flags & MSG_DONTWAIT))
		pthread_mutex_unlock(&o->g->io);
}

/* It returned: g->io again, and whether fd still names the connection
 * (o->lost if not: a close, and perhaps an accept that gave the number to
 * a new client, came meanwhile). */
static INLINE void
kwaited(int fd, struct out *o, int flags)
{
	if (o->io && !(flags & MSG_DONTWAIT)) {
		pthread_mutex_lock(&o->g->io);
		if (!named(fd, o->g))
			o->lost = 1;
	}
}

static ssize_t
kread_real(int fd, struct out *o, struct iovec *iov, int cnt, int flags)
{
	struct msghdr m;
	ssize_t n;

	if (o->msg != NULL && !o->named) {
		m = *o->msg;
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)cnt;
		if ((n = real_recvmsg(fd, &m, flags)) >= 0) {
			o->msg->msg_namelen = m.msg_namelen;
			o->msg->msg_controllen = m.msg_controllen;
			o->msg->msg_flags = m.msg_flags;
			o->named = 1;
		}
		return n;
	}
	if (cnt == 1 && o->from != NULL && !o->named) {
		n = real_recvfrom(fd, iov[0].iov_base, iov[0].iov_len, flags,
		    o->from, o->fromlen);
		o->named = n >= 0;
		return n;
	}
	if (cnt == 1)
		return real_recv(fd, iov[0].iov_base, iov[0].iov_len, flags);
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)cnt;
	return real_recvmsg(fd, &m, flags);
}

/*
 * The real read into iov[0..cnt) with `flags`: recvmsg with the host's
 * name and control buffers, or recvfrom with its address, for the first
 * read of the call that returns; recv otherwise. Sets o->lost (above).
 */
static INLINE ssize_t
kread(int fd, struct out *o, struct iovec *iov, int cnt, int flags)
{
	ssize_t n;
	int saved;

	if (!o->io || (flags & MSG_DONTWAIT))
		return kread_real(fd, o, iov, cnt, flags);
	kwait(o, flags);
	n = kread_real(fd, o, iov, cnt, flags);
	saved = errno;
	kwaited(fd, o, flags);
	errno = saved;
	return n;
}

/* Approved bytes still queued in the kernel: k_fed head bytes, then the
 * body. */
static INLINE uint64_t
kernel_approved(const struct guard *g)
{
	uint64_t left = framing_body_left(g->fr);

	if (left == FRAMING_BODY_UNKNOWN)	/* (chunked is refused) */
		left = 0;
	return g->k_fed + left;
}

/* The host read n approved bytes that were in the kernel. */
static void
took_kernel(struct guard *g, size_t n)
{
	size_t head = n < g->k_fed ? n : g->k_fed;

	g->k_fed -= head;
	if (n > head)
		framing_body_done(g->fr, n - head);
}

/* The end found after the approved bytes of a read (the core's record of
 * a refused request stays as it is until the host reads on). */
static void
end_after(struct guard *g, enum guard_end end, int status, const char *why)
{
	g->end = end;
	g->end_status = status;
	g->end_why = why;
}

/* A request whose last byte this read call delivers: counted, and
 * whether it was HEAD (the core's record of it is current). */
static void
call_request(struct guard *g)
{
	if (framing_request(g->fr)->head_method) {
		if (g->call_reqs < CALL_HEADS)
			g->call_heads |= (uint64_t)1 << g->call_reqs;
		else
			g->call_lost = 1;
	}
	g->call_reqs++;
}

/* A read call judges its first bytes: none of its requests yet, but the
 * one under way when it started (a head approved by a peek, or its body,
 * still to deliver), whose last byte this call may deliver: `delivered`,
 * the call gave the host approved bytes of the stash already, or approved
 * bytes are still queued in the kernel. (Counted only once the call judges
 * something: a call that judges nothing finds no refusal to wake for.) */
static void
call_starts(struct guard *g, int delivered)
{
	g->call_reqs = 0;
	g->call_heads = 0;
	g->call_lost = 0;
	if (delivered || kernel_approved(g) > 0)
		call_request(g);
}

/*
 * The end the read call found is a refusal, and the host has approved
 * bytes to read first: it answers them, then may wait for readiness with
 * nothing queued. It is woken (woke()) once its writes hold the final
 * responses to the requests this call delivered (a host answers a request
 * before it reads the next: nginx, http.server, busybox), not earlier: a
 * host that takes a read side's end for the client gone away (nginx
 * proxying: 499) would cut a response it is still writing. Only then is a
 * parser allocated (rarely: a refusal pipelined behind approved requests);
 * without one (out of memory, or a HEAD past CALL_HEADS) the host's next
 * write wakes it.
 */
static void
wake_arm(struct guard *g)
{
	uint32_t max = policy.max_head_size > ANSWER_HEAD_MIN ?
	    policy.max_head_size : ANSWER_HEAD_MIN;

	if (g->wake)
		return;
	g->wake = 1;
	__atomic_add_fetch(&wakes, 1, __ATOMIC_RELAXED);
	g->due = g->call_reqs;
	g->due_heads = g->call_heads;
	g->answered = 0;
	if (g->due == 0 || g->call_lost || (g->answer = response_new(max)) == NULL)
		return;
	/* the client's minor version only matters for a head written anew
	 * and for de-chunking into a sink: neither here */
	response_begin(g->answer, (int)(g->due_heads & 1), 1, NULL, NULL);
}

/* A head's first byte is fed: its time, for the log's rt= (only read
 * there). */
static void
head_starts(struct guard *g)
{
	if (conf.preload_log != NULL)
		clock_gettime(CLOCK_MONOTONIC, &g->t_start);
}

/* Move the stash to the front of the buffer (reads land after it). */
static void
stash_front(struct guard *g)
{
	if (g->s_off > 0 && g->s_len > 0)
		memmove(g->buf, g->buf + g->s_off, g->s_len);
	g->s_off = 0;
}

/*
 * Judge buf[p, p + n), just read, after p bytes of an incomplete head
 * (buf[0, p), fed already): approved bytes still expected from the kernel
 * first, then heads and bodies. buf is the guard's, or the host's when
 * there was no stash. Returns how many bytes from buf[0] on are approved;
 * what follows them is an incomplete head (the new stash) or, with g->end
 * set, never the host's.
 */
static size_t
judge_read(struct guard *g, const char *buf, size_t p, size_t n)
{
	struct framing_step s;
	const char *why;
	size_t pos = p, ok = 0, end = p + n, take;
	uint64_t left;
	int status;

	/* approved bytes of the kernel's first (k_fed and a body left
	 * imply p == 0) */
	take = (uint64_t)n < kernel_approved(g) ? n : (size_t)kernel_approved(g);
	if (take > 0) {
		took_kernel(g, take);
		pos = ok = take;
	}
	while (pos < end) {
		if ((left = framing_body_left(g->fr)) > 0 &&
		    left != FRAMING_BODY_UNKNOWN) {
			take = left < end - pos ? (size_t)left : end - pos;
			framing_body_done(g->fr, take);
			pos = ok = pos + take;
			continue;
		}
		if (ok == pos)
			head_starts(g);
		s = framing_feed(g->fr, buf + pos, end - pos);
		switch (s.verdict) {
		case FRAMING_MORE:
			if (s.consumed == 0) {	/* (never: MORE uses it all) */
				end_after(g, END_REFUSE, 400, NULL);
				return ok;
			}
			pos += s.consumed;
			break;
		case FRAMING_HEAD:
			pos += s.consumed;
			status = needs_rewrite(g->fr, &why);
			if (status != 0) {
				end_after(g, END_REFUSE, status, why);
				return ok;
			}
			/* (its body, if any, comes in this call, or in a
			 * later one that counts it again, as under way) */
			call_request(g);
			ok = pos;
			break;
		case FRAMING_REJECT:
			end_after(g, END_REFUSE, framing_status(g->fr), NULL);
			return ok;
		case FRAMING_BODY:	/* never fed body bytes */
		case FRAMING_CLOSED:	/* the last request asked to close */
		default:
			end_after(g, END_CLOSE, 0, NULL);
			return ok;
		}
	}
	/* the core refuses a head over max_head_size before this */
	if (end - ok > policy.max_head_size)
		end_after(g, END_REFUSE, 431, NULL);
	return ok;
}

/*
 * Judge what the kernel has queued without taking it (MSG_PEEK), after the
 * stash (an incomplete head, s_ok == 0). For a host buffer no larger than
 * the stash, and for the host's own MSG_PEEK: the bytes that complete a head
 * stay queued (k_fed), so the socket stays readable while the host reads
 * the stash, now approved. Bytes that do not complete it are taken into the
 * stash. Blocks as the host's read would (the socket's mode, the host's
 * MSG_DONTWAIT). Returns 1 when something changed (read on), 0 when the
 * host must see EOF, -1 with errno.
 */
static int
judge_peek(int fd, struct guard *g, struct out *o, int flags)
{
	struct framing_step s;
	const char *why;
	size_t p, pos;
	ssize_t n, r;
	int status, saved;

	stash_front(g);
	p = pos = g->s_len;
	kwait(o, flags);
	n = real_recv(fd, g->buf + p, g->cap - p, MSG_PEEK |
	    (flags & MSG_DONTWAIT));
	saved = errno;
	kwaited(fd, o, flags);
	errno = saved;
	if (o->lost)
		return 0;	/* (nothing taken: the guard is as it was) */
	if (n < 0)
		return -1;
	if (n == 0)
		return at_end(fd, g);
	if (p == 0)
		head_starts(g);
	while (pos < p + (size_t)n) {
		s = framing_feed(g->fr, g->buf + pos, p + (size_t)n - pos);
		switch (s.verdict) {
		case FRAMING_MORE:
			if (s.consumed == 0) {
				refuse(fd, g, 400, NULL);
				return 0;
			}
			pos += s.consumed;
			break;
		case FRAMING_HEAD:
			pos += s.consumed;
			if ((status = needs_rewrite(g->fr, &why)) != 0) {
				refuse(fd, g, status, why);
				return 0;
			}
			g->s_ok = p;
			g->k_fed = pos - p;
			return 1;
		case FRAMING_REJECT:
			refuse(fd, g, framing_status(g->fr), NULL);
			return 0;
		case FRAMING_BODY:
		case FRAMING_CLOSED:
		default:
			finish(fd, g);
			return 0;
		}
	}
	/* an incomplete head still: take it into the stash, so that a
	 * blocking peek waits for a new byte, and poll for one */
	r = real_recv(fd, g->buf + p, (size_t)n, MSG_DONTWAIT);
	if (r != n) {
		/* someone else read them (another process): the core has
		 * seen bytes the stash does not hold */
		finish(fd, g);
		return 0;
	}
	g->s_len += (size_t)n;
	if (g->s_len > policy.max_head_size) {
		refuse(fd, g, 431, NULL);
		return 0;
	}
	return 1;
}

/*
 * More may be queued than the host read, and its read was short: a host
 * on edge-triggered epoll that takes a short read to mean "nothing more"
 * would wait for an edge that never comes. Setting SO_RCVLOWAT (to what it
 * is) makes Linux signal readiness again if bytes are queued
 * (tcp_set_rcvlowat calls tcp_data_ready).
 */
static void
rearm(int fd)
{
	int v = 1;
	socklen_t vl = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &vl) == 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v));
}

/*
 * The guarded form of every read call but MSG_PEEK: fills the host's
 * buffers with approved bytes only, in stream order, from the stash, then
 * from the kernel. Returns the count, 0 for end of stream, -1 with errno
 * as the real call would set it. Called with g->lock.
 *
 * Only the first kernel read may block (as the host's: its socket's mode
 * and flags, SO_RCVTIMEO, a signal); once the host has bytes, the reads
 * that may add more are MSG_DONTWAIT. A read into the guard's buffer asks
 * at most what is left of the host's length minus the stash, so what it
 * approves always fits the host's buffers: nothing approved is held.
 */
static ssize_t
guarded_read(int fd, struct guard *g, struct out *o)
{
	struct iovec cut[IOV_USE], one;
	size_t got = 0, room, p, k, ok, n;
	char *base;
	uint64_t a;
	ssize_t r;
	int full = 0, fl, judged = 0;

	for (;;) {
		room = o->want - got;
		fl = o->flags | (got > 0 ? MSG_DONTWAIT : 0);
		if (got > 0)
			fl &= ~MSG_WAITALL;
		if (g->s_ok > 0) {
			n = g->s_ok < room ? g->s_ok : room;
			out_copy(o, got, g->buf + g->s_off, n);
			g->s_off += n;
			g->s_len -= n;
			g->s_ok -= n;
			if (g->s_len == 0)
				g->s_off = 0;
			if ((got += n) == o->want)
				return (ssize_t)got;
			continue;
		}
		if (g->done)
			return (ssize_t)got;
		if (g->end != END_NONE)
			return got > 0 ? (ssize_t)got : ended(fd, g);
		if ((a = kernel_approved(g)) >= room) {
			/* all the host asked for is approved: straight in
			 * (or dropped by the kernel, for a host that
			 * discards them) */
			if (o->discard) {
				one.iov_base = NULL;
				one.iov_len = room;
				r = kread(fd, o, &one, 1, fl | MSG_TRUNC);
			} else if (o->cnt == 1) {
				one.iov_base = (char *)o->iov[0].iov_base + got;
				one.iov_len = room;
				r = kread(fd, o, &one, 1, fl);
			} else {
				r = kread(fd, o, cut, out_cut(o, got, room,
				    cut), fl);
			}
			if (r < 0)
				return got > 0 ? (ssize_t)got : -1;
			took_kernel(g, (size_t)r);
			return (ssize_t)(got + (size_t)r);
		}
		if ((p = g->s_len) >= room) {
			/* the host's buffer is no larger than the stash */
			if (got > 0) {
				if (full)
					rearm(fd);
				return (ssize_t)got;
			}
			if ((r = judge_peek(fd, g, o, fl)) <= 0)
				return r;
			continue;
		}
		if (p == 0 && o->cnt == 1 && !o->discard) {
			/* no stash, one buffer: the read lands in the host's
			 * buffer and is judged there; what is not approved
			 * leaves it before the call returns (below) */
			base = (char *)o->iov[0].iov_base + got;
			k = room;
		} else {
			stash_front(g);
			base = g->buf;
			k = room - p < g->cap - p ? room - p : g->cap - p;
		}
		one.iov_base = base + p;
		one.iov_len = k;
		r = kread(fd, o, &one, 1, fl);
		if (r < 0)
			return got > 0 ? (ssize_t)got : -1;
		if (o->lost) {
			/* the host closed fd while this read waited: what it
			 * read is no one's, never the host's, and the
			 * connection is over (its guard missed the bytes) */
			if (base != g->buf)
				memset(one.iov_base, 0, (size_t)r);
			g->done = 1;
			return (ssize_t)got;
		}
		if (r == 0) {
			/* EOF: in a body, the host sees it as it would */
			if (got > 0 || a > 0)
				return (ssize_t)got;
			return at_end(fd, g);
		}
		full = (size_t)r == k;
		if (!judged) {
			call_starts(g, got > 0);
			judged = 1;
		}
		ok = judge_read(g, base, p, (size_t)r);
		if (base == g->buf) {
			out_copy(o, got, g->buf, ok);
		} else if (ok < (size_t)r) {
			/* an incomplete head becomes the stash (it fits:
			 * judge_read refuses one over max_head_size); a
			 * refused rest is dropped. Either way the host's
			 * buffer keeps no unapproved byte */
			if (g->end == END_NONE)
				memcpy(g->buf, base + ok, (size_t)r - ok);
			memset(base + ok, 0, (size_t)r - ok);
		}
		got += ok;
		if (g->end != END_NONE) {
			g->s_len = 0;
			if (got == 0)
				return ended(fd, g);
			/* the host has bytes to read first, and may then wait
			 * for readiness: a refusal wakes it once it has
			 * answered them (wake_arm()). A close does not: the
			 * host was asked to close, and the client's own close
			 * wakes it */
			if (g->end == END_REFUSE)
				wake_arm(g);
			return (ssize_t)got;
		}
		g->s_off = base == g->buf ? ok : 0;
		g->s_len = p + (size_t)r - ok;
		if (g->s_len == 0)
			g->s_off = 0;
		if (got == o->want || (!full && got > 0))
			return (ssize_t)got;
		/* more may be queued (a full read), or a blocking read with
		 * nothing approved yet: read on */
	}
}

/*
 * The host's MSG_PEEK: approved bytes only, none taken. The stash's
 * approved bytes, else those queued in the kernel (a real peek, cut to
 * them), else a judging peek (judge_peek).
 */
static ssize_t
guarded_peek(int fd, struct guard *g, struct out *o)
{
	struct iovec cut[IOV_USE], one;
	uint64_t a;
	size_t n;
	int r;

	for (;;) {
		if (g->s_ok > 0) {
			n = g->s_ok < o->want ? g->s_ok : o->want;
			out_copy(o, 0, g->buf + g->s_off, n);
			return (ssize_t)n;
		}
		if (g->done)
			return 0;
		if (g->end != END_NONE)
			return ended(fd, g);
		if ((a = kernel_approved(g)) > 0 && o->discard) {
			one.iov_base = NULL;
			one.iov_len = a < o->want ? (size_t)a : o->want;
			return kread(fd, o, &one, 1,
			    o->flags | MSG_PEEK | MSG_TRUNC);
		}
		if (a > 0)
			return kread(fd, o, cut, out_cut(o, 0,
			    a < o->want ? (size_t)a : o->want, cut),
			    o->flags | MSG_PEEK);
		if ((r = judge_peek(fd, g, o, o->flags)) <= 0)
			return r;
		if (g->s_ok == 0 && g->k_fed > 0) {
			/* the approved head is in the buffer, as peeked */
			n = g->k_fed < o->want ? g->k_fed : o->want;
			out_copy(o, 0, g->buf + g->s_len, n);
			return (ssize_t)n;
		}
	}
}

/* A call that returned n >= 0 with no read of the kernel's that gave it
 * a name (its bytes came from the stash, or it returned the end): what
 * the kernel's read of a TCP socket would have said, no address, no
 * control message, no flag. Left as the host passed them, they are its
 * own stale or uninitialized memory, taken for what the read returned. */
static void
out_unnamed(struct out *o)
{
	if (o->msg != NULL) {
		if (o->msg->msg_name != NULL)
			o->msg->msg_namelen = 0;
		o->msg->msg_controllen = 0;
		o->msg->msg_flags = 0;
	} else if (o->from != NULL && o->fromlen != NULL) {
		*o->fromlen = 0;
	}
}

/*
 * A blocking read waits for the guard's lock, held by another thread's
 * read of the same connection, as it would wait in the kernel: until
 * SO_RCVTIMEO (asked only here) has passed, EAGAIN, or a signal whose
 * handler returns without SA_RESTART, EINTR (the kernel restarts a futex
 * wait after a handler with SA_RESTART, as it restarts a read). A mutex
 * wait would end at neither. 1 with the lock, or -1 with errno.
 */
static int
lock_wait(int fd, struct guard *g)
{
	struct timeval tv = { 0, 0 };
	socklen_t tl = sizeof(tv);
	struct timespec end = { 0, 0 }, now, left, *tp = NULL;
	unsigned v;
	int e = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 &&
	    (tv.tv_sec > 0 || tv.tv_usec > 0)) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += tv.tv_sec;
		end.tv_nsec += tv.tv_usec * 1000;
		if (end.tv_nsec >= 1000000000) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000;
		}
		tp = &left;
	}
	__atomic_add_fetch(&g->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		v = __atomic_load_n(&g->gen, __ATOMIC_ACQUIRE);
		if (pthread_mutex_trylock(&g->lock) == 0)
			break;
		if (tp != NULL) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = end.tv_sec - now.tv_sec;
			left.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000;
			}
			if (left.tv_sec < 0) {
				e = EAGAIN;
				break;
			}
		}
		/* returns at once if the lock was released since `v` */
		if (syscall(SYS_futex, &g->gen, FUTEX_WAIT_PRIVATE, v, tp,
		    NULL, 0) != 0 && errno == EINTR) {
			e = EINTR;
			break;
		}
	}
	__atomic_sub_fetch(&g->waiters, 1, __ATOMIC_SEQ_CST);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 1;
}

/*
 * The guard's lock for a read call: 1 taken, 0 not needed (one thread),
 * -1 with EAGAIN for a read that must not block while another thread
 * holds it (a read of the same connection, which may be blocked in the
 * kernel for as long as the client waits): MSG_DONTWAIT, or a socket in
 * O_NONBLOCK (asked only then, with one fcntl). A read that may block
 * waits for it (lock_wait()).
 */
static int
lock_read(int fd, struct guard *g, int flags)
{
	int fl;

	if (__libc_single_threaded)
		return 0;
	if (pthread_mutex_trylock(&g->lock) == 0)
		return 1;
	if ((flags & MSG_DONTWAIT) ||
	    ((fl = real_fcntl(fd, F_GETFL)) >= 0 && (fl & O_NONBLOCK))) {
		errno = EAGAIN;
		return -1;
	}
	return lock_wait(fd, g);
}

/* Lock, read (or peek), unlock. */
static INLINE ssize_t
guarded(int fd, struct guard *g, int flags, struct out *o)
{
	ssize_t n;
	int held;

	o->flags = flags & ~(MSG_PEEK | MSG_TRUNC);
	o->discard = (flags & MSG_TRUNC) != 0;
	if ((held = lock_read(fd, g, flags)) < 0)
		return -1;
	o->g = g;
	if ((o->io = held) != 0) {
		pthread_mutex_lock(&g->io);
		/* closed while this call waited for the lock: its number
		 * may be a new client's now */
		o->lost = !named(fd, g);
	}
	if (o->lost)
		n = 0;
	else if (flags & MSG_PEEK)
		n = guarded_peek(fd, g, o);
	else
		n = guarded_read(fd, g, o);
	if (held) {
		pthread_mutex_unlock(&g->io);
		guard_unlock(g);
	}
	if (n >= 0 && !o->named)
		out_unnamed(o);
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
guard_new(int fd)
{
	struct guard *g;

	if ((size_t)fd >= table_len || (g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->refs = 1;
	/* an incomplete head fits (the core refuses one over max_head_size),
	 * and a host's read of a head is made into it whole */
	g->cap = policy.max_head_size + 1;
	if (g->cap < STASH_MIN)
		g->cap = STASH_MIN;
	if ((g->buf = malloc(g->cap)) == NULL ||
	    (g->fr = framing_new(&policy)) == NULL) {
		free(g->buf);
		free(g);
		return -1;
	}
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->io, NULL);
	guard_set(fd, g);
	return 0;
}

/* Start guarding an accepted descriptor. 0, or -1 when it cannot be
 * guarded (the connection is then closed: nothing unguarded gets in). */
static int
guard_accepted(int fd)
{
	if (!guardable(fd)) {
		guard_set(fd, NULL);	/* a stale entry of a reused number */
		return 0;
	}
	return guard_new(fd);
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
	int fd;

	if (!conf.preload_inetd || fstat(0, &st) != 0 || !S_ISSOCK(st.st_mode))
		return;
	snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	if (seen != NULL && strcmp(seen, id) == 0)
		return;
	if (!guardable(0) || getpeername(0, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (guard_new(0) != 0)
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
	return accepted(real_accept(s, addr, len));
}

EXPORT int
accept4(int s, struct sockaddr *addr, socklen_t *len, int flags)
{
	return accepted(real_accept4(s, addr, len, flags));
}

/* Does a read call with these flags read the stream? MSG_OOB (the urgent
 * byte) and MSG_ERRQUEUE (the error queue) do not: the real call. */
static int
stream_read(int flags)
{
	return !(flags & (MSG_OOB | MSG_ERRQUEUE));
}

EXPORT ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
    socklen_t *fromlen)
{
	struct guard *g;
	struct iovec iov = { buf, len };
	struct out o = { .iov = &iov, .cnt = 1, .want = len, .from = from,
	    .fromlen = fromlen };
	ssize_t n;

	if (len == 0 || !stream_read(flags) || (g = guard_get(fd)) == NULL)
		return real_recvfrom(fd, buf, len, flags, from, fromlen);
	n = guarded(fd, g, flags, &o);
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
	struct guard *g;
	struct iovec iov = { buf, len };
	struct out o = { .iov = &iov, .cnt = 1, .want = len };
	ssize_t n;

	if (len == 0 || (g = guard_get(fd)) == NULL)
		return real_read(fd, buf, len);
	n = guarded(fd, g, 0, &o);
	guard_put(g);
	return n;
}

/* How many of iov[0..cnt) a guarded read fills: up to the IOV_USE-th that
 * is not empty (an empty one takes no place in out_cut()'s cut). A count
 * of IOV_USE iovecs would leave the host's buffers after IOV_USE empty
 * ones to the real call, unjudged. */
static int
iov_count(const struct iovec *iov, int cnt)
{
	int i, used = 0;

	for (i = 0; i < cnt && used < IOV_USE; i++)
		if (iov[i].iov_len > 0)
			used++;
	return i;
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

EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	struct guard *g;
	struct out o = { .iov = iov };
	ssize_t n;

	/* the host's iovecs are read only for a guarded descriptor, and
	 * never through NULL: a bad array is the kernel's EFAULT */
	if (cnt <= 0 || cnt > IOV_MAX || iov == NULL ||
	    (g = guard_get(fd)) == NULL)
		return real_readv(fd, iov, cnt);
	if ((o.want = iov_total(iov, o.cnt = iov_count(iov, cnt))) == 0)
		n = real_readv(fd, iov, cnt);
	else
		n = guarded(fd, g, 0, &o);
	guard_put(g);
	return n;
}

EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct guard *g;
	struct out o = { .msg = msg };
	ssize_t n;

	/* as readv: the host's msghdr and iovecs are read only for a
	 * guarded descriptor, and never through NULL */
	if (msg == NULL || !stream_read(flags) || (g = guard_get(fd)) == NULL)
		return real_recvmsg(fd, msg, flags);
	if (msg->msg_iovlen == 0 || msg->msg_iovlen > IOV_MAX ||
	    msg->msg_iov == NULL) {
		guard_put(g);
		return real_recvmsg(fd, msg, flags);
	}
	o.iov = msg->msg_iov;
	o.cnt = iov_count(o.iov, (int)msg->msg_iovlen);
	if ((o.want = iov_total(o.iov, o.cnt)) == 0)
		n = real_recvmsg(fd, msg, flags);
	else
		n = guarded(fd, g, flags, &o);
	guard_put(g);
	return n;
}

/*
 * recvmmsg: a read of a TCP socket the host can make too (no server
 * measured here does). A guarded descriptor gets one message, the guarded
 * recvmsg into the first: a stream has no boundaries to fill more by, and
 * recvmmsg may return fewer messages than asked (its timeout, checked
 * after each message, has none to check).
 */
EXPORT int
recvmmsg(int fd, struct mmsghdr *v, unsigned int vlen, int flags,
    struct timespec *tmo)
{
	ssize_t n;

	if (v == NULL || vlen == 0 || !stream_read(flags) || !guard_at(fd))
		return real_recvmmsg(fd, v, vlen, flags, tmo);
	if ((n = recvmsg(fd, &v[0].msg_hdr, flags & ~MSG_WAITFORONE)) < 0)
		return -1;
	v[0].msg_len = (unsigned int)n;
	return 1;
}

/* _FORTIFY_SOURCE variants: glibc's check, then the call above */
#include "chk.h"

/* What the host's bytes of a response tell woke(). */
enum answer {
	ANSWER_WAIT,		/* responses still due */
	ANSWER_WAKE,		/* all due are written (or nothing can tell) */
	ANSWER_DROP,		/* the host closes to end this one */
};

/*
 * Feed p[0..len), bytes the host wrote, to the parser of its answers:
 * each final response counts (1xx heads do not: RFC 9110 §15.2, a final
 * one follows), and the next is expected with its request's HEAD-ness
 * (RFC 9112 §6.3 rule 1: no body after a HEAD's response head). A response
 * that does not parse cannot tell its end: wake at once, as without a
 * parser. A close-delimited one (RFC 9112 §6.3 rule 8) ends when the host
 * closes: nothing to wait for.
 */
static enum answer
answer_feed(struct guard *g, const char *p, size_t len)
{
	struct response_step s;
	unsigned idle = 0;
	int head;

	for (;;) {
		s = response_feed(g->answer, p, len);
		if (s.consumed > len)
			return ANSWER_WAKE;
		p += s.consumed;
		len -= s.consumed;
		/* every step uses bytes, or moves on from a head to its end,
		 * or from one response to the next: a few at most without */
		idle = s.consumed > 0 ? 0 : idle + 1;
		if (idle > 3)
			return ANSWER_WAKE;
		switch (s.verdict) {
		case RESPONSE_MORE:
		case RESPONSE_BODY:
			if (len == 0)
				return ANSWER_WAIT;
			break;
		case RESPONSE_HEAD:
			if (!response_interim(g->answer) &&
			    response_client_close(g->answer))
				return ANSWER_DROP;
			break;
		case RESPONSE_END:
			if (++g->answered >= g->due)
				return ANSWER_WAKE;
			head = g->answered < CALL_HEADS &&
			    (g->due_heads >> g->answered & 1);
			response_begin(g->answer, head, 1, NULL, NULL);
			if (len == 0)
				return ANSWER_WAIT;
			break;
		case RESPONSE_ERROR:
		default:
			return ANSWER_WAKE;
		}
	}
}

/* The bytes of one write, n of iov[0..cnt) (iov NULL: bytes the guard
 * cannot see, sendfile's), fed to the parser of the host's answers. */
static enum answer
answers(struct guard *g, const struct iovec *iov, int cnt, size_t n)
{
	enum answer a = ANSWER_WAIT;
	size_t len;
	int i;

	if (g->answer == NULL || iov == NULL)
		return ANSWER_WAKE;
	for (i = 0; i < cnt && n > 0 && a == ANSWER_WAIT; i++) {
		len = iov[i].iov_len < n ? iov[i].iov_len : n;
		if (len > 0)
			a = answer_feed(g, iov[i].iov_base, len);
		n -= len;
	}
	return a;
}

/*
 * The host wrote n bytes of iov[0..cnt) to fd (iov NULL: sendfile). If
 * the guard found a refusal after approved bytes the host has read, and
 * the host has not read on, the bytes are parsed as its responses; once
 * they hold the final responses to those requests (wake_arm()), the end is
 * made readable: shutdown(SHUT_RD) reports EOF to poll, select and epoll,
 * and the host's next read gets the reply and 0. Not earlier: a host that
 * takes a read side's end for a client gone away (nginx proxying: 499)
 * would cut a response it is still writing.
 *
 * Never blocks: skipped while a read holds the guard. With `wake` set, a
 * read call holds it either to deliver the end itself (ended(): the
 * parse is moot), or it is the call that armed it, not yet returned: the
 * host does not have those requests yet, so what another thread of it
 * writes then is no answer to them.
 */
static void
woke(int fd, const struct iovec *iov, int cnt, size_t n)
{
	struct guard *g = guard_get(fd);

	if (g == NULL)
		return;
	if (pthread_mutex_trylock(&g->lock) == 0) {
		pthread_mutex_lock(&g->io);
		if (g->wake && named(fd, g)) {
			switch (answers(g, iov, cnt, n)) {
			case ANSWER_WAIT:
				break;
			case ANSWER_WAKE:
				wake_clear(g);
				(void)shutdown(fd, SHUT_RD);
				break;
			case ANSWER_DROP:
				/* the host closes after it; if it reads
				 * instead, that read gets the end */
				wake_clear(g);
				break;
			}
		}
		pthread_mutex_unlock(&g->io);
		guard_unlock(g);
	}
	guard_put(g);
}

/* woke() for one buffer */
static void
woke_buf(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };

	woke(fd, &v, 1, n);
}

/*
 * The real call, resolved here if the constructor has not run yet
 * (another library's constructor may write or close a file first), or
 * ENOSYS and return `fail` (nothing, in a void function).
 */
#define RESOLVED(name, fail) do {					\
	if (real_##name == NULL)					\
		*(void **)&real_##name = dlsym(RTLD_NEXT, #name);	\
	if (real_##name == NULL) {					\
		errno = ENOSYS;						\
		return fail;						\
	}								\
} while (0)

/*
 * The real write, then `after` (with r_, what it wrote) if any guard waits
 * for the host's answers: while none does, a write costs one atomic load.
 */
#define WROTE(name, args, after) do {					\
	int saved_;							\
	ssize_t r_;							\
	RESOLVED(name, -1);						\
	r_ = real_##name args;						\
	if (r_ > 0 && __atomic_load_n(&wakes, __ATOMIC_RELAXED) > 0) {	\
		saved_ = errno;						\
		after;							\
		errno = saved_;						\
	}								\
	return r_;							\
} while (0)

EXPORT ssize_t
write(int fd, const void *buf, size_t len)
{
	WROTE(write, (fd, buf, len), woke_buf(fd, buf, (size_t)r_));
}

EXPORT ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	WROTE(writev, (fd, iov, cnt), woke(fd, iov, cnt, (size_t)r_));
}

EXPORT ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	WROTE(send, (fd, buf, len, flags), woke_buf(fd, buf, (size_t)r_));
}

EXPORT ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	WROTE(sendto, (fd, buf, len, flags, to, tolen),
	    woke_buf(fd, buf, (size_t)r_));
}

EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	WROTE(sendmsg, (fd, msg, flags),
	    woke(fd, msg->msg_iov, (int)msg->msg_iovlen, (size_t)r_));
}

/* sendfile's bytes are the file's: the guard cannot see them (and a
 * response's body bytes would be all it needs), so a host that sends a
 * file while a refusal waits is woken at once, as without a parser */
EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t len)
{
	WROTE(sendfile, (out, in, off, len), woke(out, NULL, 0, (size_t)r_));
}

EXPORT ssize_t sendfile64(int, int, off64_t *, size_t);

EXPORT ssize_t
sendfile64(int out, int in, off64_t *off, size_t len)
{
	WROTE(sendfile64, (out, in, off, len), woke(out, NULL, 0, (size_t)r_));
}

/* The host is about to close fd: a refused connection's bytes that came
 * since are dropped first, so that the close does not reset the reply
 * away (not while another thread is in a read of it: never block a
 * close). Returns whether fd has a guard. */
static int
closing(int fd)
{
	struct guard *g = guard_get(fd);

	if (g == NULL)
		return 0;
	if (pthread_mutex_trylock(&g->lock) == 0) {
		if (g->refused)
			drain(fd);
		guard_unlock(g);
	}
	guard_put(g);
	return 1;
}

/* The host closes fd, its own (not a vfork child's): closing(), then the
 * guard leaves the number (unname()). */
static void
forget(int fd)
{
	if (closing(fd) && table_ours())
		unname(fd);
}

EXPORT int
close(int fd)
{
	forget(fd);
	return real_close(fd);
}

/*
 * The other calls that close descriptors without calling close: a guard
 * left on a closed number would judge whatever gets it next (a pipe, a
 * file, a connection the host makes) as a client's requests. fclose (a
 * FILE fdopen'ed on a connection: glibc closes its descriptor inside),
 * close_range and closefrom (Python's os.closerange). The real calls are
 * resolved here if the constructor has not run yet (another library's
 * constructor may close a file first); close_range and closefrom are not
 * in a glibc before 2.34.
 */
EXPORT int
fclose(FILE *f)
{
	int fd = f != NULL ? fileno(f) : -1;

	RESOLVED(fclose, EOF);
	forget(fd);
	return real_fclose(f);
}

/* freopen with a path closes the stream's descriptor, and glibc puts the
 * new file on the same number: the guard goes, as at fclose, whether the
 * open succeeds or not (the stream is closed either way). Without a
 * path, the stream's own socket is reopened: the guard stays. */
static void
reopening(const char *path, FILE *f)
{
	int fd;

	if (path != NULL && f != NULL && (fd = fileno(f)) >= 0)
		forget(fd);
}

EXPORT FILE *
freopen(const char *path, const char *mode, FILE *f)
{
	RESOLVED(freopen, NULL);
	reopening(path, f);
	return real_freopen(path, mode, f);
}

/* what glibc's headers call for freopen with _FILE_OFFSET_BITS=64 */
EXPORT FILE *
freopen64(const char *path, const char *mode, FILE *f)
{
	RESOLVED(freopen64, NULL);
	reopening(path, f);
	return real_freopen64(path, mode, f);
}

/* Drain the refused connections of [lo, hi], which are about to close. */
static void
closing_range(unsigned int lo, unsigned int hi)
{
	size_t fd;

	for (fd = lo; table != NULL && fd <= hi && fd <= table_hi &&
	    fd < table_len; fd++)
		(void)closing((int)fd);
}

/* The guards of [lo, hi] are forgotten: their descriptors are closed. */
static void
closed_range(unsigned int lo, unsigned int hi)
{
	size_t fd;

	for (fd = lo; table != NULL && fd <= hi && fd <= table_hi &&
	    fd < table_len; fd++)
		if (__atomic_load_n(&table[fd], __ATOMIC_ACQUIRE) != NULL)
			unname((int)fd);
}

EXPORT int
close_range(unsigned int lo, unsigned int hi, int flags)
{
	int r;

	RESOLVED(close_range, -1);
	/* CLOSE_RANGE_CLOEXEC closes nothing now (exec starts anew) */
	if ((flags & CLOSE_RANGE_CLOEXEC) || !table_ours())
		return real_close_range(lo, hi, flags);
	closing_range(lo, hi);
	if ((r = real_close_range(lo, hi, flags)) == 0)
		closed_range(lo, hi);
	return r;
}

EXPORT void
closefrom(int lo)
{
	RESOLVED(closefrom, );
	if (lo < 0)
		return;
	if (!table_ours()) {
		real_closefrom(lo);
		return;
	}
	closing_range((unsigned int)lo, UINT_MAX);
	/* (before: closefrom cannot fail) */
	closed_range((unsigned int)lo, UINT_MAX);
	real_closefrom(lo);
}

EXPORT int
dup(int fd)
{
	return aliased(fd, real_dup(fd));
}

/* dup2 and dup3 over a guarded number: it leaves its connection first
 * (unnamed()), and names it again if the call fails. */
static struct guard *
duping(int fd, int nfd)
{
	return fd != nfd && guard_at(nfd) && table_ours() ? unnamed(nfd) : NULL;
}

static int
duped(int fd, int nfd, int r, struct guard *old)
{
	if (old != NULL) {
		if (r < 0)
			guard_set(nfd, old);
		else
			guard_put(old);
	}
	return aliased(fd, r);
}

EXPORT int
dup2(int fd, int nfd)
{
	struct guard *old = duping(fd, nfd);

	return duped(fd, nfd, real_dup2(fd, nfd), old);
}

EXPORT int
dup3(int fd, int nfd, int flags)
{
	struct guard *old = duping(fd, nfd);

	return duped(fd, nfd, real_dup3(fd, nfd, flags), old);
}

/* fcntl's third argument is read as glibc does: one word, whatever cmd. */
static int
fcntl_after(int fd, int cmd, int r)
{
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		return aliased(fd, r);
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
	return fcntl_after(fd, cmd, real_fcntl(fd, cmd, arg));
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
	return fcntl_after(fd, cmd, real_fcntl64(fd, cmd, arg));
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
	RESOLVE(recvmmsg);
	RESOLVE(write);
	RESOLVE(writev);
	RESOLVE(send);
	RESOLVE(sendto);
	RESOLVE(sendmsg);
	RESOLVE(sendfile);
	RESOLVE(sendfile64);
	RESOLVE(close);
	RESOLVE(fclose);
	RESOLVE(freopen);
	RESOLVE(freopen64);
	/* (none before glibc 2.34: then no host calls them either) */
	*(void **)&real_close_range = dlsym(RTLD_NEXT, "close_range");
	*(void **)&real_closefrom = dlsym(RTLD_NEXT, "closefrom");
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(fcntl);
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
	table_pid = getpid();
	if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
		die("cannot register the fork handlers", NULL);
	guard_inetd();
}
