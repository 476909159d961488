/*
 * pages.h - the reference pages lengthguard answers with.
 *
 * pages_load() reads NNN.md (front matter + Markdown) for every status the
 * proxy sends, renders each with md4c into template.html, and builds the
 * complete replies once: an HTML one and an application/problem+json one
 * (RFC 9457). Nothing is formatted per reply except the Date line, which
 * the caller keeps (httpdate.h) and sends between `head` and `tail`:
 *
 *	head			"HTTP/1.1 411 Length Required\r\n...fields...\r\n"
 *	Date line		"Date: ...\r\n" (HTTPDATE_LINE_LEN bytes)
 *	tail			"\r\n" + body	(only "\r\n" for a HEAD request)
 *
 * A struct pages is immutable once loaded and shared between threads; it is
 * reference counted so that a reload never frees bytes still queued on a
 * connection (take a reference per queued reply, drop it when sent).
 */
#ifndef LG_PAGES_H
#define LG_PAGES_H

#include <stddef.h>
#include <stdio.h>
#include <sys/uio.h>

struct page_reply {
	int	status;
	const char *head;
	size_t	head_len;
	const char *tail;	/* "\r\n" then the body */
	size_t	tail_len;
	size_t	body_len;	/* tail_len - 2 */
};

struct pages;

/* The statuses lengthguard sends; each needs pages/NNN.md. */
extern const int pages_statuses[];
extern const size_t pages_nstatuses;

/*
 * Load every page from `dir`. On any problem, print each one to `errs` as
 * "PATH: message" and return NULL; a page set is either complete or absent.
 * The result has one reference.
 */
struct pages *pages_load(const char *dir, FILE *errs);

/* pages_load() with options: PAGES_NO_SERVER leaves the Server field out
 * of every reply ([proxy] server_header = off). */
#define PAGES_NO_SERVER	0x1u
struct pages *pages_load_with(const char *dir, unsigned flags, FILE *errs);

void pages_ref(struct pages *);
void pages_unref(struct pages *);

/*
 * The reply for `status` as HTML or as JSON. A status without a page of its
 * own gets the 500 reply: the core only produces statuses that have pages.
 */
const struct page_reply *pages_reply(const struct pages *, int status, int json);

/*
 * The reply as iovecs, for any front end (no libevent here): the head, the
 * caller's Date line (httpdate_line) and the tail, which for a HEAD request
 * is only the empty line (RFC 9110 §9.3.2: no content). Nothing is copied:
 * the iovecs point into `r` and `date_line`. Returns the number of body
 * bytes the reply carries (for the access log).
 */
#define PAGES_REPLY_IOVS 3
size_t pages_reply_iov(const struct page_reply *r, const char *date_line,
    size_t date_len, int head_only, struct iovec iov[PAGES_REPLY_IOVS]);

/* The standard reason phrase for a status ("Length Required"), or "". */
const char *pages_reason_phrase(int status);

#endif /* LG_PAGES_H */
