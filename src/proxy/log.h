/*
 * log.h - error log with levels, and the access log (Combined Log Format
 * plus timings, the verdict's reason and the desync class; or one JSON
 * object per line).
 *
 * Both go to a file descriptor: stderr, a file opened O_APPEND, or nowhere;
 * the error log may go to syslog instead (LOG_DAEMON, ident lengthguard).
 * log_open(cf, 1) (SIGUSR1, reload) reopens files onto the same descriptor
 * numbers, so worker threads never see a descriptor change under them; a
 * file that cannot be reopened (after the privilege drop, a file only root
 * may write) is logged and its old descriptor kept. Each worker buffers its
 * access lines and flushes them after every event loop pass.
 *
 * When stderr is the systemd journal (JOURNAL_STREAM names stderr's device
 * and inode), error lines on stderr carry neither a time stamp nor the
 * process's name, which the journal records itself, but a "<N>" priority
 * prefix (sd-daemon(3)) that it reads.
 */
#ifndef LG_LOG_H
#define LG_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "accesslog.h"
#include "conf.h"

#include <sys/types.h>

int  log_open(const struct conf *, int reopen);

/* Files log_open() creates from now on are given to this owner (the user
 * the process will drop to), so that it can reopen them later. */
void log_owner(uid_t, gid_t);
void log_msg(enum conf_log_level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int  log_access_enabled(void);

#define log_error(...)	log_msg(CONF_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(CONF_LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(CONF_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(CONF_LOG_DEBUG, __VA_ARGS__)

/* Is level l written (the conf's level or more severe)? */
int  log_enabled(enum conf_log_level l);

/* A per-worker access log buffer, and its cached time stamps. */
struct log_buf {
	char	buf[16384];
	size_t	len;
	time_t	when;
	struct accesslog_stamp stamp;	/* of `when` */
};

/*
 * The error log's lines about requests, per worker: at most
 * LOG_REQUEST_LINES_PER_S a second; the lines over that are counted, and
 * the next line written after that second says how many were left out.
 */
#define LOG_REQUEST_LINES_PER_S	10
struct log_limit {
	time_t	 sec;			/* the second being counted */
	unsigned n;			/* lines written in it */
	unsigned suppressed;		/* lines left out, not said yet */
};
void log_access_add(struct log_buf *, const char *line, size_t len);
void log_access_flush(struct log_buf *);

/*
 * Add one access log line, in the conf's [log] format: combined (the
 * Combined Log Format, then rt=, urt=, verdict="..." and class=; bytes a
 * log line must not carry are escaped as \xHH), or json (one object per
 * line; its keys in README.md).
 */
void log_access_request(struct log_buf *, const struct accesslog_request *);

/*
 * The error log's line about a request that was not served: at warn for a
 * 5xx of lengthguard's own, at info for any other refusal, at debug for a
 * client that went away (499); rate limited by *lim. At info too for a
 * request monitor mode let through (would_refuse). Nothing for another
 * forwarded request (r->reason NULL).
 */
void log_request_outcome(struct log_limit *lim,
    const struct accesslog_request *r);


#endif /* LG_LOG_H */
