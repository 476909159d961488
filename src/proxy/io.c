/*
 * io.c - see io.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"
#include "metrics.h"

#define MOVE_MIN	(16 * 1024)	/* io_move: copy below, move chains above */
#define IO_WRITE_IOV	16		/* extents a write takes at most */

static void io_readable(evutil_socket_t, short, void *);
static void io_writable(evutil_socket_t, short, void *);

static void
io_update_read(struct io *io)
{
	/* a failure is reported through the read event (io_fail): it stays
	 * on until the owner has heard */
	int on = io->failed || (io->want_read && !io->eof && !io->connecting &&
	    (io->read_max == 0 || evbuffer_get_length(io->in) < io->read_max));

	if (on && !io->rd_added) {
		event_add(io->rev, NULL);
		io->rd_added = 1;
	} else if (!on && io->rd_added) {
		event_del(io->rev);
		io->rd_added = 0;
	}
}

static int
io_setup(struct io *io, struct event_base *base, evutil_socket_t fd,
    io_cb cb, void *arg)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	io->read_size = IO_READ_SIZE;
	io->rev = event_new(base, fd, EV_READ | EV_PERSIST, io_readable, io);
	io->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, io_writable, io);
	io->in = evbuffer_new();
	io->out = evbuffer_new();
	if (io->rev == NULL || io->wev == NULL || io->in == NULL ||
	    io->out == NULL) {
		io->fd = -1;	/* the caller still owns it */
		io_close(io);
		return -1;
	}
	return 0;
}

int
io_open(struct io *io, struct event_base *base, evutil_socket_t fd,
    io_cb cb, void *arg)
{
	/* the fd is non-blocking already (evconnlistener accepts so) */
	if (io_setup(io, base, fd, cb, arg) != 0)
		return -1;
	io->want_read = 1;
	io_update_read(io);
	return 0;
}

int
io_connect(struct io *io, struct event_base *base, const struct sockaddr *sa,
    socklen_t len, io_cb cb, void *arg)
{
	evutil_socket_t fd;
	int one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (io_setup(io, base, fd, cb, arg) != 0) {
		close(fd);
		return -1;
	}
	io->want_read = 1;
	if (connect(fd, sa, len) == 0) {
		io_update_read(io);	/* connected at once (loopback) */
		return 0;
	}
	if (errno != EINPROGRESS) {
		io_close(io);
		return -1;
	}
	io->connecting = 1;
	event_add(io->wev, NULL);
	io->wr_added = 1;
	return 0;
}

void
io_close(struct io *io)
{
	if (io->rev)
		event_free(io->rev);
	if (io->wev)
		event_free(io->wev);
	if (io->in)
		evbuffer_free(io->in);
	if (io->out)
		evbuffer_free(io->out);	/* runs reference cleanups */
	if (io->fd >= 0)
		close(io->fd);
	memset(io, 0, sizeof(*io));
	io->fd = -1;
}

void
io_read(struct io *io, int on)
{
	io->want_read = on != 0;
	io_update_read(io);
}

void
io_consumed(struct io *io)
{
	if (io->want_read && !io->rd_added)
		io_update_read(io);
}

/*
 * One write of what `out` holds, its first IO_WRITE_IOV extents: write(2)
 * for one (most responses and requests are one; it costs the kernel less
 * than a writev of one), writev(2) for more. What went is drained.
 */
static ssize_t
io_write_some(struct io *io)
{
	struct evbuffer_iovec v[IO_WRITE_IOV];
	struct iovec iov[IO_WRITE_IOV];
	ssize_t n;
	int nv, i;

	nv = evbuffer_peek(io->out, -1, NULL, v, IO_WRITE_IOV);
	if (nv > IO_WRITE_IOV)
		nv = IO_WRITE_IOV;
	if (nv == 1) {
		n = write(io->fd, v[0].iov_base, v[0].iov_len);
	} else {
		for (i = 0; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
		}
		n = writev(io->fd, iov, nv);
	}
	if (n > 0)
		evbuffer_drain(io->out, (size_t)n);
	return n;
}

/* Write now; arm the write event for what the kernel did not take. */
static int
io_write_out(struct io *io)
{
	while (evbuffer_get_length(io->out) > 0) {
		ssize_t n = io_write_some(io);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		if (io->count_out)
			metrics_add(io->count_out, (uint64_t)n);
	}
	if (evbuffer_get_length(io->out) > 0 && !io->wr_added) {
		event_add(io->wev, NULL);
		io->wr_added = 1;
	} else if (evbuffer_get_length(io->out) == 0 && io->wr_added &&
	    !io->connecting) {
		event_del(io->wev);
		io->wr_added = 0;
	}
	return 0;
}

/* A failed write is reported through the read side, from the loop. */
static void
io_fail(struct io *io)
{
	io->failed = 1;
	evbuffer_drain(io->out, evbuffer_get_length(io->out));
	if (io->wr_added) {
		event_del(io->wev);
		io->wr_added = 0;
	}
	event_active(io->rev, EV_READ, 0);
}

void
io_flush(struct io *io)
{
	if (io->connecting || io->failed)
		return;		/* written when connected / reported soon */
	if (io_write_out(io) != 0)
		io_fail(io);
}

size_t
io_copy(struct evbuffer *from, struct evbuffer *to, size_t n)
{
	struct evbuffer_iovec v[4];
	size_t left = n;
	int i, nv;

	nv = evbuffer_peek(from, (ev_ssize_t)n, NULL, v, 4);
	for (i = 0; i < nv && i < 4 && left > 0; i++) {
		size_t part = v[i].iov_len < left ? v[i].iov_len : left;

		if (evbuffer_add(to, v[i].iov_base, part) != 0)
			break;
		left -= part;
	}
	return n - left;
}

void
io_move(struct evbuffer *from, struct evbuffer *to, size_t n)
{
	size_t done;

	if (n >= MOVE_MIN) {
		evbuffer_remove_buffer(from, to, n);
		return;
	}
	done = io_copy(from, to, n);
	evbuffer_drain(from, done);
	if (done < n)		/* more than four extents: let libevent do it */
		evbuffer_remove_buffer(from, to, n - done);
}

void
io_reset_on_close(struct io *io)
{
	struct linger l = { 1, 0 };

	if (io->fd >= 0)
		(void)setsockopt(io->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

void
io_shutdown_write(struct io *io)
{
	if (io->fd >= 0)
		shutdown(io->fd, SHUT_WR);
}

static void
io_readable(evutil_socket_t fd, short what, void *arg)
{
	struct io *io = arg;
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	ssize_t n, got;
	int nv, i;

	(void)what;
	/* a failed write: the error, once what is left to read (read_on_fail)
	 * has been read, one read at a time */
	if (io->failed) {
		if (!io->read_on_fail || (io->read_max &&
		    evbuffer_get_length(io->in) >= io->read_max)) {
			io->cb(io, IO_ERROR, io->arg);
			return;
		}
		io_update_read(io);	/* on, paused or not: the end comes */
	}
	if (io->read_max && evbuffer_get_length(io->in) >= io->read_max) {
		io_update_read(io);	/* full: wait for io_consumed() */
		return;
	}
	nv = evbuffer_reserve_space(io->in, (ev_ssize_t)io->read_size, v, 2);
	if (nv < 1) {
		io->cb(io, IO_ERROR, io->arg);
		return;
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	do
		n = nv == 1 ? read(fd, iov[0].iov_base, iov[0].iov_len) :
		    readv(fd, iov, nv);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		evbuffer_commit_space(io->in, v, 0);
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && !io->failed)
			return;
		io->cb(io, IO_ERROR, io->arg);
		return;
	}
	got = n;
	if (n == 0 && io->failed) {
		evbuffer_commit_space(io->in, v, 0);
		io->cb(io, IO_ERROR, io->arg);
		return;
	}
	if (n == 0) {
		evbuffer_commit_space(io->in, v, 0);
		io->eof = 1;
		io_update_read(io);
		io->cb(io, IO_EOF, io->arg);
		return;
	}
	for (i = 0; i < nv; i++) {
		size_t part = (size_t)n < v[i].iov_len ? (size_t)n : v[i].iov_len;

		v[i].iov_len = part;
		n -= (ssize_t)part;
	}
	if (io->count_in)
		metrics_add(io->count_in, (uint64_t)got);
	evbuffer_commit_space(io->in, v, nv);
	io->cb(io, IO_READ, io->arg);
}

static void
io_writable(evutil_socket_t fd, short what, void *arg)
{
	struct io *io = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)what;
	if (io->connecting) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == EINPROGRESS)
			return;
		io->connecting = 0;
		if (err != 0) {
			errno = err;
			io->cb(io, IO_ERROR, io->arg);
			return;
		}
		io_update_read(io);
		/* what was queued while connecting goes now; if that fails,
		 * the owner still hears of the connection first (bytes may
		 * have gone out), then of the failure */
		if (io_write_out(io) != 0)
			io_fail(io);
		io->cb(io, IO_CONNECTED, io->arg);
		return;
	}
	if (io_write_out(io) != 0) {
		io_fail(io);
		return;
	}
	if (evbuffer_get_length(io->out) <= io->low_water)
		io->cb(io, IO_DRAINED, io->arg);
}
