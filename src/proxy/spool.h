/*
 * spool.h - a request body received whole before it goes upstream
 * ([proxy] request_buffering, and every dechunked body).
 *
 * A body stays in memory when it is at most [limits] body_buffer_size and
 * the worker's bodies in memory stay within [limits] buffer_memory; any
 * other body, however small, goes to a temporary file under [proxy]
 * temp_dir. The file has no name from the start (O_TMPFILE) or from the
 * moment it is made (mkstemp, then unlink): whatever ends the request or
 * the process, nothing is left on disk, and closing the descriptor frees
 * it all. So 10,000 bodies under way cost at most buffer_memory of memory
 * (plus each connection's own input buffer), the rest is disk.
 *
 * A body in memory moves to a file as soon as it would grow past either
 * bound (a chunked body's length is known only at its end).
 */
#ifndef LG_SPOOL_H
#define LG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "conf.h"

struct worker;

struct spool {
	struct worker *w;
	struct evbuffer *mem;	/* the body while in memory, else NULL */
	struct evbuffer *rbuf;	/* in a file: the piece read to send */
	int      fd;		/* the temporary file, or -1 */
	uint64_t len;		/* bytes stored */
	uint64_t off;		/* bytes of the file read back so far */
	uint64_t charged;	/* bytes counted in the worker's spool_mem */
	size_t   mem_max;	/* body_buffer_size */
	uint64_t worker_max;	/* buffer_memory */
	const char *dir;	/* temp_dir (the conf outlives the request) */
	unsigned open:1;
};

/*
 * Start a body of `expect` bytes (0: not known, a chunked body) for a
 * request on worker w under conf cf. 0, or -1 when the temporary file a
 * large body needs cannot be made (logged).
 */
int spool_open(struct spool *, struct worker *w, const struct conf *cf,
    uint64_t expect);

/* Store body bytes: data[0..n), or the first n bytes of `from` (drained).
 * 0, or -1 when the file cannot be written (logged). */
int spool_add(struct spool *, const char *data, size_t n);
int spool_add_buffer(struct spool *, struct evbuffer *from, size_t n);

/*
 * The next bytes to send, at the front of *from: the caller moves or
 * drains what it takes (all of it or not), and calls again for more.
 * Returns how many are there (0 once all of the body was handed out), or
 * -1 when the file cannot be read (logged).
 */
long spool_next(struct spool *, struct evbuffer **from);

/* Has every stored byte been handed out (and taken)? */
int spool_done(const struct spool *);

/*
 * A temporary file under dir that no name points to: O_TMPFILE where the
 * file system has it, else mkstemp, unlinked at once. Its descriptor, or
 * -1 with errno set. (Also what -t tries as [proxy] user.)
 */
int spool_tmpfile(const char *dir);

/* Free the memory, close the file. Safe to call again, and on a zeroed
 * spool. */
void spool_close(struct spool *);

#endif /* LG_SPOOL_H */
