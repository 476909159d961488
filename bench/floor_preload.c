/*
 * floor_preload.c - the floors of bench/preload: what any LD_PRELOAD guard
 * pays, whatever it checks. Built twice by bench/CMakeLists.txt, for
 * bench/preload only (never installed):
 *
 * libfloor-interpose.so: the calls liblengthguard-preload.so interposes on
 * a request's path (the reads: read, readv, recv, recvfrom, recvmsg and
 * the _FORTIFY_SOURCE variants; the writes: write, writev, send, sendto,
 * sendmsg, sendfile), each only forwarded to the real call, resolved with
 * dlsym(RTLD_NEXT) when the library is loaded. The cost of being in the
 * path at all.
 *
 * libfloor-llhttp.so (FLOOR_LLHTTP): the same, and every byte the host
 * reads from a TCP connection it accepted is fed to an llhttp parser in
 * request mode (the llhttp build of the core), one per connection, made at
 * accept and freed at close. No callbacks: after a request llhttp starts
 * the next one of a keep-alive connection by itself. No other check, no
 * copy, no lock. The cost of reading every request with llhttp, which any
 * guard built on llhttp pays (lengthguard's core does more: its own strict
 * pass over the head).
 *
 * With LG_FLOOR_SPIN=N in its environment (bench/preload --spin), it also
 * spins N turns of an empty loop (a decrement and a branch: about one
 * cycle each) at the end of each request llhttp reads: a known amount of
 * CPU per request, to tell what CPU time costs in the benchmark.
 *
 * Neither changes what the host reads or writes. A connection whose bytes
 * llhttp refuses (none of the benchmark's should be) is no longer parsed,
 * and a line saying so goes to stderr: bench/preload looks for it, since a
 * floor that stopped parsing would measure less than its idea. Reads that
 * take no bytes from the stream (MSG_PEEK, MSG_OOB, MSG_ERRQUEUE,
 * MSG_TRUNC) are not fed, and neither are descriptors the host made with
 * dup (the benchmark's servers make none).
 *
 * Not a guard: a measure.
 */
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <sys/syscall.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef FLOOR_LLHTTP
#include <llhttp.h>
#endif

#define EXPORT __attribute__((visibility("default")))

/* ---------------------------------------------------------------- real calls */

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
    socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int,
    const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_sendfile)(int, int, off_t *, size_t);
static ssize_t (*real_sendfile64)(int, int, off64_t *, size_t);
#ifdef FLOOR_LLHTTP
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_close)(int);
#endif

/* The library cannot work: say what, and stop the host (only at load).
 * Written by the system call itself: write() may be what is missing. */
static void
die(const char *what)
{
	static const char pre[] = "floor_preload: cannot ";

	(void)syscall(SYS_write, 2, pre, sizeof(pre) - 1);
	(void)syscall(SYS_write, 2, what, strlen(what));
	(void)syscall(SYS_write, 2, "\n", sizeof("\n") - 1);
	_exit(1);
}

#define RESOLVE(name) do {						\
	*(void **)&real_##name = dlsym(RTLD_NEXT, #name);		\
	if (real_##name == NULL)					\
		die("resolve " #name);					\
} while (0)

static void
resolve(void)
{
	RESOLVE(read);
	RESOLVE(readv);
	RESOLVE(recv);
	RESOLVE(recvfrom);
	RESOLVE(recvmsg);
	RESOLVE(write);
	RESOLVE(writev);
	RESOLVE(send);
	RESOLVE(sendto);
	RESOLVE(sendmsg);
	RESOLVE(sendfile);
	RESOLVE(sendfile64);
#ifdef FLOOR_LLHTTP
	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(close);
#endif
}

/* the real call; resolved here too if another library's constructor calls
 * before this one's has run (the guard does the same for its writes) */
#define REAL(name)							\
	(__builtin_expect(real_##name != NULL, 1) ? real_##name :	\
	    (resolve(), real_##name))

/* ---------------------------------------------------------------- llhttp */

/* Does a read with these flags take its bytes from the stream? */
static int
takes(int flags)
{
	return !(flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE | MSG_TRUNC));
}

#ifdef FLOOR_LLHTTP
/* the largest descriptor table kept (descriptors above are not parsed) */
#define TABLE_MAX	(1 << 20)

static llhttp_settings_t settings;	/* no callbacks (but spin's) */
static unsigned long spin;		/* LG_FLOOR_SPIN */
static llhttp_t **table;		/* by descriptor; NULL: not parsed */
static size_t table_len;
static int errfd = 2;		/* stderr as it was at load (nginx moves 2) */

static llhttp_t *
parser_of(int fd)
{
	if (fd < 0 || (size_t)fd >= table_len)
		return NULL;
	return __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE);
}

static void
drop(int fd)
{
	if (fd >= 0 && (size_t)fd < table_len)
		free(__atomic_exchange_n(&table[fd], NULL, __ATOMIC_ACQ_REL));
}

/* A line on stderr: fd is no longer parsed, and why. */
static void
report(int fd, const char *what, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "floor_llhttp: fd %d not parsed: "
	    "%s%s%s\n", fd, what, why ? ": " : "", why ? why : "");

	if (n > 0)
		(void)!REAL(write)(errfd, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* on_message_complete under LG_FLOOR_SPIN: `spin` turns of a loop the
 * compiler keeps. */
static int
spin_request(llhttp_t *h)
{
	unsigned long i;

	(void)h;
	for (i = spin; i > 0; i--)
		__asm__ volatile("" ::: "memory");
	return 0;
}

/* Feed p[0..n) to fd's parser h; 0, or -1 if llhttp refused them (fd is
 * then dropped). */
static int
parse(int fd, llhttp_t *h, const char *p, size_t n)
{
	llhttp_errno_t e = llhttp_execute(h, p, n);

	if (e == HPE_OK)
		return 0;
	report(fd, llhttp_errno_name(e), llhttp_get_error_reason(h));
	drop(fd);
	return -1;
}

/* The host read n bytes of iov[0..cnt) from fd: its parser reads them. */
static void
feed_iov(int fd, const struct iovec *iov, size_t cnt, ssize_t n)
{
	llhttp_t *h;
	size_t i, len, left = (size_t)n;

	if (n <= 0 || (h = parser_of(fd)) == NULL)
		return;
	for (i = 0; i < cnt && left > 0; i++) {
		len = iov[i].iov_len < left ? iov[i].iov_len : left;
		if (len > 0 && parse(fd, h, iov[i].iov_base, len) != 0)
			return;
		left -= len;
	}
}

static void
feed(int fd, const void *buf, ssize_t n)
{
	llhttp_t *h;

	if (n > 0 && (h = parser_of(fd)) != NULL)
		(void)parse(fd, h, buf, (size_t)n);
}

/* A descriptor accept returned: a parser if it is a TCP connection. */
static int
accepted(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss), tl;
	int type = 0;
	llhttp_t *h;

	if (fd < 0 || (size_t)fd >= table_len)
		return fd;
	drop(fd);	/* a number closed behind close()'s back */
	tl = sizeof(type);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_STREAM)
		return fd;
	if ((h = malloc(sizeof(*h))) == NULL) {
		report(fd, "out of memory", NULL);
		return fd;
	}
	llhttp_init(h, HTTP_REQUEST, &settings);
	__atomic_store_n(&table[fd], h, __ATOMIC_RELEASE);
	return fd;
}

EXPORT int
accept(int s, struct sockaddr *addr, socklen_t *len)
{
	return accepted(REAL(accept)(s, addr, len));
}

EXPORT int
accept4(int s, struct sockaddr *addr, socklen_t *len, int flags)
{
	return accepted(REAL(accept4)(s, addr, len, flags));
}

EXPORT int
close(int fd)
{
	drop(fd);
	return REAL(close)(fd);
}
#else
#define feed(fd, buf, n)		((void)0)
#define feed_iov(fd, iov, cnt, n)	((void)0)
#endif

/* ---------------------------------------------------------------- reads */

EXPORT ssize_t
read(int fd, void *buf, size_t len)
{
	ssize_t n = REAL(read)(fd, buf, len);

	feed(fd, buf, n);
	return n;
}

EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	ssize_t n = REAL(readv)(fd, iov, cnt);

	feed_iov(fd, iov, (size_t)cnt, n);
	return n;
}

EXPORT ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n = REAL(recv)(fd, buf, len, flags);

	if (takes(flags))
		feed(fd, buf, n);
	return n;
}

EXPORT ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
    socklen_t *fromlen)
{
	ssize_t n = REAL(recvfrom)(fd, buf, len, flags, from, fromlen);

	if (takes(flags))
		feed(fd, buf, n);
	return n;
}

EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t n = REAL(recvmsg)(fd, msg, flags);

	if (n > 0 && takes(flags))
		feed_iov(fd, msg->msg_iov, msg->msg_iovlen, n);
	return n;
}

/* _FORTIFY_SOURCE variants: glibc's check, then the call above */
#include "chk.h"

/* ---------------------------------------------------------------- writes */

EXPORT ssize_t
write(int fd, const void *buf, size_t len)
{
	return REAL(write)(fd, buf, len);
}

EXPORT ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	return REAL(writev)(fd, iov, cnt);
}

EXPORT ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	return REAL(send)(fd, buf, len, flags);
}

EXPORT ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	return REAL(sendto)(fd, buf, len, flags, to, tolen);
}

EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return REAL(sendmsg)(fd, msg, flags);
}

EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t len)
{
	return REAL(sendfile)(out, in, off, len);
}

EXPORT ssize_t sendfile64(int, int, off64_t *, size_t);

EXPORT ssize_t
sendfile64(int out, int in, off64_t *off, size_t len)
{
	return REAL(sendfile64)(out, in, off, len);
}

/* ---------------------------------------------------------------- loading */

__attribute__((constructor)) static void
floor_preload_init(void)
{
#ifdef FLOOR_LLHTTP
	struct rlimit rl;
	const char *s;
	char *end;
	int fd;
#endif

	resolve();
#ifdef FLOOR_LLHTTP
	llhttp_settings_init(&settings);
	if ((s = getenv("LG_FLOOR_SPIN")) != NULL) {
		errno = 0;
		spin = strtoul(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0')
			die("read LG_FLOOR_SPIN (a number of loop turns)");
		if (spin > 0)
			settings.on_message_complete = spin_request;
	}
	if ((fd = fcntl(2, F_DUPFD_CLOEXEC, 3)) >= 0)
		errfd = fd;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > TABLE_MAX)
		rl.rlim_max = TABLE_MAX;
	if ((table = calloc(rl.rlim_max, sizeof(*table))) == NULL)
		die("allocate the descriptor table");
	table_len = rl.rlim_max;
#endif
}
