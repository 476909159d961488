/*
 * chunked.h - a strict, incremental decoder of chunked request bodies
 * (RFC 9112 §7.1), for a front end that buffers such a body and forwards
 * it with a Content-Length.
 *
 * A struct chunked is plain data: the caller embeds or allocates it and
 * calls chunked_init(). chunked_feed() takes the body's bytes in pieces of
 * any size and hands the payload (chunk-data) to the caller's sink; the
 * decoder keeps no payload of its own, allocates nothing and never aborts.
 * Pointers passed to it are not kept after it returns. Its verdicts:
 *
 *   CHUNKED_MORE   all input consumed, the body goes on;
 *   CHUNKED_DONE   the body ended (the empty line after the trailer
 *                  section): `consumed` bytes of this input were the body's,
 *                  the rest belongs to the next request;
 *   CHUNKED_ERROR  the body is invalid or over a limit: answer
 *                  reason_status(chunked_reason()) (400, 413 or 431) and
 *                  close. `consumed` stops before the offending byte.
 *
 * After DONE or ERROR the verdict stands: further calls consume nothing.
 * Chunk extensions are checked and dropped; trailer fields are checked and
 * dropped too (chunked.c says why). The rules are listed in docs/framing.md
 * ("Chunked request bodies") and cited where each lives in chunked.c.
 */
#ifndef LG_CHUNKED_H
#define LG_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"

/*
 * Fixed bounds (the RFC sets none). Each is far above what a real client
 * sends and small enough that a peer cannot make the decoder spin on bytes
 * that carry no payload.
 */
#define CHUNKED_MAX_SIZE_DIGITS	32	/* hex digits of a chunk-size, leading
					   zeros included (16 hold any value) */
#define CHUNKED_MAX_EXT		256	/* bytes between the chunk-size and the
					   CRLF of one chunk line */
#define CHUNKED_MAX_TRAILERS	16	/* field lines of the trailer section */
#define CHUNKED_MAX_TRAILER_BYTES 4096	/* bytes of those lines, CRLFs included */
#define CHUNKED_MAX_CHUNK_SIZE	INT64_MAX /* 2^63 - 1: a larger size is an
					   overflow, whatever max_payload says */

enum chunked_verdict {
	CHUNKED_MORE = 0,
	CHUNKED_DONE,
	CHUNKED_ERROR,
};

struct chunked_limits {
	uint64_t max_payload;	/* 413 as soon as a chunk-size would take the
				   payload above it (0: only an empty body;
				   UINT64_MAX: no limit but the chunk size's) */
};

/* One call of chunked_feed(). */
struct chunked_step {
	enum chunked_verdict verdict;
	size_t consumed;	/* bytes of the input used, <= its length */
};

/*
 * Receives payload bytes in order, in runs of at least one byte. The bytes
 * are the caller's input, valid only during the call.
 */
typedef void (*chunked_sink)(void *arg, const char *data, size_t len);

/*
 * The decoder's state. Its fields are the decoder's own: read them through
 * the accessors below.
 */
struct chunked {
	uint64_t max_payload;
	uint64_t payload;	/* payload bytes so far */
	uint64_t size;		/* the chunk-size being read, then the bytes of
				   its chunk-data still to come */
	unsigned state;
	unsigned digits;	/* of the chunk-size being read */
	unsigned ext;		/* extension bytes of the chunk line */
	unsigned trailers;	/* trailer field lines so far */
	unsigned trailer_bytes;
	enum reason reason;	/* REASON_NONE until CHUNKED_ERROR */
};

/* Start a body. The limits are copied. */
void chunked_init(struct chunked *, const struct chunked_limits *);

/*
 * Decode data[0..len): payload bytes go to sink(arg, ...) (sink may be NULL:
 * the payload is then only counted). One call goes as far as the input or
 * the body goes.
 */
struct chunked_step chunked_feed(struct chunked *, const char *data,
    size_t len, chunked_sink sink, void *arg);

/* Payload bytes handed to the sink so far. */
uint64_t chunked_payload_len(const struct chunked *);

/* After CHUNKED_ERROR, why (reason.h: its status and label); REASON_NONE
 * otherwise. */
enum reason chunked_reason(const struct chunked *);

#endif /* LG_CHUNKED_H */
