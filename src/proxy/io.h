/*
 * io.h - a non-blocking socket with an input and an output evbuffer.
 *
 * What a libevent bufferevent does, minus what cost lengthguard syscalls
 * (bench/README.md): no FIONREAD before every read and reads of up to
 * read_size bytes (libevent 2.1 reads 4 KiB at a time); output is written
 * as soon as io_flush() is called, and the write event is armed only when
 * the kernel's buffer is full, so a request costs no epoll_ctl.
 *
 * The callback gets one of the IO_* events. It may free the io's owner
 * (and close the io): the io touches nothing after calling it.
 */
#ifndef LG_IO_H
#define LG_IO_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define IO_READ		0x01	/* new bytes in `in` */
#define IO_EOF		0x02	/* the peer closed its side */
#define IO_ERROR	0x04	/* a socket error (reset, refused...) */
#define IO_DRAINED	0x08	/* `out` is down to low_water after a wait */
#define IO_CONNECTED	0x10	/* io_connect() completed */

/* Bytes asked of one read: the default, and for a stream that fills it. */
#define IO_READ_SIZE		(16 * 1024)
#define IO_READ_SIZE_LARGE	(64 * 1024)

struct io;
typedef void (*io_cb)(struct io *, int event, void *arg);

struct io {
	evutil_socket_t fd;
	struct event *rev, *wev;
	struct evbuffer *in, *out;
	io_cb cb;
	void *arg;
	size_t read_size;	/* bytes asked of one read */
	size_t read_max;	/* no reading while `in` holds this much (0: no cap) */
	size_t low_water;	/* IO_DRAINED at or below this */
	unsigned want_read:1;	/* the owner wants bytes */
	unsigned rd_added:1, wr_added:1;
	unsigned connecting:1;
	unsigned failed:1;	/* a write failed: reported on the read side */
	unsigned read_on_fail:1;	/* after a failed write, what the peer
					   sent before it went away is read
					   (IO_READ) before the IO_ERROR */
	unsigned eof:1;
	atomic_uint_least64_t *count_in, *count_out;	/* bytes read, written:
					   the owner's counters, or NULL */
};

/* Take over a connected, non-blocking socket. 0, or -1 (the fd is then
 * not closed). */
int  io_open(struct io *, struct event_base *, evutil_socket_t, io_cb, void *);

/* A new non-blocking connection; IO_CONNECTED or IO_ERROR follows. 0 or -1. */
int  io_connect(struct io *, struct event_base *, const struct sockaddr *,
    socklen_t, io_cb, void *);

/* Free everything and close the socket. Safe on a zeroed io. */
void io_close(struct io *);

/* Start or stop reading (backpressure). */
void io_read(struct io *, int on);

/* After the owner consumed input: resume reading if it stopped at read_max. */
void io_consumed(struct io *);

/* Write what the kernel takes now; wait for the rest. A failure comes back
 * through the callback as IO_ERROR, later. */
void io_flush(struct io *);

/*
 * Move n bytes from the front of one evbuffer to another: whole chains when
 * the run is large, a copy when it is small (a moved chain keeps its whole
 * capacity: a 64 KiB read chain holding a 200-byte response would sit in the
 * other side's output as 64 KiB).
 */
void io_move(struct evbuffer *from, struct evbuffer *to, size_t n);

/* Copy up to n bytes from the front of `from` to `to`, leaving `from` as
 * it is. Returns how many were copied: fewer when they span more than a
 * few chains (or on allocation failure). */
size_t io_copy(struct evbuffer *from, struct evbuffer *to, size_t n);

/* Make the coming close a reset (SO_LINGER 0): the peer reads an error
 * where a close would be a clean end of stream (a body cut short must
 * not look complete). */
void io_reset_on_close(struct io *);

/* Shut down our sending side now (callers wait for `out` to be empty). */
void io_shutdown_write(struct io *);

#endif /* LG_IO_H */
