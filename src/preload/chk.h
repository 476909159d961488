/*
 * chk.h - the _FORTIFY_SOURCE variants of the reads an LD_PRELOAD library
 * interposes (__read_chk, __recv_chk, __recvfrom_chk): a host built with
 * _FORTIFY_SOURCE calls these instead of read, recv and recvfrom. Each
 * makes glibc's check, then calls the library's own read or recvfrom.
 *
 * Included once, after those are declared, by a library that defines
 * EXPORT (src/preload/preload.c, and bench/floor_preload.c, the floors of
 * bench/preload, which must not link the guard).
 */
#ifndef LENGTHGUARD_PRELOAD_CHK_H
#define LENGTHGUARD_PRELOAD_CHK_H

#include <sys/socket.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <unistd.h>

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

#endif
