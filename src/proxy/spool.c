/*
 * spool.c - request bodies received whole (spool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "spool.h"
#include "worker.h"

/* Bytes read back from a file at a time, to send upstream. */
#define SPOOL_READ	(64 * 1024)

int
spool_tmpfile(const char *dir)
{
	char path[PATH_MAX];
	int fd, e;

#ifdef O_TMPFILE
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
		return fd;
#endif
	if (snprintf(path, sizeof(path), "%s/lengthguard-body-XXXXXX",
	    dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return -1;
	if (unlink(path) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
spool_uncharge(struct spool *s)
{
	s->w->spool_mem -= s->charged;
	s->charged = 0;
}

/* A write to the file returned r <= 0: say why. -1. */
static int
spool_write_failed(const struct spool *s, ssize_t r)
{
	log_warn("request buffering: writing a temporary file in %s: %s",
	    s->dir, r < 0 ? strerror(errno) : "nothing written");
	return -1;
}

/* Write all of `from` to the file. 0 or -1. */
static int
spool_write_buffer(struct spool *s, struct evbuffer *from, size_t n)
{
	int r;

	while (n > 0) {
		r = evbuffer_write_atmost(from, s->fd, (ev_ssize_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return spool_write_failed(s, r);
		n -= (size_t)r;
	}
	return 0;
}

/* Move the body to a file: it is too large for memory now. 0 or -1. */
static int
spool_to_file(struct spool *s)
{
	if ((s->fd = spool_tmpfile(s->dir)) < 0) {
		log_warn("request buffering: cannot make a temporary file in "
		    "%s: %s", s->dir, strerror(errno));
		return -1;
	}
	if (s->mem != NULL) {
		if (spool_write_buffer(s, s->mem,
		    evbuffer_get_length(s->mem)) != 0)
			return -1;
		evbuffer_free(s->mem);
		s->mem = NULL;
	}
	spool_uncharge(s);
	return 0;
}

/* May n more bytes stay in memory? */
static int
spool_fits(const struct spool *s, uint64_t n)
{
	return s->mem != NULL && s->len + n <= s->mem_max &&
	    s->w->spool_mem + n <= s->worker_max;
}

int
spool_open(struct spool *s, struct worker *w, const struct conf *cf,
    uint64_t expect)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
	s->fd = -1;
	s->mem_max = cf->body_buffer_size;
	s->worker_max = cf->buffer_memory;
	s->dir = cf->temp_dir;
	s->open = 1;
	if ((s->mem = evbuffer_new()) == NULL)
		return -1;
	if (expect > 0 && !spool_fits(s, expect))
		return spool_to_file(s);
	return 0;
}

/*
 * Where the next n bytes go: 1 in memory (counted against both caps once
 * they are added: spool_charge), 0 the file, -1 when the file cannot be
 * made.
 */
static int
spool_where(struct spool *s, size_t n)
{
	if (s->fd < 0 && !spool_fits(s, n) && spool_to_file(s) != 0)
		return -1;
	return s->fd < 0;
}

static void
spool_charge(struct spool *s, size_t n)
{
	s->charged += n;
	s->w->spool_mem += n;
	s->len += n;
}

int
spool_add(struct spool *s, const char *data, size_t n)
{
	int mem = spool_where(s, n);

	if (mem < 0)
		return -1;
	if (mem) {
		if (evbuffer_add(s->mem, data, n) != 0)
			return -1;
		spool_charge(s, n);
		return 0;
	}
	while (n > 0) {
		ssize_t r = write(s->fd, data, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return spool_write_failed(s, r);
		data += r;
		n -= (size_t)r;
		s->len += (uint64_t)r;
	}
	return 0;
}

int
spool_add_buffer(struct spool *s, struct evbuffer *from, size_t n)
{
	int mem = spool_where(s, n);

	if (mem < 0)
		return -1;
	if (mem) {
		io_move(from, s->mem, n);
		spool_charge(s, n);
		return 0;
	}
	if (spool_write_buffer(s, from, n) != 0)
		return -1;
	s->len += n;
	return 0;
}

long
spool_next(struct spool *s, struct evbuffer **from)
{
	struct evbuffer_iovec v;
	size_t want;
	ssize_t r;

	if (s->mem != NULL) {
		*from = s->mem;
		return (long)evbuffer_get_length(s->mem);
	}
	if (s->rbuf == NULL && (s->rbuf = evbuffer_new()) == NULL)
		return -1;
	*from = s->rbuf;
	if (evbuffer_get_length(s->rbuf) > 0 || s->fd < 0 || s->off == s->len)
		return (long)evbuffer_get_length(s->rbuf);
	want = s->len - s->off < SPOOL_READ ? (size_t)(s->len - s->off) :
	    SPOOL_READ;
	if (evbuffer_reserve_space(s->rbuf, (ev_ssize_t)want, &v, 1) < 1)
		return -1;
	do
		r = pread(s->fd, v.iov_base, want, (off_t)s->off);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		log_warn("request buffering: reading a temporary file in %s: "
		    "%s", s->dir, r < 0 ? strerror(errno) : "file too short");
		return -1;
	}
	v.iov_len = (size_t)r;
	evbuffer_commit_space(s->rbuf, &v, 1);
	s->off += (uint64_t)r;
	return (long)r;
}

int
spool_done(const struct spool *s)
{
	if (!s->open)
		return 1;
	if (s->mem != NULL)
		return evbuffer_get_length(s->mem) == 0;
	return s->off == s->len &&
	    (s->rbuf == NULL || evbuffer_get_length(s->rbuf) == 0);
}

void
spool_close(struct spool *s)
{
	if (!s->open)
		return;
	spool_uncharge(s);
	if (s->mem != NULL)
		evbuffer_free(s->mem);
	if (s->rbuf != NULL)
		evbuffer_free(s->rbuf);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
